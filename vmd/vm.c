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
#include <fcntl.h>
#include <event.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
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
#include "mc146818.h"
#include "ns8250.h"
#include "vmstate.h"
#include "vmmci.h"

static void	 vm_dispatch(struct imsgev *, struct imsg *);
static void	 vm_closed(struct imsgev *);
static void	 vm_exit_cb(int, short, void *);
static void	*vcpu_thread(void *);
static int	 vm_receive(struct vm *);
static void	 vm_send(struct vm *, int);

void
vm_irq_line(struct vm *vm, unsigned int irq, int level)
{
	if (vmm_vm_irq_line(vm->vm_vmm, irq, level) == -1)
		log_debug("%s: irq %u: %s", __func__, irq, strerror(errno));
}

/*
 * Any thread.  VM_GUEST_WARN_MAX lines a minute for what the guest can
 * make happen as often as it likes (a device it breaks and resets in a
 * loop); what is held back is counted and said with the next line.
 */
#define VM_GUEST_WARN_MAX	10
#define VM_GUEST_WARN_WINDOW	60	/* seconds */

void
vm_guest_warnx(struct vm *vm, const char *fmt, ...)
{
	struct timespec	ts;
	char		buf[256];
	unsigned int	held = 0;
	va_list		ap;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&vm->vm_logmtx);
	if (ts.tv_sec - vm->vm_logwindow >= VM_GUEST_WARN_WINDOW) {
		vm->vm_logwindow = ts.tv_sec;
		vm->vm_logged = 0;
	}
	if (vm->vm_logged >= VM_GUEST_WARN_MAX) {
		vm->vm_suppressed++;
		pthread_mutex_unlock(&vm->vm_logmtx);
		return;
	}
	vm->vm_logged++;
	held = vm->vm_suppressed;
	vm->vm_suppressed = 0;
	pthread_mutex_unlock(&vm->vm_logmtx);

	va_start(ap, fmt);
	(void)vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (held > 0)
		log_warnx("vm %s: %s (and %u more like it held back)",
		    vm->vm_name, buf, held);
	else
		log_warnx("vm %s: %s", vm->vm_name, buf);
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
	sigdelset(&set, SIGSYS);	/* its sandbox's: sandbox_note() */
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
	vmmci_pause(vm->vm_vmmci);
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
	vmmci_unpause(vm->vm_vmmci);

	pthread_mutex_lock(&vm->vm_mtx);
	if (__atomic_load_n(&vm->vm_state, __ATOMIC_SEQ_CST) == VM_PAUSE)
		__atomic_store_n(&vm->vm_state, VM_RUN, __ATOMIC_SEQ_CST);
	pthread_cond_broadcast(&vm->vm_cond);
	pthread_mutex_unlock(&vm->vm_mtx);

	/*
	 * The RTC kept the host's time while the guest's clock stood
	 * still: a guest whose vmmci driver can re-read the RTC is asked
	 * to (beyond upstream, which asks only after host clock jumps).
	 */
	(void)vmmci_syncrtc(vm->vm_vmmci);
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

/* The hypervisor's VM, guest memory, the exit eventfd. */
static int
vm_create_vmm(struct vm *vm)
{
	struct vmop_create_params	*vmc = &vm->vm_params;
	struct event			*ev;
	int				 ret;

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
	return (0);
}

/*
 * The chips and devices, the ACPI tables and the boot image in guest
 * memory, fw_cfg.  A received VM (lf NULL) gets the same devices, but
 * nothing is written to its memory: the stream has all of it.
 */
static int
vm_create_devices(struct vm *vm, struct loadfile *lf)
{
	struct vmop_create_params	*vmc = &vm->vm_params;
	struct fw_cfg_boot		 fwb;
	struct acpi_machine		 am;
	struct acpi_fwcfg		 acpi;
	uint64_t			 rsdp = 0;
	unsigned int			 i;
	int				 irq;
	int				 ret;

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
	if (lf != NULL && acpi_build(&vm->vm_mem, &am, &rsdp) == -1) {
		log_warnx("vm %s: ACPI tables do not fit", vm->vm_name);
		return (ENOMEM);
	}

	if (lf != NULL) {
		memset(lf, 0, sizeof(*lf));
		lf->lf_kernel = vm->vm_kernel;
		lf->lf_initrd = vm->vm_initrd;
		lf->lf_cmdline = (vmc->vmc_flags & VMOP_CREATE_CMDLINE) ?
		    vmc->vmc_cmdline : VM_DEFAULT_CMDLINE;
		lf->lf_mem = &vm->vm_mem;
		lf->lf_rsdp = rsdp;
		if (vmc->vmc_bootdevice == VMBOOTDEV_NET &&
		    vmc->vmc_nnics > 0)
			lf->lf_bootmac = vmc->vmc_macs[0];
		if ((ret = loadfile(lf)) != 0) {
			log_warnx("vm %s: %s", vm->vm_name, lf->lf_err);
			return (ret);
		}
		log_debug("vm %s: loaded %s, 0x%llx-0x%llx, entry 0x%llx",
		    vm->vm_name, lf->lf_kind == LOADFILE_BZIMAGE ? "bzImage" :
		    lf->lf_kind == LOADFILE_ELF_PVH ? "PVH ELF kernel" :
		    lf->lf_kind == LOADFILE_ELF ? "ELF kernel" : "BIOS",
		    (unsigned long long)lf->lf_kstart,
		    (unsigned long long)lf->lf_kend,
		    (unsigned long long)lf->lf_regs.gpr[VMM_RIP]);
	}
	if (vm->vm_kernel != -1)
		close(vm->vm_kernel);
	if (vm->vm_initrd != -1)
		close(vm->vm_initrd);
	vm->vm_kernel = vm->vm_initrd = -1;

	/*
	 * fw_cfg, once the image is known: a BIOS image overwrote the
	 * tables at 0xe0000, so SeaBIOS gets them as files to place itself.
	 * A received VM is given them too, for a BIOS that looks again.
	 */
	memset(&fwb, 0, sizeof(fwb));
	memset(&acpi, 0, sizeof(acpi));
	fwb.bootdev = vmc->vmc_bootdevice;
	fwb.disk_dev = vm->vm_disk_pci;
	fwb.cdrom_dev = vm->vm_cdrom_pci;
	if (lf == NULL || lf->lf_kind == LOADFILE_BIOS) {
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
	return (0);
}

/* The vCPUs; the APs wait for INIT/SIPI in the in-kernel LAPIC. */
static int
vm_create_vcpus(struct vm *vm)
{
	unsigned int	i;
	int		ret;

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
	return (0);
}

/* Build the machine; 0, or the vmop_result code with the reason logged. */
static int
vm_create(struct vm *vm)
{
	struct loadfile	lf;
	int		ret;

	if ((ret = vm_check_params(vm)) != 0)
		return (ret);
	setproctitle("%s", vm->vm_name);
	if ((ret = vm_create_vmm(vm)) != 0 ||
	    (ret = vm_create_devices(vm, &lf)) != 0 ||
	    (ret = vm_create_vcpus(vm)) != 0)
		return (ret);
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
	const unsigned long *reqs;
	struct timespec	ts;
	uint64_t	now;
	size_t		nreqs;
	int		ret, received = vm->vm_recvprefix != NULL;

	if (received)
		ret = vm_receive(vm);
	else
		ret = vm_create(vm);
	if (ret != 0)
		vm_start_failed(vm, ret);
	reqs = vmm_sandbox_ioctls(0, &nreqs);
	sandbox_ioctls(reqs, nreqs);
	if (sandbox_drop(SANDBOX_VM) == -1) {
		ret = errno;
		log_warn("vm %s: sandbox", vm->vm_name);
		vm_start_failed(vm, ret);
	}
	vm_reply(vm, IMSG_VMDOP_START_VM_RESPONSE, 0);
	if (received) {
		/*
		 * Restored paused: the clock and the PIT go on from where
		 * they were sent, the clock by the time the VM was away (as
		 * this host's clock tells it), so that the guest's time
		 * agrees with the host's.
		 */
		clock_gettime(CLOCK_REALTIME, &ts);
		now = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
		if (vm->vm_sent_at != 0 && now > vm->vm_sent_at)
			vmm_vm_clock_advance(vm->vm_vmm, now - vm->vm_sent_at);
		(void)vmm_vm_unpause(vm->vm_vmm);
		vmmci_unpause(vm->vm_vmmci);
	}
	vm_run(vm);
	if (received) {
		/* the devices look at their rings; the guest reads its RTC */
		virtio_thaw(vm);
		(void)vmmci_syncrtc(vm->vm_vmmci);
	}
}

/*
 * Send and receive (vmstate.h): the whole machine to a stream and back.
 */

/* What each chip gave the stream, kept until the machine is built. */
struct vm_blob {
	uint32_t	 tag;
	uint32_t	 index;
	size_t		 len;
	uint8_t		*data;
};

#define VM_MAX_BLOBS	(VMM_MAX_VCPUS_PER_VM + VM_MAX_VIRTIO + 16)

struct vm_blobs {
	struct vm_blob	 b[VM_MAX_BLOBS];
	unsigned int	 n;
};

static void
vm_blobs_free(struct vm_blobs *bl)
{
	while (bl->n > 0)
		free(bl->b[--bl->n].data);
}

static struct vm_blob *
vm_blob_find(struct vm_blobs *bl, uint32_t tag, uint32_t index)
{
	unsigned int	i;

	for (i = 0; i < bl->n; i++)
		if (bl->b[i].tag == tag && bl->b[i].index == index)
			return (&bl->b[i]);
	return (NULL);
}

static int
vm_put_blob(struct vms_writer *w, uint32_t tag, uint32_t index,
    struct vmm_blob *b, int ret)
{
	if (ret == 0)
		ret = vms_put(w, tag, index, b->b_data, b->b_len);
	vmm_blob_free(b);	/* and zeroed, for the next save */
	return (ret);
}

/*
 * Guest memory: every slot, page by page, all-zero pages left out (the
 * receiving VM's memory starts zeroed, as ours did), runs of the others
 * in MEM sections.
 */
static int
vm_save_memory(struct vm *vm, struct vms_writer *w)
{
	static const uint8_t	 zero[VM_PAGE_SIZE];
	struct vm_mem_slot	*s;
	uint64_t		 off, run, gpa;
	unsigned int		 i;

	for (i = 0; i < vm->vm_mem.nslots; i++) {
		s = &vm->vm_mem.slots[i];
		for (off = 0; off < s->size; ) {
			if (memcmp(s->hva + off, zero, VM_PAGE_SIZE) == 0) {
				off += VM_PAGE_SIZE;
				continue;
			}
			for (run = VM_PAGE_SIZE; off + run < s->size &&
			    run < VMS_MEM_CHUNK && memcmp(s->hva + off + run,
			    zero, VM_PAGE_SIZE) != 0; run += VM_PAGE_SIZE)
				;
			gpa = s->gpa + off;
			if (vms_put2(w, VMS_MEM, i, &gpa, sizeof(gpa),
			    s->hva + off, run) == -1)
				return (-1);
			off += run;
		}
	}
	return (0);
}

/* The paused, frozen VM to fd, as it was at sent_at; -1 with errno. */
static int
vm_save(struct vm *vm, int fd, uint64_t sent_at)
{
	struct vms_writer	*w;
	struct vmm_blob		 b;
	unsigned int		 i;
	int			 ret, saved;

	if ((w = vms_writer_new(fd)) == NULL)
		return (-1);
	memset(&b, 0, sizeof(b));
	ret = vms_put_header(w, vm->vm_ncpus,
	    vm->vm_params.vmc_params.vcp_memory_size, sent_at);
	if (ret == 0)
		ret = vms_put(w, VMS_PARAMS, 0, &vm->vm_params,
		    sizeof(vm->vm_params));
	if (ret == 0)
		ret = vm_put_blob(w, VMS_CPUID, 0, &b,
		    vmm_cpuid_save(vm->vm_vmm, &b));
	for (i = 0; i < vm->vm_ncpus && ret == 0; i++)
		ret = vm_put_blob(w, VMS_VCPU, i, &b,
		    vmm_vcpu_save(vm->vm_vcpus[i].vc_vmm, &b));
	if (ret == 0)
		ret = vm_put_blob(w, VMS_VMM, 0, &b,
		    vmm_vm_save(vm->vm_vmm, &b));
	if (ret == 0)
		ret = x86_io_save(vm, w);
	if (ret == 0)
		ret = ns8250_save(vm->vm_com1, w);
	if (ret == 0)
		ret = mc146818_save(vm->vm_rtc, w);
	if (ret == 0)
		ret = acpi_pm_save(vm->vm_pm, w);
	if (ret == 0)
		ret = pci_save(vm->vm_pci, w);
	if (ret == 0)
		ret = fw_cfg_save(vm->vm_fwcfg, w);
	if (ret == 0)
		ret = virtio_save(vm, w);
	if (ret == 0)
		ret = vmmci_save(vm->vm_vmmci, w);
	if (ret == 0)
		ret = vm_save_memory(vm, w);
	if (ret == 0)
		ret = vms_writer_finish(w);
	saved = errno;
	if (ret == 0)
		log_debug("vm %s: sent, %llu bytes", vm->vm_name,
		    (unsigned long long)vms_writer_bytes(w));
	vms_writer_free(w);
	errno = saved;
	return (ret);
}

/*
 * vmctl send: pause, let the devices finish what they hold, write the
 * VM out, and end it, as upstream does.  A send that fails leaves the
 * VM as it was.
 */
static void
vm_send(struct vm *vm, int fd)
{
	struct timespec		ts;
	unsigned int		i;
	int			was_paused, ret = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	was_paused = __atomic_load_n(&vm->vm_state, __ATOMIC_SEQ_CST) ==
	    VM_PAUSE;
	if (!vm->vm_started)
		ret = EINVAL;
	else if (!was_paused && (ret = vm_pause(vm)) != 0)
		;
	else if (virtio_freeze(vm, 30000) == -1) {
		ret = EBUSY;
		if (!was_paused)
			(void)vm_unpause(vm);
	} else if (vm_save(vm, fd, (uint64_t)ts.tv_sec * 1000000000ULL +
	    ts.tv_nsec) == -1) {
		ret = errno ? errno : EIO;
		log_warn("vm %s: send", vm->vm_name);
		virtio_thaw(vm);
		if (!was_paused)
			(void)vm_unpause(vm);
	}
	close(fd);
	if (ret != 0) {
		vm_reply(vm, IMSG_VMDOP_SEND_VM_RESPONSE, ret);
		return;
	}
	/* the images hold what the guest wrote before anyone hears of it */
	for (i = 0; i < vm->vm_ndisks; i++)
		if (disk_flush(vm->vm_disks[i]) != 0)
			log_warnx("vm %s: disk %u: flush failed", vm->vm_name,
			    i);
	vm_reply(vm, IMSG_VMDOP_SEND_VM_RESPONSE, 0);
	(void)imsgbuf_flush(&vm->vm_iev->ibuf);
	log_debug("vm %s: sent, terminating", vm->vm_name);
	exit(VM_EXIT_POWEROFF);
}

/*
 * Wait, at most 10 s, for the lock of every disk image: the VM we were
 * sent from may still be closing them (a pipe from vmctl send to vmctl
 * receive on one host), and their last writes must be in first.
 */
static int
vm_lock_disks(struct vm *vm)
{
	struct flock	fl;
	unsigned int	i, j, n, tries;

	for (i = 0; i < vm->vm_params.vmc_ndisks; i++) {
		n = vm->vm_ndiskfds[i];
		/* a direct qcow2 image's second descriptor: the same file */
		if (n > 1 && (vm->vm_params.vmc_disktypes[i] & VMDF_DIRECT))
			n--;
		for (j = 0; j < n; j++) {
			memset(&fl, 0, sizeof(fl));
			fl.l_type = j == 0 ? F_WRLCK : F_RDLCK;
			fl.l_whence = SEEK_SET;
			for (tries = 0; fcntl(vm->vm_diskfds[i][j],
			    F_OFD_SETLK, &fl) == -1; tries++) {
				if (errno != EAGAIN && errno != EACCES)
					break;	/* no locks here */
				if (tries == 200) {
					log_warnx("vm %s: disk %s is in use",
					    vm->vm_name,
					    vm->vm_params.vmc_disks[i]);
					return (VMD_DISK_LOCKED);
				}
				usleep(50000);
			}
		}
	}
	return (0);
}

/*
 * Read the whole stream: memory straight into guest memory, every other
 * section kept for its chip.  The trailer must check before anything is
 * built from it.
 */
static int
vm_read_stream(struct vm *vm, struct vms_reader *r, struct vm_blobs *bl)
{
	struct vmop_create_params	*vmc = &vm->vm_params, sent;
	struct vms_header		 h;
	struct vms_section		 s;
	struct vm_blob			*b;
	uint64_t			 gpa;
	size_t				 len;
	void				*p;
	char				 why[256];

	if (vms_get_header(r, &h) == -1 || vms_next(r, &s) == -1)
		return (-1);
	vm->vm_sent_at = h.sent_at;
	if (s.tag != VMS_PARAMS || s.len != sizeof(sent))
		return (vms_fail(r, VMD_RECV_FORMAT, "no parameters"));
	if (vms_read(r, &sent, sizeof(sent)) == -1)
		return (-1);
	/* the parent built this VM from these parameters: the same machine */
	if (h.ncpus != vm->vm_ncpus ||
	    sent.vmc_params.vcp_ncpus != vm->vm_ncpus ||
	    sent.vmc_params.vcp_memory_size !=
	    vmc->vmc_params.vcp_memory_size ||
	    sent.vmc_ndisks != vmc->vmc_ndisks ||
	    sent.vmc_nnics != vmc->vmc_nnics ||
	    (sent.vmc_cdrom[0] == '\0') != (vmc->vmc_cdrom[0] == '\0'))
		return (vms_fail(r, VMD_RECV_CORRUPT,
		    "the stream's machine is not the one started"));

	if (vms_next(r, &s) == -1)
		return (-1);
	if (s.tag != VMS_CPUID)
		return (vms_fail(r, VMD_RECV_CORRUPT, "no CPUID"));
	if ((p = malloc(s.len ? s.len : 1)) == NULL)
		return (vms_fail(r, ENOMEM, "out of memory"));
	if (vms_read(r, p, s.len) == -1) {
		free(p);
		return (-1);
	}
	if (vmm_cpuid_check(vm->vm_vmm, p, s.len, why, sizeof(why)) == -1) {
		free(p);
		return (vms_fail(r, VMD_RECV_CPU, "%s", why));
	}
	if (vmm_vm_set_cpuid(vm->vm_vmm, p, s.len, why, sizeof(why)) == -1) {
		free(p);
		return (vms_fail(r, VMD_RECV_CPU, "%s", why));
	}
	free(p);

	for (;;) {
		if (vms_next(r, &s) == -1)
			return (-1);
		if (s.tag == VMS_END)
			break;
		if (s.tag == VMS_MEM) {
			if (s.len < sizeof(gpa) || vms_read(r, &gpa,
			    sizeof(gpa)) == -1)
				return (vms_fail(r, VMD_RECV_CORRUPT,
				    "short memory section"));
			len = s.len - sizeof(gpa);
			if ((gpa & (VM_PAGE_SIZE - 1)) != 0 ||
			    (len & (VM_PAGE_SIZE - 1)) != 0 ||
			    (p = vm_mem_ptr(&vm->vm_mem, gpa, len)) == NULL)
				return (vms_fail(r, VMD_RECV_CORRUPT,
				    "memory at 0x%llx+0x%zx is not the "
				    "guest's", (unsigned long long)gpa, len));
			if (vms_read(r, p, len) == -1)
				return (-1);
			continue;
		}
		if (vm_blob_find(bl, s.tag, s.index) != NULL)
			return (vms_fail(r, VMD_RECV_CORRUPT,
			    "section %s %u twice", vms_tag_name(s.tag),
			    s.index));
		if (bl->n == VM_MAX_BLOBS)
			return (vms_fail(r, VMD_RECV_CORRUPT,
			    "too many sections"));
		b = &bl->b[bl->n];
		if ((b->data = malloc(s.len ? s.len : 1)) == NULL)
			return (vms_fail(r, ENOMEM, "out of memory"));
		b->tag = s.tag;
		b->index = s.index;
		b->len = s.len;
		bl->n++;
		if (vms_read(r, b->data, s.len) == -1)
			return (-1);
	}
	return (vms_reader_finish(r));
}

/* Each chip takes its section back; the first refusal is the answer. */
static int
vm_restore_chips(struct vm *vm, struct vm_blobs *bl, char *why, size_t len)
{
	struct vm_blob	*b;
	const char	*err = NULL;
	unsigned int	 i;
	uint32_t	 tag = 0, index = 0;

	/* the irqchip and clock first, then each vCPU (its LAPIC) */
	tag = VMS_VMM;
	if ((b = vm_blob_find(bl, tag, 0)) == NULL)
		err = "missing";
	else if (vmm_vm_restore(vm->vm_vmm, b->data, b->len, why,
	    len) == -1)
		err = why;
	for (i = 0; i < vm->vm_ncpus && err == NULL; i++) {
		tag = VMS_VCPU;
		index = i;
		if ((b = vm_blob_find(bl, tag, i)) == NULL)
			err = "missing";
		else if (vmm_vcpu_restore(vm->vm_vcpus[i].vc_vmm, b->data,
		    b->len, why, len) == -1)
			err = why;
	}
#define CHIP(t, call) do {						\
	if (err == NULL) {						\
		tag = (t);						\
		index = 0;						\
		if ((b = vm_blob_find(bl, tag, 0)) == NULL)		\
			err = "missing";				\
		else							\
			err = (call);					\
	}								\
} while (0)
	CHIP(VMS_X86IO, x86_io_restore(vm, b->data, b->len));
	CHIP(VMS_SERIAL, ns8250_restore(vm->vm_com1, b->data, b->len));
	CHIP(VMS_RTC, mc146818_restore(vm->vm_rtc, b->data, b->len));
	CHIP(VMS_PM, acpi_pm_restore(vm->vm_pm, b->data, b->len));
	CHIP(VMS_PCI, pci_restore(vm->vm_pci, b->data, b->len));
	CHIP(VMS_FWCFG, fw_cfg_restore(vm->vm_fwcfg, b->data, b->len));
	CHIP(VMS_VMMCI, vmmci_restore(vm->vm_vmmci, b->data, b->len));
#undef CHIP
	for (i = 0; i < vm->vm_nvdevs && err == NULL; i++) {
		tag = VMS_VIRTIO;
		index = vm->vm_vdevs[i]->pcidev;
		if ((b = vm_blob_find(bl, tag, index)) == NULL)
			err = "missing";
		else
			err = virtio_restore(vm, index, b->data, b->len);
	}
	if (err == NULL) {
		/* everything sent was taken: nothing is left over */
		for (i = 0; i < bl->n; i++) {
			b = &bl->b[i];
			if ((b->tag == VMS_VCPU && b->index >= vm->vm_ncpus) ||
			    (b->tag == VMS_VIRTIO &&
			    virtio_restore_known(vm, b->index) == 0) ||
			    (b->tag != VMS_VCPU && b->tag != VMS_VIRTIO &&
			    b->index != 0)) {
				tag = b->tag;
				index = b->index;
				err = "not a device of this machine";
				break;
			}
		}
	}
	if (err == NULL)
		return (0);
	if (err != why)
		strlcpy(why, err, len);
	log_warnx("vm %s: receive: section %s %u: %s", vm->vm_name,
	    vms_tag_name(tag), index, why);
	return (-1);
}

/*
 * vmctl receive: the machine the parameters describe, its memory and
 * state from the stream, verified whole before it is built further;
 * disks are opened and parsed only then (their sender may still be
 * writing them).  0, or the start result with the reason logged.
 */
static int
vm_receive(struct vm *vm)
{
	struct vms_reader	*r;
	struct vm_blobs		*bl;
	char			 why[256];
	int			 ret;

	if ((ret = vm_check_params(vm)) != 0)
		return (ret);
	setproctitle("%s", vm->vm_name);
	if ((ret = vm_create_vmm(vm)) != 0)
		return (ret);
	if ((bl = calloc(1, sizeof(*bl))) == NULL ||
	    (r = vms_reader_new(vm->vm_recvfd, vm->vm_recvprefix,
	    vm->vm_recvlen)) == NULL) {
		free(bl);
		return (ENOMEM);
	}
	if (vm_read_stream(vm, r, bl) == -1) {
		ret = vms_reader_code(r);
		log_warnx("vm %s: receive: %s", vm->vm_name,
		    vms_reader_error(r));
		goto done;
	}
	close(vm->vm_recvfd);
	vm->vm_recvfd = -1;
	if ((ret = vm_lock_disks(vm)) != 0 ||
	    (ret = vm_create_devices(vm, NULL)) != 0 ||
	    (ret = vm_create_vcpus(vm)) != 0)
		goto done;
	if (vm_restore_chips(vm, bl, why, sizeof(why)) == -1) {
		ret = VMD_RECV_CORRUPT;
		goto done;
	}
	log_debug("vm %s: received", vm->vm_name);
 done:
	vms_reader_free(r);
	vm_blobs_free(bl);
	free(bl);
	free(vm->vm_recvprefix);
	vm->vm_recvprefix = NULL;
	return (ret);
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
		    vd.vd_depth > VM_MAX_BASE_PER_DISK + 1 ||
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
	case IMSG_VMDOP_RECEIVE_VM_STREAM:
		if (!vm->vm_have_params || vm->vm_started ||
		    vm->vm_recvprefix != NULL ||
		    imsg_get_len(imsg) != VMS_PREFIX_LEN ||
		    (fd = imsg_get_fd(imsg)) == -1)
			fatalx("%s: unexpected stream", __func__);
		if ((vm->vm_recvprefix = malloc(VMS_PREFIX_LEN)) == NULL)
			fatal("%s: malloc", __func__);
		(void)imsg_get_data(imsg, vm->vm_recvprefix, VMS_PREFIX_LEN);
		vm->vm_recvlen = VMS_PREFIX_LEN;
		vm->vm_recvfd = fd;
		break;
	case IMSG_VMDOP_SEND_VM_REQUEST:
		fd = imsg_get_fd(imsg);
		if (fd == -1 || imsg_get_fixed(imsg, &vid, sizeof(vid),
		    "vmop_id") == -1) {
			if (fd != -1)
				close(fd);
			vm_reply(vm, IMSG_VMDOP_SEND_VM_RESPONSE, EINVAL);
			break;
		}
		vm_send(vm, fd);
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
		/* a paused guest cannot answer */
		if (__atomic_load_n(&vm->vm_state, __ATOMIC_SEQ_CST) ==
		    VM_PAUSE)
			(void)vm_unpause(vm);
		/*
		 * Through the guest's vmmci driver if it is up; if it does
		 * not ack in time vmmci.c presses the power button.  vmm
		 * ends the VM at its stop timeout in any case.
		 */
		if (vmmci_ctl(vm->vm_vmmci, VMMCI_SHUTDOWN) == -1)
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

static void
vm_sigterm(int sig)
{
	(void)sig;
	_exit(VM_EXIT_POWEROFF);
}

__dead void
vm_main(int fd, int kvmfd)
{
	const unsigned long *reqs;
	struct vm	*vm;
	size_t		 nreqs;
	unsigned int	 i;

	signal(SIGPIPE, SIG_IGN);
	/*
	 * The first process of its pid namespace gets from vmm only the
	 * signals it handles (and SIGKILL).
	 */
	signal(SIGTERM, vm_sigterm);
	log_procinit("vm");
	/* nothing of the file system from here on: it has descriptors */
	switch (sandbox_chroot(VMD_EMPTYDIR)) {
	case -1:
		fatal("%s: chroot %s", __func__, VMD_EMPTYDIR);
	case 1:
		log_debug("%s: no namespaces of its own: no chroot", __func__);
		break;
	}
	/*
	 * What it is given to parse (kernel, initrd, disk images, a
	 * received stream) it parses sandboxed: it may build its machine
	 * and no more; vm_start() narrows this to the running machine's.
	 */
	reqs = vmm_sandbox_ioctls(1, &nreqs);
	sandbox_ioctls(reqs, nreqs);
	if (sandbox_drop(SANDBOX_VM_SETUP) == -1)
		fatal("%s: sandbox", __func__);
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
	vm->vm_recvfd = -1;
	vm->vm_exitcode = -1;
	vm->vm_state = VM_RUN;
	pthread_mutex_init(&vm->vm_mtx, NULL);
	pthread_cond_init(&vm->vm_cond, NULL);
	pthread_mutex_init(&vm->vm_logmtx, NULL);
	vm->vm_logwindow = -VM_GUEST_WARN_WINDOW;

	if (imsgev_init(vm->vm_iev, fd, "vmm", vm_dispatch, vm_closed,
	    vm) == -1)
		fatal("%s: imsgev_init", __func__);
	event_dispatch();
	exit(VM_EXIT_POWEROFF);
}
