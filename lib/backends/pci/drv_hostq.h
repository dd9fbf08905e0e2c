/* SPDX-License-Identifier: MIT */
/*
 * The driver side of the host-queue data rings (docs/device-interface.md
 * section 11.2-11.4): per host queue a receive and a transmit split
 * virtqueue, the control queue pair, and the packet buffer pool, all in
 * the transport's DMA window. The rest of the driver (pci_backend.c)
 * sends the HOSTQ_SETUP commands this part describes and calls it from the
 * backend's rx_burst/tx_burst/pkt_alloc/pkt_free/queue_stats/ctrl_* ops.
 *
 * Threads: rx queue q has one consumer thread, tx queue q one producer
 * (as <dpak/queue.h> states); pkt_alloc and pkt_free from any thread; the
 * control queue from the library's LACP thread. No lock the flow path
 * takes; no allocation per packet.
 */
#ifndef DPAK_PCI_DRV_HOSTQ_H
#define DPAK_PCI_DRV_HOSTQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "devif.h"

struct dpak_pkt;
struct drv_hostq;

struct drv_hostq_cfg {
	uint32_t queues;      /* host queue pairs, 1 .. 64 */
	uint32_t queue_size;  /* ring entries, power of two <= 32768 */
	uint32_t pool_size;   /* packet buffers the application can take; the
			       * receive rings' own buffers come on top
			       * (drv_hostq_dma_bytes counts both) */
	uint32_t max_frame;   /* device MAX_FRAME */
	uint8_t *dma;         /* the part of the DMA window given to the rings */
	uint64_t dma_iova;    /* its bus address */
	size_t dma_len;       /* at least drv_hostq_dma_bytes() */
	volatile uint32_t *bar4; /* doorbells */
	/* tx_burst's port check (0: none): a packet's port must be below
	 * n_ports, or below n_ports + bond_ports with DPAK_TX_PORT (bonds
	 * are the ports after the device's own, as hwsim numbers them). */
	uint32_t n_ports;
	uint32_t bond_ports;
};

/* The DMA bytes the rings and buffers of @cfg need (dma fields unused). */
size_t drv_hostq_dma_bytes(const struct drv_hostq_cfg *cfg);
int drv_hostq_new(const struct drv_hostq_cfg *cfg, struct drv_hostq **out);
void drv_hostq_free(struct drv_hostq *hq);
/* The HOSTQ_SETUP records to send, in order (2 per queue + 2 for the
 * control queue); returns how many were written (at most @max). */
unsigned drv_hostq_setup_records(struct drv_hostq *hq,
				 struct devif_hostq_setup *rec, unsigned max);
/* After a device reset: empty every ring (packets inside are lost, as
 * on any device that resets) and post fresh receive buffers; buffers the
 * application holds stay valid and return to the pool when freed. Then
 * the caller sends the setup records again. */
void drv_hostq_reset(struct drv_hostq *hq);
/* After the setup commands completed: ring the receive doorbells. */
void drv_hostq_start(struct drv_hostq *hq);

int drv_hostq_rx_burst(struct drv_hostq *hq, uint16_t q, struct dpak_pkt **pkts,
		       uint16_t n);
/* Returns the number taken, or -EINVAL naming the first bad packet (not
 * from this pool, len 0 or beyond the buffer) with none taken. */
int drv_hostq_tx_burst(struct drv_hostq *hq, uint16_t q, struct dpak_pkt **pkts,
		       uint16_t n);
struct dpak_pkt *drv_hostq_pkt_alloc(struct drv_hostq *hq);
void drv_hostq_pkt_free(struct drv_hostq *hq, struct dpak_pkt *pkt);
/* Ring depths and pool occupancy (the device's counters come from
 * STATS_READ kind 1): rx_depth packets received and not yet taken by
 * rx_burst, tx_depth packets the device has not yet taken; pool_free the
 * buffers neither the application nor a packet in a ring holds (empty
 * buffers posted to the receive rings count as free; transmit buffers the
 * device finished with are reclaimed first). */
void drv_hostq_depths(struct drv_hostq *hq, uint16_t q, uint32_t *rx_depth,
		      uint32_t *tx_depth, uint32_t *pool_size, uint32_t *pool_free);
/* Errors the device's side of the rings made (a used id naming no posted
 * buffer, a length outside the buffer, a bad header): each is counted,
 * the packet dropped, and the rings go on. */
uint64_t drv_hostq_errors(const struct drv_hostq *hq);
/* The control queue (11.4): a frame for the library (an LACPDU) and the
 * port it came in on; 0 when none; -ENOSPC if @cap is too small. */
ssize_t drv_hostq_ctrl_recv(struct drv_hostq *hq, void *buf, size_t cap,
			    uint32_t *port);
int drv_hostq_ctrl_send(struct drv_hostq *hq, uint32_t port, const void *pkt,
			size_t len);

#endif
