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
 * Entry points, GDT and page tables of the test guest.
 *
 * The image is linked and loaded at KERNBASE (1 MiB).  The first bytes of
 * the .head section double as the payload of guest.bzImage:
 *
 *   +0x000  32-bit bzImage entry (32-bit boot protocol, ESI = zero page)
 *   +0x200  64-bit bzImage entry (64-bit boot protocol, RSI = zero page)
 *
 * followed by the ELF entry (64-bit, RSI = zero page, e_entry of guest.elf
 * and guest-pvh.elf) and the PVH entry (32-bit, paging off, EBX =
 * hvm_start_info, named by the Xen ELF note of guest-pvh.elf).
 *
 * Every path ends up in long mode on our own GDT, page tables (identity
 * map of the first 1 GiB with 2 MiB pages, built at assembly time; the
 * virtio code adds uncached 2 MiB mappings of memory BARs anywhere) and
 * stack, clears the small .bss and calls kmain(kind, info).
 */

#include "guest.h"

#define CR0_PE		0x00000001
#define CR0_PG		0x80000000
#define CR4_PAE		0x00000020
#define MSR_EFER	0xc0000080
#define EFER_LME	0x00000100
#define PG_P		0x001
#define PG_RW		0x002
#define PG_PS		0x080

	.section .head, "ax"

	.code32
	.globl	entry_bz32
entry_bz32:
	cli
	movl	$BOOT_BZIMAGE, %edi
	jmp	entry32

	.org	0x200
	.code64
	.globl	entry_bz64
entry_bz64:
	cli
	movl	$BOOT_BZIMAGE, %edi
	jmp	entry64

	.globl	entry_elf
entry_elf:
	cli
	movl	$BOOT_ELF, %edi
	jmp	entry64

	.code32
	.globl	entry_pvh
entry_pvh:
	cli
	movl	%ebx, %esi
	movl	$BOOT_PVH, %edi
	/* FALLTHROUGH */

/*
 * 32-bit protected mode, paging off; EDI = kind, ESI = boot info.
 * The GDT pointer is read through whatever flat DS the loader gave us.
 */
entry32:
	lgdt	gdt_desc
	ljmp	$SEL_CODE32, $1f
1:	movl	$SEL_DATA, %eax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	$pml4, %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$(CR0_PG | CR0_PE), %eax
	movl	%eax, %cr0
	ljmp	$SEL_CODE64, $entry64_from32

	.code64
entry64_from32:
	/* The upper halves are not defined after the mode switch. */
	movl	%edi, %edi
	movl	%esi, %esi
	/* FALLTHROUGH */

/* 64-bit mode; RDI = kind, RSI = boot info.  Do not touch the stack yet. */
entry64:
	lgdt	gdt_desc(%rip)
	movl	$SEL_DATA, %eax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	movq	$stack_top, %rsp
	movq	$pml4, %rax
	movq	%rax, %cr3
	pushq	$SEL_CODE64
	movq	$1f, %rax
	pushq	%rax
	lretq
1:
	/* Clear .bss (a few hundred bytes; the stack is not part of it). */
	movq	$__bss_start, %rax
	movq	$__bss_end, %rcx
2:	cmpq	%rcx, %rax
	jae	3f
	movq	$0, (%rax)
	addq	$8, %rax
	jmp	2b
3:	xorl	%ebp, %ebp
	call	kmain
4:	cli
	hlt
	jmp	4b

/*
 * Exception and interrupt stubs: stub v lives at isr_stubs + 16 * v and
 * pushes a dummy error code where the CPU does not push one, then v.
 */
	.text
	.balign	16
	.globl	isr_stubs
isr_stubs:
	vec = 0
	.rept	NIDT
	.balign	16
	.if (vec == 8 || vec == 10 || vec == 11 || vec == 12 || vec == 13 || \
	    vec == 14 || vec == 17 || vec == 21 || vec == 29 || vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$vec
	.if vec < IRQ_BASE
	jmp	exc_common
	.else
	jmp	irq_common
	.endif
	vec = vec + 1
	.endr

exc_common:
	movq	%rsp, %rdi
	andq	$-16, %rsp
	call	exc_handler
1:	cli
	hlt
	jmp	1b

irq_common:
	/* vector and dummy error code on top of the CPU's 5-word frame */
	pushq	%rax
	pushq	%rcx
	pushq	%rdx
	pushq	%rsi
	pushq	%rdi
	pushq	%r8
	pushq	%r9
	pushq	%r10
	pushq	%r11
	/* 40 + 16 + 72 bytes below a 16-byte boundary: ABI-aligned call */
	movq	72(%rsp), %rdi
	call	irq_handler
	popq	%r11
	popq	%r10
	popq	%r9
	popq	%r8
	popq	%rdi
	popq	%rsi
	popq	%rdx
	popq	%rcx
	popq	%rax
	addq	$16, %rsp
	iretq

/* Load an empty IDT and fault: #UD -> #GP -> #DF -> shutdown. */
	.globl	triple_fault
triple_fault:
	cli
	lidt	null_idt(%rip)
	ud2
	jmp	triple_fault

	.section .rodata
	.balign	16
null_idt:
	.word	0
	.quad	0

/*
 * kernel_info (boot protocol 2.15), referenced by the setup header's
 * kernel_info_offset relative to the start of the payload.
 */
	.balign	4
	.globl	bz_kernel_info
bz_kernel_info:
	.ascii	"LToP"
	.long	bz_kernel_info_end - bz_kernel_info	/* size */
	.long	bz_kernel_info_end - bz_kernel_info	/* size_total */
	.long	0					/* setup_type_max */
bz_kernel_info_end:

	.section .data
	.balign	16
gdt:
	.quad	0
	.quad	0x00af9b000000ffff	/* SEL_CODE64: 64-bit code */
	.quad	0x00cf93000000ffff	/* SEL_DATA: flat data */
	.quad	0x00cf9b000000ffff	/* SEL_CODE32: flat 32-bit code */
gdt_end:

	.balign	8
	.word	0
gdt_desc:
	.word	gdt_end - gdt - 1
	.quad	gdt

	.balign	4096
	.globl	pml4
pml4:
	.quad	pdpt + (PG_P | PG_RW)
	.fill	511, 8, 0
pdpt:
	.quad	pd + (PG_P | PG_RW)
	.fill	511, 8, 0
pd:
	pa = 0
	.rept	512
	.quad	pa + (PG_P | PG_RW | PG_PS)
	pa = pa + 0x200000
	.endr
