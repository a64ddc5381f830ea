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
 * vmm.h on KVM: the only file that includes <linux/kvm.h>.
 *
 * The in-kernel irqchip (8259 pair, IOAPIC, LAPICs) and PIT are used:
 * they are faster than userland models and give us SMP.  Legacy IRQ n is
 * routed to 8259 pin n and IOAPIC pin n, except that IRQ 0 (the PIT) goes
 * to IOAPIC pin 2, as the MADT's interrupt source override says.
 * MSIs come either from KVM_SIGNAL_MSI or, without a syscall of ours
 * beyond an eventfd write, from an irqfd on a GSI routed to the MSI.
 */

#include <sys/types.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#include <linux/kvm.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "vmm.h"

#define KVM_KICK_SIGNAL		SIGUSR2
#define KVM_MAX_CPUID		256
#define KVM_MAX_SLOTS		16
#define KVM_MSI_MAX		128	/* GSIs for irqfds, from VMM_NIRQS */
#define KVM_CHIP_ROUTES		(VMM_NIRQS + 15)	/* IOAPIC + 8259s */

#define APIC_LVT0		0x350
#define APIC_LVT1		0x360
#define APIC_DM_NMI		0x00400
#define APIC_DM_EXTINT		0x00700

struct kvm_msi_route {
	uint64_t		 addr;
	uint32_t		 data;
	int			 set;
};

struct vmm_vm {
	int			 vm_fd;
	int			 vm_kvmfd;
	unsigned int		 vm_ncpus;
	unsigned int		 vm_nslots;
	size_t			 vm_runsize;
	unsigned int		 vm_nvcpus;	/* created so far */
	struct kvm_cpuid2	*vm_cpuid;
	int			 vm_tscdeadline;	/* LAPIC TSC-deadline mode */
	struct kvm_clock_data	 vm_clock;	/* saved while paused */
	struct kvm_pit_state2	 vm_pit;
	int			 vm_paused;
	uint64_t		 vm_pause_ns;	/* CLOCK_MONOTONIC */

	/* for saved state: what this KVM has, and the MSRs to save */
	size_t			 vm_xsave_size;	/* 0: no XSAVE */
	int			 vm_sregs2;
	int			 vm_tsc_control;	/* it can scale */
	int			 vm_get_tsc_khz;
	uint32_t		 vm_tsc_khz;	/* the vCPUs', 0 unknown */
	uint32_t		*vm_msrs;
	size_t			 vm_nmsrs;

	/* the GSI routes: the chips', then the irqfds' MSIs */
	pthread_mutex_t		 vm_routemtx;
	struct kvm_irq_routing	*vm_routes;
	unsigned int		 vm_nmsi;	/* irqfd GSIs handed out */
	struct kvm_msi_route	 vm_msi[KVM_MSI_MAX];
};

struct vmm_vcpu {
	struct vmm_vm		*vc_vm;
	unsigned int		 vc_id;
	int			 vc_fd;
	struct kvm_run		*vc_run;
	pthread_t		 vc_thread;
	int			 vc_has_thread;
};

static void	kvm_state_caps(struct vmm_vm *);
static uint64_t	kvm_now_ns(void);

static void
vmm_kick_handler(int sig)
{
	/* Only there to make KVM_RUN return EINTR. */
	(void)sig;
}

int
vmm_kick_signal(void)
{
	return (KVM_KICK_SIGNAL);
}

static int
kvm_check_cap(int fd, long cap, const char *name)
{
	if (ioctl(fd, KVM_CHECK_EXTENSION, cap) <= 0) {
		log_warnx("%s: KVM lacks %s", __func__, name);
		errno = ENOTSUP;
		return (-1);
	}
	return (0);
}

/*
 * The whole routing table, as KVM takes it: IRQ n on 8259 pin n and
 * IOAPIC pin n, but the PIT's IRQ 0 on pin 2; then one MSI per irqfd
 * GSI that has a route.  vm_routemtx held, or no other thread yet.
 */
static int
kvm_set_routing(struct vmm_vm *vm)
{
	struct kvm_irq_routing		*r = vm->vm_routes;
	struct kvm_irq_routing_entry	*e;
	unsigned int			 gsi, i, n = 0;

	memset(r, 0, sizeof(*r) +
	    (KVM_CHIP_ROUTES + KVM_MSI_MAX) * sizeof(r->entries[0]));
	for (gsi = 0; gsi < VMM_NIRQS; gsi++) {
		if (gsi == 2)
			continue;	/* the cascade */
		if (gsi < 16) {
			e = &r->entries[n++];
			e->gsi = gsi;
			e->type = KVM_IRQ_ROUTING_IRQCHIP;
			e->u.irqchip.irqchip = gsi < 8 ?
			    KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE;
			e->u.irqchip.pin = gsi % 8;
		}
		e = &r->entries[n++];
		e->gsi = gsi;
		e->type = KVM_IRQ_ROUTING_IRQCHIP;
		e->u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC;
		e->u.irqchip.pin = gsi == 0 ? 2 : gsi;
	}
	for (i = 0; i < vm->vm_nmsi; i++) {
		if (!vm->vm_msi[i].set)
			continue;
		e = &r->entries[n++];
		e->gsi = VMM_NIRQS + i;
		e->type = KVM_IRQ_ROUTING_MSI;
		e->u.msi.address_lo = (uint32_t)vm->vm_msi[i].addr;
		e->u.msi.address_hi = vm->vm_msi[i].addr >> 32;
		e->u.msi.data = vm->vm_msi[i].data;
	}
	r->nr = n;
	return (ioctl(vm->vm_fd, KVM_SET_GSI_ROUTING, r));
}

/*
 * The extended topology leaves (0xb, and 0x1f where the basic leaves
 * reach it) with their SMT, core and end-of-list levels, whatever KVM
 * listed: some hosts list only level 0, and a guest that finds no core
 * level takes every vCPU for a package of its own.  kvm_vcpu_cpuid
 * fills them in per vCPU.
 */
static void
kvm_cpuid_topology(struct kvm_cpuid2 *c)
{
	static const uint32_t	 leaves[] = { 0xb, 0x1f };
	struct kvm_cpuid_entry2	*e;
	uint32_t		 max = 0, i, j, n, l;

	for (i = 0; i < c->nent; i++)
		if (c->entries[i].function == 0)
			max = c->entries[i].eax;
	for (l = 0; l < nitems(leaves); l++) {
		if (max < leaves[l])
			continue;
		for (i = n = 0; i < c->nent; i++)
			if (c->entries[i].function != leaves[l])
				c->entries[n++] = c->entries[i];
		c->nent = n;
		for (j = 0; j < 3; j++) {
			e = &c->entries[c->nent++];
			memset(e, 0, sizeof(*e));
			e->function = leaves[l];
			e->index = j;
			e->flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX;
		}
	}
}

static int
kvm_get_cpuid(struct vmm_vm *vm)
{
	struct kvm_cpuid2	*c;

	c = calloc(1, sizeof(*c) + KVM_MAX_CPUID * sizeof(c->entries[0]));
	if (c == NULL)
		return (-1);
	c->nent = KVM_MAX_CPUID - 6;	/* room for kvm_cpuid_topology */
	if (ioctl(vm->vm_kvmfd, KVM_GET_SUPPORTED_CPUID, c) == -1) {
		free(c);
		return (-1);
	}
	kvm_cpuid_topology(c);
	vm->vm_cpuid = c;
	return (0);
}

/*
 * The KVM requests a sandbox lets through: those of a running machine
 * (interrupts, register and state transfer for send and receive), and
 * with setup set, also those that build one (for the process whose
 * children are still to build theirs).
 */
const unsigned long *
vmm_sandbox_ioctls(int setup, size_t *n)
{
	static const unsigned long	reqs[] = {
		/* a running machine */
		KVM_RUN, KVM_IRQ_LINE, KVM_SIGNAL_MSI, KVM_SET_GSI_ROUTING,
		KVM_IRQFD, KVM_IOEVENTFD, KVM_CHECK_EXTENSION,
		KVM_GET_TSC_KHZ, KVM_GET_MSR_INDEX_LIST,
		KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS,
		KVM_GET_SREGS2, KVM_SET_SREGS2, KVM_GET_FPU, KVM_SET_FPU,
		KVM_GET_XSAVE, KVM_SET_XSAVE, KVM_GET_XSAVE2,
		KVM_GET_XCRS, KVM_SET_XCRS, KVM_GET_MSRS, KVM_SET_MSRS,
		KVM_GET_LAPIC, KVM_SET_LAPIC, KVM_GET_MP_STATE,
		KVM_SET_MP_STATE, KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS,
		KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS, KVM_GET_IRQCHIP,
		KVM_SET_IRQCHIP, KVM_GET_PIT2, KVM_SET_PIT2, KVM_GET_CLOCK,
		KVM_SET_CLOCK, KVM_GET_DEVICE_ATTR, KVM_HAS_DEVICE_ATTR,
		KVM_SET_DEVICE_ATTR,
		/* building one */
		KVM_GET_API_VERSION, KVM_CREATE_VM, KVM_GET_VCPU_MMAP_SIZE,
		KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR,
		KVM_CREATE_IRQCHIP, KVM_CREATE_PIT2, KVM_SET_USER_MEMORY_REGION,
		KVM_CREATE_VCPU, KVM_GET_SUPPORTED_CPUID, KVM_SET_CPUID2,
		KVM_SET_TSC_KHZ,
	};

	*n = setup ? nitems(reqs) : nitems(reqs) - 12;
	return (reqs);
}

/* The most vCPUs KVM gives one VM, or -1. */
int
vmm_max_vcpus(int kvmfd)
{
	int	n;

	if ((n = ioctl(kvmfd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS)) <= 0)
		n = ioctl(kvmfd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	return (n > 0 ? n : -1);
}

struct vmm_vm *
vmm_vm_create(int kvmfd, unsigned int ncpus)
{
	struct sigaction	 sa;
	struct kvm_pit_config	 pit;
	struct vmm_vm		*vm;
	uint64_t		 identmap = VMM_IDENTMAP_ADDR;
	int			 n, saved;

	if (ioctl(kvmfd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		log_warnx("%s: unsupported KVM API version", __func__);
		errno = ENOTSUP;
		return (NULL);
	}
	if (kvm_check_cap(kvmfd, KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP") == -1 ||
	    kvm_check_cap(kvmfd, KVM_CAP_PIT2, "KVM_CAP_PIT2") == -1 ||
	    kvm_check_cap(kvmfd, KVM_CAP_IRQ_ROUTING,
	    "KVM_CAP_IRQ_ROUTING") == -1 ||
	    kvm_check_cap(kvmfd, KVM_CAP_IMMEDIATE_EXIT,
	    "KVM_CAP_IMMEDIATE_EXIT") == -1 ||
	    kvm_check_cap(kvmfd, KVM_CAP_SET_TSS_ADDR,
	    "KVM_CAP_SET_TSS_ADDR") == -1 ||
	    kvm_check_cap(kvmfd, KVM_CAP_EXT_CPUID,
	    "KVM_CAP_EXT_CPUID") == -1 ||
	    kvm_check_cap(kvmfd, KVM_CAP_USER_MEMORY,
	    "KVM_CAP_USER_MEMORY") == -1)
		return (NULL);
	if ((n = vmm_max_vcpus(kvmfd)) > 0 && ncpus > (unsigned int)n) {
		log_warnx("%s: KVM allows at most %d vcpus", __func__, n);
		errno = EINVAL;
		return (NULL);
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = vmm_kick_handler;
	sigemptyset(&sa.sa_mask);
	if (sigaction(KVM_KICK_SIGNAL, &sa, NULL) == -1)
		return (NULL);

	if ((vm = calloc(1, sizeof(*vm))) == NULL)
		return (NULL);
	vm->vm_fd = -1;
	pthread_mutex_init(&vm->vm_routemtx, NULL);
	if ((vm->vm_routes = calloc(1, sizeof(*vm->vm_routes) +
	    (KVM_CHIP_ROUTES + KVM_MSI_MAX) *
	    sizeof(vm->vm_routes->entries[0]))) == NULL) {
		free(vm);
		return (NULL);
	}
	vm->vm_kvmfd = kvmfd;
	vm->vm_ncpus = ncpus;
	if ((n = ioctl(kvmfd, KVM_GET_VCPU_MMAP_SIZE, 0)) <= 0) {
		log_warn("%s: KVM_GET_VCPU_MMAP_SIZE", __func__);
		goto fail;
	}
	vm->vm_runsize = n;

	if ((vm->vm_fd = ioctl(kvmfd, KVM_CREATE_VM, 0)) == -1) {
		log_warn("%s: KVM_CREATE_VM", __func__);
		goto fail;
	}
	if (ioctl(vm->vm_fd, KVM_SET_TSS_ADDR, (unsigned long)VMM_TSS_ADDR)
	    == -1) {
		log_warn("%s: KVM_SET_TSS_ADDR", __func__);
		goto fail;
	}
	if (ioctl(vm->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &identmap) == -1) {
		log_warn("%s: KVM_SET_IDENTITY_MAP_ADDR", __func__);
		goto fail;
	}
	if (ioctl(vm->vm_fd, KVM_CREATE_IRQCHIP, 0) == -1) {
		log_warn("%s: KVM_CREATE_IRQCHIP", __func__);
		goto fail;
	}
	if (kvm_set_routing(vm) == -1) {
		log_warn("%s: KVM_SET_GSI_ROUTING", __func__);
		goto fail;
	}
	memset(&pit, 0, sizeof(pit));
	pit.flags = KVM_PIT_SPEAKER_DUMMY;
	if (ioctl(vm->vm_fd, KVM_CREATE_PIT2, &pit) == -1) {
		log_warn("%s: KVM_CREATE_PIT2", __func__);
		goto fail;
	}
	if (kvm_get_cpuid(vm) == -1) {
		log_warn("%s: KVM_GET_SUPPORTED_CPUID", __func__);
		goto fail;
	}
	vm->vm_tscdeadline = ioctl(kvmfd, KVM_CHECK_EXTENSION,
	    KVM_CAP_TSC_DEADLINE_TIMER) > 0;
	kvm_state_caps(vm);
	return (vm);
 fail:
	saved = errno;
	vmm_vm_destroy(vm);
	errno = saved;
	return (NULL);
}

int
vmm_vm_add_memory(struct vmm_vm *vm, uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region	mr;

	if (vm->vm_nslots >= KVM_MAX_SLOTS) {
		errno = ENOSPC;
		return (-1);
	}
	memset(&mr, 0, sizeof(mr));
	mr.slot = vm->vm_nslots;
	mr.guest_phys_addr = gpa;
	mr.memory_size = size;
	mr.userspace_addr = (uintptr_t)hva;
	if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &mr) == -1) {
		log_warn("%s: KVM_SET_USER_MEMORY_REGION 0x%llx+0x%llx",
		    __func__, (unsigned long long)gpa,
		    (unsigned long long)size);
		return (-1);
	}
	vm->vm_nslots++;
	return (0);
}

/* Thread-safe: called from vCPU threads and the event thread alike. */
int
vmm_vm_irq_line(struct vmm_vm *vm, unsigned int irq, int level)
{
	struct kvm_irq_level	il;

	if (irq >= VMM_NIRQS || irq == 2) {
		errno = EINVAL;
		return (-1);
	}
	il.irq = irq;
	il.level = level ? 1 : 0;
	return (ioctl(vm->vm_fd, KVM_IRQ_LINE, &il));
}

/* an MSI (a PCI device's MSI-X vector): address and data as programmed */
int
vmm_vm_signal_msi(struct vmm_vm *vm, uint64_t addr, uint32_t data)
{
	struct kvm_msi	msi;

	memset(&msi, 0, sizeof(msi));
	msi.address_lo = (uint32_t)addr;
	msi.address_hi = addr >> 32;
	msi.data = data;
	/* 1: delivered, 0: blocked by the guest; both are fine here */
	return (ioctl(vm->vm_fd, KVM_SIGNAL_MSI, &msi) == -1 ? -1 : 0);
}

/*
 * A GSI of its own for eventfd fd: from now on a write to fd injects,
 * inside the kernel, the MSI that vmm_vm_msi_route gives the GSI (none
 * until then).  Returns the GSI, or -1 (ENOSPC: all are taken).
 */
int
vmm_vm_msi_irqfd(struct vmm_vm *vm, int fd)
{
	struct kvm_irqfd	irqfd;
	int			gsi;

	pthread_mutex_lock(&vm->vm_routemtx);
	if (vm->vm_nmsi == KVM_MSI_MAX) {
		pthread_mutex_unlock(&vm->vm_routemtx);
		errno = ENOSPC;
		return (-1);
	}
	gsi = VMM_NIRQS + vm->vm_nmsi;
	memset(&irqfd, 0, sizeof(irqfd));
	irqfd.fd = fd;
	irqfd.gsi = gsi;
	if (ioctl(vm->vm_fd, KVM_IRQFD, &irqfd) == -1) {
		pthread_mutex_unlock(&vm->vm_routemtx);
		return (-1);
	}
	vm->vm_nmsi++;
	pthread_mutex_unlock(&vm->vm_routemtx);
	return (gsi);
}

/*
 * The MSI (address and data, as the guest programmed them) that GSI
 * gsi of vmm_vm_msi_irqfd injects.  Costly (KVM waits for its readers
 * of the old table): for when the guest changed the vector, not per
 * interrupt.
 */
int
vmm_vm_msi_route(struct vmm_vm *vm, int gsi, uint64_t addr, uint32_t data)
{
	struct kvm_msi_route	was;
	unsigned int		i = gsi - VMM_NIRQS;
	int			ret;

	pthread_mutex_lock(&vm->vm_routemtx);
	if (gsi < VMM_NIRQS || i >= vm->vm_nmsi) {
		pthread_mutex_unlock(&vm->vm_routemtx);
		errno = EINVAL;
		return (-1);
	}
	was = vm->vm_msi[i];
	vm->vm_msi[i].addr = addr;
	vm->vm_msi[i].data = data;
	vm->vm_msi[i].set = 1;
	/* refused: KVM keeps the old table, and so do we */
	if ((ret = kvm_set_routing(vm)) == -1)
		vm->vm_msi[i] = was;
	pthread_mutex_unlock(&vm->vm_routemtx);
	return (ret);
}

int
vmm_vm_ioeventfd(struct vmm_vm *vm, uint16_t port, unsigned int len,
    int64_t match, int fd)
{
	struct kvm_ioeventfd	ioev;

	memset(&ioev, 0, sizeof(ioev));
	ioev.addr = port;
	ioev.len = len;
	ioev.fd = fd;
	ioev.flags = KVM_IOEVENTFD_FLAG_PIO;
	if (match != -1) {
		ioev.flags |= KVM_IOEVENTFD_FLAG_DATAMATCH;
		ioev.datamatch = (uint64_t)match;
	}
	return (ioctl(vm->vm_fd, KVM_IOEVENTFD, &ioev));
}

/*
 * Freeze what the kernel keeps running for a paused guest: the KVM clock
 * (so that the guest does not see the pause) and the PIT (which would
 * otherwise re-inject every tick it missed).
 */
int
vmm_vm_pause(struct vmm_vm *vm)
{
	if (vm->vm_paused)
		return (0);
	memset(&vm->vm_clock, 0, sizeof(vm->vm_clock));
	if (ioctl(vm->vm_fd, KVM_GET_CLOCK, &vm->vm_clock) == -1) {
		log_warn("%s: KVM_GET_CLOCK", __func__);
		return (-1);
	}
	if (ioctl(vm->vm_fd, KVM_GET_PIT2, &vm->vm_pit) == -1) {
		log_warn("%s: KVM_GET_PIT2", __func__);
		return (-1);
	}
	vm->vm_pause_ns = kvm_now_ns();
	vm->vm_paused = 1;
	return (0);
}

int
vmm_vm_unpause(struct vmm_vm *vm)
{
	struct kvm_clock_data	cd;

	if (!vm->vm_paused)
		return (0);
	vm->vm_paused = 0;
	if (ioctl(vm->vm_fd, KVM_SET_PIT2, &vm->vm_pit) == -1) {
		log_warn("%s: KVM_SET_PIT2", __func__);
		return (-1);
	}
	memset(&cd, 0, sizeof(cd));
	cd.clock = vm->vm_clock.clock;
	if (ioctl(vm->vm_fd, KVM_SET_CLOCK, &cd) == -1) {
		log_warn("%s: KVM_SET_CLOCK", __func__);
		return (-1);
	}
	return (0);
}

/*
 * A paused VM's clock goes on ns later than where it stopped when it is
 * unpaused: after a receive, the time the VM spent in transit, so that
 * the guest's kvm-clock time agrees with the host's again.
 */
void
vmm_vm_clock_advance(struct vmm_vm *vm, uint64_t ns)
{
	if (vm->vm_paused)
		vm->vm_clock.clock += ns;
}

void
vmm_vm_destroy(struct vmm_vm *vm)
{
	if (vm == NULL)
		return;
	if (vm->vm_fd != -1)
		close(vm->vm_fd);
	free(vm->vm_cpuid);
	free(vm->vm_routes);
	free(vm->vm_msrs);
	free(vm);
}

/*
 * The feature bits every vCPU gets on top of KVM's supported CPUID: the
 * hypervisor bit (without it guests do not look at KVM's leaves,
 * 0x40000000 up, and Linux then keeps time with the ACPI PM timer, an
 * exit to us on every clock read, instead of kvm-clock) and TSC-deadline
 * mode, which the in-kernel LAPIC has but older kernels' supported
 * CPUID does not say (with it Linux needs no LAPIC timer calibration,
 * 100 ms of its boot, and arms its timer with one MSR write).
 */
static void
kvm_cpuid_ours(struct vmm_vm *vm, struct kvm_cpuid_entry2 *e)
{
	if (e->function != 0x1)
		return;
	e->ecx |= 1U << 31;
	if (vm->vm_tscdeadline)
		e->ecx |= 1U << 24;
}

/* the bits of the APIC id that number the cores of the one package */
static uint32_t
cpuid_shift(struct vmm_vcpu *vc)
{
	uint32_t	shift;

	for (shift = 0; (1U << shift) < vc->vc_vm->vm_ncpus; shift++)
		;
	return (shift);
}

/*
 * KVM's supported CPUID, with this vCPU's APIC id in it and the
 * hypervisor bit set: without it guests do not look at KVM's leaves
 * (0x40000000 up), and Linux then keeps time with the ACPI PM timer, an
 * exit to us on every clock read, instead of kvm-clock.
 */
static int
kvm_vcpu_cpuid(struct vmm_vcpu *vc)
{
	struct kvm_cpuid2		*src = vc->vc_vm->vm_cpuid, *c;
	struct kvm_cpuid_entry2		*e;
	size_t				 len;
	uint32_t			 i;
	int				 ret;

	len = sizeof(*c) + src->nent * sizeof(src->entries[0]);
	if ((c = malloc(len)) == NULL)
		return (-1);
	memcpy(c, src, len);
	for (i = 0; i < c->nent; i++) {
		e = &c->entries[i];
		switch (e->function) {
		case 0x1:
			e->ebx = (e->ebx & 0x0000ffff) |
			    (MINIMUM(vc->vc_vm->vm_ncpus, 255) << 16) |
			    (vc->vc_id << 24);
			if (vc->vc_vm->vm_ncpus > 1)
				e->edx |= 1U << 28;	/* HTT: ebx valid */
			kvm_cpuid_ours(vc->vc_vm, e);
			break;
		case 0x4:
			/*
			 * Intel's cache leaf also tells the cores per package
			 * (31:26); the last level is shared by all of them.
			 */
			if ((e->eax & 0x1f) == 0)
				break;
			e->eax &= 0x3fff;
			e->eax |= (vc->vc_vm->vm_ncpus - 1) << 26;
			if (((e->eax >> 5) & 7) >= 3)
				e->eax |= (vc->vc_vm->vm_ncpus - 1) << 14;
			break;
		case 0x80000008:
			/* AMD's: cores per package, bits of core id in the APIC id */
			e->ecx = (e->ecx & ~0xf0ffU) |
			    (vc->vc_vm->vm_ncpus - 1) | (cpuid_shift(vc) << 12);
			break;
		case 0x8000001e:
			/* AMD's: this core's id, one thread per core, node 0 */
			e->eax = vc->vc_id;
			e->ebx = vc->vc_id & 0xff;
			e->ecx = 0;
			break;
		case 0xb:
		case 0x1f:
			/* one thread per core, all cores in one package */
			if (e->index == 0) {
				e->eax = 0;
				e->ebx = 1;
				e->ecx = 0x100;
			} else if (e->index == 1) {
				e->eax = cpuid_shift(vc);
				e->ebx = vc->vc_vm->vm_ncpus;
				e->ecx = 0x200 | 1;
			} else {
				e->eax = e->ebx = 0;
				e->ecx = e->index;
			}
			e->edx = vc->vc_id;
			break;
		}
	}
	ret = ioctl(vc->vc_fd, KVM_SET_CPUID2, c);
	free(c);
	return (ret);
}

/* As firmware would: the 8259 reaches the BSP through LINT0. */
static int
kvm_vcpu_lapic_bsp(struct vmm_vcpu *vc)
{
	struct kvm_lapic_state	ls;
	uint32_t		v;

	if (ioctl(vc->vc_fd, KVM_GET_LAPIC, &ls) == -1)
		return (-1);
	v = APIC_DM_EXTINT;
	memcpy(&ls.regs[APIC_LVT0], &v, sizeof(v));
	v = APIC_DM_NMI;
	memcpy(&ls.regs[APIC_LVT1], &v, sizeof(v));
	return (ioctl(vc->vc_fd, KVM_SET_LAPIC, &ls));
}

struct vmm_vcpu *
vmm_vcpu_create(struct vmm_vm *vm, unsigned int id)
{
	struct vmm_vcpu	*vc;
	void		*p;
	int		 n, saved;

	if ((vc = calloc(1, sizeof(*vc))) == NULL)
		return (NULL);
	vc->vc_vm = vm;
	vc->vc_id = id;
	vc->vc_fd = -1;
	if ((vc->vc_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, (unsigned long)id))
	    == -1) {
		log_warn("%s: KVM_CREATE_VCPU %u", __func__, id);
		goto fail;
	}
	p = mmap(NULL, vm->vm_runsize, PROT_READ | PROT_WRITE, MAP_SHARED,
	    vc->vc_fd, 0);
	if (p == MAP_FAILED) {
		log_warn("%s: mmap kvm_run", __func__);
		goto fail;
	}
	vc->vc_run = p;
	if (kvm_vcpu_cpuid(vc) == -1) {
		log_warn("%s: KVM_SET_CPUID2", __func__);
		goto fail;
	}
	if (id == 0 && kvm_vcpu_lapic_bsp(vc) == -1) {
		log_warn("%s: KVM_SET_LAPIC", __func__);
		goto fail;
	}
	/* the rate the guest's TSC runs at, for the saved CPUID */
	if (vm->vm_tsc_khz == 0 && vm->vm_get_tsc_khz &&
	    (n = ioctl(vc->vc_fd, KVM_GET_TSC_KHZ, 0)) > 0)
		vm->vm_tsc_khz = n;
	vm->vm_nvcpus++;
	return (vc);
 fail:
	saved = errno;
	if (vc->vc_run != NULL)
		munmap(vc->vc_run, vm->vm_runsize);
	if (vc->vc_fd != -1)
		close(vc->vc_fd);
	free(vc);
	errno = saved;
	return (NULL);
}

static void
seg_to_kvm(const struct vmm_seg *s, struct kvm_segment *k)
{
	memset(k, 0, sizeof(*k));
	k->base = s->base;
	k->limit = s->limit;
	k->selector = s->sel;
	k->type = VMM_AR_TYPE(s->ar);
	k->s = (s->ar & VMM_AR_S) != 0;
	k->dpl = VMM_AR_DPL(s->ar);
	k->present = (s->ar & VMM_AR_P) != 0;
	k->avl = (s->ar & VMM_AR_AVL) != 0;
	k->l = (s->ar & VMM_AR_L) != 0;
	k->db = (s->ar & VMM_AR_DB) != 0;
	k->g = (s->ar & VMM_AR_G) != 0;
	k->unusable = !k->present;
}

static void
seg_from_kvm(const struct kvm_segment *k, struct vmm_seg *s)
{
	s->base = k->base;
	s->limit = k->limit;
	s->sel = k->selector;
	s->ar = (k->type & 0xf) | (k->s ? VMM_AR_S : 0) |
	    ((k->dpl & 3) << 5) | (k->present ? VMM_AR_P : 0) |
	    (k->avl ? VMM_AR_AVL : 0) | (k->l ? VMM_AR_L : 0) |
	    (k->db ? VMM_AR_DB : 0) | (k->g ? VMM_AR_G : 0);
}

int
vmm_vcpu_set_regs(struct vmm_vcpu *vc, const struct vmm_regs *r)
{
	struct kvm_regs		regs;
	struct kvm_sregs	sregs;

	if (ioctl(vc->vc_fd, KVM_GET_SREGS, &sregs) == -1)
		return (-1);
	seg_to_kvm(&r->cs, &sregs.cs);
	seg_to_kvm(&r->ds, &sregs.ds);
	seg_to_kvm(&r->es, &sregs.es);
	seg_to_kvm(&r->fs, &sregs.fs);
	seg_to_kvm(&r->gs, &sregs.gs);
	seg_to_kvm(&r->ss, &sregs.ss);
	seg_to_kvm(&r->tr, &sregs.tr);
	seg_to_kvm(&r->ldtr, &sregs.ldt);
	sregs.gdt.base = r->gdtr.base;
	sregs.gdt.limit = r->gdtr.limit;
	sregs.idt.base = r->idtr.base;
	sregs.idt.limit = r->idtr.limit;
	sregs.cr0 = r->cr0;
	sregs.cr3 = r->cr3;
	sregs.cr4 = r->cr4;
	sregs.efer = r->efer;
	if (ioctl(vc->vc_fd, KVM_SET_SREGS, &sregs) == -1)
		return (-1);

	memset(&regs, 0, sizeof(regs));
	regs.rax = r->gpr[VMM_RAX];
	regs.rbx = r->gpr[VMM_RBX];
	regs.rcx = r->gpr[VMM_RCX];
	regs.rdx = r->gpr[VMM_RDX];
	regs.rsi = r->gpr[VMM_RSI];
	regs.rdi = r->gpr[VMM_RDI];
	regs.rbp = r->gpr[VMM_RBP];
	regs.rsp = r->gpr[VMM_RSP];
	regs.r8 = r->gpr[VMM_R8];
	regs.r9 = r->gpr[VMM_R9];
	regs.r10 = r->gpr[VMM_R10];
	regs.r11 = r->gpr[VMM_R11];
	regs.r12 = r->gpr[VMM_R12];
	regs.r13 = r->gpr[VMM_R13];
	regs.r14 = r->gpr[VMM_R14];
	regs.r15 = r->gpr[VMM_R15];
	regs.rip = r->gpr[VMM_RIP];
	regs.rflags = r->gpr[VMM_RFLAGS] | 0x2;
	return (ioctl(vc->vc_fd, KVM_SET_REGS, &regs));
}

int
vmm_vcpu_get_regs(struct vmm_vcpu *vc, struct vmm_regs *r)
{
	struct kvm_regs		regs;
	struct kvm_sregs	sregs;

	if (ioctl(vc->vc_fd, KVM_GET_REGS, &regs) == -1 ||
	    ioctl(vc->vc_fd, KVM_GET_SREGS, &sregs) == -1)
		return (-1);
	memset(r, 0, sizeof(*r));
	r->gpr[VMM_RAX] = regs.rax;
	r->gpr[VMM_RBX] = regs.rbx;
	r->gpr[VMM_RCX] = regs.rcx;
	r->gpr[VMM_RDX] = regs.rdx;
	r->gpr[VMM_RSI] = regs.rsi;
	r->gpr[VMM_RDI] = regs.rdi;
	r->gpr[VMM_RBP] = regs.rbp;
	r->gpr[VMM_RSP] = regs.rsp;
	r->gpr[VMM_R8] = regs.r8;
	r->gpr[VMM_R9] = regs.r9;
	r->gpr[VMM_R10] = regs.r10;
	r->gpr[VMM_R11] = regs.r11;
	r->gpr[VMM_R12] = regs.r12;
	r->gpr[VMM_R13] = regs.r13;
	r->gpr[VMM_R14] = regs.r14;
	r->gpr[VMM_R15] = regs.r15;
	r->gpr[VMM_RIP] = regs.rip;
	r->gpr[VMM_RFLAGS] = regs.rflags;
	seg_from_kvm(&sregs.cs, &r->cs);
	seg_from_kvm(&sregs.ds, &r->ds);
	seg_from_kvm(&sregs.es, &r->es);
	seg_from_kvm(&sregs.fs, &r->fs);
	seg_from_kvm(&sregs.gs, &r->gs);
	seg_from_kvm(&sregs.ss, &r->ss);
	seg_from_kvm(&sregs.tr, &r->tr);
	seg_from_kvm(&sregs.ldt, &r->ldtr);
	r->gdtr.base = sregs.gdt.base;
	r->gdtr.limit = sregs.gdt.limit;
	r->idtr.base = sregs.idt.base;
	r->idtr.limit = sregs.idt.limit;
	r->cr0 = sregs.cr0;
	r->cr3 = sregs.cr3;
	r->cr4 = sregs.cr4;
	r->efer = sregs.efer;
	return (0);
}

void
vmm_vcpu_set_thread(struct vmm_vcpu *vc, pthread_t thread)
{
	vc->vc_thread = thread;
	vc->vc_has_thread = 1;
}

/*
 * Make the vCPU leave KVM_RUN soon: immediate_exit covers the window
 * before the ioctl, the signal the time inside it.
 */
void
vmm_vcpu_kick(struct vmm_vcpu *vc)
{
	__atomic_store_n(&vc->vc_run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	if (vc->vc_has_thread)
		pthread_kill(vc->vc_thread, KVM_KICK_SIGNAL);
}

static uint64_t
kvm_vcpu_rip(struct vmm_vcpu *vc)
{
	struct kvm_regs	regs;

	if (ioctl(vc->vc_fd, KVM_GET_REGS, &regs) == -1)
		return (0);
	return (regs.rip);
}

static void
kvm_exit_error(struct vmm_vcpu *vc, struct vmm_exit *ve, const char *what,
    uint32_t code, uint64_t detail)
{
	ve->type = VMM_EXIT_ERROR;
	ve->u.err.what = what;
	ve->u.err.code = code;
	ve->u.err.detail = detail;
	ve->u.err.rip = kvm_vcpu_rip(vc);
}

/*
 * One trip into the guest.  Returns -1 only if the hypervisor failed;
 * everything the guest did is described by *ve.
 */
int
vmm_vcpu_run(struct vmm_vcpu *vc, struct vmm_exit *ve)
{
	struct kvm_run	*run = vc->vc_run;

	if (ioctl(vc->vc_fd, KVM_RUN, 0) == -1) {
		if (errno == EINTR || errno == EAGAIN) {
			__atomic_store_n(&run->immediate_exit, 0,
			    __ATOMIC_SEQ_CST);
			ve->type = VMM_EXIT_INTR;
			return (0);
		}
		return (-1);
	}

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		if (run->io.data_offset >= vc->vc_vm->vm_runsize ||
		    (uint64_t)run->io.size * run->io.count >
		    vc->vc_vm->vm_runsize - run->io.data_offset) {
			kvm_exit_error(vc, ve, "bad I/O exit", 0, 0);
			break;
		}
		ve->type = VMM_EXIT_IO;
		ve->u.io.port = run->io.port;
		ve->u.io.size = run->io.size;
		ve->u.io.in = run->io.direction == KVM_EXIT_IO_IN;
		ve->u.io.count = run->io.count;
		ve->u.io.data = (uint8_t *)run + run->io.data_offset;
		break;
	case KVM_EXIT_MMIO:
		ve->type = VMM_EXIT_MMIO;
		ve->u.mmio.gpa = run->mmio.phys_addr;
		ve->u.mmio.data = run->mmio.data;
		ve->u.mmio.len = MINIMUM(run->mmio.len, sizeof(run->mmio.data));
		ve->u.mmio.write = run->mmio.is_write;
		break;
	case KVM_EXIT_INTR:
		ve->type = VMM_EXIT_INTR;
		break;
	case KVM_EXIT_HLT:
		ve->type = VMM_EXIT_HLT;
		break;
	case KVM_EXIT_SHUTDOWN:
		ve->type = VMM_EXIT_SHUTDOWN;
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		switch (run->system_event.type) {
		case KVM_SYSTEM_EVENT_RESET:
			ve->type = VMM_EXIT_RESET;
			break;
		case KVM_SYSTEM_EVENT_SHUTDOWN:
			ve->type = VMM_EXIT_POWEROFF;
			break;
		default:
			kvm_exit_error(vc, ve, "system event",
			    run->system_event.type, 0);
			break;
		}
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		kvm_exit_error(vc, ve, "internal error",
		    run->internal.suberror, 0);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		kvm_exit_error(vc, ve, "entry failure",
		    0, run->fail_entry.hardware_entry_failure_reason);
		break;
	default:
		kvm_exit_error(vc, ve, "unexpected exit", run->exit_reason, 0);
		break;
	}
	return (0);
}

/*
 * Saved state.
 *
 * A blob is a header (magic "VMMS", format version, hypervisor, kind,
 * length of the rest) and records: a four-character tag, a 32-bit
 * length and that many bytes.  Integers are little-endian, the byte
 * order of the only hosts this file is built for; records holding KVM
 * structures use KVM's UAPI layouts, which do not change.  Records come
 * in any order.  A restore parses and checks the whole blob before it
 * changes anything, and refuses a record it does not know, one it finds
 * twice, one of the wrong size and one it needs and does not find.
 *
 * Time.  A restored guest goes on from the instant the VM was paused:
 * the KVM clock is the one vmm_vm_pause froze, set again by
 * vmm_vm_unpause, and each vCPU's TSC is MSR_IA32_TSC as the save reads
 * it less the cycles since the pause (less 0.1%, so that an error in
 * the rate never takes it below a value the guest has read), written
 * back by the restore.  So neither goes backwards, and the time the VM
 * spent paused, saved and carried shows in neither (a plain pause hides
 * it from the KVM clock only).  KVM_CLOCK_REALTIME is not used to make
 * up for that time: NTP or the RTC bring the guest's wall clock back.
 * KVM keeps the TSCs of vCPUs written within a second of each other in
 * step (kvm_vcpu_tsc_check mends an older kernel that does so with the
 * first one too).  The TSC keeps the source's rate: KVM_SET_TSC_KHZ
 * where this host's differs by more than KVM's tolerance (250 ppm),
 * refused where KVM cannot scale it (no KVM_CAP_TSC_CONTROL).
 */

#define KVM_TAG(a, b, c, d)	((uint32_t)(a) | (uint32_t)(b) << 8 | \
				    (uint32_t)(c) << 16 | (uint32_t)(d) << 24)
#define KVM_STATE_MAGIC		KVM_TAG('V', 'M', 'M', 'S')
#define KVM_STATE_VERSION	1
#define KVM_STATE_HV		1	/* KVM on x86-64 */
#define KVM_KIND_CPUID		KVM_TAG('C', 'P', 'U', 'I')
#define KVM_KIND_VM		KVM_TAG('M', 'A', 'C', 'H')
#define KVM_KIND_VCPU		KVM_TAG('V', 'C', 'P', 'U')

#define KVM_STATE_MAXMSRS	4096
#define KVM_STATE_MAXXSAVE	(1024 * 1024)
#define KVM_CPUID_ENTLEN	28	/* function, index, flags, eax-edx */
#define KVM_MSR_BATCH		256	/* KVM's most in one call */
#define KVM_TSC_PPM		250	/* KVM's tsc_tolerance_ppm */

#define MSR_IA32_TSC		0x00000010
#define MSR_IA32_TSC_ADJUST	0x0000003b
#define MSR_IA32_TSC_DEADLINE	0x000006e0
#define MSR_KVM_ASYNC_PF_INT	0x4b564d06

struct kvm_state_hdr {
	uint32_t	sh_magic;
	uint16_t	sh_version;
	uint16_t	sh_hv;
	uint32_t	sh_kind;
	uint32_t	sh_len;		/* of the records */
};

struct kvm_rec_hdr {
	uint32_t	rh_tag;
	uint32_t	rh_len;
};

struct kvm_recdef {
	uint32_t	rd_tag;
	uint32_t	rd_min;		/* length, bytes */
	uint32_t	rd_max;
	uint32_t	rd_unit;	/* the length is a multiple of it */
	int		rd_required;
};

struct kvm_rec {
	const uint8_t	*r_data;	/* NULL: not in the blob */
	uint32_t	 r_len;
};

#define KVM_REC(a, b, c, d, min, max, unit, req) \
	{ KVM_TAG(a, b, c, d), (min), (max), (unit), (req) }
#define KVM_REC_FIXED(a, b, c, d, size, req) \
	KVM_REC(a, b, c, d, size, size, 1, req)

enum {
	VR_VCID, VR_TSCK, VR_MPST, VR_REGS, VR_SREG, VR_SRG2, VR_XSAV,
	VR_FPU, VR_XCRS, VR_LAPI, VR_MSRS, VR_EVNT, VR_DBGR, VR_N
};

/* a vCPU: SREG or SRG2, XSAV (and XCRS) or FPU, the rest always */
static const struct kvm_recdef kvm_vcpu_recs[VR_N] = {
	[VR_VCID] = KVM_REC_FIXED('V', 'C', 'I', 'D', 4, 1),
	[VR_TSCK] = KVM_REC_FIXED('T', 'S', 'C', 'K', 4, 1),
	[VR_MPST] = KVM_REC_FIXED('M', 'P', 'S', 'T', 4, 1),
	[VR_REGS] = KVM_REC_FIXED('R', 'E', 'G', 'S',
	    sizeof(struct kvm_regs), 1),
	[VR_SREG] = KVM_REC_FIXED('S', 'R', 'E', 'G',
	    sizeof(struct kvm_sregs), 0),
	[VR_SRG2] = KVM_REC_FIXED('S', 'R', 'G', '2',
	    sizeof(struct kvm_sregs2), 0),
	[VR_XSAV] = KVM_REC('X', 'S', 'A', 'V', sizeof(struct kvm_xsave),
	    KVM_STATE_MAXXSAVE, 4, 0),
	[VR_FPU] = KVM_REC_FIXED('F', 'P', 'U', ' ',
	    sizeof(struct kvm_fpu), 0),
	[VR_XCRS] = KVM_REC_FIXED('X', 'C', 'R', 'S',
	    sizeof(struct kvm_xcrs), 0),
	[VR_LAPI] = KVM_REC_FIXED('L', 'A', 'P', 'I',
	    sizeof(struct kvm_lapic_state), 1),
	[VR_MSRS] = KVM_REC('M', 'S', 'R', 'S', 0,
	    KVM_STATE_MAXMSRS * sizeof(struct kvm_msr_entry),
	    sizeof(struct kvm_msr_entry), 1),
	[VR_EVNT] = KVM_REC_FIXED('E', 'V', 'N', 'T',
	    sizeof(struct kvm_vcpu_events), 1),
	[VR_DBGR] = KVM_REC_FIXED('D', 'B', 'G', 'R',
	    sizeof(struct kvm_debugregs), 1),
};

enum { MR_PICM, MR_PICS, MR_IOAP, MR_PIT2, MR_CLCK, MR_N };

static const struct kvm_recdef kvm_vm_recs[MR_N] = {
	[MR_PICM] = KVM_REC_FIXED('P', 'I', 'C', 'M',
	    sizeof(struct kvm_pic_state), 1),
	[MR_PICS] = KVM_REC_FIXED('P', 'I', 'C', 'S',
	    sizeof(struct kvm_pic_state), 1),
	[MR_IOAP] = KVM_REC_FIXED('I', 'O', 'A', 'P',
	    sizeof(struct kvm_ioapic_state), 1),
	[MR_PIT2] = KVM_REC_FIXED('P', 'I', 'T', '2',
	    sizeof(struct kvm_pit_state2), 1),
	[MR_CLCK] = KVM_REC_FIXED('C', 'L', 'C', 'K', 8, 1),
};

enum { CR_NCPU, CR_CPID, CR_XSSZ, CR_TSCK, CR_N };

static const struct kvm_recdef kvm_cpuid_recs[CR_N] = {
	[CR_NCPU] = KVM_REC_FIXED('N', 'C', 'P', 'U', 4, 1),
	[CR_CPID] = KVM_REC('C', 'P', 'I', 'D', KVM_CPUID_ENTLEN,
	    KVM_MAX_CPUID * KVM_CPUID_ENTLEN, KVM_CPUID_ENTLEN, 1),
	[CR_XSSZ] = KVM_REC_FIXED('X', 'S', 'S', 'Z', 4, 1),
	[CR_TSCK] = KVM_REC_FIXED('T', 'S', 'C', 'K', 4, 1),
};

/*
 * MSRs saved beside KVM_GET_MSR_INDEX_LIST's, for the KVMs whose list
 * leaves some out: the TSC, its adjust and deadline, the paravirtual
 * ones (kvm-clock under its old and new numbers, async page faults,
 * steal time, PV EOI, poll control), the system-call and PAT MSRs, and
 * the MTRRs, which the list never has.  One that a vCPU cannot read has
 * no state to keep and is not saved.
 */
static const struct {
	uint32_t	first;
	uint32_t	count;
} kvm_msrs_extra[] = {
	{ MSR_IA32_TSC, 1 },
	{ MSR_IA32_TSC_ADJUST, 1 },
	{ MSR_IA32_TSC_DEADLINE, 1 },
	{ 0x00000011, 2 },		/* kvm-clock, old numbers */
	{ 0x4b564d00, 7 },		/* the same, new; APF, steal... */
	{ 0x00000174, 3 },		/* SYSENTER CS, ESP, EIP */
	{ 0xc0000081, 4 },		/* STAR, LSTAR, CSTAR, SFMASK */
	{ 0xc0000102, 2 },		/* KERNEL_GS_BASE, TSC_AUX */
	{ 0x00000277, 1 },		/* PAT */
	{ 0x000001a0, 1 },		/* MISC_ENABLE */
	{ 0x000002ff, 1 },		/* MTRR default type */
	{ 0x00000200, 16 },		/* variable MTRRs, KVM has 8 */
	{ 0x00000250, 1 },		/* fixed MTRRs */
	{ 0x00000258, 2 },
	{ 0x00000268, 8 },
};

static int	kvm_refuse(char *, size_t, int, const char *, ...)
		    __attribute__((__format__(__printf__, 4, 5)));

/* Say why in why, set errno: -1. */
static int
kvm_refuse(char *why, size_t whylen, int err, const char *fmt, ...)
{
	va_list	ap;

	if (why != NULL && whylen > 0) {
		va_start(ap, fmt);
		vsnprintf(why, whylen, fmt, ap);
		va_end(ap);
	}
	errno = err;
	return (-1);
}

/* A vCPU ioctl that failed during a restore, said in why. */
static int
kvm_refuse_ioctl(struct vmm_vcpu *vc, const char *what, char *why,
    size_t whylen)
{
	int	saved = errno;

	return (kvm_refuse(why, whylen, saved, "vCPU %u: %s: %s", vc->vc_id,
	    what, strerror(saved)));
}

static uint64_t
kvm_now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ((uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec);
}

/* What the saved-state code needs to know of this KVM. */
static void
kvm_state_caps(struct vmm_vm *vm)
{
	int	n;

	/* on the VM: the size depends on what the process may use */
	if ((n = ioctl(vm->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2)) > 0)
		vm->vm_xsave_size = MAXIMUM((size_t)n,
		    sizeof(struct kvm_xsave));
	else if (ioctl(vm->vm_kvmfd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE) > 0)
		vm->vm_xsave_size = sizeof(struct kvm_xsave);
	vm->vm_sregs2 = ioctl(vm->vm_kvmfd, KVM_CHECK_EXTENSION,
	    KVM_CAP_SREGS2) > 0;
	vm->vm_tsc_control = ioctl(vm->vm_kvmfd, KVM_CHECK_EXTENSION,
	    KVM_CAP_TSC_CONTROL) > 0;
	vm->vm_get_tsc_khz = ioctl(vm->vm_kvmfd, KVM_CHECK_EXTENSION,
	    KVM_CAP_GET_TSC_KHZ) > 0;
}

/* The capabilities without which a vCPU's state is not complete. */
static int
kvm_state_need(struct vmm_vm *vm, char *why, size_t whylen)
{
	static const struct {
		long		 cap;
		const char	*name;
	} need[] = {
		{ KVM_CAP_VCPU_EVENTS, "KVM_CAP_VCPU_EVENTS" },
		{ KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
		{ KVM_CAP_DEBUGREGS, "KVM_CAP_DEBUGREGS" },
		{ KVM_CAP_XCRS, "KVM_CAP_XCRS" },	/* with XSAVE only */
	};
	size_t	i;

	for (i = 0; i < nitems(need); i++) {
		if (need[i].cap == KVM_CAP_XCRS && vm->vm_xsave_size == 0)
			continue;
		if (ioctl(vm->vm_kvmfd, KVM_CHECK_EXTENSION, need[i].cap) <= 0)
			return (kvm_refuse(why, whylen, ENOTSUP,
			    "this host's KVM lacks %s", need[i].name));
	}
	return (0);
}

void
vmm_blob_free(struct vmm_blob *b)
{
	free(b->b_data);
	memset(b, 0, sizeof(*b));
}

static int
kvm_blob_put(struct vmm_blob *b, const void *p, size_t n)
{
	uint8_t	*d;
	size_t	 cap;

	if (n > SIZE_MAX - b->b_len) {
		errno = ENOMEM;
		return (-1);
	}
	if (b->b_len + n > b->b_cap) {
		cap = b->b_cap > 0 ? b->b_cap : 4096;
		while (cap < b->b_len + n)
			cap = cap > SIZE_MAX / 2 ? b->b_len + n : cap * 2;
		if ((d = realloc(b->b_data, cap)) == NULL)
			return (-1);
		b->b_data = d;
		b->b_cap = cap;
	}
	if (n > 0)
		memcpy(b->b_data + b->b_len, p, n);
	b->b_len += n;
	return (0);
}

static int
kvm_rec_put(struct vmm_blob *b, const struct kvm_recdef *rd, const void *p,
    size_t n)
{
	struct kvm_rec_hdr	rh;

	/* what we write we would read back */
	if (n < rd->rd_min || n > rd->rd_max || n % rd->rd_unit != 0) {
		errno = EOVERFLOW;
		return (-1);
	}
	rh.rh_tag = rd->rd_tag;
	rh.rh_len = n;
	if (kvm_blob_put(b, &rh, sizeof(rh)) == -1 ||
	    kvm_blob_put(b, p, n) == -1)
		return (-1);
	return (0);
}

static int
kvm_rec_put32(struct vmm_blob *b, const struct kvm_recdef *rd, uint32_t v)
{
	return (kvm_rec_put(b, rd, &v, sizeof(v)));
}

static int
kvm_state_begin(struct vmm_blob *b, uint32_t kind)
{
	struct kvm_state_hdr	h;

	memset(&h, 0, sizeof(h));
	h.sh_magic = KVM_STATE_MAGIC;
	h.sh_version = KVM_STATE_VERSION;
	h.sh_hv = KVM_STATE_HV;
	h.sh_kind = kind;
	return (kvm_blob_put(b, &h, sizeof(h)));
}

/* The header at start gets the length of the records after it. */
static int
kvm_state_end(struct vmm_blob *b, size_t start)
{
	struct kvm_state_hdr	h;
	size_t			n = b->b_len - start - sizeof(h);

	if (n > UINT32_MAX) {
		errno = EOVERFLOW;
		return (-1);
	}
	memcpy(&h, b->b_data + start, sizeof(h));
	h.sh_len = n;
	memcpy(b->b_data + start, &h, sizeof(h));
	return (0);
}

static const char *
kvm_tagname(uint32_t tag, char *buf, size_t len)
{
	unsigned char	c[4];
	int		i;

	for (i = 0; i < 4; i++) {
		c[i] = tag >> (8 * i);
		if (!isprint(c[i]) || c[i] == '\'')
			break;
	}
	if (i < 4)
		snprintf(buf, len, "0x%08x", tag);
	else
		snprintf(buf, len, "'%c%c%c%c'", c[0], c[1], c[2], c[3]);
	return (buf);
}

/*
 * Split a blob of kind into its records, recs[i] for defs[i], checking
 * every length against what is there before it is used.
 */
static int
kvm_state_parse(const void *buf, size_t len, uint32_t kind,
    const char *what, const struct kvm_recdef *defs, size_t ndefs,
    struct kvm_rec *recs, char *why, size_t whylen)
{
	const uint8_t		*p = buf;
	const struct kvm_recdef	*rd;
	struct kvm_state_hdr	 h;
	struct kvm_rec_hdr	 rh;
	char			 tn[16], kn[16];
	size_t			 off, i;

	memset(recs, 0, ndefs * sizeof(*recs));
	if (buf == NULL || len < sizeof(h))
		return (kvm_refuse(why, whylen, EINVAL,
		    "%s state truncated: %zu bytes", what, buf ? len : 0));
	memcpy(&h, p, sizeof(h));
	if (h.sh_magic != KVM_STATE_MAGIC)
		return (kvm_refuse(why, whylen, EINVAL,
		    "%s state: not a saved state", what));
	if (h.sh_version != KVM_STATE_VERSION)
		return (kvm_refuse(why, whylen, EINVAL,
		    "%s state: version %u, this vmd reads version %u", what,
		    h.sh_version, KVM_STATE_VERSION));
	if (h.sh_hv != KVM_STATE_HV)
		return (kvm_refuse(why, whylen, EINVAL,
		    "%s state: saved by another hypervisor (%u)", what,
		    h.sh_hv));
	if (h.sh_kind != kind)
		return (kvm_refuse(why, whylen, EINVAL,
		    "%s state expected, found kind %s", what,
		    kvm_tagname(h.sh_kind, kn, sizeof(kn))));
	if (h.sh_len > len - sizeof(h))
		return (kvm_refuse(why, whylen, EINVAL,
		    "%s state truncated: %zu bytes of records, header says %u",
		    what, len - sizeof(h), h.sh_len));
	if (h.sh_len < len - sizeof(h))
		return (kvm_refuse(why, whylen, EINVAL,
		    "%s state: %zu bytes past its end", what,
		    len - sizeof(h) - h.sh_len));

	for (off = sizeof(h); off < len; off += rh.rh_len) {
		if (len - off < sizeof(rh))
			return (kvm_refuse(why, whylen, EINVAL,
			    "%s state: record header truncated at offset %zu",
			    what, off));
		memcpy(&rh, p + off, sizeof(rh));
		off += sizeof(rh);
		kvm_tagname(rh.rh_tag, tn, sizeof(tn));
		for (i = 0; i < ndefs && defs[i].rd_tag != rh.rh_tag; i++)
			;
		if (i == ndefs)
			return (kvm_refuse(why, whylen, EINVAL,
			    "%s state: unknown record %s", what, tn));
		rd = &defs[i];
		if (recs[i].r_data != NULL)
			return (kvm_refuse(why, whylen, EINVAL,
			    "%s state: duplicate record %s", what, tn));
		if (rh.rh_len > len - off)
			return (kvm_refuse(why, whylen, EINVAL,
			    "%s state: record %s of %u bytes runs past the end "
			    "(%zu left)", what, tn, rh.rh_len, len - off));
		if (rh.rh_len < rd->rd_min || rh.rh_len > rd->rd_max ||
		    rh.rh_len % rd->rd_unit != 0) {
			if (rd->rd_min == rd->rd_max)
				return (kvm_refuse(why, whylen, EINVAL,
				    "%s state: record %s is %u bytes, "
				    "expected %u", what, tn, rh.rh_len,
				    rd->rd_min));
			return (kvm_refuse(why, whylen, EINVAL,
			    "%s state: record %s is %u bytes, expected "
			    "%u to %u in steps of %u", what, tn, rh.rh_len,
			    rd->rd_min, rd->rd_max, rd->rd_unit));
		}
		recs[i].r_data = p + off;
		recs[i].r_len = rh.rh_len;
	}
	for (i = 0; i < ndefs; i++)
		if (defs[i].rd_required && recs[i].r_data == NULL)
			return (kvm_refuse(why, whylen, EINVAL,
			    "%s state: missing record %s", what,
			    kvm_tagname(defs[i].rd_tag, tn, sizeof(tn))));
	return (0);
}

static uint32_t
kvm_rec_u32(const struct kvm_rec *r)
{
	uint32_t	v;

	memcpy(&v, r->r_data, sizeof(v));
	return (v);
}

/*
 * CPUID
 */

struct kvm_cpuid_state {
	struct kvm_cpuid2	*cs_cpuid;
	uint32_t		 cs_ncpus;
	uint32_t		 cs_xsave_size;
	uint32_t		 cs_tsc_khz;
};

enum { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };

static const char *const kvm_cpuid_regname[] = { "eax", "ebx", "ecx", "edx" };

/*
 * The feature bits compared, as upstream vmd compares leaves 1, 7 and
 * 0x80000001, with the XSAVE features and KVM's paravirtual ones: each
 * bit the guest had must be one this host's KVM gives.  ours: bits we
 * set ourselves whatever KVM says.
 */
static const struct {
	uint32_t	func;
	uint32_t	index;
	int		reg;
	uint32_t	ours;
} kvm_cpuid_features[] = {
	{ 0x00000001, 0, CPUID_ECX, 0 },
	{ 0x00000001, 0, CPUID_EDX, 1U << 28 },	/* HTT: topology */
	{ 0x00000007, 0, CPUID_EBX, 0 },
	{ 0x00000007, 0, CPUID_ECX, 0 },
	{ 0x00000007, 0, CPUID_EDX, 0 },
	{ 0x00000007, 1, CPUID_EAX, 0 },
	{ 0x0000000d, 0, CPUID_EAX, 0 },	/* XCR0 features */
	{ 0x0000000d, 0, CPUID_EDX, 0 },
	{ 0x0000000d, 1, CPUID_EAX, 0 },	/* XSAVEOPT, XSAVEC... */
	{ 0x40000001, 0, CPUID_EAX, 0 },	/* KVM's paravirtual */
	{ 0x80000001, 0, CPUID_ECX, 0 },
	{ 0x80000001, 0, CPUID_EDX, 0 },
};

static uint32_t
kvm_cpuid_reg(const struct kvm_cpuid_entry2 *e, int reg)
{
	switch (reg) {
	case CPUID_EAX:
		return (e->eax);
	case CPUID_EBX:
		return (e->ebx);
	case CPUID_ECX:
		return (e->ecx);
	default:
		return (e->edx);
	}
}

static const struct kvm_cpuid_entry2 *
kvm_cpuid_find(const struct kvm_cpuid2 *c, uint32_t func, uint32_t index)
{
	const struct kvm_cpuid_entry2	*e;
	uint32_t			 i;

	for (i = 0; i < c->nent; i++) {
		e = &c->entries[i];
		if (e->function == func &&
		    (!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ||
		    e->index == index))
			return (e);
	}
	return (NULL);
}

/* Leaf 0's vendor string, what cannot be printed as '?'. */
static void
kvm_cpuid_vendor(const struct kvm_cpuid_entry2 *e, char *buf)
{
	size_t	i;

	memcpy(buf, &e->ebx, 4);
	memcpy(buf + 4, &e->edx, 4);
	memcpy(buf + 8, &e->ecx, 4);
	for (i = 0; i < 12; i++)
		if (!isprint((unsigned char)buf[i]))
			buf[i] = '?';
	buf[12] = '\0';
}

/* Parse a CPUID blob; cs->cs_cpuid is the caller's to free. */
static int
kvm_cpuid_parse(const void *buf, size_t len, struct kvm_cpuid_state *cs,
    char *why, size_t whylen)
{
	struct kvm_rec		 r[CR_N];
	struct kvm_cpuid2	*c;
	struct kvm_cpuid_entry2	*e;
	const uint8_t		*p;
	uint32_t		 i, j, n, v[7];

	memset(cs, 0, sizeof(*cs));
	if (kvm_state_parse(buf, len, KVM_KIND_CPUID, "CPUID",
	    kvm_cpuid_recs, CR_N, r, why, whylen) == -1)
		return (-1);
	n = r[CR_CPID].r_len / KVM_CPUID_ENTLEN;
	if ((c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]))) == NULL)
		return (kvm_refuse(why, whylen, errno, "CPUID: %s",
		    strerror(errno)));
	c->nent = n;
	for (i = 0, p = r[CR_CPID].r_data; i < n; i++) {
		memcpy(v, p + i * KVM_CPUID_ENTLEN, sizeof(v));
		e = &c->entries[i];
		e->function = v[0];
		e->index = v[1];
		e->flags = v[2];
		e->eax = v[3];
		e->ebx = v[4];
		e->ecx = v[5];
		e->edx = v[6];
		if (v[2] & ~(KVM_CPUID_FLAG_SIGNIFCANT_INDEX |
		    KVM_CPUID_FLAG_STATEFUL_FUNC |
		    KVM_CPUID_FLAG_STATE_READ_NEXT)) {
			free(c);
			return (kvm_refuse(why, whylen, EINVAL,
			    "CPUID leaf 0x%x: flags 0x%x unknown", v[0], v[2]));
		}
		for (j = 0; j < i; j++) {
			if (c->entries[j].function == v[0] &&
			    c->entries[j].index == v[1]) {
				free(c);
				return (kvm_refuse(why, whylen, EINVAL,
				    "CPUID leaf 0x%x.%u listed twice", v[0],
				    v[1]));
			}
		}
	}
	if (kvm_cpuid_find(c, 0, 0) == NULL) {
		free(c);
		return (kvm_refuse(why, whylen, EINVAL, "CPUID: no leaf 0"));
	}
	cs->cs_cpuid = c;
	cs->cs_ncpus = kvm_rec_u32(&r[CR_NCPU]);
	cs->cs_xsave_size = kvm_rec_u32(&r[CR_XSSZ]);
	cs->cs_tsc_khz = kvm_rec_u32(&r[CR_TSCK]);
	return (0);
}

/* Two TSC rates the same as far as KVM is concerned: no scaling. */
static int
kvm_tsc_close(uint32_t a, uint32_t b)
{
	uint64_t	d = a > b ? a - b : b - a;

	return (d * 1000000 <= (uint64_t)b * KVM_TSC_PPM);
}

/* Can this host give a guest that CPUID?  As upstream's vmd_check_vmh. */
static int
kvm_cpuid_compare(struct vmm_vm *vm, const struct kvm_cpuid_state *cs,
    char *why, size_t whylen)
{
	const struct kvm_cpuid_entry2	*g, *h;
	struct kvm_cpuid2		*host;
	char				 gv[13], hv[13], sub[16];
	uint32_t			 have, miss;
	size_t				 i;
	int				 khz, ret = -1;

	if (cs->cs_ncpus != vm->vm_ncpus)
		return (kvm_refuse(why, whylen, EINVAL,
		    "CPUID of a VM with %u vCPUs, this one has %u",
		    cs->cs_ncpus, vm->vm_ncpus));
	if ((host = calloc(1, sizeof(*host) +
	    KVM_MAX_CPUID * sizeof(host->entries[0]))) == NULL)
		return (kvm_refuse(why, whylen, errno, "CPUID: %s",
		    strerror(errno)));
	host->nent = KVM_MAX_CPUID;
	if (ioctl(vm->vm_kvmfd, KVM_GET_SUPPORTED_CPUID, host) == -1) {
		kvm_refuse(why, whylen, errno, "KVM_GET_SUPPORTED_CPUID: %s",
		    strerror(errno));
		goto done;
	}
	for (i = 0; i < host->nent; i++)
		kvm_cpuid_ours(vm, &host->entries[i]);

	g = kvm_cpuid_find(cs->cs_cpuid, 0, 0);
	if ((h = kvm_cpuid_find(host, 0, 0)) == NULL) {
		kvm_refuse(why, whylen, ENOTSUP,
		    "this host has no CPUID leaf 0");
		goto done;
	}
	kvm_cpuid_vendor(g, gv);
	kvm_cpuid_vendor(h, hv);
	if (strcmp(gv, hv) != 0) {
		kvm_refuse(why, whylen, ENOTSUP, "CPU vendor %s, this host %s",
		    gv, hv);
		goto done;
	}
	if (g->eax > h->eax) {
		kvm_refuse(why, whylen, ENOTSUP,
		    "CPUID max leaf 0x%x, this host 0x%x", g->eax, h->eax);
		goto done;
	}
	if ((g = kvm_cpuid_find(cs->cs_cpuid, 0x80000000, 0)) != NULL) {
		h = kvm_cpuid_find(host, 0x80000000, 0);
		if (h == NULL || g->eax > h->eax) {
			kvm_refuse(why, whylen, ENOTSUP,
			    "CPUID max extended leaf 0x%x, this host 0x%x",
			    g->eax, h ? h->eax : 0);
			goto done;
		}
	}
	for (i = 0; i < nitems(kvm_cpuid_features); i++) {
		if ((g = kvm_cpuid_find(cs->cs_cpuid,
		    kvm_cpuid_features[i].func,
		    kvm_cpuid_features[i].index)) == NULL)
			continue;
		h = kvm_cpuid_find(host, kvm_cpuid_features[i].func,
		    kvm_cpuid_features[i].index);
		have = h ? kvm_cpuid_reg(h, kvm_cpuid_features[i].reg) : 0;
		have |= kvm_cpuid_features[i].ours;
		miss = kvm_cpuid_reg(g, kvm_cpuid_features[i].reg) & ~have;
		if (miss == 0)
			continue;
		if (kvm_cpuid_features[i].index != 0)
			snprintf(sub, sizeof(sub), ".%u",
			    kvm_cpuid_features[i].index);
		else
			sub[0] = '\0';
		kvm_refuse(why, whylen, ENOTSUP,
		    "CPUID leaf 0x%x%s %s bit %d missing on this host",
		    kvm_cpuid_features[i].func, sub,
		    kvm_cpuid_regname[kvm_cpuid_features[i].reg],
		    __builtin_ctz(miss));
		goto done;
	}
	/* leaf 0xd ecx: the XSAVE area all the guest's features need */
	if ((g = kvm_cpuid_find(cs->cs_cpuid, 0xd, 0)) != NULL) {
		h = kvm_cpuid_find(host, 0xd, 0);
		if (g->ecx > (h ? h->ecx : 0)) {
			kvm_refuse(why, whylen, ENOTSUP,
			    "XSAVE area of %u bytes, this host %u",
			    g->ecx, h ? h->ecx : 0);
			goto done;
		}
	}
	if (cs->cs_xsave_size > vm->vm_xsave_size) {
		kvm_refuse(why, whylen, ENOTSUP,
		    "XSAVE state of %u bytes, this host's KVM takes %zu",
		    cs->cs_xsave_size, vm->vm_xsave_size);
		goto done;
	}
	if ((g = kvm_cpuid_find(cs->cs_cpuid, 0x80000008, 0)) != NULL &&
	    (h = kvm_cpuid_find(host, 0x80000008, 0)) != NULL &&
	    (g->eax & 0xff) > (h->eax & 0xff)) {
		kvm_refuse(why, whylen, ENOTSUP,
		    "physical addresses of %u bits, this host %u",
		    g->eax & 0xff, h->eax & 0xff);
		goto done;
	}
	/* the vCPU restore checks again, once there is a vCPU to ask */
	if (cs->cs_tsc_khz != 0 && !vm->vm_tsc_control &&
	    (khz = ioctl(vm->vm_fd, KVM_GET_TSC_KHZ, 0)) > 0 &&
	    !kvm_tsc_close(khz, cs->cs_tsc_khz)) {
		kvm_refuse(why, whylen, ENOTSUP,
		    "TSC rate %u kHz, this host %d kHz, and its KVM cannot "
		    "scale it (no KVM_CAP_TSC_CONTROL)", cs->cs_tsc_khz, khz);
		goto done;
	}
	ret = 0;
 done:
	free(host);
	return (ret);
}

/*
 * The CPUID the vCPUs were given, less each one's topology, which
 * kvm_vcpu_cpuid fills in again from the number of vCPUs.
 */
int
vmm_cpuid_save(struct vmm_vm *vm, struct vmm_blob *b)
{
	struct kvm_cpuid_entry2	 e;
	uint32_t		 v[7];
	uint8_t			*ents;
	size_t			 start = b->b_len;
	uint32_t		 i, n = vm->vm_cpuid->nent;

	if ((ents = calloc(n, KVM_CPUID_ENTLEN)) == NULL) {
		log_warn("%s", __func__);
		return (-1);
	}
	for (i = 0; i < n; i++) {
		e = vm->vm_cpuid->entries[i];
		kvm_cpuid_ours(vm, &e);
		v[0] = e.function;
		v[1] = e.index;
		v[2] = e.flags;
		v[3] = e.eax;
		v[4] = e.ebx;
		v[5] = e.ecx;
		v[6] = e.edx;
		memcpy(ents + i * KVM_CPUID_ENTLEN, v, sizeof(v));
	}
	if (kvm_state_begin(b, KVM_KIND_CPUID) == -1 ||
	    kvm_rec_put32(b, &kvm_cpuid_recs[CR_NCPU], vm->vm_ncpus) == -1 ||
	    kvm_rec_put(b, &kvm_cpuid_recs[CR_CPID], ents,
	    (size_t)n * KVM_CPUID_ENTLEN) == -1 ||
	    kvm_rec_put32(b, &kvm_cpuid_recs[CR_XSSZ],
	    vm->vm_xsave_size) == -1 ||
	    kvm_rec_put32(b, &kvm_cpuid_recs[CR_TSCK], vm->vm_tsc_khz) == -1 ||
	    kvm_state_end(b, start) == -1) {
		log_warn("%s", __func__);
		free(ents);
		b->b_len = start;
		return (-1);
	}
	free(ents);
	return (0);
}

int
vmm_cpuid_check(struct vmm_vm *vm, const void *buf, size_t len, char *why,
    size_t whylen)
{
	struct kvm_cpuid_state	cs;
	int			ret;

	if (kvm_cpuid_parse(buf, len, &cs, why, whylen) == -1)
		return (-1);
	ret = kvm_cpuid_compare(vm, &cs, why, whylen);
	free(cs.cs_cpuid);
	return (ret);
}

/*
 * The vCPUs created from now on get the saved guest's CPUID, not this
 * host's: a guest must not see its CPU change under it.
 */
int
vmm_vm_set_cpuid(struct vmm_vm *vm, const void *buf, size_t len, char *why,
    size_t whylen)
{
	struct kvm_cpuid_state	cs;

	if (vm->vm_nvcpus > 0)
		return (kvm_refuse(why, whylen, EBUSY,
		    "CPUID: the VM's vCPUs exist already"));
	if (kvm_cpuid_parse(buf, len, &cs, why, whylen) == -1)
		return (-1);
	if (kvm_cpuid_compare(vm, &cs, why, whylen) == -1) {
		free(cs.cs_cpuid);
		return (-1);
	}
	free(vm->vm_cpuid);
	vm->vm_cpuid = cs.cs_cpuid;
	return (0);
}

/*
 * The VM: interrupt controllers, PIT, clock
 */

static const struct {
	int	chip;
	int	rec;
} kvm_irqchips[] = {
	{ KVM_IRQCHIP_PIC_MASTER, MR_PICM },
	{ KVM_IRQCHIP_PIC_SLAVE, MR_PICS },
	{ KVM_IRQCHIP_IOAPIC, MR_IOAP },
};

static size_t
kvm_irqchip_size(int chip)
{
	return (chip == KVM_IRQCHIP_IOAPIC ? sizeof(struct kvm_ioapic_state) :
	    sizeof(struct kvm_pic_state));
}

/*
 * The PIT and clock are the ones vmm_vm_pause froze: the PIT as the
 * guest programmed it, the clock at the instant of the pause.
 */
int
vmm_vm_save(struct vmm_vm *vm, struct vmm_blob *b)
{
	struct kvm_irqchip	chip;
	uint64_t		clock = vm->vm_clock.clock;
	size_t			start = b->b_len, i;

	if (!vm->vm_paused) {
		log_warnx("%s: the VM is not paused", __func__);
		errno = EBUSY;
		return (-1);
	}
	if (kvm_state_begin(b, KVM_KIND_VM) == -1)
		goto fail;
	for (i = 0; i < nitems(kvm_irqchips); i++) {
		memset(&chip, 0, sizeof(chip));
		chip.chip_id = kvm_irqchips[i].chip;
		if (ioctl(vm->vm_fd, KVM_GET_IRQCHIP, &chip) == -1) {
			log_warn("%s: KVM_GET_IRQCHIP %d", __func__,
			    chip.chip_id);
			b->b_len = start;
			return (-1);
		}
		if (kvm_rec_put(b, &kvm_vm_recs[kvm_irqchips[i].rec],
		    &chip.chip, kvm_irqchip_size(chip.chip_id)) == -1)
			goto fail;
	}
	if (kvm_rec_put(b, &kvm_vm_recs[MR_PIT2], &vm->vm_pit,
	    sizeof(vm->vm_pit)) == -1 ||
	    kvm_rec_put(b, &kvm_vm_recs[MR_CLCK], &clock,
	    sizeof(clock)) == -1 ||
	    kvm_state_end(b, start) == -1)
		goto fail;
	return (0);
 fail:
	log_warn("%s", __func__);
	b->b_len = start;
	return (-1);
}

/*
 * The interrupt controllers now; the PIT and clock become the ones
 * vmm_vm_unpause sets, so the VM is paused from here on.
 */
int
vmm_vm_restore(struct vmm_vm *vm, const void *buf, size_t len, char *why,
    size_t whylen)
{
	struct kvm_rec		r[MR_N];
	struct kvm_irqchip	chip[nitems(kvm_irqchips)];
	struct kvm_pit_state2	pit;
	uint64_t		clock;
	size_t			i;

	if (kvm_state_parse(buf, len, KVM_KIND_VM, "VM", kvm_vm_recs, MR_N,
	    r, why, whylen) == -1)
		return (-1);
	for (i = 0; i < nitems(kvm_irqchips); i++) {
		memset(&chip[i], 0, sizeof(chip[i]));
		chip[i].chip_id = kvm_irqchips[i].chip;
		memcpy(&chip[i].chip, r[kvm_irqchips[i].rec].r_data,
		    kvm_irqchip_size(chip[i].chip_id));
	}
	memcpy(&pit, r[MR_PIT2].r_data, sizeof(pit));
	if (pit.flags & ~(KVM_PIT_FLAGS_HPET_LEGACY |
	    KVM_PIT_FLAGS_SPEAKER_DATA_ON))
		return (kvm_refuse(why, whylen, EINVAL,
		    "VM state: PIT flags 0x%x unknown", pit.flags));
	/* mode 0xff: a channel never programmed */
	for (i = 0; i < nitems(pit.channels); i++)
		if ((pit.channels[i].mode > 5 &&
		    pit.channels[i].mode != 0xff) ||
		    pit.channels[i].count > 0x10000)
			return (kvm_refuse(why, whylen, EINVAL,
			    "VM state: PIT channel %zu mode %u count %u",
			    i, pit.channels[i].mode, pit.channels[i].count));
	memcpy(&clock, r[MR_CLCK].r_data, sizeof(clock));

	for (i = 0; i < nitems(kvm_irqchips); i++)
		if (ioctl(vm->vm_fd, KVM_SET_IRQCHIP, &chip[i]) == -1)
			return (kvm_refuse(why, whylen, errno,
			    "KVM_SET_IRQCHIP %d: %s", chip[i].chip_id,
			    strerror(errno)));
	vm->vm_pit = pit;
	memset(&vm->vm_clock, 0, sizeof(vm->vm_clock));
	vm->vm_clock.clock = clock;
	vm->vm_pause_ns = kvm_now_ns();
	vm->vm_paused = 1;
	return (0);
}

/*
 * vCPUs
 */

/*
 * An I/O or MMIO exit is complete (RIP past the instruction, an IN's
 * data in the register) only once KVM_RUN is entered again; with
 * immediate_exit set KVM completes it and returns EINTR before running
 * a guest instruction.
 */
static int
kvm_vcpu_complete_io(struct vmm_vcpu *vc)
{
	struct kvm_run	*run = vc->vc_run;
	int		 ret, saved;

	__atomic_store_n(&run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	ret = ioctl(vc->vc_fd, KVM_RUN, 0);
	saved = errno;
	__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	if (ret == -1 && (saved == EINTR || saved == EAGAIN))
		return (0);
	if (ret == -1) {
		errno = saved;
		log_warn("%s: vcpu %u: KVM_RUN", __func__, vc->vc_id);
		return (-1);
	}
	/* one more exit: a string I/O instruction is half done */
	log_warnx("%s: vcpu %u: stopped inside an I/O instruction (exit %u)",
	    __func__, vc->vc_id, run->exit_reason);
	errno = EBUSY;
	return (-1);
}

/* KVM_GET_MSR_INDEX_LIST's MSRs that are ours to save, and the extras. */
static int
kvm_msr_skip(uint32_t index)
{
	/* nested VMX's capabilities: nested state is not saved */
	if (index >= 0x480 && index <= 0x491)
		return (1);
	/* x2APIC registers: they are in the LAPIC's state */
	if (index >= 0x800 && index <= 0x8ff)
		return (1);
	/* Hyper-V's: its enlightenments are not offered */
	if (index >= 0x40000000 && index <= 0x400000ff)
		return (1);
	/* the last branch and interrupt: a trace, SVM takes none back */
	if (index >= 0x1db && index <= 0x1de)
		return (1);
	return (0);
}

static int
kvm_msr_add(uint32_t *v, size_t *n, uint32_t index)
{
	size_t	i;

	if (kvm_msr_skip(index))
		return (0);
	for (i = 0; i < *n; i++)
		if (v[i] == index)
			return (0);
	v[(*n)++] = index;
	return (0);
}

static int
kvm_msr_list(struct vmm_vm *vm)
{
	struct kvm_msr_list	 probe, *l;
	uint32_t		*v;
	size_t			 i, j, n = 0, max;

	if (vm->vm_msrs != NULL)
		return (0);
	memset(&probe, 0, sizeof(probe));
	if (ioctl(vm->vm_kvmfd, KVM_GET_MSR_INDEX_LIST, &probe) == -1 &&
	    errno != E2BIG) {
		log_warn("%s: KVM_GET_MSR_INDEX_LIST", __func__);
		return (-1);
	}
	if (probe.nmsrs > KVM_STATE_MAXMSRS / 2) {
		log_warnx("%s: KVM lists %u MSRs", __func__, probe.nmsrs);
		errno = E2BIG;
		return (-1);
	}
	if ((l = calloc(1, sizeof(*l) + probe.nmsrs *
	    sizeof(l->indices[0]))) == NULL)
		return (-1);
	l->nmsrs = probe.nmsrs;
	if (l->nmsrs > 0 &&
	    ioctl(vm->vm_kvmfd, KVM_GET_MSR_INDEX_LIST, l) == -1) {
		log_warn("%s: KVM_GET_MSR_INDEX_LIST", __func__);
		free(l);
		return (-1);
	}
	max = MINIMUM(l->nmsrs, probe.nmsrs);
	for (i = 0; i < nitems(kvm_msrs_extra); i++)
		max += kvm_msrs_extra[i].count;
	if ((v = calloc(max, sizeof(*v))) == NULL) {
		free(l);
		return (-1);
	}
	for (i = 0; i < MINIMUM(l->nmsrs, probe.nmsrs); i++)
		kvm_msr_add(v, &n, l->indices[i]);
	for (i = 0; i < nitems(kvm_msrs_extra); i++)
		for (j = 0; j < kvm_msrs_extra[i].count; j++)
			kvm_msr_add(v, &n, kvm_msrs_extra[i].first + j);
	free(l);
	vm->vm_msrs = v;
	vm->vm_nmsrs = n;
	return (0);
}

/*
 * The TSC as it was at vmm_vm_pause: what it reads now less the cycles
 * since, at the vCPU's rate, less 0.1% (see "Time" above).
 */
static int
kvm_vcpu_tsc_at_pause(struct vmm_vcpu *vc, uint64_t *tsc)
{
	struct vmm_vm	*vm = vc->vc_vm;
	union {
		struct kvm_msrs	m;
		uint8_t		b[sizeof(struct kvm_msrs) +
				    sizeof(struct kvm_msr_entry)];
	}		 u;
	uint64_t	 t0, t1, us, cycles;
	int		 khz;

	memset(&u, 0, sizeof(u));
	u.m.nmsrs = 1;
	u.m.entries[0].index = MSR_IA32_TSC;
	t0 = kvm_now_ns();
	if (ioctl(vc->vc_fd, KVM_GET_MSRS, &u.m) != 1) {
		log_warn("%s: vcpu %u: KVM_GET_MSRS TSC", __func__, vc->vc_id);
		return (-1);
	}
	t1 = kvm_now_ns();
	*tsc = u.m.entries[0].data;
	if (!vm->vm_get_tsc_khz ||
	    (khz = ioctl(vc->vc_fd, KVM_GET_TSC_KHZ, 0)) <= 0)
		return (0);	/* the pause shows: the TSC ran on */
	if (t0 + (t1 - t0) / 2 <= vm->vm_pause_ns)
		return (0);
	us = (t0 + (t1 - t0) / 2 - vm->vm_pause_ns) / 1000;
	if (us > UINT64_MAX / (uint64_t)khz)
		return (0);
	cycles = us * khz / 1000;
	cycles -= cycles / 1000;
	if (cycles < *tsc)
		*tsc -= cycles;
	return (0);
}

/* The MSRs this vCPU has a value for, the TSC as at the pause. */
static int
kvm_vcpu_save_msrs(struct vmm_vcpu *vc, struct vmm_blob *b)
{
	struct vmm_vm		*vm = vc->vc_vm;
	struct kvm_msrs		*m;
	struct kvm_msr_entry	*out;
	uint64_t		 tsc;
	size_t			 i = 0, n = 0, j, cnt;
	int			 r, ret = -1;

	if (kvm_msr_list(vm) == -1)
		return (-1);
	m = calloc(1, sizeof(*m) + KVM_MSR_BATCH * sizeof(m->entries[0]));
	out = calloc(vm->vm_nmsrs + 1, sizeof(*out));
	if (m == NULL || out == NULL)
		goto done;
	while (i < vm->vm_nmsrs) {
		cnt = MINIMUM(vm->vm_nmsrs - i, KVM_MSR_BATCH);
		memset(m, 0, sizeof(*m) + cnt * sizeof(m->entries[0]));
		m->nmsrs = cnt;
		for (j = 0; j < cnt; j++)
			m->entries[j].index = vm->vm_msrs[i + j];
		if ((r = ioctl(vc->vc_fd, KVM_GET_MSRS, m)) == -1) {
			log_warn("%s: vcpu %u: KVM_GET_MSRS", __func__,
			    vc->vc_id);
			goto done;
		}
		if ((size_t)r > cnt)
			r = cnt;
		memcpy(out + n, m->entries, r * sizeof(*out));
		n += r;
		i += r;
		if ((size_t)r < cnt) {
			/* KVM stops at one this vCPU cannot read */
			log_debug("%s: vcpu %u: MSR 0x%x not readable, "
			    "not saved", __func__, vc->vc_id,
			    vm->vm_msrs[i]);
			i++;
		}
	}
	for (j = 0; j < n; j++) {
		if (out[j].index != MSR_IA32_TSC)
			continue;
		if (kvm_vcpu_tsc_at_pause(vc, &tsc) == -1)
			goto done;
		out[j].data = tsc;
	}
	if (kvm_rec_put(b, &kvm_vcpu_recs[VR_MSRS], out,
	    n * sizeof(*out)) == -1) {
		log_warn("%s", __func__);
		goto done;
	}
	ret = 0;
 done:
	free(m);
	free(out);
	return (ret);
}

/*
 * A vCPU's state.  The order of the reads matters: KVM_GET_MP_STATE
 * first, as it takes a pending INIT or SIPI, which resets or starts the
 * vCPU; the events last, as the other reads can change them.
 */
int
vmm_vcpu_save(struct vmm_vcpu *vc, struct vmm_blob *b)
{
	struct vmm_vm		*vm = vc->vc_vm;
	struct kvm_mp_state	 mp;
	struct kvm_regs		 regs;
	struct kvm_sregs	 sregs;
	struct kvm_sregs2	 sregs2;
	struct kvm_fpu		 fpu;
	struct kvm_xcrs		 xcrs;
	struct kvm_lapic_state	 lapic;
	struct kvm_vcpu_events	 ev;
	struct kvm_debugregs	 dr;
	uint8_t			*xsave = NULL;
	const char		*what;
	char			 why[128];
	size_t			 start = b->b_len;
	uint32_t		 khz = 0;
	int			 n;

	if (!vm->vm_paused) {
		log_warnx("%s: vcpu %u: the VM is not paused", __func__,
		    vc->vc_id);
		errno = EBUSY;
		return (-1);
	}
	if (kvm_state_need(vm, why, sizeof(why)) == -1) {
		log_warnx("%s: %s", __func__, why);
		return (-1);
	}
	if (kvm_vcpu_complete_io(vc) == -1)
		return (-1);

	memset(&mp, 0, sizeof(mp));
	memset(&xcrs, 0, sizeof(xcrs));
	memset(&ev, 0, sizeof(ev));
	memset(&dr, 0, sizeof(dr));
	what = "KVM_GET_MP_STATE";
	if (ioctl(vc->vc_fd, KVM_GET_MP_STATE, &mp) == -1)
		goto fail;
	what = "KVM_GET_REGS";
	if (ioctl(vc->vc_fd, KVM_GET_REGS, &regs) == -1)
		goto fail;
	if (vm->vm_sregs2) {
		what = "KVM_GET_SREGS2";
		if (ioctl(vc->vc_fd, KVM_GET_SREGS2, &sregs2) == -1)
			goto fail;
	} else {
		what = "KVM_GET_SREGS";
		if (ioctl(vc->vc_fd, KVM_GET_SREGS, &sregs) == -1)
			goto fail;
	}
	if (vm->vm_xsave_size > 0) {
		what = "KVM_GET_XSAVE";
		if ((xsave = calloc(1, vm->vm_xsave_size)) == NULL)
			goto fail;
		if (ioctl(vc->vc_fd, vm->vm_xsave_size >
		    sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE,
		    xsave) == -1)
			goto fail;
		what = "KVM_GET_XCRS";
		if (ioctl(vc->vc_fd, KVM_GET_XCRS, &xcrs) == -1)
			goto fail;
	} else {
		what = "KVM_GET_FPU";
		if (ioctl(vc->vc_fd, KVM_GET_FPU, &fpu) == -1)
			goto fail;
	}
	what = "KVM_GET_DEBUGREGS";
	if (ioctl(vc->vc_fd, KVM_GET_DEBUGREGS, &dr) == -1)
		goto fail;
	what = "KVM_GET_LAPIC";
	if (ioctl(vc->vc_fd, KVM_GET_LAPIC, &lapic) == -1)
		goto fail;
	if (vm->vm_get_tsc_khz &&
	    (n = ioctl(vc->vc_fd, KVM_GET_TSC_KHZ, 0)) > 0)
		khz = n;

	what = "saving";
	if (kvm_state_begin(b, KVM_KIND_VCPU) == -1 ||
	    kvm_rec_put32(b, &kvm_vcpu_recs[VR_VCID], vc->vc_id) == -1 ||
	    kvm_rec_put32(b, &kvm_vcpu_recs[VR_TSCK], khz) == -1 ||
	    kvm_rec_put32(b, &kvm_vcpu_recs[VR_MPST], mp.mp_state) == -1 ||
	    kvm_rec_put(b, &kvm_vcpu_recs[VR_REGS], &regs,
	    sizeof(regs)) == -1)
		goto fail;
	if (vm->vm_sregs2) {
		if (kvm_rec_put(b, &kvm_vcpu_recs[VR_SRG2], &sregs2,
		    sizeof(sregs2)) == -1)
			goto fail;
	} else if (kvm_rec_put(b, &kvm_vcpu_recs[VR_SREG], &sregs,
	    sizeof(sregs)) == -1)
		goto fail;
	if (vm->vm_xsave_size > 0) {
		if (kvm_rec_put(b, &kvm_vcpu_recs[VR_XSAV], xsave,
		    vm->vm_xsave_size) == -1 ||
		    kvm_rec_put(b, &kvm_vcpu_recs[VR_XCRS], &xcrs,
		    sizeof(xcrs)) == -1)
			goto fail;
	} else if (kvm_rec_put(b, &kvm_vcpu_recs[VR_FPU], &fpu,
	    sizeof(fpu)) == -1)
		goto fail;
	if (kvm_rec_put(b, &kvm_vcpu_recs[VR_LAPI], &lapic,
	    sizeof(lapic)) == -1 ||
	    kvm_rec_put(b, &kvm_vcpu_recs[VR_DBGR], &dr, sizeof(dr)) == -1)
		goto fail;
	if (kvm_vcpu_save_msrs(vc, b) == -1) {
		free(xsave);
		b->b_len = start;
		return (-1);
	}
	what = "KVM_GET_VCPU_EVENTS";
	if (ioctl(vc->vc_fd, KVM_GET_VCPU_EVENTS, &ev) == -1)
		goto fail;
	what = "saving";
	if (kvm_rec_put(b, &kvm_vcpu_recs[VR_EVNT], &ev, sizeof(ev)) == -1 ||
	    kvm_state_end(b, start) == -1)
		goto fail;
	free(xsave);
	return (0);
 fail:
	log_warn("%s: vcpu %u: %s", __func__, vc->vc_id, what);
	free(xsave);
	b->b_len = start;
	return (-1);
}

/*
 * The order KVM_SET_MSRS gets them in: the TSC (and its adjust) before
 * the deadline, an absolute TSC value; the async page fault vector
 * before async page faults are enabled with it.
 */
static int
kvm_msr_rank(uint32_t index)
{
	switch (index) {
	case MSR_IA32_TSC_ADJUST:
	case MSR_IA32_TSC:
		return (0);
	case MSR_KVM_ASYNC_PF_INT:
		return (1);
	case MSR_IA32_TSC_DEADLINE:
		return (3);
	default:
		return (2);
	}
}

/* A restore's saved MSRs, in kvm_msr_rank's order, for KVM_SET_MSRS. */
static struct kvm_msr_entry *
kvm_msrs_sorted(const struct kvm_rec *r, size_t *np, char *why,
    size_t whylen)
{
	struct kvm_msr_entry	*v, e;
	size_t			 n = r->r_len / sizeof(e), i, k = 0;
	int			 rank;

	if ((v = calloc(n + 1, sizeof(*v))) == NULL) {
		kvm_refuse(why, whylen, errno, "vCPU state: %s",
		    strerror(errno));
		return (NULL);
	}
	for (i = 0; i < n; i++) {
		memcpy(&e, r->r_data + i * sizeof(e), sizeof(e));
		if (e.reserved != 0) {
			free(v);
			kvm_refuse(why, whylen, EINVAL, "vCPU state: record "
			    "'MSRS': entry %zu (MSR 0x%x) has reserved bits "
			    "set", i, e.index);
			return (NULL);
		}
	}
	for (rank = 0; rank <= 3; rank++) {
		for (i = 0; i < n; i++) {
			memcpy(&e, r->r_data + i * sizeof(e), sizeof(e));
			if (kvm_msr_rank(e.index) == rank)
				v[k++] = e;
		}
	}
	*np = n;
	return (v);
}

static int
kvm_vcpu_set_msrs(struct vmm_vcpu *vc, const struct kvm_msr_entry *v,
    size_t n, char *why, size_t whylen)
{
	struct kvm_msrs	*m;
	size_t		 i, cnt;
	int		 r;

	if ((m = calloc(1, sizeof(*m) +
	    KVM_MSR_BATCH * sizeof(m->entries[0]))) == NULL)
		return (kvm_refuse_ioctl(vc, "KVM_SET_MSRS", why, whylen));
	for (i = 0; i < n; i += cnt) {
		cnt = MINIMUM(n - i, KVM_MSR_BATCH);
		memset(m, 0, sizeof(*m));
		m->nmsrs = cnt;
		memcpy(m->entries, v + i, cnt * sizeof(*v));
		if ((r = ioctl(vc->vc_fd, KVM_SET_MSRS, m)) == -1) {
			kvm_refuse_ioctl(vc, "KVM_SET_MSRS", why, whylen);
			free(m);
			return (-1);
		}
		if ((size_t)r < cnt) {
			free(m);
			return (kvm_refuse(why, whylen, ENOTSUP,
			    "vCPU %u: KVM refused MSR 0x%x = 0x%llx",
			    vc->vc_id, v[i + r].index,
			    (unsigned long long)v[i + r].data));
		}
	}
	free(m);
	return (0);
}

/*
 * Kernels before 6.8 take the first TSC written within a second of what
 * they expect (here the TSC of the vCPU's creation) for an attempt to
 * keep vCPUs in step, and keep their own offset: a guest saved in its
 * first second would see its TSC go back.  Read it back and, where KVM
 * has KVM_VCPU_TSC_OFFSET, move the offset to the value written.  A TSC
 * ahead is left alone: time passed since the write (and kvm-pvm gives
 * its guests the host's TSC, whatever is written).
 */
static void
kvm_vcpu_tsc_check(struct vmm_vcpu *vc, uint64_t want)
{
	struct kvm_device_attr	 a;
	union {
		struct kvm_msrs	m;
		uint8_t		b[sizeof(struct kvm_msrs) +
				    sizeof(struct kvm_msr_entry)];
	}			 u;
	uint64_t		 now, off, slack = 1000000;

	memset(&u, 0, sizeof(u));
	u.m.nmsrs = 1;
	u.m.entries[0].index = MSR_IA32_TSC;
	if (ioctl(vc->vc_fd, KVM_GET_MSRS, &u.m) != 1)
		return;
	now = u.m.entries[0].data;
	if (vc->vc_vm->vm_tsc_khz > 0)
		slack = vc->vc_vm->vm_tsc_khz;		/* a millisecond */
	if (now >= want || want - now <= slack)
		return;
	memset(&a, 0, sizeof(a));
	a.group = KVM_VCPU_TSC_CTRL;
	a.attr = KVM_VCPU_TSC_OFFSET;
	a.addr = (uintptr_t)&off;
	if (ioctl(vc->vc_fd, KVM_HAS_DEVICE_ATTR, &a) == -1 ||
	    ioctl(vc->vc_fd, KVM_GET_DEVICE_ATTR, &a) == -1) {
		log_warnx("%s: vcpu %u: KVM kept a TSC %llu cycles behind "
		    "the saved one", __func__, vc->vc_id,
		    (unsigned long long)(want - now));
		return;
	}
	off += want - now;
	if (ioctl(vc->vc_fd, KVM_SET_DEVICE_ATTR, &a) == -1)
		log_warn("%s: vcpu %u: KVM_VCPU_TSC_OFFSET", __func__,
		    vc->vc_id);
}

/*
 * Put a vCPU back as it was saved.  Everything is checked first; then
 * the order matters to KVM: the TSC rate before the TSC; the registers
 * before the events, as KVM_SET_REGS drops a pending exception; the
 * segment and control registers (with the APIC base) before the LAPIC;
 * the LAPIC before the MSRs, as the TSC deadline is kept only by a
 * LAPIC in that mode; the events (SMM, a latched INIT) before the run
 * state, which KVM checks against them, and after KVM_SET_SREGS, which
 * makes a BSP at its reset vector runnable.
 */
int
vmm_vcpu_restore(struct vmm_vcpu *vc, const void *buf, size_t len,
    char *why, size_t whylen)
{
	struct vmm_vm		*vm = vc->vc_vm;
	struct kvm_rec		 r[VR_N];
	struct kvm_regs		 regs;
	struct kvm_sregs	 sregs;
	struct kvm_sregs2	 sregs2;
	struct kvm_fpu		 fpu;
	struct kvm_xcrs		 xcrs;
	struct kvm_lapic_state	 lapic;
	struct kvm_vcpu_events	 ev;
	struct kvm_debugregs	 dr;
	struct kvm_mp_state	 mp;
	struct kvm_msr_entry	*msrs = NULL;
	uint8_t			*xsave = NULL;
	uint32_t		 id, khz, xlen = 0, i;
	size_t			 nmsrs = 0;
	int			 cur, set_khz = 0, ret = -1;

	if (kvm_state_parse(buf, len, KVM_KIND_VCPU, "vCPU", kvm_vcpu_recs,
	    VR_N, r, why, whylen) == -1)
		return (-1);
	if ((id = kvm_rec_u32(&r[VR_VCID])) != vc->vc_id)
		return (kvm_refuse(why, whylen, EINVAL,
		    "vCPU state: vCPU %u's, this is vCPU %u", id, vc->vc_id));
	if (r[VR_SREG].r_data == NULL && r[VR_SRG2].r_data == NULL)
		return (kvm_refuse(why, whylen, EINVAL,
		    "vCPU state: missing record 'SREG'"));
	if (r[VR_SREG].r_data != NULL && r[VR_SRG2].r_data != NULL)
		return (kvm_refuse(why, whylen, EINVAL,
		    "vCPU state: records 'SREG' and 'SRG2' both present"));
	if (r[VR_XSAV].r_data == NULL && r[VR_FPU].r_data == NULL)
		return (kvm_refuse(why, whylen, EINVAL,
		    "vCPU state: missing record 'XSAV'"));
	if (r[VR_XSAV].r_data != NULL && r[VR_FPU].r_data != NULL)
		return (kvm_refuse(why, whylen, EINVAL,
		    "vCPU state: records 'XSAV' and 'FPU ' both present"));
	if (r[VR_XSAV].r_data != NULL && r[VR_XCRS].r_data == NULL)
		return (kvm_refuse(why, whylen, EINVAL,
		    "vCPU state: missing record 'XCRS'"));
	if (r[VR_FPU].r_data != NULL && r[VR_XCRS].r_data != NULL)
		return (kvm_refuse(why, whylen, EINVAL,
		    "vCPU state: record 'XCRS' without 'XSAV'"));
	if (kvm_state_need(vm, why, whylen) == -1)
		return (-1);

	memcpy(&regs, r[VR_REGS].r_data, sizeof(regs));
	if (r[VR_SRG2].r_data != NULL) {
		memcpy(&sregs2, r[VR_SRG2].r_data, sizeof(sregs2));
		if (sregs2.flags & ~KVM_SREGS2_FLAGS_PDPTRS_VALID)
			return (kvm_refuse(why, whylen, EINVAL,
			    "vCPU state: record 'SRG2': flags 0x%llx unknown",
			    (unsigned long long)sregs2.flags));
		if (!vm->vm_sregs2) {
			/*
			 * Without KVM_SET_SREGS2 the PDPTRs of a PAE guest
			 * are read from its page tables again; a pending
			 * interrupt is in the events.
			 */
			memset(&sregs, 0, sizeof(sregs));
			sregs.cs = sregs2.cs;
			sregs.ds = sregs2.ds;
			sregs.es = sregs2.es;
			sregs.fs = sregs2.fs;
			sregs.gs = sregs2.gs;
			sregs.ss = sregs2.ss;
			sregs.tr = sregs2.tr;
			sregs.ldt = sregs2.ldt;
			sregs.gdt = sregs2.gdt;
			sregs.idt = sregs2.idt;
			sregs.cr0 = sregs2.cr0;
			sregs.cr2 = sregs2.cr2;
			sregs.cr3 = sregs2.cr3;
			sregs.cr4 = sregs2.cr4;
			sregs.cr8 = sregs2.cr8;
			sregs.efer = sregs2.efer;
			sregs.apic_base = sregs2.apic_base;
		}
	} else
		memcpy(&sregs, r[VR_SREG].r_data, sizeof(sregs));
	if (r[VR_XSAV].r_data != NULL) {
		if (vm->vm_xsave_size == 0)
			return (kvm_refuse(why, whylen, ENOTSUP, "vCPU state: "
			    "XSAVE state, and this host's KVM lacks "
			    "KVM_CAP_XSAVE"));
		xlen = r[VR_XSAV].r_len;
		/* more than KVM takes: only zeroes, features unused */
		for (i = vm->vm_xsave_size; i < xlen; i++)
			if (r[VR_XSAV].r_data[i] != 0)
				return (kvm_refuse(why, whylen, ENOTSUP,
				    "vCPU state: XSAVE state of %u bytes, this "
				    "host's KVM takes %zu", xlen,
				    vm->vm_xsave_size));
		memcpy(&xcrs, r[VR_XCRS].r_data, sizeof(xcrs));
		if (xcrs.nr_xcrs > KVM_MAX_XCRS || xcrs.flags != 0)
			return (kvm_refuse(why, whylen, EINVAL, "vCPU state: "
			    "record 'XCRS': %u XCRs, flags 0x%x",
			    xcrs.nr_xcrs, xcrs.flags));
	} else
		memcpy(&fpu, r[VR_FPU].r_data, sizeof(fpu));
	memcpy(&lapic, r[VR_LAPI].r_data, sizeof(lapic));
	memcpy(&ev, r[VR_EVNT].r_data, sizeof(ev));
	if (ev.flags & ~(KVM_VCPUEVENT_VALID_NMI_PENDING |
	    KVM_VCPUEVENT_VALID_SIPI_VECTOR | KVM_VCPUEVENT_VALID_SHADOW |
	    KVM_VCPUEVENT_VALID_SMM))
		return (kvm_refuse(why, whylen, EINVAL,
		    "vCPU state: record 'EVNT': flags 0x%x unknown", ev.flags));
	memcpy(&dr, r[VR_DBGR].r_data, sizeof(dr));
	if (dr.flags != 0)
		return (kvm_refuse(why, whylen, EINVAL,
		    "vCPU state: record 'DBGR': flags 0x%llx",
		    (unsigned long long)dr.flags));
	memset(&mp, 0, sizeof(mp));
	if ((mp.mp_state = kvm_rec_u32(&r[VR_MPST])) >
	    KVM_MP_STATE_SIPI_RECEIVED)
		return (kvm_refuse(why, whylen, EINVAL,
		    "vCPU state: record 'MPST': run state %u unknown",
		    mp.mp_state));
	khz = kvm_rec_u32(&r[VR_TSCK]);
	if (khz != 0 && vm->vm_get_tsc_khz &&
	    (cur = ioctl(vc->vc_fd, KVM_GET_TSC_KHZ, 0)) > 0 &&
	    !kvm_tsc_close(cur, khz)) {
		if (!vm->vm_tsc_control)
			return (kvm_refuse(why, whylen, ENOTSUP,
			    "vCPU state: TSC rate %u kHz, this host %d kHz, "
			    "and its KVM cannot scale it "
			    "(no KVM_CAP_TSC_CONTROL)", khz, cur));
		set_khz = 1;
	}
	if ((msrs = kvm_msrs_sorted(&r[VR_MSRS], &nmsrs, why,
	    whylen)) == NULL)
		return (-1);
	if (xlen > 0 && (xsave = calloc(1, vm->vm_xsave_size)) == NULL) {
		kvm_refuse(why, whylen, errno, "vCPU state: %s",
		    strerror(errno));
		goto done;
	}
	if (xsave != NULL)
		memcpy(xsave, r[VR_XSAV].r_data,
		    MINIMUM(xlen, vm->vm_xsave_size));

	/* From here on the vCPU changes. */
	if (set_khz && ioctl(vc->vc_fd, KVM_SET_TSC_KHZ,
	    (unsigned long)khz) == -1) {
		kvm_refuse_ioctl(vc, "KVM_SET_TSC_KHZ", why, whylen);
		goto done;
	}
	if (ioctl(vc->vc_fd, KVM_SET_REGS, &regs) == -1) {
		kvm_refuse_ioctl(vc, "KVM_SET_REGS", why, whylen);
		goto done;
	}
	if (xsave != NULL) {
		if (ioctl(vc->vc_fd, KVM_SET_XSAVE, xsave) == -1) {
			kvm_refuse_ioctl(vc, "KVM_SET_XSAVE", why, whylen);
			goto done;
		}
		if (ioctl(vc->vc_fd, KVM_SET_XCRS, &xcrs) == -1) {
			kvm_refuse_ioctl(vc, "KVM_SET_XCRS", why, whylen);
			goto done;
		}
	} else if (ioctl(vc->vc_fd, KVM_SET_FPU, &fpu) == -1) {
		kvm_refuse_ioctl(vc, "KVM_SET_FPU", why, whylen);
		goto done;
	}
	if (r[VR_SRG2].r_data != NULL && vm->vm_sregs2) {
		if (ioctl(vc->vc_fd, KVM_SET_SREGS2, &sregs2) == -1) {
			kvm_refuse_ioctl(vc, "KVM_SET_SREGS2", why, whylen);
			goto done;
		}
	} else if (ioctl(vc->vc_fd, KVM_SET_SREGS, &sregs) == -1) {
		kvm_refuse_ioctl(vc, "KVM_SET_SREGS", why, whylen);
		goto done;
	}
	if (ioctl(vc->vc_fd, KVM_SET_LAPIC, &lapic) == -1) {
		kvm_refuse_ioctl(vc, "KVM_SET_LAPIC", why, whylen);
		goto done;
	}
	if (kvm_vcpu_set_msrs(vc, msrs, nmsrs, why, whylen) == -1)
		goto done;
	for (i = 0; i < nmsrs; i++)
		if (msrs[i].index == MSR_IA32_TSC)
			kvm_vcpu_tsc_check(vc, msrs[i].data);
	if (ioctl(vc->vc_fd, KVM_SET_VCPU_EVENTS, &ev) == -1) {
		kvm_refuse_ioctl(vc, "KVM_SET_VCPU_EVENTS", why, whylen);
		goto done;
	}
	if (ioctl(vc->vc_fd, KVM_SET_MP_STATE, &mp) == -1) {
		kvm_refuse_ioctl(vc, "KVM_SET_MP_STATE", why, whylen);
		goto done;
	}
	if (ioctl(vc->vc_fd, KVM_SET_DEBUGREGS, &dr) == -1) {
		kvm_refuse_ioctl(vc, "KVM_SET_DEBUGREGS", why, whylen);
		goto done;
	}
	if (khz != 0)
		vm->vm_tsc_khz = khz;
	/* the TSC was set just now: a save before a run counts from here */
	if (vm->vm_paused)
		vm->vm_pause_ns = kvm_now_ns();
	ret = 0;
 done:
	free(msrs);
	free(xsave);
	return (ret);
}
