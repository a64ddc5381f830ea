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
 * clients SOCKET MODE N SECONDS: many clients of vmd's control socket
 * from one process (no fork storm to skew the timing):
 *   busy   N connections, each asking for the VM list again as soon as
 *          the last answer ended; prints "answers K"
 *   slow   N connections, each writing its request one byte every 100 ms
 *          and then reading the answer; prints "answered K of N"
 *   probe  every 100 ms a new connection, one request, its whole answer;
 *          prints "probes K failed F max_ms M"
 * all for SECONDS.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vmd.h"

#define MAXC	1024

struct client {
	struct imsgbuf	ibuf;
	int		fd;
	int		sent;		/* bytes of the request written */
	int		done;
};

static const char	*path;

static double
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec * 1e3 + ts.tv_nsec / 1e6);
}

static int
sock_connect(void)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return (-1);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return (-1);
	}
	return (fd);
}

static void
request(struct imsg_hdr *hdr)
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->type = IMSG_VMDOP_GET_INFO_VM_REQUEST;
	hdr->len = sizeof(*hdr);
	hdr->peerid = VMD_PROTOCOL_VERSION;
	hdr->pid = getpid();
}

/* Read what is there; 1 once the list has ended, -1 on close. */
static int
answer(struct client *c)
{
	struct imsg	imsg;
	ssize_t		n;
	int		end = 0;

	if ((n = imsgbuf_read(&c->ibuf)) == -1 && errno != EAGAIN)
		return (-1);
	if (n == 0)
		return (-1);
	for (;;) {
		if ((n = imsg_get(&c->ibuf, &imsg)) == -1)
			return (-1);
		if (n == 0)
			break;
		if (imsg_get_type(&imsg) == IMSG_VMDOP_GET_INFO_VM_END_DATA ||
		    imsg_get_type(&imsg) == IMSG_CTL_FAIL)
			end = 1;
		imsg_free(&imsg);
	}
	return (end);
}

static int
open_client(struct client *c)
{
	if ((c->fd = sock_connect()) == -1)
		return (-1);
	if (imsgbuf_init(&c->ibuf, c->fd) == -1)
		return (-1);
	c->sent = 0;
	c->done = 0;
	return (0);
}

static void
close_client(struct client *c)
{
	imsgbuf_clear(&c->ibuf);
	close(c->fd);
	c->fd = -1;
}

static int
busy(int n, int secs)
{
	static struct client	c[MAXC];
	struct pollfd		pfd[MAXC];
	struct imsg_hdr		hdr;
	double			end = now_ms() + secs * 1000.0;
	long			answers = 0;
	int			i, r;

	request(&hdr);
	for (i = 0; i < n; i++) {
		if (open_client(&c[i]) == -1)
			err(2, "connect %d", i);
		if (write(c[i].fd, &hdr, sizeof(hdr)) != sizeof(hdr))
			err(2, "write");
	}
	while (now_ms() < end) {
		for (i = 0; i < n; i++) {
			if (c[i].fd == -1 && open_client(&c[i]) == 0 &&
			    write(c[i].fd, &hdr, sizeof(hdr)) != sizeof(hdr))
				close_client(&c[i]);
			pfd[i].fd = c[i].fd;
			pfd[i].events = POLLIN;
		}
		if (poll(pfd, n, 100) == -1)
			err(2, "poll");
		for (i = 0; i < n; i++) {
			if (c[i].fd == -1 || !(pfd[i].revents & (POLLIN |
			    POLLHUP)))
				continue;
			if ((r = answer(&c[i])) == -1) {
				/* hung up on: connect again */
				close_client(&c[i]);
				if (open_client(&c[i]) == -1)
					continue;
			} else if (r == 1)
				answers++;
			else
				continue;
			if (write(c[i].fd, &hdr, sizeof(hdr)) != sizeof(hdr))
				close_client(&c[i]);
		}
	}
	printf("answers %ld\n", answers);
	return (0);
}

static int
slow(int n, int secs)
{
	static struct client	c[MAXC];
	struct imsg_hdr		hdr;
	struct pollfd		pfd;
	double			end = now_ms() + secs * 1000.0;
	int			i, k, answered = 0;

	request(&hdr);
	for (i = 0; i < n; i++)
		if (open_client(&c[i]) == -1)
			err(2, "connect %d", i);
	/* one byte each every 100 ms */
	for (k = 0; k < (int)sizeof(hdr); k++) {
		for (i = 0; i < n; i++)
			if (c[i].fd != -1 && write(c[i].fd,
			    (char *)&hdr + k, 1) != 1)
				close_client(&c[i]);
		usleep(100000);
	}
	for (i = 0; i < n; i++) {
		if (c[i].fd == -1)
			continue;
		pfd.fd = c[i].fd;
		pfd.events = POLLIN;
		while (now_ms() < end && poll(&pfd, 1, 100) >= 0) {
			if (!(pfd.revents & (POLLIN | POLLHUP)))
				continue;
			if (answer(&c[i]) == 1)
				answered++;
			else
				continue;
			break;
		}
	}
	printf("answered %d of %d\n", answered, n);
	return (0);
}

static int
probe(int secs)
{
	struct client	c;
	struct imsg_hdr	hdr;
	struct pollfd	pfd;
	double		end = now_ms() + secs * 1000.0, t0, t, max = 0;
	int		probes = 0, failed = 0, r;

	request(&hdr);
	while (now_ms() < end) {
		t0 = now_ms();
		probes++;
		r = -1;
		if (open_client(&c) == 0) {
			if (write(c.fd, &hdr, sizeof(hdr)) == sizeof(hdr)) {
				pfd.fd = c.fd;
				pfd.events = POLLIN;
				/* give up after 5 s: that is a failure */
				while (now_ms() - t0 < 5000 &&
				    poll(&pfd, 1, 100) >= 0) {
					if (!(pfd.revents & (POLLIN | POLLHUP)))
						continue;
					if ((r = answer(&c)) != 0)
						break;
				}
			}
			close_client(&c);
		}
		t = now_ms() - t0;
		if (r != 1)
			failed++;
		if (t > max)
			max = t;
		usleep(100000);
	}
	printf("probes %d failed %d max_ms %.0f\n", probes, failed, max);
	return (0);
}

int
main(int argc, char *argv[])
{
	int	n, secs;

	if (argc != 5)
		errx(2, "usage: clients SOCKET busy|slow|probe N SECONDS");
	signal(SIGPIPE, SIG_IGN);
	path = argv[1];
	n = atoi(argv[3]);
	secs = atoi(argv[4]);
	if (n < 1 || n > MAXC || secs < 1)
		errx(2, "bad N or SECONDS");
	if (strcmp(argv[2], "busy") == 0)
		return (busy(n, secs));
	if (strcmp(argv[2], "slow") == 0)
		return (slow(n, secs));
	if (strcmp(argv[2], "probe") == 0)
		return (probe(secs));
	errx(2, "unknown mode %s", argv[2]);
}
