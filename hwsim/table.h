/* SPDX-License-Identifier: MIT */
/*
 * hwsim flow tables.
 *
 * Exact tables: a two-choice cuckoo hash of 8-slot buckets (one 64-byte
 * cache line: 8 signatures and 8 entry indices), pointing into an array of
 * fixed-size entries (counters, key, action block). A lookup reads one
 * bucket line and, when a signature matches, one entry line. A key's second
 * bucket derives from its first and its signature (partial-key cuckoo), so
 * moving an entry needs no rehash of its key.
 *
 * Wildcard and LPM tables: tuple-space search. Each distinct mask has its
 * own cuckoo hash of masked keys; a lookup probes every mask and keeps the
 * hit with the best (lowest) priority. LPM entries get priority from their
 * prefix length. A table holds at most cfg.max_masks distinct masks (an
 * LPM table: one per prefix length of its prefix field, 129 for IPv6).
 *
 * Concurrency: one writer at a time per table (its mutex); the pipeline
 * reads without locks. Entry slots are never reused while a reader may
 * still see them (quiescent-state reclamation, see hw_sync()); cuckoo moves
 * copy before they remove and bump a change counter, so a reader that
 * missed during a move looks again.
 */
#ifndef HWSIM_TABLE_H
#define HWSIM_TABLE_H

#include <pthread.h>
#include <stdint.h>
#include "hwsim.h"

#define HW_BUCKET_SLOTS 8
#define HW_MAX_MASKS 256      /* distinct masks a table may be given */
#define HW_DEFAULT_MASKS 64

struct hw_bucket {
	uint16_t sig[HW_BUCKET_SLOTS];
	uint32_t idx[HW_BUCKET_SLOTS]; /* entry index + 1; 0 = empty */
	uint8_t pad[16];
} __attribute__((aligned(64)));

struct hw_hash {
	struct hw_bucket *b;
	size_t b_bytes;
	uint32_t mask;           /* buckets - 1 */
	uint32_t chng;           /* bumped by every cuckoo move (atomic) */
};

struct hw_entry {
	/* Written by the pipeline only (one writer). */
	uint64_t packets, bytes, last_hit_ns;
	/* Written by the control side only: what earlier incarnations of this
	 * flow counted before an atomic action replace moved it here. */
	uint64_t carry_packets, carry_bytes;
	uint32_t prio;
	uint32_t h32;   /* low bits of the key's hash: its first bucket */
	uint16_t sig;   /* the key's signature (high bits of the hash) */
	uint16_t act_len;
	uint8_t sub;    /* wildcard/LPM: index of its mask (< HW_MAX_MASKS) */
	uint8_t live;   /* 1 from insert until remove */
	uint16_t need;  /* layers the actions need (hw_act_need, packet.h) */
	uint8_t data[]; /* key[key_bytes], then actions[action_bytes] */
};

struct hw_sub {
	uint8_t mask[PK_MAX_KEY];
	uint32_t refs;
	struct hw_hash hash;
};

struct hw_gather {
	uint8_t src, dst, len; /* field vector offset, key offset, width */
};

struct hw_table {
	struct hw_table_cfg cfg;
	uint32_t n_gather;
	struct hw_gather gather[PK_FIELD_MAX];

	uint8_t *entries;   /* n_slots entries of stride bytes */
	size_t entries_bytes;
	size_t stride;
	uint32_t n_slots;
	uint32_t next_unused;      /* slots never used start here */
	uint32_t *free_list, n_free;
	uint32_t *limbo, n_limbo;  /* freed, waiting for readers to move on */
	uint32_t in_use;           /* atomic: read by other threads */

	pthread_mutex_t wlock;     /* writers only */

	struct hw_hash hash;               /* exact */
	struct hw_sub *subs[HW_MAX_MASKS]; /* wildcard/LPM */
	uint32_t n_subs;                   /* published with release */
};

static inline struct hw_entry *hw_entry_at(const struct hw_table *t,
					   uint32_t i)
{
	return (struct hw_entry *)(t->entries + (size_t)i * t->stride);
}

static inline const uint8_t *hw_entry_key(const struct hw_entry *e)
{
	return e->data;
}

static inline const uint8_t *hw_entry_actions(const struct hw_table *t,
					      const struct hw_entry *e)
{
	return e->data + t->cfg.key_bytes;
}

int hw_table_init(struct hw_table *t, const struct hw_table_cfg *cfg);
void hw_table_fini(struct hw_table *t);

/* Build a table's key from a packet's field vector. */
void hw_table_key(const struct hw_table *t, const uint8_t *fields,
		  uint8_t *key);
/* Find the entry for a key; NULL on a miss. Lock-free. */
struct hw_entry *hw_table_lookup(const struct hw_table *t, const uint8_t *key);
/* The same for @n keys (at most HW_LOOKUP_BULK) at once: hashes first,
 * then the buckets of all of them prefetched, then the entries, so the
 * memory latencies overlap. */
#define HW_LOOKUP_BULK 64
void hw_table_lookup_bulk(const struct hw_table *t, const uint8_t *const *keys,
			  unsigned n, struct hw_entry **out);

/* Writer side (the caller holds t->wlock; @sync waits for readers). */
int hw_table_insert(struct hw_table *t, const uint8_t *key,
		    const uint8_t *mask, uint32_t prio, const uint8_t *act,
		    uint32_t act_len, uint32_t *id, void (*sync)(void *),
		    void *sync_arg);
/* Warm the cache lines an insert of @key will touch (its buckets). */
void hw_table_prefetch_insert(const struct hw_table *t, const uint8_t *key);
int hw_table_remove(struct hw_table *t, uint32_t id, void (*sync)(void *),
		    void *sync_arg);
int hw_table_swap_actions(struct hw_table *t, uint32_t id, const uint8_t *act,
			  uint32_t act_len, uint32_t *new_id,
			  void (*sync)(void *), void *sync_arg);
/* Remove every entry (a device reset); returns how many there were. */
uint64_t hw_table_clear(struct hw_table *t, void (*sync)(void *), void *sync_arg);
/* Continue a live entry's counters from earlier ones (a flow restored
 * after a reset): add @packets and @bytes, and take @last_hit_ns if it is
 * later than the entry's own last hit. */
int hw_table_carry(struct hw_table *t, uint32_t id, uint64_t packets,
		   uint64_t bytes, uint64_t last_hit_ns);
/* Is @id a live entry? */
int hw_table_valid(const struct hw_table *t, uint32_t id);

uint64_t hw_hash_bytes(const uint8_t *key, uint32_t len);

#endif
