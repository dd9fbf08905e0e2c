/* SPDX-License-Identifier: MIT */
/*
 * The pci backend against register-level faults (docs/device-interface.md
 * sections 7.12 and 12): hwsim's device front end runs in this process
 * (hw_pcidev_create, a thread of its own) in a fresh directory named by
 * DPAK_HWSIM_PCI_DIR and DPAK_PCI_DUMP, and the device is opened through
 * the public API as "pci:0000:03:00.0,timeout_ms=1000". Every case first
 * offloads flows that forward frames (over the test harness), then makes
 * the device misbehave with a FAULT command, and checks the error the call
 * gives and that nothing was lost: every flow forwards again afterwards.
 * No timing is asserted; timeout_ms=1000 only caps the timeouts (batches
 * would otherwise wait up to 10 s).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <dpak/dpak.h>
#include "core.h"
#include "ctl.h"
#include "pcidev.h"
#include "backends/pci/drv.h"
#include "pkt.h"

#define BDF "0000:03:00.0"
#define SPEC "pci:" BDF ",timeout_ms=1000"
#define N_BATCH 16

static const uint8_t ONES6[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

struct fx {
	char dir[64];
	struct hw_pcidev *fe;
	struct dpak_dev *dev;
	struct dpak_table *l2;
	struct dpak_flow *a;           /* in_port 0, dst ..:01 -> port 1 */
	struct dpak_flow *batch[N_BATCH];
	uint8_t out[9300];
};

static void fe_log(int level, const char *msg)
{
	if (level == 0)
		fprintf(stderr, "front end: %s\n", msg);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));
	struct dpak_dev_opts o = { .sz = sizeof(o), .queues = 1, .queue_size = 64,
				   .pool_size = 256 };

	assert_non_null(f);
	snprintf(f->dir, sizeof(f->dir), "/tmp/dpak-pcif.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	struct hw_pcidev_cfg cfg = { .hwsim_args = "uplinks=2,pfs=1,vfs=2",
				     .bdf = BDF, .dir = f->dir, .log = fe_log };
	assert_int_equal(hw_pcidev_create(&cfg, &f->fe), 0);
	assert_int_equal(setenv("DPAK_HWSIM_PCI_DIR", f->dir, 1), 0);
	assert_int_equal(setenv("DPAK_PCI_DUMP", hw_pcidev_dump_path(f->fe), 1), 0);
	f->dev = dpak_dev_open(SPEC, &o);
	if (!f->dev)
		fprintf(stderr, "open: %s\n", dpak_errmsg());
	assert_non_null(f->dev);
	f->l2 = dpak_table_get(f->dev, "l2");
	assert_non_null(f->l2);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char path[128];

	dpak_dev_close(f->dev);
	if (f->fe)
		hw_pcidev_destroy(f->fe);
	snprintf(path, sizeof(path), "%s/pci.dump", f->dir);
	unlink(path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void dst_of(uint8_t *mac, unsigned i)
{
	static const uint8_t base[6] = { 0x02, 0, 0, 0, 0x10, 0 };
	memcpy(mac, base, 6);
	mac[4] = (uint8_t)(0x10 + i / 256);
	mac[5] = (uint8_t)i;
}

/* l2 flow: in_port 0, eth_dst of index @i, vlan tci 0 -> port @out, count. */
struct l2req {
	struct dpak_item_port port;
	struct dpak_item_eth eth, eth_m;
	struct dpak_item_vlan vl, vl_m;
	struct dpak_item items[4];
	struct dpak_action_port to;
	struct dpak_action acts[3];
};

static void l2_req(struct l2req *r, unsigned i, uint32_t out)
{
	memset(r, 0, sizeof(*r));
	r->port.id = 0;
	dst_of(r->eth.dst, i);
	memcpy(r->eth_m.dst, ONES6, 6);
	r->vl_m.tci = 0xffff;
	r->items[0] = (struct dpak_item){ DPAK_ITEM_PORT, &r->port, NULL };
	r->items[1] = (struct dpak_item){ DPAK_ITEM_ETH, &r->eth, &r->eth_m };
	r->items[2] = (struct dpak_item){ DPAK_ITEM_VLAN, &r->vl, &r->vl_m };
	r->items[3] = (struct dpak_item){ DPAK_ITEM_END, NULL, NULL };
	r->to.id = out;
	r->acts[0] = (struct dpak_action){ DPAK_ACTION_COUNT, NULL };
	r->acts[1] = (struct dpak_action){ DPAK_ACTION_PORT, &r->to };
	r->acts[2] = (struct dpak_action){ DPAK_ACTION_END, NULL };
}

static int l2_add(struct fx *f, unsigned i, uint32_t out, struct dpak_flow **fl)
{
	struct l2req r;

	l2_req(&r, i, out);
	return dpak_flow_add(f->l2, r.items, r.acts, NULL, fl);
}

/* A frame to dst @i in on port 0 comes out of port @out unchanged. */
static void forwards(struct fx *f, unsigned i, uint32_t out)
{
	struct pkt_spec s = { .src = { 0x02, 0, 0, 0, 0, 0x99 }, .sip = 0x0a000001,
			      .dip = 0x0a000002, .proto = 17, .sport = 1000,
			      .dport = 2000, .payload = 40 };
	uint8_t frame[256];
	size_t len;
	ssize_t n;

	dst_of(s.dst, i);
	len = pkt_build(frame, &s);
	if (dpak_hwsim_inject(f->dev, 0, frame, len))
		fail_msg("inject: %s", dpak_errmsg());
	assert_true(dpak_hwsim_run(f->dev, 0) >= 1);
	n = dpak_hwsim_capture(f->dev, out, f->out, sizeof(f->out));
	if (n != (ssize_t)len)
		fail_msg("dst %u: captured %zd bytes on port %u, sent %zu (%s)", i, n,
			 out, len, n < 0 ? dpak_errmsg() : "");
	assert_memory_equal(f->out, frame, len);
}

static uint64_t packets(struct dpak_flow *fl)
{
	struct dpak_flow_stats st = { .sz = sizeof(st) };

	assert_int_equal(dpak_flow_query(fl, &st), 0);
	return st.packets;
}

static struct dpak_pci_counters counters(struct fx *f)
{
	struct dpak_pci_counters c;

	assert_int_equal(dpak__pci_counters(f->dev, &c), 0);
	return c;
}

/* Flow a, and a batch of N_BATCH more (one ENTRY_ADD), all forwarding. */
static void offload(struct fx *f)
{
	struct l2req r[N_BATCH];
	struct dpak_flow_req reqs[N_BATCH];
	int res[N_BATCH];

	assert_int_equal(l2_add(f, 0, 1, &f->a), 0);
	for (unsigned i = 0; i < N_BATCH; i++) {
		l2_req(&r[i], 100 + i, 2);
		reqs[i] = (struct dpak_flow_req){ r[i].items, r[i].acts, NULL };
	}
	assert_int_equal(dpak_flow_add_batch(f->l2, reqs, N_BATCH, f->batch, res),
			 N_BATCH);
	for (unsigned i = 0; i < N_BATCH; i++)
		assert_int_equal(res[i], 0);
	forwards(f, 0, 1);
	forwards(f, 100, 2);
	forwards(f, 100 + N_BATCH - 1, 2);
}

/* Every flow offloaded and forwarding. */
static void all_back(struct fx *f)
{
	assert_int_equal(dpak_flow_state(f->a), DPAK_FLOW_OFFLOADED);
	for (unsigned i = 0; i < N_BATCH; i++)
		assert_int_equal(dpak_flow_state(f->batch[i]), DPAK_FLOW_OFFLOADED);
	forwards(f, 0, 1);
	for (unsigned i = 0; i < N_BATCH; i += 5)
		forwards(f, 100 + i, 2);
}

static void msg_has(const char *needle)
{
	if (!strstr(dpak_errmsg(), needle))
		fail_msg("message \"%s\" lacks \"%s\"", dpak_errmsg(), needle);
}

/* A socket at <dir>/BDF.sock in a directory of its own that this test
 * serves; DPAK_HWSIM_PCI_DIR names it (the dump is the front end's).
 * Returns the listening socket; its directory in @dir. */
static int fake_front_end(char *dir, size_t len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	snprintf(dir, len, "/tmp/dpak-pcifake.XXXXXX");
	assert_non_null(mkdtemp(dir));
	size_t l = strlen(dir);
	assert_true(l + sizeof("/" BDF ".sock") <= sizeof(sa.sun_path));
	memcpy(sa.sun_path, dir, l);
	memcpy(sa.sun_path + l, "/" BDF ".sock", sizeof("/" BDF ".sock"));
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s, 4), 0);
	assert_int_equal(setenv("DPAK_HWSIM_PCI_DIR", dir, 1), 0);
	return s;
}

static void fake_gone(const char *dir)
{
	char path[128];

	snprintf(path, sizeof(path), "%s/%s.sock", dir, BDF);
	unlink(path);
	rmdir(dir);
}

/* A socket left by a front end that was killed: nothing listens. */
static void test_stale_socket(void **state)
{
	char dir[64];
	(void)state;

	close(fake_front_end(dir, sizeof(dir)));
	assert_null(dpak_dev_open(SPEC, NULL));
	assert_int_equal(errno, ENODEV);
	msg_has("no device front end listens on");
	msg_has("stale socket");
	fake_gone(dir);
}

/* A front end that accepts the connection and never sends its hello:
 * the open fails in the bring-up time. */
static void test_silent_front_end(void **state)
{
	char dir[64];
	(void)state;
	int s = fake_front_end(dir, sizeof(dir));

	assert_null(dpak_dev_open("pci:" BDF ",timeout_ms=200", NULL));
	assert_int_equal(errno, ETIMEDOUT);
	msg_has("sent no hello within 200 ms");
	close(s);
	fake_gone(dir);
}

/* A front end that serves one hello with a shared memory of its own,
 * sealed against resizing or not. */
struct fake_hello {
	int lsock, seal;
};

static void *fake_hello_thread(void *arg)
{
	struct fake_hello *fh = arg;
	size_t size = DEVIF_SHM_DMA + 4096;
	struct devif_hello h = { .magic = DEVIF_HELLO_MAGIC,
				 .version = DEVIF_HELLO_VERSION,
				 .shm_size = size, .dma_offset = DEVIF_SHM_DMA,
				 .dma_len = 4096, .dma_iova = 0x100000 };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	int c = accept(fh->lsock, NULL, NULL);
	int mfd = memfd_create("dpak-test", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (c < 0 || mfd < 0 || ftruncate(mfd, (off_t)size))
		return NULL;
	if (fh->seal)
		fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
	memset(cbuf, 0, sizeof(cbuf));
	struct cmsghdr *cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &mfd, sizeof(int));
	if (sendmsg(c, &m, 0) < 0)
		fprintf(stderr, "fake front end: sendmsg: %s\n", strerror(errno));
	char b;
	while (read(c, &b, 1) > 0) /* until the driver leaves */
		;
	close(mfd);
	close(c);
	return NULL;
}

/* A front end whose shared memory could be shrunk under the driver (a
 * SIGBUS at its next access) is refused; one sealed passes that check. */
static void test_unsealed_memory(void **state)
{
	char dir[64];
	(void)state;
	struct fake_hello fh = { fake_front_end(dir, sizeof(dir)), 0 };
	pthread_t th;

	assert_int_equal(pthread_create(&th, NULL, fake_hello_thread, &fh), 0);
	assert_null(dpak_dev_open(SPEC, NULL));
	assert_int_equal(errno, EPROTO);
	msg_has("not sealed against resizing (F_SEAL_SHRINK); refused");
	pthread_join(th, NULL);
	fh.seal = 1;
	assert_int_equal(pthread_create(&th, NULL, fake_hello_thread, &fh), 0);
	assert_null(dpak_dev_open(SPEC, NULL)); /* no device in it */
	if (strstr(dpak_errmsg(), "sealed"))
		fail_msg("sealed memory refused: %s", dpak_errmsg());
	pthread_join(th, NULL);
	close(fh.lsock);
	fake_gone(dir);
}

static void test_forward_batch_counters(void **state)
{
	struct fx *f = *state;
	struct dpak_dev_info di = { .sz = sizeof(di) };

	assert_int_equal(dpak_dev_info(f->dev, &di), 0);
	assert_string_equal(di.backend, "pci");
	/* the device's capabilities, masked to what this library knows */
	assert_true(di.action_types & (1ull << DPAK_ACTION_PORT));
	assert_true(di.table_types & (1u << DPAK_TABLE_LPM));
	offload(f);
	assert_int_equal(packets(f->a), 1);
	assert_int_equal(packets(f->batch[0]), 1);
	forwards(f, 0, 1);
	forwards(f, 102, 2);
	assert_int_equal(packets(f->a), 2);
	/* delete, replace */
	assert_int_equal(dpak_flow_del(f->batch[1]), 0);
	struct dpak_action_port to = { 3 };
	struct dpak_action acts[] = { { DPAK_ACTION_COUNT, NULL },
				      { DPAK_ACTION_PORT, &to },
				      { DPAK_ACTION_END, NULL } };
	assert_int_equal(dpak_flow_replace_actions(f->batch[2], acts), 0);
	forwards(f, 102, 3);
	assert_int_equal(packets(f->batch[2]), 2); /* counters continue */
	/* an entry the device holds already */
	struct dpak_flow *dup;
	assert_int_equal(l2_add(f, 0, 1, &dup), -EEXIST);
	/* dpak-ctl trace: the device's steps, the core's flow and actions */
	{
		struct pkt_spec ps = { .src = { 0x02, 0, 0, 0, 0, 0x99 }, .sip = 1,
				       .dip = 2, .proto = 17, .payload = 8 };
		uint8_t fr[128];
		char line[CTL_MAX_REQ];
		static struct ctl_req rq;
		dst_of(ps.dst, 0);
		size_t len = pkt_build(fr, &ps);
		size_t o = (size_t)snprintf(line, sizeof(line), "DPAK/1 trace port=0 hex=");
		for (size_t i = 0; i < len; i++)
			o += (size_t)snprintf(line + o, sizeof(line) - o, "%02x", fr[i]);
		assert_int_equal(ctl_parse(line, o, &rq), 0);
		char *body = NULL;
		long blen = 0;
		assert_int_equal(ctl_run(f->dev, &rq, &body, &blen), 0);
		if (!strstr(body, "hit") || !strstr(body, "port:uplink1") ||
		    !strstr(body, "out of port uplink1"))
			fail_msg("trace:\n%s", body);
		free(body);
	}
	/* one driver at a time: a second open is refused, and says why */
	struct dpak_dev *second = dpak_dev_open(SPEC, NULL);
	assert_null(second);
	assert_int_equal(errno, EBUSY);
	msg_has("pci " BDF ": the device is in use by another driver");
	/* options: unknown ones and bad values are refused by name */
	assert_null(dpak_dev_open("pci:" BDF ",timeout_ms=0", NULL));
	msg_has("timeout_ms=0");
	assert_null(dpak_dev_open("pci:" BDF ",colour=red", NULL));
	msg_has("'colour' unknown");
	/* sim calls hwsim alone has */
	assert_int_equal(dpak_hwsim_pcap(f->dev, 0, DPAK_HWSIM_PCAP_OUT, "/dev/null"),
			 -EOPNOTSUPP);
	msg_has("not carried by the device interface");
}

static void test_never_completes(void **state)
{
	struct fx *f = *state;
	struct dpak_flow *b;

	offload(f);
	forwards(f, 0, 1);
	assert_int_equal(dpak__pci_fault(f->dev, DEVIF_FAULT_NO_COMPLETION, 1), 0);
	assert_int_equal(l2_add(f, 7, 1, &b), -ETIMEDOUT);
	msg_has("ENTRY_ADD");
	msg_has("timed out after 1000 ms; the device was reset and every flow restored");
	assert_true(counters(f).timeouts >= 1);
	assert_true(counters(f).resets >= 1);
	all_back(f);
	/* the add that timed out was not kept; it can be made again */
	assert_int_equal(l2_add(f, 7, 1, &b), 0);
	forwards(f, 7, 1);
}

static void test_garbage_completion(void **state)
{
	struct fx *f = *state;
	struct dpak_flow *b;

	offload(f);
	uint64_t bad = counters(f).bad_completions;
	/* the garbage is the next command's completion (7.12); a front end
	 * that garbles the FAULT command's own gives the timeout there */
	int rc = dpak__pci_fault(f->dev, DEVIF_FAULT_GARBAGE_CQE, 0);
	if (rc == 0)
		rc = l2_add(f, 7, 1, &b);
	assert_int_equal(rc, -ETIMEDOUT);
	msg_has("timed out");
	assert_true(counters(f).bad_completions > bad);
	all_back(f);
	/* dpak-ctl shows it */
	static struct ctl_req rq;
	const char *line = "DPAK/1 device-health";
	char *body = NULL;
	long blen = 0;
	assert_int_equal(ctl_parse(line, strlen(line), &rq), 0);
	assert_int_equal(ctl_run(f->dev, &rq, &body, &blen), 0);
	if (!strstr(body, "bad_completions") || !strstr(body, "up"))
		fail_msg("device-health:\n%s", body);
	free(body);
}

static void test_reset_in_batch(void **state)
{
	struct fx *f = *state;
	struct l2req r[N_BATCH];
	struct dpak_flow_req reqs[N_BATCH];
	struct dpak_flow *more[N_BATCH];
	int res[N_BATCH];

	offload(f);
	uint64_t before = packets(f->a);
	assert_int_equal(dpak_event_open(f->dev, NULL) >= 0, 1);
	for (unsigned i = 0; i < N_BATCH; i++) {
		l2_req(&r[i], 200 + i, 1);
		reqs[i] = (struct dpak_flow_req){ r[i].items, r[i].acts, NULL };
	}
	/* the device resets by itself after 5 records, without completing:
	 * the batch is submitted again once every earlier flow is back */
	assert_int_equal(dpak__pci_fault(f->dev, DEVIF_FAULT_RESET_IN_BATCH, 5), 0);
	assert_int_equal(dpak_flow_add_batch(f->l2, reqs, N_BATCH, more, res), N_BATCH);
	for (unsigned i = 0; i < N_BATCH; i++)
		assert_int_equal(res[i], 0);
	assert_true(counters(f).self_resets >= 1);
	all_back(f);
	for (unsigned i = 0; i < N_BATCH; i += 3)
		forwards(f, 200 + i, 1);
	/* documented loss: the counts since the last read went with the
	 * device; a's count restarts */
	(void)before;
	assert_true(packets(f->a) >= 1);
	/* the event channel said so */
	struct dpak_event ev = { .sz = sizeof(ev) };
	int seen = 0;
	while (dpak_event_next(f->dev, &ev) == 1)
		seen |= ev.type == DPAK_EVENT_RESET && ev.restored >= N_BATCH + 1;
	assert_true(seen);
}

static void test_resets_after_command(void **state)
{
	struct fx *f = *state;
	struct dpak_flow *b;

	offload(f);
	assert_int_equal(dpak_event_open(f->dev, NULL) >= 0, 1);
	assert_int_equal(dpak__pci_fault(f->dev, DEVIF_FAULT_RESET_NOW, 0), 0);
	/* the next call notices the reset, and the core restores first */
	assert_int_equal(l2_add(f, 9, 3, &b), 0);
	all_back(f);
	forwards(f, 9, 3);
	struct dpak_event ev = { .sz = sizeof(ev) };
	int seen = 0;
	while (dpak_event_next(f->dev, &ev) == 1)
		seen |= ev.type == DPAK_EVENT_RESET && !ev.retried;
	assert_true(seen);
	assert_true(counters(f).self_resets >= 1);
}

/* Counters read never go back: a flow whose counters were read keeps
 * them through a reset the device did by itself (carried into the entry
 * restored), and through the device going away (not restored). */
static void test_counters_kept(void **state)
{
	struct fx *f = *state;

	offload(f);
	for (unsigned i = 1; i < 100; i++)
		forwards(f, 0, 1);
	assert_int_equal(packets(f->a), 100);
	assert_int_equal(dpak__pci_fault(f->dev, DEVIF_FAULT_RESET_NOW, 0), 0);
	assert_true(packets(f->a) >= 100);
	assert_int_equal(dpak_flow_state(f->a), DPAK_FLOW_OFFLOADED);
	forwards(f, 0, 1);
	uint64_t n = packets(f->a);
	assert_true(n >= 101);
	hw_pcidev_destroy(f->fe);
	f->fe = NULL;
	assert_true(packets(f->a) >= n);
	assert_int_equal(dpak_flow_state(f->a), DPAK_FLOW_NOT_RESTORED);
	assert_true(packets(f->a) >= n);
}

static void test_stops_answering(void **state)
{
	struct fx *f = *state;
	struct dpak_port_stats ps = { .sz = sizeof(ps) };

	offload(f);
	assert_int_equal(dpak__pci_fault(f->dev, DEVIF_FAULT_STOP, 0), 0);
	assert_int_equal(dpak_port_stats(f->dev, 0, &ps), -ETIMEDOUT);
	msg_has("STATS_READ");
	all_back(f);
}

static void test_gone(void **state)
{
	struct fx *f = *state;
	struct dpak_port_stats ps = { .sz = sizeof(ps) };
	struct dpak_flow_stats st = { .sz = sizeof(st) };
	struct dpak_flow *b;

	offload(f);
	assert_int_equal(dpak__pci_fault(f->dev, DEVIF_FAULT_DEAD, 0), 0);
	assert_int_equal(l2_add(f, 7, 1, &b), -ENODEV);
	msg_has("the device stopped answering (BAR0 reads all ones)");
	/* the core learnt it: a's record stays, not in the device */
	assert_int_equal(dpak_flow_query(f->a, &st), 0);
	assert_int_equal(dpak_flow_state(f->a), DPAK_FLOW_NOT_RESTORED);
	assert_int_equal(dpak_port_stats(f->dev, 0, &ps), -ENODEV);
	assert_int_equal(dpak_hwsim_run(f->dev, 0), -ENODEV);
	/* every flow went with the device: kept by the core, not restored */
	assert_int_equal(dpak_flow_state(f->a), DPAK_FLOW_NOT_RESTORED);
	assert_int_equal(dpak_flow_restore(f->dev), N_BATCH + 1);
	msg_has("the device stopped answering");
	assert_int_equal(dpak_flow_state(f->batch[0]), DPAK_FLOW_NOT_RESTORED);
	/* deleting such a flow asks nothing of the device */
	assert_int_equal(dpak_flow_del(f->batch[0]), 0);
}

/* The front end goes away while the driver holds the device (its
 * connection closes; the registers stay as they were): the next call
 * fails ENODEV, not a timeout or EIO, and so does every later one; the
 * core keeps every flow, not restored. */
static void test_front_end_gone(void **state)
{
	struct fx *f = *state;
	struct dpak_port_stats ps = { .sz = sizeof(ps) };
	struct dpak_flow *b;

	offload(f);
	hw_pcidev_destroy(f->fe);
	f->fe = NULL;
	assert_int_equal(l2_add(f, 7, 1, &b), -ENODEV);
	msg_has("the device front end went away (its connection closed)");
	assert_int_equal(dpak_flow_state(f->a), DPAK_FLOW_NOT_RESTORED);
	assert_int_equal(dpak_flow_state(f->batch[3]), DPAK_FLOW_NOT_RESTORED);
	assert_int_equal(dpak_port_stats(f->dev, 0, &ps), -ENODEV);
	msg_has("went away");
	assert_int_equal(dpak_hwsim_run(f->dev, 0), -ENODEV);
	assert_int_equal(l2_add(f, 8, 1, &b), -ENODEV);
	assert_int_equal(dpak_flow_del(f->batch[3]), 0); /* not in the device */
}

/* The configinfo against the device's limits (device-interface.md 3.3):
 * refused at open, naming the line and the register. */
static void test_config_limits(void **state)
{
	struct fx *f = *state;
	DPAK_OPTS(dpak_dev_opts, o, .configinfo_text =
		  "device key-sizes=10,26 max-action-bytes=64\n"
		  "table name=big type=exact capacity=8388608 key=in_port,eth_dst\n");

	dpak_dev_close(f->dev); /* one driver at a time */
	f->dev = NULL;
	assert_null(dpak_dev_open(SPEC, &o));
	assert_int_equal(errno, EINVAL);
	msg_has("configinfo_text:2: table big: capacity=8388608 exceeds the device's");
	msg_has("(pci " BDF " MAX_ENTRIES)");
	/* and the device is usable by the next driver */
	f->dev = dpak_dev_open(SPEC, NULL);
	assert_non_null(f->dev);
	f->l2 = dpak_table_get(f->dev, "l2");
	offload(f);
}

static void test_unknown_event(void **state)
{
	struct fx *f = *state;
	struct dpak_port_stats ps = { .sz = sizeof(ps) };

	offload(f);
	assert_int_equal(dpak__pci_fault(f->dev, DEVIF_FAULT_GARBAGE_EVENT, 0), 0);
	/* any later command reads the event queue first */
	for (int i = 0; i < 50 && !counters(f).unknown_events; i++) {
		assert_int_equal(dpak_port_stats(f->dev, 0, &ps), 0);
		usleep(1000);
	}
	assert_true(counters(f).unknown_events >= 1);
	assert_int_equal(counters(f).resets, 0);
	forwards(f, 0, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_forward_batch_counters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_never_completes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_garbage_completion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reset_in_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_resets_after_command, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stops_answering, setup, teardown),
		cmocka_unit_test_setup_teardown(test_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_front_end_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_config_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_event, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stale_socket, setup, teardown),
		cmocka_unit_test_setup_teardown(test_silent_front_end, setup, teardown),
		cmocka_unit_test_setup_teardown(test_counters_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsealed_memory, setup, teardown),
	};

	dpak_log_set_level(getenv("DPAK_TEST_LOG") ? DPAK_LOG_DEBUG : DPAK_LOG_ERR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
