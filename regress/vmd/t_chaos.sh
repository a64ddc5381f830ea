# A hostile guest (the test guest's "chaos", regress/guest/chaos.c): for
# a few seeds, random values to every port, PCI config register and
# memory BAR vmd emulates, and malformed rings to every virtio device,
# while a bystander VM runs.  vmd and the bystander live through it; a
# chaos VM in the default mode ("safe": it leaves out the writes that
# legitimately power off or reset a VM, SLP_EN, 0xcf9's RST_CPU, the
# i8042's 0xfe and a vmmci shutdown or reboot) still runs and answers
# on its console afterwards; one in "all" mode may also end, but only
# as a VM does, with vmd's log saying so (powered off, rebooting), never
# by a signal.  The guest's own errors are rate-limited in the log.
# CHAOS_SECS: how long each runs; CHAOS_SEEDS: the seeds of safe mode.
. "$top/regress/lib.sh"
secs=${CHAOS_SECS:-12}
seeds=${CHAOS_SEEDS:-"1 2"}
if [ "$(id -u)" -ne 0 ]; then
	skip "chaos" "needs root (taps, ip netns)"
	exit 0
fi
if ! netns_new; then
	nok "a network namespace for the test (ip netns add)"
	exit 1
fi
vmd_start

run_guest by '^HELLO' 30 -k "console=ttyS0 run=hello"

# chaos NAME SEED MODE: start one, with a disk, a CD-ROM and an interface
chaos() {
	truncate -s 16M "$T/$1.raw"
	truncate -s 2M "$T/$1.iso"
	vmctl start -m 64M -b "$GUEST_ELF" -d "$T/$1.raw" -r "$T/$1.iso" -L \
	    -k "console=ttyS0 run=chaos seed=$2 time=$secs chaos=$3" "$1" \
	    >"$T/start.$1" 2>&1
	con_open "$1"
}
for s in $seeds; do
	chaos "c$s" "$s" safe
done
allseed=$(( $(echo $seeds | awk '{ print $NF }') + 100 ))
chaos call "$allseed" all

for s in $seeds; do
	c=$T/con.c$s
	# the line whole: the prompt follows it
	if wait_for "$c" '^CHAOS DONE' $((secs + 60)) &&
	    wait_for "$c" '^vmdguest> ' 10; then
		ok "seed $s: the hostile guest ran for ${secs}s"
	else
		nok "seed $s: the hostile guest ran for ${secs}s"
	fi
	echo "# $(line "c$s" 'CHAOS DONE')"
	like "seed $s: it said its seed" "^CHAOS seed=$s time=$secs mode=safe" \
	    "$(line "c$s" 'CHAOS seed')"
	n=$(count_in "$c" '^CHAOS t=')
	check "seed $s: progress lines ($n)" test "$n" -ge $((secs / 2))
	is "seed $s: the VM still runs" running "$(vm_field "c$s" 8)"
	con_send "c$s" 'echo after-chaos
'
	check "seed $s: its console still answers" \
	    wait_for "$c" '^ECHO after-chaos' 20
	n=$(grep -c "c$s: " "$T/vmd.log")
	check "seed $s: its lines in the log are few ($n)" test "$n" -le 40
done

# all mode: done and running, or ended with a reason vmd logged
ca=$T/con.call
i=0
while [ $i -lt $((secs + 30)) ] && ! grep -q '^vmdguest> ' "$ca" &&
    [ -n "$(vm_field call 8)" ]; do
	sleep 1
	i=$((i + 1))
done
if grep -q '^CHAOS DONE' "$ca" && [ "$(vm_field call 8)" = running ]; then
	ok "all mode: the guest ran to its end"
elif grep -Eq 'call: (vm [0-9]+ (is rebooting|stopped)|.*powered off)' \
    "$T/vmd.log"; then
	ok "all mode: the VM ended or reset as a guest may ($(grep -Eo \
	    'call: vm [0-9]+ (is rebooting|stopped)' "$T/vmd.log" | head -n 1))"
else
	nok "all mode: the VM ran to its end, or ended with a reason"
fi

check "vmd still runs" vmd_alive
con_send by 'echo still-here
'
check "the bystander answers on its console" \
    wait_for "$T/con.by" '^ECHO still-here' 10
is "the bystander still runs" running "$(vm_field by 8)"
is "no VM died of a signal, nothing crashed" "" \
    "$(grep -E 'killed by signal|crashed|lost child|fatal|AddressSanitizer|runtime error' "$T/vmd.log")"
vmctl stop -f -a >/dev/null 2>&1
for s in $seeds; do
	wait_gone "c$s" 10 || nok "c$s stops"
done
check "they all stop" wait_gone by 10
