# Shell functions for the tests that run DPDK's testpmd on net_dpak ports;
# sourced by tests/dpdk-*.sh and tests/netns-dpdk.sh.
#   dpl_begin           skip (77) unless the driver was built and testpmd is
#                       there; copy the driver where DPDK loads plugins from
#   dpl_eal PREFIX      the EAL options for one testpmd (no hugepages);
#                       PREFIX is dpak<name><pid of the test>
#   dpl_cleanup         remove what dpl_begin made
DPL_DIR=""

dpl_begin() {
	so="$top_builddir/drivers/dpdk/.libs/librte_net_dpak.so"
	if [ ! -f "$so" ]; then
		echo "SKIP: the net_dpak DPDK driver was not built (configure needs libdpdk-dev and DPDK's source headers: scripts/install-deps)"
		exit 77
	fi
	TESTPMD=$(command -v dpdk-testpmd) || {
		echo "SKIP: dpdk-testpmd not found (Debian package dpdk-dev)"; exit 77; }
	# DPDK loads no plugin from under a world-writable directory (such as
	# /tmp): a directory of our own, 0755, under /run when root.
	if [ "$(id -u)" -eq 0 ] && [ -d /run ]; then
		DPL_DIR=$(mktemp -d /run/dpak-pmd-test.XXXXXX)
	else
		DPL_DIR=$(mktemp -d "$top_builddir/tests/dpak-pmd-test.XXXXXX")
	fi
	chmod 0755 "$DPL_DIR"
	cp "$so" "$DPL_DIR/"
	DPL_SO="$DPL_DIR/librte_net_dpak.so"
	# A sanitizer build's driver needs its runtime loaded first: preload
	# it into testpmd (which is not instrumented; its own exit-time
	# allocations are not reported as leaks).
	asan=$(ldd "$so" 2>/dev/null | sed -n 's/.*libasan[^ ]* => \([^ ]*\) .*/\1/p' | head -n 1)
	if [ -n "$asan" ]; then
		LD_PRELOAD="$asan${LD_PRELOAD:+ $LD_PRELOAD}"
		ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
		export LD_PRELOAD ASAN_OPTIONS
	fi
}

# (called in $(...): the prefix it is given must end with the test's pid,
# which dpl_cleanup removes by)
dpl_eal() {
	echo "--no-huge -m 512 --no-pci --file-prefix $1 -d $DPL_SO"
}

dpl_cleanup() {
	[ -n "$DPL_DIR" ] && rm -rf "$DPL_DIR"
	# the EAL's run-time directories of this test's testpmds
	for d in /var/run/dpdk "${XDG_RUNTIME_DIR:-/nonexistent}/dpdk"; do
		for p in "$d"/dpak*"$$"; do
			[ -d "$p" ] && rm -rf "$p"
		done
	done
	DPL_DIR=""
	return 0
}
