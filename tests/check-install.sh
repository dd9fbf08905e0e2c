#!/bin/sh
# After `make install` into PREFIX: a program of its own compiles with
# pkg-config against the installed library and forwards through hwsim; the
# headers, man pages and configinfo files are where they should be.
set -eu
prefix=$1
top=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cflags=$(pkg-config --cflags dpak)
libs=$(pkg-config --libs dpak)
# shellcheck disable=SC2086
cc -std=gnu11 -Wall -Wextra -Werror $cflags -o "$tmp/fwd" "$top/samples/hwsim_forward.c" $libs
LD_LIBRARY_PATH="$prefix/lib" "$tmp/fwd" -n 200 > "$tmp/out"
grep -q " 0 wrong" "$tmp/out" || { cat "$tmp/out"; echo "FAIL: sample built from the install"; exit 1; }
echo "ok: a program built with pkg-config against $prefix forwards through hwsim"

test -f "$prefix/include/dpak/dpak.h" && test -f "$prefix/include/dpak/version.h"
test -f "$prefix/share/dpak/configinfo/default.conf"
test -f "$prefix/share/dpak/configinfo/dpak-hw1.conf"
test -f "$prefix/share/dpak/configinfo/ovs.conf"
for f in dpak_flow_add dpak_dev_open dpak-configinfo; do
	MANPATH="$prefix/share/man" man -w "$f" >/dev/null ||
		{ echo "FAIL: man $f finds no page"; exit 1; }
done
echo "ok: man pages installed (man dpak_flow_add works)"
if nm -D --defined-only "$prefix/lib/libdpak.so" | awk '$2=="T"{print $3}' | grep -v '^dpak_'; then
	echo "FAIL: non-dpak_ symbols exported"; exit 1
fi
echo "ok: installed headers, configinfo files and dpak_* exports"
