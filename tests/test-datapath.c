/* SPDX-License-Identifier: MIT */
/*
 * The data-path rules of docs/DATAPATH.md, with real packets through hwsim:
 *   - headers' own lengths bound what is parsed, matched, rewritten and
 *     carried into a decapsulated frame ("Header lengths");
 *   - an action list applies whole, or the packet is dropped and counted
 *     ("Action lists apply whole");
 *   - trace runs the pipeline's own code: for each case, what dpak-ctl
 *     trace says is what the device then does ("Trace runs the pipeline").
 * Links the core itself to run control commands in-process (ctl_run).
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
#include <arpa/inet.h>
#include <cmocka.h>
#include <dpak/dpak.h>
#include "devspec.h"
#include "ctl.h"
#include "pkt.h"

/* Ports of "hwsim:": uplink0 uplink1 pf0 vf0 vf1 vf2 vf3 */
enum { UP0, UP1, PF0, VF0, VF1, VF2, VF3, N_PORTS };

static struct dpak_dev *dev;
static uint8_t out[4096];

/* Tables of their own, so that the tests hold whatever ships. */
static const char *CI =
	"device key-sizes=10,26,42,58 max-action-bytes=128\n"
	"table name=acl type=wildcard capacity=1024 priorities=16 miss=next "
	"key=in_port,mark,eth_type,vlan_tci,ip_proto,ipv4_src,ipv4_dst,l4_src,l4_dst,"
	"tcp_flags,icmp_type,icmp_code,vxlan_vni\n"
	"table name=acl6 type=wildcard capacity=1024 priorities=16 miss=next "
	"key=in_port,eth_type,ip_proto,ipv6_src,ipv6_dst,l4_src,l4_dst\n"
	"table name=l2 type=exact capacity=1024 miss=host action-bytes=32 "
	"key=in_port,eth_dst,vlan_tci\n";

static int up(void **state)
{
	(void)state;
	DPAK_OPTS(dpak_dev_opts, o, .configinfo_text = CI);
	dev = dpak_dev_open(test_devspec(""), &o);
	if (!dev)
		fprintf(stderr, "open: %s\n", dpak_errmsg());
	return dev ? 0 : -1;
}

static int down(void **state)
{
	(void)state;
	dpak_dev_close(dev);
	return 0;
}

/* A frame from hex digits, zero-padded to @pad bytes. */
static size_t hexframe(uint8_t *b, const char *h, size_t pad)
{
	size_t n = strlen(h) / 2;
	for (size_t i = 0; i < n; i++) {
		unsigned v;
		assert_int_equal(sscanf(h + 2 * i, "%2x", &v), 1);
		b[i] = (uint8_t)v;
	}
	if (n < pad) {
		memset(b + n, 0, pad - n);
		n = pad;
	}
	return n;
}

static struct dpak_table *tbl(const char *name)
{
	struct dpak_table *t = dpak_table_get(dev, name);
	assert_non_null(t);
	return t;
}

static struct dpak_flow *add(const char *table, const struct dpak_item *it,
			     const struct dpak_action *a)
{
	struct dpak_flow *f;
	int rc = dpak_flow_add(tbl(table), it, a, NULL, &f);
	if (rc)
		fprintf(stderr, "flow: %s\n", dpak_errmsg());
	assert_int_equal(rc, 0);
	return f;
}

static struct dpak_port_stats stats(uint32_t port)
{
	struct dpak_port_stats s = { .sz = sizeof(s) };
	assert_int_equal(dpak_port_stats(dev, port, &s), 0);
	return s;
}

/* Packets waiting on every host queue (taken and freed). */
static int host_drain(void)
{
	struct dpak_pkt *p[32];
	int total = 0, n;
	for (uint16_t q = 0; q < 64; q++) {
		while ((n = dpak_rx_burst(dev, q, p, 32)) > 0) {
			for (int i = 0; i < n; i++)
				dpak_pkt_free(dev, p[i]);
			total += n;
		}
		if (n < 0)
			break;
	}
	return total;
}

/* Send a frame in and run the device; returns the port something left by
 * (its length in *len), or -1 if nothing left any port. */
static int send_frame(uint32_t port, const uint8_t *f, size_t n, ssize_t *len)
{
	int where = -1;
	assert_int_equal(dpak_hwsim_inject(dev, port, f, n), 0);
	assert_true(dpak_hwsim_run(dev, 0) >= 1);
	for (uint32_t p = 0; p < N_PORTS; p++) {
		ssize_t k = dpak_hwsim_capture(dev, p, out, sizeof(out));
		if (k > 0) {
			assert_int_equal(where, -1); /* one copy, one port */
			where = (int)p;
			if (len)
				*len = k;
		}
	}
	return where;
}

/* dpak-ctl trace of a frame, run in-process; the text the operator reads. */
static char *trace(uint32_t port, const uint8_t *f, size_t n)
{
	static struct ctl_req r;
	char line[CTL_MAX_REQ];
	size_t o = (size_t)snprintf(line, sizeof(line), "DPAK/1 trace port=%u hex=", port);
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(line + o, sizeof(line) - o, "%02x", f[i]);
	assert_int_equal(ctl_parse(line, o, &r), 0);
	char *body = NULL;
	long len = 0;
	int code = ctl_run(dev, &r, &body, &len);
	if (code)
		fprintf(stderr, "trace: %s\n", body);
	assert_int_equal(code, 0);
	return body;
}

static void expect_in(const char *text, const char *needle)
{
	if (!strstr(text, needle)) {
		fprintf(stderr, "trace:\n%s\nlacks \"%s\"\n", text, needle);
		fail();
	}
}

static void expect_not_in(const char *text, const char *needle)
{
	if (strstr(text, needle)) {
		fprintf(stderr, "trace:\n%s\nhas \"%s\"\n", text, needle);
		fail();
	}
}

/* Counters a trace must not move. */
static void same_stats(uint32_t port, const struct dpak_port_stats *a)
{
	struct dpak_port_stats b = stats(port);
	assert_int_equal(a->rx_packets, b.rx_packets);
	assert_int_equal(a->drops, b.drops);
	assert_int_equal(a->drops_action, b.drops_action);
	assert_int_equal(a->rx_misses, b.rx_misses);
}

/* acl: in_port vf0, ipv4, udp dst @dport → vf1. */
static struct dpak_flow *udp_dport_flow(uint16_t dport)
{
	struct dpak_item_port in = { VF0 };
	struct dpak_item_udp u = { .dst_port = htons(dport) }, um = { .dst_port = 0xffff };
	struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_IPV4, NULL, NULL },
				  { DPAK_ITEM_UDP, &u, &um }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port p = { VF1 };
	struct dpak_action a[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &p },
				   { DPAK_ACTION_END, NULL } };
	return add("acl", it, a);
}

static size_t udp4(uint8_t *b, uint16_t dport, uint16_t payload)
{
	struct pkt_spec s = { .dst = { 2, 0, 0, 0, 0, 0xb }, .src = { 2, 0, 0, 0, 0, 0xa },
			      .sip = 0x0a000001, .dip = 0x0a000002, .proto = 17,
			      .sport = 5000, .dport = dport, .payload = payload };
	return pkt_build(b, &s);
}

/* ---- Header lengths ---------------------------------------------------- */

/* The frame: IPv4 total length 20 (no UDP header), the "ports" in
 * the Ethernet padding. */
#define PADDED_UDP "02000000000b02000000000a08004500001400010000401166d60a0000010a000002138800350102"

static void test_padding_is_no_l4_header(void **state)
{
	(void)state;
	uint8_t f[128];
	udp_dport_flow(53);

	/* A real UDP/53 packet is forwarded... */
	size_t n = udp4(f, 53, 18);
	assert_int_equal(send_frame(VF0, f, n, NULL), VF1);
	/* ...the padded frame is not: no L4 match on padding. */
	n = hexframe(f, PADDED_UDP, 60);
	assert_int_equal(n, 60);
	char *t = trace(VF0, f, n);
	expect_in(t, "up to the host (miss)");
	free(t);
	struct dpak_port_stats s0 = stats(VF0);
	assert_int_equal(send_frame(VF0, f, n, NULL), -1);
	assert_int_equal(host_drain(), 1);
	assert_int_equal(stats(VF0).rx_misses, s0.rx_misses + 1);
}

static void ip4_fix_csum(uint8_t *ip)
{
	uint32_t s = 0;
	ip[10] = ip[11] = 0;
	for (int i = 0; i < (ip[0] & 0xf) * 4; i += 2)
		s += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	ip[10] = (uint8_t)(~s >> 8);
	ip[11] = (uint8_t)~s;
}

/* Headers that lie about their lengths, each against a flow on its ports:
 * the rule of docs/DATAPATH.md decides whether the L4 header is there. */
static void test_lying_lengths(void **state)
{
	(void)state;
	uint8_t f[256];
	size_t n;
	udp_dport_flow(53);
	{   /* and tcp dst 80 → vf2 */
		struct dpak_item_port in = { VF0 };
		struct dpak_item_tcp tc = { .dst_port = htons(80) }, tm = { .dst_port = 0xffff };
		struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_IPV4, NULL, NULL },
					  { DPAK_ITEM_TCP, &tc, &tm }, { DPAK_ITEM_END, NULL, NULL } };
		struct dpak_action_port p = { VF2 };
		struct dpak_action a[] = { { DPAK_ACTION_PORT, &p }, { DPAK_ACTION_END, NULL } };
		add("acl", it, a);
	}
	struct pkt_spec tcp = { .dst = { 2, 0, 0, 0, 0, 0xb }, .src = { 2, 0, 0, 0, 0, 0xa },
				.sip = 0x0a000001, .dip = 0x0a000002, .proto = 6,
				.sport = 5000, .dport = 80, .payload = 20 };

	/* TCP: data offset 5 is the good case; < 5, or past the datagram, is
	 * no TCP header. */
	n = pkt_build(f, &tcp);
	assert_int_equal(send_frame(VF0, f, n, NULL), VF2);
	f[14 + 20 + 12] = 4 << 4;
	assert_int_equal(send_frame(VF0, f, n, NULL), -1);
	f[14 + 20 + 12] = 15 << 4; /* 60 bytes of header; 40 in the datagram */
	assert_int_equal(send_frame(VF0, f, n, NULL), -1);
	f[14 + 20 + 12] = 10 << 4; /* 40 bytes: exactly what is there */
	assert_int_equal(send_frame(VF0, f, n, NULL), VF2);

	/* UDP length: 0, 7 and past the IP payload are no UDP header; a
	 * length shorter than the IP payload is a UDP datagram with bytes
	 * after it inside IP. */
	static const struct { uint16_t ulen; int to; } u[] = {
		{ 8 + 18, VF1 }, { 0, -1 }, { 7, -1 }, { 8 + 18 + 1, -1 }, { 8, VF1 },
	};
	for (unsigned i = 0; i < sizeof(u) / sizeof(u[0]); i++) {
		n = udp4(f, 53, 18);
		f[14 + 20 + 4] = (uint8_t)(u[i].ulen >> 8);
		f[14 + 20 + 5] = (uint8_t)u[i].ulen;
		f[14 + 20 + 6] = f[14 + 20 + 7] = 0; /* no checksum */
		if (send_frame(VF0, f, n, NULL) != u[i].to)
			fail_msg("udp length %u: wanted port %d", u[i].ulen, u[i].to);
	}
	host_drain();

	/* IPv4 total length shorter than its own header: no IPv4 layer (the
	 * flow's ipv4 item does not match), no UDP under it. */
	n = udp4(f, 53, 18);
	f[14 + 3] = 19;
	ip4_fix_csum(f + 14);
	assert_int_equal(send_frame(VF0, f, n, NULL), -1);
	/* Total length past the end of the frame: a frame cut short. What is
	 * there whole is parsed: here the UDP header. */
	n = udp4(f, 53, 18);
	f[14 + 3] = 200;
	ip4_fix_csum(f + 14);
	assert_int_equal(send_frame(VF0, f, n, NULL), VF1);
	/* A first fragment: its UDP length covers the whole datagram. */
	n = udp4(f, 53, 18);
	f[14 + 20 + 4] = 0x05, f[14 + 20 + 5] = 0xdc;
	f[14 + 6] = 0x20; /* more fragments */
	ip4_fix_csum(f + 14);
	assert_int_equal(send_frame(VF0, f, n, NULL), VF1);
	host_drain();
}

/* IPv6: the payload length bounds the datagram the same way. */
static void test_ipv6_payload_length(void **state)
{
	(void)state;
	uint8_t f[256];
	struct dpak_item_port in = { VF0 };
	struct dpak_item_udp u = { .dst_port = htons(53) }, um = { .dst_port = 0xffff };
	struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_IPV6, NULL, NULL },
				  { DPAK_ITEM_UDP, &u, &um }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port p = { VF1 };
	struct dpak_action a[] = { { DPAK_ACTION_PORT, &p }, { DPAK_ACTION_END, NULL } };
	add("acl6", it, a);
	struct pkt_spec s = { .dst = { 2, 0, 0, 0, 0, 0xb }, .src = { 2, 0, 0, 0, 0, 0xa },
			      .ipv6 = 1, .sip6 = { 0xfd, [15] = 1 }, .dip6 = { 0xfd, [15] = 2 },
			      .proto = 17, .sport = 5000, .dport = 53, .payload = 4 };
	size_t n = pkt_build(f, &s);
	assert_int_equal(send_frame(VF0, f, n, NULL), VF1);
	/* Payload length 4: the UDP header is not inside the datagram. */
	f[14 + 4] = 0, f[14 + 5] = 4;
	assert_int_equal(send_frame(VF0, f, n, NULL), -1);
	/* Payload length past the frame: cut short, the header is whole. */
	f[14 + 4] = 0x01, f[14 + 5] = 0x00;
	assert_int_equal(send_frame(VF0, f, n, NULL), VF1);
	host_drain();
}

static const uint8_t OUT_A[6] = { 2, 0, 0, 0, 0, 0x1a }, OUT_B[6] = { 2, 0, 0, 0, 0, 0x1b };

/* acl: vxlan vni @vni from uplink0 → decap, vf1; vxlan (any vni) from
 * uplink1 → decap, vf2. */
static void vxlan_flows(uint32_t vni)
{
	struct dpak_item_port in = { UP0 };
	struct dpak_item_vxlan vx = { .vni = { (uint8_t)(vni >> 16), (uint8_t)(vni >> 8),
					       (uint8_t)vni } };
	struct dpak_item_vxlan vxm = { .vni = { 0xff, 0xff, 0xff } };
	struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_IPV4, NULL, NULL },
				  { DPAK_ITEM_UDP, NULL, NULL }, { DPAK_ITEM_VXLAN, &vx, &vxm },
				  { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port p = { VF1 };
	struct dpak_action a[] = { { DPAK_ACTION_VXLAN_DECAP, NULL }, { DPAK_ACTION_PORT, &p },
				   { DPAK_ACTION_END, NULL } };
	add("acl", it, a);

	struct dpak_item_port in2 = { UP1 };
	struct dpak_item it2[] = { { DPAK_ITEM_PORT, &in2, NULL }, { DPAK_ITEM_IPV4, NULL, NULL },
				   { DPAK_ITEM_VXLAN, NULL, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port p2 = { VF2 };
	struct dpak_action a2[] = { { DPAK_ACTION_VXLAN_DECAP, NULL }, { DPAK_ACTION_PORT, &p2 },
				    { DPAK_ACTION_END, NULL } };
	add("acl", it2, a2);
}

/* VXLAN (RFC 7348 section 5): the I flag says the VNI is valid. Without
 * it there is no VXLAN layer: no VNI match, no decap. The inner frame
 * ends where the UDP datagram does. */
static void test_vxlan_i_flag_and_inner_length(void **state)
{
	(void)state;
	uint8_t inner[128], f[256];
	ssize_t len;
	size_t in_len = udp4(inner, 53, 6); /* 48 bytes: no padding of its own */
	vxlan_flows(7);

	size_t n = pkt_vxlan(f, OUT_A, OUT_B, 0xc0a80001, 0xc0a80002, 7, inner, in_len);
	assert_int_equal(send_frame(UP0, f, n, &len), VF1);
	assert_int_equal(len, (ssize_t)in_len);
	assert_memory_equal(out, inner, in_len);

	/* A trailer after the outer IP datagram is not part of the inner frame. */
	memset(f + n, 0xee, 12);
	assert_int_equal(send_frame(UP0, f, n + 12, &len), VF1);
	assert_int_equal(len, (ssize_t)in_len);
	assert_memory_equal(out, inner, in_len);

	/* I flag clear: the VNI is not valid; the tunnel flow does not match. */
	f[14 + 20 + 8] = 0;
	char *t = trace(UP0, f, n);
	expect_not_in(t, "hit");
	free(t);
	assert_int_equal(send_frame(UP0, f, n, NULL), -1);
	assert_int_equal(host_drain(), 1);

	/* A flow on any VXLAN (udp 4789) matches it, but cannot decapsulate:
	 * the packet is dropped and counted. */
	struct dpak_port_stats s0 = stats(UP1);
	assert_int_equal(send_frame(UP1, f, n, NULL), -1);
	assert_int_equal(stats(UP1).drops_action, s0.drops_action + 1);
	f[14 + 20 + 8] = 0x08;
	assert_int_equal(send_frame(UP1, f, n, &len), VF2);
	assert_int_equal(len, (ssize_t)in_len);
}

/* ---- Action lists apply whole --------------------------------------- */

/* acl: vf0, ipv4, tcp → set_ipv4_src 9.9.9.9, set_tp_dst 7777, vf1. */
static void nat_flow(void)
{
	struct dpak_item_port in = { VF0 };
	struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_IPV4, NULL, NULL },
				  { DPAK_ITEM_TCP, NULL, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_set_ipv4 sa = { htonl(0x09090909) };
	struct dpak_action_set_tp tp = { htons(7777) };
	struct dpak_action_port p = { VF1 };
	struct dpak_action a[] = { { DPAK_ACTION_SET_IPV4_SRC, &sa },
				   { DPAK_ACTION_SET_TP_DST, &tp },
				   { DPAK_ACTION_PORT, &p }, { DPAK_ACTION_END, NULL } };
	add("acl", it, a);
}

/* IPv4 and the first 4 bytes of a TCP header. */
#define CUT_TCP "02000000000b02000000000a080045000028123400004006549a0a0000010a00000204d20050"

static void test_partial_actions_drop_whole(void **state)
{
	(void)state;
	uint8_t f[128];
	ssize_t len;
	nat_flow();

	/* A whole TCP packet takes both rewrites, checksums right. */
	struct pkt_spec s = { .dst = { 2, 0, 0, 0, 0, 0xb }, .src = { 2, 0, 0, 0, 0, 0xa },
			      .sip = 0x0a000001, .dip = 0x0a000002, .proto = 6,
			      .sport = 1234, .dport = 80, .payload = 6 };
	size_t n = pkt_build(f, &s);
	assert_int_equal(send_frame(VF0, f, n, &len), VF1);
	assert_int_equal(pkt_rd32(out + 14 + 12), 0x09090909);
	assert_int_equal(pkt_rd16(out + 14 + 20 + 2), 7777);
	assert_true(pkt_ipv4_csum_ok(out + 14));
	assert_true(pkt_l4_csum_ok(out + 14));

	/* The cut one: neither rewrite, nothing sent, one action drop. */
	n = hexframe(f, CUT_TCP, 0);
	struct dpak_port_stats s0 = stats(VF0);
	char *t = trace(VF0, f, n);
	expect_in(t, "dropped: action 1 (set_tp_dst) needs a tcp or udp header");
	free(t);
	same_stats(VF0, &s0); /* the trace counted nothing */
	assert_int_equal(send_frame(VF0, f, n, NULL), -1);
	struct dpak_port_stats s1 = stats(VF0);
	assert_int_equal(s1.drops_action, s0.drops_action + 1);
	assert_int_equal(s1.drops, s0.drops + 1);
	assert_int_equal(host_drain(), 0);
}

/* The same rule for every action that needs a layer: vlan_pop without a
 * tag, dec_ttl without an IP header, set_ipv4 on a lying IPv4 header,
 * set_tp on padding. */
static void test_every_action_needing_a_layer(void **state)
{
	(void)state;
	uint8_t f[128];
	ssize_t len;

	/* l2: vlan_pop for untagged frames to 02:..:0b from vf0. */
	struct dpak_item_port in = { VF0 };
	struct dpak_item_eth e = { .dst = { 2, 0, 0, 0, 0, 0xb } };
	struct dpak_item_eth em = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct dpak_item_vlan vl = { 0 }, vlm = { .tci = 0xffff };
	struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_ETH, &e, &em },
				  { DPAK_ITEM_VLAN, &vl, &vlm }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port p = { VF1 };
	struct dpak_action a[] = { { DPAK_ACTION_VLAN_POP, NULL }, { DPAK_ACTION_PORT, &p },
				   { DPAK_ACTION_END, NULL } };
	add("l2", it, a);
	struct pkt_spec s = { .dst = { 2, 0, 0, 0, 0, 0xb }, .src = { 2, 0, 0, 0, 0, 0xa },
			      .sip = 0x0a000001, .dip = 0x0a000002, .proto = 1, .payload = 8 };
	size_t n = pkt_build(f, &s);
	struct dpak_port_stats s0 = stats(VF0);
	char *t = trace(VF0, f, n);
	expect_in(t, "dropped: action 0 (vlan_pop) needs a vlan tag");
	free(t);
	assert_int_equal(send_frame(VF0, f, n, NULL), -1);
	assert_int_equal(stats(VF0).drops_action, s0.drops_action + 1);

	/* acl from vf2: ipv4 → dec_ttl, set_tp_src 1, vf1; on a frame whose
	 * IPv4 total length is shorter than its header (no IPv4 layer). */
	struct dpak_item_port in2 = { VF2 };
	struct dpak_item it2[] = { { DPAK_ITEM_PORT, &in2, NULL }, { DPAK_ITEM_IPV4, NULL, NULL },
				   { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action a2[] = { { DPAK_ACTION_DEC_TTL, NULL }, { DPAK_ACTION_PORT, &p },
				    { DPAK_ACTION_END, NULL } };
	add("acl", it2, a2);
	n = udp4(f, 53, 18);
	assert_int_equal(send_frame(VF2, f, n, &len), VF1);
	assert_int_equal(out[14 + 8], 63);
	f[14 + 3] = 16;
	ip4_fix_csum(f + 14);
	s0 = stats(VF2);
	t = trace(VF2, f, n);
	expect_in(t, "dropped: action 0 (dec_ttl) needs an ipv4 or ipv6 header");
	free(t);
	assert_int_equal(send_frame(VF2, f, n, NULL), -1);
	assert_int_equal(stats(VF2).drops_action, s0.drops_action + 1);

	/* acl from vf3: ipv4 udp → set_ipv4_dst, set_tp_dst, vf1: the issue's
	 * padded frame has an IPv4 header but no UDP one. */
	struct dpak_item_port in3 = { VF3 };
	struct dpak_item it3[] = { { DPAK_ITEM_PORT, &in3, NULL }, { DPAK_ITEM_IPV4, NULL, NULL },
				   { DPAK_ITEM_UDP, NULL, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_set_ipv4 da = { htonl(0x01020304) };
	struct dpak_action_set_tp tp = { htons(99) };
	struct dpak_action a3[] = { { DPAK_ACTION_SET_IPV4_DST, &da },
				    { DPAK_ACTION_SET_TP_DST, &tp }, { DPAK_ACTION_PORT, &p },
				    { DPAK_ACTION_END, NULL } };
	add("acl", it3, a3);
	n = hexframe(f, PADDED_UDP, 60);
	s0 = stats(VF3);
	assert_int_equal(send_frame(VF3, f, n, NULL), -1);
	assert_int_equal(stats(VF3).drops_action, s0.drops_action + 1);
	n = udp4(f, 53, 18);
	assert_int_equal(send_frame(VF3, f, n, &len), VF1);
	assert_int_equal(pkt_rd16(out + 14 + 20 + 2), 99);
	assert_true(pkt_l4_csum_ok(out + 14));
	assert_int_equal(host_drain(), 0);
}

/* ---- Trace runs the pipeline ---------------------------------------- */

static void test_trace_link_down(void **state)
{
	(void)state;
	uint8_t f[128];
	udp_dport_flow(53);
	size_t n = udp4(f, 53, 18);

	assert_int_equal(dpak_hwsim_set_link(dev, VF0, 0), 0);
	struct dpak_port_stats s0 = stats(VF0);
	char *t = trace(VF0, f, n);
	expect_in(t, "dropped: the port's link is down");
	expect_not_in(t, "out of port");
	free(t);
	same_stats(VF0, &s0);
	assert_int_equal(send_frame(VF0, f, n, NULL), -1);
	assert_int_equal(stats(VF0).drops, s0.drops + 1);
	assert_int_equal(host_drain(), 0);

	assert_int_equal(dpak_hwsim_set_link(dev, VF0, 1), 0);
	t = trace(VF0, f, n);
	expect_in(t, "out of port vf1");
	free(t);
	assert_int_equal(send_frame(VF0, f, n, NULL), VF1);

	/* The egress port's link down: trace says the device drops it. */
	assert_int_equal(dpak_hwsim_set_link(dev, VF1, 0), 0);
	s0 = stats(VF0);
	t = trace(VF0, f, n);
	expect_in(t, "dropped: the link of port vf1 is down");
	expect_not_in(t, "out of port");
	free(t);
	same_stats(VF0, &s0);
	assert_int_equal(send_frame(VF0, f, n, NULL), -1);
	assert_int_equal(stats(VF0).drops, s0.drops + 1);
	assert_int_equal(dpak_hwsim_set_link(dev, VF1, 1), 0);
}

/* An LACPDU (IEEE 802.1AX-2020 6.4.2: slow protocols subtype 1, version 1,
 * actor, partner, collector and terminator TLVs) from 02:..:09. */
static const uint8_t LACPDU[124] = {
	0x01, 0x80, 0xc2, 0, 0, 2, 2, 0, 0, 0, 0, 9, 0x88, 0x09, 1, 1,
	[16] = 1, 20, 0x80, 0, 2, 0, 0, 0, 0, 9, 0, 1, 0x80, 0, 0, 1, 0x3d,
	[36] = 2, 20,
	[56] = 3, 16,
};

static void test_trace_lacpdu_on_member(void **state)
{
	(void)state;
	uint32_t b;

	/* The switch runs LACP: LACPDUs go up to it. */
	DPAK_OPTS(dpak_bond_opts, o, .mode = DPAK_BOND_8023AD, .lacp = DPAK_LACP_SWITCH);
	assert_int_equal(dpak_bond_create(dev, "lag", &o, &b), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, UP0), 0);
	char *t = trace(UP0, LACPDU, sizeof(LACPDU));
	expect_in(t, "up to the host (a protocol frame on a bond member)");
	free(t);
	assert_int_equal(host_drain(), 0); /* the trace delivered nothing */
	assert_int_equal(send_frame(UP0, LACPDU, sizeof(LACPDU), NULL), -1);
	struct dpak_pkt *pk[4];
	assert_int_equal(dpak_rx_burst(dev, 0, pk, 4), 1);
	assert_int_equal(pk[0]->reason, DPAK_RX_PROTOCOL);
	dpak_pkt_free(dev, pk[0]);

	/* The library runs LACP: they go to it, through the control channel. */
	DPAK_OPTS(dpak_bond_opts, o2, .mode = DPAK_BOND_8023AD);
	uint32_t b2;
	assert_int_equal(dpak_bond_create(dev, "lag2", &o2, &b2), 0);
	assert_int_equal(dpak_bond_member_add(dev, b2, UP1), 0);
	struct dpak_bond_member_info mi = { .sz = sizeof(mi) };
	assert_int_equal(dpak_bond_member_info(dev, b2, UP1, &mi), 0);
	uint64_t rx0 = mi.lacpdus_rx;
	t = trace(UP1, LACPDU, sizeof(LACPDU));
	expect_in(t, "to the library's LACP");
	free(t);
	/* (The library's LACP sends its own LACPDUs out of the member.) */
	assert_int_equal(dpak_hwsim_inject(dev, UP1, LACPDU, sizeof(LACPDU)), 0);
	assert_true(dpak_hwsim_run(dev, 0) >= 1);
	assert_int_equal(host_drain(), 0);
	/* The library's LACP takes it (in its own thread). */
	for (int i = 0; i < 2000 && mi.lacpdus_rx == rx0; i++) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
		assert_int_equal(dpak_bond_member_info(dev, b2, UP1, &mi), 0);
	}
	assert_int_equal(mi.lacpdus_rx, rx0 + 1);
}

static void test_trace_bond_member(void **state)
{
	(void)state;
	uint8_t f[128];
	uint32_t b;
	ssize_t len;
	DPAK_OPTS(dpak_bond_opts, o, .mode = DPAK_BOND_ACTIVE_BACKUP);
	assert_int_equal(dpak_bond_create(dev, "ab", &o, &b), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, UP0), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, UP1), 0);

	/* in_port = the bond → vf1; vf0 → the bond. */
	struct dpak_item_port in = { b };
	struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port p = { VF1 };
	struct dpak_action a[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &p },
				   { DPAK_ACTION_END, NULL } };
	add("acl", it, a);
	struct dpak_item_port in2 = { VF0 };
	struct dpak_item it2[] = { { DPAK_ITEM_PORT, &in2, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port p2 = { b };
	struct dpak_action a2[] = { { DPAK_ACTION_PORT, &p2 }, { DPAK_ACTION_END, NULL } };
	add("acl", it2, a2);

	size_t n = udp4(f, 53, 18);
	/* Received on the active member: as on the bond. */
	char *t = trace(UP0, f, n);
	expect_in(t, "on uplink0, as ab");
	expect_in(t, "out of port vf1");
	free(t);
	assert_int_equal(send_frame(UP0, f, n, NULL), VF1);

	/* Out through the bond: the member the device picks. */
	t = trace(VF0, f, n);
	expect_in(t, "out of port ab (member uplink0)");
	free(t);
	assert_int_equal(send_frame(VF0, f, n, &len), UP0);
	/* The active member goes down: trace and traffic both fail over,
	 * and the trace left the bond's choice to the traffic. */
	assert_int_equal(dpak_hwsim_set_link(dev, UP0, 0), 0);
	t = trace(VF0, f, n);
	expect_in(t, "out of port ab (member uplink1)");
	free(t);
	assert_int_equal(send_frame(VF0, f, n, &len), UP1);
	/* No member left: both say dropped. */
	assert_int_equal(dpak_hwsim_set_link(dev, UP1, 0), 0);
	t = trace(VF0, f, n);
	expect_in(t, "dropped: no member of port ab can take it");
	free(t);
	assert_int_equal(send_frame(VF0, f, n, NULL), -1);
	assert_int_equal(host_drain(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_padding_is_no_l4_header, up, down),
		cmocka_unit_test_setup_teardown(test_lying_lengths, up, down),
		cmocka_unit_test_setup_teardown(test_ipv6_payload_length, up, down),
		cmocka_unit_test_setup_teardown(test_vxlan_i_flag_and_inner_length, up, down),
		cmocka_unit_test_setup_teardown(test_partial_actions_drop_whole, up, down),
		cmocka_unit_test_setup_teardown(test_every_action_needing_a_layer, up, down),
		cmocka_unit_test_setup_teardown(test_trace_link_down, up, down),
		cmocka_unit_test_setup_teardown(test_trace_lacpdu_on_member, up, down),
		cmocka_unit_test_setup_teardown(test_trace_bond_member, up, down),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
