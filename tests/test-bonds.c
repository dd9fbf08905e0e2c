/* SPDX-License-Identifier: MIT */
/*
 * Bonds in hwsim: bad input, hash spread and stability, failover with no
 * loss, active-backup with and without failback, ingress as the bond,
 * LACPDUs to the switch, events, and the library's LACP against itself
 * (two devices wired back to back).
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
#include <sched.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <pcap/pcap.h>
#include <dpak/dpak.h>
#include "devspec.h"
#include "pkt.h"

/* hwsim:uplinks=4,pfs=0,vfs=2: uplink0-3 = 0-3, vf0 = 4, vf1 = 5 */
enum { U0, U1, U2, U3, VF0, VF1, NP };

static struct dpak_dev *dev;

static int up(void **state)
{
	(void)state;
	dev = dpak_dev_open(test_devspec("uplinks=4,pfs=0,vfs=2,ring=1024"), NULL);
	if (!dev)
		fprintf(stderr, "open: %s\n", dpak_errmsg());
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
		fprintf(stderr, "got %d \"%s\", wanted %d with \"%s\"\n", rc, dpak_errmsg(),
			-err, needle);
		fail();
	}
}

/* A flow: everything from vf0 to @out. */
static struct dpak_flow *to_port(uint32_t out)
{
	struct dpak_item_port in = { VF0 };
	struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_IPV4, NULL, NULL },
				  { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port p = { out };
	struct dpak_action a[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &p },
				   { DPAK_ACTION_END, NULL } };
	struct dpak_flow *f;
	assert_int_equal(dpak_flow_add(dpak_table_get(dev, "acl"), it, a, NULL, &f), 0);
	return f;
}

static size_t udp(uint8_t *b, uint16_t sport)
{
	struct pkt_spec s = { .dst = { 2, 0, 0, 0, 0, 0xb }, .src = { 2, 0, 0, 0, 0, 0xa },
			      .sip = 0x0a000001, .dip = 0x0a000002, .proto = 17,
			      .sport = sport, .dport = 53, .payload = 10 };
	return pkt_build(b, &s);
}

/* Send one frame of flow @sport from vf0; return the uplink it left by. */
static int send_one(uint16_t sport)
{
	uint8_t f[128], out[256];
	size_t len = udp(f, sport);
	assert_int_equal(dpak_hwsim_inject(dev, VF0, f, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	for (int p = U0; p <= U3; p++)
		if (dpak_hwsim_capture(dev, (uint32_t)p, out, sizeof(out)) == (ssize_t)len)
			return p;
	return -1;
}

static void test_bad_input(void **state)
{
	(void)state;
	uint32_t b, b2;
	DPAK_OPTS(dpak_bond_opts, bad, .mode = (enum dpak_bond_mode)7);
	expect(dpak_bond_create(dev, "bond0", &bad, &b), EINVAL, "bond mode 7 unknown");
	DPAK_OPTS(dpak_bond_opts, badh, .hash = (enum dpak_bond_hash)9);
	expect(dpak_bond_create(dev, "bond0", &badh, &b), EINVAL, "bond hash 9 unknown");
	expect(dpak_bond_create(dev, "vf0", NULL, &b), EEXIST, "a port named 'vf0' exists");
	assert_int_equal(dpak_bond_create(dev, "bond0", NULL, &b), 0);
	assert_true(b >= NP);
	assert_int_equal(dpak_port_by_name(dev, "bond0"), (int)b);
	struct dpak_port_info pi = { .sz = sizeof(pi) };
	assert_int_equal(dpak_port_info(dev, b, &pi), 0);
	assert_int_equal(pi.type, DPAK_PORT_BOND);
	expect(dpak_bond_member_add(dev, b, VF0), EINVAL, "vf0 is not an uplink");
	expect(dpak_bond_member_add(dev, b, 99), ENOENT, "port 99 does not exist");
	expect(dpak_bond_member_add(dev, 3, U0), ENOENT, "port 3 is not a bond");
	assert_int_equal(dpak_bond_member_add(dev, b, U0), 0);
	assert_int_equal(dpak_bond_create(dev, "bond1", NULL, &b2), 0);
	expect(dpak_bond_member_add(dev, b2, U0), EBUSY, "uplink0 is already in bond bond0");
	expect(dpak_bond_member_set_state(dev, b, U0, 1), EINVAL, "lacp=switch");
	/* A flow uses the bond: it cannot lose its last member or go. */
	struct dpak_flow *f = to_port(b);
	struct dpak_bond_info bi = { .sz = sizeof(bi) };
	assert_int_equal(dpak_bond_info(dev, b, &bi), 0);
	assert_int_equal(bi.flows, 1);
	expect(dpak_bond_member_del(dev, b, U0), EBUSY, "last member of bond bond0, which 1 flows use");
	expect(dpak_bond_destroy(dev, b), EBUSY, "1 flows forward to it");
	assert_int_equal(bi.n_members, 1); /* nothing changed */
	assert_int_equal(dpak_flow_del(f), 0);
	assert_int_equal(dpak_bond_member_del(dev, b, U0), 0);
	assert_int_equal(dpak_bond_destroy(dev, b), 0);
	assert_int_equal(dpak_bond_destroy(dev, b2), 0);
	expect(dpak_bond_destroy(dev, b), ENOENT, "is not a bond");
}

static void test_hash_spread_and_failover(void **state)
{
	(void)state;
	enum { FLOWS = 4000 };
	DPAK_OPTS(dpak_bond_opts, o, .mode = DPAK_BOND_BALANCE, .hash = DPAK_BOND_HASH_L34);
	uint32_t b;
	int count[NP] = { 0 }, where[FLOWS];

	assert_int_equal(dpak_bond_create(dev, "bond0", &o, &b), 0);
	for (uint32_t p = U0; p <= U3; p++)
		assert_int_equal(dpak_bond_member_add(dev, b, p), 0);
	to_port(b);
	for (int i = 0; i < FLOWS; i++) {
		where[i] = send_one((uint16_t)(1000 + i));
		assert_true(where[i] >= U0 && where[i] <= U3);
		count[where[i]]++;
	}
	/* Stated tolerance: each member within 20% of 1/N. */
	for (int p = U0; p <= U3; p++)
		assert_true(count[p] > FLOWS / 4 * 8 / 10 && count[p] < FLOWS / 4 * 12 / 10);
	/* A flow stays on its member while membership is unchanged. */
	for (int i = 0; i < FLOWS; i += 7)
		assert_int_equal(send_one((uint16_t)(1000 + i)), where[i]);

	/* Member uplink1 fails: the device moves its flows at once, alone;
	 * no packet is lost and flows on other members do not move. */
	assert_int_equal(dpak_hwsim_set_link(dev, U1, 0), 0);
	struct dpak_port_stats before[NP], after[NP];
	for (int p = 0; p < NP; p++) {
		before[p].sz = sizeof(before[p]);
		assert_int_equal(dpak_port_stats(dev, (uint32_t)p, &before[p]), 0);
	}
	int sent = 0;
	for (int i = 0; i < FLOWS; i++) {
		int w = send_one((uint16_t)(1000 + i));
		assert_true(w >= U0 && w <= U3 && w != U1); /* none lost, none on U1 */
		sent++;
	}
	uint64_t tx = 0;
	for (int p = 0; p < NP; p++) {
		after[p].sz = sizeof(after[p]);
		assert_int_equal(dpak_port_stats(dev, (uint32_t)p, &after[p]), 0);
		tx += after[p].tx_packets - before[p].tx_packets;
	}
	assert_int_equal(tx, (uint64_t)sent); /* the counters account for every packet */
	assert_int_equal(after[VF0].drops, before[VF0].drops);
	/* The event: the switch is told, it did nothing. */
	struct dpak_bond_event ev;
	int seen = 0;
	for (int spin = 0; spin < 200 && !seen; spin++) {
		while (dpak_bond_event_next(dev, &ev) == 1)
			if (ev.type == DPAK_BOND_EV_LINK_DOWN && ev.member == U1 && ev.bond == b)
				seen = 1;
		if (!seen) {
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
	assert_true(seen);
	/* Link back: flows return to their first member. */
	assert_int_equal(dpak_hwsim_set_link(dev, U1, 1), 0);
	for (int i = 0; i < FLOWS; i += 7)
		assert_int_equal(send_one((uint16_t)(1000 + i)), where[i]);
}

static void test_inner_hash(void **state)
{
	(void)state;
	DPAK_OPTS(dpak_bond_opts, o, .mode = DPAK_BOND_BALANCE, .hash = DPAK_BOND_HASH_INNER);
	uint32_t b;
	int count[NP] = { 0 };
	uint8_t inner[128], f[256], out[256];

	assert_int_equal(dpak_bond_create(dev, "bond0", &o, &b), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U0), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U1), 0);
	to_port(b);
	/* The same outer headers for all: only the inner flows differ. */
	for (int i = 0; i < 400; i++) {
		size_t il = udp(inner, (uint16_t)(2000 + i));
		const uint8_t m[6] = { 2, 0, 0, 0, 0, 1 };
		size_t len = pkt_vxlan(f, m, m, 0x0a000001, 0x0a000002, 5000, inner, il);
		assert_int_equal(dpak_hwsim_inject(dev, VF0, f, len), 0);
		assert_int_equal(dpak_hwsim_run(dev, 0), 1);
		for (int p = U0; p <= U1; p++)
			if (dpak_hwsim_capture(dev, (uint32_t)p, out, sizeof(out)) > 0)
				count[p]++;
	}
	assert_true(count[U0] > 100 && count[U1] > 100);
	assert_int_equal(count[U0] + count[U1], 400);
}

static void test_active_backup(void **state)
{
	(void)state;
	uint32_t b, nb;
	assert_int_equal(dpak_bond_create(dev, "ab", NULL, &b), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U2), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U3), 0);
	to_port(b);
	for (int i = 0; i < 50; i++)
		assert_int_equal(send_one((uint16_t)i), U2); /* all on the first */
	assert_int_equal(dpak_hwsim_set_link(dev, U2, 0), 0);
	for (int i = 0; i < 50; i++)
		assert_int_equal(send_one((uint16_t)i), U3); /* none lost */
	struct dpak_bond_info bi = { .sz = sizeof(bi) };
	assert_int_equal(dpak_bond_info(dev, b, &bi), 0);
	assert_int_equal(bi.active, U3);
	assert_int_equal(dpak_hwsim_set_link(dev, U2, 1), 0);
	assert_int_equal(send_one(1), U2); /* failback: the first member again */

	/* Without failback, traffic stays on the backup. */
	DPAK_OPTS(dpak_bond_opts, o, .no_failback = 1);
	assert_int_equal(dpak_bond_create(dev, "ab2", &o, &nb), 0);
	struct dpak_bond_member_info mi = { .sz = sizeof(mi) };
	assert_int_equal(dpak_bond_member_add(dev, nb, U0), 0);
	assert_int_equal(dpak_bond_member_add(dev, nb, U1), 0);
	struct dpak_item_port in = { VF1 };
	struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port p = { nb };
	struct dpak_action a[] = { { DPAK_ACTION_PORT, &p }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow *f;
	assert_int_equal(dpak_flow_add(dpak_table_get(dev, "acl"), it, a, NULL, &f), 0);
	uint8_t fr[128], out[256];
	size_t len = udp(fr, 1);
#define VIA(port)                                                              \
	do {                                                                   \
		assert_int_equal(dpak_hwsim_inject(dev, VF1, fr, len), 0);     \
		assert_int_equal(dpak_hwsim_run(dev, 0), 1);                   \
		assert_int_equal(dpak_hwsim_capture(dev, port, out, sizeof(out)), (ssize_t)len); \
	} while (0)
	VIA(U0);
	assert_int_equal(dpak_hwsim_set_link(dev, U0, 0), 0);
	VIA(U1);
	assert_int_equal(dpak_hwsim_set_link(dev, U0, 1), 0);
	VIA(U1); /* stays */
	assert_int_equal(dpak_bond_member_info(dev, nb, U1, &mi), 0);
	assert_int_equal(mi.active, 1);
	assert_int_equal(mi.in_use, 1);
	assert_true(mi.tx_packets >= 2);
}

static void test_ingress_and_lacpdus_to_switch(void **state)
{
	(void)state;
	DPAK_OPTS(dpak_bond_opts, o, .mode = DPAK_BOND_8023AD, .lacp = DPAK_LACP_SWITCH);
	uint32_t b;
	assert_int_equal(dpak_bond_create(dev, "lag", &o, &b), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U0), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U1), 0);

	/* A flow matching in_port = the bond takes packets from either member. */
	struct dpak_item_port in = { b };
	struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port p = { VF1 };
	struct dpak_action a[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &p },
				   { DPAK_ACTION_END, NULL } };
	struct dpak_flow *f;
	assert_int_equal(dpak_flow_add(dpak_table_get(dev, "acl"), it, a, NULL, &f), 0);
	uint8_t fr[128], out[256];
	size_t len = udp(fr, 9);
	/* A member that is not collecting discards what it receives, and
	 * counts it (IEEE 802.1AX-2020 6.4.15). */
	struct dpak_port_stats ps = { .sz = sizeof(ps) };
	assert_int_equal(dpak_hwsim_inject(dev, U0, fr, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	assert_true(dpak_hwsim_capture(dev, VF1, out, sizeof(out)) <= 0);
	assert_int_equal(dpak_port_stats(dev, U0, &ps), 0);
	assert_int_equal(ps.drops_bond_rx, 1);
	assert_int_equal(ps.drops, 1);
	assert_int_equal(dpak_port_stats(dev, b, &ps), 0);
	assert_int_equal(ps.drops_bond_rx, 1);
	/* Collecting: each member's packets are the bond's. */
	for (uint32_t m = U0; m <= U1; m++) {
		assert_int_equal(dpak_bond_member_set_state(dev, b, m, 1), 0);
		assert_int_equal(dpak_hwsim_inject(dev, m, fr, len), 0);
		assert_int_equal(dpak_hwsim_run(dev, 0), 1);
		assert_int_equal(dpak_hwsim_capture(dev, VF1, out, sizeof(out)), (ssize_t)len);
		assert_int_equal(dpak_bond_member_set_state(dev, b, m, 0), 0);
	}
	struct dpak_bond_event ev;
	while (dpak_bond_event_next(dev, &ev) == 1)
		;
	uint64_t ev_left;
	while (read(dpak_bond_event_fd(dev), &ev_left, 8) == 8)
		;
	/* An LACPDU on a member goes up, marked, with the member as port. */
	uint8_t pdu[124] = { 0x01, 0x80, 0xc2, 0, 0, 2, 2, 0, 0, 0, 0, 9, 0x88, 0x09, 1, 1 };
	assert_int_equal(dpak_hwsim_inject(dev, U1, pdu, sizeof(pdu)), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	struct dpak_pkt *pk[4];
	assert_int_equal(dpak_rx_burst(dev, 0, pk, 4), 1);
	assert_int_equal(pk[0]->reason, DPAK_RX_PROTOCOL);
	assert_int_equal(pk[0]->port, U1);
	dpak_pkt_free(dev, pk[0]);

	/* Out through it: nothing until the switch says a member is up. */
	struct dpak_item_port in2 = { VF0 };
	struct dpak_item it2[] = { { DPAK_ITEM_PORT, &in2, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port p2 = { b };
	struct dpak_action a2[] = { { DPAK_ACTION_PORT, &p2 }, { DPAK_ACTION_END, NULL } };
	assert_int_equal(dpak_flow_add(dpak_table_get(dev, "acl"), it2, a2, NULL, &f), 0);
	assert_int_equal(send_one(5), -1);
	assert_int_equal(dpak_bond_member_set_state(dev, b, U1, 1), 0);
	assert_int_equal(send_one(5), U1);
	assert_int_equal(dpak_bond_member_set_state(dev, b, U1, 0), 0);
	assert_int_equal(send_one(5), -1);
	/* The event fd became readable. */
	struct pollfd pf = { dpak_bond_event_fd(dev), POLLIN, 0 };
	assert_int_equal(poll(&pf, 1, 2000), 1);
	int lacp = 0;
	while (dpak_bond_event_next(dev, &ev) == 1)
		lacp += ev.type == DPAK_BOND_EV_LACP && ev.member == U1;
	assert_int_equal(lacp, 2);
}

/* A successful call leaves the caller's error detail alone: internal
 * look-ups (is the name taken?) must not overwrite it. */
static void test_errmsg_kept(void **state)
{
	(void)state;
	uint32_t b;
	assert_null(dpak_table_get(dev, "no-such-table"));
	char before[256];
	snprintf(before, sizeof(before), "%s", dpak_errmsg());
	assert_non_null(strstr(before, "no-such-table"));
	assert_int_equal(dpak_bond_create(dev, "bond0", NULL, &b), 0);
	assert_string_equal(dpak_errmsg(), before);
	assert_int_equal(dpak_bond_member_add(dev, b, U0), 0);
	assert_int_equal(dpak_hwsim_set_link(dev, U0, 0), 0);
	assert_int_equal(dpak_hwsim_set_link(dev, U0, 1), 0);
	assert_int_equal(dpak_port_by_name(dev, "bond0"), (int)b);
	assert_string_equal(dpak_errmsg(), before);
}

/* Which member each of @n flows (differing only in their UDP source
 * port) leaves by; returns how many members were used. */
static int members_used(int n)
{
	int used[NP] = { 0 }, k = 0;
	for (int i = 0; i < n; i++) {
		int w = send_one((uint16_t)(3000 + i));
		assert_true(w >= U0 && w <= U3);
		k += !used[w]++;
	}
	return k;
}

/* Zero-filled options take the documented defaults: DPAK_OPTS() with only
 * a mode gives the L34 hash; the MAC hash is asked for by name; a struct
 * of the 0.1.0 size keeps 0 = the MAC hash, as that release built it. */
static void test_opts_zero_is_default(void **state)
{
	(void)state;
	struct dpak_bond_info bi = { .sz = sizeof(bi) };
	uint32_t b;

	DPAK_OPTS(dpak_bond_opts, o, .mode = DPAK_BOND_BALANCE);
	assert_int_equal(dpak_bond_create(dev, "bond0", &o, &b), 0);
	assert_int_equal(dpak_bond_info(dev, b, &bi), 0);
	assert_int_equal(bi.hash, DPAK_BOND_HASH_L34);
	assert_int_equal(bi.mode, DPAK_BOND_BALANCE);
	assert_int_equal(bi.lacp, DPAK_LACP_LIBRARY);
	assert_int_equal(dpak_bond_member_add(dev, b, U0), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U1), 0);
	struct dpak_flow *f = to_port(b);
	assert_int_equal(members_used(64), 2); /* ports take part in the hash */
	assert_int_equal(dpak_flow_del(f), 0);
	assert_int_equal(dpak_bond_destroy(dev, b), 0);

	DPAK_OPTS(dpak_bond_opts, mac, .mode = DPAK_BOND_BALANCE, .hash = DPAK_BOND_HASH_MAC);
	assert_int_equal(dpak_bond_create(dev, "bond1", &mac, &b), 0);
	assert_int_equal(dpak_bond_info(dev, b, &bi), 0);
	assert_int_equal(bi.hash, DPAK_BOND_HASH_L2);
	assert_int_equal(dpak_bond_member_add(dev, b, U0), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U1), 0);
	f = to_port(b);
	assert_int_equal(members_used(64), 1); /* one MAC pair: one member */
	assert_int_equal(dpak_flow_del(f), 0);
	assert_int_equal(dpak_bond_destroy(dev, b), 0);

	/* A caller built against 0.1.0: sz ends at no_failback. */
	DPAK_OPTS(dpak_bond_opts, old, .mode = DPAK_BOND_BALANCE);
	old.sz = (offsetof(struct dpak_bond_opts, no_failback) + sizeof(int) +
		  _Alignof(struct dpak_bond_opts) - 1) & ~(_Alignof(struct dpak_bond_opts) - 1);
	assert_int_equal(dpak_bond_create(dev, "bond2", &old, &b), 0);
	assert_int_equal(dpak_bond_info(dev, b, &bi), 0);
	assert_int_equal(bi.hash, DPAK_BOND_HASH_L2);
	assert_int_equal(dpak_bond_destroy(dev, b), 0);
	/* NULL: every default. */
	assert_int_equal(dpak_bond_create(dev, "bond3", NULL, &b), 0);
	assert_int_equal(dpak_bond_info(dev, b, &bi), 0);
	assert_int_equal(bi.hash, DPAK_BOND_HASH_L34);
	assert_int_equal(bi.mode, DPAK_BOND_ACTIVE_BACKUP);
	DPAK_OPTS(dpak_bond_opts, bad, .hash = (enum dpak_bond_hash)5);
	expect(dpak_bond_create(dev, "bond4", &bad, &b), EINVAL, "bond hash 5 unknown");
	DPAK_OPTS(dpak_bond_opts, badsys, .lacp_system = { 1, 0, 0, 0, 0, 1 });
	expect(dpak_bond_create(dev, "bond4", &badsys, &b), EINVAL, "lacp_system 01:00");
}

/* Active-backup: a broadcast arriving on both members reaches the switch
 * once; the backup's copy is dropped and counted. Protocol frames on the
 * backup still go up, as the member's. */
static void test_ab_backup_discards(void **state)
{
	(void)state;
	uint32_t b;
	assert_int_equal(dpak_bond_create(dev, "ab", NULL, &b), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U0), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U1), 0);
	struct dpak_item_port in = { b };
	struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port p = { VF1 };
	struct dpak_action a[] = { { DPAK_ACTION_PORT, &p }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow *f;
	assert_int_equal(dpak_flow_add(dpak_table_get(dev, "acl"), it, a, NULL, &f), 0);

	struct pkt_spec sp = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
			       .src = { 2, 0, 0, 0, 0, 0x33 }, .sip = 0x0a000003,
			       .dip = 0x0affffff, .proto = 17, .sport = 67, .dport = 68,
			       .payload = 20 };
	uint8_t fr[128], out[256];
	size_t len = pkt_build(fr, &sp);
	assert_int_equal(dpak_hwsim_inject(dev, U0, fr, len), 0);
	assert_int_equal(dpak_hwsim_inject(dev, U1, fr, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 2);
	assert_int_equal(dpak_hwsim_capture(dev, VF1, out, sizeof(out)), (ssize_t)len);
	assert_true(dpak_hwsim_capture(dev, VF1, out, sizeof(out)) <= 0); /* once */
	struct dpak_port_stats ps = { .sz = sizeof(ps) };
	assert_int_equal(dpak_port_stats(dev, U1, &ps), 0);
	assert_int_equal(ps.drops_bond_rx, 1);
	assert_int_equal(ps.drops, 1);
	assert_int_equal(dpak_port_stats(dev, U0, &ps), 0);
	assert_int_equal(ps.drops_bond_rx, 0);

	/* LLDP (01:80:c2:00:00:0e) on the backup: up, as uplink1's. */
	uint8_t lldp[64] = { 0x01, 0x80, 0xc2, 0, 0, 0x0e, 2, 0, 0, 0, 0, 0x44, 0x88, 0xcc };
	assert_int_equal(dpak_hwsim_inject(dev, U1, lldp, sizeof(lldp)), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	struct dpak_pkt *pk[4];
	assert_int_equal(dpak_rx_burst(dev, 0, pk, 4), 1);
	assert_int_equal(pk[0]->reason, DPAK_RX_PROTOCOL);
	assert_int_equal(pk[0]->port, U1);
	dpak_pkt_free(dev, pk[0]);

	/* The active member fails: the backup becomes active and receives. */
	assert_int_equal(dpak_hwsim_set_link(dev, U0, 0), 0);
	assert_int_equal(dpak_hwsim_inject(dev, U1, fr, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	assert_int_equal(dpak_hwsim_capture(dev, VF1, out, sizeof(out)), (ssize_t)len);
	assert_int_equal(dpak_port_stats(dev, U1, &ps), 0);
	assert_int_equal(ps.drops_bond_rx, 1);
	/* Balance: every member receives. */
	DPAK_OPTS(dpak_bond_opts, bal, .mode = DPAK_BOND_BALANCE);
	uint32_t b2;
	assert_int_equal(dpak_bond_create(dev, "bal", &bal, &b2), 0);
	assert_int_equal(dpak_bond_member_add(dev, b2, U2), 0);
	assert_int_equal(dpak_bond_member_add(dev, b2, U3), 0);
	in.id = b2;
	assert_int_equal(dpak_flow_add(dpak_table_get(dev, "acl"), it, a, NULL, &f), 0);
	assert_int_equal(dpak_hwsim_inject(dev, U2, fr, len), 0);
	assert_int_equal(dpak_hwsim_inject(dev, U3, fr, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 2);
	assert_int_equal(dpak_hwsim_capture(dev, VF1, out, sizeof(out)), (ssize_t)len);
	assert_int_equal(dpak_hwsim_capture(dev, VF1, out, sizeof(out)), (ssize_t)len);
}

/* Bonds are ports one can find: dpak_dev_info() says where their ids
 * lie, and dpak_port_info()/dpak_port_stats() answer for them. */
static void test_bonds_enumerable(void **state)
{
	(void)state;
	struct dpak_dev_info di = { .sz = sizeof(di) };
	uint32_t b0, b1;
	assert_int_equal(dpak_dev_info(dev, &di), 0);
	assert_int_equal(di.max_bonds, 8);
	assert_int_equal(di.n_bonds, 0);
	assert_int_equal(dpak_bond_create(dev, "bond0", NULL, &b0), 0);
	assert_int_equal(dpak_bond_create(dev, "bond1", NULL, &b1), 0);
	assert_int_equal(dpak_bond_member_add(dev, b1, U2), 0);
	assert_int_equal(dpak_bond_destroy(dev, b0), 0);
	assert_int_equal(dpak_dev_info(dev, &di), 0);
	assert_int_equal(di.n_bonds, 1);
	int bonds = 0, ports = 0;
	for (uint32_t p = 0; p < di.n_ports + di.max_bonds; p++) {
		struct dpak_port_info pi = { .sz = sizeof(pi) };
		int rc = dpak_port_info(dev, p, &pi);
		if (rc == -ENOENT) {
			assert_true(p >= di.n_ports);
			continue;
		}
		assert_int_equal(rc, 0);
		assert_int_equal(pi.id, p);
		if (pi.type == DPAK_PORT_BOND) {
			bonds++;
			assert_string_equal(pi.name, "bond1");
			assert_int_equal(p, b1);
			assert_int_equal(pi.link_up, 1);
		} else {
			ports++;
		}
	}
	assert_int_equal(ports, NP);
	assert_int_equal(bonds, 1);
	struct dpak_port_stats ps = { .sz = sizeof(ps) };
	assert_int_equal(dpak_port_stats(dev, b1, &ps), 0);
	expect(dpak_port_stats(dev, b0, &ps), ENOENT, "does not exist");
	struct dpak_port_info pi = { .sz = sizeof(pi) };
	expect(dpak_port_info(dev, di.n_ports + di.max_bonds, &pi), ENOENT, "does not exist");
	/* A 0.1.0 caller's struct (sz without the bond fields) still works. */
	struct dpak_dev_info old = { .sz = offsetof(struct dpak_dev_info, table_types) +
					   sizeof(uint32_t) };
	assert_int_equal(dpak_dev_info(dev, &old), 0);
}

/* A flow matching in_port = a bond member could never hit: refused. */
static void test_flow_on_member_refused(void **state)
{
	(void)state;
	uint32_t b;
	assert_int_equal(dpak_bond_create(dev, "bond0", NULL, &b), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U1), 0);
	struct dpak_item_port in = { U1 };
	struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port p = { VF1 };
	struct dpak_action a[] = { { DPAK_ACTION_PORT, &p }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow *f;
	struct dpak_table *t = dpak_table_get(dev, "acl");
	expect(dpak_flow_validate(t, it, a, NULL), EINVAL,
	       "item 0 (port): port 1 (uplink1) is a member of bond bond0");
	expect(dpak_flow_add(t, it, a, NULL, &f), EINVAL, "match in_port = bond0");
	/* The same shape on another port is fine, and once more refused
	 * (the per-thread shape cache checks too). */
	in.id = U0;
	assert_int_equal(dpak_flow_add(t, it, a, NULL, &f), 0);
	in.id = U1;
	expect(dpak_flow_add(t, it, a, NULL, &f), EINVAL, "member of bond bond0");
	in.id = b;
	assert_int_equal(dpak_flow_add(t, it, a, NULL, &f), 0);
	/* Once it leaves the bond, it is a port of its own again. */
	assert_int_equal(dpak_bond_member_del(dev, b, U1), 0);
	in.id = U1;
	assert_int_equal(dpak_flow_add(t, it, a, NULL, &f), 0);
}

/* Step mode: the bond's events are queued when dpak_hwsim_set_link()
 * returns, and the event fd is readable. */
static void test_events_ready_on_return(void **state)
{
	(void)state;
	uint32_t b;
	struct dpak_bond_event ev;
	assert_int_equal(dpak_bond_create(dev, "ab", NULL, &b), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U0), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U1), 0);
	assert_int_equal(dpak_hwsim_set_link(dev, U3, 1), 0); /* settles the monitor */
	while (dpak_bond_event_next(dev, &ev) == 1)
		;
	uint64_t n;
	while (read(dpak_bond_event_fd(dev), &n, 8) == 8)
		;
	assert_int_equal(dpak_hwsim_set_link(dev, U0, 0), 0);
	struct pollfd pf = { dpak_bond_event_fd(dev), POLLIN, 0 };
	assert_int_equal(poll(&pf, 1, 0), 1); /* no wait */
	int down = 0, active = 0;
	while (dpak_bond_event_next(dev, &ev) == 1) {
		down += ev.type == DPAK_BOND_EV_LINK_DOWN && ev.member == U0 && ev.bond == b;
		active += ev.type == DPAK_BOND_EV_ACTIVE && ev.member == U1 && ev.bond == b;
	}
	assert_int_equal(down, 1);
	assert_int_equal(active, 1);
	assert_int_equal(dpak_hwsim_set_link(dev, U0, 1), 0);
	int up = 0;
	while (dpak_bond_event_next(dev, &ev) == 1)
		up += ev.type == DPAK_BOND_EV_LINK_UP && ev.member == U0;
	assert_int_equal(up, 1);
}

/* Capturing on a bond: what the bond sent, whichever member carried it. */
static void test_capture_on_bond(void **state)
{
	(void)state;
	uint32_t b;
	uint8_t fr[128], out[256];
	assert_int_equal(dpak_bond_create(dev, "ab", NULL, &b), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U0), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U1), 0);
	to_port(b);
	size_t len = udp(fr, 7);
	assert_int_equal(dpak_hwsim_capture(dev, b, out, sizeof(out)), -EAGAIN);
	assert_int_equal(dpak_hwsim_inject(dev, VF0, fr, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	assert_int_equal(dpak_hwsim_capture(dev, b, out, sizeof(out)), (ssize_t)len);
	assert_memory_equal(out, fr, len);
	assert_int_equal(dpak_hwsim_set_link(dev, U0, 0), 0);
	assert_int_equal(dpak_hwsim_inject(dev, VF0, fr, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	assert_int_equal(dpak_hwsim_capture(dev, b, out, sizeof(out)), (ssize_t)len);
	assert_int_equal(dpak_hwsim_capture(dev, b, out, sizeof(out)), -EAGAIN);
	/* Calls that act on one port name the bond's members instead. */
	expect(dpak_hwsim_inject(dev, b, fr, len), EINVAL, "is bond ab");
	if (!test_backend_is_pci()) /* pcap: hwsim's own, not over the device interface */
		expect(dpak_hwsim_pcap(dev, b, DPAK_HWSIM_PCAP_IN, "/tmp/x.pcap"), EINVAL, "is bond ab");
}

/* Send one frame of flow @sport out of @port from the slow path (@port a
 * member, or the bond: the device picks the member); return the uplink it
 * left by. */
static int send_host(uint32_t port, uint16_t sport)
{
	uint8_t out[256];
	struct dpak_pkt *p = dpak_pkt_alloc(dev);
	assert_non_null(p);
	p->len = (uint32_t)udp(p->data, sport);
	p->port = port;
	p->tx_flags = DPAK_TX_PORT;
	size_t len = p->len;
	assert_int_equal(dpak_tx_burst(dev, 0, &p, 1), 1);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	for (int u = U0; u <= U3; u++)
		if (dpak_hwsim_capture(dev, (uint32_t)u, out, sizeof(out)) == (ssize_t)len)
			return u;
	return -1;
}

/* An output pcap file on a bond: every frame any member sends, from the
 * pipeline or the slow path, in the order sent; a member that leaves is no
 * longer written, one that joins is; destroying the bond completes the
 * file. An input file on a bond is refused: it enters by one port. */
static void test_pcap_on_bond(void **state)
{
	(void)state;
	TEST_HWSIM_ONLY("pcap files are hwsim's own; the device interface carries no pcap");
	enum { N = 64 };
	DPAK_OPTS(dpak_bond_opts, o, .mode = DPAK_BOND_BALANCE, .hash = DPAK_BOND_HASH_L34);
	char dir[] = "/tmp/dpak-bondpcap-XXXXXX", path[64];
	uint16_t want[3 * N + 8];
	int n_want = 0, count[NP] = { 0 };
	uint32_t b;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/bond.pcap", dir);
	assert_int_equal(dpak_bond_create(dev, "bal", &o, &b), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U0), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U1), 0);
	struct dpak_flow *f = to_port(b);

	expect(dpak_hwsim_pcap(dev, b, DPAK_HWSIM_PCAP_IN, path), EINVAL,
	       "port 6 is bond bal: a pcap input enters by one port");
	assert_int_equal(dpak_hwsim_pcap(dev, b, DPAK_HWSIM_PCAP_OUT, path), 0);
	expect(dpak_hwsim_pcap(dev, b, DPAK_HWSIM_PCAP_OUT, path), EBUSY, "already has a pcap output");

	for (int i = 0; i < N; i++) { /* the pipeline spreads them */
		int w = send_one((uint16_t)(2000 + i));
		assert_true(w == U0 || w == U1);
		count[w]++;
		want[n_want++] = (uint16_t)(2000 + i);
	}
	assert_true(count[U0] > 0 && count[U1] > 0);
	assert_int_equal(send_host(U1, 3000), U1); /* the slow path, to a member */
	want[n_want++] = 3000;
	assert_int_equal(send_host(b, 3001) >= U0, 1); /* to the bond */
	want[n_want++] = 3001;
	assert_int_equal(send_host(U2, 3002), U2); /* not a member */

	/* uplink1 leaves, uplink2 joins. */
	assert_int_equal(dpak_bond_member_del(dev, b, U1), 0);
	assert_int_equal(send_host(U1, 3003), U1); /* no longer a member */
	assert_int_equal(dpak_bond_member_add(dev, b, U2), 0);
	count[U0] = count[U2] = 0;
	for (int i = 0; i < N; i++) {
		int w = send_one((uint16_t)(4000 + i));
		assert_true(w == U0 || w == U2);
		count[w]++;
		want[n_want++] = (uint16_t)(4000 + i);
	}
	assert_true(count[U0] > 0 && count[U2] > 0);

	struct dpak_hwsim_pcap_stats st = { .sz = sizeof(st) };
	for (int i = 0; i < 5000; i++) {
		assert_int_equal(dpak_hwsim_pcap_stats(dev, b, DPAK_HWSIM_PCAP_OUT, &st), 0);
		if (st.packets + st.drops >= (uint64_t)n_want)
			break;
		usleep(1000);
	}
	assert_int_equal(st.packets, n_want);
	assert_int_equal(st.drops, 0);
	assert_int_equal(st.error, 0);
	expect(dpak_hwsim_pcap_stats(dev, b, DPAK_HWSIM_PCAP_IN, &st), ENOENT, "no pcap input");

	/* Destroying the bond completes and closes its file. */
	assert_int_equal(dpak_flow_del(f), 0);
	assert_int_equal(dpak_bond_destroy(dev, b), 0);
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *pc = pcap_open_offline(path, err);
	assert_non_null(pc);
	assert_int_equal(pcap_datalink(pc), DLT_EN10MB);
	struct pcap_pkthdr *ph;
	const u_char *data;
	int got = 0;
	while (pcap_next_ex(pc, &ph, &data) == 1) {
		uint8_t fr[128];
		assert_true(got < n_want);
		size_t len = udp(fr, want[got]);
		assert_int_equal(ph->caplen, len);
		assert_memory_equal(data, fr, len);
		got++;
	}
	assert_int_equal(got, n_want);
	pcap_close(pc);
	unlink(path);
	rmdir(dir);
}

/* Two devices, their uplinks 0 and 1 wired back to back, each with an
 * 802.3ad bond whose LACP the library runs: both must reach collecting
 * and distributing on both links, and traffic must then cross. */
static void wire(struct dpak_dev *a, struct dpak_dev *b)
{
	uint8_t buf[4096];
	ssize_t n;
	for (uint32_t p = U0; p <= U1; p++) {
		while ((n = dpak_hwsim_capture(a, p, buf, sizeof(buf))) > 0)
			dpak_hwsim_inject(b, p, buf, (size_t)n);
		while ((n = dpak_hwsim_capture(b, p, buf, sizeof(buf))) > 0)
			dpak_hwsim_inject(a, p, buf, (size_t)n);
	}
	dpak_hwsim_run(a, 0);
	dpak_hwsim_run(b, 0);
}

static int both_up(struct dpak_dev *d, uint32_t bond)
{
	int n = 0;
	for (uint32_t p = U0; p <= U1; p++) {
		struct dpak_bond_member_info mi = { .sz = sizeof(mi) };
		if (!dpak_bond_member_info(d, bond, p, &mi) && mi.in_use &&
		    (mi.actor_state & DPAK_LACP_DISTRIBUTING) &&
		    (mi.partner_state & DPAK_LACP_DISTRIBUTING))
			n++;
	}
	return n == 2;
}

static void test_lacp_back_to_back(void **state)
{
	(void)state;
	struct dpak_dev *other = dpak_dev_open(test_devspec("uplinks=4,pfs=0,vfs=2"), NULL);
	DPAK_OPTS(dpak_bond_opts, o, .mode = DPAK_BOND_8023AD);
	uint32_t b1, b2;
	assert_non_null(other);
	assert_int_equal(dpak_bond_create(dev, "lag", &o, &b1), 0);
	assert_int_equal(dpak_bond_create(other, "lag", &o, &b2), 0);
	for (uint32_t p = U0; p <= U1; p++) {
		assert_int_equal(dpak_bond_member_add(dev, b1, p), 0);
		assert_int_equal(dpak_bond_member_add(other, b2, p), 0);
	}
	int ok = 0;
	for (int spin = 0; spin < 1000 && !ok; spin++) { /* up to 10 s */
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		wire(dev, other);
		ok = both_up(dev, b1) && both_up(other, b2);
		nanosleep(&ts, NULL);
	}
	assert_true(ok);
	struct dpak_bond_member_info mi = { .sz = sizeof(mi) };
	assert_int_equal(dpak_bond_member_info(dev, b1, U0, &mi), 0);
	assert_true(mi.lacpdus_rx > 0 && mi.lacpdus_tx > 0);
	assert_true(mi.partner_state & DPAK_LACP_SYNC);

	/* One link fails on one side: the other side's LACP sees its partner
	 * go silent and stops using it (3 s with the fast rate). */
	assert_int_equal(dpak_hwsim_set_link(dev, U0, 0), 0);
	int gone = 0;
	for (int spin = 0; spin < 1000 && !gone; spin++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		wire(dev, other);
		struct dpak_bond_member_info m2 = { .sz = sizeof(m2) };
		gone = !dpak_bond_member_info(other, b2, U0, &m2) && !m2.in_use;
		nanosleep(&ts, NULL);
	}
	assert_true(gone);
	dpak_dev_close(other);
}

/* The LACP machines' clock, stepped by tests (lib/bond.c): the time a
 * partner's information lasts is 3 s or 90 s, not waited for here. */
void dpak__bonds_clock_advance(struct dpak_dev *dev, uint64_t ns);

#define MS 1000000ull

/* Devices whose uplinks U0 and U1 are wired, link by link: link[i] joins
 * a[i]'s port pa[i] and b[i]'s port pb[i]; mute[i] silences b[i] towards
 * a[i] (its frames are lost: a partner gone silent, link up). */
struct wiring {
	int n;
	struct dpak_dev *a[2], *b[2];
	uint32_t pa[2], pb[2];
	int mute[2];
};

static void carry(const struct wiring *w)
{
	uint8_t buf[4096];
	ssize_t n;
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < w->n; i++) {
			while ((n = dpak_hwsim_capture(w->a[i], w->pa[i], buf, sizeof(buf))) > 0)
				dpak_hwsim_inject(w->b[i], w->pb[i], buf, (size_t)n);
			while ((n = dpak_hwsim_capture(w->b[i], w->pb[i], buf, sizeof(buf))) > 0)
				if (!w->mute[i])
					dpak_hwsim_inject(w->a[i], w->pa[i], buf, (size_t)n);
		}
		for (int i = 0; i < w->n; i++) {
			dpak_hwsim_run(w->a[i], 0);
			dpak_hwsim_run(w->b[i], 0);
		}
	}
}

/* Every device's LACP clock moves by @ms, in steps of 100 ms, LACPDUs
 * crossing the wires at each step. */
static void lacp_time(const struct wiring *w, struct dpak_dev **devs, int ndev, unsigned ms)
{
	for (unsigned t = 0; t < ms; t += 100) {
		for (int d = 0; d < ndev; d++)
			dpak__bonds_clock_advance(devs[d], 100 * MS);
		carry(w);
		for (int d = 0; d < ndev; d++)
			dpak__bonds_clock_advance(devs[d], 0);
		carry(w);
	}
}

static int member_in_use(struct dpak_dev *d, uint32_t bond, uint32_t member)
{
	struct dpak_bond_member_info mi = { .sz = sizeof(mi) };
	assert_int_equal(dpak_bond_member_info(d, bond, member, &mi), 0);
	return mi.in_use;
}

/* Two devices back to back on U0, one 802.3ad bond each, rates given. */
static struct dpak_dev *pair(int us_slow, int them_slow, uint32_t *bus, uint32_t *bthem,
			     struct wiring *w)
{
	struct dpak_dev *other = dpak_dev_open(test_devspec("uplinks=4,pfs=0,vfs=2"), NULL);
	assert_non_null(other);
	DPAK_OPTS(dpak_bond_opts, o1, .mode = DPAK_BOND_8023AD, .lacp_slow = us_slow);
	DPAK_OPTS(dpak_bond_opts, o2, .mode = DPAK_BOND_8023AD, .lacp_slow = them_slow);
	assert_int_equal(dpak_bond_create(dev, "lag", &o1, bus), 0);
	assert_int_equal(dpak_bond_create(other, "lag", &o2, bthem), 0);
	assert_int_equal(dpak_bond_member_add(dev, *bus, U0), 0);
	assert_int_equal(dpak_bond_member_add(other, *bthem, U0), 0);
	*w = (struct wiring){ 1, { dev }, { other }, { U0 }, { U0 }, { 0 } };
	struct dpak_dev *both[2] = { dev, other };
	lacp_time(w, both, 2, 3000);
	assert_true(member_in_use(dev, *bus, U0));
	assert_true(member_in_use(other, *bthem, U0));
	return other;
}

/* We run slow LACP, the partner fast: it sends every 30 s, as our timeout
 * bit asks, and its information lasts 90 s by our own timeout: the member
 * must not flap (IEEE 802.1AX-2020 6.4.7, 6.4.12). */
static void test_lacp_slow_us_fast_partner(void **state)
{
	(void)state;
	struct wiring w;
	uint32_t b1, b2;
	struct dpak_dev *other = pair(1, 0, &b1, &b2, &w);
	struct dpak_dev *both[2] = { dev, other };
	struct dpak_bond_member_info mi = { .sz = sizeof(mi) };
	assert_int_equal(dpak_bond_member_info(dev, b1, U0, &mi), 0);
	assert_false(mi.actor_state & DPAK_LACP_TIMEOUT);
	assert_true(mi.partner_state & DPAK_LACP_TIMEOUT);
	uint64_t rx0 = mi.lacpdus_rx;
	struct dpak_bond_event ev;
	while (dpak_bond_event_next(dev, &ev) == 1)
		;
	int flaps = 0;
	for (int s = 0; s < 100; s++) { /* 100 s of LACP time */
		lacp_time(&w, both, 2, 1000);
		assert_true(member_in_use(dev, b1, U0));
		assert_true(member_in_use(other, b2, U0));
		while (dpak_bond_event_next(dev, &ev) == 1)
			flaps += ev.type == DPAK_BOND_EV_LACP;
	}
	assert_int_equal(flaps, 0); /* never out of use, not even briefly */
	assert_int_equal(dpak_bond_member_info(dev, b1, U0, &mi), 0);
	/* The partner spoke slowly: some 100 s / 30 s LACPDUs, not 100. */
	assert_true(mi.lacpdus_rx - rx0 >= 3 && mi.lacpdus_rx - rx0 < 20);
	/* Now it falls silent: its information lasts our long timeout, 90 s
	 * from its last LACPDU, which came at most 30 s ago. */
	w.mute[0] = 1;
	lacp_time(&w, both, 2, 50000);
	assert_true(member_in_use(dev, b1, U0));
	lacp_time(&w, both, 2, 45000);
	assert_false(member_in_use(dev, b1, U0));
	dpak_dev_close(other);
}

/* We run fast LACP, the partner slow: a partner that falls silent is
 * expired after our short timeout, 3 s, not its 90 s. */
static void test_lacp_fast_us_slow_partner(void **state)
{
	(void)state;
	struct wiring w;
	uint32_t b1, b2;
	struct dpak_dev *other = pair(0, 1, &b1, &b2, &w);
	struct dpak_dev *both[2] = { dev, other };
	for (int s = 0; s < 10; s++) {
		lacp_time(&w, both, 2, 1000);
		assert_true(member_in_use(dev, b1, U0));
	}
	/* Silent, the link still up. Its last LACPDU came at most 1 s ago
	 * (it sends at our fast rate): expiry comes 2 to 3 s from now. */
	w.mute[0] = 1;
	lacp_time(&w, both, 2, 1500);
	assert_true(member_in_use(dev, b1, U0));
	lacp_time(&w, both, 2, 2000);
	assert_false(member_in_use(dev, b1, U0));
	struct dpak_bond_member_info mi = { .sz = sizeof(mi) };
	assert_int_equal(dpak_bond_member_info(dev, b1, U0, &mi), 0);
	assert_true(mi.actor_state & DPAK_LACP_EXPIRED);
	assert_false(mi.actor_state & DPAK_LACP_SYNC);
	/* Frames on it are no longer the bond's. */
	struct dpak_port_stats ps = { .sz = sizeof(ps) };
	uint8_t f[128];
	size_t len = udp(f, 1);
	assert_int_equal(dpak_hwsim_inject(dev, U0, f, len), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	assert_int_equal(dpak_port_stats(dev, U0, &ps), 0);
	assert_int_equal(ps.drops_bond_rx, 1);
	/* Another short timeout later: defaulted, the partner forgotten. */
	lacp_time(&w, both, 2, 3500);
	assert_int_equal(dpak_bond_member_info(dev, b1, U0, &mi), 0);
	assert_true(mi.actor_state & DPAK_LACP_DEFAULTED);
	static const uint8_t none[6];
	assert_memory_equal(mi.partner_system, none, 6);
	/* It speaks again: back in use. */
	w.mute[0] = 0;
	lacp_time(&w, both, 2, 3000);
	assert_true(member_in_use(dev, b1, U0));
	dpak_dev_close(other);
}

/* Our U0 faces one system, our U1 another: they must not aggregate
 * together (selection logic, IEEE 802.1AX-2020 6.4.14.1). One is
 * attached to the bond's aggregator; the other stays unselected, out of
 * sync, not collecting. */
static void test_lacp_two_partner_systems(void **state)
{
	(void)state;
	struct dpak_dev *pa = dpak_dev_open(test_devspec("uplinks=4,pfs=0,vfs=2"), NULL);
	struct dpak_dev *pb = dpak_dev_open(test_devspec("uplinks=4,pfs=0,vfs=2"), NULL);
	DPAK_OPTS(dpak_bond_opts, o, .mode = DPAK_BOND_8023AD);
	DPAK_OPTS(dpak_bond_opts, oa, .mode = DPAK_BOND_8023AD, .lacp_system = { 2, 0, 0, 0, 0, 0xa });
	DPAK_OPTS(dpak_bond_opts, ob, .mode = DPAK_BOND_8023AD, .lacp_system = { 2, 0, 0, 0, 0, 0xb });
	uint32_t b, ba, bb;
	assert_non_null(pa);
	assert_non_null(pb);
	assert_int_equal(dpak_bond_create(dev, "lag", &o, &b), 0);
	assert_int_equal(dpak_bond_create(pa, "lag", &oa, &ba), 0);
	assert_int_equal(dpak_bond_create(pb, "lag", &ob, &bb), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U0), 0);
	assert_int_equal(dpak_bond_member_add(dev, b, U1), 0);
	assert_int_equal(dpak_bond_member_add(pa, ba, U0), 0);
	assert_int_equal(dpak_bond_member_add(pb, bb, U1), 0);
	struct wiring w = { 2, { dev, dev }, { pa, pb }, { U0, U1 }, { U0, U1 }, { 0, 0 } };
	struct dpak_dev *all[3] = { dev, pa, pb };
	lacp_time(&w, all, 3, 5000);
	struct dpak_bond_member_info m0 = { .sz = sizeof(m0) }, m1 = { .sz = sizeof(m1) };
	assert_int_equal(dpak_bond_member_info(dev, b, U0, &m0), 0);
	assert_int_equal(dpak_bond_member_info(dev, b, U1, &m1), 0);
	assert_memory_equal(m0.partner_system, oa.lacp_system, 6);
	assert_memory_equal(m1.partner_system, ob.lacp_system, 6);
	assert_int_equal(m0.in_use + m1.in_use, 1);
	struct dpak_bond_member_info *out = m0.in_use ? &m1 : &m0;
	assert_false(out->actor_state & (DPAK_LACP_SYNC | DPAK_LACP_COLLECTING |
					 DPAK_LACP_DISTRIBUTING));
	/* The other side of the unselected link sees us out of sync and
	 * does not use its end either. */
	struct dpak_dev *far = m0.in_use ? pb : pa;
	uint32_t fb = m0.in_use ? bb : ba, fm = m0.in_use ? U1 : U0;
	assert_false(member_in_use(far, fb, fm));
	/* The selected one stays while it lives; when its partner goes, the
	 * other group takes the aggregator. */
	uint32_t sel = m0.in_use ? U0 : U1;
	lacp_time(&w, all, 3, 5000);
	assert_true(member_in_use(dev, b, sel));
	w.mute[sel == U0 ? 0 : 1] = 1;
	lacp_time(&w, all, 3, 5000);
	assert_false(member_in_use(dev, b, sel));
	assert_true(member_in_use(dev, b, sel == U0 ? U1 : U0));
	dpak_dev_close(pa);
	dpak_dev_close(pb);
}

/* Thread-safe calls together: bonds created and destroyed while other
 * threads look ports up, and members removed while the engine thread
 * forwards to the bond. Once dpak_bond_member_del() returns, no packet
 * leaves by the removed member. (Run under ThreadSanitizer in CI.) */
static struct dpak_dev *tdev;
static int tstop;

static void *churn(void *arg)
{
	(void)arg;
	for (int i = 0; i < 300; i++) {
		uint32_t b;
		assert_int_equal(dpak_bond_create(tdev, "bx", NULL, &b), 0);
		assert_int_equal(dpak_bond_member_add(tdev, b, U2), 0);
		assert_int_equal(dpak_bond_member_add(tdev, b, U3), 0);
		assert_int_equal(dpak_bond_member_del(tdev, b, U3), 0);
		assert_int_equal(dpak_bond_destroy(tdev, b), 0);
	}
	return NULL;
}

static void *lookups(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&tstop, __ATOMIC_ACQUIRE)) {
		struct dpak_dev_info di = { .sz = sizeof(di) };
		assert_int_equal(dpak_dev_info(tdev, &di), 0);
		int p = dpak_port_by_name(tdev, "bx");
		assert_true(p == -ENOENT || p >= NP);
		for (uint32_t q = 0; q < di.n_ports + di.max_bonds; q++) {
			struct dpak_port_info pi = { .sz = sizeof(pi) };
			struct dpak_port_stats ps = { .sz = sizeof(ps) };
			int rc = dpak_port_info(tdev, q, &pi);
			assert_true(rc == 0 || (rc == -ENOENT && q >= NP));
			rc = dpak_port_stats(tdev, q, &ps);
			assert_true(rc == 0 || (rc == -ENOENT && q >= NP));
		}
	}
	return NULL;
}

static void test_concurrent(void **state)
{
	(void)state;
	tdev = dpak_dev_open(test_devspec("uplinks=4,pfs=0,vfs=2,engine=thread,ring=1024"), NULL);
	assert_non_null(tdev);
	DPAK_OPTS(dpak_bond_opts, o, .mode = DPAK_BOND_BALANCE);
	uint32_t b;
	assert_int_equal(dpak_bond_create(tdev, "lag", &o, &b), 0);
	assert_int_equal(dpak_bond_member_add(tdev, b, U0), 0);
	assert_int_equal(dpak_bond_member_add(tdev, b, U1), 0);
	struct dpak_item_port in = { VF0 };
	struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port p = { b };
	struct dpak_action a[] = { { DPAK_ACTION_PORT, &p }, { DPAK_ACTION_END, NULL } };
	struct dpak_flow *f;
	assert_int_equal(dpak_flow_add(dpak_table_get(tdev, "acl"), it, a, NULL, &f), 0);
	pthread_t t1, t2;
	__atomic_store_n(&tstop, 0, __ATOMIC_RELEASE);
	assert_int_equal(pthread_create(&t1, NULL, churn, NULL), 0);
	assert_int_equal(pthread_create(&t2, NULL, lookups, NULL), 0);
	uint8_t fr[128], out[256];
	for (int round = 0; round < 50; round++) {
		/* Traffic while U1 leaves. */
		for (int i = 0; i < 32; i++) {
			size_t len = udp(fr, (uint16_t)(round * 32 + i));
			while (dpak_hwsim_inject(tdev, VF0, fr, len) == -ENOBUFS)
				sched_yield();
		}
		assert_int_equal(dpak_bond_member_del(tdev, b, U1), 0);
		while (dpak_hwsim_capture(tdev, U1, out, sizeof(out)) > 0)
			;
		/* From now on everything leaves by U0. */
		int seen = 0, sent = 64;
		for (int i = 0; i < sent; i++) {
			size_t len = udp(fr, (uint16_t)(5000 + i));
			while (dpak_hwsim_inject(tdev, VF0, fr, len) == -ENOBUFS)
				sched_yield();
		}
		/* Wait for the engine to forward them (no timing asserted;
		 * the bound only ends a test that would hang). */
		for (int spin = 0; spin < 60000; spin++) {
			struct dpak_port_stats vs = { .sz = sizeof(vs) };
			struct timespec ts = { 0, 1000 * 1000 };
			assert_int_equal(dpak_port_stats(tdev, VF0, &vs), 0);
			if (vs.rx_packets == (uint64_t)(round + 1) * 96)
				break;
			nanosleep(&ts, NULL);
		}
		while (dpak_hwsim_capture(tdev, U0, out, sizeof(out)) > 0)
			seen++;
		assert_true(seen >= sent);
		assert_true(dpak_hwsim_capture(tdev, U1, out, sizeof(out)) <= 0);
		assert_int_equal(dpak_bond_member_add(tdev, b, U1), 0);
	}
	__atomic_store_n(&tstop, 1, __ATOMIC_RELEASE);
	pthread_join(t1, NULL);
	pthread_join(t2, NULL);
	dpak_dev_close(tdev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_input, up, down),
		cmocka_unit_test_setup_teardown(test_hash_spread_and_failover, up, down),
		cmocka_unit_test_setup_teardown(test_inner_hash, up, down),
		cmocka_unit_test_setup_teardown(test_active_backup, up, down),
		cmocka_unit_test_setup_teardown(test_ingress_and_lacpdus_to_switch, up, down),
		cmocka_unit_test_setup_teardown(test_lacp_back_to_back, up, down),
		cmocka_unit_test_setup_teardown(test_errmsg_kept, up, down),
		cmocka_unit_test_setup_teardown(test_opts_zero_is_default, up, down),
		cmocka_unit_test_setup_teardown(test_ab_backup_discards, up, down),
		cmocka_unit_test_setup_teardown(test_bonds_enumerable, up, down),
		cmocka_unit_test_setup_teardown(test_flow_on_member_refused, up, down),
		cmocka_unit_test_setup_teardown(test_events_ready_on_return, up, down),
		cmocka_unit_test_setup_teardown(test_capture_on_bond, up, down),
		cmocka_unit_test_setup_teardown(test_pcap_on_bond, up, down),
		cmocka_unit_test_setup_teardown(test_lacp_slow_us_fast_partner, up, down),
		cmocka_unit_test_setup_teardown(test_lacp_fast_us_slow_partner, up, down),
		cmocka_unit_test_setup_teardown(test_lacp_two_partner_systems, up, down),
		cmocka_unit_test(test_concurrent),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
