/*
 * Copyright (c) 2026 The vmd-linux project
 *
 * Permission to use, copy, modify, and distribute this software for any
 * purpose with or without fee is hereby granted, provided that the above
 * copyright notice and this permission notice appear in all copies.
 *
 * THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
 * WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
 * MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
 * ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
 * WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
 * ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
 * OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
 */

/*
 * Unit tests for vmctl: the status table, the name rule, argument
 * parsing (start in both orders, sizes, create), the console escapes,
 * and the protocol against a scripted vmd on a private socket.  Commands
 * run in a child through vmctl's own main(); TAP-style output.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmd.h"
#include "vmctl.h"

/* main.c has no header of its own: take it whole, its main() renamed */
int	vmctl_main(int, char *[]);
#define main vmctl_main
#include "../../vmctl/main.c"
#include "tap.h"
#undef main

#define MAXREQ		16
#define OUTMAX		8192

struct req {
	uint32_t	 type;
	uint32_t	 peerid;
	pid_t		 pid;
	size_t		 len;
	int		 hadfd;
	ino_t		 ino;		/* of the descriptor passed */
	unsigned char	 data[sizeof(struct vmop_create_params)];
};

/* one vmctl run in a child, maybe talking to a scripted vmd */
struct run {
	int		 status;	/* exit status, -1 if it did not exit */
	pid_t		 pid;
	char		 out[OUTMAX];
	char		 err[OUTMAX];
	struct req	 reqs[MAXREQ];
	int		 nreqs;
};

/* how the scripted vmd answers one request; 0 keeps the connection */
typedef int (*reply_fn)(struct imsgbuf *, struct req *);

static char	 tmpdir[64];		/* short: paths are built on it */
static char	 sockpath[128];

/* what the scripted replies say */
static int			 sc_result;
static uint32_t			 sc_id;
static struct vmop_info_result	 sc_vms[4];
static size_t			 sc_nvms;

/* glibc's err(3) names the program by this, libbsd's getprogname() too */
extern char	*program_invocation_short_name;

static const char *esc(const char *);


/* s with its newlines shown as \\n, for one-line descriptions */
static const char *
esc(const char *s)
{
	static char	 buf[4][512];
	static int	 n;
	char		*b = buf[n++ % 4];
	size_t		 i = 0;

	for (; *s != '\0' && i + 3 < sizeof(buf[0]); s++) {
		if (*s == '\n' || *s == '\r') {
			b[i++] = '\\';
			b[i++] = *s == '\n' ? 'n' : 'r';
		} else
			b[i++] = *s;
	}
	b[i] = '\0';
	return (b);
}

/* the child is vmctl, by name too */
static void
be_vmctl(void)
{
	program_invocation_short_name = (char *)"vmctl";
	setprogname("vmctl");
}

static void
readall(int fd, char *buf, size_t len)
{
	size_t	 off = 0;
	ssize_t	 n;

	while (off + 1 < len && (n = read(fd, buf + off, len - 1 - off)) > 0)
		off += (size_t)n;
	buf[off] = '\0';
	close(fd);
}

/* Run vmctl with argv (NULL-terminated) in a child, serving replies. */
static void
run_vmctl(struct run *r, reply_fn reply, const char *arg0, ...)
{
	struct imsgbuf	 ib;
	struct imsg	 imsg;
	struct pollfd	 pfd;
	struct stat	 sb;
	struct sockaddr_un sun;
	va_list		 ap;
	char		*argv[32];
	int		 argc = 0, lfd, cfd = -1, op[2], ep[2], st, fd, done;
	ssize_t		 n;
	const char	*a;

	memset(r, 0, sizeof(*r));
	argv[argc++] = (char *)"vmctl";
	argv[argc++] = (char *)"-s";
	argv[argc++] = sockpath;
	va_start(ap, arg0);
	for (a = arg0; a != NULL && argc < 31; a = va_arg(ap, const char *))
		argv[argc++] = (char *)a;
	va_end(ap);
	argv[argc] = NULL;

	(void)unlink(sockpath);
	if ((lfd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	(void)strlcpy(sun.sun_path, sockpath, sizeof(sun.sun_path));
	if (reply != NULL) {
		if (bind(lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
		    listen(lfd, 5) == -1)
			err(1, "bind");
	}

	if (pipe(op) == -1 || pipe(ep) == -1)
		err(1, "pipe");
	fflush(stdout);
	fflush(stderr);
	if ((r->pid = fork()) == -1)
		err(1, "fork");
	if (r->pid == 0) {
		close(lfd);
		close(op[0]);
		close(ep[0]);
		dup2(op[1], STDOUT_FILENO);
		dup2(ep[1], STDERR_FILENO);
		if ((fd = open("/dev/null", O_RDONLY)) != -1)
			dup2(fd, STDIN_FILENO);
		be_vmctl();
		exit(vmctl_main(argc, argv));
	}
	close(op[1]);
	close(ep[1]);

	/* accept, unless vmctl ends first (argument errors) */
	r->status = -1;
	while (reply != NULL && cfd == -1) {
		pfd.fd = lfd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 50) == 1) {
			cfd = accept(lfd, NULL, NULL);
			break;
		}
		if (waitpid(r->pid, &st, WNOHANG) == r->pid) {
			r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
			break;
		}
	}

	if (cfd != -1) {
		if (imsgbuf_init(&ib, cfd) == -1)
			err(1, "imsgbuf_init");
		imsgbuf_allow_fdpass(&ib);
		(void)imsgbuf_set_maxsize(&ib, VMD_IMSG_MAXSIZE);
		for (done = 0; !done; ) {
			if ((n = imsg_get(&ib, &imsg)) == -1)
				break;
			if (n == 0) {
				pfd.fd = cfd;
				pfd.events = POLLIN;
				if (poll(&pfd, 1, 5000) != 1 ||
				    imsgbuf_read(&ib) != 1)
					break;
				continue;
			}
			if (r->nreqs < MAXREQ) {
				struct req	*q = &r->reqs[r->nreqs++];

				q->type = imsg_get_type(&imsg);
				q->peerid = imsg_get_id(&imsg);
				q->pid = imsg_get_pid(&imsg);
				q->len = imsg_get_len(&imsg);
				if (q->len <= sizeof(q->data))
					(void)imsg_get_data(&imsg, q->data,
					    q->len);
				if ((fd = imsg_get_fd(&imsg)) != -1) {
					q->hadfd = 1;
					if (fstat(fd, &sb) == 0)
						q->ino = sb.st_ino;
					close(fd);
				}
				done = reply(&ib, q);
				(void)imsgbuf_flush(&ib);
			}
			imsg_free(&imsg);
		}
		close(cfd);
		imsgbuf_clear(&ib);
	}
	close(lfd);

	readall(op[0], r->out, sizeof(r->out));
	readall(ep[0], r->err, sizeof(r->err));
	if (r->status == -1 && waitpid(r->pid, &st, 0) == r->pid)
		r->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void
send_result(struct imsgbuf *ib, uint32_t type, int res, uint32_t id,
    const char *tty)
{
	struct vmop_result	 vmr;

	memset(&vmr, 0, sizeof(vmr));
	vmr.vmr_result = res;
	vmr.vmr_id = id;
	vmr.vmr_pid = 999;
	(void)strlcpy(vmr.vmr_ttyname, tty, sizeof(vmr.vmr_ttyname));
	(void)imsg_compose(ib, type, 0, 0, -1, &vmr, sizeof(vmr));
}

static int
reply_start(struct imsgbuf *ib, struct req *q)
{
	if (q->type == IMSG_VMDOP_START_VM_REQUEST) {
		send_result(ib, IMSG_VMDOP_START_VM_RESPONSE, sc_result, 5,
		    sc_result == 0 ? "/dev/pts/4" : "");
		return (1);
	}
	return (0);
}

static int
reply_info(struct imsgbuf *ib, struct req *q)
{
	size_t	 i;
	int	 zero = 0;

	if (q->type != IMSG_VMDOP_GET_INFO_VM_REQUEST)
		return (1);
	for (i = 0; i < sc_nvms; i++)
		(void)imsg_compose(ib, IMSG_VMDOP_GET_INFO_VM_DATA, 0, 0, -1,
		    &sc_vms[i], sizeof(sc_vms[i]));
	(void)imsg_compose(ib, IMSG_VMDOP_GET_INFO_VM_END_DATA, 0, 0, -1,
	    &zero, sizeof(zero));
	return (1);
}

/* as upstream's control: a waiting client gets the event only */
static int
reply_terminate(struct imsgbuf *ib, struct req *q)
{
	struct vmop_id	 vid;

	if (q->type == IMSG_VMDOP_GET_INFO_VM_REQUEST) {
		(void)reply_info(ib, q);
		return (0);
	}
	if (q->type != IMSG_VMDOP_TERMINATE_VM_REQUEST &&
	    q->type != IMSG_VMDOP_WAIT_VM_REQUEST)
		return (1);
	memcpy(&vid, q->data, sizeof(vid));
	if (sc_result == 0 && (q->type == IMSG_VMDOP_WAIT_VM_REQUEST ||
	    (vid.vid_flags & VMOP_WAIT)))
		send_result(ib, IMSG_VMDOP_TERMINATE_VM_EVENT, 0, sc_id, "");
	else
		send_result(ib, IMSG_VMDOP_TERMINATE_VM_RESPONSE, sc_result,
		    sc_id, "");
	return (0);
}

static int
reply_pause(struct imsgbuf *ib, struct req *q)
{
	uint32_t	 type;

	type = q->type == IMSG_VMDOP_PAUSE_VM ?
	    IMSG_VMDOP_PAUSE_VM_RESPONSE : IMSG_VMDOP_UNPAUSE_VM_RESPONSE;
	if (sc_result == ENOENT)	/* a bare int, as upstream's vmm */
		(void)imsg_compose(ib, type, 0, 0, -1, &sc_result,
		    sizeof(sc_result));
	else
		send_result(ib, type, sc_result, sc_id, "");
	return (1);
}

static int
reply_ok(struct imsgbuf *ib, struct req *q)
{
	(void)imsg_compose(ib, IMSG_CTL_OK, 0, 0, -1, NULL, 0);
	return (1);
}

static int
reply_fail(struct imsgbuf *ib, struct req *q)
{
	if (sc_result != 0)
		(void)imsg_compose(ib, IMSG_CTL_FAIL, 0, 0, -1, &sc_result,
		    sizeof(sc_result));
	else
		(void)imsg_compose(ib, IMSG_CTL_FAIL, 0, 0, -1, NULL, 0);
	return (1);
}

static int
reply_close(struct imsgbuf *ib, struct req *q)
{
	return (1);
}

static struct vmop_info_result
mkvm(uint32_t id, pid_t pid, size_t mem, size_t used, const char *name,
    const char *tty, uid_t uid, int64_t gid, unsigned int state)
{
	struct vmop_info_result	 v;

	memset(&v, 0, sizeof(v));
	v.vir_info.vir_id = id;
	v.vir_info.vir_creator_pid = pid;
	v.vir_info.vir_memory_size = mem;
	v.vir_info.vir_used_size = used;
	v.vir_info.vir_ncpus = 1;
	(void)strlcpy(v.vir_info.vir_name, name, sizeof(v.vir_info.vir_name));
	(void)strlcpy(v.vir_ttyname, tty, sizeof(v.vir_ttyname));
	v.vir_uid = uid;
	v.vir_gid = gid;
	v.vir_state = state;
	return (v);
}

/* an id nobody uses, for the numeric owner columns */
static unsigned int
unused_uid(void)
{
	unsigned int	 id;

	for (id = 54321; getpwuid(id) != NULL || getgrgid(id) != NULL; id++)
		;
	return (id);
}

static void
test_rows(void)
{
	struct vmop_info_result	 v;
	struct group		*gr;
	char			 line[256], want[256], owner[64];
	const char		*g0;
	unsigned int		 nobody = unused_uid();

	(void)vm_info_header(line, sizeof(line));
	check(strcmp(line, "   ID   PID VCPUS  MAXMEM  CURMEM     TTY"
	    "        OWNER    STATE NAME") == 0, "status header: \"%s\"", line);

	v = mkvm(1, 72118, 512ULL << 20, 102866944, "myvm", "/dev/pts/3",
	    0, -1, VM_STATE_RUNNING);
	(void)vm_info_row(&v, line, sizeof(line));
	check(strcmp(line, "    1 72118     1    512M   98.1M   pts/3"
	    "         root  running myvm") == 0, "running row: \"%s\"", line);

	gr = getgrgid(0);
	g0 = gr != NULL ? gr->gr_name : "0";
	v = mkvm(2, 0, 1ULL << 30, 4096, "web1", "", 0, 0, 0);
	(void)vm_info_row(&v, line, sizeof(line));
	(void)snprintf(owner, sizeof(owner), "root:%s", g0);
	(void)snprintf(want, sizeof(want), "    2     -     1    1.0G"
	    "       -       - %12s  stopped web1", owner);
	check(strcmp(line, want) == 0, "stopped row, CURMEM and TTY \"-\", "
	    "uid 0 with a group is user:group: \"%s\"", line);

	v = mkvm(3, 4242, 16ULL << 30, 3ULL << 30, "p1", "/dev/pts/12", 0,
	    -1, VM_STATE_RUNNING | VM_STATE_PAUSED);
	(void)vm_info_row(&v, line, sizeof(line));
	check(strcmp(line, "    3  4242     1   16.0G    3.0G  pts/12"
	    "         root   paused p1") == 0, "paused row: \"%s\"", line);

	v = mkvm(4, 4343, 2ULL << 30, 100ULL << 20, "s1", "/dev/pts/5",
	    nobody, -1, VM_STATE_RUNNING | VM_STATE_SHUTDOWN);
	(void)vm_info_row(&v, line, sizeof(line));
	(void)snprintf(want, sizeof(want), "    4  4343     1    2.0G    100M"
	    "   pts/5 %12u stopping s1", nobody);
	check(strcmp(line, want) == 0, "unknown user shows the uid, "
	    "stopping: \"%s\"", line);

	vm_info_owner(0, nobody, owner, sizeof(owner));
	(void)snprintf(want, sizeof(want), "root:%u", nobody);
	check(strcmp(owner, want) == 0, "unknown group shows the gid: %s",
	    owner);
	vm_info_owner(nobody, nobody, owner, sizeof(owner));
	(void)snprintf(want, sizeof(want), "%u:%u", nobody, nobody);
	check(strcmp(owner, want) == 0, "uid:gid when neither is known: %s",
	    owner);
	vm_info_owner(0, -1, owner, sizeof(owner));
	check(strcmp(owner, "root") == 0, "no group: user only: %s", owner);

	v = mkvm(5, 77, 1ULL << 30, 0, "odd", "ttyp8", 0, -1,
	    VM_STATE_RUNNING);
	check(strcmp(vm_info_tty(&v), "ttyp8") == 0,
	    "a tty outside /dev is shown whole");
	v = mkvm(5, 77, 1ULL << 30, 0, "odd", "", 0, -1, VM_STATE_RUNNING);
	check(strcmp(vm_info_tty(&v), "-") == 0, "no tty shows \"-\"");
	v = mkvm(0, 77, 1ULL << 30, 0, "odd", "/dev/pts/1", 0, -1,
	    VM_STATE_RUNNING);
	check(!vm_info_running(&v), "a VM with id 0 is not running");
	(void)vm_info_row(&v, line, sizeof(line));
	check(strstr(line, "    0     -     1    1.0G       -       -") ==
	    line, "... and shows no pid, curmem or tty: \"%s\"", line);

	v = mkvm(7, 1, 1ULL << 30, 0, "byname", "", 0, -1, 0);
	check(vm_info_match(&v, 0, NULL) && vm_info_match(&v, 7, NULL) &&
	    vm_info_match(&v, 0, "byname") && !vm_info_match(&v, 8, NULL) &&
	    !vm_info_match(&v, 0, "other"), "status filter by id or name");
}

static int
do_print(void *arg)
{
	int	 mode = *(int *)arg;

	switch (mode) {
	case 0:
		return (print_vm_info(sc_vms, sc_nvms, 0, NULL, 0));
	case 1:
		return (print_vm_info(sc_vms, sc_nvms, 0, NULL, 1));
	case 2:
		return (print_vm_info(sc_vms, sc_nvms, 99, NULL, 0));
	case 3:
		return (print_vm_info(sc_vms, 0, 0, NULL, 0));
	default:
		return (print_vm_info(sc_vms, sc_nvms, 0, "web1", 0));
	}
}

/* run fn in a child, capturing its output */
static void
run_fn(struct run *r, int (*fn)(void *), void *arg)
{
	int	 op[2], ep[2], st;

	memset(r, 0, sizeof(*r));
	if (pipe(op) == -1 || pipe(ep) == -1)
		err(1, "pipe");
	fflush(stdout);
	fflush(stderr);
	if ((r->pid = fork()) == -1)
		err(1, "fork");
	if (r->pid == 0) {
		close(op[0]);
		close(ep[0]);
		dup2(op[1], STDOUT_FILENO);
		dup2(ep[1], STDERR_FILENO);
		exit(fn(arg));
	}
	close(op[1]);
	close(ep[1]);
	readall(op[0], r->out, sizeof(r->out));
	readall(ep[0], r->err, sizeof(r->err));
	r->status = -1;
	if (waitpid(r->pid, &st, 0) == r->pid && WIFEXITED(st))
		r->status = WEXITSTATUS(st);
}

static const char *hdr = "   ID   PID VCPUS  MAXMEM  CURMEM     TTY"
	"        OWNER    STATE NAME\n";

static void
test_print(void)
{
	struct run	 r;
	char		 want[1024];
	int		 mode;

	sc_vms[0] = mkvm(1, 100, 512ULL << 20, 1ULL << 20, "myvm",
	    "/dev/pts/3", 0, -1, VM_STATE_RUNNING);
	sc_vms[1] = mkvm(2, 0, 1ULL << 30, 0, "web1", "", 0, -1,
	    VM_STATE_DISABLED);
	sc_nvms = 2;

	mode = 0;
	run_fn(&r, do_print, &mode);
	(void)snprintf(want, sizeof(want), "%s"
	    "    1   100     1    512M    1.0M   pts/3         root  running"
	    " myvm\n"
	    "    2     -     1    1.0G       -       -         root  stopped"
	    " web1\n", hdr);
	check(r.status == 0 && strcmp(r.out, want) == 0,
	    "print_vm_info lists all VMs in order");

	mode = 1;
	run_fn(&r, do_print, &mode);
	check(r.status == 0 && strstr(r.out, "web1") == NULL &&
	    strstr(r.out, "myvm") != NULL, "-r lists only running VMs");

	mode = 2;
	run_fn(&r, do_print, &mode);
	check(r.status == 0 && strcmp(r.out, hdr) == 0,
	    "an id that matches nothing prints the header only, status 0");

	mode = 4;
	run_fn(&r, do_print, &mode);
	check(r.status == 0 && strstr(r.out, "myvm") == NULL &&
	    strstr(r.out, "web1") != NULL, "a name selects one VM");

	mode = 3;
	run_fn(&r, do_print, &mode);
	check(r.status == ENOENT && strcmp(r.out, hdr) == 0,
	    "no VM at all: header, ENOENT");

	sc_vms[0] = sc_vms[1];
	sc_nvms = 1;
	mode = 1;
	run_fn(&r, do_print, &mode);
	check(r.status == ENOENT, "-r with none running: ENOENT");
}

static void
test_names(void)
{
	char	 longname[VMM_MAX_NAME_LEN + 1];

	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';

	check(vm_name_valid("myvm") && vm_name_valid("a.b-c_d") &&
	    vm_name_valid("0vm"), "names: alphanumerics, '.', '-', '_'");
	check(!vm_name_valid(".vm") && !vm_name_valid("-vm") &&
	    !vm_name_valid("_vm"), "names may not start with . - _");
	check(!vm_name_valid("my vm") && !vm_name_valid("vm/1") &&
	    !vm_name_valid("vm!") && !vm_name_valid(""),
	    "names: no spaces, slashes, other punctuation, not empty");
	check(!vm_name_valid(longname) &&
	    vm_name_valid(longname + 1), "names are shorter than %d bytes",
	    VMM_MAX_NAME_LEN);
}

static char	warned[256];

static void
capture_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	(void)vsnprintf(warned, sizeof(warned), fmt, ap);
	va_end(ap);
}

static void
test_sizes(void)
{
	uint64_t	 sz;
	int		 r;

	warned[0] = '\0';
	r = vm_size_parse("4.5G", 0, "disk", 0, &sz, capture_warn);
	check(r == 0 && sz == 4608ULL << 20 && warned[0] == '\0',
	    "4.5G is 4608M, silently");

	warned[0] = '\0';
	r = vm_size_parse("1073741823", 0, "disk", 0, &sz, capture_warn);
	check(r == 0 && sz == 1023ULL << 20 &&
	    strcmp(warned, "disk size rounded to 1023M") == 0,
	    "rounded down to the megabyte: \"%s\"", warned);

	r = vm_size_parse("1k", 0, "disk", 0, &sz, capture_warn);
	check(r == -1 && strcmp(warned, "disk size must be at least 1MB") ==
	    0, "less than 1MB: \"%s\"", warned);

	r = vm_size_parse("foo", 0, "memory", VMM_MAX_VM_MEM_SIZE, &sz,
	    capture_warn);
	check(r == -1 && strncmp(warned, "invalid memory size: foo", 24) == 0,
	    "not a size: \"%s\"", warned);

	r = vm_size_parse("200G", 0, "memory", VMM_MAX_VM_MEM_SIZE, &sz,
	    capture_warn);
	check(r == -1 &&
	    strcmp(warned, "memory size too large (limit is 128G)") == 0,
	    "over the memory limit: \"%s\"", warned);
}

static void
test_escape(const char *in, const char *wantout, int wantact,
    const char *desc)
{
	struct console_esc	 st;
	unsigned char		 out[2];
	char			 got[64];
	size_t			 n, len = 0;
	int			 act = CONSOLE_SEND, sawhelp = 0;

	console_esc_init(&st);
	for (; *in != '\0'; in++) {
		act = console_escape(&st, (unsigned char)*in, out, &n);
		memcpy(got + len, out, n);
		len += n;
		if (act == CONSOLE_HELP)
			sawhelp = 1;
		if (act == CONSOLE_EXIT)
			break;
	}
	got[len] = '\0';
	if (wantact == CONSOLE_HELP)
		act = sawhelp ? CONSOLE_HELP : act;
	check(strcmp(got, wantout) == 0 && act == wantact,
	    "console: %s (sent \"%s\")", desc, esc(got));
}

static void
test_console(void)
{
	test_escape("abc", "abc", CONSOLE_SEND, "plain text passes");
	test_escape("~.", "", CONSOLE_EXIT, "~. at the start disconnects");
	test_escape("ls\r~.", "ls\r", CONSOLE_EXIT, "~. after CR disconnects");
	test_escape("ls\n~.", "ls\n", CONSOLE_EXIT, "~. after LF disconnects");
	test_escape("a~.", "a~.", CONSOLE_SEND, "~. within a line is sent");
	test_escape("~~", "~", CONSOLE_SEND, "~~ sends one ~");
	test_escape("~~.", "~.", CONSOLE_SEND, "~~. sends ~. and stays");
	test_escape("~x", "~x", CONSOLE_SEND, "~x sends both");
	test_escape("~\n~.", "~\n", CONSOLE_EXIT, "~ then newline, then ~.");
	test_escape("~?", "", CONSOLE_HELP, "~? asks for help");
	test_escape("~?~.", "", CONSOLE_EXIT, "~. right after the help");
}

static void
test_cli_args(void)
{
	struct run	 r;
	char		 longname[VMM_MAX_NAME_LEN + 8], want[256];

	run_vmctl(&r, NULL, NULL);
	check(r.status == 1 &&
	    strcmp(r.err, "usage:\tvmctl [-v] command [arg ...]\n") == 0,
	    "no command: usage, status 1");
	run_vmctl(&r, NULL, "frobnicate", NULL);
	check(r.status == 1 && strncmp(r.err, "unknown argument: frobnicate\n"
	    "usage:\tvmctl", 40) == 0, "unknown command");
	run_vmctl(&r, NULL, "st", NULL);
	check(r.status == 1 && strncmp(r.err, "ambiguous argument: st\n", 23) ==
	    0, "ambiguous prefix");
	run_vmctl(&r, NULL, "stop", NULL);
	check(r.status == 1 &&
	    strcmp(r.err, "usage:\tvmctl [-v] stop [-fw] [id | -a]\n") == 0,
	    "stop without id: its usage");
	run_vmctl(&r, NULL, "start", NULL);
	check(r.status == 1 && strncmp(r.err, "usage:\tvmctl [-v] start "
	    "[-cL] [-B device] [-b path]", 45) == 0, "start: its usage");
	run_vmctl(&r, NULL, "status", "-q", NULL);
	check(r.status == 1 && strncmp(r.err,
	    "vmctl: unknown option -- q\nusage:\tvmctl [-v] status", 50) == 0,
	    "unknown option, named as on OpenBSD");
	run_vmctl(&r, NULL, "status", "bad!name", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: invalid id: bad!name\n") ==
	    0, "status: invalid id");
	run_vmctl(&r, NULL, "pause", "0", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: invalid id: 0\n") == 0,
	    "id 0 is invalid");
	memset(longname, 'a', VMM_MAX_NAME_LEN);
	longname[VMM_MAX_NAME_LEN] = '\0';
	run_vmctl(&r, NULL, "console", longname, NULL);
	(void)snprintf(want, sizeof(want), "vmctl: name too long\n"
	    "vmctl: invalid id: %s\n", longname);
	check(r.status == 1 && strcmp(r.err, want) == 0, "name too long");
	run_vmctl(&r, reply_start, "receive", "new", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: receive: the VM stream "
	    "is truncated\n") == 0 && r.nreqs == 0,
	    "receive of an empty stream: \"%s\"", esc(r.err));
	run_vmctl(&r, NULL, "receive", "bad!name", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: invalid VM name\n") == 0,
	    "receive: invalid VM name");
	run_vmctl(&r, NULL, "send", "0", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: invalid id: 0\n") == 0,
	    "send: id 0 is invalid");
	run_vmctl(&r, NULL, "start", "-i", "0", "x", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: count is too small: 0\n"
	    "vmctl: invalid interface count: 0\n") == 0,
	    "start -i 0: \"%s\"", esc(r.err));
	run_vmctl(&r, NULL, "start", "-m", "1G", "-m", "2G", "x", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: memory specified "
	    "multiple times\n") == 0, "memory specified multiple times");
	run_vmctl(&r, NULL, "start", "-C", "0", "x", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: invalid vcpu count: 0 "
	    "(too small; 1 to 64)\n") == 0, "start -C 0: \"%s\"", esc(r.err));
	run_vmctl(&r, NULL, "start", "x", "-C", "65", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: invalid vcpu count: 65 "
	    "(too large; 1 to 64)\n") == 0, "start -C 65: \"%s\"", esc(r.err));
	run_vmctl(&r, NULL, "start", "-C", "two", "x", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: invalid vcpu count: two "
	    "(invalid; 1 to 64)\n") == 0, "start -C two: \"%s\"", esc(r.err));
	run_vmctl(&r, NULL, "start", "-C", "2", "-C", "2", "x", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: vcpu count specified "
	    "multiple times\n") == 0, "vcpu count specified multiple times");
	run_vmctl(&r, NULL, "start", "x", "-m", "1k", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: memory size must be at "
	    "least 1MB\n") == 0, "start: memory below 1MB");
	run_vmctl(&r, NULL, "start", "-B", "floppy", "x", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: unknown boot device "
	    "floppy\n") == 0, "unknown boot device");
	/* as upstream, vmctl connects before it checks these */
	run_vmctl(&r, reply_start, "start", "-m", "1G", "x", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: starting without disks\n"
	    "vmctl: no kernel or disk/cdrom specified\n") == 0 &&
	    r.nreqs == 0, "start -m without kernel, disk or cdrom");
	run_vmctl(&r, NULL, "start", "-b", "/nonexistent/k", "x", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: invalid boot image path: "
	    "No such file or directory\n") == 0, "missing boot image");
	run_vmctl(&r, reply_start, "start", "-b", tmpdir, "x", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: kernel must be a regular "
	    "file\n") == 0 && r.nreqs == 0,
	    "boot image must be a regular file");
	run_vmctl(&r, NULL, "stop", "-a", "x", NULL);
	check(r.status == 1 && strncmp(r.err, "usage:", 6) == 0,
	    "stop -a takes no id");
}

static void
test_cli_create(void)
{
	struct run	 r;
	struct stat	 sb;
	char		 img[PATH_MAX], img2[PATH_MAX], want[PATH_MAX + 128];
	char		 q[PATH_MAX], q2[PATH_MAX];

	(void)snprintf(img, sizeof(img), "%s/disk.img", tmpdir);
	(void)snprintf(img2, sizeof(img2), "%s/disk2.img", tmpdir);

	run_vmctl(&r, NULL, "create", img, "-s", "4.5G", NULL);
	check(r.status == 0 && strcmp(r.err, "vmctl: raw imagefile created\n")
	    == 0, "create path -s size (6.2 order)");
	check(stat(img, &sb) == 0 && sb.st_size == 4608LL << 20 &&
	    (sb.st_mode & 07777) == 0600 &&
	    (long long)sb.st_blocks * 512 < sb.st_size,
	    "4.5G raw image, sparse, mode 0600");
	run_vmctl(&r, NULL, "create", img, "-s", "1G", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: create imagefile "
	    "operation failed: File exists\n") == 0, "an existing file stays");
	run_vmctl(&r, NULL, "create", "-s", "1073741823", img2, NULL);
	check(r.status == 0 && strcmp(r.err, "vmctl: disk size rounded to "
	    "1023M\nvmctl: raw imagefile created\n") == 0 &&
	    stat(img2, &sb) == 0 && sb.st_size == 1023LL << 20,
	    "create -s size disk (current order), rounded");
	run_vmctl(&r, NULL, "create", "-s", "1k", "x.img", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: disk size must be at "
	    "least 1MB\n") == 0, "disk below 1MB");
	run_vmctl(&r, NULL, "create", "nosize.img", NULL);
	(void)snprintf(want, sizeof(want), "could not create nosize.img: "
	    "missing size argument\nusage:\tvmctl [-v] create "
	    "[-b base | -i disk] [-s size] disk\n");
	check(r.status == 1 && strcmp(r.err, want) == 0, "missing size");
	(void)snprintf(q, sizeof(q), "%s/x.qcow2", tmpdir);
	run_vmctl(&r, NULL, "create", "-s", "1G", q, NULL);
	check(r.status == 0 && strcmp(r.err, "vmctl: qcow2 imagefile "
	    "created\n") == 0, "qcow2 by extension");
	(void)snprintf(q, sizeof(q), "qcow2:%s/y", tmpdir);
	run_vmctl(&r, NULL, "create", "-s", "1G", q, NULL);
	check(r.status == 0 && strcmp(r.err, "vmctl: qcow2 imagefile "
	    "created\n") == 0, "qcow2: prefix");
	(void)snprintf(q, sizeof(q), "%s/none.img", tmpdir);
	(void)snprintf(q2, sizeof(q2), "%s/x3.img", tmpdir);
	(void)snprintf(want, sizeof(want),
	    "vmctl: failed to open source image file\n");
	run_vmctl(&r, NULL, "create", "-i", q, q2, NULL);
	check(r.status == 1 && strcmp(r.err, want) == 0 &&
	    access(q2, F_OK) == -1, "create -i of a missing input");
	run_vmctl(&r, NULL, "create", "-i", img, "-b", img, "x.img", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: conflicting -b and -i "
	    "arguments\n") == 0, "-b and -i conflict");
}

static void
test_disktype(void)
{
	const char	*p;
	char		 path[PATH_MAX];
	int		 fd;

	check(parse_disktype("raw:a.qcow2", &p) == VMDF_RAW &&
	    strcmp(p, "a.qcow2") == 0, "raw: prefix wins over the extension");
	check(parse_disktype("qcow2:a.img", &p) == VMDF_QCOW2 &&
	    strcmp(p, "a.img") == 0, "qcow2: prefix");
	check(parse_disktype("/x/a.QCOW2", &p) == VMDF_QCOW2 &&
	    parse_disktype("/x/a.img", &p) == VMDF_RAW,
	    "the extension, else raw");
	(void)snprintf(path, sizeof(path), "%s/magic.img", tmpdir);
	if ((fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600)) != -1) {
		(void)write(fd, "QFI\xfb\0\0\0\3", 8);
		close(fd);
	}
	check(parse_disktype(path, &p) == VMDF_QCOW2,
	    "an existing file by its qcow2 magic");
}

static const struct req *
find_req(const struct run *r, uint32_t type, int nth)
{
	int	 i;

	for (i = 0; i < r->nreqs; i++)
		if (r->reqs[i].type == type && nth-- == 0)
			return (&r->reqs[i]);
	return (NULL);
}

static void
test_proto_start(void)
{
	struct vmop_create_params	 a, b;
	const struct req		*q, *qi;
	struct run			 r;
	struct stat			 sk, si;
	char				 kern[PATH_MAX], initrd[PATH_MAX];
	char				 disk[PATH_MAX];
	int				 fd, ok;

	(void)snprintf(kern, sizeof(kern), "%s/bzImage", tmpdir);
	(void)snprintf(initrd, sizeof(initrd), "%s/initrd", tmpdir);
	(void)snprintf(disk, sizeof(disk), "%s/disk.img", tmpdir);
	if ((fd = open(kern, O_CREAT | O_WRONLY, 0644)) != -1)
		close(fd);
	if ((fd = open(initrd, O_CREAT | O_WRONLY, 0644)) != -1)
		close(fd);
	(void)stat(kern, &sk);
	(void)stat(initrd, &si);

	sc_result = 0;
	run_vmctl(&r, reply_start, "start", "-b", kern, "-m", "1G", "-L",
	    "-n", "sw0", "-i", "3", "-I", initrd, "-k", "console=ttyS0 quiet",
	    "-d", disk, "-B", "disk", "vm1", NULL);
	check(r.status == 0 && strcmp(r.err, "vmctl: started vm 5 "
	    "successfully, tty /dev/pts/4\n") == 0, "start: \"%s\"",
	    esc(r.err));
	q = find_req(&r, IMSG_VMDOP_START_VM_REQUEST, 0);
	qi = find_req(&r, IMSG_VMDOP_START_VM_INITRD, 0);
	check(r.nreqs == 2 && qi == &r.reqs[0] && q == &r.reqs[1],
	    "start -I: the initrd message comes first, then the request");
	check(qi != NULL && qi->len == 0 && qi->hadfd && qi->ino == si.st_ino,
	    "the initrd travels as a descriptor, no payload");
	check(q != NULL && q->len == sizeof(a) && q->hadfd &&
	    q->ino == sk.st_ino, "the request carries the kernel descriptor");
	check(q != NULL && qi != NULL && q->peerid == VMD_PROTOCOL_VERSION &&
	    qi->peerid == VMD_PROTOCOL_VERSION && q->pid == r.pid &&
	    qi->pid == r.pid, "requests carry the protocol version and pid");
	if (q == NULL)
		return;
	memcpy(&a, q->data, sizeof(a));
	check(a.vmc_flags == (VMOP_CREATE_KERNEL | VMOP_CREATE_MEMORY |
	    VMOP_CREATE_NETWORK | VMOP_CREATE_DISK | VMOP_CREATE_INITRD |
	    VMOP_CREATE_CMDLINE), "create flags 0x%x", a.vmc_flags);
	check(strcmp(a.vmc_params.vcp_name, "vm1") == 0 &&
	    a.vmc_params.vcp_memory_size == 1ULL << 30 &&
	    a.vmc_params.vcp_ncpus == 1 && a.vmc_params.vcp_id == 0,
	    "name, memory in bytes, one vcpu");
	check(strcmp(a.vmc_kernel, kern) == 0 &&
	    strcmp(a.vmc_initrd, initrd) == 0 &&
	    strcmp(a.vmc_cmdline, "console=ttyS0 quiet") == 0,
	    "kernel, initrd and command line");
	check(a.vmc_ndisks == 1 && strcmp(a.vmc_disks[0], disk) == 0 &&
	    a.vmc_disktypes[0] == VMDF_RAW && a.vmc_bootdevice ==
	    VMBOOTDEV_DISK, "disk and boot device");
	check(a.vmc_nnics == 3 &&
	    a.vmc_ifflags[0] == (VMIFF_UP | VMIFF_LOCAL) &&
	    a.vmc_ifflags[1] == VMIFF_UP && a.vmc_ifflags[2] == VMIFF_UP &&
	    a.vmc_ifswitch[0][0] == '\0' && a.vmc_ifswitch[2][0] == '\0' &&
	    strcmp(a.vmc_ifswitch[1], "sw0") == 0,
	    "-i is the total: the local interface first, then the switch's, "
	    "then plain");
	check(a.vmc_owner.uid == getuid() && a.vmc_owner.gid == -1,
	    "owner is our uid, no group");

	/* the same in OpenBSD 6.2's order */
	run_vmctl(&r, reply_start, "start", "vm1", "-b", kern, "-m", "1G",
	    "-L", "-n", "sw0", "-i", "3", "-I", initrd, "-k",
	    "console=ttyS0 quiet", "-d", disk, "-B", "disk", NULL);
	q = find_req(&r, IMSG_VMDOP_START_VM_REQUEST, 0);
	ok = q != NULL && r.status == 0;
	if (ok) {
		memcpy(&b, q->data, sizeof(b));
		ok = memcmp(&a, &b, sizeof(a)) == 0;
	}
	check(ok, "start name [options] sends the same request");

	run_vmctl(&r, reply_start, "start", "-C", "4", "-b", kern, "smp",
	    NULL);
	q = find_req(&r, IMSG_VMDOP_START_VM_REQUEST, 0);
	ok = q != NULL && r.status == 0;
	if (ok) {
		memcpy(&b, q->data, sizeof(b));
		ok = b.vmc_params.vcp_ncpus == 4 &&
		    (b.vmc_flags & VMOP_CREATE_CPU);
	}
	check(ok, "start -C 4: four vcpus, VMOP_CREATE_CPU");
	sc_result = VMD_CPU_INVALID;
	run_vmctl(&r, reply_start, "start", "-C", "64", "-b", kern, "x", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: more vcpus than this "
	    "host's KVM allows (see vmd's log)\n") == 0, "VMD_CPU_INVALID");
	sc_result = 0;

	run_vmctl(&r, reply_start, "start", "existing", NULL);
	q = find_req(&r, IMSG_VMDOP_START_VM_REQUEST, 0);
	ok = q != NULL && r.status == 0 && !q->hadfd;
	if (ok) {
		memcpy(&b, q->data, sizeof(b));
		ok = b.vmc_flags == 0 && strcmp(b.vmc_params.vcp_name,
		    "existing") == 0 && b.vmc_nnics == 0;
	}
	check(ok, "start with a name only: no flags, vmd decides");

	run_vmctl(&r, reply_start, "start", "7", NULL);
	q = find_req(&r, IMSG_VMDOP_START_VM_REQUEST, 0);
	ok = q != NULL;
	if (ok) {
		memcpy(&b, q->data, sizeof(b));
		ok = b.vmc_params.vcp_id == 7 &&
		    b.vmc_params.vcp_name[0] == '\0';
	}
	check(ok, "start by id");

	run_vmctl(&r, reply_start, "start", "-b", kern, "bad!name", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: invalid VM name\n") == 0 &&
	    r.nreqs == 0, "start: invalid VM name, nothing sent");

	sc_result = VMD_BIOS_MISSING;
	run_vmctl(&r, reply_start, "start", "-b", kern, "x", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: vmm bios firmware file "
	    "not found.\n") == 0, "VMD_BIOS_MISSING");
	sc_result = VMD_DISK_MISSING;
	run_vmctl(&r, reply_start, "start", "-b", kern, "x", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: could not open disk "
	    "image(s)\n") == 0, "VMD_DISK_MISSING");
	sc_result = VMD_SWITCH_MISSING;
	run_vmctl(&r, reply_start, "start", "-b", kern, "x", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: could not find specified "
	    "switch\n") == 0, "VMD_SWITCH_MISSING");
	sc_result = VMD_TAP_FAILED;
	run_vmctl(&r, reply_start, "start", "-b", kern, "x", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: could not open a tap "
	    "interface (see vmd's log)\n") == 0, "VMD_TAP_FAILED");
	sc_result = VMD_DISK_LOCKED;
	run_vmctl(&r, reply_start, "start", "-b", kern, "x", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: disk image(s) in use by "
	    "another vm\n") == 0, "VMD_DISK_LOCKED");
	sc_result = VMD_DISK_CORRUPT;
	run_vmctl(&r, reply_start, "start", "-b", kern, "x", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: disk image(s) corrupt or "
	    "of an unsupported format (see vmd's log)\n") == 0,
	    "VMD_DISK_CORRUPT");
	sc_result = EALREADY;
	run_vmctl(&r, reply_start, "start", "-b", kern, "x", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: start vm command failed: "
	    "Operation already in progress\n") == 0, "an errno from vmd");
	sc_result = 0;
}

static void
test_proto_misc(void)
{
	struct run		 r;
	const struct req	*q;
	struct vmop_id		 vid;
	char			 want[1024];
	int			 v;

	sc_vms[0] = mkvm(1, 100, 512ULL << 20, 1ULL << 20, "myvm",
	    "/dev/pts/3", 0, -1, VM_STATE_RUNNING);
	sc_vms[1] = mkvm(2, 0, 1ULL << 30, 0, "web1", "", 0, -1, 0);
	sc_vms[2] = mkvm(3, 300, 1ULL << 30, 0, "db", "/dev/pts/9", 0, -1,
	    VM_STATE_RUNNING);
	sc_nvms = 3;
	run_vmctl(&r, reply_info, "status", NULL);
	(void)snprintf(want, sizeof(want), "%s"
	    "    1   100     1    512M    1.0M   pts/3         root  running"
	    " myvm\n"
	    "    2     -     1    1.0G       -       -         root  stopped"
	    " web1\n"
	    "    3   300     1    1.0G      0B   pts/9         root  running"
	    " db\n", hdr);
	check(r.status == 0 && strcmp(r.out, want) == 0 && r.nreqs == 1 &&
	    r.reqs[0].len == 0, "status over the socket");
	run_vmctl(&r, reply_info, "show", "web1", NULL);
	check(r.status == 0 && strstr(r.out, "web1") != NULL &&
	    strstr(r.out, "myvm") == NULL, "show name");

	sc_nvms = 0;
	run_vmctl(&r, reply_info, "status", NULL);
	check(r.status == 1 && strcmp(r.out, hdr) == 0 && r.err[0] == '\0',
	    "status with no VM: header, status 1");
	sc_nvms = 3;

	sc_result = 0;
	sc_id = 1;
	run_vmctl(&r, reply_terminate, "stop", "myvm", NULL);
	q = find_req(&r, IMSG_VMDOP_TERMINATE_VM_REQUEST, 0);
	if (q != NULL)
		memcpy(&vid, q->data, sizeof(vid));
	check(r.status == 0 && strcmp(r.err, "stopping vm myvm: requested to "
	    "shutdown vm 1\n") == 0 && q != NULL && vid.vid_id == 0 &&
	    strcmp(vid.vid_name, "myvm") == 0 && vid.vid_flags == 0,
	    "stop: \"%s\"", esc(r.err));
	run_vmctl(&r, reply_terminate, "stop", "-w", "1", NULL);
	q = find_req(&r, IMSG_VMDOP_TERMINATE_VM_REQUEST, 0);
	if (q != NULL)
		memcpy(&vid, q->data, sizeof(vid));
	check(r.status == 0 && strcmp(r.err, "stopping vm: terminated vm 1\n")
	    == 0 && q != NULL && vid.vid_id == 1 && vid.vid_flags ==
	    VMOP_WAIT, "stop -w: \"%s\"", esc(r.err));
	run_vmctl(&r, reply_terminate, "stop", "-f", "myvm", NULL);
	check(r.status == 0 && strcmp(r.err, "stopping vm myvm: forced to "
	    "terminate vm 1\n") == 0, "stop -f: \"%s\"", esc(r.err));
	run_vmctl(&r, reply_terminate, "wait", "myvm", NULL);
	check(r.status == 0 && strcmp(r.err, "waiting for vm myvm: terminated "
	    "vm 1\n") == 0 && find_req(&r, IMSG_VMDOP_WAIT_VM_REQUEST, 0) !=
	    NULL, "wait: \"%s\"", esc(r.err));
	run_vmctl(&r, reply_terminate, "stop", "-a", NULL);
	check(r.status == 0 && strcmp(r.err, "stopping vm myvm: requested to "
	    "shutdown vm 1\nstopping vm db: requested to shutdown vm 1\n") ==
	    0 && find_req(&r, IMSG_VMDOP_TERMINATE_VM_REQUEST, 2) == NULL,
	    "stop -a stops the running VMs by name");
	sc_result = ENOENT;
	run_vmctl(&r, reply_terminate, "stop", "nosuch", NULL);
	check(r.status == 1 && strcmp(r.err, "stopping vm nosuch: vm not "
	    "found\n") == 0, "stop: vm not found");
	sc_result = VMD_VM_STOP_INVALID;
	run_vmctl(&r, reply_terminate, "stop", "web1", NULL);
	check(r.status == 1 && strcmp(r.err, "stopping vm web1: cannot stop "
	    "vm that is not running\n") == 0, "stop: not running");
	sc_result = EPERM;
	run_vmctl(&r, reply_terminate, "stop", "web1", NULL);
	check(r.status == 1 && strcmp(r.err, "stopping vm web1: failed: "
	    "Operation not permitted\n") == 0, "stop: failed: strerror");

	sc_result = 0;
	sc_id = 1;
	run_vmctl(&r, reply_pause, "pause", "myvm", NULL);
	check(r.status == 0 && strcmp(r.err, "vmctl: paused vm 1 "
	    "successfully\n") == 0, "pause");
	run_vmctl(&r, reply_pause, "unpause", "1", NULL);
	check(r.status == 0 && strcmp(r.err, "vmctl: unpaused vm 1 "
	    "successfully\n") == 0 && r.nreqs == 1 &&
	    r.reqs[0].type == IMSG_VMDOP_UNPAUSE_VM, "unpause");
	sc_result = ENOENT;
	run_vmctl(&r, reply_pause, "pause", "nosuch", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: pause vm command failed: "
	    "No such file or directory\n") == 0, "pause of an unknown VM");

	run_vmctl(&r, reply_ok, "reset", "vms", NULL);
	memcpy(&v, r.reqs[0].data, sizeof(v));
	check(r.status == 0 && r.err[0] == '\0' && r.nreqs == 1 &&
	    r.reqs[0].type == IMSG_CTL_RESET && v == CONFIG_VMS,
	    "reset vms sends CONFIG_VMS, prints nothing");
	run_vmctl(&r, reply_ok, "log", "verbose", NULL);
	memcpy(&v, r.reqs[0].data, sizeof(v));
	check(r.status == 0 && r.reqs[0].type == IMSG_CTL_VERBOSE && v == 2,
	    "log verbose sends 2");
	run_vmctl(&r, reply_ok, "load", tmpdir, NULL);
	check(r.status == 0 && r.reqs[0].type == IMSG_VMDOP_LOAD &&
	    r.reqs[0].len == strlen(tmpdir) + 1 &&
	    strcmp((char *)r.reqs[0].data, tmpdir) == 0,
	    "load sends the absolute path, NUL-terminated");
	run_vmctl(&r, NULL, "load", "/nonexistent/vm.conf", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: load: "
	    "/nonexistent/vm.conf: No such file or directory\n") == 0,
	    "load of a missing file");

	sc_result = EPERM;
	run_vmctl(&r, reply_fail, "reload", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: command failed: "
	    "Operation not permitted\n") == 0, "IMSG_CTL_FAIL with an errno");
	sc_result = 0;
	run_vmctl(&r, reply_fail, "status", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: command failed\n") == 0,
	    "IMSG_CTL_FAIL without one");
	run_vmctl(&r, reply_ok, "status", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: unexpected response "
	    "received from vmd\n") == 0, "an unexpected reply");
	run_vmctl(&r, reply_close, "pause", "1", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: pipe closed\n") == 0,
	    "vmd goes away");
	run_vmctl(&r, reply_info, "console", "nosuch", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: console not found\n") == 0,
	    "console of an unknown VM");
	run_vmctl(&r, reply_info, "console", "web1", NULL);
	check(r.status == 1 && strcmp(r.err, "vmctl: console not found\n") == 0,
	    "console of a stopped VM");

	(void)unlink(sockpath);
	run_vmctl(&r, NULL, "status", NULL);
	(void)snprintf(want, sizeof(want), "vmctl: connect: %s: No such file "
	    "or directory\n", sockpath);
	check(r.status == 1 && strcmp(r.err, want) == 0, "no vmd: connect");
}

int
main(void)
{
	(void)strlcpy(tmpdir, "/tmp/t_vmctl.XXXXXX", sizeof(tmpdir));
	if (mkdtemp(tmpdir) == NULL)
		err(1, "mkdtemp");
	(void)snprintf(sockpath, sizeof(sockpath), "%s/vmd.sock", tmpdir);
	/* relative names in the tests land in the scratch directory */
	if (chdir(tmpdir) == -1)
		err(1, "chdir");
	signal(SIGPIPE, SIG_IGN);

	test_rows();
	test_print();
	test_names();
	test_sizes();
	test_console();
	test_disktype();
	test_cli_args();
	test_cli_create();
	test_proto_start();
	test_proto_misc();

	/* leave nothing behind */
	{
		const char *files[] = { "disk.img", "disk2.img", "magic.img",
		    "bzImage", "initrd", "vmd.sock" };
		char	 path[PATH_MAX];
		size_t	 i;

		for (i = 0; i < nitems(files); i++) {
			(void)snprintf(path, sizeof(path), "%s/%s", tmpdir,
			    files[i]);
			(void)unlink(path);
		}
		if (chdir("/") == 0)
			(void)rmdir(tmpdir);
	}

	return (failed ? 1 : 0);
}
