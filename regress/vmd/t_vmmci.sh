# vmmci: the control device as the test guest's legacy driver sees it;
# stop through it, the power button when nobody acks, the stop timeout
# when the guest acks and stays; a guest's own halt; SYNCRTC after a
# pause; the host's time; garbage written to every register
. "$top/regress/lib.sh"
VMD_STOP_TIMEOUT=8
export VMD_STOP_TIMEOUT
vmd_start

start() { vmctl start -m 16M -b "$GUEST_ELF" -k "console=ttyS0 run=$2" "$1" >/dev/null 2>&1; }

# num NAME PREFIX FIELD: the number after FIELD= in NAME's first PREFIX line
num() { line "$1" "$2" | sed -n "s/.* $3=\([0-9]*\).*/\1/p"; }

# within WHAT A B SLACK: A and B differ by at most SLACK
within() {
	if [ -n "$2" ] && [ -n "$3" ] && [ $(($2 - $3)) -le "$4" ] &&
	    [ $(($3 - $2)) -le "$4" ]; then
		ok "$1"
	else
		nok "$1 ($2 vs $3)"
	fi
}

# the device: last on the bus, upstream's ids, the driver binds
start m1 pci,vmmci
con_open m1
wait_for "$T/con.m1" '^VMMCI ' 10
is "vmmci is the last PCI device: 0b5d:0777, class 07/80" \
    "PCI 00:02.0 0b5d:0777 class=078000" "$(line m1 'PCI 00:02')"
is "after the host bridge and the entropy device" "PCI END 3" \
    "$(line m1 'PCI END')"
is "the legacy driver binds; TIMESYNC, ACK, SYNCRTC offered and taken" \
    "VMMCI OK features=0x7 acked=0x7" "$(line m1 'VMMCI ')"

# the host's time, latched by the first word
con_send m1 'vmmcitime
'
wait_for "$T/con.m1" '^VMMCITIME' 10
now=$(date +%s)
within "the host's seconds, read by the guest" \
    "$(num m1 VMMCITIME sec)" "$now" 2
usec=$(num m1 VMMCITIME usec)
if [ -n "$usec" ] && [ "$usec" -lt 1000000 ]; then
	ok "microseconds below a million ($usec)"
else
	nok "microseconds below a million ($usec)"
fi
within "the guest's RTC agrees" "$(num m1 VMMCITIME rtc)" "$now" 2

# stop through vmmci: SHUTDOWN, the guest acks and powers off
t0=$(date +%s)
out=$(vmctl stop -w m1 2>&1)
t1=$(date +%s)
is "stop -w through vmmci" "stopping vm m1: terminated vm 1" "$out"
check "the guest was sent SHUTDOWN" grep -q '^VMMCI CMD 1' "$T/con.m1"
check "it powered off" grep -q '^POWEROFF' "$T/con.m1"
is "no power button was pressed" 0 "$(count_in "$T/con.m1" '^POWERBUTTON')"
if [ $((t1 - t0)) -lt 3 ]; then
	ok "at once ($((t1 - t0)) s)"
else
	nok "at once ($((t1 - t0)) s)"
fi

# a guest without the driver: the power button at once, as before
start m2 hello
con_open m2
wait_for "$T/con.m2" '^HELLO' 10
t0=$(date +%s)
out=$(vmctl stop -w m2 2>&1)
t1=$(date +%s)
is "stop -w without a vmmci driver" "stopping vm m2: terminated vm 2" "$out"
check "the power button was pressed" grep -q '^POWERBUTTON' "$T/con.m2"
is "nothing came through vmmci" 0 "$(count_in "$T/con.m2" '^VMMCI')"
if [ $((t1 - t0)) -lt 3 ]; then
	ok "at once ($((t1 - t0)) s)"
else
	nok "at once ($((t1 - t0)) s)"
fi

# no ack: after the 3 s ack time, the power button
start m3 vmmci,vmmcimode:noack
con_open m3
wait_for "$T/con.m3" '^VMMCIMODE' 10
t0=$(date +%s)
out=$(vmctl stop -w m3 2>&1)
t1=$(date +%s)
is "stop -w of a guest that does not ack" "stopping vm m3: terminated vm 3" \
    "$out"
check "it was sent SHUTDOWN" grep -q '^VMMCI CMD 1' "$T/con.m3"
check "then its power button was pressed" grep -q '^POWERBUTTON' "$T/con.m3"
if [ $((t1 - t0)) -ge 2 ] && [ $((t1 - t0)) -le 6 ]; then
	ok "after the ack time, before the stop timeout ($((t1 - t0)) s)"
else
	nok "after the ack time, before the stop timeout ($((t1 - t0)) s)"
fi

# ack, then nothing: the stop timeout ends it
start m4 vmmci,vmmcimode:ackonly
con_open m4
wait_for "$T/con.m4" '^VMMCIMODE' 10
t0=$(date +%s)
out=$(vmctl stop -w m4 2>&1)
t1=$(date +%s)
like "a guest that acks and stays is terminated" 'terminated vm 4' "$out"
check "it was sent SHUTDOWN" grep -q '^VMMCI CMD 1' "$T/con.m4"
is "its ack kept the power button away" 0 \
    "$(count_in "$T/con.m4" '^POWERBUTTON')"
if [ $((t1 - t0)) -ge 7 ] && [ $((t1 - t0)) -le 14 ]; then
	ok "at the stop timeout ($((t1 - t0)) s)"
else
	nok "at the stop timeout ($((t1 - t0)) s)"
fi
check "and is logged as stopped" wait_for "$T/vmd.log" 'm4: vm 4 stopped' 3

# the guest halts by itself and says so: the VM ends shortly after
start m5 vmmci
con_open m5
wait_for "$T/con.m5" '^VMMCI ' 10
t0=$(date +%s)
con_send m5 'vmmcihalt
'
wait_for "$T/con.m5" '^VMMCIHALT' 5
check "a guest-initiated halt ends the VM" wait_gone m5 8
t1=$(date +%s)
if [ $((t1 - t0)) -ge 2 ] && [ $((t1 - t0)) -le 7 ]; then
	ok "after the short ack time ($((t1 - t0)) s)"
else
	nok "after the short ack time ($((t1 - t0)) s)"
fi
check "logged as stopped" wait_for "$T/vmd.log" 'm5: vm 5 stopped' 3

# SYNCRTC after a pause, once; not to a driver without the feature
start m6 vmmci
con_open m6
start m7 vmmci:3
con_open m7
start m8 vmmci,vmmcimode:noisr
con_open m8
wait_for "$T/con.m6" '^VMMCI ' 10
wait_for "$T/con.m7" '^VMMCI ' 10
wait_for "$T/con.m8" '^VMMCIMODE' 10
is "a driver may leave SYNCRTC out" "VMMCI OK features=0x7 acked=0x3" \
    "$(line m7 'VMMCI ')"
for m in m6 m7 m8; do vmctl pause $m >/dev/null 2>&1; done
sleep 3
for m in m6 m7 m8; do vmctl unpause $m >/dev/null 2>&1; done
check "after unpause the guest is sent SYNCRTC" \
    wait_for "$T/con.m6" '^VMMCI SYNCRTC' 5
now=$(date +%s)
within "and its RTC tells the host's time" \
    "$(line m6 'VMMCI SYNCRTC' | awk '{ print $3 }')" "$now" 2
is "the command was 3" "VMMCI CMD 3" "$(line m6 'VMMCI CMD')"
check "a driver that never reads the ISR hears it too" \
    wait_for "$T/con.m8" '^VMMCI SYNCRTC' 5
sleep 1
con_send m8 'vmmcistat
'
wait_for "$T/con.m8" '^VMMCISTAT' 5
is "once: the line is down once the command was read" \
    "VMMCISTAT intrs=1 changes=1" "$(line m8 VMMCISTAT)"
is "no SYNCRTC without the feature" 0 "$(count_in "$T/con.m7" '^VMMCI CMD')"
vmctl pause m6 >/dev/null 2>&1
vmctl unpause m6 >/dev/null 2>&1
i=0
while [ "$(count_in "$T/con.m6" '^VMMCI SYNCRTC')" -lt 2 ] && [ $i -lt 50 ]; do
	sleep 0.1; i=$((i + 1))
done
is "two pauses, two syncs" 2 "$(count_in "$T/con.m6" '^VMMCI SYNCRTC')"

# a paused guest with the driver: stop resumes it and asks through vmmci
vmctl pause m6 >/dev/null 2>&1
t0=$(date +%s)
out=$(vmctl stop -w m6 2>&1)
t1=$(date +%s)
is "stop -w of a paused guest" "stopping vm m6: terminated vm 6" "$out"
check "it heard SHUTDOWN" grep -q '^VMMCI CMD 1' "$T/con.m6"
is "and no power button" 0 "$(count_in "$T/con.m6" '^POWERBUTTON')"
if [ $((t1 - t0)) -lt 3 ]; then
	ok "at once ($((t1 - t0)) s)"
else
	nok "at once ($((t1 - t0)) s)"
fi
vmctl stop -f m7 >/dev/null 2>&1
vmctl stop -f m8 >/dev/null 2>&1

# garbage in every register: vmd stays, the guest only hurts itself
start m9 vmmcifuzz
con_open m9
check "the guest wrote garbage to every vmmci register" \
    wait_for "$T/con.m9" '^VMMCIFUZZ [0-9]+ OK' 20
check "vmd still runs" vmd_alive
run_is "and answers" 0 "" sh -c "$VMCTL -s $SOCK status >/dev/null"
st=$(vm_field m9 8)
case $st in
running|"")	ok "the VM runs or powered off ($st)" ;;
*)		nok "the VM runs or powered off ($st)" ;;
esac
is "no crash logged" 0 "$(count_in "$T/vmd.log" 'crash|fatal|killed')"
n=$(count_in "$T/vmd.log" 'vmmci')
if [ "$n" -le 1 ]; then
	ok "bad requests are logged once ($n)"
else
	nok "bad requests are logged once ($n)"
fi
vmctl stop -f m9 >/dev/null 2>&1
start m10 hello
con_open m10
check "a VM starts after that" wait_for "$T/con.m10" '^HELLO' 10
vmctl stop -f m10 >/dev/null 2>&1
