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
 * PCI configuration mechanism #1 and bus 0.  BARs are placed once and
 * stay put: writes of all-ones read back the size mask (how guests size
 * a BAR), other BAR writes are ignored, so the addresses read back are
 * the ones the devices decode.  The interrupt line register likewise
 * always names the wired IRQ: SeaBIOS does not know this host bridge's
 * routing and writes 0xff ("unknown") there, which would leave an OS
 * without a _PRT nowhere to look.
 *
 * INTx# lines are level-triggered and shared, as upstream's: once each
 * IRQ of the list has a device, the next devices get them again in turn,
 * and a line is high while any device on it asserts.
 */

#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pci.h"
#include "vmstate.h"

/* config space registers */
#define PCI_ID			0x00
#define PCI_COMMAND		0x04
#define PCI_STATUS		0x06
#define PCI_REVISION		0x08
#define PCI_PROGIF		0x09
#define PCI_SUBCLASS		0x0a
#define PCI_CLASS		0x0b
#define PCI_HEADER_TYPE		0x0e
#define PCI_BAR0		0x10
#define PCI_SUBSYS_VENDOR	0x2c
#define PCI_SUBSYS_ID		0x2e
#define PCI_INTERRUPT_LINE	0x3c
#define PCI_INTERRUPT_PIN	0x3d

#define PCI_ADDR_ENABLE		0x80000000U
#define PCI_ADDR_BUS(a)		(((a) >> 16) & 0xff)
#define PCI_ADDR_DEV(a)		(((a) >> 11) & 0x1f)
#define PCI_ADDR_FN(a)		(((a) >> 8) & 0x7)
#define PCI_ADDR_REG(a)		((a) & 0xfc)

#define PCI_BAR_IO_FLAG		0x1

/* legacy IRQs for PCI devices, upstream's list without the SCI's 9 */
static const uint8_t pci_irqs[] = { 3, 5, 6, 7, 10, 11, 12, 14, 15 };

struct pci_bar {
	int		 type;		/* 0: none */
	uint64_t	 addr;
	uint64_t	 size;
	int		 sizing;	/* all-ones written: read the mask */
};

struct pci_dev {
	uint8_t			 cfg[PCI_CFG_SIZE];
	struct pci_bar		 bars[PCI_MAX_BARS];
	int			 nbars;
	int			 irq;		/* -1: none */
	int			 irq_level;
	pci_cfg_fn		 cfg_fn;
	void			*arg;
};

struct pci {
	pthread_mutex_t		 mtx;
	struct vm		*vm;
	uint32_t		 addr;		/* 0xcf8 */
	struct pci_dev		*devs[PCI_MAX_DEVICES];
	int			 ndevs;
	unsigned int		 nirqs;		/* devices given an IRQ */
	unsigned int		 asserted[16];	/* per IRQ: devices high */
	uint64_t		 next_io;
	uint64_t		 next_mmio;
};

static void
cfg_put16(uint8_t *cfg, unsigned int off, uint16_t v)
{
	memcpy(cfg + off, &v, sizeof(v));
}

static void
cfg_put32(uint8_t *cfg, unsigned int off, uint32_t v)
{
	memcpy(cfg + off, &v, sizeof(v));
}

static uint32_t
cfg_get32(const uint8_t *cfg, unsigned int off)
{
	uint32_t	v;

	memcpy(&v, cfg + off, sizeof(v));
	return (v);
}

int
pci_add_device(struct pci *pci, const struct pci_devinfo *di)
{
	struct pci_dev	*d;
	int		 id;

	pthread_mutex_lock(&pci->mtx);
	if (pci->ndevs >= PCI_MAX_DEVICES) {
		pthread_mutex_unlock(&pci->mtx);
		log_warnx("%s: PCI bus 0 is full", __func__);
		errno = ENOSPC;
		return (-1);
	}
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		pthread_mutex_unlock(&pci->mtx);
		return (-1);
	}
	cfg_put16(d->cfg, PCI_ID, di->vendor);
	cfg_put16(d->cfg, PCI_ID + 2, di->product);
	d->cfg[PCI_REVISION] = di->revision;
	d->cfg[PCI_PROGIF] = di->progif;
	d->cfg[PCI_SUBCLASS] = di->subclass;
	d->cfg[PCI_CLASS] = di->class;
	d->cfg[PCI_HEADER_TYPE] = 0;
	cfg_put16(d->cfg, PCI_SUBSYS_VENDOR, di->subsys_vendor);
	cfg_put16(d->cfg, PCI_SUBSYS_ID, di->subsys_id);
	d->irq = -1;
	if (di->want_irq) {
		d->irq = pci_irqs[pci->nirqs++ % nitems(pci_irqs)];
		d->cfg[PCI_INTERRUPT_LINE] = d->irq;
		d->cfg[PCI_INTERRUPT_PIN] = 1;	/* INTA# */
	}
	d->cfg_fn = di->cfg;
	d->arg = di->arg;
	id = pci->ndevs++;
	pci->devs[id] = d;
	pthread_mutex_unlock(&pci->mtx);
	return (id);
}

/*
 * A BAR for device id: I/O ports (io_fn) or memory (mmio_fn), placed
 * now; *addrp gets the address.  Returns the BAR number or -1.
 */
int
pci_add_bar(struct pci *pci, int id, int type, vm_io_fn io_fn,
    vm_mmio_fn mmio_fn, void *arg, uint64_t *addrp)
{
	struct pci_dev	*d;
	struct pci_bar	*b;
	uint64_t	 addr, size;
	int		 n, ret;

	pthread_mutex_lock(&pci->mtx);
	if (id < 0 || id >= pci->ndevs || (d = pci->devs[id])->nbars >=
	    PCI_MAX_BARS) {
		pthread_mutex_unlock(&pci->mtx);
		errno = EINVAL;
		return (-1);
	}
	if (type == PCI_BAR_IO) {
		size = PCI_IO_BAR_SIZE;
		addr = pci->next_io;
		if (addr + size - 1 > PCI_IO_BAR_END)
			goto full;
	} else if (type == PCI_BAR_MMIO) {
		size = PCI_MMIO_BAR_SIZE;
		addr = pci->next_mmio;
		if (addr + size > VMM_IDENTMAP_ADDR)
			goto full;
	} else {
		pthread_mutex_unlock(&pci->mtx);
		errno = EINVAL;
		return (-1);
	}
	n = d->nbars;
	b = &d->bars[n];
	pthread_mutex_unlock(&pci->mtx);

	if (type == PCI_BAR_IO)
		ret = vm_ioport_register(pci->vm, addr, size, io_fn, arg);
	else
		ret = vm_mmio_register(pci->vm, addr, size, mmio_fn, arg);
	if (ret == -1)
		return (-1);

	pthread_mutex_lock(&pci->mtx);
	if (type == PCI_BAR_IO) {
		pci->next_io += size;
		cfg_put32(d->cfg, PCI_BAR0 + 4 * n, addr | PCI_BAR_IO_FLAG);
	} else {
		pci->next_mmio += size;
		cfg_put32(d->cfg, PCI_BAR0 + 4 * n, addr);
	}
	b->type = type;
	b->addr = addr;
	b->size = size;
	d->nbars++;
	pthread_mutex_unlock(&pci->mtx);
	if (addrp != NULL)
		*addrp = addr;
	return (n);
 full:
	pthread_mutex_unlock(&pci->mtx);
	log_warnx("%s: out of PCI %s space", __func__,
	    type == PCI_BAR_IO ? "I/O" : "memory");
	errno = ENOSPC;
	return (-1);
}

int
pci_get_irq(struct pci *pci, int id)
{
	if (id < 0 || id >= pci->ndevs)
		return (-1);
	return (pci->devs[id]->irq);
}

/*
 * INTx# of device id, level-triggered.  The line only moves when the
 * first device on it asserts or the last one deasserts.
 */
void
pci_set_irq(struct pci *pci, int id, int level)
{
	struct pci_dev	*d;
	unsigned int	*n;

	level = level != 0;
	if (id < 0 || id >= pci->ndevs || (d = pci->devs[id])->irq == -1)
		return;
	pthread_mutex_lock(&pci->mtx);
	if (d->irq_level != level) {
		d->irq_level = level;
		n = &pci->asserted[d->irq];
		if (level && (*n)++ == 0)
			vm_irq_line(pci->vm, d->irq, 1);
		else if (!level && --(*n) == 0)
			vm_irq_line(pci->vm, d->irq, 0);
	}
	pthread_mutex_unlock(&pci->mtx);
}

uint8_t *
pci_cfg_space(struct pci *pci, int id)
{
	if (id < 0 || id >= pci->ndevs)
		return (NULL);
	return (pci->devs[id]->cfg);
}

static uint32_t
pci_cfg_read(struct pci_dev *d, unsigned int reg)
{
	struct pci_bar	*b;
	unsigned int	 n;

	if (reg >= PCI_BAR0 && reg < PCI_BAR0 + 4 * PCI_MAX_BARS) {
		n = (reg - PCI_BAR0) / 4;
		b = &d->bars[n];
		if (b->type != 0 && b->sizing)
			return ((uint32_t)~(b->size - 1) |
			    (b->type == PCI_BAR_IO ? PCI_BAR_IO_FLAG : 0));
	}
	return (cfg_get32(d->cfg, reg));
}

/* the 32-bit register at reg, with the bytes in mask replaced */
static void
pci_cfg_write(struct pci_dev *d, unsigned int reg, uint32_t val,
    uint32_t mask)
{
	struct pci_bar	*b;
	uint32_t	 old, v;

	if (reg >= PCI_BAR0 && reg < PCI_BAR0 + 4 * PCI_MAX_BARS) {
		b = &d->bars[(reg - PCI_BAR0) / 4];
		if (b->type != 0)
			b->sizing = (val | ~mask) == 0xffffffff;
		return;
	}
	old = cfg_get32(d->cfg, reg);
	v = (old & ~mask) | (val & mask);
	switch (reg) {
	case PCI_COMMAND:
		/* command is writable; status bits are write-1-to-clear */
		v = (v & 0x0000ffff) | (old & 0xffff0000 &
		    ~(val & mask & 0xffff0000));
		break;
	default:
		/* identification, the IRQ wiring and the rest: read-only */
		return;
	}
	cfg_put32(d->cfg, reg, v);
}

static void
pci_addr_io(void *arg, uint16_t port, int size, int in, uint32_t *data)
{
	struct pci	*pci = arg;

	(void)port;
	if (size != 4) {
		/* not mechanism #1: reads float */
		if (in)
			*data = 0xffffffff;
		return;
	}
	pthread_mutex_lock(&pci->mtx);
	if (in)
		*data = pci->addr;
	else
		pci->addr = *data & 0x80fffffc;
	pthread_mutex_unlock(&pci->mtx);
}

static void
pci_data_io(void *arg, uint16_t port, int size, int in, uint32_t *data)
{
	struct pci	*pci = arg;
	struct pci_dev	*d = NULL;
	unsigned int	 off = port - PCI_MODE1_DATA, reg, dev;
	uint32_t	 a, v, mask;

	if (size == 4)
		mask = 0xffffffff;
	else if (size == 2)
		mask = 0xffff;
	else
		mask = 0xff;
	if (off + size > 4) {
		if (in)
			*data = 0xffffffff;
		return;
	}

	pthread_mutex_lock(&pci->mtx);
	a = pci->addr;
	dev = PCI_ADDR_DEV(a);
	reg = PCI_ADDR_REG(a);
	if ((a & PCI_ADDR_ENABLE) && PCI_ADDR_BUS(a) == 0 &&
	    PCI_ADDR_FN(a) == 0 && dev < (unsigned int)pci->ndevs)
		d = pci->devs[dev];
	if (d == NULL) {
		pthread_mutex_unlock(&pci->mtx);
		if (in)
			*data = 0xffffffff;
		return;
	}
	if (in) {
		v = 0;
		if (d->cfg_fn == NULL ||
		    d->cfg_fn(d->arg, 1, reg, 4, &v) == -1)
			v = pci_cfg_read(d, reg);
		*data = (v >> (8 * off)) & mask;
	} else {
		v = (*data & mask) << (8 * off);
		if (d->cfg_fn == NULL ||
		    d->cfg_fn(d->arg, 0, reg + off, size, data) == -1)
			pci_cfg_write(d, reg, v, mask << (8 * off));
	}
	pthread_mutex_unlock(&pci->mtx);
}

struct pci *
pci_init(struct vm *vm)
{
	struct pci		*pci;
	struct pci_devinfo	 hb;

	if ((pci = calloc(1, sizeof(*pci))) == NULL)
		return (NULL);
	pthread_mutex_init(&pci->mtx, NULL);
	pci->vm = vm;
	pci->next_io = PCI_IO_BAR_BASE;
	pci->next_mmio = VM_PCI_MMIO_BASE;
	/* 0xcf8 only: 0xcf9 is the reset control register */
	if (vm_ioport_register(vm, PCI_MODE1_ADDRESS, 1, pci_addr_io,
	    pci) == -1 ||
	    vm_ioport_register(vm, PCI_MODE1_DATA, 4, pci_data_io, pci) == -1)
		goto fail;

	/* 00:00.0, the host bridge: upstream's OpenBSD PCHB */
	memset(&hb, 0, sizeof(hb));
	hb.vendor = PCI_VENDOR_OPENBSD;
	hb.product = PCI_PRODUCT_OPENBSD_PCHB;
	hb.class = PCI_CLASS_BRIDGE;
	hb.subclass = PCI_SUBCLASS_BRIDGE_HOST;
	if (pci_add_device(pci, &hb) != 0)
		goto fail;
	return (pci);
 fail:
	free(pci);
	return (NULL);
}

/*
 * What send carries: the address register and, per device, what the
 * guest can change here: the command and status word and which BARs
 * it is sizing.  Capabilities belong to their devices (virtio saves its
 * MSI-X); identification and wiring are rebuilt the same from the
 * parameters.  Interrupt lines are asserted again by their devices.
 */
struct pci_state_dev {
	uint32_t	 cmdsts;
	uint8_t		 sizing;	/* bit n: BAR n */
	uint8_t		 pad[3];
} __attribute__((packed));

struct pci_state {
	uint32_t		 addr;
	uint32_t		 ndevs;
	struct pci_state_dev	 devs[PCI_MAX_DEVICES];
} __attribute__((packed));

int
pci_save(struct pci *pci, struct vms_writer *w)
{
	struct pci_state	 s;
	struct pci_dev		*d;
	int			 i, n;

	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&pci->mtx);
	s.addr = pci->addr;
	s.ndevs = pci->ndevs;
	for (i = 0; i < pci->ndevs; i++) {
		d = pci->devs[i];
		s.devs[i].cmdsts = cfg_get32(d->cfg, PCI_COMMAND);
		for (n = 0; n < d->nbars; n++)
			if (d->bars[n].sizing)
				s.devs[i].sizing |= 1 << n;
	}
	pthread_mutex_unlock(&pci->mtx);
	return (vms_put(w, VMS_PCI, 0, &s, sizeof(s)));
}

const char *
pci_restore(struct pci *pci, const void *p, size_t len)
{
	struct pci_state	*s;
	struct pci_dev		*d;
	int			 i, n;

	if (len != sizeof(*s))
		return ("wrong size");
	if ((s = malloc(sizeof(*s))) == NULL)
		return ("out of memory");
	memcpy(s, p, sizeof(*s));
	pthread_mutex_lock(&pci->mtx);
	if (s->ndevs != (uint32_t)pci->ndevs) {
		pthread_mutex_unlock(&pci->mtx);
		free(s);
		return ("another number of PCI devices");
	}
	pci->addr = s->addr & 0x80fffffc;
	for (i = 0; i < pci->ndevs; i++) {
		d = pci->devs[i];
		cfg_put32(d->cfg, PCI_COMMAND, s->devs[i].cmdsts);
		for (n = 0; n < d->nbars; n++)
			d->bars[n].sizing = (s->devs[i].sizing >> n) & 1;
	}
	pthread_mutex_unlock(&pci->mtx);
	free(s);
	return (NULL);
}
