/* SPDX-License-Identifier: MIT */
/*
 * hwsim host queues: the buffer pool, receive queues the pipeline fills
 * with packets for the slow path, and transmit queues the switch fills.
 *
 * The pool is a lock-free stack of buffer indices whose head carries a tag
 * against ABA; alloc and free are one compare-and-swap each. Queues are
 * single-producer single-consumer rings of buffer pointers. A full queue or
 * an empty pool drops the packet and counts it; it never blocks the device.
 */
#include <errno.h>
#include <string.h>
#include "dev.h"

#define BUF_HDR 128 /* descriptor, rounded to cache lines */

int pring_init(struct hw_pring *r, uint32_t size)
{
	r->p = calloc(size, sizeof(*r->p));
	r->mask = size - 1;
	r->head = r->tail = 0;
	return r->p ? 0 : -ENOMEM;
}

static struct hw_pktbuf *buf_at(const struct hw_pool *p, uint32_t i)
{
	return (struct hw_pktbuf *)(p->mem + (size_t)i * p->stride);
}

int pool_init(struct hw_pool *p, uint32_t n)
{
	_Static_assert(sizeof(struct hw_pktbuf) <= BUF_HDR, "descriptor size");
	/* Every buffer holds the largest frame. The memory is not touched
	 * here: a buffer's pages become resident when it is first used, and
	 * the pool hands out the most recently freed buffer first, so a pool
	 * of jumbo-sized buffers carrying small frames stays small. */
	p->stride = BUF_HDR + HW_HEADROOM + HW_MAX_FRAME;
	p->n = n;
	p->mem = calloc(n, p->stride);
	p->next = calloc(n, sizeof(*p->next));
	if (!p->mem || !p->next)
		return -ENOMEM;
	for (uint32_t i = 0; i < n; i++)
		p->next[i] = i + 1 < n ? i + 2 : 0; /* index + 1; 0 ends */
	p->head = 1;
	p->n_free = n;
	return 0;
}

void pool_fini(struct hw_pool *p)
{
	free(p->mem);
	free(p->next);
}

struct hw_pktbuf *pool_get(struct hw_pool *p)
{
	uint64_t old = LOAD_ACQ(&p->head), nw;

	do {
		uint32_t i1 = (uint32_t)old;
		if (!i1)
			return NULL;
		nw = ((old >> 32) + 1) << 32 | LOAD_RLX(&p->next[i1 - 1]);
	} while (!__atomic_compare_exchange_n(&p->head, &old, nw, 1,
					      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	__atomic_fetch_sub(&p->n_free, 1, __ATOMIC_RELAXED);
	struct hw_pktbuf *b = buf_at(p, (uint32_t)old - 1);
	b->rsvd[0] = (uint32_t)old - 1;
	b->data = (uint8_t *)b + BUF_HDR + HW_HEADROOM;
	b->len = 0;
	b->buf_len = HW_MAX_FRAME;
	b->port = b->mark = b->hash = 0;
	b->reason = b->table = b->tx_flags = b->rsvd0 = 0;
	return b;
}

void pool_put(struct hw_pool *p, struct hw_pktbuf *b)
{
	/* The index from the address (callers checked pool_owns), not from a
	 * field the application can write. */
	uint32_t i = (uint32_t)(((uint8_t *)b - p->mem) / p->stride);
	uint64_t old = LOAD_ACQ(&p->head), nw;

	do {
		__atomic_store_n(&p->next[i], (uint32_t)old, __ATOMIC_RELAXED);
		nw = ((old >> 32) + 1) << 32 | (i + 1);
	} while (!__atomic_compare_exchange_n(&p->head, &old, nw, 1,
					      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	__atomic_fetch_add(&p->n_free, 1, __ATOMIC_RELAXED);
}

int pool_owns(const struct hw_pool *p, const struct hw_pktbuf *b)
{
	const uint8_t *a = (const uint8_t *)b;

	return a >= p->mem && a < p->mem + (size_t)p->n * p->stride &&
	       (size_t)(a - p->mem) % p->stride == 0;
}

uint8_t *pool_buf_start(const struct hw_pool *p, const struct hw_pktbuf *b)
{
	(void)p;
	return (uint8_t *)b + BUF_HDR;
}

uint8_t *pool_buf_end(const struct hw_pool *p, const struct hw_pktbuf *b)
{
	return (uint8_t *)b + p->stride;
}

void hostq_deliver(struct hw_dev *dev, const struct hw_pkt *pk,
		   enum hw_host_reason why, uint32_t table, uint32_t queue,
		   uint32_t rx_port, uint32_t hash)
{
	struct hw_hostq *q;
	struct hw_pktbuf *b;

	if (queue >= dev->cfg.n_queues) {
		uint32_t r = rx_port < dev->n_ports ? LOAD_ACQ(&dev->rxq[rx_port]) : 0;
		queue = r ? (r >> 16) + hash % (r & 0xffff) : hash % dev->cfg.n_queues;
	}
	q = &dev->hostq[queue];
	if (pk->len > HW_MAX_FRAME) { /* grown by a push or an encapsulation */
		STAT_ADD(q->rx_drops, 1);
		return;
	}
	struct hw_pcap *pc = LOAD_ACQ(&dev->pcap_host);
	if (pc)
		pcap_write(pc, pk->data, pk->len, 0);
	if (!(b = pool_get(&dev->pool))) {
		STAT_ADD(q->rx_drops, 1);
		return;
	}
	memcpy(b->data, pk->data, pk->len);
	b->len = pk->len;
	b->port = pk->in_port;
	b->mark = pk->mark;
	b->reason = (uint16_t)why;
	b->table = (uint16_t)table;
	b->hash = hash;
	if (pring_put(&q->rx, b)) {
		pool_put(&dev->pool, b);
		STAT_ADD(q->rx_drops, 1);
		return;
	}
	STAT_ADD(q->rx_packets, 1);
}

/* The slow path sends to a bond: the device picks the member. */
static void emit_bond(struct hw_dev *dev, struct hw_pktbuf *b)
{
	struct hw_pkt pk = { .data = b->data, .len = b->len, .in_port = b->port };
	uint32_t m;

	hw_parse(&pk);
	m = hw_bond_pick(dev, b->port, &pk);
	if (m != ~0u)
		hw_emit(dev, m, m, b->data, b->len);
}

unsigned hostq_drain_tx(struct hw_dev *dev, unsigned budget, uint64_t now)
{
	unsigned done = 0;

	for (uint32_t qi = 0; qi < dev->cfg.n_queues && done < budget; qi++) {
		struct hw_hostq *q = &dev->hostq[qi];
		struct hw_pktbuf *b;

		for (int i = 0; i < HW_BURST && done < budget && (b = pring_get(&q->tx)); i++) {
			if (b->tx_flags == HW_TX_PIPELINE)
				hw_process(dev, b->port, b->data, b->len,
					   (uint32_t)(b->data - pool_buf_start(&dev->pool, b)),
					   now);
			else if (b->port < dev->n_ports)
				hw_emit(dev, b->port, b->port, b->data, b->len);
			else
				emit_bond(dev, b);
			pool_put(&dev->pool, b);
			STAT_ADD(q->tx_packets, 1);
			done++;
		}
	}
	return done;
}

int hw_host_rx_burst(struct hw_dev *dev, uint32_t qi, struct hw_pktbuf **b,
		     unsigned n)
{
	struct hw_pring *r;
	unsigned i;

	if (qi >= dev->cfg.n_queues)
		return -EINVAL;
	r = &dev->hostq[qi].rx;
	for (i = 0; i < n && (b[i] = pring_get(r)); i++)
		;
	return (int)i;
}

enum hw_tx_bad hw_host_tx_check(const struct hw_dev *dev, const struct hw_pktbuf *p)
{
	if (!p)
		return HW_TXB_NULL;
	if (!pool_owns(&dev->pool, p))
		return HW_TXB_POOL;
	if (p->tx_flags > HW_TX_PIPELINE)
		return HW_TXB_FLAGS;
	if (p->port >= dev->n_ports + (p->tx_flags == HW_TX_PORT ? HW_MAX_BONDS : 0))
		return HW_TXB_PORT;
	if (p->len < 14 || p->len > HW_MAX_FRAME)
		return HW_TXB_LEN;
	if (p->data < pool_buf_start(&dev->pool, p) ||
	    p->data + p->len > pool_buf_end(&dev->pool, p))
		return HW_TXB_DATA;
	return HW_TXB_OK;
}

int hw_host_tx_burst(struct hw_dev *dev, uint32_t qi, struct hw_pktbuf **b,
		     unsigned n)
{
	struct hw_pring *r;
	unsigned i;

	if (qi >= dev->cfg.n_queues)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (hw_host_tx_check(dev, b[i]) != HW_TXB_OK)
			return -EINVAL;
	r = &dev->hostq[qi].tx;
	for (i = 0; i < n && !pring_put(r, b[i]); i++)
		;
	return (int)i;
}

struct hw_pktbuf *hw_pkt_alloc(struct hw_dev *dev)
{
	return pool_get(&dev->pool);
}

void hw_pkt_free(struct hw_dev *dev, struct hw_pktbuf *b)
{
	if (b && pool_owns(&dev->pool, b))
		pool_put(&dev->pool, b);
}

int hw_queue_counters(struct hw_dev *dev, uint32_t qi,
		      struct hw_queue_counters *c)
{
	struct hw_hostq *q;

	if (qi >= dev->cfg.n_queues)
		return -EINVAL;
	q = &dev->hostq[qi];
	c->rx_packets = LOAD_RLX(&q->rx_packets);
	c->rx_drops = LOAD_RLX(&q->rx_drops);
	c->tx_packets = LOAD_RLX(&q->tx_packets);
	c->rx_depth = pring_count(&q->rx);
	c->tx_depth = pring_count(&q->tx);
	c->pool_size = dev->pool.n;
	c->pool_free = LOAD_RLX(&dev->pool.n_free);
	return 0;
}
