/* SPDX-License-Identifier: MIT */
/*
 * Which transport carries a device: the hwsim one when a front end serves
 * the function's address (its socket <dir>/<bdf>.sock exists), else the
 * real one (sysfs and VFIO). See transport.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "core.h"
#include "transport.h"

/* The directory hwsim front ends put their sockets in. */
static const char *shm_dir(void)
{
	const char *d = getenv("DPAK_HWSIM_PCI_DIR");

	return d && *d ? d : DEVIF_SHM_DIR_DEFAULT;
}

int pci_transport_open(const struct dpak_pci_fn *fn, struct pci_transport **out)
{
	char path[512];
	struct stat st;
	int n;

	*out = NULL;
	n = snprintf(path, sizeof(path), "%s/%s.sock", shm_dir(), fn->bdf);
	if (n < 0 || (size_t)n >= sizeof(path))
		return dpak__err(ENAMETOOLONG, "pci %s: the socket path under %s is "
				 "too long", fn->bdf, shm_dir());
	if (!stat(path, &st) && S_ISSOCK(st.st_mode))
		return pci_transport_shm_open(path, fn->bdf, out);
	return pci_transport_sysfs_open(fn, out);
}
