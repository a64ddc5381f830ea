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

# make demo inside the nested host (/t/demo.sh MODE, from l1-init):
#   tty	 boot the Linux guest with its console on this console; "~."
#	 leaves it, the guest is stopped and the nested host powers off
#   auto no terminal (CI, scripts): boot it, type a command through
#	 vmctl console, show the console, stop the guest gracefully.
#	 Prints DEMO-OK when all of that worked.
. /t/lib.sh
vmd_start

if [ "$1" = tty ]; then
	echo "demo: vmd is up in the nested host (Linux $(uname -r), kvm-amd); the guest boots in about 10 s"
	echo "demo: type at the guest's shell; ~. leaves the console"
	vmctl start -c -m 512M -b "$K" -I "$I" \
	    -k "console=ttyS0 loglevel=4 panic=-1" demo
	vmctl stop -f -w demo >/dev/null 2>&1
	echo "demo: done, the nested host powers off"
	exit 0
fi

start demo "" || exit 1
vmctl status
c=$T/con.demo
if wait_for "$c" '^LINUX-SHELL' 120; then
	sleep 1
	con_send demo "uname -sr; echo DEMO-\$((6 * 7))
"
	wait_for "$c" '^DEMO-42' 15
fi
vmctl stop -w demo
wait_gone demo 10
echo "demo: --- the guest's console (vmctl console demo) ---"
tr -d '\r' <"$c" | grep -v '^$'
echo "demo: ---"
if grep -q '^DEMO-42' "$c" && grep -q 'LINUX-POWERBUTTON' "$c"; then
	echo "DEMO-OK"
else
	FAILED=1
fi
