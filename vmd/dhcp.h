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
 * The DHCP/BOOTP responder of a local interface (-L): it looks at each
 * frame the guest sends and answers the requests for its one address
 * itself, as upstream's: no state, an infinite lease, the host side of
 * the /31 as router, DNS server and server identifier.
 */

#ifndef DHCP_H
#define DHCP_H

#include <sys/types.h>
#include <stdint.h>

#define DHCP_REPLY_MAX		576	/* a reply frame, at most */

struct dhcp_lease {
	uint8_t		 guest_mac[6];
	uint32_t	 guest_addr;	/* network byte order */
	uint32_t	 host_addr;	/* network byte order */
	/*
	 * When the VM boots from the network: its name as option 12, and
	 * "auto_install" as the boot file.  NULL otherwise.
	 */
	const char	*pxe_name;
};

/*
 * The reply to the Ethernet frame the guest sent, into reply (room for
 * cap bytes, DHCP_REPLY_MAX is enough): its length, or 0 if the frame is
 * not a request this responder answers (the frame then goes on as any
 * other).
 */
size_t	dhcp_request(const struct dhcp_lease *, const uint8_t *, size_t,
	    uint8_t *, size_t);

/*
 * Upstream's addressing of local interfaces: under prefix/len (host
 * byte order), VM vmid's local interface idx (0-based) has the /31 at
 * offset (vmid << 8) | ((idx + 1) * 2), the host side even, the guest
 * side (guest 1) odd.  -1 if that is outside the prefix or idx is past
 * the 127 a VM can have: "dhcp address range exceeded".
 */
int	local_addr4(uint32_t, int, uint32_t, unsigned int, int, uint32_t *);

#endif /* DHCP_H */
