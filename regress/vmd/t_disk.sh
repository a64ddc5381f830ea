# Disks, CD-ROM and entropy as the test guest's virtio drivers see them:
# the bytes on raw and qcow2 images (qemu-img made and ours), flush,
# backing chains, locks, corrupt images, hostile requests.
. "$top/regress/lib.sh"
vmd_start

BLKPAT=$BUILD/guest/blkpat
have_qemu_img=1
command -v qemu-img >/dev/null 2>&1 || have_qemu_img=0

# --- raw: what the host wrote, the guest reads, and the other way round
truncate -s 64M "$T/a.raw"
"$BLKPAT" fill "$T/a.raw" 100 64 7
hsum=$("$BLKPAT" sum "$T/a.raw" 100 64)
cmds=virtio,blkinfo:0,blkread:0:100:64,blkcheck:0:100:64:7
cmds=$cmds,blkwrite:0:4096:256:9,blkflush:0,blkid:0
cmds=$cmds,blkmany:0:128:5,blkmany:0:128:5,blkmany:0:128:5,blkzero:0:100:8,blkdiscard:0:120:8,blkbad:0:oob,blkbad:0:badtype
cmds=$cmds,rng:0:512,hello
if run_guest raw '^HELLO' 60 -d "$T/a.raw" -k "console=ttyS0 run=$cmds"; then
	ok "raw: the guest ran its disk commands"
else
	nok "raw: the guest ran its disk commands"
fi
like "raw: virtio-blk at 00:02 after the RNG" '^VIRTIO 00:02\.0 blk id=1042' \
    "$(line raw 'VIRTIO 00:02')"
is "raw: capacity, features, queue" \
    "BLKINFO 0 sectors=131072 ro=0 flush=1 discard=1 wzeroes=1 segmax=254 qsize=256" \
    "$(line raw BLKINFO)"
is "raw: the guest reads what the host wrote" "BLKREAD 0 100 64 $hsum" \
    "$(line raw BLKREAD)"
is "raw: pattern verified in the guest" "BLKCHECK 0 100 64 OK" \
    "$(line raw BLKCHECK)"
is "raw: write" "BLKWRITE 0 4096 256 OK" "$(line raw BLKWRITE)"
is "raw: flush" "BLKFLUSH 0 OK" "$(line raw BLKFLUSH)"
is "raw: the disk's id is the image's name" "BLKID 0 a.raw" "$(line raw BLKID)"
# How many were still in flight right after the kick: when the host is
# busy, the device's threads may take the vCPU's CPU at the kick and
# finish them all first (inflight=0), so the best of three batches counts.
is "raw: three batches of 128 requests" 3 \
    "$(count_in "$T/con.raw" '^BLKMANY 0 128 OK inflight=')"
best=$(grep -a '^BLKMANY 0 128 OK' "$T/con.raw" | tr -d '\r' |
    sed 's/.*inflight=//' | sort -n | tail -n 1)
[ "${best:-0}" -ge 40 ] && ok "raw: up to $best requests in flight at once" ||
    nok "raw: up to ${best:-?} requests in flight at once (40 or more)"
is "raw: write zeroes" "BLKZERO 0 OK" "$(line raw BLKZERO)"
is "raw: discard" "BLKDISCARD 0 OK" "$(line raw BLKDISCARD)"
is "raw: a read past the end is an I/O error" "BLKBAD 0 oob status=IOERR" \
    "$(line raw 'BLKBAD 0 oob')"
is "raw: an unknown request is unsupported" "BLKBAD 0 badtype status=UNSUPP" \
    "$(line raw 'BLKBAD 0 badtype')"
like "raw: the entropy device gives varied bytes" '^RNG 0 512 OK distinct=(1[0-9][0-9]|2[0-5][0-9])$' \
    "$(line raw RNG)"
check "raw: the guest's writes are in the image" \
    "$BLKPAT" check "$T/a.raw" 4096 256 9
check "raw: and the queue test's" "$BLKPAT" check "$T/a.raw" 0 8 5
# nonzero IMAGE SECTOR COUNT: how many bytes there are not zero
nonzero() {
	dd if="$1" bs=512 skip="$2" count="$3" 2>/dev/null | tr -d '\000' |
	    wc -c | tr -d ' '
}
is "raw: zeroed sectors read back as zeroes" 0 "$(nonzero "$T/a.raw" 100 8)"
is "raw: discarded sectors read back as zeroes" 0 "$(nonzero "$T/a.raw" 120 8)"
check "raw: sectors around them untouched" "$BLKPAT" check "$T/a.raw" 108 12 5

# --- direct I/O (vmctl -d direct:PATH): the same bytes, and the VM
# process's descriptor has O_DIRECT; on qcow2 a second descriptor has it,
# for the data, and the image stays clean

# odirect NAME PATH: the O_DIRECT bit (0/1) of each descriptor of VM
# NAME's process on PATH, in descriptor order
odirect() {
	_vp=$(vm_field "$1" 2)
	for _f in $(ls /proc/"$_vp"/fd | sort -n); do
		[ "$(readlink "/proc/$_vp/fd/$_f")" = "$2" ] || continue
		# O_DIRECT is 040000 on x86
		_fl=$(awk '/^flags:/ { print $2 }' "/proc/$_vp/fdinfo/$_f")
		printf '%s' $(( (0$_fl >> 14) & 1 ))
	done
}

truncate -s 16M "$T/d.raw"
"$BLKPAT" fill "$T/d.raw" 100 64 7
if ! dd if=/dev/zero of="$T/d.probe" bs=4096 count=1 oflag=direct \
    2>/dev/null; then
	skip "direct: guest I/O" "$T's file system has no O_DIRECT"
else
	cmds=virtio,blkread:0:100:64,blkcheck:0:100:64:7
	cmds=$cmds,blkwrite:0:4096:256:9,blkflush:0,blkmany:0:128:5,hello
	if run_guest direct '^HELLO' 60 -d "direct:$T/d.raw" \
	    -k "console=ttyS0 run=$cmds"; then
		ok "direct: the guest ran its disk commands"
	else
		nok "direct: the guest ran its disk commands"
		sed 's/^/# /' "$T/start.direct" "$T/vmd.log"
	fi
	is "direct: the guest reads what the host wrote" \
	    "BLKREAD 0 100 64 $hsum" "$(line direct BLKREAD)"
	is "direct: pattern verified" "BLKCHECK 0 100 64 OK" \
	    "$(line direct BLKCHECK)"
	is "direct: write" "BLKWRITE 0 4096 256 OK" "$(line direct BLKWRITE)"
	is "direct: flush" "BLKFLUSH 0 OK" "$(line direct BLKFLUSH)"
	like "direct: 128 requests in flight" '^BLKMANY 0 128 OK' \
	    "$(line direct BLKMANY)"
	is "direct: the VM process's descriptor has O_DIRECT" 1 \
	    "$(odirect direct "$T/d.raw")"
	vmctl stop -f -w direct >/dev/null 2>&1
	check "direct: the guest's writes are in the image" \
	    "$BLKPAT" check "$T/d.raw" 4096 256 9
	check "direct: and the queue test's" "$BLKPAT" check "$T/d.raw" 0 8 5

	vmctl create -s 16M "$T/dq.qcow2" >/dev/null 2>&1
	cmds=virtio,blkwrite:0:4096:256:9,blkflush:0,blkcheck:0:4096:256:9
	cmds=$cmds,blkmany:0:128:5,blkwrite:0:100:3:4,blkcheck:0:100:3:4,hello
	if run_guest dq '^HELLO' 60 -d "direct:$T/dq.qcow2" \
	    -k "console=ttyS0 run=$cmds"; then
		ok "direct qcow2: the guest ran its disk commands"
	else
		nok "direct qcow2: the guest ran its disk commands"
		sed 's/^/# /' "$T/start.dq" "$T/vmd.log"
	fi
	is "direct qcow2: allocating writes read back" \
	    "BLKCHECK 0 4096 256 OK" "$(line dq 'BLKCHECK 0 4096')"
	is "direct qcow2: and a write of part of a cluster" \
	    "BLKCHECK 0 100 3 OK" "$(line dq 'BLKCHECK 0 100')"
	like "direct qcow2: 128 requests in flight" '^BLKMANY 0 128 OK' \
	    "$(line dq BLKMANY)"
	is "direct qcow2: O_DIRECT on the second descriptor, not the first" \
	    01 "$(odirect dq "$T/dq.qcow2")"
	vmctl stop -f -w dq >/dev/null 2>&1
	if [ $have_qemu_img -eq 1 ]; then
		check "direct qcow2: qemu-img check clean" \
		    qemu-img check -q "$T/dq.qcow2"
		qemu-img convert -O raw "$T/dq.qcow2" "$T/dq.raw"
		check "direct qcow2: the guest's writes are in the image" \
		    "$BLKPAT" check "$T/dq.raw" 4096 256 9
		check "direct qcow2: all of them" \
		    "$BLKPAT" check "$T/dq.raw" 100 3 4
	else
		skip "direct qcow2: qemu-img check" "no qemu-img (qemu-utils)"
	fi
fi

# --- MSI-X: the same requests with the vectors on, the masking rules,
# then INTx again after a reset
truncate -s 16M "$T/m.raw"
"$BLKPAT" fill "$T/m.raw" 100 64 7
cmds=msix:1,blkread:0:100:64,blkwrite:0:4096:256:9,blkmany:0:128:5
cmds=$cmds,blkmsix:0,rng:0:512,msix:0,blkcheck:0:4096:256:9,hello
if run_guest msix '^HELLO' 60 -d "$T/m.raw" -k "console=ttyS0 run=$cmds"; then
	ok "msix: the guest ran its commands"
else
	nok "msix: the guest ran its commands"
fi
is "msix: enabled" "MSIX on" "$(line msix 'MSIX on')"
is "msix: reads on MSI-X" "BLKREAD 0 100 64 $hsum" "$(line msix BLKREAD)"
is "msix: writes on MSI-X" "BLKWRITE 0 4096 256 OK" "$(line msix BLKWRITE)"
like "msix: 128 requests in flight" '^BLKMANY 0 128 OK inflight=' \
    "$(line msix BLKMANY)"
is "msix: masked holds the message, unmasked sends it, a new one is used" \
    "BLKMSIX 0 OK pending=1 delivered=1 cleared=1 moved=1" \
    "$(line msix BLKMSIX)"
like "msix: the RNG on MSI-X too" '^RNG 0 512 OK' "$(line msix RNG)"
is "msix: back to INTx after a reset" "BLKCHECK 0 4096 256 OK" \
    "$(line msix BLKCHECK)"
check "msix: the guest's writes are in the image" \
    "$BLKPAT" check "$T/m.raw" 4096 256 9
vmctl stop -f -w msix >/dev/null 2>&1

# --- the same image again while in use: refused, the first VM unharmed
run_is "a writable image in use is refused" 1 \
    "vmctl: disk image(s) in use by another vm" \
    vmctl start -m 64M -b "$GUEST_ELF" -d "$T/a.raw" second
con_send raw "blkcheck 0 4096 256 9
"
check "the first VM still reads its disk" \
    wait_for "$T/con.raw" '^BLKCHECK 0 4096 256 OK' 20
con_send raw "blkwrite 0 8192 64 11
blkflush 0
"
i=0
while [ "$(count_in "$T/con.raw" '^BLKFLUSH 0 OK')" -lt 2 ] && [ $i -lt 200 ]; do
	sleep 0.1; i=$((i + 1))
done
vmctl stop -f raw >/dev/null 2>&1
check "flushed data survives vmctl stop -f right after" \
    "$BLKPAT" check "$T/a.raw" 8192 64 11
check "the VM is gone" wait_gone raw 10

# --- qcow2 with a backing file, made by qemu-img; and one made by us
if [ $have_qemu_img -eq 1 ]; then
	truncate -s 32M "$T/base.raw"
	"$BLKPAT" fill "$T/base.raw" 0 256 21
	qemu-img convert -q -f raw -O qcow2 "$T/base.raw" "$T/base.qcow2"
	qemu-img create -q -f qcow2 -F qcow2 -b base.qcow2 "$T/top.qcow2"
	basesum=$(md5sum <"$T/base.qcow2")
	cp "$T/base.raw" "$T/model.raw"
	"$BLKPAT" fill "$T/model.raw" 200 40 23
	"$BLKPAT" fill "$T/model.raw" 1000 300 24
	cmds=blkinfo:0,blkcheck:0:0:256:21,blkwrite:0:200:40:23
	cmds=$cmds,blkwrite:0:1000:300:24,blkflush:0,blkcheck:0:0:200:21,hello
	if run_guest q2 '^HELLO' 60 -d "$T/top.qcow2" \
	    -k "console=ttyS0 run=$cmds"; then
		ok "qcow2: the guest ran its commands"
	else
		nok "qcow2: the guest ran its commands"
	fi
	is "qcow2: the size comes from the image" \
	    "BLKINFO 0 sectors=65536" "$(line q2 BLKINFO | cut -d' ' -f1-3)"
	is "qcow2: the base's data read through the chain" \
	    "BLKCHECK 0 0 256 OK" "$(line q2 'BLKCHECK 0 0 256')"
	is "qcow2: unwritten clusters still the base's" \
	    "BLKCHECK 0 0 200 OK" "$(line q2 'BLKCHECK 0 0 200')"
	vmctl stop -f q2 >/dev/null 2>&1
	wait_gone q2 10
	check "qcow2: qemu-img check finds no errors" \
	    qemu-img check -q "$T/top.qcow2"
	check "qcow2: qemu-img compare: what the guest wrote, over the base" \
	    qemu-img compare -q -f qcow2 -F raw "$T/top.qcow2" "$T/model.raw"
	is "qcow2: the base is unchanged" "$basesum" "$(md5sum <"$T/base.qcow2")"

	"$VMCTL" create -b "$T/base.qcow2" "$T/ours.qcow2" >/dev/null 2>&1
	cmds=blkcheck:0:0:256:21,blkwrite:0:5000:128:31,blkflush:0,hello
	run_guest q3 '^HELLO' 60 -d "$T/ours.qcow2" -k "console=ttyS0 run=$cmds"
	is "vmctl create -b: the guest reads the base" "BLKCHECK 0 0 256 OK" \
	    "$(line q3 'BLKCHECK 0 0 256')"
	vmctl stop -f q3 >/dev/null 2>&1
	wait_gone q3 10
	check "vmctl create -b: qemu-img check after the guest wrote" \
	    qemu-img check -q "$T/ours.qcow2"
	qemu-img convert -q -O raw "$T/ours.qcow2" "$T/ours.raw"
	check "vmctl create -b: the guest's writes" \
	    "$BLKPAT" check "$T/ours.raw" 5000 128 31
else
	skip "qcow2 images made by qemu-img" "qemu-img is not installed"
fi

# --- two disks, a CD-ROM
truncate -s 8M "$T/b.raw"
truncate -s 6M "$T/cd.iso"
"$BLKPAT" fill "$T/cd.iso" 0 12288 41
cdsum=$("$BLKPAT" sum "$T/cd.iso" 40 64)
cdmd5=$(md5sum <"$T/cd.iso")
cmds=virtio,blkinfo:0,blkinfo:1,cdinfo:0,cdinq:0,cdread:0:10:16,cdwrite:0:3,hello
run_guest two '^HELLO' 60 -d "$T/a.raw" -d "$T/b.raw" -r "$T/cd.iso" \
    -k "console=ttyS0 run=$cmds"
is "two disks and a CD-ROM: four virtio devices" "VIRTIO END 4" \
    "$(line two 'VIRTIO END')"
like "the second disk is the second image" '^BLKINFO 1 sectors=16384 ' \
    "$(line two 'BLKINFO 1')"
like "the CD-ROM is virtio-scsi" '^VIRTIO 00:04\.0 scsi id=1048' \
    "$(line two 'VIRTIO 00:04')"
is "cdrom: capacity in 2048-byte blocks" "CDINFO 0 blocks=3072 blksize=2048" \
    "$(line two CDINFO)"
like "cdrom: a CD-ROM drive" '^CDINQ 0 type=5 ' "$(line two CDINQ)"
is "cdrom: the guest reads the ISO's bytes" "CDREAD 0 10 16 $cdsum" \
    "$(line two CDREAD)"
is "cdrom: writes are refused as write-protected" "CDWRITE 0 sense=7/27/00" \
    "$(line two CDWRITE)"
vmctl stop -f two >/dev/null 2>&1
wait_gone two 10
is "cdrom: the ISO is unchanged" "$cdmd5" "$(md5sum <"$T/cd.iso")"

# --- images that cannot be used: one line, exit 1, vmd and the image unharmed
printf 'QFI\373\000\000\000\003' >"$T/trunc.qcow2"
head -c 65536 /dev/urandom >>"$T/trunc.qcow2"
sum=$(md5sum <"$T/trunc.qcow2")
run_is "a corrupt qcow2 header is refused" 1 \
    "vmctl: disk image(s) corrupt or of an unsupported format (see vmd's log)" \
    vmctl start -m 64M -b "$GUEST_ELF" -d "qcow2:$T/trunc.qcow2" bad1
is "and the image is unchanged" "$sum" "$(md5sum <"$T/trunc.qcow2")"
check "and vmd's log says why" grep -q "trunc.qcow2" "$T/vmd.log"
run_is "a missing image" 1 \
    "vmctl: invalid disk path: $T/nothere.raw: No such file or directory" \
    vmctl start -m 64M -b "$GUEST_ELF" -d "$T/nothere.raw" bad2
if [ $have_qemu_img -eq 1 ]; then
	qemu-img create -q -f qcow2 -b "$T/gone.qcow2" -F qcow2 \
	    "$T/orphan.qcow2" 16M 2>/dev/null ||
	    { qemu-img create -q -f qcow2 "$T/gone.qcow2" 16M &&
	    qemu-img create -q -f qcow2 -b gone.qcow2 -F qcow2 \
	    "$T/orphan.qcow2" && rm -f "$T/gone.qcow2"; }
	run_is "a missing backing file" 1 "vmctl: could not open disk image(s)" \
	    vmctl start -m 64M -b "$GUEST_ELF" -d "$T/orphan.qcow2" bad3
	qemu-img create -q -f qcow2 "$T/l1.qcow2" 16M
	qemu-img create -q -f qcow2 -b l1.qcow2 -F qcow2 "$T/l2.qcow2"
	qemu-img rebase -q -u -b l2.qcow2 -F qcow2 "$T/l1.qcow2"
	run_is "a backing chain that loops" 1 \
	    "vmctl: disk image(s) corrupt or of an unsupported format (see vmd's log)" \
	    vmctl start -m 64M -b "$GUEST_ELF" -d "$T/l2.qcow2" bad4
	check "and the log names the loop" grep -q "loops" "$T/vmd.log"
fi
run_is "a fifth disk" 1 "vmctl: too many disks" \
    vmctl start -m 64M -b "$GUEST_ELF" -d "$T/a.raw" -d "$T/b.raw" \
    -d "$T/a.raw" -d "$T/b.raw" -d "$T/a.raw" bad5
check "vmd is still running" vmd_alive
like "and answers" 'ID +PID VCPUS +MAXMEM' "$(vmctl status 2>&1)"
