#!/bin/sh
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

# Checks of the test guest images, run by "make check":
#	check.sh builddir
# Static checks of the three images (readelf, nm, od) always; boots in
# qemu-system-x86_64 (TCG) if it is installed: PVH, bzImage through its
# real-mode setup, and the 64-bit entries of guest.elf and guest.bin
# through lmstub.elf, which enters them the way our VMM does; then the
# virtio commands against QEMU's virtio-blk, virtio-scsi CD-ROM and
# virtio-rng, with images made by blkpat.

set -u

O=${1:?usage: check.sh builddir}
QEMU=${QEMU:-qemu-system-x86_64}
T=$(mktemp -d "${TMPDIR:-/tmp}/guestcheck.XXXXXX")
trap 'rm -rf "$T"' EXIT
fails=0
QPID=

ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fails=$((fails + 1)); }

sym() {
	nm "$1" | awk -v s="$2" '$3 == s { print "0x" $1 }'
}

# le N OFFSET FILE: little-endian N-byte value at OFFSET, as a number
le() {
	od -An -tu1 -j "$2" -N "$1" "$3" |
	    awk '{ for (i = 1; i <= NF; i++) b[n++] = $i }
		END { v = 0; for (i = n - 1; i >= 0; i--) v = v * 256 + b[i];
		printf "%d\n", v }'
}

# ---- static checks ----

eentry=$(readelf -h "$O/guest.elf" | awk '/Entry point/ { print $4 }')
[ $((eentry)) -eq $(($(sym "$O/guest.elf" entry_elf))) ] &&
    ok "guest.elf e_entry = entry_elf ($eentry)" ||
    bad "guest.elf e_entry $eentry"
readelf -h "$O/guest.elf" | grep -q 'Class:.*ELF64' &&
    ok "guest.elf is ELF64" || bad "guest.elf not ELF64"
if readelf -n "$O/guest.elf" | grep -q .; then
	bad "guest.elf has notes"
else
	ok "guest.elf has no notes"
fi
pvhent=$(sym "$O/guest-pvh.elf" entry_pvh)
note=$(readelf -x .note.Xen "$O/guest-pvh.elf" 2>/dev/null |
    awk '/0x/ { for (i = 2; i <= 5 && i <= NF; i++)
	if ($i ~ /^[0-9a-f]+$/ && length($i) <= 8) printf "%s", $i }')
want=$(printf '04000000040000001200000058656e00%02x%02x%02x%02x' \
    $((pvhent & 255)) $((pvhent >> 8 & 255)) $((pvhent >> 16 & 255)) \
    $((pvhent >> 24 & 255)))
[ "$note" = "$want" ] && ok "guest-pvh.elf Xen PHYS32_ENTRY note -> $pvhent" ||
    bad "guest-pvh.elf note '$note' != '$want'"
readelf -l "$O/guest-pvh.elf" | grep -q 'NOTE' &&
    ok "guest-pvh.elf has PT_NOTE" || bad "guest-pvh.elf no PT_NOTE"

bz=$O/guest.bzImage
ss=$(le 1 0x1f1 "$bz")
poff=$(((ss + 1) * 512))
chk() {	# name size offset expected
	v=$(le "$2" "$3" "$bz")
	[ "$v" -eq $(($4)) ] && ok "bzImage $1 = $(printf 0x%x "$v")" ||
	    bad "bzImage $1 = $(printf 0x%x "$v"), want $4"
}
chk boot_flag 2 0x1fe 0xaa55
chk header 4 0x202 0x53726448
chk version 2 0x206 0x020f
chk loadflags 1 0x211 0x01
chk code32_start 4 0x214 0x100000
chk relocatable_kernel 1 0x234 0
chk xloadflags 2 0x236 0x0001
chk cmdline_size 4 0x238 2047
chk pref_address 8 0x258 0x100000
chk init_size 4 0x260 "$(sym "$O/guest.elf" _kern_end) - 0x100000"
psize=$(($(wc -c < "$bz") - poff))
chk syssize 4 0x1f4 "($psize + 15) / 16"
tail -c +$((poff + 1)) "$bz" > "$T/payload"
cmp -s "$O/guest.bin" "$T/payload" && ok "bzImage payload = guest.bin" ||
    bad "bzImage payload differs from guest.bin"
kio=$(le 4 0x268 "$bz")
[ "$(dd if="$T/payload" bs=1 skip="$kio" count=4 2>/dev/null)" = LToP ] &&
    ok "bzImage kernel_info LToP at payload+$(printf 0x%x "$kio")" ||
    bad "bzImage kernel_info"
[ $(($(sym "$O/guest.elf" entry_bz32))) -eq $((0x100000)) ] &&
    [ $(($(sym "$O/guest.elf" entry_bz64))) -eq $((0x100200)) ] &&
    ok "payload entries: 32-bit at +0, 64-bit at +0x200" ||
    bad "payload entry offsets"

# ---- qemu boots ----

if ! command -v "$QEMU" >/dev/null 2>&1; then
	echo "skip qemu boots: $QEMU not found"
	[ $fails -eq 0 ] && exit 0 || exit 1
fi

head -c 5000 /dev/urandom > "$T/initrd"
isum=$("$O/fnvsum" "$T/initrd")
QARGS="-M pc -smp 2 -m 256 -display none -no-reboot -nodefaults -vga none"

# start LOG qemu-args...: qemu with serial and monitor on pipes
start() {
	log=$T/$1.log
	shift
	rm -f "$T/ser.in" "$T/ser.out" "$T/mon.in" "$T/mon.out"
	mkfifo "$T/ser.in" "$T/ser.out" "$T/mon.in" "$T/mon.out"
	: > "$log"
	# shellcheck disable=SC2086
	"$QEMU" $QARGS -serial pipe:"$T/ser" -monitor pipe:"$T/mon" "$@" \
	    2> "$log.err" &
	QPID=$!
	cat "$T/ser.out" >> "$log" &
	cat "$T/mon.out" > /dev/null &
	exec 3> "$T/ser.in" 4> "$T/mon.in"
}

# waitfor STRING [seconds]
waitfor() {
	i=0
	while ! grep -qF -- "$1" "$log"; do
		i=$((i + 1))
		[ $i -gt $((${2:-20} * 10)) ] && return 1
		sleep 0.1
	done
	return 0
}

send() { printf '%b' "$1" >&3; }
monitor() { printf '%s\n' "$1" >&4; }

# finish NAME SECONDS: wait for qemu to exit (1) or kill it (0: "hung")
finish() {
	i=0
	exec 3>&- 4>&-
	while kill -0 "$QPID" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt $(($2 * 10)) ]; then
			kill "$QPID" 2>/dev/null
			wait "$QPID" 2>/dev/null
			sleep 0.2
			return 1
		fi
		sleep 0.1
	done
	wait "$QPID" 2>/dev/null
	sleep 0.2
	return 0
}

expect() {	# NAME STRING...
	n=$1
	shift
	for s in "$@"; do
		grep -qF -- "$s" "$log" || { bad "$n: missing '$s'"; return; }
	done
	ok "$n"
}

expect_not() {	# NAME STRING
	grep -qF -- "$2" "$log" && bad "$1: unexpected '$2'" || ok "$1"
}

RUN=hello,echo:hi,cmdline,e820,initrd,acpi,pci,rtc,tick:2,bogus,mem:0x100000
full() {	# NAME ENTRY qemu-args...
	name=$1
	entry=$2
	shift 2
	start "$name" -append "x=1 run=$RUN,poweroff y" -initrd "$T/initrd" "$@"
	if finish "$name" 60; then ok "$name: powered off"; else
	    bad "$name: still running"; fi
	expect "$name" \
	    "VMDGUEST: boot entry=$entry cmdline=\"x=1 run=$RUN,poweroff y\"" \
	    HELLO "ECHO hi" "CMDLINE x=1 run=$RUN,poweroff y" \
	    "E820 0x100000 0xfee0000 1" "E820 END " \
	    "INITRD addr=0x" "size=5000 sum=$isum" \
	    "ACPI OK cpus=2 s5=0 pm1a_cnt=0x604 pm1a_evt=0x600 sci=9" \
	    "PCI 00:00.0 8086:1237 class=060000" "PCI END " "RTC 20" \
	    "TICK 1" "TICK 2" "VMDGUEST: unknown command: bogus" \
	    "MEM 0x100000 0x" POWEROFF
	expect_not "$name: no failure" FAIL
}

full pvh pvh -kernel "$O/guest-pvh.elf"
full bzimage-realmode bzimage -kernel "$O/guest.bzImage"
full elf64-lmstub elf -kernel "$O/lmstub.elf" -device loader,file="$O/guest.elf"
full bz64-lmstub bzimage -kernel "$O/lmstub.elf" \
    -device loader,file="$O/guest.bin",addr=0x100000,force-raw=on \
    -device loader,addr=0x7f0000,data=0x100200,data-len=4

start reboot -kernel "$O/guest-pvh.elf" -append run=reboot
finish reboot 30 && ok "reboot: reset" || bad "reboot: still running"
expect reboot REBOOT
expect_not "reboot: no failure" "REBOOT FAILED"

start triple -kernel "$O/guest-pvh.elf" -append run=triple
finish triple 30 && ok "triple: reset" || bad "triple: still running"
expect triple TRIPLE
expect_not "triple: no exception line" EXCEPTION

start fault -kernel "$O/guest.bzImage" -append run=fault
waitfor "EXCEPTION" 30
finish fault 2 && bad "fault: exited" || ok "fault: halted"
expect fault "VMDGUEST: EXCEPTION 6 rip=0x"

start spin -kernel "$O/guest-pvh.elf" -append run=spin
waitfor SPIN 30
finish spin 2 && bad "spin: exited" || ok "spin: hung"

start pwrbtn -kernel "$O/guest-pvh.elf" -append run=hello
waitfor "vmdguest> " 30
monitor system_powerdown
finish pwrbtn 20 && ok "pwrbtn: powered off" || bad "pwrbtn: still running"
expect pwrbtn POWERBUTTON POWEROFF

start shell -kernel "$O/guest-pvh.elf" -append run=ignorebutton
waitfor "vmdguest> " 30
send 'echo  a b  \r'
waitfor "ECHO a b"
send 'hellx\bo\r\n'
waitfor HELLO
send 'nope 1\n'
waitfor "unknown command: nope"
monitor system_powerdown
waitfor "POWERBUTTON IGNORED"
send 'tick 1\r'
waitfor "TICK 1"
send 'poweroff\r'
finish shell 20 && ok "shell: powered off" || bad "shell: still running"
expect shell IGNOREBUTTON "ECHO a b" HELLO \
    "VMDGUEST: unknown command: nope" "POWERBUTTON IGNORED" "TICK 1" \
    POWEROFF "vmdguest> "

start noacpi -M acpi=off -kernel "$O/guest-pvh.elf" -append run=acpi,poweroff
waitfor "POWEROFF FAILED" 30
finish noacpi 2
expect noacpi "ACPI FAIL no RSDP" "POWEROFF FAILED"

# Four CPUs in one package: the APs start (INIT, STARTUP through the
# xAPIC), report, tick at 10 Hz and take IPIs; the BSP keeps its devices.
SRUN=smp,smpstat,tick:1,smpstat,smpipi,smpstat,smp,acpi,tick:1,poweroff
start smp -smp 4,sockets=1,cores=4,threads=1 -kernel "$O/guest-pvh.elf" \
    -append "run=$SRUN"
finish smp 60 && ok "smp: powered off" || bad "smp: still running"
expect smp "SMP CPU 0 apicid=0 cpuid=0 x2apic=0 count=4" \
    "SMP CPU 1 apicid=1 cpuid=1 x2apic=1 count=4" \
    "SMP CPU 2 apicid=2 cpuid=2 x2apic=2 count=4" \
    "SMP CPU 3 apicid=3 cpuid=3 x2apic=3 count=4" \
    "SMP OK cpus=4" "SMPSTAT END 3" "SMPIPI OK cpus=4" \
    "ACPI OK cpus=4 " "TICK 1" POWEROFF
expect_not "smp: no failure" FAIL
[ "$(grep -c '^SMP OK cpus=4' "$log")" -eq 2 ] &&
    ok "smp: smp again says OK" || bad "smp: smp again"
# per AP: the timer ticked between the first two smpstat, the third
# saw one IPI more than the second
tr -d '\r' < "$log" | awk '
    /^SMPSTAT END / { b++ }
    /^SMPSTAT [0-9]+ / { split($3, t, "="); split($4, p, "=")
	tk[b, $2] = t[2]; ip[b, $2] = p[2] }
    END { for (i = 1; i <= 3; i++)
	if (tk[1, i] <= tk[0, i] || ip[2, i] != ip[1, i] + 1) exit 1
	exit b != 3 }' && ok "smp: each AP ticks and takes an IPI" ||
    bad "smp: AP ticks or IPIs"

# ---- virtio: blk (read-write and read-only), scsi CD-ROM, rng ----

B=$O/blkpat
truncate -s 4M "$T/disk.raw"		# 8192 sectors
"$B" fill "$T/disk.raw" 0 2048 3
truncate -s 1M "$T/ro.raw"
"$B" fill "$T/ro.raw" 0 2048 4
cp "$T/ro.raw" "$T/ro.orig"
head -c $((64 * 2048)) /dev/urandom > "$T/cd.raw"	# 64 blocks
cp "$T/cd.raw" "$T/cd.orig"
rdsum=$("$B" sum "$T/disk.raw" 0 2048)
rosum=$("$B" sum "$T/ro.raw" 100 50)
cdsum=$("$O/fnvsum" "$T/cd.raw")
cd8sum=$(head -c $((8 * 2048)) "$T/cd.raw" | tail -c $((2 * 2048)) |
    "$O/fnvsum" /dev/stdin)
VDEVS="-device virtio-blk-pci,drive=d0,disable-legacy=on,serial=VMDTEST0123456789ABCDEF
    -drive file=$T/disk.raw,format=raw,if=none,id=d0,discard=unmap
    -device virtio-blk-pci,drive=d1,disable-legacy=on
    -drive file=$T/ro.raw,format=raw,if=none,id=d1,readonly=on
    -device virtio-scsi-pci,disable-legacy=on,id=s
    -drive file=$T/cd.raw,format=raw,if=none,id=cd,media=cdrom
    -device scsi-cd,drive=cd,bus=s.0
    -device virtio-rng-pci,disable-legacy=on"
VRUN=virtio,blkinfo:0,blkinfo:1,blkid:0,blkread:0:0:2048,blkcheck:0:0:2048:3
VRUN=$VRUN,blkwrite:0:4096:1500:7,blkcheck:0:4096:1500:7,blkcheck:0:4096:1500:8
VRUN=$VRUN,blkflush:0,blkmany:0:128:5,blkzero:0:7000:24,blkdiscard:0:7100:8
VRUN=$VRUN,blkbad:0:oob,blkbad:0:badtype,blkbad:1:ro,blkread:1:100:50
VRUN=$VRUN,blkinfo:2,cdinfo:0,cdinq:0,cdread:0:0:64,cdread:0:6:2,cdwrite:0:3
VRUN=$VRUN,cdread:0:64:1,rng:0:256,rng:0:4096,rng:1:16,poweroff
# shellcheck disable=SC2086
start virtio -kernel "$O/guest-pvh.elf" -append "run=$VRUN" $VDEVS
finish virtio 120 && ok "virtio: powered off" || bad "virtio: still running"
expect virtio "VIRTIO 00:02.0 blk id=1042 bar=mem" \
    "VIRTIO 00:03.0 blk id=1042 bar=mem" "VIRTIO 00:04.0 scsi id=1048 bar=mem" \
    "VIRTIO 00:05.0 rng id=1044 bar=mem" "VIRTIO END 4" \
    "BLKINFO 0 sectors=8192 ro=0 flush=1 discard=1 wzeroes=1 segmax=" \
    "BLKINFO 1 sectors=2048 ro=1 flush=1 " \
    "BLKID 0 VMDTEST0123456789ABC" \
    "BLKREAD 0 0 2048 $rdsum" "BLKCHECK 0 0 2048 OK" \
    "BLKWRITE 0 4096 1500 OK" "BLKCHECK 0 4096 1500 OK" \
    "BLKCHECK 0 FAIL sector=4096" "BLKFLUSH 0 OK" "BLKMANY 0 128 OK inflight=" \
    "BLKZERO 0 OK" "BLKDISCARD 0 OK" \
    "BLKBAD 0 oob status=IOERR" "BLKBAD 0 badtype status=UNSUPP" \
    "BLKBAD 1 ro status=IOERR" "BLKREAD 1 100 50 $rosum" \
    "BLKINFO 2 FAIL no device" \
    "CDINFO 0 blocks=64 blksize=2048" \
    "CDINQ 0 type=5 vendor=\"QEMU\" product=\"QEMU CD-ROM\"" \
    "CDREAD 0 0 64 sum=$cdsum" "CDREAD 0 6 2 sum=$cd8sum" \
    "CDWRITE 0 sense=7/27/00" "CDREAD 0 FAIL sense=5/21/00" \
    "RNG 0 256 OK distinct=" "RNG 0 4096 OK distinct=256" \
    "RNG 1 FAIL no device"
"$B" check "$T/disk.raw" 4096 1500 7 > /dev/null &&
    "$B" check "$T/disk.raw" 1024 976 3 > /dev/null &&
    "$B" check "$T/disk.raw" 0 1024 5 > /dev/null &&
    ok "virtio: blkwrite and blkmany data on the host" ||
    bad "virtio: blkwrite/blkmany data differ on the host"
dd if="$T/disk.raw" bs=512 skip=7000 count=24 2>/dev/null |
    cmp -s - /dev/zero -n $((24 * 512)) && ok "virtio: blkzero zeroed" ||
    bad "virtio: blkzero did not zero"
cmp -s "$T/ro.raw" "$T/ro.orig" && cmp -s "$T/cd.raw" "$T/cd.orig" &&
    ok "virtio: read-only disk and CD unchanged" ||
    bad "virtio: read-only disk or CD changed"

# The same with the memory BARs above 4 GiB (a 2 GiB ivshmem BAR pushes
# the 64-bit ones up) and the bzImage entry.
VRUN=blkcheck:0:4096:1500:7,blkread:1:100:50,cdread:0:6:2,rng:0:64,poweroff
# shellcheck disable=SC2086
start virtio-high -kernel "$O/guest.bzImage" -append "run=$VRUN" $VDEVS \
    -object memory-backend-ram,id=m1,size=2G \
    -device ivshmem-plain,memdev=m1
finish virtio-high 60 && ok "virtio-high: powered off" ||
    bad "virtio-high: still running"
expect virtio-high "BLKCHECK 0 4096 1500 OK" "BLKREAD 1 100 50 $rosum" \
    "CDREAD 0 6 2 sum=$cd8sum" "RNG 0 64 OK distinct="

# virtio-net against QEMU's user network (DHCP server and router at .2
# of 10.0.2.0/24 and 10.0.3.0/24): mergeable receive buffers on the
# first device, not on the second (which offers an MTU), then MSI-X.
if "$QEMU" -netdev help 2>/dev/null | grep -qx user; then
	NDEVS="-netdev user,id=n0
	    -device virtio-net-pci,netdev=n0,disable-legacy=on,romfile=
	    -netdev user,id=n1,net=10.0.3.0/24
	    -device virtio-net-pci,netdev=n1,disable-legacy=on,romfile=,mrg_rxbuf=off,host_mtu=1500,mac=52:54:00:ab:cd:ef"
	NRUN=virtio,netinfo:0,netinfo:1,netinfo:2,dhcp:0,dhcp:1
	NRUN=$NRUN,ping:0:10.0.2.2:3:1472,ping:1:10.0.3.2:3:1472,bootp:0
	NRUN=$NRUN,dhcpreq:0:10.0.2.99,netbig:1:100:1472,netsend:0:10:own
	NRUN=$NRUN,ping:0:10.0.2.99:1,msix:1,ping:0:10.0.2.2:4:1000
	NRUN=$NRUN,ping:1:10.0.3.2:2,dhcpreq:1:10.0.3.15,poweroff
	# shellcheck disable=SC2086
	start virtio-net -kernel "$O/guest-pvh.elf" -append "run=$NRUN" $NDEVS
	finish virtio-net 120 && ok "virtio-net: powered off" ||
	    bad "virtio-net: still running"
	expect virtio-net "VIRTIO 00:02.0 net id=1041 bar=mem" \
	    "VIRTIO 00:03.0 net id=1041 bar=mem" \
	    "NETINFO 0 mac=52:54:00:12:34:56 status=up mrgrx=1 mtu=none qsize=256/256" \
	    "NETINFO 1 mac=52:54:00:ab:cd:ef status=up mrgrx=0 mtu=1500 qsize=256/256" \
	    "NETINFO 2 FAIL no device" \
	    "DHCP 0 ACK addr=10.0.2.15 mask=255.255.255.0 router=10.0.2.2 dns=10.0.2.3 server=10.0.2.2 lease=86400" \
	    "DHCP 1 ACK addr=10.0.3.15 mask=255.255.255.0 router=10.0.3.2 dns=10.0.3.3 server=10.0.3.2 lease=86400" \
	    "PING 0 10.0.2.2 sent=3 received=3" \
	    "PING 1 10.0.3.2 sent=3 received=3" \
	    "BOOTP 0 REPLY addr=10.0.2.15 server=10.0.2.2 mask=255.255.255.0 router=10.0.2.2" \
	    "DHCP 0 NAK" "NETBIG 1 100 1472 sent=100" \
	    "NETSEND 0 10 own sent=10" "PING 0 FAIL arp" "MSIX on" \
	    "PING 0 10.0.2.2 sent=4 received=4" \
	    "PING 1 10.0.3.2 sent=2 received=2"
	[ "$(grep -c "^DHCP 1 ACK addr=10.0.3.15 " "$log")" -eq 2 ] &&
	    ok "virtio-net: dhcpreq of the leased address" ||
	    bad "virtio-net: dhcpreq of the leased address"
else
	echo "skip virtio-net: $QEMU has no user network"
fi

if [ $fails -ne 0 ]; then
	echo "$fails check(s) failed; logs kept in $T"
	trap - EXIT
	exit 1
fi
echo "all checks passed"
