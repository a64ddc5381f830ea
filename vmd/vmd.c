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
 * vmd: the parent process.  It parses vm.conf, keeps the VM registry,
 * opens every path (kernels, initrds, ptys, /dev/kvm) and passes
 * descriptors to the sandboxed children, and relays between control and
 * vmm.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <linux/capability.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "vmd.h"
#include "disk.h"
#include "proc.h"
#include "log.h"
#include "vm.h"
#include "vmstate.h"

#define CAPBIT(c)	(1ULL << (c))
#define VMD_PARENT_CAPS	(CAPBIT(CAP_CHOWN) | CAPBIT(CAP_DAC_OVERRIDE) | \
	CAPBIT(CAP_DAC_READ_SEARCH) | CAPBIT(CAP_FOWNER) | CAPBIT(CAP_KILL) | \
	CAPBIT(CAP_SETGID) | CAPBIT(CAP_SETUID) | CAPBIT(CAP_SETPCAP) | \
	CAPBIT(CAP_SYS_CHROOT) | CAPBIT(CAP_SYS_PTRACE) | CAPBIT(CAP_NET_ADMIN))

/* stable ids per (name, uid), as upstream's vm_claimid */
struct name2id {
	char			 name[VMM_MAX_NAME_LEN];
	uid_t			 uid;
	uint32_t		 id;
	TAILQ_ENTRY(name2id)	 entry;
};
TAILQ_HEAD(name2idlist, name2id);

struct vmd {
	struct privsep		 ps;
	struct vmlist		 vms;
	struct switchlist	 switches;
	struct vmd_config	 cfg;
	struct name2idlist	 known;
	uint32_t		 nextid;
	int			 kvmfd;
	unsigned int		 maxcpus;	/* vCPUs KVM gives a VM */
	const char		*conffile;
	int			 conffile_given;
	const char		*socket;
	int			 debug;
	int			 verbose;
	int			 stop_timeout;
	/* an initrd sent just before its START_VM_REQUEST */
	int			 initrd_fd;
	uint32_t		 initrd_peer;
	/* staggered start */
	struct event		 stagger_ev;
	int			 stagger_armed;
	struct event		 ev_sigint, ev_sigterm, ev_sighup;
	struct event		 ev_sigchld, ev_sigpipe;
};

static struct vmd	*env;

static __dead void usage(void);
static void	 parent_dispatch(struct imsgev *, struct imsg *);
static void	 parent_child_closed(struct imsgev *);
static void	 parent_sig(int, short, void *);
static void	 vmd_notify(const char *);
static int	 vmd_load(const char *, int);
static void	 vmd_reset(unsigned int);
static void	 vmd_stagger(int, short, void *);
static void	 vmd_stagger_arm(int);
static struct vmd_vm *vm_getbyid(uint32_t);
static struct vmd_vm *vm_getbyname(const char *);
static struct vmd_vm *vm_byvid(struct vmop_id *);
static uint32_t	 vm_claimid(const char *, uid_t);
static int	 vm_checkperm(struct vmd_vm *, uid_t);
static int	 vm_start(struct vmd_vm *, uint32_t);
static void	 vm_stopped(struct vmd_vm *);
static void	 vm_remove(struct vmd_vm *);
static int	 vm_opentty(struct vmd_vm *);
static void	 vm_closetty(struct vmd_vm *);
static size_t	 vm_used_size(struct vmd_vm *);
static void	 vm_info_send(uint32_t);
static void	 handle_start(struct imsg *);
static void	 handle_start1(struct imsg *);
static void	 handle_terminate(struct imsg *, int);
static void	 handle_pause(struct imsg *, int);
static void	 reply_result(uint32_t, uint32_t, int, uint32_t);
static void	 ensure_user(void);

static __dead void
usage(void)
{
	fprintf(stderr, "usage: %s [-dnv] [-D macro=value] [-f file] "
	    "[-s socket]\n", getprogname());
	exit(1);
}

int
main(int argc, char *argv[], char *envp[])
{
	struct vmd_parsed	 parsed;
	struct control_config	 cc;
	char			 self[PATH_MAX];
	const char		*title = NULL, *errstr;
	int			 ch, noaction = 0, vmfd = -1, kvmfd = -1;
	int			 notefd = -1;
	ssize_t			 n;
	struct vmd_vm		*vm;
	struct vmd_switch	*sw;
	char			*s;

	setproctitle_init(argc, argv, envp);
	if ((env = calloc(1, sizeof(*env))) == NULL)
		err(1, "calloc");
	env->conffile = VMD_CONF;
	env->socket = SOCKET_NAME;
	env->initrd_fd = -1;
	env->stop_timeout = VMD_STOP_TIMEOUT;
	TAILQ_INIT(&env->vms);
	TAILQ_INIT(&env->switches);
	TAILQ_INIT(&env->known);

	while ((ch = getopt(argc, argv, "D:P:V:K:N:df:nvs:")) != -1) {
		switch (ch) {
		case 'D':
			if (cmdline_symset(optarg) < 0)
				errx(1, "could not parse macro definition %s",
				    optarg);
			break;
		case 'P':
			title = optarg;
			break;
		case 'V':
			vmfd = strtonum(optarg, 0, 1024, &errstr);
			if (errstr != NULL)
				errx(1, "invalid vm fd %s: %s", optarg, errstr);
			break;
		case 'K':
			kvmfd = strtonum(optarg, 0, 1024, &errstr);
			if (errstr != NULL)
				errx(1, "invalid kvm fd %s: %s", optarg, errstr);
			break;
		case 'N':
			notefd = strtonum(optarg, 0, 1024, &errstr);
			if (errstr != NULL)
				errx(1, "invalid note fd %s: %s", optarg,
				    errstr);
			break;
		case 'd':
			env->debug = 2;
			break;
		case 'f':
			env->conffile = optarg;
			env->conffile_given = 1;
			break;
		case 'n':
			noaction = 1;
			break;
		case 'v':
			env->verbose++;
			break;
		case 's':
			env->socket = optarg;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	if (argc > 0)
		usage();

	if ((s = getenv("VMD_STOP_TIMEOUT")) != NULL) {
		env->stop_timeout = strtonum(s, 1, 3600, &errstr);
		if (errstr != NULL)
			errx(1, "VMD_STOP_TIMEOUT %s: %s", s, errstr);
	}

	log_init(env->debug || noaction ? 1 : 0, LOG_DAEMON);
	log_setverbose(env->verbose);

	/* a VM process, exec'd by vmm */
	if (vmfd != -1) {
		if (kvmfd == -1)
			fatalx("vm process without a kvm descriptor");
		if (notefd != -1)
			sandbox_note(notefd);
		vm_main(vmfd, kvmfd);
	}

	env->ps.ps_debug = env->debug ? 1 : 0;
	env->ps.ps_verbose = env->verbose;
	env->ps.ps_env = env;

	if (title != NULL) {
		switch (proc_byname(title)) {
		case PROC_CONTROL:
			control_main(&env->ps, 3);
		case PROC_VMM:
			vmm_main(&env->ps, 3);
		case PROC_PRIV:
			priv_main(&env->ps, 3);
		default:
			fatalx("unknown process %s", title);
		}
	}

	if (noaction) {
		parsed_init(&parsed);
		/* 1: a check, which says nothing but what is wrong */
		if (parse_config(&parsed, env->conffile, 1) == -1)
			exit(1);
		parsed_clear(&parsed);
		fprintf(stderr, "configuration OK\n");
		exit(0);
	}

	if (geteuid() != 0)
		errx(1, "need root privileges");

	/* children are re-executed from the very binary we run */
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) == -1)
		err(1, "readlink /proc/self/exe");
	self[n] = '\0';
	env->ps.ps_argv0 = strdup(self);

	ensure_user();

	/*
	 * What root may still do here and in the children it execs: open
	 * any file a user names (the access checks are ours), hand ptys
	 * and the socket to their owners, become _vmd, chroot (control),
	 * signal children, taps and netlink (priv), read the memory maps
	 * of VM processes that are not dumpable (CURMEM: ptrace's read
	 * check).  No module loading, raw I/O, mounts or the rest of
	 * CAP_SYS_ADMIN; the children drop even these.
	 */
	if (sandbox_caps(VMD_PARENT_CAPS) == -1)
		err(1, "capabilities");

	if ((env->kvmfd = open("/dev/kvm", O_RDWR | O_CLOEXEC)) == -1)
		err(1, "/dev/kvm");
	if ((n = vmm_max_vcpus(env->kvmfd)) == -1)
		n = 1;
	env->maxcpus = MINIMUM(n, VMM_MAX_VCPUS_PER_VM);

	if (vmd_load(env->conffile, 1) == -1)
		exit(1);

	if (!env->debug && daemon(0, 0) == -1)
		err(1, "daemon");

	log_procinit("parent");
	setproctitle("parent");
	log_info("startup");
	switch (n = sandbox_landlock_abi()) {
	case 0:
		log_warnx("landlock: not in this kernel: the sandboxed "
		    "processes have seccomp filters only");
		break;
	case 1: case 2: case 3:
		log_info("landlock ABI %d: no network rules, signals not "
		    "scoped", (int)n);
		break;
	case 4: case 5:
		log_info("landlock ABI %d: signals not scoped", (int)n);
		break;
	}

	event_init();
	signal_set(&env->ev_sigint, SIGINT, parent_sig, NULL);
	signal_set(&env->ev_sigterm, SIGTERM, parent_sig, NULL);
	signal_set(&env->ev_sighup, SIGHUP, parent_sig, NULL);
	signal_set(&env->ev_sigchld, SIGCHLD, parent_sig, NULL);
	signal_add(&env->ev_sigint, NULL);
	signal_add(&env->ev_sigterm, NULL);
	signal_add(&env->ev_sighup, NULL);
	signal_add(&env->ev_sigchld, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);

	env->ps.ps_id = PROC_PARENT;
	proc_spawn(&env->ps, PROC_CONTROL, parent_dispatch,
	    parent_child_closed);
	proc_spawn(&env->ps, PROC_VMM, parent_dispatch, parent_child_closed);
	proc_spawn(&env->ps, PROC_PRIV, parent_dispatch, parent_child_closed);
	TAILQ_FOREACH(sw, &env->switches, sw_entry)
		vm_priv_brconfig(&env->ps, sw);

	memset(&cc, 0, sizeof(cc));
	if (strlcpy(cc.cc_path, env->socket, sizeof(cc.cc_path)) >=
	    sizeof(cc.cc_path))
		fatalx("socket path too long");
	cc.cc_uid = env->cfg.cfg_sockowner_set ? env->cfg.cfg_sockuid : 0;
	cc.cc_gid = env->cfg.cfg_sockowner_set ? env->cfg.cfg_sockgid : 0;
	cc.cc_mode = 0660;
	proc_compose(&env->ps, PROC_CONTROL, IMSG_VMDOP_CONFIG, 0, -1,
	    &cc, sizeof(cc));
	proc_compose(&env->ps, PROC_VMM, IMSG_VMDOP_RECEIVE_VMM_FD, 0,
	    dup(env->kvmfd), &env->stop_timeout, sizeof(env->stop_timeout));

	TAILQ_FOREACH(vm, &env->vms, vm_entry)
		if (!(vm->vm_state & VM_STATE_DISABLED))
			vm->vm_state |= VM_STATE_WAITING;
	vmd_stagger_arm(0);

	event_dispatch();
	fatalx("event loop ended");
}

/* Create the _vmd user the sandboxed processes run as, if missing. */
static void
ensure_user(void)
{
	struct stat	 st;
	int		 status;
	pid_t		 pid;

	if (stat(VMD_EMPTYDIR, &st) == -1 && mkdir(VMD_EMPTYDIR, 0755) == -1)
		err(1, "mkdir %s", VMD_EMPTYDIR);
	if (getpwnam(VMD_USER) != NULL)
		return;
	switch (pid = fork()) {
	case -1:
		err(1, "fork");
	case 0:
		execl("/usr/sbin/useradd", "useradd", "--system",
		    "--no-create-home", "--home-dir", VMD_EMPTYDIR,
		    "--shell", "/usr/sbin/nologin", "--user-group",
		    VMD_USER, (char *)NULL);
		_exit(127);
	default:
		break;
	}
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || getpwnam(VMD_USER) == NULL)
		errx(1, "unknown user %s and useradd failed", VMD_USER);
}

/*
 * Tell a service manager how vmd is doing, by the protocol of
 * sd_notify(3): one datagram to the socket $NOTIFY_SOCKET names (a path,
 * or with '@' an abstract name).  Nothing without it.  READY=1 is sent
 * once the control socket accepts (the control process says so).
 */
static void
vmd_notify(const char *state)
{
	struct sockaddr_un	 sun;
	const char		*path;
	size_t			 n;
	int			 fd;

	if ((path = getenv("NOTIFY_SOCKET")) == NULL || *path == '\0')
		return;
	n = strlen(path);
	if ((path[0] != '/' && path[0] != '@') || n >= sizeof(sun.sun_path)) {
		log_warnx("NOTIFY_SOCKET %s: not a socket vmd can use", path);
		return;
	}
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, path, n);
	if (path[0] == '@')
		sun.sun_path[0] = '\0';
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
	    sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, offsetof(struct sockaddr_un, sun_path) +
	    n) == -1)
		log_warn("notify %s", path);
	if (fd != -1)
		close(fd);
}

static void
parent_sig(int sig, short event, void *arg)
{
	struct vmd_vm	*vm;
	int		 status, i;
	pid_t		 pid;

	(void)event;
	(void)arg;
	switch (sig) {
	case SIGHUP:
		log_info("reload requested with SIGHUP");
		vmd_notify("RELOADING=1");
		vmd_reset(CONFIG_RELOAD);
		vmd_notify("READY=1");
		break;
	case SIGINT:
	case SIGTERM:
		log_info("terminating");
		vmd_notify("STOPPING=1");
		TAILQ_FOREACH(vm, &env->vms, vm_entry)
			vm_closetty(vm);
		proc_kill(&env->ps);
		unlink(env->socket);
		exit(0);
	case SIGCHLD:
		while ((pid = waitpid(WAIT_ANY, &status, WNOHANG)) > 0) {
			for (i = PROC_CONTROL; i < PROC_MAX; i++) {
				if (env->ps.ps_pid[i] != pid)
					continue;
				env->ps.ps_pid[i] = 0;
				fatalx("lost child: %s %s", proc_name(i),
				    WIFSIGNALED(status) ? "terminated" :
				    "exited");
			}
		}
		break;
	}
}

static void
parent_child_closed(struct imsgev *iev)
{
	fatalx("lost child: %s closed its channel", iev->name);
}

/*
 * vm.conf: parse a file and merge its VMs and switches into the registry.
 * At startup (initial) the global settings are taken as well.
 */
static int
vmd_load(const char *file, int initial)
{
	struct vmd_parsed	 p;
	struct vmd_vm		*vm, *next;
	struct vmd_switch	*sw, *nsw, *osw;
	struct stat		 st;

	parsed_init(&p);
	if (initial && !env->conffile_given && stat(file, &st) == -1 &&
	    errno == ENOENT) {
		env->cfg = p.cfg;	/* the defaults */
		return (0);
	}
	if (parse_config(&p, file, 0) == -1) {
		parsed_clear(&p);
		return (-1);
	}
	if (initial)
		env->cfg = p.cfg;
	TAILQ_FOREACH_SAFE(vm, &p.vms, vm_entry, next) {
		TAILQ_REMOVE(&p.vms, vm, vm_entry);
		if (vm_getbyname(vm->vm_params.vmc_params.vcp_name) != NULL) {
			log_info("vm \"%s\" skipped (already exists)",
			    vm->vm_params.vmc_params.vcp_name);
			free(vm);
			continue;
		}
		vm->vm_from_config = 1;
		vm->vm_pid = 0;
		vm->vm_tty = vm->vm_tty_slave = -1;
		vm->vm_kernel = vm->vm_initrd = -1;
		vm->vm_vmid = vm_claimid(vm->vm_params.vmc_params.vcp_name,
		    vm->vm_params.vmc_owner.uid);
		vm->vm_params.vmc_params.vcp_id = vm->vm_vmid;
		if (vm->vm_params.vmc_params.vcp_ncpus == 0)
			vm->vm_params.vmc_params.vcp_ncpus = 1;
		TAILQ_INSERT_TAIL(&env->vms, vm, vm_entry);
	}
	TAILQ_FOREACH_SAFE(sw, &p.switches, sw_entry, nsw) {
		TAILQ_REMOVE(&p.switches, sw, sw_entry);
		/* a reload's switch of the same name replaces the old one */
		if ((osw = switch_getbyname(&env->switches, sw->sw_name)) !=
		    NULL) {
			TAILQ_REMOVE(&env->switches, osw, sw_entry);
			free(osw->sw_name);
			free(osw->sw_group);
			free(osw);
		}
		TAILQ_INSERT_TAIL(&env->switches, sw, sw_entry);
	}
	parsed_clear(&p);
	return (0);
}

/* reload (CONFIG_RELOAD), reset vms, reset switches, reset all */
static void
vmd_reset(unsigned int what)
{
	struct vmd_vm	*vm, *next;
	struct vmop_id	 vid;
	struct name2id	*n2i;

	if (what == CONFIG_RELOAD || what == CONFIG_ALL) {
		/* drop what is not running; running VMs stay as they are */
		TAILQ_FOREACH_SAFE(vm, &env->vms, vm_entry, next)
			if (vm->vm_pid == 0)
				vm_remove(vm);
	}
	if (what & CONFIG_VMS) {
		TAILQ_FOREACH_SAFE(vm, &env->vms, vm_entry, next) {
			if (vm->vm_pid != 0) {
				memset(&vid, 0, sizeof(vid));
				vid.vid_id = vm->vm_vmid;
				vid.vid_flags = VMOP_FORCE;
				proc_compose(&env->ps, PROC_VMM,
				    IMSG_VMDOP_TERMINATE_VM_REQUEST, 0, -1,
				    &vid, sizeof(vid));
			}
			vm_remove(vm);
		}
		while ((n2i = TAILQ_FIRST(&env->known)) != NULL) {
			TAILQ_REMOVE(&env->known, n2i, entry);
			free(n2i);
		}
	}
	if (what == CONFIG_RELOAD || what == CONFIG_ALL) {
		if (vmd_load(env->conffile, 0) == -1)
			log_warnx("reload of %s failed", env->conffile);
	}
	if (what & CONFIG_SWITCHES) {
		/* the bridges again, with the running VMs' taps in them */
		vm_priv_switches(&env->ps, &env->switches, &env->vms);
		log_debug("%s: switches reset", __func__);
	}
	if (what == CONFIG_RELOAD || what == CONFIG_ALL) {
		TAILQ_FOREACH(vm, &env->vms, vm_entry)
			if (vm->vm_pid == 0 &&
			    !(vm->vm_state & VM_STATE_DISABLED))
				vm->vm_state |= VM_STATE_WAITING;
		vmd_stagger_arm(0);
	}
}

/*
 * Staggered start: enabled VMs of vm.conf start in batches of
 * "parallel" VMs, "delay" seconds apart.
 */
static void
vmd_stagger_arm(int delay)
{
	struct timeval	tv = { delay, 0 };

	if (env->stagger_armed)
		return;
	env->stagger_armed = 1;
	evtimer_set(&env->stagger_ev, vmd_stagger, NULL);
	evtimer_add(&env->stagger_ev, &tv);
}

static void
vmd_stagger(int fd, short event, void *arg)
{
	struct vmd_vm	*vm;
	unsigned int	 parallel, delay, started = 0;
	long		 ncpu;
	int		 more = 0;

	(void)fd;
	(void)event;
	(void)arg;
	env->stagger_armed = 0;
	if (env->cfg.cfg_flags & VMD_CFG_STAGGERED_START) {
		parallel = env->cfg.delay.parallelism;
		delay = env->cfg.delay.delay;
	} else {
		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		parallel = ncpu > 0 ? (unsigned int)ncpu : 1;
		delay = 30;
	}
	if (parallel == 0)
		parallel = 1;
	TAILQ_FOREACH(vm, &env->vms, vm_entry) {
		if (!(vm->vm_state & VM_STATE_WAITING))
			continue;
		if (started == parallel) {
			more = 1;
			break;
		}
		vm->vm_state &= ~VM_STATE_WAITING;
		if (vm_start(vm, 0) != 0)
			continue;
		started++;
	}
	if (more)
		vmd_stagger_arm(delay);
}

static struct vmd_vm *
vm_getbyid(uint32_t id)
{
	struct vmd_vm	*vm;

	if (id == 0)
		return (NULL);
	TAILQ_FOREACH(vm, &env->vms, vm_entry)
		if (vm->vm_vmid == id)
			return (vm);
	return (NULL);
}

static struct vmd_vm *
vm_getbyname(const char *name)
{
	struct vmd_vm	*vm;

	TAILQ_FOREACH(vm, &env->vms, vm_entry)
		if (strcmp(vm->vm_params.vmc_params.vcp_name, name) == 0)
			return (vm);
	return (NULL);
}

static struct vmd_vm *
vm_byvid(struct vmop_id *vid)
{
	vid->vid_name[sizeof(vid->vid_name) - 1] = '\0';
	if (vid->vid_id != 0)
		return (vm_getbyid(vid->vid_id));
	return (vm_getbyname(vid->vid_name));
}

static uint32_t
vm_claimid(const char *name, uid_t uid)
{
	struct name2id	*n2i;

	TAILQ_FOREACH(n2i, &env->known, entry)
		if (n2i->uid == uid && strcmp(n2i->name, name) == 0)
			return (n2i->id);
	if ((n2i = calloc(1, sizeof(*n2i))) == NULL)
		fatal("%s", __func__);
	if (++env->nextid == 0)
		fatalx("%s: out of vm ids", __func__);
	n2i->id = env->nextid;
	n2i->uid = uid;
	strlcpy(n2i->name, name, sizeof(n2i->name));
	TAILQ_INSERT_TAIL(&env->known, n2i, entry);
	return (n2i->id);
}

/* root, the owner, or a member of the owner group may act on a VM */
static int
vm_checkperm(struct vmd_vm *vm, uid_t uid)
{
	struct vmop_owner	*o = &vm->vm_params.vmc_owner;
	struct passwd		*pw;
	gid_t			 groups[NGROUPS_MAX];
	int			 ngroups = NGROUPS_MAX, i;

	if (uid == 0 || uid == o->uid)
		return (0);
	if (o->gid == -1 || (pw = getpwuid(uid)) == NULL)
		return (-1);
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) == -1)
		return (-1);
	for (i = 0; i < ngroups; i++)
		if ((int64_t)groups[i] == o->gid)
			return (0);
	return (-1);
}

static int
vm_opentty(struct vmd_vm *vm)
{
	struct termios	 tio;
	char		 name[64];
	int		 master, slave;
	struct group	*gr;
	gid_t		 gid;

	if (vm->vm_tty != -1)
		return (0);
	if ((master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		return (-1);
	if (grantpt(master) == -1 || unlockpt(master) == -1 ||
	    ptsname_r(master, name, sizeof(name)) != 0 ||
	    strlen(name) >= sizeof(vm->vm_ttyname))
		goto fail;
	if ((slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) == -1)
		goto fail;
	/* raw, so the guest's bytes pass untouched and are never echoed */
	if (tcgetattr(slave, &tio) == 0) {
		cfmakeraw(&tio);
		cfsetispeed(&tio, B115200);
		cfsetospeed(&tio, B115200);
		tcsetattr(slave, TCSANOW, &tio);
	}
	gid = (gr = getgrnam("tty")) != NULL ? gr->gr_gid : 0;
	if (fchown(slave, vm->vm_params.vmc_owner.uid, gid) == -1 ||
	    fchmod(slave, 0620) == -1) {
		close(slave);
		goto fail;
	}
	vm->vm_tty = master;
	vm->vm_tty_slave = slave;
	strlcpy(vm->vm_ttyname, name, sizeof(vm->vm_ttyname));
	return (0);
 fail:
	close(master);
	return (-1);
}

struct tty_linger {
	int		master;
	int		slave;
	struct event	ev;
};

static void
tty_linger_done(int fd, short event, void *arg)
{
	struct tty_linger	*tl = arg;

	(void)fd;
	(void)event;
	close(tl->master);
	close(tl->slave);
	free(tl);
}

/*
 * Release a VM's pty.  Closing the master hangs the tty up and drops what
 * a console has not read yet, such as the guest's last words before it
 * powered off: the pty lingers for a second before it goes.
 */
static void
vm_closetty(struct vmd_vm *vm)
{
	struct tty_linger	*tl;
	struct timeval		 tv = { 1, 0 };

	if (vm->vm_tty_slave != -1) {
		/* hand the pty back to root before it is released */
		if (fchown(vm->vm_tty_slave, 0, 0) == -1)
			log_debug("%s: fchown: %s", __func__, strerror(errno));
	}
	if (vm->vm_tty != -1 && vm->vm_tty_slave != -1 &&
	    (tl = calloc(1, sizeof(*tl))) != NULL) {
		tl->master = vm->vm_tty;
		tl->slave = vm->vm_tty_slave;
		evtimer_set(&tl->ev, tty_linger_done, tl);
		evtimer_add(&tl->ev, &tv);
	} else {
		if (vm->vm_tty_slave != -1)
			close(vm->vm_tty_slave);
		if (vm->vm_tty != -1)
			close(vm->vm_tty);
	}
	vm->vm_tty = vm->vm_tty_slave = -1;
	vm->vm_ttyname[0] = '\0';
}

static void
vm_remove(struct vmd_vm *vm)
{
	TAILQ_REMOVE(&env->vms, vm, vm_entry);
	vm_closetty(vm);
	if (vm->vm_kernel != -1)
		close(vm->vm_kernel);
	if (vm->vm_initrd != -1)
		close(vm->vm_initrd);
	if (vm->vm_recvprefix != NULL) {
		close(vm->vm_recvfd);
		free(vm->vm_recvprefix);
	}
	free(vm);
}

/*
 * Open what a client or vm.conf named, without waiting for it: a FIFO
 * (or a device that blocks in open) must not stall the parent.  Only a
 * regular file, or a block device where blkok, is kept, its descriptor
 * blocking again; else -1 with EINVAL.
 */
static int
open_file(const char *path, int flags, int blkok)
{
	struct stat	st;
	int		fd, fl;

	if ((fd = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY)) ==
	    -1)
		return (-1);
	if (fstat(fd, &st) == -1 ||
	    (!S_ISREG(st.st_mode) && !(blkok && S_ISBLK(st.st_mode))) ||
	    (fl = fcntl(fd, F_GETFL)) == -1 ||
	    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1) {
		close(fd);
		errno = EINVAL;
		return (-1);
	}
	return (fd);
}

/* Whether uid, with its groups, has the mode bits want of st. */
static int
uid_may(uid_t uid, const gid_t *groups, int ngroups, const struct stat *st,
    mode_t want)
{
	mode_t	m = st->st_mode;
	int	i;

	if (st->st_uid == uid)
		return ((m & (want << 6)) == (want << 6));
	for (i = 0; i < ngroups; i++)
		if (groups[i] == st->st_gid)
			return ((m & (want << 3)) == (want << 3));
	return ((m & want) == want);
}

/*
 * As upstream's vm_checkaccess: may the user who asked for this VM read
 * (and write, with rw) the file at path, open as fd?  Root may; others
 * need search permission on every directory above it and the file's
 * own bits, as the kernel would check them for that user.  0, or -1.
 */
static int
vm_checkaccess(struct vmd_vm *vm, unsigned int what, const char *path,
    int fd, int rw)
{
	struct passwd	*pw;
	struct stat	 st;
	gid_t		 groups[NGROUPS_MAX];
	char		 dir[PATH_MAX], *p;
	int		 ngroups = NGROUPS_MAX;
	uid_t		 uid = vm->vm_uid;
	static time_t	 refused_at;

	if (uid == 0 || !(vm->vm_params.vmc_checkaccess & what))
		return (0);
	if ((pw = getpwuid(uid)) == NULL ||
	    getgrouplist(pw->pw_name, pw->pw_gid, groups, &ngroups) == -1)
		goto denied;
	if (path[0] != '/' || realpath(path, dir) == NULL)
		goto denied;
	while ((p = strrchr(dir, '/')) != NULL) {
		*p = '\0';
		if (stat(dir[0] == '\0' ? "/" : dir, &st) == -1 ||
		    !uid_may(uid, groups, ngroups, &st, S_IXOTH))
			goto denied;
		if (dir[0] == '\0')
			break;
	}
	if (fstat(fd, &st) == -1 || !uid_may(uid, groups, ngroups, &st,
	    rw ? S_IROTH | S_IWOTH : S_IROTH))
		goto denied;
	return (0);
 denied:
	/* a client may ask again and again: once a second in the log */
	if (time(NULL) != refused_at) {
		refused_at = time(NULL);
		log_warnx("vm \"%s\": uid %u may not %s %s",
		    vm->vm_params.vmc_params.vcp_name, uid,
		    rw ? "read and write" : "read", path);
	}
	errno = EPERM;
	return (-1);
}

static int
open_image(const char *path)
{
	return (open_file(path, O_RDONLY, 0));
}

/* a chain, and a direct qcow2 image's second descriptor (disk_open) */
#define VM_MAX_DISK_FDS	(VM_MAX_DISKS_PER_VM * (2 + VM_MAX_BASE_PER_DISK))

struct vm_diskfds {
	int			fd[VM_MAX_DISK_FDS];
	struct vmop_disk	vd[VM_MAX_DISK_FDS];
	int			n;
	int			cdrom;
};

static void
diskfds_close(struct vm_diskfds *df)
{
	int	i;

	for (i = 0; i < df->n; i++)
		close(df->fd[i]);
	df->n = 0;
	if (df->cdrom != -1)
		close(df->cdrom);
	df->cdrom = -1;
}

/*
 * Lock an image for as long as the descriptor lives: one writer, or any
 * number of readers.  An open file description lock, so it goes with the
 * descriptor to the VM process and ends with it.
 */
static int
disk_lock(int fd, int rw)
{
	struct flock	fl;

	memset(&fl, 0, sizeof(fl));
	fl.l_type = rw ? F_WRLCK : F_RDLCK;
	fl.l_whence = SEEK_SET;
	return (fcntl(fd, F_OFD_SETLK, &fl));
}

/*
 * One image of a disk, at depth of its chain (chain[0..depth-1] are the
 * images above it): 0, or the VMD_* / errno result.
 */
static int
disk_open_one(const char *vmname, const char *path, struct stat *chain,
    unsigned int depth, int received, int *fdp)
{
	struct stat	*st = &chain[depth];
	unsigned int	 k;
	int		 fd, top = depth == 0, rw = top;

	fd = -1;
	if (top && (fd = open_file(path, O_RDWR, 1)) == -1 &&
	    (errno == EACCES || errno == EROFS || errno == EPERM))
		rw = 0;
	if (fd == -1 && (!top || !rw) &&
	    (fd = open_file(path, O_RDONLY, 1)) != -1)
		rw = 0;
	if (fd == -1 && errno == EINVAL) {
		log_warnx("vm \"%s\": disk %s is not a regular file or a "
		    "block device", vmname, path);
		return (VMD_DISK_INVALID);
	}
	if (fd == -1) {
		log_warn("vm \"%s\": disk %s", vmname, path);
		return (VMD_DISK_MISSING);
	}
	if (fstat(fd, st) == -1) {
		log_warn("vm \"%s\": disk %s", vmname, path);
		close(fd);
		return (VMD_DISK_MISSING);
	}
	for (k = 0; k < depth; k++)
		if (chain[k].st_dev == st->st_dev &&
		    chain[k].st_ino == st->st_ino) {
			log_warnx("vm \"%s\": disk %s: backing chain loops",
			    vmname, path);
			close(fd);
			return (VMD_DISK_CORRUPT);
		}
	if (disk_lock(fd, rw) == -1) {
		if ((errno == EAGAIN || errno == EACCES) && received) {
			/* its sender may hold it still: the VM waits */
			log_debug("vm \"%s\": disk %s is still in use", vmname,
			    path);
		} else if (errno == EAGAIN || errno == EACCES) {
			log_warnx("vm \"%s\": disk %s is in use%s", vmname,
			    path, top ? "" : " (as a backing file)");
			close(fd);
			return (VMD_DISK_LOCKED);
		} else
			log_warn("vm \"%s\": disk %s: lock", vmname, path);
	}
	*fdp = fd;
	return (0);
}

/*
 * A direct qcow2 image's second descriptor, after its chain: its data
 * goes through this one with O_DIRECT, its tables through the first
 * (vioqcow2.c).  The same file, opened again: it must still be the file
 * the first descriptor is, which passed the access check.  Not locked:
 * the first one's lock covers the image.
 */
static int
disk_open_twin(const char *vmname, const char *path, struct vm_diskfds *df,
    unsigned int idx, unsigned int depth, const struct stat *chain)
{
	struct stat	 st;
	int		 fd, fl;

	if ((fl = fcntl(df->fd[df->n - depth], F_GETFL)) == -1 ||
	    (fd = open_file(path, fl & O_ACCMODE, 1)) == -1) {
		log_warn("vm \"%s\": disk %s", vmname, path);
		return (VMD_DISK_MISSING);
	}
	if (fstat(fd, &st) == -1 || st.st_dev != chain[0].st_dev ||
	    st.st_ino != chain[0].st_ino) {
		log_warnx("vm \"%s\": disk %s changed while it was opened",
		    vmname, path);
		close(fd);
		return (VMD_DISK_INVALID);
	}
	df->fd[df->n] = fd;
	df->vd[df->n].vd_idx = idx;
	df->vd[df->n++].vd_depth = depth;
	return (0);
}

/*
 * Open every disk of the VM and, for qcow2, its backing chain (names
 * relative to the image that names them), refusing chains that loop or
 * run deeper than upstream allows.  The VM process parses the images
 * themselves, in its sandbox.
 */
static int
vm_open_disks(struct vmd_vm *vm, struct vm_diskfds *df, int received)
{
	struct vmop_create_params	*vmc = &vm->vm_params;
	const char			*name = vmc->vmc_params.vcp_name;
	char				 cur[PATH_MAX], base[PATH_MAX];
	char				 resolved[PATH_MAX], err[DISK_ERRLEN];
	struct stat			 st, chain[1 + VM_MAX_BASE_PER_DISK];
	unsigned int			 i, depth;
	int				 fd, ret;

	df->n = 0;
	df->cdrom = -1;
	for (i = 0; i < vmc->vmc_ndisks; i++) {
		if ((ret = disk_open_one(name, vmc->vmc_disks[i], chain, 0,
		    received, &fd)) != 0)
			goto fail;
		df->fd[df->n] = fd;
		if (vm_checkaccess(vm, VMOP_CREATE_DISK, vmc->vmc_disks[i], fd,
		    1) == -1) {
			close(fd);
			ret = EPERM;
			goto fail;
		}
		df->vd[df->n].vd_idx = i;
		df->vd[df->n++].vd_depth = 0;
		if (VMDF_FORMAT(vmc->vmc_disktypes[i]) != VMDF_QCOW2)
			continue;
		strlcpy(cur, vmc->vmc_disks[i], sizeof(cur));
		for (depth = 1;; depth++) {
			if (disk_backing_name(fd, cur, base, sizeof(base),
			    resolved, sizeof(resolved), err, sizeof(err)) ==
			    -1) {
				log_warnx("vm \"%s\": disk %s: %s", name, cur,
				    err);
				ret = VMD_DISK_CORRUPT;
				goto fail;
			}
			if (base[0] == '\0')
				break;
			if (depth > VM_MAX_BASE_PER_DISK) {
				log_warnx("vm \"%s\": disk %s: backing chain "
				    "deeper than %d", name, vmc->vmc_disks[i],
				    VM_MAX_BASE_PER_DISK);
				ret = VMD_DISK_CORRUPT;
				goto fail;
			}
			if ((ret = disk_open_one(name, resolved, chain, depth,
			    received, &fd)) != 0)
				goto fail;
			if (vm_checkaccess(vm, VMOP_CREATE_DISK, resolved, fd,
			    0) == -1) {
				close(fd);
				ret = EPERM;
				goto fail;
			}
			df->fd[df->n] = fd;
			df->vd[df->n].vd_idx = i;
			df->vd[df->n++].vd_depth = depth;
			strlcpy(cur, resolved, sizeof(cur));
		}
		if ((vmc->vmc_disktypes[i] & VMDF_DIRECT) &&
		    (ret = disk_open_twin(name, vmc->vmc_disks[i], df, i,
		    depth, chain)) != 0)
			goto fail;
	}
	if (vmc->vmc_cdrom[0] != '\0') {
		if ((df->cdrom = open_file(vmc->vmc_cdrom, O_RDONLY, 0)) ==
		    -1 && errno != EINVAL) {
			log_warn("vm \"%s\": cdrom %s", name, vmc->vmc_cdrom);
			ret = VMD_CDROM_MISSING;
			goto fail;
		}
		if (df->cdrom != -1 && vm_checkaccess(vm, VMOP_CREATE_CDROM,
		    vmc->vmc_cdrom, df->cdrom, 0) == -1) {
			ret = EPERM;
			goto fail;
		}
		if (df->cdrom == -1 || fstat(df->cdrom, &st) == -1 ||
		    !S_ISREG(st.st_mode)) {
			log_warnx("vm \"%s\": cdrom %s is not a regular file",
			    name, vmc->vmc_cdrom);
			ret = VMD_CDROM_INVALID;
			goto fail;
		}
	}
	return (0);
 fail:
	diskfds_close(df);
	return (ret);
}

/*
 * Start a registered VM: open what it boots from, its pty, and hand all
 * of it to vmm.  Returns 0 or an errno / VMD_* code; the answer to the
 * client (peerid) follows from vmm's START_VM_RESPONSE.
 */
static int
vm_start(struct vmd_vm *vm, uint32_t peerid)
{
	struct vmop_create_params	*vmc = &vm->vm_params;
	struct vm_diskfds		 df;
	struct vmop_if			 vi[VM_MAX_NICS_PER_VM];
	int				 taps[VM_MAX_NICS_PER_VM];
	int				 kernel = -1, initrd = -1, tty, i, ret;
	int				 ntaps = 0;
	int				 received;

	if (vm->vm_pid != 0 || (vm->vm_state & VM_STATE_RUNNING))
		return (EALREADY);
	received = vm->vm_recvprefix != NULL;
	if (vmc->vmc_params.vcp_ncpus > env->maxcpus) {
		log_warnx("vm \"%s\": %zu vcpus, this host's KVM allows at "
		    "most %u", vmc->vmc_params.vcp_name,
		    vmc->vmc_params.vcp_ncpus, env->maxcpus);
		return (VMD_CPU_INVALID);
	}
	if ((ret = vm_open_disks(vm, &df, received)) != 0)
		return (ret);
	if (vmc->vmc_nnics > VM_MAX_NICS_PER_VM) {
		ret = EINVAL;
		goto fail;
	}
	if ((ret = vm_priv_taps(&env->ps, vm, &env->cfg, &env->switches,
	    taps, vi)) != 0) {
		diskfds_close(&df);
		return (ret);
	}
	ntaps = vmc->vmc_nnics;

	/* a received VM's memory has its kernel; a reboot reloads it */
	if (!received) {
		if (vm->vm_kernel != -1)
			kernel = dup(vm->vm_kernel);
		else if (vmc->vmc_kernel[0] != '\0') {
			if ((kernel = open_image(vmc->vmc_kernel)) != -1 &&
			    vm_checkaccess(vm, VMOP_CREATE_KERNEL,
			    vmc->vmc_kernel, kernel, 0) == -1) {
				close(kernel);
				kernel = -1;
				ret = EPERM;
				goto fail;
			}
			if (kernel == -1) {
				ret = errno;
				if (errno == EINVAL)
					log_warnx("vm \"%s\": boot image %s is "
					    "not a regular file",
					    vmc->vmc_params.vcp_name,
					    vmc->vmc_kernel);
				else
					log_warn("vm \"%s\": boot image %s",
					    vmc->vmc_params.vcp_name,
					    vmc->vmc_kernel);
				goto fail;
			}
		} else if (vmc->vmc_ndisks == 0 && vmc->vmc_cdrom[0] == '\0') {
			ret = VMD_DISK_MISSING;
			goto fail;
		} else if ((kernel = open_image(VM_DEFAULT_BIOS)) == -1) {
			ret = VMD_BIOS_MISSING;
			goto fail;
		}
		if (kernel == -1) {
			ret = errno;
			goto fail;
		}

		if (vm->vm_initrd != -1)
			initrd = dup(vm->vm_initrd);
		else if (vmc->vmc_initrd[0] != '\0' &&
		    (initrd = open_image(vmc->vmc_initrd)) == -1) {
			ret = errno;
			log_warn("vm \"%s\": initrd %s",
			    vmc->vmc_params.vcp_name, vmc->vmc_initrd);
			goto fail;
		}
		if (initrd != -1 && vm->vm_initrd == -1 &&
		    vm_checkaccess(vm, VMOP_CREATE_INITRD, vmc->vmc_initrd,
		    initrd, 0) == -1) {
			ret = EPERM;
			goto fail;
		}
	}

	if (vm_opentty(vm) == -1) {
		ret = errno;
		log_warn("vm \"%s\": pty", vmc->vmc_params.vcp_name);
		goto fail;
	}
	if ((tty = dup(vm->vm_tty)) == -1) {
		ret = errno;
		goto fail;
	}

	vmc->vmc_params.vcp_id = vm->vm_vmid;
	if (vmc->vmc_params.vcp_ncpus == 0)
		vmc->vmc_params.vcp_ncpus = 1;
	proc_compose(&env->ps, PROC_VMM, IMSG_VMDOP_START_VM_REQUEST,
	    vm->vm_vmid, kernel, vmc, sizeof(*vmc));
	if (initrd != -1)
		proc_compose(&env->ps, PROC_VMM, IMSG_VMDOP_START_VM_INITRD,
		    vm->vm_vmid, initrd, NULL, 0);
	for (i = 0; i < df.n; i++)
		proc_compose(&env->ps, PROC_VMM, IMSG_VMDOP_START_VM_DISK,
		    vm->vm_vmid, df.fd[i], &df.vd[i], sizeof(df.vd[i]));
	if (df.cdrom != -1)
		proc_compose(&env->ps, PROC_VMM, IMSG_VMDOP_START_VM_CDROM,
		    vm->vm_vmid, df.cdrom, NULL, 0);
	for (i = 0; i < ntaps; i++)
		proc_compose(&env->ps, PROC_VMM, IMSG_VMDOP_START_VM_IF,
		    vm->vm_vmid, taps[i], &vi[i], sizeof(vi[i]));
	if (received) {
		proc_compose(&env->ps, PROC_VMM, IMSG_VMDOP_RECEIVE_VM_STREAM,
		    vm->vm_vmid, vm->vm_recvfd, vm->vm_recvprefix,
		    VMS_PREFIX_LEN);
		free(vm->vm_recvprefix);
		vm->vm_recvprefix = NULL;
		vm->vm_recvfd = -1;
	}
	proc_compose(&env->ps, PROC_VMM, IMSG_VMDOP_START_VM_END,
	    vm->vm_vmid, tty, NULL, 0);

	vm->vm_state &= ~(VM_STATE_WAITING | VM_STATE_CRASHED |
	    VM_STATE_SHUTDOWN | VM_STATE_PAUSED);
	vm->vm_state |= VM_STATE_RUNNING;
	vm->vm_peerid = peerid;
	clock_gettime(CLOCK_MONOTONIC, &vm->vm_start_tv);
	return (0);
 fail:
	if (kernel != -1)
		close(kernel);
	if (initrd != -1)
		close(initrd);
	for (i = 0; i < ntaps; i++)
		close(taps[i]);
	for (i = 0; i < VM_MAX_NICS_PER_VM; i++)
		vm->vm_ifs[i][0] = '\0';
	diskfds_close(&df);
	return (ret);
}

static void
reply_result(uint32_t type, uint32_t peerid, int result, uint32_t id)
{
	struct vmop_result	vmr;

	memset(&vmr, 0, sizeof(vmr));
	vmr.vmr_result = result;
	vmr.vmr_id = id;
	proc_compose(&env->ps, PROC_CONTROL, type, peerid, -1, &vmr,
	    sizeof(vmr));
}

/*
 * vmctl send (root only, as control enforces): the VM process writes
 * the VM to the client's descriptor, answers, and ends.
 */
static void
handle_send(struct imsg *imsg)
{
	struct vmop_id	 vid;
	struct vmd_vm	*vm;
	uint32_t	 peer = imsg_get_id(imsg);
	int		 fd, res = 0;

	fd = imsg_get_fd(imsg);
	if (imsg_get_fixed(imsg, &vid, sizeof(vid), "send request") == -1)
		res = EINVAL;
	else if ((vm = vm_byvid(&vid)) == NULL)
		res = ENOENT;
	else if (vm_checkperm(vm, vid.vid_uid) != 0)
		res = EPERM;
	else if (vm->vm_pid == 0 || !(vm->vm_state & VM_STATE_RUNNING))
		res = EINVAL;
	else if (vm->vm_state & VM_STATE_SHUTDOWN)
		res = EALREADY;
	else if (fd == -1)
		res = EBADF;
	if (res != 0) {
		if (fd != -1)
			close(fd);
		reply_result(IMSG_VMDOP_SEND_VM_RESPONSE, peer, res, 0);
		return;
	}
	vid.vid_id = vm->vm_vmid;
	log_debug("%s: sending %s (vm %u)", __func__,
	    vm->vm_params.vmc_params.vcp_name, vm->vm_vmid);
	proc_compose(&env->ps, PROC_VMM, IMSG_VMDOP_SEND_VM_REQUEST, peer, fd,
	    &vid, sizeof(vid));
}

/*
 * vmctl receive (root only): the stream's header and parameters came
 * with the request, read by vmctl; the VM is registered under the new
 * name and started from them, its VM process reading the rest.  As
 * upstream, the disks are opened at the paths the sender used.
 */
static void
handle_receive(struct imsg *imsg)
{
	struct vmop_create_params	*vmc = NULL;
	struct vmop_id			 vid;
	struct vmd_vm			*vm = NULL;
	const char			*why;
	uint32_t			 peer = imsg_get_id(imsg);
	uint8_t				*buf = NULL;
	size_t				 len = imsg_get_len(imsg);
	int				 fd, res = 0;

	fd = imsg_get_fd(imsg);
	if (len != sizeof(vid) + VMS_PREFIX_LEN || fd == -1 ||
	    (buf = malloc(len)) == NULL ||
	    (vmc = malloc(sizeof(*vmc))) == NULL) {
		res = EINVAL;
		goto fail;
	}
	(void)imsg_get_data(imsg, buf, len);
	memcpy(&vid, buf, sizeof(vid));
	vid.vid_name[sizeof(vid.vid_name) - 1] = '\0';
	if (!vm_name_valid(vid.vid_name)) {
		res = EINVAL;
		goto fail;
	}
	if ((why = vms_prefix_check(buf + sizeof(vid), VMS_PREFIX_LEN,
	    vmc)) != NULL) {
		log_warnx("receive %s: %s", vid.vid_name, why);
		res = VMD_RECV_FORMAT;
		goto fail;
	}
	if (vm_getbyname(vid.vid_name) != NULL) {
		res = EALREADY;
		goto fail;
	}
	/* the sender's VM, under our name, root's, no template */
	strlcpy(vmc->vmc_params.vcp_name, vid.vid_name,
	    sizeof(vmc->vmc_params.vcp_name));
	vmc->vmc_flags &= ~VMOP_CREATE_INSTANCE;
	vmc->vmc_instance[0] = '\0';
	vmc->vmc_insflags = 0;
	vmc->vmc_owner.uid = 0;
	vmc->vmc_owner.gid = -1;
	vmc->vmc_checkaccess = 0;

	if ((vm = calloc(1, sizeof(*vm))) == NULL) {
		res = ENOMEM;
		goto fail;
	}
	vm->vm_params = *vmc;
	vm->vm_tty = vm->vm_tty_slave = -1;
	vm->vm_kernel = vm->vm_initrd = -1;
	vm->vm_uid = 0;
	vm->vm_state |= VM_STATE_RECEIVED;
	vm->vm_recvprefix = buf;
	vm->vm_recvfd = fd;
	memmove(buf, buf + sizeof(vid), VMS_PREFIX_LEN);
	buf = NULL;
	fd = -1;
	vm->vm_vmid = vm_claimid(vm->vm_params.vmc_params.vcp_name, 0);
	TAILQ_INSERT_TAIL(&env->vms, vm, vm_entry);
	if ((res = vm_start(vm, peer)) != 0) {
		vm_remove(vm);
		goto fail;
	}
	free(vmc);
	return;
 fail:
	if (fd != -1)
		close(fd);
	free(buf);
	free(vmc);
	reply_result(IMSG_VMDOP_START_VM_RESPONSE, peer, res, 0);
}

/*
 * A start request: what a user other than root makes vmd log about it
 * is limited per uid (log_limit), so that a client asking again and
 * again for what cannot be cannot flood the log.
 */
static void
handle_start(struct imsg *imsg)
{
	struct vmop_create_params	*vmc;

	if (imsg_get_len(imsg) == sizeof(*vmc) &&
	    (vmc = imsg->data) != NULL)
		log_limit(vmc->vmc_owner.uid);
	handle_start1(imsg);
	log_unlimit();
}

static void
handle_start1(struct imsg *imsg)
{
	struct vmop_create_params	 vmc;
	struct vmd_vm			*vm, *parent = NULL;
	uint32_t			 peer = imsg_get_id(imsg);
	uid_t				 uid;
	unsigned int			 i;
	int				 res, kernel, initrd = -1;

	kernel = imsg_get_fd(imsg);
	if (env->initrd_fd != -1) {
		if (env->initrd_peer == peer)
			initrd = env->initrd_fd;
		else
			close(env->initrd_fd);
		env->initrd_fd = -1;
	}
	if (imsg_get_fixed(imsg, &vmc, sizeof(vmc), "start request") == -1) {
		res = EINVAL;
		goto fail;
	}
	vmc.vmc_params.vcp_name[sizeof(vmc.vmc_params.vcp_name) - 1] = '\0';
	vmc.vmc_kernel[sizeof(vmc.vmc_kernel) - 1] = '\0';
	vmc.vmc_initrd[sizeof(vmc.vmc_initrd) - 1] = '\0';
	vmc.vmc_cmdline[sizeof(vmc.vmc_cmdline) - 1] = '\0';
	vmc.vmc_instance[sizeof(vmc.vmc_instance) - 1] = '\0';
	vmc.vmc_cdrom[sizeof(vmc.vmc_cdrom) - 1] = '\0';
	for (i = 0; i < VM_MAX_DISKS_PER_VM; i++)
		vmc.vmc_disks[i][sizeof(vmc.vmc_disks[i]) - 1] = '\0';
	for (i = 0; i < VM_MAX_NICS_PER_VM; i++)
		vmc.vmc_ifswitch[i][sizeof(vmc.vmc_ifswitch[i]) - 1] = '\0';
	uid = vmc.vmc_owner.uid;	/* set by control from SO_PEERCRED */

	if (!vm_name_valid(vmc.vmc_params.vcp_name)) {
		res = EINVAL;
		goto fail;
	}

	if ((vm = vm_getbyname(vmc.vmc_params.vcp_name)) != NULL) {
		/* an existing VM: start it as it was registered */
		if (vm->vm_pid != 0 || (vm->vm_state & VM_STATE_RUNNING)) {
			res = EALREADY;
			goto fail;
		}
		if (vm_checkperm(vm, uid) != 0) {
			res = EPERM;
			goto fail;
		}
		if (kernel == -1 && initrd == -1) {
			/* start it as it was registered */
			vm->vm_state &= ~VM_STATE_DISABLED;
			if ((res = vm_start(vm, peer)) != 0)
				goto fail;
			goto done;
		}
		/* new boot files: vm.conf's VMs keep theirs, as upstream */
		if (vm->vm_from_config) {
			res = EALREADY;
			goto fail;
		}
		/* a stopped VM of the command line is replaced (by root) */
		if (uid != 0) {
			res = EPERM;
			goto fail;
		}
		vm_remove(vm);
	}

	if (vmc.vmc_flags & VMOP_CREATE_INSTANCE) {
		if ((parent = vm_getbyname(vmc.vmc_instance)) == NULL) {
			res = VMD_PARENT_INVALID;
			goto fail;
		}
		if (uid != 0 && (parent->vm_params.vmc_insowner.uid != uid ||
		    (vmc.vmc_flags & ~parent->vm_params.vmc_insflags &
		    ~VMOP_CREATE_INSTANCE) != 0)) {
			res = EPERM;
			goto fail;
		}
	} else if (uid != 0) {
		/* only root creates VMs that vm.conf does not define */
		res = EPERM;
		goto fail;
	}

	/* sanity of what vmctl already checked: this may be any client */
	if (vmc.vmc_ndisks > VM_MAX_DISKS_PER_VM ||
	    vmc.vmc_nnics > VM_MAX_NICS_PER_VM) {
		res = EINVAL;
		goto fail;
	}
	if (vmc.vmc_flags & VMOP_CREATE_MEMORY) {
		if (vmc.vmc_params.vcp_memory_size < 1024 * 1024 ||
		    vmc.vmc_params.vcp_memory_size > VMM_MAX_VM_MEM_SIZE) {
			res = EINVAL;
			goto fail;
		}
		vmc.vmc_params.vcp_memory_size &= ~((size_t)1024 * 1024 - 1);
	}
	if ((vmc.vmc_flags & VMOP_CREATE_CPU) &&
	    (vmc.vmc_params.vcp_ncpus < 1 ||
	    vmc.vmc_params.vcp_ncpus > VMM_MAX_VCPUS_PER_VM)) {
		res = EINVAL;
		goto fail;
	}

	if ((vm = calloc(1, sizeof(*vm))) == NULL) {
		res = ENOMEM;
		goto fail;
	}
	if (parent != NULL) {
		vm->vm_params = parent->vm_params;
		strlcpy(vm->vm_params.vmc_params.vcp_name,
		    vmc.vmc_params.vcp_name, VMM_MAX_NAME_LEN);
		if (vmc.vmc_flags & VMOP_CREATE_MEMORY)
			vm->vm_params.vmc_params.vcp_memory_size =
			    vmc.vmc_params.vcp_memory_size;
		if (vmc.vmc_flags & VMOP_CREATE_CPU)
			vm->vm_params.vmc_params.vcp_ncpus =
			    vmc.vmc_params.vcp_ncpus;
		if (vmc.vmc_flags & VMOP_CREATE_KERNEL)
			strlcpy(vm->vm_params.vmc_kernel, vmc.vmc_kernel,
			    PATH_MAX);
		if (vmc.vmc_flags & VMOP_CREATE_CMDLINE)
			strlcpy(vm->vm_params.vmc_cmdline, vmc.vmc_cmdline,
			    VM_CMDLINE_MAX);
		if (vmc.vmc_flags & VMOP_CREATE_INITRD)
			strlcpy(vm->vm_params.vmc_initrd, vmc.vmc_initrd,
			    PATH_MAX);
		if (vmc.vmc_flags & VMOP_CREATE_CDROM)
			strlcpy(vm->vm_params.vmc_cdrom, vmc.vmc_cdrom,
			    PATH_MAX);
		/* an instance has its own disks, never its parent's */
		vm->vm_params.vmc_ndisks = 0;
		if (vmc.vmc_flags & VMOP_CREATE_DISK) {
			vm->vm_params.vmc_ndisks = vmc.vmc_ndisks;
			memcpy(vm->vm_params.vmc_disks, vmc.vmc_disks,
			    sizeof(vmc.vmc_disks));
			memcpy(vm->vm_params.vmc_disktypes, vmc.vmc_disktypes,
			    sizeof(vmc.vmc_disktypes));
		}
		if (vmc.vmc_flags & VMOP_CREATE_NETWORK) {
			vm->vm_params.vmc_nnics = vmc.vmc_nnics;
			memcpy(vm->vm_params.vmc_ifflags, vmc.vmc_ifflags,
			    sizeof(vmc.vmc_ifflags));
			memcpy(vm->vm_params.vmc_ifswitch, vmc.vmc_ifswitch,
			    sizeof(vmc.vmc_ifswitch));
			memset(vm->vm_params.vmc_ifnames, 0,
			    sizeof(vm->vm_params.vmc_ifnames));
			memset(vm->vm_params.vmc_macs, 0,
			    sizeof(vm->vm_params.vmc_macs));
		}
		/* what a user named is opened only if that user could */
		vm->vm_params.vmc_checkaccess = uid == 0 ? 0 : vmc.vmc_flags &
		    (VMOP_CREATE_KERNEL | VMOP_CREATE_INITRD |
		    VMOP_CREATE_DISK | VMOP_CREATE_CDROM);
		strlcpy(vm->vm_params.vmc_instance, parent->vm_params.
		    vmc_params.vcp_name, VMM_MAX_NAME_LEN);
		vm->vm_params.vmc_owner.uid = uid;
		vm->vm_params.vmc_owner.gid = -1;
		vm->vm_params.vmc_flags |= vmc.vmc_flags;
	} else {
		vm->vm_params = vmc;
		vm->vm_params.vmc_checkaccess = 0;	/* root's: not checked */
		vm->vm_params.vmc_owner.gid = -1;
		if (!(vmc.vmc_flags & VMOP_CREATE_MEMORY))
			vm->vm_params.vmc_params.vcp_memory_size =
			    VM_DEFAULT_MEMORY;
		if (!(vmc.vmc_flags & VMOP_CREATE_CPU))
			vm->vm_params.vmc_params.vcp_ncpus = 1;
	}
	vm->vm_tty = vm->vm_tty_slave = -1;
	vm->vm_kernel = kernel;
	vm->vm_initrd = initrd;
	kernel = initrd = -1;
	vm->vm_uid = uid;
	vm->vm_vmid = vm_claimid(vm->vm_params.vmc_params.vcp_name, uid);
	TAILQ_INSERT_TAIL(&env->vms, vm, vm_entry);
	if ((res = vm_start(vm, peer)) != 0) {
		vm_remove(vm);
		goto fail;
	}
 done:
	if (kernel != -1)
		close(kernel);
	if (initrd != -1)
		close(initrd);
	return;
 fail:
	if (kernel != -1)
		close(kernel);
	if (initrd != -1)
		close(initrd);
	reply_result(IMSG_VMDOP_START_VM_RESPONSE, peer, res, 0);
}

/* stop (TERMINATE_VM_REQUEST) and wait (WAIT_VM_REQUEST) */
static void
handle_terminate(struct imsg *imsg, int wait_only)
{
	struct vmop_id	 vid;
	struct vmd_vm	*vm;
	uint32_t	 peer = imsg_get_id(imsg);
	int		 res;

	if (imsg_get_fixed(imsg, &vid, sizeof(vid), "terminate request") ==
	    -1) {
		reply_result(IMSG_VMDOP_TERMINATE_VM_RESPONSE, peer, EINVAL, 0);
		return;
	}
	/*
	 * A VM still starting (running, its process not yet announced by
	 * vmm) can be stopped and waited for: vmm has its process by the
	 * time the request reaches it, the requests being in order.
	 */
	if ((vm = vm_byvid(&vid)) == NULL)
		res = ENOENT;
	else if (vm_checkperm(vm, vid.vid_uid) != 0)
		res = EPERM;
	else if (!wait_only && (vm->vm_state & VM_STATE_SHUTDOWN) &&
	    !(vid.vid_flags & VMOP_FORCE))
		res = EALREADY;
	else if (vm->vm_pid == 0 && !(vm->vm_state & VM_STATE_RUNNING))
		res = EINVAL;
	else
		res = 0;
	if (res != 0 || wait_only) {
		reply_result(IMSG_VMDOP_TERMINATE_VM_RESPONSE, peer, res,
		    vm != NULL ? vm->vm_vmid : 0);
		return;
	}
	vid.vid_id = vm->vm_vmid;
	vm->vm_state |= VM_STATE_SHUTDOWN;
	if (!(vid.vid_flags & VMOP_FORCE))
		vm->vm_state &= ~VM_STATE_PAUSED;	/* resumed to answer */
	proc_compose(&env->ps, PROC_VMM, IMSG_VMDOP_TERMINATE_VM_REQUEST,
	    peer, -1, &vid, sizeof(vid));
}

static void
handle_pause(struct imsg *imsg, int pause)
{
	struct vmop_id	 vid;
	struct vmd_vm	*vm;
	uint32_t	 peer = imsg_get_id(imsg);
	uint32_t	 rtype = pause ? IMSG_VMDOP_PAUSE_VM_RESPONSE :
			    IMSG_VMDOP_UNPAUSE_VM_RESPONSE;
	int		 res = 0;

	if (imsg_get_fixed(imsg, &vid, sizeof(vid), "pause request") == -1) {
		reply_result(rtype, peer, EINVAL, 0);
		return;
	}
	if ((vm = vm_byvid(&vid)) == NULL)
		res = ENOENT;
	else if (vm_checkperm(vm, vid.vid_uid) != 0)
		res = EPERM;
	else if (vm->vm_pid == 0)
		res = EINVAL;
	else if (pause && (vm->vm_state & VM_STATE_PAUSED))
		res = EALREADY;
	else if (!pause && !(vm->vm_state & VM_STATE_PAUSED))
		res = EINVAL;
	if (res != 0) {
		reply_result(rtype, peer, res, vm != NULL ? vm->vm_vmid : 0);
		return;
	}
	vid.vid_id = vm->vm_vmid;
	proc_compose(&env->ps, PROC_VMM, pause ? IMSG_VMDOP_PAUSE_VM :
	    IMSG_VMDOP_UNPAUSE_VM, peer, -1, &vid, sizeof(vid));
}

/*
 * Guest RAM really touched: the Rss of the VM process's guest memory,
 * the one mapping it advises for huge pages and keeps out of core dumps
 * (VmFlags "hg" and "dd"; x86_create_memory).  Each mapping's VmFlags
 * line follows its Rss line.
 *
 * The kernel writes some 25 lines of smaps for each of the process's
 * mappings, nearly all the time of a status of many VMs.  So smaps is
 * read at most every VM_USED_AGE seconds for a VM; in between, the
 * figure follows the process's anonymous memory (statm: resident less
 * file-backed, kept by the kernel as counters), which once the VM runs
 * moves with its guest's memory and nothing else of size.
 */
#define VM_USED_AGE	10

/* The process's anonymous memory in bytes, 0 if unknown. */
static size_t
vm_anon_size(pid_t pid)
{
	char			 path[64], buf[128];
	unsigned long long	 size, res, shared;
	ssize_t			 n;
	int			 fd;

	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return (0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return (0);
	buf[n] = '\0';
	if (sscanf(buf, "%llu %llu %llu", &size, &res, &shared) != 3 ||
	    shared > res)
		return (0);
	return ((size_t)(res - shared) * (size_t)getpagesize());
}

static size_t
vm_used_size(struct vmd_vm *vm)
{
	char		 path[64], line[256], *end;
	FILE		*fp;
	size_t		 total = 0, rss = 0, anon, max;
	struct timespec	 now;
	unsigned long long kb;

	clock_gettime(CLOCK_MONOTONIC, &now);
	anon = vm_anon_size(vm->vm_pid);
	if (anon != 0 && vm->vm_used_pid == vm->vm_pid &&
	    now.tv_sec - vm->vm_used_at.tv_sec < VM_USED_AGE) {
		max = vm->vm_params.vmc_params.vcp_memory_size;
		if (anon + vm->vm_used <= vm->vm_used_anon)
			return (0);
		total = vm->vm_used + anon - vm->vm_used_anon;
		return (total < max ? total : max);
	}

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)vm->vm_pid);
	if ((fp = fopen(path, "re")) == NULL)
		return (0);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (strncmp(line, "Rss:", 4) == 0) {
			kb = strtoull(line + 4, &end, 10);
			rss = end != line + 4 ? (size_t)kb * 1024 : 0;
		} else if (strncmp(line, "VmFlags:", 8) == 0) {
			if (strstr(line, " hg") != NULL &&
			    strstr(line, " dd") != NULL)
				total += rss;
			rss = 0;
		}
	}
	fclose(fp);
	if (anon != 0) {
		vm->vm_used = total;
		vm->vm_used_anon = anon;
		vm->vm_used_pid = vm->vm_pid;
		vm->vm_used_at = now;
	}
	return (total);
}

static void
vm_info_send(uint32_t peer)
{
	struct vmop_info_result	 vir;
	struct vmd_vm		*vm;
	int			 pass;

	/* running VMs first, then the others, as upstream lists them */
	for (pass = 0; pass < 2; pass++) {
		TAILQ_FOREACH(vm, &env->vms, vm_entry) {
			if ((pass == 0) != (vm->vm_pid != 0))
				continue;
			memset(&vir, 0, sizeof(vir));
			vir.vir_info.vir_memory_size =
			    vm->vm_params.vmc_params.vcp_memory_size;
			vir.vir_info.vir_ncpus =
			    vm->vm_params.vmc_params.vcp_ncpus;
			vir.vir_info.vir_id = vm->vm_vmid;
			strlcpy(vir.vir_info.vir_name,
			    vm->vm_params.vmc_params.vcp_name,
			    sizeof(vir.vir_info.vir_name));
			if (vm->vm_pid != 0) {
				vir.vir_info.vir_creator_pid = vm->vm_pid;
				vir.vir_info.vir_used_size =
				    vm_used_size(vm);
				strlcpy(vir.vir_ttyname, vm->vm_ttyname,
				    sizeof(vir.vir_ttyname));
			}
			vir.vir_uid = vm->vm_params.vmc_owner.uid;
			vir.vir_gid = vm->vm_params.vmc_owner.gid;
			vir.vir_state = vm->vm_state;
			proc_compose(&env->ps, PROC_CONTROL,
			    IMSG_VMDOP_GET_INFO_VM_DATA, peer, -1, &vir,
			    sizeof(vir));
		}
	}
	proc_compose(&env->ps, PROC_CONTROL, IMSG_VMDOP_GET_INFO_VM_END_DATA,
	    peer, -1, NULL, 0);
}

/* A VM process ended: restart it on a guest reset, else record the stop. */
static void
vm_terminated(struct vmop_result *vmr)
{
	struct vmd_vm		*vm;
	struct timespec		 now;
	const char		*name;
	int			 res = vmr->vmr_result, shutdown, restart = 0;

	if ((vm = vm_getbyid(vmr->vmr_id)) == NULL) {
		/* removed by a reset: its waiters still hear of the end */
		proc_compose(&env->ps, PROC_CONTROL,
		    IMSG_VMDOP_TERMINATE_VM_EVENT, 0, -1, vmr, sizeof(*vmr));
		return;
	}
	name = vm->vm_params.vmc_params.vcp_name;
	shutdown = (vm->vm_state & VM_STATE_SHUTDOWN) != 0;
	vm->vm_pid = 0;
	vm->vm_state &= ~(VM_STATE_RUNNING | VM_STATE_PAUSED |
	    VM_STATE_SHUTDOWN);

	if (res == VM_EXIT_REBOOT && !shutdown) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - vm->vm_start_tv.tv_sec < VM_START_RATE_SEC) {
			if (++vm->vm_start_limit >= VM_START_RATE_LIMIT)
				log_warnx("vm %u restarted too quickly",
				    vm->vm_vmid);
			else
				restart = 1;
		} else {
			vm->vm_start_limit = 0;
			restart = 1;
		}
		if (restart) {
			log_info("%s: vm %u is rebooting", name, vm->vm_vmid);
			if ((res = vm_start(vm, 0)) == 0)
				return;
			log_warnx("%s: restart failed (%d)", name, res);
		}
	}

	if (res == VM_EXIT_CRASH) {
		log_warnx("%s: vm %u crashed (KVM error, see the log)",
		    name, vm->vm_vmid);
		vm->vm_state |= VM_STATE_CRASHED;
	} else if (VM_EXIT_SIGNALED(res) && res - 128 == SIGSYS)
		log_warnx("%s: vm %u process killed by signal %d: a system "
		    "call its sandbox forbids", name, vm->vm_vmid, res - 128);
	else if (VM_EXIT_SIGNALED(res))
		log_warnx("%s: vm %u process killed by signal %d", name,
		    vm->vm_vmid, res - 128);
	else if (res == VM_EXIT_ERROR)
		log_warnx("%s: vm %u failed", name, vm->vm_vmid);
	else
		log_info("%s: vm %u stopped", name, vm->vm_vmid);

	proc_compose(&env->ps, PROC_CONTROL, IMSG_VMDOP_TERMINATE_VM_EVENT,
	    0, -1, vmr, sizeof(*vmr));
	vm_stopped(vm);
	/* a VM of the command line goes away once stopped (vmctl(8)) */
	if (!vm->vm_from_config && (res == VM_EXIT_POWEROFF ||
	    res == VM_EXIT_REBOOT))
		vm_remove(vm);
}

static void
vm_stopped(struct vmd_vm *vm)
{
	unsigned int	i;

	vm->vm_pid = 0;
	/* its taps went with the VM process's descriptors */
	for (i = 0; i < VM_MAX_NICS_PER_VM; i++)
		vm->vm_ifs[i][0] = '\0';
	vm_closetty(vm);
}

static void
parent_dispatch_control(struct imsg *imsg)
{
	uint32_t	 peer = imsg_get_id(imsg);
	unsigned int	 what;
	int		 v, res = 0;
	char		 path[PATH_MAX];
	size_t		 len;

	switch (imsg_get_type(imsg)) {
	case IMSG_VMDOP_DONE:
		/* the control process listens: vmd is ready (not a client's) */
		if (peer == 0)
			vmd_notify("READY=1");
		return;
	case IMSG_VMDOP_START_VM_INITRD:
		if (env->initrd_fd != -1)
			close(env->initrd_fd);
		env->initrd_fd = imsg_get_fd(imsg);
		env->initrd_peer = peer;
		return;
	case IMSG_VMDOP_START_VM_REQUEST:
		handle_start(imsg);
		return;
	default:
		break;
	}
	/* anything else means the stashed initrd was not for a start */
	if (env->initrd_fd != -1) {
		close(env->initrd_fd);
		env->initrd_fd = -1;
	}

	switch (imsg_get_type(imsg)) {
	case IMSG_VMDOP_TERMINATE_VM_REQUEST:
		handle_terminate(imsg, 0);
		break;
	case IMSG_VMDOP_WAIT_VM_REQUEST:
		handle_terminate(imsg, 1);
		break;
	case IMSG_VMDOP_PAUSE_VM:
		handle_pause(imsg, 1);
		break;
	case IMSG_VMDOP_UNPAUSE_VM:
		handle_pause(imsg, 0);
		break;
	case IMSG_VMDOP_GET_INFO_VM_REQUEST:
		vm_info_send(peer);
		break;
	case IMSG_VMDOP_LOAD:
		len = imsg_get_len(imsg);
		if (len == 0 || len > sizeof(path) ||
		    imsg_get_data(imsg, path, len) == -1 ||
		    path[len - 1] != '\0') {
			res = EINVAL;
		} else if (vmd_load(path, 0) == -1) {
			res = EINVAL;
		} else {
			struct vmd_vm	*vm;

			TAILQ_FOREACH(vm, &env->vms, vm_entry)
				if (vm->vm_pid == 0 && vm->vm_from_config &&
				    !(vm->vm_state & (VM_STATE_DISABLED |
				    VM_STATE_RUNNING | VM_STATE_CRASHED)))
					vm->vm_state |= VM_STATE_WAITING;
			vmd_stagger_arm(0);
		}
		goto okfail;
	case IMSG_VMDOP_RELOAD:
		vmd_reset(CONFIG_RELOAD);
		goto okfail;
	case IMSG_CTL_RESET:
		if (imsg_get_fixed(imsg, &what, sizeof(what), "reset") == -1)
			res = EINVAL;
		else if (what != CONFIG_ALL && what != CONFIG_VMS &&
		    what != CONFIG_SWITCHES)
			res = EINVAL;
		else
			vmd_reset(what);
		goto okfail;
	case IMSG_CTL_VERBOSE:
		if (imsg_get_fixed(imsg, &v, sizeof(v), "verbose") == -1) {
			res = EINVAL;
			goto okfail;
		}
		log_setverbose(v);
		proc_compose(&env->ps, PROC_VMM, IMSG_CTL_VERBOSE, 0, -1, &v,
		    sizeof(v));
		proc_compose(&env->ps, PROC_PRIV, IMSG_CTL_VERBOSE, 0, -1, &v,
		    sizeof(v));
		goto okfail;
	case IMSG_VMDOP_SEND_VM_REQUEST:
		handle_send(imsg);
		break;
	case IMSG_VMDOP_RECEIVE_VM_REQUEST:
		handle_receive(imsg);
		break;
	default:
		log_warnx("%s: unexpected message %u from control", __func__,
		    imsg_get_type(imsg));
		res = EINVAL;
		goto okfail;
	}
	return;
 okfail:
	if (res == 0)
		proc_compose(&env->ps, PROC_CONTROL, IMSG_CTL_OK, peer, -1,
		    NULL, 0);
	else
		proc_compose(&env->ps, PROC_CONTROL, IMSG_CTL_FAIL, peer, -1,
		    &res, sizeof(res));
}

static void
parent_dispatch_vmm(struct imsg *imsg)
{
	struct vmop_result	 vmr;
	struct vmd_vm		*vm;
	uint32_t		 type = imsg_get_type(imsg);

	if (imsg_get_fixed(imsg, &vmr, sizeof(vmr), "vmm result") == -1)
		return;
	vmr.vmr_ttyname[sizeof(vmr.vmr_ttyname) - 1] = '\0';
	vm = vm_getbyid(vmr.vmr_id);

	switch (type) {
	case IMSG_VMDOP_START_VM_RESPONSE:
		if (vm == NULL)
			return;
		if (vmr.vmr_result == 0) {
			vm->vm_pid = vmr.vmr_pid;
			strlcpy(vmr.vmr_ttyname, vm->vm_ttyname,
			    sizeof(vmr.vmr_ttyname));
			log_info("started %s (vm %u) successfully, tty %s",
			    vm->vm_params.vmc_params.vcp_name, vm->vm_vmid,
			    vm->vm_ttyname);
		} else {
			log_warnx("%s: vm %u failed to start",
			    vm->vm_params.vmc_params.vcp_name, vm->vm_vmid);
			vm->vm_state &= ~(VM_STATE_RUNNING | VM_STATE_SHUTDOWN);
			vm_stopped(vm);
			/* a stop or wait while it started: it is over */
			proc_compose(&env->ps, PROC_CONTROL,
			    IMSG_VMDOP_TERMINATE_VM_EVENT, 0, -1, &vmr,
			    sizeof(vmr));
		}
		if (vm->vm_peerid != 0)
			proc_compose(&env->ps, PROC_CONTROL, type,
			    vm->vm_peerid, -1, &vmr, sizeof(vmr));
		vm->vm_peerid = 0;
		if (vmr.vmr_result != 0 && !vm->vm_from_config)
			vm_remove(vm);
		break;
	case IMSG_VMDOP_TERMINATE_VM_EVENT:
		vm_terminated(&vmr);
		break;
	case IMSG_VMDOP_TERMINATE_VM_RESPONSE:
		if (vmr.vmr_result != 0 && vm != NULL)
			vm->vm_state &= ~VM_STATE_SHUTDOWN;
		proc_compose(&env->ps, PROC_CONTROL, type, imsg_get_id(imsg),
		    -1, &vmr, sizeof(vmr));
		break;
	case IMSG_VMDOP_SEND_VM_RESPONSE:
		if (vm != NULL && vmr.vmr_result == 0) {
			/* it ends now: no restart when it exits */
			vm->vm_state |= VM_STATE_SHUTDOWN;
			log_info("%s: vm %u sent",
			    vm->vm_params.vmc_params.vcp_name, vm->vm_vmid);
		}
		proc_compose(&env->ps, PROC_CONTROL, type, imsg_get_id(imsg),
		    -1, &vmr, sizeof(vmr));
		break;
	case IMSG_VMDOP_PAUSE_VM_RESPONSE:
	case IMSG_VMDOP_UNPAUSE_VM_RESPONSE:
		if (vm != NULL && vmr.vmr_result == 0) {
			if (type == IMSG_VMDOP_PAUSE_VM_RESPONSE)
				vm->vm_state |= VM_STATE_PAUSED;
			else
				vm->vm_state &= ~VM_STATE_PAUSED;
		}
		proc_compose(&env->ps, PROC_CONTROL, type, imsg_get_id(imsg),
		    -1, &vmr, sizeof(vmr));
		break;
	default:
		log_warnx("%s: unexpected message %u from vmm", __func__, type);
		break;
	}
}

static void
parent_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	if (iev == &env->ps.ps_ievs[PROC_CONTROL])
		parent_dispatch_control(imsg);
	else if (iev == &env->ps.ps_ievs[PROC_VMM])
		parent_dispatch_vmm(imsg);
	else
		log_debug("%s: message %u from %s", __func__,
		    imsg_get_type(imsg), iev->name);
}
