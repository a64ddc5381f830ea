# stop: graceful, waited for, forced, timed out; wait
. "$top/regress/lib.sh"
VMD_STOP_TIMEOUT=3
export VMD_STOP_TIMEOUT
vmd_start

start() { vmctl start -m 16M -b "$GUEST_ELF" -k "console=ttyS0 run=$2" "$1" >/dev/null 2>&1; }

start s1 hello
con_open s1
wait_for "$T/con.s1" '^HELLO' 10
out=$(vmctl stop -w s1 2>&1)
is "stop -w waits for the guest to power off" \
    "stopping vm s1: terminated vm 1" "$out"
check "the guest powered off by itself" grep -q '^POWERBUTTON' "$T/con.s1"

start s2 hello
con_open s2
wait_for "$T/con.s2" '^HELLO' 10
run_is "stop -f forces" 0 "stopping vm s2: forced to terminate vm 2" vmctl stop -f s2
check "forced stop is quick" wait_gone s2 3
is "the guest saw no power button" 0 "$(count_in "$T/con.s2" '^POWERBUTTON')"

start s3 ignorebutton
con_open s3
wait_for "$T/con.s3" '^IGNOREBUTTON' 10
t0=$(date +%s)
out=$(vmctl stop -w s3 2>&1)
t1=$(date +%s)
like "a guest that ignores the button is terminated after the timeout" \
    'terminated vm 3' "$out"
if [ $((t1 - t0)) -ge 2 ] && [ $((t1 - t0)) -le 10 ]; then
	ok "after about VMD_STOP_TIMEOUT seconds ($((t1 - t0)) s)"
else
	nok "after about VMD_STOP_TIMEOUT seconds ($((t1 - t0)) s)"
fi
check "a VM stopped after the timeout is gone, as any stopped VM" \
    wait_gone s3 3
check "and is logged as stopped, not as killed" \
    wait_for "$T/vmd.log" 's3: vm 3 stopped' 3

start s4 spin
sleep 0.5
is "a spinning guest shows running" running "$(vm_field s4 8)"
run_is "stop -f of a spinning guest" 0 "stopping vm s4: forced to terminate vm 4" \
    vmctl stop -f s4
check "gone" wait_gone s4 5

start s5 hello
con_open s5
wait_for "$T/con.s5" '^HELLO' 10
vmctl wait s5 >"$T/wait.out" 2>&1 &
wpid=$!
sleep 0.5
con_send s5 'poweroff
'
wait $wpid
st=$?
is "wait returns when the guest powers off" 0 "$st"
like "wait prints the termination" 'terminated vm 5' "$(cat "$T/wait.out")"

start s6 hello
con_open s6
wait_for "$T/con.s6" '^HELLO' 10
vmctl wait s6 >"$T/wait6.out" 2>&1 &
wpid=$!
sleep 0.5
vmctl reset vms >/dev/null 2>&1
i=0
while kill -0 $wpid 2>/dev/null && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
check "wait returns when reset vms removes the VM" sh -c "! kill -0 $wpid 2>/dev/null"
kill $wpid 2>/dev/null
like "and prints the termination" 'terminated vm 6' "$(cat "$T/wait6.out")"

start s7 hello
con_open s7
wait_for "$T/con.s7" '^HELLO' 10
vmctl pause s7 >/dev/null 2>&1
t0=$(date +%s)
vmctl stop -w s7 >/dev/null 2>&1
t1=$(date +%s)
check "a paused guest is resumed to answer a graceful stop" \
    grep -q '^POWERBUTTON' "$T/con.s7"
if [ $((t1 - t0)) -lt 2 ]; then
	ok "without waiting for the timeout"
else
	nok "without waiting for the timeout ($((t1 - t0)) s)"
fi

# a stop while the VM is still starting (vmm held, so the parent has
# not heard of its process yet) reaches the VM once it runs
vmm=$(child vmm)
kill -STOP "$vmm"
vmctl start -m 16M -b "$GUEST_ELF" -k "console=ttyS0 run=hello" s8 \
    >"$T/start8.out" 2>&1 &
spid=$!
wait_state s8 running 5
vmctl stop -w s8 >"$T/stop8.out" 2>&1 &
tpid=$!
sleep 0.3
kill -CONT "$vmm"
wait $spid
like "a VM stopped while it starts: started" \
    '^vmctl: started vm 8 successfully, tty /dev/pts/[0-9]*$' \
    "$(cat "$T/start8.out")"
wait $tpid
is "and its stop waited for its end" 0 "$?"
is "which it says" "stopping vm s8: terminated vm 8" "$(cat "$T/stop8.out")"
check "gone" wait_gone s8 3

run_is "stop of an unknown VM" 1 "stopping vm nosuch: vm not found" vmctl stop nosuch
check "vmd still runs" vmd_alive
