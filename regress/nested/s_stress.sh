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

# Not in the default sets: lifecycle churn to shake out instability of
# the nested host itself (boots, reboots, pauses, forced stops).
. /t/lib.sh
vmd_start
rounds=12
sb=0
while [ $sb -lt "$rounds" ]; do
	start s$sb "t.poweroff=1" >/dev/null || exit 1
	wait_gone s$sb 60 || nok "stress: boot $sb powers off"
	sb=$((sb + 1))
done
ok "stress: $rounds boots"
start sp "" || exit 1
wait_for "$T/con.sp" '^LINUX-SHELL' 60
sr=0
while [ $sr -lt "$rounds" ]; do
	vmctl pause sp >/dev/null 2>&1
	vmctl unpause sp >/dev/null 2>&1
	con_send sp "reboot -f
"
	sw=0
	while [ "$(count_in "$T/con.sp" '^LINUX-SHELL')" -lt $((sr + 2)) ] &&
	    [ $sw -lt 600 ]; do
		sleep 0.1; sw=$((sw + 1))
	done
	sleep 5		# slower than vmd's restart rate limit
	sr=$((sr + 1))
done
check "stress: $rounds reboots" wait_state sp running 2
vmctl stop -f -w sp >/dev/null 2>&1
