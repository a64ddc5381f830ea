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

# Images vmctl create made, in a Linux guest: a raw (vda) and a qcow2
# (vdb) get the same writes and read them back; "vmctl stop -f" right
# after the guest's sync, and they hold exactly those bytes (raw: cmp
# with L1's own copy; qcow2: qemu-img compare with it, and qemu-img check
# clean).  A qcow2 made with -b (vdc) takes an ext2 filesystem; its base
# is unchanged.  While the guest runs, a second VM cannot open the same
# images, and one on another image of the same base can.
. /t/lib.sh
vmd_start
pat

created() {
	out=$(vmctl create "$@" 2>&1)
	case $out in
	"vmctl: "*" imagefile created")
		ok "disk: vmctl create $* ($out)" ;;
	*)	nok "disk: vmctl create $* ($out)" ;;
	esac
}
created -s 64M "$T/a.raw"
created -s 96M "$T/b.qcow2"
created -s 48M "$T/base.qcow2"
created -b "$T/base.qcow2" "$T/c.qcow2"
created -b "$T/base.qcow2" "$T/c2.qcow2"
base0=$(digest "$T/base.qcow2")

start dk "" -d "$T/a.raw" -d "$T/b.qcow2" -d "$T/c.qcow2" || exit 1
c=$T/con.dk
check "disk: Linux reaches its shell" wait_for "$c" '^LINUX-SHELL' 90

# the images in use: one clear line and exit 1 for a second writer
for img in a.raw b.qcow2; do
	refused "disk: a second VM cannot open $img" \
	    'lock|in use|busy|could not open' \
	    start -m 256M -b "$K" -I "$I" -d "$T/$img" dk2
done
check "disk: the refused VM is not listed" wait_gone dk2 2
check "disk: the first VM still runs" wait_state dk running 2
out=$(vmctl start -m 256M -b "$K" -I "$I" -d "$T/c2.qcow2" dk3 2>&1)
case $out in
"vmctl: started vm "*)	ok "disk: another image of the same base opens ($out)" ;;
*)			nok "disk: another image of the same base opens ($out)" ;;
esac
vmctl stop -f dk3 >/dev/null 2>&1
check "disk: that VM stops" wait_gone dk3 10

sleep 1
con_send dk "$GUEST_IO"
con_send dk "for d in vda vdb vdc; do r \$d-size=\$(gsz \$d); done
r root=\$(ls /sys/bus/acpi/devices | grep -c PNP0A03); r irqs=\$(cat /sys/bus/pci/devices/*/irq | tr '\\n' ,)
r msix=\$(awk '/PCI-MSI.*virtio[0-9]*-req/ && \$2 > 0' /proc/interrupts | wc -l)
gw vda; gw vdb; sync; echo 3 >/proc/sys/vm/drop_caches; r vda-back=\$(gv vda); r vdb-back=\$(gv vdb)
mke2fs /dev/vdc >/dev/null 2>&1 && mount -t ext2 /dev/vdc /mnt && cp /tmp/p /mnt/f && sync && umount /mnt && echo 3 >/proc/sys/vm/drop_caches && mount -t ext2 /dev/vdc /mnt && cmp /tmp/p /mnt/f && umount /mnt && r fs=ok || r fs=bad
sync; r done=\$((6 * 7))
"
if wait_for "$c" '^R-done=42' 180; then
	vmctl stop -f dk >/dev/null 2>&1
	ok "disk: the guest did its I/O and synced"
else
	nok "disk: the guest did its I/O and synced"
	vmctl stop -f dk >/dev/null 2>&1
fi
check "disk: stop -f ends the guest" wait_gone dk 10

for kv in root=1 irqs=0,3,5,6,7,10, msix=3 vda-size=131072 vdb-size=196608 \
    vdc-size=98304 vda-back=ok vdb-back=ok fs=ok; do
	v=$(result dk "${kv%%=*}")
	case $kv in
	root=*)		what="ACPI describes one PCI root bridge (PNP0A03)" ;;
	irqs=*)		what="each PCI device's IRQ is its _PRT entry (${kv#*=})" ;;
	msix=*)		what="the 3 disks' requests complete on MSI-X vectors" ;;
	*-size=*)	what="${kv%%-*} has the image's size (${kv#*=} sectors)" ;;
	*-back=*)	what="${kv%%-*} reads back what was written" ;;
	fs=*)		what="mkfs.ext2, mount, write, umount, mount, read on vdc" ;;
	esac
	if [ "$v" = "${kv#*=}" ]; then ok "disk: $what"
	else nok "disk: $what (R-${kv%%=*}=$v)"; fi
done

# the bytes on the images, from L1
truncate -s 64M "$T/ref-a" && disk_ref "$T/ref-a"
truncate -s 96M "$T/ref-b" && disk_ref "$T/ref-b"
check "disk: the raw image holds exactly the guest's writes" \
    cmp "$T/a.raw" "$T/ref-a"
out=$(qemu-img compare -f raw -F qcow2 "$T/ref-b" "$T/b.qcow2" 2>&1)
if [ $? -eq 0 ]; then ok "disk: the qcow2 image holds exactly the guest's writes"
else nok "disk: the qcow2 image holds exactly the guest's writes ($out)"; fi
for img in b.qcow2 c.qcow2; do
	out=$(qemu-img check "$T/$img" 2>&1)
	if [ $? -eq 0 ]; then ok "disk: qemu-img check $img is clean"
	else
		nok "disk: qemu-img check $img is clean"
		echo "$out" | sed 's/^/# /'
	fi
done
if [ "$(digest "$T/base.qcow2")" = "$base0" ]; then
	ok "disk: the base image is unchanged"
else
	nok "disk: the base image is unchanged"
fi
