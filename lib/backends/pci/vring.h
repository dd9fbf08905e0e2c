/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.2 section 2.7), both sides: the driver side
 * that owns a ring's memory, posts descriptor chains and reaps used
 * entries, and the device side that reads chains through an address
 * translator and returns them used. The host queues of
 * docs/device-interface.md section 11 use both (the pci backend and
 * hwsim's device front end); a vhost-user device can reuse the device
 * side with a translator of its own.
 *
 * The layout is that of devif.h (struct devif_vring_desc, struct
 * devif_vring_used_elem, DEVIF_VRING_*_BYTES). Indices in shared memory
 * are read with acquire and published with release ordering; nothing the
 * other side wrote is trusted: every index, length and address is checked
 * before use. No function allocates except vring_drv_init.
 *
 * One thread per ring and side at a time.
 */
#ifndef DPAK_PCI_VRING_H
#define DPAK_PCI_VRING_H

#include <stddef.h>
#include <stdint.h>
#include "devif.h"

#define VRING_MAX_SIZE 32768u

/* The three areas of a split ring, in the memory of the side using it. */
struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* [size], then u16 used_event */
};
struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct devif_vring_used_elem ring[]; /* [size], then u16 avail_event */
};
struct vring {
	uint32_t size;                  /* power of two, 1 .. VRING_MAX_SIZE */
	struct devif_vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
};

/* Bytes and alignment of each area for @size entries. */
#define VRING_DESC_ALIGN  16u
#define VRING_AVAIL_ALIGN 2u
#define VRING_USED_ALIGN  4u
static inline size_t vring_desc_bytes(uint32_t size)
{
	return (size_t)size * sizeof(struct devif_vring_desc);
}
static inline size_t vring_avail_bytes(uint32_t size)
{
	return DEVIF_VRING_AVAIL_BYTES((size_t)size);
}
static inline size_t vring_used_bytes(uint32_t size)
{
	return DEVIF_VRING_USED_BYTES((size_t)size);
}
static inline int vring_size_ok(uint32_t size)
{
	return size && size <= VRING_MAX_SIZE && !(size & (size - 1));
}

/* ---- driver side ---------------------------------------------------- */

/* One buffer of a chain: bus address, length, device-writable or not. */
struct vring_seg {
	uint64_t addr;
	uint32_t len;
	int write;
};

struct vring_drv {
	struct vring vr;
	uint16_t free_head;   /* first free descriptor */
	uint16_t num_free;    /* free descriptors */
	uint16_t avail_idx;   /* next avail idx to publish */
	uint16_t last_used;   /* next used entry to reap */
	uint32_t inflight;    /* chains posted, not reaped */
	int broken;           /* the device's used idx ran ahead of the ring */
	/* Private shadows in ordinary memory: the device cannot change them. */
	uint16_t *next;       /* [size]: free list / chain links */
	uint16_t *chain_len;  /* [size]: descriptors in the chain at a head; 0 free */
	uint32_t *token;      /* [size]: the caller's token of a chain's head */
};

/* Lay out a ring of @size entries at @desc/@avail/@used (zeroed here) and
 * allocate the private shadows. -EINVAL for a bad size, -ENOMEM. */
int vring_drv_init(struct vring_drv *d, uint32_t size, void *desc, void *avail,
		   void *used);
void vring_drv_fini(struct vring_drv *d);
/* Forget every chain: @cb (may be NULL) gets each posted chain's token;
 * the ring's memory is zeroed and indices restart at 0. */
void vring_drv_reset(struct vring_drv *d, void (*cb)(void *ctx, uint32_t token),
		     void *ctx);
/* Add a chain of @n segments (not yet visible to the device): returns the
 * head's descriptor index, -ENOSPC when fewer than @n descriptors are free,
 * -EINVAL for @n 0 or above the ring size. */
int vring_drv_add(struct vring_drv *d, const struct vring_seg *seg, unsigned n,
		  uint32_t token);
/* Publish the chains added (release): returns the avail idx, the value to
 * write to the ring's doorbell. */
uint16_t vring_drv_publish(struct vring_drv *d);
/* Reap one used entry: 1 with *token and *len (the bytes the device says
 * it wrote, unchecked), 0 when none, -EBADMSG for an entry whose id is out
 * of range or not a posted chain's head (the entry is skipped), -EPROTO
 * when the used idx ran more than the ring's size ahead (the ring is
 * broken until reset; reported once, then 0). */
int vring_drv_reap(struct vring_drv *d, uint32_t *token, uint32_t *len);
/* Descriptors free now. */
static inline unsigned vring_drv_free(const struct vring_drv *d)
{
	return d->num_free;
}

/* ---- device side ---------------------------------------------------- */

/* Bus address to pointer: NULL unless all of [iova, iova + len) is inside
 * memory the device may reach. */
struct vring_xlate {
	void *(*map)(void *ctx, uint64_t iova, size_t len);
	void *ctx;
};

/* A translator for one contiguous window (base is bus address iova). */
struct vring_window {
	uint8_t *base;
	uint64_t iova;
	size_t len;
};
void *vring_window_map(void *window, uint64_t iova, size_t len);

struct vring_dev {
	struct vring vr;
	const struct vring_xlate *x;
	uint16_t last_avail;  /* next avail entry to take */
	uint16_t used_idx;    /* next used entry to write */
	int event_idx;        /* write avail_event after taking entries */
	int indirect;         /* walk indirect tables (off: refuse them) */
	int broken;           /* the driver's avail idx ran ahead of the ring */
};

/* Map a ring the driver set up (addresses are bus addresses): -EINVAL for
 * a bad size or misaligned area, -EFAULT for an area outside what @x maps.
 * The device's indices start at 0. */
int vring_dev_init(struct vring_dev *d, const struct vring_xlate *x, uint32_t size,
		   uint64_t desc, uint64_t avail, uint64_t used, int event_idx);
/* Accept indirect descriptors (virtio 1.2 section 2.7.5.3) in the chains
 * of @d, for a device that negotiated VIRTIO_RING_F_INDIRECT_DESC; off
 * after vring_dev_init. An indirect descriptor must not have NEXT set, its
 * len must be a non-zero multiple of 16 (at most VRING_MAX_SIZE
 * descriptors) and its whole table inside what the translator maps; the
 * table's descriptors chain by NEXT within the table and none may be
 * indirect itself. The ring's descriptors visited are bounded by the
 * ring's size, the table's by the table's length. */
static inline void vring_dev_set_indirect(struct vring_dev *d, int on)
{
	d->indirect = !!on;
}
/* Chains the driver made available and not yet taken (avail idx read with
 * acquire); -EPROTO if that is more than the ring's size (the ring is
 * broken: reported once, then 0 until re-initialised). */
int vring_dev_avail(struct vring_dev *d);
/* The head of the @i-th available chain not yet taken (i < the count
 * vring_dev_avail returned), unchecked. */
uint16_t vring_dev_head(const struct vring_dev *d, unsigned i);
/* Take @n chains (after their heads were read and handled). */
void vring_dev_take(struct vring_dev *d, unsigned n);

/* A list of memory pieces for the copies below. */
struct vring_iov {
	void *p;
	size_t len;
};
/* Copy the device-readable bytes of the chain at @head into @dst (filled
 * in order): returns the bytes copied, or -EINVAL (head or a next index
 * out of range, a device-writable descriptor, an unknown flag, an
 * indirect descriptor on a ring that did not opt in, with NEXT set, with
 * a len 0, not a multiple of 16 or above VRING_MAX_SIZE descriptors, or
 * inside a table), -EFAULT (an
 * address or indirect table outside the translator's memory), -ELOOP
 * (more descriptors than the ring has, or than an indirect table holds),
 * -EMSGSIZE (more bytes than @dst holds). */
long vring_dev_read(const struct vring_dev *d, uint16_t head,
		    const struct vring_iov *dst, unsigned ndst);
/* The bytes the device-writable descriptors of the chain at @head hold,
 * or the errors of vring_dev_read (a readable descriptor after a writable
 * one is -EINVAL). */
long vring_dev_room(const struct vring_dev *d, uint16_t head);
/* Copy @src (in order) into the chain's writable descriptors: returns the
 * bytes written, or the errors above; -EMSGSIZE (nothing written) when the
 * chain holds fewer bytes than @src. */
long vring_dev_write(const struct vring_dev *d, uint16_t head,
		     const struct vring_iov *src, unsigned nsrc);
/* Return the chain at @head used with @len bytes written (not yet visible
 * to the driver). */
void vring_dev_put(struct vring_dev *d, uint16_t head, uint32_t len);
/* Publish the used entries put (release). */
void vring_dev_publish(struct vring_dev *d);

#endif
