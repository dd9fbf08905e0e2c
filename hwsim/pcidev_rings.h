/* SPDX-License-Identifier: MIT */
/*
 * The device side of the host-queue data rings of hwsim's PCIe front end
 * (docs/device-interface.md section 11): split virtqueues in the driver's
 * DMA window, one receive and one transmit ring per host queue and the
 * control queue pair. The front end (pcidev.c) owns registers and
 * commands; this part owns the rings and moves packets between them and
 * hwsim's host queues and control channel. Every address a ring holds is
 * checked against the DMA window before it is touched.
 *
 * Called from the front end's one service thread only.
 */
#ifndef HWSIM_PCIDEV_RINGS_H
#define HWSIM_PCIDEV_RINGS_H

#include <stddef.h>
#include <stdint.h>
#include "hwsim.h"
#include "backends/pci/devif.h"

/* The DMA window as the device sees it: bus address iova is base[0]. */
struct fe_dma {
	uint8_t *base;
	uint64_t iova;
	size_t len;
};

struct fe_rings;

/* @bar4: the doorbell BAR (the rings read HQ_*_DB and CTRLQ_*_DB). */
int fe_rings_new(const struct fe_dma *dma, volatile uint32_t *bar4,
		 uint32_t max_queues, struct fe_rings **out);
void fe_rings_free(struct fe_rings *r);
/* HOSTQ_SETUP: returns an enum devif_status (INVALID for an address
 * outside the window or misaligned, a size not a power of two or above
 * MAX_QUEUE_SIZE, a queue beyond max_queues). */
int fe_rings_setup(struct fe_rings *r, const struct devif_hostq_setup *s);
/* Forget every ring (a device reset); buffers held are not returned. */
void fe_rings_reset(struct fe_rings *r);
/* Transmit rings and the control transmit ring into hwsim
 * (hw_host_tx_burst, hw_ctrl_send): returns the packets taken. A bad
 * descriptor (outside the window, a loop, a chain longer than the ring)
 * is returned used with len 0 and counted as a ring error. */
unsigned fe_rings_tx(struct fe_rings *r, struct hw_dev *dev);
/* hwsim's host receive queues and control channel into the receive
 * rings: returns the packets delivered. A packet with no ring buffer
 * posted is dropped and counted in that queue's rx_drops. */
unsigned fe_rings_rx(struct fe_rings *r, struct hw_dev *dev);
/* STATS_READ kind 1 for queue q (DEVIF_HQ_CTRL: the control queue). */
void fe_rings_stats(struct fe_rings *r, struct hw_dev *dev, uint32_t q,
		    struct devif_hostq_stats_rec *rec);
/* Ring errors seen since creation (bad descriptors, addresses outside the
 * window), for the front end's ERROR events and logs. */
uint64_t fe_rings_errors(const struct fe_rings *r);

#endif
