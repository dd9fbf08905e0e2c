/* SPDX-License-Identifier: MIT */
/*
 * The packed form of a flow: the device-neutral encoding that the core
 * produces once, keeps as its record, and hands unchanged to the device.
 *
 * Key: a table's key fields, in the order the table declares them, each at
 * its width, in network byte order (in_port and mark too), zero-padded to
 * the table's key size. Wildcard and LPM tables have a mask of the same
 * layout.
 *
 * Action block: a sequence of ops, each [op:u8][len:u8][payload], len being
 * the whole op's size. Non-fate ops in the order given; the fate op last.
 *
 * Internal header: shared by lib/ and the device model in hwsim/.
 */
#ifndef DPAK_PACK_H
#define DPAK_PACK_H

#include <stdint.h>

/* Key fields; values equal enum dpak_field. */
enum pk_field {
	PK_IN_PORT, PK_MARK, PK_ETH_DST, PK_ETH_SRC, PK_ETH_TYPE,
	PK_VLAN_TCI, PK_VLAN2_TCI, PK_IP_TOS, PK_IP_TTL, PK_IP_PROTO,
	PK_IPV4_SRC, PK_IPV4_DST, PK_IPV6_SRC, PK_IPV6_DST, PK_L4_SRC,
	PK_L4_DST, PK_TCP_FLAGS, PK_ICMP_TYPE, PK_ICMP_CODE, PK_VXLAN_VNI,
	PK_IP_FRAG, PK_VLAN_TAGS,
	PK_FIELD_MAX
};

/* Width and offset of each field in a packet's flat field vector (the
 * parser's output, PK_FIELDS_BYTES long). */
extern const uint8_t pk_field_len[PK_FIELD_MAX];
extern const uint8_t pk_field_off[PK_FIELD_MAX];
extern const char *const pk_field_names[PK_FIELD_MAX];
#define PK_FIELDS_BYTES 80

#define PK_MAX_KEY 64      /* largest key size any table may have */
#define PK_MAX_ACTIONS 255 /* largest action block */

/* Packed action ops; values equal enum dpak_action_type. */
enum pk_op {
	PK_OP_END = 0,
	PK_OP_PORT = 1,        /* u16 port */
	PK_OP_DROP = 2,
	PK_OP_QUEUE = 3,       /* u16 queue */
	PK_OP_JUMP = 4,        /* u16 table */
	PK_OP_MARK = 5,        /* u32 mark */
	PK_OP_COUNT = 6,
	PK_OP_VLAN_PUSH = 7,   /* be16 tpid, be16 tci */
	PK_OP_VLAN_POP = 8,
	PK_OP_SET_ETH_SRC = 9, /* mac[6] */
	PK_OP_SET_ETH_DST = 10,
	PK_OP_SET_IPV4_SRC = 11, /* be32 */
	PK_OP_SET_IPV4_DST = 12,
	PK_OP_SET_TP_SRC = 13, /* be16 */
	PK_OP_SET_TP_DST = 14,
	PK_OP_DEC_TTL = 15,
	PK_OP_VXLAN_ENCAP = 16, /* u8 flags, u8 pad, hdr[50]: eth+ipv4+udp+vxlan */
	PK_OP_VXLAN_DECAP = 17,
	PK_OP_SET_IPV6_SRC = 18, /* addr[16] */
	PK_OP_SET_IPV6_DST = 19,
	PK_OP_SET_TTL = 20,      /* u8 ttl */
	PK_OP_RSS = 21,          /* u8 n, u8 queue[PK_RSS_MAX] (first n used; the
				  * device has at most 64 queues) */
	PK_OP_VXLAN_ENCAP6 = 22, /* u8 flags, u8 pad, hdr[70]: eth+ipv6+udp+vxlan */
	PK_OP_MAX
};

#define PK_RSS_MAX 16
#define PK_ENCAP6_HDR 70
#define PK_ENCAP_HDR 50
#define PK_ENCAP_F_HASH_SPORT 1 /* fill the UDP source port from a hash */

/* Payload size of each op (header of 2 bytes not counted). */
extern const uint8_t pk_op_payload[PK_OP_MAX];

static inline int pk_op_is_fate(unsigned op)
{
	return op == PK_OP_PORT || op == PK_OP_DROP || op == PK_OP_QUEUE ||
	       op == PK_OP_JUMP || op == PK_OP_RSS;
}

/* Miss behaviour of a table. */
enum pk_miss { PK_MISS_HOST, PK_MISS_NEXT, PK_MISS_DROP };

/* Table types; values equal enum dpak_table_type. */
enum pk_table_type { PK_EXACT, PK_WILDCARD, PK_LPM };

#endif /* DPAK_PACK_H */
