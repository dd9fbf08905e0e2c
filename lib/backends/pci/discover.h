/* SPDX-License-Identifier: MIT */
/*
 * PCI discovery of libdpak devices with libpci (Debian: libpci-dev): the
 * management functions of docs/device-interface.md section 2.2 (the id
 * table of pci_ids.h). The port functions of a dpak device are virtio-net
 * devices the host's or a guest's virtio driver drives: discovery
 * recognises them (port_fn) and never offers one as a device.
 *
 * The bus is read through libpci's automatic access method (sysfs on
 * Linux), or, when the environment variable DPAK_PCI_DUMP names a file,
 * from that file through libpci's dump access (PCI_ACCESS_DUMP): the text
 * `lspci -x` / `lspci -xxxx` prints. A dump gives config space only, so
 * BAR sizes are 0 (unknown) with it.
 */
#ifndef DPAK_PCI_DISCOVER_H
#define DPAK_PCI_DISCOVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "pci_ids.h"

struct dpak_pci_bar {
	uint64_t addr;   /* bus address, flag bits cleared; 0: not implemented */
	uint64_t size;   /* bytes; 0: unknown (dump files) or not implemented */
	bool io;         /* an I/O BAR (else memory) */
	bool mem64;      /* a 64-bit memory BAR (it takes the next BAR's slot too) */
	bool prefetch;   /* prefetchable memory */
};

/* One function on the bus. */
struct dpak_pci_fn {
	char bdf[16];            /* "0000:03:00.0": domain:bus:device.function */
	uint32_t domain;
	uint8_t bus, dev, func;
	uint16_t vendor_id, device_id;
	uint8_t revision;
	uint32_t class_code;     /* base class << 16 | subclass << 8 | prog-if */
	uint16_t subsys_vendor, subsys_id;
	bool ours;               /* a management function: ids in dpak_pci_ids[] */
	bool rev_ok;             /* ours, and the revision in dpak_pci_revisions[] */
	/* A port function of a dpak device (virtio-net 0x1af4:0x1041 with
	 * subsystem vendor DEVIF_VENDOR_ID): never ours, never driven. */
	enum { DPAK_PCI_PORT_NONE, DPAK_PCI_PORT_PF, DPAK_PCI_PORT_VF } port_fn;
	struct dpak_pci_bar bar[6];
	bool msix;               /* MSI-X capability (id 0x11) present */
	uint16_t msix_vectors;   /* its table size */
	bool sriov;              /* SR-IOV extended capability (id 0x0010) */
	uint16_t sriov_total_vfs;
};

/* Enumerate the bus (or DPAK_PCI_DUMP's dump). The management functions
 * matching the id table (whatever their revision) go into @fns (at most @max, bus order); *@n is how many matched
 * (possibly more than @max). With @bdf (a parsed address) non-NULL, *@at
 * receives the function at that address whatever its ids and *@at_found
 * says whether there was one. Returns 0 or a negative errno with
 * dpak_errmsg() set: the dump file's open error (-ENOENT, ...), -EINVAL
 * for a dump libpci cannot read, -ENODEV when libpci cannot read the bus
 * (no access method); libpci never exits the process. */
int dpak__pci_scan(struct dpak_pci_fn *fns, size_t max, size_t *n,
		   const struct dpak_pci_fn *bdf, struct dpak_pci_fn *at,
		   bool *at_found);

/* The device a "pci:" devspec names (@args: "" = the first management
 * function in bus order with an accepted revision, else "DDDD:BB:DD.F" or
 * "BB:DD.F"). Returns 0 with *@fn filled, -EINVAL for an unreadable
 * address or dump file, or -ENODEV (no device, not ours, a port function,
 * or a revision this library does not drive: "pci 0000:03:00.0: device
 * revision 0x02 is not supported (this libdpak drives revision 0x01)"),
 * each with a message naming the address; *@fn is untouched on failure. */
int dpak__pci_find(const char *args, struct dpak_pci_fn *fn);

/* Where discovery looks, for messages: "dump file FILE" or "the PCI bus". */
const char *dpak__pci_source(char *buf, size_t len);

#endif
