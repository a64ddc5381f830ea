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
