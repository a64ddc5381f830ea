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
 * Unaligned little-endian loads and stores into byte buffers: boot
 * protocol headers, zero pages and firmware tables.  x86 is little
 * endian, so these are plain copies.
 */

#ifndef BYTES_H
#define BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline uint16_t
get16(const uint8_t *p, size_t off)
{
	uint16_t	v;

	memcpy(&v, p + off, sizeof(v));
	return (v);
}

static inline uint32_t
get32(const uint8_t *p, size_t off)
{
	uint32_t	v;

	memcpy(&v, p + off, sizeof(v));
	return (v);
}

static inline uint64_t
get64(const uint8_t *p, size_t off)
{
	uint64_t	v;

	memcpy(&v, p + off, sizeof(v));
	return (v);
}

static inline void
put8(uint8_t *p, size_t off, uint8_t v)
{
	p[off] = v;
}

static inline void
put16(uint8_t *p, size_t off, uint16_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static inline void
put32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

static inline void
put64(uint8_t *p, size_t off, uint64_t v)
{
	memcpy(p + off, &v, sizeof(v));
}

/* len (1 to 8) bytes: a register of that width, as the guest sees it */
static inline void
put_le(uint8_t *p, uint64_t v, unsigned int len)
{
	unsigned int	i;

	for (i = 0; i < len; i++)
		p[i] = v >> (8 * i);
}

static inline uint64_t
get_le(const uint8_t *p, unsigned int len)
{
	uint64_t	v = 0;
	unsigned int	i;

	for (i = 0; i < len; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return (v);
}

#endif /* BYTES_H */
