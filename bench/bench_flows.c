/* SPDX-License-Identifier: MIT */
/*
 * bench-flows: flow insertion and deletion through the public API
 * (dpak_flow_add one at a time and dpak_flow_add_batch), on an empty table
 * and near full, at 1K, 100K and 1M flows; memory per flow at 1M. Peer:
 * DPDK's rte_hash adding and deleting the same packed keys, in the same run.
 *
 *   bench-flows [-s SIZES]     SIZES: comma list, default 1000,100000,1000000
 */
#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <dpak/dpak.h>
#include "bench.h"
#ifdef HAVE_DPDK
#include <rte_hash.h>
#include <rte_hash_crc.h>
#endif

#define KEY_BYTES 26 /* the table's packed key (17 bytes used, padded) */
#define BATCH 64

struct flowspec {
	struct dpak_item_port port;
	struct dpak_item_ipv4 ip;
	struct dpak_item_tcp tcp;
	struct dpak_item items[5];
	uint8_t key[KEY_BYTES]; /* the same key, packed, for the peer */
};

static const struct dpak_action_port OUT = { 1 };
static const struct dpak_action ACTS[] = {
	{ DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &OUT }, { DPAK_ACTION_END, NULL },
};
static const struct dpak_item_ipv4 IP_MASK = { .src = 0xffffffff, .dst = 0xffffffff };

static void make_flows(struct flowspec *f, size_t n)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < n; i++) {
		uint64_t r = bench_rand(&s), r2 = bench_rand(&s);
		struct flowspec *x = &f[i];
		memset(x, 0, sizeof(*x));
		x->port.id = (uint32_t)(i & 3);
		x->ip.src = (uint32_t)r;
		x->ip.dst = (uint32_t)(r >> 32);
		x->tcp.src_port = (uint16_t)r2;
		x->tcp.dst_port = (uint16_t)(r2 >> 16);
		x->items[0] = (struct dpak_item){ DPAK_ITEM_PORT, &x->port, NULL };
		x->items[1] = (struct dpak_item){ DPAK_ITEM_IPV4, &x->ip, &IP_MASK };
		x->items[2] = (struct dpak_item){ DPAK_ITEM_TCP, &x->tcp, NULL };
		x->items[3] = (struct dpak_item){ DPAK_ITEM_END, NULL, NULL };
		/* key=in_port,eth_type,ip_proto,ipv4_src,ipv4_dst,l4_src,l4_dst */
		uint8_t *k = x->key;
		k[0] = 0, k[1] = (uint8_t)x->port.id;
		k[2] = 0x08, k[3] = 0x00, k[4] = 6;
		memcpy(k + 5, &x->ip.src, 4);
		memcpy(k + 9, &x->ip.dst, 4);
		memcpy(k + 13, &x->tcp.src_port, 2);
		memcpy(k + 15, &x->tcp.dst_port, 2);
	}
}

static struct dpak_dev *open_dev(size_t capacity)
{
	char ci[512];
	snprintf(ci, sizeof(ci),
		 "device key-sizes=10,26,42,58\n"
		 "table name=conn type=exact capacity=%zu action-bytes=16 "
		 "key=in_port,eth_type,ip_proto,ipv4_src,ipv4_dst,l4_src,l4_dst\n",
		 capacity);
	DPAK_OPTS(dpak_dev_opts, o, .configinfo_text = ci);
	struct dpak_dev *dev = dpak_dev_open("hwsim:", &o);
	if (!dev) {
		fprintf(stderr, "open: %s\n", dpak_errmsg());
		exit(1);
	}
	return dev;
}

struct rates {
	double empty, full, del;
};

/* Fill to 90% (one at a time or in batches), timing the first 10% and the
 * 80-90% window; then delete everything, timing it. Repeated @reps times. */
static struct rates run_dpak(struct flowspec *fs, size_t cap, int batch, int reps,
			     struct dpak_flow **handles)
{
	size_t n = cap * 9 / 10, w = cap / 10;
	double te = 0, tf = 0, td = 0;
	struct dpak_dev *dev = open_dev(cap);
	struct dpak_table *t = dpak_table_at(dev, 0);
	struct dpak_flow_req *reqs = calloc(BATCH, sizeof(*reqs));
	int results[BATCH];

	for (int r = 0; r < reps; r++) {
		double t0 = bench_now(), t1 = 0, t8 = 0;
		for (size_t i = 0; i < n;) {
			if (i == w)
				t1 = bench_now();
			if (i == n - w)
				t8 = bench_now();
			if (!batch) {
				if (dpak_flow_add(t, fs[i].items, ACTS, NULL, &handles[i])) {
					fprintf(stderr, "add %zu: %s\n", i, dpak_errmsg());
					exit(1);
				}
				i++;
				continue;
			}
			size_t k = BATCH;
			if (i < w && i + k > w)
				k = w - i; /* keep the window edges exact */
			if (i < n - w && i + k > n - w)
				k = n - w - i;
			if (i + k > n)
				k = n - i;
			for (size_t j = 0; j < k; j++)
				reqs[j] = (struct dpak_flow_req){ fs[i + j].items, ACTS, NULL };
			if (dpak_flow_add_batch(t, reqs, k, &handles[i], results) != (int)k) {
				fprintf(stderr, "batch at %zu: %s\n", i, dpak_errmsg());
				exit(1);
			}
			i += k;
		}
		double t9 = bench_now();
		for (size_t i = 0; i < n; i++)
			dpak_flow_del(handles[i]);
		double tz = bench_now();
		te += t1 - t0;
		tf += t9 - t8;
		td += tz - t9;
	}
	free(reqs);
	dpak_dev_close(dev);
	return (struct rates){ (double)w * reps / te / 1e6, (double)w * reps / tf / 1e6,
			       (double)n * reps / td / 1e6 };
}

static struct rates run_peer(struct flowspec *fs, size_t cap, int reps)
{
#ifdef HAVE_DPDK
	size_t n = cap * 9 / 10, w = cap / 10;
	double te = 0, tf = 0, td = 0;
	static int seq;
	char name[32];
	snprintf(name, sizeof(name), "bench%d", seq++);
	struct rte_hash_parameters p = {
		.name = name, .entries = (uint32_t)cap, .key_len = KEY_BYTES,
		.hash_func = rte_hash_crc, .hash_func_init_val = 0, .socket_id = 0,
	};
	struct rte_hash *h = rte_hash_create(&p);
	if (!h)
		return (struct rates){ 0, 0, 0 };
	for (int r = 0; r < reps; r++) {
		double t0 = bench_now(), t1 = 0, t8 = 0;
		for (size_t i = 0; i < n; i++) {
			if (i == w)
				t1 = bench_now();
			if (i == n - w)
				t8 = bench_now();
			if (rte_hash_add_key(h, fs[i].key) < 0) {
				fprintf(stderr, "rte_hash_add_key failed at %zu\n", i);
				exit(1);
			}
		}
		double t9 = bench_now();
		for (size_t i = 0; i < n; i++)
			rte_hash_del_key(h, fs[i].key);
		double tz = bench_now();
		te += t1 - t0;
		tf += t9 - t8;
		td += tz - t9;
	}
	rte_hash_free(h);
	return (struct rates){ (double)w * reps / te / 1e6, (double)w * reps / tf / 1e6,
			       (double)n * reps / td / 1e6 };
#else
	(void)fs, (void)cap, (void)reps;
	return (struct rates){ 0, 0, 0 };
#endif
}

static long rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * sysconf(_SC_PAGESIZE);
}

/* Memory per flow at @n flows: the core's records (allocator) and the
 * device's table (process growth minus the records). */
static void memory(struct flowspec *fs, size_t n, struct dpak_flow **handles)
{
	struct dpak_dev *dev = open_dev(n);
	struct dpak_table *t = dpak_table_at(dev, 0);
	struct mallinfo2 m0 = mallinfo2();
	long r0 = rss_bytes();

	for (size_t i = 0; i < n; i++)
		if (dpak_flow_add(t, fs[i].items, ACTS, NULL, &handles[i]))
			exit(1);
	struct mallinfo2 m1 = mallinfo2();
	long r1 = rss_bytes();
	double core = (double)(m1.uordblks - m0.uordblks) / (double)n;
	double all = (double)(r1 - r0) / (double)n;
	char what[64];
	snprintf(what, sizeof(what), "memory per flow at %zu: whole library", n);
	bench_row(what, all, 0, "bytes (target <= 256)");
	bench_row("  of which the core's flow record", core, 0, "bytes");
	bench_row("  of which the hwsim table (entry+buckets)", all - core, 0, "bytes");
	dpak_dev_close(dev);
}

int main(int argc, char **argv)
{
	size_t sizes[8] = { 1000, 100000, 1000000 }, n_sizes = 3, max = 0;
	int c, argc0 = argc;
	char **argv0 = calloc((size_t)argc + 1, sizeof(char *));

	for (int i = 0; i < argc; i++)
		argv0[i] = strdup(argv[i]);
	while ((c = getopt(argc, argv, "s:")) != -1) {
		if (c == 's') {
			n_sizes = 0;
			for (char *tok = strtok(optarg, ","); tok && n_sizes < 8; tok = strtok(NULL, ","))
				sizes[n_sizes++] = strtoul(tok, NULL, 10);
		} else {
			fprintf(stderr, "usage: bench-flows [-s SIZES]\n");
			return 2;
		}
	}
	for (size_t i = 0; i < n_sizes; i++)
		if (sizes[i] > max)
			max = sizes[i];
	int have_peer = bench_eal_init("bflows") == 0;
	bench_header(argc0, argv0, "flow insertion and deletion (IPv4 5-tuple, exact table); "
		     "peer: DPDK rte_hash with the same keys");
	if (!have_peer)
		printf("# peer not available (built without libdpdk or EAL failed)\n");
	struct flowspec *fs = calloc(max, sizeof(*fs));
	struct dpak_flow **handles = calloc(max, sizeof(*handles));
	make_flows(fs, max);
	/* First, while no freed memory can hide the growth. */
	memory(fs, max, handles);
	for (size_t i = 0; i < n_sizes; i++) {
		size_t cap = sizes[i];
		int reps = cap >= 1000000 ? 1 : (int)(2000000 / cap);
		struct rates one = run_dpak(fs, cap, 0, reps, handles);
		struct rates bat = run_dpak(fs, cap, 1, reps, handles);
		struct rates peer = have_peer ? run_peer(fs, cap, reps) : (struct rates){ 0 };
		char m[96];
		snprintf(m, sizeof(m), "insert one at a time, %zu, empty", cap);
		bench_row(m, one.empty, peer.empty, "M flows/s");
		snprintf(m, sizeof(m), "insert one at a time, %zu, 80-90%% full", cap);
		bench_row(m, one.full, peer.full, "M flows/s");
		snprintf(m, sizeof(m), "insert batch of %d, %zu, empty", BATCH, cap);
		bench_row(m, bat.empty, peer.empty, "M flows/s");
		snprintf(m, sizeof(m), "insert batch of %d, %zu, 80-90%% full", BATCH, cap);
		bench_row(m, bat.full, peer.full, "M flows/s");
		snprintf(m, sizeof(m), "delete one at a time, %zu", cap);
		bench_row(m, one.del, peer.del, "M flows/s");
	}
	free(fs);
	free(handles);
	return 0;
}
