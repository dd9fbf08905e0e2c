/* SPDX-License-Identifier: MIT */
/*
 * Flows: validate and pack once (pack_flow.c), hand the packed form to the
 * backend, keep it as the core's record. A table's mutex serialises changes
 * to that table; the device's data path never takes it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"
#include "event.h"

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

static size_t match_bytes(const struct dpak_table *t)
{
	return t->decl->key_bytes * (t->decl->type == PK_EXACT ? 1u : 2u);
}

/*
 * The table's distinct masks (wildcard, LPM): the device holds at most
 * max_masks of them (configinfo masks=), so the core counts them and
 * refuses one more at validation, before the device would. The caller
 * holds t->lock.
 */
static int mask_find(const struct dpak_table *t, const uint8_t *mask)
{
	uint32_t kb = t->decl->key_bytes;

	if (!t->masks)
		return -1;
	for (uint32_t i = 0; i < t->decl->max_masks; i++)
		if (t->mask_refs[i] && !memcmp(t->masks + (size_t)i * kb, mask, kb))
			return (int)i;
	return -1;
}

static int mask_ref(struct dpak_table *t, const uint8_t *mask)
{
	const struct ci_table *d = t->decl;
	int i;

	if (d->type == PK_EXACT)
		return 0;
	if (!t->masks) {
		t->masks = calloc(d->max_masks, d->key_bytes);
		t->mask_refs = calloc(d->max_masks, sizeof(uint32_t));
		if (!t->masks || !t->mask_refs) {
			free(t->masks);
			free(t->mask_refs);
			t->masks = NULL;
			t->mask_refs = NULL;
			return dpak__err(ENOMEM, "out of memory for table %s's "
					 "masks", d->name);
		}
	}
	if ((i = mask_find(t, mask)) < 0) {
		for (i = 0; t->mask_refs[i]; i++)
			; /* a free slot: the caller checked the room */
		memcpy(t->masks + (size_t)i * d->key_bytes, mask, d->key_bytes);
		t->n_masks++;
	}
	t->mask_refs[i]++;
	return 0;
}

static void mask_unref(struct dpak_table *t, const uint8_t *mask)
{
	int i;

	if (t->decl->type == PK_EXACT || (i = mask_find(t, mask)) < 0)
		return;
	if (!--t->mask_refs[i])
		t->n_masks--;
}

/* Room for one more flow, beyond @pending ones accepted but not counted
 * yet: the table's capacity and its distinct masks. Validation and adds
 * share it, so they refuse alike. The caller holds t->lock. */
static int room_check(const struct dpak_table *t, const struct packed *pk,
		      uint32_t pending)
{
	const struct ci_table *d = t->decl;

	if (t->in_use + pending >= d->capacity)
		return dpak__err(ENOSPC, "table %s is full (%u flows)", d->name,
				 d->capacity);
	if (d->type != PK_EXACT && t->n_masks >= d->max_masks &&
	    mask_find(t, pk->mask) < 0)
		return dpak__err(ENOSPC, "table %s holds %u distinct %s, its limit "
				 "(configinfo masks=%u): a flow with another %s "
				 "does not fit", d->name, t->n_masks,
				 d->type == PK_LPM ? "prefix lengths" : "masks",
				 d->max_masks,
				 d->type == PK_LPM ? "prefix length" : "mask");
	return 0;
}

DPAK_API int dpak_flow_validate(struct dpak_table *t,
				const struct dpak_item *items,
				const struct dpak_action *actions,
				const struct dpak_flow_opts *opts)
{
	struct packed pk;
	int err = pack(t, items, actions, opts, &pk);

	if (err)
		return err;
	pthread_mutex_lock(&t->lock);
	err = room_check(t, &pk, 0);
	pthread_mutex_unlock(&t->lock);
	return err;
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

/* A flow lost in a device reset and not restored yet: what it had counted
 * and why the device refused it again. */
struct dpak_absent {
	struct dpak_absent *next;
	struct dpak_flow *f;
	struct bk_flow_counters c;
	int err;
};

static struct dpak_absent *absent_of(const struct dpak_table *t,
				     const struct dpak_flow *f)
{
	struct dpak_absent *a;

	for (a = t->absent; a && a->f != f; a = a->next)
		;
	return a;
}

/* The device lost @f and could not take it back (err): keep it, with its
 * counters @c, out of in_use. The caller holds t->lock. */
static void absent_add(struct dpak_table *t, struct dpak_flow *f,
		       const struct bk_flow_counters *c, int err)
{
	struct dpak_absent *a = calloc(1, sizeof(*a));

	if (a) {
		a->f = f;
		a->c = *c;
		a->err = err;
		a->next = t->absent;
		t->absent = a;
	} else {
		dpak__log(DPAK_LOG_WARN, "table %s: out of memory: the counters "
			  "of a flow not restored are lost", t->decl->name);
	}
	f->flags |= FLOW_F_ABSENT;
	f->handle = ~0ull; /* names no device entry */
	t->in_use--;
	t->n_absent++;
	dpak__event_in_use(t);
}

/* @f is in the device again, or deleted. */
static void absent_del(struct dpak_table *t, struct dpak_flow *f, int back)
{
	struct dpak_absent **pp, *a;

	for (pp = &t->absent; (a = *pp); pp = &a->next)
		if (a->f == f) {
			*pp = a->next;
			free(a);
			break;
		}
	f->flags &= (uint8_t)~FLOW_F_ABSENT;
	t->n_absent--;
	if (back && ++t->in_use > t->high_water)
		t->high_water = t->in_use;
	if (back)
		dpak__event_in_use(t);
}

void dpak__table_recs_fini(struct dpak_table *t)
{
	while (t->absent) {
		struct dpak_absent *a = t->absent;
		t->absent = a->next;
		free(a);
	}
	free(t->masks);
	free(t->mask_refs);
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
	dpak__event_in_use(t);
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

/* Add an already packed flow, beyond @pending flows accepted but not
 * counted yet; the caller holds t->lock. */
static int add_locked(struct dpak_table *t, const struct packed *pk,
		      const struct dpak_flow_opts *opts, uint32_t pending,
		      struct dpak_flow **out)
{
	const struct ci_table *d = t->decl;
	struct dpak_dev *dev = t->dev;
	struct dpak_flow *f;
	uint8_t *heap = NULL;
	uint64_t handle;
	int err;

	if ((err = room_check(t, pk, pending)))
		return err;
	if (!dev->ops->flow_add)
		return no_op(dev, "flow_add");
	f = rec_get(t);
	if (!f || (pk->act_len > t->act_inline && !(heap = malloc(pk->act_len)))) {
		if (f)
			rec_put(t, f);
		return dpak__err(ENOMEM, "out of memory for a flow record");
	}
	if ((err = mask_ref(t, pk->mask))) {
		rec_put(t, f);
		free(heap);
		return err;
	}
	if ((err = dpak__bond_ref(dev, pk->act, pk->act_len, 1))) {
		mask_unref(t, pk->mask);
		rec_put(t, f);
		free(heap);
		return err;
	}
	struct bk_flow bf = bk_of(t, pk);
	err = dev->ops->flow_add(dev->priv, t->index, &bf, &handle);
	if (err) {
		mask_unref(t, pk->mask);
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

int dpak__flow_op_reset(struct dpak_dev *dev, int err)
{
	if (err != -ENETRESET && err != -ETIMEDOUT)
		return 0;
	dpak__dev_recover_check(dev);
	return err == -ENETRESET;
}

/* A device whose driver recovers by itself (ops->reset_check): before a
 * public call takes a lock, restore what a reset lost since the last. */
void dpak__dev_recover_first(struct dpak_dev *dev)
{
	if (dev->ops->reset_check)
		dpak__dev_recover_check(dev);
}

#define recover_first dpak__dev_recover_first

DPAK_API int dpak_flow_add(struct dpak_table *t, const struct dpak_item *items,
			   const struct dpak_action *actions,
			   const struct dpak_flow_opts *opts,
			   struct dpak_flow **flow)
{
	static __thread unsigned tick;
	struct packed pk;
	uint64_t t0 = 0;
	int err;

	if (!flow)
		return dpak__err(EINVAL, "flow: NULL (where the handle goes)");
	if (!t)
		return dpak__err(EINVAL, "table: NULL");
	if ((++tick & 15) == 0) /* latency of one add in 16 */
		t0 = dpak__now_ns();
	recover_first(t->dev);
	if (!(err = pack(t, items, actions, opts, &pk))) {
		pthread_mutex_lock(&t->lock);
		err = add_locked(t, &pk, opts, 0, flow);
		pthread_mutex_unlock(&t->lock);
		if (dpak__flow_op_reset(t->dev, err)) { /* cut by a reset: once more */
			pthread_mutex_lock(&t->lock);
			err = add_locked(t, &pk, opts, 0, flow);
			pthread_mutex_unlock(&t->lock);
			if (err == -ENETRESET)
				err = dpak__err(EIO, "table %s entry 0 of 1: the device "
						"reset twice while the flow was added",
						t->decl->name);
		}
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

/* The message of a batch's first failed entry (lowest index), whatever
 * the stage it failed at: validation, room, or the device. */
struct batch_first {
	size_t index;          /* SIZE_MAX: none yet */
	int err;
	char msg[512];
};

static void note_fail(struct dpak_dev *dev, struct batch_first *bf, int *res,
		      size_t base, size_t i, int err, const char *msg)
{
	res[i] = err;
	dpak__stat_fail(dev, err);
	if (base + i < bf->index) {
		bf->index = base + i;
		bf->err = err;
		snprintf(bf->msg, sizeof(bf->msg), "entry %zu: %s", base + i, msg);
	}
}

/* A device reset cut a batch (-ENETRESET: none of its entries stayed in
 * the device) or followed its timeout: with t->lock released, let the core
 * restore what the reset lost, then submit the cut entries once more. A
 * second reset fails them with EIO. Returns the index of the first entry
 * that failed now (its message in @dmsg), or -1. The caller holds t->lock
 * (released and taken again here). */
static int retry_cut(struct dpak_table *t, struct bk_flow *bf, size_t k,
		     uint64_t *handles, int *dres, size_t base, size_t n,
		     char *dmsg, size_t dmsg_len)
{
	struct dpak_dev *dev = t->dev;
	struct bk_flow again[BATCH_CHUNK];
	uint64_t h2[BATCH_CHUNK];
	int r2[BATCH_CHUNK], first = -1, cut = 0;
	size_t map[BATCH_CHUNK], m = 0;
	char msg[512];

	for (size_t j = 0; j < k; j++)
		cut |= dres[j] == -ENETRESET;
	snprintf(msg, sizeof(msg), "%s", dpak_errmsg());
	pthread_mutex_unlock(&t->lock);
	dpak__flow_op_reset(dev, cut ? -ENETRESET : -ETIMEDOUT);
	pthread_mutex_lock(&t->lock);
	dpak__err(EIO, "%s", msg);
	for (size_t j = 0; j < k; j++)
		if (dres[j] == -ENETRESET) {
			again[m] = bf[j];
			map[m++] = j;
		}
	if (m)
		dev->ops->flow_add_batch(dev->priv, t->index, again, (unsigned)m, h2, r2);
	for (size_t x = 0; x < m; x++) {
		size_t j = map[x];
		dres[j] = r2[x];
		if (!r2[x])
			handles[j] = h2[x];
	}
	for (size_t x = 0; x < m; x++)
		if (r2[x] == -ENETRESET) { /* the device reset again */
			for (size_t y = x; y < m; y++)
				if (r2[y] == -ENETRESET)
					dres[map[y]] = dpak__err(EIO, "table %s entry %zu "
						"of %zu: the device reset twice while "
						"the batch ran", t->decl->name,
						base + map[y], base + n);
			break;
		}
	for (size_t j = 0; j < k && first < 0; j++)
		if (dres[j]) {
			first = (int)j;
			if (dres[j] == -ETIMEDOUT || dres[j] == -EIO)
				snprintf(dmsg, dmsg_len, "%s", dres[j] == -ETIMEDOUT ?
					 msg : dpak_errmsg());
			else
				snprintf(dmsg, dmsg_len, "%s", dpak_errmsg());
		}
	return first;
}

/* One chunk of a batch: pack outside the lock, then one lock and one
 * device call for all that packed. */
static int add_chunk(struct dpak_table *t, const struct dpak_flow_req *reqs,
		     size_t base, size_t n, struct dpak_flow **flows, int *results,
		     struct batch_first *first)
{
	struct packed pk[BATCH_CHUNK];
	struct bk_flow bf[BATCH_CHUNK];
	struct dpak_flow *rec[BATCH_CHUNK];
	uint64_t handles[BATCH_CHUNK];
	int res[BATCH_CHUNK], dres[BATCH_CHUNK];
	size_t idx[BATCH_CHUNK], k = 0;
	struct dpak_dev *dev = t->dev;
	char dmsg[512] = "";
	int added = 0, dfirst = -1;

	for (size_t i = 0; i < n; i++) {
		const struct dpak_flow_req *r = &reqs[base + i];
		int err = pack(t, r->items, r->actions, r->opts, &pk[i]);
		res[i] = 0;
		flows[base + i] = NULL;
		if (err)
			note_fail(dev, first, res, base, i, err, dpak_errmsg());
	}
	pthread_mutex_lock(&t->lock);
	for (size_t i = 0; i < n; i++) {
		int err;

		if (res[i])
			continue;
		if ((err = room_check(t, &pk[i], (uint32_t)k))) {
			note_fail(dev, first, res, base, i, err, dpak_errmsg());
			continue;
		}
		if (pk[i].act_len > t->act_inline || !(rec[k] = rec_get(t))) {
			/* rare: actions too long for a slot, or no memory:
			 * the one-by-one path */
			err = add_locked(t, &pk[i], reqs[base + i].opts, (uint32_t)k,
					 &flows[base + i]);
			if (err)
				note_fail(dev, first, res, base, i, err, dpak_errmsg());
			else
				added++;
			continue;
		}
		if ((err = mask_ref(t, pk[i].mask))) {
			rec_put(t, rec[k]);
			note_fail(dev, first, res, base, i, err, dpak_errmsg());
			continue;
		}
		if ((err = dpak__bond_ref(dev, pk[i].act, pk[i].act_len, 1))) {
			/* its bond went away since it was checked */
			mask_unref(t, pk[i].mask);
			rec_put(t, rec[k]);
			note_fail(dev, first, res, base, i, err, dpak_errmsg());
			continue;
		}
		bf[k] = bk_of(t, &pk[i]);
		idx[k++] = i;
	}
	if (k && dev->ops->flow_add_batch) {
		/* The device sets the message of its first failure. */
		dev->ops->flow_add_batch(dev->priv, t->index, bf, (unsigned)k, handles, dres);
		for (size_t j = 0; j < k && dfirst < 0; j++)
			if (dres[j]) {
				dfirst = (int)j;
				snprintf(dmsg, sizeof(dmsg), "%s", dpak_errmsg());
			}
		if (dfirst >= 0 && (dres[dfirst] == -ENETRESET || dres[dfirst] == -ETIMEDOUT))
			dfirst = retry_cut(t, bf, k, handles, dres, base, n, dmsg, sizeof(dmsg));
	} else {
		for (size_t j = 0; j < k; j++) {
			dres[j] = dev->ops->flow_add ?
				dev->ops->flow_add(dev->priv, t->index, &bf[j], &handles[j]) :
				no_op(dev, "flow_add");
			if (dres[j] && dfirst < 0) {
				dfirst = (int)j;
				snprintf(dmsg, sizeof(dmsg), "%s", dpak_errmsg());
			}
		}
	}
	for (size_t j = 0; j < k; j++) {
		size_t i = idx[j];
		if (dres[j]) {
			mask_unref(t, pk[i].mask);
			dpak__bond_ref(dev, pk[i].act, pk[i].act_len, -1);
			rec[j]->flags = 0;
			rec_put(t, rec[j]);
			note_fail(dev, first, res, base, i, dres[j],
				  (int)j == dfirst ? dmsg : dpak_strerror(dres[j]));
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
	return added;
}

DPAK_API int dpak_flow_add_batch(struct dpak_table *t,
				 const struct dpak_flow_req *reqs, size_t n,
				 struct dpak_flow **flows, int *results)
{
	struct batch_first first = { .index = SIZE_MAX };
	int added = 0;

	if (!t || (n && (!reqs || !flows)))
		return dpak__err(EINVAL, "table, reqs or flows: NULL");
	recover_first(t->dev);
	for (size_t base = 0; base < n; base += BATCH_CHUNK) {
		size_t k = n - base < BATCH_CHUNK ? n - base : BATCH_CHUNK;
		added += add_chunk(t, reqs, base, k, flows, results, &first);
	}
	if (first.index != SIZE_MAX)
		dpak__err(-first.err, "%s", first.msg);
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
	if (f->flags & FLOW_F_ABSENT)
		absent_del(t, f, 0);
	else if (!(f->flags & FLOW_F_GONE)) /* a removed flow left in_use then */
		t->in_use--;
	if (t->decl->type != PK_EXACT)
		mask_unref(t, f->data + t->decl->key_bytes);
	dpak__event_flow_gone(t, f);
	dpak__bond_ref(t->dev, f->act, f->act_len, -1);
	rec_put(t, f);
}

static int del_locked(struct dpak_table *t, struct dpak_flow *f)
{
	struct dpak_dev *dev = t->dev;
	int err;

	/* A removed or absent flow: the device holds it no more. */
	if (!(f->flags & (FLOW_F_GONE | FLOW_F_ABSENT))) {
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

static int absent_err(const struct dpak_table *t, const struct dpak_flow *f)
{
	const struct dpak_absent *a = absent_of(t, f);

	return dpak__err(ENOENT, "flow is not in the device: a device reset lost "
			 "it and the restore could not add it back (%s); it is "
			 "retried (see dpak_flow_restore)",
			 a ? dpak_strerror(a->err) : "out of memory");
}

int dpak__flow_remove_keep_locked(struct dpak_flow *f)
{
	struct dpak_table *t = f->table;
	struct dpak_dev *dev = t->dev;
	int err = 0;

	if (f->flags & FLOW_F_GONE)
		err = dpak__err(ENOENT, "flow already removed from the device");
	else if (f->flags & FLOW_F_ABSENT)
		err = absent_err(t, f);
	else if (!dev->ops->flow_del)
		err = no_op(dev, "flow_del");
	else if (!(err = dev->ops->flow_del(dev->priv, t->index, f->handle))) {
		/* Out of the device, so out of in_use: the table has room again
		 * although the application still holds the record. */
		f->flags |= FLOW_F_GONE;
		t->in_use--;
		dpak__event_in_use(t);
	}
	return err;
}

static struct bk_flow bk_of_rec(const struct dpak_flow *f)
{
	const struct ci_table *d = f->table->decl;

	return (struct bk_flow){
		.key = f->data,
		.mask = d->type == PK_EXACT ? NULL : f->data + d->key_bytes,
		.actions = f->act, .actions_len = f->act_len,
		.priority = f->priority,
	};
}

/* A flow's counters: the device's, or for a flow a reset lost, those it
 * had then (it has not been hit since). The caller holds its table's lock. */
static int counters(struct dpak_flow *f, struct bk_flow_counters *c)
{
	struct dpak_dev *dev = f->table->dev;

	if (f->flags & FLOW_F_ABSENT) {
		const struct dpak_absent *a = absent_of(f->table, f);
		*c = a ? a->c : (struct bk_flow_counters){ 0 };
		return 0;
	}
	if (!dev->ops->flow_counters)
		return no_op(dev, "flow_counters");
	return dev->ops->flow_counters(dev->priv, f->table->index, f->handle, c);
}

void *dpak__dev_save(struct dpak_dev *dev)
{
	struct bk_flow_counters *saved;
	size_t n = 0, i = 0;

	for (uint32_t k = 0; k < dev->cfg.n_tables; k++)
		n += dev->tables[k].in_use;
	saved = calloc(n ? n : 1, sizeof(*saved));
	if (!saved) {
		dpak__log(DPAK_LOG_WARN, "reset: out of memory: flow counters "
			  "start again from zero");
		return NULL;
	}
	for (uint32_t k = 0; k < dev->cfg.n_tables; k++)
		for (struct dpak_flow *f = dev->tables[k].head; f; f = f->next) {
			if (f->flags & (FLOW_F_GONE | FLOW_F_ABSENT))
				continue;
			if (i < n && counters(f, &saved[i]))
				memset(&saved[i], 0, sizeof(saved[i]));
			i++;
		}
	return saved;
}

/* Add an absent flow back, with the counters it had; the caller holds
 * its table's lock. */
static int absent_retry(struct dpak_table *t, struct dpak_flow *f)
{
	struct dpak_dev *dev = t->dev;
	struct dpak_absent *a = absent_of(t, f);
	struct bk_flow_counters zero = { 0 };
	struct bk_flow bf = bk_of_rec(f);
	uint64_t handle;
	int err;

	if (!dev->ops->flow_add)
		return no_op(dev, "flow_add");
	if (t->in_use >= t->decl->capacity)
		err = dpak__err(ENOSPC, "table %s is full (%u flows)", t->decl->name,
				t->decl->capacity);
	else {
		bf.carry = a ? &a->c : &zero;
		err = dev->ops->flow_add(dev->priv, t->index, &bf, &handle);
	}
	if (err) {
		if (a)
			a->err = err;
		return err;
	}
	f->handle = handle;
	absent_del(t, f, 1);
	__atomic_fetch_add(&dev->st.restored, 1, __ATOMIC_RELAXED);
	return 0;
}

static void restore_failed(const struct dpak_table *t, const struct dpak_flow *f)
{
	dpak__log(DPAK_LOG_ERR, "restore: table %s: flow %u (cookie %llu) is not "
		  "in the device: %s", t->decl->name, f->id,
		  (unsigned long long)f->cookie, dpak_errmsg());
}

uint64_t dpak__dev_restore(struct dpak_dev *dev, void *saved)
{
	struct bk_flow_counters *sv = saved;
	uint64_t n = 0;
	size_t i = 0;

	for (uint32_t k = 0; k < dev->cfg.n_tables; k++) {
		struct dpak_table *t = &dev->tables[k];
		struct dpak_flow *f, *next;

		for (f = t->head; f; f = next) {
			struct bk_flow_counters zero = { 0 };
			const struct bk_flow_counters *c;
			int err;

			next = f->next;
			if (f->flags & FLOW_F_GONE)
				continue;
			if (f->flags & FLOW_F_ABSENT) { /* lost in an earlier reset */
				if (!absent_retry(t, f))
					n++;
				else
					restore_failed(t, f);
				continue;
			}
			c = sv ? &sv[i] : &zero;
			i++;
			/* Added since the device came back (a recovery the
			 * backend noticed by itself): it holds it already. */
			if (dev->ops->handle_live &&
			    dev->ops->handle_live(dev->priv, t->index, f->handle))
				continue;
			/* The record is the packed form: no validation again. */
			/* A reset the backend noticed by itself (no saved
			 * counters): what its driver read last of the lost
			 * entry, so that counters never go back. */
			struct bk_flow_counters last = { 0 };
			if (!sv && dev->ops->handle_live && dev->ops->flow_counters &&
			    f->handle && !dev->ops->flow_counters(dev->priv, t->index,
								  f->handle, &last))
				c = &last;
			struct bk_flow bf = bk_of_rec(f);
			bf.carry = c;
			err = dev->ops->flow_add(dev->priv, t->index, &bf, &f->handle);
			if (err) {
				restore_failed(t, f);
				absent_add(t, f, c, err);
				continue;
			}
			n++;
		}
	}
	__atomic_fetch_add(&dev->st.restored, n, __ATOMIC_RELAXED);
	return n;
}

/* Retry the flows of one table a reset lost; the caller holds its lock.
 * Returns how many are still absent; the first failure's message stays. */
static uint32_t retry_table(struct dpak_table *t, int *first_err,
			    char *msg, size_t msg_len)
{
	struct dpak_flow *f, *next;

	for (f = t->head; f && t->n_absent; f = next) {
		next = f->next;
		if (!(f->flags & FLOW_F_ABSENT))
			continue;
		int err = absent_retry(t, f);
		if (err && !*first_err) {
			*first_err = err;
			snprintf(msg, msg_len, "table %s: flow %u (cookie %llu): %s",
				 t->decl->name, f->id,
				 (unsigned long long)f->cookie, dpak_errmsg());
		}
	}
	return t->n_absent;
}

uint32_t dpak__flow_retry_some(struct dpak_table *t, uint32_t max)
{
	struct dpak_absent *a, *next, *first_failed = NULL, *last_failed = NULL;
	uint32_t back = 0, k = 0;

	for (a = t->absent; a && k < max; a = next, k++) {
		next = a->next;
		if (!absent_retry(t, a->f)) { /* freed and unlinked */
			back++;
			continue;
		}
		if (!first_failed)
			first_failed = a;
		last_failed = a;
	}
	/* Those tried and refused again go to the end of the list, so the
	 * next pass tries the others first. */
	if (a && first_failed && t->absent == first_failed) {
		struct dpak_absent *tail = a;
		while (tail->next)
			tail = tail->next;
		t->absent = a;
		tail->next = first_failed;
		last_failed->next = NULL;
	}
	return back;
}

/* Flows absent in every table now; under no table lock. */
static uint64_t absent_total(struct dpak_dev *dev)
{
	uint64_t n = 0;

	for (uint32_t k = 0; k < dev->cfg.n_tables; k++) {
		pthread_mutex_lock(&dev->tables[k].lock);
		n += dev->tables[k].n_absent;
		pthread_mutex_unlock(&dev->tables[k].lock);
	}
	return n;
}

DPAK_API int dpak_flow_restore(struct dpak_dev *dev)
{
	uint32_t left = 0, back = 0;
	int first_err = 0;
	char msg[512] = "";

	if (!dev)
		return dpak__err(EINVAL, "dev: NULL");
	recover_first(dev);
	for (uint32_t k = 0; k < dev->cfg.n_tables; k++) {
		struct dpak_table *t = &dev->tables[k];

		pthread_mutex_lock(&t->lock);
		if (t->n_absent) {
			uint32_t before = t->n_absent, now;
			left += now = retry_table(t, &first_err, msg, sizeof(msg));
			back += before - now;
		}
		pthread_mutex_unlock(&t->lock);
	}
	if (back)
		dpak__event_reset(dev, back, left, 1);
	if (first_err)
		dpak__err(-first_err, "%u flows still not in the device; first: %s",
			  left, msg);
	return (int)left;
}

void dpak__table_info_fill(struct dpak_table *t, struct dpak_table_info *i)
{
	const struct ci_table *d = t->decl;

	i->in_use = t->in_use;
	i->action_types = d->actions & dpak__dev_action_types(t->dev);
	i->exclusive_actions = t->dev->cfg.exclusive_actions & d->actions;
	i->max_masks = d->max_masks;
	i->masks_in_use = d->type == PK_EXACT ? (t->in_use + t->n_absent > 0) :
			  t->n_masks;
	i->not_restored = t->n_absent;
}

DPAK_API int dpak_flow_state(const struct dpak_flow *f)
{
	int st;

	if (!f)
		return dpak__err(EINVAL, "flow: NULL");
	pthread_mutex_lock(&f->table->lock);
	st = f->flags & FLOW_F_GONE ? DPAK_FLOW_REMOVED :
	     f->flags & FLOW_F_ABSENT ? DPAK_FLOW_NOT_RESTORED : DPAK_FLOW_OFFLOADED;
	pthread_mutex_unlock(&f->table->lock);
	return st;
}

DPAK_API int dpak_flow_del(struct dpak_flow *f)
{
	struct dpak_table *t;
	int err;

	if (!f)
		return dpak__err(EINVAL, "flow: NULL");
	t = f->table;
	recover_first(t->dev);
	pthread_mutex_lock(&t->lock);
	err = del_locked(t, f);
	pthread_mutex_unlock(&t->lock);
	dpak__flow_op_reset(t->dev, err);
	return err;
}

DPAK_API int dpak_table_flush(struct dpak_table *t)
{
	int n = 0, err = 0;

	if (!t)
		return dpak__err(EINVAL, "table: NULL");
	recover_first(t->dev);
	pthread_mutex_lock(&t->lock);
	while (t->head && !(err = del_locked(t, t->head)))
		n++;
	pthread_mutex_unlock(&t->lock);
	return err ? err : n;
}

static int replace_once(struct dpak_table *t, struct dpak_flow *f,
			const struct packed *pk_in, int again);

DPAK_API int dpak_flow_replace_actions(struct dpak_flow *f,
				       const struct dpak_action *actions)
{
	struct dpak_table *t;
	struct dpak_dev *dev;
	struct packed pk;
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
	recover_first(dev);
	for (int attempt = 0;; attempt++) {
		err = replace_once(t, f, &pk, attempt);
		if (attempt || !dpak__flow_op_reset(dev, err))
			return err;
	}
}

/* One try of dpak_flow_replace_actions(); @again: the second, after a
 * reset cut the first. */
static int replace_once(struct dpak_table *t, struct dpak_flow *f,
			const struct packed *pk_in, int again)
{
	struct dpak_dev *dev = t->dev;
	struct packed pk = *pk_in;
	uint64_t handle;
	uint8_t *act = NULL;
	int err;

	pthread_mutex_lock(&t->lock);
	if (f->flags & FLOW_F_GONE) {
		pthread_mutex_unlock(&t->lock);
		return dpak__err(ENOENT, "flow was removed from the device by the "
				 "operator (dpak-ctl)");
	}
	if (f->flags & FLOW_F_ABSENT) {
		err = absent_err(t, f);
		pthread_mutex_unlock(&t->lock);
		return err;
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
		if (again && err == -ENETRESET)
			err = dpak__err(EIO, "table %s entry 0 of 1: the device reset "
					"twice while the actions were replaced",
					t->decl->name);
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

DPAK_API int dpak_flow_query(struct dpak_flow *f, struct dpak_flow_stats *stats)
{
	struct dpak_flow_stats s = { 0 };
	struct bk_flow_counters c;
	int err;

	if (!f)
		return dpak__err(EINVAL, "flow: NULL");
	recover_first(f->table->dev);
	for (int attempt = 0;; attempt++) {
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
		if (attempt || !dpak__flow_op_reset(f->table->dev, err))
			break;
	}
	if (err)
		return err;
	s.packets = c.packets;
	s.bytes = c.bytes;
	s.last_hit_ns = c.last_hit_ns;
	return dpak__out(stats, &s, sizeof(s), "dpak_flow_stats");
}

int dpak__flow_idle(struct dpak_flow *f, uint64_t now, uint64_t *last_hit)
{
	struct bk_flow_counters c;
	uint64_t ref;

	if (counters(f, &c))
		return 0;
	*last_hit = c.last_hit_ns;
	ref = c.last_hit_ns > f->added_ns ? c.last_hit_ns : f->added_ns;
	/* @now may predate a flow added since it was taken */
	return now >= ref && now - ref >= (uint64_t)f->idle_ms * 1000000u;
}

DPAK_API int dpak_flow_aged(struct dpak_dev *dev, struct dpak_flow **flows,
			    size_t max)
{
	uint64_t now = dpak__now_ns();
	uint32_t back = 0;
	size_t n = 0;

	if (!dev || (max && !flows))
		return dpak__err(EINVAL, "dev or flows: NULL");
	recover_first(dev);
	for (uint32_t i = 0; i < dev->cfg.n_tables && n < max; i++) {
		struct dpak_table *t = &dev->tables[i];

		pthread_mutex_lock(&t->lock);
		if (t->n_absent) { /* the polling retries what a reset lost */
			uint32_t before = t->n_absent;
			int first = 0;
			char msg[8];
			back += before - retry_table(t, &first, msg, sizeof(msg));
		}
		for (struct dpak_flow *f = t->head; f && n < max; f = f->next) {
			uint64_t last;

			if (!f->idle_ms || (f->flags & (FLOW_F_AGED | FLOW_F_GONE)))
				continue;
			if (dpak__flow_idle(f, now, &last)) {
				f->flags |= FLOW_F_AGED;
				flows[n++] = f;
			}
		}
		pthread_mutex_unlock(&t->lock);
	}
	if (back)
		dpak__event_reset(dev, back, absent_total(dev), 1);
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
