/* SPDX-License-Identifier: MIT */
/*
 * hwsim internals shared by its files: the device, its ports and rings, the
 * host queues and buffer pool, and the attachments to Linux interfaces and
 * pcap files. Not seen outside hwsim/.
 */
#ifndef HWSIM_DEV_H
#define HWSIM_DEV_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "hwsim.h"
#include "packet.h"
#include "table.h"

#define LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define LOAD_RLX(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
/* Counters with one writer: a plain add that other threads read whole. */
#define STAT_ADD(x, v) __atomic_store_n(&(x), LOAD_RLX(&(x)) + (v), __ATOMIC_RELAXED)

#define HW_BURST 32

/* A port ring slot: the frame is copied in once and processed in place. */
struct hw_slot {
	uint32_t len;
	uint32_t port; /* control channel: the port it came in on or goes to */
	uint8_t buf[HW_HEADROOM + HW_MAX_FRAME];
};

/* Single-producer single-consumer ring of slots. */
struct hw_ring {
	struct hw_slot *slots;
	uint32_t mask;
	uint32_t head; /* consumer position */
	uint32_t tail; /* producer position */
};

/* Single-producer single-consumer ring of buffer pointers. */
struct hw_pring {
	struct hw_pktbuf **p;
	uint32_t mask;
	uint32_t head, tail;
};

struct hw_netdev;   /* an attached Linux interface (netdev.c) */
struct hw_pcap;     /* a pcap file attached to a port or the host (pcap.c) */

struct hw_port {
	enum hw_port_type type;
	uint8_t mac[6];
	int link;
	struct hw_ring rx, tx;
	struct hw_netdev *netdev; /* published with release; NULL if none */
	struct hw_pcap *pcap_in, *pcap_out;
	/* written by the pipeline */
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, misses, drops;
	uint64_t drops_action, drops_mtu, drops_bond_rx; /* each also in drops */
	uint64_t inject_drops; /* written by the injecting thread */
	uint32_t bond;         /* 1 + index of its bond, 0: none (atomic) */
	uint32_t mtu;          /* egress MTU (atomic; hw_emit enforces it) */
};

/* A bond's member list. The pipeline reads the one a bond publishes; a
 * writer fills the other, publishes it, and waits for the pipeline (hw_sync)
 * before it may write the first again (RCU-style, no lock on the data
 * path). Members are in the order they were added; enabled (LACP:
 * collecting and distributing) changes in place. Readers (hw_bond_pick,
 * hw_bond_may_rx) run inside a pipeline burst (dev->reader odd) or under
 * bond_lock. */
struct hw_bond_members {
	uint32_t n;
	uint32_t member[HW_BOND_MEMBERS];
	uint8_t enabled[HW_BOND_MEMBERS];
};

struct hw_bond {
	int used;
	enum hw_bond_mode mode;
	enum hw_bond_hash hash;
	enum hw_bond_lacp lacp;
	int failback;
	struct hw_bond_members set[2];
	uint32_t cur;                      /* the published set (atomic) */
	uint32_t active;                   /* active-backup; ~0u: none yet */
	struct hw_pcap *pcap_out; /* what any member sends (release; hw_emit) */
};

struct hw_hostq {
	struct hw_pring rx, tx;
	uint64_t rx_packets, rx_drops, tx_packets; /* written by the pipeline */
};

/* Buffer pool: a lock-free stack of buffer indices (tag + index in one
 * 64-bit word against ABA). */
struct hw_pool {
	uint8_t *mem;
	size_t stride;
	uint32_t n;
	uint32_t *next;
	uint64_t head;   /* tag << 32 | (index + 1); 0 = empty */
	uint32_t n_free; /* atomic */
};

struct hw_dev {
	struct hw_dev_cfg cfg;
	uint32_t n_ports;
	struct hw_port ports[HW_MAX_PORTS];
	uint32_t n_tables;
	struct hw_table *tables[HW_MAX_TABLES];
	struct hw_hostq *hostq; /* cfg.n_queues of them */
	struct hw_pool pool;
	struct hw_pcap *pcap_host; /* slow-path packets */
	struct hw_bond bonds[HW_MAX_BONDS];
	pthread_mutex_t bond_lock;  /* bond writers */
	struct hw_ring ctrl_rx, ctrl_tx; /* the control channel */
	uint32_t rr;          /* next port the pipeline serves */

	uint64_t reader;      /* odd while the pipeline is inside a burst */
	uint32_t paused;      /* > 0: bursts forward nothing (hw_pause) */
	pthread_t engine;
	int running;

	unsigned fail_count;  /* fault injection */
	int fail_err;
	uint64_t reject_ops;
	pthread_mutex_t fail_lock;
	pthread_mutex_t attach_lock; /* attach/detach of netdevs and pcaps */
	/* Per port: the host queues for its slow-path packets no flow names a
	 * queue for, first << 16 | n; 0: all (atomic; hostq_deliver). Read on
	 * the way up only: kept out of the ports' hot lines. */
	uint32_t rxq[HW_MAX_PORTS];
};

static inline struct hw_slot *ring_prod(struct hw_ring *r)
{
	uint32_t t = r->tail;

	if (t - LOAD_ACQ(&r->head) > r->mask)
		return NULL;
	return &r->slots[t & r->mask];
}

static inline void ring_push(struct hw_ring *r)
{
	STORE_REL(&r->tail, r->tail + 1);
}

static inline struct hw_slot *ring_cons(struct hw_ring *r)
{
	uint32_t h = r->head;

	if (h == LOAD_ACQ(&r->tail))
		return NULL;
	return &r->slots[h & r->mask];
}

static inline void ring_pop(struct hw_ring *r)
{
	STORE_REL(&r->head, r->head + 1);
}

/* Pointer rings. */
int pring_init(struct hw_pring *r, uint32_t size);
static inline int pring_put(struct hw_pring *r, struct hw_pktbuf *b)
{
	uint32_t t = r->tail;

	if (t - LOAD_ACQ(&r->head) > r->mask)
		return -1;
	r->p[t & r->mask] = b;
	STORE_REL(&r->tail, t + 1);
	return 0;
}

static inline struct hw_pktbuf *pring_get(struct hw_pring *r)
{
	uint32_t h = r->head;
	struct hw_pktbuf *b;

	if (h == LOAD_ACQ(&r->tail))
		return NULL;
	b = r->p[h & r->mask];
	STORE_REL(&r->head, h + 1);
	return b;
}

static inline uint32_t pring_count(const struct hw_pring *r)
{
	return LOAD_ACQ(&r->tail) - LOAD_ACQ(&r->head);
}

/* Pool (hostq.c). */
int pool_init(struct hw_pool *p, uint32_t n);
void pool_fini(struct hw_pool *p);
struct hw_pktbuf *pool_get(struct hw_pool *p);
void pool_put(struct hw_pool *p, struct hw_pktbuf *b);
int pool_owns(const struct hw_pool *p, const struct hw_pktbuf *b);
uint8_t *pool_buf_start(const struct hw_pool *p, const struct hw_pktbuf *b);
uint8_t *pool_buf_end(const struct hw_pool *p, const struct hw_pktbuf *b);

/* Host queues (hostq.c): the pipeline's side. */
/* Deliver a packet up to host queue @queue; ~0u: the queue of the flow
 * hash @hash (hw_flow_hash(), computed once by the caller) within
 * @rx_port's range (hw_port_set_rx_queues). */
void hostq_deliver(struct hw_dev *dev, const struct hw_pkt *pk,
		   enum hw_host_reason why, uint32_t table, uint32_t queue,
		   uint32_t rx_port, uint32_t hash);
/* Drain the transmit queues; returns packets taken. */
unsigned hostq_drain_tx(struct hw_dev *dev, unsigned budget, uint64_t now);

/* Pipeline (pipeline.c). */
void *hw_engine_main(void *arg);
void hw_process(struct hw_dev *dev, uint32_t port, uint8_t *data, uint32_t len,
		uint32_t headroom, uint64_t now);
void hw_process_burst(struct hw_dev *dev, uint32_t port, struct hw_pkt *pk,
		      unsigned n, uint64_t now);
void hw_emit(struct hw_dev *dev, uint32_t drop_port, uint32_t out,
	     const uint8_t *data, uint32_t len);
/* What the egress does with a finished frame (link down, MTU): the rule
 * hw_emit applies, for trace too. */
enum hw_why hw_egress_check(const struct hw_dev *dev, uint32_t out, const uint8_t *data,
			    uint32_t len);

/* Bonds (bond.c): the member a packet leaves by, or ~0u if none can take
 * it; and the frames of the control channel. */
uint32_t hw_bond_pick(struct hw_dev *dev, uint32_t bond_port, const struct hw_pkt *p);
/* The same choice, as a trace sees it: nothing recorded. */
uint32_t hw_bond_peek(struct hw_dev *dev, uint32_t bond_port, const struct hw_pkt *p);
int hw_bond_is_lacpdu(const struct hw_pkt *p);
/* A member's frames: protocol frames (IEEE 802.3 slow protocols, IEEE
 * 802.1 link-local group addresses) belong to the member itself; others
 * are the bond's only while the member may receive (active-backup: the
 * active member; 802.3ad: collecting). */
int hw_bond_is_protocol(const struct hw_pkt *p);
int hw_bond_may_rx(struct hw_dev *dev, uint32_t bond_index, uint32_t member);
void hw_ctrl_deliver(struct hw_dev *dev, uint32_t port, const struct hw_pkt *p);
unsigned hw_ctrl_drain_tx(struct hw_dev *dev);
int hw_ring_init(struct hw_ring *r, uint32_t size);

/* Attached interfaces (netdev.c). */
unsigned netdev_poll_rx(struct hw_dev *dev, struct hw_port *p, uint32_t port);
void netdev_flush_tx(struct hw_dev *dev, struct hw_port *p, uint32_t port);
void netdev_close(struct hw_netdev *nd);

/* pcap files (pcap.c). pcap_write only queues the frame for the file's
 * writer thread (or counts it dropped): it never waits. */
void pcap_write(struct hw_pcap *pc, const uint8_t *data, uint32_t len, uint64_t now);
unsigned pcap_feed(struct hw_dev *dev, struct hw_port *p, uint32_t port);
void pcap_file_close(struct hw_pcap *pc);
/* Ask an output file's writer to stop (its grace period starts now);
 * pcap_file_close then waits for it. Stopping all first and closing them
 * after makes the waits overlap. */
void pcap_file_stop(struct hw_pcap *pc);

/* The device's clock: CLOCK_MONOTONIC in nanoseconds. */
static inline uint64_t hw_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

#endif
