/* SPDX-License-Identifier: MIT */
/*
 * The pci driver's own state, shared by its files:
 *   drv_aq.c      the admin queue (submit, wait, completion checks), the
 *                 event queue, status codes to errno;
 *   drv_dev.c     bring-up, version agreement, reset and recovery;
 *   pci_backend.c the backend ops over commands.
 *
 * One mutex (lock) serialises the admin queue and everything set up
 * through it; the data path (drv_hostq) never takes it.
 */
#ifndef DPAK_PCI_DRV_H
#define DPAK_PCI_DRV_H

#include <pthread.h>
#include <stdint.h>
#include "backend.h"
#include "configinfo.h"
#include "devif.h"
#include "discover.h"
#include "drv_hostq.h"
#include "transport.h"

/* Handles given to the core: the reset generation that made them in bits
 * 63:48 (never 0), and in bits 31:0 one more than the slot of the
 * driver's per-table array holding the device's own handle (opaque, any
 * 64-bit value but 0). After a reset, the handles of earlier generations
 * name nothing in the device and the arrays start empty. */
#define PCI_H_SHIFT 48
#define PCI_H_MASK 0xFFFFFFFFull

struct pci_slots {
	uint64_t *h;        /* device handles; 0: a free slot */
	uint32_t *free;     /* free slots, a stack */
	uint32_t n, cap, n_free;
	/* The counters last read of each slot's entry (cap of them), and
	 * those of the generation before the last reset (n_prev, gen
	 * prev_gen): counters read never go back (12.4). */
	struct bk_flow_counters *last, *prev;
	uint32_t n_prev;
	uint16_t prev_gen;
};

enum pci_state {
	PCI_UP,        /* answering */
	PCI_GONE,      /* BAR0 reads all ones: every call ENODEV, for good */
	PCI_DEAD,      /* did not come back from a reset: EIO; retried */
};

#define PCI_AQ_SIZE 64u
#define PCI_EQ_SIZE 256u
#define PCI_BUF_MAX (1u << 20)
#define PCI_MAX_BONDS 32u
#define PCI_MAX_MEMBERS 16u

struct pci_bond {
	int used;
	uint32_t port;
	uint8_t mode, hash, lacp_lib, failback;
	uint32_t n;
	struct { uint32_t port; int enabled; } m[PCI_MAX_MEMBERS];
};

struct pci_drv {
	struct pci_transport *t;
	char bdf[16];
	const struct ci_config *cfg;
	struct bk_open_cfg oc;
	uint32_t timeout_ms;        /* devspec timeout_ms=: caps every wait; 0 none */
	pthread_mutex_t lock;       /* the admin queue and all below it */

	int state;                  /* enum pci_state; read without the lock */
	uint16_t gen;               /* reset generation, 1 .. 0xFFFF */
	int recovering;             /* inside a reset and bring-up */
	int restore_pending;        /* the core has flows to add back */
	int conn_gone;              /* the front end's connection closed */
	uint32_t reset_waited_ms;   /* how long the failed recovery waited */
	uint64_t lost_pending;      /* entries the device lost meanwhile */
	uint32_t reset_count;       /* RESET_COUNT last seen */
	uint64_t dead_since_ns;     /* PCI_DEAD: when the last reset failed */
	uint32_t n_entries[CI_MAX_TABLES]; /* entries the device holds */
	struct pci_slots slots[CI_MAX_TABLES];

	/* Agreed at bring-up. */
	uint32_t if_minor, features;
	uint64_t cap_items, cap_actions, cap_exclusive;
	uint32_t cap_tables, cap_fields;
	uint32_t key_sizes[8], n_key_sizes;
	uint32_t max_action_bytes, max_tables, max_exact_tables, max_entries,
		 max_masks, max_priorities, max_push_bytes, n_ports, max_bonds,
		 max_bond_members, max_host_queues, max_queue_size, mtu_min,
		 mtu_max, max_frame, max_cmd_data, max_aq_size, max_eq_size;
	struct devif_port_entry port[DEVIF_MAX_PORTS];
	int64_t time_offset;        /* host_ns = dev_ns + time_offset */

	/* DMA window carving. */
	struct devif_sqe *sq;
	struct devif_cqe *cq;
	struct devif_event *eq;
	uint8_t *buf;               /* the one command data buffer */
	uint64_t sq_iova, cq_iova, eq_iova, buf_iova;
	size_t buf_len;
	uint32_t aq_size, eq_size;
	uint32_t sq_tail, cq_head, eq_head;
	uint8_t cq_phase, eq_phase;
	uint16_t sq_head;           /* the device's head after our last completion */
	uint16_t next_cid;
	int ev_seq_valid;
	uint16_t ev_seq;

	/* Host queues (drv_hostq.c, the data path). While a recovery resets
	 * the rings, dp_block turns the data-path ops away (rx and tx take
	 * nothing, pkt_alloc gives NULL) and the reset waits for the calls
	 * inside (dp_inflight): two atomics per burst, no lock. */
	struct drv_hostq *hq;
	uint32_t n_queues;
	int dp_block;
	uint32_t dp_inflight;

	/* What the device loses in a reset and the driver puts back. */
	uint16_t q_first[DEVIF_MAX_PORTS], q_n[DEVIF_MAX_PORTS];
	uint16_t mtu_set[DEVIF_MAX_PORTS];       /* 0: never set */
	struct pci_bond bonds[PCI_MAX_BONDS];

	/* WIRE_CAPTURE takes a frame out of the device: one a caller's buffer
	 * was too small for waits here, per port. */
	uint8_t *stash[DEVIF_MAX_PORTS];
	uint32_t stash_len[DEVIF_MAX_PORTS];

	/* Port counts from before resets that zeroed the device's (added to
	 * what it reports, so a port's counters never go back). */
	struct devif_port_stats_rec port_base[DEVIF_MAX_PORTS];
	struct devif_port_stats_rec port_last[DEVIF_MAX_PORTS]; /* last read */

	/* Counters for dpak-ctl and the tests. */
	uint64_t bad_completions, bad_events, unknown_events, timeouts, resets,
		 self_resets, lost_events;
};

/* --- drv_aq.c ------------------------------------------------------------ */

/* What a completion must agree with (section 12.3). */
struct pci_cq_expect {
	uint16_t cid;           /* the oldest outstanding command's id */
	uint16_t prev_head;     /* SQ index of that command */
	uint16_t tail;          /* SQ tail after it */
	uint32_t aq_size;       /* a power of two */
	uint32_t count;         /* the command's count (0: a single command) */
};
/* 0 when @c passes every check of 12.3; else -EBADMSG with *@why naming
 * the first check it failed. Pure: no state, for fuzzing. */
int pci_cqe_check(const struct devif_cqe *c, const struct pci_cq_expect *e,
		  const char **why);

/* An event's checks (12.3): 0 valid; 1 an unknown type (log, skip); 2 a
 * sequence gap (treat as LOST, then use it); -1 reserved bits set
 * (garbage: skip). *@why says which. Pure. */
int pci_event_check(const struct devif_event *e, int have_seq, uint16_t last_seq,
		    const char **why);

/* A per-entry result's checks: 0 valid (status OK with a non-zero handle,
 * or a known error status); -EBADMSG otherwise. Pure. */
int pci_result_check(const struct devif_entry_result *r, const char **why);

const char *pci_opcode_name(unsigned op);
const char *pci_status_name(unsigned st);
int pci_status_errno(unsigned st);

/* The timeout of a command in ms (12.1), capped by timeout_ms. */
uint32_t pci_cmd_timeout(const struct pci_drv *d, unsigned op, uint32_t count);

/* Run one command (the caller holds d->lock): submit, doorbell, wait for
 * its completion. Returns 0 with *@cqe filled and checked (its status may
 * be any the device gives); -ENETRESET if the device reset itself while it
 * ran (recovered: nothing of the command stayed); -ETIMEDOUT after a
 * timeout (the device was reset and recovered, or found dead); -ENODEV
 * when the device is gone; -EIO when it is dead. Messages set. @what names
 * the command for messages ("table ipv4: ENTRY_ADD of 32 entries"). */
int pci_cmd(struct pci_drv *d, struct devif_sqe *sqe, struct devif_cqe *cqe,
	    const char *what);
/* Consume the event queue (the caller holds d->lock). Returns 1 if a
 * RESET event announced a reset the driver did not ask for. */
int pci_events_poll(struct pci_drv *d);

/* --- drv_dev.c ----------------------------------------------------------- */

/* Open: map, check, agree, bring up. */
int pci_drv_open(struct pci_drv *d, const struct dpak_pci_fn *fn);
void pci_drv_close(struct pci_drv *d);
/* Whether the device reset by itself (registers, before each command and
 * at every event scan); the caller holds d->lock. 1: it did (recovered
 * now, or dead); 0: no. */
int pci_check_self_reset(struct pci_drv *d);
/* Reset the device ourselves (5.3) and bring it up again, then tell the
 * core (restore_pending). The caller holds d->lock. 0 or -EIO/-ENODEV. */
int pci_recover(struct pci_drv *d, int do_reset, const char *why);
/* The device is unusable: the error every call gets (ENODEV, EIO), or 0. */
int pci_state_err(struct pci_drv *d);
/* BAR0 reads all ones: the device is gone for good. Every entry went
 * with it: handles die, and the core is told (its flows become
 * DPAK_FLOW_NOT_RESTORED: each add back fails with ENODEV). */
void pci_mark_gone(struct pci_drv *d);
/* The hwsim front end's connection closed (a poll() that does not wait;
 * remembered in conn_gone); pci_absent: that, or BAR0 reads all ones. */
int pci_conn_gone(struct pci_drv *d);
int pci_absent(struct pci_drv *d);
/* Re-create tables and bonds after a SOFT_RESET (the caller holds d->lock). */
int pci_tables_bonds_setup(struct pci_drv *d);
uint64_t pci_now_ns(void);
uint32_t pci_rd_checked(struct pci_drv *d, uint32_t off);

static inline int pci_dp_enter(struct pci_drv *d)
{
	__atomic_add_fetch(&d->dp_inflight, 1, __ATOMIC_SEQ_CST);
	if (!__atomic_load_n(&d->dp_block, __ATOMIC_SEQ_CST))
		return 1;
	__atomic_sub_fetch(&d->dp_inflight, 1, __ATOMIC_RELEASE);
	return 0;
}

static inline void pci_dp_exit(struct pci_drv *d)
{
	__atomic_sub_fetch(&d->dp_inflight, 1, __ATOMIC_RELEASE);
}

static inline uint64_t pci_handle(const struct pci_drv *d, uint32_t slot)
{
	return ((uint64_t)d->gen << PCI_H_SHIFT) | ((uint64_t)slot + 1);
}

/* Room for @n more slots in @table's array (before a command adds). */
int pci_slots_reserve(struct pci_drv *d, uint32_t table, uint32_t n);
/* A slot for device handle @h (room reserved). */
uint32_t pci_slot_put(struct pci_drv *d, uint32_t table, uint64_t h);
/* The device handle behind a live core handle, or 0. */
uint64_t pci_slot_get(const struct pci_drv *d, uint32_t table, uint64_t core_h);
void pci_slot_set(struct pci_drv *d, uint32_t table, uint64_t core_h, uint64_t h);
void pci_slot_free(struct pci_drv *d, uint32_t table, uint64_t core_h);
/* The device lost the entry of device handle @h: 1 if a slot held it. */
int pci_slot_forget(struct pci_drv *d, uint32_t table, uint64_t h);
/* Forget every slot (the device lost its entries); frees with @fini. */
void pci_slots_clear(struct pci_drv *d, int fini);
/* Remember @c as the last counters read of @core_h's entry; and the
 * counters last read of an entry of the generation before the last reset
 * (0 and zeros when none). */
void pci_slot_note(struct pci_drv *d, uint32_t table, uint64_t core_h,
		   const struct bk_flow_counters *c);
int pci_slot_last_old(const struct pci_drv *d, uint32_t table, uint64_t core_h,
		      struct bk_flow_counters *c);

static inline int pci_handle_live(const struct pci_drv *d, uint64_t h)
{
	return (uint16_t)(h >> PCI_H_SHIFT) ==
	       __atomic_load_n(&d->gen, __ATOMIC_ACQUIRE);
}

/* --- tests (pci_backend.c) ---------------------------------------------------- */

struct dpak_dev;
/* A FAULT command of the test harness (7.12) to the device behind @dev. */
int dpak__pci_fault(struct dpak_dev *dev, uint32_t kind, uint32_t param);
struct dpak_pci_counters {
	uint64_t bad_completions, bad_events, unknown_events, timeouts, resets,
		 self_resets, lost_events;
	uint16_t gen;
};
int dpak__pci_counters(struct dpak_dev *dev, struct dpak_pci_counters *c);

#endif
