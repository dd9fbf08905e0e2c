/* SPDX-License-Identifier: MIT */
/*
 * dpak-hwsim-forward: offload a small virtual network into hwsim and watch
 * the device forward it.
 *
 * Four VMs sit on VF ports vf0..vf3; a remote host is reached over a VXLAN
 * overlay on uplink0. The program offloads:
 *   - L2 flows between the VMs (table l2: in_port + destination MAC);
 *   - for VM0 → remote host: VXLAN encapsulation out of uplink0 (table conn);
 *   - for remote host → VM0: VXLAN decapsulation, then L2 to vf0 (tables acl
 *     and l2);
 * then injects real frames, checks what leaves each port, and prints the
 * flows with their counters and the ports with theirs. Frames to unknown
 * destinations miss every table and count as slow-path misses.
 *
 * Build alone:  cc hwsim_forward.c $(pkg-config --cflags --libs dpak)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dpak/dpak.h>

#define N_VMS 4
#define MAX_FLOWS 32

static const uint8_t ONES[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t REMOTE_GW_MAC[6] = { 0x02, 0xaa, 0, 0, 0, 0x01 };
static const uint32_t LOCAL_VTEP = 0xc0000201;  /* 192.0.2.1 */
static const uint32_t REMOTE_VTEP = 0xc0000202; /* 192.0.2.2 */
static const uint32_t VNI = 5000;

struct sample {
	struct dpak_dev *dev;
	uint32_t up0, vf[N_VMS];
	uint8_t vm_mac[N_VMS][6], remote_mac[6], up_mac[6];
	struct dpak_flow *flows[MAX_FLOWS];
	const char *what[MAX_FLOWS];
	int n_flows;
	unsigned long sent, forwarded, missed, wrong;
};

static void die(const char *what)
{
	fprintf(stderr, "dpak-hwsim-forward: %s: %s\n", what, dpak_errmsg());
	exit(1);
}

static void keep(struct sample *s, struct dpak_flow *f, const char *what)
{
	if (s->n_flows < MAX_FLOWS) {
		s->flows[s->n_flows] = f;
		s->what[s->n_flows++] = what;
	}
}

static void offload_l2(struct sample *s, uint32_t in, const uint8_t *dst,
		       uint32_t out, const char *what)
{
	struct dpak_item_port port = { in };
	struct dpak_item_eth eth = { 0 }, eth_m = { 0 };
	struct dpak_item_vlan untagged = { 0 };
	struct dpak_action_port to = { out };
	struct dpak_flow *f;

	memcpy(eth.dst, dst, 6);
	memcpy(eth_m.dst, ONES, 6);
	struct dpak_item items[] = {
		{ DPAK_ITEM_PORT, &port, NULL },
		{ DPAK_ITEM_ETH, &eth, &eth_m },
		{ DPAK_ITEM_VLAN, &untagged, NULL },
		{ DPAK_ITEM_END, NULL, NULL },
	};
	struct dpak_action acts[] = {
		{ DPAK_ACTION_COUNT, NULL },
		{ DPAK_ACTION_PORT, &to },
		{ DPAK_ACTION_END, NULL },
	};
	if (dpak_flow_add(dpak_table_get(s->dev, "l2"), items, acts, NULL, &f))
		die("offloading an l2 flow");
	keep(s, f, what);
}

/* A UDP/IPv4 frame; returns its length. */
static size_t frame(uint8_t *b, const uint8_t *dst, const uint8_t *src,
		    uint32_t sip, uint32_t dip, uint16_t sport, uint16_t dport)
{
	static const uint8_t hdr[] = { 0x08, 0x00, 0x45, 0, 0, 0, 0, 0, 0x40, 0,
				       64, 17, 0, 0 };
	uint16_t ulen = 8 + 32;
	uint32_t sum = 0;

	memcpy(b, dst, 6);
	memcpy(b + 6, src, 6);
	memcpy(b + 12, hdr, sizeof(hdr));
	uint8_t *ip = b + 14;
	ip[2] = (uint8_t)((20 + ulen) >> 8);
	ip[3] = (uint8_t)(20 + ulen);
	sip = htonl(sip);
	dip = htonl(dip);
	memcpy(ip + 12, &sip, 4);
	memcpy(ip + 16, &dip, 4);
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8);
	ip[11] = (uint8_t)~sum;
	uint8_t *udp = ip + 20;
	udp[0] = (uint8_t)(sport >> 8), udp[1] = (uint8_t)sport;
	udp[2] = (uint8_t)(dport >> 8), udp[3] = (uint8_t)dport;
	udp[4] = (uint8_t)(ulen >> 8), udp[5] = (uint8_t)ulen;
	udp[6] = udp[7] = 0;
	for (int i = 0; i < 32; i++)
		udp[8 + i] = (uint8_t)i;
	return 14 + 20 + ulen;
}

/* Wrap @inner in the overlay headers the remote VTEP would send. */
static size_t overlay(uint8_t *b, const struct sample *s, const uint8_t *inner,
		      size_t len)
{
	size_t n = frame(b, s->up_mac, REMOTE_GW_MAC, REMOTE_VTEP, LOCAL_VTEP,
			 40000, 4789);
	uint8_t *ip = b + 14, *udp = ip + 20, *vx = udp + 8;
	uint16_t ulen = (uint16_t)(8 + 8 + len), tot = (uint16_t)(20 + ulen);
	uint32_t sum = 0;

	(void)n;
	ip[2] = (uint8_t)(tot >> 8), ip[3] = (uint8_t)tot;
	ip[10] = ip[11] = 0;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8), ip[11] = (uint8_t)~sum;
	udp[4] = (uint8_t)(ulen >> 8), udp[5] = (uint8_t)ulen;
	memset(vx, 0, 8);
	vx[0] = 0x08;
	vx[4] = (uint8_t)(VNI >> 16), vx[5] = (uint8_t)(VNI >> 8), vx[6] = (uint8_t)VNI;
	memcpy(vx + 8, inner, len);
	return 14 + 20 + 8 + 8 + len;
}

static void offload_overlay(struct sample *s)
{
	/* VM0 → remote host: encapsulate, out of uplink0. */
	struct dpak_item_port in = { s->vf[0] };
	struct dpak_item_ipv4 ip = { .src = htonl(0x0a000001), .dst = htonl(0x0a0000fe) };
	struct dpak_item_udp udp = { .src_port = htons(1000), .dst_port = htons(2000) };
	struct dpak_item out_items[] = {
		{ DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_ETH, NULL, NULL },
		{ DPAK_ITEM_IPV4, &ip, NULL }, { DPAK_ITEM_UDP, &udp, NULL },
		{ DPAK_ITEM_END, NULL, NULL },
	};
	struct dpak_action_vxlan_encap encap = {
		.ipv4_src = htonl(LOCAL_VTEP), .ipv4_dst = htonl(REMOTE_VTEP),
		.vni = VNI,
	};
	struct dpak_action_port up = { s->up0 };
	struct dpak_action out_acts[] = {
		{ DPAK_ACTION_VXLAN_ENCAP, &encap }, { DPAK_ACTION_COUNT, NULL },
		{ DPAK_ACTION_PORT, &up }, { DPAK_ACTION_END, NULL },
	};
	struct dpak_flow *f;

	memcpy(encap.eth_dst, REMOTE_GW_MAC, 6);
	memcpy(encap.eth_src, s->up_mac, 6);
	/* The acl table matches the 5-tuple with wildcards elsewhere. */
	if (dpak_flow_add(dpak_table_get(s->dev, "acl"), out_items, out_acts, NULL, &f))
		die("offloading the encapsulation flow");
	keep(s, f, "vm0 -> remote (vxlan encap)");

	/* Remote → VM0: decapsulate VNI 5000 from uplink0, then the l2
	 * table sends the inner frame to vf0. */
	struct dpak_item_port upin = { s->up0 };
	struct dpak_item_vxlan vx = { .vni = { VNI >> 16, (VNI >> 8) & 0xff, VNI & 0xff } };
	struct dpak_item in_items[] = {
		{ DPAK_ITEM_PORT, &upin, NULL }, { DPAK_ITEM_IPV4, NULL, NULL },
		{ DPAK_ITEM_UDP, NULL, NULL }, { DPAK_ITEM_VXLAN, &vx, NULL },
		{ DPAK_ITEM_END, NULL, NULL },
	};
	struct dpak_table_info l2 = { .sz = sizeof(l2) };
	if (dpak_table_info(dpak_table_get(s->dev, "l2"), &l2))
		die("table l2");
	struct dpak_action_jump to_l2 = { l2.index };
	struct dpak_action in_acts[] = {
		{ DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_VXLAN_DECAP, NULL },
		{ DPAK_ACTION_JUMP, &to_l2 }, { DPAK_ACTION_END, NULL },
	};
	if (dpak_flow_add(dpak_table_get(s->dev, "acl"), in_items, in_acts, NULL, &f))
		die("offloading the decapsulation flow");
	keep(s, f, "remote -> vm0 (vxlan decap)");
	offload_l2(s, s->up0, s->vm_mac[0], s->vf[0], "uplink0 -> vm0 (after decap)");
}

/* Inject, run the device, and check where (and whether) it came out. */
static void send_expect(struct sample *s, uint32_t in, const uint8_t *pkt,
			size_t len, int out_port, size_t out_len)
{
	uint8_t buf[4096];
	ssize_t n = -EAGAIN;

	if (dpak_hwsim_inject(s->dev, in, pkt, len))
		die("inject");
	s->sent++;
	if (dpak_hwsim_run(s->dev, 0) < 0)
		die("run");
	if (out_port < 0) {
		s->missed++;
		return;
	}
	n = dpak_hwsim_capture(s->dev, (uint32_t)out_port, buf, sizeof(buf));
	if (n == (ssize_t)out_len)
		s->forwarded++;
	else
		s->wrong++;
}

static void usage(void)
{
	puts("usage: dpak-hwsim-forward [-n PACKETS] [-d DEVSPEC] [-c CONFIGINFO]\n"
	     "Offload a small virtual network into hwsim and report what the\n"
	     "device forwarded. See dpak-hwsim-forward(8).");
}

int main(int argc, char **argv)
{
	struct sample s = { 0 };
	const char *devspec = "hwsim:uplinks=2,pfs=1,vfs=4", *ci = NULL;
	unsigned long rounds = 1000;
	uint8_t pkt[2048], inner[2048];
	int c;

	while ((c = getopt(argc, argv, "n:d:c:h")) != -1) {
		switch (c) {
		case 'n': rounds = strtoul(optarg, NULL, 10); break;
		case 'd': devspec = optarg; break;
		case 'c': ci = optarg; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	DPAK_OPTS(dpak_dev_opts, o, .configinfo = ci);
	s.dev = dpak_dev_open(devspec, &o);
	if (!s.dev)
		die(devspec);
	int up0 = dpak_port_by_name(s.dev, "uplink0");
	if (up0 < 0)
		die("port uplink0");
	s.up0 = (uint32_t)up0;
	struct dpak_port_info pi = { .sz = sizeof(pi) };
	dpak_port_info(s.dev, s.up0, &pi);
	memcpy(s.up_mac, pi.mac, 6);
	for (int v = 0; v < N_VMS; v++) {
		char name[16];
		snprintf(name, sizeof(name), "vf%u", (unsigned)v);
		int p = dpak_port_by_name(s.dev, name);
		if (p < 0)
			die(name);
		s.vf[v] = (uint32_t)p;
		const uint8_t mac[6] = { 0x02, 0x00, 0x00, 0x00, 0x10, (uint8_t)v };
		memcpy(s.vm_mac[v], mac, 6);
	}
	const uint8_t remote[6] = { 0x02, 0x00, 0x00, 0x00, 0x20, 0x01 };
	memcpy(s.remote_mac, remote, 6);

	printf("libdpak %s, device %s\n", dpak_version(), devspec);
	/* The slow path's decisions, offloaded: every VM reaches every other. */
	static const char *const pair[N_VMS][N_VMS] = {
		{ NULL, "vm0 -> vm1", "vm0 -> vm2", "vm0 -> vm3" },
		{ "vm1 -> vm0", NULL, "vm1 -> vm2", "vm1 -> vm3" },
		{ "vm2 -> vm0", "vm2 -> vm1", NULL, "vm2 -> vm3" },
		{ "vm3 -> vm0", "vm3 -> vm1", "vm3 -> vm2", NULL },
	};
	for (int a = 0; a < N_VMS; a++)
		for (int b = 0; b < N_VMS; b++)
			if (a != b)
				offload_l2(&s, s.vf[a], s.vm_mac[b], s.vf[b], pair[a][b]);
	offload_overlay(&s);

	for (unsigned long r = 0; r < rounds; r++) {
		int a = (int)(r % N_VMS), b = (int)((r / N_VMS + 1 + r) % N_VMS);
		if (a == b)
			b = (b + 1) % N_VMS;
		size_t len = frame(pkt, s.vm_mac[b], s.vm_mac[a], 0x0a000001 + (uint32_t)a,
				   0x0a000001 + (uint32_t)b, 1000, 2000);
		send_expect(&s, s.vf[a], pkt, len, (int)s.vf[b], len);
		if (r % 4 == 0) { /* VM0 to the remote host, over the overlay */
			len = frame(pkt, REMOTE_GW_MAC, s.vm_mac[0], 0x0a000001,
				    0x0a0000fe, 1000, 2000);
			send_expect(&s, s.vf[0], pkt, len, (int)s.up0, len + 50);
		}
		if (r % 4 == 1) { /* and back */
			size_t ilen = frame(inner, s.vm_mac[0], s.remote_mac, 0x0a0000fe,
					    0x0a000001, 2000, 1000);
			len = overlay(pkt, &s, inner, ilen);
			send_expect(&s, s.up0, pkt, len, (int)s.vf[0], ilen);
		}
		if (r % 100 == 0) { /* an unknown destination: no flow, slow path */
			const uint8_t unknown[6] = { 0x02, 0, 0, 0, 0x99, (uint8_t)r };
			len = frame(pkt, unknown, s.vm_mac[1], 1, 2, 3, 4);
			send_expect(&s, s.vf[1], pkt, len, -1, 0);
		}
	}

	printf("\n%-32s %-6s %10s %12s\n", "offloaded flow", "table", "packets", "bytes");
	for (int i = 0; i < s.n_flows; i++) {
		struct dpak_flow_stats st = { .sz = sizeof(st) };
		struct dpak_table_info ti = { .sz = sizeof(ti) };
		if (dpak_flow_query(s.flows[i], &st))
			die("query");
		dpak_table_info(dpak_flow_table(s.flows[i]), &ti);
		printf("%-32s %-6s %10llu %12llu\n", s.what[i], ti.name,
		       (unsigned long long)st.packets, (unsigned long long)st.bytes);
	}
	printf("\n%-8s %10s %10s %10s %10s %8s\n", "port", "rx", "tx", "misses", "drops", "link");
	struct dpak_dev_info di = { .sz = sizeof(di) };
	dpak_dev_info(s.dev, &di);
	for (uint32_t p = 0; p < di.n_ports; p++) {
		struct dpak_port_stats ps = { .sz = sizeof(ps) };
		struct dpak_port_info info = { .sz = sizeof(info) };
		dpak_port_info(s.dev, p, &info);
		dpak_port_stats(s.dev, p, &ps);
		printf("%-8s %10llu %10llu %10llu %10llu %8s\n", info.name,
		       (unsigned long long)ps.rx_packets, (unsigned long long)ps.tx_packets,
		       (unsigned long long)ps.rx_misses, (unsigned long long)ps.drops,
		       info.link_up ? "up" : "down");
	}
	printf("\nsent %lu packets: %lu forwarded by offloaded flows, %lu missed "
	       "to the slow path, %lu wrong\n", s.sent, s.forwarded, s.missed, s.wrong);
	dpak_dev_close(s.dev);
	return s.wrong ? 1 : 0;
}
