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
 * Unit tests of the MC146818 RTC through its ports, without KVM: the
 * port registration and the IRQ line are stubbed here.  TAP-style output.
 */

#include <sys/types.h>

#include <event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mc146818.h"
#include "tap.h"

static vm_io_fn		 rtc_fn;
static void		*rtc_arg;
static int		 irq8;



/* stubs of the VM the chip lives in */
int
vm_ioport_register(struct vm *vm, uint16_t base, unsigned int n,
    vm_io_fn fn, void *arg)
{
	(void)vm;
	if (base != IO_RTC || n != 2)
		return (-1);
	rtc_fn = fn;
	rtc_arg = arg;
	return (0);
}

void
vm_irq_line(struct vm *vm, unsigned int irq, int level)
{
	(void)vm;
	if (irq == RTC_IRQ)
		irq8 = level;
}

static uint8_t
rd(uint8_t reg)
{
	uint32_t	v = reg;

	rtc_fn(rtc_arg, IO_RTC, 1, 0, &v);
	v = 0xffffffff;
	rtc_fn(rtc_arg, IO_RTC + 1, 1, 1, &v);
	return (v);
}

static void
wr(uint8_t reg, uint8_t val)
{
	uint32_t	v = reg;

	rtc_fn(rtc_arg, IO_RTC, 1, 0, &v);
	v = val;
	rtc_fn(rtc_arg, IO_RTC + 1, 1, 0, &v);
}

static int
bcd(uint8_t v)
{
	return ((v >> 4) * 10 + (v & 0xf));
}

/* the clock as the guest reads it, in a struct tm; retried over updates */
static void
read_tm(struct tm *tm, int binary)
{
	uint8_t	s;
	int	(*dec)(uint8_t) = bcd;
	int	h;

	memset(tm, 0, sizeof(*tm));
	do {
		s = rd(0x00);
		tm->tm_min = rd(0x02);
		h = rd(0x04);
		tm->tm_mday = rd(0x07);
		tm->tm_mon = rd(0x08);
		tm->tm_year = rd(0x09);
		tm->tm_wday = rd(0x32);		/* century, for now */
	} while (s != rd(0x00));
	if (binary) {
		tm->tm_sec = s;
		tm->tm_hour = h;
	} else {
		tm->tm_sec = dec(s);
		tm->tm_min = dec(tm->tm_min);
		tm->tm_hour = dec(h & 0x7f) | (h & 0x80);
		tm->tm_mday = dec(tm->tm_mday);
		tm->tm_mon = dec(tm->tm_mon);
		tm->tm_year = dec(tm->tm_year);
		tm->tm_wday = dec(tm->tm_wday);
	}
	tm->tm_year += tm->tm_wday * 100 - 1900;
	tm->tm_mon -= 1;
	tm->tm_wday = 0;
}

static long long
diff_now(struct tm *tm)
{
	return ((long long)timegm(tm) - (long long)time(NULL));
}

int
main(void)
{
	struct vm	*vm;
	struct mc146818	*rtc;
	struct tm	 tm, now;
	time_t		 t;
	uint8_t		 b;
	int		 i, uip = 0;
	long long	 d;

	event_init();
	if ((vm = calloc(1, sizeof(*vm))) == NULL)
		return (1);
	/* a 5 GiB VM's RAM ranges */
	vm->vm_mem.ranges[0].vmr_gpa = 0;
	vm->vm_mem.ranges[0].vmr_size = 0xa0000;
	vm->vm_mem.ranges[1].vmr_gpa = MB(1);
	vm->vm_mem.ranges[1].vmr_size = 0xf0000000 - MB(1);
	vm->vm_mem.ranges[2].vmr_gpa = GB(4);
	vm->vm_mem.ranges[2].vmr_size = GB(5) - 0xf0000000;
	vm->vm_mem.nranges = 3;
	vm->vm_ncpus = 4;
	if ((rtc = mc146818_init(vm)) == NULL || rtc_fn == NULL) {
		printf("not ok - mc146818_init\n");
		return (1);
	}
	mc146818_start(rtc);

	check(rd(0x0d) == 0x80, "register D: valid RAM and time");
	check((rd(0x0a) & 0x7f) == 0x26 && rd(0x0b) == 0x02,
	    "registers A (32 kHz, 1024 Hz) and B (24h, BCD) at reset");
	read_tm(&tm, 0);
	d = diff_now(&tm);
	check(d >= -1 && d <= 1, "BCD time is the host's UTC (%+lld s)", d);

	/* NVRAM memory sizes, as upstream and SeaBIOS read them */
	check(rd(0x15) == 0x80 && rd(0x16) == 0x02, "base memory 640 KiB");
	check(rd(0x17) == 0xff && rd(0x18) == 0xff && rd(0x30) == 0xff &&
	    rd(0x31) == 0xff, "extended memory capped at 0xffff KiB");
	check((rd(0x34) | rd(0x35) << 8) ==
	    (0xf0000000 - MB(16)) / 65536, "memory 16M-4G in 64K units");
	check((rd(0x5b) | rd(0x5c) << 8 | rd(0x5d) << 16) ==
	    (GB(5) - 0xf0000000) / 65536,
	    "memory above 4G in 64K units");
	check(rd(0x5f) == 3, "CPU count - 1");

	/* binary, 12-hour */
	wr(0x0b, 0x04);
	read_tm(&tm, 1);
	t = time(NULL);
	gmtime_r(&t, &now);
	check((tm.tm_hour & 0x7f) == (now.tm_hour % 12 == 0 ? 12 :
	    now.tm_hour % 12) && !!(tm.tm_hour & 0x80) ==
	    (now.tm_hour >= 12) && tm.tm_min == now.tm_min,
	    "binary 12-hour mode: hour 0x%02x for %02d:%02d", tm.tm_hour,
	    now.tm_hour, now.tm_min);
	wr(0x0b, 0x06);
	read_tm(&tm, 1);
	d = diff_now(&tm);
	check(d >= -1 && d <= 1, "binary 24-hour time (%+lld s)", d);

	/* set the clock: SET, write, clear SET */
	wr(0x0b, 0x82);
	wr(0x00, 0x30);
	wr(0x02, 0x45);
	wr(0x04, 0x13);
	wr(0x07, 0x24);
	wr(0x08, 0x12);
	wr(0x09, 0x01);
	wr(0x32, 0x20);
	check(rd(0x00) == 0x30 && rd(0x09) == 0x01,
	    "SET holds what the guest wrote");
	wr(0x0b, 0x02);
	read_tm(&tm, 0);
	check(tm.tm_year == 101 && tm.tm_mon == 11 && tm.tm_mday == 24 &&
	    tm.tm_hour == 13 && tm.tm_min == 45 && tm.tm_sec >= 30 &&
	    tm.tm_sec <= 31, "guest set 2001-12-24 13:45:30 (reads %d-%d-%d "
	    "%d:%d:%d)", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
	wr(0x04, 0x01 | 0x80);		/* a 12h hour in 24h mode */
	wr(0x0b, 0x00);			/* 12-hour BCD */
	wr(0x04, 0x81);			/* 1 PM */
	check(rd(0x04) == 0x81, "12-hour mode write 1 PM reads back 0x%02x",
	    rd(0x04));
	wr(0x0b, 0x02);
	check(rd(0x04) == 0x13, "... and is 13 in 24-hour mode (0x%02x)",
	    rd(0x04));

	/* register C clears on read and drops the IRQ */
	wr(0x0b, 0x12);			/* UIE */
	for (i = 0; i < 30 && !irq8; i++) {
		struct timespec ts = { 0, 50000000 };

		nanosleep(&ts, NULL);
		(void)event_loop(EVLOOP_NONBLOCK);
	}
	check(irq8 == 1, "update interrupt raises IRQ 8");
	b = rd(0x0c);
	check((b & 0x90) == 0x90 && irq8 == 0 && rd(0x0c) == 0,
	    "register C 0x%02x: IRQF|UF, cleared by the read", b);
	/* periodic interrupt at 2 Hz */
	wr(0x0a, 0x2f);
	wr(0x0b, 0x42);			/* PIE */
	for (i = 0; i < 30 && !irq8; i++) {
		struct timespec ts = { 0, 50000000 };

		nanosleep(&ts, NULL);
		(void)event_loop(EVLOOP_NONBLOCK);
	}
	b = rd(0x0c);
	check(i >= 5 && i < 30 && (b & 0xc0) == 0xc0 && irq8 == 0,
	    "periodic interrupt after %d ms, register C 0x%02x", i * 50, b);
	wr(0x0a, 0x26);
	wr(0x0b, 0x02);
	wr(0x0c, 0xff);
	wr(0x0d, 0x00);
	check(rd(0x0d) == 0x80, "C and D are read-only");

	/* UIP shows up before each update, for about 244 us */
	t = time(NULL);
	while (time(NULL) < t + 2 && !uip)
		uip = (rd(0x0a) & 0x80) != 0;
	check(uip, "UIP seen within two seconds");
	wr(0x0b, 0x82);
	check((rd(0x0a) & 0x80) == 0, "no UIP while SET");
	wr(0x0b, 0x02);

	/* NVRAM and the index register */
	wr(0x80 | 0x40, 0x5a);		/* NMI mask bit ignored */
	check(rd(0x40) == 0x5a, "NVRAM byte written through NMI-masked index");
	wr(0x7f, 0xa5);
	check(rd(0x7f) == 0xa5, "last NVRAM byte");

	return (failed);
}
