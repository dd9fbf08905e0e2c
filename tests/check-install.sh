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

# The net_dpak DPDK driver, where configure built it: in DPDK's plugin
# layout under the prefix, without its libtool archive, with its manual
# page; testpmd loads it from there with -d (when no directory above it
# is world-writable, as DPDK requires) and finds the ports.
for pmd in "$prefix"/lib/dpdk/pmds-*/librte_net_dpak.so; do
	[ -f "$pmd" ] || continue
	dir=$(dirname "$pmd")
	[ ! -e "$dir/librte_net_dpak.la" ] || { echo "FAIL: $dir/librte_net_dpak.la installed"; exit 1; }
	MANPATH="$prefix/share/man" man -w net_dpak >/dev/null ||
		{ echo "FAIL: man net_dpak finds no page"; exit 1; }
	echo "ok: net_dpak installed into $dir"
	command -v dpdk-testpmd >/dev/null 2>&1 || continue
	d=$dir writable=""
	while [ "$d" != / ]; do
		[ -n "$(find "$d" -maxdepth 0 -perm -o+w)" ] && writable=$d
		d=$(dirname "$d")
	done
	[ -z "$writable" ] || { echo "(testpmd not run: $writable is world-writable)"; continue; }
	printf 'show port summary all\nquit\n' |
		timeout 60 dpdk-testpmd -l 0-1 --no-huge -m 512 --no-pci --file-prefix dpakinst$$ \
			-d "$pmd" --vdev net_dpak0 --vdev net_dpak1 -- -i --total-num-mbufs=8192 \
			> "$tmp/testpmd" 2>&1
	rm -rf "/var/run/dpdk/dpakinst$$"
	[ "$(grep -c 'net_dpak[01] ' "$tmp/testpmd")" -eq 2 ] ||
		{ cat "$tmp/testpmd"; echo "FAIL: testpmd -d $pmd does not show two net_dpak ports"; exit 1; }
	echo "ok: dpdk-testpmd -d $pmd runs on two net_dpak ports"
done
