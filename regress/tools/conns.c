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
 * conns SOCKET N SECONDS: open N connections to vmd's control socket
 * and hold them; after half a second print "kept K" (those vmd did not
 * close), then keep them for SECONDS before exiting.  For the tests of
 * the connection limits.
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

int
main(int argc, char *argv[])
{
	struct sockaddr_un	 sun;
	struct pollfd		*pfd;
	int			 n, secs, i, kept = 0;

	if (argc != 4)
		errx(2, "usage: conns SOCKET N SECONDS");
	n = atoi(argv[2]);
	secs = atoi(argv[3]);
	if (n < 1 || n > 4096 || secs < 0)
		errx(2, "bad counts");
	if ((pfd = calloc(n, sizeof(*pfd))) == NULL)
		err(2, "calloc");
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlcpy(sun.sun_path, argv[1], sizeof(sun.sun_path)) >=
	    sizeof(sun.sun_path))
		errx(2, "socket path too long");
	for (i = 0; i < n; i++) {
		if ((pfd[i].fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1)
			err(2, "socket");
		if (connect(pfd[i].fd, (struct sockaddr *)&sun,
		    sizeof(sun)) == -1)
			err(2, "connect");
		pfd[i].events = POLLIN;
	}
	usleep(500000);
	/* vmd sends nothing unasked: a readable one was closed */
	if (poll(pfd, n, 0) == -1)
		err(2, "poll");
	for (i = 0; i < n; i++)
		if (pfd[i].revents == 0)
			kept++;
	printf("kept %d\n", kept);
	fflush(stdout);
	sleep(secs);
	return (0);
}
