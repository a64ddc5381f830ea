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
 * Several CPUs: the BSP starts the application processors the MADT
 * lists with INIT and STARTUP IPIs through its xAPIC, one at a time;
 * each reports itself in one console line and then idles in "sti; hlt",
 * counting its own local APIC timer's interrupts and the BSP's IPIs.
 * CPU indexes: 0 is the BSP, then the other MADT entries in order.  The
 * APs take no other interrupt: their LINT0 and LINT1 are masked, and
 * the IOAPIC is not used.
 */

#include "guest.h"

#define HZ			100	/* PIT ticks a second (intr.c) */
#define SMP_TIMER_HZ		10	/* the APs' timer */
#define SMP_TIMER_DEFAULT	6250000	/* 10 Hz at 1 GHz / 16 */
#define SMP_STACKSZ		4096	/* STACK_SHIFT in smptramp.S */
#define E820_RAM		1

#define LAPIC_ID		0x020
#define LAPIC_TPR		0x080
#define LAPIC_SVR		0x0f0
#define LAPIC_ICR_LO		0x300
#define LAPIC_ICR_HI		0x310
#define LAPIC_LVT_TIMER		0x320
#define LAPIC_LVT0		0x350
#define LAPIC_LVT1		0x360
#define LAPIC_TIMER_INIT	0x380
#define LAPIC_TIMER_CUR		0x390
#define LAPIC_TIMER_DIV		0x3e0

#define SVR_ENABLE		0x00000100
#define LVT_MASKED		0x00010000
#define LVT_PERIODIC		0x00020000
#define TIMER_DIV16		0x3
#define ICR_FIXED		0x00000000
#define ICR_INIT		0x00000500
#define ICR_STARTUP		0x00000600
#define ICR_PENDING		0x00001000	/* delivery status */
#define ICR_ASSERT		0x00004000
#define ICR_LEVEL		0x00008000

struct smpcpu {
	uint32_t		apicid;		/* from the MADT */
	volatile uint32_t	up;		/* it printed its line */
	volatile uint64_t	ticks;		/* its timer's interrupts */
	volatile uint64_t	ipis;		/* VEC_SMPIPI received */
};

struct dtptr {
	uint16_t	d_limit;
	uint64_t	d_base;
} __attribute__((__packed__));

enum { SMP_NONE, SMP_FAILED, SMP_UP };

/* smptramp.S */
extern char		smp_tramp[], smp_tramp_end[];
extern char		smp_tramp_gdtr[], smp_tramp_cr3[];

void			smp_ap_main(uint64_t) __attribute__((__noreturn__));

#define NOINIT(a)	__attribute__((__section__(".noinit"), __aligned__(a)))

/*
 * Used by smptramp.S: index by APIC id (0: not ours), stacks, strays.
 * The tables live in .noinit (.bss is kept small): cmd_smp clears them.
 */
uint8_t			smp_cpuidx[256] NOINIT(64);
char			smp_stacks[(MAXCPUS - 1) * SMP_STACKSZ]
			    NOINIT(SMP_STACKSZ);
volatile uint32_t	smp_strays;

static struct smpcpu	cpus[MAXCPUS] NOINIT(64);
static uint64_t		ipis_before[MAXCPUS] NOINIT(64);
static struct acpiinfo	smp_acpi NOINIT(64);
static int		ncpus;
static int		smp_state;
static struct dtptr	smp_idtr;
static uint32_t		smp_timer_count;
static volatile uint32_t cons_lock;

/* Serializes the CPUs' console lines (xchg, no cmpxchg16b). */
static void
smp_lock(void)
{
	while (__atomic_exchange_n(&cons_lock, 1, __ATOMIC_ACQUIRE) != 0)
		while (cons_lock != 0)
			__asm__ volatile("pause");
}

static void
smp_unlock(void)
{
	__atomic_store_n(&cons_lock, 0, __ATOMIC_RELEASE);
}

/* The CPU we run on: APs run on their slot of smp_stacks, the BSP not. */
static int
smp_self(void)
{
	uint64_t sp, base = (uint64_t)smp_stacks;

	__asm__ volatile("movq %%rsp, %0" : "=r"(sp));
	if (sp <= base || sp > base + sizeof(smp_stacks))
		return 0;
	return (sp - 1 - base) / SMP_STACKSZ + 1;
}

/* One line about the CPU we run on. */
static void
smp_report(int idx)
{
	uint32_t r[4], id, max, cid, x2 = 0, cnt = 0;

	id = *lapic_reg(LAPIC_ID) >> 24;
	cpuid(0, 0, r);
	max = r[0];
	cpuid(1, 0, r);
	cid = r[1] >> 24;
	if (max >= 0xb) {
		cpuid(0xb, 1, r);
		x2 = r[3];
		cnt = r[1] & 0xffff;
	}
	smp_lock();
	kprintf("SMP CPU %d apicid=%u cpuid=%u ", idx, id, cid);
	if (max >= 0xb)
		kprintf("x2apic=%u count=%u\n", x2, cnt);
	else
		kprintf("x2apic=none count=none\n");
	smp_unlock();
}

/* An AP, on its own stack, in long mode with interrupts off. */
void
smp_ap_main(uint64_t idx)
{
	__asm__ volatile("lidt %0" : : "m"(smp_idtr));
	/* enabled first: while it is disabled, LVT writes stay masked */
	*lapic_reg(LAPIC_SVR) = SVR_ENABLE | VEC_SPURIOUS;
	*lapic_reg(LAPIC_TPR) = 0;
	*lapic_reg(LAPIC_LVT0) = LVT_MASKED;
	*lapic_reg(LAPIC_LVT1) = LVT_MASKED;
	*lapic_reg(LAPIC_LVT_TIMER) = LVT_MASKED;
	smp_report(idx);
	cpus[idx].up = 1;
	*lapic_reg(LAPIC_TIMER_DIV) = TIMER_DIV16;
	*lapic_reg(LAPIC_LVT_TIMER) = LVT_PERIODIC | VEC_SMPTIMER;
	*lapic_reg(LAPIC_TIMER_INIT) = smp_timer_count;
	for (;;)
		sti_hlt();
}

/* VEC_SMPTIMER and VEC_SMPIPI, from irq_handler(). */
void
smp_intr(uint64_t vec)
{
	int idx = smp_self();
	struct smpcpu *c = &cpus[idx];

	if (vec == VEC_SMPTIMER)
		c->ticks++;
	else {
		/* said by the AP itself, from its own LAPIC */
		smp_lock();
		kprintf("SMPHI %d apicid=%u\n", idx,
		    *lapic_reg(LAPIC_ID) >> 24);
		smp_unlock();
		c->ipis++;
	}
	lapic_eoi();
}

static void
ipi_send(uint32_t apicid, uint32_t icr)
{
	int i;

	/* what the target reads (trampoline, smp_cpuidx) is out first */
	__asm__ volatile("mfence" : : : "memory");
	for (i = 0; i < 1000 && (*lapic_reg(LAPIC_ICR_LO) & ICR_PENDING); i++)
		;
	*lapic_reg(LAPIC_ICR_HI) = apicid << 24;
	*lapic_reg(LAPIC_ICR_LO) = icr;
}

/* INIT, then STARTUP twice: the second one is lost on a running CPU. */
static void
ap_start(uint32_t apicid)
{
	ipi_send(apicid, ICR_INIT | ICR_LEVEL | ICR_ASSERT);
	ipi_send(apicid, ICR_INIT | ICR_LEVEL);
	wait_ticks(2);
	ipi_send(apicid, ICR_STARTUP | TRAMP_PA >> 12);
	wait_ticks(1);
	ipi_send(apicid, ICR_STARTUP | TRAMP_PA >> 12);
}

/*
 * The BSP's local APIC timer, one-shot and masked, against 100 ms of
 * PIT ticks: the initial count of a 10 Hz periodic timer.
 */
static uint32_t
timer_calibrate(void)
{
	uint32_t left;
	uint64_t t0;

	*lapic_reg(LAPIC_LVT_TIMER) = LVT_MASKED | VEC_TIMER;
	*lapic_reg(LAPIC_TIMER_DIV) = TIMER_DIV16;
	wait_ticks(1);
	t0 = ticks;
	*lapic_reg(LAPIC_TIMER_INIT) = 0xffffffff;
	wait_until(t0 + HZ / SMP_TIMER_HZ);
	left = *lapic_reg(LAPIC_TIMER_CUR);
	*lapic_reg(LAPIC_TIMER_INIT) = 0;
	if (left == 0 || left == 0xffffffff)
		return SMP_TIMER_DEFAULT;
	return 0xffffffff - left;
}

static int
overlaps_tramp(uint64_t pa, uint64_t len)
{
	return len > 0 && pa < TRAMP_PA + 4096 && pa + len > TRAMP_PA;
}

/* Is the trampoline's page RAM that no boot data lives in? */
static const char *
tramp_check(void)
{
	uint64_t e, a, l;
	uint32_t i, n = bootinfo.bi_e820n, ram = 0;

	if (smp_tramp_end - smp_tramp > 4096)
		return "trampoline too big";
	if (!mapped(bootinfo.bi_e820, (uint64_t)n * bootinfo.bi_e820stride))
		n = 0;
	for (i = 0; i < n; i++) {
		e = bootinfo.bi_e820 + (uint64_t)i * bootinfo.bi_e820stride;
		a = rd64(e);
		l = rd64(e + 8);
		if (rd32(e + 16) == E820_RAM && a <= TRAMP_PA &&
		    a + l >= TRAMP_PA + 4096)
			ram = 1;
	}
	if (!ram)
		return "no RAM at 0x8000";
	if (overlaps_tramp((uint64_t)bootinfo.bi_cmdline,
	    bootinfo.bi_cmdlen + 1) ||
	    overlaps_tramp(bootinfo.bi_e820,
	    (uint64_t)n * bootinfo.bi_e820stride) ||
	    overlaps_tramp(bootinfo.bi_initrd, bootinfo.bi_initrdsz))
		return "boot data at 0x8000";
	return NULL;
}

/* Copy the trampoline to TRAMP_PA with the BSP's GDT and CR3 in it. */
static void
tramp_install(void)
{
	struct dtptr gdtr;
	uint64_t cr3;
	char *t = (char *)TRAMP_PA;
	uint16_t lim;
	uint32_t v;

	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	__asm__ volatile("movq %%cr3, %0" : "=r"(cr3));
	memcpy(t, smp_tramp, smp_tramp_end - smp_tramp);
	lim = gdtr.d_limit;
	memcpy(t + (smp_tramp_gdtr - smp_tramp), &lim, 2);
	v = (uint32_t)gdtr.d_base;
	memcpy(t + (smp_tramp_gdtr - smp_tramp) + 2, &v, 4);
	v = (uint32_t)cr3;
	memcpy(t + (smp_tramp_cr3 - smp_tramp), &v, 4);
}

static int
smp_nup(void)
{
	int i, n = 0;

	for (i = 0; i < ncpus; i++)
		if (cpus[i].up)
			n++;
	return n;
}

/* CPU 0 is the BSP, then the MADT's other enabled entries in order. */
static const char *
smp_cpus(void)
{
	uint32_t bsp;
	int i, n, found = 0;

	if (acpi_lookup(bootinfo.bi_rsdp, &smp_acpi) != 0 &&
	    smp_acpi.ai_cpus == 0)
		return "no MADT";
	if (smp_acpi.ai_cpus == 0)
		return "no CPU in the MADT";
	if (lapic_init() != 0)
		return "no local APIC";
	bsp = *lapic_reg(LAPIC_ID) >> 24;
	n = smp_acpi.ai_cpus < MAXCPUS ? smp_acpi.ai_cpus : MAXCPUS;
	cpus[0].apicid = bsp;
	ncpus = 1;
	for (i = 0; i < n; i++) {
		if (smp_acpi.ai_apicid[i] == bsp && !found) {
			found = 1;
			continue;
		}
		if (ncpus == MAXCPUS)
			break;
		if (smp_acpi.ai_apicid[i] >= 0xff)
			return "APIC id too large for the xAPIC";
		cpus[ncpus++].apicid = smp_acpi.ai_apicid[i];
	}
	if (!found)
		return "BSP not in the MADT";
	return NULL;
}

void
cmd_smp(const char *arg)
{
	const char *why;
	uint64_t deadline;
	int i;

	(void)arg;
	if (smp_state == SMP_UP) {
		kprintf("SMP OK cpus=%d\n", smp_nup());
		return;
	}
	if (smp_state == SMP_FAILED) {
		kprintf("SMP FAIL already started\n");
		return;
	}
	memset(cpus, 0, sizeof(cpus));
	memset(smp_cpuidx, 0, sizeof(smp_cpuidx));
	if ((why = smp_cpus()) != NULL ||
	    (ncpus > 1 && (why = tramp_check()) != NULL)) {
		ncpus = 0;
		kprintf("SMP FAIL %s\n", why);
		return;
	}
	__asm__ volatile("sidt %0" : "=m"(smp_idtr));
	if (ncpus > 1) {
		smp_timer_count = timer_calibrate();
		tramp_install();
	}
	for (i = 1; i < ncpus; i++)
		smp_cpuidx[cpus[i].apicid] = i;
	smp_report(0);
	cpus[0].up = 1;
	smp_state = SMP_FAILED;		/* until every AP is up */
	deadline = ticks + 5 * HZ;
	for (i = 1; i < ncpus; i++) {
		ap_start(cpus[i].apicid);
		while (!cpus[i].up && ticks < deadline)
			idle();
		if (!cpus[i].up) {
			smp_lock();
			if (smp_strays != 0)
				kprintf("SMP FAIL cpu %d did not start "
				    "(strays=%u)\n", i, smp_strays);
			else
				kprintf("SMP FAIL cpu %d did not start\n", i);
			smp_unlock();
			return;
		}
	}
	smp_state = SMP_UP;
	smp_lock();
	kprintf("SMP OK cpus=%d\n", ncpus);
	smp_unlock();
}

void
cmd_smpstat(const char *arg)
{
	int i, n = 0;

	(void)arg;
	if (smp_state == SMP_NONE) {
		kprintf("SMPSTAT FAIL not started\n");
		return;
	}
	for (i = 1; i < ncpus; i++) {
		if (!cpus[i].up)
			continue;
		kprintf("SMPSTAT %d ticks=%lu ipis=%lu\n", i, cpus[i].ticks,
		    cpus[i].ipis);
		n++;
	}
	kprintf("SMPSTAT END %d\n", n);
}

void
cmd_smpipi(const char *arg)
{
	uint64_t deadline;
	int i, done;

	(void)arg;
	if (smp_state == SMP_NONE) {
		kprintf("SMPIPI FAIL not started\n");
		return;
	}
	for (i = 1; i < ncpus; i++) {
		if (!cpus[i].up)
			continue;
		ipis_before[i] = cpus[i].ipis;
		ipi_send(cpus[i].apicid, ICR_FIXED | ICR_ASSERT | VEC_SMPIPI);
	}
	deadline = ticks + 2 * HZ;
	for (;;) {
		done = 1;
		for (i = 1; i < ncpus; i++)
			if (cpus[i].up && cpus[i].ipis == ipis_before[i])
				done = 0;
		if (done || ticks >= deadline)
			break;
		idle();
	}
	for (i = 1; i < ncpus; i++) {
		if (cpus[i].up && cpus[i].ipis == ipis_before[i]) {
			kprintf("SMPIPI FAIL cpu %d\n", i);
			return;
		}
	}
	kprintf("SMPIPI OK cpus=%d\n", smp_nup());
}
