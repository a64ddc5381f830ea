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
 * rtnetlink for the priv process (see netlink.h).  libmnl builds and
 * walks the messages; the exchange is ours: send one request with
 * NLM_F_ACK, then read until the kernel's NLMSG_ERROR (the ack, or the
 * error) or, for a dump, NLMSG_DONE of that sequence number.  Answers
 * to other sequence numbers are left behind by an earlier request that
 * failed half way and are skipped.
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <netinet/in.h>

#include <errno.h>
#include <libmnl/libmnl.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>

#include "netlink.h"

/* the largest request carries one alias of NL_ALIAS_MAX bytes */
#define NL_SENDBUF	1024
/* the kernel fills dump datagrams up to 32k when the reader has room */
#define NL_RECVBUF	32768
/* rounds of dump-and-delete before nl_addr_flush gives up */
#define NL_FLUSH_ROUNDS	4

struct nl {
	struct mnl_socket	*sock;
	uint32_t		 portid;
	uint32_t		 seq;
	char			 errmsg[NL_ERRMSG_MAX];
	char			 buf[NL_RECVBUF];
};

typedef int (*nl_cb)(const struct nlmsghdr *, void *);

struct nl_attrs {
	const struct nlattr	**tb;
	unsigned int		  max;
};

/* nl_link_get's search: the answer for index, if one came */
struct nl_link_search {
	unsigned int	 index;
	int		 found;
	struct nl_link	*link;
};

struct nl_addr {
	int		 af;
	int		 prefixlen;
	int		 has_local;
	int		 has_address;
	uint8_t		 local[16];
	uint8_t		 address[16];
};

struct nl_addrs {
	unsigned int	 index;
	struct nl_addr	*v;
	size_t		 n;
	size_t		 cap;
};

static int	 nl_name_ok(const char *);
static int	 nl_ifindex(const char *, unsigned int *);
static struct nlmsghdr *nl_msg(struct nl *, char *, uint16_t, uint16_t);
static struct ifinfomsg *nl_ifinfo(struct nlmsghdr *, unsigned int);
static int	 nl_talk(struct nl *, const struct nlmsghdr *, nl_cb, void *);
static int	 nl_ack(struct nl *, const struct nlmsghdr *);
static int	 nl_done(const struct nlmsghdr *);
static int	 nl_extack_attr(const struct nlattr *, void *);
static int	 nl_attr_collect(const struct nlattr *, void *);
static int	 nl_parse(const struct nlmsghdr *, unsigned int,
		    const struct nlattr **, unsigned int);
static int	 nl_parse_nested(const struct nlattr *,
		    const struct nlattr **, unsigned int);
static void	 nl_str(const struct nlattr *, char *, size_t);
static int	 nl_link_parse(const struct nlmsghdr *, void *);
static void	 nl_linkinfo_parse(const struct nlattr *, struct nl_link *);
static int	 nl_link_index_by_name(struct nl *, const char *,
		    unsigned int *);
static int	 nl_link_index_parse(const struct nlmsghdr *, void *);
static int	 nl_addr_len(int, int);
static int	 nl_addr_msg(struct nl *, uint16_t, uint16_t, unsigned int,
		    const struct nl_addr *);
static int	 nl_addr_parse(const struct nlmsghdr *, void *);
static int	 nl_addr_dump(struct nl *, struct nl_addrs *);

struct nl *
nl_open(void)
{
	struct nl	*nl;
	int		 one = 1, saved;

	if ((nl = calloc(1, sizeof(*nl))) == NULL)
		return (NULL);
	if ((nl->sock = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC)) ==
	    NULL)
		goto fail;
	/*
	 * Best effort, older kernels lack them: short acks (no copy of the
	 * request), the kernel's reason with an error, and GET requests
	 * checked strictly so that a dump filters by interface itself.
	 */
	(void)mnl_socket_setsockopt(nl->sock, NETLINK_CAP_ACK, &one,
	    sizeof(one));
	(void)mnl_socket_setsockopt(nl->sock, NETLINK_EXT_ACK, &one,
	    sizeof(one));
	(void)mnl_socket_setsockopt(nl->sock, NETLINK_GET_STRICT_CHK, &one,
	    sizeof(one));
	if (mnl_socket_bind(nl->sock, 0, MNL_SOCKET_AUTOPID) == -1)
		goto fail;
	nl->portid = mnl_socket_get_portid(nl->sock);
	return (nl);

 fail:
	saved = errno;
	if (nl->sock != NULL)
		mnl_socket_close(nl->sock);
	free(nl);
	errno = saved;
	return (NULL);
}

void
nl_close(struct nl *nl)
{
	if (nl == NULL)
		return;
	mnl_socket_close(nl->sock);
	free(nl);
}

const char *
nl_error(struct nl *nl)
{
	return (nl->errmsg);
}

int
nl_link_get(struct nl *nl, const char *ifname, struct nl_link *link)
{
	char			 buf[NL_SENDBUF];
	struct nlmsghdr		*nlh;
	struct nl_link_search	 s;
	unsigned int		 index;

	if (nl_ifindex(ifname, &index) == -1)
		return (-1);
	nlh = nl_msg(nl, buf, RTM_GETLINK, 0);
	(void)nl_ifinfo(nlh, index);
	/* counters are of no use here and make the answer large */
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);

	s.index = index;
	s.found = 0;
	s.link = link;
	if (nl_talk(nl, nlh, nl_link_parse, &s) == -1)
		return (-1);
	if (!s.found) {
		/* gone between the lookup and the request */
		errno = ENODEV;
		return (-1);
	}
	return (0);
}

int
nl_link_kind(struct nl *nl, const char *ifname, char *kind, size_t len)
{
	struct nl_link	 link;

	if (nl_link_get(nl, ifname, &link) == -1)
		return (-1);
	if (strlcpy(kind, link.kind, len) >= len) {
		errno = ERANGE;
		return (-1);
	}
	return (0);
}

int
nl_link_master(struct nl *nl, const char *ifname, char *master, size_t len)
{
	struct nl_link	 link;
	char		 name[IF_NAMESIZE] = "";

	if (nl_link_get(nl, ifname, &link) == -1)
		return (-1);
	if (link.master != 0 && if_indextoname(link.master, name) == NULL) {
		errno = ENODEV;
		return (-1);
	}
	if (strlcpy(master, name, len) >= len) {
		errno = ERANGE;
		return (-1);
	}
	return (0);
}

int
nl_link_set_alias(struct nl *nl, const char *ifname, const char *alias)
{
	char		 buf[NL_SENDBUF];
	struct nlmsghdr	*nlh;
	unsigned int	 index;
	size_t		 len;

	if (alias == NULL ||
	    (len = strnlen(alias, NL_ALIAS_MAX)) >= NL_ALIAS_MAX) {
		errno = EINVAL;
		return (-1);
	}
	if (nl_ifindex(ifname, &index) == -1)
		return (-1);
	nlh = nl_msg(nl, buf, RTM_SETLINK, 0);
	(void)nl_ifinfo(nlh, index);
	/* without the NUL, as the kernel counts it; empty clears the alias */
	mnl_attr_put(nlh, IFLA_IFALIAS, len, alias);
	return (nl_talk(nl, nlh, NULL, NULL));
}

int
nl_link_set_up(struct nl *nl, const char *ifname, int up)
{
	char			 buf[NL_SENDBUF];
	struct nlmsghdr		*nlh;
	struct ifinfomsg	*ifi;
	unsigned int		 index;

	if (nl_ifindex(ifname, &index) == -1)
		return (-1);
	nlh = nl_msg(nl, buf, RTM_SETLINK, 0);
	ifi = nl_ifinfo(nlh, index);
	ifi->ifi_change = IFF_UP;
	ifi->ifi_flags = up ? IFF_UP : 0;
	return (nl_talk(nl, nlh, NULL, NULL));
}

int
nl_link_set_master(struct nl *nl, const char *ifname, const char *master)
{
	char		 buf[NL_SENDBUF];
	struct nlmsghdr	*nlh;
	unsigned int	 index, mindex = 0;

	if (nl_ifindex(ifname, &index) == -1)
		return (-1);
	if (master != NULL && master[0] != '\0' &&
	    nl_ifindex(master, &mindex) == -1)
		return (-1);
	nlh = nl_msg(nl, buf, RTM_SETLINK, 0);
	(void)nl_ifinfo(nlh, index);
	mnl_attr_put_u32(nlh, IFLA_MASTER, mindex);
	return (nl_talk(nl, nlh, NULL, NULL));
}

int
nl_link_set_lladdr(struct nl *nl, const char *ifname, const uint8_t mac[6])
{
	char		 buf[NL_SENDBUF];
	struct nlmsghdr	*nlh;
	unsigned int	 index;

	if (nl_ifindex(ifname, &index) == -1)
		return (-1);
	nlh = nl_msg(nl, buf, RTM_SETLINK, 0);
	(void)nl_ifinfo(nlh, index);
	mnl_attr_put(nlh, IFLA_ADDRESS, 6, mac);
	return (nl_talk(nl, nlh, NULL, NULL));
}

int
nl_link_create(struct nl *nl, const char *ifname, const char *kind,
    uint32_t vrf_table)
{
	char		 buf[NL_SENDBUF];
	struct nlmsghdr	*nlh;
	struct nlattr	*info, *data;
	int		 vrf;

	if (nl_name_ok(ifname) == -1)
		return (-1);
	/* priv makes switches and their domains, nothing else */
	if (kind == NULL ||
	    (strcmp(kind, "bridge") != 0 && strcmp(kind, "vrf") != 0)) {
		errno = EINVAL;
		return (-1);
	}
	vrf = strcmp(kind, "vrf") == 0;
	if (vrf && vrf_table == 0) {
		errno = EINVAL;
		return (-1);
	}
	nlh = nl_msg(nl, buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
	(void)nl_ifinfo(nlh, 0);
	mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, kind);
	if (vrf) {
		data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
		mnl_attr_put_u32(nlh, IFLA_VRF_TABLE, vrf_table);
		mnl_attr_nest_end(nlh, data);
	}
	mnl_attr_nest_end(nlh, info);
	return (nl_talk(nl, nlh, NULL, NULL));
}

int
nl_link_delete(struct nl *nl, const char *ifname)
{
	char		 buf[NL_SENDBUF];
	struct nlmsghdr	*nlh;
	unsigned int	 index;

	if (nl_ifindex(ifname, &index) == -1)
		return (-1);
	nlh = nl_msg(nl, buf, RTM_DELLINK, 0);
	(void)nl_ifinfo(nlh, index);
	return (nl_talk(nl, nlh, NULL, NULL));
}

int
nl_link_add_altname(struct nl *nl, const char *ifname, const char *altname)
{
	char		 buf[NL_SENDBUF];
	struct nlmsghdr	*nlh;
	struct nlattr	*list;
	unsigned int	 index, owner;
	size_t		 len;

	if (altname == NULL || (len = strnlen(altname, NL_ALTNAME_MAX)) == 0 ||
	    len >= NL_ALTNAME_MAX) {
		errno = EINVAL;
		return (-1);
	}
	if (nl_ifindex(ifname, &index) == -1)
		return (-1);
	nlh = nl_msg(nl, buf, RTM_NEWLINKPROP, NLM_F_CREATE | NLM_F_EXCL);
	(void)nl_ifinfo(nlh, index);
	list = mnl_attr_nest_start(nlh, IFLA_PROP_LIST);
	mnl_attr_put_strz(nlh, IFLA_ALT_IFNAME, altname);
	mnl_attr_nest_end(nlh, list);
	if (nl_talk(nl, nlh, NULL, NULL) == 0)
		return (0);
	if (errno != EEXIST)
		return (-1);

	/* taken: harmless if it is already a name of this interface */
	if (nl_link_index_by_name(nl, altname, &owner) == 0 && owner == index)
		return (0);
	errno = EEXIST;
	return (-1);
}

/* One address of ifname, for RTM_NEWADDR or RTM_DELADDR. */
static int
nl_addr_req(struct nl *nl, uint16_t type, uint16_t flags, const char *ifname,
    int af, const void *addr, int prefixlen)
{
	struct nl_addr	 a;
	unsigned int	 index;
	int		 alen;

	if ((alen = nl_addr_len(af, prefixlen)) == -1 || addr == NULL) {
		if (addr == NULL)
			errno = EINVAL;
		return (-1);
	}
	if (nl_ifindex(ifname, &index) == -1)
		return (-1);
	memset(&a, 0, sizeof(a));
	a.af = af;
	a.prefixlen = prefixlen;
	memcpy(a.address, addr, alen);
	a.has_address = 1;
	/* IPv4 wants the local address; IFA_ADDRESS alone would be a peer */
	if (af == AF_INET) {
		memcpy(a.local, addr, alen);
		a.has_local = 1;
	}
	return (nl_addr_msg(nl, type, flags, index, &a));
}

int
nl_addr_add(struct nl *nl, const char *ifname, int af, const void *addr,
    int prefixlen)
{
	return (nl_addr_req(nl, RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE,
	    ifname, af, addr, prefixlen));
}

int
nl_addr_del(struct nl *nl, const char *ifname, int af, const void *addr,
    int prefixlen)
{
	return (nl_addr_req(nl, RTM_DELADDR, 0, ifname, af, addr,
	    prefixlen));
}

int
nl_addr_flush(struct nl *nl, const char *ifname)
{
	struct nl_addrs	 list;
	size_t		 i;
	int		 round, saved;

	memset(&list, 0, sizeof(list));
	if (nl_ifindex(ifname, &list.index) == -1)
		return (-1);
	/*
	 * Dump, delete what the dump showed, and dump again until nothing
	 * is left: a dump may miss addresses that changed meanwhile.
	 */
	for (round = 0;; round++) {
		list.n = 0;
		if (nl_addr_dump(nl, &list) == -1)
			goto fail;
		if (list.n == 0)
			break;
		if (round == NL_FLUSH_ROUNDS) {
			errno = EAGAIN;
			goto fail;
		}
		for (i = 0; i < list.n; i++) {
			/* an IPv4 primary takes its secondaries with it */
			if (nl_addr_msg(nl, RTM_DELADDR, 0, list.index,
			    &list.v[i]) == -1 && errno != EADDRNOTAVAIL)
				goto fail;
		}
	}
	free(list.v);
	return (0);

 fail:
	saved = errno;
	free(list.v);
	errno = saved;
	return (-1);
}

/* An interface name the kernel can take: EINVAL otherwise. */
static int
nl_name_ok(const char *name)
{
	if (name == NULL || name[0] == '\0' ||
	    strnlen(name, IF_NAMESIZE) >= IF_NAMESIZE) {
		errno = EINVAL;
		return (-1);
	}
	return (0);
}

static int
nl_ifindex(const char *name, unsigned int *index)
{
	if (nl_name_ok(name) == -1)
		return (-1);
	errno = 0;
	if ((*index = if_nametoindex(name)) == 0) {
		/* keep a real failure (no socket), else the name is unknown */
		if (errno == 0)
			errno = ENODEV;
		return (-1);
	}
	return (0);
}

/* Start a request in buf (NL_SENDBUF bytes); every one is acked. */
static struct nlmsghdr *
nl_msg(struct nl *nl, char *buf, uint16_t type, uint16_t flags)
{
	struct nlmsghdr	*nlh;

	/* libmnl leaves attribute padding as it finds it */
	memset(buf, 0, NL_SENDBUF);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	/* 0 means "not a reply to anything": never use it */
	if (++nl->seq == 0)
		nl->seq = 1;
	nlh->nlmsg_seq = nl->seq;
	return (nlh);
}

static struct ifinfomsg *
nl_ifinfo(struct nlmsghdr *nlh, unsigned int index)
{
	struct ifinfomsg	*ifi;

	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = index;
	return (ifi);
}

/*
 * Send one request and read the answers to it, passing each message
 * that is neither ack nor end to cb.  A failing cb does not stop the
 * reading: the rest of the answer must leave the socket.
 */
static int
nl_talk(struct nl *nl, const struct nlmsghdr *req, nl_cb cb, void *arg)
{
	const struct nlmsghdr	*nlh;
	uint32_t		 seq = req->nlmsg_seq;
	ssize_t			 n;
	int			 len, ret = -1, cberr = 0;

	nl->errmsg[0] = '\0';
	if (mnl_socket_sendto(nl->sock, req, req->nlmsg_len) == -1)
		return (-1);
	for (;;) {
		n = mnl_socket_recvfrom(nl->sock, nl->buf, sizeof(nl->buf));
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		len = (int)n;
		for (nlh = (struct nlmsghdr *)nl->buf; mnl_nlmsg_ok(nlh, len);
		    nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_seq != seq ||
			    nlh->nlmsg_pid != nl->portid)
				continue;
			switch (nlh->nlmsg_type) {
			case NLMSG_ERROR:
				ret = nl_ack(nl, nlh);
				goto done;
			case NLMSG_DONE:
				ret = nl_done(nlh);
				goto done;
			case NLMSG_NOOP:
				break;
			default:
				if (cb != NULL && cberr == 0 &&
				    cb(nlh, arg) == -1)
					cberr = errno ? errno : EBADMSG;
				break;
			}
		}
	}
 done:
	if (ret == 0 && cberr != 0) {
		errno = cberr;
		return (-1);
	}
	return (ret);
}

/* The kernel's NLMSG_ERROR: 0 for an ack, or its error as errno. */
static int
nl_ack(struct nl *nl, const struct nlmsghdr *nlh)
{
	const struct nlmsgerr	*err;
	size_t			 off;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*err)) {
		errno = EBADMSG;
		return (-1);
	}
	err = mnl_nlmsg_get_payload(nlh);
	if (err->error == 0)
		return (0);
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		/* the reason follows the error and any copy of the request */
		off = sizeof(*err);
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
		    err->msg.nlmsg_len > sizeof(struct nlmsghdr))
			off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
		off = MNL_ALIGN(off);
		if (off < mnl_nlmsg_get_payload_len(nlh))
			(void)mnl_attr_parse(nlh, off, nl_extack_attr, nl);
	}
	errno = err->error < 0 ? -err->error : EPROTO;
	return (-1);
}

/* The end of a dump; it carries the dump's error, if any. */
static int
nl_done(const struct nlmsghdr *nlh)
{
	int	 error;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(error))
		return (0);
	memcpy(&error, mnl_nlmsg_get_payload(nlh), sizeof(error));
	if (error < 0) {
		errno = -error;
		return (-1);
	}
	return (0);
}

static int
nl_extack_attr(const struct nlattr *attr, void *arg)
{
	struct nl	*nl = arg;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		(void)strlcpy(nl->errmsg, mnl_attr_get_str(attr),
		    sizeof(nl->errmsg));
	return (MNL_CB_OK);
}

/* Index attributes by type, ignoring those newer than our headers. */
static int
nl_attr_collect(const struct nlattr *attr, void *arg)
{
	struct nl_attrs	*a = arg;
	uint16_t	 type = mnl_attr_get_type(attr);

	if (type <= a->max)
		a->tb[type] = attr;
	return (MNL_CB_OK);
}

static int
nl_parse(const struct nlmsghdr *nlh, unsigned int off,
    const struct nlattr **tb, unsigned int max)
{
	struct nl_attrs	 a = { tb, max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (mnl_attr_parse(nlh, off, nl_attr_collect, &a) != MNL_CB_OK) {
		errno = EBADMSG;
		return (-1);
	}
	return (0);
}

static int
nl_parse_nested(const struct nlattr *nest, const struct nlattr **tb,
    unsigned int max)
{
	struct nl_attrs	 a = { tb, max };

	memset(tb, 0, (max + 1) * sizeof(*tb));
	if (mnl_attr_parse_nested(nest, nl_attr_collect, &a) != MNL_CB_OK) {
		errno = EBADMSG;
		return (-1);
	}
	return (0);
}

/* Copy a string attribute, "" if absent or not NUL-terminated. */
static void
nl_str(const struct nlattr *attr, char *dst, size_t len)
{
	dst[0] = '\0';
	if (attr != NULL && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		(void)strlcpy(dst, mnl_attr_get_str(attr), len);
}

static int
nl_link_parse(const struct nlmsghdr *nlh, void *arg)
{
	struct nl_link_search	*s = arg;
	struct nl_link		*link = s->link;
	const struct ifinfomsg	*ifi;
	const struct nlattr	*tb[IFLA_MAX + 1];

	if (nlh->nlmsg_type != RTM_NEWLINK ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return (0);
	ifi = mnl_nlmsg_get_payload(nlh);
	if ((unsigned int)ifi->ifi_index != s->index || s->found)
		return (0);
	if (nl_parse(nlh, sizeof(*ifi), tb, IFLA_MAX) == -1)
		return (-1);

	s->found = 1;
	memset(link, 0, sizeof(*link));
	link->index = s->index;
	link->flags = ifi->ifi_flags;
	nl_str(tb[IFLA_IFNAME], link->name, sizeof(link->name));
	nl_str(tb[IFLA_IFALIAS], link->alias, sizeof(link->alias));
	if (tb[IFLA_MASTER] != NULL &&
	    mnl_attr_validate(tb[IFLA_MASTER], MNL_TYPE_U32) == 0)
		link->master = mnl_attr_get_u32(tb[IFLA_MASTER]);
	if (tb[IFLA_MTU] != NULL &&
	    mnl_attr_validate(tb[IFLA_MTU], MNL_TYPE_U32) == 0)
		link->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
	if (tb[IFLA_ADDRESS] != NULL &&
	    mnl_attr_get_payload_len(tb[IFLA_ADDRESS]) == 6) {
		memcpy(link->lladdr, mnl_attr_get_payload(tb[IFLA_ADDRESS]), 6);
		link->has_lladdr = 1;
	}
	if (tb[IFLA_LINKINFO] != NULL)
		nl_linkinfo_parse(tb[IFLA_LINKINFO], link);
	return (0);
}

static void
nl_linkinfo_parse(const struct nlattr *linkinfo, struct nl_link *link)
{
	const struct nlattr	*info[IFLA_INFO_MAX + 1];
	const struct nlattr	*tun[IFLA_TUN_MAX + 1];

	if (nl_parse_nested(linkinfo, info, IFLA_INFO_MAX) == -1)
		return;
	nl_str(info[IFLA_INFO_KIND], link->kind, sizeof(link->kind));
	/* taps and tuns share the kind "tun"; the type tells them apart */
	if (strcmp(link->kind, "tun") != 0 || info[IFLA_INFO_DATA] == NULL ||
	    nl_parse_nested(info[IFLA_INFO_DATA], tun, IFLA_TUN_MAX) == -1)
		return;
	if (tun[IFLA_TUN_TYPE] != NULL &&
	    mnl_attr_validate(tun[IFLA_TUN_TYPE], MNL_TYPE_U8) == 0)
		link->tun_type = mnl_attr_get_u8(tun[IFLA_TUN_TYPE]);
}

/*
 * The index of the interface that has this name or altname: the kernel
 * looks up both, and altnames may be longer than if_nametoindex takes.
 */
static int
nl_link_index_by_name(struct nl *nl, const char *name, unsigned int *index)
{
	char		 buf[NL_SENDBUF];
	struct nlmsghdr	*nlh;

	nlh = nl_msg(nl, buf, RTM_GETLINK, 0);
	(void)nl_ifinfo(nlh, 0);
	mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);
	mnl_attr_put_strz(nlh, IFLA_ALT_IFNAME, name);
	*index = 0;
	if (nl_talk(nl, nlh, nl_link_index_parse, index) == -1)
		return (-1);
	if (*index == 0) {
		errno = ENODEV;
		return (-1);
	}
	return (0);
}

static int
nl_link_index_parse(const struct nlmsghdr *nlh, void *arg)
{
	unsigned int		*index = arg;
	const struct ifinfomsg	*ifi;

	if (nlh->nlmsg_type == RTM_NEWLINK &&
	    mnl_nlmsg_get_payload_len(nlh) >= sizeof(*ifi)) {
		ifi = mnl_nlmsg_get_payload(nlh);
		*index = ifi->ifi_index;
	}
	return (0);
}

/* The address length of af, if prefixlen fits it; -1 and errno if not. */
static int
nl_addr_len(int af, int prefixlen)
{
	int	 len;

	switch (af) {
	case AF_INET:
		len = 4;
		break;
	case AF_INET6:
		len = 16;
		break;
	default:
		errno = EAFNOSUPPORT;
		return (-1);
	}
	if (prefixlen < 0 || prefixlen > len * 8) {
		errno = EINVAL;
		return (-1);
	}
	return (len);
}

static int
nl_addr_msg(struct nl *nl, uint16_t type, uint16_t flags, unsigned int index,
    const struct nl_addr *a)
{
	char			 buf[NL_SENDBUF];
	struct nlmsghdr		*nlh;
	struct ifaddrmsg	*ifa;
	size_t			 alen = a->af == AF_INET ? 4 : 16;

	nlh = nl_msg(nl, buf, type, flags);
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = a->af;
	ifa->ifa_prefixlen = a->prefixlen;
	ifa->ifa_scope = RT_SCOPE_UNIVERSE;
	ifa->ifa_index = index;
	if (type == RTM_NEWADDR && a->af == AF_INET6)
		ifa->ifa_flags = IFA_F_NODAD;	/* see netlink.h */
	if (a->has_local)
		mnl_attr_put(nlh, IFA_LOCAL, alen, a->local);
	if (a->has_address)
		mnl_attr_put(nlh, IFA_ADDRESS, alen, a->address);
	return (nl_talk(nl, nlh, NULL, NULL));
}

static int
nl_addr_parse(const struct nlmsghdr *nlh, void *arg)
{
	struct nl_addrs		*list = arg;
	const struct ifaddrmsg	*ifa;
	const struct nlattr	*tb[IFA_MAX + 1];
	struct nl_addr		*a, *v;
	size_t			 alen, cap;

	if (nlh->nlmsg_type != RTM_NEWADDR ||
	    mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifa))
		return (0);
	ifa = mnl_nlmsg_get_payload(nlh);
	/* older kernels ignore the index in a dump request */
	if (ifa->ifa_index != list->index ||
	    (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
		return (0);
	if (nl_parse(nlh, sizeof(*ifa), tb, IFA_MAX) == -1)
		return (-1);

	if (list->n == list->cap) {
		cap = list->cap ? list->cap * 2 : 8;
		if ((v = reallocarray(list->v, cap, sizeof(*v))) == NULL)
			return (-1);
		list->v = v;
		list->cap = cap;
	}
	a = &list->v[list->n];
	memset(a, 0, sizeof(*a));
	a->af = ifa->ifa_family;
	a->prefixlen = ifa->ifa_prefixlen;
	alen = a->af == AF_INET ? 4 : 16;
	if (tb[IFA_LOCAL] != NULL &&
	    mnl_attr_get_payload_len(tb[IFA_LOCAL]) == alen) {
		memcpy(a->local, mnl_attr_get_payload(tb[IFA_LOCAL]), alen);
		a->has_local = 1;
	}
	if (tb[IFA_ADDRESS] != NULL &&
	    mnl_attr_get_payload_len(tb[IFA_ADDRESS]) == alen) {
		memcpy(a->address, mnl_attr_get_payload(tb[IFA_ADDRESS]),
		    alen);
		a->has_address = 1;
	}
	if (a->has_local || a->has_address)
		list->n++;
	return (0);
}

/* The addresses of list->index, of every family, into list. */
static int
nl_addr_dump(struct nl *nl, struct nl_addrs *list)
{
	char			 buf[NL_SENDBUF];
	struct nlmsghdr		*nlh;
	struct ifaddrmsg	*ifa;

	/* a dump ends with NLMSG_DONE, not an ack */
	nlh = nl_msg(nl, buf, RTM_GETADDR, NLM_F_DUMP);
	nlh->nlmsg_flags &= ~NLM_F_ACK;
	ifa = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifa));
	ifa->ifa_family = AF_UNSPEC;
	ifa->ifa_index = list->index;
	return (nl_talk(nl, nlh, nl_addr_parse, list));
}
