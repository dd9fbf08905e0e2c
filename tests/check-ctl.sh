#!/bin/sh
# dpak-ctl against a running process: every command in both output forms,
# and the error cases (no socket, another user, bad arguments). The process
# (tests/ctl_server) runs hwsim with a control socket, some flows and a
# trickle of traffic.
set -u
top_builddir=${top_builddir:-.}
ctl="$top_builddir/tools/dpak-ctl"
dir=$(mktemp -d /tmp/dpak-ctl-test.XXXXXX)
chmod 755 "$dir"
sock="$dir/ctl.sock"
srv=""
cleanup() {
	[ -n "$srv" ] && kill "$srv" 2>/dev/null && wait "$srv" 2>/dev/null
	rm -rf "$dir"
}
trap cleanup EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
# run NAME EXPECTED-REGEX dpak-ctl-args...: text and JSON forms
check() {
	what=$1 want=$2
	shift 2
	out=$("$ctl" -s "$sock" "$@" 2>&1) || { fail "$what: exit $? ($out)"; return; }
	echo "$out" | grep -Eq "$want" || { fail "$what: no /$want/ in:"; echo "$out"; }
	js=$("$ctl" -s "$sock" --json "$@" 2>&1) || { fail "$what --json: exit $?"; return; }
	case "$js" in
	"{\"$1\": ["*"]}"|"{\"$1\": ["*"]"*"}") ;;
	*) fail "$what --json: not a JSON object of rows: $js" ;;
	esac
	echo "ok: $what"
}

"$top_builddir/tests/ctl_server" "$sock" "$dir/ready" > "$dir/server.log" 2>&1 &
srv=$!
for _ in $(seq 100); do [ -e "$dir/ready" ] && break; sleep 0.05; done
[ -e "$dir/ready" ] || { cat "$dir/server.log"; echo "FAIL: server did not start"; exit 1; }

perm=$(stat -c %a "$sock")
[ "$perm" = 600 ] || fail "socket mode is $perm, not 600"

check version 'DPAK/1.*hwsim' version
check list-commands 'trace' list-commands
check set-log-level 'warn' set-log-level level=warn
check tables 'l2 +exact +in_port,eth_dst,vlan_tci' tables
check ports 'vf0 +vf +02:d9:a4:00:00:03' ports
check queues '^ *1 ' queues
check bonds 'bond0 +active-backup +l34 +- +0 +uplink1 +up +yes +yes' bonds
check flows 'l2 +0 +7 .*in_port=3,eth_dst=02:00:00:00:00:0b,vlan_tci=0/0xfff +count,port:uplink0' flows
check "flows table=acl" 'acl .*ipv4_dst=10.0.0.254 .*drop' flows table=acl
check "flows cookie=7" ' 7 ' flows cookie=7
check "flows port=vf0" 'port:uplink0' flows port=vf0
check flow-count 'l2 +[12] ' flow-count
check flow-query 'l2 +0 +7 ' flow-query table=l2 id=0
check trace '^ *[0-9]+ +l2 +hit +id 0 cookie 7 .*port:uplink0' trace port=vf0 eth_dst=02:00:00:00:00:0b
check "trace (miss)" 'up to the host' trace port=vf1 eth_dst=02:00:00:00:00:77
check "trace hex" 'out of port uplink0' trace port=3 \
	hex=02000000000b02000000000a08004500002e00000000401100000a0000010a00000203e80035001a0000000000000000000000000000000000000000
check offload-stats 'adds' offload-stats

# Packets moved the flow's counters (trace did not).
p1=$("$ctl" -s "$sock" flow-query table=l2 id=0 | awk 'NR==2 {print $6}')
sleep 0.3
p2=$("$ctl" -s "$sock" flow-query table=l2 id=0 | awk 'NR==2 {print $6}')
[ "${p2:-0}" -gt "${p1:-0}" ] && echo "ok: counters move ($p1 -> $p2)" || fail "counters did not move ($p1, $p2)"

# capture: slow-path packets into a pcap file
check capture 'done +[5-9]|done +[1-9][0-9]' capture file="$dir/cap.pcap" count=5
magic=$(od -An -tx4 -N4 "$dir/cap.pcap" | tr -d ' ')
[ "$magic" = a1b2c3d4 ] && echo "ok: pcap magic" || fail "capture file magic $magic"
for reader in tshark tcpdump; do
	command -v $reader >/dev/null 2>&1 || { echo "SKIP (part): no $reader"; continue; }
	n=$($reader -r "$dir/cap.pcap" 2>/dev/null | wc -l)
	[ "$n" -ge 5 ] && echo "ok: $reader reads $n packets" || fail "$reader read $n packets"
done

# fault injection: the application's next flow add fails and it says so
check hwsim-fail 'Input/output error' hwsim-fail count=1 err=EIO
for _ in $(seq 60); do grep -q "failed" "$dir/server.log" && break; sleep 0.05; done
grep -Eq "flow (add|delete) failed \(1 so far\): .*Input/output error" "$dir/server.log" &&
	echo "ok: the application reported the injected fault" || fail "no fault reported"
check offload-errors 'Input/output error +5 +[12]' offload-errors
check hwsim-reject 'vxlan_encap' hwsim-reject action=vxlan_encap
check "hwsim-reject none" 'none' hwsim-reject action=none
check hwsim-link 'uplink1 +down' hwsim-link port=uplink1 state=down
check "ports (link down)" 'uplink1 +uplink .* down' ports
# no injected fault may still be pending when the device restores its flows
"$ctl" -s "$sock" hwsim-fail count=0 >/dev/null || fail "hwsim-fail count=0"
check hwsim-reset 'done +[1-3]' hwsim-reset
check "flows after reset" 'l2 +0 +7 .* offloaded' flows table=l2
# flow-del changes state: its two forms on two flows
out=$("$ctl" -s "$sock" flow-del table=l2 id=0 2>&1) && echo "$out" | grep -Eq 'l2 +0 +removed' &&
	echo "ok: flow-del" || fail "flow-del: $out"
out=$("$ctl" -s "$sock" --json flow-del table=acl id=0 2>&1)
[ "$out" = '{"flow-del": [
  {"table": "acl", "id": 0, "state": "removed"}
]}' ] && echo "ok: flow-del --json" || fail "flow-del --json: $out"
check "flows after flow-del" 'l2 +0 +7 .* removed' flows table=l2

# errors: bad command, bad argument, missing argument, unknown flow
for bad in "nosuch" "flows colour=red" "flow-query table=l2" "flow-query table=l2 id=999" \
	   "trace port=vf9" "capture file=relative.pcap count=1" "hwsim-link port=0 state=sideways"; do
	# shellcheck disable=SC2086
	if out=$("$ctl" -s "$sock" $bad 2>&1); then
		fail "'$bad' succeeded: $out"
	else
		echo "ok: '$bad' refused: $out"
	fi
done
out=$("$ctl" -s "$dir/none.sock" version 2>&1) && fail "no socket: succeeded" ||
	echo "ok: no socket: $out"

# another user: refused by the socket's mode, and (mode opened up) by the
# library's peer-credential check
if [ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null 2>&1; then
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$ctl" -s "$sock" version 2>&1) &&
		fail "another user connected: $out" || echo "ok: another user refused: $out"
	chmod 666 "$sock"
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$ctl" -s "$sock" version 2>&1) &&
		fail "another user connected through an open socket: $out" ||
		echo "ok: peer credentials refused: $out"
	echo "$out" | grep -q "not the owner" || fail "no peer-credential message: $out"
else
	echo "SKIP (part): the other-user checks need root and setpriv"
fi

kill "$srv"
wait "$srv"
srv=""
[ ! -e "$sock" ] && echo "ok: socket removed at close" || fail "socket left behind"
[ $fails -eq 0 ] || { echo "$fails failures"; exit 1; }
