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
 * ttfm: time to first match.  Runs a command in its own process group
 * with stdout and stderr on a pipe and prints, for each -m string in
 * turn, the seconds from fork(2) to the moment a line containing it was
 * read.  A string is searched from where the previous one matched, and is
 * matched as soon as it has been read, without waiting for the end of its
 * line.
 *
 *	ttfm [-k] [-h hold] [-o log] [-p pidfile] [-t timeout]
 *	    -m string [-m string ...] command [argument ...]
 *
 *	-k	after the last match (and the hold), kill the command's
 *		process group (SIGTERM, then SIGKILL after 2 s); without
 *		it the command is left running.  On a timeout, an early end
 *		of output or a signal to ttfm the group is always killed.
 *	-h s	keep reading (and discarding) the output for s seconds after
 *		the last match: the command stays undisturbed while the
 *		caller looks at it.
 *	-o f	copy all output of the command to f.
 *	-p f	write the command's process id to f.
 *	-t s	give up after s seconds (default 30).
 *
 * Exit status: 0 if every string matched, 1 if not (timeout, end of
 * output, signal), 2 on a usage or system error or if the command
 * cannot be executed.
 */

#include <sys/types.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAXMARKS	8
#define MAXMARKLEN	256
#define LINEMAX		8192
#define KILLWAIT	2.0	/* seconds between SIGTERM and SIGKILL */

struct ttfm {
	const char	*marks[MAXMARKS];
	size_t		 marklen[MAXMARKS];
	int		 nmarks;
	int		 cur;		/* next string to look for */
	double		 t0;
	char		 line[LINEMAX];	/* the current line, or its tail */
	size_t		 len;
	size_t		 off;		/* search start in line */
	FILE		*log;
};

static volatile sig_atomic_t	gotsig;

static void	usage(void) __attribute__((__noreturn__));

static void
usage(void)
{
	fprintf(stderr, "usage: ttfm [-k] [-h hold] [-o log] [-p pidfile] "
	    "[-t timeout]\n"
	    "\t    -m string [-m string ...] command [argument ...]\n");
	exit(2);
}

static void
sig_handler(int sig)
{
	gotsig = sig;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double
parse_secs(const char *s, const char *what)
{
	char *ep;
	double v;

	errno = 0;
	v = strtod(s, &ep);
	if (errno != 0 || ep == s || *ep != '\0' || v < 0 || v > 86400)
		errx(2, "%s: invalid: %s", what, s);
	return v;
}

/* Look for the pending strings in the current line; t is the read time. */
static void
ttfm_search(struct ttfm *tf, double t)
{
	const char *p;

	while (tf->cur < tf->nmarks) {
		p = memmem(tf->line + tf->off, tf->len - tf->off,
		    tf->marks[tf->cur], tf->marklen[tf->cur]);
		if (p == NULL)
			return;
		tf->off = p - tf->line + tf->marklen[tf->cur];
		printf("%.6f\n", t - tf->t0);
		fflush(stdout);
		tf->cur++;
	}
}

/* Append a piece of a line, keeping only its tail if it is too long. */
static void
ttfm_append(struct ttfm *tf, const char *s, size_t n, double t)
{
	size_t keep, room;

	while (n > 0) {
		if (tf->len == sizeof(tf->line)) {
			/* a match may straddle the cut: keep enough */
			keep = MAXMARKLEN;
			memmove(tf->line, tf->line + tf->len - keep, keep);
			tf->off = tf->off > tf->len - keep ?
			    tf->off - (tf->len - keep) : 0;
			tf->len = keep;
		}
		room = sizeof(tf->line) - tf->len;
		if (room > n)
			room = n;
		memcpy(tf->line + tf->len, s, room);
		tf->len += room;
		s += room;
		n -= room;
		ttfm_search(tf, t);
	}
}

static void
ttfm_input(struct ttfm *tf, const char *buf, size_t n, double t)
{
	const char *nl;
	size_t seg;

	if (tf->log != NULL)
		fwrite(buf, 1, n, tf->log);
	while (n > 0) {
		nl = memchr(buf, '\n', n);
		seg = nl != NULL ? (size_t)(nl - buf) : n;
		ttfm_append(tf, buf, seg, t);
		if (nl == NULL)
			break;
		tf->len = tf->off = 0;
		buf += seg + 1;
		n -= seg + 1;
	}
}

/* SIGTERM to the group, SIGKILL if the command has not gone in time. */
static void
group_kill(pid_t pid)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	double end;
	pid_t r;

	killpg(pid, SIGTERM);
	end = now() + KILLWAIT;
	for (;;) {
		r = waitpid(pid, NULL, WNOHANG);
		if (r == pid || (r == -1 && errno != EINTR))
			break;
		if (now() >= end) {
			killpg(pid, SIGKILL);
			while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
				;
			break;
		}
		nanosleep(&tick, NULL);
	}
	/* whatever else the command left in its group */
	killpg(pid, SIGKILL);
}

int
main(int argc, char *argv[])
{
	struct ttfm tf;
	struct sigaction sa;
	struct pollfd pfd;
	FILE *fp;
	char buf[4096];
	const char *logpath = NULL, *pidpath = NULL;
	double timeout = 30, hold = 0, deadline, t;
	ssize_t n;
	pid_t pid;
	int ch, fds[2], efds[2], kill_after = 0, ms, ok, devnull, eno;

	memset(&tf, 0, sizeof(tf));
	while ((ch = getopt(argc, argv, "+h:km:o:p:t:")) != -1) {
		switch (ch) {
		case 'h':
			hold = parse_secs(optarg, "hold");
			break;
		case 'k':
			kill_after = 1;
			break;
		case 'm':
			if (tf.nmarks == MAXMARKS)
				errx(2, "too many strings");
			tf.marklen[tf.nmarks] = strlen(optarg);
			if (tf.marklen[tf.nmarks] == 0 ||
			    tf.marklen[tf.nmarks] > MAXMARKLEN)
				errx(2, "string length must be 1 to %d",
				    MAXMARKLEN);
			tf.marks[tf.nmarks++] = optarg;
			break;
		case 'o':
			logpath = optarg;
			break;
		case 'p':
			pidpath = optarg;
			break;
		case 't':
			timeout = parse_secs(optarg, "timeout");
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0 || tf.nmarks == 0)
		usage();

	if (logpath != NULL && (tf.log = fopen(logpath, "we")) == NULL)
		err(2, "%s", logpath);
	if ((devnull = open("/dev/null", O_RDONLY | O_CLOEXEC)) == -1)
		err(2, "/dev/null");
	/* efds: the child's errno if exec fails, end of file if not */
	if (pipe2(fds, O_CLOEXEC) == -1 || pipe2(efds, O_CLOEXEC) == -1)
		err(2, "pipe");

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sig_handler;
	sigemptyset(&sa.sa_mask);
	/* no SA_RESTART: poll(2) must return on a signal */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	fflush(NULL);
	tf.t0 = now();
	switch (pid = fork()) {
	case -1:
		err(2, "fork");
	case 0:
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		if (dup2(devnull, STDIN_FILENO) == -1 ||
		    dup2(fds[1], STDOUT_FILENO) == -1 ||
		    dup2(fds[1], STDERR_FILENO) == -1)
			_exit(127);
		execvp(argv[0], argv);
		eno = errno;
		if (write(efds[1], &eno, sizeof(eno)) != sizeof(eno))
			_exit(126);
		_exit(127);
	}
	/* also here, so that killpg() works whoever runs first */
	setpgid(pid, pid);
	close(efds[1]);
	while ((n = read(efds[0], &eno, sizeof(eno))) == -1 && errno == EINTR)
		;
	close(efds[0]);
	if (n == sizeof(eno)) {
		while (waitpid(pid, NULL, 0) == -1 && errno == EINTR)
			;
		errno = eno;
		err(2, "%s", argv[0]);
	}
	close(fds[1]);
	close(devnull);
	if (pidpath != NULL) {
		if ((fp = fopen(pidpath, "w")) == NULL) {
			warn("%s", pidpath);
			group_kill(pid);
			return 2;
		}
		fprintf(fp, "%ld\n", (long)pid);
		fclose(fp);
	}

	deadline = tf.t0 + timeout;
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	ok = 0;
	for (;;) {
		if (gotsig)
			break;
		t = now();
		if (tf.cur == tf.nmarks && !ok) {
			ok = 1;
			deadline = t + hold;
		}
		if (t >= deadline) {
			if (!ok)
				warnx("timeout after %g s waiting for \"%s\"",
				    timeout, tf.marks[tf.cur]);
			break;
		}
		ms = (int)((deadline - t) * 1000) + 1;
		if (poll(&pfd, 1, ms) == -1) {
			if (errno == EINTR)
				continue;
			warn("poll");
			break;
		}
		if (pfd.revents == 0)
			continue;
		n = read(fds[0], buf, sizeof(buf));
		t = now();
		if (n == -1) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			warn("read");
			break;
		}
		if (n == 0) {
			if (tf.cur < tf.nmarks)
				warnx("end of output before \"%s\"",
				    tf.marks[tf.cur]);
			break;
		}
		ttfm_input(&tf, buf, n, t);
	}
	if (tf.cur == tf.nmarks)
		ok = 1;
	if (tf.log != NULL)
		fclose(tf.log);
	if (kill_after || !ok || gotsig)
		group_kill(pid);
	close(fds[0]);
	return ok ? 0 : 1;
}
