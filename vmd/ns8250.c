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
 * NS16550A UART.  Transmission is instant: a byte the guest writes goes
 * to the pty at once (non-blocking; dropped if nobody drains the pty, so
 * a vCPU never stalls on the console).  Input is read on the event
 * thread straight into the 16-byte receive FIFO (or the 8250's single
 * holding register), never more than fits: when it is full, reading
 * stops until the guest has emptied it.  So the interrupt line drops
 * between batches, as with a real line, and edge-triggered guests see
 * every batch.
 */

#include <sys/types.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <event.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "log.h"
#include "ns8250.h"
#include "vmstate.h"

/* registers */
#define COM_DATA	0	/* RBR, THR; DLL with DLAB */
#define COM_IER		1	/* DLM with DLAB */
#define COM_IIR		2	/* FCR on writes */
#define COM_LCR		3
#define COM_MCR		4
#define COM_LSR		5
#define COM_MSR		6
#define COM_SCR		7
#define COM_NPORTS	8

#define IER_ERBFI	0x01
#define IER_ETBEI	0x02
#define IER_ELSI	0x04
#define IER_EDSSI	0x08
#define IER_MASK	0x0f

#define IIR_NOPEND	0x01
#define IIR_MLSC	0x00
#define IIR_TXRDY	0x02
#define IIR_RXRDY	0x04
#define IIR_RLS		0x06
#define IIR_RXTOUT	0x0c
#define IIR_FIFO	0xc0

#define FCR_ENABLE	0x01
#define FCR_RCV_RST	0x02
#define FCR_XMT_RST	0x04
#define FCR_TRIGGER(x)	(((x) >> 6) & 3)

#define LCR_DLAB	0x80

#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define MCR_MASK	0x1f

#define LSR_DR		0x01
#define LSR_OE		0x02
#define LSR_BI		0x10
#define LSR_THRE	0x20
#define LSR_TEMT	0x40

#define MSR_DCTS	0x01
#define MSR_DDSR	0x02
#define MSR_TERI	0x04
#define MSR_DDCD	0x08
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80

#define COM_FIFO_SIZE	16
#define COM_RETRY_MS	250	/* no slave side open: poll that often */

static const uint8_t com_trigger[4] = { 1, 4, 8, 14 };

struct ns8250 {
	pthread_mutex_t	 mtx;
	struct vm	*vm;
	int		 fd;		/* pty master */
	int		 wakefd;	/* eventfd: the guest made room */
	uint16_t	 base;
	unsigned int	 irq;

	struct event	 ev_read;
	struct event	 ev_wake;
	struct event	 ev_retry;
	int		 reading;	/* ev_read is added */
	int		 throttled;	/* buffer full, not reading */
	int		 wake_sent;
	int		 paused;

	uint8_t		 ier;
	uint8_t		 fcr;
	uint8_t		 lcr;
	uint8_t		 mcr;
	uint8_t		 lsr_err;	/* OE, BI: clear on LSR read */
	uint8_t		 msr;		/* status bits and deltas */
	uint8_t		 scr;
	uint8_t		 dll;
	uint8_t		 dlm;
	int		 thre;		/* THRE interrupt pending */
	int		 irq_level;

	uint8_t		 rxbuf[COM_FIFO_SIZE];
	size_t		 rxhead;
	size_t		 rxlen;
};

static void	ns8250_read_cb(int, short, void *);
static void	ns8250_wake_cb(int, short, void *);
static void	ns8250_retry_cb(int, short, void *);

/* Room for input: the FIFO, or the 8250's holding register. */
static size_t
com_rx_depth(struct ns8250 *com)
{
	return ((com->fcr & FCR_ENABLE) ? COM_FIFO_SIZE : 1);
}

static uint8_t
com_iir(struct ns8250 *com)
{
	size_t	level = com->rxlen;

	if ((com->ier & IER_ELSI) && com->lsr_err)
		return (IIR_RLS);
	if ((com->ier & IER_ERBFI) && level > 0) {
		if (!(com->fcr & FCR_ENABLE) ||
		    level >= com_trigger[FCR_TRIGGER(com->fcr)])
			return (IIR_RXRDY);
		/* below the trigger: the character timeout */
		return (IIR_RXTOUT);
	}
	if ((com->ier & IER_ETBEI) && com->thre)
		return (IIR_TXRDY);
	if ((com->ier & IER_EDSSI) && (com->msr & 0x0f))
		return (IIR_MLSC);
	return (IIR_NOPEND);
}

/* Called with the lock held, after every change. */
static void
com_update_irq(struct ns8250 *com)
{
	int	level = com_iir(com) != IIR_NOPEND;

	if (level != com->irq_level) {
		com->irq_level = level;
		vm_irq_line(com->vm, com->irq, level);
	}
}

/* modem status: fixed lines, or the MCR outputs in loopback */
static void
com_update_msr(struct ns8250 *com)
{
	uint8_t	old = com->msr & 0xf0, new;

	if (com->mcr & MCR_LOOP) {
		new = 0;
		if (com->mcr & MCR_RTS)
			new |= MSR_CTS;
		if (com->mcr & MCR_DTR)
			new |= MSR_DSR;
		if (com->mcr & MCR_OUT1)
			new |= MSR_RI;
		if (com->mcr & MCR_OUT2)
			new |= MSR_DCD;
	} else
		new = MSR_DCD | MSR_DSR | MSR_CTS;
	com->msr = (com->msr & 0x0f) | new;
	if ((old ^ new) & MSR_CTS)
		com->msr |= MSR_DCTS;
	if ((old ^ new) & MSR_DSR)
		com->msr |= MSR_DDSR;
	if ((old & MSR_RI) && !(new & MSR_RI))
		com->msr |= MSR_TERI;
	if ((old ^ new) & MSR_DCD)
		com->msr |= MSR_DDCD;
}

static void
com_rx_push(struct ns8250 *com, uint8_t c)
{
	if (com->rxlen >= com_rx_depth(com)) {
		com->lsr_err |= LSR_OE;
		return;
	}
	com->rxbuf[(com->rxhead + com->rxlen) % COM_FIFO_SIZE] = c;
	com->rxlen++;
}

static uint8_t
com_rx_pop(struct ns8250 *com)
{
	uint64_t	one = 1;
	uint8_t		c;

	if (com->rxlen == 0)
		return (0);
	c = com->rxbuf[com->rxhead];
	com->rxhead = (com->rxhead + 1) % COM_FIFO_SIZE;
	com->rxlen--;
	/* the event thread stopped reading: the guest emptied the FIFO */
	if (com->throttled && !com->wake_sent && com->rxlen == 0) {
		com->wake_sent = 1;
		if (write(com->wakefd, &one, sizeof(one)) == -1)
			com->wake_sent = 0;
	}
	return (c);
}

static void
com_transmit(struct ns8250 *com, uint8_t c)
{
	ssize_t	n;

	if (com->mcr & MCR_LOOP) {
		com_rx_push(com, c);
		return;
	}
	/* non-blocking: a full pty drops output instead of stalling */
	do {
		n = write(com->fd, &c, 1);
	} while (n == -1 && errno == EINTR);
}

static void
ns8250_io(void *arg, uint16_t port, int size, int in, uint32_t *data)
{
	struct ns8250	*com = arg;
	unsigned int	 reg = port - com->base;
	uint8_t		 v = *data, old;
	size_t		 n;

	(void)size;		/* the UART's registers are bytes */
	pthread_mutex_lock(&com->mtx);
	if (in) {
		switch (reg) {
		case COM_DATA:
			if (com->lcr & LCR_DLAB)
				v = com->dll;
			else
				v = com_rx_pop(com);
			break;
		case COM_IER:
			v = (com->lcr & LCR_DLAB) ? com->dlm : com->ier;
			break;
		case COM_IIR:
			v = com_iir(com);
			if (v == IIR_TXRDY)
				com->thre = 0;
			if (com->fcr & FCR_ENABLE)
				v |= IIR_FIFO;
			break;
		case COM_LCR:
			v = com->lcr;
			break;
		case COM_MCR:
			v = com->mcr;
			break;
		case COM_LSR:
			v = LSR_THRE | LSR_TEMT | com->lsr_err;
			if (com->rxlen > 0)
				v |= LSR_DR;
			com->lsr_err = 0;
			break;
		case COM_MSR:
			v = com->msr;
			com->msr &= 0xf0;
			break;
		case COM_SCR:
			v = com->scr;
			break;
		}
		*data = v;
	} else {
		switch (reg) {
		case COM_DATA:
			if (com->lcr & LCR_DLAB)
				com->dll = v;
			else {
				com_transmit(com, v);
				com->thre = 1;
			}
			break;
		case COM_IER:
			if (com->lcr & LCR_DLAB) {
				com->dlm = v;
				break;
			}
			old = com->ier;
			com->ier = v & IER_MASK;
			/* enabling it with the THR empty raises THRE */
			if (!(old & IER_ETBEI) && (com->ier & IER_ETBEI))
				com->thre = 1;
			break;
		case COM_IIR:
			if ((v ^ com->fcr) & FCR_ENABLE)
				v |= FCR_RCV_RST | FCR_XMT_RST;
			if (v & FCR_RCV_RST) {
				/* drops what the guest could see */
				for (n = com->rxlen; n > 0; n--)
					(void)com_rx_pop(com);
			}
			com->fcr = v & ~(FCR_RCV_RST | FCR_XMT_RST);
			break;
		case COM_LCR:
			com->lcr = v;
			break;
		case COM_MCR:
			com->mcr = v & MCR_MASK;
			com_update_msr(com);
			break;
		case COM_LSR:
		case COM_MSR:
			break;		/* factory test registers */
		case COM_SCR:
			com->scr = v;
			break;
		}
	}
	com_update_irq(com);
	pthread_mutex_unlock(&com->mtx);
}

/*
 * Event thread
 */

static void
ns8250_read_stop(struct ns8250 *com)
{
	if (com->reading) {
		event_del(&com->ev_read);
		com->reading = 0;
	}
}

static void
ns8250_read_start(struct ns8250 *com)
{
	if (!com->reading && !com->paused && !com->throttled &&
	    !evtimer_pending(&com->ev_retry, NULL)) {
		event_add(&com->ev_read, NULL);
		com->reading = 1;
	}
}

static void
ns8250_read_cb(int fd, short event, void *arg)
{
	struct ns8250	*com = arg;
	struct timeval	 tv = { 0, COM_RETRY_MS * 1000 };
	uint8_t		 buf[COM_FIFO_SIZE];
	size_t		 room, i;
	ssize_t		 n;

	(void)event;
	pthread_mutex_lock(&com->mtx);
	room = com_rx_depth(com) - MINIMUM(com->rxlen, com_rx_depth(com));
	if (room == 0) {
		com->throttled = 1;
		com->wake_sent = 0;
		ns8250_read_stop(com);
		pthread_mutex_unlock(&com->mtx);
		return;
	}
	pthread_mutex_unlock(&com->mtx);

	n = read(fd, buf, room);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		/* EIO: no slave side open; look again later */
		pthread_mutex_lock(&com->mtx);
		ns8250_read_stop(com);
		pthread_mutex_unlock(&com->mtx);
		evtimer_add(&com->ev_retry, &tv);
		return;
	}

	pthread_mutex_lock(&com->mtx);
	for (i = 0; i < (size_t)n; i++)
		com_rx_push(com, buf[i]);
	com_update_irq(com);
	pthread_mutex_unlock(&com->mtx);
}

static void
ns8250_wake_cb(int fd, short event, void *arg)
{
	struct ns8250	*com = arg;
	uint64_t	 v;

	(void)event;
	if (read(fd, &v, sizeof(v)) == -1)
		return;
	pthread_mutex_lock(&com->mtx);
	com->wake_sent = 0;
	if (com->throttled && com->rxlen < com_rx_depth(com)) {
		com->throttled = 0;
		ns8250_read_start(com);
	}
	pthread_mutex_unlock(&com->mtx);
}

static void
ns8250_retry_cb(int fd, short event, void *arg)
{
	struct ns8250	*com = arg;

	(void)fd;
	(void)event;
	pthread_mutex_lock(&com->mtx);
	ns8250_read_start(com);
	pthread_mutex_unlock(&com->mtx);
}

/* Guest paused: no input and no interrupts from us until it resumes. */
void
ns8250_stop(struct ns8250 *com)
{
	pthread_mutex_lock(&com->mtx);
	com->paused = 1;
	ns8250_read_stop(com);
	evtimer_del(&com->ev_retry);
	pthread_mutex_unlock(&com->mtx);
}

void
ns8250_start(struct ns8250 *com)
{
	pthread_mutex_lock(&com->mtx);
	com->paused = 0;
	ns8250_read_start(com);
	pthread_mutex_unlock(&com->mtx);
}

/* what send carries: the registers and what the FIFO holds */
struct ns8250_state {
	uint8_t		 ier, fcr, lcr, mcr, lsr_err, msr, scr, dll, dlm;
	uint8_t		 thre;
	uint8_t		 rxlen;
	uint8_t		 pad;
	uint8_t		 rx[COM_FIFO_SIZE];	/* oldest first */
} __attribute__((packed));

/* The guest is paused: nothing changes the registers under us. */
int
ns8250_save(struct ns8250 *com, struct vms_writer *w)
{
	struct ns8250_state	s;
	size_t			i;

	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&com->mtx);
	s.ier = com->ier;
	s.fcr = com->fcr;
	s.lcr = com->lcr;
	s.mcr = com->mcr;
	s.lsr_err = com->lsr_err;
	s.msr = com->msr;
	s.scr = com->scr;
	s.dll = com->dll;
	s.dlm = com->dlm;
	s.thre = com->thre != 0;
	s.rxlen = com->rxlen;
	for (i = 0; i < com->rxlen; i++)
		s.rx[i] = com->rxbuf[(com->rxhead + i) % COM_FIFO_SIZE];
	pthread_mutex_unlock(&com->mtx);
	return (vms_put(w, VMS_SERIAL, 0, &s, sizeof(s)));
}

/* Before the guest runs; the interrupt line follows the registers. */
const char *
ns8250_restore(struct ns8250 *com, const void *p, size_t len)
{
	struct ns8250_state	s;

	if (len != sizeof(s))
		return ("wrong size");
	memcpy(&s, p, sizeof(s));
	if (s.rxlen > COM_FIFO_SIZE)
		return ("FIFO overflows");
	pthread_mutex_lock(&com->mtx);
	com->ier = s.ier & 0x0f;
	com->fcr = s.fcr;
	com->lcr = s.lcr;
	com->mcr = s.mcr & MCR_MASK;
	com->lsr_err = s.lsr_err & (LSR_OE | LSR_BI);
	com->msr = s.msr;
	com->scr = s.scr;
	com->dll = s.dll;
	com->dlm = s.dlm;
	com->thre = s.thre != 0;
	memcpy(com->rxbuf, s.rx, sizeof(com->rxbuf));
	com->rxhead = 0;
	com->rxlen = s.rxlen;
	com->irq_level = 0;
	com_update_irq(com);
	pthread_mutex_unlock(&com->mtx);
	return (NULL);
}

/*
 * The UART at base/irq on the pty master fd.  Call from the event
 * thread, with the event base initialised.
 */
struct ns8250 *
ns8250_init(struct vm *vm, int fd, uint16_t base, unsigned int irq)
{
	struct ns8250	*com;
	struct termios	 tio;
	int		 flags;

	if ((com = calloc(1, sizeof(*com))) == NULL)
		return (NULL);
	pthread_mutex_init(&com->mtx, NULL);
	com->vm = vm;
	com->fd = fd;
	com->wakefd = -1;
	com->base = base;
	com->irq = irq;
	com->paused = 1;		/* until ns8250_start() */
	com->lcr = 0x03;		/* 8N1 */
	com->dll = 0x01;		/* 115200 baud, as upstream */
	com->thre = 0;
	com_update_msr(com);
	com->msr &= 0xf0;

	if ((com->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1)
		goto fail;
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		goto fail;
	/*
	 * Raw mode on the slave side (termios ioctls on a master act on its
	 * slave), so that guest output is not echoed back as input before
	 * a console is attached.
	 */
	if (tcgetattr(fd, &tio) == 0) {
		cfmakeraw(&tio);
		(void)tcsetattr(fd, TCSANOW, &tio);
	}

	if (vm_ioport_register(vm, base, COM_NPORTS, ns8250_io, com) == -1)
		goto fail;
	event_set(&com->ev_read, fd, EV_READ | EV_PERSIST, ns8250_read_cb,
	    com);
	event_set(&com->ev_wake, com->wakefd, EV_READ | EV_PERSIST,
	    ns8250_wake_cb, com);
	evtimer_set(&com->ev_retry, ns8250_retry_cb, com);
	event_add(&com->ev_wake, NULL);
	return (com);
 fail:
	log_warn("%s", __func__);
	if (com->wakefd != -1)
		close(com->wakefd);
	free(com);
	return (NULL);
}
