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

# Four Linux guests at once, each answering on its own console.
. /t/lib.sh
vmd_start
for g in m1 m2 m3 m4; do
	start $g "" || exit 1
done
for g in m1 m2 m3 m4; do
	check "many: $g reaches its shell" wait_for "$T/con.$g" '^LINUX-SHELL' 180
done
n=$(vmctl status 2>/dev/null | grep -c ' running ')
[ "$n" -eq 4 ] && ok "many: four show running" ||
    nok "many: four show running ($n)"
sleep 1
for g in m1 m2 m3 m4; do
	con_send $g "echo I-AM-$g
"
done
for g in m1 m2 m3 m4; do
	check "many: $g answers" wait_for "$T/con.$g" "^I-AM-$g" 20
done
vmctl stop -a -w >/dev/null 2>&1
none() { [ -z "$(vmctl status | awk 'NR > 1')" ]; }
check "many: stop -a -w stops them all" none
