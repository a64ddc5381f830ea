#
# Copyright (c) 2026 The vmd-linux project
#
# Permission to use, copy, modify, and distribute this software for any
# purpose with or without fee is hereby granted, provided that the above
# copyright notice and this permission notice appear in all copies.
#
# THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
# WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
# MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
# ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
# WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
# ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
# OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.

# Sourced by regress/nested/run, regress/nested/demo and bench/linux: the
# QEMU command line of the nested test host (L1), and its watchdog.  TCG with an SVM CPU
# model (EPYC: "-cpu max" has hung L1 here), two vCPUs, 4 GiB, no network;
# no speculation mitigations in L1 (they cost much under TCG and guard
# nothing in a throwaway test host).
#
#   l1_qemu INITRD "L1 ARGS" [QEMU OPTIONS ...]	(exec's QEMU)

l1_qemu() {
	_initrd=$1 _args=$2
	shift 2
	exec qemu-system-x86_64 -accel tcg,thread=${L1_TCG_THREAD:-multi} \
	    -cpu EPYC -smp ${L1_SMP:-2} -m 4096 \
	    -no-reboot -net none -kernel "$N/vmlinuz" -initrd "$_initrd" \
	    -append "console=ttyS0 loglevel=1 panic=-1 mitigations=off $_args" \
	    "$@"
}

# l1_watch PID LOG SECONDS: wait for the L1 QEMU PID, whose console goes
# to LOG; kill it after SECONDS in all, or after 60 s without a byte of
# output (L1's /init prints a heartbeat every 10 s while it works; the
# kernel's soft lockup reports of a starved L1 are not progress).  Sets
# L1_HUNG and L1_TIMEDOUT (0 or 1); returns QEMU's exit status.
l1_watch() {
	L1_HUNG=0 L1_TIMEDOUT=0
	_t0=$(date +%s) _last=-1 _still=0
	while kill -0 "$1" 2>/dev/null; do
		sleep 2
		_sz=$(grep -v 'soft lockup' "$2" | wc -c)
		if [ "$_sz" = "$_last" ]; then
			_still=$((_still + 2))
		else
			_still=0 _last=$_sz
		fi
		if [ $_still -ge 60 ]; then
			L1_HUNG=1
		elif [ $(($(date +%s) - _t0)) -ge "$3" ]; then
			L1_TIMEDOUT=1
		else
			continue
		fi
		kill -9 "$1" 2>/dev/null
		break
	done
	wait "$1"
}

# l1_bench NAME BENCH SECONDS [QEMU OPTIONS ...]: a bench session of L1
# (l1-bench-initrd.gz, t.bench=BENCH, bench.sh) within SECONDS, once
# more if L1 hangs (seen now and then under TCG); prints the bench's own
# lines and returns 0 if it ended with BENCH-RC=0.  The console of a
# session that failed stays in $N/logs.  Needs $top.
l1_bench() {
	_name=$1 _bench=$2 _tmo=$3
	shift 3
	mkdir -p "$N/logs"
	_log=$N/logs/$_name.$$
	_try=1
	while :; do
		echo "$_name: progress in $_log"
		sh -c '. "$1/regress/nested/host.sh"; N=$2; shift 2; l1_qemu "$@"' \
		    sh "$top" "$N" "$N/l1-bench-initrd.gz" "t.bench=$_bench" \
		    -nographic -monitor none "$@" </dev/null >"$_log" 2>&1 &
		l1_watch $! "$_log" "$_tmo"
		[ "$L1_HUNG" -eq 1 ] && [ $_try -lt 2 ] || break
		echo "$_name: the nested host stopped (no output for 60 s); again"
		_try=$((_try + 1))
	done
	tr -d '\r' <"$_log" | sed -n -e '/^bench/p' -e '/^  /p' \
	    -e '/^notes:/p' -e '/^$/p'
	_rc=$(tr -d '\r' <"$_log" | sed -n 's/^BENCH-RC=//p')
	case $_rc in
	0)	rm -f "$_log"; return 0 ;;
	"")	echo "$_name: the nested session ended early; its console:" \
		    "$_log" >&2 ;;
	*)	echo "$_name: a run failed; the console: $_log" >&2 ;;
	esac
	return 1
}
