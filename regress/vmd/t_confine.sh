# each of vmd's running processes is confined as vmd.8 says: its user,
# capabilities, seccomp filter, no_new_privs, and for a VM process its
# own pid and network namespaces and an empty root (t_sandbox tries what
# each filter forbids; this checks the real processes carry them)
. "$top/regress/lib.sh"

vmd_start
check "a guest is up" run_guest c1 '^HELLO' 20 -k "console=ttyS0 run=hello"

VMDUID=$(id -u _vmd)

# field NAME PID: a field of /proc/PID/status
field() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$2/status"; }

CONTROL=$(child control)
VMM=$(child vmm)
PRIV=$(child priv)
VM=$(vm_field c1 2)
[ -n "$CONTROL" ] && [ -n "$VMM" ] && [ -n "$PRIV" ] && [ -n "$VM" ] ||
    nok "found every process: control=$CONTROL vmm=$VMM priv=$PRIV vm=$VM"

# parent: root, with eleven capabilities and the rest out of the bounding set
is "parent: uid" 0 "$(field Uid $VMD_PID)"
is "parent: capabilities" 00000000000c11ef "$(field CapEff $VMD_PID)"
is "parent: bounding set" 00000000000c11ef "$(field CapBnd $VMD_PID)"

for p in control:$CONTROL vmm:$VMM priv:$PRIV vm:$VM; do
	n=${p%%:*} pid=${p#*:}
	is "$n: runs as _vmd" "$VMDUID" "$(field Uid "$pid")"
	is "$n: seccomp filter" 2 "$(field Seccomp "$pid")"
	is "$n: no_new_privs" 1 "$(field NoNewPrivs "$pid")"
	is "$n: no ambient capabilities" 0000000000000000 \
	    "$(field CapAmb "$pid")"
	# /proc/PID of a process that is not dumpable is root's
	is "$n: not dumpable (no ptrace, no core)" 0 \
	    "$(stat -c %u /proc/"$pid"/mem)"
done
is "control: no capabilities" 0000000000000000 "$(field CapEff $CONTROL)"
is "vmm: no capabilities" 0000000000000000 "$(field CapEff $VMM)"
is "priv: CAP_NET_ADMIN only" 0000000000001000 "$(field CapEff $PRIV)"
is "priv: bounding set CAP_NET_ADMIN" 0000000000001000 \
    "$(field CapBnd $PRIV)"
is "vm: no capabilities" 0000000000000000 "$(field CapEff $VM)"
is "control: chrooted to the empty directory" /var/empty \
    "$(readlink /proc/$CONTROL/root)"

# the VM process: pid 1 of its own pid namespace, its own network and
# mount namespaces, root in an empty directory
is "vm: pid 1 in a pid namespace of its own" "$VM 1" \
    "$(awk '$1 == "NSpid:" { print $2, $3 }' /proc/$VM/status)"
for ns in pid net mnt ipc uts user; do
	a=$(readlink /proc/$VMM/ns/$ns) b=$(readlink /proc/$VM/ns/$ns)
	[ -n "$a" ] && [ "$a" != "$b" ] && ok "vm: its own $ns namespace" ||
	    nok "vm: its own $ns namespace ($a, $b)"
done
is "vm: root is the empty directory" /var/empty "$(readlink /proc/$VM/root)"
is "vm: no network interface but lo" lo \
    "$(nsenter -t "$VM" -n ip -o link show | awk -F': ' '{ print $2 }')"

# and it still does its work: status reads its memory, console, stop
cur=$(vm_field c1 5)
[ -n "$cur" ] && [ "$cur" != 0B ] && ok "status: CURMEM read ($cur)" ||
    nok "status: CURMEM read ($cur)"
con_send c1 'echo confined
'
check "the confined guest answers" wait_for "$T/con.c1" '^ECHO confined' 10
vmctl stop -f c1 >/dev/null 2>&1
check "it stops" wait_gone c1 10
check "its process is gone" sh -c "! kill -0 $VM 2>/dev/null"
check "no seccomp kill in the log" \
    sh -c "! grep -q -E 'signal 31|sandbox refused' $T/vmd.log"
