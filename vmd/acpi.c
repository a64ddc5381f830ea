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
 * ACPI tables and PM registers.  Upstream vmd has no ACPI (it powers off
 * through vmmci); we add the minimum a PC guest needs for a clean power
 * button and S5 power-off, and a MADT so that guests find every vCPU.
 */

#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "acpi.h"
#include "bytes.h"
#include "log.h"
#include "pci.h"
#include "vmstate.h"

#define ACPI_OEMID		"VMDLNX"
#define ACPI_OEMTABLEID		"VMDLINUX"
#define ACPI_CREATOR		"VMDL"
#define SDT_HDR_LEN		36

/* PM1 status and enable bits */
#define PM1_TMR			0x0001
#define PM1_GBL			0x0020
#define PM1_PWRBTN		0x0100
#define PM1_SLPBTN		0x0200
#define PM1_RTC			0x0400
#define PM1_WAK			0x8000
#define PM1_SCI_EVENTS		(PM1_TMR | PM1_GBL | PM1_PWRBTN | PM1_RTC)
/* PM1 control */
#define PM1_SCI_EN		0x0001
#define PM1_SLP_TYP_SHIFT	10
#define PM1_SLP_TYP_MASK	0x1c00
#define PM1_SLP_EN		0x2000

/* FADT */
#define FADT_LEN		276
#define FADT_REV		6
#define FADT_F_WBINVD		(1U << 0)
#define FADT_F_PROC_C1		(1U << 2)
#define FADT_F_SLP_BUTTON	(1U << 5)	/* no sleep button */
#define FADT_F_RESET_REG_SUP	(1U << 10)
#define IAPC_LEGACY_DEVICES	0x0001
#define IAPC_8042		0x0002
#define IAPC_VGA_NOT_PRESENT	0x0004
#define GAS_IO			1

/* MADT */
#define MADT_LAPIC		0
#define MADT_IOAPIC		1
#define MADT_ISO		2
#define MADT_LAPIC_NMI		4
#define MADT_PCAT_COMPAT	1
#define LAPIC_BASE		0xfee00000U
#define IOAPIC_BASE		0xfec00000U

/* AML opcodes */
#define AML_ZERO		0x00
#define AML_ONE			0x01
#define AML_NAME		0x08
#define AML_BYTEPREFIX		0x0a
#define AML_WORDPREFIX		0x0b
#define AML_DWORDPREFIX		0x0c
#define AML_STRINGPREFIX	0x0d
#define AML_QWORDPREFIX		0x0e
#define AML_BUFFER		0x11
#define AML_SCOPE		0x10
#define AML_PACKAGE		0x12
#define AML_DUALNAME		0x2e
#define AML_MULTINAME		0x2f
#define AML_EXTPREFIX		0x5b
#define AML_DEVICE		0x82	/* after AML_EXTPREFIX */
#define AML_ROOT		0x5c
#define AML_ONES		0xff

struct acpi_pm {
	pthread_mutex_t	 mtx;
	struct vm	*vm;
	uint16_t	 sts;
	uint16_t	 en;
	uint16_t	 cnt;
	int		 sci;		/* level on IRQ 9 */
	struct timespec	 paused_at;
	uint64_t	 paused_ns;	/* the PM timer stands still then */
	int		 paused;
};

static void	aml_open(struct aml *);

/*
 * AML
 */

void
aml_init(struct aml *a)
{
	memset(a, 0, sizeof(*a));
}

void
aml_free(struct aml *a)
{
	free(a->buf);
	memset(a, 0, sizeof(*a));
}

static int
aml_grow(struct aml *a, size_t more)
{
	uint8_t	*p;
	size_t	 cap;

	if (a->error)
		return (-1);
	if (a->len + more <= a->cap)
		return (0);
	cap = MAXIMUM(a->cap * 2, a->len + more + 256);
	if ((p = realloc(a->buf, cap)) == NULL) {
		a->error = 1;
		return (-1);
	}
	a->buf = p;
	a->cap = cap;
	return (0);
}

void
aml_bytes(struct aml *a, const void *p, size_t len)
{
	if (aml_grow(a, len) == -1)
		return;
	memcpy(a->buf + a->len, p, len);
	a->len += len;
}

void
aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

/* "\_SB_.PCI0", "_S5_", "\FOO": segments padded with '_' to 4 chars */
void
aml_namestring(struct aml *a, const char *path)
{
	const char	*p, *dot;
	char		 seg[4];
	size_t		 n, nseg = 0;

	if (*path == '\\') {
		aml_byte(a, AML_ROOT);
		path++;
	}
	for (p = path; *p != '\0'; p = *dot ? dot + 1 : dot) {
		if ((dot = strchr(p, '.')) == NULL)
			dot = p + strlen(p);
		nseg++;
	}
	if (nseg == 0) {
		aml_byte(a, AML_ZERO);		/* NullName */
		return;
	}
	if (nseg == 2)
		aml_byte(a, AML_DUALNAME);
	else if (nseg > 2) {
		aml_byte(a, AML_MULTINAME);
		aml_byte(a, nseg);
	}
	for (p = path; *p != '\0'; p = *dot ? dot + 1 : dot) {
		if ((dot = strchr(p, '.')) == NULL)
			dot = p + strlen(p);
		memset(seg, '_', sizeof(seg));
		n = MINIMUM((size_t)(dot - p), sizeof(seg));
		memcpy(seg, p, n);
		aml_bytes(a, seg, sizeof(seg));
	}
}

void
aml_integer(struct aml *a, uint64_t v)
{
	if (v == 0)
		aml_byte(a, AML_ZERO);
	else if (v == 1)
		aml_byte(a, AML_ONE);
	else if (v <= 0xff) {
		aml_byte(a, AML_BYTEPREFIX);
		aml_byte(a, v);
	} else if (v <= 0xffff) {
		aml_byte(a, AML_WORDPREFIX);
		aml_bytes(a, &(uint16_t){ v }, 2);
	} else if (v <= 0xffffffff) {
		aml_byte(a, AML_DWORDPREFIX);
		aml_bytes(a, &(uint32_t){ v }, 4);
	} else {
		aml_byte(a, AML_QWORDPREFIX);
		aml_bytes(a, &v, 8);
	}
}

void
aml_string(struct aml *a, const char *s)
{
	aml_byte(a, AML_STRINGPREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

/* EisaId("PNP0A03"): compressed vendor letters and a product number */
void
aml_eisaid(struct aml *a, const char *id)
{
	uint32_t	v;
	unsigned int	i, x;

	if (strlen(id) != 7) {
		a->error = 1;
		return;
	}
	v = ((id[0] - 0x40) & 0x1f) << 26 | ((id[1] - 0x40) & 0x1f) << 21 |
	    ((id[2] - 0x40) & 0x1f) << 16;
	for (i = 3; i < 7; i++) {
		x = id[i] <= '9' ? id[i] - '0' : (id[i] | 0x20) - 'a' + 10;
		v |= (x & 0xf) << (4 * (6 - i));
	}
	/* stored big-endian */
	aml_byte(a, AML_DWORDPREFIX);
	aml_byte(a, v >> 24);
	aml_byte(a, v >> 16);
	aml_byte(a, v >> 8);
	aml_byte(a, v);
}

/* Name (NAME, ...): the object follows */
void
aml_name(struct aml *a, const char *name)
{
	aml_byte(a, AML_NAME);
	aml_namestring(a, name);
}

static void
aml_open(struct aml *a)
{
	if (a->depth >= AML_MAX_DEPTH) {
		a->error = 1;
		return;
	}
	a->open[a->depth++] = a->len;
}

void
aml_scope(struct aml *a, const char *path)
{
	aml_byte(a, AML_SCOPE);
	aml_open(a);
	aml_namestring(a, path);
}

void
aml_device(struct aml *a, const char *name)
{
	aml_byte(a, AML_EXTPREFIX);
	aml_byte(a, AML_DEVICE);
	aml_open(a);
	aml_namestring(a, name);
}

void
aml_package(struct aml *a, uint8_t nelems)
{
	aml_byte(a, AML_PACKAGE);
	aml_open(a);
	aml_byte(a, nelems);
}

/* Close the innermost Scope/Device/Package: insert its PkgLength. */
void
aml_end(struct aml *a)
{
	uint8_t	enc[4];
	size_t	start, body, total, n;

	if (a->error || a->depth == 0) {
		a->error = 1;
		return;
	}
	start = a->open[--a->depth];
	body = a->len - start;
	if (body + 1 < 0x40)
		n = 1;
	else if (body + 2 < 0x1000)
		n = 2;
	else if (body + 3 < 0x100000)
		n = 3;
	else
		n = 4;
	total = body + n;
	if (n == 1)
		enc[0] = total;
	else {
		enc[0] = ((n - 1) << 6) | (total & 0xf);
		enc[1] = total >> 4;
		enc[2] = total >> 12;
		enc[3] = total >> 20;
	}
	if (aml_grow(a, n) == -1)
		return;
	memmove(a->buf + start + n, a->buf + start, body);
	memcpy(a->buf + start, enc, n);
	a->len += n;
}

/*
 * Tables
 *
 * The tables are built into areas: byte buffers that will sit at a
 * guest-physical base.  A direct kernel boot has one area, the BIOS
 * range at ACPI_TABLES_BASE, written in place.  SeaBIOS gets two fw_cfg
 * files instead, the tables and the RSDP, built as if at address 0, and
 * a table-loader script: allocate each file, add its real address to
 * every pointer into it, then fix every checksum.  Pointers and
 * checksums go through acpi_pointer() and acpi_sum() so that both
 * placements come from the same code.
 */

#define ACPI_AREA_MAX		(ACPI_TABLES_END - ACPI_TABLES_BASE)

/* table-loader commands, each LOADER_ENTRY_LEN bytes, little-endian */
#define LOADER_ENTRY_LEN	128
#define LOADER_FILE_LEN		56
#define LOADER_ALLOCATE		1
#define LOADER_ADD_POINTER	2
#define LOADER_ADD_CHECKSUM	3
#define LOADER_ZONE_HIGH	1
#define LOADER_ZONE_FSEG	2
#define LOADER_MAX_ENTRIES	64

struct acpi_loader {
	uint8_t		 buf[LOADER_MAX_ENTRIES * LOADER_ENTRY_LEN];
	size_t		 len;
	int		 error;
};

struct acpi_area {
	const char		*name;	/* its fw_cfg file */
	uint8_t			*buf;
	size_t			 len;	/* used */
	size_t			 cap;
	uint64_t		 gpa;	/* where buf[0] is, or 0 */
	struct acpi_loader	*ld;	/* NULL: written in place */
};

static uint8_t *
loader_entry(struct acpi_loader *ld, uint32_t cmd)
{
	uint8_t	*e;

	if (ld->len + LOADER_ENTRY_LEN > sizeof(ld->buf)) {
		ld->error = 1;
		return (NULL);
	}
	e = ld->buf + ld->len;
	ld->len += LOADER_ENTRY_LEN;
	memset(e, 0, LOADER_ENTRY_LEN);
	put32(e, 0, cmd);
	return (e);
}

static void
loader_allocate(struct acpi_loader *ld, const char *file, uint32_t align,
    uint8_t zone)
{
	uint8_t	*e;

	if ((e = loader_entry(ld, LOADER_ALLOCATE)) == NULL)
		return;
	strlcpy((char *)e + 4, file, LOADER_FILE_LEN);
	put32(e, 4 + LOADER_FILE_LEN, align);
	e[8 + LOADER_FILE_LEN] = zone;
}

/*
 * The area's bytes at off..off+len, aligned; NULL if it is full.
 * *offp gets the offset in the area.
 */
static uint8_t *
acpi_alloc(struct acpi_area *aa, size_t len, size_t align, size_t *offp)
{
	size_t	off;

	off = (aa->len + align - 1) & ~(align - 1);
	if (off > aa->cap || len > aa->cap - off)
		return (NULL);
	aa->len = off + len;
	*offp = off;
	return (aa->buf + off);
}

/*
 * A size-byte pointer at offset off of area aa to the table at offset
 * target of area to.
 */
static void
acpi_pointer(struct acpi_area *aa, size_t off, uint8_t size,
    const struct acpi_area *to, size_t target)
{
	uint64_t	 v = to->gpa + target;
	uint8_t		*e;

	if (size == 4)
		put32(aa->buf, off, (uint32_t)v);
	else
		put64(aa->buf, off, v);
	if (aa->ld == NULL ||
	    (e = loader_entry(aa->ld, LOADER_ADD_POINTER)) == NULL)
		return;
	strlcpy((char *)e + 4, aa->name, LOADER_FILE_LEN);
	strlcpy((char *)e + 4 + LOADER_FILE_LEN, to->name, LOADER_FILE_LEN);
	put32(e, 4 + 2 * LOADER_FILE_LEN, off);
	e[8 + 2 * LOADER_FILE_LEN] = size;
}

/*
 * The byte at off makes the len bytes from start sum to zero: now, and
 * again after the loader has moved the pointers.
 */
static void
acpi_sum(struct acpi_area *aa, size_t start, size_t len, size_t off)
{
	uint8_t	 sum = 0, *e;
	size_t	 i;

	aa->buf[off] = 0;
	for (i = 0; i < len; i++)
		sum += aa->buf[start + i];
	aa->buf[off] = -sum;
	if (aa->ld == NULL ||
	    (e = loader_entry(aa->ld, LOADER_ADD_CHECKSUM)) == NULL)
		return;
	strlcpy((char *)e + 4, aa->name, LOADER_FILE_LEN);
	put32(e, 4 + LOADER_FILE_LEN, off);
	put32(e, 8 + LOADER_FILE_LEN, start);
	put32(e, 12 + LOADER_FILE_LEN, len);
}

static void
sdt_header(uint8_t *p, const char *sig, uint32_t len, uint8_t rev)
{
	memcpy(p, sig, 4);
	put32(p, 4, len);
	p[8] = rev;
	memcpy(p + 10, ACPI_OEMID, 6);
	memcpy(p + 16, ACPI_OEMTABLEID, 8);
	put32(p, 24, 1);
	memcpy(p + 28, ACPI_CREATOR, 4);
	put32(p, 32, 1);
}

/* a Generic Address Structure for an I/O port register */
static void
gas_io(uint8_t *p, size_t off, uint8_t bits, uint8_t access, uint64_t port)
{
	p[off] = GAS_IO;
	p[off + 1] = bits;
	p[off + 2] = 0;
	p[off + 3] = access;
	put64(p, off + 4, port);
}

/* a _CRS buffer around resource descriptors (without the end tag) */
static void
aml_crs(struct aml *a, const uint8_t *rt, size_t len)
{
	static const uint8_t	end[] = { 0x79, 0x00 };

	aml_name(a, "_CRS");
	aml_byte(a, AML_BUFFER);
	aml_open(a);
	aml_integer(a, len + sizeof(end));
	aml_bytes(a, rt, len);
	aml_bytes(a, end, sizeof(end));
	aml_end(a);
}

/* a _CRS of one I/O range and one ISA IRQ */
static void
aml_crs_io_irq(struct aml *a, uint16_t port, uint8_t len, uint8_t irq)
{
	uint8_t	rt[] = {
		0x47, 0x01, port & 0xff, port >> 8, port & 0xff, port >> 8,
		1, len,				/* IO (Decode16, ...) */
		0x22, (1U << irq) & 0xff, (1U << irq) >> 8, /* IRQNoFlags */
	};

	aml_crs(a, rt, sizeof(rt));
}

/* resource descriptors of the root bridge's _CRS */
#define RD_WORD_SPACE		0x88
#define RD_DWORD_SPACE		0x87
#define RD_SPACE_MEM		0
#define RD_SPACE_IO		1
#define RD_SPACE_BUS		2
#define RD_PRODUCER_FIXED	0x0c	/* producer, MinFixed, MaxFixed */
#define RD_IO_ENTIRE		0x03
#define RD_MEM_RW		0x01	/* ReadWrite, NonCacheable */

/* a WordBusNumber or WordIO range the bridge decodes */
static size_t
rd_word(uint8_t *p, uint8_t space, uint8_t tflags, uint16_t min,
    uint16_t max)
{
	p[0] = RD_WORD_SPACE;
	put16(p, 1, 13);
	p[3] = space;
	p[4] = RD_PRODUCER_FIXED;
	p[5] = tflags;
	put16(p, 6, 0);			/* granularity */
	put16(p, 8, min);
	put16(p, 10, max);
	put16(p, 12, 0);		/* translation */
	put16(p, 14, max - min + 1);
	return (16);
}

/* a DWordMemory range */
static size_t
rd_dword_mem(uint8_t *p, uint32_t min, uint32_t max)
{
	p[0] = RD_DWORD_SPACE;
	put16(p, 1, 23);
	p[3] = RD_SPACE_MEM;
	p[4] = RD_PRODUCER_FIXED;
	p[5] = RD_MEM_RW;
	put32(p, 6, 0);
	put32(p, 10, min);
	put32(p, 14, max);
	put32(p, 18, 0);
	put32(p, 22, max - min + 1);
	return (26);
}

/*
 * \_SB.PCI0: the host bridge of bus 0, the windows it decodes (all I/O
 * ports but its own 0xcf8-0xcff, and the PCI hole below the I/O APIC),
 * and a _PRT wiring every device's INTA# straight to its IRQ (a GSI: no
 * link devices, the routing is fixed).  With ACPI, Linux finds PCI only
 * through this device.
 */
static void
acpi_dsdt_pci(struct aml *a, const struct acpi_machine *m)
{
	uint8_t		rt[128], *p = rt;
	unsigned int	i;

	aml_device(a, "PCI0");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0A03");
	aml_name(a, "_UID");
	aml_integer(a, 0);

	p += rd_word(p, RD_SPACE_BUS, 0, 0, 0xff);
	/* IO (Decode16, 0xcf8, 0xcf8, 1, 8): the configuration ports */
	*p++ = 0x47;
	*p++ = 0x01;
	put16(p, 0, PCI_MODE1_ADDRESS);
	put16(p, 2, PCI_MODE1_ADDRESS);
	p[4] = 1;
	p[5] = 8;
	p += 6;
	p += rd_word(p, RD_SPACE_IO, RD_IO_ENTIRE, 0, PCI_MODE1_ADDRESS - 1);
	p += rd_word(p, RD_SPACE_IO, RD_IO_ENTIRE, PCI_MODE1_ADDRESS + 8,
	    PCI_IO_BAR_END);
	p += rd_dword_mem(p, VM_PCI_MMIO_BASE, IOAPIC_BASE - 1);
	aml_crs(a, rt, p - rt);

	aml_name(a, "_PRT");
	aml_package(a, m->nintx);
	for (i = 0; i < m->nintx; i++) {
		aml_package(a, 4);
		aml_integer(a, (uint32_t)m->intx[i].slot << 16 | 0xffff);
		aml_integer(a, 0);		/* INTA# */
		aml_integer(a, 0);		/* no link device: */
		aml_integer(a, m->intx[i].irq);	/* the GSI */
		aml_end(a);
	}
	aml_end(a);

	aml_end(a);
}

/*
 * The DSDT body.  Devices go under \_SB; the ISA ones are described so
 * that guests which enumerate devices through ACPI (Linux's PNP) find
 * them.
 */
static void
acpi_dsdt(struct aml *a, const struct acpi_machine *m)
{
	/* Name (_S5, Package () { 5, 5, 0, 0 }) */
	aml_name(a, "_S5_");
	aml_package(a, 4);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, ACPI_S5_SLP_TYP);
	aml_integer(a, 0);
	aml_integer(a, 0);
	aml_end(a);

	aml_scope(a, "\\_SB_");

	acpi_dsdt_pci(a, m);

	aml_device(a, "RTC_");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0B00");
	aml_crs_io_irq(a, 0x70, 2, 8);
	aml_end(a);

	aml_device(a, "COM1");
	aml_name(a, "_HID");
	aml_eisaid(a, "PNP0501");
	aml_name(a, "_UID");
	aml_integer(a, 1);
	aml_crs_io_irq(a, 0x3f8, 8, 4);
	aml_end(a);

	aml_end(a);
}

static void
fadt_fill(struct acpi_area *aa, size_t fadt, size_t facs, size_t dsdt)
{
	uint8_t	*p = aa->buf + fadt;

	sdt_header(p, "FACP", FADT_LEN, FADT_REV);
	acpi_pointer(aa, fadt + 36, 4, aa, facs);
	acpi_pointer(aa, fadt + 40, 4, aa, dsdt);
	put16(p, 46, ACPI_SCI_IRQ);
	put32(p, 48, 0);		/* SMI_CMD: always in ACPI mode */
	put32(p, 56, ACPI_PM1A_EVT);
	put32(p, 64, ACPI_PM1A_CNT);
	put32(p, 76, ACPI_PM_TMR);
	p[88] = 4;			/* PM1_EVT_LEN */
	p[89] = 2;			/* PM1_CNT_LEN */
	p[91] = 4;			/* PM_TMR_LEN */
	put16(p, 96, 101);		/* no C2 */
	put16(p, 98, 1001);		/* no C3 */
	p[108] = 0x32;			/* RTC century register */
	put16(p, 109, IAPC_LEGACY_DEVICES | IAPC_8042 | IAPC_VGA_NOT_PRESENT);
	put32(p, 112, FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON |
	    FADT_F_RESET_REG_SUP);
	gas_io(p, 116, 8, 1, ACPI_RESET_PORT);
	p[128] = ACPI_RESET_VALUE;
	p[131] = 0;			/* minor version */
	acpi_pointer(aa, fadt + 132, 8, aa, facs);
	acpi_pointer(aa, fadt + 140, 8, aa, dsdt);
	gas_io(p, 148, 32, 2, ACPI_PM1A_EVT);
	gas_io(p, 172, 16, 2, ACPI_PM1A_CNT);
	gas_io(p, 208, 32, 3, ACPI_PM_TMR);
	acpi_sum(aa, fadt, FADT_LEN, fadt + 9);
}

static int
madt_build(struct acpi_area *aa, unsigned int ncpus, size_t *offp)
{
	uint8_t		*p, *e;
	uint32_t	 len;
	unsigned int	 i;

	len = 44 + 8 * ncpus + 12 + 2 * 10 + 6;
	if ((p = acpi_alloc(aa, len, 16, offp)) == NULL)
		return (-1);
	sdt_header(p, "APIC", len, 4);
	put32(p, 36, LAPIC_BASE);
	put32(p, 40, MADT_PCAT_COMPAT);
	e = p + 44;
	for (i = 0; i < ncpus; i++, e += 8) {
		e[0] = MADT_LAPIC;
		e[1] = 8;
		e[2] = i;		/* ACPI processor UID */
		e[3] = i;		/* APIC id, as CPUID says */
		put32(e, 4, 1);		/* enabled */
	}
	e[0] = MADT_IOAPIC;
	e[1] = 12;
	e[2] = 0;			/* IOAPIC id */
	put32(e, 4, IOAPIC_BASE);
	put32(e, 8, 0);			/* GSI base */
	e += 12;
	/* the PIT on pin 2, as the irqchip routing has it */
	e[0] = MADT_ISO;
	e[1] = 10;
	e[2] = 0;
	e[3] = 0;
	put32(e, 4, 2);
	put16(e, 8, 0);
	e += 10;
	/* the SCI: level-triggered, active high */
	e[0] = MADT_ISO;
	e[1] = 10;
	e[2] = 0;
	e[3] = ACPI_SCI_IRQ;
	put32(e, 4, ACPI_SCI_IRQ);
	put16(e, 8, 0x000d);
	e += 10;
	e[0] = MADT_LAPIC_NMI;
	e[1] = 6;
	e[2] = 0xff;			/* all processors */
	put16(e, 3, 0);
	e[5] = 1;			/* LINT1 */
	acpi_sum(aa, *offp, len, *offp + 9);
	return (0);
}

/*
 * Every table into tab, the RSDP into rs (which may be tab: then it
 * comes first); *rsdpp gets the RSDP's offset in rs.
 */
static int
acpi_tables(struct acpi_area *tab, struct acpi_area *rs,
    const struct acpi_machine *m, size_t *rsdpp)
{
	struct aml	 a;
	uint8_t		*rp, *rsdt, *xsdt, *facs, *fadt, *dsdt;
	size_t		 rp_off, rsdt_off, xsdt_off, facs_off, fadt_off;
	size_t		 dsdt_off, madt_off, dsdt_len;
	int		 ret = -1;

	if (m->ncpus == 0 || m->ncpus > VMM_MAX_VCPUS_PER_VM ||
	    m->nintx > ACPI_MAX_INTX)
		return (-1);
	aml_init(&a);
	acpi_dsdt(&a, m);
	if (a.error || a.depth != 0)
		goto done;
	dsdt_len = SDT_HDR_LEN + a.len;

	if ((rp = acpi_alloc(rs, 36, 16, &rp_off)) == NULL ||
	    (rsdt = acpi_alloc(tab, SDT_HDR_LEN + 2 * 4, 16,
	    &rsdt_off)) == NULL ||
	    (xsdt = acpi_alloc(tab, SDT_HDR_LEN + 2 * 8, 16,
	    &xsdt_off)) == NULL ||
	    (facs = acpi_alloc(tab, 64, 64, &facs_off)) == NULL ||
	    (fadt = acpi_alloc(tab, FADT_LEN, 16, &fadt_off)) == NULL ||
	    madt_build(tab, m->ncpus, &madt_off) == -1 ||
	    (dsdt = acpi_alloc(tab, dsdt_len, 16, &dsdt_off)) == NULL)
		goto done;

	sdt_header(dsdt, "DSDT", dsdt_len, 2);
	memcpy(dsdt + SDT_HDR_LEN, a.buf, a.len);
	acpi_sum(tab, dsdt_off, dsdt_len, dsdt_off + 9);

	/* the FACS has no checksum */
	memcpy(facs, "FACS", 4);
	put32(facs, 4, 64);
	facs[32] = 2;			/* version */

	fadt_fill(tab, fadt_off, facs_off, dsdt_off);

	sdt_header(rsdt, "RSDT", SDT_HDR_LEN + 2 * 4, 1);
	acpi_pointer(tab, rsdt_off + SDT_HDR_LEN, 4, tab, fadt_off);
	acpi_pointer(tab, rsdt_off + SDT_HDR_LEN + 4, 4, tab, madt_off);
	acpi_sum(tab, rsdt_off, SDT_HDR_LEN + 2 * 4, rsdt_off + 9);

	sdt_header(xsdt, "XSDT", SDT_HDR_LEN + 2 * 8, 1);
	acpi_pointer(tab, xsdt_off + SDT_HDR_LEN, 8, tab, fadt_off);
	acpi_pointer(tab, xsdt_off + SDT_HDR_LEN + 8, 8, tab, madt_off);
	acpi_sum(tab, xsdt_off, SDT_HDR_LEN + 2 * 8, xsdt_off + 9);

	memcpy(rp, "RSD PTR ", 8);
	memcpy(rp + 9, ACPI_OEMID, 6);
	rp[15] = 2;			/* revision: ACPI 2.0+ */
	acpi_pointer(rs, rp_off + 16, 4, tab, rsdt_off);
	put32(rp, 20, 36);
	acpi_pointer(rs, rp_off + 24, 8, tab, xsdt_off);
	acpi_sum(rs, rp_off, 20, rp_off + 8);
	acpi_sum(rs, rp_off, 36, rp_off + 32);
	*rsdpp = rp_off;
	ret = 0;
 done:
	aml_free(&a);
	return (ret);
}

/*
 * For direct kernel boots: write the tables into the BIOS area; *rsdp
 * gets the RSDP's address.  Returns 0, or -1 if they do not fit.
 */
int
acpi_build(const struct vm_mem *mem, const struct acpi_machine *m,
    uint64_t *rsdp)
{
	struct acpi_area	aa;
	size_t			off;

	memset(&aa, 0, sizeof(aa));
	aa.cap = ACPI_AREA_MAX;
	aa.gpa = ACPI_TABLES_BASE;
	if ((aa.buf = vm_mem_ptr(mem, ACPI_TABLES_BASE, aa.cap)) == NULL)
		return (-1);
	memset(aa.buf, 0, aa.cap);
	if (acpi_tables(&aa, &aa, m, &off) == -1)
		return (-1);
	*rsdp = aa.gpa + off;
	return (0);
}

/*
 * For SeaBIOS: the same tables as the fw_cfg files ACPI_FWCFG_TABLES and
 * ACPI_FWCFG_RSDP, and the ACPI_FWCFG_LOADER script that places them.
 * Free the result with acpi_fwcfg_free().
 */
int
acpi_build_fwcfg(const struct acpi_machine *m, struct acpi_fwcfg *out)
{
	struct acpi_loader	*ld;
	struct acpi_area	 tab, rs;
	size_t			 off;

	memset(out, 0, sizeof(*out));
	memset(&tab, 0, sizeof(tab));
	memset(&rs, 0, sizeof(rs));
	if ((ld = calloc(1, sizeof(*ld))) == NULL ||
	    (tab.buf = calloc(1, ACPI_AREA_MAX)) == NULL ||
	    (rs.buf = calloc(1, 36)) == NULL)
		goto fail;
	tab.name = ACPI_FWCFG_TABLES;
	tab.cap = ACPI_AREA_MAX;
	tab.ld = ld;
	rs.name = ACPI_FWCFG_RSDP;
	rs.cap = 36;
	rs.ld = ld;

	/* the tables in high memory, the RSDP where guests look for it */
	loader_allocate(ld, tab.name, 64, LOADER_ZONE_HIGH);
	loader_allocate(ld, rs.name, 16, LOADER_ZONE_FSEG);
	if (acpi_tables(&tab, &rs, m, &off) == -1 || ld->error)
		goto fail;

	out->tables = tab.buf;
	out->tables_len = tab.len;
	out->rsdp = rs.buf;
	out->rsdp_len = rs.len;
	if ((out->loader = malloc(ld->len)) == NULL)
		goto fail;
	memcpy(out->loader, ld->buf, ld->len);
	out->loader_len = ld->len;
	free(ld);
	return (0);
 fail:
	free(ld);
	free(tab.buf);
	free(rs.buf);
	memset(out, 0, sizeof(*out));
	return (-1);
}

void
acpi_fwcfg_free(struct acpi_fwcfg *f)
{
	free(f->tables);
	free(f->rsdp);
	free(f->loader);
	memset(f, 0, sizeof(*f));
}

/*
 * PM registers
 */

/* Called with the lock held: IRQ 9 follows status & enable. */
static void
acpi_pm_update_sci(struct acpi_pm *pm)
{
	int	level;

	level = (pm->sts & pm->en & PM1_SCI_EVENTS) != 0;
	if (level != pm->sci) {
		pm->sci = level;
		vm_irq_line(pm->vm, ACPI_SCI_IRQ, level);
	}
}

static uint32_t
acpi_pm_timer(struct acpi_pm *pm)
{
	struct timespec	ts;
	uint64_t	ns;

	if (pm->paused)
		ts = pm->paused_at;
	else
		clock_gettime(CLOCK_MONOTONIC, &ts);
	ns = (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec - pm->paused_ns;
	return ((uint32_t)((ns / 1000000000ULL) * ACPI_PM_TMR_HZ +
	    (ns % 1000000000ULL) * ACPI_PM_TMR_HZ / 1000000000ULL) & 0xffffff);
}

static void
acpi_pm_evt_io(void *arg, uint16_t port, int size, int in, uint32_t *data)
{
	struct acpi_pm	*pm = arg;
	unsigned int	 off = port - ACPI_PM1A_EVT, i;
	uint32_t	 v;
	uint8_t		 b;

	pthread_mutex_lock(&pm->mtx);
	if (in) {
		v = pm->sts | (uint32_t)pm->en << 16;
		*data = v >> (8 * off);
	} else {
		for (i = 0; i < (unsigned int)size && off + i < 4; i++) {
			b = *data >> (8 * i);
			switch (off + i) {
			case 0:
				pm->sts &= ~(uint16_t)b;
				break;
			case 1:
				pm->sts &= ~((uint16_t)b << 8);
				break;
			case 2:
				pm->en = (pm->en & 0xff00) | b;
				break;
			case 3:
				pm->en = (pm->en & 0x00ff) | (uint16_t)b << 8;
				break;
			}
		}
		acpi_pm_update_sci(pm);
	}
	pthread_mutex_unlock(&pm->mtx);
}

static void
acpi_pm_cnt_io(void *arg, uint16_t port, int size, int in, uint32_t *data)
{
	struct acpi_pm	*pm = arg;
	unsigned int	 off = port - ACPI_PM1A_CNT, typ;
	uint16_t	 v;

	pthread_mutex_lock(&pm->mtx);
	if (in) {
		*data = (uint32_t)(pm->cnt | PM1_SCI_EN) >> (8 * off);
		pthread_mutex_unlock(&pm->mtx);
		return;
	}
	v = pm->cnt;
	if (off == 0 && size >= 2)
		v = *data;
	else if (off == 0)
		v = (v & 0xff00) | (*data & 0xff);
	else
		v = (v & 0x00ff) | (*data & 0xff) << 8;
	pm->cnt = v & ~PM1_SLP_EN;	/* SLP_EN is write-only */
	pthread_mutex_unlock(&pm->mtx);

	if (v & PM1_SLP_EN) {
		typ = (v & PM1_SLP_TYP_MASK) >> PM1_SLP_TYP_SHIFT;
		if (typ == ACPI_S5_SLP_TYP)
			vm_request_exit(pm->vm, VM_EXIT_POWEROFF);
		else
			log_debug("%s: sleep type %u not supported",
			    __func__, typ);
	}
}

static void
acpi_pm_tmr_io(void *arg, uint16_t port, int size, int in, uint32_t *data)
{
	struct acpi_pm	*pm = arg;

	(void)size;
	if (!in)
		return;
	pthread_mutex_lock(&pm->mtx);
	*data = acpi_pm_timer(pm) >> (8 * (port - ACPI_PM_TMR));
	pthread_mutex_unlock(&pm->mtx);
}

struct acpi_pm *
acpi_pm_init(struct vm *vm)
{
	struct acpi_pm	*pm;

	if ((pm = calloc(1, sizeof(*pm))) == NULL)
		return (NULL);
	pthread_mutex_init(&pm->mtx, NULL);
	pm->vm = vm;
	if (vm_ioport_register(vm, ACPI_PM1A_EVT, 4, acpi_pm_evt_io,
	    pm) == -1 ||
	    vm_ioport_register(vm, ACPI_PM1A_CNT, 2, acpi_pm_cnt_io,
	    pm) == -1 ||
	    vm_ioport_register(vm, ACPI_PM_TMR, 4, acpi_pm_tmr_io, pm) == -1) {
		free(pm);
		return (NULL);
	}
	return (pm);
}

/* vmctl stop: press the power button. */
void
acpi_pm_powerbutton(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->mtx);
	pm->sts |= PM1_PWRBTN;
	acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&pm->mtx);
}

void
acpi_pm_pause(struct acpi_pm *pm)
{
	pthread_mutex_lock(&pm->mtx);
	if (!pm->paused) {
		clock_gettime(CLOCK_MONOTONIC, &pm->paused_at);
		pm->paused = 1;
	}
	pthread_mutex_unlock(&pm->mtx);
}

void
acpi_pm_unpause(struct acpi_pm *pm)
{
	struct timespec	ts;

	pthread_mutex_lock(&pm->mtx);
	if (pm->paused) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		pm->paused_ns += (uint64_t)(ts.tv_sec - pm->paused_at.tv_sec) *
		    1000000000ULL + ts.tv_nsec - pm->paused_at.tv_nsec;
		pm->paused = 0;
	}
	pthread_mutex_unlock(&pm->mtx);
}

/*
 * What send carries: the registers and the PM timer's count in
 * nanoseconds, which goes on from there on the receiving side.
 */
struct acpi_pm_state {
	uint16_t	 sts;
	uint16_t	 en;
	uint16_t	 cnt;
	uint16_t	 pad;
	uint64_t	 timer_ns;
} __attribute__((packed));

static uint64_t
ts_ns(const struct timespec *ts)
{
	return ((uint64_t)ts->tv_sec * 1000000000ULL + ts->tv_nsec);
}

/* The guest is paused, and so is the timer. */
int
acpi_pm_save(struct acpi_pm *pm, struct vms_writer *w)
{
	struct acpi_pm_state	s;
	struct timespec		ts;

	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&pm->mtx);
	s.sts = pm->sts;
	s.en = pm->en;
	s.cnt = pm->cnt;
	if (pm->paused)
		ts = pm->paused_at;
	else
		clock_gettime(CLOCK_MONOTONIC, &ts);
	s.timer_ns = ts_ns(&ts) - pm->paused_ns;
	pthread_mutex_unlock(&pm->mtx);
	return (vms_put(w, VMS_PM, 0, &s, sizeof(s)));
}

/* Before the guest runs: the timer stands at the saved count, paused. */
const char *
acpi_pm_restore(struct acpi_pm *pm, const void *p, size_t len)
{
	struct acpi_pm_state	s;
	struct timespec		ts;

	if (len != sizeof(s))
		return ("wrong size");
	memcpy(&s, p, sizeof(s));
	clock_gettime(CLOCK_MONOTONIC, &ts);
	pthread_mutex_lock(&pm->mtx);
	pm->sts = s.sts;
	pm->en = s.en;
	pm->cnt = s.cnt & ~PM1_SLP_EN;
	pm->paused = 1;
	pm->paused_at = ts;
	/* modulo 2^64: the sender's uptime may exceed ours */
	pm->paused_ns = ts_ns(&ts) - s.timer_ns;
	pm->sci = 0;
	acpi_pm_update_sci(pm);
	pthread_mutex_unlock(&pm->mtx);
	return (NULL);
}
