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
 * Linux bzImage, 64-bit boot protocol (Documentation/arch/x86/boot.rst):
 * the protected-mode kernel is loaded high, a zero page (struct
 * boot_params) built from the image's setup header describes the command
 * line, initrd, e820 map and ACPI RSDP, and the vCPU starts in long mode
 * at the load address + 0x200 with RSI pointing at the zero page.
 */

#include <sys/types.h>

#include <errno.h>
#include <string.h>

#include "bytes.h"
#include "loadfile.h"

/* setup header and boot_params offsets */
#define BP_ACPI_RSDP_ADDR	0x070
#define BP_EXT_RAMDISK_IMAGE	0x0c0
#define BP_EXT_RAMDISK_SIZE	0x0c4
#define BP_EXT_CMD_LINE_PTR	0x0c8
#define BP_E820_ENTRIES		0x1e8
#define BP_SETUP_SECTS		0x1f1
#define BP_BOOT_FLAG		0x1fe
#define BP_JUMP			0x200
#define BP_HEADER		0x202
#define BP_VERSION		0x206
#define BP_TYPE_OF_LOADER	0x210
#define BP_LOADFLAGS		0x211
#define BP_CODE32_START		0x214
#define BP_RAMDISK_IMAGE	0x218
#define BP_RAMDISK_SIZE		0x21c
#define BP_CMD_LINE_PTR		0x228
#define BP_INITRD_ADDR_MAX	0x22c
#define BP_KERNEL_ALIGNMENT	0x230
#define BP_RELOCATABLE		0x234
#define BP_XLOADFLAGS		0x236
#define BP_CMDLINE_SIZE		0x238
#define BP_PREF_ADDRESS		0x258
#define BP_INIT_SIZE		0x260
#define BP_E820_TABLE		0x2d0
#define BP_SIZE			0x1000

#define HDRS_MAGIC		0x53726448	/* "HdrS" */
#define BOOT_FLAG_MAGIC		0xaa55
#define LOADER_UNDEFINED	0xff
#define LOADED_HIGH		0x01
#define XLF_KERNEL_64		0x0001
#define BOOT_PROTO_MIN		0x0206
#define BOOT_PROTO_OURS		0x020f	/* for ELF kernels */
#define KERNEL_LOAD_DEFAULT	MB(1)
#define INITRD_ADDR_MAX_DEF	0x37ffffffULL

int
loadfile_is_bzimage(const uint8_t *hdr, size_t len)
{
	return (len >= BP_HEADER + 4 && get32(hdr, BP_HEADER) == HDRS_MAGIC);
}

/*
 * The zero page: the image's setup header (setup, setuplen; NULL for
 * ELF kernels, which get a made-up one) and what vmd knows: command
 * line, initrd, e820 map, RSDP.
 */
int
loadfile_zeropage(struct loadfile *lf, const uint8_t *setup, size_t setuplen)
{
	struct e820_entry	 e[E820_MAX];
	uint8_t			*zp;
	unsigned int		 i, n;

	if ((zp = vm_mem_ptr(lf->lf_mem, ZERO_PAGE, BP_SIZE)) == NULL)
		return (loadfile_error(lf, ENOMEM, "kernel: no memory for "
		    "the zero page"));
	memset(zp, 0, BP_SIZE);
	if (setup != NULL) {
		memcpy(zp + BP_SETUP_SECTS, setup + BP_SETUP_SECTS,
		    setuplen - BP_SETUP_SECTS);
	} else {
		put16(zp, BP_BOOT_FLAG, BOOT_FLAG_MAGIC);
		put32(zp, BP_HEADER, HDRS_MAGIC);
		put16(zp, BP_VERSION, BOOT_PROTO_OURS);
	}
	put8(zp, BP_TYPE_OF_LOADER, LOADER_UNDEFINED);
	put8(zp, BP_LOADFLAGS, zp[BP_LOADFLAGS] | LOADED_HIGH);
	put32(zp, BP_CMD_LINE_PTR, CMDLINE_ADDR);
	put32(zp, BP_EXT_CMD_LINE_PTR, 0);
	put32(zp, BP_RAMDISK_IMAGE, (uint32_t)lf->lf_initrd_addr);
	put32(zp, BP_RAMDISK_SIZE, (uint32_t)lf->lf_initrd_size);
	put32(zp, BP_EXT_RAMDISK_IMAGE, (uint32_t)(lf->lf_initrd_addr >> 32));
	put32(zp, BP_EXT_RAMDISK_SIZE, (uint32_t)(lf->lf_initrd_size >> 32));
	put64(zp, BP_ACPI_RSDP_ADDR, lf->lf_rsdp);

	n = loadfile_e820(lf->lf_mem, e, E820_MAX);
	for (i = 0; i < n; i++) {
		put64(zp, BP_E820_TABLE + i * 20, e[i].addr);
		put64(zp, BP_E820_TABLE + i * 20 + 8, e[i].size);
		put32(zp, BP_E820_TABLE + i * 20 + 16, e[i].type);
	}
	put8(zp, BP_E820_ENTRIES, n);
	return (0);
}

int
loadfile_bzimage(struct loadfile *lf, const uint8_t *hdr, size_t hdrlen,
    uint64_t fsize)
{
	struct vmm_regs	*r = &lf->lf_regs;
	uint64_t	 setupsz, ksize, need, load, pref, imax, cmdlen;
	size_t		 hdrend;
	uint16_t	 version;
	uint8_t		*zp;
	int		 ret;

	version = get16(hdr, BP_VERSION);
	if (version < BOOT_PROTO_MIN)
		return (loadfile_error(lf, ENOEXEC, "kernel: Linux boot "
		    "protocol %u.%02u is too old (2.06 or later needed)",
		    version >> 8, version & 0xff));
	if (hdrlen < BP_INIT_SIZE + 4)
		return (loadfile_error(lf, ENOEXEC,
		    "kernel: truncated bzImage setup header"));
	if (version < 0x020c || (get16(hdr, BP_XLOADFLAGS) & XLF_KERNEL_64)
	    == 0)
		return (loadfile_error(lf, ENOEXEC, "kernel: bzImage has no "
		    "64-bit entry point (XLF_KERNEL_64)"));
	if ((hdr[BP_LOADFLAGS] & LOADED_HIGH) == 0)
		return (loadfile_error(lf, ENOEXEC, "kernel: zImage kernels "
		    "(loaded below 1 MiB) are not supported"));

	setupsz = hdr[BP_SETUP_SECTS] == 0 ? 4 : hdr[BP_SETUP_SECTS];
	setupsz = (setupsz + 1) * 512;
	if (setupsz >= fsize)
		return (loadfile_error(lf, ENOEXEC, "kernel: setup_sects %u "
		    "out of range for a %llu-byte file", hdr[BP_SETUP_SECTS],
		    (unsigned long long)fsize));
	/* the setup header ends where its leading short jump points */
	hdrend = BP_HEADER + hdr[BP_JUMP + 1];
	if (hdr[BP_JUMP] != 0xeb || hdrend < BP_INIT_SIZE + 4 ||
	    hdrend > setupsz || hdrend > hdrlen || hdrend > BP_E820_TABLE)
		return (loadfile_error(lf, ENOEXEC,
		    "kernel: bad bzImage setup header length"));

	ksize = fsize - setupsz;
	need = MAXIMUM(ksize, get32(hdr, BP_INIT_SIZE));
	cmdlen = lf->lf_cmdline != NULL ? strlen(lf->lf_cmdline) : 0;
	if (cmdlen > get32(hdr, BP_CMDLINE_SIZE))
		return (loadfile_error(lf, EINVAL, "kernel: command line too "
		    "long for this kernel (%llu bytes, at most %u)",
		    (unsigned long long)cmdlen, get32(hdr, BP_CMDLINE_SIZE)));

	load = KERNEL_LOAD_DEFAULT;
	pref = get64(hdr, BP_PREF_ADDRESS);
	if (hdr[BP_RELOCATABLE] && pref >= MB(1) && pref < GB(4) &&
	    vm_mem_is_ram(lf->lf_mem, pref, need))
		load = pref;
	if (!vm_mem_is_ram(lf->lf_mem, load, need))
		return (loadfile_error(lf, ENOMEM, "kernel: bzImage payload "
		    "(%llu bytes) larger than guest memory",
		    (unsigned long long)need));
	if ((ret = loadfile_copy(lf, setupsz, load, ksize, "kernel")) != 0)
		return (ret);
	lf->lf_kstart = load;
	lf->lf_kend = load + need;

	imax = get32(hdr, BP_INITRD_ADDR_MAX);
	if (imax == 0)
		imax = INITRD_ADDR_MAX_DEF;
	if ((ret = loadfile_initrd(lf, load + need, imax + 1)) != 0)
		return (ret);
	if ((ret = loadfile_zeropage(lf, hdr, hdrend)) != 0)
		return (ret);
	zp = vm_mem_ptr(lf->lf_mem, ZERO_PAGE, BP_SIZE);
	put32(zp, BP_CODE32_START, (uint32_t)load);

	loadfile_gdt(lf, 1);
	loadfile_pagetables(lf);

	memset(r, 0, sizeof(*r));
	r->gpr[VMM_RFLAGS] = 0x2;
	r->gpr[VMM_RIP] = load + 0x200;
	r->gpr[VMM_RSI] = ZERO_PAGE;
	r->cr0 = 0x80000011;		/* PG, ET, PE */
	r->cr3 = PML4_PAGE;
	r->cr4 = 0x20;			/* PAE */
	r->efer = 0x500;		/* LMA, LME */
	r->cs.sel = 0x10;
	r->cs.limit = 0xffffffff;
	r->cs.ar = 0xa09b;
	r->ds.sel = 0x18;
	r->ds.limit = 0xffffffff;
	r->ds.ar = 0xc093;
	r->es = r->fs = r->gs = r->ss = r->ds;
	r->ldtr.limit = 0xffff;
	r->ldtr.ar = 0x0082;
	r->tr.limit = 0xffff;
	r->tr.ar = 0x008b;
	r->gdtr.base = GDT_PAGE;
	r->gdtr.limit = 4 * 8 - 1;
	lf->lf_kind = LOADFILE_BZIMAGE;
	return (0);
}
