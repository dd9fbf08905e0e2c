#!/bin/sh
# Integration: DPDK's testpmd forwards between two net_dpak ports whose hwsim
# ports are attached to veths of two network namespaces. Asserted:
#  - io forwarding through testpmd: ping passes, and the UDP frames sent
#    from one namespace are counted by the ingress port's RX-packets, the
#    egress port's TX-packets and the receiving namespace's interface;
#  - rules created through testpmd are offloaded: the frames then bypass
#    testpmd, the rule's counter (flow query) counts them, and
#    `dpak-ctl flows` on the driver's control socket (devarg ctl=) shows
#    the rules;
#  - the mark of an ingress MARK + RSS rule arrives in the mbufs (testpmd's
#    verbose rxonly mode prints the FDIR id), on both receive queues;
#  - a port detached and attached again (same interface) forwards;
#  - an MTU larger than the attachment's ring frames carry is refused;
#  - a second attachment of an interface, or a second device on one ctl=
#    socket, is refused by name.
# Skipped (77) without root/netns, the driver or testpmd.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
. "$top_srcdir/scripts/netns-lib.sh"
. "$top_srcdir/tests/dpdk-lib.sh"
dpl_begin
nsl_test_begin

id=$$
log=$(mktemp /tmp/dpak-test-pmdns.XXXXXX)
pmd=""
cleanup() {
	exec 8>&- 2>/dev/null
	[ -n "$pmd" ] && kill "$pmd" 2>/dev/null && wait "$pmd" 2>/dev/null
	nsl_cleanup
	dpl_cleanup
	rm -f "$log"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- testpmd output"; cat "$log"; exit 1; }

a="t$id-a" b="t$id-b"
nsl_host "$a" "tp$id-a" 10.79.0.1/24 || fail "namespace set-up"
nsl_host "$b" "tp$id-b" 10.79.0.2/24 || fail "namespace set-up"
ctl="$DPL_DIR/ctl.sock"
fifo="$DPL_DIR/cmds"
mkfifo "$fifo"
# shellcheck disable=SC2046
stdbuf -o0 -e0 "$TESTPMD" -l 0-1 $(dpl_eal "dpakns$id") \
	--vdev "net_dpak0,iface=tp$id-a,ctl=$ctl,configinfo=$top_srcdir/configinfo/ovs.conf" \
	--vdev "net_dpak1,iface=tp$id-b" \
	-- -i --total-num-mbufs=16384 --rxq=2 --txq=2 < "$fifo" > "$log" 2>&1 &
pmd=$!
exec 8> "$fifo"

# cmd COMMAND MARKER: run a testpmd command and wait (up to 30 s) for
# MARKER in its output; the output is left in $out (and its first line
# number in $start).
cmd() {
	start=$(wc -l < "$log")
	echo "$1" >&8
	for _ in $(seq 300); do
		out=$(tail -n +"$((start + 1))" "$log")
		case $out in *"$2"*) return 0 ;; esac
		kill -0 "$pmd" 2>/dev/null || fail "testpmd exited"
		sleep 0.1
	done
	fail "no '$2' after '$1'"
}
# stat NAME: a port statistic from the last "show port stats" output
stat() { echo "$out" | sed -n "s/.*$1: *\([0-9]*\).*/\1/p" | head -n 1; }
ifrx() { ip -n "$1" -s link show eth0 | awk '/RX:/ { getline; print $2; exit }'; }

# A UDP frame from a to b (broadcast MAC: no ARP needed).
frame=ffffffffffff02000000000a08004500002c00010000401166200a4f00010a4f00029c400009001800006470616b6470616b6470616b6470616b
K=200

# The veths' MTU (1500) when attached sized hwsim's ring frames: a jumbo
# MTU is refused, naming the limit and what to do, rather than accepted
# with the frames then dropped.
cmd "port config mtu 0 9000" "MTU (9000) > device max MTU (1960)"
grep -q "net_dpak0: tp$id-a has MTU 1500: port 0 takes an MTU of at most 1960 (for jumbo frames, set tp$id-a's MTU before the port is probed)" "$log" ||
	fail "no log line naming the attachment's MTU limit"
echo "ok: an MTU the attachment cannot carry is refused"

cmd "set fwd io" "Set io packet forwarding mode"
cmd "start" "io packet forwarding"
for _ in 1 2 3 4; do
	ip netns exec "$a" ping -c 1 -W 5 10.79.0.2 >/dev/null 2>&1 && break
done
ip netns exec "$a" ping -c 10 -i 0.05 -W 2 10.79.0.2 > "$log.ping" 2>&1 ||
	{ cat "$log.ping"; rm -f "$log.ping"; fail "ping through testpmd"; }
rm -f "$log.ping"
echo "ok: ping through testpmd's io forwarding"

cmd "clear port stats all" "NIC statistics for port 1 cleared"
rx0=$(ifrx "$b")
ip netns exec "$a" "$top_builddir/tests/rawsend" eth0 $K $frame || fail "rawsend"
sleep 1
cmd "show port stats 0" "NIC statistics for port 0"
p0rx=$(stat RX-packets)
cmd "show port stats 1" "NIC statistics for port 1"
p1tx=$(stat TX-packets)
got=$(($(ifrx "$b") - rx0))
echo "sent $K; port 0 RX-packets $p0rx, port 1 TX-packets $p1tx, namespace b received $got"
[ "$p0rx" -ge $K ] && [ "$p1tx" -ge $K ] && [ "$got" -ge $K ] ||
	fail "counters below the $K frames sent"
echo "ok: $K frames forwarded by testpmd, counted by both ports"

# Offloaded: the same frames now bypass testpmd.
cmd "flow create 0 transfer pattern eth / ipv4 / end actions count / port_id id 1 / end" "Flow rule #0 created"
cmd "flow create 1 transfer pattern eth / ipv4 / end actions count / port_id id 0 / end" "Flow rule #0 created"
cmd "clear port stats all" "NIC statistics for port 1 cleared"
rx0=$(ifrx "$b")
ip netns exec "$a" "$top_builddir/tests/rawsend" eth0 $K $frame || fail "rawsend"
sleep 1
got=$(($(ifrx "$b") - rx0))
cmd "flow query 0 0 count" "hits:"
hits=$(echo "$out" | sed -n 's/.*hits: *\([0-9]*\).*/\1/p')
# rx_q0_packets: what the driver delivered to testpmd (the port's own
# RX-packets count every frame the port received, offloaded or not)
cmd "show port xstats 0" "host_rx_q0_drops"
fwd=$(stat rx_q0_packets)
wire=$(stat rx_packets)
echo "offloaded: rule hits $hits, port 0 received $wire, testpmd received $fwd of them, namespace b received $got"
[ "$hits" -ge $K ] && [ "$got" -ge $K ] && [ "$wire" -ge $K ] ||
	fail "the offloaded rule did not carry the $K frames"
[ -n "$fwd" ] && [ "$fwd" -lt $K ] || fail "testpmd still saw the frames"
flows=$("$top_builddir/tools/dpak-ctl" -s "$ctl" flows 2>&1) || fail "dpak-ctl flows: $flows"
echo "$flows" | grep -q "port" || fail "dpak-ctl flows shows no rule: $flows"
n=$(echo "$flows" | grep -c "port")
echo "dpak-ctl flows:"; echo "$flows"
[ "$n" -ge 2 ] || fail "dpak-ctl flows shows $n rules, not 2"
echo "ok: rules created through testpmd are offloaded and listed by dpak-ctl"

# Partial offload: MARK + RSS; the mark arrives as the FDIR id.
cmd "stop" "Done."
cmd "flow flush 0" "testpmd>"
cmd "flow flush 1" "testpmd>"
cmd "flow create 0 ingress pattern eth / ipv4 / end actions mark id 77 / rss queues 0 1 end / end" "Flow rule #"
cmd "set fwd rxonly" "Set rxonly packet forwarding mode"
cmd "set verbose 1" "Change verbose level"
from=$(wc -l < "$log")
cmd "start" "rxonly packet forwarding"
# 32 flows (UDP source ports 40000-40031; the checksums do not cover
# them): the device's flow hash spreads them over both queues.
for p in $(seq 0 31); do
	f=$(echo "$frame" | sed "s/0a4f00029c40/0a4f0002$(printf '%04x' $((40000 + p)))/")
	ip netns exec "$a" "$top_builddir/tests/rawsend" eth0 1 "$f" || fail "rawsend"
done
marked() { tail -n +"$((from + 1))" "$log" | grep -c "FDIR matched ID=0x4d"; }
for _ in $(seq 100); do [ "$(marked)" -ge 32 ] && break; sleep 0.1; done
cmd "stop" "Done."
n=$(marked)
q0=$(tail -n +"$((from + 1))" "$log" | grep -c "port 0/queue 0: received")
q1=$(tail -n +"$((from + 1))" "$log" | grep -c "port 0/queue 1: received")
echo "marked mbufs: $n; bursts on port 0 queue 0: $q0, queue 1: $q1"
[ "$n" -ge 32 ] || fail "$n mbufs with the mark (FDIR id 0x4d), not 32"
[ "$q0" -ge 1 ] && [ "$q1" -ge 1 ] || fail "the rss action did not spread over both queues"
echo "ok: the mark of a MARK + RSS rule arrives in the mbufs, spread over the port's queues"

# Hot-unplug and plug again (as Open vSwitch does on del-port/add-port):
# the device stays open for port 1, and port 0 finds its interface still
# attached.
cmd "set verbose 0" "Change verbose level"
cmd "port stop 0" "Done"
cmd "device detach net_dpak0" "Device net_dpak0 is detached"
cmd "port attach net_dpak0,iface=tp$id-a" "Port 0 is attached"
cmd "port start 0" "Done"
cmd "set fwd io" "Set io packet forwarding mode"
cmd "start" "io packet forwarding"
ip netns exec "$a" ping -c 5 -i 0.1 -W 2 10.79.0.2 > "$log.ping" 2>&1 ||
	{ cat "$log.ping"; rm -f "$log.ping"; fail "ping after detaching and attaching port 0"; }
rm -f "$log.ping"
cmd "stop" "Done."
echo "ok: port 0 detached and attached again forwards"

# An interface attached to a port already, or another device's control
# socket: the probe is refused, naming both.
cmd "port attach net_dpak5,dev=hwsim:uplinks=1;vfs=0,port=0,iface=tp$id-a" "net_dpak5: bad devarg iface"
echo "$out" | grep -qF "net_dpak: net_dpak5: bad devarg iface=tp$id-a: tp$id-a is attached to port 0 of dev=hwsim:engine=thread already (ethdev net_dpak0)" ||
	fail "a second attachment of tp$id-a not refused by name"
cmd "port attach net_dpak5,dev=hwsim:uplinks=1;vfs=0,port=0,ctl=$ctl" "net_dpak5: bad devarg ctl"
echo "$out" | grep -qF "net_dpak: net_dpak5: bad devarg ctl=$ctl: the device dev=hwsim:engine=thread serves dpak-ctl there already" ||
	fail "a second device on the same ctl= socket not refused by name"
"$top_builddir/tools/dpak-ctl" -s "$ctl" ports > /dev/null 2>&1 || fail "the first device's control socket stopped answering"
echo "ok: an interface attached twice, a control socket used twice: refused"
echo "quit" >&8
exec 8>&-
wait "$pmd"
pmd=""
