#!/bin/sh
# Integration: the pci backend driving hwsim's PCIe device front end in
# another process (dpak-hwsim-pci), as a switch would drive silicon. The
# learning-switch sample opens "pci:0000:3a:00.0"; the device's two uplinks
# are attached to interfaces of two network namespaces; ping and a TCP
# transfer must cross, and the flows the switch offloads through the
# device's admin queue must carry the traffic (their counters, read back
# through the device's counter command). Skipped (77) without root/netns
# or without dpak-hwsim-pci.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
. "$top_srcdir/scripts/netns-lib.sh"
fe_bin="$top_builddir/tools/dpak-hwsim-pci"
[ -x "$fe_bin" ] || { echo "SKIP: $fe_bin not built"; exit 77; }
nsl_test_begin

id=$$
dir=$(mktemp -d /tmp/dpak-test-pci.XXXXXX)
log="$dir/switch.log"
felog="$dir/device.log"
srv="$dir/srv.log"
bdf=0000:3a:00.0
sw="" fe=""
cleanup() {
	[ -n "$sw" ] && kill "$sw" 2>/dev/null && wait "$sw" 2>/dev/null
	[ -n "$fe" ] && kill "$fe" 2>/dev/null && wait "$fe" 2>/dev/null
	nsl_cleanup
	rm -rf "$dir"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	echo "--- switch log"; cat "$log" 2>/dev/null
	echo "--- device log"; cat "$felog" 2>/dev/null
	exit 1
}

nsl_host "p$id-a" "pl$id-a" 10.79.0.1/24 || fail "namespace set-up"
nsl_host "p$id-b" "pl$id-b" 10.79.0.2/24 || fail "namespace set-up"

"$fe_bin" --dir "$dir" --bdf "$bdf" uplinks=2,pfs=0,vfs=0,engine=thread > "$felog" 2>&1 &
fe=$!
for _ in $(seq 100); do grep -q ready "$felog" && break; sleep 0.1; done
grep -q ready "$felog" || fail "dpak-hwsim-pci did not get ready"

DPAK_PCI_DUMP="$dir/pci.dump" DPAK_HWSIM_PCI_DIR="$dir" \
	"$top_builddir/samples/dpak-l2switch" -d "pci:$bdf" -a 1000 "pl$id-a" "pl$id-b" > "$log" 2>&1 &
sw=$!
for _ in $(seq 100); do grep -q switching "$log" && break; sleep 0.1; done
grep -q switching "$log" || fail "the switch did not start on pci:$bdf"

for _ in 1 2 3 4 5 6; do
	ip netns exec "p$id-a" ping -c 1 -W 5 10.79.0.2 >/dev/null 2>&1 && break
done
ip netns exec "p$id-a" ping -c 10 -i 0.05 -W 2 10.79.0.2 > "$dir/ping" 2>&1 ||
	{ cat "$dir/ping"; fail "ping"; }
grep -q " 0% packet loss" "$dir/ping" || { cat "$dir/ping"; fail "ping lost packets"; }

bytes=20000000
ip netns exec "p$id-b" "$top_builddir/tests/tcpxfer" server 5002 $bytes > "$srv" 2>&1 &
for _ in $(seq 50); do grep -q listening "$srv" && break; sleep 0.1; done
ip netns exec "p$id-a" "$top_builddir/tests/tcpxfer" client 10.79.0.2 5002 $bytes ||
	fail "tcp client"
for _ in $(seq 100); do grep -q -E "^(ok|bad|short)" "$srv" && break; sleep 0.1; done
grep -q "^ok $bytes" "$srv" || { cat "$srv"; fail "TCP payload not intact"; }
echo "ok: $bytes bytes of TCP payload crossed the pci device intact"

kill -INT "$sw"
wait "$sw"
sw=""
summary=$(grep '^summary:' "$log") || fail "no summary"
echo "$summary"
slow=$(echo "$summary" | sed -n 's/.*slow path saw \([0-9]*\) packets.*/\1/p')
fwd=$(echo "$summary" | sed -n 's/.*forwarded \([0-9]*\) packets.*/\1/p')
[ "$fwd" -gt 5000 ] || fail "offloaded flows forwarded only $fwd packets"
[ "$fwd" -gt $((slow * 50)) ] || fail "offloaded $fwd vs slow path $slow"
echo "ok: slow path $slow packets, offloaded flows $fwd packets (pci:$bdf)"

# The device serves the next driver after this one left (it reset itself
# when the connection closed): a second switch starts on it.
DPAK_PCI_DUMP="$dir/pci.dump" DPAK_HWSIM_PCI_DIR="$dir" \
	"$top_builddir/samples/dpak-l2switch" -d "pci:$bdf" -t 1 -q "pl$id-a" "pl$id-b" > "$log" 2>&1 ||
	fail "a second switch could not open the device"
grep -q '^summary:' "$log" || fail "second switch: no summary"
echo "ok: the device served a second driver"
kill "$fe"; wait "$fe"; fe=""
exit 0
