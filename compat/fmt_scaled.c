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
 * scan_scaled(3) and fmt_scaled(3): byte counts with a B/K/M/G/T/P/E
 * suffix, in powers of 1024.
 */

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

static const char	 scale_units[] = "BKMGTPE";
#define SCALE_NUNITS	 (sizeof(scale_units) - 1)

/* fraction digits that take part in the result; later ones are ignored */
#define SCAN_MAXFRAC	 18

static int
unit_shift(int c)
{
	const char	*p;

	if (c == '\0')
		return (-1);
	p = strchr(scale_units, toupper((unsigned char)c));
	if (p == NULL)
		return (-1);
	return ((int)(p - scale_units) * 10);
}

int
scan_scaled(char *str, long long *result)
{
	const unsigned char	*p = (const unsigned char *)str;
	unsigned long long	 whole = 0, frac = 0, den = 1, fracpart = 0;
	unsigned long long	 limit, mag;
	int			 neg = 0, ndigits = 0, shift = 0, i;

	if (str == NULL) {
		errno = EINVAL;
		return (-1);
	}
	while (isspace(*p))
		p++;
	if (*p == '-' || *p == '+') {
		neg = (*p == '-');
		p++;
	}

	/* integer part; overflow is detected once the scale is known */
	for (; isdigit(*p); p++) {
		ndigits++;
		if (whole > (ULLONG_MAX - 9) / 10) {
			errno = ERANGE;
			return (-1);
		}
		whole = whole * 10 + (unsigned long long)(*p - '0');
	}
	/* fraction */
	if (*p == '.') {
		p++;
		for (i = 0; isdigit(*p); p++, i++) {
			ndigits++;
			if (i < SCAN_MAXFRAC) {
				frac = frac * 10 +
				    (unsigned long long)(*p - '0');
				den *= 10;
			}
		}
	}
	if (ndigits == 0) {
		errno = EINVAL;
		return (-1);
	}
	/* optional unit */
	if (*p != '\0' && !isspace(*p)) {
		if ((shift = unit_shift(*p)) == -1) {
			errno = EINVAL;
			return (-1);
		}
		p++;
	}
	/* trailing white space only */
	while (isspace(*p))
		p++;
	if (*p != '\0') {
		errno = EINVAL;
		return (-1);
	}

	/* the magnitude may reach 2^63 only for a negative result */
	limit = (unsigned long long)LLONG_MAX + (neg ? 1 : 0);
	if (whole > (limit >> shift)) {
		errno = ERANGE;
		return (-1);
	}
	mag = whole << shift;

	/*
	 * floor(frac / den * 2^shift), bit by bit; frac < den <= 10^18,
	 * so doubling never overflows.  Without a unit (bytes) the
	 * fraction is dropped.
	 */
	for (i = 0; i < shift; i++) {
		frac *= 2;
		fracpart *= 2;
		if (frac >= den) {
			frac -= den;
			fracpart++;
		}
	}
	if (fracpart > limit - mag) {
		errno = ERANGE;
		return (-1);
	}
	mag += fracpart;

	if (neg)
		*result = mag == (unsigned long long)LLONG_MAX + 1 ?
		    LLONG_MIN : -(long long)mag;
	else
		*result = (long long)mag;
	return (0);
}

int
fmt_scaled(long long number, char *result)
{
	char			 buf[32];
	unsigned long long	 mag, whole, rem, sub, tenths;
	unsigned int		 u;
	int			 shift, n;
	const char		*sign;

	if (number == LLONG_MIN) {
		errno = ERANGE;
		return (-1);
	}
	sign = number < 0 ? "-" : "";
	mag = number < 0 ? (unsigned long long)-number :
	    (unsigned long long)number;

	/* the unit that keeps the whole part below 1024 */
	for (u = 0; u + 1 < SCALE_NUNITS; u++)
		if ((mag >> (10 * u)) < 1024)
			break;
	shift = (int)u * 10;

	if (u == 0) {
		n = snprintf(buf, sizeof(buf), "%s%lluB", sign, mag);
	} else {
		whole = mag >> shift;
		rem = mag & ((1ULL << shift) - 1);
		/* remainder in the next smaller unit, then in tenths */
		sub = rem >> (shift - 10);
		tenths = (10 * sub + 512) / 1024;
		if (tenths >= 10) {
			whole++;
			tenths = 0;
		}
		if (whole >= 100) {
			if (tenths >= 5)
				whole++;
			n = snprintf(buf, sizeof(buf), "%s%llu%c", sign,
			    whole, scale_units[u]);
		} else
			n = snprintf(buf, sizeof(buf), "%s%llu.%llu%c", sign,
			    whole, tenths, scale_units[u]);
	}
	if (n < 0 || n >= FMT_SCALED_STRSIZE) {
		errno = ERANGE;
		return (-1);
	}
	memcpy(result, buf, (size_t)n + 1);
	return (0);
}
