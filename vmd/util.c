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

/* Small helpers shared by vmd's processes and vmctl. */

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmd.h"

/*
 * The name rule of vmctl(8): alphanumerics, '.', '-' and '_', not starting
 * with one of the three punctuation characters, shorter than
 * VMM_MAX_NAME_LEN.
 */
int
vm_name_valid(const char *name)
{
	const char	*p;

	if (name == NULL || *name == '\0')
		return (0);
	if (strlen(name) >= VMM_MAX_NAME_LEN)
		return (0);
	if (*name == '.' || *name == '-' || *name == '_')
		return (0);
	for (p = name; *p != '\0'; p++) {
		if (!isascii((unsigned char)*p) ||
		    (!isalnum((unsigned char)*p) &&
		    *p != '.' && *p != '-' && *p != '_'))
			return (0);
	}
	return (1);
}

/* The STATE column of vmctl status, by upstream's precedence. */
const char *
vm_state(unsigned int state)
{
	if (state & VM_STATE_PAUSED)
		return ("paused");
	if (state & VM_STATE_WAITING)
		return ("waiting");
	if (state & VM_STATE_SHUTDOWN)
		return ("stopping");
	if (state & VM_STATE_RUNNING)
		return ("running");
	if (state & VM_STATE_CRASHED)
		return ("crashed");
	if (state == 0 || (state & VM_STATE_DISABLED))
		return ("stopped");
	return ("unknown");
}

/*
 * Parse a size given as a scan_scaled(3) word, or as a plain number when
 * word is NULL, for "memory" or "disk".  At least 1 MB, at most limit
 * (0: no limit), rounded down to whole megabytes with a warning.
 * Messages go through warnfn, as upstream's vmctl and parse.y word them.
 */
int
vm_size_parse(const char *word, long long val, const char *type,
    uint64_t limit, uint64_t *res, void (*warnfn)(const char *, ...))
{
	char		 buf[FMT_SCALED_STRSIZE], wbuf[64];
	long long	 size;

	if (word != NULL) {
		if (strlcpy(wbuf, word, sizeof(wbuf)) >= sizeof(wbuf)) {
			errno = ERANGE;
			warnfn("invalid %s size: %s: %s", type, word,
			    strerror(errno));
			return (-1);
		}
		if (scan_scaled(wbuf, &size) != 0) {
			warnfn("invalid %s size: %s: %s", type, word,
			    strerror(errno));
			return (-1);
		}
	} else
		size = val;

	if (size < 1024 * 1024) {
		warnfn("%s size must be at least 1MB", type);
		return (-1);
	}
	if (limit != 0 && (uint64_t)size > limit) {
		if (fmt_scaled((long long)limit, buf) == 0)
			warnfn("%s size too large (limit is %s)", type, buf);
		else
			warnfn("%s size too large", type);
		return (-1);
	}
	if (size % (1024 * 1024) != 0) {
		size -= size % (1024 * 1024);
		if (fmt_scaled(size, buf) == 0)
			warnfn("%s size rounded to %s", type, buf);
		else
			warnfn("%s size rounded to %lldB", type, size);
	}
	*res = (uint64_t)size;
	return (0);
}
