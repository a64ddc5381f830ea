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
 * ACPI: find and check RSDP, XSDT/RSDT, FADT, DSDT and MADT, count the
 * enabled processors, find \_S5_ in the DSDT AML (or else an SSDT) and the
 * PM1 registers; enable the power button event and poll its status.
 */

#include "guest.h"

#define SDT_HDR_LEN		36
#define SDT_MAX_LEN		(1024 * 1024)

#define RSDP_SIG		0x2052545020445352ULL	/* "RSD PTR " */
#define RSDP_SCAN_START		0xe0000
#define RSDP_SCAN_END		0x100000

/* FADT offsets */
#define FADT_DSDT		40
#define FADT_SCI_INT		46
#define FADT_SMI_CMD		48
#define FADT_ACPI_ENABLE	52
#define FADT_PM1A_EVT_BLK	56
#define FADT_PM1A_CNT_BLK	64
#define FADT_PM1_EVT_LEN	88
#define FADT_X_DSDT		140
#define FADT_X_PM1A_EVT_BLK	148
#define FADT_X_PM1A_CNT_BLK	172
#define GAS_SPACE_IO		1

/* MADT */
#define MADT_ENTRIES		44
#define MADT_LAPIC		0
#define MADT_X2APIC		9
#define MADT_ENABLED		0x01

/* AML */
#define AML_ZERO		0x00
#define AML_ONE			0x01
#define AML_BYTEPREFIX		0x0a
#define AML_WORDPREFIX		0x0b
#define AML_DWORDPREFIX		0x0c
#define AML_PACKAGE		0x12
#define AML_ONES		0xff

/* PM1 registers */
#define PM1_PWRBTN		0x0100	/* PWRBTN_STS, PWRBTN_EN */
#define PM1_SCI_EN		0x0001

struct acpiinfo	acpi;
static char	acpi_errbuf[40];

/*
 * Byte sum modulo 256, eight bytes per load: the bytes are added into
 * four 16-bit lanes, folded before a lane can overflow.
 */
static uint8_t
sum8(uint64_t pa, uint32_t len)
{
	const uint64_t m = 0x00ff00ff00ff00ffULL;
	uint64_t acc, w;
	uint32_t s = 0, k;

	while (len >= 8) {
		acc = 0;
		for (k = 0; k < 128 && len >= 8; k++, len -= 8, pa += 8) {
			w = rd64(pa);
			acc += (w & m) + ((w >> 8) & m);
		}
		s += (acc & 0xffff) + ((acc >> 16) & 0xffff) +
		    ((acc >> 32) & 0xffff) + (acc >> 48);
	}
	for (; len > 0; len--, pa++)
		s += rd8(pa);
	return (uint8_t)s;
}

static int
fail(struct acpiinfo *ai, const char *what, const char *why)
{
	char *p = acpi_errbuf, *e = acpi_errbuf + sizeof(acpi_errbuf) - 1;

	while (*what != '\0' && p < e)
		*p++ = *what++;
	if (why != NULL && p < e) {
		*p++ = ' ';
		while (*why != '\0' && p < e)
			*p++ = *why++;
	}
	*p = '\0';
	ai->ai_ok = 0;
	ai->ai_err = acpi_errbuf;
	return -1;
}

/*
 * Check a system description table: present, mapped, signature, length,
 * checksum.  Returns NULL if fine, else the reason.
 */
static const char *
sdt_check(uint64_t pa, const char *sig, uint32_t *lenp)
{
	uint32_t len;

	if (pa == 0)
		return "missing";
	if (!mapped(pa, SDT_HDR_LEN))
		return "unmapped";
	if (memcmp((const void *)pa, sig, 4) != 0)
		return "signature";
	len = rd32(pa + 4);
	if (len < SDT_HDR_LEN || len > SDT_MAX_LEN || !mapped(pa, len))
		return "length";
	if (sum8(pa, len) != 0)
		return "checksum";
	*lenp = len;
	return NULL;
}

/* Returns NULL if the RSDP at pa is fine, else the reason. */
static const char *
rsdp_check(uint64_t pa)
{
	uint32_t len;

	if (!mapped(pa, 36))
		return "unmapped";
	if (rd64(pa) != RSDP_SIG)
		return "signature";
	if (sum8(pa, 20) != 0)
		return "checksum";
	if (rd8(pa + 15) >= 2) {
		len = rd32(pa + 20);
		if (len < 36 || len > 4096 || !mapped(pa, len))
			return "length";
		if (sum8(pa, len) != 0)
			return "extended checksum";
	}
	return NULL;
}

/* First element of the \_S5_ package in an AML table, or -1. */
static int
find_s5(uint64_t pa, uint32_t len)
{
	uint64_t p, end = pa + len;

	for (p = pa + SDT_HDR_LEN; p + 8 <= end; p++) {
		if (rd8(p) != '_' || rd32(p) != 0x5f35535f ||	/* "_S5_" */
		    rd8(p + 4) != AML_PACKAGE)
			continue;
		p += 5;
		p += 1 + (rd8(p) >> 6);		/* PkgLength */
		p += 1;				/* NumElements */
		if (p + 2 > end)
			return -1;
		switch (rd8(p)) {
		case AML_ZERO:
			return 0;
		case AML_ONE:
			return 1;
		case AML_ONES:
			return 7;
		case AML_BYTEPREFIX:
		case AML_WORDPREFIX:
		case AML_DWORDPREFIX:
			return rd8(p + 1) & 7;
		default:
			return -1;
		}
	}
	return -1;
}

/* Counts the enabled processors; the first MAXCPUS APIC ids are kept. */
static int
count_cpus(uint64_t madt, uint32_t len, struct acpiinfo *ai)
{
	uint64_t p, end = madt + len;
	uint32_t id;
	uint8_t type, elen;
	int n = 0;

	for (p = madt + MADT_ENTRIES; p + 2 <= end; p += elen) {
		type = rd8(p);
		elen = rd8(p + 1);
		if (elen < 2 || p + elen > end)
			break;
		if (type == MADT_LAPIC && elen >= 8 &&
		    (rd32(p + 4) & MADT_ENABLED))
			id = rd8(p + 3);
		else if (type == MADT_X2APIC && elen >= 12 &&
		    (rd32(p + 8) & MADT_ENABLED))
			id = rd32(p + 4);
		else
			continue;
		if (n < MAXCPUS)
			ai->ai_apicid[n] = id;
		n++;
	}
	return n;
}

/*
 * Look everything up from scratch; hint is the RSDP address the loader
 * gave us (0: scan the BIOS area).  Returns 0 and fills *ai, or -1 with
 * ai->ai_err set.
 */
int
acpi_lookup(uint64_t hint, struct acpiinfo *ai)
{
	const char *why;
	uint64_t rsdp, root, ent, fadt = 0, madt = 0, dsdt, p;
	uint32_t rootlen, fadtlen, madtlen, dsdtlen, sslen, n, i, esz;
	int xsdt;

	memset(ai, 0, sizeof(*ai));
	ai->ai_s5 = -1;

	if (hint != 0) {
		if ((why = rsdp_check(hint)) != NULL)
			return fail(ai, "RSDP", why);
		rsdp = hint;
	} else {
		for (rsdp = RSDP_SCAN_START; rsdp < RSDP_SCAN_END; rsdp += 16)
			if (rd64(rsdp) == RSDP_SIG && rsdp_check(rsdp) == NULL)
				break;
		if (rsdp >= RSDP_SCAN_END)
			return fail(ai, "no RSDP", NULL);
	}

	xsdt = rd8(rsdp + 15) >= 2 && rd64(rsdp + 24) != 0;
	root = xsdt ? rd64(rsdp + 24) : rd32(rsdp + 16);
	if ((why = sdt_check(root, xsdt ? "XSDT" : "RSDT", &rootlen)) != NULL)
		return fail(ai, xsdt ? "XSDT" : "RSDT", why);
	esz = xsdt ? 8 : 4;
	n = (rootlen - SDT_HDR_LEN) / esz;
	for (i = 0; i < n; i++) {
		p = root + SDT_HDR_LEN + i * esz;
		ent = xsdt ? rd64(p) : rd32(p);
		if (!mapped(ent, 4))
			continue;
		if (fadt == 0 && memcmp((const void *)ent, "FACP", 4) == 0)
			fadt = ent;
		else if (madt == 0 && memcmp((const void *)ent, "APIC", 4) == 0)
			madt = ent;
	}

	if ((why = sdt_check(fadt, "FACP", &fadtlen)) != NULL)
		return fail(ai, "FACP", why);
	if (fadtlen < FADT_PM1_EVT_LEN + 1)
		return fail(ai, "FACP", "length");

	dsdt = 0;
	if (fadtlen >= FADT_X_DSDT + 8)
		dsdt = rd64(fadt + FADT_X_DSDT);
	if (dsdt == 0)
		dsdt = rd32(fadt + FADT_DSDT);
	if ((why = sdt_check(dsdt, "DSDT", &dsdtlen)) != NULL)
		return fail(ai, "DSDT", why);

	if ((why = sdt_check(madt, "APIC", &madtlen)) != NULL)
		return fail(ai, "APIC", why);
	ai->ai_cpus = count_cpus(madt, madtlen, ai);

	ai->ai_sci = rd16(fadt + FADT_SCI_INT);
	ai->ai_smi_cmd = rd32(fadt + FADT_SMI_CMD);
	ai->ai_acpi_enable = rd8(fadt + FADT_ACPI_ENABLE);
	ai->ai_pm1a_evt = rd32(fadt + FADT_PM1A_EVT_BLK);
	ai->ai_pm1a_cnt = rd32(fadt + FADT_PM1A_CNT_BLK);
	ai->ai_pm1_evt_len = rd8(fadt + FADT_PM1_EVT_LEN);
	if (ai->ai_pm1a_evt == 0 && fadtlen >= FADT_X_PM1A_EVT_BLK + 12 &&
	    rd8(fadt + FADT_X_PM1A_EVT_BLK) == GAS_SPACE_IO) {
		ai->ai_pm1a_evt = rd64(fadt + FADT_X_PM1A_EVT_BLK + 4);
		if (ai->ai_pm1_evt_len == 0)
			ai->ai_pm1_evt_len =
			    rd8(fadt + FADT_X_PM1A_EVT_BLK + 1) / 8;
	}
	if (ai->ai_pm1a_cnt == 0 && fadtlen >= FADT_X_PM1A_CNT_BLK + 12 &&
	    rd8(fadt + FADT_X_PM1A_CNT_BLK) == GAS_SPACE_IO)
		ai->ai_pm1a_cnt = rd64(fadt + FADT_X_PM1A_CNT_BLK + 4);
	if (ai->ai_pm1_evt_len == 0)
		ai->ai_pm1_evt_len = 4;
	if (ai->ai_pm1a_evt == 0 || ai->ai_pm1a_evt > 0xffff)
		return fail(ai, "no PM1a_EVT_BLK", NULL);
	if (ai->ai_pm1a_cnt == 0 || ai->ai_pm1a_cnt > 0xffff)
		return fail(ai, "no PM1a_CNT_BLK", NULL);

	ai->ai_s5 = find_s5(dsdt, dsdtlen);
	for (i = 0; ai->ai_s5 < 0 && i < n; i++) {
		p = root + SDT_HDR_LEN + i * esz;
		ent = xsdt ? rd64(p) : rd32(p);
		if (mapped(ent, 4) &&
		    memcmp((const void *)ent, "SSDT", 4) == 0 &&
		    sdt_check(ent, "SSDT", &sslen) == NULL)
			ai->ai_s5 = find_s5(ent, sslen);
	}
	if (ai->ai_s5 < 0)
		return fail(ai, "no _S5_", NULL);

	ai->ai_ok = 1;
	ai->ai_err = NULL;
	return 0;
}

/*
 * Boot: look up silently, switch to ACPI mode if the firmware did not,
 * enable the power button event.
 */
void
acpi_setup(void)
{
	int i;

	if (acpi_lookup(bootinfo.bi_rsdp, &acpi) != 0)
		return;
	if (acpi.ai_smi_cmd != 0 && acpi.ai_smi_cmd <= 0xffff &&
	    acpi.ai_acpi_enable != 0 &&
	    (inw(acpi.ai_pm1a_cnt) & PM1_SCI_EN) == 0) {
		outb(acpi.ai_smi_cmd, acpi.ai_acpi_enable);
		for (i = 0; i < 10; i++) {
			if (inw(acpi.ai_pm1a_cnt) & PM1_SCI_EN)
				break;
			wait_ticks(1);
		}
	}
	outw(acpi.ai_pm1a_evt + acpi.ai_pm1_evt_len / 2, PM1_PWRBTN);
	pic_unmask_sci();
}

/* Was the power button pressed?  Acknowledges the status bit. */
int
acpi_pwrbtn_poll(void)
{
	if (!acpi.ai_ok)
		return 0;
	if ((inw(acpi.ai_pm1a_evt) & PM1_PWRBTN) == 0)
		return 0;
	outw(acpi.ai_pm1a_evt, PM1_PWRBTN);
	return 1;
}
