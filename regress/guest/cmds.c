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
 * The guest's commands, shared by run= on the command line and the shell.
 */

#include "guest.h"

#define HZ		100
#define PM1_SLP_TYP_SHIFT	10
#define PM1_SLP_EN	0x2000

#define KBC_STATUS	0x64
#define KBC_CMD		0x64
#define KBC_INBUF_FULL	0x02
#define KBC_PULSE_RESET	0xfe

#define RTC_INDEX	0x70
#define RTC_DATA	0x71
#define RTC_SEC		0x00
#define RTC_MIN		0x02
#define RTC_HOUR	0x04
#define RTC_DAY		0x07
#define RTC_MON		0x08
#define RTC_YEAR	0x09
#define RTC_REGA	0x0a
#define RTC_REGB	0x0b
#define RTC_CENTURY	0x32
#define RTCA_UIP	0x80
#define RTCB_24H	0x02
#define RTCB_BIN	0x04
#define RTC_PM		0x80

struct bootinfo		bootinfo;
volatile int		button_pending;
volatile int		async_output;	/* service() printed something */
static int		ignore_button;
static int		in_poweroff;

static void	cmd_poweroff(const char *);

static void
cmd_hello(const char *arg)
{
	(void)arg;
	kprintf("HELLO\n");
}

static void
cmd_echo(const char *arg)
{
	if (*arg == '\0')
		kprintf("ECHO\n");
	else
		kprintf("ECHO %s\n", arg);
}

static void
cmd_cmdline(const char *arg)
{
	(void)arg;
	kprintf("CMDLINE %.*s\n", (int)bootinfo.bi_cmdlen, bootinfo.bi_cmdline);
}

static void
cmd_e820(const char *arg)
{
	uint64_t e;
	uint32_t i, n = bootinfo.bi_e820n;

	(void)arg;
	if (!mapped(bootinfo.bi_e820, (uint64_t)n * bootinfo.bi_e820stride))
		n = 0;
	for (i = 0; i < n; i++) {
		e = bootinfo.bi_e820 + (uint64_t)i * bootinfo.bi_e820stride;
		kprintf("E820 0x%lx 0x%lx %u\n", rd64(e), rd64(e + 8),
		    rd32(e + 16));
	}
	kprintf("E820 END %u\n", n);
}

/* Checksum: 32-bit FNV-1a over the initrd bytes (see fnv1a32()). */
static void
cmd_initrd(const char *arg)
{
	uint64_t pa = bootinfo.bi_initrd, sz = bootinfo.bi_initrdsz;

	(void)arg;
	if (sz == 0)
		kprintf("INITRD none\n");
	else if (!mapped(pa, sz))
		kprintf("INITRD FAIL unmapped addr=0x%lx size=%lu\n", pa, sz);
	else
		kprintf("INITRD addr=0x%lx size=%lu sum=0x%08x\n", pa, sz,
		    fnv1a32(pa, sz));
}

static void
cmd_acpi(const char *arg)
{
	struct acpiinfo ai;

	(void)arg;
	if (acpi_lookup(bootinfo.bi_rsdp, &ai) != 0)
		kprintf("ACPI FAIL %s\n", ai.ai_err);
	else
		kprintf("ACPI OK cpus=%d s5=%d pm1a_cnt=0x%x pm1a_evt=0x%x "
		    "sci=%u\n", ai.ai_cpus, ai.ai_s5, ai.ai_pm1a_cnt,
		    ai.ai_pm1a_evt, ai.ai_sci);
}

static void
cmd_pci(const char *arg)
{
	uint32_t id, class;
	int dev, fn, nfn, n = 0;

	(void)arg;
	for (dev = 0; dev < 32; dev++) {
		if ((pci_read32(dev, 0, 0) & 0xffff) == 0xffff)
			continue;
		/* header type bit 7: multi-function device */
		nfn = (pci_read32(dev, 0, 0x0c) & 0x00800000) ? 8 : 1;
		for (fn = 0; fn < nfn; fn++) {
			id = pci_read32(dev, fn, 0);
			if ((id & 0xffff) == 0xffff)
				continue;
			class = pci_read32(dev, fn, 0x08) >> 8;
			kprintf("PCI 00:%02x.%x %04x:%04x class=%06x\n", dev,
			    fn, id & 0xffff, id >> 16, class);
			n++;
		}
	}
	kprintf("PCI END %d\n", n);
}

static uint8_t
rtc_read(uint8_t reg)
{
	outb(RTC_INDEX, reg);
	return inb(RTC_DATA);
}

static int
bcd(uint8_t v)
{
	return (v >> 4) * 10 + (v & 0x0f);
}

struct rtctime {
	uint8_t	sec, min, hour, day, mon, year, cent;
};

static void
rtc_snap(struct rtctime *t)
{
	int i;

	/* UIP is set for at most ~2 ms before an update. */
	for (i = 0; i < 1000 && (rtc_read(RTC_REGA) & RTCA_UIP); i++)
		;
	t->sec = rtc_read(RTC_SEC);
	t->min = rtc_read(RTC_MIN);
	t->hour = rtc_read(RTC_HOUR);
	t->day = rtc_read(RTC_DAY);
	t->mon = rtc_read(RTC_MON);
	t->year = rtc_read(RTC_YEAR);
	t->cent = rtc_read(RTC_CENTURY);
}

static void
cmd_rtc(const char *arg)
{
	struct rtctime a, b;
	uint8_t regb;
	int i, sec, min, hour, day, mon, year, cent, pm;

	(void)arg;
	/* Read until two snapshots agree: no update in between. */
	rtc_snap(&a);
	for (i = 0; i < 5; i++) {
		rtc_snap(&b);
		if (memcmp(&a, &b, sizeof(a)) == 0)
			break;
		a = b;
	}
	regb = rtc_read(RTC_REGB);
	pm = a.hour & RTC_PM;
	a.hour &= ~RTC_PM;
	if (regb & RTCB_BIN) {
		sec = a.sec;
		min = a.min;
		hour = a.hour;
		day = a.day;
		mon = a.mon;
		year = a.year;
		cent = a.cent;
	} else {
		sec = bcd(a.sec);
		min = bcd(a.min);
		hour = bcd(a.hour);
		day = bcd(a.day);
		mon = bcd(a.mon);
		year = bcd(a.year);
		cent = bcd(a.cent);
	}
	if ((regb & RTCB_24H) == 0) {
		if (hour == 12)
			hour = 0;
		if (pm)
			hour += 12;
	}
	if (cent == 0)
		cent = 20;
	kprintf("RTC %04d-%02d-%02d %02d:%02d:%02d\n", cent * 100 + year, mon,
	    day, hour, min, sec);
}

static void
cmd_tick(const char *arg)
{
	uint64_t n = 1, i, start;

	if (*arg != '\0' && parse_num(arg, &n) != 0) {
		kprintf("TICK FAIL bad count\n");
		return;
	}
	start = ticks;
	for (i = 1; i <= n; i++) {
		wait_until(start + i * HZ);
		kprintf("TICK %lu\n", i);
	}
}

/*
 * The local APIC's timer in TSC-deadline mode, as Linux arms it when
 * CPUID offers the mode: one interrupt, not before the deadline, and
 * the MSR reads 0 once it has fired.
 */
#define LAPIC_LVT_TIMER		0x320
#define LVT_TSC_DEADLINE	(2U << 17)
#define LVT_MASKED		(1U << 16)
#define MSR_TSC_DEADLINE	0x6e0
#define CPUID1_ECX_TSCDL	(1U << 24)

static void
cmd_tscdl(const char *arg)
{
	uint64_t cycles = 10000000, deadline, fired, start;
	uint32_t r[4];
	unsigned int n0;

	if (*arg != '\0' && parse_num(arg, &cycles) != 0) {
		kprintf("TSCDL FAIL bad cycle count\n");
		return;
	}
	cpuid(1, 0, r);
	if (!(r[2] & CPUID1_ECX_TSCDL)) {
		kprintf("TSCDL FAIL not in CPUID\n");
		return;
	}
	if (lapic_init() != 0) {
		kprintf("TSCDL FAIL no local APIC\n");
		return;
	}
	*lapic_reg(LAPIC_LVT_TIMER) = LVT_TSC_DEADLINE | VEC_TIMER;
	n0 = lapic_timer_intrs;
	deadline = rdtsc() + cycles;
	wrmsr(MSR_TSC_DEADLINE, deadline);
	start = ticks;
	while (lapic_timer_intrs == n0 && ticks < start + 2 * HZ)
		idle();
	fired = rdtsc();
	if (lapic_timer_intrs == n0) {
		kprintf("TSCDL FAIL no interrupt in 2 s\n");
		goto out;
	}
	if (fired < deadline) {
		kprintf("TSCDL FAIL early by %lu cycles\n", deadline - fired);
		goto out;
	}
	if (rdmsr(MSR_TSC_DEADLINE) != 0) {
		kprintf("TSCDL FAIL deadline still armed\n");
		goto out;
	}
	/* one deadline, one interrupt */
	wait_ticks(HZ / 10);
	if (lapic_timer_intrs != n0 + 1) {
		kprintf("TSCDL FAIL %u interrupts\n", lapic_timer_intrs - n0);
		goto out;
	}
	kprintf("TSCDL OK\n");
 out:
	*lapic_reg(LAPIC_LVT_TIMER) = LVT_MASKED;
}

static void
cmd_poweroff(const char *arg)
{
	(void)arg;
	kprintf("POWEROFF\n");
	if (!acpi.ai_ok) {
		kprintf("POWEROFF FAILED (ACPI %s)\n", acpi.ai_err);
		return;
	}
	in_poweroff = 1;
	outw(acpi.ai_pm1a_cnt, acpi.ai_s5 << PM1_SLP_TYP_SHIFT | PM1_SLP_EN);
	wait_ticks(HZ);
	in_poweroff = 0;
	kprintf("POWEROFF FAILED\n");
}

static void
cmd_reboot(const char *arg)
{
	int i;

	(void)arg;
	kprintf("REBOOT\n");
	for (i = 0; i < 1000 && (inb(KBC_STATUS) & KBC_INBUF_FULL); i++)
		;
	outb(KBC_CMD, KBC_PULSE_RESET);
	wait_ticks(HZ);
	kprintf("REBOOT FAILED\n");
}

static void
cmd_triple(const char *arg)
{
	(void)arg;
	kprintf("TRIPLE\n");
	triple_fault();
}

static void
cmd_fault(const char *arg)
{
	(void)arg;
	kprintf("FAULT\n");
	__asm__ volatile("ud2");
}

static void
cmd_spin(const char *arg)
{
	(void)arg;
	kprintf("SPIN\n");
	__asm__ volatile("cli; 1: jmp 1b");
}

/*
 * Execute from guest-physical memory that has no RAM behind it (just
 * below 1 GiB: give the VM less memory than that): the hypervisor cannot
 * fetch the instruction, which KVM reports as an internal error.
 */
static void
cmd_crash(const char *arg)
{
	void	(*nowhere)(void) = (void (*)(void))0x3ff00000UL;

	(void)arg;
	kprintf("CRASH\n");
	nowhere();
	kprintf("CRASH FAILED\n");
}

static void
cmd_ignorebutton(const char *arg)
{
	(void)arg;
	ignore_button = 1;
	kprintf("IGNOREBUTTON\n");
}

static void
cmd_mem(const char *arg)
{
	uint64_t pa;

	if (parse_num(arg, &pa) != 0)
		kprintf("MEM FAIL bad address\n");
	else if (!mapped(pa, 8))
		kprintf("MEM FAIL unmapped\n");
	else
		kprintf("MEM 0x%lx 0x%016lx\n", pa, rd64(pa));
}

/*
 * N writes to the POST port 0x80, which the VMMs ignore: the host times
 * the two lines to get the cost of one port-I/O exit (bench/).  The loop
 * is kept to a few instructions since ring-0 code may be emulated.
 */
static void
cmd_pio(const char *arg)
{
	uint64_t n;

	if (parse_num(arg, &n) != 0) {
		kprintf("PIO FAIL bad count\n");
		return;
	}
	kprintf("PIO BEGIN\n");
	if (n > 0)
		__asm__ volatile(
		    "1:	outb %%al, $0x80\n\t"
		    "decq %0\n\t"
		    "jnz 1b"
		    : "+r"(n) : "a"(0) : "cc");
	kprintf("PIO END\n");
}

static void	cmd_help(const char *);

static const struct command {
	const char	*name;
	void		(*fn)(const char *);
} commands[] = {
	{ "hello",		cmd_hello },
	{ "echo",		cmd_echo },
	{ "cmdline",		cmd_cmdline },
	{ "e820",		cmd_e820 },
	{ "initrd",		cmd_initrd },
	{ "acpi",		cmd_acpi },
	{ "pci",		cmd_pci },
	{ "rtc",		cmd_rtc },
	{ "tick",		cmd_tick },
	{ "tscdl",		cmd_tscdl },
	{ "poweroff",		cmd_poweroff },
	{ "reboot",		cmd_reboot },
	{ "triple",		cmd_triple },
	{ "fault",		cmd_fault },
	{ "spin",		cmd_spin },
	{ "crash",		cmd_crash },
	{ "ignorebutton",	cmd_ignorebutton },
	{ "mem",		cmd_mem },
	{ "pio",		cmd_pio },
	{ "count",		cmd_count },
	{ "virtio",		cmd_virtio },
	{ "msix",		cmd_msix },
	{ "blkinfo",		cmd_blkinfo },
	{ "blkread",		cmd_blkread },
	{ "blkwrite",		cmd_blkwrite },
	{ "blkcheck",		cmd_blkcheck },
	{ "blkflush",		cmd_blkflush },
	{ "blkid",		cmd_blkid },
	{ "blkdiscard",		cmd_blkdiscard },
	{ "blkzero",		cmd_blkzero },
	{ "blkmany",		cmd_blkmany },
	{ "blkbad",		cmd_blkbad },
	{ "blkmsix",		cmd_blkmsix },
	{ "cdinfo",		cmd_cdinfo },
	{ "cdinq",		cmd_cdinq },
	{ "cdread",		cmd_cdread },
	{ "cdwrite",		cmd_cdwrite },
	{ "rng",		cmd_rng },
	{ "viobreak",		cmd_viobreak },
	{ "netinfo",		cmd_netinfo },
	{ "netrx",		cmd_netrx },
	{ "netreset",		cmd_netreset },
	{ "netsniff",		cmd_netsniff },
	{ "ifaddr",		cmd_ifaddr },
	{ "dhcp",		cmd_dhcp },
	{ "dhcpreq",		cmd_dhcpreq },
	{ "bootp",		cmd_bootp },
	{ "ping",		cmd_ping },
	{ "netserve",		cmd_netserve },
	{ "netsend",		cmd_netsend },
	{ "netbig",		cmd_netbig },
	{ "smp",		cmd_smp },
	{ "smpstat",		cmd_smpstat },
	{ "smpipi",		cmd_smpipi },
	{ "vmmci",		cmd_vmmci },
	{ "vmmcimode",		cmd_vmmcimode },
	{ "vmmcistat",		cmd_vmmcistat },
	{ "vmmcitime",		cmd_vmmcitime },
	{ "vmmcihalt",		cmd_vmmcihalt },
	{ "vmmcifuzz",		cmd_vmmcifuzz },
	{ "race",		cmd_race },
	{ "chaos",		cmd_chaos },
	{ "help",		cmd_help },
};

static void
cmd_help(const char *arg)
{
	size_t i;

	(void)arg;
	kprintf("HELP");
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		kprintf(" %s", commands[i].name);
	kprintf("\n");
}

void
run_command(const char *name, const char *arg)
{
	size_t i;

	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(name, commands[i].name) == 0) {
			commands[i].fn(arg);
			return;
		}
	}
	kprintf("VMDGUEST: unknown command: %s\n", name);
}

/* Deferred work of the interrupt handlers; called by idle(). */
void
service(void)
{
	vmmci_service();
	if (!button_pending || in_poweroff)
		return;
	button_pending = 0;
	cons_freshline();
	async_output = 1;
	if (ignore_button) {
		kprintf("POWERBUTTON IGNORED\n");
		return;
	}
	kprintf("POWERBUTTON\n");
	cmd_poweroff("");
}
