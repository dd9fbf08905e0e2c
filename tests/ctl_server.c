/* SPDX-License-Identifier: MIT */
/*
 * A small application for the dpak-ctl tests: hwsim with a control socket,
 * a few flows, a steady trickle of packets (forwarded ones and misses that
 * reach its slow path), and a flow it adds and deletes again and again (so
 * that injected faults show). Runs until SIGTERM.
 *   ctl_server SOCKET READY_FILE
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <dpak/dpak.h>

static volatile sig_atomic_t stop;
static void on_term(int s)
{
	(void)s;
	stop = 1;
}

static size_t frame(uint8_t *b, uint8_t dst_last)
{
	memset(b, 0, 60);
	uint8_t hdr[] = { 2, 0, 0, 0, 0, dst_last, 2, 0, 0, 0, 0, 0xa, 0x08, 0x00,
			  0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2,
			  0x03, 0xe8, 0, 53, 0, 26 };
	memcpy(b, hdr, sizeof(hdr));
	return 60;
}

int main(int argc, char **argv)
{
	if (argc != 3)
		return fprintf(stderr, "usage: ctl_server SOCKET READY_FILE\n"), 2;
	DPAK_OPTS(dpak_dev_opts, o, .ctl_path = argv[1], .queues = 2);
	struct dpak_dev *dev = dpak_dev_open("hwsim:", &o);
	if (!dev)
		return fprintf(stderr, "ctl_server: %s\n", dpak_errmsg()), 1;
	struct dpak_table *l2 = dpak_table_get(dev, "l2"), *acl = dpak_table_get(dev, "acl");
	struct dpak_item_port in = { 3 }; /* vf0 */
	struct dpak_item_eth e = { .dst = { 2, 0, 0, 0, 0, 0xb } };
	struct dpak_item_eth em = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct dpak_item_vlan vl = { 0 };
	struct dpak_item items[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_ETH, &e, &em },
				     { DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port up = { 0 };
	struct dpak_action acts[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &up },
				      { DPAK_ACTION_END, NULL } };
	struct dpak_item_ipv4 ip = { .dst = htonl(0x0a0000fe) };
	struct dpak_item_ipv4 ipm = { .dst = 0xffffffff };
	struct dpak_item aitems[] = { { DPAK_ITEM_IPV4, &ip, &ipm }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action drop[] = { { DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_DROP, NULL },
				      { DPAK_ACTION_END, NULL } };
	DPAK_OPTS(dpak_flow_opts, c7, .cookie = 7);
	DPAK_OPTS(dpak_flow_opts, c8, .cookie = 8, .priority = 3);
	struct dpak_flow *f, *churn = NULL;
	if (dpak_flow_add(l2, items, acts, &c7, &f) || dpak_flow_add(acl, aitems, drop, &c8, &f))
		return fprintf(stderr, "ctl_server: %s\n", dpak_errmsg()), 1;

	uint32_t bond;
	if (dpak_bond_create(dev, "bond0", NULL, &bond) ||
	    dpak_bond_member_add(dev, bond, 1))
		return fprintf(stderr, "ctl_server: %s\n", dpak_errmsg()), 1;
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	FILE *r = fopen(argv[2], "w");
	if (r)
		fclose(r);
	uint8_t b[64];
	unsigned tick = 0, failures = 0;
	while (!stop) {
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		struct dpak_pkt *p[32];
		frame(b, 0xb);
		dpak_hwsim_inject(dev, 3, b, 60);        /* forwarded by the l2 flow */
		frame(b, (uint8_t)(0x40 + tick % 8));
		dpak_hwsim_inject(dev, 4, b, 60);        /* a miss: the slow path */
		dpak_hwsim_run(dev, 0);
		for (uint16_t q = 0; q < 2; q++) {
			int n = dpak_rx_burst(dev, q, p, 32);
			for (int i = 0; i < n; i++)
				dpak_pkt_free(dev, p[i]);
		}
		for (uint32_t port = 0; port < 7; port++)
			while (dpak_hwsim_capture(dev, port, b, sizeof(b)) > 0)
				;
		if (++tick % 20 == 0) { /* churn: what fault injection hits */
			if (churn) {
				if (!dpak_flow_del(churn)) {
					churn = NULL;
				} else {
					failures++;
					printf("flow delete failed (%u so far): %s\n", failures,
					       dpak_errmsg());
					fflush(stdout);
				}
			} else {
				struct dpak_item_eth ce = { .dst = { 2, 0, 0, 0, 0, 0x99 } };
				items[1].spec = &ce;
				if (dpak_flow_add(l2, items, acts, NULL, &churn)) {
					churn = NULL;
					failures++;
					printf("flow add failed (%u so far): %s\n", failures, dpak_errmsg());
					fflush(stdout);
				}
				items[1].spec = &e;
			}
		}
		nanosleep(&ts, NULL);
	}
	dpak_dev_close(dev);
	return 0;
}
