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
 * COM1: an NS16550A-compatible UART on a pty master (the VM's tty).
 */

#ifndef NS8250_H
#define NS8250_H

#include "vm.h"

#define COM1_BASE	0x3f8
#define COM1_IRQ	4

struct ns8250;

struct ns8250	*ns8250_init(struct vm *, int, uint16_t, unsigned int);
void		 ns8250_start(struct ns8250 *);
void		 ns8250_stop(struct ns8250 *);
struct vms_writer;
int		 ns8250_save(struct ns8250 *, struct vms_writer *);
const char	*ns8250_restore(struct ns8250 *, const void *, size_t);

#endif /* NS8250_H */
