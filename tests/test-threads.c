/* SPDX-License-Identifier: MIT */
/*
 * Flow calls from several threads at once, while the device's own engine
 * thread forwards: each thread adds, queries, replaces and deletes its own
 * flows (two threads share a table); at the end every table holds exactly
 * the flows the threads kept, and packets of a flow that was never touched
 * were all forwarded.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>
#include <dpak/dpak.h>
#include "pkt.h"

enum { THREADS = 4, PER = 20000, KEEP_EVERY = 10 };

static struct dpak_dev *dev;
static int finished; /* workers done (atomic) */

struct worker {
	int id;
	const char *table;
	int kept, errors;
};

static void *work(void *arg)
{
	struct worker *w = arg;
	struct dpak_table *t = dpak_table_get(dev, w->table);
	struct dpak_item_port in = { 3 + (uint32_t)(w->id % 2) };
	struct dpak_item_eth e = { 0 };
	struct dpak_item_eth em = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct dpak_item_vlan vl = { 0 };
	struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_ETH, &e, &em },
				  { DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port p0 = { 0 }, p1 = { 1 };
	struct dpak_action a0[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &p0 },
				    { DPAK_ACTION_END, NULL } };
	struct dpak_action a1[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &p1 },
				    { DPAK_ACTION_END, NULL } };

	for (int i = 0; i < PER; i++) {
		struct dpak_flow *f;
		struct dpak_flow_stats st = { .sz = sizeof(st) };
		e.dst[0] = 0x02;
		e.dst[1] = (uint8_t)w->id;
		e.dst[4] = (uint8_t)(i >> 8);
		e.dst[5] = (uint8_t)i;
		DPAK_OPTS(dpak_flow_opts, o, .cookie = (uint64_t)w->id << 32 | (uint32_t)i);
		if (dpak_flow_add(t, it, a0, &o, &f)) {
			w->errors++;
			continue;
		}
		if (dpak_flow_query(f, &st) || dpak_flow_replace_actions(f, a1) ||
		    dpak_flow_cookie(f) != ((uint64_t)w->id << 32 | (uint32_t)i))
			w->errors++;
		if (i % KEEP_EVERY == 0)
			w->kept++;
		else if (dpak_flow_del(f))
			w->errors++;
	}
	__atomic_fetch_add(&finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_concurrent_flow_calls(void **state)
{
	(void)state;
	dev = dpak_dev_open("hwsim:engine=thread", NULL);
	assert_non_null(dev);
	/* A flow nobody touches, with traffic through it all along. */
	struct dpak_item_port in = { 5 };
	struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_IPV4, NULL, NULL },
				  { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port out = { 6 };
	struct dpak_action a[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &out },
				   { DPAK_ACTION_END, NULL } };
	struct dpak_flow *steady;
	assert_int_equal(dpak_flow_add(dpak_table_get(dev, "acl"), it, a, NULL, &steady), 0);

	struct worker w[THREADS] = {
		{ 0, "l2", 0, 0 }, { 1, "l2", 0, 0 }, { 2, "l2", 0, 0 }, { 3, "l2", 0, 0 },
	};
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, work, &w[i]), 0);

	uint8_t f[128], buf[256];
	struct pkt_spec s = { .sip = 1, .dip = 2, .proto = 17, .payload = 10 };
	size_t len = pkt_build(f, &s);
	uint64_t sent = 0, got = 0;
	while (__atomic_load_n(&finished, __ATOMIC_ACQUIRE) < THREADS) {
		/* keep fewer frames in flight than the rings hold */
		if (sent - got < 128 && dpak_hwsim_inject(dev, 5, f, len) == 0)
			sent++;
		while (dpak_hwsim_capture(dev, 6, buf, sizeof(buf)) > 0)
			got++;
		if (sent % 64 == 0) {
			struct timespec ts = { 0, 100000 };
			nanosleep(&ts, NULL);
		}
	}
	int kept = 0;
	for (int i = 0; i < THREADS; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(w[i].errors, 0);
		kept += w[i].kept;
	}
	/* Drain what is still in flight (up to 5 s). */
	for (int spin = 0; got < sent && spin < 5000; spin++) {
		while (dpak_hwsim_capture(dev, 6, buf, sizeof(buf)) > 0)
			got++;
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	assert_int_equal(got, sent);
	struct dpak_flow_stats st = { .sz = sizeof(st) };
	assert_int_equal(dpak_flow_query(steady, &st), 0);
	assert_int_equal(st.packets, sent);
	struct dpak_table_info ti = { .sz = sizeof(ti) };
	assert_int_equal(dpak_table_info(dpak_table_get(dev, "l2"), &ti), 0);
	assert_int_equal(ti.in_use, (uint32_t)kept);
	assert_int_equal(kept, THREADS * PER / KEEP_EVERY);
	int listed = 0;
	for (struct dpak_flow *fl = NULL; (fl = dpak_flow_next(dpak_table_get(dev, "l2"), fl));)
		listed++;
	assert_int_equal(listed, kept);
	dpak_dev_close(dev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_flow_calls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
