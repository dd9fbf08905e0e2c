/* SPDX-License-Identifier: MIT */
/* hwsim packet handling: the parser and the action engine. */
#ifndef HWSIM_PACKET_H
#define HWSIM_PACKET_H

#include <stdint.h>
#include "pack.h"

/* Layers the parser found. */
enum {
	HW_L_VLAN = 1 << 0,
	HW_L_VLAN2 = 1 << 1,
	HW_L_IPV4 = 1 << 2,
	HW_L_IPV6 = 1 << 3,
	HW_L_TCP = 1 << 4,
	HW_L_UDP = 1 << 5,
	HW_L_ICMP = 1 << 6,
	HW_L_VXLAN = 1 << 7,
	HW_L_FRAG = 1 << 8, /* IPv4 fragment other than the first */
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
	uint8_t stale;       /* headers moved since the last parse */
	uint8_t fields[PK_FIELDS_BYTES]; /* the flat field vector (pack.h) */
};

/* Parse headers into p->fields, p->layers and the offsets. in_port and
 * mark are taken from the packet's metadata. */
void hw_parse(struct hw_pkt *p);

/* What the action block decided. */
enum hw_fate { HW_FATE_DROP, HW_FATE_PORT, HW_FATE_HOST, HW_FATE_JUMP,
	       HW_FATE_TTL };

struct hw_verdict {
	enum hw_fate fate;
	uint32_t arg;   /* port, queue or table */
	int dirty;      /* headers changed: parse again before a lookup */
};

/* Apply a packed action block to the packet. */
void hw_exec(struct hw_pkt *p, const uint8_t *act, uint32_t len,
	     struct hw_verdict *v);

/* A hash of the packet's flow fields (for UDP source ports, spreading). */
uint32_t hw_flow_hash(const struct hw_pkt *p);

/* Internet checksum of @len bytes (one's complement of the sum). */
uint16_t hw_csum(const void *data, uint32_t len);

#endif
