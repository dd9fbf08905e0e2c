/* SPDX-License-Identifier: MIT */
/**
 * @file flow.h
 * @brief Tables and flows: match items, actions, and the calls that offload
 *        flows into a device's tables.
 *
 * A flow is a list of match items (each a spec and a mask in wire format,
 * network byte order unless said otherwise) and a list of actions, both ended
 * by an *_END entry, added into one of the device's declared tables. The core
 * validates and packs it once into the table's form (key, mask, priority,
 * action block), keeps that record, and hands the same bytes to the device.
 */
#ifndef DPAK_FLOW_H
#define DPAK_FLOW_H

#include <dpak/device.h>

#ifdef __cplusplus
extern "C" {
#endif

/** A declared table (opaque); see dpak_table_get(). */
struct dpak_table;
/** An offloaded flow (opaque). */
struct dpak_flow;

/** Match item types. New types are only ever appended. */
enum dpak_item_type {
	DPAK_ITEM_END = 0,   /**< ends the list */
	DPAK_ITEM_PORT = 1,  /**< ingress port: struct dpak_item_port */
	DPAK_ITEM_MARK = 2,  /**< metadata mark set by an earlier table: struct dpak_item_mark */
	DPAK_ITEM_ETH = 3,   /**< struct dpak_item_eth */
	DPAK_ITEM_VLAN = 4,  /**< struct dpak_item_vlan; a second VLAN item matches the inner tag (QinQ) */
	DPAK_ITEM_IPV4 = 5,  /**< struct dpak_item_ipv4 */
	DPAK_ITEM_IPV6 = 6,  /**< struct dpak_item_ipv6 */
	DPAK_ITEM_TCP = 7,   /**< struct dpak_item_tcp */
	DPAK_ITEM_UDP = 8,   /**< struct dpak_item_udp */
	DPAK_ITEM_ICMP = 9,  /**< struct dpak_item_icmp */
	DPAK_ITEM_VXLAN = 10, /**< struct dpak_item_vxlan (implies UDP, port 4789) */
	/* Since 0.2.0. */
	DPAK_ITEM_SCTP = 11,  /**< struct dpak_item_sctp (implies ip_proto 132) */
	DPAK_ITEM_IP_FRAG = 12, /**< struct dpak_item_ip_frag: whether the IPv4
				  *   or IPv6 packet is a fragment, and which */
	DPAK_ITEM_VLAN_TAGS = 13, /**< struct dpak_item_vlan_tags: how many
				    *   VLAN tags the frame carries */
};

/** Ingress port (host byte order). */
struct dpak_item_port {
	uint32_t id; /**< port id */
};

/** Metadata mark (host byte order). */
struct dpak_item_mark {
	uint32_t id; /**< mark set by a DPAK_ACTION_MARK of an earlier table */
};

/** Ethernet header. */
struct dpak_item_eth {
	uint8_t dst[6]; /**< destination MAC */
	uint8_t src[6]; /**< source MAC */
	uint16_t type;  /**< EtherType of the payload after any VLAN tags */
};

/** 802.1Q tag. */
struct dpak_item_vlan {
	uint16_t tci;        /**< PCP, DEI and VLAN id */
	uint16_t inner_type; /**< EtherType that follows the tag (last tag only) */
};

/** IPv4 header. Matchable: tos, ttl, proto, src, dst. */
struct dpak_item_ipv4 {
	uint8_t version_ihl;      /**< not matchable */
	uint8_t tos;              /**< type of service / DSCP+ECN */
	uint16_t total_length;    /**< not matchable */
	uint16_t packet_id;       /**< not matchable */
	uint16_t fragment_offset; /**< not matchable */
	uint8_t ttl;              /**< time to live */
	uint8_t proto;            /**< next protocol */
	uint16_t checksum;        /**< not matchable */
	uint32_t src;             /**< source address */
	uint32_t dst;             /**< destination address */
};

/** IPv6 header. Matchable: proto (next header), hop_limit, src, dst. */
struct dpak_item_ipv6 {
	uint32_t vtc_flow;    /**< not matchable */
	uint16_t payload_len; /**< not matchable */
	uint8_t proto;        /**< next header */
	uint8_t hop_limit;    /**< hop limit (matched as ttl) */
	uint8_t src[16];      /**< source address */
	uint8_t dst[16];      /**< destination address */
};

/** TCP header. Matchable: ports and flags. */
struct dpak_item_tcp {
	uint16_t src_port; /**< source port */
	uint16_t dst_port; /**< destination port */
	uint32_t seq;      /**< not matchable */
	uint32_t ack;      /**< not matchable */
	uint8_t data_off;  /**< not matchable */
	uint8_t flags;     /**< TCP flags */
	uint16_t window;   /**< not matchable */
	uint16_t checksum; /**< not matchable */
	uint16_t urgent;   /**< not matchable */
};

/** UDP header. Matchable: ports. */
struct dpak_item_udp {
	uint16_t src_port; /**< source port */
	uint16_t dst_port; /**< destination port */
	uint16_t length;   /**< not matchable */
	uint16_t checksum; /**< not matchable */
};

/** ICMP header. Matchable: type and code. */
struct dpak_item_icmp {
	uint8_t type;      /**< ICMP type */
	uint8_t code;      /**< ICMP code */
	uint16_t checksum; /**< not matchable */
	uint16_t ident;    /**< not matchable */
	uint16_t seq;      /**< not matchable */
};

/** VXLAN header (RFC 7348). Matchable: vni. */
struct dpak_item_vxlan {
	uint8_t flags;   /**< not matchable */
	uint8_t rsvd0[3]; /**< not matchable */
	uint8_t vni[3];  /**< VXLAN network identifier */
	uint8_t rsvd1;   /**< not matchable */
};

/**
 * SCTP common header (RFC 9260 section 3.1). Matchable: ports, as the key
 * fields DPAK_FIELD_L4_SRC and DPAK_FIELD_L4_DST that TCP and UDP use too.
 * The item implies ip_proto 132. The common header is 12 bytes; a packet
 * whose IP payload is shorter has no SCTP layer.
 * @since 0.2.0
 */
struct dpak_item_sctp {
	uint16_t src_port; /**< source port */
	uint16_t dst_port; /**< destination port */
	uint32_t tag;      /**< verification tag; not matchable */
	uint32_t checksum; /**< CRC32c; not matchable */
};

/** Bits of struct dpak_item_ip_frag flags (the DPAK_FIELD_IP_FRAG byte). */
enum dpak_ip_frag_flags {
	/** The packet is a fragment: IPv4 with MF set or a fragment offset
	 *  other than 0 (RFC 791 section 3.1), or IPv6 with a Fragment
	 *  extension header (RFC 8200 section 4.5). */
	DPAK_IP_FRAG_IS = 0x01,
	/** A fragment other than the first: fragment offset not 0. Such a
	 *  fragment carries no L4 header; its L4 fields read zero. */
	DPAK_IP_FRAG_LATER = 0x02,
};

/**
 * IP fragmentation state, one byte. Key field
 * DPAK_FIELD_IP_FRAG, default mask 0x03. The values OVS calls nw_frag:
 * 0 "no" (not a fragment), DPAK_IP_FRAG_IS "first",
 * DPAK_IP_FRAG_IS | DPAK_IP_FRAG_LATER "later". A packet that is not IPv4
 * or IPv6 reads 0. Give it after an ipv4 or ipv6 item, or alone.
 * @since 0.2.0
 */
struct dpak_item_ip_frag {
	uint8_t flags; /**< enum dpak_ip_frag_flags bits */
};

/**
 * Number of 802.1Q / 802.1ad tags the frame carries (0, 1 or 2; a frame
 * with more tags than 2 reads 2). Key field DPAK_FIELD_VLAN_TAGS, default
 * mask 0xff. This is rte_flow's eth has_vlan and OVS's "VLAN present" bit:
 * a flow for untagged frames matches n = 0.
 * @since 0.2.0
 */
struct dpak_item_vlan_tags {
	uint8_t n; /**< number of tags */
};

/**
 * One match item.
 *
 * @p spec NULL matches no field of the item itself. An item also implies
 * its protocol (ipv4/ipv6: eth_type; tcp/udp/sctp/icmp/vxlan: ip_proto;
 * vxlan: UDP port 4789). The L4 protocol must be in the table's key (since
 * 0.2.0 a flow with an L4 item in a table without ip_proto is refused with
 * -ENOTSUP: it would match every protocol); the EtherType is matched where
 * the table's key has eth_type, and a table keyed on addresses alone looks
 * packets up whatever their EtherType (fields of an absent header read as
 * zero).
 * @p mask NULL uses the item's default mask: eth dst, src and type; vlan tci;
 * ipv4/ipv6 src and dst; tcp/udp ports; icmp type and code; vxlan vni; the
 * whole port and mark ids; since 0.2.0: sctp ports; ip_frag 0x03;
 * vlan_tags 0xff.
 */
struct dpak_item {
	enum dpak_item_type type; /**< item type; DPAK_ITEM_END ends the list */
	const void *spec;         /**< values to match, or NULL */
	const void *mask;         /**< bits that matter, or NULL for the default */
};

/** Action types. New types are only ever appended. */
enum dpak_action_type {
	DPAK_ACTION_END = 0,        /**< ends the list */
	DPAK_ACTION_PORT = 1,       /**< fate: send out of a port: struct dpak_action_port */
	DPAK_ACTION_DROP = 2,       /**< fate: drop */
	DPAK_ACTION_QUEUE = 3,      /**< fate: up to the host (slow path): struct dpak_action_queue */
	DPAK_ACTION_JUMP = 4,       /**< fate: continue in a later table: struct dpak_action_jump */
	DPAK_ACTION_MARK = 5,       /**< set the metadata mark: struct dpak_action_mark */
	DPAK_ACTION_COUNT = 6,      /**< keep counters readable by dpak_flow_query(); no conf */
	DPAK_ACTION_VLAN_PUSH = 7,  /**< push an 802.1Q tag: struct dpak_action_vlan_push */
	DPAK_ACTION_VLAN_POP = 8,   /**< pop the outer tag; no conf */
	DPAK_ACTION_SET_ETH_SRC = 9,  /**< struct dpak_action_set_mac */
	DPAK_ACTION_SET_ETH_DST = 10, /**< struct dpak_action_set_mac */
	DPAK_ACTION_SET_IPV4_SRC = 11, /**< struct dpak_action_set_ipv4; checksums updated */
	DPAK_ACTION_SET_IPV4_DST = 12, /**< struct dpak_action_set_ipv4; checksums updated */
	DPAK_ACTION_SET_TP_SRC = 13,  /**< TCP/UDP source port: struct dpak_action_set_tp */
	DPAK_ACTION_SET_TP_DST = 14,  /**< TCP/UDP destination port: struct dpak_action_set_tp */
	DPAK_ACTION_DEC_TTL = 15,     /**< decrement IPv4 TTL / IPv6 hop limit; no conf */
	DPAK_ACTION_VXLAN_ENCAP = 16, /**< struct dpak_action_vxlan_encap */
	DPAK_ACTION_VXLAN_DECAP = 17, /**< strip the outer Ethernet, IPv4 or IPv6,
					    *   UDP and VXLAN headers (RFC 7348); the
					    *   packet must have a VXLAN layer with the
					    *   I flag set; no conf */
	/* Since 0.2.0. */
	DPAK_ACTION_SET_IPV6_SRC = 18, /**< struct dpak_action_set_ipv6; TCP/UDP
					 *   checksums updated */
	DPAK_ACTION_SET_IPV6_DST = 19, /**< struct dpak_action_set_ipv6; TCP/UDP
					 *   checksums updated */
	DPAK_ACTION_SET_TTL = 20,      /**< set IPv4 TTL / IPv6 hop limit:
					 *   struct dpak_action_set_ttl */
	DPAK_ACTION_RSS = 21,          /**< fate: up to the host, spread over
					 *   several receive queues:
					 *   struct dpak_action_rss */
	DPAK_ACTION_VXLAN_ENCAP6 = 22, /**< VXLAN over an IPv6 outer header:
					 *   struct dpak_action_vxlan_encap6 */
};

/** Output port (host byte order). */
struct dpak_action_port {
	uint32_t id; /**< port id */
};
/** Host queue index (host byte order). */
struct dpak_action_queue {
	uint16_t index; /**< receive queue index */
};
/** Jump target. */
struct dpak_action_jump {
	uint32_t table; /**< index of a table declared after this one */
};
/** Mark (host byte order). */
struct dpak_action_mark {
	uint32_t id; /**< value seen by DPAK_ITEM_MARK in later tables */
};
/** VLAN push (network byte order). */
struct dpak_action_vlan_push {
	uint16_t tpid; /**< 0x8100 or 0x88a8; 0 means 0x8100 */
	uint16_t tci;  /**< PCP, DEI and VLAN id */
};
/** New MAC address. */
struct dpak_action_set_mac {
	uint8_t mac[6]; /**< address */
};
/** New IPv4 address (network byte order). */
struct dpak_action_set_ipv4 {
	uint32_t addr; /**< address */
};
/** New TCP/UDP port (network byte order). */
struct dpak_action_set_tp {
	uint16_t port; /**< port */
};
/**
 * VXLAN encapsulation over IPv4. The outer IPv4 header gets a correct
 * checksum; the outer UDP checksum is zero, as RFC 7348 allows.
 */
struct dpak_action_vxlan_encap {
	uint8_t eth_dst[6];  /**< outer destination MAC */
	uint8_t eth_src[6];  /**< outer source MAC */
	uint32_t ipv4_src;   /**< outer source address (network order) */
	uint32_t ipv4_dst;   /**< outer destination address (network order) */
	uint8_t ttl;         /**< outer TTL; 0 means 64 */
	uint8_t tos;         /**< outer TOS */
	uint16_t udp_src;    /**< outer UDP source port (network order); 0: from a hash of the inner flow */
	uint32_t vni;        /**< VNI, host order, < 2^24 */
};

/**
 * New IPv6 address, 16 bytes in network order. A TCP or UDP checksum of
 * the packet is updated for the changed pseudo-header (RFC 8200 section
 * 8.1): the result is what a full recomputation gives (a UDP checksum
 * that comes out 0 is sent as 0xffff, RFC 768). The match must include
 * an ipv6 item.
 * @since 0.2.0
 */
struct dpak_action_set_ipv6 {
	uint8_t addr[16]; /**< address */
};

/**
 * Set the IPv4 TTL, with the header checksum updated incrementally
 * (RFC 1624), or the IPv6 hop limit. The match must include an ipv4 or
 * ipv6 item. Unlike DPAK_ACTION_DEC_TTL, nothing is sent to the host
 * whatever the value.
 * @since 0.2.0
 */
struct dpak_action_set_ttl {
	uint8_t ttl; /**< new TTL / hop limit */
};

/** Most queues one DPAK_ACTION_RSS spreads over. @since 0.2.0 */
#define DPAK_RSS_MAX_QUEUES 16

/**
 * RSS fate: the packet goes up to the host (reason DPAK_RX_ACTION, with
 * the flow's mark, the table and the flow hash, as DPAK_ACTION_QUEUE
 * gives), on queues[hash % n]: the flow hash (the one dpak_pkt hash
 * reports) spreads the flows over the listed queues and keeps each flow on
 * one queue.
 * @since 0.2.0
 */
struct dpak_action_rss {
	uint16_t n;                                /**< number of queues, 1-16 */
	uint16_t queues[DPAK_RSS_MAX_QUEUES];      /**< absolute receive queue
						     *   indexes (host order);
						     *   repeats allowed */
};

/**
 * VXLAN encapsulation over IPv6 (RFC 7348): 70 bytes pushed (outer
 * Ethernet 14, IPv6 40, UDP 8, VXLAN 8). The outer IPv6 payload length is
 * set from the frame, flow label 0, next header 17; the outer UDP checksum
 * is computed over the IPv6 pseudo-header and the whole datagram, as IPv6
 * requires (RFC 8200 section 8.1; RFC 7348 section 5). The frame that
 * leaves must fit the egress port's MTU (see dpak_port_set_mtu()).
 * @since 0.2.0
 */
struct dpak_action_vxlan_encap6 {
	uint8_t eth_dst[6];   /**< outer destination MAC */
	uint8_t eth_src[6];   /**< outer source MAC */
	uint8_t ipv6_src[16]; /**< outer source address (network order) */
	uint8_t ipv6_dst[16]; /**< outer destination address (network order);
			       *   not the unspecified address */
	uint8_t hop_limit;    /**< outer hop limit; 0 means 64 */
	uint8_t tclass;       /**< outer traffic class */
	uint16_t udp_src;     /**< outer UDP source port (network order); 0:
			       *   from a hash of the inner flow */
	uint32_t vni;         /**< VNI, host order, < 2^24 */
};

/** One action. */
struct dpak_action {
	enum dpak_action_type type; /**< DPAK_ACTION_END ends the list */
	const void *conf;           /**< the type's conf struct, or NULL where it has none */
};

/** Options for adding a flow; declare with DPAK_OPTS(). */
struct dpak_flow_opts {
	size_t sz;                /**< sizeof(struct dpak_flow_opts) */
	uint32_t priority;        /**< wildcard tables: 0 is the highest, below the table's priorities;
				       exact and LPM tables: 0 (LPM ranks by prefix length) */
	uint32_t idle_timeout_ms; /**< 0: never ages; else reported by dpak_flow_aged() after this long without a hit */
	uint64_t cookie;          /**< opaque to the library; see dpak_flow_cookie() */
};

/** Key fields a table can match on (see dpak_table_info()). */
enum dpak_field {
	DPAK_FIELD_IN_PORT = 0,   /**< ingress port, 2 bytes */
	DPAK_FIELD_MARK = 1,      /**< metadata mark, 4 bytes */
	DPAK_FIELD_ETH_DST = 2,   /**< 6 bytes */
	DPAK_FIELD_ETH_SRC = 3,   /**< 6 bytes */
	DPAK_FIELD_ETH_TYPE = 4,  /**< EtherType after VLAN tags, 2 bytes */
	DPAK_FIELD_VLAN_TCI = 5,  /**< outer tag, 2 bytes */
	DPAK_FIELD_VLAN2_TCI = 6, /**< inner (QinQ) tag, 2 bytes */
	DPAK_FIELD_IP_TOS = 7,    /**< 1 byte */
	DPAK_FIELD_IP_TTL = 8,    /**< TTL or hop limit, 1 byte */
	DPAK_FIELD_IP_PROTO = 9,  /**< 1 byte */
	DPAK_FIELD_IPV4_SRC = 10, /**< 4 bytes */
	DPAK_FIELD_IPV4_DST = 11, /**< 4 bytes */
	DPAK_FIELD_IPV6_SRC = 12, /**< 16 bytes */
	DPAK_FIELD_IPV6_DST = 13, /**< 16 bytes */
	DPAK_FIELD_L4_SRC = 14,   /**< TCP/UDP/SCTP source port, 2 bytes */
	DPAK_FIELD_L4_DST = 15,   /**< TCP/UDP/SCTP destination port, 2 bytes */
	DPAK_FIELD_TCP_FLAGS = 16, /**< 1 byte */
	DPAK_FIELD_ICMP_TYPE = 17, /**< 1 byte */
	DPAK_FIELD_ICMP_CODE = 18, /**< 1 byte */
	DPAK_FIELD_VXLAN_VNI = 19, /**< 3 bytes */
	DPAK_FIELD_IP_FRAG = 20,   /**< enum dpak_ip_frag_flags, 1 byte (since 0.2.0) */
	DPAK_FIELD_VLAN_TAGS = 21, /**< number of VLAN tags, 1 byte (since 0.2.0) */
	DPAK_FIELD_MAX            /**< number of fields (grows) */
};

/**
 * Name of a key field as written in configinfo, e.g. "eth_dst".
 *
 * @param field a field.
 * @return a static string, or NULL if @p field is unknown.
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API const char *dpak_field_name(enum dpak_field field);

/** A table's description (see dpak_table_info()). */
struct dpak_table_info {
	size_t sz;                 /**< set by the caller */
	uint32_t index;            /**< position in the pipeline, 0 first */
	const char *name;          /**< name as declared; valid while the device is open */
	enum dpak_table_type type; /**< exact, wildcard or LPM */
	uint32_t capacity;         /**< most flows it holds */
	uint32_t in_use;           /**< flows the device holds now (not those a
					  *   reset lost or the operator removed) */
	uint32_t key_bytes;        /**< packed key size (one of the device's key sizes) */
	uint32_t action_bytes;     /**< most bytes of packed actions per flow */
	uint32_t priorities;       /**< number of priority levels */
	uint64_t key_fields;       /**< bit (1 << enum dpak_field) per key field */
	uint64_t action_types;     /**< bit (1 << enum dpak_action_type) per action a flow may use:
					allowed by configinfo and applied by the device now */
	/* Since 0.2.0: the device limits (see dpak-configinfo(5)) and restore state. */
	uint64_t exclusive_actions; /**< bit per action that must be a flow's only action here */
	uint32_t max_masks;        /**< most distinct masks its flows may have at once (wildcard:
					configinfo masks=, default 64; LPM: distinct prefix lengths,
					8 x the prefix field's width + 1 unless declared fewer, e.g.
					129 for ipv6_dst; exact: 1) */
	uint32_t masks_in_use;     /**< distinct masks (LPM: prefix lengths) its flows have now */
	uint32_t not_restored;     /**< flows a device reset lost that could not be added back yet
					(see dpak_flow_state()); not counted in in_use */
};

/**
 * Find a declared table by name.
 *
 * @return the table (valid while the device is open), or NULL with errno
 *         ENOENT (no such table) or EINVAL (NULL argument).
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API struct dpak_table *dpak_table_get(struct dpak_dev *dev,
					   const char *name);

/**
 * Table by pipeline position.
 *
 * @param dev   the device.
 * @param index 0 .. n_tables-1 (see dpak_dev_info()).
 * @return the table, or NULL with errno ENOENT or EINVAL.
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API struct dpak_table *dpak_table_at(struct dpak_dev *dev, uint32_t index);

/**
 * Describe a table, with its occupancy at the moment of the call.
 *
 * @param table the table.
 * @param info  filled; the caller sets info->sz first.
 * @return 0 or -EINVAL.
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_table_info(struct dpak_table *table,
			     struct dpak_table_info *info);

/**
 * Remove every flow of a table.
 *
 * @param table the table.
 * @return the number of flows removed (>= 0), or a negative errno if the
 *         device refused; flows it did remove stay removed.
 * @par Thread safety
 * Safe from any thread; flow handles of the table are invalid afterwards.
 */
DPAK_API int dpak_table_flush(struct dpak_table *table);

/**
 * Check a flow without changing anything.
 *
 * Runs every check dpak_flow_add() runs but the duplicate check: the
 * items and actions against the table's declaration and the device's
 * capabilities now (dpak_dev_info()), and every device limit of the
 * table (dpak_table_info(): key fields, priorities, action bytes,
 * exclusive actions, capacity and distinct masks, the last two at the
 * moment of the call). A flow it refuses, dpak_flow_add() refuses with the
 * same error and message.
 *
 * @param table   the target table.
 * @param items   match items ending with DPAK_ITEM_END.
 * @param actions actions ending with DPAK_ACTION_END; exactly one fate
 *                action (port, drop, queue, rss or jump).
 * @param opts    NULL for defaults.
 * @return 0, or -EINVAL (malformed, or a priority in an LPM table), -ENOTSUP
 *         (valid but not offloadable by this table or device, e.g.
 *         "action 2 (set_tp_dst): refused by the device ..."), -ERANGE (a
 *         value out of range), -ENOSPC (the table is full, or holds its
 *         most distinct masks and this flow's mask is another one), with
 *         dpak_errmsg() naming the item or action index and the field, or
 *         the limit.
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_flow_validate(struct dpak_table *table,
				const struct dpak_item *items,
				const struct dpak_action *actions,
				const struct dpak_flow_opts *opts);

/**
 * Offload a flow.
 *
 * @param table   the target table.
 * @param items   match items ending with DPAK_ITEM_END.
 * @param actions actions ending with DPAK_ACTION_END.
 * @param opts    NULL for defaults.
 * @param flow    set to the new flow's handle on success.
 * @return 0, or the errors of dpak_flow_validate(), -EEXIST (the same match
 *         is in the table), -ENOSPC (table full, or no room for another
 *         distinct mask, named in dpak_errmsg()), -ENOMEM, or the device's
 *         error (a device that refuses one of the actions names its
 *         position in the packed action block, where the fate action comes
 *         last, and its type). On failure nothing changed.
 * @par Thread safety
 * Safe from several threads at once; packets are forwarded meanwhile.
 */
DPAK_API int dpak_flow_add(struct dpak_table *table,
			   const struct dpak_item *items,
			   const struct dpak_action *actions,
			   const struct dpak_flow_opts *opts,
			   struct dpak_flow **flow);

/** One request of dpak_flow_add_batch(). This layout is frozen. */
struct dpak_flow_req {
	const struct dpak_item *items;     /**< as for dpak_flow_add() */
	const struct dpak_action *actions; /**< as for dpak_flow_add() */
	const struct dpak_flow_opts *opts; /**< as for dpak_flow_add() */
};

/**
 * Offload several flows into one table, with a result per entry.
 *
 * Each entry succeeds or fails alone, as dpak_flow_add() would.
 *
 * @param table   the target table.
 * @param reqs    @p n requests.
 * @param n       number of requests.
 * @param flows   @p n slots: the new handle, or NULL where that entry failed.
 * @param results @p n slots: 0 or the entry's negative errno; may be NULL.
 * @return the number of flows added (0 .. n), or -EINVAL for a NULL
 *         argument. dpak_errmsg() holds the message of the first failed
 *         entry (the lowest index, whether validation, the table's room or
 *         the device refused it), prefixed by "entry <index>: ".
 * @par Thread safety
 * As dpak_flow_add().
 */
DPAK_API int dpak_flow_add_batch(struct dpak_table *table,
				 const struct dpak_flow_req *reqs, size_t n,
				 struct dpak_flow **flows, int *results);

/**
 * Remove a flow from the device and free its handle.
 *
 * @param flow the flow; invalid after success.
 * @return 0, -EINVAL (NULL), or the device's error (then the flow stays).
 * @par Thread safety
 * Safe from several threads, but not twice for the same flow.
 */
DPAK_API int dpak_flow_del(struct dpak_flow *flow);

/**
 * Replace a flow's actions atomically: every packet sees either the old or
 * the new actions, never none. Counters carry over.
 *
 * @param flow    the flow.
 * @param actions the new actions, checked as dpak_flow_validate() would.
 * @return 0, or a validation or device error; on failure the old actions
 *         stay.
 * @par Thread safety
 * Safe from several threads, but not concurrently on the same flow.
 */
DPAK_API int dpak_flow_replace_actions(struct dpak_flow *flow,
				       const struct dpak_action *actions);

/** Flow counters (see dpak_flow_query()). */
struct dpak_flow_stats {
	size_t sz;            /**< set by the caller */
	uint64_t packets;     /**< packets that hit the flow */
	uint64_t bytes;       /**< their bytes, as received */
	uint64_t last_hit_ns; /**< CLOCK_MONOTONIC time of the last hit; 0: never */
};

/**
 * Read a flow's counters, exact at the moment of the call.
 *
 * Counters continue across a device reset: a restored flow counts on
 * from what the device had counted before. A flow the reset lost and the
 * device did not take back (dpak_flow_state()) returns the counters it
 * had then.
 *
 * @param flow  a flow added with a DPAK_ACTION_COUNT action.
 * @param stats filled; the caller sets stats->sz first.
 * @return 0, -EINVAL, -ENOTSUP if the flow has no count action, or -ENOENT
 *         if the operator removed it from the device (dpak-ctl).
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_flow_query(struct dpak_flow *flow,
			     struct dpak_flow_stats *stats);

/**
 * Collect flows whose idle timeout expired.
 *
 * A flow with idle_timeout_ms set ages out once that long has passed since
 * its last hit (or since it was added, if never hit). Each aged flow is
 * returned once; it stays in the device until the caller deletes it.
 * The last hit survives a device reset (the restored flow keeps it), so a
 * reset ages nothing by itself. Each call also retries adding back the
 * flows a reset lost (see dpak_flow_state(); a retry that brings flows
 * back queues a DPAK_EVENT_RESET event).
 *
 * @param dev   the device.
 * @param flows room for @p max handles.
 * @param max   capacity of @p flows.
 * @return the number of handles written (0 .. max), or -EINVAL.
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_flow_aged(struct dpak_dev *dev, struct dpak_flow **flows,
			    size_t max);

/**
 * The cookie given at add time.
 * @par Thread safety
 * Safe from any thread while the flow exists.
 */
DPAK_API uint64_t dpak_flow_cookie(const struct dpak_flow *flow);

/**
 * The table a flow is in.
 * @par Thread safety
 * Safe from any thread while the flow exists.
 */
DPAK_API struct dpak_table *dpak_flow_table(const struct dpak_flow *flow);

/**
 * Iterate over a table's flows in insertion order.
 *
 * @param table the table.
 * @param prev  NULL to start, else the flow returned last.
 * @return the next flow, or NULL at the end.
 * @par Thread safety
 * The caller must not delete @p prev or let another thread delete flows of
 * this table during the walk.
 */
DPAK_API struct dpak_flow *dpak_flow_next(struct dpak_table *table,
					  struct dpak_flow *prev);

/** Where a flow is (see dpak_flow_state()). New values are only appended. */
enum dpak_flow_state {
	DPAK_FLOW_OFFLOADED = 0,     /**< in the device */
	DPAK_FLOW_REMOVED = 1,       /**< removed from the device by the operator (dpak-ctl flow-del) */
	DPAK_FLOW_NOT_RESTORED = 2,  /**< a device reset lost it and the device refused it back;
					  the library retries (see dpak_flow_state()) */
};

/**
 * Where a flow is now: in the device, removed by the operator, or lost in
 * a device reset and not added back yet.
 *
 * After a device reset (dpak_hwsim_reset()) the library adds every flow it
 * holds back into the device, its counters and last hit continuing from
 * those the device had. A flow the device refuses then stays in the
 * library's records as DPAK_FLOW_NOT_RESTORED: not counted in its table's
 * in_use (it counts in not_restored of dpak_table_info()), its counters
 * frozen at their values before the reset (dpak_flow_query() returns
 * them), and aging measured from its last hit. The library offers it to
 * the device again at each later reset, on each pass of the event
 * channel's thread when the channel is open (at most 64 flows per table
 * per pass; see dpak_event_open()), at each dpak_flow_aged() call and at
 * each dpak_flow_restore() call; each reset, and each retry that brings
 * flows back, queues a DPAK_EVENT_RESET event. dpak_flow_del() removes it.
 * dpak_flow_replace_actions() refuses it with -ENOENT until it is back.
 *
 * @param flow the flow.
 * @return an enum dpak_flow_state value (>= 0), or -EINVAL (NULL).
 * @par Thread safety
 * Safe from any thread while the flow exists.
 * @since 0.2.0
 */
DPAK_API int dpak_flow_state(const struct dpak_flow *flow);

/**
 * Add back into the device every flow a device reset lost and the restore
 * could not add (DPAK_FLOW_NOT_RESTORED, see dpak_flow_state()).
 *
 * Each such flow is offered to the device again, with the counters it
 * had; a table that is full (capacity counted by in_use) refuses it.
 *
 * @param dev the device.
 * @return the number of flows still not in the device (0: all are back),
 *         or -EINVAL (NULL). When some remain, dpak_errmsg() names the
 *         first (table, flow number, cookie) and the device's reason.
 * @par Thread safety
 * Safe from any thread; takes each table's lock in turn, as flow calls do.
 * @since 0.2.0
 */
DPAK_API int dpak_flow_restore(struct dpak_dev *dev);

#ifdef __cplusplus
}
#endif
#endif /* DPAK_FLOW_H */
