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
 * The virtio 1.x PCI transport and split virtqueues shared by every
 * virtio device of the VM (see virtio.h for the layout).
 *
 * Locking (virtio.h says which lock guards which field): dev->mtx
 * covers the transport registers and the ISR; each vq->mtx covers what
 * the device threads use of that ring.  What both sides use (whether the
 * queue is enabled, its size, generation and ring pointers) is written
 * only with both held, so either lock alone reads it steady.  dev->mtx
 * may be held while a vq->mtx is taken, never the other way round.  The
 * count of requests in flight is atomic so that a reset can wait for it
 * without either.
 */

#include <sys/types.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "disk.h"
#include "bytes.h"
#include "log.h"
#include "pci.h"
#include "virtio.h"
#include "vmstate.h"
#include "vmmci.h"

/* PCI capabilities */
#define PCI_STATUS_CAPLIST	0x10
#define PCI_CAPLIST_PTR		0x34
#define PCI_CAP_VENDOR		0x09
#define PCI_CAP_MSIX		0x11
#define PCI_BAR_MSIX		1	/* the BAR of the MSI-X table */
#define MSIX_CAP_AT		0x88
#define MSIX_CTRL_ENABLE	0x8000
#define MSIX_CTRL_FMASK		0x4000
#define MSIX_ENTRY_MASKED	0x1	/* vector control */
#define VIRTIO_CAP_COMMON	1
#define VIRTIO_CAP_NOTIFY	2
#define VIRTIO_CAP_ISR		3
#define VIRTIO_CAP_DEVICE	4

/* descriptors */
#define VRING_DESC_F_NEXT	1
#define VRING_DESC_F_WRITE	2
#define VRING_DESC_F_INDIRECT	4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY	1
#define VRING_DESC_SIZE		16

/* common configuration fields */
#define CC_DFSELECT		0x00
#define CC_DF			0x04
#define CC_GFSELECT		0x08
#define CC_GF			0x0c
#define CC_MSIX			0x10
#define CC_NUMQ			0x12
#define CC_STATUS		0x14
#define CC_CFGGEN		0x15
#define CC_QSELECT		0x16
#define CC_QSIZE		0x18
#define CC_QMSIX		0x1a
#define CC_QENABLE		0x1c
#define CC_QNOTIFYOFF		0x1e
#define CC_QDESC		0x20
#define CC_QDRIVER		0x28
#define CC_QDEVICE		0x30

static const struct {
	unsigned int	off;
	unsigned int	len;
} cc_fields[] = {
	{ CC_DFSELECT, 4 }, { CC_DF, 4 }, { CC_GFSELECT, 4 }, { CC_GF, 4 },
	{ CC_MSIX, 2 }, { CC_NUMQ, 2 }, { CC_STATUS, 1 }, { CC_CFGGEN, 1 },
	{ CC_QSELECT, 2 }, { CC_QSIZE, 2 }, { CC_QMSIX, 2 },
	{ CC_QENABLE, 2 }, { CC_QNOTIFYOFF, 2 }, { CC_QDESC, 8 },
	{ CC_QDRIVER, 8 }, { CC_QDEVICE, 8 },
};

int
virtio_negotiated(struct virtio_dev *d, uint64_t f)
{
	return ((__atomic_load_n(&d->driver_features, __ATOMIC_RELAXED) &
	    f) == f);
}

/*
 * The guest broke the protocol: say so once, tell the driver, and stop
 * using the rings until it resets the device.
 */
static void
needs_reset_locked(struct virtio_dev *d, const char *why)
{
	unsigned int	i;

	if (!(d->status & VIRTIO_STATUS_NEEDS_RESET))
		vm_guest_warnx(d->vm, "%s: %s; device stopped until the "
		    "guest resets it", d->name, why);
	/*
	 * Under each ring's lock: a device thread that saw its ring enabled
	 * is done with it before the vCPU may change its size or addresses.
	 */
	for (i = 0; i < d->nqueues; i++) {
		pthread_mutex_lock(&d->vq[i].mtx);
		__atomic_store_n(&d->vq[i].enabled, 0, __ATOMIC_SEQ_CST);
		pthread_mutex_unlock(&d->vq[i].mtx);
	}
	d->status |= VIRTIO_STATUS_NEEDS_RESET;
}

void
virtio_needs_reset(struct virtio_dev *d, const char *why)
{
	pthread_mutex_lock(&d->mtx);
	needs_reset_locked(d, why);
	pthread_mutex_unlock(&d->mtx);
}

static void
virtio_set_irq(struct virtio_dev *d, int level)
{
	if (d->irq_level == level)
		return;
	d->irq_level = level;
	pci_set_irq(d->vm->vm_pci, d->pcidev, level);
}

/*
 * MSI-X
 *
 * The driver programs the table (address, data, vector control) through
 * BAR 1 and enables MSI-X or masks the whole function in the
 * capability's message control.  A vector that fires while masked sets
 * its pending bit and is sent when it is unmasked.  A vector goes out
 * through its irqfd, whose GSI is routed to the table's address and
 * data the first time it fires after they changed; a vector without
 * one, or whose message KVM refused to route, through KVM_SIGNAL_MSI.
 * Called with msix.mtx held.
 */
static void
msix_fire_locked(struct virtio_dev *d, unsigned int v)
{
	struct virtio_msix	*m = &d->msix;
	uint64_t		 addr, bit = 1ULL << v, one = 1;

	if (m->fmask || (m->table[v][3] & MSIX_ENTRY_MASKED)) {
		m->pending |= bit;
		return;
	}
	m->pending &= ~bit;
	addr = (uint64_t)m->table[v][1] << 32 | m->table[v][0];
	if ((m->irqfds & bit) && !(m->unroutable & bit)) {
		if (!(m->routed & bit)) {
			if (vmm_vm_msi_route(d->vm->vm_vmm, m->gsi[v], addr,
			    m->table[v][2]) == -1) {
				/* not again until the guest changes it */
				m->unroutable |= bit;
				goto signal;
			}
			m->routed |= bit;
		}
		if (write(m->irqfd[v], &one, sizeof(one)) == sizeof(one))
			return;
	}
 signal:
	if (vmm_vm_signal_msi(d->vm->vm_vmm, addr, m->table[v][2]) == -1)
		log_debug("%s: MSI-X vector %u: %s", d->name, v,
		    strerror(errno));
}

/* what was pending and is no longer masked goes out */
static void
msix_flush_locked(struct virtio_dev *d)
{
	struct virtio_msix	*m = &d->msix;
	unsigned int		 v;

	if (!m->enabled || m->fmask)
		return;
	for (v = 0; v < m->nvec; v++)
		if ((m->pending & (1ULL << v)) &&
		    !(m->table[v][3] & MSIX_ENTRY_MASKED))
			msix_fire_locked(d, v);
}

/*
 * Interrupt the driver: the vector when MSI-X is on (none if the driver
 * gave none), else INTx with isrbit in the ISR.  dev->mtx held.
 */
static void
virtio_signal(struct virtio_dev *d, uint16_t vector, uint8_t isrbit)
{
	struct virtio_msix	*m = &d->msix;

	pthread_mutex_lock(&m->mtx);
	if (m->enabled) {
		if (vector < m->nvec)
			msix_fire_locked(d, vector);
		pthread_mutex_unlock(&m->mtx);
		return;
	}
	pthread_mutex_unlock(&m->mtx);
	d->isr |= isrbit;
	virtio_set_irq(d, 1);
}

/* BAR 1: the table, then the pending bits; 4- or 8-byte accesses */
static void
msix_mmio(void *arg, uint64_t gpa, int size, int in, uint64_t *data)
{
	struct virtio_dev	*d = arg;
	struct virtio_msix	*m = &d->msix;
	uint64_t		 off = gpa - m->bar;
	unsigned int		 v, w, i;
	uint32_t		 val;

	if ((size != 4 && size != 8) || (off & (size - 1)) != 0) {
		if (in)
			*data = 0;
		return;
	}
	pthread_mutex_lock(&m->mtx);
	for (i = 0; i < (unsigned int)size / 4; i++, off += 4) {
		val = in ? 0 : (uint32_t)(*data >> (32 * i));
		if (off < VIRTIO_MSIX_TABLE + 16 * m->nvec) {
			v = off / 16;
			w = off % 16 / 4;
			if (in)
				val = m->table[v][w];
			else if (w == 3) {
				m->table[v][3] = val & MSIX_ENTRY_MASKED;
				msix_flush_locked(d);
			} else if (m->table[v][w] != val) {
				m->table[v][w] = val;
				m->routed &= ~(1ULL << v);
				m->unroutable &= ~(1ULL << v);
			}
		} else if (off >= VIRTIO_MSIX_PBA && off < VIRTIO_MSIX_PBA + 8) {
			/* read-only */
			if (in)
				val = (uint32_t)(m->pending >>
				    (8 * (off - VIRTIO_MSIX_PBA)));
		} else
			val = 0;
		if (in) {
			if (i == 0)
				*data = val;
			else
				*data |= (uint64_t)val << 32;
		}
	}
	pthread_mutex_unlock(&m->mtx);
}

/*
 * Config space writes to the MSI-X capability's message control: enable
 * and function mask.  The rest of the capability is read-only.  Called
 * by pci.c with its lock held: only msix.mtx is taken here.
 */
static int
virtio_pci_cfg(void *arg, int in, unsigned int reg, int size,
    uint32_t *data)
{
	struct virtio_dev	*d = arg;
	struct virtio_msix	*m = &d->msix;
	unsigned int		 ctl = m->cap + 2, i;
	uint16_t		 c;
	uint8_t			*p = m->pcicfg;

	if (in || reg + size <= ctl || reg >= ctl + 2)
		return (-1);		/* pci.c's own rules */
	pthread_mutex_lock(&m->mtx);
	c = p[ctl] | p[ctl + 1] << 8;
	for (i = 0; i < (unsigned int)size; i++)
		if (reg + i == ctl + 1)
			c = (c & ~(MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK)) |
			    ((*data >> (8 * i) & 0xff) << 8 &
			    (MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK));
	p[ctl + 1] = c >> 8;
	m->enabled = (c & MSIX_CTRL_ENABLE) != 0;
	m->fmask = (c & MSIX_CTRL_FMASK) != 0;
	msix_flush_locked(d);
	pthread_mutex_unlock(&m->mtx);
	return (0);
}

/* while the VM is saved, devices take no new chains (vmstate.h) */
static inline int
vq_frozen(struct virtio_vq *vq)
{
	return (__atomic_load_n(&vq->dev->vm->vm_iofrozen, __ATOMIC_SEQ_CST));
}

/* used ring helpers: flags, idx, ring[size] of {id, len}, avail_event */
static inline volatile uint16_t *
used_idx_ptr(struct virtio_vq *vq)
{
	return ((volatile uint16_t *)(vq->used + 2));
}

static inline volatile uint16_t *
avail_event_ptr(struct virtio_vq *vq)
{
	return ((volatile uint16_t *)(vq->used + 4 + 8 * vq->size));
}

/* dev->mtx and vq->mtx held */
static void
vq_clear(struct virtio_vq *vq)
{
	__atomic_store_n(&vq->enabled, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&vq->gen, vq->gen + 1, __ATOMIC_SEQ_CST);
	vq->size = vq->maxsize;
	vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
	vq->desc = vq->used = NULL;
	vq->avail = NULL;
	vq->last_avail = vq->used_idx = vq->signalled = 0;
}

/* queue_enable, dev->mtx held: the rings must be in RAM, sized, aligned */
static void
vq_enable(struct virtio_dev *d, struct virtio_vq *vq)
{
	const struct vm_mem	*mem = &d->vm->vm_mem;
	uint64_t		 dlen, alen, ulen;
	void			*dp, *ap, *up;

	dlen = (uint64_t)VRING_DESC_SIZE * vq->size;
	alen = 6 + 2ULL * vq->size;
	ulen = 6 + 8ULL * vq->size;
	if (vq->size == 0 || (vq->size & (vq->size - 1)) != 0 ||
	    vq->size > vq->maxsize) {
		needs_reset_locked(d, "queue size is not a power of 2 within "
		    "the maximum");
		return;
	}
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) ||
	    (vq->used_gpa & 3)) {
		needs_reset_locked(d, "misaligned ring");
		return;
	}
	if ((dp = vm_mem_ptr(mem, vq->desc_gpa, dlen)) == NULL ||
	    (ap = vm_mem_ptr(mem, vq->avail_gpa, alen)) == NULL ||
	    (up = vm_mem_ptr(mem, vq->used_gpa, ulen)) == NULL) {
		needs_reset_locked(d, "ring outside guest memory");
		return;
	}
	pthread_mutex_lock(&vq->mtx);
	vq->desc = dp;
	vq->avail = ap;
	vq->used = up;
	vq->last_avail = vq->used_idx = vq->signalled = 0;
	/* chains taken from the ring before (a broken one) are not its */
	__atomic_store_n(&vq->gen, vq->gen + 1, __ATOMIC_SEQ_CST);
	__atomic_store_n(&vq->enabled, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&vq->mtx);
}

/*
 * With dev->mtx held: until the device holds no chain, or end (REALTIME;
 * NULL: no end) passes.  A device thread that gives its last chain back
 * wakes us; the 1 ms steps cover one that was asleep when we asked.
 * 0, or -1 at the end.
 */
static int
virtio_wait_idle(struct virtio_dev *d, const struct timespec *end)
{
	struct timespec	ts;

	while (__atomic_load_n(&d->inflight, __ATOMIC_SEQ_CST) > 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		if (end != NULL && (ts.tv_sec > end->tv_sec ||
		    (ts.tv_sec == end->tv_sec && ts.tv_nsec >= end->tv_nsec)))
			return (-1);
		ts.tv_nsec += 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		(void)pthread_cond_timedwait(&d->idle, &d->mtx, &ts);
	}
	return (0);
}

/*
 * Called with dev->mtx held, from the vCPU that wrote status 0.  The
 * wait for the chains in flight lets go of dev->mtx: until the reset is
 * done, what other vCPUs write to the device is dropped (the status
 * they read is the old one, so a driver knows the reset is not over).
 */
static void
virtio_reset(struct virtio_dev *d)
{
	unsigned int	i;

	d->resetting = 1;
	for (i = 0; i < d->nqueues; i++) {
		pthread_mutex_lock(&d->vq[i].mtx);
		vq_clear(&d->vq[i]);
		pthread_mutex_unlock(&d->vq[i].mtx);
	}
	/* requests being worked on finish (and are dropped) first */
	if (d->ops->release != NULL)
		d->ops->release(d);
	(void)virtio_wait_idle(d, NULL);
	if (d->ops->reset != NULL)
		d->ops->reset(d);
	__atomic_store_n(&d->driver_features, 0, __ATOMIC_RELAXED);
	d->dfselect = d->gfselect = 0;
	d->status = 0;
	d->qselect = 0;
	d->isr = 0;
	d->cfg_vector = VIRTIO_NO_VECTOR;
	for (i = 0; i < d->nqueues; i++)
		d->vq[i].vector = VIRTIO_NO_VECTOR;
	virtio_set_irq(d, 0);
	d->resetting = 0;
}

static void
common_image(struct virtio_dev *d, uint8_t *b)
{
	struct virtio_vq	*vq = NULL;

	memset(b, 0, VIRTIO_COMMON_LEN);
	put_le(b + CC_DFSELECT, d->dfselect, 4);
	if (d->dfselect < 2)
		put_le(b + CC_DF, d->features >> (32 * d->dfselect), 4);
	put_le(b + CC_GFSELECT, d->gfselect, 4);
	if (d->gfselect < 2)
		put_le(b + CC_GF, d->driver_features >> (32 * d->gfselect),
		    4);
	put_le(b + CC_MSIX, d->cfg_vector, 2);
	put_le(b + CC_NUMQ, d->nqueues, 2);
	b[CC_STATUS] = d->status;
	b[CC_CFGGEN] = d->cfggen;
	put_le(b + CC_QSELECT, d->qselect, 2);
	if (d->qselect < d->nqueues)
		vq = &d->vq[d->qselect];
	if (vq == NULL)
		return;
	put_le(b + CC_QSIZE, vq->size, 2);
	put_le(b + CC_QMSIX, vq->vector, 2);
	put_le(b + CC_QENABLE, vq->enabled, 2);
	put_le(b + CC_QNOTIFYOFF, 0, 2);
	put_le(b + CC_QDESC, vq->desc_gpa, 8);
	put_le(b + CC_QDRIVER, vq->avail_gpa, 8);
	put_le(b + CC_QDEVICE, vq->used_gpa, 8);
}

static void
common_set_status(struct virtio_dev *d, uint8_t v)
{
	uint8_t	old = d->status;

	if (v == 0) {
		virtio_reset(d);
		return;
	}
	if ((v & VIRTIO_STATUS_FEATURES_OK) &&
	    !(old & VIRTIO_STATUS_FEATURES_OK)) {
		/* only what we offered, and never without VERSION_1 */
		if ((d->driver_features & ~d->features) != 0 ||
		    !(d->driver_features & VIRTIO_F_VERSION_1))
			v &= ~VIRTIO_STATUS_FEATURES_OK;
	}
	d->status = v | (old & VIRTIO_STATUS_NEEDS_RESET);
	if ((v & VIRTIO_STATUS_DRIVER_OK) &&
	    !(old & VIRTIO_STATUS_DRIVER_OK) && d->ops->ready != NULL)
		d->ops->ready(d);
}

static void
common_write_field(struct virtio_dev *d, unsigned int off, uint64_t v)
{
	struct virtio_vq	*vq = NULL;
	uint64_t		 mask;

	if (d->qselect < d->nqueues)
		vq = &d->vq[d->qselect];
	switch (off) {
	case CC_DFSELECT:
		d->dfselect = v;
		return;
	case CC_GFSELECT:
		d->gfselect = v;
		return;
	case CC_GF:
		if (d->gfselect >= 2 ||
		    (d->status & VIRTIO_STATUS_FEATURES_OK))
			return;
		mask = 0xffffffffULL << (32 * d->gfselect);
		__atomic_store_n(&d->driver_features,
		    (d->driver_features & ~mask) |
		    ((v << (32 * d->gfselect)) & mask), __ATOMIC_RELAXED);
		return;
	case CC_STATUS:
		common_set_status(d, v);
		return;
	case CC_QSELECT:
		d->qselect = v;
		return;
	case CC_MSIX:
		/* a vector the table has, or none */
		d->cfg_vector = v < d->msix.nvec ? v : VIRTIO_NO_VECTOR;
		return;
	case CC_QMSIX:
		if (vq != NULL)
			vq->vector = v < d->msix.nvec ? v : VIRTIO_NO_VECTOR;
		return;
	}
	/*
	 * The queue's own fields, until it is enabled.  A device thread
	 * reads them only while the ring is enabled, and then under vq->mtx,
	 * which enabling and disabling take: nothing it looks at changes
	 * under it.  They are written under that lock all the same.
	 */
	if (vq == NULL || vq->enabled)
		return;
	if (off == CC_QENABLE) {
		if (v == 1)
			vq_enable(d, vq);
		return;
	}
	pthread_mutex_lock(&vq->mtx);
	switch (off) {
	case CC_QSIZE:
		vq->size = v;
		break;
	case CC_QDESC:
		vq->desc_gpa = v;
		break;
	case CC_QDRIVER:
		vq->avail_gpa = v;
		break;
	case CC_QDEVICE:
		vq->used_gpa = v;
		break;
	}
	pthread_mutex_unlock(&vq->mtx);
}

/* a write of size bytes at off: every field it touches is updated */
static void
common_write(struct virtio_dev *d, unsigned int off, int size, uint32_t val)
{
	uint8_t		img[VIRTIO_COMMON_LEN];
	uint64_t	old, new;
	unsigned int	i, fo, fl;

	common_image(d, img);
	for (i = 0; i < nitems(cc_fields); i++) {
		fo = cc_fields[i].off;
		fl = cc_fields[i].len;
		if (off >= fo + fl || off + size <= fo)
			continue;
		old = get_le(img + fo, fl);
		put_le(img + off, val, size);
		new = get_le(img + fo, fl);
		if (new != old || fo == CC_STATUS || fo == CC_QENABLE)
			common_write_field(d, fo, new);
		common_image(d, img);
	}
}

static void
virtio_bar_io(void *arg, uint16_t port, int size, int in, uint32_t *data)
{
	struct virtio_dev	*d = arg;
	unsigned int		 off = port - d->iobase, q;
	uint8_t			 img[VIRTIO_COMMON_LEN];
	uint64_t		 one = 1;

	if (off >= VIRTIO_BAR_NOTIFY && off < VIRTIO_BAR_NOTIFY + 4) {
		/* only when the kernel did not take it (no ioeventfd) */
		if (in) {
			*data = 0xffffffff;
			return;
		}
		q = *data & 0xffff;
		if (q < d->nqueues &&
		    write(d->vq[q].kickfd, &one, sizeof(one)) == -1)
			log_debug("%s: kick: %s", d->name, strerror(errno));
		return;
	}

	pthread_mutex_lock(&d->mtx);
	if (d->resetting && !in) {
		/* another vCPU's reset waits for the device: not yet */
		pthread_mutex_unlock(&d->mtx);
		return;
	}
	if (off + size <= VIRTIO_COMMON_LEN) {
		if (in) {
			common_image(d, img);
			*data = get_le(img + off, size);
		} else
			common_write(d, off, size, *data);
	} else if (off == VIRTIO_BAR_ISR) {
		if (in) {
			*data = d->isr;
			d->isr = 0;
			virtio_set_irq(d, 0);
		}
	} else if (off >= VIRTIO_BAR_DEVICE &&
	    off + size <= VIRTIO_BAR_DEVICE + d->cfglen) {
		off -= VIRTIO_BAR_DEVICE;
		if (in)
			*data = get_le(d->cfg + off, size);
		else if (d->ops->cfg_write != NULL)
			d->ops->cfg_write(d, off, size, *data);
	} else if (in)
		*data = 0xffffffff;
	pthread_mutex_unlock(&d->mtx);
}

static void
virtio_cap(uint8_t *cfg, unsigned int at, unsigned int next, int type,
    unsigned int off, unsigned int len, unsigned int caplen)
{
	cfg[at] = PCI_CAP_VENDOR;
	cfg[at + 1] = next;
	cfg[at + 2] = caplen;
	cfg[at + 3] = type;
	cfg[at + 4] = 0;		/* BAR0 */
	put_le(cfg + at + 8, off, 4);
	put_le(cfg + at + 12, len, 4);
}

int
virtio_dev_init(struct vm *vm, struct virtio_dev *d,
    const struct virtio_devinfo *di)
{
	struct pci_devinfo	 pdi;
	struct virtio_vq	*vq;
	uint64_t		 addr;
	uint8_t			*cfg;
	unsigned int		 i;
	int			 fd;

	memset(d, 0, sizeof(*d));
	if (vm->vm_nvdevs >= VM_MAX_VIRTIO) {
		errno = ENOSPC;
		return (-1);
	}
	d->vm = vm;
	d->name = di->name;
	d->type = di->type;
	d->ops = di->ops;
	d->softc = di->softc;
	d->features = di->features | VIRTIO_F_VERSION_1;
	d->nqueues = di->nqueues;
	d->cfglen = di->cfglen;
	pthread_mutex_init(&d->mtx, NULL);
	pthread_cond_init(&d->idle, NULL);
	for (i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		d->vq[i].kickfd = -1;
		d->vq[i].vector = VIRTIO_NO_VECTOR;
	}
	d->cfg_vector = VIRTIO_NO_VECTOR;
	pthread_mutex_init(&d->msix.mtx, NULL);
	d->msix.nvec = d->nqueues + 1;
	for (i = 0; i < d->msix.nvec; i++)
		d->msix.table[i][3] = MSIX_ENTRY_MASKED;

	memset(&pdi, 0, sizeof(pdi));
	pdi.vendor = VIRTIO_PCI_VENDOR;
	pdi.product = VIRTIO_PCI_PRODUCT_BASE + di->type;
	pdi.class = di->class;
	pdi.subclass = di->subclass;
	pdi.revision = 1;
	pdi.subsys_vendor = VIRTIO_PCI_VENDOR;
	pdi.subsys_id = di->type;
	pdi.want_irq = 1;
	pdi.cfg = virtio_pci_cfg;
	pdi.arg = d;
	if ((d->pcidev = pci_add_device(vm->vm_pci, &pdi)) == -1)
		return (-1);
	if (pci_add_bar(vm->vm_pci, d->pcidev, PCI_BAR_IO, virtio_bar_io,
	    NULL, d, &addr) == -1)
		return (-1);
	d->iobase = addr;
	if (pci_add_bar(vm->vm_pci, d->pcidev, PCI_BAR_MMIO, NULL, msix_mmio,
	    d, &d->msix.bar) != PCI_BAR_MSIX)
		return (-1);

	cfg = pci_cfg_space(vm->vm_pci, d->pcidev);
	cfg[0x06] |= PCI_STATUS_CAPLIST;
	cfg[PCI_CAPLIST_PTR] = 0x40;
	virtio_cap(cfg, 0x40, 0x50, VIRTIO_CAP_COMMON, VIRTIO_BAR_COMMON,
	    VIRTIO_COMMON_LEN, 16);
	virtio_cap(cfg, 0x50, 0x68, VIRTIO_CAP_NOTIFY, VIRTIO_BAR_NOTIFY,
	    2, 20);
	put_le(cfg + 0x50 + 16, 0, 4);	/* notify_off_multiplier */
	virtio_cap(cfg, 0x68, d->cfglen ? 0x78 : MSIX_CAP_AT, VIRTIO_CAP_ISR,
	    VIRTIO_BAR_ISR, 1, 16);
	if (d->cfglen)
		virtio_cap(cfg, 0x78, MSIX_CAP_AT, VIRTIO_CAP_DEVICE,
		    VIRTIO_BAR_DEVICE, d->cfglen, 16);
	/* MSI-X: a vector per queue and one for config, off until enabled */
	cfg[MSIX_CAP_AT] = PCI_CAP_MSIX;
	cfg[MSIX_CAP_AT + 1] = 0;
	put_le(cfg + MSIX_CAP_AT + 2, d->msix.nvec - 1, 2);
	put_le(cfg + MSIX_CAP_AT + 4, VIRTIO_MSIX_TABLE | PCI_BAR_MSIX, 4);
	put_le(cfg + MSIX_CAP_AT + 8, VIRTIO_MSIX_PBA | PCI_BAR_MSIX, 4);
	d->msix.cap = MSIX_CAP_AT;
	d->msix.pcicfg = cfg;

	for (i = 0; i < d->nqueues; i++) {
		vq = &d->vq[i];
		vq->dev = d;
		vq->idx = i;
		vq->maxsize = di->qsize;
		pthread_mutex_init(&vq->mtx, NULL);
		vq_clear(vq);
		if ((vq->kickfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) ==
		    -1)
			return (-1);
		if (vmm_vm_ioeventfd(vm->vm_vmm, d->iobase +
		    VIRTIO_BAR_NOTIFY, 2, i, vq->kickfd) == -1)
			log_debug("%s: no ioeventfd for queue %u: %s",
			    d->name, i, strerror(errno));
	}
	for (i = 0; i < d->msix.nvec; i++) {
		if ((fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
			return (-1);
		if ((d->msix.gsi[i] = vmm_vm_msi_irqfd(vm->vm_vmm, fd)) ==
		    -1) {
			log_debug("%s: no irqfd for vector %u: %s", d->name,
			    i, strerror(errno));
			close(fd);
			continue;
		}
		d->msix.irqfd[i] = fd;
		d->msix.irqfds |= 1ULL << i;
	}
	vm->vm_vdevs[vm->vm_nvdevs++] = d;
	return (0);
}

/*
 * Signal an eventfd, and take its count.  Neither can fail but with
 * EAGAIN (the count already at its limit, or nothing to take), which
 * leaves the descriptor as it should be: there is nothing to report.
 */
void
virtio_evfd_signal(int fd)
{
	uint64_t	one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		return;
}

void
virtio_evfd_drain(int fd)
{
	uint64_t	n;

	if (read(fd, &n, sizeof(n)) != sizeof(n))
		return;
}

/* the kick eventfd was readable: take its count */
void
vq_kick_ack(struct virtio_vq *vq)
{
	virtio_evfd_drain(vq->kickfd);
}

/* A device thread sleeps until the guest kicks the queue. */
void
vq_wait_kick(struct virtio_vq *vq)
{
	struct pollfd	pfd;

	pfd.fd = vq->kickfd;
	pfd.events = POLLIN;
	while (poll(&pfd, 1, -1) == -1)
		if (errno != EINTR)
			fatal("%s: poll", vq->dev->name);
	vq_kick_ack(vq);
}

/*
 * Read descriptor i of a table into the request.  Returns the next
 * index, -1 at the end of the chain, -2 on an error (why is set).
 */
static int
vq_desc(struct virtio_vq *vq, volatile uint8_t *table, unsigned int tsize,
    unsigned int i, struct virtio_req *r, int *indirect, const char **why)
{
	struct virtio_dev	*d = vq->dev;
	uint64_t		 addr;
	uint32_t		 len;
	uint16_t		 flags, next;
	volatile uint8_t	*p;
	void			*hva;

	if (i >= tsize) {
		*why = "descriptor index out of range";
		return (-2);
	}
	p = table + VRING_DESC_SIZE * i;
	addr = *(volatile uint64_t *)p;
	len = *(volatile uint32_t *)(p + 8);
	flags = *(volatile uint16_t *)(p + 12);
	next = *(volatile uint16_t *)(p + 14);

	if (flags & VRING_DESC_F_INDIRECT) {
		*indirect = 1;
		if (!virtio_negotiated(d, VIRTIO_F_INDIRECT_DESC) ||
		    (flags & VRING_DESC_F_NEXT) || len == 0 ||
		    len % VRING_DESC_SIZE != 0) {
			*why = "bad indirect descriptor";
			return (-2);
		}
		return (-3);	/* the caller switches tables */
	}
	if (len > 0) {
		if (r->nrd + r->nwr >= VIRTIO_MAX_SEGS) {
			*why = "descriptor chain too long";
			return (-2);
		}
		if ((hva = vm_mem_ptr(&d->vm->vm_mem, addr, len)) == NULL) {
			*why = "buffer outside guest memory";
			return (-2);
		}
		r->iov[r->nrd + r->nwr].iov_base = hva;
		r->iov[r->nrd + r->nwr].iov_len = len;
		if (flags & VRING_DESC_F_WRITE) {
			r->nwr++;
			r->wrlen += len;
		} else {
			if (r->nwr > 0) {
				*why = "readable buffer after a writable one";
				return (-2);
			}
			r->nrd++;
			r->rdlen += len;
		}
	}
	if (!(flags & VRING_DESC_F_NEXT))
		return (-1);
	return (next);
}

/* the chain starting at head; 0, or -1 with the reason in *why */
static int
vq_chain(struct virtio_vq *vq, uint16_t head, struct virtio_req *r,
    const char **why)
{
	volatile uint8_t	*table = vq->desc, *ind;
	unsigned int		 tsize = vq->size, count = 0, i = head;
	uint64_t		 addr;
	uint32_t		 len;
	int			 indirect = 0, in_table = 0, n;

	r->head = head;
	r->nrd = r->nwr = 0;
	r->rdlen = r->wrlen = 0;
	for (;;) {
		if (++count > tsize) {
			*why = "descriptor chain loops";
			return (-1);
		}
		n = vq_desc(vq, table, tsize, i, r, &indirect, why);
		if (n == -1)
			return (0);
		if (n == -2)
			return (-1);
		if (n == -3) {
			/* one level only, whatever the table's address */
			if (in_table) {
				*why = "nested indirect descriptors";
				return (-1);
			}
			in_table = 1;
			addr = *(volatile uint64_t *)(table +
			    VRING_DESC_SIZE * i);
			len = *(volatile uint32_t *)(table +
			    VRING_DESC_SIZE * i + 8);
			if (len / VRING_DESC_SIZE > 65536 ||
			    (ind = vm_mem_ptr(&vq->dev->vm->vm_mem, addr,
			    len)) == NULL) {
				*why = "indirect table outside guest memory";
				return (-1);
			}
			table = ind;
			tsize = len / VRING_DESC_SIZE;
			count = 0;
			i = 0;
			continue;
		}
		i = n;
	}
}

/*
 * Take the next available chain.  1 with *r filled, 0 if there is none,
 * -1 if the ring is broken (the device then waits for a reset).
 */
int
vq_pop(struct virtio_vq *vq, struct virtio_req *r)
{
	const char	*why = NULL;
	uint16_t	 avail, head;

	pthread_mutex_lock(&vq->mtx);
	if (!__atomic_load_n(&vq->enabled, __ATOMIC_SEQ_CST)) {
		pthread_mutex_unlock(&vq->mtx);
		return (0);
	}
	avail = __atomic_load_n(&vq->avail[1], __ATOMIC_ACQUIRE);
	if (avail == vq->last_avail || vq_frozen(vq)) {
		pthread_mutex_unlock(&vq->mtx);
		return (0);
	}
	if ((uint16_t)(avail - vq->last_avail) > vq->size) {
		why = "available index ran ahead of the ring";
		goto bad;
	}
	head = vq->avail[2 + vq->last_avail % vq->size];
	if (vq_chain(vq, head, r, &why) == -1)
		goto bad;
	vq->last_avail++;
	r->gen = vq->gen;
	__atomic_add_fetch(&vq->dev->inflight, 1, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&vq->mtx);
	return (1);
 bad:
	pthread_mutex_unlock(&vq->mtx);
	virtio_needs_reset(vq->dev, why);
	return (-1);
}

/* Give a chain back with len bytes written into it. */
void
vq_push(struct virtio_vq *vq, const struct virtio_req *r, uint32_t len)
{
	struct virtio_dev	*d = vq->dev;
	volatile uint8_t	*e;

	pthread_mutex_lock(&vq->mtx);
	if (vq->enabled && r->gen == vq->gen) {
		e = vq->used + 4 + 8 * (vq->used_idx % vq->size);
		*(volatile uint32_t *)e = r->head;
		*(volatile uint32_t *)(e + 4) = len;
		vq->used_idx++;
		__atomic_store_n(used_idx_ptr(vq), vq->used_idx,
		    __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&vq->mtx);
	if (__atomic_sub_fetch(&d->inflight, 1, __ATOMIC_SEQ_CST) == 0) {
		pthread_mutex_lock(&d->mtx);
		pthread_cond_broadcast(&d->idle);
		pthread_mutex_unlock(&d->mtx);
	}
}

/*
 * Interrupt the driver for what was pushed, unless it asked not to be
 * (VRING_AVAIL_F_NO_INTERRUPT, or the used_event of EVENT_IDX).
 */
void
vq_interrupt(struct virtio_vq *vq)
{
	struct virtio_dev	*d = vq->dev;
	uint16_t		 ev, old, new;
	int			 need;

	pthread_mutex_lock(&vq->mtx);
	if (!vq->enabled || vq->signalled == vq->used_idx) {
		pthread_mutex_unlock(&vq->mtx);
		return;
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	old = vq->signalled;
	new = vq->used_idx;
	if (virtio_negotiated(d, VIRTIO_F_EVENT_IDX)) {
		ev = vq->avail[2 + vq->size];
		need = (uint16_t)(new - ev - 1) < (uint16_t)(new - old);
	} else
		need = !(vq->avail[0] & VRING_AVAIL_F_NO_INTERRUPT);
	vq->signalled = new;
	pthread_mutex_unlock(&vq->mtx);
	if (!need)
		return;
	pthread_mutex_lock(&d->mtx);
	virtio_signal(d, vq->vector, 1);
	pthread_mutex_unlock(&d->mtx);
}

/* while the device works through the ring, the driver need not kick */
void
vq_notify_disable(struct virtio_vq *vq)
{
	pthread_mutex_lock(&vq->mtx);
	if (vq->enabled && !virtio_negotiated(vq->dev, VIRTIO_F_EVENT_IDX))
		*(volatile uint16_t *)vq->used |= VRING_USED_F_NO_NOTIFY;
	pthread_mutex_unlock(&vq->mtx);
}

/*
 * Ask for kicks again before sleeping.  Returns 1 if chains arrived in
 * the meantime (do not sleep), else 0.
 */
int
vq_notify_enable(struct virtio_vq *vq)
{
	int	more;

	pthread_mutex_lock(&vq->mtx);
	if (!vq->enabled) {
		pthread_mutex_unlock(&vq->mtx);
		return (0);
	}
	if (virtio_negotiated(vq->dev, VIRTIO_F_EVENT_IDX))
		*avail_event_ptr(vq) = vq->last_avail;
	else
		*(volatile uint16_t *)vq->used &= ~VRING_USED_F_NO_NOTIFY;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	more = vq->avail[1] != vq->last_avail && !vq_frozen(vq);
	pthread_mutex_unlock(&vq->mtx);
	return (more);
}

/* whether the driver has made chains available that vq_pop has not taken */
int
vq_has_avail(struct virtio_vq *vq)
{
	int	more;

	pthread_mutex_lock(&vq->mtx);
	more = vq->enabled && !vq_frozen(vq) &&
	    __atomic_load_n(&vq->avail[1], __ATOMIC_ACQUIRE) != vq->last_avail;
	pthread_mutex_unlock(&vq->mtx);
	return (more);
}

/*
 * The VM's virtio devices, in upstream's PCI order: the entropy device,
 * (network interfaces,) the disks, the CD-ROM, and always vmmci, the
 * legacy control device (vmmci.c).  Returns 0 or the start result
 * (VMD_* or errno) with the reason logged.
 */
int
virtio_init(struct vm *vm)
{
	struct vmop_create_params	*vmc = &vm->vm_params;
	unsigned int			 i;
	int				 n, dev;

	vm->vm_disk_pci = vm->vm_cdrom_pci = -1;
	if (viorng_init(vm) == -1) {
		log_warn("vm %s: entropy device", vm->vm_name);
		return (errno ? errno : EINVAL);
	}
	for (i = 0; i < vmc->vmc_nnics; i++) {
		if (vm->vm_tapfds[i] == -1) {
			log_warnx("vm %s: no tap for interface %u",
			    vm->vm_name, i);
			return (VMD_TAP_FAILED);
		}
		if (vionet_init(vm, i, vm->vm_tapfds[i],
		    &vm->vm_ifinfo[i]) == -1) {
			log_warn("vm %s: interface %u", vm->vm_name, i);
			return (errno ? errno : EINVAL);
		}
		vm->vm_tapfds[i] = -1;		/* the device has it */
	}
	for (i = 0; i < vmc->vmc_ndisks; i++) {
		if ((n = vm->vm_ndiskfds[i]) == 0) {
			log_warnx("vm %s: no descriptor for disk %s",
			    vm->vm_name, vmc->vmc_disks[i]);
			return (VMD_DISK_MISSING);
		}
		if ((dev = vioblk_init(vm, i, vm->vm_diskfds[i], n)) == -1) {
			if (errno == EINVAL)
				return (VMD_DISK_CORRUPT);
			log_warn("vm %s: disk %s", vm->vm_name,
			    vmc->vmc_disks[i]);
			return (errno ? errno : EINVAL);
		}
		vm->vm_ndiskfds[i] = 0;		/* the device has them */
		if (i == 0)
			vm->vm_disk_pci = dev;
	}
	if (vm->vm_cdrom != -1) {
		if ((vm->vm_cdrom_pci = vioscsi_init(vm, vm->vm_cdrom)) ==
		    -1) {
			log_warn("vm %s: cdrom %s", vm->vm_name,
			    vmc->vmc_cdrom);
			return (errno ? errno : EINVAL);
		}
		vm->vm_cdrom = -1;
	}
	if ((vm->vm_vmmci = vmmci_init(vm)) == NULL) {
		log_warn("vm %s: control device", vm->vm_name);
		return (errno ? errno : EINVAL);
	}
	return (0);
}

/*
 * Send and receive
 */

/*
 * Give back the last n chains vq_pop took, untouched: the device held
 * them without using them, and the driver will see them again as
 * available (after a save, in the VM that receives them).
 */
void
vq_unpop(struct virtio_vq *vq, unsigned int n, unsigned int gen)
{
	struct virtio_dev	*d = vq->dev;

	if (n == 0)
		return;
	pthread_mutex_lock(&vq->mtx);
	if (vq->enabled && gen == vq->gen)
		vq->last_avail -= n;
	pthread_mutex_unlock(&vq->mtx);
	if (__atomic_sub_fetch(&d->inflight, n, __ATOMIC_SEQ_CST) == 0) {
		pthread_mutex_lock(&d->mtx);
		pthread_cond_broadcast(&d->idle);
		pthread_mutex_unlock(&d->mtx);
	}
}

int
virtio_frozen(struct virtio_dev *d)
{
	return (__atomic_load_n(&d->vm->vm_iofrozen, __ATOMIC_SEQ_CST));
}

/*
 * Stop every device taking chains and wait, at most timeout_ms, until
 * none holds one: requests in flight complete (disk writes reach the
 * image), chains held for later are given back.  The vCPUs are parked.
 * -1 (with the device named in the log) if one does not go idle.
 */
int
virtio_freeze(struct vm *vm, unsigned int timeout_ms)
{
	struct virtio_dev	*d;
	struct timespec		 end;
	unsigned int		 i;
	int			 ret = 0;

	__atomic_store_n(&vm->vm_iofrozen, 1, __ATOMIC_SEQ_CST);
	clock_gettime(CLOCK_REALTIME, &end);
	end.tv_sec += timeout_ms / 1000;
	end.tv_nsec += (timeout_ms % 1000) * 1000000L;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	for (i = 0; i < vm->vm_nvdevs && ret == 0; i++) {
		d = vm->vm_vdevs[i];
		pthread_mutex_lock(&d->mtx);
		if (d->ops->release != NULL)
			d->ops->release(d);
		if (virtio_wait_idle(d, &end) == -1) {
			log_warnx("vm %s: %s: %u requests did not complete",
			    vm->vm_name, d->name, __atomic_load_n(&d->inflight,
			    __ATOMIC_SEQ_CST));
			ret = -1;
		}
		pthread_mutex_unlock(&d->mtx);
	}
	if (ret == -1)
		virtio_thaw(vm);
	return (ret);
}

/* Devices take chains again: each looks at its rings once more. */
void
virtio_thaw(struct vm *vm)
{
	struct virtio_dev	*d;
	unsigned int		 i, q;
	uint64_t		 one = 1;

	__atomic_store_n(&vm->vm_iofrozen, 0, __ATOMIC_SEQ_CST);
	for (i = 0; i < vm->vm_nvdevs; i++) {
		d = vm->vm_vdevs[i];
		for (q = 0; q < d->nqueues; q++)
			if (write(d->vq[q].kickfd, &one, sizeof(one)) == -1)
				log_debug("%s: kick: %s", d->name,
				    strerror(errno));
		if (d->ops->release != NULL) {
			pthread_mutex_lock(&d->mtx);
			d->ops->release(d);
			pthread_mutex_unlock(&d->mtx);
		}
	}
}

/* what send carries of a virtio device: all the driver set up */
struct virtio_vq_state {
	uint16_t	 size;
	uint16_t	 vector;
	uint16_t	 last_avail;
	uint16_t	 used_idx;
	uint16_t	 signalled;
	uint8_t		 enabled;
	uint8_t		 pad;
	uint64_t	 desc_gpa;
	uint64_t	 avail_gpa;
	uint64_t	 used_gpa;
} __attribute__((packed));

struct virtio_state {
	uint32_t		type;
	uint32_t		nqueues;
	uint64_t		features;
	uint64_t		driver_features;
	uint32_t		dfselect;
	uint32_t		gfselect;
	uint8_t			status;
	uint8_t			cfggen;
	uint8_t			isr;
	uint8_t			msix_enabled;
	uint8_t			msix_fmask;
	uint8_t			pad;
	uint16_t		qselect;
	uint16_t		cfg_vector;
	uint16_t		msix_nvec;
	uint32_t		cfglen;
	uint8_t			cfg[VIRTIO_CFG_MAX];
	uint32_t		table[VIRTIO_MSIX_MAX][4];
	uint64_t		pending;
	struct virtio_vq_state	vq[VIRTIO_MAX_QUEUES];
	uint8_t			devstate[VIRTIO_DEVSTATE_LEN];
} __attribute__((packed));

/* Frozen, vCPUs parked: nothing moves. */
int
virtio_save(struct vm *vm, struct vms_writer *w)
{
	struct virtio_state	 s;
	struct virtio_dev	*d;
	struct virtio_vq	*vq;
	unsigned int		 i, q;

	for (i = 0; i < vm->vm_nvdevs; i++) {
		d = vm->vm_vdevs[i];
		memset(&s, 0, sizeof(s));
		pthread_mutex_lock(&d->mtx);
		s.type = d->type;
		s.nqueues = d->nqueues;
		s.features = d->features;
		s.driver_features = d->driver_features;
		s.dfselect = d->dfselect;
		s.gfselect = d->gfselect;
		s.status = d->status;
		s.cfggen = d->cfggen;
		s.isr = d->isr;
		s.qselect = d->qselect;
		s.cfg_vector = d->cfg_vector;
		s.cfglen = d->cfglen;
		memcpy(s.cfg, d->cfg, sizeof(s.cfg));
		if (d->ops->save != NULL)
			d->ops->save(d, s.devstate);
		pthread_mutex_lock(&d->msix.mtx);
		s.msix_enabled = d->msix.enabled != 0;
		s.msix_fmask = d->msix.fmask != 0;
		s.msix_nvec = d->msix.nvec;
		memcpy(s.table, d->msix.table, sizeof(s.table));
		s.pending = d->msix.pending;
		pthread_mutex_unlock(&d->msix.mtx);
		for (q = 0; q < d->nqueues; q++) {
			vq = &d->vq[q];
			pthread_mutex_lock(&vq->mtx);
			s.vq[q].size = vq->size;
			s.vq[q].vector = vq->vector;
			s.vq[q].last_avail = vq->last_avail;
			s.vq[q].used_idx = vq->used_idx;
			s.vq[q].signalled = vq->signalled;
			s.vq[q].enabled = vq->enabled != 0;
			s.vq[q].desc_gpa = vq->desc_gpa;
			s.vq[q].avail_gpa = vq->avail_gpa;
			s.vq[q].used_gpa = vq->used_gpa;
			pthread_mutex_unlock(&vq->mtx);
		}
		pthread_mutex_unlock(&d->mtx);
		if (vms_put(w, VMS_VIRTIO, d->pcidev, &s, sizeof(s)) == -1)
			return (-1);
	}
	return (0);
}

/* Whether PCI number index is one of our virtio devices. */
int
virtio_restore_known(struct vm *vm, uint32_t index)
{
	unsigned int	i;

	for (i = 0; i < vm->vm_nvdevs; i++)
		if ((uint32_t)vm->vm_vdevs[i]->pcidev == index)
			return (1);
	return (0);
}

/*
 * The device at PCI number index, as the sender had it; before the
 * guest runs, and before its device threads see a kick.  The rings are
 * checked as the driver's own queue_enable is.
 */
const char *
virtio_restore(struct vm *vm, uint32_t index, const void *p, size_t len)
{
	struct virtio_state	*s;
	struct virtio_dev	*d = NULL;
	struct virtio_vq	*vq;
	unsigned int		 i, q;
	const char		*why = NULL;
	uint8_t			*ctl;

	for (i = 0; i < vm->vm_nvdevs; i++)
		if ((uint32_t)vm->vm_vdevs[i]->pcidev == index)
			d = vm->vm_vdevs[i];
	if (d == NULL)
		return ("no such device");
	if (len != sizeof(*s))
		return ("wrong size");
	if ((s = malloc(sizeof(*s))) == NULL)
		return ("out of memory");
	memcpy(s, p, sizeof(*s));
	if (s->type != (uint32_t)d->type || s->nqueues != d->nqueues ||
	    s->msix_nvec != d->msix.nvec || s->cfglen != d->cfglen) {
		free(s);
		return ("another kind of device");
	}
	/* the driver cannot have more than we offer */
	if ((s->driver_features & ~d->features) != 0) {
		free(s);
		return ("features this device does not offer");
	}

	pthread_mutex_lock(&d->mtx);
	if (d->ops->restore != NULL && d->ops->restore(d, s->devstate) == -1) {
		pthread_mutex_unlock(&d->mtx);
		free(s);
		return ("the device's own state");
	}
	__atomic_store_n(&d->driver_features, s->driver_features,
	    __ATOMIC_RELAXED);
	d->dfselect = s->dfselect;
	d->gfselect = s->gfselect;
	d->status = s->status;
	d->cfggen = s->cfggen;
	d->isr = s->isr;
	d->qselect = s->qselect;
	d->cfg_vector = s->cfg_vector < d->msix.nvec ? s->cfg_vector :
	    VIRTIO_NO_VECTOR;
	memcpy(d->cfg, s->cfg, sizeof(d->cfg));
	for (q = 0; q < d->nqueues; q++) {
		vq = &d->vq[q];
		pthread_mutex_lock(&vq->mtx);
		vq_clear(vq);
		vq->size = s->vq[q].size;
		vq->vector = s->vq[q].vector < d->msix.nvec ?
		    s->vq[q].vector : VIRTIO_NO_VECTOR;
		vq->desc_gpa = s->vq[q].desc_gpa;
		vq->avail_gpa = s->vq[q].avail_gpa;
		vq->used_gpa = s->vq[q].used_gpa;
		pthread_mutex_unlock(&vq->mtx);
		if (!s->vq[q].enabled)
			continue;
		vq_enable(d, vq);
		pthread_mutex_lock(&vq->mtx);
		if (!vq->enabled)
			why = "a ring outside guest memory";
		vq->last_avail = s->vq[q].last_avail;
		vq->used_idx = s->vq[q].used_idx;
		vq->signalled = s->vq[q].signalled;
		pthread_mutex_unlock(&vq->mtx);
	}
	pthread_mutex_lock(&d->msix.mtx);
	memcpy(d->msix.table, s->table, sizeof(d->msix.table));
	for (i = 0; i < d->msix.nvec; i++)
		d->msix.table[i][3] &= MSIX_ENTRY_MASKED;
	d->msix.pending = s->pending & ((1ULL << d->msix.nvec) - 1);
	d->msix.enabled = s->msix_enabled != 0;
	d->msix.fmask = s->msix_fmask != 0;
	d->msix.routed = d->msix.unroutable = 0;	/* routed when fired */
	ctl = d->msix.pcicfg + d->msix.cap + 3;
	*ctl = (*ctl & ~((MSIX_CTRL_ENABLE | MSIX_CTRL_FMASK) >> 8)) |
	    (d->msix.enabled ? MSIX_CTRL_ENABLE >> 8 : 0) |
	    (d->msix.fmask ? MSIX_CTRL_FMASK >> 8 : 0);
	pthread_mutex_unlock(&d->msix.mtx);
	if ((d->status & VIRTIO_STATUS_DRIVER_OK) && d->ops->ready != NULL)
		d->ops->ready(d);
	/* INTx as the ISR says; the restored IOAPIC keeps what it latched */
	d->irq_level = 0;
	if (d->isr != 0 && !d->msix.enabled)
		virtio_set_irq(d, 1);
	pthread_mutex_unlock(&d->mtx);
	free(s);
	return (why);
}
