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
 * lmstub: a qemu-only test helper (not part of the guest images) that
 * emulates how our VMM starts guest.elf and guest.bzImage: entered by
 * qemu's PVH boot (32-bit, EBX = hvm_start_info), it builds a Linux zero
 * page from hvm_start_info, switches to long mode with its own GDT (64-bit
 * code selector 0x10, unlike the guest's) and page tables, and jumps to the
 * 64-bit entry with RSI = zero page and RSP below 0x10000.
 *
 * The payload is loaded separately with qemu's generic loader:
 *	-device loader,file=guest.elf			(ELF entry)
 *	-device loader,file=guest.bin,addr=0x100000,force-raw=on
 * The entry address is the 32-bit value at STUB_TARGET, 0x100208 if zero
 * (set it with -device loader,addr=0x7f0000,data=0x100200,data-len=4).
 */

#define STUB_TARGET	0x7f0000
#define DEFAULT_TARGET	0x100208	/* e_entry of guest.elf */
#define HANDOFF_STACK	0x9000
#define HVM_MAGIC	0x336ec578

	.text
	.code32
	.globl	stub_pvh
stub_pvh:
	cli
	cld
	movl	$stub_stack_top, %esp
	cmpl	$HVM_MAGIC, (%ebx)
	jne	stub_halt

	/* Zero page. */
	movl	$zeropage, %edi
	xorl	%eax, %eax
	movl	$1024, %ecx
	rep stosl
	movl	24(%ebx), %eax			/* cmdline_paddr */
	movl	%eax, zeropage + 0x228		/* cmd_line_ptr */
	movl	32(%ebx), %eax			/* rsdp_paddr */
	movl	%eax, zeropage + 0x070		/* acpi_rsdp_addr */
	cmpl	$0, 12(%ebx)			/* nr_modules */
	je	1f
	movl	16(%ebx), %esi			/* modlist_paddr */
	movl	0(%esi), %eax
	movl	%eax, zeropage + 0x218		/* ramdisk_image */
	movl	8(%esi), %eax
	movl	%eax, zeropage + 0x21c		/* ramdisk_size */
1:	cmpl	$1, 4(%ebx)			/* version */
	jb	3f
	movl	40(%ebx), %esi			/* memmap_paddr */
	movl	48(%ebx), %edx			/* memmap_entries */
	cmpl	$128, %edx
	jbe	2f
	movl	$128, %edx
2:	movb	%dl, zeropage + 0x1e8		/* e820_entries */
	movl	$zeropage + 0x2d0, %edi		/* e820_table */
4:	testl	%edx, %edx
	jz	3f
	movl	$5, %ecx			/* 20 of the 24 bytes */
	rep movsl
	addl	$4, %esi
	decl	%edx
	jmp	4b
3:
	lgdt	stub_gdt_desc
	ljmp	$0x08, $5f
5:	movl	$0x18, %eax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movl	%cr4, %eax
	orl	$0x20, %eax			/* PAE */
	movl	%eax, %cr4
	movl	$stub_pml4, %eax
	movl	%eax, %cr3
	movl	$0xc0000080, %ecx
	rdmsr
	orl	$0x100, %eax			/* LME */
	wrmsr
	movl	%cr0, %eax
	orl	$0x80000001, %eax		/* PG | PE */
	movl	%eax, %cr0
	ljmp	$0x10, $6f

	.code64
6:	movl	$0x18, %eax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movl	STUB_TARGET, %eax
	testl	%eax, %eax
	jnz	7f
	movl	$DEFAULT_TARGET, %eax
7:	movq	$HANDOFF_STACK, %rsp
	movq	$zeropage, %rsi
	/* Garbage in the other registers. */
	movq	$0xdeadbeefdeadbeef, %rbx
	movq	%rbx, %rcx
	movq	%rbx, %rdx
	movq	%rbx, %rdi
	movq	%rbx, %rbp
	pushq	$0
	popfq
	jmp	*%rax

	.code32
stub_halt:
	cli
	hlt
	jmp	stub_halt

	.data
	.balign	8
stub_gdt:
	.quad	0
	.quad	0x00cf9b000000ffff		/* 0x08: 32-bit code */
	.quad	0x00af9b000000ffff		/* 0x10: 64-bit code */
	.quad	0x00cf93000000ffff		/* 0x18: data */
stub_gdt_end:
stub_gdt_desc:
	.word	stub_gdt_end - stub_gdt - 1
	.quad	stub_gdt

	.balign	4096
stub_pml4:
	.quad	stub_pdpt + 3
	.fill	511, 8, 0
stub_pdpt:
	.quad	stub_pd + 3
	.fill	511, 8, 0
stub_pd:
	pa = 0
	.rept	512
	.quad	pa + 0x83
	pa = pa + 0x200000
	.endr

	.bss
	.balign	4096
zeropage:
	.space	4096
	.space	4096
stub_stack_top:

	.section .note.Xen, "a", @note
	.balign	4
	.long	2f - 1f
	.long	4f - 3f
	.long	18				/* XEN_ELFNOTE_PHYS32_ENTRY */
1:	.asciz	"Xen"
2:	.balign	4
3:	.long	stub_pvh
4:	.balign	4
