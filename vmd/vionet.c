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
 * virtio-net on a tap.  The tap speaks the virtio net header itself
 * (IFF_VNET_HDR, 12 bytes), so checksum and segmentation offloads pass
 * through: a frame the guest sends goes to the tap in one writev of the
 * guest's own buffers behind a checked copy of its header, and the
 * kernel segments or checksums it.  What the tap gives is read with one
 * readv straight into the guest's receive buffers when those held make
 * room for the largest frame (mergeable buffers: the frame takes as
 * many as it fills, the rest wait for the next); else, and on a locked
 * interface, into a buffer of vmd's, then copied into as many as it
 * needs, so a frame whose size is known only once read never waits on
 * a chain too small for it.
 *
 * One thread does both directions.  It sleeps on the transmit queue's
 * kick, on the tap when the guest has given receive buffers or on the
 * receive queue's kick when it has not (the tap's own queue then holds,
 * and at its end drops, what arrives), and on an eventfd for the replies
 * of the DHCP responder, which a local interface (-L) answers in the
 * transmit path without the request reaching the tap.  With
 * "locked lladdr" frames from any other source address are dropped on
 * the way out, unicast frames for another address on the way in.
 */

#include <sys/types.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <linux/if_tun.h>

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmd.h"
#include "log.h"
#include "disk.h"
#include "dhcp.h"
#include "virtio.h"

#define VIONET_QSIZE		256
#define VIONET_RXQ		0
#define VIONET_TXQ		1

/* feature bits */
#define VIRTIO_NET_F_CSUM	(1ULL << 0)
#define VIRTIO_NET_F_GUEST_CSUM	(1ULL << 1)
#define VIRTIO_NET_F_MAC	(1ULL << 5)
#define VIRTIO_NET_F_GUEST_TSO4	(1ULL << 7)
#define VIRTIO_NET_F_GUEST_TSO6	(1ULL << 8)
#define VIRTIO_NET_F_GUEST_ECN	(1ULL << 9)
#define VIRTIO_NET_F_HOST_TSO4	(1ULL << 11)
#define VIRTIO_NET_F_HOST_TSO6	(1ULL << 12)
#define VIRTIO_NET_F_HOST_ECN	(1ULL << 13)
#define VIRTIO_NET_F_MRG_RXBUF	(1ULL << 15)
#define VIRTIO_NET_F_STATUS	(1ULL << 16)

/* the header, as the tap and the driver both lay it out */
#define HDR_LEN			12
#define HDR_FLAGS		0
#define HDR_GSO_TYPE		1
#define HDR_NUM_BUFFERS		10
#define HDR_F_NEEDS_CSUM	0x01
#define HDR_GSO_NONE		0x00
#define HDR_GSO_TCPV4		0x01
#define HDR_GSO_TCPV6		0x04
#define HDR_GSO_ECN		0x80

/* device configuration: mac[6], status */
#define CFG_MAC			0
#define CFG_STATUS		6
#define CFG_LEN			8
#define NET_S_LINK_UP		1

#define ETHER_HDR_LEN		14
#define FRAME_MAX		(HDR_LEN + 65535 + ETHER_HDR_LEN + 4)
#define RX_BATCH		64	/* frames before a look at the rest */
#define TX_BATCH		256	/* chains before a look at the tap */

/* what the receive side found */
#define RX_EMPTY		0	/* the tap has nothing */
#define RX_STARVED		1	/* the guest has no buffer for it */
#define RX_MORE			2	/* a batch done, maybe more */
#define RX_HELD_MAX		VIONET_QSIZE
#define RX_IOV_MAX		1024	/* the kernel's UIO_MAXIOV */
#define INJECT_MAX		4

struct vionet {
	struct virtio_dev	 dev;
	char			 name[16];
	int			 tapfd;
	uint8_t			 mac[6];
	int			 locked;
	int			 local;
	struct dhcp_lease	 lease;

	/* transmit */
	struct virtio_req	 txreq;
	struct iovec		 txiov[VIRTIO_MAX_SEGS + 2];
	uint8_t			 txframe[1514];	/* a copy to look at */
	uint64_t		 txdrops;

	/* receive */
	struct virtio_req	*held;		/* popped, a ring from hhead */
	unsigned int		 hhead;
	unsigned int		 nheld;
	size_t			 hroom;		/* their bytes, all told */
	struct iovec		*rxiov;		/* RX_IOV_MAX, for readv */
	uint8_t			*rxbuf;		/* FRAME_MAX */
	size_t			 rxlen;		/* the frame waiting, or 0 */

	/* the DHCP replies, for the receive side */
	pthread_mutex_t		 imtx;
	uint8_t			 inject[INJECT_MAX][HDR_LEN + DHCP_REPLY_MAX];
	size_t			 injlen[INJECT_MAX];
	unsigned int		 ninject;
	int			 injectfd;
};

static void
vionet_offload(struct vionet *sc, uint64_t features)
{
	unsigned int	off = 0;

	if (features & VIRTIO_NET_F_GUEST_CSUM) {
		off |= TUN_F_CSUM;
		if (features & VIRTIO_NET_F_GUEST_TSO4)
			off |= TUN_F_TSO4;
		if (features & VIRTIO_NET_F_GUEST_TSO6)
			off |= TUN_F_TSO6;
		if ((off & (TUN_F_TSO4 | TUN_F_TSO6)) &&
		    (features & VIRTIO_NET_F_GUEST_ECN))
			off |= TUN_F_TSO_ECN;
	}
	if (ioctl(sc->tapfd, TUNSETOFFLOAD, off) == -1)
		log_warn("%s: offloads 0x%x", sc->name, off);
}

/* the driver is ready: the tap may give what it negotiated */
static void
vionet_ready(struct virtio_dev *d)
{
	vionet_offload(d->softc, d->driver_features);
}

/* dev->mtx held, no request in flight */
static void
vionet_reset(struct virtio_dev *d)
{
	struct vionet	*sc = d->softc;

	vionet_offload(sc, 0);
	pthread_mutex_lock(&sc->imtx);
	sc->ninject = 0;
	pthread_mutex_unlock(&sc->imtx);
}

/*
 * The device thread may sleep on the tap holding receive chains: it is
 * woken to give them back.  dev->mtx held.
 */
static void
vionet_release(struct virtio_dev *d)
{
	struct vionet	*sc = d->softc;

	virtio_evfd_signal(sc->injectfd);
}

static const struct virtio_ops vionet_ops = {
	.cfg_write = NULL,	/* the MAC is read-only in virtio 1.x */
	.release = vionet_release,
	.reset = vionet_reset,
	.ready = vionet_ready,
};

/*
 * Transmit.
 */

/* A reply of the DHCP responder, for the receive side to deliver. */
static void
vionet_inject(struct vionet *sc, const uint8_t *frame, size_t len)
{
	uint8_t		*p;

	pthread_mutex_lock(&sc->imtx);
	if (sc->ninject < INJECT_MAX) {
		p = sc->inject[sc->ninject];
		memset(p, 0, HDR_LEN);
		memcpy(p + HDR_LEN, frame, len);
		sc->injlen[sc->ninject++] = HDR_LEN + len;
	}
	pthread_mutex_unlock(&sc->imtx);
	virtio_evfd_signal(sc->injectfd);
}

/*
 * The header the tap gets: the guest's, checked against what was
 * negotiated, in our own memory (the guest cannot change it after the
 * check).  0, or -1 to drop the frame.
 */
static int
vionet_tx_hdr(struct vionet *sc, const struct virtio_req *r, uint8_t *hdr)
{
	uint64_t	f = __atomic_load_n(&sc->dev.driver_features,
			    __ATOMIC_RELAXED);
	uint8_t		gso, want;

	iov_to_buf(r->iov, r->nrd, 0, hdr, HDR_LEN);
	if ((hdr[HDR_FLAGS] & ~HDR_F_NEEDS_CSUM) != 0 ||
	    ((hdr[HDR_FLAGS] & HDR_F_NEEDS_CSUM) &&
	    !(f & VIRTIO_NET_F_CSUM)))
		return (-1);
	gso = hdr[HDR_GSO_TYPE];
	if ((gso & HDR_GSO_ECN) && !(f & VIRTIO_NET_F_HOST_ECN))
		return (-1);
	switch (gso & ~HDR_GSO_ECN) {
	case HDR_GSO_NONE:
		want = 0;
		if (gso & HDR_GSO_ECN)
			return (-1);
		break;
	case HDR_GSO_TCPV4:
		want = (f & VIRTIO_NET_F_HOST_TSO4) != 0;
		break;
	case HDR_GSO_TCPV6:
		want = (f & VIRTIO_NET_F_HOST_TSO6) != 0;
		break;
	default:
		return (-1);
	}
	if (gso != HDR_GSO_NONE && !want)
		return (-1);
	hdr[HDR_NUM_BUFFERS] = hdr[HDR_NUM_BUFFERS + 1] = 0;
	return (0);
}

/* One chain the guest sent: to the tap, to the DHCP responder, or away. */
static void
vionet_tx(struct vionet *sc, struct virtio_req *r)
{
	uint8_t		 hdr[HDR_LEN], reply[DHCP_REPLY_MAX];
	size_t		 len, rlen, off;
	ssize_t		 n;
	int		 cnt, i;

	if (r->nrd == 0 || r->rdlen < HDR_LEN + ETHER_HDR_LEN ||
	    r->rdlen > FRAME_MAX || vionet_tx_hdr(sc, r, hdr) == -1)
		goto drop;
	len = r->rdlen - HDR_LEN;
	if (sc->locked || sc->local) {
		/* a copy: what is checked is what is looked at */
		iov_to_buf(r->iov, r->nrd, HDR_LEN, sc->txframe,
		    MINIMUM(len, sizeof(sc->txframe)));
		if (sc->locked && memcmp(sc->txframe + 6, sc->mac, 6) != 0)
			goto drop;
		if (sc->local && len <= sizeof(sc->txframe) &&
		    (rlen = dhcp_request(&sc->lease, sc->txframe, len, reply,
		    sizeof(reply))) > 0) {
			vionet_inject(sc, reply, rlen);
			return;
		}
	}
	sc->txiov[0].iov_base = hdr;
	sc->txiov[0].iov_len = HDR_LEN;
	off = HDR_LEN;
	i = 1;
	if (sc->locked) {
		/* the checked source address, not the guest's memory again */
		sc->txiov[1].iov_base = sc->txframe;
		sc->txiov[1].iov_len = ETHER_HDR_LEN;
		off += ETHER_HDR_LEN;
		i = 2;
	}
	if ((cnt = iov_slice(r->iov, r->nrd, off, r->rdlen - off,
	    sc->txiov + i, VIRTIO_MAX_SEGS)) == -1)
		goto drop;
	while ((n = writev(sc->tapfd, sc->txiov, cnt + i)) == -1 &&
	    errno == EINTR)
		;
	if (n == -1) {
		/* the tap is down, or the frame malformed: as a wire would */
		if (sc->txdrops++ == 0)
			log_debug("%s: frame not sent: %s", sc->name,
			    strerror(errno));
	}
	return;
 drop:
	sc->txdrops++;
}

/*
 * The chains the guest has made available for sending, at most a batch
 * of them; 1 if there may be more.  The driver hears of the batch once,
 * at its end, as kvmtool and Firecracker signal theirs: a frame per
 * interrupt would cost the guest an exit per frame.
 */
static int
vionet_tx_run(struct vionet *sc)
{
	struct virtio_vq	*vq = &sc->dev.vq[VIONET_TXQ];
	unsigned int		 n;

	vq_notify_disable(vq);
	for (n = 0; n < TX_BATCH; n++) {
		if (vq_pop(vq, &sc->txreq) != 1)
			break;
		vionet_tx(sc, &sc->txreq);
		vq_push(vq, &sc->txreq, 0);
	}
	vq_interrupt(vq);
	return (n == TX_BATCH);
}

/*
 * Receive.
 */

/* The i-th chain held, oldest first. */
static struct virtio_req *
vionet_held(struct vionet *sc, unsigned int i)
{
	return (&sc->held[(sc->hhead + i) % RX_HELD_MAX]);
}

/* Give back the first n chains held, len bytes written over them. */
static void
vionet_rx_push(struct vionet *sc, unsigned int n, size_t len)
{
	struct virtio_vq	*vq = &sc->dev.vq[VIONET_RXQ];
	struct virtio_req	*r;
	unsigned int		 i;
	size_t			 w;

	for (i = 0; i < n; i++) {
		r = vionet_held(sc, i);
		w = MINIMUM(len, r->wrlen);
		vq_push(vq, r, w);
		len -= w;
		sc->hroom -= r->wrlen;
	}
	sc->hhead = (sc->hhead + n) % RX_HELD_MAX;
	sc->nheld -= n;
}

/* All chains held back to the driver, empty. */
static void
vionet_rx_release(struct vionet *sc)
{
	vionet_rx_push(sc, sc->nheld, 0);
}

/*
 * Hold chains until they give room for len bytes (over several only
 * with mergeable buffers).  The room, which may fall short of len: the
 * ring had no more, or held what it can.
 */
static size_t
vionet_rx_hold(struct vionet *sc, size_t len)
{
	struct virtio_vq	*vq = &sc->dev.vq[VIONET_RXQ];
	struct virtio_req	*r;
	unsigned int		 max;

	max = virtio_negotiated(&sc->dev, VIRTIO_NET_F_MRG_RXBUF) ?
	    RX_HELD_MAX : 1;
	while (sc->hroom < len && sc->nheld < max) {
		r = vionet_held(sc, sc->nheld);
		if (vq_pop(vq, r) != 1)
			break;
		if (r->nwr == 0 || r->nrd != 0 ||
		    (sc->nheld == 0 && r->wrlen < HDR_LEN)) {
			/* not a receive buffer: given back empty */
			vq_push(vq, r, 0);
			continue;
		}
		sc->nheld++;
		sc->hroom += r->wrlen;
	}
	return (sc->hroom);
}

/* The chains the first len bytes of the held room fill. */
static unsigned int
vionet_rx_chains(struct vionet *sc, size_t len)
{
	unsigned int	n;
	size_t		w;

	for (n = 0; len > 0 && n < sc->nheld; n++) {
		w = MINIMUM(len, vionet_held(sc, n)->wrlen);
		len -= w;
	}
	return (n);
}

/*
 * The frame in rxbuf into the guest's buffers.  1 when delivered (or
 * dropped), 0 when the guest has too few buffers for it (the chains
 * taken so far stay held for the next try).
 */
static int
vionet_rx_frame(struct vionet *sc)
{
	struct virtio_req	*r;
	size_t			 off = 0, n;
	unsigned int		 i, nbuf;
	uint16_t		 le;

	if (vionet_rx_hold(sc, sc->rxlen) < sc->rxlen) {
		if (sc->nheld == RX_HELD_MAX || (sc->nheld > 0 &&
		    !virtio_negotiated(&sc->dev, VIRTIO_NET_F_MRG_RXBUF))) {
			/* buffers too small for the frame: it is dropped */
			vionet_rx_release(sc);
			return (1);
		}
		return (0);
	}
	nbuf = vionet_rx_chains(sc, sc->rxlen);
	le = htole16(nbuf);
	memcpy(sc->rxbuf + HDR_NUM_BUFFERS, &le, sizeof(le));
	for (i = 0; i < nbuf; i++) {
		r = vionet_held(sc, i);
		n = MINIMUM(sc->rxlen - off, r->wrlen);
		buf_to_iov(sc->rxbuf + off, n, r->iov + r->nrd, r->nwr, 0);
		off += n;
	}
	vionet_rx_push(sc, nbuf, sc->rxlen);
	return (1);
}

/* Whether a frame of len bytes, starting with hdr, is for the guest. */
static int
vionet_rx_wanted(struct vionet *sc, const uint8_t *hdr, size_t len)
{
	const uint8_t	*dst = hdr + HDR_LEN;

	if (len < HDR_LEN + ETHER_HDR_LEN)
		return (0);
	if (sc->locked && !(dst[0] & 1) && memcmp(dst, sc->mac, 6) != 0)
		return (0);
	return (1);
}

/*
 * The next frame from the tap read straight into the guest's receive
 * buffers, one copy instead of two, when the chains held make room for
 * the largest frame; else the caller reads it into rxbuf.  1 when a
 * frame was delivered or dropped, 0 when there is not the room (or the
 * interface is locked), -1 when the tap has nothing.  The chains it
 * does not fill stay held for the next frame.  Not on a locked
 * interface: a frame for another address would be in the guest's
 * memory, where it can read it, before it is found not to be its own.
 */
static int
vionet_rx_direct(struct vionet *sc)
{
	struct virtio_req	*r;
	uint8_t			 hdr[HDR_LEN + ETHER_HDR_LEN];
	size_t			 room = 0;
	ssize_t			 n;
	unsigned int		 i, cnt = 0, nbuf;
	int			 j;
	uint16_t		 le;

	if (sc->locked || vionet_rx_hold(sc, FRAME_MAX) < FRAME_MAX)
		return (0);
	for (i = 0; i < sc->nheld && room < FRAME_MAX; i++) {
		r = vionet_held(sc, i);
		for (j = 0; j < r->nwr && room < FRAME_MAX; j++) {
			if (cnt == RX_IOV_MAX)
				return (0);
			sc->rxiov[cnt] = r->iov[r->nrd + j];
			room += sc->rxiov[cnt++].iov_len;
		}
	}
	if ((n = readv(sc->tapfd, sc->rxiov, cnt)) <= 0) {
		if (n == -1 && errno != EAGAIN && errno != EINTR)
			log_warn("%s: tap", sc->name);
		return (-1);
	}
	iov_to_buf(sc->rxiov, cnt, 0, hdr, sizeof(hdr));
	if ((size_t)n > room || !vionet_rx_wanted(sc, hdr, n))
		return (1);	/* the chains are written over next time */
	nbuf = vionet_rx_chains(sc, n);
	le = htole16(nbuf);
	buf_to_iov((uint8_t *)&le, sizeof(le), sc->rxiov, cnt,
	    HDR_NUM_BUFFERS);
	vionet_rx_push(sc, nbuf, n);
	return (1);
}

/*
 * Move frames into the guest until the tap is empty (RX_EMPTY) or the
 * guest's buffers are (RX_STARVED), at most a batch at a time (RX_MORE).
 */
static int
vionet_rx_run(struct vionet *sc)
{
	struct virtio_vq	*vq = &sc->dev.vq[VIONET_RXQ];
	ssize_t			 n;
	unsigned int		 i;
	int			 got;

	if (sc->nheld > 0 && vionet_held(sc, 0)->gen !=
	    __atomic_load_n(&vq->gen, __ATOMIC_SEQ_CST)) {
		/*
		 * The ring was reset under the chains held: giving them
		 * back (to nothing) lets the reset, which waits for them,
		 * go on.
		 */
		vionet_rx_release(sc);
		sc->rxlen = 0;
	}
	if (virtio_frozen(&sc->dev)) {
		/* the VM is being saved: what we hold goes back unused */
		if (sc->nheld > 0)
			vq_unpop(vq, sc->nheld, vionet_held(sc, 0)->gen);
		sc->nheld = sc->hhead = 0;
		sc->hroom = 0;
		return (RX_STARVED);
	}
	for (i = 0; i < RX_BATCH; i++) {
		if (sc->rxlen == 0) {
			pthread_mutex_lock(&sc->imtx);
			if (sc->ninject > 0) {
				sc->rxlen = sc->injlen[0];
				memcpy(sc->rxbuf, sc->inject[0], sc->rxlen);
				sc->ninject--;
				memmove(sc->inject[0], sc->inject[1],
				    sizeof(sc->inject[0]) * sc->ninject);
				memmove(&sc->injlen[0], &sc->injlen[1],
				    sizeof(sc->injlen[0]) * sc->ninject);
			}
			pthread_mutex_unlock(&sc->imtx);
		}
		if (sc->rxlen == 0) {
			if (!__atomic_load_n(&vq->enabled, __ATOMIC_SEQ_CST))
				return (RX_STARVED);
			if ((got = vionet_rx_direct(sc)) == -1)
				return (RX_EMPTY);
			if (got == 1) {
				vq_interrupt(vq);
				continue;
			}
			n = read(sc->tapfd, sc->rxbuf, FRAME_MAX);
			if (n <= 0) {
				if (n == -1 && errno != EAGAIN &&
				    errno != EINTR)
					log_warn("%s: tap", sc->name);
				return (RX_EMPTY);
			}
			sc->rxlen = n;
			if (!vionet_rx_wanted(sc, sc->rxbuf, sc->rxlen)) {
				sc->rxlen = 0;
				continue;
			}
		}
		if (vionet_rx_frame(sc) == 0) {
			/* chains given back unused, if any, are signalled */
			vq_interrupt(vq);
			return (RX_STARVED);
		}
		sc->rxlen = 0;
		vq_interrupt(vq);
	}
	return (RX_MORE);
}

/*
 * The device's one thread: what the guest sent, then what the tap has
 * for it; then sleep on the transmit queue's kick, the DHCP replies,
 * and the tap when the guest has buffers or the receive queue's kick
 * when it has none.  One thread, as a VMM's I/O loop is, so a frame and
 * its answer need no wakeup of another thread.
 */
static void *
vionet_thread(void *arg)
{
	struct vionet		*sc = arg;
	struct virtio_vq	*rxq = &sc->dev.vq[VIONET_RXQ];
	struct virtio_vq	*txq = &sc->dev.vq[VIONET_TXQ];
	struct pollfd		 pfd[3];
	int			 rx = RX_MORE, timeout, n;

	for (;;) {
		/* the tap is read when poll said so, not on every round */
		if (rx == RX_MORE)
			rx = vionet_rx_run(sc);	/* it signals what it gives */
		if (vionet_tx_run(sc) || vq_notify_enable(txq) ||
		    rx == RX_MORE)
			continue;
		timeout = -1;
		if (rx == RX_STARVED) {
			if (vq_notify_enable(rxq)) {
				rx = RX_MORE;
				continue;
			}
			pfd[0].fd = rxq->kickfd;
			/* held chains must not outlive a reset for long */
			if (sc->nheld > 0)
				timeout = 10;
		} else {
			vq_notify_disable(rxq);
			pfd[0].fd = sc->tapfd;
		}
		pfd[1].fd = txq->kickfd;
		pfd[2].fd = sc->injectfd;
		pfd[0].events = pfd[1].events = pfd[2].events = POLLIN;
		pfd[0].revents = pfd[1].revents = pfd[2].revents = 0;
		if ((n = poll(pfd, 3, timeout)) == -1 && errno != EINTR)
			fatal("%s: poll", sc->name);
		if (pfd[0].revents != 0 || n == 0) {
			if (rx == RX_STARVED && pfd[0].revents != 0)
				vq_kick_ack(rxq);
			rx = RX_MORE;
		}
		if (pfd[1].revents & POLLIN)
			vq_kick_ack(txq);
		if (pfd[2].revents & POLLIN) {
			virtio_evfd_drain(sc->injectfd);
			rx = RX_MORE;
		}
	}
	return (NULL);
}

/*
 * Interface idx of the VM on tap fd.  On success the device owns fd;
 * returns its PCI device number, or -1.
 */
int
vionet_init(struct vm *vm, unsigned int idx, int fd,
    const struct vmop_if *vi)
{
	struct vmop_create_params	*vmc = &vm->vm_params;
	struct virtio_devinfo		 di;
	struct vionet			*sc;
	pthread_t			 t;
	int				 ret, flags;

	if ((sc = calloc(1, sizeof(*sc))) == NULL ||
	    (sc->held = calloc(RX_HELD_MAX, sizeof(*sc->held))) == NULL ||
	    (sc->rxiov = calloc(RX_IOV_MAX, sizeof(*sc->rxiov))) == NULL ||
	    (sc->rxbuf = malloc(FRAME_MAX)) == NULL)
		return (-1);
	(void)snprintf(sc->name, sizeof(sc->name), "vionet%u", idx);
	sc->tapfd = fd;
	if ((flags = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, flags | O_NONBLOCK) == -1)
		return (-1);
	if ((sc->injectfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		return (-1);
	pthread_mutex_init(&sc->imtx, NULL);
	memcpy(sc->mac, vmc->vmc_macs[idx], sizeof(sc->mac));
	sc->locked = (vmc->vmc_ifflags[idx] & VMIFF_LOCKED) != 0;
	sc->local = (vmc->vmc_ifflags[idx] & VMIFF_LOCAL) != 0;
	if (sc->local) {
		memcpy(sc->lease.guest_mac, sc->mac, 6);
		sc->lease.guest_addr = vi->vi_guest4;
		sc->lease.host_addr = vi->vi_host4;
		if (vmc->vmc_bootdevice == VMBOOTDEV_NET && idx == 0)
			sc->lease.pxe_name = vmc->vmc_params.vcp_name;
	}
	vionet_offload(sc, 0);

	memset(&di, 0, sizeof(di));
	di.name = sc->name;
	di.type = VIRTIO_ID_NET;
	di.class = 0x02;		/* network */
	di.subclass = 0x00;		/* Ethernet */
	di.features = VIRTIO_NET_F_CSUM | VIRTIO_NET_F_GUEST_CSUM |
	    VIRTIO_NET_F_MAC | VIRTIO_NET_F_GUEST_TSO4 |
	    VIRTIO_NET_F_GUEST_TSO6 | VIRTIO_NET_F_GUEST_ECN |
	    VIRTIO_NET_F_HOST_TSO4 | VIRTIO_NET_F_HOST_TSO6 |
	    VIRTIO_NET_F_HOST_ECN | VIRTIO_NET_F_MRG_RXBUF |
	    VIRTIO_NET_F_STATUS | VIRTIO_F_INDIRECT_DESC | VIRTIO_F_EVENT_IDX;
	di.nqueues = 2;
	di.qsize = VIONET_QSIZE;
	di.cfglen = CFG_LEN;
	di.ops = &vionet_ops;
	di.softc = sc;
	if (virtio_dev_init(vm, &sc->dev, &di) == -1)
		return (-1);
	memcpy(sc->dev.cfg + CFG_MAC, sc->mac, 6);
	sc->dev.cfg[CFG_STATUS] = NET_S_LINK_UP;

	if ((ret = pthread_create(&t, NULL, vionet_thread, sc)) != 0) {
		errno = ret;
		return (-1);
	}
	log_debug("vm %s: %s: %s, lladdr %02x:%02x:%02x:%02x:%02x:%02x%s%s",
	    vm->vm_name, sc->name, vi->vi_ifname, sc->mac[0], sc->mac[1],
	    sc->mac[2], sc->mac[3], sc->mac[4], sc->mac[5],
	    sc->local ? ", local" : "", sc->locked ? ", locked" : "");
	return (sc->dev.pcidev);
}
