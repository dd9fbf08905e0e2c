# Shell functions for hosts in network namespaces joined to hwsim ports by
# veth pairs; sourced by the demo and the integration tests.
# nsl_host NS IFNAME ADDR/LEN: a namespace NS whose eth0 is the peer of
# IFNAME (left in this namespace for hwsim to attach to).
NSL_NS=""
NSL_IF=""

nsl_host() {
	ip netns add "$1" || return 1
	NSL_NS="$NSL_NS $1"
	ip link add "$2" type veth peer name eth0 netns "$1" || return 1
	NSL_IF="$NSL_IF $2"
	ip -n "$1" addr add "$3" dev eth0
	ip -n "$1" link set lo up
	ip -n "$1" link set eth0 up
	# hwsim carries frames of up to 2048 bytes with complete checksums:
	# no segmentation or checksum offload on the senders.
	ip netns exec "$1" ethtool -K eth0 tx off tso off gso off >/dev/null
	sysctl -qw "net.ipv6.conf.$2.disable_ipv6=1"
	ip link set "$2" up
}

# Idempotent and never fails (it runs from EXIT traps under set -e): what is
# already gone is skipped. Deleting a namespace takes the veth peers in it
# along, so their ends here are usually gone by the time they are reached.
nsl_cleanup() {
	for ns in $NSL_NS; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || :
		ip netns del "$ns" 2>/dev/null || :
	done
	for ifc in $NSL_IF; do
		if ip link show "$ifc" >/dev/null 2>&1; then
			ip link del "$ifc" 2>/dev/null || :
		fi
	done
	NSL_NS="" NSL_IF=""
	return 0
}

# One namespace test at a time: each runs switches that poll, and two
# at once on a small machine starve each other's first packets.
nsl_exclusive() {
	command -v flock >/dev/null 2>&1 || return 0
	exec 9>/tmp/dpak-netns-tests.lock
	flock 9
}

# Can we make namespaces here? (root, and the kernel allows it)
nsl_usable() {
	[ "$(id -u)" -eq 0 ] || return 1
	ip netns add "dpak-probe-$$" 2>/dev/null || return 1
	ip netns del "dpak-probe-$$"
	command -v ethtool >/dev/null 2>&1
}

# The start of a namespace test: skip (77, automake's code) where
# namespaces cannot be made, else wait for the other namespace tests.
nsl_test_begin() {
	nsl_usable || { echo "SKIP: needs root, network namespaces and ethtool"; exit 77; }
	nsl_exclusive
}
