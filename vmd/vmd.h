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
 * vmd: types shared by vmd's processes and vmctl, the control protocol,
 * and the limits of upstream's vmd.h.
 */

#ifndef VMD_H
#define VMD_H

#include <sys/types.h>
#include <sys/queue.h>
#include <net/if.h>
#include <netinet/in.h>
#include <limits.h>
#include <stdint.h>

#include "compat.h"

#define VMD_USER		"_vmd"
#define VMD_CONF		"/etc/vm.conf"
#define SOCKET_NAME		"/var/run/vmd.sock"
#define VMD_EMPTYDIR		"/var/empty"
#define VM_DEFAULT_BIOS		"/etc/firmware/vmm-bios"
#define VM_DEFAULT_KERNEL	VM_DEFAULT_BIOS
#define VM_DEFAULT_CMDLINE	"console=ttyS0"
#define VM_DEFAULT_MEMORY	(512ULL * 1024 * 1024)
#define VMD_PROTOCOL_VERSION	1	/* carried in the peerid of requests */
#define VMD_IMSG_MAXSIZE	IMSG_MAXSIZE_LIMIT

#define VMM_MAX_NAME_LEN	64
#define VMM_MAX_VCPUS		64
#define VMM_MAX_VCPUS_PER_VM	64
#define VMM_MAX_VM_MEM_SIZE	(128ULL * 1024 * 1024 * 1024)
#define VM_TTYNAME_MAX		16
#define VM_MAX_DISKS_PER_VM	4
#define VM_MAX_NICS_PER_VM	4
#define VM_IFDESCR_MAX		64	/* a tap's alias, as ifconfig's description */
#define VM_MAX_BASE_PER_DISK	4
#define VM_CMDLINE_MAX		2048
#define VM_START_RATE_SEC	6	/* restarts faster than this count */
#define VM_START_RATE_LIMIT	3	/* this many fast restarts fail */
#define VMD_STOP_TIMEOUT	30	/* graceful stop, then forced (s) */

/* vmd's own result codes, beside errno values */
#define VMD_BIOS_MISSING	1001
#define VMD_DISK_MISSING	1002
#define VMD_DISK_INVALID	1003
#define VMD_VM_STOP_INVALID	1004
#define VMD_CDROM_MISSING	1005
#define VMD_CDROM_INVALID	1006
#define VMD_PARENT_INVALID	1007
#define VMD_DISK_LOCKED		1009	/* a writable image in use */
#define VMD_DISK_CORRUPT	1010	/* bad header, chain or format */
#define VMD_SWITCH_MISSING	1011	/* -n or interface names no switch */
#define VMD_TAP_FAILED		1012	/* no tap could be made */
#define VMD_CPU_INVALID		1013	/* more vCPUs than KVM allows */
#define VMD_RECV_FORMAT		1014	/* not our stream, or its version */
#define VMD_RECV_TRUNCATED	1015	/* the stream ended early */
#define VMD_RECV_CORRUPT	1016	/* checksum, a section refused */
#define VMD_RECV_CPU		1017	/* this host cannot give that CPU */

/* exit status of a VM process, read by vmm */
#define VM_EXIT_POWEROFF	0	/* guest powered off (S5) or was stopped */
#define VM_EXIT_ERROR		1	/* setup failed */
#define VM_EXIT_CRASH		5	/* KVM internal error, failed entry */
#define VM_EXIT_REBOOT		11	/* EAGAIN, as upstream: restart it */

/* reset targets (IMSG_CTL_RESET) */
#define CONFIG_RELOAD		0x00
#define CONFIG_VMS		0x01
#define CONFIG_SWITCHES		0x02
#define CONFIG_ALL		0xff

enum imsg_type {
	IMSG_NONE,
	IMSG_CTL_OK,
	IMSG_CTL_FAIL,
	IMSG_CTL_VERBOSE,
	IMSG_CTL_END,
	IMSG_CTL_NOTIFY,
	IMSG_CTL_RESET,
	IMSG_CTL_PROCFD,
	IMSG_PROC_MAX
};

enum imsg_type_vmd {
	IMSG_VMDOP_START_VM_REQUEST = IMSG_PROC_MAX,
	IMSG_VMDOP_START_VM_CDROM,
	IMSG_VMDOP_START_VM_DISK,
	IMSG_VMDOP_START_VM_IF,
	IMSG_VMDOP_START_VM_END,
	IMSG_VMDOP_START_VM_RESPONSE,
	IMSG_VMDOP_PAUSE_VM,
	IMSG_VMDOP_PAUSE_VM_RESPONSE,
	IMSG_VMDOP_UNPAUSE_VM,
	IMSG_VMDOP_UNPAUSE_VM_RESPONSE,
	IMSG_VMDOP_WAIT_VM_REQUEST,
	IMSG_VMDOP_TERMINATE_VM_REQUEST,
	IMSG_VMDOP_TERMINATE_VM_RESPONSE,
	IMSG_VMDOP_TERMINATE_VM_EVENT,
	IMSG_VMDOP_GET_INFO_VM_REQUEST,
	IMSG_VMDOP_GET_INFO_VM_DATA,
	IMSG_VMDOP_GET_INFO_VM_END_DATA,
	IMSG_VMDOP_LOAD,
	IMSG_VMDOP_RECEIVE_VMM_FD,
	IMSG_VMDOP_RECEIVE_PSP_FD,
	IMSG_VMDOP_RELOAD,
	IMSG_VMDOP_PRIV_IFDESCR,
	IMSG_VMDOP_PRIV_IFADD,
	IMSG_VMDOP_PRIV_IFEXISTS,
	IMSG_VMDOP_PRIV_IFUP,
	IMSG_VMDOP_PRIV_IFDOWN,
	IMSG_VMDOP_PRIV_IFGROUP,
	IMSG_VMDOP_PRIV_IFADDR,
	IMSG_VMDOP_PRIV_IFADDR6,
	IMSG_VMDOP_PRIV_IFRDOMAIN,
	IMSG_VMDOP_PRIV_GET_ADDR,
	IMSG_VMDOP_PRIV_GET_ADDR_RESPONSE,
	IMSG_VMDOP_VM_SHUTDOWN,
	IMSG_VMDOP_VM_REBOOT,
	IMSG_VMDOP_CONFIG,
	IMSG_VMDOP_DONE,
	IMSG_DEVOP_HOSTMAC,
	IMSG_DEVOP_MSG,
	IMSG_DEVOP_VIONET_MSG,
	/* ours, after upstream's */
	IMSG_VMDOP_START_VM_INITRD,	/* fd: the initrd */
	IMSG_VMDOP_SEND_VM_REQUEST,	/* vmop_id; fd: where to write */
	IMSG_VMDOP_RECEIVE_VM_REQUEST,	/* vmop_id, prefix; fd: the rest */
	IMSG_VMDOP_VM_INFO,		/* VM process -> vmm: vm_info_update */
	IMSG_VMDOP_PRIV_IFCREATE,	/* a switch's bridge, if missing */
	IMSG_VMDOP_SEND_VM_RESPONSE,	/* vmop_result */
	IMSG_VMDOP_RECEIVE_VM_STREAM,	/* fd: the rest; the stream's prefix */
	IMSG_VMDOP_MAX
};

/* vmop_id.vid_flags */
#define VMOP_FORCE		0x01
#define VMOP_WAIT		0x02

/* vmop_create_params.vmc_flags */
#define VMOP_CREATE_CPU		0x01
#define VMOP_CREATE_KERNEL	0x02
#define VMOP_CREATE_MEMORY	0x04
#define VMOP_CREATE_NETWORK	0x08
#define VMOP_CREATE_DISK	0x10
#define VMOP_CREATE_CDROM	0x20
#define VMOP_CREATE_INSTANCE	0x40
#define VMOP_CREATE_INITRD	0x80	/* ours */
#define VMOP_CREATE_CMDLINE	0x100	/* ours */

/* boot devices */
#define VMBOOTDEV_AUTO		0
#define VMBOOTDEV_DISK		1
#define VMBOOTDEV_CDROM		2
#define VMBOOTDEV_NET		3

/* per-interface flags */
#define VMIFF_UP		0x01
#define VMIFF_LOCKED		0x02
#define VMIFF_LOCAL		0x04
#define VMIFF_RDOMAIN		0x08
#define VMIFF_OPTMASK		(VMIFF_LOCKED|VMIFF_LOCAL|VMIFF_RDOMAIN)

/* disk formats, and how the image is read and written */
#define VMDF_RAW		0x01
#define VMDF_QCOW2		0x02
#define VMDF_FORMAT(t)		((t) & 0xff)
#define VMDF_DIRECT		0x100	/* O_DIRECT: not through the page cache */

/* vm_state bits (vmd_vm.vm_state) */
#define VM_STATE_DISABLED	0x01
#define VM_STATE_PAUSED		0x02
#define VM_STATE_RUNNING	0x04
#define VM_STATE_SHUTDOWN	0x08	/* stopping */
#define VM_STATE_RECEIVED	0x10
#define VM_STATE_WAITING	0x20	/* queued by staggered start */
#define VM_STATE_CRASHED	0x40	/* ours: last run ended in an error */

/* the VM as the hypervisor sees it */
struct vm_create_params {
	size_t			vcp_memory_size;	/* bytes */
	size_t			vcp_ncpus;
	char			vcp_name[VMM_MAX_NAME_LEN];
	uint32_t		vcp_id;			/* vmd id */
};

struct vmop_owner {
	uid_t			uid;
	int64_t			gid;		/* -1: none */
};

struct vmop_create_params {
	struct vm_create_params	vmc_params;
	unsigned int		vmc_flags;
	unsigned int		vmc_checkaccess;
	unsigned int		vmc_bootdevice;

	unsigned int		vmc_ndisks;
	char			vmc_disks[VM_MAX_DISKS_PER_VM][PATH_MAX];
	unsigned int		vmc_disktypes[VM_MAX_DISKS_PER_VM];
	char			vmc_cdrom[PATH_MAX];
	char			vmc_kernel[PATH_MAX];	/* boot image path */
	char			vmc_initrd[PATH_MAX];	/* ours */
	char			vmc_cmdline[VM_CMDLINE_MAX]; /* ours */

	unsigned int		vmc_nnics;
	unsigned int		vmc_ifflags[VM_MAX_NICS_PER_VM];
	char			vmc_ifnames[VM_MAX_NICS_PER_VM][IF_NAMESIZE];
	char			vmc_ifswitch[VM_MAX_NICS_PER_VM][VMM_MAX_NAME_LEN];
	char			vmc_ifgroup[VM_MAX_NICS_PER_VM][IF_NAMESIZE];
	unsigned int		vmc_ifrdomain[VM_MAX_NICS_PER_VM];
	uint8_t			vmc_macs[VM_MAX_NICS_PER_VM][6];

	struct vmop_owner	vmc_owner;

	/* instance template */
	char			vmc_instance[VMM_MAX_NAME_LEN];
	struct vmop_owner	vmc_insowner;
	unsigned int		vmc_insflags;
};

struct vmop_id {
	uint32_t		vid_id;		/* 0: look up by name */
	char			vid_name[VMM_MAX_NAME_LEN];
	uid_t			vid_uid;	/* set by control */
	unsigned int		vid_flags;
};

/*
 * IMSG_VMDOP_START_VM_DISK: one descriptor per message, a disk's top
 * image (depth 0) then its backing files in order.  IMSG_VMDOP_START_VM_CDROM
 * carries the ISO's descriptor and no payload.
 */
struct vmop_disk {
	uint32_t		vd_idx;
	uint32_t		vd_depth;
};

/*
 * IMSG_VMDOP_START_VM_IF: a NIC's tap descriptor and what the VM process
 * needs to know of it.  Addresses in network byte order, 0 unless the
 * interface is local (then vmd answers the guest's DHCP itself).
 */
struct vmop_if {
	uint32_t		vi_idx;
	uint32_t		vi_guest4;
	uint32_t		vi_host4;
	char			vi_ifname[IF_NAMESIZE];
};

/*
 * IMSG_VMDOP_PRIV_*: one change to one interface, parent -> priv.
 * vfr_value is the alias (IFDESCR), the bridge (IFADD), the group
 * (IFGROUP) or the VRF (IFRDOMAIN); vfr_addr/vfr_prefixlen the address
 * (IFADDR, IFADDR6); vfr_id the VRF's table (IFRDOMAIN).
 */
struct vmop_ifreq {
	char			vfr_name[IF_NAMESIZE];
	char			vfr_value[VM_IFDESCR_MAX];
	struct sockaddr_storage	vfr_addr;
	int			vfr_prefixlen;
	uint8_t			vfr_lladdr[6];
	uint32_t		vfr_id;
};

struct vmop_result {
	int			vmr_result;	/* 0, errno or VMD_* */
	uint32_t		vmr_id;
	pid_t			vmr_pid;
	char			vmr_ttyname[VM_TTYNAME_MAX];
};

struct vm_info_result {
	size_t			vir_memory_size;	/* bytes */
	size_t			vir_used_size;		/* bytes touched */
	size_t			vir_ncpus;
	uint8_t			vir_vcpu_state[VMM_MAX_VCPUS_PER_VM];
	pid_t			vir_creator_pid;	/* 0: not running */
	uint32_t		vir_id;
	char			vir_name[VMM_MAX_NAME_LEN];
};

struct vmop_info_result {
	struct vm_info_result	vir_info;
	char			vir_ttyname[VM_TTYNAME_MAX];
	uid_t			vir_uid;
	int64_t			vir_gid;
	unsigned int		vir_state;
};

/* a guest-physical memory range */
struct vm_mem_range {
	uint64_t		vmr_gpa;
	uint64_t		vmr_size;
	int			vmr_type;
#define VM_MEM_RAM		0
#define VM_MEM_RESERVED		1
#define VM_MEM_MMIO		2
};

/* vm.conf: switches */
struct vmd_switch {
	uint32_t		 sw_id;
	char			*sw_name;
	char			 sw_ifname[IF_NAMESIZE];
	char			*sw_group;
	unsigned int		 sw_rdomain;
	unsigned int		 sw_flags;	/* VMIFF_* */
	int			 sw_running;
	TAILQ_ENTRY(vmd_switch)	 sw_entry;
};
TAILQ_HEAD(switchlist, vmd_switch);

/* vm.conf and command-line VMs, as the parent keeps them */
struct vmd_vm {
	struct vmop_create_params vm_params;
	pid_t			 vm_pid;
	uint32_t		 vm_vmid;	/* vmd id, as vcp_id */
	int			 vm_tty;	/* pty master, parent side */
	int			 vm_tty_slave;
	char			 vm_ttyname[VM_TTYNAME_MAX];
	int			 vm_kernel;	/* fd passed by vmctl or -1 */
	int			 vm_initrd;
	uid_t			 vm_uid;	/* who asked */
	unsigned int		 vm_state;
	int			 vm_from_config;
	int			 vm_exitstatus;
	/* CURMEM as last measured from smaps (vm_used_size) */
	size_t			 vm_used;
	size_t			 vm_used_anon;	/* the process's then */
	pid_t			 vm_used_pid;
	struct timespec		 vm_used_at;	/* CLOCK_MONOTONIC */
	struct timespec		 vm_start_tv;
	unsigned int		 vm_start_limit;
	uint32_t		 vm_peerid;	/* client waiting for start */
	char			 vm_ifs[VM_MAX_NICS_PER_VM][IF_NAMESIZE];
					/* its taps, while it runs */
	/* vmctl receive, until started: the stream and its first bytes */
	void			*vm_recvprefix;
	int			 vm_recvfd;
	TAILQ_ENTRY(vmd_vm)	 vm_entry;
};
TAILQ_HEAD(vmlist, vmd_vm);

struct address {
	struct sockaddr_storage	 ss;
	int			 prefixlen;
};

/* global configuration from vm.conf */
struct vmd_config {
	unsigned int		 cfg_flags;
#define VMD_CFG_INET6		0x01
#define VMD_CFG_AUTOINET6	0x02
#define VMD_CFG_STAGGERED_START	0x04
	struct address		 cfg_localprefix;
	struct address		 cfg_localprefix6;
	struct {
		unsigned int	 parallelism;
		unsigned int	 delay;		/* seconds */
	}			 delay;
	uid_t			 cfg_sockuid;	/* socket owner */
	gid_t			 cfg_sockgid;
	int			 cfg_sockowner_set;
};

/* parse.y: what a configuration file said */
struct vmd_parsed {
	struct vmd_config	 cfg;
	struct vmlist		 vms;	/* vm_params filled; vm_from_config */
	struct switchlist	 switches;
};

/* parse.y */
int	 parse_config(struct vmd_parsed *, const char *, int);
int	 cmdline_symset(char *);
void	 parsed_clear(struct vmd_parsed *);
void	 parsed_init(struct vmd_parsed *);

/* priv.c: the parent's side */
struct privsep;
struct vmd_switch *switch_getbyname(struct switchlist *, const char *);
void	 vm_priv_brconfig(struct privsep *, struct vmd_switch *);
int	 vm_priv_taps(struct privsep *, struct vmd_vm *,
	    const struct vmd_config *, struct switchlist *, int *,
	    struct vmop_if *);
void	 vm_priv_switches(struct privsep *, struct switchlist *,
	    struct vmlist *);

/* util.c: shared by vmd's processes and vmctl */
int	 vm_name_valid(const char *);
const char *vm_state(unsigned int);
int	 vm_size_parse(const char *, long long, const char *, uint64_t,
	    uint64_t *, void (*)(const char *, ...));

/* what the parent tells the control process at start (IMSG_VMDOP_CONFIG) */
struct control_config {
	char			cc_path[PATH_MAX];
	uid_t			cc_uid;
	gid_t			cc_gid;
	mode_t			cc_mode;
};

/* a VM process's exit, as vmm reports it (TERMINATE_VM_EVENT vmr_result) */
#define VM_EXIT_SIGNALED(r)	((r) >= 128)

struct privsep;

/* control.c, vmm.c, priv.c: the children's entry points */
__dead void	 control_main(struct privsep *, int);
__dead void	 vmm_main(struct privsep *, int);
__dead void	 priv_main(struct privsep *, int);

#endif /* VMD_H */
