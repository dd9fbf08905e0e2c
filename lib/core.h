/* SPDX-License-Identifier: MIT */
/* libdpak core: internal structures and helpers shared by lib/. */
#ifndef DPAK_CORE_H
#define DPAK_CORE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <dpak/dpak.h>
#include "backend.h"
#include "configinfo.h"

struct dpak_table {
	struct dpak_dev *dev;
	uint32_t index;
	const struct ci_table *decl;
	pthread_mutex_t lock;      /* serialises this table's flow changes */
	struct dpak_flow *head, *tail;
	uint32_t in_use;
	uint32_t high_water;
	uint32_t next_id;
	/* Flow records: fixed-size slots carved from chunks (no allocation
	 * per flow once warm); the free ones are chained. Under lock. */
	uint32_t rec_size, act_inline;
	void *free_recs;
	void *chunks;
	/* Flows a device reset lost and the restore could not re-add yet
	 * (FLOW_F_ABSENT; not in in_use), with what they had counted. */
	struct dpak_absent *absent;
	uint32_t n_absent;
	/* Distinct masks of the table's flows (wildcard, LPM): max_masks
	 * slots of key_bytes, made with the first flow; refs 0: a free slot. */
	uint8_t *masks;
	uint32_t *mask_refs;
	uint32_t n_masks;
	/* dpak-ctl's place in a walk it does in chunks (the control thread's
	 * only): unlinking that flow moves it to the next. Under lock. */
	struct dpak_flow *ctl_mark;
	uint64_t ctl_mark_id;      /* the id a paged dump resumes at there */
};

struct dpak_dev {
	const struct dpak_backend_ops *ops; /* &own_ops once open */
	struct dpak_backend_ops own_ops; /* the backend's, with this device's
					  * capabilities */
	pthread_mutex_t recover_lock; /* one restore after a device reset at
				       * a time (dpak__dev_recover_check) */
	void *priv;
	char *devspec;
	uint32_t n_ports;
	uint32_t n_rx_queues;
	uint64_t gen;          /* unique per open (caches keyed by table) */
	struct dpak_ctl *ctl;  /* control socket server, or NULL */
	struct dpak_bonds *bonds; /* made with the first bond */
	struct {               /* offload statistics (atomic counters) */
		uint64_t adds, dels, replaces, fails;
		uint64_t err[136];       /* failed flow operations by errno */
		uint64_t lat[40];        /* sampled add latency, log2(ns) buckets */
		uint64_t resets, restored;
		uint64_t prev_adds, prev_dels, prev_ns; /* dpak-ctl's last look */
		uint64_t opened_ns;
	} st;
	struct {               /* slow-path capture (dpak-ctl capture, capture.c) */
		pthread_mutex_t lock;    /* rx_burst copying; held for copies only */
		int active;              /* read without the lock by rx_burst */
		struct dpak_capture *c;  /* the last capture, or NULL */
	} cap;
	struct ci_config cfg;
	struct dpak_table tables[CI_MAX_TABLES];
	struct dpak_events *events; /* the event channel (event.c), or NULL */
};

enum { FLOW_F_COUNT = 1, FLOW_F_AGED = 2, FLOW_F_ACT_HEAP = 4,
       FLOW_F_GONE = 8 /* removed from the device by the operator */,
       FLOW_F_ABSENT = 16 /* lost in a device reset, not restored yet */ };
enum { FLOW_F_AGED_EV = 128 /* aged: queued on the event channel (event.c) */ };

/* The actions the device applies now (capabilities). */
static inline uint64_t dpak__dev_action_types(const struct dpak_dev *dev)
{
	return dev->ops->action_types_now ?
		dev->ops->action_types & dev->ops->action_types_now(dev->priv) :
		dev->ops->action_types;
}
struct dpak_table_info;
/* The limits and state dpak_table_info() reports beyond the declaration
 * (flow.c); the caller holds the table's lock. */
void dpak__table_info_fill(struct dpak_table *t, struct dpak_table_info *i);

/* Statistics. */
static inline void dpak__stat_fail(struct dpak_dev *dev, int err)
{
	unsigned e = (unsigned)(err < 0 ? -err : err);
	__atomic_fetch_add(&dev->st.fails, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&dev->st.err[e < 136 ? e : 0], 1, __ATOMIC_RELAXED);
}
void dpak__stat_latency(struct dpak_dev *dev, uint64_t ns);
/* Across a device reset (the caller holds every table's lock): save what
 * the device counted for every flow it holds, before the reset; then
 * restore every flow the core holds into the device, counters continuing
 * from @saved (may be NULL). Flows that cannot be re-added are kept as
 * FLOW_F_ABSENT and retried by later restores. */
void *dpak__dev_save(struct dpak_dev *dev);
uint64_t dpak__dev_restore(struct dpak_dev *dev, void *saved);
/* Whether the device lost its state by itself (ops->reset_check): if so,
 * add back every flow it does not hold, under every table's lock, and
 * queue DPAK_EVENT_RESET. Under no table lock. Returns 1 if it restored. */
int dpak__dev_recover_check(struct dpak_dev *dev);
/* A flow op failed with @err under a table's lock (released now): after a
 * reset that cut it (-ENETRESET) or followed it (-ETIMEDOUT), restore what
 * the device lost; 1 if the op may be retried once (-ENETRESET). */
int dpak__flow_op_reset(struct dpak_dev *dev, int err);
/* Before a public call takes a lock: restore what a reset the device did by
 * itself lost since the last call (a no-op for backends without
 * reset_check). */
void dpak__dev_recover_first(struct dpak_dev *dev);
/* Remove a flow from the device but keep its record (dpak-ctl); the caller
 * holds its table's lock. */
int dpak__flow_remove_keep_locked(struct dpak_flow *f);
/* Capture of received slow-path packets (capture.c). */
void dpak__capture_pkts(struct dpak_dev *dev, struct dpak_pkt **pkts, int n);
void dpak__capture_stop(struct dpak_dev *dev);
/* Bonds (bond.c). */
int dpak__port_exists(struct dpak_dev *dev, uint32_t port);
/* A port's id by name, or -1; sets no error (device.c). */
int dpak__port_lookup(struct dpak_dev *dev, const char *name);
/* 1 if @port is a member of a bond (its packets are received as on the
 * bond), filling @bond; else 0. */
int dpak__port_bond_member(struct dpak_dev *dev, uint32_t port, uint32_t *bond);
/* A flow's in_port: 0, or an error naming item @idx if @port is a bond
 * member (a member's packets are received as on its bond: such a flow
 * could never hit). */
int dpak__in_port_check(struct dpak_dev *dev, unsigned idx, uint32_t port);
/* A bond's member ports (16 at most) and name: returns their number, or
 * -ENOENT (sets no error) if @bond is not a bond. */
int dpak__bond_members(struct dpak_dev *dev, uint32_t bond, uint32_t *ports, char *name);
/* Run the bond monitor once now, in the caller (after a link change). */
void dpak__bonds_poll(struct dpak_dev *dev);
/* Count flows forwarding to bonds, from a packed action block: +1 checks
 * (under the bonds' lock) that each bond still exists; -1 cannot fail. */
int dpak__bond_ref(struct dpak_dev *dev, const uint8_t *act, uint32_t len, int delta);
void dpak__bonds_fini(struct dpak_dev *dev);

/* Control socket (ctl.c). */
int dpak__ctl_start(struct dpak_dev *dev, const char *path);
void dpak__ctl_stop(struct dpak_dev *dev);

/* Flow record slots (flow.c). */
void dpak__table_recs_init(struct dpak_table *t);
void dpak__table_recs_fini(struct dpak_table *t);

/* The core's record of an offloaded flow: its packed form and what the
 * library needs to manage it. Key (and mask) and actions follow inline. */
struct dpak_flow {
	struct dpak_table *table;
	struct dpak_flow *prev, *next;
	uint64_t cookie;
	uint64_t handle;     /* the backend's */
	uint64_t added_ns;
	uint32_t idle_ms;
	uint32_t priority;
	uint16_t layers;     /* match layers (for checking replaced actions) */
	uint8_t act_len;
	uint8_t flags;
	uint32_t id;         /* stable number within its table (dpak-ctl) */
	uint8_t *act;        /* into data[] or, after a longer replace, heap */
	uint8_t data[];      /* key[key_bytes], mask[key_bytes] if not exact, actions */
};

/* Errors: set the thread's message and return -err (err > 0). */
int dpak__err(int err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Keep the caller's message across internal calls that may set one (a
 * successful public call leaves dpak_errmsg() as it was). */
struct dpak__errsave { char msg[512]; };
void dpak__err_save(struct dpak__errsave *s);
void dpak__err_restore(const struct dpak__errsave *s);
/* Prefix the current message with "prefix: ". */
void dpak__err_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

void dpak__log(enum dpak_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Option structs: check that a struct of @sz bytes from the caller, of which
 * this library knows @known, has no unknown non-zero fields. */
int dpak__opts_check(const void *opts, size_t known, const char *type);
/* A field of an option struct, or @def when absent (NULL or older struct). */
#define DPAK_OPT(o, f, def)                                                    \
	(((o) && offsetof(__typeof__(*(o)), f) + sizeof((o)->f) <= (o)->sz)    \
		 ? (o)->f : (def))
/* Copy an output struct to a caller's of any size (its sz set first). */
int dpak__out(void *dst, const void *src, size_t known, const char *type);

uint64_t dpak__now_ns(void);

/* Match layers seen while packing (for action checks). */
enum {
	LAYER_ETH = 1 << 0, LAYER_VLAN = 1 << 1, LAYER_IPV4 = 1 << 2,
	LAYER_IPV6 = 1 << 3, LAYER_TCP = 1 << 4, LAYER_UDP = 1 << 5,
	LAYER_ICMP = 1 << 6, LAYER_VXLAN = 1 << 7, LAYER_SCTP = 1 << 8,
};

/* Validation and packing (pack_flow.c). key and mask: key_bytes each;
 * act: PK_MAX_ACTIONS. */
struct packed {
	uint8_t key[PK_MAX_KEY], mask[PK_MAX_KEY];
	uint8_t act[PK_MAX_ACTIONS + 1];
	uint32_t act_len;
	uint32_t priority;
	uint16_t layers;
	int counted;
};
int dpak__pack_match(const struct dpak_table *t, const struct dpak_item *items,
		     uint32_t priority, struct packed *pk);
int dpak__pack_actions(const struct dpak_table *t,
		       const struct dpak_action *actions, struct packed *pk);

const char *dpak__item_name(int type);
const char *dpak__action_name(int type);

#endif
