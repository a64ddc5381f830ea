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

/* Unit tests for compat/imsg.c; TAP-style output. */

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imsg.h"
#include "tap.h"

_Static_assert(sizeof(struct imsg_hdr) == 16, "wire header is 16 bytes");
_Static_assert(offsetof(struct imsg_hdr, len) == 4, "len at offset 4");
_Static_assert(offsetof(struct imsg_hdr, flags) == 6, "flags at offset 6");
_Static_assert(offsetof(struct imsg_hdr, peerid) == 8, "peerid at 8");
_Static_assert(offsetof(struct imsg_hdr, pid) == 12, "pid at 12");

#define TIMEOUT_MS	5000




static void
fatal(const char *what)
{
	printf("not ok - %s: %s\n", what, strerror(errno));
	printf("Bail out!\n");
	exit(1);
}

static void
mkpair(int sv[2])
{
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		fatal("socketpair");
}

static void
mkpipe(int p[2])
{
	if (pipe(p) == -1)
		fatal("pipe");
}

static void
set_nonblock(int fd)
{
	int	 fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_NONBLOCK) == -1)
		fatal("fcntl");
}

static void
init_pair(struct imsgbuf *a, struct imsgbuf *b, int sv[2], int fdpass)
{
	mkpair(sv);
	if (imsgbuf_init(a, sv[0]) == -1 || imsgbuf_init(b, sv[1]) == -1)
		fatal("imsgbuf_init");
	if (fdpass) {
		imsgbuf_allow_fdpass(a);
		imsgbuf_allow_fdpass(b);
	}
}

static void
fini_pair(struct imsgbuf *a, struct imsgbuf *b, int sv[2])
{
	imsgbuf_clear(a);
	imsgbuf_clear(b);
	close(sv[0]);
	close(sv[1]);
}

/*
 * Get the next message, reading as needed.  Returns what imsg_get()
 * returned, 0 on EOF, -1 on error, -2 on timeout.
 */
static ssize_t
recv_msg(struct imsgbuf *ib, struct imsg *m)
{
	struct pollfd	 pfd;
	ssize_t		 n;
	int		 r;

	for (;;) {
		if ((n = imsg_get(ib, m)) != 0)
			return (n);
		pfd.fd = ib->fd;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, TIMEOUT_MS) <= 0)
			return (-2);
		if ((r = imsgbuf_read(ib)) != 1)
			return (r);
	}
}

/* write a buffer to a raw socket completely */
static void
raw_write(int fd, const void *buf, size_t len)
{
	const unsigned char	*p = buf;
	ssize_t			 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			fatal("write");
		}
		p += n;
		len -= (size_t)n;
	}
}

/* 1 if the pipe read end p sees EOF, i.e. every write end is closed */
static int
pipe_at_eof(int rfd)
{
	char	 c;
	ssize_t	 n;

	set_nonblock(rfd);
	n = read(rfd, &c, 1);
	return (n == 0);
}

static int
fd_is_open(int fd)
{
	return (fcntl(fd, F_GETFD) != -1);
}

static void
test_ibuf(void)
{
	struct ibuf	*b;
	unsigned char	 out[32];
	void		*r;
	int		 p[2], fd;

	b = ibuf_open(8);
	check(b != NULL && ibuf_size(b) == 0 && ibuf_left(b) == 8,
	    "ibuf_open: empty, 8 bytes left");
	check(ibuf_add(b, "abcdefgh", 8) == 0 && ibuf_size(b) == 8 &&
	    ibuf_left(b) == 0, "ibuf_add fills a fixed buffer");
	errno = 0;
	check(ibuf_add(b, "x", 1) == -1 && errno == ERANGE,
	    "ibuf_add beyond a fixed buffer fails with ERANGE");
	check(ibuf_get(b, out, 3) == 0 && memcmp(out, "abc", 3) == 0 &&
	    ibuf_size(b) == 5 &&
	    memcmp(ibuf_data(b), "defgh", 5) == 0,
	    "ibuf_get consumes from the read position");
	errno = 0;
	check(ibuf_get(b, out, 6) == -1 && errno == EBADMSG &&
	    ibuf_size(b) == 5, "ibuf_get past the end fails, consumes nothing");
	ibuf_free(b);

	errno = 0;
	check(ibuf_dynamic(16, 8) == NULL && errno == EINVAL,
	    "ibuf_dynamic with max < len fails with EINVAL");

	b = ibuf_dynamic(2, 20);
	check(b != NULL && ibuf_left(b) == 20, "ibuf_dynamic: 20 bytes left");
	check(ibuf_add(b, "0123456789", 10) == 0 &&
	    ibuf_add_zero(b, 4) == 0 && ibuf_size(b) == 14,
	    "ibuf_dynamic grows on add");
	r = ibuf_reserve(b, 6);
	check(r != NULL && ibuf_size(b) == 20 && ibuf_left(b) == 0,
	    "ibuf_reserve up to max");
	if (r != NULL)
		memcpy(r, "ZZZZZZ", 6);
	errno = 0;
	check(ibuf_reserve(b, 1) == NULL && errno == ERANGE,
	    "ibuf_reserve beyond max fails with ERANGE");
	memset(out, 0xff, sizeof(out));
	check(ibuf_get(b, out, 20) == 0 &&
	    memcmp(out, "0123456789\0\0\0\0ZZZZZZ", 20) == 0,
	    "ibuf_dynamic content intact after growth");

	mkpipe(p);
	check(b->fd == -1, "new ibuf has no descriptor");
	ibuf_fd_set(b, p[1]);
	fd = ibuf_fd_get(b);
	check(fd == p[1] && ibuf_fd_get(b) == -1,
	    "ibuf_fd_get transfers the descriptor once");
	ibuf_fd_set(b, fd);
	ibuf_free(b);
	check(pipe_at_eof(p[0]), "ibuf_free closes an attached descriptor");
	close(p[0]);
}

static void
test_maxsize(void)
{
	struct imsgbuf	 ib;
	int		 sv[2];

	mkpair(sv);
	check(imsgbuf_init(&ib, sv[0]) == 0 && ib.maxsize == MAX_IMSGSIZE &&
	    imsgbuf_queuelen(&ib) == 0,
	    "imsgbuf_init: default maxsize %d, empty queue", MAX_IMSGSIZE);
	errno = 0;
	check(imsgbuf_set_maxsize(&ib, IMSG_HEADER_SIZE - 1) == -1 &&
	    errno == ERANGE, "set_maxsize below the header size: ERANGE");
	errno = 0;
	check(imsgbuf_set_maxsize(&ib, IMSG_MAXSIZE_LIMIT + 1) == -1 &&
	    errno == ERANGE, "set_maxsize above the limit: ERANGE");
	check(imsgbuf_set_maxsize(&ib, IMSG_HEADER_SIZE) == 0 &&
	    imsgbuf_set_maxsize(&ib, IMSG_MAXSIZE_LIMIT) == 0 &&
	    ib.maxsize == IMSG_MAXSIZE_LIMIT, "set_maxsize bounds accepted");
	imsgbuf_clear(&ib);
	imsgbuf_clear(&ib);
	check(imsgbuf_queuelen(&ib) == 0, "imsgbuf_clear twice is harmless");
	close(sv[0]);
	close(sv[1]);
}

static void
test_roundtrip(void)
{
	struct imsgbuf	 a, b;
	struct imsg	 m;
	struct ibuf	 view;
	struct {
		uint32_t	 x;
		uint32_t	 y;
	}		 s = { 0xdeadbeef, 42 }, t;
	char		 big[12], str[16];
	uint32_t	 x;
	ssize_t		 n;
	int		 sv[2];

	init_pair(&a, &b, sv, 0);

	check(imsg_compose(&a, 42, 7, 1234, -1, "hello", 6) != -1 &&
	    imsgbuf_queuelen(&a) == 1, "compose queues one message");
	check(imsgbuf_flush(&a) == 0 && imsgbuf_queuelen(&a) == 0,
	    "flush empties the queue");
	n = recv_msg(&b, &m);
	check(n == (ssize_t)IMSG_HEADER_SIZE + 6,
	    "imsg_get returns the total length (%zd)", n);
	if (n > 0) {
		check(imsg_get_type(&m) == 42 && imsg_get_id(&m) == 7 &&
		    imsg_get_pid(&m) == 1234 && imsg_get_len(&m) == 6,
		    "type, id, pid and length survive");
		check(m.hdr.len == IMSG_HEADER_SIZE + 6 &&
		    !(m.hdr.flags & IMSG_HDR_FLAG_FD),
		    "header len includes the header; no FD flag");
		check(m.data != NULL && memcmp(m.data, "hello", 6) == 0,
		    "payload survives");
		check(imsg_get_data(&m, str, 6) == 0 &&
		    strcmp(str, "hello") == 0, "imsg_get_data exact length");
		check(imsg_get_fd(&m) == -1, "no descriptor: imsg_get_fd -1");
		imsg_free(&m);
	}
	check(imsg_get(&b, &m) == 0, "nothing more buffered: imsg_get 0");

	/* pid 0 means our own pid */
	imsg_compose(&a, 1, 0, 0, -1, NULL, 0);
	imsgbuf_flush(&a);
	n = recv_msg(&b, &m);
	check(n == (ssize_t)IMSG_HEADER_SIZE && imsg_get_len(&m) == 0 &&
	    imsg_get_pid(&m) == getpid(),
	    "empty payload round trip; pid 0 becomes the sender's pid");
	if (n > 0) {
		check(imsg_get_data(&m, NULL, 0) == 0,
		    "imsg_get_data of 0 bytes on an empty payload");
		errno = 0;
		check(imsg_get_data(&m, str, 1) == -1 && errno == EBADMSG,
		    "imsg_get_data of 1 byte on an empty payload fails");
		imsg_free(&m);
	}

	/* exact length checking */
	imsg_compose(&a, 2, 0, 0, -1, &s, sizeof(s));
	imsgbuf_flush(&a);
	n = recv_msg(&b, &m);
	if (n > 0) {
		errno = 0;
		check(imsg_get_data(&m, &t, sizeof(s) - 4) == -1 &&
		    errno == EBADMSG, "imsg_get_data shorter: EBADMSG");
		errno = 0;
		check(imsg_get_data(&m, big, sizeof(big)) == -1 &&
		    errno == EBADMSG, "imsg_get_data longer: EBADMSG");
		memset(&t, 0, sizeof(t));
		check(imsg_get_data(&m, &t, sizeof(t)) == 0 &&
		    t.x == s.x && t.y == s.y, "imsg_get_data of the struct");

		check(imsg_get_ibuf(&m, &view) == 0 &&
		    ibuf_size(&view) == sizeof(s) && ibuf_left(&view) == 0,
		    "imsg_get_ibuf: read-only view of the payload");
		check(ibuf_get(&view, &x, 4) == 0 && x == s.x &&
		    ibuf_get(&view, &x, 4) == 0 && x == s.y &&
		    ibuf_get(&view, &x, 1) == -1,
		    "ibuf_get walks the payload view");
		check(imsg_get_len(&m) == sizeof(s),
		    "walking the view leaves the imsg intact");
		imsg_free(&m);
	} else
		check(0, "exact length message received");

	fini_pair(&a, &b, sv);
}

static void
test_create_variants(void)
{
	struct imsgbuf	 a, b;
	struct imsg	 m;
	struct ibuf	*w;
	struct iovec	 iov[3];
	unsigned char	 pat[200], got[200];
	size_t		 i;
	ssize_t		 n;
	int		 sv[2];

	for (i = 0; i < sizeof(pat); i++)
		pat[i] = (unsigned char)(i * 7 + 1);
	init_pair(&a, &b, sv, 0);

	/* create/add/close, growing beyond the hint */
	w = imsg_create(&a, 10, 11, 12, 4);
	check(w != NULL, "imsg_create");
	check(imsg_add(w, pat, 4) != -1 && imsg_add(w, pat + 4, 96) != -1,
	    "imsg_add beyond the length hint");
	imsg_close(&a, w);
	check(imsgbuf_queuelen(&a) == 1, "imsg_close queues the message");

	/* composev */
	iov[0].iov_base = pat;
	iov[0].iov_len = 50;
	iov[1].iov_base = pat + 50;
	iov[1].iov_len = 0;
	iov[2].iov_base = pat + 50;
	iov[2].iov_len = 150;
	check(imsg_composev(&a, 20, 21, 22, -1, iov, 3) != -1,
	    "imsg_composev with 3 iovecs");

	/* compose_ibuf */
	w = ibuf_dynamic(10, 1000);
	ibuf_add(w, pat, 123);
	check(imsg_compose_ibuf(&a, 30, 31, 32, w) != -1,
	    "imsg_compose_ibuf");
	check(imsgbuf_queuelen(&a) == 3, "three messages queued");
	check(imsgbuf_write(&a) == 0 && imsgbuf_queuelen(&a) == 0,
	    "imsgbuf_write sends all of them");

	n = recv_msg(&b, &m);
	check(n > 0 && imsg_get_type(&m) == 10 && imsg_get_id(&m) == 11 &&
	    imsg_get_pid(&m) == 12 && imsg_get_data(&m, got, 100) == 0 &&
	    memcmp(got, pat, 100) == 0, "create/add/close message intact");
	if (n > 0)
		imsg_free(&m);
	n = recv_msg(&b, &m);
	check(n > 0 && imsg_get_type(&m) == 20 &&
	    imsg_get_data(&m, got, 200) == 0 &&
	    memcmp(got, pat, 200) == 0, "composev message intact");
	if (n > 0)
		imsg_free(&m);
	n = recv_msg(&b, &m);
	check(n > 0 && imsg_get_type(&m) == 30 && imsg_get_pid(&m) == 32 &&
	    imsg_get_data(&m, got, 123) == 0 &&
	    memcmp(got, pat, 123) == 0, "compose_ibuf message intact");
	if (n > 0)
		imsg_free(&m);

	/* imsg_add failure frees the buffer (valgrind checks the leak) */
	imsgbuf_set_maxsize(&a, 64);
	w = imsg_create(&a, 1, 0, 0, 8);
	errno = 0;
	check(w != NULL && imsg_add(w, pat, 100) == -1 && errno == ERANGE,
	    "imsg_add past maxsize fails with ERANGE");
	imsg_close(&a, NULL);
	check(imsgbuf_queuelen(&a) == 0, "failed imsg_add queues nothing");

	fini_pair(&a, &b, sv);
}

static void
test_oversize(void)
{
	struct imsgbuf	 a, b;
	struct imsg	 m;
	unsigned char	*big;
	size_t		 max = MAX_IMSGSIZE - IMSG_HEADER_SIZE;
	struct iovec	 iov[2];
	ssize_t		 n;
	int		 sv[2];

	big = calloc(1, IMSG_MAXSIZE_LIMIT + 10);
	if (big == NULL)
		fatal("calloc");
	init_pair(&a, &b, sv, 0);

	errno = 0;
	check(imsg_compose(&a, 1, 0, 0, -1, big, max + 1) == -1 &&
	    errno == ERANGE && imsgbuf_queuelen(&a) == 0,
	    "compose of header+payload > maxsize fails with ERANGE");
	errno = 0;
	check(imsg_create(&a, 1, 0, 0, max + 1) == NULL && errno == ERANGE,
	    "imsg_create > maxsize fails with ERANGE");
	iov[0].iov_base = big;
	iov[0].iov_len = max;
	iov[1].iov_base = big;
	iov[1].iov_len = 1;
	errno = 0;
	check(imsg_composev(&a, 1, 0, 0, -1, iov, 2) == -1 &&
	    errno == ERANGE, "composev > maxsize fails with ERANGE");

	big[0] = 'A';
	big[max - 1] = 'Z';
	check(imsg_compose(&a, 1, 0, 0, -1, big, max) != -1,
	    "compose of exactly maxsize succeeds");
	imsgbuf_flush(&a);
	n = recv_msg(&b, &m);
	check(n == MAX_IMSGSIZE && imsg_get_len(&m) == max &&
	    ((unsigned char *)m.data)[0] == 'A' &&
	    ((unsigned char *)m.data)[max - 1] == 'Z',
	    "maxsize message received intact");
	if (n > 0)
		imsg_free(&m);

	/* a larger limit on the sender only: receiver refuses the frame */
	imsgbuf_set_maxsize(&a, IMSG_MAXSIZE_LIMIT);
	check(imsg_compose(&a, 1, 0, 0, -1, big,
	    IMSG_MAXSIZE_LIMIT - IMSG_HEADER_SIZE) != -1,
	    "compose of %d bytes after set_maxsize", IMSG_MAXSIZE_LIMIT);
	errno = 0;
	check(imsg_compose(&a, 1, 0, 0, -1, big,
	    IMSG_MAXSIZE_LIMIT - IMSG_HEADER_SIZE + 1) == -1 &&
	    errno == ERANGE, "compose beyond the u16 limit fails");
	imsgbuf_flush(&a);
	errno = 0;
	n = recv_msg(&b, &m);
	check(n == -1 && errno == EBADMSG,
	    "frame larger than the receiver's maxsize: EBADMSG");

	fini_pair(&a, &b, sv);

	init_pair(&a, &b, sv, 0);
	imsgbuf_set_maxsize(&a, IMSG_MAXSIZE_LIMIT);
	imsgbuf_set_maxsize(&b, IMSG_MAXSIZE_LIMIT);
	big[IMSG_MAXSIZE_LIMIT - IMSG_HEADER_SIZE - 1] = 'q';
	imsg_compose(&a, 5, 0, 0, -1, big,
	    IMSG_MAXSIZE_LIMIT - IMSG_HEADER_SIZE);
	imsgbuf_flush(&a);
	n = recv_msg(&b, &m);
	check(n == IMSG_MAXSIZE_LIMIT && ((unsigned char *)m.data)
	    [IMSG_MAXSIZE_LIMIT - IMSG_HEADER_SIZE - 1] == 'q',
	    "a %d-byte message fits the read buffer", IMSG_MAXSIZE_LIMIT);
	if (n > 0)
		imsg_free(&m);
	fini_pair(&a, &b, sv);
	free(big);
}

static void
test_fdpass(void)
{
	struct imsgbuf	 a, b;
	struct imsg	 m;
	char		 buf[16];
	ssize_t		 n;
	int		 sv[2], p[2], fd, wfd;

	init_pair(&a, &b, sv, 1);
	mkpipe(p);
	wfd = p[1];
	check(imsg_compose(&a, 3, 0, 0, wfd, "fd", 3) != -1,
	    "compose with a descriptor");
	check(fd_is_open(wfd), "descriptor stays open while queued");
	check(imsgbuf_flush(&a) == 0, "flush with a descriptor");
	check(!fd_is_open(wfd), "library closed the descriptor once sent");

	n = recv_msg(&b, &m);
	check(n > 0 && (m.hdr.flags & IMSG_HDR_FLAG_FD),
	    "received message has the FD flag");
	if (n > 0) {
		fd = imsg_get_fd(&m);
		check(fd >= 0, "imsg_get_fd returns the descriptor");
		check(imsg_get_fd(&m) == -1,
		    "second imsg_get_fd returns -1 (ownership moved)");
		check(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC),
		    "received descriptor is close-on-exec");
		check(fd >= 0 && write(fd, "ping", 4) == 4,
		    "write through the received descriptor");
		if (fd >= 0)
			close(fd);
		imsg_free(&m);
	}
	memset(buf, 0, sizeof(buf));
	check(read(p[0], buf, sizeof(buf)) == 4 && memcmp(buf, "ping", 4) == 0,
	    "the pipe carries what was written through the passed fd");
	check(pipe_at_eof(p[0]), "no stray copies of the write end remain");
	close(p[0]);

	/* imsg_free closes an unclaimed descriptor */
	mkpipe(p);
	imsg_compose(&a, 3, 0, 0, p[1], NULL, 0);
	imsgbuf_flush(&a);
	n = recv_msg(&b, &m);
	check(n > 0 && m.fd >= 0, "message with descriptor, empty payload");
	if (n > 0)
		imsg_free(&m);
	check(pipe_at_eof(p[0]), "imsg_free closes an unclaimed descriptor");
	close(p[0]);

	fini_pair(&a, &b, sv);
}

static void
test_many_fds(void)
{
	struct imsgbuf	 a, b;
	struct imsg	 m;
	int		 sv[2], pa[2], pb[2], pc[2], fd, i, good;
	const char	*tag;
	char		 buf[8];
	int		 rd[3];
	ssize_t		 n;
	static const char	*tags[] = { "-", "A", "-", "B", "C", "-" };

	init_pair(&a, &b, sv, 1);
	mkpipe(pa);
	mkpipe(pb);
	mkpipe(pc);
	rd[0] = pa[0];
	rd[1] = pb[0];
	rd[2] = pc[0];

	imsg_compose(&a, 0, 0, 0, -1, tags[0], 2);
	imsg_compose(&a, 1, 0, 0, pa[1], tags[1], 2);
	imsg_compose(&a, 2, 0, 0, -1, tags[2], 2);
	imsg_compose(&a, 3, 0, 0, pb[1], tags[3], 2);
	imsg_compose(&a, 4, 0, 0, pc[1], tags[4], 2);
	imsg_compose(&a, 5, 0, 0, -1, tags[5], 2);
	check(imsgbuf_queuelen(&a) == 6 && imsgbuf_flush(&a) == 0,
	    "six messages, three with descriptors, flushed");

	good = 1;
	for (i = 0; i < 6; i++) {
		n = recv_msg(&b, &m);
		if (n <= 0 || imsg_get_type(&m) != (uint32_t)i) {
			good = 0;
			if (n > 0)
				imsg_free(&m);
			continue;
		}
		tag = m.data;
		fd = imsg_get_fd(&m);
		if (tag[0] == '-') {
			if (fd != -1)
				good = 0;
		} else if (fd < 0) {
			good = 0;
		} else {
			if (write(fd, tag, 1) != 1)
				good = 0;
			close(fd);
		}
		imsg_free(&m);
	}
	check(good, "each message got its own descriptor, in order");
	for (i = 0; i < 3; i++) {
		memset(buf, 0, sizeof(buf));
		check(read(rd[i], buf, 1) == 1 && buf[0] == "ABC"[i],
		    "pipe %c got tag %c through its own descriptor",
		    "ABC"[i], "ABC"[i]);
		check(pipe_at_eof(rd[i]), "pipe %c write end fully closed",
		    "ABC"[i]);
		close(rd[i]);
	}
	fini_pair(&a, &b, sv);
}

/*
 * A peer that sends descriptors with messages that do not claim them
 * (a raw header without the FD flag): they may not pile up.  The read
 * that would pass the limit fails with EBADMSG and closes what it got.
 */
static void
test_unclaimed_fds(void)
{
	struct imsgbuf	 a, b;
	struct imsg	 m;
	struct imsg_hdr	 hdr;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 4)];
	}		 cm;
	int		 sv[2], p[2], fds[4], i, j, failed_at = -1;
	ssize_t		 n;

	init_pair(&a, &b, sv, 1);
	mkpipe(p);
	for (i = 0; i < 40 && failed_at == -1; i++) {
		memset(&hdr, 0, sizeof(hdr));
		hdr.type = 7;
		hdr.len = sizeof(hdr);
		memset(&msg, 0, sizeof(msg));
		memset(&cm, 0, sizeof(cm));
		iov.iov_base = &hdr;
		iov.iov_len = sizeof(hdr);
		msg.msg_iov = &iov;
		msg.msg_iovlen = 1;
		msg.msg_control = cm.buf;
		msg.msg_controllen = sizeof(cm.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(sizeof(fds));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		for (j = 0; j < 4; j++)
			fds[j] = p[1];
		memcpy(CMSG_DATA(cmsg), fds, sizeof(fds));
		if (sendmsg(sv[0], &msg, 0) != (ssize_t)sizeof(hdr))
			fatal("sendmsg");
		n = imsgbuf_read(&b);
		if (n == -1) {
			check(errno == EBADMSG, "unclaimed descriptors past "
			    "the limit: EBADMSG");
			failed_at = i;
			break;
		}
		/* the messages are taken; their descriptors are not */
		while (imsg_get(&b, &m) > 0)
			imsg_free(&m);
	}
	check(failed_at > 0 && failed_at * 4 <= 64,
	    "the read fails once 32 or so descriptors wait (%d sends)",
	    failed_at);
	close(p[1]);
	imsgbuf_clear(&b);
	check(pipe_at_eof(p[0]), "and none of them is left open");
	close(p[0]);
	fini_pair(&a, &b, sv);
}

/* Pump a's queue into a raw buffer through a relay socket. */
static size_t
capture(struct imsgbuf *a, int rawfd, unsigned char *out, size_t outsz)
{
	size_t	 got = 0;
	ssize_t	 n;

	if (imsgbuf_flush(a) == -1)
		fatal("imsgbuf_flush");
	set_nonblock(rawfd);
	while (got < outsz) {
		n = read(rawfd, out + got, outsz - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return (got);
}

static void
test_split(void)
{
	struct imsgbuf	 a, b;
	struct imsg	 m;
	struct imsg_hdr	 hdr;
	struct msghdr	 msg;
	struct cmsghdr	*cmsg;
	struct iovec	 iov;
	union {
		struct cmsghdr	 hdr;
		char		 buf[CMSG_SPACE(sizeof(int))];
	}		 cm;
	unsigned char	 wire[256];
	size_t		 len, i;
	ssize_t		 n;
	int		 relay[2], sv[2], p[2], early, good, fd;

	/* a writes into relay[0]; we read the raw frame from relay[1] */
	mkpair(relay);
	if (imsgbuf_init(&a, relay[0]) == -1)
		fatal("imsgbuf_init");
	imsg_compose(&a, 77, 88, 99, -1, "split-me", 9);
	len = capture(&a, relay[1], wire, sizeof(wire));
	memcpy(&hdr, wire, sizeof(hdr));
	check(len == IMSG_HEADER_SIZE + 9 && hdr.len == len &&
	    hdr.type == 77 && hdr.peerid == 88 && hdr.pid == 99 &&
	    hdr.flags == 0 && memcmp(wire + 16, "split-me", 9) == 0,
	    "wire format: 16-byte host-order header, then payload");

	/* feed it to b one byte at a time */
	mkpair(sv);
	if (imsgbuf_init(&b, sv[1]) == -1)
		fatal("imsgbuf_init");
	early = 0;
	for (i = 0; i + 1 < len; i++) {
		raw_write(sv[0], wire + i, 1);
		if (imsgbuf_read(&b) != 1)
			early = 1;
		if (imsg_get(&b, &m) != 0) {
			early = 1;
			imsg_free(&m);
		}
	}
	check(!early, "no message before the last byte (partial header "
	    "and body)");
	raw_write(sv[0], wire + len - 1, 1);
	n = recv_msg(&b, &m);
	check(n == (ssize_t)len && imsg_get_type(&m) == 77 &&
	    imsg_get_len(&m) == 9 && memcmp(m.data, "split-me", 9) == 0,
	    "1-byte writes are reassembled into the message");
	if (n > 0)
		imsg_free(&m);

	/* two and a half messages in one write, the rest later */
	imsg_compose(&a, 1, 0, 0, -1, "one", 4);
	imsg_compose(&a, 2, 0, 0, -1, "two", 4);
	imsg_compose(&a, 3, 0, 0, -1, "three", 6);
	len = capture(&a, relay[1], wire, sizeof(wire));
	raw_write(sv[0], wire, 20 + 20 + 10);
	good = imsgbuf_read(&b) == 1;
	good &= imsg_get(&b, &m) > 0 && imsg_get_type(&m) == 1;
	imsg_free(&m);
	good &= imsg_get(&b, &m) > 0 && imsg_get_type(&m) == 2;
	imsg_free(&m);
	good &= imsg_get(&b, &m) == 0;
	raw_write(sv[0], wire + 50, len - 50);
	n = recv_msg(&b, &m);
	good &= n > 0 && imsg_get_type(&m) == 3 &&
	    strcmp(m.data, "three") == 0;
	if (n > 0)
		imsg_free(&m);
	check(good, "messages straddling read boundaries");

	/* a split message carrying a descriptor */
	imsgbuf_allow_fdpass(&b);
	imsg_compose(&a, 4, 0, 0, -1, "withfd", 7);
	len = capture(&a, relay[1], wire, sizeof(wire));
	memcpy(&hdr, wire, sizeof(hdr));
	hdr.flags |= IMSG_HDR_FLAG_FD;
	memcpy(wire, &hdr, sizeof(hdr));
	mkpipe(p);
	memset(&msg, 0, sizeof(msg));
	memset(&cm, 0, sizeof(cm));
	iov.iov_base = wire;
	iov.iov_len = 1;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cm.buf;
	msg.msg_controllen = sizeof(cm.buf);
	cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	memcpy(CMSG_DATA(cmsg), &p[1], sizeof(int));
	if (sendmsg(sv[0], &msg, 0) != 1)
		fatal("sendmsg");
	close(p[1]);
	early = 0;
	for (i = 1; i < len; i++) {
		if (imsgbuf_read(&b) != 1)
			early = 1;
		if (imsg_get(&b, &m) != 0) {
			early = 1;
			imsg_free(&m);
		}
		raw_write(sv[0], wire + i, 1);
	}
	n = recv_msg(&b, &m);
	fd = n > 0 ? imsg_get_fd(&m) : -1;
	check(!early && n == (ssize_t)len && fd >= 0,
	    "descriptor on the first byte of a 1-byte-split message");
	if (fd >= 0)
		close(fd);
	if (n > 0)
		imsg_free(&m);
	check(pipe_at_eof(p[0]), "split descriptor closed after use");
	close(p[0]);

	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(relay[0]);
	close(relay[1]);
	close(sv[0]);
	close(sv[1]);
}

static void
test_many_in_one_read(void)
{
	struct imsgbuf	 a, b;
	struct imsg	 m;
	uint32_t	 seq;
	int		 sv[2], i, good, reads;

	init_pair(&a, &b, sv, 0);
	for (i = 0; i < 500; i++) {
		seq = (uint32_t)i * 3;
		if (imsg_compose(&a, (uint32_t)i, 0, 0, -1, &seq,
		    sizeof(seq)) == -1)
			fatal("imsg_compose");
	}
	check(imsgbuf_queuelen(&a) == 500, "500 messages queued");
	check(imsgbuf_flush(&a) == 0, "500 messages flushed");

	reads = 0;
	if (imsgbuf_read(&b) == 1)
		reads++;
	good = 1;
	for (i = 0; i < 500; i++) {
		if (imsg_get(&b, &m) <= 0 ||
		    imsg_get_type(&m) != (uint32_t)i ||
		    imsg_get_data(&m, &seq, sizeof(seq)) == -1 ||
		    seq != (uint32_t)i * 3) {
			good = 0;
			break;
		}
		imsg_free(&m);
	}
	check(good && reads == 1,
	    "500 messages parsed from a single read (%d)", i);
	check(imsg_get(&b, &m) == 0, "buffer drained");
	fini_pair(&a, &b, sv);
}

static void
test_partial_write(void)
{
	struct imsgbuf	 a, b;
	struct imsg	 m;
	unsigned char	*pay, *got;
	size_t		 paylen = 8000, j;
	int		 sv[2], p[2], sz, i, next, good, partial, writes, fd;
	int		 fdok, stuck;
	const int	 nmsg = 64, fdmsg = 10;
	ssize_t		 n;

	init_pair(&a, &b, sv, 1);
	sz = 4096;
	setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	set_nonblock(sv[0]);
	set_nonblock(sv[1]);
	mkpipe(p);

	if ((pay = malloc(paylen)) == NULL || (got = malloc(paylen)) == NULL)
		fatal("malloc");
	for (i = 0; i < nmsg; i++) {
		for (j = 0; j < paylen; j++)
			pay[j] = (unsigned char)(i + j);
		if (imsg_compose(&a, (uint32_t)i, 0, 0,
		    i == fdmsg ? p[1] : -1, pay, paylen) == -1)
			fatal("imsg_compose");
	}

	next = 0;
	good = 1;
	fdok = 0;
	partial = 0;
	writes = 0;
	stuck = 0;
	while (next < nmsg && stuck < 1000) {
		if (imsgbuf_queuelen(&a) > 0) {
			if (imsgbuf_write(&a) == -1) {
				good = 0;
				break;
			}
			writes++;
			if (imsgbuf_queuelen(&a) > 0)
				partial++;
		}
		if (imsgbuf_read(&b) == -1) {
			good = 0;
			break;
		}
		stuck++;
		while ((n = imsg_get(&b, &m)) > 0) {
			stuck = 0;
			for (j = 0; j < paylen; j++)
				got[j] = (unsigned char)(next + j);
			if (imsg_get_type(&m) != (uint32_t)next ||
			    imsg_get_len(&m) != paylen ||
			    memcmp(m.data, got, paylen) != 0)
				good = 0;
			fd = imsg_get_fd(&m);
			if (next == fdmsg) {
				if (fd >= 0 && write(fd, "x", 1) == 1)
					fdok = 1;
			} else if (fd != -1)
				good = 0;
			if (fd >= 0)
				close(fd);
			imsg_free(&m);
			next++;
		}
		if (n == -1) {
			good = 0;
			break;
		}
	}
	check(good && next == nmsg, "%d x %zu-byte messages arrive intact "
	    "over a small non-blocking socket", nmsg, paylen);
	check(partial >= 2 && writes > 2,
	    "the queue drained over several writes (%d writes, %d partial)",
	    writes, partial);
	check(fdok, "descriptor in mid-stream stays with its message");
	check(imsgbuf_queuelen(&a) == 0, "send queue empty at the end");
	check(read(p[0], got, 2) == 1 && got[0] == 'x' && pipe_at_eof(p[0]),
	    "mid-stream descriptor sent once and closed by the library");
	close(p[0]);
	free(pay);
	free(got);
	fini_pair(&a, &b, sv);
}

static void
test_malformed(void)
{
	struct imsgbuf	 b;
	struct imsg	 m;
	struct imsg_hdr	 hdr;
	int		 sv[2];
	ssize_t		 n;

	/* len < header */
	mkpair(sv);
	imsgbuf_init(&b, sv[1]);
	memset(&hdr, 0, sizeof(hdr));
	hdr.type = 1;
	hdr.len = 8;
	raw_write(sv[0], &hdr, sizeof(hdr));
	errno = 0;
	n = recv_msg(&b, &m);
	check(n == -1 && errno == EBADMSG, "frame with len 8 < 16: EBADMSG");
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);

	/* len 0 */
	mkpair(sv);
	imsgbuf_init(&b, sv[1]);
	hdr.len = 0;
	raw_write(sv[0], &hdr, sizeof(hdr));
	errno = 0;
	n = recv_msg(&b, &m);
	check(n == -1 && errno == EBADMSG, "frame with len 0: EBADMSG");
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);

	/* len > maxsize, refused on the header alone */
	mkpair(sv);
	imsgbuf_init(&b, sv[1]);
	hdr.len = MAX_IMSGSIZE + 1;
	raw_write(sv[0], &hdr, sizeof(hdr));
	errno = 0;
	n = recv_msg(&b, &m);
	check(n == -1 && errno == EBADMSG,
	    "frame with len maxsize+1: EBADMSG before the body arrives");
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);

	/* a lowered maxsize applies to reading too */
	mkpair(sv);
	imsgbuf_init(&b, sv[1]);
	imsgbuf_set_maxsize(&b, 100);
	hdr.len = 101;
	raw_write(sv[0], &hdr, sizeof(hdr));
	errno = 0;
	n = recv_msg(&b, &m);
	check(n == -1 && errno == EBADMSG,
	    "frame above a lowered maxsize: EBADMSG");
	imsgbuf_clear(&b);
	close(sv[0]);
	close(sv[1]);
}

static void
test_eof(void)
{
	struct imsgbuf	 a, b;
	struct imsg	 m;
	unsigned char	 wire[64];
	size_t		 len;
	int		 relay[2], sv[2], r;

	mkpair(relay);
	imsgbuf_init(&a, relay[0]);
	imsg_compose(&a, 9, 0, 0, -1, "truncated", 10);
	len = capture(&a, relay[1], wire, sizeof(wire));

	mkpair(sv);
	imsgbuf_init(&b, sv[1]);
	raw_write(sv[0], wire, len - 3);
	close(sv[0]);
	r = imsgbuf_read(&b);
	check(r == 1 && imsg_get(&b, &m) == 0,
	    "partial message read, not complete");
	check(imsgbuf_read(&b) == 0, "EOF mid-message: imsgbuf_read 0");
	check(imsg_get(&b, &m) == 0, "no message out of a truncated frame");

	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(relay[0]);
	close(relay[1]);
	close(sv[1]);

	/* a clean EOF */
	mkpair(sv);
	imsgbuf_init(&b, sv[1]);
	close(sv[0]);
	check(imsgbuf_read(&b) == 0, "EOF on an idle socket: 0");
	imsgbuf_clear(&b);
	close(sv[1]);
}

static void
test_no_fdpass(void)
{
	struct imsgbuf	 a, b;
	struct imsg	 m;
	int		 sv[2], p[2], r;

	mkpair(sv);
	imsgbuf_init(&a, sv[0]);
	imsgbuf_init(&b, sv[1]);	/* no imsgbuf_allow_fdpass() */
	mkpipe(p);
	imsg_compose(&a, 1, 0, 0, p[1], "x", 2);
	imsgbuf_flush(&a);
	errno = 0;
	r = imsgbuf_read(&b);
	check(r == -1 && errno == EBADMSG,
	    "descriptor without allow_fdpass: read fails with EBADMSG");
	check(imsg_get(&b, &m) == 0, "no message from a refused read");
	check(pipe_at_eof(p[0]), "refused descriptor was closed");
	close(p[0]);
	fini_pair(&a, &b, sv);
}

static void
test_forward(void)
{
	struct imsgbuf	 a, b, c, d;
	struct imsg	 m, f;
	int		 sv1[2], sv2[2], p[2], fd;
	char		 buf[8];
	ssize_t		 n;

	init_pair(&a, &b, sv1, 1);
	init_pair(&c, &d, sv2, 1);
	mkpipe(p);
	imsg_compose(&a, 55, 66, 77, p[1], "fwd", 4);
	imsgbuf_flush(&a);
	n = recv_msg(&b, &m);
	check(n > 0 && m.fd >= 0, "message to forward received");
	if (n > 0) {
		check(imsg_forward(&c, &m) != -1 && m.fd == -1,
		    "imsg_forward takes the descriptor");
		imsg_free(&m);
	}
	imsgbuf_flush(&c);
	n = recv_msg(&d, &f);
	check(n > 0 && imsg_get_type(&f) == 55 && imsg_get_id(&f) == 66 &&
	    imsg_get_pid(&f) == 77 && imsg_get_len(&f) == 4 &&
	    strcmp(f.data, "fwd") == 0, "forwarded message intact");
	fd = n > 0 ? imsg_get_fd(&f) : -1;
	check(fd >= 0 && write(fd, "f", 1) == 1 &&
	    read(p[0], buf, 1) == 1 && buf[0] == 'f',
	    "forwarded descriptor works");
	if (fd >= 0)
		close(fd);
	if (n > 0)
		imsg_free(&f);
	check(pipe_at_eof(p[0]), "no copies of the forwarded fd left");
	close(p[0]);
	fini_pair(&a, &b, sv1);
	fini_pair(&c, &d, sv2);
}

static void
test_clear(void)
{
	struct imsgbuf	 a, b;
	int		 sv[2], p[2], q[2];

	/* a queued descriptor is closed by imsgbuf_clear */
	init_pair(&a, &b, sv, 1);
	mkpipe(p);
	imsg_compose(&a, 1, 0, 0, p[1], NULL, 0);
	imsg_compose(&a, 2, 0, 0, -1, "z", 2);
	imsgbuf_clear(&a);
	check(imsgbuf_queuelen(&a) == 0 && pipe_at_eof(p[0]),
	    "imsgbuf_clear frees the queue and closes queued descriptors");
	close(p[0]);
	imsgbuf_clear(&b);

	/* a received, unclaimed descriptor is closed by imsgbuf_clear */
	if (imsgbuf_init(&a, sv[0]) == -1 || imsgbuf_init(&b, sv[1]) == -1)
		fatal("imsgbuf_init");
	imsgbuf_allow_fdpass(&b);
	mkpipe(q);
	imsg_compose(&a, 1, 0, 0, q[1], NULL, 0);
	imsgbuf_flush(&a);
	check(imsgbuf_read(&b) == 1 && b.nrfds == 1,
	    "descriptor received and held");
	imsgbuf_clear(&b);
	check(pipe_at_eof(q[0]),
	    "imsgbuf_clear closes received, unclaimed descriptors");
	close(q[0]);
	fini_pair(&a, &b, sv);
}

static void
test_errors(void)
{
	struct imsgbuf	 a, b;
	struct imsg	 m;
	int		 sv[2];

	/* nothing to read on a non-blocking socket */
	init_pair(&a, &b, sv, 0);
	set_nonblock(sv[1]);
	check(imsgbuf_read(&b) == 1 && imsg_get(&b, &m) == 0,
	    "EAGAIN: imsgbuf_read 1, nothing to get");

	/* peer gone: EPIPE, and no SIGPIPE */
	close(sv[1]);
	imsg_compose(&a, 1, 0, 0, -1, "lost", 5);
	errno = 0;
	check(imsgbuf_write(&a) == -1 && errno == EPIPE,
	    "write to a closed peer: -1/EPIPE without SIGPIPE");
	errno = 0;
	check(imsgbuf_flush(&a) == -1, "flush to a closed peer: -1");
	imsgbuf_clear(&a);
	imsgbuf_clear(&b);
	close(sv[0]);
}

int
main(void)
{
	alarm(120);
	test_ibuf();
	test_maxsize();
	test_roundtrip();
	test_create_variants();
	test_oversize();
	test_fdpass();
	test_many_fds();
	test_unclaimed_fds();
	test_split();
	test_many_in_one_read();
	test_partial_write();
	test_malformed();
	test_eof();
	test_no_fdpass();
	test_forward();
	test_clear();
	test_errors();
	return (failed ? 1 : 0);
}
