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

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
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
	struct kvm_cpuid2	*vm_cpuid;
	int			 vm_tscdeadline;	/* LAPIC TSC-deadline mode */
	struct kvm_clock_data	 vm_clock;	/* saved while paused */
	struct kvm_pit_state2	 vm_pit;
	int			 vm_paused;

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

void
vmm_vm_destroy(struct vmm_vm *vm)
{
	if (vm == NULL)
		return;
	if (vm->vm_fd != -1)
		close(vm->vm_fd);
	free(vm->vm_cpuid);
	free(vm->vm_routes);
	free(vm);
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
			e->ecx |= 1U << 31;		/* hypervisor present */
			/*
			 * The in-kernel LAPIC has TSC-deadline mode, but older
			 * kernels' supported CPUID does not say so.  With it
			 * Linux needs no LAPIC timer calibration (100 ms of its
			 * boot) and arms its timer with one MSR write.
			 */
			if (vc->vc_vm->vm_tscdeadline)
				e->ecx |= 1U << 24;
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
	int		 saved;

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
