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
 * Shared definitions of the vmd-linux regression test guest.
 */

#ifndef GUEST_H
#define GUEST_H

/* How the guest was entered (kmain's first argument). */
#define BOOT_ELF	1	/* 64-bit, ELF e_entry, RSI = zero page */
#define BOOT_BZIMAGE	2	/* bzImage 64-bit (+0x200) or 32-bit (+0) */
#define BOOT_PVH	3	/* Xen PVH note, EBX = hvm_start_info */

/* GDT selectors set up by head.S. */
#define SEL_CODE64	0x08
#define SEL_DATA	0x10
#define SEL_CODE32	0x18

#define KERNBASE	0x100000	/* link and load address */
#define MAPPED_TOP	0x40000000	/* head.S identity-maps [0, 1 GiB) */

#define FNV_INIT	0x811c9dc5

#define MAXCPUS		64	/* CPUs smp starts and tracks */
#define TRAMP_PA	0x8000	/* the APs' real-mode entry (SIPI 0x08) */

#define NIDT		64	/* exceptions 0-31, PIC vectors 0x20-0x2f, */
#define VEC_MSI		0x30	/* the virtio devices' MSI-X vectors, */
#define VEC_MSI2	0x31	/* one moved away from them by blkmsix */
#define VEC_TIMER	0x32	/* the local APIC's timer (tscdl) */
#define VEC_SMPTIMER	0x33	/* an AP's local APIC timer (smp) */
#define VEC_SMPIPI	0x34	/* the BSP's IPI to an AP (smpipi) */
#define VEC_SPURIOUS	0x3f	/* the local APIC's spurious vector */
#define IRQ_BASE	0x20

#ifndef __ASSEMBLER__

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct trapframe {
	uint64_t	tf_vec;
	uint64_t	tf_err;
	uint64_t	tf_rip;
	uint64_t	tf_cs;
	uint64_t	tf_rflags;
	uint64_t	tf_rsp;
	uint64_t	tf_ss;
};

/* What the guest learned from whichever boot protocol entered it. */
struct bootinfo {
	int		 bi_kind;
	const char	*bi_cmdline;
	size_t		 bi_cmdlen;
	uint64_t	 bi_initrd;
	uint64_t	 bi_initrdsz;	/* 0: no initrd */
	uint64_t	 bi_e820;	/* address of the first entry */
	uint32_t	 bi_e820stride;	/* 20 (zero page) or 24 (PVH) */
	uint32_t	 bi_e820n;
	uint64_t	 bi_rsdp;	/* 0: scan the BIOS area */
};

struct acpiinfo {
	int		 ai_ok;
	const char	*ai_err;
	int		 ai_cpus;
	uint32_t	 ai_apicid[MAXCPUS];	/* the first MAXCPUS of them */
	int		 ai_s5;
	uint32_t	 ai_pm1a_evt;
	uint32_t	 ai_pm1a_cnt;
	uint32_t	 ai_pm1_evt_len;
	uint32_t	 ai_sci;
	uint32_t	 ai_smi_cmd;
	uint8_t		 ai_acpi_enable;
};

static inline uint8_t
inb(uint16_t port)
{
	uint8_t v;

	__asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint16_t
inw(uint16_t port)
{
	uint16_t v;

	__asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline uint32_t
inl(uint16_t port)
{
	uint32_t v;

	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void
outb(uint16_t port, uint8_t v)
{
	__asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void
outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline void
outl(uint16_t port, uint32_t v)
{
	__asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline void
cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
	__asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]),
	    "=d"(r[3]) : "a"(leaf), "c"(sub));
}

static inline uint64_t
rdtsc(void)
{
	uint32_t lo, hi;

	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

static inline uint64_t
rdmsr(uint32_t msr)
{
	uint32_t lo, hi;

	__asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
	return (uint64_t)hi << 32 | lo;
}

static inline void
wrmsr(uint32_t msr, uint64_t v)
{
	__asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v),
	    "d"((uint32_t)(v >> 32)) : "memory");
}

static inline void
cli(void)
{
	__asm__ volatile("cli" : : : "memory");
}

static inline void
sti(void)
{
	__asm__ volatile("sti" : : : "memory");
}

/* sti only takes effect after the next instruction: no lost wakeup. */
static inline void
sti_hlt(void)
{
	__asm__ volatile("sti; hlt" : : : "memory");
}

static inline void
hlt(void)
{
	__asm__ volatile("hlt" : : : "memory");
}

/* Unaligned little-endian loads from guest-physical memory. */
static inline uint8_t
rd8(uint64_t pa)
{
	return *(const volatile uint8_t *)pa;
}

static inline uint16_t
rd16(uint64_t pa)
{
	uint16_t v;

	__builtin_memcpy(&v, (const void *)pa, sizeof(v));
	return v;
}

static inline uint32_t
rd32(uint64_t pa)
{
	uint32_t v;

	__builtin_memcpy(&v, (const void *)pa, sizeof(v));
	return v;
}

static inline uint64_t
rd64(uint64_t pa)
{
	uint64_t v;

	__builtin_memcpy(&v, (const void *)pa, sizeof(v));
	return v;
}

/* lib.c */
void		*memcpy(void *, const void *, size_t);
void		*memmove(void *, const void *, size_t);
void		*memset(void *, int, size_t);
int		 memcmp(const void *, const void *, size_t);
size_t		 strlen(const char *);
int		 strcmp(const char *, const char *);
int		 mapped(uint64_t, uint64_t);
int		 parse_num(const char *, uint64_t *);
uint32_t	 fnv1a32(uint64_t, uint64_t);
uint32_t	 fnv1a32_more(uint32_t, uint64_t, uint64_t);

/* cons.c */
void		 uart_init(void);
void		 uart_rxintr_enable(void);
void		 uart_intr(void);
int		 cons_getc(void);
int		 cons_rxpending(void);
void		 cons_putc(int);
void		 cons_puts(const char *);
void		 cons_freshline(void);
void		 kprintf(const char *, ...)
		    __attribute__((__format__(__printf__, 1, 2)));

/* intr.c */
extern volatile uint64_t	ticks;
extern volatile int		rx_wanted;
void		 idt_init(void);
void		 pic_pit_init(void);
void		 pic_unmask_sci(void);
void		 pic_unmask(int);
void		 elcr_level(int);
void		 irq_handler(uint64_t);
void		 exc_handler(struct trapframe *) __attribute__((__noreturn__));
void		 idle(void);
void		 wait_ticks(uint64_t);
void		 wait_until(uint64_t);
void		 triple_fault(void) __attribute__((__noreturn__));

/* acpi.c */
extern struct acpiinfo	acpi;
int		 acpi_lookup(uint64_t, struct acpiinfo *);
void		 acpi_setup(void);
int		 acpi_pwrbtn_poll(void);

/* cmds.c */
extern struct bootinfo	bootinfo;
extern volatile int	button_pending;
extern volatile int	async_output;
void		 run_command(const char *, const char *);
void		 service(void);

/* virtio.c, viocmds.c */
extern volatile uint16_t	vio_irqmask;
uint32_t	 pci_read32(int, int, int);
void		 pci_write32(int, int, int, uint32_t);
void		 vio_intr(int);
void		 vio_msi(void);
extern volatile unsigned int vio_msi2;	/* interrupts on VEC_MSI2 */
extern volatile unsigned int lapic_timer_intrs;	/* on VEC_TIMER */
int		 lapic_init(void);
volatile uint32_t *lapic_reg(uint32_t);
void		 lapic_eoi(void);
void		 cmd_virtio(const char *);
void		 cmd_msix(const char *);
void		 cmd_blkmsix(const char *);
void		 cmd_blkinfo(const char *);
void		 cmd_blkread(const char *);
void		 cmd_blkwrite(const char *);
void		 cmd_blkcheck(const char *);
void		 cmd_blkflush(const char *);
void		 cmd_blkid(const char *);
void		 cmd_blkdiscard(const char *);
void		 cmd_blkzero(const char *);
void		 cmd_blkmany(const char *);
void		 cmd_blkbad(const char *);
void		 cmd_cdinfo(const char *);
void		 cmd_cdinq(const char *);
void		 cmd_cdread(const char *);
void		 cmd_cdwrite(const char *);
void		 cmd_rng(const char *);
void		 cmd_viobreak(const char *);

/* net.c */
void		 cmd_netinfo(const char *);
void		 cmd_netrx(const char *);
void		 cmd_netreset(const char *);
void		 cmd_netsniff(const char *);
void		 cmd_ifaddr(const char *);
void		 cmd_dhcp(const char *);
void		 cmd_dhcpreq(const char *);
void		 cmd_bootp(const char *);
void		 cmd_ping(const char *);
void		 cmd_netserve(const char *);
void		 cmd_netsend(const char *);
void		 cmd_netbig(const char *);

/* smp.c */
void		 smp_intr(uint64_t);
void		 cmd_smp(const char *);
void		 cmd_smpstat(const char *);
void		 cmd_smpipi(const char *);

/* count.c */
void		 cmd_count(const char *);

/* vmmci.c */
void		 vmmci_intr(int);
void		 vmmci_service(void);
void		 cmd_vmmci(const char *);
void		 cmd_vmmcimode(const char *);
void		 cmd_vmmcistat(const char *);
void		 cmd_vmmcitime(const char *);
void		 cmd_vmmcihalt(const char *);
void		 cmd_vmmcifuzz(const char *);

/* race.c, chaos.c */
void		 cmd_race(const char *);
void		 cmd_chaos(const char *);

/* main.c */
void		 kmain(uint64_t, uint64_t) __attribute__((__noreturn__));

#endif /* !__ASSEMBLER__ */

#endif /* GUEST_H */
