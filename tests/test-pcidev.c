/* SPDX-License-Identifier: MIT */
/*
 * hwsim's PCIe device front end (hwsim/pcidev.c) driven by a raw driver:
 * this test connects to the front end's socket, maps the shared memory and
 * speaks docs/device-interface.md by hand (registers, admin queue, commands,
 * events), without the pci backend. It checks the identity, the version
 * handshake, admin queue bring-up, tables and entry batches with a result
 * per record, a frame forwarded through the test harness, counters,
 * addresses outside the DMA window, events, the reset handshake, one driver
 * at a time, the reset when a driver leaves, and the pci.dump entry.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "core.h"
#include "pack.h"
#include "hwsim.h"
#include "pcidev.h"
#include "backends/pci/devif.h"
#include "backends/pci/discover.h"

#define DMA_LEN (16u << 20)
#define AQN 64u
#define EQN 64u

struct drv {
	struct hw_pcidev *fe;
	char dir[64];
	int sock;
	int memfd; /* the shared memory's fd, kept for test_memfd_sealed */
	uint8_t *shm;
	size_t shm_size;
	int evfd[DEVIF_N_VECTORS];
	volatile uint32_t *bar0, *bar4;
	uint8_t *dma;
	uint64_t dma_iova, dma_len, dma_used;
	/* admin queue */
	struct devif_sqe *sq;
	struct devif_cqe *cq;
	uint64_t sq_iova, cq_iova;
	uint32_t tail, head, phase;
	uint16_t cid;
	/* event queue */
	struct devif_event *eq;
	uint64_t eq_iova;
	uint32_t eq_head, eq_phase;
	uint64_t buf_iova; /* a 64 KiB command buffer */
	uint8_t *buf;
};

static struct drv D;

static void quiet(int level, const char *msg)
{
	if (getenv("TEST_PCIDEV_VERBOSE"))
		fprintf(stderr, "front end (%d): %s\n", level, msg);
}

static uint32_t rd(uint32_t off)
{
	return __atomic_load_n(&D.bar0[off / 4], __ATOMIC_ACQUIRE);
}

static void wr(uint32_t off, uint32_t v)
{
	__atomic_store_n((uint32_t *)&D.bar0[off / 4], v, __ATOMIC_RELEASE);
}

static void db(uint32_t off, uint32_t v)
{
	__atomic_store_n((uint32_t *)&D.bar4[off / 4], v, __ATOMIC_RELEASE);
}

static void pause_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Wait (up to 10 s: no timing is asserted) until @reg & @mask == @want. */
static int wait_reg(uint32_t reg, uint32_t mask, uint32_t want)
{
	for (int i = 0; i < 10000; i++) {
		if ((rd(reg) & mask) == want)
			return 1;
		pause_ms(1);
	}
	return 0;
}

/* Connect and receive the hello; returns the status, fds filled on 0. */
static int connect_dev(int *sock, struct devif_hello *h, int *fds, int *n_fds)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	union {
		char buf[CMSG_SPACE(sizeof(int) * (1 + DEVIF_N_VECTORS))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { h, sizeof(*h) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
			    .msg_controllen = sizeof(u.buf) };
	int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(s >= 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", hw_pcidev_socket(D.fe));
	assert_int_equal(connect(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(recvmsg(s, &m, MSG_CMSG_CLOEXEC), (ssize_t)sizeof(*h));
	assert_int_equal(h->magic, DEVIF_HELLO_MAGIC);
	assert_int_equal(h->version, DEVIF_HELLO_VERSION);
	*n_fds = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
			*n_fds = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
			memcpy(fds, CMSG_DATA(c), sizeof(int) * (size_t)*n_fds);
		}
	*sock = s;
	return (int)h->status;
}

static uint64_t dma_alloc(size_t len, void **p)
{
	uint64_t off = (D.dma_used + 4095) & ~4095ull;

	assert_true(off + len <= D.dma_len);
	D.dma_used = off + len;
	*p = D.dma + off;
	memset(*p, 0, len);
	return D.dma_iova + off;
}

static int setup(void **state)
{
	struct hw_pcidev_cfg cfg = {
		.hwsim_args = "uplinks=2,pfs=1,vfs=2", .bdf = "0000:03:00.0",
		.dma_len = DMA_LEN, .log = quiet,
	};
	struct devif_hello h;
	int fds[1 + DEVIF_N_VECTORS], n;

	(void)state;
	snprintf(D.dir, sizeof(D.dir), "/tmp/test-pcidev.XXXXXX");
	assert_non_null(mkdtemp(D.dir));
	cfg.dir = D.dir;
	assert_int_equal(hw_pcidev_create(&cfg, &D.fe), 0);
	assert_int_equal(connect_dev(&D.sock, &h, fds, &n), 0);
	assert_int_equal(n, 1 + DEVIF_N_VECTORS);
	assert_int_equal(h.n_vectors, DEVIF_N_VECTORS);
	assert_int_equal(h.dma_offset, DEVIF_SHM_DMA);
	assert_int_equal(h.dma_len, DMA_LEN);
	assert_int_equal(h.dma_iova, DEVIF_SHM_DMA_IOVA);
	assert_string_equal(h.bdf, "0000:03:00.0");
	D.shm_size = h.shm_size;
	D.shm = mmap(NULL, D.shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	assert_true(D.shm != MAP_FAILED);
	D.memfd = fds[0];
	memcpy(D.evfd, fds + 1, sizeof(D.evfd));
	D.bar0 = (volatile uint32_t *)(D.shm + DEVIF_SHM_BAR0);
	D.bar4 = (volatile uint32_t *)(D.shm + DEVIF_SHM_BAR4);
	D.dma = D.shm + h.dma_offset;
	D.dma_iova = h.dma_iova;
	D.dma_len = h.dma_len;
	return 0;
}

static void unmap_all(void)
{
	for (unsigned i = 0; i < DEVIF_N_VECTORS; i++)
		close(D.evfd[i]);
	munmap(D.shm, D.shm_size);
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	if (D.sock >= 0)
		close(D.sock);
	unmap_all();
	close(D.memfd);
	hw_pcidev_destroy(D.fe);
	snprintf(path, sizeof(path), "%s/pci.dump", D.dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/pci.dump.lock", D.dir);
	unlink(path);
	rmdir(D.dir);
	return 0;
}

/* Bring-up of 5.1 steps 4 and 6: version, then the admin queue. */
static void bring_up(void)
{
	wr(REG_DRV_IF_VERSION, DEVIF_VERSION(1, 0));
	wr(REG_DRV_FEATURES, DEVIF_F_TRACE | DEVIF_F_SOFT_RESET | DEVIF_F_TEST_HARNESS |
				     DEVIF_F_RESET_NOTICE);
	wr(REG_DRV_VERSION, 0x00010000);
	assert_true(wait_reg(REG_DEV_STATUS, DEVIF_ST_VERSION_OK | DEVIF_ST_VERSION_BAD,
			     DEVIF_ST_VERSION_OK));
	void *p;
	D.sq_iova = dma_alloc(AQN * 64, &p);
	D.sq = p;
	D.cq_iova = dma_alloc(AQN * 32, &p);
	D.cq = p;
	D.tail = D.head = 0;
	D.phase = 1;
	wr(REG_AQ_BASE_LO, (uint32_t)D.sq_iova);
	wr(REG_AQ_BASE_HI, (uint32_t)(D.sq_iova >> 32));
	wr(REG_AQ_SIZE, AQN);
	wr(REG_ACQ_BASE_LO, (uint32_t)D.cq_iova);
	wr(REG_ACQ_BASE_HI, (uint32_t)(D.cq_iova >> 32));
	wr(REG_ACQ_SIZE, AQN);
	wr(REG_DEV_CONTROL, DEVIF_CTL_ADMIN_EN);
	assert_true(wait_reg(REG_DEV_STATUS, DEVIF_ST_ADMIN_ON, DEVIF_ST_ADMIN_ON));
	if (!D.buf)
		D.buf_iova = dma_alloc(1u << 16, (void **)&D.buf);
}

/* Submit one command and wait for its completion. */
static struct devif_cqe cmd(struct devif_sqe *s)
{
	struct devif_cqe c;
	uint8_t *flags;

	s->cid = ++D.cid;
	D.sq[D.tail] = *s;
	D.tail = (D.tail + 1) % AQN;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	db(DB_AQ_TAIL, D.tail);
	flags = &((uint8_t *)&D.cq[D.head])[31];
	for (int i = 0; i < 10000; i++) {
		if ((__atomic_load_n(flags, __ATOMIC_ACQUIRE) & DEVIF_CQE_F_PHASE) == D.phase)
			break;
		pause_ms(1);
	}
	assert_int_equal(__atomic_load_n(flags, __ATOMIC_ACQUIRE) & DEVIF_CQE_F_PHASE, D.phase);
	memcpy(&c, &D.cq[D.head], sizeof(c));
	if (++D.head == AQN) {
		D.head = 0;
		D.phase ^= 1;
	}
	assert_int_equal(c.cid, s->cid);
	assert_int_equal(c.sq_head, D.tail);
	return c;
}

/* Submit one command and return its completion unchecked. */
static struct devif_cqe cmd_raw(struct devif_sqe *s)
{
	struct devif_cqe c;
	uint8_t *flags;

	s->cid = ++D.cid;
	D.sq[D.tail] = *s;
	D.tail = (D.tail + 1) % AQN;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	db(DB_AQ_TAIL, D.tail);
	flags = &((uint8_t *)&D.cq[D.head])[31];
	for (int i = 0; i < 10000; i++) {
		if ((__atomic_load_n(flags, __ATOMIC_ACQUIRE) & DEVIF_CQE_F_PHASE) == D.phase)
			break;
		pause_ms(1);
	}
	assert_int_equal(__atomic_load_n(flags, __ATOMIC_ACQUIRE) & DEVIF_CQE_F_PHASE, D.phase);
	memcpy(&c, &D.cq[D.head], sizeof(c));
	if (++D.head == AQN) {
		D.head = 0;
		D.phase ^= 1;
	}
	return c;
}

static struct devif_sqe sqe(uint8_t op, uint32_t arg0)
{
	struct devif_sqe s = { .opcode = op, .arg0 = arg0, .count = 1 };
	return s;
}

static struct devif_sqe sqe_data(uint8_t op, uint32_t arg0, uint32_t len)
{
	struct devif_sqe s = sqe(op, arg0);
	s.flags = DEVIF_SQE_F_DATA;
	s.data_addr = D.buf_iova;
	s.data_len = len;
	return s;
}

static void test_identity(void **state)
{
	const uint8_t *cfg = D.shm + DEVIF_SHM_CFG;
	const struct devif_port_entry *pt;

	(void)state;
	assert_int_equal(rd(REG_DEV_MAGIC), DEVIF_MAGIC);
	assert_int_equal(rd(REG_IF_VERSION), DEVIF_VERSION(1, 0));
	assert_int_equal(rd(REG_DEV_STATUS) & (DEVIF_ST_READY | DEVIF_ST_FATAL), DEVIF_ST_READY);
	assert_int_equal(rd(REG_RESET_REASON), DEVIF_RESET_POWER_ON);
	assert_int_equal(rd(REG_CAP_ITEMS_LO), 0x00003FFE);
	assert_int_equal(rd(REG_CAP_ACTIONS_LO), 0x007FFFFE);
	assert_int_equal(rd(REG_CAP_TABLES), 0x7);
	assert_int_equal(rd(REG_CAP_FIELDS), 0x003FFFFF);
	assert_int_equal(rd(REG_ACTIONS_NOW_LO), 0x007FFFFE);
	assert_int_equal(rd(REG_DEV_FEATURES),
			 DEVIF_F_SOFT_RESET | DEVIF_F_RESET_NOTICE | DEVIF_F_PORT_LINK_ADMIN |
			 DEVIF_F_TRACE | DEVIF_F_TEST_HARNESS);
	/* the default configinfo's sizes (10, 26, 42, 58) and the built-in
	 * ones (16, 32, 48, 64) are all device key sizes */
	assert_int_equal(rd(REG_KEY_SIZES_0), 0x201A100A);
	assert_int_equal(rd(REG_KEY_SIZES_1), 0x403A302A);
	assert_int_equal(rd(REG_MAX_ACTION_BYTES), 255);
	assert_int_equal(rd(REG_N_PORTS), 5);
	assert_int_equal(rd(REG_MAX_HOST_QUEUES), 64);
	assert_int_equal(rd(REG_MTU_RANGE), 9202u << 16 | 68);
	assert_int_equal(rd(REG_FW_CHUNK_MAX), 0);
	pt = (const struct devif_port_entry *)(D.shm + DEVIF_SHM_BAR0 + REG_PORT_TABLE);
	assert_int_equal(pt[0].type, 0);
	assert_int_equal(pt[1].type, 0);
	assert_int_equal(pt[1].index, 1);
	assert_int_equal(pt[2].type, 1);
	assert_int_equal(pt[3].type, 2);
	assert_int_equal(pt[4].type, 2);
	assert_int_equal(pt[4].index, 1);
	assert_int_equal(pt[5].type, DEVIF_PORT_NONE);
	assert_int_equal(pt[0].mtu, 1500);
	assert_true(pt[0].flags & DEVIF_PORT_F_LINK);
	/* configuration space: 2.2 identity, MSI-X with 67 vectors in BAR2 */
	assert_int_equal(cfg[0] | cfg[1] << 8, DEVIF_VENDOR_ID);
	assert_int_equal(cfg[2] | cfg[3] << 8, DEVIF_DEVICE_ID);
	assert_int_equal(cfg[8], DEVIF_REVISION);
	assert_int_equal(cfg[9] | cfg[10] << 8 | cfg[11] << 16, DEVIF_CLASS);
	assert_int_equal(cfg[0x2C] | cfg[0x2D] << 8, DEVIF_VENDOR_ID);
	assert_int_equal(cfg[0x2E] | cfg[0x2F] << 8, DEVIF_SUBSYS_MGMT);
	assert_int_equal(cfg[0x10] & 0x7, 0x4); /* 64-bit memory BAR */
	int msix = 0;
	for (unsigned p = cfg[0x34], hops = 0; p && hops < 16; p = cfg[p + 1], hops++)
		if (cfg[p] == 0x11) {
			msix = 1;
			assert_int_equal((cfg[p + 2] | cfg[p + 3] << 8) & 0x7FF, 66);
			assert_int_equal(cfg[p + 4] & 7, 2);
		}
	assert_true(msix);
	/* the heartbeat runs */
	uint32_t hb = rd(REG_HEARTBEAT);
	assert_true(wait_reg(REG_HEARTBEAT, ~0u, hb + 2) || rd(REG_HEARTBEAT) != hb);
}

/* The shared memory comes sealed against resizing (section 13): neither
 * this driver nor anyone else holding the fd can shrink or grow it. */
static void test_memfd_sealed(void **state)
{
	int seals = fcntl(D.memfd, F_GET_SEALS);

	(void)state;
	assert_true(seals >= 0);
	assert_int_equal(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
			 F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
	assert_int_equal(ftruncate(D.memfd, 4096), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(ftruncate(D.memfd, (off_t)D.shm_size * 2), -1);
	assert_int_equal(errno, EPERM);
	assert_int_equal(fcntl(D.memfd, F_ADD_SEALS, F_SEAL_WRITE), -1);
	assert_int_equal(errno, EPERM);
	/* still the size the hello announced, and usable */
	assert_int_equal(lseek(D.memfd, 0, SEEK_END), (off_t)D.shm_size);
	assert_int_equal(rd(REG_N_PORTS), 5);
}

static void test_version(void **state)
{
	(void)state;
	/* a major the device does not speak */
	wr(REG_DRV_IF_VERSION, DEVIF_VERSION(2, 0));
	assert_true(wait_reg(REG_DEV_STATUS, DEVIF_ST_VERSION_OK | DEVIF_ST_VERSION_BAD,
			     DEVIF_ST_VERSION_BAD));
	/* a feature it does not offer (firmware load) */
	wr(REG_DRV_IF_VERSION, DEVIF_VERSION(1, 0));
	wr(REG_DRV_FEATURES, DEVIF_F_FW_LOAD);
	assert_true(wait_reg(REG_DEV_STATUS, DEVIF_ST_VERSION_OK | DEVIF_ST_VERSION_BAD,
			     DEVIF_ST_VERSION_BAD));
	/* VERSION_BAD: the admin queue is not enabled */
	bring_up();
	assert_int_equal(rd(REG_DEV_STATUS) & DEVIF_ST_VERSION_BAD, 0);
}

static void test_admin(void **state)
{
	struct devif_sqe s;
	struct devif_cqe c;

	(void)state;
	s = sqe(DEVIF_OP_NOP, 0);
	c = cmd(&s);
	assert_int_equal(c.status, DEVIF_S_OK);
	assert_int_equal(rd(REG_AQ_HEAD), D.tail);
	/* firmware load is not offered, nor an unknown opcode */
	s = sqe(DEVIF_OP_FW_BEGIN, 0);
	assert_int_equal(cmd(&s).status, DEVIF_S_UNSUPPORTED);
	s = sqe(0x6F, 0);
	assert_int_equal(cmd(&s).status, DEVIF_S_UNSUPPORTED);
	/* reserved flag bits */
	s = sqe(DEVIF_OP_NOP, 0);
	s.flags = 0x80;
	assert_int_equal(cmd(&s).status, DEVIF_S_INVALID);
	/* an unmasked cause signals its vector once, until acknowledged */
	uint64_t v = 0;
	while (read(D.evfd[DEVIF_VEC_ADMIN], &v, sizeof(v)) > 0)
		; /* nothing pending from before */
	wr(REG_INT_MASK, ~DEVIF_INT_ADMIN);
	s = sqe(DEVIF_OP_NOP, 0);
	assert_int_equal(cmd(&s).status, DEVIF_S_OK);
	struct pollfd pf = { D.evfd[DEVIF_VEC_ADMIN], POLLIN, 0 };
	assert_int_equal(poll(&pf, 1, 10000), 1);
	assert_int_equal(read(D.evfd[DEVIF_VEC_ADMIN], &v, sizeof(v)), (ssize_t)sizeof(v));
	assert_true(rd(REG_INT_CAUSE) & DEVIF_INT_ADMIN);
	wr(REG_INT_ACK, 1u << 16 | DEVIF_INT_ADMIN);
	assert_true(wait_reg(REG_INT_CAUSE, DEVIF_INT_ADMIN, 0));
	wr(REG_INT_MASK, ~0u);
	/* the ring wraps: more commands than entries, phase flips */
	for (unsigned i = 0; i < AQN + 3; i++) {
		s = sqe(DEVIF_OP_NOP, 0);
		assert_int_equal(cmd(&s).status, DEVIF_S_OK);
	}
}

static void test_out_of_window(void **state)
{
	struct devif_sqe s;

	(void)state;
	/* below the window, beyond it, straddling its end, and address 0 */
	const uint64_t bad[] = { D.dma_iova - 4096, D.dma_iova + D.dma_len,
				 D.dma_iova + D.dma_len - 64, 0, ~0ull - 7 };
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = sqe_data(DEVIF_OP_PORT_QUERY, 0, 5 * 32);
		s.count = 5;
		s.data_addr = bad[i];
		assert_int_equal(cmd(&s).status, DEVIF_S_INVALID);
	}
	/* a length beyond the window from a good address */
	s = sqe_data(DEVIF_OP_PORT_QUERY, 0, 0xFFFFFFF0u);
	s.count = 5;
	assert_int_equal(cmd(&s).status, DEVIF_S_INVALID);
	/* an event queue outside the window */
	struct devif_eq_setup e = { .base = D.dma_iova + D.dma_len, .size = EQN,
				    .vector = 1, .flags = DEVIF_EQ_F_ENABLE };
	s = sqe(DEVIF_OP_EQ_SETUP, 0);
	memcpy(s.inline_data, &e, sizeof(e));
	assert_int_equal(cmd(&s).status, DEVIF_S_INVALID);
	/* and a good one still works */
	s = sqe_data(DEVIF_OP_PORT_QUERY, 0, 5 * 32);
	s.count = 5;
	struct devif_cqe c = cmd(&s);
	assert_int_equal(c.status, DEVIF_S_OK);
	struct devif_port_rec r;
	memcpy(&r, D.buf + 2 * 32, sizeof(r));
	assert_int_equal(r.port, 2);
	assert_int_equal(r.type, 1);
	assert_int_equal(r.mtu, 1500);
}

/* Table 0: exact, key in_port (2 bytes) in a 16-byte key. */
static void table_create(void)
{
	struct devif_table_desc d;
	struct devif_sqe s;

	memset(&d, 0, sizeof(d));
	d.id = 0;
	d.type = PK_EXACT;
	d.miss = PK_MISS_NEXT;
	d.n_fields = 1;
	d.key_bytes = 16;
	d.capacity = 1024;
	d.priorities = 1;
	d.action_bytes = 64;
	d.actions = 0x007FFFFE;
	d.fields = 1u << PK_IN_PORT;
	snprintf(d.name, sizeof(d.name), "ports");
	memset(d.field, 0xFF, sizeof(d.field));
	d.field[0] = PK_IN_PORT;
	memcpy(D.buf, &d, sizeof(d));
	s = sqe_data(DEVIF_OP_TABLE_CREATE, 0, sizeof(d));
	assert_int_equal(cmd(&s).status, DEVIF_S_OK);
	s = sqe_data(DEVIF_OP_TABLE_CREATE, 0, sizeof(d));
	assert_int_equal(cmd(&s).status, DEVIF_S_EXISTS);
	/* a key size the device does not have */
	d.id = 1;
	d.key_bytes = 17;
	memcpy(D.buf, &d, sizeof(d));
	s = sqe_data(DEVIF_OP_TABLE_CREATE, 1, sizeof(d));
	assert_int_equal(cmd(&s).status, DEVIF_S_INVALID);
}

static uint64_t handle0;

/* An ENTRY_ADD record: in_port @port → port @to. */
static size_t add_rec(uint8_t *p, uint16_t port, uint16_t to)
{
	struct devif_add_hdr h = { .len = 8 + 16 + 8, .actions_len = 4 };
	memcpy(p, &h, sizeof(h));
	memset(p + 8, 0, 16);
	p[8] = (uint8_t)(port >> 8);
	p[9] = (uint8_t)port;
	const uint8_t act[8] = { PK_OP_PORT, 4, (uint8_t)(to >> 8), (uint8_t)to };
	memcpy(p + 24, act, 8);
	return h.len;
}

static void test_table_entries(void **state)
{
	struct devif_sqe s;
	struct devif_cqe c;
	struct devif_entry_result res[3];
	size_t off;

	(void)state;
	table_create();
	/* a good record, a malformed one (length not a multiple of 8), and
	 * one after it that can no longer be found */
	memset(D.buf, 0, 4096);
	off = 3 * 16;
	off += add_rec(D.buf + off, 0, 1);
	off += add_rec(D.buf + off, 1, 0);
	((struct devif_add_hdr *)(D.buf + 3 * 16 + 32))->len = 30;
	off += add_rec(D.buf + off, 2, 0);
	s = sqe_data(DEVIF_OP_ENTRY_ADD, 0, (uint32_t)off);
	s.count = 3;
	c = cmd(&s);
	memcpy(res, D.buf, sizeof(res));
	assert_int_equal(c.status, DEVIF_S_PARTIAL);
	assert_int_equal(c.done, 3);
	assert_int_equal(c.failed, 2);
	assert_int_equal(c.first_failed, 1);
	assert_int_equal(res[0].status, DEVIF_S_OK);
	assert_true(res[0].handle != 0);
	assert_int_equal(res[1].status, DEVIF_S_INVALID);
	assert_int_equal(res[2].status, DEVIF_S_INVALID);
	handle0 = res[0].handle;

	/* the same key again: EXISTS; an action port out of range: RANGE at
	 * position 0; a block whose op does not chain: INVALID */
	memset(D.buf, 0, 4096);
	off = 3 * 16;
	off += add_rec(D.buf + off, 0, 1);
	off += add_rec(D.buf + off, 1, 70);
	add_rec(D.buf + off, 2, 0);
	D.buf[off + 25] = 3; /* the op's length */
	off += 32;
	s = sqe_data(DEVIF_OP_ENTRY_ADD, 0, (uint32_t)off);
	s.count = 3;
	c = cmd(&s);
	memcpy(res, D.buf, sizeof(res));
	assert_int_equal(c.status, DEVIF_S_PARTIAL);
	assert_int_equal(res[0].status, DEVIF_S_EXISTS);
	assert_int_equal(res[1].status, DEVIF_S_RANGE);
	assert_int_equal(res[1].detail_kind, DEVIF_DETAIL_ACTION);
	assert_int_equal(res[1].detail, 0);
	assert_int_equal(res[2].status, DEVIF_S_INVALID);

	/* a batch on a table the device does not hold */
	s = sqe_data(DEVIF_OP_ENTRY_ADD, 5, 64);
	assert_int_equal(cmd(&s).status, DEVIF_S_NO_TABLE);
	/* more records than the buffer holds */
	s = sqe_data(DEVIF_OP_ENTRY_ADD, 0, 64);
	s.count = 1000;
	assert_int_equal(cmd(&s).status, DEVIF_S_INVALID);
}

static void test_wire(void **state)
{
	uint8_t frame[60], got[sizeof(frame)];
	struct devif_sqe s;
	struct devif_cqe c;

	(void)state;
	for (unsigned i = 0; i < sizeof(frame); i++)
		frame[i] = (uint8_t)(i * 7 + 1);
	frame[0] = 0x02; /* unicast destination */
	frame[12] = 0x08;
	frame[13] = 0x00;
	memcpy(D.buf, frame, sizeof(frame));
	s = sqe_data(DEVIF_OP_WIRE_INJECT, 0, sizeof(frame));
	assert_int_equal(cmd(&s).status, DEVIF_S_OK);
	s = sqe(DEVIF_OP_WIRE_RUN, 0);
	c = cmd(&s);
	assert_int_equal(c.status, DEVIF_S_OK);
	assert_true(c.result >= 1);
	memset(D.buf, 0, HW_MAX_FRAME);
	s = sqe_data(DEVIF_OP_WIRE_CAPTURE, 1, HW_MAX_FRAME);
	c = cmd(&s);
	assert_int_equal(c.status, DEVIF_S_OK);
	assert_int_equal(c.result, sizeof(frame));
	memcpy(got, D.buf, sizeof(got));
	assert_memory_equal(got, frame, sizeof(frame));
	/* nothing more on that wire */
	s = sqe_data(DEVIF_OP_WIRE_CAPTURE, 1, HW_MAX_FRAME);
	c = cmd(&s);
	assert_int_equal(c.status, DEVIF_S_OK);
	assert_int_equal(c.result, 0);

	/* the entry counted it */
	memcpy(D.buf, &handle0, 8);
	s = sqe_data(DEVIF_OP_COUNTER_READ, 0, 8 + 32);
	c = cmd(&s);
	assert_int_equal(c.status, DEVIF_S_OK);
	struct devif_counter_result cr;
	memcpy(&cr, D.buf + 8, sizeof(cr));
	assert_int_equal(cr.status, DEVIF_S_OK);
	assert_int_equal(cr.packets, 1);
	assert_int_equal(cr.bytes, sizeof(frame));
	assert_true(cr.last_hit != 0);
	/* a handle the device never gave */
	uint64_t h = handle0 + 12345;
	memcpy(D.buf, &h, 8);
	s = sqe_data(DEVIF_OP_COUNTER_READ, 0, 8 + 32);
	c = cmd(&s);
	memcpy(&cr, D.buf + 8, sizeof(cr));
	assert_int_equal(cr.status, DEVIF_S_NO_ENTRY);
	/* a whole-table dump has the one entry */
	s = sqe_data(DEVIF_OP_COUNTER_DUMP, 0, 4 * 32);
	s.count = 4;
	c = cmd(&s);
	assert_int_equal(c.status, DEVIF_S_OK);
	assert_int_equal(c.done, 1);
	assert_int_equal(c.result, 0);
	struct devif_counter_dump_rec dr;
	memcpy(&dr, D.buf, sizeof(dr));
	assert_int_equal(dr.handle, handle0);
	assert_int_equal(dr.packets, 1);
	/* port counters */
	s = sqe_data(DEVIF_OP_STATS_READ, 0, 2 * 80);
	s.arg1 = 0;
	s.count = 2;
	c = cmd(&s);
	assert_int_equal(c.status, DEVIF_S_OK);
	struct devif_port_stats_rec ps[2];
	memcpy(ps, D.buf, sizeof(ps));
	assert_int_equal(ps[0].rx_packets, 1);
	assert_int_equal(ps[1].tx_packets, 1);
}


/* An IPv4/UDP frame to @dst. */
static size_t ipv4_frame(uint8_t *f, uint32_t dst)
{
	static const uint8_t hdr[14] = { 2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, 0xa, 0x08, 0x00 };
	uint32_t sum = 0;

	memset(f, 0, 60);
	memcpy(f, hdr, 14);
	uint8_t *ip = f + 14;
	ip[0] = 0x45;
	ip[3] = 46; /* total length: 20 + 8 + 18 */
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = 10, ip[13] = 9, ip[14] = 9, ip[15] = 9;
	ip[16] = (uint8_t)(dst >> 24), ip[17] = (uint8_t)(dst >> 16);
	ip[18] = (uint8_t)(dst >> 8), ip[19] = (uint8_t)dst;
	for (int i = 0; i < 20; i += 2)
		sum += (uint32_t)ip[i] << 8 | ip[i + 1];
	while (sum >> 16)
		sum = (sum & 0xFFFF) + (sum >> 16);
	ip[10] = (uint8_t)(~sum >> 8), ip[11] = (uint8_t)~sum;
	uint8_t *udp = ip + 20;
	udp[1] = 100, udp[3] = 53, udp[5] = 26;
	return 60;
}

/* An LPM record: ipv4_dst @dst/@plen -> port @to (key 10 bytes). */
static size_t lpm_rec(uint8_t *p, uint32_t dst, unsigned plen, uint16_t to)
{
	struct devif_add_hdr h = { .len = 8 + 10 + 10 + 4, .flags = DEVIF_REC_F_MASK,
				   .actions_len = 4 };
	uint32_t m = plen ? ~0u << (32 - plen) : 0;

	memcpy(p, &h, sizeof(h));
	memset(p + 8, 0, 20);
	for (int i = 0; i < 4; i++) {
		p[8 + i] = (uint8_t)(dst >> (24 - 8 * i));
		p[18 + i] = (uint8_t)(m >> (24 - 8 * i));
	}
	const uint8_t act[4] = { PK_OP_PORT, 4, (uint8_t)(to >> 8), (uint8_t)to };
	memcpy(p + 28, act, 4);
	return h.len;
}

static ssize_t wire_through(uint32_t in, const uint8_t *f, size_t len, uint32_t out)
{
	struct devif_sqe s;
	struct devif_cqe c;

	memcpy(D.buf, f, len);
	s = sqe_data(DEVIF_OP_WIRE_INJECT, in, (uint32_t)len);
	assert_int_equal(cmd(&s).status, DEVIF_S_OK);
	s = sqe(DEVIF_OP_WIRE_RUN, 0);
	assert_int_equal(cmd(&s).status, DEVIF_S_OK);
	s = sqe_data(DEVIF_OP_WIRE_CAPTURE, out, HW_MAX_FRAME);
	c = cmd(&s);
	assert_int_equal(c.status, DEVIF_S_OK);
	return (ssize_t)c.result;
}

/* LPM: the longest prefix wins, whatever the order of the adds; a mask
 * that is no prefix is refused. */
static void test_lpm(void **state)
{
	struct devif_table_desc d;
	struct devif_entry_result res[3];
	struct devif_sqe s;
	struct devif_cqe c;
	uint8_t f[60];
	size_t off, len = ipv4_frame(f, 0x0a010203);

	(void)state;
	memset(&d, 0, sizeof(d));
	d.id = 1;
	d.type = PK_LPM;
	d.miss = PK_MISS_DROP;
	d.n_fields = 1;
	d.key_bytes = 10;
	d.capacity = 64;
	d.priorities = 1;
	d.max_masks = 33;
	d.action_bytes = 16;
	d.fields = 1u << PK_IPV4_DST;
	memset(d.field, 0xFF, sizeof(d.field));
	d.field[0] = PK_IPV4_DST;
	memcpy(D.buf, &d, sizeof(d));
	s = sqe_data(DEVIF_OP_TABLE_CREATE, 1, sizeof(d));
	assert_int_equal(cmd(&s).status, DEVIF_S_OK);
	/* /16 first, then /8, then a mask with a hole */
	memset(D.buf, 0, 4096);
	off = 3 * 16;
	off += lpm_rec(D.buf + off, 0x0a010000, 16, 3);
	off += lpm_rec(D.buf + off, 0x0a000000, 8, 4);
	size_t holed = off;
	off += lpm_rec(D.buf + off, 0x0a000000, 8, 4);
	D.buf[holed + 18 + 2] = 0x80;
	s = sqe_data(DEVIF_OP_ENTRY_ADD, 1, (uint32_t)off);
	s.count = 3;
	c = cmd(&s);
	memcpy(res, D.buf, sizeof(res));
	assert_int_equal(c.status, DEVIF_S_PARTIAL);
	assert_int_equal(res[0].status, DEVIF_S_OK);
	assert_int_equal(res[1].status, DEVIF_S_OK);
	assert_int_equal(res[2].status, DEVIF_S_INVALID);
	/* 10.1.2.3 arriving on port 1 misses table 0 and takes the /16 */
	assert_int_equal(wire_through(1, f, len, 3), (ssize_t)len);
	assert_int_equal(wire_through(1, f, len, 4), 0);
	/* without the /16, the /8 */
	memcpy(D.buf + 16, &res[0].handle, 8);
	s = sqe_data(DEVIF_OP_ENTRY_DEL, 1, 16 + 8);
	assert_int_equal(cmd(&s).status, DEVIF_S_OK);
	assert_int_equal(wire_through(1, f, len, 4), (ssize_t)len);
}

/* FAULT 2: the completion after the FAULT's own is garbage. */
static void test_fault_garbage(void **state)
{
	struct devif_sqe s = sqe(DEVIF_OP_FAULT, DEVIF_FAULT_GARBAGE_CQE);
	struct devif_cqe c;

	(void)state;
	assert_int_equal(cmd(&s).status, DEVIF_S_OK);
	s = sqe(DEVIF_OP_NOP, 0);
	c = cmd_raw(&s);
	assert_int_not_equal(c.cid, s.cid);
	assert_true(c.status > DEVIF_S_MAX);
	s = sqe(DEVIF_OP_NOP, 0);
	c = cmd(&s);
	assert_int_equal(c.status, DEVIF_S_OK);
}

static void test_events(void **state)
{
	struct devif_sqe s;
	void *p;

	(void)state;
	D.eq_iova = dma_alloc(EQN * 32, &p);
	D.eq = p;
	D.eq_head = 0;
	D.eq_phase = 1;
	struct devif_eq_setup e = { .base = D.eq_iova, .size = EQN, .vector = 1,
				    .flags = DEVIF_EQ_F_ENABLE, .types = 1u << DEVIF_EV_LINK };
	s = sqe(DEVIF_OP_EQ_SETUP, 0);
	memcpy(s.inline_data, &e, sizeof(e));
	assert_int_equal(cmd(&s).status, DEVIF_S_OK);
	s = sqe(DEVIF_OP_LINK_SET, 1);
	s.arg1 = 0;
	assert_int_equal(cmd(&s).status, DEVIF_S_OK);
	uint8_t *flags = (uint8_t *)&D.eq[0] + 31;
	for (int i = 0; i < 10000 && !(__atomic_load_n(flags, __ATOMIC_ACQUIRE) & 1); i++)
		pause_ms(1);
	assert_int_equal(__atomic_load_n(flags, __ATOMIC_ACQUIRE) & 1, 1);
	struct devif_event ev = D.eq[0];
	struct devif_ev_link l;
	memcpy(&l, ev.payload, sizeof(l));
	assert_int_equal(ev.type, DEVIF_EV_LINK);
	assert_int_equal(ev.seq, 0);
	assert_int_equal(l.port, 1);
	assert_int_equal(l.up, 0);
	D.eq_head = 1;
	db(DB_EQ_HEAD, 1);
	/* the port table follows */
	const struct devif_port_entry *pt =
		(const struct devif_port_entry *)(D.shm + DEVIF_SHM_BAR0 + REG_PORT_TABLE);
	assert_int_equal(__atomic_load_n(&pt[1].flags, __ATOMIC_ACQUIRE) & DEVIF_PORT_F_LINK, 0);
	/* a SOFT_RESET: entries gone, then a RESET event of phase 2 */
	s = sqe(DEVIF_OP_SOFT_RESET, 0);
	struct devif_cqe c = cmd(&s);
	assert_int_equal(c.status, DEVIF_S_OK);
	assert_int_equal(c.result, 2); /* the entry of table 0 and the /8 */
	flags = (uint8_t *)&D.eq[1] + 31;
	for (int i = 0; i < 10000 && !(__atomic_load_n(flags, __ATOMIC_ACQUIRE) & 1); i++)
		pause_ms(1);
	ev = D.eq[1];
	struct devif_ev_reset r;
	memcpy(&r, ev.payload, sizeof(r));
	assert_int_equal(ev.type, DEVIF_EV_RESET);
	assert_int_equal(ev.seq, 1);
	assert_int_equal(r.phase, 2);
	/* the port counters go on (7.7) */
	s = sqe_data(DEVIF_OP_STATS_READ, 0, 80);
	c = cmd(&s);
	assert_int_equal(c.status, DEVIF_S_OK);
	struct devif_port_stats_rec ps;
	memcpy(&ps, D.buf, sizeof(ps));
	assert_int_equal(ps.rx_packets, 1);
	/* the table is gone until created again */
	memcpy(D.buf, &handle0, 8);
	s = sqe_data(DEVIF_OP_COUNTER_READ, 0, 8 + 32);
	assert_int_equal(cmd(&s).status, DEVIF_S_NO_TABLE);
	table_create();
	s = sqe_data(DEVIF_OP_COUNTER_READ, 0, 8 + 32);
	c = cmd(&s);
	struct devif_counter_result cr;
	memcpy(&cr, D.buf + 8, sizeof(cr));
	assert_int_equal(cr.status, DEVIF_S_NO_ENTRY);
}

/* Garbage from the driver: random commands with random arguments, inline
 * data and data buffers (inside the window or not) each get a completion
 * with a status the interface knows, and the device still works after.
 * (FAULT and WIRE_ATTACH are left out: they stop the device or cable it to
 * the host on purpose.) */
static void test_garbage_commands(void **state)
{
	static const uint8_t ops[] = {
		DEVIF_OP_NOP, DEVIF_OP_TABLE_CREATE, DEVIF_OP_TABLE_DESTROY,
		DEVIF_OP_ENTRY_ADD, DEVIF_OP_ENTRY_DEL, DEVIF_OP_ENTRY_MODIFY,
		DEVIF_OP_COUNTER_READ, DEVIF_OP_COUNTER_DUMP, DEVIF_OP_PORT_QUERY,
		DEVIF_OP_PORT_CONFIG, DEVIF_OP_STATS_READ, DEVIF_OP_BOND_CREATE,
		DEVIF_OP_BOND_DESTROY, DEVIF_OP_BOND_MEMBER, DEVIF_OP_BOND_QUERY,
		DEVIF_OP_PIPELINE_PAUSE, DEVIF_OP_TRACE, DEVIF_OP_FW_BEGIN,
		DEVIF_OP_EQ_SETUP, DEVIF_OP_HOSTQ_SETUP, DEVIF_OP_FUNC_QUERY,
		DEVIF_OP_WIRE_INJECT, DEVIF_OP_WIRE_CAPTURE, DEVIF_OP_WIRE_RUN,
		DEVIF_OP_LINK_SET, DEVIF_OP_FAIL_OPS, DEVIF_OP_REJECT_ACTIONS, 0x7F, 0xFF,
	};
	uint64_t x = 0x9E3779B97F4A7C15ull;
#define RND() (x ^= x << 13, x ^= x >> 7, x ^= x << 17, x)

	(void)state;
	for (int i = 0; i < 3000; i++) {
		struct devif_sqe s;
		uint8_t *raw = (uint8_t *)&s;
		for (unsigned b = 0; b < sizeof(s); b++)
			raw[b] = (uint8_t)RND();
		s.opcode = ops[RND() % sizeof(ops)];
		s.flags &= (RND() & 1) ? 0xFF : DEVIF_SQE_F_DATA;
		/* small numbers are the interesting ones */
		if (RND() & 1)
			s.count = (uint32_t)(RND() % 5);
		if (RND() & 1)
			s.arg0 = (uint32_t)(RND() % 8);
		if (RND() & 1)
			s.arg1 = (uint32_t)(RND() % 70);
		if (RND() & 1)
			s.arg2 = (uint32_t)(RND() % 2048);
		switch (RND() % 4) {
		case 0: /* inside the command buffer, random contents */
			s.data_addr = D.buf_iova + (RND() % 4096 & ~7ull);
			s.data_len = (uint32_t)(RND() % 8192);
			for (unsigned b = 0; b < 8192; b++)
				D.buf[b] = (uint8_t)RND();
			break;
		case 1: /* anywhere near the window's end */
			s.data_addr = D.dma_iova + D.dma_len - RND() % 16384;
			s.data_len = (uint32_t)(RND() % 32768);
			break;
		case 2: /* nothing */
			s.flags &= (uint8_t)~DEVIF_SQE_F_DATA;
			s.data_addr = 0;
			s.data_len = 0;
			break;
		default: /* as it came */
			break;
		}
		struct devif_cqe c = cmd(&s);
		assert_true(c.status <= DEVIF_S_MAX);
		assert_true(c.done <= s.count);
		if (s.opcode == DEVIF_OP_PIPELINE_PAUSE && c.status == DEVIF_S_OK && s.arg0) {
			struct devif_sqe r = sqe(DEVIF_OP_PIPELINE_PAUSE, 0);
			assert_int_equal(cmd(&r).status, DEVIF_S_OK);
		}
	}
#undef RND
	/* still a working device */
	struct devif_sqe s = sqe(DEVIF_OP_NOP, 0);
	assert_int_equal(cmd(&s).status, DEVIF_S_OK);
	assert_int_equal(rd(REG_DEV_MAGIC), DEVIF_MAGIC);
	assert_int_equal(rd(REG_DEV_STATUS) & (DEVIF_ST_READY | DEVIF_ST_FATAL), DEVIF_ST_READY);
}

/* Harness arguments (7.12): FAIL_OPS with count 0 stops failing whatever
 * its errno; a refused argument is named in the completion's detail. */
static void test_harness_args(void **state)
{
	struct devif_sqe s;
	struct devif_cqe c;

	(void)state;
	s = sqe(DEVIF_OP_FAIL_OPS, 5);
	s.arg1 = 0;
	c = cmd(&s);
	assert_int_equal(c.status, DEVIF_S_INVALID);
	assert_int_equal(c.detail, 2); /* arg1 */
	s = sqe(DEVIF_OP_FAIL_OPS, 5);
	s.arg1 = 99999;
	c = cmd(&s);
	assert_int_equal(c.status, DEVIF_S_INVALID);
	assert_int_equal(c.detail, 2);
	s = sqe(DEVIF_OP_FAIL_OPS, 3);
	s.arg1 = EIO;
	assert_int_equal(cmd(&s).status, DEVIF_S_OK);
	s = sqe(DEVIF_OP_FAIL_OPS, 0);
	s.arg1 = 0;
	assert_int_equal(cmd(&s).status, DEVIF_S_OK); /* stop failing */
	/* WIRE_ATTACH: the port (arg0), the name (inline data) */
	s = sqe(DEVIF_OP_WIRE_ATTACH, 99);
	memcpy(s.inline_data, "lo", 3);
	c = cmd(&s);
	assert_int_equal(c.status, DEVIF_S_NO_PORT);
	assert_int_equal(c.detail, 1); /* arg0 */
	s = sqe(DEVIF_OP_WIRE_ATTACH, 0);
	c = cmd(&s); /* empty name */
	assert_int_equal(c.status, DEVIF_S_INVALID);
	assert_int_equal(c.detail, 3); /* inline data */
	s = sqe(DEVIF_OP_WIRE_ATTACH, 0);
	memset(s.inline_data, 'x', sizeof(s.inline_data)); /* no NUL */
	c = cmd(&s);
	assert_int_equal(c.status, DEVIF_S_INVALID);
	assert_int_equal(c.detail, 3);
	s = sqe(DEVIF_OP_WIRE_ATTACH, 0);
	memcpy(s.inline_data, "nonexist0dpk", 13);
	c = cmd(&s);
	assert_int_not_equal(c.status, DEVIF_S_OK);
	assert_int_equal(c.detail & 0xFF, 3);
	assert_int_not_equal(c.detail >> 16, 0); /* the errno of the attach */
}

static void test_second_driver(void **state)
{
	struct devif_hello h;
	int fds[1 + DEVIF_N_VECTORS], n, s;

	(void)state;
	assert_int_equal(connect_dev(&s, &h, fds, &n), EBUSY);
	assert_int_equal(n, 0);
	close(s);
	/* the first driver is unaffected */
	struct devif_sqe q = sqe(DEVIF_OP_NOP, 0);
	assert_int_equal(cmd(&q).status, DEVIF_S_OK);
}

static void test_reset(void **state)
{
	uint32_t count = rd(REG_RESET_COUNT), seq = rd(REG_RESET_ACK) + 1;

	(void)state;
	if (!seq)
		seq = 1;
	wr(REG_DRV_STATUS, 0);
	wr(REG_DEV_CONTROL, 0);
	wr(REG_RESET_REQ, seq);
	assert_true(wait_reg(REG_RESET_ACK, ~0u, seq));
	assert_true(wait_reg(REG_DEV_STATUS, DEVIF_ST_READY | DEVIF_ST_RESETTING,
			     DEVIF_ST_READY));
	assert_int_equal(rd(REG_RESET_ACK), rd(REG_RESET_REQ));
	assert_true(rd(REG_RESET_COUNT) != count);
	assert_int_equal(rd(REG_RESET_REASON), DEVIF_RESET_DRIVER);
	assert_int_equal(rd(REG_DEV_STATUS) & (DEVIF_ST_ADMIN_ON | DEVIF_ST_VERSION_OK), 0);
	assert_int_equal(rd(REG_DEV_MAGIC), DEVIF_MAGIC);
	/* a new bring-up: the table is gone */
	D.dma_used = 0;
	D.buf = NULL;
	D.cid = 0;
	bring_up();
	memcpy(D.buf, &handle0, 8);
	struct devif_sqe s = sqe_data(DEVIF_OP_COUNTER_READ, 0, 8 + 32);
	assert_int_equal(cmd(&s).status, DEVIF_S_NO_TABLE);
}

static void test_driver_leaves(void **state)
{
	struct devif_hello h;
	int fds[1 + DEVIF_N_VECTORS], n;
	uint32_t count = rd(REG_RESET_COUNT);

	(void)state;
	/* the function goes (FAULT 6): BAR0 reads all ones */
	struct devif_sqe s = sqe(DEVIF_OP_FAULT, DEVIF_FAULT_DEAD);
	assert_int_equal(cmd(&s).status, DEVIF_S_OK);
	assert_true(wait_reg(REG_DEV_MAGIC, ~0u, ~0u));
	assert_int_equal(rd(REG_DEV_STATUS), ~0u);
	close(D.sock);
	D.sock = -1;
	/* the old mapping still shows the device: it resets as an FLR, every
	 * register back to its reset value */
	assert_true(wait_reg(REG_RESET_REASON, ~0u, DEVIF_RESET_FLR));
	assert_int_equal(rd(REG_DEV_MAGIC), DEVIF_MAGIC);
	assert_int_equal(rd(0x001C), 0); /* reserved */
	assert_int_equal(rd(REG_RESET_REQ), 0);
	assert_true(rd(REG_RESET_COUNT) != count);
	assert_int_equal(rd(REG_DEV_STATUS) & DEVIF_ST_ADMIN_ON, 0);
	assert_false(hw_pcidev_done(D.fe));
	/* and the next driver is served */
	for (int i = 0; i < 100; i++) {
		int st = connect_dev(&D.sock, &h, fds, &n);
		if (st == 0)
			break;
		close(D.sock);
		D.sock = -1;
		pause_ms(10);
	}
	assert_true(D.sock >= 0);
	assert_int_equal(n, 1 + DEVIF_N_VECTORS);
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

static void test_dump(void **state)
{
	struct dpak_pci_fn fn;
	char text[4096] = "", line[256];
	FILE *f;

	(void)state;
	assert_non_null(f = fopen(hw_pcidev_dump_path(D.fe), "r"));
	while (fgets(line, sizeof(line), f))
		if (strlen(text) + strlen(line) < sizeof(text))
			strcat(text, line);
	fclose(f);
	assert_non_null(strstr(text, "0000:03:00.0 "));
	assert_non_null(strstr(text, "00: ac d9 01 d0"));
	/* discovery (libpci's dump access) finds the function, ours, with a
	 * revision it drives and its MSI-X vectors */
	assert_int_equal(setenv("DPAK_PCI_DUMP", hw_pcidev_dump_path(D.fe), 1), 0);
	int err = dpak__pci_find("0000:03:00.0", &fn);
	assert_int_equal(err, 0);
	assert_int_equal(fn.vendor_id, DEVIF_VENDOR_ID);
	assert_int_equal(fn.device_id, DEVIF_DEVICE_ID);
	assert_int_equal(fn.revision, DEVIF_REVISION);
	assert_int_equal(fn.class_code, DEVIF_CLASS);
	assert_true(fn.ours);
	assert_true(fn.rev_ok);
	assert_true(fn.msix);
	assert_int_equal(fn.msix_vectors, DEVIF_N_VECTORS);
	assert_true(fn.bar[0].mem64);
	assert_true(fn.bar[0].addr != 0);
	unsetenv("DPAK_PCI_DUMP");

	/* a second front end in the same directory adds its own entry, and
	 * removes it when it goes; the first stays */
	struct hw_pcidev *fe2;
	struct hw_pcidev_cfg cfg = { .hwsim_args = "uplinks=1,pfs=0,vfs=0", .bdf = "0000:04:00.0",
				     .dir = D.dir, .dma_len = 1u << 20, .log = quiet };
	assert_int_equal(hw_pcidev_create(&cfg, &fe2), 0);
	setenv("DPAK_PCI_DUMP", hw_pcidev_dump_path(D.fe), 1);
	assert_int_equal(dpak__pci_find("0000:04:00.0", &fn), 0);
	assert_int_equal(dpak__pci_find("0000:03:00.0", &fn), 0);
	hw_pcidev_destroy(fe2);
	assert_int_not_equal(dpak__pci_find("0000:04:00.0", &fn), 0);
	assert_int_equal(dpak__pci_find("0000:03:00.0", &fn), 0);
	unsetenv("DPAK_PCI_DUMP");
	/* the same address twice is refused */
	cfg.bdf = "0000:03:00.0";
	assert_int_equal(hw_pcidev_create(&cfg, &fe2), -EADDRINUSE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_identity),
		cmocka_unit_test(test_memfd_sealed),
		cmocka_unit_test(test_version),
		cmocka_unit_test(test_admin),
		cmocka_unit_test(test_out_of_window),
		cmocka_unit_test(test_table_entries),
		cmocka_unit_test(test_wire),
		cmocka_unit_test(test_lpm),
		cmocka_unit_test(test_fault_garbage),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_garbage_commands),
		cmocka_unit_test(test_harness_args),
		cmocka_unit_test(test_second_driver),
		cmocka_unit_test(test_reset),
		cmocka_unit_test(test_driver_leaves),
		cmocka_unit_test(test_dump),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
