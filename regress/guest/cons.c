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
 * COM1 console: polled output, interrupt-driven input into a small ring,
 * and a tiny printf.
 */

#include "guest.h"

#define COM1		0x3f8
#define COM_RBR		0	/* receive buffer (read) */
#define COM_THR		0	/* transmit holding (write) */
#define COM_DLL		0	/* divisor latch low (DLAB) */
#define COM_IER		1	/* interrupt enable */
#define COM_DLM		1	/* divisor latch high (DLAB) */
#define COM_FCR		2	/* FIFO control (write) */
#define COM_LCR		3	/* line control */
#define COM_MCR		4	/* modem control */
#define COM_LSR		5	/* line status */

#define IER_ERXRDY	0x01
#define LCR_8N1		0x03
#define LCR_DLAB	0x80
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT2	0x08	/* routes the interrupt to the PIC */
#define FCR_ENABLE	0x01
#define FCR_RCV_RST	0x02
#define FCR_XMT_RST	0x04	/* receive trigger level 1 */
#define LSR_RXRDY	0x01
#define LSR_TXRDY	0x20

#define RXBUFSZ		256	/* power of two */

static volatile uint8_t		rxbuf[RXBUFSZ];
static volatile uint32_t	rxhead, rxtail;
static int			midline;	/* last output was not '\n' */

void
uart_init(void)
{
	outb(COM1 + COM_IER, 0);
	outb(COM1 + COM_LCR, LCR_DLAB);
	outb(COM1 + COM_DLL, 1);		/* 115200 baud */
	outb(COM1 + COM_DLM, 0);
	outb(COM1 + COM_LCR, LCR_8N1);
	outb(COM1 + COM_FCR, FCR_ENABLE | FCR_RCV_RST | FCR_XMT_RST);
	outb(COM1 + COM_MCR, MCR_DTR | MCR_RTS | MCR_OUT2);
}

void
uart_rxintr_enable(void)
{
	outb(COM1 + COM_IER, IER_ERXRDY);
}

/* IRQ4: drain the receiver into the ring (dropping on overflow). */
void
uart_intr(void)
{
	uint8_t c;
	int n;

	for (n = 0; n < 64 && (inb(COM1 + COM_LSR) & LSR_RXRDY); n++) {
		c = inb(COM1 + COM_RBR);
		if (rxhead - rxtail < RXBUFSZ)
			rxbuf[rxhead++ % RXBUFSZ] = c;
	}
}

int
cons_rxpending(void)
{
	return rxhead != rxtail;
}

/* Next received character, or -1 if none is buffered. */
int
cons_getc(void)
{
	int c;

	if (rxhead == rxtail)
		return -1;
	c = rxbuf[rxtail % RXBUFSZ];
	rxtail++;
	return c;
}

static void
uart_putc(uint8_t c)
{
	int n;

	/* Bounded: a missing UART must not hang the guest. */
	for (n = 0; n < 100000; n++)
		if (inb(COM1 + COM_LSR) & LSR_TXRDY)
			break;
	outb(COM1 + COM_THR, c);
}

void
cons_putc(int c)
{
	if (c == '\n')
		uart_putc('\r');
	uart_putc((uint8_t)c);
	midline = c != '\n';
}

void
cons_puts(const char *s)
{
	while (*s != '\0')
		cons_putc(*s++);
}

/* Start a new line unless the cursor already is at the start of one. */
void
cons_freshline(void)
{
	if (midline)
		cons_putc('\n');
}

static void
put_num(uint64_t v, unsigned int base, int width, int zero, int neg)
{
	char buf[24];
	int n = 0;

	do {
		buf[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v != 0);
	if (neg)
		buf[n++] = '-';
	for (; width > n; width--)
		cons_putc(zero ? '0' : ' ');
	while (n > 0)
		cons_putc(buf[--n]);
}

/*
 * Supports %%, %c, %s, %.*s, %d, %u, %x with optional '0' flag, width and
 * 'l'/'ll' modifiers.
 */
void
kprintf(const char *fmt, ...)
{
	va_list ap;
	const char *s;
	uint64_t u;
	int64_t d;
	int width, zero, lng, prec;

	va_start(ap, fmt);
	for (; *fmt != '\0'; fmt++) {
		if (*fmt != '%') {
			cons_putc(*fmt);
			continue;
		}
		fmt++;
		zero = width = lng = 0;
		prec = -1;
		if (*fmt == '0') {
			zero = 1;
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			width = width * 10 + *fmt++ - '0';
		if (*fmt == '.' && fmt[1] == '*') {
			prec = va_arg(ap, int);
			fmt += 2;
		}
		while (*fmt == 'l') {
			lng = 1;
			fmt++;
		}
		switch (*fmt) {
		case 'c':
			cons_putc(va_arg(ap, int));
			break;
		case 's':
			s = va_arg(ap, const char *);
			if (s == NULL)
				s = "(null)";
			for (; *s != '\0' && prec != 0; s++, prec--)
				cons_putc(*s);
			break;
		case 'd':
			d = lng ? va_arg(ap, long) : va_arg(ap, int);
			put_num(d < 0 ? -(uint64_t)d : (uint64_t)d, 10, width,
			    zero, d < 0);
			break;
		case 'u':
		case 'x':
			u = lng ? va_arg(ap, unsigned long) :
			    va_arg(ap, unsigned int);
			put_num(u, *fmt == 'x' ? 16 : 10, width, zero, 0);
			break;
		case '%':
			cons_putc('%');
			break;
		case '\0':
			fmt--;
			break;
		default:
			cons_putc('%');
			cons_putc(*fmt);
			break;
		}
	}
	va_end(ap);
}
