# a VM process killed with SIGKILL shows stopped; vmd and 9 other running
# VMs are unharmed
. "$top/regress/lib.sh"
vmd_start

i=1
while [ $i -le 10 ]; do
	vmctl start -m 16M -b "$GUEST_ELF" -k "console=ttyS0 run=hello" k$i \
	    >/dev/null 2>&1 || nok "start k$i"
	i=$((i + 1))
done
con_open k3
con_open k7
check "guests are up" wait_for "$T/con.k7" '^HELLO' 20
is "ten VMs running" 10 "$(vmctl status | grep -c ' running ')"

victim=$(vm_field k5 2)
kill -9 "$victim"
check "the killed VM shows stopped" wait_state k5 stopped 10
is "its PID column is empty" - "$(vm_field k5 2)"
is "the nine others still run" 9 "$(vmctl status | grep -c ' running ')"
check "vmd still runs" vmd_alive
check "the log names the signal" wait_for "$T/vmd.log" 'k5: vm 5 process killed by signal 9' 5

con_send k3 'echo k3-alive
'
con_send k7 'echo k7-alive
'
check "another VM still answers on its console" wait_for "$T/con.k3" '^ECHO k3-alive' 10
check "and another" wait_for "$T/con.k7" '^ECHO k7-alive' 10

out=$(vmctl start -b "$GUEST_ELF" -k "console=ttyS0 run=hello" k5 2>&1)
like "the killed VM can be started again" '^vmctl: started vm 5 successfully' "$out"
vmctl stop -a >/dev/null 2>&1
check "stop -a stops them all" sh -c \
    "i=0; while [ \$i -lt 200 ]; do \
        [ \$($VMCTL -s $SOCK status 2>/dev/null | grep -c ' running ') -eq 0 ] && exit 0; \
        sleep 0.05; i=\$((i+1)); done; exit 1"
