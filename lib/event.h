/* SPDX-License-Identifier: MIT */
/*
 * The device's event channel (event.c): what the rest of the core calls to
 * queue events. Every hook returns at once when nothing listens, never
 * sleeps, never sets dpak_errmsg(), and holds the channel's lock only to
 * copy one event (and, when the queue was empty, one eventfd write).
 *
 * Lock order: a table's lock, then the bonds' lock, then the channel's
 * lock; event.c takes no other lock while it holds its own.
 */
#ifndef DPAK_LIB_EVENT_H
#define DPAK_LIB_EVENT_H

#include <stdint.h>

struct dpak_dev;
struct dpak_table;
struct dpak_flow;

/* @t's in_use changed (a flow added, lost in a reset or restored): check
 * its occupancy marks. Under t->lock, after the change. */
void dpak__event_in_use(struct dpak_table *t);
/* Flow @f left @t (deleted, flushed): check the threshold and keep the aging
 * scan's place. Under t->lock, after f was unlinked and in_use changed,
 * before its record is reused. */
void dpak__event_flow_gone(struct dpak_table *t, struct dpak_flow *f);
/* A port's link may have changed: compare it with the last one seen. */
void dpak__event_link(struct dpak_dev *dev, uint32_t port);
/* A bond event (the bond monitor's, lib/bond.c): forward it. @type is an
 * enum dpak_bond_event_type, @state the LACP actor state. */
void dpak__event_bond(struct dpak_dev *dev, uint32_t bond, uint32_t member,
		      int type, uint32_t state);
/* Whether @f (with an idle timeout) has been idle that long at @now; its
 * last hit (0: never) into *last_hit. Under its table's lock (flow.c). */
int dpak__flow_idle(struct dpak_flow *f, uint64_t now, uint64_t *last_hit);
/* A device reset completed (@retried 0), or a retry brought flows a reset
 * lost back (@retried 1): @restored flows back, @not_restored still absent
 * in all tables. Under no table lock. */
void dpak__event_reset(struct dpak_dev *dev, uint64_t restored,
		       uint64_t not_restored, int retried);
/* Offer up to @max of @t's flows a reset lost to the device again, oldest
 * attempt first; returns how many it took back. Under t->lock (flow.c). */
uint32_t dpak__flow_retry_some(struct dpak_table *t, uint32_t max);
/* Stop the channel's thread and free it (dpak_dev_close, before the
 * tables go). */
void dpak__events_fini(struct dpak_dev *dev);

#endif
