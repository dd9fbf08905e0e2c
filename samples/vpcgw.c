/* SPDX-License-Identifier: MIT */
/*
 * dpak-vpcgw: a VPC gateway in the spirit of a cloud virtual switch, with
 * its data path offloaded.
 *
 * VMs sit on VF ports (one interface each); an overlay network (VXLAN, one
 * VNI) reaches remote hosts through a remote tunnel endpoint (VTEP) on the
 * uplink. The slow path (this program) decides the first packet of each
 * flow and offloads the rest:
 *   - VM → remote (IPv4): a flow that VXLAN-encapsulates and sends out of
 *     the uplink (table conn for TCP/UDP 5-tuples, acl for other protocols);
 *     the first packet is sent back through the device to take that flow;
 *   - remote → VM: a flow that decapsulates (table tunnel, on the outer
 *     destination address, UDP destination port and VNI: one per VNI) and
 *     jumps to l2, where the VM's MAC sends it to its VF;
 *   - VM ↔ VM: l2 flows;
 *   - broadcast (ARP) is flooded by the slow path, encapsulated in software
 *     towards the remote VTEP. The gateway answers ARP for its own VTEP
 *     address and resolves the remote VTEP's MAC by ARP.
 *
 * Build alone:  cc vpcgw.c $(pkg-config --cflags --libs dpak)
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <dpak/dpak.h>

#define MAX_VMS 8
#define MAX_FLOWS 4096
#define BURST 32
#define DECAP_MARK 0x80000001u /* set by the decap flow: an inner frame */

struct flow_rec {
	struct dpak_flow *flow;
	char what[80];
	uint64_t packets, bytes;
};

static struct {
	struct dpak_dev *dev;
	struct dpak_table *conn, *tunnel, *acl, *l2;
	uint32_t l2_index;
	uint32_t uplink;              /* port 0 */
	uint32_t n_vms;               /* VF ports 1..n_vms */
	char ifname[MAX_VMS + 1][32];
	uint8_t vm_mac[MAX_VMS + 1][6];
	int vm_known[MAX_VMS + 1];
	uint8_t up_mac[6], remote_mac[6];
	int remote_known;
	uint32_t local_vtep, remote_vtep, vni; /* host order */
	uint32_t idle_ms;
	int quiet;
	struct flow_rec flows[MAX_FLOWS];
	uint32_t n_flows;
	uint64_t slow, encap_flows, decap_flows, l2_flows, aged, sw_encap, sw_decap;
} gw;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

static const char *ip_str(uint32_t a)
{
	static char b[4][16];
	static int i;
	i = (i + 1) % 4;
	snprintf(b[i], sizeof(b[i]), "%u.%u.%u.%u", a >> 24, (a >> 16) & 255,
		 (a >> 8) & 255, a & 255);
	return b[i];
}

static void tx(struct dpak_pkt *p, uint32_t port, uint16_t flags)
{
	p->port = port;
	p->tx_flags = flags;
	if (dpak_tx_burst(gw.dev, 0, &p, 1) != 1)
		dpak_pkt_free(gw.dev, p);
}

static struct dpak_pkt *copy(const struct dpak_pkt *p)
{
	struct dpak_pkt *c = dpak_pkt_alloc(gw.dev);
	if (c) {
		memcpy(c->data, p->data, p->len);
		c->len = p->len;
	}
	return c;
}

static void keep(struct dpak_flow *f, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void keep(struct dpak_flow *f, const char *fmt, ...)
{
	struct flow_rec *r = &gw.flows[gw.n_flows++];
	va_list ap;

	r->flow = f;
	va_start(ap, fmt);
	vsnprintf(r->what, sizeof(r->what), fmt, ap);
	va_end(ap);
	if (!gw.quiet)
		printf("offloaded: %s\n", r->what);
}

/* dpak_flow_add, treating "already there" as done. Returns 1 if added. */
static int add(struct dpak_table *t, const struct dpak_item *items,
	       const struct dpak_action *acts, struct dpak_flow **f)
{
	DPAK_OPTS(dpak_flow_opts, o, .idle_timeout_ms = gw.idle_ms,
		  .cookie = gw.n_flows);
	if (gw.n_flows == MAX_FLOWS)
		return 0;
	int err = dpak_flow_add(t, items, acts, &o, f);
	if (err && err != -EEXIST)
		fprintf(stderr, "dpak-vpcgw: flow not offloaded: %s\n", dpak_errmsg());
	return err == 0;
}

static void arp(uint32_t port, uint16_t op, const uint8_t *dmac, uint32_t tip,
		const uint8_t *tmac)
{
	struct dpak_pkt *p = dpak_pkt_alloc(gw.dev);
	uint8_t *a;

	if (!p)
		return;
	memcpy(p->data, dmac, 6);
	memcpy(p->data + 6, gw.up_mac, 6);
	wr16(p->data + 12, 0x0806);
	a = p->data + 14;
	wr16(a, 1);
	wr16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	wr16(a + 6, op);
	memcpy(a + 8, gw.up_mac, 6);
	wr32(a + 14, gw.local_vtep);
	memcpy(a + 18, tmac, 6);
	wr32(a + 24, tip);
	p->len = 14 + 28 + 18; /* padded to 60 bytes */
	memset(p->data + 42, 0, 18);
	tx(p, port, DPAK_TX_PORT);
}

static void resolve_remote(void)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	static const uint8_t zero[6] = { 0 };
	arp(gw.uplink, 1, bcast, gw.remote_vtep, zero);
}

/* Encapsulate in software (slow-path broadcast) and send on the uplink. */
static void sw_encap(const struct dpak_pkt *p)
{
	struct dpak_pkt *c;
	uint8_t *h;
	uint32_t sum = 0;

	if (!gw.remote_known || !(c = dpak_pkt_alloc(gw.dev)))
		return;
	if (p->len + 50 > c->buf_len) {
		dpak_pkt_free(gw.dev, c);
		return;
	}
	h = c->data;
	memcpy(h + 50, p->data, p->len);
	memcpy(h, gw.remote_mac, 6);
	memcpy(h + 6, gw.up_mac, 6);
	wr16(h + 12, 0x0800);
	memset(h + 14, 0, 36);
	h[14] = 0x45;
	wr16(h + 16, (uint16_t)(20 + 8 + 8 + p->len));
	h[22] = 64;
	h[23] = 17;
	wr32(h + 26, gw.local_vtep);
	wr32(h + 30, gw.remote_vtep);
	for (int i = 14; i < 34; i += 2)
		sum += rd16(h + i);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	wr16(h + 24, (uint16_t)~sum);
	wr16(h + 34, 49152);
	wr16(h + 36, 4789);
	wr16(h + 38, (uint16_t)(8 + 8 + p->len));
	h[42] = 0x08;
	h[46] = (uint8_t)(gw.vni >> 16), h[47] = (uint8_t)(gw.vni >> 8), h[48] = (uint8_t)gw.vni;
	c->len = p->len + 50;
	gw.sw_encap++;
	tx(c, gw.uplink, DPAK_TX_PORT);
}

static void l2_flow(uint32_t in, uint32_t vm)
{
	struct dpak_item_port port = { in };
	struct dpak_item_eth eth = { 0 };
	struct dpak_item_eth eth_m = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct dpak_item_vlan vl = { 0 };
	struct dpak_action_port to = { vm };
	struct dpak_flow *f;

	memcpy(eth.dst, gw.vm_mac[vm], 6);
	struct dpak_item items[] = {
		{ DPAK_ITEM_PORT, &port, NULL }, { DPAK_ITEM_ETH, &eth, &eth_m },
		{ DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL },
	};
	struct dpak_action acts[] = {
		{ DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &to },
		{ DPAK_ACTION_END, NULL },
	};
	if (add(gw.l2, items, acts, &f)) {
		gw.l2_flows++;
		keep(f, "l2     %s -> %s", gw.ifname[in], gw.ifname[vm]);
	}
}

static int vm_of_mac(const uint8_t *mac)
{
	for (uint32_t v = 1; v <= gw.n_vms; v++)
		if (gw.vm_known[v] && !memcmp(gw.vm_mac[v], mac, 6))
			return (int)v;
	return -1;
}

/* VM → remote: offload encapsulation for this flow, then send the packet
 * back through the device so that the new flow handles it. */
static void encap_flow(struct dpak_pkt *p)
{
	const uint8_t *ip = p->data + 14;
	uint8_t proto = ip[9];
	uint32_t ihl = (uint32_t)(ip[0] & 15) * 4;
	struct dpak_item_port in = { p->port };
	struct dpak_item_ipv4 v4 = { 0 };
	struct dpak_item_ipv4 v4m = { .proto = 0xff, .src = 0xffffffff, .dst = 0xffffffff };
	struct dpak_item_udp l4 = { 0 }; /* tcp and udp ports sit alike */
	struct dpak_action_vxlan_encap e = { 0 };
	struct dpak_action_port up = { gw.uplink };
	struct dpak_action acts[] = {
		{ DPAK_ACTION_VXLAN_ENCAP, &e }, { DPAK_ACTION_COUNT, NULL },
		{ DPAK_ACTION_PORT, &up }, { DPAK_ACTION_END, NULL },
	};
	struct dpak_flow *f;
	int added;

	memcpy(&v4.src, ip + 12, 4);
	memcpy(&v4.dst, ip + 16, 4);
	v4.proto = proto;
	memcpy(e.eth_dst, gw.remote_mac, 6);
	memcpy(e.eth_src, gw.up_mac, 6);
	e.ipv4_src = htonl(gw.local_vtep);
	e.ipv4_dst = htonl(gw.remote_vtep);
	e.vni = gw.vni;
	if ((proto == 6 || proto == 17) && p->len >= 14 + ihl + 4) {
		memcpy(&l4.src_port, ip + ihl, 2);
		memcpy(&l4.dst_port, ip + ihl + 2, 2);
		struct dpak_item_tcp tcp = { .src_port = l4.src_port, .dst_port = l4.dst_port };
		struct dpak_item items[] = {
			{ DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_IPV4, &v4, &v4m },
			{ proto == 6 ? DPAK_ITEM_TCP : DPAK_ITEM_UDP,
			  proto == 6 ? (const void *)&tcp : (const void *)&l4, NULL },
			{ DPAK_ITEM_END, NULL, NULL },
		};
		added = add(gw.conn, items, acts, &f);
	} else {
		struct dpak_item items[] = {
			{ DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_IPV4, &v4, &v4m },
			{ DPAK_ITEM_END, NULL, NULL },
		};
		added = add(gw.acl, items, acts, &f);
	}
	if (added) {
		gw.encap_flows++;
		keep(f, "encap  %s %s -> %s proto %u (vni %u)", gw.ifname[p->port],
		     ip_str(rd32(ip + 12)), ip_str(rd32(ip + 16)), proto, gw.vni);
	}
	tx((struct dpak_pkt *)p, p->port, DPAK_TX_PIPELINE);
}

/* Remote → VM: offload decapsulation, then l2. The decap flow keys on what
 * a VXLAN endpoint terminates by (RFC 7348): the uplink, our endpoint
 * address, UDP port 4789 and the VNI; one flow serves every inner flow of
 * the VNI. Not the outer UDP source port: the remote endpoint sets it from
 * a hash of each inner flow. (The slow path checked the outer source is
 * the remote VTEP; acl could enforce that for the offloaded packets too.) */
static void decap_flow(struct dpak_pkt *p, int vm)
{
	const uint8_t *ip = p->data + 14, *udp = ip + (ip[0] & 0xf) * 4;
	struct dpak_item_port in = { p->port };
	struct dpak_item_ipv4 v4 = { 0 };
	struct dpak_item_ipv4 v4m = { .dst = 0xffffffff };
	struct dpak_item_udp u = { 0 };
	struct dpak_item_udp um = { .dst_port = 0xffff };
	struct dpak_item_vxlan vx = { 0 };
	struct dpak_action_jump j = { gw.l2_index };
	struct dpak_action_mark mk = { DECAP_MARK };
	struct dpak_action acts[] = {
		{ DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_VXLAN_DECAP, NULL },
		{ DPAK_ACTION_MARK, &mk }, { DPAK_ACTION_JUMP, &j },
		{ DPAK_ACTION_END, NULL },
	};
	struct dpak_flow *f;

	memcpy(&v4.dst, ip + 16, 4);
	memcpy(&u.dst_port, udp + 2, 2);
	memcpy(vx.vni, udp + 8 + 4, 3);
	struct dpak_item items[] = {
		{ DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_IPV4, &v4, &v4m },
		{ DPAK_ITEM_UDP, &u, &um }, { DPAK_ITEM_VXLAN, &vx, NULL },
		{ DPAK_ITEM_END, NULL, NULL },
	};
	l2_flow(gw.uplink, (uint32_t)vm);
	if (add(gw.tunnel, items, acts, &f)) {
		gw.decap_flows++;
		keep(f, "decap  %s to %s:%u vni %u -> l2", gw.ifname[p->port],
		     ip_str(rd32(ip + 16)), rd16(udp + 2), gw.vni);
	}
	tx(p, p->port, DPAK_TX_PIPELINE);
}

static void from_vm(struct dpak_pkt *p)
{
	const uint8_t *dst = p->data;
	int vm;

	if (!(p->data[6] & 1) && !gw.vm_known[p->port]) {
		memcpy(gw.vm_mac[p->port], p->data + 6, 6);
		gw.vm_known[p->port] = 1;
	}
	if (dst[0] & 1) { /* broadcast: other VMs, and the overlay */
		for (uint32_t v = 1; v <= gw.n_vms; v++) {
			struct dpak_pkt *c;
			if (v != p->port && (c = copy(p)))
				tx(c, v, DPAK_TX_PORT);
		}
		sw_encap(p);
		dpak_pkt_free(gw.dev, p);
		return;
	}
	if ((vm = vm_of_mac(dst)) > 0) {
		if ((uint32_t)vm == p->port) { /* to itself: nothing to switch */
			dpak_pkt_free(gw.dev, p);
			return;
		}
		l2_flow(p->port, (uint32_t)vm);
		tx(p, (uint32_t)vm, DPAK_TX_PORT);
		return;
	}
	if (!gw.remote_known) {
		resolve_remote();
		dpak_pkt_free(gw.dev, p);
		return;
	}
	if (p->len >= 34 && rd16(p->data + 12) == 0x0800) {
		encap_flow(p);
		return;
	}
	sw_encap(p); /* other unicast (ARP replies): not worth a flow */
	dpak_pkt_free(gw.dev, p);
}

/* An inner frame the decap flow decapsulated that no l2 flow took: a VM
 * whose l2 flow from the uplink is not there (yet, or any more), or an
 * overlay broadcast. */
static void from_overlay(struct dpak_pkt *p)
{
	int vm = vm_of_mac(p->data);

	if (vm > 0) {
		l2_flow(gw.uplink, (uint32_t)vm);
		tx(p, (uint32_t)vm, DPAK_TX_PORT);
		return;
	}
	if (p->data[0] & 1) {
		gw.sw_decap++;
		for (uint32_t v = 1; v <= gw.n_vms; v++) {
			struct dpak_pkt *c = copy(p);
			if (c)
				tx(c, v, DPAK_TX_PORT);
		}
	}
	dpak_pkt_free(gw.dev, p);
}

/* The inner frame of a VXLAN packet of our VNI from the remote VTEP, or
 * NULL. The headers' own lengths bound it (IPv4 total length, UDP
 * length), never the frame's: padding is not part of the inner frame; and a
 * VXLAN header whose I flag is clear carries no VNI (RFC 7348, 5). */
static const uint8_t *vxlan_inner(const struct dpak_pkt *p, uint32_t *len)
{
	const uint8_t *d = p->data, *ip = d + 14, *udp, *vx;
	uint32_t ihl, tl, ul;

	if (p->len < 14 + 20 || rd16(d + 12) != 0x0800 || ip[0] >> 4 != 4 || ip[9] != 17 ||
	    (rd16(ip + 6) & 0x3fff) || rd32(ip + 12) != gw.remote_vtep)
		return NULL; /* not IPv4/UDP, a fragment, or not from the remote VTEP */
	ihl = (uint32_t)(ip[0] & 0xf) * 4;
	tl = rd16(ip + 2);
	if (ihl < 20 || tl < ihl + 8 || tl > p->len - 14)
		return NULL;
	udp = ip + ihl;
	ul = rd16(udp + 4);
	if (rd16(udp + 2) != 4789 || ul < 8 + 8 + 14 || ul > tl - ihl)
		return NULL;
	vx = udp + 8;
	if (!(vx[0] & 0x08) || (uint32_t)(vx[4] << 16 | vx[5] << 8 | vx[6]) != gw.vni)
		return NULL;
	*len = ul - 16;
	return vx + 8;
}

static void from_uplink(struct dpak_pkt *p)
{
	const uint8_t *d = p->data;

	if (p->mark == DECAP_MARK) {
		from_overlay(p);
		return;
	}

	if (p->len >= 42 && rd16(d + 12) == 0x0806) {
		const uint8_t *a = d + 14;
		if (rd32(a + 14) == gw.remote_vtep) {
			memcpy(gw.remote_mac, a + 8, 6);
			if (!gw.remote_known && !gw.quiet)
				printf("remote VTEP %s is at %02x:%02x:%02x:%02x:%02x:%02x\n",
				       ip_str(gw.remote_vtep), a[8], a[9], a[10], a[11],
				       a[12], a[13]);
			gw.remote_known = 1;
		}
		if (rd16(a + 6) == 1 && rd32(a + 24) == gw.local_vtep)
			arp(gw.uplink, 2, a + 8, rd32(a + 14), a + 8);
		dpak_pkt_free(gw.dev, p);
		return;
	}
	/* VXLAN of our VNI from the remote VTEP? */
	uint32_t inner_len;
	const uint8_t *inner = vxlan_inner(p, &inner_len);
	if (inner) {
		int vm = vm_of_mac(inner);
		if (vm > 0) {
			decap_flow(p, vm);
			return;
		}
		if (inner[0] & 1) { /* overlay broadcast: decapsulate in software */
			gw.sw_decap++;
			for (uint32_t v = 1; v <= gw.n_vms; v++) {
				struct dpak_pkt *c = dpak_pkt_alloc(gw.dev);
				if (!c)
					break;
				memcpy(c->data, inner, inner_len);
				c->len = inner_len;
				tx(c, v, DPAK_TX_PORT);
			}
		}
	}
	dpak_pkt_free(gw.dev, p);
}

static void age_flows(void)
{
	struct dpak_flow *aged[64];
	int n;

	while ((n = dpak_flow_aged(gw.dev, aged, 64)) > 0)
		for (int i = 0; i < n; i++) {
			struct flow_rec *r = &gw.flows[dpak_flow_cookie(aged[i])];
			struct dpak_flow_stats st = { .sz = sizeof(st) };
			if (!dpak_flow_query(aged[i], &st)) {
				r->packets = st.packets;
				r->bytes = st.bytes;
			}
			if (!dpak_flow_del(aged[i])) {
				r->flow = NULL;
				gw.aged++;
				if (!gw.quiet)
					printf("aged out:  %s (%" PRIu64 " packets)\n",
					       r->what, r->packets);
			}
		}
}

static void usage(void)
{
	puts("usage: dpak-vpcgw -u UPLINK_IF -l LOCAL_VTEP -r REMOTE_VTEP [-v VNI]\n"
	     "                  [-t SECONDS] [-n SLOWPATH_PACKETS] [-a IDLE_MS] [-S SOCKET]\n"
	     "                  [-q] VM_IF...\n"
	     "A VPC gateway: VMs on the VM_IFs, a VXLAN overlay over UPLINK_IF, the\n"
	     "data path offloaded into hwsim. See dpak-vpcgw(8).");
}

int main(int argc, char **argv)
{
	const char *uplink = NULL;
	double seconds = 0, t0, last_age, last_arp = 0;
	char spec[96];
	struct in_addr a;
	int c;

	gw.vni = 5000;
	gw.idle_ms = 10000;
	const char *ctl = NULL;

	unsigned long max_slow = 0;

	while ((c = getopt(argc, argv, "u:l:r:v:t:n:a:S:qh")) != -1) {
		switch (c) {
		case 'n': max_slow = strtoul(optarg, NULL, 10); break;
		case 'S': ctl = optarg; break;
		case 'u': uplink = optarg; break;
		case 'l':
		case 'r':
			if (inet_pton(AF_INET, optarg, &a) != 1) {
				fprintf(stderr, "dpak-vpcgw: -%c %s: not an IPv4 address\n", c, optarg);
				return 2;
			}
			*(c == 'l' ? &gw.local_vtep : &gw.remote_vtep) = ntohl(a.s_addr);
			break;
		case 'v': gw.vni = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 't': seconds = atof(optarg); break;
		case 'a': gw.idle_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'q': gw.quiet = 1; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (!uplink || !gw.local_vtep || !gw.remote_vtep || optind >= argc ||
	    argc - optind > MAX_VMS || gw.vni >= 1u << 24) {
		usage();
		return 2;
	}
	gw.n_vms = (uint32_t)(argc - optind);
	snprintf(spec, sizeof(spec), "hwsim:uplinks=1,pfs=0,vfs=%u,engine=thread", gw.n_vms);
	DPAK_OPTS(dpak_dev_opts, o, .ctl_path = ctl);
	gw.dev = dpak_dev_open(spec, &o);
	if (!gw.dev) {
		fprintf(stderr, "dpak-vpcgw: %s: %s\n", spec, dpak_errmsg());
		return 1;
	}
	gw.conn = dpak_table_get(gw.dev, "conn");
	gw.tunnel = dpak_table_get(gw.dev, "tunnel");
	gw.acl = dpak_table_get(gw.dev, "acl");
	gw.l2 = dpak_table_get(gw.dev, "l2");
	struct dpak_table_info ti = { .sz = sizeof(ti) };
	if (!gw.conn || !gw.tunnel || !gw.acl || !gw.l2 || dpak_table_info(gw.l2, &ti)) {
		fprintf(stderr, "dpak-vpcgw: needs tables conn, tunnel, acl and l2 "
			"(default configinfo)\n");
		return 1;
	}
	gw.l2_index = ti.index;
	struct dpak_port_info pi = { .sz = sizeof(pi) };
	dpak_port_info(gw.dev, 0, &pi);
	memcpy(gw.up_mac, pi.mac, 6);
	snprintf(gw.ifname[0], sizeof(gw.ifname[0]), "%s", uplink);
	for (uint32_t i = 0; i <= gw.n_vms; i++) {
		if (i)
			snprintf(gw.ifname[i], sizeof(gw.ifname[i]), "%s", argv[optind + (int)i - 1]);
		if (dpak_hwsim_attach(gw.dev, i, gw.ifname[i])) {
			fprintf(stderr, "dpak-vpcgw: %s: %s\n", gw.ifname[i], dpak_errmsg());
			dpak_dev_close(gw.dev);
			return 1;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("dpak-vpcgw: %u VMs, overlay vni %u from %s to %s over %s\n", gw.n_vms,
	       gw.vni, ip_str(gw.local_vtep), ip_str(gw.remote_vtep), uplink);
	fflush(stdout);

	t0 = last_age = now_s();
	while (!stop) {
		struct dpak_pkt *pkts[BURST];
		int n = dpak_rx_burst(gw.dev, 0, pkts, BURST);
		double t = now_s();

		for (int i = 0; i < n; i++) {
			gw.slow++;
			if (pkts[i]->port == gw.uplink)
				from_uplink(pkts[i]);
			else
				from_vm(pkts[i]);
		}
		if (!gw.remote_known && t - last_arp > 1.0) {
			resolve_remote();
			last_arp = t;
		}
		if (t - last_age > 0.1) {
			age_flows();
			last_age = t;
		}
		if (n)
			fflush(stdout);
		if ((seconds > 0 && t - t0 >= seconds) || (max_slow && gw.slow >= max_slow))
			break;
		if (!n)
			usleep(100);
	}

	uint64_t fwd = 0, bytes = 0;
	printf("\n%-60s %10s %12s\n", "flow", "packets", "bytes");
	for (uint32_t i = 0; i < gw.n_flows; i++) {
		struct flow_rec *r = &gw.flows[i];
		struct dpak_flow_stats st = { .sz = sizeof(st) };
		if (r->flow && !dpak_flow_query(r->flow, &st)) {
			r->packets = st.packets;
			r->bytes = st.bytes;
		}
		fwd += r->packets;
		bytes += r->bytes;
		printf("%-60s %10" PRIu64 " %12" PRIu64 "%s\n", r->what, r->packets,
		       r->bytes, r->flow ? "" : " (aged out)");
	}
	/* A decapsulated packet hits two flows (decap, then l2): hits, not
	 * packets, are what the counters add up to. */
	printf("\nsummary: slow path saw %" PRIu64 " packets; offloaded flows counted "
	       "%" PRIu64 " hits (%" PRIu64 " bytes); flows installed %" PRIu64
	       " (encap %" PRIu64 ", decap %" PRIu64 ", l2 %" PRIu64 "), aged out %" PRIu64
	       "; software encap %" PRIu64 ", decap %" PRIu64 "\n", gw.slow, fwd, bytes,
	       gw.encap_flows + gw.decap_flows + gw.l2_flows, gw.encap_flows,
	       gw.decap_flows, gw.l2_flows, gw.aged, gw.sw_encap, gw.sw_decap);
	dpak_dev_close(gw.dev);
	return 0;
}
