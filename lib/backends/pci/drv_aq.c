/* SPDX-License-Identifier: MIT */
/*
 * The admin queue and the event queue of the pci driver
 * (docs/device-interface.md sections 6, 9, 10, 12): one command at a time
 * under the driver's lock, its completion found by the phase bit and
 * checked before anything in it is used.
 */
#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include "core.h"
#include "drv.h"

/* --- pure checks (fuzzed by tests/fuzz-pci-cqe.c) ------------------------- */

int pci_cqe_check(const struct devif_cqe *c, const struct pci_cq_expect *e,
		  const char **why)
{
	uint32_t mask = e->aq_size - 1, bound = e->count ? e->count : 1;
	uint32_t d_head, d_tail;

	*why = NULL;
	if (!e->aq_size || (e->aq_size & mask))
		*why = "the queue size is not a power of two";
	else if (c->cid != e->cid)
		*why = "its command id is not the oldest outstanding command's";
	else if (c->flags & ~DEVIF_CQE_F_PHASE)
		*why = "reserved flag bits are set";
	else if (c->rsvd)
		*why = "its reserved field is not 0";
	else if (c->status > DEVIF_S_MAX)
		*why = "its status is not one this driver knows";
	else if (c->sq_head > mask)
		*why = "its SQ head lies beyond the queue";
	else if (c->done > bound)
		*why = "done exceeds the command's count";
	else if (c->failed > c->done)
		*why = "failed exceeds done";
	else if (c->failed && c->first_failed >= c->done)
		*why = "its first failed index lies beyond done";
	else if (c->status == DEVIF_S_OK && c->failed)
		*why = "status OK with failed entries";
	else if (c->status == DEVIF_S_PARTIAL && !c->failed)
		*why = "status PARTIAL without a failed entry";
	else if (c->status == DEVIF_S_NO_COUNTER)
		*why = "status NO_COUNTER is for counter results only";
	if (*why)
		return -EBADMSG;
	/* The device's head after fetching this command lies after the
	 * command's slot and no further than the tail. */
	d_head = (uint32_t)(c->sq_head - e->prev_head) & mask;
	d_tail = (uint32_t)(e->tail - e->prev_head) & mask;
	if (!d_tail)
		d_tail = e->aq_size;
	if (!d_head)
		d_head = e->aq_size;
	if (d_head > d_tail) {
		*why = "its SQ head does not lie between the command and the tail";
		return -EBADMSG;
	}
	return 0;
}

int pci_event_check(const struct devif_event *e, int have_seq, uint16_t last_seq,
		    const char **why)
{
	*why = NULL;
	if (e->flags & ~DEVIF_EV_F_PHASE) {
		*why = "reserved flag bits are set";
		return -1;
	}
	if (e->type < DEVIF_EV_LINK || e->type > DEVIF_EV_MAX) {
		*why = "an unknown event type";
		return 1;
	}
	if (have_seq && e->seq != (uint16_t)(last_seq + 1)) {
		*why = "a gap in the sequence numbers";
		return 2;
	}
	return 0;
}

int pci_result_check(const struct devif_entry_result *r, const char **why)
{
	*why = NULL;
	if (r->status > DEVIF_S_MAX || r->status == DEVIF_S_PARTIAL)
		*why = "an unknown status";
	else if (r->detail_kind > DEVIF_DETAIL_FIELD)
		*why = "an unknown detail kind";
	else if (r->rsvd)
		*why = "its reserved field is not 0";
	else if (r->status == DEVIF_S_OK && !r->handle)
		*why = "a handle of 0";
	return *why ? -EBADMSG : 0;
}

/* --- names and errno ------------------------------------------------------- */

const char *pci_opcode_name(unsigned op)
{
	switch (op) {
	case DEVIF_OP_NOP: return "NOP";
	case DEVIF_OP_TABLE_CREATE: return "TABLE_CREATE";
	case DEVIF_OP_TABLE_DESTROY: return "TABLE_DESTROY";
	case DEVIF_OP_ENTRY_ADD: return "ENTRY_ADD";
	case DEVIF_OP_ENTRY_DEL: return "ENTRY_DEL";
	case DEVIF_OP_ENTRY_MODIFY: return "ENTRY_MODIFY";
	case DEVIF_OP_COUNTER_READ: return "COUNTER_READ";
	case DEVIF_OP_COUNTER_DUMP: return "COUNTER_DUMP";
	case DEVIF_OP_PORT_QUERY: return "PORT_QUERY";
	case DEVIF_OP_PORT_CONFIG: return "PORT_CONFIG";
	case DEVIF_OP_STATS_READ: return "STATS_READ";
	case DEVIF_OP_BOND_CREATE: return "BOND_CREATE";
	case DEVIF_OP_BOND_DESTROY: return "BOND_DESTROY";
	case DEVIF_OP_BOND_MEMBER: return "BOND_MEMBER";
	case DEVIF_OP_BOND_QUERY: return "BOND_QUERY";
	case DEVIF_OP_PIPELINE_PAUSE: return "PIPELINE_PAUSE";
	case DEVIF_OP_SOFT_RESET: return "SOFT_RESET";
	case DEVIF_OP_TRACE: return "TRACE";
	case DEVIF_OP_FW_BEGIN: return "FW_BEGIN";
	case DEVIF_OP_FW_CHUNK: return "FW_CHUNK";
	case DEVIF_OP_FW_COMMIT: return "FW_COMMIT";
	case DEVIF_OP_EQ_SETUP: return "EQ_SETUP";
	case DEVIF_OP_HOSTQ_SETUP: return "HOSTQ_SETUP";
	case DEVIF_OP_FUNC_QUERY: return "FUNC_QUERY";
	case DEVIF_OP_WIRE_INJECT: return "WIRE_INJECT";
	case DEVIF_OP_WIRE_CAPTURE: return "WIRE_CAPTURE";
	case DEVIF_OP_WIRE_RUN: return "WIRE_RUN";
	case DEVIF_OP_LINK_SET: return "LINK_SET";
	case DEVIF_OP_FAIL_OPS: return "FAIL_OPS";
	case DEVIF_OP_REJECT_ACTIONS: return "REJECT_ACTIONS";
	case DEVIF_OP_FAULT: return "FAULT";
	case DEVIF_OP_WIRE_ATTACH: return "WIRE_ATTACH";
	default: return "?";
	}
}

const char *pci_status_name(unsigned st)
{
	static const char *const n[] = {
		"OK", "INVALID", "UNSUPPORTED", "NO_TABLE", "NO_ENTRY", "TABLE_FULL",
		"MASKS_FULL", "EXISTS", "ACTION_REFUSED", "RANGE", "NO_PORT", "BUSY",
		"NO_MEMORY", "NO_BOND", "CHECKSUM", "INTERNAL", "PARTIAL", "NO_COUNTER",
	};
	return st < sizeof(n) / sizeof(n[0]) ? n[st] : "unknown";
}

int pci_status_errno(unsigned st)
{
	switch (st) {
	case DEVIF_S_OK: case DEVIF_S_PARTIAL: return 0;
	case DEVIF_S_INVALID: return EINVAL;
	case DEVIF_S_UNSUPPORTED: return EOPNOTSUPP;
	case DEVIF_S_NO_TABLE: case DEVIF_S_NO_ENTRY: case DEVIF_S_NO_PORT:
	case DEVIF_S_NO_COUNTER: return ENOENT;
	case DEVIF_S_TABLE_FULL: case DEVIF_S_MASKS_FULL: case DEVIF_S_NO_BOND:
		return ENOSPC;
	case DEVIF_S_EXISTS: return EEXIST;
	case DEVIF_S_ACTION_REFUSED: return ENOTSUP;
	case DEVIF_S_RANGE: return ERANGE;
	case DEVIF_S_BUSY: return EBUSY;
	case DEVIF_S_NO_MEMORY: return ENOMEM;
	case DEVIF_S_CHECKSUM: return EBADMSG;
	default: return EIO;
	}
}

uint32_t pci_cmd_timeout(const struct pci_drv *d, unsigned op, uint32_t count)
{
	uint32_t ms;

	switch (op) {
	case DEVIF_OP_TABLE_CREATE:
		ms = 2000;
		break;
	case DEVIF_OP_ENTRY_ADD: case DEVIF_OP_ENTRY_DEL: case DEVIF_OP_ENTRY_MODIFY:
	case DEVIF_OP_COUNTER_READ: case DEVIF_OP_COUNTER_DUMP: {
		uint64_t us = 1000000ull + 20ull * count;
		ms = (uint32_t)(us > 10000000ull ? 10000 : us / 1000);
		break;
	}
	case DEVIF_OP_PIPELINE_PAUSE: case DEVIF_OP_SOFT_RESET: case DEVIF_OP_TRACE:
	case DEVIF_OP_FW_BEGIN: case DEVIF_OP_FW_CHUNK:
	case DEVIF_OP_WIRE_RUN: case DEVIF_OP_WIRE_INJECT: case DEVIF_OP_WIRE_CAPTURE:
	case DEVIF_OP_WIRE_ATTACH:
		ms = 5000;
		break;
	case DEVIF_OP_FW_COMMIT:
		ms = 60000;
		break;
	default:
		ms = 1000;
	}
	return d->timeout_ms && d->timeout_ms < ms ? d->timeout_ms : ms;
}

/* --- the admin queue -------------------------------------------------------- */

static void log_raw(const char *bdf, const char *what, const void *p, const char *why)
{
	const uint8_t *b = p;
	char hex[32 * 3 + 1];

	for (int i = 0; i < 32; i++)
		snprintf(hex + 3 * i, 4, "%02x ", b[i]);
	hex[sizeof(hex) - 2] = 0;
	dpak__log(DPAK_LOG_ERR, "pci %s: %s ignored (%s): %s", bdf, what, why, hex);
}

static void short_sleep(unsigned spins)
{
	if (spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
		return;
	}
	if (spins < 1024) { /* most commands complete within this */
		sched_yield();
		return;
	}
	struct timespec ts = { 0, 20000 };
	nanosleep(&ts, NULL);
}

int pci_cmd(struct pci_drv *d, struct devif_sqe *sqe, struct devif_cqe *cqe,
	    const char *what)
{
	uint32_t timeout, slot, hb, now_ms, hb_ms;
	uint64_t t0, next_check;
	struct pci_cq_expect ex;
	unsigned spins = 0;
	int err;

	if ((err = pci_state_err(d)))
		return err;
	if (!d->recovering) {
		pci_events_poll(d);
		if (pci_check_self_reset(d)) {
			if ((err = pci_state_err(d)))
				return err;
			/* An entry command answers -ENETRESET (the handles it
			 * carries, or the flows its caller holds, are gone: the
			 * core restores and retries); any other runs now. */
			if (sqe->opcode >= DEVIF_OP_ENTRY_ADD &&
			    sqe->opcode <= DEVIF_OP_COUNTER_DUMP)
				return dpak__err(ENETRESET, "pci %s: %s: the device "
						 "reset itself before the command "
						 "ran; it was brought up again",
						 d->bdf, what);
		}
	}
	timeout = pci_cmd_timeout(d, sqe->opcode, sqe->count);
	slot = d->sq_tail;
	sqe->cid = d->next_cid++;
	memcpy(&d->sq[slot], sqe, sizeof(*sqe));
	d->sq_tail = (slot + 1) & (d->aq_size - 1);
	ex = (struct pci_cq_expect){ sqe->cid, (uint16_t)slot, (uint16_t)d->sq_tail,
				     d->aq_size, sqe->count };
	/* entries in memory before the doorbell that covers them */
	__atomic_thread_fence(__ATOMIC_RELEASE);
	pci_db(d->t, DB_AQ_TAIL, d->sq_tail);
	t0 = pci_now_ns();
	next_check = t0 + 1000000;
	hb = pci_rd32(d->t, REG_HEARTBEAT);
	hb_ms = 0;
	uint64_t last_poll = t0;
	for (;;) {
		struct devif_cqe *c = &d->cq[d->cq_head];
		uint8_t fl = __atomic_load_n(&c->flags, __ATOMIC_ACQUIRE);

		if ((fl & DEVIF_CQE_F_PHASE) == d->cq_phase) {
			struct devif_cqe copy;
			const char *why;

			memcpy(&copy, c, sizeof(copy)); /* after the flags (acquire) */
			if (++d->cq_head == d->aq_size) {
				d->cq_head = 0;
				d->cq_phase ^= 1;
			}
			if (pci_cqe_check(&copy, &ex, &why)) {
				d->bad_completions++;
				log_raw(d->bdf, "completion", &copy, why);
				continue; /* not acted on: the command times out */
			}
			d->sq_head = copy.sq_head;
			*cqe = copy;
			return 0;
		}
		uint64_t now = pci_now_ns();
		now_ms = (uint32_t)((now - t0) / 1000000);
		/* The driver itself was not scheduled for a while (a loaded
		 * host): the device's firmware thread may not have been
		 * either, so its heartbeat is judged afresh from now. */
		if (now - last_poll > 50000000ull)
			hb_ms = now_ms;
		last_poll = now;
		if (now >= next_check) {
			uint32_t st, rc, h;

			next_check = now + 1000000;
			if (pci_absent(d)) {
				pci_mark_gone(d);
				return pci_state_err(d);
			}
			st = pci_rd32(d->t, REG_DEV_STATUS);
			rc = pci_rd32(d->t, REG_RESET_COUNT);
			if (!d->recovering && (rc != d->reset_count ||
			    (st & (DEVIF_ST_RESETTING | DEVIF_ST_FATAL)) ||
			    !(st & DEVIF_ST_READY))) {
				/* 12.4: cut by a reset the device did by itself */
				d->self_resets++;
				dpak__log(DPAK_LOG_WARN, "pci %s: the device reset itself "
					  "while %s (command id %u) ran", d->bdf, what,
					  sqe->cid);
				pci_recover(d, 0, "it reset itself during a command");
				if ((err = pci_state_err(d)))
					return err;
				return dpak__err(ENETRESET, "pci %s: %s (command id %u): "
						 "the device reset itself while it ran; "
						 "nothing of it stayed", d->bdf, what,
						 sqe->cid);
			}
			h = pci_rd32(d->t, REG_HEARTBEAT);
			if (h != hb) {
				hb = h;
				hb_ms = now_ms;
			} else if (now_ms - hb_ms >= DEVIF_HEARTBEAT_MS && now_ms < timeout) {
				timeout = now_ms; /* 12.5: the firmware stopped */
				dpak__log(DPAK_LOG_ERR, "pci %s: HEARTBEAT unchanged for "
					  "%u ms with %s outstanding", d->bdf, now_ms,
					  what);
			}
		}
		if (now_ms >= timeout)
			break;
		short_sleep(spins++);
	}
	/* 12.2: a command that never completes. */
	d->timeouts++;
	if (pci_absent(d)) {
		pci_mark_gone(d);
		return pci_state_err(d);
	}
	if (d->recovering)
		return dpak__err(ETIMEDOUT, "%s (command id %u) timed out after %u ms "
				 "while the device was brought up", what, sqe->cid,
				 timeout);
	dpak__log(DPAK_LOG_ERR, "pci %s: %s (command id %u) timed out after %u ms: "
		  "resetting the device", d->bdf, what, sqe->cid, timeout);
	if (pci_recover(d, 1, "a command timed out")) {
		char why[300];
		snprintf(why, sizeof(why), "%s", dpak_errmsg());
		return dpak__err(ETIMEDOUT, "%s (command id %u) timed out after %u ms; "
				 "%s", what, sqe->cid, timeout, why);
	}
	return dpak__err(ETIMEDOUT, "%s (command id %u) timed out after %u ms; the "
			 "device was reset and every flow restored", what, sqe->cid,
			 timeout);
}

/* --- the event queue -------------------------------------------------------- */

int pci_events_poll(struct pci_drv *d)
{
	int consumed = 0, reset_notice = 0;

	if (!d->eq || d->state != PCI_UP)
		return 0;
	for (unsigned k = 0; k < d->eq_size; k++) {
		struct devif_event *e = &d->eq[d->eq_head];
		uint8_t fl = __atomic_load_n(&e->flags, __ATOMIC_ACQUIRE);
		struct devif_event ev;
		const char *why;
		int r;

		if ((fl & DEVIF_EV_F_PHASE) != d->eq_phase)
			break;
		memcpy(&ev, e, sizeof(ev));
		if (++d->eq_head == d->eq_size) {
			d->eq_head = 0;
			d->eq_phase ^= 1;
		}
		consumed++;
		r = pci_event_check(&ev, d->ev_seq_valid, d->ev_seq, &why);
		if (r < 0) {
			d->bad_events++;
			log_raw(d->bdf, "event", &ev, why);
			continue;
		}
		d->ev_seq = ev.seq;
		d->ev_seq_valid = 1;
		if (r == 1) {
			d->unknown_events++;
			dpak__log(DPAK_LOG_WARN, "pci %s: event of unknown type %u "
				  "(sequence %u) skipped", d->bdf, ev.type, ev.seq);
			continue;
		}
		if (r == 2) {
			d->lost_events++;
			dpak__log(DPAK_LOG_WARN, "pci %s: events lost before sequence %u",
				  d->bdf, ev.seq);
		}
		switch (ev.type) {
		case DEVIF_EV_LINK: {
			struct devif_ev_link l;
			memcpy(&l, ev.payload, sizeof(l));
			dpak__log(DPAK_LOG_DEBUG, "pci %s: port %u link %s", d->bdf,
				  l.port, l.up ? "up" : "down");
			break; /* the core reads links through port_info */
		}
		case DEVIF_EV_RESET: {
			struct devif_ev_reset rs;
			memcpy(&rs, ev.payload, sizeof(rs));
			if (rs.phase == 1) {
				dpak__log(DPAK_LOG_WARN, "pci %s: the device announces a "
					  "reset (reason %u)", d->bdf, rs.reason);
				reset_notice = 1;
			}
			break;
		}
		case DEVIF_EV_ERROR: {
			uint32_t code, table, sev;
			uint64_t h;
			memcpy(&code, ev.payload, 4);
			memcpy(&table, ev.payload + 4, 4);
			memcpy(&h, ev.payload + 8, 8);
			memcpy(&sev, ev.payload + 16, 4);
			dpak__log(sev ? DPAK_LOG_ERR : DPAK_LOG_WARN, "pci %s: device "
				  "error 0x%x (table %d, handle 0x%llx, severity %u)",
				  d->bdf, code, table == 0xFFFFFFFFu ? -1 : (int)table,
				  (unsigned long long)h, sev);
			/* an entry lost: its slot dies, so the core's restore
			 * (which adds back every flow whose handle is not live)
			 * re-adds that one flow */
			if (sev == 1 && h && table < d->cfg->n_tables &&
			    pci_slot_forget(d, table, h)) {
				__atomic_add_fetch(&d->lost_pending, 1, __ATOMIC_RELAXED);
				__atomic_store_n(&d->restore_pending, 1, __ATOMIC_RELEASE);
			}
			break;
		}
		case DEVIF_EV_LOST: {
			uint32_t n;
			memcpy(&n, ev.payload, 4);
			d->lost_events += n;
			dpak__log(DPAK_LOG_WARN, "pci %s: the device dropped %u events",
				  d->bdf, n);
			break;
		}
		default: /* AGED, BOND: the core's scans and monitor read them */
			break;
		}
	}
	if (consumed)
		pci_db(d->t, DB_EQ_HEAD, d->eq_head);
	return reset_notice;
}
