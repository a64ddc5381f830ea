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

# Bad input to vmctl start: corrupt qcow2 images (truncated header, not
# qcow2 at all, a huge L1 table, a loop in the backing chain, a missing
# backing file), a fifth disk, a missing image, and no BIOS at
# /etc/firmware/vmm-bios for a start without -b.  Each gives one line and
# exit 1, no byte of an image changes, no VM is left behind and vmd
# still answers.  A good image given the same way starts (so the
# refusals are not those of a vmd without disks).  No guest boots.
. /t/lib.sh
vmd_start

# refused NAME WHAT FILES -- VMCTL-OPTIONS: vmctl start NAME with those
# options (and the L2 kernel) fails as it should, FILES unchanged
refused() {
	_n=$1 _w=$2
	shift 2
	_f=
	while [ "$1" != -- ]; do _f="$_f $1"; shift; done
	shift
	_before=$(for _x in $_f; do digest "$_x"; done)
	_out=$(vmctl start -m 256M -b "$K" -I "$I" "$@" "$_n" 2>&1)
	_rc=$?
	_after=$(for _x in $_f; do digest "$_x"; done)
	if [ $_rc -eq 1 ] && one_line "$_out"; then
		ok "bad: $_w: one line, exit 1 ($_out)"
	else
		nok "bad: $_w: one line, exit 1 (exit $_rc: $_out)"
	fi
	if [ "$_before" = "$_after" ]; then ok "bad: $_w: the image is unchanged"
	else nok "bad: $_w: the image is unchanged"; fi
	# (a VM whose process refused the image may show for a moment)
	if wait_gone "$_n" 5 && kill -0 "$VMD_PID" &&
	    vmctl status 2>/dev/null | grep -q '^ *ID  *PID '; then
		ok "bad: $_w: no VM left, vmd answers"
	else
		nok "bad: $_w: no VM left, vmd answers"
	fi
	[ $_rc -ne 0 ] || vmctl stop -f "$_n" >/dev/null 2>&1
}
# starts NAME WHAT VMCTL-OPTIONS: the control, it starts (and is stopped)
starts() {
	_n=$1 _w=$2
	shift 2
	_out=$(vmctl start -m 256M -b "$K" -I "$I" "$@" "$_n" 2>&1)
	case $_out in
	"vmctl: started vm "*)	ok "bad: $_w starts ($_out)" ;;
	*)			nok "bad: $_w starts ($_out)" ;;
	esac
	vmctl stop -f "$_n" >/dev/null 2>&1
	wait_gone "$_n" 10 || nok "bad: $_w stops"
}

vmctl create -s 16M "$T/good.qcow2" >/dev/null 2>&1
vmctl create -s 16M "$T/good.raw" >/dev/null 2>&1
starts good "a good qcow2 image" -d "$T/good.qcow2"

cp "$T/good.qcow2" "$T/trunc.qcow2"
truncate -s 40 "$T/trunc.qcow2"
refused bad1 "a truncated qcow2 header" "$T/trunc.qcow2" -- \
    -d "$T/trunc.qcow2"

dd if=/dev/zero of="$T/zero.img" bs=64k count=16 2>/dev/null
refused bad2 "a qcow2: disk that is not qcow2" "$T/zero.img" -- \
    -d "qcow2:$T/zero.img"

# l1_size (offset 36, big-endian) far beyond the image and the disk size
cp "$T/good.qcow2" "$T/l1.qcow2"
printf '\100\000\000\000' | dd of="$T/l1.qcow2" bs=1 seek=36 conv=notrunc \
    2>/dev/null
refused bad3 "a huge L1 table" "$T/l1.qcow2" -- -d "$T/l1.qcow2"

vmctl create -s 16M "$T/x.qcow2" >/dev/null 2>&1
vmctl create -b "$T/x.qcow2" "$T/y.qcow2" >/dev/null 2>&1
if out=$(qemu-img rebase -u -F qcow2 -b "$T/y.qcow2" "$T/x.qcow2" 2>&1)
then
	refused bad4 "a loop in the backing chain" "$T/x.qcow2" \
	    "$T/y.qcow2" -- -d "$T/y.qcow2"
else
	nok "bad: qemu-img rebase -u makes a backing loop ($out)"
fi

vmctl create -s 16M "$T/gone.qcow2" >/dev/null 2>&1
vmctl create -b "$T/gone.qcow2" "$T/orphan.qcow2" >/dev/null 2>&1
rm -f "$T/gone.qcow2"
refused bad5 "a missing backing file" "$T/orphan.qcow2" -- \
    -d "$T/orphan.qcow2"

for i in 1 2 3 4 5; do
	vmctl create -s 1M "$T/d$i.raw" >/dev/null 2>&1
done
refused bad6 "a fifth disk" "$T/d1.raw" "$T/d5.raw" -- -d "$T/d1.raw" \
    -d "$T/d2.raw" -d "$T/d3.raw" -d "$T/d4.raw" -d "$T/d5.raw"
starts four "four disks" -d "$T/d1.raw" -d "$T/d2.raw" -d "$T/d3.raw" \
    -d "$T/d4.raw"

refused bad7 "a missing image" "$T/good.raw" -- -d "$T/nonexistent.raw"

# no BIOS: a start without -b
bios=/etc/firmware/vmm-bios
mv "$bios" "$bios.away"
out=$(vmctl start -m 512M -d "$T/good.raw" nobios 2>&1)
rc=$?
mv "$bios.away" "$bios"
# after upstream's "starting without network interfaces" warning
err=$(printf '%s\n' "$out" | grep -v '^vmctl: starting without ')
if [ $rc -eq 1 ] && [ "$err" = "vmctl: vmm bios firmware file not found." ]
then
	ok "bad: no BIOS: upstream's message, exit 1 ($(echo $out))"
else
	nok "bad: no BIOS: upstream's message, exit 1 (exit $rc: $(echo $out))"
fi
check "bad: no BIOS: no VM left" wait_gone nobios 2
check "bad: vmd still runs" kill -0 "$VMD_PID"
