/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user protocol, device (backend) side: one session over a
 * connected Unix stream socket. A message is read (vhu_recv), checked
 * strictly (vhu_parse: header, version, flags, payload size for the
 * request, file descriptors per request) and applied to the session's
 * state (vhu_handle): features, protocol features, the memory table, the
 * vrings and their eventfds; replies are written to the socket.
 *
 * The frontend is not trusted: every region of the memory table and every
 * ring address is checked (overflow-safe) before use; a refused message
 * changes nothing and is counted in the session's error counters.
 *
 * Guest addresses are translated through the memory table by vhu_gpa_map,
 * which the session's translator (vhu_session.x) offers to vring.h, so a
 * ring set up over vhost-user is walked by the device side of
 * lib/backends/pci/vring.c. A started ring points at that translator: the
 * session must not move while rings run.
 * Only split rings; live migration (SET_LOG_BASE, SET_LOG_FD) is refused.
 *
 * The reads block: a session is served by a control thread, never by the
 * data path. One thread per session.
 */
#ifndef DPAK_HWSIM_VHOST_USER_H
#define DPAK_HWSIM_VHOST_USER_H

#include <stddef.h>
#include <stdint.h>
#include "backends/pci/vring.h"

/* Requests (front end to back end). */
enum vhu_request {
	VHU_GET_FEATURES = 1,
	VHU_SET_FEATURES = 2,
	VHU_SET_OWNER = 3,
	VHU_RESET_OWNER = 4,
	VHU_SET_MEM_TABLE = 5,
	VHU_SET_LOG_BASE = 6,
	VHU_SET_LOG_FD = 7,
	VHU_SET_VRING_NUM = 8,
	VHU_SET_VRING_ADDR = 9,
	VHU_SET_VRING_BASE = 10,
	VHU_GET_VRING_BASE = 11,
	VHU_SET_VRING_KICK = 12,
	VHU_SET_VRING_CALL = 13,
	VHU_SET_VRING_ERR = 14,
	VHU_GET_PROTOCOL_FEATURES = 15,
	VHU_SET_PROTOCOL_FEATURES = 16,
	VHU_GET_QUEUE_NUM = 17,
	VHU_SET_VRING_ENABLE = 18,
};

/* Header flags. */
#define VHU_VERSION_MASK   0x3u
#define VHU_VERSION        0x1u
#define VHU_FLAG_REPLY     0x4u
#define VHU_FLAG_NEED_REPLY 0x8u

/* SET_VRING_KICK/CALL/ERR payload: the ring index and the "no fd" bit. */
#define VHU_VRING_IDX_MASK 0xffull
#define VHU_VRING_NOFD     0x100ull

/* Feature bits (virtio 1.2; vhost-user). */
#define VHU_F_NET_MRG_RXBUF     15
#define VHU_F_NET_MQ            22
#define VHU_F_RING_INDIRECT     28
#define VHU_F_RING_EVENT_IDX    29
#define VHU_F_PROTOCOL_FEATURES 30
#define VHU_F_VERSION_1         32
#define VHU_PF_MQ               0
#define VHU_PF_REPLY_ACK        3

/* What this back end offers. With VIRTIO_RING_F_INDIRECT_DESC acked the
 * rings walk indirect tables (vring_dev_set_indirect). */
#define VHU_FEATURES ((1ull << VHU_F_VERSION_1) | (1ull << VHU_F_NET_MRG_RXBUF) | \
		      (1ull << VHU_F_NET_MQ) | (1ull << VHU_F_RING_EVENT_IDX) |   \
		      (1ull << VHU_F_RING_INDIRECT) | (1ull << VHU_F_PROTOCOL_FEATURES))
#define VHU_PROTOCOL_FEATURES ((1ull << VHU_PF_MQ) | (1ull << VHU_PF_REPLY_ACK))

#define VHU_HDR_SIZE     12u
#define VHU_MAX_FDS      8u
#define VHU_MAX_REGIONS  8u
#define VHU_MAX_QUEUES   16u            /* 8 queue pairs */
#define VHU_MAX_PAYLOAD  4096u          /* larger: the stream is refused */

struct vhu_region_msg {
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t mmap_offset;
};
struct vhu_state_msg {
	uint32_t index;
	uint32_t num;
};
struct vhu_addr_msg {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;      /* front end's user addresses */
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

/* One message as read: header, payload, descriptors received (owned by
 * the message until vhu_handle takes or closes them). */
struct vhu_msg {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
	union {
		uint64_t u64;
		struct vhu_state_msg state;
		struct vhu_addr_msg addr;
		struct {
			uint32_t nregions;
			uint32_t padding;
			struct vhu_region_msg region[VHU_MAX_REGIONS];
		} mem;
		uint8_t raw[VHU_MAX_PAYLOAD];
	} p;
	int fds[VHU_MAX_FDS];
	unsigned nfds;
};

struct vhu_region {
	uint64_t gpa, size, uva;
	uint8_t *host;          /* gpa's host address */
	void *map;              /* the mapping (from offset 0 of the fd) */
	size_t map_len;
};

struct vhu_vq {
	uint32_t num;           /* 0: not set */
	int addr_set;
	uint64_t desc, avail, used; /* guest-physical */
	uint16_t base;          /* the next avail index to process at start */
	int kick_fd, call_fd, err_fd;
	int enabled;
	int started;
	struct vring_dev dev;
};

/* Refusals, by reason. */
struct vhu_errors {
	uint64_t header;        /* truncated, bad version/flags, payload too large */
	uint64_t size;          /* payload size does not fit the request */
	uint64_t unknown;       /* request not known */
	uint64_t fds;           /* wrong number of descriptors (or more than 8) */
	uint64_t region;        /* memory table: bad, overlapping, wrapping, unmappable */
	uint64_t addr;          /* a ring address outside every region */
	uint64_t ring;          /* ring index, size, state */
	uint64_t refused;       /* known and refused: features not offered,
				   live migration, no owner, ... */
	uint64_t total;
};

struct vhu_session {
	int fd;                 /* connected socket; -1: replies dropped */
	int owner;
	uint64_t features;      /* acked */
	uint64_t protocol_features;
	int features_set;
	struct vhu_region reg[VHU_MAX_REGIONS];
	unsigned nregions;
	struct vhu_vq vq[VHU_MAX_QUEUES];
	struct vring_xlate x;
	struct vhu_errors err;
	uint64_t messages;      /* applied */
};

void vhu_init(struct vhu_session *s, int fd);
/* Unmap the memory, close the eventfds (not the socket). */
void vhu_fini(struct vhu_session *s);

/* Read one message: 0, -ENOTCONN at end of stream before a header, or a
 * refusal (counted): -EBADMSG (truncated, bad header, too large: the
 * stream cannot be trusted further), -E2BIG (more than 8 descriptors). */
int vhu_recv(struct vhu_session *s, struct vhu_msg *m);
/* Check a message's header, size and descriptor count for its request:
 * 0, -EBADMSG (header), -EMSGSIZE (size), -ENOSYS (unknown request),
 * -EBADF (descriptor count). Counts the refusal in @s when not NULL. */
int vhu_check(struct vhu_session *s, const struct vhu_msg *m);
/* Parse @len bytes (a header then its payload) with @nfds descriptors
 * into @m: the errors of vhu_check. For the fuzzer and tests. */
int vhu_parse(struct vhu_session *s, const void *buf, size_t len,
	      const int *fds, unsigned nfds, struct vhu_msg *m);
/* Check and apply a message, write the reply (if any): 0 or a negative
 * errno (counted). Takes ownership of the message's descriptors. */
int vhu_handle(struct vhu_session *s, struct vhu_msg *m);
/* vhu_recv then vhu_handle. */
int vhu_serve_one(struct vhu_session *s);

/* Guest-physical address to host pointer: NULL unless all of
 * [gpa, gpa + len) lies inside one region. */
void *vhu_gpa_map(void *session, uint64_t gpa, size_t len);
/* The front end's user address to guest-physical: 0 with *gpa when all of
 * [uva, uva + len) lies inside one region, else -EFAULT. */
int vhu_uva_to_gpa(const struct vhu_session *s, uint64_t uva, uint64_t len,
		   uint64_t *gpa);
/* The ring @idx when started, else NULL. */
struct vring_dev *vhu_vring(struct vhu_session *s, unsigned idx);

#endif
