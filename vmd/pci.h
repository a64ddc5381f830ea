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
 * PCI bus 0 behind configuration mechanism #1 (0xcf8/0xcfc), as upstream:
 * device 0 is the host bridge, devices register with pci_add_device() and
 * get fixed BARs (I/O from 0x1000 in 4 KiB steps, memory from the bottom
 * of the PCI hole in 64 KiB steps) and a legacy IRQ.
 */

#ifndef PCI_H
#define PCI_H

#include <stdint.h>

#include "vm.h"

#define PCI_MODE1_ADDRESS	0xcf8
#define PCI_MODE1_DATA		0xcfc
#define PCI_MAX_DEVICES		32
#define PCI_MAX_BARS		6
#define PCI_CFG_SIZE		256

#define PCI_IO_BAR_BASE		0x1000
#define PCI_IO_BAR_END		0xffff
#define PCI_IO_BAR_SIZE		0x1000
#define PCI_MMIO_BAR_SIZE	0x10000

#define PCI_VENDOR_OPENBSD	0x0b5d
#define PCI_PRODUCT_OPENBSD_PCHB 0x0666
#define PCI_CLASS_BRIDGE	0x06
#define PCI_SUBCLASS_BRIDGE_HOST 0x00

#define PCI_BAR_IO		1
#define PCI_BAR_MMIO		2

/*
 * Optional config space hooks for the device-specific part (0x40 up, or
 * capabilities); return 0 if handled, -1 for the default behaviour.
 */
typedef int	(*pci_cfg_fn)(void *, int, unsigned int, int, uint32_t *);

struct pci_devinfo {
	uint16_t	 vendor;
	uint16_t	 product;
	uint8_t		 class;
	uint8_t		 subclass;
	uint8_t		 progif;
	uint8_t		 revision;
	uint16_t	 subsys_vendor;
	uint16_t	 subsys_id;
	int		 want_irq;
	pci_cfg_fn	 cfg;
	void		*arg;
};

struct pci;

struct pci	*pci_init(struct vm *);
int		 pci_add_device(struct pci *, const struct pci_devinfo *);
int		 pci_add_bar(struct pci *, int, int, vm_io_fn, vm_mmio_fn,
		    void *, uint64_t *);
int		 pci_get_irq(struct pci *, int);
void		 pci_set_irq(struct pci *, int, int);
uint8_t		*pci_cfg_space(struct pci *, int);
struct vms_writer;
int		 pci_save(struct pci *, struct vms_writer *);
const char	*pci_restore(struct pci *, const void *, size_t);

#endif /* PCI_H */
