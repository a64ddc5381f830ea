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
 * vmmci, the VMM control interface of upstream's guests (vmmci(4)): a
 * legacy virtio PCI device without queues, by which vmd asks the guest
 * to shut down, reboot or re-read its RTC, and from which the guest
 * reads the host's time.  The identifiers are the guest drivers' match.
 */

#ifndef VMMCI_H
#define VMMCI_H

#include "vm.h"

#define PCI_PRODUCT_OPENBSD_CONTROL	0x0777
#define PCI_PRODUCT_VIRTIO_VMMCI	0xffff	/* subsystem id */
#define PCI_CLASS_COMMUNICATIONS	0x07
#define PCI_SUBCLASS_COMMUNICATIONS_MISC 0x80

/* features */
#define VMMCI_F_TIMESYNC	0x1	/* host time in the configuration */
#define VMMCI_F_ACK		0x2	/* the guest acks commands */
#define VMMCI_F_SYNCRTC		0x4	/* the guest re-reads its RTC */

/* commands */
#define VMMCI_NONE		0
#define VMMCI_SHUTDOWN		1
#define VMMCI_REBOOT		2
#define VMMCI_SYNCRTC		3

/* seconds the guest has to ack, then to finish once it has acked */
#define VMMCI_TIMEOUT_SHORT	3
#define VMMCI_TIMEOUT_LONG	120

struct vmmci;

struct vmmci	*vmmci_init(struct vm *);
int		 vmmci_ctl(struct vmmci *, unsigned int);
int		 vmmci_syncrtc(struct vmmci *);
void		 vmmci_pause(struct vmmci *);
void		 vmmci_unpause(struct vmmci *);
struct vms_writer;
int		 vmmci_save(struct vmmci *, struct vms_writer *);
const char	*vmmci_restore(struct vmmci *, const void *, size_t);

#endif /* VMMCI_H */
