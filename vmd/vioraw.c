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
 * Raw images: a regular file or a block device, the disk byte for byte.
 * preadv/pwritev are thread-safe by themselves, so no lock.  For direct
 * I/O the descriptor gets O_DIRECT: requests go from guest memory
 * to the device with no copy in the page cache, and one whose buffers
 * the device cannot take as they are goes through an aligned copy.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <linux/falloc.h>
#include <linux/fs.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmd.h"
#include "disk.h"

struct raw_disk {
	int		fd;
	int		can_punch;	/* cleared when the file system says no */
	int		can_zero_range;
	int		direct;		/* I/O through dio */
	struct disk_dio	dio;
};

static int	 raw_readv(void *, const struct iovec *, int, uint64_t);
static int	 raw_writev(void *, const struct iovec *, int, uint64_t);
static int	 raw_flush(void *);
static int	 raw_discard(void *, uint64_t, uint64_t);
static int	 raw_write_zeroes(void *, uint64_t, uint64_t, int);
static void	 raw_close(void *);

static const struct disk_ops raw_ops = {
	raw_readv, raw_writev, raw_flush, raw_discard, raw_write_zeroes,
	raw_close
};

void *
vioraw_open(const int *fds, int nfds, int dfd, int readonly,
    uint64_t *size, int *caps, const struct disk_ops **ops, char *err,
    size_t errlen)
{
	struct raw_disk	*rd;
	struct stat	 st;
	uint64_t	 sz;
	char		 dioerr[128];

	if (nfds != 1) {
		snprintf(err, errlen, "raw: a raw image has no backing file");
		return (NULL);
	}
	if (fstat(fds[0], &st) == -1) {
		snprintf(err, errlen, "raw: %s", strerror(errno));
		return (NULL);
	}
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fds[0], BLKGETSIZE64, &sz) == -1) {
			snprintf(err, errlen, "raw: BLKGETSIZE64: %s",
			    strerror(errno));
			return (NULL);
		}
	} else if (S_ISREG(st.st_mode))
		sz = (uint64_t)st.st_size;
	else {
		snprintf(err, errlen, "raw: not a regular file or block "
		    "device");
		return (NULL);
	}
	if ((rd = calloc(1, sizeof(*rd))) == NULL) {
		snprintf(err, errlen, "raw: %s", strerror(errno));
		return (NULL);
	}
	rd->fd = fds[0];
	rd->can_punch = rd->can_zero_range = 1;
	if (dfd != -1) {
		if (disk_dio_init(&rd->dio, dfd, dioerr, sizeof(dioerr)) ==
		    -1) {
			snprintf(err, errlen, "raw: %s", dioerr);
			free(rd);
			return (NULL);
		}
		rd->direct = 1;
	}
	*size = sz;
	/* write-zeroes always works: it falls back to writing zeroes */
	*caps = readonly ? 0 : DISK_CAN_DISCARD | DISK_CAN_WRITE_ZEROES;
	*ops = &raw_ops;
	return (rd);
}

static int
raw_readv(void *p, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct raw_disk	*rd = p;

	if (rd->direct)
		return (disk_dio_xferv(&rd->dio, iov, iovcnt, 0,
		    iov_length(iov, iovcnt), off, 0));
	return (disk_preadv_full(rd->fd, iov, iovcnt, off));
}

static int
raw_writev(void *p, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct raw_disk	*rd = p;

	if (rd->direct)
		return (disk_dio_xferv(&rd->dio, iov, iovcnt, 0,
		    iov_length(iov, iovcnt), off, 1));
	return (disk_pwritev_full(rd->fd, iov, iovcnt, off));
}

static int
raw_flush(void *p)
{
	struct raw_disk	*rd = p;

	if (fdatasync(rd->fd) == -1)
		return (-errno);
	return (0);
}

static int
raw_fallocate(struct raw_disk *rd, int mode, uint64_t off, uint64_t len)
{
	int	 r;

	do
		r = fallocate(rd->fd, mode, (off_t)off, (off_t)len);
	while (r == -1 && errno == EINTR);
	return (r == -1 ? -errno : 0);
}

/*
 * Discard is advisory (virtio says the data may stay): a file system
 * that cannot punch holes makes it a no-op.
 */
static int
raw_discard(void *p, uint64_t off, uint64_t len)
{
	struct raw_disk	*rd = p;
	int		 r;

	if (!rd->can_punch)
		return (0);
	r = raw_fallocate(rd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
	    off, len);
	if (r == -EOPNOTSUPP || r == -ENOSYS) {
		rd->can_punch = 0;
		return (0);
	}
	return (r);
}

static int
raw_write_zeroes(void *p, uint64_t off, uint64_t len, int unmap)
{
	struct raw_disk	*rd = p;
	int		 r;

	if (unmap && rd->can_punch) {
		r = raw_fallocate(rd, FALLOC_FL_PUNCH_HOLE |
		    FALLOC_FL_KEEP_SIZE, off, len);
		if (r == 0)
			return (0);
		if (r == -EOPNOTSUPP || r == -ENOSYS)
			rd->can_punch = 0;
		else
			return (r);
	}
	if (rd->can_zero_range) {
		r = raw_fallocate(rd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE,
		    off, len);
		if (r == 0)
			return (0);
		if (r == -EOPNOTSUPP || r == -ENOSYS)
			rd->can_zero_range = 0;
		else
			return (r);
	}
	return (-EOPNOTSUPP);	/* disk.c writes the zeroes */
}

static void
raw_close(void *p)
{
	struct raw_disk	*rd = p;

	close(rd->fd);
	free(rd);
}

/*
 * vmctl create: a sparse file of size bytes, never over an existing one.
 * Returns 0 or an errno.
 */
int
disk_create_raw(const char *path, uint64_t size, char *err, size_t errlen)
{
	int	 fd, ret;

	if (errlen > 0)
		err[0] = '\0';
	if (size > (uint64_t)INT64_MAX)
		return (EFBIG);
	if ((fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC,
	    0600)) == -1)
		return (errno);
	if (ftruncate(fd, (off_t)size) == -1) {
		ret = errno;
		close(fd);
		(void)unlink(path);
		return (ret);
	}
	if (close(fd) == -1) {
		ret = errno;
		(void)unlink(path);
		return (ret);
	}
	return (0);
}
