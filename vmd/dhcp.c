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
 * The local interface's DHCP/BOOTP responder (see dhcp.h).  A frame is
 * answered only if it is exactly what a client of this guest sends:
 * from the guest's MAC to the broadcast or the host's, IPv4 without
 * fragments and with a good header checksum, UDP 68 to 67, a BOOTREQUEST
 * for Ethernet with the guest's MAC as chaddr, no hops, no ciaddr and no
 * boot file asked for.  DISCOVER gets an OFFER; REQUEST an ACK, or a NAK
 * if it asks for another address; a request without a DHCP message type
 * a BOOTP reply.  Everything is read with bounds checks: the frame comes
 * from the guest.
 */

#include <sys/types.h>

#include <endian.h>
#include <string.h>

#include "dhcp.h"

#define ETH_HLEN		14
#define ETHERTYPE_IP		0x0800
#define IP_HLEN			20
#define IPPROTO_UDP_		17
#define IP_MF			0x2000
#define IP_OFFMASK		0x1fff
#define UDP_HLEN		8
#define PORT_SERVER		67
#define PORT_CLIENT		68

/* BOOTP message */
#define BOOTP_OP		0
#define BOOTP_HTYPE		1
#define BOOTP_HLEN		2
#define BOOTP_HOPS		3
#define BOOTP_XID		4
#define BOOTP_SECS		8
#define BOOTP_FLAGS		10
#define BOOTP_CIADDR		12
#define BOOTP_YIADDR		16
#define BOOTP_SIADDR		20
#define BOOTP_GIADDR		24
#define BOOTP_CHADDR		28
#define BOOTP_SNAME		44
#define BOOTP_FILE		108
#define BOOTP_FIXED		236
#define BOOTP_COOKIE		236
#define BOOTP_OPTIONS		240
#define BOOTP_MIN		300	/* with a 64-byte vendor area */
#define BOOTREQUEST		1
#define BOOTREPLY		2
#define HTYPE_ETHER		1
#define FLAG_BROADCAST		0x8000

/* options */
#define OPT_PAD			0
#define OPT_MASK		1
#define OPT_ROUTER		3
#define OPT_DNS			6
#define OPT_HOSTNAME		12
#define OPT_REQADDR		50
#define OPT_LEASE		51
#define OPT_MSGTYPE		53
#define OPT_SERVERID		54
#define OPT_END			255

#define DHCPDISCOVER		1
#define DHCPOFFER		2
#define DHCPREQUEST		3
#define DHCPACK			5
#define DHCPNAK			6

static const uint8_t	cookie[4] = { 99, 130, 83, 99 };
static const uint8_t	bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static uint16_t
get16(const uint8_t *p)
{
	return ((uint16_t)p[0] << 8 | p[1]);
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

/* the one's complement sum of len bytes, folded into sum */
static uint32_t
cksum_add(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t	i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return (sum);
}

static uint16_t
cksum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (~sum & 0xffff);
}

/* the host's MAC on the guest's link: the guest's, last byte plus one */
static void
host_mac(const struct dhcp_lease *l, uint8_t *mac)
{
	memcpy(mac, l->guest_mac, 6);
	mac[5]++;
}

/*
 * The DHCP options from off to the end of the BOOTP message: the
 * message type (0 if none) and the requested address (0 if none).
 * Returns -1 if they are malformed.
 */
static int
parse_options(const uint8_t *b, size_t len, int *type, uint32_t *reqaddr)
{
	size_t	off = BOOTP_OPTIONS;
	uint8_t	code, olen;

	*type = 0;
	*reqaddr = 0;
	while (off < len) {
		code = b[off++];
		if (code == OPT_PAD)
			continue;
		if (code == OPT_END)
			return (0);
		if (off >= len)
			return (-1);
		olen = b[off++];
		if (olen > len - off)
			return (-1);
		if (code == OPT_MSGTYPE) {
			if (olen != 1)
				return (-1);
			*type = b[off];
		} else if (code == OPT_REQADDR) {
			if (olen != 4)
				return (-1);
			memcpy(reqaddr, b + off, 4);
		}
		off += olen;
	}
	return (0);		/* no END: tolerated, as clients vary */
}

/* an option of len bytes at *p, if it fits before end */
static int
put_opt(uint8_t **p, const uint8_t *end, uint8_t code, const void *v,
    uint8_t len)
{
	if ((size_t)(end - *p) < 2U + len)
		return (-1);
	*(*p)++ = code;
	*(*p)++ = len;
	memcpy(*p, v, len);
	*p += len;
	return (0);
}

size_t
dhcp_request(const struct dhcp_lease *l, const uint8_t *f, size_t flen,
    uint8_t *r, size_t cap)
{
	const uint8_t	*ip, *udp, *b;
	uint8_t		 hmac[6], *rip, *rudp, *rb, *p, *end, t;
	size_t		 ihl, iplen, ulen, blen, rblen, hnlen;
	uint32_t	 reqaddr, mask = htobe32(0xfffffffe), lease = 0xffffffff;
	uint32_t	 zero = 0, dst, sum;
	int		 type, reply, nak = 0;

	if (cap < ETH_HLEN + IP_HLEN + UDP_HLEN + BOOTP_MIN ||
	    flen < ETH_HLEN + IP_HLEN + UDP_HLEN + BOOTP_FIXED)
		return (0);
	host_mac(l, hmac);
	/* Ethernet: the guest, to everyone or to us */
	if ((memcmp(f, bcast, 6) != 0 && memcmp(f, hmac, 6) != 0) ||
	    memcmp(f + 6, l->guest_mac, 6) != 0 ||
	    get16(f + 12) != ETHERTYPE_IP)
		return (0);
	/* IPv4, whole, UDP */
	ip = f + ETH_HLEN;
	ihl = (ip[0] & 0x0f) * 4;
	iplen = get16(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl < IP_HLEN || iplen < ihl + UDP_HLEN ||
	    iplen > flen - ETH_HLEN || ip[9] != IPPROTO_UDP_ ||
	    (get16(ip + 6) & (IP_MF | IP_OFFMASK)) != 0 ||
	    cksum_fold(cksum_add(0, ip, ihl)) != 0)
		return (0);
	/* UDP, client to server */
	udp = ip + ihl;
	ulen = get16(udp + 4);
	if (get16(udp) != PORT_CLIENT || get16(udp + 2) != PORT_SERVER ||
	    ulen < UDP_HLEN + BOOTP_FIXED || ulen > iplen - ihl)
		return (0);
	/* BOOTP: a request of this guest's, nothing we do not give */
	b = udp + UDP_HLEN;
	blen = ulen - UDP_HLEN;
	if (b[BOOTP_OP] != BOOTREQUEST || b[BOOTP_HTYPE] != HTYPE_ETHER ||
	    b[BOOTP_HLEN] != 6 || b[BOOTP_HOPS] != 0 ||
	    memcmp(b + BOOTP_CIADDR, &zero, 4) != 0 ||
	    memcmp(b + BOOTP_CHADDR, l->guest_mac, 6) != 0 ||
	    b[BOOTP_FILE] != '\0')
		return (0);
	type = 0;
	reqaddr = 0;
	if (blen >= BOOTP_OPTIONS && memcmp(b + BOOTP_COOKIE, cookie, 4) == 0 &&
	    parse_options(b, blen, &type, &reqaddr) == -1)
		return (0);
	switch (type) {
	case 0:			/* BOOTP */
		reply = 0;
		break;
	case DHCPDISCOVER:
		reply = DHCPOFFER;
		break;
	case DHCPREQUEST:
		if (reqaddr != 0 && reqaddr != l->guest_addr) {
			reply = DHCPNAK;
			nak = 1;
		} else
			reply = DHCPACK;
		break;
	default:		/* DECLINE, RELEASE, INFORM: nothing to say */
		return (0);
	}

	/* the reply, from the BOOTP message out */
	memset(r, 0, ETH_HLEN + IP_HLEN + UDP_HLEN + BOOTP_MIN);
	rip = r + ETH_HLEN;
	rudp = rip + IP_HLEN;
	rb = rudp + UDP_HLEN;
	end = r + cap;
	rb[BOOTP_OP] = BOOTREPLY;
	rb[BOOTP_HTYPE] = HTYPE_ETHER;
	rb[BOOTP_HLEN] = 6;
	memcpy(rb + BOOTP_XID, b + BOOTP_XID, 4);
	memcpy(rb + BOOTP_FLAGS, b + BOOTP_FLAGS, 2);
	memcpy(rb + BOOTP_GIADDR, b + BOOTP_GIADDR, 4);
	memcpy(rb + BOOTP_CHADDR, b + BOOTP_CHADDR, 16);
	if (!nak) {
		memcpy(rb + BOOTP_YIADDR, &l->guest_addr, 4);
		memcpy(rb + BOOTP_SIADDR, &l->host_addr, 4);
		if (l->pxe_name != NULL)
			memcpy(rb + BOOTP_FILE, "auto_install",
			    sizeof("auto_install"));
	}
	memcpy(rb + BOOTP_COOKIE, cookie, 4);
	p = rb + BOOTP_OPTIONS;
	if (reply != 0) {
		t = reply;
		if (put_opt(&p, end, OPT_MSGTYPE, &t, 1) == -1 ||
		    put_opt(&p, end, OPT_SERVERID, &l->host_addr, 4) == -1)
			return (0);
	}
	if (!nak) {
		if ((reply != 0 &&
		    put_opt(&p, end, OPT_LEASE, &lease, 4) == -1) ||
		    put_opt(&p, end, OPT_MASK, &mask, 4) == -1 ||
		    put_opt(&p, end, OPT_ROUTER, &l->host_addr, 4) == -1 ||
		    put_opt(&p, end, OPT_DNS, &l->host_addr, 4) == -1)
			return (0);
		if (l->pxe_name != NULL) {
			hnlen = strnlen(l->pxe_name, 255);
			if (hnlen > 0 && put_opt(&p, end, OPT_HOSTNAME,
			    l->pxe_name, hnlen) == -1)
				return (0);
		}
	}
	if (p >= end)
		return (0);
	*p++ = OPT_END;
	rblen = p - rb;
	if (rblen < BOOTP_MIN)
		rblen = BOOTP_MIN;

	/*
	 * Addressed to the guest's new address, or to everyone for a NAK
	 * and for a client that asked for broadcast replies.
	 */
	if (nak || (get16(b + BOOTP_FLAGS) & FLAG_BROADCAST)) {
		dst = 0xffffffff;
		memcpy(r, bcast, 6);
	} else {
		dst = l->guest_addr;
		memcpy(r, l->guest_mac, 6);
	}
	memcpy(r + 6, hmac, 6);
	put16(r + 12, ETHERTYPE_IP);

	put16(rudp, PORT_SERVER);
	put16(rudp + 2, PORT_CLIENT);
	put16(rudp + 4, UDP_HLEN + rblen);
	sum = cksum_add(0, (const uint8_t *)&l->host_addr, 4);
	sum = cksum_add(sum, (const uint8_t *)&dst, 4);
	sum += IPPROTO_UDP_ + UDP_HLEN + rblen;
	sum = cksum_add(sum, rudp, UDP_HLEN + rblen);
	put16(rudp + 6, cksum_fold(sum) == 0 ? 0xffff : cksum_fold(sum));

	rip[0] = 0x45;
	put16(rip + 2, IP_HLEN + UDP_HLEN + rblen);
	rip[8] = 64;			/* TTL */
	rip[9] = IPPROTO_UDP_;
	memcpy(rip + 12, &l->host_addr, 4);
	memcpy(rip + 16, &dst, 4);
	put16(rip + 10, cksum_fold(cksum_add(0, rip, IP_HLEN)));
	return (ETH_HLEN + IP_HLEN + UDP_HLEN + rblen);
}

int
local_addr4(uint32_t prefix, int len, uint32_t vmid, unsigned int idx,
    int guest, uint32_t *out)
{
	uint64_t	off, size;
	uint32_t	mask;

	if (len < 1 || len > 32 || idx > 126)
		return (-1);
	size = 1ULL << (32 - len);
	mask = (uint32_t)~(size - 1);
	off = ((uint64_t)vmid << 8 | (idx + 1) * 2) + (guest ? 1 : 0);
	if (off >= size)
		return (-1);
	*out = (prefix & mask) + (uint32_t)off;
	return (0);
}
