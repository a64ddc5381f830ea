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
 * The control process: vmd's UNIX socket.  It learns each client's uid
 * from SO_PEERCRED, refuses what non-root users may not do, forwards
 * requests to the parent and routes the answers back.
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmd.h"
#include "vmstate.h"
#include "proc.h"
#include "log.h"

#define CONTROL_BACKLOG	5

struct ctl_conn {
	TAILQ_ENTRY(ctl_conn)	 entry;
	struct imsgev		 iev;
	uint32_t		 id;
	uid_t			 uid;
	uint32_t		 waitid;	/* vm id waited for, or 0 */
	int			 waitpending;	/* asked to wait */
	int			 wait_only;	/* WAIT, not stop -w */
	unsigned int		 inflight;	/* requests the parent has */
};
TAILQ_HEAD(ctl_connlist, ctl_conn);

/*
 * Connections: at most CTL_MAX_CONNS, of which the last CTL_ROOT_RESERVE
 * only for root, and CTL_MAX_PER_UID for any other user, so that one
 * user cannot take the socket from everyone (hardening, item 2).
 */
#define CTL_MAX_CONNS		256
#define CTL_ROOT_RESERVE	16
#define CTL_MAX_PER_UID		32
#define CTL_NOFILE		16384	/* each may hold a few descriptors */
/* replies a client leaves unread before it is disconnected */
#define CTL_MAX_QUEUED		4096
/*
 * Requests of one client the parent works on at once: more wait in the
 * client's socket, so that a client that floods vmd with them delays
 * the others by that many at most.
 */
#define CTL_MAX_INFLIGHT	8

static struct {
	struct privsep		*ps;
	struct ctl_connlist	 conns;
	unsigned int		 nconns;
	time_t			 refused_at;	/* last logged refusal */
	uint32_t		 nextid;
	int			 fd;
	struct event		 ev;
	struct event		 evt;		/* accept backoff */
} ctl;

static void	control_parent_dispatch(struct imsgev *, struct imsg *);
static void	control_parent_closed(struct imsgev *);
static void	control_listen(struct control_config *);
static void	control_accept(int, short, void *);
static void	control_dispatch(struct imsgev *, struct imsg *);
static void	control_closed(struct imsgev *);
static struct ctl_conn *control_byid(uint32_t);
static int	control_refuse(uid_t);
static void	control_sent(struct ctl_conn *, uint32_t);
static void	control_answered(struct ctl_conn *, uint32_t);

__dead void
control_main(struct privsep *ps, int fd)
{
	struct rlimit	rl;

	/* room for every connection and what it may hold */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < CTL_NOFILE) {
		rl.rlim_cur = MINIMUM(rl.rlim_max, CTL_NOFILE);
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	event_init();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	ctl.ps = ps;
	ctl.fd = -1;
	TAILQ_INIT(&ctl.conns);
	proc_child_init(ps, PROC_CONTROL, fd, control_parent_dispatch,
	    control_parent_closed);
	event_dispatch();
	fatalx("%s: event loop ended", __func__);
}

static void
control_parent_closed(struct imsgev *iev)
{
	(void)iev;
	exit(0);
}

static void
control_listen(struct control_config *cc)
{
	struct sockaddr_un	 sun;
	mode_t			 old;

	if (ctl.fd != -1)
		return;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	cc->cc_path[sizeof(cc->cc_path) - 1] = '\0';
	if (strlcpy(sun.sun_path, cc->cc_path, sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		fatalx("socket path too long: %s", cc->cc_path);
	if ((ctl.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1)
		fatal("%s: socket", __func__);
	if (unlink(cc->cc_path) == -1 && errno != ENOENT)
		fatal("%s: unlink %s", __func__, cc->cc_path);
	old = umask(0177);
	if (bind(ctl.fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("%s: bind %s", __func__, cc->cc_path);
	umask(old);
	if (chmod(cc->cc_path, cc->cc_mode) == -1 ||
	    chown(cc->cc_path, cc->cc_uid, cc->cc_gid) == -1)
		fatal("%s: chmod/chown %s", __func__, cc->cc_path);
	if (listen(ctl.fd, CONTROL_BACKLOG) == -1)
		fatal("%s: listen", __func__);
	/* clients may connect: the parent tells the service manager */
	proc_compose(ctl.ps, PROC_PARENT, IMSG_VMDOP_DONE, 0, -1, NULL, 0);

	/* the socket is ours: now give up root and the file system */
	proc_drop_privileges(VMD_USER, VMD_EMPTYDIR, 0);
	if (sandbox_drop(SANDBOX_CONTROL) == -1)
		fatal("%s: sandbox", __func__);

	event_set(&ctl.ev, ctl.fd, EV_READ | EV_PERSIST, control_accept, NULL);
	event_add(&ctl.ev, NULL);
	evtimer_set(&ctl.evt, control_accept, NULL);
}

static void
control_accept(int fd, short event, void *arg)
{
	struct ctl_conn	*c;
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);
	struct timeval	 tv = { 1, 0 };
	int		 cfd;

	(void)fd;
	(void)arg;
	if (event & EV_TIMEOUT) {
		event_add(&ctl.ev, NULL);
		return;
	}
	if ((cfd = accept4(ctl.fd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) == -1) {
		if (errno == ENFILE || errno == EMFILE) {
			/* out of descriptors: pause accepting for a moment */
			event_del(&ctl.ev);
			evtimer_add(&ctl.evt, &tv);
		} else if (errno != EAGAIN && errno != EINTR &&
		    errno != ECONNABORTED)
			log_warn("%s: accept", __func__);
		return;
	}
	if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
		log_warn("%s: SO_PEERCRED", __func__);
		close(cfd);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("%s", __func__);
		close(cfd);
		return;
	}
	if (control_refuse(cred.uid)) {
		close(cfd);
		return;
	}
	c->uid = cred.uid;
	do {
		c->id = ++ctl.nextid;
	} while (c->id == 0 || control_byid(c->id) != NULL);
	/*
	 * A client's frames are no longer than its largest request: a
	 * header promising more is refused at once, not waited for.
	 */
	if (imsgev_init(&c->iev, cfd, "client", control_dispatch,
	    control_closed, c) == -1 ||
	    imsgbuf_set_maxsize(&c->iev.ibuf, IMSG_HEADER_SIZE +
	    MAXIMUM(sizeof(struct vmop_create_params), sizeof(struct vmop_id) +
	    VMS_PREFIX_LEN)) == -1) {
		log_warn("%s: imsgev_init", __func__);
		close(cfd);
		free(c);
		return;
	}
	TAILQ_INSERT_TAIL(&ctl.conns, c, entry);
	ctl.nconns++;
}

/* A request of c's went to the parent: past the limit, c waits. */
static void
control_sent(struct ctl_conn *c, uint32_t type)
{
	if (type == IMSG_VMDOP_START_VM_INITRD)
		return;		/* its start request follows */
	if (++c->inflight >= CTL_MAX_INFLIGHT)
		imsgev_hold(&c->iev, 1);
}

/*
 * The parent's answer of type for c: a request of its is done, and its
 * next ones are read.  That may close and free c.
 */
static void
control_answered(struct ctl_conn *c, uint32_t type)
{
	switch (type) {
	case IMSG_VMDOP_START_VM_RESPONSE:
	case IMSG_VMDOP_TERMINATE_VM_RESPONSE:
	case IMSG_VMDOP_PAUSE_VM_RESPONSE:
	case IMSG_VMDOP_UNPAUSE_VM_RESPONSE:
	case IMSG_VMDOP_SEND_VM_RESPONSE:
	case IMSG_VMDOP_GET_INFO_VM_END_DATA:
	case IMSG_CTL_OK:
	case IMSG_CTL_FAIL:
		break;
	default:
		return;
	}
	if (c->inflight > 0)
		c->inflight--;
	if (c->inflight < CTL_MAX_INFLIGHT)
		imsgev_hold(&c->iev, 0);
}

/* Whether a connection of uid would pass the limits; logged, rarely. */
static int
control_refuse(uid_t uid)
{
	struct ctl_conn	*c;
	unsigned int	 mine = 0;
	time_t		 now = time(NULL);

	if (uid == 0 && ctl.nconns < CTL_MAX_CONNS)
		return (0);
	if (uid != 0 && ctl.nconns < CTL_MAX_CONNS - CTL_ROOT_RESERVE) {
		TAILQ_FOREACH(c, &ctl.conns, entry)
			if (c->uid == uid)
				mine++;
		if (mine < CTL_MAX_PER_UID)
			return (0);
	}
	if (now != ctl.refused_at) {
		ctl.refused_at = now;
		log_warnx("control: connection of uid %u refused: %s", uid,
		    mine >= CTL_MAX_PER_UID ? "too many of its own" :
		    "too many in all");
	}
	return (1);
}

static struct ctl_conn *
control_byid(uint32_t id)
{
	struct ctl_conn	*c;

	TAILQ_FOREACH(c, &ctl.conns, entry)
		if (c->id == id)
			return (c);
	return (NULL);
}

static void
control_closed(struct imsgev *iev)
{
	struct ctl_conn	*c = iev->data;

	TAILQ_REMOVE(&ctl.conns, c, entry);
	ctl.nconns--;
	free(c);
}

static void
control_fail(struct ctl_conn *c, int error)
{
	imsgev_compose(&c->iev, IMSG_CTL_FAIL, 0, 0, -1, &error,
	    sizeof(error));
}

/* What a client that is not root may ask, as upstream's control.c. */
static int
control_allowed(uint32_t type)
{
	switch (type) {
	case IMSG_VMDOP_GET_INFO_VM_REQUEST:
	case IMSG_VMDOP_WAIT_VM_REQUEST:
	case IMSG_VMDOP_TERMINATE_VM_REQUEST:
	case IMSG_VMDOP_PAUSE_VM:
	case IMSG_VMDOP_UNPAUSE_VM:
	case IMSG_VMDOP_START_VM_REQUEST:
	case IMSG_VMDOP_START_VM_INITRD:
		return (1);
	default:
		return (0);
	}
}

static void
control_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct ctl_conn			*c = iev->data;
	struct vmop_id			 vid;
	struct vmop_create_params	*vmc;
	uint32_t			 type = imsg_get_type(imsg);
	int				 fd;

	if (imsg_get_id(imsg) != VMD_PROTOCOL_VERSION) {
		log_warnx("client uid %u: protocol version %u, expected %u",
		    c->uid, imsg_get_id(imsg), VMD_PROTOCOL_VERSION);
		control_fail(c, EPROTONOSUPPORT);
		return;
	}
	if (c->uid != 0 && !control_allowed(type)) {
		control_fail(c, EPERM);
		return;
	}

	switch (type) {
	case IMSG_VMDOP_START_VM_REQUEST:
		/* the owner is who asked, whatever the client said */
		if (imsg_get_len(imsg) != sizeof(*vmc)) {
			control_fail(c, EINVAL);
			return;
		}
		if ((vmc = malloc(sizeof(*vmc))) == NULL) {
			control_fail(c, ENOMEM);
			return;
		}
		imsg_get_data(imsg, vmc, sizeof(*vmc));
		vmc->vmc_owner.uid = c->uid;
		fd = imsg_get_fd(imsg);
		proc_compose(ctl.ps, PROC_PARENT, type, c->id, fd, vmc,
		    sizeof(*vmc));
		free(vmc);
		control_sent(c, type);
		return;
	case IMSG_VMDOP_WAIT_VM_REQUEST:
	case IMSG_VMDOP_TERMINATE_VM_REQUEST:
	case IMSG_VMDOP_PAUSE_VM:
	case IMSG_VMDOP_UNPAUSE_VM:
		if (imsg_get_data(imsg, &vid, sizeof(vid)) == -1) {
			control_fail(c, EINVAL);
			return;
		}
		vid.vid_uid = c->uid;
		if (type == IMSG_VMDOP_WAIT_VM_REQUEST ||
		    (type == IMSG_VMDOP_TERMINATE_VM_REQUEST &&
		    (vid.vid_flags & VMOP_WAIT))) {
			c->waitpending = 1;
			c->wait_only = type == IMSG_VMDOP_WAIT_VM_REQUEST;
		}
		proc_compose(ctl.ps, PROC_PARENT, type, c->id, -1, &vid,
		    sizeof(vid));
		control_sent(c, type);
		return;
	case IMSG_VMDOP_START_VM_INITRD:
	case IMSG_VMDOP_GET_INFO_VM_REQUEST:
	case IMSG_VMDOP_LOAD:
	case IMSG_VMDOP_RELOAD:
	case IMSG_CTL_RESET:
	case IMSG_CTL_VERBOSE:
	case IMSG_VMDOP_SEND_VM_REQUEST:
	case IMSG_VMDOP_RECEIVE_VM_REQUEST:
		fd = imsg_get_fd(imsg);
		proc_compose(ctl.ps, PROC_PARENT, type, c->id, fd,
		    imsg->data, imsg_get_len(imsg));
		control_sent(c, type);
		return;
	default:
		log_debug("%s: client uid %u: unexpected message %u",
		    __func__, c->uid, type);
		control_fail(c, EINVAL);
		return;
	}
}

static void
control_parent_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct control_config	 cc;
	struct vmop_result	 vmr;
	struct ctl_conn		*c, *next;
	uint32_t		 type = imsg_get_type(imsg);
	int			 v;

	(void)iev;
	switch (type) {
	case IMSG_VMDOP_CONFIG:
		if (imsg_get_fixed(imsg, &cc, sizeof(cc), "config") == -1)
			fatalx("%s: bad configuration", __func__);
		control_listen(&cc);
		return;
	case IMSG_CTL_VERBOSE:
		if (imsg_get_fixed(imsg, &v, sizeof(v), "verbose") == 0)
			log_setverbose(v);
		return;
	case IMSG_VMDOP_TERMINATE_VM_EVENT:
		/* every client waiting for this VM */
		if (imsg_get_fixed(imsg, &vmr, sizeof(vmr), "event") == -1)
			return;
		TAILQ_FOREACH_SAFE(c, &ctl.conns, entry, next) {
			if (c->waitid != vmr.vmr_id)
				continue;
			c->waitid = 0;
			imsgev_compose(&c->iev, type, 0, 0, -1, &vmr,
			    sizeof(vmr));
		}
		return;
	default:
		break;
	}

	if ((c = control_byid(imsg_get_id(imsg))) == NULL)
		return;		/* the client went away */

	if (type == IMSG_VMDOP_TERMINATE_VM_RESPONSE && c->waitpending) {
		c->waitpending = 0;
		if (imsg_get_fixed(imsg, &vmr, sizeof(vmr), "result") == 0 &&
		    vmr.vmr_result == 0) {
			c->waitid = vmr.vmr_id;
			/* wait: the client hears only of the termination */
			if (c->wait_only) {
				control_answered(c, type);	/* last use */
				return;
			}
		}
	}
	if (imsgbuf_queuelen(&c->iev.ibuf) >= CTL_MAX_QUEUED) {
		/* it asks and never reads: it may not hold us to it */
		log_warnx("control: client uid %u left %u replies unread, "
		    "disconnected", c->uid, imsgbuf_queuelen(&c->iev.ibuf));
		imsgev_clear(&c->iev);
		control_closed(&c->iev);
		return;
	}
	imsgev_forward(&c->iev, imsg);
	control_answered(c, type);	/* last use: it may close c */
}
