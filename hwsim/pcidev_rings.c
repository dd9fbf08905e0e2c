/* SPDX-License-Identifier: MIT */
/*
 * The device side of the host-queue data rings of hwsim's PCIe front end
 * (pcidev_rings.h, docs/device-interface.md section 11.2-11.4).
 *
 * Each enabled ring is a split virtqueue in the driver's DMA window, read
 * and written through the window's translator (every address checked).
 * The device polls the avail rings (section 4.1 lets it); the doorbells
 * only tell a device where to look. Transmit chains become hwsim packet
 * buffers on hwsim's host transmit queues; hwsim's host receive queues are
 * copied, header first, into the receive chains the driver posted. A
 * chain the device cannot use (an address outside the window, a loop, a
 * bad index or flag, a frame hwsim refuses) is returned used with len 0
 * and counted as a ring error; nothing the driver writes stops the device.
 *
 * No allocation per packet: the scratch frame for the control channel is
 * allocated once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "pcidev_rings.h"
#include "backends/pci/vring.h"

#define BURST 32

struct fe_ring {
	struct vring_dev v;
	int on;
};

struct fe_rings {
	struct vring_window win;
	struct vring_xlate x;
	volatile uint32_t *bar4;
	uint32_t max_queues;
	struct fe_ring *rx, *tx;  /* [max_queues] */
	struct fe_ring crx, ctx;
	uint64_t *rx_drops;       /* [max_queues]: no buffer posted, frame too long */
	uint64_t ctrl_rx, ctrl_drops, ctrl_tx;
	uint64_t errors;
	uint8_t *scratch;         /* a control frame */
};

int fe_rings_new(const struct fe_dma *dma, volatile uint32_t *bar4,
		 uint32_t max_queues, struct fe_rings **out)
{
	struct fe_rings *r;

	*out = NULL;
	if (!dma || !dma->base || !max_queues || max_queues > 64)
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->win.base = dma->base;
	r->win.iova = dma->iova;
	r->win.len = dma->len;
	r->x.map = vring_window_map;
	r->x.ctx = &r->win;
	r->bar4 = bar4;
	r->max_queues = max_queues;
	r->rx = calloc(max_queues, sizeof(*r->rx));
	r->tx = calloc(max_queues, sizeof(*r->tx));
	r->rx_drops = calloc(max_queues, sizeof(*r->rx_drops));
	r->scratch = malloc(HW_MAX_FRAME);
	if (!r->rx || !r->tx || !r->rx_drops || !r->scratch) {
		fe_rings_free(r);
		return -ENOMEM;
	}
	*out = r;
	return 0;
}

void fe_rings_free(struct fe_rings *r)
{
	if (!r)
		return;
	free(r->rx);
	free(r->tx);
	free(r->rx_drops);
	free(r->scratch);
	free(r);
}

int fe_rings_setup(struct fe_rings *r, const struct devif_hostq_setup *s)
{
	struct fe_ring *g;

	if (s->dir > DEVIF_HQ_DIR_TX ||
	    (s->flags & ~(DEVIF_HQ_F_ENABLE | DEVIF_HQ_F_EVENT_IDX)))
		return DEVIF_S_INVALID;
	if (s->queue == DEVIF_HQ_CTRL)
		g = s->dir == DEVIF_HQ_DIR_RX ? &r->crx : &r->ctx;
	else if (s->queue < r->max_queues)
		g = s->dir == DEVIF_HQ_DIR_RX ? &r->rx[s->queue] : &r->tx[s->queue];
	else
		return DEVIF_S_INVALID;
	if (!(s->flags & DEVIF_HQ_F_ENABLE)) {
		memset(g, 0, sizeof(*g));
		return DEVIF_S_OK;
	}
	{
		struct vring_dev v;

		/* A failed setup leaves the ring as it was. */
		if (vring_dev_init(&v, &r->x, s->size, s->desc, s->avail, s->used,
				   !!(s->flags & DEVIF_HQ_F_EVENT_IDX)) < 0)
			return DEVIF_S_INVALID;
		g->v = v;
		g->on = 1;
	}
	return DEVIF_S_OK;
}

void fe_rings_reset(struct fe_rings *r)
{
	for (uint32_t q = 0; q < r->max_queues; q++) {
		memset(&r->rx[q], 0, sizeof(r->rx[q]));
		memset(&r->tx[q], 0, sizeof(r->tx[q]));
	}
	memset(&r->crx, 0, sizeof(r->crx));
	memset(&r->ctx, 0, sizeof(r->ctx));
}

uint64_t fe_rings_errors(const struct fe_rings *r)
{
	return r->errors;
}

/* Chains available on an enabled ring (a broken ring counts once). */
static unsigned ring_avail(struct fe_rings *r, struct fe_ring *g)
{
	int n;

	if (!g->on)
		return 0;
	n = vring_dev_avail(&g->v);
	if (n < 0) {
		r->errors++;
		return 0;
	}
	return (unsigned)n;
}

/* ---- transmit ---------------------------------------------------------- */

static unsigned tx_ring(struct fe_rings *r, struct fe_ring *g, uint32_t q,
			struct hw_dev *dev)
{
	struct { uint16_t head; struct hw_pktbuf *b; } e[BURST];
	struct hw_pktbuf *bb[BURST];
	unsigned n = ring_avail(r, g), k, nb, good, taken = 0;
	int acc = 0;

	if (n > BURST)
		n = BURST;
	for (k = 0; k < n; k++) {
		struct devif_meta m;
		struct hw_pktbuf *b = hw_pkt_alloc(dev);
		struct vring_iov iov[2];
		long got;

		e[k].head = vring_dev_head(&g->v, k);
		e[k].b = NULL;
		if (!b)
			break; /* hwsim's pool is empty: the rest waits */
		iov[0].p = &m;
		iov[0].len = sizeof(m);
		iov[1].p = b->data;
		iov[1].len = b->buf_len;
		got = vring_dev_read(&g->v, e[k].head, iov, 2);
		if (got <= (long)sizeof(m)) {
			hw_pkt_free(dev, b);
			continue;
		}
		b->len = (uint32_t)(got - (long)sizeof(m));
		b->port = m.port;
		b->tx_flags = m.reason_or_flags;
		e[k].b = b;
	}
	n = k;
	for (int tries = 0; tries < 2; tries++) {
		nb = 0;
		for (k = 0; k < n; k++)
			if (e[k].b)
				bb[nb++] = e[k].b;
		acc = nb ? hw_host_tx_burst(dev, q, bb, nb) : 0;
		if (acc != -EINVAL)
			break;
		/* Drop the buffers hwsim refuses (bad port, flags, length). */
		for (k = 0; k < n; k++)
			if (e[k].b && hw_host_tx_check(dev, e[k].b) != HW_TXB_OK) {
				hw_pkt_free(dev, e[k].b);
				e[k].b = NULL;
			}
	}
	if (acc < 0) { /* refused all the same: every one is an error */
		for (k = 0; k < n; k++)
			if (e[k].b) {
				hw_pkt_free(dev, e[k].b);
				e[k].b = NULL;
			}
		acc = 0;
	}
	/* Take chains in ring order up to the first one hwsim had no room for;
	 * that one and those after it are tried again next time. */
	for (k = 0, good = 0; k < n; k++) {
		if (e[k].b) {
			if (good == (unsigned)acc)
				break;
			good++;
			taken++;
		} else {
			r->errors++;
		}
		vring_dev_put(&g->v, e[k].head, 0);
	}
	vring_dev_take(&g->v, k);
	for (unsigned j = k; j < n; j++)
		if (e[j].b)
			hw_pkt_free(dev, e[j].b);
	if (k)
		vring_dev_publish(&g->v);
	return taken;
}

static unsigned ctrl_tx(struct fe_rings *r, struct hw_dev *dev)
{
	struct fe_ring *g = &r->ctx;
	unsigned n = ring_avail(r, g), taken = 0, k;

	if (n > BURST)
		n = BURST;
	for (k = 0; k < n; k++) {
		uint16_t head = vring_dev_head(&g->v, k);
		struct devif_meta m;
		struct vring_iov iov[2] = {
			{ .p = &m, .len = sizeof(m) },
			{ .p = r->scratch, .len = HW_MAX_FRAME },
		};
		long got = vring_dev_read(&g->v, head, iov, 2);
		int rc = -EINVAL;

		if (got > (long)sizeof(m))
			rc = hw_ctrl_send(dev, m.port, r->scratch,
					  (size_t)(got - (long)sizeof(m)));
		if (rc == -ENOBUFS)
			break; /* hwsim's channel is full: this one waits */
		if (rc < 0) {
			r->errors++;
		} else {
			taken++;
			r->ctrl_tx++;
		}
		vring_dev_put(&g->v, head, 0);
	}
	if (k) {
		vring_dev_take(&g->v, k);
		vring_dev_publish(&g->v);
	}
	return taken;
}

unsigned fe_rings_tx(struct fe_rings *r, struct hw_dev *dev)
{
	unsigned n = 0;

	for (uint32_t q = 0; q < r->max_queues; q++)
		if (r->tx[q].on)
			n += tx_ring(r, &r->tx[q], q, dev);
	return n + ctrl_tx(r, dev);
}

/* ---- receive ----------------------------------------------------------- */

/* Copy a header and frame into the ring's next chain: 1 delivered, 0
 * dropped (no chain, or the frame does not fit it: the chain stays). */
static int deliver(struct fe_rings *r, struct fe_ring *g, const struct devif_meta *m,
		   const void *frame, uint32_t len, int *put)
{
	struct vring_iov iov[2] = {
		{ .p = (void *)m, .len = sizeof(*m) },
		{ .p = (void *)frame, .len = len },
	};

	for (;;) {
		long w;

		if (!ring_avail(r, g))
			return 0;
		w = vring_dev_write(&g->v, vring_dev_head(&g->v, 0), iov, 2);
		if (w == -EMSGSIZE)
			return 0;
		vring_dev_put(&g->v, vring_dev_head(&g->v, 0), w < 0 ? 0 : (uint32_t)w);
		vring_dev_take(&g->v, 1);
		*put = 1;
		if (w >= 0)
			return 1;
		r->errors++; /* a bad chain: returned empty, try the next one */
	}
}

static void meta_rx(struct devif_meta *m, uint32_t port, uint32_t mark, uint32_t hash,
		    uint16_t reason, uint16_t table)
{
	memset(m, 0, sizeof(*m));
	m->vnet_num_buffers = 1;
	m->port = port;
	m->mark = mark;
	m->hash = hash;
	m->reason_or_flags = reason;
	m->table = table;
	m->version = DEVIF_META_VERSION;
}

unsigned fe_rings_rx(struct fe_rings *r, struct hw_dev *dev)
{
	unsigned done = 0;

	for (uint32_t q = 0; q < r->max_queues; q++) {
		struct fe_ring *g = &r->rx[q];
		struct hw_pktbuf *b[BURST];
		int n = hw_host_rx_burst(dev, q, b, BURST), put = 0;

		if (n < 0)
			break; /* hwsim has fewer queues */
		for (int k = 0; k < n; k++) {
			struct devif_meta m;

			meta_rx(&m, b[k]->port, b[k]->mark, b[k]->hash, b[k]->reason,
				b[k]->table);
			if (deliver(r, g, &m, b[k]->data, b[k]->len, &put))
				done++;
			else
				r->rx_drops[q]++;
			hw_pkt_free(dev, b[k]);
		}
		if (put)
			vring_dev_publish(&g->v);
	}
	{
		struct fe_ring *g = &r->crx;
		uint32_t port;
		ssize_t len;
		int put = 0;

		for (int k = 0; k < BURST &&
		     (len = hw_ctrl_recv(dev, r->scratch, HW_MAX_FRAME, &port)) > 0; k++) {
			struct devif_meta m;

			meta_rx(&m, port, 0, 0, DEVIF_REASON_CTRL, 0);
			if (deliver(r, g, &m, r->scratch, (uint32_t)len, &put)) {
				done++;
				r->ctrl_rx++;
			} else {
				r->ctrl_drops++;
			}
		}
		if (put)
			vring_dev_publish(&g->v);
	}
	return done;
}

void fe_rings_stats(struct fe_rings *r, struct hw_dev *dev, uint32_t q,
		    struct devif_hostq_stats_rec *rec)
{
	memset(rec, 0, sizeof(*rec));
	rec->queue = q;
	if (q == DEVIF_HQ_CTRL) {
		rec->rx_packets = r->ctrl_rx;
		rec->rx_drops = r->ctrl_drops;
		rec->tx_packets = r->ctrl_tx;
		return;
	}
	if (q < r->max_queues) {
		struct hw_queue_counters c;

		if (hw_queue_counters(dev, q, &c) == 0) {
			/* hwsim counts a packet into its queue; the rings may
			 * still drop it for want of a buffer. */
			uint64_t d = r->rx_drops[q];

			rec->rx_packets = c.rx_packets > d ? c.rx_packets - d : 0;
			rec->rx_drops = c.rx_drops + d;
			rec->tx_packets = c.tx_packets;
		} else {
			rec->rx_drops = r->rx_drops[q];
		}
	}
}
