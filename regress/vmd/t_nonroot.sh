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
vm "tmpl" {
	disable
	memory 16M
	boot "$GUEST_ELF"
	cmdline "console=ttyS0 run=virtio,hello"
	allow instance { disk, cdrom }
	allow instance owner nobody
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

# send and receive are root's, as upstream
head -c 40000 /dev/zero >"$T/zero.vm"
run_is "nobody may not receive" 1 \
    "vmctl: command failed: Operation not permitted" \
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
    sh -c '"$0" -s "$1" receive stolen <"$2"' "$VMCTL" "$SOCK" "$T/zero.vm"
run_is "nobody may not send" 1 \
    "vmctl: command failed: Operation not permitted" \
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
    sh -c '"$0" -s "$1" send theirs >/dev/null' "$VMCTL" "$SOCK"

# instances: what nobody names is opened only if nobody could open it
mkdir -m 755 "$T/pub"
truncate -s 1M "$T/pub/secret.raw" "$T/pub/open.raw" "$T/pub/base.raw"
chmod 600 "$T/pub/secret.raw" "$T/pub/base.raw"
chmod 666 "$T/pub/open.raw"
run_is "nobody may not give an instance a root-only disk" 1 \
    "vmctl: start vm command failed: Operation not permitted" \
    asuser start -t tmpl -d "$T/pub/secret.raw" inst1
check "and vmd says which" grep -q \
    "uid [0-9]* may not read and write $T/pub/secret.raw" "$T/vmd.log"
run_is "nor a root-only CD-ROM image" 1 \
    "vmctl: start vm command failed: Operation not permitted" \
    asuser start -t tmpl -r "$T/pub/secret.raw" inst2
if command -v qemu-img >/dev/null 2>&1; then
	qemu-img create -q -f qcow2 -b "$T/pub/base.raw" -F raw \
	    "$T/pub/top.qcow2" 1M
	chmod 666 "$T/pub/top.qcow2"
	run_is "nor a disk whose backing file is root's alone" 1 \
	    "vmctl: start vm command failed: Operation not permitted" \
	    asuser start -t tmpl -d "$T/pub/top.qcow2" inst3
else
	skip "nor a disk whose backing file is root's alone" "no qemu-img"
fi
out=$(asuser start -t tmpl -d "$T/pub/open.raw" inst4 2>&1)
like "a disk nobody may use is given to its instance" \
    '^vmctl: started vm [0-9]+ successfully' "$out"
con_open inst4
check "and the instance's guest sees it" \
    wait_for "$T/con.inst4" '^VIRTIO 00:0[0-9]\.0 blk ' 20
check "but not the template's disks, which it does not inherit" \
    test "$(count_in "$T/con.inst4" '^VIRTIO .* blk ')" -eq 1
# a user asking again and again for what cannot be (a disk in use):
# its lines are limited (10 in 10 s), root's are not
i=0
while [ $i -lt 30 ]; do
	asuser start -t tmpl -d "$T/pub/open.raw" bad$i >/dev/null 2>&1
	i=$((i + 1))
done
n=$(count_in "$T/vmd.log" "open\.raw is in use")
[ "$n" -ge 1 ] && [ "$n" -le 10 ] &&
    ok "30 bad requests of nobody's: $n lines in the log" ||
    nok "30 bad requests of nobody's: $n lines in the log (1 to 10)"
vmctl start -t tmpl -d "$T/pub/open.raw" badroot >/dev/null 2>&1
is "root's bad request is logged all the same" $((n + 1)) \
    "$(count_in "$T/vmd.log" "open\.raw is in use")"
vmctl stop -f inst4 >/dev/null 2>&1
is "no refused instance was left behind" "" \
    "$(vmctl status | awk '$NF ~ /^inst[123]$/')"

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
