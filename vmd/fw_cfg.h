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
 * fw_cfg, QEMU's firmware configuration device, for SeaBIOS.
 */

#ifndef FW_CFG_H
#define FW_CFG_H

#include <stddef.h>
#include <stdint.h>

#include "vm.h"

/* what the firmware is told about booting */
struct fw_cfg_boot {
	int		 bootdev;	/* VMBOOTDEV_* */
	int		 disk_dev;	/* PCI device of the first disk, or -1 */
	int		 cdrom_dev;	/* of the CD-ROM's controller, or -1 */
	/* ACPI tables for SeaBIOS's table loader, or NULL */
	const void	*acpi_tables;
	size_t		 acpi_tables_len;
	const void	*acpi_rsdp;
	size_t		 acpi_rsdp_len;
	const void	*acpi_loader;
	size_t		 acpi_loader_len;
};

struct fw_cfg;
struct fw_cfg	*fw_cfg_init(struct vm *, const struct fw_cfg_boot *);
struct vms_writer;
int		 fw_cfg_save(struct fw_cfg *, struct vms_writer *);
const char	*fw_cfg_restore(struct fw_cfg *, const void *, size_t);

#endif /* FW_CFG_H */
