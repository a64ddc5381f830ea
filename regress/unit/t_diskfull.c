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
 * The disk backends on a full file system.  Each image lives on a small
 * tmpfs of its own (in a private mount namespace, so nothing outside the
 * test sees it) and takes random writes, as a guest's would, until the
 * file system has been full for a while.  Then:
 *	- every failed write failed with ENOSPC, and nothing else failed:
 *	  not a flush, not a write into space the image already had;
 *	- every write that succeeded reads back, at once and after the
 *	  image is closed and opened again (what failed may hold either);
 *	- qemu-img check finds neither errors nor leaked clusters;
 *	- with room again (the tmpfs grown) writes go on as before.
 * The same again where fallocate(2) is refused (a seccomp filter makes
 * it EOPNOTSUPP, as some file systems answer).
 * Needs root (a mount namespace); skipped, saying so, without it.
 */

#include <sys/types.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmd.h"
#include "disk.h"
#include "tap.h"

#define KB		1024ULL
#define MB		(1024ULL * 1024)
#define SECT		512

static char	 topdir[64];
static int	 have_qemu;
static __thread uint64_t rnd_state;
static uint64_t	 seed0;		/* T_DISKFULL_SEED, to try others */

static uint64_t
rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return (rnd_state);
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

/*
 * One image under test and what it should hold: model is the disk as
 * written, st says of each sector whether a write put it there or one
 * failed there (then it may hold the old or the new bytes).
 */
#define S_UNTOUCHED	0
#define S_WRITTEN	1
#define S_FAILED	2

struct fullcase {
	const char	*what;
	int		 type;		/* VMDF_RAW, VMDF_QCOW2 */
	const char	*make;		/* qemu-img create options, or NULL */
	uint64_t	 size;		/* virtual */
	uint64_t	 fs;		/* the tmpfs, bytes */
	size_t		 maxlen;	/* of one write */
	int		 base;		/* over a base image with data */
	int		 threads;	/* writers at once, 0: one */
	uint64_t	 filler;	/* bytes of another file, given back
					   a page at a time when full */
	uint64_t	 seed;
	int		 nofalloc;	/* fallocate says EOPNOTSUPP */

	char		 dir[256];
	char		 path[300];
	struct disk	*d;
	uint8_t		*model;
	uint8_t		*st;
	pthread_mutex_t	 mtx;
	int		 nwrites, nfail, nother, nflushfail;
	int		 lasterr;
};

static int
fs_mount(struct fullcase *c, uint64_t bytes, int remount)
{
	char	 opt[64];

	(void)snprintf(opt, sizeof(opt), "size=%llu,mode=0700",
	    (unsigned long long)bytes);
	return (mount("tmpfs", c->dir, "tmpfs", remount ? MS_REMOUNT : 0,
	    opt));
}

static struct disk *
open_img(struct fullcase *c)
{
	char		 err[DISK_ERRLEN];
	struct disk	*d;

	if ((d = disk_open_path(c->type, c->path, 0, err, sizeof(err))) ==
	    NULL)
		printf("# open %s: %s\n", c->path, err);
	return (d);
}

/* The disk reads as the model, except where writes failed. */
static int
reads_as_model(struct fullcase *c, struct disk *d)
{
	struct iovec	 iov;
	uint8_t		*b;
	uint64_t	 off, s, n;
	int		 ok = 1;

	if ((b = malloc(MB)) == NULL)
		return (0);
	for (off = 0; off < c->size && ok; off += n) {
		n = MINIMUM(MB, c->size - off);
		iov.iov_base = b;
		iov.iov_len = n;
		if (disk_readv(d, &iov, 1, off) != 0) {
			printf("# read at %llu failed\n",
			    (unsigned long long)off);
			ok = 0;
			break;
		}
		for (s = 0; s < n; s += SECT) {
			if (c->st[(off + s) / SECT] == S_FAILED)
				continue;
			if (memcmp(b + s, c->model + off + s, SECT) != 0) {
				printf("# sector %llu differs from what was "
				    "written\n",
				    (unsigned long long)(off + s) / SECT);
				ok = 0;
				break;
			}
		}
	}
	free(b);
	return (ok);
}

/*
 * One random write of 512-byte multiples, in two iovecs.  Done under
 * the case's lock only for the model: the writes themselves overlap in
 * time when several threads write.
 */
static void
one_write(struct fullcase *c, uint8_t *buf, uint64_t lo, uint64_t hi)
{
	struct iovec	 iov[2];
	uint64_t	 off, s;
	size_t		 len, i;
	int		 r;

	len = SECT * (1 + rnd() % (c->maxlen / SECT));
	off = lo + SECT * (rnd() % ((hi - lo - len) / SECT + 1));
	for (i = 0; i < len; i += 8)
		*(uint64_t *)(void *)(buf + i) = rnd();
	iov[0].iov_base = buf;
	iov[0].iov_len = len / 2 / SECT * SECT;
	iov[1].iov_base = buf + iov[0].iov_len;
	iov[1].iov_len = len - iov[0].iov_len;
	r = disk_writev(c->d, iov, 2, off);
	pthread_mutex_lock(&c->mtx);
	c->nwrites++;
	if (r == 0) {
		memcpy(c->model + off, buf, len);
		for (s = 0; s < len; s += SECT)
			c->st[(off + s) / SECT] = S_WRITTEN;
	} else {
		for (s = 0; s < len; s += SECT)
			c->st[(off + s) / SECT] = S_FAILED;
		c->nfail++;
		c->lasterr = -r;
		if (r != -ENOSPC)
			c->nother++;
	}
	pthread_mutex_unlock(&c->mtx);
}

static void
flush_now(struct fullcase *c)
{
	if (disk_flush(c->d) != 0) {
		pthread_mutex_lock(&c->mtx);
		c->nflushfail++;
		pthread_mutex_unlock(&c->mtx);
	}
}

/*
 * Write into [lo, hi) until ENOSPC has been seen want times (or a bound
 * is reached).
 */
static void
write_until_full(struct fullcase *c, int want, int bound, uint64_t lo,
    uint64_t hi)
{
	uint8_t	*buf;
	int	 i;

	if ((buf = malloc(c->maxlen)) == NULL)
		return;
	for (i = 0; i < bound; i++) {
		pthread_mutex_lock(&c->mtx);
		if (c->nfail >= want) {
			pthread_mutex_unlock(&c->mtx);
			break;
		}
		pthread_mutex_unlock(&c->mtx);
		one_write(c, buf, lo, hi);
		if (rnd() % 16 == 0)
			flush_now(c);
	}
	free(buf);
}

/* Threads write disjoint parts, so that the model can follow them. */
struct writer {
	struct fullcase	*c;
	int		 id;
};

static void *
writer(void *arg)
{
	struct writer	*w = arg;
	struct fullcase	*c = w->c;
	uint64_t	 part = c->size / c->threads;

	rnd_state = 0x9e3779b97f4a7c15ULL * (uint64_t)(w->id + 1) +
	    c->seed + seed0;
	write_until_full(c, 200, 20000, part * w->id, part * (w->id + 1));
	return (NULL);
}

/*
 * Rewrite what a successful write put somewhere: it has its space, so
 * it must succeed however full the file system is.
 */
static int
rewrite_written(struct fullcase *c)
{
	struct iovec	 iov;
	uint8_t		 b[4096];
	uint64_t	 s, n = c->size / SECT, start;
	int		 tries;

	for (tries = 0; tries < 64; tries++) {
		start = rnd() % n;
		for (s = start; s < n && s < start + 4096; s++)
			if (c->st[s] == S_WRITTEN)
				break;
		if (s == n || s == start + 4096)
			continue;
		memcpy(b, c->model + s * SECT, SECT);
		b[0] ^= 0xff;
		iov.iov_base = b;
		iov.iov_len = SECT;
		if (disk_writev(c->d, &iov, 1, s * SECT) != 0)
			return (-1);
		memcpy(c->model + s * SECT, b, SECT);
		return (1);
	}
	return (0);
}

static void
qemu_check(struct fullcase *c, const char *when)
{
	int	 r;

	if (c->type != VMDF_QCOW2)
		return;
	if (!have_qemu) {
		printf("ok - %s: qemu-img check %s # SKIP qemu-img not "
		    "installed\n", c->what, when);
		return;
	}
	r = sh("qemu-img check -q '%s'", c->path);
	if (r != 0)
		(void)sh("qemu-img check '%s' 2>&1 | grep -v '^Leaked cluster' | sed 's/^/# /'", c->path);
	check(r == 0, "%s: qemu-img check %s: no errors, no leaks "
	    "(status %d)", c->what, when, r);
}

static void
run_case(struct fullcase *c)
{
	char		 err[DISK_ERRLEN];
	pthread_t	 th[4];
	struct writer	 w[4];
	struct disk	*d;
	uint8_t		*bm = NULL;
	uint64_t	 k;
	size_t		 maxlen;
	int		 i, fd, r, ffd = -1;

	if (c->make != NULL && !have_qemu) {
		printf("ok - %s # SKIP qemu-img not installed\n", c->what);
		return;
	}
	rnd_state = 0x2545f4914f6cdd1dULL * (c->seed + seed0 + 1);
	(void)snprintf(c->dir, sizeof(c->dir), "%s/%s", topdir, c->what);
	for (i = 0; c->dir[i] != '\0'; i++)
		if (c->dir[i] == ' ')
			c->dir[i] = '_';
	(void)snprintf(c->path, sizeof(c->path), "%s/img", c->dir);
	pthread_mutex_init(&c->mtx, NULL);
	if (mkdir(c->dir, 0700) == -1 || fs_mount(c, c->fs, 0) == -1) {
		check(0, "%s: tmpfs of %llu KiB: %s", c->what,
		    (unsigned long long)c->fs / KB, strerror(errno));
		return;
	}
	if ((c->model = calloc(1, c->size)) == NULL ||
	    (c->st = calloc(1, c->size / SECT)) == NULL)
		goto out;

	if (c->base) {
		/* the base outside the tmpfs, full of data */
		char	 bpath[256], braw[300];

		(void)snprintf(bpath, sizeof(bpath), "%s/base-%d.qcow2",
		    topdir, c->base);
		if ((bm = malloc(c->size)) == NULL)
			goto out;
		for (i = 0; i < (int)(c->size / 8); i++)
			((uint64_t *)(void *)bm)[i] = rnd();
		(void)snprintf(braw, sizeof(braw), "%s.raw", bpath);
		if ((fd = open(braw, O_CREAT | O_TRUNC | O_WRONLY, 0600)) ==
		    -1 || write(fd, bm, c->size) != (ssize_t)c->size) {
			check(0, "%s: base written", c->what);
			goto out;
		}
		close(fd);
		memcpy(c->model, bm, c->size);
		r = sh("qemu-img convert -q -f raw -O qcow2 -o %s '%s' '%s' && "
		    "qemu-img create -q -f qcow2 -o %s -b '%s' -F qcow2 '%s'",
		    c->make, braw, bpath, c->make, bpath, c->path);
	} else if (c->make != NULL)
		r = sh("qemu-img create -q -f qcow2 -o %s '%s' %llu", c->make,
		    c->path, (unsigned long long)c->size);
	else if (c->type == VMDF_QCOW2)
		r = disk_create_qcow2(c->path, c->size, NULL, err,
		    sizeof(err));
	else
		r = disk_create_raw(c->path, c->size, err, sizeof(err));
	if (r != 0 || (c->d = open_img(c)) == NULL) {
		check(0, "%s: image made and opened", c->what);
		goto out;
	}
	if (c->filler > 0) {
		char	 fpath[300];

		(void)snprintf(fpath, sizeof(fpath), "%s/filler", c->dir);
		if ((ffd = open(fpath, O_CREAT | O_RDWR, 0600)) == -1 ||
		    posix_fallocate(ffd, 0, (off_t)c->filler) != 0) {
			check(0, "%s: filler file", c->what);
			goto out;
		}
	}

	if (c->threads > 1) {
		for (i = 0; i < c->threads; i++) {
			w[i].c = c;
			w[i].id = i;
			pthread_create(&th[i], NULL, writer, &w[i]);
		}
		for (i = 0; i < c->threads; i++)
			pthread_join(th[i], NULL);
	} else
		write_until_full(c, 200, 20000, 0, c->size);
	/*
	 * Then a page more room at a time, filled by small writes each
	 * time: the file system runs out at every step of an allocation
	 * (data, L2 table, refcount block, refcount table) in turn.
	 */
	maxlen = c->maxlen;
	c->maxlen = MINIMUM(maxlen, 8 * KB);
	for (k = 0; ffd != -1 && k < c->filler / 4096; k++) {
		if (ftruncate(ffd, (off_t)(c->filler - (k + 1) * 4096)) == -1)
			break;
		write_until_full(c, c->nfail + 3, 400, 0, c->size);
	}
	c->maxlen = maxlen;
	printf("# %s: %d writes, %d failed (last: %s)\n", c->what,
	    c->nwrites, c->nfail, c->nfail ? strerror(c->lasterr) : "-");
	check(c->nfail > 0, "%s: the file system filled up", c->what);
	check(c->nother == 0, "%s: writes failed with ENOSPC and nothing "
	    "else", c->what);
	check(c->nflushfail == 0, "%s: every flush succeeded, full or not",
	    c->what);
	r = 0;
	for (i = 0; i < 20 && r >= 0; i++)
		r = rewrite_written(c);
	check(r >= 0, "%s: rewriting written sectors succeeds when full",
	    c->what);
	check(reads_as_model(c, c->d), "%s: every acknowledged write reads "
	    "back", c->what);
	check(disk_flush(c->d) == 0, "%s: flush when full", c->what);
	disk_close(c->d);
	c->d = NULL;
	qemu_check(c, "when full");
	if ((d = open_img(c)) == NULL) {
		check(0, "%s: reopens when full", c->what);
		goto out;
	}
	check(reads_as_model(c, d), "%s: after reopening, every acknowledged "
	    "write is there", c->what);
	disk_close(d);

	/* room again (for the whole disk twice): writing goes on */
	if (fs_mount(c, c->size * 2 + c->fs, 1) == -1) {
		check(0, "%s: tmpfs grown: %s", c->what, strerror(errno));
		goto out;
	}
	if ((c->d = open_img(c)) == NULL) {
		check(0, "%s: reopens with room", c->what);
		goto out;
	}
	c->nfail = c->nother = c->nflushfail = 0;
	write_until_full(c, 1, 200, 0, c->size);
	check(c->nfail == 0 && c->nflushfail == 0, "%s: with room again, "
	    "200 writes and their flushes succeed", c->what);
	check(reads_as_model(c, c->d), "%s: and read back", c->what);
	disk_close(c->d);
	c->d = NULL;
	qemu_check(c, "at the end");
 out:
	if (c->d != NULL)
		disk_close(c->d);
	if (ffd != -1)
		close(ffd);
	free(bm);
	free(c->model);
	free(c->st);
	(void)umount2(c->dir, MNT_DETACH);
	(void)rmdir(c->dir);
}

/* The case in a child that cannot fallocate. */
static void
run_case_nofalloc(struct fullcase *c)
{
	scmp_filter_ctx	 ctx;
	pid_t		 pid;
	int		 st;

	fflush(stdout);
	if ((pid = fork()) == -1) {
		check(0, "%s: fork: %s", c->what, strerror(errno));
		return;
	}
	if (pid == 0) {
		if ((ctx = seccomp_init(SCMP_ACT_ALLOW)) == NULL ||
		    seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EOPNOTSUPP),
		    SCMP_SYS(fallocate), 0) != 0 || seccomp_load(ctx) != 0) {
			check(0, "%s: a filter against fallocate", c->what);
			_exit(1);
		}
		run_case(c);
		fflush(stdout);
		_exit(failed);
	}
	if (waitpid(pid, &st, 0) == -1 || !WIFEXITED(st) ||
	    WEXITSTATUS(st) != 0)
		failed = 1;
}

int
main(void)
{
	static struct fullcase cases[] = {
		{ .what = "raw", .type = VMDF_RAW, .size = 16 * MB,
		    .fs = 1 * MB, .maxlen = 128 * KB },
		{ .what = "qcow2 ours 64K", .type = VMDF_QCOW2,
		    .size = 64 * MB, .fs = 1 * MB, .maxlen = 256 * KB },
		{ .what = "qcow2 qemu 4K", .type = VMDF_QCOW2,
		    .make = "cluster_size=4096", .size = 64 * MB,
		    .fs = 1 * MB, .maxlen = 64 * KB },
		{ .what = "qcow2 qemu 512", .type = VMDF_QCOW2,
		    .make = "cluster_size=512", .size = 32 * MB,
		    .fs = 1 * MB, .maxlen = 16 * KB },
		{ .what = "qcow2 qemu 512 table moves", .type = VMDF_QCOW2,
		    .make = "cluster_size=512", .size = 64 * MB,
		    .fs = 9 * MB, .maxlen = 64 * KB },
		{ .what = "qcow2 qemu 512 page by page", .type = VMDF_QCOW2,
		    .make = "cluster_size=512", .size = 64 * MB,
		    .fs = 9 * MB, .maxlen = 64 * KB, .filler = 1536 * KB },
		{ .what = "qcow2 qemu 512 page by page, seed 6",
		    .type = VMDF_QCOW2, .make = "cluster_size=512",
		    .size = 64 * MB, .fs = 9 * MB, .maxlen = 64 * KB,
		    .filler = 1536 * KB, .seed = 6 },
		{ .what = "qcow2 qemu 512 page by page, seed 9",
		    .type = VMDF_QCOW2, .make = "cluster_size=512",
		    .size = 64 * MB, .fs = 9 * MB, .maxlen = 64 * KB,
		    .filler = 1536 * KB, .seed = 9 },
		{ .what = "qcow2 qemu 4K page by page", .type = VMDF_QCOW2,
		    .make = "cluster_size=4096", .size = 64 * MB,
		    .fs = 9 * MB, .maxlen = 64 * KB, .filler = 1536 * KB },
		{ .what = "qcow2 ours 64K page by page", .type = VMDF_QCOW2,
		    .size = 64 * MB, .fs = 1 * MB, .maxlen = 128 * KB,
		    .filler = 512 * KB },
		{ .what = "qcow2 qemu 4K over a base", .type = VMDF_QCOW2,
		    .make = "cluster_size=4096", .size = 16 * MB,
		    .fs = 512 * KB, .maxlen = 12 * KB, .base = 1 },
		{ .what = "qcow2 qemu 4K, no fallocate", .type = VMDF_QCOW2,
		    .make = "cluster_size=4096", .size = 64 * MB,
		    .fs = 1 * MB, .maxlen = 64 * KB, .nofalloc = 1 },
		{ .what = "qcow2 qemu 512 page by page, no fallocate",
		    .type = VMDF_QCOW2, .make = "cluster_size=512",
		    .size = 64 * MB, .fs = 9 * MB, .maxlen = 64 * KB,
		    .filler = 1536 * KB, .seed = 6, .nofalloc = 1 },
		{ .what = "qcow2 ours 64K 4 threads", .type = VMDF_QCOW2,
		    .size = 64 * MB, .fs = 2 * MB, .maxlen = 128 * KB,
		    .threads = 4 },
		{ .what = "qcow2 qemu 4K 4 threads", .type = VMDF_QCOW2,
		    .make = "cluster_size=4096", .size = 64 * MB,
		    .fs = 1 * MB, .maxlen = 32 * KB, .threads = 4 },
	};
	size_t	 i;

	if (geteuid() != 0) {
		printf("ok - disk full # SKIP needs root for a mount "
		    "namespace\n");
		return (0);
	}
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1) {
		printf("ok - disk full # SKIP no private mount namespace: "
		    "%s\n", strerror(errno));
		return (0);
	}
	(void)snprintf(topdir, sizeof(topdir), "/tmp/tdiskfull.XXXXXX");
	if (mkdtemp(topdir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	have_qemu = sh("qemu-img --version >/dev/null 2>&1") == 0;
	if (getenv("T_DISKFULL_SEED") != NULL)
		seed0 = strtoull(getenv("T_DISKFULL_SEED"), NULL, 0);
	for (i = 0; i < nitems(cases); i++) {
		if (cases[i].nofalloc)
			run_case_nofalloc(&cases[i]);
		else
			run_case(&cases[i]);
	}
	(void)sh("rm -rf '%s'", topdir);
	return (failed);
}
