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
 * libFuzzer target: the boot image loaders (loadfile_elf.c for ELF64,
 * ELF32, PVH and the BIOS path, loadfile_bzimage.c for Linux bzImages,
 * loadfile_gzip.c for any of them gzip-compressed), from
 * loadfile(), the one entry vm.c calls.  The first input byte picks the
 * guest's memory size and what comes with the kernel (command line,
 * initrd, ACPI tables, a MAC for -B net); the rest is the kernel file,
 * in a memfd as the parent would pass it.  Guest memory is plain
 * calloc'd slots, as in regress/unit/t_loadfile.c.  Nothing may read
 * or write outside guest memory or the file, crash, leak, or hang.
 */

#include <sys/types.h>
#include <sys/mman.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "loadfile.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* small, tiny and one past 16 MiB, so ranges above 1 MiB exist */
static const uint64_t	 memsizes[4] = { MB(2), MB(6), MB(17), MB(34) };
static struct vm_mem	 mems[4];

static void
fuzz_setup(void)
{
	unsigned int	i, j;

	for (i = 0; i < nitems(memsizes); i++) {
		if (create_memory_map(&mems[i], memsizes[i]) == -1)
			abort();
		for (j = 0; j < mems[i].nslots; j++)
			if ((mems[i].slots[j].hva = calloc(1,
			    mems[i].slots[j].size)) == NULL)
				abort();
	}
}

static int
file_fd(const char *name, const uint8_t *data, size_t len)
{
	int	fd;

	if ((fd = memfd_create(name, MFD_CLOEXEC)) == -1)
		abort();
	if (len > 0 && write(fd, data, len) != (ssize_t)len)
		abort();
	return (fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 ready;
	static const uint8_t	 mac[6] = { 0xfe, 0xe1, 0xba, 0xd0, 0, 1 };
	static const uint8_t	 initrd[3000] = { 0x30, 0x37, 0x30 };
	struct loadfile		 lf;
	uint8_t			 c;
	int			 ret;

	if (!ready) {
		fuzz_setup();
		ready = 1;
	}
	if (size < 1)
		return (0);
	c = data[0];
	data++;
	size--;

	memset(&lf, 0, sizeof(lf));
	lf.lf_mem = &mems[c & 3];
	lf.lf_kernel = file_fd("kernel", data, size);
	lf.lf_initrd = (c & 4) ? file_fd("initrd", initrd,
	    (c & 0x40) ? sizeof(initrd) : 0) : -1;
	lf.lf_cmdline = (c & 8) ? "console=ttyS0 root=/dev/vda" : NULL;
	lf.lf_rsdp = (c & 0x10) ? ACPI_AREA_START : 0;
	lf.lf_bootmac = (c & 0x20) ? mac : NULL;

	ret = loadfile(&lf);
	if (ret != 0 && lf.lf_err[0] == '\0')
		abort();	/* every refusal says why */
	if (ret == 0 && lf.lf_kind == LOADFILE_NONE)
		abort();
	if (memchr(lf.lf_err, '\0', sizeof(lf.lf_err)) == NULL)
		abort();

	close(lf.lf_kernel);
	if (lf.lf_initrd != -1)
		close(lf.lf_initrd);
	return (0);
}
