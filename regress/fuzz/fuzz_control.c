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
 * libFuzzer target: what a client of vmd's socket can send.  The real
 * control process (control.c) and the real parent (vmd.c), both included
 * here for their static functions, are joined by socketpairs as vmd
 * joins them; two clients, root and an unprivileged user, send the
 * requests the input describes: every request type control accepts,
 * with payloads made from a valid template and patched, or raw, with
 * or without a descriptor, with the protocol version right or wrong.
 * Replies go back to the clients through control; vmm and priv are
 * fakes that read what the parent sends them and, when the input says
 * so, answer as vmm would (a VM started, stopped, paused).  vm.conf is
 * a fixed set of VMs (parse_config below).
 *
 * Not reached: the part of vm_start() past its vCPU check.  It opens
 * the disks, kernel and pty a request names, real paths, so this host's
 * KVM is taken to allow no vCPU (env->maxcpus = 0) and every start ends
 * there with VMD_CPU_INVALID.  Fuzzing beyond it needs a hook for
 * open(2) of the parent's files (open_file(), vm_opentty()).
 *
 * Nothing may crash, leak memory or descriptors (counted after each
 * input), or make the processes talk forever.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <dirent.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int	vmd_main(int, char *[], char *[]);

#define main	vmd_main
#include "../../vmd/vmd.c"
#undef main
#include "../../vmd/control.c"

#define FUZZ_CONF	"/fuzz/vm.conf"
#define FUZZ_UID	1000
#define FUZZ_NOPID	0x7ffffff0	/* no such process: no /proc files */
#define FUZZ_NCLIENTS	2

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct privsep	 cps;		/* the control process's */
static struct imsgbuf	 vmmbuf, privbuf;	/* the fakes' ends */
static struct imsgbuf	 cli[FUZZ_NCLIENTS];
static struct ctl_conn	*conns[FUZZ_NCLIENTS];
static int		 nullfd;
static int		 basefds;

/*
 * parse.y, as vmd would use it: FUZZ_CONF has a VM that an unprivileged
 * user may make instances of, one that user owns and a disabled one,
 * and a switch; any other file fails to parse.
 */
void
parsed_init(struct vmd_parsed *p)
{
	memset(p, 0, sizeof(*p));
	TAILQ_INIT(&p->vms);
	TAILQ_INIT(&p->switches);
}

void
parsed_clear(struct vmd_parsed *p)
{
	struct vmd_vm		*vm;
	struct vmd_switch	*sw;

	while ((vm = TAILQ_FIRST(&p->vms)) != NULL) {
		TAILQ_REMOVE(&p->vms, vm, vm_entry);
		free(vm);
	}
	while ((sw = TAILQ_FIRST(&p->switches)) != NULL) {
		TAILQ_REMOVE(&p->switches, sw, sw_entry);
		free(sw->sw_name);
		free(sw->sw_group);
		free(sw);
	}
}

static void
conf_vm(struct vmd_parsed *p, const char *name, uid_t owner,
    unsigned int insflags, int disabled)
{
	struct vmd_vm	*vm;

	if ((vm = calloc(1, sizeof(*vm))) == NULL)
		abort();
	strlcpy(vm->vm_params.vmc_params.vcp_name, name, VMM_MAX_NAME_LEN);
	vm->vm_params.vmc_params.vcp_memory_size = MB(64);
	vm->vm_params.vmc_params.vcp_ncpus = 1;
	vm->vm_params.vmc_flags = VMOP_CREATE_MEMORY | VMOP_CREATE_NETWORK;
	vm->vm_params.vmc_nnics = 1;
	vm->vm_params.vmc_ifflags[0] = VMIFF_UP | VMIFF_LOCAL;
	strlcpy(vm->vm_params.vmc_kernel, "/fuzz/bsd", PATH_MAX);
	vm->vm_params.vmc_owner.uid = owner;
	vm->vm_params.vmc_owner.gid = owner ? (int64_t)owner : -1;
	vm->vm_params.vmc_insflags = insflags;
	vm->vm_params.vmc_insowner.uid = insflags ? FUZZ_UID : 0;
	vm->vm_params.vmc_insowner.gid = -1;
	vm->vm_state = disabled ? VM_STATE_DISABLED : 0;
	vm->vm_kernel = vm->vm_initrd = vm->vm_tty = vm->vm_tty_slave = -1;
	TAILQ_INSERT_TAIL(&p->vms, vm, vm_entry);
}

int
parse_config(struct vmd_parsed *p, const char *file, int flags)
{
	struct vmd_switch	*sw;

	(void)flags;
	if (strcmp(file, FUZZ_CONF) != 0)
		return (-1);
	conf_vm(p, "tmpl", 0, VMOP_CREATE_KERNEL | VMOP_CREATE_MEMORY |
	    VMOP_CREATE_CPU | VMOP_CREATE_INSTANCE | VMOP_CREATE_NETWORK |
	    VMOP_CREATE_DISK | VMOP_CREATE_CDROM | VMOP_CREATE_INITRD |
	    VMOP_CREATE_CMDLINE, 0);
	conf_vm(p, "mine", FUZZ_UID, 0, 0);
	conf_vm(p, "off", 0, 0, 1);
	if ((sw = calloc(1, sizeof(*sw))) == NULL ||
	    (sw->sw_name = strdup("uplink")) == NULL)
		abort();
	strlcpy(sw->sw_ifname, "br0", sizeof(sw->sw_ifname));
	sw->sw_id = 1;
	TAILQ_INSERT_TAIL(&p->switches, sw, sw_entry);
	return (0);
}

int
cmdline_symset(char *s)
{
	(void)s;
	return (-1);
}

static void
channel(struct imsgev *a, const char *name, imsgev_dispatch_fn fn,
    struct imsgbuf *b, int *fds)
{
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, fds) == -1)
		abort();
	if (imsgev_init(a, fds[0], name, fn, NULL, NULL) == -1)
		abort();
	if (b != NULL) {
		if (imsgbuf_init(b, fds[1]) == -1)
			abort();
		imsgbuf_allow_fdpass(b);
		if (imsgbuf_set_maxsize(b, IMSG_MAXSIZE_LIMIT) == -1)
			abort();
	}
}

/*
 * Our descriptors: all but pipes, which libFuzzer opens for itself (to
 * its symbolizer) while it runs.
 */
static int
nfds(void)
{
	DIR		*d;
	struct dirent	*de;
	char		 path[64], link[64];
	ssize_t		 n;
	int		 count = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		abort();
	while ((de = readdir(d)) != NULL) {
		snprintf(path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		if ((n = readlink(path, link, sizeof(link) - 1)) == -1)
			continue;
		link[n] = '\0';
		if (strncmp(link, "pipe:", 5) != 0)
			count++;
	}
	closedir(d);
	return (count);
}

static void
fuzz_setup(void)
{
	int	fds[2];

	event_init();
	signal(SIGPIPE, SIG_IGN);
	if ((env = calloc(1, sizeof(*env))) == NULL)
		abort();
	env->conffile = FUZZ_CONF;
	env->conffile_given = 1;
	env->socket = "/fuzz/vmd.sock";
	env->initrd_fd = -1;
	env->stop_timeout = VMD_STOP_TIMEOUT;
	env->maxcpus = 0;		/* see above */
	TAILQ_INIT(&env->vms);
	TAILQ_INIT(&env->switches);
	TAILQ_INIT(&env->known);
	env->ps.ps_id = PROC_PARENT;
	env->ps.ps_env = env;

	/* parent <-> control: both ends are real */
	channel(&env->ps.ps_ievs[PROC_CONTROL], "control", parent_dispatch,
	    NULL, fds);
	if (imsgev_init(&cps.ps_parent, fds[1], "parent",
	    control_parent_dispatch, NULL, &cps) == -1)
		abort();
	cps.ps_id = PROC_CONTROL;
	ctl.ps = &cps;
	ctl.fd = -1;
	TAILQ_INIT(&ctl.conns);

	/* parent <-> vmm, priv: fakes at the other end */
	channel(&env->ps.ps_ievs[PROC_VMM], "vmm", parent_dispatch, &vmmbuf,
	    fds);
	channel(&env->ps.ps_ievs[PROC_PRIV], "priv", parent_dispatch,
	    &privbuf, fds);
	if ((nullfd = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1)
		abort();
}

/* a client, as control_accept() takes it */
static void
client_connect(int k, uid_t uid)
{
	struct ctl_conn	*c;
	int		 fds[2];

	if (control_refuse(uid))
		abort();
	if ((c = calloc(1, sizeof(*c))) == NULL)
		abort();
	c->uid = uid;
	do {
		c->id = ++ctl.nextid;
	} while (c->id == 0 || control_byid(c->id) != NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0, fds) == -1)
		abort();
	if (imsgev_init(&c->iev, fds[0], "client", control_dispatch,
	    control_closed, c) == -1)
		abort();
	TAILQ_INSERT_TAIL(&ctl.conns, c, entry);
	ctl.nconns++;
	if (imsgbuf_init(&cli[k], fds[1]) == -1)
		abort();
	imsgbuf_allow_fdpass(&cli[k]);
	if (imsgbuf_set_maxsize(&cli[k], IMSG_MAXSIZE_LIMIT) == -1)
		abort();
	conns[k] = c;
}

static void
client_close(int k)
{
	if (conns[k] == NULL)
		return;
	imsgev_clear(&conns[k]->iev);
	control_closed(&conns[k]->iev);
	conns[k] = NULL;
	imsgbuf_clear(&cli[k]);
	close(cli[k].fd);
}

/* everything an imsgbuf has read: dispatched, or dropped if fn NULL */
/*
 * Which channels have something to read, polled once a round: reading
 * every one of them each round, most to EAGAIN, was most of the time of
 * an execution.
 */
#define FUZZ_NPOLL	(2 * FUZZ_NCLIENTS + 6)
static struct pollfd	 pfds[FUZZ_NPOLL];
static int		 npfds;

static void
poll_add(int fd)
{
	if (fd != -1 && npfds < FUZZ_NPOLL) {
		pfds[npfds].fd = fd;
		pfds[npfds].events = POLLIN;
		pfds[npfds].revents = 0;
		npfds++;
	}
}

/* fd was readable when polled (or not polled: then try) */
static int
can_read(int fd)
{
	int	i;

	for (i = 0; i < npfds; i++)
		if (pfds[i].fd == fd)
			return (pfds[i].revents != 0);
	return (1);
}

static int
drain(struct imsgbuf *ib, void (*fn)(struct imsg *))
{
	struct imsg	imsg;
	ssize_t		n;
	int		got = 0;

	if (can_read(ib->fd) && imsgbuf_read(ib) == -1 && errno != EAGAIN)
		return (0);
	while ((n = imsg_get(ib, &imsg)) > 0) {
		if (fn != NULL)
			fn(&imsg);
		imsg_free(&imsg);
		got = 1;
	}
	if (n == -1)
		abort();	/* one of ours wrote a malformed message */
	return (got);
}

/* what imsgev_handler() does on a readable channel, held or not */
static int
pump_iev(struct imsgev *iev)
{
	struct imsg	imsg;
	ssize_t		n;
	int		got = 0;

	if (iev->closed)
		return (0);
	if (imsgbuf_queuelen(&iev->ibuf) > 0 && imsgbuf_write(&iev->ibuf) ==
	    -1 && errno != EAGAIN)
		abort();
	/* held: its socket is not read (imsgev_add) */
	if (!iev->noread && can_read(iev->ibuf.fd) &&
	    imsgbuf_read(&iev->ibuf) == -1 && errno != EAGAIN)
		abort();
	while (!iev->noread && !iev->closed) {
		if ((n = imsg_get(&iev->ibuf, &imsg)) == -1)
			abort();
		if (n == 0)
			break;
		iev->dispatch(iev, &imsg);
		imsg_free(&imsg);
		got = 1;
	}
	return (got);
}

static unsigned int	 answers;

static void
client_reply(struct imsg *imsg)
{
	switch (imsg_get_type(imsg)) {
	case IMSG_VMDOP_START_VM_RESPONSE:
	case IMSG_VMDOP_TERMINATE_VM_RESPONSE:
	case IMSG_VMDOP_PAUSE_VM_RESPONSE:
	case IMSG_VMDOP_UNPAUSE_VM_RESPONSE:
	case IMSG_VMDOP_SEND_VM_RESPONSE:
	case IMSG_VMDOP_GET_INFO_VM_END_DATA:
	case IMSG_CTL_OK:
	case IMSG_CTL_FAIL:
		answers++;
		break;
	}
}

/* until nothing moves: every channel read, dispatched, written */
static void
pump(void)
{
	uint32_t	q;
	int		k, moved, rounds = 0;

	do {
		moved = 0;
		npfds = 0;
		for (k = 0; k < FUZZ_NCLIENTS; k++) {
			if (conns[k] == NULL)
				continue;
			poll_add(cli[k].fd);
			poll_add(conns[k]->iev.ibuf.fd);
		}
		poll_add(cps.ps_parent.ibuf.fd);
		poll_add(env->ps.ps_ievs[PROC_CONTROL].ibuf.fd);
		poll_add(env->ps.ps_ievs[PROC_VMM].ibuf.fd);
		poll_add(env->ps.ps_ievs[PROC_PRIV].ibuf.fd);
		poll_add(vmmbuf.fd);
		poll_add(privbuf.fd);
		if (poll(pfds, npfds, 0) == -1) {
			/* libFuzzer's own timer signal */
			if (errno != EINTR)
				abort();
			npfds = 0;	/* then every channel is read */
		}
		for (k = 0; k < FUZZ_NCLIENTS; k++) {
			if (conns[k] == NULL)
				continue;
			/* what a client sent gets there when there is room */
			if ((q = imsgbuf_queuelen(&cli[k])) > 0) {
				if (imsgbuf_write(&cli[k]) == -1 &&
				    errno != EAGAIN)
					abort();
				moved |= imsgbuf_queuelen(&cli[k]) < q;
			}
			moved |= pump_iev(&conns[k]->iev);
		}
		moved |= pump_iev(&cps.ps_parent);
		moved |= pump_iev(&env->ps.ps_ievs[PROC_CONTROL]);
		moved |= pump_iev(&env->ps.ps_ievs[PROC_VMM]);
		moved |= pump_iev(&env->ps.ps_ievs[PROC_PRIV]);
		for (k = 0; k < FUZZ_NCLIENTS; k++)
			if (conns[k] != NULL)
				moved |= drain(&cli[k], client_reply);
		moved |= drain(&vmmbuf, NULL);
		moved |= drain(&privbuf, NULL);
		if (++rounds > 10000)
			abort();	/* they talk forever */
	} while (moved);
}

/* the fields of a start request worth aiming at */
static const struct {
	size_t	off;
	size_t	len;
} vmc_fields[] = {
#define F(f)	{ offsetof(struct vmop_create_params, f), \
	    sizeof(((struct vmop_create_params *)0)->f) }
	F(vmc_params.vcp_memory_size), F(vmc_params.vcp_ncpus),
	F(vmc_params.vcp_name), F(vmc_params.vcp_id), F(vmc_flags),
	F(vmc_checkaccess), F(vmc_bootdevice), F(vmc_ndisks),
	F(vmc_disks[0]), F(vmc_disktypes), F(vmc_cdrom), F(vmc_kernel),
	F(vmc_initrd), F(vmc_cmdline), F(vmc_nnics), F(vmc_ifflags),
	F(vmc_ifnames), F(vmc_ifswitch), F(vmc_macs), F(vmc_owner),
	F(vmc_instance), F(vmc_insowner), F(vmc_insflags),
#undef F
};

static const char	*names[] = { "tmpl", "mine", "off", "new", "fz" };

/* the requests a client may send, and a few it may not */
static const uint32_t	 types[] = {
	IMSG_VMDOP_START_VM_REQUEST, IMSG_VMDOP_START_VM_INITRD,
	IMSG_VMDOP_TERMINATE_VM_REQUEST, IMSG_VMDOP_WAIT_VM_REQUEST,
	IMSG_VMDOP_PAUSE_VM, IMSG_VMDOP_UNPAUSE_VM,
	IMSG_VMDOP_GET_INFO_VM_REQUEST, IMSG_VMDOP_LOAD, IMSG_VMDOP_RELOAD,
	IMSG_CTL_RESET, IMSG_CTL_VERBOSE, IMSG_VMDOP_SEND_VM_REQUEST,
	IMSG_VMDOP_RECEIVE_VM_REQUEST, IMSG_VMDOP_START_VM_RESPONSE,
	IMSG_CTL_OK, IMSG_VMDOP_CONFIG,
};

struct fuzz_in {
	const uint8_t	*p;
	size_t		 left;
};

static uint8_t
in_u8(struct fuzz_in *in)
{
	uint8_t	v = 0;

	if (in->left > 0) {
		v = *in->p++;
		in->left--;
	}
	return (v);
}

static uint16_t
in_u16(struct fuzz_in *in)
{
	return (in_u8(in) | in_u8(in) << 8);
}

/* n bytes of the input into p (zeros past its end) */
static void
in_bytes(struct fuzz_in *in, void *p, size_t n)
{
	size_t	m = MINIMUM(n, in->left);

	memcpy(p, in->p, m);
	memset((uint8_t *)p + m, 0, n - m);
	in->p += m;
	in->left -= m;
}

/* a payload for type: its valid form, then the input's patches */
static size_t
payload(struct fuzz_in *in, uint32_t type, uint8_t *buf, size_t max)
{
	struct vmop_create_params	*vmc = (void *)buf;
	struct vmop_id			*vid = (void *)buf;
	size_t				 len = 0, off, m;
	unsigned int			 n, i, f;
	uint8_t				 how = in_u8(in);

	memset(buf, 0, max);
	switch (type) {
	case IMSG_VMDOP_START_VM_REQUEST:
		len = sizeof(*vmc);
		strlcpy(vmc->vmc_params.vcp_name, names[how % 5],
		    VMM_MAX_NAME_LEN);
		if (how & 0x08) {
			vmc->vmc_flags = VMOP_CREATE_INSTANCE |
			    VMOP_CREATE_MEMORY;
			strlcpy(vmc->vmc_instance, "tmpl", VMM_MAX_NAME_LEN);
			vmc->vmc_params.vcp_memory_size = MB(32);
		}
		/* aimed patches: a field, bytes from its start */
		n = in_u8(in) % 8;
		for (i = 0; i < n && in->left > 0; i++) {
			f = in_u8(in) % nitems(vmc_fields);
			off = in_u8(in) % vmc_fields[f].len;
			m = in_u8(in) % 9;
			in_bytes(in, buf + vmc_fields[f].off + off,
			    MINIMUM(m, vmc_fields[f].len - off));
		}
		break;
	case IMSG_VMDOP_TERMINATE_VM_REQUEST:
	case IMSG_VMDOP_WAIT_VM_REQUEST:
	case IMSG_VMDOP_PAUSE_VM:
	case IMSG_VMDOP_UNPAUSE_VM:
	case IMSG_VMDOP_SEND_VM_REQUEST:
		len = sizeof(*vid);
		if (how & 0x08)
			vid->vid_id = in_u8(in) % 8;
		strlcpy(vid->vid_name, names[how % 5], VMM_MAX_NAME_LEN);
		vid->vid_uid = in_u8(in) & 1 ? FUZZ_UID : 0;
		vid->vid_flags = in_u8(in);
		break;
	case IMSG_VMDOP_RECEIVE_VM_REQUEST:
		len = sizeof(*vid) + VMS_PREFIX_LEN;
		strlcpy(vid->vid_name, names[how % 5], VMM_MAX_NAME_LEN);
		m = in_u8(in);		/* the prefix's first bytes */
		in_bytes(in, buf + sizeof(*vid), MINIMUM(m, VMS_PREFIX_LEN));
		break;
	case IMSG_VMDOP_LOAD:
		len = strlcpy((char *)buf, (how & 0x08) ? FUZZ_CONF :
		    "/fuzz/other.conf", max) + 1;
		break;
	case IMSG_CTL_RESET:
		len = sizeof(unsigned int);
		buf[0] = (how & 0x08) ? 0xff : (how >> 4) & 3;
		break;
	case IMSG_CTL_VERBOSE:
		len = sizeof(int);
		buf[0] = how >> 4;
		break;
	}
	if (how & 0x80) {
		/* a wrong length, then raw bytes */
		m = in_u16(in);
		len = MINIMUM(m, max);
		in_bytes(in, buf, MINIMUM(len, 64));
	} else if (how & 0x40) {
		/* any bytes anywhere in it */
		n = in_u8(in) % 8;
		for (i = 0; i < n && len > 0; i++) {
			off = in_u16(in) % len;
			in_bytes(in, buf + off, MINIMUM(len - off, 4));
		}
	}
	return (len);
}

/* vmm's answers to the parent, as it would give them */
static void
vmm_answer(struct fuzz_in *in)
{
	static const uint32_t vtypes[] = {
		IMSG_VMDOP_START_VM_RESPONSE, IMSG_VMDOP_TERMINATE_VM_EVENT,
		IMSG_VMDOP_TERMINATE_VM_RESPONSE, IMSG_VMDOP_PAUSE_VM_RESPONSE,
		IMSG_VMDOP_UNPAUSE_VM_RESPONSE, IMSG_VMDOP_SEND_VM_RESPONSE,
	};
	static const int results[] = { 0, 0, EINVAL, VM_EXIT_POWEROFF,
	    VM_EXIT_REBOOT, VM_EXIT_CRASH, 128 + 9, VM_EXIT_ERROR };
	struct vmop_result	 vmr;
	uint8_t			 b = in_u8(in);

	memset(&vmr, 0, sizeof(vmr));
	vmr.vmr_id = in_u8(in) % 8;
	vmr.vmr_result = results[(b >> 3) & 7];
	vmr.vmr_pid = (b & 0x40) ? FUZZ_NOPID : 0;
	if (b & 0x80)
		in_bytes(in, vmr.vmr_ttyname, sizeof(vmr.vmr_ttyname));
	if (imsg_compose(&vmmbuf, vtypes[b % nitems(vtypes)],
	    in_u8(in) % 4, 0, -1, &vmr, (b & 0x20) ? 3 : sizeof(vmr)) == -1 ||
	    imsgbuf_flush(&vmmbuf) == -1)
		abort();
}

static void
fuzz_reset(void)
{
	struct vmd_vm		*vm;
	struct vmd_switch	*sw;
	struct name2id		*n2i;

	while ((vm = TAILQ_FIRST(&env->vms)) != NULL)
		vm_remove(vm);
	while ((n2i = TAILQ_FIRST(&env->known)) != NULL) {
		TAILQ_REMOVE(&env->known, n2i, entry);
		free(n2i);
	}
	while ((sw = TAILQ_FIRST(&env->switches)) != NULL) {
		TAILQ_REMOVE(&env->switches, sw, sw_entry);
		free(sw->sw_name);
		free(sw->sw_group);
		free(sw);
	}
	if (env->initrd_fd != -1)
		close(env->initrd_fd);
	env->initrd_fd = -1;
	env->nextid = 0;
	if (vmd_load(FUZZ_CONF, 1) == -1)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 ready;
	static uint8_t		 buf[IMSG_MAXSIZE_LIMIT];
	struct fuzz_in		 in = { data, size };
	unsigned int		 steps, sent = 0;
	uint32_t		 type;
	size_t			 len;
	uint8_t			 op;
	int			 k, fd;

	if (!ready) {
		fuzz_setup();
		basefds = nfds();
		ready = 1;
	}
	fuzz_reset();
	client_connect(0, 0);
	client_connect(1, FUZZ_UID);
	answers = 0;

	for (steps = 0; in.left > 0 && steps < 256; steps++) {
		op = in_u8(&in);
		k = op & 1;
		switch ((op >> 1) & 3) {
		case 0:
		case 1:
			/* a request from client k */
			if (conns[k] == NULL)
				break;
			type = types[(op >> 3) % nitems(types)];
			len = payload(&in, type, buf, sizeof(buf));
			fd = (op & 0x80) ? dup(nullfd) : -1;
			/* no frame can be longer: the header's length is u16 */
			len = MINIMUM(len, IMSG_MAXSIZE_LIMIT - IMSG_HEADER_SIZE);
			if (imsg_compose(&cli[k], type, (op & 0x04) &&
			    (op & 0x40) ? 7 : VMD_PROTOCOL_VERSION, 0, fd, buf,
			    len) == -1)
				abort();
			sent++;
			break;
		case 2:
			vmm_answer(&in);
			break;
		case 3:
			/* a client hangs up, or another comes */
			if (conns[k] != NULL)
				client_close(k);
			else
				client_connect(k, k ? FUZZ_UID : 0);
			break;
		}
		pump();
	}
	pump();
	for (k = 0; k < FUZZ_NCLIENTS; k++)
		client_close(k);
	pump();
	fuzz_reset();
	if (env->initrd_fd != -1)
		close(env->initrd_fd);
	env->initrd_fd = -1;
	if (nfds() != basefds)
		abort();	/* a descriptor was lost */
	return (0);
}
