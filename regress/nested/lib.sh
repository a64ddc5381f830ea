#!/bin/sh
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

# Helpers of the scenarios in L1: a private vmd per scenario, consoles
# captured to files, "ok"/"not ok" lines.  On a failure the vmd log and
# the consoles go to the console with a "# " prefix.

SOCK=/tmp/vmd.sock
K=/l2/vmlinuz
I=/l2/initrd.gz
T=$(mktemp -d /tmp/t.XXXXXX)
FAILED=0
VMD_PID=
_holders=

ok() { echo "ok - $*"; }
nok() { echo "not ok - $*"; FAILED=1; }
check() {
	desc=$1; shift
	if "$@" >/dev/null 2>&1; then ok "$desc"; else nok "$desc"; fi
}
vmctl() { /usr/sbin/vmctl -s "$SOCK" "$@"; }

cleanup() {
	if [ "$FAILED" -ne 0 ] && vmctl status 2>/dev/null | grep -q ' running '; then
		vmctl status | sed 's/^/# /'
		kvm_trace
	fi
	for p in $_holders; do kill "$p" 2>/dev/null; done
	if [ -n "$VMD_PID" ]; then
		kill "$VMD_PID" 2>/dev/null
		i=0
		while kill -0 "$VMD_PID" 2>/dev/null && [ $i -lt 50 ]; do
			sleep 0.1; i=$((i + 1))
		done
		kill -9 "$VMD_PID" 2>/dev/null
	fi
	if [ "$FAILED" -ne 0 ] || [ -n "$VERBOSE" ]; then
		echo "# --- vmd log ---"
		sed 's/^/# /' "$T/vmd.log" | tail -n 60
		for f in "$T"/con.*; do
			[ -f "$f" ] || continue
			echo "# --- $(basename "$f") ---"
			tr -d '\r' <"$f" | sed 's/^/# /' | tail -n 400
		done
		dmesg | grep -i -E 'kvm|svm' | tail -n 10 | sed 's/^/# dmesg: /'
	fi
	rm -rf "$T" "$SOCK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

vmd_start() {
	rm -f "$SOCK"
	/usr/sbin/vmd -d $VERBOSE -s "$SOCK" >"$T/vmd.log" 2>&1 &
	VMD_PID=$!
	i=0
	while [ $i -lt 100 ]; do
		[ -S "$SOCK" ] && return 0
		kill -0 "$VMD_PID" 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	nok "vmd started"
	exit 1
}

VMCTL=/usr/sbin/vmctl
POLL_HZ=10
. /t/common.sh

now() { cut -d' ' -f1 /proc/uptime; }

# start NAME CMDLINE-EXTRA: a 256M Linux guest with its console open
start() {
	vmctl start -m 256M -b "$K" -I "$I" \
	    -k "console=ttyS0 loglevel=4 panic=-1 $2" "$1" >"$T/start.$1" 2>&1 ||
	    { nok "$1: vmctl start"; cat "$T/start.$1"; return 1; }
	con_open "$1"
}

# kvm_trace: a second of KVM exits (reason, rip) and the vCPU threads'
# states, for a guest that hangs
kvm_trace() {
	tr=/sys/kernel/tracing
	[ -d "$tr/events" ] || mount -t tracefs tracefs "$tr" 2>/dev/null
	for t in /proc/[0-9]*/task/*; do
		case $(cat "$t/comm" 2>/dev/null) in
		vmd*|vm*|*vcpu*)
			echo "# task $t $(cat "$t/comm") state $(cut -d' ' -f3 "$t/stat")" ;;
		esac
	done
	echo 1 >"$tr/events/kvm/kvm_exit/enable" 2>/dev/null || return 0
	echo 1 >"$tr/events/kvm/kvm_inj_virq/enable" 2>/dev/null
	echo 1 >"$tr/tracing_on"
	sleep 1
	echo 0 >"$tr/tracing_on"
	grep -v '^#' "$tr/trace" | head -n 40 | sed 's/^/# trace: /'
	echo "# trace: $(grep -c kvm_exit "$tr/trace") exits in 1 s"
	echo 0 >"$tr/events/kvm/kvm_exit/enable"
	echo >"$tr/trace"
}
