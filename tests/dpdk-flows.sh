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
# by a devspec with ',' and '=' of its own. The tables: libdpak's default
# configinfo (named, as the driver's default is the installed ovs.conf).
# shellcheck disable=SC2046
timeout 120 "$TESTPMD" -l 0-1 $(dpl_eal "dpakflows$$") \
	--vdev "net_dpak0,configinfo=$top_srcdir/configinfo/default.conf" --vdev net_dpak1 \
	--vdev "net_dpak2,dev=hwsim:uplinks=1,vfs=2,port=vf1,configinfo=$top_srcdir/configinfo/default.conf" \
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
flow create 0 priority 3 transfer pattern eth / ipv4 src is 10.0.0.1 / udp dst is 53 / end actions count / drop / end
flow create 0 priority 99 transfer pattern eth / ipv4 src is 10.0.0.3 / end actions count / drop / end
flow create 0 transfer pattern eth / ipv4 src is 10.0.0.3 / end actions rss queues 5 end / end
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
# the probe says which tables each device was opened with
expect "net_dpak: dev=hwsim:engine=thread: configinfo $top_srcdir/configinfo/default.conf"
expect "net_dpak: dev=hwsim:uplinks=1,vfs=2,engine=thread: configinfo $top_srcdir/configinfo/default.conf"
expect "Flow rule validated"
# rule ids count per port: #0-#3 on port 0, #0 on port 1
for r in 0 1 2 3; do expect "Flow rule #$r created"; done
expect_not "Flow rule #4 created"
expect "ETH IPV4 UDP => COUNT PORT_ID"
[ "$(grep -c "Flow rule #0 created" "$log")" -eq 2 ] || fail "port 1's vlan rule not created"
expect "ETH IPV4 => MARK RSS"
expect "ETH IPV4 => COUNT RAW_ENCAP PORT_ID"
expect "hits: 0"
# the same pattern twice, at the same or another priority: libdpak's
# duplicate check; the error's type is the pattern (testpmd: "pattern length")
expect "net_dpak: table acl: a rule with the same pattern exists (at any priority"
[ "$(grep -c "(pattern length): cause: .*a rule with the same pattern exists" "$log")" -eq 2 ] ||
	fail "the same pattern at another priority not refused as the pattern's"
expect_not "same pattern and priority"
# a priority the table lacks: the priority attribute is at fault
expect "(priority field): cause:"
expect "net_dpak: table acl: priority 99 out of range"
# a value in an action's conf: the conf is at fault
expect "(action configuration): cause:"
expect "net_dpak: action 0 (rss): queue 5: the port has"
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

# Rules as Open vSwitch 3.1 writes them (lib/netdev-offload-dpdk.c), into
# the tables of configinfo/ovs.conf: has_vlan, IPv4 fragment_offset
# ranges (frag=no/first/later), a VLAN tag with the EtherType in
# inner_type, IPv6 with the fragment extension, SCTP, the IPv6 and TTL
# sets, VLAN push, VXLAN over IPv6, and MARK + RSS over the port's queues.
# shellcheck disable=SC2046
timeout 120 "$TESTPMD" -l 0-1 $(dpl_eal "dpakovs$$") \
	--vdev "net_dpak0,configinfo=$top_srcdir/configinfo/ovs.conf" --vdev net_dpak1 \
	-- -i --total-num-mbufs=8192 --rxq=2 --txq=2 > "$log" 2>&1 <<'CMDS'
flow create 0 transfer pattern eth src is 02:00:00:00:00:01 dst is 02:00:00:00:00:02 type is 0x0800 has_vlan is 0 / ipv4 src is 10.0.0.1 dst is 10.0.0.2 proto is 17 fragment_offset spec 0 fragment_offset mask 0x3fff / udp src is 1 dst is 2 / end actions count / port_id id 1 / end
flow create 0 transfer pattern eth type is 0x0800 has_vlan is 0 / ipv4 src is 10.0.0.1 fragment_offset spec 0x2000 fragment_offset mask 0x3fff / end actions count / drop / end
flow create 0 transfer pattern eth type is 0x0800 has_vlan is 0 / ipv4 src is 10.0.0.1 fragment_offset spec 1 fragment_offset last 0x1fff fragment_offset mask 0x1fff / end actions count / drop / end
flow create 0 transfer pattern eth type is 0x8100 has_vlan is 1 / vlan tci is 100 inner_type is 0x0800 / ipv4 src is 10.0.0.3 / end actions count / of_pop_vlan / port_id id 1 / end
flow create 0 transfer pattern eth type is 0x86dd has_vlan is 0 / ipv6 src is 2001:db8::1 proto is 132 has_frag_ext is 0 / sctp dst is 9 / end actions count / set_ipv6_src ipv6_addr 2001:db8::99 / set_ttl ttl_value 9 / port_id id 1 / end
flow create 0 transfer pattern eth type is 0x86dd has_vlan is 0 / ipv6 src is 2001:db8::2 has_frag_ext is 1 / ipv6_frag_ext frag_data spec 0x0001 frag_data mask 0xfff9 next_hdr is 17 / end actions count / drop / end
set vxlan ip-version ipv6 vni 42 udp-src 0 udp-dst 4789 ip-src 2001:db8::a ip-dst 2001:db8::b eth-src 02:00:00:00:00:01 eth-dst 02:00:00:00:00:02
flow create 0 transfer pattern eth type is 0x0800 has_vlan is 0 / ipv4 src is 10.0.0.5 / end actions count / vxlan_encap / port_id id 1 / end
flow create 0 transfer pattern eth type is 0x0800 has_vlan is 0 / ipv4 src is 10.0.0.7 / end actions count / of_push_vlan ethertype 0x8100 / of_set_vlan_pcp vlan_pcp 3 / of_set_vlan_vid vlan_vid 10 / port_id id 1 / end
flow create 0 ingress pattern eth type is 0x0800 / ipv4 src is 10.0.0.6 / end actions mark id 5 / rss queues 0 1 end / end
flow create 0 ingress pattern eth type is 0x0800 / ipv4 src is 10.0.0.8 / end actions mark id 5 / rss queues 0 3 end / end
flow create 0 transfer pattern eth type is 0x0800 has_vlan is 0 / ipv4 src is 10.0.0.1 version_ihl is 0x45 / end actions count / drop / end
flow create 0 transfer pattern eth type is 0x0800 has_vlan is 0 / ipv4 src is 10.0.0.9 fragment_offset spec 0x0100 fragment_offset mask 0x3fff / end actions count / drop / end
flow create 0 transfer pattern eth type is 0x88a8 has_vlan is 1 / vlan tci is 100 inner_type is 0x0800 / end actions count / drop / end
flow create 0 transfer pattern eth type is 0x0800 has_vlan is 0 / ipv4 src is 10.0.0.11 / end actions count / of_push_vlan ethertype 0x8100 / of_set_vlan_vid vlan_vid 10 / of_push_vlan ethertype 0x88a8 / of_set_vlan_vid vlan_vid 20 / port_id id 1 / end
flow create 0 transfer pattern eth type is 0x0800 / ipv4 src is 10.0.0.12 / end actions count / of_pop_vlan / port_id id 1 / end
flow create 0 transfer pattern eth src is 02:00:00:00:00:12 has_vlan is 1 / end actions count / of_pop_vlan / port_id id 1 / end
set raw_encap 0 eth src is 02:00:00:00:00:01 dst is 02:00:00:00:00:02 / ipv4 src is 192.168.0.1 dst is 192.168.0.2 proto is 17 / udp dst is 4789 / vxlan vni is 42 / end_set
flow create 0 transfer pattern eth type is 0x0800 has_vlan is 0 / ipv4 src is 10.0.0.13 / end actions count / raw_encap index 0 / raw_encap index 0 / port_id id 1 / end
flow create 0 transfer pattern eth type is 0x0800 has_vlan is 0 / ipv4 src is 10.0.0.13 / end actions count / vxlan_encap / raw_encap index 0 / port_id id 1 / end
flow create 0 transfer pattern eth type is 0x0800 has_vlan is 0 / ipv4 src is 10.0.0.14 / end actions count / raw_encap index 0 / drop / end
quit
CMDS
# 9: two pushes (QinQ, an 802.1ad outer tag); 10: a pop on a pattern of
# tagged frames; 11: an encapsulation before drop (accepted, no effect)
for r in 0 1 2 3 4 5 6 7 8 9 10 11; do expect "Flow rule #$r created"; done
expect_not "Flow rule #12 created"
expect "net_dpak: action 1 (of_pop_vlan): the pattern matches untagged frames too (they would be dropped)"
[ "$(grep -c "a second encapsulation (VXLAN in VXLAN is not offloaded)" "$log")" -eq 2 ] ||
	fail "two encapsulations in one rule not refused"
expect "net_dpak: action 1 (rss): queue 3: the port has 2 receive queues"
expect "(item specification mask): cause: 0x"
expect "net_dpak: item 1 (ipv4): table ipv4: field version_ihl cannot be matched"
expect "(item specification): cause: 0x"
expect "net_dpak: item 1 (ipv4): fragment_offset 0x0100/0x3fff last 0x0000: only not-a-fragment, first fragment and later fragments are matched"
expect "net_dpak: item 0 (eth): TPID 0x88a8: only 802.1Q (0x8100) tags are matched"
expect "(action configuration): cause: 0x"
echo "ok: Open vSwitch's rules offloaded into configinfo/ovs.conf's tables"

# Bad devargs: the probe fails, naming the key and value (a value longer
# than 64 bytes shortened to its first 64 and "..."); a key given twice
# fails it, naming the key.
long=$(printf '%0300d' 0)
for args in "port=vf9" "queues=99" "foo=1" "dev=nosuchbackend:" "port=0,iface=dpaknosuchif0" \
	"port=0,port=1" "queues=2,queues=2" "dev=hwsim:,dev=hwsim:" "configinfo=$long"; do
	# shellcheck disable=SC2046
	timeout 60 "$TESTPMD" -l 0-1 $(dpl_eal "dpakbad$$") --vdev "net_dpak0,$args" \
		-- -i --total-num-mbufs=8192 > "$log" 2>&1 <<'CMDS'
quit
CMDS
	case $args in
	port=0,port=1) expect "net_dpak: net_dpak0: devarg port= given twice" ;;
	queues=2,*) expect "net_dpak: net_dpak0: devarg queues= given twice" ;;
	dev=hwsim:,*) expect "net_dpak: net_dpak0: devarg dev= given twice" ;;
	configinfo=*)
		expect "net_dpak: devarg configinfo=$(printf '%064d' 0)...: too long (300 bytes; at most 255)"
		expect_not "$(printf '%065d' 0)" ;;
	port=vf9)
		expect "net_dpak: net_dpak0: bad devarg port=vf9"
		# no configinfo=: the installed ovs.conf, or a warning that
		# libdpak's built-in default (no table for OVS) is used
		grep -qE "net_dpak: dev=hwsim:engine=thread: configinfo( .*/ovs.conf \(the installed default\)|: libdpak's built-in default, because .*/ovs.conf is not there; its tables do not hold Open vSwitch's megaflows)" "$log" ||
			fail "no log line naming the configinfo the device was opened with" ;;
	foo=1) expect "net_dpak: net_dpak0: unknown devarg 'foo=1'" ;;
	dev=*) expect "net_dpak: net_dpak0: cannot open libdpak device dev=nosuchbackend:" ;;
	*iface=*) expect "net_dpak: net_dpak0: bad devarg iface=dpaknosuchif0" ;;
	*) expect "net_dpak: net_dpak0: bad devarg $args" ;;
	esac
	expect_not "Port 0: "
done
echo "ok: bad devargs refused by name"

# A name without a port number and no port=: refused, not port 0.
# shellcheck disable=SC2046
timeout 60 "$TESTPMD" -l 0-1 $(dpl_eal "dpakbad$$") --vdev net_dpakfoo \
	-- -i --total-num-mbufs=8192 > "$log" 2>&1 <<'CMDS'
quit
CMDS
expect "net_dpak: net_dpakfoo: no devarg port= and no port number at the end of the name (net_dpak<N>): give port=<name|number>"
expect_not "Port 0: "
echo "ok: a key given twice, over-long values, a name without a port number refused"

# An L4 item with no spec still means its protocol: "eth / ipv4 / udp" goes
# into a table that keys on ip_proto (ovs.conf's ipv4), never into the l2
# table as "all IPv4" (which would forward TCP and ICMP by a UDP rule).
fifo=$(mktemp -u /tmp/dpak-test-fifo.XXXXXX)
sock=/run/dpak-test-flows$$.sock
mkfifo "$fifo"
# shellcheck disable=SC2046
timeout 120 "$TESTPMD" -l 0-1 $(dpl_eal "dpakl4$$") \
	--vdev "net_dpak0,configinfo=$top_srcdir/configinfo/ovs.conf,ctl=$sock" --vdev net_dpak1 \
	-- -i --total-num-mbufs=8192 < "$fifo" > "$log" 2>&1 &
tp=$!
exec 7>"$fifo"
echo "flow create 0 transfer pattern eth / ipv4 / udp / end actions count / drop / end" >&7
echo "flow create 0 transfer pattern eth / ipv4 / icmp / end actions count / port_id id 1 / end" >&7
for _ in $(seq 300); do
	[ "$(grep -c "Flow rule #[0-9]* created" "$log")" -ge 2 ] && break
	grep -q "Caught PMD error" "$log" && break
	sleep 0.1
done
rows=$("$top_builddir/tools/dpak-ctl" -s "$sock" flows 2>&1)
echo quit >&7
exec 7>&-
wait $tp
rm -f "$fifo"
echo "$rows" | grep -E '^ipv4 .*ip_proto=17' | grep -q 'drop' ||
	{ echo "$rows"; fail "eth / ipv4 / udp is not in table ipv4 with ip_proto=17"; }
echo "$rows" | grep -E '^ipv4 .*ip_proto=1[^0-9]' | grep -q 'port:' ||
	{ echo "$rows"; fail "eth / ipv4 / icmp is not in table ipv4 with ip_proto=1"; }
! echo "$rows" | grep -qE '^l2 ' || { echo "$rows"; fail "a rule with an L4 item went into table l2"; }
echo "ok: a spec-less udp / icmp item keeps its protocol (table ipv4, ip_proto matched)"
