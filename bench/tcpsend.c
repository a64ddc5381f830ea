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
 * tcpsend ADDR PORT MB: MB MiB of zeroes from memory to ADDR:PORT over
 * TCP, then one line of what the kernel knows of the connection, from
 * TCP_INFO just before the close:
 *   TCPSEND bytes=N secs=S rtt=US minrtt=US cwnd=SEGS pacing=B/S
 *     segs=N retrans=N
 * (segs: segments handed to the device, TSO frames counting as one each
 * of their MSS-sized parts).  Part of the network bench (bench/netbench).
 */

#include <sys/socket.h>
#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <linux/tcp.h>

#include <err.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHUNK	(128 * 1024)

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

int
main(int argc, char *argv[])
{
	static char		 buf[CHUNK];
	struct sockaddr_in	 sin;
	struct tcp_info		 ti;
	socklen_t		 tlen = sizeof(ti);
	uint64_t		 left, sent = 0;
	double			 t0, t1;
	ssize_t			 n;
	char			*end;
	int			 s;

	if (argc != 4)
		errx(2, "usage: tcpsend addr port MB");
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(strtoul(argv[2], &end, 10));
	if (*end != '\0' || inet_pton(AF_INET, argv[1], &sin.sin_addr) != 1)
		errx(2, "bad address or port");
	left = strtoull(argv[3], &end, 10) << 20;
	if (*end != '\0')
		errx(2, "bad size");
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		err(1, "socket");
	if (connect(s, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		err(1, "connect");
	t0 = now();
	while (left > 0) {
		n = write(s, buf, left < CHUNK ? left : CHUNK);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			err(1, "write");
		}
		left -= n;
		sent += n;
	}
	if (getsockopt(s, IPPROTO_TCP, TCP_INFO, &ti, &tlen) == -1)
		err(1, "TCP_INFO");
	if (shutdown(s, SHUT_WR) == -1)
		err(1, "shutdown");
	/* the peer closes once it has it all */
	while ((n = read(s, buf, sizeof(buf))) > 0)
		;
	t1 = now();
	printf("TCPSEND bytes=%llu secs=%.3f rtt=%u minrtt=%u cwnd=%u "
	    "pacing=%llu segs=%u retrans=%u\n", (unsigned long long)sent,
	    t1 - t0, ti.tcpi_rtt, ti.tcpi_min_rtt, ti.tcpi_snd_cwnd,
	    (unsigned long long)ti.tcpi_pacing_rate, ti.tcpi_segs_out,
	    ti.tcpi_total_retrans);
	close(s);
	return (0);
}
