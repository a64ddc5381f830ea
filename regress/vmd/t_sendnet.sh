# send and receive of a guest on a local interface, inside a network
# namespace of the test's own: pinged by the host while it is sent (so
# frames arrive while its receive buffers are held), it goes on counting
# after the receive, gets the new VM's lease and pings it, and every
# frame checks; the held buffers came back to the driver, none lost.
. "$top/regress/lib.sh"
. "$top/regress/vmd/count.sh"
if [ "$(id -u)" -ne 0 ]; then
	skip "send and receive on a network" "needs root (taps, ip netns)"
	exit 0
fi
if ! netns_new; then
	nok "a network namespace for the test (ip netns add)"
	exit 1
fi
vmd_start
PING=ping
command -v ping >/dev/null 2>&1 || PING="busybox ping"

cmds=virtio,netinfo:0,dhcp:0,ping:0:100.64.1.2:3,count:40
cmds=$cmds,dhcp:0,ping:0:100.64.2.2:5:1400,ping:0:100.64.2.2:20,netinfo:0
cmds=$cmds,netserve:0:4,hello
vmctl start -m 32M -L -b "$GUEST_ELF" -k "console=ttyS0 run=$cmds" n1 \
    >/dev/null 2>&1
con_open n1
check "the guest gets its lease" wait_for "$T/con.n1" '^DHCP 0 ACK' 20
check "and pings the host" wait_for "$T/con.n1" \
    '^PING 0 100.64.1.2 sent=3 received=3' 20
i=0
while [ "$(count_last "$T/con.n1" 2>/dev/null || echo 0)" -lt 10 ] &&
    [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
# frames for it while it is sent
nsx $PING -i 0.2 -c 60 -W 1 100.64.1.3 >/dev/null 2>&1 &
pp=$!
_holders="$_holders $pp"
sleep 1
vmctl send n1 >"$T/n1.vm" 2>"$T/send.err"
is "sent while pinged" "" "$(cat "$T/send.err")"
wait_gone n1 5
out=$(vmctl receive n2 <"$T/n1.vm" 2>&1)
like "received" 'started vm 2 successfully' "$out"
con_open n2
check "the received guest runs its commands" \
    wait_for "$T/con.n2" '^NETINFO 0 ' 60
# while it serves ARP and echo for 4 s
out=$(nsx $PING -c 3 -W 2 100.64.2.3 2>&1)
check "the host pings the received guest" test $? -eq 0
check "it ends its commands" wait_for "$T/con.n2" '^HELLO' 20
count_join "$T/con.n1" "$T/con.n2" >"$T/both"
is "the count went on" ok "$(count_check "$T/both")"
like "the new VM's lease" '^DHCP 0 ACK addr=100\.64\.2\.3 ' \
    "$(grep -a '^DHCP 0 ACK' "$T/con.n2" | tail -n 1 | tr -d '\r')"
is "pings with frames over merged buffers" \
    "PING 0 100.64.2.2 sent=5 received=5" \
    "$(grep -a '^PING 0 100.64.2.2 sent=5' "$T/con.n2" | tr -d '\r')"
is "and twenty more: no receive buffer was lost" \
    "PING 0 100.64.2.2 sent=20 received=20" \
    "$(grep -a '^PING 0 100.64.2.2 sent=20' "$T/con.n2" | tr -d '\r')"
like "the interface as before" '^NETINFO 0 mac=fe:e1:bb:d1:' \
    "$(line n2 NETINFO)"
is "the same MAC address and link" "$(line n1 NETINFO)" "$(line n2 NETINFO)"
check "no FAIL on its console" test "$(count_in "$T/con.n2" 'FAIL')" -eq 0
vmctl stop -f n2 >/dev/null 2>&1
check "vmd still runs" vmd_alive
exit $FAILED
