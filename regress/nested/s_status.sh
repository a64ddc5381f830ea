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

# vmctl status of a running Linux guest: upstream's columns with real
# values (CURMEM is what the guest touched, less than its MAXMEM).
. /t/lib.sh
vmd_start
start stat "" || exit 1
c=$T/con.stat
check "status: Linux reaches its shell" wait_for "$c" '^LINUX-SHELL' 60
hdr=$(vmctl status | head -n 1)
want='   ID   PID VCPUS  MAXMEM  CURMEM     TTY        OWNER    STATE NAME'
if [ "$hdr" = "$want" ]; then ok "status: upstream's header"
else nok "status: upstream's header ('$hdr')"; fi
line=$(vmctl status | awk '$NF == "stat"')
echo "# $line"
set -- $line
[ "$3" = 1 ] && ok "status: 1 vcpu" || nok "status: 1 vcpu ($3)"
[ "$4" = 256M ] && ok "status: MAXMEM 256M" || nok "status: MAXMEM 256M ($4)"
# CURMEM: more than the kernel and initramfs, less than all of it
cur=$5
mib=$(echo "$cur" | awk '/M$/ { sub(/M$/, ""); print int($1); next }
    /K$/ { print 0; next } { print -1 }')
if [ "$mib" -ge 8 ] && [ "$mib" -lt 256 ]; then
	ok "status: CURMEM is what the guest touched ($cur)"
else
	nok "status: CURMEM is what the guest touched ($cur)"
fi
case $6 in
pts/[0-9]*) ok "status: TTY $6" ;;
*) nok "status: TTY ($6)" ;;
esac
[ "$7" = root ] && ok "status: OWNER root" || nok "status: OWNER root ($7)"
[ "$8" = running ] && ok "status: running" || nok "status: running ($8)"
pid=$2
check "status: PID is the VM process" test -d "/proc/$pid"
# the guest touches more memory: CURMEM grows
con_send stat "dd if=/dev/zero of=/tmp/fill bs=1M count=64 2>/dev/null; echo FILLED
"
wait_for "$c" '^FILLED' 30
cur2=$(vm_field stat 5)
mib2=$(echo "$cur2" | awk '/M$/ { sub(/M$/, ""); print int($1); next }
    { print -1 }')
if [ "$mib2" -ge $((mib + 32)) ]; then
	ok "status: CURMEM grows as the guest fills memory ($cur -> $cur2)"
else
	nok "status: CURMEM grows as the guest fills memory ($cur -> $cur2)"
fi
vmctl stop -f stat >/dev/null 2>&1
check "status: stop -f ends the guest" wait_gone stat 10
