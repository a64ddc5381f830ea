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
 * preadv/pwritev are thread-safe by themselves, so no lock.  With
 * DISK_DIRECT the descriptor gets O_DIRECT: requests go from guest memory
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
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmd.h"
#include "disk.h"

struct raw_disk {
	int	fd;
	int	can_punch;	/* cleared when the file system says no */
	int	can_zero_range;
	size_t	dio_mem;	/* O_DIRECT: buffers' alignment, else 0 */
	size_t	dio_off;	/* and offsets' and lengths' */
};

#define RAW_SECTOR	512	/* what the guest's requests are made of */

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

/*
 * O_DIRECT on rd->fd, and the alignment it needs: statx(2) says where the
 * kernel knows, a block device's logical block size where it does not.
 * The guest's requests are in 512-byte sectors, so a device that needs
 * more for offsets is refused rather than served by read-modify-write.
 */
static int
raw_direct(struct raw_disk *rd, const struct stat *st, char *err,
    size_t errlen)
{
	struct statx	 stx;
	int		 fl, bsz = RAW_SECTOR;

	rd->dio_mem = rd->dio_off = RAW_SECTOR;
	if (statx(rd->fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN)) {
		if (stx.stx_dio_offset_align == 0) {
			snprintf(err, errlen, "raw: direct I/O: not supported "
			    "on this file system");
			return (-1);
		}
		rd->dio_mem = stx.stx_dio_mem_align;
		rd->dio_off = stx.stx_dio_offset_align;
	} else if (S_ISBLK(st->st_mode) && ioctl(rd->fd, BLKSSZGET, &bsz) ==
	    0 && bsz > 0)
		rd->dio_mem = rd->dio_off = (size_t)bsz;
	if (rd->dio_off > RAW_SECTOR || rd->dio_mem == 0 ||
	    (rd->dio_mem & (rd->dio_mem - 1)) != 0) {
		snprintf(err, errlen, "raw: direct I/O: the image needs %zu-byte "
		    "alignment, more than the guest's %d-byte sectors",
		    rd->dio_off, RAW_SECTOR);
		return (-1);
	}
	if ((fl = fcntl(rd->fd, F_GETFL)) == -1 ||
	    fcntl(rd->fd, F_SETFL, fl | O_DIRECT) == -1) {
		snprintf(err, errlen, "raw: direct I/O: %s", errno == EINVAL ?
		    "not supported on this file system" : strerror(errno));
		return (-1);
	}
	return (0);
}

/* Can O_DIRECT take the request as it is? */
static int
raw_aligned(const struct raw_disk *rd, const struct iovec *iov, int iovcnt,
    uint64_t off)
{
	int	 i;

	if (off % rd->dio_off != 0)
		return (0);
	for (i = 0; i < iovcnt; i++)
		if ((uintptr_t)iov[i].iov_base % rd->dio_mem != 0 ||
		    iov[i].iov_len % rd->dio_off != 0)
			return (0);
	return (1);
}

/*
 * A request O_DIRECT cannot take as it is, through an aligned copy.  A
 * length that is not whole sectors is refused (the guest's requests
 * are; disk.c's own are too).
 */
static int
raw_bounce(struct raw_disk *rd, const struct iovec *iov, int iovcnt,
    uint64_t off, int write)
{
	struct iovec	 b;
	size_t		 len = iov_length(iov, iovcnt);
	int		 r;

	if (off % rd->dio_off != 0 || len % rd->dio_off != 0)
		return (-EINVAL);
	if (len == 0)
		return (0);
	if ((r = posix_memalign(&b.iov_base, MAXIMUM(rd->dio_mem,
	    sizeof(void *)), len)) != 0)
		return (-r);
	b.iov_len = len;
	if (write) {
		iov_to_buf(iov, iovcnt, 0, b.iov_base, len);
		r = disk_pwritev_full(rd->fd, &b, 1, off);
	} else if ((r = disk_preadv_full(rd->fd, &b, 1, off)) == 0)
		(void)buf_to_iov(b.iov_base, len, iov, iovcnt, 0);
	free(b.iov_base);
	return (r);
}

void *
vioraw_open(const int *fds, int nfds, int flags, uint64_t *size,
    int *caps, const struct disk_ops **ops, char *err, size_t errlen)
{
	struct raw_disk	*rd;
	struct stat	 st;
	uint64_t	 sz;
	int		 readonly = (flags & DISK_RDONLY) != 0;

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
	if ((flags & DISK_DIRECT) && raw_direct(rd, &st, err, errlen) == -1) {
		free(rd);
		return (NULL);
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

	if (rd->dio_off != 0 && !raw_aligned(rd, iov, iovcnt, off))
		return (raw_bounce(rd, iov, iovcnt, off, 0));
	return (disk_preadv_full(rd->fd, iov, iovcnt, off));
}

static int
raw_writev(void *p, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct raw_disk	*rd = p;

	if (rd->dio_off != 0 && !raw_aligned(rd, iov, iovcnt, off))
		return (raw_bounce(rd, iov, iovcnt, off, 1));
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
