/* SPDX-License-Identifier: MIT */
/*
 * hwsim's PCIe device front end (docs/device-interface.md): the shared
 * memory holding the BARs, the configuration space and the DMA window, the
 * Unix socket that hands it to one driver at a time, the pci.dump entry
 * discovery reads, and the service thread that polls the registers and
 * doorbells (no register has read side effects, section 1), runs the admin
 * queue (pcidev_cmd.c), writes events and moves the data rings
 * (pcidev_rings.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include "backends/hwsim/hwsim_args.h"
#include "core.h"
#include "pcidev_int.h"

void fe_log(struct hw_pcidev *fe, int level, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n = snprintf(msg, sizeof(msg), "pci %s: ", fe->bdf);

	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	if (fe->cfg.log)
		fe->cfg.log(level, msg);
	else
		fprintf(stderr, "dpak-hwsim-pci: %s\n", msg);
}

uint32_t fe_rd(const struct hw_pcidev *fe, uint32_t off)
{
	return __atomic_load_n(&fe->bar0[off / 4], __ATOMIC_ACQUIRE);
}

void fe_wr(struct hw_pcidev *fe, uint32_t off, uint32_t v)
{
	if (fe->f_dead)
		return; /* BAR0 reads all ones */
	__atomic_store_n(&fe->bar0[off / 4], v, __ATOMIC_RELEASE);
}

static uint32_t db_rd(const struct hw_pcidev *fe, uint32_t off)
{
	return __atomic_load_n(&fe->bar4[off / 4], __ATOMIC_ACQUIRE);
}

static void st_set(struct hw_pcidev *fe, uint32_t set, uint32_t clr)
{
	fe_wr(fe, REG_DEV_STATUS, (fe_rd(fe, REG_DEV_STATUS) & ~clr) | set);
}

void *fe_ptr(const struct hw_pcidev *fe, uint64_t iova, uint64_t len)
{
	if (!len || iova < fe->dma.iova || len > fe->dma.len ||
	    iova - fe->dma.iova > fe->dma.len - len)
		return NULL;
	return fe->dma.base + (iova - fe->dma.iova);
}

uint64_t fe_now(const struct hw_pcidev *fe)
{
	struct timespec ts;

	(void)fe;
	/* the device clock is CLOCK_MONOTONIC: the driver's offset is ~0 */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* --- interrupts ----------------------------------------------------------- */

static const uint32_t cause_vec[5] = { DEVIF_VEC_ADMIN, DEVIF_VEC_EVENT, DEVIF_VEC_ADMIN,
				       DEVIF_VEC_ADMIN, DEVIF_VEC_CTRLQ };

static void irq_raise(struct hw_pcidev *fe, uint32_t cause)
{
	fe->cause |= cause;
	fe_wr(fe, REG_INT_CAUSE, fe->cause);
}

/* A cause fires its vector once when set and unmasked (4.3). */
static void irq_update(struct hw_pcidev *fe)
{
	uint32_t mask = fe_rd(fe, REG_INT_MASK);
	uint32_t fire = fe->cause & ~mask & ~fe->signalled & 0x1F;

	for (unsigned b = 0; fire && b < 5; b++)
		if (fire & (1u << b)) {
			uint64_t one = 1;
			if (write(fe->evfd[cause_vec[b]], &one, sizeof(one)) < 0) {
				/* the counter is saturated: it is signalled anyway */
			}
			fe->signalled |= 1u << b;
		}
}

/* Packets moved: every host queue vector left unmasked (HQ_INT_MASK) and
 * the control queue's cause may have something new; the driver looks at
 * the rings themselves (4.3), so a vector more is only a wakeup more. */
static void hq_signal(struct hw_pcidev *fe)
{
	uint64_t mask = (uint64_t)fe_rd(fe, REG_HQ_INT_MASK_HI) << 32 |
			fe_rd(fe, REG_HQ_INT_MASK_LO);

	for (unsigned q = 0; q < FE_N_QUEUES && ~mask; q++)
		if (!(mask & (1ull << q))) {
			uint64_t one = 1;
			if (write(fe->evfd[DEVIF_VEC_HQ(q)], &one, sizeof(one)) < 0) {
				/* saturated: signalled anyway */
			}
		}
	irq_raise(fe, DEVIF_INT_CTRLQ);
}

/* --- events (section 10) -------------------------------------------------- */

static int ev_put(struct hw_pcidev *fe, uint8_t type, const void *payload, size_t len)
{
	struct devif_event ev = { 0 };
	uint8_t *slot;

	if ((fe->eq_tail + 1) % fe->eq_size == fe->eq_head)
		return -ENOSPC;
	slot = fe_ptr(fe, fe->eq_iova + (uint64_t)fe->eq_tail * sizeof(ev), sizeof(ev));
	if (!slot)
		return -EFAULT;
	ev.time = fe_now(fe);
	memcpy(ev.payload, payload, len < sizeof(ev.payload) ? len : sizeof(ev.payload));
	ev.seq = fe->eq_seq++;
	ev.type = type;
	memcpy(slot, &ev, sizeof(ev) - 1);
	__atomic_store_n(slot + sizeof(ev) - 1,
			 (uint8_t)(fe->eq_phase ? DEVIF_EV_F_PHASE : 0), __ATOMIC_RELEASE);
	if (++fe->eq_tail == fe->eq_size) {
		fe->eq_tail = 0;
		fe->eq_phase ^= 1;
	}
	fe_wr(fe, REG_EQ_TAIL, fe->eq_tail);
	irq_raise(fe, DEVIF_INT_EVENT);
	return 0;
}

static void ev_flush_lost(struct hw_pcidev *fe)
{
	if (!fe->eq_on || !fe->lost_pending)
		return;
	uint32_t n = fe->lost_pending;
	if (ev_put(fe, DEVIF_EV_LOST, &n, sizeof(n)) == 0)
		fe->lost_pending = 0;
}

void fe_event(struct hw_pcidev *fe, uint8_t type, const void *payload, size_t len)
{
	if (!fe->eq_on)
		return;
	if (type != DEVIF_EV_LOST && type != DEVIF_EV_RESET && type < 32 &&
	    !(fe->eq_types & (1u << type)))
		return;
	ev_flush_lost(fe);
	if (fe->lost_pending || ev_put(fe, type, payload, len)) {
		fe->lost_pending++;
		fe->eq_lost++;
		fe_wr(fe, REG_EQ_LOST, fe->eq_lost);
	}
}

/* --- the hwsim device ----------------------------------------------------- */

void fe_apply_link(struct hw_pcidev *fe, uint32_t p)
{
	hw_port_set_link(fe->dev, p, fe->port[p].wire_up && !fe->port[p].admin_down);
}

void fe_start_engine(struct hw_pcidev *fe)
{
	fe->start_pending = 0;
	if (fe->started)
		return;
	int err = hw_dev_start(fe->dev);
	if (err)
		fe_log(fe, 0, "cannot start hwsim's engine thread: %s", strerror(-err));
	else
		fe->started = 1;
}

static void dev_log(int level, const char *msg)
{
	fprintf(stderr, "dpak-hwsim-pci: hwsim: %s%s\n", level ? "" : "error: ", msg);
}

static void attach_one(struct hw_pcidev *fe, uint32_t port, const char *ifname)
{
	int err = hw_port_attach(fe->dev, port, ifname);
	if (err)
		fe_log(fe, 0, "port %u: cannot attach interface %s: %s", port, ifname,
		       strerror(-err));
}

/* The attachments of the configuration ("PORT=IFNAME"). */
static void attach_cfg(struct hw_pcidev *fe)
{
	for (const char *const *a = fe->cfg.attach; a && *a; a++) {
		char *end;
		unsigned long p = strtoul(*a, &end, 10);
		if (*end == '=' && p < fe->n_ports)
			attach_one(fe, (uint32_t)p, end + 1);
	}
}

static int dev_new(struct hw_pcidev *fe, struct hw_dev **out)
{
	struct hw_dev_cfg dc = fe->dcfg;

	dc.log = fe->cfg.log ? fe->cfg.log : dev_log;
	return hw_dev_create(&dc, out);
}

/* The device as after power-on: every table, entry, bond and setting
 * gone; the configuration's attachments again. With @keep_wires the test
 * rig's cabling stays as it was (WIRE_ATTACH attachments, LINK_SET
 * carriers): a device reset does not unplug its cables; a driver leaving
 * (FLR) hands the next one a clean rig. */
static int dev_power_on(struct hw_pcidev *fe, int keep_wires)
{
	struct fe_attach wires[FE_MAX_ATTACH];
	uint8_t up[DEVIF_MAX_PORTS];
	unsigned n_wires = keep_wires ? fe->n_attach : 0;
	struct hw_dev *dev;
	int err = dev_new(fe, &dev);

	if (err)
		return err;
	memcpy(wires, fe->attach, sizeof(wires));
	for (uint32_t p = 0; p < DEVIF_MAX_PORTS; p++)
		up[p] = keep_wires ? fe->port[p].wire_up : 1;
	if (fe->dev)
		hw_dev_destroy(fe->dev);
	fe->dev = dev;
	fe->n_ports = hw_n_ports(dev);
	fe->started = fe->start_pending = 0;
	fe->paused = fe->failed_pause = 0;
	fe->rejected = 0;
	fe->hw_tables = 0;
	fe->n_attach = 0;
	memset(fe->tstate, 0, sizeof(fe->tstate));
	memset(fe->bond, 0, sizeof(fe->bond));
	memset(fe->port, 0, sizeof(fe->port));
	for (uint32_t p = 0; p < fe->n_ports; p++) {
		fe->port[p].wire_up = up[p];
		fe_apply_link(fe, p);
		fe->port[p].last_link = (uint8_t)hw_port_link(dev, p);
	}
	if ((++fe->gen & 0xFF) == 0)
		fe->gen = 1;
	attach_cfg(fe);
	for (unsigned i = 0; i < n_wires; i++) {
		attach_one(fe, wires[i].port, wires[i].ifname);
		fe->attach[fe->n_attach++] = wires[i];
	}
	return 0;
}

int fe_rebuild(struct hw_pcidev *fe)
{
	struct hw_dev *dev;
	int err = dev_new(fe, &dev);

	if (err)
		return err;
	for (uint32_t p = 0; p < fe->n_ports; p++) {
		struct hw_port_counters c;
		struct hw_port_counters *k = &fe->port[p].carry;
		hw_port_counters(fe->dev, p, &c);
		k->rx_packets += c.rx_packets, k->rx_bytes += c.rx_bytes;
		k->tx_packets += c.tx_packets, k->tx_bytes += c.tx_bytes;
		k->rx_misses += c.rx_misses, k->drops += c.drops;
		k->drops_action += c.drops_action, k->drops_mtu += c.drops_mtu;
		k->drops_bond_rx += c.drops_bond_rx;
	}
	hw_dev_destroy(fe->dev);
	fe->dev = dev;
	fe->start_pending = fe->started && (fe_rd(fe, REG_DRV_STATUS) & DEVIF_DRV_OK);
	fe->started = 0;
	fe->hw_tables = 0;
	memset(fe->tstate, 0, sizeof(fe->tstate));
	memset(fe->bond, 0, sizeof(fe->bond));
	for (uint32_t p = 0; p < fe->n_ports; p++) {
		struct fe_port *fp = &fe->port[p];
		if (fp->mtu)
			hw_port_set_mtu(dev, p, fp->mtu);
		if (fp->q_first || fp->q_n)
			hw_port_set_rx_queues(dev, p, fp->q_first, fp->q_n);
		fe_apply_link(fe, p);
	}
	if (fe->paused || fe->failed_pause)
		hw_pause(dev, 1);
	hw_reject_ops(dev, fe->rejected);
	attach_cfg(fe);
	for (unsigned i = 0; i < fe->n_attach; i++)
		attach_one(fe, fe->attach[i].port, fe->attach[i].ifname);
	if ((++fe->gen & 0xFF) == 0)
		fe->gen = 1;
	return 0;
}

/* --- registers ------------------------------------------------------------ */

static void regs_static(struct hw_pcidev *fe)
{
	static const uint8_t sizes[8] = { 10, 16, 26, 32, 42, 48, 58, 64 };
	uint32_t k0, k1;
	uint64_t items = fe_caps_items(), acts = fe_caps_actions();

	memcpy(&k0, sizes, 4);
	memcpy(&k1, sizes + 4, 4);
	fe_wr(fe, REG_DEV_MAGIC, DEVIF_MAGIC);
	fe_wr(fe, REG_IF_VERSION, DEVIF_VERSION(DEVIF_IF_MAJOR, DEVIF_IF_MINOR));
	fe_wr(fe, REG_FW_VERSION, 0x01000000u);
	fe_wr(fe, REG_FW_BUILD, 1);
	fe_wr(fe, REG_CAP_ITEMS_LO, (uint32_t)items);
	fe_wr(fe, REG_CAP_ITEMS_HI, (uint32_t)(items >> 32));
	fe_wr(fe, REG_CAP_ACTIONS_LO, (uint32_t)acts);
	fe_wr(fe, REG_CAP_ACTIONS_HI, (uint32_t)(acts >> 32));
	fe_wr(fe, REG_CAP_TABLES, fe_caps_tables());
	fe_wr(fe, REG_CAP_FIELDS, (1u << PK_FIELD_MAX) - 1);
	fe_wr(fe, REG_EXCLUSIVE_LO, 0);
	fe_wr(fe, REG_EXCLUSIVE_HI, 0);
	fe_wr(fe, REG_ACTIONS_NOW_LO, (uint32_t)acts);
	fe_wr(fe, REG_ACTIONS_NOW_HI, (uint32_t)(acts >> 32));
	fe_wr(fe, REG_DEV_FEATURES, FE_FEATURES);
	fe_wr(fe, REG_KEY_SIZES_0, k0);
	fe_wr(fe, REG_KEY_SIZES_1, k1);
	fe_wr(fe, REG_MAX_ACTION_BYTES, PK_MAX_ACTIONS);
	fe_wr(fe, REG_MAX_TABLES, HW_MAX_TABLES);
	fe_wr(fe, REG_MAX_EXACT_TABLES, HW_MAX_TABLES);
	fe_wr(fe, REG_MAX_ENTRIES, FE_MAX_ENTRIES);
	fe_wr(fe, REG_MAX_TOTAL_ENTRIES, 0);
	fe_wr(fe, REG_MAX_MASKS, 256);
	fe_wr(fe, REG_MAX_PRIORITIES, 65536);
	fe_wr(fe, REG_MAX_PUSH_BYTES, HW_HEADROOM);
	fe_wr(fe, REG_N_PORTS, fe->n_ports);
	fe_wr(fe, REG_MAX_BONDS, HW_MAX_BONDS);
	fe_wr(fe, REG_MAX_BOND_MEMBERS, HW_BOND_MEMBERS);
	fe_wr(fe, REG_MAX_HOST_QUEUES, FE_N_QUEUES);
	fe_wr(fe, REG_MAX_QUEUE_SIZE, FE_MAX_QSIZE);
	fe_wr(fe, REG_MTU_RANGE, (uint32_t)HW_MAX_MTU << 16 | HW_MIN_MTU);
	fe_wr(fe, REG_MAX_FRAME, HW_MAX_FRAME);
	fe_wr(fe, REG_MAX_RSS_QUEUES, PK_RSS_MAX);
	fe_wr(fe, REG_MAX_CMD_DATA, FE_MAX_CMD_DATA);
	fe_wr(fe, REG_MAX_AQ_SIZE, FE_MAX_AQ);
	fe_wr(fe, REG_MAX_EQ_SIZE, FE_MAX_EQ);
	fe_wr(fe, REG_FW_CHUNK_MAX, 0);

	/* 3.6 port table */
	uint32_t idx[3] = { 0, 0, 0 };
	for (uint32_t p = 0; p < DEVIF_MAX_PORTS; p++) {
		struct devif_port_entry e;
		memset(&e, 0, sizeof(e));
		e.type = DEVIF_PORT_NONE;
		if (p < fe->n_ports) {
			enum hw_port_type t = hw_port_type(fe->dev, p);
			e.type = (uint8_t)t;
			e.index = (uint8_t)idx[t]++;
			e.flags = (hw_port_link(fe->dev, p) ? DEVIF_PORT_F_LINK : 0) |
				  DEVIF_PORT_F_MTU_SET;
			/* port PFs are functions 1.. of this device, their VFs on
			 * the next bus */
			e.rid = t == HW_UPLINK ? 0
				: t == HW_PF ? (uint16_t)(fe->bus << 8 | fe->slot << 3 |
							  ((1 + e.index) & 7))
				: (uint16_t)(((fe->bus + 1) & 0xFF) << 8 | (e.index & 0xFF));
			e.mtu = (uint16_t)hw_port_mtu(fe->dev, p);
			hw_port_mac(fe->dev, p, e.mac);
		}
		memcpy((uint8_t *)fe->bar0 + REG_PORT_TABLE + 16 * p, &e, sizeof(e));
	}
}

/* The port table's live flags (link). */
static void regs_ports(struct hw_pcidev *fe, uint32_t p, int link)
{
	uint16_t *flags = (uint16_t *)((uint8_t *)fe->bar0 + REG_PORT_TABLE + 16 * p + 2);
	uint16_t v = (uint16_t)((link ? DEVIF_PORT_F_LINK : 0) | DEVIF_PORT_F_MTU_SET);

	if (!fe->f_dead)
		__atomic_store_n(flags, v, __ATOMIC_RELEASE);
}

/* --- reset (5.3) ---------------------------------------------------------- */

static void queues_off(struct hw_pcidev *fe)
{
	fe->aq_on = fe->eq_on = 0;
	fe->aq_head = fe->cq_tail = 0;
	fe->cq_phase = 1;
	fe->eq_head = fe->eq_tail = 0;
	fe->eq_phase = 1;
	fe->eq_seq = 0;
	fe->lost_pending = 0;
}

void fe_reset(struct hw_pcidev *fe, uint32_t reason)
{
	uint32_t count = fe_rd(fe, REG_RESET_COUNT) + 1;

	/* a reset the device does by itself, announced when it may be */
	if (reason == DEVIF_RESET_RECOVERY && (fe->features & DEVIF_F_RESET_NOTICE) &&
	    fe->eq_on) {
		struct devif_ev_reset ev = { reason, count, 1 };
		fe_event(fe, DEVIF_EV_RESET, &ev, sizeof(ev));
	}
	fe_wr(fe, REG_RESET_COUNT, count);
	fe->reset_count = count;
	st_set(fe, DEVIF_ST_RESETTING, ~DEVIF_ST_RESETTING);
	fe_rings_reset(fe->rings);
	queues_off(fe);
	if (dev_power_on(fe, reason != DEVIF_RESET_FLR && reason != DEVIF_RESET_POWER_ON))
		fe_log(fe, 0, "cannot recreate the hwsim device; keeping the old one");
	/* the driver's registers return to their reset values */
	static const uint32_t rw[] = {
		REG_DEV_CONTROL, REG_DRV_IF_VERSION, REG_DRV_FEATURES, REG_DRV_VERSION,
		REG_DRV_STATUS, REG_AQ_BASE_LO, REG_AQ_BASE_HI, REG_AQ_SIZE, REG_AQ_HEAD,
		REG_ACQ_BASE_LO, REG_ACQ_BASE_HI, REG_ACQ_SIZE, REG_AQ_TAIL_SEEN,
		REG_EQ_TAIL, REG_EQ_LOST, REG_EQ_HEAD_SEEN, REG_INT_CAUSE, REG_INT_ACK,
		REG_FATAL_CODE,
	};
	for (unsigned i = 0; i < sizeof(rw) / sizeof(rw[0]); i++)
		fe_wr(fe, rw[i], 0);
	fe_wr(fe, REG_INT_MASK, ~0u);
	fe_wr(fe, REG_HQ_INT_MASK_LO, ~0u);
	fe_wr(fe, REG_HQ_INT_MASK_HI, ~0u);
	memset(fe->bar4, 0, DEVIF_BAR4_SIZE);
	fe->seen_drv_ver = fe->seen_drv_feat = fe->seen_int_ack = 0;
	fe->seen_ctl = fe->seen_drv_status = 0;
	fe->version_ok = fe->version_bad = 0;
	fe->features = 0;
	fe->cause = fe->signalled = 0;
	fe->eq_lost = 0;
	fe->f_no_completion = 0;
	fe->f_garbage_cqe = fe->f_reset_in_batch = fe->f_reset_now = 0;
	fe->f_garbage_event = 0;
	__atomic_store_n(&fe->f_stop, 0, __ATOMIC_RELEASE);
	fe->ring_errors = fe_rings_errors(fe->rings);
	regs_static(fe);
	fe_wr(fe, REG_RESET_REASON, reason);
	if (reason == DEVIF_RESET_DRIVER)
		fe_wr(fe, REG_RESET_ACK, fe->seen_reset_req);
	fe_wr(fe, REG_DEV_STATUS, DEVIF_ST_READY);
	irq_raise(fe, DEVIF_INT_RESET_DONE);
}

/* --- the admin queue (section 6) ----------------------------------------- */

static void aq_enable(struct hw_pcidev *fe)
{
	uint64_t sq = (uint64_t)fe_rd(fe, REG_AQ_BASE_HI) << 32 | fe_rd(fe, REG_AQ_BASE_LO);
	uint64_t cq = (uint64_t)fe_rd(fe, REG_ACQ_BASE_HI) << 32 | fe_rd(fe, REG_ACQ_BASE_LO);
	uint32_t n = fe_rd(fe, REG_AQ_SIZE), ncq = fe_rd(fe, REG_ACQ_SIZE);
	const char *why = NULL;

	if (n < 64 || n > FE_MAX_AQ || (n & (n - 1)))
		why = "AQ_SIZE is not a power of two from 64 to MAX_AQ_SIZE";
	else if (ncq != n)
		why = "ACQ_SIZE differs from AQ_SIZE";
	else if ((sq & 4095) || (cq & 4095))
		why = "a queue base is not 4096-byte aligned";
	else if (!fe_ptr(fe, sq, (uint64_t)n * 64) || !fe_ptr(fe, cq, (uint64_t)n * 32))
		why = "a queue lies outside the DMA window";
	if (why) {
		if (!fe->bad_aq_logged) {
			fe_log(fe, 1, "ADMIN_EN refused: %s", why);
			fe->bad_aq_logged = 1;
		}
		return;
	}
	fe->bad_aq_logged = 0;
	fe->sq_iova = sq;
	fe->cq_iova = cq;
	fe->aq_size = n;
	fe->aq_head = fe->cq_tail = 0;
	fe->cq_phase = 1;
	fe->aq_on = 1;
	fe_wr(fe, REG_AQ_HEAD, 0);
	st_set(fe, DEVIF_ST_ADMIN_ON, 0);
}

static void cq_write(struct hw_pcidev *fe, struct devif_cqe *c)
{
	uint8_t *slot = fe_ptr(fe, fe->cq_iova + (uint64_t)fe->cq_tail * 32, 32);

	if (!slot)
		return;
	c->sq_head = (uint16_t)fe->aq_head;
	c->rsvd = 0;
	if (fe->f_garbage_cqe == 2) {
		fe->f_garbage_cqe = 1; /* armed by this command: the next one's */
	} else if (fe->f_garbage_cqe) {
		fe->f_garbage_cqe = 0;
		c->cid ^= 0x5A5A;
		c->done = 0xFFFFFF00u;
		c->status = 0x7F;
		c->rsvd = 0xBAD;
	}
	c->flags = fe->cq_phase ? DEVIF_CQE_F_PHASE : 0;
	memcpy(slot, c, 31);
	__atomic_store_n(slot + 31, c->flags, __ATOMIC_RELEASE);
	if (++fe->cq_tail == fe->aq_size) {
		fe->cq_tail = 0;
		fe->cq_phase ^= 1;
	}
	irq_raise(fe, DEVIF_INT_ADMIN);
}

/* Fetch and run what the tail doorbell covers (at most @budget). */
static int aq_poll(struct hw_pcidev *fe, unsigned budget)
{
	uint32_t tail = db_rd(fe, DB_AQ_TAIL);
	int did = 0;

	fe_wr(fe, REG_AQ_TAIL_SEEN, tail);
	if (tail >= fe->aq_size)
		return 0; /* a tail beyond the queue: nothing is fetched */
	while (fe->aq_on && fe->aq_head != tail && budget--) {
		struct devif_sqe sq;
		struct devif_cqe cq;
		const uint8_t *src = fe_ptr(fe, fe->sq_iova + (uint64_t)fe->aq_head * 64, 64);

		if (!src)
			return did;
		memcpy(&sq, src, sizeof(sq));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		fe->aq_head = (fe->aq_head + 1) % fe->aq_size;
		fe_wr(fe, REG_AQ_HEAD, fe->aq_head);
		did = 1;
		int gen = fe_rd(fe, REG_RESET_COUNT);
		uint64_t t0 = fe_now(fe);
		int skip = fe_cmd(fe, &sq, &cq);
		uint64_t took = fe_now(fe) - t0;
		if (took > 200000000ull) /* for the logs of a host short of CPU */
			fe_log(fe, 1, "command 0x%02x (id %u) took %llu ms", sq.opcode, sq.cid,
			       (unsigned long long)(took / 1000000));
		if ((int)fe_rd(fe, REG_RESET_COUNT) != gen)
			return did; /* the command reset the device */
		if (!skip)
			cq_write(fe, &cq);
		if (fe->f_reset_now) {
			fe->f_reset_now = 0;
			fe_reset(fe, DEVIF_RESET_RECOVERY);
			return did;
		}
		if (fe->f_dead) {
			pthread_mutex_lock(&fe->beat_lock); /* the clock stops first */
			memset(fe->bar0, 0xFF, DEVIF_BAR0_SIZE);
			pthread_mutex_unlock(&fe->beat_lock);
			return did;
		}
		if (fe->f_stop)
			return did;
	}
	return did;
}

/* --- shared memory, socket, dump file ------------------------------------ */

static void cfg_w16(uint8_t *c, unsigned off, uint16_t v)
{
	c[off] = (uint8_t)v;
	c[off + 1] = (uint8_t)(v >> 8);
}

static void cfg_w32(uint8_t *c, unsigned off, uint32_t v)
{
	cfg_w16(c, off, (uint16_t)v);
	cfg_w16(c, off + 2, (uint16_t)(v >> 16));
}

/* Configuration space (2.2, 2.3): identity, three 64-bit memory BARs, the
 * Power Management, PCI Express and MSI-X capabilities. */
static void cfg_space(struct hw_pcidev *fe)
{
	uint8_t *c = fe->cfgsp;
	uint64_t base = 0xe0000000ull + ((uint64_t)fe->bus << 20) +
			((uint64_t)(fe->slot << 3 | fe->func) << 15);

	memset(c, 0, DEVIF_CFG_SIZE);
	cfg_w16(c, 0x00, DEVIF_VENDOR_ID);
	cfg_w16(c, 0x02, DEVIF_DEVICE_ID);
	cfg_w16(c, 0x04, 0x0006);          /* memory space, bus master */
	cfg_w16(c, 0x06, 0x0010);          /* capabilities list */
	c[0x08] = DEVIF_REVISION;
	c[0x09] = (uint8_t)DEVIF_CLASS;
	c[0x0A] = (uint8_t)(DEVIF_CLASS >> 8);
	c[0x0B] = (uint8_t)(DEVIF_CLASS >> 16);
	cfg_w32(c, 0x10, (uint32_t)base | 0x4);           /* BAR0: 64 KiB, 64-bit */
	cfg_w32(c, 0x14, (uint32_t)(base >> 32));
	cfg_w32(c, 0x18, (uint32_t)(base + 0x10000) | 0x4); /* BAR2: 8 KiB */
	cfg_w32(c, 0x1C, (uint32_t)((base + 0x10000) >> 32));
	cfg_w32(c, 0x20, (uint32_t)(base + 0x12000) | 0x4); /* BAR4: 4 KiB */
	cfg_w32(c, 0x24, (uint32_t)((base + 0x12000) >> 32));
	cfg_w16(c, 0x2C, DEVIF_VENDOR_ID);
	cfg_w16(c, 0x2E, DEVIF_SUBSYS_MGMT);
	c[0x34] = 0x40;                    /* capabilities pointer */
	c[0x3D] = 0;                       /* no INTx */
	/* Power Management */
	c[0x40] = 0x01;
	c[0x41] = 0x50;
	cfg_w16(c, 0x42, 0x0003);
	cfg_w16(c, 0x44, 0x0008);
	/* PCI Express v2, endpoint */
	c[0x50] = 0x10;
	c[0x51] = 0xB0;
	cfg_w16(c, 0x52, 0x0002);
	cfg_w32(c, 0x54, 0x10000000 | 0x2); /* devcap: FLR, 512-byte payload */
	cfg_w32(c, 0x7C, 0x0000000E);       /* lnkcap2: link speeds 2.5-8 GT/s */
	cfg_w16(c, 0x80, 0x0003);           /* lnkctl2: target 8 GT/s */
	cfg_w32(c, 0x5C, 0x00400083);       /* linkcap: x8, 8 GT/s */
	cfg_w16(c, 0x62, 0x0083);           /* link status: x8, 8 GT/s */
	/* MSI-X: 67 vectors, table BIR 2 offset 0, PBA BIR 2 offset 0x1000 */
	c[0xB0] = 0x11;
	c[0xB1] = 0x00;
	cfg_w16(c, 0xB2, DEVIF_N_VECTORS - 1);
	cfg_w32(c, 0xB4, 0x00000002);
	cfg_w32(c, 0xB8, 0x00001002);
}

int hw_pcidev_dump(const struct hw_pcidev *fe, FILE *f)
{
	fprintf(f, "%s Network controller: libdpak management function "
		"(placeholder ids) (rev %02x)\n", fe->bdf, DEVIF_REVISION);
	for (unsigned r = 0; r < 256; r += 16) {
		fprintf(f, "%02x:", r);
		for (unsigned i = 0; i < 16; i++)
			fprintf(f, " %02x", fe->cfgsp[r + i]);
		fputc('\n', f);
	}
	fputc('\n', f);
	return ferror(f) ? -EIO : 0;
}

/* Rewrite <dir>/pci.dump: every entry but @bdf's kept, and this
 * function's added when @add. Writers serialise on <dir>/pci.dump.lock (a
 * file never replaced, so every writer locks the same inode); readers
 * (libpci) see the old file or the new one whole, as it is replaced by a
 * rename. */
static int dump_update(struct hw_pcidev *fe, int add)
{
	char tmp[PATH_MAX + 16], lock[PATH_MAX + 8];
	FILE *in = NULL, *out = NULL;
	char line[512];
	int skip = 0, err = 0, fd;
	size_t blen = strlen(fe->bdf);

	snprintf(lock, sizeof(lock), "%s.lock", fe->dump_path);
	if ((fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return -errno;
	if (flock(fd, LOCK_EX)) {
		err = -errno;
		close(fd);
		return err;
	}
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", fe->dump_path, (int)getpid());
	in = fopen(fe->dump_path, "re");
	if (!in && errno != ENOENT) {
		err = -errno;
		goto out;
	}
	if (!(out = fopen(tmp, "we"))) {
		err = -errno;
		goto out;
	}
	while (in && fgets(line, sizeof(line), in)) {
		size_t tok = strcspn(line, " \n");
		if (line[0] != '#' && tok && memchr(line, '.', tok)) /* an entry: its BDF */
			skip = tok == blen && !strncmp(line, fe->bdf, blen);
		if (!skip)
			fputs(line, out);
		if (line[0] == '\n')
			skip = 0;
	}
	if (add)
		hw_pcidev_dump(fe, out);
	if (fflush(out) || ferror(out) || fsync(fileno(out))) {
		err = -EIO;
		goto out;
	}
	if (rename(tmp, fe->dump_path))
		err = -errno;
out:
	if (in)
		fclose(in);
	if (out) {
		fclose(out);
		if (err)
			unlink(tmp);
	}
	close(fd); /* and the lock with it */
	return err;
}

static int send_hello(struct hw_pcidev *fe, int fd, uint32_t status)
{
	struct devif_hello h = {
		.magic = DEVIF_HELLO_MAGIC, .version = DEVIF_HELLO_VERSION,
		.status = status, .n_vectors = status ? 0 : DEVIF_N_VECTORS,
		.shm_size = fe->shm_size, .dma_offset = DEVIF_SHM_DMA,
		.dma_len = fe->dma.len, .dma_iova = DEVIF_SHM_DMA_IOVA,
	};
	union {
		char buf[CMSG_SPACE(sizeof(int) * (1 + DEVIF_N_VECTORS))];
		struct cmsghdr align;
	} u;
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	snprintf(h.bdf, sizeof(h.bdf), "%s", fe->bdf);
	if (!status) {
		int fds[1 + DEVIF_N_VECTORS];
		fds[0] = fe->memfd;
		memcpy(fds + 1, fe->evfd, sizeof(fe->evfd));
		memset(&u, 0, sizeof(u));
		m.msg_control = u.buf;
		m.msg_controllen = sizeof(u.buf);
		struct cmsghdr *c = CMSG_FIRSTHDR(&m);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(c), fds, sizeof(fds));
	}
	ssize_t n = sendmsg(fd, &m, MSG_NOSIGNAL);
	return n == (ssize_t)sizeof(h) ? 0 : -EIO;
}

/* --- the service loop ----------------------------------------------------- */

static int sock_poll(struct hw_pcidev *fe)
{
	int fd, did = 0;

	while ((fd = accept4(fe->lsock, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK)) >= 0) {
		if (fe->conn >= 0) {
			send_hello(fe, fd, EBUSY);
			close(fd);
			continue;
		}
		if (send_hello(fe, fd, 0)) {
			close(fd);
			continue;
		}
		fe->conn = fd;
		did = 1; /* bring-up follows: poll closely */
		fe_log(fe, 2, "driver connected");
	}
	if (fe->conn >= 0) {
		char b[64];
		ssize_t n = recv(fe->conn, b, sizeof(b), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
			       errno != EINTR)) {
			close(fe->conn);
			fe->conn = -1;
			fe_log(fe, 2, "driver left; function-level reset");
			/* an FLR returns every register to its reset value
			 * (BAR0 may read all ones after FAULT 6) */
			uint32_t count = fe->f_dead ? fe->reset_count : fe_rd(fe, REG_RESET_COUNT);
			pthread_mutex_lock(&fe->beat_lock);
			memset(fe->bar0, 0, DEVIF_BAR0_SIZE);
			__atomic_store_n(&fe->f_dead, 0, __ATOMIC_RELEASE);
			pthread_mutex_unlock(&fe->beat_lock);
			fe_wr(fe, REG_RESET_COUNT, count);
			fe->seen_reset_req = 0;
			fe_reset(fe, DEVIF_RESET_FLR);
			if (fe->cfg.once)
				__atomic_store_n(&fe->done, 1, __ATOMIC_RELEASE);
		}
	}
	return did;
}

static int version_check(struct hw_pcidev *fe)
{
	uint32_t v = fe_rd(fe, REG_DRV_IF_VERSION), f = fe_rd(fe, REG_DRV_FEATURES);

	if (v == fe->seen_drv_ver && f == fe->seen_drv_feat)
		return 0;
	fe->seen_drv_ver = v;
	fe->seen_drv_feat = f;
	if (!v) {
		fe->version_ok = fe->version_bad = 0;
		st_set(fe, 0, DEVIF_ST_VERSION_OK | DEVIF_ST_VERSION_BAD);
		return 1;
	}
	int ok = (v >> 16) == DEVIF_IF_MAJOR && (f & ~FE_FEATURES) == 0;
	if (!ok)
		fe_log(fe, 1, "driver interface %u.%u with features 0x%x refused "
		       "(this device: %u.%u, features 0x%x)", v >> 16, v & 0xFFFF, f,
		       DEVIF_IF_MAJOR, DEVIF_IF_MINOR, FE_FEATURES);
	fe->version_ok = ok;
	fe->version_bad = !ok;
	fe->features = ok ? f : 0;
	st_set(fe, ok ? DEVIF_ST_VERSION_OK : DEVIF_ST_VERSION_BAD,
	       ok ? DEVIF_ST_VERSION_BAD : DEVIF_ST_VERSION_OK);
	if (!ok && fe->aq_on) {
		fe->aq_on = 0;
		st_set(fe, 0, DEVIF_ST_ADMIN_ON);
	}
	return 1;
}

static int control_check(struct hw_pcidev *fe)
{
	uint32_t ctl = fe_rd(fe, REG_DEV_CONTROL), ds = fe_rd(fe, REG_DRV_STATUS);
	int did = ctl != fe->seen_ctl;

	if ((ctl & DEVIF_CTL_ADMIN_EN) && !fe->aq_on && fe->version_ok &&
	    (ctl != fe->seen_ctl || !fe->bad_aq_logged))
		aq_enable(fe);
	if (!(ctl & DEVIF_CTL_ADMIN_EN) && fe->aq_on) {
		fe->aq_on = 0;
		st_set(fe, 0, DEVIF_ST_ADMIN_ON);
	}
	fe->seen_ctl = ctl;
	if (ds == fe->seen_drv_status)
		return did;
	uint32_t was = fe->seen_drv_status;
	fe->seen_drv_status = ds;
	if ((ds & DEVIF_DRV_FAILED) && !fe->failed_pause) {
		hw_pause(fe->dev, 1);
		fe->failed_pause = 1;
	} else if (!(ds & DEVIF_DRV_FAILED) && fe->failed_pause) {
		hw_pause(fe->dev, 0);
		fe->failed_pause = 0;
	}
	if ((ds & DEVIF_DRV_OK) && !(was & DEVIF_DRV_OK))
		fe_start_engine(fe);
	if ((ds & DEVIF_DRV_OK) && !(ds & DEVIF_DRV_FAILED))
		st_set(fe, DEVIF_ST_RUNNING, 0);
	else
		st_set(fe, 0, DEVIF_ST_RUNNING);
	return 1;
}

static void int_ack_check(struct hw_pcidev *fe)
{
	uint32_t a = fe_rd(fe, REG_INT_ACK);

	if (a == fe->seen_int_ack)
		return;
	fe->seen_int_ack = a;
	fe->cause &= ~(a & 0xFFFF);
	fe->signalled &= ~(a & 0xFFFF);
	fe_wr(fe, REG_INT_CAUSE, fe->cause);
}

static int link_poll(struct hw_pcidev *fe)
{
	int did = 0;

	for (uint32_t p = 0; p < fe->n_ports; p++) {
		uint8_t l = (uint8_t)hw_port_link(fe->dev, p);
		if (l == fe->port[p].last_link)
			continue;
		fe->port[p].last_link = l;
		regs_ports(fe, p, l);
		struct devif_ev_link ev = { .port = p, .up = l };
		fe_event(fe, DEVIF_EV_LINK, &ev, sizeof(ev));
		did = 1;
	}
	return did;
}

static void eq_poll(struct hw_pcidev *fe)
{
	uint32_t h = db_rd(fe, DB_EQ_HEAD);

	fe_wr(fe, REG_EQ_HEAD_SEEN, h);
	if (fe->eq_on && h < fe->eq_size)
		fe->eq_head = h;
	ev_flush_lost(fe);
	if (fe->f_garbage_event && fe->eq_on) {
		uint8_t junk[20] = { 0xEE };
		fe->f_garbage_event = 0;
		ev_put(fe, 0xE7, junk, sizeof(junk));
	}
	uint64_t e = fe_rings_errors(fe->rings);
	if (e != fe->ring_errors) {
		struct { uint32_t code, table; uint64_t handle; uint32_t severity; } ev = {
			1, 0xFFFFFFFFu, 0, 0 };
		fe->ring_errors = e;
		fe_event(fe, DEVIF_EV_ERROR, &ev, sizeof(ev));
	}
}

/* The firmware's clock and heartbeat run beside the command processor,
 * so that a long command (a SOFT_RESET of large tables) does not look like
 * a hung device; FAULT 5 (stop) and 6 (dead) stop them. */
/* DEV_TIME from the clock now (the lock keeps its two writers, the clock
 * thread and the busy service loop, from interleaving their halves). */
static void time_tick(struct hw_pcidev *fe, int beat)
{
	pthread_mutex_lock(&fe->beat_lock);
	if (!__atomic_load_n(&fe->f_stop, __ATOMIC_ACQUIRE) &&
	    !__atomic_load_n(&fe->f_dead, __ATOMIC_ACQUIRE)) {
		uint64_t now = fe_now(fe);
		__atomic_store_n(&fe->bar0[REG_DEV_TIME_LO / 4], (uint32_t)now,
				 __ATOMIC_RELEASE);
		__atomic_store_n(&fe->bar0[REG_DEV_TIME_HI / 4], (uint32_t)(now >> 32),
				 __ATOMIC_RELEASE);
		if (beat)
			__atomic_fetch_add(&fe->bar0[REG_HEARTBEAT / 4], 1, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&fe->beat_lock);
}

static void *beat(void *arg)
{
	struct hw_pcidev *fe = arg;

	while (!__atomic_load_n(&fe->stop, __ATOMIC_ACQUIRE)) {
		time_tick(fe, 1);
		struct timespec ts = { 0, 1000000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void *service(void *arg)
{
	struct hw_pcidev *fe = arg;
	uint64_t last_busy = fe_now(fe);

	prctl(PR_SET_TIMERSLACK, 1000UL); /* sleeps as short as asked */

	while (!__atomic_load_n(&fe->stop, __ATOMIC_ACQUIRE) &&
	       !__atomic_load_n(&fe->done, __ATOMIC_ACQUIRE)) {
		int busy = 0;
		uint64_t now = fe_now(fe);

		busy |= sock_poll(fe);
		if (__atomic_load_n(&fe->done, __ATOMIC_ACQUIRE))
			break;
		if (fe->f_dead)
			goto sleep; /* gone until the driver leaves (an FLR) */
		uint32_t rq = fe_rd(fe, REG_RESET_REQ);
		if (rq != fe->seen_reset_req) {
			fe->seen_reset_req = rq;
			__atomic_store_n(&fe->f_stop, 0, __ATOMIC_RELEASE);
			fe_reset(fe, DEVIF_RESET_DRIVER);
			busy = 1;
		}
		if (fe->f_stop)
			goto sleep;
		/* the loop beats too (either thread running shows the firmware
		 * alive on a host short of CPU), and keeps DEV_TIME finer than
		 * the clock thread's 1 ms while it polls */
		time_tick(fe, 1);
		busy |= version_check(fe);
		busy |= control_check(fe);
		int_ack_check(fe);
		if (fe->aq_on && fe->version_ok)
			busy |= aq_poll(fe, 64);
		if (fe->f_dead || fe->f_stop)
			goto sleep;
		busy |= link_poll(fe);
		eq_poll(fe);
		unsigned moved = fe_rings_tx(fe->rings, fe->dev);
		moved += fe_rings_rx(fe->rings, fe->dev);
		if (moved) {
			busy = 1;
			hq_signal(fe);
		}
		if (fe->start_pending && now - last_busy > 200000000ull)
			fe_start_engine(fe);
		irq_update(fe);
sleep:
		if (busy) {
			last_busy = now;
			continue;
		}
		/* After activity, poll on (yielding) for a while: a driver
		 * issuing commands back to back waits on each one. Then short
		 * sleeps, then longer ones; no driver at all: 2 ms (HEARTBEAT
		 * has its own thread). */
		uint64_t quiet = now - last_busy;
		if (fe->conn >= 0 && quiet < 500000) {
			sched_yield();
			continue;
		}
		struct timespec ts = { 0, fe->conn < 0 ? 2000000 : quiet < 50000000 ? 50000 : 500000 };
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* --- create and destroy -------------------------------------------------- */

static int parse_bdf(struct hw_pcidev *fe, const char *s)
{
	unsigned d, b, sl, f;
	char end;

	if (sscanf(s, "%4x:%2x:%2x.%1u%c", &d, &b, &sl, &f, &end) != 4 || sl > 31 || f > 7 ||
	    strlen(s) != 12)
		return -EINVAL;
	fe->domain = d;
	fe->bus = b;
	fe->slot = sl;
	fe->func = f;
	snprintf(fe->bdf, sizeof(fe->bdf), "%04x:%02x:%02x.%u", d, b, sl, f);
	return 0;
}

static void fe_free(struct hw_pcidev *fe)
{
	if (fe->rings)
		fe_rings_free(fe->rings);
	if (fe->dev)
		hw_dev_destroy(fe->dev);
	if (fe->shm && fe->shm != MAP_FAILED)
		munmap(fe->shm, fe->shm_size);
	if (fe->memfd >= 0)
		close(fe->memfd);
	for (unsigned i = 0; i < DEVIF_N_VECTORS; i++)
		if (fe->evfd[i] >= 0)
			close(fe->evfd[i]);
	if (fe->lsock >= 0)
		close(fe->lsock);
	if (fe->conn >= 0)
		close(fe->conn);
	free(fe->args);
	pthread_mutex_destroy(&fe->beat_lock);
	free(fe);
}

int hw_pcidev_create(const struct hw_pcidev_cfg *cfg, struct hw_pcidev **out)
{
	struct hw_pcidev *fe = calloc(1, sizeof(*fe));
	const char *dir;
	int err;

	if (!fe)
		return -ENOMEM;
	fe->memfd = fe->lsock = fe->conn = -1;
	pthread_mutex_init(&fe->beat_lock, NULL);
	for (unsigned i = 0; i < DEVIF_N_VECTORS; i++)
		fe->evfd[i] = -1;
	fe->cfg = *cfg;
	snprintf(fe->bdf, sizeof(fe->bdf), "%s", cfg->bdf ? cfg->bdf : "0000:03:00.0");
	if (parse_bdf(fe, cfg->bdf ? cfg->bdf : "0000:03:00.0")) {
		fe_log(fe, 0, "'%s' is not a PCI address (DDDD:BB:DD.F)", cfg->bdf);
		fe_free(fe);
		return -EINVAL;
	}
	fe->cfg.bdf = fe->bdf;
	fe->args = strdup(cfg->hwsim_args ? cfg->hwsim_args : "");
	if (!fe->args) {
		fe_free(fe);
		return -ENOMEM;
	}
	fe->cfg.hwsim_args = fe->args;
	if (dpak__hwsim_parse_args(fe->args, &fe->dcfg)) {
		fe_log(fe, 0, "%s", dpak_errmsg());
		fe_free(fe);
		return -EINVAL;
	}
	fe->dcfg.n_queues = FE_N_QUEUES;
	fe->dcfg.queue_size = FE_QUEUE_SIZE;
	fe->dcfg.pool_size = FE_POOL_SIZE;
	dir = cfg->dir ? cfg->dir : getenv("DPAK_HWSIM_PCI_DIR");
	if (!dir || !*dir)
		dir = DEVIF_SHM_DIR_DEFAULT;
	if ((size_t)snprintf(fe->dir, sizeof(fe->dir), "%s", dir) >= sizeof(fe->dir) ||
	    (size_t)snprintf(fe->sock_path, sizeof(fe->sock_path), "%s/%s.sock", dir,
			     fe->bdf) >= sizeof(((struct sockaddr_un *)0)->sun_path) ||
	    (size_t)snprintf(fe->dump_path, sizeof(fe->dump_path), "%s/pci.dump", dir) >=
		    sizeof(fe->dump_path)) {
		fe_log(fe, 0, "directory %s: path too long for a Unix socket", dir);
		fe_free(fe);
		return -ENAMETOOLONG;
	}
	size_t dma = cfg->dma_len ? cfg->dma_len : DEVIF_SHM_DMA_DEFAULT;
	if (dma < (1u << 20) || dma > (4ull << 30) || (dma & 4095)) {
		fe_log(fe, 0, "DMA window of %zu bytes: 1 MiB to 4 GiB, whole pages", dma);
		fe_free(fe);
		return -EINVAL;
	}
	clock_gettime(CLOCK_MONOTONIC, &fe->t0);
	fe->shm_size = DEVIF_SHM_DMA + dma;
	/* Sealed against resizing: a driver (or anyone holding the fd) that
	 * shrank it would fault every mapping of it with SIGBUS. */
	if ((fe->memfd = memfd_create("dpak-hwsim-pci",
				      MFD_CLOEXEC | MFD_ALLOW_SEALING)) < 0 ||
	    ftruncate(fe->memfd, (off_t)fe->shm_size) ||
	    fcntl(fe->memfd, F_ADD_SEALS,
		  F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL)) {
		err = -errno;
		fe_log(fe, 0, "cannot create the shared memory (%zu bytes): %s",
		       fe->shm_size, strerror(-err));
		fe_free(fe);
		return err;
	}
	fe->shm = mmap(NULL, fe->shm_size, PROT_READ | PROT_WRITE, MAP_SHARED, fe->memfd, 0);
	if (fe->shm == MAP_FAILED) {
		err = -errno;
		fe_log(fe, 0, "cannot map the shared memory: %s", strerror(-err));
		fe_free(fe);
		return err;
	}
	fe->bar0 = (uint32_t *)(fe->shm + DEVIF_SHM_BAR0);
	fe->bar4 = (uint32_t *)(fe->shm + DEVIF_SHM_BAR4);
	fe->cfgsp = fe->shm + DEVIF_SHM_CFG;
	fe->dma = (struct fe_dma){ fe->shm + DEVIF_SHM_DMA, DEVIF_SHM_DMA_IOVA, dma };
	for (unsigned i = 0; i < DEVIF_N_VECTORS; i++)
		if ((fe->evfd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
			err = -errno;
			fe_log(fe, 0, "cannot create the MSI-X eventfds: %s", strerror(-err));
			fe_free(fe);
			return err;
		}
	if ((err = dev_power_on(fe, 0))) {
		fe_log(fe, 0, "cannot create the hwsim device: %s", strerror(-err));
		fe_free(fe);
		return err;
	}
	if ((err = fe_rings_new(&fe->dma, (volatile uint32_t *)fe->bar4, FE_N_QUEUES,
				&fe->rings))) {
		fe_log(fe, 0, "cannot set up the data rings: %s", strerror(-err));
		fe_free(fe);
		return err;
	}
	cfg_space(fe);
	fe_reset(fe, DEVIF_RESET_POWER_ON);
	fe_wr(fe, REG_RESET_COUNT, 0);
	fe->reset_count = 0;

	/* the socket: a stale one (no server behind it) is replaced */
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	memcpy(sa.sun_path, fe->sock_path, strlen(fe->sock_path) + 1); /* length checked */
	mkdir(dir, 0755);
	if ((fe->lsock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0)) < 0) {
		err = -errno;
		fe_log(fe, 0, "socket: %s", strerror(-err));
		fe_free(fe);
		return err;
	}
	if (bind(fe->lsock, (struct sockaddr *)&sa, sizeof(sa))) {
		int probe, live;

		if (errno != EADDRINUSE) {
			err = -errno;
			fe_log(fe, 0, "cannot bind %s: %s", fe->sock_path, strerror(-err));
			fe_free(fe);
			return err;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		live = probe >= 0 && !connect(probe, (struct sockaddr *)&sa, sizeof(sa));
		if (probe >= 0)
			close(probe);
		if (live) {
			fe_log(fe, 0, "%s: another front end serves this address", fe->sock_path);
			fe_free(fe);
			return -EADDRINUSE;
		}
		unlink(fe->sock_path);
		if (bind(fe->lsock, (struct sockaddr *)&sa, sizeof(sa))) {
			err = -errno;
			fe_log(fe, 0, "cannot bind %s: %s", fe->sock_path, strerror(-err));
			fe_free(fe);
			return err;
		}
	}
	if (listen(fe->lsock, 4)) {
		err = -errno;
		fe_log(fe, 0, "cannot listen on %s: %s", fe->sock_path, strerror(-err));
		fe_free(fe);
		return err;
	}
	if ((err = dump_update(fe, 1))) {
		fe_log(fe, 0, "cannot update %s: %s", fe->dump_path, strerror(-err));
		unlink(fe->sock_path);
		fe_free(fe);
		return err;
	}
	if ((err = -pthread_create(&fe->thr, NULL, service, fe))) {
		fe_log(fe, 0, "cannot start the service thread: %s", strerror(-err));
		dump_update(fe, 0);
		unlink(fe->sock_path);
		fe_free(fe);
		return err;
	}
	fe->thr_started = 1;
	if ((err = -pthread_create(&fe->beat_thr, NULL, beat, fe))) {
		fe_log(fe, 0, "cannot start the heartbeat thread: %s", strerror(-err));
		hw_pcidev_destroy(fe);
		return err;
	}
	fe->beat_started = 1;
	*out = fe;
	return 0;
}

int hw_pcidev_done(const struct hw_pcidev *fe)
{
	return __atomic_load_n(&fe->done, __ATOMIC_ACQUIRE);
}

void hw_pcidev_destroy(struct hw_pcidev *fe)
{
	if (!fe)
		return;
	__atomic_store_n(&fe->stop, 1, __ATOMIC_RELEASE);
	if (fe->thr_started)
		pthread_join(fe->thr, NULL);
	if (fe->beat_started)
		pthread_join(fe->beat_thr, NULL);
	unlink(fe->sock_path);
	dump_update(fe, 0);
	fe_free(fe);
}

const char *hw_pcidev_socket(const struct hw_pcidev *fe)
{
	return fe->sock_path;
}

const char *hw_pcidev_dump_path(const struct hw_pcidev *fe)
{
	return fe->dump_path;
}
