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
 * blkpat: the disk pattern of the guest's blkwrite/blkcheck/blkmany
 * commands, on the host (512-byte sectors):
 *
 *	blkpat fill FILE SECTOR COUNT SEED	write it, nothing else changes
 *	blkpat check FILE SECTOR COUNT SEED	exit 0 if it is there, else
 *						print the first bad sector, exit 1
 *	blkpat sum FILE SECTOR COUNT		print sum=0x<FNV-1a-32> of
 *						the sectors, as blkread does
 *
 * The byte at disk offset o for seed s is
 *	(uint8_t)((o >> 9) * 0x9e + (o & 0x1ff) + s * 0x3b + ((o >> 17) ^ s))
 * Past the end of the file, check and sum see zeros (a sparse image).
 */

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SECTOR	512

static void
usage(void)
{
	fprintf(stderr, "usage: blkpat fill|check file sector count seed\n"
	    "       blkpat sum file sector count\n");
	exit(2);
}

static uint64_t
num(const char *s)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (*s == '\0' || *end != '\0' || errno != 0)
		errx(2, "bad number: %s", s);
	return v;
}

static void
pattern(uint8_t *buf, uint64_t sector, uint64_t seed)
{
	uint64_t o;
	int i;

	for (i = 0; i < SECTOR; i++) {
		o = sector * SECTOR + i;
		buf[i] = (uint8_t)((o >> 9) * 0x9e + (o & 0x1ff) +
		    seed * 0x3b + ((o >> 17) ^ seed));
	}
}

/* One sector; zeros past the end of the file. */
static void
readsect(int fd, const char *path, uint8_t *buf, uint64_t sector)
{
	ssize_t n;
	size_t got = 0;

	while (got < SECTOR) {
		n = pread(fd, buf + got, SECTOR - got,
		    (off_t)(sector * SECTOR + got));
		if (n < 0)
			err(2, "%s", path);
		if (n == 0)
			break;
		got += n;
	}
	memset(buf + got, 0, SECTOR - got);
}

int
main(int argc, char *argv[])
{
	uint8_t buf[SECTOR], want[SECTOR];
	uint64_t sector, count, seed = 0, i;
	uint32_t h = 0x811c9dc5;
	const char *cmd, *path;
	int fd, j;

	if (argc < 2)
		usage();
	cmd = argv[1];
	if ((strcmp(cmd, "fill") == 0 || strcmp(cmd, "check") == 0) &&
	    argc == 6)
		seed = num(argv[5]);
	else if (strcmp(cmd, "sum") != 0 || argc != 5)
		usage();
	path = argv[2];
	sector = num(argv[3]);
	count = num(argv[4]);

	if (strcmp(cmd, "fill") == 0) {
		if ((fd = open(path, O_WRONLY | O_CREAT, 0644)) == -1)
			err(2, "%s", path);
		for (i = 0; i < count; i++) {
			pattern(buf, sector + i, seed);
			if (pwrite(fd, buf, SECTOR,
			    (off_t)((sector + i) * SECTOR)) != SECTOR)
				err(2, "%s", path);
		}
		if (close(fd) == -1)
			err(2, "%s", path);
		return 0;
	}
	if ((fd = open(path, O_RDONLY)) == -1)
		err(2, "%s", path);
	for (i = 0; i < count; i++) {
		readsect(fd, path, buf, sector + i);
		if (strcmp(cmd, "check") == 0) {
			pattern(want, sector + i, seed);
			if (memcmp(buf, want, SECTOR) != 0) {
				printf("%" PRIu64 "\n", sector + i);
				return 1;
			}
		} else {
			for (j = 0; j < SECTOR; j++) {
				h ^= buf[j];
				h *= 0x01000193;
			}
		}
	}
	close(fd);
	if (strcmp(cmd, "sum") == 0)
		printf("sum=0x%08x\n", h);
	return 0;
}
