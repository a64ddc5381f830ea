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

# Two Linux guests at once, each with its own console.
. /t/lib.sh
vmd_start
start g1 "" || exit 1
start g2 "" || exit 1
check "two: the first reaches its shell" wait_for "$T/con.g1" '^LINUX-SHELL' 90
check "two: the second reaches its shell" wait_for "$T/con.g2" '^LINUX-SHELL' 90
n=$(vmctl status 2>/dev/null | grep -c ' running ')
if [ "$n" -eq 2 ]; then ok "two: both show running"
else nok "two: both show running ($n)"; fi
sleep 1
con_send g1 "echo ONE-\$((10 + 1))
"
con_send g2 "echo TWO-\$((20 + 2))
"
check "two: the first runs its command" wait_for "$T/con.g1" '^ONE-11' 15
check "two: the second runs its command" wait_for "$T/con.g2" '^TWO-22' 15
is0() { [ "$(count_in "$1" "$2")" -eq 0 ]; }
check "two: the consoles are separate" is0 "$T/con.g1" '^TWO-22'
vmctl stop -f g1 >/dev/null 2>&1
check "two: the first stops" wait_gone g1 10
check "two: the second still runs" wait_state g2 running 2
vmctl stop -f g2 >/dev/null 2>&1
check "two: the second stops" wait_gone g2 10
