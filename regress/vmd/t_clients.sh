# many clients at once, and hostile ones, while root asks: 150 of root's
# and 32 of nobody's asking without pause, 20 writing a byte at a time, one
# flooding without reading, garbage, an oversized frame, descriptors sent
# unasked; root's requests are answered within a second each, every slow
# client is answered, vmd keeps no descriptor of theirs, the VM runs on
. "$top/regress/lib.sh"

B=$BUILD/tools/badimsg
C=$BUILD/tools/clients

cat >"$T/vm.conf" <<CONF
socket owner :nogroup
vm "live" {
	memory 16M
	boot "$GUEST_ELF"
	cmdline "console=ttyS0 run=hello"
}
CONF
vmd_start -f "$T/vm.conf"
check "the VM is up" wait_state live running 10
con_open live
check "it boots" wait_for "$T/con.live" '^HELLO' 20

control=
for p in $(ps -o pid= --ppid "$VMD_PID"); do
	case "$(tr '\0' ' ' <"/proc/$p/cmdline")" in
	*control*) control=$p;;
	esac
done
fds0=$(ls /proc/$control/fd | wc -l)

# one-off hostile frames first: each is hung up on
is "an oversized frame: hung up on" closed "$($B "$SOCK" oversized)"
is "descriptors sent unasked" sent "$($B "$SOCK" fds)"

"$C" "$SOCK" busy 150 6 >"$T/busy.root" 2>&1 &
b1=$!
setpriv --reuid=nobody --regid=nogroup --clear-groups \
    "$C" "$SOCK" busy 32 6 >"$T/busy.nobody" 2>&1 &
b2=$!
"$C" "$SOCK" slow 20 8 >"$T/slow" 2>&1 &
s1=$!
"$B" "$SOCK" flood >"$T/flood" 2>&1 &
f1=$!
"$B" "$SOCK" garbage >"$T/garbage" 2>&1 &
sleep 0.5
"$C" "$SOCK" probe 1 5 >"$T/probe" 2>&1
wait $b1 $b2 $s1 $f1

read -r _ probes _ failed _ max <"$T/probe"
echo "# root's probes under load: $(cat "$T/probe")"
echo "# root's busy clients: $(cat "$T/busy.root")," \
    "nobody's: $(cat "$T/busy.nobody")"
[ "${probes:-0}" -ge 5 ] && ok "root probed ${probes:-0} times" ||
    nok "root probed ${probes:-0} times"
is "every probe of root's was answered" 0 "$failed"
[ -n "$max" ] && [ "$max" -lt 1000 ] &&
    ok "root answered within a second each (max ${max} ms)" ||
    nok "root answered within a second each (max ${max:-?} ms)"
like "root's busy clients were answered" '^answers [1-9][0-9]*$' \
    "$(cat "$T/busy.root")"
like "nobody's were too" '^answers [1-9][0-9]*$' "$(cat "$T/busy.nobody")"
is "every slow client was answered" "answered 20 of 20" "$(cat "$T/slow")"
like "the flooder was hung up on" 'closed$' "$(cat "$T/flood")"
is "garbage: hung up on" closed "$(cat "$T/garbage")"

# nothing of theirs is left in the control process
sleep 1
fds1=$(ls /proc/$control/fd | wc -l)
is "control holds as many descriptors as before ($fds0)" "$fds0" "$fds1"
check "vmd still runs" vmd_alive
is "the VM still runs" running "$(vm_field live 8)"
con_send live 'echo after-the-crowd
'
check "and answers" wait_for "$T/con.live" '^ECHO after-the-crowd' 5
