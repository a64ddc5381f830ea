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

# make bench-linux and make bench-disk inside the nested host, from
# l1-init: /t/bench.sh RUNS runs bench/run with the Linux guest,
# /t/bench.sh disk:RUNS:SECS[:FS[:VMMS[:FORMATS]]] bench/disk-run on a
# scratch filesystem (FS, ext4 or ext2, on the virtio disk bench/disk
# gives L1; VMMS and FORMATS with "+" between words), /t/bench.sh
# net:RUNS:MB[:VMMS[:QEMU_CPU]]
# bench/net-run, /t/bench.sh life:RUNS[:PARTS[:VMMS[:QEMU_CPU[:FILL[:JOB]]]]]
# bench/life-run; vmd against QEMU on this host's /dev/kvm.
export VMD=/usr/sbin/vmd VMCTL=/usr/sbin/vmctl TTFM=/bench/ttfm \
    QEMU=/usr/bin/qemu-system-x86_64 GUEST=/l2/vmlinuz PATH=/usr/bin:$PATH
case $1 in
disk:*)
	IFS=: read -r RUNS SECS BENCH_FS vmms fmts <<EOF
${1#disk:}
EOF
	BENCH_FS=${BENCH_FS:-ext4}
	export RUNS SECS BENCH_FS INITRD=/l2/initrd-bench.gz DIR=/scratch
	[ -n "$vmms" ] && export VMMS="$(echo "$vmms" | tr + ' ')"
	[ -n "$fmts" ] && export FORMATS="$(echo "$fmts" | tr + ' ')"
	for m in $(cat /lib/modules/bench/order); do
		insmod "/lib/modules/bench/$m.ko" ||
		    echo "bench-disk: insmod $m failed"
	done
	i=0
	while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do
		sleep 0.1; i=$((i + 1))
	done
	mkdir -p "$DIR"
	if /usr/sbin/mke2fs -q -F -t "$BENCH_FS" /dev/vda >/dev/null 2>&1 &&
	    mount -t "$BENCH_FS" /dev/vda "$DIR"; then
		echo "bench-disk: images on $BENCH_FS"
		sh /bench/disk-run
		rc=$?
		umount "$DIR"
	else
		echo "bench-disk: no $BENCH_FS filesystem on /dev/vda"
		rc=1
	fi
	;;
net:*)
	a=${1#net:}
	# RUNS:MB[:VMMS[:QEMU_CPU]], VMMS with "+" between them
	IFS=: read -r RUNS MB vmms QEMU_CPU <<EOF
$a
EOF
	VMMS=$(echo "${vmms:-vmd+qemu}" | tr + ' ')
	export RUNS MB VMMS QEMU_CPU INITRD=/l2/initrd-bench.gz
	# KVM's exit counters, which net-run prints
	mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	sh /bench/net-run
	rc=$?
	;;
life:*)
	a=${1#life:}
	# lists with "+" between their words, as for net
	IFS=: read -r RUNS parts vmms QEMU_CPU FILL JOB <<EOF
$a
EOF
	PARTS=$(echo "${parts:-send+smp}" | tr + ' ')
	VMMS=$(echo "${vmms:-vmd+qemu}" | tr + ' ')
	export RUNS PARTS VMMS QEMU_CPU FILL JOB INITRD=/l2/initrd.gz
	sh /bench/life-run
	rc=$?
	;;
*)
	export BUILD=/tmp/bench GUEST_KIND=linux INITRD=/l2/initrd.gz \
	    RUNS=${1:-10}
	mkdir -p "$BUILD"
	sh /bench/run
	rc=$?
	;;
esac
echo "BENCH-RC=$rc"
