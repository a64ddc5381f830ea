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

# vmctl pause and unpause of a running Linux guest.
. /t/lib.sh
vmd_start
start pz "" || exit 1
c=$T/con.pz
check "pause: Linux reaches its shell" wait_for "$c" '^LINUX-SHELL' 60
sleep 1
check "pause: vmctl pause" vmctl pause pz
check "pause: the VM shows paused" wait_state pz paused 5
con_send pz "echo PAUSED-\$((1 + 1))
"
sleep 3
n=$(count_in "$c" '^PAUSED-2')
if [ "$n" -eq 0 ]; then ok "pause: a paused guest does not run"
else nok "pause: a paused guest does not run"; fi
check "pause: vmctl unpause" vmctl unpause pz
check "pause: the VM shows running" wait_state pz running 5
check "pause: the guest runs the command typed while paused" \
    wait_for "$c" '^PAUSED-2' 15
con_send pz "echo ALIVE-\$((3 + 4))
"
check "pause: the guest still answers" wait_for "$c" '^ALIVE-7' 15
vmctl stop -f pz >/dev/null 2>&1
check "pause: stop -f ends the guest" wait_gone pz 10
