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

/* A finished frame (after every push and encapsulation) fits a port's MTU
 * if it is at most MTU + 14 bytes, plus 4 for each VLAN tag (0x8100 or
 * 0x88a8, up to two) it carries. */
/* What the egress does with a finished frame, decided once for the
 * device and for trace: HW_WHY_NONE (it is sent, ring space permitting),
 * HW_WHY_EGRESS_DOWN or HW_WHY_MTU (see hw_emit). */
enum hw_why hw_egress_check(const struct hw_dev *dev, uint32_t out, const uint8_t *data,
			    uint32_t len)
{
	uint32_t allowed = LOAD_RLX(&dev->ports[out].mtu) + 14, type;

	if (!LOAD_RLX(&dev->ports[out].link))
		return HW_WHY_EGRESS_DOWN;
	if (len <= allowed)
		return HW_WHY_NONE;
	type = (uint32_t)data[12] << 8 | data[13];
	for (uint32_t tag = 0; tag < 2 && (type == 0x8100 || type == 0x88a8) &&
	     len >= 18 + 4 * tag; tag++) {
		allowed += 4;
		type = (uint32_t)data[16 + 4 * tag] << 8 | data[17 + 4 * tag];
	}
	return len <= allowed && len <= HW_MAX_FRAME ? HW_WHY_NONE : HW_WHY_MTU;
}

/* Send a finished frame out of a port; one that does not fit the port's
 * MTU is dropped and counted on the egress port (drops, drops_mtu). */
void hw_emit(struct hw_dev *dev, uint32_t drop_port, uint32_t out,
	     const uint8_t *data, uint32_t len)
{
	struct hw_port *p;
	struct hw_slot *s;

	if (out >= dev->n_ports)
		goto drop;
	p = &dev->ports[out];
	switch (hw_egress_check(dev, out, data, len)) {
	case HW_WHY_NONE:
		break;
	case HW_WHY_MTU:
		STAT_ADD(p->drops, 1);
		STAT_ADD(p->drops_mtu, 1);
		return;
	default:
		goto drop;
	}
	if (!(s = ring_prod(&p->tx)))
		goto drop;
	s->len = len;
	memcpy(s->buf, data, len);
	ring_push(&p->tx);
	if (!LOAD_RLX(&p->netdev)) { /* else counted once the interface takes it */
		STAT_ADD(p->tx_packets, 1);
		STAT_ADD(p->tx_bytes, len);
	}
	struct hw_pcap *pc = LOAD_ACQ(&p->pcap_out);
	if (pc)
		pcap_write(pc, data, len, 0);
	uint32_t bond = LOAD_RLX(&p->bond); /* a member: its bond's file too */
	if (bond && (pc = LOAD_ACQ(&dev->bonds[bond - 1].pcap_out)))
		pcap_write(pc, data, len, 0);
	return;
drop:
	STAT_ADD(dev->ports[drop_port].drops, 1);
}

/* A trace under way. With one, the pipeline below is the same code, but
 * counts nothing, sends and delivers nothing, and records nothing: every
 * effect is written down here instead, and hw_trace() reports the steps
 * once the pipeline has let go of the device's locks. Without one (NULL,
 * traffic), the compiler drops the tracing from the inlined copy. A packet
 * makes at most one step per table (jumps go forward), one on receipt and
 * the outcome. */
#define TRACE_STEPS (HW_MAX_TABLES + 2)
struct hw_tracer {
	unsigned n;
	struct hw_trace_step st[TRACE_STEPS];
	uint8_t act[TRACE_STEPS][PK_MAX_ACTIONS]; /* copies of the action blocks */
};

static void trace_add(struct hw_tracer *tr, const struct hw_trace_step *st)
{
	struct hw_trace_step *s;

	if (tr->n == TRACE_STEPS)
		return;
	s = &tr->st[tr->n];
	*s = *st;
	if (st->actions) {
		s->act_len = st->act_len < PK_MAX_ACTIONS ? st->act_len : PK_MAX_ACTIONS;
		memcpy(tr->act[tr->n], st->actions, s->act_len);
		s->actions = tr->act[tr->n];
	}
	tr->n++;
}

/* The pipeline's effects: each is done for traffic, reported for a trace
 * (counters: not counted). */
static inline void count(const struct hw_tracer *tr, uint64_t *x, uint64_t v)
{
	if (!tr)
		STAT_ADD(*x, v);
}
#define COUNT(x, v) count(tr, &(x), (v))

static void trace_end(struct hw_tracer *tr, const struct hw_pkt *p, int fate,
		      uint32_t arg, enum hw_why why, const struct hw_verdict *v,
		      uint32_t member)
{
	struct hw_trace_step st = { .table = ~0u, .fate = fate, .arg = arg, .len = p->len,
				    .why = why, .in_port = p->in_port, .member = member };
	if (v) {
		st.act_index = v->idx;
		st.act_op = v->op;
		st.missing = v->missing;
	}
	trace_add(tr, &st);
}

static inline void drop(struct hw_port *in, struct hw_tracer *tr,
			const struct hw_pkt *p, enum hw_why why, const struct hw_verdict *v)
{
	if (tr) {
		trace_end(tr, p, HW_FATE_DROP, 0, why, v, ~0u);
		return;
	}
	STAT_ADD(in->drops, 1);
	if (why == HW_WHY_ACTION || why == HW_WHY_HEADROOM)
		STAT_ADD(in->drops_action, 1);
	else if (why == HW_WHY_BOND_RX)
		STAT_ADD(in->drops_bond_rx, 1);
}

/* Up to the host: to @queue; HW_Q_RSS: one of the rss op's queues @rss
 * by the flow hash; ~0u: by the flow hash within the range of the port it
 * came in on, @in. The hash is computed once, here. */
static inline void to_host(struct hw_dev *dev, struct hw_tracer *tr, const struct hw_port *in,
			   const struct hw_pkt *p, enum hw_host_reason r, uint32_t table,
			   uint32_t queue, const uint8_t *rss, enum hw_why why)
{
	uint32_t hash = hw_flow_hash(p);

	if (queue == HW_Q_RSS)
		queue = rss[1 + hash % rss[0]];
	if (tr)
		trace_end(tr, p, r == HW_HOST_TTL ? HW_FATE_TTL : HW_FATE_HOST, queue, why,
			  NULL, ~0u);
	else
		hostq_deliver(dev, p, r, table, queue, (uint32_t)(in - dev->ports), hash);
}

static inline void to_ctrl(struct hw_dev *dev, struct hw_tracer *tr, uint32_t port,
			   const struct hw_pkt *p)
{
	if (tr)
		trace_end(tr, p, HW_FATE_HOST, ~0u, HW_WHY_LACP_CTRL, NULL, ~0u);
	else
		hw_ctrl_deliver(dev, port, p);
}

static inline void to_port(struct hw_dev *dev, struct hw_tracer *tr, uint32_t in_port,
			   const struct hw_pkt *p, uint32_t port, uint32_t out)
{
	enum hw_why why;

	if (tr && out < dev->n_ports &&
	    (why = hw_egress_check(dev, out, p->data, p->len)) != HW_WHY_NONE)
		trace_end(tr, p, HW_FATE_DROP, out, why, NULL, ~0u);
	else if (tr)
		trace_end(tr, p, HW_FATE_PORT, port, HW_WHY_NONE, NULL,
			  out != port ? out : ~0u);
	else
		hw_emit(dev, in_port, out, p->data, p->len);
}

static void trace_table(struct hw_tracer *tr, uint32_t t, const struct hw_table *tb,
			const struct hw_entry *e, const struct hw_pkt *p)
{
	struct hw_trace_step st = { .table = t, .hit = e != NULL, .miss = tb->cfg.miss,
				    .len = p->len, .in_port = p->in_port };
	if (e) {
		st.id = (uint32_t)(((const uint8_t *)e - tb->entries) / tb->stride);
		st.actions = hw_entry_actions(tb, e);
		st.act_len = e->act_len;
	}
	trace_add(tr, &st);
}

/* Inside pipeline(), every effect goes through the helpers above, which a
 * trace turns into steps: a direct call does not compile there. */
#pragma push_macro("STAT_ADD")
#undef STAT_ADD
#define STAT_ADD(x, v) pipeline_effects_go_through_COUNT_or_drop
#define hostq_deliver pipeline_effects_go_through_to_host
#define hw_ctrl_deliver pipeline_effects_go_through_to_ctrl
#define hw_emit pipeline_effects_go_through_to_port

/* The pipeline for a burst of packets, each processed in place (with its
 * headroom free for encapsulation). All start in table 0; tables are taken
 * in order, each with one bulk lookup for the packets that reached it
 * (jumps go forward only, so one pass over the tables serves the burst).
 * The one implementation, for traffic (tr NULL) and for a trace. */
static inline __attribute__((always_inline)) void
pipeline(struct hw_dev *dev, uint32_t port, struct hw_pkt *pk, unsigned n, uint64_t now,
	 struct hw_tracer *tr)
{
	struct hw_port *in = &dev->ports[port];
	uint8_t keys[HW_BURST][PK_MAX_KEY];
	const uint8_t *kp[HW_BURST];
	struct hw_entry *hit[HW_BURST];
	uint8_t at[HW_BURST];   /* table each packet is bound for */
	unsigned live = 0, idx[HW_BURST];

	for (unsigned i = 0; i < n; i++) {
		COUNT(in->rx_packets, 1);
		COUNT(in->rx_bytes, pk[i].len);
		at[i] = 0;
		if (!LOAD_RLX(&in->link)) {
			drop(in, tr, &pk[i], HW_WHY_LINK_DOWN, NULL);
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
					to_ctrl(dev, tr, port, &pk[i]);
				else
					to_host(dev, tr, in, &pk[i], HW_HOST_PROTO, 0, ~0u, NULL,
						HW_WHY_PROTO_HOST);
				at[i] = HW_MAX_TABLES;
				continue;
			}
			if (!hw_bond_may_rx(dev, bi - 1, port)) {
				if (hw_bond_is_protocol(&pk[i]))
					to_host(dev, tr, in, &pk[i], HW_HOST_PROTO, 0, ~0u, NULL,
						HW_WHY_PROTO_HOST);
				else
					drop(in, tr, &pk[i], HW_WHY_BOND_RX, NULL);
				at[i] = HW_MAX_TABLES;
				continue;
			}
			uint32_t bp = dev->n_ports + bi - 1;
			pk[i].in_port = bp;
			pk[i].fields[pk_field_off[PK_IN_PORT]] = (uint8_t)(bp >> 8);
			pk[i].fields[pk_field_off[PK_IN_PORT] + 1] = (uint8_t)bp;
			if (tr)
				trace_add(tr, &(struct hw_trace_step){
					.table = HW_TRACE_RX, .arg = port, .in_port = bp,
					.len = pk[i].len });
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
		/* A trace is not part of the engine's reads (hw_sync does not
		 * wait for it): the table's writer lock keeps its entries in
		 * place meanwhile. */
		if (tr)
			pthread_mutex_lock(&tb->wlock);
		hw_table_lookup_bulk(tb, kp, m, hit);
		for (unsigned j = 0; j < m; j++) {
			unsigned i = idx[j];
			struct hw_pkt *p = &pk[i];
			struct hw_entry *e = hit[j];
			struct hw_verdict v;

			if (!e) {
				if (tr)
					trace_table(tr, t, tb, NULL, p);
				if (tb->cfg.miss == PK_MISS_NEXT && t + 1 < dev->n_tables) {
					at[i] = (uint8_t)(t + 1);
					continue;
				}
				COUNT(in->misses, 1);
				if (tb->cfg.miss == PK_MISS_DROP)
					drop(in, tr, p, HW_WHY_NONE, NULL);
				else
					to_host(dev, tr, in, p, HW_HOST_MISS, t, ~0u, NULL, HW_WHY_NONE);
				goto done;
			}
			COUNT(e->packets, 1);
			COUNT(e->bytes, p->len);
			if (!tr)
				__atomic_store_n(&e->last_hit_ns, now, __ATOMIC_RELAXED);
			/* One test refuses a packet that lacks a layer the
			 * actions need, before any of them applies. */
			if (__builtin_expect(e->need & ~p->layers, 0))
				hw_refuse(p, hw_entry_actions(tb, e), e->act_len, e->need, &v);
			else
				hw_exec(p, hw_entry_actions(tb, e), e->act_len, &v);
			if (tr)
				trace_table(tr, t, tb, e, p);
			if (p->stale && (v.fate == HW_FATE_HOST || v.fate == HW_FATE_TTL ||
					 (v.fate == HW_FATE_PORT && v.arg >= dev->n_ports)))
				hw_parse(p); /* the hashes below read the headers */
			switch (v.fate) {
			case HW_FATE_PORT: {
				uint32_t out = v.arg;
				if (out >= dev->n_ports &&
				    (out = tr ? hw_bond_peek(dev, v.arg, p)
					      : hw_bond_pick(dev, v.arg, p)) == ~0u) {
					if (tr)
						trace_end(tr, p, HW_FATE_DROP, v.arg,
							  HW_WHY_NO_MEMBER, NULL, ~0u);
					else
						drop(in, tr, p, HW_WHY_NO_MEMBER, NULL);
					goto done;
				}
				to_port(dev, tr, port, p, v.arg, out);
				goto done;
			}
			case HW_FATE_HOST:
				to_host(dev, tr, in, p, HW_HOST_ACTION, t, v.arg, v.rss, HW_WHY_NONE);
				goto done;
			case HW_FATE_TTL:
				to_host(dev, tr, in, p, HW_HOST_TTL, t, ~0u, NULL, HW_WHY_NONE);
				goto done;
			case HW_FATE_JUMP:
				if (v.arg <= t || v.arg >= dev->n_tables) {
					drop(in, tr, p, HW_WHY_JUMP_BACK, NULL);
					goto done;
				}
				if (v.dirty)
					hw_parse(p);
				at[i] = (uint8_t)v.arg;
				continue;
			case HW_FATE_DROP:
				if (v.at)
					hw_verdict_where(&v, hw_entry_actions(tb, e));
				drop(in, tr, p, (enum hw_why)v.why, &v);
				goto done;
			}
done:
			at[i] = HW_MAX_TABLES;
			live--;
		}
		if (tr)
			pthread_mutex_unlock(&tb->wlock);
	}
}

#undef hw_emit
#undef hw_ctrl_deliver
#undef hostq_deliver
#pragma pop_macro("STAT_ADD")

void hw_process_burst(struct hw_dev *dev, uint32_t port, struct hw_pkt *pk,
		      unsigned n, uint64_t now)
{
	pipeline(dev, port, pk, n, now, NULL);
}

void hw_process(struct hw_dev *dev, uint32_t port, uint8_t *data, uint32_t len,
		uint32_t headroom, uint64_t now)
{
	struct hw_pkt pk = { .data = data, .len = len, .headroom = headroom,
			     .in_port = port };

	hw_process_burst(dev, port, &pk, 1, now);
}

/* One burst from each port and host queue in turn, at most @budget
 * packets. The reader count is odd for the whole burst: table writers wait
 * for it to move before reusing an entry (hw_sync()). A paused device
 * (hw_pause()) runs no burst. */
static unsigned run_burst(struct hw_dev *dev, unsigned budget)
{
	unsigned done = 0;
	uint64_t now;

	__atomic_store_n(&dev->reader, dev->reader + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&dev->paused, __ATOMIC_RELAXED)) {
		/* hw_pause(): the device forwards nothing (a reset) */
		STORE_REL(&dev->reader, dev->reader + 1);
		return 0;
	}
	now = hw_now_ns();
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
			/* The metadata; the pipeline's parse fills in the rest
			 * (a whole-struct literal would zero 80 bytes of field
			 * vector for nothing, per packet). */
			pk[k].data = s->buf + HW_HEADROOM;
			pk[k].len = s->len;
			pk[k].headroom = HW_HEADROOM;
			pk[k].in_port = port;
			pk[k].mark = 0;
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
	struct hw_tracer *tr;
	struct hw_pkt pk;

	if (port >= dev->n_ports)
		return -ENOENT;
	if (len < 14 || len > HW_MAX_FRAME)
		return -EINVAL;
	if (!(tr = malloc(sizeof(*tr))))
		return -ENOMEM;
	tr->n = 0;
	memcpy(buf + HW_HEADROOM, pkt, len);
	pk = (struct hw_pkt){ .data = buf + HW_HEADROOM, .len = (uint32_t)len,
			      .headroom = HW_HEADROOM, .in_port = port };
	/* The bonds stay as they are while the trace reads them. */
	pthread_mutex_lock(&dev->bond_lock);
	pipeline(dev, port, &pk, 1, 0, tr);
	pthread_mutex_unlock(&dev->bond_lock);
	for (unsigned i = 0; i < tr->n; i++)
		cb(ctx, &tr->st[i]);
	free(tr);
	return 0;
}
