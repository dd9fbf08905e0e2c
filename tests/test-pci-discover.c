/* SPDX-License-Identifier: MIT */
/*
 * PCI discovery (lib/backends/pci/discover.c) from libpci dump files
 * (the .dump files under tests/data/pci, read through DPAK_PCI_DUMP): zero,
 * one and several dpak management functions (docs/device-interface.md
 * 2.2), a revision this library does not drive, the virtio-net port
 * functions of a dpak device (recognised, never offered), a malformed or
 * missing dump; and what dpak_dev_open("pci:...") answers where discovery
 * refuses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"
#include "backends/pci/discover.h"

static void use_dump(const char *name)
{
	const char *top = getenv("top_srcdir");
	char path[4096];

	snprintf(path, sizeof(path), "%s/tests/data/pci/%s",
		 top && *top ? top : ".", name);
	assert_int_equal(setenv("DPAK_PCI_DUMP", path, 1), 0);
}

/* dpak_dev_open(@devspec) fails with @err and a message holding @text. */
static void open_fails(const char *devspec, int err, const char *text)
{
	errno = 0;
	assert_null(dpak_dev_open(devspec, NULL));
	if (errno != err || !strstr(dpak_errmsg(), text))
		fail_msg("%s: errno %d (%s), message '%s'; wanted errno %d and '%s'",
			 devspec, errno, strerror(errno), dpak_errmsg(), err, text);
}

/* dpak__pci_find(@args) fails with -@err and a message holding @text, and
 * leaves its output alone. */
static void find_fails(const char *args, int err, const char *text)
{
	struct dpak_pci_fn fn;

	memset(&fn, 0xa5, sizeof(fn));
	assert_int_equal(dpak__pci_find(args, &fn), -err);
	if (!strstr(dpak_errmsg(), text))
		fail_msg("'%s': message '%s'; wanted '%s'", args, dpak_errmsg(), text);
	assert_int_equal(fn.bus, 0xa5);
	assert_int_equal(fn.vendor_id, 0xa5a5);
}

static void test_zero_devices(void **state)
{
	struct dpak_pci_fn fns[8], at;
	bool found;
	size_t n = 99;

	(void)state;
	use_dump("none.dump");
	assert_int_equal(dpak__pci_scan(fns, 8, &n, NULL, NULL, NULL), 0);
	assert_int_equal(n, 0);
	open_fails("pci:", ENODEV, "devspec 'pci:': pci: no libdpak device found "
		   "(looked for vendor 0xd9ac device 0xd001 on dump file ");
	open_fails("pci:", ENODEV, "none.dump (DPAK_PCI_DUMP))");
	find_fails("", ENODEV, "none.dump (DPAK_PCI_DUMP))");
	/* another vendor's Ethernet controller, addressed */
	open_fails("pci:0000:05:00.0", ENODEV, "pci 0000:05:00.0: vendor 0x8086 "
		   "device 0x10d3 is not a libdpak device (looked for vendor "
		   "0xd9ac device 0xd001)");
	/* a virtio-net device of another subsystem is no port function of ours */
	open_fails("pci:0000:00:03.0", ENODEV, "pci 0000:00:03.0: vendor 0x1af4 "
		   "device 0x1041 is not a libdpak device");
	open_fails("pci:0000:09:00.0", ENODEV, "pci 0000:09:00.0: no device at "
		   "that address on dump file ");
	/* the other vendor's device is still seen at its address */
	struct dpak_pci_fn want = { .bus = 5 };
	assert_int_equal(dpak__pci_scan(fns, 8, &n, &want, &at, &found), 0);
	assert_true(found);
	assert_string_equal(at.bdf, "0000:05:00.0");
	assert_false(at.ours);
	assert_int_equal(at.port_fn, DPAK_PCI_PORT_NONE);
	assert_int_equal(at.vendor_id, 0x8086);
	assert_int_equal(at.class_code, 0x020000);
	want = (struct dpak_pci_fn){ .bus = 0, .dev = 3 };
	assert_int_equal(dpak__pci_scan(fns, 8, &n, &want, &at, &found), 0);
	assert_true(found);
	assert_int_equal(at.vendor_id, DEVIF_PORT_VENDOR_ID);
	assert_int_equal(at.device_id, DEVIF_PORT_DEVICE_ID);
	assert_int_equal(at.subsys_vendor, 0x1af4);
	assert_int_equal(at.port_fn, DPAK_PCI_PORT_NONE);
	assert_false(at.ours);
}

/* The management function of section 2.2/2.3 at 0000:03:00.0 with its
 * BARs at @bar (BAR0 64 KiB, BAR2 8 KiB after it, BAR4 4 KiB after that,
 * all 64-bit non-prefetchable memory). */
static void check_mgmt(const struct dpak_pci_fn *f, const char *bdf, uint64_t bar)
{
	assert_string_equal(f->bdf, bdf);
	assert_int_equal(f->vendor_id, 0xd9ac);
	assert_int_equal(f->device_id, 0xd001);
	assert_int_equal(f->vendor_id, DEVIF_VENDOR_ID);
	assert_int_equal(f->device_id, DEVIF_DEVICE_ID);
	assert_int_equal(f->revision, 0x01);
	assert_int_equal(f->class_code, 0x028000);
	assert_int_equal(f->class_code, DPAK_PCI_CLASS);
	assert_int_equal(f->subsys_vendor, 0xd9ac);
	assert_int_equal(f->subsys_id, DEVIF_SUBSYS_MGMT);
	assert_true(f->ours);
	assert_true(f->rev_ok);
	assert_int_equal(f->port_fn, DPAK_PCI_PORT_NONE);
	/* sizes are unknown in a dump */
	for (int i = 0; i < 6; i += 2) {
		static const uint64_t off[3] = { 0, 0x10000, 0x12000 };
		assert_int_equal(f->bar[i].addr, bar + off[i / 2]);
		assert_true(f->bar[i].mem64);
		assert_false(f->bar[i].prefetch);
		assert_false(f->bar[i].io);
		assert_int_equal(f->bar[i].size, 0);
		assert_int_equal(f->bar[i + 1].addr, 0); /* the upper halves */
	}
	assert_true(f->msix);
	assert_int_equal(f->msix_vectors, 67);
	assert_int_equal(f->msix_vectors, DEVIF_N_VECTORS);
	assert_false(f->sriov); /* nothing a VM reaches programs the switch */
	assert_int_equal(f->sriov_total_vfs, 0);
}

static void check_pf_0300(const struct dpak_pci_fn *f)
{
	check_mgmt(f, "0000:03:00.0", 0xfb000000u);
	assert_int_equal(f->domain, 0);
	assert_int_equal(f->bus, 3);
	assert_int_equal(f->dev, 0);
	assert_int_equal(f->func, 0);
}

static void test_one_device(void **state)
{
	struct dpak_pci_fn fns[8], fn, at;
	bool found;
	size_t n;

	(void)state;
	use_dump("one.dump"); /* 03:00.0 and its port PFs 03:00.1, 03:00.2, VF 03:01.0 */
	assert_int_equal(dpak__pci_scan(fns, 8, &n, NULL, NULL, NULL), 0);
	assert_int_equal(n, 1);
	check_pf_0300(&fns[0]);
	assert_int_equal(dpak__pci_find("", &fn), 0);
	check_pf_0300(&fn);
	assert_int_equal(dpak__pci_find("0000:03:00.0", &fn), 0);
	check_pf_0300(&fn);
	assert_int_equal(dpak__pci_find("03:00.0", &fn), 0); /* domain 0 implied */
	check_pf_0300(&fn);
	open_fails("pci:0000:03:00.3", ENODEV, "pci 0000:03:00.3: no device at "
		   "that address");
	open_fails("pci:0001:03:00.0", ENODEV, "pci 0001:03:00.0: no device at "
		   "that address");

	/* the port functions are seen at their addresses, never as ours */
	struct dpak_pci_fn want = { .bus = 3, .func = 1 };
	assert_int_equal(dpak__pci_scan(fns, 8, &n, &want, &at, &found), 0);
	assert_int_equal(n, 1);
	assert_true(found);
	assert_string_equal(at.bdf, "0000:03:00.1");
	assert_false(at.ours);
	assert_false(at.rev_ok);
	assert_int_equal(at.port_fn, DPAK_PCI_PORT_PF);
	assert_int_equal(at.vendor_id, 0x1af4);
	assert_int_equal(at.device_id, 0x1041);
	assert_int_equal(at.subsys_vendor, 0xd9ac);
	assert_int_equal(at.subsys_id, 0xd011);
	want = (struct dpak_pci_fn){ .bus = 3, .dev = 1 };
	assert_int_equal(dpak__pci_scan(fns, 8, &n, &want, &at, &found), 0);
	assert_true(found);
	assert_int_equal(at.port_fn, DPAK_PCI_PORT_VF);
	assert_int_equal(at.subsys_id, 0xd012);
	assert_false(at.ours);
}

/* A virtio port function is never taken for a management function:
 * addressed, it is refused with what it is; "pci:" never picks one. */
static void test_port_functions(void **state)
{
	struct dpak_pci_fn fns[8];
	size_t n = 99;

	(void)state;
	use_dump("one.dump");
	const char *pf = "pci 0000:03:00.1: a port PF of a dpak device (virtio-net "
			 "0x1af4:0x1041, subsystem 0xd011), for a virtio-net driver; "
			 "libdpak drives the device's management function (vendor "
			 "0xd9ac device 0xd001)";
	find_fails("0000:03:00.1", ENODEV, pf);
	open_fails("pci:0000:03:00.1", ENODEV, pf);
	find_fails("03:00.2", ENODEV, "pci 0000:03:00.2: a port PF of a dpak device");
	find_fails("0000:03:01.0", ENODEV, "pci 0000:03:01.0: a port VF of a dpak "
		   "device (virtio-net 0x1af4:0x1041, subsystem 0xd012)");
	open_fails("pci:0000:03:01.0", ENODEV, "a port VF of a dpak device");

	/* port functions alone (the management function is elsewhere) */
	use_dump("ports.dump");
	assert_int_equal(dpak__pci_scan(fns, 8, &n, NULL, NULL, NULL), 0);
	assert_int_equal(n, 0);
	const char *none = "pci: no libdpak device found (looked for vendor 0xd9ac "
			   "device 0xd001 on dump file ";
	find_fails("", ENODEV, none);
	find_fails("", ENODEV, "ports.dump (DPAK_PCI_DUMP); 2 port functions of "
		   "a dpak device, but no management function)");
	open_fails("pci:", ENODEV, none);
	open_fails("pci:0000:03:00.1", ENODEV, "pci 0000:03:00.1: a port PF of a dpak device");
	open_fails("pci:0000:00:03.0", ENODEV, "pci 0000:00:03.0: vendor 0x1af4 "
		   "device 0x1041 is not a libdpak device");
}

static void test_several_devices(void **state)
{
	struct dpak_pci_fn fns[8], fn;
	size_t n, small;

	(void)state;
	/* in the file: 81:00.0, VF 03:01.0, 00:00.0, 02:00.0 (rev 0x02),
	 * port PF 03:00.1, 03:00.0 */
	use_dump("several.dump");
	assert_int_equal(dpak__pci_scan(fns, 8, &n, NULL, NULL, NULL), 0);
	assert_int_equal(n, 3); /* the management functions only */
	/* bus order, whatever the file's order */
	assert_string_equal(fns[0].bdf, "0000:02:00.0");
	assert_true(fns[0].ours);
	assert_false(fns[0].rev_ok);
	assert_int_equal(fns[0].revision, 0x02);
	assert_int_equal(fns[0].bar[0].addr, 0xfa000000u);
	check_pf_0300(&fns[1]);
	check_mgmt(&fns[2], "0000:81:00.0", 0xfd000000u);
	assert_int_equal(fns[2].bus, 0x81);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(fns[i].port_fn, DPAK_PCI_PORT_NONE);
	/* room for fewer than there are: the count is still all of them */
	assert_int_equal(dpak__pci_scan(fns, 2, &small, NULL, NULL, NULL), 0);
	assert_int_equal(small, 3);
	assert_string_equal(fns[0].bdf, "0000:02:00.0");
	assert_string_equal(fns[1].bdf, "0000:03:00.0");

	/* "pci:" is the first in bus order with a revision this library
	 * drives: 02:00.0 (rev 0x02) is passed over for 03:00.0 */
	assert_int_equal(dpak__pci_find("", &fn), 0);
	check_pf_0300(&fn);
	/* each addressable by its BDF */
	assert_int_equal(dpak__pci_find("0000:81:00.0", &fn), 0);
	check_mgmt(&fn, "0000:81:00.0", 0xfd000000u);
	assert_int_equal(dpak__pci_find("03:00.0", &fn), 0);
	check_pf_0300(&fn);
	const char *rev = "pci 0000:02:00.0: device revision 0x02 is not supported "
			  "(this libdpak drives revision 0x01)";
	find_fails("0000:02:00.0", ENODEV, rev);
	open_fails("pci:0000:02:00.0", ENODEV, rev);
	find_fails("0000:03:00.1", ENODEV, "pci 0000:03:00.1: a port PF of a dpak device");
	find_fails("0000:03:01.0", ENODEV, "pci 0000:03:01.0: a port VF of a dpak device");
	open_fails("pci:0000:00:00.0", ENODEV, "pci 0000:00:00.0: vendor 0x8086 "
		   "device 0x0d57 is not a libdpak device");
}

static void test_wrong_revision(void **state)
{
	struct dpak_pci_fn fns[8];
	size_t n;
	/* docs/device-interface.md 2.2, word for word */
	const char *msg = "pci 0000:03:00.0: device revision 0x02 is not supported "
			  "(this libdpak drives revision 0x01)";

	(void)state;
	use_dump("badrev.dump");
	assert_int_equal(dpak__pci_scan(fns, 8, &n, NULL, NULL, NULL), 0);
	assert_int_equal(n, 1);
	assert_true(fns[0].ours);
	assert_false(fns[0].rev_ok);
	find_fails("", ENODEV, msg);
	find_fails("0000:03:00.0", ENODEV, msg);
	open_fails("pci:", ENODEV, msg);
	open_fails("pci:0000:03:00.0", ENODEV, msg);
	open_fails("pci:03:00.0", ENODEV, msg);
}

static void test_malformed_dump(void **state)
{
	struct dpak_pci_fn fns[8];
	size_t n;

	(void)state;
	use_dump("malformed.dump");
	/* libpci's fatal error comes back as an error, the process lives on */
	assert_int_equal(dpak__pci_scan(fns, 8, &n, NULL, NULL, NULL), -EINVAL);
	assert_int_equal(n, 0);
	assert_non_null(strstr(dpak_errmsg(), "pci: reading dump file "));
	assert_non_null(strstr(dpak_errmsg(), "malformed.dump (DPAK_PCI_DUMP): "
					      "libpci: dump: Malformed line"));
	open_fails("pci:", EINVAL, "libpci: dump: Malformed line");
	open_fails("pci:0000:03:00.0", EINVAL, "libpci: dump: Malformed line");
	/* and discovery works again afterwards */
	use_dump("one.dump");
	assert_int_equal(dpak__pci_scan(fns, 8, &n, NULL, NULL, NULL), 0);
	assert_int_equal(n, 1);
	check_pf_0300(&fns[0]);
}

static void test_missing_dump(void **state)
{
	(void)state;
	use_dump("no-such.dump");
	open_fails("pci:", ENOENT, "pci: DPAK_PCI_DUMP=");
	open_fails("pci:", ENOENT, "no-such.dump: No such file or directory");
}

static void test_bad_address(void **state)
{
	(void)state;
	use_dump("one.dump");
	open_fails("pci:zz", EINVAL, "pci: 'zz' is not a PCI address "
		   "(domain:bus:device.function, e.g. 0000:03:00.0)");
	open_fails("pci:0000:03:00.8", EINVAL, "'0000:03:00.8' is not a PCI address");
	open_fails("pci:0000:03:20.0", EINVAL, "'0000:03:20.0' is not a PCI address");
	/* after the address come the backend's own name=value arguments */
	open_fails("pci:0000:03:00.0,x", EINVAL, "pci argument 'x'");
	open_fails("pci:0000:100:00.0", EINVAL, "is not a PCI address");
	open_fails("pci:-1:03:00.0", EINVAL, "is not a PCI address");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_devices),
		cmocka_unit_test(test_one_device),
		cmocka_unit_test(test_port_functions),
		cmocka_unit_test(test_several_devices),
		cmocka_unit_test(test_wrong_revision),
		cmocka_unit_test(test_malformed_dump),
		cmocka_unit_test(test_missing_dump),
		cmocka_unit_test(test_bad_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
