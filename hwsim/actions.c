/* SPDX-License-Identifier: MIT */
/*
 * hwsim action engine: applies a packed action block (pack.h) to a packet.
 * Each action sees the packet as the action before it left it; header
 * rewrites keep IPv4 and TCP/UDP (and, for IPv6 addresses, ICMPv6)
 * checksums correct (RFC 1624 incremental updates), encapsulation builds
 * outer headers with a full IPv4 checksum, or over IPv6 a full UDP
 * checksum (RFC 8200 section 8.1).
 *
 * An action list applies whole, or not at all (docs/DATAPATH.md, "Action
 * lists apply whole"): an action that needs a layer the packet lacks at
 * that point (set_ipv4_* an IPv4 header, set_ipv6_* an IPv6 header,
 * set_tp_* a TCP or UDP header, dec_ttl and set_ttl an IPv4 or IPv6
 * header, vlan_pop a tag, vxlan_decap a VXLAN header), or room in front
 * of the frame it lacks (vlan_push, vxlan_encap, vxlan_encap6), makes the whole packet a drop that the pipeline counts in
 * the port's drops_action. The layers the block needs are known when the
 * device takes it (hw_act_need); one test against the parsed layers,
 * before the first action, refuses the packet before any byte changes.
 * What cannot be known in advance (the frame inside a VXLAN packet, more
 * VLAN tags than the parser reads) is checked as the actions come to it.
 */
#include <string.h>
#include "hwsim.h"
#include "packet.h"

static inline uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline void wr16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* Update the checksum at @c for a 16-bit word changing from @o to @n. */
static void csum_fix16(uint8_t *c, uint16_t o, uint16_t n, int udp)
{
	uint32_t s;

	if (udp && !rd16(c))
		return; /* UDP without checksum */
	s = (uint16_t)~rd16(c) + (uint32_t)(uint16_t)~o + n;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	s = (uint16_t)~s;
	if (udp && !s)
		s = 0xffff;
	wr16(c, (uint16_t)s);
}

/* The L4 checksum of the packet, or NULL if it has none we maintain. */
static uint8_t *l4_csum(struct hw_pkt *p, int *udp)
{
	if (p->layers & HW_L_FRAG)
		return NULL;
	*udp = !!(p->layers & HW_L_UDP);
	if (p->layers & HW_L_TCP)
		return p->data + p->l4 + 16;
	if (p->layers & HW_L_UDP)
		return p->data + p->l4 + 6;
	return NULL;
}

/* Rewrite @n bytes (even) at @at, fixing the IPv4 header checksum (if
 * @ip) and the L4 checksum (if @l4, for pseudo-header fields too). */
static void rewrite(struct hw_pkt *p, uint8_t *at, const uint8_t *val,
		    uint32_t n, int ip, int l4)
{
	int udp = 0;
	uint8_t *c4 = l4 ? l4_csum(p, &udp) : NULL;

	for (uint32_t i = 0; i < n; i += 2) {
		uint16_t o = rd16(at + i), v = rd16(val + i);
		if (ip)
			csum_fix16(p->data + p->l3 + 10, o, v, 0);
		if (c4)
			csum_fix16(c4, o, v, udp);
		wr16(at + i, v);
	}
}

/* A new IPv6 address (16 bytes at @at): the TCP, UDP or ICMPv6 checksum
 * covers it in the pseudo-header (RFC 8200 section 8.1). A later fragment
 * carries no checksum; a UDP checksum of 0 (none sent) stays 0. */
static void set_ipv6_addr(struct hw_pkt *p, uint8_t *at, const uint8_t *val)
{
	int udp = 0;
	uint8_t *c = l4_csum(p, &udp);

	if (!c && (p->layers & (HW_L_ICMP | HW_L_FRAG)) == HW_L_ICMP &&
	    p->fields[pk_field_off[PK_IP_PROTO]] == 58)
		c = p->data + p->l4 + 2;
	for (uint32_t i = 0; i < 16; i += 2) {
		uint16_t o = rd16(at + i), v = rd16(val + i);
		if (c)
			csum_fix16(c, o, v, udp);
		wr16(at + i, v);
	}
}

/* Structural rewrites return -1 when the packet cannot take them: the
 * device drops it. */
static int vlan_push(struct hw_pkt *p, const uint8_t *a)
{
	if (p->headroom < 4)
		return -1;
	p->data -= 4;
	p->headroom -= 4;
	p->len += 4;
	memmove(p->data, p->data + 4, 12);
	memcpy(p->data + 12, a, 4);
	p->stale = 1;
	return 0;
}

static void vlan_pop(struct hw_pkt *p)
{
	memmove(p->data + 4, p->data, 12);
	p->data += 4;
	p->headroom += 4;
	p->len -= 4;
	p->stale = 1;
}

static int vxlan_encap(struct hw_pkt *p, const uint8_t *a)
{
	uint32_t inner = p->len;
	uint16_t sport = 0;
	uint8_t *h;

	if (p->headroom < PK_ENCAP_HDR)
		return -1;
	if (a[0] & PK_ENCAP_F_HASH_SPORT)
		sport = (uint16_t)(49152 + hw_flow_hash(p) % 16384);
	p->data -= PK_ENCAP_HDR;
	p->headroom -= PK_ENCAP_HDR;
	p->len += PK_ENCAP_HDR;
	h = p->data;
	memcpy(h, a + 2, PK_ENCAP_HDR);
	wr16(h + 14 + 2, (uint16_t)(20 + 8 + 8 + inner)); /* IPv4 total length */
	wr16(h + 14 + 10, 0);
	uint16_t c = (uint16_t)~hw_csum_fold(hw_csum_add(0, h + 14, 20));
	memcpy(h + 14 + 10, &c, 2); /* summed in memory order: stored as is */
	if (sport)
		wr16(h + 34, sport);
	wr16(h + 34 + 4, (uint16_t)(8 + 8 + inner)); /* UDP length */
	p->stale = 1;
	return 0;
}

/* VXLAN over IPv6 (RFC 7348): the outer IPv6 payload length and UDP
 * length from the frame, the UDP checksum over the pseudo-header and the
 * whole datagram (mandatory over IPv6, RFC 8200 section 8.1; 0 is sent as
 * 0xffff, RFC 768). */
static int vxlan_encap6(struct hw_pkt *p, const uint8_t *a)
{
	uint32_t inner = p->len, ulen = 8 + 8 + inner;
	uint16_t sport = 0, c;
	uint8_t *h;

	if (p->headroom < PK_ENCAP6_HDR)
		return -1;
	if (a[0] & PK_ENCAP_F_HASH_SPORT)
		sport = (uint16_t)(49152 + hw_flow_hash(p) % 16384);
	p->data -= PK_ENCAP6_HDR;
	p->headroom -= PK_ENCAP6_HDR;
	p->len += PK_ENCAP6_HDR;
	h = p->data;
	memcpy(h, a + 2, PK_ENCAP6_HDR);
	wr16(h + 14 + 4, (uint16_t)ulen);   /* IPv6 payload length */
	if (sport)
		wr16(h + 54, sport);
	wr16(h + 54 + 4, (uint16_t)ulen);   /* UDP length */
	wr16(h + 54 + 6, 0);
	/* pseudo-header: addresses, upper-layer length, next header 17 */
	uint8_t ph[8] = { 0, 0, (uint8_t)(ulen >> 8), (uint8_t)ulen, 0, 0, 0, 17 };
	uint64_t sum = hw_csum_add(0, h + 22, 32);
	sum = hw_csum_add(sum, ph, 8);
	sum = hw_csum_add(sum, h + 54, ulen);
	c = (uint16_t)~hw_csum_fold(sum);
	if (!c)
		c = 0xffff;
	memcpy(h + 54 + 6, &c, 2); /* summed in memory order: stored as is */
	p->stale = 1;
	return 0;
}

static int vxlan_decap(struct hw_pkt *p)
{
	uint32_t off = p->l4 + 8u + 8u;

	if (!(p->layers & HW_L_VXLAN))
		return -1;
	/* The frame hw_vxlan_inner() names: it ends where the UDP datagram
	 * does, so the outer frame's padding or trailer is not carried in. */
	p->len = p->l4_end - off;
	p->data += off;
	p->headroom += off;
	p->stale = 1;
	return 0;
}

/* Returns -1 when the TTL runs out: the packet goes up to the host. */
static int dec_ttl(struct hw_pkt *p)
{
	uint8_t *ttl;

	if (p->layers & HW_L_IPV4) {
		ttl = p->data + p->l3 + 8;
		if (*ttl <= 1)
			return -1;
		uint8_t nv[2] = { (uint8_t)(*ttl - 1), ttl[1] };
		rewrite(p, ttl, nv, 2, 1, 0);
	} else {
		ttl = p->data + p->l3 + 7;
		if (*ttl <= 1)
			return -1;
		--*ttl;
	}
	return 0;
}

/* Set the IPv4 TTL (header checksum updated) or the IPv6 hop limit. */
static void set_ttl(struct hw_pkt *p, uint8_t v)
{
	if (p->layers & HW_L_IPV4) {
		uint8_t *ttl = p->data + p->l3 + 8;
		uint8_t nv[2] = { v, ttl[1] };
		rewrite(p, ttl, nv, 2, 1, 0);
	} else {
		p->data[p->l3 + 7] = v;
	}
}

/* The layer each op needs in the packet it meets. */
static const uint16_t op_need[PK_OP_MAX] = {
	[PK_OP_VLAN_POP] = HW_L_VLAN,
	[PK_OP_SET_IPV4_SRC] = HW_L_IPV4,
	[PK_OP_SET_IPV4_DST] = HW_L_IPV4,
	[PK_OP_SET_TP_SRC] = HW_L_PORTS,
	[PK_OP_SET_TP_DST] = HW_L_PORTS,
	[PK_OP_DEC_TTL] = HW_L_IP,
	[PK_OP_VXLAN_DECAP] = HW_L_VXLAN,
	[PK_OP_SET_IPV6_SRC] = HW_L_IPV6,
	[PK_OP_SET_IPV6_DST] = HW_L_IPV6,
	[PK_OP_SET_TTL] = HW_L_IP,
};

/* The layers an encapsulation's outer headers give (pack_flow.c builds
 * them: Ethernet, IPv4 without fragments or IPv6 without extension
 * headers, UDP to 4789, VXLAN with the I flag). */
#define ENCAP_LAYERS (HW_L_IPV4 | HW_L_IP | HW_L_UDP | HW_L_PORTS | HW_L_VXLAN)
#define ENCAP6_LAYERS (HW_L_IPV6 | HW_L_IP | HW_L_UDP | HW_L_PORTS | HW_L_VXLAN)

struct need_at {
	unsigned idx;    /* the action whose need met @stop */
	uint8_t op;
	uint16_t need;
};

/* Walk a block and collect what it needs of the packet as received: only
 * what is certain to be needed (so the test never refuses a packet the
 * actions could have applied to). Stops at the first action whose need
 * meets @stop, and says which in @at. */
static uint16_t need_walk(const uint8_t *act, uint32_t len, uint16_t stop,
			  struct need_at *at)
{
	uint16_t need = 0, outer = 0; /* outer: the layers an encap built */
	int pushed = 0, popped = 0;
	unsigned i = 0;

	for (uint32_t o = 0; o + 2 <= len && act[o + 1] >= 2 && o + act[o + 1] <= len;
	     o += act[o + 1], i++) {
		unsigned op = act[o];
		uint16_t r = op < PK_OP_MAX ? op_need[op] : 0, c = 0;

		if (op == PK_OP_VLAN_PUSH) {
			pushed++;
		} else if (op == PK_OP_VLAN_POP) {
			if (pushed)
				pushed--;
			else if (outer)
				c = HW_L_NEVER; /* an encapsulation has no tag */
			else if (popped++ < 2)
				c = popped == 1 ? HW_L_VLAN : HW_L_VLAN2;
			/* a third: more tags than the parser reads; checked
			 * when it comes */
		} else if (op == PK_OP_VXLAN_ENCAP || op == PK_OP_VXLAN_ENCAP6) {
			outer = op == PK_OP_VXLAN_ENCAP ? ENCAP_LAYERS : ENCAP6_LAYERS;
			pushed = 0;
		} else if (r && outer) {
			/* Against the headers the encapsulation built, under
			 * the tags pushed on them since (two at most are
			 * read). */
			if ((r & ~outer) || pushed > 2)
				c = HW_L_NEVER;
		} else if (r && !popped) {
			/* Tags pushed never give the packet a layer; tags
			 * popped might (a third tag hides the IP header). */
			c = r;
		}
		if (c & stop) {
			at->idx = i;
			at->op = (uint8_t)op;
			at->need = c;
			return need;
		}
		need |= c;
		if (op == PK_OP_VXLAN_DECAP)
			break; /* the inner frame: checked when it is there */
	}
	return need;
}

uint16_t hw_act_need(const uint8_t *act, uint32_t len)
{
	return need_walk(act, len, 0, NULL);
}

void hw_refuse(const struct hw_pkt *p, const uint8_t *act, uint32_t len, uint16_t need,
	       struct hw_verdict *v)
{
	struct need_at at = { 0, 0, 0 };

	need_walk(act, len, need & ~(uint16_t)p->layers, &at);
	*v = (struct hw_verdict){ .fate = HW_FATE_DROP, .why = HW_WHY_ACTION,
				  .op = at.op, .idx = (uint8_t)at.idx,
				  .missing = at.need & ~(uint16_t)p->layers };
}

void hw_verdict_where(struct hw_verdict *v, const uint8_t *act)
{
	if (!v->at)
		return;
	v->idx = 0;
	for (; act < v->at; act += act[1])
		v->idx++;
	v->at = NULL;
}

void hw_exec(struct hw_pkt *p, const uint8_t *act, uint32_t len, struct hw_verdict *v)
{
	const uint8_t *end = act + len;

	v->fate = HW_FATE_DROP;
	v->arg = 0;
	v->dirty = 0;
	if (p->len < 14)
		goto none; /* no Ethernet header to act on */
	for (; act + 2 <= end && act + act[1] <= end && act[1] >= 2; act += act[1]) {
		const uint8_t *a = act + 2;
		uint32_t u;

		/* Headers moved by an earlier action: parse again, but only
		 * for actions that need to know where the headers are. */
		if (p->stale && act[0] >= PK_OP_VLAN_POP && act[0] != PK_OP_SET_ETH_SRC &&
		    act[0] != PK_OP_SET_ETH_DST && act[0] != PK_OP_VXLAN_ENCAP &&
		    act[0] != PK_OP_VXLAN_ENCAP6 && act[0] != PK_OP_RSS)
			hw_parse(p);
		if (p->stale)
			v->dirty = 1;
		switch (act[0]) {
		case PK_OP_PORT:
			v->fate = HW_FATE_PORT;
			v->arg = rd16(a);
			return;
		case PK_OP_DROP:
			goto none;
		case PK_OP_QUEUE:
			v->fate = HW_FATE_HOST;
			v->arg = rd16(a);
			return;
		case PK_OP_JUMP:
			v->fate = HW_FATE_JUMP;
			v->arg = rd16(a);
			return;
		case PK_OP_MARK:
			memcpy(&u, a, 4);
			p->mark = u;
			v->dirty = 1;
			break;
		case PK_OP_COUNT:
			break; /* every entry counts */
		case PK_OP_VLAN_PUSH:
			if (vlan_push(p, a))
				goto no_room;
			break;
		case PK_OP_VLAN_POP:
			if (!(p->layers & HW_L_VLAN))
				goto lacks;
			vlan_pop(p);
			break;
		case PK_OP_SET_ETH_SRC:
			memcpy(p->data + 6, a, 6);
			v->dirty = 1;
			break;
		case PK_OP_SET_ETH_DST:
			memcpy(p->data, a, 6);
			v->dirty = 1;
			break;
		case PK_OP_SET_IPV4_SRC:
		case PK_OP_SET_IPV4_DST:
			if (!(p->layers & HW_L_IPV4))
				goto lacks;
			rewrite(p, p->data + p->l3 + (act[0] == PK_OP_SET_IPV4_SRC ? 12u : 16u),
				a, 4, 1, 1);
			v->dirty = 1;
			break;
		case PK_OP_SET_TP_SRC:
		case PK_OP_SET_TP_DST:
			if (!(p->layers & HW_L_PORTS))
				goto lacks;
			rewrite(p, p->data + p->l4 + (act[0] == PK_OP_SET_TP_SRC ? 0u : 2u),
				a, 2, 0, 1);
			v->dirty = 1;
			break;
		case PK_OP_DEC_TTL:
			if (!(p->layers & HW_L_IP))
				goto lacks;
			if (dec_ttl(p)) {
				v->fate = HW_FATE_TTL;
				return;
			}
			v->dirty = 1;
			break;
		case PK_OP_VXLAN_ENCAP:
			if (vxlan_encap(p, a))
				goto no_room;
			break;
		case PK_OP_VXLAN_DECAP:
			if (vxlan_decap(p))
				goto lacks;
			break;
		case PK_OP_SET_IPV6_SRC:
		case PK_OP_SET_IPV6_DST:
			if (!(p->layers & HW_L_IPV6))
				goto lacks;
			set_ipv6_addr(p, p->data + p->l3 +
				      (act[0] == PK_OP_SET_IPV6_SRC ? 8u : 24u), a);
			v->dirty = 1;
			break;
		case PK_OP_SET_TTL:
			if (!(p->layers & HW_L_IP))
				goto lacks;
			set_ttl(p, a[0]);
			v->dirty = 1;
			break;
		case PK_OP_RSS:
			v->fate = HW_FATE_HOST;
			v->arg = HW_Q_RSS;
			v->rss = a;
			return;
		case PK_OP_VXLAN_ENCAP6:
			if (vxlan_encap6(p, a))
				goto no_room;
			break;
		default:
			goto none;
		}
	}
none: /* a drop action, or no fate: a malformed block drops */
	v->fate = HW_FATE_DROP;
	v->why = HW_WHY_NONE;
	v->at = NULL;
	return;
lacks:
	/* Found as the actions came to it: nothing of the packet leaves. */
	v->why = HW_WHY_ACTION;
	v->missing = op_need[act[0]] & ~(uint16_t)p->layers;
	goto failed;
no_room:
	v->why = HW_WHY_HEADROOM;
	v->missing = 0;
failed:
	v->fate = HW_FATE_DROP;
	v->op = act[0];
	v->at = act; /* hw_verdict_where() turns it into an index */
}
