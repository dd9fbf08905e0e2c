/* SPDX-License-Identifier: MIT */
/*
 * An 802.3ad bond with the library's LACP over two hwsim uplinks attached
 * to Linux interfaces, for the interoperability test with Open vSwitch.
 *   lacp_peer IF0 IF1 SOCKET [fast|slow]
 * (our LACP rate, default fast). Runs until SIGTERM; dpak-ctl on SOCKET
 * shows the bond. Prints each bond event.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <dpak/dpak.h>

static volatile sig_atomic_t stop;
static void on_term(int s)
{
	(void)s;
	stop = 1;
}

int main(int argc, char **argv)
{
	if (argc != 4 && argc != 5)
		return fprintf(stderr, "usage: lacp_peer IF0 IF1 SOCKET [fast|slow]\n"), 2;
	int slow = argc == 5 && !strcmp(argv[4], "slow");
	DPAK_OPTS(dpak_dev_opts, o, .ctl_path = argv[3]);
	struct dpak_dev *dev = dpak_dev_open("hwsim:uplinks=2,pfs=0,vfs=1,engine=thread", &o);
	DPAK_OPTS(dpak_bond_opts, bo, .mode = DPAK_BOND_8023AD, .hash = DPAK_BOND_HASH_L34,
		  .lacp_slow = slow);
	uint32_t bond;
	if (!dev || dpak_hwsim_attach(dev, 0, argv[1]) || dpak_hwsim_attach(dev, 1, argv[2]) ||
	    dpak_bond_create(dev, "bond0", &bo, &bond) || dpak_bond_member_add(dev, bond, 0) ||
	    dpak_bond_member_add(dev, bond, 1))
		return fprintf(stderr, "lacp_peer: %s\n", dpak_errmsg()), 1;
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	printf("ready\n");
	fflush(stdout);
	while (!stop) {
		struct dpak_bond_event ev;
		struct dpak_pkt *p[32];
		struct timespec ts = { 0, 5 * 1000 * 1000 };
		int n = dpak_rx_burst(dev, 0, p, 32); /* the slow path: drop */
		for (int i = 0; i < n; i++)
			dpak_pkt_free(dev, p[i]);
		while (dpak_bond_event_next(dev, &ev) == 1) {
			printf("event: member %u %s state 0x%02x\n", ev.member,
			       ev.type == DPAK_BOND_EV_LACP ? "lacp" :
			       ev.type == DPAK_BOND_EV_LINK_DOWN ? "link-down" :
			       ev.type == DPAK_BOND_EV_LINK_UP ? "link-up" : "active", ev.state);
			fflush(stdout);
		}
		nanosleep(&ts, NULL);
	}
	dpak_dev_close(dev);
	return 0;
}
