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
 * virtio 1.x over PCI, as upstream lays it out: one I/O BAR holding the
 * common configuration at 0x000, the notify register at 0x100 (every
 * queue notifies there, the value written is the queue index), the ISR
 * at 0x200 and the device configuration at 0x300.  Interrupts are INTx,
 * or MSI-X once the driver enables it: one vector per queue and one for
 * configuration changes, the table and pending bits in a memory BAR
 * (BAR 1), delivered as MSIs by KVM without the ISR read INTx costs.
 *
 * Notifies reach the device as an eventfd per queue (KVM ioeventfd, so
 * a kick never leaves the kernel on the vCPU's side); devices wait on
 * those descriptors in their own threads and never block a vCPU.  The
 * split rings live in guest memory; every index and address a guest
 * gives is checked before use, and a broken ring marks the device
 * DEVICE_NEEDS_RESET instead of harming anything else.
 */

#ifndef VIRTIO_H
#define VIRTIO_H

#include <sys/types.h>
#include <sys/uio.h>
#include <pthread.h>
#include <stdint.h>

#include "vm.h"

#define VIRTIO_PCI_VENDOR		0x1af4
#define VIRTIO_PCI_PRODUCT_BASE		0x1040

#define VIRTIO_ID_NET			1
#define VIRTIO_ID_BLOCK			2
#define VIRTIO_ID_RNG			4
#define VIRTIO_ID_SCSI			8

/* device status */
#define VIRTIO_STATUS_ACK		0x01
#define VIRTIO_STATUS_DRIVER		0x02
#define VIRTIO_STATUS_DRIVER_OK		0x04
#define VIRTIO_STATUS_FEATURES_OK	0x08
#define VIRTIO_STATUS_NEEDS_RESET	0x40
#define VIRTIO_STATUS_FAILED		0x80

/* transport features */
#define VIRTIO_F_INDIRECT_DESC		(1ULL << 28)
#define VIRTIO_F_EVENT_IDX		(1ULL << 29)
#define VIRTIO_F_VERSION_1		(1ULL << 32)

#define VIRTIO_MAX_QUEUES		4
#define VIRTIO_MAX_SEGS			256	/* per request */
#define VIRTIO_CFG_MAX			64	/* device config bytes */

/* BAR layout */
#define VIRTIO_BAR_COMMON		0x000
#define VIRTIO_BAR_NOTIFY		0x100
#define VIRTIO_BAR_ISR			0x200
#define VIRTIO_BAR_DEVICE		0x300
#define VIRTIO_COMMON_LEN		0x38

/* MSI-X: BAR 1 holds the table at 0 and the pending bits at 0x800 */
#define VIRTIO_MSIX_MAX			(VIRTIO_MAX_QUEUES + 1)
#define VIRTIO_MSIX_TABLE		0x000
#define VIRTIO_MSIX_PBA			0x800
#define VIRTIO_NO_VECTOR		0xffff

/*
 * Who touches what.  Three kinds of threads reach a device: the vCPU
 * threads, through its registers (I/O BAR, MSI-X BAR, PCI config space;
 * any vCPU, several at once); its device threads, through its rings
 * (woken by the kick eventfds); and the event thread, for send and
 * receive with the vCPUs parked.  The lock order is dev->mtx, then a
 * vq->mtx or msix.mtx (pci.c's lock may come before msix.mtx, never
 * after it).  Fields not named below are set at init and never change.
 *
 * struct virtio_msix: all of it under msix.mtx (written by vCPUs, read
 * by whichever thread fires a vector).
 */
struct virtio_msix {
	pthread_mutex_t		 mtx;	/* taken last (but vmm's own) */
	unsigned int		 nvec;
	int			 enabled;
	int			 fmask;	/* the function mask */
	uint32_t		 table[VIRTIO_MSIX_MAX][4];
	uint64_t		 pending;
	/* vector v: an irqfd (bit v of irqfds) on GSI gsi[v] */
	uint64_t		 irqfds;
	uint64_t		 routed;	/* the GSI's MSI is the table's */
	uint64_t		 unroutable;	/* KVM refused the table's */
	int			 irqfd[VIRTIO_MSIX_MAX];
	int			 gsi[VIRTIO_MSIX_MAX];
	unsigned int		 cap;	/* its PCI capability's offset */
	uint8_t			*pcicfg;
	uint64_t		 bar;	/* BAR 1's address */
};

struct virtio_dev;

/* one descriptor chain, as the device sees it: the device thread's own */
struct virtio_req {
	uint16_t		 head;
	unsigned int		 gen;		/* queue generation */
	struct iovec		 iov[VIRTIO_MAX_SEGS];
	int			 nrd;		/* device-readable first */
	int			 nwr;		/* then device-writable */
	size_t			 rdlen;
	size_t			 wrlen;
};

/*
 * struct virtio_vq, one ring:
 *  - enabled, gen, size, desc, avail, used: the vCPU side writes them
 *    (queue_enable, queue_size, a reset, DEVICE_NEEDS_RESET) holding
 *    both dev->mtx and vq->mtx, so a device thread reads them steady
 *    under vq->mtx and a vCPU under dev->mtx.  A device thread uses the
 *    ring only while enabled, which it checks under vq->mtx in the same
 *    hold as the use: size and addresses change only while it is off.
 *    enabled and gen are also stored atomically, for the device threads'
 *    unlocked looks that only decide whether to look again.
 *  - last_avail, used_idx, signalled: the device threads', under
 *    vq->mtx; the vCPU side sets them only with the ring off (enable,
 *    reset) under both locks.
 *  - desc_gpa, avail_gpa, used_gpa: what the driver wrote, for it to
 *    read back and for queue_enable; written under both locks while
 *    the ring is off, read under dev->mtx.
 *  - vector: the vCPU side's, under dev->mtx (vq_interrupt takes it).
 */
struct virtio_vq {
	struct virtio_dev	*dev;
	unsigned int		 idx;
	pthread_mutex_t		 mtx;		/* pop, push, state */
	uint16_t		 maxsize;
	uint16_t		 size;
	int			 enabled;
	unsigned int		 gen;		/* bumped by reset, enable */
	uint64_t		 desc_gpa;
	uint64_t		 avail_gpa;
	uint64_t		 used_gpa;
	volatile uint8_t	*desc;
	volatile uint16_t	*avail;		/* flags, idx, ring[], used_event */
	volatile uint8_t	*used;		/* flags, idx, ring[], avail_event */
	uint16_t		 last_avail;
	uint16_t		 used_idx;
	uint16_t		 signalled;	/* used_idx at the last interrupt */
	int			 kickfd;	/* eventfd, the guest's notifies */
	uint16_t		 vector;	/* MSI-X, under dev->mtx */
};

struct virtio_ops {
	/* device config: read (bytes come from dev->cfg) or write */
	void	(*cfg_write)(struct virtio_dev *, unsigned int, int, uint32_t);
	/*
	 * The driver is resetting the device and waits for the chains the
	 * device holds: a device thread that may sleep holding some must
	 * wake up and give them back.  dev->mtx held; may be NULL.
	 */
	void	(*release)(struct virtio_dev *);
	/* the driver reset the device: every request must be forgotten */
	void	(*reset)(struct virtio_dev *);
	/* the driver set DRIVER_OK */
	void	(*ready)(struct virtio_dev *);
	/*
	 * send and receive: what the device keeps beyond the transport,
	 * in VIRTIO_DEVSTATE_LEN bytes (restore: checked, untrusted);
	 * dev->mtx held, the device idle.  May be NULL.
	 */
	void	(*save)(struct virtio_dev *, uint8_t *);
	int	(*restore)(struct virtio_dev *, const uint8_t *);
};

#define VIRTIO_DEVSTATE_LEN		16

/*
 * struct virtio_dev:
 *  - dev->mtx guards the transport registers below it: the vCPU side
 *    reads and writes them; device threads take it to raise the ISR or
 *    a vector (vq_interrupt), to mark DEVICE_NEEDS_RESET and to wake a
 *    reset (idle).  driver_features is also stored atomically: device
 *    threads read it unlocked (virtio_negotiated), and it changes only
 *    while FEATURES_OK is clear or at a reset, with the rings off.
 *  - cfg[]: written by the vCPU side and the device's init under
 *    dev->mtx; a device thread that reads a field the driver may write
 *    (vioscsi's sizes) takes dev->mtx for it.
 *  - resetting: set while a reset waits for the chains in flight (it
 *    lets go of dev->mtx then); writes of other vCPUs are dropped.
 *  - inflight: atomic; a device thread adds as it pops and takes away
 *    as it pushes, a reset or a freeze waits for 0 on idle.
 *  - softc: the device's own; each device file says who owns its parts.
 */
struct virtio_dev {
	struct vm		*vm;
	const char		*name;		/* for logs: "vioblk0" */
	int			 type;
	int			 pcidev;
	uint16_t		 iobase;
	const struct virtio_ops	*ops;
	void			*softc;

	pthread_mutex_t		 mtx;		/* the fields below */
	uint64_t		 features;	/* offered */
	uint64_t		 driver_features;
	uint32_t		 dfselect;
	uint32_t		 gfselect;
	uint8_t			 status;
	uint8_t			 cfggen;
	uint16_t		 qselect;
	uint8_t			 isr;
	int			 irq_level;
	uint16_t		 cfg_vector;	/* MSI-X for config changes */
	struct virtio_msix	 msix;
	uint8_t			 cfg[VIRTIO_CFG_MAX];
	unsigned int		 cfglen;
	int			 resetting;

	/* requests popped and not yet pushed; resets wait for them */
	unsigned int		 inflight;
	pthread_cond_t		 idle;

	unsigned int		 nqueues;
	struct virtio_vq	 vq[VIRTIO_MAX_QUEUES];
};

struct virtio_devinfo {
	const char		*name;
	int			 type;
	uint8_t			 class;
	uint8_t			 subclass;
	uint64_t		 features;	/* VERSION_1 is added */
	unsigned int		 nqueues;
	uint16_t		 qsize;
	unsigned int		 cfglen;
	const struct virtio_ops	*ops;
	void			*softc;
};

int		 virtio_init(struct vm *);
int		 virtio_dev_init(struct vm *, struct virtio_dev *,
		    const struct virtio_devinfo *);
int		 virtio_negotiated(struct virtio_dev *, uint64_t);
void		 virtio_needs_reset(struct virtio_dev *, const char *);

/* rings, from device threads */
int		 vq_pop(struct virtio_vq *, struct virtio_req *);
void		 vq_push(struct virtio_vq *, const struct virtio_req *,
		    uint32_t);
void		 vq_kick_ack(struct virtio_vq *);
void		 virtio_evfd_signal(int);
void		 virtio_evfd_drain(int);
void		 vq_wait_kick(struct virtio_vq *);
int		 vq_notify_enable(struct virtio_vq *);
int		 vq_has_avail(struct virtio_vq *);
void		 vq_notify_disable(struct virtio_vq *);
void		 vq_interrupt(struct virtio_vq *);
void		 vq_unpop(struct virtio_vq *, unsigned int, unsigned int);

/* send and receive: the devices stopped, saved, restored, started */
struct vms_writer;
int		 virtio_frozen(struct virtio_dev *);
int		 virtio_freeze(struct vm *, unsigned int);
void		 virtio_thaw(struct vm *);
int		 virtio_save(struct vm *, struct vms_writer *);
const char	*virtio_restore(struct vm *, uint32_t, const void *, size_t);
int		 virtio_restore_known(struct vm *, uint32_t);

/* copying to and from a request's buffers: iov_to_buf, buf_to_iov (disk.h) */

/* the devices */
struct vioblk;
struct vioscsi;
struct viorng;
int		 vioblk_init(struct vm *, unsigned int, int *, int);
int		 vioscsi_init(struct vm *, int);
int		 viorng_init(struct vm *);
struct vmop_if;
int		 vionet_init(struct vm *, unsigned int, int,
		    const struct vmop_if *);

#endif /* VIRTIO_H */
