/* SPDX-License-Identifier: MIT */
/*
 * The real transport (docs/device-interface.md section 13), for a device
 * on the PCI bus. It cannot run on a machine without the device; it is
 * built and kept compiling so that the driver above it is the one silicon
 * gets.
 *
 * With VFIO (/dev/vfio/vfio present and the function in an IOMMU group,
 * bound to vfio-pci): the group joins a type-1 container, the BARs are
 * mapped through the VFIO device file, the DMA window (hugepages where the
 * system has them, else locked pages) is mapped into the device's IOMMU
 * domain at the bus address DEVIF_SHM_DMA_IOVA (VFIO_IOMMU_MAP_DMA), and
 * each MSI-X vector signals an eventfd (VFIO_DEVICE_SET_IRQS). The device
 * reaches only the window.
 *
 * Without VFIO (development only: needs CAP_SYS_ADMIN and gives the device
 * all of memory): the BARs are mapped from
 * /sys/bus/pci/devices/BDF/resource0, resource2 and resource4, and the DMA
 * window is one locked 2 MiB hugepage whose physical address, read from
 * /proc/self/pagemap, is its bus address (one hugepage, so physically
 * contiguous). No interrupts: the driver polls.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <linux/vfio.h>
#include "core.h"
#include "transport.h"

#define SYSFS_PCI "/sys/bus/pci/devices"
#define VFIO_DMA_LEN (64u << 20)   /* the window under VFIO */
#define HUGE_2M (2u << 20)

struct sysfs_priv {
	void *bar[3];
	size_t bar_len[3];
	void *dma;
	size_t dma_len;
	int container, group, device;
};

static void sysfs_release(void *priv)
{
	struct sysfs_priv *p = priv;

	for (int i = 0; i < 3; i++)
		if (p->bar[i])
			munmap(p->bar[i], p->bar_len[i]);
	if (p->dma)
		munmap(p->dma, p->dma_len);
	if (p->device >= 0)
		close(p->device);
	if (p->group >= 0)
		close(p->group);
	if (p->container >= 0)
		close(p->container); /* unmaps the IOMMU domain */
}

static void sysfs_close(struct pci_transport *t)
{
	pci_transport_free(t, sysfs_release);
}

/* Map @len bytes of BAR @bar from sysfs. */
static int map_sysfs_bar(const char *bdf, int bar, size_t len, void **out)
{
	char path[256];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), SYSFS_PCI "/%s/resource%d", bdf, bar);
	fd = open(path, O_RDWR | O_SYNC | O_CLOEXEC);
	if (fd < 0)
		return dpak__err(errno == ENOENT ? ENODEV : errno, "pci %s: cannot "
				 "open %s: %s", bdf, path, strerror(errno));
	if (fstat(fd, &st) || (size_t)st.st_size < len) {
		close(fd);
		return dpak__err(ENODEV, "pci %s: %s is smaller than the %zu bytes "
				 "of BAR%d", bdf, path, len, bar);
	}
	*out = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (*out == MAP_FAILED) {
		*out = NULL;
		return dpak__err(errno, "pci %s: cannot map %s: %s", bdf, path,
				 strerror(errno));
	}
	return 0;
}

/* Memory for DMA: hugepages if the system has them, else locked pages. */
static void *dma_alloc(size_t len, int need_huge)
{
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB | MAP_POPULATE |
		       MAP_LOCKED, -1, 0);

	if (m != MAP_FAILED || need_huge)
		return m == MAP_FAILED ? NULL : m;
	m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS |
		 MAP_POPULATE, -1, 0);
	if (m == MAP_FAILED)
		return NULL;
	if (mlock(m, len)) {
		munmap(m, len);
		return NULL;
	}
	return m;
}

/* The physical address of @va (locked) from /proc/self/pagemap; 0 if
 * unknown (no CAP_SYS_ADMIN: the kernel hides frame numbers). */
static uint64_t phys_of(const void *va)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t ent = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 0;
	off_t off = (off_t)((uintptr_t)va / (uintptr_t)pg * sizeof(ent));
	if (pread(fd, &ent, sizeof(ent), off) != (ssize_t)sizeof(ent))
		ent = 0;
	close(fd);
	if (!(ent & (1ull << 63)) || !(ent & ((1ull << 55) - 1)))
		return 0;
	return (ent & ((1ull << 55) - 1)) * (uint64_t)pg + (uintptr_t)va % (uintptr_t)pg;
}

static int open_vfio(struct pci_transport *t, struct sysfs_priv *p,
		     const char *bdf, const char *group_link)
{
	char grp[64], path[128];
	struct vfio_group_status gs = { .argsz = sizeof(gs) };
	ssize_t n;
	const char *base;

	n = readlink(group_link, grp, sizeof(grp) - 1);
	if (n <= 0)
		return dpak__err(ENODEV, "pci %s: %s: %s", bdf, group_link,
				 strerror(errno));
	grp[n] = 0;
	base = strrchr(grp, '/') ? strrchr(grp, '/') + 1 : grp;
	p->container = open("/dev/vfio/vfio", O_RDWR | O_CLOEXEC);
	if (p->container < 0)
		return dpak__err(errno, "pci %s: /dev/vfio/vfio: %s", bdf, strerror(errno));
	if (ioctl(p->container, VFIO_GET_API_VERSION) != VFIO_API_VERSION ||
	    !ioctl(p->container, VFIO_CHECK_EXTENSION, VFIO_TYPE1_IOMMU))
		return dpak__err(ENODEV, "pci %s: VFIO without the type-1 IOMMU", bdf);
	snprintf(path, sizeof(path), "/dev/vfio/%s", base);
	p->group = open(path, O_RDWR | O_CLOEXEC);
	if (p->group < 0)
		return dpak__err(errno, "pci %s: %s: %s (is the function bound to "
				 "vfio-pci?)", bdf, path, strerror(errno));
	if (ioctl(p->group, VFIO_GROUP_GET_STATUS, &gs) ||
	    !(gs.flags & VFIO_GROUP_FLAGS_VIABLE))
		return dpak__err(EBUSY, "pci %s: IOMMU group %s is not viable (bind "
				 "every function of the group to vfio-pci)", bdf, base);
	if (ioctl(p->group, VFIO_GROUP_SET_CONTAINER, &p->container) ||
	    ioctl(p->container, VFIO_SET_IOMMU, VFIO_TYPE1_IOMMU))
		return dpak__err(errno, "pci %s: cannot attach IOMMU group %s: %s", bdf,
				 base, strerror(errno));
	p->device = ioctl(p->group, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (p->device < 0)
		return dpak__err(errno, "pci %s: VFIO_GROUP_GET_DEVICE_FD: %s", bdf,
				 strerror(errno));
	static const unsigned bars[3] = { 0, 2, 4 };
	static const size_t lens[3] = { DEVIF_BAR0_SIZE, DEVIF_BAR2_SIZE, DEVIF_BAR4_SIZE };
	for (int i = 0; i < 3; i++) {
		struct vfio_region_info ri = { .argsz = sizeof(ri), .index = bars[i] };
		if (ioctl(p->device, VFIO_DEVICE_GET_REGION_INFO, &ri) ||
		    ri.size < lens[i] || !(ri.flags & VFIO_REGION_INFO_FLAG_MMAP))
			return dpak__err(ENODEV, "pci %s: BAR%u cannot be mapped "
					 "through VFIO (%llu bytes)", bdf, bars[i],
					 (unsigned long long)ri.size);
		p->bar[i] = mmap(NULL, lens[i], PROT_READ | PROT_WRITE, MAP_SHARED,
				 p->device, (off_t)ri.offset);
		if (p->bar[i] == MAP_FAILED) {
			p->bar[i] = NULL;
			return dpak__err(errno, "pci %s: mapping BAR%u: %s", bdf,
					 bars[i], strerror(errno));
		}
		p->bar_len[i] = lens[i];
	}
	p->dma_len = VFIO_DMA_LEN;
	p->dma = dma_alloc(p->dma_len, 0);
	if (!p->dma)
		return dpak__err(ENOMEM, "pci %s: cannot lock %zu bytes for DMA", bdf,
				 p->dma_len);
	struct vfio_iommu_type1_dma_map dm = {
		.argsz = sizeof(dm),
		.flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)p->dma, .iova = DEVIF_SHM_DMA_IOVA, .size = p->dma_len,
	};
	if (ioctl(p->container, VFIO_IOMMU_MAP_DMA, &dm))
		return dpak__err(errno, "pci %s: VFIO_IOMMU_MAP_DMA of %zu bytes at "
				 "0x%llx: %s", bdf, p->dma_len,
				 (unsigned long long)DEVIF_SHM_DMA_IOVA, strerror(errno));
	t->dma_iova = DEVIF_SHM_DMA_IOVA;
	/* MSI-X: one eventfd per vector. */
	struct {
		struct vfio_irq_set s;
		int32_t fds[DEVIF_N_VECTORS];
	} irq;
	memset(&irq, 0, sizeof(irq));
	irq.s.argsz = sizeof(irq);
	irq.s.flags = VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
	irq.s.index = VFIO_PCI_MSIX_IRQ_INDEX;
	irq.s.count = DEVIF_N_VECTORS;
	for (unsigned i = 0; i < DEVIF_N_VECTORS; i++) {
		t->vec_fd[i] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		irq.fds[i] = t->vec_fd[i];
	}
	if (ioctl(p->device, VFIO_DEVICE_SET_IRQS, &irq))
		dpak__log(DPAK_LOG_WARN, "pci %s: no MSI-X through VFIO (%s): the "
			  "driver polls", bdf, strerror(errno));
	return 0;
}

int pci_transport_sysfs_open(const struct dpak_pci_fn *fn, struct pci_transport **out)
{
	char path[256], grp[300];
	struct pci_transport *t;
	struct sysfs_priv *p;
	struct stat st;
	int err;

	*out = NULL;
	snprintf(path, sizeof(path), SYSFS_PCI "/%s", fn->bdf);
	if (stat(path, &st))
		return dpak__err(ENODEV, "pci %s: no such device on this machine "
				 "(%s does not exist), and no hwsim front end serves "
				 "it (no %s/%s.sock)", fn->bdf, path,
				 getenv("DPAK_HWSIM_PCI_DIR") && *getenv("DPAK_HWSIM_PCI_DIR") ?
				 getenv("DPAK_HWSIM_PCI_DIR") : DEVIF_SHM_DIR_DEFAULT,
				 fn->bdf);
	if ((err = pci_transport_new(sizeof(*p), fn->bdf, sysfs_close, &t)))
		return err;
	p = t->priv;
	p->container = p->group = p->device = -1;
	snprintf(grp, sizeof(grp), "%s/iommu_group", path);
	if (!stat("/dev/vfio/vfio", &st) && !stat(grp, &st)) {
		t->kind = "vfio";
		if ((err = open_vfio(t, p, fn->bdf, grp)))
			goto fail;
	} else {
		static const int bars[3] = { 0, 2, 4 };
		static const size_t lens[3] = { DEVIF_BAR0_SIZE, DEVIF_BAR2_SIZE,
						DEVIF_BAR4_SIZE };
		t->kind = "sysfs";
		for (int i = 0; i < 3; i++) {
			if ((err = map_sysfs_bar(fn->bdf, bars[i], lens[i], &p->bar[i])))
				goto fail;
			p->bar_len[i] = lens[i];
		}
		p->dma_len = HUGE_2M;
		p->dma = dma_alloc(p->dma_len, 1);
		if (!p->dma) {
			err = dpak__err(ENOMEM, "pci %s: no 2 MiB hugepage for DMA "
					"without an IOMMU (vm.nr_hugepages)", fn->bdf);
			goto fail;
		}
		t->dma_iova = phys_of(p->dma);
		if (!t->dma_iova) {
			err = dpak__err(EPERM, "pci %s: the physical address of DMA "
					"memory is hidden (/proc/self/pagemap needs "
					"CAP_SYS_ADMIN); use VFIO", fn->bdf);
			goto fail;
		}
		dpak__log(DPAK_LOG_WARN, "pci %s: no IOMMU: the device may reach "
			  "all of memory (development only)", fn->bdf);
	}
	t->bar0 = p->bar[0];
	t->bar2 = p->bar[1];
	t->bar4 = p->bar[2];
	t->cfg = NULL;
	t->dma = p->dma;
	t->dma_len = p->dma_len;
	memset(t->dma, 0, t->dma_len);
	*out = t;
	return 0;
fail:
	sysfs_close(t);
	return err;
}
