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

# vmctl start -r: the ISO is the guest's /dev/sr0 (virtio-scsi, 2048-byte
# blocks); the whole device reads as the ISO, it mounts as iso9660 and
# its files have the right checksums; it cannot be written.  The same
# guest reads its virtio-rng through /dev/hwrng.
. /t/lib.sh
vmd_start
cp /l2/boot.iso "$T/cd.iso"
start cd "" -r "$T/cd.iso" || exit 1
c=$T/con.cd
check "cdrom: Linux reaches its shell" wait_for "$c" '^LINUX-SHELL' 90
sleep 1
con_send cd "r() { echo \"R-\$*\"; }; mkdir -p /mnt
r sr0=\$(cat /sys/block/sr0/size); r bs=\$(cat /sys/block/sr0/queue/logical_block_size)
r dev=\$(dd if=/dev/sr0 bs=64k 2>/dev/null | sha256sum | cut -d' ' -f1)
mount -t iso9660 /dev/sr0 /mnt && r linux=\$(sha256sum </mnt/linux | cut -d' ' -f1) && r initrd=\$(sha256sum </mnt/initrd.gz | cut -d' ' -f1)
if [ -b /dev/sr0 ]; then dd if=/dev/zero of=/dev/sr0 bs=2048 count=1 2>/dev/null && r wr=written || r wr=refused; else r wr=nodevice; fi
r rng=\$(cat /sys/class/misc/hw_random/rng_current)
r rng1=\$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d ' \\n')
r rng2=\$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null | od -An -tx1 | tr -d ' \\n')
r done=\$((6 * 7))
"
check "cdrom: the guest ran its checks" wait_for "$c" '^R-done=42' 90
vmctl stop -f cd >/dev/null 2>&1
check "cdrom: stop -f ends the guest" wait_gone cd 10

sz=$(( $(wc -c <"$T/cd.iso") / 512 ))
v=$(result cd sr0)
if [ "$v" = "$sz" ]; then ok "cdrom: /dev/sr0 has the ISO's size ($sz sectors)"
else nok "cdrom: /dev/sr0 has the ISO's size ($sz sectors: '$v')"; fi
v=$(result cd bs)
if [ "$v" = 2048 ]; then ok "cdrom: 2048-byte blocks"
else nok "cdrom: 2048-byte blocks ('$v')"; fi
v=$(result cd dev)
if [ "$v" = "$(digest "$T/cd.iso")" ]; then ok "cdrom: /dev/sr0 reads as the ISO"
else nok "cdrom: /dev/sr0 reads as the ISO ('$v')"; fi
v=$(result cd linux)
if [ "$v" = "$(digest /l2/vmlinuz)" ]; then ok "cdrom: a file on the mounted ISO reads right"
else nok "cdrom: a file on the mounted ISO reads right ('$v')"; fi
v=$(result cd initrd)
if [ "$v" = "$(digest /l2/initrd.gz)" ]; then ok "cdrom: another file reads right"
else nok "cdrom: another file reads right ('$v')"; fi
v=$(result cd wr)
if [ "$v" = refused ]; then ok "cdrom: writing /dev/sr0 fails"
else nok "cdrom: writing /dev/sr0 fails ('$v')"; fi
check "cdrom: the ISO is unchanged" cmp "$T/cd.iso" /l2/boot.iso

v=$(result cd rng)
case $v in
virtio_rng*)	ok "rng: the guest's hwrng is virtio_rng ($v)" ;;
*)		nok "rng: the guest's hwrng is virtio_rng ('$v')" ;;
esac
r1=$(result cd rng1) r2=$(result cd rng2)
if [ ${#r1} -eq 64 ] && [ ${#r2} -eq 64 ] && [ "$r1" != "$r2" ] &&
    [ "$r1" != "$(printf '%064d' 0)" ]; then
	ok "rng: /dev/hwrng reads random bytes"
else
	nok "rng: /dev/hwrng reads random bytes ('$r1' '$r2')"
fi
