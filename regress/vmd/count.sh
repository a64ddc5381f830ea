# Host side of the test guest's "count" command (regress/guest/README):
# checks the COUNT lines of a console capture.  Sourced by the tests.
#
# count_check FILE: prints "ok" (and returns 0) if FILE has at least two
#	COUNT lines and from each to the next n goes up by exactly 1 and
#	r = r * 1103515245 + 12345 + n mod 2^32 holds; else prints the first
#	bad line (a COUNT FAIL line is bad too, and so is a garbled COUNT
#	line) and returns 1.  CRs are ignored; COUNT END lines are skipped.
# count_last FILE: prints the n of the last COUNT line (nothing, and
#	returns 1, if there is none).
# count_join A B: the console captures A and B (vmctl console's output)
#	as one stream, as the guest wrote it: A without the "[EOT]" vmctl
#	ends it with, B without its "Connected to" line, so that a line the
#	guest was writing when it was sent, begun in A, ends in B.
#
# 64-bit shell arithmetic: r * 1103515245 < 2^63.

_cc_x='[0-9a-f]'
_cc_hex=$_cc_x$_cc_x$_cc_x$_cc_x$_cc_x$_cc_x$_cc_x$_cc_x

count_check() {
	tr -d '\r' <"$1" | _count_check
}

# the COUNT lines of standard input, as count_check
_count_check() {
	_cc_n= _cc_r= _cc_lines=0
	while IFS= read -r _cc_l; do
		case $_cc_l in
		*"COUNT END "*)
			continue ;;
		*"COUNT n="[0-9]*" r="$_cc_hex" m="$_cc_hex" t="[0-9]*)
			;;
		*"COUNT "*)
			printf '%s\n' "$_cc_l"
			return 1 ;;
		*)
			continue ;;
		esac
		_cc_w=${_cc_l#*COUNT n=}
		_cc_nn=${_cc_w%% *}
		_cc_w=${_cc_w#* r=}
		_cc_rr=$((0x${_cc_w%% *}))
		case $_cc_nn in
		*[!0-9]*)
			printf '%s\n' "$_cc_l"
			return 1 ;;
		esac
		if [ -n "$_cc_n" ] && { [ "$_cc_nn" -ne $((_cc_n + 1)) ] ||
		    [ "$_cc_rr" -ne $(((_cc_r * 1103515245 + 12345 + _cc_nn) &
		    0xffffffff)) ]; }; then
			printf '%s\n' "$_cc_l"
			return 1
		fi
		_cc_n=$_cc_nn _cc_r=$_cc_rr _cc_lines=$((_cc_lines + 1))
	done
	if [ "$_cc_lines" -lt 2 ]; then
		echo "only $_cc_lines COUNT lines"
		return 1
	fi
	echo ok
}

count_last() {
	_cl=$(tr -d '\r' <"$1" | sed -n 's/.*COUNT n=\([0-9][0-9]*\) .*/\1/p' |
	    tail -n 1)
	[ -n "$_cl" ] || return 1
	echo "$_cl"
}

count_join() {
	if [ "$(tail -c 9 "$1" | od -An -c | tr -d ' \n')" = '\r\n[EOT]\r\n' ]
	then
		head -c $(( $(wc -c <"$1") - 9 )) "$1"
	else
		cat "$1"
	fi
	sed '1{/^Connected to /d;}' "$2"
}
