# where the kernel lets no user namespace be made (a sysctl or a security
# module may forbid it; here a seccomp filter vmd runs under says EPERM),
# VM processes run in vmm's namespaces: vmd says so once, the guests
# boot, their sandbox holds
. "$top/regress/lib.sh"

printf '#!/bin/sh\nexec %s %s "$@"\n' "$BUILD/tools/nouserns" "$VMD" \
    >"$T/vmd-nouserns"
chmod +x "$T/vmd-nouserns"
VMD=$T/vmd-nouserns
vmd_start
check "a guest boots" run_guest n1 '^HELLO' 20 -k "console=ttyS0 run=hello"
check "a second one too" run_guest n2 '^HELLO' 20 -k "console=ttyS0 run=hello"
is "the log says it once" 1 \
    "$(count_in "$T/vmd.log" "VM processes share vmm's pid and network namespaces")"
vm=$(vm_field n1 2)
vmm=$(ps -o ppid= -p "$vm" | tr -d ' ')
is "the VM process is in vmm's pid namespace" \
    "$(readlink /proc/$vmm/ns/pid)" "$(readlink /proc/$vm/ns/pid)"
is "it still has its seccomp filters" 2 \
    "$(awk '$1 == "Seccomp:" { print $2 }' /proc/$vm/status)"
is "and no capabilities" 0000000000000000 \
    "$(awk '$1 == "CapEff:" { print $2 }' /proc/$vm/status)"
con_send n1 'echo still-here
'
check "and it works" wait_for "$T/con.n1" '^ECHO still-here' 10
