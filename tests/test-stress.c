/* SPDX-License-Identifier: MIT */
/*
 * Every call documented as safe from several threads, run together, while
 * the device's own engine thread forwards. Built into make check, and run
 * again under ThreadSanitizer by `scripts/quickstart test`.
 *
 * Phase 1, with exact accounting:
 *   - flow workers add, validate, query, replace, batch-add and delete
 *     flows of their own in table l2 (in_port vf2, which carries no
 *     traffic), keeping every tenth;
 *   - a steady stream vf0 -> vf1 through one acl flow: every packet
 *     injected is captured, and counted by the flow and the ports;
 *   - a slow-path stream: frames injected on uplink0 miss every table,
 *     come up on two host queues (one thread each, rx_burst), and are sent
 *     out of uplink1 (tx_burst) where they are captured: every one;
 *   - a pcap file enters pf0 (attached while the rest runs) through one
 *     flow to vf3; another file records what leaves vf1;
 *   - bonds of uplink2/uplink3 are created, grown, shrunk, described and
 *     destroyed while their links go down and up, and their events read;
 *   - port, queue, table and device information, pcap counters, the pool,
 *     the log level and error strings are read all along, and the MTU of a
 *     port without traffic set;
 *   - dpak-ctl commands arrive on the control socket;
 *   - the event channel is read, its thresholds and subscription changed.
 * Phase 2, faults: the flow workers run again while the device is reset
 * (the library restores its flows), flow operations fail on request,
 * actions are refused and allowed again, flows age out and are collected,
 * and a table nobody else uses is filled and flushed.
 * At the end every table holds exactly the flows the threads kept.
 *
 * Bounded by iterations, not by time: a slow machine (or a sanitizer)
 * takes longer, never fails for it.
 */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <cmocka.h>
#include <dpak/dpak.h>
#include "pkt.h"

/* Ports of DEVSPEC. */
enum { UP0, UP1, UP2, UP3, PF0, VF0, VF1, VF2, VF3, VF4, N_PORTS };
#define DEVSPEC "hwsim:uplinks=4,pfs=1,vfs=5,engine=thread"

enum {
	WORKERS = 2,
	PER = 500,          /* flow iterations per worker and round */
	MIN_ROUNDS = 4,     /* rounds per phase at least; then until the */
	MAX_ROUNDS = 60,    /* phase's other threads are done, at most this */
	KEEP_EVERY = 10,
	BATCH = 8,
	MIN_STEADY = 3000,  /* at least this many packets on each stream */
	MIN_SLOW = 1500,
	N_PCAP = 150,       /* frames in the pcap input (fit vf3's ring) */
	BOND_ROUNDS = 300,
	CTL_ROUNDS = 20,
	INFO_ROUNDS = 3000,
	CHAOS_ROUNDS = 6,
	MAX_KEPT = 2 * MAX_ROUNDS * (PER / KEEP_EVERY + 1),
	STALL = 200000,     /* a stream gives up after this many turns without
			     * progress (the accounting then fails) */
};

static struct dpak_dev *dev;
static char ctl_path[108], pcap_in_path[64], pcap_out_path[64];

/* Flags between threads. */
static int phase1_done;  /* workers through phase 1 (count, atomic) */
static int others_done;  /* main: the phase's other threads are through */
static int streams_stop; /* main: the streams may stop once at their minimum */
static int slow_stop;    /* main: the slow-path threads stop */
static int bg_stop;      /* main: the background threads (info, bonds, ctl) stop */
static int pcap_attached; /* relaxed on purpose: no happens-before with inject */

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_RELEASE)

/* Waiting threads sleep a little rather than spin: other test programs
 * share the machine (make check -j), and some count on their own threads
 * getting the CPU. */
static void yield_a_little(void)
{
	struct timespec ts = { 0, 20000 };
	nanosleep(&ts, NULL);
}

/* --- flow workers ------------------------------------------------------ */

struct worker {
	int id;
	struct dpak_flow *kept[MAX_KEPT];
	int n_kept;
	int errors, faults;
	char first_error[256];
};

static void werr(struct worker *w, const char *what, int rc)
{
	if (!w->errors++)
		snprintf(w->first_error, sizeof(w->first_error), "%s: %d %s", what, rc,
			 dpak_errmsg());
}

/* Delete, riding out injected faults (phase 2): the flow stays on failure. */
static int del_retry(struct worker *w, struct dpak_flow *f, int phase)
{
	for (int tries = 0; tries < 1000; tries++) {
		int rc = dpak_flow_del(f);
		if (!rc)
			return 0;
		if (phase == 2 && rc == -EIO) {
			w->faults++;
			continue;
		}
		werr(w, "del", rc);
		return rc;
	}
	werr(w, "del: always failing", -EIO);
	return -EIO;
}

static void flows_round(struct worker *w, int phase, int round, int per)
{
	struct dpak_table *t = dpak_table_get(dev, "l2");
	struct dpak_item_port in = { VF2 };
	struct dpak_item_eth e = { 0 };
	struct dpak_item_eth em = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct dpak_item_vlan vl = { 0 };
	struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_ETH, &e, &em },
				  { DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port p0 = { UP0 }, p1 = { UP1 };
	struct dpak_action a0[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &p0 },
				    { DPAK_ACTION_END, NULL } };
	struct dpak_action a1[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &p1 },
				    { DPAK_ACTION_END, NULL } };
	/* batch requests: their own items (MACs), shared actions */
	struct dpak_item_eth be[BATCH];
	struct dpak_item bit[BATCH][4];
	struct dpak_flow_req reqs[BATCH];
	struct dpak_flow *bflows[BATCH];
	int bres[BATCH];

	for (int b = 0; b < BATCH; b++) {
		memset(&be[b], 0, sizeof(be[b]));
		bit[b][0] = it[0];
		bit[b][1] = (struct dpak_item){ DPAK_ITEM_ETH, &be[b], &em };
		bit[b][2] = it[2];
		bit[b][3] = it[3];
		reqs[b] = (struct dpak_flow_req){ bit[b], a0, NULL };
	}
	for (int i = 0; i < per; i++) {
		struct dpak_flow *f;
		struct dpak_flow_stats st = { .sz = sizeof(st) };
		uint64_t cookie = (uint64_t)w->id << 32 | (uint64_t)phase << 24 |
				  (uint64_t)round << 16 | (uint32_t)i;
		int rc;

		e.dst[0] = 0x02;
		e.dst[1] = (uint8_t)w->id;
		e.dst[2] = (uint8_t)(phase << 6 | round);
		e.dst[4] = (uint8_t)(i >> 8);
		e.dst[5] = (uint8_t)i;
		if (i % 16 == 0 && (rc = dpak_flow_validate(t, it, a0, NULL)))
			werr(w, "validate", rc);
		DPAK_OPTS(dpak_flow_opts, o, .cookie = cookie);
		if ((rc = dpak_flow_add(t, it, a0, &o, &f))) {
			if (phase == 2 && rc == -EIO)
				w->faults++;
			else
				werr(w, "add", rc);
			continue;
		}
		if ((rc = dpak_flow_query(f, &st)))
			werr(w, "query", rc);
		if ((rc = dpak_flow_state(f)) != DPAK_FLOW_OFFLOADED)
			werr(w, "state", rc);
		rc = dpak_flow_replace_actions(f, i % 2 ? a1 : a0);
		if (rc && !(phase == 2 && rc == -EIO))
			werr(w, "replace", rc);
		if (dpak_flow_cookie(f) != cookie || dpak_flow_table(f) != t)
			werr(w, "cookie/table", 0);
		if (i % KEEP_EVERY == 0 && w->n_kept < MAX_KEPT)
			w->kept[w->n_kept++] = f;
		else
			del_retry(w, f, phase);

		if (i % 50 == 25) { /* a batch, then all of it deleted */
			for (int b = 0; b < BATCH; b++) {
				be[b] = e;
				be[b].dst[3] = (uint8_t)(0x80 + b);
			}
			int n = dpak_flow_add_batch(t, reqs, BATCH, bflows, bres);
			int ok = 0;
			for (int b = 0; b < BATCH; b++) {
				if (bflows[b]) {
					ok++;
					del_retry(w, bflows[b], phase);
				} else if (!(phase == 2 && bres[b] == -EIO)) {
					werr(w, "batch entry", bres[b]);
				} else {
					w->faults++;
				}
			}
			if (n != ok)
				werr(w, "batch count", n);
		}
	}
}

/* Rounds until the phase's other threads are through (bounded). */
static void flows_phase(struct worker *w, int phase)
{
	for (int r = 0; r < MAX_ROUNDS; r++) {
		flows_round(w, phase, r, PER);
		if (r + 1 >= MIN_ROUNDS && LOAD(others_done) == phase)
			break;
	}
}

static void *flow_worker(void *arg)
{
	struct worker *w = arg;

	flows_phase(w, 1);
	__atomic_fetch_add(&phase1_done, 1, __ATOMIC_RELEASE);
	while (LOAD(phase1_done) < WORKERS + 1) /* main opens phase 2 */
		yield_a_little();
	flows_phase(w, 2);
	return NULL;
}

/* --- streams ------------------------------------------------------------ */

struct stream {
	uint64_t sent, got, wrong;
	int pcap_busy; /* inject into pf0 after its pcap was attached: -EBUSY */
};

/* vf0 -> vf1 through the steady flow. */
static void *steady_stream(void *arg)
{
	struct stream *s = arg;
	uint8_t f[128], buf[256];
	struct pkt_spec ps = { .sip = 0x0a000001, .dip = 0x0a000002, .proto = 17,
			       .sport = 1, .dport = 2, .payload = 20 };

	for (long idle = 0; !(LOAD(streams_stop) && s->sent >= MIN_STEADY) && idle < STALL;) {
		uint64_t before = s->sent + s->got;
		if (s->sent - s->got < 128) {
			ps.sport = (uint16_t)s->sent;
			size_t len = pkt_build(f, &ps);
			if (dpak_hwsim_inject(dev, VF0, f, len) == 0)
				s->sent++;
		}
		ssize_t n;
		while ((n = dpak_hwsim_capture(dev, VF1, buf, sizeof(buf))) > 0) {
			s->got++;
			if (n != 14 + 20 + 8 + 20)
				s->wrong++;
		}
		idle = s->sent + s->got == before ? idle + 1 : 0;
		if (s->sent % 64 == 0 || idle)
			yield_a_little();
	}
	for (long spin = 0; s->got < s->sent && spin < 2000000; spin++) {
		if (dpak_hwsim_capture(dev, VF1, buf, sizeof(buf)) > 0)
			s->got++;
		else
			yield_a_little();
	}
	/* The pcap input of pf0 was attached by another thread; this thread
	 * learns of it only through a relaxed flag (no synchronisation): the
	 * attachment check in inject must hold anyway. */
	for (long spin = 0; !__atomic_load_n(&pcap_attached, __ATOMIC_RELAXED) &&
			    spin < 100 * STALL; spin++)
		yield_a_little();
	ps.sport = 7;
	size_t len = pkt_build(f, &ps);
	s->pcap_busy = dpak_hwsim_inject(dev, PF0, f, len);
	return NULL;
}

/* uplink0 -> (miss) host queues -> slow path -> uplink1. */
static void *slow_stream(void *arg)
{
	struct stream *s = arg;
	uint8_t f[128], buf[256];
	struct pkt_spec ps = { .sip = 0x0b000001, .dip = 0x0b000002, .proto = 17,
			       .sport = 3, .dport = 4, .payload = 10 };

	for (long idle = 0; !(LOAD(streams_stop) && s->sent >= MIN_SLOW) && idle < STALL;) {
		uint64_t before = s->sent + s->got;
		if (s->sent - s->got < 64 || s->got > s->sent) {
			ps.sip = 0x0b000000 + (uint32_t)(s->sent % 251); /* both queues */
			size_t len = pkt_build(f, &ps);
			if (dpak_hwsim_inject(dev, UP0, f, len) == 0)
				s->sent++;
		}
		ssize_t n;
		while ((n = dpak_hwsim_capture(dev, UP1, buf, sizeof(buf))) > 0) {
			s->got++;
			if (n != 14 + 20 + 8 + 10 && n != 60)
				s->wrong++;
		}
		idle = s->sent + s->got == before ? idle + 1 : 0;
		yield_a_little();
	}
	for (long spin = 0; s->got < s->sent && spin < 2000000; spin++) {
		if (dpak_hwsim_capture(dev, UP1, buf, sizeof(buf)) > 0)
			s->got++;
		else
			yield_a_little();
	}
	return NULL;
}

struct slowq {
	uint16_t q;
	uint64_t rx, tx, wrong, lost, allocs;
};

static void *slow_path(void *arg)
{
	struct slowq *sq = arg;

	while (!LOAD(slow_stop)) {
		struct dpak_pkt *pk[32];
		int n = dpak_rx_burst(dev, sq->q, pk, 32), sent = 0;

		if (n < 0) {
			sq->wrong++;
			return NULL;
		}
		for (int i = 0; i < n; i++) {
			if (pk[i]->port != UP0 || pk[i]->reason != DPAK_RX_MISS) {
				if (!sq->wrong++)
					fprintf(stderr, "slow path: a packet from port %u, "
						"reason %u, table %u\n", pk[i]->port,
						pk[i]->reason, pk[i]->table);
			}
			pk[i]->port = UP1;
			pk[i]->tx_flags = DPAK_TX_PORT;
		}
		sq->rx += (uint64_t)n;
		for (int tries = 0; sent < n && tries < 100000; tries++) {
			int k = dpak_tx_burst(dev, sq->q, pk + sent, (uint16_t)(n - sent));
			if (k < 0)
				break;
			sent += k;
			if (sent < n)
				yield_a_little();
		}
		sq->tx += (uint64_t)sent;
		for (int i = sent; i < n; i++) {
			dpak_pkt_free(dev, pk[i]);
			sq->lost++;
		}
		if (!n) {
			/* the pool, from a thread of its own too */
			struct dpak_pkt *p = dpak_pkt_alloc(dev);
			if (p) {
				sq->allocs++;
				dpak_pkt_free(dev, p);
			}
			yield_a_little();
		}
	}
	return NULL;
}

/* --- pcap attachments ---------------------------------------------------- */

static void write_pcap_input(const char *path)
{
	FILE *fp = fopen(path, "wb");
	assert_non_null(fp);
	const uint32_t hdr[6] = { 0xa1b2c3d4, 0x00040002, 0, 0, 65535, 1 };
	assert_int_equal(fwrite(hdr, sizeof(hdr), 1, fp), 1);
	for (int i = 0; i < N_PCAP; i++) {
		uint8_t f[128];
		struct pkt_spec ps = { .sip = 0x0c000001, .dip = 0x0c000002, .proto = 17,
				       .sport = (uint16_t)i, .dport = 9, .payload = 16 };
		uint32_t len = (uint32_t)pkt_build(f, &ps);
		const uint32_t rec[4] = { 1, (uint32_t)i, len, len };
		assert_int_equal(fwrite(rec, sizeof(rec), 1, fp), 1);
		assert_int_equal(fwrite(f, len, 1, fp), 1);
	}
	assert_int_equal(fclose(fp), 0);
}

/* Records in a classic pcap file (-1: not one). */
static long pcap_records(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint32_t hdr[6], rec[4];
	long n = 0;

	if (!fp)
		return -1;
	if (fread(hdr, sizeof(hdr), 1, fp) != 1 || hdr[0] != 0xa1b2c3d4) {
		fclose(fp);
		return -1;
	}
	while (fread(rec, sizeof(rec), 1, fp) == 1 && !fseek(fp, rec[2], SEEK_CUR))
		n++;
	fclose(fp);
	return n;
}

/* --- background: information, bonds, control socket -------------------- */

struct bg {
	int errors;
	char first_error[256];
	uint64_t rounds, events, sent, got;
	int pcap_in_rc, pcap_out_rc;
};

static void bgerr(struct bg *b, const char *what, int rc)
{
	if (!b->errors++)
		snprintf(b->first_error, sizeof(b->first_error), "%s: %d %s", what, rc,
			 dpak_errmsg());
}

static void *info_thread(void *arg)
{
	struct bg *b = arg;
	static const char *const names[] = { "uplink0", "uplink1", "uplink2", "uplink3",
					     "pf0", "vf0", "vf1", "vf2", "vf3", "vf4" };

	for (int r = 0; r < INFO_ROUNDS || !LOAD(bg_stop); r++) {
		struct dpak_dev_info di = { .sz = sizeof(di) };
		int rc;

		if (r >= INFO_ROUNDS * 20) /* bounded even if main is slow */
			break;
		if ((rc = dpak_dev_info(dev, &di)) || di.n_ports < N_PORTS)
			bgerr(b, "dev_info", rc);
		/* Every port, and the ids just past them (bonds come and go
		 * there): each answer is a whole port or "no such port". */
		for (uint32_t p = 0; p < N_PORTS + 4; p++) {
			struct dpak_port_info pi = { .sz = sizeof(pi) };
			struct dpak_port_stats ps = { .sz = sizeof(ps) };
			rc = dpak_port_info(dev, p, &pi);
			if (p < N_PORTS && (rc || pi.id != p || strcmp(pi.name, names[p])))
				bgerr(b, "port_info", rc);
			if (p >= N_PORTS && rc && rc != -ENOENT)
				bgerr(b, "port_info (bond range)", rc);
			rc = dpak_port_stats(dev, p, &ps);
			if (p < N_PORTS && rc)
				bgerr(b, "port_stats", rc);
		}
		int id = dpak_port_by_name(dev, names[r % N_PORTS]);
		if (id != r % N_PORTS)
			bgerr(b, "port_by_name", id);
		rc = dpak_port_by_name(dev, "bond-s0"); /* may or may not exist */
		if (rc < 0 && rc != -ENOENT)
			bgerr(b, "port_by_name (bond)", rc);
		for (uint16_t q = 0; q < 2; q++) {
			struct dpak_queue_stats qs = { .sz = sizeof(qs) };
			if ((rc = dpak_queue_stats(dev, q, &qs)) || qs.pool_free > qs.pool_size)
				bgerr(b, "queue_stats", rc);
		}
		for (uint32_t t = 0; t < di.n_tables; t++) {
			struct dpak_table_info ti = { .sz = sizeof(ti) };
			if ((rc = dpak_table_info(dpak_table_at(dev, t), &ti)) ||
			    ti.in_use > ti.capacity)
				bgerr(b, "table_info", rc);
		}
		if (!dpak_table_get(dev, "l2") || dpak_table_get(dev, "no-such-table"))
			bgerr(b, "table_get", 0);
		/* pcap counters (attached while this runs) and the MTU of a
		 * port without traffic */
		struct dpak_hwsim_pcap_stats pst = { .sz = sizeof(pst) };
		rc = dpak_hwsim_pcap_stats(dev, PF0, DPAK_HWSIM_PCAP_IN, &pst);
		if ((rc && rc != -ENOENT) || pst.packets > N_PCAP)
			bgerr(b, "pcap_stats in", rc);
		rc = dpak_hwsim_pcap_stats(dev, VF1, DPAK_HWSIM_PCAP_OUT, &pst);
		if (rc && rc != -ENOENT)
			bgerr(b, "pcap_stats out", rc);
		if ((rc = dpak_port_set_mtu(dev, VF2, r % 2 ? 1500 : 9000)))
			bgerr(b, "set_mtu", rc);
		struct dpak_port_info mi = { .sz = sizeof(mi) };
		if ((rc = dpak_port_info(dev, VF2, &mi)) || (mi.mtu != 1500 && mi.mtu != 9000))
			bgerr(b, "mtu", rc);
		/* the slow stream's port: both queues, as a range or by default
		 * (the same spread), set while its misses go up */
		if ((rc = dpak_port_set_rx_queues(dev, UP0, 0, r % 2 ? 2 : 0)))
			bgerr(b, "set_rx_queues", rc);
		yield_a_little();
		if (r % 64 == 0) {
			dpak_log_set_level(dpak_log_get_level());
			if (!dpak_strerror(-EIO)[0] || !dpak_version()[0] ||
			    !dpak_field_name(DPAK_FIELD_ETH_DST))
				bgerr(b, "strings", 0);
			(void)dpak_errmsg();
		}
		b->rounds++;
	}
	return NULL;
}

/* Frames vf4 -> the bond, taken from its members' wires. */
static void bond_traffic(struct bg *b, int n)
{
	uint8_t f[128], buf[256];
	struct pkt_spec ps = { .sip = 0x0f000001, .dip = 0x0f000002, .proto = 17,
			       .dport = 5, .payload = 8 };

	for (int i = 0; i < n; i++) {
		ps.sport = (uint16_t)(b->sent + (uint64_t)i); /* spread over members */
		size_t len = pkt_build(f, &ps);
		if (dpak_hwsim_inject(dev, VF4, f, len) == 0)
			b->sent++;
	}
	for (uint32_t m = UP2; m <= UP3; m++)
		while (dpak_hwsim_capture(dev, m, buf, sizeof(buf)) > 0)
			b->got++;
}

static void *bond_thread(void *arg)
{
	struct bg *b = arg;
	struct dpak_table *acl = dpak_table_get(dev, "acl");

	for (int r = 0; r < BOND_ROUNDS; r++) {
		static const enum dpak_bond_mode modes[] = {
			DPAK_BOND_ACTIVE_BACKUP, DPAK_BOND_BALANCE, DPAK_BOND_8023AD };
		DPAK_OPTS(dpak_bond_opts, o, .mode = modes[r % 3], .lacp = DPAK_LACP_SWITCH);
		uint32_t bond;
		int rc;

		if ((rc = dpak_bond_create(dev, "bond-s0", &o, &bond))) {
			bgerr(b, "bond_create", rc);
			continue;
		}
		if ((rc = dpak_bond_member_add(dev, bond, UP2)) ||
		    (rc = dpak_bond_member_add(dev, bond, UP3)))
			bgerr(b, "member_add", rc);
		if (modes[r % 3] == DPAK_BOND_8023AD)
			for (uint32_t m = UP2; m <= UP3; m++)
				if ((rc = dpak_bond_member_set_state(dev, bond, m, 1)))
					bgerr(b, "member_set_state", rc);
		/* traffic into the bond while its members change */
		struct dpak_item_port in = { VF4 };
		struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL },
					  { DPAK_ITEM_IPV4, NULL, NULL },
					  { DPAK_ITEM_END, NULL, NULL } };
		struct dpak_action_port to = { bond };
		struct dpak_action a[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &to },
					   { DPAK_ACTION_END, NULL } };
		struct dpak_flow *fl = NULL;
		if ((rc = dpak_flow_add(acl, it, a, NULL, &fl)))
			bgerr(b, "flow to bond", rc);
		uint64_t sent0 = b->sent;
		bond_traffic(b, 16);
		dpak_hwsim_set_link(dev, r % 2 ? UP2 : UP3, 0);
		bond_traffic(b, 16);
		struct dpak_bond_info bi = { .sz = sizeof(bi) };
		if ((rc = dpak_bond_info(dev, bond, &bi)) || bi.port != bond || bi.n_members != 2)
			bgerr(b, "bond_info", rc);
		struct dpak_bond_member_info mi = { .sz = sizeof(mi) };
		if ((rc = dpak_bond_member_info(dev, bond, UP2, &mi)) || mi.port != UP2)
			bgerr(b, "member_info", rc);
		dpak_hwsim_set_link(dev, r % 2 ? UP2 : UP3, 1);
		bond_traffic(b, 16);
		struct dpak_bond_event ev;
		while (dpak_bond_event_next(dev, &ev) == 1)
			b->events++;
		if (dpak_bond_event_fd(dev) < 0)
			bgerr(b, "event_fd", 0);
		if ((rc = dpak_bond_member_del(dev, bond, UP2)))
			bgerr(b, "member_del", rc);
		bond_traffic(b, 16);
		/* every frame went through the flow (whatever the bond did with
		 * it) before the flow goes */
		struct dpak_flow_stats fs = { .sz = sizeof(fs) };
		for (long spin = 0; fl && spin < 2000000; spin++) {
			if ((rc = dpak_flow_query(fl, &fs))) {
				bgerr(b, "flow to bond: query", rc);
				break;
			}
			if (fs.packets == b->sent - sent0)
				break;
			yield_a_little();
		}
		if (fl && fs.packets != b->sent - sent0)
			bgerr(b, "flow to bond: packets", (int)fs.packets);
		bond_traffic(b, 0);
		if (fl && (rc = dpak_flow_del(fl)))
			bgerr(b, "flow to bond: del", rc);
		if ((rc = dpak_bond_destroy(dev, bond)))
			bgerr(b, "bond_destroy", rc);
		if (r == BOND_ROUNDS / 3) {
			/* attachments, from this thread while the others run */
			b->pcap_out_rc = dpak_hwsim_pcap(dev, VF1, DPAK_HWSIM_PCAP_OUT,
							 pcap_out_path);
			b->pcap_in_rc = dpak_hwsim_pcap(dev, PF0, DPAK_HWSIM_PCAP_IN,
							pcap_in_path);
			__atomic_store_n(&pcap_attached, 1, __ATOMIC_RELAXED);
		}
		b->rounds++;
	}
	return NULL;
}

/* One request on the control socket; 0 if answered with status 0. */
static int ctl_request(const char *cmd)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char req[128], buf[4096];
	int fd = socket(AF_UNIX, SOCK_STREAM, 0), got = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	struct timeval tv = { 60, 0 }; /* an answer that never comes fails */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ctl_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		close(fd);
		return -1;
	}
	int len = snprintf(req, sizeof(req), "DPAK/1 %s\n", cmd);
	if (write(fd, req, (size_t)len) != len) {
		close(fd);
		return -1;
	}
	while ((n = read(fd, buf + got, sizeof(buf) - 1 - (size_t)got)) > 0) {
		got += (int)n;
		if (got == (int)sizeof(buf) - 1)
			got = 16; /* keep the status line, drop the body */
	}
	close(fd);
	buf[got] = 0;
	return strncmp(buf, "DPAK/1 0 ", 9) ? -1 : 0;
}

static void *ctl_thread(void *arg)
{
	struct bg *b = arg;
	static const char *const cmds[] = {
		"flows max=20", "flow-count", "tables", "ports", "queues", "bonds",
		"offload-stats", "offload-errors", "capture-status", "version",
	};

	/* at least CTL_ROUNDS, then until both phases are through (bounded) */
	for (int r = 0; r < CTL_ROUNDS || !LOAD(bg_stop); r++) {
		if (r >= CTL_ROUNDS * 50)
			break;
		for (size_t c = 0; c < sizeof(cmds) / sizeof(cmds[0]); c++)
			if (ctl_request(cmds[c]))
				bgerr(b, cmds[c], -1);
		b->rounds++;
	}
	return NULL;
}

/* The event channel: thresholds set and events taken while everything
 * else runs. Aged flows reported here are the chaos thread's (it deletes
 * them: the handle is not touched here). */
static void *event_thread(void *arg)
{
	struct bg *b = arg;
	struct dpak_table *l2 = dpak_table_get(dev, "l2");
	int fd = dpak_event_open(dev, NULL), rc;

	if (fd < 0) {
		bgerr(b, "event_open", fd);
		return NULL;
	}
	if ((rc = dpak_event_fd(dev)) != fd)
		bgerr(b, "event_fd", rc);
	for (int r = 0; r < 100 * CTL_ROUNDS && !LOAD(bg_stop); r++) {
		struct pollfd p = { fd, POLLIN, 0 };
		struct dpak_event ev = { .sz = sizeof(ev) };

		if (r % 16 == 0) {
			if ((rc = dpak_table_set_threshold(l2, 50 + (uint32_t)r % 200, 40)))
				bgerr(b, "set_threshold", rc);
			uint32_t all = DPAK_EVENT_BIT(DPAK_EVENT_FLOW_AGED) |
				       DPAK_EVENT_BIT(DPAK_EVENT_TABLE_OCCUPANCY) |
				       DPAK_EVENT_BIT(DPAK_EVENT_PORT_LINK) |
				       DPAK_EVENT_BIT(DPAK_EVENT_BOND);
			if ((rc = dpak_event_subscribe(dev, r % 32 == 16 ? 0 : all)))
				bgerr(b, "subscribe", rc);
		}
		if (poll(&p, 1, 10) < 0)
			continue;
		while ((rc = dpak_event_next(dev, &ev)) == 1) {
			b->events++;
			if (ev.type == DPAK_EVENT_FLOW_AGED && ev.cookie != 0xa9ed)
				bgerr(b, "aged event: not a flow that ages", (int)ev.cookie);
			if (ev.type == DPAK_EVENT_TABLE_OCCUPANCY && !ev.table)
				bgerr(b, "occupancy event without table", 0);
			ev.sz = sizeof(ev);
		}
		if (rc < 0)
			bgerr(b, "event_next", rc);
		b->rounds++;
	}
	return NULL;
}

/* --- phase 2: faults ----------------------------------------------------- */

struct chaos {
	int errors, resets, aged;
	char first_error[256];
};

static void cerr(struct chaos *c, const char *what, int rc)
{
	if (!c->errors++)
		snprintf(c->first_error, sizeof(c->first_error), "%s: %d %s", what, rc,
			 dpak_errmsg());
}

static void *chaos_thread(void *arg)
{
	struct chaos *c = arg;
	struct dpak_table *conn = dpak_table_get(dev, "conn");
	struct dpak_table *route = dpak_table_get(dev, "route");
	int rc;

	for (int r = 0; r < CHAOS_ROUNDS; r++) {
		/* flows that age out at once, in a table no one else uses */
		for (int i = 0; i < 4; i++) {
			struct dpak_item_port in = { VF2 };
			struct dpak_item_ipv4 ip = { .proto = 17, .src = htonl(0x0d000000u + (uint32_t)(r * 4 + i)),
						     .dst = htonl(0x0d0000ff) };
			struct dpak_item_ipv4 ipm = { .proto = 0xff, .src = 0xffffffff, .dst = 0xffffffff };
			struct dpak_item_udp u = { htons(1), htons(2), 0, 0 };
			struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL },
						  { DPAK_ITEM_IPV4, &ip, &ipm },
						  { DPAK_ITEM_UDP, &u, NULL },
						  { DPAK_ITEM_END, NULL, NULL } };
			struct dpak_action_port out = { UP0 };
			struct dpak_action a[] = { { DPAK_ACTION_PORT, &out }, { DPAK_ACTION_END, NULL } };
			struct dpak_flow *f;
			DPAK_OPTS(dpak_flow_opts, o, .idle_timeout_ms = 1, .cookie = 0xa9ed);
			if ((rc = dpak_flow_add(conn, it, a, &o, &f)))
				cerr(c, "aging flow add", rc);
		}
		/* routes, flushed */
		for (int i = 0; i < 16; i++) {
			struct dpak_item_ipv4 ip = { .dst = htonl(0x0e000000u + ((uint32_t)i << 8)) };
			struct dpak_item_ipv4 ipm = { .dst = htonl(0xffffff00) };
			struct dpak_item it[] = { { DPAK_ITEM_IPV4, &ip, &ipm },
						  { DPAK_ITEM_END, NULL, NULL } };
			struct dpak_action a[] = { { DPAK_ACTION_DROP, NULL }, { DPAK_ACTION_END, NULL } };
			struct dpak_flow *f;
			if ((rc = dpak_flow_add(route, it, a, NULL, &f)))
				cerr(c, "route add", rc);
		}
		if ((rc = dpak_table_flush(route)) != 16)
			cerr(c, "flush", rc);
		/* faults, then a reset with none pending */
		if ((rc = dpak_hwsim_fail_flow_ops(dev, 1, -EIO)))
			cerr(c, "fail_flow_ops", rc);
		if ((rc = dpak_hwsim_reject_action(dev, DPAK_ACTION_VLAN_POP)))
			cerr(c, "reject_action", rc);
		for (int i = 0; i < 200; i++)
			yield_a_little();
		if ((rc = dpak_hwsim_fail_flow_ops(dev, 0, 0)) ||
		    (rc = dpak_hwsim_reject_action(dev, DPAK_ACTION_END)))
			cerr(c, "faults off", rc);
		if ((rc = dpak_hwsim_reset(dev)) < 0)
			cerr(c, "reset", rc);
		else
			c->resets++;
		if ((rc = dpak_flow_restore(dev)) != 0) /* nothing left out */
			cerr(c, "restore", rc);
		/* collect what aged */
		for (int spin = 0; spin < 100000 && c->aged < 4 * (r + 1); spin++) {
			struct dpak_flow *aged[16];
			int n = dpak_flow_aged(dev, aged, 16);
			if (n < 0) {
				cerr(c, "aged", n);
				break;
			}
			for (int i = 0; i < n; i++) {
				if (dpak_flow_cookie(aged[i]) != 0xa9ed)
					cerr(c, "aged: not a flow that ages", 0);
				else if ((rc = dpak_flow_del(aged[i])))
					cerr(c, "aged del", rc);
				else
					c->aged++;
			}
			if (!n)
				yield_a_little();
		}
	}
	return NULL;
}

/* --- the test ------------------------------------------------------------ */

static struct dpak_flow *acl_flow(uint32_t in, uint32_t out)
{
	struct dpak_item_port ip = { in };
	struct dpak_item it[] = { { DPAK_ITEM_PORT, &ip, NULL }, { DPAK_ITEM_IPV4, NULL, NULL },
				  { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port op = { out };
	struct dpak_action a[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &op },
				   { DPAK_ACTION_END, NULL } };
	struct dpak_flow *f = NULL;
	int rc = dpak_flow_add(dpak_table_get(dev, "acl"), it, a, NULL, &f);
	if (rc)
		fprintf(stderr, "acl flow: %s\n", dpak_errmsg());
	assert_int_equal(rc, 0);
	return f;
}

static uint64_t flow_packets(struct dpak_flow *f)
{
	struct dpak_flow_stats st = { .sz = sizeof(st) };
	assert_int_equal(dpak_flow_query(f, &st), 0);
	return st.packets;
}

static void test_everything_at_once(void **state)
{
	char dir[] = "/tmp/dpak-stress.XXXXXX";
	(void)state;

	assert_non_null(mkdtemp(dir));
	snprintf(ctl_path, sizeof(ctl_path), "%s/ctl.sock", dir);
	snprintf(pcap_in_path, sizeof(pcap_in_path), "%s/in.pcap", dir);
	snprintf(pcap_out_path, sizeof(pcap_out_path), "%s/out.pcap", dir);
	write_pcap_input(pcap_in_path);

	dpak_log_set_level(DPAK_LOG_ERR); /* resets are logged as warnings */
	DPAK_OPTS(dpak_dev_opts, o, .queues = 2, .ctl_path = ctl_path);
	dev = dpak_dev_open(DEVSPEC, &o);
	if (!dev)
		fprintf(stderr, "open: %s\n", dpak_errmsg());
	assert_non_null(dev);
	struct dpak_flow *steady = acl_flow(VF0, VF1);
	struct dpak_flow *from_pcap = acl_flow(PF0, VF3);

	static struct worker w[WORKERS];
	struct stream st_steady = { 0 }, st_slow = { 0 };
	struct slowq sq[2] = { { .q = 0 }, { .q = 1 } };
	struct bg b_info = { 0 }, b_bond = { 0 }, b_ctl = { 0 }, b_ev = { 0 };
	struct chaos ch = { 0 };
	pthread_t tw[WORKERS], t_steady, t_slow, t_sq[2], t_info, t_bond, t_ctl, t_chaos, t_ev;

	for (int i = 0; i < WORKERS; i++) {
		w[i].id = i + 1;
		assert_int_equal(pthread_create(&tw[i], NULL, flow_worker, &w[i]), 0);
	}
	assert_int_equal(pthread_create(&t_steady, NULL, steady_stream, &st_steady), 0);
	assert_int_equal(pthread_create(&t_slow, NULL, slow_stream, &st_slow), 0);
	for (int q = 0; q < 2; q++)
		assert_int_equal(pthread_create(&t_sq[q], NULL, slow_path, &sq[q]), 0);
	assert_int_equal(pthread_create(&t_info, NULL, info_thread, &b_info), 0);
	assert_int_equal(pthread_create(&t_bond, NULL, bond_thread, &b_bond), 0);
	assert_int_equal(pthread_create(&t_ctl, NULL, ctl_thread, &b_ctl), 0);
	assert_int_equal(pthread_create(&t_ev, NULL, event_thread, &b_ev), 0);

	/* Phase 1 ends when the bonds and control threads are through, and
	 * the workers after them; the streams then stop at their minimum and
	 * are drained. */
	assert_int_equal(pthread_join(t_bond, NULL), 0);
	STORE(others_done, 1);
	while (LOAD(phase1_done) < WORKERS)
		usleep(1000);
	STORE(streams_stop, 1);
	assert_int_equal(pthread_join(t_steady, NULL), 0);
	assert_int_equal(pthread_join(t_slow, NULL), 0);
	STORE(slow_stop, 1);
	for (int q = 0; q < 2; q++)
		assert_int_equal(pthread_join(t_sq[q], NULL), 0);

	/* Every packet accounted for. */
	assert_int_equal(st_steady.wrong, 0);
	assert_int_equal(st_steady.got, st_steady.sent);
	assert_true(st_steady.sent >= MIN_STEADY);
	assert_int_equal(flow_packets(steady), st_steady.sent);
	struct dpak_port_stats ps = { .sz = sizeof(ps) };
	assert_int_equal(dpak_port_stats(dev, VF0, &ps), 0);
	assert_int_equal(ps.rx_packets, st_steady.sent);
	assert_int_equal(ps.drops, 0);
	assert_int_equal(dpak_port_stats(dev, VF1, &ps), 0);
	assert_int_equal(ps.tx_packets, st_steady.sent);

	assert_int_equal(st_slow.wrong, 0);
	assert_int_equal(sq[0].wrong + sq[1].wrong, 0);
	assert_int_equal(sq[0].lost + sq[1].lost, 0);
	assert_int_equal(sq[0].rx + sq[1].rx, st_slow.sent);
	assert_int_equal(st_slow.got, st_slow.sent);
	assert_true(sq[0].rx > 0 && sq[1].rx > 0); /* both queues served */
	for (uint16_t q = 0; q < 2; q++) {
		struct dpak_queue_stats qs = { .sz = sizeof(qs) };
		assert_int_equal(dpak_queue_stats(dev, q, &qs), 0);
		assert_int_equal(qs.rx_packets, sq[q].rx);
		assert_int_equal(qs.rx_drops, 0);
		assert_int_equal(qs.pool_free, qs.pool_size); /* no buffer lost */
	}

	if (b_bond.errors)
		fprintf(stderr, "bonds: %d errors, first: %s\n", b_bond.errors,
			b_bond.first_error);
	assert_int_equal(b_bond.errors, 0);
	assert_true(b_bond.got <= b_bond.sent);

	/* The pcap input, attached while all that ran, went through its flow. */
	assert_int_equal(b_bond.pcap_in_rc, 0);
	assert_int_equal(b_bond.pcap_out_rc, 0);
	assert_int_equal(st_steady.pcap_busy, -EBUSY);
	uint8_t buf[256];
	uint64_t from_file = 0;
	for (long spin = 0; from_file < N_PCAP && spin < 2000000; spin++) {
		if (dpak_hwsim_capture(dev, VF3, buf, sizeof(buf)) > 0)
			from_file++;
		else
			yield_a_little();
	}
	assert_int_equal(from_file, N_PCAP);
	assert_int_equal(flow_packets(from_pcap), N_PCAP);
	struct dpak_hwsim_pcap_stats pst = { .sz = sizeof(pst) };
	assert_int_equal(dpak_hwsim_pcap_stats(dev, PF0, DPAK_HWSIM_PCAP_IN, &pst), 0);
	assert_int_equal(pst.packets, N_PCAP);
	assert_int_equal(dpak_hwsim_pcap_stats(dev, VF1, DPAK_HWSIM_PCAP_OUT, &pst), 0);
	assert_int_equal(pst.error, 0);
	assert_true(pst.packets + pst.drops + pst.queued <= st_steady.sent);

	/* Phase 2: the workers again, with faults. */
	assert_int_equal(pthread_create(&t_chaos, NULL, chaos_thread, &ch), 0);
	__atomic_fetch_add(&phase1_done, 1, __ATOMIC_RELEASE);
	assert_int_equal(pthread_join(t_chaos, NULL), 0);
	STORE(others_done, 2);
	int kept = 0;
	for (int i = 0; i < WORKERS; i++) {
		assert_int_equal(pthread_join(tw[i], NULL), 0);
		if (w[i].errors)
			fprintf(stderr, "worker %d: %d errors, first: %s\n", w[i].id,
				w[i].errors, w[i].first_error);
		assert_int_equal(w[i].errors, 0);
		kept += w[i].n_kept;
	}
	if (ch.errors)
		fprintf(stderr, "chaos: %d errors, first: %s\n", ch.errors, ch.first_error);
	assert_int_equal(ch.errors, 0);
	assert_int_equal(ch.resets, CHAOS_ROUNDS);
	assert_int_equal(ch.aged, 4 * CHAOS_ROUNDS);
	STORE(bg_stop, 1);
	assert_int_equal(pthread_join(t_info, NULL), 0);
	assert_int_equal(pthread_join(t_ctl, NULL), 0);
	assert_int_equal(pthread_join(t_ev, NULL), 0);
	if (b_ev.errors)
		fprintf(stderr, "events: %d errors, first: %s\n", b_ev.errors, b_ev.first_error);
	assert_int_equal(b_ev.errors, 0);
	assert_true(b_ev.events > 0);
	if (b_ctl.errors)
		fprintf(stderr, "ctl: %d errors, first: %s\n", b_ctl.errors, b_ctl.first_error);
	assert_int_equal(b_ctl.errors, 0);
	if (b_info.errors)
		fprintf(stderr, "info: %d errors, first: %s\n", b_info.errors,
			b_info.first_error);
	assert_int_equal(b_info.errors, 0);

	/* Every table holds exactly what was kept. */
	struct dpak_table_info ti = { .sz = sizeof(ti) };
	assert_int_equal(dpak_table_info(dpak_table_get(dev, "l2"), &ti), 0);
	assert_int_equal(ti.in_use, (uint32_t)kept);
	int listed = 0;
	for (struct dpak_flow *fl = NULL; (fl = dpak_flow_next(dpak_table_get(dev, "l2"), fl));)
		listed++;
	assert_int_equal(listed, kept);
	for (int i = 0; i < WORKERS; i++)
		for (int k = 0; k < w[i].n_kept; k++) {
			struct dpak_flow_stats fs = { .sz = sizeof(fs) };
			assert_int_equal(dpak_flow_query(w[i].kept[k], &fs), 0);
			assert_int_equal(dpak_flow_cookie(w[i].kept[k]) >> 32, (uint64_t)w[i].id);
		}
	assert_int_equal(dpak_table_info(dpak_table_get(dev, "acl"), &ti), 0);
	assert_int_equal(ti.in_use, 2); /* steady and from_pcap */
	assert_int_equal(dpak_table_info(dpak_table_get(dev, "conn"), &ti), 0);
	assert_int_equal(ti.in_use, 0);
	assert_int_equal(dpak_table_info(dpak_table_get(dev, "route"), &ti), 0);
	assert_int_equal(ti.in_use, 0);

	dpak_dev_close(dev);
	/* The output file holds whole records, no more than left vf1. */
	long recs = pcap_records(pcap_out_path);
	if (recs >= 0)
		assert_true((uint64_t)recs <= st_steady.sent);
	unlink(pcap_in_path);
	unlink(pcap_out_path);
	unlink(ctl_path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_everything_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
