/* SPDX-License-Identifier: MIT */
/* PCI discovery with libpci: the management functions matching the id
 * table (docs/device-interface.md 2.2). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pci/pci.h>
#include "core.h"
#include "discover.h"

/*
 * libpci reports a fatal error by calling a->error(), which must not
 * return (its default prints and exits the process). Ours records the
 * message and longjmp()s back to the scan that installed it; the jump
 * target is per thread, so concurrent scans are independent.
 */
struct pci_catch {
	jmp_buf env;
	char msg[256];
};
static __thread struct pci_catch *pci_catch;

__attribute__((noreturn, format(printf, 1, 2)))
static void pci_die(char *fmt, ...)
{
	struct pci_catch *c = pci_catch;
	va_list ap;

	if (!c) { /* not inside a scan: cannot happen; never exit quietly */
		dpak__log(DPAK_LOG_ERR, "pci: libpci fatal error outside a scan");
		abort();
	}
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	longjmp(c->env, 1);
}

__attribute__((format(printf, 1, 2)))
static void pci_warn(char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dpak__log(DPAK_LOG_WARN, "pci: libpci: %s", msg);
}

__attribute__((format(printf, 1, 2)))
static void pci_debug(char *fmt, ...)
{
	char msg[256];
	size_t len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	len = strlen(msg);
	if (len && msg[len - 1] == '\n')
		msg[len - 1] = 0;
	dpak__log(DPAK_LOG_DEBUG, "pci: libpci: %s", msg);
}

const char *dpak__pci_source(char *buf, size_t len)
{
	const char *dump = getenv("DPAK_PCI_DUMP");

	if (dump && *dump)
		snprintf(buf, len, "dump file %s (DPAK_PCI_DUMP)", dump);
	else
		snprintf(buf, len, "the PCI bus");
	return buf;
}

static bool rev_accepted(uint8_t rev)
{
	for (size_t i = 0; i < DPAK_PCI_N_REVISIONS; i++)
		if (dpak_pci_revisions[i] == rev)
			return true;
	return false;
}

static bool id_in_table(uint16_t vendor, uint16_t device)
{
	for (size_t i = 0; i < DPAK_PCI_N_IDS; i++)
		if (dpak_pci_ids[i].vendor == vendor && dpak_pci_ids[i].device == device)
			return true;
	return false;
}

static void describe(struct pci_dev *d, struct dpak_pci_fn *f)
{
	struct pci_cap *cap;

	memset(f, 0, sizeof(*f));
	f->domain = (uint32_t)d->domain;
	f->bus = d->bus;
	f->dev = d->dev;
	f->func = d->func;
	snprintf(f->bdf, sizeof(f->bdf), "%04x:%02x:%02x.%u", f->domain & 0xffffu,
		 f->bus, f->dev, (unsigned)f->func);
	pci_fill_info(d, PCI_FILL_IDENT | PCI_FILL_CLASS | PCI_FILL_CLASS_EXT |
			 PCI_FILL_SUBSYS);
	f->vendor_id = d->vendor_id;
	f->device_id = d->device_id;
	f->revision = d->rev_id;
	f->class_code = (uint32_t)d->device_class << 8 | d->prog_if;
	f->subsys_vendor = d->subsys_vendor_id;
	f->subsys_id = d->subsys_id;
	f->ours = id_in_table(f->vendor_id, f->device_id);
	if (f->vendor_id == DEVIF_PORT_VENDOR_ID &&
	    f->device_id == DEVIF_PORT_DEVICE_ID &&
	    f->subsys_vendor == DEVIF_VENDOR_ID) {
		if (f->subsys_id == DEVIF_SUBSYS_PORT_PF)
			f->port_fn = DPAK_PCI_PORT_PF;
		else if (f->subsys_id == DEVIF_SUBSYS_PORT_VF)
			f->port_fn = DPAK_PCI_PORT_VF;
	}
	if (!f->ours)
		return;
	f->rev_ok = rev_accepted(f->revision);
	pci_fill_info(d, PCI_FILL_BASES | PCI_FILL_SIZES | PCI_FILL_CAPS |
			 PCI_FILL_EXT_CAPS);
	for (int i = 0; i < 6; i++) {
		pciaddr_t b = d->base_addr[i];
		struct dpak_pci_bar *bar = &f->bar[i];

		if (!b)
			continue;
		bar->io = b & PCI_BASE_ADDRESS_SPACE_IO;
		if (bar->io) {
			bar->addr = b & PCI_ADDR_IO_MASK;
		} else {
			bar->addr = b & PCI_ADDR_MEM_MASK;
			bar->mem64 = (b & PCI_BASE_ADDRESS_MEM_TYPE_MASK) ==
				     PCI_BASE_ADDRESS_MEM_TYPE_64;
			bar->prefetch = b & PCI_BASE_ADDRESS_MEM_PREFETCH;
		}
		bar->size = d->size[i];
	}
	cap = pci_find_cap(d, PCI_CAP_ID_MSIX, PCI_CAP_NORMAL);
	if (cap) {
		f->msix = true;
		f->msix_vectors = (pci_read_word(d, (int)cap->addr + 2) /* Message Control */ &
				   PCI_MSIX_TABSIZE) + 1;
	}
	cap = pci_find_cap(d, PCI_EXT_CAP_ID_SRIOV, PCI_CAP_EXTENDED);
	if (cap) {
		f->sriov = true;
		f->sriov_total_vfs = pci_read_word(d, (int)cap->addr + PCI_IOV_TOTALVF);
	}
}

/* The walk over libpci's device list; any libpci call may longjmp out. */
static void walk(struct pci_access *a, struct dpak_pci_fn *fns, size_t max,
		 size_t *n, const struct dpak_pci_fn *want,
		 struct dpak_pci_fn *at, bool *at_found, size_t *n_ports)
{
	struct dpak_pci_fn f;

	pci_scan_bus(a);
	for (struct pci_dev *d = a->devices; d; d = d->next) {
		describe(d, &f);
		if (want && f.domain == want->domain && f.bus == want->bus &&
		    f.dev == want->dev && f.func == want->func) {
			*at = f;
			*at_found = true;
		}
		if (f.port_fn != DPAK_PCI_PORT_NONE) {
			dpak__log(DPAK_LOG_DEBUG, "pci %s: port %s of a dpak device "
				  "(virtio-net, subsystem 0x%04x); left to its "
				  "virtio-net driver", f.bdf,
				  f.port_fn == DPAK_PCI_PORT_PF ? "PF" : "VF",
				  f.subsys_id);
			(*n_ports)++;
		}
		if (!f.ours)
			continue;
		if (*n < max)
			fns[*n] = f;
		(*n)++;
	}
}

/* libpci lists devices in the order its access method found them (a dump:
 * file order); the caller sees bus order. */
static int fn_cmp(const void *x, const void *y)
{
	const struct dpak_pci_fn *a = x, *b = y;
	uint64_t ka = (uint64_t)a->domain << 16 | a->bus << 8 | a->dev << 3 | a->func;
	uint64_t kb = (uint64_t)b->domain << 16 | b->bus << 8 | b->dev << 3 | b->func;

	return ka < kb ? -1 : ka > kb;
}

static int scan(struct dpak_pci_fn *fns, size_t max, size_t *n,
		const struct dpak_pci_fn *bdf, struct dpak_pci_fn *at,
		bool *at_found, size_t *n_ports)
{
	const char *dump = getenv("DPAK_PCI_DUMP");
	struct pci_access *volatile a = NULL;
	struct pci_catch c, *prev = pci_catch;
	char src[300];
	FILE *fp;

	*n = 0;
	*n_ports = 0;
	if (at_found)
		*at_found = false;
	if (dump && !*dump)
		dump = NULL;
	if (dump) { /* libpci's message would lack the errno */
		if (!(fp = fopen(dump, "r")))
			return dpak__err(errno, "pci: DPAK_PCI_DUMP=%s: %s", dump,
					 strerror(errno));
		fclose(fp);
	}
	pci_catch = &c;
	if (setjmp(c.env)) {
		pci_catch = prev;
		if (a)
			pci_cleanup(a);
		*n = 0;
		*n_ports = 0;
		if (at_found)
			*at_found = false;
		return dpak__err(dump ? EINVAL : ENODEV, "pci: reading %s: libpci: %s",
				 dpak__pci_source(src, sizeof(src)), c.msg);
	}
	a = pci_alloc();
	a->error = pci_die;
	a->warning = pci_warn;
	a->debug = pci_debug;
	a->debugging = dpak_log_get_level() >= DPAK_LOG_DEBUG;
	if (dump) {
		a->method = PCI_ACCESS_DUMP;
		if (pci_set_param(a, (char *)"dump.name", (char *)dump))
			pci_die((char *)"this libpci has no dump access");
	} else {
		a->method = PCI_ACCESS_AUTO;
	}
	pci_init(a);
	walk(a, fns, max, n, bdf, at, at_found, n_ports);
	pci_cleanup(a);
	pci_catch = prev;
	qsort(fns, *n < max ? *n : max, sizeof(*fns), fn_cmp);
	return 0;
}

int dpak__pci_scan(struct dpak_pci_fn *fns, size_t max, size_t *n,
		   const struct dpak_pci_fn *bdf, struct dpak_pci_fn *at,
		   bool *at_found)
{
	size_t n_ports;

	return scan(fns, max, n, bdf, at, at_found, &n_ports);
}

/* "DDDD:BB:DD.F" or "BB:DD.F" (hex; function 0-7). */
static int parse_bdf(const char *s, struct dpak_pci_fn *f)
{
	unsigned dom = 0, bus, dev, fn;
	int len = -1;

	memset(f, 0, sizeof(*f));
	if (sscanf(s, "%x:%x:%x.%x%n", &dom, &bus, &dev, &fn, &len) != 4 ||
	    (size_t)len != strlen(s)) {
		len = -1;
		dom = 0;
		if (sscanf(s, "%x:%x.%x%n", &bus, &dev, &fn, &len) != 3 ||
		    (size_t)len != strlen(s))
			return -1;
	}
	if (strspn(s, "0123456789abcdefABCDEF:.") != strlen(s) ||
	    dom > 0xffff || bus > 0xff || dev > 0x1f || fn > 7)
		return -1;
	f->domain = dom;
	f->bus = (uint8_t)bus;
	f->dev = (uint8_t)dev;
	f->func = (uint8_t)fn;
	snprintf(f->bdf, sizeof(f->bdf), "%04x:%02x:%02x.%u", dom, bus, dev, fn);
	return 0;
}

static void accepted_text(char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = 0;
	for (size_t i = 0; i < DPAK_PCI_N_REVISIONS && o < len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s0x%02x", i ? ", " : "",
				      dpak_pci_revisions[i]);
}

/* Before any BAR is mapped (docs/device-interface.md 2.2, "Revision"). */
static int refuse_rev(const struct dpak_pci_fn *f)
{
	char acc[64];

	accepted_text(acc, sizeof(acc));
	return dpak__err(ENODEV, "pci %s: device revision 0x%02x is not "
			 "supported (this libdpak drives revision%s %s)",
			 f->bdf, f->revision, DPAK_PCI_N_REVISIONS > 1 ? "s" : "",
			 acc);
}

#define PCI_MAX_FNS 256

int dpak__pci_find(const char *args, struct dpak_pci_fn *fn)
{
	struct dpak_pci_fn want, at, *fns;
	char src[300];
	bool found;
	size_t n, n_ports;
	int err;

	if (*args && parse_bdf(args, &want))
		return dpak__err(EINVAL, "pci: '%s' is not a PCI address "
				 "(domain:bus:device.function, e.g. 0000:03:00.0)",
				 args);
	fns = calloc(PCI_MAX_FNS, sizeof(*fns));
	if (!fns)
		return dpak__err(ENOMEM, "out of memory");
	err = scan(fns, PCI_MAX_FNS, &n, *args ? &want : NULL, &at, &found,
		   &n_ports);
	if (err)
		goto out;
	if (*args) {
		if (!found)
			err = dpak__err(ENODEV, "pci %s: no device at that address "
					"on %s", want.bdf,
					dpak__pci_source(src, sizeof(src)));
		else if (at.port_fn != DPAK_PCI_PORT_NONE)
			err = dpak__err(ENODEV, "pci %s: a port %s of a dpak device "
					"(virtio-net 0x%04x:0x%04x, subsystem 0x%04x), "
					"for a virtio-net driver; libdpak drives the "
					"device's management function (" DPAK_PCI_IDS_TEXT
					")", at.bdf, at.port_fn == DPAK_PCI_PORT_PF ?
					"PF" : "VF", at.vendor_id, at.device_id,
					at.subsys_id);
		else if (!at.ours)
			err = dpak__err(ENODEV, "pci %s: vendor 0x%04x device "
					"0x%04x is not a libdpak device (looked "
					"for " DPAK_PCI_IDS_TEXT ")", at.bdf,
					at.vendor_id, at.device_id);
		else if (!at.rev_ok)
			err = refuse_rev(&at);
		else
			*fn = at;
		goto out;
	}
	if (!n) {
		char ports[96] = "";

		if (n_ports)
			snprintf(ports, sizeof(ports), "; %zu port function%s of a "
				 "dpak device, but no management function",
				 n_ports, n_ports > 1 ? "s" : "");
		err = dpak__err(ENODEV, "pci: no libdpak device found (looked for "
				DPAK_PCI_IDS_TEXT " on %s%s)",
				dpak__pci_source(src, sizeof(src)), ports);
		goto out;
	}
	for (size_t i = 0; i < n && i < PCI_MAX_FNS; i++) {
		if (fns[i].rev_ok) {
			*fn = fns[i];
			goto out;
		}
		dpak__log(DPAK_LOG_INFO, "pci %s: device revision 0x%02x is not "
			  "supported; passed over for the next device",
			  fns[i].bdf, fns[i].revision);
	}
	err = refuse_rev(&fns[0]);
out:
	free(fns);
	return err;
}
