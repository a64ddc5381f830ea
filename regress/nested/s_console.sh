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

# Console input: a command typed through "vmctl console" runs in the guest.
. /t/lib.sh
vmd_start
start con "" || exit 1
c=$T/con.con
check "console: Linux reaches its shell" wait_for "$c" '^LINUX-SHELL' 60
sleep 1
con_send con "echo TYPED-\$((6 * 7))
"
check "console: the typed command runs in the guest" \
    wait_for "$c" '^TYPED-42' 15
# what the kernel does on Ctrl-Alt-Del with ctrl-alt-del = 0
con_send con "kill -INT 1
"
check "console: init takes Ctrl-Alt-Del (SIGINT) as poweroff" \
    wait_for "$c" 'LINUX-CTRLALTDEL' 15
check "console: the guest is gone after its poweroff" wait_gone con 15
