/* SPDX-License-Identifier: MIT */
/*
 * The pci backend: the libdpak PCIe device. Discovery is built
 * (discover.c); the driver above it is not yet, so opening a device that
 * discovery finds fails with EOPNOTSUPP, and one it does not find (or
 * refuses) with ENODEV. docs/device-interface.md describes the interface
 * the driver will speak.
 */
#include <errno.h>
#include "core.h"
#include "backend.h"
#include "discover.h"

static int pci_open(const char *args, const struct ci_config *cfg,
		    const struct bk_open_cfg *oc, void **priv)
{
	struct dpak_pci_fn fn;
	int err;

	(void)cfg;
	(void)oc;
	*priv = NULL;
	err = dpak__pci_find(args, &fn);
	if (err)
		return err;
	return dpak__err(EOPNOTSUPP, "pci %s (rev 0x%02x): found, but the pci "
			 "backend's driver is not built yet "
			 "(docs/device-interface.md describes the interface)",
			 fn.bdf, fn.revision);
}

const struct dpak_backend_ops dpak_backend_pci = {
	.name = "pci",
	.open = pci_open,
};
