# malformed and hostile requests on the control socket: a clear refusal or
# a dropped connection, and vmd and a running VM unharmed
. "$top/regress/lib.sh"
vmd_start
B=$BUILD/tools/badimsg

vmctl start -m 16M -b "$GUEST_ELF" -k "console=ttyS0 run=hello" live >/dev/null 2>&1
con_open live
wait_for "$T/con.live" '^HELLO' 10

is "header shorter than itself: connection dropped" closed "$($B "$SOCK" short)"
is "truncated frame then EOF: connection dropped" closed "$($B "$SOCK" truncated)"
is "garbage then EOF: connection dropped" closed "$($B "$SOCK" garbage)"
is "wrong protocol version: EPROTONOSUPPORT" "fail 93" "$($B "$SOCK" version)"
is "start request of the wrong size: EINVAL" "fail 22" "$($B "$SOCK" startlen)"
is "pause request of the wrong size: EINVAL" "fail 22" "$($B "$SOCK" pauselen)"
is "reset request of the wrong size: EINVAL" "fail 22" "$($B "$SOCK" resetlen)"
is "load path without NUL: EINVAL" "fail 22" "$($B "$SOCK" loadnonul)"
is "unknown message type: EINVAL" "fail 22" "$($B "$SOCK" type)"

# a client that asks and asks and never reads: others are answered, and
# it is hung up on
$B "$SOCK" flood >"$T/flood.out" 2>&1 &
fp=$!
_holders="$_holders $fp"
sleep 1
like "root is answered while a client floods" ' running live$' \
    "$(timeout 5 "$VMCTL" -s "$SOCK" status 2>&1)"
wait $fp
like "the flooding client is hung up on" 'closed$' "$(cat "$T/flood.out")"
check "and vmd says why" grep -q 'replies unread, disconnected' \
    "$T/vmd.log"
like "root is answered after it" ' running live$' \
    "$(timeout 5 "$VMCTL" -s "$SOCK" status 2>&1)"

check "vmd still runs" vmd_alive
is "the VM still runs" running "$(vm_field live 8)"
con_send live 'echo still-here
'
check "and still answers" wait_for "$T/con.live" '^ECHO still-here' 5
