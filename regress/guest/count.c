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
 * count: a slow, self-checking counter for the save/restore tests
 * (vmctl send/receive).  One step every COUNT_TICKS PIT ticks; in
 * between the guest sleeps in sti; hlt with its state in r12-r15, so
 * that a VM saved and restored there must get its registers, memory and
 * TSC back for the next step to check out.  Every step prints a line
 * from which the host can tell that no step was lost or repeated.
 *
 *	r12	n, the step number (1 for the first step)
 *	r13	r: r = r * COUNT_MUL + COUNT_ADD + n mod 2^32, from r = 0
 *	r14	m: the sum of count_arr mod 2^32, kept up to date
 *	r15	n * COUNT_HASH (all 64 bits in use)
 *
 * count_mem holds copies of the four; count_arr[n % COUNT_WORDS] = r.
 * Both are in .noinit (the boot code only clears .bss), on different
 * pages, and set up by the command itself.
 */

#include "guest.h"

#define COUNT_TICKS	10		/* a step every 0.1 s at 100 Hz */
#define COUNT_WORDS	1024
#define COUNT_SUMEVERY	64		/* steps between full sums */
#define COUNT_MUL	1103515245U
#define COUNT_ADD	12345U
#define COUNT_FILL	0x9e3779b9U	/* initial count_arr[i] = i * this */
#define COUNT_HASH	0x9e3779b97f4a7c15ULL

#define NOINIT(a)	__attribute__((__section__(".noinit"), __aligned__(a)))

struct countmem {
	uint64_t	cm_n;
	uint64_t	cm_r;
	uint64_t	cm_m;
	uint64_t	cm_chk;
};

static uint32_t			count_arr[COUNT_WORDS] NOINIT(4096);
static volatile struct countmem	count_mem NOINIT(64);

/* The power button, as idle() does: the SCI may not be delivered. */
static void
count_service(void)
{
	cli();
	if (acpi_pwrbtn_poll())
		button_pending = 1;
	sti();
	service();
}

static uint32_t
count_sum(void)
{
	uint32_t s = 0;
	int i;

	for (i = 0; i < COUNT_WORDS; i++)
		s += count_arr[i];
	return s;
}

void
cmd_count(const char *arg)
{
	register uint64_t n __asm__("r12");
	register uint64_t r __asm__("r13");
	register uint64_t m __asm__("r14");
	register uint64_t chk __asm__("r15");
	uint64_t steps = 0, start, end, tsc, last;
	uint32_t old, s;
	int forever = *arg == '\0', i;

	if (!forever && parse_num(arg, &steps) != 0) {
		kprintf("COUNT FAIL bad count\n");
		return;
	}

	s = 0;
	for (i = 0; i < COUNT_WORDS; i++) {
		count_arr[i] = (uint32_t)i * COUNT_FILL;
		s += count_arr[i];
	}
	n = 0;
	r = 0;
	m = s;
	chk = 0;
	count_mem.cm_n = n;
	count_mem.cm_r = r;
	count_mem.cm_m = m;
	count_mem.cm_chk = chk;

	start = ticks;
	last = rdtsc();
	while (forever || n < steps) {
		end = start + (n + 1) * COUNT_TICKS;
		do {
			/*
			 * cli, then check and sti; hlt (atomic): an interrupt
			 * that comes after the check still ends the hlt.
			 */
			__asm__ volatile(
			    "1:	cli\n\t"
			    "cmpq	%[end], %[ticks]\n\t"
			    "jae	2f\n\t"
			    "cmpl	$0, %[button]\n\t"
			    "jne	2f\n\t"
			    "sti\n\t"
			    "hlt\n\t"
			    "jmp	1b\n"
			    "2:	sti"
			    : "+r"(n), "+r"(r), "+r"(m), "+r"(chk)
			    : [end] "r"(end), [ticks] "m"(ticks),
			      [button] "m"(button_pending)
			    : "cc", "memory");
			count_service();
		} while (ticks < end);

		tsc = rdtsc();
		if (n != count_mem.cm_n || r != count_mem.cm_r ||
		    m != count_mem.cm_m || chk != count_mem.cm_chk ||
		    chk != n * COUNT_HASH) {
			kprintf("COUNT FAIL register n=%lu\n",
			    count_mem.cm_n + 1);
			return;
		}
		if (tsc < last) {
			kprintf("COUNT FAIL tsc n=%lu\n", n + 1);
			return;
		}
		last = tsc;

		n++;
		r = (uint32_t)((uint32_t)r * COUNT_MUL + COUNT_ADD +
		    (uint32_t)n);
		old = count_arr[n % COUNT_WORDS];
		count_arr[n % COUNT_WORDS] = r;
		m = (uint32_t)(m - old + r);
		chk = n * COUNT_HASH;
		count_mem.cm_n = n;
		count_mem.cm_r = r;
		count_mem.cm_m = m;
		count_mem.cm_chk = chk;
		if (n % COUNT_SUMEVERY == 0 && count_sum() != m) {
			kprintf("COUNT FAIL memory n=%lu\n", n);
			return;
		}
		kprintf("COUNT n=%lu r=%08x m=%08x t=%lu\n", n, (uint32_t)r,
		    (uint32_t)m, ticks - start);
	}
	kprintf("COUNT END n=%lu\n", n);
}
