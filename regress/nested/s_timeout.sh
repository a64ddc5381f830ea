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

# A guest that does not answer the power button: vmctl stop waits the
# stop timeout (VMD_STOP_TIMEOUT, 5 s here), then kills it.
. /t/lib.sh
export VMD_STOP_TIMEOUT=5
vmd_start
start deaf "" || exit 1
c=$T/con.deaf
check "timeout: Linux reaches its shell" wait_for "$c" '^LINUX-SHELL' 60
sleep 1
# the init's power button watcher is the one reading the event device
con_send deaf "for p in /proc/[0-9]*; do ls -l \$p/fd 2>/dev/null | grep -q /dev/input/ && kill -9 \${p#/proc/}; done; echo DEAF
"
check "timeout: the guest stops listening to the button" \
    wait_for "$c" '^DEAF' 15
t0=$(now)
out=$(vmctl stop -w deaf 2>&1)
t=$(echo "$(now) - $t0" | bc)
case $out in
*"terminated vm"*)	ok "timeout: vmctl stop -w returns ($out)" ;;
*)			nok "timeout: vmctl stop -w returns ($out)" ;;
esac
if [ "$(echo "$t >= 4.5 && $t < 15" | bc)" = 1 ]; then
	ok "timeout: forced after the stop timeout ($t s)"
else
	nok "timeout: forced after the stop timeout ($t s)"
fi
is0() { [ "$(count_in "$1" "$2")" -eq 0 ]; }
check "timeout: the guest never saw it as a power button" \
    is0 "$c" 'LINUX-POWERBUTTON'
check "timeout: the VM is gone" wait_gone deaf 5
