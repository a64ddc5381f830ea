# the three boot paths: command line, initrd, e820, ACPI and RTC as the
# guest sees them; poweroff through ACPI S5
. "$top/regress/lib.sh"
vmd_start

head -c 5000 /dev/urandom >"$T/initrd"
isize=$(wc -c <"$T/initrd" | tr -d ' ')
isum=$(fnv1a "$T/initrd")
n=0
for kind in elf bzimage pvh; do
	case $kind in
	elf)		k=$GUEST_ELF ;;
	bzimage)	k=$GUEST_BZ ;;
	pvh)		k=$GUEST_PVH ;;
	esac
	n=$((n + 1))
	name=boot-$kind
	cmd="console=ttyS0 quiet run=cmdline,initrd,e820,acpi,rtc,tscdl,poweroff"
	vmctl start -m 128M -b "$k" -I "$T/initrd" -k "$cmd" "$name" >/dev/null 2>&1
	con_open "$name"
	c=$T/con.$name
	if ! wait_for "$c" '^POWEROFF' 20; then
		nok "$kind: guest ran its tests"
		continue
	fi
	ok "$kind: guest ran its tests"
	check "$kind: entered by the $kind path" \
	    grep -q "VMDGUEST: boot entry=$kind " "$c"
	is "$kind: command line" "CMDLINE $cmd" \
	    "$(grep '^CMDLINE' "$c" | tr -d '\r')"
	like "$kind: initrd bytes" \
	    "^INITRD addr=0x[0-9a-f]+ size=$isize sum=$isum\$" \
	    "$(grep '^INITRD' "$c" | tr -d '\r')"
	like "$kind: e820 low memory" '^E820 0x0 0x9fc00 1$|^E820 0x0 0xa0000 1$' \
	    "$(grep '^E820 0x0 ' "$c" | tr -d '\r')"
	like "$kind: e820 RAM from 1 MiB to the end" '^E820 0x100000 0x7f00000 1$' \
	    "$(grep '^E820 0x100000 ' "$c" | tr -d '\r')"
	like "$kind: ACPI tables check out" '^ACPI OK cpus=1 s5=[0-9]+' \
	    "$(grep '^ACPI' "$c" | tr -d '\r')"
	is "$kind: LAPIC timer in TSC-deadline mode" "TSCDL OK" \
	    "$(grep '^TSCDL' "$c" | tr -d '\r')"
	rtc=$(grep '^RTC' "$c" | tr -d '\r' | sed 's/^RTC //')
	g=$(date -u -d "$rtc" +%s 2>/dev/null || echo 0)
	h=$(date -u +%s)
	d=$((h - g))
	[ $d -lt 0 ] && d=$((-d))
	if [ "$d" -le 30 ]; then
		ok "$kind: RTC shows the host's UTC time"
	else
		nok "$kind: RTC shows the host's UTC time ($rtc)"
	fi
	check "$kind: ACPI poweroff stops the VM" wait_gone "$name" 10
done
check "vmd still runs" vmd_alive
