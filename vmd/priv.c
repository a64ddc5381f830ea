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
 * Interfaces.  The priv process is the one child that keeps root, for
 * the interface work of networking: a tap's alias (upstream's
 * description), bridge membership, VRFs for rdomains, addresses,
 * up/down.  It touches nothing but taps, bridges and the VRFs it makes
 * itself.  The parent's side is here too: it opens the taps (a path, so
 * the parent's job) and asks priv for the rest, in upstream's order.
 *
 * OpenBSD things mapped onto Linux: a switch is a bridge; an rdomain N
 * is the VRF "rdomainN" with routing table 1000 + N (the low table
 * numbers are the kernel's and the administrator's); a bridge port has
 * no routing domain of its own, so the rdomain of a switch goes to its
 * bridge and that of an interface on a switch is not used.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <linux/capability.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <net/if_arp.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmd.h"
#include "dhcp.h"
#include "netlink.h"
#include "proc.h"
#include "log.h"

#define VRF_TABLE_BASE		1000
#define VIRTIO_NET_HDR_LEN	12	/* virtio 1.x: with num_buffers */

static void	priv_dispatch(struct imsgev *, struct imsg *);
static void	priv_closed(struct imsgev *);

static struct nl	*priv_nl;

__dead void
priv_main(struct privsep *ps, int fd)
{
	event_init();
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	if (chdir("/") == -1)
		fatal("%s: chdir", __func__);
	if ((priv_nl = nl_open()) == NULL)
		fatal("%s: netlink", __func__);
	/* netlink is all it does from now on: _vmd with CAP_NET_ADMIN */
	proc_drop_privileges(VMD_USER, NULL, 1ULL << CAP_NET_ADMIN);
	if (sandbox_drop(SANDBOX_PRIV) == -1)
		fatal("%s: sandbox", __func__);
	proc_child_init(ps, PROC_PRIV, fd, priv_dispatch, priv_closed);
	event_dispatch();
	fatalx("%s: event loop ended", __func__);
}

static void
priv_closed(struct imsgev *iev)
{
	(void)iev;
	exit(0);
}

/*
 * Whether ifname is an interface priv may change: one of kinds, where
 * "tap" is a layer-2 tun device (a layer-3 one is refused).
 */
static int
priv_kind_ok(const char *ifname, const char *kinds)
{
	struct nl_link	 l;
	char		 buf[64], *k, *p;
	const char	*kind;

	if (nl_link_get(priv_nl, ifname, &l) == -1) {
		log_warn("%s: %s", __func__, ifname);
		return (0);
	}
	kind = l.kind;
	if (strcmp(kind, "tun") == 0 && l.tun_type == IFF_TAP)
		kind = "tap";
	strlcpy(buf, kinds, sizeof(buf));
	for (p = buf; (k = strsep(&p, ",")) != NULL;)
		if (strcmp(k, kind) == 0)
			return (1);
	log_warnx("%s: %s is a \"%s\" interface, not %s: refused", __func__,
	    ifname, kind, kinds);
	return (0);
}

/* The VRF of rdomain n, made if missing. */
static int
priv_vrf(unsigned int n, char *name, size_t len)
{
	if ((size_t)snprintf(name, len, "rdomain%u", n) >= len) {
		errno = ENAMETOOLONG;
		return (-1);
	}
	if (nl_link_create(priv_nl, name, "vrf", VRF_TABLE_BASE + n) == -1 &&
	    errno != EEXIST)
		return (-1);
	if (!priv_kind_ok(name, "vrf"))
		return (-1);
	return (nl_link_set_up(priv_nl, name, 1));
}

static void
priv_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct vmop_ifreq	 vfr;
	struct sockaddr_in	*sin;
	struct sockaddr_in6	*sin6;
	char			 vrf[IF_NAMESIZE];
	const char		*what = "";
	int			 v, ret = 0;
	uint32_t		 type = imsg_get_type(imsg);

	(void)iev;
	if (type == IMSG_CTL_VERBOSE) {
		if (imsg_get_fixed(imsg, &v, sizeof(v), "verbose") == 0)
			log_setverbose(v);
		return;
	}
	if (imsg_get_fixed(imsg, &vfr, sizeof(vfr), "vmop_ifreq") == -1)
		return;
	vfr.vfr_name[sizeof(vfr.vfr_name) - 1] = '\0';
	vfr.vfr_value[sizeof(vfr.vfr_value) - 1] = '\0';

	switch (type) {
	case IMSG_VMDOP_PRIV_IFCREATE:
		what = "create bridge";
		if (nl_link_create(priv_nl, vfr.vfr_name, "bridge", 0) == -1 &&
		    errno != EEXIST)
			ret = -1;
		else if (!priv_kind_ok(vfr.vfr_name, "bridge"))
			return;
		break;
	case IMSG_VMDOP_PRIV_IFDESCR:
		what = "set alias";
		if (!priv_kind_ok(vfr.vfr_name, "tap,bridge"))
			return;
		ret = nl_link_set_alias(priv_nl, vfr.vfr_name, vfr.vfr_value);
		break;
	case IMSG_VMDOP_PRIV_IFADD:
		what = "add to bridge";
		if (!priv_kind_ok(vfr.vfr_name, "tap") ||
		    !priv_kind_ok(vfr.vfr_value, "bridge"))
			return;
		ret = nl_link_set_master(priv_nl, vfr.vfr_name, vfr.vfr_value);
		break;
	case IMSG_VMDOP_PRIV_IFRDOMAIN:
		what = "set rdomain";
		if (!priv_kind_ok(vfr.vfr_name, "tap,bridge"))
			return;
		if (vfr.vfr_id == 0)
			ret = nl_link_set_master(priv_nl, vfr.vfr_name, NULL);
		else if ((ret = priv_vrf(vfr.vfr_id, vrf, sizeof(vrf))) == 0)
			ret = nl_link_set_master(priv_nl, vfr.vfr_name, vrf);
		break;
	case IMSG_VMDOP_PRIV_IFGROUP:
		/* an alternative name, the one way Linux names a set */
		what = "add group name";
		if (!priv_kind_ok(vfr.vfr_name, "tap,bridge"))
			return;
		ret = nl_link_add_altname(priv_nl, vfr.vfr_name,
		    vfr.vfr_value);
		break;
	case IMSG_VMDOP_PRIV_IFUP:
	case IMSG_VMDOP_PRIV_IFDOWN:
		what = type == IMSG_VMDOP_PRIV_IFUP ? "up" : "down";
		if (!priv_kind_ok(vfr.vfr_name, "tap,bridge"))
			return;
		ret = nl_link_set_up(priv_nl, vfr.vfr_name,
		    type == IMSG_VMDOP_PRIV_IFUP);
		break;
	case IMSG_VMDOP_PRIV_IFADDR:
		what = "add address";
		sin = (struct sockaddr_in *)&vfr.vfr_addr;
		if (!priv_kind_ok(vfr.vfr_name, "tap") ||
		    sin->sin_family != AF_INET || vfr.vfr_prefixlen < 0 ||
		    vfr.vfr_prefixlen > 32)
			return;
		ret = nl_addr_add(priv_nl, vfr.vfr_name, AF_INET,
		    &sin->sin_addr, vfr.vfr_prefixlen);
		break;
	case IMSG_VMDOP_PRIV_IFADDR6:
		what = "add address";
		sin6 = (struct sockaddr_in6 *)&vfr.vfr_addr;
		if (!priv_kind_ok(vfr.vfr_name, "tap") ||
		    sin6->sin6_family != AF_INET6 || vfr.vfr_prefixlen < 0 ||
		    vfr.vfr_prefixlen > 128)
			return;
		ret = nl_addr_add(priv_nl, vfr.vfr_name, AF_INET6,
		    &sin6->sin6_addr, vfr.vfr_prefixlen);
		break;
	default:
		log_warnx("%s: request %u refused", __func__, type);
		return;
	}
	if (ret == -1)
		log_warnx("%s: %s: %s: %s%s%s", __func__, vfr.vfr_name, what,
		    strerror(errno), nl_error(priv_nl)[0] ? ": " : "",
		    nl_error(priv_nl));
}

/*
 * The parent's side.
 */

static void
vm_priv_send(struct privsep *ps, uint32_t type, const char *ifname,
    const char *value, uint32_t id)
{
	struct vmop_ifreq	vfr;

	memset(&vfr, 0, sizeof(vfr));
	strlcpy(vfr.vfr_name, ifname, sizeof(vfr.vfr_name));
	if (value != NULL)
		strlcpy(vfr.vfr_value, value, sizeof(vfr.vfr_value));
	vfr.vfr_id = id;
	proc_compose(ps, PROC_PRIV, type, 0, -1, &vfr, sizeof(vfr));
}

static void
vm_priv_sendaddr(struct privsep *ps, uint32_t type, const char *ifname,
    const void *addr, int prefixlen)
{
	struct vmop_ifreq	 vfr;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&vfr.vfr_addr;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&vfr.vfr_addr;

	memset(&vfr, 0, sizeof(vfr));
	strlcpy(vfr.vfr_name, ifname, sizeof(vfr.vfr_name));
	if (type == IMSG_VMDOP_PRIV_IFADDR) {
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, addr, sizeof(sin->sin_addr));
	} else {
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, addr, sizeof(sin6->sin6_addr));
	}
	vfr.vfr_prefixlen = prefixlen;
	proc_compose(ps, PROC_PRIV, type, 0, -1, &vfr, sizeof(vfr));
}

/* An altname is one interface's: the group, then the tap's name. */
static void
vm_priv_group(struct privsep *ps, const char *tap, const char *group)
{
	char	name[VM_IFDESCR_MAX];

	if (group[0] == '\0')
		return;
	(void)snprintf(name, sizeof(name), "%s-%s", group, tap);
	vm_priv_send(ps, IMSG_VMDOP_PRIV_IFGROUP, tap, name, 0);
}

struct vmd_switch *
switch_getbyname(struct switchlist *sws, const char *name)
{
	struct vmd_switch	*sw;

	TAILQ_FOREACH(sw, sws, sw_entry)
		if (strcmp(sw->sw_name, name) == 0)
			return (sw);
	return (NULL);
}

/*
 * A switch's bridge: made if missing, described, in its rdomain, with
 * its group, up or down.
 */
void
vm_priv_brconfig(struct privsep *ps, struct vmd_switch *sw)
{
	char	descr[VM_IFDESCR_MAX];

	vm_priv_send(ps, IMSG_VMDOP_PRIV_IFCREATE, sw->sw_ifname, NULL, 0);
	if (snprintf(descr, sizeof(descr), "switch%u-%s", sw->sw_id,
	    sw->sw_name) >= (int)sizeof(descr))
		log_debug("%s: alias of %s cut", __func__, sw->sw_ifname);
	vm_priv_send(ps, IMSG_VMDOP_PRIV_IFDESCR, sw->sw_ifname, descr, 0);
	if (sw->sw_flags & VMIFF_RDOMAIN)
		vm_priv_send(ps, IMSG_VMDOP_PRIV_IFRDOMAIN, sw->sw_ifname,
		    NULL, sw->sw_rdomain);
	if (sw->sw_group != NULL)
		vm_priv_send(ps, IMSG_VMDOP_PRIV_IFGROUP, sw->sw_ifname,
		    sw->sw_group, 0);
	vm_priv_send(ps, (sw->sw_flags & VMIFF_UP) ? IMSG_VMDOP_PRIV_IFUP :
	    IMSG_VMDOP_PRIV_IFDOWN, sw->sw_ifname, NULL, 0);
	sw->sw_running = 1;
}

/*
 * A new tap from /dev/net/tun: want ("" for the next free tapN), its
 * name.  Never one that exists (IFF_TUN_EXCL, EBUSY): TUNSETIFF would
 * attach to another program's persistent tap, or add a queue to its
 * multiqueue tap while it runs, and vmd adopts no interface of others.
 */
static int
tap_open(const char *want, char *name, const uint8_t *lladdr)
{
	struct ifreq	ifr;
	int		fd, hdrlen = VIRTIO_NET_HDR_LEN;

	if ((fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC)) == -1)
		return (-1);
	memset(&ifr, 0, sizeof(ifr));
	strlcpy(ifr.ifr_name, want[0] != '\0' ? want : "tap%d",
	    sizeof(ifr.ifr_name));
	/* (IFF_TUN_EXCL is the sign bit of the short ifr_flags) */
	ifr.ifr_flags = (short)(uint16_t)(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR |
	    IFF_MULTI_QUEUE | IFF_TUN_EXCL);
	if (ioctl(fd, TUNSETIFF, &ifr) == -1)
		goto fail;
	if (ioctl(fd, TUNSETVNETHDRSZ, &hdrlen) == -1)
		goto fail;
	if (lladdr != NULL) {
		ifr.ifr_hwaddr.sa_family = ARPHRD_ETHER;
		memcpy(ifr.ifr_hwaddr.sa_data, lladdr, 6);
		if (ioctl(fd, SIOCSIFHWADDR, &ifr) == -1)
			goto fail;
	}
	strlcpy(name, ifr.ifr_name, IF_NAMESIZE);
	return (fd);
 fail:
	close(fd);
	return (-1);
}

/*
 * Open VM vm's taps into fds[] and fill vi[] (what the VM process is
 * told of each), then have priv configure them.  Returns 0, or a start
 * result with the reason logged; nothing stays open then.
 */
int
vm_priv_taps(struct privsep *ps, struct vmd_vm *vm,
    const struct vmd_config *cfg, struct switchlist *sws, int *fds,
    struct vmop_if *vi)
{
	struct vmop_create_params	*vmc = &vm->vm_params;
	const char			*name = vmc->vmc_params.vcp_name;
	struct vmd_switch		*sw[VM_MAX_NICS_PER_VM];
	const struct sockaddr_in	*pfx;
	const struct sockaddr_in6	*pfx6;
	struct in6_addr			 a6;
	uint32_t			 guest, host;
	uint8_t				 hostmac[6], zero[6] = { 0 };
	char				 descr[VM_IFDESCR_MAX];
	unsigned int			 i, j, flags;
	int				 ret;

	for (i = 0; i < vmc->vmc_nnics; i++)
		fds[i] = -1;
	for (i = 0; i < vmc->vmc_nnics; i++) {
		memset(&vi[i], 0, sizeof(vi[i]));
		vi[i].vi_idx = i;
		sw[i] = NULL;
		if (vmc->vmc_ifswitch[i][0] != '\0' &&
		    (sw[i] = switch_getbyname(sws, vmc->vmc_ifswitch[i])) ==
		    NULL) {
			log_warnx("vm \"%s\": switch \"%s\" not found", name,
			    vmc->vmc_ifswitch[i]);
			ret = VMD_SWITCH_MISSING;
			goto fail;
		}
		if (sw[i] != NULL && (sw[i]->sw_flags & VMIFF_LOCKED))
			vmc->vmc_ifflags[i] |= VMIFF_LOCKED;
		if (memcmp(vmc->vmc_macs[i], zero, 6) == 0) {
			/* upstream's: fe:e1:bb:dN:xx:xx, N the NIC + 1 */
			vmc->vmc_macs[i][0] = 0xfe;
			vmc->vmc_macs[i][1] = 0xe1;
			vmc->vmc_macs[i][2] = 0xbb;
			vmc->vmc_macs[i][3] = 0xd0 | ((i + 1) & 0xf);
			arc4random_buf(&vmc->vmc_macs[i][4], 2);
		}
		if (vmc->vmc_ifflags[i] & VMIFF_LOCAL) {
			pfx = (const struct sockaddr_in *)
			    &cfg->cfg_localprefix.ss;
			if (local_addr4(ntohl(pfx->sin_addr.s_addr),
			    cfg->cfg_localprefix.prefixlen, vm->vm_vmid, i, 1,
			    &guest) == -1 ||
			    local_addr4(ntohl(pfx->sin_addr.s_addr),
			    cfg->cfg_localprefix.prefixlen, vm->vm_vmid, i, 0,
			    &host) == -1) {
				log_warnx("vm \"%s\": interface %u: dhcp "
				    "address range exceeded", name, i);
				ret = ERANGE;
				goto fail;
			}
			vi[i].vi_guest4 = htonl(guest);
			vi[i].vi_host4 = htonl(host);
			/* the host side answers as the DHCP server does */
			memcpy(hostmac, vmc->vmc_macs[i], 6);
			hostmac[5]++;
		}
		if ((fds[i] = tap_open(vmc->vmc_ifnames[i],
		    vm->vm_ifs[i], (vmc->vmc_ifflags[i] & VMIFF_LOCAL) ?
		    hostmac : NULL)) == -1) {
			if (errno == EBUSY && vmc->vmc_ifnames[i][0] != '\0')
				log_warnx("vm \"%s\": interface %u: %s exists "
				    "and is not one of vmd's taps", name, i,
				    vmc->vmc_ifnames[i]);
			else
				log_warn("vm \"%s\": interface %u: tap %s",
				    name, i, vmc->vmc_ifnames[i][0] ?
				    vmc->vmc_ifnames[i] : "(next free)");
			ret = VMD_TAP_FAILED;
			goto fail;
		}
		strlcpy(vi[i].vi_ifname, vm->vm_ifs[i],
		    sizeof(vi[i].vi_ifname));
	}

	for (i = 0; i < vmc->vmc_nnics; i++) {
		/* cut as upstream's description is, at 64 bytes */
		if (snprintf(descr, sizeof(descr), "vm%u-if%u-%s",
		    vm->vm_vmid, i, name) >= (int)sizeof(descr))
			log_debug("%s: alias of %s cut", __func__,
			    vm->vm_ifs[i]);
		vm_priv_send(ps, IMSG_VMDOP_PRIV_IFDESCR, vm->vm_ifs[i], descr,
		    0);
		if (sw[i] != NULL) {
			if (!sw[i]->sw_running)
				vm_priv_brconfig(ps, sw[i]);
			vm_priv_send(ps, IMSG_VMDOP_PRIV_IFADD, vm->vm_ifs[i],
			    sw[i]->sw_ifname, 0);
		} else if (vmc->vmc_ifflags[i] & VMIFF_RDOMAIN)
			vm_priv_send(ps, IMSG_VMDOP_PRIV_IFRDOMAIN,
			    vm->vm_ifs[i], NULL, vmc->vmc_ifrdomain[i]);
		vm_priv_group(ps, vm->vm_ifs[i], vmc->vmc_ifgroup[i]);
		if (sw[i] != NULL && sw[i]->sw_group != NULL)
			vm_priv_group(ps, vm->vm_ifs[i], sw[i]->sw_group);
		flags = vmc->vmc_ifflags[i];
		if (sw[i] != NULL && !(sw[i]->sw_flags & VMIFF_UP))
			flags &= ~VMIFF_UP;
		vm_priv_send(ps, (flags & VMIFF_UP) ? IMSG_VMDOP_PRIV_IFUP :
		    IMSG_VMDOP_PRIV_IFDOWN, vm->vm_ifs[i], NULL, 0);
		if (!(vmc->vmc_ifflags[i] & VMIFF_LOCAL))
			continue;
		vm_priv_sendaddr(ps, IMSG_VMDOP_PRIV_IFADDR, vm->vm_ifs[i],
		    &vi[i].vi_host4, 31);
		if (cfg->cfg_flags & VMD_CFG_INET6) {
			/* the prefix, the guest's IPv4 address, ::1 */
			pfx6 = (const struct sockaddr_in6 *)
			    &cfg->cfg_localprefix6.ss;
			a6 = pfx6->sin6_addr;
			for (j = 8; j < 16; j++)
				a6.s6_addr[j] = 0;
			memcpy(&a6.s6_addr[8], &vi[i].vi_guest4, 4);
			a6.s6_addr[15] = 1;
			vm_priv_sendaddr(ps, IMSG_VMDOP_PRIV_IFADDR6,
			    vm->vm_ifs[i], &a6, 96);
		}
	}
	return (0);
 fail:
	for (i = 0; i < vmc->vmc_nnics; i++) {
		if (fds[i] != -1)
			close(fds[i]);
		fds[i] = -1;
		vm->vm_ifs[i][0] = '\0';
	}
	return (ret);
}

/* vmctl reset switches: the bridges again, and the running VMs' ports. */
void
vm_priv_switches(struct privsep *ps, struct switchlist *sws,
    struct vmlist *vms)
{
	struct vmd_switch	*sw;
	struct vmd_vm		*vm;
	unsigned int		 i;

	TAILQ_FOREACH(sw, sws, sw_entry)
		vm_priv_brconfig(ps, sw);
	TAILQ_FOREACH(vm, vms, vm_entry) {
		if (vm->vm_pid == 0)
			continue;
		for (i = 0; i < vm->vm_params.vmc_nnics; i++) {
			if (vm->vm_ifs[i][0] == '\0' ||
			    vm->vm_params.vmc_ifswitch[i][0] == '\0' ||
			    (sw = switch_getbyname(sws,
			    vm->vm_params.vmc_ifswitch[i])) == NULL)
				continue;
			vm_priv_send(ps, IMSG_VMDOP_PRIV_IFADD, vm->vm_ifs[i],
			    sw->sw_ifname, 0);
		}
	}
}
