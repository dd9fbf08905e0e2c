#!/bin/sh
# Integration: the library's LACP against an independent implementation,
# Open vSwitch's (userspace datapath, a bond with lacp=active on two veths
# whose peers are hwsim's uplinks). Both sides must reach collecting and
# distributing, traffic must arrive over both links, and taking one link
# down must be seen by both. Skipped (77) without root, namespaces or OVS.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
. "$top_srcdir/scripts/netns-lib.sh"
nsl_test_begin
command -v ovs-vswitchd >/dev/null 2>&1 || { echo "SKIP: Open vSwitch is not installed"; exit 77; }

id=$$
tmp=$(mktemp -d /tmp/dpak-lacp.XXXXXX)
ctl="$top_builddir/tools/dpak-ctl -s $tmp/ctl.sock"
peer=""
export OVS_RUNDIR="$tmp" OVS_LOGDIR="$tmp" OVS_DBDIR="$tmp"
vsctl="ovs-vsctl --db=unix:$tmp/db.sock"
cleanup() {
	[ -n "$peer" ] && kill "$peer" 2>/dev/null && wait "$peer" 2>/dev/null
	[ -f "$tmp/vswitchd.pid" ] && kill "$(cat "$tmp/vswitchd.pid")" 2>/dev/null
	[ -f "$tmp/ovsdb.pid" ] && kill "$(cat "$tmp/ovsdb.pid")" 2>/dev/null
	for i in 0 1; do ip link del "la$id$i" 2>/dev/null; done
	nsl_cleanup
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	echo "--- libdpak"; $ctl bonds; cat "$tmp/peer.log"
	echo "--- ovs"; ovs-appctl -t "$tmp/ovs-vswitchd.$(cat "$tmp/vswitchd.pid").ctl" lacp/show 2>&1 | head -40
	exit 1
}

# Two links: hwsim's end la$id$i, OVS's end lo$id$i. A host behind OVS.
for i in 0 1; do
	ip link add "la$id$i" type veth peer name "lo$id$i"
	for end in "la$id$i" "lo$id$i"; do
		ethtool -K "$end" tx off tso off gso off >/dev/null 2>&1
		sysctl -qw "net.ipv6.conf.$end.disable_ipv6=1"
		ip link set "$end" up
	done
done
nsl_host "h$id" "lh$id" 10.80.0.1/24 || fail "host set-up"

ovsdb-tool create "$tmp/conf.db" /usr/share/openvswitch/vswitch.ovsschema
ovsdb-server "$tmp/conf.db" --remote="punix:$tmp/db.sock" --pidfile="$tmp/ovsdb.pid" \
	--detach --log-file="$tmp/ovsdb.log" || fail "ovsdb-server"
$vsctl --no-wait init
ovs-vswitchd "unix:$tmp/db.sock" --pidfile="$tmp/vswitchd.pid" --detach \
	--log-file="$tmp/vswitchd.log" || fail "ovs-vswitchd"
appctl="ovs-appctl -t $tmp/ovs-vswitchd.$(cat "$tmp/vswitchd.pid").ctl"
$vsctl add-br "ob$id" -- set bridge "ob$id" datapath_type=netdev
$vsctl add-bond "ob$id" bond0 "lo${id}0" "lo${id}1" lacp=active bond_mode=balance-tcp \
	-- set port bond0 other_config:lacp-time=fast
$vsctl add-port "ob$id" "lh$id"
# OVS takes links that were up when added as down: bounce them.
for i in 0 1; do ip link set "lo$id$i" down; ip link set "lo$id$i" up; done

"$top_builddir/tests/lacp_peer" "la${id}0" "la${id}1" "$tmp/ctl.sock" > "$tmp/peer.log" 2>&1 &
peer=$!
for _ in $(seq 50); do grep -q ready "$tmp/peer.log" && break; sleep 0.1; done

# Both sides collecting and distributing on both links (generous: 30 s).
ok=0
for _ in $(seq 300); do
	ours=$($ctl bonds | grep -Ec 'uplink[01] +up +yes .*coll,dist .*sync,coll,dist')
	theirs=$($appctl lacp/show bond0 2>/dev/null | grep -c 'actor state: .*collecting distributing')
	if [ "$ours" -eq 2 ] && [ "$theirs" -ge 2 ]; then ok=1; break; fi
	sleep 0.1
done
[ $ok -eq 1 ] || fail "LACP did not come up on both links (ours $ours, theirs $theirs)"
echo "ok: LACP up on both links, both sides collecting and distributing"
$ctl bonds

# Traffic from the host behind OVS, many flows: it arrives on both links.
ip -n "h$id" neigh add 10.80.0.2 lladdr 02:00:00:00:00:02 dev eth0
data() { # member -> data packets received (rx minus LACPDUs)
	$ctl --json bonds | sed -n "s/.*\"member\": \"$1\".*\"rx_packets\": \([0-9]*\), \"lacpdu_rx\": \([0-9]*\).*/\1 \2/p" |
		awk '{print $1 - $2}'
}
base0=$(data uplink0) base1=$(data uplink1)
# OVS may take a moment after negotiating before it balances onto a new
# member: send rounds of 200 flows (bash opens a UDP socket per redirection,
# each a new source port) until both links carried some, for up to 20 s.
d0=0 d1=0
for _ in $(seq 20); do
	ip netns exec "h$id" bash -c 'for p in $(seq 2000 2199); do echo x > /dev/udp/10.80.0.2/$p; done' 2>/dev/null
	sleep 1
	d0=$(($(data uplink0) - base0)) d1=$(($(data uplink1) - base1))
	[ "$d0" -gt 10 ] && [ "$d1" -gt 10 ] && break
done
[ "$d0" -gt 10 ] && [ "$d1" -gt 10 ] || fail "traffic over both links: uplink0 $d0, uplink1 $d1"
echo "ok: traffic over both links ($d0 and $d1 packets)"

# One link down (OVS's end): OVS sees the carrier go; libdpak sees its
# partner fall silent and takes the member out within 3 s (fast rate).
ip link set "lo${id}1" down
ok=0
for _ in $(seq 100); do
	ours=$($ctl bonds | grep -Ec 'uplink1 +up +no ')
	theirs=$($appctl bond/show bond0 2>/dev/null | grep -A1 "lo${id}1" | grep -c disabled)
	if [ "$ours" -eq 1 ] && [ "$theirs" -ge 1 ]; then ok=1; break; fi
	sleep 0.1
done
[ $ok -eq 1 ] || fail "link down not seen by both (ours $ours, theirs $theirs)"
grep -q "event: member 1 lacp" "$tmp/peer.log" || fail "no LACP event for member 1"
echo "ok: one link down: both sides stopped using it; the switch got the event"
