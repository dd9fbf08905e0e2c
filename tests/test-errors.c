/* SPDX-License-Identifier: MIT */
/*
 * Bad input through the public API: every kind is refused with the right
 * errno and a message naming what was wrong, and the device is left as it
 * was (no flow added, nothing forwarded differently).
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <dpak/dpak.h>
#include "devspec.h"
#include "pkt.h"

enum { UP0, UP1, PF0, VF0, VF1, VF2, VF3, N_PORTS };

static struct dpak_dev *dev;

static int setup(void **state)
{
	(void)state;
	dev = dpak_dev_open(test_devspec(""), NULL);
	if (!dev)
		fprintf(stderr, "open: %s\n", dpak_errmsg());
	return dev ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	dpak_dev_close(dev);
	return 0;
}

static void expect(int rc, int err, const char *needle)
{
	if (rc != -err || !strstr(dpak_errmsg(), needle)) {
		fprintf(stderr, "got %d \"%s\", wanted %d with \"%s\"\n", rc,
			dpak_errmsg(), -err, needle);
		fail();
	}
}

/* No table holds any flow, and a probe packet still misses. */
static void assert_unchanged(void)
{
	struct dpak_dev_info di = { .sz = sizeof(di) };
	uint8_t frame[128], out[256];
	struct pkt_spec s = { .dst = { 2, 0, 0, 0, 0, 0xb }, .sip = 0x0a000001,
			      .dip = 0x0a000002, .proto = 17, .sport = 1000,
			      .dport = 53, .payload = 10 };
	size_t len = pkt_build(frame, &s);

	assert_int_equal(dpak_dev_info(dev, &di), 0);
	for (uint32_t i = 0; i < di.n_tables; i++) {
		struct dpak_table_info ti = { .sz = sizeof(ti) };
		assert_int_equal(dpak_table_info(dpak_table_at(dev, i), &ti), 0);
		assert_int_equal(ti.in_use, 0);
		assert_null(dpak_flow_next(dpak_table_at(dev, i), NULL));
	}
	assert_int_equal(dpak_hwsim_inject(dev, VF0, frame, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	for (uint32_t p = 0; p < N_PORTS; p++)
		assert_int_equal(dpak_hwsim_capture(dev, p, out, sizeof(out)), -EAGAIN);
}

static struct dpak_table *T(const char *name)
{
	struct dpak_table *t = dpak_table_get(dev, name);
	assert_non_null(t);
	return t;
}

/* Try both validate and add: same verdict, nothing changed. */
static void refuse(struct dpak_table *t, const struct dpak_item *items,
		   const struct dpak_action *acts, const struct dpak_flow_opts *o,
		   int err, const char *needle)
{
	struct dpak_flow *fl = (void *)0x1;

	expect(dpak_flow_validate(t, items, acts, o), err, needle);
	expect(dpak_flow_add(t, items, acts, o, &fl), err, needle);
	assert_ptr_equal(fl, (void *)0x1); /* handle untouched */
	assert_unchanged();
}

static const struct dpak_action_port P_UP0 = { UP0 };
static const struct dpak_action FWD[] = { { DPAK_ACTION_PORT, &P_UP0 }, { DPAK_ACTION_END, NULL } };
static const struct dpak_item IPV4_ONLY[] = { { DPAK_ITEM_IPV4, NULL, NULL },
					      { DPAK_ITEM_END, NULL, NULL } };

static void test_items(void **state)
{
	(void)state;
	struct dpak_item unknown[] = { { 99, NULL, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	refuse(T("acl"), unknown, FWD, NULL, EINVAL, "item 0: unknown type 99");
	refuse(T("acl"), NULL, FWD, NULL, EINVAL, "items: NULL");

	struct dpak_item_ipv4 ip = { .checksum = 1 }, ipm = { .checksum = 0xffff };
	struct dpak_item cks[] = { { DPAK_ITEM_ETH, NULL, NULL }, { DPAK_ITEM_IPV4, &ip, &ipm },
				   { DPAK_ITEM_END, NULL, NULL } };
	refuse(T("acl"), cks, FWD, NULL, ENOTSUP, "item 1 (ipv4): field checksum cannot be matched");

	struct dpak_item_ipv4 ttl = { .ttl = 5 }, ttlm = { .ttl = 0xff };
	struct dpak_item ttl_i[] = { { DPAK_ITEM_ETH, NULL, NULL }, { DPAK_ITEM_IPV4, &ttl, &ttlm },
				     { DPAK_ITEM_END, NULL, NULL } };
	refuse(T("acl"), ttl_i, FWD, NULL, ENOTSUP,
	       "item 1 (ipv4): mask on ip_ttl not supported by table acl");

	struct dpak_item_ipv4 m = { .src = htonl(0x0a000000) };
	struct dpak_item nospec[] = { { DPAK_ITEM_IPV4, NULL, &m }, { DPAK_ITEM_END, NULL, NULL } };
	refuse(T("acl"), nospec, FWD, NULL, EINVAL, "item 0 (ipv4): mask without spec");

	struct dpak_item both[] = { { DPAK_ITEM_IPV4, NULL, NULL }, { DPAK_ITEM_IPV6, NULL, NULL },
				    { DPAK_ITEM_END, NULL, NULL } };
	refuse(T("acl"), both, FWD, NULL, EINVAL, "item 1 (ipv6): a flow matches one ip header");

	struct dpak_item after_vx[] = { { DPAK_ITEM_UDP, NULL, NULL }, { DPAK_ITEM_VXLAN, NULL, NULL },
					{ DPAK_ITEM_ETH, NULL, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	refuse(T("acl"), after_vx, FWD, NULL, ENOTSUP, "item 2 (eth): matching inner headers");

	struct dpak_item_eth e = { .type = htons(0x86dd) }, em = { .type = 0xffff };
	struct dpak_item conflict[] = { { DPAK_ITEM_ETH, &e, &em }, { DPAK_ITEM_IPV4, NULL, NULL },
					{ DPAK_ITEM_END, NULL, NULL } };
	refuse(T("acl"), conflict, FWD, NULL, EINVAL, "item 1 (ipv4): implies eth_type 0x800");

	struct dpak_item_port p99 = { 99 };
	struct dpak_item badport[] = { { DPAK_ITEM_PORT, &p99, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	refuse(T("acl"), badport, FWD, NULL, ERANGE, "item 0 (port): port 99 does not exist");

	struct dpak_item_port pp = { 1 }, ppm = { 0xff };
	struct dpak_item partial_port[] = { { DPAK_ITEM_PORT, &pp, &ppm }, { DPAK_ITEM_END, NULL, NULL } };
	refuse(T("acl"), partial_port, FWD, NULL, ENOTSUP, "mask on id must be all ones");

	struct dpak_item_eth d = { .dst = { 2, 0, 0, 0, 0, 1 } };
	struct dpak_item_eth dm = { .dst = { 0xff, 0xff, 0xff, 0, 0, 0 } };
	struct dpak_item_port in = { VF0 };
	struct dpak_item_vlan vl = { 0 };
	struct dpak_item partial[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_ETH, &d, &dm },
				       { DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	refuse(T("l2"), partial, FWD, NULL, ENOTSUP,
	       "table l2 is exact-match: field eth_dst must be matched in full");

	struct dpak_item three_vlans[] = { { DPAK_ITEM_VLAN, NULL, NULL }, { DPAK_ITEM_VLAN, NULL, NULL },
					   { DPAK_ITEM_VLAN, NULL, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	refuse(T("acl"), three_vlans, FWD, NULL, EINVAL, "item 2 (vlan): at most two vlan items");
}

static void test_actions(void **state)
{
	(void)state;
	struct dpak_action_port p99 = { 99 };
	struct dpak_action a1[] = { { DPAK_ACTION_PORT, &p99 }, { DPAK_ACTION_END, NULL } };
	refuse(T("acl"), IPV4_ONLY, a1, NULL, ERANGE,
	       "action 0 (port): port 99 does not exist (device has 7 ports)");

	struct dpak_action two[] = { { DPAK_ACTION_PORT, &P_UP0 }, { DPAK_ACTION_DROP, NULL },
				     { DPAK_ACTION_END, NULL } };
	refuse(T("acl"), IPV4_ONLY, two, NULL, EINVAL,
	       "action 1 (drop): a second fate action (action 0 is port)");

	struct dpak_action_mark mk = { 1 };
	struct dpak_action nofate[] = { { DPAK_ACTION_MARK, &mk }, { DPAK_ACTION_END, NULL } };
	refuse(T("acl"), IPV4_ONLY, nofate, NULL, EINVAL, "no fate action");

	struct dpak_action unk[] = { { 77, NULL }, { DPAK_ACTION_END, NULL } };
	refuse(T("acl"), IPV4_ONLY, unk, NULL, EINVAL, "action 0: unknown type 77");

	struct dpak_action nullconf[] = { { DPAK_ACTION_PORT, NULL }, { DPAK_ACTION_END, NULL } };
	refuse(T("acl"), IPV4_ONLY, nullconf, NULL, EINVAL, "action 0 (port): conf is NULL");

	struct dpak_action_jump back = { 0 };
	struct dpak_action jb[] = { { DPAK_ACTION_JUMP, &back }, { DPAK_ACTION_END, NULL } };
	struct dpak_item ipv6_only[] = { { DPAK_ITEM_IPV6, NULL, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	refuse(T("acl6"), ipv6_only, jb, NULL, ERANGE,
	       "action 0 (jump): table 0 is not after table acl6 (1) in the pipeline");

	struct dpak_action_queue q9 = { 9 };
	struct dpak_action aq[] = { { DPAK_ACTION_QUEUE, &q9 }, { DPAK_ACTION_END, NULL } };
	refuse(T("acl"), IPV4_ONLY, aq, NULL, ERANGE, "action 0 (queue): queue 9 does not exist");

	struct dpak_item udp_only[] = { { DPAK_ITEM_UDP, NULL, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_set_ipv4 a4 = { 1 };
	struct dpak_action setip[] = { { DPAK_ACTION_SET_IPV4_DST, &a4 }, { DPAK_ACTION_PORT, &P_UP0 },
				       { DPAK_ACTION_END, NULL } };
	refuse(T("acl"), udp_only, setip, NULL, ENOTSUP,
	       "action 0 (set_ipv4_dst): the match must include an ipv4 item");

	struct dpak_action_set_tp tp = { 1 };
	struct dpak_action settp[] = { { DPAK_ACTION_SET_TP_DST, &tp }, { DPAK_ACTION_PORT, &P_UP0 },
				       { DPAK_ACTION_END, NULL } };
	refuse(T("acl"), IPV4_ONLY, settp, NULL, ENOTSUP, "must include a tcp or udp item");

	struct dpak_action decap[] = { { DPAK_ACTION_VXLAN_DECAP, NULL }, { DPAK_ACTION_PORT, &P_UP0 },
				       { DPAK_ACTION_END, NULL } };
	refuse(T("acl"), IPV4_ONLY, decap, NULL, ENOTSUP, "must include a vxlan item");

	struct dpak_action_vxlan_encap e = { .ipv4_dst = 1, .vni = 1u << 24 };
	struct dpak_action enc[] = { { DPAK_ACTION_VXLAN_ENCAP, &e }, { DPAK_ACTION_PORT, &P_UP0 },
				     { DPAK_ACTION_END, NULL } };
	refuse(T("acl"), IPV4_ONLY, enc, NULL, ERANGE, "vni 16777216 does not fit in 24 bits");

	struct dpak_action_vlan_push vp = { htons(0x1234), 0 };
	struct dpak_action push[] = { { DPAK_ACTION_VLAN_PUSH, &vp }, { DPAK_ACTION_PORT, &P_UP0 },
				      { DPAK_ACTION_END, NULL } };
	refuse(T("acl"), IPV4_ONLY, push, NULL, EINVAL, "tpid 0x1234");

	struct dpak_action cc[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_COUNT, NULL },
				    { DPAK_ACTION_DROP, NULL }, { DPAK_ACTION_END, NULL } };
	refuse(T("acl"), IPV4_ONLY, cc, NULL, EINVAL, "action 1 (count): given twice");

	refuse(T("acl"), IPV4_ONLY, NULL, NULL, EINVAL, "actions: NULL");

	/* l2 holds 32 bytes of actions: an encapsulation does not fit. */
	struct dpak_action_vxlan_encap e2 = { .ipv4_dst = 1, .vni = 7 };
	struct dpak_action big[] = { { DPAK_ACTION_VXLAN_ENCAP, &e2 }, { DPAK_ACTION_PORT, &P_UP0 },
				     { DPAK_ACTION_END, NULL } };
	struct dpak_item_port in = { VF0 };
	struct dpak_item_eth d = { .dst = { 2, 0, 0, 0, 0, 1 } };
	struct dpak_item_eth dm = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct dpak_item_vlan vl = { 0 };
	struct dpak_item l2i[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_ETH, &d, &dm },
				   { DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	refuse(T("l2"), l2i, big, NULL, ENOTSUP,
	       "actions take 58 bytes packed; table l2 holds at most 32 per flow");
}

static void test_priorities_and_opts(void **state)
{
	(void)state;
	DPAK_OPTS(dpak_flow_opts, p16, .priority = 16);
	refuse(T("acl"), IPV4_ONLY, FWD, &p16, ERANGE,
	       "priority 16 out of range: table acl has 16 levels (0-15)");
	DPAK_OPTS(dpak_flow_opts, p1, .priority = 1);
	struct dpak_item_ipv4 r = { .dst = htonl(0x0a000000) }, rm = { .dst = htonl(0xff000000) };
	struct dpak_item route[] = { { DPAK_ITEM_IPV4, &r, &rm }, { DPAK_ITEM_END, NULL, NULL } };
	refuse(T("route"), route, FWD, &p1, EINVAL, "priority comes from the prefix length");

	/* An options struct from a newer library with a non-zero unknown field. */
	struct {
		struct dpak_flow_opts o;
		uint64_t future;
	} big = { .o = { .sz = sizeof(big) }, .future = 1 };
	refuse(T("acl"), IPV4_ONLY, FWD, &big.o, EINVAL, "unknown non-zero field");
	/* The same struct with the unknown field zero is accepted. */
	big.future = 0;
	assert_int_equal(dpak_flow_validate(T("acl"), IPV4_ONLY, FWD, &big.o), 0);
	/* An older, shorter struct is accepted and its missing fields default. */
	struct dpak_flow_opts old = { .sz = offsetof(struct dpak_flow_opts, idle_timeout_ms),
				      .priority = 2 };
	assert_int_equal(dpak_flow_validate(T("acl"), IPV4_ONLY, FWD, &old), 0);
	struct dpak_flow_opts zero = { .sz = 0 };
	refuse(T("acl"), IPV4_ONLY, FWD, &zero, EINVAL, "sz is 0");
	/* validate itself added nothing. */
	assert_unchanged();
}

static void test_table_declared_actions(void **state)
{
	(void)state;
	DPAK_OPTS(dpak_dev_opts, o, .configinfo_text =
		  "table name=fwd type=wildcard capacity=8 key=ipv4_dst actions=port,drop\n");
	struct dpak_dev *d2 = dpak_dev_open(test_devspec(""), &o);
	struct dpak_flow *fl;
	assert_non_null(d2);
	struct dpak_action_mark mk = { 1 };
	struct dpak_action acts[] = { { DPAK_ACTION_MARK, &mk }, { DPAK_ACTION_PORT, &P_UP0 },
				      { DPAK_ACTION_END, NULL } };
	expect(dpak_flow_add(dpak_table_at(d2, 0), IPV4_ONLY, acts, NULL, &fl), ENOTSUP,
	       "action 0 (mark): not allowed in table fwd");
	dpak_dev_close(d2);
}

/* An L4 item implies its protocol. A table whose key has no ip_proto cannot
 * hold "udp" without matching TCP and ICMP as well: the flow is refused
 * (an rte_flow "eth / ipv4 / udp" with no UDP spec once went into such a
 * table as "all IPv4"), and a table with ip_proto matches UDP only. */
static void test_implied_protocol(void **state)
{
	(void)state;
	DPAK_OPTS(dpak_dev_opts, o, .configinfo_text =
		  "table name=l2 type=wildcard capacity=8 key=in_port,eth_type miss=next\n"
		  "table name=l3 type=wildcard capacity=8 key=in_port,eth_type,ip_proto\n"
		  "table name=ports type=wildcard capacity=8 key=in_port,l4_dst\n");
	struct dpak_dev *d2 = dpak_dev_open(test_devspec(""), &o);
	struct dpak_flow *fl;
	assert_non_null(d2);
	struct dpak_item_port in = { VF0 };
	struct dpak_item_udp u = { .dst_port = htons(53) }, um = { .dst_port = 0xffff };
	struct dpak_item udp_any[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_ETH, NULL, NULL },
				       { DPAK_ITEM_IPV4, NULL, NULL }, { DPAK_ITEM_UDP, NULL, NULL },
				       { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_item udp53[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_UDP, &u, &um },
				     { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_item icmp[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_IPV4, NULL, NULL },
				    { DPAK_ITEM_ICMP, NULL, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port out = { VF1 };
	struct dpak_action acts[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &out },
				      { DPAK_ACTION_END, NULL } };

	expect(dpak_flow_validate(dpak_table_at(d2, 0), udp_any, acts, NULL), ENOTSUP,
	       "item 3 (udp): implies ip_proto 0x11, which table l2 does not key on");
	expect(dpak_flow_add(dpak_table_at(d2, 0), udp_any, acts, NULL, &fl), ENOTSUP,
	       "item 3 (udp): implies ip_proto 0x11, which table l2 does not key on");
	expect(dpak_flow_add(dpak_table_at(d2, 0), icmp, acts, NULL, &fl), ENOTSUP,
	       "item 2 (icmp): implies ip_proto 0x1");
	expect(dpak_flow_add(dpak_table_at(d2, 2), udp53, acts, NULL, &fl), ENOTSUP,
	       "item 1 (udp): implies ip_proto 0x11, which table ports does not key on");
	struct dpak_table_info ti = { .sz = sizeof(ti) };
	for (uint32_t t = 0; t < 3; t++) {
		assert_int_equal(dpak_table_info(dpak_table_at(d2, t), &ti), 0);
		assert_int_equal(ti.in_use, 0);
	}

	/* Where ip_proto is in the key, "udp" takes UDP and nothing else. */
	assert_int_equal(dpak_flow_add(dpak_table_at(d2, 1), udp_any, acts, NULL, &fl), 0);
	uint8_t frame[128], cap[256];
	struct pkt_spec ps = { .dst = { 2, 0, 0, 0, 0, 0xb }, .sip = 0x0a000001,
			       .dip = 0x0a000002, .proto = 6, .sport = 1000,
			       .dport = 53, .payload = 10 };
	size_t len = pkt_build(frame, &ps);
	assert_int_equal(dpak_hwsim_inject(d2, VF0, frame, len), 0);
	assert_int_equal(dpak_hwsim_run(d2, 0), 1);
	assert_int_equal(dpak_hwsim_capture(d2, VF1, cap, sizeof(cap)), -EAGAIN);
	ps.proto = 17;
	len = pkt_build(frame, &ps);
	assert_int_equal(dpak_hwsim_inject(d2, VF0, frame, len), 0);
	assert_int_equal(dpak_hwsim_run(d2, 0), 1);
	assert_int_equal(dpak_hwsim_capture(d2, VF1, cap, sizeof(cap)), (ssize_t)len);
	dpak_dev_close(d2);
}

static void test_exclusive_queue_on_hw1(void **state)
{
	(void)state;
	char path[4096];
	const char *src = getenv("top_srcdir");
	snprintf(path, sizeof(path), "%s/configinfo/dpak-hw1.conf", src ? src : ".");
	DPAK_OPTS(dpak_dev_opts, o, .configinfo = path);
	struct dpak_dev *d2 = dpak_dev_open(test_devspec(""), &o);
	assert_non_null(d2);
	struct dpak_dev_info di = { .sz = sizeof(di) };
	assert_int_equal(dpak_dev_info(d2, &di), 0);
	assert_int_equal(di.n_tables, 5);
	struct dpak_table_info ti = { .sz = sizeof(ti) };
	assert_int_equal(dpak_table_info(dpak_table_get(d2, "ipv6_overlay"), &ti), 0);
	assert_int_equal(ti.key_bytes, 58);
	assert_int_equal(ti.capacity, 2097152);
	assert_int_equal(ti.action_bytes, 128);
	/* the device's limits, as declared */
	assert_int_equal(ti.exclusive_actions, 1ull << DPAK_ACTION_QUEUE);
	assert_int_equal(ti.max_masks, 1); /* exact */
	assert_int_equal(ti.not_restored, 0);
	/* an older caller's struct stops before the fields of 0.2.0 */
	struct { struct dpak_table_info i; uint64_t guard; } old;
	memset(&old, 0xab, sizeof(old));
	old.i.sz = offsetof(struct dpak_table_info, exclusive_actions);
	assert_int_equal(dpak_table_info(dpak_table_get(d2, "ipv6_overlay"), &old.i), 0);
	assert_int_equal(old.i.capacity, 2097152);
	assert_int_equal(old.i.max_masks, 0xabababab);

	struct dpak_item_port in = { VF0 };
	struct dpak_item_eth d = { .dst = { 2, 0, 0, 0, 0, 1 } };
	struct dpak_item_eth dm = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct dpak_item_vlan vl = { 0 };
	struct dpak_item l2i[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_ETH, &d, &dm },
				   { DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_queue q = { 0 };
	struct dpak_action qc[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_QUEUE, &q },
				    { DPAK_ACTION_END, NULL } };
	struct dpak_action qa[] = { { DPAK_ACTION_QUEUE, &q }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow *fl;
	expect(dpak_flow_add(dpak_table_get(d2, "l2"), l2i, qc, NULL, &fl), ENOTSUP,
	       "action 1 (queue): cannot be combined with other actions");
	assert_int_equal(dpak_flow_add(dpak_table_get(d2, "l2"), l2i, qa, NULL, &fl), 0);
	dpak_dev_close(d2);
}

static void test_open_errors(void **state)
{
	(void)state;
	errno = 0;
	assert_null(dpak_dev_open("nope:", NULL));
	assert_int_equal(errno, ENODEV);
	assert_non_null(strstr(dpak_errmsg(), "no backend 'nope'"));
	assert_null(dpak_dev_open("xdp:eth0", NULL));
	assert_int_equal(errno, ENODEV);
	assert_non_null(strstr(dpak_errmsg(), "backend xdp is not built"));
	assert_null(dpak_dev_open("pci:0000:03:00.0", NULL));
	assert_int_equal(errno, ENODEV);
	assert_null(dpak_dev_open("hwsim:vfs=x", NULL));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(dpak_errmsg(), "vfs=x: not a number"));
	assert_null(dpak_dev_open("hwsim:uplinks=60,vfs=10", NULL));
	assert_non_null(strstr(dpak_errmsg(), "71 ports in all; 1 to 64 allowed"));
	assert_null(dpak_dev_open("hwsim:colour=blue", NULL));
	assert_non_null(strstr(dpak_errmsg(), "hwsim argument 'colour' unknown"));
	assert_null(dpak_dev_open("hwsim:ring=100", NULL));
	assert_non_null(strstr(dpak_errmsg(), "ring=100: a power of two"));
	/* An argument given twice, or an empty one, is refused (never "the
	 * last one wins" in silence). */
	assert_null(dpak_dev_open("hwsim:uplinks=2,uplinks=3", NULL));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(dpak_errmsg(), "hwsim argument uplinks= given twice"));
	assert_null(dpak_dev_open("hwsim:engine=thread,engine=step", NULL));
	assert_non_null(strstr(dpak_errmsg(), "engine= given twice"));
	assert_null(dpak_dev_open("hwsim:vfs=2,", NULL));
	assert_non_null(strstr(dpak_errmsg(), "a comma too many"));
	assert_null(dpak_dev_open("hwsim:vfs=2,,pfs=1", NULL));
	assert_non_null(strstr(dpak_errmsg(), "a comma too many"));
	assert_null(dpak_dev_open(NULL, NULL));
	assert_int_equal(errno, EINVAL);

	DPAK_OPTS(dpak_dev_opts, bad, .configinfo_text = "table name=x type=exact\n");
	assert_null(dpak_dev_open(test_devspec(""), &bad));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(dpak_errmsg(), "configinfo_text:1: table: 'capacity' missing"));
	DPAK_OPTS(dpak_dev_opts, missing, .configinfo = "/nonexistent/x.conf");
	assert_null(dpak_dev_open(test_devspec(""), &missing));
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(dpak_errmsg(), "/nonexistent/x.conf"));
}

static void test_ports_and_info(void **state)
{
	(void)state;
	const char *spec = test_devspec("uplinks=1,pfs=0,vfs=3");
	struct dpak_dev *d2 = dpak_dev_open(spec, NULL);
	struct dpak_dev_info di = { .sz = sizeof(di) };
	struct dpak_port_info pi = { .sz = sizeof(pi) };

	assert_non_null(d2);
	assert_int_equal(dpak_dev_info(d2, &di), 0);
	assert_string_equal(di.backend, test_backend());
	assert_string_equal(di.devspec, spec);
	if (!test_backend_is_pci())
		assert_string_equal(di.devspec, "hwsim:uplinks=1,pfs=0,vfs=3");
	assert_int_equal(di.n_ports, 4);
	assert_true(di.item_types & (1ull << DPAK_ITEM_VXLAN));
	assert_true(di.action_types & (1ull << DPAK_ACTION_VXLAN_ENCAP));
	assert_true(di.table_types & (1u << DPAK_TABLE_LPM));
	assert_int_equal(dpak_port_info(d2, 0, &pi), 0);
	assert_int_equal(pi.type, DPAK_PORT_UPLINK);
	assert_string_equal(pi.name, "uplink0");
	assert_int_equal(pi.link_up, 1);
	assert_int_equal(pi.mtu, 1500);
	assert_int_equal(dpak_port_info(d2, 3, &pi), 0);
	assert_int_equal(pi.type, DPAK_PORT_VF);
	assert_string_equal(pi.name, "vf2");
	assert_int_equal(pi.mac[0] & 1, 0); /* unicast */
	assert_int_equal(pi.mac[0] & 2, 2); /* locally administered */
	assert_int_equal(dpak_port_by_name(d2, "vf2"), 3);
	expect(dpak_port_by_name(d2, "vf9"), ENOENT, "no port named 'vf9'");
	expect(dpak_port_info(d2, 4, &pi), ENOENT, "port 4 does not exist (device has 4 ports)");
	struct dpak_port_info nosz = { 0 };
	expect(dpak_port_info(d2, 0, &nosz), EINVAL, "set sz");
	/* An older caller's shorter struct is filled only up to its size. */
	struct { struct dpak_dev_info i; uint64_t guard; } small;
	memset(&small, 0xab, sizeof(small));
	small.i.sz = offsetof(struct dpak_dev_info, n_ports);
	assert_int_equal(dpak_dev_info(d2, &small.i), 0);
	assert_string_equal(small.i.backend, test_backend());
	assert_int_equal(small.i.n_ports, 0xabababab);
	assert_null(dpak_table_get(d2, "nosuch"));
	assert_int_equal(errno, ENOENT);
	assert_null(dpak_table_at(d2, 99));
	assert_int_equal(errno, ENOENT);
	assert_string_equal(dpak_field_name(DPAK_FIELD_VXLAN_VNI), "vxlan_vni");
	assert_null(dpak_field_name(DPAK_FIELD_MAX));
	assert_string_equal(dpak_version(), DPAK_VERSION);
	assert_non_null(strstr(dpak_strerror(-ENOSPC), "space"));
	dpak_dev_close(d2);
}

/* Flows of one shape are packed by a learned program after the first: the
 * checks that depend on values must still run, and a change of mask at the
 * same address must be seen. */
static void test_shape_reuse_keeps_checks(void **state)
{
	(void)state;
	struct dpak_item_port in = { VF0 };
	struct dpak_item_ipv4 ip = { .src = htonl(0x0a000001) };
	struct dpak_item_ipv4 ipm = { .src = 0xffffffff };
	struct dpak_item items[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_IPV4, &ip, &ipm },
				     { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_flow *fl;

	assert_int_equal(dpak_flow_validate(T("acl"), items, FWD, NULL), 0);
	in.id = 99; /* same shape, bad value */
	expect(dpak_flow_validate(T("acl"), items, FWD, NULL), ERANGE,
	       "item 0 (port): port 99 does not exist");
	in.id = VF0;
	ipm.ttl = 0xff; /* same address, new mask: a field acl cannot match */
	expect(dpak_flow_validate(T("acl"), items, FWD, NULL), ENOTSUP,
	       "mask on ip_ttl not supported by table acl");
	ipm.ttl = 0;
	assert_int_equal(dpak_flow_validate(T("acl"), items, FWD, NULL), 0);

	/* An explicit eth type next to an ipv4 item overlaps what ipv4
	 * implies: every flow of that shape gets the full check. */
	struct dpak_item_eth e = { .type = htons(0x0800) }, em = { .type = 0xffff };
	struct dpak_item ov[] = { { DPAK_ITEM_ETH, &e, &em }, { DPAK_ITEM_IPV4, &ip, &ipm },
				  { DPAK_ITEM_END, NULL, NULL } };
	assert_int_equal(dpak_flow_validate(T("acl"), ov, FWD, NULL), 0);
	e.type = htons(0x86dd);
	expect(dpak_flow_validate(T("acl"), ov, FWD, NULL), EINVAL, "implies eth_type 0x800");

	/* Packed the same either way: two flows of one shape forward right. */
	assert_int_equal(dpak_flow_add(T("acl"), items, FWD, NULL, &fl), 0);
	ip.src = htonl(0x0a000009);
	struct dpak_action_port p1 = { UP1 };
	struct dpak_action fwd1[] = { { DPAK_ACTION_PORT, &p1 }, { DPAK_ACTION_END, NULL } };
	assert_int_equal(dpak_flow_add(T("acl"), items, fwd1, NULL, &fl), 0);
	uint8_t frame[128], out[256];
	struct pkt_spec sp = { .sip = 0x0a000009, .dip = 2, .proto = 17, .payload = 4 };
	size_t len = pkt_build(frame, &sp);
	assert_int_equal(dpak_hwsim_inject(dev, VF0, frame, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	assert_int_equal(dpak_hwsim_capture(dev, UP1, out, sizeof(out)), (ssize_t)len);
	assert_int_equal(dpak_table_flush(T("acl")), 2);
}

static int logged;
static void log_cb(enum dpak_log_level l, const char *msg, void *ctx)
{
	(void)l;
	(void)msg;
	*(int *)ctx += 1;
}

static void test_logging(void **state)
{
	(void)state;
	expect(dpak_log_set_level((enum dpak_log_level)9), EINVAL, "log level 9 unknown");
	dpak_log_set_fn(log_cb, &logged);
	assert_int_equal(dpak_log_set_level(DPAK_LOG_DEBUG), 0);
	assert_int_equal(dpak_log_get_level(), DPAK_LOG_DEBUG);
	logged = 0;
	assert_null(dpak_dev_open("nope:", NULL)); /* errors are logged at debug */
	assert_true(logged > 0);
	assert_int_equal(dpak_log_set_level(DPAK_LOG_ERR), 0);
	logged = 0;
	assert_null(dpak_dev_open("nope:", NULL));
	assert_int_equal(logged, 0);
	dpak_log_set_fn(NULL, NULL);
	assert_int_equal(dpak_log_set_level(DPAK_LOG_WARN), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_items, setup, teardown),
		cmocka_unit_test_setup_teardown(test_actions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_priorities_and_opts, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shape_reuse_keeps_checks, setup, teardown),
		cmocka_unit_test(test_table_declared_actions),
		cmocka_unit_test(test_implied_protocol),
		cmocka_unit_test(test_exclusive_queue_on_hw1),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_ports_and_info),
		cmocka_unit_test(test_logging),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
