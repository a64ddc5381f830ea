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
 * Logging for every vmd process: stderr in the foreground (-d, -n),
 * syslog(3) when daemonized.  Messages carry the process name as a prefix
 * only in fatal reports, as upstream's do.
 */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/*
 * What a user other than root makes vmd log while it handles that user's
 * request (log_limit()) is limited per uid: LOG_LIMIT_LINES lines every
 * LOG_LIMIT_SECS seconds, the rest counted and the count logged later.
 */
#define LOG_LIMIT_UIDS	16
#define LOG_LIMIT_LINES	10
#define LOG_LIMIT_SECS	10

struct log_limit {
	uid_t		uid;
	time_t		start;
	unsigned int	lines;
	unsigned int	dropped;
	int		used;
};

static struct log_limit	 log_limits[LOG_LIMIT_UIDS];
static struct log_limit	*log_limited;	/* the current request's */

static int	 log_debug_mode;	/* 1: stderr */
static int	 log_verbose;
static char	 log_procname[64] = "vmd";

void
log_init(int n_debug, int facility)
{
	log_debug_mode = n_debug;
	log_verbose = n_debug > 1 ? n_debug - 1 : 0;
	if (!log_debug_mode)
		openlog(getprogname(), LOG_PID | LOG_NDELAY, facility);
	tzset();
}

void
log_procinit(const char *procname)
{
	if (procname != NULL)
		strlcpy(log_procname, procname, sizeof(log_procname));
}

void
log_setverbose(int v)
{
	log_verbose = v;
}

int
log_getverbose(void)
{
	return (log_verbose);
}

/* From here until log_unlimit(), lines are uid's (root's are free). */
void
log_limit(uid_t uid)
{
	struct log_limit	*l, *oldest = &log_limits[0];
	struct timespec		 ts;
	unsigned int		 i, dropped;

	log_limited = NULL;
	if (uid == 0)
		return;
	for (i = 0; i < LOG_LIMIT_UIDS; i++) {
		l = &log_limits[i];
		if (l->used && l->uid == uid)
			break;
		if (!l->used || l->start < oldest->start)
			oldest = l;
	}
	if (i == LOG_LIMIT_UIDS) {
		l = oldest;
		memset(l, 0, sizeof(*l));
		l->used = 1;
		l->uid = uid;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (ts.tv_sec - l->start >= LOG_LIMIT_SECS) {
		dropped = l->dropped;
		l->start = ts.tv_sec;
		l->lines = l->dropped = 0;
		if (dropped > 0)
			logit(LOG_WARNING, "uid %u: %u more lines about its "
			    "requests not logged", (unsigned int)uid, dropped);
	}
	log_limited = l;
}

void
log_unlimit(void)
{
	log_limited = NULL;
}

void
logit(int pri, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(pri, fmt, ap);
	va_end(ap);
}

void
vlog(int pri, const char *fmt, va_list ap)
{
	char	buf[1024];

	if (log_limited != NULL) {
		if (log_limited->lines >= LOG_LIMIT_LINES) {
			log_limited->dropped++;
			return;
		}
		log_limited->lines++;
	}
	if (log_debug_mode) {
		vsnprintf(buf, sizeof(buf), fmt, ap);
		/* one write, so lines of several processes do not mix */
		fprintf(stderr, "%s\n", buf);
		fflush(stderr);
	} else
		vsyslog(pri, fmt, ap);
}

static void
vlog_errno(int pri, int saved_errno, const char *fmt, va_list ap)
{
	char	buf[1024];

	if (fmt == NULL) {
		logit(pri, "%s", strerror(saved_errno));
		return;
	}
	vsnprintf(buf, sizeof(buf), fmt, ap);
	logit(pri, "%s: %s", buf, strerror(saved_errno));
}

void
log_warn(const char *emsg, ...)
{
	va_list	ap;
	int	saved_errno = errno;

	va_start(ap, emsg);
	vlog_errno(LOG_ERR, saved_errno, emsg, ap);
	va_end(ap);
	errno = saved_errno;
}

void
log_warnx(const char *emsg, ...)
{
	va_list	ap;

	va_start(ap, emsg);
	vlog(LOG_ERR, emsg, ap);
	va_end(ap);
}

void
log_info(const char *emsg, ...)
{
	va_list	ap;

	va_start(ap, emsg);
	vlog(LOG_INFO, emsg, ap);
	va_end(ap);
}

void
log_debug(const char *emsg, ...)
{
	va_list	ap;

	if (log_verbose) {
		va_start(ap, emsg);
		vlog(LOG_DEBUG, emsg, ap);
		va_end(ap);
	}
}

static __dead void
vfatalc(int code, const char *emsg, va_list ap)
{
	char	s[1024];

	log_limited = NULL;	/* the last word is always said */
	if (emsg != NULL)
		vsnprintf(s, sizeof(s), emsg, ap);
	else
		s[0] = '\0';
	if (code)
		logit(LOG_CRIT, "fatal in %s: %s%s%s", log_procname, s,
		    s[0] ? ": " : "", strerror(code));
	else
		logit(LOG_CRIT, "fatal in %s: %s", log_procname, s);
	exit(1);
}

void
fatal(const char *emsg, ...)
{
	va_list	ap;

	va_start(ap, emsg);
	vfatalc(errno, emsg, ap);
	va_end(ap);
}

void
fatalx(const char *emsg, ...)
{
	va_list	ap;

	va_start(ap, emsg);
	vfatalc(0, emsg, ap);
	va_end(ap);
}
