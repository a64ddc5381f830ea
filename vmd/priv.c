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
 * The priv process: the one child that keeps root, for the interface work
 * of networking (taps, bridges, addresses).  Network interfaces arrive
 * with a later milestone; until then it answers every request with a
 * refusal, and refuses to touch anything but taps and bridges.
 */

#include <sys/types.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmd.h"
#include "proc.h"
#include "log.h"

static void	priv_dispatch(struct imsgev *, struct imsg *);
static void	priv_closed(struct imsgev *);

__dead void
priv_main(struct privsep *ps, int fd)
{
	event_init();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (chdir("/") == -1)
		fatal("%s: chdir", __func__);
	proc_child_init(ps, PROC_PRIV, fd, priv_dispatch, priv_closed);
	event_dispatch();
	fatalx("%s: event loop ended", __func__);
}

static void
priv_closed(struct imsgev *iev)
{
	(void)iev;
	exit(0);
}

static void
priv_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	int	v, error = ENOTSUP;

	switch (imsg_get_type(imsg)) {
	case IMSG_CTL_VERBOSE:
		if (imsg_get_fixed(imsg, &v, sizeof(v), "verbose") == 0)
			log_setverbose(v);
		break;
	default:
		log_warnx("%s: request %u refused: network interfaces are "
		    "not supported yet", __func__, imsg_get_type(imsg));
		imsgev_compose(iev, IMSG_CTL_FAIL, imsg_get_id(imsg), 0, -1,
		    &error, sizeof(error));
		break;
	}
}
