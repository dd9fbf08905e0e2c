/* SPDX-License-Identifier: MIT */
/* Test helpers: build real frames and check their headers and checksums. */
#ifndef DPAK_TEST_PKT_H
#define DPAK_TEST_PKT_H

#include <stddef.h>
#include <stdint.h>

struct pkt_spec {
	uint8_t dst[6], src[6];
	uint16_t vlan;      /* outer TCI; 0 = untagged */
	uint16_t vlan2;     /* inner TCI (QinQ); 0 = none */
	int ipv6;           /* 0: IPv4 */
	uint32_t sip, dip;  /* IPv4, host order */
	uint8_t sip6[16], dip6[16];
	uint8_t proto;      /* 6, 17 or 1/58 */
	uint8_t ttl;        /* 0 means 64 */
	uint8_t tos;
	uint16_t sport, dport;
	uint8_t tcp_flags;
	uint8_t icmp_type, icmp_code;
	uint16_t payload;   /* payload bytes (pattern 0..255) */
};

/* Build a frame into @buf; returns its length. */
size_t pkt_build(uint8_t *buf, const struct pkt_spec *s);
/* Wrap @inner in eth/ipv4/udp(4789)/vxlan. */
size_t pkt_vxlan(uint8_t *buf, const uint8_t *outer_dst, const uint8_t *outer_src,
		 uint32_t sip, uint32_t dip, uint32_t vni, const uint8_t *inner,
		 size_t inner_len);

/* Offset of the L3 header (after VLAN tags). */
size_t pkt_l3(const uint8_t *f);
/* 1 if the IPv4 header checksum at @ip is right. */
int pkt_ipv4_csum_ok(const uint8_t *ip);
/* 1 if the TCP/UDP checksum of the IPv4 packet at @ip is right (a zero
 * UDP checksum counts as right). */
int pkt_l4_csum_ok(const uint8_t *ip);
/* 1 if the TCP, UDP or ICMPv6 checksum of the IPv6 packet at @ip (no
 * extension headers) is right; a zero UDP checksum is not. */
int pkt_l4_csum6_ok(const uint8_t *ip);
/* Compute the TCP, UDP or ICMPv6 checksum of the IPv6 packet at @ip. */
void pkt_l4_csum6_set(uint8_t *ip);
uint16_t pkt_rd16(const uint8_t *p);
uint32_t pkt_rd32(const uint8_t *p);

#endif
