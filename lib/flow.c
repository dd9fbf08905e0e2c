/* SPDX-License-Identifier: MIT */
/*
 * Flows: validate and pack once (pack_flow.c), hand the packed form to the
 * backend, keep it as the core's record. A table's mutex serialises changes
 * to that table; the device's data path never takes it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"

static int no_op(const struct dpak_dev *dev, const char *op)
{
	return dpak__err(EOPNOTSUPP, "backend %s does not implement %s",
			 dev->ops->name, op);
}

static int check_opts(const struct dpak_flow_opts *opts)
{
	return dpak__opts_check(opts, sizeof(*opts), "dpak_flow_opts");
}

/* Validate and pack: the one pass every entry point shares. */
static int pack(const struct dpak_table *t, const struct dpak_item *items,
		const struct dpak_action *actions,
		const struct dpak_flow_opts *opts, struct packed *pk)
{
	int err;

	if (!t)
		return dpak__err(EINVAL, "table: NULL");
	if ((err = check_opts(opts)) ||
	    (err = dpak__pack_match(t, items, DPAK_OPT(opts, priority, 0u), pk)) ||
	    (err = dpak__pack_actions(t, actions, pk)))
		return err;
	return 0;
}

DPAK_API int dpak_flow_validate(struct dpak_table *t,
				const struct dpak_item *items,
				const struct dpak_action *actions,
				const struct dpak_flow_opts *opts)
{
	struct packed pk;

	return pack(t, items, actions, opts, &pk);
}

static size_t match_bytes(const struct dpak_table *t)
{
	return t->decl->key_bytes * (t->decl->type == PK_EXACT ? 1u : 2u);
}

/* Add an already packed flow; the caller holds t->lock. */
static int add_locked(struct dpak_table *t, const struct packed *pk,
		      const struct dpak_flow_opts *opts, struct dpak_flow **out)
{
	const struct ci_table *d = t->decl;
	struct dpak_dev *dev = t->dev;
	struct dpak_flow *f;
	size_t mb = match_bytes(t);
	int err;

	if (t->in_use >= d->capacity)
		return dpak__err(ENOSPC, "table %s is full (%u flows)", d->name,
				 d->capacity);
	if (!dev->ops->flow_add)
		return no_op(dev, "flow_add");
	f = malloc(sizeof(*f) + mb + pk->act_len);
	if (!f)
		return dpak__err(ENOMEM, "out of memory for a flow record");
	struct bk_flow bf = {
		.key = pk->key,
		.mask = d->type == PK_EXACT ? NULL : pk->mask,
		.actions = pk->act,
		.actions_len = pk->act_len,
		.priority = pk->priority,
	};
	err = dev->ops->flow_add(dev->priv, t->index, &bf, &f->handle);
	if (err) {
		free(f);
		dpak__err_prefix("table %s", d->name);
		return err;
	}
	f->table = t;
	f->cookie = DPAK_OPT(opts, cookie, 0);
	f->idle_ms = DPAK_OPT(opts, idle_timeout_ms, 0u);
	f->added_ns = f->idle_ms ? dpak__now_ns() : 0;
	f->priority = pk->priority;
	f->layers = pk->layers;
	f->act_len = (uint8_t)pk->act_len;
	f->flags = pk->counted ? FLOW_F_COUNT : 0;
	memcpy(f->data, pk->key, d->key_bytes);
	if (d->type != PK_EXACT)
		memcpy(f->data + d->key_bytes, pk->mask, d->key_bytes);
	f->act = f->data + mb;
	memcpy(f->act, pk->act, pk->act_len);
	f->next = NULL;
	f->prev = t->tail;
	if (t->tail)
		t->tail->next = f;
	else
		t->head = f;
	t->tail = f;
	if (++t->in_use > t->high_water)
		t->high_water = t->in_use;
	*out = f;
	return 0;
}

DPAK_API int dpak_flow_add(struct dpak_table *t, const struct dpak_item *items,
			   const struct dpak_action *actions,
			   const struct dpak_flow_opts *opts,
			   struct dpak_flow **flow)
{
	struct packed pk;
	int err;

	if (!flow)
		return dpak__err(EINVAL, "flow: NULL (where the handle goes)");
	if ((err = pack(t, items, actions, opts, &pk)))
		return err;
	pthread_mutex_lock(&t->lock);
	err = add_locked(t, &pk, opts, flow);
	pthread_mutex_unlock(&t->lock);
	return err;
}

DPAK_API int dpak_flow_add_batch(struct dpak_table *t,
				 const struct dpak_flow_req *reqs, size_t n,
				 struct dpak_flow **flows, int *results)
{
	struct packed pk;
	int added = 0, first_err = 0;
	char first_msg[512] = "";

	if (!t || (n && (!reqs || !flows)))
		return dpak__err(EINVAL, "table, reqs or flows: NULL");
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < n; i++) {
		const struct dpak_flow_req *r = &reqs[i];
		int err = pack(t, r->items, r->actions, r->opts, &pk);

		if (!err)
			err = add_locked(t, &pk, r->opts, &flows[i]);
		if (err) {
			flows[i] = NULL;
			if (!first_err) {
				first_err = err;
				dpak__err_prefix("entry %zu", i);
				strncpy(first_msg, dpak_errmsg(), sizeof(first_msg) - 1);
			}
		} else {
			added++;
		}
		if (results)
			results[i] = err;
	}
	pthread_mutex_unlock(&t->lock);
	if (first_err)
		dpak__err(-first_err, "%s", first_msg);
	return added;
}

static void unlink_flow(struct dpak_table *t, struct dpak_flow *f)
{
	if (f->prev)
		f->prev->next = f->next;
	else
		t->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		t->tail = f->prev;
	t->in_use--;
	if (f->flags & FLOW_F_ACT_HEAP)
		free(f->act);
	free(f);
}

static int del_locked(struct dpak_table *t, struct dpak_flow *f)
{
	struct dpak_dev *dev = t->dev;
	int err;

	if (!dev->ops->flow_del)
		return no_op(dev, "flow_del");
	err = dev->ops->flow_del(dev->priv, t->index, f->handle);
	if (err)
		return err;
	unlink_flow(t, f);
	return 0;
}

DPAK_API int dpak_flow_del(struct dpak_flow *f)
{
	struct dpak_table *t;
	int err;

	if (!f)
		return dpak__err(EINVAL, "flow: NULL");
	t = f->table;
	pthread_mutex_lock(&t->lock);
	err = del_locked(t, f);
	pthread_mutex_unlock(&t->lock);
	return err;
}

DPAK_API int dpak_table_flush(struct dpak_table *t)
{
	int n = 0, err = 0;

	if (!t)
		return dpak__err(EINVAL, "table: NULL");
	pthread_mutex_lock(&t->lock);
	while (t->head && !(err = del_locked(t, t->head)))
		n++;
	pthread_mutex_unlock(&t->lock);
	return err ? err : n;
}

DPAK_API int dpak_flow_replace_actions(struct dpak_flow *f,
				       const struct dpak_action *actions)
{
	struct dpak_table *t;
	struct dpak_dev *dev;
	struct packed pk;
	uint64_t handle;
	uint8_t *act = NULL;
	int err;

	if (!f)
		return dpak__err(EINVAL, "flow: NULL");
	t = f->table;
	dev = t->dev;
	pk.layers = f->layers;
	if ((err = dpak__pack_actions(t, actions, &pk)))
		return err;
	if (!dev->ops->flow_replace)
		return no_op(dev, "flow_replace");
	pthread_mutex_lock(&t->lock);
	if (pk.act_len > f->act_len && !(act = malloc(pk.act_len))) {
		pthread_mutex_unlock(&t->lock);
		return dpak__err(ENOMEM, "out of memory for actions");
	}
	err = dev->ops->flow_replace(dev->priv, t->index, f->handle, pk.act,
				     pk.act_len, &handle);
	if (err) {
		pthread_mutex_unlock(&t->lock);
		free(act);
		return err;
	}
	f->handle = handle;
	if (act) {
		if (f->flags & FLOW_F_ACT_HEAP)
			free(f->act);
		f->act = act;
		f->flags |= FLOW_F_ACT_HEAP;
	}
	memcpy(f->act, pk.act, pk.act_len);
	f->act_len = (uint8_t)pk.act_len;
	f->flags = (uint8_t)((f->flags & ~FLOW_F_COUNT) |
			     (pk.counted ? FLOW_F_COUNT : 0));
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static int counters(struct dpak_flow *f, struct bk_flow_counters *c)
{
	struct dpak_dev *dev = f->table->dev;

	if (!dev->ops->flow_counters)
		return no_op(dev, "flow_counters");
	return dev->ops->flow_counters(dev->priv, f->table->index, f->handle, c);
}

DPAK_API int dpak_flow_query(struct dpak_flow *f, struct dpak_flow_stats *stats)
{
	struct dpak_flow_stats s = { 0 };
	struct bk_flow_counters c;
	int err;

	if (!f)
		return dpak__err(EINVAL, "flow: NULL");
	if (!(f->flags & FLOW_F_COUNT))
		return dpak__err(ENOTSUP, "flow has no count action; add "
				 "DPAK_ACTION_COUNT to read its counters");
	pthread_mutex_lock(&f->table->lock); /* the handle may not change */
	err = counters(f, &c);
	pthread_mutex_unlock(&f->table->lock);
	if (err)
		return err;
	s.packets = c.packets;
	s.bytes = c.bytes;
	s.last_hit_ns = c.last_hit_ns;
	return dpak__out(stats, &s, sizeof(s), "dpak_flow_stats");
}

DPAK_API int dpak_flow_aged(struct dpak_dev *dev, struct dpak_flow **flows,
			    size_t max)
{
	uint64_t now = dpak__now_ns();
	size_t n = 0;

	if (!dev || (max && !flows))
		return dpak__err(EINVAL, "dev or flows: NULL");
	for (uint32_t i = 0; i < dev->cfg.n_tables && n < max; i++) {
		struct dpak_table *t = &dev->tables[i];

		pthread_mutex_lock(&t->lock);
		for (struct dpak_flow *f = t->head; f && n < max; f = f->next) {
			struct bk_flow_counters c;
			uint64_t ref;

			if (!f->idle_ms || (f->flags & FLOW_F_AGED) || counters(f, &c))
				continue;
			ref = c.last_hit_ns > f->added_ns ? c.last_hit_ns : f->added_ns;
			if (now - ref >= (uint64_t)f->idle_ms * 1000000u) {
				f->flags |= FLOW_F_AGED;
				flows[n++] = f;
			}
		}
		pthread_mutex_unlock(&t->lock);
	}
	return (int)n;
}

DPAK_API uint64_t dpak_flow_cookie(const struct dpak_flow *f)
{
	return f ? f->cookie : 0;
}

DPAK_API struct dpak_table *dpak_flow_table(const struct dpak_flow *f)
{
	return f ? f->table : NULL;
}

DPAK_API struct dpak_flow *dpak_flow_next(struct dpak_table *t,
					  struct dpak_flow *prev)
{
	struct dpak_flow *f;

	if (!t)
		return NULL;
	pthread_mutex_lock(&t->lock);
	f = prev ? prev->next : t->head;
	pthread_mutex_unlock(&t->lock);
	return f;
}
