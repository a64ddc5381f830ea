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

# vmctl start without -b boots a disk through SeaBIOS: the raw image
# (syslinux on FAT, built by regress/nested/build) reaches its boot
# loader and the guest's marker; the guest sees that disk as vda; the
# image is unchanged.  FORMAT=qcow2 (s_biosqcow2.sh) does the same with
# the qcow2 copy.
. /t/lib.sh
fmt=${FORMAT:-raw}
vmd_start
cp "/l2/boot.$fmt" "$T/disk.$fmt"
n=disky
[ "$fmt" = raw ] || n=disky2
bios_boot $n SYSLINUX disk -d "$T/disk.$fmt" || exit 1
sleep 1
con_send $n "echo R-vda=\$(cat /sys/block/vda/size)
echo R-acpi=\$(head -c 16 /sys/firmware/acpi/tables/DSDT | tail -c 6)\$(ls /sys/bus/acpi/devices | grep -c PNP0A03)
"
sz=$(( $(wc -c </l2/boot.raw) / 512 ))
check "$n: the guest sees the disk it booted as vda ($sz sectors)" \
    wait_for "$T/con.$n" "^R-vda=$sz" 15
check "$n: SeaBIOS handed over vmd's ACPI tables (DSDT of VMDLNX, PCI0)" \
    wait_for "$T/con.$n" "^R-acpi=VMDLNX1" 5
vmctl stop -f $n >/dev/null 2>&1
check "$n: stop -f ends the guest" wait_gone $n 10
check "$n: the image is unchanged" cmp "$T/disk.$fmt" "/l2/boot.$fmt"
