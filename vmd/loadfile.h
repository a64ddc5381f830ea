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
 * Boot image loaders: vmd acts as the boot loader.  The image is read
 * only through its descriptor (pread), or, when it is gzip-compressed,
 * from the bytes it decompresses to in memory; every header field is
 * checked against the image's size and guest memory, and the result is
 * guest memory contents plus the register state the boot vCPU starts
 * with.
 *
 * The loaders only need a struct vm_mem; they run as well on a plain
 * malloc'd buffer as on the VM's memfd (regress/unit/t_loadfile.c).
 */

#ifndef LOADFILE_H
#define LOADFILE_H

#include <sys/types.h>
#include <stdint.h>

#include "vm.h"

/* what the image was */
#define LOADFILE_NONE		0
#define LOADFILE_ELF		1	/* OpenBSD boot args (ELF64, ELF32) */
#define LOADFILE_ELF_PVH	2	/* Xen PVH entry, 32-bit flat */
#define LOADFILE_BZIMAGE	3	/* Linux 64-bit boot protocol */
#define LOADFILE_BIOS		4	/* real mode at F000:FFF0 */

/* low memory used by the direct-boot paths */
#define BOOTARGS_PAGE		0x2000	/* OpenBSD boot arguments */
#define PVH_INFO_PAGE		0x6000	/* hvm_start_info and co. */
#define ZERO_PAGE		0x7000	/* Linux struct boot_params */
#define STACK_PAGE		0xf000	/* OpenBSD boot stack */
#define GDT_PAGE		0x10000
#define PML4_PAGE		0x11000
#define PML3_PAGE		0x12000
#define PML2_PAGE		0x13000	/* 4 pages: 4 GiB, 2M pages */
#define CMDLINE_ADDR		0x20000
#define CMDLINE_MAX		4096
#define BOOT_AREA_START		0x1000
#define BOOT_AREA_END		0x21000
#define ACPI_AREA_START		0xe0000
#define ACPI_AREA_END		0x100000

#define BIOS_MIN_SIZE		15
#define BIOS_MAX_SIZE		MB(4)
#define BIOS_LOW_MAX		0x20000	/* copied to end at 1 MiB */

#define LOADFILE_ERRLEN		256

/* a gzip-compressed kernel decompresses to at most this and guest RAM */
#define LOADFILE_GZIP_MAX	MB(512)

struct loadfile {
	/* in */
	int			 lf_kernel;	/* descriptor, -1: none */
	int			 lf_initrd;	/* descriptor, -1: none */
	const char		*lf_cmdline;	/* NULL: empty */
	const struct vm_mem	*lf_mem;
	uint64_t		 lf_rsdp;	/* 0: no ACPI tables */
	const uint8_t		*lf_bootmac;	/* -B net: MAC or NULL */

	/* out */
	int			 lf_kind;	/* LOADFILE_* */
	struct vmm_regs		 lf_regs;	/* boot vCPU */
	uint64_t		 lf_kstart;	/* loaded kernel image */
	uint64_t		 lf_kend;
	uint64_t		 lf_initrd_addr;
	uint64_t		 lf_initrd_size;
	int			 lf_gzip;	/* the kernel was gzip'd */
	char			 lf_err[LOADFILE_ERRLEN];

	/* private: the kernel decompressed (NULL: read lf_kernel) */
	uint8_t			*lf_kbuf;
	uint64_t		 lf_ksize;
};

/*
 * Load the image: 0 on success, else an errno value or VMD_BIOS_MISSING
 * with lf_err saying what was wrong, as "kernel: ..." or "initrd: ...".
 */
int	 loadfile(struct loadfile *);

/* loadfile_elf.c */
int	 loadfile_elf(struct loadfile *, const uint8_t *, size_t, uint64_t);
int	 loadfile_bios(struct loadfile *, uint64_t);
int	 loadfile_error(struct loadfile *, int, const char *, ...)
	    __attribute__((__format__ (printf, 3, 4)));
int	 loadfile_read(int, uint64_t, void *, size_t);
int	 loadfile_kread(struct loadfile *, uint64_t, void *, size_t);
int	 loadfile_copy(struct loadfile *, uint64_t, uint64_t, uint64_t,
	    const char *);
int	 loadfile_initrd(struct loadfile *, uint64_t, uint64_t);
void	 loadfile_gdt(struct loadfile *, int);
void	 loadfile_pagetables(struct loadfile *);

/* loadfile_gzip.c */
int	 loadfile_is_gzip(const uint8_t *, size_t);
int	 loadfile_gunzip(struct loadfile *, uint64_t);

/* loadfile_bzimage.c */
int	 loadfile_is_bzimage(const uint8_t *, size_t);
int	 loadfile_bzimage(struct loadfile *, const uint8_t *, size_t,
	    uint64_t);
int	 loadfile_zeropage(struct loadfile *, const uint8_t *, size_t);

/* e820 types */
#define E820_RAM		1
#define E820_RESERVED		2
#define E820_MAX		128

struct e820_entry {
	uint64_t		 addr;
	uint64_t		 size;
	uint32_t		 type;
};

unsigned int	 loadfile_e820(const struct vm_mem *, struct e820_entry *,
		    unsigned int);

#endif /* LOADFILE_H */
