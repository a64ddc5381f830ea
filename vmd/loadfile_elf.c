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
 * The boot loader vmd plays: dispatch on the image type (after gunzip,
 * loadfile_gzip.c), ELF64 and ELF32 kernels (OpenBSD boot arguments as
 * upstream's loadfile_elf.c lays them out, or the Xen PVH entry when the
 * image has that note) and BIOS images, and the pieces the Linux loader
 * shares (GDT, page tables, initrd, e820).
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loadfile.h"

#define ELF_MAX_PHNUM		128
#define ELF_MAX_SHNUM		4096
#define ELF_MAX_NOTES		65536
#define ELF_LOADADDR_MASK	0x0fffffffULL	/* upstream's LOADADDR */
#define PT_OPENBSD_RANDOMIZE_	0x65a3dbe6
#define ELFOSABI_OPENBSD_	12
#define XEN_ELFNOTE_PHYS32_ENTRY 18

/* OpenBSD boot arguments (amd64 biosvar.h) */
#define BOOTARG_MEMMAP		0
#define BOOTARG_CONSDEV		5
#define BOOTARG_BOOTMAC		7
#define BOOTARG_END		0xffffffffU
#define BIOS_MAP_END		0
#define BIOS_MAP_FREE		1
#define BIOS_MAP_RES		2
#define BOOTARG_APIVER		0x0e
#define OPENBSD_COM0		0x0800	/* makedev(8, 0) */
#define OPENBSD_BOOTDEV_SD0A	0xa0000004U	/* MAKEBOOTDEV(4,0,...) */

/* Xen PVH */
#define HVM_START_MAGIC		0x336ec578
#define PVH_MODLIST		(PVH_INFO_PAGE + 0x40)
#define PVH_MEMMAP		(PVH_INFO_PAGE + 0x100)

#define PG_P			0x001ULL
#define PG_RW			0x002ULL
#define PG_U			0x004ULL
#define PG_PS			0x080ULL

#define CR0_PE			0x00000001ULL
#define CR0_ET			0x00000010ULL
#define CR0_PG			0x80000000ULL
#define CR4_PSE			0x00000010ULL
#define CR4_PAE			0x00000020ULL
#define EFER_LME		0x00000100ULL
#define EFER_LMA		0x00000400ULL

struct hvm_start_info {
	uint32_t	magic;
	uint32_t	version;
	uint32_t	flags;
	uint32_t	nr_modules;
	uint64_t	modlist_paddr;
	uint64_t	cmdline_paddr;
	uint64_t	rsdp_paddr;
	uint64_t	memmap_paddr;
	uint32_t	memmap_entries;
	uint32_t	reserved;
};

struct hvm_modlist_entry {
	uint64_t	paddr;
	uint64_t	size;
	uint64_t	cmdline_paddr;
	uint64_t	reserved;
};

struct hvm_memmap_table_entry {
	uint64_t	addr;
	uint64_t	size;
	uint32_t	type;
	uint32_t	reserved;
};

struct bios_memmap {
	uint64_t	addr;
	uint64_t	size;
	uint32_t	type;
} __attribute__((__packed__));

struct bios_consdev {
	int32_t		consdev;
	int32_t		conspeed;
	uint64_t	consaddr;
	int32_t		consfreq;
	uint32_t	flags;
	int32_t		reg_width;
	int32_t		reg_shift;
} __attribute__((__packed__));

/* an ELF32 image's headers are held widened to their ELF64 form */
struct elf_image {
	const uint8_t		*hdr;		/* the file's first bytes */
	Elf64_Ehdr		 eh;
	Elf64_Phdr		*ph;
	int			 is32;
	uint64_t		 fsize;
	uint64_t		 minp, maxp;	/* loaded span */
	uint64_t		 pvh_entry;
	int			 has_pvh;
	int			 openbsd;
};

int
loadfile_error(struct loadfile *lf, int code, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(lf->lf_err, sizeof(lf->lf_err), fmt, ap);
	va_end(ap);
	return (code);
}

/* All of [off, off + len) from the file, or -1 (errno EIO if short). */
int
loadfile_read(int fd, uint64_t off, void *buf, size_t len)
{
	uint8_t	*p = buf;
	ssize_t	 n;

	while (len > 0) {
		n = pread(fd, p, len, (off_t)off);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return (-1);
		}
		if (n == 0) {
			errno = EIO;
			return (-1);
		}
		p += n;
		off += n;
		len -= n;
	}
	return (0);
}

/* All of [off, off + len) of the kernel image: the file or its gunzip. */
int
loadfile_kread(struct loadfile *lf, uint64_t off, void *buf, size_t len)
{
	if (lf->lf_kbuf == NULL)
		return (loadfile_read(lf->lf_kernel, off, buf, len));
	if (off > lf->lf_ksize || len > lf->lf_ksize - off) {
		errno = EIO;
		return (-1);
	}
	memcpy(buf, lf->lf_kbuf + off, len);
	return (0);
}

/* Kernel image bytes straight into guest memory, checked on both sides. */
int
loadfile_copy(struct loadfile *lf, uint64_t off, uint64_t gpa, uint64_t len,
    const char *what)
{
	void	*dst;

	if (len == 0)
		return (0);
	if ((dst = vm_mem_ptr(lf->lf_mem, gpa, len)) == NULL)
		return (loadfile_error(lf, ENOMEM, "%s: 0x%llx bytes at "
		    "0x%llx are outside guest memory", what,
		    (unsigned long long)len, (unsigned long long)gpa));
	if (loadfile_kread(lf, off, dst, len) == -1)
		return (loadfile_error(lf, EIO, "%s: read: %s", what,
		    strerror(errno)));
	return (0);
}

/*
 * The e820 map the guest gets: RAM and reserved ranges, and the pages
 * KVM keeps for itself in the PCI hole.  Sorted, as the ranges are.
 */
unsigned int
loadfile_e820(const struct vm_mem *mem, struct e820_entry *e,
    unsigned int max)
{
	const struct vm_mem_range	*r;
	unsigned int			 i, n = 0;
	int				 priv = 0;

	for (i = 0; i < mem->nranges && n < max; i++) {
		r = &mem->ranges[i];
		if (!priv && r->vmr_gpa > VMM_IDENTMAP_ADDR) {
			e[n].addr = VMM_IDENTMAP_ADDR;
			e[n].size = VMM_PRIVATE_SIZE;
			e[n].type = E820_RESERVED;
			priv = 1;
			if (++n >= max)
				break;
		}
		if (r->vmr_type == VM_MEM_MMIO)
			continue;
		e[n].addr = r->vmr_gpa;
		e[n].size = r->vmr_size;
		e[n].type = r->vmr_type == VM_MEM_RAM ?
		    E820_RAM : E820_RESERVED;
		n++;
	}
	return (n);
}

/*
 * The initrd goes as high as it can below hi, page aligned, and above lo
 * (the end of the kernel).
 */
int
loadfile_initrd(struct loadfile *lf, uint64_t lo, uint64_t hi)
{
	struct stat	st;
	uint64_t	size, addr;
	void		*dst;

	lf->lf_initrd_addr = lf->lf_initrd_size = 0;
	if (lf->lf_initrd == -1)
		return (0);
	if (fstat(lf->lf_initrd, &st) == -1)
		return (loadfile_error(lf, errno, "initrd: %s",
		    strerror(errno)));
	if (!S_ISREG(st.st_mode))
		return (loadfile_error(lf, EINVAL,
		    "initrd: not a regular file"));
	if (st.st_size == 0)
		return (loadfile_error(lf, EINVAL, "initrd: empty file"));
	size = st.st_size;
	if (hi > lf->lf_mem->lowtop)
		hi = lf->lf_mem->lowtop;
	lo = (lo + 0xfff) & ~0xfffULL;
	if (hi <= lo || size > hi - lo)
		return (loadfile_error(lf, ENOMEM, "initrd too large for "
		    "guest memory (%llu bytes, %llu available below 0x%llx)",
		    (unsigned long long)size,
		    (unsigned long long)(hi > lo ? hi - lo : 0),
		    (unsigned long long)hi));
	addr = (hi - size) & ~0xfffULL;
	if (!vm_mem_is_ram(lf->lf_mem, addr, size))
		return (loadfile_error(lf, ENOMEM, "initrd too large for "
		    "guest memory (%llu bytes)", (unsigned long long)size));
	/* as it is: the kernel decompresses an initrd itself */
	dst = vm_mem_ptr(lf->lf_mem, addr, size);
	if (loadfile_read(lf->lf_initrd, 0, dst, size) == -1)
		return (loadfile_error(lf, EIO, "initrd: read: %s",
		    strerror(errno)));
	lf->lf_initrd_addr = addr;
	lf->lf_initrd_size = size;
	return (0);
}

/*
 * The boot GDT at GDT_PAGE.  Upstream's: 0x08 32-bit code, 0x10 data,
 * 0x18 64-bit code.  Linux's boot protocol: 0x10 code, 0x18 data.
 */
void
loadfile_gdt(struct loadfile *lf, int linux_layout)
{
	uint64_t	gdt[4];

	memset(gdt, 0, sizeof(gdt));
	if (linux_layout) {
		gdt[2] = 0x00af9b000000ffffULL;
		gdt[3] = 0x00cf93000000ffffULL;
	} else {
		gdt[1] = 0x00cf9b000000ffffULL;
		gdt[2] = 0x00cf93000000ffffULL;
		gdt[3] = 0x00af9b000000ffffULL;
	}
	vm_mem_write(lf->lf_mem, GDT_PAGE, gdt, sizeof(gdt));
}

/* Identity map of the first 4 GiB with 2 MiB pages. */
void
loadfile_pagetables(struct loadfile *lf)
{
	uint64_t	pt[512];
	unsigned int	i, j;

	memset(pt, 0, sizeof(pt));
	pt[0] = PML3_PAGE | PG_P | PG_RW | PG_U;
	vm_mem_write(lf->lf_mem, PML4_PAGE, pt, sizeof(pt));

	memset(pt, 0, sizeof(pt));
	for (i = 0; i < 4; i++)
		pt[i] = (PML2_PAGE + i * 0x1000) | PG_P | PG_RW | PG_U;
	vm_mem_write(lf->lf_mem, PML3_PAGE, pt, sizeof(pt));

	for (j = 0; j < 4; j++) {
		for (i = 0; i < 512; i++)
			pt[i] = (GB(j) + MB(2) * i) | PG_P | PG_RW | PG_U |
			    PG_PS;
		vm_mem_write(lf->lf_mem, PML2_PAGE + j * 0x1000, pt,
		    sizeof(pt));
	}
}

static void
seg_set(struct vmm_seg *s, uint16_t sel, uint32_t limit, uint16_t ar,
    uint64_t base)
{
	s->sel = sel;
	s->limit = limit;
	s->ar = ar;
	s->base = base;
}

/* upstream's vcpu_init_flat64, with CS 32-bit (OpenBSD) or 64-bit */
static void
regs_flat64(struct vmm_regs *r, int code64)
{
	memset(r, 0, sizeof(*r));
	r->gpr[VMM_RFLAGS] = 0x2;
	r->cr0 = CR0_ET | CR0_PE | CR0_PG;
	r->cr3 = PML4_PAGE;
	r->cr4 = CR4_PAE | CR4_PSE;
	r->efer = EFER_LME | EFER_LMA;
	if (code64)
		seg_set(&r->cs, 0x18, 0xffffffff, 0xa09b, 0);
	else
		seg_set(&r->cs, 0x08, 0xffffffff, 0xc09b, 0);
	seg_set(&r->ds, 0x10, 0xffffffff, 0xc093, 0);
	r->es = r->fs = r->gs = r->ss = r->ds;
	r->gdtr.base = GDT_PAGE;
	r->gdtr.limit = 0xffff;
	r->idtr.limit = 0xffff;
	seg_set(&r->ldtr, 0, 0xffff, 0x0082, 0);
	seg_set(&r->tr, 0, 0xffff, 0x008b, 0);
}

/*
 * An i386 kernel starts as boot(8) starts it: 32-bit protected mode,
 * flat segments, paging off.  Upstream turns paging on, with the first
 * 4 GiB identity-mapped in 4 MiB pages, because VT-x without
 * "unrestricted guest" runs no unpaged protected mode; KVM needs no such
 * thing, and not every KVM runs 32-bit paging (kvm-pvm does not).
 */
static void
regs_flat32(struct vmm_regs *r)
{
	regs_flat64(r, 0);
	r->cr0 = CR0_PE | CR0_ET;
	r->cr3 = 0;
	r->cr4 = 0;
	r->efer = 0;
}

static int
elf_read_notes(struct loadfile *lf, struct elf_image *ei, const Elf64_Phdr *ph)
{
	uint8_t		*buf;
	uint64_t	 off, len = ph->p_filesz;
	uint32_t	 namesz, descsz, type;
	uint64_t	 desc;

	if (len < 12)
		return (0);
	if (len > ELF_MAX_NOTES || ph->p_offset > ei->fsize ||
	    len > ei->fsize - ph->p_offset)
		return (loadfile_error(lf, ENOEXEC, "kernel: note segment "
		    "beyond the end of the file"));
	if ((buf = malloc(len)) == NULL)
		return (loadfile_error(lf, ENOMEM, "kernel: %s",
		    strerror(errno)));
	if (loadfile_kread(lf, ph->p_offset, buf, len) == -1) {
		free(buf);
		return (loadfile_error(lf, EIO, "kernel: read: %s",
		    strerror(errno)));
	}
	/* a note's padded descriptor may end past the segment: off > len */
	for (off = 0; off <= len && len - off >= 12; ) {
		memcpy(&namesz, buf + off, 4);
		memcpy(&descsz, buf + off + 4, 4);
		memcpy(&type, buf + off + 8, 4);
		off += 12;
		if (namesz > len - off)
			break;
		if (namesz == 4 && type == XEN_ELFNOTE_PHYS32_ENTRY &&
		    memcmp(buf + off, "Xen", 4) == 0) {
			off += 4;
			if ((descsz != 4 && descsz != 8) ||
			    descsz > len - off) {
				free(buf);
				return (loadfile_error(lf, ENOEXEC, "kernel: "
				    "malformed Xen PVH entry note"));
			}
			desc = 0;
			memcpy(&desc, buf + off, descsz);
			ei->pvh_entry = desc;
			ei->has_pvh = 1;
			break;
		}
		off += (namesz + 3) & ~3U;
		if (off > len || descsz > len - off)
			break;
		off += (descsz + 3) & ~3U;
	}
	free(buf);
	return (0);
}

/* Is [gpa, gpa + len) clear of the pages the boot paths write? */
static int
elf_clear_of_boot_data(uint64_t gpa, uint64_t len)
{
	if (gpa < BOOT_AREA_END && gpa + len > BOOT_AREA_START)
		return (0);
	if (gpa < ACPI_AREA_END && gpa + len > ACPI_AREA_START)
		return (0);
	return (1);
}

/* The ELF header in its ELF64 form, whatever the file's class. */
static void
elf_ehdr_widen(struct elf_image *ei)
{
	Elf32_Ehdr	e32;

	if (!ei->is32) {
		memcpy(&ei->eh, ei->hdr, sizeof(ei->eh));
		return;
	}
	memcpy(&e32, ei->hdr, sizeof(e32));
	memset(&ei->eh, 0, sizeof(ei->eh));
	memcpy(ei->eh.e_ident, e32.e_ident, EI_NIDENT);
	ei->eh.e_type = e32.e_type;
	ei->eh.e_machine = e32.e_machine;
	ei->eh.e_version = e32.e_version;
	ei->eh.e_entry = e32.e_entry;
	ei->eh.e_phoff = e32.e_phoff;
	ei->eh.e_shoff = e32.e_shoff;
	ei->eh.e_flags = e32.e_flags;
	ei->eh.e_ehsize = e32.e_ehsize;
	ei->eh.e_phentsize = e32.e_phentsize;
	ei->eh.e_phnum = e32.e_phnum;
	ei->eh.e_shentsize = e32.e_shentsize;
	ei->eh.e_shnum = e32.e_shnum;
	ei->eh.e_shstrndx = e32.e_shstrndx;
}

/* The program headers, read and, for ELF32, widened in place. */
static int
elf_phdrs_read(struct loadfile *lf, struct elf_image *ei, uint64_t phlen)
{
	const Elf64_Ehdr	*eh = &ei->eh;
	Elf32_Phdr		 p32;
	Elf64_Phdr		*ph;
	int			 i;

	if ((ei->ph = calloc(eh->e_phnum, sizeof(Elf64_Phdr))) == NULL)
		return (loadfile_error(lf, ENOMEM, "kernel: %s",
		    strerror(errno)));
	if (loadfile_kread(lf, eh->e_phoff, ei->ph, phlen) == -1)
		return (loadfile_error(lf, EIO, "kernel: read: %s",
		    strerror(errno)));
	if (!ei->is32)
		return (0);
	/* from the last: the wider entries never overwrite one unread */
	for (i = eh->e_phnum - 1; i >= 0; i--) {
		memcpy(&p32, (uint8_t *)ei->ph + i * sizeof(p32), sizeof(p32));
		ph = &ei->ph[i];
		ph->p_type = p32.p_type;
		ph->p_flags = p32.p_flags;
		ph->p_offset = p32.p_offset;
		ph->p_vaddr = p32.p_vaddr;
		ph->p_paddr = p32.p_paddr;
		ph->p_filesz = p32.p_filesz;
		ph->p_memsz = p32.p_memsz;
		ph->p_align = p32.p_align;
	}
	return (0);
}

static int
elf_check(struct loadfile *lf, struct elf_image *ei, const uint8_t *hdr,
    size_t hdrlen)
{
	const Elf64_Ehdr	*eh = &ei->eh;
	const Elf64_Phdr	*ph;
	uint64_t		 phlen;
	size_t			 ehsize, phsize;
	unsigned int		 i, nload = 0, machine;
	int			 ret;

	ei->hdr = hdr;
	ei->is32 = hdrlen > EI_CLASS && hdr[EI_CLASS] == ELFCLASS32;
	ehsize = ei->is32 ? sizeof(Elf32_Ehdr) : sizeof(Elf64_Ehdr);
	phsize = ei->is32 ? sizeof(Elf32_Phdr) : sizeof(Elf64_Phdr);
	machine = ei->is32 ? EM_386 : EM_X86_64;
	if (hdrlen < ehsize || ei->fsize < ehsize)
		return (loadfile_error(lf, ENOEXEC,
		    "kernel: truncated ELF header"));
	if ((hdr[EI_CLASS] != ELFCLASS64 && hdr[EI_CLASS] != ELFCLASS32) ||
	    hdr[EI_DATA] != ELFDATA2LSB)
		return (loadfile_error(lf, ENOEXEC,
		    "kernel: not a little-endian ELF32 or ELF64 file"));
	elf_ehdr_widen(ei);
	if (eh->e_machine != machine)
		return (loadfile_error(lf, ENOEXEC,
		    "kernel: ELF machine %u is not %s", eh->e_machine,
		    ei->is32 ? "i386" : "x86-64"));
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return (loadfile_error(lf, ENOEXEC,
		    "kernel: ELF file is not an executable"));
	if (eh->e_phentsize != phsize)
		return (loadfile_error(lf, ENOEXEC,
		    "kernel: bad ELF program header size %u",
		    eh->e_phentsize));
	if (eh->e_phnum == 0 || eh->e_phnum > ELF_MAX_PHNUM)
		return (loadfile_error(lf, ENOEXEC,
		    "kernel: bad ELF program header count %u", eh->e_phnum));
	phlen = (uint64_t)eh->e_phnum * phsize;
	if (eh->e_phoff > ei->fsize || phlen > ei->fsize - eh->e_phoff)
		return (loadfile_error(lf, ENOEXEC, "kernel: ELF program "
		    "headers beyond the end of the file"));
	if ((ret = elf_phdrs_read(lf, ei, phlen)) != 0)
		return (ret);

	ei->minp = UINT64_MAX;
	ei->maxp = 0;
	for (i = 0; i < eh->e_phnum; i++) {
		ph = &ei->ph[i];
		switch (ph->p_type) {
		case PT_LOAD:
			if (ph->p_filesz > ph->p_memsz)
				return (loadfile_error(lf, ENOEXEC, "kernel: "
				    "segment %u: file size above memory size",
				    i));
			if (ph->p_offset > ei->fsize ||
			    ph->p_filesz > ei->fsize - ph->p_offset)
				return (loadfile_error(lf, ENOEXEC, "kernel: "
				    "segment %u is beyond the end of the file",
				    i));
			if (ph->p_memsz == 0)
				break;
			if (vm_mem_ptr(lf->lf_mem, ph->p_paddr,
			    ph->p_memsz) == NULL)
				return (loadfile_error(lf, ENOMEM, "kernel: "
				    "segment %u (0x%llx bytes at 0x%llx) is "
				    "beyond guest memory", i,
				    (unsigned long long)ph->p_memsz,
				    (unsigned long long)ph->p_paddr));
			if (!elf_clear_of_boot_data(ph->p_paddr, ph->p_memsz))
				return (loadfile_error(lf, EINVAL, "kernel: "
				    "segment %u at 0x%llx overlaps the boot "
				    "data vmd places in low memory", i,
				    (unsigned long long)ph->p_paddr));
			ei->minp = MINIMUM(ei->minp, ph->p_paddr);
			ei->maxp = MAXIMUM(ei->maxp, ph->p_paddr + ph->p_memsz);
			nload++;
			break;
		case PT_OPENBSD_RANDOMIZE_:
			if (vm_mem_ptr(lf->lf_mem, ph->p_paddr,
			    ph->p_filesz) == NULL)
				return (loadfile_error(lf, ENOMEM, "kernel: "
				    "random data segment %u is beyond guest "
				    "memory", i));
			ei->openbsd = 1;
			break;
		case PT_NOTE:
			if (!ei->has_pvh &&
			    (ret = elf_read_notes(lf, ei, ph)) != 0)
				return (ret);
			break;
		}
	}
	if (nload == 0)
		return (loadfile_error(lf, ENOEXEC,
		    "kernel: no loadable ELF segments"));
	if (hdr[EI_OSABI] == ELFOSABI_OPENBSD_ ||
	    (eh->e_entry & ~ELF_LOADADDR_MASK) != 0)
		ei->openbsd = 1;
	return (0);
}

static int
elf_load_segments(struct loadfile *lf, struct elf_image *ei)
{
	const Elf64_Phdr	*ph;
	uint8_t			*p;
	unsigned int		 i;
	int			 ret;

	for (i = 0; i < ei->eh.e_phnum; i++) {
		ph = &ei->ph[i];
		if (ph->p_type == PT_OPENBSD_RANDOMIZE_) {
			p = vm_mem_ptr(lf->lf_mem, ph->p_paddr, ph->p_filesz);
			arc4random_buf(p, ph->p_filesz);
			continue;
		}
		if (ph->p_type != PT_LOAD || ph->p_memsz == 0)
			continue;
		if ((ret = loadfile_copy(lf, ph->p_offset, ph->p_paddr,
		    ph->p_filesz, "kernel")) != 0)
			return (ret);
		p = vm_mem_ptr(lf->lf_mem, ph->p_paddr, ph->p_memsz);
		memset(p + ph->p_filesz, 0, ph->p_memsz - ph->p_filesz);
	}
	return (0);
}

/* Section header i of raw (the file's class) as an Elf64_Shdr. */
static void
elf_shdr_get(const struct elf_image *ei, const uint8_t *raw, unsigned int i,
    Elf64_Shdr *sh)
{
	Elf32_Shdr	s32;

	if (!ei->is32) {
		memcpy(sh, raw + i * sizeof(*sh), sizeof(*sh));
		return;
	}
	memcpy(&s32, raw + i * sizeof(s32), sizeof(s32));
	memset(sh, 0, sizeof(*sh));
	sh->sh_name = s32.sh_name;
	sh->sh_type = s32.sh_type;
	sh->sh_flags = s32.sh_flags;
	sh->sh_addr = s32.sh_addr;
	sh->sh_offset = s32.sh_offset;
	sh->sh_size = s32.sh_size;
	sh->sh_link = s32.sh_link;
	sh->sh_info = s32.sh_info;
	sh->sh_addralign = s32.sh_addralign;
	sh->sh_entsize = s32.sh_entsize;
}

/* Its offset and flags back into raw (they fit: all is below 4 GiB). */
static void
elf_shdr_put(const struct elf_image *ei, uint8_t *raw, unsigned int i,
    const Elf64_Shdr *sh)
{
	Elf32_Shdr	s32;

	if (!ei->is32) {
		memcpy(raw + i * sizeof(*sh), sh, sizeof(*sh));
		return;
	}
	memcpy(&s32, raw + i * sizeof(s32), sizeof(s32));
	s32.sh_offset = (Elf32_Off)sh->sh_offset;
	s32.sh_flags = (Elf32_Word)sh->sh_flags;
	memcpy(raw + i * sizeof(s32), &s32, sizeof(s32));
}

/* The ELF header that goes before the symbols: no program headers. */
static void
elf_symhdr_write(struct loadfile *lf, const struct elf_image *ei,
    uint64_t gpa)
{
	Elf64_Ehdr	e64;
	Elf32_Ehdr	e32;

	if (ei->is32) {
		memcpy(&e32, ei->hdr, sizeof(e32));
		e32.e_phoff = 0;
		e32.e_shoff = sizeof(e32);
		e32.e_phentsize = 0;
		e32.e_phnum = 0;
		vm_mem_write(lf->lf_mem, gpa, &e32, sizeof(e32));
		return;
	}
	e64 = ei->eh;
	e64.e_phoff = 0;
	e64.e_shoff = sizeof(e64);
	e64.e_phentsize = 0;
	e64.e_phnum = 0;
	vm_mem_write(lf->lf_mem, gpa, &e64, sizeof(e64));
}

/*
 * As upstream's loader: the ELF header, the section headers and the
 * symbol and string tables follow the kernel, so that ddb has symbols,
 * in the file's own class, aligned to its address size; returns the new
 * end of the image.  Anything odd: no symbols.
 */
static uint64_t
elf_load_symbols(struct loadfile *lf, struct elf_image *ei)
{
	const Elf64_Ehdr	*eh = &ei->eh;
	Elf64_Shdr		*sh = NULL;
	uint8_t			*raw = NULL;
	uint64_t		 a, elfp, shpp, maxp, shlen, off, total;
	size_t			 ehsize, shsize;
	unsigned int		 i;
	int			 havesyms = 0;

	a = ei->is32 ? 4 : 8;
	ehsize = ei->is32 ? sizeof(Elf32_Ehdr) : sizeof(Elf64_Ehdr);
	shsize = ei->is32 ? sizeof(Elf32_Shdr) : sizeof(Elf64_Shdr);
	elfp = (ei->maxp + a - 1) & ~(a - 1);
	if (eh->e_shnum == 0 || eh->e_shnum > ELF_MAX_SHNUM ||
	    eh->e_shentsize != shsize)
		return (ei->maxp);
	shlen = (uint64_t)eh->e_shnum * shsize;
	if (eh->e_shoff > ei->fsize || shlen > ei->fsize - eh->e_shoff)
		return (ei->maxp);
	if ((raw = malloc(shlen)) == NULL ||
	    (sh = calloc(eh->e_shnum, sizeof(*sh))) == NULL)
		goto none;
	if (loadfile_kread(lf, eh->e_shoff, raw, shlen) == -1)
		goto none;
	for (i = 0; i < eh->e_shnum; i++)
		elf_shdr_get(ei, raw, i, &sh[i]);

	/* check everything first: then nothing can fail halfway */
	total = ehsize + ((shlen + a - 1) & ~(a - 1));
	for (i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type == SHT_SYMTAB)
			havesyms = 1;
		if (sh[i].sh_type != SHT_SYMTAB &&
		    sh[i].sh_type != SHT_STRTAB)
			continue;
		if (sh[i].sh_offset > ei->fsize ||
		    sh[i].sh_size > ei->fsize - sh[i].sh_offset)
			goto none;
		total += (sh[i].sh_size + a - 1) & ~(a - 1);
	}
	if (!havesyms || vm_mem_ptr(lf->lf_mem, elfp, total) == NULL ||
	    !elf_clear_of_boot_data(elfp, total))
		goto none;

	shpp = elfp + ehsize;
	maxp = shpp + ((shlen + a - 1) & ~(a - 1));
	off = maxp - elfp;
	for (i = 0; i < eh->e_shnum; i++) {
		if (sh[i].sh_type != SHT_SYMTAB &&
		    sh[i].sh_type != SHT_STRTAB)
			continue;
		if (loadfile_copy(lf, sh[i].sh_offset, maxp, sh[i].sh_size,
		    "kernel") != 0)
			goto none;
		maxp += (sh[i].sh_size + a - 1) & ~(a - 1);
		sh[i].sh_offset = off;
		sh[i].sh_flags |= SHF_ALLOC;
		elf_shdr_put(ei, raw, i, &sh[i]);
		off += (sh[i].sh_size + a - 1) & ~(a - 1);
	}
	vm_mem_write(lf->lf_mem, shpp, raw, shlen);
	elf_symhdr_write(lf, ei, elfp);
	free(raw);
	free(sh);
	lf->lf_err[0] = '\0';
	return (maxp);
 none:
	free(raw);
	free(sh);
	lf->lf_err[0] = '\0';
	return (ei->maxp);
}

/* upstream's boot arguments page: memory map, console, boot MAC */
static uint32_t
elf_push_bootargs(struct loadfile *lf)
{
	const struct vm_mem	*mem = lf->lf_mem;
	struct bios_memmap	 mm[VM_MAX_MEM_RANGES + 1];
	struct bios_consdev	 cd;
	uint32_t		 ba[1024], sz;
	unsigned int		 i, n = 0, w;

	memset(ba, 0, sizeof(ba));
	memset(mm, 0, sizeof(mm));
	for (i = 0; i < mem->nranges; i++, n++) {
		mm[n].addr = mem->ranges[i].vmr_gpa;
		mm[n].size = mem->ranges[i].vmr_size;
		mm[n].type = mem->ranges[i].vmr_type == VM_MEM_RAM ?
		    BIOS_MAP_FREE : BIOS_MAP_RES;
	}
	mm[n].type = BIOS_MAP_END;
	n++;

	sz = 3 * sizeof(uint32_t) + n * sizeof(struct bios_memmap);
	ba[0] = BOOTARG_MEMMAP;
	ba[1] = sz;
	ba[2] = sz;
	memcpy(&ba[3], mm, n * sizeof(struct bios_memmap));
	w = sz / sizeof(uint32_t);

	memset(&cd, 0, sizeof(cd));
	cd.consdev = OPENBSD_COM0;
	cd.conspeed = 115200;
	cd.consaddr = 0x3f8;
	sz = 3 * sizeof(uint32_t) + sizeof(cd);
	ba[w] = BOOTARG_CONSDEV;
	ba[w + 1] = sz;
	ba[w + 2] = sz;
	memcpy(&ba[w + 3], &cd, sizeof(cd));
	w += sz / sizeof(uint32_t);

	if (lf->lf_bootmac != NULL) {
		sz = 3 * sizeof(uint32_t) + 8;	/* 6-byte MAC, padded */
		ba[w] = BOOTARG_BOOTMAC;
		ba[w + 1] = sz;
		ba[w + 2] = sz;
		memcpy(&ba[w + 3], lf->lf_bootmac, 6);
		w += sz / sizeof(uint32_t);
	}

	ba[w++] = BOOTARG_END;
	vm_mem_write(mem, BOOTARGS_PAGE, ba, sizeof(ba));
	return (w * sizeof(uint32_t));
}

/*
 * upstream's boot stack: a 32-bit call frame to the kernel entry,
 * returning the stack pointer.
 */
static uint64_t
elf_push_stack(struct loadfile *lf, uint32_t bootargsz, uint32_t end)
{
	uint32_t	stack[1024];
	unsigned int	loc = 1024;

	memset(stack, 0, sizeof(stack));
	stack[--loc] = BOOTARGS_PAGE;
	stack[--loc] = bootargsz;
	stack[--loc] = 0;		/* biosbasemem */
	stack[--loc] = 0;		/* biosextmem */
	stack[--loc] = end;
	stack[--loc] = BOOTARG_APIVER;
	stack[--loc] = OPENBSD_BOOTDEV_SD0A;
	stack[--loc] = 0;		/* howto */
	vm_mem_write(lf->lf_mem, STACK_PAGE, stack, sizeof(stack));
	return (STACK_PAGE + sizeof(stack) -
	    (1024 - (loc - 1)) * sizeof(uint32_t));
}

static int
elf_boot_pvh(struct loadfile *lf, struct elf_image *ei)
{
	struct hvm_start_info		 si;
	struct hvm_modlist_entry	 mod;
	struct hvm_memmap_table_entry	 mm[E820_MAX];
	struct e820_entry		 e[E820_MAX];
	struct vmm_regs			*r = &lf->lf_regs;
	unsigned int			 i, n;
	int				 ret;

	if (ei->pvh_entry >= GB(4) ||
	    ei->pvh_entry < ei->minp || ei->pvh_entry >= ei->maxp)
		return (loadfile_error(lf, ENOEXEC, "kernel: PVH entry point "
		    "0x%llx is outside the loaded segments",
		    (unsigned long long)ei->pvh_entry));
	if ((ret = loadfile_initrd(lf, ei->maxp, GB(4))) != 0)
		return (ret);

	n = loadfile_e820(lf->lf_mem, e, E820_MAX);
	memset(mm, 0, sizeof(mm));
	for (i = 0; i < n; i++) {
		mm[i].addr = e[i].addr;
		mm[i].size = e[i].size;
		mm[i].type = e[i].type;
	}
	vm_mem_write(lf->lf_mem, PVH_MEMMAP, mm, n * sizeof(mm[0]));

	memset(&si, 0, sizeof(si));
	si.magic = HVM_START_MAGIC;
	si.version = 1;
	si.cmdline_paddr = CMDLINE_ADDR;
	si.rsdp_paddr = lf->lf_rsdp;
	si.memmap_paddr = PVH_MEMMAP;
	si.memmap_entries = n;
	if (lf->lf_initrd_size != 0) {
		memset(&mod, 0, sizeof(mod));
		mod.paddr = lf->lf_initrd_addr;
		mod.size = lf->lf_initrd_size;
		vm_mem_write(lf->lf_mem, PVH_MODLIST, &mod, sizeof(mod));
		si.nr_modules = 1;
		si.modlist_paddr = PVH_MODLIST;
	}
	vm_mem_write(lf->lf_mem, PVH_INFO_PAGE, &si, sizeof(si));

	/* 32-bit protected mode, flat, paging off */
	loadfile_gdt(lf, 0);
	memset(r, 0, sizeof(*r));
	r->gpr[VMM_RFLAGS] = 0x2;
	r->gpr[VMM_RIP] = ei->pvh_entry;
	r->gpr[VMM_RBX] = PVH_INFO_PAGE;
	r->cr0 = CR0_PE | CR0_ET;
	seg_set(&r->cs, 0x08, 0xffffffff, 0xc09b, 0);
	seg_set(&r->ds, 0x10, 0xffffffff, 0xc093, 0);
	r->es = r->fs = r->gs = r->ss = r->ds;
	seg_set(&r->ldtr, 0, 0xffff, 0x0082, 0);
	seg_set(&r->tr, 0, 0x67, 0x008b, 0);
	r->gdtr.base = GDT_PAGE;
	r->gdtr.limit = 4 * 8 - 1;
	lf->lf_kind = LOADFILE_ELF_PVH;
	return (0);
}

static int
elf_boot_openbsd(struct loadfile *lf, struct elf_image *ei)
{
	struct vmm_regs	*r = &lf->lf_regs;
	uint64_t	 entry, end;
	uint32_t	 bootargsz;
	unsigned int	 i;
	int		 ret, inside = 0;

	/* OpenBSD kernels link high and load low: upstream's LOADADDR() */
	entry = ei->openbsd ? (ei->eh.e_entry & ELF_LOADADDR_MASK) :
	    ei->eh.e_entry;
	for (i = 0; i < ei->eh.e_phnum; i++)
		if (ei->ph[i].p_type == PT_LOAD &&
		    entry >= ei->ph[i].p_paddr &&
		    entry - ei->ph[i].p_paddr < ei->ph[i].p_memsz)
			inside = 1;
	if (!inside)
		return (loadfile_error(lf, ENOEXEC, "kernel: entry point "
		    "0x%llx is outside the loaded segments",
		    (unsigned long long)ei->eh.e_entry));

	end = ei->openbsd ? elf_load_symbols(lf, ei) : ei->maxp;
	if ((ret = loadfile_initrd(lf, end, GB(4))) != 0)
		return (ret);
	if ((ret = loadfile_zeropage(lf, NULL, 0)) != 0)
		return (ret);

	loadfile_gdt(lf, 0);
	bootargsz = elf_push_bootargs(lf);
	if (ei->is32) {
		regs_flat32(r);
	} else {
		loadfile_pagetables(lf);
		regs_flat64(r, !ei->openbsd);
	}
	r->gpr[VMM_RIP] = entry;
	r->gpr[VMM_RSP] = elf_push_stack(lf, bootargsz,
	    (uint32_t)(end & ELF_LOADADDR_MASK));
	r->gpr[VMM_RSI] = ZERO_PAGE;
	lf->lf_kend = end;
	lf->lf_kind = LOADFILE_ELF;
	return (0);
}

int
loadfile_elf(struct loadfile *lf, const uint8_t *hdr, size_t hdrlen,
    uint64_t fsize)
{
	struct elf_image	ei;
	int			ret;

	memset(&ei, 0, sizeof(ei));
	ei.fsize = fsize;
	if ((ret = elf_check(lf, &ei, hdr, hdrlen)) != 0)
		goto done;
	if ((ret = elf_load_segments(lf, &ei)) != 0)
		goto done;
	lf->lf_kstart = ei.minp;
	lf->lf_kend = ei.maxp;
	if (ei.has_pvh)
		ret = elf_boot_pvh(lf, &ei);
	else
		ret = elf_boot_openbsd(lf, &ei);
 done:
	free(ei.ph);
	return (ret);
}

/*
 * Anything else is a BIOS image: it ends at 4 GiB, and its top also ends
 * at 1 MiB, where the vCPU starts in real mode at F000:FFF0.
 */
int
loadfile_bios(struct loadfile *lf, uint64_t fsize)
{
	struct vmm_regs	*r = &lf->lf_regs;
	uint64_t	 low;
	int		 ret;

	if (fsize < BIOS_MIN_SIZE)
		return (loadfile_error(lf, ENOEXEC, "kernel: not an ELF or "
		    "bzImage file, and too small for a BIOS image"));
	if (fsize > BIOS_MAX_SIZE)
		return (loadfile_error(lf, ENOEXEC, "kernel: not an ELF or "
		    "bzImage file, and too large for a BIOS image (%llu "
		    "bytes, at most 4 MiB)", (unsigned long long)fsize));
	if (lf->lf_initrd != -1)
		return (loadfile_error(lf, EINVAL, "initrd: cannot be used "
		    "with a BIOS image"));
	if ((ret = loadfile_copy(lf, 0, GB(4) - fsize, fsize,
	    "BIOS image")) != 0)
		return (ret);
	low = MINIMUM(fsize, BIOS_LOW_MAX);
	if ((ret = loadfile_copy(lf, fsize - low, MB(1) - low, low,
	    "BIOS image")) != 0)
		return (ret);

	memset(r, 0, sizeof(*r));
	r->gpr[VMM_RFLAGS] = 0x2;
	r->gpr[VMM_RIP] = 0xfff0;
	r->cr0 = 0x60000010;
	seg_set(&r->cs, 0xf000, 0xffff, 0x009b, 0xf0000);
	seg_set(&r->ds, 0, 0xffff, 0x0093, 0);
	r->es = r->fs = r->gs = r->ss = r->ds;
	seg_set(&r->ldtr, 0, 0xffff, 0x0082, 0);
	seg_set(&r->tr, 0, 0xffff, 0x008b, 0);
	r->gdtr.limit = 0xffff;
	r->idtr.limit = 0xffff;
	lf->lf_kstart = GB(4) - fsize;
	lf->lf_kend = GB(4);
	lf->lf_kind = LOADFILE_BIOS;
	return (0);
}

/* What the image is, by its first bytes; it is fsize bytes long. */
static int
loadfile_dispatch(struct loadfile *lf, const uint8_t *hdr, size_t hdrlen,
    uint64_t fsize)
{
	if (hdrlen >= SELFMAG && memcmp(hdr, ELFMAG, SELFMAG) == 0)
		return (loadfile_elf(lf, hdr, hdrlen, fsize));
	if (loadfile_is_bzimage(hdr, hdrlen))
		return (loadfile_bzimage(lf, hdr, hdrlen, fsize));
	return (loadfile_bios(lf, fsize));
}

int
loadfile(struct loadfile *lf)
{
	struct stat	st;
	uint8_t		hdr[4096];
	size_t		hdrlen;
	uint64_t	fsize;
	int		ret;

	lf->lf_kind = LOADFILE_NONE;
	lf->lf_err[0] = '\0';
	memset(&lf->lf_regs, 0, sizeof(lf->lf_regs));
	lf->lf_initrd_addr = lf->lf_initrd_size = 0;
	lf->lf_gzip = 0;
	lf->lf_kbuf = NULL;
	lf->lf_ksize = 0;
	if (lf->lf_kernel == -1)
		return (loadfile_error(lf, VMD_BIOS_MISSING,
		    "kernel: no boot image (BIOS) given"));
	if (fstat(lf->lf_kernel, &st) == -1)
		return (loadfile_error(lf, errno, "kernel: %s",
		    strerror(errno)));
	if (!S_ISREG(st.st_mode))
		return (loadfile_error(lf, EINVAL,
		    "kernel: not a regular file"));
	if (st.st_size == 0)
		return (loadfile_error(lf, ENOEXEC, "kernel: empty file"));
	if (lf->lf_cmdline != NULL &&
	    strlen(lf->lf_cmdline) >= CMDLINE_MAX)
		return (loadfile_error(lf, EINVAL, "kernel: command line "
		    "too long"));
	fsize = st.st_size;
	hdrlen = MINIMUM(fsize, sizeof(hdr));
	memset(hdr, 0, sizeof(hdr));
	if (loadfile_read(lf->lf_kernel, 0, hdr, hdrlen) == -1)
		return (loadfile_error(lf, EIO, "kernel: read: %s",
		    strerror(errno)));

	/* gzip: the loaders see what it decompresses to */
	if (loadfile_is_gzip(hdr, hdrlen)) {
		if ((ret = loadfile_gunzip(lf, fsize)) != 0)
			goto done;
		if (lf->lf_ksize == 0) {
			ret = loadfile_error(lf, ENOEXEC, "kernel: the gzip "
			    "stream holds no data");
			goto done;
		}
		fsize = lf->lf_ksize;
		hdrlen = MINIMUM(fsize, sizeof(hdr));
		memset(hdr, 0, sizeof(hdr));
		memcpy(hdr, lf->lf_kbuf, hdrlen);
	}
	if ((ret = loadfile_dispatch(lf, hdr, hdrlen, fsize)) != 0)
		goto done;

	/* the command line, for every direct kernel boot */
	if (lf->lf_kind != LOADFILE_BIOS)
		vm_mem_write(lf->lf_mem, CMDLINE_ADDR, lf->lf_cmdline ?
		    lf->lf_cmdline : "", lf->lf_cmdline ?
		    strlen(lf->lf_cmdline) + 1 : 1);
 done:
	if (ret != 0)
		lf->lf_kind = LOADFILE_NONE;
	free(lf->lf_kbuf);
	lf->lf_kbuf = NULL;
	lf->lf_ksize = 0;
	return (ret);
}
