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
 * The disk interface: dispatch to vioraw.c or vioqcow2.c, bounds checks,
 * opening a chain by name, and the iovec and full-I/O helpers both
 * backends use.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <linux/fs.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmd.h"
#include "disk.h"

struct disk {
	int			 type;
	int			 readonly;
	int			 caps;
	uint64_t		 size;
	const struct disk_ops	*ops;
	void			*p;
};

struct disk *
disk_open(int type, const int *fds, int nfds, int readonly, char *err,
    size_t errlen)
{
	struct disk	*d;
	int		 dfd = -1;

	if (errlen > 0)
		err[0] = '\0';
	if ((type & ~(VMDF_DIRECT | 0xff)) != 0) {
		snprintf(err, errlen, "unknown disk flags %#x", type);
		return (NULL);
	}
	/*
	 * The descriptor for data with O_DIRECT: a raw image's own; for a
	 * qcow2 image the top image again, last (vmd.c), its tables going
	 * through the first
	 */
	if ((type & VMDF_DIRECT) && VMDF_FORMAT(type) == VMDF_QCOW2) {
		if (nfds < 2) {
			snprintf(err, errlen, "direct I/O on qcow2 needs a "
			    "second descriptor of the image");
			return (NULL);
		}
		dfd = fds[--nfds];
	} else if ((type & VMDF_DIRECT) && nfds > 0)
		dfd = fds[0];
	if (nfds < 1 || nfds > VM_MAX_BASE_PER_DISK) {
		snprintf(err, errlen, "invalid number of images in chain: %d",
		    nfds);
		return (NULL);
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		return (NULL);
	}
	d->type = VMDF_FORMAT(type);
	d->readonly = readonly ? 1 : 0;
	switch (d->type) {
	case VMDF_RAW:
		d->p = vioraw_open(fds, nfds, dfd, d->readonly, &d->size,
		    &d->caps, &d->ops, err, errlen);
		break;
	case VMDF_QCOW2:
		d->p = vioqcow2_open(fds, nfds, dfd, d->readonly, &d->size,
		    &d->caps, &d->ops, err, errlen);
		break;
	default:
		snprintf(err, errlen, "unknown disk format %d", type);
		break;
	}
	if (d->p == NULL) {
		free(d);
		return (NULL);
	}
	if (d->readonly)
		d->caps = 0;
	return (d);
}

void
disk_close(struct disk *d)
{
	if (d == NULL)
		return;
	d->ops->close(d->p);
	free(d);
}

uint64_t
disk_size(const struct disk *d)
{
	return (d->size);
}

int
disk_readonly(const struct disk *d)
{
	return (d->readonly);
}

int
disk_caps(const struct disk *d)
{
	return (d->caps);
}

static int
disk_range(const struct disk *d, uint64_t off, uint64_t len)
{
	if (off > d->size || len > d->size - off)
		return (-EINVAL);
	return (0);
}

static int
disk_iov(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off,
    int write)
{
	size_t	 len;

	if (write && d->readonly)
		return (-EROFS);
	if (iovcnt < 0)
		return (-EINVAL);
	len = iov_length(iov, iovcnt);
	if (disk_range(d, off, len) != 0)
		return (-EINVAL);
	if (len == 0)
		return (0);
	return (write ? d->ops->writev(d->p, iov, iovcnt, off) :
	    d->ops->readv(d->p, iov, iovcnt, off));
}

int
disk_readv(struct disk *d, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return (disk_iov(d, iov, iovcnt, off, 0));
}

int
disk_writev(struct disk *d, const struct iovec *iov, int iovcnt,
    uint64_t off)
{
	return (disk_iov(d, iov, iovcnt, off, 1));
}

int
disk_flush(struct disk *d)
{
	if (d->readonly)
		return (0);
	return (d->ops->flush(d->p));
}

int
disk_discard(struct disk *d, uint64_t off, uint64_t len)
{
	if (d->readonly)
		return (-EROFS);
	if (disk_range(d, off, len) != 0)
		return (-EINVAL);
	if ((d->caps & DISK_CAN_DISCARD) == 0)
		return (-EOPNOTSUPP);
	if (len == 0)
		return (0);
	return (d->ops->discard(d->p, off, len));
}

int
disk_write_zeroes(struct disk *d, uint64_t off, uint64_t len, int unmap)
{
	static const char	zeroes[65536];
	struct iovec		iov;
	int			r;

	if (d->readonly)
		return (-EROFS);
	if (disk_range(d, off, len) != 0)
		return (-EINVAL);
	if (len == 0)
		return (0);
	if (d->ops->write_zeroes != NULL &&
	    (r = d->ops->write_zeroes(d->p, off, len, unmap)) != -EOPNOTSUPP)
		return (r);
	/* the backend cannot do better: write the zeroes */
	while (len > 0) {
		iov.iov_base = (void *)(uintptr_t)zeroes;
		iov.iov_len = MINIMUM(len, sizeof(zeroes));
		if ((r = d->ops->writev(d->p, &iov, 1, off)) != 0)
			return (r);
		off += iov.iov_len;
		len -= iov.iov_len;
	}
	return (0);
}

/*
 * Open a chain by name.  Loops are caught by device and inode, and the
 * depth by VM_MAX_BASE_PER_DISK, as the parent does it.
 */
struct disk *
disk_open_path(int type, const char *path, int readonly, char *err,
    size_t errlen)
{
	struct disk	*d = NULL;
	struct stat	 st[VM_MAX_BASE_PER_DISK];
	char		 name[PATH_MAX], cur[PATH_MAX], base[PATH_MAX];
	int		 fds[VM_MAX_BASE_PER_DISK];
	int		 nfds = 0, i, j;

	if (errlen > 0)
		err[0] = '\0';
	if (strlcpy(cur, path, sizeof(cur)) >= sizeof(cur)) {
		snprintf(err, errlen, "%s: %s", path, strerror(ENAMETOOLONG));
		return (NULL);
	}
	for (;;) {
		if ((fds[nfds] = open(cur, (nfds == 0 && !readonly ? O_RDWR :
		    O_RDONLY) | O_CLOEXEC)) == -1) {
			snprintf(err, errlen, "%s: %s", cur, strerror(errno));
			goto fail;
		}
		nfds++;
		if (fstat(fds[nfds - 1], &st[nfds - 1]) == -1) {
			snprintf(err, errlen, "%s: %s", cur, strerror(errno));
			goto fail;
		}
		for (j = 0; j < nfds - 1; j++) {
			if (st[j].st_dev == st[nfds - 1].st_dev &&
			    st[j].st_ino == st[nfds - 1].st_ino) {
				snprintf(err, errlen, "%s: loop in the backing "
				    "chain", path);
				goto fail;
			}
		}
		if (VMDF_FORMAT(type) != VMDF_QCOW2)
			break;
		if (disk_backing_name(fds[nfds - 1], cur, name, sizeof(name),
		    base, sizeof(base), err, errlen) == -1)
			goto fail;
		if (name[0] == '\0')
			break;
		if (nfds == VM_MAX_BASE_PER_DISK) {
			snprintf(err, errlen, "%s: backing chain longer than "
			    "%d images", path, VM_MAX_BASE_PER_DISK);
			goto fail;
		}
		(void)strlcpy(cur, base, sizeof(cur));
	}
	if ((d = disk_open(type, fds, nfds, readonly, err, errlen)) != NULL)
		return (d);
 fail:
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	return (NULL);
}

/*
 * iovec helpers
 */

size_t
iov_length(const struct iovec *iov, int iovcnt)
{
	size_t	 len = 0;
	int	 i;

	for (i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	return (len);
}

/*
 * The part [skip, skip + len) of iov as at most max entries of out.
 * Returns their count, or -1 when max is too small.
 */
int
iov_slice(const struct iovec *iov, int iovcnt, size_t skip, size_t len,
    struct iovec *out, int max)
{
	size_t	 n;
	int	 i, cnt = 0;

	for (i = 0; i < iovcnt && len > 0; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		if (cnt == max)
			return (-1);
		n = MINIMUM(iov[i].iov_len - skip, len);
		out[cnt].iov_base = (char *)iov[i].iov_base + skip;
		out[cnt].iov_len = n;
		cnt++;
		len -= n;
		skip = 0;
	}
	return (cnt);
}

/*
 * Walk the buffers from byte skip for len bytes: copy them to buf
 * (IOV_OUT), copy buf into them (IOV_IN), or zero them (IOV_IN, buf
 * NULL).  Returns the bytes done (less if the buffers end first).
 */
#define IOV_OUT		0
#define IOV_IN		1

static size_t
iov_walk(const struct iovec *iov, int iovcnt, size_t skip, void *buf,
    size_t len, int dir)
{
	char	*p = buf, *b;
	size_t	 n, done = 0;
	int	 i;

	for (i = 0; i < iovcnt && done < len; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		n = MINIMUM(iov[i].iov_len - skip, len - done);
		b = (char *)iov[i].iov_base + skip;
		if (dir == IOV_OUT)
			memcpy(p + done, b, n);
		else if (p == NULL)
			memset(b, 0, n);
		else
			memcpy(b, p + done, n);
		done += n;
		skip = 0;
	}
	return (done);
}

void
iov_zero(const struct iovec *iov, int iovcnt, size_t skip, size_t len)
{
	(void)iov_walk(iov, iovcnt, skip, NULL, len, IOV_IN);
}

void
iov_to_buf(const struct iovec *iov, int iovcnt, size_t skip, void *buf,
    size_t len)
{
	(void)iov_walk(iov, iovcnt, skip, buf, len, IOV_OUT);
}

size_t
buf_to_iov(const void *buf, size_t len, const struct iovec *iov, int iovcnt,
    size_t skip)
{
	return (iov_walk(iov, iovcnt, skip, (void *)(uintptr_t)buf, len,
	    IOV_IN));
}

/*
 * Full-length I/O of the part [skip, skip + len) of iov: short transfers
 * are continued, EINTR retried.  Reads past the end of the file give
 * zeroes, as a hole would.  Return 0 or a negative errno.
 */
static int
disk_xferv(int fd, const struct iovec *iov, int iovcnt, size_t skip,
    size_t len, uint64_t off, int write)
{
	struct iovec	 v[64];
	size_t		 done = 0;
	ssize_t		 n;
	int		 cnt;

	while (done < len) {
		if (off + done > (uint64_t)INT64_MAX)
			return (-EINVAL);
		cnt = iov_slice(iov, iovcnt, skip + done, len - done, v,
		    nitems(v));
		if (cnt == -1)
			cnt = nitems(v);
		if (write)
			n = pwritev(fd, v, cnt, (off_t)(off + done));
		else
			n = preadv(fd, v, cnt, (off_t)(off + done));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return (-errno);
		}
		if (n == 0) {
			if (write)
				return (-EIO);
			iov_zero(iov, iovcnt, skip + done, len - done);
			break;
		}
		done += (size_t)n;
	}
	return (0);
}

int
disk_preadv_part(int fd, const struct iovec *iov, int iovcnt, size_t skip,
    size_t len, uint64_t off)
{
	return (disk_xferv(fd, iov, iovcnt, skip, len, off, 0));
}

int
disk_pwritev_part(int fd, const struct iovec *iov, int iovcnt, size_t skip,
    size_t len, uint64_t off)
{
	return (disk_xferv(fd, iov, iovcnt, skip, len, off, 1));
}

int
disk_preadv_full(int fd, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return (disk_xferv(fd, iov, iovcnt, 0, iov_length(iov, iovcnt), off,
	    0));
}

int
disk_pwritev_full(int fd, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return (disk_xferv(fd, iov, iovcnt, 0, iov_length(iov, iovcnt), off,
	    1));
}

int
disk_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
	struct iovec	 iov;

	iov.iov_base = buf;
	iov.iov_len = len;
	return (disk_xferv(fd, &iov, 1, 0, len, off, 0));
}

int
disk_pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	struct iovec	 iov;

	iov.iov_base = (void *)buf;
	iov.iov_len = len;
	return (disk_xferv(fd, &iov, 1, 0, len, off, 1));
}

/*
 * O_DIRECT on fd, and the alignment it needs: statx(2) says where the
 * kernel knows, a block device's logical block size where it does not.
 * The guest's requests are in 512-byte sectors, so a device that needs
 * more for offsets is refused rather than served by read-modify-write.
 */
int
disk_dio_init(struct disk_dio *dio, int fd, char *err, size_t errlen)
{
	struct statx	 stx;
	struct stat	 st;
	int		 fl, bsz = DISK_SECTOR;

	dio->fd = fd;
	dio->mem = dio->off = DISK_SECTOR;
	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &stx) == 0 &&
	    (stx.stx_mask & STATX_DIOALIGN)) {
		if (stx.stx_dio_offset_align == 0) {
			snprintf(err, errlen, "direct I/O: not supported on "
			    "this file system");
			return (-1);
		}
		dio->mem = stx.stx_dio_mem_align;
		dio->off = stx.stx_dio_offset_align;
	} else if (fstat(fd, &st) == 0 && S_ISBLK(st.st_mode) &&
	    ioctl(fd, BLKSSZGET, &bsz) == 0 && bsz > 0)
		dio->mem = dio->off = (size_t)bsz;
	if (dio->off > DISK_SECTOR || dio->mem == 0 ||
	    (dio->mem & (dio->mem - 1)) != 0) {
		snprintf(err, errlen, "direct I/O: the image needs %zu-byte "
		    "alignment, more than the guest's %d-byte sectors",
		    dio->off, DISK_SECTOR);
		return (-1);
	}
	if ((fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl | O_DIRECT) == -1) {
		snprintf(err, errlen, "direct I/O: %s", errno == EINVAL ?
		    "not supported on this file system" : strerror(errno));
		return (-1);
	}
	return (0);
}

/* Can O_DIRECT take [skip, skip + len) of iov at off as it is? */
static int
disk_dio_aligned(const struct disk_dio *dio, const struct iovec *iov,
    int iovcnt, size_t skip, size_t len, uint64_t off)
{
	size_t	 n;
	int	 i;

	if (off % dio->off != 0)
		return (0);
	for (i = 0; i < iovcnt && len > 0; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		n = MINIMUM(iov[i].iov_len - skip, len);
		if (((uintptr_t)iov[i].iov_base + skip) % dio->mem != 0 ||
		    n % dio->off != 0)
			return (0);
		len -= n;
		skip = 0;
	}
	return (1);
}

/*
 * Full-length I/O on a direct descriptor: as it is where O_DIRECT takes
 * it, else through an aligned copy.  A length that is not whole sectors
 * is refused (the guest's requests are; the backends' own are too).
 */
int
disk_dio_xferv(const struct disk_dio *dio, const struct iovec *iov,
    int iovcnt, size_t skip, size_t len, uint64_t off, int write)
{
	struct iovec	 b;
	int		 r;

	if (len == 0)
		return (0);
	if (disk_dio_aligned(dio, iov, iovcnt, skip, len, off))
		return (disk_xferv(dio->fd, iov, iovcnt, skip, len, off,
		    write));
	if (off % dio->off != 0 || len % dio->off != 0)
		return (-EINVAL);
	if ((r = posix_memalign(&b.iov_base, MAXIMUM(dio->mem,
	    sizeof(void *)), len)) != 0)
		return (-r);
	b.iov_len = len;
	if (write) {
		iov_to_buf(iov, iovcnt, skip, b.iov_base, len);
		r = disk_xferv(dio->fd, &b, 1, 0, len, off, 1);
	} else if ((r = disk_xferv(dio->fd, &b, 1, 0, len, off, 0)) == 0)
		(void)buf_to_iov(b.iov_base, len, iov, iovcnt, skip);
	free(b.iov_base);
	return (r);
}
