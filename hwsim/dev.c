/* SPDX-License-Identifier: MIT */
/*
 * hwsim device: creation, ports, tables and their entries, the wire side
 * of the ports (inject and capture). The pipeline is in pipeline.c, host
 * queues in hostq.c, attachments in netdev.c and pcap.c.
 *
 * Table writers never stop the pipeline: it takes no lock, and writers
 * wait for it instead (hw_sync()).
 */
#include <errno.h>
#include <sched.h>
#include <string.h>
#include "dev.h"



static int pow2(uint32_t v)
{
	return v >= 2 && !(v & (v - 1));
}

int hw_dev_create(const struct hw_dev_cfg *cfg, struct hw_dev **out)
{
	uint32_t n = cfg->n_uplinks + cfg->n_pfs + cfg->n_vfs;
	struct hw_dev *dev;
	int err = -ENOMEM;

	if (n == 0 || n > HW_MAX_PORTS || !pow2(cfg->ring_size) ||
	    (cfg->mtu && (cfg->mtu < HW_MIN_MTU || cfg->mtu > HW_MAX_MTU)) ||
	    cfg->n_queues == 0 || !pow2(cfg->queue_size) ||
	    cfg->pool_size < cfg->queue_size)
		return -EINVAL;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->cfg = *cfg;
	dev->n_ports = n;
	pthread_mutex_init(&dev->fail_lock, NULL);
	pthread_mutex_init(&dev->attach_lock, NULL);
	pthread_mutex_init(&dev->bond_lock, NULL);
	for (uint32_t i = 0; i < n; i++) {
		struct hw_port *p = &dev->ports[i];
		p->type = i < cfg->n_uplinks ? HW_UPLINK
			  : i < cfg->n_uplinks + cfg->n_pfs ? HW_PF : HW_VF;
		/* Locally administered, unicast: 02:d9:ak:00:00:<port> */
		const uint8_t mac[6] = { 0x02, 0xd9, 0xa4, 0x00, 0x00, (uint8_t)i };
		memcpy(p->mac, mac, 6);
		p->link = 1;
		p->mtu = cfg->mtu ? cfg->mtu : HW_DEFAULT_MTU;
		if (hw_ring_init(&p->rx, cfg->ring_size) ||
		    hw_ring_init(&p->tx, cfg->ring_size))
			goto fail;
	}
	if (hw_ring_init(&dev->ctrl_rx, 64) || hw_ring_init(&dev->ctrl_tx, 64))
		goto fail;
	dev->hostq = calloc(cfg->n_queues, sizeof(*dev->hostq));
	if (!dev->hostq || pool_init(&dev->pool, cfg->pool_size))
		goto fail;
	for (uint32_t q = 0; q < cfg->n_queues; q++)
		if (pring_init(&dev->hostq[q].rx, cfg->queue_size) ||
		    pring_init(&dev->hostq[q].tx, cfg->queue_size))
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
	if (pthread_create(&dev->engine, NULL, hw_engine_main, dev)) {
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
	/* Stop every pcap writer first, then wait for them: a reader that
	 * stopped reading costs one grace period in all, not one per file. */
	for (uint32_t i = 0; i < dev->n_ports; i++)
		pcap_file_stop(dev->ports[i].pcap_out);
	for (uint32_t i = 0; i < HW_MAX_BONDS; i++)
		pcap_file_stop(dev->bonds[i].pcap_out);
	pcap_file_stop(dev->pcap_host);
	for (uint32_t i = 0; i < HW_MAX_BONDS; i++)
		pcap_file_close(dev->bonds[i].pcap_out);
	for (uint32_t i = 0; i < dev->n_ports; i++) {
		struct hw_port *p = &dev->ports[i];
		if (p->netdev)
			netdev_close(p->netdev);
		pcap_file_close(p->pcap_in);
		pcap_file_close(p->pcap_out);
		free(p->rx.slots);
		free(p->tx.slots);
	}
	pcap_file_close(dev->pcap_host);
	for (uint32_t q = 0; dev->hostq && q < dev->cfg.n_queues; q++) {
		free(dev->hostq[q].rx.p);
		free(dev->hostq[q].tx.p);
	}
	free(dev->hostq);
	pool_fini(&dev->pool);
	pthread_mutex_destroy(&dev->fail_lock);
	pthread_mutex_destroy(&dev->attach_lock);
	pthread_mutex_destroy(&dev->bond_lock);
	free(dev->ctrl_rx.slots);
	free(dev->ctrl_tx.slots);
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
	c->drops_action = LOAD_RLX(&p->drops_action);
	c->drops_mtu = LOAD_RLX(&p->drops_mtu);
	c->drops_bond_rx = LOAD_RLX(&p->drops_bond_rx);
}

uint32_t hw_port_mtu(const struct hw_dev *dev, uint32_t port)
{
	return LOAD_RLX(&dev->ports[port].mtu);
}

int hw_port_set_mtu(struct hw_dev *dev, uint32_t port, uint32_t mtu)
{
	if (port >= dev->n_ports)
		return -ENOENT;
	if (mtu < HW_MIN_MTU || mtu > HW_MAX_MTU)
		return -ERANGE;
	STORE_REL(&dev->ports[port].mtu, mtu);
	return 0;
}

int hw_port_set_rx_queues(struct hw_dev *dev, uint32_t port, uint32_t first, uint32_t n)
{
	if (port >= dev->n_ports)
		return -ENOENT;
	if (first + n > dev->cfg.n_queues || n > 0xffff)
		return -ERANGE;
	/* Sequentially consistent: a burst that starts after this returns
	 * reads the new range. */
	__atomic_store_n(&dev->rxq[port], n ? first << 16 | n : 0, __ATOMIC_SEQ_CST);
	return 0;
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

void hw_sync_dev(struct hw_dev *dev);
void hw_sync_dev(struct hw_dev *dev)
{
	hw_sync(dev);
}

/* Fault injection: should this entry operation fail? */
static int fault(struct hw_dev *dev)
{
	int err = 0;

	if (!LOAD_ACQ(&dev->fail_count))
		return 0; /* the common case takes no lock */
	pthread_mutex_lock(&dev->fail_lock);
	if (dev->fail_count) {
		dev->fail_count--;
		err = dev->fail_err;
	}
	pthread_mutex_unlock(&dev->fail_lock);
	return err;
}

void hw_reject_ops(struct hw_dev *dev, uint64_t ops)
{
	STORE_REL(&dev->reject_ops, ops);
}

uint64_t hw_rejected_ops(const struct hw_dev *dev)
{
	return LOAD_ACQ(&dev->reject_ops);
}

/* Is an action block well formed (known ops of their exact size, ending
 * with a fate) and made of ops the device was not told to refuse? */
static int rejected(struct hw_dev *dev, const uint8_t *act, uint32_t len)
{
	uint64_t rej = LOAD_ACQ(&dev->reject_ops);
	uint32_t o = 0;
	int fate = 0;

	while (o < len) {
		if (o + 2 > len || act[o] == PK_OP_END || act[o] >= PK_OP_MAX ||
		    act[o + 1] != 2 + pk_op_payload[act[o]] || o + act[o + 1] > len || fate)
			return -EINVAL;
		if (act[o] == PK_OP_RSS) { /* 1-16 queues the device has */
			if (!act[o + 2] || act[o + 2] > PK_RSS_MAX)
				return -EINVAL;
			for (unsigned q = 0; q < act[o + 2]; q++)
				if (act[o + 3 + q] >= dev->cfg.n_queues)
					return -EINVAL;
		}
		if (rej & (1ull << act[o]))
			return -ENOTSUP;
		fate = pk_op_is_fate(act[o]);
		o += act[o + 1];
	}
	return fate ? 0 : -EINVAL;
}

/* The pipeline checks the pause after it made the reader count odd (a
 * full fence between): either the burst sees the pause and forwards
 * nothing, or hw_sync() sees the burst and waits for it to end. */
void hw_pause(struct hw_dev *dev, int on)
{
	if (!on) {
		__atomic_fetch_sub(&dev->paused, 1, __ATOMIC_RELEASE);
		return;
	}
	__atomic_fetch_add(&dev->paused, 1, __ATOMIC_SEQ_CST);
	hw_sync(dev);
}

uint64_t hw_dev_reset(struct hw_dev *dev)
{
	uint64_t lost = 0;

	for (uint32_t i = 0; i < dev->n_tables; i++) {
		struct hw_table *t = dev->tables[i];
		pthread_mutex_lock(&t->wlock);
		lost += hw_table_clear(t, hw_sync, dev);
		pthread_mutex_unlock(&t->wlock);
	}
	return lost;
}

void hw_fail_ops(struct hw_dev *dev, unsigned count, int err)
{
	pthread_mutex_lock(&dev->fail_lock);
	dev->fail_err = err;
	STORE_REL(&dev->fail_count, count);
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
	if ((err = fault(dev)) || (err = rejected(dev, act, act_len)))
		return err;
	t = dev->tables[table];
	pthread_mutex_lock(&t->wlock);
	err = hw_table_insert(t, key, mask, prio, act, act_len, id, hw_sync, dev);
	pthread_mutex_unlock(&t->wlock);
	return err;
}

int hw_entry_add_batch(struct hw_dev *dev, uint32_t table,
		       const struct hw_entry_req *r, unsigned n, uint32_t *ids,
		       int *results)
{
	struct hw_table *t;
	int added = 0;

	if (table >= dev->n_tables)
		return -ENOENT;
	t = dev->tables[table];
	/* The buckets of the whole batch are fetched at once, so their memory
	 * latencies overlap instead of adding up. */
	for (unsigned i = 0; i < n; i++)
		hw_table_prefetch_insert(t, r[i].key);
	pthread_mutex_lock(&t->wlock);
	for (unsigned i = 0; i < n; i++) {
		int err = fault(dev);
		if (!err)
			err = rejected(dev, r[i].act, r[i].act_len);
		if (!err)
			err = hw_table_insert(t, r[i].key, r[i].mask, r[i].prio, r[i].act,
					      r[i].act_len, &ids[i], hw_sync, dev);
		results[i] = err;
		added += !err;
	}
	pthread_mutex_unlock(&t->wlock);
	return added;
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
	if ((err = fault(dev)) || (err = rejected(dev, act, act_len)))
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

int hw_entry_carry(struct hw_dev *dev, uint32_t table, uint32_t id,
		   const struct hw_entry_counters *c)
{
	struct hw_table *t;
	int err;

	if (table >= dev->n_tables)
		return -ENOENT;
	t = dev->tables[table];
	pthread_mutex_lock(&t->wlock);
	err = hw_table_carry(t, id, c->packets, c->bytes, c->last_hit_ns);
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
	if (LOAD_ACQ(&p->netdev) || LOAD_ACQ(&p->pcap_in))
		return -EBUSY; /* the attachment is the port's only input */
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

ssize_t hw_capture(struct hw_dev *dev, uint32_t port, void *buf, size_t cap)
{
	struct hw_slot *s;
	ssize_t len;

	if (port >= dev->n_ports)
		return -ENOENT;
	if (LOAD_ACQ(&dev->ports[port].netdev))
		return -EBUSY; /* its packets go to the interface */
	if (!(s = ring_cons(&dev->ports[port].tx)))
		return -EAGAIN;
	if (s->len > cap)
		return -EMSGSIZE;
	memcpy(buf, s->buf, s->len);
	len = s->len;
	ring_pop(&dev->ports[port].tx);
	return len;
}
