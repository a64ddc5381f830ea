# make install into a fresh root: binaries, manuals, the systemd unit with
# the install's paths (systemd-analyze verify clean), /etc/default/vmd, a
# commented vm.conf vmd accepts, the firmware link; a vm.conf already
# there is kept; make uninstall takes away what install added and nothing
# else.  Then the unit's readiness protocol against a real vmd: READY=1
# once the control socket accepts, RELOADING=1/READY=1 on SIGHUP,
# STOPPING=1 on SIGTERM.
. "$top/regress/lib.sh"

R=$T/root
mk() { make -s -C "$top" BUILD="$BUILD" DESTDIR="$R" PREFIX=/usr \
    UNITDIR=/lib/systemd/system "$@"; }

check "make install" mk install
for f in /usr/sbin/vmd /usr/sbin/vmctl /usr/share/man/man8/vmd.8 \
    /usr/share/man/man8/vmctl.8 /usr/share/man/man5/vm.conf.5 \
    /lib/systemd/system/vmd.service /etc/default/vmd /etc/vm.conf; do
	check "installed: $f" test -f "$R$f"
done
is "the firmware path upstream uses points at Debian's SeaBIOS" \
    /usr/share/seabios/bios.bin "$(readlink "$R/etc/firmware/vmm-bios")"
is "the unit starts the installed vmd in the foreground" \
    'ExecStart=/usr/sbin/vmd -d $VMD_FLAGS' \
    "$(grep '^ExecStart=' "$R/lib/systemd/system/vmd.service")"
check "the unit has no placeholder left" \
    sh -c "! grep -q @ $R/lib/systemd/system/vmd.service"
is "the sample vm.conf: configuration OK" "configuration OK" \
    "$("$R/usr/sbin/vmd" -n -f "$R/etc/vm.conf" 2>&1 | tail -n 1)"
if command -v systemd-analyze >/dev/null 2>&1; then
	# the unit as installed, its programs looked for where they are
	mkdir -p "$T/unit"
	sed "s|/usr/sbin/|$R/usr/sbin/|g" \
	    "$R/lib/systemd/system/vmd.service" >"$T/unit/vmd.service"
	out=$(systemd-analyze verify --man=no "$T/unit/vmd.service" 2>&1)
	is "systemd-analyze verify: clean" "" "$out"
else
	skip "systemd-analyze verify" "systemd-analyze is not installed"
fi

# what is there stays
echo '# mine' >"$R/etc/vm.conf"
echo 'VMD_FLAGS="-v"' >"$R/etc/default/vmd"
check "make install again" mk install
is "an existing vm.conf is not overwritten" "# mine" "$(cat "$R/etc/vm.conf")"
is "nor /etc/default/vmd" 'VMD_FLAGS="-v"' "$(cat "$R/etc/default/vmd")"
check "make uninstall" mk uninstall
is "uninstall leaves the files the admin changed, and nothing else" \
    "/etc/default/vmd /etc/vm.conf" \
    "$(cd "$R" && find . -type f -o -type l | sed 's/^\.//' | sort | xargs)"
rm -f "$R/etc/vm.conf" "$R/etc/default/vmd"
check "install, then uninstall" sh -c 'mk() { make -s -C "$1" BUILD="$2" \
    DESTDIR="$3" PREFIX=/usr UNITDIR=/lib/systemd/system "$4"; }
    mk "$1" "$2" "$3" install && mk "$1" "$2" "$3" uninstall' sh \
    "$top" "$BUILD" "$R"
is "nothing left after a clean install and uninstall" "" \
    "$(cd "$R" && find . -type f -o -type l | xargs)"

# readiness, reload and stop as a service manager hears them
NOTIFY_SOCKET=$T/notify
export NOTIFY_SOCKET
"$BUILD/tools/notifyd" "$NOTIFY_SOCKET" "$SOCK" 8 >"$T/notified" &
np=$!
sleep 0.3
vmd_start
unset NOTIFY_SOCKET
check "READY=1 came" wait_for "$T/notified" '^READY=1' 5
is "and the control socket accepted when it did" "READY=1 accepts" \
    "$(grep '^READY=1' "$T/notified" | head -n 1)"
kill -HUP "$VMD_PID"
check "SIGHUP: RELOADING=1" wait_for "$T/notified" '^RELOADING=1' 5
check "then READY=1 again" test "$(count_in "$T/notified" '^READY=1')" -ge 1
sleep 0.5
is "READY=1 twice in all" 2 "$(count_in "$T/notified" '^READY=1')"
kill -TERM "$VMD_PID"
check "SIGTERM: STOPPING=1" wait_for "$T/notified" '^STOPPING=1' 5
wait "$VMD_PID" 2>/dev/null
VMD_PID=
kill "$np" 2>/dev/null
