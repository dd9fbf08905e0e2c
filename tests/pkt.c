/* SPDX-License-Identifier: MIT */
#include <string.h>
#include "pkt.h"

uint16_t pkt_rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

uint32_t pkt_rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)(v >> 16));
	wr16(p + 2, (uint16_t)v);
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (; n > 1; n -= 2, p += 2)
		s += pkt_rd16(p);
	if (n)
		s += (uint32_t)p[0] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* L4 checksum over the IPv4 pseudo-header. */
static uint16_t l4_csum4(const uint8_t *ip, const uint8_t *l4, size_t len)
{
	uint32_t s = sum16(ip + 12, 8, 0);

	s += ip[9];
	s += (uint32_t)len;
	return fold(sum16(l4, len, s));
}

static uint16_t l4_csum6(const uint8_t *ip, const uint8_t *l4, size_t len)
{
	uint32_t s = sum16(ip + 8, 32, 0);

	s += ip[6];
	s += (uint32_t)len;
	return fold(sum16(l4, len, s));
}

size_t pkt_build(uint8_t *b, const struct pkt_spec *s)
{
	size_t off = 12, l4len, iplen;
	uint8_t *ip, *l4;

	memcpy(b, s->dst, 6);
	memcpy(b + 6, s->src, 6);
	if (s->vlan) {
		wr16(b + off, 0x8100);
		wr16(b + off + 2, s->vlan);
		off += 4;
	}
	if (s->vlan2) {
		wr16(b + off, 0x8100);
		wr16(b + off + 2, s->vlan2);
		off += 4;
	}
	wr16(b + off, s->ipv6 ? 0x86dd : 0x0800);
	off += 2;
	ip = b + off;
	iplen = s->ipv6 ? 40 : 20;
	l4 = ip + iplen;
	l4len = (s->proto == 6 ? 20 : 8) + s->payload;
	for (size_t i = 0; i < s->payload; i++)
		l4[l4len - s->payload + i] = (uint8_t)i;
	memset(l4, 0, l4len - s->payload);
	if (s->proto == 6 || s->proto == 17) {
		wr16(l4, s->sport);
		wr16(l4 + 2, s->dport);
	}
	if (s->proto == 6) {
		l4[12] = 5 << 4;
		l4[13] = s->tcp_flags;
		wr16(l4 + 14, 65535);
	} else if (s->proto == 17) {
		wr16(l4 + 4, (uint16_t)l4len);
	} else {
		l4[0] = s->icmp_type;
		l4[1] = s->icmp_code;
		wr16(l4 + 4, 0x1234);
		wr16(l4 + 6, 1);
	}
	if (s->ipv6) {
		memset(ip, 0, 40);
		ip[0] = 0x60;
		wr16(ip + 4, (uint16_t)l4len);
		ip[6] = s->proto;
		ip[7] = s->ttl ? s->ttl : 64;
		memcpy(ip + 8, s->sip6, 16);
		memcpy(ip + 24, s->dip6, 16);
	} else {
		memset(ip, 0, 20);
		ip[0] = 0x45;
		ip[1] = s->tos;
		wr16(ip + 2, (uint16_t)(20 + l4len));
		wr16(ip + 4, 0x1c46);
		ip[8] = s->ttl ? s->ttl : 64;
		ip[9] = s->proto;
		wr32(ip + 12, s->sip);
		wr32(ip + 16, s->dip);
		wr16(ip + 10, fold(sum16(ip, 20, 0)));
	}
	uint8_t *c = s->proto == 6 ? l4 + 16 : s->proto == 17 ? l4 + 6 : l4 + 2;
	uint16_t v;
	if (s->proto == 1)
		v = fold(sum16(l4, l4len, 0));
	else
		v = s->ipv6 ? l4_csum6(ip, l4, l4len) : l4_csum4(ip, l4, l4len);
	if (s->proto == 17 && !v)
		v = 0xffff;
	wr16(c, v);
	return off + iplen + l4len;
}

size_t pkt_vxlan(uint8_t *b, const uint8_t *odst, const uint8_t *osrc,
		 uint32_t sip, uint32_t dip, uint32_t vni, const uint8_t *inner,
		 size_t inner_len)
{
	uint8_t *ip = b + 14, *udp = ip + 20, *vx = udp + 8;

	memcpy(b, odst, 6);
	memcpy(b + 6, osrc, 6);
	wr16(b + 12, 0x0800);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	wr16(ip + 2, (uint16_t)(20 + 8 + 8 + inner_len));
	ip[8] = 64;
	ip[9] = 17;
	wr32(ip + 12, sip);
	wr32(ip + 16, dip);
	wr16(ip + 10, fold(sum16(ip, 20, 0)));
	wr16(udp, 54321);
	wr16(udp + 2, 4789);
	wr16(udp + 4, (uint16_t)(8 + 8 + inner_len));
	wr16(udp + 6, 0);
	memset(vx, 0, 8);
	vx[0] = 0x08;
	vx[4] = (uint8_t)(vni >> 16);
	vx[5] = (uint8_t)(vni >> 8);
	vx[6] = (uint8_t)vni;
	memcpy(vx + 8, inner, inner_len);
	return 14 + 20 + 8 + 8 + inner_len;
}

size_t pkt_l3(const uint8_t *f)
{
	size_t off = 12;

	while (pkt_rd16(f + off) == 0x8100 || pkt_rd16(f + off) == 0x88a8)
		off += 4;
	return off + 2;
}

int pkt_ipv4_csum_ok(const uint8_t *ip)
{
	return fold(sum16(ip, (size_t)(ip[0] & 0xf) * 4, 0)) == 0;
}

int pkt_l4_csum_ok(const uint8_t *ip)
{
	size_t ihl = (size_t)(ip[0] & 0xf) * 4;
	size_t len = pkt_rd16(ip + 2) - ihl;
	const uint8_t *l4 = ip + ihl;

	if (ip[9] == 17 && pkt_rd16(l4 + 6) == 0)
		return 1;
	return l4_csum4(ip, l4, len) == 0;
}

static uint8_t *csum6_at(uint8_t *ip)
{
	uint8_t *l4 = ip + 40;

	return ip[6] == 6 ? l4 + 16 : ip[6] == 17 ? l4 + 6 : l4 + 2;
}

int pkt_l4_csum6_ok(const uint8_t *ip)
{
	size_t len = pkt_rd16(ip + 4);

	if (ip[6] == 17 && pkt_rd16(ip + 40 + 6) == 0)
		return 0;
	return l4_csum6(ip, ip + 40, len) == 0;
}

void pkt_l4_csum6_set(uint8_t *ip)
{
	uint8_t *c = csum6_at(ip);
	uint16_t v;

	wr16(c, 0);
	v = l4_csum6(ip, ip + 40, pkt_rd16(ip + 4));
	if (ip[6] == 17 && !v)
		v = 0xffff;
	wr16(c, v);
}
