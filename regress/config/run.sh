#!/bin/sh
#
# Copyright (c) 2026 The vmd-linux project
#
# Permission to use, copy, modify, and distribute this software for any
# purpose with or without fee is hereby granted, provided that the above
# copyright notice and this permission notice appear in all copies.
#
# THE SOFTWARE IS PROVIDED "AS IS" AND THE AUTHOR DISCLAIMS ALL WARRANTIES
# WITH REGARD TO THIS SOFTWARE INCLUDING ALL IMPLIED WARRANTIES OF
# MERCHANTABILITY AND FITNESS. IN NO EVENT SHALL THE AUTHOR BE LIABLE FOR
# ANY SPECIAL, DIRECT, INDIRECT, OR CONSEQUENTIAL DAMAGES OR ANY DAMAGES
# WHATSOEVER RESULTING FROM LOSS OF USE, DATA OR PROFITS, WHETHER IN AN
# ACTION OF CONTRACT, NEGLIGENCE OR OTHER TORTIOUS ACTION, ARISING OUT OF
# OR IN CONNECTION WITH THE USE OR PERFORMANCE OF THIS SOFTWARE.
#
# The vm.conf cases: "vmd -n" on every vmd-*.conf of this directory,
# run from this directory, compared with the case's .ok (see README).
# One TAP line per case; exits 1 when any case failed.
#
# usage: run.sh [-u] /path/to/vmd
#	-u	write the .ok files from what vmd prints now

update=0
if [ "$1" = "-u" ]; then
	update=1
	shift
fi
if [ $# -ne 1 ]; then
	echo "usage: run.sh [-u] /path/to/vmd" >&2
	exit 2
fi
vmd=$1
case $vmd in
/*)	;;
*)	vmd=$(pwd)/$vmd ;;
esac
if [ ! -x "$vmd" ]; then
	echo "not ok - config: no vmd at $vmd"
	exit 1
fi

cd "$(dirname "$0")" || exit 1
tmp=$(mktemp -d /tmp/vmdconf.XXXXXX) || exit 1
trap 'rm -rf "$tmp"' EXIT

failed=0
for conf in vmd-*.conf; do
	name=${conf%.conf}
	case $name in
	vmd-pass-*)	want=0 ;;
	vmd-fail-*)	want=1 ;;
	*)		continue ;;
	esac
	args=
	[ -f "$name.args" ] && args=$(cat "$name.args")

	# shellcheck disable=SC2086	# the .args words are meant to split
	"$vmd" -n -f "$conf" $args >"$tmp/raw" 2>&1 </dev/null
	rc=$?
	if [ $want -eq 1 ]; then
		# as upstream's Makefile, drop the file name of "file:line: msg"
		# (only that, where its "cut -d : -f 2-" cuts any first field)
		sed -E 's/^[^:[:space:]]+\.(conf|inc):([0-9]+:)/\2/' \
		    "$tmp/raw" >"$tmp/out"
	else
		cp "$tmp/raw" "$tmp/out"
	fi

	if [ $update -eq 1 ]; then
		cp "$tmp/out" "$name.ok"
	fi
	if [ ! -f "$name.ok" ]; then
		echo "not ok - config ${name#vmd-}: no $name.ok"
		failed=$((failed + 1))
	elif [ $rc -ne $want ]; then
		echo "not ok - config ${name#vmd-}: exit status $rc, not $want"
		sed 's/^/# /' "$tmp/raw"
		failed=$((failed + 1))
	elif ! diff -u "$name.ok" "$tmp/out" >"$tmp/diff"; then
		echo "not ok - config ${name#vmd-}"
		sed 's/^/# /' "$tmp/diff"
		failed=$((failed + 1))
	else
		echo "ok - config ${name#vmd-}"
	fi
done

[ $failed -eq 0 ]
