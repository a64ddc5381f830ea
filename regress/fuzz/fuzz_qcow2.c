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
 * libFuzzer target: arbitrary bytes as a qcow2 image (in a memfd) given
 * to disk_backing_name and to disk_open, alone and as its own base, then
 * a few reads, writes and a flush where it opened.  Run by make fuzz.
 */

#include <sys/types.h>
#include <sys/mman.h>
#include <sys/uio.h>

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "vmd.h"
#include "disk.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
image_fd(const uint8_t *data, size_t size)
{
	int	 fd;

	if ((fd = memfd_create("fuzz-qcow2", MFD_CLOEXEC)) == -1)
		return (-1);
	if (size > 0 && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return (-1);
	}
	return (fd);
}

static void
exercise(struct disk *d, int writable)
{
	static uint8_t	 buf[3 * 65536];
	struct iovec	 iov[2];
	uint64_t	 sz = disk_size(d), offs[4];
	int		 i;

	offs[0] = 0;
	offs[1] = sz / 2 & ~511ULL;
	offs[2] = sz > sizeof(buf) ? (sz - sizeof(buf)) & ~511ULL : 0;
	offs[3] = 65536 - 512;
	for (i = 0; i < 4; i++) {
		iov[0].iov_base = buf;
		iov[0].iov_len = 4096;
		iov[1].iov_base = buf + 4096;
		iov[1].iov_len = sizeof(buf) - 4096;
		(void)disk_readv(d, iov, 2, offs[i]);
		if (writable) {
			memset(buf, i + 1, 1024);
			iov[0].iov_len = 1024;
			(void)disk_writev(d, iov, 1, offs[i]);
			(void)disk_readv(d, iov, 1, offs[i]);
		}
	}
	if (writable)
		(void)disk_flush(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		 err[DISK_ERRLEN], base[PATH_MAX], res[PATH_MAX];
	struct disk	*d;
	int		 fds[2];

	if ((fds[0] = image_fd(data, size)) == -1)
		return (0);
	(void)disk_backing_name(fds[0], "/var/vmd/img.qcow2", base,
	    sizeof(base), res, sizeof(res), err, sizeof(err));

	if ((d = disk_open(VMDF_QCOW2, fds, 1, 0, err, sizeof(err))) != NULL) {
		exercise(d, 1);
		disk_close(d);
	} else
		close(fds[0]);

	/* the same bytes as its own base, read-only */
	if ((fds[0] = image_fd(data, size)) == -1)
		return (0);
	if ((fds[1] = image_fd(data, size)) == -1) {
		close(fds[0]);
		return (0);
	}
	if ((d = disk_open(VMDF_QCOW2, fds, 2, 1, err, sizeof(err))) != NULL) {
		exercise(d, 0);
		disk_close(d);
	} else {
		close(fds[0]);
		close(fds[1]);
	}
	return (0);
}
