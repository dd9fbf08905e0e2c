/* SPDX-License-Identifier: MIT */
/*
 * The PCI identity the pci backend looks for (docs/device-interface.md
 * section 2.2): the id table of management functions it drives, the
 * revisions it accepts, and how it recognises the port functions of a
 * dpak device (which it never drives).
 *
 * The numbers themselves live in devif.h. Vendor 0xD9AC is a PLACEHOLDER,
 * not assigned to this project by the PCI-SIG: silicon carries its maker's
 * ids, which go into dpak_pci_ids[] as added entries. Because a placeholder
 * can collide with a real device, the driver also requires DEV_MAGIC in
 * BAR0 before it touches anything else.
 */
#ifndef DPAK_PCI_IDS_H
#define DPAK_PCI_IDS_H

#include <stddef.h>
#include <stdint.h>
#include "devif.h"

/* A management function the driver takes: vendor and device id. */
struct dpak_pci_id {
	uint16_t vendor, device;
};

static const struct dpak_pci_id dpak_pci_ids[] = {
	{ DEVIF_VENDOR_ID, DEVIF_DEVICE_ID }, /* placeholder identity */
};
#define DPAK_PCI_N_IDS (sizeof(dpak_pci_ids) / sizeof(dpak_pci_ids[0]))

/* Device revisions (config space offset 0x08) this library drives: the
 * revision changes only with an incompatible register interface. */
static const uint8_t dpak_pci_revisions[] = { DEVIF_REVISION };
#define DPAK_PCI_N_REVISIONS (sizeof(dpak_pci_revisions) / sizeof(dpak_pci_revisions[0]))

/* The class code the management function reports (network controller,
 * other); informational: the ids decide. */
#define DPAK_PCI_CLASS DEVIF_CLASS

/* For messages: what discovery looks for. */
#define DPAK_PCI_IDS_TEXT "vendor 0xd9ac device 0xd001"

#endif
