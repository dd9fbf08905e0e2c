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
#include <unistd.h>
#include <arpa/inet.h>
#include <cmocka.h>
#include <dpak/dpak.h>
#include "pkt.h"

/* hwsim:uplinks=4,pfs=0,vfs=2: uplink0-3 = 0-3, vf0 = 4, vf1 = 5 */
enum { U0, U1, U2, U3, VF0, VF1, NP };

static struct dpak_dev *dev;

static int up(void **state)
{
	(void)state;
	dev = dpak_dev_open("hwsim:uplinks=4,pfs=0,vfs=2,ring=1024", NULL);
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
	for (uint32_t m = U0; m <= U1; m++) {
		assert_int_equal(dpak_hwsim_inject(dev, m, fr, len), 0);
		assert_int_equal(dpak_hwsim_run(dev, 0), 1);
		assert_int_equal(dpak_hwsim_capture(dev, VF1, out, sizeof(out)), (ssize_t)len);
	}
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
	struct dpak_bond_event ev;
	int lacp = 0;
	while (dpak_bond_event_next(dev, &ev) == 1)
		lacp += ev.type == DPAK_BOND_EV_LACP && ev.member == U1;
	assert_int_equal(lacp, 2);
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
	struct dpak_dev *other = dpak_dev_open("hwsim:uplinks=4,pfs=0,vfs=2", NULL);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_bad_input, up, down),
		cmocka_unit_test_setup_teardown(test_hash_spread_and_failover, up, down),
		cmocka_unit_test_setup_teardown(test_inner_hash, up, down),
		cmocka_unit_test_setup_teardown(test_active_backup, up, down),
		cmocka_unit_test_setup_teardown(test_ingress_and_lacpdus_to_switch, up, down),
		cmocka_unit_test_setup_teardown(test_lacp_back_to_back, up, down),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
