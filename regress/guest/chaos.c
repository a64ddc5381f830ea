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
 * "chaos[:SEED[:SECONDS[:all]]]", or run=chaos with seed=N time=S (and
 * chaos=all) among the command line's words: a hostile guest.  For the
 * time given, from a generator seeded so that a run can be repeated,
 * it writes (and reads) random values of random widths to every I/O
 * port vmd emulates (the port table of x86_vm.c: POST, i8042, A20, the
 * reset register, SeaBIOS's debug port, COM1, the RTC, ACPI PM1 and its
 * timer, fw_cfg, PCI mechanism #1 and every device's I/O BAR) and to
 * ports nobody has, to the PCI configuration space of every slot, to
 * the memory BARs (the MSI-X tables and pending bits, and the holes
 * between), and it feeds each virtio device malformed rings: chains
 * that loop, indices out of range, buffers outside RAM or across its
 * end, huge lengths, indirect tables that are empty, ragged, too big,
 * nested or outside RAM, readable buffers after writable ones, chains
 * longer than any device takes, available indices that run ahead, and
 * chains that are well formed but whose requests are random (disk
 * commands and sectors, SCSI CDBs, frames).  fw_cfg gets DMA requests
 * of random control words, lengths and addresses.
 *
 * The lines: "CHAOS seed=N time=S mode=safe|all" first, "CHAOS t=T
 * ops=N rings=R" each second, "CHAOS DONE seed=N ops=N rings=R" last.
 *
 * What it leaves alone, and why:
 *  - KVM's own chips (8259 0x20/0xa0 and ELCR, 8254 0x40-0x43 and 0x61,
 *    the IOAPIC and local APIC): vmd does not emulate them, and the
 *    guest's clock, which times the run, is the 8254's.
 *  - In the default mode, the writes that legitimately end or reset the
 *    VM: SLP_EN in PM1a_CNT, RST_CPU (bit 2) of 0xcf9, 0xfe to the
 *    i8042 and a vmmci SHUTDOWN or REBOOT; every other bit of those
 *    registers is written.  "all" leaves them in, so the VM may power
 *    off or reboot, with vmd's log saying so.
 *  - It keeps its own memory whole, since a guest that writes over
 *    itself tests nothing of vmd: whatever a device may write (rings it
 *    is given, writable buffers, fw_cfg DMA) lies in the upper half of
 *    RAM or outside RAM.  Ring addresses written at random therefore
 *    come from a page whose available index runs ahead (0xa5a5) or from
 *    outside RAM; fw_cfg's DMA address register is written only with
 *    requests built for it; MSI-X message data is always VEC_MSI (a
 *    random data word could send an INIT or NMI to the guest's CPU).
 *  - COM1 and ACPI's enables are set back after each write to them, so
 *    that the progress lines reach the console and no event the guest
 *    does not handle holds the SCI up.
 */

#include "hostile.h"

#define HZ		100
#define NOT_RAM		0xf0000000ULL	/* the PCI hole */
#define MMIO_SPAN	0x200000ULL	/* of the hole: the memory BARs */
#define CHAOS_MAXDEV	8

/* the arena, from the middle of RAM up */
#define A_RING		0x000000	/* 64 ring slots of 64 KiB */
#define A_RINGSLOT	0x10000
#define A_NSLOTS	64
#define A_POISON	0x400000	/* 8 KiB of 0xa5 */
#define A_POISONLEN	0x2000
#define A_DMA		0x500000	/* fw_cfg requests and targets */
#define A_DMALEN	0x100000
#define A_BUF		0x800000	/* buffers, up to the top of RAM */

/* the ports of x86_vm.c's table, acpi.c, ns8250.c, mc146818.c, fw_cfg.c */
#define P_POST		0x80
#define P_KBC_DATA	0x60
#define P_KBC_CMD	0x64
#define P_A20		0x92
#define P_COM1		0x3f8
#define P_RTC		0x70
#define P_FWDEBUG	0x402
#define P_PM1_EVT	0x600
#define P_PM1_CNT	0x604
#define P_PM_TMR	0x608
#define P_FWCFG		0x510
#define P_FWCFG_DMA	0x514
#define P_PCIADDR	0xcf8
#define P_RESET		0xcf9
#define P_PCIDATA	0xcfc

#define KBC_RESET	0xfe
#define RESET_CPU	0x04
#define PM1_SLP_EN	0x2000
#define PM1_PWRBTN	0x0100
#define VMMCI_CMDREG	0x14
#define PCI_VENDOR_OB	0x0b5d
#define IOBAR_SPAN	0x400

#define PG_P		0x001
#define PG_RW		0x002
#define PG_PWT		0x008
#define PG_PCD		0x010
#define PG_PS		0x080
#define PG_FRAME	0x000ffffffffff000ULL

#define NOINIT(a)	__attribute__((__section__(".noinit"), __aligned__(a)))
#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

struct chaos_ports {
	uint16_t	base;
	uint16_t	n;
};

static const struct chaos_ports fixed_ports[] = {
	{ P_POST, 1 }, { P_KBC_DATA, 1 }, { P_KBC_CMD, 1 }, { P_A20, 1 },
	{ P_COM1, 8 }, { P_RTC, 2 }, { P_FWDEBUG, 1 }, { P_PM1_EVT, 4 },
	{ P_PM1_CNT, 2 }, { P_PM_TMR, 4 }, { P_FWCFG, 2 },
	{ P_FWCFG_DMA, 8 }, { P_PCIADDR, 1 }, { P_RESET, 1 },
	{ P_PCIDATA, 4 },
};

/* every PCI function on bus 0, as found at the start */
struct chaos_pci {
	int		 dev;
	uint32_t	 saved[16];	/* 0x00-0x3f, put back at the end */
	uint16_t	 iobar;		/* 0: none */
	uint64_t	 membar;	/* 0: none */
	int		 vmmci;
	struct vdev	*vd;
};

struct chaos {
	uint64_t	 s;
	int		 all;
	uint64_t	 top, arena;
	uint64_t	 ops, rings, dmas;
	struct chaos_pci pci[32];
	int		 npci;
	struct vdev	*vdevs[CHAOS_MAXDEV];
	int		 nvdev;
};

static struct chaos	cs;
static uint64_t		chaos_pd[512] NOINIT(4096);

/* ---- the memory BARs, mapped uncached (virtio.c's mapper is its own) */

extern uint64_t		pml4[512];

static int
chaos_map(uint64_t pa, uint64_t len)
{
	uint64_t *pdpt, *pd, va;

	if (!(pml4[0] & PG_P))
		return -1;
	pdpt = (uint64_t *)(pml4[0] & PG_FRAME);
	if (pdpt[pa >> 30 & 511] & PG_P)
		pd = (uint64_t *)(pdpt[pa >> 30 & 511] & PG_FRAME);
	else {
		memset(chaos_pd, 0, sizeof(chaos_pd));
		pd = chaos_pd;
		pdpt[pa >> 30 & 511] = (uint64_t)pd | PG_P | PG_RW;
	}
	for (va = pa & ~0x1fffffULL; va < pa + len; va += 0x200000) {
		if (va >> 30 != pa >> 30)
			return -1;
		if (!(pd[va >> 21 & 511] & PG_P))
			pd[va >> 21 & 511] = va | PG_P | PG_RW | PG_PS |
			    PG_PWT | PG_PCD;
		__asm__ volatile("invlpg (%0)" : : "r"(va) : "memory");
	}
	return 0;
}

/* ---- values ---- */

static uint32_t
rnd(uint32_t n)
{
	return hrange(&cs.s, n);
}

static uint64_t
rnd64(void)
{
	return hrand(&cs.s);
}

/* a width: 1, 2 or 4 bytes */
static int
rsize(void)
{
	return 1 << rnd(3);
}

/* an address no device may use: outside RAM, or across its end */
static uint64_t
bad_addr(void)
{
	switch (rnd(8)) {
	case 0:
		return cs.top - 1 - rnd(64);
	case 1:
		return NOT_RAM + rnd(0x100000);
	case 2:
		return 0xfee00000ULL;
	case 3:
		return ~0ULL - rnd(4096);
	case 4:
		return (1ULL << 32) + rnd(1 << 20);
	case 5:
		return 1ULL << (40 + rnd(23));
	case 6:
		return cs.top;
	default:
		return rnd64() | (1ULL << 63);
	}
}

/* where a device may write: the buffer area, or nowhere */
static uint64_t
buf_addr(void)
{
	if (rnd(4) == 0)
		return bad_addr();
	return cs.arena + A_BUF + rnd(cs.top - cs.arena - A_BUF);
}

static uint32_t
buf_len(void)
{
	switch (rnd(10)) {
	case 0:
		return 0;
	case 1:
		return 0xffffffff - rnd(16);
	case 2:
		return 0x80000000U;
	case 3:
		return 512 * (1 + rnd(128));
	case 4:
		return 1 + rnd(65536);
	default:
		return 1 + rnd(4096);
	}
}

/* a ring address for a random register write: refused by any device */
static uint64_t
ring_addr(void)
{
	if (rnd(2) == 0)
		return cs.arena + A_POISON;
	return bad_addr();
}

/* ---- ports ---- */

static struct chaos_pci *
iobar_of(uint16_t port, uint16_t *off)
{
	int i;

	for (i = 0; i < cs.npci; i++) {
		if (cs.pci[i].iobar != 0 && port >= cs.pci[i].iobar &&
		    port < cs.pci[i].iobar + IOBAR_SPAN) {
			*off = port - cs.pci[i].iobar;
			return &cs.pci[i];
		}
	}
	return NULL;
}

static int
kvm_port(uint16_t p)
{
	return p == 0x20 || p == 0x21 || p == 0xa0 || p == 0xa1 ||
	    (p >= 0x40 && p <= 0x43) || p == 0x61 || p == 0x4d0 ||
	    p == 0x4d1;
}

static void
out_sized(uint16_t port, int size, uint32_t v)
{
	if (size == 1)
		outb(port, v);
	else if (size == 2)
		outw(port, v);
	else
		outl(port, v);
}

static uint32_t
in_sized(uint16_t port, int size)
{
	if (size == 1)
		return inb(port);
	if (size == 2)
		return inw(port);
	return inl(port);
}

/*
 * A write of a virtio device's common configuration that reaches the
 * ring addresses or the enable: the addresses are ones it must refuse,
 * whole, and go in before any enable.  1 if done here.
 */
static int
virtio_guard(struct chaos_pci *p, uint16_t off, int size, uint32_t v)
{
	uint64_t a;
	int f;

	if (p->vd == NULL || off >= HC_LEN || off + size <= HC_QENABLE)
		return 0;
	if (off < HC_QENABLE + 2 && off + size > HC_QENABLE) {
		/* whichever queue is selected gets rings of ours first */
		for (f = HC_QDESC; f < HC_LEN; f += 8) {
			a = ring_addr();
			outl(p->iobar + f, a);
			outl(p->iobar + f + 4, a >> 32);
		}
		out_sized(p->iobar + off, size, v);
		return 1;
	}
	if (off + size <= HC_QDESC)
		return 0;
	a = ring_addr();
	f = (off < HC_QDESC ? HC_QDESC : off) & ~7;
	outl(p->iobar + f, a);
	outl(p->iobar + f + 4, a >> 32);
	return 1;
}

/* one random port write or read; the rules of the header comment */
static void
chaos_port(void)
{
	const struct chaos_ports *fp;
	struct chaos_pci *p;
	uint16_t port, off;
	uint32_t v = (uint32_t)rnd64();
	int size = rsize(), i;

	i = rnd(10);
	if (i < 5) {
		fp = &fixed_ports[rnd(NITEMS(fixed_ports))];
		port = fp->base + rnd(fp->n);
	} else if (i < 9 && cs.npci > 0) {
		p = &cs.pci[rnd(cs.npci)];
		if (p->iobar == 0)
			return;
		port = p->iobar + (rnd(4) == 0 ? rnd(0x1000) :
		    rnd(IOBAR_SPAN));
	} else
		port = rnd(0x10000);
	if (kvm_port(port) || (uint32_t)port + size > 0x10000)
		return;
	cs.ops++;
	if (rnd(3) == 0) {
		(void)in_sized(port, size);
		if (port == P_FWCFG + 1)
			(void)in_sized(port, size);
		return;
	}
	/* fw_cfg's DMA is only given requests built for it (chaos_dma) */
	if (port >= P_FWCFG_DMA + 4 && port < P_FWCFG_DMA + 8)
		return;
	if (!cs.all) {
		if (port == P_KBC_CMD && (v & 0xff) == KBC_RESET)
			v ^= 1;
		if (port == P_RESET)
			v &= ~RESET_CPU;
		if (port == P_PM1_CNT)
			v &= ~PM1_SLP_EN;
		if (port == P_PM1_CNT + 1)
			v &= ~(PM1_SLP_EN >> 8);
	}
	if ((p = iobar_of(port, &off)) != NULL) {
		if (p->vmmci && !cs.all && off <= VMMCI_CMDREG &&
		    off + size > VMMCI_CMDREG) {
			i = VMMCI_CMDREG - off;	/* its first byte in v */
			if (((v >> (8 * i)) & 0xff) == 1 ||
			    ((v >> (8 * i)) & 0xff) == 2)
				v |= 0x80U << (8 * i);
		}
		if (virtio_guard(p, off, size, v))
			return;
	}
	out_sized(port, size, v);

	/* what the guest needs to go on */
	if (port >= P_COM1 && port < P_COM1 + 8) {
		uart_init();
		uart_rxintr_enable();
	}
	if (port >= P_PM1_EVT && port < P_PM1_EVT + 4) {
		outw(P_PM1_EVT, 0xffff);		/* status: all clear */
		outw(P_PM1_EVT + 2, PM1_PWRBTN);	/* enable */
	}
}

/* ---- PCI configuration space ---- */

static void
chaos_pcicfg(void)
{
	int dev, fn = 0, reg, size = rsize();
	uint32_t v = (uint32_t)rnd64();

	if (cs.npci > 0 && rnd(4) != 0)
		dev = cs.pci[rnd(cs.npci)].dev;
	else
		dev = rnd(32);
	if (rnd(8) == 0)
		fn = rnd(8);
	reg = rnd(256) & ~(size - 1);
	cs.ops++;
	outl(P_PCIADDR, 0x80000000U | dev << 11 | fn << 8 | (reg & 0xfc));
	if (rnd(3) == 0)
		(void)in_sized(P_PCIDATA + (reg & 3), size);
	else
		out_sized(P_PCIDATA + (reg & 3), size, v);
	if (rnd(16) == 0)
		outl(P_PCIADDR, (uint32_t)rnd64());	/* left for later */
}

/* ---- memory BARs ---- */

static void
chaos_mmio(void)
{
	struct chaos_pci *p;
	volatile uint8_t *a;
	uint64_t off, v = rnd64();
	int size = 1 << rnd(4);

	if (cs.npci == 0)
		return;
	p = &cs.pci[rnd(cs.npci)];
	if (p->membar == 0 || rnd(8) == 0)
		off = rnd(MMIO_SPAN);	/* anywhere in the BARs' 2 MiB */
	else if (rnd(4) != 0)
		off = (p->membar - NOT_RAM) + rnd(0x100);	/* table */
	else
		off = (p->membar - NOT_RAM) + rnd(0x1000);
	off &= ~(uint64_t)(size - 1);
	if (off + size > MMIO_SPAN)
		return;
	/* the table's message data: always VEC_MSI, fixed, edge */
	if (p->membar != 0 && off >= p->membar - NOT_RAM &&
	    off < p->membar - NOT_RAM + 0x800 && size >= 4) {
		if ((off & 15) == 8)
			v = (v & ~0xffffffffULL) | VEC_MSI;
		else if ((off & 15) == 0 && size == 8 && rnd(2))
			v = 0xfee00000ULL | (v & 0x000ff00cULL);
	}
	a = (volatile uint8_t *)(NOT_RAM + off);
	cs.ops++;
	if (rnd(3) == 0) {
		if (size == 1)
			(void)*a;
		else if (size == 2)
			(void)*(volatile uint16_t *)a;
		else if (size == 4)
			(void)*(volatile uint32_t *)a;
		else
			(void)*(volatile uint64_t *)a;
		return;
	}
	if (size == 1)
		*a = v;
	else if (size == 2)
		*(volatile uint16_t *)a = v;
	else if (size == 4)
		*(volatile uint32_t *)a = v;
	else
		*(volatile uint64_t *)a = v;
}

/* ---- fw_cfg DMA ---- */

static void
chaos_dma(void)
{
	uint8_t *req;
	uint64_t a, t;
	uint32_t ctl, len;

	a = cs.arena + A_DMA + (rnd(A_DMALEN / 2) & ~15U);
	req = (uint8_t *)a;
	ctl = (uint32_t)rnd64() & (rnd(2) ? 0xffff001e : 0xffffffff);
	len = rnd(4) == 0 ? buf_len() : rnd(8192);
	t = rnd(3) == 0 ? bad_addr() : cs.arena + A_DMA + A_DMALEN / 2 +
	    rnd(A_DMALEN / 2);
	req[0] = ctl >> 24;
	req[1] = ctl >> 16;
	req[2] = ctl >> 8;
	req[3] = ctl;
	req[4] = len >> 24;
	req[5] = len >> 16;
	req[6] = len >> 8;
	req[7] = len;
	for (ctl = 0; ctl < 8; ctl++)
		req[8 + ctl] = t >> (56 - 8 * ctl);
	if (rnd(8) == 0)
		a = bad_addr();
	cs.ops++;
	cs.dmas++;
	outl(P_FWCFG_DMA, __builtin_bswap32(a >> 32));
	outl(P_FWCFG_DMA + 4, __builtin_bswap32((uint32_t)a));
}

/* ---- malformed rings ---- */

static void
desc_set(struct vring_desc *d, uint64_t addr, uint32_t len, uint16_t flags,
    uint16_t next)
{
	d->addr = addr;
	d->len = len;
	d->flags = flags;
	d->next = next;
}

/* a request a device might take, its bytes random but its shape right */
static int
chain_request(struct vdev *vd, struct vring_desc *t, int n, int first)
{
	static const uint8_t cdbs[] = { 0x00, 0x03, 0x12, 0x1a, 0x1b, 0x1e,
	    0x25, 0x28, 0x2a, 0x2f, 0x35, 0x43, 0x46, 0x4a, 0x51, 0x5a, 0x88,
	    0x8a, 0x9e, 0xa0, 0xa8, 0xaa, 0xbb, 0xbd, 0xff };
	static const uint32_t blktypes[] = { 0, 1, 4, 8, 11, 13, 2, 0x7fff };
	uint8_t *b;
	uint64_t h;
	int i = first, k, nseg;

	h = cs.arena + A_BUF + rnd(0x100000);
	b = (uint8_t *)h;
	for (k = 0; k < 64; k++)
		b[k] = rnd64();
	switch (vd->type) {
	case VIRTIO_ID_BLK:
		b[0] = blktypes[rnd(NITEMS(blktypes))];
		b[1] = b[2] = b[3] = 0;
		if (rnd(2)) {
			for (k = 9; k < 16; k++)	/* a sector on the disk */
				b[k] = 0;
			b[9] &= 0x7f;
		}
		desc_set(&t[i], h, rnd(4) ? 16 : buf_len(), 1, i + 1);
		break;
	case VIRTIO_ID_SCSI:
		b[0] = 1;
		b[1] = b[2] = b[3] = 0;
		if (rnd(4) == 0)
			b[1] = rnd(4);
		b[19] = cdbs[rnd(NITEMS(cdbs))];
		desc_set(&t[i], h, rnd(4) ? 19 + 32 : buf_len(), 1, i + 1);
		break;
	case VIRTIO_ID_NET:
		desc_set(&t[i], h, rnd(2) ? 12 + 14 + rnd(1500) : buf_len(),
		    rnd(2) ? 0 : 2, i + 1);
		break;
	default:
		desc_set(&t[i], buf_addr(), buf_len(), 2, i + 1);
		break;
	}
	nseg = 1 + rnd(3);
	for (k = 0; k < nseg && i + 1 < n; k++) {
		i++;
		desc_set(&t[i], buf_addr(), rnd(2) ? 1 + rnd(65536) :
		    buf_len(), (k > 0 || rnd(2)) ? 2 : 0, i + 1);
	}
	t[i].flags &= ~1;
	return i + 1;
}

/*
 * One table of n descriptors at t in one of the broken shapes; returns
 * the heads the avail ring is to name (at most n), in heads[].
 */
static int
ring_fill(struct vdev *vd, struct vring_desc *t, int n, uint64_t ind,
    uint16_t *heads)
{
	struct vring_desc *it = (struct vring_desc *)ind;
	int i, k, nh = 0, m;

	for (i = 0; i < n; i++)
		desc_set(&t[i], buf_addr(), 1 + rnd(512), 2, 0);
	switch (rnd(12)) {
	case 0:		/* a loop */
		k = rnd(n);
		for (i = 0; i < n; i++)
			desc_set(&t[i], buf_addr(), 1 + rnd(512), 1 | 2,
			    i + 1 < n ? i + 1 : k);
		heads[nh++] = 0;
		break;
	case 1:		/* next out of the table */
		desc_set(&t[0], buf_addr(), 16, 1, n + rnd(60000));
		heads[nh++] = 0;
		break;
	case 2:		/* buffers outside RAM, across its end, huge */
		for (i = 0; i < n && i < 8; i++) {
			desc_set(&t[i], bad_addr(), buf_len(), rnd(4),
			    i + 1);
			heads[nh++] = i;
			t[i].flags &= ~1;
		}
		break;
	case 3:		/* a readable buffer after a writable one */
		desc_set(&t[0], buf_addr(), 64, 1 | 2, 1);
		desc_set(&t[1], buf_addr(), 64, 0, 0);
		heads[nh++] = 0;
		break;
	case 4:		/* indirect, of every wrong size and place */
		m = 1 + rnd(3000);
		for (i = 0; i < m; i++)
			desc_set(&it[i], buf_addr(), 1 + rnd(256),
			    rnd(8) == 0 ? 4 : rnd(4),
			    rnd(8) == 0 ? rnd(65536) : (uint32_t)i + 1);
		switch (rnd(6)) {
		case 0:
			k = 0;
			break;
		case 1:
			k = 16 * m + 1 + rnd(15);
			break;
		case 2:
			k = 16 * 65537;
			break;
		case 3:
			k = (int)0xfffffff0;
			break;
		default:
			k = 16 * m;
			break;
		}
		desc_set(&t[0], rnd(4) == 0 ? bad_addr() : ind, k,
		    4 | (rnd(4) == 0 ? 1 : 0), 1);
		heads[nh++] = 0;
		break;
	case 5:		/* a chain longer than any device takes */
		m = 300 + rnd(500);
		for (i = 0; i < m; i++)
			desc_set(&it[i], buf_addr(), 1 + rnd(64), 2, i + 1);
		it[m - 1].flags = 2;
		desc_set(&t[0], ind, 16 * m, 4, 0);
		heads[nh++] = 0;
		break;
	case 6:		/* every byte random: addresses far beyond RAM */
		for (i = 0; i < n; i++) {
			t[i].addr = rnd64();
			t[i].len = (uint32_t)rnd64();
			t[i].flags = rnd64();
			t[i].next = rnd64();
		}
		for (i = 0; i < 8; i++)
			heads[nh++] = rnd(2) ? rnd(n) : (uint16_t)rnd64();
		break;
	case 7:		/* heads out of the table */
		heads[nh++] = n + rnd(60000);
		break;
	case 8:		/* zero-length buffers, all of them */
		for (i = 0; i < n; i++)
			desc_set(&t[i], buf_addr(), 0, 1 | (rnd(2) << 1),
			    i + 1 < n ? i + 1 : 0);
		t[n - 1].flags &= ~1;
		heads[nh++] = 0;
		break;
	default:	/* requests of the device's kind, random inside */
		for (i = 0; i < n && nh < 16; ) {
			heads[nh++] = i;
			i = chain_request(vd, t, n, i);
		}
		break;
	}
	return nh;
}

static void
vreset(struct vdev *vd)
{
	int i;

	hreg_write(&vd->common, HC_STATUS, 1, 0);
	for (i = 0; i < 1000 && hreg_read(&vd->common, HC_STATUS, 1) != 0;
	    i++)
		;
}

static void
vwrite64(struct vdev *vd, uint32_t off, uint64_t v)
{
	hreg_write(&vd->common, off, 4, v);
	hreg_write(&vd->common, off + 4, 4, v >> 32);
}

/* one device, one queue, one broken ring */
static void
chaos_ring(int devi)
{
	struct vdev *vd = cs.vdevs[devi];
	const struct vregion *c = &vd->common;
	struct vring_desc *t;
	uint64_t slot, feat, desc, avail, used, ind, end;
	uint16_t heads[16], size, max, *ar, notify;
	int q, nq, nh, i, n;

	cs.ops++;
	cs.rings++;
	vreset(vd);
	hreg_write(c, HC_STATUS, 1, 1);
	hreg_write(c, HC_STATUS, 1, 3);
	hreg_write(c, HC_DFSELECT, 4, 0);
	feat = hreg_read(c, HC_DF, 4);
	hreg_write(c, HC_DFSELECT, 4, 1);
	feat |= (uint64_t)hreg_read(c, HC_DF, 4) << 32;
	feat &= rnd(4) ? ~0ULL : rnd64();
	if (rnd(16) != 0)
		feat |= FEAT(VIRTIO_F_VERSION_1);
	hreg_write(c, HC_GFSELECT, 4, 0);
	hreg_write(c, HC_GF, 4, feat);
	hreg_write(c, HC_GFSELECT, 4, 1);
	hreg_write(c, HC_GF, 4, feat >> 32);
	hreg_write(c, HC_STATUS, 1, 0xb);

	nq = hreg_read(c, HC_NUMQ, 2);
	if (nq == 0)
		return;
	q = rnd(nq);
	hreg_write(c, HC_QSELECT, 2, q);
	max = hreg_read(c, HC_QSIZE, 2);
	if (max == 0 || max > 1024)
		max = 256;
	for (size = 1; size * 2 <= max && rnd(4) != 0; size *= 2)
		;
	if (rnd(16) == 0)
		size = rnd(2) ? 3 + 2 * rnd(100) : max * 2;
	n = size <= 1024 ? size : 1024;

	slot = cs.arena + A_RING + (uint64_t)(devi * 8 + rnd(8)) % A_NSLOTS *
	    A_RINGSLOT;
	desc = slot;
	avail = desc + 16 * (uint64_t)n;
	used = (avail + 6 + 2 * n + 3) & ~3ULL;
	ind = (used + 6 + 8 * n + 15) & ~15ULL;
	if (ind + 16 * 3000 > slot + A_RINGSLOT)
		return;
	memset((void *)used, 0, 6 + 8 * n);
	t = (struct vring_desc *)desc;
	nh = ring_fill(vd, t, n, ind, heads);
	ar = (uint16_t *)avail;
	ar[0] = rnd(2);
	for (i = 0; i < n; i++)
		ar[2 + i] = i < nh ? heads[i] : rnd(n);
	ar[1] = rnd(8) == 0 ? (uint16_t)rnd64() : nh;

	if (rnd(8) == 0)
		hreg_write(c, HC_QMSIX, 2, rnd(8));
	hreg_write(c, HC_QSIZE, 2, size);
	vwrite64(vd, HC_QDESC, rnd(16) == 0 ? bad_addr() : desc);
	vwrite64(vd, HC_QDRIVER, rnd(32) == 0 ? bad_addr() : avail);
	vwrite64(vd, HC_QDEVICE, rnd(32) == 0 ? bad_addr() : used);
	hreg_write(c, HC_QENABLE, 2, 1);
	hreg_write(c, HC_STATUS, 1, 0xf);
	notify = hreg_read(c, HC_QNOTIFYOFF, 2);
	if ((uint64_t)notify * vd->notify_mult + 2 <= vd->notify.len)
		hreg_write(&vd->notify, notify * vd->notify_mult, 2, q);

	/* what the device made of it, briefly */
	for (end = ticks + 2; ticks < end; ) {
		if (*(volatile uint16_t *)(used + 2) != 0 ||
		    (hreg_read(c, HC_STATUS, 1) & HS_NEEDS_RESET))
			break;
		__asm__ volatile("pause");
	}
	if (rnd(2))
		vreset(vd);
}

/* ---- the run ---- */

static void
chaos_scan(void)
{
	struct chaos_pci *p;
	uint32_t id, bar;
	int dev, i, r;

	cs.npci = 0;
	for (dev = 0; dev < 32; dev++) {
		id = pci_read32(dev, 0, 0);
		if ((id & 0xffff) == 0xffff)
			continue;
		p = &cs.pci[cs.npci++];
		memset(p, 0, sizeof(*p));
		p->dev = dev;
		for (r = 0; r < 16; r++)
			p->saved[r] = pci_read32(dev, 0, 4 * r);
		bar = p->saved[4];
		if ((bar & 1) && (bar & ~3U) < 0x10000)
			p->iobar = bar & ~3U;
		bar = p->saved[5];
		if (!(bar & 1) && (bar & ~0xfU) >= NOT_RAM &&
		    (bar & ~0xfU) < NOT_RAM + MMIO_SPAN)
			p->membar = bar & ~0xfU;
		p->vmmci = (id & 0xffff) == PCI_VENDOR_OB && (id >> 16) != 0x0666;
		for (i = 0; (p->vd = vio_nth(i)) != NULL; i++)
			if (p->vd->dev == dev && p->vd->fn == 0)
				break;
		if (p->vd != NULL && (p->vd->state == VS_FAILED ||
		    p->vd->common.io == 0))
			p->vd = NULL;
		if (p->vd != NULL && cs.nvdev < CHAOS_MAXDEV)
			cs.vdevs[cs.nvdev++] = p->vd;
	}
}

/* MSI-X data words of every table: VEC_MSI from the start (0 is #DE) */
static void
msix_data_init(void)
{
	volatile uint32_t *e;
	int i, v;

	for (i = 0; i < cs.npci; i++) {
		if (cs.pci[i].membar == 0 || cs.pci[i].vd == NULL)
			continue;
		for (v = 0; v < 8; v++) {
			e = (volatile uint32_t *)(cs.pci[i].membar + 16 * v);
			e[2] = VEC_MSI;
		}
	}
}

/* what the guest and the next commands need back */
static void
chaos_restore(void)
{
	int i, r;

	for (i = 0; i < cs.nvdev; i++)
		vreset(cs.vdevs[i]);
	for (i = 0; i < cs.npci; i++) {
		for (r = 4; r < 10; r++)	/* BARs: no longer sizing */
			pci_write32(cs.pci[i].dev, 0, 4 * r,
			    cs.pci[i].saved[r]);
		pci_write32(cs.pci[i].dev, 0, 4,
		    cs.pci[i].saved[1] & 0xffff);
	}
	uart_init();
	uart_rxintr_enable();
	outw(P_PM1_EVT, 0xffff);
	outw(P_PM1_EVT + 2, PM1_PWRBTN);
}

/* "word=value" among the command line's words, as a number */
static int
cmdline_num(const char *word, uint64_t *v)
{
	const char *s = bootinfo.bi_cmdline, *e = s + bootinfo.bi_cmdlen, *p;
	char buf[24];
	size_t wl = strlen(word), n;

	for (p = s; p + wl <= e; p++) {
		if ((p != s && p[-1] != ' ') || memcmp(p, word, wl) != 0)
			continue;
		p += wl;
		for (n = 0; p + n < e && p[n] != ' ' && n < sizeof(buf) - 1;
		    n++)
			buf[n] = p[n];
		buf[n] = '\0';
		return parse_num(buf, v);
	}
	return -1;
}

void
cmd_chaos(const char *arg)
{
	char tok[MAXTOK][TOKLEN];
	uint64_t seed = 1, secs = 10, end, next, v;
	int n, i;

	n = split(arg, tok);
	if (n < 0 || n > 3 || (n >= 1 && parse_num(tok[0], &seed) != 0) ||
	    (n >= 2 && parse_num(tok[1], &secs) != 0)) {
		kprintf("CHAOS FAIL usage\n");
		return;
	}
	cs.all = n == 3 && strcmp(tok[2], "all") == 0;
	if (n == 0) {
		if (cmdline_num("seed=", &v) == 0)
			seed = v;
		if (cmdline_num("time=", &v) == 0)
			secs = v;
		if (cmdline_num("chaos=", &v) != 0 && bootinfo.bi_cmdlen > 0)
			for (i = 0; i + 9 <= (int)bootinfo.bi_cmdlen; i++)
				if (memcmp(bootinfo.bi_cmdline + i,
				    "chaos=all", 9) == 0)
					cs.all = 1;
	}
	cs.top = ram_top();
	cs.arena = (cs.top / 2 + 0x1fffff) & ~0x1fffffULL;
	if (cs.top == 0 || cs.top > MAPPED_TOP ||
	    cs.top < cs.arena + A_BUF + 0x400000) {
		kprintf("CHAOS FAIL RAM: 0x%lx (16 MiB to 1 GiB)\n", cs.top);
		return;
	}
	if (secs == 0 || secs > 86400) {
		kprintf("CHAOS FAIL usage\n");
		return;
	}
	hseed(&cs.s, seed);
	cs.ops = cs.rings = cs.dmas = 0;
	cs.nvdev = 0;
	(void)vio_scan();
	chaos_scan();
	if (lapic_init() != 0 || chaos_map(NOT_RAM, MMIO_SPAN) != 0) {
		kprintf("CHAOS FAIL cannot map the memory BARs\n");
		return;
	}
	memset((void *)(cs.arena + A_POISON), 0xa5, A_POISONLEN);
	msix_data_init();
	kprintf("CHAOS seed=%lu time=%lu mode=%s devices=%d virtio=%d\n",
	    seed, secs, cs.all ? "all" : "safe", cs.npci, cs.nvdev);

	end = ticks + secs * HZ;
	next = ticks + HZ;
	while (ticks < end) {
		n = rnd(20);
		if (n < 8) {
			for (i = 0; i < 16; i++)
				chaos_port();
		} else if (n < 11) {
			for (i = 0; i < 8; i++)
				chaos_pcicfg();
		} else if (n < 14) {
			for (i = 0; i < 8; i++)
				chaos_mmio();
		} else if (n < 19) {
			if (cs.nvdev > 0)
				chaos_ring(rnd(cs.nvdev));
		} else
			chaos_dma();
		if (ticks >= next) {
			next = ticks + HZ;
			uart_init();
			uart_rxintr_enable();
			memset((void *)(cs.arena + A_POISON), 0xa5,
			    A_POISONLEN);
			/* after the bytes written to COM1 at random */
			kprintf("\n");
			kprintf("CHAOS t=%lu ops=%lu rings=%lu dma=%lu\n",
			    (ticks - (end - secs * HZ)) / HZ, cs.ops,
			    cs.rings, cs.dmas);
		}
	}
	chaos_restore();
	kprintf("\n");
	kprintf("CHAOS DONE seed=%lu ops=%lu rings=%lu dma=%lu\n", seed,
	    cs.ops, cs.rings, cs.dmas);
}
