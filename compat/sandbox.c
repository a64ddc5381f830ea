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
 * What pledge(2) is on OpenBSD: no_new_privs, no core dumps or ptrace by
 * other processes of the same user, and a seccomp allowlist for the VM
 * process, the one that runs guest-facing code.
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <seccomp.h>
#include <stddef.h>
#include <unistd.h>

#include "compat.h"

/* what a VM process needs once its guest is running */
static const int vm_syscalls[] = {
	SCMP_SYS(read), SCMP_SYS(write), SCMP_SYS(readv), SCMP_SYS(writev),
	SCMP_SYS(pread64), SCMP_SYS(pwrite64), SCMP_SYS(preadv),
	SCMP_SYS(pwritev), SCMP_SYS(close), SCMP_SYS(ioctl),
	SCMP_SYS(fcntl), SCMP_SYS(lseek), SCMP_SYS(fstat),
	SCMP_SYS(newfstatat), SCMP_SYS(fdatasync), SCMP_SYS(fsync),
	SCMP_SYS(fallocate),
	SCMP_SYS(mmap), SCMP_SYS(munmap), SCMP_SYS(mprotect),
	SCMP_SYS(madvise), SCMP_SYS(brk), SCMP_SYS(mremap),
	SCMP_SYS(futex), SCMP_SYS(set_robust_list), SCMP_SYS(rseq),
	SCMP_SYS(clone), SCMP_SYS(clone3), SCMP_SYS(sched_yield),
	SCMP_SYS(sched_getaffinity),
	SCMP_SYS(epoll_create1), SCMP_SYS(epoll_ctl), SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait), SCMP_SYS(poll), SCMP_SYS(ppoll),
	SCMP_SYS(select), SCMP_SYS(pselect6),
	SCMP_SYS(eventfd2), SCMP_SYS(pipe2), SCMP_SYS(timerfd_create),
	SCMP_SYS(timerfd_settime), SCMP_SYS(timerfd_gettime),
	SCMP_SYS(clock_gettime), SCMP_SYS(clock_nanosleep),
	SCMP_SYS(nanosleep), SCMP_SYS(gettimeofday), SCMP_SYS(time),
	SCMP_SYS(rt_sigaction), SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn), SCMP_SYS(sigaltstack), SCMP_SYS(tgkill),
	SCMP_SYS(getpid), SCMP_SYS(gettid), SCMP_SYS(getuid),
	SCMP_SYS(geteuid), SCMP_SYS(getppid), SCMP_SYS(getrandom),
	SCMP_SYS(sendmsg), SCMP_SYS(recvmsg), SCMP_SYS(sendto),
	SCMP_SYS(recvfrom), SCMP_SYS(connect), SCMP_SYS(socket),
	SCMP_SYS(shutdown),
	SCMP_SYS(prctl), SCMP_SYS(exit), SCMP_SYS(exit_group),
	SCMP_SYS(restart_syscall), SCMP_SYS(getrlimit),
	SCMP_SYS(prlimit64), SCMP_SYS(uname),
};

static int
sandbox_seccomp(const int *calls, size_t ncalls)
{
	scmp_filter_ctx	 ctx;
	size_t		 i;
	int		 rc;

	if ((ctx = seccomp_init(SCMP_ACT_KILL_PROCESS)) == NULL)
		return (-1);
	for (i = 0; i < ncalls; i++) {
		if (calls[i] < 0)
			continue;	/* not on this architecture */
		if ((rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, calls[i],
		    0)) < 0)
			goto fail;
	}
	if ((rc = seccomp_load(ctx)) < 0)
		goto fail;
	seccomp_release(ctx);
	return (0);
 fail:
	seccomp_release(ctx);
	errno = -rc;
	return (-1);
}

int
sandbox_drop(enum sandbox_role role)
{
	struct rlimit	rl = { 0, 0 };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		return (-1);
	/* not dumpable: no ptrace by other processes running as _vmd */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		return (-1);
	switch (role) {
	case SANDBOX_CONTROL:
		/* it makes no processes (its log may be a file: no FSIZE) */
		if (setrlimit(RLIMIT_NPROC, &rl) == -1)
			return (-1);
		return (0);
	case SANDBOX_VMM:
		return (0);
	case SANDBOX_VM:
		return (sandbox_seccomp(vm_syscalls, nitems(vm_syscalls)));
	}
	errno = EINVAL;
	return (-1);
}
