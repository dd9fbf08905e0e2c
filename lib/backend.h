/* SPDX-License-Identifier: MIT */
/*
 * The backend interface: what a device driver implements under the core.
 *
 * The core validates every request and packs it (see pack.h) before a
 * backend sees it; a backend only programs its device. An op left NULL
 * answers -EOPNOTSUPP. Ops return 0 or a negative errno, and set
 * dpak_errmsg() through dpak__err() when they fail.
 */
#ifndef DPAK_BACKEND_H
#define DPAK_BACKEND_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "configinfo.h"

struct dpak_port_info;
struct dpak_port_stats;
struct dpak_pkt;
struct dpak_queue_stats;
struct dpak_hwsim_pcap_stats;

/* What the core asks of a device at open, beyond its tables. */
struct dpak_backend_ops;
struct bk_open_cfg {
	uint32_t queues, queue_size, pool_size;
	/* The device's own copy of these ops, which the core uses from the
	 * open on: a backend whose capabilities are per device (item_types,
	 * action_types, table_types, max_push_bytes) writes them here. */
	struct dpak_backend_ops *dev_ops;
	/* Where the configinfo came from, for messages naming its lines
	 * ("ovs.conf", "configinfo_text", "default configinfo"). */
	const char *ci_origin;
};

struct bk_flow_counters;

/* One flow in packed form, as handed to a backend. */
struct bk_flow {
	const uint8_t *key;      /* table key_bytes */
	const uint8_t *mask;     /* key_bytes, NULL for exact tables */
	const uint8_t *actions;  /* packed action block */
	uint32_t actions_len;
	uint32_t priority;
	/* flow_add only, when the core restores a flow after a device reset:
	 * the counters it had (packets and bytes continue from them, the last
	 * hit stands until a newer one); NULL otherwise. */
	const struct bk_flow_counters *carry;
};

enum bk_fate { BK_FATE_DROP, BK_FATE_PORT, BK_FATE_HOST, BK_FATE_JUMP, BK_FATE_TTL };

/* What decided a traced packet's outcome, beside its fate. */
enum bk_why {
	BK_WHY_NONE,       /* the fate the actions or a table's miss gave */
	BK_WHY_LINK_DOWN,  /* received on a port whose link is down: dropped */
	BK_WHY_LACP_CTRL,  /* an LACPDU on a bond member: to the library's LACP */
	BK_WHY_PROTO_HOST, /* a protocol frame (an LACPDU) on a bond member: up to
			    * the switch, as the member's */
	BK_WHY_ACTION,     /* action act_index needs a header the packet lacks */
	BK_WHY_HEADROOM,   /* action act_index found no room before the frame */
	BK_WHY_JUMP_BACK,  /* a jump to a table not after the current one */
	BK_WHY_NO_MEMBER,  /* to a bond none of whose members can take it */
	BK_WHY_BOND_RX,    /* on a bond member that may not receive */
	BK_WHY_MTU,        /* longer than port arg's MTU allows (docs/DATAPATH.md) */
	BK_WHY_EGRESS_DOWN,/* port arg's link is down */
};

#define BK_TRACE_RX 0xfffffffeu /* a step's table: how the packet came in */

/* A trace runs the device's own pipeline, counting and sending nothing. */
struct bk_trace_step {
	uint32_t table;       /* ~0u: the outcome; BK_TRACE_RX: received on
			       * port arg as port rx_port (a member's bond) */
	int hit;
	uint64_t handle;      /* on a hit */
	int miss;             /* on a miss: enum pk_miss */
	enum bk_fate fate;    /* the outcome */
	uint32_t arg;
	uint32_t len;
	const uint8_t *actions;
	uint32_t act_len;
	enum bk_why why;      /* the outcome: what decided it */
	uint32_t rx_port;
	uint32_t member;      /* fate port a bond: the member it leaves by, or ~0u */
	uint32_t act_index;   /* BK_WHY_ACTION/HEADROOM: position in the packed block */
	int act_type;         /* its type (enum dpak_action_type) */
	const char *missing;  /* BK_WHY_ACTION: the header it needs, in words */
};

struct bk_flow_counters {
	uint64_t packets, bytes, last_hit_ns;
};

/* A device's health as its driver saw it, since the open. */
struct bk_health {
	uint64_t bad_completions; /* completions (and results) ignored as garbage */
	uint64_t bad_events;      /* events ignored as garbage */
	uint64_t unknown_events;  /* events of a type the driver does not know */
	uint64_t lost_events;     /* events the device dropped or skipped */
	uint64_t timeouts;        /* commands that never completed */
	uint64_t resets;          /* resets the driver made */
	uint64_t self_resets;     /* resets the device made by itself */
	uint32_t state;           /* 0 up, 1 gone (BAR0 all ones), 2 dead */
};

struct dpak_backend_ops {
	const char *name;
	/* Open the device described by @args (devspec after "name:") with
	 * the tables of @cfg. */
	int (*open)(const char *args, const struct ci_config *cfg,
		    const struct bk_open_cfg *oc, void **priv);
	void (*close)(void *priv);
	uint32_t (*n_ports)(void *priv);
	int (*port_info)(void *priv, uint32_t port, struct dpak_port_info *info);
	int (*port_stats)(void *priv, uint32_t port, struct dpak_port_stats *st);
	uint64_t item_types, action_types; /* capabilities, bit per enum value */
	uint32_t table_types;

	/* Flows. @handle identifies the flow in the device. */
	int (*flow_add)(void *priv, uint32_t table, const struct bk_flow *f,
			uint64_t *handle);
	/* Optional: several adds at once, each succeeding or failing alone
	 * (results[i]: 0 or -errno; dpak_errmsg() set for a failed one).
	 * Returns the number added. Without it the core calls flow_add. */
	int (*flow_add_batch)(void *priv, uint32_t table, const struct bk_flow *f,
			      unsigned n, uint64_t *handles, int *results);
	int (*flow_del)(void *priv, uint32_t table, uint64_t handle);
	/* Atomically swap a flow's actions; may give a new handle. */
	int (*flow_replace)(void *priv, uint32_t table, uint64_t handle,
			    const uint8_t *actions, uint32_t len,
			    uint64_t *new_handle);
	int (*flow_counters)(void *priv, uint32_t table, uint64_t handle,
			     struct bk_flow_counters *c);

	/* Host queues (<dpak/queue.h>). */
	int (*rx_burst)(void *priv, uint16_t q, struct dpak_pkt **pkts, uint16_t n);
	int (*tx_burst)(void *priv, uint16_t q, struct dpak_pkt **pkts, uint16_t n);
	struct dpak_pkt *(*pkt_alloc)(void *priv);
	void (*pkt_free)(void *priv, struct dpak_pkt *pkt);
	int (*queue_stats)(void *priv, uint16_t q, struct dpak_queue_stats *st);

	/* Trace a packet through the tables without sending or counting it. */
	int (*trace)(void *priv, uint32_t port, const void *pkt, size_t len,
		     void (*cb)(void *ctx, const struct bk_trace_step *st), void *ctx);

	/* Bonds: the device picks members and fails over by itself. */
	int (*bond_create)(void *priv, int mode, int hash, int lacp_in_library,
			   int failback, uint32_t *port);
	int (*bond_destroy)(void *priv, uint32_t port);
	int (*bond_add)(void *priv, uint32_t port, uint32_t member);
	int (*bond_del)(void *priv, uint32_t port, uint32_t member);
	int (*bond_enable)(void *priv, uint32_t port, uint32_t member, int on);
	/* Active-backup's active member, or ~0u. */
	int (*bond_active)(void *priv, uint32_t port, uint32_t *member);
	/* The control channel (LACPDUs for the library; frames it sends). */
	ssize_t (*ctrl_recv)(void *priv, void *buf, size_t cap, uint32_t *port);
	int (*ctrl_send)(void *priv, uint32_t port, const void *pkt, size_t len);

	/* hwsim-only calls of <dpak/hwsim.h>. */
	int (*sim_reject)(void *priv, uint64_t action_types);
	int (*sim_reset)(void *priv, uint64_t *lost);
	int (*sim_attach)(void *priv, uint32_t port, const char *ifname);
	int (*sim_pcap)(void *priv, uint32_t port, int dir, const char *path);
	int (*sim_inject)(void *priv, uint32_t port, const void *pkt, size_t len);
	ssize_t (*sim_capture)(void *priv, uint32_t port, void *buf, size_t cap);
	int (*sim_run)(void *priv, unsigned budget);
	int (*sim_set_link)(void *priv, uint32_t port, int up);
	int (*sim_fail_flow_ops)(void *priv, unsigned count, int err);

	/* Optional: the actions the device applies now, a subset of
	 * action_types (a device may stop applying some); NULL: action_types.
	 * A device that refuses a flow for one of its actions returns
	 * -ENOTSUP with dpak_errmsg() naming the action's position in the
	 * packed block and its type ("action 2 (set_tp_dst): ..."). */
	uint64_t (*action_types_now)(void *priv);
	/* Set a port's MTU (bytes of L3 payload; the core checked the port
	 * exists, the backend checks the range and says it). */
	int (*port_set_mtu)(void *priv, uint32_t port, uint32_t mtu);
	/* A pcap attachment's counters (struct dpak_hwsim_pcap_stats). */
	int (*sim_pcap_stats)(void *priv, uint32_t port, int dir,
			      struct dpak_hwsim_pcap_stats *st);
	/* Stop (@pause 1) the device's forwarding until the matching call
	 * with 0, as a resetting device stops: when it returns, no packet is
	 * inside the pipeline and none enters it (they wait). The core pauses
	 * across a reset: the counters it reads, the wipe and the restore. */
	int (*sim_pause)(void *priv, int pause);
	/* The most bytes a flow's actions may push in front of a frame (VLAN
	 * tags, encapsulations): the device's headroom (struct dpak_dev_info
	 * max_push_bytes); 0: not declared, not checked. */
	uint32_t max_push_bytes;
	/* Steer @port's slow-path packets that no flow sends to a named queue
	 * to queues first .. first+n-1 (n 0: all); the core checked the
	 * arguments. */
	int (*port_set_rx_queues)(void *priv, uint32_t port, uint16_t first,
				  uint16_t n);

	/*
	 * Optional: a device that can lose its state by itself (a reset it
	 * did, a command that timed out and made the driver reset it). The
	 * driver brings the device back up but never restores flows itself
	 * (the core holds a table's lock when it calls a flow op). Instead:
	 *  - the op a reset cut short returns -ENETRESET: nothing of it stayed
	 *    in the device;
	 *  - reset_check() returns 1, once, after such a recovery (with the
	 *    entries the device lost in *lost), else 0. The core calls it
	 *    under no table lock: at the start of each public flow call, in
	 *    the event thread's scan, and after an op returned -ENETRESET or
	 *    -ETIMEDOUT; on 1 it adds back every flow whose handle is not
	 *    live, queues DPAK_EVENT_RESET, and retries a cut op once
	 *    (dpak__dev_recover_check(), lib/flow.c); 2 when the entries are
	 *    lost and the device did not come back (or is gone): the flows
	 *    are tried (and stay DPAK_FLOW_NOT_RESTORED), no event;
	 *  - handle_live() says whether a handle still names an entry of the
	 *    device (0 after a reset took it): flow_del of a dead handle
	 *    succeeds, flow_counters reads what was read of it last (zero
	 *    if nothing) and the core carries that into the entry restored
	 *    (or keeps it for a flow not restored), flow_replace returns
	 *    -ENETRESET.
	 */
	int (*reset_check)(void *priv, uint64_t *lost);
	int (*handle_live)(void *priv, uint32_t table, uint64_t handle);
	/* Optional: what the driver saw of its device (dpak-ctl
	 * device-health). */
	int (*health)(void *priv, struct bk_health *h);
};

extern const struct dpak_backend_ops dpak_backend_hwsim;
extern const struct dpak_backend_ops dpak_backend_pci;

#endif
