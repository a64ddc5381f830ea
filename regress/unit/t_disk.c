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
 * Unit tests of the disk backends (vioraw.c, vioqcow2.c, disk.c): the
 * same random writes to a raw and a qcow2 image and to a model in memory
 * (upstream's diskfmt idea), images made by qemu-img read and written,
 * backing chains, hostile headers refused with the file unchanged, and
 * several threads writing at once.  qemu-img checks and compares what we
 * wrote; without it those checks are skipped, saying so.
 */

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmd.h"
#include "disk.h"
#include "tap.h"

#define MB		(1024ULL * 1024)

static char	 tmpdir[64];
static int	 have_qemu;

static uint64_t	 rnd_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (rnd_state);
}

static void
fill(uint8_t *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(rnd() >> 24);
}

static const char *
tpath(const char *name)
{
	char	*b;

	/* never freed: a test's handful of names */
	if (asprintf(&b, "%s/%s", tmpdir, name) == -1)
		abort();
	return (b);
}

static int
sh(const char *fmt, ...)
{
	char	 cmd[4096];
	va_list	 ap;
	int	 st;

	va_start(ap, fmt);
	(void)vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	return (WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static void
skip(const char *what)
{
	printf("ok - %s # SKIP qemu-img not installed (Debian qemu-utils)\n",
	    what);
}

/* qemu-img check finds no errors and no leaks */
static void
qemu_check(const char *path, const char *what)
{
	if (!have_qemu) {
		skip(what);
		return;
	}
	check(sh("qemu-img check -q '%s'", path) == 0,
	    "%s: qemu-img check clean", what);
}

/* qemu-img compare finds img equal to the raw file model */
static void
qemu_compare(const char *img, const char *model, const char *what)
{
	if (!have_qemu) {
		skip(what);
		return;
	}
	check(sh("qemu-img compare -q -f qcow2 -F raw '%s' '%s'", img,
	    model) == 0, "%s: qemu-img compare equal", what);
}

static uint64_t
file_hash(const char *path)
{
	uint8_t		 b[65536];
	uint64_t	 h = 1469598103934665603ULL;
	ssize_t		 n, i;
	int		 fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return (0);
	while ((n = read(fd, b, sizeof(b))) > 0)
		for (i = 0; i < n; i++)
			h = (h ^ b[i]) * 1099511628211ULL;
	close(fd);
	return (h);
}

static int
write_file(const char *path, const void *p, size_t len)
{
	int	 fd;

	(void)unlink(path);
	if ((fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0600)) == -1)
		return (-1);
	if (write(fd, p, len) != (ssize_t)len) {
		close(fd);
		return (-1);
	}
	return (close(fd));
}

static int
patch(const char *path, uint64_t off, const void *p, size_t len)
{
	int	 fd, r;

	if ((fd = open(path, O_WRONLY)) == -1)
		return (-1);
	r = pwrite(fd, p, len, (off_t)off) == (ssize_t)len ? 0 : -1;
	close(fd);
	return (r);
}

static int
patch32(const char *path, uint64_t off, uint32_t v)
{
	v = htobe32(v);
	return (patch(path, off, &v, 4));
}

static int
patch64(const char *path, uint64_t off, uint64_t v)
{
	v = htobe64(v);
	return (patch(path, off, &v, 8));
}

static int
copy_file(const char *from, const char *to)
{
	return (sh("cp '%s' '%s'", from, to));
}

/* A write split over several iovecs, as a guest's descriptors would. */
static int
write_split(struct disk *d, const uint8_t *p, size_t len, uint64_t off)
{
	struct iovec	 iov[8];
	size_t		 done = 0, n;
	int		 cnt = 0;

	while (done < len && cnt < 7) {
		n = 1 + rnd() % (len - done);
		iov[cnt].iov_base = (void *)(p + done);
		iov[cnt++].iov_len = n;
		done += n;
	}
	if (done < len) {
		iov[cnt].iov_base = (void *)(p + done);
		iov[cnt++].iov_len = len - done;
	}
	return (disk_writev(d, iov, cnt, off));
}

static int
read_all(struct disk *d, uint8_t *p, size_t len, uint64_t off)
{
	struct iovec	 iov[2];

	iov[0].iov_base = p;
	iov[0].iov_len = len / 2;
	iov[1].iov_base = p + len / 2;
	iov[1].iov_len = len - len / 2;
	return (disk_readv(d, iov, 2, off));
}

/* The whole disk reads as the model. */
static int
same_as(struct disk *d, const uint8_t *model, uint64_t size)
{
	uint8_t		*b;
	uint64_t	 off, n;
	int		 ok = 1;

	if ((b = malloc(MB)) == NULL)
		return (0);
	for (off = 0; off < size && ok; off += n) {
		n = size - off < MB ? size - off : MB;
		if (read_all(d, b, n, off) != 0 || memcmp(b, model + off, n))
			ok = 0;
	}
	free(b);
	return (ok);
}

static struct disk *
open_path(int type, const char *path, int ro)
{
	char		 err[DISK_ERRLEN];
	struct disk	*d;

	if ((d = disk_open_path(type, path, ro, err, sizeof(err))) == NULL)
		printf("# open %s: %s\n", path, err);
	return (d);
}

/* n random writes of 512-byte multiples to d, other and the model */
static int
random_writes(struct disk *d, struct disk *other, uint8_t *model,
    uint64_t size, int n, size_t maxlen)
{
	uint8_t		*b;
	uint64_t	 off;
	size_t		 len;
	int		 i, ok = 1;

	if ((b = malloc(maxlen)) == NULL)
		return (0);
	for (i = 0; i < n && ok; i++) {
		len = 512 * (1 + rnd() % (maxlen / 512));
		off = 512 * (rnd() % ((size - len) / 512 + 1));
		if (rnd() % 4 == 0)
			memset(b, 0, len);
		else
			fill(b, len);
		memcpy(model + off, b, len);
		if (write_split(d, b, len, off) != 0)
			ok = 0;
		if (other != NULL && write_split(other, b, len, off) != 0)
			ok = 0;
		if (i % 50 == 49 && disk_flush(d) != 0)
			ok = 0;
	}
	free(b);
	return (ok);
}

static void
test_raw(void)
{
	char		 err[DISK_ERRLEN];
	const char	*p = tpath("r.raw");
	struct disk	*d;
	uint8_t		 a[8192], b[8192], z[8192];
	int		 fd;

	check(disk_create_raw(p, 8 * MB, err, sizeof(err)) == 0,
	    "raw: created");
	check(disk_create_raw(p, 8 * MB, err, sizeof(err)) == EEXIST,
	    "raw: never over an existing file");
	if ((d = open_path(VMDF_RAW, p, 0)) == NULL) {
		check(0, "raw: opens");
		return;
	}
	check(disk_size(d) == 8 * MB && disk_caps(d) == (DISK_CAN_DISCARD |
	    DISK_CAN_WRITE_ZEROES) && !disk_readonly(d),
	    "raw: size and caps");
	fill(a, sizeof(a));
	memset(z, 0, sizeof(z));
	check(write_split(d, a, sizeof(a), 4096) == 0 &&
	    read_all(d, b, sizeof(b), 4096) == 0 &&
	    memcmp(a, b, sizeof(a)) == 0, "raw: write then read");
	check(disk_flush(d) == 0, "raw: flush");
	check(disk_discard(d, 4096, 4096) == 0 &&
	    read_all(d, b, 4096, 8192) == 0 && memcmp(b, a + 4096, 4096) == 0,
	    "raw: discard leaves the neighbours");
	check(disk_write_zeroes(d, 4096, 4096, 0) == 0 &&
	    read_all(d, b, 4096, 4096) == 0 && memcmp(b, z, 4096) == 0,
	    "raw: write-zeroes");
	check(disk_write_zeroes(d, 8192, 4096, 1) == 0 &&
	    read_all(d, b, 4096, 8192) == 0 && memcmp(b, z, 4096) == 0,
	    "raw: write-zeroes with unmap");
	check(read_all(d, b, 1024, 8 * MB - 512) == -EINVAL &&
	    write_split(d, a, 1024, 8 * MB) == -EINVAL,
	    "raw: out of range is EINVAL");
	disk_close(d);
	if ((d = open_path(VMDF_RAW, p, 1)) != NULL) {
		check(disk_readonly(d) && disk_caps(d) == 0 &&
		    write_split(d, a, 512, 0) == -EROFS,
		    "raw: read-only refuses writes");
		disk_close(d);
	}
	fd = open(p, O_RDONLY);
	check(fd != -1 && disk_open(VMDF_RAW, (int[]){ fd, fd }, 2, 1, err,
	    sizeof(err)) == NULL && fcntl(fd, F_GETFD) != -1,
	    "raw: no backing files, descriptors stay the caller's");
	close(fd);
}

/*
 * A raw image with direct I/O: O_DIRECT on the descriptor, requests the
 * device can take as they are and requests through the aligned copy
 * both land, lengths of part of a sector are refused, and a qcow2 image
 * without its second descriptor is refused.
 */
static void
test_direct(void)
{
	char		 err[DISK_ERRLEN];
	const char	*p = tpath("direct.raw");
	struct disk	*d;
	struct iovec	 iov[3];
	uint8_t		*a, *b, *model;
	int		 fd, fl;

	if (disk_create_raw(p, 4 * MB, err, sizeof(err)) != 0 ||
	    (fd = open(p, O_RDWR | O_CLOEXEC)) == -1) {
		check(0, "direct: image made");
		return;
	}
	check(disk_open(VMDF_QCOW2 | VMDF_DIRECT, &fd, 1, 0, err,
	    sizeof(err)) == NULL && strcmp(err, "direct I/O on qcow2 needs "
	    "a second descriptor of the image") == 0,
	    "direct: qcow2 without its second descriptor refused (%s)", err);
	if ((d = disk_open(VMDF_RAW | VMDF_DIRECT, &fd, 1, 0, err,
	    sizeof(err))) == NULL) {
		/* tmpfs before Linux 6.6, for one: the message is the test */
		close(fd);
		check(strcmp(err, "raw: direct I/O: not supported on this "
		    "file system") == 0, "direct: refused with a reason (%s)",
		    err);
		printf("ok - direct: data # SKIP %s has no O_DIRECT\n",
		    tmpdir);
		return;
	}
	fl = fcntl(fd, F_GETFL);
	check(fl != -1 && (fl & O_DIRECT), "direct: O_DIRECT is set");
	if (posix_memalign((void **)&a, 4096, 3 * 65536) != 0 ||
	    posix_memalign((void **)&b, 4096, 3 * 65536) != 0 ||
	    (model = calloc(1, 4 * MB)) == NULL)
		abort();
	fill(a, 3 * 65536);

	/* aligned: straight to the device */
	iov[0].iov_base = a;
	iov[0].iov_len = 65536;
	iov[1].iov_base = a + 65536;
	iov[1].iov_len = 4096;
	check(disk_writev(d, iov, 2, 1 * MB) == 0, "direct: aligned write");
	memcpy(model + 1 * MB, a, 65536 + 4096);
	/* buffers at odd addresses and segments of part of a sector */
	iov[0].iov_base = a + 70001;
	iov[0].iov_len = 300;
	iov[1].iov_base = a + 80003;
	iov[1].iov_len = 1000;
	iov[2].iov_base = a + 90001;
	iov[2].iov_len = 236;
	check(disk_writev(d, iov, 3, 2 * MB + 512) == 0,
	    "direct: unaligned write, through the copy");
	memcpy(model + 2 * MB + 512, a + 70001, 300);
	memcpy(model + 2 * MB + 812, a + 80003, 1000);
	memcpy(model + 2 * MB + 1812, a + 90001, 236);
	iov[0].iov_base = a + 100000;
	iov[0].iov_len = 700;
	check(disk_writev(d, iov, 1, 3 * MB) == -EINVAL,
	    "direct: part of a sector is refused");
	check(disk_flush(d) == 0, "direct: flush");

	/* read back both ways, and through another, buffered, descriptor */
	iov[0].iov_base = b + 1;
	iov[0].iov_len = 65536 + 4096;
	check(disk_readv(d, iov, 1, 1 * MB) == 0 &&
	    memcmp(b + 1, model + 1 * MB, 65536 + 4096) == 0,
	    "direct: unaligned read");
	iov[0].iov_base = b;
	iov[0].iov_len = 4096;
	check(disk_readv(d, iov, 1, 2 * MB) == 0 &&
	    memcmp(b, model + 2 * MB, 4096) == 0, "direct: aligned read");
	disk_close(d);
	d = open_path(VMDF_RAW, p, 1);
	check(d != NULL && same_as(d, model, 4 * MB),
	    "direct: the image holds every write, and nothing else");
	if (d != NULL)
		disk_close(d);
	free(a);
	free(b);
	free(model);
}

/*
 * A qcow2 image with direct I/O: the data through the second descriptor
 * with O_DIRECT, the tables through the first; allocating writes whole
 * and in part, aligned and not, writes in place; then the image, opened
 * again as usual, holds exactly that, and qemu-img finds it clean.
 */
static void
test_direct_qcow2(void)
{
	char		 err[DISK_ERRLEN];
	const char	*p = tpath("direct.qcow2");
	struct disk	*d;
	struct iovec	 iov[2];
	uint8_t		*a, *b, *model;
	uint64_t	 off;
	int		 fds[2], fl, i;

	if (disk_create_qcow2(p, 8 * MB, NULL, err, sizeof(err)) != 0 ||
	    (fds[0] = open(p, O_RDWR | O_CLOEXEC)) == -1 ||
	    (fds[1] = open(p, O_RDWR | O_CLOEXEC)) == -1) {
		check(0, "direct qcow2: image made");
		return;
	}
	if ((d = disk_open(VMDF_QCOW2 | VMDF_DIRECT, fds, 2, 0, err,
	    sizeof(err))) == NULL) {
		close(fds[0]);
		close(fds[1]);
		check(strcmp(err, "qcow2: direct I/O: not supported on this "
		    "file system") == 0,
		    "direct qcow2: refused with a reason (%s)", err);
		printf("ok - direct qcow2: data # SKIP %s has no O_DIRECT\n",
		    tmpdir);
		return;
	}
	fl = fcntl(fds[1], F_GETFL);
	check(fl != -1 && (fl & O_DIRECT) && !(fcntl(fds[0], F_GETFL) &
	    O_DIRECT), "direct qcow2: O_DIRECT on the second descriptor only");
	if (posix_memalign((void **)&a, 4096, 1 * MB) != 0 ||
	    posix_memalign((void **)&b, 4096, 1 * MB) != 0 ||
	    (model = calloc(1, 8 * MB)) == NULL)
		abort();
	/* whole clusters, aligned; then one in part, unaligned buffers */
	fill(a, 1 * MB);
	iov[0].iov_base = a;
	iov[0].iov_len = 256 * 1024;
	check(disk_writev(d, iov, 1, 1 * MB) == 0,
	    "direct qcow2: allocating write of whole clusters");
	memcpy(model + 1 * MB, a, 256 * 1024);
	iov[0].iov_base = a + 300001;
	iov[0].iov_len = 1536;
	iov[1].iov_base = a + 400003;
	iov[1].iov_len = 2560;
	check(disk_writev(d, iov, 2, 4 * MB + 8192) == 0,
	    "direct qcow2: allocating write of part of a cluster, unaligned");
	memcpy(model + 4 * MB + 8192, a + 300001, 1536);
	memcpy(model + 4 * MB + 8192 + 1536, a + 400003, 2560);
	/* in place, across two clusters */
	iov[0].iov_base = a + 500000;
	iov[0].iov_len = 8192;
	check(disk_writev(d, iov, 1, 1 * MB + 65536 - 4096) == 0,
	    "direct qcow2: write in place, unaligned buffer");
	memcpy(model + 1 * MB + 65536 - 4096, a + 500000, 8192);
	/* many small allocating writes: L2 tables fill and flush */
	for (i = 0; i < 64; i++) {
		off = (uint64_t)(rnd() % (8 * MB / 4096)) * 4096;
		iov[0].iov_base = a + 4096 * (i % 200);
		iov[0].iov_len = 4096;
		if (disk_writev(d, iov, 1, off) != 0)
			break;
		memcpy(model + off, a + 4096 * (i % 200), 4096);
	}
	check(i == 64, "direct qcow2: 64 random writes");
	check(disk_flush(d) == 0, "direct qcow2: flush");
	iov[0].iov_base = b + 3;
	iov[0].iov_len = 256 * 1024;
	check(disk_readv(d, iov, 1, 1 * MB) == 0 &&
	    memcmp(b + 3, model + 1 * MB, 256 * 1024) == 0,
	    "direct qcow2: read back, unaligned buffer");
	check(same_as(d, model, 8 * MB), "direct qcow2: reads what was "
	    "written");
	disk_close(d);
	d = open_path(VMDF_QCOW2, p, 1);
	check(d != NULL && same_as(d, model, 8 * MB),
	    "direct qcow2: opened as usual, the image holds every write");
	if (d != NULL)
		disk_close(d);
	qemu_check(p, "direct qcow2");
	free(a);
	free(b);
	free(model);
}

/* upstream's diskfmt: the same writes to raw and qcow2, then compare */
static void
test_diskfmt(void)
{
	char		 err[DISK_ERRLEN];
	const char	*q = tpath("f.qcow2"), *r = tpath("f.raw");
	uint64_t	 size = 64 * MB;
	struct disk	*dq, *dr;
	uint8_t		*model;

	if ((model = calloc(1, size)) == NULL)
		return;
	check(disk_create_qcow2(q, size, NULL, err, sizeof(err)) == 0 &&
	    disk_create_raw(r, size, err, sizeof(err)) == 0,
	    "diskfmt: images created");
	check(disk_create_qcow2(q, size, NULL, err, sizeof(err)) == EEXIST,
	    "qcow2: never over an existing file");
	qemu_check(q, "new qcow2");
	dq = open_path(VMDF_QCOW2, q, 0);
	dr = open_path(VMDF_RAW, r, 0);
	if (dq == NULL || dr == NULL) {
		check(0, "diskfmt: opened");
		goto done;
	}
	check(disk_size(dq) == size && disk_caps(dq) == 0,
	    "qcow2: size, no discard");
	check(random_writes(dq, dr, model, size, 600, 256 * 1024),
	    "diskfmt: 600 random writes");
	check(same_as(dq, model, size) && same_as(dr, model, size),
	    "diskfmt: both read back as written");
	/* not offered by qcow2, done by writing zeroes if asked anyway */
	check(disk_write_zeroes(dq, 3 * MB + 512, 200 * 1024, 1) == 0 &&
	    disk_write_zeroes(dr, 3 * MB + 512, 200 * 1024, 1) == 0,
	    "diskfmt: write-zeroes over 200 KiB on both");
	memset(model + 3 * MB + 512, 0, 200 * 1024);
	check(same_as(dq, model, size) && same_as(dr, model, size),
	    "diskfmt: zeroed there, the rest unchanged");
	disk_close(dq);
	disk_close(dr);
	qemu_check(q, "diskfmt");
	qemu_compare(q, r, "diskfmt");
	dq = open_path(VMDF_QCOW2, q, 1);
	check(dq != NULL && same_as(dq, model, size),
	    "diskfmt: reopened read-only, same content");
	disk_close(dq);
 done:
	free(model);
}

static void
load_model(const char *path, uint8_t *model, uint64_t size)
{
	int	 fd;

	memset(model, 0, size);
	if ((fd = open(path, O_RDONLY)) == -1)
		return;
	(void)!read(fd, model, size);
	close(fd);
}

/* images qemu-img made, written by us, checked by qemu-img */
static void
test_qemu_images(void)
{
	static const struct {
		const char	*opts;
		const char	*what;
	} cf[] = {
		{ "compat=0.10,cluster_size=65536", "v2 64K" },
		{ "compat=1.1,cluster_size=4096", "v3 4K" },
		{ "compat=1.1,cluster_size=65536", "v3 64K" },
		{ "compat=1.1,cluster_size=2097152", "v3 2M" },
		{ "compat=1.1,cluster_size=512", "v3 512" },
	};
	const char	*src = tpath("q.src"), *model_path = tpath("q.model");
	const char	*img = tpath("q.qcow2"), *top = tpath("qt.qcow2");
	uint64_t	 size = 32 * MB;
	uint8_t		*model;
	struct disk	*d;
	char		 what[128];
	size_t		 i;

	if (!have_qemu) {
		skip("images made by qemu-img");
		return;
	}
	if ((model = calloc(1, size)) == NULL)
		return;
	/* a source with data, zeroes and holes */
	for (i = 0; i < size; i += MB)
		if ((i / MB) % 3 != 1)
			fill(model + i + (rnd() % 16) * 4096, 300 * 1024);
	(void)write_file(src, model, size);

	for (i = 0; i < nitems(cf); i++) {
		(void)unlink(img);
		(void)unlink(top);
		check(sh("qemu-img convert -q -f raw -O qcow2 -o %s '%s' '%s'",
		    cf[i].opts, src, img) == 0, "qemu-img %s made", cf[i].what);
		load_model(src, model, size);
		if ((d = open_path(VMDF_QCOW2, img, 0)) == NULL) {
			check(0, "%s opens", cf[i].what);
			continue;
		}
		check(same_as(d, model, size), "%s: reads as qemu wrote",
		    cf[i].what);
		check(random_writes(d, NULL, model, size, 200, 128 * 1024),
		    "%s: random writes", cf[i].what);
		check(same_as(d, model, size), "%s: reads what we wrote",
		    cf[i].what);
		disk_close(d);
		(void)write_file(model_path, model, size);
		(void)snprintf(what, sizeof(what), "qemu %s", cf[i].what);
		qemu_check(img, what);
		qemu_compare(img, model_path, what);

		/* an overlay qemu-img made on it */
		check(sh("cd '%s' && qemu-img create -q -f qcow2 -o %s "
		    "-b q.qcow2 -F qcow2 qt.qcow2", tmpdir, cf[i].opts) == 0,
		    "%s: overlay made by qemu-img", cf[i].what);
		if ((d = open_path(VMDF_QCOW2, top, 0)) == NULL) {
			check(0, "%s: overlay opens", cf[i].what);
			continue;
		}
		check(same_as(d, model, size), "%s: overlay reads the base",
		    cf[i].what);
		check(random_writes(d, NULL, model, size, 100, 64 * 1024),
		    "%s: overlay random writes", cf[i].what);
		check(same_as(d, model, size), "%s: overlay reads back",
		    cf[i].what);
		disk_close(d);
		(void)write_file(model_path, model, size);
		(void)snprintf(what, sizeof(what), "qemu %s overlay",
		    cf[i].what);
		qemu_check(top, what);
		qemu_compare(top, model_path, what);
	}

	/* 512-byte clusters, empty: the refcount table has to move */
	(void)unlink(img);
	memset(model, 0, size);
	check(sh("qemu-img create -q -f qcow2 -o cluster_size=512 '%s' 32M",
	    img) == 0, "qemu-img 512-byte clusters, empty");
	if ((d = open_path(VMDF_QCOW2, img, 0)) != NULL) {
		check(random_writes(d, NULL, model, size, 300, 128 * 1024) &&
		    same_as(d, model, size), "512: refcount table grown");
		disk_close(d);
		(void)write_file(model_path, model, size);
		check(sh("qemu-img info '%s' >/dev/null && test $(od -An -tu1 "
		    "-j59 -N1 '%s') -gt 1", img, img) == 0,
		    "512: the table has more than one cluster now");
		qemu_check(img, "512 grown");
		qemu_compare(img, model_path, "512 grown");
	}
	free(model);
}

/* our own chain, three deep with relative names, and a short base */
static void
test_chain(void)
{
	char		 err[DISK_ERRLEN];
	const char	*b = tpath("c-base.qcow2"), *m = tpath("c-mid.qcow2");
	const char	*t = tpath("c-top.qcow2"), *mp = tpath("c.model");
	const char	*sb = tpath("s-base.qcow2"), *st = tpath("s-top.qcow2");
	uint64_t	 size = 16 * MB;
	uint8_t		*model, buf[4096], z[4096];
	struct disk	*d;

	if ((model = calloc(1, size * 2)) == NULL)
		return;
	check(disk_create_qcow2(b, size, NULL, err, sizeof(err)) == 0,
	    "chain: base created");
	if ((d = open_path(VMDF_QCOW2, b, 0)) != NULL) {
		check(random_writes(d, NULL, model, size, 100, 128 * 1024),
		    "chain: base written");
		disk_close(d);
	}
	/* relative names, as a user in the images' directory gives them */
	check(disk_create_qcow2("c-mid.qcow2", 0, "c-base.qcow2", err,
	    sizeof(err)) == 0, "chain: mid on base, size from the base");
	check(disk_create_qcow2(tpath("c-x.qcow2"), size + MB, b, err,
	    sizeof(err)) == EINVAL && strcmp(err, "base size does not match "
	    "requested size") == 0, "chain: size mismatch refused");
	if ((d = open_path(VMDF_QCOW2, m, 0)) != NULL) {
		check(same_as(d, model, size), "chain: mid reads the base");
		check(random_writes(d, NULL, model, size, 100, 128 * 1024),
		    "chain: mid written");
		disk_close(d);
	}
	check(disk_create_qcow2(t, 0, "c-mid.qcow2", err, sizeof(err)) == 0,
	    "chain: top on mid");
	if ((d = open_path(VMDF_QCOW2, t, 0)) != NULL) {
		check(same_as(d, model, size), "chain: top reads through two");
		check(random_writes(d, NULL, model, size, 150, 128 * 1024),
		    "chain: top written");
		check(same_as(d, model, size), "chain: top reads back");
		disk_close(d);
	} else
		check(0, "chain: top opens");
	(void)write_file(mp, model, size);
	qemu_check(m, "chain mid");
	qemu_check(t, "chain top");
	qemu_compare(t, mp, "chain top");
	if (have_qemu)
		check(sh("qemu-img info '%s' | grep -q '^backing file: "
		    "c-mid.qcow2'", t) == 0, "chain: relative name stored");
	else
		skip("relative name");

	/* a base shorter than its overlay reads zeroes past its end */
	if (!have_qemu) {
		skip("short base");
		free(model);
		return;
	}
	memset(z, 0, sizeof(z));
	check(disk_create_qcow2(sb, 1 * MB, NULL, err, sizeof(err)) == 0 &&
	    sh("cd '%s' && qemu-img create -q -f qcow2 -b s-base.qcow2 "
	    "-F qcow2 s-top.qcow2 4M", tmpdir) == 0, "short base made");
	if ((d = open_path(VMDF_QCOW2, sb, 0)) != NULL) {
		memset(buf, 0xaa, sizeof(buf));
		(void)write_split(d, buf, sizeof(buf), MB - 4096);
		disk_close(d);
	}
	if ((d = open_path(VMDF_QCOW2, st, 0)) != NULL) {
		check(disk_size(d) == 4 * MB && read_all(d, buf, 4096,
		    MB - 4096) == 0 && buf[0] == 0xaa && buf[4095] == 0xaa &&
		    read_all(d, buf, 4096, MB) == 0 &&
		    memcmp(buf, z, 4096) == 0, "short base: zeroes past it");
		memset(buf, 0x55, sizeof(buf));
		check(write_split(d, buf, 4096, MB + 8192) == 0,
		    "short base: write past it");
		disk_close(d);
	}
	qemu_check(st, "short base overlay");
	free(model);
}

static struct disk *
open_fds(const char *path, const char *base, int ro, char *err, size_t len)
{
	struct disk	*d;
	int		 fds[2], n = 0;

	if ((fds[n] = open(path, ro ? O_RDONLY : O_RDWR)) != -1)
		n++;
	if (base != NULL && (fds[n] = open(base, O_RDONLY)) != -1)
		n++;
	d = disk_open(VMDF_QCOW2, fds, n, ro, err, len);
	if (d == NULL)
		while (n > 0)
			close(fds[--n]);
	return (d);
}

/* a copy of good, patched by fn, refused with want and left unchanged */
static void
refused(const char *good, const char *what, const char *want,
    int (*fn)(const char *), const char *base)
{
	char		 err[DISK_ERRLEN];
	const char	*p = tpath("bad.qcow2");
	struct disk	*d;
	uint64_t	 h;

	(void)unlink(p);
	if (copy_file(good, p) != 0 || fn(p) != 0) {
		check(0, "%s: made", what);
		return;
	}
	h = file_hash(p);
	err[0] = '\0';
	d = open_fds(p, base, 0, err, sizeof(err));
	check(d == NULL && strstr(err, want) != NULL && file_hash(p) == h,
	    "%s refused (\"%s\"), file unchanged", what, err);
	disk_close(d);
}

static int p_trunc(const char *p) { return (truncate(p, 50)); }
static int p_magic(const char *p) { return (patch(p, 0, "QFI\xfc", 4)); }
static int p_version(const char *p) { return (patch32(p, 4, 4)); }
static int p_cbits(const char *p) { return (patch32(p, 20, 30)); }
static int p_crypt(const char *p) { return (patch32(p, 32, 1)); }
static int p_hugel1(const char *p) { return (patch32(p, 36, 0x8000000)); }
static int p_l1off(const char *p) { return (patch64(p, 40, 1ULL << 40)); }
static int p_l1align(const char *p) { return (patch64(p, 40, 65536 + 8)); }
static int p_rtoff(const char *p) { return (patch64(p, 48, 1ULL << 40)); }
static int p_snap(const char *p) { return (patch32(p, 60, 1)); }
static int p_incompat(const char *p) { return (patch64(p, 72, 0x10)); }
static int p_corrupt(const char *p) { return (patch64(p, 72, 0x2)); }
static int p_dirty(const char *p) { return (patch64(p, 72, 0x1)); }
static int p_order(const char *p) { return (patch32(p, 96, 3)); }
static int p_hdrlen(const char *p) { return (patch32(p, 100, 12)); }
static int p_backlen(const char *p) { return (patch32(p, 16, 5000)); }

/* the first L2 entry of the test image (L1 at 64K, L2 found there) */
static int
l2_entry_patch(const char *p, uint64_t v)
{
	uint64_t	 l2;
	int		 fd;

	if ((fd = open(p, O_RDONLY)) == -1)
		return (-1);
	if (pread(fd, &l2, 8, 65536) != 8) {
		close(fd);
		return (-1);
	}
	close(fd);
	l2 = be64toh(l2) & 0x00fffffffffffe00ULL;
	if (l2 == 0)
		return (-1);
	return (patch64(p, l2, v));
}

static int p_l2range(const char *p)
{
	return (l2_entry_patch(p, (1ULL << 40) | (1ULL << 63)));
}

static int p_l2compressed(const char *p)
{
	return (l2_entry_patch(p, (1ULL << 62) | 65536 * 5));
}

static int p_l1dup(const char *p)
{
	uint64_t	 e;
	int		 fd;

	if ((fd = open(p, O_RDONLY)) == -1)
		return (-1);
	if (pread(fd, &e, 8, 65536) != 8) {
		close(fd);
		return (-1);
	}
	close(fd);
	return (patch(p, 65536 + 8, &e, 8));
}

static void
test_hostile(void)
{
	char		 err[DISK_ERRLEN];
	const char	*g = tpath("good.qcow2"), *p = tpath("bad.qcow2");
	const char	*b4 = tpath("b4k.qcow2");
	uint8_t		 buf[65536];
	struct disk	*d;
	uint64_t	 h;

	/* a good image with data in the first L2 table */
	(void)disk_create_qcow2(g, 1024 * MB, NULL, err, sizeof(err));
	if ((d = open_path(VMDF_QCOW2, g, 0)) == NULL) {
		check(0, "hostile: good image");
		return;
	}
	fill(buf, sizeof(buf));
	(void)write_split(d, buf, sizeof(buf), 0);
	(void)write_split(d, buf, sizeof(buf), 600 * MB);
	disk_close(d);

	refused(g, "truncated header", "truncated header", p_trunc, NULL);
	refused(g, "wrong magic", "bad magic", p_magic, NULL);
	refused(g, "version 4", "unsupported version 4", p_version, NULL);
	refused(g, "cluster_bits 30", "cluster size", p_cbits, NULL);
	refused(g, "encrypted", "qcow2: encryption is not supported",
	    p_crypt, NULL);
	refused(g, "huge L1", "L1 table too large", p_hugel1, NULL);
	refused(g, "L1 past the end", "L1 table outside", p_l1off, NULL);
	refused(g, "L1 unaligned", "L1 table outside", p_l1align, NULL);
	refused(g, "refcount table past the end", "refcount table outside",
	    p_rtoff, NULL);
	refused(g, "snapshots", "qcow2: internal snapshots are not "
	    "supported", p_snap, NULL);
	refused(g, "unknown incompatible bit", "unsupported incompatible "
	    "features 0x10", p_incompat, NULL);
	refused(g, "corrupt bit, writable", "marked corrupt", p_corrupt,
	    NULL);
	refused(g, "dirty bit, writable", "dirty", p_dirty, NULL);
	refused(g, "refcount order 3", "refcount order 3", p_order, NULL);
	refused(g, "header length 12", "bad header length", p_hdrlen, NULL);
	refused(g, "backing name length 5000", "backing file name too long",
	    p_backlen, NULL);
	refused(g, "L2 entry past the end", "out of range", p_l2range, NULL);
	refused(g, "compressed cluster in L2", "qcow2: compressed clusters "
	    "are not supported", p_l2compressed, NULL);
	refused(g, "two L1 entries, one L2 table", "L2 table used twice",
	    p_l1dup, NULL);

	/* read-only, a corrupt image may still be read */
	(void)unlink(p);
	(void)copy_file(g, p);
	(void)p_corrupt(p);
	d = open_fds(p, NULL, 1, err, sizeof(err));
	check(d != NULL, "corrupt bit, read-only: opens");
	disk_close(d);

	/* a chain: missing base, extra base, cluster sizes differ */
	(void)unlink(p);
	(void)disk_create_qcow2(p, 0, g, err, sizeof(err));
	h = file_hash(p);
	d = open_fds(p, NULL, 0, err, sizeof(err));
	check(d == NULL && strstr(err, "missing base image") != NULL &&
	    file_hash(p) == h, "missing base refused, file unchanged");
	d = open_fds(g, g, 0, err, sizeof(err));
	check(d == NULL && strstr(err, "no backing file") != NULL,
	    "a base for an image without one refused");
	if (have_qemu) {
		(void)sh("qemu-img create -q -f qcow2 -o cluster_size=4096 "
		    "'%s' 1G", b4);
		d = open_fds(p, b4, 0, err, sizeof(err));
		check(d == NULL && strstr(err, "share the cluster size"),
		    "cluster sizes differ: refused (\"%s\")", err);
		(void)unlink(p);
		(void)sh("yes compressible | head -c 1048576 > '%s.src' && "
		    "qemu-img convert -q -c -f raw -O qcow2 '%s.src' '%s'", p,
		    p, p);
		h = file_hash(p);
		d = open_fds(p, NULL, 0, err, sizeof(err));
		check(d == NULL && strstr(err, "compressed clusters") &&
		    file_hash(p) == h, "qemu-img -c image refused");
		(void)unlink(p);
		(void)sh("qemu-img create -q -f qcow2 -o refcount_bits=8 "
		    "'%s' 1G", p);
		d = open_fds(p, NULL, 0, err, sizeof(err));
		check(d == NULL && strstr(err, "refcount order 3"),
		    "qemu-img refcount_bits=8 refused");
		(void)unlink(p);
		(void)copy_file(g, p);
		(void)sh("qemu-img snapshot -c s1 '%s'", p);
		h = file_hash(p);
		d = open_fds(p, NULL, 0, err, sizeof(err));
		check(d == NULL && strstr(err, "internal snapshots") &&
		    file_hash(p) == h, "qemu-img snapshot refused");
	} else
		skip("qemu-img made hostile images");
}

static void
test_backing_name(void)
{
	char		 err[DISK_ERRLEN], base[PATH_MAX], res[PATH_MAX];
	char		 small[8];
	const char	*a = tpath("bn-a.qcow2"), *b = tpath("bn-b.qcow2");
	const char	*l = tpath("bn-loop.qcow2"), *r = tpath("bn.raw");
	char		 want[PATH_MAX], name[16];
	struct disk	*d;
	int		 fd, i;

	(void)disk_create_qcow2(a, 4 * MB, NULL, err, sizeof(err));
	(void)disk_create_qcow2(b, 0, "bn-a.qcow2", err, sizeof(err));
	(void)disk_create_raw(r, MB, err, sizeof(err));

	fd = open(a, O_RDONLY);
	check(disk_backing_name(fd, a, base, sizeof(base), res, sizeof(res),
	    err, sizeof(err)) == 0 && base[0] == '\0' && res[0] == '\0',
	    "backing name: none");
	close(fd);
	fd = open(b, O_RDONLY);
	(void)snprintf(want, sizeof(want), "%s/bn-a.qcow2", tmpdir);
	check(disk_backing_name(fd, b, base, sizeof(base), res, sizeof(res),
	    err, sizeof(err)) == 0 && strcmp(base, "bn-a.qcow2") == 0 &&
	    strcmp(res, want) == 0, "backing name: relative, resolved");
	check(disk_backing_name(fd, "bn-b.qcow2", base, sizeof(base), res,
	    sizeof(res), err, sizeof(err)) == 0 &&
	    strcmp(res, "bn-a.qcow2") == 0, "backing name: no directory");
	check(disk_backing_name(fd, b, small, sizeof(small), res,
	    sizeof(res), err, sizeof(err)) == -1 &&
	    strstr(err, "too long") != NULL, "backing name: buffer too small");
	check(disk_backing_name(fd, b, base, sizeof(base), small,
	    sizeof(small), err, sizeof(err)) == -1 && small[0] == '\0',
	    "backing name: resolved buffer too small");
	close(fd);
	fd = open(r, O_RDONLY);
	check(disk_backing_name(fd, r, base, sizeof(base), res, sizeof(res),
	    err, sizeof(err)) == -1 && strstr(err, "not a qcow2") != NULL,
	    "backing name: raw file refused");
	close(fd);

	/* hostile: past the end, with a NUL, absolute */
	(void)unlink(l);
	(void)copy_file(b, l);
	(void)patch64(l, 8, 1ULL << 40);
	fd = open(l, O_RDONLY);
	check(disk_backing_name(fd, l, base, sizeof(base), res, sizeof(res),
	    err, sizeof(err)) == -1 && strstr(err, "outside") != NULL,
	    "backing name: offset past the end");
	close(fd);
	(void)patch64(l, 8, 104);
	(void)patch(l, 106, "", 1);
	fd = open(l, O_RDONLY);
	check(disk_backing_name(fd, l, base, sizeof(base), res, sizeof(res),
	    err, sizeof(err)) == -1, "backing name: NUL inside refused");
	close(fd);
	(void)patch(l, 104, "/abs/x.qcow2", 12);
	(void)patch32(l, 16, 12);
	fd = open(l, O_RDONLY);
	check(disk_backing_name(fd, l, base, sizeof(base), res, sizeof(res),
	    err, sizeof(err)) == 0 && strcmp(res, "/abs/x.qcow2") == 0,
	    "backing name: absolute kept");
	close(fd);

	/* a loop, and a chain longer than upstream allows */
	(void)patch(l, 104, "bn-loop.qcow2", 13);
	(void)patch32(l, 16, 13);
	d = disk_open_path(VMDF_QCOW2, l, 0, err, sizeof(err));
	check(d == NULL && strstr(err, "loop") != NULL,
	    "a loop in the chain refused (\"%s\")", err);
	for (i = 0; i <= VM_MAX_BASE_PER_DISK; i++) {
		(void)snprintf(name, sizeof(name), "deep%d.qcow2", i);
		(void)snprintf(want, sizeof(want), "deep%d.qcow2", i - 1);
		if (i == 0)
			(void)disk_create_qcow2(tpath(name), 4 * MB, NULL, err,
			    sizeof(err));
		else
			(void)disk_create_qcow2(tpath(name), 0, tpath(want),
			    err, sizeof(err));
	}
	(void)snprintf(name, sizeof(name), "deep%d.qcow2",
	    VM_MAX_BASE_PER_DISK - 1);
	d = disk_open_path(VMDF_QCOW2, tpath(name), 0, err, sizeof(err));
	check(d != NULL, "a chain of %d images opens", VM_MAX_BASE_PER_DISK);
	disk_close(d);
	(void)snprintf(name, sizeof(name), "deep%d.qcow2",
	    VM_MAX_BASE_PER_DISK);
	d = disk_open_path(VMDF_QCOW2, tpath(name), 0, err, sizeof(err));
	check(d == NULL && strstr(err, "longer than") != NULL,
	    "a chain of %d images refused", VM_MAX_BASE_PER_DISK + 1);
}

struct worker {
	struct disk	*d;
	uint8_t		*model;
	int		 id;
	int		 nthreads;
	int		 ok;
};

#define CONC_SIZE	(8 * MB)
#define CONC_BLOCK	4096

static void *
worker_run(void *arg)
{
	struct worker	*w = arg;
	struct iovec	 iov;
	uint64_t	 nb = CONC_SIZE / CONC_BLOCK, blk, s;
	uint8_t		 b[CONC_BLOCK], r[CONC_BLOCK];
	int		 i, j;

	s = 0x1234567ULL * (w->id + 1);
	w->ok = 1;
	for (i = 0; i < 600; i++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		/* blocks of this thread only, clusters shared with all */
		blk = ((s >> 20) % (nb / w->nthreads)) * w->nthreads + w->id;
		for (j = 0; j < CONC_BLOCK; j++)
			b[j] = (uint8_t)(s >> (j % 56)) ^ (uint8_t)j;
		memcpy(w->model + blk * CONC_BLOCK, b, CONC_BLOCK);
		iov.iov_base = b;
		iov.iov_len = CONC_BLOCK;
		if (disk_writev(w->d, &iov, 1, blk * CONC_BLOCK) != 0)
			w->ok = 0;
		iov.iov_base = r;
		if (disk_readv(w->d, &iov, 1, blk * CONC_BLOCK) != 0 ||
		    memcmp(r, b, CONC_BLOCK) != 0)
			w->ok = 0;
		if (i % 100 == 99 && disk_flush(w->d) != 0)
			w->ok = 0;
	}
	return (NULL);
}

static void
test_threads(void)
{
	char		 err[DISK_ERRLEN];
	const char	*q = tpath("t.qcow2"), *m = tpath("t.model");
	struct worker	 w[4];
	pthread_t	 th[4];
	struct disk	*d;
	uint8_t		*model;
	int		 i, ok = 1;

	if ((model = calloc(1, 64 * MB)) == NULL)
		return;
	(void)disk_create_qcow2(q, 64 * MB, NULL, err, sizeof(err));
	if ((d = open_path(VMDF_QCOW2, q, 0)) == NULL) {
		check(0, "threads: opens");
		free(model);
		return;
	}
	for (i = 0; i < 4; i++) {
		w[i].d = d;
		w[i].model = model;
		w[i].id = i;
		w[i].nthreads = 4;
		pthread_create(&th[i], NULL, worker_run, &w[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ok &= w[i].ok;
	}
	check(ok, "threads: 4 x 600 writes into shared clusters, each read "
	    "back at once");
	check(same_as(d, model, 64 * MB), "threads: the disk is the model");
	disk_close(d);
	(void)write_file(m, model, 64 * MB);
	qemu_check(q, "threads");
	qemu_compare(q, m, "threads");
	free(model);
}

int
main(void)
{
	(void)snprintf(tmpdir, sizeof(tmpdir), "/tmp/tdisk.XXXXXX");
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	have_qemu = sh("qemu-img --version >/dev/null 2>&1") == 0;
	if (chdir(tmpdir) == -1) {
		perror("chdir");
		return (1);
	}

	test_raw();
	test_direct();
	test_direct_qcow2();
	test_diskfmt();
	test_chain();
	test_qemu_images();
	test_hostile();
	test_backing_name();
	test_threads();

	(void)sh("rm -rf '%s'", tmpdir);
	return (failed);
}
