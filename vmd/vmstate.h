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
 * The stream of vmctl send and receive: a VM, saved whole while paused.
 * Our own format (upstream's is tied to its vmm(4)), little-endian as
 * the only hosts are x86:
 *
 *	header		struct vms_header
 *	sections	struct vms_section, then len bytes, in this order:
 *			PARAMS (vmop_create_params), CPUID, VCPU (one per
 *			vCPU, index = vCPU id), VMM (irqchip, PIT, clock),
 *			the devices (each chip's own, saved and restored by
 *			its own file), MEM (runs of non-zero pages), END
 *	trailer		CRC-32 of every byte before it (zlib's, 4 bytes,
 *			little-endian)
 *
 * Nothing in a stream is trusted: every length is checked against the
 * limit of its section's kind before anything is allocated or read, and
 * a stream is only acted on once its trailer checks.
 */

#ifndef VMSTATE_H
#define VMSTATE_H

#include <sys/types.h>
#include <stdint.h>

#define VMS_MAGIC		"vmd-linux-vm\n\0\0"	/* 16 bytes */
#define VMS_VERSION		2	/* 1: a SHA-256 trailer */
#define VMS_DIGEST_LEN		4			/* CRC-32 */

struct vms_header {
	char			magic[16];
	uint32_t		version;
	uint32_t		hdrlen;		/* its own size */
	uint32_t		ncpus;
	uint32_t		flags;		/* none yet: 0 */
	uint64_t		memsize;
	uint64_t		sent_at;	/* CLOCK_REALTIME, ns */
	uint8_t			reserved[16];
} __attribute__((packed));

struct vms_section {
	uint32_t		tag;
	uint32_t		index;
	uint64_t		len;
} __attribute__((packed));

enum vms_tag {
	VMS_PARAMS = 1,
	VMS_CPUID,
	VMS_VCPU,
	VMS_VMM,
	VMS_X86IO,	/* i8042, reset register */
	VMS_SERIAL,	/* ns8250 */
	VMS_RTC,	/* mc146818 */
	VMS_PM,		/* ACPI PM and GPE registers */
	VMS_PCI,
	VMS_FWCFG,
	VMS_VIRTIO,	/* index: the device's PCI number */
	VMS_VMMCI,
	VMS_MEM,	/* uint64_t gpa, then whole pages */
	VMS_END,
	VMS_NTAGS
};

/* what vmctl reads from its standard input and hands vmd as is */
#define VMS_PREFIX_LEN		(sizeof(struct vms_header) + \
	    sizeof(struct vms_section) + sizeof(struct vmop_create_params))

#define VMS_MEM_CHUNK		(256 * 4096)	/* pages' bytes a MEM */
#define VMS_SECTION_MAX		(4 * 1024 * 1024) /* any other section */

struct vms_writer;
struct vms_reader;


/* writing: to fd, every byte hashed; errors stick and are returned last */
struct vms_writer *vms_writer_new(int);
int		 vms_put_header(struct vms_writer *, uint32_t, uint64_t,
		    uint64_t);
int		 vms_put(struct vms_writer *, uint32_t, uint32_t,
		    const void *, size_t);
int		 vms_put2(struct vms_writer *, uint32_t, uint32_t,
		    const void *, size_t, const void *, size_t);
int		 vms_writer_finish(struct vms_writer *);	/* END, trailer */
uint64_t	 vms_writer_bytes(struct vms_writer *);
void		 vms_writer_free(struct vms_writer *);

/* reading: from fd, after the prefix bytes already read by vmctl */
struct vms_reader *vms_reader_new(int, const void *, size_t);
int		 vms_get_header(struct vms_reader *, struct vms_header *);
int		 vms_fail(struct vms_reader *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
int		 vms_next(struct vms_reader *, struct vms_section *);
int		 vms_read(struct vms_reader *, void *, size_t);
int		 vms_reader_finish(struct vms_reader *);	/* the trailer */
const char	*vms_reader_error(struct vms_reader *);
int		 vms_reader_code(struct vms_reader *);
void		 vms_reader_free(struct vms_reader *);

/* the prefix: header and PARAMS, checked; NULL or the reason */
struct vmop_create_params;
const char	*vms_prefix_check(const void *, size_t,
		    struct vmop_create_params *);

const char	*vms_tag_name(uint32_t);

#endif /* VMSTATE_H */
