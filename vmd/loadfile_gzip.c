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
 * gzip-compressed kernels (bsd.rd.gz, vmlinuz.gz), which upstream's
 * loader reads through zlib.  The VM process may open nothing, so the
 * image is decompressed from the descriptor it was given into memory
 * before any loader looks at it; the loaders then read those bytes.
 *
 * The output is bounded by guest RAM and LOADFILE_GZIP_MAX, whatever the
 * stream's trailer claims (its size is never read).  Members one after
 * another are one image, as gzip(1) makes them; bytes after the last
 * member that do not start another are ignored, as zlib's gzread() does.
 */

#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "loadfile.h"

#define GZIP_INBUF	65536

int
loadfile_is_gzip(const uint8_t *hdr, size_t len)
{
	return (len >= 2 && hdr[0] == 0x1f && hdr[1] == 0x8b);
}

/*
 * More input: what is left of the buffer moves to its start and the file
 * fills the rest.  -1 with errno on a read error.
 */
static int
gz_fill(struct loadfile *lf, z_stream *zs, uint8_t *in, uint64_t *off,
    uint64_t fsize)
{
	size_t	 left = zs->avail_in, n;

	if (*off >= fsize)
		return (0);
	if (left > 0)
		memmove(in, zs->next_in, left);
	n = MINIMUM(GZIP_INBUF - left, fsize - *off);
	if (loadfile_read(lf->lf_kernel, *off, in + left, n) == -1)
		return (-1);
	*off += n;
	zs->next_in = in;
	zs->avail_in = left + n;
	return (0);
}

/*
 * The kernel file, fsize bytes of gzip, into lf_kbuf and lf_ksize.
 * 0, or an errno value with lf_err saying what was wrong.
 */
int
loadfile_gunzip(struct loadfile *lf, uint64_t fsize)
{
	z_stream	 zs;
	uint8_t		*in = NULL, *out = NULL, *p;
	uint64_t	 limit, cap, total = 0, off = 0;
	int		 zret, ret = 0, inited = 0;

	limit = MINIMUM(lf->lf_mem->ramsize, LOADFILE_GZIP_MAX);
	/* one byte past the limit tells a stream that goes on */
	cap = fsize > limit ? limit + 1 :
	    MINIMUM(MAXIMUM(fsize * 4, MB(1)), limit + 1);
	if ((in = malloc(GZIP_INBUF)) == NULL || (out = malloc(cap)) == NULL) {
		ret = loadfile_error(lf, ENOMEM, "kernel: %s",
		    strerror(errno));
		goto done;
	}
	memset(&zs, 0, sizeof(zs));
	/* 16: the gzip wrapper only (its CRC and length are checked) */
	if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
		ret = loadfile_error(lf, ENOMEM, "kernel: zlib: %s",
		    zs.msg != NULL ? zs.msg : "cannot initialize");
		goto done;
	}
	inited = 1;

	for (;;) {
		if (zs.avail_in == 0 && gz_fill(lf, &zs, in, &off,
		    fsize) == -1) {
			ret = loadfile_error(lf, EIO, "kernel: read: %s",
			    strerror(errno));
			goto done;
		}
		if (total == cap) {
			if (cap > limit) {
				ret = loadfile_error(lf, EFBIG, "kernel: gzip "
				    "stream decompresses to more than %lluM, "
				    "the most this VM takes",
				    (unsigned long long)(limit >> 20));
				goto done;
			}
			cap = MINIMUM(cap * 2, limit + 1);
			if ((p = realloc(out, cap)) == NULL) {
				ret = loadfile_error(lf, ENOMEM, "kernel: %s",
				    strerror(errno));
				goto done;
			}
			out = p;
		}
		zs.next_out = out + total;
		zs.avail_out = (uInt)(cap - total);
		zret = inflate(&zs, Z_NO_FLUSH);
		total = (uint64_t)(zs.next_out - out);

		switch (zret) {
		case Z_OK:
			continue;
		case Z_STREAM_END:
			/* another member, or the end of the image */
			if (zs.avail_in < 2 && gz_fill(lf, &zs, in, &off,
			    fsize) == -1) {
				ret = loadfile_error(lf, EIO, "kernel: read: "
				    "%s", strerror(errno));
				goto done;
			}
			if (!loadfile_is_gzip(zs.next_in, zs.avail_in))
				break;
			if (inflateReset(&zs) != Z_OK) {
				ret = loadfile_error(lf, EINVAL, "kernel: "
				    "zlib: %s", zs.msg != NULL ? zs.msg :
				    "cannot reset");
				goto done;
			}
			continue;
		case Z_BUF_ERROR:
			/* no progress: all of the file is in, yet no end */
			if (zs.avail_in == 0 && off >= fsize) {
				ret = loadfile_error(lf, ENOEXEC,
				    "kernel: truncated gzip stream");
				goto done;
			}
			continue;
		case Z_MEM_ERROR:
			ret = loadfile_error(lf, ENOMEM, "kernel: zlib: out "
			    "of memory");
			goto done;
		default:
			/* Z_DATA_ERROR, Z_NEED_DICT, Z_STREAM_ERROR */
			ret = loadfile_error(lf, ENOEXEC, "kernel: corrupt "
			    "gzip stream: %s", zs.msg != NULL ? zs.msg :
			    "bad data");
			goto done;
		}
		break;
	}
	lf->lf_kbuf = out;
	lf->lf_ksize = total;
	lf->lf_gzip = 1;
	out = NULL;
 done:
	if (inited)
		inflateEnd(&zs);
	free(in);
	free(out);
	return (ret);
}
