/* SPDX-License-Identifier: MIT */
/*
 * hwsim's PCIe device front end: the admin commands (docs/device-interface.md
 * section 7) executed against hwsim's own interface. Nothing the driver
 * wrote is trusted: every address is checked against the DMA window, every
 * length against its buffer, every index against the device's limits, and
 * what is parsed is first copied out of the shared memory so that a driver
 * writing it meanwhile cannot change it between the check and the use.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "backend.h"
#include "dev.h"
#include "pcidev_int.h"

uint64_t fe_caps_items(void)
{
	return dpak_backend_hwsim.item_types;
}

uint64_t fe_caps_actions(void)
{
	return dpak_backend_hwsim.action_types;
}

uint32_t fe_caps_tables(void)
{
	return (uint32_t)dpak_backend_hwsim.table_types;
}

/* hwsim's errors as section 9's status codes. */
static uint8_t st_of(int err)
{
	switch (err) {
	case 0: return DEVIF_S_OK;
	case -EINVAL: return DEVIF_S_INVALID;
	case -ENOTSUP: return DEVIF_S_ACTION_REFUSED;
	case -ENOSPC: return DEVIF_S_TABLE_FULL;
	case -EEXIST: return DEVIF_S_EXISTS;
	case -ENOENT: return DEVIF_S_NO_ENTRY;
	case -ENOMEM: return DEVIF_S_NO_MEMORY;
	case -ERANGE: return DEVIF_S_RANGE;
	case -EBUSY: return DEVIF_S_BUSY;
	default: return DEVIF_S_INTERNAL;
	}
}

static int all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

/* Handles: generation (8 bits, never 0) << 40 | (table + 1) << 32 | id;
 * they fit in 48 bits, which leaves the driver room for its own reset
 * generation above them. */
static uint64_t handle_of(const struct hw_pcidev *fe, uint32_t table, uint32_t id)
{
	return (uint64_t)(fe->gen & 0xFF) << 40 | (uint64_t)(table + 1) << 32 | id;
}

static int handle_id(const struct hw_pcidev *fe, uint32_t table, uint64_t h,
		     uint32_t *id)
{
	if ((h >> 40) != (fe->gen & 0xFFu) || ((h >> 32) & 0xFF) != table + 1)
		return -ENOENT;
	*id = (uint32_t)h;
	return 0;
}

static int table_live(const struct hw_pcidev *fe, uint32_t t)
{
	return t < HW_MAX_TABLES && fe->tstate[t] == FE_T_LIVE;
}

/* Check a packed action block beyond its form (hwsim checks the form):
 * ports, queues and jump targets in the device's range. Returns a status
 * and *pos the op's position. */
static uint8_t check_actions(const struct hw_pcidev *fe, uint32_t table,
			     const uint8_t *a, uint32_t len, uint16_t *pos)
{
	uint32_t o = 0;
	uint16_t n = 0;
	int fate = 0;

	while (o < len) {
		*pos = n;
		if (o + 2 > len || fate || a[o] == PK_OP_END || a[o] >= PK_OP_MAX ||
		    a[o + 1] != 2 + pk_op_payload[a[o]] || o + a[o + 1] > len)
			return DEVIF_S_INVALID;
		uint32_t v = a[o + 1] >= 4 ? (uint32_t)a[o + 2] << 8 | a[o + 3] : 0;
		switch (a[o]) {
		case PK_OP_PORT:
			if (v >= fe->n_ports + HW_MAX_BONDS)
				return DEVIF_S_RANGE;
			break;
		case PK_OP_QUEUE:
			if (v >= FE_N_QUEUES)
				return DEVIF_S_RANGE;
			break;
		case PK_OP_JUMP:
			if (v <= table || v >= HW_MAX_TABLES)
				return DEVIF_S_RANGE;
			break;
		case PK_OP_RSS:
			if (!a[o + 2] || a[o + 2] > PK_RSS_MAX)
				return DEVIF_S_INVALID;
			for (unsigned q = 0; q < a[o + 2]; q++)
				if (a[o + 3 + q] >= FE_N_QUEUES)
					return DEVIF_S_RANGE;
			break;
		case PK_OP_VLAN_PUSH:
			if ((v != 0x8100 && v != 0x88a8))
				return DEVIF_S_INVALID;
			break;
		default:
			break;
		}
		fate = pk_op_is_fate(a[o]);
		o += a[o + 1];
		n++;
	}
	*pos = n;
	return fate ? DEVIF_S_OK : DEVIF_S_INVALID;
}

/* The position of the first op hwsim refuses now (ACTION_REFUSED detail). */
static uint16_t refused_pos(const struct hw_pcidev *fe, const uint8_t *a, uint32_t len)
{
	uint64_t rej = hw_rejected_ops(fe->dev);
	uint16_t n = 0;

	for (uint32_t o = 0; o + 2 <= len && a[o + 1] >= 2; o += a[o + 1], n++)
		if (a[o] < 64 && (rej & (1ull << a[o])))
			return n;
	return 0;
}

static void result_err(const struct hw_pcidev *fe, struct devif_entry_result *r,
		       int err, uint32_t table, const uint8_t *act, uint32_t act_len)
{
	r->status = st_of(err);
	if (r->status == DEVIF_S_INTERNAL)
		r->detail = (uint16_t)-err; /* the errno, for the driver's log */
	if (r->status == DEVIF_S_TABLE_FULL &&
	    hw_table_in_use(fe->dev, table) < fe->tdesc[table].capacity &&
	    fe->tdesc[table].type != PK_EXACT)
		r->status = DEVIF_S_MASKS_FULL;
	if (r->status == DEVIF_S_ACTION_REFUSED) {
		r->detail_kind = DEVIF_DETAIL_ACTION;
		r->detail = refused_pos(fe, act, act_len);
	}
}

/* An LPM record's rank: the last key field's prefix (every earlier field
 * matched in full), 8 * width - prefix bits, as hwsim orders LPM entries
 * (a longer prefix wins). -1 if the mask is no such prefix. */
static int lpm_rank(const struct devif_table_desc *td, const uint8_t *mask)
{
	unsigned off = 0, last = td->field[td->n_fields - 1], len = pk_field_len[last];
	unsigned ones = 0;

	for (unsigned i = 0; i + 1 < td->n_fields; i++) {
		for (unsigned b = 0; b < pk_field_len[td->field[i]]; b++)
			if (mask[off + b] != 0xFF)
				return -1;
		off += pk_field_len[td->field[i]];
	}
	while (ones < 8 * len && (mask[off + ones / 8] & (0x80 >> (ones % 8))))
		ones++;
	for (unsigned b = ones; b < 8 * len; b++)
		if (mask[off + b / 8] & (0x80 >> (b % 8)))
			return -1;
	for (unsigned b = off + len; b < td->key_bytes; b++)
		if (mask[b])
			return -1;
	return (int)(8 * len - ones);
}

/* Per-entry result bookkeeping of a batch. */
struct batch {
	uint32_t done, failed, first_failed;
};

static void batch_res(struct batch *b, struct devif_entry_result *out, uint32_t i,
		      const struct devif_entry_result *r)
{
	memcpy(&out[i], r, sizeof(*r));
	b->done++;
	if (r->status != DEVIF_S_OK) {
		if (!b->failed)
			b->first_failed = i;
		b->failed++;
	}
}

static void batch_done(const struct batch *b, struct devif_cqe *cq,
		       const struct devif_entry_result *single)
{
	cq->done = b->done;
	cq->failed = b->failed;
	cq->first_failed = b->failed ? b->first_failed : DEVIF_NO_INDEX;
	cq->status = b->failed ? DEVIF_S_PARTIAL : DEVIF_S_OK;
	if (single && b->done == 1) { /* a single entry: its status and detail */
		cq->status = single->status;
		cq->detail = (uint32_t)single->detail_kind << 16 | single->detail;
		cq->result = single->handle;
	}
}

/* Locate a batch's buffer: results (16 × count), then records. */
static uint8_t *batch_buf(struct hw_pcidev *fe, const struct devif_sqe *sq,
			  size_t per_min, uint8_t *status)
{
	uint8_t *buf;

	*status = DEVIF_S_INVALID;
	if (!(sq->flags & DEVIF_SQE_F_DATA) || !sq->count || sq->data_len > FE_MAX_CMD_DATA ||
	    (sq->data_addr & 7) || (uint64_t)sq->count * (16 + per_min) > sq->data_len)
		return NULL;
	if (!(buf = fe_ptr(fe, sq->data_addr, sq->data_len)))
		return NULL;
	if (!table_live(fe, sq->arg0)) {
		*status = DEVIF_S_NO_TABLE;
		return NULL;
	}
	*status = DEVIF_S_OK;
	return buf;
}

static void cmd_entry_add(struct hw_pcidev *fe, const struct devif_sqe *sq,
			  struct devif_cqe *cq, int *no_complete)
{
	uint32_t t = sq->arg0, n = sq->count;
	uint8_t st, *buf = batch_buf(fe, sq, 8, &st);
	struct batch b = { 0 };
	struct devif_entry_result r, *res;
	const struct devif_table_desc *td;
	size_t off, end;
	int broken = 0;

	if (!buf) {
		cq->status = st;
		return;
	}
	td = &fe->tdesc[t];
	res = (struct devif_entry_result *)buf;
	off = (size_t)n * 16;
	end = sq->data_len;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t key[PK_MAX_KEY], mask[PK_MAX_KEY], act[PK_MAX_ACTIONS];
		struct devif_add_hdr h;
		struct devif_carry carry;
		size_t p;
		uint32_t id;
		int err;

		memset(&r, 0, sizeof(r));
		if (fe->f_reset_in_batch && i == fe->f_reset_after) {
			fe->f_reset_in_batch = 0;
			*no_complete = 1;
			fe_reset(fe, DEVIF_RESET_RECOVERY);
			return;
		}
		if (broken || end - off < sizeof(h)) {
			r.status = DEVIF_S_INVALID;
			broken = 1;
			batch_res(&b, res, i, &r);
			continue;
		}
		memcpy(&h, buf + off, sizeof(h));
		if (h.len % 8 || h.len < sizeof(h) || h.len > end - off) {
			r.status = DEVIF_S_INVALID; /* the next record cannot be found */
			broken = 1;
			batch_res(&b, res, i, &r);
			continue;
		}
		p = off + sizeof(h);
		off += h.len;
		int has_mask = !!(h.flags & DEVIF_REC_F_MASK);
		size_t need = sizeof(h) + ((h.flags & DEVIF_REC_F_CARRY) ? sizeof(carry) : 0) +
			      td->key_bytes * (1u + has_mask) + h.actions_len;
		if ((h.flags & ~(DEVIF_REC_F_MASK | DEVIF_REC_F_CARRY)) || need > h.len ||
		    h.len - need >= 8 || has_mask != (td->type != PK_EXACT) ||
		    h.actions_len == 0 || h.actions_len > td->action_bytes ||
		    (td->type == PK_WILDCARD ? h.priority >= td->priorities
		     : td->type == PK_LPM ? h.priority > 8u * PK_MAX_KEY : h.priority != 0)) {
			r.status = DEVIF_S_INVALID;
			batch_res(&b, res, i, &r);
			continue;
		}
		if (h.flags & DEVIF_REC_F_CARRY) {
			memcpy(&carry, buf + p, sizeof(carry));
			p += sizeof(carry);
		}
		memcpy(key, buf + p, td->key_bytes);
		p += td->key_bytes;
		if (has_mask) {
			memcpy(mask, buf + p, td->key_bytes);
			p += td->key_bytes;
		}
		memcpy(act, buf + p, h.actions_len);
		uint32_t prio = h.priority;
		if (td->type == PK_LPM) {
			/* the rank comes from the prefix; a record may carry it
			 * (as the core packs it) or 0 */
			int rank = lpm_rank(td, mask);
			if (rank < 0 || (prio && prio != (uint32_t)rank)) {
				r.status = DEVIF_S_INVALID;
				batch_res(&b, res, i, &r);
				continue;
			}
			prio = (uint32_t)rank;
		}
		if ((r.status = check_actions(fe, t, act, h.actions_len, &r.detail)) != DEVIF_S_OK) {
			r.detail_kind = DEVIF_DETAIL_ACTION;
			batch_res(&b, res, i, &r);
			continue;
		}
		r.detail = 0;
		err = hw_entry_add(fe->dev, t, key, has_mask ? mask : NULL, prio, act,
				   h.actions_len, &id);
		if (err) {
			result_err(fe, &r, err, t, act, h.actions_len);
		} else {
			if (h.flags & DEVIF_REC_F_CARRY) {
				struct hw_entry_counters c = { carry.packets, carry.bytes,
							       carry.last_hit };
				hw_entry_carry(fe->dev, t, id, &c);
			}
			r.handle = handle_of(fe, t, id);
		}
		batch_res(&b, res, i, &r);
	}
	batch_done(&b, cq, n == 1 ? &res[0] : NULL);
}

static void cmd_entry_del(struct hw_pcidev *fe, const struct devif_sqe *sq,
			  struct devif_cqe *cq)
{
	uint8_t st, *buf = batch_buf(fe, sq, 8, &st);
	struct batch b = { 0 };
	struct devif_entry_result r, *res;

	if (!buf) {
		cq->status = st;
		return;
	}
	res = (struct devif_entry_result *)buf;
	for (uint32_t i = 0; i < sq->count; i++) {
		uint64_t h;
		uint32_t id;
		int err;

		memcpy(&h, buf + (size_t)sq->count * 16 + (size_t)i * 8, 8);
		memset(&r, 0, sizeof(r));
		err = handle_id(fe, sq->arg0, h, &id);
		if (!err)
			err = hw_entry_del(fe->dev, sq->arg0, id);
		r.status = st_of(err);
		batch_res(&b, res, i, &r);
	}
	batch_done(&b, cq, sq->count == 1 ? &res[0] : NULL);
}

static void cmd_entry_modify(struct hw_pcidev *fe, const struct devif_sqe *sq,
			     struct devif_cqe *cq)
{
	uint32_t t = sq->arg0, n = sq->count;
	uint8_t st, *buf = batch_buf(fe, sq, 16, &st);
	struct batch b = { 0 };
	struct devif_entry_result r, *res;
	size_t off, end;
	int broken = 0;

	if (!buf) {
		cq->status = st;
		return;
	}
	res = (struct devif_entry_result *)buf;
	off = (size_t)n * 16;
	end = sq->data_len;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t act[PK_MAX_ACTIONS];
		struct devif_modify_hdr h;
		uint32_t id, nid;
		int err;

		memset(&r, 0, sizeof(r));
		if (broken || end - off < sizeof(h)) {
			r.status = DEVIF_S_INVALID;
			broken = 1;
			batch_res(&b, res, i, &r);
			continue;
		}
		memcpy(&h, buf + off, sizeof(h));
		if (h.len % 8 || h.len < sizeof(h) || h.len > end - off) {
			r.status = DEVIF_S_INVALID;
			broken = 1;
			batch_res(&b, res, i, &r);
			continue;
		}
		size_t p = off + sizeof(h);
		off += h.len;
		if (h.flags || h.rsvd || sizeof(h) + h.actions_len > h.len ||
		    h.len - sizeof(h) - h.actions_len >= 8 || !h.actions_len ||
		    h.actions_len > fe->tdesc[t].action_bytes) {
			r.status = DEVIF_S_INVALID;
			batch_res(&b, res, i, &r);
			continue;
		}
		memcpy(act, buf + p, h.actions_len);
		if ((err = handle_id(fe, t, h.handle, &id))) {
			r.status = DEVIF_S_NO_ENTRY;
			batch_res(&b, res, i, &r);
			continue;
		}
		if ((r.status = check_actions(fe, t, act, h.actions_len, &r.detail)) != DEVIF_S_OK) {
			r.detail_kind = DEVIF_DETAIL_ACTION;
			batch_res(&b, res, i, &r);
			continue;
		}
		r.detail = 0;
		err = hw_entry_replace(fe->dev, t, id, act, h.actions_len, &nid);
		if (err)
			result_err(fe, &r, err, t, act, h.actions_len);
		else
			r.handle = handle_of(fe, t, nid);
		batch_res(&b, res, i, &r);
	}
	batch_done(&b, cq, n == 1 ? &res[0] : NULL);
}

static void cmd_counter_read(struct hw_pcidev *fe, const struct devif_sqe *sq,
			     struct devif_cqe *cq)
{
	uint32_t n = sq->count;
	uint8_t *buf;

	cq->status = DEVIF_S_INVALID;
	if (!(sq->flags & DEVIF_SQE_F_DATA) || !n || sq->data_len > FE_MAX_CMD_DATA ||
	    (sq->data_addr & 7) || (uint64_t)n * 40 > sq->data_len ||
	    !(buf = fe_ptr(fe, sq->data_addr, sq->data_len)))
		return;
	if (!table_live(fe, sq->arg0)) {
		cq->status = DEVIF_S_NO_TABLE;
		return;
	}
	struct batch b = { 0 };
	for (uint32_t i = 0; i < n; i++) {
		struct devif_counter_result r = { 0 };
		struct hw_entry_counters c;
		uint64_t h;
		uint32_t id;
		int err;

		memcpy(&h, buf + (size_t)i * 8, 8);
		err = handle_id(fe, sq->arg0, h, &id);
		if (!err)
			err = hw_entry_counters(fe->dev, sq->arg0, id, &c);
		if (err) {
			r.status = DEVIF_S_NO_ENTRY;
			if (!b.failed)
				b.first_failed = i;
			b.failed++;
		} else {
			r.packets = c.packets;
			r.bytes = c.bytes;
			r.last_hit = c.last_hit_ns;
		}
		memcpy(buf + (size_t)n * 8 + (size_t)i * 32, &r, sizeof(r));
		b.done++;
	}
	batch_done(&b, cq, NULL);
	if (n == 1 && b.failed)
		cq->status = DEVIF_S_NO_ENTRY;
}

static void cmd_counter_dump(struct hw_pcidev *fe, const struct devif_sqe *sq,
			     struct devif_cqe *cq)
{
	uint32_t t = sq->arg0, room = sq->count, done = 0;
	uint8_t *buf;

	cq->status = DEVIF_S_INVALID;
	if (!(sq->flags & DEVIF_SQE_F_DATA) || !room || sq->data_len > FE_MAX_CMD_DATA ||
	    (sq->data_addr & 7) || (uint64_t)room * 32 > sq->data_len ||
	    !(buf = fe_ptr(fe, sq->data_addr, sq->data_len)))
		return;
	if (!table_live(fe, t)) {
		cq->status = DEVIF_S_NO_TABLE;
		return;
	}
	struct hw_table *ht = fe->dev->tables[t];
	uint32_t id = sq->arg1, slots = ht->n_slots;
	for (; id < slots && done < room; id++) {
		struct hw_entry_counters c;
		if (hw_entry_counters(fe->dev, t, id, &c))
			continue;
		struct devif_counter_dump_rec rec = { handle_of(fe, t, id), c.packets,
						      c.bytes, c.last_hit_ns };
		memcpy(buf + (size_t)done * 32, &rec, sizeof(rec));
		done++;
	}
	cq->done = done;
	cq->result = id < slots ? id : 0;
	cq->status = DEVIF_S_OK;
}

static uint32_t port_link(const struct hw_pcidev *fe, uint32_t p)
{
	return hw_port_link(fe->dev, p) ? 1 : 0;
}

/* The buffer of a query of 32-byte records, one a port from arg0: NULL with
 * the status set (INVALID, NO_PORT) where the command cannot be served. */
static uint8_t *port_recs(struct hw_pcidev *fe, const struct devif_sqe *sq,
			  struct devif_cqe *cq)
{
	uint8_t *buf;

	cq->status = DEVIF_S_INVALID;
	if (!(sq->flags & DEVIF_SQE_F_DATA) || !sq->count || (sq->data_addr & 7) ||
	    (uint64_t)sq->count * 32 > sq->data_len || sq->data_len > FE_MAX_CMD_DATA ||
	    !(buf = fe_ptr(fe, sq->data_addr, sq->data_len)))
		return NULL;
	if (sq->arg0 >= fe->n_ports || sq->count > fe->n_ports - sq->arg0) {
		cq->status = DEVIF_S_NO_PORT;
		return NULL;
	}
	return buf;
}

static void cmd_port_query(struct hw_pcidev *fe, const struct devif_sqe *sq,
			   struct devif_cqe *cq)
{
	uint8_t *buf = port_recs(fe, sq, cq);

	if (!buf)
		return;
	for (uint32_t i = 0; i < sq->count; i++) {
		uint32_t p = sq->arg0 + i;
		struct devif_port_rec r = { .port = p };
		enum hw_port_type ty = hw_port_type(fe->dev, p);
		uint32_t idx = 0;
		for (uint32_t k = 0; k < p; k++)
			idx += hw_port_type(fe->dev, k) == ty;
		r.type = (uint8_t)ty;
		r.index = (uint8_t)idx;
		r.link = (uint8_t)port_link(fe, p);
		r.flags = 1 | (fe->port[p].admin_down ? 2 : 0);
		r.mtu = (uint16_t)hw_port_mtu(fe->dev, p);
		r.mtu_min = HW_MIN_MTU;
		r.mtu_max = HW_MAX_MTU;
		hw_port_mac(fe->dev, p, r.mac);
		if (fe->port[p].mac_set)
			memcpy(r.mac, fe->port[p].mac, 6);
		r.q_first = fe->port[p].q_first;
		r.q_n = fe->port[p].q_n;
		memcpy(buf + (size_t)i * 32, &r, sizeof(r));
	}
	cq->done = sq->count;
	cq->status = DEVIF_S_OK;
}

static void cmd_port_config(struct hw_pcidev *fe, const struct devif_sqe *sq,
			    struct devif_cqe *cq)
{
	struct devif_port_config pc;
	uint32_t p = sq->arg0;

	memcpy(&pc, sq->inline_data, sizeof(pc));
	cq->status = DEVIF_S_INVALID;
	if ((pc.valid & ~0xFu) || pc.rsvd0 || !all_zero(pc.rsvd, sizeof(pc.rsvd)))
		return;
	if (p >= fe->n_ports) {
		cq->status = DEVIF_S_NO_PORT;
		return;
	}
	/* check everything first: the fields take effect together or not */
	if ((pc.valid & DEVIF_PCFG_MTU) && (pc.mtu < HW_MIN_MTU || pc.mtu > HW_MAX_MTU)) {
		cq->status = DEVIF_S_RANGE;
		return;
	}
	if ((pc.valid & DEVIF_PCFG_LINK) && pc.link_admin > 1)
		return;
	if ((pc.valid & DEVIF_PCFG_QUEUES) &&
	    (pc.q_first >= FE_N_QUEUES || pc.q_n > FE_N_QUEUES - pc.q_first)) {
		cq->status = DEVIF_S_RANGE;
		return;
	}
	if ((pc.valid & DEVIF_PCFG_MAC) && (pc.mac[0] & 1))
		return; /* a multicast address is no port's */
	if ((pc.valid & DEVIF_PCFG_MTU) && hw_port_set_mtu(fe->dev, p, pc.mtu)) {
		cq->status = DEVIF_S_RANGE;
		return;
	}
	if ((pc.valid & DEVIF_PCFG_QUEUES) &&
	    hw_port_set_rx_queues(fe->dev, p, pc.q_first, pc.q_n)) {
		cq->status = DEVIF_S_RANGE;
		return;
	}
	if (pc.valid & DEVIF_PCFG_MTU) {
		fe->port[p].mtu = pc.mtu;
		/* the port table shows it too (3.6) */
		__atomic_store_n((uint16_t *)((uint8_t *)fe->bar0 + REG_PORT_TABLE + 16 * p + 6),
				 pc.mtu, __ATOMIC_RELEASE);
	}
	if (pc.valid & DEVIF_PCFG_QUEUES) {
		fe->port[p].q_first = pc.q_first;
		fe->port[p].q_n = pc.q_n;
	}
	if (pc.valid & DEVIF_PCFG_MAC) {
		memcpy(fe->port[p].mac, pc.mac, 6);
		fe->port[p].mac_set = 1;
	}
	if (pc.valid & DEVIF_PCFG_LINK) {
		fe->port[p].admin_down = !pc.link_admin;
		fe_apply_link(fe, p);
	}
	cq->status = DEVIF_S_OK;
}

static void cmd_stats_read(struct hw_pcidev *fe, const struct devif_sqe *sq,
			   struct devif_cqe *cq)
{
	uint32_t kind = sq->arg0, first = sq->arg1, n = sq->count;
	size_t rec = kind == DEVIF_STATS_PORTS ? 80 : 32;
	uint8_t *buf;

	cq->status = DEVIF_S_INVALID;
	if (kind > DEVIF_STATS_HOSTQ || !(sq->flags & DEVIF_SQE_F_DATA) || !n ||
	    (sq->data_addr & 7) || (uint64_t)n * rec > sq->data_len ||
	    sq->data_len > FE_MAX_CMD_DATA || !(buf = fe_ptr(fe, sq->data_addr, sq->data_len)))
		return;
	if (kind == DEVIF_STATS_PORTS) {
		if (first >= fe->n_ports || n > fe->n_ports - first) {
			cq->status = DEVIF_S_NO_PORT;
			return;
		}
		for (uint32_t i = 0; i < n; i++) {
			uint32_t p = first + i;
			struct hw_port_counters c;
			const struct hw_port_counters *b0 = &fe->port[p].carry;
			hw_port_counters(fe->dev, p, &c);
			struct devif_port_stats_rec r = {
				.port = p,
				.rx_packets = c.rx_packets + b0->rx_packets,
				.rx_bytes = c.rx_bytes + b0->rx_bytes,
				.tx_packets = c.tx_packets + b0->tx_packets,
				.tx_bytes = c.tx_bytes + b0->tx_bytes,
				.rx_misses = c.rx_misses + b0->rx_misses,
				.drops = c.drops + b0->drops,
				.drops_action = c.drops_action + b0->drops_action,
				.drops_mtu = c.drops_mtu + b0->drops_mtu,
				.drops_bond_rx = c.drops_bond_rx + b0->drops_bond_rx,
			};
			memcpy(buf + (size_t)i * 80, &r, sizeof(r));
		}
	} else {
		int ctrl = first == DEVIF_HQ_CTRL;
		if (ctrl ? n != 1 : (first >= FE_N_QUEUES || n > FE_N_QUEUES - first))
			return;
		for (uint32_t i = 0; i < n; i++) {
			struct devif_hostq_stats_rec r = { 0 };
			fe_rings_stats(fe->rings, fe->dev, ctrl ? DEVIF_HQ_CTRL : first + i, &r);
			r.queue = ctrl ? DEVIF_HQ_CTRL : first + i;
			r.rsvd = 0;
			memcpy(buf + (size_t)i * 32, &r, sizeof(r));
		}
	}
	cq->done = n;
	cq->status = DEVIF_S_OK;
}

/* 7.6 Bonds. */
static struct fe_bond *fe_bond_of(struct hw_pcidev *fe, uint32_t port)
{
	if (port < fe->n_ports || port >= fe->n_ports + HW_MAX_BONDS ||
	    !fe->bond[port - fe->n_ports].used)
		return NULL;
	return &fe->bond[port - fe->n_ports];
}

static void cmd_bond_create(struct hw_pcidev *fe, const struct devif_sqe *sq,
			    struct devif_cqe *cq)
{
	struct devif_bond_create bc;
	uint32_t got[HW_MAX_BONDS], n = 0, port = ~0u;
	int err = 0;

	memcpy(&bc, sq->inline_data, sizeof(bc));
	cq->status = DEVIF_S_INVALID;
	if (bc.mode > 2 || bc.lacpdus > 1 || (bc.flags & ~DEVIF_BOND_F_FAILBACK) ||
	    !all_zero(bc.rsvd, sizeof(bc.rsvd)))
		return;
	if (bc.port != DEVIF_BOND_ANY) {
		if (bc.port < fe->n_ports || bc.port >= fe->n_ports + HW_MAX_BONDS) {
			cq->status = DEVIF_S_RANGE;
			return;
		}
		if (fe->bond[bc.port - fe->n_ports].used) {
			cq->status = DEVIF_S_EXISTS;
			return;
		}
	}
	enum hw_bond_hash hash = bc.hash <= 3 ? (enum hw_bond_hash)bc.hash : HW_HASH_L34;
	/* hwsim gives the lowest free id: take ids until the wanted one, then
	 * give back the others */
	for (;;) {
		uint32_t id;
		err = hw_bond_create(fe->dev, (enum hw_bond_mode)bc.mode, hash,
				     bc.lacpdus ? HW_LACP_HOST : HW_LACP_CTRL,
				     bc.flags & DEVIF_BOND_F_FAILBACK, &id);
		if (err)
			break;
		if (bc.port == DEVIF_BOND_ANY || id == bc.port) {
			port = id;
			break;
		}
		got[n++] = id;
		if (n == HW_MAX_BONDS)
			break;
	}
	for (uint32_t i = 0; i < n; i++)
		hw_bond_destroy(fe->dev, got[i]);
	if (port == ~0u) {
		cq->status = err == -ENOSPC || !err ? DEVIF_S_NO_BOND : st_of(err);
		return;
	}
	struct fe_bond *b = &fe->bond[port - fe->n_ports];
	memset(b, 0, sizeof(*b));
	b->used = 1;
	b->mode = bc.mode;
	b->hash = bc.hash;
	b->lacpdus = bc.lacpdus;
	b->flags = bc.flags;
	cq->result = port;
	cq->status = DEVIF_S_OK;
}

static void cmd_bond_destroy(struct hw_pcidev *fe, const struct devif_sqe *sq,
			     struct devif_cqe *cq)
{
	struct fe_bond *b = fe_bond_of(fe, sq->arg0);

	if (!b) {
		cq->status = DEVIF_S_NO_PORT;
		return;
	}
	int err = hw_bond_destroy(fe->dev, sq->arg0);
	if (!err)
		b->used = 0;
	cq->status = err == -EBUSY ? DEVIF_S_BUSY : st_of(err);
}

static int member_slot(struct fe_bond *b, uint32_t member, int alloc)
{
	for (int i = 0; i < HW_BOND_MEMBERS; i++)
		if (b->lacp_port[i] == member + 1)
			return i;
	if (!alloc)
		return -1;
	for (int i = 0; i < HW_BOND_MEMBERS; i++)
		if (!b->lacp_port[i]) {
			b->lacp_port[i] = member + 1;
			return i;
		}
	return -1;
}

static void cmd_bond_member(struct hw_pcidev *fe, const struct devif_sqe *sq,
			    struct devif_cqe *cq)
{
	struct devif_bond_member bm;
	struct fe_bond *b = fe_bond_of(fe, sq->arg0);
	uint32_t m = sq->arg1;
	int err = 0, k;

	memcpy(&bm, sq->inline_data, sizeof(bm));
	cq->status = DEVIF_S_INVALID;
	if (bm.op > DEVIF_MEMBER_LACP || bm.rsvd0 || !all_zero(bm.rsvd, sizeof(bm.rsvd)))
		return;
	if (!b || m >= fe->n_ports) {
		cq->status = DEVIF_S_NO_PORT;
		return;
	}
	switch (bm.op) {
	case DEVIF_MEMBER_ADD:
		err = hw_bond_add(fe->dev, sq->arg0, m);
		if (!err && (k = member_slot(b, m, 1)) >= 0)
			b->actor[k] = b->partner[k] = 0;
		break;
	case DEVIF_MEMBER_REMOVE:
		err = hw_bond_del(fe->dev, sq->arg0, m);
		if (!err && (k = member_slot(b, m, 0)) >= 0)
			b->lacp_port[k] = 0;
		break;
	case DEVIF_MEMBER_ENABLE:
	case DEVIF_MEMBER_DISABLE:
		err = hw_bond_enable(fe->dev, sq->arg0, m, bm.op == DEVIF_MEMBER_ENABLE);
		break;
	case DEVIF_MEMBER_LACP:
		/* collecting and distributing: the member carries traffic */
		err = hw_bond_enable(fe->dev, sq->arg0, m,
				     (bm.actor & 0x30) == 0x30);
		if (!err && (k = member_slot(b, m, 1)) >= 0) {
			b->actor[k] = bm.actor;
			b->partner[k] = bm.partner;
			memcpy(b->partner_sys[k], bm.partner_system, 6);
		}
		break;
	}
	cq->status = err == -ENOENT ? DEVIF_S_NO_PORT : err == -ENOSPC ? DEVIF_S_RANGE
		     : st_of(err);
}

static void cmd_bond_query(struct hw_pcidev *fe, const struct devif_sqe *sq,
			   struct devif_cqe *cq)
{
	struct fe_bond *b = fe_bond_of(fe, sq->arg0);
	struct hw_bond_state st;
	uint8_t *buf;

	cq->status = DEVIF_S_INVALID;
	if (!(sq->flags & DEVIF_SQE_F_DATA) || (sq->data_addr & 7) ||
	    sq->data_len < DEVIF_BOND_QUERY_BYTES || sq->data_len > FE_MAX_CMD_DATA ||
	    !(buf = fe_ptr(fe, sq->data_addr, DEVIF_BOND_QUERY_BYTES)))
		return;
	if (!b || hw_bond_state(fe->dev, sq->arg0, &st)) {
		cq->status = DEVIF_S_NO_PORT;
		return;
	}
	uint8_t out[DEVIF_BOND_QUERY_BYTES] = { 0 };
	struct devif_bond_rec br = { .port = sq->arg0, .mode = b->mode, .hash = b->hash,
				     .lacpdus = b->lacpdus, .flags = b->flags,
				     .n_members = st.n, .active = st.active };
	memcpy(out, &br, sizeof(br));
	for (uint32_t i = 0; i < st.n && i < HW_BOND_MEMBERS; i++) {
		uint32_t m = st.member[i];
		struct devif_member_rec mr = { .port = m };
		struct hw_port_counters c;
		int k = member_slot(b, m, 0);
		if (m < fe->n_ports) {
			mr.link = (uint8_t)port_link(fe, m);
			hw_port_counters(fe->dev, m, &c);
			mr.tx_packets = c.tx_packets;
			mr.rx_packets = c.rx_packets;
		}
		mr.enabled = st.enabled[i];
		mr.active = st.mode == HW_BOND_AB && st.active == m;
		mr.in_use = mr.link && mr.enabled && (st.mode != HW_BOND_AB || mr.active);
		if (k >= 0) {
			mr.actor = b->actor[k];
			mr.partner = b->partner[k];
			memcpy(mr.partner_system, b->partner_sys[k], 6);
		}
		memcpy(out + 32 + 48 * i, &mr, sizeof(mr));
	}
	memcpy(buf, out, sizeof(out));
	cq->done = sq->count ? 1 : 0; /* one bond (done never exceeds count) */
	cq->status = DEVIF_S_OK;
}

/* 7.8 Trace. */
struct trace_out {
	const struct hw_pcidev *fe;
	uint8_t *steps;
	uint32_t room, n;
	int overflow;
};

static void trace_cb(void *arg, const struct hw_trace_step *s)
{
	struct trace_out *t = arg;
	if (t->n >= t->room) {
		t->overflow = 1;
		return;
	}
	struct devif_trace_step d = {
		.table = s->table == ~0u ? DEVIF_TRACE_OUTCOME
			 : s->table == HW_TRACE_RX ? DEVIF_TRACE_RX : s->table,
		.hit = (uint8_t)s->hit, .miss = (uint8_t)s->miss, .fate = (uint8_t)s->fate,
		.why = (uint8_t)s->why,
		.handle = s->hit && s->table < HW_MAX_TABLES ? handle_of(t->fe, s->table, s->id) : 0,
		.arg = s->arg, .rx_port = s->in_port, .member = s->member,
		.act_index = (uint16_t)s->act_index, .act_type = (uint8_t)s->act_op,
	};
	memcpy(t->steps + (size_t)t->n * 32, &d, sizeof(d));
	t->n++;
}

static void cmd_trace(struct hw_pcidev *fe, const struct devif_sqe *sq,
		      struct devif_cqe *cq)
{
	uint32_t port = sq->arg0, len = sq->arg1, soff = sq->arg2, room = sq->count;
	uint8_t *buf;
	uint8_t *frame = fe->frame;

	cq->status = DEVIF_S_INVALID;
	if (!(sq->flags & DEVIF_SQE_F_DATA) || (sq->data_addr & 7) || !room ||
	    sq->data_len > FE_MAX_CMD_DATA || len < 14 || len > HW_MAX_FRAME ||
	    (soff & 7) || soff < len || soff > sq->data_len ||
	    (uint64_t)room * 32 > sq->data_len - soff ||
	    !(buf = fe_ptr(fe, sq->data_addr, sq->data_len)))
		return;
	if (port >= fe->n_ports) {
		cq->status = DEVIF_S_NO_PORT;
		return;
	}
	memcpy(frame, buf, len);
	struct trace_out t = { fe, buf + soff, room, 0, 0 };
	int err = hw_trace(fe->dev, port, frame, len, trace_cb, &t);
	if (err) {
		cq->status = st_of(err);
		return;
	}
	cq->done = t.n;
	cq->status = t.overflow ? DEVIF_S_RANGE : DEVIF_S_OK;
}

/* 7.10 and 7.11 */
static void cmd_eq_setup(struct hw_pcidev *fe, const struct devif_sqe *sq,
			 struct devif_cqe *cq)
{
	struct devif_eq_setup e;

	memcpy(&e, sq->inline_data, sizeof(e));
	cq->status = DEVIF_S_INVALID;
	if ((e.flags & ~DEVIF_EQ_F_ENABLE) || !all_zero(e.rsvd, sizeof(e.rsvd)))
		return;
	if (!(e.flags & DEVIF_EQ_F_ENABLE)) {
		fe->eq_on = 0;
		cq->status = DEVIF_S_OK;
		return;
	}
	if ((e.base & 4095) || e.size < 64 || e.size > FE_MAX_EQ || (e.size & (e.size - 1)) ||
	    (e.vector != DEVIF_VEC_EVENT && e.vector != 0xFFFF) ||
	    !fe_ptr(fe, e.base, (uint64_t)e.size * sizeof(struct devif_event)))
		return;
	fe->eq_iova = e.base;
	fe->eq_size = e.size;
	fe->eq_types = e.types;
	fe->eq_head = fe->eq_tail = 0;
	fe->eq_phase = 1;
	fe->eq_on = 1;
	fe_wr(fe, REG_EQ_TAIL, 0);
	fe_wr(fe, REG_EQ_HEAD_SEEN, 0);
	cq->status = DEVIF_S_OK;
}

static void cmd_hostq_setup(struct hw_pcidev *fe, const struct devif_sqe *sq,
			    struct devif_cqe *cq)
{
	struct devif_hostq_setup s;

	memcpy(&s, sq->inline_data, sizeof(s));
	cq->status = (uint8_t)fe_rings_setup(fe->rings, &s);
	if (cq->status > DEVIF_S_MAX)
		cq->status = DEVIF_S_INTERNAL;
}

static void cmd_func_query(struct hw_pcidev *fe, const struct devif_sqe *sq,
			   struct devif_cqe *cq)
{
	uint8_t *buf = port_recs(fe, sq, cq);

	if (!buf)
		return;
	for (uint32_t i = 0; i < sq->count; i++) {
		/* the port functions are not served yet: status 0 (reset) */
		struct devif_func_rec r = { .port = sq->arg0 + i };
		uint16_t rid;
		memcpy(&rid, fe->bar0 ? (uint8_t *)fe->bar0 + REG_PORT_TABLE +
		       16 * (sq->arg0 + i) + 4 : (uint8_t *)&rid, 2);
		r.rid = rid;
		memcpy(buf + (size_t)i * 32, &r, sizeof(r));
	}
	cq->done = sq->count;
	cq->status = DEVIF_S_OK;
}

/* 7.7 */
static void cmd_soft_reset(struct hw_pcidev *fe, struct devif_cqe *cq)
{
	uint64_t lost = hw_dev_reset(fe->dev);

	for (uint32_t i = 0; i < HW_MAX_BONDS; i++)
		if (fe->bond[i].used) {
			hw_bond_destroy(fe->dev, fe->n_ports + i);
			fe->bond[i].used = 0;
		}
	/* the port counters go on (device-interface.md 7.7): what crossed a
	 * port stays counted */
	for (uint32_t t = 0; t < HW_MAX_TABLES; t++)
		if (fe->tstate[t] == FE_T_LIVE)
			fe->tstate[t] = FE_T_GONE;
	if ((++fe->gen & 0xFF) == 0)
		fe->gen = 1;
	cq->result = lost;
	cq->status = DEVIF_S_OK;
	struct devif_ev_reset ev = { DEVIF_RESET_DRIVER, fe_rd(fe, REG_RESET_COUNT), 2 };
	fe_event(fe, DEVIF_EV_RESET, &ev, sizeof(ev));
}

/* 7.2 */
static int same_layout(const struct devif_table_desc *a, const struct devif_table_desc *b)
{
	return a->type == b->type && a->miss == b->miss && a->n_fields == b->n_fields &&
	       a->key_bytes == b->key_bytes && a->capacity == b->capacity &&
	       a->max_masks == b->max_masks && a->action_bytes == b->action_bytes &&
	       a->flags == b->flags && !memcmp(a->field, b->field, sizeof(a->field)) &&
	       !memcmp(a->key_mask, b->key_mask, sizeof(a->key_mask));
}

static void cmd_table_create(struct hw_pcidev *fe, const struct devif_sqe *sq,
			     struct devif_cqe *cq)
{
	struct devif_table_desc d;
	const uint8_t *src;
	uint32_t t = sq->arg0, used = 0;

	cq->status = DEVIF_S_INVALID;
	if (!(sq->flags & DEVIF_SQE_F_DATA) || sq->data_len < sizeof(d) ||
	    sq->data_len > FE_MAX_CMD_DATA || (sq->data_addr & 7) ||
	    !(src = fe_ptr(fe, sq->data_addr, sizeof(d))))
		return;
	memcpy(&d, src, sizeof(d));
	if (d.id != t || d.rsvd || d.type > PK_LPM || d.miss > PK_MISS_DROP ||
	    !d.n_fields || d.n_fields > PK_FIELD_MAX || (d.flags & ~DEVIF_TABLE_F_KEY_MASK) ||
	    ((d.flags & DEVIF_TABLE_F_KEY_MASK) && d.type != PK_EXACT) || d.aging_ms)
		return;
	static const uint8_t sizes[] = { 10, 16, 26, 32, 42, 48, 58, 64 };
	int size_ok = 0;
	for (unsigned i = 0; i < sizeof(sizes); i++)
		size_ok |= d.key_bytes == sizes[i];
	if (!size_ok)
		return;
	uint64_t fields = 0;
	for (unsigned i = 0; i < sizeof(d.field); i++) {
		if (i >= d.n_fields) {
			if (d.field[i] != 0xFF)
				return;
			continue;
		}
		if (d.field[i] >= PK_FIELD_MAX || (fields & (1ull << d.field[i])))
			return;
		fields |= 1ull << d.field[i];
		used += pk_field_len[d.field[i]];
	}
	if (fields != d.fields || used > d.key_bytes || (d.actions & ~fe_caps_actions()))
		return;
	if (d.flags & DEVIF_TABLE_F_KEY_MASK) {
		if (!all_zero(d.key_mask + d.key_bytes, sizeof(d.key_mask) - d.key_bytes))
			return;
	} else if (!all_zero(d.key_mask, sizeof(d.key_mask))) {
		return;
	}
	if (t >= HW_MAX_TABLES || !d.capacity || d.capacity > FE_MAX_ENTRIES ||
	    !d.action_bytes || d.action_bytes > PK_MAX_ACTIONS ||
	    (d.type == PK_WILDCARD ? (!d.priorities || d.priorities > 65536) : d.priorities > 1) ||
	    (d.type == PK_EXACT ? d.max_masks != 0 : d.max_masks > 256)) {
		cq->status = DEVIF_S_RANGE;
		return;
	}
	if (fe->tstate[t] == FE_T_LIVE) {
		cq->status = DEVIF_S_EXISTS;
		return;
	}
	if (fe->tstate[t] == FE_T_GONE && same_layout(&d, &fe->tdesc[t])) {
		/* SOFT_RESET emptied it: take it back as it is */
		fe->tdesc[t] = d;
		fe->tstate[t] = FE_T_LIVE;
		cq->status = DEVIF_S_OK;
		return;
	}
	int any_live = 0;
	for (uint32_t i = 0; i < HW_MAX_TABLES; i++)
		any_live |= fe->tstate[i] == FE_T_LIVE;
	if (fe->tstate[t] == FE_T_GONE || t != fe->hw_tables || fe->started) {
		/* hwsim creates tables in order before its engine starts: a new
		 * layout after SOFT_RESET takes a fresh hwsim device */
		if (any_live || t != 0) {
			cq->status = t != fe->hw_tables && !any_live ? DEVIF_S_INVALID
								     : DEVIF_S_BUSY;
			return;
		}
		if (fe_rebuild(fe)) {
			cq->status = DEVIF_S_NO_MEMORY;
			return;
		}
	}
	struct hw_table_cfg tc = {
		.type = (enum pk_table_type)d.type, .miss = (enum pk_miss)d.miss,
		.capacity = d.capacity, .key_bytes = d.key_bytes,
		.action_bytes = d.action_bytes, .n_fields = d.n_fields,
		.max_masks = d.max_masks,
	};
	memcpy(tc.field, d.field, d.n_fields);
	if (d.flags & DEVIF_TABLE_F_KEY_MASK) {
		tc.has_key_mask = 1;
		memcpy(tc.key_mask, d.key_mask, sizeof(tc.key_mask));
	}
	int err = hw_table_create(fe->dev, &tc);
	if (err) {
		cq->status = err == -ENOSPC ? DEVIF_S_RANGE : st_of(err);
		return;
	}
	fe->hw_tables++;
	fe->tdesc[t] = d;
	fe->tstate[t] = FE_T_LIVE;
	cq->status = DEVIF_S_OK;
}

static void cmd_table_destroy(struct hw_pcidev *fe, const struct devif_sqe *sq,
			      struct devif_cqe *cq)
{
	uint32_t t = sq->arg0;

	if (!table_live(fe, t)) {
		cq->status = DEVIF_S_NO_TABLE;
		return;
	}
	struct hw_table *ht = fe->dev->tables[t];
	for (uint32_t id = 0; id < ht->n_slots && hw_table_in_use(fe->dev, t); id++) {
		struct hw_entry_counters c;
		if (!hw_entry_counters(fe->dev, t, id, &c))
			hw_entry_del(fe->dev, t, id);
	}
	fe->tstate[t] = FE_T_GONE;
	cq->status = DEVIF_S_OK;
}

/* 7.12 Test harness. */
static void cmd_wire_inject(struct hw_pcidev *fe, const struct devif_sqe *sq,
			    struct devif_cqe *cq)
{
	uint8_t *frame = fe->frame;
	const uint8_t *src;

	cq->status = DEVIF_S_INVALID;
	if (!(sq->flags & DEVIF_SQE_F_DATA) || sq->data_len < 14 ||
	    sq->data_len > HW_MAX_FRAME || (sq->data_addr & 7) ||
	    !(src = fe_ptr(fe, sq->data_addr, sq->data_len)))
		return;
	if (sq->arg0 >= fe->n_ports) {
		cq->status = DEVIF_S_NO_PORT;
		return;
	}
	memcpy(frame, src, sq->data_len);
	int err = hw_inject(fe->dev, sq->arg0, frame, sq->data_len);
	/* BUSY: the receive ring is full (detail ENOBUFS) or the port takes
	 * its input from an attached interface (detail EBUSY) */
	cq->status = err == -ENOSPC || err == -EAGAIN || err == -ENOBUFS ? DEVIF_S_BUSY
		     : st_of(err);
	cq->detail = (uint32_t)-err;
}

static void cmd_wire_capture(struct hw_pcidev *fe, const struct devif_sqe *sq,
			     struct devif_cqe *cq)
{
	uint8_t *frame = fe->frame;
	uint8_t *dst;

	/* arg1: the room the caller has (0: MAX_FRAME); a longer frame stays
	 * in the device and the command completes RANGE */
	uint32_t room = sq->arg1 ? sq->arg1 : HW_MAX_FRAME;
	cq->status = DEVIF_S_INVALID;
	if (!(sq->flags & DEVIF_SQE_F_DATA) || sq->data_len < HW_MAX_FRAME ||
	    sq->data_len > FE_MAX_CMD_DATA || (sq->data_addr & 7) ||
	    !(dst = fe_ptr(fe, sq->data_addr, HW_MAX_FRAME)))
		return;
	if (sq->arg0 >= fe->n_ports) {
		cq->status = DEVIF_S_NO_PORT;
		return;
	}
	ssize_t n = hw_capture(fe->dev, sq->arg0, frame,
			       room < HW_MAX_FRAME ? room : HW_MAX_FRAME);
	if (n < 0) {
		cq->status = n == -EAGAIN ? DEVIF_S_OK : n == -EMSGSIZE ? DEVIF_S_RANGE
			     : st_of((int)n);
		return;
	}
	memcpy(dst, frame, (size_t)n);
	cq->result = (uint64_t)n;
	cq->status = DEVIF_S_OK;
}

static void cmd_wire_run(struct hw_pcidev *fe, const struct devif_sqe *sq,
			 struct devif_cqe *cq)
{
	uint64_t total = 0;
	int r;

	if (fe->dcfg.engine_thread) {
		cq->status = DEVIF_S_BUSY;
		return;
	}
	if (sq->arg0) {
		r = hw_run(fe->dev, sq->arg0);
		total = r > 0 ? (uint64_t)r : 0;
	} else {
		/* until idle: frames up to the host may free room for more */
		for (int round = 0; round < 1024; round++) {
			fe_rings_tx(fe->rings, fe->dev);
			r = hw_run(fe->dev, 0);
			fe_rings_rx(fe->rings, fe->dev);
			if (r <= 0)
				break;
			total += (uint64_t)r;
		}
	}
	fe_rings_rx(fe->rings, fe->dev);
	if (r < 0) {
		cq->status = st_of(r);
		return;
	}
	cq->result = total;
	cq->status = DEVIF_S_OK;
}

static void cmd_link_set(struct hw_pcidev *fe, const struct devif_sqe *sq,
			 struct devif_cqe *cq)
{
	if (sq->arg1 > 1) {
		cq->status = DEVIF_S_INVALID;
		return;
	}
	if (sq->arg0 >= fe->n_ports) {
		cq->status = DEVIF_S_NO_PORT;
		return;
	}
	fe->port[sq->arg0].wire_up = (uint8_t)sq->arg1;
	fe_apply_link(fe, sq->arg0);
	cq->status = DEVIF_S_OK;
}

/* Detail of a harness command refused for one of its arguments
 * (docs/device-interface.md 7.12): bits 0-7 name the argument, bits 16-31
 * hold the positive errno of the device's own call where one failed. */
enum { HARG_ARG0 = 1, HARG_ARG1 = 2, HARG_DATA = 3 };

static void cmd_fail_ops(struct hw_pcidev *fe, const struct devif_sqe *sq,
			 struct devif_cqe *cq)
{
	/* count 0 stops failing: the errno is not used then, 0 is fine */
	if (sq->arg0 && (!sq->arg1 || sq->arg1 > 4095)) {
		cq->status = DEVIF_S_INVALID;
		cq->detail = HARG_ARG1;
		return;
	}
	hw_fail_ops(fe->dev, sq->arg0, sq->arg0 ? -(int)sq->arg1 : 0);
	cq->status = DEVIF_S_OK;
}

static void cmd_reject(struct hw_pcidev *fe, const struct devif_sqe *sq,
		       struct devif_cqe *cq)
{
	uint64_t types;

	memcpy(&types, sq->inline_data, 8);
	if (types & ~fe_caps_actions() || !all_zero(sq->inline_data + 8, 24)) {
		cq->status = DEVIF_S_INVALID;
		return;
	}
	fe->rejected = types;
	hw_reject_ops(fe->dev, types); /* pk_op values are the action types */
	uint64_t now = fe_caps_actions() & ~types;
	fe_wr(fe, REG_ACTIONS_NOW_LO, (uint32_t)now);
	fe_wr(fe, REG_ACTIONS_NOW_HI, (uint32_t)(now >> 32));
	cq->status = DEVIF_S_OK;
}

static void cmd_wire_attach(struct hw_pcidev *fe, const struct devif_sqe *sq,
			    struct devif_cqe *cq)
{
	char name[16];

	cq->status = DEVIF_S_INVALID;
	cq->detail = HARG_DATA;
	if (!memchr(sq->inline_data, 0, 16) || !sq->inline_data[0])
		return;
	memcpy(name, sq->inline_data, 16);
	if (sq->arg0 >= fe->n_ports) {
		cq->status = DEVIF_S_NO_PORT;
		cq->detail = HARG_ARG0;
		return;
	}
	int err = hw_port_attach(fe->dev, sq->arg0, name);
	if (err) {
		fe_log(fe, 1, "port %u: cannot attach interface %s: %s", sq->arg0, name,
		       strerror(-err));
		cq->status = err == -ENODEV || err == -ENOENT ? DEVIF_S_NO_PORT : st_of(err);
		cq->detail = HARG_DATA | (uint32_t)-err << 16;
		return;
	}
	if (fe->n_attach < FE_MAX_ATTACH) {
		fe->attach[fe->n_attach].port = sq->arg0;
		memcpy(fe->attach[fe->n_attach].ifname, name, 16);
		fe->n_attach++;
	}
	cq->status = DEVIF_S_OK;
}

static void cmd_fault(struct hw_pcidev *fe, const struct devif_sqe *sq,
		      struct devif_cqe *cq)
{
	cq->status = DEVIF_S_OK;
	switch (sq->arg0) {
	case DEVIF_FAULT_NONE:
		fe->f_no_completion = 0;
		fe->f_garbage_cqe = fe->f_reset_in_batch = 0;
		break;
	case DEVIF_FAULT_NO_COMPLETION:
		fe->f_no_completion = sq->arg1;
		break;
	case DEVIF_FAULT_GARBAGE_CQE:
		fe->f_garbage_cqe = 2; /* the next command's, not this one's */
		break;
	case DEVIF_FAULT_RESET_IN_BATCH:
		fe->f_reset_in_batch = 1;
		fe->f_reset_after = sq->arg1;
		break;
	case DEVIF_FAULT_RESET_NOW:
		fe->f_reset_now = 1;
		break;
	case DEVIF_FAULT_STOP:
		__atomic_store_n(&fe->f_stop, 1, __ATOMIC_RELEASE);
		break;
	case DEVIF_FAULT_DEAD:
		__atomic_store_n(&fe->f_dead, 1, __ATOMIC_RELEASE);
		break;
	case DEVIF_FAULT_GARBAGE_EVENT:
		fe->f_garbage_event = 1;
		break;
	default:
		cq->status = DEVIF_S_INVALID;
	}
}

static int harness(uint8_t op)
{
	return op >= DEVIF_OP_WIRE_INJECT && op <= DEVIF_OP_WIRE_ATTACH;
}

int fe_cmd(struct hw_pcidev *fe, const struct devif_sqe *sq, struct devif_cqe *cq)
{
	int no_complete = 0;

	memset(cq, 0, sizeof(*cq));
	cq->cid = sq->cid;
	cq->first_failed = DEVIF_NO_INDEX;
	cq->status = DEVIF_S_INVALID;
	if (fe->f_no_completion) {
		fe->f_no_completion--;
		return 1;
	}
	/* reserved flag bits, and a data length without DATA */
	if ((sq->flags & ~(DEVIF_SQE_F_DATA | DEVIF_SQE_F_FENCE)) ||
	    (!(sq->flags & DEVIF_SQE_F_DATA) && (sq->data_len || sq->data_addr)))
		return 0;
	if (harness(sq->opcode))
		fe_rings_tx(fe->rings, fe->dev);
	if (fe->start_pending && sq->opcode != DEVIF_OP_TABLE_CREATE)
		fe_start_engine(fe);
	switch (sq->opcode) {
	case DEVIF_OP_NOP: cq->status = DEVIF_S_OK; break;
	case DEVIF_OP_TABLE_CREATE: cmd_table_create(fe, sq, cq); break;
	case DEVIF_OP_TABLE_DESTROY: cmd_table_destroy(fe, sq, cq); break;
	case DEVIF_OP_ENTRY_ADD: cmd_entry_add(fe, sq, cq, &no_complete); break;
	case DEVIF_OP_ENTRY_DEL: cmd_entry_del(fe, sq, cq); break;
	case DEVIF_OP_ENTRY_MODIFY: cmd_entry_modify(fe, sq, cq); break;
	case DEVIF_OP_COUNTER_READ: cmd_counter_read(fe, sq, cq); break;
	case DEVIF_OP_COUNTER_DUMP: cmd_counter_dump(fe, sq, cq); break;
	case DEVIF_OP_PORT_QUERY: cmd_port_query(fe, sq, cq); break;
	case DEVIF_OP_PORT_CONFIG: cmd_port_config(fe, sq, cq); break;
	case DEVIF_OP_STATS_READ: cmd_stats_read(fe, sq, cq); break;
	case DEVIF_OP_BOND_CREATE: cmd_bond_create(fe, sq, cq); break;
	case DEVIF_OP_BOND_DESTROY: cmd_bond_destroy(fe, sq, cq); break;
	case DEVIF_OP_BOND_MEMBER: cmd_bond_member(fe, sq, cq); break;
	case DEVIF_OP_BOND_QUERY: cmd_bond_query(fe, sq, cq); break;
	case DEVIF_OP_PIPELINE_PAUSE:
		if (sq->arg0 > 1)
			break;
		if ((int)sq->arg0 != fe->paused) {
			hw_pause(fe->dev, (int)sq->arg0);
			fe->paused = (int)sq->arg0;
		}
		cq->status = DEVIF_S_OK;
		break;
	case DEVIF_OP_SOFT_RESET: cmd_soft_reset(fe, cq); break;
	case DEVIF_OP_TRACE: cmd_trace(fe, sq, cq); break;
	case DEVIF_OP_EQ_SETUP: cmd_eq_setup(fe, sq, cq); break;
	case DEVIF_OP_HOSTQ_SETUP: cmd_hostq_setup(fe, sq, cq); break;
	case DEVIF_OP_FUNC_QUERY: cmd_func_query(fe, sq, cq); break;
	case DEVIF_OP_WIRE_INJECT: cmd_wire_inject(fe, sq, cq); break;
	case DEVIF_OP_WIRE_CAPTURE: cmd_wire_capture(fe, sq, cq); break;
	case DEVIF_OP_WIRE_RUN: cmd_wire_run(fe, sq, cq); break;
	case DEVIF_OP_LINK_SET: cmd_link_set(fe, sq, cq); break;
	case DEVIF_OP_FAIL_OPS: cmd_fail_ops(fe, sq, cq); break;
	case DEVIF_OP_REJECT_ACTIONS: cmd_reject(fe, sq, cq); break;
	case DEVIF_OP_FAULT: cmd_fault(fe, sq, cq); break;
	case DEVIF_OP_WIRE_ATTACH: cmd_wire_attach(fe, sq, cq); break;
	default: /* FW_* and every other opcode */
		cq->status = DEVIF_S_UNSUPPORTED;
		break;
	}
	return no_complete;
}
