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
 * What pledge(2) and unveil(2) are on OpenBSD: for each process a
 * seccomp allowlist with argument filters, a Landlock domain where the
 * kernel has Landlock, no_new_privs, no core dumps or ptrace by other
 * processes of the same user, and the capabilities it needs and no more.
 *
 * Every filter is applied to all threads of the process (TSYNC): the VM
 * process has device threads before it enters its sandbox.  A refused
 * system call is not made: the thread gets SIGSYS (SECCOMP_RET_TRAP),
 * whose handler writes the call's number to the process's note
 * descriptor, if it has one (a VM process: a pipe that vmm reads when it
 * reaps it, and logs), and the whole process dies of SIGSYS.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include <linux/capability.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "compat.h"

/* Landlock's ABI, spelled here: Debian 12's headers stop at version 2 */
#define LL_CREATE_RULESET_VERSION	(1U << 0)
#define LL_RULE_PATH_BENEATH		1
#define LL_FS_EXECUTE			(1ULL << 0)
#define LL_FS_WRITE_FILE		(1ULL << 1)
#define LL_FS_READ_FILE			(1ULL << 2)
#define LL_FS_READ_DIR			(1ULL << 3)
#define LL_FS_ALL_V1			((1ULL << 13) - 1)
#define LL_FS_REFER			(1ULL << 13)	/* ABI 2 */
#define LL_FS_TRUNCATE			(1ULL << 14)	/* ABI 3 */
#define LL_FS_IOCTL_DEV			(1ULL << 15)	/* ABI 5 */
#define LL_NET_BIND_TCP			(1ULL << 0)	/* ABI 4 */
#define LL_NET_CONNECT_TCP		(1ULL << 1)
#define LL_SCOPE_ABSTRACT_UNIX		(1ULL << 0)	/* ABI 6 */
#define LL_SCOPE_SIGNAL			(1ULL << 1)

struct ll_ruleset_attr {
	uint64_t	handled_access_fs;
	uint64_t	handled_access_net;
	uint64_t	scoped;
};

struct ll_path_beneath_attr {
	uint64_t	allowed_access;
	int32_t		parent_fd;
} __attribute__((packed));

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset	444
#define SYS_landlock_add_rule		445
#define SYS_landlock_restrict_self	446
#endif

static const unsigned long	*sb_ioctls;
static size_t			 sb_nioctls;
static int			 sb_notefd = -1;

/* every process in a sandbox: memory, time, signals to itself, events */
static const int base_calls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(close), SCMP_SYS(lseek), SCMP_SYS(fcntl),
	SCMP_SYS(brk), SCMP_SYS(munmap), SCMP_SYS(madvise), SCMP_SYS(mremap),
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(restart_syscall), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getppid),
	SCMP_SYS(getuid), SCMP_SYS(geteuid), SCMP_SYS(getgid),
	SCMP_SYS(getegid), SCMP_SYS(getrandom), SCMP_SYS(uname),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_getres),
	SCMP_SYS(clock_nanosleep), SCMP_SYS(nanosleep),
	SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(eventfd2), SCMP_SYS(pipe2), SCMP_SYS(timerfd_create),
	SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime),
	SCMP_SYS(sendmsg), SCMP_SYS(recvmsg),
	SCMP_SYS(sched_yield), SCMP_SYS(sched_getaffinity),
	SCMP_SYS(getrlimit),
};

/* control: its listening socket and its clients */
static const int control_calls[] = {
	SCMP_SYS(accept4), SCMP_SYS(getsockopt), SCMP_SYS(shutdown),
};

/* priv: netlink, and the ioctl if_nametoindex(3) makes */
static const int priv_calls[] = {
	SCMP_SYS(bind), SCMP_SYS(getsockname), SCMP_SYS(setsockopt),
	SCMP_SYS(sendto), SCMP_SYS(recvfrom),
};

/* the VM process once its guest runs: descriptors it was given */
static const int vm_calls[] = {
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv),
	SCMP_SYS(pwritev), SCMP_SYS(preadv2), SCMP_SYS(pwritev2),
	SCMP_SYS(fdatasync), SCMP_SYS(fsync), SCMP_SYS(fallocate),
	SCMP_SYS(ftruncate), SCMP_SYS(sendto), SCMP_SYS(connect),
};

/*
 * vmm, and what a VM process it execs needs until it enters its own
 * sandbox (the filter is inherited across execve): the dynamic loader,
 * the disk and kernel parsers, KVM's set-up, threads, the sandbox calls.
 */
static const int vmm_calls[] = {
	SCMP_SYS(wait4), SCMP_SYS(waitid), SCMP_SYS(kill),
	SCMP_SYS(socketpair), SCMP_SYS(dup), SCMP_SYS(dup2), SCMP_SYS(dup3),
	SCMP_SYS(arch_prctl), SCMP_SYS(set_tid_address), SCMP_SYS(access),
	SCMP_SYS(faccessat), SCMP_SYS(faccessat2), SCMP_SYS(readlink),
	SCMP_SYS(fstat), SCMP_SYS(newfstatat), SCMP_SYS(statx),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv),
	SCMP_SYS(pwritev), SCMP_SYS(preadv2), SCMP_SYS(pwritev2),
	SCMP_SYS(fdatasync), SCMP_SYS(fsync), SCMP_SYS(fallocate),
	SCMP_SYS(ftruncate), SCMP_SYS(mmap), SCMP_SYS(mprotect),
	SCMP_SYS(prctl), SCMP_SYS(seccomp), SCMP_SYS(setrlimit),
	SCMP_SYS(prlimit64), SCMP_SYS(sendto), SCMP_SYS(connect),
	SCMP_SYS(landlock_create_ruleset), SCMP_SYS(landlock_add_rule),
	SCMP_SYS(landlock_restrict_self), SCMP_SYS(capget),
	SCMP_SYS(capset), SCMP_SYS(chroot), SCMP_SYS(chdir),
	SCMP_SYS(tgkill), SCMP_SYS(close_range),
};

/*
 * what building the machine needs besides (SANDBOX_VM_SETUP); statx for
 * a direct disk's alignment, in a mount namespace with nothing to name
 */
static const int setup_calls[] = {
	SCMP_SYS(seccomp), SCMP_SYS(landlock_create_ruleset),
	SCMP_SYS(landlock_add_rule), SCMP_SYS(landlock_restrict_self),
	SCMP_SYS(setrlimit), SCMP_SYS(statx),
};

static const unsigned long setup_ioctls[] = {
	BLKGETSIZE64, BLKSSZGET,
};

/* the terminal requests on a console pty */
static const unsigned long tty_ioctls[] = {
	TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, FIONBIO, FIONREAD,
};

static int
sb_allow(scmp_filter_ctx ctx, const int *calls, size_t n)
{
	size_t	i;
	int	rc;

	for (i = 0; i < n; i++) {
		if (calls[i] < 0)
			continue;	/* not on this architecture */
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i],
		    0)) < 0)
			return (rc);
	}
	return (0);
}

static int
sb_ioctl(scmp_filter_ctx ctx, const unsigned long *reqs, size_t n)
{
	size_t	i;
	int	rc;

	/* the kernel looks at the low 32 bits of the request only */
	for (i = 0; i < n; i++)
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(ioctl),
		    1, SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL,
		    reqs[i] & 0xffffffffUL))) < 0)
			return (rc);
	return (0);
}

/* mmap and mprotect, never of executable memory */
static int
sb_noexec(scmp_filter_ctx ctx)
{
	int	rc;

	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mmap), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0))) < 0)
		return (rc);
	return (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(mprotect), 1,
	    SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC, 0)));
}

/* the namespaces a clone(2) may make */
#define SB_NS	(CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | \
	CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWCGROUP)

/* clone(2) whose flags, under mask, are want */
static int
sb_clone(scmp_filter_ctx ctx, scmp_datum_t mask, scmp_datum_t want)
{
	return (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
	    SCMP_A0(SCMP_CMP_MASKED_EQ, mask, want)));
}

/* clone3(2) hides its flags from seccomp: glibc falls back to clone */
static int
sb_noclone3(scmp_filter_ctx ctx)
{
	return (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3),
	    0));
}

/* threads only: no fork, no new namespaces */
static int
sb_threads(scmp_filter_ctx ctx)
{
	int	rc;

	if ((rc = sb_clone(ctx, CLONE_THREAD | SB_NS, CLONE_THREAD)) < 0)
		return (rc);
	return (sb_noclone3(ctx));
}

/*
 * threads, and forks (vmm starting a VM process) with no new namespaces
 * or with the VM process's own set (sandbox_fork_vm)
 */
static int
sb_fork(scmp_filter_ctx ctx)
{
	int	rc;

	if ((rc = sb_clone(ctx, CLONE_THREAD | SB_NS, CLONE_THREAD)) < 0 ||
	    (rc = sb_clone(ctx, CLONE_THREAD | SB_NS, 0)) < 0 ||
	    (rc = sb_clone(ctx, CLONE_THREAD | SB_NS, SANDBOX_VM_NS)) < 0)
		return (rc);
	return (sb_noclone3(ctx));
}

/* signals and resource limits: this process only */
static int
sb_self(scmp_filter_ctx ctx)
{
	pid_t	pid = getpid();
	int	rc;

	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(tgkill), 1,
	    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)pid, 0))) < 0)
		return (rc);
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 1,
	    SCMP_A0(SCMP_CMP_EQ, 0, 0))) < 0)
		return (rc);
	/* fstat(3) is fstatat(fd, "", AT_EMPTY_PATH): no path lookups */
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(fstat),
	    0)) < 0)
		return (rc);
	if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(newfstatat),
	    1, SCMP_A3(SCMP_CMP_MASKED_EQ, AT_EMPTY_PATH, AT_EMPTY_PATH))) < 0)
		return (rc);
	return (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
	    SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME, 0)));
}

static int
sb_socket(scmp_filter_ctx ctx, int family, int type)
{
	return (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(socket), 2,
	    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)family, 0),
	    SCMP_A1(SCMP_CMP_MASKED_EQ, ~(scmp_datum_t)(SOCK_CLOEXEC |
	    SOCK_NONBLOCK), (scmp_datum_t)type)));
}

static int
sb_seccomp(enum sandbox_role role)
{
	static const unsigned long priv_ioctls[] = {
		SIOCGIFINDEX, SIOCGIFNAME,
	};
	static const unsigned long vm_ioctls[] = {
		TUNSETOFFLOAD,
	};
	scmp_filter_ctx	 ctx;
	int		 rc;

	if ((ctx = seccomp_init(SCMP_ACT_TRAP)) == NULL)
		return (-ENOMEM);
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1)) < 0 ||
	    (rc = sb_allow(ctx, base_calls, nitems(base_calls))) < 0)
		goto out;
	switch (role) {
	case SANDBOX_CONTROL:
		if ((rc = sb_allow(ctx, control_calls,
		    nitems(control_calls))) < 0 ||
		    (rc = sb_self(ctx)) < 0 ||
		    (rc = sb_noexec(ctx)) < 0)
			goto out;
		break;
	case SANDBOX_PRIV:
		if ((rc = sb_allow(ctx, priv_calls, nitems(priv_calls))) < 0 ||
		    (rc = sb_self(ctx)) < 0 ||
		    (rc = sb_noexec(ctx)) < 0 ||
		    (rc = sb_ioctl(ctx, priv_ioctls,
		    nitems(priv_ioctls))) < 0 ||
		    (rc = sb_socket(ctx, AF_NETLINK, SOCK_RAW)) < 0 ||
		    (rc = sb_socket(ctx, AF_UNIX, SOCK_DGRAM)) < 0)
			goto out;
		break;
	case SANDBOX_VMM:
		/*
		 * Wider than the others: the VM process it execs runs the
		 * loader and builds its machine under this filter.  Still
		 * no sockets but syslog's, no opening for writing, no exec
		 * but of our own binary through its descriptor, no
		 * namespaces, no ptrace, no mounts, no module or key calls.
		 */
		if ((rc = sb_allow(ctx, vmm_calls, nitems(vmm_calls))) < 0 ||
		    (rc = sb_fork(ctx)) < 0 ||
		    (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(openat), 1, SCMP_A2(SCMP_CMP_MASKED_EQ,
		    O_ACCMODE | O_CREAT | O_TRUNC, O_RDONLY))) < 0 ||
		    (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(execveat), 1, SCMP_A4(SCMP_CMP_EQ,
		    AT_EMPTY_PATH, 0))) < 0 ||
		    (rc = sb_socket(ctx, AF_UNIX, SOCK_DGRAM)) < 0 ||
		    (rc = sb_ioctl(ctx, tty_ioctls, nitems(tty_ioctls))) < 0 ||
		    (rc = sb_ioctl(ctx, vm_ioctls, nitems(vm_ioctls))) < 0 ||
		    (rc = sb_ioctl(ctx, sb_ioctls, sb_nioctls)) < 0)
			goto out;
		break;
	case SANDBOX_VM_SETUP:
		/*
		 * The VM process while it builds its machine: what it will
		 * have running, and KVM's set-up requests, the size of a
		 * block device, and the calls of its final sandbox.  The
		 * kernel, initrd, disk images and a received stream are
		 * parsed under this filter.
		 */
		if ((rc = sb_ioctl(ctx, setup_ioctls,
		    nitems(setup_ioctls))) < 0 ||
		    (rc = sb_allow(ctx, setup_calls,
		    nitems(setup_calls))) < 0 ||
		    (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(prctl), 1, SCMP_A0(SCMP_CMP_EQ,
		    PR_SET_NO_NEW_PRIVS, 0))) < 0 ||
		    (rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW,
		    SCMP_SYS(prctl), 2, SCMP_A0(SCMP_CMP_EQ,
		    PR_SET_DUMPABLE, 0), SCMP_A1(SCMP_CMP_EQ, 0, 0))) < 0)
			goto out;
		/* FALLTHROUGH */
	case SANDBOX_VM:
		/*
		 * syslog(3) may have to connect again to /dev/log: a
		 * datagram UNIX socket, nothing else (and in the VM's empty
		 * file system there is no path to connect to).
		 */
		if ((rc = sb_allow(ctx, vm_calls, nitems(vm_calls))) < 0 ||
		    (rc = sb_self(ctx)) < 0 ||
		    (rc = sb_noexec(ctx)) < 0 ||
		    (rc = sb_threads(ctx)) < 0 ||
		    (rc = sb_socket(ctx, AF_UNIX, SOCK_DGRAM)) < 0 ||
		    (rc = sb_ioctl(ctx, tty_ioctls, nitems(tty_ioctls))) < 0 ||
		    (rc = sb_ioctl(ctx, vm_ioctls, nitems(vm_ioctls))) < 0 ||
		    (rc = sb_ioctl(ctx, sb_ioctls, sb_nioctls)) < 0)
			goto out;
		break;
	}
	rc = seccomp_load(ctx);
 out:
	seccomp_release(ctx);
	return (rc < 0 ? rc : 0);
}

/*
 * Landlock: the version this kernel speaks, 0 if none (disabled at boot
 * or too old a kernel).
 */
int
sandbox_landlock_abi(void)
{
	long	abi;

	abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LL_CREATE_RULESET_VERSION);
	return (abi < 0 ? 0 : (int)abi);
}

/* The Landlock half of sandbox_drop(), alone for the tests. */
int
sandbox_landlock(enum sandbox_role role)
{
	struct ll_ruleset_attr		attr;
	struct ll_path_beneath_attr	pb;
	size_t				len;
	int				abi, fd, saved;

	if ((abi = sandbox_landlock_abi()) == 0)
		return (0);	/* the parent said so in its log */
	memset(&attr, 0, sizeof(attr));
	attr.handled_access_fs = LL_FS_ALL_V1;
	if (abi >= 2)
		attr.handled_access_fs |= LL_FS_REFER;
	if (abi >= 3)
		attr.handled_access_fs |= LL_FS_TRUNCATE;
	if (abi >= 5)
		attr.handled_access_fs |= LL_FS_IOCTL_DEV;
	len = offsetof(struct ll_ruleset_attr, handled_access_net);
	if (abi >= 4) {
		/* no process of ours speaks TCP */
		attr.handled_access_net = LL_NET_BIND_TCP | LL_NET_CONNECT_TCP;
		len = offsetof(struct ll_ruleset_attr, scoped);
	}
	if (abi >= 6) {
		/*
		 * No signals to processes outside this domain (vmm's VM
		 * processes are in domains nested in its own), no abstract
		 * UNIX sockets outside it.
		 */
		attr.scoped = LL_SCOPE_ABSTRACT_UNIX | LL_SCOPE_SIGNAL;
		len = sizeof(attr);
	}
	if ((fd = syscall(SYS_landlock_create_ruleset, &attr, len, 0)) == -1)
		return (-1);
	if (role == SANDBOX_VMM) {
		/* it reads and executes (the VM processes), writes nothing */
		memset(&pb, 0, sizeof(pb));
		pb.allowed_access = LL_FS_EXECUTE | LL_FS_READ_FILE |
		    LL_FS_READ_DIR;
		if ((pb.parent_fd = open("/", O_PATH | O_CLOEXEC)) == -1 ||
		    syscall(SYS_landlock_add_rule, fd, LL_RULE_PATH_BENEATH,
		    &pb, 0) == -1) {
			saved = errno;
			if (pb.parent_fd != -1)
				close(pb.parent_fd);
			close(fd);
			errno = saved;
			return (-1);
		}
		close(pb.parent_fd);
	}
	/* control, priv and the VM process: no file system at all */
	if (syscall(SYS_landlock_restrict_self, fd, 0) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return (-1);
	}
	close(fd);
	return (0);
}

/* The ioctl requests (KVM's) the VMM and VM sandboxes allow besides theirs. */
void
sandbox_ioctls(const unsigned long *reqs, size_t n)
{
	sb_ioctls = reqs;
	sb_nioctls = n;
}

/*
 * Keep only the capabilities in keep (bits of CAP_*) in the bounding
 * set, so that no exec can give more back (needs CAP_SETPCAP).
 */
int
sandbox_capbset(uint64_t keep)
{
	int	cap;

	for (cap = 0; cap <= 63; cap++) {
		if (keep & (1ULL << cap))
			continue;
		if (prctl(PR_CAPBSET_READ, cap, 0, 0, 0) != 1)
			continue;	/* unknown to this kernel, or gone */
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == -1)
			return (-1);
	}
	return (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) ==
	    -1 && errno != EINVAL ? -1 : 0);
}

/* The same, and only those in every set of this process. */
int
sandbox_caps(uint64_t keep)
{
	struct __user_cap_header_struct	hdr;
	struct __user_cap_data_struct	data[2];

	if (sandbox_capbset(keep) == -1)
		return (-1);
	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	data[0].effective = data[0].permitted = (uint32_t)keep;
	data[1].effective = data[1].permitted = (uint32_t)(keep >> 32);
	return (syscall(SYS_capset, &hdr, data) == -1 ? -1 : 0);
}

/*
 * A VM process of its own: vmm makes it with clone(2) in new user, pid,
 * network, IPC, UTS and mount namespaces, so that it sees no other
 * process (vmm and the other VMs have no pid there), no network but the
 * taps it is given, and nothing it could change in anyone's mounts.
 * Unprivileged user namespaces may be off (a sysctl, an LSM): then
 * *nsok is cleared and it is a plain fork.
 */
pid_t
sandbox_fork_vm(int *nsok)
{
	struct __user_cap_header_struct	hdr;
	struct __user_cap_data_struct	data[2];
	pid_t				pid;

	if (*nsok) {
		pid = syscall(SYS_clone, SANDBOX_VM_NS | SIGCHLD, NULL, NULL,
		    NULL, NULL);
		if (pid == -1 && (errno == EPERM || errno == EINVAL ||
		    errno == ENOSPC || errno == EUSERS || errno == EACCES))
			*nsok = 0;
		else if (pid != 0)
			return (pid);
		else {
			/*
			 * The child, all-powerful in its own user namespace:
			 * keep CAP_SYS_CHROOT through execve (ambient), for
			 * the VM process to leave the file system with
			 * sandbox_chroot().
			 */
			memset(&hdr, 0, sizeof(hdr));
			memset(data, 0, sizeof(data));
			hdr.version = _LINUX_CAPABILITY_VERSION_3;
			data[0].effective = data[0].permitted =
			    data[0].inheritable = 1U << CAP_SYS_CHROOT;
			if (syscall(SYS_capset, &hdr, data) == -1 ||
			    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE,
			    CAP_SYS_CHROOT, 0, 0) == -1)
				_exit(126);
			return (0);
		}
	}
	return (fork());
}

/*
 * In a VM process made by sandbox_fork_vm(): chroot to an empty
 * directory and give up the capability that allowed it.  Returns 0 when
 * done, 1 when the process has no namespaces of its own (nothing done),
 * -1 on failure.
 */
int
sandbox_chroot(const char *dir)
{
	struct __user_cap_header_struct	hdr;
	struct __user_cap_data_struct	data[2];

	memset(&hdr, 0, sizeof(hdr));
	memset(data, 0, sizeof(data));
	hdr.version = _LINUX_CAPABILITY_VERSION_3;
	if (syscall(SYS_capget, &hdr, data) == -1)
		return (-1);
	if ((data[0].effective & (1U << CAP_SYS_CHROOT)) == 0)
		return (1);
	if (chroot(dir) == -1 || chdir("/") == -1)
		return (-1);
	(void)prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	memset(data, 0, sizeof(data));
	return (syscall(SYS_capset, &hdr, data) == -1 ? -1 : 0);
}

/*
 * A refused system call: its number to the note descriptor, then death
 * by SIGSYS.  Only async-signal-safe calls the sandbox allows.  The
 * first process of a pid namespace ignores a signal it sends itself:
 * it exits with the status of that death instead.
 */
static void
sb_sigsys(int sig, siginfo_t *si, void *uc)
{
	struct sigaction	 sa;
	sigset_t		 set;
	int			 nr = si->si_syscall;

	(void)uc;
	if (sb_notefd != -1)
		while (write(sb_notefd, &nr, sizeof(nr)) == -1 &&
		    errno == EINTR)
			;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	sigaction(sig, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, sig);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	raise(sig);
	_exit(128 + sig);
}

static void
sb_trap(void)
{
	struct sigaction	 sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sb_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask);
	sigaction(SIGSYS, &sa, NULL);
}

/*
 * Where a refused system call's number goes (an int, one write(2))
 * before the process dies of it; from now on, not only once sandboxed:
 * a VM process runs under vmm's filter from its start.
 */
void
sandbox_note(int fd)
{
	sb_notefd = fd;
	sb_trap();
}

/* The name of system call nr, for the log. */
const char *
sandbox_syscall_name(int nr, char *buf, size_t len)
{
	char	*name;

	if ((name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE,
	    nr)) == NULL)
		snprintf(buf, len, "%d", nr);
	else {
		snprintf(buf, len, "%s", name);
		free(name);
	}
	return (buf);
}

int
sandbox_drop(enum sandbox_role role)
{
	struct rlimit	rl = { 0, 0 };
	int		rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return (-1);
	/* not dumpable: no ptrace by other processes running as _vmd */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return (-1);
	switch (role) {
	case SANDBOX_CONTROL:
	case SANDBOX_PRIV:
		/* they make no processes (a log may be a file: no FSIZE) */
		if (setrlimit(RLIMIT_NPROC, &rl) == -1)
			return (-1);
		break;
	case SANDBOX_VMM:
	case SANDBOX_VM_SETUP:
	case SANDBOX_VM:
		break;
	default:
		errno = EINVAL;
		return (-1);
	}
	/*
	 * glibc's malloc reads /sys/devices/system/cpu/online when a
	 * ninth thread wants an arena of its own: a VM process has that
	 * many (vCPUs, each disk's threads).  One arena: fixed before the
	 * filter, and the lightest (nothing hot allocates).
	 */
	if (mallopt(M_ARENA_MAX, 1) == 0)
		return (-1);
	if (sandbox_landlock(role) == -1)
		return (-1);
	sb_trap();
	if ((rc = sb_seccomp(role)) < 0) {
		errno = -rc;
		return (-1);
	}
	return (0);
}
