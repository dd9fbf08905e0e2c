/* SPDX-License-Identifier: MIT */
/*
 * Frame sizes: the egress MTU rule (MTU + 14 + 4 per VLAN tag, on the
 * finished frame after pushes and encapsulation), the MTU set by API and
 * devspec, jumbo frames through injection, the pipeline, capture and the
 * host queues; and pcap files through libpcap: pcapng input, a jumbo frame
 * written and read back, and an output file whose reader stopped, which
 * must neither block the device nor its close. dpak-ctl trace says what
 * the MTU does, as the device then does it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/stat.h>
#include <cmocka.h>
#include <dpak/dpak.h>
#include "devspec.h"
#include "ctl.h"

enum { UP0, UP1, PF0, VF0, VF1, VF2, VF3, N_PORTS };

static uint8_t frame_buf[9300], out[16384];

static struct dpak_dev *open_dev(const char *spec)
{
	struct dpak_dev *dev = dpak_dev_open(spec, NULL);
	if (!dev)
		fprintf(stderr, "open %s: %s\n", spec, dpak_errmsg());
	assert_non_null(dev);
	return dev;
}

/* A frame of @len bytes; @tags VLAN tags (outer 802.1ad when two). */
static uint8_t *frame(size_t len, int tags, uint8_t seed)
{
	uint8_t *b = frame_buf;
	static const uint8_t hdr[12] = { 2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, 0xa };

	memcpy(b, hdr, 12);
	for (size_t i = 12; i < len; i++)
		b[i] = (uint8_t)(i * 13 + seed);
	size_t o = 12;
	for (int t = 0; t < tags; t++, o += 4) {
		uint16_t tpid = tags == 2 && t == 0 ? 0x88a8 : 0x8100;
		b[o] = (uint8_t)(tpid >> 8), b[o + 1] = (uint8_t)tpid;
		b[o + 2] = 0, b[o + 3] = (uint8_t)(10 + t);
	}
	b[o] = 0x88, b[o + 1] = 0xb5;
	return b;
}

static struct dpak_port_stats stats(struct dpak_dev *dev, uint32_t port)
{
	struct dpak_port_stats s = { .sz = sizeof(s) };
	assert_int_equal(dpak_port_stats(dev, port, &s), 0);
	return s;
}

/* Send a frame out of @port from the slow path; returns what left it
 * (its length), or 0. */
static ssize_t send_out(struct dpak_dev *dev, uint32_t port, const uint8_t *f, size_t len)
{
	struct dpak_pkt *p = dpak_pkt_alloc(dev);
	assert_non_null(p);
	assert_true(p->buf_len >= len);
	memcpy(p->data, f, len);
	p->len = (uint32_t)len;
	p->port = port;
	p->tx_flags = DPAK_TX_PORT;
	assert_int_equal(dpak_tx_burst(dev, 0, &p, 1), 1);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	ssize_t n = dpak_hwsim_capture(dev, port, out, sizeof(out));
	if (n == -EAGAIN)
		return 0;
	assert_true(n > 0);
	assert_memory_equal(out, f, (size_t)n);
	return n;
}

/* The rule at its edges: MTU + 14 leaves, one byte more is dropped and
 * counted on the egress port; each VLAN tag adds 4. */
static void test_mtu_edges(void **state)
{
	(void)state;
	struct dpak_dev *dev = open_dev(test_devspec(""));
	static const struct { size_t len; int tags; int leaves; } c[] = {
		{ 1514, 0, 1 }, { 1515, 0, 0 }, { 1518, 1, 1 }, { 1519, 1, 0 },
		{ 1522, 2, 1 }, { 1523, 2, 0 }, { 60, 0, 1 },
	};
	uint64_t dropped = 0;

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		ssize_t n = send_out(dev, UP0, frame(c[i].len, c[i].tags, (uint8_t)i), c[i].len);
		assert_int_equal(n, c[i].leaves ? (ssize_t)c[i].len : 0);
		dropped += !c[i].leaves;
		struct dpak_port_stats s = stats(dev, UP0);
		assert_int_equal(s.drops_mtu, dropped);
		assert_int_equal(s.drops, dropped);
		assert_int_equal(s.tx_packets, i + 1 - dropped);
	}
	/* The same frame leaves once the MTU allows it. */
	assert_int_equal(dpak_port_set_mtu(dev, UP0, 1501), 0);
	assert_int_equal(send_out(dev, UP0, frame(1515, 0, 0), 1515), 1515);
	dpak_dev_close(dev);
}

static void add_flow(struct dpak_dev *dev, uint32_t in, const struct dpak_action *acts)
{
	struct dpak_item_port ip = { in };
	struct dpak_item items[] = { { DPAK_ITEM_PORT, &ip, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_flow *f;
	assert_int_equal(dpak_flow_add(dpak_table_get(dev, "acl"), items, acts, NULL, &f), 0);
}

static ssize_t through(struct dpak_dev *dev, uint32_t in, uint32_t egress,
		       const uint8_t *f, size_t len)
{
	assert_int_equal(dpak_hwsim_inject(dev, in, f, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	ssize_t n = dpak_hwsim_capture(dev, egress, out, sizeof(out));
	return n == -EAGAIN ? 0 : n;
}

/* The check is on the finished frame: after VXLAN encapsulation (the
 * 1514-byte frame dpak-vpcgw encapsulates becomes 1564) and VLAN push. */
static void test_mtu_after_encap_and_push(void **state)
{
	(void)state;
	struct dpak_dev *dev = open_dev(test_devspec(""));
	struct dpak_action_vxlan_encap e = {
		.eth_dst = { 2, 0, 0, 0, 0, 0xc }, .eth_src = { 2, 0, 0, 0, 0, 0xd },
		.ipv4_src = htonl(0xc0000201), .ipv4_dst = htonl(0xc0000202), .vni = 5000,
	};
	struct dpak_action_port up0 = { UP0 }, up1 = { UP1 };
	struct dpak_action_vlan_push vp = { 0, 7 };
	struct dpak_action encap[] = { { DPAK_ACTION_VXLAN_ENCAP, &e }, { DPAK_ACTION_PORT, &up0 },
				       { DPAK_ACTION_END, NULL } };
	struct dpak_action push[] = { { DPAK_ACTION_VLAN_PUSH, &vp }, { DPAK_ACTION_PORT, &up1 },
				      { DPAK_ACTION_END, NULL } };

	add_flow(dev, VF0, encap);
	add_flow(dev, VF1, push);
	assert_int_equal(through(dev, VF0, UP0, frame(1514, 0, 1), 1514), 0);
	struct dpak_port_stats s = stats(dev, UP0);
	assert_int_equal(s.drops_mtu, 1);
	assert_int_equal(s.drops, 1);
	assert_int_equal(stats(dev, VF0).drops, 0); /* counted on egress only */
	assert_int_equal(through(dev, VF0, UP0, frame(1464, 0, 2), 1464), 1514);
	/* A pushed tag brings its own 4 bytes. */
	assert_int_equal(through(dev, VF1, UP1, frame(1514, 0, 3), 1514), 1518);
	assert_int_equal(through(dev, VF1, UP1, frame(1515, 0, 4), 1515), 0);
	assert_int_equal(stats(dev, UP1).drops_mtu, 1);
	/* Room for the encapsulation: the uplink's MTU raised by 50. */
	assert_int_equal(dpak_port_set_mtu(dev, UP0, 1550), 0);
	assert_int_equal(through(dev, VF0, UP0, frame(1514, 0, 5), 1514), 1564);
	dpak_dev_close(dev);
}

/* dpak-ctl trace of a frame, run in-process: the text the operator reads. */
static char *trace(struct dpak_dev *dev, uint32_t port, const uint8_t *f, size_t n)
{
	static struct ctl_req r;
	char line[CTL_MAX_REQ];
	size_t o = (size_t)snprintf(line, sizeof(line), "DPAK/1 trace port=%u hex=", port);
	for (size_t i = 0; i < n; i++)
		o += (size_t)snprintf(line + o, sizeof(line) - o, "%02x", f[i]);
	assert_int_equal(ctl_parse(line, o, &r), 0);
	char *body = NULL;
	long len = 0;
	assert_int_equal(ctl_run(dev, &r, &body, &len), 0);
	return body;
}

/* Trace runs the same rule: it says dropped where the device drops, and
 * moves no counter. */
static void test_mtu_in_trace(void **state)
{
	(void)state;
	struct dpak_dev *dev = open_dev(test_devspec(""));
	struct dpak_action_port up0 = { UP0 };
	struct dpak_action fwd[] = { { DPAK_ACTION_PORT, &up0 }, { DPAK_ACTION_END, NULL } };
	char *t;

	add_flow(dev, VF0, fwd);
	assert_int_equal(dpak_port_set_mtu(dev, UP0, 1000), 0);
	t = trace(dev, VF0, frame(1014, 0, 1), 1014);
	assert_non_null(strstr(t, "out of port"));
	free(t);
	t = trace(dev, VF0, frame(1015, 0, 1), 1015);
	assert_null(strstr(t, "out of port"));
	assert_non_null(strstr(t, "dropped: 1015 bytes, longer than port uplink0's MTU allows"));
	free(t);
	assert_int_equal(stats(dev, UP0).drops_mtu, 0); /* a trace counts nothing */
	assert_int_equal(through(dev, VF0, UP0, frame(1015, 0, 1), 1015), 0);
	assert_int_equal(stats(dev, UP0).drops_mtu, 1);
	/* A jumbo frame can be traced too (the request holds it in hex). */
	assert_int_equal(dpak_port_set_mtu(dev, UP0, 9202), 0);
	t = trace(dev, VF0, frame(9216, 0, 1), 9216);
	assert_non_null(strstr(t, "out of port uplink0"));
	free(t);
	dpak_dev_close(dev);
}

static void test_set_mtu_api(void **state)
{
	(void)state;
	struct dpak_dev *dev = open_dev(test_devspec(""));
	struct dpak_port_info pi = { .sz = sizeof(pi) };

	assert_int_equal(dpak_port_info(dev, VF2, &pi), 0);
	assert_int_equal(pi.mtu, 1500);
	assert_int_equal(pi.min_mtu, 68);
	assert_int_equal(pi.max_mtu, 9202);
	assert_int_equal(dpak_port_set_mtu(dev, VF2, 9202), 0);
	assert_int_equal(dpak_port_set_mtu(dev, VF2, 9203), -EINVAL);
	/* each backend's words (pci: docs/device-interface.md 9, PORT_CONFIG) */
	assert_non_null(strstr(dpak_errmsg(), test_backend_text("port 5: MTU 9203 out of range",
								"port 5 (vf2): MTU 9203 out of range")));
	assert_non_null(strstr(dpak_errmsg(), test_backend_text("68 to 9202", "68-9202")));
	assert_int_equal(dpak_port_set_mtu(dev, VF2, 67), -EINVAL);
	assert_int_equal(dpak_port_set_mtu(dev, VF2, 0), -EINVAL);
	assert_int_equal(dpak_port_info(dev, VF2, &pi), 0);
	assert_int_equal(pi.mtu, 9202); /* a failed call changes nothing */
	assert_int_equal(dpak_port_set_mtu(dev, 99, 1500), -ENOENT);
	assert_non_null(strstr(dpak_errmsg(), "port 99"));
	assert_int_equal(dpak_port_set_mtu(NULL, 0, 1500), -EINVAL);
	assert_int_equal(dpak_port_set_mtu(dev, VF2, 68), 0);
	assert_int_equal(dpak_port_info(dev, VF2, &pi), 0);
	assert_int_equal(pi.mtu, 68);
	dpak_dev_close(dev);
}

static void test_devspec_mtu(void **state)
{
	(void)state;
	struct dpak_dev *dev = open_dev(test_devspec("uplinks=1,mtu=9000"));
	struct dpak_port_info pi = { .sz = sizeof(pi) };
	struct dpak_dev_info di = { .sz = sizeof(di) };

	assert_int_equal(dpak_dev_info(dev, &di), 0);
	for (uint32_t p = 0; p < di.n_ports; p++) {
		assert_int_equal(dpak_port_info(dev, p, &pi), 0);
		assert_int_equal(pi.mtu, 9000);
	}
	dpak_dev_close(dev);
	static const char *bad[] = { "hwsim:mtu=67", "hwsim:mtu=9203", "hwsim:mtu=0",
				     "hwsim:mtu=x" };
	for (size_t i = 0; i < 4; i++) {
		errno = 0;
		assert_null(dpak_dev_open(bad[i], NULL));
		assert_int_equal(errno, EINVAL);
		assert_non_null(strstr(dpak_errmsg(), bad[i] + 6));
	}
	assert_non_null(strstr(dpak_errmsg(), "mtu=x"));
	dpak_dev_open("hwsim:mtu=9203", NULL);
	assert_non_null(strstr(dpak_errmsg(), "68 to 9202"));
}

/* Jumbo frames through injection, the pipeline, capture and the host
 * queues, both ways. */
static void test_jumbo(void **state)
{
	(void)state;
	struct dpak_dev *dev = open_dev(test_devspec("mtu=9202"));
	struct dpak_action_port up0 = { UP0 };
	struct dpak_action fwd[] = { { DPAK_ACTION_PORT, &up0 }, { DPAK_ACTION_END, NULL } };
	struct dpak_pkt *p;
	uint8_t *f;

	add_flow(dev, VF0, fwd);
	f = frame(9216, 0, 1);
	assert_int_equal(through(dev, VF0, UP0, f, 9216), 9216);
	assert_memory_equal(out, f, 9216);
	f = frame(9224, 2, 2);
	assert_int_equal(through(dev, VF0, UP0, f, 9224), 9224);
	assert_memory_equal(out, f, 9224);
	assert_int_equal(dpak_hwsim_inject(dev, VF0, f, 9225), -EINVAL);
	assert_non_null(strstr(dpak_errmsg(), "14 to 9224"));
	/* Up the slow path (a miss) and back out. */
	f = frame(9216, 0, 3);
	assert_int_equal(dpak_hwsim_inject(dev, VF1, f, 9216), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	assert_int_equal(dpak_rx_burst(dev, 0, &p, 1), 1);
	assert_int_equal(p->len, 9216);
	assert_true(p->buf_len >= 9224);
	assert_memory_equal(p->data, f, 9216);
	p->port = UP1;
	p->tx_flags = DPAK_TX_PORT;
	assert_int_equal(dpak_tx_burst(dev, 0, &p, 1), 1);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	assert_int_equal(dpak_hwsim_capture(dev, UP1, out, sizeof(out)), 9216);
	assert_memory_equal(out, f, 9216);
	dpak_dev_close(dev);
}

/* --- pcap ---------------------------------------------------------------- */

static char dir[] = "/tmp/dpak-frames-XXXXXX";

static int mk_dir(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static void put32(FILE *f, uint32_t v)
{
	fwrite(&v, 4, 1, f);
}

/* A pcapng file written byte by byte (IETF draft-ietf-opsawg-pcapng):
 * section header, one Ethernet interface, an enhanced packet per frame. */
static void write_pcapng(const char *path, const uint8_t *const *fr, const size_t *len, int n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	put32(f, 0x0a0d0d0a), put32(f, 28), put32(f, 0x1a2b3c4d);
	put32(f, 1 | 0 << 16); /* version 1.0 */
	put32(f, 0xffffffff), put32(f, 0xffffffff); /* section length: unknown */
	put32(f, 28);
	put32(f, 1), put32(f, 20), put32(f, 1 /* LINKTYPE_ETHERNET */), put32(f, 0);
	put32(f, 20);
	for (int i = 0; i < n; i++) {
		uint32_t pad = (uint32_t)((4 - len[i] % 4) % 4), tot = 32 + (uint32_t)len[i] + pad;
		put32(f, 6), put32(f, tot), put32(f, 0), put32(f, 0), put32(f, (uint32_t)i);
		put32(f, (uint32_t)len[i]), put32(f, (uint32_t)len[i]);
		fwrite(fr[i], 1, len[i], f);
		fwrite("\0\0\0", 1, pad, f);
		put32(f, tot);
	}
	fclose(f);
}

static void test_pcapng_input(void **state)
{
	(void)state;
	TEST_HWSIM_ONLY("pcap files are hwsim's own; the device interface carries no pcap");
	struct dpak_dev *dev = open_dev(test_devspec("mtu=9202"));
	struct dpak_action_port vf0 = { VF0 };
	struct dpak_action fwd[] = { { DPAK_ACTION_PORT, &vf0 }, { DPAK_ACTION_END, NULL } };
	static uint8_t a[100], b[9216];
	const uint8_t *fr[2] = { a, b };
	size_t len[2] = { sizeof(a), sizeof(b) };
	char path[64];

	memcpy(a, frame(sizeof(a), 0, 1), sizeof(a));
	memcpy(b, frame(sizeof(b), 1, 2), sizeof(b));
	snprintf(path, sizeof(path), "%s/in.pcapng", dir);
	write_pcapng(path, fr, len, 2);
	add_flow(dev, UP0, fwd);
	assert_int_equal(dpak_hwsim_pcap(dev, UP0, DPAK_HWSIM_PCAP_IN, path), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 2);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(dpak_hwsim_capture(dev, VF0, out, sizeof(out)), (ssize_t)len[i]);
		assert_memory_equal(out, fr[i], len[i]);
	}
	struct dpak_hwsim_pcap_stats st = { .sz = sizeof(st) };
	assert_int_equal(dpak_hwsim_pcap_stats(dev, UP0, DPAK_HWSIM_PCAP_IN, &st), 0);
	assert_int_equal(st.packets, 2);
	assert_int_equal(st.drops, 0);
	assert_int_equal(dpak_hwsim_pcap_stats(dev, UP1, DPAK_HWSIM_PCAP_IN, &st), -ENOENT);
	assert_non_null(strstr(dpak_errmsg(), "port 1 has no pcap input file"));
	assert_int_equal(dpak_hwsim_pcap_stats(dev, DPAK_HWSIM_HOST, DPAK_HWSIM_PCAP_OUT, &st),
			 -ENOENT);
	/* Input from a pipe could make the engine wait: refused. */
	char fifo[64];
	snprintf(fifo, sizeof(fifo), "%s/in.fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	int wr = open(fifo, O_RDWR | O_NONBLOCK);
	assert_true(wr >= 0);
	assert_int_equal(dpak_hwsim_pcap(dev, UP1, DPAK_HWSIM_PCAP_IN, fifo), -EINVAL);
	assert_non_null(strstr(dpak_errmsg(), "not a regular file"));
	close(wr);
	unlink(fifo);
	dpak_dev_close(dev);
	unlink(path);
}

static void wait_written(struct dpak_dev *dev, uint32_t port, uint64_t n)
{
	struct dpak_hwsim_pcap_stats st = { .sz = sizeof(st) };
	for (int i = 0; i < 5000; i++) {
		assert_int_equal(dpak_hwsim_pcap_stats(dev, port, DPAK_HWSIM_PCAP_OUT, &st), 0);
		if (st.packets + st.drops >= n)
			break;
		usleep(1000);
	}
	assert_int_equal(st.packets, n);
	assert_int_equal(st.drops, 0);
	assert_int_equal(st.queued, 0);
	assert_int_equal(st.error, 0);
}

/* A jumbo frame written to a pcap file, and read back into a port. */
static void test_pcap_jumbo_round_trip(void **state)
{
	(void)state;
	TEST_HWSIM_ONLY("pcap files are hwsim's own; the device interface carries no pcap");
	struct dpak_dev *dev = open_dev(test_devspec("mtu=9202"));
	char path[64];
	static uint8_t j[9224];

	snprintf(path, sizeof(path), "%s/jumbo.pcap", dir);
	assert_int_equal(dpak_hwsim_pcap(dev, UP1, DPAK_HWSIM_PCAP_OUT, path), 0);
	memcpy(j, frame(sizeof(j), 2, 9), sizeof(j));
	assert_int_equal(send_out(dev, UP1, j, sizeof(j)), (ssize_t)sizeof(j));
	assert_int_equal(send_out(dev, UP1, j, 64), 64);
	wait_written(dev, UP1, 2);
	dpak_dev_close(dev);

	struct dpak_action_port vf0 = { VF0 };
	struct dpak_action fwd[] = { { DPAK_ACTION_PORT, &vf0 }, { DPAK_ACTION_END, NULL } };
	dev = open_dev(test_devspec("mtu=9202"));
	add_flow(dev, UP0, fwd);
	assert_int_equal(dpak_hwsim_pcap(dev, UP0, DPAK_HWSIM_PCAP_IN, path), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 2);
	assert_int_equal(dpak_hwsim_capture(dev, VF0, out, sizeof(out)), (ssize_t)sizeof(j));
	assert_memory_equal(out, j, sizeof(j));
	assert_int_equal(dpak_hwsim_capture(dev, VF0, out, sizeof(out)), 64);
	assert_memory_equal(out, j, 64);
	dpak_dev_close(dev);
	unlink(path);
}

/* An output file whose reader stopped (a FIFO opened for reading and never
 * read, as a paused tcpdump): the device forwards everything, the frames
 * that do not fit the writer's queue are counted, and close returns. */
static void test_pcap_stuck_sink(void **state)
{
	(void)state;
	TEST_HWSIM_ONLY("pcap files are hwsim's own; the device interface carries no pcap");
	struct dpak_dev *dev = open_dev(test_devspec("engine=step"));
	char fifo[64], fifo2[64];
	int rd;
	uint64_t sent = 0, captured = 0;

	snprintf(fifo, sizeof(fifo), "%s/stuck.fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	assert_int_equal(dpak_hwsim_pcap(dev, UP0, DPAK_HWSIM_PCAP_OUT, fifo), 0);
	for (int round = 0; round < 40; round++) {
		struct dpak_pkt *p[128];
		int n = 0;
		for (; n < 128; n++) {
			p[n] = dpak_pkt_alloc(dev);
			assert_non_null(p[n]);
			memcpy(p[n]->data, frame(1514, 0, (uint8_t)n), 1514);
			p[n]->len = 1514;
			p[n]->port = UP0;
			p[n]->tx_flags = DPAK_TX_PORT;
		}
		assert_int_equal(dpak_tx_burst(dev, 0, p, 128), 128);
		sent += 128;
		assert_int_equal(dpak_hwsim_run(dev, 0), 128);
		while (dpak_hwsim_capture(dev, UP0, out, sizeof(out)) == 1514)
			captured++;
	}
	assert_int_equal(captured, sent); /* forwarding went on */
	struct dpak_hwsim_pcap_stats st = { .sz = sizeof(st) };
	assert_int_equal(dpak_hwsim_pcap_stats(dev, UP0, DPAK_HWSIM_PCAP_OUT, &st), 0);
	assert_true(st.drops > 0);
	/* Each frame is written, dropped or queued (give or take the one the
	 * writer holds while these are read). */
	assert_true(st.packets + st.drops + st.queued <= sent + 1);
	assert_true(st.packets + st.drops + st.queued >= sent - 1);

	/* A FIFO nobody has opened yet: attaching does not wait for a reader. */
	snprintf(fifo2, sizeof(fifo2), "%s/noreader.fifo", dir);
	assert_int_equal(mkfifo(fifo2, 0600), 0);
	assert_int_equal(dpak_hwsim_pcap(dev, UP1, DPAK_HWSIM_PCAP_OUT, fifo2), 0);
	assert_int_equal(send_out(dev, UP1, frame(100, 0, 1), 100), 100);

	dpak_dev_close(dev); /* returns: the test would hang otherwise */
	close(rd);
	unlink(fifo);
	unlink(fifo2);
}

/* A pipe whose reader goes away: the file fails with EPIPE, counted; the
 * process is not killed by SIGPIPE and the device forwards on. */
static void test_pcap_reader_gone(void **state)
{
	(void)state;
	TEST_HWSIM_ONLY("pcap files are hwsim's own; the device interface carries no pcap");
	struct dpak_dev *dev = open_dev(test_devspec(""));
	struct dpak_hwsim_pcap_stats st = { .sz = sizeof(st) };
	char fifo[64];
	int rd;

	snprintf(fifo, sizeof(fifo), "%s/gone.fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	rd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	assert_int_equal(dpak_hwsim_pcap(dev, UP0, DPAK_HWSIM_PCAP_OUT, fifo), 0);
	close(rd);
	for (int i = 0; i < 5000; i++) {
		assert_int_equal(send_out(dev, UP0, frame(100, 0, (uint8_t)i), 100), 100);
		assert_int_equal(dpak_hwsim_pcap_stats(dev, UP0, DPAK_HWSIM_PCAP_OUT, &st), 0);
		if (st.error)
			break;
		usleep(1000);
	}
	assert_int_equal(st.error, -EPIPE);
	for (int i = 0; i < 5000 && st.queued; i++) { /* let the writer settle */
		usleep(1000);
		assert_int_equal(dpak_hwsim_pcap_stats(dev, UP0, DPAK_HWSIM_PCAP_OUT, &st), 0);
	}
	assert_int_equal(st.queued, 0);
	uint64_t before = st.drops;
	assert_int_equal(send_out(dev, UP0, frame(100, 0, 1), 100), 100);
	for (int i = 0; i < 5000 && st.drops == before; i++) {
		usleep(1000);
		assert_int_equal(dpak_hwsim_pcap_stats(dev, UP0, DPAK_HWSIM_PCAP_OUT, &st), 0);
	}
	assert_int_equal(st.drops, before + 1);
	dpak_dev_close(dev);
	unlink(fifo);
}

/* Several output files whose readers stopped: closing the device stops
 * their writers together (one grace period in all, not one per file), and
 * returns. Every frame is written, left out or still queued. */
static void test_pcap_close_many_stuck(void **state)
{
	(void)state;
	TEST_HWSIM_ONLY("pcap files are hwsim's own; the device interface carries no pcap");
	enum { NF = 6, FRAMES = 256 };
	struct dpak_dev *dev = open_dev(test_devspec("engine=step"));
	char fifo[NF][64];
	int rd[NF];

	for (int i = 0; i < NF; i++) {
		snprintf(fifo[i], sizeof(fifo[i]), "%s/many%d.fifo", dir, i);
		assert_int_equal(mkfifo(fifo[i], 0600), 0);
		rd[i] = open(fifo[i], O_RDONLY | O_NONBLOCK);
		assert_true(rd[i] >= 0);
		assert_int_equal(dpak_hwsim_pcap(dev, (uint32_t)i, DPAK_HWSIM_PCAP_OUT,
						 fifo[i]), 0);
	}
	/* More than a pipe and the writer's buffer hold: each writer stalls
	 * with frames still queued. */
	for (int k = 0; k < FRAMES / 64; k++) {
		for (uint32_t port = 0; port < NF; port++) {
			struct dpak_pkt *p[64];
			for (int n = 0; n < 64; n++) {
				p[n] = dpak_pkt_alloc(dev);
				assert_non_null(p[n]);
				memcpy(p[n]->data, frame(1514, 0, (uint8_t)n), 1514);
				p[n]->len = 1514;
				p[n]->port = port;
				p[n]->tx_flags = DPAK_TX_PORT;
			}
			assert_int_equal(dpak_tx_burst(dev, 0, p, 64), 64);
			assert_int_equal(dpak_hwsim_run(dev, 0), 64);
			while (dpak_hwsim_capture(dev, port, out, sizeof(out)) == 1514)
				;
		}
	}
	for (uint32_t port = 0; port < NF; port++) {
		struct dpak_hwsim_pcap_stats st = { .sz = sizeof(st) };
		assert_int_equal(dpak_hwsim_pcap_stats(dev, port, DPAK_HWSIM_PCAP_OUT, &st), 0);
		assert_int_equal(st.drops, 0); /* the queue holds them all */
		assert_int_equal(st.error, 0);
		assert_true(st.packets + st.queued <= FRAMES + 1);
		assert_true(st.packets + st.queued >= FRAMES - 1);
		assert_true(st.packets < FRAMES); /* the pipe cannot take them all */
	}
	dpak_dev_close(dev); /* returns: the test would hang otherwise */
	for (int i = 0; i < NF; i++) {
		close(rd[i]);
		unlink(fifo[i]);
	}
}

static int rm_dir(void **state)
{
	(void)state;
	return rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mtu_edges),
		cmocka_unit_test(test_mtu_after_encap_and_push),
		cmocka_unit_test(test_mtu_in_trace),
		cmocka_unit_test(test_set_mtu_api),
		cmocka_unit_test(test_devspec_mtu),
		cmocka_unit_test(test_jumbo),
		cmocka_unit_test(test_pcapng_input),
		cmocka_unit_test(test_pcap_jumbo_round_trip),
		cmocka_unit_test(test_pcap_stuck_sink),
		cmocka_unit_test(test_pcap_reader_gone),
		cmocka_unit_test(test_pcap_close_many_stuck),
	};
	return cmocka_run_group_tests(tests, mk_dir, rm_dir);
}
