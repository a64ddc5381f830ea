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
 * The privsep framework: spawning re-executed children joined to the
 * parent by socketpairs, and imsg channels on libevent.
 */

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"
#include "log.h"

static const char *proc_names[PROC_MAX] = {
	[PROC_PARENT] = "parent",
	[PROC_CONTROL] = "control",
	[PROC_VMM] = "vmm",
	[PROC_PRIV] = "priv",
};

static void	imsgev_handler(int, short, void *);

const char *
proc_name(enum privsep_procid id)
{
	if (id >= PROC_MAX)
		return ("unknown");
	return (proc_names[id]);
}

enum privsep_procid
proc_byname(const char *name)
{
	int	i;

	for (i = 0; i < PROC_MAX; i++)
		if (strcmp(proc_names[i], name) == 0)
			return (i);
	return (PROC_MAX);
}

int
imsgev_init(struct imsgev *iev, int fd, const char *name,
    imsgev_dispatch_fn dispatch, imsgev_closed_fn on_close, void *data)
{
	memset(iev, 0, sizeof(*iev));
	if (imsgbuf_init(&iev->ibuf, fd) == -1)
		return (-1);
	imsgbuf_allow_fdpass(&iev->ibuf);
	if (imsgbuf_set_maxsize(&iev->ibuf, IMSG_MAXSIZE_LIMIT) == -1)
		return (-1);
	iev->dispatch = dispatch;
	iev->on_close = on_close;
	iev->data = data;
	iev->name = name;
	iev->events = EV_READ;
	event_set(&iev->ev, fd, iev->events, imsgev_handler, iev);
	event_add(&iev->ev, NULL);
	return (0);
}

void
imsgev_add(struct imsgev *iev)
{
	short	events = iev->noread ? 0 : EV_READ;

	if (iev->closed)
		return;
	if (imsgbuf_queuelen(&iev->ibuf) > 0)
		events |= EV_WRITE;
	if (events == 0) {
		event_del(&iev->ev);
		iev->events = 0;
		return;
	}
	/* one-shot events: re-arm unless this very set is still pending */
	if (events == iev->events &&
	    event_pending(&iev->ev, EV_READ | EV_WRITE, NULL))
		return;
	event_del(&iev->ev);
	iev->events = events;
	event_set(&iev->ev, iev->ibuf.fd, events, imsgev_handler, iev);
	event_add(&iev->ev, NULL);
}

void
imsgev_clear(struct imsgev *iev)
{
	if (iev->closed)
		return;
	iev->closed = 1;
	event_del(&iev->ev);
	imsgbuf_clear(&iev->ibuf);
	close(iev->ibuf.fd);
	iev->ibuf.fd = -1;
}

static void
imsgev_close(struct imsgev *iev)
{
	imsgev_clear(iev);
	if (iev->on_close != NULL)
		iev->on_close(iev);
}

static int	imsgev_dispatch_all(struct imsgev *);

static void
imsgev_handler(int fd, short event, void *arg)
{
	struct imsgev	*iev = arg;
	ssize_t		 n;

	(void)fd;
	if (event & EV_WRITE) {
		if (imsgbuf_write(&iev->ibuf) == -1) {
			if (errno != EPIPE)
				log_warn("%s: %s write", __func__, iev->name);
			imsgev_close(iev);
			return;
		}
	}
	if (event & EV_READ) {
		n = imsgbuf_read(&iev->ibuf);
		if (n == -1) {
			log_warn("%s: %s read", __func__, iev->name);
			imsgev_close(iev);
			return;
		}
		if (n == 0) {
			imsgev_close(iev);
			return;
		}
		if (imsgev_dispatch_all(iev) == -1)
			return;
	}
	imsgev_add(iev);
}

/* The messages read so far, until reading is held; -1 if it closed. */
static int
imsgev_dispatch_all(struct imsgev *iev)
{
	struct imsg	imsg;
	ssize_t		n;

	while (!iev->noread) {
		n = imsg_get(&iev->ibuf, &imsg);
		if (n == -1) {
			log_warnx("%s: %s: malformed message, closing the "
			    "channel", __func__, iev->name);
			imsgev_close(iev);
			return (-1);
		}
		if (n == 0)
			break;
		iev->dispatch(iev, &imsg);
		imsg_free(&imsg);
		if (iev->closed)
			return (-1);
	}
	return (0);
}

/*
 * Hold (on) or resume reading and dispatching a channel's messages: a
 * peer that has enough requests in progress waits for their answers.
 * Resuming dispatches what was already read.  May close the channel.
 */
void
imsgev_hold(struct imsgev *iev, int on)
{
	if (iev->closed || iev->noread == on)
		return;
	iev->noread = on;
	if (!on && imsgev_dispatch_all(iev) == -1)
		return;
	imsgev_add(iev);
}

int
imsgev_compose(struct imsgev *iev, uint32_t type, uint32_t peerid,
    pid_t pid, int fd, const void *data, size_t len)
{
	if (iev->closed) {
		if (fd != -1)
			close(fd);
		errno = EPIPE;
		return (-1);
	}
	if (imsg_compose(&iev->ibuf, type, peerid, pid, fd, data, len) == -1) {
		log_warn("%s: %s type %u", __func__, iev->name, type);
		return (-1);
	}
	imsgev_add(iev);
	return (0);
}

int
imsgev_composev(struct imsgev *iev, uint32_t type, uint32_t peerid,
    pid_t pid, int fd, const struct iovec *iov, int iovcnt)
{
	if (iev->closed) {
		if (fd != -1)
			close(fd);
		errno = EPIPE;
		return (-1);
	}
	if (imsg_composev(&iev->ibuf, type, peerid, pid, fd, iov,
	    iovcnt) == -1) {
		log_warn("%s: %s type %u", __func__, iev->name, type);
		return (-1);
	}
	imsgev_add(iev);
	return (0);
}

int
imsgev_forward(struct imsgev *iev, struct imsg *imsg)
{
	if (iev->closed) {
		errno = EPIPE;
		return (-1);
	}
	if (imsg_forward(&iev->ibuf, imsg) == -1) {
		log_warn("%s: %s", __func__, iev->name);
		return (-1);
	}
	imsgev_add(iev);
	return (0);
}

int
imsg_get_fixed(struct imsg *imsg, void *data, size_t len, const char *what)
{
	if (imsg_get_data(imsg, data, len) == -1) {
		log_warnx("bad length %zu for %s (expected %zu)",
		    imsg_get_len(imsg), what, len);
		return (-1);
	}
	return (0);
}

/*
 * Start a child: a socketpair, fork, and re-exec of our own binary with
 * "-P name"; the child finds its end of the channel on descriptor 3.
 */
void
proc_spawn(struct privsep *ps, enum privsep_procid id,
    imsgev_dispatch_fn dispatch, imsgev_closed_fn on_close)
{
	char	*argv[8];
	int	 sp[2], argc = 0, v;
	pid_t	 pid;

	/*
	 * Non-blocking, both ends: neither process may ever wait on the
	 * other's reading (a client that never reads its replies once made
	 * the parent and control block writing to each other for good).
	 */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0,
	    sp) == -1)
		fatal("%s: socketpair", __func__);

	switch (pid = fork()) {
	case -1:
		fatal("%s: fork", __func__);
	case 0:
		if (sp[1] == 3) {
			if (fcntl(3, F_SETFD, 0) == -1)
				_exit(1);
		} else if (dup2(sp[1], 3) == -1)
			_exit(1);
		argv[argc++] = (char *)ps->ps_argv0;
		argv[argc++] = "-P";
		argv[argc++] = (char *)proc_name(id);
		if (ps->ps_debug)
			argv[argc++] = "-d";
		for (v = 0; v < ps->ps_verbose && v < 3; v++)
			argv[argc++] = "-v";
		argv[argc] = NULL;
		execv(ps->ps_argv0, argv);
		fprintf(stderr, "vmd: exec %s: %s\n", ps->ps_argv0,
		    strerror(errno));
		_exit(1);
	default:
		break;
	}
	close(sp[1]);
	ps->ps_pid[id] = pid;
	if (imsgev_init(&ps->ps_ievs[id], sp[0], proc_name(id), dispatch,
	    on_close, ps) == -1)
		fatal("%s: imsgev_init", __func__);
}

void
proc_child_init(struct privsep *ps, enum privsep_procid id, int fd,
    imsgev_dispatch_fn dispatch, imsgev_closed_fn on_close)
{
	ps->ps_id = id;
	log_procinit(proc_name(id));
	setproctitle("%s", proc_name(id));
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		fatal("%s: fcntl", __func__);
	if (imsgev_init(&ps->ps_parent, fd, "parent", dispatch, on_close,
	    ps) == -1)
		fatal("%s: imsgev_init", __func__);
}

/* From the parent to a child, or from a child to the parent. */
int
proc_compose(struct privsep *ps, enum privsep_procid dst, uint32_t type,
    uint32_t peerid, int fd, const void *data, size_t len)
{
	struct imsgev	*iev;

	if (ps->ps_id == PROC_PARENT) {
		if (dst == PROC_PARENT || dst >= PROC_MAX)
			fatalx("%s: bad destination %d", __func__, dst);
		iev = &ps->ps_ievs[dst];
	} else
		iev = &ps->ps_parent;
	return (imsgev_compose(iev, type, peerid, 0, fd, data, len));
}

int
proc_forward(struct privsep *ps, enum privsep_procid dst, struct imsg *imsg)
{
	if (ps->ps_id == PROC_PARENT)
		return (imsgev_forward(&ps->ps_ievs[dst], imsg));
	return (imsgev_forward(&ps->ps_parent, imsg));
}

/*
 * chroot (if root is given) and become user, keeping only the
 * capabilities in keep (CAP_* bits; none if 0); fatal on any failure.
 */
void
proc_drop_privileges(const char *user, const char *root, uint64_t keep)
{
	struct passwd	*pw;

	if ((pw = getpwnam(user)) == NULL)
		fatalx("unknown user %s", user);
	if (root != NULL) {
		if (chroot(root) == -1)
			fatal("%s: chroot %s", __func__, root);
		if (chdir("/") == -1)
			fatal("%s: chdir", __func__);
	}
	if (sandbox_capbset(keep) == -1)
		fatal("%s: capability bounding set", __func__);
	if (keep != 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) == -1)
		fatal("%s: keepcaps", __func__);
	if (setgroups(1, &pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1)
		fatal("%s: cannot drop privileges", __func__);
	if (sandbox_caps(keep) == -1)
		fatal("%s: capabilities", __func__);
	if (keep != 0 && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) == -1)
		fatal("%s: keepcaps", __func__);
}

void
proc_kill(struct privsep *ps)
{
	int	i, status;
	pid_t	pid;

	for (i = PROC_CONTROL; i < PROC_MAX; i++) {
		imsgev_clear(&ps->ps_ievs[i]);
		if (ps->ps_pid[i] > 0)
			kill(ps->ps_pid[i], SIGTERM);
	}
	for (i = PROC_CONTROL; i < PROC_MAX; i++) {
		if (ps->ps_pid[i] <= 0)
			continue;
		do {
			pid = waitpid(ps->ps_pid[i], &status, 0);
		} while (pid == -1 && errno == EINTR);
		ps->ps_pid[i] = 0;
	}
}
