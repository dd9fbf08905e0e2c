/* SPDX-License-Identifier: MIT */
/*
 * The device's event channel: each event kind (aged flows, table occupancy
 * crossing the switch's marks, port links, bonds), the descriptor's
 * readiness, the bounded queue and its LOST event, aged flows never lost,
 * subscriptions, bad input, concurrent flow calls, and the older calls
 * (dpak_flow_aged, dpak_bond_event_*) still answering alongside.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <poll.h>
#include <pthread.h>
#include <unistd.h>
#include <cmocka.h>
#include <dpak/dpak.h>

/* hwsim:uplinks=2,pfs=0,vfs=2: uplink0 = 0, uplink1 = 1, vf0 = 2, vf1 = 3 */
enum { U0, U1, VF0, VF1 };

#define CFG                                                                    \
	"table name=small type=exact capacity=8 miss=host action-bytes=32 "   \
	"key=in_port,eth_dst,vlan_tci\n"                                       \
	"table name=pad type=exact capacity=4096 miss=next action-bytes=32 "  \
	"key=in_port,eth_dst,vlan_tci\n"                                       \
	"table name=big type=exact capacity=4096 miss=host action-bytes=32 "  \
	"key=in_port,eth_dst,vlan_tci\n"

static struct dpak_dev *dev;

static int up(void **state)
{
	(void)state;
	DPAK_OPTS(dpak_dev_opts, o, .configinfo_text = CFG);
	dev = dpak_dev_open("hwsim:uplinks=2,pfs=0,vfs=2", &o);
	return dev ? 0 : -1;
}

static int down(void **state)
{
	(void)state;
	dpak_dev_close(dev);
	return 0;
}

static void expect(int rc, int err, const char *needle)
{
	if (rc != -err || !strstr(dpak_errmsg(), needle)) {
		fprintf(stderr, "got %d \"%s\", wanted %d with \"%s\"\n", rc,
			dpak_errmsg(), -err, needle);
		fail();
	}
}

/* Readable now? */
static int ready(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	return poll(&p, 1, 0);
}

/* Wait (up to 10 s) until readable. */
static int wait_ready(int fd)
{
	struct pollfd p = { fd, POLLIN, 0 };
	return poll(&p, 1, 10000);
}

static int next(struct dpak_event *ev)
{
	memset(ev, 0xa5, sizeof(*ev)); /* whatever the library does not write shows */
	ev->sz = sizeof(*ev);
	return dpak_event_next(dev, ev);
}

/* A flow into @table: from vf0 to eth_dst 02:00:00:00:@hi:@lo, out of uplink0. */
static int add(const char *table, unsigned n, const struct dpak_flow_opts *o,
	       struct dpak_flow **f)
{
	struct dpak_item_port in = { VF0 };
	struct dpak_item_eth e = { .dst = { 2, 0, 0, 0, (uint8_t)(n >> 8), (uint8_t)n } };
	struct dpak_item_eth m = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct dpak_item_vlan vl = { 0 };
	struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_ETH, &e, &m },
				  { DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port out = { U0 };
	struct dpak_action a[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &out },
				   { DPAK_ACTION_END, NULL } };
	return dpak_flow_add(dpak_table_get(dev, table), it, a, o, f);
}

static void test_open_and_bad_input(void **state)
{
	(void)state;
	struct dpak_event ev = { .sz = sizeof(ev) };

	/* Nothing open: nothing to take. */
	assert_int_equal(dpak_event_next(dev, &ev), 0);
	expect(dpak_event_next(NULL, &ev), EINVAL, "NULL");
	expect(dpak_event_next(dev, NULL), EINVAL, "NULL");
	struct dpak_event nosz = { .sz = 0 };
	expect(dpak_event_next(dev, &nosz), EINVAL, "sz");
	expect(dpak_event_open(NULL, NULL), EINVAL, "dev");

	DPAK_OPTS(dpak_event_opts, small, .queue_size = 8);
	expect(dpak_event_open(dev, &small), EINVAL, "queue_size=8");
	DPAK_OPTS(dpak_event_opts, slow, .scan_interval_ms = 3600000);
	expect(dpak_event_open(dev, &slow), EINVAL, "scan_interval_ms");
	DPAK_OPTS(dpak_event_opts, alien, .types = 1u << 30);
	expect(dpak_event_open(dev, &alien), EINVAL, "types");
	expect(dpak_event_subscribe(dev, 1u << 30), EINVAL, "unknown event types");

	int fd = dpak_event_open(dev, NULL);
	assert_true(fd >= 0);
	assert_int_equal(dpak_event_fd(dev), fd);
	expect(dpak_event_open(dev, NULL), EBUSY, "open already");
	assert_int_equal(dpak_event_fd(dev), fd);
	assert_int_equal(ready(fd), 0);
	assert_int_equal(dpak_event_next(dev, &ev), 0);
}

static void test_port_link(void **state)
{
	(void)state;
	struct dpak_event ev;
	int fd = dpak_event_fd(dev);

	assert_true(fd >= 0);
	assert_int_equal(ready(fd), 0);
	/* Queued before dpak_hwsim_set_link returns: no waiting. */
	assert_int_equal(dpak_hwsim_set_link(dev, VF1, 0), 0);
	assert_int_equal(ready(fd), 1);
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.type, DPAK_EVENT_PORT_LINK);
	assert_int_equal(ev.port, VF1);
	assert_int_equal(ev.link_up, 0);
	assert_true(ev.time_ns > 0);
	assert_null(ev.table);     /* other types' members are zero */
	assert_null(ev.flow);
	assert_int_equal(ev.lost, 0);
	/* Drained: no longer readable. */
	assert_int_equal(next(&ev), 0);
	assert_int_equal(ready(fd), 0);
	/* No change, no event. */
	assert_int_equal(dpak_hwsim_set_link(dev, VF1, 0), 0);
	assert_int_equal(ready(fd), 0);
	assert_int_equal(dpak_hwsim_set_link(dev, VF1, 1), 0);
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.type, DPAK_EVENT_PORT_LINK);
	assert_int_equal(ev.port, VF1);
	assert_int_equal(ev.link_up, 1);

	/* The caller's error detail is left alone by a successful call. */
	expect(dpak_hwsim_set_link(dev, 99, 0), ENOENT, "port 99");
	assert_int_equal(dpak_hwsim_set_link(dev, U1, 0), 0);
	assert_non_null(strstr(dpak_errmsg(), "port 99"));
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.port, U1);
}

/* A device reset that loses a flow the device will not take back lowers
 * the occupancy (such a flow is not in in_use); its restore raises it. */
static void test_occupancy_reset(void **state)
{
	(void)state;
	struct dpak_table *t = dpak_table_get(dev, "small");
	struct dpak_flow *f[3];
	struct dpak_event ev;
	/* A long scan interval: the channel's own retry stays out of the way */
	DPAK_OPTS(dpak_event_opts, eo, .scan_interval_ms = 60000);
	int fd = dpak_event_open(dev, &eo);

	assert_true(fd >= 0);
	assert_int_equal(dpak_table_set_threshold(t, 3, 0), 0);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(add("small", i, NULL, &f[i]), 0);
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.above, 1);
	assert_int_equal(ev.in_use, 3);
	/* A reset that gives every flow back changes no occupancy; the reset
	 * itself is reported. */
	assert_int_equal(dpak_hwsim_reset(dev), 3);
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.type, DPAK_EVENT_RESET);
	assert_int_equal(ev.restored, 3);
	assert_int_equal(ev.not_restored, 0);
	assert_int_equal(ev.retried, 0);
	assert_int_equal(ready(fd), 0);
	/* The device refuses the first flow the restore offers. */
	assert_int_equal(dpak_hwsim_fail_flow_ops(dev, 1, -EIO), 0);
	assert_int_equal(dpak_hwsim_reset(dev), 2);
	assert_int_equal(dpak_flow_state(f[0]), DPAK_FLOW_NOT_RESTORED);
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.type, DPAK_EVENT_TABLE_OCCUPANCY);
	assert_int_equal(ev.above, 0);
	assert_int_equal(ev.in_use, 2);
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.type, DPAK_EVENT_RESET);
	assert_int_equal(ev.restored, 2);
	assert_int_equal(ev.not_restored, 1);
	assert_int_equal(next(&ev), 0);
	assert_int_equal(dpak_flow_restore(dev), 0);
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.above, 1);
	assert_int_equal(ev.in_use, 3);
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.type, DPAK_EVENT_RESET);
	assert_int_equal(ev.retried, 1);
	assert_int_equal(ev.restored, 1);
	assert_int_equal(ev.not_restored, 0);
	assert_int_equal(next(&ev), 0);
}

/* A reset that loses flows is reported on the channel, and a switch that
 * only waits on the channel (never calls dpak_flow_aged() nor
 * dpak_flow_restore()) gets them back: the channel's scan retries them
 * and reports the retry that brings them back. */
static void test_reset_event_and_retry(void **state)
{
	(void)state;
	struct dpak_flow *f[3];
	struct dpak_event ev;
	DPAK_OPTS(dpak_event_opts, eo, .scan_interval_ms = 10,
		  .types = DPAK_EVENT_BIT(DPAK_EVENT_RESET));
	int fd = dpak_event_open(dev, &eo), back = 0;

	assert_true(fd >= 0);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(add("small", i, NULL, &f[i]), 0);
	/* The device refuses two flows the restore offers. */
	assert_int_equal(dpak_hwsim_fail_flow_ops(dev, 2, -EIO), 0);
	assert_int_equal(dpak_hwsim_reset(dev), 1);
	assert_int_equal(next(&ev), 1); /* queued before the reset returned */
	assert_int_equal(ev.type, DPAK_EVENT_RESET);
	assert_int_equal(ev.retried, 0);
	assert_int_equal(ev.restored, 1);
	assert_int_equal(ev.not_restored, 2);
	assert_null(ev.table);
	assert_null(ev.flow);
	/* No call but the channel's: its scan offers them again. */
	while (back < 2) {
		assert_int_equal(wait_ready(fd), 1);
		assert_int_equal(next(&ev), 1);
		assert_int_equal(ev.type, DPAK_EVENT_RESET);
		assert_int_equal(ev.retried, 1);
		back += (int)ev.restored;
		assert_int_equal(ev.not_restored, 2 - back);
	}
	assert_int_equal(back, 2);
	for (unsigned i = 0; i < 3; i++)
		assert_int_equal(dpak_flow_state(f[i]), DPAK_FLOW_OFFLOADED);
	struct dpak_table_info ti = { .sz = sizeof(ti) };
	assert_int_equal(dpak_table_info(dpak_table_get(dev, "small"), &ti), 0);
	assert_int_equal(ti.in_use, 3);
	assert_int_equal(ti.not_restored, 0);
}

/* A caller built against an older, shorter struct dpak_event gets what it
 * knows, and nothing is written past its sz. */
static void test_short_struct(void **state)
{
	(void)state;
	struct {
		struct dpak_event ev;
		uint8_t guard[16];
	} b;
	size_t old = offsetof(struct dpak_event, lost);

	assert_true(dpak_event_fd(dev) >= 0);
	assert_int_equal(dpak_hwsim_set_link(dev, VF0, 0), 0);
	memset(&b, 0x5a, sizeof(b));
	b.ev.sz = old;
	assert_int_equal(dpak_event_next(dev, &b.ev), 1);
	assert_int_equal(b.ev.type, DPAK_EVENT_PORT_LINK);
	const uint8_t *p = (const uint8_t *)&b.ev;
	for (size_t i = old; i < sizeof(b); i++)
		assert_int_equal(p[i], 0x5a);
}

static void test_occupancy(void **state)
{
	(void)state;
	struct dpak_table *t = dpak_table_get(dev, "small");
	struct dpak_flow *f[8];
	struct dpak_event ev;
	int fd;

	expect(dpak_table_set_threshold(NULL, 1, 0), EINVAL, "table");
	expect(dpak_table_set_threshold(t, 9, 0), EINVAL, "high mark 9");
	expect(dpak_table_set_threshold(t, 4, 5), EINVAL, "low mark 5");
	assert_int_equal(dpak_table_set_threshold(t, 6, 4), 0);
	fd = dpak_event_fd(dev);
	assert_true(fd >= 0);

	for (unsigned i = 0; i < 5; i++)
		assert_int_equal(add("small", i, NULL, &f[i]), 0);
	assert_int_equal(ready(fd), 0);
	assert_int_equal(add("small", 5, NULL, &f[5]), 0); /* 6: up */
	assert_int_equal(ready(fd), 1);
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.type, DPAK_EVENT_TABLE_OCCUPANCY);
	assert_ptr_equal(ev.table, t);
	assert_int_equal(ev.in_use, 6);
	assert_int_equal(ev.capacity, 8);
	assert_int_equal(ev.threshold, 6);
	assert_int_equal(ev.above, 1);
	assert_null(ev.flow);
	assert_int_equal(add("small", 6, NULL, &f[6]), 0); /* 7: still above */
	assert_int_equal(dpak_flow_del(f[6]), 0);
	assert_int_equal(dpak_flow_del(f[5]), 0);
	assert_int_equal(dpak_flow_del(f[4]), 0);          /* 4: not below 4 */
	assert_int_equal(ready(fd), 0);
	assert_int_equal(dpak_flow_del(f[3]), 0);          /* 3: down */
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.type, DPAK_EVENT_TABLE_OCCUPANCY);
	assert_int_equal(ev.in_use, 3);
	assert_int_equal(ev.threshold, 4);
	assert_int_equal(ev.above, 0);
	assert_int_equal(next(&ev), 0);

	/* A batch crossing: one event, with the count at the crossing. */
	struct dpak_item_port in = { VF0 };
	struct dpak_item_eth e[5], m = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct dpak_item_vlan vl = { 0 };
	struct dpak_item it[5][4];
	struct dpak_action_port out = { U0 };
	struct dpak_action a[] = { { DPAK_ACTION_PORT, &out }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow_req req[5];
	struct dpak_flow *bf[5];
	for (unsigned i = 0; i < 5; i++) {
		e[i] = (struct dpak_item_eth){ .dst = { 2, 0, 0, 0, 1, (uint8_t)i } };
		struct dpak_item row[4] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_ETH, &e[i], &m },
					    { DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL } };
		memcpy(it[i], row, sizeof(row));
		req[i] = (struct dpak_flow_req){ it[i], a, NULL };
	}
	assert_int_equal(dpak_flow_add_batch(t, req, 5, bf, NULL), 5); /* 3 -> 8 */
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.above, 1);
	assert_int_equal(ev.in_use, 6);
	assert_int_equal(next(&ev), 0);
	/* Flush: down. */
	assert_int_equal(dpak_table_flush(t), 8);
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.above, 0);
	assert_int_equal(ev.in_use, 3);
	assert_int_equal(next(&ev), 0);

	/* Set while already above: told at once. No hysteresis with low 0. */
	assert_int_equal(dpak_table_set_threshold(t, 0, 0), 0); /* off meanwhile */
	for (unsigned i = 0; i < 7; i++)
		assert_int_equal(add("small", i, NULL, &f[i]), 0);
	assert_int_equal(ready(fd), 0);
	assert_int_equal(dpak_table_set_threshold(t, 5, 0), 0);
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.above, 1);
	assert_int_equal(ev.in_use, 7);
	assert_int_equal(ev.threshold, 5);
	assert_int_equal(dpak_flow_del(f[6]), 0);
	assert_int_equal(dpak_flow_del(f[5]), 0);
	assert_int_equal(ready(fd), 0);
	assert_int_equal(dpak_flow_del(f[4]), 0); /* 4 < 5 */
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.above, 0);
	assert_int_equal(ev.threshold, 5);
	/* Off. */
	assert_int_equal(dpak_table_set_threshold(t, 0, 0), 0);
	for (unsigned i = 4; i < 8; i++)
		assert_int_equal(add("small", i, NULL, &f[i]), 0);
	assert_int_equal(ready(fd), 0);
	assert_int_equal(next(&ev), 0);
}

static void test_flow_aged(void **state)
{
	(void)state;
	DPAK_OPTS(dpak_event_opts, eo, .scan_interval_ms = 5);
	DPAK_OPTS(dpak_flow_opts, quick, .idle_timeout_ms = 20, .cookie = 77);
	DPAK_OPTS(dpak_flow_opts, slow, .idle_timeout_ms = 3600 * 1000, .cookie = 78);
	struct dpak_flow *f1, *f2, *aged[4];
	struct dpak_event ev;
	int fd = dpak_event_open(dev, &eo);

	assert_true(fd >= 0);
	assert_int_equal(add("big", 1, &slow, &f2), 0);
	assert_int_equal(add("big", 2, &quick, &f1), 0);
	/* Nobody polls: the library notices the idle flow by itself. */
	assert_int_equal(wait_ready(fd), 1);
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.type, DPAK_EVENT_FLOW_AGED);
	assert_ptr_equal(ev.flow, f1);
	assert_ptr_equal(ev.table, dpak_table_get(dev, "big"));
	assert_int_equal(ev.cookie, 77);
	assert_int_equal(ev.idle_timeout_ms, 20);
	assert_int_equal(ev.last_hit_ns, 0); /* never hit */
	assert_int_equal(ev.in_use, 0);
	assert_int_equal(next(&ev), 0);
	assert_int_equal(ready(fd), 0);
	/* Reported once: a hundred more scans find nothing new. */
	struct timespec ts = { 0, 500 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	assert_int_equal(ready(fd), 0);
	assert_int_equal(next(&ev), 0);
	/* The polled call still reports it, on its own account. */
	assert_int_equal(dpak_flow_aged(dev, aged, 4), 1);
	assert_ptr_equal(aged[0], f1);
	assert_int_equal(dpak_flow_aged(dev, aged, 4), 0);
	assert_int_equal(dpak_flow_del(f1), 0);
	assert_int_equal(dpak_flow_del(f2), 0);
}

/* An aged flow deleted before its event is taken is not reported: the
 * handle would be stale. */
static void test_flow_aged_deleted(void **state)
{
	(void)state;
	DPAK_OPTS(dpak_event_opts, eo, .scan_interval_ms = 5);
	DPAK_OPTS(dpak_flow_opts, quick, .idle_timeout_ms = 1, .cookie = 5);
	struct dpak_flow *f;
	struct dpak_event ev;
	int fd = dpak_event_open(dev, &eo);

	assert_int_equal(add("big", 1, &quick, &f), 0);
	assert_int_equal(wait_ready(fd), 1);
	assert_int_equal(dpak_flow_del(f), 0);
	/* Its record is reused by the next flow: still not reported as it. */
	DPAK_OPTS(dpak_flow_opts, slow, .idle_timeout_ms = 3600 * 1000, .cookie = 6);
	assert_int_equal(add("big", 2, &slow, &f), 0);
	assert_int_equal(next(&ev), 0);
	assert_int_equal(ready(fd), 0);
}

/* A burst of aged flows larger than the queue: every one is reported,
 * once, and none is lost (the scan waits for room). */
static void test_flow_aged_no_loss(void **state)
{
	(void)state;
	enum { N = 100 };
	DPAK_OPTS(dpak_event_opts, eo, .scan_interval_ms = 5, .queue_size = 16);
	struct dpak_flow *f[N];
	struct dpak_event ev;
	int seen[N] = { 0 }, got = 0, lost = 0;
	int fd = dpak_event_open(dev, &eo);

	assert_true(fd >= 0);
	for (unsigned i = 0; i < N; i++) {
		DPAK_OPTS(dpak_flow_opts, o, .idle_timeout_ms = 1, .cookie = i);
		assert_int_equal(add("big", i, &o, &f[i]), 0);
	}
	while (got < N && wait_ready(fd) == 1) {
		while (next(&ev) == 1) {
			if (ev.type == DPAK_EVENT_LOST) {
				lost++;
				continue;
			}
			assert_int_equal(ev.type, DPAK_EVENT_FLOW_AGED);
			assert_true(ev.cookie < N);
			assert_ptr_equal(ev.flow, f[ev.cookie]);
			seen[ev.cookie]++;
			got++;
		}
	}
	assert_int_equal(lost, 0);
	assert_int_equal(got, N);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(seen[i], 1);
}

static void test_overflow(void **state)
{
	(void)state;
	DPAK_OPTS(dpak_event_opts, eo, .queue_size = 16,
		  .types = DPAK_EVENT_BIT(DPAK_EVENT_PORT_LINK));
	struct dpak_event ev;
	int fd = dpak_event_open(dev, &eo);

	assert_true(fd >= 0);
	/* 40 changes into a queue of 16: 15 kept, the last slot says 25 lost. */
	for (int i = 0; i < 40; i++)
		assert_int_equal(dpak_hwsim_set_link(dev, VF0, i % 2), 0);
	for (int i = 0; i < 15; i++) {
		assert_int_equal(next(&ev), 1);
		assert_int_equal(ev.type, DPAK_EVENT_PORT_LINK);
		assert_int_equal(ev.port, VF0);
		assert_int_equal(ev.link_up, i % 2);
	}
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.type, DPAK_EVENT_LOST);
	assert_int_equal(ev.lost, 25);
	assert_int_equal(next(&ev), 0);
	assert_int_equal(ready(fd), 0);
	/* Room again: the next change is queued normally. */
	assert_int_equal(dpak_hwsim_set_link(dev, VF0, 0), 0);
	assert_int_equal(ready(fd), 1);
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.type, DPAK_EVENT_PORT_LINK);
	assert_int_equal(ev.link_up, 0);
	assert_int_equal(next(&ev), 0);
}

static void test_subscribe(void **state)
{
	(void)state;
	struct dpak_table *t = dpak_table_get(dev, "small");
	struct dpak_flow *f[2];
	struct dpak_event ev;

	assert_int_equal(dpak_event_subscribe(dev, DPAK_EVENT_BIT(DPAK_EVENT_PORT_LINK)), 0);
	int fd = dpak_event_fd(dev);
	assert_true(fd >= 0);
	assert_int_equal(dpak_table_set_threshold(t, 1, 0), 0);
	assert_int_equal(add("small", 1, NULL, &f[0]), 0); /* crossing, not subscribed */
	assert_int_equal(ready(fd), 0);
	assert_int_equal(dpak_hwsim_set_link(dev, U1, 0), 0);
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.type, DPAK_EVENT_PORT_LINK);
	assert_int_equal(next(&ev), 0);
	/* Subscribed again: changes from now on, not the old crossing. */
	assert_int_equal(dpak_event_subscribe(dev, DPAK_EVENT_BIT(DPAK_EVENT_TABLE_OCCUPANCY)), 0);
	assert_int_equal(ready(fd), 0);
	assert_int_equal(dpak_hwsim_set_link(dev, U1, 1), 0); /* not subscribed now */
	assert_int_equal(dpak_flow_del(f[0]), 0);
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.type, DPAK_EVENT_TABLE_OCCUPANCY);
	assert_int_equal(ev.above, 0);
	assert_int_equal(next(&ev), 0);
	/* None at all. */
	assert_int_equal(dpak_event_subscribe(dev, 0), 0);
	assert_int_equal(add("small", 1, NULL, &f[1]), 0);
	assert_int_equal(ready(fd), 0);
}

/* Bond changes arrive on the channel with what changed, and the bond's own
 * channel keeps reporting them too. */
static void test_bond(void **state)
{
	(void)state;
	uint32_t b;
	struct dpak_event ev;
	int fd = dpak_event_fd(dev);

	assert_true(fd >= 0);
	assert_int_equal(dpak_bond_create(dev, "bond0", NULL, &b), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U0), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U1), 0);
	int bfd = dpak_bond_event_fd(dev);
	assert_true(bfd >= 0);
	/* Wait until the monitor has seen uplink0 active. */
	int active = -1;
	while (active != U0 && wait_ready(fd) == 1)
		while (next(&ev) == 1)
			if (ev.type == DPAK_EVENT_BOND && ev.bond_event == DPAK_BOND_EV_ACTIVE)
				active = (int)ev.member;
	assert_int_equal(active, U0);

	assert_int_equal(dpak_hwsim_set_link(dev, U0, 0), 0);
	int link_ev = 0, member_down = 0;
	active = -1;
	while ((!member_down || active != U1) && wait_ready(fd) == 1) {
		while (next(&ev) == 1) {
			if (ev.type == DPAK_EVENT_PORT_LINK) {
				assert_int_equal(ev.port, U0);
				assert_int_equal(ev.link_up, 0);
				link_ev++;
				continue;
			}
			assert_int_equal(ev.type, DPAK_EVENT_BOND);
			assert_int_equal(ev.port, b);
			if (ev.bond_event == DPAK_BOND_EV_LINK_DOWN) {
				assert_int_equal(ev.member, U0);
				assert_int_equal(ev.link_up, 0);
				member_down++;
			} else if (ev.bond_event == DPAK_BOND_EV_ACTIVE) {
				assert_int_equal(ev.member_in_use, 1);
				active = (int)ev.member;
			}
		}
	}
	assert_int_equal(link_ev, 1);
	assert_int_equal(member_down, 1);
	assert_int_equal(active, U1);

	/* The bond's own channel saw the same. */
	struct dpak_bond_event be;
	int old_down = 0, old_active = 0;
	assert_int_equal(ready(bfd), 1);
	while (dpak_bond_event_next(dev, &be) == 1) {
		old_down += be.type == DPAK_BOND_EV_LINK_DOWN && be.member == U0;
		old_active += be.type == DPAK_BOND_EV_ACTIVE && be.member == U1;
	}
	assert_int_equal(old_down, 1);
	assert_int_equal(old_active, 1);
}

/* LACP run by the switch: member in and out of use, queued before the call
 * returns, with the member's state. */
static void test_bond_lacp(void **state)
{
	(void)state;
	uint32_t b;
	struct dpak_event ev;
	DPAK_OPTS(dpak_bond_opts, bo, .mode = DPAK_BOND_8023AD, .lacp = DPAK_LACP_SWITCH);
	DPAK_OPTS(dpak_event_opts, eo, .types = DPAK_EVENT_BIT(DPAK_EVENT_BOND));
	int fd = dpak_event_open(dev, &eo);

	assert_true(fd >= 0);
	assert_int_equal(dpak_bond_create(dev, "bond1", &bo, &b), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U1), 0);
	assert_int_equal(dpak_bond_member_set_state(dev, b, U1, 1), 0);
	assert_int_equal(ready(fd), 1);
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.type, DPAK_EVENT_BOND);
	assert_int_equal(ev.port, b);
	assert_int_equal(ev.bond_event, DPAK_BOND_EV_LACP);
	assert_int_equal(ev.member, U1);
	assert_int_equal(ev.member_in_use, 1);
	assert_true(ev.lacp_state & DPAK_LACP_DISTRIBUTING);
	assert_int_equal(next(&ev), 0);
	assert_int_equal(dpak_bond_member_set_state(dev, b, U1, 0), 0);
	assert_int_equal(next(&ev), 1);
	assert_int_equal(ev.bond_event, DPAK_BOND_EV_LACP);
	assert_int_equal(ev.member_in_use, 0);
	assert_false(ev.lacp_state & DPAK_LACP_DISTRIBUTING);
}

/* Threads adding and deleting around a mark while another takes events:
 * crossings come in order, up and down alternating, and the last one
 * matches the table's final occupancy. */
struct churn {
	unsigned base;
	int failed;
};

static void *churn(void *arg)
{
	struct churn *c = arg;
	for (int round = 0; round < 300 && !c->failed; round++) {
		struct dpak_flow *f[3];
		for (unsigned i = 0; i < 3; i++)
			c->failed |= add("big", c->base + i, NULL, &f[i]) != 0;
		for (unsigned i = 0; i < 3 && !c->failed; i++)
			c->failed |= dpak_flow_del(f[i]) != 0;
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	(void)state;
	struct dpak_table *t = dpak_table_get(dev, "big");
	struct churn c[2] = { { 100, 0 }, { 200, 0 } };
	pthread_t th[2];
	struct dpak_event ev;
	int above = 0, n = 0;
	DPAK_OPTS(dpak_event_opts, eo, .scan_interval_ms = 1);

	assert_true(dpak_event_open(dev, &eo) >= 0);
	assert_int_equal(dpak_table_set_threshold(t, 4, 2), 0);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, churn, &c[i]), 0);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(pthread_join(th[i], NULL), 0);
		assert_int_equal(c[i].failed, 0);
	}
	while (next(&ev) == 1) {
		assert_int_equal(ev.type, DPAK_EVENT_TABLE_OCCUPANCY);
		assert_int_equal(ev.above, !above); /* alternate */
		if (ev.above)
			assert_true(ev.in_use >= 4);
		else
			assert_true(ev.in_use < 2);
		above = ev.above;
		n++;
	}
	assert_int_equal(above, 0); /* ends empty */
	assert_true(n % 2 == 0);
}

/* A flow added while dpak_flow_aged() or the scan runs is not idle: both
 * read the clock before they reach it. */
struct adder {
	int done, failed;
};

static void *adder(void *arg)
{
	struct adder *a = arg;
	DPAK_OPTS(dpak_flow_opts, slow, .idle_timeout_ms = 3600 * 1000);
	for (int round = 0; round < 20 && !a->failed; round++) {
		for (unsigned i = 0; i < 4000 && !a->failed; i++) {
			struct dpak_flow *f;
			a->failed |= add("big", i, &slow, &f) != 0;
		}
		a->failed |= dpak_table_flush(dpak_table_get(dev, "big")) != 4000;
	}
	__atomic_store_n(&a->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

static void test_aged_not_new(void **state)
{
	(void)state;
	DPAK_OPTS(dpak_event_opts, eo, .scan_interval_ms = 1);
	struct adder a = { 0, 0 };
	struct dpak_flow *aged[16];
	struct dpak_event ev;
	pthread_t th;
	int fd = dpak_event_open(dev, &eo);

	assert_true(fd >= 0);
	/* Flows to look at in a table before "big": a wider window. */
	DPAK_OPTS(dpak_flow_opts, slow, .idle_timeout_ms = 3600 * 1000);
	for (unsigned i = 0; i < 2000; i++) {
		struct dpak_flow *f;
		assert_int_equal(add("pad", i, &slow, &f), 0);
	}
	assert_int_equal(pthread_create(&th, NULL, adder, &a), 0);
	while (!__atomic_load_n(&a.done, __ATOMIC_ACQUIRE))
		assert_int_equal(dpak_flow_aged(dev, aged, 16), 0);
	assert_int_equal(pthread_join(th, NULL), 0);
	assert_int_equal(a.failed, 0);
	assert_int_equal(next(&ev), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_and_bad_input, up, down),
		cmocka_unit_test_setup_teardown(test_port_link, up, down),
		cmocka_unit_test_setup_teardown(test_short_struct, up, down),
		cmocka_unit_test_setup_teardown(test_occupancy, up, down),
		cmocka_unit_test_setup_teardown(test_occupancy_reset, up, down),
		cmocka_unit_test_setup_teardown(test_reset_event_and_retry, up, down),
		cmocka_unit_test_setup_teardown(test_flow_aged, up, down),
		cmocka_unit_test_setup_teardown(test_flow_aged_deleted, up, down),
		cmocka_unit_test_setup_teardown(test_flow_aged_no_loss, up, down),
		cmocka_unit_test_setup_teardown(test_overflow, up, down),
		cmocka_unit_test_setup_teardown(test_subscribe, up, down),
		cmocka_unit_test_setup_teardown(test_bond, up, down),
		cmocka_unit_test_setup_teardown(test_bond_lacp, up, down),
		cmocka_unit_test_setup_teardown(test_concurrent, up, down),
		cmocka_unit_test_setup_teardown(test_aged_not_new, up, down),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
