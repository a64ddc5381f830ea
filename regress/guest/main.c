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
 * Boot: turn the loader's boot information into struct bootinfo, announce
 * ourselves, set up interrupts and ACPI, run the run= commands, then the
 * interactive shell on COM1.
 */

#include "guest.h"

/* struct boot_params ("zero page") offsets */
#define ZP_ACPI_RSDP		0x070
#define ZP_EXT_RAMDISK_IMAGE	0x0c0
#define ZP_EXT_RAMDISK_SIZE	0x0c4
#define ZP_EXT_CMD_LINE_PTR	0x0c8
#define ZP_E820_ENTRIES		0x1e8
#define ZP_RAMDISK_IMAGE	0x218
#define ZP_RAMDISK_SIZE		0x21c
#define ZP_CMD_LINE_PTR		0x228
#define ZP_E820_TABLE		0x2d0
#define ZP_SIZE			0x1000
#define ZP_E820_MAX		128
#define ZP_E820_SIZE		20

/* struct hvm_start_info offsets */
#define HVM_START_MAGIC		0x336ec578
#define HVM_MAGIC		0
#define HVM_VERSION		4
#define HVM_NR_MODULES		12
#define HVM_MODLIST_PADDR	16
#define HVM_CMDLINE_PADDR	24
#define HVM_RSDP_PADDR		32
#define HVM_MEMMAP_PADDR	40
#define HVM_MEMMAP_ENTRIES	48
#define HVM_SIZE_V1		56
#define HVM_MODLIST_SIZE	32	/* paddr, size, cmdline_paddr, rsvd */
#define HVM_MEMMAP_SIZE		24	/* addr, size, type, reserved */

#define CMDLINE_MAX		4096
#define LINE_MAX		128
#define NAME_MAX		16

static const char	*boot_problem;

static void
set_cmdline(uint64_t pa)
{
	size_t n;

	bootinfo.bi_cmdline = "";
	bootinfo.bi_cmdlen = 0;
	if (pa == 0 || !mapped(pa, 1))
		return;
	for (n = 0; n < CMDLINE_MAX && mapped(pa + n, 1) &&
	    rd8(pa + n) != '\0'; n++)
		;
	bootinfo.bi_cmdline = (const char *)pa;
	bootinfo.bi_cmdlen = n;
}

static void
from_zero_page(uint64_t zp)
{
	if (!mapped(zp, ZP_SIZE)) {
		boot_problem = "zero page unmapped";
		return;
	}
	set_cmdline(rd32(zp + ZP_CMD_LINE_PTR) |
	    (uint64_t)rd32(zp + ZP_EXT_CMD_LINE_PTR) << 32);
	bootinfo.bi_initrd = rd32(zp + ZP_RAMDISK_IMAGE) |
	    (uint64_t)rd32(zp + ZP_EXT_RAMDISK_IMAGE) << 32;
	bootinfo.bi_initrdsz = rd32(zp + ZP_RAMDISK_SIZE) |
	    (uint64_t)rd32(zp + ZP_EXT_RAMDISK_SIZE) << 32;
	bootinfo.bi_e820 = zp + ZP_E820_TABLE;
	bootinfo.bi_e820stride = ZP_E820_SIZE;
	bootinfo.bi_e820n = rd8(zp + ZP_E820_ENTRIES);
	if (bootinfo.bi_e820n > ZP_E820_MAX)
		bootinfo.bi_e820n = ZP_E820_MAX;
	bootinfo.bi_rsdp = rd64(zp + ZP_ACPI_RSDP);
}

static void
from_hvm_start_info(uint64_t si)
{
	uint64_t mod;

	if (!mapped(si, HVM_SIZE_V1) ||
	    rd32(si + HVM_MAGIC) != HVM_START_MAGIC) {
		boot_problem = "bad hvm_start_info";
		return;
	}
	set_cmdline(rd64(si + HVM_CMDLINE_PADDR));
	if (rd32(si + HVM_NR_MODULES) > 0) {
		mod = rd64(si + HVM_MODLIST_PADDR);
		if (mapped(mod, HVM_MODLIST_SIZE)) {
			bootinfo.bi_initrd = rd64(mod);
			bootinfo.bi_initrdsz = rd64(mod + 8);
		}
	}
	if (rd32(si + HVM_VERSION) >= 1) {
		bootinfo.bi_e820 = rd64(si + HVM_MEMMAP_PADDR);
		bootinfo.bi_e820stride = HVM_MEMMAP_SIZE;
		bootinfo.bi_e820n = rd32(si + HVM_MEMMAP_ENTRIES);
	}
	bootinfo.bi_rsdp = rd64(si + HVM_RSDP_PADDR);
}

static void
copy_word(char *dst, size_t dstsz, const char *src, size_t len)
{
	if (len > dstsz - 1)
		len = dstsz - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/*
 * run=cmd1,cmd2:arg,...: the value ends at white space; each item is a
 * command name, optionally followed by ':' and its argument.
 */
static void
run_cmdline(void)
{
	const char *s = bootinfo.bi_cmdline, *e = s + bootinfo.bi_cmdlen;
	const char *p, *item, *colon;
	char name[NAME_MAX], arg[LINE_MAX];

	for (p = s; p + 4 <= e; p++) {
		if ((p == s || p[-1] == ' ' || p[-1] == '\t') &&
		    memcmp(p, "run=", 4) == 0)
			break;
	}
	if (p + 4 > e)
		return;
	for (p += 4; p < e && *p != ' ' && *p != '\t'; ) {
		item = p;
		colon = NULL;
		for (; p < e && *p != ',' && *p != ' ' && *p != '\t'; p++)
			if (*p == ':' && colon == NULL)
				colon = p;
		if (colon != NULL) {
			copy_word(name, sizeof(name), item, colon - item);
			copy_word(arg, sizeof(arg), colon + 1, p - colon - 1);
		} else {
			copy_word(name, sizeof(name), item, p - item);
			arg[0] = '\0';
		}
		if (name[0] != '\0')
			run_command(name, arg);
		if (p < e && *p == ',')
			p++;
	}
}

/* "name arg...": split at the first run of spaces. */
static void
run_line(char *line)
{
	char *name, *arg, *end;

	for (name = line; *name == ' ' || *name == '\t'; name++)
		;
	if (*name == '\0')
		return;
	for (arg = name; *arg != '\0' && *arg != ' ' && *arg != '\t'; arg++)
		;
	if (*arg != '\0')
		*arg++ = '\0';
	for (; *arg == ' ' || *arg == '\t'; arg++)
		;
	end = arg + strlen(arg);
	while (end > arg && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	if (strlen(name) >= NAME_MAX)
		name[NAME_MAX - 1] = '\0';
	run_command(name, arg);
}

static void
prompt(const char *line, size_t len)
{
	cons_freshline();
	kprintf("vmdguest> %.*s", (int)len, line);
}

static void __attribute__((__noreturn__))
shell(void)
{
	char line[LINE_MAX];
	size_t len = 0;
	int c, lastcr = 0;

	prompt(line, 0);
	for (;;) {
		if ((c = cons_getc()) < 0) {
			rx_wanted = 1;
			idle();
			rx_wanted = 0;
			if (async_output) {
				async_output = 0;
				prompt(line, len);
			}
			continue;
		}
		if (c == '\n' && lastcr) {
			lastcr = 0;
			continue;
		}
		lastcr = c == '\r';
		if (c == '\r' || c == '\n') {
			cons_putc('\n');
			line[len] = '\0';
			run_line(line);
			len = 0;
			async_output = 0;
			prompt(line, 0);
		} else if (c == '\b' || c == 0x7f) {
			if (len > 0) {
				len--;
				cons_puts("\b \b");
			}
		} else if (c >= ' ' && c < 0x7f && len < sizeof(line) - 1) {
			line[len++] = c;
			cons_putc(c);
		}
	}
}

void
kmain(uint64_t kind, uint64_t info)
{
	static const char *const names[] = {
		[BOOT_ELF] = "elf",
		[BOOT_BZIMAGE] = "bzimage",
		[BOOT_PVH] = "pvh",
	};

	uart_init();
	idt_init();

	bootinfo.bi_kind = kind;
	bootinfo.bi_cmdline = "";
	if (kind == BOOT_PVH)
		from_hvm_start_info(info);
	else
		from_zero_page(info);

	kprintf("VMDGUEST: boot entry=%s cmdline=\"%.*s\"\n",
	    kind < sizeof(names) / sizeof(names[0]) && names[kind] != NULL ?
	    names[kind] : "unknown", (int)bootinfo.bi_cmdlen,
	    bootinfo.bi_cmdline);
	if (boot_problem != NULL)
		kprintf("VMDGUEST: %s\n", boot_problem);

	pic_pit_init();
	uart_rxintr_enable();
	sti();
	acpi_setup();

	run_cmdline();
	shell();
}
