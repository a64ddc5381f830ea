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
 * Real-mode part of guest.bzImage: the boot sector area, the Linux boot
 * protocol 2.15 setup header at 0x1f1 and a small real-mode setup routine,
 * so that BIOS boot loaders (e.g. qemu -kernel) can start the image too.
 *
 * The setup routine builds a fresh zero page at ZP within the setup
 * segment (header copied from 0x1f1, E820 map from INT 15h AX=E820h),
 * enables A20, switches to 32-bit protected mode and jumps to code32_start
 * (the 32-bit entry at payload offset 0) with ESI = zero page.
 *
 * Linked at 0 on its own; sizes of the payload come from setup.ld, which
 * reads the symbols of guest.elf.
 */

#define ZP		0x4000		/* new zero page, offset in segment */
#define ZP_E820_ENTRIES	0x1e8
#define ZP_HDR		0x1f1
#define ZP_HDR_END	0x26c		/* end of struct setup_header */
#define ZP_E820_TABLE	0x2d0
#define E820_MAX	128
#define SMAP		0x534d4150
#define BOOT_CS		0x10
#define BOOT_DS		0x18

	.section .setup, "ax"
	.code16
	.globl	setup_begin
setup_begin:
	.org	0x1f1
	.byte	bz_setup_sects		/* setup_sects */
	.word	0			/* root_flags */
	.long	bz_syssize		/* syssize (16-byte units) */
	.word	0			/* ram_size */
	.word	0xffff			/* vid_mode: normal */
	.word	0			/* root_dev */
	.word	0xaa55			/* boot_flag */
	/* 0x200 */
	.byte	0xeb, setup_code - 1f	/* jump */
1:	.ascii	"HdrS"			/* header */
	.word	0x020f			/* version 2.15 */
	.long	0			/* realmode_swtch */
	.word	0			/* start_sys_seg */
	.word	setup_version - 0x200	/* kernel_version */
	.byte	0			/* type_of_loader */
	.byte	0x01			/* loadflags: LOADED_HIGH */
	.word	0			/* setup_move_size */
	.long	0x100000		/* code32_start */
	.long	0			/* ramdisk_image */
	.long	0			/* ramdisk_size */
	.long	0			/* bootsect_kludge */
	.word	0			/* heap_end_ptr */
	.byte	0			/* ext_loader_ver */
	.byte	0			/* ext_loader_type */
	.long	0			/* cmd_line_ptr */
	.long	0x37ffffff		/* initrd_addr_max */
	.long	0x100000		/* kernel_alignment */
	.byte	0			/* relocatable_kernel */
	.byte	12			/* min_alignment (log2) */
	.word	0x0001			/* xloadflags: XLF_KERNEL_64 */
	.long	2047			/* cmdline_size */
	.long	0			/* hardware_subarch */
	.quad	0			/* hardware_subarch_data */
	.long	0			/* payload_offset */
	.long	0			/* payload_length */
	.quad	0			/* setup_data */
	.quad	0x100000		/* pref_address */
	.long	bz_init_size		/* init_size */
	.long	0			/* handover_offset */
	.long	bz_kernel_info - 0x100000	/* kernel_info_offset */
	.globl	setup_hdr_end
setup_hdr_end:				/* checked by setup.ld */

setup_version:
	.asciz	"vmdguest"

/*
 * Entered with CS = seg + 0x20, IP = 0, DS = ES = SS = seg.
 */
setup_code:
	cli
	cld
	movw	%ds, %ax
	movw	%ax, %es
	movw	%ax, %ss
	movw	$0x7ff0, %sp		/* stack: 0x5000-0x8000 */
	pushw	%ax
	pushw	$2f
	lretw
2:
	/* Fresh zero page with a copy of the (loader-updated) header. */
	movw	$ZP, %di
	movw	$2048, %cx
	xorw	%ax, %ax
	rep stosw
	movw	$ZP_HDR, %si
	movw	$(ZP + ZP_HDR), %di
	movw	$(ZP_HDR_END - ZP_HDR), %cx
	rep movsb

	/* E820 memory map. */
	xorl	%ebx, %ebx
	xorw	%bp, %bp
	movw	$(ZP + ZP_E820_TABLE), %di
3:	movl	$0xe820, %eax
	movl	$SMAP, %edx
	movl	$20, %ecx
	int	$0x15
	jc	4f
	cmpl	$SMAP, %eax
	jne	4f
	incw	%bp
	addw	$20, %di
	testl	%ebx, %ebx
	jz	4f
	cmpw	$E820_MAX, %bp
	jb	3b
4:	movw	%bp, %ax
	movb	%al, (ZP + ZP_E820_ENTRIES)

	/* Fast A20. */
	inb	$0x92, %al
	orb	$0x02, %al
	andb	$0xfe, %al
	outb	%al, $0x92

	/* Linear addresses: GDT base, 32-bit trampoline, zero page. */
	xorl	%ebx, %ebx
	movw	%ds, %bx
	shll	$4, %ebx
	leal	setup_gdt(%ebx), %eax
	movl	%eax, setup_gdt_desc + 2
	leal	setup_pm32(%ebx), %eax
	movl	%eax, setup_pm32_ptr
	leal	ZP(%ebx), %esi
	movl	(ZP + 0x214), %ebp	/* code32_start */

	lgdtl	setup_gdt_desc
	movl	%cr0, %eax
	orb	$1, %al
	movl	%eax, %cr0
	.byte	0x66, 0xea		/* ljmpl $BOOT_CS, $setup_pm32 */
setup_pm32_ptr:
	.long	0
	.word	BOOT_CS

	.code32
setup_pm32:
	movl	$BOOT_DS, %eax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	jmp	*%ebp

	.balign	8
setup_gdt:
	.quad	0
	.quad	0
	.quad	0x00cf9b000000ffff	/* BOOT_CS */
	.quad	0x00cf93000000ffff	/* BOOT_DS */
setup_gdt_end:
setup_gdt_desc:
	.word	setup_gdt_end - setup_gdt - 1
	.long	0

	.balign	512
	.globl	setup_finish
setup_finish:
