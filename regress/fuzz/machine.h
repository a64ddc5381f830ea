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
 * Shared by the libFuzzer targets of the machine's chips (fuzz_ns8250,
 * fuzz_mc146818, fuzz_pci, fuzz_fwcfg): the real port table of x86_vm.c
 * with the real chips behind it, built once, in one translation unit so
 * that their interrupt lines and reset requests come here instead of
 * to KVM.  The input is a sequence of operations; fuzz_op() reads one.
 */

#include <sys/types.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <event.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vm.h"

void	fuzz_irq_line(struct vm *, unsigned int, int);
void	fuzz_request_exit(struct vm *, int);

#define vm_irq_line	fuzz_irq_line
#define vm_request_exit	fuzz_request_exit

#include "../../vmd/x86_vm.c"
#include "../../vmd/ns8250.c"
#include "../../vmd/mc146818.c"
#include "../../vmd/acpi.c"
#include "../../vmd/pci.c"
#include "../../vmd/fw_cfg.c"

#undef vm_irq_line
#undef vm_request_exit

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define FUZZ_MEMSIZE	MB(2)	/* a tiny VM: one 1 MiB slot at 0 */

static struct vm	 fvm;
static int		 fuzz_tty[2];	/* COM1's "pty": [0] the VM's */
static unsigned int	 fuzz_irqs[16];
static uint8_t		 fuzz_iobuf[4 * 64];

/* an operation's bytes, taken from the front of the input */
struct fuzz_in {
	const uint8_t	*p;
	size_t		 left;
};

void
fuzz_irq_line(struct vm *vm, unsigned int irq, int level)
{
	(void)vm;
	if (irq >= nitems(fuzz_irqs))
		abort();		/* no such line on this machine */
	fuzz_irqs[irq] = level;
}

void
fuzz_request_exit(struct vm *vm, int code)
{
	(void)vm;
	(void)code;
}

static inline uint8_t
fuzz_u8(struct fuzz_in *in)
{
	uint8_t	v = 0;

	if (in->left > 0) {
		v = *in->p++;
		in->left--;
	}
	return (v);
}

static inline uint16_t
fuzz_u16(struct fuzz_in *in)
{
	return (fuzz_u8(in) | fuzz_u8(in) << 8);
}

static inline uint32_t
fuzz_u32(struct fuzz_in *in)
{
	return (fuzz_u16(in) | (uint32_t)fuzz_u16(in) << 16);
}

/*
 * One port access as a vCPU exit hands it over: size 1, 2 or 4 (other
 * sizes too, as KVM would never give them), a rep count of 1 to 64.
 */
static inline uint32_t
fuzz_port(uint16_t port, int size, int in, uint32_t val, unsigned int count)
{
	struct vmm_exit	ve;
	unsigned int	i;

	if (count == 0 || count > 64)
		count = 1;
	for (i = 0; i < count; i++)
		memcpy(fuzz_iobuf + 4 * i, &val, 4);
	memset(&ve, 0, sizeof(ve));
	ve.type = VMM_EXIT_IO;
	ve.u.io.port = port;
	ve.u.io.size = size;
	ve.u.io.in = in;
	ve.u.io.count = count;
	ve.u.io.data = fuzz_iobuf;
	x86_exit_io(&fvm, &ve);
	memcpy(&val, fuzz_iobuf, 4);
	return (val);
}

/* what the device threads would do meanwhile: timers, the pty */
static inline void
fuzz_events(void)
{
	(void)event_loop(EVLOOP_NONBLOCK);
}

/* The machine as vm.c builds it, memory in a calloc'd slot. */
static inline void
fuzz_machine(void)
{
	unsigned int	i;

	event_init();
	strlcpy(fvm.vm_name, "fuzz", sizeof(fvm.vm_name));
	fvm.vm_ncpus = 1;
	fvm.vm_exitcode = -1;
	fvm.vm_exitfd = -1;
	pthread_mutex_init(&fvm.vm_mtx, NULL);
	pthread_mutex_init(&fvm.vm_logmtx, NULL);
	if (create_memory_map(&fvm.vm_mem, FUZZ_MEMSIZE) == -1)
		abort();
	for (i = 0; i < fvm.vm_mem.nslots; i++)
		if ((fvm.vm_mem.slots[i].hva = calloc(1,
		    fvm.vm_mem.slots[i].size)) == NULL)
			abort();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    fuzz_tty) == -1)
		abort();
	if (x86_init_machine(&fvm, fuzz_tty[0]) == -1)
		abort();
}

/* the pty's other side: what the guest wrote is read and dropped */
static inline void
fuzz_tty_drain(void)
{
	uint8_t	buf[512];

	while (read(fuzz_tty[1], buf, sizeof(buf)) > 0)
		;
}
