/* SPDX-License-Identifier: MIT */
/*
 * The pci backend: the libdpak PCIe device, driven from user space through
 * its registers, admin queue and data rings (docs/device-interface.md;
 * section 14 maps each op to its commands). Devspec:
 *
 *   pci:[DDDD:BB:DD.F][,timeout_ms=N]
 *
 * no address: the first matching device; timeout_ms caps every command's
 * timeout (section 12.1) and the reset timeout at twice it, at least 1 s
 * (tests).
 *
 * Resets and the core. The core's flow calls hold a table's lock when they
 * call an op, and a restore needs every table's: the driver never restores
 * flows itself. When it notices that the device lost its state (a reset it
 * did by itself, a command that timed out and made the driver reset it), it
 * brings the device up again (tables, host queues, port configuration,
 * bonds with their ids from its own records) and:
 *  - raises the reset generation kept in the top 16 bits of every handle it
 *    gives the core: a handle of an earlier generation names nothing (its
 *    flow_del succeeds, its counters read zero, flow_replace answers
 *    -ENETRESET);
 *  - answers the op that the reset cut -ENETRESET (nothing of it stayed in
 *    the device);
 *  - answers reset_check() 1, once: the core then adds back every flow
 *    whose handle is not live (handle_live()), queues DPAK_EVENT_RESET and
 *    retries the cut op once (lib/flow.c, dpak__dev_recover_check()).
 * A device that never comes back fails every call with EIO (ENODEV when
 * BAR0 reads all ones) and every flow stays DPAK_FLOW_NOT_RESTORED; a
 * reset is tried again at the core's retry points (reset_check).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"
#include "backend.h"
#include "discover.h"
#include "drv.h"

#define D(p) ((struct pci_drv *)(p))

static void lock(struct pci_drv *d)
{
	pthread_mutex_lock(&d->lock);
}

static void unlock(struct pci_drv *d)
{
	pthread_mutex_unlock(&d->lock);
}

static int parse_args(const char *args, char *bdf, size_t bdf_len, uint32_t *timeout_ms)
{
	char buf[256], *save = NULL, *tok;
	int first = 1;

	*bdf = 0;
	*timeout_ms = 0;
	if (strlen(args) >= sizeof(buf))
		return dpak__err(EINVAL, "pci arguments longer than %zu bytes",
				 sizeof(buf) - 1);
	strcpy(buf, args);
	if (buf[0] == ',') { /* "pci:,timeout_ms=..." */
		first = 0;
	}
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save), first = 0) {
		char *eq = strchr(tok, '='), *end;
		unsigned long v;

		if (first && !eq) {
			if (strlen(tok) >= bdf_len)
				return dpak__err(EINVAL, "pci: '%s' is not a PCI address", tok);
			strcpy(bdf, tok);
			continue;
		}
		if (!eq)
			return dpak__err(EINVAL, "pci argument '%s': not name=value "
					 "('%s' is not a PCI address with options: "
					 "pci:ADDRESS,timeout_ms=N)", tok, args);
		*eq++ = 0;
		if (strcmp(tok, "timeout_ms"))
			return dpak__err(EINVAL, "pci argument '%s' unknown (timeout_ms)",
					 tok);
		errno = 0;
		v = strtoul(eq, &end, 10);
		if (errno || !*eq || *end || !v || v > 60000)
			return dpak__err(EINVAL, "pci argument timeout_ms=%s: a number "
					 "of milliseconds from 1 to 60000", eq);
		*timeout_ms = (uint32_t)v;
	}
	return 0;
}

static void pci_close(void *priv)
{
	struct pci_drv *d = priv;

	if (!d)
		return;
	pci_drv_close(d);
	for (uint32_t p = 0; p < DEVIF_MAX_PORTS; p++)
		free(d->stash[p]);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

static int pci_open(const char *args, const struct ci_config *cfg,
		    const struct bk_open_cfg *oc, void **priv)
{
	struct dpak_pci_fn fn;
	struct pci_drv *d;
	char bdf[32];
	uint32_t tmo;
	int err;

	*priv = NULL;
	if ((err = parse_args(args, bdf, sizeof(bdf), &tmo)))
		return err;
	if ((err = dpak__pci_find(bdf, &fn)))
		return err;
	d = calloc(1, sizeof(*d));
	if (!d)
		return dpak__err(ENOMEM, "out of memory");
	pthread_mutex_init(&d->lock, NULL);
	d->cfg = cfg;
	d->oc = *oc;
	d->timeout_ms = tmo;
	if ((err = pci_drv_open(d, &fn))) {
		struct dpak__errsave es;
		dpak__err_save(&es);
		pci_close(d);
		dpak__err_restore(&es);
		return err;
	}
	/* the device's capabilities, in the core's copy of the ops */
	if (oc->dev_ops) {
		oc->dev_ops->item_types = d->cap_items;
		oc->dev_ops->action_types = d->cap_actions;
		oc->dev_ops->table_types = d->cap_tables;
		oc->dev_ops->max_push_bytes = d->max_push_bytes;
	}
	*priv = d;
	return 0;
}

static uint32_t pci_n_ports(void *priv)
{
	return D(priv)->n_ports;
}

/* A command answered OK, or -errno with a message naming @what. */
static int simple(struct pci_drv *d, struct devif_sqe *s, struct devif_cqe *c,
		  const char *what)
{
	int err = pci_cmd(d, s, c, what);

	if (err)
		return err;
	if (c->status == DEVIF_S_OK)
		return 0;
	if (c->status == DEVIF_S_UNSUPPORTED)
		return dpak__err(EOPNOTSUPP, "pci %s: command %s (0x%02x) not "
				 "supported by the device", d->bdf,
				 pci_opcode_name(s->opcode), s->opcode);
	if (c->status == DEVIF_S_BUSY)
		return dpak__err(EBUSY, "pci %s: %s: the device is busy", d->bdf, what);
	int e = pci_status_errno(c->status);
	return dpak__err(e ? e : EIO, "pci %s: %s: refused by the device (status %s, "
			 "detail 0x%x)", d->bdf, what, pci_status_name(c->status),
			 c->detail);
}

/* A command that returns records in the driver's command buffer, with the
 * lock held: the buffer is zeroed over @s->data_len, the command run as
 * simple() does, and the first @len bytes copied to @out whatever the outcome
 * (zeroes where the device wrote nothing). */
static int query_locked(struct pci_drv *d, struct devif_sqe *s, struct devif_cqe *c,
			const char *what, void *out, size_t len)
{
	int err;

	s->data_addr = d->buf_iova;
	memset(d->buf, 0, s->data_len);
	err = simple(d, s, c, what);
	memcpy(out, d->buf, len);
	return err;
}

/* query_locked() under the lock. */
static int query(struct pci_drv *d, struct devif_sqe *s, struct devif_cqe *c,
		 const char *what, void *out, size_t len)
{
	int err;

	lock(d);
	err = query_locked(d, s, c, what, out, len);
	unlock(d);
	return err;
}

/* A command without data, answered OK, under the lock. */
static int simple_locked(struct pci_drv *d, struct devif_sqe *s, const char *what)
{
	struct devif_cqe c;
	int err;

	lock(d);
	err = simple(d, s, &c, what);
	unlock(d);
	return err;
}

static const char *port_kind(uint8_t type)
{
	return type == 0 ? "uplink" : type == 1 ? "pf" : type == 2 ? "vf" : "port";
}

static int pci_port_info(void *priv, uint32_t port, struct dpak_port_info *i)
{
	struct pci_drv *d = priv;
	struct devif_sqe s = { .opcode = DEVIF_OP_PORT_QUERY, .flags = DEVIF_SQE_F_DATA,
			       .data_len = sizeof(struct devif_port_rec), .count = 1,
			       .arg0 = port };
	struct devif_port_rec r;
	struct devif_cqe c;
	char what[48];
	int err;

	if (port >= d->n_ports)
		return dpak__err(ENOENT, "port %u: not in the device", port);
	snprintf(what, sizeof(what), "PORT_QUERY of port %u", port);
	err = query(d, &s, &c, what, &r, sizeof(r));
	if (err)
		return err;
	if (r.port != port || c.done != 1 || r.type > 2)
		return dpak__err(EIO, "pci %s: PORT_QUERY of port %u: the device "
				 "answered for port %u (type %u)", d->bdf, port,
				 r.port, r.type);
	static const enum dpak_port_type type[] = { DPAK_PORT_UPLINK, DPAK_PORT_PF,
						    DPAK_PORT_VF };
	i->id = port;
	i->type = type[r.type];
	snprintf(i->name, sizeof(i->name), "%s%u", port_kind(r.type), r.index);
	memcpy(i->mac, r.mac, 6);
	i->mtu = r.mtu;
	i->link_up = r.link != 0;
	i->min_mtu = (r.flags & 1) ? r.mtu_min : 0;
	i->max_mtu = (r.flags & 1) ? r.mtu_max : r.mtu;
	return 0;
}

static int pci_port_stats(void *priv, uint32_t port, struct dpak_port_stats *st)
{
	struct pci_drv *d = priv;
	struct devif_sqe s = { .opcode = DEVIF_OP_STATS_READ, .flags = DEVIF_SQE_F_DATA,
			       .data_len = sizeof(struct devif_port_stats_rec),
			       .count = 1, .arg0 = DEVIF_STATS_PORTS, .arg1 = port };
	struct devif_port_stats_rec r;
	struct devif_cqe c;
	char what[48];
	int err;

	if (port >= d->n_ports)
		return dpak__err(ENOENT, "port %u: not in the device", port);
	snprintf(what, sizeof(what), "STATS_READ of port %u", port);
	lock(d);
	err = query_locked(d, &s, &c, what, &r, sizeof(r));
	if (!err && r.port == port)
		d->port_last[port] = r; /* carried over a full reset (pci_recover) */
	struct devif_port_stats_rec base = d->port_base[port];
	unlock(d);
	if (err)
		return err;
	if (r.port != port)
		return dpak__err(EIO, "pci %s: STATS_READ of port %u: the device "
				 "answered for port %u", d->bdf, port, r.port);
	const struct devif_port_stats_rec *b = &base;
	st->rx_packets = r.rx_packets + b->rx_packets;
	st->rx_bytes = r.rx_bytes + b->rx_bytes;
	st->tx_packets = r.tx_packets + b->tx_packets;
	st->tx_bytes = r.tx_bytes + b->tx_bytes;
	st->rx_misses = r.rx_misses + b->rx_misses;
	st->drops = r.drops + b->drops;
	st->drops_action = r.drops_action + b->drops_action;
	st->drops_mtu = r.drops_mtu + b->drops_mtu;
	st->drops_bond_rx = r.drops_bond_rx + b->drops_bond_rx;
	return 0;
}

static int port_config(struct pci_drv *d, uint32_t port, const struct devif_port_config *pc,
		       struct devif_cqe *c, const char *what)
{
	struct devif_sqe s = { .opcode = DEVIF_OP_PORT_CONFIG, .arg0 = port };

	memcpy(s.inline_data, pc, sizeof(*pc));
	return pci_cmd(d, &s, c, what);
}

static int pci_port_set_mtu(void *priv, uint32_t port, uint32_t mtu)
{
	struct pci_drv *d = priv;
	struct devif_port_config pc = { .valid = DEVIF_PCFG_MTU, .mtu = (uint16_t)mtu };
	struct devif_cqe c;
	char what[64], name[24];
	int err;

	if (port >= d->n_ports)
		return dpak__err(ENOENT, "port %u: not in the device", port);
	snprintf(name, sizeof(name), "%s%u", port_kind(d->port[port].type),
		 d->port[port].index);
	if (mtu > 0xFFFF || (d->mtu_max && (mtu < d->mtu_min || mtu > d->mtu_max)))
		return dpak__err(EINVAL, "port %u (%s): MTU %u out of range %u-%u",
				 port, name, mtu, d->mtu_min, d->mtu_max);
	lock(d);
	snprintf(what, sizeof(what), "PORT_CONFIG of port %u (%s)", port, name);
	err = port_config(d, port, &pc, &c, what);
	if (!err && c.status == DEVIF_S_OK)
		d->mtu_set[port] = (uint16_t)mtu;
	unlock(d);
	if (err)
		return err;
	if (c.status == DEVIF_S_RANGE || c.status == DEVIF_S_INVALID)
		return dpak__err(EINVAL, "port %u (%s): MTU %u out of range %u-%u",
				 port, name, mtu, d->mtu_min, d->mtu_max);
	if (c.status)
		return dpak__err(pci_status_errno(c.status) ? pci_status_errno(c.status) : EIO,
				 "port %u (%s): MTU %u: refused by the device (status "
				 "%s)", port, name, mtu, pci_status_name(c.status));
	return 0;
}

static int pci_port_set_rx_queues(void *priv, uint32_t port, uint16_t first, uint16_t n)
{
	struct pci_drv *d = priv;
	struct devif_port_config pc = { .valid = DEVIF_PCFG_QUEUES };
	struct devif_cqe c;
	char what[64];
	int err;

	if (!n) { /* all of the driver's queues */
		first = 0;
		n = (uint16_t)d->n_queues;
	}
	if (port >= d->n_ports || first + n > d->n_queues)
		return dpak__err(EINVAL, "port %u: queues %u..%u refused by the device",
				 port, first, first + n - 1u);
	pc.q_first = first;
	pc.q_n = n;
	lock(d);
	snprintf(what, sizeof(what), "PORT_CONFIG of port %u", port);
	err = port_config(d, port, &pc, &c, what);
	if (!err && c.status == DEVIF_S_OK) {
		d->q_first[port] = first;
		d->q_n[port] = n;
	}
	unlock(d);
	if (err)
		return err;
	if (c.status)
		return dpak__err(EINVAL, "port %u: queues %u..%u refused by the device "
				 "(status %s)", port, first, first + n - 1u,
				 pci_status_name(c.status));
	return 0;
}

/* --- flows -------------------------------------------------------------------- */

static const char *table_name(const struct pci_drv *d, uint32_t table)
{
	return table < d->cfg->n_tables ? d->cfg->tables[table].name : "?";
}

/* The type of the op at position @pos of a packed block, or -1. */
static int op_at(const uint8_t *act, uint32_t len, uint32_t pos)
{
	uint32_t n = 0;

	for (uint32_t o = 0; act && o + 2 <= len && act[o + 1] >= 2; o += act[o + 1], n++)
		if (n == pos)
			return act[o];
	return -1;
}

/* The message and errno of entry @i of @n that failed with result @r. */
static int entry_err(struct pci_drv *d, uint32_t table, unsigned i, unsigned n,
		     const struct devif_entry_result *r, uint64_t handle,
		     const uint8_t *act, uint32_t act_len)
{
	const char *tn = table_name(d, table);
	const struct ci_table *t = table < d->cfg->n_tables ? &d->cfg->tables[table] : NULL;
	char where[96], detail[96] = "";
	int type;

	/* A single add's message gets "table NAME: " from the core. */
	if (n == 1 && act)
		snprintf(where, sizeof(where), "entry 0 of 1");
	else
		snprintf(where, sizeof(where), "table %s entry %u of %u", tn, i, n);
	if (r->detail_kind == DEVIF_DETAIL_ACTION) {
		type = op_at(act, act_len, r->detail);
		snprintf(detail, sizeof(detail), "action %u (%s): ", r->detail,
			 type > 0 ? dpak__action_name(type) : "?");
	} else if (r->detail_kind == DEVIF_DETAIL_FIELD) {
		snprintf(detail, sizeof(detail), "field %s: ", r->detail < PK_FIELD_MAX ?
			 pk_field_names[r->detail] : "?");
	}
	switch (r->status) {
	case DEVIF_S_INVALID:
		return dpak__err(EINVAL, "%s: %sthe device refused the record as "
				 "malformed (status INVALID)", where, detail);
	case DEVIF_S_NO_TABLE:
		return dpak__err(ENOENT, "table %u: not in the device (status NO_TABLE)",
				 table);
	case DEVIF_S_NO_ENTRY:
		return dpak__err(ENOENT, "%s: handle 0x%" PRIx64 " not in the device",
				 where, handle);
	case DEVIF_S_TABLE_FULL:
		return dpak__err(ENOSPC, "%s: the device's table is full (%u entries)",
				 where, t ? t->capacity : 0);
	case DEVIF_S_MASKS_FULL:
		return dpak__err(ENOSPC, "%s: the device holds its most distinct masks "
				 "(%u)", where, t ? t->max_masks : d->max_masks);
	case DEVIF_S_EXISTS:
		return dpak__err(EEXIST, "%s: the device holds an entry with this key",
				 where);
	case DEVIF_S_ACTION_REFUSED:
		if (r->detail_kind == DEVIF_DETAIL_ACTION)
			return dpak__err(ENOTSUP, "%srefused by the device (%s)", detail,
					 where);
		return dpak__err(ENOTSUP, "%s: an action refused by the device", where);
	case DEVIF_S_RANGE:
		return dpak__err(ERANGE, "%s: %sa value out of the device's range "
				 "(status RANGE)", where, detail);
	case DEVIF_S_NO_PORT:
		return dpak__err(ENOENT, "%s: %sa port not in the device (status "
				 "NO_PORT)", where, detail);
	case DEVIF_S_BUSY:
		return dpak__err(EBUSY, "pci %s: the device is busy (%s)", d->bdf, where);
	case DEVIF_S_NO_MEMORY:
		return dpak__err(ENOMEM, "%s: the device is out of memory", where);
	case DEVIF_S_UNSUPPORTED:
		return dpak__err(EOPNOTSUPP, "%s: not supported by the device", where);
	case DEVIF_S_INTERNAL:
		return dpak__err(EIO, "%s: internal device error (status INTERNAL, "
				 "detail 0x%x)", where, r->detail);
	default:
		return dpak__err(EIO, "%s: the device answered status %s (0x%02x)",
				 where, pci_status_name(r->status), r->status);
	}
}

static uint64_t host_to_dev(const struct pci_drv *d, uint64_t host_ns)
{
	if (!host_ns)
		return 0;
	int64_t v = (int64_t)host_ns - d->time_offset;
	return v > 0 ? (uint64_t)v : 1;
}

static uint64_t dev_to_host(const struct pci_drv *d, uint64_t dev_ns)
{
	if (!dev_ns)
		return 0;
	int64_t v = (int64_t)dev_ns + d->time_offset;
	return v > 0 ? (uint64_t)v : 1;
}

static size_t add_rec_len(const struct ci_table *t, const struct bk_flow *f)
{
	size_t l = sizeof(struct devif_add_hdr) + (f->carry ? sizeof(struct devif_carry) : 0) +
		   t->key_bytes * (f->mask ? 2u : 1u) + f->actions_len;
	return (l + 7) & ~(size_t)7;
}

/* One ENTRY_ADD command of @n records (they fit in the buffer); results
 * into res/handles. Returns 0 when the command ran, or the error that
 * every entry gets. The caller holds d->lock. */
static int add_cmd(struct pci_drv *d, uint32_t table, const struct bk_flow *f,
		   unsigned n, unsigned base, unsigned total, uint64_t *handles,
		   int *res, int *reported)
{
	const struct ci_table *t = &d->cfg->tables[table];
	size_t off = 16u * n;
	struct devif_cqe c;
	char what[96];
	int err;

	if ((err = pci_slots_reserve(d, table, n)))
		return err;
	memset(d->buf, 0, off);
	for (unsigned i = 0; i < n; i++) {
		size_t l = add_rec_len(t, &f[i]);
		uint8_t *p = d->buf + off;
		struct devif_add_hdr h = {
			.len = (uint16_t)l,
			.flags = (uint8_t)((f[i].mask ? DEVIF_REC_F_MASK : 0) |
					   (f[i].carry ? DEVIF_REC_F_CARRY : 0)),
			.actions_len = (uint8_t)f[i].actions_len,
			/* exact: 0; LPM: the core's rank of the prefix (its
			 * length's complement), by which the device orders them */
			.priority = t->type == PK_EXACT ? 0 : f[i].priority,
		};
		memset(p, 0, l);
		memcpy(p, &h, sizeof(h));
		p += sizeof(h);
		if (f[i].carry) {
			struct devif_carry cy = { f[i].carry->packets, f[i].carry->bytes,
						  host_to_dev(d, f[i].carry->last_hit_ns) };
			memcpy(p, &cy, sizeof(cy));
			p += sizeof(cy);
		}
		memcpy(p, f[i].key, t->key_bytes);
		p += t->key_bytes;
		if (f[i].mask) {
			memcpy(p, f[i].mask, t->key_bytes);
			p += t->key_bytes;
		}
		memcpy(p, f[i].actions, f[i].actions_len);
		off += l;
	}
	struct devif_sqe s = { .opcode = DEVIF_OP_ENTRY_ADD, .flags = DEVIF_SQE_F_DATA,
			       .data_len = (uint32_t)off, .data_addr = d->buf_iova,
			       .count = n, .arg0 = table };
	if (total > 1)
		snprintf(what, sizeof(what), "table %s: ENTRY_ADD of %u entries",
			 t->name, n);
	else /* a single add's message gets "table NAME: " from the core */
		snprintf(what, sizeof(what), "ENTRY_ADD");
	if ((err = pci_cmd(d, &s, &c, what)))
		return err;
	int cmd_fail = c.status != DEVIF_S_OK && c.status != DEVIF_S_PARTIAL && !c.done;
	for (unsigned i = 0; i < n; i++) {
		struct devif_entry_result r;
		const char *why;
		int e;

		memcpy(&r, d->buf + 16u * i, sizeof(r));
		if (cmd_fail) {
			r = (struct devif_entry_result){ .status = c.status };
		} else if (i >= c.done) {
			e = -EIO;
			if (!(*reported)++)
				dpak__err(EIO, "table %s entry %u of %u: not processed by "
					  "the device (it did %u of %u)", t->name,
					  base + i, total, c.done, n);
			res[i] = e;
			continue;
		} else if (pci_result_check(&r, &why)) {
			d->bad_completions++;
			dpak__log(DPAK_LOG_ERR, "pci %s: table %s entry %u of %u: result "
				  "ignored (%s): status 0x%02x handle 0x%" PRIx64,
				  d->bdf, t->name, base + i, total, why, r.status, r.handle);
			if (!(*reported)++)
				dpak__err(EIO, "table %s entry %u of %u: garbage in the "
					  "device's result (%s)", t->name, base + i,
					  total, why);
			res[i] = -EIO;
			continue;
		}
		if (r.status == DEVIF_S_OK) {
			handles[i] = pci_handle(d, pci_slot_put(d, table, r.handle));
			res[i] = 0;
			d->n_entries[table]++;
			continue;
		}
		if (!(*reported)++)
			res[i] = entry_err(d, table, base + i, total, &r, 0, f[i].actions,
					   f[i].actions_len);
		else
			res[i] = -pci_status_errno(r.status) ? -pci_status_errno(r.status) : -EIO;
	}
	return 0;
}

/* Adds @n flows as few ENTRY_ADD commands as the buffer allows (one for
 * any batch the core makes). */
static int add_flows(struct pci_drv *d, uint32_t table, const struct bk_flow *f,
		     unsigned n, uint64_t *handles, int *res)
{
	const struct ci_table *t;
	int reported = 0, added = 0, err = 0;
	unsigned i = 0;

	if (table >= d->cfg->n_tables) {
		err = dpak__err(ENOENT, "table %u: not in the device", table);
		for (unsigned k = 0; k < n; k++)
			res[k] = err;
		return 0;
	}
	t = &d->cfg->tables[table];
	lock(d);
	uint16_t gen0 = d->gen;
	while (i < n && !err) {
		size_t room = d->buf_len, used = 0;
		unsigned k = 0;
		while (i + k < n) {
			size_t l = 16 + add_rec_len(t, &f[i + k]);
			if (used + l > room)
				break;
			used += l;
			k++;
		}
		if (!k) {
			err = dpak__err(EINVAL, "table %s entry %u of %u: the record does "
					"not fit the command buffer", t->name, i, n);
			break;
		}
		err = add_cmd(d, table, f + i, k, i, n, handles + i, res + i, &reported);
		if (!err)
			i += k;
	}
	if (err || d->gen != gen0) {
		/* Cut by a reset (or the device failed): what earlier commands
		 * added is gone with it, so every entry fails alike. */
		if (!err)
			err = dpak__err(ENETRESET, "table %s: the device reset while the "
					"batch ran", t->name);
		for (unsigned k = 0; k < n; k++)
			res[k] = err;
		unlock(d);
		return 0;
	}
	unlock(d);
	for (unsigned k = 0; k < n; k++)
		added += !res[k];
	return added;
}

static int pci_flow_add(void *priv, uint32_t table, const struct bk_flow *f,
			uint64_t *handle)
{
	int res;

	add_flows(priv, table, f, 1, handle, &res);
	return res;
}

static int pci_flow_add_batch(void *priv, uint32_t table, const struct bk_flow *f,
			      unsigned n, uint64_t *handles, int *results)
{
	return add_flows(priv, table, f, n, handles, results);
}

/* One single-record command whose data is results first, then the record. */
static int entry_cmd(struct pci_drv *d, unsigned op, uint32_t table, const void *rec,
		     size_t rec_len, struct devif_entry_result *r, struct devif_cqe *c,
		     const char *what)
{
	struct devif_sqe s = { .opcode = (uint8_t)op, .flags = DEVIF_SQE_F_DATA,
			       .data_len = (uint32_t)(16 + rec_len),
			       .data_addr = d->buf_iova, .count = 1, .arg0 = table };
	int err;

	memset(d->buf, 0, 16);
	memcpy(d->buf + 16, rec, rec_len);
	if ((err = pci_cmd(d, &s, c, what)))
		return err;
	memcpy(r, d->buf, sizeof(*r));
	if (c->status != DEVIF_S_OK && c->status != DEVIF_S_PARTIAL && !c->done)
		*r = (struct devif_entry_result){ .status = c->status };
	return 0;
}

static int pci_flow_del(void *priv, uint32_t table, uint64_t handle)
{
	struct pci_drv *d = priv;
	struct devif_entry_result r;
	struct devif_cqe c;
	uint64_t h;
	char what[64];
	int err;

	if (table >= d->cfg->n_tables)
		return dpak__err(ENOENT, "table %u: not in the device", table);
	lock(d);
	if (!(h = pci_slot_get(d, table, handle))) {
		/* a reset took it already, or the device lost it (an ERROR
		 * event): nothing to delete */
		unlock(d);
		return 0;
	}
	snprintf(what, sizeof(what), "table %s: ENTRY_DEL", table_name(d, table));
	err = entry_cmd(d, DEVIF_OP_ENTRY_DEL, table, &h, 8, &r, &c, what);
	if (err == -ENETRESET) { /* the reset removed it */
		unlock(d);
		return 0;
	}
	if (!err && (r.status == DEVIF_S_OK || r.status == DEVIF_S_NO_ENTRY)) {
		pci_slot_free(d, table, handle);
		if (r.status == DEVIF_S_OK && d->n_entries[table])
			d->n_entries[table]--;
	}
	unlock(d);
	if (err)
		return err;
	if (r.status == DEVIF_S_OK)
		return 0;
	return entry_err(d, table, 0, 1, &r, handle, NULL, 0);
}

static int pci_flow_replace(void *priv, uint32_t table, uint64_t handle,
			    const uint8_t *act, uint32_t len, uint64_t *new_handle)
{
	struct pci_drv *d = priv;
	uint8_t rec[sizeof(struct devif_modify_hdr) + PK_MAX_ACTIONS + 8] = { 0 };
	size_t l = (sizeof(struct devif_modify_hdr) + len + 7) & ~(size_t)7;
	struct devif_modify_hdr h = { .len = (uint16_t)l, .actions_len = (uint8_t)len };
	struct devif_entry_result r;
	struct devif_cqe c;
	char what[64];
	int err;
	const char *why;

	if (table >= d->cfg->n_tables)
		return dpak__err(ENOENT, "table %u: not in the device", table);
	if (len > PK_MAX_ACTIONS)
		return dpak__err(EINVAL, "table %s: %u action bytes", table_name(d, table), len);
	lock(d);
	if (!(h.handle = pci_slot_get(d, table, handle))) {
		unlock(d);
		return dpak__err(ENETRESET, "table %s: the flow's entry went with a "
				 "device reset; it is being restored",
				 table_name(d, table));
	}
	memcpy(rec, &h, sizeof(h));
	memcpy(rec + sizeof(h), act, len);
	snprintf(what, sizeof(what), "table %s: ENTRY_MODIFY", table_name(d, table));
	err = entry_cmd(d, DEVIF_OP_ENTRY_MODIFY, table, rec, l, &r, &c, what);
	if (!err && r.status == DEVIF_S_OK && pci_result_check(&r, &why)) {
		d->bad_completions++;
		err = dpak__err(EIO, "table %s entry 0 of 1: garbage in the device's "
				"result (%s)", table_name(d, table), why);
	} else if (!err && r.status == DEVIF_S_OK) {
		pci_slot_set(d, table, handle, r.handle);
		*new_handle = handle;
	}
	unlock(d);
	if (err)
		return err;
	if (r.status != DEVIF_S_OK)
		return entry_err(d, table, 0, 1, &r, handle, act, len);
	return 0;
}

static int pci_flow_counters(void *priv, uint32_t table, uint64_t handle,
			     struct bk_flow_counters *out)
{
	struct pci_drv *d = priv;
	struct devif_sqe s = { .opcode = DEVIF_OP_COUNTER_READ, .flags = DEVIF_SQE_F_DATA,
			       .data_len = 8 + sizeof(struct devif_counter_result),
			       .count = 1, .arg0 = table };
	struct devif_counter_result r;
	struct devif_cqe c;
	uint64_t h;
	char what[64];
	int err;

	if (table >= d->cfg->n_tables)
		return dpak__err(ENOENT, "table %u: not in the device", table);
	lock(d);
	if (!(h = pci_slot_get(d, table, handle))) {
		/* gone with a reset (or with the device): what was read of
		 * it last, so that counters never go back */
		pci_slot_last_old(d, table, handle, out);
		unlock(d);
		return 0;
	}
	s.data_addr = d->buf_iova;
	memcpy(d->buf, &h, 8);
	memset(d->buf + 8, 0, sizeof(r));
	snprintf(what, sizeof(what), "table %s: COUNTER_READ", table_name(d, table));
	err = pci_cmd(d, &s, &c, what);
	memcpy(&r, d->buf + 8, sizeof(r));
	if (!err) {
		uint64_t a = pci_now_ns(), dev;
		uint32_t hi, lo, hi2;
		do {
			hi = pci_rd32(d->t, REG_DEV_TIME_HI);
			lo = pci_rd32(d->t, REG_DEV_TIME_LO);
			hi2 = pci_rd32(d->t, REG_DEV_TIME_HI);
		} while (hi != hi2);
		dev = (uint64_t)hi << 32 | lo;
		/* re-measured at every read, adopted when it drifted by more
		 * than 50 ms: a last hit read back is the one carried in */
		int64_t off = (int64_t)((a + pci_now_ns()) / 2) - (int64_t)dev;
		if (off - d->time_offset > 50000000 || d->time_offset - off > 50000000)
			d->time_offset = off;
	}
	unlock(d);
	if (err)
		return err;
	if (c.status != DEVIF_S_OK && c.status != DEVIF_S_PARTIAL && !c.done)
		r.status = c.status;
	if (r.status == DEVIF_S_NO_COUNTER || r.status == DEVIF_S_OK) {
		if (r.status == DEVIF_S_NO_COUNTER)
			r.packets = r.bytes = r.last_hit = 0;
		out->packets = r.packets;
		out->bytes = r.bytes;
		out->last_hit_ns = dev_to_host(d, r.last_hit);
		lock(d);
		pci_slot_note(d, table, handle, out);
		unlock(d);
		return 0;
	}
	if (r.status > DEVIF_S_MAX)
		return dpak__err(EIO, "table %s: COUNTER_READ: unknown status 0x%02x",
				 table_name(d, table), r.status);
	struct devif_entry_result er = { .status = r.status };
	return entry_err(d, table, 0, 1, &er, handle, NULL, 0);
}

static int pci_handle_live_op(void *priv, uint32_t table, uint64_t handle)
{
	struct pci_drv *d = priv;
	int live;

	lock(d);
	live = pci_slot_get(d, table, handle) != 0;
	unlock(d);
	return live;
}

/* The core handle of a device handle (trace: rare, a walk). */
static uint64_t core_handle_of(struct pci_drv *d, uint32_t table, uint64_t h)
{
	const struct pci_slots *s = table < CI_MAX_TABLES ? &d->slots[table] : NULL;

	for (uint32_t i = 0; s && h && i < s->n; i++)
		if (s->h[i] == h)
			return pci_handle(d, i);
	return 0;
}

static int pci_reset_check(void *priv, uint64_t *lost)
{
	struct pci_drv *d = priv;

	if (__atomic_load_n(&d->state, __ATOMIC_ACQUIRE) == PCI_DEAD &&
	    pci_now_ns() - __atomic_load_n(&d->dead_since_ns, __ATOMIC_RELAXED) >= 1000000000ull) {
		/* a retry point: try to bring the device back */
		lock(d);
		if (d->state == PCI_DEAD) {
			struct dpak__errsave es;
			dpak__err_save(&es);
			__atomic_store_n(&d->state, PCI_UP, __ATOMIC_RELEASE);
			if (pci_recover(d, 1, "retrying a device that did not come back"))
				__atomic_store_n(&d->dead_since_ns, pci_now_ns(), __ATOMIC_RELAXED);
			dpak__err_restore(&es);
		}
		unlock(d);
	}
	if (__atomic_load_n(&d->state, __ATOMIC_ACQUIRE) == PCI_UP) {
		lock(d);
		struct dpak__errsave es;
		dpak__err_save(&es);
		pci_events_poll(d); /* a RESET notice shows in the registers too */
		pci_check_self_reset(d);
		dpak__err_restore(&es);
		unlock(d);
	}
	if (!__atomic_exchange_n(&d->restore_pending, 0, __ATOMIC_ACQ_REL))
		return 0;
	*lost = __atomic_exchange_n(&d->lost_pending, 0, __ATOMIC_ACQ_REL);
	/* 2: the entries are lost and the device is not back */
	return __atomic_load_n(&d->state, __ATOMIC_ACQUIRE) == PCI_UP ? 1 : 2;
}

/* --- host queues and the control queue (the data path: no lock) ------------ */

static int pci_rx_burst(void *priv, uint16_t q, struct dpak_pkt **pkts, uint16_t n)
{
	struct pci_drv *d = priv;
	int r = 0;

	if (pci_dp_enter(d)) {
		r = drv_hostq_rx_burst(d->hq, q, pkts, n);
		pci_dp_exit(d);
	}
	return r;
}

static int pci_tx_burst(void *priv, uint16_t q, struct dpak_pkt **pkts, uint16_t n)
{
	struct pci_drv *d = priv;
	int r = 0;

	if (pci_dp_enter(d)) {
		r = drv_hostq_tx_burst(d->hq, q, pkts, n);
		pci_dp_exit(d);
	}
	return r;
}

static struct dpak_pkt *pci_pkt_alloc(void *priv)
{
	struct pci_drv *d = priv;
	struct dpak_pkt *p = NULL;

	if (pci_dp_enter(d)) {
		p = drv_hostq_pkt_alloc(d->hq);
		pci_dp_exit(d);
	}
	return p;
}

static void pci_pkt_free(void *priv, struct dpak_pkt *pkt)
{
	drv_hostq_pkt_free(D(priv)->hq, pkt);
}

static ssize_t pci_ctrl_recv(void *priv, void *buf, size_t cap, uint32_t *port)
{
	struct pci_drv *d = priv;
	ssize_t r = 0;

	if (pci_dp_enter(d)) {
		r = drv_hostq_ctrl_recv(d->hq, buf, cap, port);
		pci_dp_exit(d);
	}
	return r;
}

static int pci_ctrl_send(void *priv, uint32_t port, const void *pkt, size_t len)
{
	struct pci_drv *d = priv;
	int r = -EAGAIN;

	if (pci_dp_enter(d)) {
		r = drv_hostq_ctrl_send(d->hq, port, pkt, len);
		pci_dp_exit(d);
	}
	return r;
}

static int pci_queue_stats(void *priv, uint16_t q, struct dpak_queue_stats *st)
{
	struct pci_drv *d = priv;
	struct devif_sqe s = { .opcode = DEVIF_OP_STATS_READ, .flags = DEVIF_SQE_F_DATA,
			       .data_len = sizeof(struct devif_hostq_stats_rec),
			       .count = 1, .arg0 = DEVIF_STATS_HOSTQ, .arg1 = q };
	struct devif_hostq_stats_rec r;
	struct devif_cqe c;
	char what[48];
	int err;

	if (q >= d->n_queues)
		return dpak__err(ENOENT, "queue %u: the device has %u", q, d->n_queues);
	snprintf(what, sizeof(what), "STATS_READ of host queue %u", q);
	err = query(d, &s, &c, what, &r, sizeof(r));
	if (err)
		return err;
	if (r.queue != q)
		return dpak__err(EIO, "pci %s: %s: the device answered for queue %u",
				 d->bdf, what, r.queue);
	st->rx_packets = r.rx_packets;
	st->rx_drops = r.rx_drops;
	st->tx_packets = r.tx_packets;
	drv_hostq_depths(d->hq, q, &st->rx_depth, &st->tx_depth, &st->pool_size,
			 &st->pool_free);
	return 0;
}

/* --- trace -------------------------------------------------------------------- */

/* The header an action needs, in words (BK_WHY_ACTION). */
static const char *needs(int op)
{
	switch (op) {
	case PK_OP_VLAN_POP: return "a vlan tag";
	case PK_OP_SET_IPV4_SRC: case PK_OP_SET_IPV4_DST: return "an ipv4 header";
	case PK_OP_SET_IPV6_SRC: case PK_OP_SET_IPV6_DST: return "an ipv6 header";
	case PK_OP_DEC_TTL: case PK_OP_SET_TTL: return "an ipv4 or ipv6 header";
	case PK_OP_SET_TP_SRC: case PK_OP_SET_TP_DST: return "a tcp or udp header";
	case PK_OP_VXLAN_DECAP: return "a vxlan header";
	default: return "a header";
	}
}

#define TRACE_STEPS 64u

static int pci_trace(void *priv, uint32_t port, const void *pkt, size_t len,
		     void (*cb)(void *ctx, const struct bk_trace_step *st), void *ctx)
{
	struct pci_drv *d = priv;
	struct devif_trace_step steps[TRACE_STEPS];
	struct devif_cqe c;
	int err;

	if (!(d->features & DEVIF_F_TRACE))
		return dpak__err(EOPNOTSUPP, "pci %s: the device cannot trace (no "
				 "F_TRACE in DEV_FEATURES)", d->bdf);
	if (len < 14 || len > d->max_frame)
		return dpak__err(EINVAL, "packet of %zu bytes: 14 to %u", len, d->max_frame);
	uint32_t off = (uint32_t)((len + 7) & ~(size_t)7);
	struct devif_sqe s = { .opcode = DEVIF_OP_TRACE, .flags = DEVIF_SQE_F_DATA,
			       .data_len = off + TRACE_STEPS * 32, .count = TRACE_STEPS,
			       .arg0 = port, .arg1 = (uint32_t)len, .arg2 = off };
	lock(d);
	s.data_addr = d->buf_iova;
	memcpy(d->buf, pkt, len);
	memset(d->buf + off, 0, TRACE_STEPS * 32);
	err = simple(d, &s, &c, "TRACE");
	memcpy(steps, d->buf + off, sizeof(steps));
	uint32_t n_tables = d->cfg->n_tables, n_ports = d->n_ports;
	for (uint32_t i = 0; !err && i < c.done && i < TRACE_STEPS; i++)
		if (steps[i].hit && steps[i].table < n_tables)
			steps[i].handle = core_handle_of(d, steps[i].table, steps[i].handle);
	unlock(d);
	if (err)
		return err;
	for (uint32_t i = 0; i < c.done && i < TRACE_STEPS; i++) {
		const struct devif_trace_step *t = &steps[i];
		int special = t->table == DEVIF_TRACE_OUTCOME || t->table == DEVIF_TRACE_RX;
		if ((!special && t->table >= n_tables) || t->fate > BK_FATE_TTL ||
		    t->why > BK_WHY_EGRESS_DOWN || t->miss > PK_MISS_DROP) {
			d->bad_completions++;
			return dpak__err(EIO, "pci %s: TRACE step %u: garbage from the "
					 "device (table %u, fate %u, why %u)", d->bdf,
					 i, t->table, t->fate, t->why);
		}
		struct bk_trace_step b = {
			.table = t->table == DEVIF_TRACE_RX ? BK_TRACE_RX : t->table,
			.hit = t->hit != 0,
			.handle = t->hit ? t->handle : 0,
			.miss = t->miss,
			.fate = (enum bk_fate)t->fate,
			.arg = t->arg,
			.len = (uint32_t)len,
			.actions = NULL, /* the core's records hold them */
			.act_len = 0,
			.why = (enum bk_why)t->why,
			.rx_port = t->rx_port < n_ports + d->max_bonds ? t->rx_port : port,
			.member = t->member,
			.act_index = t->act_index,
			.act_type = t->act_type,
			.missing = t->why == BK_WHY_ACTION ? needs(t->act_type) : NULL,
		};
		cb(ctx, &b);
	}
	return 0;
}

static uint64_t pci_action_types_now(void *priv)
{
	struct pci_drv *d = priv;
	uint32_t lo = pci_rd32(d->t, REG_ACTIONS_NOW_LO), hi = pci_rd32(d->t, REG_ACTIONS_NOW_HI);

	return ((uint64_t)hi << 32 | lo) & d->cap_actions;
}

/* --- bonds -------------------------------------------------------------------- */

static struct pci_bond *bond_rec(struct pci_drv *d, uint32_t port)
{
	for (uint32_t b = 0; b < PCI_MAX_BONDS; b++)
		if (d->bonds[b].used && d->bonds[b].port == port)
			return &d->bonds[b];
	return NULL;
}

static int pci_bond_create(void *priv, int mode, int hash, int lacp_lib, int failback,
			   uint32_t *port)
{
	struct pci_drv *d = priv;
	struct devif_bond_create bc = { (uint8_t)mode, (uint8_t)hash, lacp_lib ? 0 : 1,
					failback ? DEVIF_BOND_F_FAILBACK : 0,
					DEVIF_BOND_ANY, { 0 } };
	struct devif_sqe s = { .opcode = DEVIF_OP_BOND_CREATE };
	struct devif_cqe c;
	struct pci_bond *slot = NULL;
	int err;

	memcpy(s.inline_data, &bc, sizeof(bc));
	lock(d);
	for (uint32_t b = 0; b < PCI_MAX_BONDS && !slot; b++)
		if (!d->bonds[b].used)
			slot = &d->bonds[b];
	err = slot ? pci_cmd(d, &s, &c, "BOND_CREATE") :
		dpak__err(ENOSPC, "bond: the driver holds its most bonds (%u)",
			  PCI_MAX_BONDS);
	if (!err && c.status == DEVIF_S_OK &&
	    (c.result < d->n_ports || c.result >= (uint64_t)d->n_ports + d->max_bonds)) {
		d->bad_completions++;
		err = dpak__err(EIO, "pci %s: BOND_CREATE: the device gave bond id "
				"%" PRIu64 ", outside %u..%u", d->bdf, c.result,
				d->n_ports, d->n_ports + d->max_bonds - 1);
	} else if (!err && c.status == DEVIF_S_OK) {
		*slot = (struct pci_bond){ .used = 1, .port = (uint32_t)c.result,
					   .mode = (uint8_t)mode, .hash = (uint8_t)hash,
					   .lacp_lib = (uint8_t)!!lacp_lib,
					   .failback = (uint8_t)!!failback };
		*port = (uint32_t)c.result;
	}
	unlock(d);
	if (err)
		return err;
	if (c.status == DEVIF_S_NO_BOND)
		return dpak__err(ENOSPC, "bond: the device holds its most bonds (%u)",
				 d->max_bonds);
	if (c.status)
		return dpak__err(pci_status_errno(c.status) ? pci_status_errno(c.status) : EIO,
				 "bond: refused by the device (status %s)",
				 pci_status_name(c.status));
	return 0;
}

static int pci_bond_destroy(void *priv, uint32_t port)
{
	struct pci_drv *d = priv;
	struct devif_sqe s = { .opcode = DEVIF_OP_BOND_DESTROY, .arg0 = port };
	struct devif_cqe c;
	char what[48];
	int err;

	lock(d);
	snprintf(what, sizeof(what), "BOND_DESTROY of bond %u", port);
	err = simple(d, &s, &c, what);
	struct pci_bond *b = bond_rec(d, port);
	if (!err && b)
		b->used = 0;
	unlock(d);
	return err;
}

static int member_op(struct pci_drv *d, uint32_t port, uint32_t member, unsigned op)
{
	static const char *const names[] = { "add", "remove", "enable", "disable" };
	struct devif_bond_member bm = { .op = (uint8_t)op };
	struct devif_sqe s = { .opcode = DEVIF_OP_BOND_MEMBER, .arg0 = port, .arg1 = member };
	struct devif_cqe c;
	char what[64];
	int err;

	memcpy(s.inline_data, &bm, sizeof(bm));
	lock(d);
	snprintf(what, sizeof(what), "BOND_MEMBER %s of port %u in bond %u",
		 names[op], member, port);
	err = simple(d, &s, &c, what);
	struct pci_bond *b = bond_rec(d, port);
	if (!err && b) {
		uint32_t k;
		for (k = 0; k < b->n && b->m[k].port != member; k++)
			;
		if (op == DEVIF_MEMBER_ADD && k == b->n && b->n < PCI_MAX_MEMBERS) {
			b->m[b->n].port = member;
			b->m[b->n++].enabled = -1;
		} else if (op == DEVIF_MEMBER_REMOVE && k < b->n) {
			b->m[k] = b->m[--b->n];
		} else if (k < b->n) {
			b->m[k].enabled = op == DEVIF_MEMBER_ENABLE;
		}
	}
	unlock(d);
	return err;
}

static int pci_bond_add(void *priv, uint32_t port, uint32_t member)
{
	return member_op(priv, port, member, DEVIF_MEMBER_ADD);
}

static int pci_bond_del(void *priv, uint32_t port, uint32_t member)
{
	return member_op(priv, port, member, DEVIF_MEMBER_REMOVE);
}

static int pci_bond_enable(void *priv, uint32_t port, uint32_t member, int on)
{
	return member_op(priv, port, member, on ? DEVIF_MEMBER_ENABLE : DEVIF_MEMBER_DISABLE);
}

static int pci_bond_active(void *priv, uint32_t port, uint32_t *member)
{
	struct pci_drv *d = priv;
	/* count: the records the buffer holds (the bond's and 16 members') */
	struct devif_sqe s = { .opcode = DEVIF_OP_BOND_QUERY, .flags = DEVIF_SQE_F_DATA,
			       .data_len = DEVIF_BOND_QUERY_BYTES, .count = 17,
			       .arg0 = port };
	struct devif_bond_rec r;
	struct devif_cqe c;
	char what[48];
	int err;

	snprintf(what, sizeof(what), "BOND_QUERY of bond %u", port);
	err = query(d, &s, &c, what, &r, sizeof(r));
	if (err)
		return err;
	if (r.port != port || (r.active != 0xFFFFFFFFu && r.active >= d->n_ports))
		return dpak__err(EIO, "pci %s: %s: the device answered bond %u, active "
				 "member %u", d->bdf, what, r.port, r.active);
	*member = r.active == 0xFFFFFFFFu ? ~0u : r.active;
	return 0;
}

/* --- the test harness (7.12) and the reset the library asks for ------------- */

static int harness(struct pci_drv *d, const char *call)
{
	if (d->features & DEVIF_F_TEST_HARNESS)
		return 0;
	return dpak__err(EOPNOTSUPP, "%s: pci %s has no test harness (DEV_FEATURES "
			 "F_TEST_HARNESS: hwsim's device front end only)", call, d->bdf);
}

static int pci_sim_inject(void *priv, uint32_t port, const void *pkt, size_t len)
{
	struct pci_drv *d = priv;
	struct devif_cqe c;
	int err;

	if ((err = harness(d, "dpak_hwsim_inject")))
		return err;
	if (len < 14 || len > d->max_frame)
		return dpak__err(EINVAL, "packet of %zu bytes: the device takes frames "
				 "of 14 to %u bytes", len, d->max_frame);
	struct devif_sqe s = { .opcode = DEVIF_OP_WIRE_INJECT, .flags = DEVIF_SQE_F_DATA,
			       .data_len = (uint32_t)len, .arg0 = port };
	lock(d);
	s.data_addr = d->buf_iova;
	memcpy(d->buf, pkt, len);
	err = pci_cmd(d, &s, &c, "WIRE_INJECT");
	unlock(d);
	if (err)
		return err;
	switch (c.status) {
	case DEVIF_S_OK:
		return 0;
	case DEVIF_S_BUSY:
		return dpak__err(ENOBUFS, "port %u: receive ring full", port);
	case DEVIF_S_NO_PORT:
		return dpak__err(ENOENT, "port %u: not in the device", port);
	case DEVIF_S_INVALID:
		return dpak__err(EINVAL, "packet of %zu bytes: refused by the device",
				 len);
	default:
		return dpak__err(pci_status_errno(c.status) ? pci_status_errno(c.status) : EIO,
				 "port %u: WIRE_INJECT: status %s", port,
				 pci_status_name(c.status));
	}
}

static ssize_t pci_sim_capture(void *priv, uint32_t port, void *buf, size_t cap)
{
	struct pci_drv *d = priv;
	struct devif_cqe c;
	int err;

	if ((err = harness(d, "dpak_hwsim_capture")))
		return err;
	/* arg1: the caller's room; a longer frame stays in the device (RANGE) */
	struct devif_sqe s = { .opcode = DEVIF_OP_WIRE_CAPTURE, .flags = DEVIF_SQE_F_DATA,
			       .data_len = d->max_frame, .arg0 = port,
			       .arg1 = cap < d->max_frame ? (uint32_t)cap : 0 };
	if (port >= DEVIF_MAX_PORTS)
		return dpak__err(ENOENT, "port %u: not in the device", port);
	lock(d);
	if (d->stash[port]) {
		/* the frame a too small buffer could not take: it stays first */
		ssize_t n = d->stash_len[port];
		if ((size_t)n > cap) {
			unlock(d);
			return dpak__err(EMSGSIZE, "port %u: buffer of %zu bytes is too "
					 "small for the next packet (%zd bytes)", port,
					 cap, n);
		}
		memcpy(buf, d->stash[port], (size_t)n);
		free(d->stash[port]);
		d->stash[port] = NULL;
		unlock(d);
		return n;
	}
	s.data_addr = d->buf_iova;
	err = pci_cmd(d, &s, &c, "WIRE_CAPTURE");
	if (!err && c.status == DEVIF_S_RANGE) {
		unlock(d);
		return dpak__err(EMSGSIZE, "port %u: buffer of %zu bytes is too small "
				 "for the next packet", port, cap);
	}
	if (!err && c.status) {
		int e = pci_status_errno(c.status);
		err = dpak__err(e ? e : EIO, "port %u: WIRE_CAPTURE: status %s", port,
				pci_status_name(c.status));
	}
	if (!err && c.result > d->max_frame) {
		d->bad_completions++;
		err = dpak__err(EIO, "pci %s: WIRE_CAPTURE: a frame of %" PRIu64
				" bytes, beyond MAX_FRAME", d->bdf, c.result);
	}
	if (!err && c.result && c.result <= cap)
		memcpy(buf, d->buf, (size_t)c.result);
	if (!err && c.result > cap && (d->stash[port] = malloc((size_t)c.result))) {
		memcpy(d->stash[port], d->buf, (size_t)c.result);
		d->stash_len[port] = (uint32_t)c.result;
	}
	unlock(d);
	if (err)
		return err;
	if (!c.result)
		return -EAGAIN;
	if (c.result > cap)
		return dpak__err(EMSGSIZE, "port %u: buffer of %zu bytes is too small "
				 "for the next packet (%" PRIu64 " bytes)", port, cap,
				 c.result);
	return (ssize_t)c.result;
}

static int pci_sim_run(void *priv, unsigned budget)
{
	struct pci_drv *d = priv;
	struct devif_sqe s = { .opcode = DEVIF_OP_WIRE_RUN, .arg0 = budget };
	struct devif_cqe c;
	int err;

	if ((err = harness(d, "dpak_hwsim_run")))
		return err;
	lock(d);
	err = pci_cmd(d, &s, &c, "WIRE_RUN");
	unlock(d);
	if (err)
		return err;
	if (c.status == DEVIF_S_BUSY)
		return dpak__err(EBUSY, "hwsim runs its own engine thread "
				 "(engine=thread)");
	if (c.status)
		return dpak__err(EIO, "pci %s: WIRE_RUN: status %s", d->bdf,
				 pci_status_name(c.status));
	return c.result > INT32_MAX ? INT32_MAX : (int)c.result;
}

static int pci_sim_set_link(void *priv, uint32_t port, int up)
{
	struct pci_drv *d = priv;
	struct devif_sqe s = { .opcode = DEVIF_OP_LINK_SET, .arg0 = port, .arg1 = !!up };
	int err;

	if ((err = harness(d, "dpak_hwsim_set_link")))
		return err;
	return simple_locked(d, &s, "LINK_SET");
}

static int pci_sim_fail_flow_ops(void *priv, unsigned count, int e)
{
	struct pci_drv *d = priv;
	struct devif_sqe s = { .opcode = DEVIF_OP_FAIL_OPS, .arg0 = count,
			       .arg1 = (uint32_t)(e < 0 ? -e : e) };
	int err;

	if ((err = harness(d, "dpak_hwsim_fail_flow_ops")))
		return err;
	return simple_locked(d, &s, "FAIL_OPS");
}

static int pci_sim_reject(void *priv, uint64_t types)
{
	struct pci_drv *d = priv;
	struct devif_sqe s = { .opcode = DEVIF_OP_REJECT_ACTIONS };
	int err;

	if ((err = harness(d, "dpak_hwsim_reject_action")))
		return err;
	memcpy(s.inline_data, &types, sizeof(types));
	return simple_locked(d, &s, "REJECT_ACTIONS");
}

static int pci_sim_attach(void *priv, uint32_t port, const char *ifname)
{
	struct pci_drv *d = priv;
	struct devif_sqe s = { .opcode = DEVIF_OP_WIRE_ATTACH, .arg0 = port };
	struct devif_cqe c;
	int err;

	if ((err = harness(d, "dpak_hwsim_attach")))
		return err;
	if (strlen(ifname) > 15)
		return dpak__err(ENODEV, "no interface named '%s'", ifname);
	memcpy(s.inline_data, ifname, strlen(ifname));
	lock(d);
	err = pci_cmd(d, &s, &c, "WIRE_ATTACH");
	unlock(d);
	if (err)
		return err;
	switch (c.status) {
	case DEVIF_S_OK:
		return 0;
	case DEVIF_S_NO_PORT: case DEVIF_S_NO_ENTRY: case DEVIF_S_INVALID:
		return dpak__err(ENODEV, "no interface named '%s'", ifname);
	case DEVIF_S_BUSY:
		return dpak__err(EBUSY, "port %u is already attached", port);
	default:
		return dpak__err(pci_status_errno(c.status) ? pci_status_errno(c.status) : EIO,
				 "attaching port %u to %s: status %s", port, ifname,
				 pci_status_name(c.status));
	}
}

static int pci_sim_pcap(void *priv, uint32_t port, int dir, const char *path)
{
	(void)priv, (void)port, (void)dir, (void)path;
	return dpak__err(EOPNOTSUPP, "dpak_hwsim_pcap: hwsim-only; not carried by "
			 "the device interface");
}

static int pci_sim_pcap_stats(void *priv, uint32_t port, int dir,
			      struct dpak_hwsim_pcap_stats *st)
{
	(void)priv, (void)port, (void)dir, (void)st;
	return dpak__err(EOPNOTSUPP, "dpak_hwsim_pcap_stats: hwsim-only; not carried "
			 "by the device interface");
}

static int pci_sim_pause(void *priv, int pause)
{
	struct pci_drv *d = priv;
	struct devif_sqe s = { .opcode = DEVIF_OP_PIPELINE_PAUSE, .arg0 = !!pause };

	return simple_locked(d, &s, pause ? "PIPELINE_PAUSE" : "PIPELINE_PAUSE (resume)");
}

/* The reset the library asks for (the core's reset path, which restores
 * the flows itself): SOFT_RESET where the device has it, then tables and
 * bonds again; else a full reset (5.3) and bring-up. */
static int pci_sim_reset(void *priv, uint64_t *lost)
{
	struct pci_drv *d = priv;
	struct devif_sqe s = { .opcode = DEVIF_OP_SOFT_RESET };
	struct devif_cqe c;
	int err;

	lock(d);
	if (d->features & DEVIF_F_SOFT_RESET) {
		err = simple(d, &s, &c, "SOFT_RESET");
		if (!err) {
			uint16_t g = (uint16_t)(d->gen + 1);
			__atomic_store_n(&d->gen, g ? g : 1, __ATOMIC_RELEASE);
			pci_slots_clear(d, 0);
			*lost = c.result;
			d->recovering = 1; /* no reset checks while tables come back */
			err = pci_tables_bonds_setup(d);
			d->recovering = 0;
			d->reset_count = pci_rd32(d->t, REG_RESET_COUNT);
			if (err) {
				dpak__log(DPAK_LOG_ERR, "pci %s: after SOFT_RESET: %s",
					  d->bdf, dpak_errmsg());
				err = pci_recover(d, 1, "tables did not come back after "
						  "a soft reset");
			}
		}
	} else {
		err = pci_recover(d, 1, "the library asked for a reset");
		*lost = __atomic_exchange_n(&d->lost_pending, 0, __ATOMIC_ACQ_REL);
	}
	/* the core restores the flows on this path itself */
	if (!err) {
		__atomic_store_n(&d->restore_pending, 0, __ATOMIC_RELEASE);
		*lost += __atomic_exchange_n(&d->lost_pending, 0, __ATOMIC_ACQ_REL);
	}
	for (uint32_t i = 0; i < CI_MAX_TABLES; i++)
		d->n_entries[i] = 0;
	unlock(d);
	return err;
}

static int pci_health(void *priv, struct bk_health *h)
{
	struct pci_drv *d = priv;

	lock(d);
	*h = (struct bk_health){
		.bad_completions = d->bad_completions, .bad_events = d->bad_events,
		.unknown_events = d->unknown_events, .lost_events = d->lost_events,
		.timeouts = d->timeouts, .resets = d->resets,
		.self_resets = d->self_resets,
		.state = d->state == PCI_GONE ? 1 : d->state == PCI_DEAD ? 2 : 0,
	};
	unlock(d);
	return 0;
}

const struct dpak_backend_ops dpak_backend_pci = {
	.name = "pci",
	.open = pci_open,
	.close = pci_close,
	.n_ports = pci_n_ports,
	.port_info = pci_port_info,
	.port_stats = pci_port_stats,
	/* per device: pci_open writes the device's into the core's copy */
	.item_types = 0,
	.action_types = 0,
	.table_types = 0,
	.flow_add = pci_flow_add,
	.flow_add_batch = pci_flow_add_batch,
	.flow_del = pci_flow_del,
	.flow_replace = pci_flow_replace,
	.flow_counters = pci_flow_counters,
	.rx_burst = pci_rx_burst,
	.tx_burst = pci_tx_burst,
	.pkt_alloc = pci_pkt_alloc,
	.pkt_free = pci_pkt_free,
	.queue_stats = pci_queue_stats,
	.trace = pci_trace,
	.bond_create = pci_bond_create,
	.bond_destroy = pci_bond_destroy,
	.bond_add = pci_bond_add,
	.bond_del = pci_bond_del,
	.bond_enable = pci_bond_enable,
	.bond_active = pci_bond_active,
	.ctrl_recv = pci_ctrl_recv,
	.ctrl_send = pci_ctrl_send,
	.sim_reject = pci_sim_reject,
	.sim_reset = pci_sim_reset,
	.sim_attach = pci_sim_attach,
	.sim_pcap = pci_sim_pcap,
	.sim_inject = pci_sim_inject,
	.sim_capture = pci_sim_capture,
	.sim_run = pci_sim_run,
	.sim_set_link = pci_sim_set_link,
	.sim_fail_flow_ops = pci_sim_fail_flow_ops,
	.action_types_now = pci_action_types_now,
	.port_set_mtu = pci_port_set_mtu,
	.sim_pcap_stats = pci_sim_pcap_stats,
	.sim_pause = pci_sim_pause,
	.max_push_bytes = 0,
	.port_set_rx_queues = pci_port_set_rx_queues,
	.reset_check = pci_reset_check,
	.handle_live = pci_handle_live_op,
	.health = pci_health,
};

/* --- for tests/test-pci-faults.c --------------------------------------------- */

int dpak__pci_fault(struct dpak_dev *dev, uint32_t kind, uint32_t param)
{
	struct pci_drv *d;
	struct devif_sqe s = { .opcode = DEVIF_OP_FAULT, .arg0 = kind, .arg1 = param };
	int err;

	if (!dev || strcmp(dev->ops->name, "pci"))
		return dpak__err(EINVAL, "not a pci device");
	d = dev->priv;
	if ((err = harness(d, "FAULT")))
		return err;
	return simple_locked(d, &s, "FAULT");
}

int dpak__pci_counters(struct dpak_dev *dev, struct dpak_pci_counters *c)
{
	struct pci_drv *d;

	if (!dev || strcmp(dev->ops->name, "pci"))
		return dpak__err(EINVAL, "not a pci device");
	d = dev->priv;
	lock(d);
	*c = (struct dpak_pci_counters){
		.bad_completions = d->bad_completions, .bad_events = d->bad_events,
		.unknown_events = d->unknown_events, .timeouts = d->timeouts,
		.resets = d->resets, .self_resets = d->self_resets,
		.lost_events = d->lost_events, .gen = d->gen,
	};
	unlock(d);
	return 0;
}
