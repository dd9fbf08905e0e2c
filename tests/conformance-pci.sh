#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The backend conformance suite on the pci backend: the behaviour tests
# that run against hwsim: in `make check` run again with
# DPAK_TEST_BACKEND=pci, so that each device under test is a
# dpak-hwsim-pci(8) process driven by the pci backend through the register
# interface of docs/device-interface.md (tests/devspec.c starts them).
# Same flows, same packets, same expected bytes and counters; the cases
# that need what only the in-process hwsim has (pcap files) say so and are
# skipped on pci.
#
# Skips (77) when dpak-hwsim-pci is not built. Under ASan the device
# processes are of the same build, so they are checked too: a device that
# dies or reports an error fails the test that used it.
#
#   tests/conformance-pci.sh [TEST...]     TEST: datapath frames flows ...
set -u

top_builddir=${top_builddir:-.}
prog=${DPAK_HWSIM_PCI:-$top_builddir/tools/dpak-hwsim-pci}
if [ ! -x "$prog" ]; then
	echo "SKIP: dpak-hwsim-pci is not built ($prog): the pci backend has no device to drive"
	exit 77
fi
prog=$(cd "$(dirname "$prog")" && pwd)/$(basename "$prog")

# Every behaviour test, every case (the pcap ones skip themselves): the
# whole run takes about 25 s plain and about a minute under ASan on a
# loaded 2-core machine. One case runs smaller on pci: test-flows' resets
# under traffic sends 2000 frames instead of 20000 (each is a command
# between two processes there; 20000 took two minutes).
tests=${*:-"datapath frames flows queues ovs-items bonds errors"}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/dpak-conf.XXXXXX") || exit 99

# The device processes of a test that crashed are left without their
# driver; they are the only processes whose command line names $tmp.
stop_leftovers() {
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		cmd=$(tr '\0' ' ' 2>/dev/null < "$d/cmdline") || continue
		case "$cmd" in
		*dpak-hwsim-pci*"--dir $tmp/"*)
			echo "stopping a device process left behind: $pid $cmd"
			kill "$pid" 2>/dev/null ;;
		esac
	done
}
cleanup() {
	stop_leftovers
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export DPAK_TEST_BACKEND=pci DPAK_HWSIM_PCI="$prog" TMPDIR="$tmp"

failed=""
for t in $tests; do
	bin=$top_builddir/tests/test-$t
	if [ ! -x "$bin" ]; then
		echo "FAIL: $bin is not built"
		failed="$failed $t"
		continue
	fi
	start=$(date +%s)
	timeout 600 "$bin" > "$tmp/$t.out" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	if [ $rc -eq 0 ]; then
		echo "PASS: test-$t on pci (${secs}s)"
		# what was skipped, and why
		grep -E '^\[ SKIP     \]|^\[  SKIPPED \]' "$tmp/$t.out" | sed 's/^/    /'
	else
		[ $rc -eq 124 ] && echo "test-$t: timed out after 600 s"
		echo "FAIL: test-$t on pci (exit $rc, ${secs}s):"
		sed 's/^/    /' "$tmp/$t.out"
		failed="$failed $t"
	fi
done

if [ -n "$failed" ]; then
	echo "conformance on pci failed:$failed"
	exit 1
fi
echo "conformance on pci: all passed"
exit 0
