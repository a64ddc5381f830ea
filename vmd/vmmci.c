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
 * vmmci: upstream's VMM control interface, a legacy (virtio 0.9) PCI
 * device, last on the bus as upstream places it.  One I/O BAR holds the
 * legacy registers (no queues) and, at 0x14, the device configuration:
 * the pending command (the guest writes it back to ack it) and the
 * host's time, latched when the guest reads its first word.
 *
 * A host request (shutdown, reboot) sets the command, interrupts with a
 * configuration change and gives the guest VMMCI_TIMEOUT_SHORT seconds
 * to ack, then VMMCI_TIMEOUT_LONG to finish.  When the ack time runs out
 * upstream ends the VM; here a shutdown nobody acked falls back to the
 * ACPI power button, and vmm's stop timeout still ends the VM if that
 * is not heard either.  A guest that writes SHUTDOWN on its own is
 * halting: it gets the short time, then the VM is powered off.
 *
 * Small departures from upstream, none visible to its guest drivers:
 * the high words of the time read as such (upstream's read 0); a
 * SYNCRTC never overwrites a pending shutdown or reboot, and is sent
 * again on each request; only the first ack extends the time; the
 * guest's SYNCRTC ack clears only a pending SYNCRTC; guest features
 * are kept to those offered; a reset (status 0) clears the features.
 *
 * The INTx line is level-triggered and goes through KVM's IOAPIC or
 * 8259.  It stays up until the guest reads the ISR or the command, as
 * every vmmci driver does when it takes the interrupt, so a driver that
 * never reads the ISR still sees one interrupt and no storm; a pulse
 * would be lost by an 8259 pin in level mode.
 *
 * The registers are written by vCPU threads; the timers belong to the
 * event thread, which vCPU threads reach through an eventfd.  All the
 * state is in struct vmmci, so that it can be saved and restored.
 */

#include <sys/types.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "acpi.h"
#include "bytes.h"
#include "log.h"
#include "pci.h"
#include "virtio.h"
#include "vmmci.h"
#include "vmstate.h"

/* legacy virtio PCI registers, I/O BAR 0 */
#define VIO_HOST_FEATURES	0x00	/* 4, read-only */
#define VIO_GUEST_FEATURES	0x04	/* 4 */
#define VIO_QUEUE_PFN		0x08	/* 4 */
#define VIO_QUEUE_SIZE		0x0c	/* 2, read-only: 0, no queues */
#define VIO_QUEUE_SELECT	0x0e	/* 2 */
#define VIO_QUEUE_NOTIFY	0x10	/* 2 */
#define VIO_STATUS		0x12	/* 1 */
#define VIO_ISR			0x13	/* 1, cleared by a read */
#define VIO_CONFIG		0x14	/* device configuration, no MSI-X */
#define VIO_ISR_CONFIG		0x02	/* configuration change */

/* the device configuration */
#define VMMCI_CMD		(VIO_CONFIG + 0)	/* 4 */
#define VMMCI_SEC		(VIO_CONFIG + 4)	/* 8: low, high */
#define VMMCI_USEC		(VIO_CONFIG + 12)	/* 8: low, high */
#define VMMCI_REGS_LEN		(VIO_CONFIG + 20)

#define VMMCI_FEATURES		(VMMCI_F_TIMESYNC | VMMCI_F_ACK | \
				    VMMCI_F_SYNCRTC)

static const struct {
	unsigned int	off;
	unsigned int	len;
} vmmci_regs[] = {
	{ VIO_HOST_FEATURES, 4 }, { VIO_GUEST_FEATURES, 4 },
	{ VIO_QUEUE_PFN, 4 }, { VIO_QUEUE_SIZE, 2 }, { VIO_QUEUE_SELECT, 2 },
	{ VIO_QUEUE_NOTIFY, 2 }, { VIO_STATUS, 1 }, { VIO_ISR, 1 },
	{ VMMCI_CMD, 4 }, { VMMCI_SEC, 4 }, { VMMCI_SEC + 4, 4 },
	{ VMMCI_USEC, 4 }, { VMMCI_USEC + 4, 4 },
};

struct vmmci {
	pthread_mutex_t	 mtx;		/* all but the event-thread part */
	struct vm	*vm;
	int		 pcidev;
	uint16_t	 iobase;

	/* the legacy virtio registers */
	uint32_t	 host_features;
	uint32_t	 guest_features;	/* as offered, at most */
	uint32_t	 queue_pfn;		/* kept, never used */
	uint16_t	 queue_select;
	uint16_t	 queue_notify;
	uint8_t		 status;
	uint8_t		 isr;
	int		 irq_level;

	/* the device */
	uint32_t	 cmd;		/* pending: VMMCI_NONE ... SYNCRTC */
	int		 acked;		/* the guest acked cmd */
	int64_t		 time_sec;	/* latched by a read of VMMCI_SEC */
	int64_t		 time_usec;
	int		 complained;	/* a bad request was logged */

	/* a timer the vCPU threads ask the event thread for (seconds) */
	int		 timer_req;
	int		 wakefd;

	/* the event thread's own */
	struct event	 ev_wake;
	struct event	 ev_timer;
	int		 timer_armed;
	uint64_t	 timer_due;	/* ns, CLOCK_MONOTONIC, while running */
	uint64_t	 timer_left;	/* ns, while paused */
	int		 paused;
};

/*
 * Timers, in the event thread
 */

static uint64_t
vmmci_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec);
}

/* the ack timer, due in ns nanoseconds (kept for a pause) */
static void
vmmci_timer_start(struct vmmci *v, uint64_t ns)
{
	struct timeval	tv;

	evtimer_del(&v->ev_timer);
	v->timer_armed = 1;
	if (v->paused) {
		v->timer_left = ns;
		return;
	}
	v->timer_due = vmmci_now() + ns;
	tv.tv_sec = ns / 1000000000ULL;
	tv.tv_usec = ns % 1000000000ULL / 1000;
	evtimer_add(&v->ev_timer, &tv);
}

static void
vmmci_timer_set(struct vmmci *v, int secs)
{
	vmmci_timer_start(v, (uint64_t)secs * 1000000000ULL);
}

/* what the vCPU threads asked for; 1 if there was something */
static int
vmmci_timer_take(struct vmmci *v)
{
	int	secs;

	pthread_mutex_lock(&v->mtx);
	secs = v->timer_req;
	v->timer_req = 0;
	pthread_mutex_unlock(&v->mtx);
	if (secs <= 0)
		return (0);
	vmmci_timer_set(v, secs);
	return (1);
}

static void
vmmci_wake_cb(int fd, short event, void *arg)
{
	struct vmmci	*v = arg;
	uint64_t	 n;

	(void)event;
	if (read(fd, &n, sizeof(n)) == -1)
		return;
	(void)vmmci_timer_take(v);
}

/*
 * The ack time ran out: reboot or power off as upstream, but press the
 * power button for a shutdown that the guest did not ack.
 */
static void
vmmci_timeout(int fd, short event, void *arg)
{
	struct vmmci	*v = arg;
	struct vm	*vm = v->vm;
	unsigned int	 cmd;
	int		 acked, secs;

	(void)fd;
	(void)event;
	v->timer_armed = 0;
	pthread_mutex_lock(&v->mtx);
	secs = v->timer_req;
	v->timer_req = 0;
	cmd = v->cmd;
	acked = v->acked;
	pthread_mutex_unlock(&v->mtx);
	/* an ack that came with the expiry wins */
	if (secs > 0) {
		vmmci_timer_set(v, secs);
		return;
	}

	if (cmd == VMMCI_REBOOT) {
		log_debug("vm %s: vmmci: the guest did not reboot in time, "
		    "resetting", vm->vm_name);
		vm_request_exit(vm, VM_EXIT_REBOOT);
	} else if (cmd == VMMCI_SHUTDOWN && !acked) {
		log_debug("vm %s: vmmci: no ack in %d s, pressing the power "
		    "button", vm->vm_name, VMMCI_TIMEOUT_SHORT);
		acpi_pm_powerbutton(vm->vm_pm);
	} else {
		log_debug("vm %s: vmmci: the guest did not power off in "
		    "time, stopping", vm->vm_name);
		vm_request_exit(vm, VM_EXIT_POWEROFF);
	}
}

/*
 * Registers, in vCPU threads (mtx held)
 */

static void
vmmci_set_irq(struct vmmci *v, int level)
{
	if (v->irq_level == level)
		return;
	v->irq_level = level;
	pci_set_irq(v->vm->vm_pci, v->pcidev, level);
}

static void
vmmci_interrupt(struct vmmci *v)
{
	v->isr |= VIO_ISR_CONFIG;
	vmmci_set_irq(v, 1);
}

/* ask the event thread for the ack timer */
static void
vmmci_timer_ask(struct vmmci *v, int secs)
{
	uint64_t	one = 1;

	v->timer_req = secs;
	if (write(v->wakefd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_debug("%s: %s", __func__, strerror(errno));
}

/* a guest can send these at will: once at warning level, then debug */
static void
vmmci_bad(struct vmmci *v, const char *what, uint32_t val)
{
	if (!v->complained) {
		v->complained = 1;
		log_warnx("vm %s: vmmci: %s 0x%x", v->vm->vm_name, what, val);
	} else
		log_debug("vm %s: vmmci: %s 0x%x", v->vm->vm_name, what, val);
}

/* the guest wrote the command register */
static void
vmmci_ack(struct vmmci *v, uint32_t cmd)
{
	switch (cmd) {
	case VMMCI_NONE:
		break;
	case VMMCI_SHUTDOWN:
		if (v->cmd == VMMCI_NONE || v->cmd == VMMCI_SYNCRTC) {
			/* halting by itself: a short while to go */
			log_debug("vm %s: vmmci: the guest is shutting down",
			    v->vm->vm_name);
			vmmci_timer_ask(v, VMMCI_TIMEOUT_SHORT);
			break;
		}
		/* FALLTHROUGH */
	case VMMCI_REBOOT:
		/* the ack of our request: time to finish, once */
		if (cmd == v->cmd && !v->acked) {
			log_debug("vm %s: vmmci: the guest acknowledged the "
			    "%s request", v->vm->vm_name,
			    cmd == VMMCI_REBOOT ? "reboot" : "shutdown");
			v->acked = 1;
			vmmci_timer_ask(v, VMMCI_TIMEOUT_LONG);
		}
		break;
	case VMMCI_SYNCRTC:
		if (v->cmd == VMMCI_SYNCRTC) {
			log_debug("vm %s: vmmci: the guest synced its RTC",
			    v->vm->vm_name);
			v->cmd = VMMCI_NONE;
		}
		break;
	default:
		vmmci_bad(v, "invalid command", cmd);
		break;
	}
}

static void
vmmci_set_status(struct vmmci *v, uint8_t status)
{
	if (status == 0) {
		/* a reset; a request of ours stays pending */
		v->guest_features = 0;
		v->queue_pfn = 0;
		v->queue_select = v->queue_notify = 0;
		v->status = 0;
		v->isr = 0;
		vmmci_set_irq(v, 0);
		return;
	}
	if ((status & VIRTIO_STATUS_DRIVER_OK) &&
	    !(v->status & VIRTIO_STATUS_DRIVER_OK))
		log_debug("vm %s: vmmci: driver ready, features 0x%x",
		    v->vm->vm_name, v->guest_features);
	v->status = status;
}

static void
vmmci_image(struct vmmci *v, uint8_t *b)
{
	memset(b, 0, VMMCI_REGS_LEN);
	put_le(b + VIO_HOST_FEATURES, v->host_features, 4);
	put_le(b + VIO_GUEST_FEATURES, v->guest_features, 4);
	put_le(b + VIO_QUEUE_PFN, v->queue_pfn, 4);
	put_le(b + VIO_QUEUE_SELECT, v->queue_select, 2);
	put_le(b + VIO_QUEUE_NOTIFY, v->queue_notify, 2);
	b[VIO_STATUS] = v->status;
	b[VIO_ISR] = v->isr;
	put_le(b + VMMCI_CMD, v->cmd, 4);
	put_le(b + VMMCI_SEC, (uint64_t)v->time_sec, 8);
	put_le(b + VMMCI_USEC, (uint64_t)v->time_usec, 8);
}

static void
vmmci_write_reg(struct vmmci *v, unsigned int reg, uint32_t val)
{
	switch (reg) {
	case VIO_GUEST_FEATURES:
		v->guest_features = val & v->host_features;
		break;
	case VIO_QUEUE_PFN:
		v->queue_pfn = val;
		break;
	case VIO_QUEUE_SELECT:
		v->queue_select = val;
		break;
	case VIO_QUEUE_NOTIFY:
		v->queue_notify = val;	/* there is no queue to notify */
		break;
	case VIO_STATUS:
		vmmci_set_status(v, val);
		break;
	case VMMCI_CMD:
		vmmci_ack(v, val);
		break;
	default:
		/* features offered, queue size, ISR, time: read-only */
		log_debug("vm %s: vmmci: write 0x%x to read-only register "
		    "0x%x", v->vm->vm_name, val, reg);
		break;
	}
}

/* size bytes at off: every register the write touches is updated */
static void
vmmci_write(struct vmmci *v, unsigned int off, int size, uint32_t val)
{
	uint8_t		img[VMMCI_REGS_LEN];
	unsigned int	i, ro, rl;

	for (i = 0; i < nitems(vmmci_regs); i++) {
		ro = vmmci_regs[i].off;
		rl = vmmci_regs[i].len;
		if (off >= ro + rl || off + size <= ro)
			continue;
		vmmci_image(v, img);
		put_le(img + off, val, size);
		vmmci_write_reg(v, ro, get_le(img + ro, rl));
	}
}

static void
vmmci_io(void *arg, uint16_t port, int size, int in, uint32_t *data)
{
	struct vmmci	*v = arg;
	unsigned int	 off = (uint16_t)(port - v->iobase);
	uint8_t		 img[VMMCI_REGS_LEN];
	struct timespec	 ts;

	if (off >= VMMCI_REGS_LEN || (unsigned int)size > VMMCI_REGS_LEN -
	    off) {
		if (in)
			*data = 0xffffffff;
		return;
	}
	pthread_mutex_lock(&v->mtx);
	if (!in) {
		vmmci_write(v, off, size, *data);
		pthread_mutex_unlock(&v->mtx);
		return;
	}
	if (off <= VMMCI_SEC && VMMCI_SEC < off + size) {
		/* the first word of the time: latch all of it */
		clock_gettime(CLOCK_REALTIME, &ts);
		v->time_sec = ts.tv_sec;
		v->time_usec = ts.tv_nsec / 1000;
	}
	vmmci_image(v, img);
	*data = get_le(img + off, size);
	/* the ISR or the command read: the interrupt has been taken */
	if (off <= VIO_ISR && VIO_ISR < off + size) {
		v->isr = 0;
		vmmci_set_irq(v, 0);
	}
	if (off < VMMCI_CMD + 4 && VMMCI_CMD < off + size)
		vmmci_set_irq(v, 0);
	pthread_mutex_unlock(&v->mtx);
}

/*
 * The VM process's side, in the event thread
 */

/*
 * vmmci_ctl
 *
 * Give the guest a command: SHUTDOWN or REBOOT (interrupt, then the ack
 * timer) or SYNCRTC (after a pause, so that its clock catches up; only
 * if its driver does it).  Returns 0, or -1 if the guest's driver is not
 * there to hear it (no DRIVER_OK, or no SYNCRTC feature): the caller
 * then does without.
 */
int
vmmci_ctl(struct vmmci *v, unsigned int cmd)
{
	int	ret = 0, arm = 0;

	if (v == NULL)
		return (-1);
	pthread_mutex_lock(&v->mtx);
	if (!(v->status & VIRTIO_STATUS_DRIVER_OK)) {
		ret = -1;
		goto out;
	}
	switch (cmd) {
	case VMMCI_SHUTDOWN:
	case VMMCI_REBOOT:
		if (cmd == v->cmd)
			break;		/* asked already; its timer runs */
		v->cmd = cmd;
		v->acked = 0;
		v->timer_req = 0;	/* a halt of the guest's is overtaken */
		vmmci_interrupt(v);
		arm = 1;
		break;
	case VMMCI_SYNCRTC:
		if (!(v->guest_features & VMMCI_F_SYNCRTC)) {
			log_debug("vm %s: vmmci: no RTC sync, the guest's "
			    "driver does not do it", v->vm->vm_name);
			ret = -1;
			break;
		}
		/* a shutdown or reboot is not to be overwritten */
		if (v->cmd == VMMCI_SHUTDOWN || v->cmd == VMMCI_REBOOT)
			break;
		v->cmd = cmd;
		vmmci_interrupt(v);
		break;
	default:
		break;
	}
 out:
	pthread_mutex_unlock(&v->mtx);
	if (arm)
		vmmci_timer_set(v, VMMCI_TIMEOUT_SHORT);
	return (ret);
}

/*
 * The guest's clock stood still while the RTC kept the host's time (a
 * pause; a VM received from a stream): ask its driver to read the RTC
 * again.  0, or -1 if there is no driver that does.
 */
int
vmmci_syncrtc(struct vmmci *v)
{
	return (vmmci_ctl(v, VMMCI_SYNCRTC));
}

/* the VM is paused: the ack time stops with it */
void
vmmci_pause(struct vmmci *v)
{
	uint64_t	now;

	if (v == NULL || v->paused)
		return;
	(void)vmmci_timer_take(v);
	v->paused = 1;
	if (!v->timer_armed)
		return;
	evtimer_del(&v->ev_timer);
	now = vmmci_now();
	v->timer_left = v->timer_due > now ? v->timer_due - now : 0;
}

void
vmmci_unpause(struct vmmci *v)
{
	if (v == NULL || !v->paused)
		return;
	v->paused = 0;
	if (v->timer_armed)
		vmmci_timer_start(v, v->timer_left);
}

/*
 * What send carries: the registers, the pending command, and what is
 * left of an ack timer (the VM is paused, and so is the timer).
 */
struct vmmci_state {
	uint32_t	 guest_features;
	uint32_t	 queue_pfn;
	uint16_t	 queue_select;
	uint16_t	 queue_notify;
	uint8_t		 status;
	uint8_t		 isr;
	uint8_t		 acked;
	uint8_t		 timer_armed;
	uint32_t	 cmd;
	uint32_t	 pad;
	int64_t		 time_sec;
	int64_t		 time_usec;
	uint64_t	 timer_left;	/* ns */
} __attribute__((packed));

int
vmmci_save(struct vmmci *v, struct vms_writer *w)
{
	struct vmmci_state	s;

	memset(&s, 0, sizeof(s));
	(void)vmmci_timer_take(v);
	pthread_mutex_lock(&v->mtx);
	s.guest_features = v->guest_features;
	s.queue_pfn = v->queue_pfn;
	s.queue_select = v->queue_select;
	s.queue_notify = v->queue_notify;
	s.status = v->status;
	s.isr = v->isr;
	s.acked = v->acked != 0;
	s.cmd = v->cmd;
	s.time_sec = v->time_sec;
	s.time_usec = v->time_usec;
	pthread_mutex_unlock(&v->mtx);
	s.timer_armed = v->timer_armed != 0;
	s.timer_left = v->paused ? v->timer_left : 0;
	return (vms_put(w, VMS_VMMCI, 0, &s, sizeof(s)));
}

/* Before the guest runs, on the event thread: paused, as the sender. */
const char *
vmmci_restore(struct vmmci *v, const void *p, size_t len)
{
	struct vmmci_state	s;

	if (len != sizeof(s))
		return ("wrong size");
	memcpy(&s, p, sizeof(s));
	if (s.cmd > VMMCI_SYNCRTC)
		return ("unknown command");
	if (s.timer_left > (uint64_t)VMMCI_TIMEOUT_LONG * 1000000000ULL)
		return ("ack timer out of range");
	pthread_mutex_lock(&v->mtx);
	v->guest_features = s.guest_features & v->host_features;
	v->queue_pfn = s.queue_pfn;
	v->queue_select = s.queue_select;
	v->queue_notify = s.queue_notify;
	v->status = s.status;
	v->isr = s.isr;
	v->acked = s.acked != 0;
	v->cmd = s.cmd;
	v->time_sec = s.time_sec;
	v->time_usec = s.time_usec;
	v->irq_level = 0;
	vmmci_set_irq(v, v->isr != 0);
	pthread_mutex_unlock(&v->mtx);
	evtimer_del(&v->ev_timer);
	v->paused = 1;
	v->timer_armed = s.timer_armed != 0;
	v->timer_left = s.timer_left;
	return (NULL);
}

/* The device, last on PCI bus 0 as upstream has it. */
struct vmmci *
vmmci_init(struct vm *vm)
{
	struct pci_devinfo	 pdi;
	struct vmmci		*v;
	uint64_t		 addr;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return (NULL);
	v->wakefd = -1;
	pthread_mutex_init(&v->mtx, NULL);
	v->vm = vm;
	v->host_features = VMMCI_FEATURES;
	if ((v->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		goto fail;

	memset(&pdi, 0, sizeof(pdi));
	pdi.vendor = PCI_VENDOR_OPENBSD;
	pdi.product = PCI_PRODUCT_OPENBSD_CONTROL;
	pdi.class = PCI_CLASS_COMMUNICATIONS;
	pdi.subclass = PCI_SUBCLASS_COMMUNICATIONS_MISC;
	pdi.revision = 0;		/* legacy virtio */
	pdi.subsys_vendor = PCI_VENDOR_OPENBSD;
	pdi.subsys_id = PCI_PRODUCT_VIRTIO_VMMCI;
	pdi.want_irq = 1;
	if ((v->pcidev = pci_add_device(vm->vm_pci, &pdi)) == -1 ||
	    pci_add_bar(vm->vm_pci, v->pcidev, PCI_BAR_IO, vmmci_io, NULL,
	    v, &addr) == -1)
		goto fail;
	v->iobase = addr;

	event_set(&v->ev_wake, v->wakefd, EV_READ | EV_PERSIST,
	    vmmci_wake_cb, v);
	event_add(&v->ev_wake, NULL);
	evtimer_set(&v->ev_timer, vmmci_timeout, v);
	return (v);
 fail:
	if (v->wakefd != -1)
		close(v->wakefd);
	free(v);
	return (NULL);
}
