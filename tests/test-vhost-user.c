/* SPDX-License-Identifier: MIT */
/*
 * The vhost-user protocol layer (hwsim/vhost_user.c), device side, driven
 * by the test acting as the front end over a socketpair:
 *  - feature and protocol-feature negotiation, REPLY_ACK, queue count;
 *  - a memory table of two memfd-backed regions, a split ring set up in
 *    the "guest" memory (the driver side of vring.c over the test's own
 *    mapping, guest-physical addresses in the descriptors), a packet
 *    posted by the guest read byte-exact by the device side through the
 *    session's translator, returned used and reaped by the guest;
 *    GET_VRING_BASE stops the ring and gives the next index;
 *  - hostile input, each refused and counted, the stream still usable:
 *    a truncated message, a wrong size, an unknown request, too many
 *    descriptors, a wrong descriptor count, overlapping and wrapping
 *    regions, a ring address outside every region, a ring size not a
 *    power of two, features not offered, live migration.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include "vhost_user.h"

#define RSZ   (1u << 20)
#define GPA0  0x0ull
#define GPA1  0x100000000ull
#define OFF1  4096u          /* region 1 starts this far into its memfd */

struct env {
	int fe, be;                /* front end's and back end's sockets */
	struct vhu_session s;
	int mfd[2];
	uint8_t *gmem[2];          /* the guest's (front end's) mappings */
};

static int fe_send(struct env *e, uint32_t req, uint32_t flags, const void *p,
		   uint32_t size, const int *fds, unsigned nfds)
{
	uint8_t buf[12 + 512];
	union {
		char c[CMSG_SPACE(16 * sizeof(int))];
		struct cmsghdr a;
	} ctl;
	memcpy(buf, &req, 4);
	memcpy(buf + 4, &flags, 4);
	memcpy(buf + 8, &size, 4);
	if (size)
		memcpy(buf + 12, p, size);
	struct iovec iov = { buf, 12 + size };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (nfds) {
		mh.msg_control = ctl.c;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	return (int)sendmsg(e->fe, &mh, 0);
}

/* Send a request and let the back end handle it. */
static int req(struct env *e, uint32_t r, uint32_t flags, const void *p, uint32_t size,
	       const int *fds, unsigned nfds)
{
	assert_int_equal(fe_send(e, r, flags ? flags : VHU_VERSION, p, size, fds, nfds),
			 12 + (int)size);
	return vhu_serve_one(&e->s);
}

static int req_u64(struct env *e, uint32_t r, uint64_t v)
{
	return req(e, r, 0, &v, 8, NULL, 0);
}

static int req_state(struct env *e, uint32_t r, uint32_t idx, uint32_t num)
{
	struct vhu_state_msg st = { idx, num };
	return req(e, r, 0, &st, sizeof(st), NULL, 0);
}

static void fe_reply(struct env *e, uint32_t want_req, void *p, uint32_t want_size)
{
	uint8_t buf[12 + 64];
	uint32_t r, f, sz;
	ssize_t n = recv(e->fe, buf, 12 + want_size, MSG_DONTWAIT);
	assert_int_equal(n, 12 + (ssize_t)want_size);
	memcpy(&r, buf, 4);
	memcpy(&f, buf + 4, 4);
	memcpy(&sz, buf + 8, 4);
	assert_int_equal(r, want_req);
	assert_int_equal(f, VHU_VERSION | VHU_FLAG_REPLY);
	assert_int_equal(sz, want_size);
	memcpy(p, buf + 12, want_size);
}

static void no_reply(struct env *e)
{
	uint8_t b;
	assert_int_equal(recv(e->fe, &b, 1, MSG_DONTWAIT), -1);
	assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
}

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	int sv[2];

	assert_non_null(e);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	e->fe = sv[0];
	e->be = sv[1];
	vhu_init(&e->s, e->be);
	for (int i = 0; i < 2; i++) {
		e->mfd[i] = memfd_create("guest", MFD_CLOEXEC);
		if (e->mfd[i] < 0) {
			fprintf(stderr, "memfd_create: %s\n", strerror(errno));
			exit(77);
		}
		size_t len = RSZ + (i ? OFF1 : 0);
		assert_int_equal(ftruncate(e->mfd[i], (off_t)len), 0);
		void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, e->mfd[i], 0);
		assert_true(p != MAP_FAILED);
		e->gmem[i] = (uint8_t *)p + (i ? OFF1 : 0);
	}
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	vhu_fini(&e->s);
	munmap(e->gmem[0], RSZ);
	munmap(e->gmem[1] - OFF1, RSZ + OFF1);
	close(e->mfd[0]);
	close(e->mfd[1]);
	close(e->fe);
	close(e->be);
	free(e);
	return 0;
}

static uint64_t uva(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static void mem_table(struct env *e)
{
	struct {
		uint32_t n, pad;
		struct vhu_region_msg r[2];
	} mt = { 2, 0, { { GPA0, RSZ, uva(e->gmem[0]), 0 },
			 { GPA1, RSZ, uva(e->gmem[1]), OFF1 } } };
	assert_int_equal(req(e, VHU_SET_MEM_TABLE, 0, &mt, sizeof(mt), e->mfd, 2), 0);
	assert_int_equal(e->s.nregions, 2);
}

static void negotiate(struct env *e)
{
	uint64_t f, pf, qn;

	assert_int_equal(req(e, VHU_SET_OWNER, 0, NULL, 0, NULL, 0), 0);
	assert_int_equal(req(e, VHU_GET_FEATURES, 0, NULL, 0, NULL, 0), 0);
	fe_reply(e, VHU_GET_FEATURES, &f, 8);
	assert_true(f & (1ull << VHU_F_VERSION_1));
	assert_true(f & (1ull << VHU_F_NET_MRG_RXBUF));
	assert_true(f & (1ull << VHU_F_NET_MQ));
	assert_true(f & (1ull << VHU_F_RING_EVENT_IDX));
	assert_true(f & (1ull << VHU_F_RING_INDIRECT));
	assert_true(f & (1ull << VHU_F_PROTOCOL_FEATURES));
	assert_int_equal(req(e, VHU_GET_PROTOCOL_FEATURES, 0, NULL, 0, NULL, 0), 0);
	fe_reply(e, VHU_GET_PROTOCOL_FEATURES, &pf, 8);
	assert_true(pf & (1ull << VHU_PF_REPLY_ACK));
	assert_true(pf & (1ull << VHU_PF_MQ));
	assert_int_equal(req_u64(e, VHU_SET_PROTOCOL_FEATURES, pf), 0);
	assert_int_equal(req(e, VHU_GET_QUEUE_NUM, 0, NULL, 0, NULL, 0), 0);
	fe_reply(e, VHU_GET_QUEUE_NUM, &qn, 8);
	assert_int_equal(qn, VHU_MAX_QUEUES / 2);
	assert_int_equal(req_u64(e, VHU_SET_FEATURES, f), 0);
	assert_int_equal(e->s.features, f);
	no_reply(e);
}

/* The guest's ring @q of @size entries at the start of region 1 (+@off). */
static void ring_setup(struct env *e, struct vring_drv *g, unsigned q, uint32_t size,
		       size_t off)
{
	uint8_t *desc = e->gmem[1] + off;
	uint8_t *avail = desc + vring_desc_bytes(size);
	uint8_t *used = (uint8_t *)(((uintptr_t)avail + vring_avail_bytes(size) + 3) & ~3ul);
	assert_int_equal(vring_drv_init(g, size, desc, avail, used), 0);

	assert_int_equal(req_state(e, VHU_SET_VRING_NUM, q, size), 0);
	assert_int_equal(req_state(e, VHU_SET_VRING_BASE, q, 0), 0);
	struct vhu_addr_msg a = { q, 0, uva(desc), uva(used), uva(avail), 0 };
	assert_int_equal(req(e, VHU_SET_VRING_ADDR, 0, &a, sizeof(a), NULL, 0), 0);
	int call = eventfd(0, EFD_CLOEXEC), kick = eventfd(0, EFD_CLOEXEC);
	assert_true(call >= 0 && kick >= 0);
	assert_int_equal(req(e, VHU_SET_VRING_CALL, 0, &(uint64_t){ q }, 8, &call, 1), 0);
	/* the back end keeps its own copies; the test's are closed */
	assert_int_equal(fe_send(e, VHU_SET_VRING_KICK, VHU_VERSION, &(uint64_t){ q }, 8,
				 &kick, 1), 20);
	assert_int_equal(vhu_serve_one(&e->s), 0);
	close(call);
	close(kick);
	assert_non_null(vhu_vring(&e->s, q));
	assert_int_equal(req_state(e, VHU_SET_VRING_ENABLE, q, 1), 0);
	assert_true(e->s.vq[q].enabled);
}

static void test_packet(void **state)
{
	struct env *e = *state;
	struct vring_drv g;
	uint8_t pkt[1500], got[2048];

	negotiate(e);
	mem_table(e);
	ring_setup(e, &g, 1, 256, 0);
	assert_true(e->s.vq[1].dev.event_idx);

	/* a frame in two pieces, header in region 1 and data in region 0 */
	for (size_t i = 0; i < sizeof(pkt); i++)
		pkt[i] = (uint8_t)(i * 7 + 3);
	memcpy(e->gmem[1] + 0x80000, pkt, 64);
	memcpy(e->gmem[0] + 0x1000, pkt + 64, sizeof(pkt) - 64);
	struct vring_seg seg[2] = { { GPA1 + 0x80000, 64, 0 },
				    { GPA0 + 0x1000, sizeof(pkt) - 64, 0 } };
	assert_true(vring_drv_add(&g, seg, 2, 42) >= 0);
	vring_drv_publish(&g);

	struct vring_dev *d = vhu_vring(&e->s, 1);
	assert_int_equal(d->indirect, 1); /* VIRTIO_RING_F_INDIRECT_DESC acked */
	assert_non_null(d);
	assert_int_equal(vring_dev_avail(d), 1);
	uint16_t head = vring_dev_head(d, 0);
	struct vring_iov iov = { got, sizeof(got) };
	assert_int_equal(vring_dev_read(d, head, &iov, 1), (long)sizeof(pkt));
	assert_memory_equal(got, pkt, sizeof(pkt));
	vring_dev_take(d, 1);
	vring_dev_put(d, head, 0);
	vring_dev_publish(d);

	uint32_t tok = 0, len = 1;
	assert_int_equal(vring_drv_reap(&g, &tok, &len), 1);
	assert_int_equal(tok, 42);
	assert_int_equal(len, 0);

	/* a descriptor pointing outside the memory table is refused */
	struct vring_seg bad = { GPA1 + RSZ - 16, 64, 0 };
	assert_true(vring_drv_add(&g, &bad, 1, 43) >= 0);
	vring_drv_publish(&g);
	assert_int_equal(vring_dev_avail(d), 1);
	assert_int_equal(vring_dev_read(d, vring_dev_head(d, 0), &iov, 1), -EFAULT);

	/* GET_VRING_BASE stops the ring at the next index to take */
	struct vhu_state_msg st;
	assert_int_equal(req_state(e, VHU_GET_VRING_BASE, 1, 0), 0);
	fe_reply(e, VHU_GET_VRING_BASE, &st, sizeof(st));
	assert_int_equal(st.index, 1);
	assert_int_equal(st.num, 1);
	assert_null(vhu_vring(&e->s, 1));
	assert_int_equal(e->s.err.total, 0);
	vring_drv_fini(&g);
}

static void test_reply_ack(void **state)
{
	struct env *e = *state;
	struct vhu_state_msg st = { 0, 256 };
	uint64_t ack;

	negotiate(e);
	assert_int_equal(req(e, VHU_SET_VRING_NUM, VHU_VERSION | VHU_FLAG_NEED_REPLY, &st,
			     sizeof(st), NULL, 0), 0);
	fe_reply(e, VHU_SET_VRING_NUM, &ack, 8);
	assert_int_equal(ack, 0);
	st.num = 1000;
	assert_int_equal(req(e, VHU_SET_VRING_NUM, VHU_VERSION | VHU_FLAG_NEED_REPLY, &st,
			     sizeof(st), NULL, 0), -EINVAL);
	fe_reply(e, VHU_SET_VRING_NUM, &ack, 8);
	assert_int_not_equal(ack, 0);
	assert_int_equal(e->s.vq[0].num, 256);
	assert_int_equal(e->s.err.ring, 1);
}

static void test_hostile_messages(void **state)
{
	struct env *e = *state;
	uint64_t f;
	int efd[10];

	/* wrong size for the request */
	uint32_t four = 1;
	assert_int_equal(req(e, VHU_SET_FEATURES, 0, &four, 4, NULL, 0), -EMSGSIZE);
	assert_int_equal(e->s.err.size, 1);
	/* unknown request, then the stream is still in step */
	assert_int_equal(req(e, 99, 0, "abcd", 4, NULL, 0), -ENOSYS);
	assert_int_equal(e->s.err.unknown, 1);
	/* bad version */
	assert_int_equal(req(e, VHU_GET_FEATURES, 2, NULL, 0, NULL, 0), -EBADMSG);
	assert_int_equal(e->s.err.header, 1);
	/* a reply flag in a request */
	assert_int_equal(req(e, VHU_GET_FEATURES, VHU_VERSION | VHU_FLAG_REPLY, NULL, 0,
			     NULL, 0), -EBADMSG);
	assert_int_equal(e->s.err.header, 2);
	/* features not offered (packed rings, bit 40) */
	assert_int_equal(req_u64(e, VHU_SET_FEATURES, 1ull << 34), -ENOTSUP);
	assert_int_equal(req_u64(e, VHU_SET_FEATURES, 1ull << 40), -ENOTSUP);
	assert_int_equal(req_u64(e, VHU_SET_PROTOCOL_FEATURES, 1ull << 9), -ENOTSUP);
	assert_int_equal(e->s.err.refused, 3);
	assert_int_equal(e->s.err.total, 7);
	assert_int_equal(e->s.features, 0);
	/* live migration */
	assert_int_equal(req_u64(e, VHU_SET_LOG_BASE, 0), -ENOTSUP);
	for (int i = 0; i < 10; i++) {
		efd[i] = eventfd(0, EFD_CLOEXEC);
		assert_true(efd[i] >= 0);
	}
	assert_int_equal(req(e, VHU_SET_LOG_FD, 0, &(uint64_t){ 0 }, 8, efd, 1), -ENOTSUP);
	/* too many descriptors (9), then a wrong count (2 for a call fd) */
	assert_int_equal(req(e, VHU_SET_VRING_CALL, 0, &(uint64_t){ 0 }, 8, efd, 9), -E2BIG);
	assert_int_equal(req(e, VHU_SET_VRING_CALL, 0, &(uint64_t){ 0 }, 8, efd, 2), -EBADF);
	/* a descriptor with the no-fd bit */
	assert_int_equal(req(e, VHU_SET_VRING_CALL, 0, &(uint64_t){ VHU_VRING_NOFD }, 8,
			     efd, 1), -EBADF);
	assert_int_equal(e->s.err.fds, 3);
	assert_int_equal(e->s.err.refused, 5);
	assert_int_equal(e->s.vq[0].call_fd, -1);
	/* ring index out of range; ring size not a power of two */
	assert_int_equal(req_state(e, VHU_SET_VRING_NUM, VHU_MAX_QUEUES, 256), -EINVAL);
	assert_int_equal(req_state(e, VHU_SET_VRING_NUM, 0, 1000), -EINVAL);
	assert_int_equal(req_state(e, VHU_SET_VRING_NUM, 0, 65536), -EINVAL);
	assert_int_equal(req_state(e, VHU_SET_VRING_NUM, 0, 0), -EINVAL);
	assert_int_equal(e->s.err.ring, 4);
	assert_int_equal(e->s.vq[0].num, 0);
	for (int i = 0; i < 10; i++)
		close(efd[i]);
	/* still in step: a valid request answers */
	assert_int_equal(req(e, VHU_GET_FEATURES, 0, NULL, 0, NULL, 0), 0);
	fe_reply(e, VHU_GET_FEATURES, &f, 8);
	assert_int_equal(f, VHU_FEATURES);
	no_reply(e);

	/* a truncated message at the end of the stream */
	assert_int_equal(send(e->fe, "\x01\x00\x00\x00\x01\x00", 6, 0), 6);
	assert_int_equal(shutdown(e->fe, SHUT_WR), 0);
	assert_int_equal(vhu_serve_one(&e->s), -EBADMSG);
	assert_int_equal(e->s.err.header, 3);
	assert_int_equal(vhu_serve_one(&e->s), -ENOTCONN);
}

static void test_hostile_memory(void **state)
{
	struct env *e = *state;
	struct {
		uint32_t n, pad;
		struct vhu_region_msg r[2];
	} mt;
	int fds[2] = { e->mfd[0], e->mfd[1] };

	/* overlapping guest-physical ranges */
	mt = (typeof(mt)){ 2, 0, { { GPA0, RSZ, uva(e->gmem[0]), 0 },
				   { GPA0 + RSZ / 2, RSZ, uva(e->gmem[1]), OFF1 } } };
	assert_int_equal(req(e, VHU_SET_MEM_TABLE, 0, &mt, sizeof(mt), fds, 2), -EINVAL);
	/* overlapping user addresses */
	mt = (typeof(mt)){ 2, 0, { { GPA0, RSZ, uva(e->gmem[0]), 0 },
				   { GPA1, RSZ, uva(e->gmem[0]) + 4096, OFF1 } } };
	assert_int_equal(req(e, VHU_SET_MEM_TABLE, 0, &mt, sizeof(mt), fds, 2), -EINVAL);
	/* a region wrapping the address space */
	mt = (typeof(mt)){ 2, 0, { { GPA0, RSZ, uva(e->gmem[0]), 0 },
				   { UINT64_MAX - 4095, RSZ, uva(e->gmem[1]), OFF1 } } };
	assert_int_equal(req(e, VHU_SET_MEM_TABLE, 0, &mt, sizeof(mt), fds, 2), -EINVAL);
	/* an empty region; an offset that wraps */
	mt = (typeof(mt)){ 2, 0, { { GPA0, 0, uva(e->gmem[0]), 0 },
				   { GPA1, RSZ, uva(e->gmem[1]), OFF1 } } };
	assert_int_equal(req(e, VHU_SET_MEM_TABLE, 0, &mt, sizeof(mt), fds, 2), -EINVAL);
	mt = (typeof(mt)){ 2, 0, { { GPA0, RSZ, uva(e->gmem[0]), UINT64_MAX - 10 },
				   { GPA1, RSZ, uva(e->gmem[1]), OFF1 } } };
	assert_int_equal(req(e, VHU_SET_MEM_TABLE, 0, &mt, sizeof(mt), fds, 2), -EINVAL);
	assert_int_equal(e->s.err.region, 5);
	/* the region count does not fit the size; fewer fds than regions */
	mt = (typeof(mt)){ 3, 0, { { GPA0, RSZ, uva(e->gmem[0]), 0 },
				   { GPA1, RSZ, uva(e->gmem[1]), OFF1 } } };
	assert_int_equal(req(e, VHU_SET_MEM_TABLE, 0, &mt, sizeof(mt), fds, 2), -EMSGSIZE);
	mt.n = 2;
	assert_int_equal(req(e, VHU_SET_MEM_TABLE, 0, &mt, sizeof(mt), fds, 1), -EBADF);
	assert_int_equal(e->s.nregions, 0);
	assert_int_equal(e->s.err.size, 1);
	assert_int_equal(e->s.err.fds, 1);

	/* a good table, then rings outside it */
	mem_table(e);
	assert_null(vhu_gpa_map(&e->s, GPA0 + RSZ - 8, 16));
	assert_null(vhu_gpa_map(&e->s, GPA1 - 8, 16));
	assert_null(vhu_gpa_map(&e->s, UINT64_MAX - 4, 16));
	assert_non_null(vhu_gpa_map(&e->s, GPA1 + RSZ - 16, 16));
	/* the back end's mapping shows the guest's bytes */
	memcpy(e->gmem[1] + 8, "guestmem", 8);
	assert_memory_equal(vhu_gpa_map(&e->s, GPA1 + 8, 8), "guestmem", 8);
	assert_int_equal(req_state(e, VHU_SET_VRING_NUM, 0, 256), 0);
	uint8_t *in = e->gmem[1];
	struct vhu_addr_msg a = { 0, 0, uva(in), uva(in + 8192), uva(in + 4096), 0 };
	a.desc = uva(e->gmem[0]) + RSZ - 1024; /* 4096 bytes of descriptors */
	assert_int_equal(req(e, VHU_SET_VRING_ADDR, 0, &a, sizeof(a), NULL, 0), -EFAULT);
	a.desc = uva(in);
	a.used = 0x10;
	assert_int_equal(req(e, VHU_SET_VRING_ADDR, 0, &a, sizeof(a), NULL, 0), -EFAULT);
	a.used = UINT64_MAX - 16;
	assert_int_equal(req(e, VHU_SET_VRING_ADDR, 0, &a, sizeof(a), NULL, 0), -EFAULT);
	assert_int_equal(e->s.err.addr, 3);
	assert_false(e->s.vq[0].addr_set);
	/* a misaligned ring is refused when it starts */
	a.used = uva(in + 8192 + 2);
	assert_int_equal(req(e, VHU_SET_VRING_ADDR, 0, &a, sizeof(a), NULL, 0), 0);
	int kick = eventfd(0, EFD_CLOEXEC);
	assert_true(kick >= 0);
	assert_int_equal(req(e, VHU_SET_VRING_KICK, 0, &(uint64_t){ 0 }, 8, &kick, 1),
			 -EINVAL);
	close(kick);
	assert_null(vhu_vring(&e->s, 0));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_packet, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reply_ack, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_messages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostile_memory, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
