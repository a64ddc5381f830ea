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
 * badimsg SOCKET CASE: send vmd's control socket one malformed or hostile
 * request and print what came back: "closed", "fail <errno>",
 * "type <n>" or "timeout".  Case "flood": 20000 status requests, none of
 * their answers read; "flooded" once written, then the connection is
 * held until vmd closes it ("closed") or for 30 s ("timeout").
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmd.h"

static int
sock_connect(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		perror("connect");
		exit(2);
	}
	return (fd);
}

static void
raw_header(int fd, uint32_t type, uint16_t len, uint32_t peerid)
{
	struct imsg_hdr	hdr;

	memset(&hdr, 0, sizeof(hdr));
	hdr.type = type;
	hdr.len = len;
	hdr.peerid = peerid;
	hdr.pid = getpid();
	if (write(fd, &hdr, sizeof(hdr)) != sizeof(hdr))
		exit(2);
}

int
main(int argc, char *argv[])
{
	struct imsgbuf	 ibuf;
	struct imsg	 imsg;
	struct pollfd	 pfd;
	char		 junk[64];
	struct imsg_hdr	 hdr;
	const char	*c;
	int		 fd, error, i;
	ssize_t		 n;

	if (argc != 3) {
		fprintf(stderr, "usage: badimsg socket case\n");
		return (2);
	}
	c = argv[2];
	fd = sock_connect(argv[1]);
	if (imsgbuf_init(&ibuf, fd) == -1)
		return (2);
	memset(junk, 'A', sizeof(junk));

	if (strcmp(c, "short") == 0)		/* len below the header */
		raw_header(fd, IMSG_VMDOP_GET_INFO_VM_REQUEST, 8,
		    VMD_PROTOCOL_VERSION);
	else if (strcmp(c, "truncated") == 0) {	/* promises more, then EOF */
		raw_header(fd, IMSG_VMDOP_GET_INFO_VM_REQUEST, 1000,
		    VMD_PROTOCOL_VERSION);
		write(fd, junk, sizeof(junk));
		shutdown(fd, SHUT_WR);
	} else if (strcmp(c, "garbage") == 0) {	/* noise, then EOF */
		write(fd, junk, sizeof(junk));
		shutdown(fd, SHUT_WR);
	} else if (strcmp(c, "version") == 0)
		imsg_compose(&ibuf, IMSG_VMDOP_GET_INFO_VM_REQUEST, 99, 0, -1,
		    NULL, 0);
	else if (strcmp(c, "startlen") == 0)
		imsg_compose(&ibuf, IMSG_VMDOP_START_VM_REQUEST,
		    VMD_PROTOCOL_VERSION, 0, -1, junk, 10);
	else if (strcmp(c, "pauselen") == 0)
		imsg_compose(&ibuf, IMSG_VMDOP_PAUSE_VM,
		    VMD_PROTOCOL_VERSION, 0, -1, junk, 3);
	else if (strcmp(c, "resetlen") == 0)
		imsg_compose(&ibuf, IMSG_CTL_RESET,
		    VMD_PROTOCOL_VERSION, 0, -1, junk, 1);
	else if (strcmp(c, "loadnonul") == 0)
		imsg_compose(&ibuf, IMSG_VMDOP_LOAD,
		    VMD_PROTOCOL_VERSION, 0, -1, junk, sizeof(junk));
	else if (strcmp(c, "oversized") == 0) {	/* past MAX_IMSGSIZE */
		signal(SIGPIPE, SIG_IGN);
		raw_header(fd, IMSG_VMDOP_GET_INFO_VM_REQUEST, 65535,
		    VMD_PROTOCOL_VERSION);
		for (i = 0; i < 1000; i++)
			if (write(fd, junk, sizeof(junk)) != sizeof(junk)) {
				/* vmd hung up on us while we wrote */
				printf("closed\n");
				return (0);
			}
	} else if (strcmp(c, "fds") == 0) {	/* 40 descriptors unasked */
		for (i = 0; i < 40; i++)
			imsg_compose(&ibuf, IMSG_VMDOP_GET_INFO_VM_REQUEST,
			    VMD_PROTOCOL_VERSION, 0, dup(0), NULL, 0);
		/* and then hold the connection for a while */
		if (imsgbuf_flush(&ibuf) == -1)
			return (2);
		sleep(2);
		printf("sent\n");
		return (0);
	} else if (strcmp(c, "type") == 0)
		imsg_compose(&ibuf, 9999, VMD_PROTOCOL_VERSION, 0, -1, NULL,
		    0);
	else if (strcmp(c, "flood") == 0) {
		signal(SIGPIPE, SIG_IGN);
		memset(&hdr, 0, sizeof(hdr));
		hdr.type = IMSG_VMDOP_GET_INFO_VM_REQUEST;
		hdr.len = sizeof(hdr);
		hdr.peerid = VMD_PROTOCOL_VERSION;
		for (i = 0; i < 20000; i++)
			if (write(fd, &hdr, sizeof(hdr)) != sizeof(hdr)) {
				/* vmd hung up on us while we wrote */
				printf("closed\n");
				return (0);
			}
		printf("flooded\n");
		fflush(stdout);
		/* read nothing: wait for the close vmd owes us */
		for (i = 0; i < 300; i++) {
			if (recv(fd, junk, 1, MSG_PEEK | MSG_DONTWAIT) == 0) {
				printf("closed\n");
				return (0);
			}
			usleep(100000);
		}
		printf("timeout\n");
		return (0);
	} else {
		fprintf(stderr, "unknown case %s\n", c);
		return (2);
	}
	if (imsgbuf_flush(&ibuf) == -1)
		return (2);

	pfd.fd = fd;
	pfd.events = POLLIN;
	for (;;) {
		if (poll(&pfd, 1, 5000) <= 0) {
			printf("timeout\n");
			return (0);
		}
		if ((n = imsgbuf_read(&ibuf)) == 0 || n == -1) {
			printf("closed\n");
			return (0);
		}
		if ((n = imsg_get(&ibuf, &imsg)) == -1) {
			printf("malformed reply\n");
			return (1);
		}
		if (n == 0)
			continue;
		if (imsg_get_type(&imsg) == IMSG_CTL_FAIL &&
		    imsg_get_data(&imsg, &error, sizeof(error)) == 0)
			printf("fail %d\n", error);
		else
			printf("type %u\n", imsg_get_type(&imsg));
		imsg_free(&imsg);
		return (0);
	}
}
