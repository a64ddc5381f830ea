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

# The guest's "reboot -f" restarts the VM: Linux boots twice.
. /t/lib.sh
vmd_start
start rb "" || exit 1
c=$T/con.rb
check "reboot: Linux reaches its shell" wait_for "$c" '^LINUX-SHELL' 60
sleep 1
con_send rb "reboot -f
"
check "reboot: the guest restarts" wait_for "$c" 'reboot: Restarting system' 15
i=0
while [ "$(count_in "$c" '^LINUX-UP')" -lt 2 ] && [ $i -lt 600 ]; do
	sleep 0.1; i=$((i + 1))
done
n=$(count_in "$c" '^LINUX-UP')
if [ "$n" -eq 2 ]; then ok "reboot: Linux boots a second time"
else nok "reboot: Linux boots a second time ($n boots)"; fi
check "reboot: the VM is running after the reboot" wait_state rb running 5
i=0
while [ "$(count_in "$c" '^LINUX-SHELL')" -lt 2 ] && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
sleep 1
con_send rb "echo AGAIN-\$((2 + 3))
"
check "reboot: the console still works" wait_for "$c" '^AGAIN-5' 15
vmctl stop -f rb >/dev/null 2>&1
check "reboot: stop -f ends the guest" wait_gone rb 10
