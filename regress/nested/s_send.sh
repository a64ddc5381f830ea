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

# send and receive of a Linux guest with 2 vCPUs, a qcow2 disk holding an
# ext2 file system and a local interface, while a loop prints a counter
# and appends it to a file on that disk: to a file and back under a new
# name, then through a pipe to a second vmd.  Each time the counter goes
# on where it was, both CPUs still take interrupts, the guest's clock
# agrees with L1's, and (after a lease renewal: the new VM has new
# addresses) the guest and L1 ping each other.  At the end the file has
# every count once and e2fsck finds the file system clean.
. /t/lib.sh
is() {
	if [ "$2" = "$3" ]; then ok "$1"
	else nok "$1 (wanted '$2', got '$3')"; fi
}
vmd_start
net_initrd
L2INITRD=$IN
qemu-img create -f qcow2 "$T/sd.qcow2" 64M >/dev/null 2>&1 ||
    nok "send: qemu-img create"

start sa "" -C 2 -L -d "$T/sd.qcow2" || exit 1
check "send: Linux reaches its shell" wait_for "$T/con.sa" '^LINUX-SHELL' 90
sleep 1
con_send sa "$GUEST_R"
con_send sa "mkdir -p /mnt; mke2fs -q /dev/vda 2>/dev/null && mount -t ext2 /dev/vda /mnt && r fs=ok || r fs=bad
"
wait_for "$T/con.sa" '^R-fs=' 60
is_r() { [ "$(result "$1" "$2")" = "$3" ]; }
check "send: the guest made and mounted its file system" is_r sa fs ok
con_send sa "dhcp udhcpc eth0
"
wait_for "$T/con.sa" '^LINUX-DHCP udhcpc' 40
con_send sa "(i=0; while :; do i=\$((i + 1)); echo \$i >>/mnt/log; echo CNT-\$i; sleep 0.5; done) &
"
check "send: the guest counts" wait_for "$T/con.sa" 'CNT-10([^0-9]|$)' 30

# the last count a console shows, 0 if none
lastcnt() {
	tr -d '\r' <"$1" | sed -n 's/.*CNT-\([0-9][0-9]*\)$/\1/p' | tail -n 1 |
	    grep . || echo 0
}
# the consoles FILES... as one stream, as the guest wrote it: a line it
# was writing when it was sent begins in one and ends in the next
# (vmctl console ends each with "[EOT]", begins it with "Connected to")
joined() {
	for _f in "$@"; do
		if [ "$(tail -c 9 "$_f" | od -An -c | tr -d ' \n')" = \
		    '\r\n[EOT]\r\n' ]; then
			head -c $(( $(wc -c <"$_f") - 9 )) "$_f"
		else
			cat "$_f"
		fi | sed '1{/^Connected to /d;}'
	done
}
# counts in FILES... go up by one from line to line
consecutive() {
	joined "$@" | tr -d '\r' | sed -n 's/.*CNT-\([0-9][0-9]*\)$/\1/p' |
	    awk 'NR > 1 && $1 != p + 1 { bad = 1 } { p = $1 } END { exit bad }'
}
# the guest's view of its CPUs, clock and network, after a move
checks() {
	_n=$1 _c=$T/con.$1 _v=$2
	con_send "$_n" "r nproc=\$(nproc)
"
	wait_for "$_c" '^R-nproc=' 15
	is "$_v: nproc says 2" 2 "$(result "$_n" nproc)"
	con_send "$_n" "r loc1=\$(grep LOC: /proc/interrupts | awk '{ print \$2 \"-\" \$3 }'); sleep 1; r loc2=\$(grep LOC: /proc/interrupts | awk '{ print \$2 \"-\" \$3 }')
"
	wait_for "$_c" '^R-loc2=' 15
	l1=$(result "$_n" loc1) l2=$(result "$_n" loc2)
	if [ "${l2%-*}" -gt "${l1%-*}" ] 2>/dev/null &&
	    [ "${l2#*-}" -gt "${l1#*-}" ] 2>/dev/null; then
		ok "$_v: both CPUs take timer interrupts ($l1 -> $l2)"
	else
		nok "$_v: both CPUs take timer interrupts ($l1 -> $l2)"
	fi
	con_send "$_n" "r date=\$(date +%s)
"
	wait_for "$_c" '^R-date=' 15
	d=$(( $(date +%s) - $(result "$_n" date) ))
	if [ "$d" -ge -1 ] && [ "$d" -le 1 ]; then
		ok "$_v: the guest's clock agrees with L1's (${d} s)"
	else
		nok "$_v: the guest's clock agrees with L1's (${d} s)"
	fi
}

n0=$(lastcnt "$T/con.sa")
vmctl send sa >"$T/sa.vm" 2>"$T/send.err"
is "send: to a file" "0:" "$?:$(cat "$T/send.err")"
check "send: the VM is gone" wait_gone sa 10
echo "# stream: $(wc -c <"$T/sa.vm") bytes, last count $(lastcnt "$T/con.sa")"
out=$(vmctl receive sb <"$T/sa.vm" 2>&1)
case $out in
*"started vm "*" successfully"*) ok "send: received as sb" ;;
*) nok "send: received as sb ($out)" ;;
esac
con_open sb
nb=$(lastcnt "$T/con.sa")
check "send: the counter goes on" \
    wait_for "$T/con.sb" "CNT-$((nb + 5))([^0-9]|$)" 30
check "send: no count lost or repeated" consecutive "$T/con.sa" "$T/con.sb"
sleep 1
checks sb "send"
id=$(vm_field sb 1)
con_send sb "dhcp udhcpc eth0
"
wait_for "$T/con.sb" '^LINUX-DHCP udhcpc (bound|leasefail)' 40
check "send: L1 pings the guest at its new address" \
    ping -c 3 -w 10 "100.64.$id.3"
con_send sb "ping -c 3 -w 10 100.64.$id.2 >/dev/null && r gping=ok || r gping=fail
"
wait_for "$T/con.sb" '^R-gping=' 20
is "send: the guest pings L1" ok "$(result sb gping)"

# through a pipe to a second vmd
SOCK2=$T/vmd2.sock
/usr/sbin/vmd -d $VERBOSE -s "$SOCK2" >"$T/vmd2.log" 2>&1 &
_holders="$_holders $!"
until_ok 10 test -S "$SOCK2"
"$VMCTL" -s "$SOCK" send sb 2>"$T/send2.err" |
    "$VMCTL" -s "$SOCK2" receive sc >"$T/recv2.out" 2>&1
case $(cat "$T/recv2.out") in
*"started vm "*" successfully"*) ok "pipe: received by the second vmd" ;;
*) nok "pipe: received by the second vmd ($(cat "$T/recv2.out"))" ;;
esac
check "pipe: gone from the first" wait_gone sb 10
mkfifo "$T/in.sc"
"$VMCTL" -s "$SOCK2" console sc <"$T/in.sc" >"$T/con.sc" 2>&1 &
_holders="$_holders $!"
sleep 100000 >"$T/in.sc" &
_holders="$_holders $!"
nc=$(lastcnt "$T/con.sb")
check "pipe: the counter goes on" \
    wait_for "$T/con.sc" "CNT-$((nc + 5))([^0-9]|$)" 30
check "pipe: no count lost or repeated" consecutive "$T/con.sa" \
    "$T/con.sb" "$T/con.sc"
SOCK_SAVE=$SOCK SOCK=$SOCK2
checks sc "pipe"
SOCK=$SOCK_SAVE

# the loop stops; the file has every count once; the file system is clean
con_send sc "kill %1; sleep 1; r log=\$(awk 'NR != \$1 { bad = 1 } END { print (bad ? \"bad\" : \"ok\") NR }' /mnt/log); umount /mnt && r um=ok
"
wait_for "$T/con.sc" '^R-um=' 30
v=$(result sc log)
last=$(lastcnt "$T/con.sc")
case $v in
ok*) if [ "${v#ok}" -ge "$last" ]; then
	ok "disk: the file holds every count once (${v#ok} of $last)"
     else nok "disk: the file holds every count once ($v, last $last)"; fi ;;
*) nok "disk: the file holds every count once ($v)" ;;
esac
is "disk: the guest unmounted it" ok "$(result sc um)"
"$VMCTL" -s "$SOCK2" stop -f sc >/dev/null 2>&1
i=0
while "$VMCTL" -s "$SOCK2" status 2>/dev/null | grep -q ' sc$' &&
    [ $i -lt 50 ]; do sleep 0.2; i=$((i + 1)); done
qemu-img convert -f qcow2 -O raw "$T/sd.qcow2" "$T/sd.raw" &&
    out=$(e2fsck -fn "$T/sd.raw" 2>&1)
if [ $? -eq 0 ]; then ok "disk: e2fsck finds the file system clean"
else nok "disk: e2fsck finds the file system clean"; echo "$out" |
    sed 's/^/# /' | tail -n 10; fi
out=$(qemu-img check "$T/sd.qcow2" 2>&1)
if [ $? -eq 0 ]; then ok "disk: qemu-img check finds the image clean"
else nok "disk: qemu-img check"; echo "$out" | sed 's/^/# /'; fi
