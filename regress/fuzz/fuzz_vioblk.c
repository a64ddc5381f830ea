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
 * libFuzzer target: a hostile guest's virtio-blk queue.  The input is
 * guest memory (descriptor table, available ring, request headers and
 * buffers all at once) plus a few control bytes; the real ring code
 * (virtio.c) takes the chains off it and the real request code (vioblk.c,
 * included here for its static functions) carries them out against a
 * small raw disk in a memfd.  Nothing may read or write outside the
 * guest's memory or the disk, hang, or crash.
 */

#include <sys/types.h>
#include <sys/mman.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../vmd/vioblk.c"

#define GUEST_MEM	(256 * 1024)
#define RING_SIZE	16
#define DESC_GPA	0x000	/* the input starts here */
#define AVAIL_GPA	0x100
#define USED_GPA	0x200
#define DISK_SIZE	(64 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct vm	 fvm;
static uint8_t		*gmem;
static struct vioblk	 fsc;

static void
fuzz_setup(void)
{
	char	 err[DISK_ERRLEN];
	int	 fd;

	if ((gmem = calloc(1, GUEST_MEM)) == NULL)
		abort();
	strlcpy(fvm.vm_name, "fuzz", sizeof(fvm.vm_name));
	fvm.vm_mem.nslots = 1;
	fvm.vm_mem.slots[0].gpa = 0;
	fvm.vm_mem.slots[0].size = GUEST_MEM;
	fvm.vm_mem.slots[0].hva = gmem;

	if ((fd = memfd_create("fuzzdisk", 0)) == -1 ||
	    ftruncate(fd, DISK_SIZE) == -1)
		abort();
	if ((fsc.disk = disk_open(VMDF_RAW, &fd, 1, 0, err,
	    sizeof(err))) == NULL)
		abort();
	fsc.caps = disk_caps(fsc.disk);
	fsc.sectors = DISK_SIZE / VIOBLK_SECTOR;
	strlcpy(fsc.name, "vioblk0", sizeof(fsc.name));
	memcpy(fsc.id, "fuzz", 4);
	fsc.dev.vm = &fvm;
	fsc.dev.name = fsc.name;
	fsc.dev.nqueues = 1;
	fsc.dev.softc = &fsc;
	pthread_mutex_init(&fsc.dev.mtx, NULL);
	pthread_cond_init(&fsc.dev.idle, NULL);
	pthread_mutex_init(&fsc.dev.vq[0].mtx, NULL);
	pthread_mutex_init(&fsc.dev.msix.mtx, NULL);
	fsc.dev.vq[0].vector = VIRTIO_NO_VECTOR;
	fsc.dev.cfg_vector = VIRTIO_NO_VECTOR;
	fsc.dev.vq[0].dev = &fsc.dev;
	fsc.dev.vq[0].maxsize = RING_SIZE;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_req	 r;
	struct virtio_vq		*vq;
	unsigned int			 i;
	uint32_t			 len;

	if (gmem == NULL)
		fuzz_setup();
	if (size < 2)
		return (0);

	/* control: read-only disk, indirect descriptors negotiated */
	fsc.ro = data[0] & 1;
	fsc.dev.driver_features = VIRTIO_F_VERSION_1 |
	    ((data[0] & 2) ? VIRTIO_F_INDIRECT_DESC : 0);
	fsc.dev.status = 0;
	data++;
	size--;

	/* the rest is guest memory from the descriptor table on */
	memset(gmem, 0, GUEST_MEM);
	memcpy(gmem + DESC_GPA, data, MINIMUM(size, GUEST_MEM - DESC_GPA));

	vq = &fsc.dev.vq[0];
	vq->size = RING_SIZE;
	vq->desc = gmem + DESC_GPA;
	vq->avail = (volatile uint16_t *)(gmem + AVAIL_GPA);
	vq->used = gmem + USED_GPA;
	vq->last_avail = vq->used_idx = vq->signalled = 0;
	vq->enabled = 1;
	fsc.dev.inflight = 0;

	/* as many chains as the guest can make us take, and a few more */
	for (i = 0; i < 4 * RING_SIZE; i++) {
		if (vq_pop(vq, &r) != 1)
			break;
		len = vioblk_do(&fsc, &r);
		vq_push(vq, &r, len);
	}
	return (0);
}
