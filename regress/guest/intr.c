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
 * IDT, 8259 PIC pair, 8254 PIT and the interrupt and exception handlers.
 * Handlers only record events and acknowledge the PIC; the work is done
 * by service(), called from idle() in thread context.
 */

#include "guest.h"

#define PIC1_CMD	0x20
#define PIC1_DATA	0x21
#define PIC2_CMD	0xa0
#define PIC2_DATA	0xa1
#define PIC_EOI		0x20
#define PIC_READ_ISR	0x0b
#define ELCR1		0x4d0	/* edge/level control, IRQ 0-7 */
#define ELCR2		0x4d1	/* IRQ 8-15 */
#define ICW1_INIT_ICW4	0x11

#define IRQ_PIT		0
#define IRQ_CASCADE	2
#define IRQ_COM1	4
#define IRQ_SCI		9

#define PIT_CH0		0x40
#define PIT_MODE	0x43
#define PIT_CH0_RATEGEN	0x34	/* channel 0, lobyte/hibyte, mode 2 */
#define PIT_HZ		1193182
#define HZ		100

#define GATE_INTR64	0x8e	/* present, DPL 0, 64-bit interrupt gate */

struct gate {
	uint16_t	g_off0;
	uint16_t	g_sel;
	uint8_t		g_ist;
	uint8_t		g_type;
	uint16_t	g_off1;
	uint32_t	g_off2;
	uint32_t	g_rsvd;
} __attribute__((__packed__));

struct dtptr {
	uint16_t	d_limit;
	uint64_t	d_base;
} __attribute__((__packed__));

extern char		isr_stubs[];	/* head.S: 16 bytes per vector */

static struct gate	idt[NIDT];
volatile uint64_t	ticks;
volatile unsigned int	lapic_timer_intrs;
volatile int		rx_wanted;	/* idle() returns on console input */
static volatile int	pm_check_due;	/* once a second */
static volatile int	sec_ticks;

void
idt_init(void)
{
	struct dtptr dp;
	uint64_t addr;
	int v;

	for (v = 0; v < NIDT; v++) {
		addr = (uint64_t)isr_stubs + 16 * v;
		idt[v].g_off0 = addr & 0xffff;
		idt[v].g_sel = SEL_CODE64;
		idt[v].g_ist = 0;
		idt[v].g_type = GATE_INTR64;
		idt[v].g_off1 = (addr >> 16) & 0xffff;
		idt[v].g_off2 = addr >> 32;
		idt[v].g_rsvd = 0;
	}
	dp.d_limit = sizeof(idt) - 1;
	dp.d_base = (uint64_t)idt;
	__asm__ volatile("lidt %0" : : "m"(dp));
}

void
pic_pit_init(void)
{
	unsigned int div = (PIT_HZ + HZ / 2) / HZ;

	outb(PIC1_CMD, ICW1_INIT_ICW4);
	outb(PIC2_CMD, ICW1_INIT_ICW4);
	outb(PIC1_DATA, IRQ_BASE);		/* ICW2: vector base */
	outb(PIC2_DATA, IRQ_BASE + 8);
	outb(PIC1_DATA, 1 << IRQ_CASCADE);	/* ICW3: slave on IRQ2 */
	outb(PIC2_DATA, IRQ_CASCADE);		/* ICW3: slave identity */
	outb(PIC1_DATA, 0x01);			/* ICW4: 8086 mode */
	outb(PIC2_DATA, 0x01);
	outb(PIC1_DATA, (uint8_t)~((1 << IRQ_PIT) | (1 << IRQ_CASCADE) |
	    (1 << IRQ_COM1)));
	outb(PIC2_DATA, 0xff);	/* IRQ9 (SCI): see pic_unmask_sci() */

	outb(PIT_MODE, PIT_CH0_RATEGEN);
	outb(PIT_CH0, div & 0xff);
	outb(PIT_CH0, div >> 8);
}

/* Once the PM1 registers are known, so that a SCI can be acknowledged. */
void
pic_unmask_sci(void)
{
	pic_unmask(IRQ_SCI);
}

/* Unmask an IRQ on its 8259 (and the cascade for the slave). */
void
pic_unmask(int irq)
{
	uint16_t port = irq < 8 ? PIC1_DATA : PIC2_DATA;

	if (irq < 0 || irq > 15)
		return;
	outb(port, inb(port) & ~(1 << (irq & 7)));
	if (irq >= 8)
		outb(PIC1_DATA, inb(PIC1_DATA) & ~(1 << IRQ_CASCADE));
}

/*
 * Mark a PCI IRQ level-triggered in the ELCR, as the PCI INTx lines are.
 * IRQs 0, 1, 2, 8 and 13 must stay edge-triggered.
 */
void
elcr_level(int irq)
{
	uint16_t port = irq < 8 ? ELCR1 : ELCR2;

	if (irq < 3 || irq > 15 || irq == 8 || irq == 13)
		return;
	outb(port, inb(port) | 1 << (irq & 7));
}

/* Spurious IRQ 7/15: the PIC's in-service bit is not set. */
static int
pic_spurious(int irq)
{
	uint16_t cmd = irq < 8 ? PIC1_CMD : PIC2_CMD;

	outb(cmd, PIC_READ_ISR);
	return (inb(cmd) & (1 << (irq & 7))) == 0;
}

void
irq_handler(uint64_t vec)
{
	int irq = (int)vec - IRQ_BASE;

	if (vec == VEC_MSI) {
		vio_msi();
		lapic_eoi();
		return;
	}
	if (vec == VEC_MSI2) {
		vio_msi2++;
		lapic_eoi();
		return;
	}
	if (vec == VEC_TIMER) {
		lapic_timer_intrs++;
		lapic_eoi();
		return;
	}
	if (vec == VEC_SMPTIMER || vec == VEC_SMPIPI) {
		smp_intr(vec);		/* on an AP */
		return;
	}
	if (vec >= IRQ_BASE + 16)
		return;		/* the APIC's spurious vector: no EOI */
	switch (irq) {
	case IRQ_PIT:
		ticks++;
		if (++sec_ticks >= HZ) {
			sec_ticks = 0;
			pm_check_due = 1;
		}
		break;
	case IRQ_COM1:
		uart_intr();
		break;
	case IRQ_SCI:
		/* Clears the status, so a level-triggered SCI drops. */
		if (acpi_pwrbtn_poll())
			button_pending = 1;
		break;
	case 7:
		if (pic_spurious(irq))
			return;
		break;
	case 15:
		if (pic_spurious(irq)) {
			outb(PIC1_CMD, PIC_EOI);	/* for the cascade */
			return;
		}
		break;
	}
	/* Virtio devices may share any PCI IRQ, the SCI's too. */
	if (irq != IRQ_PIT && (vio_irqmask & (1 << irq)))
		vio_intr(irq);
	if (irq != IRQ_PIT)
		vmmci_intr(irq);
	if (irq >= 8)
		outb(PIC2_CMD, PIC_EOI);
	outb(PIC1_CMD, PIC_EOI);
}

void
exc_handler(struct trapframe *tf)
{
	uint64_t cr2;

	cli();
	cons_freshline();
	kprintf("VMDGUEST: EXCEPTION %lu rip=0x%lx err=0x%lx", tf->tf_vec,
	    tf->tf_rip, tf->tf_err);
	if (tf->tf_vec == 14) {
		__asm__ volatile("movq %%cr2, %0" : "=r"(cr2));
		kprintf(" cr2=0x%lx", cr2);
	}
	kprintf("\n");
	for (;;) {
		cli();
		hlt();
	}
}

/*
 * Wait for the next interrupt unless work is already pending, then do the
 * pending work.  Checking and halting with interrupts off closes the race
 * with the handlers (sti; hlt is atomic).
 */
void
idle(void)
{
	int due;

	cli();
	if (!pm_check_due && !button_pending &&
	    !(rx_wanted && cons_rxpending()))
		sti_hlt();
	due = pm_check_due;
	pm_check_due = 0;
	if (due && acpi_pwrbtn_poll())
		button_pending = 1;
	sti();
	service();
}

void
wait_until(uint64_t end)
{
	while (ticks < end)
		idle();
}

void
wait_ticks(uint64_t n)
{
	wait_until(ticks + n);
}
