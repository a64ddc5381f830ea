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

/* Unit tests for scan_scaled() and fmt_scaled(); TAP-style output. */

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "tap.h"




static void
scan_ok(const char *in, long long want)
{
	char		 buf[64];
	long long	 got = -42;
	int		 r;

	strlcpy(buf, in, sizeof(buf));
	errno = 0;
	r = scan_scaled(buf, &got);
	check(r == 0 && got == want, "scan_scaled(\"%s\") = %lld (got %lld, "
	    "rc %d)", in, want, got, r);
}

static void
scan_bad(const char *in, int want_errno)
{
	char		 buf[64];
	long long	 got = 4242;
	int		 r;

	strlcpy(buf, in, sizeof(buf));
	errno = 0;
	r = scan_scaled(buf, &got);
	check(r == -1 && errno == want_errno && got == 4242,
	    "scan_scaled(\"%s\") fails with %s, result untouched", in,
	    want_errno == EINVAL ? "EINVAL" : "ERANGE");
}

static void
fmt_ok(long long in, const char *want)
{
	char	 buf[FMT_SCALED_STRSIZE + 8];
	int	 r;

	memset(buf, 'x', sizeof(buf));
	buf[sizeof(buf) - 1] = '\0';
	r = fmt_scaled(in, buf);
	check(r == 0 && strcmp(buf, want) == 0 &&
	    strlen(buf) < FMT_SCALED_STRSIZE,
	    "fmt_scaled(%lld) = \"%s\" (got \"%s\")", in, want,
	    r == 0 ? buf : "error");
}

static void
roundtrip(long long v)
{
	char		 buf[FMT_SCALED_STRSIZE];
	long long	 back = 0;

	if (fmt_scaled(v, buf) == -1) {
		check(0, "round trip %lld: fmt_scaled failed", v);
		return;
	}
	check(scan_scaled(buf, &back) == 0 && back == v,
	    "round trip %lld -> \"%s\" -> %lld", v, buf, back);
}

int
main(void)
{
	char		 buf[FMT_SCALED_STRSIZE];
	long long	 v, worst;
	int		 i, r, maxlen;

	/* scan_scaled: good input */
	scan_ok("4.5G", 4831838208LL);
	scan_ok("512M", 536870912LL);
	scan_ok("1.0G", 1073741824LL);
	scan_ok("1G", 1073741824LL);
	scan_ok("123", 123);
	scan_ok("0", 0);
	scan_ok("1.5K", 1536);
	scan_ok("10k", 10240);
	scan_ok("2m", 2097152);
	scan_ok("1g", 1073741824LL);
	scan_ok("1t", 1099511627776LL);
	scan_ok("1P", 1125899906842624LL);
	scan_ok("1E", 1152921504606846976LL);
	scan_ok("7E", 7LL << 60);
	scan_ok("100B", 100);
	scan_ok("100b", 100);
	scan_ok("1.5", 1);	/* no unit: bytes, fraction dropped */
	scan_ok("1.9B", 1);
	scan_ok("  64M", 67108864LL);
	scan_ok("64M  ", 67108864LL);
	scan_ok("+2K", 2048);
	scan_ok("-1K", -1024);
	scan_ok("-1.5K", -1536);
	scan_ok(".5K", 512);
	scan_ok("1.K", 1024);
	scan_ok("0.001K", 1);		/* 1.024 bytes, truncated */
	scan_ok("1.999999999999999999999999K", 2047);
	scan_ok("0.1M", 104857);	/* 104857.6 truncated */
	scan_ok("9223372036854775807", LLONG_MAX);
	scan_ok("-9223372036854775808", LLONG_MIN);
	scan_ok("-8E", LLONG_MIN);
	scan_ok("7.999999999999999999E", 9223372036854775806LL);

	/* scan_scaled: bad input */
	scan_bad("", EINVAL);
	scan_bad("   ", EINVAL);
	scan_bad("G", EINVAL);
	scan_bad("12Q", EINVAL);
	scan_bad("1..2", EINVAL);
	scan_bad("1.2.3", EINVAL);
	scan_bad(".", EINVAL);
	scan_bad("-", EINVAL);
	scan_bad("+", EINVAL);
	scan_bad("--1", EINVAL);
	scan_bad("1KB", EINVAL);
	scan_bad("1 K", EINVAL);
	scan_bad("1K 2", EINVAL);
	scan_bad("0x10", EINVAL);
	scan_bad("abc", EINVAL);
	scan_bad("1e3", EINVAL);

	/* scan_scaled: overflow */
	scan_bad("8E", ERANGE);
	scan_bad("9223372036854775808", ERANGE);
	scan_bad("-9223372036854775809", ERANGE);
	scan_bad("99999999999999999999999", ERANGE);
	scan_bad("8192P", ERANGE);
	scan_bad("8589934592G", ERANGE);
	scan_bad("9007199254740992M", ERANGE);

	/* fmt_scaled: the examples vmctl relies upon */
	fmt_ok(0, "0B");
	fmt_ok(1, "1B");
	fmt_ok(100, "100B");
	fmt_ok(512, "512B");
	fmt_ok(1023, "1023B");
	fmt_ok(1024, "1.0K");
	fmt_ok(1025, "1.0K");
	fmt_ok(1536, "1.5K");
	fmt_ok(10240, "10.0K");
	fmt_ok(102400, "100K");
	fmt_ok(536870912LL, "512M");
	fmt_ok(1073741824LL, "1.0G");
	fmt_ok(102865715LL, "98.1M");
	fmt_ok(17179869184LL, "16.0G");
	fmt_ok(4831838208LL, "4.5G");
	fmt_ok(10483892LL, "10.0M");
	fmt_ok(5767168LL, "5.5M");
	fmt_ok(1099511627776LL, "1.0T");
	fmt_ok(1125899906842624LL, "1.0P");
	fmt_ok(1152921504606846976LL, "1.0E");
	fmt_ok(LLONG_MAX, "8.0E");
	/* just under a unit: whole part stays in the smaller unit */
	fmt_ok(1048575LL, "1024K");
	fmt_ok(1048576LL - 1024, "1023K");
	fmt_ok(1073741823LL, "1024M");
	/* rounding of the tenth, and into the whole part */
	fmt_ok(1024 + 51, "1.0K");	/* 1.0498 */
	fmt_ok(1024 + 52, "1.1K");	/* 1.0508 */
	fmt_ok(2047, "2.0K");		/* 1.999 rounds up */
	fmt_ok(99 * 1024 + 1000, "100K");	/* 99.98 */
	fmt_ok(512 * 1024 + 460, "512K");	/* 512.449 */
	fmt_ok(512 * 1024 + 461, "513K");	/* tenths round to .5 */
	fmt_ok(1023 * 1024 + 460, "1023K");
	fmt_ok(1023 * 1024 + 461, "1024K");
	/* negatives */
	fmt_ok(-1, "-1B");
	fmt_ok(-1023, "-1023B");
	fmt_ok(-1024, "-1.0K");
	fmt_ok(-1536, "-1.5K");
	fmt_ok(-536870912LL, "-512M");
	fmt_ok(-1048575LL, "-1024K");
	fmt_ok(-LLONG_MAX, "-8.0E");

	/* fmt_scaled: the one value it cannot show */
	strlcpy(buf, "keep", sizeof(buf));
	errno = 0;
	r = fmt_scaled(LLONG_MIN, buf);
	check(r == -1 && errno == ERANGE && strcmp(buf, "keep") == 0,
	    "fmt_scaled(LLONG_MIN) fails with ERANGE, result untouched");

	/* never longer than FMT_SCALED_STRSIZE - 1 */
	maxlen = 0;
	worst = 0;
	for (i = 0; i < 63; i++) {
		long long	 probes[6];
		int		 j;

		v = 1LL << i;
		probes[0] = v;
		probes[1] = v - 1;
		probes[2] = v + v / 3;
		probes[3] = -v;
		probes[4] = -(v - 1);
		probes[5] = -(v + v / 3);
		for (j = 0; j < 6; j++) {
			if (fmt_scaled(probes[j], buf) == -1) {
				maxlen = 99;
				worst = probes[j];
				continue;
			}
			if ((int)strlen(buf) > maxlen) {
				maxlen = (int)strlen(buf);
				worst = probes[j];
			}
		}
	}
	check(maxlen <= FMT_SCALED_STRSIZE - 1,
	    "fmt_scaled output never exceeds %d chars (max %d at %lld)",
	    FMT_SCALED_STRSIZE - 1, maxlen, worst);

	/* exact values survive fmt -> scan */
	roundtrip(0);
	roundtrip(1023);
	roundtrip(-1023);
	roundtrip(1024);
	roundtrip(1536);
	roundtrip(536870912LL);
	roundtrip(1073741824LL);
	roundtrip(4831838208LL);
	roundtrip(17179869184LL);

	return (failed ? 1 : 0);
}
