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
 * Unit tests of vmmci through its I/O BAR, without KVM: the PCI bus, the
 * power button and the VM's exit are stubbed here.  Several devices run
 * side by side so that the 3 s ack timers of the cases expire together.
 * TAP-style output.
 */

#include <sys/types.h>

#include <event.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acpi.h"
#include "pci.h"
#include "vmmci.h"
#include "tap.h"

#define NDEV		8
#define IOBASE(i)	(0x1000 * ((i) + 1))

struct tdev {
	struct vm		 vm;
	struct vmmci		*v;
	struct pci_devinfo	 di;
	vm_io_fn		 fn;
	void			*arg;
	int			 irq;
	int			 raises;
	int			 exitcode;	/* -1: none */
	int			 buttons;
};

static struct tdev	devs[NDEV];
static int		ndevs;

/* stubs of the machine the device lives in */
int
pci_add_device(struct pci *pci, const struct pci_devinfo *di)
{
	(void)pci;
	if (ndevs >= NDEV)
		return (-1);
	devs[ndevs].di = *di;
	return (ndevs++);
}

int
pci_add_bar(struct pci *pci, int id, int type, vm_io_fn io_fn,
    vm_mmio_fn mmio_fn, void *arg, uint64_t *addrp)
{
	(void)pci;
	(void)mmio_fn;
	if (id < 0 || id >= ndevs || type != PCI_BAR_IO)
		return (-1);
	devs[id].fn = io_fn;
	devs[id].arg = arg;
	*addrp = IOBASE(id);
	return (0);
}

void
pci_set_irq(struct pci *pci, int id, int level)
{
	(void)pci;
	if (id < 0 || id >= ndevs)
		return;
	if (level && !devs[id].irq)
		devs[id].raises++;
	devs[id].irq = level;
}

void
vm_request_exit(struct vm *vm, int code)
{
	int	i;

	for (i = 0; i < ndevs; i++)
		if (&devs[i].vm == vm && devs[i].exitcode == -1)
			devs[i].exitcode = code;
}

void
acpi_pm_powerbutton(struct acpi_pm *pm)
{
	((struct tdev *)(void *)pm)->buttons++;
}

static uint32_t
rd(struct tdev *d, unsigned int off, int size)
{
	uint32_t	v = 0xdeadbeef;

	d->fn(d->arg, IOBASE(d - devs) + off, size, 1, &v);
	return (v);
}

static void
wr(struct tdev *d, unsigned int off, int size, uint32_t v)
{
	d->fn(d->arg, IOBASE(d - devs) + off, size, 0, &v);
}

static struct tdev *
new_dev(const char *name)
{
	struct tdev	*d = &devs[ndevs];

	snprintf(d->vm.vm_name, sizeof(d->vm.vm_name), "%s", name);
	d->vm.vm_pm = (struct acpi_pm *)(void *)d;
	d->exitcode = -1;
	if ((d->v = vmmci_init(&d->vm)) == NULL || d->fn == NULL) {
		printf("not ok - vmmci_init %s\n", name);
		exit(1);
	}
	return (d);
}

/* a driver's bring-up: reset, ACK, DRIVER, features, DRIVER_OK */
static void
bring_up(struct tdev *d, uint32_t features)
{
	wr(d, 0x12, 1, 0);
	wr(d, 0x12, 1, 1);
	wr(d, 0x12, 1, 3);
	wr(d, 0x04, 4, features);
	wr(d, 0x12, 1, 7);
}

static int	waited;

static void
wait_done(int fd, short ev, void *arg)
{
	(void)fd;
	(void)ev;
	(void)arg;
	waited = 1;
}

/* run the event loop for ms milliseconds */
static void
run_for(unsigned int ms)
{
	struct event	ev;
	struct timeval	tv;

	waited = 0;
	tv.tv_sec = ms / 1000;
	tv.tv_usec = ms % 1000 * 1000;
	evtimer_set(&ev, wait_done, NULL);
	evtimer_add(&ev, &tv);
	while (!waited)
		(void)event_loop(EVLOOP_ONCE);
}

int
main(void)
{
	struct tdev	*a, *ack, *noack, *halt, *reboot, *paused, *fz;
	uint64_t	 x = 88172645463325252ULL;
	uint32_t	 v;
	time_t		 now;
	int		 i, off, size, bad;

	event_init();

	/* identity and the legacy registers */
	a = new_dev("a");
	check(a->di.vendor == 0x0b5d && a->di.product == 0x0777,
	    "PCI id 0b5d:0777");
	check(a->di.subsys_vendor == 0x0b5d && a->di.subsys_id == 0xffff,
	    "subsystem 0b5d:ffff (the virtio type)");
	check(a->di.class == 0x07 && a->di.subclass == 0x80 &&
	    a->di.revision == 0 && a->di.want_irq,
	    "class 07/80, revision 0 (legacy), an INTx line");
	check(rd(a, 0x00, 4) == 7, "TIMESYNC, ACK and SYNCRTC offered");
	check(rd(a, 0x0c, 2) == 0, "queue 0 has size 0: no queues");
	check(rd(a, 0x28, 1) == 0xffffffff && rd(a, 0x26, 4) == 0xffffffff &&
	    rd(a, 0xffc, 4) == 0xffffffff, "reads past the registers float");
	wr(a, 0x04, 4, 0xffffffff);
	check(rd(a, 0x04, 4) == 7, "guest features: only what is offered");
	wr(a, 0x00, 4, 0);
	check(rd(a, 0x00, 4) == 7, "host features are read-only");

	check(vmmci_ctl(a->v, VMMCI_SHUTDOWN) == -1 && a->irq == 0,
	    "no request without DRIVER_OK");
	bring_up(a, 7);
	check(rd(a, 0x12, 1) == 7, "status DRIVER_OK");

	/* the host's time, latched by the first word */
	now = time(NULL);
	v = rd(a, 0x18, 4);
	check(v >= now && v <= now + 1, "seconds, low word (%u)", v);
	check(rd(a, 0x1c, 4) == 0, "seconds, high word");
	check(rd(a, 0x20, 4) < 1000000 && rd(a, 0x24, 4) == 0,
	    "microseconds");

	/* SYNCRTC: one interrupt; the ISR or the command read ends it */
	check(vmmci_ctl(a->v, VMMCI_SYNCRTC) == 0 && a->irq == 1 &&
	    a->raises == 1, "SYNCRTC raises the line");
	check(rd(a, 0x14, 4) == VMMCI_SYNCRTC && a->irq == 0,
	    "the command reads 3 and the line drops");
	check(rd(a, 0x13, 1) == 2 && rd(a, 0x13, 1) == 0,
	    "the ISR says configuration change, once");
	wr(a, 0x14, 4, VMMCI_SYNCRTC);
	check(rd(a, 0x14, 4) == VMMCI_NONE, "the ack clears it");
	check(vmmci_ctl(a->v, VMMCI_SYNCRTC) == 0 && a->irq == 1 &&
	    rd(a, 0x13, 1) == 2 && a->irq == 0,
	    "again: the ISR read drops the line");
	wr(a, 0x14, 4, 0x1234);
	wr(a, 0x14, 4, 0x5678);
	check(rd(a, 0x14, 4) == VMMCI_SYNCRTC, "bad commands change nothing");
	wr(a, 0x12, 1, 0);
	check(rd(a, 0x04, 4) == 0 && rd(a, 0x12, 1) == 0 && a->irq == 0,
	    "a reset clears the features and the status");
	wr(a, 0x04, 4, 3);
	wr(a, 0x12, 1, 7);
	check(vmmci_ctl(a->v, VMMCI_SYNCRTC) == -1 && a->irq == 0,
	    "no SYNCRTC to a driver without the feature");

	/* the ack timers, side by side */
	ack = new_dev("ack");
	noack = new_dev("noack");
	halt = new_dev("halt");
	reboot = new_dev("reboot");
	paused = new_dev("paused");
	bring_up(ack, 7);
	bring_up(noack, 7);
	bring_up(reboot, 7);
	bring_up(paused, 7);
	check(vmmci_ctl(ack->v, VMMCI_SHUTDOWN) == 0 && ack->irq == 1,
	    "SHUTDOWN raises the line");
	check(rd(ack, 0x14, 4) == VMMCI_SHUTDOWN, "the command reads 1");
	wr(ack, 0x14, 4, VMMCI_SHUTDOWN);
	(void)vmmci_ctl(noack->v, VMMCI_SHUTDOWN);
	check(vmmci_ctl(noack->v, VMMCI_SYNCRTC) == 0 &&
	    rd(noack, 0x14, 4) == VMMCI_SHUTDOWN,
	    "SYNCRTC does not overwrite a pending SHUTDOWN");
	wr(halt, 0x14, 4, VMMCI_SHUTDOWN);	/* no driver needed */
	(void)vmmci_ctl(reboot->v, VMMCI_REBOOT);
	(void)vmmci_ctl(paused->v, VMMCI_SHUTDOWN);
	vmmci_pause(paused->v);
	run_for(3500);
	check(ack->exitcode == -1 && ack->buttons == 0,
	    "an acked SHUTDOWN has longer than 3 s");
	check(noack->exitcode == -1 && noack->buttons == 1,
	    "no ack in 3 s: the power button, once");
	check(halt->exitcode == VM_EXIT_POWEROFF,
	    "the guest's own SHUTDOWN: powered off after 3 s");
	check(reboot->exitcode == VM_EXIT_REBOOT,
	    "REBOOT without an ack: reset after 3 s, as upstream");
	check(paused->exitcode == -1 && paused->buttons == 0,
	    "the ack time stops while paused");
	vmmci_unpause(paused->v);
	run_for(1000);
	check(paused->buttons == 0, "and runs on after the unpause");
	run_for(2500);
	check(paused->buttons == 1, "to its end");

	/* garbage everywhere: nothing breaks, a reset brings it back */
	fz = new_dev("fuzz");
	bad = 0;
	for (i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		off = x % 0x30;
		size = 1 << (x >> 8) % 3;
		if (x & 0x10000)
			wr(fz, off, size, x >> 32);
		else
			(void)rd(fz, off, size);
		if (fz->exitcode != -1 && fz->exitcode != VM_EXIT_POWEROFF)
			bad = 1;
	}
	(void)event_loop(EVLOOP_NONBLOCK);
	check(!bad, "20000 random accesses");
	wr(fz, 0x12, 1, 0);
	check(rd(fz, 0x12, 1) == 0 && rd(fz, 0x04, 4) == 0 && fz->irq == 0,
	    "then a reset: status and features 0, the line down");
	return (failed);
}
