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
 * vmm(4) for Linux: the small, hypervisor-neutral interface the VM process
 * uses to create a machine, its memory and vCPUs, run them and inject
 * interrupts.  vmm_kvm.c implements it on KVM; nothing else includes
 * <linux/kvm.h>.
 *
 * The machine has the PC interrupt controllers (8259 pair, IOAPIC, one
 * LAPIC per vCPU) and the 8254 PIT built in: only the legacy IRQ lines
 * are driven from userland.  vCPUs other than 0 wait for INIT/SIPI.
 */

#ifndef VMM_H
#define VMM_H

#include <sys/types.h>
#include <pthread.h>
#include <stdint.h>

#define VMM_NIRQS		24	/* IOAPIC pins; 0-15 on the 8259s */

/* where the hypervisor keeps its private pages, outside guest RAM */
#define VMM_IDENTMAP_ADDR	0xfeffc000ULL	/* 1 page */
#define VMM_TSS_ADDR		0xfeffd000ULL	/* 3 pages */
#define VMM_PRIVATE_SIZE	0x4000ULL

/* segment access rights, in the VMX layout upstream's vcpu_reg_state uses */
#define VMM_AR_TYPE(ar)		((ar) & 0xf)
#define VMM_AR_S		0x0010
#define VMM_AR_DPL(ar)		(((ar) >> 5) & 3)
#define VMM_AR_P		0x0080
#define VMM_AR_AVL		0x1000
#define VMM_AR_L		0x2000
#define VMM_AR_DB		0x4000
#define VMM_AR_G		0x8000

struct vmm_seg {
	uint16_t	sel;
	uint32_t	limit;		/* in bytes, expanded */
	uint16_t	ar;
	uint64_t	base;
};

struct vmm_dtable {
	uint64_t	base;
	uint16_t	limit;
};

enum vmm_gpr {
	VMM_RAX, VMM_RBX, VMM_RCX, VMM_RDX, VMM_RSI, VMM_RDI, VMM_RBP,
	VMM_RSP, VMM_R8, VMM_R9, VMM_R10, VMM_R11, VMM_R12, VMM_R13,
	VMM_R14, VMM_R15, VMM_RIP, VMM_RFLAGS, VMM_NGPRS
};

/* the state a vCPU starts in */
struct vmm_regs {
	uint64_t		gpr[VMM_NGPRS];
	uint64_t		cr0;
	uint64_t		cr3;
	uint64_t		cr4;
	uint64_t		efer;
	struct vmm_seg		cs, ds, es, fs, gs, ss, tr, ldtr;
	struct vmm_dtable	gdtr, idtr;
};

enum vmm_exit_type {
	VMM_EXIT_INTR,		/* kicked, or a signal: nothing to do */
	VMM_EXIT_IO,		/* port I/O to emulate */
	VMM_EXIT_MMIO,		/* access to unbacked guest memory */
	VMM_EXIT_HLT,		/* only without the in-kernel LAPIC */
	VMM_EXIT_SHUTDOWN,	/* triple fault */
	VMM_EXIT_RESET,		/* the hypervisor saw a reset request */
	VMM_EXIT_POWEROFF,	/* the hypervisor saw a power-off request */
	VMM_EXIT_ERROR,		/* internal error, failed entry */
};

struct vmm_exit {
	enum vmm_exit_type	type;
	union {
		struct {
			uint16_t	 port;
			uint8_t		 size;	/* 1, 2 or 4 */
			uint8_t		 in;
			uint32_t	 count;	/* > 1: rep ins/outs */
			uint8_t		*data;	/* size * count */
		} io;
		struct {
			uint64_t	 gpa;
			uint8_t		*data;	/* fill on reads */
			uint32_t	 len;	/* <= 8 */
			uint8_t		 write;
		} mmio;
		struct {
			const char	*what;
			uint32_t	 code;	/* reason, suberror */
			uint64_t	 detail;
			uint64_t	 rip;
		} err;
	} u;
};

struct vmm_vm;
struct vmm_vcpu;

/*
 * Saved state, for vmctl send and receive: what the hypervisor keeps of
 * a VM (interrupt controllers, PIT, clock), of each vCPU (registers,
 * FPU, MSRs, LAPIC, pending events, run state) and the CPUID the guest
 * was given, each as an opaque, versioned blob of tagged records that
 * only the hypervisor's side reads.
 *
 * Save with the VM paused (vmm_vm_pause) and no vCPU inside
 * vmm_vcpu_run, every exit it returned handled (an IN's data filled in):
 * vmm_vcpu_save finishes that exit without running the guest on, or
 * fails with EBUSY inside a string I/O instruction (run the vCPU on and
 * save again).  Restore into a VM built the same way: vmm_vm_create
 * with as many vCPUs, vmm_vm_set_cpuid before the vCPUs are created,
 * guest memory added and filled, then vmm_vm_restore and
 * vmm_vcpu_restore of each vCPU.  The VM is then paused: vmm_vm_unpause
 * starts it where it was.  One thread saves or restores a VM.
 *
 * The restore functions check a blob whole before they change anything,
 * so a refused blob (truncated, a record missing, repeated, unknown or
 * of the wrong size, another version, another vCPU's) leaves the target
 * as it was; they write why, one line, in why (whylen bytes, NUL
 * included) and return -1 with errno set.  Only the kernel refusing a
 * value part way through a vCPU restore leaves it half restored: that
 * VM is to be destroyed.
 */
struct vmm_blob {			/* zeroed before its first use */
	uint8_t		*b_data;
	size_t		 b_len;
	size_t		 b_cap;
};

/* the signal vmm_vcpu_kick() sends; its handler is installed for you */
int		 vmm_kick_signal(void);

int		 vmm_max_vcpus(int);
const unsigned long *vmm_sandbox_ioctls(int, size_t *);
struct vmm_vm	*vmm_vm_create(int, unsigned int);
int		 vmm_vm_add_memory(struct vmm_vm *, uint64_t, uint64_t,
		    void *);
int		 vmm_vm_irq_line(struct vmm_vm *, unsigned int, int);
int		 vmm_vm_signal_msi(struct vmm_vm *, uint64_t, uint32_t);
/* irqfd: an eventfd whose writes inject the MSI routed to its GSI */
int		 vmm_vm_msi_irqfd(struct vmm_vm *, int);
int		 vmm_vm_msi_route(struct vmm_vm *, int, uint64_t, uint32_t);
/*
 * Guest writes of len bytes (of value match, unless match is -1) to port
 * addr signal the eventfd fd inside the kernel, without an exit to us.
 */
int		 vmm_vm_ioeventfd(struct vmm_vm *, uint16_t, unsigned int,
		    int64_t, int);
int		 vmm_vm_pause(struct vmm_vm *);
int		 vmm_vm_unpause(struct vmm_vm *);
void		 vmm_vm_clock_advance(struct vmm_vm *, uint64_t);
void		 vmm_vm_destroy(struct vmm_vm *);

/* each save appends one blob to the vmm_blob; 0, or -1 (logged) */
void		 vmm_blob_free(struct vmm_blob *);
int		 vmm_cpuid_save(struct vmm_vm *, struct vmm_blob *);
/* 0 if this host can give the guest that CPUID, else -1 and why */
int		 vmm_cpuid_check(struct vmm_vm *, const void *, size_t,
		    char *, size_t);
/* checks as vmm_cpuid_check, then gives it to the vCPUs created next */
int		 vmm_vm_set_cpuid(struct vmm_vm *, const void *, size_t,
		    char *, size_t);
int		 vmm_vm_save(struct vmm_vm *, struct vmm_blob *);
int		 vmm_vm_restore(struct vmm_vm *, const void *, size_t,
		    char *, size_t);

struct vmm_vcpu	*vmm_vcpu_create(struct vmm_vm *, unsigned int);
int		 vmm_vcpu_set_regs(struct vmm_vcpu *,
		    const struct vmm_regs *);
int		 vmm_vcpu_get_regs(struct vmm_vcpu *, struct vmm_regs *);
void		 vmm_vcpu_set_thread(struct vmm_vcpu *, pthread_t);
int		 vmm_vcpu_run(struct vmm_vcpu *, struct vmm_exit *);
void		 vmm_vcpu_kick(struct vmm_vcpu *);
int		 vmm_vcpu_save(struct vmm_vcpu *, struct vmm_blob *);
int		 vmm_vcpu_restore(struct vmm_vcpu *, const void *, size_t,
		    char *, size_t);

#endif /* VMM_H */
