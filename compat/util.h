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

/* What OpenBSD keeps in <util.h> and libbsd does not provide. */

#ifndef COMPAT_UTIL_H
#define COMPAT_UTIL_H

#define FMT_SCALED_STRSIZE	7	/* "-1023K" and a NUL */

/*
 * scan_scaled: "4.5G", "512M", "1.0G", "123", "10k" -> bytes.
 * Returns 0, or -1 with errno EINVAL (malformed) or ERANGE (overflow).
 */
int	scan_scaled(char *, long long *);

/*
 * fmt_scaled: bytes -> "512M", "1.0G", "98.1M", "0B" (at most 6 chars).
 * Returns 0, or -1 with errno ERANGE when the value cannot be shown.
 */
int	fmt_scaled(long long, char *);

#endif /* COMPAT_UTIL_H */
