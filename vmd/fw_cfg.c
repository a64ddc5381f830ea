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
 * QEMU's firmware configuration interface, which SeaBIOS reads: a
 * selector at 0x510, a byte-wide data port at 0x511 and the DMA address
 * at 0x514 (big-endian, the low half at 0x518 starts the transfer).
 * It holds what the firmware cannot probe: the e820 map, the CPU count,
 * the boot order and a few SeaBIOS settings.  Everything is read-only.
 */

#include <sys/types.h>
#include <endian.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acpi.h"
#include "fw_cfg.h"
#include "vmstate.h"
#include "log.h"

#define FW_CFG_PORT_SEL		0x510
#define FW_CFG_PORT_DATA	0x511
#define FW_CFG_PORT_DMA		0x514

#define FW_CFG_SIGNATURE	0x0000
#define FW_CFG_ID		0x0001
#define FW_CFG_RAM_SIZE		0x0003
#define FW_CFG_NB_CPUS		0x0005
#define FW_CFG_MAX_CPUS		0x000f
#define FW_CFG_FILE_DIR		0x0019
#define FW_CFG_FILE_FIRST	0x0020
#define FW_CFG_WRITE_CHANNEL	0x4000
#define FW_CFG_MAX_ITEMS	32
#define FW_CFG_NAME_LEN		56

#define FW_CFG_VERSION		0x01
#define FW_CFG_VERSION_DMA	0x02

#define FW_CFG_DMA_ERROR	0x01
#define FW_CFG_DMA_READ		0x02
#define FW_CFG_DMA_SKIP		0x04
#define FW_CFG_DMA_SELECT	0x08
#define FW_CFG_DMA_WRITE	0x10
#define FW_CFG_DMA_SIGNATURE	"QEMU CFG"

#define E820_RAM		1
#define E820_RESERVED		2

struct fw_cfg_item {
	uint16_t	 key;
	char		 name[FW_CFG_NAME_LEN];	/* "" for the fixed keys */
	uint8_t		*data;
	size_t		 len;
};

struct fw_cfg {
	struct vm		*vm;
	pthread_mutex_t		 mtx;
	struct fw_cfg_item	 items[FW_CFG_MAX_ITEMS];
	unsigned int		 nitems;
	unsigned int		 nfiles;
	struct fw_cfg_item	*cur;		/* selected, or NULL */
	size_t			 off;
	uint32_t		 dma_hi;
};

static int
fw_cfg_add(struct fw_cfg *fc, uint16_t key, const char *name,
    const void *data, size_t len)
{
	struct fw_cfg_item	*it;

	if (fc->nitems >= FW_CFG_MAX_ITEMS) {
		errno = ENOSPC;
		return (-1);
	}
	it = &fc->items[fc->nitems];
	if ((it->data = malloc(len ? len : 1)) == NULL)
		return (-1);
	memcpy(it->data, data, len);
	it->len = len;
	if (name != NULL) {
		strlcpy(it->name, name, sizeof(it->name));
		it->key = FW_CFG_FILE_FIRST + fc->nfiles++;
	} else
		it->key = key;
	fc->nitems++;
	return (0);
}

static int
fw_cfg_add_int(struct fw_cfg *fc, uint16_t key, const char *name,
    uint64_t v, size_t len)
{
	uint8_t		buf[8];
	unsigned int	i;

	for (i = 0; i < len; i++)
		buf[i] = v >> (8 * i);
	return (fw_cfg_add(fc, key, name, buf, len));
}

/* the directory of files, big-endian as the interface wants it */
static int
fw_cfg_add_dir(struct fw_cfg *fc)
{
	struct fw_cfg_item	*it;
	uint8_t			*dir, *e;
	size_t			 len;
	unsigned int		 i;
	uint32_t		 n;
	uint16_t		 k;
	int			 ret;

	len = 4 + 64 * fc->nfiles;
	if ((dir = calloc(1, len)) == NULL)
		return (-1);
	n = htobe32(fc->nfiles);
	memcpy(dir, &n, 4);
	e = dir + 4;
	for (i = 0; i < fc->nitems; i++) {
		it = &fc->items[i];
		if (it->name[0] == '\0')
			continue;
		n = htobe32(it->len);
		memcpy(e, &n, 4);
		k = htobe16(it->key);
		memcpy(e + 4, &k, 2);
		memcpy(e + 8, it->name, FW_CFG_NAME_LEN);
		e += 64;
	}
	ret = fw_cfg_add(fc, FW_CFG_FILE_DIR, NULL, dir, len);
	free(dir);
	return (ret);
}

static struct fw_cfg_item *
fw_cfg_find(struct fw_cfg *fc, uint16_t key)
{
	unsigned int	i;

	for (i = 0; i < fc->nitems; i++)
		if (fc->items[i].key == key)
			return (&fc->items[i]);
	return (NULL);
}

static void
fw_cfg_select(struct fw_cfg *fc, uint16_t key)
{
	/*
	 * Bit 14 asks for a write.  Bit 15 selects the architecture's own
	 * keys (SeaBIOS reads the legacy ACPI and SMBIOS counts there):
	 * none exist here, so they must read as zero, not as key & 0x3fff
	 * (the signature would make SeaBIOS add 17745 empty ACPI tables).
	 */
	fc->cur = fw_cfg_find(fc, key & ~FW_CFG_WRITE_CHANNEL);
	fc->off = 0;
}

/* one DMA request at guest-physical addr; the result goes back there */
static void
fw_cfg_dma(struct fw_cfg *fc, uint64_t addr)
{
	const struct vm_mem	*mem = &fc->vm->vm_mem;
	uint8_t			*req, *buf;
	uint64_t		 daddr;
	uint32_t		 ctl, len, ctlbe;
	size_t			 n;

	if ((req = vm_mem_ptr(mem, addr, 16)) == NULL) {
		log_debug("%s: request outside guest memory", __func__);
		return;
	}
	memcpy(&ctlbe, req, 4);
	ctl = be32toh(ctlbe);
	memcpy(&len, req + 4, 4);
	len = be32toh(len);
	memcpy(&daddr, req + 8, 8);
	daddr = be64toh(daddr);

	if (ctl & FW_CFG_DMA_SELECT)
		fw_cfg_select(fc, ctl >> 16);
	if (ctl & (FW_CFG_DMA_READ | FW_CFG_DMA_SKIP)) {
		n = 0;
		if (fc->cur != NULL && fc->off < fc->cur->len)
			n = MINIMUM(len, fc->cur->len - fc->off);
		if (ctl & FW_CFG_DMA_READ) {
			if ((buf = vm_mem_ptr(mem, daddr, len)) == NULL) {
				ctl = FW_CFG_DMA_ERROR;
				goto done;
			}
			if (n > 0)
				memcpy(buf, fc->cur->data + fc->off, n);
			memset(buf + n, 0, len - n);
		}
		fc->off += n;
	} else if (ctl & FW_CFG_DMA_WRITE) {
		/* nothing here is writable */
		ctl = FW_CFG_DMA_ERROR;
		goto done;
	}
	ctl = 0;
 done:
	ctlbe = htobe32(ctl);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	memcpy(req, &ctlbe, 4);
}

static void
fw_cfg_io(void *arg, uint16_t port, int size, int in, uint32_t *data)
{
	struct fw_cfg	*fc = arg;
	uint32_t	 v;

	pthread_mutex_lock(&fc->mtx);
	switch (port) {
	case FW_CFG_PORT_SEL:
		if (!in)
			fw_cfg_select(fc, *data & 0xffff);
		else
			*data = 0xffffffff;
		break;
	case FW_CFG_PORT_DATA:
		if (!in)
			break;
		*data = 0;
		if (fc->cur != NULL && fc->off < fc->cur->len)
			*data = fc->cur->data[fc->off++];
		break;
	case FW_CFG_PORT_DMA:
	case FW_CFG_PORT_DMA + 4:
		if (in) {
			/* reads give the bytes of the signature */
			memcpy(&v, &FW_CFG_DMA_SIGNATURE[port -
			    FW_CFG_PORT_DMA], 4);
			*data = le32toh(v);
			break;
		}
		if (size != 4)
			break;
		if (port == FW_CFG_PORT_DMA)
			fc->dma_hi = be32toh(*data);
		else {
			fw_cfg_dma(fc, (uint64_t)fc->dma_hi << 32 |
			    be32toh(*data));
			fc->dma_hi = 0;
		}
		break;
	default:
		if (in)
			*data = 0xffffffff;
		break;
	}
	pthread_mutex_unlock(&fc->mtx);
}

/* the e820 map as SeaBIOS reads it from "etc/e820" */
static int
fw_cfg_add_e820(struct fw_cfg *fc)
{
	const struct vm_mem	*mem = &fc->vm->vm_mem;
	uint8_t			 buf[VM_MAX_MEM_RANGES * 20], *e = buf;
	uint64_t		 v;
	uint32_t		 t;
	unsigned int		 i;

	for (i = 0; i < mem->nranges; i++) {
		if (mem->ranges[i].vmr_type == VM_MEM_RAM)
			t = E820_RAM;
		else if (mem->ranges[i].vmr_type == VM_MEM_RESERVED)
			t = E820_RESERVED;
		else
			continue;	/* the PCI hole is not memory */
		v = htole64(mem->ranges[i].vmr_gpa);
		memcpy(e, &v, 8);
		v = htole64(mem->ranges[i].vmr_size);
		memcpy(e + 8, &v, 8);
		t = htole32(t);
		memcpy(e + 16, &t, 4);
		e += 20;
	}
	return (fw_cfg_add(fc, 0, "etc/e820", buf, e - buf));
}

/*
 * The boot order, in OpenFirmware paths that SeaBIOS matches against
 * its devices: the first disk, or the CD-ROM, per -B / boot device.
 */
static int
fw_cfg_add_bootorder(struct fw_cfg *fc, const struct fw_cfg_boot *b)
{
	char	 buf[256];
	int	 n = 0;

	buf[0] = '\0';
	if (b->bootdev == VMBOOTDEV_CDROM && b->cdrom_dev >= 0)
		n = snprintf(buf, sizeof(buf),
		    "/pci@i0cf8/scsi@%x/channel@0/disk@0,0\nHALT", b->cdrom_dev);
	else if (b->bootdev == VMBOOTDEV_DISK && b->disk_dev >= 0)
		n = snprintf(buf, sizeof(buf), "/pci@i0cf8/scsi@%x/disk@0,0\n"
		    "HALT", b->disk_dev);
	else if (b->bootdev == VMBOOTDEV_NET)
		n = snprintf(buf, sizeof(buf), "HALT");
	if (n < 0 || (size_t)n >= sizeof(buf))
		return (-1);
	if (n == 0)
		return (0);		/* SeaBIOS's own order */
	return (fw_cfg_add(fc, 0, "bootorder", buf, n + 1));
}

struct fw_cfg *
fw_cfg_init(struct vm *vm, const struct fw_cfg_boot *boot)
{
	struct fw_cfg	*fc;

	if ((fc = calloc(1, sizeof(*fc))) == NULL)
		return (NULL);
	fc->vm = vm;
	pthread_mutex_init(&fc->mtx, NULL);
	if (fw_cfg_add(fc, FW_CFG_SIGNATURE, NULL, "QEMU", 4) == -1 ||
	    fw_cfg_add_int(fc, FW_CFG_ID, NULL, FW_CFG_VERSION |
	    FW_CFG_VERSION_DMA, 4) == -1 ||
	    fw_cfg_add_int(fc, FW_CFG_RAM_SIZE, NULL, vm->vm_mem.ramsize,
	    8) == -1 ||
	    fw_cfg_add_int(fc, FW_CFG_NB_CPUS, NULL, vm->vm_ncpus, 2) == -1 ||
	    fw_cfg_add_int(fc, FW_CFG_MAX_CPUS, NULL, vm->vm_ncpus, 2) == -1 ||
	    fw_cfg_add_e820(fc) == -1 ||
	    fw_cfg_add_bootorder(fc, boot) == -1 ||
	    /* no boot menu and its wait: straight to the boot device */
	    fw_cfg_add_int(fc, 0, "etc/show-boot-menu", 0, 2) == -1 ||
	    /* the BIOS's screen on COM1, the only console there is */
	    fw_cfg_add_int(fc, 0, "etc/sercon-port", 0x3f8, 2) == -1 ||
	    (boot->acpi_tables != NULL && (fw_cfg_add(fc, 0,
	    ACPI_FWCFG_TABLES, boot->acpi_tables, boot->acpi_tables_len) ==
	    -1 || fw_cfg_add(fc, 0, ACPI_FWCFG_RSDP, boot->acpi_rsdp,
	    boot->acpi_rsdp_len) == -1 || fw_cfg_add(fc, 0,
	    ACPI_FWCFG_LOADER, boot->acpi_loader, boot->acpi_loader_len) ==
	    -1)) ||
	    fw_cfg_add_dir(fc) == -1)
		goto fail;
	if (vm_ioport_register(vm, FW_CFG_PORT_SEL, 2, fw_cfg_io, fc) == -1 ||
	    vm_ioport_register(vm, FW_CFG_PORT_DMA, 8, fw_cfg_io, fc) == -1)
		goto fail;
	return (fc);
 fail:
	log_warn("%s", __func__);
	return (NULL);
}

/* what send carries: the selected item and where its reader is */
struct fw_cfg_state {
	uint16_t	 key;		/* 0xffff: none */
	uint16_t	 pad;
	uint32_t	 dma_hi;
	uint64_t	 off;
} __attribute__((packed));

int
fw_cfg_save(struct fw_cfg *fc, struct vms_writer *w)
{
	struct fw_cfg_state	s;

	memset(&s, 0, sizeof(s));
	pthread_mutex_lock(&fc->mtx);
	s.key = fc->cur != NULL ? fc->cur->key : 0xffff;
	s.dma_hi = fc->dma_hi;
	s.off = fc->off;
	pthread_mutex_unlock(&fc->mtx);
	return (vms_put(w, VMS_FWCFG, 0, &s, sizeof(s)));
}

const char *
fw_cfg_restore(struct fw_cfg *fc, const void *p, size_t len)
{
	struct fw_cfg_state	s;

	if (len != sizeof(s))
		return ("wrong size");
	memcpy(&s, p, sizeof(s));
	pthread_mutex_lock(&fc->mtx);
	fc->cur = s.key == 0xffff ? NULL : fw_cfg_find(fc, s.key);
	/* past the end reads as the end does: zeros */
	fc->off = fc->cur != NULL ? MINIMUM(s.off, fc->cur->len) : 0;
	fc->dma_hi = s.dma_hi;
	pthread_mutex_unlock(&fc->mtx);
	return (NULL);
}
