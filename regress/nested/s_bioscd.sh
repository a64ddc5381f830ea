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

# vmctl start -r ISO -B cdrom: SeaBIOS boots the isolinux ISO (El Torito,
# no emulation, built by regress/nested/build) from the virtio-scsi
# CD-ROM to the guest's marker; the guest has sr0 and no disk.
. /t/lib.sh
vmd_start
cp /l2/boot.iso "$T/boot.iso"
bios_boot inst ISOLINUX cdrom -r "$T/boot.iso" -B cdrom || exit 1
sleep 1
con_send inst "echo R-sr0=\$(cat /sys/block/sr0/size) R-vda=\$(ls /sys/block | grep -c '^vd')
"
sz=$(( $(wc -c <"$T/boot.iso") / 512 ))
check "inst: the guest sees the ISO as sr0 and no disk" \
    wait_for "$T/con.inst" "^R-sr0=$sz R-vda=0" 15
vmctl stop -f inst >/dev/null 2>&1
check "inst: stop -f ends the guest" wait_gone inst 10
