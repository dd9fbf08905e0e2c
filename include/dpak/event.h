/* SPDX-License-Identifier: MIT */
/**
 * @file event.h
 * @brief The device's event channel: one queue and one file descriptor a
 *        switch waits on for aged flows, table occupancy, port links and
 *        bonds.
 *
 * The device and the library change state by themselves: a flow goes idle,
 * a table fills up, a link drops, a bond fails over. Each such change is an
 * event, queued on the device's one event channel. The channel has a file
 * descriptor (an eventfd) that is readable, level-triggered, exactly while
 * events wait, so a switch puts it in its poll() or epoll set next to its
 * other descriptors and takes events with dpak_event_next() when it wakes:
 *
 *     int fd = dpak_event_open(dev, NULL);           // every event type
 *     dpak_table_set_threshold(dpak_table_get(dev, "conn"), 900000, 800000);
 *     for (;;) {
 *         struct pollfd pfd = { fd, POLLIN, 0 };
 *         poll(&pfd, 1, -1);
 *         struct dpak_event ev = { .sz = sizeof(ev) };
 *         while (dpak_event_next(dev, &ev) == 1)
 *             switch (ev.type) {
 *             case DPAK_EVENT_FLOW_AGED: dpak_flow_del(ev.flow); break;
 *             case DPAK_EVENT_LOST:      resync(); break;
 *             ...
 *             }
 *     }
 *
 * Nothing on the data path or the flow path waits for the channel: the
 * queue is bounded (dpak_event_opts.queue_size) and a producer that finds
 * it full drops its event and counts it; the consumer then reads one
 * DPAK_EVENT_LOST event carrying the number dropped, its sign to read the
 * state again (dpak_table_info(), dpak_port_info(), dpak_bond_member_info()).
 * Aged flows are never dropped: the scan that finds them leaves them for
 * its next pass while the queue is three quarters full.
 *
 * The calls of this header are in the DPAK_0.2 version node.
 */
#ifndef DPAK_EVENT_H
#define DPAK_EVENT_H

#include <dpak/device.h>
#include <dpak/flow.h>
#include <dpak/bond.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Event types. New types are appended; a switch ignores types it does not know. */
enum dpak_event_type {
	/** Events were dropped because the queue was full (dpak_event::lost
	 *  says how many): state may have changed unseen; read it again.
	 *  Always delivered, whatever the subscription. */
	DPAK_EVENT_LOST = 0,
	/** A flow with an idle timeout went that long without a hit
	 *  (dpak_event::flow, ::cookie, ::table, ::last_hit_ns,
	 *  ::idle_timeout_ms). Reported once per flow; the flow stays in the
	 *  device until the switch deletes it. */
	DPAK_EVENT_FLOW_AGED = 1,
	/** A table's occupancy crossed the threshold the switch set with
	 *  dpak_table_set_threshold() (dpak_event::table, ::in_use,
	 *  ::capacity, ::threshold, ::above). */
	DPAK_EVENT_TABLE_OCCUPANCY = 2,
	/** A port's link went up or down (dpak_event::port, ::link_up): one
	 *  of the device's own ports; a bond's members are reported as
	 *  DPAK_EVENT_BOND events. */
	DPAK_EVENT_PORT_LINK = 3,
	/** A bond changed by itself: a member's link, the active member, a
	 *  member's LACP state (dpak_event::port is the bond,
	 *  ::bond_event says what changed, ::member which member; the same
	 *  changes dpak_bond_event_next() reports). */
	DPAK_EVENT_BOND = 4,
	/** The device was reset and the library added its flows back
	 *  (dpak_event::restored of them; ::not_restored it could not, in the
	 *  state DPAK_FLOW_NOT_RESTORED), with ::retried 0; or a later retry
	 *  brought flows a reset had lost back into the device (::retried 1,
	 *  ::restored those it brought back, ::not_restored those still
	 *  absent). Flows not restored are retried by the library (see
	 *  dpak_flow_state()); when ::not_restored is 0 every flow is back.
	 *  @since 0.2.0 */
	DPAK_EVENT_RESET = 5,
};

/** The bit of @p type in a subscription mask (dpak_event_opts::types,
 *  dpak_event_subscribe()). */
#define DPAK_EVENT_BIT(type) (1u << (type))

/**
 * One event, written by dpak_event_next().
 *
 * The caller sets @c sz (to sizeof(struct dpak_event)); the library writes
 * no byte beyond it and zeroes the members it does not know. Members are
 * grouped by the event types that use them and are 0 in events of other
 * types. New members are appended, so the struct grows without breaking
 * programs built against an older one.
 */
struct dpak_event {
	size_t sz;                   /**< set by the caller */
	enum dpak_event_type type;   /**< what happened */
	uint64_t time_ns;            /**< CLOCK_MONOTONIC time the change was seen */

	/* DPAK_EVENT_LOST */
	uint64_t lost;               /**< LOST: events dropped since the last LOST */

	/* DPAK_EVENT_FLOW_AGED, DPAK_EVENT_TABLE_OCCUPANCY */
	struct dpak_table *table;    /**< the table */

	/* DPAK_EVENT_FLOW_AGED */
	struct dpak_flow *flow;      /**< the flow; it exists when dpak_event_next()
					  returns (an aged flow deleted before then is
					  not reported) and until it is deleted */
	uint64_t cookie;             /**< its dpak_flow_opts::cookie */
	uint64_t last_hit_ns;        /**< CLOCK_MONOTONIC time of its last hit; 0: never hit */
	uint32_t idle_timeout_ms;    /**< its dpak_flow_opts::idle_timeout_ms */

	/* DPAK_EVENT_TABLE_OCCUPANCY */
	uint32_t in_use;             /**< flows in the table after the change */
	uint32_t capacity;           /**< the table's capacity */
	uint32_t threshold;          /**< the mark crossed: high going up, low going down */
	int above;                   /**< 1: in_use reached the high mark; 0: fell below the low mark */

	/* DPAK_EVENT_PORT_LINK, DPAK_EVENT_BOND */
	uint32_t port;               /**< PORT_LINK: the port; BOND: the bond's port id */
	int link_up;                 /**< PORT_LINK, and BOND link events: the link now */

	/* DPAK_EVENT_BOND */
	enum dpak_bond_event_type bond_event; /**< what changed in the bond */
	uint32_t member;             /**< the member concerned (ACTIVE: the new active one) */
	int member_in_use;           /**< ACTIVE, LACP: 1 if the device now sends on the member */
	uint32_t lacp_state;         /**< LACP: the member's actor state (enum dpak_lacp_state bits) */

	/* DPAK_EVENT_RESET */
	uint32_t restored;           /**< RESET: flows added back into the device (by the
					  reset's restore, or by this retry) */
	uint32_t not_restored;       /**< RESET: flows still not in the device, all tables
					  (dpak_table_info() not_restored, summed) */
	int retried;                 /**< RESET: 0: a reset completed; 1: a later retry
					  brought flows back */
};

/** Options for dpak_event_open(); declare with DPAK_OPTS(). */
struct dpak_event_opts {
	size_t sz;                 /**< sizeof(struct dpak_event_opts) */
	uint32_t types;            /**< DPAK_EVENT_BIT() of each type to queue; 0: every type */
	uint32_t queue_size;       /**< events the queue holds, 16 to 1048576; 0: 4096 */
	uint32_t scan_interval_ms; /**< period of the library's scan for aged flows and
				        link changes, 1 to 60000; 0: 1000 */
};

/**
 * Open the device's event channel.
 *
 * From this call on, the events of the subscribed types are queued; the
 * thread's first pass (below) has run when it returns, so flows that had
 * aged and link changes made before the call are queued by then. If
 * DPAK_EVENT_FLOW_AGED is among them, a thread of the library's scans the
 * flows with an idle timeout every @c scan_interval_ms, in chunks of 256
 * flows under their table's lock (see docs/DATAPATH.md, "Events"); an aged
 * flow is reported between its idle timeout and its idle timeout plus one
 * scan interval and the time a pass takes. The same thread also notices
 * link changes that no call of the library made, and on each pass offers
 * the device again up to 64 flows per table that a reset lost and the
 * device refused back (DPAK_EVENT_RESET reports those it takes; the
 * thread runs whatever the subscription). Link changes made by
 * dpak_hwsim_set_link(), table occupancy, LACP state set by
 * dpak_bond_member_set_state() and a device reset (dpak_hwsim_reset())
 * are queued before the call that made them returns.
 *
 * The channel stays open until dpak_dev_close().
 *
 * @param dev  the device.
 * @param opts NULL for defaults.
 * @return the channel's file descriptor (>= 0; owned by the library, valid
 *         until dpak_dev_close(); do not read or close it), or -EINVAL (bad
 *         option, named in dpak_errmsg()), -EBUSY (already open), -ENOMEM,
 *         -EMFILE, -EAGAIN (no thread).
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_event_open(struct dpak_dev *dev,
			     const struct dpak_event_opts *opts);

/**
 * The event channel's file descriptor, for poll() or epoll (EPOLLIN).
 *
 * It is readable exactly while events wait (level-triggered): a wake-up
 * that dpak_event_next() answers with 0 cannot happen unless another thread
 * took the events first. With EPOLLET, take events until dpak_event_next()
 * returns 0 before waiting again. Opens the channel with default options if
 * it is not open yet.
 *
 * @return the descriptor (owned by the library, valid until
 *         dpak_dev_close(); do not read or close it), or a negative errno
 *         as dpak_event_open().
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_event_fd(struct dpak_dev *dev);

/**
 * Take the oldest event.
 *
 * Never blocks. Events come in the order they were queued.
 *
 * @param dev the device.
 * @param ev  written; the caller sets ev->sz first.
 * @return 1 (an event was written), 0 (none waits, or the channel is not
 *         open), or -EINVAL (NULL, or ev->sz not set).
 * @par Thread safety
 * Safe from any thread: each event goes to one caller. For events in order,
 * take them from one thread.
 */
DPAK_API int dpak_event_next(struct dpak_dev *dev, struct dpak_event *ev);

/**
 * Choose the event types to queue.
 *
 * Replaces the subscription: from now on only events of the types in
 * @p types are queued (DPAK_EVENT_LOST always is). Events already queued
 * stay. The library keeps following link and occupancy state for the types
 * left out, so subscribing again reports changes from then on, not old
 * ones; aged flows found while DPAK_EVENT_FLOW_AGED was left out are
 * reported once it is back. Opens the channel with default options if it
 * is not open yet.
 *
 * @param dev   the device.
 * @param types DPAK_EVENT_BIT() of each type; 0 for none.
 * @return 0, -EINVAL (a bit of a type this library does not know), or a
 *         negative errno as dpak_event_open().
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_event_subscribe(struct dpak_dev *dev, uint32_t types);

/**
 * Ask for an event when a table's occupancy crosses a threshold.
 *
 * When the number of flows in the table rises to @p high, a
 * DPAK_EVENT_TABLE_OCCUPANCY event with above = 1 is queued; once it then
 * falls below @p low, one with above = 0. Between the two marks nothing is
 * reported, so a table whose occupancy hovers at a mark does not flood the
 * queue. If the table already holds @p high flows or more when this is
 * called, an above = 1 event is queued at once. Occupancy is checked at
 * each change, by the calls that make it (add, batch, delete, flush, and a
 * device reset or dpak_flow_restore(): a flow a reset lost and the device
 * did not take back is not in in_use).
 *
 * @param table the table.
 * @param high  the high mark, 1 to the table's capacity; 0 switches the
 *              events of this table off.
 * @param low   the low mark, 1 to @p high; 0 means @p high (no hysteresis).
 * @return 0, or -EINVAL (naming the mark out of range in dpak_errmsg()),
 *         -ENOMEM.
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_table_set_threshold(struct dpak_table *table, uint32_t high,
				      uint32_t low);

#ifdef __cplusplus
}
#endif
#endif /* DPAK_EVENT_H */
