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
 * libFuzzer target: the vmctl receive stream as the VM process reads it
 * (vmstate.c).  With the first input byte odd, the rest is taken as the
 * prefix vmctl hands vmd (header and parameters) and checked as the
 * parent checks it; else a valid prefix is made here and the rest of the
 * input is the stream after it: sections read as vm.c reads them, up to
 * END and the trailer.  Every length in the input is hostile.
 */

#include <sys/types.h>
#include <sys/mman.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmd.h"
#include "vmstate.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint8_t	 prefix[VMS_PREFIX_LEN];
static uint8_t	*buf;

static void
fuzz_setup(void)
{
	struct vms_header		 h;
	struct vms_section		 s;
	struct vmop_create_params	 vmc;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, VMS_MAGIC, sizeof(h.magic));
	h.version = VMS_VERSION;
	h.hdrlen = sizeof(h);
	h.ncpus = 1;
	h.memsize = 16 << 20;
	memset(&s, 0, sizeof(s));
	s.tag = VMS_PARAMS;
	s.len = sizeof(vmc);
	memset(&vmc, 0, sizeof(vmc));
	vmc.vmc_params.vcp_ncpus = 1;
	vmc.vmc_params.vcp_memory_size = h.memsize;
	strlcpy(vmc.vmc_params.vcp_name, "fuzz", sizeof(vmc.vmc_params.vcp_name));
	memcpy(prefix, &h, sizeof(h));
	memcpy(prefix + sizeof(h), &s, sizeof(s));
	memcpy(prefix + sizeof(h) + sizeof(s), &vmc, sizeof(vmc));
	if ((buf = malloc(VMS_SECTION_MAX)) == NULL)
		abort();
}

static void
fuzz_prefix(const uint8_t *data, size_t len)
{
	struct vmop_create_params	*vmc;
	uint8_t				*p;

	if ((p = calloc(1, VMS_PREFIX_LEN)) == NULL ||
	    (vmc = malloc(sizeof(*vmc))) == NULL)
		abort();
	memcpy(p, data, len < VMS_PREFIX_LEN ? len : VMS_PREFIX_LEN);
	/* the magic and version right, most of the time, to go further */
	if (len > 0 && (data[0] & 2)) {
		memcpy(p, prefix, sizeof(struct vms_header));
		memcpy(p + sizeof(struct vms_header), prefix +
		    sizeof(struct vms_header), sizeof(struct vms_section));
	}
	(void)vms_prefix_check(p, VMS_PREFIX_LEN, vmc);
	(void)vms_prefix_check(p, len, vmc);
	free(vmc);
	free(p);
}

static void
fuzz_stream(const uint8_t *data, size_t len)
{
	struct vms_reader	*r;
	struct vms_header	 h;
	struct vms_section	 s;
	uint64_t		 gpa;
	int			 fd, n;

	if ((fd = memfd_create("fuzzstream", 0)) == -1 ||
	    write(fd, data, len) != (ssize_t)len || lseek(fd, 0, SEEK_SET) != 0)
		abort();
	if ((r = vms_reader_new(fd, prefix, sizeof(prefix))) == NULL)
		abort();
	if (vms_get_header(r, &h) == -1 || vms_next(r, &s) == -1 ||
	    vms_read(r, buf, sizeof(struct vmop_create_params)) == -1)
		abort();		/* our own prefix */
	for (n = 0; n < 1000; n++) {
		if (vms_next(r, &s) == -1)
			break;
		if (s.tag == VMS_END) {
			(void)vms_reader_finish(r);
			break;
		}
		if (s.tag == VMS_MEM) {
			if (s.len < sizeof(gpa) ||
			    vms_read(r, &gpa, sizeof(gpa)) == -1 ||
			    vms_read(r, buf, s.len - sizeof(gpa)) == -1)
				break;
			continue;
		}
		if (vms_read(r, buf, s.len) == -1)
			break;
	}
	(void)vms_reader_error(r);
	(void)vms_reader_code(r);
	vms_reader_free(r);
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static int	ready;

	if (!ready) {
		fuzz_setup();
		ready = 1;
	}
	if (len == 0)
		return (0);
	if (data[0] & 1)
		fuzz_prefix(data + 1, len - 1);
	else
		fuzz_stream(data + 1, len - 1);
	return (0);
}
