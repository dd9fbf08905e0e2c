/* SPDX-License-Identifier: MIT */
/*
 * dpak-l2switch: a learning Ethernet switch whose data path is offloaded.
 *
 * Each interface named on the command line is attached to an hwsim port.
 * Packets the device cannot forward come up to the slow path (this
 * program): it learns the source MAC's port, floods unknown and broadcast
 * destinations, and for a known destination offloads a flow (ingress port +
 * destination MAC + VLAN → egress port) in both directions, so that the
 * rest of the conversation is forwarded by the device alone. Idle flows age
 * out and are removed.
 *
 * Build alone:  cc l2switch.c $(pkg-config --cflags --libs dpak)
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <dpak/dpak.h>

#define MAX_PORTS 16
#define MAC_SLOTS 4096 /* learned addresses, open addressing */
#define MAX_FLOWS 8192
#define BURST 32

struct mac_entry {
	uint8_t mac[6];
	uint16_t vlan;
	int used;
	uint32_t port;
};

struct flow_rec {
	struct dpak_flow *flow; /* NULL once deleted */
	uint8_t dst[6];
	uint16_t vlan;
	uint32_t in, out;
	uint64_t packets, bytes; /* final counters once deleted */
};

static struct {
	struct dpak_dev *dev;
	struct dpak_table *l2;
	char ifname[MAX_PORTS][32];
	uint32_t n_ports;
	struct mac_entry macs[MAC_SLOTS];
	struct flow_rec flows[MAX_FLOWS];
	uint32_t n_flows;
	uint64_t slow, flooded, installed, aged, refused;
	uint32_t idle_ms;
	int quiet;
} sw;

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

static const char *mac_str(const uint8_t *m)
{
	static char buf[4][18];
	static int i;
	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%02x:%02x:%02x:%02x:%02x:%02x", m[0],
		 m[1], m[2], m[3], m[4], m[5]);
	return buf[i];
}

static struct mac_entry *mac_find(const uint8_t *mac, uint16_t vlan, int add)
{
	uint32_t h = 2166136261u;

	for (int i = 0; i < 6; i++)
		h = (h ^ mac[i]) * 16777619u;
	h = (h ^ vlan) * 16777619u;
	for (uint32_t i = 0; i < MAC_SLOTS; i++) {
		struct mac_entry *e = &sw.macs[(h + i) % MAC_SLOTS];
		if (e->used && !memcmp(e->mac, mac, 6) && e->vlan == vlan)
			return e;
		if (!e->used) {
			if (!add)
				return NULL;
			e->used = 1;
			memcpy(e->mac, mac, 6);
			e->vlan = vlan;
			return e;
		}
	}
	return NULL;
}

static void offload(uint32_t in, const uint8_t *dst, uint16_t vlan, uint32_t out)
{
	struct dpak_item_port port = { in };
	struct dpak_item_eth eth = { 0 };
	struct dpak_item_eth eth_m = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	/* The VLAN id alone (priority bits 0), default mask: table l2 keys on
	 * the VLAN id (key ...,vlan_tci/0x0fff), so the flow takes this VLAN's
	 * frames at every priority (PCP). */
	struct dpak_item_vlan vl = { htons(vlan), 0 };
	struct dpak_action_port to = { out };
	struct dpak_flow *f;

	memcpy(eth.dst, dst, 6);
	struct dpak_item items[] = {
		{ DPAK_ITEM_PORT, &port, NULL },
		{ DPAK_ITEM_ETH, &eth, &eth_m },
		{ DPAK_ITEM_VLAN, &vl, NULL },
		{ DPAK_ITEM_END, NULL, NULL },
	};
	struct dpak_action acts[] = {
		{ DPAK_ACTION_COUNT, NULL },
		{ DPAK_ACTION_PORT, &to },
		{ DPAK_ACTION_END, NULL },
	};
	DPAK_OPTS(dpak_flow_opts, o, .idle_timeout_ms = sw.idle_ms,
		  .cookie = sw.n_flows);
	if (sw.n_flows == MAX_FLOWS) {
		sw.refused++;
		return;
	}
	int err = dpak_flow_add(sw.l2, items, acts, &o, &f);
	if (err == -EEXIST)
		return; /* offloaded already; this packet was queued before */
	if (err) {
		sw.refused++;
		fprintf(stderr, "dpak-l2switch: flow not offloaded: %s\n", dpak_errmsg());
		return;
	}
	struct flow_rec *r = &sw.flows[sw.n_flows++];
	r->flow = f;
	memcpy(r->dst, dst, 6);
	r->vlan = vlan;
	r->in = in;
	r->out = out;
	sw.installed++;
	if (!sw.quiet)
		printf("offloaded: %-8s dst %s vlan %u -> %s\n", sw.ifname[in],
		       mac_str(dst), vlan, sw.ifname[out]);
}

/* Send @p (which we own) out of @out, or drop it. */
static void send_to(struct dpak_pkt *p, uint32_t out)
{
	p->port = out;
	p->tx_flags = DPAK_TX_PORT;
	if (dpak_tx_burst(sw.dev, 0, &p, 1) != 1)
		dpak_pkt_free(sw.dev, p);
}

static void flood(struct dpak_pkt *p)
{
	sw.flooded++;
	for (uint32_t o = 0; o < sw.n_ports; o++) {
		if (o == p->port)
			continue;
		struct dpak_pkt *c = dpak_pkt_alloc(sw.dev);
		if (!c)
			break;
		memcpy(c->data, p->data, p->len);
		c->len = p->len;
		send_to(c, o);
	}
	dpak_pkt_free(sw.dev, p);
}

static void slow_path(struct dpak_pkt *p)
{
	const uint8_t *dst = p->data, *src = p->data + 6;
	uint16_t vlan = 0;
	struct mac_entry *e;

	sw.slow++;
	if (p->len >= 18 && p->data[12] == 0x81 && p->data[13] == 0x00)
		vlan = (uint16_t)(((p->data[14] << 8) | p->data[15]) & 0x0fff);
	if (!(src[0] & 1)) {
		e = mac_find(src, vlan, 1);
		if (e && (!e->port || e->port != p->port + 1)) {
			if (!sw.quiet)
				printf("learned:   %s vlan %u on %s\n", mac_str(src), vlan,
				       sw.ifname[p->port]);
			e->port = p->port + 1; /* 0: not yet known */
		}
	}
	if (dst[0] & 1 || !(e = mac_find(dst, vlan, 0)) || !e->port) {
		flood(p);
		return;
	}
	uint32_t out = e->port - 1;
	if (out == p->port) {
		dpak_pkt_free(sw.dev, p);
		return;
	}
	offload(p->port, dst, vlan, out);
	if (!(src[0] & 1))
		offload(out, src, vlan, p->port);
	send_to(p, out);
}

static void collect_counters(struct flow_rec *r)
{
	struct dpak_flow_stats st = { .sz = sizeof(st) };
	if (r->flow && !dpak_flow_query(r->flow, &st)) {
		r->packets = st.packets;
		r->bytes = st.bytes;
	}
}

static void age_flows(void)
{
	struct dpak_flow *aged[64];
	int n;

	while ((n = dpak_flow_aged(sw.dev, aged, 64)) > 0) {
		for (int i = 0; i < n; i++) {
			struct flow_rec *r = &sw.flows[dpak_flow_cookie(aged[i])];
			collect_counters(r);
			if (dpak_flow_del(aged[i]) == 0) {
				r->flow = NULL;
				sw.aged++;
				if (!sw.quiet)
					printf("aged out:  %-8s dst %s -> %s (%" PRIu64
					       " packets)\n", sw.ifname[r->in],
					       mac_str(r->dst), sw.ifname[r->out], r->packets);
			}
		}
	}
}

static void usage(void)
{
	puts("usage: dpak-l2switch [-d DEVSPEC] [-t SECONDS] [-n SLOWPATH_PACKETS] [-a IDLE_MS] [-S SOCKET] [-q] IFNAME...\n"
	     "A learning switch over the named interfaces, offloaded into hwsim\n"
	     "(or the device DEVSPEC names, whose ports 0..N-1 take the interfaces).\n"
	     "Runs until SECONDS pass, SLOWPATH_PACKETS reach the slow path, or\n"
	     "SIGINT/SIGTERM; then prints a summary. -S: answer dpak-ctl on SOCKET.\n"
	     "See dpak-l2switch(8).");
}

int main(int argc, char **argv)
{
	double seconds = 0, t0, last_age;
	unsigned long max_slow = 0;
	char spec[256];
	int c;

	sw.idle_ms = 10000;
	const char *ctl = NULL, *devspec = NULL;

	while ((c = getopt(argc, argv, "d:t:n:a:S:qh")) != -1) {
		switch (c) {
		case 'd': devspec = optarg; break;
		case 'S': ctl = optarg; break;
		case 't': seconds = atof(optarg); break;
		case 'n': max_slow = strtoul(optarg, NULL, 10); break;
		case 'a': sw.idle_ms = (uint32_t)strtoul(optarg, NULL, 10); break;
		case 'q': sw.quiet = 1; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (optind >= argc || argc - optind > MAX_PORTS) {
		usage();
		return 2;
	}
	sw.n_ports = (uint32_t)(argc - optind);
	if (devspec)
		snprintf(spec, sizeof(spec), "%s", devspec);
	else
		snprintf(spec, sizeof(spec), "hwsim:uplinks=%u,pfs=0,vfs=0,engine=thread",
			 sw.n_ports);
	DPAK_OPTS(dpak_dev_opts, o, .ctl_path = ctl);
	sw.dev = dpak_dev_open(spec, &o);
	if (!sw.dev) {
		fprintf(stderr, "dpak-l2switch: %s: %s\n", spec, dpak_errmsg());
		return 1;
	}
	sw.l2 = dpak_table_get(sw.dev, "l2");
	for (uint32_t i = 0; i < sw.n_ports; i++) {
		snprintf(sw.ifname[i], sizeof(sw.ifname[i]), "%s", argv[optind + (int)i]);
		if (dpak_hwsim_attach(sw.dev, i, sw.ifname[i])) {
			fprintf(stderr, "dpak-l2switch: %s: %s\n", sw.ifname[i], dpak_errmsg());
			dpak_dev_close(sw.dev);
			return 1;
		}
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	printf("dpak-l2switch: switching %u ports on %s, flows idle out after %u ms\n",
	       sw.n_ports, spec, sw.idle_ms);
	fflush(stdout);

	t0 = last_age = now_s();
	while (!stop) {
		struct dpak_pkt *pkts[BURST];
		int n = dpak_rx_burst(sw.dev, 0, pkts, BURST);
		double t;

		for (int i = 0; i < n; i++)
			slow_path(pkts[i]);
		if (n)
			fflush(stdout);
		t = now_s();
		if (t - last_age > 0.1) {
			age_flows();
			last_age = t;
			fflush(stdout);
		}
		if ((seconds > 0 && t - t0 >= seconds) || (max_slow && sw.slow >= max_slow))
			break;
		if (!n)
			usleep(100);
	}

	/* Summary. */
	uint64_t offl_pkts = 0, offl_bytes = 0;
	printf("\n%-10s %-17s %5s %-10s %10s %12s %s\n", "in", "dst", "vlan", "out",
	       "packets", "bytes", "state");
	for (uint32_t i = 0; i < sw.n_flows; i++) {
		struct flow_rec *r = &sw.flows[i];
		collect_counters(r);
		offl_pkts += r->packets;
		offl_bytes += r->bytes;
		printf("%-10s %-17s %5u %-10s %10" PRIu64 " %12" PRIu64 " %s\n",
		       sw.ifname[r->in], mac_str(r->dst), r->vlan, sw.ifname[r->out],
		       r->packets, r->bytes, r->flow ? "offloaded" : "aged out");
	}
	printf("\nsummary: slow path saw %" PRIu64 " packets (%" PRIu64 " flooded); "
	       "offloaded flows forwarded %" PRIu64 " packets (%" PRIu64 " bytes); "
	       "flows installed %" PRIu64 ", aged out %" PRIu64 ", refused %" PRIu64 "\n",
	       sw.slow, sw.flooded, offl_pkts, offl_bytes, sw.installed, sw.aged, sw.refused);
	struct dpak_queue_stats qs = { .sz = sizeof(qs) };
	if (!dpak_queue_stats(sw.dev, 0, &qs))
		printf("host queue: %" PRIu64 " received, %" PRIu64 " dropped; pool %u/%u free\n",
		       qs.rx_packets, qs.rx_drops, qs.pool_free, qs.pool_size);
	dpak_dev_close(sw.dev);
	return 0;
}
