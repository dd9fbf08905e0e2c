/* SPDX-License-Identifier: MIT */
/*
 * Host queues: what the slow path receives (with its metadata), ordering
 * within a flow, spreading over queues, full-queue drops, transmit to a port
 * and back into the pipeline, and that no buffer is ever lost (pool
 * counters, and the sanitizer run). Also the pcap attachments, read back.
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

static struct dpak_dev *open_dev(uint32_t queues, uint32_t qsize, uint32_t pool)
{
	DPAK_OPTS(dpak_dev_opts, o, .queues = queues, .queue_size = qsize,
		  .pool_size = pool);
	struct dpak_dev *dev = dpak_dev_open(test_devspec(""), &o);
	if (!dev)
		fprintf(stderr, "open: %s\n", dpak_errmsg());
	assert_non_null(dev);
	return dev;
}

static size_t udp(uint8_t *b, uint32_t sip, uint16_t sport, uint16_t seq)
{
	struct pkt_spec s = { .dst = { 2, 0, 0, 0, 0, 0xb }, .src = { 2, 0, 0, 0, 0, 0xa },
			      .sip = sip, .dip = 0x0a0000fe, .proto = 17,
			      .sport = sport, .dport = 53, .payload = 20 };
	size_t n = pkt_build(b, &s);
	/* a sequence number in the payload (UDP checksum is not checked) */
	b[n - 2] = (uint8_t)(seq >> 8);
	b[n - 1] = (uint8_t)seq;
	return n;
}

static void pool_full(struct dpak_dev *dev)
{
	struct dpak_queue_stats st = { .sz = sizeof(st) };
	assert_int_equal(dpak_queue_stats(dev, 0, &st), 0);
	assert_int_equal(st.pool_free, st.pool_size);
}

static void test_miss_metadata(void **state)
{
	(void)state;
	struct dpak_dev *dev = open_dev(1, 64, 256);
	uint8_t f[256];
	size_t len = udp(f, 0x0a000001, 1000, 7);
	struct dpak_pkt *p[4];

	assert_int_equal(dpak_hwsim_inject(dev, VF2, f, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	assert_int_equal(dpak_rx_burst(dev, 0, p, 4), 1);
	assert_int_equal(p[0]->len, len);
	assert_memory_equal(p[0]->data, f, len);
	assert_int_equal(p[0]->port, VF2);
	assert_int_equal(p[0]->reason, DPAK_RX_MISS);
	assert_int_equal(p[0]->table, 4); /* acl, acl6, tunnel, conn pass it on; l2 misses to host */
	assert_int_equal(p[0]->mark, 0);
	assert_int_equal(dpak_rx_burst(dev, 0, p + 1, 3), 0);
	dpak_pkt_free(dev, p[0]);
	pool_full(dev);
	dpak_dev_close(dev);
}

static void test_queue_action_mark(void **state)
{
	(void)state;
	struct dpak_dev *dev = open_dev(4, 64, 512);
	struct dpak_item_udp u = { .dst_port = htons(53) }, um = { .dst_port = 0xffff };
	struct dpak_item items[] = { { DPAK_ITEM_IPV4, NULL, NULL }, { DPAK_ITEM_UDP, &u, &um },
				     { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_mark mk = { 0xbeef };
	struct dpak_action_queue q = { 2 };
	struct dpak_action acts[] = { { DPAK_ACTION_MARK, &mk }, { DPAK_ACTION_QUEUE, &q },
				      { DPAK_ACTION_END, NULL } };
	struct dpak_flow *fl;
	struct dpak_pkt *p[4];
	uint8_t f[256];
	size_t len = udp(f, 0x0a000001, 1000, 1);

	assert_int_equal(dpak_flow_add(dpak_table_get(dev, "acl"), items, acts, NULL, &fl), 0);
	for (int i = 0; i < 3; i++) {
		len = udp(f, 0x0a000001 + (uint32_t)i, (uint16_t)(1000 + i), (uint16_t)i);
		assert_int_equal(dpak_hwsim_inject(dev, UP1, f, len), 0);
	}
	assert_int_equal(dpak_hwsim_run(dev, 0), 3);
	for (uint16_t qi = 0; qi < 4; qi++)
		if (qi != 2)
			assert_int_equal(dpak_rx_burst(dev, qi, p, 4), 0);
	assert_int_equal(dpak_rx_burst(dev, 2, p, 4), 3); /* all on the queue named */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(p[i]->reason, DPAK_RX_ACTION);
		assert_int_equal(p[i]->mark, 0xbeef);
		assert_int_equal(p[i]->table, 0);
		assert_int_equal(p[i]->port, UP1);
		dpak_pkt_free(dev, p[i]);
	}
	pool_full(dev);
	dpak_dev_close(dev);
}

/* Misses spread over queues by flow hash: one flow stays on one queue, in
 * order; many flows use every queue. */
static void test_spreading_and_order(void **state)
{
	(void)state;
	enum { Q = 4, FLOWS = 64, PER = 8 };
	struct dpak_dev *dev = open_dev(Q, 1024, 4096);
	uint8_t f[256];
	int queue_of[FLOWS], used[Q] = { 0 };
	uint16_t next_seq[FLOWS] = { 0 };
	struct dpak_pkt *p[64];

	for (int r = 0; r < PER; r++)
		for (int fl = 0; fl < FLOWS; fl++) {
			size_t len = udp(f, 0x0a000000 + (uint32_t)fl, (uint16_t)(2000 + fl),
					 (uint16_t)r);
			assert_int_equal(dpak_hwsim_inject(dev, VF0 + (uint32_t)(fl % 4), f, len), 0);
			if (fl % 16 == 15)
				assert_true(dpak_hwsim_run(dev, 0) > 0);
		}
	dpak_hwsim_run(dev, 0);
	for (int i = 0; i < FLOWS; i++)
		queue_of[i] = -1;
	int total = 0;
	for (uint16_t qi = 0; qi < Q; qi++) {
		int n;
		while ((n = dpak_rx_burst(dev, qi, p, 64)) > 0) {
			for (int i = 0; i < n; i++) {
				int fl = (int)(pkt_rd32(p[i]->data + 14 + 12) - 0x0a000000);
				uint16_t seq = pkt_rd16(p[i]->data + p[i]->len - 2);
				assert_true(fl >= 0 && fl < FLOWS);
				if (queue_of[fl] < 0)
					queue_of[fl] = qi;
				assert_int_equal(queue_of[fl], qi); /* one flow, one queue */
				assert_int_equal(seq, next_seq[fl]); /* in order */
				next_seq[fl]++;
				assert_int_equal(p[i]->hash % Q, qi);
				used[qi]++;
				dpak_pkt_free(dev, p[i]);
				total++;
			}
		}
	}
	assert_int_equal(total, FLOWS * PER);
	for (int qi = 0; qi < Q; qi++)
		assert_true(used[qi] > 0);
	pool_full(dev);
	dpak_dev_close(dev);
}

static void test_full_queue_drops_counted(void **state)
{
	(void)state;
	struct dpak_dev *dev = open_dev(1, 8, 64);
	struct dpak_queue_stats st = { .sz = sizeof(st) };
	uint8_t f[256];
	size_t len = udp(f, 1, 1, 1);
	struct dpak_pkt *p[16];

	for (int i = 0; i < 20; i++)
		assert_int_equal(dpak_hwsim_inject(dev, VF1, f, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 20);
	assert_int_equal(dpak_queue_stats(dev, 0, &st), 0);
	assert_int_equal(st.rx_packets, 8);
	assert_int_equal(st.rx_drops, 12);
	assert_int_equal(st.rx_depth, 8);
	assert_int_equal(st.pool_free, 64 - 8); /* dropped ones went back */
	assert_int_equal(dpak_rx_burst(dev, 0, p, 16), 8);
	for (int i = 0; i < 8; i++)
		dpak_pkt_free(dev, p[i]);
	pool_full(dev);

	/* An empty pool drops too, and counts (hwsim: receive takes its
	 * buffers from the pool). On pci the receive rings hold buffers posted
	 * ahead of time, apart from the pool_size buffers the application
	 * allocates: with the application holding all of those, the packet
	 * still lands in a posted buffer and is received. */
	struct dpak_pkt *held[65];
	int n = 0;
	while (n < 65 && (held[n] = dpak_pkt_alloc(dev)))
		n++;
	assert_int_equal(n, 64);
	assert_int_equal(errno, ENOBUFS);
	assert_int_equal(dpak_hwsim_inject(dev, VF1, f, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	assert_int_equal(dpak_queue_stats(dev, 0, &st), 0);
	if (!test_backend_is_pci()) {
		assert_int_equal(st.rx_drops, 13);
	} else {
		assert_int_equal(st.rx_drops, 12);
		assert_int_equal(st.rx_packets, 9);
		assert_int_equal(dpak_rx_burst(dev, 0, p, 16), 1);
		assert_int_equal(p[0]->len, len);
		assert_memory_equal(p[0]->data, f, len);
		dpak_pkt_free(dev, p[0]);
	}
	for (int i = 0; i < n; i++)
		dpak_pkt_free(dev, held[i]);
	pool_full(dev);
	dpak_dev_close(dev);
}

static void test_tx_to_port_and_pipeline(void **state)
{
	(void)state;
	struct dpak_dev *dev = open_dev(2, 64, 256);
	uint8_t f[256], out[512];
	size_t len = udp(f, 0x0a000001, 1000, 9);
	struct dpak_pkt *p = dpak_pkt_alloc(dev);

	assert_non_null(p);
	assert_int_equal(p->len, 0);
	assert_true(p->buf_len >= 2048);
	memcpy(p->data, f, len);
	p->len = (uint32_t)len;
	p->port = VF3;
	p->tx_flags = DPAK_TX_PORT;
	assert_int_equal(dpak_tx_burst(dev, 1, &p, 1), 1);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	assert_int_equal(dpak_hwsim_capture(dev, VF3, out, sizeof(out)), (ssize_t)len);
	assert_memory_equal(out, f, len);

	/* Into the pipeline as if received on vf0: an l2 flow sends it on. */
	struct dpak_item_port in = { VF0 };
	struct dpak_item_eth e = { .dst = { 2, 0, 0, 0, 0, 0xb } };
	struct dpak_item_eth em = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct dpak_item_vlan vl = { 0 };
	struct dpak_item items[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_ETH, &e, &em },
				     { DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port to = { UP1 };
	struct dpak_action acts[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &to },
				      { DPAK_ACTION_END, NULL } };
	struct dpak_flow *fl;
	assert_int_equal(dpak_flow_add(dpak_table_get(dev, "l2"), items, acts, NULL, &fl), 0);
	p = dpak_pkt_alloc(dev);
	memcpy(p->data, f, len);
	p->len = (uint32_t)len;
	p->port = VF0;
	p->tx_flags = DPAK_TX_PIPELINE;
	assert_int_equal(dpak_tx_burst(dev, 0, &p, 1), 1);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	assert_int_equal(dpak_hwsim_capture(dev, UP1, out, sizeof(out)), (ssize_t)len);
	struct dpak_flow_stats st = { .sz = sizeof(st) };
	assert_int_equal(dpak_flow_query(fl, &st), 0);
	assert_int_equal(st.packets, 1);
	struct dpak_queue_stats qs = { .sz = sizeof(qs) };
	assert_int_equal(dpak_queue_stats(dev, 0, &qs), 0);
	assert_int_equal(qs.tx_packets, 1);

	/* Bad packets are refused whole, and stay the caller's. */
	struct dpak_pkt *good = dpak_pkt_alloc(dev), *bad = dpak_pkt_alloc(dev);
	memcpy(good->data, f, len);
	good->len = (uint32_t)len;
	good->port = VF1;
	memcpy(bad->data, f, len);
	bad->len = (uint32_t)len;
	bad->port = 99;
	struct dpak_pkt *two[2] = { good, bad };
	int rc = dpak_tx_burst(dev, 0, two, 2);
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(dpak_errmsg(), "none sent"));
	/* The message names the packet and what is wrong with it. */
	assert_non_null(strstr(dpak_errmsg(), "packet 1: port 99 does not exist"));
	bad->port = VF1;
	bad->len = 9225; /* one past the largest frame */
	assert_int_equal(dpak_tx_burst(dev, 0, &bad, 1), -EINVAL);
	assert_non_null(strstr(dpak_errmsg(), "packet 0: length 9225 is not in 14-9224"));
	struct dpak_pkt fake = { .data = f, .len = (uint32_t)len, .port = VF1 };
	struct dpak_pkt *fp = &fake;
	assert_int_equal(dpak_tx_burst(dev, 0, &fp, 1), -EINVAL); /* not from the pool */
	assert_non_null(strstr(dpak_errmsg(), "packet 0 is not from this device's pool"));
	assert_int_equal(dpak_tx_burst(dev, 9, two, 1), -EINVAL);
	dpak_pkt_free(dev, good);
	dpak_pkt_free(dev, bad);
	dpak_hwsim_run(dev, 0);
	while (dpak_hwsim_capture(dev, VF1, out, sizeof(out)) > 0)
		;
	pool_full(dev);
	dpak_dev_close(dev);
}

static void test_tx_queue_full(void **state)
{
	(void)state;
	struct dpak_dev *dev = open_dev(1, 4, 64);
	struct dpak_pkt *p[6];
	uint8_t f[128];
	size_t len = udp(f, 1, 1, 1);

	for (int i = 0; i < 6; i++) {
		p[i] = dpak_pkt_alloc(dev);
		memcpy(p[i]->data, f, len);
		p[i]->len = (uint32_t)len;
		p[i]->port = UP0;
	}
	assert_int_equal(dpak_tx_burst(dev, 0, p, 6), 4); /* the rest stay ours */
	assert_int_equal(dpak_hwsim_run(dev, 0), 4);
	assert_int_equal(dpak_tx_burst(dev, 0, p + 4, 2), 2);
	assert_int_equal(dpak_hwsim_run(dev, 0), 2);
	struct dpak_port_stats ps = { .sz = sizeof(ps) };
	assert_int_equal(dpak_port_stats(dev, UP0, &ps), 0);
	assert_int_equal(ps.tx_packets, 6);
	pool_full(dev);
	dpak_dev_close(dev);
}

/* A frame grown past the largest a buffer holds (pushed tags) is dropped
 * and counted on its way up, not written past its buffer. */
static void test_grown_frame_to_host(void **state)
{
	(void)state;
	struct dpak_dev *dev = open_dev(1, 64, 256);
	struct dpak_item_port in = { VF1 };
	struct dpak_item items[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_vlan_push vp = { 0, htons(7) };
	struct dpak_action_queue q = { 0 };
	struct dpak_action acts[] = { { DPAK_ACTION_VLAN_PUSH, &vp }, { DPAK_ACTION_VLAN_PUSH, &vp },
				      { DPAK_ACTION_QUEUE, &q }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow *fl;
	static uint8_t big[9224]; /* the largest frame */
	struct dpak_queue_stats st = { .sz = sizeof(st) };
	struct dpak_pkt *p[2];

	assert_int_equal(dpak_flow_add(dpak_table_get(dev, "acl"), items, acts, NULL, &fl), 0);
	memset(big, 0xee, sizeof(big));
	big[12] = 0x88, big[13] = 0xb5;
	assert_int_equal(dpak_hwsim_inject(dev, VF1, big, sizeof(big)), 0);
	assert_int_equal(dpak_hwsim_inject(dev, VF1, big, 100), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 2);
	assert_int_equal(dpak_rx_burst(dev, 0, p, 2), 1); /* the small one */
	assert_int_equal(p[0]->len, 108);
	dpak_pkt_free(dev, p[0]);
	assert_int_equal(dpak_queue_stats(dev, 0, &st), 0);
	assert_int_equal(st.rx_drops, 1);
	pool_full(dev);
	dpak_dev_close(dev);
}

static void test_open_queue_errors(void **state)
{
	(void)state;
	DPAK_OPTS(dpak_dev_opts, a, .queues = 65);
	assert_null(dpak_dev_open(test_devspec(""), &a));
	assert_non_null(strstr(dpak_errmsg(), "queues=65"));
	DPAK_OPTS(dpak_dev_opts, b, .queue_size = 100);
	assert_null(dpak_dev_open(test_devspec(""), &b));
	assert_non_null(strstr(dpak_errmsg(), "queue_size=100"));
	DPAK_OPTS(dpak_dev_opts, c, .queue_size = 64, .pool_size = 10);
	assert_null(dpak_dev_open(test_devspec(""), &c));
	assert_non_null(strstr(dpak_errmsg(), "pool_size=10"));
	struct dpak_dev *dev = open_dev(2, 64, 256);
	struct dpak_pkt *p[1];
	assert_int_equal(dpak_rx_burst(dev, 2, p, 1), -EINVAL);
	struct dpak_queue_stats st = { .sz = sizeof(st) };
	assert_int_equal(dpak_queue_stats(dev, 2, &st), -EINVAL);
	dpak_dev_close(dev);
}

/* pcap: a port's input from a file; a port's output and the slow path to
 * files; read back and compared. */
static void test_pcap(void **state)
{
	(void)state;
	TEST_HWSIM_ONLY("pcap files are hwsim's own; the device interface carries no pcap");
	char dir[] = "/tmp/dpak-pcap-XXXXXX", in[64], out[64], host[64];
	assert_non_null(mkdtemp(dir));
	snprintf(in, sizeof(in), "%s/in.pcap", dir);
	snprintf(out, sizeof(out), "%s/out.pcap", dir);
	snprintf(host, sizeof(host), "%s/host.pcap", dir);

	/* Write an input file by hand: 3 frames, two to a known MAC. */
	uint8_t f[3][256];
	size_t len[3];
	FILE *fp = fopen(in, "wb");
	uint32_t gh[6] = { 0xa1b2c3d4, 2 | 4 << 16, 0, 0, 65535, 1 };
	assert_int_equal(fwrite(gh, sizeof(gh), 1, fp), 1);
	for (int i = 0; i < 3; i++) {
		len[i] = udp(f[i], 0x0a000001, 1000, (uint16_t)i);
		if (i == 2)
			f[i][5] = 0x77; /* unknown destination */
		uint32_t rec[4] = { 1, 0, (uint32_t)len[i], (uint32_t)len[i] };
		assert_int_equal(fwrite(rec, sizeof(rec), 1, fp), 1);
		assert_int_equal(fwrite(f[i], len[i], 1, fp), 1);
	}
	fclose(fp);

	struct dpak_dev *dev = open_dev(1, 64, 256);
	struct dpak_item_port inp = { UP0 };
	struct dpak_item_eth e = { .dst = { 2, 0, 0, 0, 0, 0xb } };
	struct dpak_item_eth em = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct dpak_item_vlan vl = { 0 };
	struct dpak_item items[] = { { DPAK_ITEM_PORT, &inp, NULL }, { DPAK_ITEM_ETH, &e, &em },
				     { DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port to = { VF0 };
	struct dpak_action acts[] = { { DPAK_ACTION_PORT, &to }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow *fl;
	assert_int_equal(dpak_flow_add(dpak_table_get(dev, "l2"), items, acts, NULL, &fl), 0);
	assert_int_equal(dpak_hwsim_pcap(dev, UP0, DPAK_HWSIM_PCAP_IN, in), 0);
	assert_int_equal(dpak_hwsim_pcap(dev, VF0, DPAK_HWSIM_PCAP_OUT, out), 0);
	assert_int_equal(dpak_hwsim_pcap(dev, DPAK_HWSIM_HOST, DPAK_HWSIM_PCAP_OUT, host), 0);
	assert_int_equal(dpak_hwsim_pcap(dev, UP0, DPAK_HWSIM_PCAP_IN, in), -EBUSY);
	assert_int_equal(dpak_hwsim_pcap(dev, DPAK_HWSIM_HOST, DPAK_HWSIM_PCAP_IN, in), -EINVAL);
	assert_int_equal(dpak_hwsim_inject(dev, UP0, f[0], len[0]), -EBUSY);
	assert_int_equal(dpak_hwsim_run(dev, 0), 3);
	struct dpak_pkt *p[4];
	assert_int_equal(dpak_rx_burst(dev, 0, p, 4), 1);
	dpak_pkt_free(dev, p[0]);
	dpak_dev_close(dev); /* completes the files */

	/* Read both back. */
	uint8_t buf[4096];
	fp = fopen(out, "rb");
	assert_non_null(fp);
	assert_int_equal(fread(gh, sizeof(gh), 1, fp), 1);
	assert_int_equal(gh[0], 0xa1b2c3d4);
	assert_int_equal(gh[5], 1);
	for (int i = 0; i < 2; i++) {
		uint32_t rec[4];
		assert_int_equal(fread(rec, sizeof(rec), 1, fp), 1);
		assert_int_equal(rec[2], len[i]);
		assert_int_equal(fread(buf, rec[2], 1, fp), 1);
		assert_memory_equal(buf, f[i], len[i]);
	}
	assert_int_equal(fread(buf, 1, 1, fp), 0);
	fclose(fp);
	fp = fopen(host, "rb");
	assert_int_equal(fread(gh, sizeof(gh), 1, fp), 1);
	uint32_t rec[4];
	assert_int_equal(fread(rec, sizeof(rec), 1, fp), 1);
	assert_int_equal(rec[2], len[2]);
	assert_int_equal(fread(buf, rec[2], 1, fp), 1);
	assert_memory_equal(buf, f[2], len[2]);
	fclose(fp);

	/* Not a pcap file. */
	dev = open_dev(1, 64, 256);
	assert_int_equal(dpak_hwsim_pcap(dev, UP1, DPAK_HWSIM_PCAP_IN, "/etc/hostname") == -EINVAL ||
			 access("/etc/hostname", R_OK) != 0, 1);
	assert_int_equal(dpak_hwsim_pcap(dev, UP1, DPAK_HWSIM_PCAP_IN, "/nonexistent.pcap"), -ENOENT);
	dpak_dev_close(dev);
	unlink(in);
	unlink(out);
	unlink(host);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_miss_metadata),
		cmocka_unit_test(test_queue_action_mark),
		cmocka_unit_test(test_spreading_and_order),
		cmocka_unit_test(test_full_queue_drops_counted),
		cmocka_unit_test(test_tx_to_port_and_pipeline),
		cmocka_unit_test(test_tx_queue_full),
		cmocka_unit_test(test_grown_frame_to_host),
		cmocka_unit_test(test_open_queue_errors),
		cmocka_unit_test(test_pcap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
