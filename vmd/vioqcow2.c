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
 * qcow2 images, versions 2 and 3, with a backing chain of qcow2 images
 * that share one cluster size.  Every header field is checked before
 * anything is used, and what we do not implement is refused at open:
 * encryption, internal snapshots, compressed clusters, external data
 * files, extended L2 entries, refcounts other than 16 bits.
 *
 * Writes allocate clusters at the end of the file and never free them.
 * The order keeps the image consistent at every moment: refcounts are
 * raised and the data written first; the L2 and L1 entries that point at
 * the new clusters are kept in the L2 cache and written only after an
 * fdatasync, when the guest flushes (or the cache needs room).  A crash
 * loses the unflushed writes and at worst leaks clusters.  With no
 * internal snapshots every cluster has one reference, so the COPIED flag
 * is always set and writes to allocated clusters go in place.
 *
 * A full file system must cost neither a write the guest was told was
 * done nor a cluster.  So the file system's space for every new cluster
 * (data, L2 table, refcount block or table) is reserved (fallocate)
 * before anything is counted or written there, and the L1 and refcount
 * tables are reserved before the first allocation: ENOSPC can then come
 * only from a reservation, before anything changed, never from the
 * writes into reserved space nor from the table writes of a later flush.
 * A write that cannot have its clusters fails with ENOSPC after the
 * refcounts it raised are put back and the file cut back to where it
 * was; the image stays as qemu-img check wants it, without leaks.  Only
 * an I/O error in the metadata (not ENOSPC) marks the image broken: no
 * more allocations or flushes, the guest gets I/O errors.
 *
 * Locks: lock guards the L1 tables and the L2 caches and is held only
 * for lookups; alloc serialises allocating writes, the refcounts and the
 * flush.  Data I/O is done with neither held, except the copy-on-write
 * of a new cluster, done under alloc so that no other write can see the
 * cluster before its content is there.
 *
 * discard and write-zeroes are not offered (no DISK_CAN_* caps).
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include <linux/fs.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmd.h"
#include "disk.h"

#define QC_HDR_V2		72
#define QC_HDR_V3		104
#define QC_VERSION		3
#define QC_CLUSTER_BITS		16		/* what create makes */
#define QC_MIN_BITS		9
#define QC_MAX_BITS		21
#define QC_MAX_SIZE		(1ULL << 56)	/* virtual size */
#define QC_MAX_L1_BYTES		(32ULL * 1024 * 1024)
#define QC_MAX_RT_BYTES		(8ULL * 1024 * 1024)
#define QC_MAX_BACKING		1023
#define QC_REFCOUNT_ORDER	4

#define QC_COPIED		(1ULL << 63)
#define QC_COMPRESSED		(1ULL << 62)
#define QC_ZERO			1ULL
#define QC_OFFMASK		0x00fffffffffffe00ULL

#define QC_INCOMPAT_DIRTY	0x1ULL
#define QC_INCOMPAT_CORRUPT	0x2ULL

/* header field offsets */
#define QH_MAGIC		0
#define QH_VERSION		4
#define QH_BACKING_OFF		8
#define QH_BACKING_LEN		16
#define QH_CLUSTER_BITS		20
#define QH_SIZE			24
#define QH_CRYPT		32
#define QH_L1_SIZE		36
#define QH_L1_OFF		40
#define QH_RT_OFF		48
#define QH_RT_CLUSTERS		56
#define QH_NSNAP		60
#define QH_SNAP_OFF		64
#define QH_INCOMPAT		72
#define QH_COMPAT		80
#define QH_AUTOCLEAR		88
#define QH_REFCOUNT_ORDER	96
#define QH_HDRLEN		100
#define QH_COMPRESSION		104

#define L2_SLOTS		64
#define L2_MAX_DIRTY		(L2_SLOTS / 2)

struct qhdr {
	uint32_t	 version;
	uint64_t	 backing_off;
	uint32_t	 backing_len;
	uint32_t	 cbits;
	uint64_t	 size;
	uint32_t	 crypt;
	uint32_t	 l1_size;
	uint64_t	 l1_off;
	uint64_t	 rt_off;
	uint32_t	 rt_clusters;
	uint32_t	 nsnap;
	uint64_t	 incompat;
	uint64_t	 autoclear;
	uint32_t	 rorder;
	uint32_t	 hdrlen;
	uint8_t		 ctype;
	uint64_t	 fsize;		/* of the file */
};

struct l2slot {
	uint64_t	 off;		/* of the table in the file; 0: free */
	uint64_t	*tbl;		/* host order */
	uint64_t	 used;		/* LRU stamp */
	int		 dirty;		/* differs from the file */
	int		 fresh;		/* no L1 entry on disk points here yet */
};

struct qimg {
	int		 fd;
	int		 version;
	uint64_t	 cs;		/* cluster size */
	unsigned int	 cbits;
	uint64_t	 size;		/* virtual */
	uint64_t	*l1;		/* host order */
	uint32_t	 l1_size;
	uint64_t	 l1_off;
	uint32_t	 l1_lo, l1_hi;	/* dirty L1 entries [lo, hi) */
	struct l2slot	 slots[L2_SLOTS];
	uint64_t	 stamp;
};

struct qcow2_disk {
	pthread_mutex_t	 lock;		/* L1, L2 caches */
	pthread_mutex_t	 alloc;		/* allocation, refcounts, flush */
	int		 readonly;
	int		 broken;	/* metadata I/O error: no more */
	int		 blkdev;	/* the top image is a block device */
	uint64_t	 devsize;	/* and its size */
	int		 tables_ready;	/* L1 and refcount table reserved */
	int		 nofalloc;	/* the file system has no fallocate */
	int		 nimg;
	struct qimg	 img[VM_MAX_BASE_PER_DISK];
	/* the top image's refcounts, for writes */
	uint64_t	*rt;
	uint64_t	 rt_off;
	uint32_t	 rt_clusters;
	uint64_t	 rt_entries;
	uint64_t	 end;		/* where the next cluster goes */
	int		 growing;	/* the refcount table is moving */
	int		 ndirty;	/* dirty L2 slots of the top image */
	char		*buf;		/* one cluster, under alloc */
	int		 direct;	/* the top image's data through dio */
	struct disk_dio	 dio;
};

static int	 qc_readv(void *, const struct iovec *, int, uint64_t);
static int	 qc_writev(void *, const struct iovec *, int, uint64_t);
static int	 qc_flush(void *);
static int	 qc_discard(void *, uint64_t, uint64_t);
static void	 qc_close(void *);

static const struct disk_ops qcow2_ops = {
	qc_readv, qc_writev, qc_flush, qc_discard, NULL, qc_close
};

static int	 rc_set_range(struct qcow2_disk *, uint64_t, uint64_t,
		    uint16_t, uint64_t *);
static int	 rc_clear_range(struct qcow2_disk *, uint64_t, uint64_t);
static void	 qc_untake(struct qcow2_disk *, uint64_t, uint64_t,
		    uint64_t);

static uint32_t
get32(const uint8_t *p)
{
	uint32_t	 v;

	memcpy(&v, p, sizeof(v));
	return (be32toh(v));
}

static uint64_t
get64(const uint8_t *p)
{
	uint64_t	 v;

	memcpy(&v, p, sizeof(v));
	return (be64toh(v));
}

static void
put16(uint8_t *p, uint16_t v)
{
	v = htobe16(v);
	memcpy(p, &v, sizeof(v));
}

static void
put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof(v));
}

static void
put64(uint8_t *p, uint64_t v)
{
	v = htobe64(v);
	memcpy(p, &v, sizeof(v));
}

static uint64_t
roundup_u64(uint64_t v, uint64_t to)
{
	return ((v + to - 1) / to * to);
}

static int
fd_size(int fd, uint64_t *sz)
{
	struct stat	 st;

	if (fstat(fd, &st) == -1)
		return (-1);
	if (S_ISBLK(st.st_mode))
		return (ioctl(fd, BLKGETSIZE64, sz));
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return (-1);
	}
	*sz = (uint64_t)st.st_size;
	return (0);
}

/*
 * Read and check a header.  Everything a later step relies on is checked
 * here: sizes, alignments and that the tables lie inside the file.
 */
static int
qc_header(int fd, struct qhdr *h, char *err, size_t errlen)
{
	uint8_t		 b[QC_HDR_V3 + 8];
	uint64_t	 cs, l2cover, need, n;

	memset(h, 0, sizeof(*h));
	memset(b, 0, sizeof(b));
	if (fd_size(fd, &h->fsize) == -1) {
		snprintf(err, errlen, "qcow2: %s", strerror(errno));
		return (-1);
	}
	if (h->fsize < QC_HDR_V2) {
		snprintf(err, errlen, "qcow2: truncated header");
		return (-1);
	}
	n = MINIMUM(h->fsize, sizeof(b));
	if (disk_pread_full(fd, b, n, 0) != 0) {
		snprintf(err, errlen, "qcow2: cannot read the header: %s",
		    strerror(errno));
		return (-1);
	}
	if (memcmp(b, QCOW2_MAGIC_BYTES, 4) != 0) {
		snprintf(err, errlen, "qcow2: bad magic, not a qcow2 image");
		return (-1);
	}
	h->version = get32(b + QH_VERSION);
	if (h->version != 2 && h->version != 3) {
		snprintf(err, errlen, "qcow2: unsupported version %u",
		    h->version);
		return (-1);
	}
	h->backing_off = get64(b + QH_BACKING_OFF);
	h->backing_len = get32(b + QH_BACKING_LEN);
	h->cbits = get32(b + QH_CLUSTER_BITS);
	h->size = get64(b + QH_SIZE);
	h->crypt = get32(b + QH_CRYPT);
	h->l1_size = get32(b + QH_L1_SIZE);
	h->l1_off = get64(b + QH_L1_OFF);
	h->rt_off = get64(b + QH_RT_OFF);
	h->rt_clusters = get32(b + QH_RT_CLUSTERS);
	h->nsnap = get32(b + QH_NSNAP);
	h->hdrlen = QC_HDR_V2;
	h->rorder = QC_REFCOUNT_ORDER;
	if (h->version == 3) {
		if (h->fsize < QC_HDR_V3) {
			snprintf(err, errlen, "qcow2: truncated header");
			return (-1);
		}
		h->incompat = get64(b + QH_INCOMPAT);
		h->autoclear = get64(b + QH_AUTOCLEAR);
		h->rorder = get32(b + QH_REFCOUNT_ORDER);
		h->hdrlen = get32(b + QH_HDRLEN);
		if (h->hdrlen > QC_HDR_V3)
			h->ctype = b[QH_COMPRESSION];
	}
	if (h->cbits < QC_MIN_BITS || h->cbits > QC_MAX_BITS) {
		snprintf(err, errlen, "qcow2: unsupported cluster size "
		    "(cluster_bits %u)", h->cbits);
		return (-1);
	}
	cs = 1ULL << h->cbits;
	if (h->version == 3 && (h->hdrlen < QC_HDR_V3 || h->hdrlen > cs ||
	    h->hdrlen % 8 != 0)) {
		snprintf(err, errlen, "qcow2: bad header length %u",
		    h->hdrlen);
		return (-1);
	}
	if (h->crypt != 0) {
		snprintf(err, errlen, "qcow2: encryption is not supported");
		return (-1);
	}
	if (h->nsnap != 0) {
		snprintf(err, errlen, "qcow2: internal snapshots are not "
		    "supported");
		return (-1);
	}
	if (h->incompat & ~(QC_INCOMPAT_DIRTY | QC_INCOMPAT_CORRUPT)) {
		snprintf(err, errlen, "qcow2: unsupported incompatible "
		    "features 0x%llx", (unsigned long long)(h->incompat &
		    ~(QC_INCOMPAT_DIRTY | QC_INCOMPAT_CORRUPT)));
		return (-1);
	}
	if (h->ctype != 0) {
		snprintf(err, errlen, "qcow2: compression type %u is not "
		    "supported", h->ctype);
		return (-1);
	}
	if (h->rorder != QC_REFCOUNT_ORDER) {
		snprintf(err, errlen, "qcow2: refcount order %u is not "
		    "supported (only 16-bit refcounts)", h->rorder);
		return (-1);
	}
	if (h->size > QC_MAX_SIZE) {
		snprintf(err, errlen, "qcow2: virtual size too large");
		return (-1);
	}
	/* bytes of disk one L1 entry maps */
	l2cover = cs * (cs / 8);
	need = (h->size + l2cover - 1) / l2cover;
	if ((uint64_t)h->l1_size * 8 > QC_MAX_L1_BYTES) {
		snprintf(err, errlen, "qcow2: L1 table too large (%u "
		    "entries)", h->l1_size);
		return (-1);
	}
	if (h->l1_size < need) {
		snprintf(err, errlen, "qcow2: L1 table too small for the "
		    "disk size");
		return (-1);
	}
	if (h->l1_size > 0 && (h->l1_off % cs != 0 || h->l1_off < cs ||
	    h->l1_off > h->fsize || (uint64_t)h->l1_size * 8 >
	    h->fsize - h->l1_off)) {
		snprintf(err, errlen, "qcow2: L1 table outside the image");
		return (-1);
	}
	if (h->rt_clusters == 0 || (uint64_t)h->rt_clusters * cs >
	    QC_MAX_RT_BYTES) {
		snprintf(err, errlen, "qcow2: bad refcount table size");
		return (-1);
	}
	if (h->rt_off % cs != 0 || h->rt_off < cs || h->rt_off >= h->fsize) {
		snprintf(err, errlen, "qcow2: refcount table outside the "
		    "image");
		return (-1);
	}
	if (h->backing_len > QC_MAX_BACKING) {
		snprintf(err, errlen, "qcow2: backing file name too long");
		return (-1);
	}
	if (h->backing_len > 0 && (h->backing_off < h->hdrlen ||
	    h->backing_off > cs || h->backing_len > cs - h->backing_off ||
	    h->backing_off + h->backing_len > h->fsize)) {
		snprintf(err, errlen, "qcow2: backing file name outside the "
		    "header cluster");
		return (-1);
	}
	return (0);
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t	 x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x < y ? -1 : x > y);
}

/*
 * Load the L1 table and check every L2 table it points at: offsets
 * aligned and inside the file, no two L1 entries sharing a table, and no
 * compressed cluster.  Reads each L2 table once, so the work is bounded
 * by the file's size.
 */
static int
qimg_load(struct qimg *im, int fd, const struct qhdr *h, char *err,
    size_t errlen)
{
	uint64_t	*sorted = NULL, *tbl = NULL, e, o;
	uint32_t	 i, n = 0;
	uint64_t	 j;
	int		 ret = -1;

	im->fd = fd;
	im->version = h->version;
	im->cbits = h->cbits;
	im->cs = 1ULL << h->cbits;
	im->size = h->size;
	im->l1_size = h->l1_size;
	im->l1_off = h->l1_off;
	im->l1_lo = im->l1_size;
	im->l1_hi = 0;
	if ((im->l1 = calloc(MAXIMUM(h->l1_size, 1), 8)) == NULL ||
	    (sorted = calloc(MAXIMUM(h->l1_size, 1), 8)) == NULL ||
	    (tbl = malloc(im->cs)) == NULL) {
		snprintf(err, errlen, "qcow2: %s", strerror(errno));
		goto done;
	}
	if (h->l1_size > 0 && disk_pread_full(fd, im->l1,
	    (size_t)h->l1_size * 8, h->l1_off) != 0) {
		snprintf(err, errlen, "qcow2: cannot read the L1 table");
		goto done;
	}
	for (i = 0; i < h->l1_size; i++) {
		im->l1[i] = be64toh(im->l1[i]);
		o = im->l1[i] & QC_OFFMASK;
		if (o == 0)
			continue;
		if (o % im->cs != 0 || o < im->cs || o >= h->fsize) {
			snprintf(err, errlen, "qcow2: L1 entry %u out of "
			    "range", i);
			goto done;
		}
		sorted[n++] = o;
	}
	qsort(sorted, n, 8, cmp_u64);
	for (i = 1; i < n; i++) {
		if (sorted[i] == sorted[i - 1]) {
			snprintf(err, errlen, "qcow2: L2 table used twice");
			goto done;
		}
	}
	for (i = 0; i < n; i++) {
		if (disk_pread_full(fd, tbl, im->cs, sorted[i]) != 0) {
			snprintf(err, errlen, "qcow2: cannot read an L2 table");
			goto done;
		}
		for (j = 0; j < im->cs / 8; j++) {
			e = be64toh(tbl[j]);
			if (e & QC_COMPRESSED) {
				snprintf(err, errlen, "qcow2: compressed "
				    "clusters are not supported");
				goto done;
			}
			o = e & QC_OFFMASK;
			if (o != 0 && (o % im->cs != 0 || o < im->cs ||
			    o >= h->fsize)) {
				snprintf(err, errlen, "qcow2: cluster offset "
				    "out of range in an L2 table");
				goto done;
			}
		}
	}
	ret = 0;
 done:
	free(sorted);
	free(tbl);
	return (ret);
}

static void
qimg_free(struct qimg *im)
{
	int	 i;

	free(im->l1);
	im->l1 = NULL;
	for (i = 0; i < L2_SLOTS; i++) {
		free(im->slots[i].tbl);
		im->slots[i].tbl = NULL;
	}
}

void *
vioqcow2_open(const int *fds, int nfds, int dfd, int readonly,
    uint64_t *size, int *caps, const struct disk_ops **ops, char *err,
    size_t errlen)
{
	struct qcow2_disk	*qd;
	struct qhdr		 h, top;
	uint64_t		 i, zero = 0;
	struct stat		 st;
	char			 dioerr[128];
	int			 k;

	if ((qd = calloc(1, sizeof(*qd))) == NULL) {
		snprintf(err, errlen, "qcow2: %s", strerror(errno));
		return (NULL);
	}
	qd->readonly = readonly;
	qd->blkdev = fstat(fds[0], &st) == 0 && S_ISBLK(st.st_mode);
	memset(&top, 0, sizeof(top));
	for (k = 0; k < nfds; k++) {
		if (qc_header(fds[k], &h, err, errlen) == -1)
			goto fail;
		if (k == 0)
			top = h;
		else if (h.cbits != top.cbits) {
			snprintf(err, errlen, "qcow2: all images in a chain "
			    "must share the cluster size");
			goto fail;
		}
		if (h.backing_len == 0 && k + 1 < nfds) {
			snprintf(err, errlen, "qcow2: image %d has no backing "
			    "file but %d were given", k, nfds - k - 1);
			goto fail;
		}
		if (h.backing_len != 0 && k + 1 == nfds) {
			snprintf(err, errlen, "qcow2: missing base image");
			goto fail;
		}
		if (qimg_load(&qd->img[k], fds[k], &h, err, errlen) == -1) {
			qd->nimg = k + 1;
			goto fail;
		}
		qd->nimg = k + 1;
	}
	if (!readonly) {
		if (top.incompat & QC_INCOMPAT_CORRUPT) {
			snprintf(err, errlen, "qcow2: image is marked corrupt");
			goto fail;
		}
		if (top.incompat & QC_INCOMPAT_DIRTY) {
			snprintf(err, errlen, "qcow2: image is dirty (lazy "
			    "refcounts), repair it with qemu-img check -r all");
			goto fail;
		}
		qd->rt_off = top.rt_off;
		qd->rt_clusters = top.rt_clusters;
		qd->rt_entries = (uint64_t)top.rt_clusters *
		    qd->img[0].cs / 8;
		/* aligned for O_DIRECT */
		if ((qd->rt = calloc(qd->rt_entries, 8)) == NULL ||
		    (errno = posix_memalign((void **)&qd->buf, 4096,
		    qd->img[0].cs)) != 0) {
			qd->buf = NULL;
			snprintf(err, errlen, "qcow2: %s", strerror(errno));
			goto fail;
		}
		if (disk_pread_full(fds[0], qd->rt, qd->rt_entries * 8,
		    qd->rt_off) != 0) {
			snprintf(err, errlen, "qcow2: cannot read the refcount "
			    "table");
			goto fail;
		}
		for (i = 0; i < qd->rt_entries; i++) {
			qd->rt[i] = be64toh(qd->rt[i]);
			if (qd->rt[i] != 0 && (qd->rt[i] % qd->img[0].cs != 0 ||
			    qd->rt[i] < qd->img[0].cs ||
			    qd->rt[i] >= top.fsize)) {
				snprintf(err, errlen, "qcow2: refcount block "
				    "offset out of range");
				goto fail;
			}
		}
		if (qd->blkdev)
			qd->devsize = top.fsize;
		/* past everything, the refcount table too */
		qd->end = MAXIMUM(roundup_u64(top.fsize, qd->img[0].cs),
		    qd->rt_off + (uint64_t)qd->rt_clusters * qd->img[0].cs);
		/* features we do not know how to keep must be cleared */
		if (top.version == 3 && top.autoclear != 0 &&
		    disk_pwrite_full(fds[0], &zero, 8, QH_AUTOCLEAR) != 0) {
			snprintf(err, errlen, "qcow2: cannot write the header");
			goto fail;
		}
	}
	if (dfd != -1) {
		if (disk_dio_init(&qd->dio, dfd, dioerr, sizeof(dioerr)) ==
		    -1) {
			snprintf(err, errlen, "qcow2: %s", dioerr);
			goto fail;
		}
		qd->direct = 1;
	}
	pthread_mutex_init(&qd->lock, NULL);
	pthread_mutex_init(&qd->alloc, NULL);
	*size = qd->img[0].size;
	*caps = 0;
	*ops = &qcow2_ops;
	return (qd);
 fail:
	for (k = 0; k < qd->nimg; k++)
		qimg_free(&qd->img[k]);
	free(qd->rt);
	free(qd->buf);
	free(qd);
	return (NULL);
}

/*
 * The L2 cache.  Called with lock held.  Returns the cached table of the
 * L1 entry l1i (NULL with *r = 0 when there is none), loading it.
 */
static uint64_t *
l2_get(struct qimg *im, uint32_t l1i, int *r)
{
	struct l2slot	*s, *victim = NULL;
	uint64_t	 off;
	int		 i;

	*r = 0;
	off = im->l1[l1i] & QC_OFFMASK;
	if (off == 0)
		return (NULL);
	for (i = 0; i < L2_SLOTS; i++) {
		s = &im->slots[i];
		if (s->off == off && s->tbl != NULL) {
			s->used = ++im->stamp;
			return (s->tbl);
		}
		if (s->dirty)
			continue;
		if (victim == NULL || s->off == 0 || (victim->off != 0 &&
		    s->used < victim->used))
			victim = s;
	}
	if (victim == NULL) {
		*r = -EIO;	/* cannot happen: dirty slots are bounded */
		return (NULL);
	}
	if (victim->tbl == NULL && (victim->tbl = malloc(im->cs)) == NULL) {
		*r = -ENOMEM;
		return (NULL);
	}
	victim->off = 0;
	if ((*r = disk_pread_full(im->fd, victim->tbl, im->cs, off)) != 0)
		return (NULL);
	for (i = 0; i < (int)(im->cs / 8); i++)
		victim->tbl[i] = be64toh(victim->tbl[i]);
	victim->off = off;
	victim->used = ++im->stamp;
	victim->dirty = victim->fresh = 0;
	return (victim->tbl);
}

static struct l2slot *
l2_slot(struct qimg *im, uint64_t off)
{
	int	 i;

	for (i = 0; i < L2_SLOTS; i++)
		if (im->slots[i].off == off && im->slots[i].tbl != NULL)
			return (&im->slots[i]);
	return (NULL);
}

/* The L2 entry for virtual offset off (0 when unmapped).  Under lock. */
static int
qimg_entry(struct qimg *im, uint64_t off, uint64_t *e)
{
	uint64_t	*tbl, cl = off >> im->cbits;
	uint64_t	 per = im->cs / 8;
	int		 r;

	*e = 0;
	if (cl / per >= im->l1_size)
		return (-EIO);
	if ((tbl = l2_get(im, (uint32_t)(cl / per), &r)) == NULL)
		return (r);
	*e = tbl[cl % per];
	return (0);
}

#define MAP_ZERO	(-1)

/*
 * Follow the chain from image first for the cluster holding off: *img
 * is the image holding the data and *phys the cluster's file offset, or
 * *img is MAP_ZERO.  Under lock.
 */
static int
qc_map(struct qcow2_disk *qd, int first, uint64_t off, int *img,
    uint64_t *phys)
{
	struct qimg	*im;
	uint64_t	 e, o;
	int		 i, r;

	*img = MAP_ZERO;
	*phys = 0;
	for (i = first; i < qd->nimg; i++) {
		im = &qd->img[i];
		if (off >= im->size)
			return (0);
		if ((r = qimg_entry(im, off, &e)) != 0)
			return (r);
		if (e & QC_COMPRESSED)
			return (-EIO);
		if (im->version >= 3 && (e & QC_ZERO))
			return (0);
		o = e & QC_OFFMASK;
		if (o == 0)
			continue;
		if (o % im->cs != 0 || o < im->cs)
			return (-EIO);
		*img = i;
		*phys = o;
		return (0);
	}
	return (0);
}

/*
 * Data of image img: the top image's through its O_DIRECT descriptor
 * when the disk is direct, its tables always through the other one
 * (the page cache keeps those; the two never share a cluster).
 */
static int
qc_data_xfer(struct qcow2_disk *qd, int img, const struct iovec *iov,
    int iovcnt, size_t skip, size_t len, uint64_t off, int write)
{
	if (img == 0 && qd->direct)
		return (disk_dio_xferv(&qd->dio, iov, iovcnt, skip, len, off,
		    write));
	if (write)
		return (disk_pwritev_part(qd->img[img].fd, iov, iovcnt, skip,
		    len, off));
	return (disk_preadv_part(qd->img[img].fd, iov, iovcnt, skip, len,
	    off));
}

/* Read [off, off + len) of the disk seen from image first into iov. */
static int
qc_read_chain(struct qcow2_disk *qd, int first, const struct iovec *iov,
    int iovcnt, size_t skip, uint64_t off, size_t len)
{
	uint64_t	 cs = qd->img[0].cs, pos, phys, nphys, in, lim;
	size_t		 done = 0, n, run, data;
	int		 img, nimg, r;

	while (done < len) {
		pos = off + done;
		in = pos % cs;
		n = MINIMUM(cs - in, len - done);
		pthread_mutex_lock(&qd->lock);
		r = qc_map(qd, first, pos, &img, &phys);
		run = n;
		/* merge following clusters that are contiguous in the file */
		while (r == 0 && done + run < len) {
			if (qc_map(qd, first, pos + run, &nimg, &nphys) != 0 ||
			    nimg != img || (img != MAP_ZERO &&
			    nphys != phys + in + run))
				break;
			run += MINIMUM(cs, len - done - run);
		}
		pthread_mutex_unlock(&qd->lock);
		if (r != 0)
			return (r);
		if (img == MAP_ZERO) {
			iov_zero(iov, iovcnt, skip + done, run);
		} else {
			/* a base's clusters hold nothing past its size */
			lim = qd->img[img].size;
			data = run;
			if (pos + run > lim)
				data = lim > pos ? (size_t)(lim - pos) : 0;
			if (data > 0 && (r = qc_data_xfer(qd, img, iov,
			    iovcnt, skip + done, data, phys + in, 0)) != 0)
				return (r);
			if (data < run)
				iov_zero(iov, iovcnt, skip + done + data,
				    run - data);
		}
		done += run;
	}
	return (0);
}

static int
qc_readv(void *p, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return (qc_read_chain(p, 0, iov, iovcnt, 0, off,
	    iov_length(iov, iovcnt)));
}

/*
 * Give back the file's tail past len after a failed allocation.  If even
 * that fails, the file stays longer than the image: space is lost, no
 * data, and qemu-img check sees nothing wrong.
 */
static void
qc_cut(int fd, off_t len)
{
	int	saved = errno;

	if (ftruncate(fd, len) == -1)
		errno = saved;	/* the caller's error is the one to report */
}

/*
 * Room in the file system for [off, off + len) of the top image, which
 * may lie past its end (qd->end): the file grows to cover it.  Once this
 * succeeded, writes there cannot fail for want of space.  A failure
 * leaves the file as long as it was.  On a block device there is room up
 * to its end and no further.  Under alloc.
 */
static int
qc_reserve(struct qcow2_disk *qd, uint64_t off, uint64_t len)
{
	uint64_t	 n, at;
	char		*b;
	int		 fd = qd->img[0].fd, r = 0;

	if (len == 0)
		return (0);
	if (off > (uint64_t)INT64_MAX || len > (uint64_t)INT64_MAX - off)
		return (-EFBIG);
	if (qd->blkdev)
		return (off + len > qd->devsize ? -ENOSPC : 0);
	if (!qd->nofalloc) {
		do
			r = fallocate(fd, 0, (off_t)off, (off_t)len);
		while (r == -1 && errno == EINTR);
		if (r == 0)
			return (0);
		r = -errno;
		if (r == -EOPNOTSUPP || r == -ENOSYS)
			qd->nofalloc = 1;
	}
	if (qd->nofalloc) {
		/* write what is there back, which takes the space */
		if ((b = malloc(qd->img[0].cs)) == NULL)
			return (-ENOMEM);
		for (r = 0, at = off; r == 0 && at < off + len; at += n) {
			n = MINIMUM(off + len - at, qd->img[0].cs);
			if ((r = disk_pread_full(fd, b, n, at)) == 0)
				r = disk_pwrite_full(fd, b, n, at);
		}
		free(b);
	}
	/* what fallocate took before it ran out is given back */
	if (r != 0 && off >= qd->end)
		qc_cut(fd, (off_t)off);
	return (r);
}

/*
 * Refcounts, under alloc.  New clusters are always past the end of the
 * file, where every refcount is 0, so they are written, never read.
 */

/*
 * Make the refcount table cover entry ti, moving it to the end.  Until
 * the header points at the new table nothing on disk refers to it or to
 * the refcount blocks made for its clusters (they all lie past the old
 * table's reach), so a failure before then is undone by forgetting them.
 */
static int
rt_grow(struct qcow2_disk *qd, uint64_t ti)
{
	uint64_t	 cs = qd->img[0].cs, rpb = cs / 2, nc, entries, t;
	uint64_t	 old_off = qd->rt_off, old_nc = qd->rt_clusters, i;
	uint64_t	 old_entries = qd->rt_entries;
	uint64_t	*nrt, *ort = qd->rt;
	uint8_t		*b;
	uint8_t		 hb[12];
	int		 r, fd = qd->img[0].fd;

	if (qd->growing)
		return (-EFBIG);
	nc = old_nc * 2;
	for (;;) {
		entries = nc * cs / 8;
		if (nc * cs > QC_MAX_RT_BYTES)
			return (-EFBIG);
		/* room for the table itself and a few new blocks */
		if (ti < entries && entries * rpb > qd->end / cs + nc + 8)
			break;
		nc *= 2;
	}
	if ((nrt = calloc(entries, 8)) == NULL)
		return (-ENOMEM);
	if ((b = malloc(nc * cs)) == NULL) {
		free(nrt);
		return (-ENOMEM);
	}
	t = qd->end;
	if ((r = qc_reserve(qd, t, nc * cs)) != 0) {
		free(nrt);
		free(b);
		return (r);
	}
	memcpy(nrt, ort, old_entries * 8);
	qd->rt = nrt;
	qd->rt_entries = entries;
	qd->end += nc * cs;
	qd->growing = 1;
	r = rc_set_range(qd, t / cs, nc, 1, NULL);
	qd->growing = 0;
	if (r != 0)
		goto undo;
	for (i = 0; i < entries; i++)
		put64(b + i * 8, qd->rt[i]);
	if ((r = disk_pwrite_full(fd, b, nc * cs, t)) != 0)
		goto undo;
	if (fdatasync(fd) == -1) {
		r = -errno;
		qd->broken = 1;
		goto undo;
	}
	put64(hb, t);
	put32(hb + 8, (uint32_t)nc);
	if ((r = disk_pwrite_full(fd, hb, sizeof(hb), QH_RT_OFF)) != 0)
		goto fail;
	if (fdatasync(fd) == -1) {
		r = -errno;
		goto fail;
	}
	qd->rt_off = t;
	qd->rt_clusters = (uint32_t)nc;
	free(ort);
	free(b);
	/* the old table is free now */
	if ((r = rc_set_range(qd, old_off / cs, old_nc, 0, NULL)) != 0)
		qd->broken = 1;
	return (r);
 undo:
	free(qd->rt);
	qd->rt = ort;
	qd->rt_entries = old_entries;
	qd->end = t;
	if (!qd->blkdev)
		qc_cut(fd, (off_t)t);
	free(b);
	return (r);
 fail:
	/* the header may name either table: both are whole, stop here */
	free(ort);
	free(b);
	qd->rt_off = t;
	qd->rt_clusters = (uint32_t)nc;
	qd->broken = 1;
	return (r);
}

/* The refcount block of table entry ti, made when missing. */
static int
rc_block(struct qcow2_disk *qd, uint64_t ti, uint64_t *blk)
{
	uint64_t	 cs = qd->img[0].cs, rpb = cs / 2, b, bi;
	uint8_t		 v[8];
	int		 r;

	if (ti >= qd->rt_entries && (r = rt_grow(qd, ti)) != 0)
		return (r);
	if (qd->rt[ti] != 0) {
		*blk = qd->rt[ti];
		return (0);
	}
	b = qd->end;
	if ((r = qc_reserve(qd, b, cs)) != 0)
		return (r);
	qd->end += cs;
	qd->rt[ti] = b;
	bi = b / cs;
	if (bi / rpb == ti) {
		put16(v, 1);
		r = disk_pwrite_full(qd->img[0].fd, v, 2, b + (bi % rpb) * 2);
	} else
		r = rc_set_range(qd, bi, 1, 1, NULL);
	if (r != 0) {
		/* nothing on disk points at the block yet */
		qd->rt[ti] = 0;
		if (qd->end == b + cs) {
			qd->end = b;
			if (!qd->blkdev)
				qc_cut(qd->img[0].fd, (off_t)b);
		}
		return (r);
	}
	/* the block must be on disk before the table points at it */
	if (!qd->growing) {
		if (fdatasync(qd->img[0].fd) == -1) {
			r = -errno;
			qd->broken = 1;
			return (r);
		}
		put64(v, b);
		if ((r = disk_pwrite_full(qd->img[0].fd, v, 8,
		    qd->rt_off + ti * 8)) != 0) {
			qd->broken = 1;
			return (r);
		}
	}
	*blk = b;
	return (0);
}

/* Refcounts [first, first + n) to val; *done (if given) says how many. */
static int
rc_set_range(struct qcow2_disk *qd, uint64_t first, uint64_t n, uint16_t val,
    uint64_t *done)
{
	uint64_t	 rpb = qd->img[0].cs / 2, ti, bi, k, blk = 0, i;
	uint8_t		 b[512];
	int		 r;

	if (done != NULL)
		*done = 0;
	for (i = 0; i < sizeof(b) / 2; i++)
		put16(b + i * 2, val);
	while (n > 0) {
		ti = first / rpb;
		bi = first % rpb;
		k = MINIMUM(n, rpb - bi);
		k = MINIMUM(k, sizeof(b) / 2);
		if ((r = rc_block(qd, ti, &blk)) != 0)
			return (r);
		if ((r = disk_pwrite_full(qd->img[0].fd, b, k * 2,
		    blk + bi * 2)) != 0)
			return (r);
		first += k;
		n -= k;
		if (done != NULL)
			*done += k;
	}
	return (0);
}

/*
 * Put the refcounts of clusters [first, first + n) back to 0 after a
 * failed allocation, as far as rc_set_range got.  Where there is no
 * block, or the file system has no room to write zeroes, there is
 * nothing to undo (a hole reads as 0).
 */
static int
rc_clear_range(struct qcow2_disk *qd, uint64_t first, uint64_t n)
{
	static const uint8_t	 z[512];
	uint64_t		 rpb = qd->img[0].cs / 2, ti, bi, k;
	int			 r, ret = 0;

	while (n > 0) {
		ti = first / rpb;
		bi = first % rpb;
		k = MINIMUM(n, rpb - bi);
		k = MINIMUM(k, sizeof(z) / 2);
		if (ti < qd->rt_entries && qd->rt[ti] != 0 &&
		    (r = disk_pwrite_full(qd->img[0].fd, z, k * 2,
		    qd->rt[ti] + bi * 2)) != 0 && r != -ENOSPC &&
		    r != -EDQUOT && ret == 0)
			ret = r;
		first += k;
		n -= k;
	}
	return (ret);
}

/*
 * n new clusters at the end of the file for the caller to fill and link,
 * refcounts raised.  The first nmeta (tables the next flush writes) get
 * their room now; the caller's writes take the room of the others, or
 * it reserves them (qc_alloc_write), before anything points at them.
 * On failure nothing has changed.  Under alloc.
 */
static int
qc_take(struct qcow2_disk *qd, uint64_t n, uint64_t nmeta, uint64_t *first)
{
	struct qimg	*im = &qd->img[0];
	uint64_t	 cs = im->cs, start = qd->end, set;
	int		 r;

	if (qd->broken)
		return (-EIO);
	/* what a flush will write into, once and for all */
	if (!qd->tables_ready) {
		if ((r = qc_reserve(qd, im->l1_off,
		    (uint64_t)im->l1_size * 8)) != 0 ||
		    (r = qc_reserve(qd, qd->rt_off,
		    (uint64_t)qd->rt_clusters * cs)) != 0)
			return (r);
		qd->tables_ready = 1;
	}
	if ((r = qc_reserve(qd, start, nmeta * cs)) != 0)
		return (r);
	qd->end = start + n * cs;
	if ((r = rc_set_range(qd, start / cs, n, 1, &set)) != 0) {
		/* a file that takes no writes at all is not broken by it */
		qc_untake(qd, start, set, n);
		return (r);
	}
	*first = start;
	return (0);
}

/*
 * Give back n clusters from qc_take that nothing points at: the first
 * nset refcounts to 0, and the file cut back when nothing was taken
 * after them.
 */
static void
qc_untake(struct qcow2_disk *qd, uint64_t first, uint64_t nset, uint64_t n)
{
	uint64_t	 cs = qd->img[0].cs;

	if (nset > 0 && rc_clear_range(qd, first / cs, nset) != 0) {
		qd->broken = 1;
		return;
	}
	if (qd->end == first + n * cs) {
		qd->end = first;
		if (!qd->blkdev)
			qc_cut(qd->img[0].fd, (off_t)first);
	}
}

/*
 * Write the L2 tables and L1 entries that point at new clusters, once
 * the clusters themselves are on disk.  Under alloc.
 */
static int
qc_flush_locked(struct qcow2_disk *qd)
{
	struct qimg	*im = &qd->img[0];
	struct l2slot	*dirty[L2_SLOTS];
	uint64_t	*be = (uint64_t *)(void *)qd->buf, j;
	uint32_t	 lo, hi, i;
	int		 n = 0, fresh = 0, k, r, fd = im->fd;

	if (qd->broken)
		return (-EIO);
	if (fdatasync(fd) == -1)
		return (-errno);
	pthread_mutex_lock(&qd->lock);
	for (k = 0; k < L2_SLOTS; k++) {
		if (im->slots[k].dirty) {
			dirty[n++] = &im->slots[k];
			fresh |= im->slots[k].fresh;
		}
	}
	lo = im->l1_lo;
	hi = im->l1_hi;
	pthread_mutex_unlock(&qd->lock);
	if (n == 0 && lo >= hi)
		return (0);

	/* only allocators change the tables, and we hold alloc */
	for (k = 0; k < n; k++) {
		for (j = 0; j < im->cs / 8; j++)
			be[j] = htobe64(dirty[k]->tbl[j]);
		if ((r = disk_pwrite_full(fd, be, im->cs, dirty[k]->off)) != 0)
			return (r);
	}
	if (lo < hi) {
		if (fresh && fdatasync(fd) == -1)
			return (-errno);
		for (i = lo; i < hi; i++) {
			j = htobe64(im->l1[i]);
			if ((r = disk_pwrite_full(fd, &j, 8,
			    im->l1_off + (uint64_t)i * 8)) != 0)
				return (r);
		}
	}
	if (fdatasync(fd) == -1)
		return (-errno);

	pthread_mutex_lock(&qd->lock);
	for (k = 0; k < n; k++)
		dirty[k]->dirty = dirty[k]->fresh = 0;
	qd->ndirty = 0;
	im->l1_lo = im->l1_size;
	im->l1_hi = 0;
	pthread_mutex_unlock(&qd->lock);
	return (0);
}

static int
qc_flush(void *p)
{
	struct qcow2_disk	*qd = p;
	int			 r;

	if (qd->readonly)
		return (0);
	pthread_mutex_lock(&qd->alloc);
	r = qc_flush_locked(qd);
	pthread_mutex_unlock(&qd->alloc);
	return (r);
}

static int
buf_is_zero(const char *p, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if (p[i] != 0)
			return (0);
	return (1);
}

/* Is the top image's cluster at off writable in place?  Under lock. */
static int
qc_inplace(struct qcow2_disk *qd, uint64_t off, uint64_t *phys)
{
	struct qimg	*im = &qd->img[0];
	uint64_t	 e, o;
	int		 r;

	*phys = 0;
	if ((r = qimg_entry(im, off, &e)) != 0)
		return (r);
	if (e & QC_COMPRESSED)
		return (-EIO);
	o = e & QC_OFFMASK;
	if (o == 0 || (im->version >= 3 && (e & QC_ZERO)))
		return (0);
	if (o % im->cs != 0 || o < im->cs)
		return (-EIO);
	*phys = o;
	return (1);
}

/*
 * Write into clusters the top image does not have yet, from pos on, as
 * far as the request goes within one L2 table.  Returns the bytes
 * written (0: another writer allocated the first one meanwhile) or a
 * negative errno.
 */
static ssize_t
qc_alloc_write(struct qcow2_disk *qd, const struct iovec *iov, int iovcnt,
    size_t skip, uint64_t pos, size_t len)
{
	struct qimg	*im = &qd->img[0];
	struct l2slot	*s;
	struct iovec	 biov;
	uint64_t	 cs = im->cs, per = cs / 8, *target = NULL, *tbl;
	uint64_t	 cl, l1i, e, o, phys, first, next, nnew = 0, newl2 = 0;
	uint64_t	 nmeta = 0;
	uint64_t	 a, b, c;
	size_t		 done, n, k, nc, i;
	ssize_t		 ret;
	int		 r, zero;

	pthread_mutex_lock(&qd->alloc);
	if (qd->broken) {
		ret = -EIO;
		goto out;
	}
	if (qd->ndirty >= L2_MAX_DIRTY && (r = qc_flush_locked(qd)) != 0) {
		ret = r;
		goto out;
	}
	cl = pos / cs;
	l1i = cl / per;
	/* clusters of the request in this L2 table */
	nc = (size_t)MINIMUM((pos % cs + len + cs - 1) / cs,
	    per - cl % per);
	if ((target = calloc(nc, 8)) == NULL) {
		ret = -ENOMEM;
		goto out;
	}

	pthread_mutex_lock(&qd->lock);
	for (k = 0; k < nc; k++) {
		if ((r = qc_inplace(qd, (cl + k) * cs, &phys)) < 0) {
			pthread_mutex_unlock(&qd->lock);
			ret = r;
			goto out;
		}
		if (r == 1)
			break;
		/* a preallocated zero cluster is reused */
		r = qimg_entry(im, (cl + k) * cs, &e);
		o = e & QC_OFFMASK;
		target[k] = (r == 0 && (e & QC_ZERO) && o != 0) ? o : 0;
	}
	pthread_mutex_unlock(&qd->lock);
	nc = k;
	if (nc == 0) {
		ret = 0;
		goto out;
	}

	/* new clusters at the end: the L2 table first when missing */
	if ((im->l1[l1i] & QC_OFFMASK) == 0)
		nnew = nmeta = 1;
	for (k = 0; k < nc; k++)
		if (target[k] == 0)
			nnew++;
	first = qd->end;
	if (nnew > 0 && (r = qc_take(qd, nnew, nmeta, &first)) != 0) {
		ret = r;
		goto out;
	}
	next = first;
	if ((im->l1[l1i] & QC_OFFMASK) == 0) {
		newl2 = next;
		next += cs;
	}
	for (k = 0; k < nc; k++) {
		if (target[k] == 0) {
			target[k] = next;
			next += cs;
		}
	}

	/* the data, merged with what the cluster held before */
	done = 0;
	for (k = 0; k < nc; k++) {
		c = (cl + k) * cs;
		a = k == 0 ? pos % cs : 0;
		b = MINIMUM(cs, a + (len - done));
		n = (size_t)(b - a);
		if (a == 0 && b == cs) {
			/* whole clusters that follow each other: one write */
			for (i = k + 1; i < nc && target[i] ==
			    target[i - 1] + cs && len - done - n >= cs; i++)
				n += cs;
			r = qc_data_xfer(qd, 0, iov, iovcnt, skip + done, n,
			    target[k], 1);
			k = i - 1;
		} else {
			pthread_mutex_lock(&qd->lock);
			r = qimg_entry(im, c, &e);
			pthread_mutex_unlock(&qd->lock);
			zero = r == 0 && im->version >= 3 && (e & QC_ZERO);
			biov.iov_base = qd->buf;
			biov.iov_len = cs;
			if (r == 0 && zero)
				memset(qd->buf, 0, cs);
			else if (r == 0) {
				r = qc_read_chain(qd, 1, &biov, 1, 0, c,
				    (size_t)MINIMUM(cs, im->size - c));
				if (im->size - c < cs)
					memset(qd->buf + (im->size - c), 0,
					    cs - (im->size - c));
			}
			if (r == 0 && target[k] >= first && !qd->nofalloc &&
			    buf_is_zero(qd->buf, cs) &&
			    (r = qc_reserve(qd, target[k], cs)) == 0) {
				/* a new cluster, reserved, reads as zeroes */
				r = qc_data_xfer(qd, 0, iov, iovcnt,
				    skip + done, n, target[k] + a, 1);
			} else if (r == 0) {
				/* written whole, which takes its room */
				iov_to_buf(iov, iovcnt, skip + done,
				    qd->buf + a, n);
				biov.iov_base = qd->buf;
				biov.iov_len = cs;
				r = qc_data_xfer(qd, 0, &biov, 1, 0, cs,
				    target[k], 1);
			}
		}
		if (r != 0) {
			ret = r;
			goto undo;
		}
		done += n;
	}

	/* publish: readers see the new clusters from now on */
	pthread_mutex_lock(&qd->lock);
	if (newl2 != 0) {
		s = NULL;
		for (i = 0; i < L2_SLOTS; i++) {
			if (im->slots[i].dirty)
				continue;
			if (s == NULL || im->slots[i].off == 0 ||
			    (s->off != 0 && im->slots[i].used < s->used))
				s = &im->slots[i];
		}
		if (s != NULL && s->tbl == NULL)
			s->tbl = malloc(cs);
		if (s == NULL || s->tbl == NULL) {
			pthread_mutex_unlock(&qd->lock);
			ret = -ENOMEM;
			goto undo;
		}
		memset(s->tbl, 0, cs);
		s->off = newl2;
		s->fresh = 1;
		im->l1[l1i] = newl2 | QC_COPIED;
		im->l1_lo = MINIMUM(im->l1_lo, (uint32_t)l1i);
		im->l1_hi = MAXIMUM(im->l1_hi, (uint32_t)l1i + 1);
		tbl = s->tbl;
	} else {
		tbl = l2_get(im, (uint32_t)l1i, &r);
		s = tbl != NULL ? l2_slot(im, im->l1[l1i] & QC_OFFMASK) : NULL;
		if (s == NULL) {
			pthread_mutex_unlock(&qd->lock);
			ret = r != 0 ? r : -EIO;
			goto undo;
		}
	}
	for (k = 0; k < nc; k++)
		tbl[(cl + k) % per] = target[k] | QC_COPIED;
	s->used = ++im->stamp;
	if (!s->dirty) {
		s->dirty = 1;
		qd->ndirty++;
	}
	pthread_mutex_unlock(&qd->lock);
	ret = (ssize_t)done;
	goto out;
 undo:
	/* nothing points at the new clusters yet: give them back */
	if (nnew > 0)
		qc_untake(qd, first, nnew, nnew);
 out:
	pthread_mutex_unlock(&qd->alloc);
	free(target);
	return (ret);
}

static int
qc_writev(void *p, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct qcow2_disk	*qd = p;
	uint64_t		 cs = qd->img[0].cs, pos, phys, nphys, in;
	size_t			 len, done = 0, run;
	ssize_t			 n;
	int			 r, nr;

	len = iov_length(iov, iovcnt);
	while (done < len) {
		pos = off + done;
		in = pos % cs;
		pthread_mutex_lock(&qd->lock);
		r = qc_inplace(qd, pos, &phys);
		run = MINIMUM(cs - in, len - done);
		while (r == 1 && done + run < len) {
			nr = qc_inplace(qd, pos + run, &nphys);
			if (nr != 1 || nphys != phys + in + run)
				break;
			run += MINIMUM(cs, len - done - run);
		}
		pthread_mutex_unlock(&qd->lock);
		if (r < 0)
			return (r);
		if (r == 1) {
			if ((r = qc_data_xfer(qd, 0, iov, iovcnt, done, run,
			    phys + in, 1)) != 0)
				return (r);
			done += run;
			continue;
		}
		if ((n = qc_alloc_write(qd, iov, iovcnt, done, pos,
		    len - done)) < 0)
			return ((int)n);
		done += (size_t)n;
	}
	return (0);
}

static int
qc_discard(void *p, uint64_t off, uint64_t len)
{
	return (-EOPNOTSUPP);
}

static void
qc_close(void *p)
{
	struct qcow2_disk	*qd = p;
	int			 k;

	if (!qd->readonly)
		(void)qc_flush(qd);
	for (k = 0; k < qd->nimg; k++) {
		close(qd->img[k].fd);
		qimg_free(&qd->img[k]);
	}
	if (qd->direct)
		close(qd->dio.fd);
	pthread_mutex_destroy(&qd->lock);
	pthread_mutex_destroy(&qd->alloc);
	free(qd->rt);
	free(qd->buf);
	free(qd);
}

/*
 * The backing file of an open image, for the parent and vmctl.  Only the
 * fields needed are trusted, and each is checked.
 */
int
disk_backing_name(int fd, const char *path, char *base, size_t baselen,
    char *resolved, size_t reslen, char *err, size_t errlen)
{
	uint8_t		 b[QC_HDR_V2];
	uint64_t	 fsize, off;
	uint32_t	 len, version;
	char		*dir, dbuf[PATH_MAX];
	int		 n;

	if (errlen > 0)
		err[0] = '\0';
	if (baselen > 0)
		base[0] = '\0';
	if (reslen > 0)
		resolved[0] = '\0';
	if (fd_size(fd, &fsize) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return (-1);
	}
	if (fsize < sizeof(b) || disk_pread_full(fd, b, sizeof(b), 0) != 0) {
		snprintf(err, errlen, "%s: cannot read the qcow2 header",
		    path);
		return (-1);
	}
	if (memcmp(b, QCOW2_MAGIC_BYTES, 4) != 0) {
		snprintf(err, errlen, "%s: not a qcow2 image", path);
		return (-1);
	}
	version = get32(b + QH_VERSION);
	if (version != 2 && version != 3) {
		snprintf(err, errlen, "%s: unsupported qcow2 version %u",
		    path, version);
		return (-1);
	}
	off = get64(b + QH_BACKING_OFF);
	len = get32(b + QH_BACKING_LEN);
	if (len == 0)
		return (0);
	if (len > QC_MAX_BACKING || len >= baselen) {
		snprintf(err, errlen, "%s: backing file name too long", path);
		return (-1);
	}
	if (off < QC_HDR_V2 || off > fsize || len > fsize - off ||
	    disk_pread_full(fd, base, len, off) != 0) {
		base[0] = '\0';
		snprintf(err, errlen, "%s: backing file name outside the "
		    "image", path);
		return (-1);
	}
	base[len] = '\0';
	if (strlen(base) != len) {
		base[0] = '\0';
		snprintf(err, errlen, "%s: bad backing file name", path);
		return (-1);
	}
	if (base[0] == '/')
		n = snprintf(resolved, reslen, "%s", base);
	else {
		if (strlcpy(dbuf, path, sizeof(dbuf)) >= sizeof(dbuf)) {
			base[0] = '\0';
			snprintf(err, errlen, "%s: path too long", path);
			return (-1);
		}
		dir = dirname(dbuf);
		if (strcmp(dir, ".") == 0)
			n = snprintf(resolved, reslen, "%s", base);
		else
			n = snprintf(resolved, reslen, "%s%s%s", dir,
			    dir[strlen(dir) - 1] == '/' ? "" : "/", base);
	}
	if (n < 0 || (size_t)n >= reslen) {
		base[0] = '\0';
		if (reslen > 0)
			resolved[0] = '\0';
		snprintf(err, errlen, "%s: backing file path too long", path);
		return (-1);
	}
	return (0);
}

/*
 * The name stored for base in a new image next to path: as given when
 * absolute, the base name alone when both are in the same directory,
 * else the absolute path, so that it resolves from the image's
 * directory as readers do.
 */
static int
qc_base_name(const char *path, const char *base, char *out, size_t outlen)
{
	char	 a[PATH_MAX], b[PATH_MAX], ra[PATH_MAX], rb[PATH_MAX];
	char	*da, *db;

	if (base[0] == '/')
		return (strlcpy(out, base, outlen) < outlen ? 0 : -1);
	if (strlcpy(a, path, sizeof(a)) >= sizeof(a) ||
	    strlcpy(b, base, sizeof(b)) >= sizeof(b))
		return (-1);
	da = dirname(a);
	db = dirname(b);
	if (realpath(da, ra) != NULL && realpath(db, rb) != NULL &&
	    strcmp(ra, rb) == 0) {
		(void)strlcpy(b, base, sizeof(b));
		return (strlcpy(out, basename(b), outlen) < outlen ? 0 : -1);
	}
	if (realpath(base, rb) != NULL)
		return (strlcpy(out, rb, outlen) < outlen ? 0 : -1);
	return (strlcpy(out, base, outlen) < outlen ? 0 : -1);
}

/*
 * vmctl create: a version 3 image with 64 KiB clusters (a base's cluster
 * size when there is a base, so that the chain can be opened), the L1
 * table in the second cluster, then the refcount table and blocks.
 */
int
disk_create_qcow2(const char *path, uint64_t size, const char *base,
    char *err, size_t errlen)
{
	struct qhdr	 bh;
	char		 name[QC_MAX_BACKING + 1];
	uint8_t		*hdr = NULL, *rb = NULL, *rt = NULL;
	uint64_t	 cs, l1_size, l1_off, l1c, rt_off, rtc, rbc, rb_off;
	uint64_t	 total, nrbc, nrtc, i;
	unsigned int	 cbits = QC_CLUSTER_BITS;
	size_t		 namelen = 0;
	int		 fd = -1, bfd, ret;
	char		 berr[DISK_ERRLEN];

	if (errlen > 0)
		err[0] = '\0';
	if (base != NULL) {
		if ((bfd = open(base, O_RDONLY | O_CLOEXEC)) == -1) {
			snprintf(err, errlen, "failure to read base image "
			    "header");
			return (errno);
		}
		ret = qc_header(bfd, &bh, berr, sizeof(berr));
		close(bfd);
		if (ret == -1) {
			if (strstr(berr, "magic") != NULL ||
			    strstr(berr, "truncated") != NULL)
				snprintf(err, errlen, "base image is not a "
				    "qcow2 file");
			else
				snprintf(err, errlen, "base image: %s", berr);
			return (EINVAL);
		}
		if (size == 0)
			size = bh.size;
		else if (size != bh.size) {
			snprintf(err, errlen, "base size does not match "
			    "requested size");
			return (EINVAL);
		}
		cbits = bh.cbits;
		if (qc_base_name(path, base, name, sizeof(name)) == -1) {
			snprintf(err, errlen, "base image name too long");
			return (ENAMETOOLONG);
		}
		namelen = strlen(name);
	}
	if (size == 0) {
		snprintf(err, errlen, "missing disk size");
		return (EINVAL);
	}
	if (size > QC_MAX_SIZE)
		return (EFBIG);

	cs = 1ULL << cbits;
	l1_size = (size + cs * (cs / 8) - 1) / (cs * (cs / 8));
	if (l1_size * 8 > QC_MAX_L1_BYTES)
		return (EFBIG);
	l1_off = roundup_u64(QC_HDR_V3 + namelen, cs);
	l1c = roundup_u64(l1_size * 8, cs) / cs;
	rt_off = l1_off + l1c * cs;
	rtc = rbc = 1;
	for (;;) {
		total = rt_off / cs + rtc + rbc;
		nrbc = (total + cs / 2 - 1) / (cs / 2);
		nrtc = roundup_u64(nrbc * 8, cs) / cs;
		if (nrbc == rbc && nrtc == rtc)
			break;
		rbc = nrbc;
		rtc = nrtc;
	}
	if (rtc * cs > QC_MAX_RT_BYTES)
		return (EFBIG);
	rb_off = rt_off + rtc * cs;
	total = rb_off / cs + rbc;

	if ((hdr = calloc(1, cs)) == NULL || (rt = calloc(rtc, cs)) == NULL ||
	    (rb = calloc(rbc, cs)) == NULL) {
		ret = errno;
		goto done;
	}
	memcpy(hdr, QCOW2_MAGIC_BYTES, 4);
	put32(hdr + QH_VERSION, QC_VERSION);
	if (namelen > 0) {
		put64(hdr + QH_BACKING_OFF, QC_HDR_V3);
		put32(hdr + QH_BACKING_LEN, (uint32_t)namelen);
		memcpy(hdr + QC_HDR_V3, name, namelen);
	}
	put32(hdr + QH_CLUSTER_BITS, cbits);
	put64(hdr + QH_SIZE, size);
	put32(hdr + QH_L1_SIZE, (uint32_t)l1_size);
	put64(hdr + QH_L1_OFF, l1_off);
	put64(hdr + QH_RT_OFF, rt_off);
	put32(hdr + QH_RT_CLUSTERS, (uint32_t)rtc);
	put32(hdr + QH_REFCOUNT_ORDER, QC_REFCOUNT_ORDER);
	put32(hdr + QH_HDRLEN, QC_HDR_V3);
	for (i = 0; i < rbc; i++)
		put64(rt + i * 8, rb_off + i * cs);
	for (i = 0; i < total; i++)
		put16(rb + i * 2, 1);

	if ((fd = open(path, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC,
	    0600)) == -1) {
		ret = errno;
		goto done;
	}
	if (ftruncate(fd, (off_t)(total * cs)) == -1 ||
	    disk_pwrite_full(fd, hdr, QC_HDR_V3 + namelen, 0) != 0 ||
	    disk_pwrite_full(fd, rt, rtc * cs, rt_off) != 0 ||
	    disk_pwrite_full(fd, rb, rbc * cs, rb_off) != 0 ||
	    fsync(fd) == -1) {
		ret = errno != 0 ? errno : EIO;
		close(fd);
		(void)unlink(path);
		goto done;
	}
	if (close(fd) == -1) {
		ret = errno;
		(void)unlink(path);
		goto done;
	}
	ret = 0;
 done:
	free(hdr);
	free(rt);
	free(rb);
	return (ret);
}
