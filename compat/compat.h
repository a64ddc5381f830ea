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
 * The one place for what Linux lacks of OpenBSD's API.  libbsd (through
 * its overlay, -isystem /usr/include/bsd) gives <sys/queue.h>, strlcpy,
 * strtonum, setproctitle, getprogname and friends.
 */

#ifndef COMPAT_H
#define COMPAT_H

#include <sys/types.h>
#include <stdint.h>

#include "imsg.h"
#include "util.h"

#ifndef __dead
#define __dead		__attribute__((__noreturn__))
#endif
#ifndef nitems
#define nitems(_a)	(sizeof((_a)) / sizeof((_a)[0]))
#endif
#ifndef MINIMUM
#define MINIMUM(a, b)	(((a) < (b)) ? (a) : (b))
#endif
#ifndef MAXIMUM
#define MAXIMUM(a, b)	(((a) > (b)) ? (a) : (b))
#endif

#ifndef WAIT_ANY
#define WAIT_ANY	(-1)
#endif

/* sandbox.c: what pledge/unveil are on OpenBSD */
enum sandbox_role {
	SANDBOX_CONTROL,
	SANDBOX_VMM,
	SANDBOX_PRIV,
	SANDBOX_VM_SETUP,
	SANDBOX_VM,
};
int	sandbox_drop(enum sandbox_role);
void	sandbox_ioctls(const unsigned long *, size_t);
int	sandbox_capbset(uint64_t);
int	sandbox_caps(uint64_t);
int	sandbox_landlock_abi(void);
int	sandbox_landlock(enum sandbox_role);
void	sandbox_note(int);
const char *sandbox_syscall_name(int, char *, size_t);
/* the namespaces of a VM process of its own */
#define SANDBOX_VM_NS	(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | \
	CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNS)
pid_t	sandbox_fork_vm(int *);
int	sandbox_chroot(const char *);

#endif /* COMPAT_H */
