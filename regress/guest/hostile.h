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
 * What the hostile commands (race.c, chaos.c) share: a seeded generator,
 * raw access to a virtio structure (the driver's own accessors are
 * static to virtio.c), the common configuration's offsets, and where
 * RAM ends.
 */

#ifndef HOSTILE_H
#define HOSTILE_H

#include "virtio.h"

/* the common configuration structure (virtio 1.x, 4.1.4.3) */
#define HC_DFSELECT		0
#define HC_DF			4
#define HC_GFSELECT		8
#define HC_GF			12
#define HC_MSIX			16
#define HC_NUMQ			18
#define HC_STATUS		20
#define HC_GEN			21
#define HC_QSELECT		22
#define HC_QSIZE		24
#define HC_QMSIX		26
#define HC_QENABLE		28
#define HC_QNOTIFYOFF		30
#define HC_QDESC		32
#define HC_QDRIVER		40
#define HC_QDEVICE		48
#define HC_LEN			56

#define HS_DRIVER_OK		0x04
#define HS_NEEDS_RESET		0x40

#define E820_RAM		1

/* xorshift64*: one stream per seed, the same on every run */
static inline uint64_t
hrand(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dULL;
}

static inline void
hseed(uint64_t *s, uint64_t seed)
{
	*s = seed * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
	if (*s == 0)
		*s = 1;
	(void)hrand(s);
}

static inline uint32_t
hrange(uint64_t *s, uint32_t n)
{
	return n == 0 ? 0 : (uint32_t)(hrand(s) >> 32) % n;
}

/* one access of size bytes at off of a port or memory region */
static inline uint32_t
hreg_read(const struct vregion *r, uint32_t off, int size)
{
	uint64_t a = r->base + off;

	if (r->io) {
		if (size == 1)
			return inb(a);
		if (size == 2)
			return inw(a);
		return inl(a);
	}
	if (size == 1)
		return *(volatile uint8_t *)a;
	if (size == 2)
		return *(volatile uint16_t *)a;
	return *(volatile uint32_t *)a;
}

static inline void
hreg_write(const struct vregion *r, uint32_t off, int size, uint32_t v)
{
	uint64_t a = r->base + off;

	if (r->io) {
		if (size == 1)
			outb(a, v);
		else if (size == 2)
			outw(a, v);
		else
			outl(a, v);
		return;
	}
	if (size == 1)
		*(volatile uint8_t *)a = v;
	else if (size == 2)
		*(volatile uint16_t *)a = v;
	else
		*(volatile uint32_t *)a = v;
}

/* The end of the RAM range that holds the guest (the e820 map's). */
static inline uint64_t
ram_top(void)
{
	uint64_t e, a, l, top = 0;
	uint32_t i, n = bootinfo.bi_e820n;

	if (!mapped(bootinfo.bi_e820, (uint64_t)n * bootinfo.bi_e820stride))
		return 0;
	for (i = 0; i < n; i++) {
		e = bootinfo.bi_e820 + (uint64_t)i * bootinfo.bi_e820stride;
		a = rd64(e);
		l = rd64(e + 8);
		if (rd32(e + 16) == E820_RAM && a <= KERNBASE &&
		    a + l > KERNBASE)
			top = a + l;
	}
	return top;
}

/* spin for about n TSC cycles */
static inline void
hdelay(uint64_t n)
{
	uint64_t end = rdtsc() + n;

	while (rdtsc() < end)
		__asm__ volatile("pause");
}

#endif /* HOSTILE_H */
