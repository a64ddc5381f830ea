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
 * iob: the disk bench's load, run inside the guest (a static binary in
 * the bench's initramfs; busybox has no fio).
 *
 *	iob -m read|write|randread|randwrite [-1] [-b size] [-j jobs]
 *	    [-t seconds] [-s span] device
 *
 * O_DIRECT I/O of -b bytes (default 4096; K and M suffixes) on the block
 * device for -t seconds (default 5), by -j threads (default 1: the queue
 * depth, since each thread has one request in flight).  Sequential modes
 * give each thread its own part of the first -s bytes of the device
 * (default: all of it) and wrap around, or with -1 stop after one pass
 * (a timed fill); random ones pick aligned offsets from the span.  Writes carry non-zero bytes, and end with an
 * fdatasync that is timed too, so that what the VMM has not written yet
 * is counted.  Prints one line:
 *
 *	IOB mode=randread bs=4096 jobs=4 ops=N bytes=N secs=S MBps=X IOPS=Y
 *
 * and exits 0, or 1 with a message if the device could not be used or an
 * I/O failed.
 */

#include <sys/ioctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define IOB_MAX_JOBS	64
#define IOB_ALIGN	4096

enum { M_READ, M_WRITE, M_RANDREAD, M_RANDWRITE };

struct job {
	pthread_t	 t;
	int		 id;
	uint64_t	 ops;
	int		 err;
	uint64_t	 rnd;
};

static const char *const	 modes[] = { "read", "write", "randread",
				    "randwrite" };
static int			 fd, mode, njobs = 1, onepass;
static uint64_t			 bs = 4096, span, devsize;
static volatile int		 stop;

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (ts.tv_sec + ts.tv_nsec / 1e9);
}

static uint64_t
xorshift(uint64_t *s)
{
	uint64_t	x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return (*s = x);
}

static void *
job_main(void *arg)
{
	struct job	*j = arg;
	uint64_t	 blocks = span / bs, part, first, i = 0, off;
	ssize_t		 n;
	void		*buf;
	size_t		 k;
	int		 wr = mode == M_WRITE || mode == M_RANDWRITE;

	if (posix_memalign(&buf, IOB_ALIGN, bs) != 0) {
		j->err = ENOMEM;
		return (NULL);
	}
	for (k = 0; k < bs; k++)
		((uint8_t *)buf)[k] = (uint8_t)(k * 131 + j->id + 1) | 1;
	part = blocks / njobs;
	first = part * j->id;
	while (!stop) {
		if (mode == M_RANDREAD || mode == M_RANDWRITE)
			off = (xorshift(&j->rnd) % blocks) * bs;
		else {
			off = (first + i) * bs;
			i = (i + 1) % part;
		}
		if (wr)
			n = pwrite(fd, buf, bs, off);
		else
			n = pread(fd, buf, bs, off);
		if (n != (ssize_t)bs) {
			j->err = n == -1 ? errno : EIO;
			break;
		}
		j->ops++;
		if (onepass && i == 0)
			break;
	}
	free(buf);
	return (NULL);
}

static uint64_t
size_arg(const char *s)
{
	char		*end;
	uint64_t	 v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s)
		return (0);
	if (*end == 'K' || *end == 'k')
		v <<= 10, end++;
	else if (*end == 'M' || *end == 'm')
		v <<= 20, end++;
	else if (*end == 'G' || *end == 'g')
		v <<= 30, end++;
	return (*end == '\0' ? v : 0);
}

static void
usage(void)
{
	fprintf(stderr, "usage: iob -m read|write|randread|randwrite [-1] "
	    "[-b size] [-j jobs] [-t seconds] [-s span] device\n");
	exit(1);
}

int
main(int argc, char *argv[])
{
	struct job	 jobs[IOB_MAX_JOBS];
	double		 t0, secs;
	uint64_t	 ops = 0;
	int		 ch, i, seconds = 5, err = 0;

	mode = -1;
	while ((ch = getopt(argc, argv, "1b:j:m:s:t:")) != -1) {
		switch (ch) {
		case '1':
			onepass = 1;
			break;
		case 'b':
			if ((bs = size_arg(optarg)) == 0 ||
			    bs % 512 != 0 || bs > (64 << 20))
				usage();
			break;
		case 'j':
			njobs = atoi(optarg);
			if (njobs < 1 || njobs > IOB_MAX_JOBS)
				usage();
			break;
		case 'm':
			for (i = 0; i < 4; i++)
				if (strcmp(optarg, modes[i]) == 0)
					mode = i;
			break;
		case 's':
			if ((span = size_arg(optarg)) == 0)
				usage();
			break;
		case 't':
			if ((seconds = atoi(optarg)) < 1)
				usage();
			break;
		default:
			usage();
		}
	}
	if (mode == -1 || optind != argc - 1 ||
	    (onepass && mode != M_READ && mode != M_WRITE))
		usage();

	fd = open(argv[optind], (mode == M_WRITE || mode == M_RANDWRITE ?
	    O_RDWR : O_RDONLY) | O_DIRECT);
	if (fd == -1 || ioctl(fd, BLKGETSIZE64, &devsize) == -1) {
		fprintf(stderr, "iob: %s: %s\n", argv[optind],
		    strerror(errno));
		return (1);
	}
	if (span == 0 || span > devsize)
		span = devsize;
	if (span / bs < (uint64_t)njobs) {
		fprintf(stderr, "iob: %s: too small for %d jobs of %llu "
		    "bytes\n", argv[optind], njobs, (unsigned long long)bs);
		return (1);
	}

	memset(jobs, 0, sizeof(jobs));
	t0 = now();
	for (i = 0; i < njobs; i++) {
		jobs[i].id = i;
		jobs[i].rnd = 0x9e3779b97f4a7c15ULL * (i + 1);
		if ((errno = pthread_create(&jobs[i].t, NULL, job_main,
		    &jobs[i])) != 0) {
			perror("iob: pthread_create");
			return (1);
		}
	}
	if (!onepass) {
		sleep(seconds);
		stop = 1;
	}
	for (i = 0; i < njobs; i++) {
		pthread_join(jobs[i].t, NULL);
		ops += jobs[i].ops;
		if (jobs[i].err != 0)
			err = jobs[i].err;
	}
	if ((mode == M_WRITE || mode == M_RANDWRITE) && fdatasync(fd) == -1)
		err = errno;
	secs = now() - t0;
	if (err != 0) {
		fprintf(stderr, "iob: %s: %s\n", argv[optind], strerror(err));
		return (1);
	}
	printf("IOB mode=%s bs=%llu jobs=%d ops=%llu bytes=%llu secs=%.3f "
	    "MBps=%.2f IOPS=%.1f\n", modes[mode], (unsigned long long)bs,
	    njobs, (unsigned long long)ops, (unsigned long long)(ops * bs),
	    secs, ops * bs / secs / 1e6, ops / secs);
	return (0);
}
