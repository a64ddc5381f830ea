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
 * The privsep process framework: a parent and children (control, vmm,
 * priv) re-executed from the same binary, each joined to the parent by a
 * socketpair carrying imsgs, driven by libevent.  The parent relays between
 * children; children never talk to each other directly.
 */

#ifndef PROC_H
#define PROC_H

#include <sys/types.h>
#include <event.h>

#include "compat.h"

enum privsep_procid {
	PROC_PARENT = 0,
	PROC_CONTROL,
	PROC_VMM,
	PROC_PRIV,
	PROC_MAX,
};

struct imsgev;
typedef void	(*imsgev_dispatch_fn)(struct imsgev *, struct imsg *);
typedef void	(*imsgev_closed_fn)(struct imsgev *);

/* one imsg channel on the event loop */
struct imsgev {
	struct imsgbuf		 ibuf;
	struct event		 ev;
	short			 events;
	int			 closed;
	imsgev_dispatch_fn	 dispatch;	/* one call per message */
	imsgev_closed_fn	 on_close;	/* EOF or error; fd closed */
	void			*data;
	const char		*name;
	int			 noread;	/* imsgev_hold */
};

int	imsgev_init(struct imsgev *, int, const char *, imsgev_dispatch_fn,
	    imsgev_closed_fn, void *);
void	imsgev_add(struct imsgev *);
void	imsgev_hold(struct imsgev *, int);
void	imsgev_clear(struct imsgev *);
int	imsgev_compose(struct imsgev *, uint32_t, uint32_t, pid_t, int,
	    const void *, size_t);
int	imsgev_composev(struct imsgev *, uint32_t, uint32_t, pid_t, int,
	    const struct iovec *, int);
int	imsgev_forward(struct imsgev *, struct imsg *);

/* a checked fixed-size payload; logs and returns -1 on a bad length */
int	imsg_get_fixed(struct imsg *, void *, size_t, const char *);

struct privsep {
	struct imsgev		 ps_ievs[PROC_MAX];	/* parent: one per child */
	struct imsgev		 ps_parent;		/* child: to parent */
	pid_t			 ps_pid[PROC_MAX];
	enum privsep_procid	 ps_id;
	const char		*ps_argv0;		/* absolute path */
	int			 ps_debug;
	int			 ps_verbose;
	int			 ps_noaction;
	void			*ps_env;
};

const char *proc_name(enum privsep_procid);
enum privsep_procid proc_byname(const char *);
void	proc_spawn(struct privsep *, enum privsep_procid, imsgev_dispatch_fn,
	    imsgev_closed_fn);
void	proc_child_init(struct privsep *, enum privsep_procid, int,
	    imsgev_dispatch_fn, imsgev_closed_fn);
int	proc_compose(struct privsep *, enum privsep_procid, uint32_t,
	    uint32_t, int, const void *, size_t);
int	proc_forward(struct privsep *, enum privsep_procid, struct imsg *);
void	proc_drop_privileges(const char *, const char *, uint64_t);
void	proc_kill(struct privsep *);

#endif /* PROC_H */
