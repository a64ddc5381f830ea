# VMs of vm.conf: started with vmd in staggered batches, disabled ones
# listed as stopped, load, reload, reset, SIGHUP
. "$top/regress/lib.sh"

cat >"$T/vm.conf" <<CONF
guest = "$GUEST_ELF"
staggered start parallel 1 delay 2
vm "c1" {
	memory 16M
	boot \$guest
	cmdline "console=ttyS0 run=hello"
}
vm "c2" {
	memory 16M
	boot \$guest
	cmdline "console=ttyS0 run=hello"
}
vm "off" {
	disable
	memory 32M
	boot \$guest
	cmdline "console=ttyS0 run=echo:off-booted"
}
CONF
check "the configuration is valid" "$VMD" -n -f "$T/vm.conf"
vmd_start -f "$T/vm.conf"

check "the first VM starts with vmd" wait_state c1 running 5
is "the second waits for its batch" waiting "$(vm_field c2 8)"
check "the second starts after the delay" wait_state c2 running 6
is "a disabled VM is listed as stopped" stopped "$(vm_field off 8)"
is "with its memory" 32.0M "$(vm_field off 4)"
is "and no PID" - "$(vm_field off 2)"

out=$(vmctl start off 2>&1)
like "a disabled VM starts by name" '^vmctl: started vm 3 successfully' "$out"
con_open off
check "with its configured command line" wait_for "$T/con.off" '^ECHO off-booted' 10
run_is "a running VM cannot start twice" 1 \
    "vmctl: start vm command failed: Operation already in progress" \
    vmctl start off

vmctl stop -w off >/dev/null 2>&1
is "a stopped VM of vm.conf stays listed" stopped "$(vm_field off 8)"
is "with the same id" 3 "$(vm_field off 1)"

cat >"$T/more.conf" <<CONF
vm "extra" {
	memory 16M
	boot "$GUEST_ELF"
	cmdline "console=ttyS0 run=hello"
}
CONF
run_is "load" 0 "" vmctl load "$T/more.conf"
check "a loaded VM starts" wait_state extra running 5
run_is "load of a missing file" 1 \
    "vmctl: load: $T/nosuch.conf: No such file or directory" \
    vmctl load "$T/nosuch.conf"

cat >>"$T/vm.conf" <<CONF
vm "late" {
	memory 16M
	boot "$GUEST_ELF"
	cmdline "console=ttyS0 run=hello"
}
CONF
run_is "reload" 0 "" vmctl reload
check "reload starts what vm.conf added" wait_state late running 8
is "running VMs keep running across a reload" running "$(vm_field c1 8)"

run_is "log verbose" 0 "" vmctl log verbose
run_is "log brief" 0 "" vmctl log brief

run_is "reset vms" 0 "" vmctl reset vms
check "reset vms removes every VM" sh -c \
    "i=0; while [ \$i -lt 100 ]; do \
        [ \$($VMCTL -s $SOCK status 2>/dev/null | wc -l) -le 1 ] && exit 0; \
        sleep 0.05; i=\$((i+1)); done; exit 1"

kill -HUP "$VMD_PID"
check "SIGHUP reloads vm.conf" wait_state c1 running 10
check "vmd still runs" vmd_alive

echo 'vm "broken" { memory 12Q }' >"$T/bad.conf"
run_is "load of a bad file fails" 1 "vmctl: command failed: Invalid argument" \
    vmctl load "$T/bad.conf"
check "and the error names the line" wait_for "$T/vmd.log" 'bad.conf:1: ' 3
check "vmd still runs" vmd_alive
