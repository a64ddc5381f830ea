#!/bin/sh
#
# Install the Debian packages vmd needs to build and test, if missing.
# usage: scripts/deps.sh [extra packages...]

set -e
pkgs="gcc make libc6-dev pkg-config libevent-dev libseccomp-dev libmnl-dev
libbsd-dev zlib1g-dev byacc passwd util-linux seabios qemu-utils syslinux
syslinux-common isolinux xorriso mtools dosfstools iproute2 busybox-static nftables $*"

missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "deps: missing packages:$missing (run as root to install them)" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q $missing >/tmp/vmd-deps.log 2>&1; then
	apt-get update -q >>/tmp/vmd-deps.log 2>&1 || true
	if ! apt-get install -y -q $missing >>/tmp/vmd-deps.log 2>&1; then
		echo "deps: apt-get install$missing failed; see /tmp/vmd-deps.log" >&2
		tail -n 5 /tmp/vmd-deps.log >&2
		exit 1
	fi
fi
