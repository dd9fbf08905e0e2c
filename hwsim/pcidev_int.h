/* SPDX-License-Identifier: MIT */
/*
 * Internals of hwsim's PCIe device front end shared by pcidev.c (shared
 * memory, socket, registers, resets, events, the service loop) and
 * pcidev_cmd.c (the admin commands). Not seen outside hwsim/.
 */
#ifndef HWSIM_PCIDEV_INT_H
#define HWSIM_PCIDEV_INT_H

#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include "hwsim.h"
#include "pcidev.h"
#include "pcidev_rings.h"
#include "backends/pci/devif.h"

#define FE_N_QUEUES      64u      /* MAX_HOST_QUEUES */
#define FE_QUEUE_SIZE    1024u    /* hwsim's host queues behind the rings */
#define FE_POOL_SIZE     8192u
#define FE_MAX_ENTRIES   4194304u
#define FE_MAX_CMD_DATA  (4u << 20)
#define FE_MAX_AQ        4096u
#define FE_MAX_EQ        4096u
#define FE_MAX_QSIZE     32768u
#define FE_MAX_ATTACH    16
#define FE_FEATURES (DEVIF_F_SOFT_RESET | DEVIF_F_RESET_NOTICE | \
		     DEVIF_F_PORT_LINK_ADMIN | DEVIF_F_TRACE | DEVIF_F_TEST_HARNESS)

enum fe_table_state { FE_T_NONE, FE_T_LIVE, FE_T_GONE };

struct fe_port {
	uint8_t wire_up;    /* the wire's carrier (LINK_SET) */
	uint8_t admin_down; /* PORT_CONFIG link admin */
	uint8_t last_link;  /* last link state seen, for LINK events */
	uint8_t mac_set;
	uint8_t mac[6];
	uint16_t q_first, q_n;
	uint32_t mtu;       /* 0: as created */
	struct hw_port_counters carry; /* counts of a hwsim device replaced
					 * by fe_rebuild: the counters go on */
};

struct fe_bond {
	uint8_t used, mode, hash, lacpdus, flags;
	uint8_t actor[HW_BOND_MEMBERS], partner[HW_BOND_MEMBERS];
	uint8_t partner_sys[HW_BOND_MEMBERS][6];
	uint32_t lacp_port[HW_BOND_MEMBERS]; /* member the states above are of */
};

struct fe_attach {
	uint32_t port;
	char ifname[16];
};

struct hw_pcidev {
	struct hw_pcidev_cfg cfg;
	char *args;
	char bdf[16];
	unsigned bus, slot, func, domain;
	char dir[PATH_MAX];
	char sock_path[PATH_MAX];
	char dump_path[PATH_MAX];
	struct hw_dev_cfg dcfg;

	/* shared memory */
	int memfd;
	uint8_t *shm;
	size_t shm_size;
	uint32_t *bar0, *bar4;
	uint8_t *cfgsp;
	struct fe_dma dma;
	int evfd[DEVIF_N_VECTORS];

	/* socket and thread */
	int lsock, conn;
	pthread_t thr;
	int thr_started;
	pthread_t beat_thr; /* DEV_TIME and HEARTBEAT */
	int beat_started;
	pthread_mutex_t beat_lock; /* the clock's writes vs BAR0 wiped whole */
	int stop;     /* atomic */
	int done;     /* atomic */

	/* the device */
	struct hw_dev *dev;
	struct fe_rings *rings;
	uint16_t gen;       /* handle generation, changes at every reset */
	int started;        /* hw_dev_start done */
	int start_pending;  /* the device was rebuilt under DRIVER_OK */
	int paused;         /* PIPELINE_PAUSE (1: hw_pause held) */
	int failed_pause;   /* DRV_STATUS.FAILED holds a pause */
	uint64_t rejected;  /* REJECT_ACTIONS types */
	uint32_t n_ports;
	uint8_t tstate[HW_MAX_TABLES];
	struct devif_table_desc tdesc[HW_MAX_TABLES];
	uint32_t hw_tables;  /* tables hwsim holds (created in order) */
	struct fe_port port[DEVIF_MAX_PORTS];
	struct fe_bond bond[HW_MAX_BONDS];
	struct fe_attach attach[FE_MAX_ATTACH]; /* WIRE_ATTACH, kept across SOFT_RESET */
	unsigned n_attach;
	int cfg_attach_skip;  /* creation: the first power-on attaches nothing */
	int cfg_attach_err;   /* the configuration's attachments at power-on */

	/* registers as last seen */
	uint32_t seen_reset_req, seen_drv_ver, seen_drv_feat, seen_int_ack;
	uint32_t seen_ctl, seen_drv_status;
	int version_ok, version_bad;
	uint32_t features;   /* acknowledged */

	/* admin queue */
	int aq_on;
	uint64_t sq_iova, cq_iova;
	uint32_t aq_size, aq_head, cq_tail, cq_phase;
	uint32_t bad_aq_logged;

	/* event queue */
	int eq_on;
	uint64_t eq_iova;
	uint32_t eq_size, eq_tail, eq_head, eq_phase, eq_types;
	uint16_t eq_seq;
	uint32_t eq_lost, lost_pending;
	uint64_t ring_errors;

	/* interrupts */
	uint32_t cause, signalled;

	/* faults (7.12) */
	uint32_t f_no_completion;
	int f_garbage_cqe;
	int f_reset_in_batch;
	uint32_t f_reset_after;
	int f_reset_now;
	int f_stop;
	int f_dead;
	int f_garbage_event;

	uint32_t reset_count; /* RESET_COUNT, kept where BAR0 cannot */
	uint8_t frame[HW_MAX_FRAME]; /* a frame copied out of the window */
	struct timespec t0;
};

/* pcidev.c */
void fe_log(struct hw_pcidev *fe, int level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
uint32_t fe_rd(const struct hw_pcidev *fe, uint32_t off);
void fe_wr(struct hw_pcidev *fe, uint32_t off, uint32_t v);
/* A pointer to [iova, iova+len) of the DMA window, or NULL when any byte of
 * it lies outside (or len is 0 / above the window). */
void *fe_ptr(const struct hw_pcidev *fe, uint64_t iova, uint64_t len);
uint64_t fe_now(const struct hw_pcidev *fe);
/* Post an event (section 10); LOST/RESET always, others by EQ_SETUP types. */
void fe_event(struct hw_pcidev *fe, uint8_t type, const void *payload, size_t len);
/* A full reset (5.3) with RESET_REASON @reason. */
void fe_reset(struct hw_pcidev *fe, uint32_t reason);
/* Rebuild the hwsim device keeping the port configuration, attachments,
 * pause and rejection (TABLE_CREATE of another layout after SOFT_RESET). */
int fe_rebuild(struct hw_pcidev *fe);
/* Apply the effective link of a port (wire && admin). */
void fe_apply_link(struct hw_pcidev *fe, uint32_t port);
void fe_start_engine(struct hw_pcidev *fe);

/* pcidev_cmd.c */
/* Execute one submission entry (copied) and fill its completion. Returns 1
 * when the command must not be completed (faults). */
int fe_cmd(struct hw_pcidev *fe, const struct devif_sqe *sq, struct devif_cqe *cq);
uint64_t fe_caps_actions(void);
uint64_t fe_caps_items(void);
uint32_t fe_caps_tables(void);

#endif
