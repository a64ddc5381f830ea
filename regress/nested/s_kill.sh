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
# SIGKILL of one Linux guest's VM process: it shows stopped, the other
# guest keeps running and still answers on its console, vmd keeps serving.
. /t/lib.sh
vmd_start
start k1 "" || exit 1
start k2 "" || exit 1
check "kill: the first reaches its shell" wait_for "$T/con.k1" '^LINUX-SHELL' 90
check "kill: the second reaches its shell" wait_for "$T/con.k2" '^LINUX-SHELL' 90
victim=$(vm_field k1 2)
if [ -n "$victim" ] && kill -9 "$victim"; then
	ok "kill: SIGKILL to the first VM process ($victim)"
else
	nok "kill: SIGKILL to the first VM process (pid '$victim')"
fi
check "kill: the killed VM shows stopped" wait_state k1 stopped 10
check "kill: vmd logs the signal" wait_for "$T/vmd.log" 'k1: vm [0-9]+ process killed by signal 9' 5
check "kill: the other VM still runs" wait_state k2 running 2
sleep 1
con_send k2 "echo ALIVE-\$((3 * 5))
"
check "kill: the other guest still answers its console" \
    wait_for "$T/con.k2" '^ALIVE-15' 15
out=$(vmctl start -m 256M -b "$K" -I "$I" -k "console=ttyS0 panic=-1" k1 2>&1)
case $out in
"vmctl: started vm "*)	ok "kill: the killed VM starts again ($out)" ;;
*)			nok "kill: the killed VM starts again ($out)" ;;
esac
vmctl stop -f -w k1 >/dev/null 2>&1
vmctl stop -f -w k2 >/dev/null 2>&1
both_gone() { wait_gone k1 10 && wait_gone k2 10; }
check "kill: both are gone after stop -f" both_gone
