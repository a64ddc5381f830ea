# boot images as upstream's loader takes them: gzip-compressed ELF and
# bzImage kernels, 32-bit ELF kernels (plain and gzip'd); a corrupt or
# truncated .gz is refused with one line in vmd's log
. "$top/regress/lib.sh"
vmd_start

# boot NAME IMAGE MARKER: start NAME from IMAGE, wait for MARKER
boot() {
	vmctl start -m 64M -b "$2" -k "console=ttyS0 run=hello" "$1" \
	    >"$T/start.$1" 2>&1
	con_open "$1"
	wait_for "$T/con.$1" "$3" 20
}

gzip -c "$GUEST_ELF" >"$T/guest.elf.gz"
gzip -9 -c "$GUEST_BZ" >"$T/guest.bz.gz"
check "gzip'd ELF64: the guest runs" boot gzelf "$T/guest.elf.gz" '^HELLO'
check "gzip'd ELF64: entered by the ELF path" \
    grep -q "VMDGUEST: boot entry=elf " "$T/con.gzelf"
check "gzip'd bzImage: the guest runs" boot gzbz "$T/guest.bz.gz" '^HELLO'
check "gzip'd bzImage: entered by the bzImage path" \
    grep -q "VMDGUEST: boot entry=bzimage " "$T/con.gzbz"
vmctl stop -f gzelf >/dev/null 2>&1
vmctl stop -f gzbz >/dev/null 2>&1

# vm.conf's boot takes a .gz as well
cat >"$T/vm.conf" <<EOT
vm "gzconf" {
	memory 64M
	boot "$T/guest.elf.gz"
	cmdline "console=ttyS0 run=hello"
	disable
}
EOT
vmctl load "$T/vm.conf" >/dev/null 2>&1
vmctl start gzconf >/dev/null 2>&1
con_open gzconf
check "vm.conf: a gzip'd boot image" wait_for "$T/con.gzconf" '^HELLO' 20
vmctl stop -f gzconf >/dev/null 2>&1

# an ELF32 kernel: protected mode, paging off, upstream's boot stack
cat >"$T/k32.S" <<'EOT'
	.code32
	.text
	.globl	_start
_start:
	movl	$msg_ok, %esi
	movl	%cr0, %eax
	testl	$0x80000000, %eax
	jz	1f
	movl	$msg_pg, %esi
1:	cmpl	$0x0e, 12(%esp)
	je	2f
	movl	$msg_nostack, %esi
2:	movb	(%esi), %bl
	testb	%bl, %bl
	jz	4f
	movw	$0x3fd, %dx
3:	inb	%dx, %al
	testb	$0x20, %al
	jz	3b
	movw	$0x3f8, %dx
	movb	%bl, %al
	outb	%al, %dx
	incl	%esi
	jmp	2b
4:	cli
	hlt
	jmp	4b
msg_ok:		.asciz	"ELF32 OK paging=off apiver=0x0e\r\n"
msg_pg:		.asciz	"ELF32 paging=on\r\n"
msg_nostack:	.asciz	"ELF32 no boot stack\r\n"
EOT
if as --32 -o "$T/k32.o" "$T/k32.S" 2>/dev/null &&
    ld -m elf_i386 -N -Ttext=0x200000 -e _start --build-id=none \
    --no-warn-rwx-segments -o "$T/k32.elf" "$T/k32.o" 2>/dev/null; then
	gzip -c "$T/k32.elf" >"$T/k32.elf.gz"
	for k in k32.elf k32.elf.gz; do
		n=$(echo "$k" | tr -d .)
		vmctl start -m 16M -b "$T/$k" "$n" >/dev/null 2>&1
		con_open "$n"
		wait_for "$T/con.$n" '^ELF32' 20
		is "$k: a 32-bit kernel runs, paging off, with the boot stack" \
		    "ELF32 OK paging=off apiver=0x0e" "$(line "$n" ELF32)"
		vmctl stop -f "$n" >/dev/null 2>&1
	done
else
	skip "k32.elf: a 32-bit kernel runs" "no as --32 / ld -m elf_i386"
	skip "k32.elf.gz: a 32-bit kernel runs" "no as --32 / ld -m elf_i386"
fi

# a corrupt stream: the CRC of the trailer changed
cp "$T/guest.elf.gz" "$T/bad.gz"
sz=$(wc -c <"$T/bad.gz" | tr -d ' ')
printf 'XXXX' | dd of="$T/bad.gz" bs=1 seek=$((sz - 8)) conv=notrunc \
    2>/dev/null
run_is "a corrupt .gz: vmctl says the start failed" 1 \
    "vmctl: start vm command failed: Exec format error" \
    vmctl start -m 64M -b "$T/bad.gz" badgz
is "a corrupt .gz: one line in vmd's log, saying what is wrong" \
    "vm badgz: kernel: corrupt gzip stream: incorrect data check" \
    "$(grep -a 'badgz' "$T/vmd.log" | grep -ai 'gzip\|kernel')"
head -c $((sz / 2)) "$T/guest.elf.gz" >"$T/trunc.gz"
run_is "a truncated .gz: vmctl says the start failed" 1 \
    "vmctl: start vm command failed: Exec format error" \
    vmctl start -m 64M -b "$T/trunc.gz" truncgz
is "a truncated .gz: one line in vmd's log" \
    "vm truncgz: kernel: truncated gzip stream" \
    "$(grep -a 'truncgz' "$T/vmd.log" | grep -ai 'gzip\|kernel')"
is "nothing was left running" "" \
    "$(vmctl status 2>/dev/null | awk 'NR > 1 && $8 == "running"')"
check "vmd still runs" vmd_alive
