/* SPDX-License-Identifier: MIT */
/*
 * The PCI identity of the libdpak device: the one place these numbers live.
 *
 * PLACEHOLDERS: vendor 0xffd0 and device ids 0xd001 / 0xd002 are the
 * project's own placeholder ids, NOT assigned by the PCI-SIG. They stand
 * until the device gets real ids. docs/device-interface.md section 2 has
 * since chosen another placeholder identity (vendor 0xD9AC, a management
 * function 0xD001 of class 0x028000; see its open questions): change them
 * here and nowhere else.
 */
#ifndef DPAK_PCI_IDS_H
#define DPAK_PCI_IDS_H

#include <stddef.h>
#include <stdint.h>

#define DPAK_PCI_VENDOR_ID   0xffd0u   /* placeholder, not PCI-SIG assigned */
#define DPAK_PCI_DEVICE_PF   0xd001u   /* physical function (placeholder) */
#define DPAK_PCI_DEVICE_VF   0xd002u   /* SR-IOV virtual function (placeholder) */
/* Class code: base class << 16 | subclass << 8 | programming interface;
 * 0x020000 is "Ethernet controller". */
#define DPAK_PCI_CLASS       0x020000u

/* Device revisions (config space offset 0x08) this library drives. */
static const uint8_t dpak_pci_revisions[] = { 0x01 };
#define DPAK_PCI_N_REVISIONS (sizeof(dpak_pci_revisions) / sizeof(dpak_pci_revisions[0]))

/* "0xd001/0xd002", for messages. */
#define DPAK_PCI_IDS_TEXT "vendor 0xffd0 device 0xd001/0xd002"

#endif
