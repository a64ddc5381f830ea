# make deb: a Debian package built with Debian's tools, its files,
# control fields and maintainer scripts; then installed, removed and
# purged in a throw-away root (an overlay over this system, in a mount
# namespace of the test's own: nothing reaches the real one): _vmd made,
# the unit enabled but not started, conffiles kept on remove and gone on
# purge
. "$top/regress/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
	skip "make deb" "needs root (packages, mounts)"
	exit 0
fi
if ! make -s -C "$top" BUILD="$T/pkg" deb >"$T/deb.log" 2>&1; then
	nok "make deb"
	tail -n 20 "$T/deb.log" | sed 's/^/# /'
	exit 1
fi
ok "make deb"
deb=$(ls "$T"/pkg/vmd_*_amd64.deb 2>/dev/null | head -n 1)
check "the package is there" test -f "$deb"

c=$(dpkg-deb -c "$deb" | awk '{ print $6, $7, $8 }')
for f in ./usr/sbin/vmd ./usr/sbin/vmctl ./lib/systemd/system/vmd.service \
    ./etc/vm.conf ./etc/default/vmd ./usr/share/man/man8/vmd.8.gz \
    ./usr/share/man/man8/vmctl.8.gz ./usr/share/man/man5/vm.conf.5.gz; do
	like "contains $f" "^$f( |\$)" "$(echo "$c" | grep -F "$f")"
done
like "the firmware link" '^./etc/firmware/vmm-bios -> /usr/share/seabios/bios.bin' \
    "$(echo "$c" | grep vmm-bios)"
dep=$(dpkg-deb -f "$deb" Depends)
for d in seabios libevent libseccomp libbsd libmnl zlib1g; do
	like "Depends on $d" "$d" "$dep"
done
dpkg-deb -e "$deb" "$T/ctl"
is "conffiles" "/etc/default/vmd /etc/vm.conf" \
    "$(sort "$T/ctl/conffiles" | xargs)"
check "postinst makes _vmd" grep -q 'useradd --system' "$T/ctl/postinst"
check "postinst enables the unit" grep -q 'deb-systemd-helper' \
    "$T/ctl/postinst"
check "and does not start it" sh -c "! grep -q 'deb-systemd-invoke.*start' \
    $T/ctl/postinst"
check "prerm stops it on removal" grep -q 'deb-systemd-invoke stop vmd' \
    "$T/ctl/prerm"

# lintian, Debian's own check of packages (installed here if missing)
if sh "$top/scripts/deps.sh" lintian >"$T/lintian.deps" 2>&1; then
	lintian "$deb" >"$T/lintian" 2>&1
	grep -E '^[EW]:' "$T/lintian" | sed 's/^/# lintian: /'
	is "lintian: no errors" "" "$(grep '^E:' "$T/lintian")"
else
	nok "lintian could not be installed"
	sed 's/^/# /' "$T/lintian.deps"
fi

# install, remove and purge where nothing of it reaches this system
cp "$deb" "$T/vmd.deb"
cat >"$T/inside.sh" <<'IN'
userdel _vmd 2>/dev/null
dpkg -i /tmp/vmd.deb >/tmp/dpkg.log 2>&1 && echo "installed"
getent passwd _vmd >/dev/null && echo "user _vmd"
/usr/sbin/vmd -n 2>&1 | tail -n 1
[ -L /etc/systemd/system/multi-user.target.wants/vmd.service ] &&
    echo "enabled"
echo '# mine' >>/etc/vm.conf
dpkg -r vmd >>/tmp/dpkg.log 2>&1 && echo "removed"
[ -e /usr/sbin/vmd ] || echo "binary gone"
grep -q '# mine' /etc/vm.conf && echo "changed vm.conf kept"
dpkg -P vmd >>/tmp/dpkg.log 2>&1 && echo "purged"
[ -e /etc/vm.conf ] || echo "vm.conf gone"
[ -e /etc/default/vmd ] || echo "default gone"
[ -L /etc/systemd/system/multi-user.target.wants/vmd.service ] ||
    echo "not enabled"
[ -e /lib/systemd/system/vmd.service ] || echo "unit gone"
IN
out=$(unshare -m sh -c '
	T=$1
	mount --make-rprivate / && mkdir -p "$T/ov" &&
	mount -t tmpfs tmpfs "$T/ov" &&
	mkdir -p "$T/ov/upper" "$T/ov/work" "$T/ov/root" &&
	mount -t overlay overlay -o \
	    "lowerdir=/,upperdir=$T/ov/upper,workdir=$T/ov/work" "$T/ov/root" &&
	mount --bind /dev "$T/ov/root/dev" &&
	mount -t proc proc "$T/ov/root/proc" &&
	cp "$T/vmd.deb" "$T/inside.sh" "$T/ov/root/tmp/" &&
	chroot "$T/ov/root" sh /tmp/inside.sh
	cp "$T/ov/root/tmp/dpkg.log" "$T/dpkg.log" 2>/dev/null' sh "$T" 2>&1)
echo "$out" | sed 's/^/# root: /'
for w in installed "user _vmd" "configuration OK" enabled removed \
    "binary gone" "changed vm.conf kept" purged "vm.conf gone" \
    "default gone" "not enabled" "unit gone"; do
	check "throw-away root: $w" sh -c 'echo "$1" | grep -qx "$2"' sh \
	    "$out" "$w"
done
check "this system has no vmd package" sh -c \
    "! dpkg-query -W -f='\${Status}' vmd 2>/dev/null | grep -q installed"
