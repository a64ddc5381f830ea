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
 * libFuzzer target: PCI configuration mechanism #1 and bus 0 (pci.c) as
 * a guest probes them through ports 0xcf8-0xcff of x86_vm.c's port
 * table: the host bridge and enough devices with BARs and INTx# lines
 * that lines are shared, one of them with its own config handler (as
 * virtio's capabilities have).  The input is a sequence of operations:
 * address and data port accesses of every size and offset, BAR sizing
 * writes, accesses to the BARs, device interrupt changes, and restores
 * of saved state from the input's bytes.  Nothing may crash, read or
 * write past a device's config space, leak, or leave a shared line in a
 * state its devices do not explain.
 */

#include "machine.h"

#define FUZZ_NDEVS	12	/* past the 9 IRQs of the list: shared */
#define FUZZ_CAP	0x40	/* the handled device's registers */
#define FUZZ_CAP_LEN	0x10

static struct pci_state	*base_state;
static int		 devs[FUZZ_NDEVS];
static uint8_t		 capregs[FUZZ_CAP_LEN];

static void
bar_io(void *arg, uint16_t port, int size, int in, uint32_t *data)
{
	(void)arg;
	(void)port;
	(void)size;
	if (in)
		*data = 0x12345678;
}

static void
bar_mmio(void *arg, uint64_t addr, int size, int in, uint64_t *data)
{
	(void)arg;
	(void)addr;
	(void)size;
	if (in)
		*data = 0x1122334455667788ULL;
}

/* a device's own registers, as virtio_pci's capability handler */
static int
cap_cfg(void *arg, int in, unsigned int reg, int size, uint32_t *data)
{
	(void)arg;
	if (reg < FUZZ_CAP || reg >= FUZZ_CAP + FUZZ_CAP_LEN ||
	    reg - FUZZ_CAP + size > FUZZ_CAP_LEN)
		return (-1);
	if (size != 1 && size != 2 && size != 4)
		abort();
	if (in)
		memcpy(data, capregs + (reg - FUZZ_CAP), size);
	else
		memcpy(capregs + (reg - FUZZ_CAP), data, size);
	return (0);
}

static void
fuzz_setup(void)
{
	struct pci_devinfo	 di;
	struct pci		*pci;
	int			 i;

	fuzz_machine();
	pci = fvm.vm_pci;
	for (i = 0; i < FUZZ_NDEVS; i++) {
		memset(&di, 0, sizeof(di));
		di.vendor = 0x1af4;
		di.product = 0x1040 + i;
		di.class = 0x02;
		di.want_irq = i != 3;
		if (i == 1) {
			di.cfg = cap_cfg;
			di.arg = NULL;
		}
		if ((devs[i] = pci_add_device(pci, &di)) == -1)
			abort();
		if (i < 4 && (pci_add_bar(pci, devs[i], PCI_BAR_IO, bar_io,
		    NULL, NULL, NULL) == -1 || pci_add_bar(pci, devs[i],
		    PCI_BAR_MMIO, NULL, bar_mmio, NULL, NULL) == -1))
			abort();
	}
	if ((base_state = calloc(1, sizeof(*base_state))) == NULL)
		abort();
	base_state->ndevs = pci->ndevs;
	for (i = 0; i < pci->ndevs; i++)
		base_state->devs[i].cmdsts = cfg_get32(pci->devs[i]->cfg,
		    PCI_COMMAND);
}

/* every line is high exactly while one of its devices asserts */
static void
fuzz_check(struct pci *pci)
{
	unsigned int	 want[16];
	int		 i;

	memset(want, 0, sizeof(want));
	for (i = 0; i < pci->ndevs; i++)
		if (pci->devs[i]->irq != -1 && pci->devs[i]->irq_level)
			want[pci->devs[i]->irq]++;
	for (i = 0; i < 16; i++) {
		if (want[i] != pci->asserted[i])
			abort();
		/* the chips' own lines are not only PCI's */
		if (i == COM1_IRQ || i == RTC_IRQ || i == ACPI_SCI_IRQ)
			continue;
		if ((fuzz_irqs[i] != 0) != (pci->asserted[i] != 0))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 ready;
	struct fuzz_in		 in = { data, size };
	struct pci		*pci;
	struct vmm_exit		 ve;
	uint8_t			 st[sizeof(struct pci_state) + 1], op, b;
	uint8_t			 mmio[8];
	uint64_t		 gpa;
	size_t			 n;
	unsigned int		 steps;
	int			 i, sz;

	if (!ready) {
		fuzz_setup();
		ready = 1;
	}
	pci = fvm.vm_pci;
	for (i = 0; i < FUZZ_NDEVS; i++)
		pci_set_irq(pci, devs[i], 0);
	if (pci_restore(pci, base_state, sizeof(*base_state)) != NULL)
		abort();
	memset(capregs, 0, sizeof(capregs));

	for (steps = 0; in.left > 0 && steps < 4096; steps++) {
		op = fuzz_u8(&in);
		sz = (op & 0x30) == 0x30 ? 4 : (op & 0x30) ? 1 << (op >> 4 &
		    3) >> 1 : 4;
		switch (op & 7) {
		case 0:
		case 1:
			/* a config address: enabled, bus 0, a register */
			b = fuzz_u8(&in);
			(void)fuzz_port(PCI_MODE1_ADDRESS, 4, 0,
			    PCI_ADDR_ENABLE | (b & 0x1f) << 11 |
			    (fuzz_u8(&in) & 0xff) | ((op & 0x40) ?
			    (uint32_t)fuzz_u8(&in) << 16 | (b >> 5) << 8 : 0),
			    1);
			break;
		case 2:
			/* any write to the address ports, any size */
			b = fuzz_u8(&in);
			(void)fuzz_port(PCI_MODE1_ADDRESS + (b & 3), sz, 0,
			    fuzz_u32(&in), 1);
			break;
		case 3:
			/* data writes: all-ones to size a BAR, or a value */
			b = fuzz_u8(&in);
			(void)fuzz_port(PCI_MODE1_DATA + (b & 3), sz, 0,
			    (op & 0x40) ? 0xffffffff : fuzz_u32(&in),
			    (op >> 7) + 1);
			break;
		case 4:
			b = fuzz_u8(&in);
			(void)fuzz_port(((op & 0x40) ? PCI_MODE1_ADDRESS :
			    PCI_MODE1_DATA) + (b & 3), sz, 1, 0, (b >> 2) + 1);
			break;
		case 5:
			/* a device raises or lowers its INTx# */
			b = fuzz_u8(&in);
			pci_set_irq(pci, (b & 0x3f) - 8, op & 0x40);
			break;
		case 6:
			/* its BARs, through the MMIO table (or beside them) */
			b = fuzz_u8(&in);
			gpa = VM_PCI_MMIO_BASE + (uint64_t)(b & 7) *
			    PCI_MMIO_BAR_SIZE - 8 + fuzz_u16(&in);
			memset(&ve, 0, sizeof(ve));
			ve.type = VMM_EXIT_MMIO;
			ve.u.mmio.gpa = gpa;
			ve.u.mmio.len = (b >> 3) % 8 + 1;
			ve.u.mmio.write = b >> 7;
			ve.u.mmio.data = mmio;
			memset(mmio, 0xa5, sizeof(mmio));
			x86_exit_mmio(&fvm, &ve);
			(void)fuzz_port(PCI_IO_BAR_BASE + (b & 7) * 0x1000 +
			    (b >> 3), sz, b >> 7, 0, 1);
			break;
		case 7:
			/* a received VM's PCI state: any bytes, any length */
			n = fuzz_u8(&in) % 64;
			n = MINIMUM(n, in.left);
			memcpy(st, base_state, sizeof(*base_state));
			memcpy(st, in.p, n);
			in.p += n;
			in.left -= n;
			(void)pci_restore(pci, st, (op & 0x08) ?
			    sizeof(*base_state) : n);
			break;
		}
		fuzz_check(pci);
	}
	return (0);
}
