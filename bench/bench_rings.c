/* SPDX-License-Identifier: MIT */
/*
 * bench-rings: the host-queue data rings of the pci backend
 * (docs/device-interface.md section 11) in one process and on one core:
 * the driver's host queues (drv_hostq) send packets through the pipeline,
 * the device's ring side (hwsim/pcidev_rings.c) takes them into hwsim,
 * hwsim runs them (a table miss: up to the host), the ring side copies
 * them into the receive rings and the driver receives them and sends them
 * again. Peer: the same loop through hwsim's own host queues (what the
 * hwsim backend does), in the same run. Everything is timed: the rings'
 * two sides, the copies and hwsim's pipeline.
 *
 *   bench-rings [-n PACKETS] [-l FRAME_LEN] [-b BURST]
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dpak/queue.h>
#include "bench.h"
#include "backends/pci/drv_hostq.h"
#include "hwsim.h"
#include "pcidev_rings.h"

#define QSIZE 256
#define POOL 2048
#define IOVA 0x100000000ull

static struct hw_dev *dev_new(void)
{
	struct hw_dev_cfg dc = { .n_uplinks = 2, .ring_size = 1024, .n_queues = 1,
				 .queue_size = 1024, .pool_size = 4096 };
	struct hw_table_cfg tc = {
		.type = PK_EXACT, .miss = PK_MISS_HOST, .capacity = 1024,
		.key_bytes = 16, .action_bytes = 8, .n_fields = 3,
		.field = { PK_ETH_DST, PK_ETH_SRC, PK_ETH_TYPE },
	};
	struct hw_dev *dev;

	if (hw_dev_create(&dc, &dev) || hw_table_create(dev, &tc) || hw_dev_start(dev)) {
		fprintf(stderr, "bench-rings: hwsim device\n");
		exit(1);
	}
	return dev;
}

static void frame(uint8_t *f, uint32_t len, uint32_t i)
{
	memset(f, 0, len);
	f[0] = 2;
	f[5] = (uint8_t)i;
	f[6] = 2;
	f[11] = 0xa;
	f[12] = 0x88;
	f[13] = 0xb5;
}

/* drv_hostq -> fe_rings -> hwsim -> fe_rings -> drv_hostq, round and round. */
static double run_rings(uint64_t n, uint32_t len, uint16_t burst)
{
	struct hw_dev *dev = dev_new();
	struct drv_hostq_cfg c = { .queues = 1, .queue_size = QSIZE, .pool_size = POOL,
				   .max_frame = HW_MAX_FRAME };
	static uint32_t bar4[1024];
	struct drv_hostq *hq;
	struct fe_rings *fe;
	struct devif_hostq_setup rec[4];
	struct dpak_pkt *p[256];
	struct fe_dma dma;
	size_t bytes;
	uint8_t *win;
	uint64_t done = 0;
	double t0, t;
	int held = 0;

	bytes = drv_hostq_dma_bytes(&c);
	win = aligned_alloc(4096, (bytes + 4095) & ~(size_t)4095);
	if (!win)
		exit(1);
	c.dma = win;
	c.dma_iova = IOVA;
	c.dma_len = bytes;
	c.bar4 = bar4;
	dma.base = win;
	dma.iova = IOVA;
	dma.len = bytes;
	if (drv_hostq_new(&c, &hq) || fe_rings_new(&dma, bar4, 1, &fe)) {
		fprintf(stderr, "bench-rings: rings\n");
		exit(1);
	}
	for (unsigned i = 0, k = drv_hostq_setup_records(hq, rec, 4); i < k; i++)
		if (fe_rings_setup(fe, &rec[i]) != DEVIF_S_OK)
			exit(1);
	drv_hostq_start(hq);
	for (held = 0; held < burst; held++) {
		p[held] = drv_hostq_pkt_alloc(hq);
		frame(p[held]->data, len, (uint32_t)held);
		p[held]->len = len;
	}
	t0 = bench_now();
	while (done < n) {
		int k;

		for (int i = 0; i < held; i++) {
			p[i]->port = 0;
			p[i]->tx_flags = DPAK_TX_PIPELINE;
		}
		k = drv_hostq_tx_burst(hq, 0, p, (uint16_t)held);
		if (k != held) {
			fprintf(stderr, "bench-rings: tx_burst took %d of %d\n", k, held);
			exit(1);
		}
		fe_rings_tx(fe, dev);
		hw_run(dev, 1024);
		fe_rings_rx(fe, dev);
		held = drv_hostq_rx_burst(hq, 0, p, burst);
		if (held <= 0) {
			fprintf(stderr, "bench-rings: packets lost\n");
			exit(1);
		}
		done += (uint64_t)held;
	}
	t = bench_now() - t0;
	for (int i = 0; i < held; i++)
		drv_hostq_pkt_free(hq, p[i]);
	fe_rings_free(fe);
	drv_hostq_free(hq);
	hw_dev_destroy(dev);
	free(win);
	return (double)done / t / 1e6;
}

/* The same loop through hwsim's own host queues. */
static double run_hwsim(uint64_t n, uint32_t len, uint16_t burst)
{
	struct hw_dev *dev = dev_new();
	struct hw_pktbuf *b[256];
	uint64_t done = 0;
	double t0, t;
	int held;

	for (held = 0; held < burst; held++) {
		b[held] = hw_pkt_alloc(dev);
		frame(b[held]->data, len, (uint32_t)held);
		b[held]->len = len;
	}
	t0 = bench_now();
	while (done < n) {
		for (int i = 0; i < held; i++) {
			b[i]->port = 0;
			b[i]->tx_flags = HW_TX_PIPELINE;
		}
		if (hw_host_tx_burst(dev, 0, b, (unsigned)held) != held)
			exit(1);
		hw_run(dev, 1024);
		held = hw_host_rx_burst(dev, 0, b, burst);
		if (held <= 0) {
			fprintf(stderr, "bench-rings: packets lost (hwsim)\n");
			exit(1);
		}
		done += (uint64_t)held;
	}
	t = bench_now() - t0;
	for (int i = 0; i < held; i++)
		hw_pkt_free(dev, b[i]);
	hw_dev_destroy(dev);
	return (double)done / t / 1e6;
}

int main(int argc, char **argv)
{
	uint64_t n = 2000000;
	uint32_t len = 64;
	unsigned burst = 32;
	int o;
	char what[96];

	while ((o = getopt(argc, argv, "n:l:b:")) != -1)
		switch (o) {
		case 'n': n = strtoull(optarg, NULL, 0); break;
		case 'l': len = (uint32_t)strtoul(optarg, NULL, 0); break;
		case 'b': burst = (unsigned)strtoul(optarg, NULL, 0); break;
		default:
			fprintf(stderr, "usage: bench-rings [-n PACKETS] [-l FRAME_LEN] "
				"[-b BURST]\n");
			return 2;
		}
	if (len < 14 || len > 9000 || !burst || burst > 128) {
		fprintf(stderr, "bench-rings: -l 14..9000, -b 1..128\n");
		return 2;
	}
	bench_header(argc, argv, "bench-rings: host queues over the data rings vs "
		     "hwsim's own host queues");
	for (int round = 0; round < 3; round++) {
		double r = run_rings(n, len, (uint16_t)burst);
		double h = run_hwsim(n, len, (uint16_t)burst);

		snprintf(what, sizeof(what), "tx, pipeline miss, rx: %u-byte, burst %u", len,
			 burst);
		bench_row(what, r, h, "Mpps (peer: hwsim's host queues)");
	}
	return 0;
}
