/* SPDX-License-Identifier: MIT */
/*
 * hwsim device: ports with receive and transmit rings, the pipeline that
 * moves packets between them through the tables, and the engine that runs
 * it (in the caller's thread, or a thread of its own).
 *
 * Rings are single-producer single-consumer rings of fixed slots; a packet
 * is copied in once and processed in place, with headroom for
 * encapsulation. Nothing is allocated per packet and the pipeline takes no
 * lock: table writers wait for it instead (hw_sync()).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "hwsim.h"
#include "packet.h"
#include "table.h"

#define BURST 32
#define HOST_RING 1024
#define LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define LOAD_RLX(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
/* Counters with one writer: a plain add that other threads read whole. */
#define STAT_ADD(x, v) __atomic_store_n(&(x), LOAD_RLX(&(x)) + (v), __ATOMIC_RELAXED)

struct hw_slot {
	uint32_t len;
	struct hw_host_meta meta;
	uint8_t buf[HW_HEADROOM + HW_MAX_FRAME];
};

struct hw_ring {
	struct hw_slot *slots;
	uint32_t mask;
	uint32_t head; /* consumer position */
	uint32_t tail; /* producer position */
};

struct hw_port {
	enum hw_port_type type;
	uint8_t mac[6];
	int link;
	struct hw_ring rx, tx;
	/* written by the pipeline */
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, misses, drops;
	uint64_t inject_drops; /* written by the injecting thread */
};

struct hw_dev {
	struct hw_dev_cfg cfg;
	uint32_t n_ports;
	struct hw_port ports[HW_MAX_PORTS];
	uint32_t n_tables;
	struct hw_table *tables[HW_MAX_TABLES];
	struct hw_ring host;
	uint64_t host_drops;
	uint32_t rr;          /* next port the pipeline serves */

	uint64_t reader;      /* odd while the pipeline is inside a burst */
	pthread_t engine;
	int running;

	unsigned fail_count;  /* fault injection */
	int fail_err;
	pthread_mutex_t fail_lock;
};

static int ring_init(struct hw_ring *r, uint32_t size)
{
	r->slots = calloc(size, sizeof(*r->slots));
	r->mask = size - 1;
	r->head = r->tail = 0;
	return r->slots ? 0 : -ENOMEM;
}

/* Producer: the next free slot, or NULL if full. */
static struct hw_slot *ring_prod(struct hw_ring *r)
{
	uint32_t t = r->tail;

	if (t - LOAD_ACQ(&r->head) > r->mask)
		return NULL;
	return &r->slots[t & r->mask];
}

static void ring_push(struct hw_ring *r)
{
	STORE_REL(&r->tail, r->tail + 1);
}

/* Consumer: the oldest slot, or NULL if empty. */
static struct hw_slot *ring_cons(struct hw_ring *r)
{
	uint32_t h = r->head;

	if (h == LOAD_ACQ(&r->tail))
		return NULL;
	return &r->slots[h & r->mask];
}

static void ring_pop(struct hw_ring *r)
{
	STORE_REL(&r->head, r->head + 1);
}

static void *engine_main(void *arg);

int hw_dev_create(const struct hw_dev_cfg *cfg, struct hw_dev **out)
{
	uint32_t n = cfg->n_uplinks + cfg->n_pfs + cfg->n_vfs;
	struct hw_dev *dev;
	int err = -ENOMEM;

	if (n == 0 || n > HW_MAX_PORTS || cfg->ring_size < 2 ||
	    (cfg->ring_size & (cfg->ring_size - 1)))
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->cfg = *cfg;
	dev->n_ports = n;
	pthread_mutex_init(&dev->fail_lock, NULL);
	for (uint32_t i = 0; i < n; i++) {
		struct hw_port *p = &dev->ports[i];
		p->type = i < cfg->n_uplinks ? HW_UPLINK
			  : i < cfg->n_uplinks + cfg->n_pfs ? HW_PF : HW_VF;
		/* Locally administered, unicast: 02:d9:ak:00:00:<port> */
		const uint8_t mac[6] = { 0x02, 0xd9, 0xa4, 0x00, 0x00, (uint8_t)i };
		memcpy(p->mac, mac, 6);
		p->link = 1;
		if (ring_init(&p->rx, cfg->ring_size) ||
		    ring_init(&p->tx, cfg->ring_size))
			goto fail;
	}
	if (ring_init(&dev->host, HOST_RING))
		goto fail;
	*out = dev;
	return 0;
fail:
	hw_dev_destroy(dev);
	return err;
}

int hw_dev_start(struct hw_dev *dev)
{
	if (dev->running || !dev->cfg.engine_thread)
		return 0;
	dev->running = 1;
	if (pthread_create(&dev->engine, NULL, engine_main, dev)) {
		dev->running = 0;
		return -EAGAIN;
	}
	return 0;
}

void hw_dev_destroy(struct hw_dev *dev)
{
	if (!dev)
		return;
	if (LOAD_RLX(&dev->running)) {
		STORE_REL(&dev->running, 0);
		pthread_join(dev->engine, NULL);
	}
	for (uint32_t i = 0; i < dev->n_tables; i++) {
		hw_table_fini(dev->tables[i]);
		free(dev->tables[i]);
	}
	for (uint32_t i = 0; i < dev->n_ports; i++) {
		free(dev->ports[i].rx.slots);
		free(dev->ports[i].tx.slots);
	}
	free(dev->host.slots);
	pthread_mutex_destroy(&dev->fail_lock);
	free(dev);
}

uint32_t hw_n_ports(const struct hw_dev *dev)
{
	return dev->n_ports;
}

enum hw_port_type hw_port_type(const struct hw_dev *dev, uint32_t port)
{
	return dev->ports[port].type;
}

void hw_port_mac(const struct hw_dev *dev, uint32_t port, uint8_t mac[6])
{
	memcpy(mac, dev->ports[port].mac, 6);
}

int hw_port_link(const struct hw_dev *dev, uint32_t port)
{
	return LOAD_RLX(&dev->ports[port].link);
}

int hw_port_set_link(struct hw_dev *dev, uint32_t port, int up)
{
	if (port >= dev->n_ports)
		return -ENOENT;
	STORE_REL(&dev->ports[port].link, !!up);
	return 0;
}

void hw_port_counters(const struct hw_dev *dev, uint32_t port,
		      struct hw_port_counters *c)
{
	const struct hw_port *p = &dev->ports[port];

	c->rx_packets = LOAD_RLX(&p->rx_packets);
	c->rx_bytes = LOAD_RLX(&p->rx_bytes);
	c->tx_packets = LOAD_RLX(&p->tx_packets);
	c->tx_bytes = LOAD_RLX(&p->tx_bytes);
	c->rx_misses = LOAD_RLX(&p->misses);
	c->drops = LOAD_RLX(&p->drops) + LOAD_RLX(&p->inject_drops);
}

int hw_table_create(struct hw_dev *dev, const struct hw_table_cfg *cfg)
{
	struct hw_table *t;
	int err;

	if (LOAD_RLX(&dev->running))
		return -EBUSY;
	if (dev->n_tables == HW_MAX_TABLES)
		return -ENOSPC;
	t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	err = hw_table_init(t, cfg);
	if (err) {
		free(t);
		return err;
	}
	dev->tables[dev->n_tables++] = t;
	return 0;
}

/* Wait until the pipeline is outside any burst it was in when called:
 * after this, no packet can still use an entry removed before the call. */
static void hw_sync(void *arg)
{
	struct hw_dev *dev = arg;
	uint64_t r;

	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	r = LOAD_ACQ(&dev->reader);
	if (!(r & 1))
		return;
	while (LOAD_ACQ(&dev->reader) == r)
		sched_yield();
}

/* Fault injection: should this entry operation fail? */
static int fault(struct hw_dev *dev)
{
	int err = 0;

	pthread_mutex_lock(&dev->fail_lock);
	if (dev->fail_count) {
		dev->fail_count--;
		err = dev->fail_err;
	}
	pthread_mutex_unlock(&dev->fail_lock);
	return err;
}

void hw_fail_ops(struct hw_dev *dev, unsigned count, int err)
{
	pthread_mutex_lock(&dev->fail_lock);
	dev->fail_count = count;
	dev->fail_err = err;
	pthread_mutex_unlock(&dev->fail_lock);
}

int hw_entry_add(struct hw_dev *dev, uint32_t table, const uint8_t *key,
		 const uint8_t *mask, uint32_t prio, const uint8_t *act,
		 uint32_t act_len, uint32_t *id)
{
	struct hw_table *t;
	int err;

	if (table >= dev->n_tables)
		return -ENOENT;
	if ((err = fault(dev)))
		return err;
	t = dev->tables[table];
	pthread_mutex_lock(&t->wlock);
	err = hw_table_insert(t, key, mask, prio, act, act_len, id, hw_sync, dev);
	pthread_mutex_unlock(&t->wlock);
	return err;
}

int hw_entry_del(struct hw_dev *dev, uint32_t table, uint32_t id)
{
	struct hw_table *t;
	int err;

	if (table >= dev->n_tables)
		return -ENOENT;
	if ((err = fault(dev)))
		return err;
	t = dev->tables[table];
	pthread_mutex_lock(&t->wlock);
	err = hw_table_remove(t, id, hw_sync, dev);
	pthread_mutex_unlock(&t->wlock);
	return err;
}

int hw_entry_replace(struct hw_dev *dev, uint32_t table, uint32_t id,
		     const uint8_t *act, uint32_t act_len, uint32_t *new_id)
{
	struct hw_table *t;
	int err;

	if (table >= dev->n_tables)
		return -ENOENT;
	if ((err = fault(dev)))
		return err;
	t = dev->tables[table];
	pthread_mutex_lock(&t->wlock);
	err = hw_table_swap_actions(t, id, act, act_len, new_id, hw_sync, dev);
	pthread_mutex_unlock(&t->wlock);
	return err;
}

int hw_entry_counters(struct hw_dev *dev, uint32_t table, uint32_t id,
		      struct hw_entry_counters *c)
{
	struct hw_table *t;
	struct hw_entry *e;
	int err = 0;

	if (table >= dev->n_tables)
		return -ENOENT;
	t = dev->tables[table];
	pthread_mutex_lock(&t->wlock); /* the entry may not move meanwhile */
	if (!hw_table_valid(t, id)) {
		err = -ENOENT;
	} else {
		e = hw_entry_at(t, id);
		c->packets = e->carry_packets + LOAD_RLX(&e->packets);
		c->bytes = e->carry_bytes + LOAD_RLX(&e->bytes);
		c->last_hit_ns = LOAD_RLX(&e->last_hit_ns);
	}
	pthread_mutex_unlock(&t->wlock);
	return err;
}

uint32_t hw_table_in_use(struct hw_dev *dev, uint32_t table)
{
	return table < dev->n_tables ? LOAD_RLX(&dev->tables[table]->in_use) : 0;
}

int hw_inject(struct hw_dev *dev, uint32_t port, const void *pkt, size_t len)
{
	struct hw_port *p;
	struct hw_slot *s;

	if (port >= dev->n_ports)
		return -ENOENT;
	if (len < 14 || len > HW_MAX_FRAME)
		return -EINVAL;
	p = &dev->ports[port];
	s = ring_prod(&p->rx);
	if (!s) {
		STAT_ADD(p->inject_drops, 1);
		return -ENOBUFS;
	}
	s->len = (uint32_t)len;
	memcpy(s->buf + HW_HEADROOM, pkt, len);
	ring_push(&p->rx);
	return 0;
}

static ssize_t ring_take(struct hw_ring *r, void *buf, size_t cap,
			 struct hw_host_meta *meta)
{
	struct hw_slot *s = ring_cons(r);
	ssize_t len;

	if (!s)
		return -EAGAIN;
	if (s->len > cap)
		return -EMSGSIZE;
	memcpy(buf, s->buf, s->len);
	if (meta)
		*meta = s->meta;
	len = s->len;
	ring_pop(r);
	return len;
}

ssize_t hw_capture(struct hw_dev *dev, uint32_t port, void *buf, size_t cap)
{
	if (port >= dev->n_ports)
		return -ENOENT;
	return ring_take(&dev->ports[port].tx, buf, cap, NULL);
}

ssize_t hw_host_recv(struct hw_dev *dev, void *buf, size_t cap,
		     struct hw_host_meta *meta)
{
	return ring_take(&dev->host, buf, cap, meta);
}

static void emit(struct hw_dev *dev, struct hw_port *in, uint32_t out,
		 const struct hw_pkt *pk)
{
	struct hw_port *p;
	struct hw_slot *s;

	if (out >= dev->n_ports)
		goto drop;
	p = &dev->ports[out];
	if (!LOAD_RLX(&p->link) || pk->len > HW_HEADROOM + HW_MAX_FRAME ||
	    !(s = ring_prod(&p->tx)))
		goto drop;
	s->len = pk->len;
	memcpy(s->buf, pk->data, pk->len);
	ring_push(&p->tx);
	STAT_ADD(p->tx_packets, 1);
	STAT_ADD(p->tx_bytes, pk->len);
	return;
drop:
	STAT_ADD(in->drops, 1);
}

static void to_host(struct hw_dev *dev, const struct hw_pkt *pk,
		    enum hw_host_reason why, uint32_t table)
{
	struct hw_slot *s = ring_prod(&dev->host);

	if (!s) {
		STAT_ADD(dev->host_drops, 1);
		return;
	}
	s->len = pk->len;
	memcpy(s->buf, pk->data, pk->len);
	s->meta = (struct hw_host_meta){ pk->in_port, table, pk->mark, why };
	ring_push(&dev->host);
}

/* The pipeline for one packet. */
static void process(struct hw_dev *dev, uint32_t port, struct hw_slot *slot,
		    uint64_t now)
{
	struct hw_port *in = &dev->ports[port];
	struct hw_pkt pk;
	struct hw_verdict v;
	uint8_t key[PK_MAX_KEY];
	uint32_t t = 0;

	STAT_ADD(in->rx_packets, 1);
	STAT_ADD(in->rx_bytes, slot->len);
	if (!LOAD_RLX(&in->link)) {
		STAT_ADD(in->drops, 1);
		return;
	}
	pk.data = slot->buf + HW_HEADROOM;
	pk.len = slot->len;
	pk.headroom = HW_HEADROOM;
	pk.in_port = port;
	pk.mark = 0;
	hw_parse(&pk);

	while (t < dev->n_tables) {
		struct hw_table *tb = dev->tables[t];
		struct hw_entry *e;

		hw_table_key(tb, pk.fields, key);
		e = hw_table_lookup(tb, key);
		if (!e) {
			if (tb->cfg.miss == PK_MISS_NEXT) {
				t++;
				continue;
			}
			STAT_ADD(in->misses, 1);
			if (tb->cfg.miss == PK_MISS_DROP)
				STAT_ADD(in->drops, 1);
			else
				to_host(dev, &pk, HW_HOST_MISS, t);
			return;
		}
		STAT_ADD(e->packets, 1);
		STAT_ADD(e->bytes, pk.len);
		__atomic_store_n(&e->last_hit_ns, now, __ATOMIC_RELAXED);
		hw_exec(&pk, hw_entry_actions(tb, e), e->act_len, &v);
		switch (v.fate) {
		case HW_FATE_PORT:
			emit(dev, in, v.arg, &pk);
			return;
		case HW_FATE_HOST:
			to_host(dev, &pk, HW_HOST_ACTION, t);
			return;
		case HW_FATE_TTL:
			to_host(dev, &pk, HW_HOST_TTL, t);
			return;
		case HW_FATE_JUMP:
			if (v.arg <= t) /* jumps go forward only */
				goto drop;
			t = v.arg;
			if (v.dirty)
				hw_parse(&pk);
			continue;
		case HW_FATE_DROP:
			goto drop;
		}
	}
	/* Ran past the last table: a miss. */
	STAT_ADD(in->misses, 1);
	to_host(dev, &pk, HW_HOST_MISS, dev->n_tables - 1);
	return;
drop:
	STAT_ADD(in->drops, 1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One burst from each port in turn, at most @budget packets. */
static unsigned run_burst(struct hw_dev *dev, unsigned budget)
{
	unsigned done = 0;
	uint64_t now;

	__atomic_store_n(&dev->reader, dev->reader + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	now = now_ns();
	for (uint32_t n = 0; n < dev->n_ports && done < budget; n++) {
		uint32_t port = (dev->rr + n) % dev->n_ports;
		struct hw_ring *r = &dev->ports[port].rx;
		struct hw_slot *s;

		for (int i = 0; i < BURST && done < budget && (s = ring_cons(r)); i++) {
			process(dev, port, s, now);
			ring_pop(r);
			done++;
		}
	}
	dev->rr = (dev->rr + 1) % dev->n_ports;
	STORE_REL(&dev->reader, dev->reader + 1);
	return done;
}

int hw_run(struct hw_dev *dev, unsigned budget)
{
	unsigned total = 0, n;

	if (dev->cfg.engine_thread)
		return -EBUSY;
	if (!budget)
		budget = ~0u;
	do {
		n = run_burst(dev, budget - total);
		total += n;
	} while (n && total < budget);
	return (int)total;
}

static void *engine_main(void *arg)
{
	struct hw_dev *dev = arg;
	unsigned idle = 0;

	while (LOAD_ACQ(&dev->running)) {
		if (run_burst(dev, ~0u)) {
			idle = 0;
			continue;
		}
		/* Poll while busy; sleep a little once idle. */
		if (++idle > 64) {
			struct timespec ts = { 0, 50000 };
			nanosleep(&ts, NULL);
		}
	}
	return NULL;
}
