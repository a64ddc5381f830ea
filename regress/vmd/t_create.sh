# vmctl create: sparse raw images, sizes rounded to megabytes
. "$top/regress/lib.sh"

run_is "create a 4.5G image" 0 "vmctl: raw imagefile created" \
    "$VMCTL" create "$T/disk.img" -s 4.5G
is "its size is exactly 4.5 GiB" 4831838208 "$(stat -c %s "$T/disk.img")"
is "it is sparse" 0 "$(stat -c %b "$T/disk.img")"
is "mode 0600" 600 "$(stat -c %a "$T/disk.img")"
run_is "never overwrites" 1 "vmctl: create imagefile operation failed: File exists" \
    "$VMCTL" create "$T/disk.img" -s 1G
is "the existing image is untouched" 4831838208 "$(stat -c %s "$T/disk.img")"
run_is "current syntax, options first" 0 "vmctl: raw imagefile created" \
    "$VMCTL" create -s 512M "$T/b.img"
is "512M" 536870912 "$(stat -c %s "$T/b.img")"
run_is "rounded down to megabytes, with a warning" 0 \
    "vmctl: disk size rounded to 1.0M
vmctl: raw imagefile created" "$VMCTL" create "$T/c.img" -s 1536K
is "1 MiB" 1048576 "$(stat -c %s "$T/c.img")"
run_is "below 1 MB" 1 "vmctl: disk size must be at least 1MB" \
    "$VMCTL" create "$T/d.img" -s 1000K
check "nothing created for a bad size" test ! -e "$T/d.img"
run_is "bad size" 1 "vmctl: invalid disk size: 12Q: Invalid argument" \
    "$VMCTL" create "$T/e.img" -s 12Q
out=$("$VMCTL" create "$T/f.img" 2>&1)
st=$?
is "missing size exits 1" 1 "$st"
like "missing size message" "could not create .*f.img: missing size argument" "$out"

# qcow2: version 3, 64 KiB clusters, L1 at 64 KiB, as upstream
have_qemu=0
command -v qemu-img >/dev/null 2>&1 && command -v qemu-io >/dev/null 2>&1 &&
    have_qemu=1
qskip() { skip "$1" "qemu-img/qemu-io not installed (Debian qemu-utils)"; }
# be32/be64 of a header field
hdr32() { od -An -tx1 -j"$2" -N4 "$1" | tr -d ' \n'; }
hdr64() { od -An -tx1 -j"$2" -N8 "$1" | tr -d ' \n'; }

run_is "create a qcow2 image" 0 "vmctl: qcow2 imagefile created" \
    "$VMCTL" create "$T/base.qcow2" -s 64M
is "qcow2: mode 0600" 600 "$(stat -c %a "$T/base.qcow2")"
is "qcow2: version 3" 00000003 "$(hdr32 "$T/base.qcow2" 4)"
is "qcow2: 64 KiB clusters" 00000010 "$(hdr32 "$T/base.qcow2" 20)"
is "qcow2: virtual size" 0000000004000000 "$(hdr64 "$T/base.qcow2" 24)"
is "qcow2: L1 at 64 KiB" 0000000000010000 "$(hdr64 "$T/base.qcow2" 40)"
is "qcow2: refcount order 4" 00000004 "$(hdr32 "$T/base.qcow2" 96)"
run_is "qcow2 by prefix, no extension" 0 "vmctl: qcow2 imagefile created" \
    "$VMCTL" create -s 2M "qcow2:$T/noext"
is "the prefix made qcow2" 514649fb "$(hdr32 "$T/noext" 0)"
run_is "qcow2 never overwrites" 1 \
    "vmctl: create imagefile operation failed: File exists" \
    "$VMCTL" create "$T/base.qcow2" -s 1G
is "the existing qcow2 is untouched" 0000000004000000 \
    "$(hdr64 "$T/base.qcow2" 24)"
if [ $have_qemu = 1 ]; then
	check "qemu-img check: new qcow2 clean" qemu-img check -q "$T/base.qcow2"
	like "qemu-img info: qcow2, 64M, compat 1.1" \
	    "virtual size: 64 MiB.*cluster_size: 65536.*compat: 1.1" \
	    "$(qemu-img info "$T/base.qcow2" | tr '\n' ' ')"
	qemu-io -c "write -q -P 0x11 1M 64k" -c "write -q -P 0x22 40M 128k" \
	    "$T/base.qcow2" >/dev/null
else
	qskip "qemu-img on the new image"
fi

# -b: a derived image, size from the base
run_is "create -b, in the images' directory" 0 \
    "vmctl: qcow2 imagefile created" \
    sh -c 'cd "$1" && "$2" create -b base.qcow2 vm1.qcow2' sh "$T" "$VMCTL"
is "-b: size from the base" 0000000004000000 "$(hdr64 "$T/vm1.qcow2" 24)"
is "-b: the base's name, relative" "base.qcow2" \
    "$(dd if="$T/vm1.qcow2" bs=1 skip=104 count=10 2>/dev/null)"
run_is "-b with the base's size" 0 "vmctl: qcow2 imagefile created" \
    "$VMCTL" create -b "$T/base.qcow2" -s 64M "$T/vm2.qcow2"
run_is "-b: size mismatch" 1 "vmctl: base size does not match requested size" \
    "$VMCTL" create -b "$T/base.qcow2" -s 32M "$T/vm3.qcow2"
check "-b: nothing made on mismatch" test ! -e "$T/vm3.qcow2"
run_is "-b: raw destination" 1 "vmctl: base images require qcow2 disk format" \
    "$VMCTL" create -b "$T/base.qcow2" "$T/vm3.raw"
run_is "-b: raw base" 1 "vmctl: base image is not a qcow2 file" \
    "$VMCTL" create -b "$T/disk.img" "$T/vm3.qcow2"
run_is "-b: missing base" 1 "vmctl: failure to read base image header" \
    "$VMCTL" create -b "$T/none.qcow2" "$T/vm3.qcow2"
check "-b: nothing made on failure" test ! -e "$T/vm3.qcow2"
run_is "-b and -i" 1 "vmctl: conflicting -b and -i arguments" \
    "$VMCTL" create -b "$T/base.qcow2" -i "$T/base.qcow2" "$T/vm3.qcow2"
if [ $have_qemu = 1 ]; then
	check "qemu-img check: -b image clean" qemu-img check -q "$T/vm1.qcow2"
	like "qemu-img info: backing file" "backing file: base.qcow2" \
	    "$(qemu-img info "$T/vm1.qcow2")"
	qemu-io -c "write -q -P 0x33 1M 4k" -c "write -q -P 0x44 63M 1M" \
	    "$T/vm1.qcow2" >/dev/null
fi

# -i: convert, sparse, rounded up to megabytes
dd if=/dev/urandom of="$T/in.raw" bs=64k count=3 seek=20 2>/dev/null
dd if=/dev/urandom of="$T/in.raw" bs=64k count=1 seek=95 2>/dev/null
truncate -s 6291456 "$T/in.raw"
run_is "-i raw to qcow2" 0 "vmctl: qcow2 imagefile created" \
    "$VMCTL" create -i "$T/in.raw" "$T/conv.qcow2"
run_is "-i qcow2 to raw" 0 "vmctl: raw imagefile created" \
    "$VMCTL" create -i "$T/conv.qcow2" "$T/back.raw"
check "-i: raw to qcow2 to raw is the same" cmp "$T/in.raw" "$T/back.raw"
blocks=$(stat -c %b "$T/back.raw")
check "-i: output is sparse ($blocks blocks for 256K of data)" \
    test "$blocks" -le 520
run_is "-i into an existing file" 1 "vmctl: $T/back.raw: File exists
vmctl: failed to create destination image file" \
    "$VMCTL" create -i "$T/conv.qcow2" "$T/back.raw"
check "-i: the existing file is untouched" cmp "$T/in.raw" "$T/back.raw"
truncate -s 1572864 "$T/odd.raw"
run_is "-i rounds up to megabytes" 0 \
    "vmctl: destination size rounded to 2 megabytes
vmctl: raw imagefile created" "$VMCTL" create -i "$T/odd.raw" "$T/odd2.raw"
is "-i: 2 MiB" 2097152 "$(stat -c %s "$T/odd2.raw")"
run_is "-i with a larger size" 0 "vmctl: qcow2 imagefile created" \
    "$VMCTL" create -i "$T/in.raw" -s 8M "$T/big.qcow2"
is "-i -s 8M" 0000000000800000 "$(hdr64 "$T/big.qcow2" 24)"
run_is "-i with a smaller size" 1 \
    "vmctl: size cannot be smaller than input disk size" \
    "$VMCTL" create -i "$T/in.raw" -s 4M "$T/small.raw"
check "-i: nothing left on failure" test ! -e "$T/small.raw"
run_is "-i of a missing input: upstream's one line" 1 \
    "vmctl: failed to open source image file" \
    "$VMCTL" create -i "$T/none.raw" "$T/x.raw"
check "-i: nothing made for a missing input" test ! -e "$T/x.raw"
cp "$T/conv.qcow2" "$T/enc.qcow2"
printf '\000\000\000\001' | dd of="$T/enc.qcow2" bs=1 seek=32 conv=notrunc \
    2>/dev/null
sum=$(cksum < "$T/enc.qcow2")
run_is "-i of an encrypted qcow2" 1 "vmctl: qcow2: encryption is not supported
vmctl: failed to open source image file" \
    "$VMCTL" create -i "$T/enc.qcow2" "$T/x.raw"
is "the bad input is unchanged" "$sum" "$(cksum < "$T/enc.qcow2")"
check "-i: nothing made for a bad input" test ! -e "$T/x.raw"

if [ $have_qemu = 1 ]; then
	check "qemu-img check: -i qcow2 clean" qemu-img check -q "$T/conv.qcow2"
	check "qemu-img compare: -i qcow2 equals its input" \
	    qemu-img compare -q -F raw "$T/conv.qcow2" "$T/in.raw"
	run_is "-i qcow2 with a backing file to raw" 0 \
	    "vmctl: raw imagefile created" \
	    "$VMCTL" create -i "$T/vm1.qcow2" "$T/flat.raw"
	check "qemu-img compare: the chain flattened" \
	    qemu-img compare -q -F raw "$T/vm1.qcow2" "$T/flat.raw"
	run_is "-i qcow2 with a backing file to qcow2" 0 \
	    "vmctl: qcow2 imagefile created" \
	    "$VMCTL" create -i "$T/vm1.qcow2" "$T/flat.qcow2"
	check "qemu-img check: flattened qcow2 clean" \
	    qemu-img check -q "$T/flat.qcow2"
	check "qemu-img compare: flattened qcow2" \
	    qemu-img compare -q "$T/vm1.qcow2" "$T/flat.qcow2"
	like "flattened qcow2 has no backing file" "^$" \
	    "$(qemu-img info "$T/flat.qcow2" | grep 'backing file')"
	qemu-img create -q -f qcow2 "$T/q.qcow2" 4M
	qemu-io -c "write -q -P 0x5a 0 1M" "$T/q.qcow2" >/dev/null
	run_is "-i of a qcow2 that qemu-img made" 0 \
	    "vmctl: raw imagefile created" \
	    "$VMCTL" create -i "$T/q.qcow2" "$T/q.raw"
	check "qemu-img compare: qemu's qcow2 converted" \
	    qemu-img compare -q -F raw "$T/q.qcow2" "$T/q.raw"
else
	qskip "-i checks with qemu-img"
fi
