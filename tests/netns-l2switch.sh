#!/bin/sh
# Integration: the learning-switch sample between two network namespaces,
# with real ping and TCP traffic. After the first packets the offloaded flows
# must carry the traffic (their counters), the TCP payload must arrive
# intact, and idle flows must age out. Priority-tagged frames (VLAN 100,
# PCP 6) must be offloaded too. Then the main job (the README's
# `quickstart demo`) must run and exit 0, cleaning up after itself.
# Skipped (77) without root/netns.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
. "$top_srcdir/scripts/netns-lib.sh"
nsl_test_begin

id=$$
log=$(mktemp /tmp/dpak-test-l2.XXXXXX)
srv=$(mktemp /tmp/dpak-test-srv.XXXXXX)
sw=""
cleanup() {
	[ -n "$sw" ] && kill "$sw" 2>/dev/null && wait "$sw" 2>/dev/null
	nsl_cleanup
	rm -f "$log" "$srv"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; echo "--- switch log"; cat "$log"; exit 1; }

nsl_host "t$id-a" "tl$id-a" 10.78.0.1/24 || fail "namespace set-up"
nsl_host "t$id-b" "tl$id-b" 10.78.0.2/24 || fail "namespace set-up"
"$top_builddir/samples/dpak-l2switch" -a 1000 "tl$id-a" "tl$id-b" > "$log" 2>&1 &
sw=$!
for _ in $(seq 50); do grep -q switching "$log" && break; sleep 0.1; done

# The first packets wait for ARP through the slow path; on a loaded
# machine that can take a while. Warm up (up to 20 s), then measure.
for _ in 1 2 3 4; do
	ip netns exec "t$id-a" ping -c 1 -W 5 10.78.0.2 >/dev/null 2>&1 && break
done
ip netns exec "t$id-a" ping -c 10 -i 0.05 -W 2 10.78.0.2 > "$log.ping" 2>&1 ||
	{ cat "$log.ping"; rm -f "$log.ping"; fail "ping"; }
grep -q " 0% packet loss" "$log.ping" || { cat "$log.ping"; rm -f "$log.ping"; fail "ping lost packets"; }
rm -f "$log.ping"

bytes=30000000
ip netns exec "t$id-b" "$top_builddir/tests/tcpxfer" server 5001 $bytes > "$srv" 2>&1 &
for _ in $(seq 50); do grep -q listening "$srv" && break; sleep 0.1; done
ip netns exec "t$id-a" "$top_builddir/tests/tcpxfer" client 10.78.0.2 5001 $bytes ||
	fail "tcp client"
for _ in $(seq 100); do grep -q -E "^(ok|bad|short)" "$srv" && break; sleep 0.1; done
grep -q "^ok $bytes" "$srv" || { cat "$srv"; fail "TCP payload not intact"; }
echo "ok: $bytes bytes of TCP payload arrived intact"

sleep 2 # idle flows age out after 1 s
kill -INT "$sw"
wait "$sw"
sw=""
summary=$(grep '^summary:' "$log") || fail "no summary"
echo "$summary"
slow=$(echo "$summary" | sed -n 's/.*slow path saw \([0-9]*\) packets.*/\1/p')
fwd=$(echo "$summary" | sed -n 's/.*forwarded \([0-9]*\) packets.*/\1/p')
aged=$(echo "$summary" | sed -n 's/.*aged out \([0-9]*\).*/\1/p')
installed=$(echo "$summary" | sed -n 's/.*flows installed \([0-9]*\).*/\1/p')
[ "$fwd" -gt 10000 ] || fail "offloaded flows forwarded only $fwd packets"
[ "$slow" -lt 100 ] || fail "the slow path saw $slow packets"
[ "$fwd" -gt $((slow * 100)) ] || fail "offloaded $fwd vs slow path $slow"
# A flow may age out in a pause of the traffic and come back: every flow
# installed (two at least, one per direction) must have aged out at the end.
[ "$installed" -ge 2 ] || fail "only $installed flows installed"
[ "$aged" -eq "$installed" ] || fail "$aged of $installed flows aged out"
grep -q "pool 4096/4096 free" "$log" || fail "buffers missing from the pool"
echo "ok: slow path $slow packets, offloaded flows $fwd packets, $aged flows aged out"

# Priority-tagged traffic (VLAN 100, PCP 6) is offloaded like any other of
# its VLAN: the l2 table keys on the VLAN id, which is what the switch
# installs. Frames made by rawsend (no 802.1Q in this kernel).
hdr="8100c0640800"                                   # VLAN 100, PCP 6; IPv4
ip4="4500002a0000400040110000 0a4f0001 0a4f0002 13881389001600000000000000000000000000000000"
ip4=$(echo "$ip4" | tr -d ' ')
mac_a=020000000a0a mac_b=020000000b0b
"$top_builddir/samples/dpak-l2switch" -a 5000 "tl$id-a" "tl$id-b" > "$log" 2>&1 &
sw=$!
for _ in $(seq 50); do grep -q switching "$log" && break; sleep 0.1; done
send() { ip netns exec "$1" "$top_builddir/tests/rawsend" eth0 "$2" "$3" || fail "rawsend"; }
# Until the switch has learned b's MAC on VLAN 100 (a frame sent before its
# receive path is up is lost), then a's, which offloads a -> b.
until_log() { # until_log PATTERN FRAME-SENDER...: send, wait up to 1 s, retry
	pat=$1; shift
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		"$@"
		for _ in $(seq 10); do grep -q "$pat" "$log" && return 0; sleep 0.1; done
	done
	return 1
}
until_log "learned: .*02:00:00:00:0b:0b vlan 100" send "t$id-b" 1 "$mac_a$mac_b$hdr$ip4" ||
	fail "the switch never learned b's MAC on VLAN 100"
until_log "offloaded: tl$id-a.*dst 02:00:00:00:0b:0b vlan 100" \
	send "t$id-a" 1 "$mac_b$mac_a$hdr$ip4" || fail "no flow offloaded for VLAN 100"
# These the device forwards by itself: 300 frames, 50 at a time, so that a
# burst never outruns the attached port's 256-slot receive ring.
for _ in 1 2 3 4 5 6; do send "t$id-a" 50 "$mac_b$mac_a$hdr$ip4"; sleep 0.1; done
sleep 1
kill -INT "$sw"
wait "$sw"
sw=""
grep -q "offloaded: tl$id-a.*dst 02:00:00:00:0b:0b vlan 100" "$log" ||
	fail "no flow offloaded for VLAN 100"
pcp=$(awk -v p="tl$id-a" '$1 == p && $2 == "02:00:00:00:0b:0b" && $3 == 100 {s += $5}
	END {print s + 0}' "$log")
[ "$pcp" -ge 300 ] || fail "the VLAN 100 flow forwarded $pcp of 300 priority-tagged frames"
echo "ok: priority-tagged VLAN 100 frames offloaded ($pcp by the flow)"

# The main job, as `scripts/quickstart demo` runs it: a clean run exits 0
# and leaves no namespace behind.
before=$(ip netns list | grep -c '^dpak' || :)
"$top_srcdir/scripts/demo-l2switch" "$top_builddir" > "$log.demo" 2>&1
rc=$?
[ "$rc" -eq 0 ] || { cat "$log.demo"; rm -f "$log.demo"; fail "demo exited $rc"; }
grep -q '^summary:' "$log.demo" || { cat "$log.demo"; rm -f "$log.demo"; fail "demo: no summary"; }
rm -f "$log.demo"
after=$(ip netns list | grep -c '^dpak' || :)
[ "$after" -le "$before" ] || fail "demo left namespaces behind"
echo "ok: the demo ran and exited 0"
