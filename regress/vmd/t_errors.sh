# bad commands, flags, sizes, names and ids: upstream's messages, exit 1,
# and nothing changes
. "$top/regress/lib.sh"
vmd_start
K=$GUEST_ELF

run_is "no command" 1 "usage:	vmctl [-v] command [arg ...]" vmctl
run_is "unknown command" 1 "unknown argument: frobnicate
usage:	vmctl [-v] command [arg ...]" vmctl frobnicate
run_is "ambiguous abbreviation" 1 "ambiguous argument: st
usage:	vmctl [-v] command [arg ...]" vmctl st
run_is "memory below 1MB" 1 "vmctl: memory size must be at least 1MB" \
    vmctl start -m 512K -b "$K" t
run_is "memory above the limit" 1 "vmctl: memory size too large (limit is 128G)" \
    vmctl start -m 200G -b "$K" t
run_is "memory not a size" 1 "vmctl: invalid memory size: lots: Invalid argument" \
    vmctl start -m lots -b "$K" t
run_is "memory twice" 1 "vmctl: memory specified multiple times" \
    vmctl start -m 1G -m 2G -b "$K" t
run_is "kernel that does not exist" 1 \
    "vmctl: invalid boot image path: No such file or directory" \
    vmctl start -b /nonexistent t
run_is "name starting with a dot" 1 "vmctl: invalid VM name" \
    vmctl start -b "$K" .bad
run_is "name with a slash" 1 "vmctl: invalid VM name" \
    vmctl start -b "$K" a/b
long=$(printf 'a%.0s' $(seq 1 64))
run_is "name too long" 1 "vmctl: name too long
vmctl: invalid id: $long" vmctl start -b "$K" "$long"
run_is "id 0" 1 "vmctl: invalid id: 0" vmctl pause 0
run_is "pause of an unknown VM" 1 \
    "vmctl: pause vm command failed: No such file or directory" vmctl pause nosuch
run_is "unpause of an unknown VM" 1 \
    "vmctl: unpause vm command failed: No such file or directory" vmctl unpause 42
run_is "stop of an unknown id" 1 "stopping vm: vm not found" vmctl stop 42
run_is "console of an unknown VM" 1 "vmctl: console not found" vmctl console nosuch
run_is "status without any VM prints the header and exits 1" 1 \
    "   ID   PID VCPUS  MAXMEM  CURMEM     TTY        OWNER    STATE NAME" \
    vmctl status nosuch
run_is "send of an unknown VM" 1 \
    "vmctl: send vm command failed: No such file or directory" \
    sh -c '"$0" -s "$1" send 42 >/dev/null' "$VMCTL" "$SOCK"
run_is "receive of an empty stream" 1 "vmctl: receive: the VM stream is truncated" \
    vmctl receive new </dev/null
run_is "log takes brief or verbose" 1 "usage:	vmctl [-v] log [brief | verbose]" \
    vmctl log loud
run_is "a switch that does not exist" 1 \
    "vmctl: could not find specified switch" \
    vmctl start -b "$K" -n nosuch netvm
run_is "a disk that is not a file" 1 \
    "vmctl: specified disk image(s) are not regular files" \
    vmctl start -b "$K" -d /dev/null diskvm
run_is "an unknown name with nothing to boot" 1 "vmctl: could not open disk image(s)" \
    vmctl start nothing

head -c 5000000 /dev/urandom >"$T/junk"
out=$(vmctl start -b "$T/junk" junk 2>&1)
st=$?
is "a boot image that is neither kernel nor BIOS: exit 1" 1 "$st"
like "with a start failure" '^vmctl: start vm command failed: ' "$out"
check "and a line in the log that names the file's problem" \
    grep -Eqi 'junk.*(bios|kernel|image)' "$T/vmd.log"
printf '\177ELF\002\001\001' >"$T/truncelf"
out=$(vmctl start -b "$T/truncelf" trunc 2>&1)
like "a truncated ELF kernel is refused" '^vmctl: start vm command failed: ' "$out"

vmctl start -m 16M -b "$K" -k "console=ttyS0 run=ignorebutton" dup >/dev/null 2>&1
con_open dup
wait_for "$T/con.dup" '^IGNOREBUTTON' 10
run_is "a second start of a running VM" 1 \
    "vmctl: start vm command failed: Operation already in progress" \
    vmctl start -b "$K" dup
id=$(vm_field dup 1)
run_is "stop of a running VM" 0 "stopping vm dup: requested to shutdown vm $id" \
    vmctl stop dup
run_is "a second stop while it is stopping" 1 \
    "stopping vm dup: failed: Operation already in progress" vmctl stop dup
run_is "stop -f while it is stopping" 0 "stopping vm dup: forced to terminate vm $id" \
    vmctl stop -f dup
check "gone" wait_gone dup 5
# FIFOs where files belong: refused at once, nothing waits on them
mkfifo "$T/fifo"
t0=$(date +%s)
run_is "a FIFO as the kernel: vmctl refuses it" 1 \
    "vmctl: kernel must be a regular file" \
    vmctl start -m 16M -b "$T/fifo" ff1
run_is "a FIFO as a disk" 1 \
    "vmctl: specified disk image(s) are not regular files" \
    vmctl start -m 16M -b "$K" -d "raw:$T/fifo" ff2
check "and vmd says which" grep -q "disk $T/fifo is not a regular file" \
    "$T/vmd.log"
run_is "a FIFO as the CD-ROM" 1 \
    "vmctl: specified iso image is not a regular file" \
    vmctl start -m 16M -b "$K" -r "$T/fifo" ff3
if command -v qemu-img >/dev/null 2>&1; then
	qemu-img create -f qcow2 -u -b "$T/fifo" -F raw "$T/fftop.qcow2" 1M \
	    >/dev/null 2>&1
	run_is "a FIFO as a qcow2 backing file" 1 \
	    "vmctl: specified disk image(s) are not regular files" \
	    vmctl start -m 16M -b "$K" -d "$T/fftop.qcow2" ff4
else
	skip "a FIFO as a qcow2 backing file" "no qemu-img"
fi
cat >"$T/ff.conf" <<EOT
vm "ff5" {
	memory 16M
	boot "$T/fifo"
	disable
}
EOT
vmctl load "$T/ff.conf" >/dev/null 2>&1
out=$(vmctl start ff5 2>&1)
like "a FIFO as vm.conf's boot image" '^vmctl: start vm command failed: ' \
    "$out"
t1=$(date +%s)
check "none of them made anyone wait" test $((t1 - t0)) -le 5
check "and vmd names the boot image's problem" grep -q \
    "boot image $T/fifo is not a regular file" "$T/vmd.log"
like "vmd answers after them" '^   ID   PID VCPUS' "$(vmctl status 2>&1)"
vmctl reset vms >/dev/null 2>&1

# a guest that breaks a device and resets it, over and over: a few lines
vmctl start -m 16M -b "$K" -k "console=ttyS0 run=viobreak:0:300,rng:0:64,hello" \
    vb >/dev/null 2>&1
con_open vb
check "a guest breaks its entropy device 300 times" \
    wait_for "$T/con.vb" '^HELLO' 60
is "each time it saw the device stop" "VIOBREAK 0 300 needsreset=300" \
    "$(line vb VIOBREAK)"
like "and the device works after" '^RNG 0 64 OK' "$(line vb RNG)"
n=$(count_in "$T/vmd.log" 'viornd0: available index ran ahead')
if [ "$n" -ge 1 ] && [ "$n" -le 10 ]; then
	ok "vmd logged it $n times, not 300"
else
	nok "vmd logged it $n times, not 300"
fi
vmctl stop -f vb >/dev/null 2>&1
wait_gone vb 5

check "vmd still runs" vmd_alive
is "no failed start left a VM behind" "" \
    "$(vmctl status 2>/dev/null | awk 'NR > 1')"
