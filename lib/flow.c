/* SPDX-License-Identifier: MIT */
/*
 * Flows: validate and pack once (pack_flow.c), hand the packed form to the
 * backend, keep it as the core's record. A table's mutex serialises changes
 * to that table; the device's data path never takes it.
 */
#include <errno.h>
#include <stdio.h>
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

#define RECS_PER_CHUNK 256

void dpak__table_recs_init(struct dpak_table *t)
{
	uint32_t ab = t->decl->action_bytes < 64 ? t->decl->action_bytes : 64;

	t->act_inline = ab;
	t->rec_size = (uint32_t)((sizeof(struct dpak_flow) + match_bytes(t) + ab + 7) & ~7ul);
	t->free_recs = NULL;
	t->chunks = NULL;
}

void dpak__table_recs_fini(struct dpak_table *t)
{
	while (t->chunks) {
		void *next = *(void **)t->chunks;
		free(t->chunks);
		t->chunks = next;
	}
}

/* A record slot; the caller holds t->lock. */
static struct dpak_flow *rec_get(struct dpak_table *t)
{
	void *r = t->free_recs;

	if (!r) {
		/* A chunk: a link to the previous chunk, then the slots. */
		uint8_t *c = malloc(8 + (size_t)RECS_PER_CHUNK * t->rec_size);
		if (!c)
			return NULL;
		*(void **)c = t->chunks;
		t->chunks = c;
		for (int i = RECS_PER_CHUNK - 1; i >= 0; i--) {
			void *slot = c + 8 + (size_t)i * t->rec_size;
			*(void **)slot = t->free_recs;
			t->free_recs = slot;
		}
		r = t->free_recs;
	}
	t->free_recs = *(void **)r;
	((struct dpak_flow *)r)->flags = 0; /* not a freed record's heap actions */
	return r;
}

static void rec_put(struct dpak_table *t, struct dpak_flow *f)
{
	if (f->flags & FLOW_F_ACT_HEAP)
		free(f->act);
	*(void **)f = t->free_recs;
	t->free_recs = f;
}

/* Fill a record for a flow the device accepted and link it; the caller
 * holds t->lock. */
static void rec_fill(struct dpak_table *t, struct dpak_flow *f,
		     const struct packed *pk, const struct dpak_flow_opts *opts,
		     uint64_t handle, uint8_t *heap_act)
{
	const struct ci_table *d = t->decl;
	size_t mb = match_bytes(t);

	f->table = t;
	f->handle = handle;
	f->id = t->next_id++;
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
	if (heap_act) {
		f->act = heap_act;
		f->flags |= FLOW_F_ACT_HEAP;
	} else {
		f->act = f->data + mb;
	}
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
}

static struct bk_flow bk_of(const struct dpak_table *t, const struct packed *pk)
{
	return (struct bk_flow){
		.key = pk->key,
		.mask = t->decl->type == PK_EXACT ? NULL : pk->mask,
		.actions = pk->act,
		.actions_len = pk->act_len,
		.priority = pk->priority,
	};
}

/* Add an already packed flow; the caller holds t->lock. */
static int add_locked(struct dpak_table *t, const struct packed *pk,
		      const struct dpak_flow_opts *opts, struct dpak_flow **out)
{
	const struct ci_table *d = t->decl;
	struct dpak_dev *dev = t->dev;
	struct dpak_flow *f;
	uint8_t *heap = NULL;
	uint64_t handle;
	int err;

	if (t->in_use >= d->capacity)
		return dpak__err(ENOSPC, "table %s is full (%u flows)", d->name,
				 d->capacity);
	if (!dev->ops->flow_add)
		return no_op(dev, "flow_add");
	f = rec_get(t);
	if (!f || (pk->act_len > t->act_inline && !(heap = malloc(pk->act_len)))) {
		if (f)
			rec_put(t, f);
		return dpak__err(ENOMEM, "out of memory for a flow record");
	}
	if ((err = dpak__bond_ref(dev, pk->act, pk->act_len, 1))) {
		rec_put(t, f);
		free(heap);
		return err;
	}
	struct bk_flow bf = bk_of(t, pk);
	err = dev->ops->flow_add(dev->priv, t->index, &bf, &handle);
	if (err) {
		dpak__bond_ref(dev, pk->act, pk->act_len, -1);
		f->flags = 0;
		rec_put(t, f);
		free(heap);
		dpak__err_prefix("table %s", d->name);
		return err;
	}
	rec_fill(t, f, pk, opts, handle, heap);
	*out = f;
	return 0;
}

void dpak__stat_latency(struct dpak_dev *dev, uint64_t ns)
{
	unsigned b = 0;

	while (ns > 1 && b < 39)
		ns >>= 1, b++;
	__atomic_fetch_add(&dev->st.lat[b], 1, __ATOMIC_RELAXED);
}

DPAK_API int dpak_flow_add(struct dpak_table *t, const struct dpak_item *items,
			   const struct dpak_action *actions,
			   const struct dpak_flow_opts *opts,
			   struct dpak_flow **flow)
{
	static __thread unsigned tick __attribute__((tls_model("initial-exec")));
	struct packed pk;
	uint64_t t0 = 0;
	int err;

	if (!flow)
		return dpak__err(EINVAL, "flow: NULL (where the handle goes)");
	if (!t)
		return dpak__err(EINVAL, "table: NULL");
	if ((++tick & 15) == 0) /* latency of one add in 16 */
		t0 = dpak__now_ns();
	if (!(err = pack(t, items, actions, opts, &pk))) {
		pthread_mutex_lock(&t->lock);
		err = add_locked(t, &pk, opts, flow);
		pthread_mutex_unlock(&t->lock);
	}
	if (err) {
		dpak__stat_fail(t->dev, err);
		return err;
	}
	__atomic_fetch_add(&t->dev->st.adds, 1, __ATOMIC_RELAXED);
	if (t0)
		dpak__stat_latency(t->dev, dpak__now_ns() - t0);
	return 0;
}

#define BATCH_CHUNK 32

/* One chunk of a batch: pack outside the lock, then one lock and one
 * device call for all that packed. */
static int add_chunk(struct dpak_table *t, const struct dpak_flow_req *reqs,
		     size_t base, size_t n, struct dpak_flow **flows, int *results,
		     int *first_err, char *first_msg, size_t msg_len)
{
	struct packed pk[BATCH_CHUNK];
	struct bk_flow bf[BATCH_CHUNK];
	struct dpak_flow *rec[BATCH_CHUNK];
	uint64_t handles[BATCH_CHUNK];
	int res[BATCH_CHUNK], dres[BATCH_CHUNK];
	size_t idx[BATCH_CHUNK], k = 0;
	struct dpak_dev *dev = t->dev;
	int added = 0;

#define NOTE(i, e)                                                             \
	do {                                                                   \
		res[i] = (e);                                                  \
		dpak__stat_fail(dev, (e));                                     \
		if (!*first_err) {                                             \
			*first_err = (e);                                      \
			dpak__err_prefix("entry %zu", base + (i));             \
			snprintf(first_msg, msg_len, "%s", dpak_errmsg());     \
		}                                                              \
	} while (0)

	for (size_t i = 0; i < n; i++) {
		const struct dpak_flow_req *r = &reqs[base + i];
		int err = pack(t, r->items, r->actions, r->opts, &pk[i]);
		res[i] = 0;
		flows[base + i] = NULL;
		if (err)
			NOTE(i, err);
	}
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < n; i++) {
		if (res[i])
			continue;
		if (t->in_use + k >= t->decl->capacity) {
			NOTE(i, dpak__err(ENOSPC, "table %s is full (%u flows)",
					  t->decl->name, t->decl->capacity));
			continue;
		}
		if (pk[i].act_len > t->act_inline || !(rec[k] = rec_get(t))) {
			/* rare: actions too long for a slot, or no memory:
			 * the one-by-one path */
			int err = add_locked(t, &pk[i], reqs[base + i].opts, &flows[base + i]);
			if (err)
				NOTE(i, err);
			else
				added++;
			continue;
		}
		int err = dpak__bond_ref(dev, pk[i].act, pk[i].act_len, 1);
		if (err) { /* its bond went away since it was checked */
			rec_put(t, rec[k]);
			NOTE(i, err);
			continue;
		}
		bf[k] = bk_of(t, &pk[i]);
		idx[k++] = i;
	}
	if (k && dev->ops->flow_add_batch) {
		dev->ops->flow_add_batch(dev->priv, t->index, bf, (unsigned)k, handles, dres);
	} else {
		for (size_t j = 0; j < k; j++)
			dres[j] = dev->ops->flow_add ?
				dev->ops->flow_add(dev->priv, t->index, &bf[j], &handles[j]) :
				no_op(dev, "flow_add");
	}
	for (size_t j = 0; j < k; j++) {
		size_t i = idx[j];
		if (dres[j]) {
			dpak__bond_ref(dev, pk[i].act, pk[i].act_len, -1);
			rec[j]->flags = 0;
			rec_put(t, rec[j]);
			NOTE(i, dres[j]);
			continue;
		}
		rec_fill(t, rec[j], &pk[i], reqs[base + i].opts, handles[j], NULL);
		flows[base + i] = rec[j];
		added++;
	}
	pthread_mutex_unlock(&t->lock);
	if (results)
		memcpy(results + base, res, n * sizeof(int));
	__atomic_fetch_add(&dev->st.adds, (uint64_t)added, __ATOMIC_RELAXED);
#undef NOTE
	return added;
}

DPAK_API int dpak_flow_add_batch(struct dpak_table *t,
				 const struct dpak_flow_req *reqs, size_t n,
				 struct dpak_flow **flows, int *results)
{
	int added = 0, first_err = 0;
	char first_msg[512] = "";

	if (!t || (n && (!reqs || !flows)))
		return dpak__err(EINVAL, "table, reqs or flows: NULL");
	for (size_t base = 0; base < n; base += BATCH_CHUNK) {
		size_t k = n - base < BATCH_CHUNK ? n - base : BATCH_CHUNK;
		added += add_chunk(t, reqs, base, k, flows, results, &first_err,
				   first_msg, sizeof(first_msg));
	}
	if (first_err)
		dpak__err(-first_err, "%s", first_msg);
	return added;
}

static void unlink_flow(struct dpak_table *t, struct dpak_flow *f)
{
	if (t->ctl_mark == f) /* a dpak-ctl walk resumes at the next */
		t->ctl_mark = f->next;
	if (f->prev)
		f->prev->next = f->next;
	else
		t->head = f->next;
	if (f->next)
		f->next->prev = f->prev;
	else
		t->tail = f->prev;
	t->in_use--;
	dpak__bond_ref(t->dev, f->act, f->act_len, -1);
	rec_put(t, f);
}

static int del_locked(struct dpak_table *t, struct dpak_flow *f)
{
	struct dpak_dev *dev = t->dev;
	int err;

	if (!(f->flags & FLOW_F_GONE)) { /* else the device holds it no more */
		if (!dev->ops->flow_del)
			return no_op(dev, "flow_del");
		err = dev->ops->flow_del(dev->priv, t->index, f->handle);
		if (err) {
			dpak__stat_fail(dev, err);
			return err;
		}
	}
	unlink_flow(t, f);
	__atomic_fetch_add(&dev->st.dels, 1, __ATOMIC_RELAXED);
	return 0;
}

int dpak__flow_remove_keep_locked(struct dpak_flow *f)
{
	struct dpak_table *t = f->table;
	struct dpak_dev *dev = t->dev;
	int err = 0;

	if (f->flags & FLOW_F_GONE)
		err = dpak__err(ENOENT, "flow already removed from the device");
	else if (!dev->ops->flow_del)
		err = no_op(dev, "flow_del");
	else if (!(err = dev->ops->flow_del(dev->priv, t->index, f->handle)))
		f->flags |= FLOW_F_GONE;
	return err;
}

uint64_t dpak__dev_restore(struct dpak_dev *dev)
{
	uint64_t n = 0;

	for (uint32_t i = 0; i < dev->cfg.n_tables; i++) {
		struct dpak_table *t = &dev->tables[i];
		const struct ci_table *d = t->decl;

		for (struct dpak_flow *f = t->head; f; f = f->next) {
			if (f->flags & FLOW_F_GONE)
				continue;
			struct bk_flow bf = {
				.key = f->data,
				.mask = d->type == PK_EXACT ? NULL : f->data + d->key_bytes,
				.actions = f->act, .actions_len = f->act_len,
				.priority = f->priority,
			};
			/* The record is the packed form: no validation again. */
			if (dev->ops->flow_add(dev->priv, t->index, &bf, &f->handle)) {
				dpak__log(DPAK_LOG_ERR, "restore: table %s lost a flow "
					  "(cookie %llu): %s", d->name,
					  (unsigned long long)f->cookie, dpak_errmsg());
				f->flags |= FLOW_F_GONE;
				continue;
			}
			n++;
		}
	}
	__atomic_fetch_add(&dev->st.restored, n, __ATOMIC_RELAXED);
	return n;
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
	if (f->flags & FLOW_F_GONE) {
		pthread_mutex_unlock(&t->lock);
		return dpak__err(ENOENT, "flow was removed from the device by the "
				 "operator (dpak-ctl)");
	}
	if (pk.act_len > f->act_len && !(act = malloc(pk.act_len))) {
		pthread_mutex_unlock(&t->lock);
		return dpak__err(ENOMEM, "out of memory for actions");
	}
	if ((err = dpak__bond_ref(dev, pk.act, pk.act_len, 1))) {
		pthread_mutex_unlock(&t->lock);
		free(act);
		return err;
	}
	err = dev->ops->flow_replace(dev->priv, t->index, f->handle, pk.act,
				     pk.act_len, &handle);
	if (err) {
		dpak__bond_ref(dev, pk.act, pk.act_len, -1);
		pthread_mutex_unlock(&t->lock);
		free(act);
		dpak__stat_fail(dev, err);
		return err;
	}
	__atomic_fetch_add(&dev->st.replaces, 1, __ATOMIC_RELAXED);
	f->handle = handle;
	dpak__bond_ref(dev, f->act, f->act_len, -1);
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
	pthread_mutex_lock(&f->table->lock); /* the handle may not change */
	if (!(f->flags & FLOW_F_COUNT))
		err = dpak__err(ENOTSUP, "flow has no count action; add "
				"DPAK_ACTION_COUNT to read its counters");
	else if (f->flags & FLOW_F_GONE)
		err = dpak__err(ENOENT, "flow was removed from the device by the "
				"operator (dpak-ctl)");
	else
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

			if (!f->idle_ms || (f->flags & (FLOW_F_AGED | FLOW_F_GONE)) ||
			    counters(f, &c))
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
