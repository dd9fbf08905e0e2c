/* SPDX-License-Identifier: MIT */
/*
 * The driver side of the host-queue data rings (drv_hostq.h,
 * docs/device-interface.md section 11.2-11.4).
 *
 * The DMA region holds, 64-byte aligned, each ring's descriptor table,
 * avail ring and used ring (receive then transmit per host queue, then the
 * control pair), then the packet buffers. A buffer is
 *     [32-byte header slot][HEADROOM][max_frame], rounded up to 64 bytes;
 * the application's part starts after the header slot. A receive buffer is
 * posted at HEADROOM so that the device's header lands right in front of
 * the frame's default place; a transmit packet's header is written in the
 * 32 bytes in front of its data (there are always 32: data lies in the
 * application's part), so every packet is one descriptor.
 *
 * The struct dpak_pkt descriptors are in ordinary memory, one per buffer,
 * by index (rsvd[0] holds it for the application's eyes; the index is
 * always computed from the descriptor's address). The pool is a lock-free
 * stack of indices whose head carries a tag against ABA. A byte per
 * buffer says who holds it (pool, application, a ring) so that a packet
 * sent twice or freed twice is refused rather than corrupting a ring.
 *
 * What the device writes is not trusted: used ids must name a chain this
 * side posted, lengths must fit the buffer, the header's version must be 1.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dpak/queue.h>
#include "core.h"
#include "drv_hostq.h"
#include "vring.h"

#define HEADROOM     128u
#define ALIGN        64u
#define CTRL_SIZE    64u
#define MIN_FRAME    14u
#define N_HOST_MAX   64u

enum { B_FREE = 0, B_APP = 1, B_RING = 2 };

struct hq_ring {
	struct vring_drv v;
	uint64_t desc_iova, avail_iova, used_iova;
	uint32_t size;
	uint32_t db;       /* doorbell offset in BAR4 */
	uint32_t fill;     /* receive: buffers to keep posted */
	uint16_t queue;    /* DEVIF_HQ_CTRL for the control pair */
	uint8_t dir;
	int lock;          /* the ring's one user at a time: its thread (rx_burst
			    * or tx_burst of the queue), pkt_alloc's reclaim
			    * (trylock), reset */
};

struct drv_hostq {
	struct drv_hostq_cfg cfg;
	uint32_t n_rings;
	struct hq_ring *ring;     /* rx(q) = 2q, tx(q) = 2q + 1, control last */
	uint8_t *buf;             /* first buffer */
	uint64_t buf_iova;
	size_t stride;
	uint32_t n_bufs;          /* pool_size + reserve */
	uint32_t reserve;         /* buffers for the receive rings' fill */
	struct dpak_pkt *pkt;     /* [n_bufs] */
	uint8_t *state;           /* [n_bufs] B_* */
	uint32_t *next;           /* [n_bufs] free stack links, index + 1 */
	uint64_t head;            /* tag << 32 | (index + 1), 0 empty */
	uint32_t n_free;
	uint32_t low;             /* pkt_alloc reclaims below this many free */
	uint64_t errors;
	int64_t ctrl_pending;     /* a control frame reaped, not yet copied out */
	uint32_t ctrl_pending_len;
};

#define RX(hq, q) (&(hq)->ring[2u * (q)])
#define TX(hq, q) (&(hq)->ring[2u * (q) + 1u])
#define CRX(hq)   (&(hq)->ring[2u * (hq)->cfg.queues])
#define CTX(hq)   (&(hq)->ring[2u * (hq)->cfg.queues + 1u])

static size_t align_up(size_t v, size_t a)
{
	return (v + a - 1) / a * a;
}

static uint32_t ring_size_of(const struct drv_hostq_cfg *cfg, uint32_t r)
{
	if (r >= 2u * cfg->queues)
		return cfg->queue_size < CTRL_SIZE ? cfg->queue_size : CTRL_SIZE;
	return cfg->queue_size;
}

/* Buffers a receive ring keeps posted: the ring's size, at most a share of
 * the pool (so that the rings' reserve stays below half the pool). */
static uint32_t rx_fill(const struct drv_hostq_cfg *cfg, uint32_t r)
{
	uint32_t per = cfg->pool_size / (2u * (cfg->queues + 1u)), sz = ring_size_of(cfg, r);

	if (!per)
		per = 1;
	return per < sz ? per : sz;
}

/* The receive rings' buffers come on top of the application's pool_size,
 * so that the application can take pool_size buffers however full the
 * rings are (as on hwsim, where the pool is the application's alone). */
static uint32_t rx_reserve(const struct drv_hostq_cfg *cfg)
{
	uint32_t n = 0;

	for (uint32_t r = 0; r < 2u * cfg->queues + 2u; r += 2)
		n += rx_fill(cfg, r);
	return n;
}

static size_t buf_stride(const struct drv_hostq_cfg *cfg)
{
	return align_up(DEVIF_META_BYTES + HEADROOM + (size_t)cfg->max_frame, ALIGN);
}

/* Offsets of every area; returns the bytes needed. */
static size_t layout(const struct drv_hostq_cfg *cfg, struct hq_ring *rings,
		     size_t *buf_off)
{
	size_t off = 0;
	uint32_t n = 2u * cfg->queues + 2u;

	for (uint32_t r = 0; r < n; r++) {
		uint32_t sz = ring_size_of(cfg, r);
		size_t d = off, a, u;

		off = align_up(d + vring_desc_bytes(sz), ALIGN);
		a = off;
		off = align_up(a + vring_avail_bytes(sz), ALIGN);
		u = off;
		off = align_up(u + vring_used_bytes(sz), ALIGN);
		if (rings) {
			rings[r].desc_iova = d;
			rings[r].avail_iova = a;
			rings[r].used_iova = u;
			rings[r].size = sz;
		}
	}
	*buf_off = off;
	return off + ((size_t)cfg->pool_size + rx_reserve(cfg)) * buf_stride(cfg);
}

size_t drv_hostq_dma_bytes(const struct drv_hostq_cfg *cfg)
{
	size_t b;

	return layout(cfg, NULL, &b);
}

/* ---- the pool ---------------------------------------------------------- */

static uint8_t *buf_at(const struct drv_hostq *hq, uint32_t i)
{
	return hq->buf + (size_t)i * hq->stride;
}

static uint64_t buf_iova(const struct drv_hostq *hq, const uint8_t *p)
{
	return hq->buf_iova + (uint64_t)(p - hq->buf);
}

static int64_t pool_get(struct drv_hostq *hq)
{
	uint64_t old = __atomic_load_n(&hq->head, __ATOMIC_ACQUIRE), nw;

	do {
		uint32_t i1 = (uint32_t)old;

		if (!i1)
			return -1;
		nw = ((old >> 32) + 1) << 32 |
		     __atomic_load_n(&hq->next[i1 - 1], __ATOMIC_RELAXED);
	} while (!__atomic_compare_exchange_n(&hq->head, &old, nw, 1,
					      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	__atomic_fetch_sub(&hq->n_free, 1, __ATOMIC_RELAXED);
	return (int64_t)(uint32_t)old - 1;
}

static void pool_put(struct drv_hostq *hq, uint32_t i)
{
	uint64_t old = __atomic_load_n(&hq->head, __ATOMIC_ACQUIRE), nw;

	__atomic_store_n(&hq->state[i], B_FREE, __ATOMIC_RELAXED);
	do {
		__atomic_store_n(&hq->next[i], (uint32_t)old, __ATOMIC_RELAXED);
		nw = ((old >> 32) + 1) << 32 | (i + 1);
	} while (!__atomic_compare_exchange_n(&hq->head, &old, nw, 1,
					      __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE));
	__atomic_fetch_add(&hq->n_free, 1, __ATOMIC_RELAXED);
}

/* The index of a packet descriptor of this pool, or -1. */
static int64_t pkt_index(const struct drv_hostq *hq, const struct dpak_pkt *p)
{
	uintptr_t a = (uintptr_t)p, b = (uintptr_t)hq->pkt;

	if (a < b || a >= b + (uintptr_t)hq->n_bufs * sizeof(*p) ||
	    (a - b) % sizeof(*p))
		return -1;
	return (int64_t)((a - b) / sizeof(*p));
}

static void pkt_init(struct drv_hostq *hq, uint32_t i)
{
	struct dpak_pkt *p = &hq->pkt[i];

	memset(p, 0, sizeof(*p));
	p->data = buf_at(hq, i) + DEVIF_META_BYTES + HEADROOM;
	p->buf_len = (uint32_t)(hq->stride - DEVIF_META_BYTES - HEADROOM);
	p->rsvd[0] = i;
}

/* ---- errors from the device -------------------------------------------- */

static void dev_error(struct drv_hostq *hq, const struct hq_ring *r,
		      const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void dev_error(struct drv_hostq *hq, const struct hq_ring *r,
		      const char *fmt, ...)
{
	uint64_t n = __atomic_add_fetch(&hq->errors, 1, __ATOMIC_RELAXED);
	char what[200], ring[48];
	va_list ap;

	if (n & (n - 1)) /* log the 1st, 2nd, 4th, ...: no flood */
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (r->queue == DEVIF_HQ_CTRL)
		snprintf(ring, sizeof(ring), "control %s ring",
			 r->dir == DEVIF_HQ_DIR_RX ? "receive" : "transmit");
	else
		snprintf(ring, sizeof(ring), "host queue %u %s ring", r->queue,
			 r->dir == DEVIF_HQ_DIR_RX ? "receive" : "transmit");
	dpak__log(DPAK_LOG_WARN, "pci: %s: %s (%llu ring errors so far)", ring, what,
		  (unsigned long long)n);
}

static void report_reap(struct drv_hostq *hq, struct hq_ring *r, int rc)
{
	if (rc == -EBADMSG)
		dev_error(hq, r, "used entry %u: the device returned an id that "
			  "names no buffer posted; skipped",
			  (uint16_t)(r->v.last_used - 1));
	else
		dev_error(hq, r, "the device's used index ran more than the ring's "
			  "%u entries ahead; ring stopped until reset", r->size);
}

/* ---- rings ------------------------------------------------------------- */

static void lock(int *l)
{
	while (__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(l, __ATOMIC_RELAXED))
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#else
			;
#endif
}

static int trylock(int *l)
{
	return !__atomic_exchange_n(l, 1, __ATOMIC_ACQUIRE);
}

static void unlock(int *l)
{
	__atomic_store_n(l, 0, __ATOMIC_RELEASE);
}

static void doorbell(struct drv_hostq *hq, uint32_t off, uint16_t idx)
{
	__atomic_store_n(&hq->cfg.bar4[off / 4], (uint32_t)idx, __ATOMIC_RELEASE);
}

/* Post free buffers to a receive ring up to its fill level: returns the
 * number posted. */
static unsigned rx_refill(struct drv_hostq *hq, struct hq_ring *r)
{
	unsigned n = 0;

	while (r->v.inflight < r->fill && vring_drv_free(&r->v)) {
		int64_t i = pool_get(hq);
		struct vring_seg s;

		if (i < 0)
			break;
		__atomic_store_n(&hq->state[i], B_RING, __ATOMIC_RELAXED);
		s.addr = buf_iova(hq, buf_at(hq, (uint32_t)i) + HEADROOM);
		s.len = (uint32_t)(hq->stride - HEADROOM);
		s.write = 1;
		if (vring_drv_add(&r->v, &s, 1, (uint32_t)i) < 0) {
			pool_put(hq, (uint32_t)i);
			break;
		}
		n++;
	}
	return n;
}

/* Transmit buffers the device has finished with back to the pool. */
static void tx_reclaim(struct drv_hostq *hq, struct hq_ring *r)
{
	uint32_t tok, len;
	int rc;

	while ((rc = vring_drv_reap(&r->v, &tok, &len)) != 0) {
		if (rc < 0)
			report_reap(hq, r, rc);
		else
			pool_put(hq, tok);
	}
}

static void ring_return(void *ctx, uint32_t tok)
{
	pool_put(ctx, tok);
}

static int rings_init(struct drv_hostq *hq)
{
	for (uint32_t r = 0; r < hq->n_rings; r++) {
		struct hq_ring *g = &hq->ring[r];
		int rc;

		g->queue = r < 2u * hq->cfg.queues ? (uint16_t)(r / 2) : DEVIF_HQ_CTRL;
		g->dir = r % 2 ? DEVIF_HQ_DIR_TX : DEVIF_HQ_DIR_RX;
		if (g->queue == DEVIF_HQ_CTRL)
			g->db = g->dir == DEVIF_HQ_DIR_RX ? DB_CTRLQ_RX : DB_CTRLQ_TX;
		else
			g->db = g->dir == DEVIF_HQ_DIR_RX ? DB_HQ_RX(g->queue) :
							    DB_HQ_TX(g->queue);
		rc = vring_drv_init(&g->v, g->size, hq->cfg.dma + g->desc_iova,
				    hq->cfg.dma + g->avail_iova,
				    hq->cfg.dma + g->used_iova);
		if (rc < 0)
			return rc;
		g->desc_iova += hq->cfg.dma_iova;
		g->avail_iova += hq->cfg.dma_iova;
		g->used_iova += hq->cfg.dma_iova;
	}
	return 0;
}

static void fill_all(struct drv_hostq *hq)
{
	for (uint32_t r = 0; r < hq->n_rings; r += 2) {
		rx_refill(hq, &hq->ring[r]);
		vring_drv_publish(&hq->ring[r].v);
	}
}

int drv_hostq_new(const struct drv_hostq_cfg *cfg, struct drv_hostq **out)
{
	struct drv_hostq *hq;
	size_t need, boff;
	int rc;

	*out = NULL;
	if (!cfg->queues || cfg->queues > N_HOST_MAX)
		return dpak__err(EINVAL, "pci: %u host queues (1 .. %u)", cfg->queues,
				 N_HOST_MAX);
	if (!vring_size_ok(cfg->queue_size))
		return dpak__err(EINVAL, "pci: host queue size %u is not a power of two "
				 "in 1 .. %u", cfg->queue_size, VRING_MAX_SIZE);
	if (!cfg->pool_size || cfg->pool_size > (1u << 24))
		return dpak__err(EINVAL, "pci: packet pool of %u buffers (1 .. %u)",
				 cfg->pool_size, 1u << 24);
	if (cfg->max_frame < MIN_FRAME || cfg->max_frame > (1u << 20))
		return dpak__err(EINVAL, "pci: MAX_FRAME %u out of range", cfg->max_frame);
	need = drv_hostq_dma_bytes(cfg);
	if (!cfg->dma || !cfg->bar4 || cfg->dma_len < need)
		return dpak__err(EINVAL, "pci: host queues need %zu DMA bytes, given %zu",
				 need, cfg->dma ? cfg->dma_len : 0);
	if ((uintptr_t)cfg->dma % ALIGN || cfg->dma_iova % ALIGN)
		return dpak__err(EINVAL, "pci: host queue DMA area at 0x%llx is not "
				 "%u-byte aligned", (unsigned long long)cfg->dma_iova, ALIGN);
	hq = calloc(1, sizeof(*hq));
	if (!hq)
		return dpak__err(ENOMEM, "pci: host queues: out of memory");
	hq->cfg = *cfg;
	hq->n_rings = 2u * cfg->queues + 2u;
	hq->ring = calloc(hq->n_rings, sizeof(*hq->ring));
	hq->reserve = rx_reserve(cfg);
	hq->n_bufs = cfg->pool_size + hq->reserve;
	hq->pkt = calloc(hq->n_bufs, sizeof(*hq->pkt));
	hq->state = calloc(hq->n_bufs, 1);
	hq->next = calloc(hq->n_bufs, sizeof(*hq->next));
	if (!hq->ring || !hq->pkt || !hq->state || !hq->next) {
		drv_hostq_free(hq);
		return dpak__err(ENOMEM, "pci: host queues: out of memory");
	}
	layout(cfg, hq->ring, &boff);
	hq->stride = buf_stride(cfg);
	hq->buf = cfg->dma + boff;
	hq->buf_iova = cfg->dma_iova + boff;
	if ((rc = rings_init(hq)) < 0) {
		drv_hostq_free(hq);
		return dpak__err(-rc, "pci: host queues: out of memory");
	}
	for (uint32_t r = 0; r < hq->n_rings; r += 2)
		hq->ring[r].fill = rx_fill(cfg, r);
	hq->low = cfg->pool_size / 16u;
	for (uint32_t i = 0; i < hq->n_bufs; i++) {
		pkt_init(hq, i);
		hq->next[i] = i + 1 < hq->n_bufs ? i + 2 : 0;
	}
	hq->head = 1;
	hq->n_free = hq->n_bufs;
	hq->ctrl_pending = -1;
	fill_all(hq);
	*out = hq;
	return 0;
}

void drv_hostq_free(struct drv_hostq *hq)
{
	if (!hq)
		return;
	if (hq->ring)
		for (uint32_t r = 0; r < hq->n_rings; r++)
			vring_drv_fini(&hq->ring[r].v);
	free(hq->ring);
	free(hq->pkt);
	free(hq->state);
	free(hq->next);
	free(hq);
}

unsigned drv_hostq_setup_records(struct drv_hostq *hq,
				 struct devif_hostq_setup *rec, unsigned max)
{
	unsigned n = 0;

	for (uint32_t r = 0; r < hq->n_rings && n < max; r++, n++) {
		const struct hq_ring *g = &hq->ring[r];

		memset(&rec[n], 0, sizeof(rec[n]));
		rec[n].queue = g->queue;
		rec[n].dir = g->dir;
		rec[n].flags = DEVIF_HQ_F_ENABLE;
		rec[n].size = (uint16_t)g->size;
		rec[n].vector = (uint16_t)(g->queue == DEVIF_HQ_CTRL ? DEVIF_VEC_CTRLQ :
					   DEVIF_VEC_HQ(g->queue));
		rec[n].desc = g->desc_iova;
		rec[n].avail = g->avail_iova;
		rec[n].used = g->used_iova;
	}
	return n;
}

/* A reset may come from any thread (a recovery noticed by any call) while
 * the queues' threads run: it takes every ring's lock, which the bursts
 * take uncontended otherwise. */
void drv_hostq_reset(struct drv_hostq *hq)
{
	for (uint32_t r = 0; r < hq->n_rings; r++)
		lock(&hq->ring[r].lock);
	for (uint32_t r = 0; r < hq->n_rings; r++)
		vring_drv_reset(&hq->ring[r].v, ring_return, hq);
	if (hq->ctrl_pending >= 0) {
		pool_put(hq, (uint32_t)hq->ctrl_pending);
		hq->ctrl_pending = -1;
	}
	fill_all(hq);
	for (uint32_t r = 0; r < hq->n_rings; r++)
		unlock(&hq->ring[r].lock);
}

void drv_hostq_start(struct drv_hostq *hq)
{
	for (uint32_t r = 0; r < hq->n_rings; r += 2) {
		struct hq_ring *g = &hq->ring[r];

		lock(&g->lock);
		doorbell(hq, g->db, vring_drv_publish(&g->v));
		unlock(&g->lock);
	}
}

/* ---- receive ----------------------------------------------------------- */

/* Check a used receive buffer: 0 and the header, or -1 (counted). */
static int rx_check(struct drv_hostq *hq, struct hq_ring *r, uint32_t i,
		    uint32_t len, struct devif_meta *m)
{
	if (len < DEVIF_META_BYTES + 1 || len > hq->stride - HEADROOM) {
		dev_error(hq, r, "buffer %u: the device wrote %u bytes, not in "
			  "%u-%zu; packet dropped", i, len, DEVIF_META_BYTES + 1,
			  hq->stride - HEADROOM);
		return -1;
	}
	memcpy(m, buf_at(hq, i) + HEADROOM, sizeof(*m));
	if (m->version != DEVIF_META_VERSION) {
		dev_error(hq, r, "buffer %u: metadata header version %u, not %u; "
			  "packet dropped", i, m->version, DEVIF_META_VERSION);
		return -1;
	}
	return 0;
}

int drv_hostq_rx_burst(struct drv_hostq *hq, uint16_t q, struct dpak_pkt **pkts,
		       uint16_t n)
{
	struct hq_ring *r;
	uint16_t got = 0;

	if (q >= hq->cfg.queues)
		return dpak__err(EINVAL, "rx_burst: queue %u does not exist (device has %u)",
				 q, hq->cfg.queues);
	r = RX(hq, q);
	lock(&r->lock);
	while (got < n) {
		struct devif_meta m;
		struct dpak_pkt *p;
		uint32_t i, len;
		int rc = vring_drv_reap(&r->v, &i, &len);

		if (!rc)
			break;
		if (rc < 0) {
			report_reap(hq, r, rc);
			continue;
		}
		if (rx_check(hq, r, i, len, &m) < 0) {
			pool_put(hq, i);
			continue;
		}
		p = &hq->pkt[i];
		pkt_init(hq, i);
		p->len = len - DEVIF_META_BYTES;
		p->port = m.port;
		p->mark = m.mark;
		p->hash = m.hash;
		p->reason = m.reason_or_flags;
		p->table = m.table;
		__atomic_store_n(&hq->state[i], B_APP, __ATOMIC_RELAXED);
		pkts[got++] = p;
	}
	if (rx_refill(hq, r))
		doorbell(hq, r->db, vring_drv_publish(&r->v));
	unlock(&r->lock);
	return got;
}

/* ---- transmit ---------------------------------------------------------- */

static int tx_check(struct drv_hostq *hq, struct dpak_pkt **pkts, uint16_t n)
{
	for (unsigned k = 0; k < n; k++) {
		const struct dpak_pkt *p = pkts[k];
		int64_t i = p ? pkt_index(hq, p) : -1;
		uint8_t *lo, *hi;

		if (!p)
			return dpak__err(EINVAL, "tx_burst: packet %u is NULL; none sent", k);
		if (i < 0)
			return dpak__err(EINVAL, "tx_burst: packet %u is not from this "
					 "device's pool (dpak_pkt_alloc or dpak_rx_burst); "
					 "none sent", k);
		if (__atomic_load_n(&hq->state[i], __ATOMIC_RELAXED) != B_APP)
			return dpak__err(EINVAL, "tx_burst: packet %u is not the "
					 "application's (already sent or freed); none sent", k);
		for (unsigned j = 0; j < k; j++)
			if (pkts[j] == p)
				return dpak__err(EINVAL, "tx_burst: packet %u is packet %u "
						 "again; none sent", k, j);
		if (p->tx_flags > DPAK_TX_PIPELINE)
			return dpak__err(EINVAL, "tx_burst: packet %u: tx_flags %u is not "
					 "DPAK_TX_PORT or DPAK_TX_PIPELINE; none sent", k,
					 p->tx_flags);
		if (hq->cfg.n_ports &&
		    p->port >= hq->cfg.n_ports + (p->tx_flags == DPAK_TX_PORT ?
						   hq->cfg.bond_ports : 0))
			return dpak__err(EINVAL, "tx_burst: packet %u: port %u does not "
					 "exist%s; none sent", k, p->port,
					 p->tx_flags == DPAK_TX_PIPELINE ?
					 " (the pipeline takes packets on ports, not bonds)" : "");
		if (p->len < MIN_FRAME || p->len > hq->cfg.max_frame)
			return dpak__err(EINVAL, "tx_burst: packet %u: length %u is not in "
					 "%u-%u bytes; none sent", k, p->len, MIN_FRAME,
					 hq->cfg.max_frame);
		lo = buf_at(hq, (uint32_t)i) + DEVIF_META_BYTES;
		hi = buf_at(hq, (uint32_t)i) + hq->stride;
		if (p->data < lo || p->data > hi || p->len > (size_t)(hi - p->data))
			return dpak__err(EINVAL, "tx_burst: packet %u: its data (len %u) "
					 "lies outside its buffer (buf_len %u); none sent",
					 k, p->len, p->buf_len);
	}
	return 0;
}

static void meta_tx(uint8_t *at, uint32_t port, uint16_t flags)
{
	struct devif_meta m;

	memset(&m, 0, sizeof(m));
	m.vnet_num_buffers = 1;
	m.port = port;
	m.reason_or_flags = flags;
	m.version = DEVIF_META_VERSION;
	memcpy(at, &m, sizeof(m));
}

int drv_hostq_tx_burst(struct drv_hostq *hq, uint16_t q, struct dpak_pkt **pkts,
		       uint16_t n)
{
	struct hq_ring *r;
	uint16_t k;
	int rc;

	if (q >= hq->cfg.queues)
		return dpak__err(EINVAL, "tx_burst: queue %u does not exist (device has %u)",
				 q, hq->cfg.queues);
	if ((rc = tx_check(hq, pkts, n)) < 0)
		return rc;
	r = TX(hq, q);
	lock(&r->lock);
	tx_reclaim(hq, r);
	for (k = 0; k < n && vring_drv_free(&r->v); k++) {
		struct dpak_pkt *p = pkts[k];
		uint32_t i = (uint32_t)pkt_index(hq, p);
		struct vring_seg s;

		meta_tx(p->data - DEVIF_META_BYTES, p->port, p->tx_flags);
		s.addr = buf_iova(hq, p->data - DEVIF_META_BYTES);
		s.len = DEVIF_META_BYTES + p->len;
		s.write = 0;
		__atomic_store_n(&hq->state[i], B_RING, __ATOMIC_RELAXED);
		vring_drv_add(&r->v, &s, 1, i);
	}
	if (k)
		doorbell(hq, r->db, vring_drv_publish(&r->v));
	unlock(&r->lock);
	return k;
}

/* Reclaim every transmit ring no other thread is using now. */
static void reclaim_all(struct drv_hostq *hq)
{
	for (uint32_t q = 0; q <= hq->cfg.queues; q++) {
		struct hq_ring *r = q < hq->cfg.queues ? TX(hq, q) : CTX(hq);

		if (trylock(&r->lock)) {
			tx_reclaim(hq, r);
			unlock(&r->lock);
		}
	}
}

struct dpak_pkt *drv_hostq_pkt_alloc(struct drv_hostq *hq)
{
	int64_t i;

	if (__atomic_load_n(&hq->n_free, __ATOMIC_RELAXED) <= hq->low)
		reclaim_all(hq);
	i = pool_get(hq);
	if (i < 0) {
		errno = ENOBUFS;
		return NULL;
	}
	pkt_init(hq, (uint32_t)i);
	__atomic_store_n(&hq->state[i], B_APP, __ATOMIC_RELAXED);
	return &hq->pkt[i];
}

void drv_hostq_pkt_free(struct drv_hostq *hq, struct dpak_pkt *pkt)
{
	int64_t i;
	uint8_t app = B_APP;

	if (!pkt || (i = pkt_index(hq, pkt)) < 0)
		return;
	/* Only the application's packets: a double free is ignored. */
	if (__atomic_compare_exchange_n(&hq->state[i], &app, B_FREE, 0,
					__ATOMIC_RELAXED, __ATOMIC_RELAXED))
		pool_put(hq, (uint32_t)i);
}

/* Empty buffers posted to a receive ring (racy from another thread, as
 * any occupancy figure is). */
static uint32_t rx_posted_empty(struct hq_ring *r)
{
	uint16_t u = __atomic_load_n(&r->v.vr.used->idx, __ATOMIC_ACQUIRE);
	uint16_t d = (uint16_t)(u - __atomic_load_n(&r->v.last_used, __ATOMIC_RELAXED));
	uint32_t in = __atomic_load_n(&r->v.inflight, __ATOMIC_RELAXED);

	return d <= in ? in - d : 0;
}

void drv_hostq_depths(struct drv_hostq *hq, uint16_t q, uint32_t *rx_depth,
		      uint32_t *tx_depth, uint32_t *pool_size, uint32_t *pool_free)
{
	uint32_t empty = 0, n_free;

	*rx_depth = *tx_depth = 0;
	reclaim_all(hq);
	if (q < hq->cfg.queues) {
		struct hq_ring *rx = RX(hq, q), *tx = TX(hq, q);
		uint16_t u = __atomic_load_n(&rx->v.vr.used->idx, __ATOMIC_ACQUIRE);
		uint16_t d = (uint16_t)(u - __atomic_load_n(&rx->v.last_used,
							    __ATOMIC_RELAXED));

		*rx_depth = d <= rx->size ? d : 0;
		u = __atomic_load_n(&tx->v.vr.used->idx, __ATOMIC_ACQUIRE);
		d = (uint16_t)(__atomic_load_n(&tx->v.avail_idx, __ATOMIC_RELAXED) - u);
		*tx_depth = d <= tx->size ? d : 0;
	}
	for (uint32_t r = 0; r < hq->n_rings; r += 2)
		empty += rx_posted_empty(&hq->ring[r]);
	/* Free for the application: the pool's free buffers and the empty
	 * ones posted, less the rings' reserve. */
	n_free = __atomic_load_n(&hq->n_free, __ATOMIC_RELAXED) + empty;
	*pool_size = hq->cfg.pool_size;
	*pool_free = n_free > hq->reserve ? n_free - hq->reserve : 0;
	if (*pool_free > *pool_size)
		*pool_free = *pool_size;
}

uint64_t drv_hostq_errors(const struct drv_hostq *hq)
{
	return __atomic_load_n(&hq->errors, __ATOMIC_RELAXED);
}

/* ---- control queue ----------------------------------------------------- */

static ssize_t ctrl_recv_locked(struct drv_hostq *hq, struct hq_ring *r, void *buf,
				size_t cap, uint32_t *port)
{
	struct devif_meta m;
	uint32_t i, len;
	int rc;

	while (hq->ctrl_pending < 0) {
		rc = vring_drv_reap(&r->v, &i, &len);
		if (!rc)
			return 0;
		if (rc < 0) {
			report_reap(hq, r, rc);
			continue;
		}
		if (rx_check(hq, r, i, len, &m) < 0) {
			pool_put(hq, i);
		} else if (m.reason_or_flags != DEVIF_REASON_CTRL) {
			dev_error(hq, r, "buffer %u: reason 0x%x, not 0x%x; frame "
				  "dropped", i, m.reason_or_flags, DEVIF_REASON_CTRL);
			pool_put(hq, i);
		} else {
			hq->ctrl_pending = i;
			hq->ctrl_pending_len = len;
		}
		if (rx_refill(hq, r))
			doorbell(hq, r->db, vring_drv_publish(&r->v));
	}
	i = (uint32_t)hq->ctrl_pending;
	len = hq->ctrl_pending_len - DEVIF_META_BYTES;
	if (len > cap)
		return dpak__err(ENOSPC, "ctrl_recv: a %u-byte frame does not fit %zu "
				 "bytes", len, cap);
	memcpy(&m, buf_at(hq, i) + HEADROOM, sizeof(m));
	memcpy(buf, buf_at(hq, i) + HEADROOM + DEVIF_META_BYTES, len);
	if (port)
		*port = m.port;
	hq->ctrl_pending = -1;
	pool_put(hq, i);
	if (rx_refill(hq, r))
		doorbell(hq, r->db, vring_drv_publish(&r->v));
	return len;
}

ssize_t drv_hostq_ctrl_recv(struct drv_hostq *hq, void *buf, size_t cap,
			    uint32_t *port)
{
	struct hq_ring *r = CRX(hq);
	ssize_t rc;

	lock(&r->lock);
	rc = ctrl_recv_locked(hq, r, buf, cap, port);
	unlock(&r->lock);
	return rc;
}

int drv_hostq_ctrl_send(struct drv_hostq *hq, uint32_t port, const void *pkt,
			size_t len)
{
	struct hq_ring *r = CTX(hq);
	struct vring_seg s;
	uint8_t *b;
	int64_t i;

	if (!pkt || len < MIN_FRAME || len > hq->cfg.max_frame)
		return dpak__err(EINVAL, "ctrl_send: length %zu is not in %u-%u bytes",
				 len, MIN_FRAME, hq->cfg.max_frame);
	lock(&r->lock);
	tx_reclaim(hq, r);
	if (!vring_drv_free(&r->v)) {
		unlock(&r->lock);
		return dpak__err(ENOBUFS, "ctrl_send: the control transmit ring is full");
	}
	if ((i = pool_get(hq)) < 0) {
		unlock(&r->lock);
		return dpak__err(ENOBUFS, "ctrl_send: no packet buffer free");
	}
	__atomic_store_n(&hq->state[i], B_RING, __ATOMIC_RELAXED);
	b = buf_at(hq, (uint32_t)i) + HEADROOM;
	meta_tx(b, port, 0);
	memcpy(b + DEVIF_META_BYTES, pkt, len);
	s.addr = buf_iova(hq, b);
	s.len = (uint32_t)(DEVIF_META_BYTES + len);
	s.write = 0;
	vring_drv_add(&r->v, &s, 1, (uint32_t)i);
	doorbell(hq, r->db, vring_drv_publish(&r->v));
	unlock(&r->lock);
	return 0;
}
