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
 * The commands of the virtio block, SCSI (CD-ROM) and entropy devices.
 * Arguments are separated by blanks or ':' (run=blkread:0:8:16).
 *
 * Disk pattern: the byte at disk offset o for seed s is
 *	(uint8_t)((o >> 9) * 0x9e + (o & 0x1ff) + s * 0x3b + ((o >> 17) ^ s))
 * so within a sector it counts up by one from a per-sector base; it is
 * made and checked eight bytes at a time.
 */

#include "virtio.h"

#define SECTOR		512
#define CDBLK		2048
#define IOBUF_SIZE	(1024 * 1024)
#define MAXXFER		65536		/* bytes per request */

/* virtio-blk */
#define VBLK_CAPACITY	0
#define VBLK_SIZE_MAX	8
#define VBLK_SEG_MAX	12
#define VBLK_T_IN	0
#define VBLK_T_OUT	1
#define VBLK_T_FLUSH	4
#define VBLK_T_GET_ID	8
#define VBLK_T_DISCARD	11
#define VBLK_T_WZEROES	13
#define VBLK_T_BOGUS	0x7eadbeef
#define VBLK_ID_BYTES	20
#define VBLK_NOSTATUS	0xff		/* preset: the device wrote none */

#define BLK_FEATURES	(FEAT(VIRTIO_BLK_F_SIZE_MAX) | \
			FEAT(VIRTIO_BLK_F_SEG_MAX) | FEAT(VIRTIO_BLK_F_RO) | \
			FEAT(VIRTIO_BLK_F_BLK_SIZE) | FEAT(VIRTIO_BLK_F_FLUSH) | \
			FEAT(VIRTIO_BLK_F_DISCARD) | \
			FEAT(VIRTIO_BLK_F_WRITE_ZEROES) | \
			FEAT(VIRTIO_F_INDIRECT_DESC))

/* virtio-scsi */
#define VSCSI_SENSE_SIZE 20
#define VSCSI_CDB_SIZE	24
#define VSCSI_REQQ	2
#define VSCSI_SLOTS	16
#define VSCSI_SLOTSZ	256
#define VSCSI_REQ_CDB	19		/* lun 8, id 8, attr, prio, crn */
#define VSCSI_RESP_SENSE 12
#define VSCSI_S_OK	0
#define SCSI_GOOD	0x00
#define SCSI_CHECK	0x02
#define SKEY_UNIT_ATTN	0x6
#define DIR_NONE	0
#define DIR_IN		1
#define DIR_OUT		2

#define H8		0x8080808080808080ULL
#define E8		0x0808080808080808ULL

#define NOINIT(a)	__attribute__((__section__(".noinit"), __aligned__(a)))

static uint8_t		iobuf[IOBUF_SIZE] NOINIT(4096);
static uint8_t		blkhdr[VREQ_MAX][16] NOINIT(16);
static uint8_t		blkstat[VREQ_MAX] NOINIT(16);
static uint64_t		reqsect[VREQ_MAX] NOINIT(16);
static struct vring_desc indtab[VREQ_MAX][4] NOINIT(16);
static uint8_t		scsireq[VSCSI_SLOTS][VSCSI_SLOTSZ] NOINIT(16);
static uint8_t		scsiresp[VSCSI_SLOTS][VSCSI_SLOTSZ] NOINIT(16);

static const char	*xerr;		/* why the last transfer failed */
static int		 inflight_max;

/* ---- helpers ---- */

/* Split at blanks and ':'; returns the number of words, -1: too many. */
int
split(const char *s, char tok[MAXTOK][TOKLEN])
{
	int n = 0, len;

	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == ':')
			s++;
		if (*s == '\0' || n == MAXTOK)
			return *s == '\0' ? n : -1;
		for (len = 0; *s != '\0' && *s != ' ' && *s != '\t' &&
		    *s != ':'; s++)
			if (len < TOKLEN - 1)
				tok[n][len++] = *s;
		tok[n++][len] = '\0';
	}
}

/* Exactly n numbers; returns 0 on success. */
int
numargs(const char *arg, uint64_t *v, int n)
{
	char tok[MAXTOK][TOKLEN];
	int i;

	if (split(arg, tok) != n)
		return -1;
	for (i = 0; i < n; i++)
		if (parse_num(tok[i], &v[i]) != 0)
			return -1;
	return 0;
}

static void
fill64(void *p, uint64_t v, size_t bytes)
{
	uint64_t *q = p;

	for (bytes /= 8; bytes > 0; bytes--)
		*q++ = v;
}

static void
poison(void *p, size_t bytes)
{
	fill64(p, 0x5a5a5a5a5a5a5a5aULL, bytes);
}

static void
wr32(uint8_t *p, uint32_t v)
{
	__builtin_memcpy(p, &v, 4);
}

static void
wr64(uint8_t *p, uint64_t v)
{
	__builtin_memcpy(p, &v, 8);
}

static void
wrbe(uint8_t *p, uint32_t v, int n)
{
	while (n-- > 0) {
		p[n] = v & 0xff;
		v >>= 8;
	}
}

static uint32_t
rdbe32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

/* The first eight bytes of a sector of the pattern, as one word. */
static uint64_t
pat_word(uint64_t sector, uint64_t seed)
{
	uint8_t b = sector * 0x9e + seed * 0x3b + ((sector >> 8) ^ seed);
	uint64_t w = 0;
	int i;

	for (i = 7; i >= 0; i--)
		w = w << 8 | (uint8_t)(b + i);
	return w;
}

static void
pat_fill(uint8_t *buf, uint64_t sector, uint64_t nsect, uint64_t seed)
{
	uint64_t *p = (uint64_t *)buf, w;
	int i;

	for (; nsect > 0; nsect--, sector++) {
		w = pat_word(sector, seed);
		for (i = 0; i < SECTOR / 8; i++) {
			*p++ = w;
			/* add 8 to every byte, no carries between them */
			w = ((w & ~H8) + E8) ^ (w & H8);
		}
	}
}

/* Index of the first sector that differs from the pattern, or -1. */
static int64_t
pat_check(const uint8_t *buf, uint64_t sector, uint64_t nsect, uint64_t seed)
{
	const uint64_t *p = (const uint64_t *)buf;
	uint64_t k, w;
	int i;

	for (k = 0; k < nsect; k++) {
		w = pat_word(sector + k, seed);
		for (i = 0; i < SECTOR / 8; i++) {
			if (*p++ != w)
				return k;
			w = ((w & ~H8) + E8) ^ (w & H8);
		}
	}
	return -1;
}

static const char *
statname(uint8_t st)
{
	switch (st) {
	case 0:
		return "OK";
	case 1:
		return "IOERR";
	case 2:
		return "UNSUPP";
	case VBLK_NOSTATUS:
		return "none";
	}
	return "bad";
}

/*
 * Kick the device and collect n completions, noting the largest number
 * of requests it had not finished when we looked (right after the kick
 * and at each interrupt).  Returns 0, or -1 with xerr set (the device is
 * reset).
 */
static int
finish(struct vdev *vd, int n)
{
	uint16_t head, out;
	uint32_t len;

	vq_kick(vd);
	for (; n > 0; n--) {
		out = vq_outstanding(vd);
		if (out > inflight_max)
			inflight_max = out;
		if (vq_wait(vd, &head, &len, ticks + VIO_TIMEOUT) != 0) {
			xerr = vq_failure(vd);
			return -1;
		}
	}
	return 0;
}

/*
 * The n-th device of a type, set up with the features in want and queue
 * qidx; NULL, with "CMD N FAIL <why>" printed, if it cannot be.
 */
static struct vdev *
dev_up(const char *cmd, uint64_t n, int type, uint64_t want, uint16_t qidx)
{
	struct vdev *vd;
	const char *err;

	if ((vd = vio_get(type, n)) == NULL) {
		kprintf("%s %lu FAIL no device\n", cmd, n);
		return NULL;
	}
	if ((err = vio_init(vd, want, qidx, VQ_MAXSIZE)) != NULL) {
		kprintf("%s %lu FAIL %s\n", cmd, n, err);
		return NULL;
	}
	return vd;
}

/* "N ..." of n numbers, N naming the device that get sets up */
static struct vdev *
dev_args(const char *cmd, const char *arg, uint64_t *v, int n,
    struct vdev *(*get)(const char *, uint64_t))
{
	if (numargs(arg, v, n) != 0) {
		kprintf("%s FAIL usage\n", cmd);
		return NULL;
	}
	return get(cmd, v[0]);
}

/* ---- virtio-blk ---- */

static struct vdev *
blkdev(const char *cmd, uint64_t n)
{
	return dev_up(cmd, n, VIRTIO_ID_BLK, BLK_FEATURES, 0);
}

/* Largest request in sectors: 64 KiB, or less if SIZE_MAX says so. */
static uint32_t
blk_maxsect(struct vdev *vd)
{
	uint32_t max = MAXXFER / SECTOR, sm;

	if (vd->features & FEAT(VIRTIO_BLK_F_SIZE_MAX)) {
		sm = vio_cfg32(vd, VBLK_SIZE_MAX) / SECTOR;
		if (sm < max)
			max = sm > 0 ? sm : 1;
	}
	return max;
}

/*
 * Post request slot r: header, optional data, status.  The data is
 * device-writable for reads and get-id.  ind: through an indirect table.
 */
static int
blk_post(struct vdev *vd, int r, uint32_t type, uint64_t sector,
    void *data, uint32_t len, int ind)
{
	struct vseg s[3];
	int n = 0;

	wr32(blkhdr[r], type);
	wr32(blkhdr[r] + 4, 0);
	wr64(blkhdr[r] + 8, sector);
	blkstat[r] = VBLK_NOSTATUS;
	reqsect[r] = sector;
	s[n++] = (struct vseg){ (uint64_t)blkhdr[r], 16, 0 };
	if (len > 0)
		s[n++] = (struct vseg){ (uint64_t)data, len,
		    type == VBLK_T_IN || type == VBLK_T_GET_ID };
	s[n++] = (struct vseg){ (uint64_t)&blkstat[r], 1, 1 };
	return vq_post(vd, s, n, ind ? (uint64_t)indtab[r] : 0);
}

/* One request without data-size limits; returns its status or -1. */
static int
blk_one(struct vdev *vd, uint32_t type, uint64_t sector, void *data,
    uint32_t len)
{
	vq_begin(vd);
	if (blk_post(vd, 0, type, sector, data, len, 0) < 0) {
		xerr = "queue too small";
		return -1;
	}
	if (finish(vd, 1) != 0)
		return -1;
	return blkstat[0];
}

/*
 * Read or write count sectors at sector from/to buf, in requests of at
 * most blk_maxsect() sectors, as many at a time as the queue holds.
 * Returns 0, -1 (xerr) or 1 with the status and sector of the first
 * request that did not succeed.
 */
static int
blk_rw(struct vdev *vd, uint32_t type, uint64_t sector, uint64_t count,
    uint8_t *buf, uint8_t *st, uint64_t *bad)
{
	uint64_t done = 0, n;
	uint32_t max = blk_maxsect(vd);
	int r, nreq, perbatch = vd->vq.size / 3;

	if (perbatch > VREQ_MAX)
		perbatch = VREQ_MAX;
	while (done < count) {
		vq_begin(vd);
		for (nreq = 0; nreq < perbatch && done < count; nreq++) {
			n = count - done < max ? count - done : max;
			if (blk_post(vd, nreq, type, sector + done,
			    buf + done * SECTOR, n * SECTOR, 0) < 0)
				break;
			done += n;
		}
		if (nreq == 0) {
			xerr = "queue too small";
			return -1;
		}
		if (finish(vd, nreq) != 0)
			return -1;
		for (r = 0; r < nreq; r++) {
			if (blkstat[r] != 0) {
				*st = blkstat[r];
				*bad = reqsect[r];
				return 1;
			}
		}
	}
	return 0;
}

/* "N SECTOR COUNT [SEED]" of the transfer commands. */
static struct vdev *
blk_args(const char *cmd, const char *arg, uint64_t *v, int n)
{
	return dev_args(cmd, arg, v, n, blkdev);
}

/* Report a failed blk_rw(); returns 1 if it failed. */
static int
blk_rwfail(const char *cmd, uint64_t n, int rv, uint8_t st, uint64_t bad)
{
	if (rv < 0)
		kprintf("%s %lu FAIL %s\n", cmd, n, xerr);
	else if (rv > 0)
		kprintf("%s %lu FAIL status=%s sector=%lu\n", cmd, n,
		    statname(st), bad);
	return rv != 0;
}

void
cmd_blkinfo(const char *arg)
{
	struct vdev *vd;
	uint64_t n, f;

	if (numargs(arg, &n, 1) != 0) {
		kprintf("BLKINFO FAIL usage\n");
		return;
	}
	if ((vd = blkdev("BLKINFO", n)) == NULL)
		return;
	f = vd->features;
	kprintf("BLKINFO %lu sectors=%lu ro=%d flush=%d discard=%d "
	    "wzeroes=%d segmax=%u qsize=%u\n", n,
	    vio_cfg64(vd, VBLK_CAPACITY),
	    (f & FEAT(VIRTIO_BLK_F_RO)) != 0,
	    (f & FEAT(VIRTIO_BLK_F_FLUSH)) != 0,
	    (f & FEAT(VIRTIO_BLK_F_DISCARD)) != 0,
	    (f & FEAT(VIRTIO_BLK_F_WRITE_ZEROES)) != 0,
	    (f & FEAT(VIRTIO_BLK_F_SEG_MAX)) ?
	    vio_cfg32(vd, VBLK_SEG_MAX) : 0, vd->vq.devsize);
}

void
cmd_blkread(const char *arg)
{
	struct vdev *vd;
	uint64_t v[3], done, n, bad;
	uint32_t h = FNV_INIT;
	uint8_t st;
	int rv;

	if ((vd = blk_args("BLKREAD", arg, v, 3)) == NULL)
		return;
	for (done = 0; done < v[2]; done += n) {
		n = v[2] - done < IOBUF_SIZE / SECTOR ? v[2] - done :
		    IOBUF_SIZE / SECTOR;
		poison(iobuf, n * SECTOR);
		rv = blk_rw(vd, VBLK_T_IN, v[1] + done, n, iobuf, &st, &bad);
		if (blk_rwfail("BLKREAD", v[0], rv, st, bad))
			return;
		h = fnv1a32_more(h, (uint64_t)iobuf, n * SECTOR);
	}
	kprintf("BLKREAD %lu %lu %lu sum=0x%08x\n", v[0], v[1], v[2], h);
}

void
cmd_blkwrite(const char *arg)
{
	struct vdev *vd;
	uint64_t v[4], done, n, bad;
	uint8_t st;
	int rv;

	if ((vd = blk_args("BLKWRITE", arg, v, 4)) == NULL)
		return;
	for (done = 0; done < v[2]; done += n) {
		n = v[2] - done < IOBUF_SIZE / SECTOR ? v[2] - done :
		    IOBUF_SIZE / SECTOR;
		pat_fill(iobuf, v[1] + done, n, v[3]);
		rv = blk_rw(vd, VBLK_T_OUT, v[1] + done, n, iobuf, &st, &bad);
		if (blk_rwfail("BLKWRITE", v[0], rv, st, bad))
			return;
	}
	kprintf("BLKWRITE %lu %lu %lu OK\n", v[0], v[1], v[2]);
}

void
cmd_blkcheck(const char *arg)
{
	struct vdev *vd;
	uint64_t v[4], done, n, bad;
	int64_t k;
	uint8_t st;
	int rv;

	if ((vd = blk_args("BLKCHECK", arg, v, 4)) == NULL)
		return;
	for (done = 0; done < v[2]; done += n) {
		n = v[2] - done < IOBUF_SIZE / SECTOR ? v[2] - done :
		    IOBUF_SIZE / SECTOR;
		poison(iobuf, n * SECTOR);
		rv = blk_rw(vd, VBLK_T_IN, v[1] + done, n, iobuf, &st, &bad);
		if (blk_rwfail("BLKCHECK", v[0], rv, st, bad))
			return;
		if ((k = pat_check(iobuf, v[1] + done, n, v[3])) >= 0) {
			kprintf("BLKCHECK %lu FAIL sector=%lu\n", v[0],
			    v[1] + done + k);
			return;
		}
	}
	kprintf("BLKCHECK %lu %lu %lu OK\n", v[0], v[1], v[2]);
}

void
cmd_blkflush(const char *arg)
{
	struct vdev *vd;
	uint64_t n;
	int st;

	if (numargs(arg, &n, 1) != 0) {
		kprintf("BLKFLUSH FAIL usage\n");
		return;
	}
	if ((vd = blkdev("BLKFLUSH", n)) == NULL)
		return;
	if (!(vd->features & FEAT(VIRTIO_BLK_F_FLUSH)))
		kprintf("BLKFLUSH %lu UNSUPP\n", n);
	else if ((st = blk_one(vd, VBLK_T_FLUSH, 0, NULL, 0)) < 0)
		kprintf("BLKFLUSH %lu FAIL %s\n", n, xerr);
	else
		kprintf("BLKFLUSH %lu %s\n", n, statname(st));
}

void
cmd_blkid(const char *arg)
{
	struct vdev *vd;
	uint64_t n;
	int i, st;
	char c;

	if (numargs(arg, &n, 1) != 0) {
		kprintf("BLKID FAIL usage\n");
		return;
	}
	if ((vd = blkdev("BLKID", n)) == NULL)
		return;
	fill64(iobuf, 0, 32);
	if ((st = blk_one(vd, VBLK_T_GET_ID, 0, iobuf, VBLK_ID_BYTES)) < 0) {
		kprintf("BLKID %lu FAIL %s\n", n, xerr);
		return;
	}
	if (st != 0) {
		kprintf("BLKID %lu %s\n", n, statname(st));
		return;
	}
	kprintf("BLKID %lu ", n);
	for (i = 0; i < VBLK_ID_BYTES && iobuf[i] != '\0'; i++) {
		c = iobuf[i];
		cons_putc(c > ' ' && c < 0x7f ? c : '?');
	}
	kprintf("\n");
}

/* blkdiscard and blkzero: one range, 16 bytes of device-readable data. */
static void
blk_range(const char *cmd, const char *arg, uint32_t type, int feat)
{
	struct vdev *vd;
	uint64_t v[3];
	int st;

	if ((vd = blk_args(cmd, arg, v, 3)) == NULL)
		return;
	if (!(vd->features & FEAT(feat))) {
		kprintf("%s %lu UNSUPP\n", cmd, v[0]);
		return;
	}
	wr64(iobuf, v[1]);
	wr32(iobuf + 8, v[2]);
	wr32(iobuf + 12, 0);		/* flags: no unmap */
	if ((st = blk_one(vd, type, 0, iobuf, 16)) < 0)
		kprintf("%s %lu FAIL %s\n", cmd, v[0], xerr);
	else
		kprintf("%s %lu %s\n", cmd, v[0], statname(st));
}

void
cmd_blkdiscard(const char *arg)
{
	blk_range("BLKDISCARD", arg, VBLK_T_DISCARD, VIRTIO_BLK_F_DISCARD);
}

void
cmd_blkzero(const char *arg)
{
	blk_range("BLKZERO", arg, VBLK_T_WZEROES, VIRTIO_BLK_F_WRITE_ZEROES);
}

/*
 * COUNT 4 KiB requests at sectors 8*i all posted before one kick, first
 * writes of the pattern, then reads; indirect chains if negotiated.
 */
static int
many_phase(struct vdev *vd, uint32_t type, uint64_t count, int ind,
    uint64_t n)
{
	uint64_t i;
	int r;

	vq_begin(vd);
	for (i = 0; i < count; i++) {
		if (blk_post(vd, i, type, 8 * i, iobuf + i * 4096, 4096,
		    ind) < 0) {
			kprintf("BLKMANY %lu FAIL queue full at %lu\n", n, i);
			return -1;
		}
	}
	if (finish(vd, count) != 0) {
		kprintf("BLKMANY %lu FAIL %s\n", n, xerr);
		return -1;
	}
	for (r = 0; r < (int)count; r++) {
		if (blkstat[r] != 0) {
			kprintf("BLKMANY %lu FAIL status=%s sector=%lu\n", n,
			    statname(blkstat[r]), reqsect[r]);
			return -1;
		}
	}
	return 0;
}

void
cmd_blkmany(const char *arg)
{
	struct vdev *vd;
	uint64_t v[3], max;
	int64_t k;
	int ind;

	if ((vd = blk_args("BLKMANY", arg, v, 3)) == NULL)
		return;
	ind = (vd->features & FEAT(VIRTIO_F_INDIRECT_DESC)) != 0;
	max = ind ? vd->vq.size : vd->vq.size / 3;
	if (max > VREQ_MAX)
		max = VREQ_MAX;
	if (v[1] < 1 || v[1] > max) {
		kprintf("BLKMANY %lu FAIL count not in 1..%lu\n", v[0], max);
		return;
	}
	inflight_max = 0;
	pat_fill(iobuf, 0, 8 * v[1], v[2]);
	if (many_phase(vd, VBLK_T_OUT, v[1], ind, v[0]) != 0)
		return;
	poison(iobuf, v[1] * 4096);
	if (many_phase(vd, VBLK_T_IN, v[1], ind, v[0]) != 0)
		return;
	if ((k = pat_check(iobuf, 0, 8 * v[1], v[2])) >= 0) {
		kprintf("BLKMANY %lu FAIL data sector=%ld\n", v[0], k);
		return;
	}
	kprintf("BLKMANY %lu %lu OK inflight=%d\n", v[0], v[1], inflight_max);
}

/* Requests a correct device must refuse, without harm. */
void
cmd_blkbad(const char *arg)
{
	char tok[MAXTOK][TOKLEN];
	struct vseg s[2];
	struct vdev *vd;
	uint64_t n;
	const char *what;
	int st;

	if (split(arg, tok) != 2 || parse_num(tok[0], &n) != 0) {
		kprintf("BLKBAD FAIL usage\n");
		return;
	}
	if ((vd = blkdev("BLKBAD", n)) == NULL)
		return;
	what = tok[1];
	if (strcmp(what, "oob") == 0) {
		/* one sector just past the end */
		st = blk_one(vd, VBLK_T_IN, vio_cfg64(vd, VBLK_CAPACITY),
		    iobuf, SECTOR);
	} else if (strcmp(what, "ro") == 0) {
		/* write sector 0 back as it is, should the device allow it */
		poison(iobuf, SECTOR);
		st = blk_one(vd, VBLK_T_IN, 0, iobuf, SECTOR);
		if (st == 0)
			st = blk_one(vd, VBLK_T_OUT, 0, iobuf, SECTOR);
		else if (st > 0) {
			kprintf("BLKBAD %lu ro FAIL read status=%s\n", n,
			    statname(st));
			return;
		}
	} else if (strcmp(what, "badtype") == 0) {
		st = blk_one(vd, VBLK_T_BOGUS, 0, NULL, 0);
	} else if (strcmp(what, "shortdesc") == 0) {
		/* half a header, then the status byte */
		wr32(blkhdr[0], VBLK_T_IN);
		wr32(blkhdr[0] + 4, 0);
		blkstat[0] = VBLK_NOSTATUS;
		s[0] = (struct vseg){ (uint64_t)blkhdr[0], 8, 0 };
		s[1] = (struct vseg){ (uint64_t)&blkstat[0], 1, 1 };
		vq_begin(vd);
		st = -1;
		if (vq_post(vd, s, 2, 0) < 0)
			xerr = "queue too small";
		else if (finish(vd, 1) == 0)
			st = blkstat[0];
	} else {
		kprintf("BLKBAD %lu FAIL unknown test %s\n", n, what);
		return;
	}
	if (st < 0)
		kprintf("BLKBAD %lu %s FAIL %s\n", n, what, xerr);
	else
		kprintf("BLKBAD %lu %s status=%s\n", n, what, statname(st));
}

/* ---- virtio-scsi: a CD-ROM at target 0, LUN 0 ---- */

struct scsires {
	uint8_t		response;
	uint8_t		status;
	uint8_t		key, asc, ascq;
};

static uint32_t	scsi_cdbsz, scsi_sensesz;

static struct vdev *
cddev(const char *cmd, uint64_t n)
{
	struct vdev *vd;

	if ((vd = dev_up(cmd, n, VIRTIO_ID_SCSI, 0, VSCSI_REQQ)) == NULL)
		return NULL;
	scsi_cdbsz = vio_cfg32(vd, VSCSI_CDB_SIZE);
	scsi_sensesz = vio_cfg32(vd, VSCSI_SENSE_SIZE);
	if (scsi_cdbsz < 10 || scsi_cdbsz > VSCSI_SLOTSZ - VSCSI_REQ_CDB ||
	    scsi_sensesz > VSCSI_SLOTSZ - VSCSI_RESP_SENSE) {
		kprintf("%s %lu FAIL cdb_size %u sense_size %u\n", cmd, n,
		    scsi_cdbsz, scsi_sensesz);
		return NULL;
	}
	return vd;
}

static int
scsi_post(struct vdev *vd, int r, const uint8_t *cdb, int cdblen,
    void *data, uint32_t len, int dir)
{
	uint8_t *q = scsireq[r], *p = scsiresp[r];
	struct vseg s[3];
	int i, n = 0;

	for (i = 0; i < VSCSI_REQ_CDB + (int)scsi_cdbsz; i++)
		q[i] = 0;
	q[0] = 1;		/* LUN: flat, target 0, LUN 0 */
	q[2] = 0x40;
	q[8] = r;		/* tag */
	for (i = 0; i < cdblen; i++)
		q[VSCSI_REQ_CDB + i] = cdb[i];
	for (i = 0; i < VSCSI_RESP_SENSE; i++)
		p[i] = 0xff;
	s[n++] = (struct vseg){ (uint64_t)q, VSCSI_REQ_CDB + scsi_cdbsz, 0 };
	if (dir == DIR_OUT)
		s[n++] = (struct vseg){ (uint64_t)data, len, 0 };
	s[n++] = (struct vseg){ (uint64_t)p, VSCSI_RESP_SENSE + scsi_sensesz,
	    1 };
	if (dir == DIR_IN)
		s[n++] = (struct vseg){ (uint64_t)data, len, 1 };
	return vq_post(vd, s, n, 0);
}

static void
scsi_result(int r, struct scsires *res)
{
	const uint8_t *p = scsiresp[r], *s = p + VSCSI_RESP_SENSE;
	uint32_t slen;

	__builtin_memcpy(&slen, p, 4);
	res->response = p[11];
	res->status = p[10];
	res->key = res->asc = res->ascq = 0;
	if (slen > scsi_sensesz)
		slen = scsi_sensesz;
	if ((s[0] & 0x7e) == 0x70 && slen >= 14) {	/* fixed format */
		res->key = s[2] & 0xf;
		res->asc = s[12];
		res->ascq = s[13];
	} else if ((s[0] & 0x7e) == 0x72 && slen >= 4) { /* descriptor */
		res->key = s[1] & 0xf;
		res->asc = s[2];
		res->ascq = s[3];
	}
}

/* One command; a unit attention (reset, medium change) is retried. */
static int
scsi_cmd(struct vdev *vd, const uint8_t *cdb, int cdblen, void *data,
    uint32_t len, int dir, struct scsires *res)
{
	int try;

	for (try = 0; try < 4; try++) {
		vq_begin(vd);
		if (scsi_post(vd, 0, cdb, cdblen, data, len, dir) < 0) {
			xerr = "queue too small";
			return -1;
		}
		if (finish(vd, 1) != 0)
			return -1;
		scsi_result(0, res);
		if (res->response != VSCSI_S_OK || res->status != SCSI_CHECK ||
		    res->key != SKEY_UNIT_ATTN)
			break;
	}
	return 0;
}

/* Print "FAIL ..." for a command that did not end GOOD; 1 if so. */
static int
scsi_bad(const char *cmd, uint64_t n, const struct scsires *res)
{
	if (res->response != VSCSI_S_OK)
		kprintf("%s %lu FAIL response=%u\n", cmd, n, res->response);
	else if (res->status == SCSI_CHECK)
		kprintf("%s %lu FAIL sense=%x/%02x/%02x\n", cmd, n, res->key,
		    res->asc, res->ascq);
	else if (res->status != SCSI_GOOD)
		kprintf("%s %lu FAIL status=0x%x\n", cmd, n, res->status);
	else
		return 0;
	return 1;
}

static struct vdev *
cd_args(const char *cmd, const char *arg, uint64_t *v, int n)
{
	return dev_args(cmd, arg, v, n, cddev);
}

void
cmd_cdinfo(const char *arg)
{
	static const uint8_t cdb[10] = { 0x25 };	/* READ CAPACITY(10) */
	struct scsires res;
	struct vdev *vd;
	uint64_t n;

	if ((vd = cd_args("CDINFO", arg, &n, 1)) == NULL)
		return;
	poison(iobuf, 8);
	if (scsi_cmd(vd, cdb, sizeof(cdb), iobuf, 8, DIR_IN, &res) != 0) {
		kprintf("CDINFO %lu FAIL %s\n", n, xerr);
		return;
	}
	if (scsi_bad("CDINFO", n, &res))
		return;
	kprintf("CDINFO %lu blocks=%lu blksize=%u\n", n,
	    (uint64_t)rdbe32(iobuf) + 1, rdbe32(iobuf + 4));
}

static void
print_ascii(const uint8_t *p, int len)
{
	while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\0'))
		len--;
	for (; len > 0; len--, p++)
		cons_putc(*p >= ' ' && *p < 0x7f && *p != '"' ? *p : '?');
}

void
cmd_cdinq(const char *arg)
{
	static const uint8_t cdb[6] = { 0x12, 0, 0, 0, 36, 0 };	/* INQUIRY */
	struct scsires res;
	struct vdev *vd;
	uint64_t n;

	if ((vd = cd_args("CDINQ", arg, &n, 1)) == NULL)
		return;
	fill64(iobuf, 0, 40);
	if (scsi_cmd(vd, cdb, sizeof(cdb), iobuf, 36, DIR_IN, &res) != 0) {
		kprintf("CDINQ %lu FAIL %s\n", n, xerr);
		return;
	}
	if (scsi_bad("CDINQ", n, &res))
		return;
	kprintf("CDINQ %lu type=%u vendor=\"", n, iobuf[0] & 0x1f);
	print_ascii(iobuf + 8, 8);
	kprintf("\" product=\"");
	print_ascii(iobuf + 16, 16);
	kprintf("\"\n");
}

static void
cdb_rw10(uint8_t *cdb, uint8_t op, uint32_t lba, uint16_t count)
{
	int i;

	for (i = 0; i < 10; i++)
		cdb[i] = 0;
	cdb[0] = op;
	wrbe(cdb + 2, lba, 4);
	wrbe(cdb + 7, count, 2);
}

void
cmd_cdread(const char *arg)
{
	struct scsires res;
	struct vdev *vd;
	uint64_t v[3], done, n, lba;
	uint32_t h = FNV_INIT, chunk = MAXXFER / CDBLK;
	uint8_t cdb[10];
	int r, nreq, perbatch;

	if ((vd = cd_args("CDREAD", arg, v, 3)) == NULL)
		return;
	perbatch = vd->vq.size / 3 < VSCSI_SLOTS ? vd->vq.size / 3 :
	    VSCSI_SLOTS;
	for (done = 0; done < v[2]; done += n) {
		n = v[2] - done < IOBUF_SIZE / CDBLK ? v[2] - done :
		    IOBUF_SIZE / CDBLK;
		poison(iobuf, n * CDBLK);
		/* a unit attention first, if there is one pending */
		if (done == 0) {
			cdb_rw10(cdb, 0x00, 0, 0);	/* TEST UNIT READY */
			if (scsi_cmd(vd, cdb, 6, NULL, 0, DIR_NONE, &res)
			    != 0) {
				kprintf("CDREAD %lu FAIL %s\n", v[0], xerr);
				return;
			}
		}
		for (lba = 0; lba < n; ) {
			vq_begin(vd);
			for (nreq = 0; nreq < perbatch && lba < n; nreq++) {
				uint32_t k = n - lba < chunk ? n - lba : chunk;

				cdb_rw10(cdb, 0x28, v[1] + done + lba, k);
				if (scsi_post(vd, nreq, cdb, 10,
				    iobuf + lba * CDBLK, k * CDBLK, DIR_IN) < 0)
					break;
				lba += k;
			}
			if (nreq == 0 || finish(vd, nreq) != 0) {
				kprintf("CDREAD %lu FAIL %s\n", v[0],
				    nreq == 0 ? "queue too small" : xerr);
				return;
			}
			for (r = 0; r < nreq; r++) {
				scsi_result(r, &res);
				if (scsi_bad("CDREAD", v[0], &res))
					return;
			}
		}
		h = fnv1a32_more(h, (uint64_t)iobuf, n * CDBLK);
	}
	kprintf("CDREAD %lu %lu %lu sum=0x%08x\n", v[0], v[1], v[2], h);
}

/* WRITE(10) of one block, with the data that is already there. */
void
cmd_cdwrite(const char *arg)
{
	struct scsires res;
	struct vdev *vd;
	uint64_t v[2];
	uint8_t cdb[10];

	if ((vd = cd_args("CDWRITE", arg, v, 2)) == NULL)
		return;
	poison(iobuf, CDBLK);
	cdb_rw10(cdb, 0x28, v[1], 1);
	if (scsi_cmd(vd, cdb, 10, iobuf, CDBLK, DIR_IN, &res) != 0) {
		kprintf("CDWRITE %lu FAIL %s\n", v[0], xerr);
		return;
	}
	if (scsi_bad("CDWRITE", v[0], &res))
		return;
	cdb_rw10(cdb, 0x2a, v[1], 1);
	if (scsi_cmd(vd, cdb, 10, iobuf, CDBLK, DIR_OUT, &res) != 0) {
		kprintf("CDWRITE %lu FAIL %s\n", v[0], xerr);
		return;
	}
	if (res.response != VSCSI_S_OK)
		kprintf("CDWRITE %lu FAIL response=%u\n", v[0], res.response);
	else if (res.status == SCSI_GOOD)
		kprintf("CDWRITE %lu OK\n", v[0]);
	else if (res.status == SCSI_CHECK)
		kprintf("CDWRITE %lu sense=%x/%02x/%02x\n", v[0], res.key,
		    res.asc, res.ascq);
	else
		kprintf("CDWRITE %lu FAIL status=0x%x\n", v[0], res.status);
}

/* ---- virtio-rng ---- */

/* Fill len bytes; the device may return fewer than asked each time. */
static int
rng_fill(struct vdev *vd, uint8_t *buf, uint32_t len)
{
	struct vseg s;
	uint32_t got = 0, n;
	uint16_t head;
	int tries;

	for (tries = 0; got < len && tries < 64; tries++) {
		vq_begin(vd);
		s = (struct vseg){ (uint64_t)buf + got, len - got, 1 };
		if (vq_post(vd, &s, 1, 0) < 0) {
			xerr = "queue too small";
			return -1;
		}
		vq_kick(vd);
		if (vq_wait(vd, &head, &n, ticks + VIO_TIMEOUT) != 0) {
			xerr = vq_failure(vd);
			return -1;
		}
		if (n > len - got) {
			xerr = "used length larger than the buffer";
			return -1;
		}
		got += n;
	}
	if (got < len) {
		xerr = "device returns no data";
		return -1;
	}
	return 0;
}

void
cmd_rng(const char *arg)
{
	struct vdev *vd;
	uint64_t v[2];
	uint32_t seen[8] = { 0 };
	int i, distinct = 0;

	if (numargs(arg, v, 2) != 0 || v[1] < 1 || v[1] > 4096) {
		kprintf("RNG FAIL usage\n");
		return;
	}
	if ((vd = dev_up("RNG", v[0], VIRTIO_ID_RNG, 0, 0)) == NULL)
		return;
	poison(iobuf, 8192);
	if (rng_fill(vd, iobuf, v[1]) != 0 ||
	    rng_fill(vd, iobuf + 4096, v[1]) != 0) {
		kprintf("RNG %lu FAIL %s\n", v[0], xerr);
		return;
	}
	/* a chance of 2^-64 that two good reads of 8 bytes agree */
	if (v[1] >= 8 && memcmp(iobuf, iobuf + 4096, v[1]) == 0) {
		kprintf("RNG %lu FAIL two reads returned the same bytes\n",
		    v[0]);
		return;
	}
	for (i = 0; i < (int)v[1]; i++) {
		if (!(seen[iobuf[i] >> 5] & 1U << (iobuf[i] & 31)))
			distinct++;
		seen[iobuf[i] >> 5] |= 1U << (iobuf[i] & 31);
	}
	kprintf("RNG %lu %lu OK distinct=%d\n", v[0], v[1], distinct);
}

/*
 * "viobreak N COUNT": COUNT times, set the entropy device N up, make its
 * available index run ahead of the ring (a protocol error), kick it,
 * wait (100 ms at most) for DEVICE_NEEDS_RESET, and reset it: what a
 * hostile guest does to flood the host's log.
 */
void
cmd_viobreak(const char *arg)
{
	struct vdev *vd;
	uint64_t v[2], i, seen = 0, deadline;

	if (numargs(arg, v, 2) != 0 || v[1] < 1 || v[1] > 100000) {
		kprintf("VIOBREAK FAIL usage\n");
		return;
	}
	for (i = 0; i < v[1]; i++) {
		if ((vd = dev_up("VIOBREAK", v[0], VIRTIO_ID_RNG, 0, 0)) ==
		    NULL)
			return;
		*(volatile uint16_t *)&vd->vq.avail->idx =
		    vd->vq.avail_idx + vd->vq.size + 1;
		vq_notify(vd, &vd->vq);
		deadline = ticks + 10;	/* PIT ticks: 100 ms */
		while (!vio_needs_reset(vd) && ticks < deadline)
			__asm__ volatile("pause");
		if (vio_needs_reset(vd))
			seen++;
		vio_reset(vd);
	}
	kprintf("VIOBREAK %lu %lu needsreset=%lu\n", v[0], v[1], seen);
}

/* ---- MSI-X ---- */

/*
 * "msix:1" or "msix:0": every virtio device set up from now on (each is
 * reset here, and set up again by its next command) takes its
 * interrupts as MSI-X messages, or on its INTx line.
 */
void
cmd_msix(const char *arg)
{
	struct vdev *vd;
	uint64_t on;
	int i;

	if (numargs(arg, &on, 1) != 0 || on > 1) {
		kprintf("MSIX FAIL usage\n");
		return;
	}
	vio_msix_wanted = (int)on;
	for (i = 0; (vd = vio_nth(i)) != NULL; i++)
		if (vd->state == VS_READY)
			vio_reset(vd);
	kprintf("MSIX %s\n", on ? "on" : "off");
}

/*
 * "blkmsix:N": the masking rules on disk N's queue vector.  Masked, a
 * completed request must not interrupt and must set the vector's
 * pending bit; unmasked, the held message must arrive and the bit clear.
 * Then the message's data is changed to VEC_MSI2: the next completion
 * must arrive there and only there (a hypervisor that caches the
 * message, as an irqfd route does, must notice the change).
 */
void
cmd_blkmsix(const char *arg)
{
	volatile uint32_t *e, *pba;
	struct vdev *vd;
	uint64_t n, deadline;
	uint32_t before, len, m2;
	uint16_t head;
	int pending, delivered, cleared, moved;

	if (numargs(arg, &n, 1) != 0) {
		kprintf("BLKMSIX FAIL usage\n");
		return;
	}
	if ((vd = blkdev("BLKMSIX", n)) == NULL)
		return;
	if (!vd->msix) {
		kprintf("BLKMSIX %lu FAIL MSI-X is off\n", n);
		return;
	}
	e = &vio_msix_entry(vd, 1)[3];	/* the queue's vector control */
	pba = (volatile uint32_t *)vd->msix_pba;

	*e |= 1;			/* mask the queue's vector */
	vq_begin(vd);
	before = vd->intrs;
	if (blk_post(vd, 0, VBLK_T_IN, 0, iobuf, SECTOR, 0) < 0) {
		kprintf("BLKMSIX %lu FAIL post\n", n);
		return;
	}
	vq_kick(vd);
	deadline = ticks + VIO_TIMEOUT;
	while (vq_outstanding(vd) != 0 && ticks < deadline)
		sti_hlt();
	/* a little longer: a message sent in spite of the mask shows */
	for (deadline = ticks + 5; ticks < deadline; )
		sti_hlt();
	if (vq_outstanding(vd) != 0) {
		*e &= ~1U;
		kprintf("BLKMSIX %lu FAIL no completion\n", n);
		vio_reset(vd);
		return;
	}
	pending = (*pba & 2) != 0 && vd->intrs == before;
	*e &= ~1U;			/* unmask: the held message comes */
	for (deadline = ticks + VIO_TIMEOUT; vd->intrs == before &&
	    ticks < deadline; )
		sti_hlt();
	delivered = vd->intrs != before;
	cleared = (*pba & 2) == 0;
	if (vq_wait(vd, &head, &len, ticks + VIO_TIMEOUT) != 0 ||
	    blkstat[0] != 0) {
		kprintf("BLKMSIX %lu FAIL request\n", n);
		vio_reset(vd);
		return;
	}

	/* the same vector, another message: masked while it changes */
	*e |= 1;
	vio_msix_entry(vd, 1)[2] = VEC_MSI2;
	*e &= ~1U;
	vq_begin(vd);
	before = vd->intrs;
	m2 = vio_msi2;
	if (blk_post(vd, 0, VBLK_T_IN, 0, iobuf, SECTOR, 0) < 0) {
		kprintf("BLKMSIX %lu FAIL post\n", n);
		return;
	}
	vq_kick(vd);
	for (deadline = ticks + VIO_TIMEOUT; vio_msi2 == m2 &&
	    ticks < deadline; )
		sti_hlt();
	for (deadline = ticks + 5; ticks < deadline; )
		sti_hlt();
	moved = vio_msi2 == m2 + 1 && vd->intrs == before &&
	    vq_outstanding(vd) == 0;
	*e |= 1;
	vio_msix_entry(vd, 1)[2] = VEC_MSI;
	*e &= ~1U;
	vd->intrs++;			/* the used ring is to be read */
	if (vq_wait(vd, &head, &len, ticks + VIO_TIMEOUT) != 0 ||
	    blkstat[0] != 0) {
		kprintf("BLKMSIX %lu FAIL request\n", n);
		vio_reset(vd);
		return;
	}
	kprintf("BLKMSIX %lu %s pending=%d delivered=%d cleared=%d "
	    "moved=%d\n", n, pending && delivered && cleared && moved ?
	    "OK" : "FAIL", pending, delivered, cleared, moved);
}
