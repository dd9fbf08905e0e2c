/* SPDX-License-Identifier: MIT */
/*
 * Behaviour suite: flows added through the public API, real frames injected
 * into hwsim, and exactly what leaves which port checked byte for byte,
 * with counters. Linked against libdpak.so as a user would.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <pthread.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <dpak/dpak.h>
#include "devspec.h"
#include "pkt.h"

/* Ports of "hwsim:" (default): uplink0 uplink1 pf0 vf0 vf1 vf2 vf3 */
enum { UP0, UP1, PF0, VF0, VF1, VF2, VF3, N_PORTS };
/* Tables of the default configinfo. */
enum { T_ACL, T_ACL6, T_TUNNEL, T_CONN, T_L2, T_ROUTE };

static const uint8_t MAC_A[6] = { 0x02, 0, 0, 0, 0, 0xa };
static const uint8_t MAC_B[6] = { 0x02, 0, 0, 0, 0, 0xb };
static const uint8_t MAC_C[6] = { 0x02, 0, 0, 0, 0, 0xc };
static const uint8_t ONES6[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

struct fx {
	struct dpak_dev *dev;
	uint8_t frame[2048];
	size_t len;
	uint8_t out[4096];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	f->dev = dpak_dev_open(test_devspec(""), NULL);
	if (!f->dev) {
		fprintf(stderr, "open: %s\n", dpak_errmsg());
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	dpak_dev_close(f->dev);
	free(f);
	return 0;
}

static struct dpak_table *table(struct fx *f, uint32_t i)
{
	struct dpak_table *t = dpak_table_at(f->dev, i);
	assert_non_null(t);
	return t;
}

static uint32_t in_use(struct dpak_table *t)
{
	struct dpak_table_info ti = { .sz = sizeof(ti) };
	assert_int_equal(dpak_table_info(t, &ti), 0);
	return ti.in_use;
}

/* A UDP/IPv4 frame from MAC_A to @dst. */
static size_t udp_frame(uint8_t *b, const uint8_t *dst, uint16_t dport,
			uint16_t vlan)
{
	struct pkt_spec s = { .vlan = vlan, .sip = 0x0a000001, .dip = 0x0a000002,
			      .proto = 17, .sport = 1000, .dport = dport,
			      .payload = 64 };
	memcpy(s.dst, dst, 6);
	memcpy(s.src, MAC_A, 6);
	return pkt_build(b, &s);
}

static void inject_run(struct fx *f, uint32_t port, const uint8_t *p, size_t n)
{
	assert_int_equal(dpak_hwsim_inject(f->dev, port, p, n), 0);
	assert_int_equal(dpak_hwsim_run(f->dev, 0), 1);
}

/* Nothing left any port. */
static void assert_no_output(struct fx *f)
{
	for (uint32_t p = 0; p < N_PORTS; p++)
		assert_int_equal(dpak_hwsim_capture(f->dev, p, f->out, sizeof(f->out)),
				 -EAGAIN);
}

static ssize_t capture(struct fx *f, uint32_t port)
{
	ssize_t n = dpak_hwsim_capture(f->dev, port, f->out, sizeof(f->out));
	assert_true(n > 0);
	return n;
}

/* What a flow operation the device failed with EIO says (pci: the status
 * INTERNAL of docs/device-interface.md 9). */
#define REFUSED_EIO test_backend_text("hwsim refused the flow", \
				      "internal device error (status INTERNAL")

static void assert_err(int rc, int err, const char *needle)
{
	assert_int_equal(rc, -err);
	if (!strstr(dpak_errmsg(), needle)) {
		fprintf(stderr, "message \"%s\" lacks \"%s\"\n", dpak_errmsg(), needle);
		fail();
	}
}

/* l2 flow: in_port + eth dst (+ vlan tci 0) → actions. */
static int l2_add(struct fx *f, uint32_t in, const uint8_t *dst,
		  const struct dpak_action *acts, struct dpak_flow **fl)
{
	struct dpak_item_port port = { in };
	struct dpak_item_eth eth = { 0 }, eth_m = { 0 };
	struct dpak_item_vlan vl = { 0 }, vl_m = { .tci = 0xffff };
	memcpy(eth.dst, dst, 6);
	memcpy(eth_m.dst, ONES6, 6);
	struct dpak_item items[] = {
		{ DPAK_ITEM_PORT, &port, NULL },
		{ DPAK_ITEM_ETH, &eth, &eth_m },
		{ DPAK_ITEM_VLAN, &vl, &vl_m },
		{ DPAK_ITEM_END, NULL, NULL },
	};
	return dpak_flow_add(table(f, T_L2), items, acts, NULL, fl);
}

/* Same, with only port + eth items: a VLAN-less match. */
static int l2_add_novlan(struct fx *f, uint32_t in, const uint8_t *dst,
			 uint16_t vlan, const struct dpak_action *acts,
			 struct dpak_flow **fl)
{
	struct dpak_item_port port = { in };
	struct dpak_item_eth eth = { 0 }, eth_m = { 0 };
	struct dpak_item_vlan vl = { htons(vlan), 0 }, vl_m = { .tci = 0xffff };
	memcpy(eth.dst, dst, 6);
	memcpy(eth_m.dst, ONES6, 6);
	struct dpak_item items[] = {
		{ DPAK_ITEM_PORT, &port, NULL },
		{ DPAK_ITEM_ETH, &eth, &eth_m },
		{ DPAK_ITEM_VLAN, &vl, &vl_m },
		{ DPAK_ITEM_END, NULL, NULL },
	};
	return dpak_flow_add(table(f, T_L2), items, acts, NULL, fl);
}

static void test_forward_and_count(void **state)
{
	struct fx *f = *state;
	struct dpak_action_port out = { UP0 };
	struct dpak_action acts[] = {
		{ DPAK_ACTION_COUNT, NULL },
		{ DPAK_ACTION_PORT, &out },
		{ DPAK_ACTION_END, NULL },
	};
	struct dpak_flow *fl;

	assert_int_equal(l2_add(f, VF0, MAC_B, acts, &fl), 0);
	assert_int_equal(in_use(table(f, T_L2)), 1);
	f->len = udp_frame(f->frame, MAC_B, 53, 0);
	for (int i = 0; i < 3; i++) {
		inject_run(f, VF0, f->frame, f->len);
		assert_int_equal(capture(f, UP0), (ssize_t)f->len);
		assert_memory_equal(f->out, f->frame, f->len);
	}
	assert_no_output(f);

	struct dpak_flow_stats st = { .sz = sizeof(st) };
	assert_int_equal(dpak_flow_query(fl, &st), 0);
	assert_int_equal(st.packets, 3);
	assert_int_equal(st.bytes, 3 * f->len);
	assert_true(st.last_hit_ns > 0);

	struct dpak_port_stats ps = { .sz = sizeof(ps) };
	assert_int_equal(dpak_port_stats(f->dev, VF0, &ps), 0);
	assert_int_equal(ps.rx_packets, 3);
	assert_int_equal(ps.rx_misses, 0);
	assert_int_equal(dpak_port_stats(f->dev, UP0, &ps), 0);
	assert_int_equal(ps.tx_packets, 3);
	assert_int_equal(ps.tx_bytes, 3 * f->len);

	/* The same destination from another port is another flow: a miss. */
	inject_run(f, VF1, f->frame, f->len);
	assert_no_output(f);
	assert_int_equal(dpak_port_stats(f->dev, VF1, &ps), 0);
	assert_int_equal(ps.rx_misses, 1);
	assert_int_equal(dpak_flow_query(fl, &st), 0);
	assert_int_equal(st.packets, 3);
}

static void test_drop(void **state)
{
	struct fx *f = *state;
	struct dpak_action acts[] = {
		{ DPAK_ACTION_COUNT, NULL },
		{ DPAK_ACTION_DROP, NULL },
		{ DPAK_ACTION_END, NULL },
	};
	struct dpak_flow *fl;
	struct dpak_flow_stats st = { .sz = sizeof(st) };
	struct dpak_port_stats ps = { .sz = sizeof(ps) };

	assert_int_equal(l2_add(f, VF0, MAC_B, acts, &fl), 0);
	f->len = udp_frame(f->frame, MAC_B, 53, 0);
	inject_run(f, VF0, f->frame, f->len);
	assert_no_output(f);
	assert_int_equal(dpak_flow_query(fl, &st), 0);
	assert_int_equal(st.packets, 1);
	assert_int_equal(dpak_port_stats(f->dev, VF0, &ps), 0);
	assert_int_equal(ps.drops, 1);
	assert_int_equal(ps.rx_misses, 0);
}

static void test_query_needs_count(void **state)
{
	struct fx *f = *state;
	struct dpak_action_port out = { UP0 };
	struct dpak_action acts[] = { { DPAK_ACTION_PORT, &out }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow *fl;
	struct dpak_flow_stats st = { .sz = sizeof(st) };

	assert_int_equal(l2_add(f, VF0, MAC_B, acts, &fl), 0);
	assert_err(dpak_flow_query(fl, &st), ENOTSUP, "no count action");
}

static void test_vlan_push_pop(void **state)
{
	struct fx *f = *state;
	struct dpak_action_vlan_push push = { 0, htons(100) };
	struct dpak_action_port up = { UP0 }, vf = { VF1 };
	struct dpak_action a_push[] = {
		{ DPAK_ACTION_VLAN_PUSH, &push }, { DPAK_ACTION_PORT, &up },
		{ DPAK_ACTION_END, NULL },
	};
	struct dpak_action a_pop[] = {
		{ DPAK_ACTION_VLAN_POP, NULL }, { DPAK_ACTION_PORT, &vf },
		{ DPAK_ACTION_END, NULL },
	};
	struct dpak_flow *fl;
	uint8_t tagged[2048];
	size_t tlen;

	assert_int_equal(l2_add(f, VF0, MAC_B, a_push, &fl), 0);
	assert_int_equal(l2_add_novlan(f, UP0, MAC_C, 100, a_pop, &fl), 0);

	f->len = udp_frame(f->frame, MAC_B, 53, 0);
	inject_run(f, VF0, f->frame, f->len);
	assert_int_equal(capture(f, UP0), (ssize_t)f->len + 4);
	assert_memory_equal(f->out, f->frame, 12);
	assert_int_equal(pkt_rd16(f->out + 12), 0x8100);
	assert_int_equal(pkt_rd16(f->out + 14), 100);
	assert_memory_equal(f->out + 16, f->frame + 12, f->len - 12);

	tlen = udp_frame(tagged, MAC_C, 53, 100);
	f->len = udp_frame(f->frame, MAC_C, 53, 0);
	inject_run(f, UP0, tagged, tlen);
	assert_int_equal(capture(f, VF1), (ssize_t)f->len);
	assert_memory_equal(f->out, f->frame, f->len);
}

static void test_set_fields_keep_checksums(void **state)
{
	struct fx *f = *state;
	struct dpak_item_ipv4 ip = { .src = htonl(0x0a000001) };
	struct dpak_item_ipv4 ip_m = { .src = 0xffffffff };
	struct dpak_item_tcp tcp = { .dst_port = htons(80) };
	struct dpak_item_tcp tcp_m = { .dst_port = 0xffff };
	struct dpak_item items[] = {
		{ DPAK_ITEM_ETH, NULL, NULL },
		{ DPAK_ITEM_IPV4, &ip, &ip_m },
		{ DPAK_ITEM_TCP, &tcp, &tcp_m },
		{ DPAK_ITEM_END, NULL, NULL },
	};
	struct dpak_action_set_mac smac = { { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 } };
	struct dpak_action_set_ipv4 nsrc = { htonl(0xc0a80101) }, ndst = { htonl(0xc0a80202) };
	struct dpak_action_set_tp nport = { htons(8080) }, sport = { htons(4444) };
	struct dpak_action_port out = { UP1 };
	struct dpak_action acts[] = {
		{ DPAK_ACTION_SET_ETH_SRC, &smac }, { DPAK_ACTION_SET_IPV4_SRC, &nsrc },
		{ DPAK_ACTION_SET_IPV4_DST, &ndst }, { DPAK_ACTION_SET_TP_DST, &nport },
		{ DPAK_ACTION_SET_TP_SRC, &sport }, { DPAK_ACTION_DEC_TTL, NULL },
		{ DPAK_ACTION_PORT, &out }, { DPAK_ACTION_END, NULL },
	};
	struct dpak_flow *fl;
	struct pkt_spec s = { .sip = 0x0a000001, .dip = 0x0a000002, .proto = 6,
			      .sport = 1234, .dport = 80, .tcp_flags = 0x18,
			      .payload = 100, .ttl = 20 };
	memcpy(s.dst, MAC_B, 6);
	memcpy(s.src, MAC_A, 6);

	assert_int_equal(dpak_flow_add(table(f, T_ACL), items, acts, NULL, &fl), 0);
	f->len = pkt_build(f->frame, &s);
	assert_true(pkt_l4_csum_ok(f->frame + 14));
	inject_run(f, VF2, f->frame, f->len);
	assert_int_equal(capture(f, UP1), (ssize_t)f->len);
	const uint8_t *ipo = f->out + 14, *tcpo = ipo + 20;
	assert_memory_equal(f->out + 6, smac.mac, 6);
	assert_int_equal(pkt_rd32(ipo + 12), 0xc0a80101);
	assert_int_equal(pkt_rd32(ipo + 16), 0xc0a80202);
	assert_int_equal(ipo[8], 19);
	assert_int_equal(pkt_rd16(tcpo), 4444);
	assert_int_equal(pkt_rd16(tcpo + 2), 8080);
	assert_true(pkt_ipv4_csum_ok(ipo));
	assert_true(pkt_l4_csum_ok(ipo));
	assert_memory_equal(tcpo + 20, f->frame + 14 + 40, 100);

	/* UDP too (checksum present). */
	struct dpak_item_udp udp = { .dst_port = htons(5000) }, udp_m = { .dst_port = 0xffff };
	struct dpak_item items2[] = {
		{ DPAK_ITEM_IPV4, NULL, NULL }, { DPAK_ITEM_UDP, &udp, &udp_m },
		{ DPAK_ITEM_END, NULL, NULL },
	};
	struct dpak_action acts2[] = {
		{ DPAK_ACTION_SET_IPV4_DST, &ndst }, { DPAK_ACTION_SET_TP_SRC, &sport },
		{ DPAK_ACTION_PORT, &out }, { DPAK_ACTION_END, NULL },
	};
	assert_int_equal(dpak_flow_add(table(f, T_ACL), items2, acts2, NULL, &fl), 0);
	s.proto = 17;
	s.dport = 5000;
	f->len = pkt_build(f->frame, &s);
	inject_run(f, VF2, f->frame, f->len);
	assert_int_equal(capture(f, UP1), (ssize_t)f->len);
	assert_int_equal(pkt_rd32(f->out + 14 + 16), 0xc0a80202);
	assert_true(pkt_ipv4_csum_ok(f->out + 14));
	assert_true(pkt_l4_csum_ok(f->out + 14));
	assert_int_not_equal(pkt_rd16(f->out + 14 + 20 + 6), 0);
}

static void test_ttl_expiry_goes_to_host(void **state)
{
	struct fx *f = *state;
	struct dpak_item items[] = {
		{ DPAK_ITEM_IPV4, NULL, NULL }, { DPAK_ITEM_END, NULL, NULL },
	};
	struct dpak_action_port out = { UP1 };
	struct dpak_action acts[] = {
		{ DPAK_ACTION_DEC_TTL, NULL }, { DPAK_ACTION_PORT, &out },
		{ DPAK_ACTION_END, NULL },
	};
	struct dpak_flow *fl;
	struct pkt_spec s = { .sip = 1, .dip = 2, .proto = 17, .ttl = 1, .payload = 10 };

	assert_int_equal(dpak_flow_add(table(f, T_ACL), items, acts, NULL, &fl), 0);
	f->len = pkt_build(f->frame, &s);
	inject_run(f, VF0, f->frame, f->len);
	assert_no_output(f);
	s.ttl = 2;
	f->len = pkt_build(f->frame, &s);
	inject_run(f, VF0, f->frame, f->len);
	assert_int_equal(capture(f, UP1), (ssize_t)f->len);
	assert_int_equal(f->out[14 + 8], 1);
}

static void encap_conf(struct dpak_action_vxlan_encap *e, uint16_t sport)
{
	memset(e, 0, sizeof(*e));
	memcpy(e->eth_dst, MAC_C, 6);
	memcpy(e->eth_src, MAC_B, 6);
	e->ipv4_src = htonl(0xc0000201);
	e->ipv4_dst = htonl(0xc0000202);
	e->udp_src = htons(sport);
	e->vni = 5000;
}

/* An exact table needs every key field: tunnel's key includes vxlan_vni,
 * which a flow without a vxlan item does not match. */
static void test_exact_needs_every_field(void **state)
{
	struct fx *f = *state;
	struct dpak_item_port in = { UP0 };
	struct dpak_item_ipv4 ip = { .dst = htonl(0x0a000002) }, ip_m = { .dst = 0xffffffff };
	struct dpak_item_udp udp = { .dst_port = htons(4789) }, udp_m = { .dst_port = 0xffff };
	struct dpak_item items[] = {
		{ DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_ETH, NULL, NULL },
		{ DPAK_ITEM_IPV4, &ip, &ip_m }, { DPAK_ITEM_UDP, &udp, &udp_m },
		{ DPAK_ITEM_END, NULL, NULL },
	};
	struct dpak_action_port out = { UP0 };
	struct dpak_action acts[] = { { DPAK_ACTION_PORT, &out }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow *fl;

	assert_err(dpak_flow_add(table(f, T_TUNNEL), items, acts, NULL, &fl),
		   ENOTSUP, "table tunnel is exact-match: field vxlan_vni must be "
		   "matched in full");
	assert_int_equal(in_use(table(f, T_TUNNEL)), 0);
}

/* A configinfo of one table, for the encapsulation test. */
static const char *ENCAP_CFG =
	"table name=conn type=exact capacity=1024 key=in_port,eth_type,ip_proto,"
	"ipv4_src,ipv4_dst,l4_src,l4_dst\n";

static void test_vxlan_encap_headers(void **state)
{
	(void)state;
	DPAK_OPTS(dpak_dev_opts, o, .configinfo_text = ENCAP_CFG);
	struct dpak_dev *dev = dpak_dev_open(test_devspec(""), &o);
	assert_non_null(dev);
	struct dpak_item_port in = { VF0 };
	struct dpak_item_ipv4 ip = { .src = htonl(0x0a000001), .dst = htonl(0x0a000002) };
	struct dpak_item_udp udp = { .src_port = htons(1000), .dst_port = htons(53) };
	struct dpak_item items[] = {
		{ DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_IPV4, &ip, NULL },
		{ DPAK_ITEM_UDP, &udp, NULL }, { DPAK_ITEM_END, NULL, NULL },
	};
	struct dpak_action_vxlan_encap e;
	struct dpak_action_port out = { UP0 };
	struct dpak_action acts[] = {
		{ DPAK_ACTION_VXLAN_ENCAP, &e }, { DPAK_ACTION_COUNT, NULL },
		{ DPAK_ACTION_PORT, &out }, { DPAK_ACTION_END, NULL },
	};
	struct dpak_flow *fl;
	uint8_t frame[2048], outb[4096];
	size_t len;
	uint16_t sport1;

	encap_conf(&e, 0);
	assert_int_equal(dpak_flow_add(dpak_table_at(dev, 0), items, acts, NULL, &fl), 0);
	len = udp_frame(frame, MAC_B, 53, 0);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(dpak_hwsim_inject(dev, VF0, frame, len), 0);
		assert_int_equal(dpak_hwsim_run(dev, 0), 1);
		ssize_t n = dpak_hwsim_capture(dev, UP0, outb, sizeof(outb));
		assert_int_equal(n, (ssize_t)len + 50);
		const uint8_t *oip = outb + 14, *oudp = oip + 20, *ovx = oudp + 8;
		assert_memory_equal(outb, MAC_C, 6);
		assert_memory_equal(outb + 6, MAC_B, 6);
		assert_int_equal(pkt_rd16(outb + 12), 0x0800);
		assert_int_equal(oip[0], 0x45);
		assert_int_equal(pkt_rd16(oip + 2), 20 + 8 + 8 + len);
		assert_int_equal(oip[8], 64);
		assert_int_equal(oip[9], 17);
		assert_int_equal(pkt_rd32(oip + 12), 0xc0000201);
		assert_int_equal(pkt_rd32(oip + 16), 0xc0000202);
		assert_true(pkt_ipv4_csum_ok(oip));
		uint16_t sp = pkt_rd16(oudp);
		assert_true(sp >= 49152);
		if (round == 0)
			sport1 = sp;
		else
			assert_int_equal(sp, sport1); /* stable for the flow */
		assert_int_equal(pkt_rd16(oudp + 2), 4789);
		assert_int_equal(pkt_rd16(oudp + 4), 8 + 8 + len);
		assert_int_equal(pkt_rd16(oudp + 6), 0);
		assert_int_equal(ovx[0], 0x08);
		assert_int_equal((ovx[4] << 16) | (ovx[5] << 8) | ovx[6], 5000);
		assert_memory_equal(ovx + 8, frame, len); /* inner frame intact */
	}
	struct dpak_flow_stats st = { .sz = sizeof(st) };
	assert_int_equal(dpak_flow_query(fl, &st), 0);
	assert_int_equal(st.packets, 2);
	assert_int_equal(st.bytes, 2 * len);

	/* A fixed source port is used as given. */
	struct dpak_action_vxlan_encap e2;
	encap_conf(&e2, 7777);
	struct dpak_action acts2[] = {
		{ DPAK_ACTION_VXLAN_ENCAP, &e2 }, { DPAK_ACTION_COUNT, NULL },
		{ DPAK_ACTION_PORT, &out }, { DPAK_ACTION_END, NULL },
	};
	assert_int_equal(dpak_flow_replace_actions(fl, acts2), 0);
	assert_int_equal(dpak_hwsim_inject(dev, VF0, frame, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	assert_int_equal(dpak_hwsim_capture(dev, UP0, outb, sizeof(outb)), (ssize_t)len + 50);
	assert_int_equal(pkt_rd16(outb + 34), 7777);
	dpak_dev_close(dev);
}

static void test_vxlan_decap_then_l2(void **state)
{
	struct fx *f = *state;
	struct dpak_item_port in = { UP0 };
	struct dpak_item_vxlan vx = { .vni = { 0, 0x13, 0x88 } }; /* 5000 */
	struct dpak_item items[] = {
		{ DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_ETH, NULL, NULL },
		{ DPAK_ITEM_IPV4, NULL, NULL }, { DPAK_ITEM_UDP, NULL, NULL },
		{ DPAK_ITEM_VXLAN, &vx, NULL }, { DPAK_ITEM_END, NULL, NULL },
	};
	struct dpak_action_jump j = { T_L2 };
	struct dpak_action acts[] = {
		{ DPAK_ACTION_VXLAN_DECAP, NULL }, { DPAK_ACTION_JUMP, &j },
		{ DPAK_ACTION_END, NULL },
	};
	struct dpak_action_port vf = { VF2 };
	struct dpak_action l2acts[] = { { DPAK_ACTION_PORT, &vf }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow *fl;
	uint8_t inner[2048];
	size_t ilen;

	assert_int_equal(dpak_flow_add(table(f, T_ACL), items, acts, NULL, &fl), 0);
	assert_int_equal(l2_add(f, UP0, MAC_C, l2acts, &fl), 0);
	ilen = udp_frame(inner, MAC_C, 80, 0);
	f->len = pkt_vxlan(f->frame, MAC_B, MAC_A, 0xc0000202, 0xc0000201, 5000,
			   inner, ilen);
	inject_run(f, UP0, f->frame, f->len);
	assert_int_equal(capture(f, VF2), (ssize_t)ilen);
	assert_memory_equal(f->out, inner, ilen);

	/* Another VNI does not match the decap rule: a miss. */
	f->len = pkt_vxlan(f->frame, MAC_B, MAC_A, 0xc0000202, 0xc0000201, 5001,
			   inner, ilen);
	inject_run(f, UP0, f->frame, f->len);
	assert_no_output(f);
}

static void test_wildcard_priority(void **state)
{
	struct fx *f = *state;
	struct dpak_item_port in = { VF0 };
	struct dpak_item_udp dns = { .dst_port = htons(53) };
	struct dpak_item_udp dns_m = { .dst_port = 0xffff };
	struct dpak_item all_udp[] = {
		{ DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_IPV4, NULL, NULL },
		{ DPAK_ITEM_UDP, NULL, NULL }, { DPAK_ITEM_END, NULL, NULL },
	};
	struct dpak_item dns_only[] = {
		{ DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_IPV4, NULL, NULL },
		{ DPAK_ITEM_UDP, &dns, &dns_m }, { DPAK_ITEM_END, NULL, NULL },
	};
	struct dpak_action_port out = { UP1 };
	struct dpak_action fwd[] = { { DPAK_ACTION_PORT, &out }, { DPAK_ACTION_END, NULL } };
	struct dpak_action drop[] = { { DPAK_ACTION_DROP, NULL }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow *a, *b;
	DPAK_OPTS(dpak_flow_opts, lo, .priority = 5);
	DPAK_OPTS(dpak_flow_opts, hi, .priority = 1);

	assert_int_equal(dpak_flow_add(table(f, T_ACL), all_udp, drop, &lo, &a), 0);
	assert_int_equal(dpak_flow_add(table(f, T_ACL), dns_only, fwd, &hi, &b), 0);
	f->len = udp_frame(f->frame, MAC_B, 53, 0);
	inject_run(f, VF0, f->frame, f->len);
	assert_int_equal(capture(f, UP1), (ssize_t)f->len);
	f->len = udp_frame(f->frame, MAC_B, 54, 0);
	inject_run(f, VF0, f->frame, f->len);
	assert_no_output(f);

	/* Swap the priorities: the drop-all rule now wins for port 53 too. */
	assert_int_equal(dpak_flow_del(b), 0);
	DPAK_OPTS(dpak_flow_opts, lower, .priority = 9);
	assert_int_equal(dpak_flow_add(table(f, T_ACL), dns_only, fwd, &lower, &b), 0);
	f->len = udp_frame(f->frame, MAC_B, 53, 0);
	inject_run(f, VF0, f->frame, f->len);
	assert_no_output(f);
}

static void test_lpm_routes(void **state)
{
	struct fx *f = *state;
	struct dpak_item_ipv4 r8 = { .dst = htonl(0x0a000000) }, m8 = { .dst = htonl(0xff000000) };
	struct dpak_item_ipv4 r16 = { .dst = htonl(0x0a010000) }, m16 = { .dst = htonl(0xffff0000) };
	struct dpak_item i8[] = { { DPAK_ITEM_IPV4, &r8, &m8 }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_item i16[] = { { DPAK_ITEM_IPV4, &r16, &m16 }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port pa = { UP0 }, pb = { UP1 };
	struct dpak_action aa[] = { { DPAK_ACTION_PORT, &pa }, { DPAK_ACTION_END, NULL } };
	struct dpak_action ab[] = { { DPAK_ACTION_PORT, &pb }, { DPAK_ACTION_END, NULL } };
	struct dpak_action_jump j = { T_ROUTE };
	struct dpak_action jmp[] = { { DPAK_ACTION_DEC_TTL, NULL }, { DPAK_ACTION_JUMP, &j },
				     { DPAK_ACTION_END, NULL } };
	struct dpak_item_port in = { VF3 };
	struct dpak_item acl[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_IPV4, NULL, NULL },
				   { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_flow *fl;
	struct pkt_spec s = { .sip = 0x0b000001, .proto = 17, .payload = 8 };
	memcpy(s.dst, MAC_B, 6);

	/* /16 added first, /8 after: longest prefix must win either way. */
	assert_int_equal(dpak_flow_add(table(f, T_ROUTE), i16, ab, NULL, &fl), 0);
	assert_int_equal(dpak_flow_add(table(f, T_ROUTE), i8, aa, NULL, &fl), 0);
	assert_int_equal(dpak_flow_add(table(f, T_ACL), acl, jmp, NULL, &fl), 0);
	s.dip = 0x0a010203;
	f->len = pkt_build(f->frame, &s);
	inject_run(f, VF3, f->frame, f->len);
	assert_int_equal(capture(f, UP1), (ssize_t)f->len);
	assert_int_equal(f->out[14 + 8], 63); /* dec_ttl before the jump */
	assert_true(pkt_ipv4_csum_ok(f->out + 14));
	s.dip = 0x0a020001;
	f->len = pkt_build(f->frame, &s);
	inject_run(f, VF3, f->frame, f->len);
	assert_int_equal(capture(f, UP0), (ssize_t)f->len);
	s.dip = 0x0b000001; /* no route: miss in route table */
	f->len = pkt_build(f->frame, &s);
	inject_run(f, VF3, f->frame, f->len);
	assert_no_output(f);

	/* A non-prefix mask is refused. */
	struct dpak_item_ipv4 bad = { .dst = htonl(0x0a000000) }, badm = { .dst = htonl(0xff00ff00) };
	struct dpak_item ib[] = { { DPAK_ITEM_IPV4, &bad, &badm }, { DPAK_ITEM_END, NULL, NULL } };
	assert_err(dpak_flow_add(table(f, T_ROUTE), ib, aa, NULL, &fl), ENOTSUP,
		   "mask on ipv4_dst is not a prefix");
}

static void test_ipv6_and_icmp(void **state)
{
	struct fx *f = *state;
	struct dpak_item_ipv6 ip6 = { .dst = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } };
	struct dpak_item_ipv6 ip6m = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct dpak_item_tcp tcp = { .dst_port = htons(443) }, tcpm = { .dst_port = 0xffff };
	struct dpak_item items6[] = {
		{ DPAK_ITEM_IPV6, &ip6, &ip6m }, { DPAK_ITEM_TCP, &tcp, &tcpm },
		{ DPAK_ITEM_END, NULL, NULL },
	};
	struct dpak_item_icmp echo = { .type = 8 }, echom = { .type = 0xff };
	struct dpak_item items4[] = {
		{ DPAK_ITEM_IPV4, NULL, NULL }, { DPAK_ITEM_ICMP, &echo, &echom },
		{ DPAK_ITEM_END, NULL, NULL },
	};
	struct dpak_action_port p0 = { UP0 }, p1 = { UP1 };
	struct dpak_action a0[] = { { DPAK_ACTION_PORT, &p0 }, { DPAK_ACTION_END, NULL } };
	struct dpak_action a1[] = { { DPAK_ACTION_PORT, &p1 }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow *fl;
	struct pkt_spec s = { .ipv6 = 1, .proto = 6, .sport = 999, .dport = 443, .payload = 20,
			      .dip6 = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } };

	assert_int_equal(dpak_flow_add(table(f, T_ACL6), items6, a0, NULL, &fl), 0);
	assert_int_equal(dpak_flow_add(table(f, T_ACL), items4, a1, NULL, &fl), 0);
	f->len = pkt_build(f->frame, &s);
	inject_run(f, VF0, f->frame, f->len);
	assert_int_equal(capture(f, UP0), (ssize_t)f->len);
	assert_memory_equal(f->out, f->frame, f->len);
	s.dport = 80; /* other port: miss */
	f->len = pkt_build(f->frame, &s);
	inject_run(f, VF0, f->frame, f->len);
	assert_no_output(f);
	struct pkt_spec p = { .sip = 1, .dip = 2, .proto = 1, .icmp_type = 8, .payload = 56 };
	f->len = pkt_build(f->frame, &p);
	inject_run(f, VF0, f->frame, f->len);
	assert_int_equal(capture(f, UP1), (ssize_t)f->len);
	p.icmp_type = 0; /* echo reply: miss */
	f->len = pkt_build(f->frame, &p);
	inject_run(f, VF0, f->frame, f->len);
	assert_no_output(f);
}

static void test_qinq(void **state)
{
	(void)state;
	DPAK_OPTS(dpak_dev_opts, o, .configinfo_text =
		  "table name=q type=exact capacity=16 key=vlan_tci,vlan2_tci\n");
	struct dpak_dev *dev = dpak_dev_open(test_devspec(""), &o);
	assert_non_null(dev);
	struct dpak_item_vlan outer = { htons(10), 0 }, inner = { htons(20), 0 };
	struct dpak_item items[] = {
		{ DPAK_ITEM_ETH, NULL, NULL }, { DPAK_ITEM_VLAN, &outer, NULL },
		{ DPAK_ITEM_VLAN, &inner, NULL }, { DPAK_ITEM_END, NULL, NULL },
	};
	struct dpak_action_port p = { VF1 };
	struct dpak_action acts[] = { { DPAK_ACTION_VLAN_POP, NULL }, { DPAK_ACTION_PORT, &p },
				      { DPAK_ACTION_END, NULL } };
	struct dpak_flow *fl;
	uint8_t frame[256], out[256];
	struct pkt_spec s = { .vlan = 10, .vlan2 = 20, .sip = 1, .dip = 2, .proto = 17, .payload = 4 };
	size_t len = pkt_build(frame, &s);

	assert_int_equal(dpak_flow_add(dpak_table_at(dev, 0), items, acts, NULL, &fl), 0);
	assert_int_equal(dpak_hwsim_inject(dev, UP0, frame, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	/* Outer tag popped: the inner tag (20) is now the only one. */
	assert_int_equal(dpak_hwsim_capture(dev, VF1, out, sizeof(out)), (ssize_t)len - 4);
	assert_int_equal(pkt_rd16(out + 12), 0x8100);
	assert_int_equal(pkt_rd16(out + 14), 20);
	assert_memory_equal(out + 16, frame + 20, len - 20);
	/* Tags the other way round: a miss. */
	s.vlan = 20;
	s.vlan2 = 10;
	len = pkt_build(frame, &s);
	assert_int_equal(dpak_hwsim_inject(dev, UP0, frame, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	assert_int_equal(dpak_hwsim_capture(dev, VF1, out, sizeof(out)), -EAGAIN);
	dpak_dev_close(dev);
}

static void test_mark_and_jump(void **state)
{
	struct fx *f = *state;
	DPAK_OPTS(dpak_dev_opts, o, .configinfo_text =
		  "table name=first type=wildcard capacity=16 key=in_port,ip_proto,l4_dst miss=next\n"
		  "table name=second type=exact capacity=16 key=mark\n");
	struct dpak_dev *dev = dpak_dev_open(test_devspec(""), &o);
	assert_non_null(dev);
	struct dpak_item_udp u = { .dst_port = htons(53) }, um = { .dst_port = 0xffff };
	struct dpak_item i1[] = { { DPAK_ITEM_UDP, &u, &um }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_mark mk = { 42 };
	struct dpak_action_jump j = { 1 };
	struct dpak_action a1[] = { { DPAK_ACTION_MARK, &mk }, { DPAK_ACTION_JUMP, &j },
				    { DPAK_ACTION_END, NULL } };
	struct dpak_item_mark m = { 42 };
	struct dpak_item i2[] = { { DPAK_ITEM_MARK, &m, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port p = { VF3 };
	struct dpak_action a2[] = { { DPAK_ACTION_PORT, &p }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow *fl;

	assert_int_equal(dpak_flow_add(dpak_table_at(dev, 1), i2, a2, NULL, &fl), 0);
	assert_int_equal(dpak_flow_add(dpak_table_at(dev, 0), i1, a1, NULL, &fl), 0);
	f->len = udp_frame(f->frame, MAC_B, 53, 0);
	assert_int_equal(dpak_hwsim_inject(dev, UP1, f->frame, f->len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	assert_int_equal(dpak_hwsim_capture(dev, VF3, f->out, sizeof(f->out)), (ssize_t)f->len);
	assert_memory_equal(f->out, f->frame, f->len);
	/* A jump must go forward. */
	struct dpak_action_jump back = { 0 };
	struct dpak_action ab[] = { { DPAK_ACTION_JUMP, &back }, { DPAK_ACTION_END, NULL } };
	assert_err(dpak_flow_add(dpak_table_at(dev, 1), i2, ab, NULL, &fl), ERANGE,
		   "jumps go forward only");
	dpak_dev_close(dev);
}

static void test_replace_actions_atomic(void **state)
{
	struct fx *f = *state;
	struct dpak_action_port a = { UP0 }, b = { UP1 };
	struct dpak_action to_a[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &a },
				      { DPAK_ACTION_END, NULL } };
	struct dpak_action to_b[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &b },
				      { DPAK_ACTION_END, NULL } };
	struct dpak_action_vxlan_encap e;
	struct dpak_action bad[] = { { DPAK_ACTION_VXLAN_ENCAP, &e }, { DPAK_ACTION_PORT, &b },
				     { DPAK_ACTION_END, NULL } };
	struct dpak_flow *fl;
	struct dpak_flow_stats st = { .sz = sizeof(st) };

	assert_int_equal(l2_add(f, VF0, MAC_B, to_a, &fl), 0);
	f->len = udp_frame(f->frame, MAC_B, 53, 0);
	inject_run(f, VF0, f->frame, f->len);
	assert_int_equal(capture(f, UP0), (ssize_t)f->len);
	assert_int_equal(dpak_flow_replace_actions(fl, to_b), 0);
	inject_run(f, VF0, f->frame, f->len);
	assert_int_equal(capture(f, UP1), (ssize_t)f->len);
	assert_no_output(f);
	assert_int_equal(dpak_flow_query(fl, &st), 0);
	assert_int_equal(st.packets, 2); /* counters carried over */
	assert_int_equal(in_use(table(f, T_L2)), 1);

	/* A refused replace leaves the old actions. */
	encap_conf(&e, 0);
	assert_err(dpak_flow_replace_actions(fl, bad), ENOTSUP, "holds at most 32");
	inject_run(f, VF0, f->frame, f->len);
	assert_int_equal(capture(f, UP1), (ssize_t)f->len);
	assert_int_equal(dpak_flow_query(fl, &st), 0);
	assert_int_equal(st.packets, 3);
}

static void test_delete_and_flush(void **state)
{
	struct fx *f = *state;
	struct dpak_action_port a = { UP0 };
	struct dpak_action acts[] = { { DPAK_ACTION_PORT, &a }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow *fl, *fl2;
	struct dpak_port_stats ps = { .sz = sizeof(ps) };

	assert_int_equal(l2_add(f, VF0, MAC_B, acts, &fl), 0);
	assert_int_equal(l2_add(f, VF0, MAC_C, acts, &fl2), 0);
	assert_int_equal(dpak_flow_del(fl), 0);
	assert_int_equal(in_use(table(f, T_L2)), 1);
	f->len = udp_frame(f->frame, MAC_B, 53, 0);
	inject_run(f, VF0, f->frame, f->len);
	assert_no_output(f);
	assert_int_equal(dpak_port_stats(f->dev, VF0, &ps), 0);
	assert_int_equal(ps.rx_misses, 1);
	f->len = udp_frame(f->frame, MAC_C, 53, 0);
	inject_run(f, VF0, f->frame, f->len);
	assert_int_equal(capture(f, UP0), (ssize_t)f->len);
	assert_int_equal(dpak_flow_next(table(f, T_L2), NULL), fl2);
	assert_null(dpak_flow_next(table(f, T_L2), fl2));
	assert_int_equal(dpak_table_flush(table(f, T_L2)), 1);
	assert_int_equal(in_use(table(f, T_L2)), 0);
	assert_null(dpak_flow_next(table(f, T_L2), NULL));
	inject_run(f, VF0, f->frame, f->len);
	assert_no_output(f);
}

static void test_batch(void **state)
{
	struct fx *f = *state;
	enum { N = 100 };
	struct dpak_item_port port = { VF0 };
	struct dpak_item_eth eth[N], eth_m = { 0 };
	struct dpak_item_vlan vl = { 0 };
	struct dpak_item items[N][4];
	struct dpak_action_port good = { UP0 }, bad = { 99 };
	struct dpak_action ga[] = { { DPAK_ACTION_PORT, &good }, { DPAK_ACTION_END, NULL } };
	struct dpak_action ba[] = { { DPAK_ACTION_PORT, &bad }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow_req reqs[N];
	struct dpak_flow *flows[N];
	int results[N];
	DPAK_OPTS(dpak_flow_opts, o, .cookie = 77);

	memcpy(eth_m.dst, ONES6, 6);
	for (int i = 0; i < N; i++) {
		memset(&eth[i], 0, sizeof(eth[i]));
		eth[i].dst[0] = 0x02;
		eth[i].dst[5] = (uint8_t)i;
		items[i][0] = (struct dpak_item){ DPAK_ITEM_PORT, &port, NULL };
		items[i][1] = (struct dpak_item){ DPAK_ITEM_ETH, &eth[i], &eth_m };
		items[i][2] = (struct dpak_item){ DPAK_ITEM_VLAN, &vl, NULL };
		items[i][3] = (struct dpak_item){ DPAK_ITEM_END, NULL, NULL };
		reqs[i] = (struct dpak_flow_req){ items[i], i == 37 ? ba : ga, &o };
	}
	assert_int_equal(dpak_flow_add_batch(table(f, T_L2), reqs, N, flows, results), N - 1);
	assert_int_equal(results[37], -ERANGE);
	assert_null(flows[37]);
	assert_non_null(strstr(dpak_errmsg(), "entry 37: action 0 (port): port 99"));
	for (int i = 0; i < N; i++)
		if (i != 37) {
			assert_int_equal(results[i], 0);
			assert_int_equal(dpak_flow_cookie(flows[i]), 77);
			assert_ptr_equal(dpak_flow_table(flows[i]), table(f, T_L2));
		}
	assert_int_equal(in_use(table(f, T_L2)), N - 1);
	/* Each added flow forwards. */
	for (int i = 0; i < N; i += 9) {
		f->len = udp_frame(f->frame, eth[i].dst, 53, 0);
		inject_run(f, VF0, f->frame, f->len);
		if (i == 37)
			assert_no_output(f);
		else
			assert_int_equal(capture(f, UP0), (ssize_t)f->len);
	}
}

static void test_capacity_and_duplicates(void **state)
{
	(void)state;
	DPAK_OPTS(dpak_dev_opts, o, .configinfo_text =
		  "table name=tiny type=exact capacity=4 key=eth_dst\n");
	struct dpak_dev *dev = dpak_dev_open(test_devspec(""), &o);
	assert_non_null(dev);
	struct dpak_table *t = dpak_table_get(dev, "tiny");
	assert_non_null(t);
	struct dpak_item_eth e = { 0 };
	struct dpak_item items[] = { { DPAK_ITEM_ETH, &e, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action acts[] = { { DPAK_ACTION_DROP, NULL }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow *fl;
	/* eth's default mask covers src and type too, which tiny lacks. */
	assert_err(dpak_flow_add(t, items, acts, NULL, &fl), ENOTSUP,
		   "mask on eth_src not supported by table tiny (key: eth_dst)");
	struct dpak_item_eth m = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	items[0].mask = &m;
	for (int i = 0; i < 4; i++) {
		e.dst[5] = (uint8_t)i;
		assert_int_equal(dpak_flow_add(t, items, acts, NULL, &fl), 0);
	}
	e.dst[5] = 2;
	assert_err(dpak_flow_add(t, items, acts, NULL, &fl), ENOSPC, "table tiny is full (4 flows)");
	assert_int_equal(in_use(t), 4);
	assert_int_equal(dpak_flow_del(fl), 0); /* removes dst ..:03 */
	/* each backend's words (pci: docs/device-interface.md 9, EXISTS) */
	assert_err(dpak_flow_add(t, items, acts, NULL, &fl), EEXIST,
		   test_backend_text("already holds a flow",
				     "the device holds an entry with this key"));
	assert_int_equal(in_use(t), 3);
	e.dst[5] = 3;
	assert_int_equal(dpak_flow_add(t, items, acts, NULL, &fl), 0);
	assert_int_equal(in_use(t), 4);
	dpak_dev_close(dev);
}

static void test_aging(void **state)
{
	struct fx *f = *state;
	struct dpak_action_port a = { UP0 };
	struct dpak_action acts[] = { { DPAK_ACTION_PORT, &a }, { DPAK_ACTION_END, NULL } };
	struct dpak_item_port port = { VF0 };
	struct dpak_item_eth e1 = { .dst = { 2, 0, 0, 0, 0, 1 } }, e2 = { .dst = { 2, 0, 0, 0, 0, 2 } };
	struct dpak_item_eth m = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct dpak_item_vlan vl = { 0 };
	struct dpak_item i1[] = { { DPAK_ITEM_PORT, &port, NULL }, { DPAK_ITEM_ETH, &e1, &m },
				  { DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_item i2[] = { { DPAK_ITEM_PORT, &port, NULL }, { DPAK_ITEM_ETH, &e2, &m },
				  { DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	DPAK_OPTS(dpak_flow_opts, quick, .idle_timeout_ms = 1, .cookie = 1);
	DPAK_OPTS(dpak_flow_opts, slow, .idle_timeout_ms = 3600 * 1000, .cookie = 2);
	struct dpak_flow *f1, *f2, *aged[4];
	struct timespec ts = { 0, 20 * 1000 * 1000 };

	assert_int_equal(dpak_flow_add(table(f, T_L2), i1, acts, &quick, &f1), 0);
	assert_int_equal(dpak_flow_add(table(f, T_L2), i2, acts, &slow, &f2), 0);
	nanosleep(&ts, NULL);
	assert_int_equal(dpak_flow_aged(f->dev, aged, 4), 1);
	assert_ptr_equal(aged[0], f1);
	assert_int_equal(dpak_flow_cookie(aged[0]), 1);
	assert_int_equal(dpak_flow_aged(f->dev, aged, 4), 0); /* reported once */
	assert_int_equal(dpak_flow_del(f1), 0);
	assert_int_equal(in_use(table(f, T_L2)), 1);
}

static void test_fault_injection(void **state)
{
	struct fx *f = *state;
	struct dpak_action_port a = { UP0 };
	struct dpak_action acts[] = { { DPAK_ACTION_PORT, &a }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow *fl;

	assert_int_equal(dpak_hwsim_fail_flow_ops(f->dev, 1, -EIO), 0);
	assert_err(l2_add(f, VF0, MAC_B, acts, &fl), EIO, REFUSED_EIO);
	assert_int_equal(in_use(table(f, T_L2)), 0);
	f->len = udp_frame(f->frame, MAC_B, 53, 0);
	inject_run(f, VF0, f->frame, f->len);
	assert_no_output(f);
	assert_int_equal(l2_add(f, VF0, MAC_B, acts, &fl), 0);
	/* A failed delete keeps the flow, in the device and in the core. */
	assert_int_equal(dpak_hwsim_fail_flow_ops(f->dev, 1, -EBUSY), 0);
	assert_int_equal(dpak_flow_del(fl), -EBUSY);
	assert_int_equal(in_use(table(f, T_L2)), 1);
	inject_run(f, VF0, f->frame, f->len);
	assert_int_equal(capture(f, UP0), (ssize_t)f->len);
	assert_int_equal(dpak_flow_del(fl), 0);
	assert_int_equal(dpak_hwsim_fail_flow_ops(f->dev, 1, 5), -EINVAL);
	/* A count of 0 stops failing; the error is not used then, 0 is fine. */
	assert_int_equal(dpak_hwsim_fail_flow_ops(f->dev, 5, -EIO), 0);
	assert_int_equal(dpak_hwsim_fail_flow_ops(f->dev, 0, 0), 0);
	assert_int_equal(l2_add(f, VF0, MAC_B, acts, &fl), 0);
	assert_int_equal(in_use(table(f, T_L2)), 1);
	assert_int_equal(dpak_flow_del(fl), 0);
}

static void test_link_down(void **state)
{
	struct fx *f = *state;
	struct dpak_action_port a = { UP0 };
	struct dpak_action acts[] = { { DPAK_ACTION_PORT, &a }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow *fl;
	struct dpak_port_stats ps = { .sz = sizeof(ps) };
	struct dpak_port_info pi = { .sz = sizeof(pi) };

	assert_int_equal(l2_add(f, VF0, MAC_B, acts, &fl), 0);
	assert_int_equal(dpak_hwsim_set_link(f->dev, UP0, 0), 0);
	assert_int_equal(dpak_port_info(f->dev, UP0, &pi), 0);
	assert_int_equal(pi.link_up, 0);
	f->len = udp_frame(f->frame, MAC_B, 53, 0);
	inject_run(f, VF0, f->frame, f->len);
	assert_no_output(f);
	assert_int_equal(dpak_port_stats(f->dev, VF0, &ps), 0);
	assert_int_equal(ps.drops, 1);
	assert_int_equal(dpak_hwsim_set_link(f->dev, UP0, 1), 0);
	inject_run(f, VF0, f->frame, f->len);
	assert_int_equal(capture(f, UP0), (ssize_t)f->len);
}

static void test_engine_thread(void **state)
{
	(void)state;
	struct dpak_dev *dev = dpak_dev_open(test_devspec("engine=thread"), NULL);
	assert_non_null(dev);
	struct dpak_action_port a = { VF1 };
	struct dpak_action acts[] = { { DPAK_ACTION_PORT, &a }, { DPAK_ACTION_END, NULL } };
	struct dpak_item_eth e = { .dst = { 2, 0, 0, 0, 0, 0xb } };
	struct dpak_item_eth m = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct dpak_item_port port = { VF0 };
	struct dpak_item_vlan vl = { 0 };
	struct dpak_item items[] = { { DPAK_ITEM_PORT, &port, NULL }, { DPAK_ITEM_ETH, &e, &m },
				     { DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_flow *fl;
	uint8_t frame[256], out[256];
	size_t len = udp_frame(frame, MAC_B, 53, 0);
	int got = 0;

	assert_int_equal(dpak_flow_add(dpak_table_get(dev, "l2"), items, acts, NULL, &fl), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), -EBUSY);
	for (int i = 0; i < 100; i++)
		assert_int_equal(dpak_hwsim_inject(dev, VF0, frame, len), 0);
	/* Wait (up to 10 s) for the engine to forward all of them. */
	for (int spin = 0; got < 100 && spin < 10000; ) {
		ssize_t n = dpak_hwsim_capture(dev, VF1, out, sizeof(out));
		if (n == -EAGAIN) {
			struct timespec ts = { 0, 1000000 };
			nanosleep(&ts, NULL);
			spin++;
			continue;
		}
		assert_int_equal(n, (ssize_t)len);
		assert_memory_equal(out, frame, len);
		got++;
	}
	assert_int_equal(got, 100);
	dpak_dev_close(dev);
}

static void test_hwsim_io_errors(void **state)
{
	struct fx *f = *state;
	struct dpak_action_port a = { UP0 };
	struct dpak_action acts[] = { { DPAK_ACTION_PORT, &a }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow *fl;
	uint8_t small[16];

	assert_err(dpak_hwsim_inject(f->dev, VF0, f->frame, 10), EINVAL, "14 to 9224");
	assert_err(dpak_hwsim_inject(f->dev, 99, f->frame, 60), ENOENT, "port 99");
	assert_int_equal(l2_add(f, VF0, MAC_B, acts, &fl), 0);
	f->len = udp_frame(f->frame, MAC_B, 53, 0);
	inject_run(f, VF0, f->frame, f->len);
	assert_err((int)dpak_hwsim_capture(f->dev, UP0, small, sizeof(small)), EMSGSIZE,
		   "too small");
	assert_int_equal(capture(f, UP0), (ssize_t)f->len); /* still there */
	/* A full receive ring refuses and counts. */
	int refused = 0;
	for (int i = 0; i < 300; i++)
		if (dpak_hwsim_inject(f->dev, VF0, f->frame, f->len) == -ENOBUFS)
			refused++;
	assert_int_equal(refused, 300 - 256);
	struct dpak_port_stats ps = { .sz = sizeof(ps) };
	assert_int_equal(dpak_port_stats(f->dev, VF0, &ps), 0);
	assert_int_equal(ps.drops, 300 - 256);
}

/* The default l2 table keys on the VLAN id (vlan_tci/0x0fff), as a
 * learning switch installs it: a priority-tagged frame (VLAN 100, PCP 6)
 * hits the VLAN 100 flow. A flow that asks for priority bits the table
 * cannot match is refused, also on the path that packs a known shape. */
static void test_l2_vlan_id_any_priority(void **state)
{
	struct fx *f = *state;
	struct dpak_item_port port = { UP0 };
	struct dpak_item_eth eth = { 0 }, eth_m = { 0 };
	struct dpak_item_vlan vl = { htons(100), 0 }, vid_m = { .tci = htons(0x0fff) };
	memcpy(eth.dst, MAC_B, 6);
	memcpy(eth_m.dst, ONES6, 6);
	struct dpak_item items[] = {
		{ DPAK_ITEM_PORT, &port, NULL }, { DPAK_ITEM_ETH, &eth, &eth_m },
		{ DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL },
	};
	struct dpak_action_port out = { VF1 };
	struct dpak_action acts[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &out },
				      { DPAK_ACTION_END, NULL } };
	struct dpak_flow *fl, *fl2;
	struct dpak_flow_stats st = { .sz = sizeof(st) };

	/* As dpak-l2switch installs it: the bare VLAN id, default mask. */
	assert_int_equal(dpak_flow_add(table(f, T_L2), items, acts, NULL, &fl), 0);
	for (unsigned pcp = 0; pcp < 8; pcp++) {
		f->len = udp_frame(f->frame, MAC_B, 53, (uint16_t)(pcp << 13 | 100));
		inject_run(f, UP0, f->frame, f->len);
		assert_int_equal(capture(f, VF1), (ssize_t)f->len);
		assert_memory_equal(f->out, f->frame, f->len);
	}
	assert_int_equal(dpak_flow_query(fl, &st), 0);
	assert_int_equal(st.packets, 8);
	/* Another VLAN id still misses (to the host, nothing leaves a port). */
	f->len = udp_frame(f->frame, MAC_B, 53, 6 << 13 | 101);
	inject_run(f, UP0, f->frame, f->len);
	assert_no_output(f);
	/* The same flow with the VLAN id mask is the same key. */
	items[2].mask = &vid_m;
	assert_err(dpak_flow_add(table(f, T_L2), items, acts, NULL, &fl2), EEXIST, "");
	/* Priority bits cannot be told apart by this table: refused, twice
	 * (the second time a known shape takes the quick path). */
	items[2].mask = NULL;
	for (int i = 0; i < 2; i++) {
		vl.tci = htons((uint16_t)(6 << 13 | (200 + i)));
		assert_err(dpak_flow_add(table(f, T_L2), items, acts, NULL, &fl2), ENOTSUP,
			   "table l2 keys on vlan_tci/0x0fff only");
		vl.tci = htons((uint16_t)(300 + i)); /* and a plain id is fine */
		assert_int_equal(dpak_flow_add(table(f, T_L2), items, acts, NULL, &fl2), 0);
	}
	/* A mask that leaves VLAN id bits out cannot be keyed on. */
	struct dpak_item_vlan part_m = { .tci = htons(0x00ff) };
	items[2].mask = &part_m;
	vl.tci = htons(7);
	assert_err(dpak_flow_add(table(f, T_L2), items, acts, NULL, &fl2), ENOTSUP,
		   "exact-match on vlan_tci/0x0fff");
	assert_int_equal(in_use(table(f, T_L2)), 3);
}

/* The default tunnel table serves VXLAN decapsulation as an endpoint does
 * it (RFC 7348): by outer destination, UDP port 4789 and VNI. One flow
 * takes the packets of every inner flow, whatever outer UDP source port
 * (a hash of the inner flow) the sender chose. */
static void test_tunnel_decap_any_source_port(void **state)
{
	struct fx *f = *state;
	struct dpak_item_port in = { UP0 };
	struct dpak_item_ipv4 ip = { .dst = htonl(0xc0000201) }, ip_m = { .dst = 0xffffffff };
	struct dpak_item_vxlan vx = { .vni = { 0, 0x13, 0x88 } }; /* 5000 */
	struct dpak_item items[] = {
		{ DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_ETH, NULL, NULL },
		{ DPAK_ITEM_IPV4, &ip, &ip_m }, { DPAK_ITEM_UDP, NULL, NULL },
		{ DPAK_ITEM_VXLAN, &vx, NULL }, { DPAK_ITEM_END, NULL, NULL },
	};
	struct dpak_action_port vf = { VF2 };
	struct dpak_action acts[] = {
		{ DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_VXLAN_DECAP, NULL },
		{ DPAK_ACTION_PORT, &vf }, { DPAK_ACTION_END, NULL },
	};
	struct dpak_flow *fl;
	struct dpak_flow_stats st = { .sz = sizeof(st) };
	uint8_t inner[256];
	size_t ilen;

	assert_int_equal(dpak_flow_add(table(f, T_TUNNEL), items, acts, NULL, &fl), 0);
	for (unsigned i = 0; i < 4; i++) {
		ilen = udp_frame(inner, MAC_C, (uint16_t)(1000 + i), 0);
		f->len = pkt_vxlan(f->frame, MAC_B, MAC_A, 0xc0000202, 0xc0000201, 5000,
				   inner, ilen);
		f->frame[34] = (uint8_t)(0xc0 + i); /* outer UDP source port */
		f->frame[35] = (uint8_t)(17 * i);
		inject_run(f, UP0, f->frame, f->len);
		assert_int_equal(capture(f, VF2), (ssize_t)ilen);
		assert_memory_equal(f->out, inner, ilen);
	}
	assert_int_equal(dpak_flow_query(fl, &st), 0);
	assert_int_equal(st.packets, 4);
	/* Another local endpoint address: not this flow. */
	f->len = pkt_vxlan(f->frame, MAC_B, MAC_A, 0xc0000202, 0xc0000209, 5000,
			   inner, ilen);
	inject_run(f, UP0, f->frame, f->len);
	assert_no_output(f);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static struct dpak_table_info tinfo(struct dpak_table *t)
{
	struct dpak_table_info ti = { .sz = sizeof(ti) };
	assert_int_equal(dpak_table_info(t, &ti), 0);
	return ti;
}

/* A device reset: counters and last hits continue in the restored flows,
 * so a flow busy until the reset does not age at once, and ages later from
 * its real last hit. */
static void test_reset_keeps_counters_and_aging(void **state)
{
	struct fx *f = *state;
	struct dpak_action_port out = { UP0 };
	struct dpak_action acts[] = {
		{ DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &out }, { DPAK_ACTION_END, NULL },
	};
	struct dpak_item_port port = { VF0 };
	struct dpak_item_eth e = { 0 }, m = { 0 };
	struct dpak_item_vlan vl = { 0 };
	memcpy(e.dst, MAC_B, 6);
	memcpy(m.dst, ONES6, 6);
	struct dpak_item items[] = { { DPAK_ITEM_PORT, &port, NULL }, { DPAK_ITEM_ETH, &e, &m },
				     { DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	DPAK_OPTS(dpak_flow_opts, o, .idle_timeout_ms = 800, .cookie = 9);
	struct dpak_flow *fl, *aged[4];
	struct dpak_flow_stats before = { .sz = sizeof(before) }, after = { .sz = sizeof(after) };

	assert_int_equal(dpak_flow_add(table(f, T_L2), items, acts, &o, &fl), 0);
	f->len = udp_frame(f->frame, MAC_B, 53, 0);
	/* busy for longer than its idle timeout */
	for (int i = 0; i < 12; i++) {
		inject_run(f, VF0, f->frame, f->len);
		assert_int_equal(capture(f, UP0), (ssize_t)f->len);
		sleep_ms(80);
	}
	assert_int_equal(dpak_flow_query(fl, &before), 0);
	assert_int_equal(before.packets, 12);
	assert_int_equal(dpak_hwsim_reset(f->dev), 1);
	assert_int_equal(dpak_flow_state(fl), DPAK_FLOW_OFFLOADED);
	assert_int_equal(dpak_flow_query(fl, &after), 0);
	assert_int_equal(after.packets, 12);
	assert_int_equal(after.bytes, 12 * f->len);
	assert_int_equal(after.last_hit_ns, before.last_hit_ns);
	assert_int_equal(dpak_flow_aged(f->dev, aged, 4), 0); /* busy: not aged */
	inject_run(f, VF0, f->frame, f->len);
	assert_int_equal(capture(f, UP0), (ssize_t)f->len);
	assert_int_equal(dpak_flow_query(fl, &after), 0);
	assert_int_equal(after.packets, 13);
	assert_int_equal(after.bytes, 13 * f->len);
	assert_true(after.last_hit_ns > before.last_hit_ns);
	/* a second reset: still counting on */
	assert_int_equal(dpak_hwsim_reset(f->dev), 1);
	assert_int_equal(dpak_flow_query(fl, &after), 0);
	assert_int_equal(after.packets, 13);
	/* idle from now: ages once its timeout has passed since the last hit */
	sleep_ms(900);
	assert_int_equal(dpak_flow_aged(f->dev, aged, 4), 1);
	assert_ptr_equal(aged[0], fl);
	assert_int_equal(in_use(table(f, T_L2)), 1);
}

/* A flow the restore could not add back: reported as not restored (not as
 * removed by the operator), out of in_use, its counters kept, and added
 * back by dpak_flow_restore() and by the dpak_flow_aged() poll. */
static void test_reset_restore_failure(void **state)
{
	struct fx *f = *state;
	struct dpak_action_port out = { UP0 };
	struct dpak_action acts[] = {
		{ DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &out }, { DPAK_ACTION_END, NULL },
	};
	struct dpak_flow *fa, *fb, *aged[4];
	struct dpak_flow_stats st = { .sz = sizeof(st) };
	struct dpak_table *t = table(f, T_L2);

	assert_int_equal(l2_add(f, VF0, MAC_B, acts, &fa), 0);
	assert_int_equal(l2_add(f, VF0, MAC_C, acts, &fb), 0);
	f->len = udp_frame(f->frame, MAC_B, 53, 0);
	inject_run(f, VF0, f->frame, f->len);
	inject_run(f, VF0, f->frame, f->len);
	assert_int_equal(capture(f, UP0), (ssize_t)f->len);
	assert_int_equal(capture(f, UP0), (ssize_t)f->len);

	/* the device refuses the first flow the restore adds (fa) */
	assert_int_equal(dpak_hwsim_fail_flow_ops(f->dev, 1, -EIO), 0);
	assert_int_equal(dpak_hwsim_reset(f->dev), 1);
	assert_int_equal(dpak_flow_state(fa), DPAK_FLOW_NOT_RESTORED);
	assert_int_equal(dpak_flow_state(fb), DPAK_FLOW_OFFLOADED);
	assert_int_equal(in_use(t), 1);
	assert_int_equal(tinfo(t).not_restored, 1);
	assert_int_equal(dpak_flow_query(fa, &st), 0); /* what it had counted */
	assert_int_equal(st.packets, 2);
	inject_run(f, VF0, f->frame, f->len); /* not in the device: a miss */
	assert_no_output(f);
	struct dpak_action drop[] = { { DPAK_ACTION_DROP, NULL }, { DPAK_ACTION_END, NULL } };
	assert_err(dpak_flow_replace_actions(fa, drop), ENOENT, "a device reset lost it");
	assert_null(strstr(dpak_errmsg(), "operator"));

	/* an explicit retry the device refuses again, then one it takes */
	assert_int_equal(dpak_hwsim_fail_flow_ops(f->dev, 1, -EBUSY), 0);
	assert_int_equal(dpak_flow_restore(f->dev), 1); /* one still absent */
	assert_non_null(strstr(dpak_errmsg(), "table l2: flow 0 (cookie 0)"));
	assert_int_equal(dpak_flow_state(fa), DPAK_FLOW_NOT_RESTORED);
	assert_int_equal(dpak_flow_restore(f->dev), 0);
	assert_int_equal(dpak_flow_state(fa), DPAK_FLOW_OFFLOADED);
	assert_int_equal(in_use(t), 2);
	assert_int_equal(tinfo(t).not_restored, 0);
	inject_run(f, VF0, f->frame, f->len);
	assert_int_equal(capture(f, UP0), (ssize_t)f->len);
	assert_int_equal(dpak_flow_query(fa, &st), 0);
	assert_int_equal(st.packets, 3);

	/* lost again; the aging poll adds it back */
	assert_int_equal(dpak_hwsim_fail_flow_ops(f->dev, 1, -EIO), 0);
	assert_int_equal(dpak_hwsim_reset(f->dev), 1);
	assert_int_equal(in_use(t), 1);
	assert_int_equal(dpak_flow_aged(f->dev, aged, 4), 0);
	assert_int_equal(dpak_flow_state(fa), DPAK_FLOW_OFFLOADED);
	assert_int_equal(in_use(t), 2);
	assert_int_equal(dpak_flow_query(fa, &st), 0);
	assert_int_equal(st.packets, 3);

	/* lost once more, then deleted while absent */
	assert_int_equal(dpak_hwsim_fail_flow_ops(f->dev, 1, -EIO), 0);
	assert_int_equal(dpak_hwsim_reset(f->dev), 1);
	assert_int_equal(dpak_flow_del(fa), 0);
	assert_int_equal(in_use(t), 1);
	assert_int_equal(tinfo(t).not_restored, 0);
	assert_int_equal(dpak_flow_restore(f->dev), 0);
	assert_int_equal(dpak_flow_del(fb), 0);
	assert_int_equal(in_use(t), 0);
}

/* Wildcard tables: the distinct masks are a declared limit; validation
 * refuses the one past it as add does, with the same message. */
static void test_wildcard_mask_limit_declared(void **state)
{
	struct fx *f = *state;
	struct dpak_table *t = table(f, T_ACL);
	struct dpak_action acts[] = { { DPAK_ACTION_DROP, NULL }, { DPAK_ACTION_END, NULL } };
	struct dpak_item_ipv4 ip = { 0 }, ipm = { 0 };
	struct dpak_item items[] = { { DPAK_ITEM_IPV4, &ip, &ipm }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_flow *fl[64], *extra;
	struct dpak_table_info ti = tinfo(t);
	char msg[512];

	assert_int_equal(ti.max_masks, 64);
	assert_int_equal(ti.masks_in_use, 0);
	for (int i = 0; i < 64; i++) { /* source prefixes /1 .. /32, then dst ones */
		ipm.src = i < 32 ? htonl(~0u << (31 - i)) : 0;
		ipm.dst = i < 32 ? 0 : htonl(~0u << (63 - i));
		assert_int_equal(dpak_flow_validate(t, items, acts, NULL), 0);
		assert_int_equal(dpak_flow_add(t, items, acts, NULL, &fl[i]), 0);
	}
	assert_int_equal(tinfo(t).masks_in_use, 64);
	/* another key under a known mask fits */
	ip.src = htonl(0x80000000);
	ipm.src = htonl(0x80000000);
	ipm.dst = 0;
	assert_int_equal(dpak_flow_validate(t, items, acts, NULL), 0);
	assert_int_equal(dpak_flow_add(t, items, acts, NULL, &extra), 0);
	assert_int_equal(dpak_flow_del(extra), 0);
	/* a 65th mask: validate refuses it as add does */
	ip.src = 0;
	ipm.src = htonl(0xffffffff);
	ipm.dst = htonl(0xffffffff);
	assert_err(dpak_flow_validate(t, items, acts, NULL), ENOSPC,
		   "table acl holds 64 distinct masks, its limit (configinfo masks=64)");
	snprintf(msg, sizeof(msg), "%s", dpak_errmsg());
	assert_int_equal(dpak_flow_add(t, items, acts, NULL, &extra), -ENOSPC);
	assert_string_equal(dpak_errmsg(), msg);
	/* a mask no flow uses any more makes room */
	assert_int_equal(dpak_flow_del(fl[5]), 0);
	assert_int_equal(tinfo(t).masks_in_use, 63);
	assert_int_equal(dpak_flow_validate(t, items, acts, NULL), 0);
	assert_int_equal(dpak_flow_add(t, items, acts, NULL, &extra), 0);
	assert_int_equal(tinfo(t).masks_in_use, 64);
}

/* An IPv6 LPM table holds all 129 prefix lengths (/0 .. /128), and the
 * longest matching one wins. */
static void test_ipv6_lpm_all_prefix_lengths(void **state)
{
	(void)state;
	DPAK_OPTS(dpak_dev_opts, o, .configinfo_text =
		  "table name=route6 type=lpm capacity=1024 key=ipv6_dst\n");
	struct dpak_dev *dev = dpak_dev_open(test_devspec(""), &o);
	assert_non_null(dev);
	struct dpak_table *t = dpak_table_get(dev, "route6");
	struct dpak_table_info ti = tinfo(t);
	static const uint8_t addr[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
					  0x9a, 0xbc, 0xde, 0xf0, 0x11, 0x22, 0x33, 0x44 };
	struct dpak_flow *fl[129];

	assert_int_equal(ti.max_masks, 129);
	for (unsigned len = 0; len <= 128; len++) {
		struct dpak_item_ipv6 r = { 0 }, m = { 0 };
		for (unsigned b = 0; b < len; b++)
			m.dst[b / 8] |= (uint8_t)(0x80 >> (b % 8));
		for (unsigned k = 0; k < 16; k++)
			r.dst[k] = addr[k] & m.dst[k];
		struct dpak_item items[] = { { DPAK_ITEM_IPV6, &r, &m }, { DPAK_ITEM_END, NULL, NULL } };
		/* /len forwards to port len % 2: uplink0 or uplink1 */
		struct dpak_action_port p = { len % 2 ? UP1 : UP0 };
		struct dpak_action acts[] = { { DPAK_ACTION_PORT, &p }, { DPAK_ACTION_END, NULL } };
		assert_int_equal(dpak_flow_validate(t, items, acts, NULL), 0);
		if (dpak_flow_add(t, items, acts, NULL, &fl[len]))
			fail_msg("/%u: %s", len, dpak_errmsg());
	}
	ti = tinfo(t);
	assert_int_equal(ti.in_use, 129);
	assert_int_equal(ti.masks_in_use, 129);

	uint8_t frame[256], out[256];
	struct pkt_spec s = { .ipv6 = 1, .proto = 17, .sport = 1, .dport = 2, .payload = 8 };
	memcpy(s.dst, MAC_B, 6);
	memcpy(s.dip6, addr, 16);
	size_t len = pkt_build(frame, &s);
	assert_int_equal(dpak_hwsim_inject(dev, VF0, frame, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	assert_int_equal(dpak_hwsim_capture(dev, UP0, out, sizeof(out)), (ssize_t)len); /* /128 */
	assert_int_equal(dpak_flow_del(fl[128]), 0);
	assert_int_equal(dpak_hwsim_inject(dev, VF0, frame, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	assert_int_equal(dpak_hwsim_capture(dev, UP1, out, sizeof(out)), (ssize_t)len); /* /127 */
	dpak_dev_close(dev);
}

/* An action the device refuses leaves the capabilities; a flow using it is
 * refused at validation with the action's index and type; a refusal by the
 * device itself (restoring an older flow) names them too. */
static void test_rejected_action_capabilities(void **state)
{
	struct fx *f = *state;
	struct dpak_table *t = table(f, T_CONN);
	struct dpak_item_ipv4 ip = { .src = htonl(0x0a000001), .dst = htonl(0x0a000002) };
	struct dpak_item_tcp tcp = { .src_port = htons(1234), .dst_port = htons(80) };
	struct dpak_item_port in = { VF0 };
	struct dpak_item items[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_IPV4, &ip, NULL },
				     { DPAK_ITEM_TCP, &tcp, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_set_ipv4 nat = { htonl(0x09090909) };
	struct dpak_action_set_tp tp = { htons(7777) };
	struct dpak_action_port out = { VF1 };
	struct dpak_action acts[] = {
		{ DPAK_ACTION_SET_IPV4_SRC, &nat }, { DPAK_ACTION_COUNT, NULL },
		{ DPAK_ACTION_SET_TP_DST, &tp }, { DPAK_ACTION_PORT, &out }, { DPAK_ACTION_END, NULL },
	};
	struct dpak_dev_info di = { .sz = sizeof(di) };
	struct dpak_flow *fl, *old;
	const uint64_t bit = 1ull << DPAK_ACTION_SET_TP_DST;

	assert_int_equal(dpak_flow_add(t, items, acts, NULL, &old), 0);
	assert_int_equal(dpak_dev_info(f->dev, &di), 0);
	assert_true(di.action_types & bit);
	assert_true(tinfo(t).action_types & bit);

	assert_int_equal(dpak_hwsim_reject_action(f->dev, DPAK_ACTION_SET_TP_DST), 0);
	assert_int_equal(dpak_dev_info(f->dev, &di), 0);
	assert_false(di.action_types & bit);
	assert_true(di.action_types & (1ull << DPAK_ACTION_SET_IPV4_SRC));
	for (uint32_t i = 0; i < di.n_tables; i++)
		assert_false(tinfo(table(f, i)).action_types & bit);
	tcp.src_port = htons(1235);
	assert_err(dpak_flow_validate(t, items, acts, NULL), ENOTSUP,
		   "action 2 (set_tp_dst): refused by the device");
	assert_err(dpak_flow_add(t, items, acts, NULL, &fl), ENOTSUP,
		   "action 2 (set_tp_dst): refused by the device");

	/* the older flow cannot come back after a reset: the device says which
	 * action it refuses */
	assert_int_equal(dpak_hwsim_reset(f->dev), 0);
	assert_int_equal(dpak_flow_state(old), DPAK_FLOW_NOT_RESTORED);
	assert_int_equal(dpak_flow_restore(f->dev), 1);
	assert_non_null(strstr(dpak_errmsg(), "action 2 (set_tp_dst): refused by the device"));

	/* accepted again: capabilities back, and the flow with them */
	assert_int_equal(dpak_hwsim_reject_action(f->dev, DPAK_ACTION_END), 0);
	assert_int_equal(dpak_dev_info(f->dev, &di), 0);
	assert_true(di.action_types & bit);
	assert_true(tinfo(t).action_types & bit);
	assert_int_equal(dpak_flow_restore(f->dev), 0);
	assert_int_equal(dpak_flow_add(t, items, acts, NULL, &fl), 0);
}

/* engine=thread: traffic through a counted flow while the device resets
 * again and again. The device forwards nothing from before the core reads
 * the counters until the flows are back, so the flow counts exactly the
 * packets that left through it. */
struct reset_traffic {
	struct dpak_dev *dev;
	uint8_t frame[128];
	size_t len;
	unsigned sent, captured;
	int done;
};

static void drain_vf1(struct reset_traffic *rt)
{
	uint8_t out[256];

	while (dpak_hwsim_capture(rt->dev, VF1, out, sizeof(out)) > 0)
		rt->captured++;
}

static void *reset_traffic_tx(void *arg)
{
	struct reset_traffic *rt = arg;

	/* On pci each frame is a WIRE_INJECT command, and each reset a
	 * SOFT_RESET with the flows added back, between two processes:
	 * 20000 frames take two minutes there (most of the conformance run's
	 * budget), 2000 take a tenth of it and still meet hundreds of resets. */
	unsigned frames = test_backend_is_pci() ? 2000 : 20000;

	for (unsigned tries = 0; rt->sent < frames && tries < 10000000; tries++) {
		if (dpak_hwsim_inject(rt->dev, VF0, rt->frame, rt->len) == 0)
			rt->sent++;
		drain_vf1(rt);
	}
	__atomic_store_n(&rt->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_reset_counts_forwarded_under_traffic(void **state)
{
	(void)state;
	/* The flow's count equals what left vf1 as long as vf1's ring never
	 * overflows. A reset over pci (many commands between two processes)
	 * takes long enough for a ring of 256 to fill behind it and drop at
	 * egress, so on pci the rings are larger than all the frames sent. */
	struct reset_traffic rt = {
		.dev = dpak_dev_open(test_devspec(test_backend_text("engine=thread",
								    "engine=thread,ring=4096")),
				     NULL)
	};
	struct dpak_action_port out = { VF1 };
	struct dpak_action acts[] = {
		{ DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &out }, { DPAK_ACTION_END, NULL },
	};
	struct dpak_item_port port = { VF0 };
	struct dpak_item_eth e = { 0 }, m = { 0 };
	struct dpak_item_vlan vl = { 0 };
	memcpy(e.dst, MAC_B, 6);
	memcpy(m.dst, ONES6, 6);
	struct dpak_item items[] = { { DPAK_ITEM_PORT, &port, NULL }, { DPAK_ITEM_ETH, &e, &m },
				     { DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_flow_stats st = { .sz = sizeof(st) };
	struct dpak_port_stats in = { .sz = sizeof(in) }, o = { .sz = sizeof(o) };
	struct dpak_flow *fl;
	pthread_t tx;
	unsigned resets = 0;

	assert_non_null(rt.dev);
	dpak_log_set_level(DPAK_LOG_ERR);
	assert_int_equal(dpak_flow_add(dpak_table_get(rt.dev, "l2"), items, acts, NULL, &fl), 0);
	rt.len = udp_frame(rt.frame, MAC_B, 53, 0);
	assert_int_equal(pthread_create(&tx, NULL, reset_traffic_tx, &rt), 0);
	while (!__atomic_load_n(&rt.done, __ATOMIC_ACQUIRE) && resets < 100000) {
		assert_int_equal(dpak_hwsim_reset(rt.dev), 1);
		resets++;
	}
	pthread_join(tx, NULL);
	/* Wait (up to 10 s) for the engine to take every frame in. */
	for (int spin = 0; spin < 10000; spin++) {
		assert_int_equal(dpak_port_stats(rt.dev, VF0, &in), 0);
		if (in.rx_packets >= rt.sent)
			break;
		drain_vf1(&rt);
		sleep_ms(1);
	}
	for (int spin = 0; spin < 100; spin++) { /* the last bursts' output */
		drain_vf1(&rt);
		sleep_ms(1);
	}
	assert_int_equal(in.rx_packets, rt.sent);
	assert_int_equal(dpak_port_stats(rt.dev, VF1, &o), 0);
	assert_int_equal(dpak_flow_query(fl, &st), 0);
	assert_true(resets > 0);
	assert_int_equal(o.tx_packets, rt.captured);
	assert_int_equal(st.packets, o.tx_packets); /* every one it forwarded */
	assert_int_equal(st.bytes, o.tx_packets * rt.len);
	dpak_log_set_level(DPAK_LOG_WARN);
	dpak_dev_close(rt.dev);
}

/* The device's headroom is declared (dpak_dev_info max_push_bytes) and
 * validation refuses action lists that push more in front of the frame,
 * naming the action that crosses it; up to the limit, packets leave. */
static void test_headroom_limit_declared(void **state)
{
	(void)state;
	DPAK_OPTS(dpak_dev_opts, o, .configinfo_text = "device max-action-bytes=255\n"
		  "table name=t type=wildcard capacity=8 miss=host key=in_port\n");
	struct dpak_dev *dev = dpak_dev_open(test_devspec("mtu=9202"), &o);
	struct dpak_dev_info di = { .sz = sizeof(di) };
	struct dpak_action_vxlan_encap ve = { .eth_dst = { 2, 0, 0, 0, 0, 9 },
					      .eth_src = { 2, 0, 0, 0, 0, 8 },
					      .ipv4_src = htonl(0x0a000001),
					      .ipv4_dst = htonl(0x0a000002), .vni = 1 };
	struct dpak_action_vlan_push vp = { htons(0x8100), htons(3) };
	struct dpak_action_port out = { VF1 };
	struct dpak_item_port in = { VF0 };
	struct dpak_item items[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action a[48];
	struct dpak_flow *fl;
	uint8_t frame[128], buf[512];
	size_t len;
	int k;

	assert_non_null(dev);
	struct dpak_table *t = dpak_table_get(dev, "t");
	assert_non_null(t);
	assert_int_equal(dpak_dev_info(dev, &di), 0);
	assert_int_equal(di.max_push_bytes, 128);

	/* encap + 7 pushes + encap: 128 bytes, what the device has */
	k = 0;
	a[k++] = (struct dpak_action){ DPAK_ACTION_VXLAN_ENCAP, &ve };
	for (int i = 0; i < 7; i++)
		a[k++] = (struct dpak_action){ DPAK_ACTION_VLAN_PUSH, &vp };
	a[k++] = (struct dpak_action){ DPAK_ACTION_VXLAN_ENCAP, &ve };
	a[k++] = (struct dpak_action){ DPAK_ACTION_PORT, &out };
	a[k] = (struct dpak_action){ DPAK_ACTION_END, NULL };
	assert_int_equal(dpak_flow_validate(t, items, a, NULL), 0);
	assert_int_equal(dpak_flow_add(t, items, a, NULL, &fl), 0);
	len = udp_frame(frame, MAC_B, 53, 0);
	assert_int_equal(dpak_hwsim_inject(dev, VF0, frame, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	assert_int_equal(dpak_hwsim_capture(dev, VF1, buf, sizeof(buf)), (ssize_t)(len + 128));

	/* one push more: 132 bytes; refused by validate, add, batch and
	 * replace alike, naming the action that crosses the limit */
	const char *msg = "action 9 (vxlan_encap): the actions push 132 bytes in "
			  "front of the frame; the device has room for 128";
	k = 0;
	a[k++] = (struct dpak_action){ DPAK_ACTION_VXLAN_ENCAP, &ve };
	for (int i = 0; i < 8; i++)
		a[k++] = (struct dpak_action){ DPAK_ACTION_VLAN_PUSH, &vp };
	a[k++] = (struct dpak_action){ DPAK_ACTION_VXLAN_ENCAP, &ve };
	a[k++] = (struct dpak_action){ DPAK_ACTION_PORT, &out };
	a[k] = (struct dpak_action){ DPAK_ACTION_END, NULL };
	assert_err(dpak_flow_validate(t, items, a, NULL), ENOTSUP, msg);
	assert_err(dpak_flow_replace_actions(fl, a), ENOTSUP, msg);
	assert_int_equal(dpak_flow_del(fl), 0);
	assert_err(dpak_flow_add(t, items, a, NULL, &fl), ENOTSUP, msg);
	struct dpak_flow_req req = { items, a, NULL };
	int res = 0;
	assert_int_equal(dpak_flow_add_batch(t, &req, 1, &fl, &res), 0);
	assert_int_equal(res, -ENOTSUP);
	assert_non_null(strstr(dpak_errmsg(), msg));

	/* a pop gives its 4 bytes back: pop + 33 pushes peak at 128 */
	k = 0;
	a[k++] = (struct dpak_action){ DPAK_ACTION_VLAN_POP, NULL };
	for (int i = 0; i < 33; i++)
		a[k++] = (struct dpak_action){ DPAK_ACTION_VLAN_PUSH, &vp };
	a[k++] = (struct dpak_action){ DPAK_ACTION_PORT, &out };
	a[k] = (struct dpak_action){ DPAK_ACTION_END, NULL };
	assert_int_equal(dpak_flow_add(t, items, a, NULL, &fl), 0);
	len = udp_frame(frame, MAC_B, 53, 100);
	assert_int_equal(dpak_hwsim_inject(dev, VF0, frame, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	assert_int_equal(dpak_hwsim_capture(dev, VF1, buf, sizeof(buf)),
			 (ssize_t)(len - 4 + 33 * 4));
	assert_int_equal(dpak_flow_del(fl), 0);
	a[k - 1] = (struct dpak_action){ DPAK_ACTION_VLAN_PUSH, &vp }; /* 34 pushes */
	a[k++] = (struct dpak_action){ DPAK_ACTION_PORT, &out };
	a[k] = (struct dpak_action){ DPAK_ACTION_END, NULL };
	assert_err(dpak_flow_validate(t, items, a, NULL), ENOTSUP,
		   "action 34 (vlan_push): the actions push 132 bytes");
	dpak_dev_close(dev);
}

/* After a batch, dpak_errmsg() names the first failed entry, whichever
 * stage refused it: here the device refuses entry 0, validation entry 1. */
static void test_batch_first_failure_message(void **state)
{
	struct fx *f = *state;
	struct dpak_item_port port = { VF0 };
	struct dpak_item_eth e0 = { .dst = { 2, 0, 0, 0, 0, 1 } }, e1 = { .dst = { 2, 0, 0, 0, 0, 2 } };
	struct dpak_item_eth m = { 0 };
	struct dpak_item_vlan vl = { 0 };
	memcpy(m.dst, ONES6, 6);
	struct dpak_item i0[] = { { DPAK_ITEM_PORT, &port, NULL }, { DPAK_ITEM_ETH, &e0, &m },
				  { DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_item i1[] = { { DPAK_ITEM_PORT, &port, NULL }, { DPAK_ITEM_ETH, &e1, &m },
				  { DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port good = { UP0 }, bad = { 99 };
	struct dpak_action ga[] = { { DPAK_ACTION_PORT, &good }, { DPAK_ACTION_END, NULL } };
	struct dpak_action ba[] = { { DPAK_ACTION_PORT, &bad }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow_req reqs[3] = { { i0, ga, NULL }, { i1, ba, NULL }, { i1, ga, NULL } };
	struct dpak_flow *flows[3];
	int results[3];

	assert_int_equal(dpak_hwsim_fail_flow_ops(f->dev, 1, -EIO), 0);
	assert_int_equal(dpak_flow_add_batch(table(f, T_L2), reqs, 3, flows, results), 1);
	assert_int_equal(results[0], -EIO);
	assert_int_equal(results[1], -ERANGE);
	assert_int_equal(results[2], 0);
	if (strncmp(dpak_errmsg(), "entry 0: ", 9))
		fail_msg("message \"%s\" does not name entry 0", dpak_errmsg());
	assert_non_null(strstr(dpak_errmsg(), REFUSED_EIO));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(x) cmocka_unit_test_setup_teardown(x, setup, teardown)
		T(test_l2_vlan_id_any_priority),
		T(test_tunnel_decap_any_source_port),
		T(test_forward_and_count),
		T(test_drop),
		T(test_query_needs_count),
		T(test_vlan_push_pop),
		T(test_set_fields_keep_checksums),
		T(test_ttl_expiry_goes_to_host),
		T(test_exact_needs_every_field),
		T(test_vxlan_encap_headers),
		T(test_vxlan_decap_then_l2),
		T(test_wildcard_priority),
		T(test_lpm_routes),
		T(test_ipv6_and_icmp),
		T(test_qinq),
		T(test_mark_and_jump),
		T(test_replace_actions_atomic),
		T(test_delete_and_flush),
		T(test_batch),
		T(test_capacity_and_duplicates),
		T(test_aging),
		T(test_fault_injection),
		T(test_link_down),
		T(test_engine_thread),
		T(test_hwsim_io_errors),
		T(test_reset_keeps_counters_and_aging),
		T(test_reset_restore_failure),
		T(test_wildcard_mask_limit_declared),
		T(test_ipv6_lpm_all_prefix_lengths),
		T(test_rejected_action_capabilities),
		T(test_batch_first_failure_message),
		cmocka_unit_test(test_reset_counts_forwarded_under_traffic),
		cmocka_unit_test(test_headroom_limit_declared),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
