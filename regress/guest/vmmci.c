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
 * A driver for vmd's vmmci, the VMM control interface: a legacy virtio
 * PCI device (0b5d:0777, no queues) driven as OpenBSD's vmmci(4) drives
 * it.  The interrupt handler reads the ISR and, on a configuration
 * change, the command; a command that differs from the last one is left
 * to service() (vmmci_service), which prints it and acts on it.
 */

#include "guest.h"

#define VMMCI_VENDOR		0x0b5d
#define VMMCI_PRODUCT		0x0777
#define VMMCI_SUBSYS		0xffff0b5d	/* subsystem id, vendor */

#define PCI_ID			0x00
#define PCI_CMD			0x04
#define PCI_REV			0x08
#define PCI_BAR0		0x10
#define PCI_SUBSYS		0x2c
#define PCI_INTLINE		0x3c
#define PCI_CMD_IO		0x0001

/* legacy virtio registers */
#define VIO_HOST_FEATURES	0x00
#define VIO_GUEST_FEATURES	0x04
#define VIO_QUEUE_SIZE		0x0c
#define VIO_STATUS		0x12
#define VIO_ISR			0x13
#define VIO_ISR_CONFIG		0x02
#define VS_ACK			0x01
#define VS_DRIVER		0x02
#define VS_DRIVER_OK		0x04
#define VMMCI_CMD		0x14
#define VMMCI_SEC		0x18
#define VMMCI_USEC		0x20
#define VMMCI_REGS_LEN		0x28

#define VMMCI_F_ALL		0x7
#define VMMCI_F_ACK		0x2

#define CMD_NONE		0
#define CMD_SHUTDOWN		1
#define CMD_REBOOT		2
#define CMD_SYNCRTC		3

#define MODE_NORMAL		0
#define MODE_NOACK		1
#define MODE_ACKONLY		2
#define MODE_NOISR		3	/* normal, but the ISR is never read */

#define RTC_INDEX		0x70
#define RTC_DATA		0x71

static struct {
	int			 found;	/* 1 found, -1 not, 0 not looked */
	const char		*err;
	int			 dev;
	uint16_t		 io;
	int			 irq;
	uint32_t		 features;	/* negotiated */
	int			 ready;		/* DRIVER_OK set */
	int			 mode;
	uint32_t		 last;		/* the last command taken */
	volatile uint32_t	 cmd;		/* for vmmci_service() */
	volatile int		 pending;
	int			 busy;
	volatile unsigned int	 intrs;		/* handler calls, this IRQ */
	volatile unsigned int	 changes;	/* ... with ISR bit 1 */
} mci;

static const char *const modes[] = { "normal", "noack", "ackonly", "noisr" };

/* Find the device on bus 0 and enable its I/O BAR; 0 or -1. */
static int
vmmci_probe(void)
{
	uint32_t id, bar, c;
	int dev;

	if (mci.found != 0)
		return mci.found > 0 ? 0 : -1;
	mci.found = -1;
	mci.err = "no device";
	for (dev = 0; dev < 32; dev++) {
		id = pci_read32(dev, 0, PCI_ID);
		if ((id & 0xffff) == VMMCI_VENDOR && id >> 16 == VMMCI_PRODUCT)
			break;
	}
	if (dev == 32)
		return -1;
	if ((pci_read32(dev, 0, PCI_REV) & 0xff) != 0) {
		mci.err = "revision is not 0 (legacy)";
		return -1;
	}
	if (pci_read32(dev, 0, PCI_SUBSYS) != VMMCI_SUBSYS) {
		mci.err = "subsystem is not 0b5d:ffff";
		return -1;
	}
	bar = pci_read32(dev, 0, PCI_BAR0);
	if (!(bar & 1) || (bar & ~3U) == 0 || (bar & ~3U) > 0xffff) {
		mci.err = "no I/O BAR";
		return -1;
	}
	c = pci_read32(dev, 0, PCI_CMD) & 0xffff;
	pci_write32(dev, 0, PCI_CMD, c | PCI_CMD_IO);
	mci.dev = dev;
	mci.io = bar & ~3U;
	c = pci_read32(dev, 0, PCI_INTLINE) & 0xff;
	mci.irq = c > 0 && c < 16 && c != 2 ? (int)c : -1;
	mci.found = 1;
	mci.err = NULL;
	return 0;
}

/* Interrupt context: the ISR, then the command if it changed. */
void
vmmci_intr(int irq)
{
	uint32_t cmd;

	if (mci.found <= 0 || irq != mci.irq)
		return;
	mci.intrs++;
	if (mci.mode == MODE_NOISR) {
		/* as drivers that look at the command alone */
		if (!mci.ready)
			return;
	} else if (!(inb(mci.io + VIO_ISR) & VIO_ISR_CONFIG) || !mci.ready)
		return;		/* read even when not ready: the line drops */
	mci.changes++;
	cmd = inl(mci.io + VMMCI_CMD);
	if (cmd == mci.last)
		return;
	/* a SYNCRTC is done at once; the next one is new again */
	mci.last = cmd == CMD_SYNCRTC ? CMD_NONE : cmd;
	mci.cmd = cmd;
	mci.pending = 1;
}

static int
bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0x0f);
}

static uint8_t
rtc_rd(uint8_t reg)
{
	outb(RTC_INDEX, reg);
	return inb(RTC_DATA);
}

/* The guest's RTC as seconds since 1970 (UTC), 0 if it makes no sense. */
static uint64_t
rtc_epoch(void)
{
	static const uint8_t regs[7] = { 0x00, 0x02, 0x04, 0x07, 0x08, 0x09,
	    0x32 };		/* sec, min, hour, day, month, year, century */
	static const int mdays[12] = { 0, 31, 59, 90, 120, 151, 181, 212,
	    243, 273, 304, 334 };
	uint8_t r[7], b;
	int i, j, hour, pm, year, mon;
	uint64_t days;

	/* read until the seconds did not change under us */
	for (i = 0; i < 5; i++) {
		for (j = 0; j < 1000 && (rtc_rd(0x0a) & 0x80); j++)
			;
		for (j = 0; j < 7; j++)
			r[j] = rtc_rd(regs[j]);
		if (rtc_rd(regs[0]) == r[0])
			break;
	}
	b = rtc_rd(0x0b);
	pm = r[2] & 0x80;
	r[2] &= 0x7f;
	if (!(b & 0x04))
		for (j = 0; j < 7; j++)
			r[j] = bcd(r[j]);
	hour = r[2];
	if (!(b & 0x02)) {
		if (hour == 12)
			hour = 0;
		if (pm)
			hour += 12;
	}
	mon = r[4];
	year = (r[6] != 0 ? r[6] : 20) * 100 + r[5];
	if (mon < 1 || mon > 12 || year < 1970)
		return 0;
	days = (uint64_t)(year - 1970) * 365 + (year - 1969) / 4 -
	    (year - 1901) / 100 + (year - 1601) / 400 + mdays[mon - 1] +
	    r[3] - 1;
	if (mon > 2 && year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))
		days++;
	return days * 86400 + hour * 3600 + r[1] * 60 + r[0];
}

/* Deferred work of vmmci_intr(); called by service(). */
void
vmmci_service(void)
{
	uint32_t cmd;
	int ack;

	if (!mci.pending || mci.busy)
		return;
	mci.busy = 1;
	mci.pending = 0;
	cmd = mci.cmd;
	cons_freshline();
	async_output = 1;
	kprintf("VMMCI CMD %u\n", cmd);
	ack = (mci.features & VMMCI_F_ACK) && mci.mode != MODE_NOACK;
	switch (cmd) {
	case CMD_SHUTDOWN:
	case CMD_REBOOT:
		if (ack)
			outl(mci.io + VMMCI_CMD, cmd);
		if (mci.mode == MODE_NORMAL || mci.mode == MODE_NOISR)
			run_command(cmd == CMD_SHUTDOWN ? "poweroff" : "reboot",
			    "");
		break;
	case CMD_SYNCRTC:
		if (mci.mode == MODE_NOACK)
			break;
		if (ack)
			outl(mci.io + VMMCI_CMD, cmd);
		kprintf("VMMCI SYNCRTC %lu\n", rtc_epoch());
		break;
	}
	mci.busy = 0;
}

/* vmmci [FEATURES]: reset, negotiate, DRIVER_OK, take the interrupt */
void
cmd_vmmci(const char *arg)
{
	uint64_t want = VMMCI_F_ALL;
	uint32_t offered;

	if (*arg != '\0' && parse_num(arg, &want) != 0) {
		kprintf("VMMCI FAIL usage\n");
		return;
	}
	if (vmmci_probe() != 0) {
		kprintf("VMMCI FAIL %s\n", mci.err);
		return;
	}
	mci.ready = 0;
	outb(mci.io + VIO_STATUS, 0);
	outb(mci.io + VIO_STATUS, VS_ACK);
	outb(mci.io + VIO_STATUS, VS_ACK | VS_DRIVER);
	offered = inl(mci.io + VIO_HOST_FEATURES);
	outl(mci.io + VIO_GUEST_FEATURES, offered & (uint32_t)want);
	mci.features = inl(mci.io + VIO_GUEST_FEATURES);
	if (inw(mci.io + VIO_QUEUE_SIZE) != 0) {
		outb(mci.io + VIO_STATUS, 0x80);		/* FAILED */
		kprintf("VMMCI FAIL queue 0 exists\n");
		return;
	}
	mci.last = CMD_NONE;
	mci.pending = 0;
	if (mci.irq >= 0) {
		elcr_level(mci.irq);
		pic_unmask(mci.irq);
	}
	mci.ready = 1;
	outb(mci.io + VIO_STATUS, VS_ACK | VS_DRIVER | VS_DRIVER_OK);
	if (mci.irq < 0)
		kprintf("VMMCI FAIL no IRQ\n");
	else
		kprintf("VMMCI OK features=0x%x acked=0x%x\n", offered,
		    mci.features);
}

void
cmd_vmmcimode(const char *arg)
{
	unsigned int i;

	for (i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
		if (strcmp(arg, modes[i]) == 0) {
			mci.mode = i;
			kprintf("VMMCIMODE %s\n", modes[i]);
			return;
		}
	}
	kprintf("VMMCIMODE FAIL usage\n");
}

/* The interrupts of the device's IRQ so far, and those that found work. */
void
cmd_vmmcistat(const char *arg)
{
	(void)arg;
	kprintf("VMMCISTAT intrs=%u changes=%u\n", mci.intrs, mci.changes);
}

/* The host's time, as the device latches it, and the guest's RTC. */
void
cmd_vmmcitime(const char *arg)
{
	uint64_t sec, usec;

	(void)arg;
	if (vmmci_probe() != 0) {
		kprintf("VMMCITIME FAIL %s\n", mci.err);
		return;
	}
	sec = inl(mci.io + VMMCI_SEC);
	sec |= (uint64_t)inl(mci.io + VMMCI_SEC + 4) << 32;
	usec = inl(mci.io + VMMCI_USEC);
	usec |= (uint64_t)inl(mci.io + VMMCI_USEC + 4) << 32;
	kprintf("VMMCITIME sec=%lu usec=%lu rtc=%lu\n", sec, usec,
	    rtc_epoch());
}

/* As OpenBSD's vmmci(4) at powerdown: tell the host we are halting. */
void
cmd_vmmcihalt(const char *arg)
{
	(void)arg;
	if (vmmci_probe() != 0) {
		kprintf("VMMCIHALT FAIL %s\n", mci.err);
		return;
	}
	outl(mci.io + VMMCI_CMD, CMD_SHUTDOWN);
	kprintf("VMMCIHALT\n");
}

/*
 * vmmcifuzz [SEED]: every register and offset of the BAR's first 64
 * bytes and a few beyond, read and written with 1, 2 and 4 bytes of
 * pseudo-random data, 8 rounds; then the device is reset.  The host
 * must stay up (the VM may well power off: SHUTDOWN is a valid write).
 */
void
cmd_vmmcifuzz(const char *arg)
{
	static const uint16_t far[] = { 0x100, 0x7fe, 0xffc, 0xffd, 0xfff };
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	unsigned int round, off, n = 0, i;
	int size;

	if (*arg != '\0' && parse_num(arg, &x) != 0) {
		kprintf("VMMCIFUZZ FAIL usage\n");
		return;
	}
	if (vmmci_probe() != 0) {
		kprintf("VMMCIFUZZ FAIL %s\n", mci.err);
		return;
	}
	mci.ready = 0;
	for (round = 0; round < 8; round++) {
		for (off = 0; off < 64 + sizeof(far) / sizeof(far[0]); off++) {
			i = off < 64 ? off : far[off - 64];
			for (size = 1; size <= 4; size *= 2) {
				x = x * 6364136223846793005ULL +
				    1442695040888963407ULL;
				if (size == 1) {
					outb(mci.io + i, x >> 33);
					(void)inb(mci.io + i);
				} else if (size == 2) {
					outw(mci.io + i, x >> 33);
					(void)inw(mci.io + i);
				} else {
					outl(mci.io + i, x >> 29);
					(void)inl(mci.io + i);
				}
				n++;
			}
		}
	}
	outb(mci.io + VIO_STATUS, 0);
	kprintf("VMMCIFUZZ %u OK status=0x%x\n", n,
	    inb(mci.io + VIO_STATUS));
}
