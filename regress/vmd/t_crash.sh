# a guest that KVM cannot run is reported in the log and in status, not
# left running; vmd and the other VMs carry on
. "$top/regress/lib.sh"
vmd_start

vmctl start -m 16M -b "$GUEST_ELF" -k "console=ttyS0 run=hello" bystander \
    >/dev/null 2>&1
vmctl start -m 32M -b "$GUEST_ELF" -k "console=ttyS0 run=crash" bad \
    >/dev/null 2>&1
con_open bad
check "the guest jumps nowhere" wait_for "$T/con.bad" '^CRASH' 10
check "status shows it crashed" wait_state bad crashed 10
is "no process left" - "$(vm_field bad 2)"
check "the log names the KVM error" \
    grep -Eq 'bad: vcpu 0: KVM (internal error|emulation failure)' "$T/vmd.log"
check "and the crash" grep -q 'bad: vm 2 crashed' "$T/vmd.log"
is "the other VM still runs" running "$(vm_field bystander 8)"
check "vmd still runs" vmd_alive
out=$(vmctl start -b "$GUEST_ELF" -k "console=ttyS0 run=hello" bad 2>&1)
like "a crashed VM can be started again" '^vmctl: started vm 2 successfully' "$out"
