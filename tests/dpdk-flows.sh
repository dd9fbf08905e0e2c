#!/bin/sh
# testpmd's rte_flow commands against net_dpak ports: rules that libdpak
# offloads are validated, created, queried (counters with reset), listed,
# destroyed and flushed; rules it cannot offload are refused with the
# driver's message naming the item or action and the cause. Bad devargs
# fail the probe with a log line naming the key and value.
# Skipped (77) when the driver was not built or testpmd is missing.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
. "$top_srcdir/tests/dpdk-lib.sh"
dpl_begin

log=$(mktemp /tmp/dpak-test-pmd.XXXXXX)
trap 'dpl_cleanup; rm -f "$log"' EXIT
fail() { echo "FAIL: $*"; echo "--- testpmd output"; cat "$log"; exit 1; }
expect() { grep -qF -- "$1" "$log" || fail "expected: $1"; }
expect_not() { ! grep -qF -- "$1" "$log" || fail "not expected: $1"; }

# Ports 0 and 1: the default hwsim device; port 2: another device, given
# by a devspec with ',' and '=' of its own.
# shellcheck disable=SC2046
timeout 120 "$TESTPMD" -l 0-1 $(dpl_eal "dpakflows$$") \
	--vdev net_dpak0 --vdev net_dpak1 \
	--vdev "net_dpak2,dev=hwsim:uplinks=1,vfs=2,port=vf1" \
	-- -i --total-num-mbufs=8192 > "$log" 2>&1 <<'CMDS'
show port info 2
flow validate 0 transfer pattern eth / ipv4 src is 10.0.0.1 / udp dst is 53 / end actions count / port_id id 1 / end
flow create 0 transfer pattern eth / ipv4 src is 10.0.0.1 / udp dst is 53 / end actions count / port_id id 1 / end
flow create 0 transfer pattern eth / ipv6 src is 2001:db8::1 / tcp dst is 80 / end actions count / drop / end
flow create 1 transfer pattern eth dst is 02:00:00:00:00:01 / vlan vid is 100 / end actions count / of_pop_vlan / port_id id 0 / end
flow create 0 ingress pattern eth / ipv4 src is 10.0.0.9 / end actions mark id 7 / rss / end
set raw_encap 0 eth src is 02:00:00:00:00:01 dst is 02:00:00:00:00:02 / ipv4 src is 192.168.0.1 dst is 192.168.0.2 proto is 17 / udp dst is 4789 / vxlan vni is 42 / end_set
flow create 0 transfer pattern eth / ipv4 src is 10.0.0.7 / end actions count / raw_encap index 0 / port_id id 1 / end
flow create 0 transfer pattern eth / ipv4 src is 10.0.0.1 / udp dst is 53 / end actions count / port_id id 1 / end
flow list 0
flow query 0 0 count
flow create 0 transfer pattern eth / gre / end actions drop / end
flow create 0 group 1 transfer pattern eth / end actions drop / end
flow create 0 transfer pattern eth / end actions jump group 1 / end
flow create 0 transfer pattern eth / ipv4 / end actions count / port_id id 2 / end
flow create 0 transfer pattern eth / ipv4 / end actions count / port_id id 1 / port_id id 0 / end
flow create 0 transfer pattern eth / ipv4 / end actions count / end
flow create 0 egress pattern eth / end actions drop / end
flow isolate 0 true
flow destroy 0 rule 1
flow list 0
flow flush 0
flow query 0 3 count
flow flush 1
quit
CMDS
rc=$?
[ $rc -eq 0 ] || fail "testpmd exited with $rc"

expect "Switch name: hwsim:uplinks=1,vfs=2,engine=thread"
expect "Flow rule validated"
# rule ids count per port: #0-#3 on port 0, #0 on port 1
for r in 0 1 2 3; do expect "Flow rule #$r created"; done
expect_not "Flow rule #4 created"
expect "ETH IPV4 UDP => COUNT PORT_ID"
[ "$(grep -c "Flow rule #0 created" "$log")" -eq 2 ] || fail "port 1's vlan rule not created"
expect "ETH IPV4 => MARK RSS"
expect "ETH IPV4 => COUNT RAW_ENCAP PORT_ID"
expect "hits: 0"
# the same rule twice: libdpak's duplicate check
expect "net_dpak: table acl: a rule with the same pattern and priority exists"
expect "net_dpak: item 1 (gre): not supported by net_dpak"
expect "(group field): cause:"
expect "net_dpak: group 1: only group 0 exists"
expect "net_dpak: action 0 (jump): only group 0 exists"
expect "net_dpak: action 1 (port_id): ethdev 2 is not a net_dpak port of this device (dev=hwsim:engine=thread)"
expect "net_dpak: action 2 (port_id): more than one fate"
expect "net_dpak: no fate action"
expect "net_dpak: egress rules are not supported"
expect "net_dpak: isolated mode is not supported"
expect "Flow rule #1 destroyed"
expect "Flow rule #3 not found"
echo "ok: flow validate/create/query/destroy/flush and refusals"

# Bad devargs: the probe fails, naming the key and value.
for args in "port=vf9" "queues=99" "foo=1" "dev=nosuchbackend:" "port=0,iface=dpaknosuchif0"; do
	# shellcheck disable=SC2046
	timeout 60 "$TESTPMD" -l 0-1 $(dpl_eal "dpakbad$$") --vdev "net_dpak0,$args" \
		-- -i --total-num-mbufs=8192 > "$log" 2>&1 <<'CMDS'
quit
CMDS
	case $args in
	foo=1) expect "net_dpak: net_dpak0: unknown devarg 'foo=1'" ;;
	dev=*) expect "net_dpak: net_dpak0: cannot open libdpak device dev=nosuchbackend:" ;;
	*iface=*) expect "net_dpak: net_dpak0: bad devarg iface=dpaknosuchif0" ;;
	*) expect "net_dpak: net_dpak0: bad devarg $args" ;;
	esac
	expect_not "Port 0: "
done
echo "ok: bad devargs refused by name"
