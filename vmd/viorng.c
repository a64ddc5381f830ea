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
 * virtio-rng: every buffer the guest offers is filled from the host's
 * random pool (getrandom), in a thread of its own.
 */

#include <sys/types.h>
#include <sys/random.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "virtio.h"

#define VIORNG_QSIZE		64
#define VIORNG_MAX_FILL		65536	/* per buffer, the rest stays unused */

struct viorng {
	struct virtio_dev	 dev;
	struct virtio_req	 req;
};

static size_t
viorng_fill(struct virtio_req *r)
{
	size_t	 done = 0, want, c;
	ssize_t	 n;
	int	 i;

	for (i = r->nrd; i < r->nrd + r->nwr && done < VIORNG_MAX_FILL;
	    i++) {
		want = MINIMUM(r->iov[i].iov_len, VIORNG_MAX_FILL - done);
		for (c = 0; c < want; c += n) {
			n = getrandom((uint8_t *)r->iov[i].iov_base + c,
			    want - c, 0);
			if (n <= 0) {
				if (n == -1 && errno == EINTR) {
					n = 0;
					continue;
				}
				return (done + c);
			}
		}
		done += want;
	}
	return (done);
}

static void *
viorng_thread(void *arg)
{
	struct viorng		*sc = arg;
	struct virtio_vq	*vq = &sc->dev.vq[0];
	int			 got;

	for (;;) {
		vq_wait_kick(vq);
		do {
			while ((got = vq_pop(vq, &sc->req)) == 1)
				vq_push(vq, &sc->req, viorng_fill(&sc->req));
			vq_interrupt(vq);
		} while (got == 0 && vq_notify_enable(vq));
	}
	return (NULL);
}

static const struct virtio_ops viorng_ops = { 0 };

int
viorng_init(struct vm *vm)
{
	struct virtio_devinfo	 di;
	struct viorng		*sc;
	pthread_t		 t;
	int			 ret;

	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return (-1);
	memset(&di, 0, sizeof(di));
	di.name = "viornd0";
	di.type = VIRTIO_ID_RNG;
	di.class = 0xff;
	di.subclass = 0x00;
	di.features = VIRTIO_F_INDIRECT_DESC;
	di.nqueues = 1;
	di.qsize = VIORNG_QSIZE;
	di.ops = &viorng_ops;
	di.softc = sc;
	if (virtio_dev_init(vm, &sc->dev, &di) == -1)
		return (-1);
	if ((ret = pthread_create(&t, NULL, viorng_thread, sc)) != 0) {
		errno = ret;
		return (-1);
	}
	return (0);
}
