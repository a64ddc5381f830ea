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
 * The machine-dependent side of the VM: the memory map and the one mapping
 * that backs it, the port I/O table the vCPU exits dispatch through, and
 * the small ports that belong to no chip of their own (i8042 reset, 0xcf9,
 * POST codes).  The PIC, IOAPIC, LAPIC and PIT are KVM's.
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/param.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "acpi.h"
#include "log.h"
#include "mc146818.h"
#include "ns8250.h"
#include "pci.h"
#include "vm.h"
#include "vmstate.h"

#define IO_NPORTS		65536
#define IO_MAX_HANDLERS		256
#define MMIO_MAX_HANDLERS	32

#define PORT_POST		0x80
#define PORT_KBC_DATA		0x60
#define PORT_KBC_CMD		0x64	/* status on reads */
#define PORT_RESET		0xcf9
#define PORT_A20		0x92	/* system control port A */
#define PORT_FWDEBUG		0x402	/* SeaBIOS's debug output */
#define A20_ENABLED		0x02
#define FWDEBUG_LINE		160

#define KBC_STS_OBF		0x01
#define KBC_STS_SYS		0x04
#define KBC_STS_CMD		0x08
#define KBC_CMD_READ_CTR	0x20
#define KBC_CMD_WRITE_CTR	0x60
#define KBC_CMD_AUX_TEST	0xa9
#define KBC_CMD_AUX_LOOP	0xd3
#define KBC_CMD_SELF_TEST	0xaa
#define KBC_CMD_KBD_TEST	0xab
#define KBC_CMD_RESET		0xfe
#define KBC_SELF_TEST_OK	0x55
#define KBC_CTR_DEFAULT		0x30	/* ports disabled, no IRQs */

#define RESET_RST_CPU		0x04

struct io_handler {
	vm_io_fn		 fn;
	void			*arg;
};

struct mmio_handler {
	uint64_t		 base;
	uint64_t		 size;
	vm_mmio_fn		 fn;
	void			*arg;
};

struct vm_io {
	uint8_t			 idx[IO_NPORTS]; /* 0: unhandled */
	struct io_handler	 h[IO_MAX_HANDLERS];
	unsigned int		 nh;
	struct mmio_handler	 mmio[MMIO_MAX_HANDLERS];
	unsigned int		 nmmio;

	pthread_mutex_t		 mtx;	/* the ports below */
	uint8_t			 kbc_ctr;
	uint8_t			 kbc_out;
	int			 kbc_full;
	int			 kbc_wctr;	/* next byte: the CTR */
	int			 kbc_loop;	/* next byte: echoed */
	uint8_t			 reset_reg;
	char			 fwline[FWDEBUG_LINE];
	size_t			 fwlen;
};

/*
 * upstream's create_memory_map: 0-640K RAM, 640K-1M reserved (but
 * backed: guests write VGA memory), RAM from 1 MiB up to the PCI hole at
 * 0xf0000000, 4 MiB reserved below 4 GiB (a second BIOS copy), the rest
 * from 4 GiB.  Slots are the backed, contiguous pieces.
 */
int
create_memory_map(struct vm_mem *mem, uint64_t memsize)
{
	struct vm_mem_range	*r = mem->ranges;
	uint64_t		 left, above1m, above4g;
	unsigned int		 n = 0;

	memset(mem, 0, sizeof(*mem));
	if (memsize < MB(1) || memsize > VMM_MAX_VM_MEM_SIZE) {
		errno = EINVAL;
		return (-1);
	}
	left = memsize;

	r[n].vmr_gpa = 0;
	r[n].vmr_size = VM_LOWMEM_END;
	r[n++].vmr_type = VM_MEM_RAM;
	r[n].vmr_gpa = VM_LOWMEM_END;
	r[n].vmr_size = MB(1) - VM_LOWMEM_END;
	r[n++].vmr_type = VM_MEM_RESERVED;
	left -= MB(1);

	if (left <= MB(4)) {
		/* tiny VM: low memory and the BIOS area only */
		mem->slots[0].gpa = 0;
		mem->slots[0].size = MB(1);
		mem->lowtop = VM_LOWMEM_END;
		mem->ramsize = VM_LOWMEM_END;
	} else {
		above1m = MINIMUM(left, VM_PCI_MMIO_BASE - MB(1));
		above4g = left - above1m;
		r[n].vmr_gpa = MB(1);
		r[n].vmr_size = above1m;
		r[n++].vmr_type = VM_MEM_RAM;
		r[n].vmr_gpa = VM_PCI_MMIO_BASE;
		r[n].vmr_size = VM_PCI_MMIO_END - VM_PCI_MMIO_BASE + 1;
		r[n++].vmr_type = VM_MEM_MMIO;
		mem->slots[0].gpa = 0;
		mem->slots[0].size = MB(1) + above1m;
		mem->lowtop = MB(1) + above1m;
		mem->ramsize = VM_LOWMEM_END + above1m + above4g;
		if (above4g > 0) {
			mem->slots[2].gpa = GB(4);
			mem->slots[2].size = above4g;
		}
	}
	r[n].vmr_gpa = VM_BIOS_AREA;
	r[n].vmr_size = VM_BIOS_AREA_SIZE;
	r[n++].vmr_type = VM_MEM_RESERVED;
	mem->slots[1].gpa = VM_BIOS_AREA;
	mem->slots[1].size = VM_BIOS_AREA_SIZE;
	mem->nslots = mem->slots[2].size > 0 ? 3 : 2;
	if (mem->slots[2].size > 0) {
		r[n].vmr_gpa = GB(4);
		r[n].vmr_size = mem->slots[2].size;
		r[n++].vmr_type = VM_MEM_RAM;
	}
	mem->nranges = n;
	return (0);
}

/*
 * Guest memory: one anonymous mapping, never pre-touched, on a 2 MiB
 * boundary and advised for transparent huge pages, so that KVM maps the
 * guest with 2 MiB pages (one nested page fault where 4 KiB pages take
 * 512, and a shorter page walk on every TLB miss).  It is kept out of
 * core dumps; that with the huge page advice is how vmd finds it in
 * /proc/PID/smaps to measure the memory the guest used.  (A memfd would
 * need shmem huge pages, which Linux leaves off by default.)
 */
int
x86_create_memory(struct vm *vm)
{
	struct vm_mem	*mem = &vm->vm_mem;
	uint64_t	 total = 0, off = 0;
	uint8_t		*p, *a;
	size_t		 head;
	unsigned int	 i;

	if (create_memory_map(mem, vm->vm_params.vmc_params.vcp_memory_size)
	    == -1)
		return (-1);
	/* every slot on a 2 MiB boundary, as its guest address is */
	for (i = 0; i < mem->nslots; i++)
		total += roundup(mem->slots[i].size, MB(2));

	p = mmap(NULL, total + MB(2), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED)
		return (-1);
	a = (uint8_t *)(((uintptr_t)p + MB(2) - 1) & ~(uintptr_t)(MB(2) - 1));
	head = a - p;
	if (head > 0)
		(void)munmap(p, head);
	(void)munmap(a + total, MB(2) - head);
	if (madvise(a, total, MADV_DONTDUMP) == -1 ||
	    madvise(a, total, MADV_HUGEPAGE) == -1)
		log_warn("%s: madvise", __func__);
	vm->vm_mem_size = total;
	for (i = 0; i < mem->nslots; i++) {
		mem->slots[i].hva = a + off;
		off += roundup(mem->slots[i].size, MB(2));
		if (vmm_vm_add_memory(vm->vm_vmm, mem->slots[i].gpa,
		    mem->slots[i].size, mem->slots[i].hva) == -1)
			return (-1);
	}
	return (0);
}

int
vm_ioport_register(struct vm *vm, uint16_t base, unsigned int n,
    vm_io_fn fn, void *arg)
{
	struct vm_io	*io = vm->vm_io;
	unsigned int	 p;

	if (n == 0 || base + n > IO_NPORTS || io->nh >= IO_MAX_HANDLERS) {
		errno = EINVAL;
		return (-1);
	}
	for (p = base; p < base + n; p++)
		if (io->idx[p] != 0) {
			log_warnx("%s: port 0x%x is taken", __func__, p);
			errno = EBUSY;
			return (-1);
		}
	io->h[io->nh].fn = fn;
	io->h[io->nh].arg = arg;
	for (p = base; p < base + n; p++)
		io->idx[p] = io->nh;
	io->nh++;
	return (0);
}

int
vm_mmio_register(struct vm *vm, uint64_t base, uint64_t size, vm_mmio_fn fn,
    void *arg)
{
	struct vm_io		*io = vm->vm_io;
	struct mmio_handler	*m;

	if (size == 0 || base + size < base || io->nmmio >= MMIO_MAX_HANDLERS) {
		errno = EINVAL;
		return (-1);
	}
	m = &io->mmio[io->nmmio++];
	m->base = base;
	m->size = size;
	m->fn = fn;
	m->arg = arg;
	return (0);
}

static void
io_unhandled(void *arg, uint16_t port, int size, int in, uint32_t *data)
{
	(void)arg;
	if (in)
		log_debug("%s: in%c 0x%x", __func__, "?bw?l"[size & 7], port);
	else
		log_debug("%s: out%c 0x%x, 0x%x", __func__, "?bw?l"[size & 7],
		    port, *data);
}

static void
io_ignore(void *arg, uint16_t port, int size, int in, uint32_t *data)
{
	(void)arg;
	(void)port;
	(void)size;
	(void)in;
	(void)data;
}

/*
 * One port I/O exit (count > 1 for rep ins/outs).  Reads start as
 * all-ones, which is what an unhandled port returns.
 */
void
x86_exit_io(struct vm *vm, struct vmm_exit *ve)
{
	struct vm_io		*io = vm->vm_io;
	const struct io_handler	*h = &io->h[io->idx[ve->u.io.port]];
	uint8_t			*p = ve->u.io.data;
	uint32_t		 v, i;
	int			 size = ve->u.io.size;

	if (size != 1 && size != 2 && size != 4)
		return;
	for (i = 0; i < ve->u.io.count; i++, p += size) {
		if (ve->u.io.in) {
			v = 0xffffffff;
			h->fn(h->arg, ve->u.io.port, size, 1, &v);
			memcpy(p, &v, size);
		} else {
			v = 0;
			memcpy(&v, p, size);
			h->fn(h->arg, ve->u.io.port, size, 0, &v);
		}
	}
}

void
x86_exit_mmio(struct vm *vm, struct vmm_exit *ve)
{
	struct vm_io		*io = vm->vm_io;
	struct mmio_handler	*m;
	uint64_t		 gpa = ve->u.mmio.gpa, v;
	unsigned int		 i, len = ve->u.mmio.len;

	for (i = 0; i < io->nmmio; i++) {
		m = &io->mmio[i];
		if (gpa < m->base || gpa - m->base >= m->size)
			continue;
		v = 0;
		if (ve->u.mmio.write) {
			memcpy(&v, ve->u.mmio.data, len);
			m->fn(m->arg, gpa, len, 0, &v);
		} else {
			v = UINT64_MAX;
			m->fn(m->arg, gpa, len, 1, &v);
			memcpy(ve->u.mmio.data, &v, len);
		}
		return;
	}
	if (ve->u.mmio.write)
		log_debug("%s: write of %u bytes at 0x%llx ignored", __func__,
		    len, (unsigned long long)gpa);
	else {
		log_debug("%s: read of %u bytes at 0x%llx", __func__, len,
		    (unsigned long long)gpa);
		memset(ve->u.mmio.data, 0xff, len);
	}
}

/*
 * The keyboard controller, as little as guests need: status says there
 * is nothing to read, a few commands answer (so probing ends at once),
 * and 0xfe pulses the reset line.
 */
static void
kbc_io(void *arg, uint16_t port, int size, int in, uint32_t *data)
{
	struct vm	*vm = arg;
	struct vm_io	*io = vm->vm_io;
	uint8_t		 v = *data;
	int		 reset = 0;

	(void)size;
	pthread_mutex_lock(&io->mtx);
	if (in) {
		if (port == PORT_KBC_CMD)
			*data = KBC_STS_SYS | (io->kbc_full ? KBC_STS_OBF : 0);
		else {
			*data = io->kbc_out;
			io->kbc_full = 0;
		}
	} else if (port == PORT_KBC_DATA) {
		if (io->kbc_wctr)
			io->kbc_ctr = v;
		else if (io->kbc_loop) {
			/* not flagged as from the aux port: no mouse here */
			io->kbc_out = v;
			io->kbc_full = 1;
		}
		io->kbc_wctr = io->kbc_loop = 0;
	} else {
		io->kbc_wctr = io->kbc_loop = 0;
		switch (v) {
		case KBC_CMD_READ_CTR:
			io->kbc_out = io->kbc_ctr;
			io->kbc_full = 1;
			break;
		case KBC_CMD_WRITE_CTR:
			io->kbc_wctr = 1;
			break;
		case KBC_CMD_AUX_LOOP:
			io->kbc_loop = 1;
			break;
		case KBC_CMD_SELF_TEST:
			io->kbc_out = KBC_SELF_TEST_OK;
			io->kbc_full = 1;
			break;
		case KBC_CMD_AUX_TEST:
		case KBC_CMD_KBD_TEST:
			io->kbc_out = 0x01;	/* clock stuck: none */
			io->kbc_full = 1;
			break;
		case KBC_CMD_RESET:
			reset = 1;
			break;
		}
	}
	pthread_mutex_unlock(&io->mtx);
	if (reset)
		vm_request_exit(vm, VM_EXIT_REBOOT);
}

/* A20 is always on; the fast reset bit is not wired (as upstream) */
static void
a20_io(void *arg, uint16_t port, int size, int in, uint32_t *data)
{
	(void)arg;
	(void)port;
	(void)size;
	if (in)
		*data = A20_ENABLED;
}

/* the firmware's debug port: its lines go to vmd's debug log */
static void
fwdebug_io(void *arg, uint16_t port, int size, int in, uint32_t *data)
{
	struct vm	*vm = arg;
	struct vm_io	*io = vm->vm_io;
	char		 c;

	(void)port;
	(void)size;
	if (in) {
		*data = 0xe9;	/* "present", as QEMU's debugcon answers */
		return;
	}
	c = *data & 0xff;
	pthread_mutex_lock(&io->mtx);
	if (c != '\n' && c != '\r' && io->fwlen < sizeof(io->fwline) - 1)
		io->fwline[io->fwlen++] = (c >= ' ' && c < 0x7f) ? c : '?';
	else if (c == '\n' || io->fwlen == sizeof(io->fwline) - 1) {
		io->fwline[io->fwlen] = '\0';
		if (io->fwlen > 0)
			log_debug("vm %s: firmware: %s", vm->vm_name,
			    io->fwline);
		io->fwlen = 0;
	}
	pthread_mutex_unlock(&io->mtx);
}

/* the reset control register, as the FADT's reset register names it */
static void
reset_io(void *arg, uint16_t port, int size, int in, uint32_t *data)
{
	struct vm	*vm = arg;
	struct vm_io	*io = vm->vm_io;
	int		 reset;

	(void)port;
	(void)size;
	pthread_mutex_lock(&io->mtx);
	if (in) {
		*data = io->reset_reg;
		pthread_mutex_unlock(&io->mtx);
		return;
	}
	reset = (*data & RESET_RST_CPU) != 0;
	io->reset_reg = *data & ~RESET_RST_CPU;
	pthread_mutex_unlock(&io->mtx);
	if (reset)
		vm_request_exit(vm, VM_EXIT_REBOOT);
}

/*
 * The machine's devices.  ttyfd is COM1's pty master.  Called from the
 * event thread before any vCPU runs.
 */
int
x86_init_machine(struct vm *vm, int ttyfd)
{
	struct vm_io	*io;

	if ((io = calloc(1, sizeof(*io))) == NULL)
		return (-1);
	pthread_mutex_init(&io->mtx, NULL);
	io->h[0].fn = io_unhandled;
	io->nh = 1;
	io->kbc_ctr = KBC_CTR_DEFAULT;
	vm->vm_io = io;

	if (vm_ioport_register(vm, PORT_POST, 1, io_ignore, NULL) == -1 ||
	    vm_ioport_register(vm, PORT_KBC_DATA, 1, kbc_io, vm) == -1 ||
	    vm_ioport_register(vm, PORT_KBC_CMD, 1, kbc_io, vm) == -1 ||
	    vm_ioport_register(vm, PORT_RESET, 1, reset_io, vm) == -1 ||
	    vm_ioport_register(vm, PORT_A20, 1, a20_io, vm) == -1 ||
	    vm_ioport_register(vm, PORT_FWDEBUG, 1, fwdebug_io, vm) == -1)
		return (-1);
	if ((vm->vm_com1 = ns8250_init(vm, ttyfd, COM1_BASE, COM1_IRQ)) ==
	    NULL)
		return (-1);
	if ((vm->vm_rtc = mc146818_init(vm)) == NULL)
		return (-1);
	if ((vm->vm_pm = acpi_pm_init(vm)) == NULL)
		return (-1);
	if ((vm->vm_pci = pci_init(vm)) == NULL)
		return (-1);
	return (0);
}

/* Event thread: device timers and input follow the vCPUs. */
void
x86_pause(struct vm *vm)
{
	ns8250_stop(vm->vm_com1);
	mc146818_stop(vm->vm_rtc);
	acpi_pm_pause(vm->vm_pm);
}

void
x86_unpause(struct vm *vm)
{
	acpi_pm_unpause(vm->vm_pm);
	mc146818_start(vm->vm_rtc);
	ns8250_start(vm->vm_com1);
}

/* what send carries of the ports kept here: the i8042 and port 0xcf9 */
struct x86_io_state {
	uint8_t		 kbc_ctr;
	uint8_t		 kbc_out;
	uint8_t		 kbc_full;
	uint8_t		 kbc_wctr;
	uint8_t		 kbc_loop;
	uint8_t		 reset_reg;
	uint8_t		 pad[2];
} __attribute__((packed));

int
x86_io_save(struct vm *vm, struct vms_writer *w)
{
	struct vm_io		*io = vm->vm_io;
	struct x86_io_state	 s;

	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&io->mtx);
	s.kbc_ctr = io->kbc_ctr;
	s.kbc_out = io->kbc_out;
	s.kbc_full = io->kbc_full != 0;
	s.kbc_wctr = io->kbc_wctr != 0;
	s.kbc_loop = io->kbc_loop != 0;
	s.reset_reg = io->reset_reg;
	pthread_mutex_unlock(&io->mtx);
	return (vms_put(w, VMS_X86IO, 0, &s, sizeof(s)));
}

const char *
x86_io_restore(struct vm *vm, const void *p, size_t len)
{
	struct vm_io		*io = vm->vm_io;
	struct x86_io_state	 s;

	if (len != sizeof(s))
		return ("wrong size");
	memcpy(&s, p, sizeof(s));
	pthread_mutex_lock(&io->mtx);
	io->kbc_ctr = s.kbc_ctr;
	io->kbc_out = s.kbc_out;
	io->kbc_full = s.kbc_full != 0;
	io->kbc_wctr = s.kbc_wctr != 0;
	io->kbc_loop = s.kbc_loop != 0;
	io->reset_reg = s.reset_reg;
	pthread_mutex_unlock(&io->mtx);
	return (NULL);
}
