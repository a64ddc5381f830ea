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

# Switches of vm.conf(5).  vmd, as it starts, creates the bridge br0 of
# switch "uplink" (up, alias "switchID-uplink") and br1 of switch
# "ten", in the VRF rdomain10 (rdomain 10).  The taps of VMs a and b,
# and of one started with "vmctl start -n uplink", are ports of br0.
# The guests, given 10.0.0.1/24 and 10.0.0.2/24 on their consoles, ping
# each other.  b's interface is "locked lladdr": its MAC address is the
# configured one, and once b changes it, its frames no longer reach a
# (while a, not locked, may change its own); back to its own, they do.
# A tap taken off the bridge is back after "vmctl reset switches".  When
# the VMs stop, their taps are gone and br0 has no ports.
. /t/lib.sh
mac=02:00:00:00:00:0b
cat >"$T/vm.conf" <<EOT
switch "uplink" {
	interface br0
}
switch "ten" {
	interface br1
	rdomain 10
}
vm "a" {
	disable
	memory 256M
	boot "$K"
	initrd "$I"
	cmdline "console=ttyS0 loglevel=4 panic=-1"
	interface { switch "uplink" }
}
vm "b" {
	disable
	memory 256M
	boot "$K"
	initrd "$I"
	cmdline "console=ttyS0 loglevel=4 panic=-1"
	interface {
		switch "uplink"
		locked lladdr $mac
	}
}
EOT
vmd_start -f "$T/vm.conf"

# port_of BRIDGE IF: IF is a port of BRIDGE, seen from both sides
port_of() {
	[ -e "/sys/class/net/$1/brif/$2" ] &&
	    [ "$(basename "$(readlink "/sys/class/net/$2/master")")" = "$1" ]
}
ports() { ls "/sys/class/net/$1/brif" 2>/dev/null | tr '\n' ' '; }
# master IF: the interface IF is enslaved to
master() { basename "$(readlink "/sys/class/net/$1/master")"; }

# the switches, before any VM
if until_ok 5 [ -d /sys/class/net/br0/bridge ]; then
	ok "netsw: vmd created the bridge br0"
else
	nok "netsw: vmd created the bridge br0 ($(aliases))"
fi
v=$(cat /sys/class/net/br0/ifalias 2>/dev/null)
case $v in
switch[0-9]*-uplink)	ok "netsw: br0's alias is switchID-uplink ($v)" ;;
*)			nok "netsw: br0's alias is switchID-uplink ($v)" ;;
esac
check "netsw: br0 is up" is_up br0
# (a VRF is no bridge and has IFF_MASTER, 0x400, and nothing else does
# here; sysfs names no kind)
isvrf() {
	_f=$(cat "/sys/class/net/$1/flags" 2>/dev/null) || return 1
	[ ! -d "/sys/class/net/$1/bridge" ] && [ $((_f & 1024)) -ne 0 ]
}
# (vmd sets its switches up after it listens: br0 first, then br1 and
# its VRF)
inten() {
	[ -d /sys/class/net/br1/bridge ] && [ "$(master br1)" = rdomain10 ] &&
	    isvrf rdomain10
}
if until_ok 5 inten; then
	ok "netsw: rdomain 10: br1 is in the VRF rdomain10"
else
	nok "netsw: rdomain 10: br1 is in the VRF rdomain10 (master" \
	    "$(master br1); $(aliases))"
fi

for n in a b; do
	out=$(vmctl start "$n" 2>&1)
	case $out in
	"vmctl: started vm "*)	ok "netsw: vmctl start $n ($out)" ;;
	*)			nok "netsw: vmctl start $n ($out)"; exit 1 ;;
	esac
	con_open "$n"
done
ida=$(vm_field a 1) idb=$(vm_field b 1)
until_ok 5 tap_of "vm$idb-if0-b" >/dev/null
ta=$(tap_of "vm$ida-if0-a") tb=$(tap_of "vm$idb-if0-b")
for x in "a $ta $ida" "b $tb $idb"; do
	set -- $x
	if [ -n "${2:-}" ] && until_ok 5 port_of br0 "$2"; then
		ok "netsw: $1's tap ($2, vm$3-if0-$1) is a port of br0"
	else
		nok "netsw: $1's tap (${2:-none}, vm$3-if0-$1) is a port of br0" \
		    "(br0: $(ports br0); $(aliases))"
	fi
done

# vmctl start -n: a third VM on the switch, stopped at once
start c "" -n uplink || exit 1
idc=$(vm_field c 1)
until_ok 5 tap_of "vm$idc-if0-c" >/dev/null
tc=$(tap_of "vm$idc-if0-c")
if [ -n "$tc" ] && until_ok 5 port_of br0 "$tc"; then
	ok "netsw: -n uplink: the tap ($tc) is a port of br0"
else
	nok "netsw: -n uplink: the tap (${tc:-none}) is a port of br0" \
	    "(br0: $(ports br0))"
fi
vmctl stop -f c >/dev/null 2>&1
check "netsw: -n uplink: the VM stops" wait_gone c 10
check "netsw: -n uplink: its tap is gone" if_gone "${tc:-none}" 5

check "netsw: a reaches its shell" wait_for "$T/con.a" '^LINUX-SHELL' 90
check "netsw: b reaches its shell" wait_for "$T/con.b" '^LINUX-SHELL' 90
sleep 1
con_send a "$GUEST_R"
con_send b "$GUEST_R"
con_send a "ip addr add 10.0.0.1/24 dev eth0; ip link set eth0 up; r up=ok
"
con_send b "ip addr add 10.0.0.2/24 dev eth0; ip link set eth0 up; r mac=\$(cat /sys/class/net/eth0/address)
"
wait_for "$T/con.a" '^R-up=' 10
wait_for "$T/con.b" '^R-mac=' 10
v=$(result b mac)
if [ "$v" = $mac ]; then ok "netsw: b's MAC address is its lladdr $mac"
else nok "netsw: b's MAC address is its lladdr $mac ($v)"; fi

# gping NAME KEY TO: NAME pings TO, the result in R-KEY (ok or fail)
gping() {
	con_send "$1" "ping -c 3 -w 10 $3 >/dev/null && r $2=ok || r $2=fail
"
	wait_for "$T/con.$1" "^R-$2=" 20
	[ "$(result "$1" "$2")" = ok ]
}
# gmac NAME MAC: NAME's eth0 gets the address MAC, its neighbours forgotten
gmac() {
	con_send "$1" "ip link set eth0 down; ip link set eth0 address $2; ip link set eth0 up; ip neigh flush dev eth0
"
}
check "netsw: a pings b through br0" gping a ab1 10.0.0.2
check "netsw: b pings a through br0" gping b ba1 10.0.0.1
gmac b 02:00:00:00:00:99
gping b ba2 10.0.0.1
v=$(result b ba2)
if [ "$v" = fail ]; then
	ok "netsw: locked lladdr: b's frames from another MAC are dropped"
else
	nok "netsw: locked lladdr: b's frames from another MAC are dropped" \
	    "(b pinging a from 02:00:00:00:00:99: R-ba2=$v)"
fi
gmac b $mac
check "netsw: locked lladdr: from its own MAC again, b pings a" \
    gping b ba3 10.0.0.1
gmac a 02:00:00:00:00:aa
check "netsw: a, not locked, pings b from another MAC" gping a ab2 10.0.0.2

# a's tap off the bridge, and back with vmctl reset switches
brctl delif br0 "${ta:-none}" >/dev/null 2>&1
out=$(vmctl reset switches 2>&1)
rc=$?
if [ $rc -eq 0 ]; then ok "netsw: vmctl reset switches${out:+ ($out)}"
else nok "netsw: vmctl reset switches (exit $rc: $out)"; fi
if [ -n "$ta" ] && until_ok 5 port_of br0 "$ta"; then
	ok "netsw: the reset put a's tap back on br0"
else
	nok "netsw: the reset put a's tap back on br0 (br0: $(ports br0))"
fi
check "netsw: a pings b again" gping a ab3 10.0.0.2

for n in a b; do
	vmctl stop -f "$n" >/dev/null 2>&1
	# a VM of vm.conf stays listed once stopped
	check "netsw: $n stops" wait_state "$n" stopped 10
done
gone2() { if_gone "$1" 5 && if_gone "$2" 5; }
check "netsw: their taps are gone" gone2 "${ta:-none}" "${tb:-none}"
v=$(ports br0)
if [ -z "$v" ]; then ok "netsw: br0 has no ports left"
else nok "netsw: br0 has no ports left ($v)"; fi
check "netsw: vmd still answers" vmctl status
