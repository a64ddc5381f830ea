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
 * Unit tests of the ACPI tables SeaBIOS gets through fw_cfg: a small
 * table-loader runs the script the way the firmware does (allocate each
 * file at an address of its own, add addresses to pointers, fix
 * checksums) into a fake guest memory; then the tables are walked from
 * the RSDP as a guest would, and compared with the ones a direct kernel
 * boot gets at 0xe0000.  TAP-style output.
 */

#include <sys/types.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "bytes.h"
#include "tap.h"

#define MEM_SIZE	0x100000	/* the first MiB */
#define TABLES_AT	0x7a340		/* "high" memory, 64-aligned */
#define RSDP_AT		0xf5a10		/* in the F segment, 16-aligned */
#define ENTRY_LEN	128
#define FILE_LEN	56

static uint8_t	 mem[MEM_SIZE];

/* stubs of the VM the PM registers live in */
int
vm_ioport_register(struct vm *vm, uint16_t base, unsigned int n,
    vm_io_fn fn, void *arg)
{
	(void)vm;
	(void)base;
	(void)n;
	(void)fn;
	(void)arg;
	return (0);
}

void
vm_irq_line(struct vm *vm, unsigned int irq, int level)
{
	(void)vm;
	(void)irq;
	(void)level;
}

void
vm_request_exit(struct vm *vm, int why)
{
	(void)vm;
	(void)why;
}

static int
sum_ok(uint64_t gpa, size_t len)
{
	uint8_t	sum = 0;
	size_t	i;

	if (gpa > MEM_SIZE || len > MEM_SIZE - gpa)
		return (0);
	for (i = 0; i < len; i++)
		sum += mem[gpa + i];
	return (sum == 0);
}

struct file {
	const char	*name;
	const uint8_t	*data;
	size_t		 len;
	uint64_t	 at;
	uint64_t	 placed;	/* 0: not allocated yet */
};

static struct file *
file_find(struct file *f, size_t n, const uint8_t *name)
{
	size_t	i;

	if (memchr(name, '\0', FILE_LEN) == NULL)
		return (NULL);
	for (i = 0; i < n; i++)
		if (strcmp(f[i].name, (const char *)name) == 0)
			return (&f[i]);
	return (NULL);
}

/* the firmware's part; returns the number of bad commands */
static int
loader_run(const struct acpi_fwcfg *a)
{
	struct file	 files[2] = {
		{ ACPI_FWCFG_TABLES, a->tables, a->tables_len, TABLES_AT, 0 },
		{ ACPI_FWCFG_RSDP, a->rsdp, a->rsdp_len, RSDP_AT, 0 },
	};
	struct file	*d, *s;
	const uint8_t	*e;
	uint64_t	 v;
	uint32_t	 off, start, len, align;
	uint8_t		 size, sum;
	size_t		 i, j;
	int		 bad = 0;

	for (i = 0; i + ENTRY_LEN <= a->loader_len; i += ENTRY_LEN) {
		e = a->loader + i;
		switch (get32(e, 0)) {
		case 1:		/* ALLOCATE */
			if ((d = file_find(files, 2, e + 4)) == NULL ||
			    d->placed) {
				bad++;
				break;
			}
			align = get32(e, 4 + FILE_LEN);
			if (align == 0 || (align & (align - 1)) ||
			    d->at % align != 0 ||
			    e[8 + FILE_LEN] != (d->at == RSDP_AT ? 2 : 1))
				bad++;
			memcpy(mem + d->at, d->data, d->len);
			d->placed = 1;
			break;
		case 2:		/* ADD_POINTER */
			d = file_find(files, 2, e + 4);
			s = file_find(files, 2, e + 4 + FILE_LEN);
			off = get32(e, 4 + 2 * FILE_LEN);
			size = e[8 + 2 * FILE_LEN];
			if (d == NULL || s == NULL || !d->placed ||
			    !s->placed || (size != 4 && size != 8) ||
			    off + size > d->len) {
				bad++;
				break;
			}
			v = 0;
			memcpy(&v, mem + d->at + off, size);
			v += s->at;
			memcpy(mem + d->at + off, &v, size);
			break;
		case 3:		/* ADD_CHECKSUM */
			d = file_find(files, 2, e + 4);
			off = get32(e, 4 + FILE_LEN);
			start = get32(e, 8 + FILE_LEN);
			len = get32(e, 12 + FILE_LEN);
			if (d == NULL || !d->placed || off >= d->len ||
			    start + len > d->len || off < start ||
			    off >= start + len) {
				bad++;
				break;
			}
			for (sum = 0, j = 0; j < len; j++)
				sum += mem[d->at + start + j];
			mem[d->at + off] -= sum;
			break;
		default:
			bad++;
		}
	}
	if (a->loader_len % ENTRY_LEN != 0 || !files[0].placed ||
	    !files[1].placed)
		bad++;
	return (bad);
}

/* n bytes of needle somewhere in the len bytes at p */
static const uint8_t *
find(const uint8_t *p, size_t len, const void *needle, size_t n)
{
	return (memmem(p, len, needle, n));
}

/*
 * The DSDT's \_SB.PCI0: a PNP0A03 root bridge whose _CRS has bus 0-255,
 * the configuration ports, I/O 0xd00-0xffff (where the BARs are), and a
 * _PRT with one INTA# entry per device of m, to its IRQ.
 */
static void
dsdt_check(const char *how, uint64_t dsdt, const struct acpi_machine *m)
{
	static const uint8_t	hid[] = { 0x08, '_', 'H', 'I', 'D', 0x0c,
	    0x41, 0xd0, 0x0a, 0x03 };
	static const uint8_t	bus[] = { 0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00,
	    0, 0, 0x00, 0x00, 0xff, 0x00, 0, 0, 0x00, 0x01 };
	static const uint8_t	cfg[] = { 0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c,
	    0x01, 0x08 };
	static const uint8_t	io[] = { 0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03,
	    0, 0, 0x00, 0x0d, 0xff, 0xff, 0, 0, 0x00, 0xf3 };
	const uint8_t		*body = mem + dsdt + 36, *p, *prt;
	uint8_t			 e[16];
	size_t			 len = get32(mem + dsdt, 4) - 36, el;
	unsigned int		 i, ok;

	p = find(body, len, "PCI0", 4);
	check(p != NULL && find(p, len - (p - body), hid, sizeof(hid)) != NULL,
	    "%s: DSDT has PCI0, a PNP0A03", how);
	check(p != NULL && find(p, len - (p - body), bus, sizeof(bus)) &&
	    find(p, len - (p - body), cfg, sizeof(cfg)) &&
	    find(p, len - (p - body), io, sizeof(io)),
	    "%s: PCI0._CRS: bus 0-255, ports 0xcf8-0xcff, I/O 0xd00-0xffff",
	    how);
	prt = p == NULL ? NULL : find(p, len - (p - body), "_PRT", 4);
	check(prt != NULL && prt[4] == 0x12 && (prt[5] >> 6) <= 1 &&
	    prt[6 + (prt[5] >> 6)] == m->nintx,
	    "%s: PCI0._PRT has %u entries", how, m->nintx);
	for (ok = 1, i = 0; prt != NULL && i < m->nintx; i++) {
		el = 0;
		e[el++] = 0x12;
		e[el++] = 0;		/* the package length, below */
		e[el++] = 4;
		e[el++] = 0x0c;
		put32(e, el, (uint32_t)m->intx[i].slot << 16 | 0xffff);
		el += 4;
		e[el++] = 0x00;		/* INTA# */
		e[el++] = 0x00;		/* a GSI */
		if (m->intx[i].irq > 1)
			e[el++] = 0x0a;
		e[el++] = m->intx[i].irq;
		e[1] = el - 1;
		if (find(prt, len - (prt - body), e, el) == NULL)
			ok = 0;
	}
	check(prt != NULL && ok, "%s: _PRT wires each device's INTA# to its "
	    "IRQ", how);
}

/*
 * Walk the tables from the RSDP at rsdp as a guest does, checking every
 * checksum and pointer on the way.
 */
static void
walk(const char *how, uint64_t rsdp, const struct acpi_machine *m)
{
	unsigned int	 ncpus = m->ncpus;
	uint64_t	 rsdt, xsdt, t, facs, dsdt;
	uint32_t	 len;
	unsigned int	 i, n, nlapic;
	int		 fadt = 0, madt = 0;

	check(memcmp(mem + rsdp, "RSD PTR ", 8) == 0 && rsdp % 16 == 0,
	    "%s: RSDP signature, 16-aligned", how);
	check(sum_ok(rsdp, 20) && sum_ok(rsdp, 36) && mem[rsdp + 15] == 2 &&
	    get32(mem + rsdp, 20) == 36, "%s: RSDP checksums, revision 2",
	    how);
	rsdt = get32(mem + rsdp, 16);
	xsdt = get64(mem + rsdp, 24);
	check(rsdt + 44 <= MEM_SIZE && memcmp(mem + rsdt, "RSDT", 4) == 0 &&
	    sum_ok(rsdt, get32(mem + rsdt, 4)), "%s: RSDT", how);
	check(xsdt + 52 <= MEM_SIZE && memcmp(mem + xsdt, "XSDT", 4) == 0 &&
	    sum_ok(xsdt, get32(mem + xsdt, 4)), "%s: XSDT", how);
	if (xsdt + 52 > MEM_SIZE || rsdt + 44 > MEM_SIZE)
		return;
	n = (get32(mem + xsdt, 4) - 36) / 8;
	check(n == 2 && n == (get32(mem + rsdt, 4) - 36) / 4,
	    "%s: RSDT and XSDT list 2 tables", how);
	for (i = 0; i < n; i++) {
		t = get64(mem + xsdt, 36 + 8 * i);
		check(t == get32(mem + rsdt, 36 + 4 * i),
		    "%s: RSDT and XSDT entry %u agree", how, i);
		if (t + 36 > MEM_SIZE)
			continue;
		len = get32(mem + t, 4);
		check(sum_ok(t, len), "%s: %.4s checksum", how, mem + t);
		if (memcmp(mem + t, "FACP", 4) == 0) {
			fadt = 1;
			facs = get32(mem + t, 36);
			dsdt = get32(mem + t, 40);
			check(facs == get64(mem + t, 132) &&
			    dsdt == get64(mem + t, 140),
			    "%s: FADT's 32- and 64-bit pointers agree", how);
			check(facs + 64 <= MEM_SIZE && facs % 64 == 0 &&
			    memcmp(mem + facs, "FACS", 4) == 0,
			    "%s: FACS, 64-aligned", how);
			check(dsdt + 36 <= MEM_SIZE &&
			    memcmp(mem + dsdt, "DSDT", 4) == 0 &&
			    sum_ok(dsdt, get32(mem + dsdt, 4)),
			    "%s: DSDT and its checksum", how);
			if (dsdt + 36 <= MEM_SIZE &&
			    dsdt + get32(mem + dsdt, 4) <= MEM_SIZE)
				dsdt_check(how, dsdt, m);
			check(get16(mem + t, 46) == ACPI_SCI_IRQ &&
			    get32(mem + t, 56) == ACPI_PM1A_EVT,
			    "%s: FADT's SCI and PM1a", how);
		} else if (memcmp(mem + t, "APIC", 4) == 0) {
			madt = 1;
			for (nlapic = 0, len = 44; len + 2 <=
			    get32(mem + t, 4); len += mem[t + len + 1]) {
				if (mem[t + len + 1] == 0)
					break;
				if (mem[t + len] == 0)
					nlapic++;
			}
			check(nlapic == ncpus, "%s: MADT has %u LAPICs", how,
			    ncpus);
		}
	}
	check(fadt && madt, "%s: FADT and MADT found", how);
}

int
main(void)
{
	struct acpi_fwcfg	 a, b;
	struct acpi_machine	 m4, m1;
	struct vm_mem		 vmem;
	uint64_t		 rsdp;
	uint8_t			*direct;

	/* 4 vcpus and three devices, two of them sharing IRQ 5 */
	memset(&m4, 0, sizeof(m4));
	m4.ncpus = 4;
	m4.intx[0] = (struct acpi_intx){ 1, 3 };
	m4.intx[1] = (struct acpi_intx){ 2, 5 };
	m4.intx[2] = (struct acpi_intx){ 10, 5 };
	m4.nintx = 3;
	memset(&m1, 0, sizeof(m1));
	m1.ncpus = 1;

	/* SeaBIOS's way */
	check(acpi_build_fwcfg(&m4, &a) == 0, "acpi_build_fwcfg, 4 vcpus");
	check(a.rsdp_len == 36 && a.tables_len > 0 && a.tables_len < 4096,
	    "fw_cfg files: 36-byte RSDP, tables of %zu bytes", a.tables_len);
	check(memcmp(a.rsdp, "RSD PTR ", 8) == 0 &&
	    memcmp(a.tables, "RSDT", 4) == 0,
	    "the RSDP file holds the RSDP, the tables start with the RSDT");
	memset(mem, 0, sizeof(mem));
	check(loader_run(&a) == 0, "table-loader: every command valid");
	walk("loader", RSDP_AT, &m4);

	/* the same tables with the same bytes, wherever they are placed */
	check(acpi_build_fwcfg(&m4, &b) == 0 && b.tables_len == a.tables_len &&
	    memcmp(a.tables, b.tables, a.tables_len) == 0 &&
	    b.loader_len == a.loader_len &&
	    memcmp(a.loader, b.loader, a.loader_len) == 0,
	    "two builds are identical");
	acpi_fwcfg_free(&b);

	/* the direct boot's tables in place, compared table by table */
	memset(&vmem, 0, sizeof(vmem));
	if ((direct = calloc(1, MEM_SIZE)) == NULL)
		return (1);
	vmem.nslots = 1;
	vmem.slots[0].gpa = 0;
	vmem.slots[0].size = MEM_SIZE;
	vmem.slots[0].hva = direct;
	check(acpi_build(&vmem, &m4, &rsdp) == 0, "acpi_build, 4 vcpus");
	memcpy(mem, direct, MEM_SIZE);
	walk("direct", rsdp, &m4);
	free(direct);

	m1.ncpus = 0;
	check(acpi_build_fwcfg(&m1, &b) == -1 && b.tables == NULL,
	    "no vcpus: refused");
	m1.ncpus = 1;
	m1.nintx = ACPI_MAX_INTX + 1;
	check(acpi_build_fwcfg(&m1, &b) == -1 && b.tables == NULL,
	    "too many PCI routes: refused");
	m1.nintx = 0;
	check(acpi_build_fwcfg(&m1, &b) == 0, "1 vcpu, no PCI devices");
	memset(mem, 0, sizeof(mem));
	check(loader_run(&b) == 0, "table-loader for 1 vcpu");
	walk("loader, 1 vcpu", RSDP_AT, &m1);
	acpi_fwcfg_free(&b);
	acpi_fwcfg_free(&a);
	check(a.tables == NULL && a.loader == NULL, "acpi_fwcfg_free clears");
	return (failed);
}
