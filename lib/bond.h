/* SPDX-License-Identifier: MIT */
/* Bonds in the core (bond.c): their state, LACP per member, events. */
#ifndef DPAK_LIB_BOND_H
#define DPAK_LIB_BOND_H

#include <pthread.h>
#include <stdint.h>
#include <dpak/bond.h>

#define DPAK_MAX_BONDS 8
#define DPAK_BOND_MEMBERS 16

/* The receive machine's states (IEEE 802.1AX-2020 6.4.12). */
enum lacp_rx { LACP_RX_DEFAULTED, LACP_RX_EXPIRED, LACP_RX_CURRENT };

struct lacp_member {
	uint32_t port;
	int link, in_use, ntt;
	int rx_state;             /* enum lacp_rx */
	int selected;             /* attached to the bond's aggregator (6.4.14.1) */
	uint64_t current_while;   /* when the partner's information expires */
	uint8_t actor_state, partner_state;
	uint8_t partner_sys[6];
	uint16_t partner_sys_prio, partner_key, partner_port_prio, partner_port;
	uint64_t last_rx, last_tx, rx, tx;
};

struct dpak_bond {
	int used;
	uint32_t port;
	char name[16];
	enum dpak_bond_mode mode;
	enum dpak_bond_hash hash;
	enum dpak_bond_lacp lacp;
	int lacp_slow;
	uint16_t key;
	uint8_t system[6];
	uint32_t active;          /* last active member seen (events) */
	/* The partner the aggregator serves (selection): system priority,
	 * system and key; sel_valid 0: none yet. */
	int sel_valid;
	uint16_t sel_sys_prio, sel_key;
	uint8_t sel_sys[6];
	uint32_t flows;           /* flows forwarding to it (atomic) */
	uint32_t n;
	struct lacp_member m[DPAK_BOND_MEMBERS];
};

struct dpak_bonds {
	pthread_mutex_t lock;     /* the bonds and their members */
	struct dpak_bond b[DPAK_MAX_BONDS];
	pthread_t thread;
	int stop;
	pthread_mutex_t ev_lock;
	struct dpak_bond_event ev[256];
	uint64_t ev_head, ev_tail, ev_lost;
	int evfd;
	struct dpak_dev *dev;     /* its device (events go on to its channel) */
	uint64_t clock_skew;      /* added to the LACP machines' clock (tests) */
};

/* Tests: move the LACP machines' clock of @dev forward by @ns (partner
 * expiry, periodic transmission) without waiting for it, then run the
 * monitor once. */
void dpak__bonds_clock_advance(struct dpak_dev *dev, uint64_t ns);

#endif
