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
 * virtio-blk.  One thread per disk takes requests off the ring as the
 * guest kicks; a few workers do the I/O (so that several requests are in
 * flight on the host too) and give each request back as it completes.
 * The last request of a batch, when no other waits for a worker, the
 * ring thread does itself: one thread wakeup less for a guest that has
 * one request in flight at a time.  No vCPU ever waits for the disk.
 */

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "disk.h"
#include "log.h"
#include "virtio.h"

#define VIOBLK_QSIZE		256
#define VIOBLK_SEG_MAX		(VIOBLK_QSIZE - 2)
#define VIOBLK_WORKERS		4
#define VIOBLK_SECTOR		512
#define VIOBLK_ID_LEN		20
#define VIOBLK_MAX_DWZ_SEGS	32
#define VIOBLK_MAX_DWZ_SECTORS	(1U << 22)	/* 2 GiB per request */

/* features */
#define VIRTIO_BLK_F_SEG_MAX	(1ULL << 2)
#define VIRTIO_BLK_F_RO		(1ULL << 5)
#define VIRTIO_BLK_F_BLK_SIZE	(1ULL << 6)
#define VIRTIO_BLK_F_FLUSH	(1ULL << 9)
#define VIRTIO_BLK_F_DISCARD	(1ULL << 13)
#define VIRTIO_BLK_F_WRITE_ZEROES (1ULL << 14)

/* requests */
#define VIRTIO_BLK_T_IN		0
#define VIRTIO_BLK_T_OUT	1
#define VIRTIO_BLK_T_FLUSH	4
#define VIRTIO_BLK_T_GET_ID	8
#define VIRTIO_BLK_T_DISCARD	11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK		0
#define VIRTIO_BLK_S_IOERR	1
#define VIRTIO_BLK_S_UNSUPP	2
#define VIRTIO_BLK_WZ_UNMAP	1

/* device configuration */
#define CFG_CAPACITY		0
#define CFG_SEG_MAX		12
#define CFG_BLK_SIZE		20
#define CFG_MAX_DISCARD_SECT	36
#define CFG_MAX_DISCARD_SEG	40
#define CFG_DISCARD_ALIGN	44
#define CFG_MAX_WZ_SECT		48
#define CFG_MAX_WZ_SEG		52
#define CFG_WZ_MAY_UNMAP	56
#define CFG_LEN			60

struct vioblk {
	struct virtio_dev	 dev;
	char			 name[16];
	const char		*path;		/* the image, for the log */
	struct disk		*disk;
	uint64_t		 sectors;
	int			 ro;
	int			 caps;
	char			 id[VIOBLK_ID_LEN];

	/* requests taken off the ring, waiting for a worker */
	pthread_mutex_t		 mtx;
	pthread_cond_t		 work;		/* for the workers */
	pthread_cond_t		 room;		/* for the poller */
	struct virtio_req	*pool;		/* VIOBLK_QSIZE of them */
	unsigned int		 fifo[VIOBLK_QSIZE];	/* pending, in order */
	unsigned int		 head;
	unsigned int		 count;
	unsigned int		 freelist[VIOBLK_QSIZE];
	unsigned int		 nfree;
};

static inline void
put_le32(uint8_t *p, uint32_t v)
{
	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static inline void
put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, v);
	put_le32(p + 4, v >> 32);
}

static inline uint32_t
get_le32(const uint8_t *p)
{
	return (p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24);
}

static inline uint64_t
get_le64(const uint8_t *p)
{
	return (get_le32(p) | (uint64_t)get_le32(p + 4) << 32);
}

/* do the sectors [sector, sector + len/512) lie on the disk? */
static int
vioblk_range(struct vioblk *sc, uint64_t sector, uint64_t len)
{
	if (len % VIOBLK_SECTOR != 0)
		return (0);
	return (sector <= sc->sectors &&
	    len / VIOBLK_SECTOR <= sc->sectors - sector);
}

static uint8_t
vioblk_dwz(struct vioblk *sc, struct virtio_req *r, int type)
{
	uint8_t		 seg[16];
	uint64_t	 sector;
	uint32_t	 nsect, flags;
	size_t		 off, end = r->rdlen;
	int		 ret, nseg = 0;

	if (sc->ro)
		return (VIRTIO_BLK_S_IOERR);
	if (type == VIRTIO_BLK_T_DISCARD && !(sc->caps & DISK_CAN_DISCARD))
		return (VIRTIO_BLK_S_UNSUPP);
	if ((end - 16) % 16 != 0 || end == 16)
		return (VIRTIO_BLK_S_UNSUPP);
	for (off = 16; off < end; off += 16) {
		if (++nseg > VIOBLK_MAX_DWZ_SEGS)
			return (VIRTIO_BLK_S_UNSUPP);
		(void)iov_to_buf(r->iov, r->nrd, off, seg, sizeof(seg));
		sector = get_le64(seg);
		nsect = get_le32(seg + 8);
		flags = get_le32(seg + 12);
		if (nsect > VIOBLK_MAX_DWZ_SECTORS ||
		    (flags & ~VIRTIO_BLK_WZ_UNMAP) != 0 ||
		    (type == VIRTIO_BLK_T_DISCARD && flags != 0))
			return (VIRTIO_BLK_S_UNSUPP);
		if (!vioblk_range(sc, sector, (uint64_t)nsect * VIOBLK_SECTOR))
			return (VIRTIO_BLK_S_IOERR);
		if (type == VIRTIO_BLK_T_DISCARD)
			ret = disk_discard(sc->disk, sector * VIOBLK_SECTOR,
			    (uint64_t)nsect * VIOBLK_SECTOR);
		else
			ret = disk_write_zeroes(sc->disk,
			    sector * VIOBLK_SECTOR,
			    (uint64_t)nsect * VIOBLK_SECTOR,
			    flags & VIRTIO_BLK_WZ_UNMAP);
		if (ret == -EOPNOTSUPP)
			return (VIRTIO_BLK_S_UNSUPP);
		if (ret != 0)
			return (VIRTIO_BLK_S_IOERR);
	}
	return (VIRTIO_BLK_S_OK);
}

/*
 * A request the image could not carry out (full file system, I/O
 * error): the guest gets VIRTIO_BLK_S_IOERR, the log a line it cannot
 * flood.
 */
static void
vioblk_failed(struct vioblk *sc, const char *what, uint64_t sector, int ret)
{
	vm_guest_warnx(sc->dev.vm, "%s: disk %s: %s at sector %llu: %s",
	    sc->name, sc->path, what, (unsigned long long)sector,
	    strerror(-ret));
}

/* Carry out one request; returns the bytes written into its buffers. */
static uint32_t
vioblk_do(struct vioblk *sc, struct virtio_req *r)
{
	struct iovec	 data[VIRTIO_MAX_SEGS];
	uint8_t		 hdr[16], *status;
	uint64_t	 sector;
	uint32_t	 type, written = 0;
	size_t		 len;
	int		 n, ret;
	uint8_t		 st;

	/* a header to read, and a status byte to write, at the least */
	if (r->rdlen < sizeof(hdr) || r->wrlen < 1) {
		log_debug("%s: malformed request (%zu/%zu bytes)", sc->name,
		    r->rdlen, r->wrlen);
		return (0);
	}
	status = (uint8_t *)r->iov[r->nrd + r->nwr - 1].iov_base +
	    r->iov[r->nrd + r->nwr - 1].iov_len - 1;
	(void)iov_to_buf(r->iov, r->nrd, 0, hdr, sizeof(hdr));
	type = get_le32(hdr);
	sector = get_le64(hdr + 8);

	switch (type) {
	case VIRTIO_BLK_T_IN:
		len = r->wrlen - 1;
		if (!vioblk_range(sc, sector, len)) {
			st = VIRTIO_BLK_S_IOERR;
			break;
		}
		n = iov_slice(r->iov + r->nrd, r->nwr, 0, len, data,
		    VIRTIO_MAX_SEGS);
		ret = disk_readv(sc->disk, data, n, sector * VIOBLK_SECTOR);
		st = ret == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
		if (ret == 0)
			written = len;
		else
			vioblk_failed(sc, "read", sector, ret);
		break;
	case VIRTIO_BLK_T_OUT:
		len = r->rdlen - sizeof(hdr);
		if (sc->ro || !vioblk_range(sc, sector, len)) {
			st = VIRTIO_BLK_S_IOERR;
			break;
		}
		n = iov_slice(r->iov, r->nrd, sizeof(hdr), len, data,
		    VIRTIO_MAX_SEGS);
		ret = disk_writev(sc->disk, data, n, sector * VIOBLK_SECTOR);
		st = ret == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
		if (ret != 0)
			vioblk_failed(sc, "write", sector, ret);
		break;
	case VIRTIO_BLK_T_FLUSH:
		ret = disk_flush(sc->disk);
		st = ret == 0 ? VIRTIO_BLK_S_OK : VIRTIO_BLK_S_IOERR;
		if (ret != 0)
			vioblk_failed(sc, "flush", 0, ret);
		break;
	case VIRTIO_BLK_T_GET_ID:
		len = MINIMUM(r->wrlen - 1, sizeof(sc->id));
		written = buf_to_iov(sc->id, len, r->iov + r->nrd, r->nwr,
		    0);
		st = VIRTIO_BLK_S_OK;
		break;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		st = vioblk_dwz(sc, r, type);
		break;
	default:
		st = VIRTIO_BLK_S_UNSUPP;
		break;
	}
	*status = st;
	return (written + 1);
}

/* Do request r of pool slot slot, give it back, free the slot. */
static void
vioblk_complete(struct vioblk *sc, struct virtio_vq *vq, unsigned int slot)
{
	struct virtio_req	*r = &sc->pool[slot];

	vq_push(vq, r, vioblk_do(sc, r));
	vq_interrupt(vq);
	pthread_mutex_lock(&sc->mtx);
	sc->freelist[sc->nfree++] = slot;
	pthread_cond_signal(&sc->room);
	pthread_mutex_unlock(&sc->mtx);
}

static void *
vioblk_worker(void *arg)
{
	struct vioblk		*sc = arg;
	struct virtio_vq	*vq = &sc->dev.vq[0];
	unsigned int		 slot;

	for (;;) {
		pthread_mutex_lock(&sc->mtx);
		while (sc->count == 0)
			pthread_cond_wait(&sc->work, &sc->mtx);
		slot = sc->fifo[sc->head];
		sc->head = (sc->head + 1) % VIOBLK_QSIZE;
		sc->count--;
		pthread_mutex_unlock(&sc->mtx);
		vioblk_complete(sc, vq, slot);
	}
	return (NULL);
}

/* Take what the guest made available, as long as the pool has room. */
static void *
vioblk_poller(void *arg)
{
	struct vioblk		*sc = arg;
	struct virtio_vq	*vq = &sc->dev.vq[0];
	struct virtio_req	*r;
	unsigned int		 slot;
	int			 got;

	for (;;) {
		vq_wait_kick(vq);
		do {
			vq_notify_disable(vq);
			for (;;) {
				pthread_mutex_lock(&sc->mtx);
				while (sc->nfree == 0)
					pthread_cond_wait(&sc->room, &sc->mtx);
				slot = sc->freelist[--sc->nfree];
				pthread_mutex_unlock(&sc->mtx);
				r = &sc->pool[slot];
				got = vq_pop(vq, r);
				pthread_mutex_lock(&sc->mtx);
				if (got != 1) {
					sc->freelist[sc->nfree++] = slot;
					pthread_mutex_unlock(&sc->mtx);
					break;
				}
				if (sc->count == 0 && !vq_has_avail(vq)) {
					/* nothing behind it: no handoff */
					pthread_mutex_unlock(&sc->mtx);
					vioblk_complete(sc, vq, slot);
					continue;
				}
				sc->fifo[(sc->head + sc->count) % VIOBLK_QSIZE] =
				    slot;
				sc->count++;
				pthread_cond_signal(&sc->work);
				pthread_mutex_unlock(&sc->mtx);
			}
		} while (got == 0 && vq_notify_enable(vq));
	}
	return (NULL);
}

static const struct virtio_ops vioblk_ops = {
	.cfg_write = NULL,	/* nothing in it is writable */
};

/*
 * The serial number the guest reads (GET_ID): the image's file name,
 * so /dev/disk/by-id says which image a disk is.
 */
static void
vioblk_set_id(struct vioblk *sc, const char *path)
{
	const char	*base;
	size_t		 i;

	if ((base = strrchr(path, '/')) != NULL)
		base++;
	else
		base = path;
	memset(sc->id, 0, sizeof(sc->id));
	for (i = 0; i < sizeof(sc->id) && base[i] != '\0'; i++)
		sc->id[i] = (base[i] > ' ' && base[i] < 0x7f) ? base[i] : '_';
}

/*
 * Disk idx of the VM from its descriptors (the top image, then its
 * backing chain).  On success the device owns them; returns its PCI
 * device number, or -1 (errno EINVAL: the image is unusable).
 */
int
vioblk_init(struct vm *vm, unsigned int idx, int *fds, int nfds)
{
	struct vmop_create_params	*vmc = &vm->vm_params;
	struct virtio_devinfo		 di;
	struct vioblk			*sc;
	pthread_t			 t;
	char				 err[DISK_ERRLEN];
	uint8_t				*cfg;
	uint64_t			 features;
	int				 flags, i, ret;

	if ((sc = calloc(1, sizeof(*sc))) == NULL ||
	    (sc->pool = calloc(VIOBLK_QSIZE, sizeof(*sc->pool))) == NULL)
		return (-1);
	(void)snprintf(sc->name, sizeof(sc->name), "vioblk%u", idx);
	if ((flags = fcntl(fds[0], F_GETFL)) == -1)
		return (-1);
	sc->ro = (flags & O_ACCMODE) == O_RDONLY;
	if ((sc->disk = disk_open(vmc->vmc_disktypes[idx], fds, nfds, sc->ro,
	    err, sizeof(err))) == NULL) {
		log_warnx("vm %s: disk %s: %s", vm->vm_name,
		    vmc->vmc_disks[idx], err);
		errno = EINVAL;
		return (-1);
	}
	vm->vm_disks[vm->vm_ndisks++] = sc->disk;
	sc->caps = disk_caps(sc->disk);
	sc->sectors = disk_size(sc->disk) / VIOBLK_SECTOR;
	vioblk_set_id(sc, vmc->vmc_disks[idx]);
	sc->path = vmc->vmc_disks[idx];
	pthread_mutex_init(&sc->mtx, NULL);
	pthread_cond_init(&sc->work, NULL);
	pthread_cond_init(&sc->room, NULL);
	for (i = 0; i < VIOBLK_QSIZE; i++)
		sc->freelist[i] = i;
	sc->nfree = VIOBLK_QSIZE;

	features = VIRTIO_BLK_F_SEG_MAX | VIRTIO_BLK_F_BLK_SIZE |
	    VIRTIO_BLK_F_FLUSH | VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX;
	if (sc->ro)
		features |= VIRTIO_BLK_F_RO;
	else {
		if (sc->caps & DISK_CAN_DISCARD)
			features |= VIRTIO_BLK_F_DISCARD;
		if (sc->caps & DISK_CAN_WRITE_ZEROES)
			features |= VIRTIO_BLK_F_WRITE_ZEROES;
	}
	memset(&di, 0, sizeof(di));
	di.name = sc->name;
	di.type = VIRTIO_ID_BLOCK;
	di.class = 0x01;		/* mass storage */
	di.subclass = 0x00;		/* SCSI, as others present it */
	di.features = features;
	di.nqueues = 1;
	di.qsize = VIOBLK_QSIZE;
	di.cfglen = CFG_LEN;
	di.ops = &vioblk_ops;
	di.softc = sc;
	if (virtio_dev_init(vm, &sc->dev, &di) == -1)
		return (-1);

	cfg = sc->dev.cfg;
	put_le64(cfg + CFG_CAPACITY, sc->sectors);
	put_le32(cfg + CFG_SEG_MAX, VIOBLK_SEG_MAX);
	put_le32(cfg + CFG_BLK_SIZE, VIOBLK_SECTOR);
	put_le32(cfg + CFG_MAX_DISCARD_SECT, VIOBLK_MAX_DWZ_SECTORS);
	put_le32(cfg + CFG_MAX_DISCARD_SEG, VIOBLK_MAX_DWZ_SEGS);
	put_le32(cfg + CFG_DISCARD_ALIGN, 1);
	put_le32(cfg + CFG_MAX_WZ_SECT, VIOBLK_MAX_DWZ_SECTORS);
	put_le32(cfg + CFG_MAX_WZ_SEG, VIOBLK_MAX_DWZ_SEGS);
	cfg[CFG_WZ_MAY_UNMAP] = (sc->caps & DISK_CAN_DISCARD) ? 1 : 0;

	if ((ret = pthread_create(&t, NULL, vioblk_poller, sc)) != 0)
		goto fail;
	for (i = 0; i < VIOBLK_WORKERS; i++)
		if ((ret = pthread_create(&t, NULL, vioblk_worker, sc)) != 0)
			goto fail;
	log_debug("vm %s: %s: %s, %llu sectors%s", vm->vm_name, sc->name,
	    vmc->vmc_disks[idx], (unsigned long long)sc->sectors,
	    sc->ro ? ", read-only" : "");
	return (sc->dev.pcidev);
 fail:
	errno = ret;
	return (-1);
}
