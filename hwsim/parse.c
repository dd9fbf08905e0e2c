/* SPDX-License-Identifier: MIT */
/*
 * hwsim parser: Ethernet, up to two VLAN tags, IPv4, IPv6 (with a
 * Fragment extension header, RFC 8200 section 4.5, right after the fixed
 * header; no other extension headers), TCP, UDP, SCTP, ICMP/ICMPv6 and
 * VXLAN (UDP port 4789). A layer that
 * is truncated or malformed ends parsing; its fields and those of the
 * layers after it read as zero.
 *
 * Headers' own lengths bound what is parsed (docs/DATAPATH.md, "Header
 * lengths"): the IP datagram ends where its total length (IPv4) or payload
 * length (IPv6) says, or at the end of the frame if that comes first (a
 * frame cut short); bytes after it (Ethernet padding, trailers) are no
 * header. An L4 header is parsed only if it lies whole inside the
 * datagram; VXLAN only inside the UDP datagram its length gives. A header
 * whose length field contradicts itself is no header:
 *   - IPv4 total length < IHL * 4: no IPv4 layer;
 *   - TCP data offset < 5, or a TCP header (with options) longer than
 *     what the datagram holds: no TCP layer;
 *   - UDP length < 8 (0 included), or larger than the IP payload in an
 *     unfragmented datagram: no UDP layer;
 *   - SCTP: its common header is 12 bytes (RFC 9260 section 3.1); fewer
 *     left in the datagram: no SCTP layer;
 *   - VXLAN with the I flag clear (RFC 7348 section 5: no valid VNI), in a
 *     fragment, or holding less than an Ethernet header: no VXLAN layer
 *     (the UDP layer stays).
 * Fragments (the ip_frag field, OVS's nw_frag): an IPv4 packet with MF set
 * or a fragment offset, or an IPv6 packet with a Fragment header, is a
 * fragment (DPAK_IP_FRAG_IS); one whose offset is not 0 is a later
 * fragment (DPAK_IP_FRAG_LATER) and has no L4 layer. An IPv6 fragment's
 * ip_proto is the Fragment header's next header. An IPv6 Fragment header
 * cut short (fewer than 8 bytes in the datagram) leaves ip_proto 44 and
 * no L4 layer.
 * vlan_tags counts the tags read (0, 1 or 2).
 */
#include <string.h>
#include <arpa/inet.h>
#include "packet.h"
#include "table.h"

#define F(p, f) ((p)->fields + pk_field_off[f])

static inline uint16_t rd16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

/* The L4 header at @off of a datagram that ends at @end in the frame and
 * at @decl by its own length field (decl > end: the frame is cut short).
 * @frag: a first fragment (more follow), whose UDP length may go past it. */
static inline __attribute__((always_inline)) void
parse_l4(struct hw_pkt *p, uint8_t proto, uint32_t off, uint32_t end, uint32_t decl, int frag)
{
	const uint8_t *d = p->data;
	uint32_t left = end > off ? end - off : 0, n;

	p->l4 = (uint16_t)off;
	switch (proto) {
	case 6:
		if (left < 20)
			return;
		n = (uint32_t)(d[off + 12] >> 4) * 4;
		if (n < 20 || n > left)
			return;
		memcpy(F(p, PK_L4_SRC), d + off, 2);
		memcpy(F(p, PK_L4_DST), d + off + 2, 2);
		*F(p, PK_TCP_FLAGS) = d[off + 13];
		p->layers |= HW_L_TCP | HW_L_PORTS;
		p->l4_end = (uint16_t)end;
		break;
	case 17:
		if (left < 8)
			return;
		n = rd16(d + off + 4);
		if (n < 8 || (!frag && off + n > decl))
			return;
		memcpy(F(p, PK_L4_SRC), d + off, 2);
		memcpy(F(p, PK_L4_DST), d + off + 2, 2);
		p->layers |= HW_L_UDP | HW_L_PORTS;
		p->l4_end = (uint16_t)(n < left ? off + n : end);
		if (rd16(d + off + 2) == 4789 && !frag &&
		    p->l4_end - off >= 8u + 8u + 14u && (d[off + 8] & 0x08)) {
			memcpy(F(p, PK_VXLAN_VNI), d + off + 12, 3);
			p->layers |= HW_L_VXLAN;
		}
		break;
	case 132:
		if (left < 12)
			return;
		memcpy(F(p, PK_L4_SRC), d + off, 2);
		memcpy(F(p, PK_L4_DST), d + off + 2, 2);
		p->layers |= HW_L_SCTP;
		p->l4_end = (uint16_t)end;
		break;
	case 1:
	case 58:
		if (left < 4)
			return;
		*F(p, PK_ICMP_TYPE) = d[off];
		*F(p, PK_ICMP_CODE) = d[off + 1];
		p->layers |= HW_L_ICMP;
		p->l4_end = (uint16_t)end;
		break;
	}
}

void hw_parse(struct hw_pkt *p)
{
	const uint8_t *d = p->data;
	uint32_t off = 14, decl, end;
	uint16_t type;
	int tag;

	memset(p->fields, 0, sizeof(p->fields));
	p->stale = 0;
	p->layers = 0;
	p->l3 = p->l4 = p->l3_end = p->l4_end = 0;
	uint16_t in_port = htons((uint16_t)p->in_port);
	uint32_t mark = htonl(p->mark);
	memcpy(F(p, PK_IN_PORT), &in_port, 2);
	memcpy(F(p, PK_MARK), &mark, 4);
	if (p->len < 14)
		return;
	memcpy(F(p, PK_ETH_DST), d, 6);
	memcpy(F(p, PK_ETH_SRC), d + 6, 6);
	type = rd16(d + 12);
	for (tag = 0; (type == 0x8100 || type == 0x88a8) && tag < 2; tag++) {
		if (p->len < off + 4)
			return;
		memcpy(F(p, tag ? PK_VLAN2_TCI : PK_VLAN_TCI), d + off, 2);
		p->layers |= tag ? HW_L_VLAN2 : HW_L_VLAN;
		*F(p, PK_VLAN_TAGS) = (uint8_t)(tag + 1);
		type = rd16(d + off + 2);
		off += 4;
	}
	F(p, PK_ETH_TYPE)[0] = (uint8_t)(type >> 8);
	F(p, PK_ETH_TYPE)[1] = (uint8_t)type;
	p->l3 = (uint16_t)off;

	if (type == 0x0800) {
		uint32_t ihl;
		if (p->len < off + 20 || (d[off] >> 4) != 4)
			return;
		ihl = (uint32_t)(d[off] & 0xf) * 4;
		if (ihl < 20 || p->len < off + ihl)
			return;
		decl = off + rd16(d + off + 2);
		if (decl < off + ihl)
			return; /* total length shorter than the header */
		end = decl < p->len ? decl : p->len;
		p->layers |= HW_L_IPV4 | HW_L_IP;
		p->l3_end = (uint16_t)end;
		*F(p, PK_IP_TOS) = d[off + 1];
		*F(p, PK_IP_TTL) = d[off + 8];
		*F(p, PK_IP_PROTO) = d[off + 9];
		memcpy(F(p, PK_IPV4_SRC), d + off + 12, 4);
		memcpy(F(p, PK_IPV4_DST), d + off + 16, 4);
		uint16_t fo = rd16(d + off + 6);
		if (__builtin_expect(fo & 0x3fff, 0)) { /* MF or an offset: a fragment (RFC 791) */
			if (fo & 0x1fff) {
				*F(p, PK_IP_FRAG) = 0x03;
				p->layers |= HW_L_FRAG;
				return;
			}
			*F(p, PK_IP_FRAG) = 0x01;
		}
		parse_l4(p, d[off + 9], off + ihl, end, decl, fo & 0x2000);
	} else if (type == 0x86dd) {
		if (p->len < off + 40 || (d[off] >> 4) != 6)
			return;
		decl = off + 40 + rd16(d + off + 4);
		end = decl < p->len ? decl : p->len;
		p->layers |= HW_L_IPV6 | HW_L_IP;
		p->l3_end = (uint16_t)end;
		*F(p, PK_IP_TOS) = (uint8_t)(rd16(d + off) >> 4);
		*F(p, PK_IP_PROTO) = d[off + 6];
		*F(p, PK_IP_TTL) = d[off + 7];
		memcpy(F(p, PK_IPV6_SRC), d + off + 8, 16);
		memcpy(F(p, PK_IPV6_DST), d + off + 24, 16);
		if (d[off + 6] == 44) { /* Fragment header (RFC 8200 section 4.5) */
			if (end < off + 48)
				return;
			uint16_t fo = rd16(d + off + 42);
			*F(p, PK_IP_PROTO) = d[off + 40];
			if (fo & 0xfff8) {
				*F(p, PK_IP_FRAG) = 0x03;
				p->layers |= HW_L_FRAG;
				return;
			}
			*F(p, PK_IP_FRAG) = 0x01;
			parse_l4(p, d[off + 40], off + 48, end, decl, fo & 1);
			return;
		}
		parse_l4(p, d[off + 6], off + 40, end, decl, 0);
	}
}

int hw_vxlan_inner(const struct hw_pkt *p, struct hw_pkt *in, int parse)
{
	uint32_t off = p->l4 + 8u + 8u;

	if (!(p->layers & HW_L_VXLAN))
		return -1;
	*in = (struct hw_pkt){ .data = p->data + off, .len = p->l4_end - off,
			       .headroom = p->headroom + off, .in_port = p->in_port,
			       .mark = p->mark };
	if (parse)
		hw_parse(in);
	return 0;
}

uint32_t hw_flow_hash(const struct hw_pkt *p)
{
	/* Over the fields that name a flow: addresses, types, protocol and
	 * ports (eth_dst through l4_dst in the field vector). */
	uint64_t h = hw_hash_bytes(p->fields + pk_field_off[PK_ETH_DST],
				   pk_field_off[PK_TCP_FLAGS] - pk_field_off[PK_ETH_DST]);
	return (uint32_t)(h ^ (h >> 32));
}

uint64_t hw_csum_add(uint64_t sum, const void *data, uint32_t len)
{
	const uint8_t *b = data;
	uint32_t w;

	for (; len >= 4; len -= 4, b += 4) {
		memcpy(&w, b, 4);
		sum += w;
	}
	if (len >= 2) {
		uint16_t h;
		memcpy(&h, b, 2);
		sum += h;
		b += 2;
		len -= 2;
	}
	if (len) {
		uint16_t h = 0;
		memcpy(&h, b, 1); /* the last byte, padded with a zero byte */
		sum += h;
	}
	return sum;
}

uint16_t hw_csum_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}
