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
 * The vmm process: starts one VM process per VM (fork and re-exec of vmd
 * with -V), passes it what the parent opened, relays pause and stop
 * requests, enforces the graceful-stop timeout and reports how each VM
 * process ended.
 */

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmd.h"
#include "vmstate.h"
#include "vmm.h"
#include "proc.h"
#include "log.h"

/* a disk, cdrom or tap descriptor on its way to the VM process */
#define VMM_MAX_XFDS	(VM_MAX_DISKS_PER_VM * (1 + VM_MAX_BASE_PER_DISK) + 1 + \
			    VM_MAX_NICS_PER_VM)
struct vmm_xfd {
	uint32_t			 type;
	union {
		struct vmop_disk	 vd;
		struct vmop_if		 vi;
	}				 u;
	size_t				 len;	/* of u */
	int				 fd;
};

struct vmm_vm {
	TAILQ_ENTRY(vmm_vm)		 entry;
	uint32_t			 id;
	pid_t				 pid;
	char				 name[VMM_MAX_NAME_LEN];
	struct imsgev			 iev;
	int				 channel;	/* iev is set up */
	int				 started;	/* answered START */
	struct vmop_create_params	*vmc;		/* until exec */
	int				 kernel;
	int				 initrd;
	struct vmm_xfd			 xfd[VMM_MAX_XFDS];	/* disks */
	int				 nxfd;
	uint32_t			 pause_peer;
	uint32_t			 unpause_peer;
	uint32_t			 send_peer;
	/* receive: the stream, and its first bytes */
	int				 recvfd;
	void				*recvprefix;
	struct event			 timer;
	int				 timer_armed;
	int				 killing;
	int				 failed;	/* start result */
	int				 stop_killed;	/* by vmm_timer */
	int				 note;	/* its sandbox's last word */
};
TAILQ_HEAD(vmm_vmlist, vmm_vm);

static struct {
	struct privsep		*ps;
	struct vmm_vmlist	 vms;
	int			 kvmfd;
	int			 selffd;
	int			 stop_timeout;
	int			 nsok;	/* VM processes get namespaces */
	struct event		 ev_sigchld, ev_sigterm, ev_sigint;
} vmm;

static void	vmm_parent_dispatch(struct imsgev *, struct imsg *);
static void	vmm_parent_closed(struct imsgev *);
static void	vmm_vm_dispatch(struct imsgev *, struct imsg *);
static void	vmm_vm_closed(struct imsgev *);
static void	vmm_sig(int, short, void *);
static void	vmm_vm_exec(struct vmm_vm *, int);
static void	vmm_vm_free(struct vmm_vm *);
static void	vmm_timer(int, short, void *);
static struct vmm_vm *vmm_getbyid(uint32_t);

__dead void
vmm_main(struct privsep *ps, int fd)
{
	/*
	 * A VM's 31 KB of parameters, held until its process runs, and its
	 * channel's 64 KB read buffer: mapped and unmapped on their own, so
	 * that freed parameters do not pin heap pages between buffers (100
	 * VMs: 28 KB of vmm's Rss each before, 16 KB after).
	 */
	mallopt(M_MMAP_THRESHOLD, 32 * 1024);
	event_init();
	vmm.ps = ps;
	vmm.kvmfd = -1;
	vmm.stop_timeout = VMD_STOP_TIMEOUT;
	vmm.nsok = 1;
	TAILQ_INIT(&vmm.vms);

	/* VM processes are re-executed from this binary, after we drop root */
	if ((vmm.selffd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) == -1)
		fatal("%s: /proc/self/exe", __func__);

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal_set(&vmm.ev_sigchld, SIGCHLD, vmm_sig, NULL);
	signal_set(&vmm.ev_sigterm, SIGTERM, vmm_sig, NULL);
	signal_set(&vmm.ev_sigint, SIGINT, vmm_sig, NULL);
	signal_add(&vmm.ev_sigchld, NULL);
	signal_add(&vmm.ev_sigterm, NULL);
	signal_add(&vmm.ev_sigint, NULL);

	proc_child_init(ps, PROC_VMM, fd, vmm_parent_dispatch,
	    vmm_parent_closed);
	event_dispatch();
	fatalx("%s: event loop ended", __func__);
}

static __dead void
vmm_shutdown(void)
{
	struct vmm_vm	*vm;
	int		 i, status;

	TAILQ_FOREACH(vm, &vmm.vms, entry)
		if (vm->pid > 0)
			kill(vm->pid, SIGTERM);
	/* give them a moment, then make sure */
	for (i = 0; i < 20 && !TAILQ_EMPTY(&vmm.vms); i++) {
		while (waitpid(WAIT_ANY, &status, WNOHANG) > 0)
			;
		TAILQ_FOREACH(vm, &vmm.vms, entry)
			if (vm->pid > 0 && kill(vm->pid, 0) == -1)
				vm->pid = 0;
		usleep(50000);
	}
	TAILQ_FOREACH(vm, &vmm.vms, entry)
		if (vm->pid > 0)
			kill(vm->pid, SIGKILL);
	exit(0);
}

static void
vmm_parent_closed(struct imsgev *iev)
{
	(void)iev;
	vmm_shutdown();
}

static struct vmm_vm *
vmm_getbyid(uint32_t id)
{
	struct vmm_vm	*vm;

	TAILQ_FOREACH(vm, &vmm.vms, entry)
		if (vm->id == id && !vm->killing)
			return (vm);
	return (NULL);
}

static void
vmm_result(uint32_t type, uint32_t peer, int res, uint32_t id, pid_t pid)
{
	struct vmop_result	vmr;

	memset(&vmr, 0, sizeof(vmr));
	vmr.vmr_result = res;
	vmr.vmr_id = id;
	vmr.vmr_pid = pid;
	proc_compose(vmm.ps, PROC_PARENT, type, peer, -1, &vmr, sizeof(vmr));
}

static void
vmm_vm_free(struct vmm_vm *vm)
{
	TAILQ_REMOVE(&vmm.vms, vm, entry);
	if (vm->channel)
		imsgev_clear(&vm->iev);
	if (vm->timer_armed)
		evtimer_del(&vm->timer);
	if (vm->kernel != -1)
		close(vm->kernel);
	if (vm->initrd != -1)
		close(vm->initrd);
	if (vm->note != -1)
		close(vm->note);
	while (vm->nxfd > 0)
		close(vm->xfd[--vm->nxfd].fd);
	if (vm->recvprefix != NULL) {
		close(vm->recvfd);
		free(vm->recvprefix);
	}
	free(vm->vmc);
	free(vm);
}

static void
vmm_parent_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct vmm_vm	*vm;
	struct vmm_xfd	*x;
	struct vmop_id	 vid;
	struct timeval	 tv;
	const unsigned long *reqs;
	size_t		 nreqs;
	uint32_t	 type = imsg_get_type(imsg), id = imsg_get_id(imsg);
	int		 fd, v;

	(void)iev;
	switch (type) {
	case IMSG_VMDOP_RECEIVE_VMM_FD:
		if (vmm.kvmfd != -1)
			fatalx("%s: kvm descriptor sent twice", __func__);
		if ((vmm.kvmfd = imsg_get_fd(imsg)) == -1)
			fatalx("%s: no kvm descriptor", __func__);
		if (imsg_get_fixed(imsg, &vmm.stop_timeout,
		    sizeof(vmm.stop_timeout), "stop timeout") == -1)
			vmm.stop_timeout = VMD_STOP_TIMEOUT;
		proc_drop_privileges(VMD_USER, NULL, 0);
		reqs = vmm_sandbox_ioctls(1, &nreqs);
		sandbox_ioctls(reqs, nreqs);
		if (sandbox_drop(SANDBOX_VMM) == -1)
			fatal("%s: sandbox", __func__);
		break;
	case IMSG_VMDOP_START_VM_REQUEST:
		fd = imsg_get_fd(imsg);
		if ((vm = vmm_getbyid(id)) != NULL) {
			if (fd != -1)
				close(fd);
			vmm_result(IMSG_VMDOP_START_VM_RESPONSE, id, EALREADY,
			    id, 0);
			break;
		}
		if ((vm = calloc(1, sizeof(*vm))) == NULL ||
		    (vm->vmc = malloc(sizeof(*vm->vmc))) == NULL ||
		    imsg_get_fixed(imsg, vm->vmc, sizeof(*vm->vmc),
		    "start request") == -1) {
			if (fd != -1)
				close(fd);
			if (vm != NULL)
				free(vm->vmc);
			free(vm);
			vmm_result(IMSG_VMDOP_START_VM_RESPONSE, id, ENOMEM,
			    id, 0);
			break;
		}
		vm->id = id;
		vm->kernel = fd;
		vm->initrd = -1;
		vm->note = -1;
		strlcpy(vm->name, vm->vmc->vmc_params.vcp_name,
		    sizeof(vm->name));
		TAILQ_INSERT_TAIL(&vmm.vms, vm, entry);
		break;
	case IMSG_VMDOP_START_VM_INITRD:
		fd = imsg_get_fd(imsg);
		if ((vm = vmm_getbyid(id)) == NULL || vm->vmc == NULL) {
			if (fd != -1)
				close(fd);
			break;
		}
		if (vm->initrd != -1)
			close(vm->initrd);
		vm->initrd = fd;
		break;
	case IMSG_VMDOP_START_VM_DISK:
	case IMSG_VMDOP_START_VM_CDROM:
	case IMSG_VMDOP_START_VM_IF:
		fd = imsg_get_fd(imsg);
		if ((vm = vmm_getbyid(id)) == NULL || vm->vmc == NULL ||
		    fd == -1 || vm->nxfd >= VMM_MAX_XFDS) {
			if (fd != -1)
				close(fd);
			break;
		}
		x = &vm->xfd[vm->nxfd];
		memset(x, 0, sizeof(*x));
		if (type == IMSG_VMDOP_START_VM_DISK)
			x->len = sizeof(x->u.vd);
		else if (type == IMSG_VMDOP_START_VM_IF)
			x->len = sizeof(x->u.vi);
		if (x->len != 0 && imsg_get_fixed(imsg, &x->u, x->len,
		    "start descriptor") == -1) {
			close(fd);
			break;
		}
		x->type = type;
		x->fd = fd;
		vm->nxfd++;
		break;
	case IMSG_VMDOP_RECEIVE_VM_STREAM:
		fd = imsg_get_fd(imsg);
		if ((vm = vmm_getbyid(id)) == NULL || vm->vmc == NULL ||
		    fd == -1 || vm->recvprefix != NULL ||
		    imsg_get_len(imsg) != VMS_PREFIX_LEN ||
		    (vm->recvprefix = malloc(VMS_PREFIX_LEN)) == NULL) {
			if (fd != -1)
				close(fd);
			break;
		}
		(void)imsg_get_data(imsg, vm->recvprefix, VMS_PREFIX_LEN);
		vm->recvfd = fd;
		break;
	case IMSG_VMDOP_SEND_VM_REQUEST:
		fd = imsg_get_fd(imsg);
		if (imsg_get_fixed(imsg, &vid, sizeof(vid), "send") == -1 ||
		    (vm = vmm_getbyid(vid.vid_id)) == NULL || !vm->started ||
		    vm->pid == 0 || !vm->channel || vm->send_peer != 0) {
			if (fd != -1)
				close(fd);
			vmm_result(IMSG_VMDOP_SEND_VM_RESPONSE, id, ENOENT,
			    vid.vid_id, 0);
			break;
		}
		vm->send_peer = id;
		imsgev_compose(&vm->iev, type, 0, 0, fd, &vid, sizeof(vid));
		break;
	case IMSG_VMDOP_START_VM_END:
		fd = imsg_get_fd(imsg);
		if ((vm = vmm_getbyid(id)) == NULL || vm->vmc == NULL) {
			if (fd != -1)
				close(fd);
			break;
		}
		vmm_vm_exec(vm, fd);
		break;
	case IMSG_VMDOP_TERMINATE_VM_REQUEST:
		if (imsg_get_fixed(imsg, &vid, sizeof(vid), "terminate") ==
		    -1)
			break;
		if ((vm = vmm_getbyid(vid.vid_id)) == NULL ||
		    vm->pid == 0) {
			vmm_result(IMSG_VMDOP_TERMINATE_VM_RESPONSE, id,
			    VMD_VM_STOP_INVALID, vid.vid_id, 0);
			break;
		}
		if (vid.vid_flags & VMOP_FORCE) {
			imsgev_compose(&vm->iev,
			    IMSG_VMDOP_TERMINATE_VM_REQUEST, 0, 0, -1, NULL, 0);
			tv.tv_sec = 1;	/* then it is killed */
		} else {
			imsgev_compose(&vm->iev, IMSG_VMDOP_VM_SHUTDOWN, 0, 0,
			    -1, NULL, 0);
			tv.tv_sec = vmm.stop_timeout;
		}
		tv.tv_usec = 0;
		if (vm->timer_armed)
			evtimer_del(&vm->timer);
		evtimer_set(&vm->timer, vmm_timer, vm);
		evtimer_add(&vm->timer, &tv);
		vm->timer_armed = 1;
		vmm_result(IMSG_VMDOP_TERMINATE_VM_RESPONSE, id, 0, vm->id,
		    vm->pid);
		break;
	case IMSG_VMDOP_PAUSE_VM:
	case IMSG_VMDOP_UNPAUSE_VM:
		if (imsg_get_fixed(imsg, &vid, sizeof(vid), "pause") == -1)
			break;
		if ((vm = vmm_getbyid(vid.vid_id)) == NULL || !vm->started) {
			vmm_result(type == IMSG_VMDOP_PAUSE_VM ?
			    IMSG_VMDOP_PAUSE_VM_RESPONSE :
			    IMSG_VMDOP_UNPAUSE_VM_RESPONSE, id, ENOENT,
			    vid.vid_id, 0);
			break;
		}
		if (type == IMSG_VMDOP_PAUSE_VM)
			vm->pause_peer = id;
		else
			vm->unpause_peer = id;
		imsgev_compose(&vm->iev, type, 0, 0, -1, &vid, sizeof(vid));
		break;
	case IMSG_CTL_VERBOSE:
		if (imsg_get_fixed(imsg, &v, sizeof(v), "verbose") == -1)
			break;
		log_setverbose(v);
		TAILQ_FOREACH(vm, &vmm.vms, entry)
			if (vm->channel)
				imsgev_compose(&vm->iev, IMSG_CTL_VERBOSE, 0,
				    0, -1, &v, sizeof(v));
		break;
	default:
		log_warnx("%s: unexpected message %u", __func__, type);
		break;
	}
}

/*
 * fork and re-exec: the VM process finds its channel on 3, KVM on 4 and
 * its sandbox's note pipe on 5 (sandbox_note).  It has namespaces of
 * its own (sandbox_fork_vm) where the kernel lets an unprivileged
 * process make them.
 */
static void
vmm_vm_exec(struct vmm_vm *vm, int tty)
{
	char		*argv[12];
	extern char	**environ;
	int		 sp[2], np[2], argc = 0, i, v, nsok;
	pid_t		 pid;

	/* non-blocking, as every channel (proc.c) */
	if (vmm.kvmfd == -1 || socketpair(AF_UNIX, SOCK_STREAM |
	    SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sp) == -1) {
		log_warn("%s: socketpair", __func__);
		goto fail;
	}
	/* what its sandbox refused, if it dies of that (sandbox_note) */
	if (pipe2(np, O_CLOEXEC | O_NONBLOCK) == -1) {
		log_warn("%s: pipe", __func__);
		close(sp[0]);
		close(sp[1]);
		goto fail;
	}
	nsok = vmm.nsok;
	pid = sandbox_fork_vm(&vmm.nsok);
	if (pid != 0 && nsok && !vmm.nsok)	/* once, and not in the child */
		log_warnx("VM processes share vmm's pid and network namespaces:"
		    " this kernel does not let vmm make user namespaces");
	switch (pid) {
	case -1:
		log_warn("%s: fork", __func__);
		close(sp[0]);
		close(sp[1]);
		close(np[0]);
		close(np[1]);
		goto fail;
	case 0:
		/* move them out of the way, then into place */
		if ((vmm.selffd = fcntl(vmm.selffd, F_DUPFD_CLOEXEC,
		    10)) == -1 ||
		    (sp[1] = fcntl(sp[1], F_DUPFD, 10)) == -1 ||
		    (vmm.kvmfd = fcntl(vmm.kvmfd, F_DUPFD, 10)) == -1 ||
		    (np[1] = fcntl(np[1], F_DUPFD, 10)) == -1 ||
		    dup2(sp[1], 3) == -1 || dup2(vmm.kvmfd, 4) == -1 ||
		    dup2(np[1], 5) == -1 || fcntl(5, F_SETFL, 0) == -1 ||
		    dup3(vmm.selffd, 6, O_CLOEXEC) == -1)
			_exit(VM_EXIT_ERROR);
		vmm.selffd = 6;
		closefrom(7);	/* close_range(2): one call */
		argv[argc++] = "vmd";
		argv[argc++] = "-V";
		argv[argc++] = "3";
		argv[argc++] = "-K";
		argv[argc++] = "4";
		argv[argc++] = "-N";
		argv[argc++] = "5";
		if (vmm.ps->ps_debug)
			argv[argc++] = "-d";
		for (v = 0; v < log_getverbose() && v < 3; v++)
			argv[argc++] = "-v";
		argv[argc] = NULL;
		fexecve(vmm.selffd, argv, environ);
		_exit(VM_EXIT_ERROR);
	default:
		break;
	}
	close(sp[1]);
	close(np[1]);
	vm->note = np[0];
	vm->pid = pid;
	if (imsgev_init(&vm->iev, sp[0], vm->name, vmm_vm_dispatch,
	    vmm_vm_closed, vm) == -1)
		fatal("%s: imsgev_init", __func__);
	vm->channel = 1;
	imsgev_compose(&vm->iev, IMSG_VMDOP_START_VM_REQUEST, 0, 0,
	    vm->kernel, vm->vmc, sizeof(*vm->vmc));
	vm->kernel = -1;
	if (vm->initrd != -1) {
		imsgev_compose(&vm->iev, IMSG_VMDOP_START_VM_INITRD, 0, 0,
		    vm->initrd, NULL, 0);
		vm->initrd = -1;
	}
	for (i = 0; i < vm->nxfd; i++)
		imsgev_compose(&vm->iev, vm->xfd[i].type, 0, 0, vm->xfd[i].fd,
		    vm->xfd[i].len ? &vm->xfd[i].u : NULL, vm->xfd[i].len);
	vm->nxfd = 0;
	if (vm->recvprefix != NULL) {
		imsgev_compose(&vm->iev, IMSG_VMDOP_RECEIVE_VM_STREAM, 0, 0,
		    vm->recvfd, vm->recvprefix, VMS_PREFIX_LEN);
		free(vm->recvprefix);
		vm->recvprefix = NULL;
		vm->recvfd = -1;
	}
	imsgev_compose(&vm->iev, IMSG_VMDOP_START_VM_END, 0, 0, tty, NULL, 0);
	free(vm->vmc);
	vm->vmc = NULL;
	return;
 fail:
	close(tty);
	vmm_result(IMSG_VMDOP_START_VM_RESPONSE, vm->id, errno, vm->id, 0);
	vmm_vm_free(vm);
}

static void
vmm_vm_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct vmm_vm		*vm = iev->data;
	struct vmop_result	 vmr;
	struct timeval		 tv;
	uint32_t		 type = imsg_get_type(imsg), peer;

	switch (type) {
	case IMSG_VMDOP_START_VM_RESPONSE:
	case IMSG_VMDOP_PAUSE_VM_RESPONSE:
	case IMSG_VMDOP_UNPAUSE_VM_RESPONSE:
	case IMSG_VMDOP_SEND_VM_RESPONSE:
		if (imsg_get_fixed(imsg, &vmr, sizeof(vmr), "vm result") == -1)
			return;
		vmr.vmr_id = vm->id;	/* never trust the VM's idea of it */
		vmr.vmr_pid = vm->pid;
		if (type == IMSG_VMDOP_START_VM_RESPONSE) {
			if (vm->started || vm->failed)
				return;
			if (vmr.vmr_result != 0) {
				/*
				 * It exits: the client hears of it once it has,
				 * its disks' locks and taps gone with it.
				 */
				vm->failed = vmr.vmr_result;
				vm->killing = 1;
				if (!vm->timer_armed) {
					tv.tv_sec = 5;
					tv.tv_usec = 0;
					evtimer_set(&vm->timer, vmm_timer, vm);
					evtimer_add(&vm->timer, &tv);
					vm->timer_armed = 1;
				}
				return;
			}
			vm->started = 1;
			peer = vm->id;
		} else if (type == IMSG_VMDOP_SEND_VM_RESPONSE) {
			if ((peer = vm->send_peer) == 0)
				return;
			vm->send_peer = 0;
		} else if (type == IMSG_VMDOP_PAUSE_VM_RESPONSE)
			peer = vm->pause_peer;
		else
			peer = vm->unpause_peer;
		proc_compose(vmm.ps, PROC_PARENT, type, peer, -1, &vmr,
		    sizeof(vmr));
		break;
	default:
		log_warnx("%s: vm %s: unexpected message %u", __func__,
		    vm->name, type);
		break;
	}
}

static void
vmm_vm_closed(struct imsgev *iev)
{
	struct vmm_vm	*vm = iev->data;

	/* the process is exiting; SIGCHLD finishes the work */
	vm->channel = 0;
}

/* the graceful stop took too long, or a forced one did not finish */
static void
vmm_timer(int fd, short event, void *arg)
{
	struct vmm_vm	*vm = arg;

	(void)fd;
	(void)event;
	vm->timer_armed = 0;
	if (vm->pid > 0) {
		log_info("%s: vm %u did not stop in time, terminating",
		    vm->name, vm->id);
		if (kill(vm->pid, SIGKILL) == 0)
			vm->stop_killed = 1;
	}
}

static void
vmm_reap(pid_t pid, int status)
{
	struct vmm_vm	*vm;
	struct imsg	 imsg;
	char		 sc[32];
	int		 res, nr;
	ssize_t		 n;

	TAILQ_FOREACH(vm, &vmm.vms, entry)
		if (vm->pid == pid)
			break;
	if (vm == NULL)
		return;

	/* read what the process said before it went */
	while (vm->channel) {
		n = imsgbuf_read(&vm->iev.ibuf);
		if (n <= 0)
			break;
		while (vm->channel && imsg_get(&vm->iev.ibuf, &imsg) > 0) {
			vmm_vm_dispatch(&vm->iev, &imsg);
			imsg_free(&imsg);
		}
	}

	if (vm->note != -1 && read(vm->note, &nr, sizeof(nr)) ==
	    (ssize_t)sizeof(nr))
		log_warnx("%s: vm %u: its sandbox refused system call %s",
		    vm->name, vm->id, sandbox_syscall_name(nr, sc,
		    sizeof(sc)));

	if (WIFEXITED(status))
		res = WEXITSTATUS(status);
	else if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL &&
	    vm->stop_killed)
		res = VM_EXIT_POWEROFF;	/* stopped as asked, if not kindly */
	else if (WIFSIGNALED(status))
		res = 128 + WTERMSIG(status);
	else
		res = VM_EXIT_ERROR;
	vm->pid = 0;

	if (!vm->started)
		vmm_result(IMSG_VMDOP_START_VM_RESPONSE, vm->id,
		    vm->failed ? vm->failed : res == VM_EXIT_ERROR ? EINVAL :
		    EIO, vm->id, 0);
	else {
		/* a send it did not answer failed with it */
		if (vm->send_peer != 0)
			vmm_result(IMSG_VMDOP_SEND_VM_RESPONSE, vm->send_peer,
			    EIO, vm->id, 0);
		vmm_result(IMSG_VMDOP_TERMINATE_VM_EVENT, 0, res, vm->id, 0);
	}
	log_debug("%s: vm %s (%u) exited with %d", __func__, vm->name, vm->id,
	    res);
	vmm_vm_free(vm);
}

static void
vmm_sig(int sig, short event, void *arg)
{
	pid_t	pid;
	int	status;

	(void)event;
	(void)arg;
	switch (sig) {
	case SIGCHLD:
		while ((pid = waitpid(WAIT_ANY, &status, WNOHANG)) > 0)
			vmm_reap(pid, status);
		break;
	case SIGTERM:
	case SIGINT:
		vmm_shutdown();
	}
}
