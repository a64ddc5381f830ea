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
 * The VM process.  vmm starts it as "vmd -V fd -K kvmfd" and sends the VM
 * over fd: START_VM_REQUEST (parameters, boot image), an optional
 * START_VM_INITRD, and START_VM_END (the pty).  We build the machine,
 * answer START_VM_RESPONSE, enter the sandbox and run: one thread per
 * vCPU in KVM_RUN loops (they never touch libevent), and this thread on
 * the event loop for the imsg channel, console input and device timers.
 *
 * The process's exit status tells vmm how the guest ended (vmd.h):
 * powered off, reset (restart it), or crashed.
 */

#include <sys/types.h>
#include <sys/eventfd.h>

#include <errno.h>
#include <event.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acpi.h"
#include "disk.h"
#include "fw_cfg.h"
#include "loadfile.h"
#include "log.h"
#include "pci.h"
#include "proc.h"
#include "vm.h"
#include "virtio.h"

static void	 vm_dispatch(struct imsgev *, struct imsg *);
static void	 vm_closed(struct imsgev *);
static void	 vm_exit_cb(int, short, void *);
static void	*vcpu_thread(void *);

void
vm_irq_line(struct vm *vm, unsigned int irq, int level)
{
	if (vmm_vm_irq_line(vm->vm_vmm, irq, level) == -1)
		log_debug("%s: irq %u: %s", __func__, irq, strerror(errno));
}

/*
 * The guest decided how it ends (any thread): the first decision wins,
 * the vCPUs stop, and the event loop exits the process.
 */
void
vm_request_exit(struct vm *vm, int code)
{
	uint64_t	one = 1;
	int		none = -1;
	unsigned int	i;

	if (!__atomic_compare_exchange_n(&vm->vm_exitcode, &none, code, 0,
	    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		return;
	__atomic_store_n(&vm->vm_state, VM_STOP, __ATOMIC_SEQ_CST);
	for (i = 0; i < vm->vm_nthreads; i++)
		vmm_vcpu_kick(vm->vm_vcpus[i].vc_vmm);
	if (write(vm->vm_exitfd, &one, sizeof(one)) == -1)
		_exit(code);
}

static __dead void
vm_exit(struct vm *vm, int code)
{
	unsigned int	i;

	/* what the guest wrote reaches the images, qcow2 tables included */
	for (i = 0; i < vm->vm_ndisks; i++)
		if (disk_flush(vm->vm_disks[i]) != 0)
			log_warnx("vm %s: disk %u: flush failed", vm->vm_name,
			    i);
	switch (code) {
	case VM_EXIT_POWEROFF:
		log_debug("vm %s: powered off", vm->vm_name);
		break;
	case VM_EXIT_REBOOT:
		log_debug("vm %s: reset", vm->vm_name);
		break;
	}
	exit(code);
}

static void
vm_exit_cb(int fd, short event, void *arg)
{
	struct vm	*vm = arg;
	uint64_t	 v;

	(void)event;
	if (read(fd, &v, sizeof(v)) == -1)
		return;
	vm_exit(vm, __atomic_load_n(&vm->vm_exitcode, __ATOMIC_SEQ_CST));
}

/*
 * vCPU threads
 */

static void
vcpu_park(struct vcpu *vc)
{
	struct vm	*vm = vc->vc_vm;

	pthread_mutex_lock(&vm->vm_mtx);
	vm->vm_nparked++;
	pthread_cond_broadcast(&vm->vm_cond);
	while (__atomic_load_n(&vm->vm_state, __ATOMIC_SEQ_CST) != VM_RUN)
		pthread_cond_wait(&vm->vm_cond, &vm->vm_mtx);
	vm->vm_nparked--;
	pthread_mutex_unlock(&vm->vm_mtx);
}

static void
vcpu_error(struct vcpu *vc, struct vmm_exit *ve)
{
	struct vm	*vm = vc->vc_vm;

	if (strcmp(ve->u.err.what, "internal error") == 0)
		log_warnx("vm %s: vcpu %u: KVM internal error (suberror %u) "
		    "at rip 0x%llx", vm->vm_name, vc->vc_id, ve->u.err.code,
		    (unsigned long long)ve->u.err.rip);
	else if (strcmp(ve->u.err.what, "entry failure") == 0)
		log_warnx("vm %s: vcpu %u: KVM entry failure (reason 0x%llx) "
		    "at rip 0x%llx", vm->vm_name, vc->vc_id,
		    (unsigned long long)ve->u.err.detail,
		    (unsigned long long)ve->u.err.rip);
	else
		log_warnx("vm %s: vcpu %u: KVM %s (%u) at rip 0x%llx",
		    vm->vm_name, vc->vc_id, ve->u.err.what, ve->u.err.code,
		    (unsigned long long)ve->u.err.rip);
}

static void *
vcpu_thread(void *arg)
{
	struct vcpu	*vc = arg;
	struct vm	*vm = vc->vc_vm;
	struct vmm_exit	 ve;
	struct vmm_regs	 regs;
	sigset_t	 set;

	/* process signals are the event thread's; only kicks come here */
	sigfillset(&set);
	sigdelset(&set, vmm_kick_signal());
	pthread_sigmask(SIG_SETMASK, &set, NULL);

	for (;;) {
		if (__atomic_load_n(&vm->vm_state, __ATOMIC_SEQ_CST) !=
		    VM_RUN) {
			vcpu_park(vc);
			continue;
		}
		if (vmm_vcpu_run(vc->vc_vmm, &ve) == -1) {
			log_warn("vm %s: vcpu %u: KVM_RUN", vm->vm_name,
			    vc->vc_id);
			vm_request_exit(vm, VM_EXIT_CRASH);
			continue;
		}
		switch (ve.type) {
		case VMM_EXIT_IO:
			x86_exit_io(vm, &ve);
			break;
		case VMM_EXIT_MMIO:
			x86_exit_mmio(vm, &ve);
			break;
		case VMM_EXIT_INTR:
		case VMM_EXIT_HLT:
			break;
		case VMM_EXIT_SHUTDOWN:
			/* a guest's reset of last resort: say where */
			if (vmm_vcpu_get_regs(vc->vc_vmm, &regs) == -1)
				memset(&regs, 0, sizeof(regs));
			log_warnx("vm %s: vcpu %u: triple fault at rip 0x%llx "
			    "(cr0 0x%llx, idt 0x%llx/%u), resetting",
			    vm->vm_name, vc->vc_id,
			    (unsigned long long)regs.gpr[VMM_RIP],
			    (unsigned long long)regs.cr0,
			    (unsigned long long)regs.idtr.base,
			    (unsigned int)regs.idtr.limit);
			vm_request_exit(vm, VM_EXIT_REBOOT);
			break;
		case VMM_EXIT_RESET:
			vm_request_exit(vm, VM_EXIT_REBOOT);
			break;
		case VMM_EXIT_POWEROFF:
			vm_request_exit(vm, VM_EXIT_POWEROFF);
			break;
		case VMM_EXIT_ERROR:
			vcpu_error(vc, &ve);
			vm_request_exit(vm, VM_EXIT_CRASH);
			break;
		}
	}
	return (NULL);
}

/*
 * Pause: park every vCPU, stop the device timers and console input,
 * freeze the KVM clock so that the guest does not see the time it spent.
 */
static int
vm_pause(struct vm *vm)
{
	unsigned int	i;

	if (!vm->vm_started)
		return (EINVAL);
	pthread_mutex_lock(&vm->vm_mtx);
	switch (__atomic_load_n(&vm->vm_state, __ATOMIC_SEQ_CST)) {
	case VM_PAUSE:
		pthread_mutex_unlock(&vm->vm_mtx);
		return (EALREADY);
	case VM_STOP:
		pthread_mutex_unlock(&vm->vm_mtx);
		return (EINVAL);
	}
	__atomic_store_n(&vm->vm_state, VM_PAUSE, __ATOMIC_SEQ_CST);
	pthread_mutex_unlock(&vm->vm_mtx);

	for (i = 0; i < vm->vm_nthreads; i++)
		vmm_vcpu_kick(vm->vm_vcpus[i].vc_vmm);

	pthread_mutex_lock(&vm->vm_mtx);
	while (vm->vm_nparked < vm->vm_nthreads &&
	    __atomic_load_n(&vm->vm_state, __ATOMIC_SEQ_CST) == VM_PAUSE)
		pthread_cond_wait(&vm->vm_cond, &vm->vm_mtx);
	pthread_mutex_unlock(&vm->vm_mtx);

	(void)vmm_vm_pause(vm->vm_vmm);
	x86_pause(vm);
	return (0);
}

static int
vm_unpause(struct vm *vm)
{
	if (!vm->vm_started)
		return (EINVAL);
	if (__atomic_load_n(&vm->vm_state, __ATOMIC_SEQ_CST) != VM_PAUSE)
		return (EALREADY);
	(void)vmm_vm_unpause(vm->vm_vmm);
	x86_unpause(vm);

	pthread_mutex_lock(&vm->vm_mtx);
	if (__atomic_load_n(&vm->vm_state, __ATOMIC_SEQ_CST) == VM_PAUSE)
		__atomic_store_n(&vm->vm_state, VM_RUN, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&vm->vm_cond);
	pthread_mutex_unlock(&vm->vm_mtx);
	return (0);
}

/*
 * Setup
 */

static int
vm_check_params(struct vm *vm)
{
	struct vmop_create_params	*vmc = &vm->vm_params;
	struct vm_create_params		*vcp = &vmc->vmc_params;

	vcp->vcp_name[sizeof(vcp->vcp_name) - 1] = '\0';
	strlcpy(vm->vm_name, vcp->vcp_name, sizeof(vm->vm_name));
	vmc->vmc_cmdline[sizeof(vmc->vmc_cmdline) - 1] = '\0';
	if (vcp->vcp_ncpus == 0)
		vcp->vcp_ncpus = 1;
	if (vcp->vcp_ncpus > VMM_MAX_VCPUS_PER_VM) {
		log_warnx("vm %s: too many vcpus (%zu, at most %d)",
		    vm->vm_name, vcp->vcp_ncpus, VMM_MAX_VCPUS_PER_VM);
		return (EINVAL);
	}
	if (vcp->vcp_memory_size < MB(1) ||
	    vcp->vcp_memory_size > VMM_MAX_VM_MEM_SIZE) {
		log_warnx("vm %s: invalid memory size %zu", vm->vm_name,
		    vcp->vcp_memory_size);
		return (EINVAL);
	}
	vm->vm_ncpus = vcp->vcp_ncpus;
	return (0);
}

/* Build the machine; 0, or the vmop_result code with the reason logged. */
static int
vm_create(struct vm *vm)
{
	struct vmop_create_params	*vmc = &vm->vm_params;
	struct loadfile			 lf;
	struct fw_cfg_boot		 fwb;
	struct acpi_machine		 am;
	struct acpi_fwcfg		 acpi;
	struct event			*ev;
	uint64_t			 rsdp = 0;
	unsigned int			 i;
	int				 irq;
	int				 ret;

	if ((ret = vm_check_params(vm)) != 0)
		return (ret);
	setproctitle("%s", vm->vm_name);

	if ((vm->vm_vmm = vmm_vm_create(vm->vm_kvmfd, vm->vm_ncpus)) ==
	    NULL) {
		ret = errno;
		log_warn("vm %s: cannot create the VM", vm->vm_name);
		return (ret);
	}
	if (x86_create_memory(vm) == -1) {
		ret = errno;
		log_warn("vm %s: cannot allocate %zu MB of guest memory",
		    vm->vm_name, vmc->vmc_params.vcp_memory_size >> 20);
		return (ret);
	}
	if ((vm->vm_exitfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1 ||
	    (ev = calloc(1, sizeof(*ev))) == NULL) {
		ret = errno;
		log_warn("vm %s: eventfd", vm->vm_name);
		return (ret);
	}
	event_set(ev, vm->vm_exitfd, EV_READ | EV_PERSIST, vm_exit_cb, vm);
	event_add(ev, NULL);

	if (x86_init_machine(vm, vm->vm_tty) == -1) {
		ret = errno ? errno : EINVAL;
		log_warn("vm %s: cannot set up the devices", vm->vm_name);
		return (ret);
	}
	if ((ret = virtio_init(vm)) != 0)
		return (ret);
	/* the tables describe the vCPUs and each device's INTA# wiring */
	memset(&am, 0, sizeof(am));
	am.ncpus = vm->vm_ncpus;
	for (i = 0; i < PCI_MAX_DEVICES && am.nintx < ACPI_MAX_INTX; i++) {
		if ((irq = pci_get_irq(vm->vm_pci, i)) == -1)
			continue;
		am.intx[am.nintx].slot = i;
		am.intx[am.nintx++].irq = irq;
	}
	if (acpi_build(&vm->vm_mem, &am, &rsdp) == -1) {
		log_warnx("vm %s: ACPI tables do not fit", vm->vm_name);
		return (ENOMEM);
	}

	memset(&lf, 0, sizeof(lf));
	lf.lf_kernel = vm->vm_kernel;
	lf.lf_initrd = vm->vm_initrd;
	lf.lf_cmdline = (vmc->vmc_flags & VMOP_CREATE_CMDLINE) ?
	    vmc->vmc_cmdline : VM_DEFAULT_CMDLINE;
	lf.lf_mem = &vm->vm_mem;
	lf.lf_rsdp = rsdp;
	if (vmc->vmc_bootdevice == VMBOOTDEV_NET && vmc->vmc_nnics > 0)
		lf.lf_bootmac = vmc->vmc_macs[0];
	if ((ret = loadfile(&lf)) != 0) {
		log_warnx("vm %s: %s", vm->vm_name, lf.lf_err);
		return (ret);
	}
	log_debug("vm %s: loaded %s, 0x%llx-0x%llx, entry 0x%llx",
	    vm->vm_name, lf.lf_kind == LOADFILE_BZIMAGE ? "bzImage" :
	    lf.lf_kind == LOADFILE_ELF_PVH ? "PVH ELF kernel" :
	    lf.lf_kind == LOADFILE_ELF ? "ELF kernel" : "BIOS",
	    (unsigned long long)lf.lf_kstart, (unsigned long long)lf.lf_kend,
	    (unsigned long long)lf.lf_regs.gpr[VMM_RIP]);
	if (vm->vm_kernel != -1)
		close(vm->vm_kernel);
	if (vm->vm_initrd != -1)
		close(vm->vm_initrd);
	vm->vm_kernel = vm->vm_initrd = -1;

	/*
	 * fw_cfg, once the image is known: a BIOS image overwrote the
	 * tables at 0xe0000, so SeaBIOS gets them as files to place itself.
	 */
	memset(&fwb, 0, sizeof(fwb));
	memset(&acpi, 0, sizeof(acpi));
	fwb.bootdev = vmc->vmc_bootdevice;
	fwb.disk_dev = vm->vm_disk_pci;
	fwb.cdrom_dev = vm->vm_cdrom_pci;
	if (lf.lf_kind == LOADFILE_BIOS) {
		if (acpi_build_fwcfg(&am, &acpi) == -1) {
			log_warnx("vm %s: cannot build the ACPI tables",
			    vm->vm_name);
			return (ENOMEM);
		}
		fwb.acpi_tables = acpi.tables;
		fwb.acpi_tables_len = acpi.tables_len;
		fwb.acpi_rsdp = acpi.rsdp;
		fwb.acpi_rsdp_len = acpi.rsdp_len;
		fwb.acpi_loader = acpi.loader;
		fwb.acpi_loader_len = acpi.loader_len;
	}
	vm->vm_fwcfg = fw_cfg_init(vm, &fwb);
	acpi_fwcfg_free(&acpi);
	if (vm->vm_fwcfg == NULL)
		return (errno ? errno : ENOMEM);

	for (i = 0; i < vm->vm_ncpus; i++) {
		vm->vm_vcpus[i].vc_vm = vm;
		vm->vm_vcpus[i].vc_id = i;
		if ((vm->vm_vcpus[i].vc_vmm = vmm_vcpu_create(vm->vm_vmm, i))
		    == NULL) {
			ret = errno;
			log_warn("vm %s: cannot create vcpu %u", vm->vm_name,
			    i);
			return (ret);
		}
	}
	/* the APs wait for INIT/SIPI in the in-kernel LAPIC */
	if (vmm_vcpu_set_regs(vm->vm_vcpus[0].vc_vmm, &lf.lf_regs) == -1) {
		ret = errno;
		log_warn("vm %s: cannot set the boot registers", vm->vm_name);
		return (ret);
	}
	return (0);
}

static void
vm_run(struct vm *vm)
{
	struct vcpu	*vc;
	unsigned int	 i;
	int		 ret;

	for (i = 0; i < vm->vm_ncpus; i++) {
		vc = &vm->vm_vcpus[i];
		if ((ret = pthread_create(&vc->vc_thread, NULL, vcpu_thread,
		    vc)) != 0) {
			errno = ret;
			log_warn("vm %s: vcpu %u thread", vm->vm_name, i);
			vm_request_exit(vm, VM_EXIT_ERROR);
			return;
		}
		vmm_vcpu_set_thread(vc->vc_vmm, vc->vc_thread);
		vm->vm_nthreads++;
	}
	vm->vm_started = 1;
	x86_unpause(vm);
}

static void
vm_reply(struct vm *vm, uint32_t type, int result)
{
	struct vmop_result	vmr;

	memset(&vmr, 0, sizeof(vmr));
	vmr.vmr_result = result;
	vmr.vmr_id = vm->vm_params.vmc_params.vcp_id;
	vmr.vmr_pid = getpid();
	if (imsgev_compose(vm->vm_iev, type, 0, 0, -1, &vmr,
	    sizeof(vmr)) == -1)
		log_warn("vm %s: reply", vm->vm_name);
}

/* Failed to start: say why to vmm, and go. */
static __dead void
vm_start_failed(struct vm *vm, int result)
{
	vm_reply(vm, IMSG_VMDOP_START_VM_RESPONSE, result);
	(void)imsgbuf_flush(&vm->vm_iev->ibuf);
	exit(VM_EXIT_ERROR);
}

static void
vm_start(struct vm *vm)
{
	int	ret;

	if ((ret = vm_create(vm)) != 0)
		vm_start_failed(vm, ret);
	if (sandbox_drop(SANDBOX_VM) == -1) {
		ret = errno;
		log_warn("vm %s: sandbox", vm->vm_name);
		vm_start_failed(vm, ret);
	}
	vm_reply(vm, IMSG_VMDOP_START_VM_RESPONSE, 0);
	vm_run(vm);
}

static void
vm_dispatch(struct imsgev *iev, struct imsg *imsg)
{
	struct vm	*vm = iev->data;
	struct vmop_id	 vid;
	struct vmop_disk vd;
	struct vmop_if	 vi;
	int		 v, ret, fd;

	switch (imsg_get_type(imsg)) {
	case IMSG_VMDOP_START_VM_REQUEST:
		if (vm->vm_have_params || imsg_get_fixed(imsg, &vm->vm_params,
		    sizeof(vm->vm_params), "vmop_create_params") == -1)
			fatalx("%s: unexpected start request", __func__);
		vm->vm_have_params = 1;
		vm->vm_kernel = imsg_get_fd(imsg);
		break;
	case IMSG_VMDOP_START_VM_INITRD:
		if (!vm->vm_have_params || vm->vm_started ||
		    vm->vm_initrd != -1 || imsg_get_len(imsg) != 0)
			fatalx("%s: unexpected initrd", __func__);
		vm->vm_initrd = imsg_get_fd(imsg);
		break;
	case IMSG_VMDOP_START_VM_DISK:
		if (!vm->vm_have_params || vm->vm_started ||
		    imsg_get_fixed(imsg, &vd, sizeof(vd), "vmop_disk") == -1 ||
		    vd.vd_idx >= vm->vm_params.vmc_ndisks ||
		    vd.vd_idx >= VM_MAX_DISKS_PER_VM ||
		    vd.vd_depth != (uint32_t)vm->vm_ndiskfds[vd.vd_idx] ||
		    vd.vd_depth > VM_MAX_BASE_PER_DISK ||
		    (fd = imsg_get_fd(imsg)) == -1)
			fatalx("%s: unexpected disk", __func__);
		vm->vm_diskfds[vd.vd_idx][vm->vm_ndiskfds[vd.vd_idx]++] = fd;
		break;
	case IMSG_VMDOP_START_VM_CDROM:
		if (!vm->vm_have_params || vm->vm_started ||
		    vm->vm_cdrom != -1 || imsg_get_len(imsg) != 0 ||
		    (vm->vm_cdrom = imsg_get_fd(imsg)) == -1)
			fatalx("%s: unexpected cdrom", __func__);
		break;
	case IMSG_VMDOP_START_VM_IF:
		if (!vm->vm_have_params || vm->vm_started ||
		    imsg_get_fixed(imsg, &vi, sizeof(vi), "vmop_if") == -1 ||
		    vi.vi_idx >= vm->vm_params.vmc_nnics ||
		    vi.vi_idx >= VM_MAX_NICS_PER_VM ||
		    vm->vm_tapfds[vi.vi_idx] != -1 ||
		    (fd = imsg_get_fd(imsg)) == -1)
			fatalx("%s: unexpected interface", __func__);
		vi.vi_ifname[sizeof(vi.vi_ifname) - 1] = '\0';
		vm->vm_ifinfo[vi.vi_idx] = vi;
		vm->vm_tapfds[vi.vi_idx] = fd;
		break;
	case IMSG_VMDOP_START_VM_END:
		if (!vm->vm_have_params || vm->vm_started ||
		    imsg_get_len(imsg) != 0)
			fatalx("%s: unexpected start end", __func__);
		if ((vm->vm_tty = imsg_get_fd(imsg)) == -1)
			fatalx("%s: no pty for the console", __func__);
		vm_start(vm);
		break;
	case IMSG_VMDOP_PAUSE_VM:
	case IMSG_VMDOP_UNPAUSE_VM:
		if (imsg_get_fixed(imsg, &vid, sizeof(vid), "vmop_id") == -1)
			break;
		if (imsg_get_type(imsg) == IMSG_VMDOP_PAUSE_VM) {
			ret = vm_pause(vm);
			vm_reply(vm, IMSG_VMDOP_PAUSE_VM_RESPONSE, ret);
		} else {
			ret = vm_unpause(vm);
			vm_reply(vm, IMSG_VMDOP_UNPAUSE_VM_RESPONSE, ret);
		}
		break;
	case IMSG_VMDOP_VM_SHUTDOWN:
		if (!vm->vm_started)
			break;
		/* a paused guest cannot answer its power button */
		if (__atomic_load_n(&vm->vm_state, __ATOMIC_SEQ_CST) ==
		    VM_PAUSE)
			(void)vm_unpause(vm);
		acpi_pm_powerbutton(vm->vm_pm);
		break;
	case IMSG_VMDOP_TERMINATE_VM_REQUEST:
		vm_exit(vm, VM_EXIT_POWEROFF);
	case IMSG_CTL_VERBOSE:
		if (imsg_get_fixed(imsg, &v, sizeof(v), "verbose") == -1)
			break;
		log_setverbose(v);
		break;
	default:
		log_warnx("%s: unexpected message %u", __func__,
		    imsg_get_type(imsg));
		break;
	}
}

static void
vm_closed(struct imsgev *iev)
{
	struct vm	*vm = iev->data;

	/* vmm went away: nobody is left to report to */
	log_debug("vm %s: channel to vmm closed", vm->vm_name[0] ?
	    vm->vm_name : "(starting)");
	exit(VM_EXIT_POWEROFF);
}

__dead void
vm_main(int fd, int kvmfd)
{
	struct vm	*vm;
	unsigned int	 i;

	signal(SIGPIPE, SIG_IGN);
	log_procinit("vm");
	event_init();

	if ((vm = calloc(1, sizeof(*vm))) == NULL ||
	    (vm->vm_iev = calloc(1, sizeof(*vm->vm_iev))) == NULL)
		fatal("%s: calloc", __func__);
	vm->vm_kvmfd = kvmfd;
	vm->vm_kernel = vm->vm_initrd = vm->vm_tty = -1;
	vm->vm_cdrom = -1;
	for (i = 0; i < VM_MAX_NICS_PER_VM; i++)
		vm->vm_tapfds[i] = -1;
	vm->vm_exitfd = -1;
	vm->vm_exitcode = -1;
	vm->vm_state = VM_RUN;
	pthread_mutex_init(&vm->vm_mtx, NULL);
	pthread_cond_init(&vm->vm_cond, NULL);

	if (imsgev_init(vm->vm_iev, fd, "vmm", vm_dispatch, vm_closed,
	    vm) == -1)
		fatal("%s: imsgev_init", __func__);
	event_dispatch();
	exit(VM_EXIT_POWEROFF);
}
