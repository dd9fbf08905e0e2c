/* SPDX-License-Identifier: MIT */
/**
 * @file bond.h
 * @brief Bonds: link aggregation done by the device.
 *
 * A bond groups uplink ports. It is a port itself (its id follows the
 * device's own ports: n_ports .. n_ports + max_bonds - 1 of
 * dpak_dev_info(), where dpak_port_info() finds it): flows forward to it
 * with DPAK_ACTION_PORT, the slow path sends to it with dpak_tx_burst(),
 * and packets received on a member are matched as received on the bond
 * while that member may receive. A flow matching in_port = a member is
 * refused (-EINVAL): it could never hit. The device picks the member of
 * each packet (the active one, or by a hash of the flow) and moves traffic
 * off a member whose link goes down by itself; the switch is told through
 * events.
 *
 * What a member receives: in active-backup only the active member's frames
 * are the bond's; in 802.3ad only a collecting member's (IEEE 802.1AX-2020
 * 6.4.15); in balance every member's. A member that may not receive
 * discards its frames and counts them in drops and drops_bond_rx
 * (dpak_port_stats()), except protocol frames, which are the member's own:
 * LACPDUs go to whoever runs LACP, other slow-protocol frames (EtherType
 * 0x8809) and frames to 01:80:c2:00:00:00-0f reach the host queues with
 * reason DPAK_RX_PROTOCOL and the member as port.
 *
 * LACP (IEEE 802.1AX) for DPAK_BOND_8023AD bonds runs either in the library
 * (DPAK_LACP_LIBRARY, for switches without LACP of their own) or in the
 * switch (DPAK_LACP_SWITCH: LACPDUs reach the host queues with reason
 * DPAK_RX_PROTOCOL and the switch sets each member's state with
 * dpak_bond_member_set_state()). The library's LACP keeps a partner's
 * information for as long as its own LACP_Timeout says (3 s fast, 90 s
 * with lacp_slow; IEEE 802.1AX-2020 6.4.7) and sends periodically at the
 * rate the partner's timeout bit asks for (1 s or 30 s); only members whose
 * partners share one system and key are aggregated together (selection,
 * 6.4.14.1), the others stay unselected and unused.
 */
#ifndef DPAK_BOND_H
#define DPAK_BOND_H

#include <dpak/device.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Bond modes. */
enum dpak_bond_mode {
	DPAK_BOND_ACTIVE_BACKUP = 0, /**< one member carries all; the others wait */
	DPAK_BOND_BALANCE = 1,       /**< every usable member, chosen by hash */
	DPAK_BOND_8023AD = 2,        /**< LACP: members that are collecting and distributing, by hash */
};

/**
 * What the member choice hashes (balance and 802.3ad).
 *
 * The value 0 in struct dpak_bond_opts: since 0.2.0 it means the default,
 * L34 (DPAK_BOND_HASH_DEFAULT), so that DPAK_OPTS() without .hash gets the
 * default; the MAC hash is asked for with DPAK_BOND_HASH_MAC. A struct
 * from 0.1.0 (its sz ends at no_failback) keeps 0 = the MAC hash, as 0.1.0
 * applied it. Outputs (struct dpak_bond_info) report the hash in use and
 * never "default": there 0 (DPAK_BOND_HASH_L2) is the MAC hash.
 */
enum dpak_bond_hash {
	DPAK_BOND_HASH_L2 = 0,    /**< source and destination MAC (in options: see above) */
	DPAK_BOND_HASH_L23 = 1,   /**< MACs and IP addresses */
	DPAK_BOND_HASH_L34 = 2,   /**< IP addresses, protocol and L4 ports */
	DPAK_BOND_HASH_INNER = 3, /**< L34 of the inner packet of VXLAN, else L34 */
	DPAK_BOND_HASH_MAC = 4,   /**< since 0.2.0, options: source and destination MAC */
	DPAK_BOND_HASH_DEFAULT = 0, /**< since 0.2.0, options: the default (L34) */
};

/** Who runs LACP for an 802.3ad bond. */
enum dpak_bond_lacp {
	DPAK_LACP_LIBRARY = 0, /**< the library sends and answers LACPDUs */
	DPAK_LACP_SWITCH = 1,  /**< LACPDUs go to the slow path; the switch sets member states */
};

/**
 * Options for dpak_bond_create(); declare with DPAK_OPTS(). Every field's
 * zero value is its default.
 */
struct dpak_bond_opts {
	size_t sz;                 /**< sizeof(struct dpak_bond_opts) */
	enum dpak_bond_mode mode;  /**< default (0) active-backup */
	enum dpak_bond_hash hash;  /**< default (0, DPAK_BOND_HASH_DEFAULT) L34; the MAC
				        hash is DPAK_BOND_HASH_MAC (see enum dpak_bond_hash) */
	enum dpak_bond_lacp lacp;  /**< 802.3ad only; default (0) the library */
	int lacp_slow;             /**< 802.3ad: 1 sets our LACP_Timeout long: the partner
				        sends every 30 s and its information lasts 90 s;
				        default (0) short: every 1 s, lasting 3 s */
	int no_failback;           /**< active-backup: 1 keeps traffic on the backup when
				        the first member comes back; default: it returns */
	/* Since 0.2.0. */
	uint8_t lacp_system[6];    /**< 802.3ad with the library's LACP: our system id
				        (IEEE 802.1AX Actor_System), a unicast MAC address;
				        default (all zero) one the library makes per bond */
};

/**
 * Create a bond (with no member yet).
 *
 * @param dev   the device.
 * @param name  its name (as a port), e.g. "bond0"; unique among ports.
 * @param opts  NULL for defaults.
 * @param port  set to the bond's port id.
 * @return 0, -EINVAL (bad option, named in dpak_errmsg()), -EEXIST (name
 *         taken), -ENOSPC (too many bonds: 8), -EOPNOTSUPP.
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_bond_create(struct dpak_dev *dev, const char *name,
			      const struct dpak_bond_opts *opts, uint32_t *port);

/**
 * Destroy a bond.
 *
 * @return 0, -ENOENT (no such bond), -EBUSY (flows forward to it: delete
 *         them first).
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_bond_destroy(struct dpak_dev *dev, uint32_t bond);

/**
 * Add an uplink to a bond. Traffic may use it at once (active-backup,
 * balance) or once LACP brings it to collecting and distributing (802.3ad).
 * From then on its packets are received as on the bond: flows that match
 * in_port = this uplink stop hitting (delete or replace them), and new
 * ones are refused while it is a member.
 *
 * @return 0, -ENOENT (no such bond or port), -EINVAL (not an uplink),
 *         -EBUSY (already in a bond), -ENOSPC (16 members at most).
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_bond_member_add(struct dpak_dev *dev, uint32_t bond,
				  uint32_t member);

/**
 * Remove a member. Its traffic moves to the others at once.
 *
 * @return 0, -ENOENT (not a member), -EBUSY (the last member of a bond
 *         that flows forward to).
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_bond_member_del(struct dpak_dev *dev, uint32_t bond,
				  uint32_t member);

/**
 * Set a member's LACP state, for bonds whose LACP runs in the switch
 * (DPAK_LACP_SWITCH): the device uses a member only while it is collecting
 * and distributing.
 *
 * @param up 1: collecting and distributing; 0: neither.
 * @return 0, -ENOENT, -EINVAL (the bond's LACP runs in the library or it is
 *         not an 802.3ad bond).
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_bond_member_set_state(struct dpak_dev *dev, uint32_t bond,
					uint32_t member, int up);

/** LACP state bits of a port (IEEE 802.1AX actor/partner state). */
enum dpak_lacp_state {
	DPAK_LACP_ACTIVITY = 1 << 0,       /**< active LACP */
	DPAK_LACP_TIMEOUT = 1 << 1,        /**< short (fast) timeout */
	DPAK_LACP_AGGREGATION = 1 << 2,    /**< aggregatable */
	DPAK_LACP_SYNC = 1 << 3,           /**< in sync */
	DPAK_LACP_COLLECTING = 1 << 4,     /**< collecting */
	DPAK_LACP_DISTRIBUTING = 1 << 5,   /**< distributing */
	DPAK_LACP_DEFAULTED = 1 << 6,      /**< partner information defaulted */
	DPAK_LACP_EXPIRED = 1 << 7,        /**< partner information expired */
};

/** A member's state (see dpak_bond_member_info()). */
struct dpak_bond_member_info {
	size_t sz;            /**< set by the caller */
	uint32_t port;        /**< the member's port id */
	int link_up;          /**< its link */
	int in_use;           /**< 1 if the device sends on it now */
	int active;           /**< active-backup: 1 for the active member */
	uint8_t actor_state;  /**< 802.3ad: our LACP state (enum dpak_lacp_state bits) */
	uint8_t partner_state; /**< 802.3ad: the partner's */
	uint8_t partner_system[6]; /**< 802.3ad: the partner's system id */
	uint64_t tx_packets;  /**< packets sent on it */
	uint64_t rx_packets;  /**< packets received on it */
	uint64_t lacpdus_rx, lacpdus_tx; /**< 802.3ad with library LACP */
};

/** A bond's description (see dpak_bond_info()). */
struct dpak_bond_info {
	size_t sz;                 /**< set by the caller */
	uint32_t port;             /**< the bond's port id */
	char name[16];             /**< its name */
	enum dpak_bond_mode mode;  /**< mode */
	enum dpak_bond_hash hash;  /**< hash */
	enum dpak_bond_lacp lacp;  /**< who runs LACP */
	uint32_t n_members;        /**< members */
	uint32_t members[16];      /**< their port ids */
	int32_t active;            /**< active-backup: the active member's port, or -1 */
	uint32_t flows;            /**< flows that forward to it */
};

/**
 * Describe a bond.
 * @return 0, -EINVAL, -ENOENT.
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_bond_info(struct dpak_dev *dev, uint32_t bond,
			    struct dpak_bond_info *info);

/**
 * Describe a bond's member.
 * @return 0, -EINVAL, -ENOENT.
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_bond_member_info(struct dpak_dev *dev, uint32_t bond,
				   uint32_t member,
				   struct dpak_bond_member_info *info);

/** Bond event types. */
enum dpak_bond_event_type {
	DPAK_BOND_EV_LINK_DOWN = 0, /**< a member's link went down */
	DPAK_BOND_EV_LINK_UP = 1,   /**< a member's link came up */
	DPAK_BOND_EV_ACTIVE = 2,    /**< active-backup: another member is active */
	DPAK_BOND_EV_LACP = 3,      /**< a member's LACP state changed (in use or not) */
};

/** A change of state the device made by itself (see dpak_bond_event_next()). */
struct dpak_bond_event {
	uint32_t bond;                   /**< the bond's port id */
	uint32_t member;                 /**< the member concerned */
	enum dpak_bond_event_type type;  /**< what happened */
	uint32_t state;                  /**< LACP: the actor state; else 0 */
	uint64_t time_ns;                /**< CLOCK_MONOTONIC */
};

/**
 * Take the oldest bond event.
 *
 * Events are kept in a queue of 256; when it is full the oldest are
 * dropped (and counted in dpak_errmsg() of the next call).
 *
 * @return 1 (an event was written), 0 (none), or -EINVAL.
 * @par Thread safety
 * One thread at a time per device.
 */
DPAK_API int dpak_bond_event_next(struct dpak_dev *dev,
				  struct dpak_bond_event *ev);

/**
 * A file descriptor that becomes readable when bond events are waiting,
 * for poll() or epoll; read it (8 bytes) to clear it.
 *
 * A switch waits for bond events by polling it for POLLIN; once readable it
 * reads it, then calls dpak_bond_event_next() until that returns 0. The
 * library queues the events of a link change within 20 ms of the device's
 * own reaction; dpak_hwsim_set_link() returns only once the events of the
 * change are queued (in step mode too).
 *
 * @return the descriptor (owned by the library, valid until
 *         dpak_dev_close()), or -EINVAL.
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_bond_event_fd(struct dpak_dev *dev);

#ifdef __cplusplus
}
#endif
#endif /* DPAK_BOND_H */
