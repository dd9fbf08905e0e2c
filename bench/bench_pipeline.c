/* SPDX-License-Identifier: MIT */
/*
 * bench-pipeline: the hwsim data path end to end (parse, look up, apply
 * actions, count, emit) on 64-byte frames injected in bursts from memory,
 * in step mode on one core: 1 flow; 1M exact flows; VXLAN encapsulation;
 * VXLAN decapsulation. Then the slow path: packets up the host queue and
 * back out (rx burst, tx burst). Only dpak_hwsim_run() and the queue calls
 * are timed; filling the receive rings and draining the transmit rings is
 * the test harness, not the device.
 * Peer: testpmd io forwarding between two null ports (Debian's dpdk-testpmd,
 * run in the same invocation) -- the cost of moving bursts, an upper bound.
 *
 *   bench-pipeline [-n PACKETS] [-f FLOWS]
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/wait.h>
#include <dpak/dpak.h>
#include "bench.h"

#define RING 256

static uint8_t frames[4096][128];
static size_t frame_len[4096];

static void udp64(uint8_t *b, uint32_t sip, uint32_t dip, uint16_t sp, uint16_t dp)
{
	static const uint8_t dst[6] = { 2, 0, 0, 0, 0, 0xb }, src[6] = { 2, 0, 0, 0, 0, 0xa };
	memset(b, 0, 60);
	memcpy(b, dst, 6);
	memcpy(b + 6, src, 6);
	b[12] = 0x08;
	uint8_t *ip = b + 14;
	ip[0] = 0x45;
	ip[3] = 46;
	ip[8] = 64;
	ip[9] = 17;
	sip = htonl(sip);
	dip = htonl(dip);
	memcpy(ip + 12, &sip, 4);
	memcpy(ip + 16, &dip, 4);
	uint32_t s = 0;
	for (int i = 0; i < 20; i += 2)
		s += (uint32_t)(ip[i] << 8 | ip[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	ip[10] = (uint8_t)(~s >> 8), ip[11] = (uint8_t)~s;
	uint8_t *u = ip + 20;
	u[0] = (uint8_t)(sp >> 8), u[1] = (uint8_t)sp, u[2] = (uint8_t)(dp >> 8), u[3] = (uint8_t)dp;
	u[5] = 26;
}

static struct dpak_dev *open_dev(const char *ci)
{
	DPAK_OPTS(dpak_dev_opts, o, .configinfo_text = ci);
	struct dpak_dev *dev = dpak_dev_open("hwsim:uplinks=2,pfs=0,vfs=2,ring=256", &o);
	if (!dev) {
		fprintf(stderr, "open: %s\n", dpak_errmsg());
		exit(1);
	}
	return dev;
}

/* Push @total frames (cycling through @nf prepared ones) into @port, run
 * the device, drain every port; returns Mpps of the timed runs. */
static double pump(struct dpak_dev *dev, uint32_t port, size_t nf, size_t total,
		   size_t expect_out_port, size_t *forwarded)
{
	uint8_t buf[4096];
	double timed = 0;
	size_t sent = 0, out = 0, k = 0;

	while (sent < total) {
		int n = 0;
		while (n < RING && sent < total) {
			if (dpak_hwsim_inject(dev, port, frames[k], frame_len[k]))
				break;
			k = (k + 1) % nf;
			n++;
			sent++;
		}
		double t0 = bench_now();
		dpak_hwsim_run(dev, 0);
		timed += bench_now() - t0;
		while (dpak_hwsim_capture(dev, (uint32_t)expect_out_port, buf, sizeof(buf)) > 0)
			out++;
	}
	*forwarded = out;
	return (double)total / timed / 1e6;
}

static void add_l2(struct dpak_dev *dev, uint32_t in, uint32_t out)
{
	struct dpak_item_port p = { in };
	struct dpak_item_eth e = { .dst = { 2, 0, 0, 0, 0, 0xb } };
	struct dpak_item_eth em = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct dpak_item it[] = { { DPAK_ITEM_PORT, &p, NULL }, { DPAK_ITEM_ETH, &e, &em },
				  { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port o = { out };
	struct dpak_action a[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &o },
				   { DPAK_ACTION_END, NULL } };
	struct dpak_flow *f;
	if (dpak_flow_add(dpak_table_at(dev, 0), it, a, NULL, &f))
		fprintf(stderr, "add: %s\n", dpak_errmsg()), exit(1);
}

/* testpmd io forwarding null -> null for a few seconds; its best Rx-pps
 * (per port, summed) in Mpps, or 0 if it cannot run here. */
static double testpmd(void)
{
	char prefix[64], cmd[512], line[512];
	double best = 0, sum = 0;
	snprintf(prefix, sizeof(prefix), "bpipe%d", (int)getpid());
	snprintf(cmd, sizeof(cmd),
		 "timeout -s INT 6 dpdk-testpmd -l 0-1 --no-huge -m 512 --no-pci "
		 "--file-prefix %s --vdev=net_null0 --vdev=net_null1 --log-level=1 -- "
		 "--forward-mode=io --total-num-mbufs=16384 --stats-period 1 -a "
		 "2>/dev/null", prefix);
	FILE *p = popen(cmd, "r");
	if (!p)
		return 0;
	while (fgets(line, sizeof(line), p)) {
		char *r = strstr(line, "Rx-pps:");
		if (r) {
			sum += atof(r + 7);
			continue;
		}
		if (strstr(line, "Tx-pps:") == NULL && strstr(line, "#####") && sum > 0) {
			best = sum > best ? sum : best;
			sum = 0;
		}
	}
	pclose(p);
	return (sum > best ? sum : best) / 1e6;
}

int main(int argc, char **argv)
{
	size_t total = 5000000, nflows = 1000000, fwd;
	int c;

	while ((c = getopt(argc, argv, "n:f:")) != -1) {
		if (c == 'n')
			total = strtoul(optarg, NULL, 10);
		else if (c == 'f')
			nflows = strtoul(optarg, NULL, 10);
		else
			return fprintf(stderr, "usage: bench-pipeline [-n PACKETS] [-f FLOWS]\n"), 2;
	}
	bench_header(argc, argv, "hwsim pipeline, 64-byte frames, step mode on one core; "
		     "peer: testpmd io forwarding null->null");
	double peer = testpmd();
	if (peer <= 0)
		printf("# peer not available (dpdk-testpmd did not run)\n");

	/* 1 flow: l2 exact. */
	struct dpak_dev *dev = open_dev("table name=l2 type=exact capacity=1024 key=in_port,eth_dst\n");
	add_l2(dev, 0, 1);
	udp64(frames[0], 1, 2, 1000, 2000);
	frame_len[0] = 60;
	double r1 = pump(dev, 0, 1, total, 1, &fwd);
	if (fwd != total)
		printf("# 1 flow: %zu of %zu forwarded\n", fwd, total);
	bench_row("pipeline, 1 flow (exact l2)", r1, peer, "Mpps");
	dpak_dev_close(dev);

	/* 1M exact 5-tuple flows, packets spread over them at random. */
	char ci[256];
	snprintf(ci, sizeof(ci), "device key-sizes=10,26\ntable name=conn type=exact capacity=%zu "
		 "action-bytes=16 key=in_port,eth_type,ip_proto,ipv4_src,ipv4_dst,l4_src,l4_dst\n",
		 nflows);
	dev = open_dev(ci);
	{
		struct dpak_item_port p = { 0 };
		struct dpak_item_ipv4 ip = { 0 }, ipm = { .src = 0xffffffff, .dst = 0xffffffff };
		struct dpak_item_udp u = { .src_port = htons(1000), .dst_port = htons(2000) };
		struct dpak_item it[] = { { DPAK_ITEM_PORT, &p, NULL }, { DPAK_ITEM_IPV4, &ip, &ipm },
					  { DPAK_ITEM_UDP, &u, NULL }, { DPAK_ITEM_END, NULL, NULL } };
		struct dpak_action_port o = { 1 };
		struct dpak_action a[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &o },
					   { DPAK_ACTION_END, NULL } };
		struct dpak_flow *f;
		for (size_t i = 0; i < nflows; i++) {
			ip.src = htonl(0x0a000000 + (uint32_t)i);
			ip.dst = htonl(0x14000000 + (uint32_t)(i * 7));
			if (dpak_flow_add(dpak_table_at(dev, 0), it, a, NULL, &f))
				fprintf(stderr, "add %zu: %s\n", i, dpak_errmsg()), exit(1);
		}
		uint64_t s = 99;
		for (int i = 0; i < 4096; i++) {
			size_t fl = bench_rand(&s) % nflows;
			udp64(frames[i], 0x0a000000 + (uint32_t)fl, 0x14000000 + (uint32_t)(fl * 7),
			      1000, 2000);
			frame_len[i] = 60;
		}
	}
	double rm = pump(dev, 0, 4096, total, 1, &fwd);
	if (fwd != total)
		printf("# 1M flows: %zu of %zu forwarded\n", fwd, total);
	char m[80];
	snprintf(m, sizeof(m), "pipeline, %zu exact flows, random", nflows);
	bench_row(m, rm, peer, "Mpps (target >= 20)");
	dpak_dev_close(dev);

	/* VXLAN encap and decap, one flow each. */
	dev = open_dev("table name=t type=exact capacity=64 action-bytes=96 key=in_port\n");
	{
		struct dpak_item_port p0 = { 0 }, p1 = { 1 };
		struct dpak_item i0[] = { { DPAK_ITEM_PORT, &p0, NULL }, { DPAK_ITEM_END, NULL, NULL } };
		struct dpak_item i1[] = { { DPAK_ITEM_PORT, &p1, NULL }, { DPAK_ITEM_UDP, NULL, NULL },
					  { DPAK_ITEM_VXLAN, NULL, NULL }, { DPAK_ITEM_END, NULL, NULL } };
		struct dpak_action_vxlan_encap e = { .eth_dst = { 2, 1, 1, 1, 1, 1 },
			.ipv4_src = htonl(0xc0000201), .ipv4_dst = htonl(0xc0000202), .vni = 5000 };
		struct dpak_action_port o1 = { 1 }, o2 = { 2 };
		struct dpak_action enc[] = { { DPAK_ACTION_VXLAN_ENCAP, &e }, { DPAK_ACTION_COUNT, NULL },
					     { DPAK_ACTION_PORT, &o1 }, { DPAK_ACTION_END, NULL } };
		struct dpak_action dec[] = { { DPAK_ACTION_VXLAN_DECAP, NULL }, { DPAK_ACTION_COUNT, NULL },
					     { DPAK_ACTION_PORT, &o2 }, { DPAK_ACTION_END, NULL } };
		struct dpak_flow *f;
		if (dpak_flow_add(dpak_table_at(dev, 0), i0, enc, NULL, &f) ||
		    dpak_flow_add(dpak_table_at(dev, 0), i1, dec, NULL, &f))
			fprintf(stderr, "add: %s\n", dpak_errmsg()), exit(1);
	}
	udp64(frames[0], 1, 2, 1000, 2000);
	frame_len[0] = 60;
	double re = pump(dev, 0, 1, total, 1, &fwd);
	bench_row("pipeline, vxlan encap, 1 flow", re, peer, "Mpps");
	/* decap: the encapsulated frame as input */
	uint8_t enc_frame[256];
	dpak_hwsim_inject(dev, 0, frames[0], 60);
	dpak_hwsim_run(dev, 0);
	ssize_t el = dpak_hwsim_capture(dev, 1, enc_frame, sizeof(enc_frame));
	memcpy(frames[0], enc_frame, (size_t)el);
	frame_len[0] = (size_t)el;
	double rd = pump(dev, 1, 1, total, 2, &fwd);
	if (fwd != total)
		printf("# decap: %zu of %zu forwarded\n", fwd, total);
	bench_row("pipeline, vxlan decap, 1 flow", rd, peer, "Mpps");
	dpak_dev_close(dev);

	/* Slow path: every packet misses, goes up, and the "switch" sends it
	 * back out of a port. Timed: device run + rx burst + tx burst. */
	DPAK_OPTS(dpak_dev_opts, o, .configinfo_text =
		  "table name=l2 type=exact capacity=16 key=in_port,eth_dst\n",
		  .queue_size = 512, .pool_size = 2048);
	dev = dpak_dev_open("hwsim:uplinks=2,pfs=0,vfs=0,ring=256", &o);
	udp64(frames[0], 1, 2, 1000, 2000);
	double timed = 0;
	size_t done = 0;
	uint8_t buf[256];
	while (done < total / 4) {
		for (int i = 0; i < RING; i++)
			dpak_hwsim_inject(dev, 0, frames[0], 60);
		double t0 = bench_now();
		dpak_hwsim_run(dev, 0);
		struct dpak_pkt *p[32];
		int n;
		while ((n = dpak_rx_burst(dev, 0, p, 32)) > 0) {
			for (int i = 0; i < n; i++) {
				p[i]->port = 1;
				p[i]->tx_flags = DPAK_TX_PORT;
			}
			int sent = dpak_tx_burst(dev, 0, p, (uint16_t)n);
			for (int i = sent; i < n; i++)
				dpak_pkt_free(dev, p[i]);
			done += (size_t)n;
		}
		dpak_hwsim_run(dev, 0); /* the device takes the transmit queue */
		timed += bench_now() - t0;
		while (dpak_hwsim_capture(dev, 1, buf, sizeof(buf)) > 0)
			;
	}
	bench_row("slow path: up a host queue and back out", (double)done / timed / 1e6, 0, "Mpps");
	dpak_dev_close(dev);
	return 0;
}
