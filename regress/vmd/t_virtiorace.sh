# Virtio registers written by one vCPU while the devices are busy with
# another's requests (the test guest's "race": the APs reset devices,
# select queues, write queue sizes, enable queues on rings the device
# must refuse, so that every queue of a device stops while its thread
# may be in the middle of a ring, and the next size written is the one
# that thread would read).  vmd and a bystander VM live through it, the
# racing VM keeps running, its disk, entropy device, interface and
# CD-ROM work again once set up properly, with the bytes the guest
# wrote in the image, and nothing crashed.  RACE_SECS: how long.
# Under ThreadSanitizer (OPT="-O1 -g -fsanitize=thread -Wno-error=tsan"
# LDFLAGS=-fsanitize=thread, with a VM sandbox that lets its runtime
# be) the only reports left are on guest memory, which the guest shares
# between devices here on purpose; before the fix, a vCPU's queue size
# store raced with a device thread's ring reads.
. "$top/regress/lib.sh"
secs=${RACE_SECS:-15}
if [ "$(id -u)" -ne 0 ]; then
	skip "virtio race" "needs root (taps, ip netns)"
	exit 0
fi
if ! netns_new; then
	nok "a network namespace for the test (ip netns add)"
	exit 1
fi
vmd_start

BLKPAT=$BUILD/guest/blkpat
truncate -s 16M "$T/race.raw"
truncate -s 6M "$T/cd.iso"

# the bystander, on its own
run_guest by '^HELLO' 30 -k "console=ttyS0 run=hello"

cmds="race:$secs:7,blkwrite:0:4096:64:11,blkcheck:0:4096:64:11"
cmds="$cmds,rng:0:512,cdinfo:0,netinfo:0,race:2:8,blkcheck:0:4096:64:11,hello"
vmctl start -m 64M -C 2 -b "$GUEST_ELF" -d "$T/race.raw" -r "$T/cd.iso" \
    -L -k "console=ttyS0 run=$cmds" racer >"$T/start.racer" 2>&1
con_open racer
c=$T/con.racer
if wait_for "$c" '^(HELLO|VMDGUEST: EXCEPTION)' $((secs + 90)); then
	ok "the racing guest ran its commands"
else
	nok "the racing guest ran its commands"
fi
echo "# $(line racer 'RACE')"
like "race: the APs wrote, the BSP's requests completed between" \
    "^RACE OK secs=$secs done=[1-9][0-9]* batches=[0-9]+ resets=[0-9]+ writes=[1-9][0-9]* cpus=2" \
    "$(line racer 'RACE')"
is "after the race: a write set up anew" "BLKWRITE 0 4096 64 OK" \
    "$(line racer BLKWRITE)"
is "after the race: read back as written" "BLKCHECK 0 4096 64 OK" \
    "$(line racer BLKCHECK)"
like "after the race: the entropy device" '^RNG 0 512 OK' "$(line racer RNG)"
like "after the race: the CD-ROM" '^CDINFO 0 blocks=3072 ' \
    "$(line racer CDINFO)"
like "after the race: the interface" '^NETINFO 0 ' "$(line racer NETINFO)"
is "a second race, then the data is still there" \
    "BLKCHECK 0 4096 64 OK
BLKCHECK 0 4096 64 OK" "$(grep -a '^BLKCHECK' "$c" | tr -d '\r')"
check "the image holds what the guest wrote" \
    "$BLKPAT" check "$T/race.raw" 4096 64 11
is "the racing VM still runs" running "$(vm_field racer 8)"

check "vmd still runs" vmd_alive
con_send by 'echo still-here
'
check "the bystander answers on its console" \
    wait_for "$T/con.by" '^ECHO still-here' 10
is "nothing crashed or died of a signal" "" \
    "$(grep -E 'killed by signal|crashed|lost child|fatal|AddressSanitizer|runtime error' "$T/vmd.log")"
n=$(grep -c 'racer: .*vio' "$T/vmd.log")
check "the guest's protocol errors are rate-limited ($n lines)" \
    test "$n" -le 40
vmctl stop -f racer >/dev/null 2>&1
vmctl stop -f by >/dev/null 2>&1
check "both stop" wait_gone racer 10
