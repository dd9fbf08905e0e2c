/* SPDX-License-Identifier: MIT */
/*
 * Validation and packing: one pass over a flow's items and actions that
 * either rejects it with a message naming the item or action and field, or
 * produces the table's packed form (pack.h). Nothing is allocated.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "core.h"

static const char *const item_names[] = {
	"end", "port", "mark", "eth", "vlan", "ipv4", "ipv6", "tcp", "udp",
	"icmp", "vxlan", "sctp", "ip_frag", "vlan_tags",
};
#define N_ITEMS (int)(sizeof(item_names) / sizeof(item_names[0]))

static const char *const action_names[] = {
	"end", "port", "drop", "queue", "jump", "mark", "count", "vlan_push",
	"vlan_pop", "set_eth_src", "set_eth_dst", "set_ipv4_src",
	"set_ipv4_dst", "set_tp_src", "set_tp_dst", "dec_ttl", "vxlan_encap",
	"vxlan_decap", "set_ipv6_src", "set_ipv6_dst", "set_ttl", "rss",
	"vxlan_encap6",
};
#define N_ACTIONS (int)(sizeof(action_names) / sizeof(action_names[0]))

const char *dpak__item_name(int type)
{
	return type >= 0 && type < N_ITEMS ? item_names[type] : "unknown";
}

const char *dpak__action_name(int type)
{
	return type >= 0 && type < N_ACTIONS ? action_names[type] : "unknown";
}

DPAK_API const char *dpak_field_name(enum dpak_field field)
{
	return (int)field >= 0 && field < DPAK_FIELD_MAX ? pk_field_names[field]
							: NULL;
}

/* A byte range of an item's struct: which key field it is, or why not. */
struct item_field {
	uint8_t off, len;
	int8_t field;      /* enum pk_field, or -1: cannot be matched */
	const char *name;
};

#define IF(type, member, fld)                                                  \
	{ offsetof(type, member), sizeof(((type *)0)->member), fld, #member }

static const struct item_field eth_f[] = {
	IF(struct dpak_item_eth, dst, PK_ETH_DST),
	IF(struct dpak_item_eth, src, PK_ETH_SRC),
	IF(struct dpak_item_eth, type, PK_ETH_TYPE),
};
static const struct item_field vlan_f[] = {
	IF(struct dpak_item_vlan, tci, PK_VLAN_TCI), /* VLAN2 for the 2nd tag */
	IF(struct dpak_item_vlan, inner_type, PK_ETH_TYPE),
};
static const struct item_field ipv4_f[] = {
	IF(struct dpak_item_ipv4, version_ihl, -1),
	IF(struct dpak_item_ipv4, tos, PK_IP_TOS),
	IF(struct dpak_item_ipv4, total_length, -1),
	IF(struct dpak_item_ipv4, packet_id, -1),
	IF(struct dpak_item_ipv4, fragment_offset, -1),
	IF(struct dpak_item_ipv4, ttl, PK_IP_TTL),
	IF(struct dpak_item_ipv4, proto, PK_IP_PROTO),
	IF(struct dpak_item_ipv4, checksum, -1),
	IF(struct dpak_item_ipv4, src, PK_IPV4_SRC),
	IF(struct dpak_item_ipv4, dst, PK_IPV4_DST),
};
static const struct item_field ipv6_f[] = {
	IF(struct dpak_item_ipv6, vtc_flow, -1),
	IF(struct dpak_item_ipv6, payload_len, -1),
	IF(struct dpak_item_ipv6, proto, PK_IP_PROTO),
	IF(struct dpak_item_ipv6, hop_limit, PK_IP_TTL),
	IF(struct dpak_item_ipv6, src, PK_IPV6_SRC),
	IF(struct dpak_item_ipv6, dst, PK_IPV6_DST),
};
static const struct item_field tcp_f[] = {
	IF(struct dpak_item_tcp, src_port, PK_L4_SRC),
	IF(struct dpak_item_tcp, dst_port, PK_L4_DST),
	IF(struct dpak_item_tcp, seq, -1),
	IF(struct dpak_item_tcp, ack, -1),
	IF(struct dpak_item_tcp, data_off, -1),
	IF(struct dpak_item_tcp, flags, PK_TCP_FLAGS),
	IF(struct dpak_item_tcp, window, -1),
	IF(struct dpak_item_tcp, checksum, -1),
	IF(struct dpak_item_tcp, urgent, -1),
};
static const struct item_field udp_f[] = {
	IF(struct dpak_item_udp, src_port, PK_L4_SRC),
	IF(struct dpak_item_udp, dst_port, PK_L4_DST),
	IF(struct dpak_item_udp, length, -1),
	IF(struct dpak_item_udp, checksum, -1),
};
static const struct item_field icmp_f[] = {
	IF(struct dpak_item_icmp, type, PK_ICMP_TYPE),
	IF(struct dpak_item_icmp, code, PK_ICMP_CODE),
	IF(struct dpak_item_icmp, checksum, -1),
	IF(struct dpak_item_icmp, ident, -1),
	IF(struct dpak_item_icmp, seq, -1),
};
static const struct item_field vxlan_f[] = {
	IF(struct dpak_item_vxlan, flags, -1),
	IF(struct dpak_item_vxlan, rsvd0, -1),
	IF(struct dpak_item_vxlan, vni, PK_VXLAN_VNI),
	IF(struct dpak_item_vxlan, rsvd1, -1),
};

static const struct item_field sctp_f[] = {
	IF(struct dpak_item_sctp, src_port, PK_L4_SRC),
	IF(struct dpak_item_sctp, dst_port, PK_L4_DST),
	IF(struct dpak_item_sctp, tag, -1),
	IF(struct dpak_item_sctp, checksum, -1),
};
static const struct item_field ip_frag_f[] = {
	IF(struct dpak_item_ip_frag, flags, PK_IP_FRAG),
};
static const struct item_field vlan_tags_f[] = {
	IF(struct dpak_item_vlan_tags, n, PK_VLAN_TAGS),
};

static const struct dpak_item_eth eth_m = {
	{ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 0xffff
};
static const struct dpak_item_vlan vlan_m = { .tci = 0xffff };
static const struct dpak_item_ipv4 ipv4_m = { .src = 0xffffffff, .dst = 0xffffffff };
static const struct dpak_item_ipv6 ipv6_m = {
	.src = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		 0xff, 0xff, 0xff, 0xff, 0xff },
	.dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		 0xff, 0xff, 0xff, 0xff, 0xff },
};
static const struct dpak_item_tcp tcp_m = { .src_port = 0xffff, .dst_port = 0xffff };
static const struct dpak_item_udp udp_m = { .src_port = 0xffff, .dst_port = 0xffff };
static const struct dpak_item_icmp icmp_m = { .type = 0xff, .code = 0xff };
static const struct dpak_item_vxlan vxlan_m = { .vni = { 0xff, 0xff, 0xff } };
static const struct dpak_item_sctp sctp_m = { .src_port = 0xffff, .dst_port = 0xffff };
static const struct dpak_item_ip_frag ip_frag_m = { .flags = DPAK_IP_FRAG_IS | DPAK_IP_FRAG_LATER };
static const struct dpak_item_vlan_tags vlan_tags_m = { .n = 0xff };
static const uint32_t u32_m = 0xffffffff;

struct item_desc {
	size_t size;
	const struct item_field *f;
	uint8_t nf;
	const void *defmask;
	uint16_t layer;
};

#define ID(T, F, M, L) { sizeof(T), F, sizeof(F) / sizeof(F[0]), M, L }
static const struct item_desc items_desc[] = {
	[DPAK_ITEM_PORT] = { sizeof(struct dpak_item_port), NULL, 0, &u32_m, 0 },
	[DPAK_ITEM_MARK] = { sizeof(struct dpak_item_mark), NULL, 0, &u32_m, 0 },
	[DPAK_ITEM_ETH] = ID(struct dpak_item_eth, eth_f, &eth_m, LAYER_ETH),
	[DPAK_ITEM_VLAN] = ID(struct dpak_item_vlan, vlan_f, &vlan_m, LAYER_VLAN),
	[DPAK_ITEM_IPV4] = ID(struct dpak_item_ipv4, ipv4_f, &ipv4_m, LAYER_IPV4),
	[DPAK_ITEM_IPV6] = ID(struct dpak_item_ipv6, ipv6_f, &ipv6_m, LAYER_IPV6),
	[DPAK_ITEM_TCP] = ID(struct dpak_item_tcp, tcp_f, &tcp_m, LAYER_TCP),
	[DPAK_ITEM_UDP] = ID(struct dpak_item_udp, udp_f, &udp_m, LAYER_UDP),
	[DPAK_ITEM_ICMP] = ID(struct dpak_item_icmp, icmp_f, &icmp_m, LAYER_ICMP),
	[DPAK_ITEM_VXLAN] = ID(struct dpak_item_vxlan, vxlan_f, &vxlan_m, LAYER_VXLAN),
	[DPAK_ITEM_SCTP] = ID(struct dpak_item_sctp, sctp_f, &sctp_m, LAYER_SCTP),
	[DPAK_ITEM_IP_FRAG] = ID(struct dpak_item_ip_frag, ip_frag_f, &ip_frag_m, 0),
	[DPAK_ITEM_VLAN_TAGS] = ID(struct dpak_item_vlan_tags, vlan_tags_f, &vlan_tags_m, 0),
};

static const uint8_t ONES[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* Any bit set in @len (<= 16) bytes? Word loads, not a byte loop. */
static inline int nonzero(const uint8_t *p, unsigned len)
{
	uint64_t a = 0, b = 0;

	if (len >= 8) {
		memcpy(&a, p, 8);
		if (len > 8)
			memcpy(&b, p + len - 8, 8);
	} else if (len >= 4) {
		uint32_t x, y;
		memcpy(&x, p, 4);
		memcpy(&y, p + len - 4, 4);
		a = x | y;
	} else {
		for (unsigned j = 0; j < len; j++)
			a |= p[j];
	}
	return (a | b) != 0;
}

static void hex_bytes(const uint8_t *p, unsigned len, char *buf)
{
	buf += sprintf(buf, "0x");
	for (unsigned j = 0; j < len; j++)
		buf += sprintf(buf, "%02x", p[j]);
}

static void key_fields_list(const struct ci_table *d, char *buf, size_t n)
{
	size_t o = 0;

	buf[0] = 0;
	for (unsigned i = 0; i < d->n_fields && o < n; i++) {
		int f = d->field[i];
		o += (size_t)snprintf(buf + o, n - o, "%s%s", i ? "," : "",
				      pk_field_names[f]);
		const uint8_t *tm = d->key_mask + d->field_off[f];
		if (o < n && d->has_key_mask && memcmp(tm, ONES, pk_field_len[f])) {
			char m[2 * PK_MAX_KEY + 3];
			hex_bytes(tm, pk_field_len[f], m);
			o += (size_t)snprintf(buf + o, n - o, "/%s", m);
		}
	}
}

/* Put a field's value under its mask into the key. */
static int set_field(const struct dpak_table *t, struct packed *pk,
		     unsigned idx, int type, int field, const uint8_t *v,
		     const uint8_t *m)
{
	const struct ci_table *d = t->decl;
	unsigned len = pk_field_len[field];

	if (!(d->fields & (1ull << field))) {
		char keys[256];
		key_fields_list(d, keys, sizeof(keys));
		return dpak__err(ENOTSUP, "item %u (%s): mask on %s not supported "
				 "by table %s (key: %s)", idx, dpak__item_name(type),
				 pk_field_names[field], d->name, keys);
	}
	uint8_t *k = pk->key + d->field_off[field];
	uint8_t *km = pk->mask + d->field_off[field];
	if (nonzero(km, len)) /* another item matched this field already */
		for (unsigned j = 0; j < len; j++)
			if ((k[j] ^ v[j]) & km[j] & m[j])
				return dpak__err(EINVAL, "item %u (%s): %s conflicts "
						 "with an earlier item", idx,
						 dpak__item_name(type),
						 pk_field_names[field]);
	for (unsigned j = 0; j < len; j++) {
		k[j] |= v[j] & m[j];
		km[j] |= m[j];
	}
	return 0;
}

/* Port and mark items: a host-order u32 stored big-endian at field width. */
static int pack_u32_item(const struct dpak_table *t, struct packed *pk,
			 unsigned idx, int type, uint32_t v, uint32_t m)
{
	int field = type == DPAK_ITEM_PORT ? PK_IN_PORT : PK_MARK;
	uint8_t vb[4], mb[4];

	if (type == DPAK_ITEM_PORT && m) {
		if (m != 0xffffffff)
			return dpak__err(ENOTSUP, "item %u (port): mask on id must "
					 "be all ones or zero", idx);
		if (!dpak__port_exists(t->dev, v))
			return dpak__err(ERANGE, "item %u (port): port %u does not "
					 "exist (device has %u ports)", idx, v,
					 t->dev->n_ports);
		int err = dpak__in_port_check(t->dev, idx, v);
		if (err)
			return err;
	}
	if (!m)
		return 0;
	if (type == DPAK_ITEM_PORT) {
		vb[0] = (uint8_t)(v >> 8), vb[1] = (uint8_t)v;
		mb[0] = mb[1] = 0xff;
	} else {
		uint32_t bv = htonl(v), bm = htonl(m);
		memcpy(vb, &bv, 4);
		memcpy(mb, &bm, 4);
	}
	return set_field(t, pk, idx, type, field, vb, mb);
}

/* A protocol an item implies (ipv4 → eth_type 0x0800, tcp → ip_proto 6,
 * ...); an explicit different value is a conflict. An L4 item's protocol
 * (ip_proto, and vxlan's UDP port) must be in the table's key: without it
 * "udp" would match TCP and ICMP as well, so such a flow is refused. The
 * EtherType an ipv4/ipv6 item implies is matched where the table has
 * eth_type; a table keyed on addresses alone (an LPM route table) looks
 * packets up by address whatever their EtherType, as in 0.1. */
static int imply(const struct dpak_table *t, struct packed *pk, unsigned idx,
		 int type, int field, uint32_t value)
{
	const struct ci_table *d = t->decl;
	unsigned len = pk_field_len[field];
	uint8_t v[4], m[4] = { 0xff, 0xff, 0xff, 0xff };

	if (!(d->fields & (1ull << field)) && field == PK_ETH_TYPE)
		return 0;
	if (!(d->fields & (1ull << field)))
		return dpak__err(ENOTSUP, "item %u (%s): implies %s %#x, which "
				 "table %s does not key on (the flow would match "
				 "other protocols too)", idx, dpak__item_name(type),
				 pk_field_names[field], value, d->name);
	for (unsigned j = 0; j < len; j++)
		v[j] = (uint8_t)(value >> (8 * (len - 1 - j)));
	const uint8_t *k = pk->key + d->field_off[field];
	const uint8_t *km = pk->mask + d->field_off[field];
	for (unsigned j = 0; j < len; j++)
		if ((k[j] ^ v[j]) & km[j])
			return dpak__err(EINVAL, "item %u (%s): implies %s %#x, but "
					 "another item matches a different value",
					 idx, dpak__item_name(type),
					 pk_field_names[field], value);
	return set_field(t, pk, idx, type, field, v, m);
}

static int check_order(unsigned i, int type, uint16_t layers, int n_vlan)
{
	const char *n = dpak__item_name(type);

	if (layers & LAYER_VXLAN)
		return dpak__err(ENOTSUP, "item %u (%s): matching inner headers "
				 "after vxlan is not supported; decap and jump "
				 "to a later table", i, n);
	switch (type) {
	case DPAK_ITEM_ETH:
		if (layers & (LAYER_ETH | LAYER_VLAN | LAYER_IPV4 | LAYER_IPV6))
			return dpak__err(EINVAL, "item %u (eth): must come once, "
					 "before vlan and ip items", i);
		break;
	case DPAK_ITEM_VLAN:
		if (n_vlan == 2 || (layers & (LAYER_IPV4 | LAYER_IPV6)))
			return dpak__err(EINVAL, "item %u (vlan): at most two vlan "
					 "items, before ip items", i);
		break;
	case DPAK_ITEM_IPV4:
	case DPAK_ITEM_IPV6:
		if (layers & (LAYER_IPV4 | LAYER_IPV6))
			return dpak__err(EINVAL, "item %u (%s): a flow matches one "
					 "ip header", i, n);
		break;
	case DPAK_ITEM_TCP:
	case DPAK_ITEM_UDP:
	case DPAK_ITEM_ICMP:
	case DPAK_ITEM_SCTP:
		if (layers & (LAYER_TCP | LAYER_UDP | LAYER_ICMP | LAYER_SCTP))
			return dpak__err(EINVAL, "item %u (%s): a flow matches one "
					 "l4 header", i, n);
		break;
	case DPAK_ITEM_VXLAN:
		if (layers & (LAYER_TCP | LAYER_ICMP | LAYER_SCTP))
			return dpak__err(EINVAL, "item %u (vxlan): vxlan runs over "
					 "udp, not tcp or icmp", i);
		break;
	}
	return 0;
}

static int pack_item(const struct dpak_table *t, struct packed *pk,
		     unsigned i, const struct dpak_item *it, int n_vlan,
		     int last_vlan)
{
	const struct item_desc *d = &items_desc[it->type];
	const uint8_t *s = it->spec, *m = it->mask ? it->mask : d->defmask;
	const char *n = dpak__item_name(it->type);

	if (!it->spec) {
		if (it->mask)
			return dpak__err(EINVAL, "item %u (%s): mask without spec", i, n);
		return 0;
	}
	if (!d->f) {
		uint32_t v, mv;
		memcpy(&v, s, 4);
		memcpy(&mv, m, 4);
		return pack_u32_item(t, pk, i, it->type, v, mv);
	}
	for (unsigned f = 0; f < d->nf; f++) {
		const struct item_field *fd = &d->f[f];
		int field = fd->field;
		uint8_t v[16];

		if (!nonzero(m + fd->off, fd->len))
			continue;
		if (field < 0)
			return dpak__err(ENOTSUP, "item %u (%s): field %s cannot be "
					 "matched", i, n, fd->name);
		if (it->type == DPAK_ITEM_VLAN && field == PK_VLAN_TCI && n_vlan)
			field = PK_VLAN2_TCI;
		if (it->type == DPAK_ITEM_VLAN && field == PK_ETH_TYPE && !last_vlan)
			return dpak__err(ENOTSUP, "item %u (vlan): inner_type can "
					 "only be matched on the last tag", i);
		for (unsigned j = 0; j < fd->len; j++)
			v[j] = s[fd->off + j];
		int err = set_field(t, pk, i, it->type, field, v, m + fd->off);
		if (err)
			return err;
	}
	return 0;
}

/* A field an exact table keys on under a mask of its own (key
 * vlan_tci/0x0fff): the flow matches at least those bits, and asks nothing
 * of the others (a value there could not be told apart by the table); its
 * key holds the value under the table's mask. */
static int check_key_mask(const struct ci_table *d, const struct packed *pk, int f)
{
	unsigned off = d->field_off[f], len = pk_field_len[f];
	const uint8_t *tm = d->key_mask + off, *m = pk->mask + off, *k = pk->key + off;
	char tms[2 * PK_MAX_KEY + 3], ks[2 * PK_MAX_KEY + 3];

	for (unsigned j = 0; j < len; j++)
		if ((m[j] & tm[j]) != tm[j]) {
			hex_bytes(tm, len, tms);
			return dpak__err(ENOTSUP, "table %s is exact-match on %s/%s: "
					 "the flow must match those bits (item "
					 "missing or mask partial)", d->name,
					 pk_field_names[f], tms);
		}
	for (unsigned j = 0; j < len; j++)
		if (k[j] & ~tm[j]) {
			hex_bytes(tm, len, tms);
			hex_bytes(k, len, ks);
			return dpak__err(ENOTSUP, "table %s keys on %s/%s only: "
					 "value %s asks for bits outside it",
					 d->name, pk_field_names[f], tms, ks);
		}
	return 0;
}

static int check_table_shape(const struct dpak_table *t, struct packed *pk,
			     uint32_t priority)
{
	const struct ci_table *d = t->decl;

	for (unsigned i = 0; i < d->n_fields; i++) {
		int f = d->field[i], last = i + 1 == d->n_fields;
		const uint8_t *m = pk->mask + d->field_off[f];
		unsigned len = pk_field_len[f], ones = 0, j;

		if (d->type == PK_EXACT && d->has_key_mask &&
		    memcmp(d->key_mask + d->field_off[f], ONES, len)) {
			int err = check_key_mask(d, pk, f);
			if (err)
				return err;
			continue;
		}
		if (d->type == PK_EXACT && !memcmp(m, ONES, len))
			continue; /* the common case of exact tables */
		for (j = 0; j < len && m[j] == 0xff; j++)
			ones += 8;
		if (j < len)
			for (uint8_t b = m[j]; b & 0x80; b = (uint8_t)(b << 1))
				ones++;
		int full = ones == 8 * len;
		if (d->type == PK_EXACT && !full)
			return dpak__err(ENOTSUP, "table %s is exact-match: field %s "
					 "must be matched in full (item missing or "
					 "mask partial)", d->name, pk_field_names[f]);
		if (d->type != PK_LPM)
			continue;
		if (!last && !full)
			return dpak__err(ENOTSUP, "table %s is LPM: field %s must be "
					 "matched in full; only the last key field "
					 "(%s) takes a prefix", d->name,
					 pk_field_names[f],
					 pk_field_names[d->field[d->n_fields - 1]]);
		if (last) {
			/* the mask must be a prefix: no bit set after the ones */
			for (unsigned b = ones; b < 8 * len; b++)
				if (m[b / 8] & (0x80 >> (b % 8)))
					return dpak__err(ENOTSUP, "table %s is LPM: "
							 "mask on %s is not a prefix",
							 d->name, pk_field_names[f]);
			if (priority)
				return dpak__err(EINVAL, "table %s is LPM: priority "
						 "comes from the prefix length; "
						 "leave it 0", d->name);
			pk->priority = 8 * len - ones; /* longer prefix wins */
		}
	}
	if (d->type == PK_EXACT)
		memset(pk->mask, 0, sizeof(pk->mask));
	return 0;
}

static const struct { int item, field; uint32_t value; } implied[] = {
	{ DPAK_ITEM_IPV4, PK_ETH_TYPE, 0x0800 },
	{ DPAK_ITEM_IPV6, PK_ETH_TYPE, 0x86dd },
	{ DPAK_ITEM_TCP, PK_IP_PROTO, 6 },
	{ DPAK_ITEM_UDP, PK_IP_PROTO, 17 },
	{ DPAK_ITEM_VXLAN, PK_IP_PROTO, 17 },
	{ DPAK_ITEM_VXLAN, PK_L4_DST, 4789 },
	{ DPAK_ITEM_ICMP, PK_IP_PROTO, 1 }, /* 58 after ipv6: see below */
	{ DPAK_ITEM_SCTP, PK_IP_PROTO, 132 }, /* RFC 9260 section 3.1 */
};

/* The full validation and packing of a match. */
static int pack_match_full(const struct dpak_table *t, const struct dpak_item *items,
			   uint32_t priority, struct packed *pk)
{
	const struct ci_table *d = t->decl;
	uint64_t caps = t->dev->ops->item_types;
	int n_vlan = 0, err;
	unsigned i;

	memset(pk->key, 0, sizeof(pk->key));
	memset(pk->mask, 0, sizeof(pk->mask));
	pk->layers = 0;
	pk->priority = priority;
	if (!items)
		return dpak__err(EINVAL, "items: NULL (end the list with "
				 "DPAK_ITEM_END)");
	if (d->type == PK_WILDCARD && priority >= d->priorities)
		return dpak__err(ERANGE, "priority %u out of range: table %s has "
				 "%u levels (0-%u)", priority, d->name,
				 d->priorities, d->priorities - 1);
	if (d->type == PK_EXACT && priority)
		return dpak__err(ERANGE, "priority %u out of range: exact table %s "
				 "has one level (0)", priority, d->name);
	for (i = 0; items[i].type != DPAK_ITEM_END; i++) {
		const struct dpak_item *it = &items[i];
		int type = it->type;

		if (i == 64)
			return dpak__err(EINVAL, "items: more than 64 (missing "
					 "DPAK_ITEM_END?)");
		if (type <= 0 || type >= N_ITEMS)
			return dpak__err(EINVAL, "item %u: unknown type %d", i, type);
		if (!(caps & (1ull << type)))
			return dpak__err(ENOTSUP, "item %u (%s): not supported by "
					 "backend %s", i, dpak__item_name(type),
					 t->dev->ops->name);
		if ((err = check_order(i, type, pk->layers, n_vlan)))
			return err;
		int last_vlan = 1;
		if (type == DPAK_ITEM_VLAN)
			for (unsigned j = i + 1; items[j].type != DPAK_ITEM_END && j < 64; j++)
				if (items[j].type == DPAK_ITEM_VLAN)
					last_vlan = 0;
		if ((err = pack_item(t, pk, i, it, n_vlan, last_vlan)))
			return err;
		pk->layers |= items_desc[type].layer;
		if (type == DPAK_ITEM_VLAN)
			n_vlan++;
		for (unsigned k = 0; k < sizeof(implied) / sizeof(implied[0]); k++) {
			uint32_t v = implied[k].value;
			if (implied[k].item != type)
				continue;
			if (type == DPAK_ITEM_ICMP && (pk->layers & LAYER_IPV6))
				v = 58;
			if ((err = imply(t, pk, i, type, implied[k].field, v)))
				return err;
		}
	}
	return check_table_shape(t, pk, priority);
}

/*
 * Shapes. Flows added to a table mostly share one shape: the same item
 * types, masks and priority, only the values differ. After a full
 * validation, the shape and a small program (which spec bytes go where in
 * the key) are kept per thread; the next flow of that shape is checked
 * against it (types, masks) and packed by the program, skipping the
 * per-field validation it has already passed.
 */
#define SHAPE_ITEMS 8
#define SHAPE_OPS 24

enum { OP_COPY, OP_PORT, OP_MARK };

struct shape_op {
	uint8_t kind, item, src, dst, len;
	const uint8_t *mask; /* into the shape's masks */
};

struct shape {
	uint64_t gen;        /* device generation; 0: empty */
	const struct dpak_table *t;
	uint32_t priority;
	uint8_t n_items, n_ops;
	uint8_t types[SHAPE_ITEMS];
	uint8_t has_spec[SHAPE_ITEMS];
	uint8_t masks[SHAPE_ITEMS][40];
	struct shape_op ops[SHAPE_OPS];
	uint8_t base_key[PK_MAX_KEY], base_mask[PK_MAX_KEY];
	uint16_t layers;
	uint32_t out_priority;
};

static __thread struct shape shape_cache;

static int shape_matches(const struct shape *s, const struct dpak_table *t,
			 const struct dpak_item *items, uint32_t priority)
{
	unsigned i;

	if (s->gen != t->dev->gen || s->t != t || s->priority != priority || !items)
		return 0;
	for (i = 0; i < s->n_items; i++) {
		const struct dpak_item *it = &items[i];
		if ((unsigned)it->type != s->types[i] || !it->spec != !s->has_spec[i])
			return 0;
		if (!it->spec)
			continue;
		const struct item_desc *d = &items_desc[it->type];
		const void *m = it->mask ? it->mask : d->defmask;
		if (memcmp(m, s->masks[i], d->size))
			return 0;
	}
	return items[i].type == DPAK_ITEM_END;
}

static int shape_pack(const struct shape *s, const struct dpak_table *t,
		      const struct dpak_item *items, struct packed *pk)
{
	uint32_t kb = t->decl->key_bytes;

	memcpy(pk->key, s->base_key, kb);
	memcpy(pk->mask, s->base_mask, kb);
	for (unsigned o = 0; o < s->n_ops; o++) {
		const struct shape_op *op = &s->ops[o];
		const uint8_t *spec = items[op->item].spec;
		uint32_t v;

		switch (op->kind) {
		case OP_COPY:
			for (unsigned j = 0; j < op->len; j++)
				pk->key[op->dst + j] = spec[op->src + j] & op->mask[j];
			break;
		case OP_PORT:
			memcpy(&v, spec, 4);
			if (v >= t->dev->n_ports && !dpak__port_exists(t->dev, v))
				return dpak__err(ERANGE, "item %u (port): port %u does not "
						 "exist (device has %u ports)", op->item, v,
						 t->dev->n_ports);
			if (__atomic_load_n(&t->dev->bonds, __ATOMIC_ACQUIRE)) {
				int err = dpak__in_port_check(t->dev, op->item, v);
				if (err)
					return err;
			}
			pk->key[op->dst] = (uint8_t)(v >> 8);
			pk->key[op->dst + 1] = (uint8_t)v;
			break;
		case OP_MARK:
			memcpy(&v, spec, 4);
			v = htonl(v);
			for (unsigned j = 0; j < 4; j++)
				pk->key[op->dst + j] = ((const uint8_t *)&v)[j] & op->mask[j];
			break;
		}
	}
	pk->layers = s->layers;
	pk->priority = s->out_priority;
	return 0;
}

/* Learn the shape of a flow that passed pack_match_full. Shapes whose
 * fields overlap (two items on one field, an item on a field another item
 * implies) are not kept: their values need the full checks. */
static void shape_learn(const struct dpak_table *t, const struct dpak_item *items,
			uint32_t priority, const struct packed *pk)
{
	struct shape *s = &shape_cache;
	const struct ci_table *d = t->decl;
	uint64_t used = 0, implied_fields = 0;
	int n_vlan = 0;
	unsigned i;

	s->gen = 0;
	for (i = 0; items[i].type != DPAK_ITEM_END; i++)
		for (unsigned k = 0; k < sizeof(implied) / sizeof(implied[0]); k++)
			if (implied[k].item == (int)items[i].type)
				implied_fields |= 1ull << implied[k].field;
	if (i > SHAPE_ITEMS)
		return;
	s->n_items = (uint8_t)i;
	s->n_ops = 0;
	memcpy(s->base_key, pk->key, d->key_bytes);
	memcpy(s->base_mask, pk->mask, d->key_bytes);
	for (i = 0; i < s->n_items; i++) {
		const struct dpak_item *it = &items[i];
		const struct item_desc *id = &items_desc[it->type];
		const uint8_t *m = it->mask ? it->mask : id->defmask;

		s->types[i] = (uint8_t)it->type;
		s->has_spec[i] = it->spec != NULL;
		if (!it->spec) {
			n_vlan += it->type == DPAK_ITEM_VLAN;
			continue;
		}
		memcpy(s->masks[i], m, id->size);
		if (!id->f) { /* port or mark */
			uint32_t mv;
			int field = it->type == DPAK_ITEM_PORT ? PK_IN_PORT : PK_MARK;
			memcpy(&mv, m, 4);
			if (!mv)
				continue;
			if ((used | implied_fields) & (1ull << field) || s->n_ops == SHAPE_OPS)
				return;
			used |= 1ull << field;
			uint32_t bm = htonl(mv);
			memcpy(s->masks[i] + 8, &bm, 4); /* the mask in key order */
			s->ops[s->n_ops++] = (struct shape_op){
				it->type == DPAK_ITEM_PORT ? OP_PORT : OP_MARK, (uint8_t)i, 0,
				d->field_off[field], pk_field_len[field], s->masks[i] + 8 };
			memset(s->base_key + d->field_off[field], 0, pk_field_len[field]);
			continue;
		}
		for (unsigned f = 0; f < id->nf; f++) {
			const struct item_field *fd = &id->f[f];
			int field = fd->field;
			if (!nonzero(m + fd->off, fd->len))
				continue;
			if (it->type == DPAK_ITEM_VLAN && field == PK_VLAN_TCI && n_vlan)
				field = PK_VLAN2_TCI;
			if (field < 0 || (used | implied_fields) & (1ull << field) ||
			    s->n_ops == SHAPE_OPS)
				return;
			if (d->type == PK_EXACT && d->has_key_mask)
				/* a mask wider than the table's: its values
				 * need the full check */
				for (unsigned j = 0; j < fd->len; j++)
					if (m[fd->off + j] &
					    ~d->key_mask[d->field_off[field] + j])
						return;
			used |= 1ull << field;
			s->ops[s->n_ops++] = (struct shape_op){ OP_COPY, (uint8_t)i, fd->off,
				d->field_off[field], fd->len, s->masks[i] + fd->off };
			memset(s->base_key + d->field_off[field], 0, fd->len);
		}
		n_vlan += it->type == DPAK_ITEM_VLAN;
	}
	if (d->type == PK_EXACT)
		memset(s->base_mask, 0, sizeof(s->base_mask));
	s->t = t;
	s->priority = priority;
	s->layers = pk->layers;
	s->out_priority = pk->priority;
	s->gen = t->dev->gen;
}

int dpak__pack_match(const struct dpak_table *t, const struct dpak_item *items,
		     uint32_t priority, struct packed *pk)
{
	int err;

	if (shape_matches(&shape_cache, t, items, priority))
		return shape_pack(&shape_cache, t, items, pk);
	err = pack_match_full(t, items, priority, pk);
	if (!err)
		shape_learn(t, items, priority, pk);
	return err;
}

/* Actions. */

static int need_conf(unsigned i, int type, const void *conf)
{
	if (conf)
		return 0;
	return dpak__err(EINVAL, "action %u (%s): conf is NULL", i,
			 dpak__action_name(type));
}

static int need_layer(unsigned i, int type, const struct packed *pk,
		      uint16_t layers, const char *what)
{
	if (pk->layers & layers)
		return 0;
	return dpak__err(ENOTSUP, "action %u (%s): the match must include %s",
			 i, dpak__action_name(type), what);
}

static void build_encap(const struct dpak_action_vxlan_encap *c, uint8_t *o)
{
	uint8_t *h = o + 2;

	o[0] = c->udp_src ? 0 : PK_ENCAP_F_HASH_SPORT;
	o[1] = 0;
	memset(h, 0, PK_ENCAP_HDR);
	memcpy(h, c->eth_dst, 6);
	memcpy(h + 6, c->eth_src, 6);
	h[12] = 0x08;                 /* IPv4 */
	h[14] = 0x45;
	h[15] = c->tos;
	h[14 + 6] = 0x40;             /* don't fragment */
	h[14 + 8] = c->ttl ? c->ttl : 64;
	h[14 + 9] = 17;
	memcpy(h + 26, &c->ipv4_src, 4);
	memcpy(h + 30, &c->ipv4_dst, 4);
	memcpy(h + 34, &c->udp_src, 2);
	h[36] = 4789 >> 8;
	h[37] = 4789 & 0xff;
	h[42] = 0x08;                 /* VNI present */
	h[46] = (uint8_t)(c->vni >> 16);
	h[47] = (uint8_t)(c->vni >> 8);
	h[48] = (uint8_t)c->vni;
}

/* VXLAN over IPv6: the outer headers with the lengths and the UDP
 * checksum left for the device to fill per packet. */
static void build_encap6(const struct dpak_action_vxlan_encap6 *c, uint8_t *o)
{
	uint8_t *h = o + 2;

	o[0] = c->udp_src ? 0 : PK_ENCAP_F_HASH_SPORT;
	o[1] = 0;
	memset(h, 0, PK_ENCAP6_HDR);
	memcpy(h, c->eth_dst, 6);
	memcpy(h + 6, c->eth_src, 6);
	h[12] = 0x86;                 /* IPv6 */
	h[13] = 0xdd;
	h[14] = (uint8_t)(0x60 | c->tclass >> 4);
	h[15] = (uint8_t)(c->tclass << 4); /* flow label 0 */
	h[14 + 6] = 17;               /* next header: UDP */
	h[14 + 7] = c->hop_limit ? c->hop_limit : 64;
	memcpy(h + 22, c->ipv6_src, 16);
	memcpy(h + 38, c->ipv6_dst, 16);
	memcpy(h + 54, &c->udp_src, 2);
	h[56] = 4789 >> 8;
	h[57] = 4789 & 0xff;
	h[62] = 0x08;                 /* VNI present */
	h[66] = (uint8_t)(c->vni >> 16);
	h[67] = (uint8_t)(c->vni >> 8);
	h[68] = (uint8_t)c->vni;
}

int dpak__pack_actions(const struct dpak_table *t,
		       const struct dpak_action *actions, struct packed *pk)
{
	const struct ci_table *d = t->decl;
	const struct dpak_dev *dev = t->dev;
	const uint64_t applied = dpak__dev_action_types(dev); /* now */
	uint8_t fate[2 + 1 + PK_RSS_MAX];
	uint32_t len = 0, fate_len = 0, n = 0;
	int fate_at = -1, exclusive_at = -1, err;
	int32_t pushed = 0; /* bytes in front of the frame so far */

	pk->act_len = 0;
	pk->counted = 0;
	if (!actions)
		return dpak__err(EINVAL, "actions: NULL (end the list with "
				 "DPAK_ACTION_END)");
	for (unsigned i = 0; actions[i].type != DPAK_ACTION_END; i++, n++) {
		const struct dpak_action *a = &actions[i];
		int type = a->type;
		const char *nm = dpak__action_name(type);
		uint8_t op[2 + PK_ENCAP6_HDR + 2];
		uint8_t *p = op + 2;

		if (i == 64)
			return dpak__err(EINVAL, "actions: more than 64 (missing "
					 "DPAK_ACTION_END?)");
		if (type <= 0 || type >= N_ACTIONS)
			return dpak__err(EINVAL, "action %u: unknown type %d", i, type);
		if (!(dev->ops->action_types & (1ull << type)))
			return dpak__err(ENOTSUP, "action %u (%s): not supported by "
					 "backend %s", i, nm, dev->ops->name);
		if (!(applied & (1ull << type)))
			return dpak__err(ENOTSUP, "action %u (%s): refused by the "
					 "device (it does not apply %s now; see "
					 "dpak_dev_info)", i, nm, nm);
		if (!(d->actions & (1ull << type)))
			return dpak__err(ENOTSUP, "action %u (%s): not allowed in "
					 "table %s (see its actions= in configinfo)",
					 i, nm, d->name);
		if (dev->cfg.exclusive_actions & (1ull << type))
			exclusive_at = (int)i;
		if (pk_op_is_fate((unsigned)type)) {
			if (fate_at >= 0)
				return dpak__err(EINVAL, "action %u (%s): a second "
						 "fate action (action %d is %s)", i,
						 nm, fate_at,
						 dpak__action_name(actions[fate_at].type));
			fate_at = (int)i;
		}
		op[0] = (uint8_t)type;
		op[1] = (uint8_t)(2 + pk_op_payload[type]);
		switch (type) {
		case DPAK_ACTION_PORT: {
			const struct dpak_action_port *c = a->conf;
			if ((err = need_conf(i, type, c)))
				return err;
			if (!dpak__port_exists((struct dpak_dev *)dev, c->id))
				return dpak__err(ERANGE, "action %u (port): port %u does "
						 "not exist (device has %u ports)", i,
						 c->id, dev->n_ports);
			p[0] = (uint8_t)(c->id >> 8), p[1] = (uint8_t)c->id;
			break;
		}
		case DPAK_ACTION_QUEUE: {
			const struct dpak_action_queue *c = a->conf;
			if ((err = need_conf(i, type, c)))
				return err;
			if (c->index >= dev->n_rx_queues)
				return dpak__err(ERANGE, "action %u (queue): queue %u does "
						 "not exist (device has %u receive "
						 "queues)", i, c->index, dev->n_rx_queues);
			p[0] = (uint8_t)(c->index >> 8), p[1] = (uint8_t)c->index;
			break;
		}
		case DPAK_ACTION_JUMP: {
			const struct dpak_action_jump *c = a->conf;
			if ((err = need_conf(i, type, c)))
				return err;
			if (c->table <= t->index || c->table >= dev->cfg.n_tables)
				return dpak__err(ERANGE, "action %u (jump): table %u is "
						 "not after table %s (%u) in the "
						 "pipeline; jumps go forward only", i,
						 c->table, d->name, t->index);
			p[0] = (uint8_t)(c->table >> 8), p[1] = (uint8_t)c->table;
			break;
		}
		case DPAK_ACTION_MARK: {
			const struct dpak_action_mark *c = a->conf;
			if ((err = need_conf(i, type, c)))
				return err;
			memcpy(p, &c->id, 4);
			break;
		}
		case DPAK_ACTION_COUNT:
			if (pk->counted)
				return dpak__err(EINVAL, "action %u (count): given twice", i);
			pk->counted = 1;
			break;
		case DPAK_ACTION_VLAN_PUSH: {
			const struct dpak_action_vlan_push *c = a->conf;
			if ((err = need_conf(i, type, c)))
				return err;
			uint16_t tpid = c->tpid ? ntohs(c->tpid) : 0x8100;
			if (tpid != 0x8100 && tpid != 0x88a8)
				return dpak__err(EINVAL, "action %u (vlan_push): tpid "
						 "%#x is neither 0x8100 nor 0x88a8", i, tpid);
			p[0] = (uint8_t)(tpid >> 8), p[1] = (uint8_t)tpid;
			memcpy(p + 2, &c->tci, 2);
			break;
		}
		case DPAK_ACTION_SET_ETH_SRC:
		case DPAK_ACTION_SET_ETH_DST: {
			const struct dpak_action_set_mac *c = a->conf;
			if ((err = need_conf(i, type, c)))
				return err;
			memcpy(p, c->mac, 6);
			break;
		}
		case DPAK_ACTION_SET_IPV4_SRC:
		case DPAK_ACTION_SET_IPV4_DST: {
			const struct dpak_action_set_ipv4 *c = a->conf;
			if ((err = need_conf(i, type, c)) ||
			    (err = need_layer(i, type, pk, LAYER_IPV4, "an ipv4 item")))
				return err;
			memcpy(p, &c->addr, 4);
			break;
		}
		case DPAK_ACTION_SET_TP_SRC:
		case DPAK_ACTION_SET_TP_DST: {
			const struct dpak_action_set_tp *c = a->conf;
			if ((err = need_conf(i, type, c)) ||
			    (err = need_layer(i, type, pk, LAYER_TCP | LAYER_UDP,
					      "a tcp or udp item")))
				return err;
			memcpy(p, &c->port, 2);
			break;
		}
		case DPAK_ACTION_DEC_TTL:
			if ((err = need_layer(i, type, pk, LAYER_IPV4 | LAYER_IPV6,
					      "an ipv4 or ipv6 item")))
				return err;
			break;
		case DPAK_ACTION_VXLAN_ENCAP: {
			const struct dpak_action_vxlan_encap *c = a->conf;
			if ((err = need_conf(i, type, c)))
				return err;
			if (c->vni >= 1u << 24)
				return dpak__err(ERANGE, "action %u (vxlan_encap): vni "
						 "%u does not fit in 24 bits", i, c->vni);
			if (!c->ipv4_dst)
				return dpak__err(EINVAL, "action %u (vxlan_encap): "
						 "ipv4_dst is 0.0.0.0", i);
			build_encap(c, p);
			break;
		}
		case DPAK_ACTION_VXLAN_DECAP:
			if ((err = need_layer(i, type, pk, LAYER_VXLAN, "a vxlan item")))
				return err;
			break;
		case DPAK_ACTION_SET_IPV6_SRC:
		case DPAK_ACTION_SET_IPV6_DST: {
			const struct dpak_action_set_ipv6 *c = a->conf;
			if ((err = need_conf(i, type, c)) ||
			    (err = need_layer(i, type, pk, LAYER_IPV6, "an ipv6 item")))
				return err;
			memcpy(p, c->addr, 16);
			break;
		}
		case DPAK_ACTION_SET_TTL: {
			const struct dpak_action_set_ttl *c = a->conf;
			if ((err = need_conf(i, type, c)) ||
			    (err = need_layer(i, type, pk, LAYER_IPV4 | LAYER_IPV6,
					      "an ipv4 or ipv6 item")))
				return err;
			p[0] = c->ttl;
			break;
		}
		case DPAK_ACTION_RSS: {
			const struct dpak_action_rss *c = a->conf;
			if ((err = need_conf(i, type, c)))
				return err;
			if (c->n < 1 || c->n > DPAK_RSS_MAX_QUEUES)
				return dpak__err(ERANGE, "action %u (rss): n %u out of "
						 "range (1-%d)", i, c->n,
						 DPAK_RSS_MAX_QUEUES);
			memset(p, 0, 1 + PK_RSS_MAX);
			p[0] = (uint8_t)c->n;
			for (unsigned q = 0; q < c->n; q++) {
				if (c->queues[q] >= dev->n_rx_queues)
					return dpak__err(ERANGE, "action %u (rss): "
							 "queues[%u] %u does not exist "
							 "(device has %u receive "
							 "queues)", i, q, c->queues[q],
							 dev->n_rx_queues);
				p[1 + q] = (uint8_t)c->queues[q]; /* < 64 */
			}
			break;
		}
		case DPAK_ACTION_VXLAN_ENCAP6: {
			static const uint8_t zero16[16];
			const struct dpak_action_vxlan_encap6 *c = a->conf;
			if ((err = need_conf(i, type, c)))
				return err;
			if (c->vni >= 1u << 24)
				return dpak__err(ERANGE, "action %u (vxlan_encap6): vni "
						 "%u does not fit in 24 bits", i, c->vni);
			if (!memcmp(c->ipv6_dst, zero16, 16))
				return dpak__err(EINVAL, "action %u (vxlan_encap6): "
						 "ipv6_dst is the unspecified address "
						 "(::)", i);
			build_encap6(c, p);
			break;
		}
		}
		/* The device's headroom (dpak_dev_info max_push_bytes): a push
		 * takes room in front of the frame, a pop or decap gives at
		 * least as much back. An action list that would run out drops
		 * every packet: refused here instead. */
		if (type == DPAK_ACTION_VLAN_PUSH || type == DPAK_ACTION_VXLAN_ENCAP ||
		    type == DPAK_ACTION_VXLAN_ENCAP6) {
			pushed += type == DPAK_ACTION_VLAN_PUSH ? 4 :
				  type == DPAK_ACTION_VXLAN_ENCAP ? PK_ENCAP_HDR :
				  PK_ENCAP6_HDR;
			if (dev->ops->max_push_bytes &&
			    pushed > (int32_t)dev->ops->max_push_bytes)
				return dpak__err(ENOTSUP, "action %u (%s): the actions "
						 "push %d bytes in front of the frame; "
						 "the device has room for %u", i, nm,
						 pushed, dev->ops->max_push_bytes);
		} else if (type == DPAK_ACTION_VLAN_POP) {
			pushed -= 4;
		} else if (type == DPAK_ACTION_VXLAN_DECAP) {
			pushed -= PK_ENCAP_HDR;
		}
		if (pk_op_is_fate((unsigned)type)) {
			memcpy(fate, op, op[1]);
			fate_len = op[1];
			continue;
		}
		if (len + op[1] > PK_MAX_ACTIONS - 8)
			return dpak__err(ENOTSUP, "action %u (%s): the actions take "
					 "more than %u bytes", i, nm, PK_MAX_ACTIONS - 8);
		memcpy(pk->act + len, op, op[1]);
		len += op[1];
	}
	if (fate_at < 0)
		return dpak__err(EINVAL, "actions: no fate action (port, drop, "
				 "queue, rss or jump)");
	if (exclusive_at >= 0 && n > 1)
		return dpak__err(ENOTSUP, "action %d (%s): cannot be combined with "
				 "other actions on this device", exclusive_at,
				 dpak__action_name(actions[exclusive_at].type));
	memcpy(pk->act + len, fate, fate_len);
	len += fate_len;
	if (len > d->action_bytes)
		return dpak__err(ENOTSUP, "actions take %u bytes packed; table %s "
				 "holds at most %u per flow", len, d->name,
				 d->action_bytes);
	pk->act_len = len;
	return 0;
}
