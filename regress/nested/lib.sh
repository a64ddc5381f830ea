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
	# a VM process its sandbox killed is a failure wherever it happens
	if grep -E 'signal 31|sandbox refused' "$T/vmd.log" 2>/dev/null |
	    sed 's/^/# /' | grep .; then
		nok "no VM process died of its sandbox"
	fi
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
		dmesg | grep -i -E 'kvm|svm|audit|seccomp' | tail -n 10 | sed 's/^/# dmesg: /'
	fi
	rm -rf "$T" "$SOCK"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# vmd_start [VMD-OPTIONS ...]: a private vmd, "-f FILE" for a vm.conf
vmd_start() {
	rm -f "$SOCK"
	/usr/sbin/vmd -d $VERBOSE -s "$SOCK" "$@" >"$T/vmd.log" 2>&1 &
	VMD_PID=$!
	i=0
	while [ $i -lt 100 ]; do
		[ -S "$SOCK" ] && return 0
		kill -0 "$VMD_PID" 2>/dev/null || break
		sleep 0.1; i=$((i + 1))
	done
	nok "vmd started"
	sed 's/^/# vmd: /' "$T/vmd.log"
	exit 1
}

VMCTL=/usr/sbin/vmctl
POLL_HZ=10
. /t/common.sh

now() { cut -d' ' -f1 /proc/uptime; }

# start NAME CMDLINE-EXTRA [VMCTL-OPTIONS ...]: a Linux guest with its
# console open, of L2MEM (256M) and with the initramfs L2INITRD ($I)
start() {
	_n=$1 _k=$2
	shift 2
	vmctl start -m "${L2MEM:-256M}" -b "$K" -I "${L2INITRD:-$I}" "$@" \
	    -k "console=ttyS0 loglevel=4 panic=-1 $_k" "$_n" >"$T/start.$_n" 2>&1 ||
	    { nok "$_n: vmctl start"; sed 's/^/# /' "$T/start.$_n"; return 1; }
	con_open "$_n"
}

# The disk scenarios write the same bytes from the guest and from L1
# (the same busybox): P, 1 MiB ("seq" lines of 8 bytes, so each sector
# differs from the others), and Q, its first 256 KiB.  Each disk gets P
# at 1 MiB (64 KiB writes through the page cache), Q at sector 8199
# (512-byte O_DIRECT writes, not aligned to 4 KiB nor to a qcow2
# cluster) and P in its last MiB.
pat() {
	seq 1000000 1131071 >"$T/p"
	head -c 262144 "$T/p" >"$T/q"
}
# disk_ref FILE: those writes, done by L1 on FILE (existing, of the size
# of the guest's disk)
disk_ref() {
	_s=$(( $(wc -c <"$1") / 512 ))
	dd if="$T/p" of="$1" bs=64k seek=16 conv=notrunc 2>/dev/null &&
	    dd if="$T/q" of="$1" bs=512 seek=8199 conv=notrunc 2>/dev/null &&
	    dd if="$T/p" of="$1" bs=512 seek=$((_s - 2048)) conv=notrunc \
	    2>/dev/null
}
# the guest's side, typed into its shell: "gw DISK" does the writes,
# "gv DISK" reads them back past the page cache and prints ok or bad
# (both want DISK to be a block device: dd would make a plain file),
# "r WORDS" prints a result line "R-WORDS" (typed lines never start so)
GUEST_IO='mkdir -p /mnt; seq 1000000 1131071 >/tmp/p; head -c 262144 /tmp/p >/tmp/q
r() { echo "R-$*"; }
gsz() { cat /sys/block/$1/size; }
gw() { [ -b /dev/$1 ] && dd if=/tmp/p of=/dev/$1 bs=64k seek=16 && dd if=/tmp/q of=/dev/$1 bs=512 seek=8199 oflag=direct && dd if=/tmp/p of=/dev/$1 bs=512 seek=$(($(gsz $1) - 2048)); } 2>/dev/null
gs() { dd if=/dev/$1 bs=512 skip=$2 count=$3 iflag=direct 2>/dev/null | sha256sum; }
gv() { [ -b /dev/$1 ] && [ "$(gs $1 2048 2048)" = "$(sha256sum </tmp/p)" ] && [ "$(gs $1 8199 512)" = "$(sha256sum </tmp/q)" ] && [ "$(gs $1 $(($(gsz $1) - 2048)) 2048)" = "$(sha256sum </tmp/p)" ] && echo ok || echo bad; }
'

# result NAME KEY: the value of the guest's last "R-KEY=value" line
result() {
	tr -d '\r' <"$T/con.$1" | sed -n "s/^R-$2=//p" | tail -n 1
}

# refused DESC REGEX VMCTL-ARGS...: vmctl exits 1 with one line that
# matches REGEX (case aside)
refused() {
	_d=$1 _re=$2
	shift 2
	_out=$(vmctl "$@" 2>&1)
	_rc=$?
	if [ $_rc -eq 1 ] && one_line "$_out" &&
	    echo "$_out" | grep -q -i -E -- "$_re"; then
		ok "$_d ($_out)"
	else
		nok "$_d (exit $_rc: $_out)"
	fi
}

# one_line TEXT: TEXT is a single non-empty line
one_line() { [ -n "$1" ] && [ "$(printf '%s\n' "$1" | wc -l)" -eq 1 ]; }

# digest FILE: its SHA-256
digest() { sha256sum <"$1" | cut -d' ' -f1; }

# kvm_trace: for a guest that hangs, where each VM thread sleeps (a
# vCPU halted in KVM, or a thread of ours blocked on a lock), KVM's
# counters for each VM, and a second of exits and interrupt traffic
kvm_trace() {
	tr=/sys/kernel/tracing
	[ -d "$tr/events" ] || mount -t tracefs tracefs "$tr" 2>/dev/null
	[ -d /sys/kernel/debug/kvm ] ||
	    mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
	for t in /proc/[0-9]*/task/*; do
		case $(cat "$t/comm" 2>/dev/null) in
		vmd*|vm*|*vcpu*)
			echo "# task $t $(cat "$t/comm") state" \
			    "$(cut -d' ' -f3 "$t/stat") wchan $(cat "$t/wchan")" \
			    "syscall $(cut -d' ' -f1 "$t/syscall")"
			sed -n '1,4s/^/#   /p' "$t/stack" 2>/dev/null ;;
		esac
	done
	for d in /sys/kernel/debug/kvm/*-*; do
		[ -d "$d" ] || continue
		_s=
		for f in exits halt_exits halt_wakeup irq_injections \
		    irq_exits io_exits request_irq_exits; do
			[ -r "$d/$f" ] && _s="$_s $f=$(cat "$d/$f")"
		done
		echo "# kvm ${d##*/}:$_s"
	done
	echo 1 >"$tr/events/kvm/kvm_exit/enable" 2>/dev/null || return 0
	for e in kvm_inj_virq kvm_set_irq kvm_ioapic_set_irq \
	    kvm_apic_accept_irq kvm_pic_set_irq; do
		echo 1 >"$tr/events/kvm/$e/enable" 2>/dev/null
	done
	echo 1 >"$tr/tracing_on"
	sleep 1
	echo 0 >"$tr/tracing_on"
	grep -v '^#' "$tr/trace" | head -n 40 | sed 's/^/# trace: /'
	echo "# trace: $(grep -c kvm_exit "$tr/trace") exits in 1 s"
	echo 0 >"$tr/events/kvm/enable"
	echo >"$tr/trace"
}

# bios_boot NAME LOADER WHERE VMCTL-OPTIONS...: vmctl start NAME -m 512M
# with those options and no -b, so SeaBIOS (/etc/firmware/vmm-bios)
# boots: LOADER's banner (SYSLINUX, ISOLINUX) shows, then the guest's
# LINUX-BOOTFROM WHERE, then its shell.  Returns 1 if it did not boot.
bios_boot() {
	_n=$1 _l=$2 _w=$3
	shift 3
	# upstream's vmctl warns "starting without disks" (or network
	# interfaces) when there is no -b
	_out=$(vmctl start -m 512M "$@" "$_n" 2>&1)
	if printf '%s\n' "$_out" | grep -q '^vmctl: started vm '; then
		ok "$_n: vmctl start $* ($(echo $_out))"
	else
		nok "$_n: vmctl start $* ($(echo $_out))"; return 1
	fi
	con_open "$_n"
	_t0=$(now)
	if wait_for "$T/con.$_n" "^$_l " 90; then
		ok "$_n: SeaBIOS starts $_l ($(echo "$(now) - $_t0" | bc) s)"
	else
		nok "$_n: SeaBIOS starts $_l"; return 1
	fi
	if wait_for "$T/con.$_n" "^LINUX-BOOTFROM $_w" 120; then
		ok "$_n: the kernel boots to t.bootfrom=$_w" \
		    "($(echo "$(now) - $_t0" | bc) s)"
	else
		nok "$_n: the kernel boots to t.bootfrom=$_w"; return 1
	fi
	check "$_n: Linux reaches its shell" \
	    wait_for "$T/con.$_n" '^LINUX-SHELL' 60
}

# The network scenarios.  net_initrd: the L2 initramfs with l2-net.gz
# (dhcpcd) appended, as $IN
IN=$T/initrd-net.gz
net_initrd() { cat "$I" /l2/net.gz >"$IN"; }

# tap_of ALIAS: the interface whose alias (vmd's "vmN-ifM-NAME") is ALIAS
tap_of() {
	for _d in /sys/class/net/*; do
		[ "$(cat "$_d/ifalias" 2>/dev/null)" = "$1" ] || continue
		echo "${_d##*/}"
		return 0
	done
	return 1
}

# aliases: each interface of L1 as IF=ALIAS, for the failure messages
aliases() {
	for _d in /sys/class/net/*; do
		printf '%s=%s ' "${_d##*/}" "$(cat "$_d/ifalias" 2>/dev/null)"
	done
}

# if_gone IF [SECONDS]: until there is no interface IF
if_gone() {
	_wn=$(( ${2:-10} * POLL_HZ ))
	_wi=0
	while [ $_wi -lt $_wn ]; do
		[ -e "/sys/class/net/$1" ] || return 0
		sleep "$_poll_s"
		_wi=$((_wi + 1))
	done
	return 1
}

# inet4 IF: its IPv4 addresses with their prefix lengths, blank-separated
inet4() {
	ip -4 -o addr show dev "$1" 2>/dev/null |
	    awk '{ for (i = 1; i < NF; i++) if ($i == "inet") print $(i + 1) }' |
	    tr '\n' ' ' | sed 's/ $//'
}

# is_up IF: IF exists and has IFF_UP
is_up() {
	_f=$(cat "/sys/class/net/$1/flags" 2>/dev/null) || return 1
	[ $((_f & 1)) -eq 1 ]
}

# dhcp_line NAME CLIENT: the guest's last "LINUX-DHCP CLIENT bound ..."
# line, from "ip=" on
dhcp_line() {
	tr -d '\r' <"$T/con.$1" |
	    sed -n "s/^LINUX-DHCP $2 bound //p" | tail -n 1
}

# typed into a guest's shell first: "r WORDS" prints a result line "R-WORDS"
GUEST_R='r() { echo "R-$*"; }
'
