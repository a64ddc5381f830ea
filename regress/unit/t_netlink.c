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
 * netlink.c against the kernel: a tap made through /dev/net/tun, a
 * bridge and a vrf, all inside a network namespace of our own so that
 * the machine's interfaces are never touched.  Needs root; without it
 * (or without namespaces) the test says it skipped.
 *
 * What the library did is read back by other means than the library:
 * sysfs (mounted afresh in a private mount namespace, since the
 * machine's /sys shows the machine's namespace), getifaddrs(3) and
 * if_nametoindex(3).  A function that returns 0 and does nothing fails.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mount.h>

#include <linux/if_tun.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netlink.h"
#include "tap.h"

#define TAP	"tap0"
#define BR	"br-t"
#define VRF	"vrf-t"

static void	skip(const char *, const char *);
static int	sys_read(const char *, const char *, char *, size_t);
static void	sys_master(const char *, char *, size_t);
static unsigned int sys_flags(const char *);
static int	sys_exists(const char *, const char *);
static int	addr_count(const char *, int, const void *, int);
static int	tap_open(const char *);
static void	ok0(int, const char *);
static void	fails_with(int, int, const char *);
static void	t_tap(struct nl *);
static void	t_alias(struct nl *);
static void	t_lladdr(struct nl *);
static void	t_updown(struct nl *);
static void	t_bridge(struct nl *);
static void	t_vrf(struct nl *);
static void	t_addr(struct nl *);
static void	t_altname(struct nl *);
static int	call(struct nl *, int, const char *, const char **);
static void	t_badnames(struct nl *);
static void	t_delete(struct nl *);
static void	t_noreader(struct nl *);

static void
skip(const char *what, const char *why)
{
	printf("ok - %s # SKIP %s\n", what, why);
}

/* /sys/class/net/ifname/attr without its newline; -1 if unreadable */
static int
sys_read(const char *ifname, const char *attr, char *buf, size_t len)
{
	char	 path[256];
	FILE	*f;

	buf[0] = '\0';
	(void)snprintf(path, sizeof(path), "/sys/class/net/%s/%s", ifname,
	    attr);
	if ((f = fopen(path, "r")) == NULL)
		return (-1);
	if (fgets(buf, len, f) == NULL)
		buf[0] = '\0';
	(void)fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
	return (0);
}

/* The name the master link of sysfs points at, "" if none. */
static void
sys_master(const char *ifname, char *buf, size_t len)
{
	char	 path[256], target[256];
	ssize_t	 n;
	char	*slash;

	buf[0] = '\0';
	(void)snprintf(path, sizeof(path), "/sys/class/net/%s/master",
	    ifname);
	if ((n = readlink(path, target, sizeof(target) - 1)) == -1)
		return;
	target[n] = '\0';
	slash = strrchr(target, '/');
	(void)strlcpy(buf, slash ? slash + 1 : target, len);
}

static unsigned int
sys_flags(const char *ifname)
{
	char	 buf[32];

	if (sys_read(ifname, "flags", buf, sizeof(buf)) == -1)
		return (0);
	return ((unsigned int)strtoul(buf, NULL, 16));
}

static int
sys_exists(const char *ifname, const char *attr)
{
	char	 path[256];

	(void)snprintf(path, sizeof(path), "/sys/class/net/%s/%s", ifname,
	    attr);
	return (access(path, F_OK) == 0);
}

/*
 * How many addresses getifaddrs(3) shows on ifname: of family af (0:
 * IPv4 and IPv6), and when addr is set, only addr/prefixlen.
 */
static int
addr_count(const char *ifname, int af, const void *addr, int prefixlen)
{
	struct ifaddrs		*ifap, *ifa;
	const uint8_t		*a, *m;
	size_t			 alen, i;
	int			 n = 0, plen;

	if (getifaddrs(&ifap) == -1)
		return (-1);
	for (ifa = ifap; ifa != NULL; ifa = ifa->ifa_next) {
		if (strcmp(ifa->ifa_name, ifname) != 0 ||
		    ifa->ifa_addr == NULL)
			continue;
		if (ifa->ifa_addr->sa_family == AF_INET) {
			a = (const uint8_t *)&((struct sockaddr_in *)
			    ifa->ifa_addr)->sin_addr;
			m = (const uint8_t *)&((struct sockaddr_in *)
			    ifa->ifa_netmask)->sin_addr;
			alen = 4;
		} else if (ifa->ifa_addr->sa_family == AF_INET6) {
			a = (const uint8_t *)&((struct sockaddr_in6 *)
			    ifa->ifa_addr)->sin6_addr;
			m = (const uint8_t *)&((struct sockaddr_in6 *)
			    ifa->ifa_netmask)->sin6_addr;
			alen = 16;
		} else
			continue;
		if (af != 0 && ifa->ifa_addr->sa_family != af)
			continue;
		if (addr != NULL) {
			for (plen = 0, i = 0; i < alen; i++)
				plen += __builtin_popcount(m[i]);
			if (memcmp(a, addr, alen) != 0 || plen != prefixlen)
				continue;
		}
		n++;
	}
	freeifaddrs(ifap);
	return (n);
}

/* A tap as vmd's parent makes them; the descriptor keeps it alive. */
static int
tap_open(const char *name)
{
	struct ifreq	 ifr;
	int		 fd;

	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) == -1)
		return (-1);
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
	(void)snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, TUNSETIFF, &ifr) == -1) {
		(void)close(fd);
		return (-1);
	}
	return (fd);
}

/*
 * Checks of one call's result.  The call is an argument, so it is made
 * before errno is read (within one check()'s arguments it need not be).
 */
static void
ok0(int ret, const char *what)
{
	if (ret == 0)
		check(1, "%s", what);
	else
		check(0, "%s: %s", what, strerror(errno));
}

static void
fails_with(int ret, int e, const char *what)
{
	int	 saved = errno;

	check(ret == -1 && saved == e, "%s: %s (got %s)", what, strerror(e),
	    ret == -1 ? strerror(saved) : "success");
}

static void
t_tap(struct nl *nl)
{
	struct nl_link	 link;
	char		 kind[NL_KIND_MAX] = "x";
	int		 ret;

	check(nl_link_kind(nl, TAP, kind, sizeof(kind)) == 0 &&
	    strcmp(kind, "tun") == 0,
	    "kind of a /dev/net/tun tap is \"tun\" (got \"%s\")", kind);
	check(sys_exists(TAP, "tun_flags"), "sysfs agrees: tun_flags exists");
	memset(&link, 0, sizeof(link));
	ret = nl_link_get(nl, TAP, &link);
	check(ret == 0 && link.tun_type == IFF_TAP &&
	    strcmp(link.name, TAP) == 0 &&
	    link.index == if_nametoindex(TAP) && link.mtu == 1500,
	    "nl_link_get: name, index, mtu 1500, tun_type IFF_TAP (%d)",
	    link.tun_type);
	strlcpy(kind, "x", sizeof(kind));
	check(nl_link_kind(nl, "lo", kind, sizeof(kind)) == 0 &&
	    kind[0] == '\0', "kind of lo is \"\" (got \"%s\")", kind);
	fails_with(nl_link_kind(nl, TAP, kind, 3), ERANGE,
	    "kind into too small a buffer");
}

static void
t_alias(struct nl *nl)
{
	struct nl_link	 link;
	char		 buf[NL_ALIAS_MAX + 8], longest[NL_ALIAS_MAX];

	ok0(nl_link_set_alias(nl, TAP, "vm1-if0-test"), "set alias");
	sys_read(TAP, "ifalias", buf, sizeof(buf));
	check(strcmp(buf, "vm1-if0-test") == 0,
	    "sysfs ifalias is \"vm1-if0-test\" (got \"%s\")", buf);
	check(nl_link_get(nl, TAP, &link) == 0 &&
	    strcmp(link.alias, "vm1-if0-test") == 0,
	    "nl_link_get alias agrees (got \"%s\")", link.alias);

	/* the longest the kernel takes, 255 bytes */
	memset(longest, 'a', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	ok0(nl_link_set_alias(nl, TAP, longest), "set a 255-byte alias");
	sys_read(TAP, "ifalias", buf, sizeof(buf));
	check(strcmp(buf, longest) == 0, "sysfs shows all 255 bytes (%zu)",
	    strlen(buf));

	memset(buf, 'a', NL_ALIAS_MAX);
	buf[NL_ALIAS_MAX] = '\0';
	fails_with(nl_link_set_alias(nl, TAP, buf), EINVAL,
	    "a 256-byte alias");

	ok0(nl_link_set_alias(nl, TAP, ""), "clear alias");
	sys_read(TAP, "ifalias", buf, sizeof(buf));
	check(buf[0] == '\0', "sysfs ifalias is empty (got \"%s\")", buf);
	check(nl_link_get(nl, TAP, &link) == 0 && link.alias[0] == '\0',
	    "nl_link_get alias is empty");

	ok0(nl_link_set_alias(nl, TAP, "vm1-if0-test"), "set alias again");
}

static void
t_lladdr(struct nl *nl)
{
	static const uint8_t	 mac[6] = { 0xfe, 0xe1, 0xbb, 0xd1, 0, 1 };
	static const uint8_t	 mcast[6] = { 0x01, 0x00, 0x5e, 0, 0, 1 };
	struct nl_link		 link;
	char			 buf[32];

	ok0(nl_link_set_lladdr(nl, TAP, mac), "set lladdr");
	sys_read(TAP, "address", buf, sizeof(buf));
	check(strcmp(buf, "fe:e1:bb:d1:00:01") == 0,
	    "sysfs address is fe:e1:bb:d1:00:01 (got %s)", buf);
	check(nl_link_get(nl, TAP, &link) == 0 && link.has_lladdr &&
	    memcmp(link.lladdr, mac, 6) == 0, "nl_link_get lladdr agrees");
	/* the kernel's own refusal comes back as errno */
	fails_with(nl_link_set_lladdr(nl, TAP, mcast), EADDRNOTAVAIL,
	    "multicast lladdr");
}

static void
t_updown(struct nl *nl)
{
	struct nl_link	 link;
	char		 oper[32], carrier[32];

	check(!(sys_flags(TAP) & IFF_UP), "tap starts down");
	ok0(nl_link_set_up(nl, TAP, 1), "set up");
	check(sys_flags(TAP) & IFF_UP, "sysfs flags has IFF_UP (%#x)",
	    sys_flags(TAP));
	check(nl_link_get(nl, TAP, &link) == 0 && (link.flags & IFF_UP),
	    "nl_link_get flags has IFF_UP");
	sys_read(TAP, "operstate", oper, sizeof(oper));
	sys_read(TAP, "carrier", carrier, sizeof(carrier));
	printf("# tap up with its descriptor open: operstate %s, carrier %s,"
	    " IFF_RUNNING %s\n", oper, carrier,
	    (link.flags & IFF_RUNNING) ? "set" : "clear");

	ok0(nl_link_set_up(nl, TAP, 0), "set down");
	check(!(sys_flags(TAP) & IFF_UP), "sysfs flags lost IFF_UP (%#x)",
	    sys_flags(TAP));
	check(nl_link_get(nl, TAP, &link) == 0 && !(link.flags & IFF_UP),
	    "nl_link_get flags lost IFF_UP");
}

static void
t_bridge(struct nl *nl)
{
	struct nl_link	 link;
	char		 buf[IF_NAMESIZE] = "x", kind[NL_KIND_MAX] = "x";
	int		 ret;

	ok0(nl_link_create(nl, BR, "bridge", 0), "create bridge");
	check(sys_exists(BR, "bridge"), "sysfs has " BR "/bridge");
	check(nl_link_kind(nl, BR, kind, sizeof(kind)) == 0 &&
	    strcmp(kind, "bridge") == 0, "kind of the bridge is \"bridge\" "
	    "(got \"%s\")", kind);
	memset(&link, 0xff, sizeof(link));	/* a stub leaves it so */
	check(nl_link_get(nl, BR, &link) == 0 && link.tun_type == 0,
	    "a bridge has no tun_type");
	check(!(sys_flags(BR) & IFF_UP), "the new bridge is down");
	fails_with(nl_link_create(nl, BR, "bridge", 0), EEXIST,
	    "create it again");
	fails_with(nl_link_create(nl, TAP, "bridge", 0), EEXIST,
	    "create one named as the tap");
	fails_with(nl_link_create(nl, "veth-t", "veth", 0), EINVAL,
	    "create a kind other than bridge or vrf");
	fails_with(nl_link_create(nl, "x-t", NULL, 0), EINVAL,
	    "create without a kind");
	check(if_nametoindex("veth-t") == 0, "and nothing was made");

	check(nl_link_master(nl, TAP, buf, sizeof(buf)) == 0 &&
	    buf[0] == '\0', "tap has no master yet (got \"%s\")", buf);
	ok0(nl_link_set_master(nl, TAP, BR), "add tap to bridge");
	sys_master(TAP, buf, sizeof(buf));
	check(strcmp(buf, BR) == 0, "sysfs master is " BR " (got \"%s\")",
	    buf);
	check(sys_exists(BR, "brif/" TAP), "sysfs " BR "/brif/" TAP
	    " exists");
	strlcpy(buf, "x", sizeof(buf));
	check(nl_link_master(nl, TAP, buf, sizeof(buf)) == 0 &&
	    strcmp(buf, BR) == 0, "nl_link_master is " BR " (got \"%s\")",
	    buf);
	ok0(nl_link_set_master(nl, TAP, BR), "add it again");
	fails_with(nl_link_master(nl, TAP, buf, 2), ERANGE,
	    "master into too small a buffer");

	ok0(nl_link_set_master(nl, TAP, NULL), "remove tap from bridge");
	sys_master(TAP, buf, sizeof(buf));
	check(buf[0] == '\0', "sysfs master gone (got \"%s\")", buf);
	check(!sys_exists(BR, "brif/" TAP), "sysfs " BR "/brif/" TAP
	    " gone");
	strlcpy(buf, "x", sizeof(buf));
	check(nl_link_master(nl, TAP, buf, sizeof(buf)) == 0 &&
	    buf[0] == '\0', "nl_link_master is \"\" (got \"%s\")", buf);

	check(nl_link_set_master(nl, TAP, BR) == 0 &&
	    nl_link_set_master(nl, TAP, "") == 0, "master \"\" releases too");
	sys_master(TAP, buf, sizeof(buf));
	check(buf[0] == '\0', "sysfs master gone again (got \"%s\")", buf);

	/* only bridges and vrfs take members: the kernel says so */
	ret = nl_link_set_master(nl, BR, TAP);
	check(ret == -1 && errno == EOPNOTSUPP,
	    "a tap as master: the kernel's EOPNOTSUPP (%s)",
	    ret == -1 ? strerror(errno) : "success");

	/* leave the tap in the bridge for t_delete */
	check(nl_link_set_master(nl, TAP, BR) == 0, "tap back in bridge");
}

static void
t_vrf(struct nl *nl)
{
	char	 buf[IF_NAMESIZE], kind[NL_KIND_MAX] = "x";
	int	 ret;

	fails_with(nl_link_create(nl, VRF, "vrf", 0), EINVAL,
	    "vrf without a table");
	ret = nl_link_create(nl, VRF, "vrf", 10);
	if (ret == -1 && errno == EOPNOTSUPP) {
		check(nl_error(nl)[0] != '\0',
		    "the kernel has no vrf: its reason is kept (\"%s\")",
		    nl_error(nl));
		check(if_nametoindex(VRF) == 0, "and nothing was made");
		skip("vrf create, kind, enslave bridge",
		    "kernel without CONFIG_NET_VRF");
		return;
	}
	ok0(ret, "create vrf table 10");
	check(if_nametoindex(VRF) != 0, "the vrf exists");
	check(nl_error(nl)[0] == '\0', "no error text after a success");
	check(nl_link_kind(nl, VRF, kind, sizeof(kind)) == 0 &&
	    strcmp(kind, "vrf") == 0, "kind of the vrf is \"vrf\" "
	    "(got \"%s\")", kind);
	fails_with(nl_link_create(nl, VRF, "vrf", 10), EEXIST,
	    "create it again");
	ok0(nl_link_set_master(nl, BR, VRF), "put bridge in vrf");
	sys_master(BR, buf, sizeof(buf));
	check(strcmp(buf, VRF) == 0, "sysfs master of " BR " is " VRF
	    " (got \"%s\")", buf);
	check(nl_link_master(nl, BR, buf, sizeof(buf)) == 0 &&
	    strcmp(buf, VRF) == 0, "nl_link_master agrees (got \"%s\")",
	    buf);
}

static void
t_addr(struct nl *nl)
{
	struct in_addr	 a4, other4;
	struct in6_addr	 a6;
	int		 n6;

	(void)inet_pton(AF_INET, "100.64.1.2", &a4);
	(void)inet_pton(AF_INET, "100.64.1.4", &other4);
	(void)inet_pton(AF_INET6, "fd00:1234:5678:9abc:6440:103:0:1", &a6);

	check(nl_link_set_up(nl, TAP, 1) == 0, "tap up for addresses");
	ok0(nl_addr_flush(nl, TAP), "flush what the kernel added");
	check(addr_count(TAP, 0, NULL, 0) == 0, "no address to begin with");

	ok0(nl_addr_add(nl, TAP, AF_INET, &a4, 31), "add 100.64.1.2/31");
	check(addr_count(TAP, AF_INET, &a4, 31) == 1,
	    "getifaddrs shows 100.64.1.2/31");
	ok0(nl_addr_add(nl, TAP, AF_INET, &a4, 31), "add it again");
	check(addr_count(TAP, AF_INET, NULL, 0) == 1, "still one IPv4 address");

	ok0(nl_addr_add(nl, TAP, AF_INET6, &a6, 96),
	    "add fd00:1234:5678:9abc:6440:103:0:1/96");
	check(addr_count(TAP, AF_INET6, &a6, 96) == 1,
	    "getifaddrs shows it");
	n6 = addr_count(TAP, AF_INET6, NULL, 0);
	ok0(nl_addr_add(nl, TAP, AF_INET6, &a6, 96), "add it again");
	check(addr_count(TAP, AF_INET6, &a6, 96) == 1 &&
	    addr_count(TAP, AF_INET6, NULL, 0) == n6,
	    "still once, as many IPv6 addresses as before (%d)", n6);

	check(nl_addr_add(nl, TAP, AF_INET, &other4, 31) == 0 &&
	    addr_count(TAP, AF_INET, &other4, 31) == 1,
	    "a second IPv4 address");
	check(nl_addr_del(nl, TAP, AF_INET, &other4, 31) == 0 &&
	    addr_count(TAP, AF_INET, &other4, 31) == 0 &&
	    addr_count(TAP, AF_INET, &a4, 31) == 1,
	    "nl_addr_del removes it and only it");
	fails_with(nl_addr_del(nl, TAP, AF_INET, &other4, 31), EADDRNOTAVAIL,
	    "remove it again");

	fails_with(nl_addr_add(nl, TAP, AF_INET, &a4, 33), EINVAL,
	    "IPv4 prefix 33");
	fails_with(nl_addr_add(nl, TAP, AF_INET6, &a6, 129), EINVAL,
	    "IPv6 prefix 129");
	fails_with(nl_addr_add(nl, TAP, AF_UNIX, &a4, 8), EAFNOSUPPORT,
	    "family AF_UNIX");

	check(addr_count(TAP, AF_INET6, NULL, 0) >= 1,
	    "IPv6 addresses before the flush: %d (link-local included)",
	    addr_count(TAP, AF_INET6, NULL, 0));
	ok0(nl_addr_flush(nl, TAP), "flush");
	check(addr_count(TAP, 0, NULL, 0) == 0,
	    "getifaddrs shows no address on the tap");
	ok0(nl_addr_flush(nl, TAP), "flush with nothing left");
	check(nl_addr_add(nl, BR, AF_INET, &a4, 31) == 0 &&
	    nl_addr_flush(nl, TAP) == 0 &&
	    addr_count(BR, AF_INET, &a4, 31) == 1,
	    "flush leaves other interfaces' addresses alone");
	check(nl_addr_flush(nl, BR) == 0 && addr_count(BR, 0, NULL, 0) == 0,
	    "flush the bridge too");
	check(nl_link_set_up(nl, TAP, 0) == 0, "tap down again");
}

static void
t_altname(struct nl *nl)
{
	const char	*longname = "switch1-uplink-with-a-long-name";

	ok0(nl_link_add_altname(nl, BR, "switch1-up"),
	    "altname on the bridge");
	check(if_nametoindex("switch1-up") != 0 &&
	    if_nametoindex("switch1-up") == if_nametoindex(BR),
	    "the altname finds the bridge");
	ok0(nl_link_add_altname(nl, BR, "switch1-up"),
	    "add it again: harmless");
	ok0(nl_link_add_altname(nl, BR, BR),
	    "its own name as altname: harmless");
	fails_with(nl_link_add_altname(nl, TAP, "switch1-up"), EEXIST,
	    "the bridge's altname on the tap");
	fails_with(nl_link_add_altname(nl, BR, TAP), EEXIST,
	    "the tap's name as the bridge's altname");
	ok0(nl_link_add_altname(nl, BR, longname), "a 31-byte altname");
	ok0(nl_link_add_altname(nl, BR, longname), "add it again: harmless");
	fails_with(nl_link_add_altname(nl, BR, ""), EINVAL,
	    "empty altname");
}

/* Each function that takes a name, by number; -1 past the last. */
static int
call(struct nl *nl, int fn, const char *name, const char **fname)
{
	static const uint8_t	 mac[6] = { 0xfe, 0xe1, 0xbb, 0xd1, 0, 2 };
	struct in_addr		 a = { htonl(0x64400102) };
	struct nl_link		 link;
	char			 buf[64];

	switch (fn) {
	case 0:
		*fname = "nl_link_get";
		return (nl_link_get(nl, name, &link));
	case 1:
		*fname = "nl_link_kind";
		return (nl_link_kind(nl, name, buf, sizeof(buf)));
	case 2:
		*fname = "nl_link_master";
		return (nl_link_master(nl, name, buf, sizeof(buf)));
	case 3:
		*fname = "nl_link_set_alias";
		return (nl_link_set_alias(nl, name, "x"));
	case 4:
		*fname = "nl_link_set_up";
		return (nl_link_set_up(nl, name, 1));
	case 5:
		*fname = "nl_link_set_master";
		return (nl_link_set_master(nl, name, NULL));
	case 6:
		*fname = "nl_link_set_master (as master)";
		return (nl_link_set_master(nl, TAP, name));
	case 7:
		*fname = "nl_link_set_lladdr";
		return (nl_link_set_lladdr(nl, name, mac));
	case 8:
		*fname = "nl_link_delete";
		return (nl_link_delete(nl, name));
	case 9:
		*fname = "nl_link_add_altname";
		return (nl_link_add_altname(nl, name, "alt-x"));
	case 10:
		*fname = "nl_addr_add";
		return (nl_addr_add(nl, name, AF_INET, &a, 31));
	case 11:
		*fname = "nl_addr_del";
		return (nl_addr_del(nl, name, AF_INET, &a, 31));
	case 12:
		*fname = "nl_addr_flush";
		return (nl_addr_flush(nl, name));
	default:
		return (-2);
	}
}

static void
t_badnames(struct nl *nl)
{
	static const struct {
		const char	*name;
		int		 error;
		const char	*what;
	} bad[] = {
		{ "", EINVAL, "empty name" },
		{ NULL, EINVAL, "NULL name" },
		{ "abcdefghijklmnop", EINVAL, "16-byte name" },
		{ "nosuch0", ENODEV, "no such interface" },
	};
	const char	*fname = "";
	char		 buf[NL_ALIAS_MAX];
	size_t		 i;
	int		 fn, ret;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		for (fn = 0;; fn++) {
			errno = 0;
			if ((ret = call(nl, fn, bad[i].name, &fname)) == -2)
				break;
			/* NULL or "" master means "none": no error there */
			if (fn == 6 && (bad[i].name == NULL ||
			    bad[i].name[0] == '\0'))
				continue;
			check(ret == -1 && errno == bad[i].error,
			    "%s, %s: %s (got %s)", fname, bad[i].what,
			    strerror(bad[i].error), strerror(errno));
		}
	}
	fails_with(nl_link_create(nl, "", "bridge", 0), EINVAL,
	    "nl_link_create, empty name");
	fails_with(nl_link_create(nl, "abcdefghijklmnop", "bridge", 0),
	    EINVAL, "nl_link_create, 16-byte name");
	check(nl_link_create(nl, "abcdefghijklmno", "bridge", 0) == 0 &&
	    if_nametoindex("abcdefghijklmno") != 0 &&
	    nl_link_delete(nl, "abcdefghijklmno") == 0 &&
	    if_nametoindex("abcdefghijklmno") == 0,
	    "a 15-byte name is fine: created and deleted");
	check(sys_read(TAP, "ifalias", buf, sizeof(buf)) == 0 &&
	    strcmp(buf, "vm1-if0-test") == 0,
	    "bad names left the tap's alias alone (\"%s\")", buf);
}

static void
t_delete(struct nl *nl)
{
	char	 buf[IF_NAMESIZE];

	ok0(nl_link_delete(nl, BR), "delete bridge");
	check(if_nametoindex(BR) == 0 && !sys_exists(BR, "flags"),
	    "the bridge is gone");
	check(if_nametoindex("switch1-up") == 0, "and its altname");
	sys_master(TAP, buf, sizeof(buf));
	check(buf[0] == '\0', "the tap lost its master (got \"%s\")", buf);
	fails_with(nl_link_delete(nl, BR), ENODEV, "delete it again");
	if (if_nametoindex(VRF) != 0) {
		ok0(nl_link_delete(nl, VRF), "delete vrf");
		check(if_nametoindex(VRF) == 0, "the vrf is gone");
	} else
		skip("delete vrf", "no vrf was made");
}

/* A persistent tap whose descriptor is closed, as a VM that is gone. */
static void
t_noreader(struct nl *nl)
{
	struct nl_link	 link;
	char		 carrier[8], oper[32];
	int		 fd;

	if ((fd = tap_open("tap1")) == -1 || ioctl(fd, TUNSETPERSIST, 1) ==
	    -1) {
		check(0, "persistent tap1: %s", strerror(errno));
		return;
	}
	(void)close(fd);
	check(if_nametoindex("tap1") != 0, "tap1 outlives its descriptor");
	ok0(nl_link_set_up(nl, "tap1", 1), "set tap1 up");
	sys_read("tap1", "carrier", carrier, sizeof(carrier));
	sys_read("tap1", "operstate", oper, sizeof(oper));
	check(nl_link_get(nl, "tap1", &link) == 0 && (link.flags & IFF_UP) &&
	    !(link.flags & IFF_RUNNING) && strcmp(carrier, "0") == 0,
	    "no reader: up, but no carrier and not running (operstate %s)",
	    oper);
	ok0(nl_link_delete(nl, "tap1"), "delete tap1");
	check(if_nametoindex("tap1") == 0, "tap1 is gone");
}

int
main(void)
{
	struct nl	*nl;
	char		 why[128];
	int		 fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (geteuid() != 0) {
		skip("netlink", "needs root");
		return (0);
	}
	/* our own network, and our own /sys to see it */
	if (unshare(CLONE_NEWNET | CLONE_NEWNS) == -1) {
		(void)snprintf(why, sizeof(why), "unshare: %s",
		    strerror(errno));
		skip("netlink", why);
		return (0);
	}
	if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount("sysfs", "/sys", "sysfs", 0, NULL) == -1) {
		(void)snprintf(why, sizeof(why), "mount sysfs: %s",
		    strerror(errno));
		skip("netlink", why);
		return (0);
	}
	check(if_nametoindex("lo") != 0 && sys_exists("lo", "flags") &&
	    if_nametoindex(TAP) == 0, "a fresh namespace with only lo");

	if ((nl = nl_open()) == NULL) {
		check(0, "nl_open: %s", strerror(errno));
		return (failed);
	}
	check(nl_error(nl)[0] == '\0', "nl_open: no error text yet");
	if ((fd = tap_open(TAP)) == -1) {
		check(0, "open tap " TAP ": %s", strerror(errno));
		nl_close(nl);
		return (failed);
	}

	t_tap(nl);
	t_alias(nl);
	t_lladdr(nl);
	t_updown(nl);
	t_bridge(nl);
	t_vrf(nl);
	t_addr(nl);
	t_altname(nl);
	t_badnames(nl);
	t_delete(nl);
	t_noreader(nl);

	(void)close(fd);
	check(if_nametoindex(TAP) == 0,
	    "closing the descriptor removes the tap");
	nl_close(nl);
	return (failed);
}
