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

# Two vCPUs (vmctl start -C 2): Linux brings up the AP through the
# in-kernel LAPIC, both CPUs take interrupts and run work, status says 2,
# and after "reboot -f" the guest comes back with both.
. /t/lib.sh
vmd_start
start smp "" -C 2 || exit 1
c=$T/con.smp
check "smp: Linux reaches its shell" wait_for "$c" '^LINUX-SHELL' 90
sleep 1
v=$(vm_field smp 3)
[ "$v" = 2 ] && ok "smp: status shows 2 VCPUS" ||
    nok "smp: status shows 2 VCPUS ($v)"
con_send smp "echo R-NPROC-\$(nproc)
"
check "smp: nproc says 2" wait_for "$c" '^R-NPROC-2' 15
con_send smp "echo R-ONLINE-\$(cat /sys/devices/system/cpu/online)
"
check "smp: cpus 0-1 online" wait_for "$c" '^R-ONLINE-0-1' 15
# the local timer interrupts of each CPU, twice, a second apart
con_send smp "grep LOC: /proc/interrupts | sed 's/^/R-LOC1 /'; sleep 1; grep LOC: /proc/interrupts | sed 's/^/R-LOC2 /'
"
wait_for "$c" '^R-LOC2 ' 15
l1=$(grep -a '^R-LOC1 ' "$c" | tr -d '\r' | head -n 1)
l2=$(grep -a '^R-LOC2 ' "$c" | tr -d '\r' | head -n 1)
echo "# $l1"
echo "# $l2"
set -- $l1
a0=$3 a1=$4
set -- $l2
b0=$3 b1=$4
if [ -n "$b1" ] && [ "$b0" -gt "$a0" ] 2>/dev/null &&
    [ "$b1" -gt "$a1" ] 2>/dev/null; then
	ok "smp: both CPUs take timer interrupts ($a0->$b0, $a1->$b1)"
else
	nok "smp: both CPUs take timer interrupts ($l1 / $l2)"
fi
# work pinned to CPU 1 runs there
con_send smp "taskset -c 1 sh -c 'i=0; while [ \$i -lt 2000 ]; do i=\$((i+1)); done; echo R-PIN-\$i-\$(cut -d\" \" -f39 /proc/self/stat)'
"
check "smp: a task pinned to CPU 1 runs on it" wait_for "$c" '^R-PIN-2000-1' 60
con_send smp "reboot -f
"
i=0
while [ "$(count_in "$c" '^LINUX-SHELL')" -lt 2 ] && [ $i -lt 900 ]; do
	sleep 0.1; i=$((i + 1))
done
check "smp: the guest comes back after reboot" \
    test "$(count_in "$c" '^LINUX-SHELL')" -ge 2
sleep 1
con_send smp "echo R-AGAIN-\$(nproc)
"
check "smp: both CPUs after the reboot" wait_for "$c" '^R-AGAIN-2' 15
vmctl stop -f smp >/dev/null 2>&1
check "smp: stop -f ends the guest" wait_gone smp 10
