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
 * libFuzzer target: the MC146818 RTC and its NVRAM (mc146818.c) as a
 * guest drives them through ports 0x70 and 0x71 of x86_vm.c's port
 * table.  The input is a sequence of operations: index and data port
 * writes and reads, turns of the event loop (the periodic and update
 * timers), pauses, and restores of saved state from the input's bytes.
 * Nothing may crash, index past the registers, leak, or hang.
 */

#include "machine.h"

static struct mc146818_state	 base_state;

static void
fuzz_setup(void)
{
	struct mc146818	*rtc;

	fuzz_machine();
	rtc = fvm.vm_rtc;
	memset(&base_state, 0, sizeof(base_state));
	base_state.idx = rtc->idx;
	base_state.offset = rtc->offset;
	memcpy(base_state.regs, rtc->regs, sizeof(base_state.regs));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 ready;
	struct fuzz_in		 in = { data, size };
	struct mc146818		*rtc;
	uint8_t			 st[sizeof(struct mc146818_state) + 1], op, b;
	size_t			 n;
	unsigned int		 steps;

	if (!ready) {
		fuzz_setup();
		ready = 1;
	}
	rtc = fvm.vm_rtc;
	mc146818_start(rtc);
	if (mc146818_restore(rtc, &base_state, sizeof(base_state)) != NULL)
		abort();

	for (steps = 0; in.left > 0 && steps < 4096; steps++) {
		op = fuzz_u8(&in);
		switch (op & 7) {
		case 0:
		case 1:
			/* select a register (bit 7: the NMI mask) */
			(void)fuzz_port(IO_RTC, 1, 0, fuzz_u8(&in), 1);
			break;
		case 2:
		case 3:
			/* write it, as bytes mostly */
			b = fuzz_u8(&in);
			(void)fuzz_port(IO_RTC + (op >> 7), (op & 0x40) ? 2 : 1,
			    0, b, ((op >> 3) & 3) + 1);
			break;
		case 4:
		case 5:
			/* read it, perhaps again and again */
			(void)fuzz_port(IO_RTC + 1 - (op >> 7),
			    (op & 0x40) ? 4 : 1, 1, 0, ((op >> 3) & 7) + 1);
			break;
		case 6:
			if (op & 0x08)
				mc146818_stop(rtc);
			else
				mc146818_start(rtc);
			fuzz_events();
			break;
		case 7:
			/* a received VM's RTC: any bytes, any length */
			n = fuzz_u8(&in) % sizeof(st);
			n = MINIMUM(n, in.left);
			memset(st, 0, sizeof(st));
			memcpy(st, in.p, n);
			in.p += n;
			in.left -= n;
			if (op & 0x08)
				n = sizeof(struct mc146818_state);
			(void)mc146818_restore(rtc, st, n);
			fuzz_events();
			break;
		}
		if (rtc->idx >= NVRAM_SIZE)
			abort();
	}
	/* no timer left running into the next input */
	mc146818_stop(rtc);
	fuzz_events();
	return (0);
}
