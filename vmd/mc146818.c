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
 * MC146818 RTC.  The time is the host's UTC plus an offset the guest
 * sets by writing the clock; it is computed when read, so there is no
 * once-a-second timer unless the guest asks for update or alarm
 * interrupts.  Register B selects BCD or binary and 12 or 24 hours; UIP
 * is set in the last 244 us before each update, as on the chip.  The
 * NVRAM carries the memory sizes as upstream (and as SeaBIOS reads them).
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

#include "log.h"
#include "mc146818.h"
#include "vmstate.h"

#define MC_SEC		0x00
#define MC_ASEC		0x01
#define MC_MIN		0x02
#define MC_AMIN		0x03
#define MC_HOUR		0x04
#define MC_AHOUR	0x05
#define MC_DOW		0x06
#define MC_DOM		0x07
#define MC_MONTH	0x08
#define MC_YEAR		0x09
#define MC_REGA		0x0a
#define MC_REGB		0x0b
#define MC_REGC		0x0c
#define MC_REGD		0x0d
#define NVRAM_BASEMEM_LO 0x15
#define NVRAM_BASEMEM_HI 0x16
#define NVRAM_EXTMEM_LO	0x17
#define NVRAM_EXTMEM_HI	0x18
#define NVRAM_EXTMEM2_LO 0x30
#define NVRAM_EXTMEM2_HI 0x31
#define NVRAM_CENTURY	0x32
#define NVRAM_MEMSIZE_LO 0x34
#define NVRAM_MEMSIZE_HI 0x35
#define NVRAM_HIMEM_LO	0x5b
#define NVRAM_HIMEM_MID	0x5c
#define NVRAM_HIMEM_HI	0x5d
#define NVRAM_SMP_COUNT	0x5f
#define NVRAM_SIZE	0x80

#define REGA_UIP	0x80
#define REGA_DV_MASK	0x70
#define REGA_DV_32K	0x20
#define REGA_RS_MASK	0x0f
#define REGB_SET	0x80
#define REGB_PIE	0x40
#define REGB_AIE	0x20
#define REGB_UIE	0x10
#define REGB_DM		0x04	/* binary */
#define REGB_24HR	0x02
#define REGC_IRQF	0x80
#define REGC_PF		0x40
#define REGC_AF		0x20
#define REGC_UF		0x10
#define REGD_VRT	0x80
#define HOUR_PM		0x80
#define ALARM_ANY	0xc0

#define UIP_NS		244000	/* UIP leads the update by 244 us */

struct mc146818 {
	pthread_mutex_t	 mtx;
	struct vm	*vm;
	uint8_t		 idx;
	uint8_t		 regs[NVRAM_SIZE];
	int64_t		 offset;	/* guest - host, seconds */
	int64_t		 last_upd;	/* second of the last update */
	int		 irq_level;

	int		 wakefd;	/* eventfd: timers to reprogram */
	struct event	 ev_wake;
	struct event	 ev_per;
	struct event	 ev_upd;
	int		 paused;
};

static int
rtc_is_time_reg(unsigned int r)
{
	switch (r) {
	case MC_SEC:
	case MC_MIN:
	case MC_HOUR:
	case MC_DOW:
	case MC_DOM:
	case MC_MONTH:
	case MC_YEAR:
	case NVRAM_CENTURY:
		return (1);
	}
	return (0);
}

static void
rtc_now(struct mc146818 *rtc, time_t *sec, long *nsec)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	*sec = ts.tv_sec + rtc->offset;
	if (nsec != NULL)
		*nsec = ts.tv_nsec;
}

static uint8_t
rtc_enc(struct mc146818 *rtc, unsigned int v)
{
	if (rtc->regs[MC_REGB] & REGB_DM)
		return (v);
	return (((v / 10) % 10) << 4 | (v % 10));
}

static unsigned int
rtc_dec(struct mc146818 *rtc, uint8_t v)
{
	if (rtc->regs[MC_REGB] & REGB_DM)
		return (v);
	return ((v >> 4) * 10 + (v & 0x0f));
}

static uint8_t
rtc_enc_hour(struct mc146818 *rtc, unsigned int h)
{
	unsigned int	h12;

	if (rtc->regs[MC_REGB] & REGB_24HR)
		return (rtc_enc(rtc, h));
	h12 = h % 12 == 0 ? 12 : h % 12;
	return (rtc_enc(rtc, h12) | (h >= 12 ? HOUR_PM : 0));
}

static unsigned int
rtc_dec_hour(struct mc146818 *rtc, uint8_t v)
{
	unsigned int	h;

	if (rtc->regs[MC_REGB] & REGB_24HR)
		return (rtc_dec(rtc, v));
	h = rtc_dec(rtc, v & ~HOUR_PM) % 12;
	return ((v & HOUR_PM) ? h + 12 : h);
}

/* the clock registers, in the current format, for guest second t */
static void
rtc_fill(struct mc146818 *rtc, time_t t, uint8_t *r)
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	r[MC_SEC] = rtc_enc(rtc, tm.tm_sec);
	r[MC_MIN] = rtc_enc(rtc, tm.tm_min);
	r[MC_HOUR] = rtc_enc_hour(rtc, tm.tm_hour);
	r[MC_DOW] = rtc_enc(rtc, tm.tm_wday + 1);
	r[MC_DOM] = rtc_enc(rtc, tm.tm_mday);
	r[MC_MONTH] = rtc_enc(rtc, tm.tm_mon + 1);
	r[MC_YEAR] = rtc_enc(rtc, (tm.tm_year + 1900) % 100);
	r[NVRAM_CENTURY] = rtc_enc(rtc, (tm.tm_year + 1900) / 100);
}

static void
rtc_latch(struct mc146818 *rtc)
{
	time_t	t;

	rtc_now(rtc, &t, NULL);
	rtc_fill(rtc, t, rtc->regs);
}

/* The guest set the clock registers: they define the new offset. */
static void
rtc_commit(struct mc146818 *rtc)
{
	struct timespec	ts;
	struct tm	tm;
	time_t		t;
	unsigned int	year;

	memset(&tm, 0, sizeof(tm));
	tm.tm_sec = MINIMUM(rtc_dec(rtc, rtc->regs[MC_SEC]), 59);
	tm.tm_min = MINIMUM(rtc_dec(rtc, rtc->regs[MC_MIN]), 59);
	tm.tm_hour = MINIMUM(rtc_dec_hour(rtc, rtc->regs[MC_HOUR]), 23);
	tm.tm_mday = MAXIMUM(MINIMUM(rtc_dec(rtc, rtc->regs[MC_DOM]), 31), 1);
	tm.tm_mon = MAXIMUM(MINIMUM(rtc_dec(rtc, rtc->regs[MC_MONTH]), 12),
	    1) - 1;
	year = MINIMUM(rtc_dec(rtc, rtc->regs[NVRAM_CENTURY]), 99) * 100 +
	    MINIMUM(rtc_dec(rtc, rtc->regs[MC_YEAR]), 99);
	if (year < 1970)
		year += 100;
	tm.tm_year = year - 1900;
	if ((t = timegm(&tm)) == (time_t)-1)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	rtc->offset = (int64_t)t - ts.tv_sec;
	rtc->last_upd = t;
}

/* Called with the lock held: IRQ 8 follows IRQF. */
static void
rtc_update_irq(struct mc146818 *rtc)
{
	uint8_t	c = rtc->regs[MC_REGC] & (REGC_PF | REGC_AF | REGC_UF);
	uint8_t	b = rtc->regs[MC_REGB];
	int	level;

	level = ((c & REGC_PF) && (b & REGB_PIE)) ||
	    ((c & REGC_AF) && (b & REGB_AIE)) ||
	    ((c & REGC_UF) && (b & REGB_UIE));
	if (level)
		rtc->regs[MC_REGC] |= REGC_IRQF;
	else
		rtc->regs[MC_REGC] &= ~REGC_IRQF;
	if (level != rtc->irq_level) {
		rtc->irq_level = level;
		vm_irq_line(rtc->vm, RTC_IRQ, level);
	}
}

static int
rtc_running(struct mc146818 *rtc)
{
	return ((rtc->regs[MC_REGA] & REGA_DV_MASK) == REGA_DV_32K &&
	    !(rtc->regs[MC_REGB] & REGB_SET));
}

/* Updates since we last looked set UF, and AF if the alarm matches. */
static void
rtc_catch_up(struct mc146818 *rtc)
{
	uint8_t	r[NVRAM_SIZE];
	time_t	t;

	if (!rtc_running(rtc))
		return;
	rtc_now(rtc, &t, NULL);
	if (t == rtc->last_upd)
		return;
	rtc->last_upd = t;
	rtc->regs[MC_REGC] |= REGC_UF;
	rtc_fill(rtc, t, r);
	if ((rtc->regs[MC_ASEC] >= ALARM_ANY ||
	    rtc->regs[MC_ASEC] == r[MC_SEC]) &&
	    (rtc->regs[MC_AMIN] >= ALARM_ANY ||
	    rtc->regs[MC_AMIN] == r[MC_MIN]) &&
	    (rtc->regs[MC_AHOUR] >= ALARM_ANY ||
	    rtc->regs[MC_AHOUR] == r[MC_HOUR]))
		rtc->regs[MC_REGC] |= REGC_AF;
}

static void
rtc_kick_timers(struct mc146818 *rtc)
{
	uint64_t	one = 1;

	if (write(rtc->wakefd, &one, sizeof(one)) == -1 && errno != EAGAIN)
		log_debug("%s: %s", __func__, strerror(errno));
}

static void
rtc_io(void *arg, uint16_t port, int size, int in, uint32_t *data)
{
	struct mc146818	*rtc = arg;
	uint8_t		 v = *data, old;
	time_t		 t;
	long		 ns;

	(void)size;
	pthread_mutex_lock(&rtc->mtx);
	if (port == IO_RTC) {
		if (in)
			*data = 0xff;	/* the index is write-only */
		else
			rtc->idx = v & 0x7f;	/* bit 7: NMI mask */
		pthread_mutex_unlock(&rtc->mtx);
		return;
	}

	if (in) {
		switch (rtc->idx) {
		case MC_REGA:
			v = rtc->regs[MC_REGA];
			if (rtc_running(rtc)) {
				rtc_now(rtc, &t, &ns);
				if (ns >= 1000000000L - UIP_NS)
					v |= REGA_UIP;
			}
			break;
		case MC_REGC:
			rtc_catch_up(rtc);
			rtc_update_irq(rtc);
			v = rtc->regs[MC_REGC];
			rtc->regs[MC_REGC] = 0;
			rtc_update_irq(rtc);
			break;
		case MC_REGD:
			v = REGD_VRT;
			break;
		default:
			if (rtc_is_time_reg(rtc->idx) &&
			    !(rtc->regs[MC_REGB] & REGB_SET))
				rtc_latch(rtc);
			v = rtc->regs[rtc->idx];
			break;
		}
		*data = v;
		pthread_mutex_unlock(&rtc->mtx);
		return;
	}

	switch (rtc->idx) {
	case MC_REGA:
		old = rtc->regs[MC_REGA];
		rtc->regs[MC_REGA] = v & ~REGA_UIP;
		if ((old ^ v) & (REGA_DV_MASK | REGA_RS_MASK))
			rtc_kick_timers(rtc);
		break;
	case MC_REGB:
		old = rtc->regs[MC_REGB];
		if (!(old & REGB_SET) && (v & REGB_SET))
			rtc_latch(rtc);	/* freeze what the guest sees */
		rtc->regs[MC_REGB] = v;
		if ((old & REGB_SET) && !(v & REGB_SET))
			rtc_commit(rtc);
		if ((old ^ v) & (REGB_SET | REGB_PIE | REGB_AIE | REGB_UIE))
			rtc_kick_timers(rtc);
		rtc_update_irq(rtc);
		break;
	case MC_REGC:
	case MC_REGD:
		break;			/* read-only */
	default:
		if (rtc_is_time_reg(rtc->idx) &&
		    !(rtc->regs[MC_REGB] & REGB_SET)) {
			rtc_latch(rtc);
			rtc->regs[rtc->idx] = v;
			rtc_commit(rtc);
		} else
			rtc->regs[rtc->idx] = v;
		break;
	}
	pthread_mutex_unlock(&rtc->mtx);
}

/*
 * Event thread: the periodic and update interrupts, only while enabled.
 */

static void
rtc_per_cb(int fd, short event, void *arg)
{
	struct mc146818	*rtc = arg;

	(void)fd;
	(void)event;
	pthread_mutex_lock(&rtc->mtx);
	rtc->regs[MC_REGC] |= REGC_PF;
	rtc_update_irq(rtc);
	pthread_mutex_unlock(&rtc->mtx);
}

static void
rtc_upd_arm(struct mc146818 *rtc)
{
	struct timespec	ts;
	struct timeval	tv;

	clock_gettime(CLOCK_REALTIME, &ts);
	tv.tv_sec = 0;
	tv.tv_usec = (1000000000L - ts.tv_nsec) / 1000 + 1;
	evtimer_add(&rtc->ev_upd, &tv);
}

static void
rtc_upd_cb(int fd, short event, void *arg)
{
	struct mc146818	*rtc = arg;
	int		 again;

	(void)fd;
	(void)event;
	pthread_mutex_lock(&rtc->mtx);
	rtc_catch_up(rtc);
	rtc_update_irq(rtc);
	again = !rtc->paused && rtc_running(rtc) &&
	    (rtc->regs[MC_REGB] & (REGB_UIE | REGB_AIE));
	pthread_mutex_unlock(&rtc->mtx);
	if (again)
		rtc_upd_arm(rtc);
}

/* Match the timers to registers A and B. */
static void
rtc_timers(struct mc146818 *rtc)
{
	struct timeval	tv;
	uint64_t	us;
	uint8_t		a, b;
	unsigned int	rs;

	pthread_mutex_lock(&rtc->mtx);
	a = rtc->regs[MC_REGA];
	b = rtc->regs[MC_REGB];
	pthread_mutex_unlock(&rtc->mtx);

	evtimer_del(&rtc->ev_per);
	evtimer_del(&rtc->ev_upd);
	if (rtc->paused || (a & REGA_DV_MASK) != REGA_DV_32K)
		return;
	rs = a & REGA_RS_MASK;
	if ((b & REGB_PIE) && rs != 0) {
		if (rs < 3)
			rs += 7;	/* 1, 2 are the same as 8, 9 */
		us = (1000000ULL << (rs - 1)) / 32768;
		tv.tv_sec = us / 1000000;
		tv.tv_usec = us % 1000000;
		event_del(&rtc->ev_per);
		event_set(&rtc->ev_per, -1, EV_PERSIST, rtc_per_cb, rtc);
		event_add(&rtc->ev_per, &tv);
	}
	if (!(b & REGB_SET) && (b & (REGB_UIE | REGB_AIE)))
		rtc_upd_arm(rtc);
}

static void
rtc_wake_cb(int fd, short event, void *arg)
{
	struct mc146818	*rtc = arg;
	uint64_t	 v;

	(void)event;
	if (read(fd, &v, sizeof(v)) == -1)
		return;
	rtc_timers(rtc);
}

void
mc146818_stop(struct mc146818 *rtc)
{
	rtc->paused = 1;
	rtc_timers(rtc);
}

void
mc146818_start(struct mc146818 *rtc)
{
	rtc->paused = 0;
	rtc_timers(rtc);
}

/*
 * What send carries: the index, every register and the guest's offset
 * from the host's clock, so that its RTC keeps time with the receiving
 * host's as it did with ours.
 */
struct mc146818_state {
	uint8_t		 idx;
	uint8_t		 pad[7];
	int64_t		 offset;
	uint8_t		 regs[NVRAM_SIZE];
} __attribute__((packed));

int
mc146818_save(struct mc146818 *rtc, struct vms_writer *w)
{
	struct mc146818_state	s;

	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&rtc->mtx);
	s.idx = rtc->idx;
	s.offset = rtc->offset;
	memcpy(s.regs, rtc->regs, sizeof(s.regs));
	pthread_mutex_unlock(&rtc->mtx);
	return (vms_put(w, VMS_RTC, 0, &s, sizeof(s)));
}

/* Before the guest runs, on the event thread; timers follow A and B. */
const char *
mc146818_restore(struct mc146818 *rtc, const void *p, size_t len)
{
	struct mc146818_state	s;

	if (len != sizeof(s))
		return ("wrong size");
	memcpy(&s, p, sizeof(s));
	/* a clock thousands of years off is no clock */
	if (s.offset > (int64_t)1 << 40 || s.offset < -((int64_t)1 << 40))
		return ("clock offset out of range");
	pthread_mutex_lock(&rtc->mtx);
	rtc->idx = s.idx & 0x7f;
	rtc->offset = s.offset;
	memcpy(rtc->regs, s.regs, sizeof(rtc->regs));
	rtc_now(rtc, &rtc->last_upd, NULL);
	rtc->irq_level = 0;
	rtc_update_irq(rtc);
	pthread_mutex_unlock(&rtc->mtx);
	rtc_timers(rtc);
	return (NULL);
}

static void
nvram_memsize(struct mc146818 *rtc, const struct vm_mem *mem,
    unsigned int ncpus)
{
	const struct vm_mem_range	*r;
	uint64_t			 ext = 0, above16m = 0, above4g = 0, v;
	unsigned int			 i;

	for (i = 0; i < mem->nranges; i++) {
		r = &mem->ranges[i];
		if (r->vmr_type != VM_MEM_RAM)
			continue;
		if (r->vmr_gpa == MB(1)) {
			ext = r->vmr_size;
			if (r->vmr_size > MB(15))
				above16m = r->vmr_size - MB(15);
		} else if (r->vmr_gpa == GB(4))
			above4g = r->vmr_size;
	}

	v = 640;			/* KiB */
	rtc->regs[NVRAM_BASEMEM_LO] = v & 0xff;
	rtc->regs[NVRAM_BASEMEM_HI] = v >> 8;
	v = MINIMUM(ext / 1024, 0xffff);
	rtc->regs[NVRAM_EXTMEM_LO] = rtc->regs[NVRAM_EXTMEM2_LO] = v & 0xff;
	rtc->regs[NVRAM_EXTMEM_HI] = rtc->regs[NVRAM_EXTMEM2_HI] = v >> 8;
	v = MINIMUM(above16m / 65536, 0xffff);
	rtc->regs[NVRAM_MEMSIZE_LO] = v & 0xff;
	rtc->regs[NVRAM_MEMSIZE_HI] = v >> 8;
	v = MINIMUM(above4g / 65536, 0xffffff);
	rtc->regs[NVRAM_HIMEM_LO] = v & 0xff;
	rtc->regs[NVRAM_HIMEM_MID] = (v >> 8) & 0xff;
	rtc->regs[NVRAM_HIMEM_HI] = v >> 16;
	rtc->regs[NVRAM_SMP_COUNT] = ncpus > 0 ? ncpus - 1 : 0;
}

struct mc146818 *
mc146818_init(struct vm *vm)
{
	struct mc146818	*rtc;

	if ((rtc = calloc(1, sizeof(*rtc))) == NULL)
		return (NULL);
	pthread_mutex_init(&rtc->mtx, NULL);
	rtc->vm = vm;
	rtc->paused = 1;		/* until mc146818_start() */
	rtc->regs[MC_REGA] = REGA_DV_32K | 0x06;	/* 1024 Hz */
	rtc->regs[MC_REGB] = REGB_24HR;
	rtc->regs[MC_REGD] = REGD_VRT;
	nvram_memsize(rtc, &vm->vm_mem, vm->vm_ncpus);
	rtc_now(rtc, &rtc->last_upd, NULL);
	rtc_latch(rtc);

	if ((rtc->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		log_warn("%s: eventfd", __func__);
		free(rtc);
		return (NULL);
	}
	if (vm_ioport_register(vm, IO_RTC, 2, rtc_io, rtc) == -1) {
		close(rtc->wakefd);
		free(rtc);
		return (NULL);
	}
	event_set(&rtc->ev_wake, rtc->wakefd, EV_READ | EV_PERSIST,
	    rtc_wake_cb, rtc);
	event_add(&rtc->ev_wake, NULL);
	evtimer_set(&rtc->ev_per, rtc_per_cb, rtc);
	evtimer_set(&rtc->ev_upd, rtc_upd_cb, rtc);
	return (rtc);
}
