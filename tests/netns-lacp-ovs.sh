#!/bin/sh
# Integration: the library's LACP against an independent implementation,
# Open vSwitch's (userspace datapath, a bond with lacp=active on two veths
# whose peers are hwsim's uplinks), with both LACP rates in each direction:
#  1. both fast: both sides collecting and distributing on both links,
#     traffic arrives over both links;
#  2. we fast, OVS slow: up, traffic; then OVS falls silent (lacp=off, the
#     links stay up): we expire it after our own short timeout (3 s), not
#     after its long one (90 s), and stop using the links;
#  3. we slow, OVS fast: OVS sends every 30 s as we ask; its information
#     lasts our long timeout, so no member flaps; traffic;
#  4. both slow: up, traffic;
#  5. both fast: one link down is seen by both sides.
# Skipped (77) without root, namespaces or OVS.
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
log="$tmp/peer.log"
export OVS_RUNDIR="$tmp" OVS_LOGDIR="$tmp" OVS_DBDIR="$tmp"
vsctl="ovs-vsctl --db=unix:$tmp/db.sock"
appctl=true
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
	echo "--- libdpak"; $ctl bonds; cat "$log"
	echo "--- ovs"; $appctl lacp/show 2>&1 | head -60
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
	-- set port bond0 other_config:lacp-time=fast other_config:bond-rebalance-interval=1000
$vsctl add-port "ob$id" "lh$id"
# OVS takes links that were up when added as down: bounce them.
for i in 0 1; do ip link set "lo$id$i" down; ip link set "lo$id$i" up; done

# Our side: lacp_peer with our rate (fast or slow), a fresh log each time.
n_peer=0
start_peer() {
	if [ -n "$peer" ]; then kill "$peer" 2>/dev/null; wait "$peer" 2>/dev/null; fi
	n_peer=$((n_peer + 1))
	log="$tmp/peer$n_peer.log"
	"$top_builddir/tests/lacp_peer" "la${id}0" "la${id}1" "$tmp/ctl.sock" "$1" > "$log" 2>&1 &
	peer=$!
	for _ in $(seq 50); do grep -qs ready "$log" && return 0; sleep 0.1; done
	fail "lacp_peer did not start"
}
ovs_time() { $vsctl set port bond0 other_config:lacp-time="$1"; }

# Both sides collecting and distributing on both links (generous: 30 s).
wait_up() {
	ok=0
	for _ in $(seq 300); do
		ours=$($ctl bonds | grep -Ec 'uplink[01] +up +yes .*coll,dist .*sync,coll,dist')
		theirs=$($appctl lacp/show bond0 2>/dev/null | grep -c 'actor state: .*collecting distributing')
		if [ "$ours" -eq 2 ] && [ "$theirs" -ge 2 ]; then ok=1; break; fi
		sleep 0.1
	done
	[ $ok -eq 1 ] || fail "$1: LACP did not come up on both links (ours $ours, theirs $theirs)"
	echo "ok: $1: LACP up on both links, both sides collecting and distributing"
}

# Traffic from the host behind OVS, many flows (bash opens a UDP socket
# per redirection, each a new source port).
ip -n "h$id" neigh add 10.80.0.2 lladdr 02:00:00:00:00:02 dev eth0
data() { # member -> data packets received (rx minus LACPDUs)
	$ctl --json bonds | sed -n "s/.*\"member\": \"$1\".*\"rx_packets\": \([0-9]*\), \"lacpdu_rx\": \([0-9]*\).*/\1 \2/p" |
		awk '{print $1 - $2}'
}
flows() {
	ip netns exec "h$id" bash -c 'for p in $(seq 2000 2199); do echo x > /dev/udp/10.80.0.2/$p; done' 2>/dev/null
}
# Some traffic crosses the bond (either link), for up to 10 s.
traffic() {
	b0=$(data uplink0) b1=$(data uplink1) d=0
	for _ in $(seq 10); do
		flows
		sleep 1
		d=$(($(data uplink0) - b0 + $(data uplink1) - b1))
		[ "$d" -gt 10 ] && break
	done
	[ "$d" -gt 10 ] || fail "$1: no traffic crossed the bond ($d packets)"
	echo "ok: $1: traffic crosses the bond ($d packets)"
}

# 1. Both fast. OVS puts new flows on one member and moves some to the
# other when it rebalances (every second here): rounds of 200 flows until
# both links carried some (up to 60 rounds: on a loaded machine OVS's
# rebalancing runs late).
start_peer fast
wait_up "fast/fast"
$ctl bonds
base0=$(data uplink0) base1=$(data uplink1)
d0=0 d1=0
for _ in $(seq 60); do
	flows
	sleep 1
	d0=$(($(data uplink0) - base0)) d1=$(($(data uplink1) - base1))
	[ "$d0" -gt 10 ] && [ "$d1" -gt 10 ] && break
done
[ "$d0" -gt 10 ] && [ "$d1" -gt 10 ] || fail "traffic over both links: uplink0 $d0, uplink1 $d1"
echo "ok: fast/fast: traffic over both links ($d0 and $d1 packets)"

# 2. We fast, OVS slow; then OVS falls silent, its links up. OVS sent every
# second (our rate); we expire it after 3 s (our timeout), which must come
# well before its own 90 s.
ovs_time slow
wait_up "we fast, OVS slow"
ok=0
for _ in $(seq 50); do # OVS's state shows its long timeout, ours the short
	$ctl bonds | grep -Eq 'uplink0 .* act,fast,agg,sync,coll,dist +act,agg,sync,coll,dist ' &&
		{ ok=1; break; }
	sleep 0.1
done
[ $ok -eq 1 ] || fail "we fast, OVS slow: the LACP_Timeout bits do not show it"
traffic "we fast, OVS slow"
$vsctl set port bond0 lacp=off
t0=$(date +%s) ok=0
for _ in $(seq 300); do
	gone=$($ctl bonds | grep -Ec 'uplink[01] +up +no ')
	[ "$gone" -eq 2 ] && { ok=1; break; }
	sleep 0.1
done
[ $ok -eq 1 ] || fail "silent OVS not expired within 30 s (links in use: $((2 - gone)))"
echo "ok: OVS silent, links up: both members out of use after $(( $(date +%s) - t0 )) s (expired: $($ctl bonds | grep -c 'exp'))"
$vsctl set port bond0 lacp=active

# 3. We slow, OVS fast: it sends every 30 s as we ask, and its information
# lasts our 90 s. Watch for 10 s (beyond three of its fast periods): no
# member goes out of use.
ovs_time fast
start_peer slow
wait_up "we slow, OVS fast"
flaps0=$(grep -c 'lacp' "$log")
sleep 10
flaps=$(($(grep -c 'lacp' "$log") - flaps0))
inuse=$($ctl bonds | grep -Ec 'uplink[01] +up +yes ')
[ "$flaps" -eq 0 ] && [ "$inuse" -eq 2 ] || fail "we slow, OVS fast: $flaps LACP changes in 10 s, $inuse links in use"
echo "ok: we slow, OVS fast: no member flapped in 10 s"
traffic "we slow, OVS fast"

# 4. Both slow.
ovs_time slow
sleep 1
wait_up "slow/slow"
traffic "slow/slow"

# 5. Both fast; one link down (OVS's end): OVS sees the carrier go; we see
# our partner fall silent and take the member out within 3 s.
ovs_time fast
start_peer fast
wait_up "fast/fast again"
ip link set "lo${id}1" down
ok=0
for _ in $(seq 100); do
	ours=$($ctl bonds | grep -Ec 'uplink1 +up +no ')
	theirs=$($appctl bond/show bond0 2>/dev/null | grep -A1 "lo${id}1" | grep -c disabled)
	if [ "$ours" -eq 1 ] && [ "$theirs" -ge 1 ]; then ok=1; break; fi
	sleep 0.1
done
[ $ok -eq 1 ] || fail "link down not seen by both (ours $ours, theirs $theirs)"
grep -q "event: member 1 lacp" "$log" || fail "no LACP event for member 1"
echo "ok: one link down: both sides stopped using it; the switch got the event"
