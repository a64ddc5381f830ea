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
 * notifyd NOTIFYSOCK CTLSOCK SECONDS: what a service manager hears of
 * sd_notify(3)'s protocol.  Binds the datagram socket NOTIFYSOCK and, for
 * SECONDS, prints each message it gets on a line; after a READY=1 it
 * tries the control socket CTLSOCK at once and prints "accepts" or
 * "refused" (whether vmd was ready when it said so).
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
try_connect(const char *path)
{
	struct sockaddr_un	sun;
	int			fd, ok;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
		return (0);
	ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return (ok);
}

int
main(int argc, char *argv[])
{
	struct sockaddr_un	sun;
	struct pollfd		pfd;
	char			buf[512];
	ssize_t			n;
	int			fd, secs;

	if (argc != 4)
		errx(2, "usage: notifyd NOTIFYSOCK CTLSOCK SECONDS");
	secs = atoi(argv[3]);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, argv[1], sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(2, "path too long");
	unlink(argv[1]);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) == -1 ||
	    bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		err(2, "%s", argv[1]);
	pfd.fd = fd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, secs * 1000) > 0) {
		if ((n = recv(fd, buf, sizeof(buf) - 1, 0)) <= 0)
			break;
		buf[n] = '\0';
		if (strcmp(buf, "READY=1") == 0)
			printf("%s %s\n", buf, try_connect(argv[2]) ?
			    "accepts" : "refused");
		else
			printf("%s\n", buf);
		fflush(stdout);
	}
	return (0);
}
