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
 * Unit tests of the boot image loaders on guest memory made of plain
 * malloc'd buffers (no KVM): bad images are refused with a clear message,
 * good ones land where they should with the boot structures filled in,
 * ELF64, ELF32, bzImage and BIOS images alike, and gzip-compressed ones
 * as well as plain.  TAP-style output.
 */

#include <sys/types.h>
#include <sys/stat.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "loadfile.h"
#include "tap.h"

#define TEST_MEM	MB(64)
#define KBASE		0x200000ULL

static char	tmpdir[] = "/tmp/t_loadfile.XXXXXX";
static int	ntmp;



/* guest memory for a VM of memsize bytes, every slot filled with 0xaa */
static void
mem_make(struct vm_mem *mem, uint64_t memsize)
{
	unsigned int	i;

	if (create_memory_map(mem, memsize) == -1) {
		perror("create_memory_map");
		exit(1);
	}
	for (i = 0; i < mem->nslots; i++) {
		if ((mem->slots[i].hva = malloc(mem->slots[i].size)) == NULL) {
			perror("malloc");
			exit(1);
		}
		memset(mem->slots[i].hva, 0xaa, mem->slots[i].size);
	}
}

static void
mem_free(struct vm_mem *mem)
{
	unsigned int	i;

	for (i = 0; i < mem->nslots; i++)
		free(mem->slots[i].hva);
	memset(mem, 0, sizeof(*mem));
}

static void *
gp(struct vm_mem *mem, uint64_t gpa, uint64_t len)
{
	void	*p = vm_mem_ptr(mem, gpa, len);

	if (p == NULL) {
		printf("not ok - guest address 0x%llx unbacked\n",
		    (unsigned long long)gpa);
		exit(1);
	}
	return (p);
}

static uint32_t
g32(struct vm_mem *mem, uint64_t gpa)
{
	uint32_t	v;

	memcpy(&v, gp(mem, gpa, 4), 4);
	return (v);
}

static uint64_t
g64(struct vm_mem *mem, uint64_t gpa)
{
	uint64_t	v;

	memcpy(&v, gp(mem, gpa, 8), 8);
	return (v);
}

/* a file of size bytes starting with these, opened read-only */
static int
tmp_fd(const void *buf, size_t len, uint64_t size)
{
	char	path[128];
	int	fd;

	snprintf(path, sizeof(path), "%s/f%d", tmpdir, ntmp++);
	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) == -1 ||
	    (len > 0 && write(fd, buf, len) != (ssize_t)len) ||
	    (size > len && ftruncate(fd, size) == -1)) {
		perror(path);
		exit(1);
	}
	close(fd);
	if ((fd = open(path, O_RDONLY)) == -1) {
		perror(path);
		exit(1);
	}
	return (fd);
}

static int
file_fd(const void *buf, size_t len)
{
	return (tmp_fd(buf, len, len));
}

/* a sparse file of size bytes */
static int
sparse_fd(uint64_t size)
{
	return (tmp_fd(NULL, 0, size));
}

static int
run(struct loadfile *lf, struct vm_mem *mem, int kfd, int ifd,
    const char *cmdline)
{
	int	ret;

	memset(lf, 0, sizeof(*lf));
	lf->lf_kernel = kfd;
	lf->lf_initrd = ifd;
	lf->lf_cmdline = cmdline;
	lf->lf_mem = mem;
	lf->lf_rsdp = 0xe0000;
	ret = loadfile(lf);
	if (kfd != -1)
		close(kfd);
	if (ifd != -1)
		close(ifd);
	return (ret);
}

/* expect failure with code and a message containing what */
static void
bad(const char *desc, int kfd, int ifd, uint64_t memsize, int code,
    const char *what)
{
	struct vm_mem	mem;
	struct loadfile	lf;
	int		ret;

	mem_make(&mem, memsize);
	ret = run(&lf, &mem, kfd, ifd, "console=ttyS0");
	check(ret == code && strstr(lf.lf_err, what) != NULL &&
	    lf.lf_kind == LOADFILE_NONE,
	    "%s: refused (%d, \"%s\")", desc, ret, lf.lf_err);
	mem_free(&mem);
}

/*
 * ELF images
 */

struct elf_spec {
	int		 nseg;
	uint64_t	 paddr[2];
	uint64_t	 filesz[2];
	uint64_t	 memsz[2];
	uint64_t	 entry;
	int		 pvh;		/* add a PVH PT_NOTE */
	uint32_t	 pvh_entry;
};

/* ehdr, phdrs, [note], then the segments' bytes (byte i = i & 0xff ^ s) */
static uint8_t *
elf_make(const struct elf_spec *es, size_t *lenp)
{
	Elf64_Ehdr	*eh;
	Elf64_Phdr	*ph;
	uint8_t		*buf;
	size_t		 len, off;
	int		 i, nph = es->nseg + (es->pvh ? 1 : 0);
	uint64_t	 j;
	uint32_t	 note[6];

	len = sizeof(*eh) + nph * sizeof(*ph) + sizeof(note);
	for (i = 0; i < es->nseg; i++)
		len += es->filesz[i];
	if ((buf = calloc(1, len)) == NULL)
		exit(1);
	eh = (Elf64_Ehdr *)buf;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_entry = es->entry;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = nph;
	ph = (Elf64_Phdr *)(buf + sizeof(*eh));
	off = sizeof(*eh) + nph * sizeof(*ph);
	if (es->pvh) {
		note[0] = 4;		/* namesz */
		note[1] = 4;		/* descsz */
		note[2] = 18;		/* XEN_ELFNOTE_PHYS32_ENTRY */
		memcpy(&note[3], "Xen", 4);
		note[4] = es->pvh_entry;
		ph[nph - 1].p_type = PT_NOTE;
		ph[nph - 1].p_offset = off;
		ph[nph - 1].p_filesz = 20;
		ph[nph - 1].p_align = 4;
		memcpy(buf + off, note, 20);
	}
	off += sizeof(note);
	for (i = 0; i < es->nseg; i++) {
		ph[i].p_type = PT_LOAD;
		ph[i].p_flags = PF_R | PF_X;
		ph[i].p_offset = off;
		ph[i].p_paddr = ph[i].p_vaddr = es->paddr[i];
		ph[i].p_filesz = es->filesz[i];
		ph[i].p_memsz = es->memsz[i];
		for (j = 0; j < es->filesz[i]; j++)
			buf[off + j] = (j & 0xff) ^ (0x5a + i);
		off += es->filesz[i];
	}
	*lenp = len;
	return (buf);
}

static int
elf_fd(const struct elf_spec *es)
{
	uint8_t	*buf;
	size_t	 len;
	int	 fd;

	buf = elf_make(es, &len);
	fd = file_fd(buf, len);
	free(buf);
	return (fd);
}

static struct elf_spec
elf_good(void)
{
	struct elf_spec	es;

	memset(&es, 0, sizeof(es));
	es.nseg = 2;
	es.paddr[0] = KBASE;
	es.filesz[0] = 0x3000;
	es.memsz[0] = 0x3000;
	es.paddr[1] = KBASE + 0x4000;
	es.filesz[1] = 0x800;
	es.memsz[1] = 0x2000;		/* with bss */
	es.entry = KBASE + 0x10;
	return (es);
}

static int
seg_ok(struct vm_mem *mem, const struct elf_spec *es, int i)
{
	uint8_t		*p = gp(mem, es->paddr[i], es->memsz[i]);
	uint64_t	 j;

	for (j = 0; j < es->filesz[i]; j++)
		if (p[j] != (uint8_t)((j & 0xff) ^ (0x5a + i)))
			return (0);
	for (; j < es->memsz[i]; j++)
		if (p[j] != 0)
			return (0);
	return (1);
}

static void
test_elf_bad(void)
{
	struct elf_spec	 es;
	uint8_t		*buf;
	size_t		 len;
	Elf64_Ehdr	*eh;
	Elf64_Phdr	*ph;
	int		 p[2];

	bad("no boot image", -1, -1, TEST_MEM, VMD_BIOS_MISSING, "no boot");
	bad("empty file", file_fd("", 0), -1, TEST_MEM, ENOEXEC, "empty");
	if (pipe(p) == -1)
		exit(1);
	close(p[1]);
	bad("pipe as kernel", p[0], -1, TEST_MEM, EINVAL,
	    "not a regular file");

	es = elf_good();
	buf = elf_make(&es, &len);
	eh = (Elf64_Ehdr *)buf;
	ph = (Elf64_Phdr *)(buf + eh->e_phoff);

	bad("truncated ELF header", file_fd(buf, 20), -1, TEST_MEM, ENOEXEC,
	    "truncated ELF header");
	bad("ELF with its program headers cut off", file_fd(buf, 100), -1,
	    TEST_MEM, ENOEXEC, "program headers beyond");

	eh->e_ident[EI_CLASS] = ELFCLASS32;
	bad("ELF32 for x86-64 (x32)", file_fd(buf, len), -1, TEST_MEM,
	    ENOEXEC, "not i386");
	eh->e_ident[EI_CLASS] = ELFCLASSNONE;
	bad("ELF of no class", file_fd(buf, len), -1, TEST_MEM, ENOEXEC,
	    "not a little-endian ELF32 or ELF64");
	eh->e_ident[EI_CLASS] = ELFCLASS64;

	eh->e_machine = EM_AARCH64;
	bad("ELF for another machine", file_fd(buf, len), -1, TEST_MEM,
	    ENOEXEC, "not x86-64");
	eh->e_machine = EM_X86_64;

	eh->e_phnum = 60000;
	bad("huge phnum", file_fd(buf, len), -1, TEST_MEM, ENOEXEC,
	    "program header count");
	eh->e_phnum = 0;
	bad("no program headers", file_fd(buf, len), -1, TEST_MEM, ENOEXEC,
	    "program header count");
	eh->e_phnum = 3;

	eh->e_phoff = (uint64_t)-8;
	bad("phoff beyond the file", file_fd(buf, len), -1, TEST_MEM,
	    ENOEXEC, "program headers beyond");
	eh->e_phoff = sizeof(*eh);

	ph[0].p_offset = len - 16;
	bad("PT_LOAD beyond the file", file_fd(buf, len), -1, TEST_MEM,
	    ENOEXEC, "beyond the end of the file");
	ph[0].p_offset = (uint64_t)-4096;
	bad("PT_LOAD offset wrapping around", file_fd(buf, len), -1,
	    TEST_MEM, ENOEXEC, "beyond the end of the file");
	ph[0].p_offset = sizeof(*eh) + 3 * sizeof(*ph) + 24;

	ph[0].p_filesz = ph[0].p_memsz + 1;
	bad("PT_LOAD file size above memory size", file_fd(buf, len), -1,
	    TEST_MEM, ENOEXEC, "above memory size");
	ph[0].p_filesz = ph[0].p_memsz;

	ph[0].p_paddr = TEST_MEM + MB(1);
	bad("PT_LOAD beyond guest memory", file_fd(buf, len), -1, TEST_MEM,
	    ENOMEM, "beyond guest memory");
	ph[0].p_paddr = (uint64_t)-4096;
	bad("PT_LOAD wrapping around the address space", file_fd(buf, len),
	    -1, TEST_MEM, ENOMEM, "beyond guest memory");
	ph[0].p_paddr = VM_PCI_MMIO_BASE;
	bad("PT_LOAD in the PCI hole", file_fd(buf, len), -1, TEST_MEM,
	    ENOMEM, "beyond guest memory");
	ph[0].p_paddr = 0x8000;
	bad("PT_LOAD over the boot data", file_fd(buf, len), -1, TEST_MEM,
	    EINVAL, "overlaps the boot data");
	ph[0].p_paddr = KBASE;

	eh->e_entry = KBASE + MB(1);
	bad("entry outside the segments", file_fd(buf, len), -1, TEST_MEM,
	    ENOEXEC, "entry point");
	eh->e_entry = KBASE;

	bad("kernel larger than a tiny VM", file_fd(buf, len), -1, MB(2),
	    ENOMEM, "beyond guest memory");
	free(buf);

	es = elf_good();
	es.pvh = 1;
	es.pvh_entry = 0x100;
	bad("PVH entry outside the segments", elf_fd(&es), -1, TEST_MEM,
	    ENOEXEC, "PVH entry point");
}

static void
test_elf_good(void)
{
	struct elf_spec	 es;
	struct vm_mem	 mem;
	struct loadfile	 lf;
	struct vmm_regs	*r = &lf.lf_regs;
	uint8_t		 initrd[10000];
	uint32_t	 top;
	size_t		 i;
	int		 ret;

	/* Linux-style ELF64: 64-bit entry, zero page in RSI */
	es = elf_good();
	mem_make(&mem, TEST_MEM);
	ret = run(&lf, &mem, elf_fd(&es), -1, "console=ttyS0 run=hello");
	check(ret == 0 && lf.lf_kind == LOADFILE_ELF,
	    "ELF64 loads (%d, \"%s\")", ret, lf.lf_err);
	check(seg_ok(&mem, &es, 0) && seg_ok(&mem, &es, 1),
	    "ELF64 segments copied, bss zeroed");
	check(r->gpr[VMM_RIP] == es.entry && r->gpr[VMM_RSI] == ZERO_PAGE,
	    "ELF64 RIP 0x%llx = e_entry, RSI = zero page",
	    (unsigned long long)r->gpr[VMM_RIP]);
	check(r->cs.sel == 0x18 && (r->cs.ar & VMM_AR_L) && r->ds.sel == 0x10 &&
	    (r->efer & 0x500) == 0x500 && (r->cr0 & 0x80000001) == 0x80000001 &&
	    r->cr3 == PML4_PAGE, "ELF64 starts in 64-bit long mode");
	check(g64(&mem, GDT_PAGE + 0x18) == 0x00af9b000000ffffULL &&
	    g64(&mem, GDT_PAGE + 0x10) == 0x00cf93000000ffffULL,
	    "ELF64 GDT: 0x18 64-bit code, 0x10 data");
	check((g64(&mem, PML2_PAGE) & ~0xfffULL) == 0 &&
	    (g64(&mem, PML2_PAGE + 3 * 4096 + 511 * 8) & ~0xfffULL) ==
	    GB(4) - MB(2), "page tables map 4 GiB");
	check(strcmp(gp(&mem, CMDLINE_ADDR, 24), "console=ttyS0 run=hello")
	    == 0 && g32(&mem, ZERO_PAGE + 0x228) == CMDLINE_ADDR,
	    "ELF64 command line in the zero page");
	check(*(uint8_t *)gp(&mem, ZERO_PAGE + 0x1e8, 1) == 5 &&
	    g64(&mem, ZERO_PAGE + 0x2d0 + 2 * 20) == MB(1) &&
	    g64(&mem, ZERO_PAGE + 0x2d0 + 2 * 20 + 8) == TEST_MEM - MB(1) &&
	    g32(&mem, ZERO_PAGE + 0x2d0 + 2 * 20 + 16) == E820_RAM,
	    "ELF64 e820 in the zero page (%u entries)",
	    *(uint8_t *)gp(&mem, ZERO_PAGE + 0x1e8, 1));
	check(g64(&mem, ZERO_PAGE + 0x70) == 0xe0000,
	    "zero page acpi_rsdp_addr");
	/* upstream's boot arguments and stack */
	check(g32(&mem, BOOTARGS_PAGE) == 0 &&
	    g32(&mem, BOOTARGS_PAGE + 4) == 12 + 6 * 20 &&
	    g64(&mem, BOOTARGS_PAGE + 12 + 2 * 20) == MB(1),
	    "boot args memory map");
	top = BOOTARGS_PAGE + 12 + 6 * 20;
	check(g32(&mem, top) == 5 && g32(&mem, top + 12) == 0x800 &&
	    g32(&mem, top + 16) == 115200 && g64(&mem, top + 20) == 0x3f8 &&
	    g32(&mem, top + 12 + 32) == 0xffffffff,
	    "boot args console com0 115200, then the end marker");
	check(g32(&mem, STACK_PAGE + 4092) == BOOTARGS_PAGE &&
	    g32(&mem, STACK_PAGE + 4088) == 12 + 6 * 20 + 12 + 32 + 4 &&
	    g32(&mem, STACK_PAGE + 4076) == KBASE + 0x6000 &&
	    g32(&mem, STACK_PAGE + 4072) == 0x0e &&
	    g32(&mem, STACK_PAGE + 4068) == 0xa0000004 &&
	    r->gpr[VMM_RSP] == STACK_PAGE + 4096 - 36,
	    "boot stack as upstream (RSP 0x%llx)",
	    (unsigned long long)r->gpr[VMM_RSP]);
	mem_free(&mem);

	/* OpenBSD-style: high virtual entry, 32-bit code in long mode */
	es = elf_good();
	es.entry = 0xffffffff80000000ULL + KBASE + 0x20;
	mem_make(&mem, TEST_MEM);
	ret = run(&lf, &mem, elf_fd(&es), -1, NULL);
	check(ret == 0 && r->gpr[VMM_RIP] == KBASE + 0x20 &&
	    r->cs.sel == 0x08 && !(r->cs.ar & VMM_AR_L) &&
	    (r->cs.ar & VMM_AR_DB), "OpenBSD ELF: masked entry 0x%llx, "
	    "compatibility-mode CS", (unsigned long long)r->gpr[VMM_RIP]);
	check(*(char *)gp(&mem, CMDLINE_ADDR, 1) == '\0',
	    "no command line: empty string");
	mem_free(&mem);

	/* PVH */
	for (i = 0; i < sizeof(initrd); i++)
		initrd[i] = i * 7;
	es = elf_good();
	es.pvh = 1;
	es.pvh_entry = KBASE + 0x40;
	mem_make(&mem, TEST_MEM);
	ret = run(&lf, &mem, elf_fd(&es), file_fd(initrd, sizeof(initrd)),
	    "console=ttyS0");
	check(ret == 0 && lf.lf_kind == LOADFILE_ELF_PVH,
	    "PVH ELF loads (%d, \"%s\")", ret, lf.lf_err);
	check(r->gpr[VMM_RIP] == KBASE + 0x40 &&
	    r->gpr[VMM_RBX] == PVH_INFO_PAGE && r->cr0 == 0x11 &&
	    r->efer == 0 && r->cs.sel == 0x08 && (r->cs.ar & VMM_AR_DB),
	    "PVH: 32-bit flat, paging off, EBX = start_info");
	check(g32(&mem, PVH_INFO_PAGE) == 0x336ec578 &&
	    g32(&mem, PVH_INFO_PAGE + 4) == 1 &&
	    g32(&mem, PVH_INFO_PAGE + 12) == 1 &&
	    g64(&mem, PVH_INFO_PAGE + 24) == CMDLINE_ADDR &&
	    g64(&mem, PVH_INFO_PAGE + 32) == 0xe0000 &&
	    g32(&mem, PVH_INFO_PAGE + 48) == 5,
	    "hvm_start_info: magic, version 1, one module, cmdline, rsdp, "
	    "memmap");
	check(g64(&mem, g64(&mem, PVH_INFO_PAGE + 16)) == lf.lf_initrd_addr &&
	    g64(&mem, g64(&mem, PVH_INFO_PAGE + 16) + 8) == sizeof(initrd) &&
	    memcmp(gp(&mem, lf.lf_initrd_addr, sizeof(initrd)), initrd,
	    sizeof(initrd)) == 0 && (lf.lf_initrd_addr & 0xfff) == 0 &&
	    lf.lf_initrd_addr + sizeof(initrd) <= TEST_MEM,
	    "PVH initrd module at 0x%llx",
	    (unsigned long long)lf.lf_initrd_addr);
	mem_free(&mem);
}

/*
 * ELF32: upstream's i386 kernels, protected mode with paging
 */

/*
 * ehdr, phdrs, [note], the segments' bytes as elf_make's, and with syms
 * a symbol table (2 entries), its string table and 3 section headers
 */
static uint8_t *
elf32_make(const struct elf_spec *es, int syms, size_t *lenp)
{
	Elf32_Ehdr	*eh;
	Elf32_Phdr	*ph;
	Elf32_Shdr	*sh;
	uint8_t		*buf;
	size_t		 len, off;
	int		 i, nph = es->nseg + (es->pvh ? 1 : 0);
	uint64_t	 j;
	uint32_t	 note[6];

	len = sizeof(*eh) + nph * sizeof(*ph) + sizeof(note);
	for (i = 0; i < es->nseg; i++)
		len += es->filesz[i];
	if (syms)
		len += 32 + 16 + 3 * sizeof(*sh);
	if ((buf = calloc(1, len)) == NULL)
		exit(1);
	eh = (Elf32_Ehdr *)buf;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS32;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_EXEC;
	eh->e_machine = EM_386;
	eh->e_version = EV_CURRENT;
	eh->e_entry = (uint32_t)es->entry;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(*ph);
	eh->e_phnum = nph;
	ph = (Elf32_Phdr *)(buf + sizeof(*eh));
	off = sizeof(*eh) + nph * sizeof(*ph);
	if (es->pvh) {
		note[0] = 4;
		note[1] = 4;
		note[2] = 18;
		memcpy(&note[3], "Xen", 4);
		note[4] = es->pvh_entry;
		ph[nph - 1].p_type = PT_NOTE;
		ph[nph - 1].p_offset = off;
		ph[nph - 1].p_filesz = 20;
		ph[nph - 1].p_align = 4;
		memcpy(buf + off, note, 20);
	}
	off += sizeof(note);
	for (i = 0; i < es->nseg; i++) {
		ph[i].p_type = PT_LOAD;
		ph[i].p_flags = PF_R | PF_X;
		ph[i].p_offset = off;
		ph[i].p_paddr = ph[i].p_vaddr = (uint32_t)es->paddr[i];
		ph[i].p_filesz = (uint32_t)es->filesz[i];
		ph[i].p_memsz = (uint32_t)es->memsz[i];
		for (j = 0; j < es->filesz[i]; j++)
			buf[off + j] = (j & 0xff) ^ (0x5a + i);
		off += es->filesz[i];
	}
	if (syms) {
		eh->e_ident[EI_OSABI] = 12;	/* OpenBSD */
		memset(buf + off, 0x11, 32);	/* symtab */
		memcpy(buf + off + 32, "\0start\0end\0\0\0\0\0\0", 16);
		sh = (Elf32_Shdr *)(buf + off + 48);
		sh[1].sh_type = SHT_SYMTAB;
		sh[1].sh_offset = off;
		sh[1].sh_size = 32;
		sh[1].sh_link = 2;
		sh[1].sh_entsize = 16;
		sh[2].sh_type = SHT_STRTAB;
		sh[2].sh_offset = off + 32;
		sh[2].sh_size = 16;
		eh->e_shoff = off + 48;
		eh->e_shentsize = sizeof(*sh);
		eh->e_shnum = 3;
	}
	*lenp = len;
	return (buf);
}

static int
elf32_fd(const struct elf_spec *es, int syms)
{
	uint8_t	*buf;
	size_t	 len;
	int	 fd;

	buf = elf32_make(es, syms, &len);
	fd = file_fd(buf, len);
	free(buf);
	return (fd);
}

static void
test_elf32(void)
{
	struct elf_spec	 es;
	struct vm_mem	 mem;
	struct loadfile	 lf;
	struct vmm_regs	*r = &lf.lf_regs;
	Elf32_Ehdr	*eh, geh;
	Elf32_Shdr	 gsh[3];
	uint8_t		*buf;
	size_t		 len;
	uint64_t	 elfp;
	int		 ret;

	es = elf_good();
	mem_make(&mem, TEST_MEM);
	ret = run(&lf, &mem, elf32_fd(&es, 0), -1, "console=ttyS0");
	check(ret == 0 && lf.lf_kind == LOADFILE_ELF,
	    "ELF32 loads (%d, \"%s\")", ret, lf.lf_err);
	check(seg_ok(&mem, &es, 0) && seg_ok(&mem, &es, 1),
	    "ELF32 segments copied, bss zeroed");
	check(r->gpr[VMM_RIP] == es.entry && r->cr0 == 0x11 &&
	    r->cr4 == 0 && r->efer == 0,
	    "ELF32: protected mode, paging off, as boot(8) enters it (cr0 "
	    "0x%llx cr4 0x%llx efer 0x%llx)", (unsigned long long)r->cr0,
	    (unsigned long long)r->cr4, (unsigned long long)r->efer);
	check(r->cs.sel == 0x08 && !(r->cs.ar & VMM_AR_L) &&
	    (r->cs.ar & VMM_AR_DB) && r->ds.sel == 0x10 &&
	    g64(&mem, GDT_PAGE + 0x08) == 0x00cf9b000000ffffULL,
	    "ELF32: 32-bit CS 0x08, DS 0x10");
	check(g32(&mem, BOOTARGS_PAGE) == 0 &&
	    g32(&mem, STACK_PAGE + 4092) == BOOTARGS_PAGE &&
	    g32(&mem, STACK_PAGE + 4076) == KBASE + 0x6000 &&
	    g32(&mem, STACK_PAGE + 4072) == 0x0e &&
	    r->gpr[VMM_RSP] == STACK_PAGE + 4096 - 36,
	    "ELF32: upstream's boot arguments and stack");
	mem_free(&mem);

	/* an OpenBSD i386 kernel: high entry, symbols for ddb */
	es = elf_good();
	es.entry = 0xd0000000ULL + KBASE + 0x20;
	mem_make(&mem, TEST_MEM);
	ret = run(&lf, &mem, elf32_fd(&es, 1), -1, NULL);
	elfp = KBASE + 0x6000;
	memcpy(&geh, gp(&mem, elfp, sizeof(geh)), sizeof(geh));
	memcpy(gsh, gp(&mem, elfp + sizeof(geh), sizeof(gsh)), sizeof(gsh));
	check(ret == 0 && r->gpr[VMM_RIP] == KBASE + 0x20,
	    "OpenBSD ELF32: masked entry 0x%llx (%d, \"%s\")",
	    (unsigned long long)r->gpr[VMM_RIP], ret, lf.lf_err);
	check(memcmp(geh.e_ident, ELFMAG, SELFMAG) == 0 &&
	    geh.e_ident[EI_CLASS] == ELFCLASS32 && geh.e_phnum == 0 &&
	    geh.e_shoff == sizeof(geh) && geh.e_shnum == 3,
	    "OpenBSD ELF32: an ELF32 header after the kernel");
	check(gsh[1].sh_type == SHT_SYMTAB && gsh[1].sh_offset == 52 + 120 &&
	    (gsh[1].sh_flags & SHF_ALLOC) && gsh[2].sh_offset == 52 + 152 &&
	    *(uint8_t *)gp(&mem, elfp + 172, 1) == 0x11 &&
	    memcmp(gp(&mem, elfp + 205, 5), "start", 5) == 0,
	    "OpenBSD ELF32: ELF32 section headers, symbols and strings");
	check(lf.lf_kend == elfp + 220 &&
	    g32(&mem, STACK_PAGE + 4076) == elfp + 220,
	    "OpenBSD ELF32: the kernel's end is past the symbols (0x%llx)",
	    (unsigned long long)lf.lf_kend);
	mem_free(&mem);

	/* PVH from an ELF32 image */
	es = elf_good();
	es.pvh = 1;
	es.pvh_entry = KBASE + 0x40;
	mem_make(&mem, TEST_MEM);
	ret = run(&lf, &mem, elf32_fd(&es, 0), -1, NULL);
	check(ret == 0 && lf.lf_kind == LOADFILE_ELF_PVH &&
	    r->gpr[VMM_RIP] == KBASE + 0x40 && r->cr0 == 0x11,
	    "PVH ELF32 loads (%d, \"%s\")", ret, lf.lf_err);
	mem_free(&mem);

	es = elf_good();
	buf = elf32_make(&es, 0, &len);
	eh = (Elf32_Ehdr *)buf;
	bad("truncated ELF32 header", file_fd(buf, 40), -1, TEST_MEM,
	    ENOEXEC, "truncated ELF header");
	eh->e_machine = EM_X86_64;
	bad("ELF32 for another machine", file_fd(buf, len), -1, TEST_MEM,
	    ENOEXEC, "not i386");
	eh->e_machine = EM_386;
	eh->e_phentsize = sizeof(Elf64_Phdr);
	bad("ELF32 with ELF64 program headers", file_fd(buf, len), -1,
	    TEST_MEM, ENOEXEC, "program header size");
	eh->e_phentsize = sizeof(Elf32_Phdr);
	((Elf32_Phdr *)(buf + sizeof(*eh)))[0].p_offset = 0xfffff000;
	bad("ELF32 PT_LOAD beyond the file", file_fd(buf, len), -1, TEST_MEM,
	    ENOEXEC, "beyond the end of the file");
	free(buf);
}

/*
 * bzImage
 */

struct bz_spec {
	uint8_t		 setup_sects;
	uint16_t	 version;
	uint16_t	 xloadflags;
	uint8_t		 relocatable;
	uint32_t	 init_size;
	uint32_t	 cmdline_size;
	uint64_t	 pref;
	size_t		 payload;
};

static struct bz_spec
bz_good(void)
{
	struct bz_spec	bs;

	bs.setup_sects = 4;
	bs.version = 0x020f;
	bs.xloadflags = 1;
	bs.relocatable = 1;
	bs.init_size = 0x100000;
	bs.cmdline_size = 2047;
	bs.pref = MB(16);
	bs.payload = 0x2345;
	return (bs);
}

static void
put16(uint8_t *p, size_t off, uint16_t v)
{
	memcpy(p + off, &v, 2);
}

static void
put32(uint8_t *p, size_t off, uint32_t v)
{
	memcpy(p + off, &v, 4);
}

static uint8_t *
bz_make(const struct bz_spec *bs, size_t *lenp)
{
	uint8_t	*buf;
	size_t	 setup, len, i;

	setup = ((bs->setup_sects ? bs->setup_sects : 4) + 1) * 512;
	len = setup + bs->payload;
	if ((buf = calloc(1, len)) == NULL)
		exit(1);
	buf[0x1f1] = bs->setup_sects;
	put16(buf, 0x1fe, 0xaa55);
	buf[0x200] = 0xeb;
	buf[0x201] = 0x6a;		/* header ends at 0x26c */
	memcpy(buf + 0x202, "HdrS", 4);
	put16(buf, 0x206, bs->version);
	buf[0x211] = 0x01;		/* LOADED_HIGH */
	put32(buf, 0x214, 0x100000);
	put32(buf, 0x22c, 0x37ffffff);
	put32(buf, 0x230, 0x200000);
	buf[0x234] = bs->relocatable;
	put16(buf, 0x236, bs->xloadflags);
	put32(buf, 0x238, bs->cmdline_size);
	memcpy(buf + 0x258, &bs->pref, 8);
	put32(buf, 0x260, bs->init_size);
	for (i = 0; i < bs->payload && setup + i < len; i++)
		buf[setup + i] = (i * 13) ^ 0x3c;
	*lenp = len;
	return (buf);
}

static int
bz_fd(const struct bz_spec *bs)
{
	uint8_t	*buf;
	size_t	 len;
	int	 fd;

	buf = bz_make(bs, &len);
	fd = file_fd(buf, len);
	free(buf);
	return (fd);
}

static int
bz_payload_ok(struct vm_mem *mem, const struct bz_spec *bs, uint64_t at)
{
	uint8_t	*p = gp(mem, at, bs->payload);
	size_t	 i;

	for (i = 0; i < bs->payload; i++)
		if (p[i] != (uint8_t)((i * 13) ^ 0x3c))
			return (0);
	return (1);
}

static void
test_bzimage(void)
{
	struct bz_spec	 bs;
	struct vm_mem	 mem;
	struct loadfile	 lf;
	struct vmm_regs	*r = &lf.lf_regs;
	uint8_t		*p, initrd[5000];
	size_t		 i;
	int		 ret, ok;

	bs = bz_good();
	bs.version = 0x0205;
	bad("bzImage protocol 2.05", bz_fd(&bs), -1, TEST_MEM, ENOEXEC,
	    "too old");
	bs = bz_good();
	bs.xloadflags = 0;
	bad("bzImage without XLF_KERNEL_64", bz_fd(&bs), -1, TEST_MEM,
	    ENOEXEC, "64-bit entry point");
	bs = bz_good();
	bs.version = 0x0206;
	bad("bzImage 2.06 has no xloadflags", bz_fd(&bs), -1, TEST_MEM,
	    ENOEXEC, "64-bit entry point");
	bs = bz_good();
	bs.setup_sects = 200;
	bs.payload = 0;
	bad("bzImage setup_sects out of range", bz_fd(&bs), -1, TEST_MEM,
	    ENOEXEC, "out of range");
	bs = bz_good();
	bs.init_size = 0x10000000;
	bad("bzImage payload larger than memory", bz_fd(&bs), -1, TEST_MEM,
	    ENOMEM, "larger than guest memory");
	bs = bz_good();
	bs.cmdline_size = 5;
	bad("command line longer than cmdline_size", bz_fd(&bs), -1,
	    TEST_MEM, EINVAL, "command line too long");

	memset(initrd, 0x77, sizeof(initrd));
	bs = bz_good();
	mem_make(&mem, TEST_MEM);
	ret = run(&lf, &mem, bz_fd(&bs), file_fd(initrd, sizeof(initrd)),
	    "console=ttyS0 quiet");
	check(ret == 0 && lf.lf_kind == LOADFILE_BZIMAGE,
	    "bzImage loads (%d, \"%s\")", ret, lf.lf_err);
	p = gp(&mem, bs.pref, bs.payload);
	for (ok = 1, i = 0; i < bs.payload; i++)
		if (p[i] != (uint8_t)((i * 13) ^ 0x3c))
			ok = 0;
	check(ok, "relocatable bzImage at pref_address 0x%llx",
	    (unsigned long long)bs.pref);
	check(r->gpr[VMM_RIP] == bs.pref + 0x200 &&
	    r->gpr[VMM_RSI] == ZERO_PAGE && r->cs.sel == 0x10 &&
	    (r->cs.ar & VMM_AR_L) && r->ds.sel == 0x18 &&
	    r->gdtr.base == GDT_PAGE,
	    "bzImage: RIP = load + 0x200, RSI = zero page, CS 0x10, DS 0x18");
	check(g64(&mem, GDT_PAGE + 0x10) == 0x00af9b000000ffffULL &&
	    g64(&mem, GDT_PAGE + 0x18) == 0x00cf93000000ffffULL,
	    "boot GDT: 0x10 64-bit code, 0x18 data");
	check(*(uint8_t *)gp(&mem, ZERO_PAGE + 0x210, 1) == 0xff &&
	    (*(uint8_t *)gp(&mem, ZERO_PAGE + 0x211, 1) & 1) &&
	    g32(&mem, ZERO_PAGE + 0x202) == 0x53726448 &&
	    g32(&mem, ZERO_PAGE + 0x214) == bs.pref &&
	    g32(&mem, ZERO_PAGE + 0x228) == CMDLINE_ADDR &&
	    strcmp(gp(&mem, CMDLINE_ADDR, 20), "console=ttyS0 quiet") == 0,
	    "zero page: setup header, type_of_loader 0xff, code32_start, "
	    "cmd_line_ptr");
	check(g32(&mem, ZERO_PAGE + 0x218) == lf.lf_initrd_addr &&
	    g32(&mem, ZERO_PAGE + 0x21c) == sizeof(initrd) &&
	    g32(&mem, ZERO_PAGE + 0xc0) == 0 &&
	    lf.lf_initrd_addr + sizeof(initrd) <= TEST_MEM &&
	    lf.lf_initrd_addr + sizeof(initrd) > TEST_MEM - 0x2000 &&
	    (lf.lf_initrd_addr & 0xfff) == 0 &&
	    memcmp(gp(&mem, lf.lf_initrd_addr, sizeof(initrd)), initrd,
	    sizeof(initrd)) == 0,
	    "initrd high in low memory at 0x%llx, page aligned",
	    (unsigned long long)lf.lf_initrd_addr);
	check(*(uint8_t *)gp(&mem, ZERO_PAGE + 0x1e8, 1) == 5 &&
	    g64(&mem, ZERO_PAGE + 0x2d0 + 3 * 20) == VMM_IDENTMAP_ADDR &&
	    g32(&mem, ZERO_PAGE + 0x2d0 + 3 * 20 + 16) == E820_RESERVED,
	    "e820: KVM's pages in the hole reserved");
	mem_free(&mem);

	bs = bz_good();
	bs.relocatable = 0;
	mem_make(&mem, TEST_MEM);
	ret = run(&lf, &mem, bz_fd(&bs), -1, NULL);
	check(ret == 0 && r->gpr[VMM_RIP] == MB(1) + 0x200 &&
	    g32(&mem, ZERO_PAGE + 0x218) == 0 &&
	    g32(&mem, ZERO_PAGE + 0x21c) == 0,
	    "non-relocatable bzImage at 1 MiB, no initrd");
	mem_free(&mem);

	bs = bz_good();
	bad("initrd too large for guest memory", bz_fd(&bs),
	    sparse_fd(MB(100)), TEST_MEM, ENOMEM, "initrd too large");
	bs = bz_good();
	bad("empty initrd", bz_fd(&bs), file_fd("", 0), TEST_MEM, EINVAL,
	    "initrd: empty");
}

/*
 * gzip-compressed images
 */

/* buf, len as a gzip stream (one member) */
static uint8_t *
gz_make(const void *buf, size_t len, size_t *outlen)
{
	z_stream	 zs;
	uint8_t		*out;
	uLong		 bound;

	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 16 + MAX_WBITS, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		exit(1);
	bound = deflateBound(&zs, len);
	if ((out = malloc(bound)) == NULL)
		exit(1);
	zs.next_in = (Bytef *)(uintptr_t)buf;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)bound;
	if (deflate(&zs, Z_FINISH) != Z_STREAM_END)
		exit(1);
	*outlen = zs.total_out;
	deflateEnd(&zs);
	return (out);
}

/* buf, len gzip'd into a file of its own, with extra bytes after */
static int
gz_fd(const void *buf, size_t len, const void *extra, size_t extralen)
{
	uint8_t	*gz, *all;
	size_t	 gzlen;
	int	 fd;

	gz = gz_make(buf, len, &gzlen);
	if ((all = malloc(gzlen + extralen)) == NULL)
		exit(1);
	memcpy(all, gz, gzlen);
	if (extralen > 0)
		memcpy(all + gzlen, extra, extralen);
	fd = file_fd(all, gzlen + extralen);
	free(gz);
	free(all);
	return (fd);
}

static void
test_gzip(void)
{
	struct elf_spec	 es;
	struct bz_spec	 bs;
	struct vm_mem	 mem;
	struct loadfile	 lf;
	struct vmm_regs	*r = &lf.lf_regs;
	uint8_t		*img, *gz, *gz2, *all, junk[3000];
	size_t		 len, gzlen, gz2len, half;
	int		 ret;

	/* ELF64 */
	es = elf_good();
	img = elf_make(&es, &len);
	mem_make(&mem, TEST_MEM);
	ret = run(&lf, &mem, gz_fd(img, len, NULL, 0), -1, "console=ttyS0");
	check(ret == 0 && lf.lf_kind == LOADFILE_ELF && lf.lf_gzip &&
	    seg_ok(&mem, &es, 0) && seg_ok(&mem, &es, 1) &&
	    r->gpr[VMM_RIP] == es.entry && lf.lf_kbuf == NULL,
	    "gzip'd ELF64 loads (%d, \"%s\")", ret, lf.lf_err);
	mem_free(&mem);

	/* members one after another are one image, as gzip(1) makes */
	half = len / 2;
	gz = gz_make(img, half, &gzlen);
	gz2 = gz_make(img + half, len - half, &gz2len);
	if ((all = malloc(gzlen + gz2len)) == NULL)
		exit(1);
	memcpy(all, gz, gzlen);
	memcpy(all + gzlen, gz2, gz2len);
	mem_make(&mem, TEST_MEM);
	ret = run(&lf, &mem, file_fd(all, gzlen + gz2len), -1, NULL);
	check(ret == 0 && seg_ok(&mem, &es, 0) && seg_ok(&mem, &es, 1),
	    "gzip'd ELF64 in two members loads (%d, \"%s\")", ret,
	    lf.lf_err);
	mem_free(&mem);
	free(gz2);
	free(all);

	/* trailing garbage after the last member is ignored, as gzread() */
	arc4random_buf(junk, sizeof(junk));
	junk[0] = 0;
	mem_make(&mem, TEST_MEM);
	ret = run(&lf, &mem, gz_fd(img, len, junk, sizeof(junk)), -1, NULL);
	check(ret == 0 && seg_ok(&mem, &es, 0) && seg_ok(&mem, &es, 1),
	    "gzip'd ELF64 with trailing garbage loads (%d, \"%s\")", ret,
	    lf.lf_err);
	mem_free(&mem);
	free(gz);

	/* what the loaders say of a bad image, from its gunzip */
	bad("gzip'd truncated ELF", gz_fd(img, 20, NULL, 0), -1, TEST_MEM,
	    ENOEXEC, "truncated ELF header");
	free(img);

	/* ELF32 */
	es = elf_good();
	img = elf32_make(&es, 1, &len);
	mem_make(&mem, TEST_MEM);
	ret = run(&lf, &mem, gz_fd(img, len, NULL, 0), -1, NULL);
	check(ret == 0 && lf.lf_kind == LOADFILE_ELF && lf.lf_gzip &&
	    seg_ok(&mem, &es, 0) && seg_ok(&mem, &es, 1) && r->efer == 0 &&
	    lf.lf_kend == KBASE + 0x6000 + 220,
	    "gzip'd ELF32 with symbols loads (%d, \"%s\")", ret, lf.lf_err);
	mem_free(&mem);
	free(img);

	/* bzImage */
	bs = bz_good();
	img = bz_make(&bs, &len);
	mem_make(&mem, TEST_MEM);
	ret = run(&lf, &mem, gz_fd(img, len, NULL, 0), -1, "console=ttyS0");
	check(ret == 0 && lf.lf_kind == LOADFILE_BZIMAGE && lf.lf_gzip &&
	    bz_payload_ok(&mem, &bs, bs.pref) &&
	    r->gpr[VMM_RIP] == bs.pref + 0x200,
	    "gzip'd bzImage loads (%d, \"%s\")", ret, lf.lf_err);
	mem_free(&mem);

	/* broken streams */
	gz = gz_make(img, len, &gzlen);
	gz[gzlen - 8] ^= 0xff;		/* the CRC */
	bad("gzip stream with a bad CRC", file_fd(gz, gzlen), -1, TEST_MEM,
	    ENOEXEC, "kernel: corrupt gzip stream: incorrect data check");
	gz[gzlen - 8] ^= 0xff;
	gz[2] = 7;			/* not deflate */
	bad("gzip stream of an unknown method", file_fd(gz, gzlen), -1,
	    TEST_MEM, ENOEXEC, "kernel: corrupt gzip stream: ");
	gz[2] = 8;
	gz[10] ^= 0x06;			/* the first block's type: 3 */
	bad("gzip stream with a bad block", file_fd(gz, gzlen), -1, TEST_MEM,
	    ENOEXEC, "kernel: corrupt gzip stream: ");
	gz[10] ^= 0x06;
	bad("truncated gzip stream", file_fd(gz, gzlen / 2), -1, TEST_MEM,
	    ENOEXEC, "kernel: truncated gzip stream");
	bad("gzip stream without its trailer", file_fd(gz, gzlen - 4), -1,
	    TEST_MEM, ENOEXEC, "kernel: truncated gzip stream");
	bad("gzip header alone", file_fd(gz, 10), -1, TEST_MEM, ENOEXEC,
	    "kernel: truncated gzip stream");
	bad("gzip magic alone", file_fd(gz, 2), -1, TEST_MEM, ENOEXEC,
	    "kernel: truncated gzip stream");
	free(gz);
	free(img);
	bad("gzip stream of nothing", gz_fd("", 0, NULL, 0), -1, TEST_MEM,
	    ENOEXEC, "holds no data");

	/* a bomb: 100 MiB of zeroes for a 64 MiB guest; the size is never read */
	if ((img = calloc(1, MB(100))) == NULL)
		exit(1);
	bad("gzip bomb past guest memory", gz_fd(img, MB(100), NULL, 0), -1,
	    TEST_MEM, EFBIG, "kernel: gzip stream decompresses to more than "
	    "63M, the most this VM takes");
	/* the trailer's length says 1 KiB: still refused */
	gz = gz_make(img, MB(100), &gzlen);
	memset(gz + gzlen - 4, 0, 4);
	gz[gzlen - 3] = 4;
	bad("gzip bomb with a lying trailer", file_fd(gz, gzlen), -1,
	    TEST_MEM, EFBIG, "decompresses to more than");
	free(gz);
	free(img);
}

/*
 * BIOS images and the memory map
 */

static void
test_bios(void)
{
	struct vm_mem	 mem;
	struct loadfile	 lf;
	struct vmm_regs	*r = &lf.lf_regs;
	uint8_t		*img;
	size_t		 len = 256 * 1024, i;
	int		 ret;

	if ((img = malloc(len)) == NULL)
		exit(1);
	arc4random_buf(img, len);
	img[0] = 0x7f;			/* not "\177ELF" */
	img[1] = 'X';
	memset(img + 0x200, 0, 8);	/* no "HdrS" */

	mem_make(&mem, TEST_MEM);
	ret = run(&lf, &mem, file_fd(img, len), -1, NULL);
	check(ret == 0 && lf.lf_kind == LOADFILE_BIOS,
	    "random bytes load as a BIOS image (%d, \"%s\")", ret,
	    lf.lf_err);
	check(memcmp(gp(&mem, GB(4) - len, len), img, len) == 0,
	    "BIOS image ends at 4 GiB");
	check(memcmp(gp(&mem, MB(1) - BIOS_LOW_MAX, BIOS_LOW_MAX),
	    img + len - BIOS_LOW_MAX, BIOS_LOW_MAX) == 0 &&
	    *(uint8_t *)gp(&mem, MB(1) - BIOS_LOW_MAX - 1, 1) == 0xaa,
	    "its top 128 KiB end at 1 MiB");
	check(r->cs.sel == 0xf000 && r->cs.base == 0xf0000 &&
	    r->gpr[VMM_RIP] == 0xfff0 && !(r->cr0 & 1),
	    "real mode at F000:FFF0");
	mem_free(&mem);

	mem_make(&mem, TEST_MEM);
	ret = run(&lf, &mem, file_fd(img, 1000), -1, NULL);
	check(ret == 0 && memcmp(gp(&mem, MB(1) - 1000, 1000), img, 1000)
	    == 0 && memcmp(gp(&mem, GB(4) - 1000, 1000), img, 1000) == 0,
	    "small BIOS image below 1 MiB and 4 GiB");
	mem_free(&mem);
	free(img);

	bad("14-byte file", file_fd("0123456789abcd", 14), -1, TEST_MEM,
	    ENOEXEC, "too small");
	bad("BIOS image above 4 MiB", sparse_fd(MB(4) + 1), -1, TEST_MEM,
	    ENOEXEC, "too large for a BIOS");
	if ((img = calloc(1, 4096)) == NULL)
		exit(1);
	for (i = 0; i < 4096; i++)
		img[i] = i;
	bad("BIOS image with an initrd", file_fd(img, 4096),
	    file_fd(img, 100), TEST_MEM, EINVAL, "initrd");
	free(img);
}

static void
test_memory_map(void)
{
	struct vm_mem	mem;

	check(create_memory_map(&mem, MB(1) - 1) == -1 &&
	    create_memory_map(&mem, VMM_MAX_VM_MEM_SIZE + MB(1)) == -1,
	    "memory sizes out of range refused");

	create_memory_map(&mem, MB(512));
	check(mem.nranges == 5 && mem.ranges[0].vmr_size == 0xa0000 &&
	    mem.ranges[1].vmr_type == VM_MEM_RESERVED &&
	    mem.ranges[2].vmr_gpa == MB(1) &&
	    mem.ranges[2].vmr_size == MB(511) &&
	    mem.ranges[3].vmr_type == VM_MEM_MMIO &&
	    mem.ranges[3].vmr_gpa == 0xf0000000 &&
	    mem.ranges[4].vmr_gpa == 0xffc00000 &&
	    mem.ranges[4].vmr_size == MB(4) && mem.nslots == 2 &&
	    mem.lowtop == MB(512) && mem.ramsize == MB(512) - 0x60000,
	    "512M map: low, reserved, RAM to 512M, hole, BIOS area");

	create_memory_map(&mem, GB(8));
	check(mem.nranges == 6 && mem.ranges[2].vmr_size == 0xf0000000 -
	    MB(1) && mem.ranges[5].vmr_gpa == GB(4) &&
	    mem.ranges[5].vmr_size == GB(8) - 0xf0000000 && mem.nslots == 3 &&
	    mem.slots[2].gpa == GB(4),
	    "8G map: RAM up to the hole, the rest above 4 GiB");

	create_memory_map(&mem, MB(4));
	check(mem.nranges == 3 && mem.ranges[2].vmr_gpa == 0xffc00000 &&
	    mem.lowtop == 0xa0000,
	    "tiny VM: low memory and the BIOS area only");
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return (1);
	}
	test_memory_map();
	test_elf_bad();
	test_elf_good();
	test_elf32();
	test_bzimage();
	test_gzip();
	test_bios();
	while (ntmp-- > 0) {
		char path[128];

		snprintf(path, sizeof(path), "%s/f%d", tmpdir, ntmp);
		unlink(path);
	}
	rmdir(tmpdir);
	return (failed);
}
