/* SPDX-License-Identifier: MIT */
/*
 * Bonds in the core: the API, the events, and LACP (IEEE 802.1AX) for bonds
 * whose LACP runs in the library.
 *
 * The device does the data-path part alone (member choice, failover). A
 * monitor thread of the library's, started with the first bond, watches
 * member links and the active member, queues events for the switch, and
 * runs LACP: it reads LACPDUs from the device's control channel, keeps the
 * partner's information, moves each member to collecting and distributing
 * (and tells the device to use it) or back, and sends LACPDUs at the rate
 * the partner asks for, and at once when its own state changes.
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "core.h"
#include "bond.h"
#include "event.h"

#define EV_RING 256
#define TICK_NS (20 * 1000000ull)
#define FAST_NS 1000000000ull            /* Fast_Periodic_Time */
#define SLOW_NS 30000000000ull           /* Slow_Periodic_Time */
#define SHORT_TIMEOUT_NS 3000000000ull   /* Short_Timeout_Time */
#define LONG_TIMEOUT_NS 90000000000ull   /* Long_Timeout_Time */

/* sizeof(struct dpak_bond_opts) in 0.1.0: up to no_failback. */
#define BOND_OPTS_SZ_0_1_0                                                      \
	((offsetof(struct dpak_bond_opts, no_failback) + sizeof(int) +          \
	  _Alignof(struct dpak_bond_opts) - 1) & ~(_Alignof(struct dpak_bond_opts) - 1))

static struct dpak_bond *bond_at(struct dpak_dev *dev, uint32_t port)
{
	if (port < dev->n_ports || port >= dev->n_ports + DPAK_MAX_BONDS)
		return NULL;
	struct dpak_bond *b = &dev->bonds->b[port - dev->n_ports];
	return b->used ? b : NULL;
}

static struct dpak_bonds *bonds_of(struct dpak_dev *dev)
{
	return __atomic_load_n(&dev->bonds, __ATOMIC_ACQUIRE);
}

int dpak__bond_members(struct dpak_dev *dev, uint32_t bond, uint32_t *ports, char *name)
{
	struct dpak_bonds *bs = bonds_of(dev);
	struct dpak_bond *b;
	int n = -ENOENT;

	if (!bs)
		return n;
	pthread_mutex_lock(&bs->lock);
	if ((b = bond_at(dev, bond))) {
		for (uint32_t k = 0; k < b->n; k++)
			ports[k] = b->m[k].port;
		n = (int)b->n;
		snprintf(name, 16, "%s", b->name);
	}
	pthread_mutex_unlock(&bs->lock);
	return n;
}

int dpak__port_exists(struct dpak_dev *dev, uint32_t port)
{
	struct dpak_bonds *bs;

	if (port < dev->n_ports)
		return 1;
	if (!(bs = bonds_of(dev)))
		return 0;
	pthread_mutex_lock(&bs->lock);
	int ok = bond_at(dev, port) != NULL;
	pthread_mutex_unlock(&bs->lock);
	return ok;
}

/* The bond port of each port op of an action block. */
#define FOR_BOND_PORTS(dev, act, len, port)                                    \
	for (uint32_t o_ = 0; o_ + 4 <= (len) && (act)[o_ + 1] >= 2; o_ += (act)[o_ + 1]) \
		if ((act)[o_] == PK_OP_PORT &&                                 \
		    ((port) = (uint32_t)((act)[o_ + 2] << 8 | (act)[o_ + 3])) >= (dev)->n_ports)

int dpak__bond_ref(struct dpak_dev *dev, const uint8_t *act, uint32_t len, int delta)
{
	struct dpak_bonds *bs = bonds_of(dev);
	uint32_t port;

	if (!bs)
		return 0;
	pthread_mutex_lock(&bs->lock);
	if (delta > 0) /* a bond destroyed since the flow was checked? */
		FOR_BOND_PORTS(dev, act, len, port)
			if (!bond_at(dev, port)) {
				pthread_mutex_unlock(&bs->lock);
				return dpak__err(ENOENT, "port %u does not exist (its bond "
						 "was destroyed meanwhile)", port);
			}
	FOR_BOND_PORTS(dev, act, len, port)
		if (port < dev->n_ports + DPAK_MAX_BONDS)
			bs->b[port - dev->n_ports].flows += (uint32_t)delta;
	pthread_mutex_unlock(&bs->lock);
	return 0;
}

/* Events. */

static void push_event(struct dpak_bonds *bs, uint32_t bond, uint32_t member,
		       enum dpak_bond_event_type type, uint32_t state)
{
	uint64_t one = 1;

	pthread_mutex_lock(&bs->ev_lock);
	if (bs->ev_tail - bs->ev_head == EV_RING) {
		bs->ev_head++;
		bs->ev_lost++;
	}
	bs->ev[bs->ev_tail++ % EV_RING] = (struct dpak_bond_event){
		bond, member, type, state, dpak__now_ns() };
	pthread_mutex_unlock(&bs->ev_lock);
	if (write(bs->evfd, &one, sizeof(one)) < 0)
		(void)0; /* the counter is full: readable anyway */
	dpak__event_bond(bs->dev, bond, member, (int)type, state);
}

DPAK_API int dpak_bond_event_next(struct dpak_dev *dev, struct dpak_bond_event *ev)
{
	struct dpak_bonds *bs;
	int got = 0;

	if (!dev || !ev)
		return dpak__err(EINVAL, "dev or ev: NULL");
	if (!(bs = bonds_of(dev)))
		return 0;
	pthread_mutex_lock(&bs->ev_lock);
	if (bs->ev_head != bs->ev_tail) {
		*ev = bs->ev[bs->ev_head++ % EV_RING];
		got = 1;
	}
	if (bs->ev_lost) {
		dpak__err(0, "%llu bond events were dropped (queue full)",
			  (unsigned long long)bs->ev_lost);
		bs->ev_lost = 0;
	}
	pthread_mutex_unlock(&bs->ev_lock);
	return got;
}

/* LACP. */

static void lacp_tlv(uint8_t *t, uint8_t type, uint16_t sys_prio, const uint8_t *sys,
		     uint16_t key, uint16_t port_prio, uint16_t port, uint8_t state)
{
	t[0] = type;
	t[1] = 20;
	t[2] = (uint8_t)(sys_prio >> 8), t[3] = (uint8_t)sys_prio;
	memcpy(t + 4, sys, 6);
	t[10] = (uint8_t)(key >> 8), t[11] = (uint8_t)key;
	t[12] = (uint8_t)(port_prio >> 8), t[13] = (uint8_t)port_prio;
	t[14] = (uint8_t)(port >> 8), t[15] = (uint8_t)port;
	t[16] = state;
}

static void lacp_send(struct dpak_dev *dev, struct dpak_bond *b, struct lacp_member *m,
		      uint64_t now)
{
	static const uint8_t dst[6] = { 0x01, 0x80, 0xc2, 0x00, 0x00, 0x02 };
	struct dpak_port_info pi = { .sz = sizeof(pi) };
	uint8_t f[124];

	if (dev->ops->port_info(dev->priv, m->port, &pi))
		return;
	memset(f, 0, sizeof(f));
	memcpy(f, dst, 6);
	memcpy(f + 6, pi.mac, 6);
	f[12] = 0x88, f[13] = 0x09;
	f[14] = 0x01; /* subtype: LACP */
	f[15] = 0x01; /* version */
	lacp_tlv(f + 16, 0x01, 65535, b->system, b->key, 255, (uint16_t)(m->port + 1),
		 m->actor_state);
	lacp_tlv(f + 36, 0x02, m->partner_sys_prio, m->partner_sys, m->partner_key,
		 m->partner_port_prio, m->partner_port, m->partner_state);
	f[56] = 0x03; /* collector information */
	f[57] = 16;
	/* f[58..59]: collector max delay 0; f[72..73]: terminator 0, 0 */
	if (!dev->ops->ctrl_send(dev->priv, m->port, f, sizeof(f))) {
		m->last_tx = now;
		m->tx++;
	}
}

/* The LACP machines' clock: CLOCK_MONOTONIC, plus what tests skipped. */
static uint64_t lacp_now(struct dpak_bonds *bs)
{
	return dpak__now_ns() + __atomic_load_n(&bs->clock_skew, __ATOMIC_RELAXED);
}

/* Our timeout (Actor_Oper_Port_State.LACP_Timeout) sets how long the
 * partner's information lasts: short 3 s, long 90 s (IEEE 802.1AX-2020
 * 6.4.4, 6.4.7: current_while runs on the actor's own timeout). */
static uint64_t current_while_ns(const struct dpak_bond *b)
{
	return b->lacp_slow ? LONG_TIMEOUT_NS : SHORT_TIMEOUT_NS;
}

/* The receive machine (6.4.12) on an LACPDU: record the partner, restart
 * current_while. */
static void lacp_receive(struct dpak_dev *dev, const uint8_t *f, ssize_t len,
			 uint32_t port, uint64_t now)
{
	struct dpak_bonds *bs = dev->bonds;

	if (len < 56 || f[14] != 1 || f[16] != 1 || f[17] != 20)
		return; /* not an LACPDU we understand */
	for (int i = 0; i < DPAK_MAX_BONDS; i++) {
		struct dpak_bond *b = &bs->b[i];
		if (!b->used)
			continue;
		for (uint32_t k = 0; k < b->n; k++) {
			struct lacp_member *m = &b->m[k];
			if (m->port != port)
				continue;
			if (b->mode != DPAK_BOND_8023AD || b->lacp != DPAK_LACP_LIBRARY)
				return;
			const uint8_t *a = f + 16;
			m->partner_sys_prio = (uint16_t)(a[2] << 8 | a[3]);
			memcpy(m->partner_sys, a + 4, 6);
			m->partner_key = (uint16_t)(a[10] << 8 | a[11]);
			m->partner_port_prio = (uint16_t)(a[12] << 8 | a[13]);
			m->partner_port = (uint16_t)(a[14] << 8 | a[15]);
			m->partner_state = a[16];
			m->rx_state = LACP_RX_CURRENT;
			m->current_while = now + current_while_ns(b);
			m->last_rx = now;
			m->rx++;
			return;
		}
	}
}

/* The receive machine's timer and the port's link. */
static void lacp_rx_timer(const struct dpak_bond *b, struct lacp_member *m, int link,
			  uint64_t now)
{
	if (!link) {
		/* PORT_DISABLED: the partner is no longer in sync; when the
		 * link returns the information is EXPIRED (6.4.12). */
		m->partner_state &= (uint8_t)~DPAK_LACP_SYNC;
		if (m->rx_state == LACP_RX_CURRENT)
			m->rx_state = LACP_RX_EXPIRED;
		m->current_while = now + SHORT_TIMEOUT_NS;
		return;
	}
	if (m->rx_state == LACP_RX_DEFAULTED || now < m->current_while)
		return;
	if (m->rx_state == LACP_RX_CURRENT) {
		/* EXPIRED: the partner is out of sync and asked, through
		 * our Expired bit and a short timeout, to speak up. */
		m->rx_state = LACP_RX_EXPIRED;
		m->partner_state = (uint8_t)((m->partner_state & ~DPAK_LACP_SYNC) |
					     DPAK_LACP_TIMEOUT);
		m->current_while = now + SHORT_TIMEOUT_NS;
		return;
	}
	/* DEFAULTED: forget the partner (its administrative values: none). */
	(void)b;
	m->rx_state = LACP_RX_DEFAULTED;
	memset(m->partner_sys, 0, 6);
	m->partner_state = 0;
	m->partner_sys_prio = m->partner_key = m->partner_port = m->partner_port_prio = 0;
	m->last_rx = 0;
}

/* Can the member join an aggregator: a current partner that is
 * aggregatable, on a live link? */
static int lacp_eligible(const struct lacp_member *m)
{
	return m->link && m->rx_state == LACP_RX_CURRENT &&
	       (m->partner_state & DPAK_LACP_AGGREGATION);
}

static int same_partner(const struct lacp_member *m, uint16_t prio, const uint8_t *sys,
			uint16_t key)
{
	return m->partner_sys_prio == prio && m->partner_key == key &&
	       !memcmp(m->partner_sys, sys, 6);
}

/* Selection logic (6.4.14.1): a bond has one aggregator, with our key;
 * only members whose partners share one system and key (one Link
 * Aggregation Group) may be attached to it together. The group keeps the
 * aggregator while any of its members is eligible; otherwise the group
 * with the most eligible members takes it (ties: the one of the member
 * added first). Every other member stays unselected. */
static void lacp_select(struct dpak_bond *b)
{
	if (b->sel_valid) {
		int keep = 0;
		for (uint32_t k = 0; k < b->n && !keep; k++)
			keep = lacp_eligible(&b->m[k]) &&
			       same_partner(&b->m[k], b->sel_sys_prio, b->sel_sys, b->sel_key);
		b->sel_valid = keep;
	}
	if (!b->sel_valid) {
		uint32_t best = ~0u, best_n = 0;
		for (uint32_t k = 0; k < b->n; k++) {
			const struct lacp_member *m = &b->m[k];
			uint32_t n = 0;
			if (!lacp_eligible(m))
				continue;
			for (uint32_t j = 0; j < b->n; j++)
				n += lacp_eligible(&b->m[j]) &&
				     same_partner(&b->m[j], m->partner_sys_prio,
						  m->partner_sys, m->partner_key);
			if (n > best_n)
				best = k, best_n = n;
		}
		if (best != ~0u) {
			b->sel_valid = 1;
			b->sel_sys_prio = b->m[best].partner_sys_prio;
			b->sel_key = b->m[best].partner_key;
			memcpy(b->sel_sys, b->m[best].partner_sys, 6);
		}
	}
	for (uint32_t k = 0; k < b->n; k++)
		b->m[k].selected = b->sel_valid && lacp_eligible(&b->m[k]) &&
				   same_partner(&b->m[k], b->sel_sys_prio, b->sel_sys,
						b->sel_key);
}

/* One member's mux and transmit machines, one step. */
static void lacp_step(struct dpak_dev *dev, struct dpak_bond *b, struct lacp_member *m,
		      int link, uint64_t now)
{
	uint8_t st = DPAK_LACP_ACTIVITY | DPAK_LACP_AGGREGATION |
		     (b->lacp_slow ? 0 : DPAK_LACP_TIMEOUT);

	if (m->rx_state == LACP_RX_DEFAULTED)
		st |= DPAK_LACP_DEFAULTED;
	else if (m->rx_state == LACP_RX_EXPIRED)
		st |= DPAK_LACP_EXPIRED;
	if (m->selected) {
		st |= DPAK_LACP_SYNC;
		if (m->partner_state & DPAK_LACP_SYNC)
			st |= DPAK_LACP_COLLECTING | DPAK_LACP_DISTRIBUTING;
	}
	int use = (st & DPAK_LACP_DISTRIBUTING) != 0;
	if (st != m->actor_state) {
		m->actor_state = st;
		m->ntt = 1;
	}
	if (use != m->in_use) {
		m->in_use = use;
		dev->ops->bond_enable(dev->priv, b->port, m->port, use);
		push_event(dev->bonds, b->port, m->port, DPAK_BOND_EV_LACP, st);
	}
	if (!link)
		return;
	/* Periodic at the rate the partner's timeout bit asks for (6.4.13;
	 * fast while the partner is unknown or expired); at once on a change,
	 * at most every 100 ms. */
	uint64_t period = m->rx_state != LACP_RX_CURRENT ||
			  (m->partner_state & DPAK_LACP_TIMEOUT) ? FAST_NS : SLOW_NS;
	if ((m->ntt && now - m->last_tx >= 100000000ull) || now - m->last_tx >= period) {
		lacp_send(dev, b, m, now);
		m->ntt = 0;
	}
}

/* One pass of the monitor, under bs->lock: LACPDUs in, links, LACP, the
 * active member; events for what changed. */
static void bonds_pass(struct dpak_dev *dev, struct dpak_bonds *bs)
{
	static __thread uint8_t frame[2048];
	uint64_t now = lacp_now(bs);
	uint32_t port;
	ssize_t n;

	while (dev->ops->ctrl_recv &&
	       (n = dev->ops->ctrl_recv(dev->priv, frame, sizeof(frame), &port)) > 0)
		lacp_receive(dev, frame, n, port, now);
	for (int i = 0; i < DPAK_MAX_BONDS; i++) {
		struct dpak_bond *b = &bs->b[i];
		int lacp = b->mode == DPAK_BOND_8023AD && b->lacp == DPAK_LACP_LIBRARY;
		if (!b->used)
			continue;
		for (uint32_t k = 0; k < b->n; k++) {
			struct lacp_member *m = &b->m[k];
			struct dpak_port_info pi = { .sz = sizeof(pi) };
			int link = !dev->ops->port_info(dev->priv, m->port, &pi) && pi.link_up;
			if (link != m->link) {
				m->link = link;
				push_event(bs, b->port, m->port, link ? DPAK_BOND_EV_LINK_UP :
					   DPAK_BOND_EV_LINK_DOWN, 0);
			}
			if (lacp)
				lacp_rx_timer(b, m, link, now);
		}
		if (lacp) {
			lacp_select(b);
			for (uint32_t k = 0; k < b->n; k++)
				lacp_step(dev, b, &b->m[k], b->m[k].link, now);
		}
		uint32_t act = ~0u;
		if (b->mode == DPAK_BOND_ACTIVE_BACKUP && dev->ops->bond_active &&
		    !dev->ops->bond_active(dev->priv, b->port, &act) && act != b->active) {
			b->active = act;
			if (act != ~0u)
				push_event(bs, b->port, act, DPAK_BOND_EV_ACTIVE, 0);
		}
	}
}

static void *monitor(void *arg)
{
	struct dpak_dev *dev = arg;
	struct dpak_bonds *bs;

	/* Started before the state is published: wait for it. */
	while (!(bs = bonds_of(dev))) {
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	while (!__atomic_load_n(&bs->stop, __ATOMIC_ACQUIRE)) {
		struct timespec ts = { 0, (long)TICK_NS };

		pthread_mutex_lock(&bs->lock);
		bonds_pass(dev, bs);
		pthread_mutex_unlock(&bs->lock);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

void dpak__bonds_poll(struct dpak_dev *dev)
{
	struct dpak_bonds *bs = dev ? bonds_of(dev) : NULL;
	struct dpak__errsave es;

	if (!bs)
		return;
	dpak__err_save(&es);
	pthread_mutex_lock(&bs->lock);
	bonds_pass(dev, bs);
	pthread_mutex_unlock(&bs->lock);
	dpak__err_restore(&es);
}

void dpak__bonds_clock_advance(struct dpak_dev *dev, uint64_t ns)
{
	struct dpak_bonds *bs = bonds_of(dev);

	if (!bs)
		return;
	__atomic_fetch_add(&bs->clock_skew, ns, __ATOMIC_RELAXED);
	dpak__bonds_poll(dev);
}

/* The bond state, made on the first bond (once, whoever asks first). */
static int bonds_init(struct dpak_dev *dev)
{
	static pthread_mutex_t once = PTHREAD_MUTEX_INITIALIZER;
	struct dpak_bonds *bs;
	int err = 0;

	if (bonds_of(dev))
		return 0;
	if (!dev->ops->bond_create)
		return dpak__err(EOPNOTSUPP, "backend %s has no bonds", dev->ops->name);
	pthread_mutex_lock(&once);
	if (bonds_of(dev)) {
		pthread_mutex_unlock(&once);
		return 0;
	}
	bs = calloc(1, sizeof(*bs));
	if (!bs) {
		pthread_mutex_unlock(&once);
		return dpak__err(ENOMEM, "out of memory");
	}
	pthread_mutex_init(&bs->lock, NULL);
	pthread_mutex_init(&bs->ev_lock, NULL);
	bs->dev = dev;
	bs->evfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (bs->evfd < 0) {
		err = dpak__err(errno, "eventfd: %s", strerror(errno));
		free(bs);
	} else if (pthread_create(&bs->thread, NULL, monitor, dev)) {
		err = dpak__err(EAGAIN, "cannot start the bond monitor thread");
		close(bs->evfd);
		free(bs);
	} else {
		__atomic_store_n(&dev->bonds, bs, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&once);
	return err;
}

void dpak__bonds_fini(struct dpak_dev *dev)
{
	struct dpak_bonds *bs = dev->bonds;

	if (!bs)
		return;
	__atomic_store_n(&bs->stop, 1, __ATOMIC_RELEASE);
	pthread_join(bs->thread, NULL);
	close(bs->evfd);
	pthread_mutex_destroy(&bs->lock);
	pthread_mutex_destroy(&bs->ev_lock);
	free(bs);
	dev->bonds = NULL;
}

DPAK_API int dpak_bond_event_fd(struct dpak_dev *dev)
{
	int err;

	if (!dev)
		return dpak__err(EINVAL, "dev: NULL");
	if ((err = bonds_init(dev)))
		return err;
	return dev->bonds->evfd;
}

/* The API. */

/* Find a bond and take the bonds' lock (held on success only). */
static int check_bond(struct dpak_dev *dev, uint32_t port, struct dpak_bond **b)
{
	struct dpak_bonds *bs;

	if (!dev)
		return dpak__err(EINVAL, "dev: NULL");
	if (!(bs = bonds_of(dev)))
		return dpak__err(ENOENT, "port %u is not a bond", port);
	pthread_mutex_lock(&bs->lock);
	if (!(*b = bond_at(dev, port))) {
		pthread_mutex_unlock(&bs->lock);
		return dpak__err(ENOENT, "port %u is not a bond", port);
	}
	return 0;
}

DPAK_API int dpak_bond_create(struct dpak_dev *dev, const char *name,
			      const struct dpak_bond_opts *opts, uint32_t *port)
{
	enum dpak_bond_mode mode = DPAK_OPT(opts, mode, DPAK_BOND_ACTIVE_BACKUP);
	enum dpak_bond_hash hash = DPAK_OPT(opts, hash, DPAK_BOND_HASH_DEFAULT);
	enum dpak_bond_lacp lacp = DPAK_OPT(opts, lacp, DPAK_LACP_LIBRARY);
	static const uint8_t zero[6];
	const uint8_t *sys = zero;
	uint32_t p;
	int err;

	if (!dev || !name || !port)
		return dpak__err(EINVAL, "dev, name or port: NULL");
	if ((err = dpak__opts_check(opts, sizeof(*opts), "dpak_bond_opts")))
		return err;
	if ((unsigned)mode > DPAK_BOND_8023AD)
		return dpak__err(EINVAL, "bond mode %d unknown (active-backup, balance, 802.3ad)",
				 (int)mode);
	if ((unsigned)hash > DPAK_BOND_HASH_MAC)
		return dpak__err(EINVAL, "bond hash %d unknown (default, l23, l34, inner, mac)",
				 (int)hash);
	/* 0 is the default (L34) in a struct of 0.2.0 or later; in a 0.1.0
	 * struct, whose size ends at no_failback, it is the MAC hash, as
	 * 0.1.0 applied it (the binary cannot say which it meant). */
	if (hash == DPAK_BOND_HASH_DEFAULT)
		hash = opts && opts->sz <= BOND_OPTS_SZ_0_1_0 ? DPAK_BOND_HASH_L2
							      : DPAK_BOND_HASH_L34;
	else if (hash == DPAK_BOND_HASH_MAC)
		hash = DPAK_BOND_HASH_L2;
	if ((unsigned)lacp > DPAK_LACP_SWITCH)
		return dpak__err(EINVAL, "bond lacp %d unknown (library, switch)", (int)lacp);
	if (opts && offsetof(struct dpak_bond_opts, lacp_system) + 6 <= opts->sz) {
		sys = opts->lacp_system;
		if (memcmp(sys, zero, 6) && (sys[0] & 1))
			return dpak__err(EINVAL, "lacp_system %02x:%02x:%02x:%02x:%02x:%02x: "
					 "a unicast MAC address (or all zero)", sys[0],
					 sys[1], sys[2], sys[3], sys[4], sys[5]);
	}
	if (!*name || strlen(name) >= 16)
		return dpak__err(EINVAL, "bond name '%s': 1 to 15 characters", name);
	if (dpak__port_lookup(dev, name) >= 0)
		return dpak__err(EEXIST, "a port named '%s' exists", name);
	if ((err = bonds_init(dev)))
		return err;
	pthread_mutex_lock(&dev->bonds->lock);
	err = dev->ops->bond_create(dev->priv, mode, hash,
				    mode == DPAK_BOND_8023AD && lacp == DPAK_LACP_LIBRARY,
				    !DPAK_OPT(opts, no_failback, 0), &p);
	if (err) {
		pthread_mutex_unlock(&dev->bonds->lock);
		return err == -ENOSPC ? dpak__err(ENOSPC, "no room for another bond (%d at most)",
						  DPAK_MAX_BONDS)
				      : dpak__err(-err, "bond_create: %s", dpak_strerror(err));
	}
	struct dpak_bond *b = &dev->bonds->b[p - dev->n_ports];
	memset(b, 0, sizeof(*b));
	b->used = 1;
	b->port = p;
	snprintf(b->name, sizeof(b->name), "%s", name);
	b->mode = mode;
	b->hash = hash;
	b->lacp = lacp;
	b->lacp_slow = DPAK_OPT(opts, lacp_slow, 0);
	b->key = (uint16_t)(p - dev->n_ports + 1);
	const uint8_t own[6] = { 0x02, 0xd9, 0xa4, 0xb0, (uint8_t)(dev->gen & 0xff), (uint8_t)b->key };
	memcpy(b->system, memcmp(sys, zero, 6) ? sys : own, 6);
	b->active = ~0u;
	pthread_mutex_unlock(&dev->bonds->lock);
	*port = p;
	return 0;
}

DPAK_API int dpak_bond_destroy(struct dpak_dev *dev, uint32_t port)
{
	struct dpak_bond *b;
	int err;

	if ((err = check_bond(dev, port, &b)))
		return err;
	if (__atomic_load_n(&b->flows, __ATOMIC_RELAXED)) {
		pthread_mutex_unlock(&dev->bonds->lock);
		return dpak__err(EBUSY, "bond %s: %u flows forward to it; delete them first",
				 b->name, b->flows);
	}
	err = dev->ops->bond_destroy(dev->priv, port);
	if (!err)
		b->used = 0;
	pthread_mutex_unlock(&dev->bonds->lock);
	return err ? dpak__err(-err, "bond %s: %s", b->name, dpak_strerror(err)) : 0;
}

DPAK_API int dpak_bond_member_add(struct dpak_dev *dev, uint32_t port, uint32_t member)
{
	struct dpak_port_info pi = { .sz = sizeof(pi) };
	struct dpak_bond *b;
	int err;

	if (dev && member >= dev->n_ports && dpak__port_exists(dev, member))
		return dpak__err(EINVAL, "port %u is a bond: only uplinks join bonds", member);
	if (dev && member >= dev->n_ports)
		return dpak__err(ENOENT, "port %u does not exist", member);
	if (dev && !dev->ops->port_info(dev->priv, member, &pi) &&
	    pi.type != DPAK_PORT_UPLINK)
		return dpak__err(EINVAL, "port %s is not an uplink: only uplinks join bonds",
				 pi.name);
	if ((err = check_bond(dev, port, &b)))
		return err;
	for (int i = 0; i < DPAK_MAX_BONDS; i++)
		for (uint32_t k = 0; dev->bonds->b[i].used && k < dev->bonds->b[i].n; k++)
			if (dev->bonds->b[i].m[k].port == member) {
				pthread_mutex_unlock(&dev->bonds->lock);
				return dpak__err(EBUSY, "port %s is already in bond %s", pi.name,
						 dev->bonds->b[i].name);
			}
	if (b->n == DPAK_BOND_MEMBERS) {
		pthread_mutex_unlock(&dev->bonds->lock);
		return dpak__err(ENOSPC, "bond %s has %d members already", b->name,
				 DPAK_BOND_MEMBERS);
	}
	if ((err = dev->ops->bond_add(dev->priv, port, member))) {
		pthread_mutex_unlock(&dev->bonds->lock);
		return dpak__err(-err, "bond %s: adding %s: %s", b->name, pi.name,
				 dpak_strerror(err));
	}
	b->m[b->n] = (struct lacp_member){ .port = member, .link = pi.link_up,
					   .in_use = b->mode != DPAK_BOND_8023AD };
	b->n++;
	pthread_mutex_unlock(&dev->bonds->lock);
	return 0;
}

/* A bond's member by port, or NULL with the error set; under bonds->lock. */
static struct lacp_member *member_of(struct dpak_bond *b, uint32_t member)
{
	for (uint32_t k = 0; k < b->n; k++)
		if (b->m[k].port == member)
			return &b->m[k];
	dpak__err(ENOENT, "port %u is not a member of bond %s", member, b->name);
	return NULL;
}

DPAK_API int dpak_bond_member_del(struct dpak_dev *dev, uint32_t port, uint32_t member)
{
	struct lacp_member *m;
	struct dpak_bond *b;
	int err;

	if ((err = check_bond(dev, port, &b)))
		return err;
	if (!(m = member_of(b, member))) {
		pthread_mutex_unlock(&dev->bonds->lock);
		return -ENOENT;
	}
	if (b->n == 1 && __atomic_load_n(&b->flows, __ATOMIC_RELAXED)) {
		pthread_mutex_unlock(&dev->bonds->lock);
		return dpak__err(EBUSY, "port %u is the last member of bond %s, which %u "
				 "flows use", member, b->name, b->flows);
	}
	if ((err = dev->ops->bond_del(dev->priv, port, member))) {
		pthread_mutex_unlock(&dev->bonds->lock);
		return dpak__err(-err, "bond %s: %s", b->name, dpak_strerror(err));
	}
	memmove(m, m + 1, (size_t)(&b->m[b->n] - (m + 1)) * sizeof(*m));
	b->n--;
	pthread_mutex_unlock(&dev->bonds->lock);
	return 0;
}

DPAK_API int dpak_bond_member_set_state(struct dpak_dev *dev, uint32_t port,
					uint32_t member, int up)
{
	struct dpak_bond *b;
	int err;

	if ((err = check_bond(dev, port, &b)))
		return err;
	if (b->mode != DPAK_BOND_8023AD || b->lacp != DPAK_LACP_SWITCH) {
		pthread_mutex_unlock(&dev->bonds->lock);
		return dpak__err(EINVAL, "bond %s: member states are set by the switch only "
				 "for 802.3ad bonds with lacp=switch", b->name);
	}
	struct lacp_member *m = member_of(b, member);
	if (!m) {
		pthread_mutex_unlock(&dev->bonds->lock);
		return -ENOENT;
	}
	int was = m->in_use;
	m->in_use = !!up;
	m->actor_state = up ? DPAK_LACP_SYNC | DPAK_LACP_COLLECTING | DPAK_LACP_DISTRIBUTING : 0;
	err = dev->ops->bond_enable(dev->priv, port, member, !!up);
	if (!err && was != !!up)
		push_event(dev->bonds, port, member, DPAK_BOND_EV_LACP, m->actor_state);
	pthread_mutex_unlock(&dev->bonds->lock);
	return err ? dpak__err(-err, "bond %s: %s", b->name, dpak_strerror(err)) : 0;
}

DPAK_API int dpak_bond_info(struct dpak_dev *dev, uint32_t port, struct dpak_bond_info *info)
{
	struct dpak_bond_info i = { 0 };
	struct dpak_bond *b;
	uint32_t act = ~0u;
	int err;

	if ((err = check_bond(dev, port, &b)))
		return err;
	i.port = port;
	snprintf(i.name, sizeof(i.name), "%s", b->name);
	i.mode = b->mode;
	i.hash = b->hash;
	i.lacp = b->lacp;
	i.n_members = b->n;
	for (uint32_t k = 0; k < b->n; k++)
		i.members[k] = b->m[k].port;
	if (b->mode == DPAK_BOND_ACTIVE_BACKUP && dev->ops->bond_active)
		dev->ops->bond_active(dev->priv, port, &act);
	i.active = act == ~0u ? -1 : (int32_t)act;
	i.flows = __atomic_load_n(&b->flows, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&dev->bonds->lock);
	return dpak__out(info, &i, sizeof(i), "dpak_bond_info");
}

DPAK_API int dpak_bond_member_info(struct dpak_dev *dev, uint32_t port, uint32_t member,
				   struct dpak_bond_member_info *info)
{
	struct dpak_bond_member_info i = { 0 };
	struct dpak_port_info pi = { .sz = sizeof(pi) };
	struct dpak_port_stats ps = { .sz = sizeof(ps) };
	struct dpak_bond *b;
	uint32_t act = ~0u;
	int err;

	if ((err = check_bond(dev, port, &b)))
		return err;
	struct lacp_member *m = member_of(b, member);
	if (!m) {
		pthread_mutex_unlock(&dev->bonds->lock);
		return -ENOENT;
	}
	dpak_port_info(dev, member, &pi);
	dpak_port_stats(dev, member, &ps);
	if (b->mode == DPAK_BOND_ACTIVE_BACKUP && dev->ops->bond_active)
		dev->ops->bond_active(dev->priv, port, &act);
	i.port = member;
	i.link_up = pi.link_up;
	i.active = act == member;
	i.in_use = pi.link_up && (b->mode == DPAK_BOND_ACTIVE_BACKUP ? i.active :
				  b->mode == DPAK_BOND_BALANCE ? 1 : m->in_use);
	i.actor_state = m->actor_state;
	i.partner_state = m->partner_state;
	memcpy(i.partner_system, m->partner_sys, 6);
	i.tx_packets = ps.tx_packets;
	i.rx_packets = ps.rx_packets;
	i.lacpdus_rx = m->rx;
	i.lacpdus_tx = m->tx;
	pthread_mutex_unlock(&dev->bonds->lock);
	return dpak__out(info, &i, sizeof(i), "dpak_bond_member_info");
}
