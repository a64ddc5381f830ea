# several vCPUs (vmctl start -C N): the test guest starts the APs the
# MADT lists with INIT and STARTUP IPIs through the in-kernel LAPIC; each
# CPU reports its APIC id and CPUID topology, the APs' LAPIC timers tick
# and fixed IPIs reach them, while the BSP keeps its own interrupts
# (PIT, COM1, SCI, LAPIC timer) and the VM powers off with APs running
. "$top/regress/lib.sh"
vmd_start

# blk C N: the SMPSTAT lines of the C-th smpstat (from 1), "i ticks ipis"
blk() {
	tr -d '\r' <"$1" | awk -v want="$2" '
	    /^SMPSTAT END / { b++; next }
	    /^SMPSTAT [0-9]+ / && b == want - 1 {
		sub("ticks=", "", $3); sub("ipis=", "", $4)
		print $2, $3, $4 }'
}

for n in 1 2 4; do
	name=smp$n
	cmd="console=ttyS0 run=smp,smpstat,tick:1,smpstat,smpipi,smpstat,smp"
	cmd="$cmd,acpi,tscdl,hello"
	vmctl start -m 16M -C $n -b "$GUEST_ELF" -k "$cmd" "$name" \
	    >"$T/start.$name" 2>&1
	con_open "$name"
	c=$T/con.$name
	if ! wait_for "$c" '^HELLO' 40; then
		nok "$n cpus: the guest ran its commands"
		vmctl stop -f "$name" >/dev/null 2>&1
		continue
	fi
	ok "$n cpus: the guest ran its commands"
	is "$n cpus: status VCPUS" "$n" "$(vm_field "$name" 3)"

	e1= e2= i=0
	while [ $i -lt $n ]; do
		e1="${e1}SMP CPU $i apicid=$i cpuid=$i
"
		e2="${e2}SMP CPU $i x2apic=$i count=$n
"
		i=$((i + 1))
	done
	grep -a '^SMP CPU ' "$c" | tr -d '\r' >"$T/cpus"
	is "$n cpus: one line a CPU: LAPIC id, CPUID.1 EBX[31:24]" \
	    "${e1%?}" "$(sed 's/ x2apic=.*//' "$T/cpus")"
	is "$n cpus: CPUID.0xb.1: x2APIC id, logical CPU count" \
	    "${e2%?}" "$(sed 's/ apicid=[0-9]* cpuid=[0-9]*//' "$T/cpus")"
	is "$n cpus: smp, twice, says all CPUs are up" \
	    "SMP OK cpus=$n
SMP OK cpus=$n" "$(grep -a '^SMP [OF]' "$c" | tr -d '\r')"
	like "$n cpus: the MADT counts them" "^ACPI OK cpus=$n " \
	    "$(line "$name" ACPI)"

	is "$n cpus: smpstat lists the APs" \
	    "SMPSTAT END $((n - 1))" "$(line "$name" 'SMPSTAT END')"
	bad=
	blk "$c" 1 >"$T/s1"
	blk "$c" 2 >"$T/s2"
	blk "$c" 3 >"$T/s3"
	i=1
	while [ $i -lt $n ]; do
		t1=$(awk -v i=$i '$1 == i { print $2 }' "$T/s1")
		t2=$(awk -v i=$i '$1 == i { print $2 }' "$T/s2")
		p2=$(awk -v i=$i '$1 == i { print $3 }' "$T/s2")
		p3=$(awk -v i=$i '$1 == i { print $3 }' "$T/s3")
		d=$(( ${t2:-0} - ${t1:-0} ))
		# 10 Hz, against a second of PIT ticks on the BSP
		if [ -z "$t1" ] || [ -z "$t2" ] || [ $d -lt 3 ] ||
		    [ $d -gt 30 ]; then
			bad="$bad cpu$i:ticks=$t1->$t2"
		fi
		if [ "$p3" != $((${p2:-0} + 1)) ]; then
			bad="$bad cpu$i:ipis=$p2->$p3"
		fi
		i=$((i + 1))
	done
	is "$n cpus: each AP's timer ticks, each takes one IPI" "" "$bad"
	is "$n cpus: smpipi" "SMPIPI OK cpus=$n" "$(line "$name" SMPIPI)"
	is "$n cpus: the BSP's LAPIC timer still works" "TSCDL OK" \
	    "$(line "$name" TSCDL)"

	con_send "$name" 'echo typed-with-aps-running
'
	check "$n cpus: console input reaches the BSP" \
	    wait_for "$c" '^ECHO typed-with-aps-running' 10
	vmctl stop "$name" >/dev/null 2>&1
	check "$n cpus: the power button's SCI reaches the BSP" \
	    wait_for "$c" '^POWERBUTTON' 10
	check "$n cpus: ACPI poweroff stops the VM" wait_gone "$name" 10
done

# vm.conf's vcpus, inherited by an instance unless it gives its own
cat >"$T/smp.conf" <<EOT
vm "cf" {
	memory 16M
	vcpus 3
	boot "$GUEST_ELF"
	cmdline "console=ttyS0 run=smp,hello"
	disable
}
EOT
run_is "vmctl load of a vm.conf with vcpus" 0 "" vmctl load "$T/smp.conf"
vmctl start cf >/dev/null 2>&1
vmctl start -t cf cfi >/dev/null 2>&1
vmctl start -t cf -C 2 cfj >/dev/null 2>&1
con_open cf
check "vm.conf: its guest starts three CPUs" \
    wait_for "$T/con.cf" '^SMP OK cpus=3' 30
is "vm.conf: status shows 3 VCPUS" 3 "$(vm_field cf 3)"
is "vm.conf: an instance inherits them" 3 "$(vm_field cfi 3)"
is "vm.conf: -C overrides them for an instance" 2 "$(vm_field cfj 3)"
vmctl stop -f -a >/dev/null 2>&1
check "vmd still runs" vmd_alive
