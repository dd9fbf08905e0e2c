#!/bin/sh
# Integration: frame sizes over real interfaces. An hwsim uplink attached
# to a veth whose peer is in a network namespace (tests/frames_netns.c):
# at MTU 1500, an oversize frame (VXLAN encapsulation of a full-size
# frame) is dropped and counted and the port goes on sending, whether the
# device or the kernel's transmit ring refuses it; at MTU 9000, jumbo
# frames cross both ways intact. Skipped (77) without root/netns.
set -u
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
. "$top_srcdir/scripts/netns-lib.sh"
nsl_test_begin

id=$$
trap nsl_cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

ns=fr$id
nsl_host "$ns" "vf$id" 10.41.0.1/24 || fail "set-up"
ip -n "$ns" link set eth0 mtu 1500
ip link set "vf$id" mtu 1500
"$top_builddir/tests/frames_netns" "vf$id" "$ns" std || fail "MTU 1500"

ip link set "vf$id" mtu 9000 || fail "MTU 9000 on the veth"
ip -n "$ns" link set eth0 mtu 9000
"$top_builddir/tests/frames_netns" "vf$id" "$ns" jumbo || fail "MTU 9000"
