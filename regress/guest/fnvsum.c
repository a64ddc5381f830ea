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
 * fnvsum: print the 32-bit FNV-1a of a file the way the guest's "initrd"
 * command does: "0x%08x".  Host tool for the checks.
 */

#include <err.h>
#include <stdint.h>
#include <stdio.h>

int
main(int argc, char *argv[])
{
	FILE *fp;
	uint32_t h = 0x811c9dc5;
	int c;

	if (argc != 2) {
		fprintf(stderr, "usage: fnvsum file\n");
		return 1;
	}
	if ((fp = fopen(argv[1], "rb")) == NULL)
		err(1, "%s", argv[1]);
	while ((c = getc(fp)) != EOF) {
		h ^= (uint8_t)c;
		h *= 0x01000193;
	}
	if (ferror(fp))
		err(1, "%s", argv[1]);
	fclose(fp);
	printf("0x%08x\n", h);
	return 0;
}
