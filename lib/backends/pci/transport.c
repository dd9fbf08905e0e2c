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
#include <unistd.h>
#include "core.h"
#include "transport.h"

/* The directory hwsim front ends put their sockets in. */
static const char *shm_dir(void)
{
	const char *d = getenv("DPAK_HWSIM_PCI_DIR");

	return d && *d ? d : DEVIF_SHM_DIR_DEFAULT;
}

int pci_transport_open(const struct dpak_pci_fn *fn, uint32_t timeout_ms,
		       struct pci_transport **out)
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
		return pci_transport_shm_open(path, fn->bdf, timeout_ms, out);
	return pci_transport_sysfs_open(fn, out);
}

int pci_transport_new(size_t priv_size, const char *bdf,
		      void (*close_fn)(struct pci_transport *t), struct pci_transport **out)
{
	struct pci_transport *t = calloc(1, sizeof(*t));
	void *p = calloc(1, priv_size);

	if (!t || !p) {
		free(t);
		free(p);
		return dpak__err(ENOMEM, "out of memory");
	}
	for (unsigned i = 0; i < DEVIF_N_VECTORS; i++)
		t->vec_fd[i] = -1;
	t->conn_fd = -1;
	t->priv = p;
	t->close = close_fn;
	snprintf(t->bdf, sizeof(t->bdf), "%s", bdf);
	*out = t;
	return 0;
}

void pci_transport_free(struct pci_transport *t, void (*release)(void *priv))
{
	for (unsigned i = 0; i < DEVIF_N_VECTORS; i++)
		if (t->vec_fd[i] >= 0)
			close(t->vec_fd[i]);
	if (t->priv) {
		release(t->priv);
		free(t->priv);
	}
	free(t);
}
