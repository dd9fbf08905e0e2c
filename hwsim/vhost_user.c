/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user protocol, device side (see vhost_user.h). Message
 * numbers and payload layouts are those of the vhost-user specification.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include "vhost_user.h"
#include "core.h"

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

static void close_msg_fds(struct vhu_msg *m)
{
	for (unsigned i = 0; i < m->nfds && i < VHU_MAX_FDS; i++)
		close_fd(&m->fds[i]);
	m->nfds = 0;
}

void vhu_init(struct vhu_session *s, int fd)
{
	memset(s, 0, sizeof(*s));
	s->fd = fd;
	for (unsigned i = 0; i < VHU_MAX_QUEUES; i++) {
		s->vq[i].kick_fd = s->vq[i].call_fd = s->vq[i].err_fd = -1;
	}
	s->x.map = vhu_gpa_map;
	s->x.ctx = s;
}

static void unmap_regions(struct vhu_region *r, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (r[i].map)
			munmap(r[i].map, r[i].map_len);
}

static void vq_reset(struct vhu_vq *q)
{
	close_fd(&q->kick_fd);
	close_fd(&q->call_fd);
	close_fd(&q->err_fd);
	memset(q, 0, sizeof(*q));
	q->kick_fd = q->call_fd = q->err_fd = -1;
}

void vhu_fini(struct vhu_session *s)
{
	unmap_regions(s->reg, s->nregions);
	s->nregions = 0;
	for (unsigned i = 0; i < VHU_MAX_QUEUES; i++)
		vq_reset(&s->vq[i]);
}

/* ---- address translation ------------------------------------------------ */

static int inside(uint64_t start, uint64_t size, uint64_t a, uint64_t len)
{
	return a >= start && a - start <= size && len <= size - (a - start);
}

void *vhu_gpa_map(void *session, uint64_t gpa, size_t len)
{
	struct vhu_session *s = session;

	for (unsigned i = 0; i < s->nregions; i++) {
		const struct vhu_region *r = &s->reg[i];
		if (inside(r->gpa, r->size, gpa, len))
			return r->host + (gpa - r->gpa);
	}
	return NULL;
}

int vhu_uva_to_gpa(const struct vhu_session *s, uint64_t uva, uint64_t len,
		   uint64_t *gpa)
{
	for (unsigned i = 0; i < s->nregions; i++) {
		const struct vhu_region *r = &s->reg[i];
		if (inside(r->uva, r->size, uva, len)) {
			*gpa = r->gpa + (uva - r->uva);
			return 0;
		}
	}
	return -EFAULT;
}

struct vring_dev *vhu_vring(struct vhu_session *s, unsigned idx)
{
	if (idx >= VHU_MAX_QUEUES || !s->vq[idx].started)
		return NULL;
	return &s->vq[idx].dev;
}

/* ---- reading and checking ------------------------------------------------ */

static int refuse(struct vhu_session *s, uint64_t *counter, int err,
		  const char *fmt, uint32_t a, unsigned long long b)
{
	if (s) {
		(*counter)++;
		s->err.total++;
	}
	return dpak__err(-err, fmt, a, b);
}

/* The payload size a request needs: 0.. fixed, -1 variable (memory
 * table), -2 unknown, -3 any (a request refused as such). */
static long payload_size(uint32_t req)
{
	switch (req) {
	case VHU_GET_FEATURES: case VHU_SET_OWNER: case VHU_RESET_OWNER:
	case VHU_GET_PROTOCOL_FEATURES: case VHU_GET_QUEUE_NUM:
		return 0;
	case VHU_SET_FEATURES: case VHU_SET_PROTOCOL_FEATURES:
	case VHU_SET_VRING_KICK: case VHU_SET_VRING_CALL: case VHU_SET_VRING_ERR:
		return 8;
	case VHU_SET_LOG_BASE: case VHU_SET_LOG_FD:
		return -3; /* refused whatever they hold */
	case VHU_SET_VRING_NUM: case VHU_SET_VRING_BASE: case VHU_GET_VRING_BASE:
	case VHU_SET_VRING_ENABLE:
		return (long)sizeof(struct vhu_state_msg);
	case VHU_SET_VRING_ADDR:
		return (long)sizeof(struct vhu_addr_msg);
	case VHU_SET_MEM_TABLE:
		return -1;
	default:
		return -2;
	}
}

int vhu_check(struct vhu_session *s, const struct vhu_msg *m)
{
	uint64_t *c;
	long want = payload_size(m->request);
	unsigned fds = 0;

	c = s ? &s->err.header : NULL;
	if ((m->flags & VHU_VERSION_MASK) != VHU_VERSION ||
	    (m->flags & ~(VHU_VERSION_MASK | VHU_FLAG_NEED_REPLY)))
		return refuse(s, c, -EBADMSG,
			      "vhost-user: request %u: bad flags 0x%llx", m->request,
			      m->flags);
	if (m->size > VHU_MAX_PAYLOAD)
		return refuse(s, c, -EBADMSG,
			      "vhost-user: request %u: payload of %llu bytes too large",
			      m->request, m->size);
	if (want == -2)
		return refuse(s, s ? &s->err.unknown : NULL, -ENOSYS,
			      "vhost-user: unknown request %u (size %llu)", m->request,
			      m->size);
	if (want == -3)
		return 0;
	c = s ? &s->err.size : NULL;
	if (want == -1) {
		if (m->size < 8)
			return refuse(s, c, -EMSGSIZE,
				      "vhost-user: request %u: memory table of %llu bytes",
				      m->request, m->size);
		uint32_t n = m->p.mem.nregions;
		if (n == 0 || n > VHU_MAX_REGIONS ||
		    m->size != 8 + n * sizeof(struct vhu_region_msg))
			return refuse(s, c, -EMSGSIZE,
				      "vhost-user: request %u: memory table size %llu does "
				      "not fit its region count", m->request, m->size);
		fds = n;
	} else if (m->size != (uint64_t)want) {
		return refuse(s, c, -EMSGSIZE,
			      "vhost-user: request %u: payload of %llu bytes, wrong size",
			      m->request, m->size);
	}
	if (m->request == VHU_SET_VRING_KICK || m->request == VHU_SET_VRING_CALL ||
	    m->request == VHU_SET_VRING_ERR)
		fds = (m->p.u64 & VHU_VRING_NOFD) ? 0 : 1;
	if (m->nfds != fds)
		return refuse(s, s ? &s->err.fds : NULL, -EBADF,
			      "vhost-user: request %u: %llu file descriptors, wrong count",
			      m->request, m->nfds);
	return 0;
}

int vhu_parse(struct vhu_session *s, const void *buf, size_t len,
	      const int *fds, unsigned nfds, struct vhu_msg *m)
{
	const uint8_t *b = buf;

	memset(m, 0, offsetof(struct vhu_msg, fds));
	m->nfds = 0;
	if (len < VHU_HDR_SIZE)
		return refuse(s, s ? &s->err.header : NULL, -EBADMSG,
			      "vhost-user: truncated header (%u bytes)%.0llu",
			      (uint32_t)len, 0);
	memcpy(&m->request, b, 4);
	memcpy(&m->flags, b + 4, 4);
	memcpy(&m->size, b + 8, 4);
	if (nfds > VHU_MAX_FDS)
		return refuse(s, s ? &s->err.fds : NULL, -E2BIG,
			      "vhost-user: request %u: %llu file descriptors",
			      m->request, nfds);
	m->nfds = nfds;
	for (unsigned i = 0; i < nfds; i++)
		m->fds[i] = fds[i];
	if (m->size > VHU_MAX_PAYLOAD || len - VHU_HDR_SIZE != m->size) {
		m->nfds = 0;
		return refuse(s, s ? &s->err.header : NULL, -EBADMSG,
			      "vhost-user: request %u: payload of %llu bytes, truncated "
			      "or too large", m->request, m->size);
	}
	memcpy(m->p.raw, b + VHU_HDR_SIZE, m->size);
	int r = vhu_check(s, m);
	if (r)
		m->nfds = 0; /* the caller still owns them */
	return r;
}

static ssize_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, (uint8_t *)buf + got, len - got, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

int vhu_recv(struct vhu_session *s, struct vhu_msg *m)
{
	uint8_t hdr[VHU_HDR_SIZE];
	union {
		char buf[CMSG_SPACE(VHU_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	struct iovec iov = { hdr, sizeof(hdr) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	ssize_t n;

	memset(m, 0, offsetof(struct vhu_msg, fds));
	m->nfds = 0;
	do
		n = recvmsg(s->fd, &mh, MSG_CMSG_CLOEXEC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return dpak__err(errno, "vhost-user: receiving a message: %s",
				 strerror(errno));
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (m->nfds < VHU_MAX_FDS)
				m->fds[m->nfds++] = fd;
			else
				close(fd);
		}
	}
	if (n == 0 && !m->nfds)
		return -ENOTCONN;
	if ((size_t)n < sizeof(hdr)) {
		ssize_t r = read_full(s->fd, hdr + n, sizeof(hdr) - (size_t)n);
		if (r < 0 || (size_t)n + (size_t)r < sizeof(hdr)) {
			close_msg_fds(m);
			return refuse(s, &s->err.header, -EBADMSG,
				      "vhost-user: truncated header (%u bytes)%.0llu",
				      (uint32_t)n, 0);
		}
	}
	memcpy(&m->request, hdr, 4);
	memcpy(&m->flags, hdr + 4, 4);
	memcpy(&m->size, hdr + 8, 4);
	if (m->size > VHU_MAX_PAYLOAD) {
		close_msg_fds(m);
		return refuse(s, &s->err.header, -EBADMSG,
			      "vhost-user: request %u: payload of %llu bytes too large",
			      m->request, m->size);
	}
	if (m->size) {
		ssize_t r = read_full(s->fd, m->p.raw, m->size);
		if (r != (ssize_t)m->size) {
			close_msg_fds(m);
			return refuse(s, &s->err.header, -EBADMSG,
				      "vhost-user: request %u: truncated payload of %llu bytes",
				      m->request, m->size);
		}
	}
	/* Refused after the payload was read: the stream stays in step. */
	if (mh.msg_flags & MSG_CTRUNC) {
		close_msg_fds(m);
		return refuse(s, &s->err.fds, -E2BIG,
			      "vhost-user: request %u: more than 8 file descriptors%.0llu",
			      m->request, 0);
	}
	return 0;
}

/* ---- applying -------------------------------------------------------------- */

static int send_reply(struct vhu_session *s, const struct vhu_msg *m,
		      const void *payload, uint32_t size)
{
	uint8_t buf[VHU_HDR_SIZE + 64];
	uint32_t flags = VHU_VERSION | VHU_FLAG_REPLY;

	if (s->fd < 0 || size > 64)
		return 0;
	memcpy(buf, &m->request, 4);
	memcpy(buf + 4, &flags, 4);
	memcpy(buf + 8, &size, 4);
	memcpy(buf + VHU_HDR_SIZE, payload, size);
	size_t len = VHU_HDR_SIZE + size, off = 0;
	while (off < len) {
		ssize_t n = send(s->fd, buf + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return dpak__err(errno ? errno : EPIPE, "vhost-user: request %u: sending the reply: %s",
					 m->request, strerror(errno));
		off += (size_t)n;
	}
	return 0;
}

static int vq_index(struct vhu_session *s, uint32_t req, uint64_t idx)
{
	if (idx >= VHU_MAX_QUEUES)
		return refuse(s, &s->err.ring, -EINVAL,
			      "vhost-user: request %u: ring index %llu out of range",
			      req, idx);
	return 0;
}

/* Map the ring over the current memory table and start it at its base. */
static int vq_start(struct vhu_session *s, unsigned i, uint32_t req)
{
	struct vhu_vq *q = &s->vq[i];
	int ev = !!(s->features & (1ull << VHU_F_RING_EVENT_IDX));

	if (!q->num || !q->addr_set)
		return refuse(s, &s->err.ring, -EINVAL,
			      "vhost-user: request %u: ring %llu has no size or address",
			      req, i);
	struct vring_dev d;
	int r = vring_dev_init(&d, &s->x, q->num, q->desc, q->avail, q->used, ev);
	if (r)
		return refuse(s, r == -EFAULT ? &s->err.addr : &s->err.ring, r,
			      "vhost-user: request %u: ring %llu outside the memory table "
			      "or misaligned", req, i);
	vring_dev_set_indirect(&d, !!(s->features & (1ull << VHU_F_RING_INDIRECT)));
	d.last_avail = q->base;
	d.used_idx = q->base;
	q->dev = d;
	q->started = 1;
	return 0;
}

static int set_mem_table(struct vhu_session *s, struct vhu_msg *m)
{
	struct vhu_region nr[VHU_MAX_REGIONS];
	uint32_t n = m->p.mem.nregions;
	unsigned mapped = 0;
	int r = 0;

	memset(nr, 0, sizeof(nr));
	for (uint32_t i = 0; i < n && !r; i++) {
		const struct vhu_region_msg *g = &m->p.mem.region[i];
		uint64_t end;
		if (!g->memory_size ||
		    __builtin_add_overflow(g->guest_phys_addr, g->memory_size - 1, &end) ||
		    __builtin_add_overflow(g->userspace_addr, g->memory_size - 1, &end) ||
		    __builtin_add_overflow(g->mmap_offset, g->memory_size, &end) ||
		    end > SIZE_MAX) {
			r = refuse(s, &s->err.region, -EINVAL,
				   "vhost-user: memory table: region %u (size %llu) wraps or "
				   "is empty", i, g->memory_size);
			break;
		}
		for (uint32_t j = 0; j < i; j++) {
			const struct vhu_region_msg *h = &m->p.mem.region[j];
			if ((g->guest_phys_addr <= h->guest_phys_addr + (h->memory_size - 1) &&
			     h->guest_phys_addr <= g->guest_phys_addr + (g->memory_size - 1)) ||
			    (g->userspace_addr <= h->userspace_addr + (h->memory_size - 1) &&
			     h->userspace_addr <= g->userspace_addr + (g->memory_size - 1))) {
				r = refuse(s, &s->err.region, -EINVAL,
					   "vhost-user: memory table: region %u overlaps "
					   "region %llu", i, j);
				break;
			}
		}
		if (r)
			break;
		void *p = mmap(NULL, (size_t)end, PROT_READ | PROT_WRITE, MAP_SHARED,
			       m->fds[i], 0);
		if (p == MAP_FAILED) {
			r = refuse(s, &s->err.region, -errno,
				   "vhost-user: memory table: region %u: cannot map %llu "
				   "bytes", i, end);
			break;
		}
		nr[i] = (struct vhu_region){ .gpa = g->guest_phys_addr,
					     .size = g->memory_size,
					     .uva = g->userspace_addr,
					     .host = (uint8_t *)p + g->mmap_offset,
					     .map = p, .map_len = (size_t)end };
		mapped++;
	}
	close_msg_fds(m);
	if (r) {
		unmap_regions(nr, mapped);
		return r;
	}
	/* The rings started keep their indices over the new table; one that
	 * no longer fits is stopped. */
	struct vhu_region old[VHU_MAX_REGIONS];
	unsigned nold = s->nregions;
	memcpy(old, s->reg, sizeof(old));
	memcpy(s->reg, nr, sizeof(nr));
	s->nregions = n;
	for (unsigned i = 0; i < VHU_MAX_QUEUES; i++) {
		struct vhu_vq *q = &s->vq[i];
		if (!q->started)
			continue;
		q->base = q->dev.last_avail;
		q->started = 0;
		uint16_t used = q->dev.used_idx;
		if (vq_start(s, i, m->request) == 0)
			q->dev.used_idx = used;
	}
	unmap_regions(old, nold);
	return 0;
}

static int handle(struct vhu_session *s, struct vhu_msg *m, int *replied)
{
	uint32_t req = m->request;
	struct vhu_vq *q;
	int r;

	switch (req) {
	case VHU_GET_FEATURES: {
		uint64_t f = VHU_FEATURES;
		*replied = 1;
		return send_reply(s, m, &f, 8);
	}
	case VHU_SET_FEATURES:
		if (m->p.u64 & ~VHU_FEATURES)
			return refuse(s, &s->err.refused, -ENOTSUP,
				      "vhost-user: request %u: features 0x%llx not offered",
				      req, m->p.u64 & ~VHU_FEATURES);
		s->features = m->p.u64;
		s->features_set = 1;
		return 0;
	case VHU_GET_PROTOCOL_FEATURES: {
		uint64_t f = VHU_PROTOCOL_FEATURES;
		*replied = 1;
		return send_reply(s, m, &f, 8);
	}
	case VHU_SET_PROTOCOL_FEATURES:
		if (m->p.u64 & ~VHU_PROTOCOL_FEATURES)
			return refuse(s, &s->err.refused, -ENOTSUP,
				      "vhost-user: request %u: protocol features 0x%llx not "
				      "offered", req, m->p.u64 & ~VHU_PROTOCOL_FEATURES);
		s->protocol_features = m->p.u64;
		return 0;
	case VHU_SET_OWNER:
		s->owner = 1;
		return 0;
	case VHU_RESET_OWNER:
		for (unsigned i = 0; i < VHU_MAX_QUEUES; i++)
			vq_reset(&s->vq[i]);
		s->owner = 0;
		s->features = 0;
		s->features_set = 0;
		return 0;
	case VHU_GET_QUEUE_NUM: {
		uint64_t n = VHU_MAX_QUEUES / 2;
		*replied = 1;
		return send_reply(s, m, &n, 8);
	}
	case VHU_SET_MEM_TABLE:
		return set_mem_table(s, m);
	case VHU_SET_LOG_BASE:
	case VHU_SET_LOG_FD:
		close_msg_fds(m);
		return refuse(s, &s->err.refused, -ENOTSUP,
			      "vhost-user: request %u: live migration is not supported%.0llu",
			      req, 0);
	case VHU_SET_VRING_NUM:
		if ((r = vq_index(s, req, m->p.state.index)))
			return r;
		q = &s->vq[m->p.state.index];
		if (q->started)
			return refuse(s, &s->err.ring, -EBUSY,
				      "vhost-user: request %u: ring %llu is running", req,
				      m->p.state.index);
		if (!vring_size_ok(m->p.state.num))
			return refuse(s, &s->err.ring, -EINVAL,
				      "vhost-user: request %u: ring size %llu is not a power "
				      "of two up to 32768", req, m->p.state.num);
		q->num = m->p.state.num;
		return 0;
	case VHU_SET_VRING_ADDR: {
		const struct vhu_addr_msg *a = &m->p.addr;
		uint64_t desc, avail, used;
		if ((r = vq_index(s, req, a->index)))
			return r;
		q = &s->vq[a->index];
		if (q->started)
			return refuse(s, &s->err.ring, -EBUSY,
				      "vhost-user: request %u: ring %llu is running", req,
				      a->index);
		if (!q->num)
			return refuse(s, &s->err.ring, -EINVAL,
				      "vhost-user: request %u: ring %llu has no size", req,
				      a->index);
		if (a->flags)
			return refuse(s, &s->err.refused, -ENOTSUP,
				      "vhost-user: request %u: ring %llu: logging is not "
				      "supported", req, a->index);
		if (vhu_uva_to_gpa(s, a->desc, vring_desc_bytes(q->num), &desc) ||
		    vhu_uva_to_gpa(s, a->avail, vring_avail_bytes(q->num), &avail) ||
		    vhu_uva_to_gpa(s, a->used, vring_used_bytes(q->num), &used))
			return refuse(s, &s->err.addr, -EFAULT,
				      "vhost-user: request %u: ring %llu: an address is "
				      "outside every memory region", req, a->index);
		q->desc = desc;
		q->avail = avail;
		q->used = used;
		q->addr_set = 1;
		return 0;
	}
	case VHU_SET_VRING_BASE:
		if ((r = vq_index(s, req, m->p.state.index)))
			return r;
		q = &s->vq[m->p.state.index];
		if (q->started)
			return refuse(s, &s->err.ring, -EBUSY,
				      "vhost-user: request %u: ring %llu is running", req,
				      m->p.state.index);
		if (m->p.state.num > UINT16_MAX)
			return refuse(s, &s->err.ring, -EINVAL,
				      "vhost-user: request %u: base %llu above 65535", req,
				      m->p.state.num);
		q->base = (uint16_t)m->p.state.num;
		return 0;
	case VHU_GET_VRING_BASE: {
		if ((r = vq_index(s, req, m->p.state.index)))
			return r;
		q = &s->vq[m->p.state.index];
		struct vhu_state_msg st = { m->p.state.index,
					    q->started ? q->dev.last_avail : q->base };
		q->base = (uint16_t)st.num;
		q->started = 0;
		q->enabled = 0;
		close_fd(&q->kick_fd);
		*replied = 1;
		return send_reply(s, m, &st, sizeof(st));
	}
	case VHU_SET_VRING_KICK:
	case VHU_SET_VRING_CALL:
	case VHU_SET_VRING_ERR: {
		uint64_t idx = m->p.u64 & VHU_VRING_IDX_MASK;
		int fd = m->nfds ? m->fds[0] : -1;
		if (m->p.u64 & ~(VHU_VRING_IDX_MASK | VHU_VRING_NOFD)) {
			close_msg_fds(m);
			return refuse(s, &s->err.ring, -EINVAL,
				      "vhost-user: request %u: reserved bits in 0x%llx",
				      req, m->p.u64);
		}
		if ((r = vq_index(s, req, idx))) {
			close_msg_fds(m);
			return r;
		}
		q = &s->vq[idx];
		m->nfds = 0;
		if (req == VHU_SET_VRING_CALL) {
			close_fd(&q->call_fd);
			q->call_fd = fd;
			return 0;
		}
		if (req == VHU_SET_VRING_ERR) {
			close_fd(&q->err_fd);
			q->err_fd = fd;
			return 0;
		}
		close_fd(&q->kick_fd);
		q->kick_fd = fd;
		/* Without protocol features a ring is enabled when it starts. */
		if (!(s->features & (1ull << VHU_F_PROTOCOL_FEATURES)))
			q->enabled = 1;
		if (q->started)
			return 0;
		return vq_start(s, (unsigned)idx, req);
	}
	case VHU_SET_VRING_ENABLE:
		if ((r = vq_index(s, req, m->p.state.index)))
			return r;
		if (m->p.state.num > 1)
			return refuse(s, &s->err.ring, -EINVAL,
				      "vhost-user: request %u: enable value %llu", req,
				      m->p.state.num);
		s->vq[m->p.state.index].enabled = (int)m->p.state.num;
		return 0;
	}
	return refuse(s, &s->err.unknown, -ENOSYS, "vhost-user: unknown request %u%.0llu",
		      req, 0);
}

int vhu_handle(struct vhu_session *s, struct vhu_msg *m)
{
	int replied = 0;
	int r = vhu_check(s, m);

	if (r) {
		close_msg_fds(m);
		return r;
	}
	r = handle(s, m, &replied);
	close_msg_fds(m);
	if (!r)
		s->messages++;
	if (!replied && (m->flags & VHU_FLAG_NEED_REPLY) &&
	    (s->protocol_features & (1ull << VHU_PF_REPLY_ACK))) {
		uint64_t ack = r ? 1 : 0;
		int w = send_reply(s, m, &ack, 8);
		if (!r)
			r = w;
	}
	return r;
}

int vhu_serve_one(struct vhu_session *s)
{
	struct vhu_msg *m = &(struct vhu_msg){ 0 };
	int r = vhu_recv(s, m);

	if (r)
		return r;
	return vhu_handle(s, m);
}
