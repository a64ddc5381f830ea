# Helpers for the regress shell tests: a private vmd on its own socket,
# vmctl against it, consoles captured to files, TAP output.
#
# A test does:  . "$top/regress/lib.sh"; vmd_start; ...; (cleanup is automatic)

: "${BUILD:?BUILD not set}"
: "${top:?top not set}"
VMD=$BUILD/vmd
VMCTL=$BUILD/vmctl
GUEST_ELF=$BUILD/guest/guest.elf
GUEST_BZ=$BUILD/guest/guest.bzImage
GUEST_PVH=$BUILD/guest/guest-pvh.elf

T=$(mktemp -d /tmp/vmdt.XXXXXX)
chmod 755 "$T"
SOCK=$T/vmd.sock
VMD_PID=
NETNS= NETNS_MORE=
FAILED=0
_holders=

cleanup() {
	for p in $_holders; do kill "$p" 2>/dev/null; done
	if [ -n "$VMD_PID" ]; then
		kill "$VMD_PID" 2>/dev/null
		i=0
		while kill -0 "$VMD_PID" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1; i=$((i + 1))
		done
		kill -9 "$VMD_PID" 2>/dev/null
	fi
	# a VM process its sandbox killed is a failure in any test
	if grep -E 'signal 31|sandbox refused' "$T/vmd.log" 2>/dev/null |
	    sed 's/^/# /' | grep .; then
		nok "no VM process died of its sandbox"
	fi
	if [ "$FAILED" -ne 0 ] && [ -f "$T/vmd.log" ]; then
		echo "# --- vmd log ---"
		sed 's/^/# /' "$T/vmd.log" | tail -n 40
		for f in "$T"/con.*; do
			[ -f "$f" ] || continue
			echo "# --- $(basename "$f") ---"
			sed 's/^/# /' "$f" | tail -n 20
		done
	fi
	for _ns in $NETNS $NETNS_MORE; do ip netns del "$_ns" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; FAILED=1; }
skip() { echo "ok - $1 # SKIP $2"; }

# check DESC CMD...: passes if CMD exits 0
check() {
	desc=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$desc"; else nok "$desc"; fi
}

# is DESC EXPECTED ACTUAL
is() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		nok "$1"
		echo "#   expected: $2"
		echo "#   got:      $3"
	fi
}

# like DESC REGEX ACTUAL
like() {
	if printf '%s\n' "$3" | grep -Eq -- "$2"; then
		ok "$1"
	else
		nok "$1"
		echo "#   expected to match: $2"
		echo "#   got: $3"
	fi
}

vmctl() { "$VMCTL" -s "$SOCK" "$@"; }

# run DESC STATUS OUTPUT CMD...: the exit status and output (stdout and
# stderr together) of CMD are exactly these
run_is() {
	desc=$1 est=$2 eout=$3; shift 3
	out=$("$@" 2>&1)
	st=$?
	if [ "$st" = "$est" ] && [ "$out" = "$eout" ]; then
		ok "$desc"
	else
		nok "$desc"
		echo "#   expected status $est, output: $eout"
		echo "#   got status $st, output: $out"
	fi
}

# vmd_start [vmd args...]: a private vmd in the foreground mode, logging to
# $T/vmd.log, ready when its socket answers
vmd_start() {
	if [ -n "$NETNS" ]; then
		ip netns exec "$NETNS" "$VMD" -d -s "$SOCK" "$@" \
		    >"$T/vmd.log" 2>&1 &
	else
		"$VMD" -d -s "$SOCK" "$@" >"$T/vmd.log" 2>&1 &
	fi
	VMD_PID=$!
	i=0
	while [ $i -lt 100 ]; do
		[ -S "$SOCK" ] && "$VMCTL" -s "$SOCK" status >/dev/null 2>&1
		[ -S "$SOCK" ] && return 0
		kill -0 "$VMD_PID" 2>/dev/null || break
		sleep 0.05; i=$((i + 1))
	done
	nok "vmd started"
	cat "$T/vmd.log"
	exit 1
}

vmd_alive() { kill -0 "$VMD_PID" 2>/dev/null; }

# the child of vmd's parent whose title is NAME
child() {
	for _p in $(ps -o pid= --ppid "$VMD_PID"); do
		case "$(tr '\0' ' ' <"/proc/$_p/cmdline")" in
		*"$1"*) echo "$_p"; return;;
		esac
	done
}

# run_guest NAME MARKER SECONDS VMCTL-START-ARGS...: boot the test guest,
# wait for MARKER on its console; the console is in $T/con.NAME
run_guest() {
	_n=$1 _m=$2 _s=$3
	shift 3
	vmctl start -m 64M -b "$GUEST_ELF" "$@" "$_n" >"$T/start.$_n" 2>&1
	con_open "$_n"
	wait_for "$T/con.$_n" "$_m" "$_s"
}

# line NAME PREFIX: the first console line of NAME that starts so
line() { grep -a "^$2" "$T/con.$1" | tr -d '\r' | head -n 1; }

# netns_new: a network namespace of the test's own (removed at its end,
# as are those named in NETNS_MORE), for vmd_start and nsx; nothing the
# test's VMs send leaves it
netns_new() {
	NETNS=vmdt$$
	ip netns add "$NETNS" || return 1
	ip -n "$NETNS" link set lo up
}
nsx() { ip netns exec "$NETNS" "$@"; }

POLL_HZ=20
. "$top/regress/common.sh"

# fnv1a FILE: the 32-bit FNV-1a the test guest prints for its initrd
fnv1a() { "$BUILD/guest/fnvsum" "$1"; }
