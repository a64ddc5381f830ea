# a user who is not root gets what upstream allows: status, and start,
# stop and pause of the VMs it owns; nothing else
. "$top/regress/lib.sh"

cat >"$T/vm.conf" <<CONF
socket owner :nogroup
vm "mine" {
	disable
	owner nobody
	memory 16M
	boot "$GUEST_ELF"
	cmdline "console=ttyS0 run=hello"
}
vm "theirs" {
	memory 16M
	boot "$GUEST_ELF"
	cmdline "console=ttyS0 run=hello"
}
CONF
vmd_start -f "$T/vm.conf"
check "root's VM is up" wait_state theirs running 5

# vmctl as user nobody, group nogroup
asuser() {
	setpriv --reuid=nobody --regid=nogroup --clear-groups \
	    "$VMCTL" -s "$SOCK" "$@"
}

like "nobody may see status" ' running theirs$' "$(asuser status 2>&1)"
run_is "nobody may not change the log level" 1 \
    "vmctl: command failed: Operation not permitted" asuser log verbose
run_is "nobody may not reload" 1 \
    "vmctl: command failed: Operation not permitted" asuser reload
run_is "nobody may not reset" 1 \
    "vmctl: command failed: Operation not permitted" asuser reset vms
run_is "nobody may not load" 1 \
    "vmctl: command failed: Operation not permitted" asuser load "$T/vm.conf"
run_is "nobody may not create a VM" 1 \
    "vmctl: start vm command failed: Operation not permitted" \
    asuser start -m 16M -b "$GUEST_ELF" newvm
run_is "nobody may not stop root's VM" 1 \
    "stopping vm theirs: failed: Operation not permitted" asuser stop theirs
run_is "nobody may not pause root's VM" 1 \
    "vmctl: pause vm command failed: Operation not permitted" asuser pause theirs
is "root's VM still runs" running "$(vm_field theirs 8)"

out=$(asuser start mine 2>&1)
like "nobody starts the VM it owns" '^vmctl: started vm [0-9]+ successfully' "$out"
like "owned by nobody in status" ' nobody +running mine$' "$(vmctl status mine | sed -n 2p)"
tty=$(vm_field mine 6)
is "its tty belongs to nobody" nobody "$(stat -c %U "/dev/$tty")"
run_is "nobody pauses it" 0 "vmctl: paused vm 1 successfully" asuser pause mine
run_is "nobody unpauses it" 0 "vmctl: unpaused vm 1 successfully" asuser unpause mine
run_is "nobody stops it" 0 "stopping vm mine: forced to terminate vm 1" \
    asuser stop -f mine
check "stopped" wait_state mine stopped 5

# without the socket group, no access at all
out=$(setpriv --reuid=nobody --regid=daemon --clear-groups "$VMCTL" -s "$SOCK" status 2>&1)
like "users outside the socket group cannot connect" \
    "connect: .*vmd.sock: Permission denied" "$out"

# one user cannot take the socket from everyone: 32 connections each
CONNS=$BUILD/tools/conns
setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$CONNS" "$SOCK" 40 10 >"$T/conns.out" 2>&1 &
cp=$!
i=0
while [ ! -s "$T/conns.out" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
is "nobody keeps 32 connections of 40" "kept 32" "$(cat "$T/conns.out")"
check "and vmd says why it refused the others" \
    grep -q 'connection of uid [0-9]* refused: too many of its own' \
    "$T/vmd.log"
like "root is answered meanwhile" ' running theirs$' \
    "$(timeout 5 "$VMCTL" -s "$SOCK" status 2>&1)"
like "and so is another user" ' running theirs$' \
    "$(setpriv --reuid=daemon --regid=nogroup --clear-groups \
    timeout 5 "$VMCTL" -s "$SOCK" status 2>&1)"
kill $cp 2>/dev/null
wait $cp 2>/dev/null
check "vmd still runs" vmd_alive
