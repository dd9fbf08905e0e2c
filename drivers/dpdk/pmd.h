/* SPDX-License-Identifier: MIT */
/*
 * net_dpak: a DPDK poll-mode driver whose ports are a libdpak device's
 * ports. One libdpak device is shared by every ethdev opened with the same
 * devspec in the process (refcounted); each ethdev is one port of it, owns
 * a range of the device's host queues, and offloads rte_flow rules into the
 * device's tables.
 */
#ifndef NET_DPAK_PMD_H
#define NET_DPAK_PMD_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include <rte_ethdev.h>
#include <ethdev_driver.h>
#include <rte_flow.h>
#include <rte_flow_driver.h>
#include <rte_log.h>
#include <rte_mbuf.h>

#include <dpak/dpak.h>

#define PMD_NAME "net_dpak"
#define PMD_MAX_QUEUES 64	/* libdpak's most host queues per device */
#define PMD_DEF_QPP 4		/* host queues per port by default */
#define PMD_MAX_QPP 16		/* most queues per ethdev (and per RSS action) */
#define PMD_BURST 32
#define PMD_QUEUE_SIZE 512	/* packets per host queue */
/* hwsim sizes an attached interface's ring frames when it attaches it
 * (dpak_hwsim_attach(3): "raise an interface's MTU before attaching it"):
 * 2048-byte frames when the interface's MTU, with the Ethernet header, two
 * VLAN tags and the 66 bytes before a received frame, fits them (MTU up to
 * 2048 - 66 - 14 - 8 = 1960), else frames for any MTU hwsim takes. The
 * port's MTU cannot be raised past what those frames carry. */
#define PMD_HWSIM_STD_MTU 1960

extern int pmd_logtype;
#define PMD_LOG(level, fmt, ...) \
	rte_log(RTE_LOG_##level, pmd_logtype, PMD_NAME ": " fmt "\n", ##__VA_ARGS__)

/* Parsed devargs of one ethdev. */
struct pmd_args {
	char devspec[512];	/* libdpak devspec, ',' separated */
	char port[32];		/* port name or number; "" = the N of net_dpakN */
	char iface[16];		/* Linux interface to attach the port to (IFNAMSIZ) */
	char configinfo[256];	/* "" = default */
	char ctl[108];		/* dpak-ctl socket path; "" = none */
	unsigned queues;	/* host queues per port; 0 = default */
};

/* One libdpak device shared by the ethdevs of one devspec. */
struct pmd_shared {
	LIST_ENTRY(pmd_shared) next;
	char devspec[512];	/* as opened (with engine=thread for hwsim) */
	char configinfo[256];
	char ctl[108];
	struct dpak_dev *dev;
	unsigned refcnt;
	uint16_t domain_id;
	uint32_t n_ports;
	uint16_t n_queues;	/* host queues the device was opened with */
	uint16_t qpp;		/* host queues per port */
	/* DPDK port id of the ethdev of each libdpak port (RTE_MAX_ETHPORTS: none) */
	uint16_t eth_of[PMD_MAX_QUEUES];
	uint32_t n_tables;
	/* the interface each port was attached to (libdpak keeps an
	 * attachment until the device closes) */
	char iface[PMD_MAX_QUEUES][16];
	/* the largest MTU the attachment carries (0: port not attached) */
	uint16_t iface_max_mtu[PMD_MAX_QUEUES];
	pthread_mutex_t lock;	/* the flow lists of the ethdevs; control path only */
};

struct pmd_rxq {
	struct pmd_priv *priv;
	struct rte_mempool *mp;
	uint16_t hostq;		/* libdpak host queue */
	uint16_t port_id;	/* DPDK port id */
	/* written by the queue's thread only; a reset keeps baselines */
	uint64_t packets, bytes, nombuf, errors;
	uint64_t base_packets, base_bytes, base_nombuf, base_errors;
};

struct pmd_txq {
	struct pmd_priv *priv;
	uint16_t hostq;
	uint64_t packets, bytes, errors;
	uint64_t base_packets, base_bytes, base_errors;
};

struct pmd_flow;
TAILQ_HEAD(pmd_flow_list, pmd_flow);

/* One ethdev: one port of a shared device. */
struct pmd_priv {
	struct pmd_shared *sh;
	struct dpak_dev *dev;	/* sh->dev, for the data path */
	uint32_t port;		/* libdpak port id */
	uint16_t port_id;	/* DPDK port id */
	uint16_t first_q;	/* first host queue of this port's range */
	uint16_t qpp;		/* size of the range */
	struct rte_ether_addr mac;
	struct pmd_flow_list flows; /* under sh->lock */
	struct dpak_port_stats base; /* stats_reset baseline */
	uint64_t base_qdrops[PMD_MAX_QPP];
	bool started;
};

/* pmd_args.c */
int pmd_args_parse(const char *name, const char *args, struct pmd_args *a);
const char *pmd_args_help(void);

/* pmd_rxtx.c */
uint16_t pmd_rx_burst(void *q, struct rte_mbuf **bufs, uint16_t n);
uint16_t pmd_tx_burst(void *q, struct rte_mbuf **bufs, uint16_t n);

/* pmd_flow.c */
extern const struct rte_flow_ops pmd_flow_ops;
void pmd_flow_flush_all(struct rte_eth_dev *eth);

#endif /* NET_DPAK_PMD_H */
