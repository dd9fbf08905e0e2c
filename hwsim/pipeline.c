/* SPDX-License-Identifier: MIT */
/*
 * hwsim pipeline and engine: parse → look up the tables in order → apply
 * actions → emit on a port, or up to a host queue. The engine serves, in
 * bursts, the attached interfaces and pcap files, the ports' receive rings
 * and the host transmit queues; it runs in the caller (hw_run, step mode)
 * or in a thread of the device's own.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include "dev.h"

void hw_emit(struct hw_dev *dev, uint32_t drop_port, uint32_t out,
	     const uint8_t *data, uint32_t len)
{
	struct hw_port *p;
	struct hw_slot *s;

	if (out >= dev->n_ports)
		goto drop;
	p = &dev->ports[out];
	if (!LOAD_RLX(&p->link) || len > HW_HEADROOM + HW_MAX_FRAME ||
	    !(s = ring_prod(&p->tx)))
		goto drop;
	s->len = len;
	memcpy(s->buf, data, len);
	ring_push(&p->tx);
	STAT_ADD(p->tx_packets, 1);
	STAT_ADD(p->tx_bytes, len);
	struct hw_pcap *pc = LOAD_ACQ(&p->pcap_out);
	if (pc)
		pcap_write(pc, data, len, 0);
	return;
drop:
	STAT_ADD(dev->ports[drop_port].drops, 1);
}

/* The pipeline for a burst of packets, each processed in place (with its
 * headroom free for encapsulation). All start in table 0; tables are taken
 * in order, each with one bulk lookup for the packets that reached it
 * (jumps go forward only, so one pass over the tables serves the burst). */
void hw_process_burst(struct hw_dev *dev, uint32_t port, struct hw_pkt *pk,
		      unsigned n, uint64_t now)
{
	struct hw_port *in = &dev->ports[port];
	uint8_t keys[HW_BURST][PK_MAX_KEY];
	const uint8_t *kp[HW_BURST];
	struct hw_entry *hit[HW_BURST];
	uint8_t at[HW_BURST];   /* table each packet is bound for */
	unsigned live = 0, idx[HW_BURST];

	for (unsigned i = 0; i < n; i++) {
		STAT_ADD(in->rx_packets, 1);
		STAT_ADD(in->rx_bytes, pk[i].len);
		at[i] = 0;
		if (!LOAD_RLX(&in->link)) {
			STAT_ADD(in->drops, 1);
			at[i] = HW_MAX_TABLES; /* done */
			continue;
		}
		hw_parse(&pk[i]);
		uint32_t bi = LOAD_ACQ(&in->bond);
		if (bi) {
			/* A bond member: LACPDUs go to whoever runs LACP;
			 * everything else is received as on the bond, if
			 * the member may receive (IEEE 802.1AX-2020 6.4.15:
			 * a port that is not collecting discards; active-
			 * backup: only the active member). On one that may
			 * not, protocol frames go up as the member's and the
			 * rest is dropped and counted. */
			if (hw_bond_is_lacpdu(&pk[i])) {
				if (dev->bonds[bi - 1].lacp == HW_LACP_CTRL)
					hw_ctrl_deliver(dev, port, &pk[i]);
				else
					hostq_deliver(dev, &pk[i], HW_HOST_PROTO, 0, ~0u);
				at[i] = HW_MAX_TABLES;
				continue;
			}
			if (!hw_bond_may_rx(dev, bi - 1, port)) {
				if (hw_bond_is_protocol(&pk[i])) {
					hostq_deliver(dev, &pk[i], HW_HOST_PROTO, 0, ~0u);
				} else {
					STAT_ADD(in->drops, 1);
					STAT_ADD(in->drops_bond_rx, 1);
				}
				at[i] = HW_MAX_TABLES;
				continue;
			}
			uint32_t bp = dev->n_ports + bi - 1;
			pk[i].in_port = bp;
			pk[i].fields[pk_field_off[PK_IN_PORT]] = (uint8_t)(bp >> 8);
			pk[i].fields[pk_field_off[PK_IN_PORT] + 1] = (uint8_t)bp;
		}
		live++;
	}
	for (uint32_t t = 0; t < dev->n_tables && live; t++) {
		struct hw_table *tb = dev->tables[t];
		unsigned m = 0;

		for (unsigned i = 0; i < n; i++)
			if (at[i] == t) {
				hw_table_key(tb, pk[i].fields, keys[m]);
				kp[m] = keys[m];
				idx[m++] = i;
			}
		if (!m)
			continue;
		hw_table_lookup_bulk(tb, kp, m, hit);
		for (unsigned j = 0; j < m; j++) {
			unsigned i = idx[j];
			struct hw_pkt *p = &pk[i];
			struct hw_entry *e = hit[j];
			struct hw_verdict v;

			if (!e) {
				if (tb->cfg.miss == PK_MISS_NEXT && t + 1 < dev->n_tables) {
					at[i] = (uint8_t)(t + 1);
					continue;
				}
				STAT_ADD(in->misses, 1);
				if (tb->cfg.miss == PK_MISS_DROP)
					STAT_ADD(in->drops, 1);
				else
					hostq_deliver(dev, p, HW_HOST_MISS, t, ~0u);
				goto done;
			}
			STAT_ADD(e->packets, 1);
			STAT_ADD(e->bytes, p->len);
			__atomic_store_n(&e->last_hit_ns, now, __ATOMIC_RELAXED);
			hw_exec(p, hw_entry_actions(tb, e), e->act_len, &v);
			if (p->stale && (v.fate == HW_FATE_HOST || v.fate == HW_FATE_TTL ||
					 (v.fate == HW_FATE_PORT && v.arg >= dev->n_ports)))
				hw_parse(p); /* the hashes below read the headers */
			switch (v.fate) {
			case HW_FATE_PORT:
				if (v.arg >= dev->n_ports &&
				    (v.arg = hw_bond_pick(dev, v.arg, p)) == ~0u) {
					STAT_ADD(in->drops, 1); /* no member can take it */
					goto done;
				}
				hw_emit(dev, port, v.arg, p->data, p->len);
				goto done;
			case HW_FATE_HOST:
				hostq_deliver(dev, p, HW_HOST_ACTION, t, v.arg);
				goto done;
			case HW_FATE_TTL:
				hostq_deliver(dev, p, HW_HOST_TTL, t, ~0u);
				goto done;
			case HW_FATE_JUMP:
				if (v.arg <= t || v.arg >= dev->n_tables) {
					STAT_ADD(in->drops, 1); /* jumps go forward only */
					goto done;
				}
				if (v.dirty)
					hw_parse(p);
				at[i] = (uint8_t)v.arg;
				continue;
			case HW_FATE_DROP:
				STAT_ADD(in->drops, 1);
				goto done;
			}
done:
			at[i] = HW_MAX_TABLES;
			live--;
		}
	}
}

void hw_process(struct hw_dev *dev, uint32_t port, uint8_t *data, uint32_t len,
		uint32_t headroom, uint64_t now)
{
	struct hw_pkt pk = { .data = data, .len = len, .headroom = headroom,
			     .in_port = port };

	hw_process_burst(dev, port, &pk, 1, now);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One burst from each port and host queue in turn, at most @budget
 * packets. The reader count is odd for the whole burst: table writers wait
 * for it to move before reusing an entry (hw_sync()). */
static unsigned run_burst(struct hw_dev *dev, unsigned budget)
{
	unsigned done = 0;
	uint64_t now;

	__atomic_store_n(&dev->reader, dev->reader + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	now = now_ns();
	for (uint32_t n = 0; n < dev->n_ports && done < budget; n++) {
		uint32_t port = (dev->rr + n) % dev->n_ports;
		struct hw_port *p = &dev->ports[port];
		struct hw_ring *r = &p->rx;
		struct hw_slot *s;

		if (LOAD_ACQ(&p->netdev))
			netdev_poll_rx(dev, p, port);
		if (LOAD_ACQ(&p->pcap_in))
			pcap_feed(dev, p, port);
		/* A burst from this port, processed in place in its slots,
		 * which are given back once the burst is through. */
		struct hw_pkt pk[HW_BURST];
		unsigned k = 0;
		uint32_t head = r->head;
		while (k < HW_BURST && done + k < budget &&
		       head + k != LOAD_ACQ(&r->tail)) {
			s = &r->slots[(head + k) & r->mask];
			pk[k] = (struct hw_pkt){ .data = s->buf + HW_HEADROOM,
						 .len = s->len, .headroom = HW_HEADROOM,
						 .in_port = port };
			k++;
		}
		if (!k)
			continue;
		hw_process_burst(dev, port, pk, k, now);
		STORE_REL(&r->head, head + k);
		done += k;
	}
	if (done < budget)
		done += hostq_drain_tx(dev, budget - done, now);
	done += hw_ctrl_drain_tx(dev);
	for (uint32_t port = 0; port < dev->n_ports; port++)
		if (LOAD_ACQ(&dev->ports[port].netdev))
			netdev_flush_tx(dev, &dev->ports[port], port);
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

void *hw_engine_main(void *arg)
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

int hw_trace(struct hw_dev *dev, uint32_t port, const void *pkt, size_t len,
	     void (*cb)(void *ctx, const struct hw_trace_step *st), void *ctx)
{
	uint8_t buf[HW_HEADROOM + HW_MAX_FRAME];
	uint8_t key[PK_MAX_KEY];
	struct hw_pkt pk;
	struct hw_verdict v = { .fate = HW_FATE_DROP };
	struct hw_trace_step st;
	uint32_t t = 0;

	if (port >= dev->n_ports)
		return -ENOENT;
	if (len < 14 || len > HW_MAX_FRAME)
		return -EINVAL;
	memcpy(buf + HW_HEADROOM, pkt, len);
	pk = (struct hw_pkt){ .data = buf + HW_HEADROOM, .len = (uint32_t)len,
			      .headroom = HW_HEADROOM, .in_port = port };
	hw_parse(&pk);
	/* Beside the pipeline, as a reader that is not part of it: each
	 * table's writer lock keeps its entries in place meanwhile. */
	while (t < dev->n_tables) {
		struct hw_table *tb = dev->tables[t];
		struct hw_entry *e;

		pthread_mutex_lock(&tb->wlock);
		hw_table_key(tb, pk.fields, key);
		e = hw_table_lookup(tb, key);
		st = (struct hw_trace_step){ .table = t, .hit = e != NULL, .miss = tb->cfg.miss,
					     .len = pk.len };
		if (!e) {
			pthread_mutex_unlock(&tb->wlock);
			cb(ctx, &st);
			if (tb->cfg.miss == PK_MISS_NEXT && t + 1 < dev->n_tables) {
				t++;
				continue;
			}
			v.fate = tb->cfg.miss == PK_MISS_DROP ? HW_FATE_DROP : HW_FATE_HOST;
			v.arg = ~0u;
			break;
		}
		st.id = (uint32_t)(((uint8_t *)e - tb->entries) / tb->stride);
		st.actions = hw_entry_actions(tb, e);
		st.act_len = e->act_len;
		hw_exec(&pk, st.actions, e->act_len, &v);
		st.len = pk.len;
		cb(ctx, &st);
		pthread_mutex_unlock(&tb->wlock);
		if (v.fate != HW_FATE_JUMP)
			break;
		if (v.arg <= t) {
			v.fate = HW_FATE_DROP;
			break;
		}
		if (v.dirty)
			hw_parse(&pk);
		t = v.arg;
	}
	st = (struct hw_trace_step){ .table = ~0u, .fate = v.fate, .arg = v.arg, .len = pk.len };
	cb(ctx, &st);
	return 0;
}
