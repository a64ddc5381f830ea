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

# Images qemu-img made, holding 6 MiB of known data (R) at their start:
# vda a qcow2 v3 whose backing file (R) is a qcow2 v2 (the same 64 KiB
# clusters: upstream wants one cluster size in a chain), vdb a raw, vdc a
# qcow2 v2 with 4 KiB clusters without backing file.  The guest
# reads R on each, writes P and Q over part of it (whole clusters and,
# through O_DIRECT, parts of clusters the backing file holds) and at the
# end, and reads it all back; after stop -f, L1 finds those bytes on the
# images (cmp, qemu-img compare), qemu-img check finds no error and the
# backing file is unchanged.
. /t/lib.sh
vmd_start
pat
seq 3000000 3786431 >"$T/r"
truncate -s 16M "$T/ref"
dd if="$T/r" of="$T/ref" conv=notrunc 2>/dev/null
qimg() {
	out=$(qemu-img "$@" 2>&1) || nok "qimg: qemu-img $* ($out)"
}
qimg convert -f raw -O qcow2 -o compat=0.10 "$T/ref" \
    "$T/qbase.qcow2"
qimg create -f qcow2 -b "$T/qbase.qcow2" -F qcow2 "$T/qtop.qcow2"
qimg create -f raw "$T/qraw.raw" 16M
dd if="$T/r" of="$T/qraw.raw" conv=notrunc 2>/dev/null
qimg convert -f raw -O qcow2 -o compat=0.10,cluster_size=4096 "$T/ref" \
    "$T/qv2.qcow2"
base0=$(digest "$T/qbase.qcow2")

start qi "" -d "$T/qtop.qcow2" -d "$T/qraw.raw" -d "$T/qv2.qcow2" || exit 1
c=$T/con.qi
check "qimg: Linux reaches its shell" wait_for "$c" '^LINUX-SHELL' 90
sleep 1
con_send qi "$GUEST_IO"
con_send qi "seq 3000000 3786431 >/tmp/r; gr() { dd if=/dev/\$1 bs=64k count=96 iflag=direct 2>/dev/null | sha256sum; }
for d in vda vdb vdc; do [ \"\$(gr \$d)\" = \"\$(sha256sum </tmp/r)\" ] && r \$d-r=ok || r \$d-r=bad; done
cp /tmp/r /tmp/e; dd if=/tmp/p of=/tmp/e bs=64k seek=16 conv=notrunc 2>/dev/null; dd if=/tmp/q of=/tmp/e bs=512 seek=8199 conv=notrunc 2>/dev/null
for d in vda vdb vdc; do gw \$d; done; sync; echo 3 >/proc/sys/vm/drop_caches
for d in vda vdb vdc; do [ \"\$(gr \$d)\" = \"\$(sha256sum </tmp/e)\" ] && [ \$(gv \$d) = ok ] && r \$d-back=ok || r \$d-back=bad; done
sync; r done=\$((6 * 7))
"
if wait_for "$c" '^R-done=42' 180; then
	vmctl stop -f qi >/dev/null 2>&1
	ok "qimg: the guest did its I/O and synced"
else
	nok "qimg: the guest did its I/O and synced"
	vmctl stop -f qi >/dev/null 2>&1
fi
check "qimg: stop -f ends the guest" wait_gone qi 10

for d in vda:qcow2-over-v2-backing vdb:raw vdc:qcow2-v2; do
	v=$(result qi "${d%%:*}-r")
	if [ "$v" = ok ]; then ok "qimg: ${d%%:*} (${d#*:}) reads R"
	else nok "qimg: ${d%%:*} (${d#*:}) reads R ($v)"; fi
	v=$(result qi "${d%%:*}-back")
	if [ "$v" = ok ]; then ok "qimg: ${d%%:*} (${d#*:}) reads back the writes"
	else nok "qimg: ${d%%:*} (${d#*:}) reads back the writes ($v)"; fi
done

disk_ref "$T/ref"
check "qimg: the raw image holds exactly R and the writes" \
    cmp "$T/qraw.raw" "$T/ref"
for img in qtop.qcow2 qv2.qcow2; do
	out=$(qemu-img compare -f raw -F qcow2 "$T/ref" "$T/$img" 2>&1)
	if [ $? -eq 0 ]; then ok "qimg: $img holds exactly R and the writes"
	else nok "qimg: $img holds exactly R and the writes ($out)"; fi
	out=$(qemu-img check "$T/$img" 2>&1)
	if [ $? -eq 0 ]; then ok "qimg: qemu-img check $img is clean"
	else
		nok "qimg: qemu-img check $img is clean"
		echo "$out" | sed 's/^/# /'
	fi
done
if [ "$(digest "$T/qbase.qcow2")" = "$base0" ]; then
	ok "qimg: the backing file is unchanged"
else
	nok "qimg: the backing file is unchanged"
fi
