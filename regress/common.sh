# Helpers shared by the host's regress tests (regress/lib.sh) and the
# scenarios in the nested test host (regress/nested/lib.sh): waiting for
# console output and VM states, consoles captured to files.
#
# The includer sets VMCTL, SOCK, T (the test's directory), _holders
# (processes to kill at the end) and POLL_HZ (polls per second).  Loop
# variables start with "_" so that a caller's i, j and n are left alone.

_poll_s=$(awk -v h="$POLL_HZ" 'BEGIN { print 1 / h }')

# wait_for FILE REGEX [SECONDS]: until FILE has a line matching REGEX
wait_for() {
	_wn=$(( ${3:-10} * POLL_HZ ))
	_wi=0
	while [ $_wi -lt $_wn ]; do
		grep -Eq -- "$2" "$1" 2>/dev/null && return 0
		sleep "$_poll_s"
		_wi=$((_wi + 1))
	done
	return 1
}

# count_in FILE REGEX
count_in() { grep -Ec -- "$2" "$1" 2>/dev/null || true; }

# con_open NAME: attach "vmctl console NAME", output to $T/con.NAME,
# input from the fifo $T/in.NAME (kept open by a holder process)
con_open() {
	mkfifo "$T/in.$1"
	"$VMCTL" -s "$SOCK" console "$1" <"$T/in.$1" >"$T/con.$1" 2>&1 &
	_holders="$_holders $!"
	sleep 100000 >"$T/in.$1" &
	_holders="$_holders $!"
}

# con_send NAME TEXT: type TEXT into the console of NAME
con_send() {
	timeout 5 sh -c 'printf "%s" "$1" >"$2"' sh "$2" "$T/in.$1" ||
	    echo "# console of $1 is not reading"
}

# vm_field NAME COLUMN: one column of "vmctl status" for NAME
vm_field() {
	"$VMCTL" -s "$SOCK" status 2>/dev/null | awk -v n="$1" -v c="$2" \
	    'NR > 1 && $NF == n { print $c }'
}

# wait_state NAME STATE [SECONDS]
wait_state() {
	_wn=$(( ${3:-10} * POLL_HZ ))
	_wi=0
	while [ $_wi -lt $_wn ]; do
		[ "$(vm_field "$1" 8)" = "$2" ] && return 0
		sleep "$_poll_s"
		_wi=$((_wi + 1))
	done
	return 1
}

# wait_gone NAME [SECONDS]: until NAME is not listed any more
wait_gone() {
	_wn=$(( ${2:-10} * POLL_HZ ))
	_wi=0
	while [ $_wi -lt $_wn ]; do
		[ -z "$(vm_field "$1" 9)" ] && return 0
		sleep "$_poll_s"
		_wi=$((_wi + 1))
	done
	return 1
}

# until_ok SECONDS CMD ...: until CMD succeeds (vmd may finish setting
# up an interface after vmctl start returns)
until_ok() {
	_wn=$(( $1 * POLL_HZ ))
	shift
	_wi=0
	while [ $_wi -lt $_wn ]; do
		"$@" && return 0
		sleep "$_poll_s"
		_wi=$((_wi + 1))
	done
	"$@"
}
