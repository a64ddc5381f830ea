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
 * imsg(3) for Linux: byte buffers (ibuf), an outgoing queue of framed
 * messages (msgbuf) and the framing itself (imsgbuf, imsg).
 *
 * Outgoing: every queued message is one ibuf holding header and payload.
 * A descriptor attached to a message travels in an SCM_RIGHTS control
 * message together with the first byte of that message, one descriptor
 * per sendmsg(2), and is closed here once the kernel has taken it.
 *
 * Incoming: recvmsg(2) appends to a flat read buffer; descriptors go to a
 * FIFO and are handed, in order, to the messages whose header carries
 * IMSG_HDR_FLAG_FD.  Since a descriptor arrives with the first byte of
 * its message, it is always queued by the time that message's header is
 * complete.
 */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"

_Static_assert(sizeof(struct imsg_hdr) == 16,
    "struct imsg_hdr must be exactly 16 bytes on the wire");

#define IMSG_RECV_MAXFDS	16	/* room for descriptors per recvmsg */
/*
 * Descriptors received and not yet claimed by a message: a peer that
 * sends them with messages that do not claim them would otherwise pile
 * them up in our table.  Past this, the read fails (EBADMSG).
 */
#define IMSG_MAX_PENDING_FDS	32
#define IMSG_SEND_MAXIOV	64	/* buffers gathered per sendmsg */

/* the write queue, plus the read offset that imsgbuf has no field for */
struct msgbuf {
	TAILQ_HEAD(, ibuf)	 bufs;
	uint32_t		 queued;
	size_t			 rpos;	/* unparsed data in rbuf */
};

static void	 msgbuf_free_all(struct msgbuf *);
static int	 msgbuf_send_once(int, struct msgbuf *);
static int	 msgbuf_send_all(int, struct msgbuf *);
static int	 rfds_push(struct imsgbuf *, const int *, size_t);
static int	 rfds_pop(struct imsgbuf *);
static void	 close_fds(const int *, size_t);

/*
 * ibuf
 */

struct ibuf *
ibuf_open(size_t len)
{
	struct ibuf	*buf;

	if ((buf = calloc(1, sizeof(*buf))) == NULL)
		return (NULL);
	if (len > 0 && (buf->buf = malloc(len)) == NULL) {
		free(buf);
		return (NULL);
	}
	buf->size = len;
	buf->max = 0;		/* fixed */
	buf->fd = -1;
	return (buf);
}

struct ibuf *
ibuf_dynamic(size_t len, size_t max)
{
	struct ibuf	*buf;

	if (max == 0 || max < len) {
		errno = EINVAL;
		return (NULL);
	}
	if ((buf = ibuf_open(len)) == NULL)
		return (NULL);
	buf->max = max;
	return (buf);
}

static int
ibuf_grow(struct ibuf *buf, size_t need)
{
	unsigned char	*p;
	size_t		 nsize;

	if (need <= buf->size)
		return (0);
	if (buf->max == 0 || need > buf->max) {
		errno = ERANGE;
		return (-1);
	}
	nsize = buf->size < 64 ? 64 : buf->size;
	while (nsize < need)
		nsize = nsize > buf->max / 2 ? buf->max : nsize * 2;
	if (nsize > buf->max)
		nsize = buf->max;
	if ((p = realloc(buf->buf, nsize)) == NULL)
		return (-1);
	buf->buf = p;
	buf->size = nsize;
	return (0);
}

void *
ibuf_reserve(struct ibuf *buf, size_t len)
{
	void	*p;

	if (len > SIZE_MAX - buf->wpos) {
		errno = ERANGE;
		return (NULL);
	}
	if (ibuf_grow(buf, buf->wpos + len) == -1)
		return (NULL);
	p = buf->buf + buf->wpos;
	buf->wpos += len;
	return (p);
}

int
ibuf_add(struct ibuf *buf, const void *data, size_t len)
{
	void	*p;

	if (len == 0)
		return (0);
	if ((p = ibuf_reserve(buf, len)) == NULL)
		return (-1);
	memcpy(p, data, len);
	return (0);
}

int
ibuf_add_zero(struct ibuf *buf, size_t len)
{
	void	*p;

	if (len == 0)
		return (0);
	if ((p = ibuf_reserve(buf, len)) == NULL)
		return (-1);
	memset(p, 0, len);
	return (0);
}

void *
ibuf_data(const struct ibuf *buf)
{
	if (buf->buf == NULL)
		return (NULL);
	return (buf->buf + buf->rpos);
}

size_t
ibuf_size(const struct ibuf *buf)
{
	return (buf->wpos - buf->rpos);
}

size_t
ibuf_left(const struct ibuf *buf)
{
	if (buf->max == 0)
		return (buf->size - buf->wpos);
	return (buf->max - buf->wpos);
}

int
ibuf_get(struct ibuf *buf, void *data, size_t len)
{
	if (ibuf_size(buf) < len) {
		errno = EBADMSG;
		return (-1);
	}
	if (len > 0)
		memcpy(data, buf->buf + buf->rpos, len);
	buf->rpos += len;
	return (0);
}

void
ibuf_free(struct ibuf *buf)
{
	int	 saved_errno;

	if (buf == NULL)
		return;
	saved_errno = errno;
	if (buf->fd >= 0)
		close(buf->fd);
	free(buf->buf);
	free(buf);
	errno = saved_errno;
}

int
ibuf_fd_get(struct ibuf *buf)
{
	int	 fd;

	fd = buf->fd;
	buf->fd = -1;
	return (fd);
}

void
ibuf_fd_set(struct ibuf *buf, int fd)
{
	if (buf->fd >= 0 && buf->fd != fd)
		close(buf->fd);
	buf->fd = fd;
}

/*
 * msgbuf: the write queue
 */

static void
msgbuf_free_all(struct msgbuf *mb)
{
	struct ibuf	*buf;

	while ((buf = TAILQ_FIRST(&mb->bufs)) != NULL) {
		TAILQ_REMOVE(&mb->bufs, buf, entry);
		ibuf_free(buf);
	}
	mb->queued = 0;
}

/*
 * One sendmsg(2).  A buffer that still holds its descriptor has not had
 * its first byte sent yet; it may only start a sendmsg, so gathering
 * stops in front of such a buffer.
 * Returns 1 on progress, 0 if the socket would block, -1 on error.
 */
static int
msgbuf_send_once(int sock, struct msgbuf *mb)
{
	struct iovec	 iov[IMSG_SEND_MAXIOV];
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	}		 cmsgbuf;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct ibuf	*buf, *next;
	ssize_t		 n;
	size_t		 left, chunk;
	int		 niov = 0, fd = -1;

	TAILQ_FOREACH(buf, &mb->bufs, entry) {
		if (niov == IMSG_SEND_MAXIOV)
			break;
		if (buf->fd >= 0) {
			if (niov > 0)
				break;
			fd = buf->fd;
		}
		iov[niov].iov_base = buf->buf + buf->rpos;
		iov[niov].iov_len = buf->wpos - buf->rpos;
		niov++;
	}
	if (niov == 0)
		return (1);

	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = iov;
	msg.msg_iovlen = (size_t)niov;
	if (fd >= 0) {
		memset(&cmsgbuf, 0, sizeof(cmsgbuf));
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
	}

	for (;;) {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
		if (n >= 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == ENOBUFS)
			return (0);
		return (-1);
	}

	/* the kernel holds its own reference to the descriptor now */
	if (fd >= 0 && n > 0) {
		buf = TAILQ_FIRST(&mb->bufs);
		close(buf->fd);
		buf->fd = -1;
	}

	left = (size_t)n;
	for (buf = TAILQ_FIRST(&mb->bufs); buf != NULL && left > 0;
	    buf = next) {
		next = TAILQ_NEXT(buf, entry);
		chunk = buf->wpos - buf->rpos;
		if (left < chunk) {
			buf->rpos += left;
			break;
		}
		left -= chunk;
		TAILQ_REMOVE(&mb->bufs, buf, entry);
		mb->queued--;
		ibuf_free(buf);
	}
	return (1);
}

/* Returns 1 when the queue is empty, 0 if it would block, -1 on error. */
static int
msgbuf_send_all(int sock, struct msgbuf *mb)
{
	int	 r;

	while (!TAILQ_EMPTY(&mb->bufs)) {
		if ((r = msgbuf_send_once(sock, mb)) != 1)
			return (r);
	}
	return (1);
}

/*
 * received descriptors
 */

static void
close_fds(const int *fds, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		close(fds[i]);
}

static int
rfds_push(struct imsgbuf *ibuf, const int *fds, size_t n)
{
	int	*p;

	if (n == 0)
		return (0);
	p = reallocarray(ibuf->rfds, ibuf->nrfds + n, sizeof(int));
	if (p == NULL)
		return (-1);
	memcpy(p + ibuf->nrfds, fds, n * sizeof(int));
	ibuf->rfds = p;
	ibuf->nrfds += n;
	return (0);
}

static int
rfds_pop(struct imsgbuf *ibuf)
{
	int	 fd;

	if (ibuf->nrfds == 0)
		return (-1);
	fd = ibuf->rfds[0];
	ibuf->nrfds--;
	memmove(ibuf->rfds, ibuf->rfds + 1, ibuf->nrfds * sizeof(int));
	return (fd);
}

/*
 * imsgbuf
 */

int
imsgbuf_init(struct imsgbuf *ibuf, int fd)
{
	memset(ibuf, 0, sizeof(*ibuf));
	if ((ibuf->w = calloc(1, sizeof(*ibuf->w))) == NULL)
		return (-1);
	if ((ibuf->rbuf = malloc(IBUF_READ_SIZE)) == NULL) {
		free(ibuf->w);
		ibuf->w = NULL;
		return (-1);
	}
	TAILQ_INIT(&ibuf->w->bufs);
	ibuf->w->queued = 0;
	ibuf->w->rpos = 0;
	ibuf->rlen = 0;
	ibuf->rfds = NULL;
	ibuf->nrfds = 0;
	ibuf->maxsize = MAX_IMSGSIZE;
	ibuf->fd = fd;
	ibuf->flags = 0;
	ibuf->pid = getpid();
	return (0);
}

void
imsgbuf_allow_fdpass(struct imsgbuf *ibuf)
{
	ibuf->flags |= IMSGF_FDPASS;
}

int
imsgbuf_set_maxsize(struct imsgbuf *ibuf, uint32_t maxsize)
{
	if (maxsize < IMSG_HEADER_SIZE || maxsize > IMSG_MAXSIZE_LIMIT) {
		errno = ERANGE;
		return (-1);
	}
	ibuf->maxsize = maxsize;
	return (0);
}

int
imsgbuf_read(struct imsgbuf *ibuf)
{
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int) *
				    IMSG_RECV_MAXFDS)];
	}		 cmsgbuf;
	int		 fds[IMSG_RECV_MAXFDS];
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct iovec	 iov;
	struct msgbuf	*mb = ibuf->w;
	ssize_t		 n;
	size_t		 nfds = 0, cnt, i;
	int		 fd;

	if (mb == NULL || ibuf->rbuf == NULL) {
		errno = EINVAL;
		return (-1);
	}

	/* move the unparsed tail to the front */
	if (mb->rpos > 0) {
		memmove(ibuf->rbuf, ibuf->rbuf + mb->rpos,
		    ibuf->rlen - mb->rpos);
		ibuf->rlen -= mb->rpos;
		mb->rpos = 0;
	}
	if (ibuf->rlen >= IBUF_READ_SIZE) {
		/* full of complete messages: imsg_get() them first */
		errno = ENOBUFS;
		return (-1);
	}

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = ibuf->rbuf + ibuf->rlen;
	iov.iov_len = IBUF_READ_SIZE - ibuf->rlen;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);

	if ((n = recvmsg(ibuf->fd, &msg, MSG_CMSG_CLOEXEC)) == -1) {
		if (errno == EINTR || errno == EAGAIN ||
		    errno == EWOULDBLOCK)
			return (1);
		return (-1);
	}

	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		cnt = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < cnt && nfds < IMSG_RECV_MAXFDS; i++) {
			memcpy(&fd, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(int));
			fds[nfds++] = fd;
		}
	}

	if (nfds > 0 && !(ibuf->flags & IMSGF_FDPASS)) {
		/* descriptors were not asked for: refuse this read */
		close_fds(fds, nfds);
		errno = EBADMSG;
		return (-1);
	}
	if (msg.msg_flags & MSG_CTRUNC) {
		/* a descriptor was lost; message/fd pairing is broken */
		close_fds(fds, nfds);
		errno = EMSGSIZE;
		return (-1);
	}
	if (ibuf->nrfds + nfds > IMSG_MAX_PENDING_FDS) {
		close_fds(fds, nfds);
		errno = EBADMSG;
		return (-1);
	}
	if (rfds_push(ibuf, fds, nfds) == -1) {
		close_fds(fds, nfds);
		return (-1);
	}

	if (n == 0)
		return (0);
	ibuf->rlen += (size_t)n;
	return (1);
}

int
imsgbuf_write(struct imsgbuf *ibuf)
{
	if (ibuf->w == NULL) {
		errno = EINVAL;
		return (-1);
	}
	if (msgbuf_send_all(ibuf->fd, ibuf->w) == -1)
		return (-1);
	return (0);
}

int
imsgbuf_flush(struct imsgbuf *ibuf)
{
	struct pollfd	 pfd;
	int		 r;

	if (ibuf->w == NULL) {
		errno = EINVAL;
		return (-1);
	}
	for (;;) {
		r = msgbuf_send_all(ibuf->fd, ibuf->w);
		if (r == -1)
			return (-1);
		if (r == 1)
			return (0);
		pfd.fd = ibuf->fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		if (poll(&pfd, 1, -1) == -1 && errno != EINTR)
			return (-1);
	}
}

void
imsgbuf_clear(struct imsgbuf *ibuf)
{
	if (ibuf->w != NULL) {
		msgbuf_free_all(ibuf->w);
		free(ibuf->w);
		ibuf->w = NULL;
	}
	close_fds(ibuf->rfds, ibuf->nrfds);
	free(ibuf->rfds);
	ibuf->rfds = NULL;
	ibuf->nrfds = 0;
	free(ibuf->rbuf);
	ibuf->rbuf = NULL;
	ibuf->rlen = 0;
}

uint32_t
imsgbuf_queuelen(struct imsgbuf *ibuf)
{
	if (ibuf->w == NULL)
		return (0);
	return (ibuf->w->queued);
}

/*
 * imsg: receiving
 */

ssize_t
imsg_get(struct imsgbuf *ibuf, struct imsg *imsg)
{
	struct imsg_hdr	 hdr;
	struct msgbuf	*mb = ibuf->w;
	struct ibuf	*payload;
	size_t		 avail, datalen;

	if (mb == NULL || ibuf->rbuf == NULL) {
		errno = EINVAL;
		return (-1);
	}
	avail = ibuf->rlen - mb->rpos;
	if (avail < IMSG_HEADER_SIZE)
		return (0);
	memcpy(&hdr, ibuf->rbuf + mb->rpos, sizeof(hdr));
	if (hdr.len < IMSG_HEADER_SIZE || hdr.len > ibuf->maxsize) {
		errno = EBADMSG;
		return (-1);
	}
	if (avail < hdr.len)
		return (0);

	datalen = hdr.len - IMSG_HEADER_SIZE;
	if ((payload = ibuf_open(datalen)) == NULL)
		return (-1);
	if (ibuf_add(payload, ibuf->rbuf + mb->rpos + IMSG_HEADER_SIZE,
	    datalen) == -1) {
		ibuf_free(payload);
		return (-1);
	}

	memset(imsg, 0, sizeof(*imsg));
	imsg->hdr = hdr;
	imsg->buf = payload;
	imsg->data = datalen > 0 ? ibuf_data(payload) : NULL;
	imsg->fd = -1;
	if (hdr.flags & IMSG_HDR_FLAG_FD)
		imsg->fd = rfds_pop(ibuf);

	mb->rpos += hdr.len;
	if (mb->rpos == ibuf->rlen)
		mb->rpos = ibuf->rlen = 0;
	return ((ssize_t)hdr.len);
}

int
imsg_get_ibuf(struct imsg *imsg, struct ibuf *ibuf)
{
	size_t	 len;

	len = imsg_get_len(imsg);
	memset(ibuf, 0, sizeof(*ibuf));
	ibuf->buf = len > 0 ? imsg->data : NULL;
	ibuf->size = ibuf->wpos = len;
	ibuf->rpos = 0;
	ibuf->max = 0;		/* fixed and full: nothing can be added */
	ibuf->fd = -1;
	return (0);
}

int
imsg_get_data(struct imsg *imsg, void *data, size_t len)
{
	if (imsg_get_len(imsg) != len) {
		errno = EBADMSG;
		return (-1);
	}
	if (len > 0)
		memcpy(data, imsg->data, len);
	return (0);
}

int
imsg_get_fd(struct imsg *imsg)
{
	int	 fd;

	fd = imsg->fd;
	imsg->fd = -1;
	return (fd);
}

uint32_t
imsg_get_id(struct imsg *imsg)
{
	return (imsg->hdr.peerid);
}

size_t
imsg_get_len(struct imsg *imsg)
{
	if (imsg->buf != NULL)
		return (ibuf_size(imsg->buf));
	if (imsg->hdr.len < IMSG_HEADER_SIZE)
		return (0);
	return (imsg->hdr.len - IMSG_HEADER_SIZE);
}

pid_t
imsg_get_pid(struct imsg *imsg)
{
	return ((pid_t)imsg->hdr.pid);
}

uint32_t
imsg_get_type(struct imsg *imsg)
{
	return (imsg->hdr.type);
}

void
imsg_free(struct imsg *imsg)
{
	int	 saved_errno;

	saved_errno = errno;
	ibuf_free(imsg->buf);
	imsg->buf = NULL;
	imsg->data = NULL;
	if (imsg->fd >= 0)
		close(imsg->fd);
	imsg->fd = -1;
	errno = saved_errno;
}

/*
 * imsg: sending
 */

struct ibuf *
imsg_create(struct imsgbuf *ibuf, uint32_t type, uint32_t id, pid_t pid,
    size_t datalen)
{
	struct imsg_hdr	 hdr;
	struct ibuf	*wbuf;

	if (ibuf->w == NULL) {
		errno = EINVAL;
		return (NULL);
	}
	if (datalen > ibuf->maxsize - IMSG_HEADER_SIZE) {
		errno = ERANGE;
		return (NULL);
	}
	wbuf = ibuf_dynamic(IMSG_HEADER_SIZE + datalen, ibuf->maxsize);
	if (wbuf == NULL)
		return (NULL);

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.len = 0;		/* set by imsg_close() */
	hdr.flags = 0;
	hdr.peerid = id;
	hdr.pid = (uint32_t)(pid != 0 ? pid : ibuf->pid);
	if (ibuf_add(wbuf, &hdr, sizeof(hdr)) == -1) {
		ibuf_free(wbuf);
		return (NULL);
	}
	return (wbuf);
}

int
imsg_add(struct ibuf *msg, const void *data, size_t datalen)
{
	if (msg == NULL) {
		errno = EINVAL;
		return (-1);
	}
	if (ibuf_add(msg, data, datalen) == -1) {
		ibuf_free(msg);
		return (-1);
	}
	return ((int)datalen);
}

void
imsg_close(struct imsgbuf *ibuf, struct ibuf *msg)
{
	struct imsg_hdr	 hdr;

	if (msg == NULL)
		return;
	if (ibuf->w == NULL || msg->wpos < IMSG_HEADER_SIZE) {
		ibuf_free(msg);
		return;
	}
	memcpy(&hdr, msg->buf, sizeof(hdr));
	hdr.len = (uint16_t)msg->wpos;
	hdr.flags &= ~IMSG_HDR_FLAG_FD;
	if (msg->fd >= 0)
		hdr.flags |= IMSG_HDR_FLAG_FD;
	memcpy(msg->buf, &hdr, sizeof(hdr));

	msg->rpos = 0;
	TAILQ_INSERT_TAIL(&ibuf->w->bufs, msg, entry);
	ibuf->w->queued++;
}

int
imsg_compose(struct imsgbuf *ibuf, uint32_t type, uint32_t id, pid_t pid,
    int fd, const void *data, size_t datalen)
{
	struct ibuf	*wbuf;

	if ((wbuf = imsg_create(ibuf, type, id, pid, datalen)) == NULL)
		return (-1);
	if (imsg_add(wbuf, data, datalen) == -1)
		return (-1);
	wbuf->fd = fd >= 0 ? fd : -1;
	imsg_close(ibuf, wbuf);
	return (1);
}

int
imsg_composev(struct imsgbuf *ibuf, uint32_t type, uint32_t id, pid_t pid,
    int fd, const struct iovec *iov, int iovcnt)
{
	struct ibuf	*wbuf;
	size_t		 datalen = 0;
	int		 i;

	if (iovcnt < 0) {
		errno = EINVAL;
		return (-1);
	}
	for (i = 0; i < iovcnt; i++) {
		if (iov[i].iov_len > IMSG_MAXSIZE_LIMIT ||
		    datalen + iov[i].iov_len > IMSG_MAXSIZE_LIMIT) {
			errno = ERANGE;
			return (-1);
		}
		datalen += iov[i].iov_len;
	}
	if ((wbuf = imsg_create(ibuf, type, id, pid, datalen)) == NULL)
		return (-1);
	for (i = 0; i < iovcnt; i++)
		if (imsg_add(wbuf, iov[i].iov_base, iov[i].iov_len) == -1)
			return (-1);
	wbuf->fd = fd >= 0 ? fd : -1;
	imsg_close(ibuf, wbuf);
	return (1);
}

int
imsg_compose_ibuf(struct imsgbuf *ibuf, uint32_t type, uint32_t id,
    pid_t pid, struct ibuf *buf)
{
	struct ibuf	*wbuf;
	size_t		 datalen;

	if (buf == NULL) {
		errno = EINVAL;
		return (-1);
	}
	datalen = ibuf_size(buf);
	if ((wbuf = imsg_create(ibuf, type, id, pid, datalen)) == NULL) {
		ibuf_free(buf);
		return (-1);
	}
	if (imsg_add(wbuf, ibuf_data(buf), datalen) == -1) {
		ibuf_free(buf);
		return (-1);
	}
	wbuf->fd = ibuf_fd_get(buf);
	ibuf_free(buf);
	imsg_close(ibuf, wbuf);
	return (1);
}

int
imsg_forward(struct imsgbuf *ibuf, struct imsg *msg)
{
	struct ibuf	*wbuf;
	size_t		 datalen;

	datalen = imsg_get_len(msg);
	wbuf = imsg_create(ibuf, msg->hdr.type, msg->hdr.peerid,
	    (pid_t)msg->hdr.pid, datalen);
	if (wbuf == NULL)
		return (-1);
	if (datalen > 0 && imsg_add(wbuf, msg->data, datalen) == -1)
		return (-1);
	/* the descriptor moves from the received message to the new one */
	wbuf->fd = imsg_get_fd(msg);
	imsg_close(ibuf, wbuf);
	return (1);
}
