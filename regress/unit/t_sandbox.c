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
 * Each process's sandbox, proved by trying what it forbids: a child
 * becomes the process (the same privilege drop and sandbox_drop() call
 * vmd makes) and tries one act; the act is refused when the child dies
 * of SIGSYS or gets the error the sandbox gives.  Every role also does
 * what it needs to, so that an allowlist that is too tight fails here
 * and not in a guest.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/capability.h>
#include <linux/sockios.h>
#include <net/if.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "compat.h"
#include "proc.h"
#include "vmm.h"
#include "tap.h"

#define USER		"nobody"	/* exists on any Debian system */

/* what the child's act came to */
enum outcome {
	DONE,		/* the act succeeded */
	REFUSED,	/* an error (EPERM, EACCES, ...) */
	KILLED,		/* SIGSYS: the seccomp filter */
	OTHER,		/* anything else: a test bug */
};

static const char *outname[] = { "done", "refused", "killed", "other" };

static int	kvmfd = -1;

/* Become role as vmd's processes do. */
static void
become(enum sandbox_role role)
{
	const unsigned long	*reqs;
	size_t			 n;

	switch (role) {
	case SANDBOX_CONTROL:
		proc_drop_privileges(USER, "/var/empty", 0);
		break;
	case SANDBOX_PRIV:
		proc_drop_privileges(USER, NULL, 1ULL << CAP_NET_ADMIN);
		break;
	case SANDBOX_VMM:
		proc_drop_privileges(USER, NULL, 0);
		reqs = vmm_sandbox_ioctls(1, &n);
		sandbox_ioctls(reqs, n);
		break;
	case SANDBOX_VM_SETUP:
		reqs = vmm_sandbox_ioctls(1, &n);
		sandbox_ioctls(reqs, n);
		break;
	case SANDBOX_VM:
		/* as vm.c: the set-up sandbox first, then the running one */
		reqs = vmm_sandbox_ioctls(1, &n);
		sandbox_ioctls(reqs, n);
		if (sandbox_drop(SANDBOX_VM_SETUP) == -1)
			_exit(99);
		reqs = vmm_sandbox_ioctls(0, &n);
		sandbox_ioctls(reqs, n);
		break;
	}
	if (sandbox_drop(role) == -1)
		_exit(99);
}

static void *
thread_noop(void *arg)
{
	return (arg);
}

#define NMALLOC	16
static pthread_barrier_t	 mbar;

/* malloc in a thread while NMALLOC - 1 others have their own arenas */
static void *
thread_malloc(void *arg)
{
	void	*p;

	(void)arg;
	pthread_barrier_wait(&mbar);
	p = malloc(64);
	pthread_barrier_wait(&mbar);
	free(p);
	return (p == NULL ? arg : NULL);
}

/* One act, in the sandbox; its exit status is 0 on success. */
static int
act(const char *what)
{
	struct ifreq	 ifr;
	pthread_t	 t;
	char		 buf[16];
	void		*p;
	int		 fd, status;
	pid_t		 pid;

	if (strcmp(what, "nothing") == 0)
		return (0);
	if (strcmp(what, "thread") == 0) {
		if (pthread_create(&t, NULL, thread_noop, NULL) != 0)
			return (1);
		return (pthread_join(t, NULL) != 0);
	}
	if (strcmp(what, "threads-malloc") == 0) {
		pthread_t	ts[NMALLOC];
		int		i, bad = 0;

		if (pthread_barrier_init(&mbar, NULL, NMALLOC) != 0)
			return (97);
		for (i = 0; i < NMALLOC; i++)
			if (pthread_create(&ts[i], NULL, thread_malloc,
			    &mbar) != 0)
				return (1);
		for (i = 0; i < NMALLOC; i++)
			if (pthread_join(ts[i], &p) != 0 || p != NULL)
				bad = 1;
		return (bad);
	}
	if (strcmp(what, "fork") == 0) {
		if ((pid = fork()) == -1)
			return (1);
		if (pid == 0)
			_exit(0);
		return (waitpid(pid, &status, 0) != pid || status != 0);
	}
	if (strcmp(what, "newuserns") == 0)
		return (unshare(CLONE_NEWUSER) == -1);
	if (strcmp(what, "clone-newpid") == 0)
		return (syscall(SYS_clone, CLONE_NEWPID | SIGCHLD, 0, 0, 0,
		    0) == -1);
	if (strcmp(what, "kill-parent") == 0)
		return (kill(getppid(), 0) == -1);
	if (strcmp(what, "tgkill-parent") == 0)
		return (syscall(SYS_tgkill, getppid(), getppid(), 0) == -1);
	if (strcmp(what, "tgkill-self") == 0)
		return (syscall(SYS_tgkill, getpid(), gettid(), 0) == -1);
	if (strcmp(what, "ptrace-parent") == 0)
		return (ptrace(PTRACE_ATTACH, getppid(), 0, 0) == -1);
	if (strcmp(what, "open-read") == 0)
		return ((fd = open("/etc/passwd", O_RDONLY)) == -1 ||
		    read(fd, buf, 1) < 0);
	if (strcmp(what, "open-write") == 0)
		return (open("/tmp/t_sandbox.w", O_WRONLY | O_CREAT,
		    0600) == -1);
	if (strcmp(what, "open-rdwr") == 0)
		return (open("/dev/null", O_RDWR) == -1);
	if (strcmp(what, "execve") == 0) {
		char *const argv[] = { "true", NULL };

		execv("/bin/true", argv);
		return (1);
	}
	if (strcmp(what, "fexecve") == 0) {
		char *const argv[] = { "true", NULL };

		if ((fd = open("/bin/true", O_RDONLY | O_CLOEXEC)) == -1)
			return (1);
		fexecve(fd, argv, environ);
		return (1);
	}
	if (strcmp(what, "mount") == 0)
		return (mount("none", "/tmp", "tmpfs", 0, NULL) == -1);
	if (strcmp(what, "inet-socket") == 0)
		return (socket(AF_INET, SOCK_STREAM, 0) == -1);
	if (strcmp(what, "inet-dgram") == 0)
		return (socket(AF_INET, SOCK_DGRAM, 0) == -1);
	if (strcmp(what, "packet-socket") == 0)
		return (socket(AF_PACKET, SOCK_RAW, 0) == -1);
	if (strcmp(what, "netlink-socket") == 0)
		return (socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, 0) == -1);
	if (strcmp(what, "unix-stream") == 0)
		return (socket(AF_UNIX, SOCK_STREAM, 0) == -1);
	if (strcmp(what, "unix-dgram") == 0)
		return (socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0) == -1);
	if (strcmp(what, "ifindex") == 0)
		return (if_nametoindex("lo") == 0);
	if (strcmp(what, "ifflags") == 0) {
		if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1)
			return (1);
		memset(&ifr, 0, sizeof(ifr));
		strlcpy(ifr.ifr_name, "lo", sizeof(ifr.ifr_name));
		return (ioctl(fd, SIOCSIFFLAGS, &ifr) == -1);
	}
	if (strcmp(what, "tiocsti") == 0) {
		char c = 'x';

		return (ioctl(0, TIOCSTI, &c) == -1);
	}
	if (strcmp(what, "kvm-check") == 0)
		return (ioctl(kvmfd, 0xae03 /* KVM_CHECK_EXTENSION */, 0) < 0);
	if (strcmp(what, "kvm-create") == 0)
		return (ioctl(kvmfd, 0xae01 /* KVM_CREATE_VM */, 0) < 0);
	if (strcmp(what, "mmap-exec") == 0)
		return (mmap(NULL, 4096, PROT_READ | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED);
	if (strcmp(what, "mmap-rw") == 0)
		return (mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0) == MAP_FAILED);
	if (strcmp(what, "mprotect-exec") == 0) {
		if ((p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)) == MAP_FAILED)
			return (1);
		return (mprotect(p, 4096, PROT_READ | PROT_EXEC) == -1);
	}
	if (strcmp(what, "dumpable") == 0)
		return (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == -1);
	if (strcmp(what, "setuid-root") == 0)
		return (setuid(0) == -1);
	if (strcmp(what, "stat-path") == 0) {
		struct stat st;

		return (stat("/etc/passwd", &st) == -1);
	}
	if (strcmp(what, "chroot") == 0)
		return (chroot("/") == -1);
	if (strcmp(what, "bpf") == 0)
		return (syscall(SYS_bpf, 0, NULL, 0) == -1);
	if (strcmp(what, "keyctl") == 0)
		return (syscall(SYS_keyctl, 0, 0, 0, 0, 0) == -1);
	fprintf(stderr, "unknown act %s\n", what);
	return (98);
}

static enum outcome
try(enum sandbox_role role, const char *what)
{
	pid_t	pid;
	int	status;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return (OTHER);
	if (pid == 0) {
		become(role);
		_exit(act(what));
	}
	if (waitpid(pid, &status, 0) != pid)
		return (OTHER);
	if (WIFSIGNALED(status))
		return (WTERMSIG(status) == SIGSYS ? KILLED : OTHER);
	switch (WEXITSTATUS(status)) {
	case 0:
		return (DONE);
	case 1:
		return (REFUSED);
	default:
		return (OTHER);
	}
}

static void
expect(enum sandbox_role role, const char *rname, const char *what,
    enum outcome want)
{
	enum outcome	got = try(role, what);

	check(got == want, "%s: %s: %s (got %s)", rname, what,
	    outname[want], outname[got]);
}

/* Landlock alone (seccomp would refuse the same acts first). */
static void
landlock_case(enum sandbox_role role, const char *rname, const char *what,
    enum outcome want)
{
	enum outcome	got;
	pid_t		pid;
	int		status;

	fflush(stdout);
	if ((pid = fork()) == -1)
		return;
	if (pid == 0) {
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
		    sandbox_landlock(role) == -1)
			_exit(99);
		_exit(act(what));
	}
	got = OTHER;
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		got = WEXITSTATUS(status) == 0 ? DONE :
		    WEXITSTATUS(status) == 1 ? REFUSED : OTHER;
	check(got == want, "landlock %s: %s: %s (got %s)", rname, what,
	    outname[want], outname[got]);
}

/*
 * A refused call, named: its number reaches the note descriptor (vmm
 * logs it) and the process dies of SIGSYS, or, as the first process of
 * a pid namespace, which ignores its own signals, exits with 128 + it.
 */
static void
note_case(int ownns)
{
	char	 name[32] = "none";
	int	 np[2], nr = -1, status, died = 0;
	pid_t	 pid, outer;

	fflush(stdout);
	if (pipe(np) == -1 || (outer = fork()) == -1) {
		check(0, "note: pipe, fork");
		return;
	}
	if (outer == 0) {
		close(np[0]);
		if (ownns && unshare(CLONE_NEWPID) == -1)
			_exit(97);
		if ((pid = fork()) == -1)
			_exit(97);
		if (pid == 0) {
			if (ownns && getpid() != 1)
				_exit(96);
			sandbox_note(np[1]);
			become(SANDBOX_VM);
			_exit(act("open-read"));
		}
		if (waitpid(pid, &status, 0) != pid)
			_exit(97);
		if (WIFSIGNALED(status))
			_exit(WTERMSIG(status) == SIGSYS ? 2 : 95);
		_exit(WEXITSTATUS(status) == 128 + SIGSYS ? 3 : 94);
	}
	close(np[1]);
	if (waitpid(outer, &status, 0) == outer && WIFEXITED(status))
		died = WEXITSTATUS(status);
	if (read(np[0], &nr, sizeof(nr)) == (ssize_t)sizeof(nr))
		sandbox_syscall_name(nr, name, sizeof(name));
	close(np[0]);
	check(died == (ownns ? 3 : 2) && strcmp(name, "openat") == 0,
	    "vm%s: a refused call is named (%s) and %s", ownns ?
	    " as pid 1" : "", name, ownns ? "it exits 159" :
	    "it dies of SIGSYS");
}

int
main(void)
{
	struct {
		const char	*what;
		enum outcome	 control, priv, vmm, vm;
	} cases[] = {
		/* what each needs */
		{ "nothing",	 DONE,	  DONE,	   DONE,    DONE },
		{ "mmap-rw",	 DONE,	  DONE,	   DONE,    DONE },
		{ "tgkill-self", DONE,	  DONE,	   DONE,    DONE },
		{ "thread",	 KILLED,  KILLED,  DONE,    DONE },
		{ "threads-malloc", KILLED, KILLED, DONE,   DONE },
		{ "fork",	 KILLED,  KILLED,  DONE,    KILLED },
		{ "open-read",	 KILLED,  KILLED,  DONE,    KILLED },
		{ "fexecve",	 KILLED,  KILLED,  DONE,    KILLED },
		{ "kvm-check",	 KILLED,  KILLED,  DONE,    DONE },
		{ "netlink-socket", KILLED, DONE,  KILLED,  KILLED },
		{ "ifindex",	 KILLED,  DONE,	   KILLED,  KILLED },
		{ "unix-dgram",	 KILLED,  DONE,	   DONE,    DONE },
		/* what none may do */
		{ "kvm-create",	 KILLED,  KILLED,  DONE,    KILLED },
		{ "newuserns",	 KILLED,  KILLED,  KILLED,  KILLED },
		{ "clone-newpid", KILLED, KILLED,  KILLED,  KILLED },
		{ "kill-parent", KILLED,  KILLED,  REFUSED, KILLED },
		{ "tgkill-parent", KILLED, KILLED, REFUSED, KILLED },
		{ "ptrace-parent", KILLED, KILLED, KILLED,  KILLED },
		{ "open-write",	 KILLED,  KILLED,  KILLED,  KILLED },
		{ "open-rdwr",	 KILLED,  KILLED,  KILLED,  KILLED },
		{ "execve",	 KILLED,  KILLED,  KILLED,  KILLED },
		{ "mount",	 KILLED,  KILLED,  KILLED,  KILLED },
		{ "inet-socket", KILLED,  KILLED,  KILLED,  KILLED },
		{ "inet-dgram",	 KILLED,  KILLED,  KILLED,  KILLED },
		{ "packet-socket", KILLED, KILLED, KILLED,  KILLED },
		{ "unix-stream", KILLED,  KILLED,  KILLED,  KILLED },
		{ "ifflags",	 KILLED,  KILLED,  KILLED,  KILLED },
		{ "tiocsti",	 KILLED,  KILLED,  KILLED,  KILLED },
		{ "mmap-exec",	 KILLED,  KILLED,  DONE,    KILLED },
		{ "mprotect-exec", KILLED, KILLED, DONE,    KILLED },
		{ "dumpable",	 KILLED,  KILLED,  DONE,    KILLED },
		{ "setuid-root", KILLED,  KILLED,  KILLED,  KILLED },
		{ "stat-path",	 KILLED,  KILLED,  DONE,    KILLED },
		{ "bpf",	 KILLED,  KILLED,  KILLED,  KILLED },
		{ "keyctl",	 KILLED,  KILLED,  KILLED,  KILLED },
		{ "chroot",	 KILLED,  KILLED,  REFUSED, KILLED },
	};
	struct {
		const char	*what;
		enum outcome	 want;
	} setup[] = {
		{ "nothing", DONE }, { "thread", DONE }, { "kvm-check", DONE },
		{ "threads-malloc", DONE },
		{ "kvm-create", DONE }, { "unix-dgram", DONE },
		{ "fork", KILLED }, { "open-read", KILLED },
		{ "execve", KILLED }, { "fexecve", KILLED },
		{ "inet-socket", KILLED }, { "kill-parent", KILLED },
		{ "mmap-exec", KILLED }, { "dumpable", KILLED },
		{ "chroot", KILLED }, { "newuserns", KILLED },
	};
	size_t	i;

	if (geteuid() != 0) {
		printf("ok - t_sandbox # SKIP needs root\n");
		return (0);
	}
	if (getpwnam(USER) == NULL) {
		printf("not ok - no user %s\n", USER);
		return (1);
	}
	if (mkdir("/var/empty", 0755) == -1 && errno != EEXIST) {
		printf("not ok - mkdir /var/empty\n");
		return (1);
	}
	if ((kvmfd = open("/dev/kvm", O_RDWR | O_CLOEXEC)) == -1) {
		printf("not ok - /dev/kvm: %s\n", strerror(errno));
		return (1);
	}
	for (i = 0; i < nitems(cases); i++) {
		expect(SANDBOX_CONTROL, "control", cases[i].what,
		    cases[i].control);
		expect(SANDBOX_PRIV, "priv", cases[i].what, cases[i].priv);
		expect(SANDBOX_VMM, "vmm", cases[i].what, cases[i].vmm);
		expect(SANDBOX_VM, "vm", cases[i].what, cases[i].vm);
	}

	/* the VM process while it builds its machine */
	for (i = 0; i < nitems(setup); i++)
		expect(SANDBOX_VM_SETUP, "vm setup", setup[i].what,
		    setup[i].want);

	note_case(0);
	note_case(1);

	/* Landlock, where this kernel has it */
	if (sandbox_landlock_abi() == 0) {
		printf("ok - landlock # SKIP this kernel has no Landlock\n");
		return (failed);
	}
	landlock_case(SANDBOX_VM, "vm", "open-read", REFUSED);
	landlock_case(SANDBOX_VM, "vm", "open-rdwr", REFUSED);
	landlock_case(SANDBOX_CONTROL, "control", "open-read", REFUSED);
	landlock_case(SANDBOX_PRIV, "priv", "open-read", REFUSED);
	landlock_case(SANDBOX_VMM, "vmm", "open-read", DONE);
	landlock_case(SANDBOX_VMM, "vmm", "fexecve", DONE);
	landlock_case(SANDBOX_VMM, "vmm", "open-write", REFUSED);
	landlock_case(SANDBOX_VMM, "vmm", "open-rdwr", REFUSED);
	if (sandbox_landlock_abi() >= 6)
		landlock_case(SANDBOX_VM, "vm", "kill-parent", REFUSED);
	else
		printf("ok - landlock signal scope # SKIP Landlock ABI %d "
		    "< 6\n", sandbox_landlock_abi());
	landlock_case(SANDBOX_VM, "vm", "tgkill-self", DONE);
	return (failed);
}
