/* SPDX-License-Identifier: MIT */
/*
 * hwsim's PCIe device front end: hwsim served behind the register, queue
 * and DMA interface of docs/device-interface.md, over the hwsim transport
 * of its section 13 (a shared memfd holding BAR0, BAR2, BAR4, the
 * configuration space and the DMA window, handed with the MSI-X eventfds
 * to one driver at a time over a Unix socket).
 *
 * One service thread per front end polls the doorbells and control
 * registers, runs commands against its own hwsim device, writes
 * completions and events, and moves packets through the data rings
 * (pcidev_rings.c). dpak-hwsim-pci(8) runs one in its own process; tests
 * may run one in a thread of theirs.
 */
#ifndef HWSIM_PCIDEV_H
#define HWSIM_PCIDEV_H

#include <stddef.h>
#include <stdio.h>

struct hw_pcidev;

struct hw_pcidev_cfg {
	const char *hwsim_args; /* as after "hwsim:" ("uplinks=2,vfs=2,engine=thread") */
	const char *bdf;        /* "0000:03:00.0"; NULL: that one */
	const char *dir;        /* where <bdf>.sock and pci.dump live; NULL:
				 * $DPAK_HWSIM_PCI_DIR, else DEVIF_SHM_DIR_DEFAULT */
	size_t dma_len;         /* DMA window bytes; 0: DEVIF_SHM_DMA_DEFAULT */
	int once;               /* stop serving when the first driver leaves */
	/* "PORT=IFNAME" attachments (hw_port_attach), NULL-terminated; PORT a
	 * port number or uplinkN, pfN, vfN. Applied at creation (one that
	 * cannot be made fails it) and again after every reset. NULL: none. */
	const char *const *attach;
	/* Where the front end reports trouble (level 0 error, 1 warning,
	 * 2 info); NULL: stderr. */
	void (*log)(int level, const char *msg);
};

/* Create the device, the shared memory and the socket, add the function to
 * <dir>/pci.dump (under flock; a stale entry for the BDF is replaced) and
 * start the service thread. Returns 0 or a negative errno (with a message
 * through cfg->log naming what failed). */
int hw_pcidev_create(const struct hw_pcidev_cfg *cfg, struct hw_pcidev **out);
/* 1 once a "once" front end's driver has left (the service thread ended). */
int hw_pcidev_done(const struct hw_pcidev *fe);
/* Stop the service thread, remove the socket and the pci.dump entry. */
void hw_pcidev_destroy(struct hw_pcidev *fe);
/* The socket path and the dump file path. */
const char *hw_pcidev_socket(const struct hw_pcidev *fe);
const char *hw_pcidev_dump_path(const struct hw_pcidev *fe);
/* Write the function's configuration space as `lspci -x` text (one
 * libpci dump entry). */
int hw_pcidev_dump(const struct hw_pcidev *fe, FILE *f);

#endif
