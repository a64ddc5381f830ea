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

# Boot to userspace: LINUX-UP, the command line on the console, and
# the TSC-deadline timer in the guest's CPU flags.
. /t/lib.sh
vmd_start
t0=$(now)
start boot "t.cmd=cat,/proc/cmdline;grep,-o,-m1,-w,tsc_deadline_timer,/proc/cpuinfo t.poweroff=1" ||
    exit 1
c=$T/con.boot
if wait_for "$c" '^LINUX-UP' 60; then
	ok "boot: Linux reaches userspace ($(echo "$(now) - $t0" | bc) s)"
else
	nok "boot: Linux reaches userspace"
fi
check "boot: the command line reaches the guest" wait_for "$c" \
    '^console=ttyS0 loglevel=4 panic=-1 t.cmd=cat,/proc/cmdline' 15
# KVM's LAPIC has the mode; without it in CPUID Linux calibrates its
# LAPIC timer against the PIT for 100 ms of every boot
check "boot: the guest's CPU has the TSC-deadline timer" wait_for "$c" \
    "^tsc_deadline_timer" 15
check "boot: guest poweroff stops the VM" wait_gone boot 30
