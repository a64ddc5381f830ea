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
 * The priv process's interface work over rtnetlink (libmnl): what
 * upstream does with SIOCSIFDESCR, SIOCBRDGADD, SIOCAIFADDR and friends
 * on tap(4) and bridge(4), done here on Linux taps, bridges and VRFs.
 *
 * Every request is acknowledged: the call waits for the kernel's answer
 * to its own sequence number, so when it returns 0 the change is made.
 * Functions return 0, or -1 with errno set: EINVAL for a name that is
 * empty or does not fit IF_NAMESIZE (checked before anything is sent),
 * ENODEV for an interface that does not exist, otherwise the kernel's
 * netlink error code (nl_error() then has the kernel's text, if any).
 * Nothing here exits or logs.
 *
 * Interfaces are looked up by name in the network namespace of the
 * process at the time of the call (if_nametoindex); the socket works in
 * the namespace it was opened in.  Keep the two the same.  A struct nl
 * serves one thread at a time.
 *
 * Taps made through /dev/net/tun, and tun devices, report the kind
 * "tun"; struct nl_link's tun_type tells them apart (IFF_TAP, IFF_TUN).
 */

#ifndef NETLINK_H
#define NETLINK_H

#include <sys/types.h>
#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

#define NL_KIND_MAX	32	/* room for any IFLA_INFO_KIND we meet */
#define NL_ALIAS_MAX	256	/* the kernel's IFALIASZ, NUL included */
#define NL_ALTNAME_MAX	128	/* the kernel's ALTIFNAMSIZ, NUL included */
#define NL_ERRMSG_MAX	128

struct nl;

/* What RTM_GETLINK says about one interface. */
struct nl_link {
	unsigned int	 index;
	unsigned int	 flags;			/* IFF_*, e.g. IFF_UP */
	unsigned int	 master;		/* ifindex, 0 if none */
	unsigned int	 mtu;
	int		 tun_type;		/* IFF_TAP, IFF_TUN or 0 */
	int		 has_lladdr;
	uint8_t		 lladdr[6];
	char		 name[IF_NAMESIZE];
	char		 kind[NL_KIND_MAX];	/* "" if none */
	char		 alias[NL_ALIAS_MAX];	/* "" if none */
};

/* An open NETLINK_ROUTE socket; NULL and errno on failure. */
struct nl	*nl_open(void);
void		 nl_close(struct nl *);

/* The kernel's extended-ack text for the last failed request, or "". */
const char	*nl_error(struct nl *);

int	nl_link_get(struct nl *, const char *, struct nl_link *);

/* IFLA_INFO_KIND: "tun" (taps too), "bridge", "vrf", "" (e.g. lo). */
int	nl_link_kind(struct nl *, const char *, char *, size_t);

/* The master's name (bridge or vrf), "" if none. */
int	nl_link_master(struct nl *, const char *, char *, size_t);

/* IFLA_IFALIAS, at most NL_ALIAS_MAX - 1 bytes; "" clears it. */
int	nl_link_set_alias(struct nl *, const char *, const char *);
int	nl_link_set_up(struct nl *, const char *, int);

/* Enslave to a bridge or vrf; master NULL or "" releases. */
int	nl_link_set_master(struct nl *, const char *, const char *);
int	nl_link_set_lladdr(struct nl *, const char *, const uint8_t[6]);

/*
 * Create a "bridge", or a "vrf" on routing table vrf_table (not 0;
 * ignored for bridges).  EEXIST if the name is taken, EOPNOTSUPP if
 * the kernel lacks the kind.  The new interface is down.
 */
int	nl_link_create(struct nl *, const char *, const char *, uint32_t);
int	nl_link_delete(struct nl *, const char *);

/*
 * Give the interface another name (at most NL_ALTNAME_MAX - 1 bytes).
 * Repeating it is harmless; EEXIST only if another interface has it.
 */
int	nl_link_add_altname(struct nl *, const char *, const char *);

/*
 * Add (or replace, so repeating it is harmless) addr/prefixlen; af is
 * AF_INET (addr a struct in_addr) or AF_INET6 (a struct in6_addr).
 * IPv6 addresses are added without duplicate address detection: the
 * host side of a VM's link is ours by construction, and this way it
 * is usable at once rather than tentative.
 */
int	nl_addr_add(struct nl *, const char *, int, const void *, int);

/* Remove one address; EADDRNOTAVAIL if the interface does not have it. */
int	nl_addr_del(struct nl *, const char *, int, const void *, int);

/* Remove every address of the interface, of every family. */
int	nl_addr_flush(struct nl *, const char *);

#endif /* NETLINK_H */
