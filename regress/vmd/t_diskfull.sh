# Disks that fill up, are deleted or are made read-only under a running
# guest.  Where writing cannot go on the guest gets I/O errors (and what
# it got is printed); nothing it was told was written is lost; vmd and
# another VM run on; the images stay consistent (qemu-img check: no
# errors, no leaked clusters).  The small file systems are tmpfs mounts
# in a mount namespace of the test's own.
if [ -z "$DISKFULL_NS" ]; then
	if unshare -m --propagation private true 2>/dev/null; then
		DISKFULL_NS=1 exec unshare -m --propagation private sh "$0" "$@"
	fi
	echo "ok - disks under a running guest # SKIP no mount namespace"
	exit 0
fi
. "$top/regress/lib.sh"

# the tmpfs mounts go before lib.sh's cleanup removes $T
umount_all() {
	for _m in "$T/fr" "$T/fq"; do umount -l "$_m" 2>/dev/null; done
	chattr -i "$T/ro.raw" "$T/ro.qcow2" 2>/dev/null
	cleanup
}
trap umount_all EXIT

vmd_start

BLKPAT=$BUILD/guest/blkpat
have_qemu_img=1
command -v qemu-img >/dev/null 2>&1 || have_qemu_img=0

# qcheck DESC IMAGE: qemu-img check finds neither errors nor leaks
qcheck() {
	if [ $have_qemu_img -eq 0 ]; then
		skip "$1" "qemu-img is not installed"
		return
	fi
	_out=$(qemu-img check "$2" 2>&1)
	_st=$?
	if [ $_st -eq 0 ]; then
		ok "$1"
	else
		nok "$1"
		echo "#   qemu-img check: status $_st"
		printf '%s\n' "$_out" | grep -v '^Leaked cluster' | head -n 8 |
		    sed 's/^/#   /'
	fi
}

# sector NAME PREFIX: the sector of a "... FAIL status=IOERR sector=N" line
sector() { line "$1" "$2" | sed -n 's/.* FAIL status=IOERR sector=\([0-9]*\)$/\1/p'; }

# cmd NAME LINE...: type each command line, one at a time, and wait for
# the guest's next prompt (typing ahead would overrun its input)
cmd() {
	_c=$1; shift
	wait_for "$T/con.$_c" 'vmdguest> ' 30
	for _l in "$@"; do
		_n=$(count_in "$T/con.$_c" 'vmdguest> ')
		con_send "$_c" "$_l
"
		_i=0
		while [ "$(count_in "$T/con.$_c" 'vmdguest> ')" -le "$_n" ] &&
		    [ $_i -lt 1200 ]; do
			sleep 0.05; _i=$((_i + 1))
		done
	done
}

# --- another VM, which must not notice any of this
run_guest other '^HELLO' 60 -k "console=ttyS0 run=hello"

# --- disk full: a raw and a qcow2 image on 512 KiB file systems, the
# guest writes 1 MiB to each
mkdir "$T/fr" "$T/fq"
mount -t tmpfs -o size=512k,mode=0755 tmpfs "$T/fr" &&
    mount -t tmpfs -o size=512k,mode=0755 tmpfs "$T/fq"
truncate -s 16M "$T/fr/d.raw"
"$VMCTL" create -s 16M "$T/fq/d.qcow2" >/dev/null 2>&1
cmds=blkwrite:0:0:2048:5,blkflush:0,blkwrite:1:0:2048:6,blkflush:1,hello
if run_guest full '^HELLO' 90 -d "$T/fr/d.raw" -d "$T/fq/d.qcow2" \
    -k "console=ttyS0 run=$cmds"; then
	ok "full: the guest wrote until both file systems were full"
else
	nok "full: the guest wrote until both file systems were full"
fi
echo "# raw:   $(line full 'BLKWRITE 0')"
echo "# qcow2: $(line full 'BLKWRITE 1')"
like "full: raw: the guest got an I/O error" \
    '^BLKWRITE 0 FAIL status=IOERR sector=[0-9]+$' "$(line full 'BLKWRITE 0')"
like "full: qcow2: the guest got an I/O error" \
    '^BLKWRITE 1 FAIL status=IOERR sector=[0-9]+$' "$(line full 'BLKWRITE 1')"
s0=$(sector full 'BLKWRITE 0')
s1=$(sector full 'BLKWRITE 1')
: "${s0:=0}" "${s1:=0}"
echo "# acknowledged before the first error: raw $s0, qcow2 $s1 sectors"
# free KiB of a file system
avail() { df -k --output=avail "$1" | tail -n 1 | tr -d ' '; }
check "full: raw: the errors came when the room was used up ($(avail "$T/fr") KiB free)" \
    test "$(avail "$T/fr")" -lt 64
check "full: qcow2: the errors came when the room was used up ($(avail "$T/fq") KiB free)" \
    test "$(avail "$T/fq")" -lt 128
is "full: raw: flush after the error succeeds" "BLKFLUSH 0 OK" \
    "$(line full 'BLKFLUSH 0')"
is "full: qcow2: flush after the error succeeds" "BLKFLUSH 1 OK" \
    "$(line full 'BLKFLUSH 1')"
cmd full "blkcheck 0 0 $s0 5" "blkcheck 1 0 $s1 6"
is "full: raw: every acknowledged write reads back" "BLKCHECK 0 0 $s0 OK" \
    "$(line full 'BLKCHECK 0')"
is "full: qcow2: every acknowledged write reads back" "BLKCHECK 1 0 $s1 OK" \
    "$(line full 'BLKCHECK 1')"

# the guest insists, where nothing was written yet: every write fails,
# vmd says so a few times only
i=0
while [ $i -lt 12 ]; do
	cmd full "blkwrite 0 20000 8 5" "blkwrite 1 20000 8 6"
	i=$((i + 1))
done
is "full: 12 more writes to each disk, 24 I/O errors" 26 \
    "$(count_in "$T/con.full" '^BLKWRITE [01] FAIL status=IOERR')"
nlog=$(count_in "$T/vmd.log" '^.*vm full: .*(d\.raw|d\.qcow2)')
grep -E 'vm full: ' "$T/vmd.log" | head -n 3 | sed 's/^/# vmd: /'
like "full: vmd logs the errors, naming the VM and the disk" \
    'vm full: .*d\.(raw|qcow2).*No space left on device' \
    "$(grep -E 'vm full: .*d\.(raw|qcow2)' "$T/vmd.log" | head -n 1)"
check "full: at least one and at most 10 such lines a minute ($nlog)" \
    test "$nlog" -ge 1 -a "$nlog" -le 11
check "full: vmd runs on" vmd_alive
cmd other "echo alive"
is "full: the other VM runs on" "ECHO alive" "$(line other 'ECHO alive')"

# room again: writing goes on
mount -o remount,size=4m "$T/fr" && mount -o remount,size=4m "$T/fq"
cmd full "blkwrite 0 $s0 256 7" "blkwrite 1 $s1 256 8" "blkflush 0" \
    "blkflush 1"
is "full: raw: with room again the guest writes" "BLKWRITE 0 $s0 256 OK" \
    "$(line full "BLKWRITE 0 $s0 256")"
is "full: qcow2: with room again the guest writes" "BLKWRITE 1 $s1 256 OK" \
    "$(line full "BLKWRITE 1 $s1 256")"
vmctl stop -f full >/dev/null 2>&1
check "full: the VM stops" wait_gone full 20
qcheck "full: qcow2: qemu-img check: no errors, no leaks" "$T/fq/d.qcow2"
check "full: raw: the acknowledged writes are in the image" \
    "$BLKPAT" check "$T/fr/d.raw" 0 "$s0" 5
check "full: raw: and those made with room again" \
    "$BLKPAT" check "$T/fr/d.raw" "$s0" 256 7
if [ $have_qemu_img -eq 1 ]; then
	qemu-img convert -q -O raw "$T/fq/d.qcow2" "$T/q.raw"
	check "full: qcow2: the acknowledged writes are in the image" \
	    "$BLKPAT" check "$T/q.raw" 0 "$s1" 6
	check "full: qcow2: and those made with room again" \
	    "$BLKPAT" check "$T/q.raw" "$s1" 256 8
fi

# --- deleted under the guest: the open files live on until the VM
# stops, the guest notices nothing
truncate -s 8M "$T/del.raw"
"$VMCTL" create -s 8M "$T/del.qcow2" >/dev/null 2>&1
cmds=blkwrite:0:0:64:11,blkwrite:1:0:64:12,blkflush:0,blkflush:1,hello
run_guest del '^HELLO' 60 -d "$T/del.raw" -d "$T/del.qcow2" \
    -k "console=ttyS0 run=$cmds"
rm -f "$T/del.raw" "$T/del.qcow2"
cmd del "blkwrite 0 64 64 13" "blkwrite 1 300 64 14" "blkflush 0" \
    "blkflush 1" "blkcheck 0 0 64 11" "blkcheck 0 64 64 13" \
    "blkcheck 1 0 64 12" "blkcheck 1 300 64 14"
is "deleted: raw: the guest writes on" "BLKWRITE 0 64 64 OK" \
    "$(line del 'BLKWRITE 0 64')"
is "deleted: qcow2: the guest writes on, new clusters too" \
    "BLKWRITE 1 300 64 OK" "$(line del 'BLKWRITE 1 300')"
is "deleted: flushes succeed" "BLKFLUSH 0 OK BLKFLUSH 1 OK" \
    "$(grep -a '^BLKFLUSH' "$T/con.del" | tr -d '\r' | tail -n 2 | tr '\n' ' ' | sed 's/ $//')"
is "deleted: raw: the guest reads what it wrote before and after" \
    "BLKCHECK 0 0 64 OK BLKCHECK 0 64 64 OK" \
    "$(line del 'BLKCHECK 0 0') $(line del 'BLKCHECK 0 64')"
is "deleted: qcow2: the guest reads what it wrote before and after" \
    "BLKCHECK 1 0 64 OK BLKCHECK 1 300 64 OK" \
    "$(line del 'BLKCHECK 1 0') $(line del 'BLKCHECK 1 300')"
is "deleted: the VM is still running" running "$(vm_field del 8)"
vmctl stop -f del >/dev/null 2>&1
check "deleted: the VM stops" wait_gone del 20
check "deleted: nothing made the files again" \
    test ! -e "$T/del.raw" -a ! -e "$T/del.qcow2"
check "deleted: vmd runs on" vmd_alive

# --- made read-only under the guest.  chmod changes nothing for a
# descriptor already open for writing: the guest writes on.  The
# immutable attribute does (ext4 refuses writes on open files): the
# guest gets I/O errors, then writes again once it is cleared.
truncate -s 8M "$T/ro.raw"
"$VMCTL" create -s 8M "$T/ro.qcow2" >/dev/null 2>&1
cmds=blkwrite:0:0:64:21,blkwrite:1:0:64:22,blkflush:0,blkflush:1,hello
run_guest ro '^HELLO' 60 -d "$T/ro.raw" -d "$T/ro.qcow2" \
    -k "console=ttyS0 run=$cmds"
chmod 0444 "$T/ro.raw" "$T/ro.qcow2"
cmd ro "blkwrite 0 64 64 23" "blkwrite 1 300 64 24" "blkflush 0" \
    "blkflush 1"
is "chmod 0444: raw: the guest writes on" "BLKWRITE 0 64 64 OK" \
    "$(line ro 'BLKWRITE 0 64')"
is "chmod 0444: qcow2: the guest writes on, new clusters too" \
    "BLKWRITE 1 300 64 OK" "$(line ro 'BLKWRITE 1 300')"
if chattr +i "$T/ro.raw" "$T/ro.qcow2" 2>/dev/null; then
	cmd ro "blkwrite 0 200 8 25" "blkwrite 1 0 8 26" \
	    "blkwrite 1 1000 8 27" "blkflush 1" "blkcheck 1 0 64 22"
	grep -a 'FAIL' "$T/con.ro" | tr -d '\r' | sed 's/^/# immutable: /'
	is "immutable: raw: the guest gets an I/O error" \
	    "BLKWRITE 0 FAIL status=IOERR sector=200" \
	    "$(line ro 'BLKWRITE 0 FAIL')"
	is "immutable: qcow2: I/O errors in place and for a new cluster" \
	    "BLKWRITE 1 FAIL status=IOERR sector=0 BLKWRITE 1 FAIL status=IOERR sector=1000" \
	    "$(grep -a '^BLKWRITE 1 FAIL' "$T/con.ro" | tr -d '\r' | tr '\n' ' ' | sed 's/ $//')"
	is "immutable: qcow2: the old data is still there" "BLKCHECK 1 0 64 OK" \
	    "$(line ro 'BLKCHECK 1 0 ')"
	chattr -i "$T/ro.raw" "$T/ro.qcow2"
	cmd ro "blkwrite 0 200 8 28" "blkwrite 1 1000 8 29" "blkflush 0" \
	    "blkflush 1"
	is "immutable cleared: the guest writes again" \
	    "BLKWRITE 0 200 8 OK BLKWRITE 1 1000 8 OK" \
	    "$(line ro 'BLKWRITE 0 200') $(line ro 'BLKWRITE 1 1000')"
else
	skip "immutable images" "chattr +i is not supported under $T"
fi
vmctl stop -f ro >/dev/null 2>&1
check "read-only: the VM stops" wait_gone ro 20
check "read-only: raw: every acknowledged write is in the image" sh -c \
    "'$BLKPAT' check '$T/ro.raw' 0 64 21 && '$BLKPAT' check '$T/ro.raw' 64 64 23"
qcheck "read-only: qcow2: qemu-img check: no errors, no leaks" "$T/ro.qcow2"
if [ $have_qemu_img -eq 1 ]; then
	qemu-img convert -q -O raw "$T/ro.qcow2" "$T/roq.raw"
	check "read-only: qcow2: every acknowledged write is in the image" \
	    sh -c "'$BLKPAT' check '$T/roq.raw' 0 64 22 &&
	    '$BLKPAT' check '$T/roq.raw' 300 64 24"
fi

check "vmd runs on" vmd_alive
like "and answers" 'ID +PID VCPUS +MAXMEM' "$(vmctl status 2>&1)"
cmd other "echo still"
is "the other VM ran through it all" "ECHO still" "$(line other 'ECHO still')"
