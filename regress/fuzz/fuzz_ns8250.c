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
 * libFuzzer target: the NS16550A UART (ns8250.c) as a guest drives it,
 * through the port table of x86_vm.c.  The input is a sequence of
 * operations: port writes and reads of COM1's eight registers (and the
 * ports around them), bytes typed on the console, turns of the event
 * loop, pauses, and restores of saved state from the input's bytes.
 * Nothing may crash, overrun the FIFO, leak, or hang.
 */

#include "machine.h"

static struct ns8250_state	 base_state;

static void
fuzz_setup(void)
{
	struct ns8250	*com;

	fuzz_machine();
	com = fvm.vm_com1;
	memset(&base_state, 0, sizeof(base_state));
	base_state.ier = com->ier;
	base_state.fcr = com->fcr;
	base_state.lcr = com->lcr;
	base_state.mcr = com->mcr;
	base_state.msr = com->msr;
	base_state.dll = com->dll;
	ns8250_start(com);
}

/* each input starts from the UART as a VM's first instruction sees it */
static void
fuzz_reset(void)
{
	struct ns8250	*com = fvm.vm_com1;
	uint8_t		 buf[512];
	uint64_t	 v;

	fuzz_tty_drain();
	while (read(fuzz_tty[0], buf, sizeof(buf)) > 0)
		;
	(void)read(com->wakefd, &v, sizeof(v));
	com->throttled = com->wake_sent = 0;
	ns8250_start(com);
	if (ns8250_restore(com, &base_state, sizeof(base_state)) != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int		 ready;
	struct fuzz_in		 in = { data, size };
	struct ns8250		*com;
	uint8_t			 st[sizeof(struct ns8250_state) + 1], op, b;
	uint8_t			 typed[64];
	size_t			 n;
	unsigned int		 steps;

	if (!ready) {
		fuzz_setup();
		ready = 1;
	}
	com = fvm.vm_com1;
	fuzz_reset();

	for (steps = 0; in.left > 0 && steps < 4096; steps++) {
		op = fuzz_u8(&in);
		switch (op & 7) {
		case 0:
		case 1:
		case 2:
			/* out: mostly bytes, at COM1 or just past it */
			b = fuzz_u8(&in);
			(void)fuzz_port(COM1_BASE + (b & 0x0f) - 4,
			    (op & 0x18) == 0x18 ? 4 : (op & 0x18) ? 2 : 1, 0,
			    fuzz_u8(&in), (op >> 5) + 1);
			break;
		case 3:
		case 4:
			/* in, with a rep count: FIFO drains */
			b = fuzz_u8(&in);
			(void)fuzz_port(COM1_BASE + (b & 0x0f) - 4,
			    (op & 0x18) == 0x18 ? 4 : (op & 0x18) ? 2 : 1, 1,
			    0, (op >> 5) * 8 + 1);
			break;
		case 5:
			/* the console types, the event thread reads */
			n = fuzz_u8(&in) % sizeof(typed);
			n = MINIMUM(n, in.left);
			memcpy(typed, in.p, n);
			in.p += n;
			in.left -= n;
			if (n > 0)
				(void)write(fuzz_tty[1], typed, n);
			fuzz_events();
			break;
		case 6:
			if (op & 0x08)
				ns8250_stop(com);
			else
				ns8250_start(com);
			fuzz_events();
			fuzz_tty_drain();
			break;
		case 7:
			/* a received VM's UART: any bytes, any length */
			n = fuzz_u8(&in) % sizeof(st);
			n = MINIMUM(n, in.left);
			memset(st, 0, sizeof(st));
			memcpy(st, in.p, n);
			in.p += n;
			in.left -= n;
			if (op & 0x08)
				n = sizeof(struct ns8250_state);
			(void)ns8250_restore(com, st, n);
			break;
		}
		if (com->rxlen > COM_FIFO_SIZE || com->rxhead >= COM_FIFO_SIZE)
			abort();
	}
	fuzz_tty_drain();
	return (0);
}
