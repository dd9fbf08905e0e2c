/* SPDX-License-Identifier: MIT */
/**
 * @file queue.h
 * @brief Host queues: the slow path between the device and the switch.
 *
 * Packets that the device does not forward by itself (a table miss, a
 * DPAK_ACTION_QUEUE, an expired TTL) arrive on receive queues with
 * metadata. The switch sends packets out of any port, or back into the
 * device's pipeline, through transmit queues.
 *
 * Packet buffers come from a pool the library manages, sized at open time
 * (struct dpak_dev_opts). Nothing is allocated and no lock is taken per
 * packet.
 *
 * Threads: each receive queue and each transmit queue is served by one
 * thread at a time (queue i by thread i, typically); different queues may
 * be served by different threads at once. dpak_pkt_alloc() and
 * dpak_pkt_free() are safe from any thread.
 */
#ifndef DPAK_QUEUE_H
#define DPAK_QUEUE_H

#include <dpak/device.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Why a packet came up to the host. */
enum dpak_rx_reason {
	DPAK_RX_MISS = 0,   /**< it matched no flow (table: where it missed) */
	DPAK_RX_ACTION = 1, /**< a flow's DPAK_ACTION_QUEUE sent it */
	DPAK_RX_TTL = 2,    /**< DPAK_ACTION_DEC_TTL found the TTL expired */
	DPAK_RX_PROTOCOL = 3, /**< a protocol frame for the switch: an LACPDU on a
				   bond member whose LACP the switch runs (port: the member) */
};

/** Where a transmitted packet goes (struct dpak_pkt tx_flags). */
enum dpak_tx_flags {
	DPAK_TX_PORT = 0,     /**< out of port @ref dpak_pkt::port, as is */
	DPAK_TX_PIPELINE = 1, /**< through the device's tables, as if received
				   on port @ref dpak_pkt::port */
};

/**
 * A packet buffer. Only the fields documented for a direction are
 * meaningful in it; the layout is frozen (new fields go into reserved
 * space).
 */
struct dpak_pkt {
	uint8_t *data;     /**< the frame (within the buffer, after headroom) */
	uint32_t len;      /**< frame length in bytes */
	uint32_t port;     /**< rx: port it arrived on; tx: port to send to or to enter by */
	uint32_t mark;     /**< rx: mark set by a flow (0 if none) */
	uint16_t reason;   /**< rx: enum dpak_rx_reason */
	uint16_t table;    /**< rx: index of the table it missed in or was sent from */
	uint32_t hash;     /**< rx: flow hash that chose the queue */
	uint16_t tx_flags; /**< tx: enum dpak_tx_flags */
	uint16_t rsvd0;    /**< reserved, 0 */
	uint32_t buf_len;  /**< room from data to the end of the buffer */
	uint64_t rsvd[4];  /**< reserved for the library */
};

/**
 * Receive up to @p n packets from a receive queue.
 *
 * The caller owns the packets returned: it passes each to dpak_tx_burst()
 * or dpak_pkt_free().
 *
 * @param dev   the device.
 * @param queue receive queue, 0 .. rx_queues-1.
 * @param pkts  room for @p n packet pointers.
 * @param n     most packets to take.
 * @return the number received (0 .. n), or -EINVAL (bad queue), or
 *         -EOPNOTSUPP (the backend has no host queues).
 * @par Thread safety
 * One thread at a time per queue.
 */
DPAK_API int dpak_rx_burst(struct dpak_dev *dev, uint16_t queue,
			   struct dpak_pkt **pkts, uint16_t n);

/**
 * Send up to @p n packets through a transmit queue.
 *
 * Each packet goes where its port and tx_flags say. Packets accepted
 * belong to the library again; those not accepted (the queue is full)
 * stay the caller's, who may retry or free them.
 *
 * @param dev   the device.
 * @param queue transmit queue, 0 .. tx_queues-1.
 * @param pkts  the packets.
 * @param n     their number.
 * @return the number accepted (the first ones, 0 .. n), or -EINVAL (bad
 *         queue, or a packet with a bad port, length or flag: none taken).
 * @par Thread safety
 * One thread at a time per queue.
 */
DPAK_API int dpak_tx_burst(struct dpak_dev *dev, uint16_t queue,
			   struct dpak_pkt **pkts, uint16_t n);

/**
 * Take an empty buffer from the pool, to build a packet to transmit.
 *
 * @return a packet with len 0 and data at the default headroom, or NULL
 *         with errno ENOBUFS (pool empty), EINVAL (NULL) or EOPNOTSUPP (the
 *         backend has no host queues).
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API struct dpak_pkt *dpak_pkt_alloc(struct dpak_dev *dev);

/**
 * Give a packet back to the pool.
 *
 * @param dev the device it came from.
 * @param pkt the packet; NULL is ignored.
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API void dpak_pkt_free(struct dpak_dev *dev, struct dpak_pkt *pkt);

/** Queue and pool counters (see dpak_queue_stats()). */
struct dpak_queue_stats {
	size_t sz;            /**< set by the caller */
	uint64_t rx_packets;  /**< packets delivered to the receive queue */
	uint64_t rx_drops;    /**< packets for it dropped: queue full or no buffer */
	uint64_t tx_packets;  /**< packets taken from the transmit queue */
	uint32_t rx_depth;    /**< packets waiting in the receive queue now */
	uint32_t tx_depth;    /**< packets waiting in the transmit queue now */
	uint32_t pool_size;   /**< buffers in the device's pool */
	uint32_t pool_free;   /**< of which free now */
};

/**
 * Read a queue's counters and the pool's occupancy.
 *
 * @param dev   the device.
 * @param queue queue index (receive and transmit queue of that number).
 * @param st    filled; the caller sets st->sz first.
 * @return 0, -EINVAL or -EOPNOTSUPP.
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_queue_stats(struct dpak_dev *dev, uint16_t queue,
			      struct dpak_queue_stats *st);

/**
 * Steer a port's slow-path packets to a range of receive queues.
 *
 * Packets that arrive on @p port and go up to the host without a queue
 * named by a flow (a table miss, DPAK_RX_TTL from DPAK_ACTION_DEC_TTL, a
 * protocol frame: reasons DPAK_RX_MISS, DPAK_RX_TTL, DPAK_RX_PROTOCOL) go
 * to the receive queues @p first .. @p first + @p n - 1, the queue chosen
 * by the flow hash (dpak_pkt hash) modulo @p n, so that one flow stays on
 * one queue. Packets a flow sends with DPAK_ACTION_QUEUE or
 * DPAK_ACTION_RSS go where the flow says. @p n 0 restores the default:
 * all the device's receive queues. The port is the one the packet arrived
 * on (a bond member's own id, not its bond's).
 *
 * A DPDK-style driver gives each port its own range, so that the threads
 * polling different ports never share a queue.
 *
 * @param dev   the device.
 * @param port  a port id, 0 .. n_ports-1 (dpak_dev_info()).
 * @param first the first queue of the range.
 * @param n     number of queues in the range; 0: all queues (the
 *              default; @p first is then only checked, not used).
 * @return 0; -EINVAL (NULL dev, no such port, or @p first + @p n beyond
 *         the device's receive queues; dpak_errmsg() names which),
 *         -EOPNOTSUPP (a backend without host queues). A failed call
 *         changes nothing.
 * @par Thread safety
 * Safe from any thread, while the device forwards: it takes effect for
 * packets processed after it returns; the data path takes no lock for it.
 * @since 0.2.0
 */
DPAK_API int dpak_port_set_rx_queues(struct dpak_dev *dev, uint32_t port,
				     uint16_t first, uint16_t n);

#ifdef __cplusplus
}
#endif
#endif /* DPAK_QUEUE_H */
