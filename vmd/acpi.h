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
 * ACPI: the tables (RSDP, RSDT, XSDT, FADT, FACS, MADT, a generated
 * DSDT), in the BIOS area for direct kernel boots or as fw_cfg files and
 * a table-loader script for SeaBIOS, and the fixed-hardware PM registers
 * they describe (PM1a event and control blocks, PM timer): power button
 * and S5 power-off.
 */

#ifndef ACPI_H
#define ACPI_H

#include <stddef.h>
#include <stdint.h>

#include "vm.h"

#define ACPI_TABLES_BASE	0xe0000ULL
#define ACPI_TABLES_END		0x100000ULL
#define ACPI_SCI_IRQ		9
#define ACPI_PM1A_EVT		0x600	/* 4: status, enable */
#define ACPI_PM1A_CNT		0x604	/* 2 */
#define ACPI_PM_TMR		0x608	/* 4: 24-bit, 3.579545 MHz */
#define ACPI_PM_TMR_HZ		3579545ULL
#define ACPI_S5_SLP_TYP		5
#define ACPI_RESET_PORT		0xcf9
#define ACPI_RESET_VALUE	6

/* a growing AML byte stream with nested package lengths */
#define AML_MAX_DEPTH		16

struct aml {
	uint8_t		*buf;
	size_t		 len;
	size_t		 cap;
	size_t		 open[AML_MAX_DEPTH];
	int		 depth;
	int		 error;
};

void	 aml_init(struct aml *);
void	 aml_free(struct aml *);
void	 aml_bytes(struct aml *, const void *, size_t);
void	 aml_byte(struct aml *, uint8_t);
void	 aml_namestring(struct aml *, const char *);
void	 aml_integer(struct aml *, uint64_t);
void	 aml_string(struct aml *, const char *);
void	 aml_eisaid(struct aml *, const char *);
void	 aml_name(struct aml *, const char *);
void	 aml_scope(struct aml *, const char *);
void	 aml_device(struct aml *, const char *);
void	 aml_package(struct aml *, uint8_t);
void	 aml_end(struct aml *);

/* the fw_cfg files QEMU gives SeaBIOS, with the same names */
#define ACPI_FWCFG_TABLES	"etc/acpi/tables"
#define ACPI_FWCFG_RSDP		"etc/acpi/rsdp"
#define ACPI_FWCFG_LOADER	"etc/table-loader"

struct acpi_fwcfg {
	uint8_t		*tables;
	size_t		 tables_len;
	uint8_t		*rsdp;
	size_t		 rsdp_len;
	uint8_t		*loader;
	size_t		 loader_len;
};

/*
 * What the tables describe: the vCPUs, and the PCI devices whose INTA#
 * is wired to an IRQ (the DSDT's PCI0._PRT).
 */
#define ACPI_MAX_INTX		32

struct acpi_intx {
	uint8_t		 slot;		/* device number on bus 0 */
	uint8_t		 irq;		/* its INTA# */
};

struct acpi_machine {
	unsigned int	 ncpus;
	struct acpi_intx intx[ACPI_MAX_INTX];
	unsigned int	 nintx;
};

int	 acpi_build(const struct vm_mem *, const struct acpi_machine *,
	    uint64_t *);
int	 acpi_build_fwcfg(const struct acpi_machine *, struct acpi_fwcfg *);
void	 acpi_fwcfg_free(struct acpi_fwcfg *);

struct acpi_pm;
struct acpi_pm	*acpi_pm_init(struct vm *);
void		 acpi_pm_powerbutton(struct acpi_pm *);
void		 acpi_pm_pause(struct acpi_pm *);
void		 acpi_pm_unpause(struct acpi_pm *);
struct vms_writer;
int		 acpi_pm_save(struct acpi_pm *, struct vms_writer *);
const char	*acpi_pm_restore(struct acpi_pm *, const void *, size_t);

#endif /* ACPI_H */
