/* SPDX-License-Identifier: MIT */
/*
 * net_dpak rte_flow: translate a rule into one libdpak flow (items in the
 * ingress port implied by the ethdev, actions), pick the first table in
 * pipeline order whose key covers the pattern's matched fields and whose
 * actions allow the action list and which validates it, and add it there.
 * A rule that cannot be offloaded is refused with an rte_flow_error naming
 * the item or action and the cause; nothing is installed then.
 *
 * Threads: create, destroy and flush take the shared device's lock (the
 * ethdevs' flow lists); query takes only the flow's own spinlock (its
 * counter baseline). The data path takes neither.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_spinlock.h>

#include "pmd.h"

#define MAX_ITEMS 24
#define MAX_ACTS 24

struct pmd_flow {
	TAILQ_ENTRY(pmd_flow) next;
	struct dpak_flow *flow;
	struct pmd_priv *priv;
	rte_spinlock_t lock;	/* the baseline below */
	uint64_t base_pkts, base_bytes;
	bool count;
};

union item_buf {
	struct dpak_item_port port;
	struct dpak_item_mark mark;
	struct dpak_item_eth eth;
	struct dpak_item_vlan vlan;
	struct dpak_item_ipv4 ipv4;
	struct dpak_item_ipv6 ipv6;
	struct dpak_item_tcp tcp;
	struct dpak_item_udp udp;
	struct dpak_item_icmp icmp;
	struct dpak_item_vxlan vxlan;
	struct dpak_item_sctp sctp;
	struct dpak_item_ip_frag ip_frag;
	struct dpak_item_vlan_tags vlan_tags;
	uint8_t raw[48];
};

union act_buf {
	struct dpak_action_port port;
	struct dpak_action_queue queue;
	struct dpak_action_mark mark;
	struct dpak_action_vlan_push vlan_push;
	struct dpak_action_set_mac mac;
	struct dpak_action_set_ipv4 ipv4;
	struct dpak_action_set_tp tp;
	struct dpak_action_vxlan_encap vxlan;
	struct dpak_action_set_ipv6 ipv6;
	struct dpak_action_set_ttl ttl;
	struct dpak_action_rss rss;
	struct dpak_action_vxlan_encap6 vxlan6;
};

/* A rule being translated. */
struct xlate {
	struct rte_eth_dev *eth;
	struct pmd_priv *priv;
	struct rte_flow_error *error;
	struct dpak_item items[MAX_ITEMS];
	union item_buf spec[MAX_ITEMS], mask[MAX_ITEMS];
	int item_src[MAX_ITEMS];	/* rte item index of each libdpak item (-1: implied) */
	unsigned n_items;
	struct dpak_action acts[MAX_ACTS];
	union act_buf conf[MAX_ACTS];
	int act_src[MAX_ACTS];
	unsigned n_acts;
	const struct rte_flow_item *rte_items;
	const struct rte_flow_action *rte_acts;
	const struct rte_flow_attr *attr;
	uint64_t fields;		/* key fields the pattern masks */
	int field_src[64];		/* rte item index that masks each field */
	uint64_t act_types;
	uint32_t priority;
	unsigned n_fates;
	unsigned n_encaps;		/* vxlan_encap / raw_encap actions */
	bool tagged;			/* the pattern matches tagged frames only */
	bool count;
};

static __thread char errbuf[512];

static int fail(struct rte_flow_error *error, int code, enum rte_flow_error_type type,
		const void *cause, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static int fail(struct rte_flow_error *error, int code, enum rte_flow_error_type type,
		const void *cause, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(errbuf, sizeof(errbuf), PMD_NAME ": ");

	va_start(ap, fmt);
	vsnprintf(errbuf + n, sizeof(errbuf) - (size_t)n, fmt, ap);
	va_end(ap);
	PMD_LOG(DEBUG, "flow refused: %s", errbuf);
	return rte_flow_error_set(error, code, type, cause, errbuf);
}

/* rte_flow's names of items and actions, in lower case as testpmd spells them. */
static const char *lower_name(char *buf, size_t cap, const char *nm)
{
	size_t i;

	for (i = 0; nm && nm[i] && i + 1 < cap; i++)
		buf[i] = (char)tolower((unsigned char)nm[i]);
	buf[i] = '\0';
	return i ? buf : "unknown";
}

static const char *item_name(enum rte_flow_item_type t)
{
	static __thread char buf[32];
	const char *nm = NULL;

	if (rte_flow_conv(RTE_FLOW_CONV_OP_ITEM_NAME_PTR, &nm, sizeof(nm),
			  (void *)(uintptr_t)t, NULL) < 0)
		nm = NULL;
	return lower_name(buf, sizeof(buf), nm);
}

static const char *action_name(enum rte_flow_action_type t)
{
	static __thread char buf[32];
	const char *nm = NULL;

	if (rte_flow_conv(RTE_FLOW_CONV_OP_ACTION_NAME_PTR, &nm, sizeof(nm),
			  (void *)(uintptr_t)t, NULL) < 0)
		nm = NULL;
	return lower_name(buf, sizeof(buf), nm);
}

/* The cause of an item error: the item, or its spec, last or mask. */
static const void *item_cause(const struct rte_flow_item *it, enum rte_flow_error_type t)
{
	const void *c = t == RTE_FLOW_ERROR_TYPE_ITEM_SPEC ? it->spec
		      : t == RTE_FLOW_ERROR_TYPE_ITEM_LAST ? it->last
		      : t == RTE_FLOW_ERROR_TYPE_ITEM_MASK ? it->mask : NULL;

	return c ? c : it;
}

static int item_fail_t(struct xlate *x, int idx, enum rte_flow_error_type t,
		       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int item_fail_t(struct xlate *x, int idx, enum rte_flow_error_type t,
		       const char *fmt, ...)
{
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fail(x->error, ENOTSUP, t, item_cause(&x->rte_items[idx], t),
		    "item %d (%s): %s", idx, item_name(x->rte_items[idx].type), msg);
}

/* The item as a whole (its type, or its place in the pattern) */
#define item_fail(x, idx, ...) item_fail_t(x, idx, RTE_FLOW_ERROR_TYPE_ITEM, __VA_ARGS__)
/* what the item's spec asks */
#define item_fail_spec(x, idx, ...) item_fail_t(x, idx, RTE_FLOW_ERROR_TYPE_ITEM_SPEC, __VA_ARGS__)
/* a range (last) */
#define item_fail_last(x, idx, ...) item_fail_t(x, idx, RTE_FLOW_ERROR_TYPE_ITEM_LAST, __VA_ARGS__)
/* a field the item's mask matches */
#define item_fail_mask(x, idx, ...) item_fail_t(x, idx, RTE_FLOW_ERROR_TYPE_ITEM_MASK, __VA_ARGS__)

static int act_fail_t(struct xlate *x, int idx, enum rte_flow_error_type t,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int act_fail_t(struct xlate *x, int idx, enum rte_flow_error_type t,
		      const char *fmt, ...)
{
	const struct rte_flow_action *a = &x->rte_acts[idx];
	char msg[384];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return fail(x->error, ENOTSUP, t,
		    t == RTE_FLOW_ERROR_TYPE_ACTION_CONF && a->conf ? a->conf : (const void *)a,
		    "action %d (%s): %s", idx, action_name(a->type), msg);
}

/* The action as a whole (its type, or its place in the list) */
#define act_fail(x, idx, ...) act_fail_t(x, idx, RTE_FLOW_ERROR_TYPE_ACTION, __VA_ARGS__)
/* what the action's conf asks (or its lack) */
#define act_fail_conf(x, idx, ...) act_fail_t(x, idx, RTE_FLOW_ERROR_TYPE_ACTION_CONF, __VA_ARGS__)

/* ---- key fields a libdpak item's mask touches ------------------------- */

struct fdesc {
	uint16_t off, len;
	int field;
};

static const struct fdesc f_eth[] = {
	{ 0, 6, DPAK_FIELD_ETH_DST }, { 6, 6, DPAK_FIELD_ETH_SRC }, { 12, 2, DPAK_FIELD_ETH_TYPE }, { 0, 0, -1 } };
static const struct fdesc f_vlan[] = {
	{ 0, 2, DPAK_FIELD_VLAN_TCI }, { 2, 2, DPAK_FIELD_ETH_TYPE }, { 0, 0, -1 } };
static const struct fdesc f_vlan2[] = {
	{ 0, 2, DPAK_FIELD_VLAN2_TCI }, { 2, 2, DPAK_FIELD_ETH_TYPE }, { 0, 0, -1 } };
static const struct fdesc f_ipv4[] = {
	{ 1, 1, DPAK_FIELD_IP_TOS }, { 8, 1, DPAK_FIELD_IP_TTL }, { 9, 1, DPAK_FIELD_IP_PROTO },
	{ 12, 4, DPAK_FIELD_IPV4_SRC }, { 16, 4, DPAK_FIELD_IPV4_DST }, { 0, 0, -1 } };
static const struct fdesc f_ipv6[] = {
	{ 6, 1, DPAK_FIELD_IP_PROTO }, { 7, 1, DPAK_FIELD_IP_TTL },
	{ 8, 16, DPAK_FIELD_IPV6_SRC }, { 24, 16, DPAK_FIELD_IPV6_DST }, { 0, 0, -1 } };
static const struct fdesc f_tcp[] = {
	{ 0, 2, DPAK_FIELD_L4_SRC }, { 2, 2, DPAK_FIELD_L4_DST }, { 13, 1, DPAK_FIELD_TCP_FLAGS }, { 0, 0, -1 } };
static const struct fdesc f_l4[] = {
	{ 0, 2, DPAK_FIELD_L4_SRC }, { 2, 2, DPAK_FIELD_L4_DST }, { 0, 0, -1 } };
static const struct fdesc f_icmp[] = {
	{ 0, 1, DPAK_FIELD_ICMP_TYPE }, { 1, 1, DPAK_FIELD_ICMP_CODE }, { 0, 0, -1 } };
static const struct fdesc f_vxlan[] = { { 4, 3, DPAK_FIELD_VXLAN_VNI }, { 0, 0, -1 } };
static const struct fdesc f_port[] = { { 0, 4, DPAK_FIELD_IN_PORT }, { 0, 0, -1 } };
static const struct fdesc f_frag[] = { { 0, 1, DPAK_FIELD_IP_FRAG }, { 0, 0, -1 } };
static const struct fdesc f_tags[] = { { 0, 1, DPAK_FIELD_VLAN_TAGS }, { 0, 0, -1 } };

static void note_fields(struct xlate *x, const struct fdesc *fd, const void *mask, int src)
{
	const uint8_t *m = mask;

	for (; fd->field >= 0; fd++) {
		for (unsigned i = 0; i < fd->len; i++)
			if (m[fd->off + i]) {
				if (!(x->fields & (1ull << fd->field)))
					x->field_src[fd->field] = src;
				x->fields |= 1ull << fd->field;
				break;
			}
	}
}

static struct dpak_item *add_item(struct xlate *x, enum dpak_item_type t, int src,
				  const void *spec, const void *mask, size_t len,
				  const struct fdesc *fd)
{
	unsigned i = x->n_items;

	if (i + 1 >= MAX_ITEMS)
		return NULL;
	x->n_items++;
	x->item_src[i] = src;
	x->items[i].type = t;
	memset(&x->spec[i], 0, sizeof(x->spec[i]));
	memset(&x->mask[i], 0, sizeof(x->mask[i]));
	if (spec) {
		memcpy(&x->spec[i], spec, len);
		memcpy(&x->mask[i], mask, len);
		/* the spec keeps only the bits that matter */
		for (size_t k = 0; k < len; k++)
			x->spec[i].raw[k] &= x->mask[i].raw[k];
		x->items[i].spec = &x->spec[i];
		x->items[i].mask = &x->mask[i];
		if (fd)
			note_fields(x, fd, &x->mask[i], src);
	} else {
		/* the item's presence only: no field of its own */
		x->items[i].spec = NULL;
		x->items[i].mask = NULL;
	}
	return &x->items[i];
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

/* A range (last) that says something beyond spec is not offloadable,
 * except where handled. */
static bool has_range(const void *spec, const void *last, const void *mask, size_t n)
{
	const uint8_t *s = spec, *l = last, *m = mask;

	if (!last)
		return false;
	if (all_zero(last, n))
		return false;
	for (size_t i = 0; i < n; i++)
		if ((s ? s[i] & m[i] : 0) != (l[i] & m[i]))
			return true;
	return false;
}

/* ---- pattern ------------------------------------------------------------ */

static int ethdev_to_port(struct xlate *x, uint32_t port_id, uint32_t *port)
{
	struct pmd_shared *sh = x->priv->sh;

	for (uint32_t p = 0; p < sh->n_ports; p++)
		if (sh->eth_of[p] == port_id) {
			*port = p;
			return 0;
		}
	return -ENOENT;
}

static int add_frag(struct xlate *x, int src, uint8_t flags, uint8_t mask)
{
	struct dpak_item_ip_frag s = { .flags = flags }, m = { .flags = mask };

	if (!add_item(x, DPAK_ITEM_IP_FRAG, src, &s, &m, sizeof(s), f_frag))
		return item_fail(x, src, "too many items");
	return 0;
}

static int xlate_pattern(struct xlate *x, const struct rte_flow_item *items)
{
	const struct rte_flow_item_eth *eth_spec = NULL;
	int eth_idx = -1, n_vlan = 0;
	bool vlan_follows = false;
	struct dpak_item_port in = { .id = x->priv->port }, in_mask = { .id = ~0u };
	struct dpak_item *in_item;
	int i;

	in_item = add_item(x, DPAK_ITEM_PORT, -1, &in, &in_mask, sizeof(in), f_port);
	(void)in_item;
	for (i = 0; items[i].type != RTE_FLOW_ITEM_TYPE_END; i++) {
		const struct rte_flow_item *it = &items[i];
		if (it->type == RTE_FLOW_ITEM_TYPE_VLAN && eth_idx >= 0 && !n_vlan)
			vlan_follows = true;
		if (it->type == RTE_FLOW_ITEM_TYPE_ETH && eth_idx < 0) {
			eth_idx = i;
			eth_spec = it->spec;
		}
		if (it->type == RTE_FLOW_ITEM_TYPE_VLAN)
			n_vlan++;
	}
	n_vlan = 0;

	for (i = 0; items[i].type != RTE_FLOW_ITEM_TYPE_END; i++) {
		const struct rte_flow_item *it = &items[i];
		const void *spec = it->spec;

		switch (it->type) {
		case RTE_FLOW_ITEM_TYPE_VOID:
			break;
		case RTE_FLOW_ITEM_TYPE_PORT_ID:
		case RTE_FLOW_ITEM_TYPE_REPRESENTED_PORT: {
			uint32_t id, port;
			if (!spec)
				break;
			id = it->type == RTE_FLOW_ITEM_TYPE_PORT_ID
				     ? ((const struct rte_flow_item_port_id *)spec)->id
				     : ((const struct rte_flow_item_ethdev *)spec)->port_id;
			if (ethdev_to_port(x, id, &port))
				return item_fail_spec(x, i, "ethdev %u is not a net_dpak port of "
						 "this device (dev=%s)", id, x->priv->sh->devspec);
			x->spec[0].port.id = port;
			break;
		}
		case RTE_FLOW_ITEM_TYPE_ETH: {
			const struct rte_flow_item_eth *m = it->mask ? it->mask : &rte_flow_item_eth_mask;
			struct dpak_item_eth s = { 0 }, mm = { 0 };
			if (i != eth_idx)
				return item_fail(x, i, "a second eth item (inner headers are "
						 "not matched)");
			if (it->last && has_range(spec, it->last, m, sizeof(struct rte_ether_hdr)))
				return item_fail_last(x, i, "ranges (last) are not supported");
			if (spec) {
				memcpy(s.dst, eth_spec->dst.addr_bytes, 6);
				memcpy(s.src, eth_spec->src.addr_bytes, 6);
				memcpy(mm.dst, m->dst.addr_bytes, 6);
				memcpy(mm.src, m->src.addr_bytes, 6);
				if (vlan_follows) {
					/* the type is the outer tag's TPID; the EtherType
					 * comes from the vlan item's inner_type */
					uint16_t tpid = rte_be_to_cpu_16(eth_spec->type & m->type);
					if (m->type && tpid != RTE_ETHER_TYPE_VLAN)
						return item_fail_spec(x, i, "TPID 0x%04x: only 802.1Q "
								 "(0x8100) tags are matched", tpid);
				} else {
					s.type = eth_spec->type;
					mm.type = m->type;
				}
			}
			if (!add_item(x, DPAK_ITEM_ETH, i, spec ? &s : NULL, &mm, sizeof(s), f_eth))
				return item_fail(x, i, "too many items");
			if (spec && m->has_vlan) {
				/* has_vlan: the number of tags; a tagged flow
				 * takes one tag exactly (QinQ frames miss it and
				 * go to the slow path). */
				struct dpak_item_vlan_tags ts = { .n = eth_spec->has_vlan ? 1 : 0 },
							   tm = { .n = 0xff };
				if (eth_spec->has_vlan)
					x->tagged = true;
				if (!add_item(x, DPAK_ITEM_VLAN_TAGS, i, &ts, &tm, sizeof(ts), f_tags))
					return item_fail(x, i, "too many items");
			}
			break;
		}
		case RTE_FLOW_ITEM_TYPE_VLAN: {
			const struct rte_flow_item_vlan *v = spec;
			const struct rte_flow_item_vlan *m = it->mask ? it->mask : &rte_flow_item_vlan_mask;
			struct dpak_item_vlan s = { 0 }, mm = { 0 };
			if (n_vlan >= 2)
				return item_fail(x, i, "at most two VLAN tags are matched");
			if (it->last && has_range(spec, it->last, m, 4))
				return item_fail_last(x, i, "ranges (last) are not supported");
			if (v && m->has_more_vlan)
				return item_fail_mask(x, i, "has_more_vlan is not matched");
			if (v) {
				s.tci = v->tci;
				mm.tci = m->tci;
				s.inner_type = v->inner_type;
				mm.inner_type = m->inner_type;
			}
			if (!add_item(x, DPAK_ITEM_VLAN, i, v ? &s : NULL, &mm, sizeof(s),
				      n_vlan ? f_vlan2 : f_vlan))
				return item_fail(x, i, "too many items");
			n_vlan++;
			x->tagged = true;
			break;
		}
		case RTE_FLOW_ITEM_TYPE_IPV4: {
			const struct rte_flow_item_ipv4 *v = spec, *l = it->last;
			const struct rte_flow_item_ipv4 *m = it->mask ? it->mask : &rte_flow_item_ipv4_mask;
			struct dpak_item_ipv4 s, mm;
			int frag = -1, frag_mask = 0;
			_Static_assert(sizeof(s) == sizeof(struct rte_ipv4_hdr), "ipv4 layout");
			if (v) {
				memcpy(&s, &v->hdr, sizeof(s));
				memcpy(&mm, &m->hdr, sizeof(mm));
				/* fragments: OVS's frag=no / first / later */
				uint16_t fs = rte_be_to_cpu_16(v->hdr.fragment_offset);
				uint16_t fm = rte_be_to_cpu_16(m->hdr.fragment_offset);
				uint16_t fl = l ? rte_be_to_cpu_16(l->hdr.fragment_offset) : 0;
				struct rte_flow_item_ipv4 lz;
				if (l) { /* no range on any other field */
					lz = *l;
					lz.hdr.fragment_offset = 0;
					struct rte_flow_item_ipv4 sz = *v;
					sz.hdr.fragment_offset = 0;
					if (has_range(&sz.hdr, &lz.hdr, &m->hdr, sizeof(sz.hdr)))
						return item_fail_last(x, i, "ranges (last) are only supported "
								 "on fragment_offset");
				}
				s.fragment_offset = mm.fragment_offset = 0;
				if (fm) {
					const uint16_t all = RTE_IPV4_HDR_MF_FLAG | RTE_IPV4_HDR_OFFSET_MASK;
					if (fm == all && !fs && !fl)
						frag = 0, frag_mask = DPAK_IP_FRAG_IS;
					else if (fm == all && fs == RTE_IPV4_HDR_MF_FLAG && !fl)
						frag = DPAK_IP_FRAG_IS,
						frag_mask = DPAK_IP_FRAG_IS | DPAK_IP_FRAG_LATER;
					else if (fm == RTE_IPV4_HDR_OFFSET_MASK && fs == 1 &&
						 fl == RTE_IPV4_HDR_OFFSET_MASK)
						frag = frag_mask = DPAK_IP_FRAG_IS | DPAK_IP_FRAG_LATER;
					else
						return item_fail_spec(x, i, "fragment_offset 0x%04x/0x%04x "
								 "last 0x%04x: only not-a-fragment, "
								 "first fragment and later fragments "
								 "are matched", fs, fm, fl);
				}
			} else if (l) {
				return item_fail_last(x, i, "last without spec");
			}
			if (!add_item(x, DPAK_ITEM_IPV4, i, v ? &s : NULL, &mm, sizeof(s), f_ipv4))
				return item_fail(x, i, "too many items");
			if (frag >= 0) {
				int err = add_frag(x, i, (uint8_t)frag, (uint8_t)frag_mask);
				if (err)
					return err;
			}
			break;
		}
		case RTE_FLOW_ITEM_TYPE_IPV6: {
			const struct rte_flow_item_ipv6 *v = spec;
			const struct rte_flow_item_ipv6 *m = it->mask ? it->mask : &rte_flow_item_ipv6_mask;
			struct dpak_item_ipv6 s, mm;
			_Static_assert(sizeof(s) == sizeof(struct rte_ipv6_hdr), "ipv6 layout");
			if (it->last && has_range(spec, it->last, m, sizeof(struct rte_ipv6_hdr)))
				return item_fail_last(x, i, "ranges (last) are not supported");
			if (v) {
				memcpy(&s, &v->hdr, sizeof(s));
				memcpy(&mm, &m->hdr, sizeof(mm));
				if (m->has_hop_ext || m->has_route_ext || m->has_auth_ext ||
				    m->has_esp_ext || m->has_dest_ext || m->has_mobil_ext ||
				    m->has_hip_ext || m->has_shim6_ext)
					return item_fail_mask(x, i, "extension headers other than the "
							 "fragment header are not matched");
			}
			if (!add_item(x, DPAK_ITEM_IPV6, i, v ? &s : NULL, &mm, sizeof(s), f_ipv6))
				return item_fail(x, i, "too many items");
			if (v && m->has_frag_ext) {
				const struct rte_flow_item *nx = &items[i + 1];
				while (nx->type == RTE_FLOW_ITEM_TYPE_VOID)
					nx++;
				if (!v->has_frag_ext) {
					int err = add_frag(x, i, 0, DPAK_IP_FRAG_IS);
					if (err)
						return err;
				} else if (nx->type != RTE_FLOW_ITEM_TYPE_IPV6_FRAG_EXT) {
					int err = add_frag(x, i, DPAK_IP_FRAG_IS, DPAK_IP_FRAG_IS);
					if (err)
						return err;
				}
			}
			break;
		}
		case RTE_FLOW_ITEM_TYPE_IPV6_FRAG_EXT: {
			const struct rte_flow_item_ipv6_frag_ext *v = spec, *l = it->last;
			static const struct rte_flow_item_ipv6_frag_ext def_mask = {
				.hdr = { .next_header = 0xff, .frag_data = RTE_BE16(0xffff) } };
			const struct rte_flow_item_ipv6_frag_ext *m = it->mask ? it->mask : &def_mask;
			unsigned prev = x->n_items - 1;
			if (!prev || x->items[prev].type != DPAK_ITEM_IPV6)
				return item_fail(x, i, "must follow the ipv6 item");
			if (!v)
				return item_fail_spec(x, i, "needs a spec (first or later fragment)");
			uint16_t fs = rte_be_to_cpu_16(v->hdr.frag_data);
			uint16_t fm = rte_be_to_cpu_16(m->hdr.frag_data);
			uint16_t fl = l ? rte_be_to_cpu_16(l->hdr.frag_data) : 0;
			const uint16_t fo_mask = (uint16_t)RTE_IPV6_EHDR_FO_MASK;
			const uint16_t all = (uint16_t)(RTE_IPV6_EHDR_MF_MASK | fo_mask);
			if (m->hdr.id || m->hdr.reserved || (l && (l->hdr.next_header || l->hdr.id)))
				return item_fail_mask(x, i, "only next_header and frag_data are matched");
			/* next_header is the transport protocol (OVS moves it here) */
			if (m->hdr.next_header) {
				x->spec[prev].ipv6.proto = v->hdr.next_header & m->hdr.next_header;
				x->mask[prev].ipv6.proto = m->hdr.next_header;
				note_fields(x, f_ipv6, &x->mask[prev], i);
			}
			int err;
			if (fm == all && fs == RTE_IPV6_EHDR_MF_MASK && !fl)
				err = add_frag(x, i, DPAK_IP_FRAG_IS, DPAK_IP_FRAG_IS | DPAK_IP_FRAG_LATER);
			else if (fm == fo_mask && fs == (1 << RTE_IPV6_EHDR_FO_SHIFT) && fl == fo_mask)
				err = add_frag(x, i, DPAK_IP_FRAG_IS | DPAK_IP_FRAG_LATER,
					       DPAK_IP_FRAG_IS | DPAK_IP_FRAG_LATER);
			else if (!fm && !fl)
				err = add_frag(x, i, DPAK_IP_FRAG_IS, DPAK_IP_FRAG_IS);
			else
				return item_fail_spec(x, i, "frag_data 0x%04x/0x%04x last 0x%04x: only "
						 "first and later fragments are matched", fs, fm, fl);
			if (err)
				return err;
			break;
		}
		case RTE_FLOW_ITEM_TYPE_TCP: {
			const struct rte_flow_item_tcp *m = it->mask ? it->mask : &rte_flow_item_tcp_mask;
			_Static_assert(sizeof(struct dpak_item_tcp) == sizeof(struct rte_tcp_hdr), "tcp layout");
			if (it->last && has_range(spec, it->last, m, sizeof(struct rte_tcp_hdr)))
				return item_fail_last(x, i, "ranges (last) are not supported");
			if (!add_item(x, DPAK_ITEM_TCP, i, spec ? &((const struct rte_flow_item_tcp *)spec)->hdr : NULL,
				      &m->hdr, sizeof(struct rte_tcp_hdr), f_tcp))
				return item_fail(x, i, "too many items");
			break;
		}
		case RTE_FLOW_ITEM_TYPE_UDP: {
			const struct rte_flow_item_udp *m = it->mask ? it->mask : &rte_flow_item_udp_mask;
			_Static_assert(sizeof(struct dpak_item_udp) == sizeof(struct rte_udp_hdr), "udp layout");
			if (it->last && has_range(spec, it->last, m, sizeof(struct rte_udp_hdr)))
				return item_fail_last(x, i, "ranges (last) are not supported");
			if (!add_item(x, DPAK_ITEM_UDP, i, spec ? &((const struct rte_flow_item_udp *)spec)->hdr : NULL,
				      &m->hdr, sizeof(struct rte_udp_hdr), f_l4))
				return item_fail(x, i, "too many items");
			break;
		}
		case RTE_FLOW_ITEM_TYPE_SCTP: {
			const struct rte_flow_item_sctp *m = it->mask ? it->mask : &rte_flow_item_sctp_mask;
			_Static_assert(sizeof(struct dpak_item_sctp) == sizeof(struct rte_sctp_hdr), "sctp layout");
			if (it->last && has_range(spec, it->last, m, sizeof(struct rte_sctp_hdr)))
				return item_fail_last(x, i, "ranges (last) are not supported");
			if (!add_item(x, DPAK_ITEM_SCTP, i, spec ? &((const struct rte_flow_item_sctp *)spec)->hdr : NULL,
				      &m->hdr, sizeof(struct rte_sctp_hdr), f_l4))
				return item_fail(x, i, "too many items");
			break;
		}
		case RTE_FLOW_ITEM_TYPE_ICMP: {
			const struct rte_flow_item_icmp *m = it->mask ? it->mask : &rte_flow_item_icmp_mask;
			_Static_assert(sizeof(struct dpak_item_icmp) == sizeof(struct rte_icmp_hdr), "icmp layout");
			if (it->last && has_range(spec, it->last, m, sizeof(struct rte_icmp_hdr)))
				return item_fail_last(x, i, "ranges (last) are not supported");
			if (!add_item(x, DPAK_ITEM_ICMP, i, spec ? &((const struct rte_flow_item_icmp *)spec)->hdr : NULL,
				      &m->hdr, sizeof(struct rte_icmp_hdr), f_icmp))
				return item_fail(x, i, "too many items");
			break;
		}
		case RTE_FLOW_ITEM_TYPE_VXLAN: {
			const struct rte_flow_item_vxlan *m = it->mask ? it->mask : &rte_flow_item_vxlan_mask;
			if (it->last && has_range(spec, it->last, m, 8))
				return item_fail_last(x, i, "ranges (last) are not supported");
			if (!add_item(x, DPAK_ITEM_VXLAN, i, spec, m, 8, f_vxlan))
				return item_fail(x, i, "too many items");
			break;
		}
		default:
			return item_fail(x, i, "not supported by net_dpak (eth, vlan, ipv4, "
					 "ipv6, ipv6_frag_ext, tcp, udp, sctp, icmp, vxlan are)");
		}
	}
	return 0;
}

/* ---- actions ------------------------------------------------------------ */

static union act_buf *add_act(struct xlate *x, enum dpak_action_type t, int src, bool has_conf)
{
	unsigned i = x->n_acts;

	if (i + 1 >= MAX_ACTS)
		return NULL;
	x->n_acts++;
	x->act_src[i] = src;
	x->acts[i].type = t;
	memset(&x->conf[i], 0, sizeof(x->conf[i]));
	x->acts[i].conf = has_conf ? &x->conf[i] : NULL;
	x->act_types |= 1ull << t;
	return &x->conf[i];
}

struct encap_hdrs {
	const uint8_t *eth_dst, *eth_src;
	int ipv;		/* 4 or 6 */
	const struct rte_ipv4_hdr *ip4;
	const struct rte_ipv6_hdr *ip6;
	const struct rte_udp_hdr *udp;
	const struct rte_vxlan_hdr *vxlan;
};

/* The outer headers of a VXLAN encapsulation into a libdpak action. */
static int encap_to_action(struct xlate *x, int idx, const struct encap_hdrs *h, bool raw)
{
	union act_buf *c;
	uint32_t vni;

	if (rte_be_to_cpu_16(h->udp->dst_port) != RTE_VXLAN_DEFAULT_PORT)
		return act_fail_conf(x, idx, "UDP destination port %u: libdpak encapsulates "
				"to the VXLAN port %u", rte_be_to_cpu_16(h->udp->dst_port),
				RTE_VXLAN_DEFAULT_PORT);
	/* the VXLAN flags are the device's: the I flag, nothing else */
	vni = rte_be_to_cpu_32(h->vxlan->vx_vni) >> 8;
	if (h->ipv == 4) {
		/* a raw header says it all; an item definition may leave the
		 * version, length and protocol zero (they follow from the items) */
		if ((raw || h->ip4->next_proto_id) && h->ip4->next_proto_id != IPPROTO_UDP)
			return act_fail_conf(x, idx, "outer IPv4 header: protocol %u, not UDP",
					h->ip4->next_proto_id);
		if ((raw || h->ip4->version_ihl) && h->ip4->version_ihl != 0x45)
			return act_fail_conf(x, idx, "outer IPv4 header: version/length 0x%02x: "
					"IPv4 options are not encapsulated", h->ip4->version_ihl);
		if (!(c = add_act(x, DPAK_ACTION_VXLAN_ENCAP, idx, true)))
			return act_fail(x, idx, "too many actions");
		memcpy(c->vxlan.eth_dst, h->eth_dst, 6);
		memcpy(c->vxlan.eth_src, h->eth_src, 6);
		c->vxlan.ipv4_src = h->ip4->src_addr;
		c->vxlan.ipv4_dst = h->ip4->dst_addr;
		c->vxlan.ttl = h->ip4->time_to_live;
		c->vxlan.tos = h->ip4->type_of_service;
		c->vxlan.udp_src = h->udp->src_port;
		c->vxlan.vni = vni;
		return 0;
	}
	if ((raw || h->ip6->proto) && h->ip6->proto != IPPROTO_UDP)
		return act_fail_conf(x, idx, "outer IPv6 header: next header must be UDP");
	if (!(c = add_act(x, DPAK_ACTION_VXLAN_ENCAP6, idx, true)))
		return act_fail(x, idx, "too many actions");
	memcpy(c->vxlan6.eth_dst, h->eth_dst, 6);
	memcpy(c->vxlan6.eth_src, h->eth_src, 6);
	memcpy(c->vxlan6.ipv6_src, h->ip6->src_addr, 16);
	memcpy(c->vxlan6.ipv6_dst, h->ip6->dst_addr, 16);
	c->vxlan6.hop_limit = h->ip6->hop_limits;
	c->vxlan6.tclass = (uint8_t)(rte_be_to_cpu_32(h->ip6->vtc_flow) >> 20);
	c->vxlan6.udp_src = h->udp->src_port;
	c->vxlan6.vni = vni;
	return 0;
}

static int xlate_vxlan_encap(struct xlate *x, int idx, const struct rte_flow_action_vxlan_encap *conf)
{
	struct encap_hdrs h = { 0 };
	const struct rte_flow_item *it;
	int step = 0;

	if (!conf || !conf->definition)
		return act_fail_conf(x, idx, "no definition");
	for (it = conf->definition; it->type != RTE_FLOW_ITEM_TYPE_END; it++) {
		if (it->type == RTE_FLOW_ITEM_TYPE_VOID)
			continue;
		if (!it->spec)
			return act_fail_conf(x, idx, "definition item %s without spec",
					item_name(it->type));
		if (step == 0 && it->type == RTE_FLOW_ITEM_TYPE_ETH) {
			const struct rte_flow_item_eth *e = it->spec;
			h.eth_dst = e->dst.addr_bytes;
			h.eth_src = e->src.addr_bytes;
		} else if (step == 1 && it->type == RTE_FLOW_ITEM_TYPE_IPV4) {
			h.ipv = 4;
			h.ip4 = &((const struct rte_flow_item_ipv4 *)it->spec)->hdr;
		} else if (step == 1 && it->type == RTE_FLOW_ITEM_TYPE_IPV6) {
			h.ipv = 6;
			h.ip6 = &((const struct rte_flow_item_ipv6 *)it->spec)->hdr;
		} else if (step == 2 && it->type == RTE_FLOW_ITEM_TYPE_UDP) {
			h.udp = &((const struct rte_flow_item_udp *)it->spec)->hdr;
		} else if (step == 3 && it->type == RTE_FLOW_ITEM_TYPE_VXLAN) {
			h.vxlan = &((const struct rte_flow_item_vxlan *)it->spec)->hdr;
		} else {
			return act_fail_conf(x, idx, "definition item %d (%s): only eth / ipv4 or "
					"ipv6 / udp / vxlan is encapsulated", step,
					item_name(it->type));
		}
		step++;
	}
	if (step != 4)
		return act_fail_conf(x, idx, "definition must be eth / ipv4 or ipv6 / udp / vxlan");
	/* OVS passes the header bytes with the types' default masks: the
	 * eth item's type is the outer EtherType */
	return encap_to_action(x, idx, &h, false);
}

static int xlate_raw_encap(struct xlate *x, int idx, const struct rte_flow_action_raw_encap *conf)
{
	struct encap_hdrs h = { 0 };
	const uint8_t *d;
	size_t need;

	if (!conf || !conf->data)
		return act_fail_conf(x, idx, "no data");
	d = conf->data;
	if (conf->size < sizeof(struct rte_ether_hdr))
		return act_fail_conf(x, idx, "%zu bytes: not an Ethernet header", conf->size);
	const struct rte_ether_hdr *e = (const void *)d;
	h.eth_dst = e->dst_addr.addr_bytes;
	h.eth_src = e->src_addr.addr_bytes;
	if (e->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4)) {
		h.ipv = 4;
		need = 14 + 20 + 8 + 8;
		h.ip4 = (const void *)(d + 14);
	} else if (e->ether_type == rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV6)) {
		h.ipv = 6;
		need = 14 + 40 + 8 + 8;
		h.ip6 = (const void *)(d + 14);
	} else {
		return act_fail_conf(x, idx, "EtherType 0x%04x: only VXLAN over IPv4 or IPv6 "
				"is encapsulated", rte_be_to_cpu_16(e->ether_type));
	}
	if (conf->size != need)
		return act_fail_conf(x, idx, "%zu bytes: VXLAN over IPv%d takes %zu (other "
				"tunnels and IP options are not encapsulated)", conf->size,
				h.ipv, need);
	h.udp = (const void *)(d + need - 16);
	h.vxlan = (const void *)(d + need - 8);
	return encap_to_action(x, idx, &h, true);
}

static int xlate_actions(struct xlate *x, const struct rte_flow_action *acts, bool ingress_only)
{
	union act_buf *c, *push = NULL;
	int i;

	for (i = 0; acts[i].type != RTE_FLOW_ACTION_TYPE_END; i++) {
		const struct rte_flow_action *a = &acts[i];
		int err;

		if (push && a->type != RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_PCP &&
		    a->type != RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_VID)
			push = NULL;
		switch (a->type) {
		case RTE_FLOW_ACTION_TYPE_VOID:
			break;
		case RTE_FLOW_ACTION_TYPE_COUNT:
			if (x->count)
				return act_fail(x, i, "a second count action");
			if (!add_act(x, DPAK_ACTION_COUNT, i, false))
				return act_fail(x, i, "too many actions");
			x->count = true;
			break;
		case RTE_FLOW_ACTION_TYPE_DROP:
			if (!add_act(x, DPAK_ACTION_DROP, i, false))
				return act_fail(x, i, "too many actions");
			x->n_fates++;
			break;
		case RTE_FLOW_ACTION_TYPE_PORT_ID:
		case RTE_FLOW_ACTION_TYPE_REPRESENTED_PORT:
		case RTE_FLOW_ACTION_TYPE_PORT_REPRESENTOR: {
			uint32_t id, port;
			if (!a->conf)
				return act_fail_conf(x, i, "no conf");
			if (a->type == RTE_FLOW_ACTION_TYPE_PORT_ID) {
				const struct rte_flow_action_port_id *pc = a->conf;
				if (pc->original)
					return act_fail_conf(x, i, "original=1 is not supported");
				id = pc->id;
			} else {
				id = ((const struct rte_flow_action_ethdev *)a->conf)->port_id;
			}
			if (ethdev_to_port(x, id, &port))
				return act_fail_conf(x, i, "ethdev %u is not a net_dpak port of this "
						"device (dev=%s): only ports of one device forward "
						"to each other", id, x->priv->sh->devspec);
			if (x->n_fates)
				return act_fail(x, i, "more than one fate (output to several "
						"ports is not offloaded)");
			if (!(c = add_act(x, DPAK_ACTION_PORT, i, true)))
				return act_fail(x, i, "too many actions");
			c->port.id = port;
			x->n_fates++;
			break;
		}
		case RTE_FLOW_ACTION_TYPE_SET_MAC_SRC:
		case RTE_FLOW_ACTION_TYPE_SET_MAC_DST:
			if (!a->conf)
				return act_fail_conf(x, i, "no conf");
			if (!(c = add_act(x, a->type == RTE_FLOW_ACTION_TYPE_SET_MAC_SRC
					     ? DPAK_ACTION_SET_ETH_SRC : DPAK_ACTION_SET_ETH_DST, i, true)))
				return act_fail(x, i, "too many actions");
			memcpy(c->mac.mac, ((const struct rte_flow_action_set_mac *)a->conf)->mac_addr, 6);
			break;
		case RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC:
		case RTE_FLOW_ACTION_TYPE_SET_IPV4_DST:
			if (!a->conf)
				return act_fail_conf(x, i, "no conf");
			if (!(c = add_act(x, a->type == RTE_FLOW_ACTION_TYPE_SET_IPV4_SRC
					     ? DPAK_ACTION_SET_IPV4_SRC : DPAK_ACTION_SET_IPV4_DST, i, true)))
				return act_fail(x, i, "too many actions");
			c->ipv4.addr = ((const struct rte_flow_action_set_ipv4 *)a->conf)->ipv4_addr;
			break;
		case RTE_FLOW_ACTION_TYPE_SET_IPV6_SRC:
		case RTE_FLOW_ACTION_TYPE_SET_IPV6_DST:
			if (!a->conf)
				return act_fail_conf(x, i, "no conf");
			if (!(c = add_act(x, a->type == RTE_FLOW_ACTION_TYPE_SET_IPV6_SRC
					     ? DPAK_ACTION_SET_IPV6_SRC : DPAK_ACTION_SET_IPV6_DST, i, true)))
				return act_fail(x, i, "too many actions");
			memcpy(c->ipv6.addr, ((const struct rte_flow_action_set_ipv6 *)a->conf)->ipv6_addr, 16);
			break;
		case RTE_FLOW_ACTION_TYPE_SET_TP_SRC:
		case RTE_FLOW_ACTION_TYPE_SET_TP_DST:
			if (!a->conf)
				return act_fail_conf(x, i, "no conf");
			if (!(c = add_act(x, a->type == RTE_FLOW_ACTION_TYPE_SET_TP_SRC
					     ? DPAK_ACTION_SET_TP_SRC : DPAK_ACTION_SET_TP_DST, i, true)))
				return act_fail(x, i, "too many actions");
			c->tp.port = ((const struct rte_flow_action_set_tp *)a->conf)->port;
			break;
		case RTE_FLOW_ACTION_TYPE_SET_TTL:
			if (!a->conf)
				return act_fail_conf(x, i, "no conf");
			if (!(c = add_act(x, DPAK_ACTION_SET_TTL, i, true)))
				return act_fail(x, i, "too many actions");
			c->ttl.ttl = ((const struct rte_flow_action_set_ttl *)a->conf)->ttl_value;
			break;
		case RTE_FLOW_ACTION_TYPE_DEC_TTL:
			if (!add_act(x, DPAK_ACTION_DEC_TTL, i, false))
				return act_fail(x, i, "too many actions");
			break;
		case RTE_FLOW_ACTION_TYPE_OF_PUSH_VLAN: {
			const struct rte_flow_action_of_push_vlan *pc = a->conf;
			if (!pc)
				return act_fail_conf(x, i, "no conf");
			uint16_t tpid = rte_be_to_cpu_16(pc->ethertype);
			if (tpid != RTE_ETHER_TYPE_VLAN && tpid != RTE_ETHER_TYPE_QINQ)
				return act_fail_conf(x, i, "TPID 0x%04x: 0x8100 or 0x88a8 are pushed", tpid);
			if (!(push = add_act(x, DPAK_ACTION_VLAN_PUSH, i, true)))
				return act_fail(x, i, "too many actions");
			push->vlan_push.tpid = pc->ethertype;
			break;
		}
		case RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_PCP:
		case RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_VID: {
			if (!push)
				return act_fail(x, i, "only right after of_push_vlan (a tag the "
						"packet has is not rewritten)");
			if (!a->conf)
				return act_fail_conf(x, i, "no conf");
			uint16_t tci = rte_be_to_cpu_16(push->vlan_push.tci);
			if (a->type == RTE_FLOW_ACTION_TYPE_OF_SET_VLAN_PCP) {
				uint8_t pcp = ((const struct rte_flow_action_of_set_vlan_pcp *)a->conf)->vlan_pcp;
				if (pcp > 7)
					return act_fail_conf(x, i, "PCP %u > 7", pcp);
				tci = (uint16_t)((tci & 0x1fff) | pcp << 13);
			} else {
				uint16_t vid = rte_be_to_cpu_16(
					((const struct rte_flow_action_of_set_vlan_vid *)a->conf)->vlan_vid);
				if (vid > 4095)
					return act_fail_conf(x, i, "VLAN id %u > 4095", vid);
				tci = (uint16_t)((tci & 0xf000) | vid);
			}
			push->vlan_push.tci = rte_cpu_to_be_16(tci);
			break;
		}
		case RTE_FLOW_ACTION_TYPE_OF_POP_VLAN:
			/* libdpak drops a packet without a tag to pop: a rule
			 * that also matches untagged frames would drop them */
			if (!x->tagged && !(x->act_types & (1ull << DPAK_ACTION_VLAN_PUSH)))
				return act_fail(x, i, "the pattern matches untagged frames too "
						"(they would be dropped): match a tag with a vlan "
						"item or eth has_vlan is 1");
			if (!add_act(x, DPAK_ACTION_VLAN_POP, i, false))
				return act_fail(x, i, "too many actions");
			break;
		case RTE_FLOW_ACTION_TYPE_VXLAN_ENCAP:
		case RTE_FLOW_ACTION_TYPE_RAW_ENCAP:
			if (x->n_encaps++)
				return act_fail(x, i, "a second encapsulation (VXLAN in VXLAN "
						"is not offloaded)");
			if ((err = a->type == RTE_FLOW_ACTION_TYPE_VXLAN_ENCAP
				   ? xlate_vxlan_encap(x, i, a->conf)
				   : xlate_raw_encap(x, i, a->conf)))
				return err;
			break;
		case RTE_FLOW_ACTION_TYPE_MARK:
			if (!a->conf)
				return act_fail_conf(x, i, "no conf");
			if (!(c = add_act(x, DPAK_ACTION_MARK, i, true)))
				return act_fail(x, i, "too many actions");
			c->mark.id = ((const struct rte_flow_action_mark *)a->conf)->id;
			break;
		case RTE_FLOW_ACTION_TYPE_QUEUE: {
			const struct rte_flow_action_queue *qc = a->conf;
			if (!qc)
				return act_fail_conf(x, i, "no conf");
			if (qc->index >= x->eth->data->nb_rx_queues)
				return act_fail_conf(x, i, "queue %u: the port has %u receive queues",
						qc->index, x->eth->data->nb_rx_queues);
			if (x->n_fates)
				return act_fail(x, i, "more than one fate");
			if (!(c = add_act(x, DPAK_ACTION_QUEUE, i, true)))
				return act_fail(x, i, "too many actions");
			c->queue.index = (uint16_t)(x->priv->first_q + qc->index);
			x->n_fates++;
			break;
		}
		case RTE_FLOW_ACTION_TYPE_RSS: {
			const struct rte_flow_action_rss *r = a->conf;
			if (!r)
				return act_fail_conf(x, i, "no conf");
			if (r->level > 1)
				return act_fail_conf(x, i, "level %u: the inner headers are not hashed",
						r->level);
			if (r->key_len || r->key)
				return act_fail_conf(x, i, "a hash key: libdpak spreads by its own "
						"flow hash");
			if (r->func != RTE_ETH_HASH_FUNCTION_DEFAULT)
				return act_fail_conf(x, i, "hash function %d: only the default",
						r->func);
			if (x->n_fates)
				return act_fail(x, i, "more than one fate");
			if (!r->queue_num || r->queue_num > DPAK_RSS_MAX_QUEUES || !r->queue)
				return act_fail_conf(x, i, "%u queues: 1-%d are spread over",
						r->queue_num, DPAK_RSS_MAX_QUEUES);
			if (!(c = add_act(x, DPAK_ACTION_RSS, i, true)))
				return act_fail(x, i, "too many actions");
			c->rss.n = (uint16_t)r->queue_num;
			for (uint32_t k = 0; k < r->queue_num; k++) {
				if (r->queue[k] >= x->eth->data->nb_rx_queues)
					return act_fail_conf(x, i, "queue %u: the port has %u receive "
							"queues", r->queue[k],
							x->eth->data->nb_rx_queues);
				c->rss.queues[k] = (uint16_t)(x->priv->first_q + r->queue[k]);
			}
			x->n_fates++;
			break;
		}
		case RTE_FLOW_ACTION_TYPE_JUMP:
			return act_fail(x, i, "only group 0 exists");
		default:
			return act_fail(x, i, "not supported by net_dpak");
		}
	}
	if (!x->n_fates) {
		if (!ingress_only || !(x->act_types & (1ull << DPAK_ACTION_MARK)))
			return fail(x->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION_NUM, NULL,
				    "no fate action (port_id, drop, queue or rss)");
		/* ingress mark alone: the packet goes on to the port's receive
		 * queues, as without the rule */
		if (!(c = add_act(x, DPAK_ACTION_RSS, i, true)))
			return act_fail(x, i, "too many actions");
		c->rss.n = RTE_MIN(x->eth->data->nb_rx_queues ? x->eth->data->nb_rx_queues : 1,
				   (uint16_t)DPAK_RSS_MAX_QUEUES);
		for (uint16_t k = 0; k < c->rss.n; k++)
			c->rss.queues[k] = (uint16_t)(x->priv->first_q + k);
		x->act_src[x->n_acts - 1] = -1;
	}
	if (x->n_fates > 1)
		return fail(x->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION_NUM, NULL,
			    "more than one fate action");
	return 0;
}

/* ---- table choice ------------------------------------------------------- */

static void field_label(int f, char *buf, size_t cap)
{
	const char *nm = dpak_field_name((enum dpak_field)f);

	snprintf(buf, cap, "%s", nm ? nm : "?");
}

/* dpak_errmsg() names "item N" / "action N" of the libdpak lists: refer
 * to the rule's own item or action instead. */
static int map_dpak_error(struct xlate *x, int err, const char *table, const char *msg)
{
	unsigned n;

	if (sscanf(msg, "item %u", &n) == 1 && n < x->n_items && x->item_src[n] >= 0) {
		int src = x->item_src[n];
		const char *rest = strchr(msg, ':');
		/* a field the table cannot match is the mask's doing */
		bool m = strstr(msg, "cannot be matched") || strstr(msg, "mask");
		return fail(x->error, -err, m ? RTE_FLOW_ERROR_TYPE_ITEM_MASK
					      : RTE_FLOW_ERROR_TYPE_ITEM,
			    item_cause(&x->rte_items[src], m ? RTE_FLOW_ERROR_TYPE_ITEM_MASK
							     : RTE_FLOW_ERROR_TYPE_ITEM),
			    "item %d (%s): table %s: %s", src, item_name(x->rte_items[src].type),
			    table, rest ? rest + 2 : msg);
	}
	if (sscanf(msg, "action %u", &n) == 1 && n < x->n_acts && x->act_src[n] >= 0) {
		int src = x->act_src[n];
		const char *rest = strchr(msg, ':');
		return fail(x->error, -err, RTE_FLOW_ERROR_TYPE_ACTION, &x->rte_acts[src],
			    "action %d (%s): table %s: %s", src, action_name(x->rte_acts[src].type),
			    table, rest ? rest + 2 : msg);
	}
	if (err == -ERANGE && !strncmp(msg, "priority", 8))
		return fail(x->error, ERANGE, RTE_FLOW_ERROR_TYPE_ATTR_PRIORITY, x->attr,
			    "table %s: %s", table, msg);
	char tn[80];
	snprintf(tn, sizeof(tn), "table %s", table);
	if (strstr(msg, tn))
		return fail(x->error, -err, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, NULL, "%s", msg);
	return fail(x->error, -err, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, NULL, "%s: %s", tn, msg);
}

/* The first table that takes the flow, or NULL with the error set. */
static struct dpak_table *choose_table(struct xlate *x, const struct dpak_flow_opts *o)
{
	struct pmd_shared *sh = x->priv->sh;
	uint64_t any_key = 0;
	int best = -1, best_cover = -1, first_err = 0;
	char first_msg[384] = "", first_table[64] = "";

	for (uint32_t t = 0; t < sh->n_tables; t++) {
		struct dpak_table *tb = dpak_table_at(x->priv->dev, t);
		struct dpak_table_info ti = { .sz = sizeof(ti) };
		int err;

		if (!tb || dpak_table_info(tb, &ti))
			continue;
		any_key |= ti.key_fields;
		if (x->fields & ~ti.key_fields) {
			int cover = __builtin_popcountll(x->fields & ti.key_fields);
			if (cover > best_cover) {
				best_cover = cover;
				best = (int)t;
			}
			continue;
		}
		if (x->act_types & ~ti.action_types) {
			if (!first_err) {
				uint64_t miss = x->act_types & ~ti.action_types;
				int at = __builtin_ctzll(miss);
				first_err = -ENOTSUP;
				for (unsigned k = 0; k < x->n_acts; k++)
					if (x->acts[k].type == (enum dpak_action_type)at) {
						snprintf(first_msg, sizeof(first_msg), "action %u (x): "
							 "not allowed in this table", k);
						break;
					}
				snprintf(first_table, sizeof(first_table), "%s", ti.name);
			}
			continue;
		}
		if (!(err = dpak_flow_validate(tb, x->items, x->acts, o)))
			return tb;
		if (!first_err) {
			first_err = err;
			snprintf(first_msg, sizeof(first_msg), "%s", dpak_errmsg());
			snprintf(first_table, sizeof(first_table), "%s", ti.name);
		}
	}
	if (first_err) {
		map_dpak_error(x, first_err, first_table, first_msg);
		return NULL;
	}
	/* No table's key covers the pattern: name a field. */
	uint64_t lack = x->fields & ~any_key;
	char fname[32];
	if (lack) {
		int f = __builtin_ctzll(lack);
		field_label(f, fname, sizeof(fname));
		if (f == DPAK_FIELD_IN_PORT || x->field_src[f] < 0) {
			fail(x->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, NULL,
			     "no table matches %s (the ingress port)", fname);
			return NULL;
		}
		int src = x->field_src[f];
		item_fail_mask(x, src, "no table matches %s", fname);
		return NULL;
	}
	if (best >= 0) {
		struct dpak_table_info ti = { .sz = sizeof(ti) };
		dpak_table_info(dpak_table_at(x->priv->dev, (uint32_t)best), &ti);
		int f = __builtin_ctzll(x->fields & ~ti.key_fields);
		field_label(f, fname, sizeof(fname));
		int src = x->field_src[f];
		if (src >= 0) {
			item_fail_mask(x, src, "no table matches %s with the pattern's other fields "
				  "(closest: table %s)", fname, ti.name);
			return NULL;
		}
	}
	fail(x->error, ENOTSUP, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, NULL,
	     "no table holds this flow");
	return NULL;
}

static int translate(struct rte_eth_dev *eth, const struct rte_flow_attr *attr,
		     const struct rte_flow_item items[], const struct rte_flow_action actions[],
		     struct rte_flow_error *error, struct xlate *x)
{
	struct pmd_priv *p = eth->data->dev_private;
	int err;

	memset(x, 0, sizeof(*x));
	x->eth = eth;
	x->priv = p;
	x->error = error;
	x->rte_items = items;
	x->rte_acts = actions;
	x->attr = attr;
	for (unsigned k = 0; k < RTE_DIM(x->field_src); k++)
		x->field_src[k] = -1;
	if (!p->sh)
		return fail(error, ENODEV, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, NULL, "port closed");
	if (!attr)
		return fail(error, EINVAL, RTE_FLOW_ERROR_TYPE_ATTR, NULL, "no attributes");
	if (!items)
		return fail(error, EINVAL, RTE_FLOW_ERROR_TYPE_ITEM_NUM, NULL, "no pattern");
	if (!actions)
		return fail(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION_NUM, NULL, "no actions");
	if (attr->group)
		return fail(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ATTR_GROUP, attr,
			    "group %u: only group 0 exists", attr->group);
	if (attr->egress)
		return fail(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ATTR_EGRESS, attr,
			    "egress rules are not supported (the in-port is the ethdev's)");
	if (!attr->ingress && !attr->transfer)
		return fail(error, EINVAL, RTE_FLOW_ERROR_TYPE_ATTR_INGRESS, attr,
			    "neither ingress nor transfer");
	x->priority = attr->priority;
	if ((err = xlate_pattern(x, items)))
		return err;
	if ((err = xlate_actions(x, actions, !attr->transfer)))
		return err;
	x->items[x->n_items].type = DPAK_ITEM_END;
	x->acts[x->n_acts].type = DPAK_ACTION_END;
	return 0;
}

/* ---- rte_flow ops ------------------------------------------------------- */

static int pmd_flow_validate(struct rte_eth_dev *eth, const struct rte_flow_attr *attr,
			     const struct rte_flow_item items[],
			     const struct rte_flow_action actions[],
			     struct rte_flow_error *error)
{
	struct xlate *x = malloc(sizeof(*x));
	int err;

	if (!x)
		return fail(error, ENOMEM, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, NULL, "out of memory");
	if (!(err = translate(eth, attr, items, actions, error, x))) {
		DPAK_OPTS(dpak_flow_opts, o, .priority = x->priority);
		if (!choose_table(x, &o))
			err = -rte_errno;
	}
	free(x);
	return err;
}

static struct rte_flow *pmd_flow_create(struct rte_eth_dev *eth,
					const struct rte_flow_attr *attr,
					const struct rte_flow_item items[],
					const struct rte_flow_action actions[],
					struct rte_flow_error *error)
{
	struct pmd_priv *p = eth->data->dev_private;
	struct xlate *x = malloc(sizeof(*x));
	struct pmd_flow *f = NULL;
	struct dpak_table *tb;
	int err;

	if (!x) {
		fail(error, ENOMEM, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, NULL, "out of memory");
		return NULL;
	}
	if (translate(eth, attr, items, actions, error, x))
		goto out;
	if (!(f = calloc(1, sizeof(*f)))) {
		fail(error, ENOMEM, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, NULL, "out of memory");
		goto out;
	}
	DPAK_OPTS(dpak_flow_opts, o, .priority = x->priority, .cookie = (uintptr_t)f);
	pthread_mutex_lock(&p->sh->lock);
	if (!(tb = choose_table(x, &o))) {
		pthread_mutex_unlock(&p->sh->lock);
		free(f);
		f = NULL;
		goto out;
	}
	if ((err = dpak_flow_add(tb, x->items, x->acts, &o, &f->flow))) {
		struct dpak_table_info ti = { .sz = sizeof(ti) };
		dpak_table_info(tb, &ti);
		if (err == -EEXIST)
			/* libdpak refuses a second flow with the same match
			 * whatever its priority: the pattern as a whole is
			 * the cause */
			fail(error, EEXIST, RTE_FLOW_ERROR_TYPE_ITEM_NUM, items,
			     "table %s: a rule with the same pattern exists (at any "
			     "priority: the same pattern cannot be offloaded twice)",
			     ti.name);
		else
			map_dpak_error(x, err, ti.name, dpak_errmsg());
		pthread_mutex_unlock(&p->sh->lock);
		free(f);
		f = NULL;
		goto out;
	}
	f->priv = p;
	f->count = x->count;
	rte_spinlock_init(&f->lock);
	TAILQ_INSERT_TAIL(&p->flows, f, next);
	pthread_mutex_unlock(&p->sh->lock);
out:
	free(x);
	return (struct rte_flow *)f;
}

static int pmd_flow_destroy(struct rte_eth_dev *eth, struct rte_flow *flow,
			    struct rte_flow_error *error)
{
	struct pmd_priv *p = eth->data->dev_private;
	struct pmd_flow *f = (struct pmd_flow *)flow;
	int err;

	if (!f || f->priv != p || !p->sh)
		return fail(error, EINVAL, RTE_FLOW_ERROR_TYPE_HANDLE, flow,
			    "not a rule of this port");
	pthread_mutex_lock(&p->sh->lock);
	if ((err = dpak_flow_del(f->flow))) {
		pthread_mutex_unlock(&p->sh->lock);
		return fail(error, -err, RTE_FLOW_ERROR_TYPE_HANDLE, flow,
			    "the device refused to remove it: %s", dpak_errmsg());
	}
	TAILQ_REMOVE(&p->flows, f, next);
	pthread_mutex_unlock(&p->sh->lock);
	free(f);
	return 0;
}

static int pmd_flow_flush(struct rte_eth_dev *eth, struct rte_flow_error *error)
{
	struct pmd_priv *p = eth->data->dev_private;
	struct pmd_flow *f, *nx;
	int first = 0;

	if (!p->sh)
		return 0;
	pthread_mutex_lock(&p->sh->lock);
	for (f = TAILQ_FIRST(&p->flows); f; f = nx) {
		int err = dpak_flow_del(f->flow);
		nx = TAILQ_NEXT(f, next);
		if (err) {
			if (!first)
				first = err;
			continue;
		}
		TAILQ_REMOVE(&p->flows, f, next);
		free(f);
	}
	pthread_mutex_unlock(&p->sh->lock);
	if (first)
		return fail(error, -first, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, NULL,
			    "the device refused to remove some rules: %s", dpak_errmsg());
	return 0;
}

void pmd_flow_flush_all(struct rte_eth_dev *eth)
{
	struct rte_flow_error e;

	pmd_flow_flush(eth, &e);
}

static int pmd_flow_query(struct rte_eth_dev *eth, struct rte_flow *flow,
			  const struct rte_flow_action *action, void *data,
			  struct rte_flow_error *error)
{
	struct pmd_priv *p = eth->data->dev_private;
	struct pmd_flow *f = (struct pmd_flow *)flow;
	struct rte_flow_query_count *qc = data;
	struct dpak_flow_stats st = { .sz = sizeof(st) };
	int err;

	if (!f || f->priv != p)
		return fail(error, EINVAL, RTE_FLOW_ERROR_TYPE_HANDLE, flow,
			    "not a rule of this port");
	while (action && action->type == RTE_FLOW_ACTION_TYPE_VOID)
		action++;
	if (!action || action->type != RTE_FLOW_ACTION_TYPE_COUNT)
		return fail(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, action,
			    "only count is queried");
	if (!f->count)
		return fail(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_ACTION, action,
			    "the rule has no count action");
	if (!qc)
		return fail(error, EINVAL, RTE_FLOW_ERROR_TYPE_ACTION, action, "no data");
	if ((err = dpak_flow_query(f->flow, &st)))
		return fail(error, -err, RTE_FLOW_ERROR_TYPE_HANDLE, flow, "%s",
			    dpak_errmsg());
	rte_spinlock_lock(&f->lock);
	qc->hits = st.packets - f->base_pkts;
	qc->bytes = st.bytes - f->base_bytes;
	if (qc->reset) {
		f->base_pkts = st.packets;
		f->base_bytes = st.bytes;
	}
	rte_spinlock_unlock(&f->lock);
	qc->hits_set = 1;
	qc->bytes_set = 1;
	return 0;
}

static int pmd_flow_isolate(struct rte_eth_dev *eth __rte_unused, int set,
			    struct rte_flow_error *error)
{
	if (!set)
		return 0;
	return fail(error, ENOTSUP, RTE_FLOW_ERROR_TYPE_UNSPECIFIED, NULL,
		    "isolated mode is not supported: packets no rule takes always "
		    "reach the port's receive queues (the switch's slow path)");
}

const struct rte_flow_ops pmd_flow_ops = {
	.validate = pmd_flow_validate,
	.create = pmd_flow_create,
	.destroy = pmd_flow_destroy,
	.flush = pmd_flow_flush,
	.query = pmd_flow_query,
	.isolate = pmd_flow_isolate,
};
