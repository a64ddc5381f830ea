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
 * libFuzzer target: the firmware configuration interface (fw_cfg.c) as
 * SeaBIOS, or a guest that pretends to be it, drives it through ports
 * 0x510-0x51b of x86_vm.c's port table: selector writes, data reads,
 * DMA requests in guest memory (the input also fills that memory), and
 * restores of saved state from the input's bytes.  The items are the
 * ones a BIOS boot has, ACPI tables included.  Nothing may read or
 * write outside guest memory or an item, crash, leak, or hang.
 */

#include "machine.h"

#define FW_CFG_PORT_DMA_LO	(FW_CFG_PORT_DMA + 4)
#define FUZZ_REQ_AREA		0x1000	/* where most requests are */

static void
fuzz_setup(void)
{
	struct acpi_machine	 am;
	struct acpi_fwcfg	 acpi;
	struct fw_cfg_boot	 fwb;

	fuzz_machine();
	memset(&am, 0, sizeof(am));
	am.ncpus = 1;
	memset(&acpi, 0, sizeof(acpi));
	if (acpi_build_fwcfg(&am, &acpi) == -1)
		abort();
	memset(&fwb, 0, sizeof(fwb));
	fwb.bootdev = VMBOOTDEV_CDROM;
	fwb.disk_dev = 2;
	fwb.cdrom_dev = 3;
	fwb.acpi_tables = acpi.tables;
	fwb.acpi_tables_len = acpi.tables_len;
	fwb.acpi_rsdp = acpi.rsdp;
	fwb.acpi_rsdp_len = acpi.rsdp_len;
	fwb.acpi_loader = acpi.loader;
	fwb.acpi_loader_len = acpi.loader_len;
	if ((fvm.vm_fwcfg = fw_cfg_init(&fvm, &fwb)) == NULL)
		abort();
	acpi_fwcfg_free(&acpi);
}

/* a DMA request (control, length, address: big-endian) at gpa */
static void
fuzz_dma_req(uint64_t gpa, uint32_t ctl, uint32_t len, uint64_t addr)
{
	uint8_t	req[16];

	ctl = htobe32(ctl);
	len = htobe32(len);
	addr = htobe64(addr);
	memcpy(req, &ctl, 4);
	memcpy(req + 4, &len, 4);
	memcpy(req + 8, &addr, 8);
	(void)vm_mem_write(&fvm.vm_mem, gpa, req, sizeof(req));
}

static void
fuzz_dma_start(uint64_t gpa)
{
	(void)fuzz_port(FW_CFG_PORT_DMA, 4, 0, htobe32(gpa >> 32), 1);
	(void)fuzz_port(FW_CFG_PORT_DMA_LO, 4, 0, htobe32((uint32_t)gpa), 1);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct fw_cfg_state none = { 0xffff, 0, 0, 0 };
	static int		 ready;
	struct fuzz_in		 in = { data, size };
	struct fw_cfg		*fc;
	uint8_t			 st[sizeof(struct fw_cfg_state) + 1], op, b;
	uint64_t		 gpa, addr;
	uint32_t		 ctl, len;
	size_t			 n;
	unsigned int		 steps;

	if (!ready) {
		fuzz_setup();
		ready = 1;
	}
	fc = fvm.vm_fwcfg;
	if (fw_cfg_restore(fc, &none, sizeof(none)) != NULL)
		abort();
	memset(fvm.vm_mem.slots[0].hva, 0, fvm.vm_mem.slots[0].size);

	for (steps = 0; in.left > 0 && steps < 4096; steps++) {
		op = fuzz_u8(&in);
		switch (op & 7) {
		case 0:
			/* select an item: a known key mostly, or any */
			b = fuzz_u8(&in);
			(void)fuzz_port(FW_CFG_PORT_SEL, (op & 0x08) ? 2 : 4, 0,
			    (op & 0x10) ? fuzz_u16(&in) : (b < 0x20 ? b :
			    FW_CFG_FILE_FIRST + (b & 0x0f)), 1);
			break;
		case 1:
			/* read its bytes, string I/O as SeaBIOS does */
			b = fuzz_u8(&in);
			(void)fuzz_port(FW_CFG_PORT_DATA, (op & 0x08) ? 1 :
			    (op & 0x10) ? 2 : 4, 1, 0, (b & 0x3f) + 1);
			break;
		case 2:
			/* a DMA request, made to make sense */
			gpa = FUZZ_REQ_AREA + (fuzz_u8(&in) & 0xf0);
			ctl = (uint32_t)fuzz_u16(&in) << 16 | fuzz_u8(&in);
			len = fuzz_u16(&in);
			addr = 0x8000 + (uint64_t)fuzz_u16(&in) * 8;
			fuzz_dma_req(gpa, ctl, len, addr);
			fuzz_dma_start(gpa);
			break;
		case 3:
			/* a DMA request of any values, anywhere */
			gpa = (uint64_t)fuzz_u32(&in) << ((op >> 3) & 0x1f);
			ctl = fuzz_u32(&in);
			len = fuzz_u32(&in);
			addr = (uint64_t)fuzz_u32(&in) << 32 | fuzz_u32(&in);
			fuzz_dma_req(FUZZ_REQ_AREA, ctl, len, addr);
			fuzz_dma_start((op & 0x80) ? gpa : FUZZ_REQ_AREA);
			break;
		case 4:
			/* the DMA ports one at a time, any size */
			b = fuzz_u8(&in);
			(void)fuzz_port(FW_CFG_PORT_DMA + (b & 7), 1 << (op >> 3 &
			    3) >> (op >> 5 & 1), (op >> 6) & 1, fuzz_u32(&in), 1);
			break;
		case 5:
			/* the other two ports, and around them */
			b = fuzz_u8(&in);
			(void)fuzz_port(FW_CFG_PORT_SEL - 1 + (b & 3),
			    1 << (op >> 3 & 3) >> (op >> 5 & 1), (op >> 6) & 1,
			    fuzz_u32(&in), 1);
			break;
		case 6:
			/* guest memory: bytes where requests and data go */
			gpa = (op & 0x08) ? FUZZ_REQ_AREA : 0x8000;
			gpa += fuzz_u8(&in);
			n = fuzz_u8(&in) % 64;
			n = MINIMUM(n, in.left);
			(void)vm_mem_write(&fvm.vm_mem, gpa, in.p, n);
			in.p += n;
			in.left -= n;
			break;
		case 7:
			/* a received VM's fw_cfg state: any bytes, any length */
			n = fuzz_u8(&in) % sizeof(st);
			n = MINIMUM(n, in.left);
			memset(st, 0, sizeof(st));
			memcpy(st, in.p, n);
			in.p += n;
			in.left -= n;
			(void)fw_cfg_restore(fc, st, (op & 0x08) ?
			    sizeof(struct fw_cfg_state) : n);
			break;
		}
		if (fc->cur != NULL && fc->off > fc->cur->len)
			abort();
	}
	return (0);
}
