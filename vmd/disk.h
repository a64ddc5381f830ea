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
 * Disk images behind one small interface: vioraw.c (a plain file) and
 * vioqcow2.c (qcow2 v2/v3 with a backing chain).  The devices (vioblk.c,
 * vioscsi.c) and vmctl create use nothing else.
 *
 * The VM process never opens a path: the parent opens the top image and
 * every backing file and passes the descriptors; disk_open() takes them.
 * vmctl and the parent use the path helpers below.
 *
 * Thread safety: disk_readv/writev/flush/discard/write_zeroes may be
 * called from several threads at once on the same struct disk (the
 * virtio-blk workers).  raw is naturally safe (pread/pwrite); qcow2 keeps
 * its tables under its own lock and does data I/O outside it where it can.
 *
 * Offsets and lengths are in bytes; devices pass multiples of 512.
 * Reads beyond the end of the disk fail with -EINVAL (the device checks
 * first).  Functions return 0 or a negative errno.
 *
 * A write that fails (-ENOSPC on a full file system, -EIO) may have
 * changed the sectors it covered and nothing else: what earlier writes
 * wrote stays, a later disk_flush still makes it durable, and a qcow2
 * image stays consistent, without leaked clusters (vioqcow2.c reserves
 * the space of new clusters before it counts or links them).
 */

#ifndef DISK_H
#define DISK_H

#include <sys/types.h>
#include <sys/uio.h>
#include <stddef.h>
#include <stdint.h>

#define DISK_ERRLEN		256
#define QCOW2_MAGIC_BYTES	"QFI\xfb"

struct disk;

/*
 * Open an image from descriptors: fds[0] is the top image (O_RDWR, or
 * O_RDONLY when readonly is set), fds[1..nfds-1] its backing chain in
 * order, each O_RDONLY.  type is VMDF_RAW or VMDF_QCOW2, with VMDF_DIRECT
 * for O_DIRECT (a qcow2 image then has the top image opened a second
 * time last, for its data).  On success the
 * disk owns the descriptors; on failure returns NULL, the descriptors
 * stay the caller's, and err holds one line naming what was wrong (e.g.
 * "qcow2: compressed clusters are not supported").  Nothing is written
 * to any image by a failed open.
 */
struct disk	*disk_open(int type, const int *fds, int nfds, int readonly,
		    char *err, size_t errlen);
void		 disk_close(struct disk *);

uint64_t	 disk_size(const struct disk *);	/* bytes */
int		 disk_readonly(const struct disk *);
/* what the backend can do beyond read/write/flush */
#define DISK_CAN_DISCARD	0x1
#define DISK_CAN_WRITE_ZEROES	0x2
int		 disk_caps(const struct disk *);

int		 disk_readv(struct disk *, const struct iovec *, int,
		    uint64_t);
int		 disk_writev(struct disk *, const struct iovec *, int,
		    uint64_t);
int		 disk_flush(struct disk *);		/* fdatasync */
int		 disk_discard(struct disk *, uint64_t, uint64_t);
int		 disk_write_zeroes(struct disk *, uint64_t, uint64_t, int);

/*
 * For the parent and vmctl, on an already opened image descriptor: the
 * backing file's name as stored (base, NUL-terminated, "" when none) and
 * resolved against the directory of path (resolved).  0, or -1 with err
 * set (not a qcow2 image, unreadable header, name too long).
 */
int		 disk_backing_name(int, const char *, char *, size_t,
		    char *, size_t, char *, size_t);

/*
 * vmctl create: new images, never over an existing file (EEXIST).
 * disk_create_qcow2 with base != NULL takes the size from the base
 * (size 0), or checks that size matches it.  Return 0 or an errno, with
 * err set to upstream's message where it has one.
 */
int		 disk_create_raw(const char *, uint64_t, char *, size_t);
int		 disk_create_qcow2(const char *, uint64_t, const char *,
		    char *, size_t);

/*
 * For vmctl create -i and the tests: open path and, for qcow2, its
 * backing chain by name (disk_backing_name), at most
 * VM_MAX_BASE_PER_DISK images in all, refusing loops.  The top image is
 * opened O_RDWR unless readonly, the bases O_RDONLY.  NULL with err set
 * on failure.
 */
struct disk	*disk_open_path(int, const char *, int, char *, size_t);

/*
 * The backends, for disk.c only: each open fills ops and the opaque
 * state, and reports size and caps.  Bounds are checked by disk.c.
 */
struct disk_ops {
	int	(*readv)(void *, const struct iovec *, int, uint64_t);
	int	(*writev)(void *, const struct iovec *, int, uint64_t);
	int	(*flush)(void *);
	int	(*discard)(void *, uint64_t, uint64_t);
	/* NULL, or -EOPNOTSUPP: disk.c writes the zeroes through writev */
	int	(*write_zeroes)(void *, uint64_t, uint64_t, int);
	void	(*close)(void *);
};

/*
 * The backends: fds, nfds as disk_open's; dfd the descriptor of the top
 * image to read and write its data through with O_DIRECT, or -1.
 */
void		*vioraw_open(const int *, int, int, int, uint64_t *, int *,
		    const struct disk_ops **, char *, size_t);
void		*vioqcow2_open(const int *, int, int, int, uint64_t *, int *,
		    const struct disk_ops **, char *, size_t);

/* iovec helpers shared by the backends (disk.c) */
size_t		 iov_length(const struct iovec *, int);
int		 iov_slice(const struct iovec *, int, size_t, size_t,
		    struct iovec *, int);
void		 iov_zero(const struct iovec *, int, size_t, size_t);
void		 iov_to_buf(const struct iovec *, int, size_t, void *, size_t);
size_t		 buf_to_iov(const void *, size_t, const struct iovec *, int,
		    size_t);
int		 disk_preadv_part(int, const struct iovec *, int, size_t,
		    size_t, uint64_t);
int		 disk_pwritev_part(int, const struct iovec *, int, size_t,
		    size_t, uint64_t);
int		 disk_preadv_full(int, const struct iovec *, int, uint64_t);
int		 disk_pwritev_full(int, const struct iovec *, int, uint64_t);
int		 disk_pread_full(int, void *, size_t, uint64_t);
int		 disk_pwrite_full(int, const void *, size_t, uint64_t);

/* direct I/O: O_DIRECT on fd, and what its requests need */
#define DISK_SECTOR	512	/* what the guest's requests are made of */
struct disk_dio {
	int	fd;
	size_t	mem;		/* buffers' alignment */
	size_t	off;		/* offsets' and segments' lengths' */
};
int		 disk_dio_init(struct disk_dio *, int, char *, size_t);
int		 disk_dio_xferv(const struct disk_dio *, const struct iovec *,
		    int, size_t, size_t, uint64_t, int);

#endif /* DISK_H */
