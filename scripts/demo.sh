#!/bin/sh
#
# make demo: install what is missing, build, start vmd (unless one already
# answers on the default socket), boot the default guest, a Debian Linux
# kernel with a busybox initramfs (regress/nested/build l2), and attach
# its console.  Leave the console with "~." as in cu(1); the VM keeps
# running ("vmctl stop demo" stops it).
#
# Where this host's KVM cannot boot Linux (kvm-pvm, or no /dev/kvm) the
# same demo runs inside the nested test host (regress/nested/demo).
# DEMO=guest boots the project's small test guest on this host instead.

set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: vmd runs as root; run make demo as root" >&2
	exit 1
fi

sh scripts/deps.sh
make -s all guest

VMD=$top/build/vmd
VMCTL=$top/build/vmctl

# can this host's KVM run a Linux guest's ring 0?
why=
if [ ! -c /dev/kvm ]; then
	why="there is no /dev/kvm (load kvm_intel or kvm_amd)"
elif [ -e /sys/module/kvm_pvm ]; then
	why="this host's KVM is kvm-pvm (guest ring 0 is emulated) and cannot boot Linux"
elif ! grep -q -E '^flags.* (vmx|svm)( |$)' /proc/cpuinfo; then
	why="this CPU has no VT-x or SVM"
fi
if [ "${DEMO:-}" != guest ] && [ -n "$why" ]; then
	echo "demo: $why: running the demo inside the nested test host (QEMU TCG)"
	exec sh regress/nested/demo
fi
if [ "${DEMO:-}" = guest ] && [ ! -c /dev/kvm ]; then
	echo "demo: $why" >&2
	exit 1
fi

if ! "$VMCTL" status >/dev/null 2>&1 && [ ! -S /var/run/vmd.sock ]; then
	echo "demo: starting vmd"
	"$VMD"
	i=0
	while [ ! -S /var/run/vmd.sock ] && [ $i -lt 50 ]; do
		sleep 0.1; i=$((i + 1))
	done
fi
"$VMCTL" stop -f -w demo >/dev/null 2>&1 || true

if [ "${DEMO:-}" = guest ]; then
	# our own small test guest, with a shell on its console
	kernel=$top/build/guest/guest.bzImage
	if [ -t 0 ]; then
		echo "demo: type 'help' at the guest's prompt, '~.' to leave the console"
		exec "$VMCTL" start -c -m 64M -b "$kernel" \
		    -k "console=ttyS0 run=hello" demo
	fi
	"$VMCTL" start -m 64M -b "$kernel" -k "console=ttyS0 run=hello,rtc,acpi" demo
	"$VMCTL" status
	out=$(mktemp)
	timeout 3 "$VMCTL" console demo </dev/null >"$out" 2>&1 || true
	cat "$out"
	rm -f "$out"
	"$VMCTL" stop -w demo
	exit 0
fi

sh regress/nested/build l2
kernel=$top/build/nested/vmlinuz
initrd=$top/build/nested/l2-initrd.gz
args="console=ttyS0 loglevel=4 panic=-1"
if [ -t 0 ]; then
	echo "demo: Linux with a busybox shell; '~.' leaves the console"
	exec "$VMCTL" start -c -m 512M -b "$kernel" -I "$initrd" -k "$args" demo
fi

# no terminal (CI, scripts): type a command, show the console, stop
"$VMCTL" start -m 512M -b "$kernel" -I "$initrd" -k "$args" demo
"$VMCTL" status
out=$(mktemp)
fifo=$(mktemp -u)
mkfifo "$fifo"
trap 'rm -f "$out" "$fifo"' EXIT
timeout 60 "$VMCTL" console demo <"$fifo" >"$out" 2>&1 &
exec 3>"$fifo"
i=0
while ! grep -q '^LINUX-SHELL' "$out" && [ $i -lt 300 ]; do
	sleep 0.1; i=$((i + 1))
done
sleep 1
printf 'uname -sr; echo DEMO-$((6 * 7))\n' >&3
i=0
while ! grep -q '^DEMO-42' "$out" && [ $i -lt 100 ]; do
	sleep 0.1; i=$((i + 1))
done
exec 3>&-
"$VMCTL" stop -w demo || true
tr -d '\r' <"$out"
grep -q '^DEMO-42' "$out" || { echo "demo: the guest did not answer" >&2; exit 1; }
