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
 * Minimal freestanding library: the mem* functions the compiler may call,
 * string helpers, number parsing and the initrd checksum.
 */

#include "guest.h"

void *
memcpy(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	while (n-- > 0)
		*d++ = *s++;
	return dst;
}

void *
memmove(void *dst, const void *src, size_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;

	if (d <= s || d >= s + n)
		return memcpy(dst, src, n);
	while (n-- > 0)
		d[n] = s[n];
	return dst;
}

void *
memset(void *dst, int c, size_t n)
{
	uint8_t *d = dst;

	while (n-- > 0)
		*d++ = (uint8_t)c;
	return dst;
}

int
memcmp(const void *a, const void *b, size_t n)
{
	const uint8_t *p = a, *q = b;

	for (; n > 0; n--, p++, q++)
		if (*p != *q)
			return *p - *q;
	return 0;
}

size_t
strlen(const char *s)
{
	size_t n = 0;

	while (s[n] != '\0')
		n++;
	return n;
}

int
strcmp(const char *a, const char *b)
{
	while (*a != '\0' && *a == *b) {
		a++;
		b++;
	}
	return (uint8_t)*a - (uint8_t)*b;
}

/* Is [pa, pa + len) inside the identity map set up by head.S? */
int
mapped(uint64_t pa, uint64_t len)
{
	return pa < MAPPED_TOP && len <= MAPPED_TOP - pa;
}

/* Decimal, or hexadecimal with a 0x prefix.  Returns 0 on success. */
int
parse_num(const char *s, uint64_t *res)
{
	uint64_t v = 0;
	int base = 10, d, n = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	for (; *s != '\0'; s++, n++) {
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return -1;
		v = v * base + d;
	}
	if (n == 0)
		return -1;
	*res = v;
	return 0;
}

/*
 * 32-bit FNV-1a over the bytes [pa, pa + len): h = 0x811c9dc5; for each
 * byte b: h ^= b, h *= 0x01000193 (mod 2^32).  Eight bytes per load.
 */
uint32_t
fnv1a32(uint64_t pa, uint64_t len)
{
	return fnv1a32_more(FNV_INIT, pa, len);
}

/* Continue a checksum h (FNV_INIT to start) over [pa, pa + len). */
uint32_t
fnv1a32_more(uint32_t h, uint64_t pa, uint64_t len)
{
	uint64_t w;
	int i;

	for (; len >= 8; len -= 8, pa += 8) {
		w = rd64(pa);
		/* unrolled: 4 instructions a byte, no loop counter */
#pragma GCC unroll 8
		for (i = 0; i < 8; i++) {
			h ^= (uint8_t)w;
			h *= 0x01000193;
			w >>= 8;
		}
	}
	for (; len > 0; len--, pa++) {
		h ^= rd8(pa);
		h *= 0x01000193;
	}
	return h;
}
