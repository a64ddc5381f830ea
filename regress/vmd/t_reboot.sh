# guest resets restart the VM, as upstream; a third restart within six
# seconds stops it ("restarted too quickly")
. "$top/regress/lib.sh"
vmd_start

for how in reboot triple; do
	name=rb-$how
	vmctl start -m 32M -b "$GUEST_BZ" -k "console=ttyS0 run=$how" "$name" \
	    >/dev/null 2>&1
	con_open "$name"
	c=$T/con.$name
	check "$how: the guest boots" wait_for "$c" 'VMDGUEST: boot' 10
	pid1=$(vm_field "$name" 2)
	check "$how: the guest resets and boots again" \
	    sh -c "i=0; while [ \$i -lt 200 ]; do \
	        [ \$(grep -c 'VMDGUEST: boot' $c) -ge 2 ] && exit 0; \
	        sleep 0.05; i=\$((i+1)); done; exit 1"
	check "$how: restarted too quickly, then stopped" \
	    wait_for "$T/vmd.log" "vm [0-9]+ restarted too quickly" 15
	# the console may still be relaying the last boot
	i=0
	while [ "$(count_in "$c" 'VMDGUEST: boot')" -lt 3 ] && [ $i -lt 40 ]; do
		sleep 0.05; i=$((i + 1))
	done
	is "$how: booted three times" 3 "$(count_in "$c" 'VMDGUEST: boot')"
	check "$how: stopped and gone" wait_gone "$name" 5
	: "$pid1"
done

# a slow reboot loop is not rate limited: the guest reboots after 6+ s
vmctl start -m 32M -b "$GUEST_ELF" -k "console=ttyS0 run=tick:7,reboot" slow \
    >/dev/null 2>&1
con_open slow
check "slow reboot: the guest restarts" \
    sh -c "i=0; while [ \$i -lt 400 ]; do \
        [ \$(grep -c 'VMDGUEST: boot' $T/con.slow) -ge 2 ] && exit 0; \
        sleep 0.05; i=\$((i+1)); done; exit 1"
is "slow reboot: still running after the restart" running \
    "$(vm_field slow 8)"
is "slow reboot: keeps its id" 3 "$(vm_field slow 1)"
vmctl stop -f slow >/dev/null 2>&1
check "vmd still runs" vmd_alive
