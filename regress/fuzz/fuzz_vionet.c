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
 * libFuzzer target: a hostile guest's virtio-net queues.  The input is
 * a control byte and guest memory holding both rings (descriptor
 * tables, available rings, headers, frames).  The real ring code
 * (virtio.c) takes the transmit chains, the real transmit path
 * (vionet.c, included for its static functions) checks them, hands
 * DHCP requests of a local interface to the responder and writes the
 * rest to /dev/null in place of the tap; then a frame made of the input
 * goes through the receive path into the guest's receive chains,
 * merged over several when that was negotiated: once from vmd's own
 * buffer, once (on the rings as they were) read from a socket standing
 * for the tap straight into the chains.  Nothing may read or write
 * outside guest memory, hang, crash, or keep a chain.
 */

#include <sys/types.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../vmd/vionet.c"

#define GUEST_MEM	(256 * 1024)
#define RING_SIZE	16
#define TX_DESC		0x000	/* the input starts here */
#define TX_AVAIL	0x100
#define TX_USED		0x200
#define RX_DESC		0x400
#define RX_AVAIL	0x500
#define RX_USED		0x600

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct vm	 fvm;
static uint8_t		*gmem;
static struct vionet	 fsc;
static int		 nullfd, tapsv[2];

static void
fuzz_setup(void)
{
	static const uint8_t	mac[6] = { 0xfe, 0xe1, 0xbb, 0xd1, 1, 2 };
	unsigned int		i;

	if ((gmem = calloc(1, GUEST_MEM)) == NULL ||
	    (fsc.held = calloc(RX_HELD_MAX, sizeof(*fsc.held))) == NULL ||
	    (fsc.rxiov = calloc(RX_IOV_MAX, sizeof(*fsc.rxiov))) == NULL ||
	    (fsc.rxbuf = malloc(FRAME_MAX)) == NULL)
		abort();
	strlcpy(fvm.vm_name, "fuzz", sizeof(fvm.vm_name));
	fvm.vm_mem.nslots = 1;
	fvm.vm_mem.slots[0].gpa = 0;
	fvm.vm_mem.slots[0].size = GUEST_MEM;
	fvm.vm_mem.slots[0].hva = gmem;

	if ((nullfd = open("/dev/null", O_WRONLY)) == -1 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0,
	    tapsv) == -1 ||
	    (fsc.injectfd = eventfd(0, EFD_NONBLOCK)) == -1)
		abort();
	pthread_mutex_init(&fsc.imtx, NULL);
	strlcpy(fsc.name, "vionet0", sizeof(fsc.name));
	memcpy(fsc.mac, mac, 6);
	memcpy(fsc.lease.guest_mac, mac, 6);
	fsc.lease.guest_addr = htonl(0x64400103);
	fsc.lease.host_addr = htonl(0x64400102);
	fsc.dev.vm = &fvm;
	fsc.dev.name = fsc.name;
	fsc.dev.nqueues = 2;
	fsc.dev.softc = &fsc;
	pthread_mutex_init(&fsc.dev.mtx, NULL);
	pthread_cond_init(&fsc.dev.idle, NULL);
	pthread_mutex_init(&fsc.dev.msix.mtx, NULL);
	fsc.dev.cfg_vector = VIRTIO_NO_VECTOR;
	for (i = 0; i < 2; i++) {
		pthread_mutex_init(&fsc.dev.vq[i].mtx, NULL);
		fsc.dev.vq[i].vector = VIRTIO_NO_VECTOR;
		fsc.dev.vq[i].dev = &fsc.dev;
		fsc.dev.vq[i].idx = i;
		fsc.dev.vq[i].maxsize = RING_SIZE;
	}
}

static void
fuzz_ring(struct virtio_vq *vq, uint64_t desc, uint64_t avail, uint64_t used)
{
	vq->size = RING_SIZE;
	vq->desc = gmem + desc;
	vq->avail = (volatile uint16_t *)(gmem + avail);
	vq->used = gmem + used;
	vq->last_avail = vq->used_idx = vq->signalled = 0;
	vq->enabled = 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct virtio_vq	*tx = &fsc.dev.vq[VIONET_TXQ];
	struct virtio_vq	*rx = &fsc.dev.vq[VIONET_RXQ];
	unsigned int		 i;
	uint8_t			 c;

	if (gmem == NULL)
		fuzz_setup();
	if (size < 2)
		return (0);

	/* control: local, locked, offloads, mergeable buffers, indirect */
	c = data[0];
	fsc.local = c & 1;
	fsc.locked = (c >> 1) & 1;
	fsc.dev.driver_features = VIRTIO_F_VERSION_1 |
	    ((c & 0x04) ? VIRTIO_NET_F_CSUM | VIRTIO_NET_F_HOST_TSO4 |
	    VIRTIO_NET_F_HOST_TSO6 | VIRTIO_NET_F_HOST_ECN : 0) |
	    ((c & 0x08) ? VIRTIO_NET_F_MRG_RXBUF : 0) |
	    ((c & 0x10) ? VIRTIO_F_INDIRECT_DESC : 0);
	data++;
	size--;

	memset(gmem, 0, GUEST_MEM);
	memcpy(gmem, data, MINIMUM(size, GUEST_MEM));
	fuzz_ring(tx, TX_DESC, TX_AVAIL, TX_USED);
	fuzz_ring(rx, RX_DESC, RX_AVAIL, RX_USED);
	fsc.dev.inflight = 0;
	fsc.hhead = fsc.nheld = 0;
	fsc.hroom = 0;
	fsc.ninject = 0;

	fsc.tapfd = nullfd;
	for (i = 0; i < 4 * RING_SIZE; i++) {
		if (vq_pop(tx, &fsc.txreq) != 1)
			break;
		vionet_tx(&fsc, &fsc.txreq);
		vq_push(tx, &fsc.txreq, 0);
	}

	/* a frame from the "tap": the input again, cut to its own length */
	fsc.rxlen = MINIMUM(size, (size_t)FRAME_MAX);
	if (fsc.rxlen < HDR_LEN)
		fsc.rxlen = HDR_LEN;
	memset(fsc.rxbuf, 0, HDR_LEN);
	memcpy(fsc.rxbuf, data, MINIMUM(size, fsc.rxlen));
	for (i = 0; i < 4 && fsc.rxlen > 0; i++) {
		if (!vionet_rx_wanted(&fsc, fsc.rxbuf, fsc.rxlen) ||
		    vionet_rx_frame(&fsc) == 1)
			fsc.rxlen = 0;
	}
	vionet_rx_release(&fsc);
	if (fsc.dev.inflight != 0)
		abort();	/* a chain was lost: a reset would hang */

	/* the same frame read from the "tap" into the chains themselves */
	memcpy(gmem, data, MINIMUM(size, GUEST_MEM));
	fuzz_ring(rx, RX_DESC, RX_AVAIL, RX_USED);
	fsc.tapfd = tapsv[0];
	if (send(tapsv[1], data, MINIMUM(size, (size_t)FRAME_MAX), 0) == -1)
		abort();
	for (i = 0; i < 4; i++)
		if (vionet_rx_direct(&fsc) == -1)
			break;
	while (recv(tapsv[0], fsc.rxbuf, FRAME_MAX, 0) > 0)
		;	/* not taken: no room */
	vionet_rx_release(&fsc);
	if (fsc.dev.inflight != 0)
		abort();
	return (0);
}
