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
 * Virtio 1.x over PCI, for the test guest: bus 0 scan, the vendor
 * capabilities that place the common, notify, ISR and device structures
 * in I/O or memory BARs (mapped here if above the identity map), BAR
 * assignment when the firmware left one unassigned, device
 * initialisation, one or two split virtqueues per device and legacy INTx
 * (level-triggered, acknowledged by reading the ISR) or MSI-X.
 *
 * Commands run one at a time: a command posts a batch of chains, kicks,
 * then sleeps in hlt until the device's interrupt; the used ring is only
 * looked at after an interrupt of that device, so a device that never
 * interrupts times out instead of passing by accident.
 */

#include "virtio.h"

#define PCI_ADDR		0xcf8
#define PCI_DATA		0xcfc
#define PCI_ID			0x00
#define PCI_CMD			0x04
#define  PCI_CMD_IO		0x0001
#define  PCI_CMD_MEM		0x0002
#define  PCI_CMD_MASTER		0x0004
#define  PCI_STATUS_CAPLIST	0x00100000	/* in the PCI_CMD dword */
#define PCI_HDRTYPE		0x0c
#define PCI_BAR0		0x10
#define PCI_SUBSYS		0x2c
#define PCI_CAPPTR		0x34
#define PCI_INTLINE		0x3c
#define PCI_CAP_VENDOR		0x09
#define PCI_CAP_MSIX		0x11
#define MSIX_ENABLE		0x80000000U	/* in the capability's dword */
#define MSIX_MASKED		1
#define LAPIC_BASE		0xfee00000ULL
#define LAPIC_EOI		0xb0
#define LAPIC_SVR		0xf0
#define LAPIC_SVR_ENABLE	0x100
#define LAPIC_LVT0		0x350
#define LAPIC_LVT1		0x360
#define LAPIC_EXTINT		0x700
#define LAPIC_NMI		0x400

#define VIRTIO_VENDOR		0x1af4

/* virtio_pci_cap cfg_type */
#define VPCI_COMMON		1
#define VPCI_NOTIFY		2
#define VPCI_ISR		3
#define VPCI_DEVICE		4

/* Common configuration structure. */
#define VC_DFSELECT		0
#define VC_DF			4
#define VC_GFSELECT		8
#define VC_GF			12
#define VC_MSIX			16
#define VC_NUMQ			18
#define VC_STATUS		20
#define VC_GEN			21
#define VC_QSELECT		22
#define VC_QSIZE		24
#define VC_QMSIX		26
#define VC_QENABLE		28
#define VC_QNOTIFYOFF		30
#define VC_QDESC		32
#define VC_QDRIVER		40
#define VC_QDEVICE		48
#define VC_SIZE			56

#define VS_ACK			0x01
#define VS_DRIVER		0x02
#define VS_DRIVER_OK		0x04
#define VS_FEATURES_OK		0x08
#define VS_NEEDS_RESET		0x40
#define VS_FAILED_BIT		0x80

/* One queue of up to 256 entries, its busy map at the end. */
#define RINGMEM			8192
#define RINGBUSY		(RINGMEM - VQ_MAXSIZE)
#define NRINGS			20
#define NPTPAGES		8

#define PG_P			0x001
#define PG_RW			0x002
#define PG_PWT			0x008
#define PG_PCD			0x010
#define PG_PS			0x080
#define PG_FRAME		0x000ffffffffff000ULL
#define NBPD			0x200000ULL

#define barrier()		__asm__ volatile("" : : : "memory")

extern uint64_t		pml4[512];	/* head.S */

volatile uint16_t	vio_irqmask;
int			vio_msix_wanted;
volatile unsigned int	vio_msi2;
static struct vdev	vdevs[VIO_MAXDEV];
static int		nvdev = -1;	/* -1: not scanned yet */
static int		nrings, nptpages;

static uint8_t	ringpool[NRINGS][RINGMEM]
		    __attribute__((__section__(".noinit"), __aligned__(4096)));
static uint64_t	ptpool[NPTPAGES][512]
		    __attribute__((__section__(".noinit"), __aligned__(4096)));

/* ---- PCI configuration space (mechanism #1, bus 0) ---- */

uint32_t
pci_read32(int dev, int fn, int reg)
{
	outl(PCI_ADDR, 0x80000000U | dev << 11 | fn << 8 | (reg & 0xfc));
	return inl(PCI_DATA);
}

void
pci_write32(int dev, int fn, int reg, uint32_t v)
{
	outl(PCI_ADDR, 0x80000000U | dev << 11 | fn << 8 | (reg & 0xfc));
	outl(PCI_DATA, v);
}

static uint8_t
pci_read8(int dev, int fn, int reg)
{
	return pci_read32(dev, fn, reg) >> ((reg & 3) * 8);
}

/* ---- memory mapping of BARs above the identity map ---- */

static void
fill64(uint64_t *p, uint64_t v, size_t n)
{
	while (n-- > 0)
		*p++ = v;
}

static uint64_t *
pt_next(uint64_t *table, int i)
{
	uint64_t *next;

	if (table[i] & PG_P)
		return (uint64_t *)(table[i] & PG_FRAME);
	if (nptpages >= NPTPAGES)
		return NULL;
	next = ptpool[nptpages++];
	fill64(next, 0, 512);
	table[i] = (uint64_t)next | PG_P | PG_RW;
	return next;
}

/* Identity-map [pa, pa + len) uncached with 2 MiB pages. */
static int
map_mmio(uint64_t pa, uint64_t len)
{
	uint64_t va, *pdpt, *pd;

	if (len == 0 || pa + len > (1ULL << 47) || pa + len < pa)
		return -1;
	for (va = pa & ~(NBPD - 1); va < pa + len; va += NBPD) {
		if (va + NBPD <= MAPPED_TOP)
			continue;	/* RAM map; no BAR lives there */
		if ((pdpt = pt_next(pml4, va >> 39 & 511)) == NULL ||
		    (pd = pt_next(pdpt, va >> 30 & 511)) == NULL)
			return -1;
		pd[va >> 21 & 511] = va | PG_P | PG_RW | PG_PS | PG_PWT |
		    PG_PCD;
		__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
	}
	return 0;
}

/* ---- BARs ---- */

struct range {
	uint64_t	base, size;
};

#define NRANGES		64

/* Size a BAR with decoding off; returns its size, 0 if none. */
static uint64_t
bar_size(int dev, int fn, int bar, uint32_t *lo, uint32_t *hi, int *is64)
{
	uint32_t cmd, v, mlo, mhi = 0xffffffff;
	int reg = PCI_BAR0 + 4 * bar;

	cmd = pci_read32(dev, fn, PCI_CMD) & 0xffff;
	pci_write32(dev, fn, PCI_CMD, cmd & ~(PCI_CMD_IO | PCI_CMD_MEM));
	*lo = v = pci_read32(dev, fn, reg);
	*hi = 0;
	*is64 = (v & 7) == 4;
	pci_write32(dev, fn, reg, 0xffffffff);
	mlo = pci_read32(dev, fn, reg);
	pci_write32(dev, fn, reg, v);
	if (*is64 && bar < 5) {
		*hi = pci_read32(dev, fn, reg + 4);
		pci_write32(dev, fn, reg + 4, 0xffffffff);
		mhi = pci_read32(dev, fn, reg + 4);
		pci_write32(dev, fn, reg + 4, *hi);
	}
	pci_write32(dev, fn, PCI_CMD, cmd);
	if (v & 1) {
		mlo |= 0xffff0000;
		return (uint32_t)~(mlo & ~3U) + 1;
	}
	if (!*is64)
		mhi = 0xffffffff;
	return ~(((uint64_t)mhi << 32 | mlo) & ~0xfULL) + 1;
}

/* Everything decoded on bus 0, and RAM, that a new BAR must avoid. */
static int
used_ranges(struct range *r)
{
	uint32_t lo, hi, id;
	uint64_t e, sz;
	int dev, fn, bar, is64, n = 0, nfn;
	uint32_t i;

	for (dev = 0; dev < 32; dev++) {
		if ((pci_read32(dev, 0, PCI_ID) & 0xffff) == 0xffff)
			continue;
		nfn = (pci_read32(dev, 0, PCI_HDRTYPE) & 0x00800000) ? 8 : 1;
		for (fn = 0; fn < nfn; fn++) {
			id = pci_read32(dev, fn, PCI_ID);
			if ((id & 0xffff) == 0xffff ||
			    (pci_read32(dev, fn, PCI_HDRTYPE) & 0x7f0000) != 0)
				continue;
			for (bar = 0; bar < 6 && n < NRANGES; bar++) {
				sz = bar_size(dev, fn, bar, &lo, &hi, &is64);
				if (sz != 0 && ((lo & 1) ? lo & ~3U : lo & ~0xfU))
					r[n++] = (struct range){ (lo & 1) ?
					    lo & ~3U : ((uint64_t)hi << 32 |
					    (lo & ~0xfU)), sz };
				if (is64 && !(lo & 1))
					bar++;
			}
		}
	}
	for (i = 0; i < bootinfo.bi_e820n && n < NRANGES; i++) {
		e = bootinfo.bi_e820 + (uint64_t)i * bootinfo.bi_e820stride;
		if (mapped(e, 20))
			r[n++] = (struct range){ rd64(e), rd64(e + 8) };
	}
	return n;
}

static int
overlaps(const struct range *r, int n, uint64_t base, uint64_t size)
{
	int i;

	for (i = 0; i < n; i++)
		if (base < r[i].base + r[i].size && r[i].base < base + size)
			return 1;
	return 0;
}

/*
 * The firmware left a BAR at 0: place it in a free, aligned range
 * (ports 0x1000-0xffff, memory 3 GiB-0xfec00000).
 */
static uint64_t
bar_assign(int dev, int fn, int bar)
{
	struct range r[NRANGES];
	uint64_t sz, a, step, lim;
	uint32_t lo, hi;
	int n, is64, reg = PCI_BAR0 + 4 * bar;

	sz = bar_size(dev, fn, bar, &lo, &hi, &is64);
	if (sz == 0 || sz > 0x10000000)
		return 0;
	n = used_ranges(r);
	if (lo & 1) {
		a = 0x1000;
		lim = 0x10000;
		step = sz;
	} else {
		a = 0xc0000000;
		lim = 0xfec00000;
		step = sz > 0x100000 ? sz : 0x100000;
	}
	for (a = (a + sz - 1) & ~(sz - 1); a + sz <= lim; a += step) {
		if (overlaps(r, n, a, sz))
			continue;
		pci_write32(dev, fn, reg, (uint32_t)a | (lo & ((lo & 1) ?
		    3 : 0xf)));
		if (is64 && !(lo & 1))
			pci_write32(dev, fn, reg + 4, 0);
		return a;
	}
	return 0;
}

/* Address of a BAR, assigning one if needed; *io tells the kind. */
static uint64_t
bar_addr(int dev, int fn, int bar, int *io)
{
	uint32_t lo, hi = 0;
	uint64_t a;

	lo = pci_read32(dev, fn, PCI_BAR0 + 4 * bar);
	*io = lo & 1;
	if (*io)
		a = lo & ~3U;
	else {
		if ((lo & 6) == 4 && bar < 5)
			hi = pci_read32(dev, fn, PCI_BAR0 + 4 * bar + 4);
		a = (uint64_t)hi << 32 | (lo & ~0xfU);
	}
	if (a == 0)
		a = bar_assign(dev, fn, bar);
	return a;
}

/* ---- register access through a region ---- */

static uint8_t
r8(const struct vregion *r, uint32_t off)
{
	if (r->io)
		return inb(r->base + off);
	return *(volatile uint8_t *)(r->base + off);
}

static uint16_t
r16(const struct vregion *r, uint32_t off)
{
	if (r->io)
		return inw(r->base + off);
	return *(volatile uint16_t *)(r->base + off);
}

static uint32_t
r32(const struct vregion *r, uint32_t off)
{
	if (r->io)
		return inl(r->base + off);
	return *(volatile uint32_t *)(r->base + off);
}

static void
w8(const struct vregion *r, uint32_t off, uint8_t v)
{
	if (r->io)
		outb(r->base + off, v);
	else
		*(volatile uint8_t *)(r->base + off) = v;
}

static void
w16(const struct vregion *r, uint32_t off, uint16_t v)
{
	if (r->io)
		outw(r->base + off, v);
	else
		*(volatile uint16_t *)(r->base + off) = v;
}

static void
w32(const struct vregion *r, uint32_t off, uint32_t v)
{
	if (r->io)
		outl(r->base + off, v);
	else
		*(volatile uint32_t *)(r->base + off) = v;
}

static void
w64(const struct vregion *r, uint32_t off, uint64_t v)
{
	w32(r, off, (uint32_t)v);
	w32(r, off + 4, v >> 32);
}

uint8_t
vio_cfg8(struct vdev *vd, uint32_t off)
{
	return off < vd->devcfg.len ? r8(&vd->devcfg, off) : 0;
}

uint16_t
vio_cfg16(struct vdev *vd, uint32_t off)
{
	return off + 2 <= vd->devcfg.len ? r16(&vd->devcfg, off) : 0;
}

uint32_t
vio_cfg32(struct vdev *vd, uint32_t off)
{
	return off + 4 <= vd->devcfg.len ? r32(&vd->devcfg, off) : 0;
}

/* 64-bit fields are read as two 32-bit halves under config_generation. */
uint64_t
vio_cfg64(struct vdev *vd, uint32_t off)
{
	uint64_t v;
	uint8_t gen;
	int i;

	for (i = 0; i < 10; i++) {
		gen = vio_cfggen(vd);
		v = vio_cfg32(vd, off) | (uint64_t)vio_cfg32(vd, off + 4) << 32;
		if (vio_cfggen(vd) == gen)
			break;
	}
	return v;
}

uint8_t
vio_cfggen(struct vdev *vd)
{
	return r8(&vd->common, VC_GEN);
}

void
vio_cfgw8(struct vdev *vd, uint32_t off, uint8_t v)
{
	if (off < vd->devcfg.len)
		w8(&vd->devcfg, off, v);
}

/* ---- discovery ---- */

static void
parse_caps(struct vdev *vd)
{
	struct vregion *r;
	uint32_t v;
	int ptr, n, type, bar;

	if (!(pci_read32(vd->dev, vd->fn, PCI_CMD) & PCI_STATUS_CAPLIST))
		return;
	ptr = pci_read8(vd->dev, vd->fn, PCI_CAPPTR) & 0xfc;
	for (n = 0; ptr >= 0x40 && n < 48; n++) {
		v = pci_read32(vd->dev, vd->fn, ptr);
		if ((v & 0xff) == PCI_CAP_MSIX && vd->msix_cap == 0)
			vd->msix_cap = ptr;
		if ((v & 0xff) == PCI_CAP_VENDOR) {
			type = v >> 24;
			switch (type) {
			case VPCI_COMMON:
				r = &vd->common;
				break;
			case VPCI_NOTIFY:
				r = &vd->notify;
				break;
			case VPCI_ISR:
				r = &vd->isr;
				break;
			case VPCI_DEVICE:
				r = &vd->devcfg;
				break;
			default:
				r = NULL;
				break;
			}
			/* the first one of each type whose BAR exists */
			bar = pci_read8(vd->dev, vd->fn, ptr + 4);
			if (r != NULL && !r->found && bar <= 5) {
				r->found = 1;
				r->bar = bar;
				r->base = pci_read32(vd->dev, vd->fn, ptr + 8);
				r->len = pci_read32(vd->dev, vd->fn, ptr + 12);
				if (type == VPCI_NOTIFY)
					vd->notify_mult = pci_read32(vd->dev,
					    vd->fn, ptr + 16);
			}
		}
		ptr = (v >> 8) & 0xfc;
	}
}

/* The kind of BAR the common configuration lives in: "io", "mem", "none". */
static const char *
bar_kind(struct vdev *vd)
{
	if (!vd->common.found)
		return "none";
	return (pci_read32(vd->dev, vd->fn, PCI_BAR0 + 4 * vd->common.bar) &
	    1) ? "io" : "mem";
}

/* Turn BAR-relative regions into addresses; map memory ones. */
static const char *
resolve(struct vdev *vd)
{
	struct vregion *regs[4] = { &vd->common, &vd->notify, &vd->isr,
	    &vd->devcfg };
	uint64_t base[6] = { 0 };
	uint32_t cmd;
	int i, io, kind[6] = { 0 };	/* 1 io, 2 mem */

	for (i = 0; i < 4; i++) {
		if (!regs[i]->found)
			continue;
		if (kind[regs[i]->bar] == 0) {
			base[regs[i]->bar] = bar_addr(vd->dev, vd->fn,
			    regs[i]->bar, &io);
			if (base[regs[i]->bar] == 0)
				return "BAR unassigned, no room";
			kind[regs[i]->bar] = io ? 1 : 2;
		}
		regs[i]->io = kind[regs[i]->bar] == 1;
		regs[i]->base += base[regs[i]->bar];
		if (regs[i]->io && regs[i]->base + regs[i]->len > 0x10000)
			return "I/O BAR beyond 64 KiB";
		if (!regs[i]->io && map_mmio(regs[i]->base, regs[i]->len) != 0)
			return "cannot map BAR";
	}
	cmd = pci_read32(vd->dev, vd->fn, PCI_CMD) & 0xffff;
	cmd |= PCI_CMD_MASTER;
	for (i = 0; i < 6; i++)
		cmd |= kind[i] == 1 ? PCI_CMD_IO : kind[i] == 2 ?
		    PCI_CMD_MEM : 0;
	pci_write32(vd->dev, vd->fn, PCI_CMD, cmd);
	return NULL;
}

/*
 * Find the virtio functions on bus 0, in PCI order, once.  Each modern
 * one is reset, so that nothing the firmware left running can hold a
 * shared interrupt line up.
 */
int
vio_scan(void)
{
	struct vdev *vd;
	uint32_t id, sub;
	uint8_t line;
	int dev, fn, nfn;

	if (nvdev >= 0)
		return nvdev;
	nvdev = 0;
	for (dev = 0; dev < 32; dev++) {
		if ((pci_read32(dev, 0, PCI_ID) & 0xffff) == 0xffff)
			continue;
		nfn = (pci_read32(dev, 0, PCI_HDRTYPE) & 0x00800000) ? 8 : 1;
		for (fn = 0; fn < nfn && nvdev < VIO_MAXDEV; fn++) {
			id = pci_read32(dev, fn, PCI_ID);
			if ((id & 0xffff) != VIRTIO_VENDOR ||
			    (id >> 16) < 0x1000 || (id >> 16) > 0x107f)
				continue;
			vd = &vdevs[nvdev++];
			vd->dev = dev;
			vd->fn = fn;
			vd->pciid = id >> 16;
			if (vd->pciid >= 0x1040)
				vd->type = vd->pciid - 0x1040;
			else {
				/* transitional: the subsystem id is the type */
				sub = pci_read32(dev, fn, PCI_SUBSYS) >> 16;
				vd->type = sub < 64 ? sub : 0;
			}
			line = pci_read8(dev, fn, PCI_INTLINE);
			vd->irq = line > 0 && line < 16 && line != 2 ? line : -1;
			parse_caps(vd);
			if (!vd->common.found || !vd->notify.found ||
			    !vd->isr.found) {
				vd->state = VS_FAILED;
				vd->err = "no virtio 1.x capabilities";
				continue;
			}
			if ((vd->err = resolve(vd)) != NULL) {
				vd->state = VS_FAILED;
				continue;
			}
			vio_reset(vd);
		}
	}
	return nvdev;
}

struct vdev *
vio_nth(int i)
{
	if (i < 0 || i >= vio_scan())
		return NULL;
	return &vdevs[i];
}

/* The n-th device of a type, in PCI order. */
struct vdev *
vio_get(int type, int n)
{
	int i;

	for (i = 0; i < vio_scan(); i++)
		if (vdevs[i].type == type && n-- == 0)
			return &vdevs[i];
	return NULL;
}

static const char *
vio_kindname(struct vdev *vd)
{
	switch (vd->type) {
	case VIRTIO_ID_BLK:
		return "blk";
	case VIRTIO_ID_SCSI:
		return "scsi";
	case VIRTIO_ID_RNG:
		return "rng";
	case VIRTIO_ID_NET:
		return "net";
	}
	return "other";
}

void
cmd_virtio(const char *arg)
{
	struct vdev *vd;
	int i;

	(void)arg;
	for (i = 0; (vd = vio_nth(i)) != NULL; i++)
		kprintf("VIRTIO 00:%02x.%x %s id=%04x bar=%s\n", vd->dev,
		    vd->fn, vio_kindname(vd), vd->pciid, bar_kind(vd));
	kprintf("VIRTIO END %d\n", i);
}

/* ---- MSI-X ---- */

static int	lapic_on;

volatile uint32_t *
lapic_reg(uint32_t reg)
{
	return (volatile uint32_t *)(LAPIC_BASE + reg);
}

/*
 * The local APIC, software-enabled so that MSIs reach the CPU; LINT0
 * stays ExtINT, so the 8259's interrupts come as before.
 */
int
lapic_init(void)
{
	if (lapic_on)
		return 0;
	if (map_mmio(LAPIC_BASE, 0x1000) != 0)
		return -1;
	/* enabled first: while it is disabled, LVT writes stay masked */
	*lapic_reg(LAPIC_SVR) = LAPIC_SVR_ENABLE | VEC_SPURIOUS;
	*lapic_reg(LAPIC_LVT0) = LAPIC_EXTINT;
	*lapic_reg(LAPIC_LVT1) = LAPIC_NMI;
	lapic_on = 1;
	return 0;
}

void
lapic_eoi(void)
{
	*lapic_reg(LAPIC_EOI) = 0;
}

volatile uint32_t *
vio_msix_entry(struct vdev *vd, int v)
{
	return (volatile uint32_t *)(vd->msix_table + 16 * v);
}

/* the MSI vector: every MSI-X device may have completed something */
void
vio_msi(void)
{
	int i;

	for (i = 0; i < nvdev; i++)
		if (vdevs[i].msix)
			vdevs[i].intrs++;
}

/*
 * MSI-X on or off for the selected (first) queue, before the queue is
 * enabled: vector 0 for configuration changes, 1 for the queue, all to
 * VEC_MSI on CPU 0, the others masked.  With nq queues, vectors 1..nq
 * are unmasked if the table has them (msix_queue gives the others
 * theirs), else they all share vector 1.
 */
static const char *
msix_setup(struct vdev *vd, int on, int nq)
{
	const struct vregion *c = &vd->common;
	uint32_t ctl, t, p, cmd;
	uint64_t tb, pb;
	int io, nvec, v;

	vd->msix = 0;
	if (vd->msix_cap == 0)
		return on ? "no MSI-X capability" : NULL;
	ctl = pci_read32(vd->dev, vd->fn, vd->msix_cap);
	if (!on) {
		if (ctl & MSIX_ENABLE)
			pci_write32(vd->dev, vd->fn, vd->msix_cap,
			    ctl & ~MSIX_ENABLE);
		return NULL;
	}
	nvec = ((ctl >> 16) & 0x7ff) + 1;
	if (nvec < 2)
		return "too few MSI-X vectors";
	vd->msix_nvec = nvec;
	if (vd->msix_table == 0) {
		t = pci_read32(vd->dev, vd->fn, vd->msix_cap + 4);
		p = pci_read32(vd->dev, vd->fn, vd->msix_cap + 8);
		tb = bar_addr(vd->dev, vd->fn, t & 7, &io);
		if (tb == 0 || io)
			return "MSI-X table not in a memory BAR";
		pb = bar_addr(vd->dev, vd->fn, p & 7, &io);
		if (pb == 0 || io)
			return "MSI-X PBA not in a memory BAR";
		tb += t & ~7U;
		pb += p & ~7U;
		if (map_mmio(tb, 16 * nvec) != 0 || map_mmio(pb, 8) != 0)
			return "cannot map the MSI-X table";
		cmd = pci_read32(vd->dev, vd->fn, PCI_CMD) & 0xffff;
		pci_write32(vd->dev, vd->fn, PCI_CMD, cmd | PCI_CMD_MEM);
		vd->msix_table = tb;
		vd->msix_pba = pb;
	}
	if (lapic_init() != 0)
		return "cannot map the local APIC";
	for (v = 0; v < nvec; v++) {
		vio_msix_entry(vd, v)[3] = MSIX_MASKED;
		vio_msix_entry(vd, v)[0] = (uint32_t)LAPIC_BASE;
		vio_msix_entry(vd, v)[1] = 0;
		vio_msix_entry(vd, v)[2] = VEC_MSI;
		if (v < 2 || (v <= nq && nvec > nq))
			vio_msix_entry(vd, v)[3] = 0;
	}
	w16(c, VC_MSIX, 0);
	if (r16(c, VC_MSIX) != 0)
		return "config MSI-X vector refused";
	w16(c, VC_QMSIX, 1);
	if (r16(c, VC_QMSIX) != 1)
		return "queue MSI-X vector refused";
	pci_write32(vd->dev, vd->fn, vd->msix_cap, ctl | MSIX_ENABLE);
	vd->msix = 1;
	return NULL;
}

/* The vector of the selected queue i > 0: its own if there are enough. */
static const char *
msix_queue(struct vdev *vd, int i, int nq)
{
	const struct vregion *c = &vd->common;
	uint16_t v = vd->msix_nvec > nq ? i + 1 : 1;

	w16(c, VC_QMSIX, v);
	if (r16(c, VC_QMSIX) != v)
		return "queue MSI-X vector refused";
	return NULL;
}

/* ---- initialisation ---- */

/* Reset: write 0, then wait for the device to read back 0. */
void
vio_reset(struct vdev *vd)
{
	int i;

	w8(&vd->common, VC_STATUS, 0);
	for (i = 0; i < 1000 && r8(&vd->common, VC_STATUS) != 0; i++)
		;
	(void)r8(&vd->isr, 0);
	if (vd->state == VS_READY)
		vd->state = VS_NEW;
	vd->vq.inflight = 0;
	vd->vq1.inflight = 0;
}

static const char *
vio_fail(struct vdev *vd, const char *why)
{
	w8(&vd->common, VC_STATUS, r8(&vd->common, VC_STATUS) |
	    VS_FAILED_BIT);
	return why;
}

/*
 * Set up queue i of nq (the selected one, qidx) in q: at most maxsize
 * entries, its MSI-X vector, the ring addresses, then enabled.
 */
static const char *
vq_setup(struct vdev *vd, struct vq *q, uint16_t qidx, int i, int nq,
    uint16_t maxsize)
{
	const struct vregion *c = &vd->common;
	const char *why;
	uint16_t size;

	q->devsize = r16(c, VC_QSIZE);
	if (q->devsize == 0)
		return "queue unavailable";
	for (size = 1; size * 2 <= q->devsize && size * 2 <= maxsize; )
		size *= 2;
	if (q->mem == NULL) {
		if (nrings >= NRINGS)
			return "out of ring memory";
		q->mem = ringpool[nrings++];
	}
	fill64((uint64_t *)q->mem, 0, RINGMEM / 8);
	q->index = qidx;
	q->size = size;
	q->desc = (struct vring_desc *)q->mem;
	q->avail = (struct vring_avail *)(q->mem + 16 * size);
	q->used = (struct vring_used *)(q->mem +
	    ((16 * size + 6 + 2 * size + 3) & ~3));
	q->busy = q->mem + RINGBUSY;
	q->avail_idx = q->used_idx = q->ndesc = q->inflight = 0;
	if (size != q->devsize)
		w16(c, VC_QSIZE, size);
	if (i == 0)
		why = msix_setup(vd, vio_msix_wanted, nq);
	else
		why = vd->msix ? msix_queue(vd, i, nq) : NULL;
	if (why != NULL)
		return why;
	w64(c, VC_QDESC, (uint64_t)q->desc);
	w64(c, VC_QDRIVER, (uint64_t)q->avail);
	w64(c, VC_QDEVICE, (uint64_t)q->used);
	q->notify_off = r16(c, VC_QNOTIFYOFF);
	if ((uint64_t)q->notify_off * vd->notify_mult + 2 > vd->notify.len)
		return "notify address outside its region";
	w16(c, VC_QENABLE, 1);
	return NULL;
}

/*
 * Bring a device up with the features in want (VERSION_1 is required
 * and always accepted) and one queue, qidx, of at most maxsize entries.
 * Returns NULL or why not.
 */
const char *
vio_init(struct vdev *vd, uint64_t want, uint16_t qidx, uint16_t maxsize)
{
	const char *why;

	if (vd->state == VS_READY)
		return NULL;
	if ((why = vio_initq(vd, want, &qidx, 1, maxsize)) != NULL)
		return why;
	vio_ready(vd);
	return NULL;
}

/*
 * The same with nq queues (vq, vq1), up to FEATURES_OK and the queues
 * enabled: the driver may fill them before vio_ready() sets DRIVER_OK.
 */
const char *
vio_initq(struct vdev *vd, uint64_t want, const uint16_t *qidx, int nq,
    uint16_t maxsize)
{
	const struct vregion *c = &vd->common;
	struct vq *qs[VIO_MAXQ] = { &vd->vq, &vd->vq1 };
	const char *why;
	uint64_t offered;
	int i;

	if (vd->state == VS_FAILED)
		return vd->err;
	if (nq < 1 || nq > VIO_MAXQ)
		return "too many queues";
	vio_reset(vd);
	w8(c, VC_STATUS, VS_ACK);
	w8(c, VC_STATUS, VS_ACK | VS_DRIVER);
	w32(c, VC_DFSELECT, 0);
	offered = r32(c, VC_DF);
	w32(c, VC_DFSELECT, 1);
	offered |= (uint64_t)r32(c, VC_DF) << 32;
	if (!(offered & FEAT(VIRTIO_F_VERSION_1)))
		return vio_fail(vd, "no VERSION_1");
	vd->features = (offered & want) | FEAT(VIRTIO_F_VERSION_1);
	w32(c, VC_GFSELECT, 0);
	w32(c, VC_GF, (uint32_t)vd->features);
	w32(c, VC_GFSELECT, 1);
	w32(c, VC_GF, vd->features >> 32);
	w8(c, VC_STATUS, VS_ACK | VS_DRIVER | VS_FEATURES_OK);
	if (!(r8(c, VC_STATUS) & VS_FEATURES_OK))
		return vio_fail(vd, "FEATURES_OK refused");

	vd->nq = nq;
	for (i = 0; i < nq; i++) {
		if (qidx[i] >= r16(c, VC_NUMQ))
			return vio_fail(vd, "too few queues");
		w16(c, VC_QSELECT, qidx[i]);
		if ((why = vq_setup(vd, qs[i], qidx[i], i, nq, maxsize)) !=
		    NULL)
			return vio_fail(vd, why);
	}

	if (vd->irq >= 0) {
		elcr_level(vd->irq);
		vio_irqmask |= 1 << vd->irq;
		pic_unmask(vd->irq);
	}
	return NULL;
}

/* DRIVER_OK: the device is live. */
void
vio_ready(struct vdev *vd)
{
	w8(&vd->common, VC_STATUS, VS_ACK | VS_DRIVER | VS_FEATURES_OK |
	    VS_DRIVER_OK);
	vd->state = VS_READY;
}

/* ---- the virtqueue ---- */

/* Start a batch: nothing may be outstanding. */
void
vq_begin(struct vdev *vd)
{
	vd->vq.ndesc = 0;
	vd->drain = 0;
	vd->seen = vd->intrs;
}

/*
 * Post a chain of n segments (device-readable ones first), directly or,
 * if ind is not 0, through the indirect table at ind (16-byte aligned, n
 * entries).  Returns the head descriptor or -1 if the batch is full.
 */
int
vq_post(struct vdev *vd, const struct vseg *s, int n, uint64_t ind)
{
	struct vq *q = &vd->vq;
	struct vring_desc *d;
	int i, head = q->ndesc, need = ind != 0 ? 1 : n;

	if (n < 1 || q->ndesc + need > q->size)
		return -1;
	d = ind != 0 ? (struct vring_desc *)ind : &q->desc[head];
	for (i = 0; i < n; i++) {
		d[i].addr = s[i].addr;
		d[i].len = s[i].len;
		d[i].flags = (s[i].write ? VRING_DESC_F_WRITE : 0) |
		    (i < n - 1 ? VRING_DESC_F_NEXT : 0);
		d[i].next = i < n - 1 ? (ind != 0 ? i + 1 : head + i + 1) : 0;
	}
	if (ind != 0) {
		q->desc[head].addr = ind;
		q->desc[head].len = n * sizeof(struct vring_desc);
		q->desc[head].flags = VRING_DESC_F_INDIRECT;
		q->desc[head].next = 0;
	}
	q->ndesc += need;
	vq_put(q, head);
	return head;
}

/* Notify the device of the queue (after all stores are globally seen). */
void
vq_kick(struct vdev *vd)
{
	vq_notify(vd, &vd->vq);
}

void
vq_notify(struct vdev *vd, struct vq *q)
{
	__asm__ volatile("mfence" : : : "memory");
	w16(&vd->notify, (uint32_t)q->notify_off * vd->notify_mult, q->index);
}

/*
 * Make the chain at head (its descriptors already written) available;
 * net keeps a fixed descriptor per buffer and calls this directly.
 */
void
vq_put(struct vq *q, uint16_t head)
{
	q->busy[head] = 1;
	q->avail->ring[q->avail_idx & (q->size - 1)] = head;
	barrier();		/* ring entry before the index (x86: TSO) */
	q->avail_idx++;
	*(volatile uint16_t *)&q->avail->idx = q->avail_idx;
	q->inflight++;
}

/*
 * The next used entry of q, if any: 1 with its head and length, 0 if
 * there is none, -1 with *why if the device ran the index ahead of what
 * was posted or returned a head that was not.
 */
int
vq_get(struct vq *q, uint16_t *head, uint32_t *len, const char **why)
{
	struct vring_used_elem e;
	uint16_t uidx;

	uidx = *(volatile uint16_t *)&q->used->idx;
	if (uidx == q->used_idx)
		return 0;
	if ((uint16_t)(uidx - q->used_idx) > q->inflight) {
		*why = "used index ran ahead";
		return -1;
	}
	barrier();
	e = q->used->ring[q->used_idx & (q->size - 1)];
	q->used_idx++;
	if (e.id >= q->size || !q->busy[e.id]) {
		*why = "used entry not posted";
		return -1;
	}
	q->busy[e.id] = 0;
	q->inflight--;
	*head = e.id;
	*len = e.len;
	return 1;
}

/* Requests the device has not put in the used ring yet. */
uint16_t
vq_outstanding(struct vdev *vd)
{
	struct vq *q = &vd->vq;

	return q->avail_idx - *(volatile uint16_t *)&q->used->idx;
}

/*
 * Sleep until the device interrupts (every tick if it has no IRQ).
 * Returns -1 once ticks passes deadline.
 */
static int
vio_sleep(struct vdev *vd, uint64_t deadline)
{
	cli();
	while ((vd->irq >= 0 || vd->msix) && vd->intrs == vd->seen) {
		if (ticks >= deadline) {
			sti();
			return -1;
		}
		sti_hlt();
		cli();
	}
	if (vd->irq < 0 && !vd->msix) {
		if (ticks >= deadline) {
			sti();
			return -1;
		}
		sti_hlt();
	}
	sti();
	return 0;
}

/*
 * Wait for the next used entry: 0 with its head and length, -1 on
 * timeout, -2 if the device returned something that was not posted.
 * The used ring is read only after an interrupt seen since it was last
 * found empty.
 */
int
vq_wait(struct vdev *vd, uint16_t *head, uint32_t *len, uint64_t deadline)
{
	struct vq *q = &vd->vq;
	int r;

	for (;;) {
		if (vd->intrs != vd->seen || (vd->irq < 0 && !vd->msix) ||
		    vd->drain) {
			vd->seen = vd->intrs;
			if ((r = vq_get(q, head, len, &vd->err)) < 0)
				return -2;
			if (r > 0) {
				/* more may follow without a new interrupt */
				vd->drain = 1;
				return 0;
			}
			vd->drain = 0;
		}
		if (vio_sleep(vd, deadline) != 0) {
			vd->err = vq_timeout(vd, q);
			return -1;
		}
	}
}

/* Whether the device set DEVICE_NEEDS_RESET. */
int
vio_needs_reset(struct vdev *vd)
{
	return (r8(&vd->common, VC_STATUS) & VS_NEEDS_RESET) != 0;
}

/* Why the device has not completed what was posted on q in time. */
const char *
vq_timeout(struct vdev *vd, struct vq *q)
{
	uint16_t out;

	out = q->avail_idx - *(volatile uint16_t *)&q->used->idx;
	if (r8(&vd->common, VC_STATUS) & VS_NEEDS_RESET)
		return "timeout (device needs reset)";
	if (out < q->inflight)
		return "timeout (used ring advanced, no interrupt)";
	return "timeout";
}

/*
 * After a failed wait: why, and a reset so that the device forgets the
 * chains (it is set up again by the next command).
 */
const char *
vq_failure(struct vdev *vd)
{
	const char *why = vd->err;

	vio_reset(vd);
	vd->err = NULL;
	return why;
}

/* Interrupt: read (and so clear) the ISR of every device on this line. */
void
vio_intr(int irq)
{
	struct vdev *vd;
	int i;

	for (i = 0; i < nvdev; i++) {
		vd = &vdevs[i];
		if (vd->irq != irq || !vd->isr.found || vd->msix ||
		    vd->state == VS_FAILED)
			continue;
		if (r8(&vd->isr, 0) & 1)
			vd->intrs++;
	}
}
