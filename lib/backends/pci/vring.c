/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues, driver and device sides (vring.h).
 *
 * Ordering: the driver writes descriptors and avail ring entries, then
 * stores avail->idx with release; the device loads avail->idx with
 * acquire before reading what it covers. The device writes used entries
 * and the data into writable buffers, then stores used->idx with release;
 * the driver loads it with acquire. Memory the other side may write
 * concurrently (it may be hostile) is read once into locals, field by
 * field, and only the locals are used.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "vring.h"

#define LD(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define ST(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)

/* ---- driver side ---------------------------------------------------- */

static void drv_clear(struct vring_drv *d)
{
	uint32_t n = d->vr.size;

	memset(d->vr.desc, 0, vring_desc_bytes(n));
	memset(d->vr.avail, 0, vring_avail_bytes(n));
	memset(d->vr.used, 0, vring_used_bytes(n));
	for (uint32_t i = 0; i < n; i++)
		d->next[i] = (uint16_t)(i + 1 < n ? i + 1 : 0);
	memset(d->chain_len, 0, n * sizeof(*d->chain_len));
	d->free_head = 0;
	d->num_free = (uint16_t)(n == 65536 ? 0 : n); /* n <= 32768 */
	ST(&d->avail_idx, 0);
	ST(&d->last_used, 0);
	ST(&d->inflight, 0);
	d->broken = 0;
}

int vring_drv_init(struct vring_drv *d, uint32_t size, void *desc, void *avail,
		   void *used)
{
	memset(d, 0, sizeof(*d));
	if (!vring_size_ok(size) || !desc || !avail || !used)
		return -EINVAL;
	d->vr.size = size;
	d->vr.desc = desc;
	d->vr.avail = avail;
	d->vr.used = used;
	d->next = calloc(size, sizeof(*d->next));
	d->chain_len = calloc(size, sizeof(*d->chain_len));
	d->token = calloc(size, sizeof(*d->token));
	if (!d->next || !d->chain_len || !d->token) {
		vring_drv_fini(d);
		return -ENOMEM;
	}
	drv_clear(d);
	return 0;
}

void vring_drv_fini(struct vring_drv *d)
{
	free(d->next);
	free(d->chain_len);
	free(d->token);
	d->next = d->chain_len = NULL;
	d->token = NULL;
}

void vring_drv_reset(struct vring_drv *d, void (*cb)(void *ctx, uint32_t token),
		     void *ctx)
{
	if (cb)
		for (uint32_t i = 0; i < d->vr.size; i++)
			if (d->chain_len[i])
				cb(ctx, d->token[i]);
	drv_clear(d);
}

int vring_drv_add(struct vring_drv *d, const struct vring_seg *seg, unsigned n,
		  uint32_t token)
{
	uint16_t head = d->free_head, i = head;

	if (!n || n > d->vr.size)
		return -EINVAL;
	if (n > d->num_free)
		return -ENOSPC;
	for (unsigned k = 0; k < n; k++) {
		struct devif_vring_desc *ds = &d->vr.desc[i];
		uint16_t nx = d->next[i];

		ds->addr = seg[k].addr;
		ds->len = seg[k].len;
		ds->flags = (uint16_t)((seg[k].write ? VRING_DESC_F_WRITE : 0) |
				       (k + 1 < n ? VRING_DESC_F_NEXT : 0));
		ds->next = k + 1 < n ? nx : 0;
		if (k + 1 < n)
			i = nx;
		else
			d->free_head = nx;
	}
	d->num_free = (uint16_t)(d->num_free - n);
	d->chain_len[head] = (uint16_t)n;
	d->token[head] = token;
	ST(&d->vr.avail->ring[d->avail_idx & (d->vr.size - 1)], head);
	ST(&d->avail_idx, (uint16_t)(d->avail_idx + 1));
	ST(&d->inflight, d->inflight + 1);
	return head;
}

uint16_t vring_drv_publish(struct vring_drv *d)
{
	__atomic_store_n(&d->vr.avail->idx, d->avail_idx, __ATOMIC_RELEASE);
	return d->avail_idx;
}

int vring_drv_reap(struct vring_drv *d, uint32_t *token, uint32_t *len)
{
	uint16_t uidx, id16;
	uint32_t id, l, n, i;

	if (d->broken)
		return 0;
	uidx = __atomic_load_n(&d->vr.used->idx, __ATOMIC_ACQUIRE);
	if (uidx == d->last_used)
		return 0;
	if ((uint16_t)(uidx - d->last_used) > d->vr.size) {
		d->broken = 1;
		return -EPROTO;
	}
	{
		struct devif_vring_used_elem *e =
			&d->vr.used->ring[d->last_used & (d->vr.size - 1)];
		id = LD(&e->id);
		l = LD(&e->len);
	}
	ST(&d->last_used, (uint16_t)(d->last_used + 1));
	if (id >= d->vr.size || !d->chain_len[id])
		return -EBADMSG;
	id16 = (uint16_t)id;
	n = d->chain_len[id16];
	for (i = id16; --n; )
		i = d->next[i];
	d->next[i] = d->free_head;
	d->free_head = id16;
	d->num_free = (uint16_t)(d->num_free + d->chain_len[id16]);
	d->chain_len[id16] = 0;
	ST(&d->inflight, d->inflight - 1);
	*token = d->token[id16];
	*len = l;
	return 1;
}

/* ---- device side ---------------------------------------------------- */

void *vring_window_map(void *window, uint64_t iova, size_t len)
{
	const struct vring_window *w = window;
	uint64_t off;

	if (iova < w->iova)
		return NULL;
	off = iova - w->iova;
	if (off > w->len || len > w->len - off)
		return NULL;
	return w->base + off;
}

int vring_dev_init(struct vring_dev *d, const struct vring_xlate *x, uint32_t size,
		   uint64_t desc, uint64_t avail, uint64_t used, int event_idx)
{
	void *pd, *pa, *pu;

	memset(d, 0, sizeof(*d));
	if (!vring_size_ok(size) || desc % VRING_DESC_ALIGN ||
	    avail % VRING_AVAIL_ALIGN || used % VRING_USED_ALIGN)
		return -EINVAL;
	pd = x->map(x->ctx, desc, vring_desc_bytes(size));
	pa = x->map(x->ctx, avail, vring_avail_bytes(size));
	pu = x->map(x->ctx, used, vring_used_bytes(size));
	if (!pd || !pa || !pu)
		return -EFAULT;
	d->vr.size = size;
	d->vr.desc = pd;
	d->vr.avail = pa;
	d->vr.used = pu;
	d->x = x;
	d->event_idx = !!event_idx;
	return 0;
}

int vring_dev_avail(struct vring_dev *d)
{
	uint16_t a, n;

	if (d->broken || !d->vr.size)
		return 0;
	a = __atomic_load_n(&d->vr.avail->idx, __ATOMIC_ACQUIRE);
	n = (uint16_t)(a - d->last_avail);
	if (n > d->vr.size) {
		d->broken = 1;
		return -EPROTO;
	}
	return n;
}

uint16_t vring_dev_head(const struct vring_dev *d, unsigned i)
{
	return LD(&d->vr.avail->ring[(uint16_t)(d->last_avail + i) & (d->vr.size - 1)]);
}

void vring_dev_take(struct vring_dev *d, unsigned n)
{
	d->last_avail = (uint16_t)(d->last_avail + n);
	if (d->event_idx)
		ST((uint16_t *)&d->vr.used->ring[d->vr.size], d->last_avail);
}

/* A walk along a chain, every step checked. Inside an indirect table
 * (tab != NULL) indices are the table's; count bounds the ring's
 * descriptors by the ring's size, tab_count the table's by its length
 * (at most VRING_MAX_SIZE entries). */
struct walk {
	const struct vring_dev *d;
	uint32_t i, count;
	int more;
	const uint8_t *tab;
	uint32_t tab_n, tab_count;
};

static int walk_next(struct walk *w, uint8_t **p, uint32_t *len, int *write)
{
	struct devif_vring_desc ds;
	const struct devif_vring_desc *rd;
	uint16_t flags;

again:
	if (!w->more)
		return 0;
	if (w->tab) {
		if (w->i >= w->tab_n)
			return -EINVAL;
		if (++w->tab_count > w->tab_n)
			return -ELOOP;
	} else {
		if (w->i >= w->d->vr.size)
			return -EINVAL;
		if (++w->count > w->d->vr.size)
			return -ELOOP;
	}
	if (w->tab) {
		/* The table needs no alignment: copy the entry, each field once. */
		memcpy(&ds, w->tab + (size_t)w->i * sizeof(ds), sizeof(ds));
	} else {
		rd = &w->d->vr.desc[w->i];
		ds.addr = LD(&rd->addr);
		ds.len = LD(&rd->len);
		ds.flags = LD(&rd->flags);
		ds.next = LD(&rd->next);
	}
	flags = ds.flags;
	if (flags & ~(VRING_DESC_F_NEXT | VRING_DESC_F_WRITE | VRING_DESC_F_INDIRECT))
		return -EINVAL;
	if (flags & VRING_DESC_F_INDIRECT) {
		/* Not opted in, nested, chained on, or a length that is not
		 * a whole non-empty table. WRITE on it is ignored (2.7.5.3.2). */
		if (!w->d->indirect || w->tab || (flags & VRING_DESC_F_NEXT) ||
		    !ds.len || ds.len % sizeof(struct devif_vring_desc) ||
		    ds.len / sizeof(struct devif_vring_desc) > VRING_MAX_SIZE)
			return -EINVAL;
		w->tab = w->d->x->map(w->d->x->ctx, ds.addr, ds.len);
		if (!w->tab)
			return -EFAULT;
		w->tab_n = ds.len / (uint32_t)sizeof(struct devif_vring_desc);
		w->tab_count = 0;
		w->i = 0;
		w->more = 1;
		goto again;
	}
	*len = ds.len;
	*p = w->d->x->map(w->d->x->ctx, ds.addr, *len);
	if (!*p)
		return -EFAULT;
	*write = !!(flags & VRING_DESC_F_WRITE);
	w->more = !!(flags & VRING_DESC_F_NEXT);
	w->i = ds.next;
	return 1;
}

long vring_dev_read(const struct vring_dev *d, uint16_t head,
		    const struct vring_iov *dst, unsigned ndst)
{
	struct walk w = { .d = d, .i = head, .more = 1 };
	unsigned k = 0;
	size_t off = 0;
	long total = 0;
	uint8_t *p;
	uint32_t len;
	int wr, rc;

	while ((rc = walk_next(&w, &p, &len, &wr)) > 0) {
		if (wr)
			return -EINVAL;
		while (len) {
			size_t c;

			while (k < ndst && off == dst[k].len) {
				k++;
				off = 0;
			}
			if (k == ndst)
				return -EMSGSIZE;
			c = dst[k].len - off < len ? dst[k].len - off : len;
			memcpy((uint8_t *)dst[k].p + off, p, c);
			off += c;
			p += c;
			len -= (uint32_t)c;
			total += (long)c;
		}
	}
	return rc < 0 ? rc : total;
}

long vring_dev_room(const struct vring_dev *d, uint16_t head)
{
	struct walk w = { .d = d, .i = head, .more = 1 };
	long total = 0;
	int seen_write = 0, wr, rc;
	uint8_t *p;
	uint32_t len;

	while ((rc = walk_next(&w, &p, &len, &wr)) > 0) {
		if (wr) {
			seen_write = 1;
			total += len;
		} else if (seen_write) {
			return -EINVAL;
		}
	}
	return rc < 0 ? rc : total;
}

long vring_dev_write(const struct vring_dev *d, uint16_t head,
		     const struct vring_iov *src, unsigned nsrc)
{
	struct walk w = { .d = d, .i = head, .more = 1 };
	size_t want = 0, off = 0;
	long room = vring_dev_room(d, head), total = 0;
	unsigned k = 0;
	uint8_t *p;
	uint32_t len;
	int wr, rc = 0;

	for (unsigned j = 0; j < nsrc; j++)
		want += src[j].len;
	if (room < 0)
		return room;
	if ((size_t)room < want)
		return -EMSGSIZE;
	while ((size_t)total < want && (rc = walk_next(&w, &p, &len, &wr)) > 0) {
		if (!wr)
			continue;
		while (len && (size_t)total < want) {
			size_t c;

			while (off == src[k].len) {
				k++;
				off = 0;
			}
			c = src[k].len - off < len ? src[k].len - off : len;
			memcpy(p, (const uint8_t *)src[k].p + off, c);
			off += c;
			p += c;
			len -= (uint32_t)c;
			total += (long)c;
		}
	}
	if ((size_t)total < want) /* the chain changed under the device */
		return rc < 0 ? rc : -EINVAL;
	return total;
}

void vring_dev_put(struct vring_dev *d, uint16_t head, uint32_t len)
{
	struct devif_vring_used_elem *e = &d->vr.used->ring[d->used_idx & (d->vr.size - 1)];

	ST(&e->id, (uint32_t)head);
	ST(&e->len, len);
	d->used_idx++;
}

void vring_dev_publish(struct vring_dev *d)
{
	__atomic_store_n(&d->vr.used->idx, d->used_idx, __ATOMIC_RELEASE);
}
