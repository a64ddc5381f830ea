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
 * The VM process: one per running VM, exec'd by vmm as "vmd -V fd -K fd".
 * vm_main() is its entry point; the rest of this header is shared by the
 * files that make up the machine (vm.c, x86_vm.c, the loaders, the chips).
 */

#ifndef VM_H
#define VM_H

#include <sys/types.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "vmd.h"
#include "vmm.h"

/* the VM process's entry point; never returns */
__dead void	 vm_main(int, int);

#define MB(x)			((uint64_t)(x) << 20)
#define GB(x)			((uint64_t)(x) << 30)

/* the guest-physical memory map (upstream's create_memory_map) */
#define VM_LOWMEM_END		0xa0000ULL	/* 640 KiB */
#define VM_PCI_MMIO_BASE	0xf0000000ULL
#define VM_PCI_MMIO_END		0xffbfffffULL	/* inclusive */
#define VM_BIOS_AREA		0xffc00000ULL	/* second BIOS copy */
#define VM_BIOS_AREA_SIZE	MB(4)
#define VM_MAX_MEM_RANGES	8
#define VM_MAX_VIRTIO		16	/* virtio devices of a VM */
#define VM_PAGE_SIZE		4096

/* a backed, host-contiguous piece of guest memory */
struct vm_mem_slot {
	uint64_t		 gpa;
	uint64_t		 size;
	uint8_t			*hva;
};

struct vm_mem {
	struct vm_mem_range	 ranges[VM_MAX_MEM_RANGES];	/* e820 */
	unsigned int		 nranges;
	struct vm_mem_slot	 slots[VM_MAX_MEM_RANGES];
	unsigned int		 nslots;
	uint64_t		 ramsize;	/* bytes of VM_MEM_RAM */
	uint64_t		 lowtop;	/* end of RAM below 4 GiB */
};

/*
 * Host address of guest-physical [gpa, gpa + len), or NULL unless the
 * whole span is backed by one slot.  Safe with any guest-chosen values.
 */
static inline void *
vm_mem_ptr(const struct vm_mem *mem, uint64_t gpa, uint64_t len)
{
	const struct vm_mem_slot	*s;
	unsigned int			 i;

	for (i = 0; i < mem->nslots; i++) {
		s = &mem->slots[i];
		if (gpa >= s->gpa && gpa - s->gpa <= s->size &&
		    len <= s->size - (gpa - s->gpa))
			return (s->hva + (gpa - s->gpa));
	}
	return (NULL);
}

static inline int
vm_mem_write(const struct vm_mem *mem, uint64_t gpa, const void *buf,
    size_t len)
{
	void	*p;

	if ((p = vm_mem_ptr(mem, gpa, len)) == NULL)
		return (-1);
	memcpy(p, buf, len);
	return (0);
}

/* Is [gpa, gpa + len) inside guest RAM (VM_MEM_RAM)? */
static inline int
vm_mem_is_ram(const struct vm_mem *mem, uint64_t gpa, uint64_t len)
{
	const struct vm_mem_range	*r;
	unsigned int			 i;

	for (i = 0; i < mem->nranges; i++) {
		r = &mem->ranges[i];
		if (r->vmr_type == VM_MEM_RAM && gpa >= r->vmr_gpa &&
		    gpa - r->vmr_gpa <= r->vmr_size &&
		    len <= r->vmr_size - (gpa - r->vmr_gpa))
			return (1);
	}
	return (0);
}

/* x86_vm.c: the memory map for a memory size, slots without hva */
int		 create_memory_map(struct vm_mem *, uint64_t);

/* port I/O: *data holds the value written, or receives the value read */
typedef void	(*vm_io_fn)(void *, uint16_t, int, int, uint32_t *);
/* MMIO: the same, for up to 8 bytes */
typedef void	(*vm_mmio_fn)(void *, uint64_t, int, int, uint64_t *);

struct ns8250;
struct mc146818;
struct acpi_pm;
struct pci;
struct fw_cfg;
struct vmmci;
struct disk;
struct vm_io;
struct imsgev;
struct virtio_dev;

enum vm_runstate {
	VM_RUN,
	VM_PAUSE,
	VM_STOP,	/* exiting */
};

struct vcpu {
	struct vm		*vc_vm;
	struct vmm_vcpu		*vc_vmm;
	unsigned int		 vc_id;
	pthread_t		 vc_thread;
};

struct vm {
	char			 vm_name[VMM_MAX_NAME_LEN];
	struct vmop_create_params vm_params;
	struct vmm_vm		*vm_vmm;
	struct vm_mem		 vm_mem;
	uint64_t		 vm_mem_size;	/* the mapping of all slots */
	unsigned int		 vm_ncpus;
	struct vcpu		 vm_vcpus[VMM_MAX_VCPUS_PER_VM];
	unsigned int		 vm_nthreads;	/* vCPU threads */

	/* run control, shared with the vCPU threads */
	pthread_mutex_t		 vm_mtx;
	pthread_cond_t		 vm_cond;
	int			 vm_state;	/* vm_runstate, atomic */
	unsigned int		 vm_nparked;
	int			 vm_exitcode;	/* -1 until decided */
	int			 vm_exitfd;	/* to the event loop */

	/* setup, from the START messages */
	struct imsgev		*vm_iev;	/* to vmm */
	int			 vm_kvmfd;
	int			 vm_kernel;
	int			 vm_initrd;
	int			 vm_tty;
	int			 vm_diskfds[VM_MAX_DISKS_PER_VM]
				    [2 + VM_MAX_BASE_PER_DISK];	/* disk_open */
	int			 vm_ndiskfds[VM_MAX_DISKS_PER_VM];
	int			 vm_cdrom;
	int			 vm_tapfds[VM_MAX_NICS_PER_VM];
	struct vmop_if		 vm_ifinfo[VM_MAX_NICS_PER_VM];
	int			 vm_disk_pci;	/* PCI device numbers, or -1 */
	int			 vm_cdrom_pci;
	int			 vm_have_params;
	int			 vm_started;
	/* receive: the stream (vmstate.h), its first bytes as vmctl read them */
	int			 vm_recvfd;
	void			*vm_recvprefix;
	size_t			 vm_recvlen;
	uint64_t		 vm_sent_at;	/* CLOCK_REALTIME ns, or 0 */

	/* machine */
	struct vm_io		*vm_io;
	struct ns8250		*vm_com1;
	struct mc146818		*vm_rtc;
	struct acpi_pm		*vm_pm;
	struct pci		*vm_pci;
	struct fw_cfg		*vm_fwcfg;
	struct vmmci		*vm_vmmci;
	struct disk		*vm_disks[VM_MAX_DISKS_PER_VM];	/* vioblk's */
	unsigned int		 vm_ndisks;
	struct virtio_dev	*vm_vdevs[VM_MAX_VIRTIO];	/* PCI order */
	unsigned int		 vm_nvdevs;
	int			 vm_iofrozen;	/* devices take no chains */

	/* vm_guest_warnx's budget */
	pthread_mutex_t		 vm_logmtx;
	time_t			 vm_logwindow;
	unsigned int		 vm_logged;
	unsigned int		 vm_suppressed;
};

/* vm.c, for the devices */
void		 vm_irq_line(struct vm *, unsigned int, int);
void		 vm_request_exit(struct vm *, int);
/* a warning the guest can cause at will: a few a minute, then counted */
void		 vm_guest_warnx(struct vm *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* x86_vm.c */
int		 vm_ioport_register(struct vm *, uint16_t, unsigned int,
		    vm_io_fn, void *);
int		 vm_mmio_register(struct vm *, uint64_t, uint64_t,
		    vm_mmio_fn, void *);
int		 x86_create_memory(struct vm *);
int		 x86_init_machine(struct vm *, int);
void		 x86_exit_io(struct vm *, struct vmm_exit *);
void		 x86_exit_mmio(struct vm *, struct vmm_exit *);
void		 x86_pause(struct vm *);
void		 x86_unpause(struct vm *);
struct vms_writer;
int		 x86_io_save(struct vm *, struct vms_writer *);
const char	*x86_io_restore(struct vm *, const void *, size_t);

#endif /* VM_H */
