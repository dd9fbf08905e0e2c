/* SPDX-License-Identifier: MIT */
/* hwsim flow tables: see table.h for the structure and the concurrency. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "packet.h"
#include "table.h"

#define LIMBO_MAX 256
#define BFS_MAX 512
#define LOAD_ACQ(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define LOAD_RLX(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define STORE_REL(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define STORE_RLX(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, 8);
	return v;
}

/* Large arrays (buckets, entries): anonymous mappings, so that untouched
 * pages cost nothing, on transparent huge pages where the system allows,
 * so that random lookups over millions of entries miss the TLB less. */
static void *big_alloc(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	if (bytes >= (2u << 20))
		madvise(p, bytes, MADV_HUGEPAGE); /* a hint; failure is fine */
	return p;
}

static void big_free(void *p, size_t bytes)
{
	if (p)
		munmap(p, bytes);
}

/* Key equality for keys of at least 8 bytes, word by word (the last word
 * may overlap the one before). */
static inline int key_eq(const uint8_t *a, const uint8_t *b, uint32_t len)
{
	uint64_t x, y;
	uint32_t i;

	if (len < 8)
		return !memcmp(a, b, len);
	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&x, a + i, 8);
		memcpy(&y, b + i, 8);
		if (x != y)
			return 0;
	}
	if (i == len)
		return 1;
	memcpy(&x, a + len - 8, 8);
	memcpy(&y, b + len - 8, 8);
	return x == y;
}

uint64_t hw_hash_bytes(const uint8_t *k, uint32_t len)
{
	uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)len * 0xff51afd7ed558ccdull);

	while (len >= 8) {
		uint64_t v = rd64(k) * 0xbf58476d1ce4e5b9ull;
		v ^= v >> 31;
		h = (h ^ v) * 0x94d049bb133111ebull;
		k += 8;
		len -= 8;
	}
	if (len) {
		uint64_t v = 0;
		memcpy(&v, k, len);
		v *= 0xbf58476d1ce4e5b9ull;
		v ^= v >> 31;
		h = (h ^ v) * 0x94d049bb133111ebull;
	}
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 29;
	return h;
}

static inline uint16_t sig_of(uint64_t hv)
{
	return (uint16_t)(hv >> 48);
}

/* The other bucket of a key, from one of its buckets and its signature.
 * An involution (alt(alt(b)) == b), never b itself while there are two
 * buckets or more. */
static inline uint32_t alt_of(const struct hw_hash *h, uint32_t b, uint16_t sig)
{
	return (b ^ (((uint32_t)sig * 0x9e3779b1u) | 1u)) & h->mask;
}

static inline void buckets_of(const struct hw_hash *h, uint64_t hv,
			      uint32_t *b1, uint32_t *b2)
{
	*b1 = (uint32_t)hv & h->mask;
	*b2 = alt_of(h, *b1, sig_of(hv));
}

static int hash_init(struct hw_hash *h, uint32_t capacity)
{
	uint64_t want = ((uint64_t)capacity * 10 / 9) / HW_BUCKET_SLOTS + 1;
	uint64_t n = 2;

	while (n < want)
		n <<= 1;
	h->b_bytes = (size_t)n * sizeof(*h->b);
	h->b = big_alloc(h->b_bytes);
	if (!h->b)
		return -ENOMEM;
	h->mask = (uint32_t)(n - 1);
	h->chng = 0;
	return 0;
}

/* Probe one hash for @key whose hash is @hv; returns the entry or NULL. */
static struct hw_entry *hash_lookup_hv(const struct hw_table *t,
				       const struct hw_hash *h, const uint8_t *key,
				       uint64_t hv)
{
	uint16_t sig = sig_of(hv);
	uint32_t b[2];

	buckets_of(h, hv, &b[0], &b[1]);
	for (;;) {
		uint32_t c = LOAD_ACQ(&h->chng);

		for (int k = 0; k < 2; k++) {
			const struct hw_bucket *bk = &h->b[b[k]];

			for (int s = 0; s < HW_BUCKET_SLOTS; s++) {
				if (LOAD_RLX(&bk->sig[s]) != sig)
					continue;
				uint32_t i = LOAD_ACQ(&bk->idx[s]);
				if (!i)
					continue;
				struct hw_entry *e = hw_entry_at(t, i - 1);
				if (key_eq(e->data, key, t->cfg.key_bytes))
					return e;
			}
		}
		if (LOAD_ACQ(&h->chng) == c)
			return NULL;
	}
}

static struct hw_entry *hash_lookup(const struct hw_table *t,
				    const struct hw_hash *h, const uint8_t *key)
{
	return hash_lookup_hv(t, h, key, hw_hash_bytes(key, t->cfg.key_bytes));
}

void hw_table_key(const struct hw_table *t, const uint8_t *fields, uint8_t *key)
{
	memset(key, 0, t->cfg.key_bytes);
	for (uint32_t i = 0; i < t->n_gather; i++) {
		const struct hw_gather *g = &t->gather[i];
		memcpy(key + g->dst, fields + g->src, g->len);
	}
	if (t->cfg.has_key_mask) /* key fields under the table's own mask */
		for (uint32_t j = 0; j < t->cfg.key_bytes; j++)
			key[j] &= t->cfg.key_mask[j];
}

struct hw_entry *hw_table_lookup(const struct hw_table *t, const uint8_t *key)
{
	if (t->cfg.type == PK_EXACT)
		return hash_lookup(t, &t->hash, key);

	uint32_t n = LOAD_ACQ(&t->n_subs);
	uint32_t words = (t->cfg.key_bytes + 7) / 8;
	struct hw_entry *best = NULL;
	uint8_t masked[PK_MAX_KEY];

	for (uint32_t i = 0; i < n; i++) {
		const struct hw_sub *s = t->subs[i];

		if (!LOAD_ACQ(&s->refs))
			continue;
		for (uint32_t w = 0; w < words; w++) {
			uint64_t v = rd64(key + 8 * w) & rd64(s->mask + 8 * w);
			memcpy(masked + 8 * w, &v, 8);
		}
		struct hw_entry *e = hash_lookup(t, &s->hash, masked);
		if (e && (!best || e->prio < best->prio))
			best = e;
	}
	return best;
}

void hw_table_lookup_bulk(const struct hw_table *t, const uint8_t *const *keys,
			  unsigned n, struct hw_entry **out)
{
	const struct hw_hash *h = &t->hash;
	uint64_t hv[HW_LOOKUP_BULK];
	uint32_t b1[HW_LOOKUP_BULK], b2[HW_LOOKUP_BULK];
	int32_t cand[HW_LOOKUP_BULK]; /* entry index + 1 of a signature hit */

	if (t->cfg.type != PK_EXACT) {
		for (unsigned i = 0; i < n; i++)
			out[i] = hw_table_lookup(t, keys[i]);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		hv[i] = hw_hash_bytes(keys[i], t->cfg.key_bytes);
		buckets_of(h, hv[i], &b1[i], &b2[i]);
		__builtin_prefetch(&h->b[b1[i]]);
		__builtin_prefetch(&h->b[b2[i]]);
	}
	/* Both buckets: the first signature hit's entry is prefetched. */
	for (unsigned i = 0; i < n; i++) {
		uint16_t sig = sig_of(hv[i]);
		cand[i] = 0;
		for (int k = 0; k < 2 && !cand[i]; k++) {
			const struct hw_bucket *bk = &h->b[k ? b2[i] : b1[i]];
			for (int s = 0; s < HW_BUCKET_SLOTS; s++)
				if (LOAD_RLX(&bk->sig[s]) == sig) {
					uint32_t x = LOAD_ACQ(&bk->idx[s]);
					if (x) {
						cand[i] = (int32_t)x;
						__builtin_prefetch(hw_entry_at(t, x - 1));
						break;
					}
				}
		}
	}
	for (unsigned i = 0; i < n; i++) {
		struct hw_entry *e = cand[i] ? hw_entry_at(t, (uint32_t)cand[i] - 1) : NULL;
		if (e && key_eq(e->data, keys[i], t->cfg.key_bytes)) {
			out[i] = e;
			continue;
		}
		/* Rare paths (second bucket, signature collision, a move in
		 * progress): the one-key lookup, which handles them all. */
		out[i] = hash_lookup_hv(t, h, keys[i], hv[i]);
	}
}

int hw_table_init(struct hw_table *t, const struct hw_table_cfg *cfg)
{
	uint32_t off = 0;
	int err;

	memset(t, 0, sizeof(*t));
	if (cfg->key_bytes == 0 || cfg->key_bytes > PK_MAX_KEY ||
	    cfg->capacity == 0 || cfg->n_fields > PK_FIELD_MAX)
		return -EINVAL;
	t->cfg = *cfg;
	if (!t->cfg.max_masks)
		t->cfg.max_masks = HW_DEFAULT_MASKS;
	if (t->cfg.max_masks > HW_MAX_MASKS)
		return -EINVAL;
	for (uint32_t i = 0; i < cfg->n_fields; i++) {
		uint8_t f = cfg->field[i];
		if (f >= PK_FIELD_MAX)
			return -EINVAL;
		t->gather[i] = (struct hw_gather){ pk_field_off[f], (uint8_t)off,
						   pk_field_len[f] };
		off += pk_field_len[f];
	}
	if (off > cfg->key_bytes)
		return -EINVAL;
	t->n_gather = cfg->n_fields;
	t->stride = (sizeof(struct hw_entry) + cfg->key_bytes +
		     cfg->action_bytes + 7) & ~(size_t)7;
	t->n_slots = cfg->capacity + LIMBO_MAX;
	t->entries_bytes = (size_t)t->n_slots * t->stride;
	t->entries = big_alloc(t->entries_bytes);
	t->free_list = calloc(t->n_slots, sizeof(uint32_t));
	t->limbo = calloc(LIMBO_MAX, sizeof(uint32_t));
	if (!t->entries || !t->free_list || !t->limbo) {
		err = -ENOMEM;
		goto fail;
	}
	if (cfg->type == PK_EXACT && (err = hash_init(&t->hash, cfg->capacity)))
		goto fail;
	pthread_mutex_init(&t->wlock, NULL);
	return 0;
fail:
	big_free(t->entries, t->entries_bytes);
	free(t->free_list);
	free(t->limbo);
	return err;
}

void hw_table_fini(struct hw_table *t)
{
	big_free(t->hash.b, t->hash.b_bytes);
	for (uint32_t i = 0; i < t->n_subs; i++) {
		big_free(t->subs[i]->hash.b, t->subs[i]->hash.b_bytes);
		free(t->subs[i]);
	}
	big_free(t->entries, t->entries_bytes);
	free(t->free_list);
	free(t->limbo);
	pthread_mutex_destroy(&t->wlock);
}

static void reclaim(struct hw_table *t, void (*sync)(void *), void *arg)
{
	sync(arg); /* no reader still holds a limbo entry */
	for (uint32_t i = 0; i < t->n_limbo; i++)
		t->free_list[t->n_free++] = t->limbo[i];
	t->n_limbo = 0;
}

static int slot_alloc(struct hw_table *t, void (*sync)(void *), void *arg)
{
	if (!t->n_free && t->next_unused < t->n_slots)
		return (int)t->next_unused++;
	if (!t->n_free && t->n_limbo)
		reclaim(t, sync, arg);
	if (!t->n_free)
		return -ENOSPC;
	return (int)t->free_list[--t->n_free];
}

/* Entries leave through limbo; the caller's sync runs when limbo fills. */
static void slot_free(struct hw_table *t, uint32_t i, void (*sync)(void *),
		      void *arg)
{
	if (t->n_limbo == LIMBO_MAX)
		reclaim(t, sync, arg);
	t->limbo[t->n_limbo++] = i;
}

static struct hw_hash *hash_of(struct hw_table *t, const struct hw_entry *e)
{
	return t->cfg.type == PK_EXACT ? &t->hash : &t->subs[e->sub]->hash;
}

static int bucket_free_slot(const struct hw_bucket *b)
{
	for (int s = 0; s < HW_BUCKET_SLOTS; s++)
		if (!b->idx[s])
			return s;
	return -1;
}

struct node {
	uint32_t bucket;
	int parent;
	int slot;
};

/* Is @bucket already on the path from the root to node @n? A path must not
 * visit a bucket twice, or a move would overwrite an entry it relies on. */
static int on_path(const struct node *q, int n, uint32_t bucket)
{
	for (; n >= 0; n = q[n].parent)
		if (q[n].bucket == bucket)
			return 1;
	return 0;
}

/* Place entry index @idx1 (index + 1) whose hash is @hv: into a free slot of
 * one of its buckets, or make room by a breadth-first cuckoo search. */
static int hash_place(struct hw_hash *h, uint64_t hv,
		      uint32_t idx1)
{
	struct node q[BFS_MAX];
	uint16_t sig = sig_of(hv);
	uint32_t b1, b2;
	int head = 0, tail = 0, s;

	buckets_of(h, hv, &b1, &b2);
	for (int k = 0; k < 2; k++) {
		struct hw_bucket *b = &h->b[k ? b2 : b1];
		if ((s = bucket_free_slot(b)) >= 0) {
			STORE_RLX(&b->sig[s], sig);
			STORE_REL(&b->idx[s], idx1);
			return 0;
		}
	}
	q[tail++] = (struct node){ b1, -1, -1 };
	q[tail++] = (struct node){ b2, -1, -1 };
	while (head < tail) {
		int n = head++;
		struct hw_bucket *b = &h->b[q[n].bucket];

		for (int slot = 0; slot < HW_BUCKET_SLOTS; slot++) {
			uint32_t alt = alt_of(h, q[n].bucket, b->sig[slot]);
			int fs = bucket_free_slot(&h->b[alt]);

			if (fs < 0) {
				if (tail < BFS_MAX && !on_path(q, n, alt))
					q[tail++] = (struct node){ alt, n, slot };
				continue;
			}
			if (on_path(q, n, alt))
				continue;
			/* Move along the path from its end: each entry is
			 * copied to its other bucket before it leaves this
			 * one, and the change counter tells readers that
			 * raced with the move to look again. */
			int cur = n, cslot = slot;
			uint32_t dst = alt;
			int dslot = fs;
			while (cur >= 0) {
				struct hw_bucket *src = &h->b[q[cur].bucket];
				struct hw_bucket *d = &h->b[dst];
				STORE_RLX(&d->sig[dslot], src->sig[cslot]);
				STORE_REL(&d->idx[dslot], src->idx[cslot]);
				__atomic_fetch_add(&h->chng, 1, __ATOMIC_RELEASE);
				STORE_REL(&src->idx[cslot], 0);
				dst = q[cur].bucket;
				dslot = cslot;
				cslot = q[cur].slot;
				cur = q[cur].parent;
			}
			struct hw_bucket *d = &h->b[dst];
			STORE_RLX(&d->sig[dslot], sig);
			STORE_REL(&d->idx[dslot], idx1);
			return 0;
		}
	}
	return -ENOSPC;
}

/* Find the bucket slot holding @idx1; returns a pointer to it or NULL. */
static uint32_t *hash_slot_of(struct hw_table *t, struct hw_hash *h,
			      uint32_t idx1)
{
	const struct hw_entry *e = hw_entry_at(t, idx1 - 1);
	uint32_t b[2];

	b[0] = e->h32 & h->mask;
	b[1] = alt_of(h, b[0], e->sig);
	for (int k = 0; k < 2; k++)
		for (int s = 0; s < HW_BUCKET_SLOTS; s++)
			if (h->b[b[k]].idx[s] == idx1)
				return &h->b[b[k]].idx[s];
	return NULL;
}

static int sub_for_mask(struct hw_table *t, const uint8_t *mask,
			void (*sync)(void *), void *arg)
{
	uint32_t free_sub = HW_MAX_MASKS;

	for (uint32_t i = 0; i < t->n_subs; i++) {
		if (!memcmp(t->subs[i]->mask, mask, t->cfg.key_bytes))
			return (int)i;
		if (!t->subs[i]->refs && free_sub == HW_MAX_MASKS)
			free_sub = i;
	}
	if (free_sub != HW_MAX_MASKS) {
		/* Reuse an empty mask's hash; it holds no entries. Readers
		 * skip it while refs is 0, but one that saw it in use may
		 * still be reading the old mask: wait for it to move on. */
		struct hw_sub *s = t->subs[free_sub];
		sync(arg);
		memset(s->mask, 0, sizeof(s->mask));
		memcpy(s->mask, mask, t->cfg.key_bytes);
		return (int)free_sub;
	}
	if (t->n_subs == t->cfg.max_masks)
		return -ENOSPC;
	struct hw_sub *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	if (hash_init(&s->hash, t->cfg.capacity)) {
		free(s);
		return -ENOMEM;
	}
	memcpy(s->mask, mask, t->cfg.key_bytes);
	t->subs[t->n_subs] = s;
	STORE_REL(&t->n_subs, t->n_subs + 1);
	return (int)t->n_subs - 1;
}

int hw_table_insert(struct hw_table *t, const uint8_t *key,
		    const uint8_t *mask, uint32_t prio, const uint8_t *act,
		    uint32_t act_len, uint32_t *id, void (*sync)(void *),
		    void *arg)
{
	uint8_t k[PK_MAX_KEY] = { 0 };
	struct hw_hash *h;
	int sub = 0, slot, err;

	if (act_len > t->cfg.action_bytes || act_len == 0)
		return -EINVAL;
	if (t->in_use >= t->cfg.capacity)
		return -ENOSPC;
	memcpy(k, key, t->cfg.key_bytes);
	if (t->cfg.type == PK_EXACT) {
		h = &t->hash;
	} else {
		for (uint32_t i = 0; i < t->cfg.key_bytes; i++)
			k[i] &= mask[i];
		sub = sub_for_mask(t, mask, sync, arg);
		if (sub < 0)
			return sub;
		h = &t->subs[sub]->hash;
	}
	uint64_t hv = hw_hash_bytes(k, t->cfg.key_bytes);
	if (hash_lookup_hv(t, h, k, hv))
		return -EEXIST;
	slot = slot_alloc(t, sync, arg);
	if (slot < 0)
		return slot;

	struct hw_entry *e = hw_entry_at(t, (uint32_t)slot);
	memset(e, 0, t->stride);
	e->prio = prio;
	e->h32 = (uint32_t)hv;
	e->sig = sig_of(hv);
	e->act_len = (uint16_t)act_len;
	e->sub = (uint8_t)sub;
	e->live = 1;
	e->need = hw_act_need(act, act_len);
	memcpy(e->data, k, t->cfg.key_bytes);
	memcpy(e->data + t->cfg.key_bytes, act, act_len);

	err = hash_place(h, hv, (uint32_t)slot + 1);
	if (err) {
		e->live = 0;
		t->free_list[t->n_free++] = (uint32_t)slot; /* never visible */
		return err;
	}
	if (t->cfg.type != PK_EXACT) /* publishes the mask too */
		STORE_REL(&t->subs[sub]->refs, t->subs[sub]->refs + 1);
	STORE_RLX(&t->in_use, t->in_use + 1);
	*id = (uint32_t)slot;
	return 0;
}

void hw_table_prefetch_insert(const struct hw_table *t, const uint8_t *key)
{
	uint32_t b1, b2;

	if (t->cfg.type != PK_EXACT)
		return;
	buckets_of(&t->hash, hw_hash_bytes(key, t->cfg.key_bytes), &b1, &b2);
	__builtin_prefetch(&t->hash.b[b1], 1);
	__builtin_prefetch(&t->hash.b[b2], 1);
}

static void hash_clear(struct hw_hash *h)
{
	for (uint32_t b = 0; b <= h->mask; b++)
		for (int s = 0; s < HW_BUCKET_SLOTS; s++)
			if (h->b[b].idx[s])
				STORE_REL(&h->b[b].idx[s], 0);
}

uint64_t hw_table_clear(struct hw_table *t, void (*sync)(void *), void *arg)
{
	uint64_t n = t->in_use;

	if (t->cfg.type == PK_EXACT)
		hash_clear(&t->hash);
	for (uint32_t i = 0; i < t->n_subs; i++) {
		STORE_REL(&t->subs[i]->refs, 0);
		hash_clear(&t->subs[i]->hash);
	}
	sync(arg); /* no reader still holds an entry */
	for (uint32_t i = 0; i < t->next_unused; i++)
		hw_entry_at(t, i)->live = 0;
	t->next_unused = 0;
	t->n_free = 0;
	t->n_limbo = 0;
	STORE_RLX(&t->in_use, 0);
	return n;
}

int hw_table_valid(const struct hw_table *t, uint32_t id)
{
	return id < t->n_slots && id < t->next_unused &&
	       hw_entry_at(t, id)->live;
}

int hw_table_remove(struct hw_table *t, uint32_t id, void (*sync)(void *),
		    void *arg)
{
	struct hw_entry *e;
	uint32_t *slot;

	if (!hw_table_valid(t, id))
		return -ENOENT;
	e = hw_entry_at(t, id);
	slot = hash_slot_of(t, hash_of(t, e), id + 1);
	if (!slot)
		return -EIO; /* table corrupted: an entry lost its bucket */
	STORE_REL(slot, 0);
	e->live = 0;
	if (t->cfg.type != PK_EXACT) {
		struct hw_sub *s = t->subs[e->sub];
		STORE_RLX(&s->refs, s->refs - 1);
	}
	STORE_RLX(&t->in_use, t->in_use - 1);
	slot_free(t, id, sync, arg);
	return 0;
}

int hw_table_swap_actions(struct hw_table *t, uint32_t id, const uint8_t *act,
			  uint32_t act_len, uint32_t *new_id,
			  void (*sync)(void *), void *arg)
{
	struct hw_entry *old, *e;
	uint32_t *slot;
	int n;

	if (!hw_table_valid(t, id))
		return -ENOENT;
	if (act_len > t->cfg.action_bytes || act_len == 0)
		return -EINVAL;
	old = hw_entry_at(t, id);
	slot = hash_slot_of(t, hash_of(t, old), id + 1);
	if (!slot)
		return -EIO;
	n = slot_alloc(t, sync, arg);
	if (n < 0)
		return n;
	e = hw_entry_at(t, (uint32_t)n);
	memset(e, 0, t->stride);
	e->prio = old->prio;
	e->h32 = old->h32;
	e->sig = old->sig;
	e->sub = old->sub;
	e->act_len = (uint16_t)act_len;
	e->live = 1;
	e->need = hw_act_need(act, act_len);
	memcpy(e->data, old->data, t->cfg.key_bytes);
	memcpy(e->data + t->cfg.key_bytes, act, act_len);
	/* One store moves every later lookup to the new actions. */
	STORE_REL(slot, (uint32_t)n + 1);
	old->live = 0;
	/* Once no reader can still be counting into the old entry, carry
	 * its counters over. */
	sync(arg);
	e->carry_packets = old->carry_packets + LOAD_RLX(&old->packets);
	e->carry_bytes = old->carry_bytes + LOAD_RLX(&old->bytes);
	if (LOAD_RLX(&old->last_hit_ns) > LOAD_RLX(&e->last_hit_ns))
		__atomic_compare_exchange_n(&e->last_hit_ns, &(uint64_t){ 0 },
					    old->last_hit_ns, 0,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED);
	t->free_list[t->n_free++] = id; /* readers have moved on */
	*new_id = (uint32_t)n;
	return 0;
}

int hw_table_carry(struct hw_table *t, uint32_t id, uint64_t packets,
		   uint64_t bytes, uint64_t last_hit_ns)
{
	struct hw_entry *e;
	uint64_t cur;

	if (!hw_table_valid(t, id))
		return -ENOENT;
	e = hw_entry_at(t, id);
	e->carry_packets += packets;
	e->carry_bytes += bytes;
	/* The pipeline may store a newer hit meanwhile: never go back. */
	cur = LOAD_RLX(&e->last_hit_ns);
	while (cur < last_hit_ns &&
	       !__atomic_compare_exchange_n(&e->last_hit_ns, &cur, last_hit_ns, 0,
					    __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
	return 0;
}
