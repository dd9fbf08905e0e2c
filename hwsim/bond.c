/* SPDX-License-Identifier: MIT */
/*
 * hwsim bonds: the device picks each packet's member by itself (the active
 * member, or a hash of the flow over the members that can take it) and
 * leaves out a member whose link is down at once, with no help from the
 * host. Members' packets are received as on the bond; LACPDUs on members
 * go to the host queues or to the control channel.
 *
 * The pipeline reads bond state without locks. Writers (bond_lock) never
 * change a member list the pipeline may be reading: they fill the other
 * of two lists, publish it, and wait for the pipeline to leave the old one
 * (hw_sync) before it can be written again (RCU-style). Only a member's
 * enabled flag changes in place.
 */
#include <errno.h>
#include <string.h>
#include "dev.h"

void hw_sync_dev(struct hw_dev *dev);

int hw_ring_init(struct hw_ring *r, uint32_t size)
{
	r->slots = calloc(size, sizeof(*r->slots));
	r->mask = size - 1;
	r->head = r->tail = 0;
	return r->slots ? 0 : -ENOMEM;
}

static struct hw_bond *bond_of(struct hw_dev *dev, uint32_t port)
{
	if (port < dev->n_ports || port >= dev->n_ports + HW_MAX_BONDS)
		return NULL;
	struct hw_bond *b = &dev->bonds[port - dev->n_ports];
	return b->used ? b : NULL;
}

/* The published member list: read inside a pipeline burst (or under
 * bond_lock), where it stays valid until the burst ends. */
static const struct hw_bond_members *members(const struct hw_bond *b)
{
	return &b->set[LOAD_ACQ(&b->cur) & 1];
}

/* Writers, under bond_lock: the list to fill (a copy of the published one)
 * and its publication. Once published, wait for the pipeline to leave the
 * old list, so that the next writer may fill it. */
static struct hw_bond_members *next_members(struct hw_bond *b)
{
	const struct hw_bond_members *cur = &b->set[b->cur & 1];
	struct hw_bond_members *nx = &b->set[(b->cur & 1) ^ 1];

	for (uint32_t i = 0; i < HW_BOND_MEMBERS; i++) {
		STORE_REL(&nx->member[i], LOAD_RLX(&cur->member[i]));
		STORE_REL(&nx->enabled[i], LOAD_RLX(&cur->enabled[i]));
	}
	STORE_REL(&nx->n, cur->n);
	return nx;
}

static void publish_members(struct hw_dev *dev, struct hw_bond *b)
{
	STORE_REL(&b->cur, (b->cur & 1) ^ 1);
	hw_sync_dev(dev);
}

int hw_bond_create(struct hw_dev *dev, enum hw_bond_mode mode, enum hw_bond_hash hash,
		   enum hw_bond_lacp lacp, int failback, uint32_t *port)
{
	int err = -ENOSPC;

	pthread_mutex_lock(&dev->bond_lock);
	for (uint32_t i = 0; i < HW_MAX_BONDS; i++) {
		struct hw_bond *b = &dev->bonds[i];
		if (b->used)
			continue;
		/* No packet reads a slot that is not in use (the pipeline
		 * checks used first; destroy waited for it). */
		b->mode = mode;
		b->hash = hash;
		b->lacp = lacp;
		b->failback = failback;
		STORE_REL(&b->set[0].n, 0);
		STORE_REL(&b->set[1].n, 0);
		STORE_REL(&b->cur, 0);
		STORE_REL(&b->active, ~0u);
		STORE_REL(&b->used, 1);
		*port = dev->n_ports + i;
		err = 0;
		break;
	}
	pthread_mutex_unlock(&dev->bond_lock);
	return err;
}

int hw_bond_destroy(struct hw_dev *dev, uint32_t port)
{
	struct hw_bond *b;
	struct hw_pcap *pc = NULL;
	int err = 0;

	pthread_mutex_lock(&dev->bond_lock);
	if (!(b = bond_of(dev, port))) {
		err = -ENOENT;
	} else {
		const struct hw_bond_members *ms = &b->set[b->cur & 1];
		for (uint32_t i = 0; i < ms->n; i++)
			STORE_REL(&dev->ports[ms->member[i]].bond, 0);
		STORE_REL(&next_members(b)->n, 0);
		STORE_REL(&b->used, 0);
		pc = b->pcap_out;
		STORE_REL(&b->pcap_out, NULL);
		publish_members(dev, b); /* no packet uses the bond after this */
	}
	pthread_mutex_unlock(&dev->bond_lock);
	pcap_file_close(pc); /* the pipeline has let go of it (publish waited) */
	return err;
}

int hw_bond_add(struct hw_dev *dev, uint32_t port, uint32_t member)
{
	struct hw_bond *b;
	int err = 0;

	pthread_mutex_lock(&dev->bond_lock);
	if (!(b = bond_of(dev, port)) || member >= dev->n_ports)
		err = -ENOENT;
	else if (dev->ports[member].type != HW_UPLINK)
		err = -EINVAL;
	else if (LOAD_RLX(&dev->ports[member].bond))
		err = -EBUSY;
	else if (b->set[b->cur & 1].n == HW_BOND_MEMBERS)
		err = -ENOSPC;
	if (!err) {
		struct hw_bond_members *nx = next_members(b);
		STORE_REL(&nx->member[nx->n], member);
		STORE_REL(&nx->enabled[nx->n], (uint8_t)(b->mode != HW_BOND_LACP)); /* LACP enables it */
		STORE_REL(&nx->n, nx->n + 1);
		publish_members(dev, b);
		STORE_REL(&dev->ports[member].bond, port - dev->n_ports + 1);
	}
	pthread_mutex_unlock(&dev->bond_lock);
	return err;
}

/* Remove a member: a new list without it is published, and the call
 * returns once no packet can still choose it (the old list is never
 * changed under a reader). */
int hw_bond_del(struct hw_dev *dev, uint32_t port, uint32_t member)
{
	struct hw_bond *b;
	uint32_t i = 0, n;
	int err = 0;

	pthread_mutex_lock(&dev->bond_lock);
	if (!(b = bond_of(dev, port))) {
		err = -ENOENT;
	} else {
		const struct hw_bond_members *cur = &b->set[b->cur & 1];
		for (i = 0; i < cur->n && cur->member[i] != member; i++)
			;
		if (i == cur->n)
			err = -ENOENT;
	}
	if (!err) {
		struct hw_bond_members *nx = next_members(b);
		n = nx->n - 1;
		for (; i < n; i++) {
			STORE_REL(&nx->member[i], nx->member[i + 1]);
			STORE_REL(&nx->enabled[i], nx->enabled[i + 1]);
		}
		STORE_REL(&nx->n, n);
		STORE_REL(&dev->ports[member].bond, 0);
		publish_members(dev, b);
		if (LOAD_RLX(&b->active) == member)
			STORE_REL(&b->active, ~0u);
	}
	pthread_mutex_unlock(&dev->bond_lock);
	return err;
}

int hw_bond_enable(struct hw_dev *dev, uint32_t port, uint32_t member, int on)
{
	struct hw_bond *b;
	int err = -ENOENT;

	pthread_mutex_lock(&dev->bond_lock);
	if ((b = bond_of(dev, port))) {
		struct hw_bond_members *ms = &b->set[b->cur & 1];
		for (uint32_t i = 0; i < ms->n; i++)
			if (ms->member[i] == member) {
				STORE_REL(&ms->enabled[i], (uint8_t)!!on);
				err = 0;
			}
	}
	pthread_mutex_unlock(&dev->bond_lock);
	return err;
}

/* Active-backup: the member the next packet takes, ~0u if none can. With
 * failback the first usable member in order; without, the current one
 * while it stays usable. */
static uint32_t ab_member(struct hw_dev *dev, struct hw_bond *b)
{
	const struct hw_bond_members *ms = members(b);
	uint32_t n = LOAD_ACQ(&ms->n), cur = LOAD_RLX(&b->active), first = ~0u;
	int cur_ok = 0;

	for (uint32_t i = 0; i < n && i < HW_BOND_MEMBERS; i++) {
		uint32_t m = LOAD_RLX(&ms->member[i]);
		if (!LOAD_RLX(&ms->enabled[i]) || !LOAD_RLX(&dev->ports[m].link))
			continue;
		if (first == ~0u)
			first = m;
		cur_ok |= m == cur;
	}
	return (!b->failback && cur_ok) ? cur : first;
}

int hw_bond_may_rx(struct hw_dev *dev, uint32_t bond_index, uint32_t member)
{
	struct hw_bond *b = &dev->bonds[bond_index];
	const struct hw_bond_members *ms;
	uint32_t n;

	if (bond_index >= HW_MAX_BONDS || !LOAD_ACQ(&b->used))
		return 0;
	switch (b->mode) {
	case HW_BOND_BALANCE:
		return 1;
	case HW_BOND_AB:
		return ab_member(dev, b) == member;
	case HW_BOND_LACP:
		ms = members(b);
		n = LOAD_ACQ(&ms->n);
		for (uint32_t i = 0; i < n && i < HW_BOND_MEMBERS; i++)
			if (LOAD_RLX(&ms->member[i]) == member)
				return LOAD_RLX(&ms->enabled[i]);
		return 0;
	}
	return 0;
}

int hw_bond_state(struct hw_dev *dev, uint32_t port, struct hw_bond_state *st)
{
	struct hw_bond *b;
	int err = 0;

	pthread_mutex_lock(&dev->bond_lock);
	if (!(b = bond_of(dev, port))) {
		err = -ENOENT;
	} else {
		const struct hw_bond_members *ms = &b->set[b->cur & 1];
		st->mode = b->mode;
		st->n = ms->n;
		for (uint32_t i = 0; i < HW_BOND_MEMBERS; i++) {
			st->member[i] = ms->member[i];
			st->enabled[i] = LOAD_RLX(&ms->enabled[i]);
		}
		/* Active-backup: the member the next packet would take (the
		 * pipeline records the choice only when it sends). */
		st->active = b->mode == HW_BOND_AB ? ab_member(dev, b) : ~0u;
	}
	pthread_mutex_unlock(&dev->bond_lock);
	return err;
}

/* A hash of what the bond's policy names. */
static uint32_t flow_hash(enum hw_bond_hash h, const struct hw_pkt *p)
{
	uint8_t k[64];
	size_t n = 0;
#define ADD(f) (memcpy(k + n, p->fields + pk_field_off[f], pk_field_len[f]), \
		n += pk_field_len[f])

	struct hw_pkt in;
	if (h == HW_HASH_INNER && !hw_vxlan_inner(p, &in, 1))
		return flow_hash(HW_HASH_L34, &in); /* as the parser sees it */
	if (h == HW_HASH_L2 || h == HW_HASH_L23) {
		ADD(PK_ETH_DST);
		ADD(PK_ETH_SRC);
	}
	if (h != HW_HASH_L2) {
		ADD(PK_IPV4_SRC);
		ADD(PK_IPV4_DST);
		ADD(PK_IPV6_SRC);
		ADD(PK_IPV6_DST);
	}
	if (h == HW_HASH_L34 || h == HW_HASH_INNER) {
		ADD(PK_IP_PROTO);
		ADD(PK_L4_SRC);
		ADD(PK_L4_DST);
	}
#undef ADD
	uint64_t x = hw_hash_bytes(k, (uint32_t)n);
	return (uint32_t)(x ^ (x >> 32));
}

static uint32_t pick(struct hw_dev *dev, uint32_t bond_port, const struct hw_pkt *p,
		     int commit)
{
	const struct hw_bond_members *ms;
	struct hw_bond *b;
	uint32_t usable[HW_BOND_MEMBERS], nu = 0, n;

	if (bond_port < dev->n_ports || bond_port >= dev->n_ports + HW_MAX_BONDS)
		return ~0u;
	b = &dev->bonds[bond_port - dev->n_ports];
	if (!LOAD_ACQ(&b->used))
		return ~0u;
	if (b->mode == HW_BOND_AB) {
		uint32_t m = ab_member(dev, b);
		if (commit && m != ~0u && m != LOAD_RLX(&b->active))
			STORE_REL(&b->active, m);
		return m;
	}
	ms = members(b);
	n = LOAD_ACQ(&ms->n);
	for (uint32_t i = 0; i < n && i < HW_BOND_MEMBERS; i++) {
		uint32_t m = LOAD_RLX(&ms->member[i]);
		if (LOAD_RLX(&ms->enabled[i]) && LOAD_RLX(&dev->ports[m].link))
			usable[nu++] = m;
	}
	return nu ? usable[flow_hash(b->hash, p) % nu] : ~0u;
}

uint32_t hw_bond_pick(struct hw_dev *dev, uint32_t bond_port, const struct hw_pkt *p)
{
	return pick(dev, bond_port, p, 1);
}

uint32_t hw_bond_peek(struct hw_dev *dev, uint32_t bond_port, const struct hw_pkt *p)
{
	return pick(dev, bond_port, p, 0);
}

/* Slow protocols (IEEE 802.3 annex 57A), subtype 1: LACP. */
int hw_bond_is_lacpdu(const struct hw_pkt *p)
{
	return p->len >= 15 && p->data[12] == 0x88 && p->data[13] == 0x09 &&
	       p->data[14] == 0x01;
}

/* Slow protocols (IEEE 802.3 annex 57A: LACP, Marker, OAM) and frames to
 * the IEEE 802.1Q reserved link-local group addresses 01-80-C2-00-00-00
 * to -0F (LLDP, STP, ...): they concern the link, not the aggregator. */
int hw_bond_is_protocol(const struct hw_pkt *p)
{
	static const uint8_t ll[5] = { 0x01, 0x80, 0xc2, 0x00, 0x00 };

	if (p->len < 14)
		return 0;
	return (p->data[12] == 0x88 && p->data[13] == 0x09) ||
	       (!memcmp(p->data, ll, 5) && p->data[5] <= 0x0f);
}

void hw_ctrl_deliver(struct hw_dev *dev, uint32_t port, const struct hw_pkt *p)
{
	struct hw_slot *s = ring_prod(&dev->ctrl_rx);

	if (!s || p->len > HW_MAX_FRAME) {
		STAT_ADD(dev->ports[port].drops, 1);
		return;
	}
	s->len = p->len;
	s->port = port;
	memcpy(s->buf, p->data, p->len);
	ring_push(&dev->ctrl_rx);
}

ssize_t hw_ctrl_recv(struct hw_dev *dev, void *buf, size_t cap, uint32_t *port)
{
	struct hw_slot *s = ring_cons(&dev->ctrl_rx);
	ssize_t n;

	if (!s)
		return -EAGAIN;
	if (s->len > cap)
		return -EMSGSIZE;
	memcpy(buf, s->buf, s->len);
	*port = s->port;
	n = s->len;
	ring_pop(&dev->ctrl_rx);
	return n;
}

int hw_ctrl_send(struct hw_dev *dev, uint32_t port, const void *pkt, size_t len)
{
	struct hw_slot *s;

	if (port >= dev->n_ports)
		return -ENOENT;
	if (len < 14 || len > HW_MAX_FRAME)
		return -EINVAL;
	if (!(s = ring_prod(&dev->ctrl_tx)))
		return -ENOBUFS;
	s->len = (uint32_t)len;
	s->port = port;
	memcpy(s->buf, pkt, len);
	ring_push(&dev->ctrl_tx);
	return 0;
}

unsigned hw_ctrl_drain_tx(struct hw_dev *dev)
{
	struct hw_slot *s;
	unsigned n = 0;

	while ((s = ring_cons(&dev->ctrl_tx))) {
		hw_emit(dev, s->port, s->port, s->buf, s->len);
		ring_pop(&dev->ctrl_tx);
		n++;
	}
	return n;
}
