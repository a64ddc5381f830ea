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
 * libFuzzer target: a hostile guest's virtio-scsi queues and the SCSI
 * commands of the CD-ROM behind them.  The input is a few control bytes
 * (which queue, indirect descriptors, the sense and CDB sizes the driver
 * sets, the medium's size, the sense a receive restores) and then guest
 * memory: descriptor table, available ring, request headers, CDBs and
 * buffers all at once.  The real ring code (virtio.c) takes the chains
 * off it and the real command code (vioscsi.c, included here for its
 * static functions) answers them from a small ISO image in a memfd.
 * Nothing may read or write outside the guest's memory or the image,
 * hang, leak, or crash; every answer must fit the chain it came on.
 */

#include <sys/types.h>
#include <sys/mman.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../vmd/vioscsi.c"

#define GUEST_MEM	(256 * 1024)
#define RING_SIZE	16
#define DESC_GPA	0x000	/* the input's memory starts here */
#define AVAIL_GPA	0x100
#define USED_GPA	0x200
#define NMEDIA		3

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct vm	 fvm;
static uint8_t		*gmem;
static struct vioscsi	 fsc;
/* an empty disc, a 16-block one, one whose size is not whole blocks */
static const size_t	 media_size[NMEDIA] = { 0, 16 * VIOSCSI_BLOCK,
			    5 * VIOSCSI_BLOCK + 700 };
static struct disk	*media[NMEDIA];

static void
fuzz_setup(void)
{
	char		 err[DISK_ERRLEN];
	uint8_t		 pat[VIOSCSI_BLOCK];
	size_t		 off;
	unsigned int	 i;
	int		 fd;

	if ((gmem = calloc(1, GUEST_MEM)) == NULL)
		abort();
	strlcpy(fvm.vm_name, "fuzz", sizeof(fvm.vm_name));
	pthread_mutex_init(&fvm.vm_logmtx, NULL);
	fvm.vm_mem.nslots = 1;
	fvm.vm_mem.slots[0].gpa = 0;
	fvm.vm_mem.slots[0].size = GUEST_MEM;
	fvm.vm_mem.slots[0].hva = gmem;

	for (i = 0; i < NMEDIA; i++) {
		if ((fd = memfd_create("fuzziso", 0)) == -1)
			abort();
		for (off = 0; off < media_size[i]; off += sizeof(pat)) {
			memset(pat, 0x40 + off / VIOSCSI_BLOCK, sizeof(pat));
			if (pwrite(fd, pat, MINIMUM(sizeof(pat),
			    media_size[i] - off), off) == -1)
				abort();
		}
		if ((media[i] = disk_open(VMDF_RAW, &fd, 1, 1, err,
		    sizeof(err))) == NULL)
			abort();
	}

	fsc.dev.vm = &fvm;
	fsc.dev.name = "vioscsi0";
	fsc.dev.type = VIRTIO_ID_SCSI;
	fsc.dev.ops = &vioscsi_ops;
	fsc.dev.nqueues = 3;
	fsc.dev.softc = &fsc;
	fsc.dev.cfglen = CFG_LEN;
	pthread_mutex_init(&fsc.dev.mtx, NULL);
	pthread_cond_init(&fsc.dev.idle, NULL);
	pthread_mutex_init(&fsc.dev.msix.mtx, NULL);
	fsc.dev.cfg_vector = VIRTIO_NO_VECTOR;
	for (i = 0; i < 3; i++) {
		pthread_mutex_init(&fsc.dev.vq[i].mtx, NULL);
		fsc.dev.vq[i].vector = VIRTIO_NO_VECTOR;
		fsc.dev.vq[i].dev = &fsc.dev;
		fsc.dev.vq[i].idx = i;
		fsc.dev.vq[i].maxsize = RING_SIZE;
	}
	put_cfg32(&fsc, CFG_NUM_QUEUES, 1);
	put_cfg32(&fsc, CFG_SEG_MAX, VIOSCSI_SEG_MAX);
	put_cfg32(&fsc, CFG_MAX_SECTORS, VIOSCSI_MAX_XFER);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct virtio_req	 r;
	struct virtio_vq		*vq;
	unsigned int			 i, q;
	uint32_t			 len, v;
	uint8_t				 c, sense[VIRTIO_DEVSTATE_LEN];

	if (gmem == NULL)
		fuzz_setup();
	if (size < 8)
		return (0);

	/*
	 * control: the queue, indirect descriptors, the medium, whether
	 * the driver set the sizes (then 4 bytes of each follow, as they
	 * reach vioscsi_cfg_write), the saved sense to restore
	 */
	c = data[0];
	q = (c & 1) ? Q_CONTROL : Q_REQUEST;
	fsc.dev.driver_features = VIRTIO_F_VERSION_1 |
	    ((c & 2) ? VIRTIO_F_INDIRECT_DESC : 0);
	fsc.disk = media[((c >> 2) & 3) % NMEDIA];
	fsc.blocks = disk_size(fsc.disk) / VIOSCSI_BLOCK;
	vioscsi_reset(&fsc.dev);
	memset(sense, 0, sizeof(sense));
	memcpy(sense, data + 1, 3);
	if ((c & 0x10) && fsc.dev.ops->restore(&fsc.dev, sense) == -1 &&
	    sense[0] <= 0xf)
		abort();
	data += 4;
	size -= 4;
	if ((c & 0x20) && size >= 8) {
		memcpy(&v, data, 4);
		vioscsi_cfg_write(&fsc.dev, CFG_SENSE_SIZE, 4, v);
		memcpy(&v, data + 4, 4);
		vioscsi_cfg_write(&fsc.dev, CFG_CDB_SIZE, (c & 0x40) ? 2 : 4,
		    v);
		data += 8;
		size -= 8;
	}
	if (cfg32(&fsc, CFG_SENSE_SIZE) > VIOSCSI_SENSE_SIZE ||
	    cfg32(&fsc, CFG_CDB_SIZE) > VIOSCSI_CDB_SIZE)
		abort();

	/* the rest is guest memory from the descriptor table on */
	memset(gmem, 0, GUEST_MEM);
	memcpy(gmem + DESC_GPA, data, MINIMUM(size, GUEST_MEM - DESC_GPA));

	vq = &fsc.dev.vq[q];
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
		len = q == Q_REQUEST ? vioscsi_request(&fsc, &r) :
		    vioscsi_control(&r);
		if (len > r.wrlen)
			abort();	/* more than the guest gave room for */
		vq_push(vq, &r, len);
	}
	if (fsc.dev.inflight != 0)
		abort();
	return (0);
}
