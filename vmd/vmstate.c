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
 * The send/receive stream (vmstate.h): buffered writing and reading,
 * every byte through CRC-32 (zlib's), sections checked against their
 * limits.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "vmd.h"
#include "vmstate.h"

#define VMS_BUFSIZE	(256 * 1024)

struct vms_writer {
	int		 fd;
	uLong		 crc;
	uint8_t		*buf;
	size_t		 len;
	uint64_t	 total;
	int		 err;		/* errno of the first failure */
};

struct vms_reader {
	int		 fd;
	uLong		 crc;
	const uint8_t	*prefix;
	size_t		 prefixlen;
	size_t		 prefixoff;
	uint8_t		*buf;
	size_t		 len;
	size_t		 off;
	uint64_t	 total;
	int		 eof;
	int		 code;		/* VMD_RECV_* or errno */
	char		 why[160];
	uint64_t	 left;		/* of the section's data */
	uint32_t	 last;		/* the last tag */
};

static const char *const vms_tags[VMS_NTAGS] = {
	[VMS_PARAMS] = "params",
	[VMS_CPUID] = "cpuid",
	[VMS_VCPU] = "vcpu",
	[VMS_VMM] = "irqchip and clock",
	[VMS_X86IO] = "i8042",
	[VMS_SERIAL] = "serial",
	[VMS_RTC] = "rtc",
	[VMS_PM] = "acpi pm",
	[VMS_PCI] = "pci",
	[VMS_FWCFG] = "fw_cfg",
	[VMS_VIRTIO] = "virtio",
	[VMS_VMMCI] = "vmmci",
	[VMS_MEM] = "memory",
	[VMS_END] = "end",
};

const char *
vms_tag_name(uint32_t tag)
{
	if (tag < VMS_NTAGS && vms_tags[tag] != NULL)
		return (vms_tags[tag]);
	return ("unknown");
}

/* The trailer: the CRC-32 of every byte before it, little-endian. */
static void
vms_crc_put(uLong crc, uint8_t *b)
{
	b[0] = crc & 0xff;
	b[1] = (crc >> 8) & 0xff;
	b[2] = (crc >> 16) & 0xff;
	b[3] = (crc >> 24) & 0xff;
}

/*
 * Writing
 */

struct vms_writer *
vms_writer_new(int fd)
{
	struct vms_writer	*w;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return (NULL);
	w->fd = fd;
	w->crc = crc32_z(0L, Z_NULL, 0);
	if ((w->buf = malloc(VMS_BUFSIZE)) == NULL) {
		vms_writer_free(w);
		errno = ENOMEM;
		return (NULL);
	}
	return (w);
}

static void
vms_flush(struct vms_writer *w)
{
	ssize_t	n;
	size_t	off = 0;

	while (w->err == 0 && off < w->len) {
		if ((n = write(w->fd, w->buf + off, w->len - off)) == -1) {
			if (errno == EINTR)
				continue;
			w->err = errno;
			break;
		}
		off += n;
	}
	w->len = 0;
}

static void
vms_write(struct vms_writer *w, const void *p, size_t len)
{
	const uint8_t	*b = p;
	size_t		 n;
	ssize_t		 wn;

	if (w->err != 0)
		return;
	w->crc = crc32_z(w->crc, p, len);
	w->total += len;
	if (len >= VMS_BUFSIZE / 2) {
		/* guest memory: written from where it is, not copied */
		vms_flush(w);
		while (len > 0 && w->err == 0) {
			if ((wn = write(w->fd, b, len)) == -1) {
				if (errno == EINTR)
					continue;
				w->err = errno;
				break;
			}
			b += wn;
			len -= wn;
		}
		return;
	}
	while (len > 0 && w->err == 0) {
		n = MINIMUM(len, VMS_BUFSIZE - w->len);
		memcpy(w->buf + w->len, b, n);
		w->len += n;
		b += n;
		len -= n;
		if (w->len == VMS_BUFSIZE)
			vms_flush(w);
	}
}

/* The header, first of all. */
int
vms_put_header(struct vms_writer *w, uint32_t ncpus, uint64_t memsize,
    uint64_t sent_at)
{
	struct vms_header	h;

	memset(&h, 0, sizeof(h));
	memcpy(h.magic, VMS_MAGIC, sizeof(h.magic));
	h.version = VMS_VERSION;
	h.hdrlen = sizeof(h);
	h.ncpus = ncpus;
	h.memsize = memsize;
	h.sent_at = sent_at;
	vms_write(w, &h, sizeof(h));
	if (w->err != 0) {
		errno = w->err;
		return (-1);
	}
	return (0);
}

/* A section whose data is two pieces, e.g. a MEM's address and pages. */
int
vms_put2(struct vms_writer *w, uint32_t tag, uint32_t index, const void *a,
    size_t alen, const void *b, size_t blen)
{
	struct vms_section	s;

	memset(&s, 0, sizeof(s));
	s.tag = tag;
	s.index = index;
	s.len = alen + blen;
	vms_write(w, &s, sizeof(s));
	if (alen > 0)
		vms_write(w, a, alen);
	if (blen > 0)
		vms_write(w, b, blen);
	if (w->err != 0) {
		errno = w->err;
		return (-1);
	}
	return (0);
}

int
vms_put(struct vms_writer *w, uint32_t tag, uint32_t index, const void *p,
    size_t len)
{
	return (vms_put2(w, tag, index, p, len, NULL, 0));
}

int
vms_writer_finish(struct vms_writer *w)
{
	if (vms_put(w, VMS_END, 0, NULL, 0) == -1)
		return (-1);
	/* the trailer is not summed: written past vms_write */
	if (VMS_BUFSIZE - w->len < VMS_DIGEST_LEN)
		vms_flush(w);
	vms_crc_put(w->crc, w->buf + w->len);
	w->len += VMS_DIGEST_LEN;
	w->total += VMS_DIGEST_LEN;
	vms_flush(w);
	if (w->err != 0) {
		errno = w->err;
		return (-1);
	}
	return (0);
}

uint64_t
vms_writer_bytes(struct vms_writer *w)
{
	return (w->total);
}

void
vms_writer_free(struct vms_writer *w)
{
	if (w == NULL)
		return;
	free(w->buf);
	free(w);
}

/*
 * Reading
 */

/* The first failure is the one reported; -1 always. */
int
vms_fail(struct vms_reader *r, int code, const char *fmt, ...)
{
	va_list	ap;

	if (r->code == 0) {
		r->code = code;
		va_start(ap, fmt);
		(void)vsnprintf(r->why, sizeof(r->why), fmt, ap);
		va_end(ap);
	}
	return (-1);
}

struct vms_reader *
vms_reader_new(int fd, const void *prefix, size_t prefixlen)
{
	struct vms_reader	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return (NULL);
	r->fd = fd;
	r->prefix = prefix;
	r->prefixlen = prefixlen;
	r->crc = crc32_z(0L, Z_NULL, 0);
	if ((r->buf = malloc(VMS_BUFSIZE)) == NULL) {
		vms_reader_free(r);
		errno = ENOMEM;
		return (NULL);
	}
	return (r);
}

/* len raw bytes, not hashed; -1 at a short stream */
static int
vms_raw(struct vms_reader *r, void *p, size_t len)
{
	uint8_t	*b = p;
	size_t	 n;
	ssize_t	 got;

	while (len > 0) {
		if (r->prefixoff < r->prefixlen) {
			n = MINIMUM(len, r->prefixlen - r->prefixoff);
			memcpy(b, r->prefix + r->prefixoff, n);
			r->prefixoff += n;
		} else {
			if (r->off == r->len && len >= VMS_BUFSIZE / 2 &&
			    !r->eof) {
				/* guest memory: read where it goes */
				got = read(r->fd, b, len);
				if (got == -1 && errno == EINTR)
					continue;
				if (got == -1)
					return (vms_fail(r, errno,
					    "read: %s", strerror(errno)));
				if (got == 0) {
					r->eof = 1;
					continue;
				}
				b += got;
				len -= got;
				r->total += got;
				continue;
			}
			if (r->off == r->len) {
				if (r->eof)
					return (vms_fail(r, VMD_RECV_TRUNCATED,
					    "the stream ends after %llu bytes",
					    (unsigned long long)r->total));
				got = read(r->fd, r->buf, VMS_BUFSIZE);
				if (got == -1 && errno == EINTR)
					continue;
				if (got == -1)
					return (vms_fail(r, errno,
					    "read: %s", strerror(errno)));
				if (got == 0) {
					r->eof = 1;
					continue;
				}
				r->off = 0;
				r->len = got;
			}
			n = MINIMUM(len, r->len - r->off);
			memcpy(b, r->buf + r->off, n);
			r->off += n;
		}
		b += n;
		len -= n;
		r->total += n;
	}
	return (0);
}

static int
vms_hashed(struct vms_reader *r, void *p, size_t len)
{
	if (r->code != 0)
		return (-1);
	if (vms_raw(r, p, len) == -1)
		return (-1);
	r->crc = crc32_z(r->crc, p, len);
	return (0);
}

/* The header (vms_prefix_check looked at it already). */
int
vms_get_header(struct vms_reader *r, struct vms_header *h)
{
	if (vms_hashed(r, h, sizeof(*h)) == -1)
		return (-1);
	if (memcmp(h->magic, VMS_MAGIC, sizeof(h->magic)) != 0 ||
	    h->version != VMS_VERSION || h->hdrlen != sizeof(*h))
		return (vms_fail(r, VMD_RECV_FORMAT, "not a stream of ours"));
	return (0);
}

/*
 * The next section's header: tags in the stream's order (each kind no
 * earlier than the one before it), lengths within their kind's limit.
 * The data must then be read whole with vms_read.
 */
int
vms_next(struct vms_reader *r, struct vms_section *s)
{
	uint64_t	max;

	if (r->left != 0)
		return (vms_fail(r, VMD_RECV_CORRUPT,
		    "section %s not read whole", vms_tag_name(r->last)));
	if (vms_hashed(r, s, sizeof(*s)) == -1)
		return (-1);
	if (s->tag == 0 || s->tag >= VMS_NTAGS)
		return (vms_fail(r, VMD_RECV_CORRUPT,
		    "unknown section %u at byte %llu", s->tag,
		    (unsigned long long)(r->total - sizeof(*s))));
	if (s->tag < r->last)
		return (vms_fail(r, VMD_RECV_CORRUPT,
		    "section %s after %s", vms_tag_name(s->tag),
		    vms_tag_name(r->last)));
	if (s->tag == VMS_MEM)
		max = sizeof(uint64_t) + VMS_MEM_CHUNK;
	else if (s->tag == VMS_END)
		max = 0;
	else
		max = VMS_SECTION_MAX;
	if (s->len > max)
		return (vms_fail(r, VMD_RECV_CORRUPT,
		    "section %s of %llu bytes (at most %llu)",
		    vms_tag_name(s->tag), (unsigned long long)s->len,
		    (unsigned long long)max));
	r->last = s->tag;
	r->left = s->len;
	return (0);
}

/* len bytes of the current section's data */
int
vms_read(struct vms_reader *r, void *p, size_t len)
{
	if (len > r->left)
		return (vms_fail(r, VMD_RECV_CORRUPT,
		    "section %s is %llu bytes short", vms_tag_name(r->last),
		    (unsigned long long)(len - r->left)));
	if (vms_hashed(r, p, len) == -1)
		return (-1);
	r->left -= len;
	return (0);
}

/* After END: the trailer must be the digest of everything before it. */
int
vms_reader_finish(struct vms_reader *r)
{
	uint8_t		digest[VMS_DIGEST_LEN], want[VMS_DIGEST_LEN];

	if (r->code != 0)
		return (-1);
	if (r->last != VMS_END)
		return (vms_fail(r, VMD_RECV_CORRUPT, "no end section"));
	vms_crc_put(r->crc, digest);
	if (vms_raw(r, want, sizeof(want)) == -1)
		return (-1);
	if (memcmp(digest, want, sizeof(want)) != 0)
		return (vms_fail(r, VMD_RECV_CORRUPT,
		    "CRC-32 of the stream does not match its trailer"));
	/* a stream is one VM: what came with it after the trailer is wrong */
	if (r->off < r->len)
		return (vms_fail(r, VMD_RECV_CORRUPT,
		    "data after the end of the stream"));
	return (0);
}

const char *
vms_reader_error(struct vms_reader *r)
{
	return (r->why[0] != '\0' ? r->why : "no error");
}

int
vms_reader_code(struct vms_reader *r)
{
	return (r->code);
}

void
vms_reader_free(struct vms_reader *r)
{
	if (r == NULL)
		return;
	free(r->buf);
	free(r);
}

/*
 * The first bytes of a stream, as vmctl hands them over: our header of
 * this version, then the VM's parameters, sane.  Fills *vmc; returns NULL
 * or why not.
 */
const char *
vms_prefix_check(const void *p, size_t len, struct vmop_create_params *vmc)
{
	struct vms_header	h;
	struct vms_section	s;
	const uint8_t		*b = p;
	struct vm_create_params	*vcp = &vmc->vmc_params;
	unsigned int		 i;

	if (len != VMS_PREFIX_LEN)
		return ("the stream is too short");
	memcpy(&h, b, sizeof(h));
	if (memcmp(h.magic, VMS_MAGIC, sizeof(h.magic)) != 0)
		return ("not a VM stream of vmd");
	if (h.version != VMS_VERSION || h.hdrlen != sizeof(h))
		return ("stream format version not supported");
	memcpy(&s, b + sizeof(h), sizeof(s));
	if (s.tag != VMS_PARAMS || s.len != sizeof(*vmc))
		return ("no VM parameters at the start of the stream");
	memcpy(vmc, b + sizeof(h) + sizeof(s), sizeof(*vmc));

	/* every string ends, every count fits its arrays */
	vcp->vcp_name[sizeof(vcp->vcp_name) - 1] = '\0';
	vmc->vmc_kernel[sizeof(vmc->vmc_kernel) - 1] = '\0';
	vmc->vmc_initrd[sizeof(vmc->vmc_initrd) - 1] = '\0';
	vmc->vmc_cdrom[sizeof(vmc->vmc_cdrom) - 1] = '\0';
	vmc->vmc_cmdline[sizeof(vmc->vmc_cmdline) - 1] = '\0';
	vmc->vmc_instance[sizeof(vmc->vmc_instance) - 1] = '\0';
	for (i = 0; i < VM_MAX_DISKS_PER_VM; i++)
		vmc->vmc_disks[i][sizeof(vmc->vmc_disks[i]) - 1] = '\0';
	for (i = 0; i < VM_MAX_NICS_PER_VM; i++) {
		vmc->vmc_ifnames[i][sizeof(vmc->vmc_ifnames[i]) - 1] = '\0';
		vmc->vmc_ifswitch[i][sizeof(vmc->vmc_ifswitch[i]) - 1] = '\0';
		vmc->vmc_ifgroup[i][sizeof(vmc->vmc_ifgroup[i]) - 1] = '\0';
	}
	if (vcp->vcp_ncpus < 1 || vcp->vcp_ncpus > VMM_MAX_VCPUS_PER_VM ||
	    vcp->vcp_ncpus != h.ncpus)
		return ("bad vcpu count in the stream");
	if (vcp->vcp_memory_size < 1024 * 1024 ||
	    vcp->vcp_memory_size > VMM_MAX_VM_MEM_SIZE ||
	    vcp->vcp_memory_size != h.memsize)
		return ("bad memory size in the stream");
	if (vmc->vmc_ndisks > VM_MAX_DISKS_PER_VM ||
	    vmc->vmc_nnics > VM_MAX_NICS_PER_VM)
		return ("bad device counts in the stream");
	for (i = 0; i < vmc->vmc_ndisks; i++)
		if (vmc->vmc_disks[i][0] != '/')
			return ("a disk path in the stream is not absolute");
	if (vmc->vmc_cdrom[0] != '\0' && vmc->vmc_cdrom[0] != '/')
		return ("the cdrom path in the stream is not absolute");
	return (NULL);
}
