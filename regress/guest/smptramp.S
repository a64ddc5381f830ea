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
 * Start of an application processor.  smp.c copies smp_tramp..
 * smp_tramp_end to TRAMP_PA and fills in the BSP's GDT pointer and CR3;
 * a STARTUP IPI with vector TRAMP_PA >> 12 enters it in real mode at
 * CS:IP = TRAMP_PA >> 4:0.  It goes to protected mode on the guest's
 * GDT, to long mode on the BSP's page tables, and on to smp_ap_entry,
 * which finds the CPU's index from its local APIC id (smp_cpuidx) and
 * calls smp_ap_main(index) on that CPU's stack.
 */

#include "guest.h"

#define CR0_PE		0x00000001
#define CR0_PG		0x80000000
#define CR4_PAE		0x00000020
#define MSR_EFER	0xc0000080
#define EFER_LME	0x00000100
#define LAPIC_ID_PA	0xfee00020
#define STACK_SHIFT	12	/* 4 KiB a CPU, as smp.c has it */

/* Linked here, run at TRAMP_PA: only offsets within it are used. */
#define TR(x)		(TRAMP_PA + (x) - smp_tramp)

	.section .rodata
	.balign	16
	.globl	smp_tramp, smp_tramp_end, smp_tramp_gdtr, smp_tramp_cr3

	.code16
smp_tramp:
	cli
	cld
	lgdtl	%cs:(smp_tramp_gdtr - smp_tramp)
	movl	%cr0, %eax
	orl	$CR0_PE, %eax
	movl	%eax, %cr0
	ljmpl	$SEL_CODE32, $TR(1f)

	.code32
1:	movl	$SEL_DATA, %eax
	movw	%ax, %ds
	movw	%ax, %es
	movw	%ax, %ss
	movw	%ax, %fs
	movw	%ax, %gs
	movl	%cr4, %eax
	orl	$CR4_PAE, %eax
	movl	%eax, %cr4
	movl	TR(smp_tramp_cr3), %eax
	movl	%eax, %cr3
	movl	$MSR_EFER, %ecx
	rdmsr
	orl	$EFER_LME, %eax
	wrmsr
	movl	%cr0, %eax
	orl	$(CR0_PG | CR0_PE), %eax
	movl	%eax, %cr0
	ljmp	$SEL_CODE64, $smp_ap_entry

	.balign	4
smp_tramp_gdtr:			/* limit, 32-bit base: the BSP's sgdt */
	.word	0
	.long	0
	.balign	4
smp_tramp_cr3:			/* the BSP's page tables */
	.long	0
smp_tramp_end:

/*
 * Long mode, flat segments, no stack yet.  The local APIC is mapped (the
 * BSP mapped it before sending the IPIs).  An AP whose APIC id the BSP
 * does not know (index 0) counts itself in smp_strays and stops.
 */
	.text
	.code64
smp_ap_entry:
	movl	$LAPIC_ID_PA, %edx
	movl	(%rdx), %eax
	shrl	$24, %eax
	movzbl	smp_cpuidx(%rax), %edi
	testl	%edi, %edi
	jz	2f
	movl	%edi, %eax
	shll	$STACK_SHIFT, %eax
	leaq	smp_stacks(%rax), %rsp		/* top of slot index - 1 */
	xorl	%ebp, %ebp
	call	smp_ap_main
2:	lock incl smp_strays
3:	cli
	hlt
	jmp	3b
