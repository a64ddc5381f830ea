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
 * MC146818 real-time clock and CMOS NVRAM at 0x70/0x71, IRQ 8.
 */

#ifndef MC146818_H
#define MC146818_H

#include "vm.h"

#define IO_RTC		0x70
#define RTC_IRQ		8

struct mc146818;

struct mc146818	*mc146818_init(struct vm *);
void		 mc146818_start(struct mc146818 *);
void		 mc146818_stop(struct mc146818 *);
struct vms_writer;
int		 mc146818_save(struct mc146818 *, struct vms_writer *);
const char	*mc146818_restore(struct mc146818 *, const void *, size_t);

#endif /* MC146818_H */
