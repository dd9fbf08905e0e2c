/* SPDX-License-Identifier: MIT */
/*
 * The device's event channel: one bounded queue of struct dpak_event and an
 * eventfd that is readable exactly while the queue holds events.
 *
 * Producers: the flow calls (table occupancy, under the table's lock), the
 * hwsim link call, the bond monitor, and a thread of the channel's own that
 * scans for aged flows and for link changes no call made. A producer holds
 * the channel's lock only to copy one event in; when the queue is full it
 * drops the event and counts it in a DPAK_EVENT_LOST event that takes the
 * queue's last slot, so the consumer always learns that it missed something.
 *
 * Aged flows: the thread walks each table's flows in chunks of EV_CHUNK
 * under the table's lock, releasing it between chunks, and keeps its place
 * across chunks (a deleted flow moves the place on). A flow is marked
 * reported only once its event is queued; while the queue is three quarters
 * full the scan stops and resumes where it stopped as soon as the consumer
 * has made room, so aged flows are delayed but never lost, and a burst of
 * them leaves room for the other events.
 *
 * Flows a device reset lost and the device refused back: each pass of the
 * thread offers up to EV_RETRY of them per table to the device again (one
 * hold of the table's lock), so a switch that only waits on the channel
 * gets them back without calling dpak_flow_aged() or dpak_flow_restore().
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "core.h"
#include "event.h"

#define EV_CHUNK 256               /* flows per hold of a table's lock */
#define EV_QUEUE_DEFAULT 4096
#define EV_QUEUE_MIN 16
#define EV_QUEUE_MAX 1048576
#define EV_SCAN_DEFAULT_MS 1000
#define EV_SCAN_MAX_MS 60000
#define EV_TYPES ((uint32_t)DPAK_EVENT_BIT(DPAK_EVENT_RESET + 1) - 1)
#define EV_RETRY 64                /* absent flows retried per table per pass */

struct ev_rec {
	struct dpak_event e;
	uint32_t flow_id;          /* FLOW_AGED: the flow's id when found */
};

struct ev_table {                  /* under the table's lock */
	uint32_t high, low;        /* marks; high 0: off */
	int above;
	int mid;                   /* the aging scan is inside this table */
	struct dpak_flow *cursor;  /* where it goes on (NULL: the end) */
};

struct dpak_events {
	pthread_mutex_t lock;      /* all below but tbl[] and scan_table */
	pthread_cond_t wake;       /* the thread: stop, or room again */
	pthread_cond_t ready;      /* the opener: the first pass is done */
	int passes;                /* passes since the channel opened (0 or more) */
	int open, fd;
	uint32_t types;            /* subscribed */
	struct ev_rec *q;
	uint32_t size, head, count;
	uint64_t lost;             /* dropped, all time */
	uint32_t scan_ms;
	int stop, kicked, waiting_room;
	int thread_started;
	pthread_t thread;
	uint32_t scan_table;       /* the thread's own */
	uint8_t *link;             /* last link seen, per port */
	struct ev_table tbl[CI_MAX_TABLES];
};

/* Creation and opening (rare) are serialised by one lock. */
static pthread_mutex_t make_lock = PTHREAD_MUTEX_INITIALIZER;

static struct dpak_events *events_of(struct dpak_dev *dev)
{
	return __atomic_load_n(&dev->events, __ATOMIC_ACQUIRE);
}

static int port_link(struct dpak_dev *dev, uint32_t port)
{
	struct dpak_port_info pi;

	memset(&pi, 0, sizeof(pi));
	pi.sz = sizeof(pi);
	return !dev->ops->port_info(dev->priv, port, &pi) && pi.link_up;
}

/* The channel's state, made once per device (not yet open). */
static int events_make(struct dpak_dev *dev, struct dpak_events **out)
{
	struct dpak_events *ev;
	pthread_condattr_t ca;

	if ((*out = events_of(dev)))
		return 0;
	pthread_mutex_lock(&make_lock);
	if ((*out = events_of(dev))) {
		pthread_mutex_unlock(&make_lock);
		return 0;
	}
	ev = calloc(1, sizeof(*ev));
	if (!ev || !(ev->link = calloc(dev->n_ports ? dev->n_ports : 1, 1))) {
		free(ev);
		pthread_mutex_unlock(&make_lock);
		return dpak__err(ENOMEM, "out of memory for the event channel");
	}
	ev->fd = -1;
	pthread_mutex_init(&ev->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&ev->wake, &ca);
	pthread_cond_init(&ev->ready, NULL);
	pthread_condattr_destroy(&ca);
	for (uint32_t p = 0; p < dev->n_ports; p++)
		ev->link[p] = (uint8_t)port_link(dev, p);
	__atomic_store_n(&dev->events, ev, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&make_lock);
	*out = ev;
	return 0;
}

/* Queue @r; the caller holds ev->lock. Returns 1 if queued; 0 if it is an
 * aged flow that found no room (the scan tries it again later); -1 if not
 * queued (not subscribed, or dropped and counted). */
static int push_locked(struct dpak_events *ev, const struct ev_rec *r)
{
	struct ev_rec lost;

	if (!ev->open || !(ev->types & DPAK_EVENT_BIT(r->e.type)))
		return -1;
	if (r->e.type == DPAK_EVENT_FLOW_AGED && ev->count >= ev->size - ev->size / 4)
		return 0;
	if (ev->count >= ev->size - 1) {
		/* Full but for the last slot, which says how many were lost. */
		struct ev_rec *last = &ev->q[(ev->head + ev->count - 1) % ev->size];
		ev->lost++;
		if (last->e.type == DPAK_EVENT_LOST) {
			last->e.lost++;
			return -1;
		}
		memset(&lost, 0, sizeof(lost));
		lost.e.type = DPAK_EVENT_LOST;
		lost.e.time_ns = r->e.time_ns;
		lost.e.lost = 1;
		r = &lost;
	}
	ev->q[(ev->head + ev->count) % ev->size] = *r;
	if (ev->count++ == 0 && eventfd_write(ev->fd, 1))
		(void)0; /* cannot fail: the counter is 0 or 1 */
	return r == &lost ? -1 : 1;
}

static void push(struct dpak_events *ev, const struct ev_rec *r)
{
	pthread_mutex_lock(&ev->lock);
	push_locked(ev, r);
	pthread_mutex_unlock(&ev->lock);
}

/* Occupancy of @t against its marks; under t->lock. */
static void occupancy(struct dpak_events *ev, struct dpak_table *t)
{
	struct ev_table *et = &ev->tbl[t->index];
	struct ev_rec r;

	if (!et->high)
		return;
	memset(&r, 0, sizeof(r));
	if (!et->above && t->in_use >= et->high) {
		et->above = 1;
		r.e.threshold = et->high;
	} else if (et->above && t->in_use < et->low) {
		et->above = 0;
		r.e.threshold = et->low;
	} else {
		return;
	}
	r.e.type = DPAK_EVENT_TABLE_OCCUPANCY;
	r.e.time_ns = dpak__now_ns();
	r.e.table = t;
	r.e.in_use = t->in_use;
	r.e.capacity = t->decl->capacity;
	r.e.above = et->above;
	push(ev, &r);
}

void dpak__event_in_use(struct dpak_table *t)
{
	struct dpak_events *ev = events_of(t->dev);

	if (ev)
		occupancy(ev, t);
}

void dpak__event_flow_gone(struct dpak_table *t, struct dpak_flow *f)
{
	struct dpak_events *ev = events_of(t->dev);
	struct ev_table *et;

	if (!ev)
		return;
	et = &ev->tbl[t->index];
	f->flags &= (uint8_t)~FLOW_F_AGED_EV; /* a queued event for it is stale */
	if (et->mid && et->cursor == f)
		et->cursor = f->next;
	occupancy(ev, t);
}

void dpak__event_link(struct dpak_dev *dev, uint32_t port)
{
	struct dpak_events *ev = events_of(dev);

	if (!ev || port >= dev->n_ports)
		return;
	/* Read under the lock: two callers cannot report one change twice,
	 * nor in the wrong order. */
	pthread_mutex_lock(&ev->lock);
	int up = port_link(dev, port);
	if (up != ev->link[port]) {
		struct ev_rec r;
		memset(&r, 0, sizeof(r));
		r.e.type = DPAK_EVENT_PORT_LINK;
		r.e.time_ns = dpak__now_ns();
		r.e.port = port;
		r.e.link_up = up;
		ev->link[port] = (uint8_t)up;
		push_locked(ev, &r);
	}
	pthread_mutex_unlock(&ev->lock);
}

void dpak__event_bond(struct dpak_dev *dev, uint32_t bond, uint32_t member,
		      int type, uint32_t state)
{
	struct dpak_events *ev = events_of(dev);
	struct ev_rec r;

	if (!ev)
		return;
	memset(&r, 0, sizeof(r));
	r.e.type = DPAK_EVENT_BOND;
	r.e.time_ns = dpak__now_ns();
	r.e.port = bond;
	r.e.bond_event = (enum dpak_bond_event_type)type;
	r.e.member = member;
	switch (type) {
	case DPAK_BOND_EV_LINK_UP:
		r.e.link_up = 1;
		break;
	case DPAK_BOND_EV_ACTIVE:
		r.e.member_in_use = 1;
		break;
	case DPAK_BOND_EV_LACP:
		r.e.lacp_state = state;
		r.e.member_in_use = (state & DPAK_LACP_DISTRIBUTING) != 0;
		break;
	}
	push(ev, &r);
}

void dpak__event_reset(struct dpak_dev *dev, uint64_t restored,
		       uint64_t not_restored, int retried)
{
	struct dpak_events *ev = events_of(dev);
	struct ev_rec r;

	if (!ev)
		return;
	memset(&r, 0, sizeof(r));
	r.e.type = DPAK_EVENT_RESET;
	r.e.time_ns = dpak__now_ns();
	r.e.restored = restored > UINT32_MAX ? UINT32_MAX : (uint32_t)restored;
	r.e.not_restored = not_restored > UINT32_MAX ? UINT32_MAX : (uint32_t)not_restored;
	r.e.retried = retried;
	push(ev, &r);
}

/* The pass's retry of flows a reset lost and the device refused back: at
 * most EV_RETRY per table, under its lock, then the lock goes. Flows it
 * brings back are reported in one DPAK_EVENT_RESET event. */
static void retry_absent(struct dpak_dev *dev)
{
	uint64_t back = 0, left = 0;

	for (uint32_t i = 0; i < dev->cfg.n_tables; i++) {
		struct dpak_table *t = &dev->tables[i];

		pthread_mutex_lock(&t->lock);
		if (t->n_absent)
			back += dpak__flow_retry_some(t, EV_RETRY);
		left += t->n_absent;
		pthread_mutex_unlock(&t->lock);
	}
	if (back)
		dpak__event_reset(dev, back, left, 1);
}

/* One step of the aging scan: on from where the last one stopped. Returns
 * 1 when it went through every table, 0 when it stopped for room. */
static int scan_aged(struct dpak_dev *dev, struct dpak_events *ev)
{
	while (ev->scan_table < dev->cfg.n_tables) {
		struct dpak_table *t = &dev->tables[ev->scan_table];
		struct ev_table *et = &ev->tbl[ev->scan_table];
		struct dpak_flow *f;
		uint64_t now;
		int full = 0;

		pthread_mutex_lock(&t->lock);
		now = dpak__now_ns();
		f = et->mid ? et->cursor : t->head;
		for (unsigned k = 0; f && k < EV_CHUNK; k++, f = f->next) {
			uint64_t last;
			if (!f->idle_ms || (f->flags & (FLOW_F_AGED_EV | FLOW_F_GONE)) ||
			    !dpak__flow_idle(f, now, &last))
				continue;
			struct ev_rec r;
			memset(&r, 0, sizeof(r));
			r.e.type = DPAK_EVENT_FLOW_AGED;
			r.e.time_ns = now;
			r.e.table = t;
			r.e.flow = f;
			r.e.cookie = f->cookie;
			r.e.last_hit_ns = last;
			r.e.idle_timeout_ms = f->idle_ms;
			r.flow_id = f->id;
			pthread_mutex_lock(&ev->lock);
			int q = push_locked(ev, &r);
			pthread_mutex_unlock(&ev->lock);
			if (!q) {
				full = 1;
				break;
			}
			if (q > 0)
				f->flags |= FLOW_F_AGED_EV;
		}
		et->cursor = f;
		et->mid = f != NULL;
		pthread_mutex_unlock(&t->lock);
		if (full)
			return 0;
		if (!f)
			ev->scan_table++;
		sched_yield(); /* let the flow calls waiting for the lock in */
	}
	ev->scan_table = 0;
	return 1;
}

static void *ev_thread(void *arg)
{
	struct dpak_dev *dev = arg;
	struct dpak_events *ev = events_of(dev);

	pthread_mutex_lock(&ev->lock);
	while (!ev->stop) {
		uint32_t types = ev->types;
		struct timespec ts;
		int done = 1;

		pthread_mutex_unlock(&ev->lock);
		/* a reset the device did by itself: its flows back first */
		if (dev->ops->reset_check)
			dpak__dev_recover_check(dev);
		for (uint32_t p = 0; p < dev->n_ports; p++)
			dpak__event_link(dev, p);
		retry_absent(dev);
		if (types & DPAK_EVENT_BIT(DPAK_EVENT_FLOW_AGED))
			done = scan_aged(dev, ev);
		clock_gettime(CLOCK_MONOTONIC, &ts);
		pthread_mutex_lock(&ev->lock);
		if (ev->passes++ == 0) /* dpak_event_open() returns now */
			pthread_cond_broadcast(&ev->ready);
		ts.tv_sec += ev->scan_ms / 1000;
		ts.tv_nsec += (long)(ev->scan_ms % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L)
			ts.tv_sec++, ts.tv_nsec -= 1000000000L;
		if (!done) { /* resume as soon as the consumer made room */
			ev->waiting_room = 1;
			if (ev->count <= ev->size / 2)
				ev->kicked = 1;
		}
		while (!ev->stop && !ev->kicked &&
		       pthread_cond_timedwait(&ev->wake, &ev->lock, &ts) != ETIMEDOUT)
			;
		ev->kicked = ev->waiting_room = 0;
	}
	pthread_mutex_unlock(&ev->lock);
	return NULL;
}

/* Open the channel; if it is open already: -EBUSY when @excl, else its fd. */
static int channel_open(struct dpak_dev *dev, uint32_t types, uint32_t size,
			uint32_t scan_ms, int excl)
{
	struct dpak_events *ev;
	struct ev_rec *q;
	int err, fd;

	if ((err = events_make(dev, &ev)))
		return err;
	pthread_mutex_lock(&make_lock);
	if (ev->open) {
		pthread_mutex_unlock(&make_lock);
		return excl ? dpak__err(EBUSY, "the event channel is open already "
					"(dpak_event_open, dpak_event_fd or "
					"dpak_event_subscribe opened it)") : ev->fd;
	}
	if (!(q = calloc(size, sizeof(*q)))) {
		pthread_mutex_unlock(&make_lock);
		return dpak__err(ENOMEM, "out of memory for %u events", size);
	}
	if ((fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
		err = dpak__err(errno, "eventfd: %s", strerror(errno));
		free(q);
		pthread_mutex_unlock(&make_lock);
		return err;
	}
	pthread_mutex_lock(&ev->lock);
	ev->q = q;
	ev->size = size;
	ev->head = ev->count = 0;
	ev->fd = fd;
	ev->types = types;
	ev->scan_ms = scan_ms;
	ev->passes = 0;
	for (uint32_t p = 0; p < dev->n_ports; p++) /* changes from now on */
		ev->link[p] = (uint8_t)port_link(dev, p);
	ev->open = 1;
	pthread_mutex_unlock(&ev->lock);
	if (pthread_create(&ev->thread, NULL, ev_thread, dev)) {
		pthread_mutex_lock(&ev->lock);
		ev->open = 0;
		ev->q = NULL;
		ev->count = 0;
		ev->fd = -1;
		pthread_mutex_unlock(&ev->lock);
		close(fd);
		free(q);
		pthread_mutex_unlock(&make_lock);
		return dpak__err(EAGAIN, "cannot start the event channel's thread");
	}
	ev->thread_started = 1;
	/* The first pass (links, retries, aged flows) is done before the
	 * channel is handed out: whatever had happened by then is queued, and
	 * nothing the caller does next races with it. */
	pthread_mutex_lock(&ev->lock);
	while (!ev->passes && !ev->stop)
		pthread_cond_wait(&ev->ready, &ev->lock);
	pthread_mutex_unlock(&ev->lock);
	pthread_mutex_unlock(&make_lock);
	return fd;
}

DPAK_API int dpak_event_open(struct dpak_dev *dev, const struct dpak_event_opts *opts)
{
	uint32_t types, size, scan;
	int err;

	if (!dev)
		return dpak__err(EINVAL, "dev: NULL");
	if ((err = dpak__opts_check(opts, sizeof(*opts), "dpak_event_opts")))
		return err;
	types = DPAK_OPT(opts, types, 0u);
	size = DPAK_OPT(opts, queue_size, 0u);
	scan = DPAK_OPT(opts, scan_interval_ms, 0u);
	if (types & ~EV_TYPES)
		return dpak__err(EINVAL, "opts: types=%#x: bits of unknown event "
				 "types (known: %#x)", types, EV_TYPES);
	if (size && (size < EV_QUEUE_MIN || size > EV_QUEUE_MAX))
		return dpak__err(EINVAL, "opts: queue_size=%u; %u to %u", size,
				 EV_QUEUE_MIN, EV_QUEUE_MAX);
	if (scan > EV_SCAN_MAX_MS)
		return dpak__err(EINVAL, "opts: scan_interval_ms=%u; 1 to %u", scan,
				 EV_SCAN_MAX_MS);
	return channel_open(dev, types ? types : EV_TYPES,
			    size ? size : EV_QUEUE_DEFAULT,
			    scan ? scan : EV_SCAN_DEFAULT_MS, 1);
}

DPAK_API int dpak_event_fd(struct dpak_dev *dev)
{
	if (!dev)
		return dpak__err(EINVAL, "dev: NULL");
	return channel_open(dev, EV_TYPES, EV_QUEUE_DEFAULT, EV_SCAN_DEFAULT_MS, 0);
}

DPAK_API int dpak_event_subscribe(struct dpak_dev *dev, uint32_t types)
{
	struct dpak_events *ev;
	int err;

	if (!dev)
		return dpak__err(EINVAL, "dev: NULL");
	if (types & ~EV_TYPES)
		return dpak__err(EINVAL, "types=%#x: bits of unknown event types "
				 "(known: %#x)", types, EV_TYPES);
	if ((err = channel_open(dev, EV_TYPES, EV_QUEUE_DEFAULT,
				EV_SCAN_DEFAULT_MS, 0)) < 0)
		return err;
	ev = events_of(dev);
	pthread_mutex_lock(&ev->lock);
	ev->types = types;
	pthread_mutex_unlock(&ev->lock);
	return 0;
}

/* An aged flow's event still names the flow found: not deleted since. */
static int flow_still(const struct ev_rec *r)
{
	struct dpak_table *t = r->e.table;
	struct dpak_flow *f = r->e.flow;
	int ok;

	pthread_mutex_lock(&t->lock);
	/* A deleted flow's record stays allocated until dpak_dev_close();
	 * flow_gone cleared its mark, and a reused one has a new id. */
	ok = (f->flags & FLOW_F_AGED_EV) && f->id == r->flow_id && f->table == t;
	pthread_mutex_unlock(&t->lock);
	return ok;
}

DPAK_API int dpak_event_next(struct dpak_dev *dev, struct dpak_event *out)
{
	struct dpak_events *ev;
	struct ev_rec r;
	size_t sz;

	if (!dev || !out)
		return dpak__err(EINVAL, "dev or ev: NULL");
	memcpy(&sz, out, sizeof(sz));
	if (sz < sizeof(size_t))
		return dpak__err(EINVAL, "struct dpak_event: set sz to "
				 "sizeof(struct dpak_event) first");
	if (!(ev = events_of(dev)))
		return 0;
	for (;;) {
		pthread_mutex_lock(&ev->lock);
		if (!ev->count) {
			pthread_mutex_unlock(&ev->lock);
			return 0;
		}
		r = ev->q[ev->head];
		ev->head = (ev->head + 1) % ev->size;
		if (--ev->count == 0) {
			eventfd_t v;
			if (eventfd_read(ev->fd, &v)) /* not readable from now on */
				(void)0;
		}
		if (ev->waiting_room && ev->count <= ev->size / 2) {
			ev->waiting_room = 0;
			ev->kicked = 1;
			pthread_cond_signal(&ev->wake);
		}
		pthread_mutex_unlock(&ev->lock);
		if (r.e.type == DPAK_EVENT_FLOW_AGED && !flow_still(&r))
			continue; /* deleted meanwhile: nothing to report */
		dpak__out(out, &r.e, sizeof(r.e), "dpak_event");
		return 1;
	}
}

DPAK_API int dpak_table_set_threshold(struct dpak_table *t, uint32_t high,
				      uint32_t low)
{
	struct dpak_events *ev;
	int err;

	if (!t)
		return dpak__err(EINVAL, "table: NULL");
	if (high > t->decl->capacity)
		return dpak__err(EINVAL, "high mark %u: more than table %s holds "
				 "(capacity %u)", high, t->decl->name,
				 t->decl->capacity);
	if (!high)
		low = 0;
	else if (!low)
		low = high;
	if (low > high)
		return dpak__err(EINVAL, "low mark %u is above the high mark %u "
				 "(table %s)", low, high, t->decl->name);
	if ((err = events_make(t->dev, &ev)))
		return err;
	pthread_mutex_lock(&t->lock);
	ev->tbl[t->index].high = high;
	ev->tbl[t->index].low = low;
	ev->tbl[t->index].above = 0;
	occupancy(ev, t); /* already above: say so now */
	pthread_mutex_unlock(&t->lock);
	return 0;
}

void dpak__events_fini(struct dpak_dev *dev)
{
	struct dpak_events *ev = dev->events;

	if (!ev)
		return;
	if (ev->thread_started) {
		pthread_mutex_lock(&ev->lock);
		ev->stop = 1;
		pthread_cond_signal(&ev->wake);
		pthread_mutex_unlock(&ev->lock);
		pthread_join(ev->thread, NULL);
	}
	if (ev->fd >= 0)
		close(ev->fd);
	pthread_cond_destroy(&ev->wake);
	pthread_cond_destroy(&ev->ready);
	pthread_mutex_destroy(&ev->lock);
	free(ev->q);
	free(ev->link);
	free(ev);
	dev->events = NULL;
}
