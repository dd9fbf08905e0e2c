#!/bin/sh
# Integration: the VPC gateway sample. A VM in a namespace on a VF port; a
# remote host in another namespace behind the Linux kernel's own VXLAN
# (an independent implementation) on the uplink. Ping and a TCP transfer
# cross the overlay; after the first packets, offloaded flows encapsulate
# and decapsulate the traffic (one decap flow per VNI, through the default
# tunnel table as it ships); the payload arrives intact. Skipped (77)
# without root/netns.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
. "$top_srcdir/scripts/netns-lib.sh"
nsl_test_begin

id=$$
log=$(mktemp /tmp/dpak-test-vpc.XXXXXX)
srv=$(mktemp /tmp/dpak-test-srv.XXXXXX)
gw=""
cleanup() {
	[ -n "$gw" ] && kill "$gw" 2>/dev/null && wait "$gw" 2>/dev/null
	nsl_cleanup
	rm -f "$log" "$srv" "$log.sock"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"; echo "--- gateway log"; cat "$log"
	for c in ports queues flows; do
		echo "--- dpak-ctl $c"; "$top_builddir/tools/dpak-ctl" -s "$log.sock" $c
	done
	exit 1
}

vm=v$id-vm rem=v$id-rem
nsl_host "$vm" "vv$id" 10.21.0.1/24 || fail "set-up"
ip -n "$vm" link set eth0 mtu 1450       # room for the VXLAN headers
nsl_host "$rem" "vu$id" 192.0.2.2/24 || fail "set-up"
ip -n "$rem" link add vxlan0 type vxlan id 5000 remote 192.0.2.1 local 192.0.2.2 \
	dstport 4789 dev eth0 || { echo "SKIP: no vxlan in this kernel"; exit 77; }
ip -n "$rem" addr add 10.21.0.100/24 dev vxlan0
ip -n "$rem" link set vxlan0 up
ip netns exec "$rem" ethtool -K vxlan0 tx off tso off gso off >/dev/null

"$top_builddir/samples/dpak-vpcgw" -u "vu$id" -l 192.0.2.1 -r 192.0.2.2 -a 60000 \
	-S "$log.sock" "vv$id" > "$log" 2>&1 &
gw=$!
for _ in $(seq 50); do grep -q "remote VTEP" "$log" && break; sleep 0.1; done
grep -q "remote VTEP" "$log" || fail "the remote VTEP was not resolved"

# The first packets wait for ARP through the slow path (the VM's ARP, the
# remote kernel's ARP for our VTEP); under a sanitizer on a loaded machine
# that can take a while. Warm up until one ping is answered (up to 60 s),
# then measure.
up=0
for _ in $(seq 12); do
	ip netns exec "$vm" ping -c 1 -W 5 10.21.0.100 >/dev/null 2>&1 && { up=1; break; }
done
if [ "$up" -ne 1 ]; then
	for n in "$vm" "$rem"; do echo "--- neighbours in $n"; ip -n "$n" neigh; done
	ip -n "$rem" -s link show vxlan0
	fail "no ping answered within 60 s"
fi
ip netns exec "$vm" ping -c 10 -i 0.05 -W 2 10.21.0.100 > "$srv" 2>&1 || { cat "$srv"; fail "ping"; }
grep -q " 0% packet loss" "$srv" || { cat "$srv"; fail "ping lost packets"; }

bytes=20000000
ip netns exec "$rem" "$top_builddir/tests/tcpxfer" server 5001 $bytes > "$srv" 2>&1 &
for _ in $(seq 50); do grep -q listening "$srv" && break; sleep 0.1; done
ip netns exec "$vm" "$top_builddir/tests/tcpxfer" client 10.21.0.100 5001 $bytes ||
	fail "tcp client"
for _ in $(seq 100); do grep -q -E "^(ok|bad|short)" "$srv" && break; sleep 0.1; done
grep -q "^ok $bytes" "$srv" || { cat "$srv"; fail "TCP payload not intact"; }
echo "ok: $bytes bytes crossed the overlay intact"

kill -INT "$gw"
wait "$gw"
gw=""
summary=$(grep '^summary:' "$log") || fail "no summary"
echo "$summary"
slow=$(echo "$summary" | sed -n 's/.*slow path saw \([0-9]*\) packets.*/\1/p')
hits=$(echo "$summary" | sed -n 's/.*counted \([0-9]*\) hits.*/\1/p')
encap=$(echo "$summary" | sed -n 's/.*(encap \([0-9]*\),.*/\1/p')
decap=$(echo "$summary" | sed -n 's/.*decap \([0-9]*\), l2.*/\1/p')
[ "$encap" -ge 2 ] || fail "expected encap flows for ICMP and TCP, got $encap"
# One decap flow for the VNI carries every inner flow (ICMP and TCP): the
# tunnel table keys on the outer destination, UDP port 4789 and VNI, not on
# the outer UDP source port the kernel's VXLAN sets per inner flow. (On a
# loaded machine a flow may age out in a pause and be offloaded again: never
# two decap flows at once.)
[ "$decap" -ge 1 ] || fail "no decap flow"
most=$(awk '/^offloaded: decap /{n++; if (n > m) m = n} /^aged out:  decap /{n--}
	END {print m + 0}' "$log")
[ "$most" -eq 1 ] || fail "$most decap flows at once for one VNI (expected one)"
decap_pkts=$(grep -E '^decap ' "$log" | sed 's/ (aged out)$//' |
	awk '{s += $(NF-1)} END {print s + 0}')
[ "$decap_pkts" -gt 500 ] || fail "the decap flows carried only $decap_pkts packets"
[ "$hits" -gt $((slow * 100)) ] || fail "offloaded hits $hits vs slow path $slow"
tcp_encap=$(grep -E '^encap .* proto 6 ' "$log" | tail -n 1 | awk '{print $(NF-1)}')
[ "${tcp_encap:-0}" -gt 5000 ] || fail "the TCP encap flow carried only ${tcp_encap:-0} packets"
echo "ok: slow path $slow packets; offloaded hits $hits; encap flows $encap, decap flows $decap"
