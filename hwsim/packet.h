/* SPDX-License-Identifier: MIT */
/* hwsim packet handling: the parser and the action engine. */
#ifndef HWSIM_PACKET_H
#define HWSIM_PACKET_H

#include <stdint.h>
#include "pack.h"

/* Layers the parser found. A layer is there only if its whole header lies
 * inside what encloses it (the frame; the IP datagram its length field
 * declares; the UDP datagram) and its own length fields are consistent:
 * see parse.c and docs/DATAPATH.md, "Header lengths". */
enum {
	HW_L_VLAN = 1 << 0,
	HW_L_VLAN2 = 1 << 1,
	HW_L_IPV4 = 1 << 2,
	HW_L_IPV6 = 1 << 3,
	HW_L_TCP = 1 << 4,
	HW_L_UDP = 1 << 5,
	HW_L_ICMP = 1 << 6,
	HW_L_VXLAN = 1 << 7,
	HW_L_FRAG = 1 << 8,  /* IPv4 or IPv6 fragment other than the first */
	HW_L_IP = 1 << 9,    /* IPv4 or IPv6 */
	HW_L_PORTS = 1 << 10, /* TCP or UDP: an L4 header with ports */
	HW_L_SCTP = 1 << 11,  /* SCTP common header (ports; not in HW_L_PORTS:
			       * set_tp_* does not rewrite it) */
	HW_L_NEVER = 1 << 15, /* never found: an action list that cannot apply */
};

/* A packet being processed; data may move into the headroom in front. */
struct hw_pkt {
	uint8_t *data;
	uint32_t len;
	uint32_t headroom;   /* bytes available in front of data */
	uint32_t in_port;
	uint32_t mark;
	uint32_t layers;
	uint16_t l3, l4;     /* offsets from data */
	/* Where the IP datagram and the L4 datagram end (offsets from data,
	 * within len; 0 without the layer): the IPv4 total length or the
	 * IPv6 payload length, and the UDP length, bound them. Bytes after
	 * l3_end (Ethernet padding, trailers) belong to no header. */
	uint16_t l3_end, l4_end;
	uint8_t fields[PK_FIELDS_BYTES]; /* the flat field vector (pack.h) */
	uint8_t stale;       /* headers moved since the last parse */
};

/* Parse headers into p->fields, p->layers and the offsets. in_port and
 * mark are taken from the packet's metadata. */
void hw_parse(struct hw_pkt *p);

/* The frame a VXLAN packet carries (after its outer headers, within the
 * UDP datagram), as a packet of its own; parsed when @parse. Returns -1 if
 * @p has no VXLAN layer. */
int hw_vxlan_inner(const struct hw_pkt *p, struct hw_pkt *in, int parse);

/* A host fate's queue: spread by the flow hash over an rss op's queues. */
#define HW_Q_RSS 0xfffffffdu

/* What the action block decided. */
enum hw_fate { HW_FATE_DROP, HW_FATE_PORT, HW_FATE_HOST, HW_FATE_JUMP,
	       HW_FATE_TTL };

struct hw_verdict {
	enum hw_fate fate;
	uint32_t arg;   /* port, queue (HW_Q_RSS: see rss) or table */
	const uint8_t *rss; /* fate HW_FATE_HOST, arg HW_Q_RSS: the rss op's
			     * payload (n, queues) */
	int dirty;      /* headers changed: parse again before a lookup */
	/* Set with fate HW_FATE_DROP only: why (enum hw_why, hwsim.h:
	 * HW_WHY_ACTION or HW_WHY_HEADROOM when an action could not apply,
	 * else HW_WHY_NONE); which action (index in the block, after
	 * hw_verdict_where(); its op) and the layers it lacked. */
	uint8_t why, op, idx;
	uint16_t missing;
	const uint8_t *at; /* the action, until hw_verdict_where() */
};

/* The layers an action block needs the packet to have before any of it
 * applies (HW_L_* bits; HW_L_NEVER if it can never apply): computed once,
 * when the device takes the block (hw_entry.need). Actions after an
 * encapsulation are checked against the outer headers it builds; actions
 * after a decapsulation against the inner frame, when the decapsulation
 * comes to it (before any inner byte changes). */
uint16_t hw_act_need(const uint8_t *act, uint32_t len);

/* Apply a packed action block to the packet, whose layers have what
 * hw_act_need() of the block names (else see hw_refuse()). An action that
 * finds a layer or room missing (after a decapsulation, say) makes the
 * verdict a drop (why HW_WHY_ACTION or HW_WHY_HEADROOM). */
void hw_exec(struct hw_pkt *p, const uint8_t *act, uint32_t len, struct hw_verdict *v);

/* The verdict on a packet that lacks a layer @need (hw_act_need() of the
 * block) names: a drop before any action applies, naming the first action
 * that needs it. */
void hw_refuse(const struct hw_pkt *p, const uint8_t *act, uint32_t len, uint16_t need,
	       struct hw_verdict *v);

/* Turn a drop verdict's action into its index in the block @act. */
void hw_verdict_where(struct hw_verdict *v, const uint8_t *act);

/* A hash of the packet's flow fields (for UDP source ports, spreading). */
uint32_t hw_flow_hash(const struct hw_pkt *p);

/* The Internet checksum (RFC 1071): hw_csum_add() adds @len bytes to a
 * ones' complement sum in memory order (the sum does not depend on byte
 * order, RFC 1071 section 2(B)), hw_csum_fold() folds it to 16 bits; the
 * checksum ~fold(sum) is stored as is, with memcpy. */
uint64_t hw_csum_add(uint64_t sum, const void *data, uint32_t len);
uint16_t hw_csum_fold(uint64_t sum);

#endif
