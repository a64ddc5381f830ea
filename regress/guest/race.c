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
 * "race:SECONDS[:SEED]": the virtio devices kept busy by the BSP while
 * the other CPUs write their transport registers from under it.
 *
 * The BSP brings each device up (disk 0, the entropy device, and the
 * first interface and the CD-ROM if there are), posts a batch of
 * requests (disk reads and writes, random bytes, frames to send, SCSI
 * TEST UNIT READY), polls the used ring for them and, if the device was
 * reset, broken or stopped under it, sets it up again.  Each AP, sent
 * here by an IPI on RACE_VEC, writes at random: device reset, queue
 * select, queue size (bad ones too), queue enable, ring addresses
 * (outside RAM, straddling its end, or on a page whose available index
 * runs ahead: every one a ring the device must refuse), queue vectors,
 * notifies, status bits and features.  A queue enabled with a bad size
 * or ring stops every queue of the device (DEVICE_NEEDS_RESET) while
 * its thread may be in the middle of a ring, and the next size written
 * is the one that thread would read: the race vmd must not lose.
 *
 * Then the APs stop and every device is reset, for the next commands
 * to set up again and check (blkwrite, blkcheck, rng...).  One line:
 *	RACE OK secs=S done=N batches=B resets=R writes=W cpus=C
 * or RACE FAIL <why>.
 */

#include "hostile.h"

#define HZ		100
#define RACE_VEC	0x35	/* a free vector (guest.h) for the APs */
#define RACE_NDEV	4
#define RACE_BATCH	8
#define RACE_WAIT	20	/* PIT ticks for a batch */
#define RACE_BLKAREA	1024	/* sectors the race reads and writes */
#define GATE_INTR64	0x8e
#define VIRTIO_MAXQ_HIT	4	/* queues an AP selects, at most */
#define NOT_RAM		0xf0000000ULL	/* the PCI hole */

#define LAPIC_ICR_LO	0x300
#define LAPIC_ICR_HI	0x310
#define ICR_PENDING	0x00001000
#define ICR_ASSERT	0x00004000
#define ICR_OTHERS	0x000c0000	/* shorthand: all but self */

#define NOINIT(a)	__attribute__((__section__(".noinit"), __aligned__(a)))

struct race_gate {
	uint16_t	off0;
	uint16_t	sel;
	uint8_t		ist;
	uint8_t		type;
	uint16_t	off1;
	uint32_t	off2;
	uint32_t	rsvd;
} __attribute__((__packed__));

struct race_dtptr {
	uint16_t	limit;
	uint64_t	base;
} __attribute__((__packed__));

/* what an AP may hit, set before the IPI */
struct race_target {
	struct vregion	 common;
	struct vregion	 notify;
	uint32_t	 notify_mult;
	int		 nq;
};

static struct race_target	targets[RACE_NDEV];
static int			ntargets;
static uint64_t			bad_addr[4];
static volatile int		race_stop;
static volatile uint32_t	ap_in, ap_out;
static volatile uint64_t	ap_writes;
static uint64_t			race_seed;

/* a page whose available index (0xa5a5) runs ahead of any ring */
static uint8_t		poison[8192] NOINIT(4096);
/* the BSP's buffers */
static uint8_t		rbuf[RACE_BATCH][4096] NOINIT(4096);
static uint8_t		rhdr[RACE_BATCH][64] NOINIT(16);
static uint8_t		rresp[RACE_BATCH][128] NOINIT(16);
static uint8_t		rstat[RACE_BATCH] NOINIT(16);

void	race_ap_entry(void);
void	race_ap_run(void);

/* the AP's interrupt entry: the C part runs until the BSP says stop */
__asm__(
"	.text\n"
"	.globl	race_ap_entry\n"
"race_ap_entry:\n"
"	pushq	%rax\n"
"	pushq	%rcx\n"
"	pushq	%rdx\n"
"	pushq	%rsi\n"
"	pushq	%rdi\n"
"	pushq	%r8\n"
"	pushq	%r9\n"
"	pushq	%r10\n"
"	pushq	%r11\n"
"	cld\n"
"	call	race_ap_run\n"
"	popq	%r11\n"
"	popq	%r10\n"
"	popq	%r9\n"
"	popq	%r8\n"
"	popq	%rdi\n"
"	popq	%rsi\n"
"	popq	%rdx\n"
"	popq	%rcx\n"
"	popq	%rax\n"
"	iretq\n");

/* a queue size, mostly one a driver could mean, some it cannot */
static uint16_t
race_qsize(uint64_t *s)
{
	switch (hrange(s, 6)) {
	case 0:
		return 0;
	case 1:
		return 1 + hrange(s, 255) * 2;		/* odd: not a power */
	case 2:
		return 0xffff;
	case 3:
		return hrand(s);
	default:
		return 1 << hrange(s, 10);
	}
}

/* one hostile write to target t */
static void
race_hit(struct race_target *t, uint64_t *s)
{
	const struct vregion *c = &t->common;
	uint64_t a;
	int q = hrange(s, t->nq + 1);

	switch (hrange(s, 16)) {
	case 0:
		if (hrange(s, 8) == 0)
			hreg_write(c, HC_STATUS, 1, 0);	/* a reset */
		else
			hreg_write(c, HC_STATUS, 1, hrand(s) & 0x8f);
		break;
	case 1:
	case 2:
		hreg_write(c, HC_QSELECT, 2, q);
		break;
	case 3:
	case 4:
	case 5:
		hreg_write(c, HC_QSIZE, 2, race_qsize(s));
		break;
	case 6:
	case 7:
		hreg_write(c, HC_QENABLE, 2, 1);
		break;
	case 8:
	case 9:
		a = bad_addr[hrange(s, 4)];
		hreg_write(c, HC_QDESC + 8 * hrange(s, 3), 4, a);
		hreg_write(c, HC_QDESC + 8 * hrange(s, 3) + 4, 4, a >> 32);
		break;
	case 10:
		hreg_write(c, HC_QMSIX, 2, hrange(s, 8));
		break;
	case 11:
		hreg_write(&t->notify, 0, 2, q);
		break;
	case 12:
		hreg_write(c, HC_GFSELECT, 4, hrange(s, 3));
		hreg_write(c, HC_GF, 4, hrand(s));
		break;
	default:
		/* the sequence of the race: break one queue, resize another */
		hreg_write(c, HC_QSELECT, 2, q);
		hreg_write(c, HC_QSIZE, 2, 3);
		hreg_write(c, HC_QENABLE, 2, 1);
		hreg_write(c, HC_QSELECT, 2, hrange(s, t->nq));
		hreg_write(c, HC_QSIZE, 2, race_qsize(s));
		break;
	}
}

/* an AP, with interrupts off, until race_stop */
void
race_ap_run(void)
{
	uint64_t s, n = 0;

	/* the seed, and the CPU: each AP its own stream */
	hseed(&s, race_seed * 256 + (*lapic_reg(0x20) >> 24));
	__atomic_add_fetch(&ap_in, 1, __ATOMIC_SEQ_CST);
	while (!race_stop) {
		race_hit(&targets[hrange(&s, ntargets)], &s);
		n++;
		/* let the BSP get some work done between bursts */
		if (hrange(&s, 8) == 0)
			hdelay(hrange(&s, 200000));
	}
	__atomic_add_fetch(&ap_writes, n, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&ap_out, 1, __ATOMIC_SEQ_CST);
	lapic_eoi();
}

static const char *
race_gate_install(void)
{
	struct race_dtptr dt;
	struct race_gate *g;
	uint64_t addr = (uint64_t)race_ap_entry;

	__asm__ volatile("sidt %0" : "=m"(dt));
	if ((uint32_t)dt.limit + 1 < (RACE_VEC + 1) * sizeof(*g))
		return "IDT too short";
	g = (struct race_gate *)dt.base + RACE_VEC;
	g->off0 = addr & 0xffff;
	g->sel = SEL_CODE64;
	g->ist = 0;
	g->type = GATE_INTR64;
	g->off1 = (addr >> 16) & 0xffff;
	g->off2 = addr >> 32;
	g->rsvd = 0;
	return NULL;
}

static void
race_ipi(void)
{
	int i;

	__asm__ volatile("mfence" : : : "memory");
	for (i = 0; i < 1000 && (*lapic_reg(LAPIC_ICR_LO) & ICR_PENDING); i++)
		;
	*lapic_reg(LAPIC_ICR_HI) = 0;
	*lapic_reg(LAPIC_ICR_LO) = ICR_OTHERS | ICR_ASSERT | RACE_VEC;
}

static uint8_t
race_status(struct vdev *vd)
{
	return hreg_read(&vd->common, HC_STATUS, 1);
}

/* the device, up for a batch; NULL if it would not come up this time */
static struct vdev *
race_up(struct vdev *vd)
{
	static const uint16_t netq[2] = { 0, 1 };
	uint16_t q = 0;

	if (vd->state == VS_READY &&
	    (race_status(vd) & (HS_DRIVER_OK | HS_NEEDS_RESET)) ==
	    HS_DRIVER_OK)
		return vd;
	vio_reset(vd);
	if (vd->type == VIRTIO_ID_NET) {
		if (vio_initq(vd, 0, netq, 2, 64) != NULL)
			return NULL;
		vio_ready(vd);
		return vd;
	}
	if (vd->type == VIRTIO_ID_SCSI)
		q = 2;
	if (vio_init(vd, 0, q, 64) != NULL)
		return NULL;
	return vd;
}

/* a batch of requests on vd's first queue (net: its second) */
static int
race_post(struct vdev *vd, unsigned int round)
{
	struct vseg s[3];
	struct vq *q;
	int i, n = 0, w;

	vq_begin(vd);
	for (i = 0; i < RACE_BATCH; i++) {
		switch (vd->type) {
		case VIRTIO_ID_BLK:
			w = (round + i) & 1;
			memset(rhdr[i], 0, 16);
			rhdr[i][0] = w;		/* T_OUT or T_IN */
			rhdr[i][8] = (round * RACE_BATCH + i) * 8 %
			    RACE_BLKAREA;
			rhdr[i][9] = ((round * RACE_BATCH + i) * 8 %
			    RACE_BLKAREA) >> 8;
			rstat[i] = 0xff;
			s[0] = (struct vseg){ (uint64_t)rhdr[i], 16, 0 };
			s[1] = (struct vseg){ (uint64_t)rbuf[i], 4096, !w };
			s[2] = (struct vseg){ (uint64_t)&rstat[i], 1, 1 };
			if (vq_post(vd, s, 3, 0) >= 0)
				n++;
			break;
		case VIRTIO_ID_RNG:
			s[0] = (struct vseg){ (uint64_t)rbuf[i], 64, 1 };
			if (vq_post(vd, s, 1, 0) >= 0)
				n++;
			break;
		case VIRTIO_ID_SCSI:
			/* lun 1/0/0/0, then TEST UNIT READY */
			memset(rhdr[i], 0, 64);
			rhdr[i][0] = 1;
			s[0] = (struct vseg){ (uint64_t)rhdr[i], 51, 0 };
			s[1] = (struct vseg){ (uint64_t)rresp[i], 108, 1 };
			if (vq_post(vd, s, 2, 0) >= 0)
				n++;
			break;
		case VIRTIO_ID_NET:
			/* a broadcast frame of an experimental type */
			q = &vd->vq1;
			if (i >= q->size)
				break;
			memset(rbuf[i], 0, 12 + 60);
			memset(rbuf[i] + 12, 0xff, 6);
			rbuf[i][12 + 6] = 0x02;
			rbuf[i][12 + 12] = 0x88;
			rbuf[i][12 + 13] = 0xb5;
			q->desc[i].addr = (uint64_t)rbuf[i];
			q->desc[i].len = 12 + 60;
			q->desc[i].flags = 0;
			q->desc[i].next = 0;
			vq_put(q, i);
			n++;
			break;
		}
	}
	if (n == 0)
		return 0;
	if (vd->type == VIRTIO_ID_NET)
		vq_notify(vd, &vd->vq1);
	else
		vq_kick(vd);
	return n;
}

/* n completions, or -1: the device was reset, broken or is too slow */
static int
race_collect(struct vdev *vd, int n)
{
	struct vq *q = vd->type == VIRTIO_ID_NET ? &vd->vq1 : &vd->vq;
	const char *why;
	uint64_t deadline = ticks + RACE_WAIT;
	uint32_t len;
	uint16_t head;
	int got = 0, r;

	while (got < n) {
		if ((r = vq_get(q, &head, &len, &why)) < 0)
			return -1;
		if (r > 0) {
			got++;
			continue;
		}
		if (ticks >= deadline ||
		    (race_status(vd) & (HS_DRIVER_OK | HS_NEEDS_RESET)) !=
		    HS_DRIVER_OK)
			return -1;
		__asm__ volatile("pause");
	}
	return got;
}

void
cmd_race(const char *arg)
{
	struct vdev *devs[RACE_NDEV], *vd;
	uint64_t v[2] = { 10, 1 }, end, top, done = 0, batches = 0;
	uint64_t resets = 0, wait;
	const char *why;
	unsigned int round = 0;
	int i, n, ndev = 0, nv;
	char tok[MAXTOK][TOKLEN];

	nv = split(arg, tok);
	if (nv > 2 || (nv > 0 && numargs(arg, v, nv) != 0) || v[0] == 0 ||
	    v[0] > 3600) {
		kprintf("RACE FAIL usage\n");
		return;
	}
	if ((top = ram_top()) == 0) {
		kprintf("RACE FAIL no RAM map\n");
		return;
	}
	if ((devs[ndev] = vio_get(VIRTIO_ID_BLK, 0)) != NULL)
		ndev++;
	if ((devs[ndev] = vio_get(VIRTIO_ID_RNG, 0)) != NULL)
		ndev++;
	if ((devs[ndev] = vio_get(VIRTIO_ID_NET, 0)) != NULL)
		ndev++;
	if ((devs[ndev] = vio_get(VIRTIO_ID_SCSI, 0)) != NULL)
		ndev++;
	for (i = 0; i < ndev; i++) {
		vd = devs[i];
		if (vd->state == VS_FAILED) {
			kprintf("RACE FAIL %s\n", vd->err);
			return;
		}
		targets[i].common = vd->common;
		targets[i].notify = vd->notify;
		targets[i].notify_mult = vd->notify_mult;
		targets[i].nq = hreg_read(&vd->common, HC_NUMQ, 2);
		if (targets[i].nq > VIRTIO_MAXQ_HIT)
			targets[i].nq = VIRTIO_MAXQ_HIT;
	}
	if (ndev == 0) {
		kprintf("RACE FAIL no device\n");
		return;
	}
	ntargets = ndev;
	race_seed = v[1];
	memset(poison, 0xa5, sizeof(poison));
	bad_addr[0] = (uint64_t)poison;
	bad_addr[1] = top - 64;			/* straddles the end */
	bad_addr[2] = NOT_RAM;		/* not RAM */
	bad_addr[3] = 1ULL << 40;

	cmd_smp("");
	if ((why = race_gate_install()) != NULL) {
		kprintf("RACE FAIL %s\n", why);
		return;
	}
	race_stop = 0;
	ap_in = ap_out = 0;
	ap_writes = 0;
	race_ipi();
	for (wait = ticks + HZ; ap_in == 0 && ticks < wait; )
		idle();
	if (ap_in == 0) {
		kprintf("RACE FAIL no AP took the IPI\n");
		return;
	}

	end = ticks + v[0] * HZ;
	while (ticks < end) {
		for (i = 0; i < ndev; i++) {
			if ((vd = race_up(devs[i])) == NULL) {
				resets++;
				continue;
			}
			batches++;
			if ((n = race_post(vd, round++)) <= 0 ||
			    (n = race_collect(vd, n)) < 0) {
				vio_reset(vd);
				resets++;
				continue;
			}
			done += n;
		}
	}

	race_stop = 1;
	for (wait = ticks + 5 * HZ; ap_out < ap_in && ticks < wait; )
		idle();
	for (i = 0; i < ndev; i++)
		vio_reset(devs[i]);
	if (ap_out < ap_in) {
		kprintf("RACE FAIL the APs did not stop\n");
		return;
	}
	kprintf("RACE OK secs=%lu done=%lu batches=%lu resets=%lu "
	    "writes=%lu cpus=%u\n", v[0], done, batches, resets, ap_writes,
	    ap_in + 1);
}
