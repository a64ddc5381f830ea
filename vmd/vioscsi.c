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
 * virtio-scsi with one read-only MMC CD-ROM (target 0, LUN 0, 2048-byte
 * blocks) backed by an ISO image, as upstream's vioscsi: enough of SPC
 * and MMC for SeaBIOS to boot from it and for Linux's sr driver to mount
 * it.  One thread serves the three queues.
 */

#include <sys/types.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "disk.h"
#include "log.h"
#include "virtio.h"

#define VIOSCSI_QSIZE		128
#define VIOSCSI_SEG_MAX		(VIOSCSI_QSIZE - 2)
#define VIOSCSI_BLOCK		2048
#define VIOSCSI_MAX_XFER	0xffff		/* blocks per command */
#define VIOSCSI_SENSE_SIZE	96
#define VIOSCSI_CDB_SIZE	32

#define Q_CONTROL		0
#define Q_EVENT			1
#define Q_REQUEST		2

/* virtio-scsi responses */
#define VIRTIO_SCSI_S_OK	0
#define VIRTIO_SCSI_S_BAD_TARGET 3

/* device configuration */
#define CFG_NUM_QUEUES		0
#define CFG_SEG_MAX		4
#define CFG_MAX_SECTORS		8
#define CFG_CMD_PER_LUN		12
#define CFG_EVENT_INFO_SIZE	16
#define CFG_SENSE_SIZE		20
#define CFG_CDB_SIZE		24
#define CFG_MAX_CHANNEL		28
#define CFG_MAX_TARGET		30
#define CFG_MAX_LUN		32
#define CFG_LEN			36

/* SCSI */
#define SCSI_GOOD		0x00
#define SCSI_CHECK		0x02
#define SKEY_NONE		0x0
#define SKEY_NOT_READY		0x2
#define SKEY_MEDIUM_ERROR	0x3
#define SKEY_ILLEGAL		0x5
#define SKEY_DATA_PROTECT	0x7
#define ASC_INVALID_OPCODE	0x20
#define ASC_LBA_RANGE		0x21
#define ASC_INVALID_FIELD	0x24
#define ASC_WRITE_PROTECTED	0x27
#define ASC_READ_ERROR		0x11

#define CMD_TEST_UNIT_READY	0x00
#define CMD_REQUEST_SENSE	0x03
#define CMD_INQUIRY		0x12
#define CMD_MODE_SENSE_6	0x1a
#define CMD_START_STOP		0x1b
#define CMD_PREVENT_ALLOW	0x1e
#define CMD_READ_CAPACITY_10	0x25
#define CMD_READ_10		0x28
#define CMD_WRITE_10		0x2a
#define CMD_VERIFY_10		0x2f
#define CMD_SYNC_CACHE_10	0x35
#define CMD_READ_TOC		0x43
#define CMD_GET_CONFIGURATION	0x46
#define CMD_GET_EVENT_STATUS	0x4a
#define CMD_READ_DISC_INFO	0x51
#define CMD_MODE_SENSE_10	0x5a
#define CMD_READ_16		0x88
#define CMD_WRITE_16		0x8a
#define CMD_SERVICE_ACTION_IN	0x9e
#define CMD_REPORT_LUNS		0xa0
#define CMD_READ_12		0xa8
#define CMD_WRITE_12		0xaa
#define CMD_SET_CD_SPEED	0xbb
#define CMD_MECHANISM_STATUS	0xbd
#define SAI_READ_CAPACITY_16	0x10

#define PERIPH_CDROM		0x05
#define MMC_PROFILE_CDROM	0x0008

struct vioscsi {
	struct virtio_dev	 dev;
	struct disk		*disk;
	uint64_t		 blocks;
	struct virtio_req	 req;
	/* the last CHECK CONDITION, for REQUEST SENSE */
	uint8_t			 skey, asc, ascq;
};

/* what one command produced */
struct scsi_res {
	uint8_t			 status;
	uint8_t			 skey, asc, ascq;
	uint8_t			 buf[512];	/* small answers */
	size_t			 len;
	size_t			 xfer;		/* data read straight in */
};

static inline void
put_be16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static inline void
put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, v >> 16);
	put_be16(p + 2, v);
}

static inline uint32_t
get_be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3]);
}

static inline uint16_t
get_be16(const uint8_t *p)
{
	return (p[0] << 8 | p[1]);
}

static inline uint32_t
cfg32(struct vioscsi *sc, unsigned int off)
{
	const uint8_t	*p = sc->dev.cfg + off;

	return (p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24);
}

static void
put_cfg32(struct vioscsi *sc, unsigned int off, uint32_t v)
{
	uint8_t	*p = sc->dev.cfg + off;

	p[0] = v;
	p[1] = v >> 8;
	p[2] = v >> 16;
	p[3] = v >> 24;
}

static void
scsi_fail(struct scsi_res *res, uint8_t key, uint8_t asc, uint8_t ascq)
{
	res->status = SCSI_CHECK;
	res->skey = key;
	res->asc = asc;
	res->ascq = ascq;
	res->len = 0;
}

static void
scsi_inquiry(struct vioscsi *sc, const uint8_t *cdb, struct scsi_res *res)
{
	uint8_t	*b = res->buf;

	(void)sc;
	memset(b, 0, 64);
	if (cdb[1] & 0x01) {
		/* vital product data: the list of pages, and that is all */
		if (cdb[2] != 0x00) {
			scsi_fail(res, SKEY_ILLEGAL, ASC_INVALID_FIELD, 0);
			return;
		}
		b[0] = PERIPH_CDROM;
		b[3] = 1;
		b[4] = 0x00;
		res->len = 5;
		return;
	}
	if (cdb[2] != 0) {
		scsi_fail(res, SKEY_ILLEGAL, ASC_INVALID_FIELD, 0);
		return;
	}
	b[0] = PERIPH_CDROM;
	b[1] = 0x80;			/* removable */
	b[2] = 0x05;			/* SPC-3 */
	b[3] = 0x02;			/* response data format */
	b[4] = 36 - 5;
	memcpy(b + 8, "OpenBSD ", 8);
	memcpy(b + 16, "VMM CD-ROM      ", 16);
	memcpy(b + 32, "001 ", 4);
	res->len = 36;
}

/* MODE SENSE: only the CD capabilities page (0x2a) exists */
static void
scsi_mode_sense(const uint8_t *cdb, struct scsi_res *res)
{
	uint8_t		*b = res->buf, *pg;
	unsigned int	 page = cdb[2] & 0x3f, hdr;
	int		 ten = cdb[0] == CMD_MODE_SENSE_10;

	if (page != 0x2a && page != 0x3f) {
		scsi_fail(res, SKEY_ILLEGAL, ASC_INVALID_FIELD, 0);
		return;
	}
	hdr = ten ? 8 : 4;
	memset(b, 0, hdr + 28);
	pg = b + hdr;
	pg[0] = 0x2a;
	pg[1] = 26;
	pg[2] = 0x01;			/* reads CD-R */
	pg[4] = 0x71;			/* audio play, mode 2 forms, multi */
	pg[6] = 0x29;			/* lock, eject, tray */
	put_be16(pg + 8, 706 * 8);	/* max speed, kB/s */
	put_be16(pg + 12, 2048);	/* buffer, KiB */
	put_be16(pg + 14, 706 * 8);	/* current speed */
	if (ten)
		put_be16(b, hdr + 28 - 2);
	else
		b[0] = hdr + 28 - 1;
	res->len = hdr + 28;
}

static void
scsi_read_toc(struct vioscsi *sc, const uint8_t *cdb, struct scsi_res *res)
{
	uint8_t		*b = res->buf;
	unsigned int	 format = cdb[2] & 0x0f, msf = cdb[1] & 0x02;
	uint64_t	 lead = sc->blocks + (msf ? 150 : 0);

	memset(b, 0, 20);
	if (format == 1) {
		/* session information: one session, track 1 at 0 */
		put_be16(b, 10);
		b[2] = b[3] = 1;
		b[5] = 0x14;
		b[6] = 1;
		if (msf)
			b[10] = 2;	/* 00:02:00 */
		res->len = 12;
		return;
	}
	if (format != 0 || (cdb[6] > 1 && cdb[6] != 0xaa)) {
		scsi_fail(res, SKEY_ILLEGAL, ASC_INVALID_FIELD, 0);
		return;
	}
	put_be16(b, 18);
	b[2] = 1;			/* first track */
	b[3] = 1;			/* last track */
	b[5] = 0x14;			/* data track, ADR 1 */
	b[6] = 1;
	if (msf)
		b[10] = 2;
	b[13] = 0x14;
	b[14] = 0xaa;			/* the lead-out */
	if (msf) {
		b[17] = lead / (75 * 60);
		b[18] = (lead / 75) % 60;
		b[19] = lead % 75;
	} else
		put_be32(b + 16, sc->blocks);
	res->len = 20;
}

/* READ(10/12/16) straight into the guest's buffers */
static void
scsi_read(struct vioscsi *sc, const uint8_t *cdb, struct virtio_req *r,
    size_t skip, size_t room, struct scsi_res *res)
{
	struct iovec	 data[VIRTIO_MAX_SEGS];
	uint64_t	 lba, n;
	size_t		 len;
	int		 niov;

	switch (cdb[0]) {
	case CMD_READ_10:
		lba = get_be32(cdb + 2);
		n = get_be16(cdb + 7);
		break;
	case CMD_READ_12:
		lba = get_be32(cdb + 2);
		n = get_be32(cdb + 6);
		break;
	default:
		lba = (uint64_t)get_be32(cdb + 2) << 32 | get_be32(cdb + 6);
		n = get_be32(cdb + 10);
		break;
	}
	if (lba > sc->blocks || n > sc->blocks - lba) {
		scsi_fail(res, SKEY_ILLEGAL, ASC_LBA_RANGE, 0);
		return;
	}
	if (n > VIOSCSI_MAX_XFER || n * VIOSCSI_BLOCK > room) {
		scsi_fail(res, SKEY_ILLEGAL, ASC_INVALID_FIELD, 0);
		return;
	}
	len = n * VIOSCSI_BLOCK;
	if (len == 0)
		return;
	/* the data-in buffers follow the response header */
	niov = iov_slice(r->iov + r->nrd, r->nwr, skip, len, data,
	    VIRTIO_MAX_SEGS);
	if (disk_readv(sc->disk, data, niov, lba * VIOSCSI_BLOCK) != 0) {
		scsi_fail(res, SKEY_MEDIUM_ERROR, ASC_READ_ERROR, 0);
		return;
	}
	res->xfer = n * VIOSCSI_BLOCK;
}

static void
scsi_command(struct vioscsi *sc, const uint8_t *cdb, struct virtio_req *r,
    size_t skip, size_t room, struct scsi_res *res)
{
	uint8_t		*b = res->buf;
	uint64_t	 last = sc->blocks ? sc->blocks - 1 : 0;

	switch (cdb[0]) {
	case CMD_TEST_UNIT_READY:
	case CMD_START_STOP:
	case CMD_PREVENT_ALLOW:
	case CMD_SYNC_CACHE_10:
	case CMD_SET_CD_SPEED:
	case CMD_VERIFY_10:
		break;
	case CMD_REQUEST_SENSE:
		memset(b, 0, 18);
		b[0] = 0x70;
		b[2] = sc->skey;
		b[7] = 10;
		b[12] = sc->asc;
		b[13] = sc->ascq;
		res->len = 18;
		sc->skey = sc->asc = sc->ascq = 0;
		break;
	case CMD_INQUIRY:
		scsi_inquiry(sc, cdb, res);
		break;
	case CMD_MODE_SENSE_6:
	case CMD_MODE_SENSE_10:
		scsi_mode_sense(cdb, res);
		break;
	case CMD_READ_CAPACITY_10:
		put_be32(b, last > 0xffffffffULL ? 0xffffffff : last);
		put_be32(b + 4, VIOSCSI_BLOCK);
		res->len = 8;
		break;
	case CMD_SERVICE_ACTION_IN:
		if ((cdb[1] & 0x1f) != SAI_READ_CAPACITY_16) {
			scsi_fail(res, SKEY_ILLEGAL, ASC_INVALID_OPCODE, 0);
			break;
		}
		memset(b, 0, 32);
		put_be32(b, last >> 32);
		put_be32(b + 4, last);
		put_be32(b + 8, VIOSCSI_BLOCK);
		res->len = 32;
		break;
	case CMD_READ_10:
	case CMD_READ_12:
	case CMD_READ_16:
		scsi_read(sc, cdb, r, skip, room, res);
		break;
	case CMD_WRITE_10:
	case CMD_WRITE_12:
	case CMD_WRITE_16:
		scsi_fail(res, SKEY_DATA_PROTECT, ASC_WRITE_PROTECTED, 0);
		break;
	case CMD_READ_TOC:
		scsi_read_toc(sc, cdb, res);
		break;
	case CMD_GET_CONFIGURATION:
		memset(b, 0, 8);
		put_be32(b, 4);
		put_be16(b + 6, MMC_PROFILE_CDROM);
		res->len = 8;
		break;
	case CMD_GET_EVENT_STATUS:
		if (!(cdb[1] & 0x01)) {
			/* only polled operation */
			scsi_fail(res, SKEY_ILLEGAL, ASC_INVALID_FIELD, 0);
			break;
		}
		memset(b, 0, 8);
		if (cdb[4] & 0x10) {
			put_be16(b, 6);
			b[2] = 0x04;		/* media class */
			b[3] = 0x10;
			b[5] = 0x02;		/* media present */
			res->len = 8;
		} else {
			put_be16(b, 2);
			b[2] = 0x80;		/* no event available */
			b[3] = 0x10;
			res->len = 4;
		}
		break;
	case CMD_READ_DISC_INFO:
		memset(b, 0, 34);
		put_be16(b, 32);
		b[2] = 0x0e;			/* complete, last session closed */
		b[3] = b[4] = b[5] = b[6] = 1;
		res->len = 34;
		break;
	case CMD_MECHANISM_STATUS:
		memset(b, 0, 8);
		res->len = 8;
		break;
	case CMD_REPORT_LUNS:
		memset(b, 0, 16);
		put_be32(b, 8);
		res->len = 16;
		break;
	default:
		log_debug("%s: unsupported SCSI command 0x%02x", sc->dev.name,
		    cdb[0]);
		scsi_fail(res, SKEY_ILLEGAL, ASC_INVALID_OPCODE, 0);
		break;
	}
}

/* the allocation length of a command's CDB, for the small answers */
static size_t
scsi_alloc_len(const uint8_t *cdb)
{
	switch (cdb[0]) {
	case CMD_REQUEST_SENSE:
	case CMD_INQUIRY:
	case CMD_MODE_SENSE_6:
		return (cdb[0] == CMD_INQUIRY ? get_be16(cdb + 3) : cdb[4]);
	case CMD_READ_TOC:
	case CMD_GET_CONFIGURATION:
	case CMD_GET_EVENT_STATUS:
	case CMD_READ_DISC_INFO:
	case CMD_MODE_SENSE_10:
		return (get_be16(cdb + 7));
	case CMD_MECHANISM_STATUS:
		return (get_be16(cdb + 8));
	case CMD_SERVICE_ACTION_IN:
	case CMD_REPORT_LUNS:
		return (get_be32(cdb + (cdb[0] == CMD_REPORT_LUNS ? 6 : 10)));
	}
	return (SIZE_MAX);
}

/* one request of the request queue; returns the bytes written */
static uint32_t
vioscsi_request(struct vioscsi *sc, struct virtio_req *r)
{
	uint8_t		 req[19 + VIOSCSI_CDB_SIZE], *cdb = req + 19;
	uint8_t		 resp[12 + VIOSCSI_SENSE_SIZE];
	struct scsi_res	 res;
	size_t		 cdbsz, sensesz, resplen, room, len;

	/* the driver may write them from a vCPU at any time */
	pthread_mutex_lock(&sc->dev.mtx);
	cdbsz = MINIMUM(cfg32(sc, CFG_CDB_SIZE), VIOSCSI_CDB_SIZE);
	sensesz = MINIMUM(cfg32(sc, CFG_SENSE_SIZE), VIOSCSI_SENSE_SIZE);
	pthread_mutex_unlock(&sc->dev.mtx);
	resplen = 12 + sensesz;
	if (r->rdlen < 19 + cdbsz || r->wrlen < resplen) {
		log_debug("%s: malformed request (%zu/%zu bytes)",
		    sc->dev.name, r->rdlen, r->wrlen);
		return (0);
	}
	memset(req, 0, sizeof(req));
	(void)iov_to_buf(r->iov, r->nrd, 0, req, 19 + cdbsz);
	room = r->wrlen - resplen;
	memset(resp, 0, sizeof(resp));
	memset(&res, 0, sizeof(res));

	/* lun: 1, target, then a flat LUN; only 0/0 is there */
	if (req[0] != 1 || req[1] != 0 || (get_be16(req + 2) & 0x3fff) != 0) {
		resp[11] = VIRTIO_SCSI_S_BAD_TARGET;
		put_be32(resp + 4, 0);
		(void)buf_to_iov(resp, resplen, r->iov + r->nrd, r->nwr, 0);
		return (resplen);
	}
	scsi_command(sc, cdb, r, resplen, room, &res);

	len = 0;
	if (res.status == SCSI_GOOD && res.len > 0) {
		len = MINIMUM(MINIMUM(res.len, scsi_alloc_len(cdb)), room);
		(void)buf_to_iov(res.buf, len, r->iov + r->nrd, r->nwr,
		    resplen);
	} else if (res.status == SCSI_GOOD)
		len = res.xfer;
	if (res.status == SCSI_CHECK) {
		sc->skey = res.skey;
		sc->asc = res.asc;
		sc->ascq = res.ascq;
		if (sensesz >= 18) {
			resp[12] = 0x70;
			resp[14] = res.skey;
			resp[19] = 10;
			resp[24] = res.asc;
			resp[25] = res.ascq;
			resp[0] = 18;		/* sense_len, le32 */
		}
	}
	/* sense_len, resid, status_qualifier, status, response */
	resp[4] = (room - len);
	resp[5] = (room - len) >> 8;
	resp[6] = (room - len) >> 16;
	resp[7] = (room - len) >> 24;
	resp[10] = res.status;
	resp[11] = VIRTIO_SCSI_S_OK;
	(void)buf_to_iov(resp, resplen, r->iov + r->nrd, r->nwr, 0);
	return (resplen + len);
}

/* task management and async notification: nothing to manage */
static uint32_t
vioscsi_control(struct virtio_req *r)
{
	uint8_t	zero[8];

	memset(zero, 0, sizeof(zero));
	return (buf_to_iov(zero, MINIMUM(r->wrlen, sizeof(zero)),
	    r->iov + r->nrd, r->nwr, 0));
}

static void *
vioscsi_thread(void *arg)
{
	struct vioscsi		*sc = arg;
	struct virtio_vq	*vq;
	struct pollfd		 pfd[3];
	unsigned int		 q;
	uint32_t		 len;
	int			 got;

	for (q = 0; q < 3; q++) {
		pfd[q].fd = sc->dev.vq[q].kickfd;
		pfd[q].events = POLLIN;
	}
	for (;;) {
		if (poll(pfd, 3, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("%s: poll", sc->dev.name);
		}
		for (q = 0; q < 3; q++) {
			if (!(pfd[q].revents & POLLIN))
				continue;
			vq = &sc->dev.vq[q];
			vq_kick_ack(vq);
			/* event buffers stay with us: we have no events */
			if (q == Q_EVENT)
				continue;
			do {
				while ((got = vq_pop(vq, &sc->req)) == 1) {
					len = q == Q_REQUEST ?
					    vioscsi_request(sc, &sc->req) :
					    vioscsi_control(&sc->req);
					vq_push(vq, &sc->req, len);
				}
				vq_interrupt(vq);
			} while (got == 0 && vq_notify_enable(vq));
		}
	}
	return (NULL);
}

static void
vioscsi_cfg_write(struct virtio_dev *d, unsigned int off, int size,
    uint32_t v)
{
	struct vioscsi	*sc = d->softc;

	/* sense_size and cdb_size are the driver's to set, within limits */
	if (size != 4)
		return;
	if (off == CFG_SENSE_SIZE)
		put_cfg32(sc, off, MINIMUM(v, VIOSCSI_SENSE_SIZE));
	else if (off == CFG_CDB_SIZE)
		put_cfg32(sc, off, MINIMUM(v, VIOSCSI_CDB_SIZE));
}

static void
vioscsi_reset(struct virtio_dev *d)
{
	struct vioscsi	*sc = d->softc;

	put_cfg32(sc, CFG_SENSE_SIZE, VIOSCSI_SENSE_SIZE);
	put_cfg32(sc, CFG_CDB_SIZE, VIOSCSI_CDB_SIZE);
	sc->skey = sc->asc = sc->ascq = 0;
}

/* send and receive: the sense REQUEST SENSE would return */
static void
vioscsi_save(struct virtio_dev *d, uint8_t *p)
{
	struct vioscsi	*sc = d->softc;

	p[0] = sc->skey;
	p[1] = sc->asc;
	p[2] = sc->ascq;
}

static int
vioscsi_restore(struct virtio_dev *d, const uint8_t *p)
{
	struct vioscsi	*sc = d->softc;

	if (p[0] > 0xf)
		return (-1);
	sc->skey = p[0];
	sc->asc = p[1];
	sc->ascq = p[2];
	return (0);
}

static const struct virtio_ops vioscsi_ops = {
	.cfg_write = vioscsi_cfg_write,
	.reset = vioscsi_reset,
	.save = vioscsi_save,
	.restore = vioscsi_restore,
};

/* The CD-ROM: its PCI device number, or -1. */
int
vioscsi_init(struct vm *vm, int fd)
{
	struct virtio_devinfo	 di;
	struct vioscsi		*sc;
	pthread_t		 t;
	char			 err[DISK_ERRLEN];
	int			 ret;

	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return (-1);
	if ((sc->disk = disk_open(VMDF_RAW, &fd, 1, 1, err,
	    sizeof(err))) == NULL) {
		log_warnx("vm %s: cdrom: %s", vm->vm_name, err);
		errno = EINVAL;
		return (-1);
	}
	sc->blocks = disk_size(sc->disk) / VIOSCSI_BLOCK;

	memset(&di, 0, sizeof(di));
	di.name = "vioscsi0";
	di.type = VIRTIO_ID_SCSI;
	di.class = 0x01;		/* mass storage, SCSI */
	di.subclass = 0x00;
	di.features = VIRTIO_F_INDIRECT_DESC;
	di.nqueues = 3;
	di.qsize = VIOSCSI_QSIZE;
	di.cfglen = CFG_LEN;
	di.ops = &vioscsi_ops;
	di.softc = sc;
	if (virtio_dev_init(vm, &sc->dev, &di) == -1)
		return (-1);
	put_cfg32(sc, CFG_NUM_QUEUES, 1);
	put_cfg32(sc, CFG_SEG_MAX, VIOSCSI_SEG_MAX);
	put_cfg32(sc, CFG_MAX_SECTORS, VIOSCSI_MAX_XFER);
	put_cfg32(sc, CFG_CMD_PER_LUN, VIOSCSI_QSIZE);
	put_cfg32(sc, CFG_EVENT_INFO_SIZE, 16);
	put_cfg32(sc, CFG_SENSE_SIZE, VIOSCSI_SENSE_SIZE);
	put_cfg32(sc, CFG_CDB_SIZE, VIOSCSI_CDB_SIZE);
	put_cfg32(sc, CFG_MAX_LUN, 0);	/* max_channel/target 0 too */

	if ((ret = pthread_create(&t, NULL, vioscsi_thread, sc)) != 0) {
		errno = ret;
		return (-1);
	}
	log_debug("vm %s: vioscsi0: %s, %llu blocks", vm->vm_name,
	    vm->vm_params.vmc_cdrom, (unsigned long long)sc->blocks);
	return (sc->dev.pcidev);
}
