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
 * The test guest's virtio 1.x PCI transport (virtio.c), shared with the
 * device commands (viocmds.c, net.c).  Split virtqueues only; INTx or
 * MSI-X.
 */

#ifndef VIRTIO_H
#define VIRTIO_H

#include "guest.h"

/* Virtio device types (PCI device id 0x1040 + type). */
#define VIRTIO_ID_NET		1
#define VIRTIO_ID_BLK		2
#define VIRTIO_ID_RNG		4
#define VIRTIO_ID_SCSI		8

/* Feature bits. */
#define VIRTIO_F_INDIRECT_DESC	28
#define VIRTIO_F_VERSION_1	32
#define VIRTIO_BLK_F_SIZE_MAX	1
#define VIRTIO_BLK_F_SEG_MAX	2
#define VIRTIO_BLK_F_RO		5
#define VIRTIO_BLK_F_BLK_SIZE	6
#define VIRTIO_BLK_F_FLUSH	9
#define VIRTIO_BLK_F_DISCARD	13
#define VIRTIO_BLK_F_WRITE_ZEROES 14
#define VIRTIO_NET_F_MTU	3
#define VIRTIO_NET_F_MAC	5
#define VIRTIO_NET_F_MRG_RXBUF	15
#define VIRTIO_NET_F_STATUS	16
#define FEAT(b)			(1ULL << (b))

/* Descriptor flags. */
#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2
#define VRING_DESC_F_INDIRECT	4

#define VQ_MAXSIZE		256	/* the largest queue we use */
#define VIO_MAXQ		2	/* queues driven per device */
#define VIO_MAXDEV		16
#define VIO_TIMEOUT		500	/* PIT ticks: 5 s */

struct vring_desc {
	uint64_t	addr;
	uint32_t	len;
	uint16_t	flags;
	uint16_t	next;
};

struct vring_avail {
	uint16_t	flags;
	uint16_t	idx;
	uint16_t	ring[];
};

struct vring_used_elem {
	uint32_t	id;
	uint32_t	len;
};

struct vring_used {
	uint16_t	flags;
	uint16_t	idx;
	struct vring_used_elem ring[];
};

/* Where a virtio structure lives: port I/O or mapped memory. */
struct vregion {
	uint64_t	base;
	uint32_t	len;
	uint8_t		io;
	uint8_t		bar;
	uint8_t		found;
};

struct vq {
	uint8_t			*mem;		/* kept across resets */
	struct vring_desc	*desc;
	struct vring_avail	*avail;
	struct vring_used	*used;
	uint8_t			*busy;		/* per head: in flight */
	uint16_t		 index;		/* queue number */
	uint16_t		 size;		/* in use */
	uint16_t		 devsize;	/* offered by the device */
	uint16_t		 avail_idx;	/* next free avail slot */
	uint16_t		 used_idx;	/* next used entry to read */
	uint16_t		 ndesc;		/* descriptors handed out */
	uint16_t		 notify_off;
	uint16_t		 inflight;	/* posted, not yet used */
};

/* One request segment of a chain. */
struct vseg {
	uint64_t	addr;
	uint32_t	len;
	int		write;		/* device-writable */
};

struct vdev {
	uint8_t		 dev, fn;
	uint8_t		 type;		/* VIRTIO_ID_* or 0 if unknown */
	uint8_t		 state;		/* VS_* */
	uint16_t	 pciid;
	int		 irq;		/* -1: none, completion is polled */
	const char	*err;		/* why VS_FAILED */
	struct vregion	 common, notify, isr, devcfg;
	uint32_t	 notify_mult;
	uint64_t	 features;	/* negotiated */
	int		 msix_cap;	/* config offset, 0: none */
	int		 msix;		/* on: vector 0 config, 1.. queues */
	int		 msix_nvec;	/* table size */
	uint64_t	 msix_table, msix_pba;	/* mapped addresses */
	volatile uint32_t intrs;	/* queue interrupts seen */
	uint32_t	 seen;		/* intrs at the last look */
	int		 drain;		/* used ring not found empty yet */
	int		 nq;		/* queues driven: vq, then vq1 */
	struct vq	 vq;		/* the first queue we drive */
	struct vq	 vq1;		/* the second (net: transmitq) */
};

#define VS_NEW		0
#define VS_READY	1
#define VS_FAILED	2

/* Per-request scratch shared by all devices (one command at a time). */
#define VREQ_MAX	256

/* Command arguments: words separated by blanks or ':'. */
#define MAXTOK		5
#define TOKLEN		24

/* virtio.c */
extern int	 vio_msix_wanted;	/* devices set up next use MSI-X */
int		 vio_scan(void);
volatile uint32_t *vio_msix_entry(struct vdev *, int);
struct vdev	*vio_get(int, int);
struct vdev	*vio_nth(int);
const char	*vio_init(struct vdev *, uint64_t, uint16_t, uint16_t);
const char	*vio_initq(struct vdev *, uint64_t, const uint16_t *, int,
		    uint16_t);
void		 vio_ready(struct vdev *);
void		 vio_reset(struct vdev *);
int		 vio_needs_reset(struct vdev *);
uint8_t		 vio_cfg8(struct vdev *, uint32_t);
uint16_t	 vio_cfg16(struct vdev *, uint32_t);
uint32_t	 vio_cfg32(struct vdev *, uint32_t);
uint64_t	 vio_cfg64(struct vdev *, uint32_t);
uint8_t		 vio_cfggen(struct vdev *);
void		 vio_cfgw8(struct vdev *, uint32_t, uint8_t);
void		 vq_begin(struct vdev *);
int		 vq_post(struct vdev *, const struct vseg *, int, uint64_t);
void		 vq_kick(struct vdev *);
uint16_t	 vq_outstanding(struct vdev *);
int		 vq_wait(struct vdev *, uint16_t *, uint32_t *, uint64_t);
const char	*vq_failure(struct vdev *);
const char	*vq_timeout(struct vdev *, struct vq *);
void		 vq_put(struct vq *, uint16_t);
void		 vq_notify(struct vdev *, struct vq *);
int		 vq_get(struct vq *, uint16_t *, uint32_t *, const char **);

/* viocmds.c */
int		 split(const char *, char [MAXTOK][TOKLEN]);
int		 numargs(const char *, uint64_t *, int);

#endif /* VIRTIO_H */
