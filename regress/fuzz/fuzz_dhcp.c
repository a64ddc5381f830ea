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
 * libFuzzer target: the local interface's DHCP responder on frames a
 * hostile guest sends.  The input is the frame; its first byte, if odd,
 * turns on the boot-from-network answers.  Nothing may be read outside
 * the frame or written outside the reply; a reply must fit, and carry a
 * correct IP header checksum.
 */

#include <sys/types.h>

#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dhcp.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dhcp_lease	 l;
	uint8_t			*frame, reply[DHCP_REPLY_MAX];
	uint32_t		 sum = 0;
	size_t			 n, i;

	memset(&l, 0, sizeof(l));
	memcpy(l.guest_mac, "\xfe\xe1\xbb\xd1\x12\x34", 6);
	l.guest_addr = htonl(0x64400103);
	l.host_addr = htonl(0x64400102);
	if (size > 0 && (data[0] & 1))
		l.pxe_name = "fuzz";
	/* an exact copy, so that ASan sees reads past the frame */
	if ((frame = malloc(size ? size : 1)) == NULL)
		return (0);
	memcpy(frame, data, size);
	n = dhcp_request(&l, frame, size, reply, sizeof(reply));
	free(frame);
	if (n == 0)
		return (0);
	if (n > sizeof(reply) || n < 14 + 20 + 8 + 300)
		abort();
	for (i = 14; i < 14 + 20; i += 2)
		sum += (uint32_t)reply[i] << 8 | reply[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	if (sum != 0xffff)
		abort();
	return (0);
}
