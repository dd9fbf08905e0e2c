/* SPDX-License-Identifier: MIT */
/*
 * hwsim: a software DPU. This is the device model's own small interface
 * (ports, tables, entries, counters, rings); it knows nothing of the public
 * API. lib/backends/hwsim/ glues the backend ops to it.
 *
 * Flow keys and action blocks are in the packed form of lib/pack.h, the
 * format this device consumes.
 */
#ifndef HWSIM_H
#define HWSIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "pack.h"

#define HW_MAX_PORTS 64
#define HW_MAX_TABLES 32
/* Frame sizes (docs/DATAPATH.md, "Frame sizes and the MTU"). A port's MTU
 * is the largest L3 payload it sends: a frame leaves it if its length is at
 * most MTU + 14 + 4 per VLAN tag it carries (up to two). */
#define HW_MIN_MTU 68       /* RFC 791: every IPv4 module forwards 68 octets */
#define HW_MAX_MTU 9202     /* an untagged frame of 9216 bytes */
#define HW_DEFAULT_MTU 1500 /* RFC 894 Ethernet */
#define HW_MAX_FRAME 9224   /* largest frame a port takes: HW_MAX_MTU + 14 + 2 tags */
#define HW_HEADROOM 128     /* room in front of a frame for encapsulation */

struct hw_dev;

enum hw_port_type { HW_UPLINK, HW_PF, HW_VF };

struct hw_dev_cfg {
	uint32_t n_uplinks, n_pfs, n_vfs;
	uint32_t ring_size;   /* per port and direction, power of two */
	int engine_thread;    /* run the pipeline in a thread of the device's */
	uint32_t n_queues;    /* host queue pairs (receive + transmit) */
	uint32_t queue_size;  /* entries per host queue, power of two */
	uint32_t pool_size;   /* host packet buffers */
	uint32_t mtu;         /* every port's MTU at creation; 0: HW_DEFAULT_MTU */
	/* Where the device reports trouble (level 0 error, 1 warning); NULL:
	 * silent. */
	void (*log)(int level, const char *msg);
};

/* A host packet buffer's descriptor. Its layout is that of the public
 * struct dpak_pkt (the glue checks this at compile time), so host queues
 * hand buffers to the switch without conversion. */
struct hw_pktbuf {
	uint8_t *data;
	uint32_t len, port, mark;
	uint16_t reason, table;
	uint32_t hash;
	uint16_t tx_flags, rsvd0;
	uint32_t buf_len;
	uint64_t rsvd[4]; /* rsvd[0]: pool index */
};

enum { HW_TX_PORT = 0, HW_TX_PIPELINE = 1 };

struct hw_queue_counters {
	uint64_t rx_packets, rx_drops, tx_packets;
	uint32_t rx_depth, tx_depth, pool_size, pool_free;
};

struct hw_table_cfg {
	enum pk_table_type type;
	enum pk_miss miss;
	uint32_t capacity;
	uint32_t key_bytes;
	uint32_t action_bytes;
	uint32_t n_fields;
	uint8_t field[PK_FIELD_MAX];  /* key fields, in key order */
	uint32_t max_masks;           /* wildcard/LPM: most distinct masks
				       * (LPM: prefix lengths); 0: 64 */
	/* Exact tables: the bits of the key the table keys on (a packet's
	 * key is taken under this mask), when has_key_mask. */
	uint8_t has_key_mask;
	uint8_t key_mask[PK_MAX_KEY];
};

struct hw_port_counters {
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, rx_misses, drops;
	uint64_t drops_action, drops_mtu, drops_bond_rx; /* also in drops */
};

struct hw_entry_counters {
	uint64_t packets, bytes, last_hit_ns;
};

/* Why a packet went up to the host. */
enum hw_host_reason { HW_HOST_MISS, HW_HOST_ACTION, HW_HOST_TTL, HW_HOST_PROTO };

/* Bonds: ports n_ports .. n_ports + HW_MAX_BONDS - 1. */
#define HW_MAX_BONDS 8
#define HW_BOND_MEMBERS 16
enum hw_bond_mode { HW_BOND_AB, HW_BOND_BALANCE, HW_BOND_LACP };
enum hw_bond_hash { HW_HASH_L2, HW_HASH_L23, HW_HASH_L34, HW_HASH_INNER };
/* Where a bond's LACPDUs go: the host queues (the switch runs LACP) or the
 * device's control channel (the library runs it: hw_ctrl_recv). */
enum hw_bond_lacp { HW_LACP_HOST, HW_LACP_CTRL };
struct hw_bond_state {
	enum hw_bond_mode mode;
	uint32_t n;
	uint32_t member[HW_BOND_MEMBERS];
	uint8_t enabled[HW_BOND_MEMBERS]; /* LACP: collecting and distributing */
	uint32_t active;                  /* active-backup: member port or ~0u */
};

/* Device. */
int hw_dev_create(const struct hw_dev_cfg *cfg, struct hw_dev **out);
void hw_dev_destroy(struct hw_dev *dev);
uint32_t hw_n_ports(const struct hw_dev *dev);
enum hw_port_type hw_port_type(const struct hw_dev *dev, uint32_t port);
void hw_port_mac(const struct hw_dev *dev, uint32_t port, uint8_t mac[6]);
int hw_port_link(const struct hw_dev *dev, uint32_t port);
int hw_port_set_link(struct hw_dev *dev, uint32_t port, int up);
void hw_port_counters(const struct hw_dev *dev, uint32_t port,
		      struct hw_port_counters *c);
/* A port's MTU; set it (HW_MIN_MTU .. HW_MAX_MTU, else -ERANGE) at any
 * time: the pipeline reads it per packet. */
uint32_t hw_port_mtu(const struct hw_dev *dev, uint32_t port);
int hw_port_set_mtu(struct hw_dev *dev, uint32_t port, uint32_t mtu);
/* Host queues first .. first+n-1 for the port's slow-path packets no flow
 * names a queue for (n 0: all; -ERANGE beyond the queues), at any time. */
int hw_port_set_rx_queues(struct hw_dev *dev, uint32_t port, uint32_t first, uint32_t n);

/* Tables, created in pipeline order before hw_dev_start(). */
int hw_table_create(struct hw_dev *dev, const struct hw_table_cfg *cfg);
/* Start the engine thread if the device has one (after its tables). */
int hw_dev_start(struct hw_dev *dev);

/* Entries. Keys (and masks) are key_bytes long; @id names the entry. All
 * calls may run while the pipeline forwards packets. */
int hw_entry_add(struct hw_dev *dev, uint32_t table, const uint8_t *key,
		 const uint8_t *mask, uint32_t prio, const uint8_t *act,
		 uint32_t act_len, uint32_t *id);
/* Several adds under one acquisition of the table's writer lock; each
 * succeeds or fails alone (results[i]). Returns the number added. */
struct hw_entry_req {
	const uint8_t *key, *mask, *act;
	uint32_t act_len, prio;
};
int hw_entry_add_batch(struct hw_dev *dev, uint32_t table,
		       const struct hw_entry_req *reqs, unsigned n, uint32_t *ids,
		       int *results);
int hw_entry_del(struct hw_dev *dev, uint32_t table, uint32_t id);
int hw_entry_replace(struct hw_dev *dev, uint32_t table, uint32_t id,
		     const uint8_t *act, uint32_t act_len, uint32_t *new_id);
int hw_entry_counters(struct hw_dev *dev, uint32_t table, uint32_t id,
		      struct hw_entry_counters *c);
uint32_t hw_table_in_use(struct hw_dev *dev, uint32_t table);
/* Continue an entry's counters from @c (a flow restored after a reset):
 * packets and bytes add, the later last hit wins. */
int hw_entry_carry(struct hw_dev *dev, uint32_t table, uint32_t id,
		   const struct hw_entry_counters *c);

/* Fault injection: the next @count entry operations fail with @err. */
void hw_fail_ops(struct hw_dev *dev, unsigned count, int err);
/* Refuse entries whose action block uses op (bit per pk_op); 0: none. */
void hw_reject_ops(struct hw_dev *dev, uint64_t ops);
/* The ops refused now (bit per pk_op). */
uint64_t hw_rejected_ops(const struct hw_dev *dev);
/* Reset: every table loses every entry (and its counters), as a device
 * reset would. Returns the number of entries lost. */
uint64_t hw_dev_reset(struct hw_dev *dev);
/* Stop (@on 1) or let go again (@on 0) the pipeline, as a resetting device
 * stops: once hw_pause(dev, 1) returns, no burst runs until the matching
 * hw_pause(dev, 0) (pauses nest); packets wait in the receive rings and
 * host queues meanwhile. Table operations still work. */
void hw_pause(struct hw_dev *dev, int on);

/* What ended a packet's way through the pipeline, beside its fate. */
enum hw_why {
	HW_WHY_NONE,       /* the fate the actions or a table's miss gave */
	HW_WHY_LINK_DOWN,  /* received on a port whose link is down: dropped */
	HW_WHY_LACP_CTRL,  /* an LACPDU on a bond member: to the control channel */
	HW_WHY_PROTO_HOST, /* a protocol frame (an LACPDU) on a bond member: up
			    * to the host, as the member's */
	HW_WHY_ACTION,     /* an action needs a layer the packet lacks: dropped */
	HW_WHY_HEADROOM,   /* an action found no room in front of the frame */
	HW_WHY_JUMP_BACK,  /* a jump to a table not after this one: dropped */
	HW_WHY_NO_MEMBER,  /* to a bond none of whose members can take it */
	HW_WHY_BOND_RX,    /* on a bond member that may not receive: dropped */
	HW_WHY_MTU,        /* longer than the egress port's MTU allows: dropped */
	HW_WHY_EGRESS_DOWN,/* the egress port's link is down: dropped */
};

/* Trace a packet through the pipeline without sending it or counting it:
 * the pipeline's own code runs, with effects reported instead of done.
 * @cb is called for each table the packet meets, then once with the
 * outcome (table = ~0u). A packet received on a bond member first gives a
 * step with table = HW_TRACE_RX. */
#define HW_TRACE_RX 0xfffffffeu
struct hw_trace_step {
	uint32_t table;      /* ~0u: the outcome */
	int hit;             /* 1: matched entry @id */
	uint32_t id;
	enum pk_miss miss;   /* on a miss: what the table does */
	int fate;            /* outcome: enum hw_fate (packet.h) */
	uint32_t arg;        /* port, queue or table of the fate */
	uint32_t len;        /* the packet's length after the actions */
	const uint8_t *actions; /* on a hit: the entry's action block */
	uint32_t act_len;
	enum hw_why why;     /* outcome: what decided it */
	uint32_t in_port;    /* the port it is received as (a member's bond) */
	uint32_t member;     /* fate port a bond: the member it leaves by */
	uint32_t act_index;  /* HW_WHY_ACTION/HEADROOM: the action (block order) */
	uint32_t act_op;     /* its op (enum pk_op) */
	uint32_t missing;    /* HW_WHY_ACTION: the layers it lacked (HW_L_*) */
};
int hw_trace(struct hw_dev *dev, uint32_t port, const void *pkt, size_t len,
	     void (*cb)(void *ctx, const struct hw_trace_step *st), void *ctx);

/* Bonds (bond.c). */
int hw_bond_create(struct hw_dev *dev, enum hw_bond_mode mode, enum hw_bond_hash hash,
		   enum hw_bond_lacp lacp, int failback, uint32_t *port);
int hw_bond_destroy(struct hw_dev *dev, uint32_t port);
int hw_bond_add(struct hw_dev *dev, uint32_t port, uint32_t member);
int hw_bond_del(struct hw_dev *dev, uint32_t port, uint32_t member);
int hw_bond_enable(struct hw_dev *dev, uint32_t port, uint32_t member, int on);
int hw_bond_state(struct hw_dev *dev, uint32_t port, struct hw_bond_state *st);
/* The control channel: frames for the library (LACPDUs) and frames it
 * sends out of a port directly. */
ssize_t hw_ctrl_recv(struct hw_dev *dev, void *buf, size_t cap, uint32_t *port);
int hw_ctrl_send(struct hw_dev *dev, uint32_t port, const void *pkt, size_t len);

/* Wire side. */
int hw_inject(struct hw_dev *dev, uint32_t port, const void *pkt, size_t len);
ssize_t hw_capture(struct hw_dev *dev, uint32_t port, void *buf, size_t cap);

/* Host side: packets that went up to the slow path, and packets the
 * switch sends. Receive queue q has one consumer thread, transmit queue q
 * one producer thread. */
int hw_host_rx_burst(struct hw_dev *dev, uint32_t q, struct hw_pktbuf **b,
		     unsigned n);
/* Returns the number taken, or -EINVAL if a buffer is bad (none taken;
 * hw_host_tx_check tells which and why). */
int hw_host_tx_burst(struct hw_dev *dev, uint32_t q, struct hw_pktbuf **b,
		     unsigned n);
/* Why hw_host_tx_burst refuses a buffer. */
enum hw_tx_bad { HW_TXB_OK, HW_TXB_NULL, HW_TXB_POOL, HW_TXB_FLAGS, HW_TXB_PORT,
		 HW_TXB_LEN, HW_TXB_DATA };
enum hw_tx_bad hw_host_tx_check(const struct hw_dev *dev, const struct hw_pktbuf *p);
struct hw_pktbuf *hw_pkt_alloc(struct hw_dev *dev);
void hw_pkt_free(struct hw_dev *dev, struct hw_pktbuf *b);
int hw_queue_counters(struct hw_dev *dev, uint32_t q,
		      struct hw_queue_counters *c);

/* Attach a port to a Linux interface (AF_PACKET ring): frames received on
 * the interface enter the port, frames the port sends leave through it.
 * The port takes the interface's MTU (clamped to HW_MIN_MTU..HW_MAX_MTU). */
int hw_port_attach(struct hw_dev *dev, uint32_t port, const char *ifname);

/* pcap files. HW_PCAP_HOST as port: the slow-path packets. */
#define HW_PCAP_HOST 0xffffffffu
enum hw_pcap_dir { HW_PCAP_IN, HW_PCAP_OUT };
int hw_pcap_attach(struct hw_dev *dev, uint32_t port, enum hw_pcap_dir dir,
		   const char *path);
/* An attachment's counters: frames read or written, and frames lost
 * (output: the writer fell behind or the file failed; input: records the
 * port could not take). -ENOENT if there is no such attachment. */
struct hw_pcap_counters {
	uint64_t packets, drops, queued;
	int error; /* the file's first error (-errno), 0 if none */
};
int hw_pcap_counters(struct hw_dev *dev, uint32_t port, enum hw_pcap_dir dir,
		     struct hw_pcap_counters *c);

/* Run the pipeline in the caller (step mode): returns packets processed,
 * or -EBUSY when the device runs its own engine thread. */
int hw_run(struct hw_dev *dev, unsigned budget);

#endif
