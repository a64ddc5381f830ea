# start, status, console output and input, pause/unpause, graceful stop
. "$top/regress/lib.sh"
vmd_start

out=$(vmctl start -m 64M -b "$GUEST_ELF" -k "console=ttyS0 run=hello" t1 2>&1)
like "start reports id and tty" \
    '^vmctl: started vm 1 successfully, tty /dev/pts/[0-9]+$' "$out"
tty=${out##* }

con_open t1
if wait_for "$T/con.t1" 'VMDGUEST: boot entry=elf' 10; then
	ok "guest boots to its first marker"
else
	nok "guest boots to its first marker"
fi
check "guest runs its command line" wait_for "$T/con.t1" '^HELLO' 5

hdr=$(vmctl status | head -n 1)
is "status header" \
    "   ID   PID VCPUS  MAXMEM  CURMEM     TTY        OWNER    STATE NAME" "$hdr"
row=$(vmctl status | sed -n 2p)
like "status row" \
    "^    1 +[0-9]+ +1 +64.0M +[0-9.]+[BKM] +${tty#/dev/} +root +running t1\$" "$row"
pid=$(vm_field t1 2)
check "PID column is the VM process" kill -0 "$pid"
cur=$(vm_field t1 5)
like "CURMEM is what the guest touched, well below MAXMEM" '^[0-9.]+[BKM]$' "$cur"
like "status id" "running t1\$" "$(vmctl status 1 | sed -n 2p)"
like "status name" "running t1\$" "$(vmctl status t1 | sed -n 2p)"
is "show is status" "$(vmctl status)" "$(vmctl show)"

con_send t1 'echo ping-through-console
'
check "console input reaches the guest and its output comes back" \
    wait_for "$T/con.t1" '^ECHO ping-through-console' 5

run_is "pause" 0 "vmctl: paused vm 1 successfully" vmctl pause t1
is "paused in status" paused "$(vm_field t1 8)"
run_is "pause twice fails" 1 \
    "vmctl: pause vm command failed: Operation already in progress" \
    vmctl pause t1
before=$(count_in "$T/con.t1" '^ECHO while-paused')
con_send t1 'echo while-paused
'
sleep 1
is "a paused guest does not answer" "$before" \
    "$(count_in "$T/con.t1" '^ECHO while-paused')"
run_is "unpause" 0 "vmctl: unpaused vm 1 successfully" vmctl unpause t1
is "running again" running "$(vm_field t1 8)"
check "input typed while paused is handled after unpause" \
    wait_for "$T/con.t1" '^ECHO while-paused' 5

run_is "stop asks the guest" 0 "stopping vm t1: requested to shutdown vm 1" \
    vmctl stop t1
check "the guest sees the power button" wait_for "$T/con.t1" '^POWERBUTTON' 10
check "the VM goes away once stopped" wait_gone t1 10
check "its process is gone" sh -c "! kill -0 $pid 2>/dev/null"
check "vmd still runs" vmd_alive
