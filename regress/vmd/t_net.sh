# Network interfaces with the test guest's virtio-net driver, all inside
# a network namespace of the test's own: taps (names, aliases, MACs,
# addresses, gone after stop), a local interface's DHCP/BOOTP answers as
# the guest's client sees them and never on the tap, ping both ways with
# frames that span merged receive buffers, switches as bridges (members,
# reset switches, locked lladdr), the limits and bad input.
. "$top/regress/lib.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip "network interfaces" "needs root (taps, ip netns)"
	exit 0
fi
if ! netns_new; then
	nok "a network namespace for the test (ip netns add)"
	exit 1
fi
cat >"$T/vm.conf" <<EOF
local inet6 prefix fd00:1::/64
switch "uplink" {
	interface brt0
	group vmgrp
}
switch "locked" {
	interface brt1
	locked lladdr
}
switch "dead" {
	interface brt2
	down
}
EOF
vmd_start -f "$T/vm.conf"
PING=ping
command -v ping >/dev/null 2>&1 || PING="busybox ping"

sysnet() { nsx cat "/sys/class/net/$1/$2" 2>/dev/null; }
rxpkts() { sysnet "$1" statistics/rx_packets; }
vmid() { vm_field "$1" 1; }

# --- the switches exist once vmd runs
check "switch: its bridge was made" test "$(sysnet brt0 bridge/stp_state)" != ""
is "switch: the bridge's alias" "switch1-uplink" "$(sysnet brt0 ifalias)"
check "switch: the group is an altname of the bridge" \
    nsx ip link show vmgrp
is "switch: a switch that is down" "0x1002" "$(sysnet brt2 flags)"

# --- a local interface: DHCP as the guest's client sees it, ping both ways
cmds=virtio,netinfo:0,dhcp:0,ping:0:100.64.1.2:3,ping:0:100.64.1.2:2:1400
cmds=$cmds,bootp:0,dhcpreq:0:100.64.1.3,dhcpreq:0:100.64.1.9,netserve:0:6,hello
if run_guest lo '^DHCP 0 NAK|FAIL' 40 -L -k "console=ttyS0 run=$cmds"; then
	ok "local: the guest ran its network commands"
else
	nok "local: the guest ran its network commands"
fi
id=$(vmid lo)
is "local: the VM's id" "1" "$id"
is "local: tap0's alias" "vm1-if0-lo" "$(sysnet tap0 ifalias)"
like "local: the host side's address" "inet 100\.64\.1\.2/31 " \
    "$(nsx ip -4 addr show dev tap0)"
like "local: and its local inet6 one (the guest's IPv4 address, ::1)" \
    "inet6 fd00:1::6440:103:0:1/96 " "$(nsx ip -6 addr show dev tap0)"
like "local: the guest's MAC, as upstream's" \
    '^NETINFO 0 mac=fe:e1:bb:d1:[0-9a-f]{2}:[0-9a-f]{2} status=up ' \
    "$(line lo NETINFO)"
gmac=$(line lo NETINFO | sed 's/.*mac=\([^ ]*\).*/\1/')
hmac=$(sysnet tap0 address)
is "local: the tap's MAC is the guest's + 1" \
    "$(printf '%s' "$gmac" | awk -F: '{ printf "%s:%s:%s:%s:%s:%02x", $1, $2, $3, $4, $5, (("0x" $6) + 1) % 256 }')" \
    "$hmac"
is "local: the DHCP lease" "DHCP 0 ACK addr=100.64.1.3 mask=255.255.255.254 router=100.64.1.2 dns=100.64.1.2 server=100.64.1.2 lease=4294967295" \
    "$(line lo 'DHCP 0 ACK')"
is "local: ping to the host" "PING 0 100.64.1.2 sent=3 received=3" \
    "$(line lo 'PING 0 100.64.1.2 sent=3')"
is "local: ping of 1400 bytes (merged buffers)" \
    "PING 0 100.64.1.2 sent=2 received=2" \
    "$(line lo 'PING 0 100.64.1.2 sent=2')"
like "local: BOOTP" "^BOOTP 0 REPLY addr=100\.64\.1\.3 server=100\.64\.1\.2 mask=255\.255\.255\.254 router=100\.64\.1\.2$" \
    "$(line lo BOOTP)"
is "local: a REQUEST of its own address" "DHCP 0 ACK addr=100.64.1.3 mask=255.255.255.254 router=100.64.1.2 dns=100.64.1.2 server=100.64.1.2 lease=4294967295" \
    "$(grep -a '^DHCP 0 ACK' "$T/con.lo" | tr -d '\r' | sed -n 2p)"
is "local: a REQUEST of another address is NAKed" "DHCP 0 NAK" \
    "$(line lo 'DHCP 0 NAK')"
# the guest answers for 6 s once it has printed the NAK
check "local: the host pings the guest" nsx $PING -c 2 -W 2 100.64.1.3
wait_for "$T/con.lo" '^NETSERVE 0 arp=' 10
like "local: the guest answered the host's pings" '^NETSERVE 0 arp=[0-9]+ echo=[1-9][0-9]*$' \
    "$(line lo NETSERVE)"
vmctl stop -f lo >/dev/null 2>&1
check "local: stopped" wait_gone lo 10
is "local: the tap is gone after stop" "" \
    "$(nsx ip -o link show tap0 2>/dev/null)"

# the DHCP exchange is answered inside vmd: nothing reaches the tap
if run_guest quiet '^HELLO|FAIL' 30 -L -k "console=ttyS0 run=dhcp:0,hello"; then
	ok "quiet: the guest got its lease"
else
	nok "quiet: the guest got its lease"
fi
is "quiet: VM 2's lease" "DHCP 0 ACK addr=100.64.2.3 mask=255.255.255.254 router=100.64.2.2 dns=100.64.2.2 server=100.64.2.2 lease=4294967295" \
    "$(line quiet 'DHCP 0 ACK')"
tap=$(nsx ip -o link show | awk -F': ' '/alias vm2-if0-quiet/ { print $2 }' | cut -d@ -f1)
[ -n "$tap" ] || tap=$(for t in $(nsx ls /sys/class/net); do
	[ "$(sysnet "$t" ifalias)" = "vm2-if0-quiet" ] && echo "$t"; done)
is "quiet: no frame of the DHCP exchange reached the tap" "0" "$(rxpkts "$tap")"
vmctl stop -f quiet >/dev/null 2>&1
wait_gone quiet 10

# --- plain taps, a switch, a locked switch.  96 receive buffers of
# 1024 bytes make room for the largest frame, so vmd reads frames from
# the tap straight into them (above, 32 buffers did not: through its
# own buffer)
nsx ip addr add 10.77.0.1/24 dev brt0
nsx ip link set brt1 up
# frames to a MAC address no one has (0xa5 payloads), flooded by both
# bridges to their ports while the guest's netsniff runs: an open
# interface's buffers get them, a locked one's must never, not even
# for a moment (vmd reads those into its own buffer to look first)
nsx ip addr add 10.78.0.1/24 dev brt1
(
	wait_for "$T/con.four" '^NETSNIFF 0 READY' 60 || exit 0
	# (once the taps are on the bridges: that flushes the neighbours)
	for b in 7:0 8:1; do
		nsx ip neigh replace "10.7${b%:*}.0.99" \
		    lladdr 02:00:00:00:00:99 dev "brt${b#*:}" nud permanent
	done
	nsx $PING -c 12 -i 0.25 -w 4 -s 900 -p a5 10.77.0.99 >/dev/null 2>&1 &
	nsx $PING -c 12 -i 0.25 -w 4 -s 900 -p a5 10.78.0.99 >/dev/null 2>&1
	wait
) &
sniffer=$!
cmds=netrx:96:1024,netinfo:0,netinfo:1,netinfo:2,netinfo:3,ifaddr:0:10.77.0.2:10.77.0.1
cmds=$cmds,ping:0:10.77.0.1:3:1400,netsend:1:20:own,netsend:1:20:spoof
cmds=$cmds,netsend:2:20:spoof,tick:2,netreset:3,ping:0:10.77.0.1:2:1400
cmds=$cmds,netreset:0,ping:0:10.77.0.1:2:1400,netsniff:0:4,netsniff:1:0,hello
if run_guest four '^HELLO|FAIL' 40 -n uplink -n locked -i 4 \
    -k "console=ttyS0 run=$cmds"; then
	ok "four: the guest ran its network commands"
else
	nok "four: the guest ran its network commands"
fi
for i in 0 1 2 3; do
	like "four: interface $i's MAC" \
	    "^NETINFO $i mac=fe:e1:bb:d$((i + 1)):" "$(line four "NETINFO $i")"
done
taps=
for t in $(nsx ls /sys/class/net); do
	case $(sysnet "$t" ifalias) in
	vm3-if*-four)	taps="$taps $(sysnet "$t" ifalias)=$t" ;;
	esac
done
n=$(echo $taps | wc -w)
is "four: four taps aliased vm3-if<n>-four" "4" "$n"
tapof() { for p in $taps; do [ "${p%%=*}" = "vm3-if$1-four" ] && echo "${p#*=}"; done; }
t0=$(tapof 0) t1=$(tapof 1) t2=$(tapof 2)
is "four: the first -n interface is on its bridge" "brt0" \
    "$(basename "$(nsx readlink /sys/class/net/$t0/master)")"
is "four: the second on the locked switch's" "brt1" \
    "$(basename "$(nsx readlink /sys/class/net/$t1/master)")"
check "four: a switch's group names its taps too" nsx ip link show "vmgrp-$t0"
is "four: ping over the switch with 1400 bytes" \
    "PING 0 10.77.0.1 sent=3 received=3" "$(line four 'PING 0')"
# a reset waits for the chains vmd holds: it must wake up to give them
# back, not wait for the next frame (if3 has none coming)
like "four: a reset of an idle interface is done at once" \
    '^NETRESET 3 ms=([0-9]|[1-9][0-9]|[1-4][0-9][0-9])$' "$(line four 'NETRESET 3')"
is "four: after a reset, the interface works again" \
    "PING 0 10.77.0.1 sent=2 received=2" \
    "$(grep -a '^PING 0' "$T/con.four" | tr -d '\r' | tail -n 1)"
wait $sniffer
is "four: frames for another MAC reach an open interface's buffers" \
    "NETSNIFF 0 seen=1" "$(line four 'NETSNIFF 0 seen')"
is "four: ... and never a locked interface's" \
    "NETSNIFF 1 seen=0" "$(line four 'NETSNIFF 1 seen')"
is "four: the guest sent 20 frames on if1" "NETSEND 1 20 own sent=20" \
    "$(line four 'NETSEND 1')"
is "four: on the locked switch, its own 20 frames arrive, not the 20 spoofed" \
    "20" "$(rxpkts "$t1")"
is "four: on a plain tap the 20 spoofed frames arrive" "20" "$(rxpkts "$t2")"

# reset switches: a bridge deleted behind vmd's back comes back with its port
nsx ip link del brt0
vmctl reset switches >/dev/null 2>&1
sleep 1
is "reset switches: the bridge is back with the VM's port" "$t0" \
    "$(nsx ls /sys/class/net/brt0/brif 2>/dev/null)"
vmctl stop -f four >/dev/null 2>&1
check "four: stopped" wait_gone four 10
left=$(for t in $(nsx ls /sys/class/net); do sysnet "$t" ifalias; done | grep -c 'vm3-if')
is "four: no tap of it is left" "0" "$left"
is "four: the bridge has no member left" "" "$(nsx ls /sys/class/net/brt1/brif)"

# --- NAT and DNS redirection with the nftables tables of vmctl(8), as
# printed there: the test's namespace routes between the VM's tap and
# "eth0", a veth to a second namespace ("outside", 10.99.0.1 and the DNS
# server 192.0.2.53) that has no route back to 100.64.0.0/10
out=${NETNS}o
NETNS_MORE=$out
if ! command -v nft >/dev/null 2>&1; then
	nok "NAT: nft(8) is installed (nftables)"
elif ip netns add "$out" &&
    nsx ip link add eth0 type veth peer name oeth0 &&
    nsx ip link set oeth0 netns "$out" &&
    nsx ip addr add 10.99.0.2/24 dev eth0 && nsx ip link set eth0 up &&
    ip -n "$out" addr add 10.99.0.1/24 dev oeth0 &&
    ip -n "$out" addr add 192.0.2.53/32 dev oeth0 &&
    ip -n "$out" link set oeth0 up && ip -n "$out" link set lo up &&
    nsx ip route add 192.0.2.53/32 via 10.99.0.1 &&
    nsx sh -c 'echo 1 >/proc/sys/net/ipv4/ip_forward' &&
    printf 'table ip seen {\n\tchain input {\n\t\ttype filter hook input priority 0;\n\t\tudp dport 53 counter\n\t}\n}\n' |
    ip netns exec "$out" nft -f -
then
	sed -n '/^table ip vmnat {/,/^}/p; /^table ip vmdns {/,/^}/p' \
	    "$top/vmctl.8" >"$T/nat.nft"
	is "NAT: the manual has both tables" "2" \
	    "$(grep -c '^table ip' "$T/nat.nft")"
	check "NAT: nft loads them" nsx nft -f "$T/nat.nft"
	cmds=dhcp:0,ping:0:10.99.0.1:3,netbig:0:3:20:53,hello
	if run_guest nat '^HELLO|FAIL' 40 -L -k "console=ttyS0 run=$cmds"; then
		ok "NAT: the guest ran its commands"
	else
		nok "NAT: the guest ran its commands"
	fi
	is "NAT: the guest pings outside, behind the host's address" \
	    "PING 0 10.99.0.1 sent=3 received=3" "$(line nat 'PING 0')"
	like "NAT: its DNS queries to the host reach 192.0.2.53" \
	    "packets 3 bytes" \
	    "$(ip netns exec "$out" nft list table ip seen | grep counter)"
	vmctl stop -f nat >/dev/null 2>&1
	wait_gone nat 10
else
	nok "NAT: the outside namespace and its veth"
fi

# --- limits and bad input
run_is "a fifth interface is refused" 1 "vmctl: too many network interfaces" \
    vmctl start -b "$GUEST_ELF" -i 5 five
run_is "a switch that does not exist" 1 \
    "vmctl: could not find specified switch" \
    vmctl start -b "$GUEST_ELF" -n nosuch nosw
check "vmd still runs" vmd_alive
exit $FAILED
