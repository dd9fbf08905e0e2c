/* SPDX-License-Identifier: MIT */
/*
 * What the pci driver needs from beneath it (docs/device-interface.md,
 * section 13): BARs mapped, one DMA window (host memory the device can
 * reach, with its bus address), interrupt eventfds, and configuration
 * space. Two implementations, one driver above them:
 *
 *   transport_shm.c    hwsim's device front end in another thread or
 *                      process, over a Unix socket and a shared memfd;
 *   transport_sysfs.c  a real device: sysfs resourceN mmap, DMA memory
 *                      from VFIO (or physical addresses for development).
 *
 * The driver sub-allocates its queues and buffers inside the window.
 */
#ifndef DPAK_PCI_TRANSPORT_H
#define DPAK_PCI_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>
#include "discover.h"
#include "devif.h"

struct pci_transport {
	const char *kind;           /* "hwsim" or "sysfs", for messages */
	char bdf[16];
	volatile uint32_t *bar0;    /* DEVIF_BAR0_SIZE bytes */
	volatile uint32_t *bar2;    /* DEVIF_BAR2_SIZE bytes (MSI-X table) */
	volatile uint32_t *bar4;    /* DEVIF_BAR4_SIZE bytes (doorbells) */
	const uint8_t *cfg;         /* configuration space copy or map; may be NULL */
	uint8_t *dma;               /* the DMA window */
	uint64_t dma_iova;          /* bus address of dma[0] */
	size_t dma_len;
	int vec_fd[DEVIF_N_VECTORS];/* eventfd per MSI-X vector; -1: none */
	int conn_fd;                /* hwsim: the connection to the front end
	                             * (closed: the device is gone); -1 none */
	void (*close)(struct pci_transport *t);
	void *priv;
};

/* Open the transport for @fn (@timeout_ms: the devspec's, 0 none): the hwsim one when a front end's socket
 * <dir>/<bdf>.sock exists (dir: $DPAK_HWSIM_PCI_DIR, else
 * DEVIF_SHM_DIR_DEFAULT), else the sysfs one. Returns 0 or a negative
 * errno with dpak_errmsg() naming the BDF and what failed. */
int pci_transport_open(const struct dpak_pci_fn *fn, uint32_t timeout_ms,
		       struct pci_transport **out);
/* @timeout_ms: how long to wait for the hello (0: DEVIF_RESET_MS). */
int pci_transport_shm_open(const char *sock_path, const char *bdf,
			   uint32_t timeout_ms, struct pci_transport **out);
int pci_transport_sysfs_open(const struct dpak_pci_fn *fn,
			     struct pci_transport **out);

/* For the implementations. pci_transport_new: a transport for @bdf with a
 * zeroed private part of @priv_size bytes, no vectors (-1) and @close_fn;
 * 0 or -ENOMEM. pci_transport_free: close the vectors, let @release free
 * what the private part holds, then free both. */
int pci_transport_new(size_t priv_size, const char *bdf,
		      void (*close_fn)(struct pci_transport *t), struct pci_transport **out);
void pci_transport_free(struct pci_transport *t, void (*release)(void *priv));

static inline uint32_t pci_rd32(const struct pci_transport *t, uint32_t off)
{
	return __atomic_load_n(&t->bar0[off / 4], __ATOMIC_ACQUIRE);
}

static inline void pci_wr32(const struct pci_transport *t, uint32_t off, uint32_t v)
{
	__atomic_store_n(&t->bar0[off / 4], v, __ATOMIC_RELEASE);
}

static inline void pci_db(const struct pci_transport *t, uint32_t off, uint32_t v)
{
	__atomic_store_n(&t->bar4[off / 4], v, __ATOMIC_RELEASE);
}

#endif
