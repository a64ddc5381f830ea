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

# The guest's "poweroff -f" stops the VM.
. /t/lib.sh
vmd_start
start off "" || exit 1
c=$T/con.off
check "poweroff: Linux reaches its shell" wait_for "$c" '^LINUX-SHELL' 60
check "poweroff: the VM shows running" wait_state off running 5
sleep 1
con_send off "poweroff -f
"
check "poweroff: the guest powers off" wait_for "$c" 'reboot: Power down' 15
check "poweroff: the VM is no longer running" wait_gone off 15
check "poweroff: vmd still runs" kill -0 "$VMD_PID"
