/* SPDX-License-Identifier: MIT */
/*
 * Bring-up, version agreement, reset and recovery of the pci driver
 * (docs/device-interface.md sections 5 and 12).
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <poll.h>
#include <sys/socket.h>
#include "core.h"
#include "drv.h"

uint64_t pci_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static uint32_t reset_timeout(const struct pci_drv *d)
{
	if (!d->timeout_ms)
		return DEVIF_RESET_MS;
	uint32_t t = d->timeout_ms * 2 < 1000 ? 1000 : d->timeout_ms * 2;
	return t < DEVIF_RESET_MS ? t : DEVIF_RESET_MS;
}

int pci_state_err(struct pci_drv *d)
{
	switch (__atomic_load_n(&d->state, __ATOMIC_ACQUIRE)) {
	case PCI_GONE:
		if (__atomic_load_n(&d->conn_gone, __ATOMIC_ACQUIRE))
			return dpak__err(ENODEV, "pci %s: the device front end went "
					 "away (its connection closed)", d->bdf);
		return dpak__err(ENODEV, "pci %s: the device stopped answering (BAR0 "
				 "reads all ones)", d->bdf);
	case PCI_DEAD:
		return dpak__err(EIO, "pci %s: the device did not come back from a "
				 "reset within %u ms", d->bdf,
				 d->reset_waited_ms ? d->reset_waited_ms : reset_timeout(d));
	default:
		return 0;
	}
}

/* The connection to the hwsim front end closed (hang-up or end of file):
 * its device is gone. One poll() that does not wait. */
static int conn_closed(const struct pci_drv *d)
{
	struct pollfd pfd;
	char c;

	if (!d->t || d->t->conn_fd < 0)
		return 0;
	pfd = (struct pollfd){ .fd = d->t->conn_fd, .events = POLLIN };
	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	if (pfd.revents & (POLLHUP | POLLERR | POLLNVAL))
		return 1;
	return (pfd.revents & POLLIN) &&
	       recv(d->t->conn_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

int pci_conn_gone(struct pci_drv *d)
{
	if (__atomic_load_n(&d->conn_gone, __ATOMIC_ACQUIRE))
		return 1;
	if (conn_closed(d)) {
		__atomic_store_n(&d->conn_gone, 1, __ATOMIC_RELEASE);
		return 1;
	}
	return 0;
}

int pci_absent(struct pci_drv *d)
{
	return pci_conn_gone(d) || pci_rd32(d->t, REG_DEV_MAGIC) == 0xFFFFFFFFu;
}

/* A 64-bit device register: high, low, high again (section 1). */
static uint64_t rd64(struct pci_drv *d, uint32_t lo_off)
{
	uint32_t hi, lo, hi2;

	do {
		hi = pci_rd32(d->t, lo_off + 4);
		lo = pci_rd32(d->t, lo_off);
		hi2 = pci_rd32(d->t, lo_off + 4);
	} while (hi != hi2);
	return (uint64_t)hi << 32 | lo;
}

static void measure_time(struct pci_drv *d)
{
	uint64_t a = pci_now_ns(), dev = rd64(d, REG_DEV_TIME_LO), b = pci_now_ns();
	int64_t off = (int64_t)(a / 2 + b / 2) - (int64_t)dev;

	/* kept while it holds within 50 ms (a device clock register may move
	 * in steps of a millisecond): times carried across a reset read back
	 * as they were; a clock that restarted is taken */
	if (!d->time_offset || off - d->time_offset > 50000000 ||
	    d->time_offset - off > 50000000)
		d->time_offset = off;
}

/* Wait until (DEV_STATUS & mask) is nonzero; 0, or -ETIMEDOUT / -ENODEV.
 * A device whose HEARTBEAT moves but that is slow to answer (a device in
 * user space on a loaded host) gets up to ten times @ms. */
static int wait_status(struct pci_drv *d, uint32_t mask, uint32_t ms, uint32_t *st)
{
	uint64_t t0 = pci_now_ns(), end = t0 + (uint64_t)ms * 1000000u;
	uint32_t hb = pci_rd32(d->t, REG_HEARTBEAT);
	int extended = 0;

	for (;;) {
		*st = pci_rd32(d->t, REG_DEV_STATUS);
		if (pci_absent(d)) {
			pci_mark_gone(d);
			return -ENODEV;
		}
		if (*st & mask)
			return 0;
		if (pci_now_ns() >= end) {
			if (extended || pci_rd32(d->t, REG_HEARTBEAT) == hb)
				return -ETIMEDOUT;
			extended = 1;
			end = t0 + (uint64_t)ms * 10000000u;
		}
		struct timespec ts = { 0, 100000 };
		nanosleep(&ts, NULL);
	}
}

/* 5.3: reset and wait for READY. 0, -ETIMEDOUT or -ENODEV (no message). */
static int dev_reset(struct pci_drv *d)
{
	uint32_t s, tmo = reset_timeout(d);
	uint64_t end;

	pci_wr32(d->t, REG_DRV_STATUS, 0);
	pci_wr32(d->t, REG_DEV_CONTROL, 0);
	s = pci_rd32(d->t, REG_RESET_ACK) + 1;
	if (!s)
		s = 1;
	pci_wr32(d->t, REG_RESET_REQ, s);
	end = pci_now_ns() + (uint64_t)tmo * 1000000u;
	for (;;) {
		uint32_t st = pci_rd32(d->t, REG_DEV_STATUS);
		if (pci_absent(d)) {
			pci_mark_gone(d);
			return -ENODEV;
		}
		if (pci_rd32(d->t, REG_RESET_ACK) == s && !(st & DEVIF_ST_RESETTING) &&
		    (st & DEVIF_ST_READY))
			break;
		if (pci_now_ns() >= end)
			return -ETIMEDOUT;
		sleep_ms(1);
	}
	d->resets++;
	return 0;
}

/* 5.2: agree on a version and features. */
static int agree_version(struct pci_drv *d, int first)
{
	uint32_t v = pci_rd32(d->t, REG_IF_VERSION), feat, st;
	int err;

	if (v >> 16 != DEVIF_IF_MAJOR)
		return dpak__err(ENODEV, "pci %s: device interface %u.%u is not "
				 "supported (this libdpak speaks %u.x); a %s libdpak "
				 "is needed", d->bdf, v >> 16, v & 0xFFFF,
				 DEVIF_IF_MAJOR, v >> 16 > DEVIF_IF_MAJOR ? "newer" :
				 "older");
	uint32_t dev_minor = v & 0xFFFF, drv_minor = DEVIF_IF_MINOR;
	d->if_minor = dev_minor < drv_minor ? dev_minor : drv_minor;
	feat = pci_rd32(d->t, REG_DEV_FEATURES) & DEVIF_F_KNOWN;
	if (!first && feat != d->features)
		dpak__log(DPAK_LOG_WARN, "pci %s: the device's features changed "
			  "across a reset (0x%x, were 0x%x)", d->bdf, feat, d->features);
	d->features = feat;
	pci_wr32(d->t, REG_DRV_IF_VERSION, DEVIF_VERSION(DEVIF_IF_MAJOR, d->if_minor));
	pci_wr32(d->t, REG_DRV_FEATURES, feat);
	pci_wr32(d->t, REG_DRV_VERSION, (uint32_t)DPAK_VERSION_MAJOR << 24 |
		 (uint32_t)DPAK_VERSION_MINOR << 16 | (uint32_t)DPAK_VERSION_PATCH);
	err = wait_status(d, DEVIF_ST_VERSION_OK | DEVIF_ST_VERSION_BAD,
			  DEVIF_HANDSHAKE_MS, &st);
	if (err == -ENODEV)
		return pci_state_err(d);
	if (err)
		return dpak__err(ETIMEDOUT, "pci %s: the device did not answer the "
				 "version agreement (DRV_IF_VERSION %u.%u) within "
				 "%u ms", d->bdf, DEVIF_IF_MAJOR, d->if_minor,
				 DEVIF_HANDSHAKE_MS);
	if (st & DEVIF_ST_VERSION_BAD)
		return dpak__err(ENODEV, "pci %s: the device refused interface "
				 "version %u.%u with features 0x%x (VERSION_BAD)",
				 d->bdf, DEVIF_IF_MAJOR, d->if_minor, feat);
	return 0;
}

/* Bits of the enums this libdpak knows. */
#define KNOWN_ITEMS (((1ull << (DPAK_ITEM_VLAN_TAGS + 1)) - 1) & ~1ull)
#define KNOWN_ACTIONS (((1ull << (DPAK_ACTION_VXLAN_ENCAP6 + 1)) - 1) & ~1ull)
#define KNOWN_TABLES ((1u << DPAK_TABLE_EXACT) | (1u << DPAK_TABLE_WILDCARD) | \
		      (1u << DPAK_TABLE_LPM))
#define KNOWN_FIELDS ((1u << PK_FIELD_MAX) - 1)

static void read_caps(struct pci_drv *d)
{
	uint32_t ks0 = pci_rd32(d->t, REG_KEY_SIZES_0), ks1 = pci_rd32(d->t, REG_KEY_SIZES_1);

	d->cap_items = rd64(d, REG_CAP_ITEMS_LO) & KNOWN_ITEMS;
	d->cap_actions = rd64(d, REG_CAP_ACTIONS_LO) & KNOWN_ACTIONS;
	d->cap_tables = pci_rd32(d->t, REG_CAP_TABLES) & KNOWN_TABLES;
	d->cap_fields = pci_rd32(d->t, REG_CAP_FIELDS) & KNOWN_FIELDS;
	d->cap_exclusive = rd64(d, REG_EXCLUSIVE_LO) & KNOWN_ACTIONS;
	d->n_key_sizes = 0;
	for (int i = 0; i < 8; i++) {
		uint32_t s = ((i < 4 ? ks0 : ks1) >> (8 * (i % 4))) & 0xFF;
		if (s && s <= PK_MAX_KEY)
			d->key_sizes[d->n_key_sizes++] = s;
	}
	d->max_action_bytes = pci_rd32(d->t, REG_MAX_ACTION_BYTES);
	d->max_tables = pci_rd32(d->t, REG_MAX_TABLES);
	d->max_exact_tables = pci_rd32(d->t, REG_MAX_EXACT_TABLES);
	d->max_entries = pci_rd32(d->t, REG_MAX_ENTRIES);
	d->max_masks = pci_rd32(d->t, REG_MAX_MASKS);
	d->max_priorities = pci_rd32(d->t, REG_MAX_PRIORITIES);
	d->max_push_bytes = pci_rd32(d->t, REG_MAX_PUSH_BYTES);
	d->n_ports = pci_rd32(d->t, REG_N_PORTS);
	d->max_bonds = pci_rd32(d->t, REG_MAX_BONDS);
	d->max_bond_members = pci_rd32(d->t, REG_MAX_BOND_MEMBERS);
	d->max_host_queues = pci_rd32(d->t, REG_MAX_HOST_QUEUES);
	d->max_queue_size = pci_rd32(d->t, REG_MAX_QUEUE_SIZE);
	uint32_t mr = pci_rd32(d->t, REG_MTU_RANGE);
	d->mtu_min = mr & 0xFFFF;
	d->mtu_max = mr >> 16;
	d->max_frame = pci_rd32(d->t, REG_MAX_FRAME);
	d->max_cmd_data = pci_rd32(d->t, REG_MAX_CMD_DATA);
	d->max_aq_size = pci_rd32(d->t, REG_MAX_AQ_SIZE);
	d->max_eq_size = pci_rd32(d->t, REG_MAX_EQ_SIZE);
}

static void read_ports(struct pci_drv *d)
{
	for (uint32_t p = 0; p < DEVIF_MAX_PORTS; p++) {
		uint32_t w[4];
		for (int i = 0; i < 4; i++)
			w[i] = pci_rd32(d->t, REG_PORT_TABLE + 16 * p + 4 * (uint32_t)i);
		memcpy(&d->port[p], w, sizeof(w));
	}
}

/* Registers that cannot be: refuse the device rather than trust them. */
static int check_regs(struct pci_drv *d)
{
	const char *bad = NULL;
	uint32_t v = 0;

	if (!d->n_ports || d->n_ports > DEVIF_MAX_PORTS)
		bad = "N_PORTS", v = d->n_ports;
	else if (d->max_aq_size < 64 || (d->max_aq_size & (d->max_aq_size - 1)))
		bad = "MAX_AQ_SIZE", v = d->max_aq_size;
	else if (d->max_eq_size < 64 || (d->max_eq_size & (d->max_eq_size - 1)))
		bad = "MAX_EQ_SIZE", v = d->max_eq_size;
	else if (d->max_cmd_data < 65536)
		bad = "MAX_CMD_DATA", v = d->max_cmd_data;
	else if (!d->max_host_queues || d->max_host_queues > 64)
		bad = "MAX_HOST_QUEUES", v = d->max_host_queues;
	else if (d->max_queue_size < 2 || (d->max_queue_size & (d->max_queue_size - 1)))
		bad = "MAX_QUEUE_SIZE", v = d->max_queue_size;
	else if (d->max_frame < 60 || d->max_frame > 65535)
		bad = "MAX_FRAME", v = d->max_frame;
	else if (d->max_bonds > PCI_MAX_BONDS || d->n_ports + d->max_bonds > 0xFFFF)
		bad = "MAX_BONDS", v = d->max_bonds;
	if (bad)
		return dpak__err(ENODEV, "pci %s: register %s reads %u, which the "
				 "device interface does not allow; device refused",
				 d->bdf, bad, v);
	for (uint32_t p = 0; p < d->n_ports; p++)
		if (d->port[p].type > 2)
			return dpak__err(ENODEV, "pci %s: port table entry %u has type "
					 "%u; device refused", d->bdf, p, d->port[p].type);
	return 0;
}

/* 3.3: the configinfo against the device's limits. */
static int check_config(struct pci_drv *d)
{
	const struct ci_config *c = d->cfg;
	const char *org = d->oc.ci_origin ? d->oc.ci_origin : "configinfo";
	uint32_t exact = 0;

#define LIMIT(line, what, val, lim, reg)                                             \
	do {                                                                         \
		if ((val) > (lim))                                                   \
			return dpak__err(EINVAL, "%s:%d: %s=%u exceeds the "       \
					 "device's %u (pci %s " reg ")", org, line, what, \
					 (unsigned)(val), (unsigned)(lim), d->bdf); \
	} while (0)
	for (uint32_t i = 0; i < c->n_key_sizes; i++) {
		int ok = 0;
		for (uint32_t k = 0; k < d->n_key_sizes; k++)
			ok |= d->key_sizes[k] == c->key_sizes[i];
		if (!ok)
			return dpak__err(EINVAL, "%s: key size %u is not one of the "
					 "device's %u key sizes (pci %s KEY_SIZES)", org,
					 c->key_sizes[i], d->n_key_sizes, d->bdf);
	}
	LIMIT(0, "max-action-bytes", c->max_action_bytes, d->max_action_bytes,
	      "MAX_ACTION_BYTES");
	if (c->n_tables > d->max_tables)
		return dpak__err(EINVAL, "%s: %u tables exceed the device's %u (pci "
				 "%s MAX_TABLES)", org, c->n_tables, d->max_tables,
				 d->bdf);
	for (uint32_t i = 0; i < c->n_tables; i++) {
		const struct ci_table *t = &c->tables[i];
		char what[64];

		if (!(d->cap_tables & (1u << t->type)))
			return dpak__err(EINVAL, "%s:%d: table %s: type %s is "
					 "not supported by the device (pci %s "
					 "CAP_TABLES)", org, t->line, t->name,
					 t->type == PK_EXACT ? "exact" :
					 t->type == PK_WILDCARD ? "wildcard" : "lpm",
					 d->bdf);
		for (uint32_t f = 0; f < t->n_fields; f++)
			if (!(d->cap_fields & (1u << t->field[f])))
				return dpak__err(EINVAL, "%s:%d: table %s: key "
						 "field %s is not extracted by the "
						 "device (pci %s CAP_FIELDS)", org, t->line,
						 t->name, pk_field_names[t->field[f]],
						 d->bdf);
		exact += t->type == PK_EXACT;
		snprintf(what, sizeof(what), "table %s: capacity", t->name);
		LIMIT(t->line, what, t->capacity, d->max_entries, "MAX_ENTRIES");
		snprintf(what, sizeof(what), "table %s: action-bytes", t->name);
		LIMIT(t->line, what, t->action_bytes, d->max_action_bytes,
		      "MAX_ACTION_BYTES");
		if (t->type != PK_EXACT) {
			snprintf(what, sizeof(what), "table %s: masks", t->name);
			LIMIT(t->line, what, t->max_masks, d->max_masks, "MAX_MASKS");
		}
		snprintf(what, sizeof(what), "table %s: priorities", t->name);
		LIMIT(t->line, what, t->priorities, d->max_priorities, "MAX_PRIORITIES");
	}
	if (exact > d->max_exact_tables)
		return dpak__err(EINVAL, "%s: %u exact tables exceed the device's "
				 "%u (pci %s MAX_EXACT_TABLES)", org, exact,
				 d->max_exact_tables, d->bdf);
#undef LIMIT
	return 0;
}

/* A command whose status must be OK, with a message naming it otherwise. */
static int must_ok(struct pci_drv *d, struct devif_sqe *sqe, const char *what)
{
	struct devif_cqe cqe;
	int err = pci_cmd(d, sqe, &cqe, what);

	if (err)
		return err;
	if (cqe.status != DEVIF_S_OK)
		return dpak__err(pci_status_errno(cqe.status) ? pci_status_errno(cqe.status) : EIO,
				 "pci %s: %s refused by the device (status %s, "
				 "detail 0x%x)", d->bdf, what,
				 pci_status_name(cqe.status), cqe.detail);
	return 0;
}

static void table_desc(const struct ci_table *t, uint32_t id, struct devif_table_desc *td)
{
	memset(td, 0, sizeof(*td));
	td->id = id;
	td->type = (uint8_t)t->type;
	td->miss = (uint8_t)t->miss;
	td->n_fields = t->n_fields;
	td->key_bytes = (uint8_t)t->key_bytes;
	td->capacity = t->capacity;
	td->priorities = t->priorities ? t->priorities : 1;
	td->max_masks = t->type == PK_EXACT ? 0 : t->max_masks;
	td->action_bytes = (uint16_t)t->action_bytes;
	td->flags = t->has_key_mask ? DEVIF_TABLE_F_KEY_MASK : 0;
	td->actions = t->actions;
	td->fields = t->fields;
	snprintf(td->name, sizeof(td->name), "%s", t->name);
	memset(td->field, 0xFF, sizeof(td->field));
	memcpy(td->field, t->field, t->n_fields);
	if (t->has_key_mask)
		memcpy(td->key_mask, t->key_mask, sizeof(td->key_mask));
}

int pci_tables_bonds_setup(struct pci_drv *d)
{
	char what[96];
	int err;

	for (uint32_t i = 0; i < d->cfg->n_tables; i++) {
		const struct ci_table *t = &d->cfg->tables[i];
		struct devif_sqe s = { .opcode = DEVIF_OP_TABLE_CREATE,
				       .flags = DEVIF_SQE_F_DATA,
				       .data_len = sizeof(struct devif_table_desc),
				       .data_addr = d->buf_iova, .arg0 = i };
		table_desc(t, i, (struct devif_table_desc *)d->buf);
		snprintf(what, sizeof(what), "TABLE_CREATE of table %s", t->name);
		if ((err = must_ok(d, &s, what)))
			return err;
		d->n_entries[i] = 0;
	}
	for (uint32_t b = 0; b < PCI_MAX_BONDS; b++) {
		struct pci_bond *bd = &d->bonds[b];
		struct devif_sqe s = { .opcode = DEVIF_OP_BOND_CREATE, .arg0 = 0 };
		struct devif_bond_create bc = { bd->mode, bd->hash, bd->lacp_lib ? 0 : 1,
						bd->failback ? DEVIF_BOND_F_FAILBACK : 0,
						bd->port, { 0 } };
		struct devif_cqe cqe;

		if (!bd->used)
			continue;
		memcpy(s.inline_data, &bc, sizeof(bc));
		snprintf(what, sizeof(what), "BOND_CREATE of bond %u", bd->port);
		if ((err = pci_cmd(d, &s, &cqe, what)))
			return err;
		if (cqe.status != DEVIF_S_OK || cqe.result != bd->port)
			return dpak__err(EIO, "pci %s: %s: the device %s", d->bdf, what,
					 cqe.status ? pci_status_name(cqe.status) :
					 "gave another id");
		for (uint32_t k = 0; k < bd->n; k++) {
			struct devif_bond_member bm = { .op = DEVIF_MEMBER_ADD };
			struct devif_sqe m = { .opcode = DEVIF_OP_BOND_MEMBER,
					       .arg0 = bd->port, .arg1 = bd->m[k].port };
			memcpy(m.inline_data, &bm, sizeof(bm));
			snprintf(what, sizeof(what), "BOND_MEMBER add of port %u to "
				 "bond %u", bd->m[k].port, bd->port);
			if ((err = must_ok(d, &m, what)))
				return err;
			if (bd->m[k].enabled < 0)
				continue;
			bm.op = bd->m[k].enabled ? DEVIF_MEMBER_ENABLE : DEVIF_MEMBER_DISABLE;
			memcpy(m.inline_data, &bm, sizeof(bm));
			if ((err = must_ok(d, &m, what)))
				return err;
		}
	}
	return 0;
}

static int port_config(struct pci_drv *d, uint32_t p)
{
	struct devif_port_config pc = { .valid = DEVIF_PCFG_QUEUES };
	struct devif_sqe s = { .opcode = DEVIF_OP_PORT_CONFIG, .arg0 = p };
	char what[64];

	pc.q_first = d->q_first[p];
	pc.q_n = d->q_n[p];
	if (d->mtu_set[p]) {
		pc.valid |= DEVIF_PCFG_MTU;
		pc.mtu = d->mtu_set[p];
	}
	memcpy(s.inline_data, &pc, sizeof(pc));
	snprintf(what, sizeof(what), "PORT_CONFIG of port %u", p);
	return must_ok(d, &s, what);
}

/* 5.1 steps 4-8 (the first time also the queues' memory). */
static int bringup(struct pci_drv *d, int first)
{
	uint32_t st;
	int err;

	if ((err = agree_version(d, first)))
		return err;
	read_ports(d);
	measure_time(d);
	/* 6: the admin queues, zeroed */
	memset(d->sq, 0, (size_t)d->aq_size * sizeof(*d->sq));
	memset(d->cq, 0, (size_t)d->aq_size * sizeof(*d->cq));
	memset(d->eq, 0, (size_t)d->eq_size * sizeof(*d->eq));
	__atomic_thread_fence(__ATOMIC_RELEASE);
	d->sq_tail = d->cq_head = d->eq_head = 0;
	d->cq_phase = d->eq_phase = 1;
	d->ev_seq_valid = 0;
	pci_wr32(d->t, REG_AQ_BASE_LO, (uint32_t)d->sq_iova);
	pci_wr32(d->t, REG_AQ_BASE_HI, (uint32_t)(d->sq_iova >> 32));
	pci_wr32(d->t, REG_AQ_SIZE, d->aq_size);
	pci_wr32(d->t, REG_ACQ_BASE_LO, (uint32_t)d->cq_iova);
	pci_wr32(d->t, REG_ACQ_BASE_HI, (uint32_t)(d->cq_iova >> 32));
	pci_wr32(d->t, REG_ACQ_SIZE, d->aq_size);
	pci_wr32(d->t, REG_DEV_CONTROL, DEVIF_CTL_ADMIN_EN);
	err = wait_status(d, DEVIF_ST_ADMIN_ON, DEVIF_HANDSHAKE_MS, &st);
	if (err == -ENODEV)
		return pci_state_err(d);
	if (err)
		return dpak__err(ETIMEDOUT, "pci %s: the admin queue did not come on "
				 "(ADMIN_ON) within %u ms", d->bdf, DEVIF_HANDSHAKE_MS);
	/* the RESET_COUNT commands are checked against from now on */
	d->reset_count = pci_rd32(d->t, REG_RESET_COUNT);
	/* 7 */
	struct devif_eq_setup eqs = { .base = d->eq_iova, .size = d->eq_size,
				      .vector = DEVIF_VEC_EVENT,
				      .flags = DEVIF_EQ_F_ENABLE, .types = 0x7E };
	struct devif_sqe s = { .opcode = DEVIF_OP_EQ_SETUP };
	memcpy(s.inline_data, &eqs, sizeof(eqs));
	if ((err = must_ok(d, &s, "EQ_SETUP")))
		return err;
	if ((err = pci_tables_bonds_setup(d)))
		return err;
	struct devif_hostq_setup rec[2 * 64 + 2];
	if (!first) {
		/* the data path stays out while its rings are reset */
		__atomic_store_n(&d->dp_block, 1, __ATOMIC_SEQ_CST);
		while (__atomic_load_n(&d->dp_inflight, __ATOMIC_ACQUIRE))
			sched_yield();
		drv_hostq_reset(d->hq);
	}
	unsigned n = drv_hostq_setup_records(d->hq, rec, sizeof(rec) / sizeof(rec[0]));
	for (unsigned i = 0; i < n; i++) {
		struct devif_sqe h = { .opcode = DEVIF_OP_HOSTQ_SETUP };
		char what[64];
		memcpy(h.inline_data, &rec[i], sizeof(rec[i]));
		snprintf(what, sizeof(what), "HOSTQ_SETUP of %s queue %u %s",
			 rec[i].queue == DEVIF_HQ_CTRL ? "the control" : "host",
			 rec[i].queue == DEVIF_HQ_CTRL ? 0 : rec[i].queue,
			 rec[i].dir == DEVIF_HQ_DIR_RX ? "rx" : "tx");
		if ((err = must_ok(d, &h, what)))
			return err;
	}
	for (uint32_t p = 0; p < d->n_ports; p++)
		if ((err = port_config(d, p)))
			return err;
	drv_hostq_start(d->hq);
	__atomic_store_n(&d->dp_block, 0, __ATOMIC_SEQ_CST);
	/* 8 */
	pci_wr32(d->t, REG_DRV_STATUS, DEVIF_DRV_OK);
	d->reset_count = pci_rd32(d->t, REG_RESET_COUNT);
	return 0;
}

uint32_t pci_rd_checked(struct pci_drv *d, uint32_t off)
{
	uint32_t v = pci_rd32(d->t, off);

	if (v == 0xFFFFFFFFu && pci_absent(d))
		pci_mark_gone(d);
	return v;
}

void pci_mark_gone(struct pci_drv *d)
{
	if (d->state == PCI_GONE)
		return;
	__atomic_store_n(&d->state, PCI_GONE, __ATOMIC_RELEASE);
	if (d->conn_gone)
		dpak__log(DPAK_LOG_ERR, "pci %s: the device front end went away (its "
			  "connection closed)", d->bdf);
	else
		dpak__log(DPAK_LOG_ERR, "pci %s: the device stopped answering (BAR0 "
			  "reads all ones)", d->bdf);
	uint16_t g = (uint16_t)(d->gen + 1);
	__atomic_store_n(&d->gen, g ? g : 1, __ATOMIC_RELEASE);
	pci_slots_clear(d, 0);
	for (uint32_t i = 0; i < CI_MAX_TABLES; i++) {
		d->lost_pending += d->n_entries[i];
		d->n_entries[i] = 0;
	}
	__atomic_store_n(&d->restore_pending, 1, __ATOMIC_RELEASE);
}

int pci_recover(struct pci_drv *d, int do_reset, const char *why)
{
	uint32_t st;
	int err = 0;

	if (d->state == PCI_GONE)
		return pci_state_err(d);
	uint64_t t0 = pci_now_ns();
	d->recovering = 1;
	dpak__log(DPAK_LOG_WARN, "pci %s: recovering the device: %s", d->bdf, why);
	if (!do_reset) {
		/* it resets by itself: wait for READY, or reset it ourselves */
		uint64_t end = pci_now_ns() + (uint64_t)reset_timeout(d) * 1000000u;
		do_reset = 1;
		while (pci_now_ns() < end) {
			st = pci_rd32(d->t, REG_DEV_STATUS);
			if (pci_absent(d)) {
				pci_mark_gone(d);
				break;
			}
			if (st & DEVIF_ST_FATAL)
				break;
			if ((st & DEVIF_ST_READY) && !(st & DEVIF_ST_RESETTING)) {
				do_reset = 0;
				break;
			}
			sleep_ms(1);
		}
	}
	for (int attempt = 0; attempt < 2 && d->state != PCI_GONE; attempt++) {
		err = do_reset || attempt ? dev_reset(d) : 0;
		if (!err && !(err = bringup(d, 0)))
			break;
	}
	/* Whatever the device held is gone: handles of earlier generations
	 * name nothing, and the core has its flows to add back. */
	uint64_t lost = 0;
	for (uint32_t i = 0; i < CI_MAX_TABLES; i++) {
		lost += d->n_entries[i];
		d->n_entries[i] = 0;
	}
	uint16_t g = (uint16_t)(d->gen + 1);
	__atomic_store_n(&d->gen, g ? g : 1, __ATOMIC_RELEASE);
	pci_slots_clear(d, 0);
	__atomic_add_fetch(&d->lost_pending, lost, __ATOMIC_RELAXED);
	/* A full reset zeroes the port counters: they go on from the last
	 * read (the counts since are lost with the device's state). */
	for (uint32_t p = 0; p < DEVIF_MAX_PORTS; p++) {
		struct devif_port_stats_rec *b = &d->port_base[p], *l = &d->port_last[p];
		b->rx_packets += l->rx_packets;
		b->rx_bytes += l->rx_bytes;
		b->tx_packets += l->tx_packets;
		b->tx_bytes += l->tx_bytes;
		b->rx_misses += l->rx_misses;
		b->drops += l->drops;
		b->drops_action += l->drops_action;
		b->drops_mtu += l->drops_mtu;
		b->drops_bond_rx += l->drops_bond_rx;
		memset(l, 0, sizeof(*l));
	}
	/* the core hears of it (its restore, DPAK_EVENT_RESET) when the
	 * device is back, or gone for good (its flows not restored) */
	__atomic_store_n(&d->restore_pending, 1, __ATOMIC_RELEASE);
	d->reset_waited_ms = err ? (uint32_t)((pci_now_ns() - t0) / 1000000u) : 0;
	d->recovering = 0;
	__atomic_store_n(&d->dp_block, 0, __ATOMIC_SEQ_CST);
	if (d->state == PCI_GONE)
		return pci_state_err(d);
	if (err) {
		__atomic_store_n(&d->state, PCI_DEAD, __ATOMIC_RELEASE);
		__atomic_store_n(&d->dead_since_ns, pci_now_ns(), __ATOMIC_RELAXED);
		pci_wr32(d->t, REG_DRV_STATUS, DEVIF_DRV_FAILED);
		dpak__log(DPAK_LOG_ERR, "pci %s: the device did not come back from a "
			  "reset (%s); every call fails until a retry brings it back",
			  d->bdf, err == -ETIMEDOUT ? "no READY in time" : dpak_errmsg());
		return pci_state_err(d);
	}
	__atomic_store_n(&d->state, PCI_UP, __ATOMIC_RELEASE);
	dpak__log(DPAK_LOG_WARN, "pci %s: the device is back (%" PRIu64 " entries "
		  "lost; the core restores its flows)", d->bdf, lost);
	return 0;
}

int pci_check_self_reset(struct pci_drv *d)
{
	uint32_t st, rc;

	if (d->state != PCI_UP || d->recovering)
		return 0;
	if (pci_conn_gone(d)) {
		pci_mark_gone(d);
		return 1;
	}
	/* Two register reads when all is well (each is a bus round trip on
	 * silicon); a function that reads all ones fails them both. */
	st = pci_rd32(d->t, REG_DEV_STATUS);
	rc = pci_rd32(d->t, REG_RESET_COUNT);
	if (rc == d->reset_count && (st & DEVIF_ST_READY) &&
	    !(st & (DEVIF_ST_RESETTING | DEVIF_ST_FATAL)))
		return 0;
	if (pci_absent(d)) {
		pci_mark_gone(d);
		return 1;
	}
	d->self_resets++;
	dpak__log(DPAK_LOG_WARN, "pci %s: the device reset itself (RESET_COUNT %u, "
		  "was %u; DEV_STATUS 0x%x; RESET_REASON %u)", d->bdf, rc,
		  d->reset_count, st, pci_rd32(d->t, REG_RESET_REASON));
	pci_recover(d, (st & DEVIF_ST_FATAL) != 0, "it reset itself");
	return 1;
}

int pci_drv_open(struct pci_drv *d, const struct dpak_pci_fn *fn)
{
	uint32_t magic, st;
	size_t need, off;
	int err;

	snprintf(d->bdf, sizeof(d->bdf), "%s", fn->bdf);
	d->gen = 1;
	if ((err = pci_transport_open(fn, d->timeout_ms, &d->t)))
		return err;
	magic = pci_rd32(d->t, REG_DEV_MAGIC);
	if (magic == 0xFFFFFFFFu)
		return dpak__err(ENODEV, "pci %s: the device does not answer (BAR0 "
				 "reads all ones)", d->bdf);
	if (magic != DEVIF_MAGIC)
		return dpak__err(ENODEV, "pci %s: BAR0 magic 0x%08x is not 0x%08x "
				 "(\"DPAK\"); not a dpak device, left alone", d->bdf,
				 magic, DEVIF_MAGIC);
	st = pci_rd32(d->t, REG_DEV_STATUS);
	if (!(st & DEVIF_ST_READY) || (st & (DEVIF_ST_FATAL | DEVIF_ST_RESETTING))) {
		if ((err = dev_reset(d)))
			return dpak__err(err == -ENODEV ? ENODEV : EIO, "pci %s: the "
					 "device did not come back from a reset within "
					 "%u ms", d->bdf, reset_timeout(d));
	}
	/* 5.2 first: a major we do not speak ends here, nothing written */
	uint32_t v = pci_rd32(d->t, REG_IF_VERSION);
	if (v >> 16 != DEVIF_IF_MAJOR)
		return agree_version(d, 1);
	read_caps(d);
	read_ports(d);
	if ((err = check_regs(d)) || (err = check_config(d)))
		return err;
	/* the queues and buffers in the DMA window */
	d->aq_size = PCI_AQ_SIZE;
	d->eq_size = PCI_EQ_SIZE < d->max_eq_size ? PCI_EQ_SIZE : d->max_eq_size;
	d->n_queues = d->oc.queues;
	if (d->n_queues > d->max_host_queues)
		return dpak__err(EINVAL, "opts: queues=%u exceeds the device's %u (pci "
				 "%s MAX_HOST_QUEUES)", d->n_queues, d->max_host_queues,
				 d->bdf);
	d->buf_len = d->max_cmd_data < PCI_BUF_MAX ? d->max_cmd_data : PCI_BUF_MAX;
	struct drv_hostq_cfg hc = {
		.queues = d->n_queues,
		.queue_size = d->oc.queue_size,
		.pool_size = d->oc.pool_size,
		.max_frame = d->max_frame,
		.bar4 = d->t->bar4,
		.n_ports = d->n_ports,
		.bond_ports = d->max_bonds,
	};
	uint32_t qmax = d->max_queue_size < 32768 ? d->max_queue_size : 32768;
	if (hc.queue_size > qmax) {
		dpak__log(DPAK_LOG_INFO, "pci %s: host rings of %u entries (asked "
			  "for %u; the device takes at most %u)", d->bdf, qmax,
			  hc.queue_size, qmax);
		hc.queue_size = qmax;
	}
	size_t fixed = 4096 * 3 + (size_t)d->eq_size * 32 + d->buf_len + 4096;
	need = fixed + drv_hostq_dma_bytes(&hc);
	if (need > d->t->dma_len && fixed < d->t->dma_len) {
		/* a smaller pool, if one that still fills the receive rings
		 * fits the window */
		uint32_t lo = hc.queues * hc.queue_size + 1, hi = hc.pool_size, want = hc.pool_size;
		while (lo < hi) {
			hc.pool_size = lo + (hi - lo) / 2;
			if (fixed + drv_hostq_dma_bytes(&hc) <= d->t->dma_len)
				lo = hc.pool_size + 1;
			else
				hi = hc.pool_size;
		}
		hc.pool_size = lo - 1;
		if (hc.pool_size > hc.queues * hc.queue_size &&
		    fixed + drv_hostq_dma_bytes(&hc) <= d->t->dma_len) {
			dpak__log(DPAK_LOG_WARN, "pci %s: a pool of %u buffers (asked "
				  "for %u): what the DMA window of %zu bytes holds",
				  d->bdf, hc.pool_size, want, d->t->dma_len);
			need = fixed + drv_hostq_dma_bytes(&hc);
		} else {
			hc.pool_size = want;
		}
	}
	if (need > d->t->dma_len)
		return dpak__err(ENOMEM, "pci %s: the DMA window of %zu bytes is "
				 "smaller than the %zu the queues need (queues=%u, "
				 "queue_size=%u, pool_size=%u)", d->bdf, d->t->dma_len,
				 need, hc.queues, hc.queue_size, hc.pool_size);
	off = 0;
#define CARVE(ptr, iova, bytes)                                             \
	do {                                                                \
		ptr = (void *)(d->t->dma + off);                            \
		iova = d->t->dma_iova + off;                                \
		off = (off + (bytes) + 4095) & ~(size_t)4095;               \
	} while (0)
	CARVE(d->sq, d->sq_iova, (size_t)d->aq_size * sizeof(struct devif_sqe));
	CARVE(d->cq, d->cq_iova, (size_t)d->aq_size * sizeof(struct devif_cqe));
	CARVE(d->eq, d->eq_iova, (size_t)d->eq_size * sizeof(struct devif_event));
	CARVE(d->buf, d->buf_iova, d->buf_len);
#undef CARVE
	hc.dma = d->t->dma + off;
	hc.dma_iova = d->t->dma_iova + off;
	hc.dma_len = d->t->dma_len - off;
	if ((err = drv_hostq_new(&hc, &d->hq)))
		return err;
	for (uint32_t p = 0; p < d->n_ports; p++) {
		d->q_first[p] = 0;
		d->q_n[p] = (uint16_t)d->n_queues;
	}
	if ((err = bringup(d, 1)))
		return err;
	__atomic_store_n(&d->state, PCI_UP, __ATOMIC_RELEASE);
	dpak__log(DPAK_LOG_INFO, "pci %s (%s): interface %u.%u, features 0x%x, %u "
		  "ports, %u tables", d->bdf, d->t->kind, DEVIF_IF_MAJOR, d->if_minor,
		  d->features, d->n_ports, d->cfg->n_tables);
	return 0;
}

void pci_drv_close(struct pci_drv *d)
{
	if (d->t && d->state != PCI_GONE && d->sq) {
		/* the device must not write our memory once it is freed */
		if (dev_reset(d))
			dpak__log(DPAK_LOG_WARN, "pci %s: no reset at close", d->bdf);
	}
	pci_slots_clear(d, 1);
	if (d->hq)
		drv_hostq_free(d->hq);
	if (d->t)
		d->t->close(d->t);
	d->hq = NULL;
	d->t = NULL;
}

/* --- handle slots ----------------------------------------------------------- */

static int slot_of(const struct pci_drv *d, uint32_t table, uint64_t core_h,
		   uint32_t *i);

int pci_slots_reserve(struct pci_drv *d, uint32_t table, uint32_t n)
{
	struct pci_slots *s = &d->slots[table];

	if (s->n_free >= n || s->n + (n - s->n_free) <= s->cap)
		return 0;
	uint64_t want = (uint64_t)s->n + n;
	uint32_t cap = s->cap ? s->cap : 256;
	while (cap < want && cap < 0x80000000u)
		cap *= 2;
	if (cap < want)
		return dpak__err(ENOSPC, "table %s: more than 2^31 entries",
				 d->cfg->tables[table].name);
	uint64_t *h = realloc(s->h, (size_t)cap * sizeof(*h));
	if (!h)
		return dpak__err(ENOMEM, "out of memory for the driver's handles");
	s->h = h;
	uint32_t *f = realloc(s->free, (size_t)cap * sizeof(*f));
	if (!f)
		return dpak__err(ENOMEM, "out of memory for the driver's handles");
	s->free = f;
	struct bk_flow_counters *l = realloc(s->last, (size_t)cap * sizeof(*l));
	if (!l)
		return dpak__err(ENOMEM, "out of memory for the driver's handles");
	s->last = l;
	s->cap = cap;
	return 0;
}

uint32_t pci_slot_put(struct pci_drv *d, uint32_t table, uint64_t h)
{
	struct pci_slots *s = &d->slots[table];
	uint32_t i = s->n_free ? s->free[--s->n_free] : s->n++;

	s->h[i] = h;
	s->last[i] = (struct bk_flow_counters){ 0 };
	return i;
}

void pci_slot_note(struct pci_drv *d, uint32_t table, uint64_t core_h,
		   const struct bk_flow_counters *c)
{
	uint32_t i;

	if (table < CI_MAX_TABLES && slot_of(d, table, core_h, &i))
		d->slots[table].last[i] = *c;
}

int pci_slot_last_old(const struct pci_drv *d, uint32_t table, uint64_t core_h,
		      struct bk_flow_counters *c)
{
	const struct pci_slots *s = table < CI_MAX_TABLES ? &d->slots[table] : NULL;
	uint64_t x = core_h & PCI_H_MASK;

	*c = (struct bk_flow_counters){ 0 };
	if (!s || !s->prev || (uint16_t)(core_h >> PCI_H_SHIFT) != s->prev_gen ||
	    !x || x > s->n_prev)
		return 0;
	*c = s->prev[x - 1];
	return 1;
}

static int slot_of(const struct pci_drv *d, uint32_t table, uint64_t core_h,
		   uint32_t *i)
{
	const struct pci_slots *s = &d->slots[table];
	uint64_t x = core_h & PCI_H_MASK;

	if (!pci_handle_live(d, core_h) || !x || x > s->n || !s->h[x - 1])
		return 0;
	*i = (uint32_t)(x - 1);
	return 1;
}

uint64_t pci_slot_get(const struct pci_drv *d, uint32_t table, uint64_t core_h)
{
	uint32_t i;

	return table < CI_MAX_TABLES && slot_of(d, table, core_h, &i) ?
		d->slots[table].h[i] : 0;
}

void pci_slot_set(struct pci_drv *d, uint32_t table, uint64_t core_h, uint64_t h)
{
	uint32_t i;

	if (slot_of(d, table, core_h, &i))
		d->slots[table].h[i] = h;
}

void pci_slot_free(struct pci_drv *d, uint32_t table, uint64_t core_h)
{
	struct pci_slots *s = &d->slots[table];
	uint32_t i;

	if (!slot_of(d, table, core_h, &i))
		return;
	s->h[i] = 0;
	s->free[s->n_free++] = i;
}

int pci_slot_forget(struct pci_drv *d, uint32_t table, uint64_t h)
{
	struct pci_slots *s = &d->slots[table];

	for (uint32_t i = 0; i < s->n; i++)
		if (s->h[i] == h) {
			s->h[i] = 0;
			s->free[s->n_free++] = i;
			if (d->n_entries[table])
				d->n_entries[table]--;
			return 1;
		}
	return 0;
}

void pci_slots_clear(struct pci_drv *d, int fini)
{
	for (uint32_t t = 0; t < CI_MAX_TABLES; t++) {
		struct pci_slots *s = &d->slots[t];
		free(s->prev);
		s->prev = NULL;
		s->n_prev = 0;
		if (fini) {
			free(s->h);
			free(s->free);
			free(s->last);
			*s = (struct pci_slots){ 0 };
			continue;
		}
		/* called after the generation moved on: the counters read in
		 * the one before stay readable through its handles */
		if (s->n && (s->prev = malloc((size_t)s->n * sizeof(*s->prev)))) {
			memcpy(s->prev, s->last, (size_t)s->n * sizeof(*s->prev));
			s->n_prev = s->n;
			s->prev_gen = (uint16_t)(d->gen - 1) ? (uint16_t)(d->gen - 1) : 0xFFFF;
		}
		s->n = s->n_free = 0;
	}
}
