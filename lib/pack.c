/* SPDX-License-Identifier: MIT */
/* Tables describing the packed form (see pack.h). */
#include "pack.h"

const uint8_t pk_field_len[PK_FIELD_MAX] = {
	[PK_IN_PORT] = 2,   [PK_MARK] = 4,       [PK_ETH_DST] = 6,
	[PK_ETH_SRC] = 6,   [PK_ETH_TYPE] = 2,   [PK_VLAN_TCI] = 2,
	[PK_VLAN2_TCI] = 2, [PK_IP_TOS] = 1,     [PK_IP_TTL] = 1,
	[PK_IP_PROTO] = 1,  [PK_IPV4_SRC] = 4,   [PK_IPV4_DST] = 4,
	[PK_IPV6_SRC] = 16, [PK_IPV6_DST] = 16,  [PK_L4_SRC] = 2,
	[PK_L4_DST] = 2,    [PK_TCP_FLAGS] = 1,  [PK_ICMP_TYPE] = 1,
	[PK_ICMP_CODE] = 1, [PK_VXLAN_VNI] = 3,  [PK_IP_FRAG] = 1,
	[PK_VLAN_TAGS] = 1,
};

/* Offsets into the flat field vector: the running sum of the widths. */
const uint8_t pk_field_off[PK_FIELD_MAX] = {
	[PK_IN_PORT] = 0,    [PK_MARK] = 2,       [PK_ETH_DST] = 6,
	[PK_ETH_SRC] = 12,   [PK_ETH_TYPE] = 18,  [PK_VLAN_TCI] = 20,
	[PK_VLAN2_TCI] = 22, [PK_IP_TOS] = 24,    [PK_IP_TTL] = 25,
	[PK_IP_PROTO] = 26,  [PK_IPV4_SRC] = 27,  [PK_IPV4_DST] = 31,
	[PK_IPV6_SRC] = 35,  [PK_IPV6_DST] = 51,  [PK_L4_SRC] = 67,
	[PK_L4_DST] = 69,    [PK_TCP_FLAGS] = 71, [PK_ICMP_TYPE] = 72,
	[PK_ICMP_CODE] = 73, [PK_VXLAN_VNI] = 74, [PK_IP_FRAG] = 77,
	[PK_VLAN_TAGS] = 78,
};

const char *const pk_field_names[PK_FIELD_MAX] = {
	[PK_IN_PORT] = "in_port",     [PK_MARK] = "mark",
	[PK_ETH_DST] = "eth_dst",     [PK_ETH_SRC] = "eth_src",
	[PK_ETH_TYPE] = "eth_type",   [PK_VLAN_TCI] = "vlan_tci",
	[PK_VLAN2_TCI] = "vlan2_tci", [PK_IP_TOS] = "ip_tos",
	[PK_IP_TTL] = "ip_ttl",       [PK_IP_PROTO] = "ip_proto",
	[PK_IPV4_SRC] = "ipv4_src",   [PK_IPV4_DST] = "ipv4_dst",
	[PK_IPV6_SRC] = "ipv6_src",   [PK_IPV6_DST] = "ipv6_dst",
	[PK_L4_SRC] = "l4_src",       [PK_L4_DST] = "l4_dst",
	[PK_TCP_FLAGS] = "tcp_flags", [PK_ICMP_TYPE] = "icmp_type",
	[PK_ICMP_CODE] = "icmp_code", [PK_VXLAN_VNI] = "vxlan_vni",
	[PK_IP_FRAG] = "ip_frag",     [PK_VLAN_TAGS] = "vlan_tags",
};

const uint8_t pk_op_payload[PK_OP_MAX] = {
	[PK_OP_PORT] = 2,        [PK_OP_QUEUE] = 2,       [PK_OP_JUMP] = 2,
	[PK_OP_MARK] = 4,        [PK_OP_VLAN_PUSH] = 4,   [PK_OP_SET_ETH_SRC] = 6,
	[PK_OP_SET_ETH_DST] = 6, [PK_OP_SET_IPV4_SRC] = 4, [PK_OP_SET_IPV4_DST] = 4,
	[PK_OP_SET_TP_SRC] = 2,  [PK_OP_SET_TP_DST] = 2,
	[PK_OP_VXLAN_ENCAP] = 2 + PK_ENCAP_HDR,
	[PK_OP_SET_IPV6_SRC] = 16, [PK_OP_SET_IPV6_DST] = 16, [PK_OP_SET_TTL] = 1,
	[PK_OP_RSS] = 1 + PK_RSS_MAX, [PK_OP_VXLAN_ENCAP6] = 2 + PK_ENCAP6_HDR,
};
