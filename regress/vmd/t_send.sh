# send and receive: a guest that counts in registers and memory, ticks
# on its timer, uses its disk and MSI-X, goes on without losing or
# repeating a step after a round trip through a file, through a pipe
# between two private vmds, paused, with four vCPUs; and every bad
# stream, missing disk or used name starts nothing and harms nothing.
. "$top/regress/lib.sh"
. "$top/regress/vmd/count.sh"
vmd_start
BLKPAT=$BUILD/guest/blkpat

# a second private vmd, for sends from one to the other
SOCK2=$T/vmd2.sock
"$VMD" -d -s "$SOCK2" >"$T/vmd2.log" 2>&1 &
VMD2_PID=$!
_holders="$_holders $VMD2_PID"
i=0
while [ ! -S "$SOCK2" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
vmctl2() { "$VMCTL" -s "$SOCK2" "$@"; }

# n of the last COUNT line of a console, 0 if none
last_n() { count_last "$1" 2>/dev/null || echo 0; }
# wait until the console's count reaches N
wait_n() {
	_i=0
	while [ "$(last_n "$1")" -lt "$2" ] && [ $_i -lt $((${3:-30} * 10)) ]; do
		sleep 0.1; _i=$((_i + 1))
	done
	[ "$(last_n "$1")" -ge "$2" ]
}

# a bystander that must not notice any of this
vmctl start -m 16M -b "$GUEST_ELF" -k "console=ttyS0 run=count" by \
    >/dev/null 2>&1
con_open by

# --- to a file and back, under a new name: count, disk, MSI-X
truncate -s 8M "$T/d.raw"
cmds=msix:1,blkwrite:0:0:64:7,count:70,blkcheck:0:0:64:7
cmds=$cmds,blkwrite:0:64:64:9,blkflush:0,blkmsix:0,hello
vmctl start -m 64M -d "$T/d.raw" -b "$GUEST_ELF" \
    -k "console=ttyS0 run=$cmds" a >/dev/null 2>&1
con_open a
check "file: the guest counts" wait_n "$T/con.a" 20
out=$(vmctl send a 2>&1 >"$T/a.vm")
is "file: send prints nothing and succeeds" "" "$out"
check "file: the sent VM is gone" wait_gone a 5
sz=$(wc -c <"$T/a.vm")
if [ "$sz" -gt 100000 ] && [ "$sz" -lt $((32 * 1024 * 1024)) ]; then
	ok "file: the stream holds the touched memory only ($sz bytes of 64M)"
else
	nok "file: the stream holds the touched memory only ($sz bytes)"
fi
sleep 0.5
na=$(last_n "$T/con.a")
out=$(vmctl receive b <"$T/a.vm" 2>&1)
like "file: receive starts it" '^vmctl: started vm [0-9]+ successfully, tty /dev/pts/' \
    "$out"
con_open b
check "file: the received guest counts on" wait_n "$T/con.b" $((na + 5))
count_join "$T/con.a" "$T/con.b" >"$T/ab"
is "file: no step lost or repeated, registers and memory intact" ok \
    "$(count_check "$T/ab")"
first=$(grep -a '^COUNT n=' "$T/con.b" | head -n 1 | tr -d '\r')
like "file: it goes on from the step after the last one sent ($na)" \
    "^COUNT n=$((na + 1)) " "$first"
check "file: then the disk, written before, reads back over MSI-X" \
    wait_for "$T/con.b" '^HELLO' 60
is "file: blkcheck after receive" "BLKCHECK 0 0 64 OK" "$(line b BLKCHECK)"
like "file: MSI-X masking and pending bit after receive" '^BLKMSIX 0 OK' \
    "$(line b BLKMSIX)"
is "file: the counter ended where it should" "COUNT END n=70" \
    "$(line b 'COUNT END')"
is "file: no COUNT FAIL" 0 "$(count_in "$T/con.b" 'COUNT FAIL')"
vmctl stop -f b >/dev/null 2>&1
wait_gone b 5
check "file: the image has what the guest wrote before the send" \
    "$BLKPAT" check "$T/d.raw" 0 64 7
check "file: and what it wrote after the receive" \
    "$BLKPAT" check "$T/d.raw" 64 64 9

# --- a paused guest, through a pipe to the other vmd, four vCPUs
vmctl start -m 32M -C 4 -b "$GUEST_ELF" \
    -k "console=ttyS0 run=smp,smpipi,smpstat,count:60,smpstat,smpipi,hello" c \
    >/dev/null 2>&1
con_open c
check "pipe: four CPUs up" wait_for "$T/con.c" '^SMP OK cpus=4' 30
check "pipe: the guest counts" wait_n "$T/con.c" 15
vmctl pause c >/dev/null 2>&1
is "pipe: paused" paused "$(vm_field c 8)"
sleep 0.3
nc=$(last_n "$T/con.c")
"$VMCTL" -s "$SOCK" send c 2>"$T/send.err" |
    "$VMCTL" -s "$SOCK2" receive d >"$T/recv.out" 2>&1
like "pipe: received by the other vmd" 'started vm 1 successfully' \
    "$(cat "$T/recv.out")"
is "pipe: send said nothing" "" "$(cat "$T/send.err")"
check "pipe: gone from the first vmd" wait_gone c 5
"$VMCTL" -s "$SOCK2" console d <"$T/in.c" >"$T/con.d" 2>&1 &
_holders="$_holders $!"
check "pipe: the received guest runs" wait_for "$T/con.d" '^HELLO' 60
is "pipe: status on the other vmd: 4 vcpus" 4 \
    "$(vmctl2 status | awk '$NF == "d" { print $3 }')"
count_join "$T/con.c" "$T/con.d" >"$T/cd"
is "pipe: no step lost or repeated" ok "$(count_check "$T/cd")"
like "pipe: it goes on after the last step before the pause ($nc)" \
    "^COUNT n=$((nc + 1)) " "$(grep -a '^COUNT n=' "$T/con.d" | head -n 1 |
    tr -d '\r')"
# each AP's timer went on ticking after the round trip
after=$(grep -a '^SMPSTAT [0-9]' "$T/con.d" | tr -d '\r' | head -n 3)
before=$(grep -a '^SMPSTAT [0-9]' "$T/con.c" | tr -d '\r' | head -n 3)
if [ "$(echo "$after" | wc -l)" -eq 3 ] && echo "$before" | awk -v a="$after" '
    BEGIN { split(a, L, "\n"); for (i in L) { split(L[i], f, "[ =]"); t[f[2]] = f[4] } }
    { split($0, f, "[ =]"); if (!(f[2] in t) || t[f[2]] <= f[4]) bad = 1 }
    END { exit bad }'; then
	ok "pipe: each AP's timer ticks on after the receive"
else
	nok "pipe: each AP's timer ticks on after the receive ($before / $after)"
fi
is "pipe: each AP takes an IPI after the receive" "SMPIPI OK cpus=4" \
    "$(line d SMPIPI)"
for i in 1 2 3; do
	is "pipe: AP $i answers from its own CPU before the trip" \
	    "SMPHI $i apicid=$i" "$(line c "SMPHI $i ")"
	is "pipe: and after" "SMPHI $i apicid=$i" "$(line d "SMPHI $i ")"
done
vmctl2 stop -f d >/dev/null 2>&1

# --- the CD-ROM (virtio-scsi) answers after a receive as before
vmctl start -m 16M -r "$top/regress/config/cd.iso" -b "$GUEST_ELF" \
    -k "console=ttyS0 run=cdinfo:0,count:30,cdinfo:0,cdinq:0,hello" s1 \
    >/dev/null 2>&1
con_open s1
wait_n "$T/con.s1" 5
vmctl send s1 >"$T/s1.vm" 2>/dev/null
wait_gone s1 5
vmctl receive s2 <"$T/s1.vm" >/dev/null 2>&1
con_open s2
check "cdrom: the received guest finishes" wait_for "$T/con.s2" '^HELLO' 30
is "cdrom: the same capacity after the receive" "$(line s1 CDINFO)" \
    "$(line s2 CDINFO)"
like "cdrom: READ CAPACITY answers" '^CDINFO 0 blocks=[0-9]+ blksize=2048' \
    "$(grep -a '^CDINFO' "$T/con.s2" | tail -n 1 | tr -d '\r')"
like "cdrom: INQUIRY answers" '^CDINQ 0 type=5 ' "$(line s2 CDINQ)"
vmctl stop -f s2 >/dev/null 2>&1

# --- a guest with a vmmci driver is told to read its RTC after receive
vmctl start -m 16M -b "$GUEST_ELF" -k "console=ttyS0 run=vmmci,count" g \
    >/dev/null 2>&1
con_open g
check "vmmci: the driver is up" wait_for "$T/con.g" '^VMMCI OK' 10
wait_n "$T/con.g" 3
vmctl send g >"$T/g.vm" 2>/dev/null
wait_gone g 5
vmctl receive h <"$T/g.vm" >/dev/null 2>&1
con_open h
check "vmmci: SYNCRTC after receive" wait_for "$T/con.h" '^VMMCI SYNCRTC' 10
is "vmmci: no SYNCRTC before the send" 0 "$(count_in "$T/con.g" 'SYNCRTC')"
vmctl stop -w h >"$T/stop.h" 2>&1
like "vmmci: the received guest stops through vmmci" 'terminated vm' \
    "$(cat "$T/stop.h")"
check "vmmci: it heard SHUTDOWN" grep -q '^VMMCI CMD 1' "$T/con.h"

# --- bad streams: one clear message, nothing started, nothing written
truncate -s 8M "$T/e.raw"
vmctl start -m 32M -d "$T/e.raw" -b "$GUEST_ELF" \
    -k "console=ttyS0 run=count" e >/dev/null 2>&1
con_open e
wait_n "$T/con.e" 5
vmctl send e >"$T/e.vm" 2>/dev/null
wait_gone e 5
esum=$(sha256sum <"$T/e.raw")
sz=$(wc -c <"$T/e.vm")
# one byte changed in the middle (guest memory)
cp "$T/e.vm" "$T/bad1.vm"
printf '\377' | dd of="$T/bad1.vm" bs=1 seek=$((sz / 2)) conv=notrunc \
    2>/dev/null
if cmp -s "$T/e.vm" "$T/bad1.vm"; then
	printf '\000' | dd of="$T/bad1.vm" bs=1 seek=$((sz / 2)) \
	    conv=notrunc 2>/dev/null
fi
run_is "bad: one byte changed" 1 \
    "vmctl: the VM stream is corrupt (see vmd's log)" \
    vmctl receive x1 <"$T/bad1.vm"
check "bad: the log says the checksum did not match" \
    grep -q 'CRC-32 of the stream does not match' "$T/vmd.log"
head -c $((sz / 3)) "$T/e.vm" >"$T/bad2.vm"
run_is "bad: truncated" 1 "vmctl: the VM stream is truncated (see vmd's log)" \
    vmctl receive x2 <"$T/bad2.vm"
head -c 1000 "$T/e.vm" >"$T/bad3.vm"
run_is "bad: truncated in its parameters" 1 \
    "vmctl: receive: the VM stream is truncated" \
    vmctl receive x3 <"$T/bad3.vm"
cp "$T/e.vm" "$T/bad4.vm"
printf '\377' | dd of="$T/bad4.vm" bs=1 seek=16 conv=notrunc 2>/dev/null
run_is "bad: another format version" 1 \
    "vmctl: not a VM stream of this vmd, or of another version (see vmd's log)" \
    vmctl receive x4 <"$T/bad4.vm"
head -c 40000 /dev/urandom >"$T/bad5.vm"
run_is "bad: not a stream at all" 1 \
    "vmctl: not a VM stream of this vmd, or of another version (see vmd's log)" \
    vmctl receive x5 <"$T/bad5.vm"
# the CPU vendor in the stream's CPUID (checked before the checksum is)
off=$(grep -obUa -e Auth -e Genu "$T/e.vm" | awk -F: -v min=31472 \
    '$1 > min { print $1; exit }')
cp "$T/e.vm" "$T/bad6.vm"
printf 'X' | dd of="$T/bad6.vm" bs=1 seek="${off:-0}" conv=notrunc 2>/dev/null
run_is "bad: a CPU this host cannot give" 1 \
    "vmctl: this host cannot give the VM the CPU it had (see vmd's log)" \
    vmctl receive x8 <"$T/bad6.vm"
check "bad: the log names the vendor" grep -q 'receive: CPU vendor X' \
    "$T/vmd.log"
run_is "bad: a name in use" 1 \
    "vmctl: receive vm command failed: Operation already in progress" \
    vmctl receive by <"$T/e.vm"
mv "$T/e.raw" "$T/e.moved"
run_is "bad: its disk missing" 1 "vmctl: could not open disk image(s)" \
    vmctl receive x6 <"$T/e.vm"
mv "$T/e.moved" "$T/e.raw"
vmctl start -m 16M -d "$T/e.raw" -b "$GUEST_ELF" -k "console=ttyS0" holder \
    >/dev/null 2>&1
run_is "bad: its disk in use by another VM (after waiting for it)" 1 \
    "vmctl: disk image(s) in use by another vm" vmctl receive x7 <"$T/e.vm"
vmctl stop -f holder >/dev/null 2>&1
wait_gone holder 5
is "bad: nothing was started" "" \
    "$(vmctl status | awk 'NR > 1 && $NF ~ /^x[0-9]$/')"
is "bad: the disk was not written" "$esum" "$(sha256sum <"$T/e.raw")"
out=$(vmctl receive y <"$T/e.vm" 2>&1)
like "the good stream still starts" 'started vm' "$out"
vmctl stop -f y >/dev/null 2>&1

# --- a send that fails leaves the VM running
vmctl start -m 16M -b "$GUEST_ELF" -k "console=ttyS0 run=count" f \
    >/dev/null 2>&1
con_open f
wait_n "$T/con.f" 5
"$VMCTL" -s "$SOCK" send f 2>"$T/f.err" | head -c 10 >/dev/null
is "failed send: a reader that goes away" \
    "vmctl: send vm command failed: Broken pipe" "$(cat "$T/f.err")"
is "failed send: the VM still runs" running "$(vm_field f 8)"
out=$("$VMCTL" -s "$SOCK" send f 2>&1 >/dev/full)
is "failed send: a full disk" \
    "vmctl: send vm command failed: No space left on device" "$out"
is "failed send: still runs after the full disk" running "$(vm_field f 8)"
n0=$(last_n "$T/con.f")
check "failed send: and counts on" wait_n "$T/con.f" $((n0 + 5))
is "failed send: without a lost step" ok "$(count_check "$T/con.f")"
vmctl stop -f f >/dev/null 2>&1

check "vmd still runs" vmd_alive
is "the bystander counted throughout" ok "$(count_check "$T/con.by")"
is "the bystander runs" running "$(vm_field by 8)"
exit $FAILED
