#!/bin/sh
#
# Copyright (c) 2026 The vmd-linux project
#
# Permission to use, copy, modify, and distribute this software for any
# purpose with or without fee is hereby granted, provided that the above
# copyright notice and this permission notice appear in all copies.
#
# THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
# WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
# MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
# ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
# WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
# ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
# OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.

# make bench-linux inside the nested host (/t/bench.sh RUNS, from
# l1-init): bench/run with the Linux guest, vmd against QEMU on this
# host's /dev/kvm.
export BUILD=/tmp/bench GUEST_KIND=linux GUEST=/l2/vmlinuz \
    INITRD=/l2/initrd.gz VMD=/usr/sbin/vmd VMCTL=/usr/sbin/vmctl \
    TTFM=/bench/ttfm RUNS=${1:-10} QEMU=/usr/bin/qemu-system-x86_64 \
    PATH=/usr/bin:$PATH
mkdir -p "$BUILD"
sh /bench/run
echo "BENCH-RC=$?"
