# kill -9 of each of vmd's processes in turn (parent, control, vmm, priv)
# with vm.conf's VMs running (a disk each, one with a local interface):
# every process of that vmd goes, no VM process is left behind, no tap is
# left, the disks' locks go with them, and a vmd started again starts
# vm.conf's VMs again, which boot
. "$top/regress/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip "kill -9" "needs root (taps, ip netns)"
	exit 0
fi
netns_new || { nok "ip netns add"; exit 1; }

truncate -s 8M "$T/a.raw" "$T/b.raw"
cat >"$T/vm.conf" <<CONF
vm "ka" {
	memory 16M
	boot "$GUEST_ELF"
	cmdline "console=ttyS0 run=hello"
	disk "$T/a.raw"
	local interface
}
vm "kb" {
	memory 16M
	boot "$GUEST_ELF"
	cmdline "console=ttyS0 run=hello"
	disk "$T/b.raw"
}
CONF

# every pid of vmd's process tree: its parent, the children, the VMs
tree() {
	_t=$1
	for _c in $(ps -o pid= --ppid "$1"); do _t="$_t $(tree "$_c")"; done
	echo "$_t"
}

# all_gone PIDS...: none of them lives (a zombie whose threads have all
# ended counts as gone: its descriptors, and the disks' locks, are)
all_gone() {
	for _p in "$@"; do
		[ -d "/proc/$_p" ] || continue
		[ "$(awk '$1 == "State:" { print $2 }' /proc/$_p/status \
		    2>/dev/null)" = Z ] &&
		    [ "$(ls /proc/$_p/task 2>/dev/null | wc -l)" -le 1 ] &&
		    continue
		return 1
	done
	return 0
}

wait_all_gone() {
	_i=0
	while [ $_i -lt 100 ]; do
		all_gone "$@" && return 0
		sleep 0.1; _i=$((_i + 1))
	done
	return 1
}

taps() { nsx ip -o link show type tun | grep -c 'vm[0-9]'; }
wait_notaps() {
	_i=0
	while [ $_i -lt 50 ]; do
		[ "$(taps)" -eq 0 ] && return 0
		sleep 0.1; _i=$((_i + 1))
	done
	return 1
}

round=0
for victim in parent control vmm priv; do
	round=$((round + 1))
	mv "$T/vmd.log" "$T/vmd.log.$round" 2>/dev/null
	rm -f "$SOCK"	# a killed parent leaves it: vmd_start must wait
	vmd_start -f "$T/vm.conf"
	rm -f "$T/con.ka" "$T/con.kb" "$T/in.ka" "$T/in.kb"
	if wait_state ka running 15; then
		ok "$victim: ka is up"
	else
		nok "$victim: ka is up"
		sed 's/^/# log: /' "$T/vmd.log"
	fi
	check "$victim: kb is up" wait_state kb running 10
	con_open ka
	con_open kb
	for v in ka kb; do
		if wait_for "$T/con.$v" '^HELLO' 20; then
			ok "$victim: $v boots (again)"
		else
			nok "$victim: $v boots (again)"
			sed "s/^/# $v: /" "$T/con.$v"
			vmctl status | sed 's/^/# /'
		fi
	done
	is "$victim: ka's tap is there" 1 "$(taps)"
	pids=$(tree "$VMD_PID")
	is "$victim: six processes" 6 "$(echo $pids | wc -w)"
	if [ $victim = parent ]; then
		pid=$VMD_PID
	else
		pid=$(child "$victim")
	fi
	kill -9 "$pid"
	check "$victim: killed: every process of that vmd is gone" \
	    wait_all_gone $pids
	# (a tap goes once its last descriptor does, the kernel's work
	# done a moment later)
	check "$victim: no tap is left" wait_notaps
	# (the disks' locks: the next round starts both VMs on them again)
	# lib.sh's cleanup must not wait on it: it is gone
	wait "$VMD_PID" 2>/dev/null
	VMD_PID=
done

mv "$T/vmd.log" "$T/vmd.log.$round"
rm -f "$SOCK"
vmd_start -f "$T/vm.conf"
rm -f "$T/con.ka" "$T/con.kb" "$T/in.ka" "$T/in.kb"
check "after it all: ka starts again" wait_state ka running 10
con_open ka
check "after it all: ka boots" wait_for "$T/con.ka" '^HELLO' 20
