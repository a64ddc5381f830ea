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
 * virtio-net for the test guest: the device (receiveq 0, transmitq 1, a
 * fixed descriptor per buffer), and just enough of a network stack to
 * test one from the host: ARP, ICMP echo both ways, a DHCP and BOOTP
 * client, raw Ethernet frames and a UDP sender.
 *
 * Nothing runs in the background: a command polls its device, after
 * each of its interrupts (every tick without one), until it is done.
 * Whatever arrives meanwhile is checked as it would be by a real stack
 * (the device is under test too): lengths, checksums, addresses.  ARP
 * requests for the interface's address are answered in every command.
 */

#include "virtio.h"

#define NET_MAXDEV	4
#define NRXBUF		128		/* receive buffers, at most */
#define NRXBUF_DEF	32		/* posted unless netrx says */
#define NTXBUF		32		/* frames in flight */
#define SLOT		1536		/* buffer: header and a frame */
#define VNET_HDR	12		/* struct virtio_net_hdr, version 1 */
#define MRG_BUFLEN	1024		/* small: frames must merge */
#define RXFRAME_MAX	2048		/* a frame merged from buffers */

#define NET_FEATURES	(FEAT(VIRTIO_NET_F_MAC) | \
			FEAT(VIRTIO_NET_F_STATUS) | \
			FEAT(VIRTIO_NET_F_MRG_RXBUF) | FEAT(VIRTIO_NET_F_MTU))

/* virtio_net_config */
#define VNET_MAC	0
#define VNET_STATUS	6
#define VNET_MTU	10
#define VNET_S_LINK_UP	1

#define ETH_HDR		14
#define ETH_MIN		60		/* without FCS */
#define ETH_MAX		1514
#define ETHERTYPE_IP	0x0800
#define ETHERTYPE_ARP	0x0806
#define ETHERTYPE_TEST	0x88b5		/* local experimental */
#define ARP_LEN		28
#define IP_HDR		20
#define UDP_HDR		8
#define ICMP_HDR	8
#define IPPROTO_ICMP	1
#define IPPROTO_UDP	17
#define ICMP_ECHOREPLY	0
#define ICMP_ECHO	8
#define UDP_MAXDATA	1472		/* ETH_MAX - 14 - 20 - 8 */
#define PORT_DISCARD	9
#define PORT_BOOTPS	67
#define PORT_BOOTPC	68

/* BOOTP / DHCP */
#define BOOTP_MIN	300		/* RFC 1542: what servers expect */
#define BOOTP_FIXED	236		/* up to the options (vend) */
#define BOOTP_COOKIE	0x63825363
#define DHO_PAD		0
#define DHO_MASK	1
#define DHO_ROUTER	3
#define DHO_DNS		6
#define DHO_REQADDR	50
#define DHO_LEASE	51
#define DHO_MSGTYPE	53
#define DHO_SERVERID	54
#define DHO_PARAMS	55
#define DHO_END		255
#define DHCPDISCOVER	1
#define DHCPOFFER	2
#define DHCPREQUEST	3
#define DHCPACK		5
#define DHCPNAK		6

#define NARP		8
#define PING_MAX	4096
#define HZ		100
#define TX_TIMEOUT	500		/* ticks: a frame must go in 5 s */

#define NOINIT(a)	__attribute__((__section__(".noinit"), __aligned__(a)))

struct netif {
	struct vdev	*vd;
	int		 unit;
	uint8_t		 mac[6];
	int		 mrg;		/* MRG_RXBUF negotiated */
	uint32_t	 rxpost;	/* bytes posted per receive buffer */
	uint16_t	 nrx, ntx;
	uint16_t	 txfree[NTXBUF];
	int		 ntxfree;
	int		 txposted;	/* posted since the last notify */
	uint32_t	 txtmpl[NTXBUF];	/* netbig template held, or 0 */
	int		 rxleft;	/* merged buffers still to come */
	uint32_t	 rxlen;
	int		 rxdrop;	/* merged frame too long */
	const char	*err;		/* the device misbehaved */
	uint32_t	 ip, mask, peer;	/* host order, 0: none */
	uint16_t	 ipid;
	uint32_t	 arpip[NARP];
	uint8_t		 arpmac[NARP][6];
	int		 arpnext;
	uint32_t	 arps, echos;	/* requests answered */
};

/* What the running command waits for. */
static struct {
	int		 dhcp;		/* want BOOTP replies */
	uint32_t	 xid;
	uint32_t	 len;		/* of dhcpbuf's reply, or 0 */
	uint32_t	 pingaddr;	/* want echo replies from it */
	uint16_t	 pingid;
	uint32_t	 pingsize, pingsent, pinggot;
} w;

static struct netif	netifs[NET_MAXDEV];
static uint32_t		rx_count = NRXBUF_DEF, rx_buflen = MRG_BUFLEN;
static uint32_t		xidgen, tmplgen;
static uint16_t		pingids;

static uint8_t	rxbuf[NET_MAXDEV][NRXBUF][SLOT] NOINIT(16);
static uint8_t	txbuf[NET_MAXDEV][NTXBUF][SLOT] NOINIT(16);
static uint8_t	rxframe[RXFRAME_MAX] NOINIT(16);
static uint8_t	dhcpbuf[SLOT] NOINIT(16);
static uint8_t	pattern[SLOT] NOINIT(16);
static uint8_t	bigtmpl[SLOT] NOINIT(16);
static uint64_t	pingseen[PING_MAX / 64] NOINIT(16);
static int	pattern_made;

static const uint8_t	bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t	spoofmac[6] = { 0x02, 0, 0, 0, 0, 0x01 };

/* ---- bytes ---- */

static uint16_t
be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | p[1] << 16 | p[2] << 8 | p[3];
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

/* Copy and compare eight bytes a time: the guest may be emulated. */
static void
copy(void *dst, const void *src, uint32_t n)
{
	uint8_t *d = dst;
	const uint8_t *s = src;
	uint64_t v;

	for (; n >= 8; n -= 8, d += 8, s += 8) {
		__builtin_memcpy(&v, s, 8);
		__builtin_memcpy(d, &v, 8);
	}
	while (n-- > 0)
		*d++ = *s++;
}

static int
same(const void *a, const void *b, uint32_t n)
{
	const uint8_t *p = a, *q = b;
	uint64_t u, v;

	for (; n >= 8; n -= 8, p += 8, q += 8) {
		__builtin_memcpy(&u, p, 8);
		__builtin_memcpy(&v, q, 8);
		if (u != v)
			return 0;
	}
	for (; n > 0; n--)
		if (*p++ != *q++)
			return 0;
	return 1;
}

static void
zero(void *dst, uint32_t n)
{
	uint8_t *d = dst;
	uint64_t z = 0;

	for (; n >= 8; n -= 8, d += 8)
		__builtin_memcpy(d, &z, 8);
	while (n-- > 0)
		*d++ = 0;
}

/*
 * Internet checksum, summed in memory order (little-endian words, which
 * gives the same bytes once stored back).  Only the last piece of a sum
 * may have an odd length.
 */
static uint64_t
sum(uint64_t acc, const uint8_t *p, uint32_t len)
{
	uint32_t v;

	for (; len >= 4; len -= 4, p += 4) {
		__builtin_memcpy(&v, p, 4);
		acc += v;
	}
	if (len >= 2) {
		acc += (uint16_t)(p[0] | p[1] << 8);
		p += 2;
		len -= 2;
	}
	if (len > 0)
		acc += p[0];
	return acc;
}

static uint16_t
fold(uint64_t acc)
{
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	return (uint16_t)~acc;
}

static void
put_cksum(uint8_t *p, uint16_t c)
{
	__builtin_memcpy(p, &c, 2);
}

/* Sum of the UDP pseudo-header. */
static uint64_t
pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	uint8_t ph[12];

	put32(ph, src);
	put32(ph + 4, dst);
	ph[8] = 0;
	ph[9] = proto;
	put16(ph + 10, len);
	return sum(0, ph, sizeof(ph));
}

static int
parse_ip(const char *s, uint32_t *ip)
{
	uint32_t v = 0, part;
	int i, n;

	for (i = 0; i < 4; i++) {
		for (part = 0, n = 0; *s >= '0' && *s <= '9' && n < 4; n++)
			part = part * 10 + *s++ - '0';
		if (n == 0 || part > 255 || *s != (i < 3 ? '.' : '\0'))
			return -1;
		if (i < 3)
			s++;
		v = v << 8 | part;
	}
	*ip = v;
	return 0;
}

/* Dotted quad, in one of four rotating buffers (one line's worth). */
static const char *
ipstr(uint32_t ip)
{
	static char buf[4][16];
	static int k;
	char *p = buf[k = (k + 1) & 3], *start = p, d[3];
	uint32_t b;
	int i, n;

	for (i = 24; i >= 0; i -= 8) {
		b = ip >> i & 0xff;
		n = 0;
		do {
			d[n++] = '0' + b % 10;
			b /= 10;
		} while (b != 0);
		while (n > 0)
			*p++ = d[--n];
		if (i > 0)
			*p++ = '.';
	}
	*p = '\0';
	return start;
}

/* ---- the device ---- */

static void
net_sleep(struct netif *ni)
{
	struct vdev *vd = ni->vd;

	cli();
	if (!((vd->irq >= 0 || vd->msix) && vd->intrs != vd->seen))
		sti_hlt();	/* until the device or the next tick */
	sti();
}

static void
rx_post(struct netif *ni, uint16_t i)
{
	struct vring_desc *d = &ni->vd->vq.desc[i];

	d->addr = (uint64_t)rxbuf[ni->unit][i];
	d->len = ni->rxpost;
	d->flags = VRING_DESC_F_WRITE;
	d->next = 0;
	vq_put(&ni->vd->vq, i);
}

/* The MAC address from the configuration, read under its generation. */
static void
read_mac(struct netif *ni)
{
	uint8_t gen;
	int i, tries;

	if (!(ni->vd->features & FEAT(VIRTIO_NET_F_MAC))) {
		/* locally administered, "gue", unit */
		ni->mac[0] = 0x02;
		ni->mac[1] = 'g';
		ni->mac[2] = 'u';
		ni->mac[3] = 'e';
		ni->mac[4] = 0;
		ni->mac[5] = ni->unit;
		return;
	}
	for (tries = 0; tries < 10; tries++) {
		gen = vio_cfggen(ni->vd);
		for (i = 0; i < 6; i++)
			ni->mac[i] = vio_cfg8(ni->vd, VNET_MAC + i);
		if (vio_cfggen(ni->vd) == gen)
			break;
	}
}

/*
 * Net device n, set up (receive buffers posted before DRIVER_OK) unless
 * it still is; NULL, with "CMD N FAIL <why>" printed, if it cannot be.
 */
static struct netif *
net_up(const char *cmd, uint64_t n)
{
	static const uint16_t qidx[2] = { 0, 1 };
	struct netif *ni;
	struct vdev *vd;
	const char *err;
	uint16_t i;

	if ((vd = vio_get(VIRTIO_ID_NET, n)) == NULL) {
		kprintf("%s %lu FAIL no device\n", cmd, n);
		return NULL;
	}
	if (n >= NET_MAXDEV) {
		kprintf("%s %lu FAIL more than %d net devices\n", cmd, n,
		    NET_MAXDEV);
		return NULL;
	}
	ni = &netifs[n];
	if (vd->state == VS_READY && ni->vd == vd)
		return ni;
	if ((err = vio_initq(vd, NET_FEATURES, qidx, 2, VQ_MAXSIZE)) !=
	    NULL) {
		kprintf("%s %lu FAIL %s\n", cmd, n, err);
		return NULL;
	}
	ni->vd = vd;
	ni->unit = n;
	ni->err = NULL;
	read_mac(ni);
	ni->mrg = (vd->features & FEAT(VIRTIO_NET_F_MRG_RXBUF)) != 0;
	ni->rxpost = ni->mrg ? rx_buflen : SLOT;
	ni->rxleft = 0;
	ni->nrx = vd->vq.size < rx_count ? vd->vq.size : rx_count;
	ni->ntx = vd->vq1.size < NTXBUF ? vd->vq1.size : NTXBUF;
	for (i = 0; i < ni->ntx; i++) {
		ni->txfree[i] = i;
		ni->txtmpl[i] = 0;
	}
	ni->ntxfree = ni->ntx;
	ni->txposted = 0;
	for (i = 0; i < ni->nrx; i++)
		rx_post(ni, i);
	vio_ready(vd);
	vq_notify(vd, &vd->vq);
	return ni;
}

/* Report why the device failed the command, and reset it. */
static void
net_fail(const char *cmd, struct netif *ni)
{
	kprintf("%s %d FAIL %s\n", cmd, ni->unit, ni->err);
	vio_reset(ni->vd);
	ni->err = NULL;
}

/* A free transmit slot, or -1. */
static int
tx_get(struct netif *ni)
{
	if (ni->ntxfree == 0)
		return -1;
	return ni->txfree[--ni->ntxfree];
}

/* Where to build a frame in slot (which then no longer holds netbig's). */
static uint8_t *
tx_frame(struct netif *ni, int slot)
{
	ni->txtmpl[slot] = 0;
	return txbuf[ni->unit][slot] + VNET_HDR;
}

/* Queue the frame of len bytes in slot; tx_kick() notifies. */
static void
tx_put(struct netif *ni, int slot, uint32_t len)
{
	struct vring_desc *d = &ni->vd->vq1.desc[slot];
	uint8_t *b = txbuf[ni->unit][slot];

	if (len < ETH_MIN) {
		zero(b + VNET_HDR + len, ETH_MIN - len);
		len = ETH_MIN;
	}
	zero(b, VNET_HDR);		/* no offloads, num_buffers 0 */
	d->addr = (uint64_t)b;
	d->len = VNET_HDR + len;
	d->flags = 0;
	d->next = 0;
	vq_put(&ni->vd->vq1, slot);
	ni->txposted++;
}

static void
tx_kick(struct netif *ni)
{
	if (ni->txposted > 0) {
		vq_notify(ni->vd, &ni->vd->vq1);
		ni->txposted = 0;
	}
}

static void
tx_reap(struct netif *ni)
{
	const char *why;
	uint16_t head;
	uint32_t len;
	int r;

	while ((r = vq_get(&ni->vd->vq1, &head, &len, &why)) > 0)
		ni->txfree[ni->ntxfree++] = head;
	if (r < 0)
		ni->err = why;
}

static void	eth_input(struct netif *, const uint8_t *, uint32_t);

/* One used receive buffer: a frame, or a piece of a merged one. */
static void
rx_piece(struct netif *ni, const uint8_t *b, uint32_t len)
{
	uint16_t nb;

	if (ni->rxleft == 0) {
		if (len < VNET_HDR) {
			ni->err = "used length shorter than the header";
			return;
		}
		if (b[0] != 0 || b[1] != 0) {
			/* flags and gso_type: we negotiated no offloads */
			ni->err = "offload in a receive header";
			return;
		}
		nb = ni->mrg ? b[10] | b[11] << 8 : 1;
		if (nb == 0 || nb > ni->nrx) {
			ni->err = "bad num_buffers";
			return;
		}
		if (nb == 1) {
			eth_input(ni, b + VNET_HDR, len - VNET_HDR);
			return;
		}
		ni->rxleft = nb;
		ni->rxlen = 0;
		ni->rxdrop = 0;
		b += VNET_HDR;
		len -= VNET_HDR;
	}
	if (ni->rxlen + len > RXFRAME_MAX)
		ni->rxdrop = 1;
	else {
		copy(rxframe + ni->rxlen, b, len);
		ni->rxlen += len;
	}
	if (--ni->rxleft == 0 && !ni->rxdrop)
		eth_input(ni, rxframe, ni->rxlen);
}

static void
rx_reap(struct netif *ni)
{
	struct vq *q = &ni->vd->vq;
	const char *why;
	uint16_t head;
	uint32_t len;
	int r = 0, n = 0;

	while (ni->err == NULL && (r = vq_get(q, &head, &len, &why)) > 0) {
		if (head >= ni->nrx) {
			ni->err = "used entry not posted";
			return;
		}
		if (len > ni->rxpost) {
			ni->err = "used length larger than the buffer";
			return;
		}
		rx_piece(ni, rxbuf[ni->unit][head], len);
		rx_post(ni, head);
		n++;
	}
	if (r < 0)
		ni->err = why;
	if (n > 0)
		vq_notify(ni->vd, q);
}

/*
 * Take what the device completed, if it interrupted since the last look
 * (each time without an interrupt line).  Returns -1 if it misbehaved.
 */
static int
net_poll(struct netif *ni)
{
	struct vdev *vd = ni->vd;

	if (ni->err == NULL && ((vd->irq < 0 && !vd->msix) ||
	    vd->intrs != vd->seen)) {
		vd->seen = vd->intrs;
		tx_reap(ni);
		rx_reap(ni);
		tx_kick(ni);		/* replies made on the way */
	}
	return ni->err != NULL ? -1 : 0;
}

/* A transmit slot, waiting for one until deadline; -1: ni->err says. */
static int
tx_wait(struct netif *ni, uint64_t deadline)
{
	int slot;

	for (;;) {
		if ((slot = tx_get(ni)) >= 0)
			return slot;
		if (net_poll(ni) != 0)
			return -1;
		if (ni->ntxfree > 0)
			continue;
		if (ticks >= deadline) {
			ni->err = vq_timeout(ni->vd, &ni->vd->vq1);
			return -1;
		}
		net_sleep(ni);
	}
}

/* Wait until the device has sent every frame; -1: ni->err says. */
static int
tx_drain(struct netif *ni)
{
	uint64_t deadline = ticks + TX_TIMEOUT;

	tx_kick(ni);
	while (ni->ntxfree < ni->ntx) {
		if (net_poll(ni) != 0)
			return -1;
		if (ni->ntxfree == ni->ntx)
			break;
		if (ticks >= deadline) {
			ni->err = vq_timeout(ni->vd, &ni->vd->vq1);
			return -1;
		}
		net_sleep(ni);
	}
	return 0;
}

/* ---- Ethernet, ARP, IPv4 ---- */

static uint8_t *
eth_head(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	copy(f, dst, 6);
	copy(f + 6, src, 6);
	put16(f + 12, type);
	return f + ETH_HDR;
}

/* An IPv4 header without options for plen bytes of payload. */
static uint8_t *
ip_head(struct netif *ni, uint8_t *ip, uint32_t src, uint32_t dst,
    uint8_t proto, uint32_t plen)
{
	ip[0] = 0x45;
	ip[1] = 0;
	put16(ip + 2, IP_HDR + plen);
	put16(ip + 4, ni->ipid++);
	put16(ip + 6, 0);
	ip[8] = 64;
	ip[9] = proto;
	put16(ip + 10, 0);
	put32(ip + 12, src);
	put32(ip + 16, dst);
	put_cksum(ip + 10, fold(sum(0, ip, IP_HDR)));
	return ip + IP_HDR;
}

/* UDP header and checksum over the len bytes already at u + 8. */
static void
udp_head(uint8_t *u, uint32_t src, uint32_t dst, uint16_t sport,
    uint16_t dport, uint32_t len)
{
	uint16_t c;

	put16(u, sport);
	put16(u + 2, dport);
	put16(u + 4, UDP_HDR + len);
	put16(u + 6, 0);
	c = fold(sum(pseudo(src, dst, IPPROTO_UDP, UDP_HDR + len), u,
	    UDP_HDR + len));
	put_cksum(u + 6, c == 0 ? 0xffff : c);
}

static void
arp_learn(struct netif *ni, uint32_t ip, const uint8_t *mac)
{
	int i;

	if (ip == 0 || (mac[0] & 1))
		return;
	for (i = 0; i < NARP; i++)
		if (ni->arpip[i] == ip)
			break;
	if (i == NARP) {
		i = ni->arpnext;
		ni->arpnext = (ni->arpnext + 1) % NARP;
	}
	ni->arpip[i] = ip;
	copy(ni->arpmac[i], mac, 6);
}

static const uint8_t *
arp_lookup(struct netif *ni, uint32_t ip)
{
	int i;

	for (i = 0; i < NARP; i++)
		if (ni->arpip[i] == ip && ip != 0)
			return ni->arpmac[i];
	return NULL;
}

/* Send an ARP packet; replies made while receiving may be dropped. */
static int
arp_send(struct netif *ni, int slot, uint16_t op, const uint8_t *dmac,
    const uint8_t *tha, uint32_t tpa)
{
	uint8_t *f, *a;

	if (slot < 0)
		return -1;
	f = tx_frame(ni, slot);
	a = eth_head(f, dmac, ni->mac, ETHERTYPE_ARP);
	put16(a, 1);
	put16(a + 2, ETHERTYPE_IP);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	copy(a + 8, ni->mac, 6);
	put32(a + 14, ni->ip);
	copy(a + 18, tha, 6);
	put32(a + 24, tpa);
	tx_put(ni, slot, ETH_HDR + ARP_LEN);
	return 0;
}

static void
arp_input(struct netif *ni, const uint8_t *a, uint32_t len)
{
	uint32_t spa, tpa;
	uint16_t op;

	if (len < ARP_LEN || be16(a) != 1 || be16(a + 2) != ETHERTYPE_IP ||
	    a[4] != 6 || a[5] != 4)
		return;
	op = be16(a + 6);
	spa = be32(a + 14);
	tpa = be32(a + 24);
	if (op == 2 || (op == 1 && ni->ip != 0 && tpa == ni->ip))
		arp_learn(ni, spa, a + 8);
	if (op == 1 && ni->ip != 0 && tpa == ni->ip && spa != ni->ip &&
	    arp_send(ni, tx_get(ni), 2, a + 8, a + 8, spa) == 0)
		ni->arps++;
}

static void
icmp_input(struct netif *ni, const uint8_t *f, const uint8_t *ip,
    const uint8_t *icmp, uint32_t len)
{
	uint8_t *r, *ri;
	uint32_t seq;
	int slot;

	if (len < ICMP_HDR || fold(sum(0, icmp, len)) != 0)
		return;
	if (icmp[0] == ICMP_ECHO && icmp[1] == 0) {
		if (ETH_HDR + IP_HDR + len > ETH_MAX ||
		    (slot = tx_get(ni)) < 0)
			return;
		r = tx_frame(ni, slot);
		ri = ip_head(ni, eth_head(r, f + 6, ni->mac, ETHERTYPE_IP),
		    ni->ip, be32(ip + 12), IPPROTO_ICMP, len);
		copy(ri, icmp, len);
		ri[0] = ICMP_ECHOREPLY;
		put16(ri + 2, 0);
		put_cksum(ri + 2, fold(sum(0, ri, len)));
		tx_put(ni, slot, ETH_HDR + IP_HDR + len);
		ni->echos++;
		return;
	}
	/* one of ours: right id, sequence sent and not yet seen, data */
	if (icmp[0] != ICMP_ECHOREPLY || icmp[1] != 0 || w.pingaddr == 0 ||
	    be32(ip + 12) != w.pingaddr || be16(icmp + 4) != w.pingid ||
	    len != ICMP_HDR + w.pingsize)
		return;
	seq = be16(icmp + 6);
	if (seq < 1 || seq > w.pingsent ||
	    (pingseen[seq / 64] & 1ULL << (seq % 64)) ||
	    !same(icmp + ICMP_HDR, pattern, w.pingsize))
		return;
	pingseen[seq / 64] |= 1ULL << (seq % 64);
	w.pinggot++;
}

static void
udp_input(struct netif *ni, const uint8_t *ip, const uint8_t *u,
    uint32_t len)
{
	uint32_t ulen;

	if (len < UDP_HDR)
		return;
	ulen = be16(u + 4);
	if (ulen < UDP_HDR || ulen > len)
		return;
	if (be16(u + 6) != 0 && fold(sum(pseudo(be32(ip + 12),
	    be32(ip + 16), IPPROTO_UDP, ulen), u, ulen)) != 0)
		return;
	if (be16(u) != PORT_BOOTPS || be16(u + 2) != PORT_BOOTPC ||
	    !w.dhcp || w.len != 0)
		return;
	u += UDP_HDR;
	ulen -= UDP_HDR;
	/* a reply to our request, for our hardware address */
	if (ulen < BOOTP_FIXED || ulen > sizeof(dhcpbuf) || u[0] != 2 ||
	    be32(u + 4) != w.xid || !same(u + 28, ni->mac, 6))
		return;
	copy(dhcpbuf, u, ulen);
	w.len = ulen;
}

static void
ip_input(struct netif *ni, const uint8_t *f, const uint8_t *ip,
    uint32_t len)
{
	uint32_t hl, tot, dst;

	if (len < IP_HDR || ip[0] >> 4 != 4)
		return;
	hl = (ip[0] & 0xf) * 4;
	tot = be16(ip + 2);
	if (hl < IP_HDR || tot < hl || tot > len ||
	    fold(sum(0, ip, hl)) != 0)
		return;
	if (be16(ip + 6) & 0x3fff)
		return;			/* a fragment: never ours */
	dst = be32(ip + 16);
	if (ip[9] == IPPROTO_ICMP && ni->ip != 0 && dst == ni->ip)
		icmp_input(ni, f, ip, ip + hl, tot - hl);
	else if (ip[9] == IPPROTO_UDP && (dst == ni->ip ||
	    dst == 0xffffffff || w.dhcp))
		udp_input(ni, ip, ip + hl, tot - hl);
}

static void
eth_input(struct netif *ni, const uint8_t *f, uint32_t len)
{
	if (len < ETH_HDR)
		return;
	if (!same(f, ni->mac, 6) && !same(f, bcast, 6))
		return;
	switch (be16(f + 12)) {
	case ETHERTYPE_ARP:
		arp_input(ni, f + ETH_HDR, len - ETH_HDR);
		break;
	case ETHERTYPE_IP:
		ip_input(ni, f, f + ETH_HDR, len - ETH_HDR);
		break;
	}
}

/*
 * The MAC address of ip: ARP requests 1 s apart, 3 tries.  Returns NULL
 * if there is no answer (ni->err set if the device failed).
 */
static const uint8_t *
arp_resolve(struct netif *ni, uint32_t ip)
{
	static const uint8_t none[6];
	const uint8_t *mac;
	uint64_t deadline;
	int tries, slot;

	for (tries = 0; tries < 3; tries++) {
		if ((mac = arp_lookup(ni, ip)) != NULL)
			return mac;
		if ((slot = tx_wait(ni, ticks + TX_TIMEOUT)) < 0)
			return NULL;
		arp_send(ni, slot, 1, bcast, none, ip);
		tx_kick(ni);
		for (deadline = ticks + HZ; ticks < deadline; net_sleep(ni)) {
			if (net_poll(ni) != 0)
				return NULL;
			if ((mac = arp_lookup(ni, ip)) != NULL)
				return mac;
		}
	}
	return arp_lookup(ni, ip);
}

/* ---- argument helpers ---- */

/* "N" then the rest; returns the word count or -1. */
static int
net_args(const char *arg, char tok[MAXTOK][TOKLEN], uint64_t *n)
{
	int nt;

	if ((nt = split(arg, tok)) < 1 || parse_num(tok[0], n) != 0)
		return -1;
	return nt;
}

static void
print_mac(const uint8_t *m)
{
	kprintf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
	    m[4], m[5]);
}

/* ---- commands ---- */

/*
 * "netreset N": the device reset (status 0 written; the write returns
 * once the device let go of every chain), with its receive buffers
 * posted and nothing arriving.  NETRESET N ms=<time the write took>.
 */
void
cmd_netreset(const char *arg)
{
	struct netif *ni;
	uint64_t n, c0, perms;

	if (numargs(arg, &n, 1) != 0) {
		kprintf("NETRESET FAIL usage\n");
		return;
	}
	if ((ni = net_up("NETRESET", n)) == NULL)
		return;
	/*
	 * Timed by the TSC, counted against the PIT first: PIT ticks are
	 * counted by their interrupts, which do not come while the vCPU
	 * is held in the write.
	 */
	wait_ticks(1);
	c0 = rdtsc();
	wait_ticks(10);
	perms = (rdtsc() - c0) / 100;
	if (perms == 0)
		perms = 1;
	c0 = rdtsc();
	vio_reset(ni->vd);
	kprintf("NETRESET %lu ms=%lu\n", n, (rdtsc() - c0) / perms);
}

/*
 * "netrx COUNT LEN": the interfaces set up after it post COUNT receive
 * buffers of LEN bytes each (when buffers merge; else of a whole frame).
 */
void
cmd_netrx(const char *arg)
{
	uint64_t v[2];

	if (numargs(arg, v, 2) != 0 || v[0] < 1 || v[0] > NRXBUF ||
	    v[1] < VNET_HDR + ETH_HDR || v[1] > SLOT) {
		kprintf("NETRX FAIL usage\n");
		return;
	}
	rx_count = v[0];
	rx_buflen = v[1];
	kprintf("NETRX %u %u\n", rx_count, rx_buflen);
}

void
cmd_netinfo(const char *arg)
{
	struct netif *ni;
	struct vdev *vd;
	uint64_t n;

	if (numargs(arg, &n, 1) != 0) {
		kprintf("NETINFO FAIL usage\n");
		return;
	}
	if ((ni = net_up("NETINFO", n)) == NULL)
		return;
	vd = ni->vd;
	kprintf("NETINFO %lu mac=", n);
	print_mac(ni->mac);
	kprintf(" status=%s mrgrx=%d mtu=",
	    !(vd->features & FEAT(VIRTIO_NET_F_STATUS)) ? "none" :
	    (vio_cfg16(vd, VNET_STATUS) & VNET_S_LINK_UP) ? "up" : "down",
	    ni->mrg);
	if (vd->features & FEAT(VIRTIO_NET_F_MTU))
		kprintf("%u", vio_cfg16(vd, VNET_MTU));
	else
		kprintf("none");
	kprintf(" qsize=%u/%u\n", vd->vq.devsize, vd->vq1.devsize);
}

/*
 * "ifaddr N ADDR [PEER]": the address, set by hand; the host is taken
 * to be on-link, by default at the other address of ADDR's /31 (as
 * vmd's local interfaces are).
 */
void
cmd_ifaddr(const char *arg)
{
	char tok[MAXTOK][TOKLEN];
	struct netif *ni;
	uint32_t ip, peer;
	uint64_t n;
	int nt;

	nt = net_args(arg, tok, &n);
	if ((nt != 2 && nt != 3) || parse_ip(tok[1], &ip) != 0 || ip == 0 ||
	    (nt == 3 && parse_ip(tok[2], &peer) != 0)) {
		kprintf("IFADDR FAIL usage\n");
		return;
	}
	if ((ni = net_up("IFADDR", n)) == NULL)
		return;
	ni->ip = ip;
	ni->mask = 0xfffffffe;
	ni->peer = nt == 3 ? peer : ip ^ 1;
	kprintf("IFADDR %lu %s\n", n, ipstr(ip));
}

/* BOOTP/DHCP request: message type 0 makes it plain BOOTP. */
static int
dhcp_send(struct netif *ni, int type, uint32_t reqaddr, uint32_t server)
{
	static const uint8_t params[] = { DHO_MASK, DHO_ROUTER, DHO_DNS,
	    DHO_LEASE, DHO_SERVERID };
	uint8_t *f, *ip, *u, *b, *o;
	uint32_t len;
	int slot;

	if ((slot = tx_wait(ni, ticks + TX_TIMEOUT)) < 0)
		return -1;
	f = tx_frame(ni, slot);
	ip = eth_head(f, bcast, ni->mac, ETHERTYPE_IP);
	u = ip + IP_HDR;
	b = u + UDP_HDR;
	zero(b, BOOTP_MIN);
	b[0] = 1;			/* BOOTREQUEST */
	b[1] = 1;			/* Ethernet */
	b[2] = 6;
	put32(b + 4, w.xid);
	copy(b + 28, ni->mac, 6);
	put32(b + BOOTP_FIXED, BOOTP_COOKIE);
	o = b + BOOTP_FIXED + 4;
	if (type != 0) {
		*o++ = DHO_MSGTYPE;
		*o++ = 1;
		*o++ = type;
		if (reqaddr != 0) {
			*o++ = DHO_REQADDR;
			*o++ = 4;
			put32(o, reqaddr);
			o += 4;
		}
		if (server != 0) {
			*o++ = DHO_SERVERID;
			*o++ = 4;
			put32(o, server);
			o += 4;
		}
		*o++ = DHO_PARAMS;
		*o++ = sizeof(params);
		copy(o, params, sizeof(params));
		o += sizeof(params);
	}
	*o++ = DHO_END;
	len = o - b < BOOTP_MIN ? BOOTP_MIN : o - b;
	udp_head(u, 0, 0xffffffff, PORT_BOOTPC, PORT_BOOTPS, len);
	ip_head(ni, ip, 0, 0xffffffff, IPPROTO_UDP, UDP_HDR + len);
	tx_put(ni, slot, ETH_HDR + IP_HDR + UDP_HDR + len);
	tx_kick(ni);
	return 0;
}

/* Option code of the reply in dhcpbuf: its data and length, or NULL. */
static const uint8_t *
dhcp_opt(int code, uint32_t *olen)
{
	uint32_t i = BOOTP_FIXED + 4, l;

	if (w.len < i || be32(dhcpbuf + BOOTP_FIXED) != BOOTP_COOKIE)
		return NULL;
	while (i < w.len && dhcpbuf[i] != DHO_END) {
		if (dhcpbuf[i] == DHO_PAD) {
			i++;
			continue;
		}
		if (i + 2 > w.len || i + 2 + (l = dhcpbuf[i + 1]) > w.len)
			return NULL;	/* runs past the end: ignore it */
		if (dhcpbuf[i] == code) {
			*olen = l;
			return dhcpbuf + i + 2;
		}
		i += 2 + l;
	}
	return NULL;
}

/* A 4-byte (or longer: its first address) option, or 0. */
static uint32_t
dhcp_addr(int code)
{
	const uint8_t *p;
	uint32_t l;

	if ((p = dhcp_opt(code, &l)) == NULL || l < 4)
		return 0;
	return be32(p);
}

static int
dhcp_type(void)
{
	const uint8_t *p;
	uint32_t l;

	if ((p = dhcp_opt(DHO_MSGTYPE, &l)) == NULL || l != 1)
		return 0;
	return p[0];
}

/*
 * Send a request (4 times, 1 s apart) until a reply of one of the types
 * in want (a bit each; bit 0 for plain BOOTP) is in dhcpbuf.  Returns
 * 0, 1 on timeout, -1 if the device failed.
 */
static int
dhcp_exchange(struct netif *ni, int type, uint32_t reqaddr,
    uint32_t server, int want)
{
	uint64_t deadline;
	int tries, t;

	for (tries = 0; tries < 4; tries++) {
		w.len = 0;
		if (dhcp_send(ni, type, reqaddr, server) != 0)
			return -1;
		for (deadline = ticks + HZ; ticks < deadline; net_sleep(ni)) {
			if (net_poll(ni) != 0)
				return -1;
			if (w.len == 0)
				continue;
			if ((t = dhcp_type()) < 16 && (want & 1 << t))
				return 0;
			w.len = 0;	/* not what we wait for */
		}
	}
	return 1;
}

static void
opt_print(const char *name, uint32_t v)
{
	if (v != 0)
		kprintf(" %s=%s", name, ipstr(v));
	else
		kprintf(" %s=none", name);
}

/* ACK or NAK in dhcpbuf: print it; an ACK configures the interface. */
static void
dhcp_result(struct netif *ni)
{
	const uint8_t *p;
	uint32_t l, addr;

	if (dhcp_type() == DHCPNAK) {
		kprintf("DHCP %d NAK\n", ni->unit);
		return;
	}
	addr = be32(dhcpbuf + 16);
	kprintf("DHCP %d ACK addr=%s", ni->unit, ipstr(addr));
	opt_print("mask", dhcp_addr(DHO_MASK));
	opt_print("router", dhcp_addr(DHO_ROUTER));
	opt_print("dns", dhcp_addr(DHO_DNS));
	opt_print("server", dhcp_addr(DHO_SERVERID));
	if ((p = dhcp_opt(DHO_LEASE, &l)) != NULL && l == 4)
		kprintf(" lease=%u\n", be32(p));
	else
		kprintf(" lease=none\n");
	ni->ip = addr;
	ni->mask = dhcp_addr(DHO_MASK);
	ni->peer = dhcp_addr(DHO_ROUTER);
	if (ni->peer == 0)
		ni->peer = dhcp_addr(DHO_SERVERID);
}

static uint32_t
new_xid(struct netif *ni)
{
	xidgen = xidgen * 1103515245 + 12345 + (uint32_t)ticks;
	return xidgen ^ (uint32_t)ni->mac[4] << 24 ^ (uint32_t)ni->mac[5] << 16;
}

/* The "DHCP N ..." commands: dhcp N, dhcpreq N ADDR. */
static void
dhcp_cmd(const char *arg, int reboot)
{
	char tok[MAXTOK][TOKLEN];
	struct netif *ni;
	uint32_t reqaddr = 0, server;
	uint64_t n;
	int r;

	if (net_args(arg, tok, &n) != (reboot ? 2 : 1) ||
	    (reboot && (parse_ip(tok[1], &reqaddr) != 0 || reqaddr == 0))) {
		kprintf("%s FAIL usage\n", reboot ? "DHCPREQ" : "DHCP");
		return;
	}
	if ((ni = net_up("DHCP", n)) == NULL)
		return;
	w.dhcp = 1;
	w.xid = new_xid(ni);
	if (!reboot) {
		r = dhcp_exchange(ni, DHCPDISCOVER, 0, 0, 1 << DHCPOFFER);
		if (r != 0)
			goto out;
		reqaddr = be32(dhcpbuf + 16);
		server = dhcp_addr(DHO_SERVERID);
		if (reqaddr == 0 || server == 0) {
			kprintf("DHCP %lu FAIL bad reply (offer without %s)\n",
			    n, reqaddr == 0 ? "address" : "server id");
			w.dhcp = 0;
			return;
		}
		r = dhcp_exchange(ni, DHCPREQUEST, reqaddr, server,
		    1 << DHCPACK | 1 << DHCPNAK);
	} else
		r = dhcp_exchange(ni, DHCPREQUEST, reqaddr, 0,
		    1 << DHCPACK | 1 << DHCPNAK);
out:
	w.dhcp = 0;
	if (r < 0)
		net_fail("DHCP", ni);
	else if (r > 0)
		kprintf("DHCP %lu FAIL timeout\n", n);
	else if (dhcp_type() == DHCPACK && be32(dhcpbuf + 16) == 0)
		kprintf("DHCP %lu FAIL bad reply (ack without address)\n", n);
	else
		dhcp_result(ni);
}

void
cmd_dhcp(const char *arg)
{
	dhcp_cmd(arg, 0);
}

void
cmd_dhcpreq(const char *arg)
{
	dhcp_cmd(arg, 1);
}

/* A BOOTP request (RFC 951 with the RFC 1497 cookie, no DHCP type). */
void
cmd_bootp(const char *arg)
{
	struct netif *ni;
	uint32_t addr;
	uint64_t n;
	int r;

	if (numargs(arg, &n, 1) != 0) {
		kprintf("BOOTP FAIL usage\n");
		return;
	}
	if ((ni = net_up("BOOTP", n)) == NULL)
		return;
	w.dhcp = 1;
	w.xid = new_xid(ni);
	/* any reply: a DHCP server may answer with a message type */
	r = dhcp_exchange(ni, 0, 0, 0, ~0);
	w.dhcp = 0;
	if (r < 0) {
		net_fail("BOOTP", ni);
		return;
	}
	if (r > 0) {
		kprintf("BOOTP %lu FAIL timeout\n", n);
		return;
	}
	addr = be32(dhcpbuf + 16);
	kprintf("BOOTP %lu REPLY addr=%s server=%s", n, ipstr(addr),
	    ipstr(be32(dhcpbuf + 20)));
	opt_print("mask", dhcp_addr(DHO_MASK));
	opt_print("router", dhcp_addr(DHO_ROUTER));
	kprintf("\n");
	if (addr != 0) {
		ni->ip = addr;
		ni->mask = dhcp_addr(DHO_MASK);
		ni->peer = dhcp_addr(DHO_ROUTER);
		if (ni->peer == 0)
			ni->peer = be32(dhcpbuf + 20);
	}
}

static void
make_pattern(void)
{
	int i;

	if (pattern_made)
		return;
	for (i = 0; i < SLOT; i++)
		pattern[i] = (uint8_t)(i * 7 + 0x20);
	pattern_made = 1;
}

/* One echo request, sequence seq, of w.pingsize bytes of pattern. */
static int
ping_send(struct netif *ni, const uint8_t *mac, uint16_t seq)
{
	uint8_t *f, *icmp;
	uint32_t len = ICMP_HDR + w.pingsize;
	int slot;

	if ((slot = tx_wait(ni, ticks + TX_TIMEOUT)) < 0)
		return -1;
	f = tx_frame(ni, slot);
	icmp = ip_head(ni, eth_head(f, mac, ni->mac, ETHERTYPE_IP), ni->ip,
	    w.pingaddr, IPPROTO_ICMP, len);
	icmp[0] = ICMP_ECHO;
	icmp[1] = 0;
	put16(icmp + 2, 0);
	put16(icmp + 4, w.pingid);
	put16(icmp + 6, seq);
	copy(icmp + ICMP_HDR, pattern, w.pingsize);
	put_cksum(icmp + 2, fold(sum(0, icmp, len)));
	tx_put(ni, slot, ETH_HDR + IP_HDR + len);
	tx_kick(ni);
	return 0;
}

/* Fail usage unless the interface has an address; 0 if it has. */
static int
need_addr(const char *cmd, struct netif *ni)
{
	if (ni->ip != 0)
		return 0;
	kprintf("%s %d FAIL no address\n", cmd, ni->unit);
	return -1;
}

/* MTU negotiated: an IP packet of len bytes must fit it. */
static int
fits_mtu(const char *cmd, struct netif *ni, uint32_t len)
{
	uint16_t mtu;

	if (!(ni->vd->features & FEAT(VIRTIO_NET_F_MTU)))
		return 1;
	mtu = vio_cfg16(ni->vd, VNET_MTU);
	if (len <= mtu)
		return 1;
	kprintf("%s %d FAIL larger than the MTU %u\n", cmd, ni->unit, mtu);
	return 0;
}

/* Where a frame for addr goes: addr itself on the link, else the peer. */
static uint32_t
next_hop(const struct netif *ni, uint32_t addr)
{
	if (((addr ^ ni->ip) & ni->mask) != 0 && ni->peer != 0)
		return ni->peer;
	return addr;
}

/*
 * "ping N ADDR COUNT [SIZE]": the next request goes as soon as the
 * previous reply came, or 200 ms after the previous request; the last
 * one is waited for up to 1 s.
 */
void
cmd_ping(const char *arg)
{
	char tok[MAXTOK][TOKLEN];
	struct netif *ni;
	const uint8_t *mac;
	uint64_t n, count, size = 56, last = 0;
	uint32_t addr;
	int nt, i;

	nt = net_args(arg, tok, &n);
	if ((nt != 3 && nt != 4) || parse_ip(tok[1], &addr) != 0 ||
	    parse_num(tok[2], &count) != 0 || count < 1 || count >= PING_MAX ||
	    (nt == 4 && parse_num(tok[3], &size) != 0) ||
	    size > UDP_MAXDATA) {
		kprintf("PING FAIL usage\n");
		return;
	}
	if ((ni = net_up("PING", n)) == NULL || need_addr("PING", ni) != 0 ||
	    !fits_mtu("PING", ni, IP_HDR + ICMP_HDR + size))
		return;
	make_pattern();
	if ((mac = arp_resolve(ni, next_hop(ni, addr))) == NULL) {
		if (ni->err != NULL)
			net_fail("PING", ni);
		else
			kprintf("PING %lu FAIL arp\n", n);
		return;
	}
	for (i = 0; i < PING_MAX / 64; i++)
		pingseen[i] = 0;
	w.pingaddr = addr;
	w.pingid = 0x7600 + pingids++;
	w.pingsize = size;
	w.pingsent = w.pinggot = 0;
	for (;;) {
		if (net_poll(ni) != 0)
			break;
		if (w.pingsent < count && (w.pingsent == 0 ||
		    (pingseen[w.pingsent / 64] & 1ULL << (w.pingsent % 64)) ||
		    ticks >= last + HZ / 5)) {
			if (ping_send(ni, mac, w.pingsent + 1) != 0)
				break;
			w.pingsent++;
			last = ticks;
			continue;
		}
		if (w.pingsent == count && (w.pinggot == count ||
		    ticks >= last + HZ))
			break;
		net_sleep(ni);
	}
	w.pingaddr = 0;
	if (ni->err != NULL) {
		net_fail("PING", ni);
		return;
	}
	kprintf("PING %lu %s sent=%u received=%u\n", n, ipstr(addr),
	    w.pingsent, w.pinggot);
}

/* "netserve N SECONDS": answer ARP and echo requests for a while. */
void
cmd_netserve(const char *arg)
{
	struct netif *ni;
	uint64_t v[2], deadline;

	if (numargs(arg, v, 2) != 0) {
		kprintf("NETSERVE FAIL usage\n");
		return;
	}
	if ((ni = net_up("NETSERVE", v[0])) == NULL ||
	    need_addr("NETSERVE", ni) != 0)
		return;
	ni->arps = ni->echos = 0;
	for (deadline = ticks + v[1] * HZ; ticks < deadline; net_sleep(ni))
		if (net_poll(ni) != 0) {
			net_fail("NETSERVE", ni);
			return;
		}
	kprintf("NETSERVE %lu arp=%u echo=%u\n", v[0], ni->arps, ni->echos);
}

/*
 * "netsniff N SECS": NETSNIFF N READY, then N served for SECS seconds
 * (ARP, echo); then NETSNIFF N seen=<0|1>: whether 32 bytes of 0xa5 in
 * a row, the payload the host sends to another MAC address, are
 * anywhere in N's receive buffers, delivered or only posted.
 */
void
cmd_netsniff(const char *arg)
{
	struct netif *ni;
	uint64_t v[2], deadline;
	const uint8_t *b;
	uint32_t i, run = 0;
	int seen = 0;

	if (numargs(arg, v, 2) != 0) {
		kprintf("NETSNIFF FAIL usage\n");
		return;
	}
	if ((ni = net_up("NETSNIFF", v[0])) == NULL)
		return;
	kprintf("NETSNIFF %lu READY\n", v[0]);
	for (deadline = ticks + v[1] * HZ; ticks < deadline; net_sleep(ni))
		if (net_poll(ni) != 0) {
			net_fail("NETSNIFF", ni);
			return;
		}
	b = &rxbuf[ni->unit][0][0];
	for (i = 0; i < sizeof(rxbuf[0]) && !seen; i++) {
		run = b[i] == 0xa5 ? run + 1 : 0;
		seen = run >= 32;
	}
	kprintf("NETSNIFF %lu seen=%d\n", v[0], seen);
}

/*
 * "netsend N COUNT own|spoof": COUNT broadcast frames of 100 bytes,
 * type 0x88b5, from our MAC address or another one.
 */
void
cmd_netsend(const char *arg)
{
	char tok[MAXTOK][TOKLEN];
	struct netif *ni;
	const uint8_t *src;
	uint8_t *f, *p;
	uint64_t n, count, sent = 0;
	int spoof, slot;

	if (net_args(arg, tok, &n) != 3 || parse_num(tok[1], &count) != 0 ||
	    (strcmp(tok[2], "own") != 0 && strcmp(tok[2], "spoof") != 0)) {
		kprintf("NETSEND FAIL usage\n");
		return;
	}
	spoof = tok[2][0] == 's';
	if ((ni = net_up("NETSEND", n)) == NULL)
		return;
	src = spoof ? spoofmac : ni->mac;
	while (sent < count) {
		if ((slot = tx_wait(ni, ticks + TX_TIMEOUT)) < 0)
			break;
		f = tx_frame(ni, slot);
		p = eth_head(f, bcast, src, ETHERTYPE_TEST);
		zero(p, 100 - ETH_HDR);
		copy(p, "VMDGUEST netsend", 16);
		put32(p + 16, sent);
		tx_put(ni, slot, 100);
		sent++;
		/* a batch: notify when the ring is full or at the end */
		if (ni->ntxfree == 0 || sent == count)
			tx_kick(ni);
	}
	if (ni->err != NULL || tx_drain(ni) != 0) {
		net_fail("NETSEND", ni);
		return;
	}
	kprintf("NETSEND %lu %lu %s sent=%lu\n", n, count, tok[2], sent);
}

/*
 * "netbig N COUNT SIZE": COUNT UDP datagrams to the peer's discard port,
 * as many posted per notification as there are free slots.  The frame
 * is built once; a slot that still holds it only gets a new IP id.
 */
void
cmd_netbig(const char *arg)
{
	uint64_t v[4], sent = 0;
	struct netif *ni;
	const uint8_t *mac;
	uint8_t *f, *ip;
	uint32_t flen;
	int slot;

	v[3] = PORT_DISCARD;
	if ((numargs(arg, v, 3) != 0 && numargs(arg, v, 4) != 0) ||
	    v[2] < 1 || v[2] > UDP_MAXDATA || v[3] < 1 || v[3] > 65535) {
		kprintf("NETBIG FAIL usage\n");
		return;
	}
	if ((ni = net_up("NETBIG", v[0])) == NULL ||
	    need_addr("NETBIG", ni) != 0 ||
	    !fits_mtu("NETBIG", ni, IP_HDR + UDP_HDR + v[2]))
		return;
	make_pattern();
	if ((mac = arp_resolve(ni, ni->peer)) == NULL) {
		if (ni->err != NULL)
			net_fail("NETBIG", ni);
		else
			kprintf("NETBIG %lu FAIL arp\n", v[0]);
		return;
	}
	ip = eth_head(bigtmpl, mac, ni->mac, ETHERTYPE_IP);
	copy(ip + IP_HDR + UDP_HDR, pattern, v[2]);
	udp_head(ip + IP_HDR, ni->ip, ni->peer, PORT_DISCARD, v[3], v[2]);
	ip_head(ni, ip, ni->ip, ni->peer, IPPROTO_UDP, UDP_HDR + v[2]);
	flen = ETH_HDR + IP_HDR + UDP_HDR + v[2];
	if (++tmplgen == 0)
		tmplgen = 1;
	while (sent < v[1]) {
		if ((slot = tx_wait(ni, ticks + TX_TIMEOUT)) < 0)
			break;
		f = txbuf[ni->unit][slot] + VNET_HDR;
		if (ni->txtmpl[slot] != tmplgen)
			copy(f, bigtmpl, flen);
		ni->txtmpl[slot] = tmplgen;
		ip = f + ETH_HDR;
		put16(ip + 4, ni->ipid++);
		put16(ip + 10, 0);
		put_cksum(ip + 10, fold(sum(0, ip, IP_HDR)));
		tx_put(ni, slot, flen);
		sent++;
		if (ni->ntxfree == 0 || sent == v[1])
			tx_kick(ni);
	}
	if (ni->err != NULL || tx_drain(ni) != 0) {
		net_fail("NETBIG", ni);
		return;
	}
	kprintf("NETBIG %lu %lu %lu sent=%lu\n", v[0], v[1], v[2], sent);
}
