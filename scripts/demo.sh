#!/bin/sh
#
# make demo: install what is missing, build, start vmd (unless one already
# answers on the default socket), boot the default guest and attach its
# console.  Leave the console with "~." as in cu(1); the VM keeps running
# ("vmctl stop demo" stops it).

set -e
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

if [ "$(id -u)" -ne 0 ]; then
	echo "demo: vmd runs as root; run make demo as root" >&2
	exit 1
fi
if [ ! -c /dev/kvm ]; then
	echo "demo: /dev/kvm is missing: load kvm_intel or kvm_amd (or enable nested virtualization)" >&2
	exit 1
fi

sh scripts/deps.sh
make -s all guest

VMD=$top/build/vmd
VMCTL=$top/build/vmctl
if ! "$VMCTL" status >/dev/null 2>&1 && [ ! -S /var/run/vmd.sock ]; then
	echo "demo: starting vmd"
	"$VMD"
	i=0
	while [ ! -S /var/run/vmd.sock ] && [ $i -lt 50 ]; do
		sleep 0.1; i=$((i + 1))
	done
fi

# the default guest: our own small test guest, with a shell on its console
kernel=$top/build/guest/guest.bzImage
if [ -e /sys/module/kvm_pvm ]; then
	echo "demo: this host's KVM is kvm-pvm (guest ring 0 is emulated):"
	echo "      booting the project's test guest; Linux guests need hardware KVM"
fi
"$VMCTL" stop -f demo >/dev/null 2>&1 || true
sleep 0.5
if [ -t 0 ]; then
	echo "demo: type 'help' at the guest's prompt, '~.' to leave the console"
	exec "$VMCTL" start -c -m 64M -b "$kernel" -k "console=ttyS0 run=hello" demo
fi

# no terminal (CI, scripts): show the console for a moment and stop
"$VMCTL" start -m 64M -b "$kernel" -k "console=ttyS0 run=hello,rtc,acpi" demo
"$VMCTL" status
out=$(mktemp)
timeout 3 "$VMCTL" console demo </dev/null >"$out" 2>&1 || true
cat "$out"
rm -f "$out"
"$VMCTL" stop -w demo
