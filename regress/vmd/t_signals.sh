# SIGTERM stops every VM and vmd exits; the socket goes away
. "$top/regress/lib.sh"
vmd_start

vmctl start -m 16M -b "$GUEST_ELF" -k "console=ttyS0 run=hello" a >/dev/null 2>&1
vmctl start -m 16M -b "$GUEST_PVH" -k "console=ttyS0 run=hello" b >/dev/null 2>&1
check "VMs up" wait_state b running 5
pa=$(vm_field a 2)
pb=$(vm_field b 2)
kids=$(ps -o pid= --ppid "$VMD_PID" | tr '\n' ' ')
kill -TERM "$VMD_PID"
i=0
while kill -0 "$VMD_PID" 2>/dev/null && [ $i -lt 100 ]; do
	sleep 0.05; i=$((i + 1))
done
check "vmd exits on SIGTERM" sh -c "! kill -0 $VMD_PID 2>/dev/null"
sleep 0.5
check "its VM processes are gone" sh -c "! kill -0 $pa 2>/dev/null && ! kill -0 $pb 2>/dev/null"
gone=1
for k in $kids; do kill -0 "$k" 2>/dev/null && gone=0; done
is "its control, vmm and priv processes are gone" 1 "$gone"
check "its socket is removed" test ! -e "$SOCK"
check "the log says so" grep -q terminating "$T/vmd.log"
VMD_PID=
