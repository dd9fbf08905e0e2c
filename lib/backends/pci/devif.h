/* SPDX-License-Identifier: MIT */
/*
 * The dpak PCIe device interface in C: registers, queues, commands and
 * records of docs/device-interface.md (section numbers below are that
 * document's). Shared by the pci backend (the driver) and hwsim's device
 * front end (the device); neither side defines a layout of its own.
 *
 * Every multi-byte field is little-endian on the wire (section 1). The
 * structs below are the in-memory layouts on a little-endian host, which
 * is every host libdpak builds for (configure checks); fields marked "be"
 * hold network-order packet bytes. Sizes and offsets are asserted at
 * compile time.
 */
#ifndef DPAK_DEVIF_H
#define DPAK_DEVIF_H

#include <stddef.h>
#include <stdint.h>

/* 2.2 Identity (placeholder vendor id: see the document). */
#define DEVIF_VENDOR_ID        0xD9ACu
#define DEVIF_DEVICE_ID        0xD001u
#define DEVIF_REVISION         0x01u
#define DEVIF_CLASS            0x028000u
#define DEVIF_PORT_VENDOR_ID   0x1AF4u /* virtio */
#define DEVIF_PORT_DEVICE_ID   0x1041u /* modern virtio-net */
#define DEVIF_SUBSYS_MGMT      0xD001u
#define DEVIF_SUBSYS_PORT_PF   0xD011u
#define DEVIF_SUBSYS_PORT_VF   0xD012u

/* 2.3 BAR sizes. */
#define DEVIF_BAR0_SIZE  0x10000u
#define DEVIF_BAR2_SIZE  0x2000u
#define DEVIF_BAR4_SIZE  0x1000u
#define DEVIF_CFG_SIZE   0x1000u

/* 2.4 MSI-X vectors. */
#define DEVIF_VEC_ADMIN   0u
#define DEVIF_VEC_EVENT   1u
#define DEVIF_VEC_CTRLQ   2u
#define DEVIF_VEC_HQ(q)   (3u + (q))
#define DEVIF_N_VECTORS   67u

/* 3.1 Identity and version. */
#define DEVIF_MAGIC              0x4B415044u /* "DPAK" in memory order */
#define DEVIF_IF_MAJOR           1u
#define DEVIF_IF_MINOR           0u
#define DEVIF_VERSION(maj, min)  (((uint32_t)(maj) << 16) | (uint32_t)(min))
#define REG_DEV_MAGIC            0x0000u
#define REG_IF_VERSION           0x0004u
#define REG_FW_VERSION           0x0008u
#define REG_FW_BUILD             0x000Cu
#define REG_DEV_TIME_LO          0x0010u
#define REG_DEV_TIME_HI          0x0014u
#define REG_HEARTBEAT            0x0018u

/* 3.2 Capability words. */
#define REG_CAP_ITEMS_LO         0x0040u
#define REG_CAP_ITEMS_HI         0x0044u
#define REG_CAP_ACTIONS_LO       0x0048u
#define REG_CAP_ACTIONS_HI       0x004Cu
#define REG_CAP_TABLES           0x0050u
#define REG_CAP_FIELDS           0x0054u
#define REG_EXCLUSIVE_LO         0x0058u
#define REG_EXCLUSIVE_HI         0x005Cu
#define REG_ACTIONS_NOW_LO       0x0060u
#define REG_ACTIONS_NOW_HI       0x0064u
#define REG_DEV_FEATURES         0x0068u

/* DEV_FEATURES / DRV_FEATURES bits. */
#define DEVIF_F_AGED_EVENTS      (1u << 0)
#define DEVIF_F_TRACE            (1u << 1)
#define DEVIF_F_FW_LOAD          (1u << 2)
#define DEVIF_F_SOFT_RESET       (1u << 3)
#define DEVIF_F_RESET_NOTICE     (1u << 4)
#define DEVIF_F_PORT_LINK_ADMIN  (1u << 5)
#define DEVIF_F_TEST_HARNESS     (1u << 6) /* 7.12: hwsim's front end only */
#define DEVIF_F_KNOWN            0x7Fu

/* 3.3 Limits. */
#define REG_KEY_SIZES_0          0x0080u
#define REG_KEY_SIZES_1          0x0084u
#define REG_MAX_ACTION_BYTES     0x0088u
#define REG_MAX_TABLES           0x008Cu
#define REG_MAX_EXACT_TABLES     0x0090u
#define REG_MAX_ENTRIES          0x0094u
#define REG_MAX_TOTAL_ENTRIES    0x0098u
#define REG_MAX_MASKS            0x009Cu
#define REG_MAX_PRIORITIES       0x00A0u
#define REG_MAX_PUSH_BYTES       0x00A4u
#define REG_N_PORTS              0x00A8u
#define REG_MAX_BONDS            0x00ACu
#define REG_MAX_BOND_MEMBERS     0x00B0u
#define REG_MAX_HOST_QUEUES      0x00B4u
#define REG_MAX_QUEUE_SIZE       0x00B8u
#define REG_MTU_RANGE            0x00BCu
#define REG_MAX_FRAME            0x00C0u
#define REG_MAX_RSS_QUEUES       0x00C4u
#define REG_MAX_CMD_DATA         0x00C8u
#define REG_MAX_AQ_SIZE          0x00CCu
#define REG_MAX_EQ_SIZE          0x00D0u
#define REG_FW_CHUNK_MAX         0x00D4u

/* 3.4 Status, control and reset. */
#define REG_DEV_STATUS           0x0100u
#define REG_FATAL_CODE           0x0104u
#define REG_RESET_COUNT          0x0108u
#define REG_RESET_REASON         0x010Cu
#define REG_RESET_REQ            0x0110u
#define REG_RESET_ACK            0x0114u
#define REG_DEV_CONTROL          0x0118u
#define REG_DRV_IF_VERSION       0x0140u
#define REG_DRV_FEATURES         0x0144u
#define REG_DRV_VERSION          0x0148u
#define REG_DRV_STATUS           0x014Cu

#define DEVIF_ST_READY           (1u << 0)
#define DEVIF_ST_FATAL           (1u << 1)
#define DEVIF_ST_RESETTING       (1u << 2)
#define DEVIF_ST_ADMIN_ON        (1u << 3)
#define DEVIF_ST_VERSION_OK      (1u << 4)
#define DEVIF_ST_VERSION_BAD     (1u << 5)
#define DEVIF_ST_RUNNING         (1u << 6)
#define DEVIF_ST_FW_PENDING      (1u << 7)

#define DEVIF_CTL_ADMIN_EN       (1u << 0)
#define DEVIF_DRV_OK             (1u << 0)
#define DEVIF_DRV_FAILED         (1u << 1)

enum devif_reset_reason {
	DEVIF_RESET_DRIVER = 0, DEVIF_RESET_RECOVERY = 1, DEVIF_RESET_FW = 2,
	DEVIF_RESET_FLR = 3, DEVIF_RESET_POWER_ON = 4,
};

/* 3.5 Admin and event queue registers. */
#define REG_AQ_BASE_LO           0x0200u
#define REG_AQ_BASE_HI           0x0204u
#define REG_AQ_SIZE              0x0208u
#define REG_AQ_HEAD              0x020Cu
#define REG_ACQ_BASE_LO          0x0210u
#define REG_ACQ_BASE_HI          0x0214u
#define REG_ACQ_SIZE             0x0218u
#define REG_AQ_TAIL_SEEN         0x021Cu
#define REG_EQ_TAIL              0x0240u
#define REG_EQ_LOST              0x0244u
#define REG_EQ_HEAD_SEEN         0x0248u

/* 4.3 Interrupt cause and mask. */
#define REG_INT_CAUSE            0x0280u
#define REG_INT_MASK             0x0284u
#define REG_INT_ACK              0x0288u
#define REG_HQ_INT_MASK_LO       0x028Cu
#define REG_HQ_INT_MASK_HI       0x0290u
#define DEVIF_INT_ADMIN          (1u << 0)
#define DEVIF_INT_EVENT          (1u << 1)
#define DEVIF_INT_FATAL          (1u << 2)
#define DEVIF_INT_RESET_DONE     (1u << 3)
#define DEVIF_INT_CTRLQ          (1u << 4)

/* 3.6 Port table. */
#define REG_PORT_TABLE           0x0400u
#define DEVIF_MAX_PORTS          64u
#define DEVIF_PORT_NONE          0xFFu
#define DEVIF_PORT_F_LINK        (1u << 0)
#define DEVIF_PORT_F_MTU_SET     (1u << 1)
struct devif_port_entry {
	uint8_t type;       /* 0 uplink, 1 port PF, 2 VF; 0xFF none */
	uint8_t index;      /* within its type */
	uint16_t flags;     /* DEVIF_PORT_F_* */
	uint16_t rid;       /* PCI routing id, 0 for an uplink */
	uint16_t mtu;
	uint8_t mac[6];
	uint16_t rsvd;
};

/* 4.1 Doorbells (BAR4). */
#define DB_AQ_TAIL               0x000u
#define DB_EQ_HEAD               0x004u
#define DB_CTRLQ_RX              0x008u
#define DB_CTRLQ_TX              0x00Cu
#define DB_HQ_RX(q)              (0x100u + 8u * (q))
#define DB_HQ_TX(q)              (0x104u + 8u * (q))

/* 5.3 and 12.1 timeouts, milliseconds. */
#define DEVIF_HANDSHAKE_MS       100u
#define DEVIF_RESET_MS           5000u
#define DEVIF_FW_RESET_MS        30000u
#define DEVIF_HEARTBEAT_MS       500u

/* 6.1 Submission entry. */
#define DEVIF_SQE_F_DATA         (1u << 0)
#define DEVIF_SQE_F_FENCE        (1u << 1)
struct devif_sqe {
	uint8_t opcode;
	uint8_t flags;
	uint16_t cid;
	uint32_t data_len;
	uint64_t data_addr;
	uint32_t count;
	uint32_t arg0, arg1, arg2;
	uint8_t inline_data[32];
};

/* 6.2 Completion entry. */
#define DEVIF_CQE_F_PHASE        (1u << 0)
#define DEVIF_NO_INDEX           0xFFFFFFFFu
struct devif_cqe {
	uint64_t result;
	uint32_t done;
	uint32_t failed;
	uint32_t first_failed;
	uint32_t detail;
	uint16_t cid;
	uint16_t sq_head;
	uint16_t rsvd;
	uint8_t status;
	uint8_t flags;       /* DEVIF_CQE_F_PHASE; written last */
};

/* 7 Opcodes. */
enum devif_opcode {
	DEVIF_OP_NOP = 0x00,
	DEVIF_OP_TABLE_CREATE = 0x01,
	DEVIF_OP_TABLE_DESTROY = 0x02,
	DEVIF_OP_ENTRY_ADD = 0x10,
	DEVIF_OP_ENTRY_DEL = 0x11,
	DEVIF_OP_ENTRY_MODIFY = 0x12,
	DEVIF_OP_COUNTER_READ = 0x13,
	DEVIF_OP_COUNTER_DUMP = 0x14,
	DEVIF_OP_PORT_QUERY = 0x20,
	DEVIF_OP_PORT_CONFIG = 0x21,
	DEVIF_OP_STATS_READ = 0x22,
	DEVIF_OP_BOND_CREATE = 0x30,
	DEVIF_OP_BOND_DESTROY = 0x31,
	DEVIF_OP_BOND_MEMBER = 0x32,
	DEVIF_OP_BOND_QUERY = 0x33,
	DEVIF_OP_PIPELINE_PAUSE = 0x40,
	DEVIF_OP_SOFT_RESET = 0x41,
	DEVIF_OP_TRACE = 0x42,
	DEVIF_OP_FW_BEGIN = 0x50,
	DEVIF_OP_FW_CHUNK = 0x51,
	DEVIF_OP_FW_COMMIT = 0x52,
	DEVIF_OP_EQ_SETUP = 0x60,
	DEVIF_OP_HOSTQ_SETUP = 0x61,
	DEVIF_OP_FUNC_QUERY = 0x62,
	/* 7.12 test harness (DEVIF_F_TEST_HARNESS) */
	DEVIF_OP_WIRE_INJECT = 0x70,
	DEVIF_OP_WIRE_CAPTURE = 0x71,
	DEVIF_OP_WIRE_RUN = 0x72,
	DEVIF_OP_LINK_SET = 0x73,
	DEVIF_OP_FAIL_OPS = 0x74,
	DEVIF_OP_REJECT_ACTIONS = 0x75,
	DEVIF_OP_FAULT = 0x76,
	DEVIF_OP_WIRE_ATTACH = 0x77,
};

/* 9 Status codes. */
enum devif_status {
	DEVIF_S_OK = 0x00,
	DEVIF_S_INVALID = 0x01,
	DEVIF_S_UNSUPPORTED = 0x02,
	DEVIF_S_NO_TABLE = 0x03,
	DEVIF_S_NO_ENTRY = 0x04,
	DEVIF_S_TABLE_FULL = 0x05,
	DEVIF_S_MASKS_FULL = 0x06,
	DEVIF_S_EXISTS = 0x07,
	DEVIF_S_ACTION_REFUSED = 0x08,
	DEVIF_S_RANGE = 0x09,
	DEVIF_S_NO_PORT = 0x0A,
	DEVIF_S_BUSY = 0x0B,
	DEVIF_S_NO_MEMORY = 0x0C,
	DEVIF_S_NO_BOND = 0x0D,
	DEVIF_S_CHECKSUM = 0x0E,
	DEVIF_S_INTERNAL = 0x0F,
	DEVIF_S_PARTIAL = 0x10,
	DEVIF_S_NO_COUNTER = 0x11,
	DEVIF_S_MAX = 0x11,
};

/* 7.2 TABLE_CREATE descriptor (176 bytes). */
#define DEVIF_TABLE_F_KEY_MASK   (1u << 0)
struct devif_table_desc {
	uint32_t id;
	uint8_t type;        /* 0 exact, 1 wildcard, 2 LPM */
	uint8_t miss;        /* 0 host, 1 next table, 2 drop */
	uint8_t n_fields;
	uint8_t key_bytes;
	uint32_t capacity;
	uint32_t priorities;
	uint32_t max_masks;
	uint16_t action_bytes;
	uint16_t flags;      /* DEVIF_TABLE_F_* */
	uint64_t actions;    /* bit per enum dpak_action_type */
	uint64_t fields;     /* bit per enum dpak_field */
	uint32_t aging_ms;
	uint32_t rsvd;
	char name[32];
	uint8_t field[32];   /* key order; unused 0xFF */
	uint8_t key_mask[64];
};

/* 7.3 Entry results and records. */
enum devif_detail_kind { DEVIF_DETAIL_NONE = 0, DEVIF_DETAIL_ACTION = 1,
			 DEVIF_DETAIL_FIELD = 2 };
struct devif_entry_result {
	uint8_t status;
	uint8_t detail_kind;
	uint16_t detail;
	uint32_t rsvd;
	uint64_t handle;
};
#define DEVIF_REC_F_MASK         (1u << 0)
#define DEVIF_REC_F_CARRY        (1u << 1)
struct devif_add_hdr {        /* followed by [carry], key, [mask], actions, pad */
	uint16_t len;
	uint8_t flags;
	uint8_t actions_len;
	uint32_t priority;
};
struct devif_carry {
	uint64_t packets, bytes, last_hit;
};
struct devif_modify_hdr {     /* followed by actions, pad */
	uint16_t len;
	uint8_t flags;
	uint8_t actions_len;
	uint32_t rsvd;
	uint64_t handle;
};

/* 7.4 Counters. */
struct devif_counter_result {
	uint64_t packets, bytes, last_hit;
	uint8_t status;
	uint8_t rsvd[7];
};
struct devif_counter_dump_rec {
	uint64_t handle, packets, bytes, last_hit;
};

/* 7.5 Ports. */
struct devif_port_rec {
	uint32_t port;
	uint8_t type, index, link, flags;  /* flags: bit 0 MTU settable, 1 admin down */
	uint16_t mtu, mtu_min, mtu_max;
	uint8_t mac[6];
	uint32_t speed;
	uint16_t q_first, q_n;
	uint32_t rsvd;
};
#define DEVIF_PCFG_MTU           (1u << 0)
#define DEVIF_PCFG_LINK          (1u << 1)
#define DEVIF_PCFG_MAC           (1u << 2)
#define DEVIF_PCFG_QUEUES        (1u << 3)
struct devif_port_config {     /* inline data */
	uint32_t valid;
	uint16_t mtu;
	uint8_t link_admin;
	uint8_t rsvd0;
	uint8_t mac[6];
	uint16_t q_first, q_n;
	uint8_t rsvd[14];
};
enum devif_stats_kind { DEVIF_STATS_PORTS = 0, DEVIF_STATS_HOSTQ = 1 };
struct devif_port_stats_rec {
	uint32_t port, rsvd;
	uint64_t rx_packets, rx_bytes, tx_packets, tx_bytes, rx_misses, drops,
		 drops_action, drops_mtu, drops_bond_rx;
};
struct devif_hostq_stats_rec {
	uint32_t queue, rsvd;
	uint64_t rx_packets, rx_drops, tx_packets;
};

/* 7.6 Bonds. */
#define DEVIF_BOND_ANY           0xFFFFFFFFu
#define DEVIF_BOND_F_FAILBACK    (1u << 0)
struct devif_bond_create {     /* inline data */
	uint8_t mode, hash, lacpdus, flags;
	uint32_t port;
	uint8_t rsvd[24];
};
enum devif_member_op { DEVIF_MEMBER_ADD = 0, DEVIF_MEMBER_REMOVE = 1,
		       DEVIF_MEMBER_ENABLE = 2, DEVIF_MEMBER_DISABLE = 3,
		       DEVIF_MEMBER_LACP = 4 };
struct devif_bond_member {     /* inline data */
	uint8_t op, actor, partner, rsvd0;
	uint8_t partner_system[6];
	uint8_t rsvd[22];
};
struct devif_bond_rec {
	uint32_t port;
	uint8_t mode, hash, lacpdus, flags;
	uint32_t n_members;
	uint32_t active;
	uint8_t rsvd[16];
};
struct devif_member_rec {
	uint32_t port;
	uint8_t link, in_use, active, enabled, actor, partner;
	uint8_t partner_system[6];
	uint64_t tx_packets, rx_packets, lacpdus_rx, lacpdus_tx;
};
#define DEVIF_BOND_QUERY_BYTES   800u

/* 7.8 Trace steps. */
#define DEVIF_TRACE_OUTCOME      0xFFFFFFFFu
#define DEVIF_TRACE_RX           0xFFFFFFFEu
struct devif_trace_step {
	uint32_t table;
	uint8_t hit, miss, fate, why;
	uint64_t handle;
	uint32_t arg;
	uint32_t rx_port;
	uint32_t member;
	uint16_t act_index;
	uint8_t act_type;
	uint8_t rsvd;
};

/* 7.10 Event queue setup (inline data). */
#define DEVIF_EQ_F_ENABLE        (1u << 0)
struct devif_eq_setup {
	uint64_t base;
	uint32_t size;
	uint16_t vector;
	uint16_t flags;
	uint32_t types;    /* bit per enum devif_event_type */
	uint8_t rsvd[12];
};

/* 7.11 Host queue setup (inline data). */
#define DEVIF_HQ_CTRL            0xFFFFu
#define DEVIF_HQ_DIR_RX          0u
#define DEVIF_HQ_DIR_TX          1u
#define DEVIF_HQ_F_ENABLE        (1u << 0)
#define DEVIF_HQ_F_EVENT_IDX     (1u << 1)
struct devif_hostq_setup {
	uint16_t queue;
	uint8_t dir;
	uint8_t flags;
	uint16_t size;
	uint16_t vector;
	uint64_t desc;
	uint64_t avail;
	uint64_t used;
};
struct devif_func_rec {
	uint32_t port;
	uint16_t rid;
	uint8_t status, rsvd0;
	uint64_t features;
	uint16_t queue_pairs;
	uint8_t rsvd[14];
};

/* 7.12 Test harness commands (DEVIF_F_TEST_HARNESS). */
enum devif_fault {             /* DEVIF_OP_FAULT arg0 */
	DEVIF_FAULT_NONE = 0,
	DEVIF_FAULT_NO_COMPLETION = 1, /* the next arg1 commands never complete */
	DEVIF_FAULT_GARBAGE_CQE = 2,   /* the next command's completion is garbage */
	DEVIF_FAULT_RESET_IN_BATCH = 3,/* reset by itself after arg1 records of the
					* next ENTRY_ADD batch */
	DEVIF_FAULT_RESET_NOW = 4,     /* reset by itself (RESET_REASON 1) after
					* completing this command */
	DEVIF_FAULT_STOP = 5,          /* stop answering: HEARTBEAT stops, no
					* command completes, until a reset */
	DEVIF_FAULT_DEAD = 6,          /* BAR0 reads all ones from now on */
	DEVIF_FAULT_GARBAGE_EVENT = 7, /* write one event of unknown type */
};

/* 8 Packed flow format: in lib/pack.h (shared with the core). */

/* 10 Event queue entry. */
enum devif_event_type {
	DEVIF_EV_LINK = 1, DEVIF_EV_AGED = 2, DEVIF_EV_BOND = 3,
	DEVIF_EV_ERROR = 4, DEVIF_EV_RESET = 5, DEVIF_EV_LOST = 6,
	DEVIF_EV_MAX = 6,
};
#define DEVIF_EV_F_PHASE         (1u << 0)
struct devif_event {
	uint64_t time;
	uint8_t payload[20];
	uint16_t seq;
	uint8_t type;
	uint8_t flags;     /* DEVIF_EV_F_PHASE; written last */
};
struct devif_ev_link { uint32_t port; uint8_t up, rsvd[3]; uint32_t speed; };
struct devif_ev_reset { uint32_t reason, count, phase; };

/* 11.3 Metadata header in front of every host-queue packet. */
#define DEVIF_META_VERSION       1u
#define DEVIF_META_BYTES         32u
struct devif_meta {
	/* struct virtio_net_hdr (virtio 1.2 5.1.6) with num_buffers */
	uint8_t vnet_flags, vnet_gso_type;
	uint16_t vnet_hdr_len, vnet_gso_size, vnet_csum_start, vnet_csum_offset,
		 vnet_num_buffers;
	uint32_t port;
	uint32_t mark;
	uint32_t hash;
	uint16_t reason_or_flags;
	uint16_t table;
	uint8_t version;
	uint8_t rsvd0;
	uint16_t rsvd1;
};
#define DEVIF_REASON_CTRL        0x80u /* control queue: an LACPDU for the library */

/* virtio 1.2 2.7 split virtqueue layout (the data rings, section 11). */
#define VRING_DESC_F_NEXT        1u
#define VRING_DESC_F_WRITE       2u
#define VRING_DESC_F_INDIRECT    4u /* not used by the host rings (11.2) */
#define VRING_AVAIL_F_NO_INTERRUPT 1u
#define VRING_USED_F_NO_NOTIFY   1u
struct devif_vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};
struct devif_vring_used_elem {
	uint32_t id;
	uint32_t len;
};
/* avail: u16 flags, u16 idx, u16 ring[size], u16 used_event
 * used:  u16 flags, u16 idx, struct devif_vring_used_elem ring[size], u16 avail_event */
#define DEVIF_VRING_AVAIL_BYTES(n) (6u + 2u * (n))
#define DEVIF_VRING_USED_BYTES(n)  (6u + 8u * (n))

#define DEVIF_ASSERT_SIZE(t, n) _Static_assert(sizeof(t) == (n), #t " is " #n " bytes")
DEVIF_ASSERT_SIZE(struct devif_port_entry, 16);
DEVIF_ASSERT_SIZE(struct devif_sqe, 64);
DEVIF_ASSERT_SIZE(struct devif_cqe, 32);
DEVIF_ASSERT_SIZE(struct devif_table_desc, 176);
DEVIF_ASSERT_SIZE(struct devif_entry_result, 16);
DEVIF_ASSERT_SIZE(struct devif_add_hdr, 8);
DEVIF_ASSERT_SIZE(struct devif_carry, 24);
DEVIF_ASSERT_SIZE(struct devif_modify_hdr, 16);
DEVIF_ASSERT_SIZE(struct devif_counter_result, 32);
DEVIF_ASSERT_SIZE(struct devif_counter_dump_rec, 32);
DEVIF_ASSERT_SIZE(struct devif_port_rec, 32);
DEVIF_ASSERT_SIZE(struct devif_port_config, 32);
DEVIF_ASSERT_SIZE(struct devif_port_stats_rec, 80);
DEVIF_ASSERT_SIZE(struct devif_hostq_stats_rec, 32);
DEVIF_ASSERT_SIZE(struct devif_bond_create, 32);
DEVIF_ASSERT_SIZE(struct devif_bond_member, 32);
DEVIF_ASSERT_SIZE(struct devif_bond_rec, 32);
DEVIF_ASSERT_SIZE(struct devif_member_rec, 48);
DEVIF_ASSERT_SIZE(struct devif_trace_step, 32);
DEVIF_ASSERT_SIZE(struct devif_eq_setup, 32);
DEVIF_ASSERT_SIZE(struct devif_hostq_setup, 32);
DEVIF_ASSERT_SIZE(struct devif_func_rec, 32);
DEVIF_ASSERT_SIZE(struct devif_event, 32);
DEVIF_ASSERT_SIZE(struct devif_meta, 32);
DEVIF_ASSERT_SIZE(struct devif_vring_desc, 16);
_Static_assert(offsetof(struct devif_cqe, status) == 0x1E, "cqe status at 0x1E");
_Static_assert(offsetof(struct devif_table_desc, key_mask) == 0x70, "key_mask at 0x70");
_Static_assert(offsetof(struct devif_port_rec, q_first) == 0x18, "q_first at 0x18");
_Static_assert(offsetof(struct devif_meta, port) == 0x0C, "meta port at 0x0C");
_Static_assert(offsetof(struct devif_member_rec, tx_packets) == 0x10, "member tx at 0x10");
_Static_assert(offsetof(struct devif_hostq_setup, desc) == 0x08, "hq desc at 0x08");

/* 13 The hwsim transport: one shared-memory file (a memfd) holding the
 * BARs, the configuration space and the DMA window, handed with one
 * eventfd per MSI-X vector over a Unix socket (SCM_RIGHTS). */
#define DEVIF_SHM_BAR0           0x000000u
#define DEVIF_SHM_BAR2           0x010000u
#define DEVIF_SHM_BAR4           0x012000u
#define DEVIF_SHM_CFG            0x013000u
#define DEVIF_SHM_DMA            0x100000u   /* DMA window offset in the file */
#define DEVIF_SHM_DMA_IOVA       0x100000000ull /* bus address of its first byte */
#define DEVIF_SHM_DMA_DEFAULT    (1ull << 30) /* sparse: pages cost only once touched */
/* The socket: <dir>/<bdf>.sock, dir = $DPAK_HWSIM_PCI_DIR or this. */
#define DEVIF_SHM_DIR_DEFAULT    "/run/dpak-hwsim-pci"
#define DEVIF_HELLO_MAGIC        0x4F4C4548u /* "HELO" */
#define DEVIF_HELLO_VERSION      1u
/* The device's one message, sent on accept, with fds [memfd, vector 0 ..
 * n_vectors-1 eventfds] when status is 0. status != 0 (a positive errno:
 * EBUSY when another driver holds the device) carries no fds. The device
 * serves one driver at a time; when its connection closes the device
 * resets itself (as a function-level reset when the driver's process
 * ends), so the next driver starts from a clean device. */
struct devif_hello {
	uint32_t magic, version;
	uint32_t status, n_vectors;
	uint64_t shm_size;
	uint64_t dma_offset, dma_len, dma_iova;
	char bdf[16];
};
DEVIF_ASSERT_SIZE(struct devif_hello, 64);

#endif
