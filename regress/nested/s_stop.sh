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

# vmctl stop: the ACPI power button shuts Linux down (the guest's /init
# watches the "Power Button" input device).
. /t/lib.sh
vmd_start
start st "" || exit 1
c=$T/con.st
check "stop: Linux reaches its shell" wait_for "$c" '^LINUX-SHELL' 60
sleep 1
out=$(vmctl stop -w st 2>&1)
case $out in
*"terminated vm"*)	ok "stop: vmctl stop -w returns ($out)" ;;
*)			nok "stop: vmctl stop -w returns ($out)" ;;
esac
check "stop: the guest saw the power button" \
    grep -q 'LINUX-POWERBUTTON' "$c"
check "stop: the guest powered itself off" grep -q 'reboot: Power down' "$c"
check "stop: the VM is gone" wait_gone st 5
[ "$FAILED" -eq 0 ] || vmctl status | sed 's/^/# /'
