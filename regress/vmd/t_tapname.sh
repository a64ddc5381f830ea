# Taps named in vm.conf, inside a network namespace of the test's own:
# vmd makes the named tap, and makes it again when the VM reboots; a
# tap of that name that exists already is another program's, and vmd
# neither adopts it nor takes a queue of it (multiqueue), nor removes it.
. "$top/regress/lib.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip "taps named in vm.conf" "needs root (taps, ip netns)"
	exit 0
fi
if ! netns_new; then
	nok "a network namespace for the test (ip netns add)"
	exit 1
fi
cat >"$T/vm.conf" <<EOF
vm "named" {
	disable
	memory 32M
	boot "$GUEST_ELF"
	cmdline "console=ttyS0 run=tick:3,reboot"
	interface tap90
}
vm "foreign" {
	disable
	memory 32M
	boot "$GUEST_ELF"
	interface tap91
}
EOF
vmd_start -f "$T/vm.conf"
sysnet() { nsx cat "/sys/class/net/$1/$2" 2>/dev/null; }
has() { nsx test -d "/sys/class/net/$1"; }
hasnot() { ! nsx test -e "/sys/class/net/$1"; }

# a tap named in vm.conf: made by vmd, and again after a reboot
like "named: vmctl start" "^vmctl: started vm [0-9]+ successfully" \
    "$(vmctl start named 2>&1)"
check "named: its tap is tap90" until_ok 5 has tap90
like "named: with its alias" "^vm[0-9]+-if0-named$" "$(sysnet tap90 ifalias)"
check "named: it reboots" \
    wait_for "$T/vmd.log" 'named: vm [0-9]* is rebooting' 30
check "named: and runs again" wait_state named running 10
check "named: on tap90 again" until_ok 5 has tap90
vmctl stop -f named >/dev/null 2>&1
check "named: stopped" wait_state named stopped 10
check "named: its tap is gone" until_ok 10 hasnot tap90

# one that exists is another program's
if nsx ip tuntap add tap91 mode tap multi_queue; then
	fi0=$(sysnet tap91 ifindex)
	run_is "foreign: a tap that exists is refused" 1 \
	    "vmctl: could not open a tap interface (see vmd's log)" \
	    vmctl start foreign
	check "foreign: the log says whose it is" grep -q \
	    'vm "foreign": interface 0: tap91 exists and is not one of vmd.s taps' \
	    "$T/vmd.log"
	is "foreign: the tap is still there" "$fi0" "$(sysnet tap91 ifindex)"
	is "foreign: vmd gave it no alias" "" "$(sysnet tap91 ifalias)"
	is "foreign: no VM process holds a queue of it (down, no carrier)" \
	    "0x1002" "$(sysnet tap91 flags)"
	nsx ip tuntap del tap91 mode tap multi_queue
	like "foreign: once it is gone, the VM starts" \
	    "^vmctl: started vm [0-9]+ successfully" \
	    "$(vmctl start foreign 2>&1)"
	check "foreign: on its own tap91" until_ok 5 has tap91
	vmctl stop -f foreign >/dev/null 2>&1
else
	nok "foreign: ip tuntap add tap91"
fi
check "vmd still runs" vmd_alive
exit $FAILED
