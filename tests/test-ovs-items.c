/* SPDX-License-Identifier: MIT */
/*
 * The items and actions an Open vSwitch megaflow needs (since 0.2.0), with
 * real packets through hwsim: SCTP ports; IPv4 and IPv6 fragment state
 * (not a fragment, first, later; later fragments have no L4 fields); the
 * VLAN tag count; set_ipv6_src/dst with valid TCP, UDP and ICMPv6
 * checksums; set_ttl; the rss fate; VXLAN over IPv6 (outer headers, UDP
 * checksum, the egress MTU); dpak_port_set_rx_queues(); what validation
 * refuses; configinfo/ovs.conf holding a megaflow of each kind; and
 * dpak-ctl printing the new actions.
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
#include <arpa/inet.h>
#include <cmocka.h>
#include <dpak/dpak.h>
#include "devspec.h"
#include "ctl.h"
#include "pkt.h"

/* Ports of "hwsim:": uplink0 uplink1 pf0 vf0 vf1 vf2 vf3 */
enum { UP0, UP1, PF0, VF0, VF1, VF2, VF3, N_PORTS };
#define N_QUEUES 8

static struct dpak_dev *dev;
static uint8_t out[4096];

static const char *CI =
	"device key-sizes=10,26,42,58 max-action-bytes=128\n"
	/* 15 bytes of fields: a 26-byte key */
	"table name=v4 type=wildcard capacity=1024 priorities=16 miss=next "
	"key=in_port,eth_type,vlan_tags,ip_proto,ip_frag,ipv4_dst,l4_src,l4_dst\n"
	/* 26 bytes */
	"table name=v6 type=wildcard capacity=1024 priorities=16 miss=next "
	"key=in_port,eth_type,ip_proto,ip_frag,ipv6_dst,l4_src,l4_dst\n"
	/* none of the new actions allowed */
	"table name=plain type=wildcard capacity=64 priorities=4 miss=host "
	"key=in_port,eth_type actions=port,drop,queue,count,mark\n";

static int up(void **state)
{
	(void)state;
	DPAK_OPTS(dpak_dev_opts, o, .configinfo_text = CI, .queues = N_QUEUES);
	dev = dpak_dev_open(test_devspec(""), &o);
	if (!dev)
		fprintf(stderr, "open: %s\n", dpak_errmsg());
	return dev ? 0 : -1;
}

static int down(void **state)
{
	(void)state;
	dpak_dev_close(dev);
	dev = NULL;
	return 0;
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static const uint8_t MAC_D[6] = { 2, 0, 0, 0, 0, 0xb }, MAC_S[6] = { 2, 0, 0, 0, 0, 0xa };
static const uint8_t A6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 };
static const uint8_t B6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2 };

/* Ethernet header with @tags VLAN tags (802.1ad outer, 802.1Q inner). */
static size_t eth(uint8_t *b, int tags, uint16_t type)
{
	size_t o = 12;

	memcpy(b, MAC_D, 6);
	memcpy(b + 6, MAC_S, 6);
	for (int t = 0; t < tags; t++, o += 4) {
		wr16(b + o, t == 0 && tags > 1 ? 0x88a8 : 0x8100);
		wr16(b + o + 2, (uint16_t)(100 + t));
	}
	wr16(b + o, type);
	return o + 2;
}

/* An IPv4 packet 10.0.0.1 -> 10.0.0.2 with flags+offset @frag (host
 * order) carrying @l4 (@n bytes). */
static size_t ip4(uint8_t *b, int tags, uint8_t proto, uint16_t frag,
		  const uint8_t *l4, size_t n)
{
	size_t o = eth(b, tags, 0x0800);
	uint8_t *ip = b + o;
	uint32_t s = 0;

	memset(ip, 0, 20);
	ip[0] = 0x45;
	wr16(ip + 2, (uint16_t)(20 + n));
	wr16(ip + 4, 0x4242);
	wr16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = proto;
	ip[12] = 10, ip[15] = 1;
	ip[16] = 10, ip[19] = 2;
	for (int i = 0; i < 20; i += 2)
		s += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	wr16(ip + 10, (uint16_t)~s);
	memcpy(ip + 20, l4, n);
	return o + 20 + n;
}

/* An IPv6 packet A6 -> B6 carrying @l4 after a Fragment header (offset in
 * 8-byte units, @more: M flag) if @frag_off >= 0, else directly. */
static size_t ip6(uint8_t *b, uint8_t nh, int frag_off, int more,
		  const uint8_t *l4, size_t n)
{
	size_t o = eth(b, 0, 0x86dd), h = frag_off >= 0 ? 8 : 0;
	uint8_t *ip = b + o;

	memset(ip, 0, 40);
	ip[0] = 0x60;
	wr16(ip + 4, (uint16_t)(h + n));
	ip[6] = frag_off >= 0 ? 44 : nh;
	ip[7] = 64;
	memcpy(ip + 8, A6, 16);
	memcpy(ip + 24, B6, 16);
	if (h) {
		uint8_t *f = ip + 40;
		f[0] = nh;
		f[1] = 0;
		wr16(f + 2, (uint16_t)(frag_off << 3 | (more ? 1 : 0)));
		f[4] = 0, f[5] = 0, f[6] = 0x12, f[7] = 0x34;
	}
	memcpy(ip + 40 + h, l4, n);
	return o + 40 + h + n;
}

/* A UDP (or TCP/SCTP-shaped) L4 header: ports, and for UDP its length. */
static size_t udp(uint8_t *l4, uint16_t sport, uint16_t dport, size_t payload)
{
	memset(l4, 0, 8 + payload);
	wr16(l4, sport);
	wr16(l4 + 2, dport);
	wr16(l4 + 4, (uint16_t)(8 + payload));
	for (size_t i = 0; i < payload; i++)
		l4[8 + i] = (uint8_t)i;
	return 8 + payload;
}

/* An SCTP common header (12 bytes) and a 16-byte DATA chunk. */
static size_t sctp(uint8_t *l4, uint16_t sport, uint16_t dport)
{
	memset(l4, 0, 28);
	wr16(l4, sport);
	wr16(l4 + 2, dport);
	l4[4] = 0xca, l4[7] = 0xfe; /* verification tag */
	l4[12] = 0;                  /* DATA */
	wr16(l4 + 14, 16);
	return 28;
}

static struct dpak_table *tbl(const char *name)
{
	struct dpak_table *t = dpak_table_get(dev, name);
	assert_non_null(t);
	return t;
}

static struct dpak_flow *add_p(const char *table, const struct dpak_item *it,
			       const struct dpak_action *a, uint32_t prio)
{
	struct dpak_flow *f;
	DPAK_OPTS(dpak_flow_opts, o, .priority = prio);
	int rc = dpak_flow_add(tbl(table), it, a, &o, &f);
	if (rc)
		fprintf(stderr, "flow: %s\n", dpak_errmsg());
	assert_int_equal(rc, 0);
	return f;
}

static struct dpak_flow *add(const char *table, const struct dpak_item *it,
			     const struct dpak_action *a)
{
	return add_p(table, it, a, 0);
}

static struct dpak_port_stats stats(uint32_t port)
{
	struct dpak_port_stats s = { .sz = sizeof(s) };
	assert_int_equal(dpak_port_stats(dev, port, &s), 0);
	return s;
}

/* Host packets: taken from every queue; each checked by @check (may be
 * NULL) with its queue; returns how many. */
static int host_take(void (*check)(const struct dpak_pkt *p, uint16_t q, void *ctx),
		     void *ctx)
{
	struct dpak_pkt *p[32];
	int total = 0, n;

	for (uint16_t q = 0; q < N_QUEUES; q++)
		while ((n = dpak_rx_burst(dev, q, p, 32)) > 0) {
			for (int i = 0; i < n; i++) {
				if (check)
					check(p[i], q, ctx);
				dpak_pkt_free(dev, p[i]);
			}
			total += n;
		}
	return total;
}

/* Send a frame in from @port and run the device; returns the port it
 * left by (its length in *len), -2 if it went up to the host, -1 if it
 * went nowhere. */
static int send_frame(uint32_t port, const uint8_t *f, size_t n, ssize_t *len)
{
	int where = -1;

	assert_int_equal(dpak_hwsim_inject(dev, port, f, n), 0);
	assert_true(dpak_hwsim_run(dev, 0) >= 1);
	for (uint32_t p = 0; p < N_PORTS; p++) {
		ssize_t k = dpak_hwsim_capture(dev, p, out, sizeof(out));
		if (k > 0) {
			assert_int_equal(where, -1);
			where = (int)p;
			if (len)
				*len = k;
		}
	}
	if (host_take(NULL, NULL)) {
		assert_int_equal(where, -1);
		where = -2;
	}
	return where;
}

#define PORT_IT(p) { DPAK_ITEM_PORT, &(struct dpak_item_port){ (p) }, NULL }
#define END_IT { DPAK_ITEM_END, NULL, NULL }
#define TO(p) { DPAK_ACTION_PORT, &(struct dpak_action_port){ (p) } }
#define END_A { DPAK_ACTION_END, NULL }

/* dpak-ctl run in-process; the text the operator reads. */
static char *ctl(const char *cmd)
{
	static struct ctl_req r;
	char *body = NULL;
	long len = 0;

	assert_int_equal(ctl_parse(cmd, strlen(cmd), &r), 0);
	int code = ctl_run(dev, &r, &body, &len);
	if (code)
		fprintf(stderr, "%s: %s\n", cmd, body);
	assert_int_equal(code, 0);
	return body;
}

/* dpak-ctl trace of a frame received on @port. */
static char *trace(uint32_t port, const uint8_t *f, size_t n)
{
	char line[CTL_MAX_REQ];
	size_t o = (size_t)snprintf(line, sizeof(line), "DPAK/1 trace port=%u hex=", port);

	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(line + o, sizeof(line) - o, "%02x", f[i]);
	return ctl(line);
}

static void expect_in(const char *text, const char *needle)
{
	if (!strstr(text, needle)) {
		fprintf(stderr, "text:\n%s\nlacks \"%s\"\n", text, needle);
		fail();
	}
}

/* --- capabilities and names ------------------------------------------- */

static void test_caps(void **state)
{
	(void)state;
	struct dpak_dev_info di = { .sz = sizeof(di) };

	assert_int_equal(dpak_dev_info(dev, &di), 0);
	for (int t = DPAK_ITEM_SCTP; t <= DPAK_ITEM_VLAN_TAGS; t++)
		assert_true(di.item_types & (1ull << t));
	for (int a = DPAK_ACTION_SET_IPV6_SRC; a <= DPAK_ACTION_VXLAN_ENCAP6; a++)
		assert_true(di.action_types & (1ull << a));
	assert_int_equal(di.max_push_bytes, 128);
	assert_string_equal(dpak_field_name(DPAK_FIELD_IP_FRAG), "ip_frag");
	assert_string_equal(dpak_field_name(DPAK_FIELD_VLAN_TAGS), "vlan_tags");
	assert_null(dpak_field_name(DPAK_FIELD_MAX));

	struct dpak_table_info ti = { .sz = sizeof(ti) };
	assert_int_equal(dpak_table_info(tbl("v4"), &ti), 0);
	assert_true(ti.key_fields & (1ull << DPAK_FIELD_IP_FRAG));
	assert_true(ti.key_fields & (1ull << DPAK_FIELD_VLAN_TAGS));
	assert_true(ti.action_types & (1ull << DPAK_ACTION_RSS));
	assert_int_equal(dpak_table_info(tbl("plain"), &ti), 0);
	assert_false(ti.action_types & (1ull << DPAK_ACTION_RSS));
}

/* --- SCTP --------------------------------------------------------------- */

static void test_sctp_ports(void **state)
{
	(void)state;
	uint8_t f[256], l4[64];
	struct dpak_item_sctp sp = { .dst_port = htons(5000) }, spm = { .dst_port = 0xffff };
	struct dpak_item_sctp sp6 = { .src_port = htons(7) }, sp6m = { .src_port = 0xffff };
	struct dpak_item it[] = { PORT_IT(VF0), { DPAK_ITEM_IPV4, NULL, NULL },
				  { DPAK_ITEM_SCTP, &sp, &spm }, END_IT };
	struct dpak_item it6[] = { PORT_IT(VF0), { DPAK_ITEM_IPV6, NULL, NULL },
				   { DPAK_ITEM_SCTP, &sp6, &sp6m }, END_IT };
	struct dpak_action a0[] = { TO(UP0), END_A }, a1[] = { TO(UP1), END_A };

	add("v4", it, a0);
	add("v6", it6, a1);
	/* SCTP to port 5000: the flow */
	assert_int_equal(send_frame(VF0, f, ip4(f, 0, 132, 0, l4, sctp(l4, 9, 5000)), NULL), UP0);
	/* another port, or UDP / TCP to 5000 (ip_proto 132 is implied): misses */
	assert_int_equal(send_frame(VF0, f, ip4(f, 0, 132, 0, l4, sctp(l4, 9, 5001)), NULL), -2);
	assert_int_equal(send_frame(VF0, f, ip4(f, 0, 17, 0, l4, udp(l4, 9, 5000, 20)), NULL), -2);
	size_t n = sctp(l4, 9, 5000);
	l4[12] = 0x50; /* as a TCP data offset */
	assert_int_equal(send_frame(VF0, f, ip4(f, 0, 6, 0, l4, n), NULL), -2);
	/* an IP payload shorter than the 12-byte common header: no SCTP
	 * layer, its ports read zero (DATAPATH.md, header lengths) */
	sctp(l4, 9, 5000);
	assert_int_equal(send_frame(VF0, f, ip4(f, 0, 132, 0, l4, 11), NULL), -2);
	assert_int_equal(send_frame(VF0, f, ip4(f, 0, 132, 0, l4, 12), NULL), UP0);
	/* over IPv6, by the source port */
	assert_int_equal(send_frame(VF0, f, ip6(f, 132, -1, 0, l4, sctp(l4, 7, 1)), NULL), UP1);
	assert_int_equal(send_frame(VF0, f, ip6(f, 132, -1, 0, l4, sctp(l4, 8, 1)), NULL), -2);

	/* a second l4 item is refused */
	struct dpak_item two[] = { { DPAK_ITEM_IPV4, NULL, NULL }, { DPAK_ITEM_UDP, NULL, NULL },
				   { DPAK_ITEM_SCTP, &sp, NULL }, END_IT };
	assert_int_equal(dpak_flow_validate(tbl("v4"), two, a0, NULL), -EINVAL);
	expect_in(dpak_errmsg(), "item 2 (sctp): a flow matches one l4 header");
}

/* --- fragments ---------------------------------------------------------- */

/* Flows of OVS's three nw_frag values (and one that can never hit: a later
 * fragment has no UDP ports), for IPv4 (@v6 0) or IPv6. */
static void frag_flows(int v6)
{
	const char *t = v6 ? "v6" : "v4";
	int ip = v6 ? DPAK_ITEM_IPV6 : DPAK_ITEM_IPV4;
	struct dpak_item_ip_frag no = { 0 }, first = { DPAK_IP_FRAG_IS },
		later = { DPAK_IP_FRAG_IS | DPAK_IP_FRAG_LATER };
	struct dpak_item_udp u53 = { .dst_port = htons(53) };
	struct dpak_item_udp u53m = { .dst_port = 0xffff };

	struct dpak_item never[] = { PORT_IT(VF0), { ip, NULL, NULL },
				     { DPAK_ITEM_IP_FRAG, &later, NULL },
				     { DPAK_ITEM_UDP, &u53, &u53m }, END_IT };
	struct dpak_item i_later[] = { PORT_IT(VF0), { ip, NULL, NULL },
				       { DPAK_ITEM_IP_FRAG, &later, NULL }, END_IT };
	struct dpak_item i_first[] = { PORT_IT(VF0), { ip, NULL, NULL },
				       { DPAK_ITEM_IP_FRAG, &first, NULL },
				       { DPAK_ITEM_UDP, &u53, &u53m }, END_IT };
	struct dpak_item i_no[] = { PORT_IT(VF0), { ip, NULL, NULL },
				    { DPAK_ITEM_IP_FRAG, &no, NULL },
				    { DPAK_ITEM_UDP, &u53, &u53m }, END_IT };
	struct dpak_action a_up0[] = { TO(UP0), END_A }, a_up1[] = { TO(UP1), END_A },
		a_pf0[] = { TO(PF0), END_A }, a_vf1[] = { TO(VF1), END_A };

	add_p(t, never, a_up0, 0);
	add_p(t, i_later, a_up1, 1);
	add_p(t, i_first, a_pf0, 1);
	add_p(t, i_no, a_vf1, 1);
}

static void test_frag_ipv4(void **state)
{
	(void)state;
	uint8_t f[256], l4[64];
	size_t n = udp(l4, 1000, 53, 40);

	frag_flows(0);
	/* not a fragment (DF set is no fragment) */
	assert_int_equal(send_frame(VF0, f, ip4(f, 0, 17, 0, l4, n), NULL), VF1);
	assert_int_equal(send_frame(VF0, f, ip4(f, 0, 17, 0x4000, l4, n), NULL), VF1);
	/* first fragment: MF, offset 0 (its UDP length covers more than it holds) */
	wr16(l4 + 4, 1000);
	assert_int_equal(send_frame(VF0, f, ip4(f, 0, 17, 0x2000, l4, n), NULL), PF0);
	/* later fragments, with and without MF: bytes that look like UDP port
	 * 53 at the L4 position are no L4 header */
	assert_int_equal(send_frame(VF0, f, ip4(f, 0, 17, 0x2000 | 185, l4, n), NULL), UP1);
	assert_int_equal(send_frame(VF0, f, ip4(f, 0, 17, 185, l4, n), NULL), UP1);
	assert_int_equal(stats(UP0).tx_packets, 0);
}

static void test_frag_ipv6(void **state)
{
	(void)state;
	uint8_t f[256], l4[64];
	size_t n = udp(l4, 1000, 53, 40);

	frag_flows(1);
	assert_int_equal(send_frame(VF0, f, ip6(f, 17, -1, 0, l4, n), NULL), VF1);
	/* the Fragment header's next header is the protocol: the first
	 * fragment matches udp port 53 */
	wr16(l4 + 4, 1000);
	assert_int_equal(send_frame(VF0, f, ip6(f, 17, 0, 1, l4, n), NULL), PF0);
	/* an atomic fragment (offset 0, no M) is a first fragment too */
	wr16(l4 + 4, (uint16_t)n);
	assert_int_equal(send_frame(VF0, f, ip6(f, 17, 0, 0, l4, n), NULL), PF0);
	assert_int_equal(send_frame(VF0, f, ip6(f, 17, 100, 1, l4, n), NULL), UP1);
	assert_int_equal(send_frame(VF0, f, ip6(f, 17, 100, 0, l4, n), NULL), UP1);
	assert_int_equal(stats(UP0).tx_packets, 0);
	/* a Fragment header cut short: no fragment state, no L4 */
	size_t k = ip6(f, 17, 0, 1, l4, 0);
	wr16(f + 14 + 4, 4);
	assert_int_equal(send_frame(VF0, f, k - 4, NULL), -2);
}

/* --- VLAN tag count ----------------------------------------------------- */

static void test_vlan_tags(void **state)
{
	(void)state;
	uint8_t f[256], l4[64];
	size_t n = udp(l4, 1, 2, 20);
	uint32_t to[3] = { UP0, UP1, PF0 };

	for (uint8_t k = 0; k < 3; k++) {
		struct dpak_item_vlan_tags vt = { k };
		struct dpak_item it[] = { PORT_IT(VF0), { DPAK_ITEM_VLAN_TAGS, &vt, NULL }, END_IT };
		struct dpak_action a[] = { TO(to[k]), END_A };
		add("v4", it, a);
	}
	for (int k = 0; k < 3; k++)
		assert_int_equal(send_frame(VF0, f, ip4(f, k, 17, 0, l4, n), NULL), (int)to[k]);
	/* non-IP frames count their tags too; a third tag reads as 2 */
	size_t e = eth(f, 1, 0x0806);
	memset(f + e, 0, 28);
	assert_int_equal(send_frame(VF0, f, e + 28, NULL), UP1);
	e = eth(f, 3, 0x0806);
	memset(f + e, 0, 28);
	assert_int_equal(send_frame(VF0, f, e + 28, NULL), PF0);
}

/* --- set_ipv6_src/dst ----------------------------------------------------- */

static void test_set_ipv6(void **state)
{
	(void)state;
	static const uint8_t NS[16] = { 0xfd, 0, 0, 0, 0, 0, 0, 0, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x12, 0x34 };
	static const uint8_t ND[16] = { 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0x99 };
	struct dpak_action_set_ipv6 s = { { 0 } }, d = { { 0 } };
	memcpy(s.addr, NS, 16);
	memcpy(d.addr, ND, 16);
	struct dpak_action a[] = { { DPAK_ACTION_SET_IPV6_SRC, &s },
				   { DPAK_ACTION_SET_IPV6_DST, &d }, TO(UP0), END_A };
	struct dpak_action a_dst[] = { { DPAK_ACTION_SET_IPV6_DST, &d }, TO(UP1), END_A };
	uint8_t protos[3] = { 6, 17, 58 };

	for (int i = 0; i < 3; i++) {
		struct dpak_item_ipv6 ip = { .proto = protos[i] }, ipm = { .proto = 0xff };
		struct dpak_item it[] = { PORT_IT(VF0), { DPAK_ITEM_IPV6, &ip, &ipm }, END_IT };
		add("v6", it, i == 2 ? a_dst : a);
	}
	for (int i = 0; i < 3; i++) {
		struct pkt_spec ps = { .ipv6 = 1, .proto = protos[i], .sport = 4000,
				       .dport = 80, .icmp_type = 128, .payload = 33 };
		uint8_t f[256];
		ssize_t len = 0;
		memcpy(ps.dst, MAC_D, 6);
		memcpy(ps.src, MAC_S, 6);
		memcpy(ps.sip6, A6, 16);
		memcpy(ps.dip6, B6, 16);
		size_t n = pkt_build(f, &ps);
		pkt_l4_csum6_set(f + 14); /* ICMPv6 sums the pseudo-header too */
		assert_true(pkt_l4_csum6_ok(f + 14));
		int to = send_frame(VF0, f, n, &len);
		assert_int_equal(to, i == 2 ? UP1 : UP0);
		assert_int_equal(len, (ssize_t)n);
		assert_memory_equal(out + 14 + 8, i == 2 ? A6 : NS, 16);
		assert_memory_equal(out + 14 + 24, ND, 16);
		/* the checksum, recomputed, is right: byte-exact */
		assert_true(pkt_l4_csum6_ok(out + 14));
		/* and nothing else changed: Ethernet, the IPv6 header's first
		 * 8 bytes, the ports (type, code), the payload */
		assert_memory_equal(out, f, 14 + 8);
		assert_memory_equal(out + 14 + 40, f + 14 + 40, i == 2 ? 2 : 4);
		assert_memory_equal(out + n - 33, f + n - 33, 33);
		assert_int_not_equal(pkt_rd16(out + 14 + 40 + (i == 0 ? 16 : i == 1 ? 6 : 2)),
				     pkt_rd16(f + 14 + 40 + (i == 0 ? 16 : i == 1 ? 6 : 2)));
	}

	/* needs an ipv6 item */
	struct dpak_item it4[] = { { DPAK_ITEM_IPV4, NULL, NULL }, END_IT };
	assert_int_equal(dpak_flow_validate(tbl("v4"), it4, a, NULL), -ENOTSUP);
	expect_in(dpak_errmsg(), "action 0 (set_ipv6_src): the match must include an ipv6 item");
}

/* --- set_ttl -------------------------------------------------------------- */

static void test_set_ttl(void **state)
{
	(void)state;
	struct dpak_action_set_ttl t7 = { 7 }, t9 = { 9 };
	struct dpak_item i4[] = { PORT_IT(VF0), { DPAK_ITEM_IPV4, NULL, NULL }, END_IT };
	struct dpak_item i6[] = { PORT_IT(VF0), { DPAK_ITEM_IPV6, NULL, NULL }, END_IT };
	struct dpak_action a4[] = { { DPAK_ACTION_SET_TTL, &t7 }, TO(UP0), END_A };
	struct dpak_action a6[] = { { DPAK_ACTION_SET_TTL, &t9 }, TO(UP1), END_A };
	uint8_t f[256];
	ssize_t len;

	add("v4", i4, a4);
	add("v6", i6, a6);
	for (int v6 = 0; v6 < 2; v6++) {
		struct pkt_spec ps = { .ipv6 = v6, .proto = 6, .sip = 0x0a000001,
				       .dip = 0x0a000002, .sport = 1, .dport = 2,
				       .ttl = 200, .payload = 10 };
		memcpy(ps.sip6, A6, 16);
		memcpy(ps.dip6, B6, 16);
		size_t n = pkt_build(f, &ps);
		assert_int_equal(send_frame(VF0, f, n, &len), v6 ? UP1 : UP0);
		if (v6) {
			assert_int_equal(out[14 + 7], 9);
			assert_true(pkt_l4_csum6_ok(out + 14));
		} else {
			assert_int_equal(out[14 + 8], 7);
			assert_true(pkt_ipv4_csum_ok(out + 14));
			assert_true(pkt_l4_csum_ok(out + 14));
			assert_int_not_equal(pkt_rd16(out + 14 + 10), pkt_rd16(f + 14 + 10));
		}
	}
	/* needs an IP item */
	struct dpak_item none[] = { PORT_IT(VF0), END_IT };
	assert_int_equal(dpak_flow_validate(tbl("v4"), none, a4, NULL), -ENOTSUP);
	expect_in(dpak_errmsg(), "action 0 (set_ttl): the match must include an ipv4 or ipv6 item");
}

/* --- rss ------------------------------------------------------------------ */

struct rss_ctx {
	const struct dpak_action_rss *rss;
	uint32_t port, mark, table, reason;
	int per_q[N_QUEUES];
};

static void rss_check(const struct dpak_pkt *p, uint16_t q, void *arg)
{
	struct rss_ctx *c = arg;

	assert_int_equal(p->port, c->port);
	assert_int_equal(p->mark, c->mark);
	assert_int_equal(p->reason, c->reason);
	assert_int_equal(p->table, c->table);
	/* the listed queue the flow hash names */
	assert_int_equal(q, c->rss->queues[p->hash % c->rss->n]);
	c->per_q[q]++;
}

static void test_rss(void **state)
{
	(void)state;
	struct dpak_action_rss rss = { .n = 3, .queues = { 2, 5, 6 } };
	struct dpak_action_mark mk = { 77 };
	struct dpak_item it[] = { PORT_IT(VF0), { DPAK_ITEM_IPV4, NULL, NULL },
				  { DPAK_ITEM_UDP, NULL, NULL }, END_IT };
	struct dpak_action a[] = { { DPAK_ACTION_MARK, &mk }, { DPAK_ACTION_RSS, &rss }, END_A };
	struct rss_ctx c = { .rss = &rss, .port = VF0, .mark = 77, .table = 0,
			     .reason = DPAK_RX_ACTION };
	uint8_t f[256], l4[64];

	add("v4", it, a);
	for (uint16_t i = 0; i < 120; i++)
		assert_int_equal(dpak_hwsim_inject(dev, VF0, f,
						   ip4(f, 0, 17, 0, l4, udp(l4, (uint16_t)(1000 + i), 53, 8))), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 120);
	assert_int_equal(host_take(rss_check, &c), 120);
	for (int q = 0; q < N_QUEUES; q++)
		if (q == 2 || q == 5 || q == 6)
			assert_true(c.per_q[q] > 0); /* every listed queue used */
		else
			assert_int_equal(c.per_q[q], 0); /* and no other */
	/* trace names the queue the packet then goes to */
	size_t n = ip4(f, 0, 17, 0, l4, udp(l4, 1000, 53, 8));
	char *t = trace(VF0, f, n);
	expect_in(t, "up to host queue ");
	char want[64];
	assert_int_equal(dpak_hwsim_inject(dev, VF0, f, n), 0);
	dpak_hwsim_run(dev, 0);
	memset(c.per_q, 0, sizeof(c.per_q));
	assert_int_equal(host_take(rss_check, &c), 1);
	for (int q = 0; q < N_QUEUES; q++)
		if (c.per_q[q]) {
			snprintf(want, sizeof(want), "up to host queue %d", q);
			expect_in(t, want);
		}
	free(t);

	/* n and the queues are checked */
	struct dpak_action_rss bad = { .n = 0 };
	struct dpak_action ab[] = { { DPAK_ACTION_RSS, &bad }, END_A };
	assert_int_equal(dpak_flow_validate(tbl("v4"), it, ab, NULL), -ERANGE);
	expect_in(dpak_errmsg(), "action 0 (rss): n 0 out of range (1-16)");
	bad.n = 17;
	assert_int_equal(dpak_flow_validate(tbl("v4"), it, ab, NULL), -ERANGE);
	bad = (struct dpak_action_rss){ .n = 2, .queues = { 1, N_QUEUES } };
	assert_int_equal(dpak_flow_validate(tbl("v4"), it, ab, NULL), -ERANGE);
	expect_in(dpak_errmsg(), "action 0 (rss): queues[1] 8 does not exist (device has 8 receive queues)");
	/* a fate: not with another */
	struct dpak_action two[] = { { DPAK_ACTION_RSS, &rss }, TO(UP0), END_A };
	assert_int_equal(dpak_flow_validate(tbl("v4"), it, two, NULL), -EINVAL);
	expect_in(dpak_errmsg(), "a second fate action");
	struct dpak_action nofate[] = { { DPAK_ACTION_MARK, &mk }, END_A };
	assert_int_equal(dpak_flow_validate(tbl("v4"), it, nofate, NULL), -EINVAL);
	expect_in(dpak_errmsg(), "no fate action (port, drop, queue, rss or jump)");
}

/* --- VXLAN over IPv6 ------------------------------------------------------ */

static void test_vxlan_encap6(void **state)
{
	(void)state;
	struct dpak_action_vxlan_encap6 e = {
		.eth_dst = { 2, 0, 0, 0, 0xee, 1 }, .eth_src = { 2, 0, 0, 0, 0xee, 2 },
		.hop_limit = 0, .tclass = 0xb8, .udp_src = 0, .vni = 0x123456 };
	memcpy(e.ipv6_src, A6, 16);
	memcpy(e.ipv6_dst, B6, 16);
	struct dpak_item it[] = { PORT_IT(VF0), { DPAK_ITEM_IPV4, NULL, NULL },
				  { DPAK_ITEM_UDP, NULL, NULL }, END_IT };
	struct dpak_action a[] = { { DPAK_ACTION_COUNT, NULL },
				   { DPAK_ACTION_VXLAN_ENCAP6, &e }, TO(UP1), END_A };
	uint8_t f[256], l4[200];
	ssize_t len = 0;

	add("v4", it, a);
	size_t n = ip4(f, 0, 17, 0, l4, udp(l4, 1234, 4321, 100));
	assert_int_equal(n, 142);
	assert_int_equal(send_frame(VF0, f, n, &len), UP1);
	assert_int_equal(len, (ssize_t)n + 70);
	const uint8_t *ip = out + 14, *u = ip + 40, *vx = u + 8;
	assert_memory_equal(out, e.eth_dst, 6);
	assert_memory_equal(out + 6, e.eth_src, 6);
	assert_int_equal(pkt_rd16(out + 12), 0x86dd);
	assert_int_equal(ip[0] >> 4, 6);
	assert_int_equal((ip[0] & 0xf) << 4 | ip[1] >> 4, 0xb8); /* traffic class */
	assert_int_equal(pkt_rd32(ip) & 0xfffff, 0);              /* flow label */
	assert_int_equal(pkt_rd16(ip + 4), 8 + 8 + n);            /* payload length */
	assert_int_equal(ip[6], 17);
	assert_int_equal(ip[7], 64);                              /* 0 means 64 */
	assert_memory_equal(ip + 8, A6, 16);
	assert_memory_equal(ip + 24, B6, 16);
	assert_true(pkt_rd16(u) >= 49152);                        /* from the hash */
	assert_int_equal(pkt_rd16(u + 2), 4789);
	assert_int_equal(pkt_rd16(u + 4), 8 + 8 + n);
	assert_int_not_equal(pkt_rd16(u + 6), 0);
	assert_true(pkt_l4_csum6_ok(ip));                         /* recomputed: right */
	assert_int_equal(vx[0], 0x08);
	assert_int_equal(vx[4] << 16 | vx[5] << 8 | vx[6], 0x123456);
	assert_memory_equal(vx + 8, f, n);                        /* the frame, whole */

	/* a source port given, a hop limit given, an odd inner length */
	struct dpak_action_vxlan_encap6 e2 = e;
	e2.udp_src = htons(1111);
	e2.hop_limit = 5;
	struct dpak_item it2[] = { PORT_IT(VF1), END_IT };
	struct dpak_action a2[] = { { DPAK_ACTION_VXLAN_ENCAP6, &e2 }, TO(UP1), END_A };
	add("v4", it2, a2);
	n = ip4(f, 0, 17, 0, l4, udp(l4, 1, 2, 33));
	assert_int_equal(send_frame(VF1, f, n, &len), UP1);
	assert_int_equal(pkt_rd16(out + 14 + 40), 1111);
	assert_int_equal(out[14 + 7], 5);
	assert_true(pkt_l4_csum6_ok(out + 14));

	/* the egress MTU counts the 70 bytes: one byte short, a counted drop */
	n = ip4(f, 0, 17, 0, l4, udp(l4, 1234, 4321, 100));
	assert_int_equal(dpak_port_set_mtu(dev, UP1, (uint32_t)(n + 70 - 14 - 1)), 0);
	struct dpak_port_stats before = stats(UP1);
	assert_int_equal(send_frame(VF0, f, n, NULL), -1);
	struct dpak_port_stats after = stats(UP1);
	assert_int_equal(after.drops_mtu, before.drops_mtu + 1);
	assert_int_equal(after.tx_packets, before.tx_packets);
	assert_int_equal(dpak_port_set_mtu(dev, UP1, (uint32_t)(n + 70 - 14)), 0);
	assert_int_equal(send_frame(VF0, f, n, NULL), UP1);

	/* headroom: two encapsulations push 140 bytes; the device has 128 */
	struct dpak_action twice[] = { { DPAK_ACTION_VXLAN_ENCAP6, &e },
				       { DPAK_ACTION_VXLAN_ENCAP6, &e }, TO(UP1), END_A };
	assert_int_equal(dpak_flow_validate(tbl("v4"), it, twice, NULL), -ENOTSUP);
	expect_in(dpak_errmsg(), "action 1 (vxlan_encap6): the actions push 140 bytes "
		  "in front of the frame; the device has room for 128");
	/* values */
	struct dpak_action_vxlan_encap6 bad = e;
	bad.vni = 1u << 24;
	struct dpak_action ab[] = { { DPAK_ACTION_VXLAN_ENCAP6, &bad }, TO(UP1), END_A };
	assert_int_equal(dpak_flow_validate(tbl("v4"), it, ab, NULL), -ERANGE);
	expect_in(dpak_errmsg(), "vni 16777216 does not fit in 24 bits");
	bad = e;
	memset(bad.ipv6_dst, 0, 16);
	assert_int_equal(dpak_flow_validate(tbl("v4"), it, ab, NULL), -EINVAL);
	expect_in(dpak_errmsg(), "ipv6_dst is the unspecified address");
	struct dpak_action nul[] = { { DPAK_ACTION_VXLAN_ENCAP6, NULL }, TO(UP1), END_A };
	assert_int_equal(dpak_flow_validate(tbl("v4"), it, nul, NULL), -EINVAL);
	expect_in(dpak_errmsg(), "action 0 (vxlan_encap6): conf is NULL");
}

/* --- the whole action list: what each action needs, after an encapsulation */

static void test_needs_after_encap(void **state)
{
	(void)state;
	struct dpak_action_vxlan_encap e4 = { .ipv4_dst = htonl(0x0a0000fe), .vni = 7 };
	struct dpak_action_vxlan_encap6 e6 = { .vni = 8 };
	struct dpak_action_set_ipv6 s6 = { { 0 } };
	struct dpak_action_set_ttl ttl = { 9 };
	memcpy(e6.ipv6_src, A6, 16);
	memcpy(e6.ipv6_dst, B6, 16);
	memset(s6.addr, 0xfd, 16);
	/* IPv6 in, VXLAN over IPv4 out, then an IPv6 rewrite: the outer
	 * header is IPv4, so the list can never apply whole: every packet is
	 * a counted drop, nothing leaves */
	struct dpak_item i6[] = { PORT_IT(VF0), { DPAK_ITEM_IPV6, NULL, NULL }, END_IT };
	struct dpak_action never[] = { { DPAK_ACTION_VXLAN_ENCAP, &e4 },
				       { DPAK_ACTION_SET_IPV6_DST, &s6 }, TO(UP0), END_A };
	add("v6", i6, never);
	/* IPv4 in, VXLAN over IPv6 out, then set_ttl: it applies to the
	 * outer IPv6 header (its hop limit), the UDP checksum stays right */
	struct dpak_item i4[] = { PORT_IT(VF0), { DPAK_ITEM_IPV4, NULL, NULL }, END_IT };
	struct dpak_action outer[] = { { DPAK_ACTION_VXLAN_ENCAP6, &e6 },
				       { DPAK_ACTION_SET_TTL, &ttl }, TO(UP1), END_A };
	add("v4", i4, outer);

	uint8_t f[256], l4[64];
	ssize_t len;
	size_t k = ip6(f, 17, -1, 0, l4, udp(l4, 1, 2, 10));
	char *t = trace(VF0, f, k);
	expect_in(t, "dropped: action 1 (set_ipv6_dst) needs ");
	free(t);
	struct dpak_port_stats before = stats(VF0);
	assert_int_equal(send_frame(VF0, f, k, NULL), -1);
	struct dpak_port_stats after = stats(VF0);
	assert_int_equal(after.drops_action, before.drops_action + 1);

	size_t n = ip4(f, 0, 17, 0, l4, udp(l4, 1, 2, 10));
	assert_int_equal(send_frame(VF0, f, n, &len), UP1);
	assert_int_equal(len, (ssize_t)n + 70);
	assert_memory_equal(out + 14 + 8, A6, 16);
	assert_int_equal(out[14 + 7], 9);
	assert_true(pkt_l4_csum6_ok(out + 14));
	assert_memory_equal(out + 70, f, n);
}

/* --- receive queue steering ----------------------------------------------- */

struct steer_ctx {
	uint32_t port;
	uint16_t first, n;  /* n 0: all queues */
	int per_q[N_QUEUES];
};

static void steer_check(const struct dpak_pkt *p, uint16_t q, void *arg)
{
	struct steer_ctx *c = arg;

	assert_int_equal(p->port, c->port);
	assert_int_equal(p->reason, DPAK_RX_MISS);
	if (c->n)
		assert_int_equal(q, c->first + p->hash % c->n);
	else
		assert_int_equal(q, p->hash % N_QUEUES);
	c->per_q[q]++;
}

/* @count ARP-typed frames from @port (different sources: different flow
 * hashes), all missing every table. */
static void misses(uint32_t port, int count)
{
	uint8_t f[64];

	for (int i = 0; i < count; i++) {
		size_t e = eth(f, 0, 0x0806);
		f[10] = (uint8_t)(i >> 8);
		f[11] = (uint8_t)i;
		memset(f + e, 0, 28);
		assert_int_equal(dpak_hwsim_inject(dev, port, f, e + 28), 0);
	}
	assert_int_equal(dpak_hwsim_run(dev, 0), count);
}

static int outside(const struct steer_ctx *c, int first, int n)
{
	int k = 0;
	for (int q = 0; q < N_QUEUES; q++)
		if (q < first || q >= first + n)
			k += c->per_q[q];
	return k;
}

static void test_rx_queues(void **state)
{
	(void)state;
	struct steer_ctx c = { .port = VF1, .first = 4, .n = 2 };

	assert_int_equal(dpak_port_set_rx_queues(dev, VF1, 4, 2), 0);
	misses(VF1, 100);
	assert_int_equal(host_take(steer_check, &c), 100);
	assert_true(c.per_q[4] > 0 && c.per_q[5] > 0);
	assert_int_equal(outside(&c, 4, 2), 0);
	/* another port keeps all queues */
	struct steer_ctx o = { .port = VF2, .n = 0 };
	misses(VF2, 100);
	assert_int_equal(host_take(steer_check, &o), 100);
	assert_true(outside(&o, 4, 2) > 0);
	/* a flow's queue is the flow's, whatever the port's range */
	struct dpak_item it[] = { PORT_IT(VF1), { DPAK_ITEM_ETH, &(struct dpak_item_eth){ .type = htons(0x88b5) },
						  &(struct dpak_item_eth){ .type = 0xffff } }, END_IT };
	struct dpak_action a[] = { { DPAK_ACTION_QUEUE, &(struct dpak_action_queue){ 0 } }, END_A };
	add("plain", it, a);
	uint8_t f[64];
	size_t e = eth(f, 0, 0x88b5);
	memset(f + e, 0, 46);
	assert_int_equal(dpak_hwsim_inject(dev, VF1, f, e + 46), 0);
	dpak_hwsim_run(dev, 0);
	struct dpak_pkt *p[4];
	assert_int_equal(dpak_rx_burst(dev, 0, p, 4), 1);
	assert_int_equal(p[0]->reason, DPAK_RX_ACTION);
	dpak_pkt_free(dev, p[0]);

	/* bad arguments: refused, named, nothing changed */
	assert_int_equal(dpak_port_set_rx_queues(NULL, VF1, 0, 1), -EINVAL);
	expect_in(dpak_errmsg(), "dev: NULL");
	assert_int_equal(dpak_port_set_rx_queues(dev, 99, 0, 1), -EINVAL);
	expect_in(dpak_errmsg(), "port 99 does not exist (device has 7 ports");
	assert_int_equal(dpak_port_set_rx_queues(dev, VF1, 6, 4), -EINVAL);
	expect_in(dpak_errmsg(), "queues 6..9: beyond the device's 8 receive queues");
	assert_int_equal(dpak_port_set_rx_queues(dev, VF1, 8, 1), -EINVAL);
	assert_int_equal(dpak_port_set_rx_queues(dev, VF1, 9, 0), -EINVAL);
	expect_in(dpak_errmsg(), "first 9: beyond the device's 8 receive queues");
	memset(c.per_q, 0, sizeof(c.per_q));
	misses(VF1, 50);
	assert_int_equal(host_take(steer_check, &c), 50);
	assert_int_equal(outside(&c, 4, 2), 0);

	/* one queue; then back to the default */
	assert_int_equal(dpak_port_set_rx_queues(dev, VF1, 7, 1), 0);
	c = (struct steer_ctx){ .port = VF1, .first = 7, .n = 1 };
	misses(VF1, 20);
	assert_int_equal(host_take(steer_check, &c), 20);
	assert_int_equal(c.per_q[7], 20);
	assert_int_equal(dpak_port_set_rx_queues(dev, VF1, 7, 0), 0); /* n 0: all */
	c = (struct steer_ctx){ .port = VF1, .n = 0 };
	misses(VF1, 100);
	assert_int_equal(host_take(steer_check, &c), 100);
	assert_true(outside(&c, 7, 1) > 0);
}

/* --- what a table's configinfo does not allow --------------------------- */

static void test_refused_by_table(void **state)
{
	(void)state;
	struct dpak_action_set_ipv6 s6 = { { 1 } };
	struct dpak_action_set_ttl ttl = { 3 };
	struct dpak_action_rss rss = { .n = 1, .queues = { 0 } };
	struct dpak_action_vxlan_encap6 e6 = { .ipv6_dst = { 1 }, .vni = 1 };
	struct dpak_item it[] = { PORT_IT(VF0), { DPAK_ITEM_IPV6, NULL, NULL }, END_IT };
	struct {
		int type;
		const void *conf;
		const char *name;
	} acts[] = {
		{ DPAK_ACTION_SET_IPV6_SRC, &s6, "set_ipv6_src" },
		{ DPAK_ACTION_SET_IPV6_DST, &s6, "set_ipv6_dst" },
		{ DPAK_ACTION_SET_TTL, &ttl, "set_ttl" },
		{ DPAK_ACTION_RSS, &rss, "rss" },
		{ DPAK_ACTION_VXLAN_ENCAP6, &e6, "vxlan_encap6" },
	};

	for (unsigned i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
		int fate = acts[i].type == DPAK_ACTION_RSS;
		struct dpak_action a[] = { { (enum dpak_action_type)acts[i].type, acts[i].conf },
					   fate ? (struct dpak_action)END_A
						: (struct dpak_action)TO(UP0), END_A };
		char want[128];
		snprintf(want, sizeof(want), "action 0 (%s): not allowed in table plain "
			 "(see its actions= in configinfo)", acts[i].name);
		assert_int_equal(dpak_flow_validate(tbl("plain"), it, a, NULL), -ENOTSUP);
		expect_in(dpak_errmsg(), want);
		/* and add refuses it the same way, adding nothing */
		struct dpak_flow *f = NULL;
		assert_int_equal(dpak_flow_add(tbl("plain"), it, a, NULL, &f), -ENOTSUP);
		expect_in(dpak_errmsg(), want);
		/* the table that allows it takes it */
		assert_int_equal(dpak_flow_validate(tbl("v6"), it, a, NULL), 0);
	}
	struct dpak_table_info ti = { .sz = sizeof(ti) };
	assert_int_equal(dpak_table_info(tbl("plain"), &ti), 0);
	assert_int_equal(ti.in_use, 0);
	/* a key field the table lacks */
	struct dpak_item_vlan_tags vt = { 1 };
	struct dpak_item iv[] = { { DPAK_ITEM_VLAN_TAGS, &vt, NULL }, END_IT };
	struct dpak_action a[] = { TO(UP0), END_A };
	assert_int_equal(dpak_flow_validate(tbl("v6"), iv, a, NULL), -ENOTSUP);
	expect_in(dpak_errmsg(), "item 0 (vlan_tags): mask on vlan_tags not supported by table v6");
}

/* --- dpak-ctl shows the new actions ----------------------------------------- */

static void test_ctl_flows(void **state)
{
	(void)state;
	struct dpak_action_set_ipv6 s6 = { { 0 } };
	memcpy(s6.addr, B6, 16);
	struct dpak_action_set_ttl ttl = { 33 };
	struct dpak_action_rss rss = { .n = 3, .queues = { 1, 3, 7 } };
	struct dpak_action_vxlan_encap6 e6 = { .vni = 4242 };
	memcpy(e6.ipv6_dst, A6, 16);
	struct dpak_item_sctp sp = { .dst_port = htons(36412) };
	struct dpak_item_ip_frag fr = { DPAK_IP_FRAG_IS };
	struct dpak_item it[] = { PORT_IT(VF0), { DPAK_ITEM_IPV6, NULL, NULL },
				  { DPAK_ITEM_IP_FRAG, &fr, NULL },
				  { DPAK_ITEM_SCTP, &sp, NULL }, END_IT };
	struct dpak_item it2[] = { PORT_IT(VF1), { DPAK_ITEM_IPV6, NULL, NULL }, END_IT };
	struct dpak_action a[] = { { DPAK_ACTION_SET_IPV6_DST, &s6 }, { DPAK_ACTION_SET_TTL, &ttl },
				   { DPAK_ACTION_VXLAN_ENCAP6, &e6 }, TO(UP0), END_A };
	struct dpak_action a2[] = { { DPAK_ACTION_RSS, &rss }, END_A };

	add("v6", it, a);
	add("v6", it2, a2);
	char *t = ctl("DPAK/1 flows table=v6\n");
	expect_in(t, "ip_proto=132");
	expect_in(t, "ip_frag=1");
	expect_in(t, "l4_dst=36412");
	expect_in(t, "set_ipv6_dst:2001:db8::2");
	expect_in(t, "set_ttl:33");
	expect_in(t, "vxlan_encap6(vni=4242,dst=2001:db8::1)");
	expect_in(t, "rss:1/3/7");
	free(t);
}

/* --- configinfo/ovs.conf ------------------------------------------------------ */

static void test_ovs_conf(void **state)
{
	(void)state;
	char path[1024];
	const char *top = getenv("top_srcdir");
	snprintf(path, sizeof(path), "%s/configinfo/ovs.conf", top ? top : ".");
	DPAK_OPTS(dpak_dev_opts, o, .configinfo = path, .queues = 4);
	struct dpak_dev *d = dpak_dev_open(test_devspec(""), &o);
	if (!d)
		fprintf(stderr, "%s: %s\n", path, dpak_errmsg());
	assert_non_null(d);
	struct dpak_dev *keep = dev;
	dev = d;

	const char *names[3] = { "l2", "ipv4", "ipv6" };
	uint32_t keys[3] = { 26, 42, 58 };
	for (int i = 0; i < 3; i++) {
		struct dpak_table_info ti = { .sz = sizeof(ti) };
		assert_int_equal(dpak_table_info(tbl(names[i]), &ti), 0);
		assert_int_equal(ti.type, DPAK_TABLE_WILDCARD);
		assert_int_equal(ti.key_bytes, keys[i]);
		assert_true(ti.capacity >= 65536);
		assert_true(ti.max_masks >= 128);
		assert_int_equal(ti.action_bytes, 128);
	}

	/* Megaflows as OVS 3.1 gives them (rte_flow eth with has_vlan 0, ipv4
	 * with fragment_offset 0 = nw_frag=no, ...), on ingress vf0. */
	struct dpak_item_eth eth = { .dst = { 2, 0, 0, 0, 0, 0xb }, .src = { 2, 0, 0, 0, 0, 0xa },
				     .type = htons(0x0806) };
	struct dpak_item_vlan_tags untagged = { 0 };
	struct dpak_item_ip_frag no = { 0 };
	struct dpak_action_mark mk = { 5 };
	struct dpak_action_rss rss = { .n = 2, .queues = { 2, 3 } };
	/* ARP, forwarded (l2) */
	struct dpak_item l2[] = { PORT_IT(VF0), { DPAK_ITEM_ETH, &eth, NULL },
				  { DPAK_ITEM_VLAN_TAGS, &untagged, NULL }, END_IT };
	struct dpak_action c_up0[] = { { DPAK_ACTION_COUNT, NULL }, TO(UP0), END_A };
	/* IPv4 TCP, NAT and TTL set (ipv4) */
	struct dpak_item_eth eth4 = eth;
	eth4.type = htons(0x0800);
	struct dpak_item_ipv4 ip4s = { .ttl = 64, .src = htonl(0x0a000001), .dst = htonl(0x0a000002) };
	struct dpak_item_ipv4 ip4m = { .ttl = 0xff, .src = 0xffffffff, .dst = 0xffffffff };
	struct dpak_item_tcp tcp = { .src_port = htons(40000), .dst_port = htons(80), .flags = 0x10 };
	struct dpak_item_tcp tcpm = { .src_port = 0xffff, .dst_port = 0xffff, .flags = 0xff };
	struct dpak_item v4[] = { PORT_IT(VF0), { DPAK_ITEM_ETH, &eth4, NULL },
				  { DPAK_ITEM_VLAN_TAGS, &untagged, NULL },
				  { DPAK_ITEM_IPV4, &ip4s, &ip4m },
				  { DPAK_ITEM_IP_FRAG, &no, NULL },
				  { DPAK_ITEM_TCP, &tcp, &tcpm }, END_IT };
	struct dpak_action_set_ipv4 nat = { htonl(0xc0a80001) };
	struct dpak_action_set_ttl ttl = { 63 };
	struct dpak_action nat_a[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_SET_IPV4_SRC, &nat },
				       { DPAK_ACTION_SET_TTL, &ttl }, TO(UP1), END_A };
	/* IPv6 UDP, VXLAN over IPv6 (ipv6) */
	struct dpak_item_eth eth6 = eth;
	eth6.type = htons(0x86dd);
	struct dpak_item_ipv6 ip6s = { .proto = 17 }, ip6m = { .proto = 0xff };
	memcpy(ip6s.src, A6, 16);
	memcpy(ip6s.dst, B6, 16);
	memset(ip6m.src, 0xff, 16);
	memset(ip6m.dst, 0xff, 16);
	struct dpak_item_udp u = { .src_port = htons(5000), .dst_port = htons(53) };
	struct dpak_item v6[] = { PORT_IT(VF0), { DPAK_ITEM_ETH, &eth6, NULL },
				  { DPAK_ITEM_VLAN_TAGS, &untagged, NULL },
				  { DPAK_ITEM_IPV6, &ip6s, &ip6m },
				  { DPAK_ITEM_IP_FRAG, &no, NULL },
				  { DPAK_ITEM_UDP, &u, NULL }, END_IT };
	struct dpak_action_vxlan_encap6 e6 = { .vni = 100 };
	memcpy(e6.ipv6_dst, A6, 16);
	struct dpak_action enc[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_VXLAN_ENCAP6, &e6 },
				     TO(UP0), END_A };
	/* partial offload: mark and rss */
	struct dpak_item_sctp sp = { .dst_port = htons(9) };
	struct dpak_item v4p[] = { PORT_IT(VF1), { DPAK_ITEM_ETH, &eth4, NULL },
				   { DPAK_ITEM_IPV4, NULL, NULL }, { DPAK_ITEM_IP_FRAG, &no, NULL },
				   { DPAK_ITEM_SCTP, &sp, NULL }, END_IT };
	struct dpak_action part[] = { { DPAK_ACTION_MARK, &mk }, { DPAK_ACTION_RSS, &rss }, END_A };

	/* each goes into the first table that takes it, as a driver does */
	struct { struct dpak_item *it; struct dpak_action *a; const char *table; } mf[] = {
		{ l2, c_up0, "l2" }, { v4, nat_a, "ipv4" }, { v6, enc, "ipv6" }, { v4p, part, "ipv4" },
	};
	for (int i = 0; i < 4; i++) {
		int placed = -1;
		for (int t = 0; t < 3 && placed < 0; t++)
			if (!dpak_flow_validate(tbl(names[t]), mf[i].it, mf[i].a, NULL))
				placed = t;
		assert_true(placed >= 0);
		assert_string_equal(names[placed], mf[i].table);
		add(names[placed], mf[i].it, mf[i].a);
	}
	/* the IPv4 megaflow forwards a real packet, rewritten */
	struct pkt_spec ps = { .sip = 0x0a000001, .dip = 0x0a000002, .proto = 6, .sport = 40000,
			       .dport = 80, .tcp_flags = 0x10, .ttl = 64, .payload = 20 };
	memcpy(ps.dst, eth.dst, 6);
	memcpy(ps.src, eth.src, 6);
	uint8_t f[256];
	ssize_t len;
	assert_int_equal(send_frame(VF0, f, pkt_build(f, &ps), &len), UP1);
	assert_int_equal(pkt_rd32(out + 14 + 12), 0xc0a80001);
	assert_int_equal(out[14 + 8], 63);
	assert_true(pkt_ipv4_csum_ok(out + 14));
	assert_true(pkt_l4_csum_ok(out + 14));
	/* a VLAN-tagged copy is another megaflow: it misses */
	ps.vlan = 10;
	assert_int_equal(send_frame(VF0, f, pkt_build(f, &ps), NULL), -2);

	dev = keep;
	dpak_dev_close(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_caps, up, down),
		cmocka_unit_test_setup_teardown(test_sctp_ports, up, down),
		cmocka_unit_test_setup_teardown(test_frag_ipv4, up, down),
		cmocka_unit_test_setup_teardown(test_frag_ipv6, up, down),
		cmocka_unit_test_setup_teardown(test_vlan_tags, up, down),
		cmocka_unit_test_setup_teardown(test_set_ipv6, up, down),
		cmocka_unit_test_setup_teardown(test_set_ttl, up, down),
		cmocka_unit_test_setup_teardown(test_rss, up, down),
		cmocka_unit_test_setup_teardown(test_vxlan_encap6, up, down),
		cmocka_unit_test_setup_teardown(test_needs_after_encap, up, down),
		cmocka_unit_test_setup_teardown(test_rx_queues, up, down),
		cmocka_unit_test_setup_teardown(test_refused_by_table, up, down),
		cmocka_unit_test_setup_teardown(test_ctl_flows, up, down),
		cmocka_unit_test_setup_teardown(test_ovs_conf, up, down),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
