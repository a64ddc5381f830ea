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
 * dhcp_request: the frames a DHCP or BOOTP client of the guest sends get
 * the answers upstream's responder gives (VM 1, NIC 0: guest 100.64.1.3,
 * host 100.64.1.2, /31, infinite lease), every header of a reply is
 * checked as a client's stack would (IP and UDP checksums included), and
 * frames that are not exactly such a request get no answer.
 */

#include <sys/types.h>

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>

#include "dhcp.h"
#include "tap.h"

#define FRAME_MAX	1514

static const uint8_t	gmac[6] = { 0xfe, 0xe1, 0xbb, 0xd1, 0x12, 0x34 };
static const uint8_t	hmac[6] = { 0xfe, 0xe1, 0xbb, 0xd1, 0x12, 0x35 };
static struct dhcp_lease lease;

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static uint16_t
get16(const uint8_t *p)
{
	return ((uint16_t)p[0] << 8 | p[1]);
}

static uint16_t
cksum(const uint8_t *p, size_t len, uint32_t sum)
{
	size_t	i;

	for (i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (~sum & 0xffff);
}

/*
 * A client's frame: type is the DHCP message type (0: BOOTP, no
 * cookie), reqaddr the requested address option (0: none).  Returns its
 * length; f has FRAME_MAX bytes.
 */
static size_t
request(uint8_t *f, int type, const char *reqaddr)
{
	uint8_t		*ip = f + 14, *udp = ip + 20, *b = udp + 8, *o;
	size_t		 blen;
	uint32_t	 a;

	memset(f, 0, FRAME_MAX);
	memset(f, 0xff, 6);
	memcpy(f + 6, gmac, 6);
	put16(f + 12, 0x0800);
	b[0] = 1;
	b[1] = 1;
	b[2] = 6;
	memcpy(b + 4, "\x11\x22\x33\x44", 4);
	memcpy(b + 28, gmac, 6);
	o = b + 236;
	if (type != 0) {
		memcpy(o, "\x63\x82\x53\x63", 4);
		o += 4;
		*o++ = 53;
		*o++ = 1;
		*o++ = type;
		if (reqaddr != NULL) {
			inet_pton(AF_INET, reqaddr, &a);
			*o++ = 50;
			*o++ = 4;
			memcpy(o, &a, 4);
			o += 4;
		}
		*o++ = 255;
	}
	blen = o - b < 300 ? 300 : o - b;
	put16(udp, 68);
	put16(udp + 2, 67);
	put16(udp + 4, 8 + blen);
	ip[0] = 0x45;
	put16(ip + 2, 20 + 8 + blen);
	ip[8] = 64;
	ip[9] = 17;
	memset(ip + 16, 0xff, 4);
	put16(ip + 10, cksum(ip, 20, 0));
	return (14 + 20 + 8 + blen);
}

/* fix the IP header checksum after a change */
static void
reip(uint8_t *f)
{
	put16(f + 14 + 10, 0);
	put16(f + 14 + 10, cksum(f + 14, 20, 0));
}

/* the value of option code in a reply's options, NULL if none */
static const uint8_t *
opt(const uint8_t *r, size_t len, uint8_t code, uint8_t *olen)
{
	size_t	off = 14 + 20 + 8 + 240;

	while (off + 1 < len && r[off] != 255) {
		if (r[off] == 0) {
			off++;
			continue;
		}
		if (r[off] == code) {
			*olen = r[off + 1];
			return (r + off + 2);
		}
		off += 2 + r[off + 1];
	}
	return (NULL);
}

static int
opt_is(const uint8_t *r, size_t len, uint8_t code, const void *v,
    uint8_t vlen)
{
	const uint8_t	*p;
	uint8_t		 l;

	return ((p = opt(r, len, code, &l)) != NULL && l == vlen &&
	    memcmp(p, v, vlen) == 0);
}

static uint32_t
addr(const char *s)
{
	uint32_t	a;

	inet_pton(AF_INET, s, &a);
	return (a);
}

/* every header of a reply as a client checks it */
static void
check_headers(const char *what, const uint8_t *r, size_t len, int bcast)
{
	const uint8_t	*ip = r + 14, *udp = ip + 20;
	uint8_t		 ph[12];
	uint32_t	 dst = bcast ? 0xffffffff : lease.guest_addr, s = 0;
	size_t		 ulen = get16(udp + 4), i;

	check(len >= 14 + 20 + 8 + 300 && len <= DHCP_REPLY_MAX,
	    "%s: length %zu, BOOTP's 300 bytes at least", what, len);
	check(memcmp(r, bcast ? (const uint8_t *)"\xff\xff\xff\xff\xff\xff" :
	    gmac, 6) == 0 && memcmp(r + 6, hmac, 6) == 0 &&
	    get16(r + 12) == 0x0800, "%s: Ethernet %s from the host's MAC",
	    what, bcast ? "broadcast" : "to the guest");
	check(ip[0] == 0x45 && get16(ip + 2) == len - 14 && ip[9] == 17 &&
	    cksum(ip, 20, 0) == 0, "%s: IPv4 header and checksum", what);
	check(memcmp(ip + 12, &lease.host_addr, 4) == 0 &&
	    memcmp(ip + 16, &dst, 4) == 0, "%s: from the host address to %s",
	    what, bcast ? "255.255.255.255" : "the guest's");
	memcpy(ph, ip + 12, 8);
	ph[8] = 0;
	ph[9] = 17;
	put16(ph + 10, ulen);
	for (i = 0; i < 12; i += 2)
		s += get16(ph + i);
	check(get16(udp) == 67 && get16(udp + 2) == 68 &&
	    ulen == len - 14 - 20 && cksum(udp, ulen, s) == 0,
	    "%s: UDP 67 -> 68, checksum", what);
}

/* local_addr4 as dotted quads, or "exceeded" */
static const char *
la(const char *prefix, int len, uint32_t vmid, unsigned int idx, int guest)
{
	static char	 buf[INET_ADDRSTRLEN];
	uint32_t	 p, a;

	p = ntohl(addr(prefix));
	if (local_addr4(p, len, vmid, idx, guest, &a) == -1)
		return ("exceeded");
	a = htonl(a);
	inet_ntop(AF_INET, &a, buf, sizeof(buf));
	return (buf);
}

/* the manual's and upstream's examples of the address formula */
static void
local_addrs(void)
{
	static const struct {
		const char	*prefix;
		int		 len;
		uint32_t	 vmid;
		unsigned int	 idx;
		int		 guest;
		const char	*want;
	} t[] = {
		{ "100.64.0.0", 10, 1, 0, 0, "100.64.1.2" },
		{ "100.64.0.0", 10, 1, 0, 1, "100.64.1.3" },
		{ "100.64.0.0", 10, 1, 1, 0, "100.64.1.4" },
		{ "100.64.0.0", 10, 1, 1, 1, "100.64.1.5" },
		{ "100.64.0.0", 10, 2, 2, 1, "100.64.2.7" },
		{ "100.64.0.0", 10, 1, 126, 1, "100.64.1.255" },
		{ "100.64.0.0", 10, 1, 127, 0, "exceeded" },
		{ "100.64.0.0", 10, 256, 0, 0, "100.65.0.2" },
		{ "100.64.0.0", 10, 16383, 0, 1, "100.127.255.3" },
		{ "100.64.0.0", 10, 16384, 0, 0, "exceeded" },
		{ "10.1.0.0", 16, 3, 0, 1, "10.1.3.3" },
		{ "10.1.0.0", 16, 256, 0, 0, "exceeded" },
		{ "10.1.77.9", 16, 3, 0, 0, "10.1.3.2" },
	};
	size_t	i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		check(strcmp(la(t[i].prefix, t[i].len, t[i].vmid, t[i].idx,
		    t[i].guest), t[i].want) == 0,
		    "local address: %s/%d, vm %u, interface %u, %s: %s",
		    t[i].prefix, t[i].len, t[i].vmid, t[i].idx,
		    t[i].guest ? "guest" : "host", t[i].want);
}

/* a DISCOVER with one byte changed (x: the bits flipped) is ignored */
static const struct {
	size_t		 off;
	uint8_t		 x;
	int		 reip;		/* the IP checksum made right again */
	const char	*what;
} pokes[] = {
	{ 6, 2, 0, "from another MAC" },
	{ 14 + 20 + 8 + 28, 1, 0, "chaddr not the guest's" },
	{ 14 + 20 + 8 + 12, 10, 0, "ciaddr set" },
	{ 14 + 20 + 8 + 3, 1, 0, "relayed (hops 1)" },
	{ 14 + 20 + 8 + 108, 'x', 0, "a boot file asked for" },
	{ 14 + 20 + 3, 67 ^ 68, 0, "UDP to port 68" },
	{ 14 + 10, 0xff, 0, "bad IP header checksum" },
	{ 14 + 6, 0x20, 1, "a fragment" },
	{ 14 + 20 + 8 + 240 + 1, 1 ^ 200, 0,
	    "an option running past the message" },
	{ 14 + 9, 17 ^ 6, 1, "TCP, not UDP" },
};

int
main(void)
{
	uint8_t		 f[FRAME_MAX], r[DHCP_REPLY_MAX];
	const uint8_t	*b = r + 14 + 20 + 8;
	uint32_t	 mask = addr("255.255.255.254"), inf = 0xffffffff;
	size_t		 n, rl, i;
	uint8_t		 t, l;

	memcpy(lease.guest_mac, gmac, 6);
	lease.guest_addr = addr("100.64.1.3");
	lease.host_addr = addr("100.64.1.2");

	/* DISCOVER -> OFFER */
	n = request(f, 1, NULL);
	rl = dhcp_request(&lease, f, n, r, sizeof(r));
	check(rl > 0, "DISCOVER is answered");
	check_headers("OFFER", r, rl, 0);
	check(b[0] == 2 && b[1] == 1 && b[2] == 6 &&
	    memcmp(b + 4, "\x11\x22\x33\x44", 4) == 0 &&
	    memcmp(b + 28, gmac, 6) == 0, "OFFER: BOOTREPLY, xid, chaddr");
	check(memcmp(b + 16, &lease.guest_addr, 4) == 0 &&
	    memcmp(b + 20, &lease.host_addr, 4) == 0,
	    "OFFER: yiaddr 100.64.1.3, siaddr 100.64.1.2");
	t = 2;
	check(opt_is(r, rl, 53, &t, 1), "OFFER: message type OFFER");
	check(opt_is(r, rl, 1, &mask, 4), "OFFER: mask 255.255.255.254");
	check(opt_is(r, rl, 3, &lease.host_addr, 4) &&
	    opt_is(r, rl, 6, &lease.host_addr, 4) &&
	    opt_is(r, rl, 54, &lease.host_addr, 4),
	    "OFFER: router, DNS and server id the host's address");
	check(opt_is(r, rl, 51, &inf, 4), "OFFER: infinite lease");
	check(opt(r, rl, 12, &l) == NULL && b[108] == 0,
	    "OFFER: no hostname, no boot file (not booting from net)");

	/* REQUEST -> ACK (no address asked, or ours), NAK (another) */
	n = request(f, 3, NULL);
	rl = dhcp_request(&lease, f, n, r, sizeof(r));
	t = 5;
	check(rl > 0 && opt_is(r, rl, 53, &t, 1) &&
	    memcmp(b + 16, &lease.guest_addr, 4) == 0,
	    "REQUEST without an address: ACK of 100.64.1.3");
	check_headers("ACK", r, rl, 0);
	n = request(f, 3, "100.64.1.3");
	rl = dhcp_request(&lease, f, n, r, sizeof(r));
	check(rl > 0 && opt_is(r, rl, 53, &t, 1) &&
	    opt_is(r, rl, 51, &inf, 4),
	    "REQUEST for 100.64.1.3: ACK, infinite lease");
	n = request(f, 3, "192.168.1.50");
	rl = dhcp_request(&lease, f, n, r, sizeof(r));
	t = 6;
	check(rl > 0 && opt_is(r, rl, 53, &t, 1) &&
	    memcmp(b + 16, "\0\0\0\0", 4) == 0 && opt(r, rl, 1, &l) == NULL,
	    "REQUEST for another address: NAK, no address, no options");
	check_headers("NAK", r, rl, 1);

	/* the broadcast flag: the reply goes to everyone */
	n = request(f, 1, NULL);
	f[14 + 20 + 8 + 10] = 0x80;
	rl = dhcp_request(&lease, f, n, r, sizeof(r));
	check(rl > 0, "DISCOVER with the broadcast flag is answered");
	check_headers("broadcast OFFER", r, rl, 1);

	/* BOOTP: no message type, no lease, no server id */
	n = request(f, 0, NULL);
	rl = dhcp_request(&lease, f, n, r, sizeof(r));
	check(rl > 0 && opt(r, rl, 53, &l) == NULL &&
	    opt(r, rl, 51, &l) == NULL && opt(r, rl, 54, &l) == NULL &&
	    opt_is(r, rl, 1, &mask, 4) &&
	    memcmp(b + 16, &lease.guest_addr, 4) == 0,
	    "BOOTP request: BOOTP reply with address, mask, router, DNS");
	check_headers("BOOTP", r, rl, 0);

	/* booting from the network: hostname and auto_install */
	lease.pxe_name = "myvm";
	n = request(f, 1, NULL);
	rl = dhcp_request(&lease, f, n, r, sizeof(r));
	check(rl > 0 && opt_is(r, rl, 12, "myvm", 4) &&
	    strcmp((const char *)b + 108, "auto_install") == 0,
	    "PXE: hostname myvm, boot file auto_install");
	lease.pxe_name = NULL;

	/* what is not answered */
	n = request(f, 4, NULL);
	check(dhcp_request(&lease, f, n, r, sizeof(r)) == 0,
	    "DECLINE: no answer");
	for (i = 0; i < sizeof(pokes) / sizeof(pokes[0]); i++) {
		n = request(f, 1, NULL);
		f[pokes[i].off] ^= pokes[i].x;
		if (pokes[i].reip)
			reip(f);
		check(dhcp_request(&lease, f, n, r, sizeof(r)) == 0,
		    "%s: no answer", pokes[i].what);
	}
	n = request(f, 1, NULL);
	memcpy(f, "\x02\0\0\0\0\1", 6);
	check(dhcp_request(&lease, f, n, r, sizeof(r)) == 0,
	    "to another unicast MAC: no answer");
	n = request(f, 1, NULL);
	memcpy(f, hmac, 6);
	check(dhcp_request(&lease, f, n, r, sizeof(r)) > 0,
	    "to the host's MAC: answered");
	n = request(f, 1, NULL);
	put16(f + 14 + 2, n);
	reip(f);
	check(dhcp_request(&lease, f, n, r, sizeof(r)) == 0,
	    "IP length beyond the frame: no answer");
	n = request(f, 1, NULL);
	check(dhcp_request(&lease, f, n - 100, r, sizeof(r)) == 0,
	    "a truncated frame: no answer");
	n = request(f, 1, NULL);
	check(dhcp_request(&lease, f, n, r, 300) == 0,
	    "no room for the reply: no answer");

	local_addrs();
	return (failed);
}
