/* SPDX-License-Identifier: MIT */
/*
 * PCI discovery (lib/backends/pci/discover.c) from libpci dump files
 * (the .dump files under tests/data/pci, read through DPAK_PCI_DUMP): zero, one and
 * several libdpak devices, a revision this library does not drive, a
 * malformed or missing dump; and what dpak_dev_open("pci:...") answers
 * for each (the driver above discovery is not built: a device found gives
 * EOPNOTSUPP, anything else ENODEV or EINVAL).
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
		   "(looked for vendor 0xffd0 device 0xd001/0xd002 on dump file ");
	open_fails("pci:", ENODEV, "none.dump (DPAK_PCI_DUMP))");
	/* another vendor's Ethernet controller, addressed */
	open_fails("pci:0000:05:00.0", ENODEV, "pci 0000:05:00.0: vendor 0x8086 "
		   "device 0x10d3 is not a libdpak device (looked for vendor "
		   "0xffd0 device 0xd001/0xd002)");
	open_fails("pci:0000:09:00.0", ENODEV, "pci 0000:09:00.0: no device at "
		   "that address on dump file ");
	/* the other vendor's device is still seen at its address */
	struct dpak_pci_fn want = { .bus = 5 };
	assert_int_equal(dpak__pci_scan(fns, 8, &n, &want, &at, &found), 0);
	assert_true(found);
	assert_string_equal(at.bdf, "0000:05:00.0");
	assert_false(at.ours);
	assert_int_equal(at.vendor_id, 0x8086);
	assert_int_equal(at.class_code, 0x020000);
}

static void check_pf_0300(const struct dpak_pci_fn *f)
{
	assert_string_equal(f->bdf, "0000:03:00.0");
	assert_int_equal(f->domain, 0);
	assert_int_equal(f->bus, 3);
	assert_int_equal(f->dev, 0);
	assert_int_equal(f->func, 0);
	assert_int_equal(f->vendor_id, DPAK_PCI_VENDOR_ID);
	assert_int_equal(f->device_id, DPAK_PCI_DEVICE_PF);
	assert_int_equal(f->revision, 0x01);
	assert_int_equal(f->class_code, DPAK_PCI_CLASS);
	assert_true(f->ours);
	assert_false(f->is_vf);
	assert_true(f->rev_ok);
	/* BAR0: 64-bit prefetchable memory at 0x38_0000_0000 (BAR1 its upper
	 * half); BAR2: 32-bit memory at 0xfb000000; sizes unknown in a dump */
	assert_int_equal(f->bar[0].addr, 0x3800000000ull);
	assert_true(f->bar[0].mem64);
	assert_true(f->bar[0].prefetch);
	assert_false(f->bar[0].io);
	assert_int_equal(f->bar[0].size, 0);
	assert_int_equal(f->bar[1].addr, 0);
	assert_int_equal(f->bar[2].addr, 0xfb000000u);
	assert_false(f->bar[2].mem64);
	assert_false(f->bar[2].prefetch);
	for (int i = 3; i < 6; i++)
		assert_int_equal(f->bar[i].addr, 0);
	assert_true(f->msix);
	assert_int_equal(f->msix_vectors, 64);
	assert_true(f->sriov);
	assert_int_equal(f->sriov_total_vfs, 8);
}

static void test_one_device(void **state)
{
	struct dpak_pci_fn fns[8], fn;
	size_t n;

	(void)state;
	use_dump("one.dump");
	assert_int_equal(dpak__pci_scan(fns, 8, &n, NULL, NULL, NULL), 0);
	assert_int_equal(n, 1);
	check_pf_0300(&fns[0]);
	assert_int_equal(dpak__pci_find("", &fn), 0);
	check_pf_0300(&fn);
	assert_int_equal(dpak__pci_find("03:00.0", &fn), 0); /* domain 0 implied */
	check_pf_0300(&fn);
	const char *found = "pci 0000:03:00.0 (PF, rev 0x01): found, but the pci "
			    "backend's driver is not built yet "
			    "(docs/device-interface.md describes the interface)";
	open_fails("pci:", EOPNOTSUPP, found);
	open_fails("pci:0000:03:00.0", EOPNOTSUPP, found);
	open_fails("pci:03:00.0", EOPNOTSUPP, found);
	open_fails("pci:0000:03:00.1", ENODEV, "pci 0000:03:00.1: no device at "
		   "that address");
	open_fails("pci:0001:03:00.0", ENODEV, "pci 0001:03:00.0: no device at "
		   "that address");
}

static void test_several_devices(void **state)
{
	struct dpak_pci_fn fns[8], fn;
	size_t n, small;

	(void)state;
	use_dump("several.dump"); /* in the file: 81:00.0, 02:00.0, 03:00.0, 03:10.0 */
	assert_int_equal(dpak__pci_scan(fns, 8, &n, NULL, NULL, NULL), 0);
	assert_int_equal(n, 4);
	/* bus order, whatever the file's order */
	assert_string_equal(fns[0].bdf, "0000:02:00.0");
	assert_false(fns[0].rev_ok);
	assert_int_equal(fns[0].revision, 0x07);
	check_pf_0300(&fns[1]);
	assert_string_equal(fns[2].bdf, "0000:03:10.0");
	assert_true(fns[2].is_vf);
	assert_int_equal(fns[2].device_id, DPAK_PCI_DEVICE_VF);
	assert_true(fns[2].msix);
	assert_int_equal(fns[2].msix_vectors, 4);
	assert_false(fns[2].sriov);
	assert_int_equal(fns[2].bar[0].addr, 0x3801000000ull);
	assert_int_equal(fns[2].bar[2].addr, 0);
	assert_string_equal(fns[3].bdf, "0000:81:00.0");
	assert_int_equal(fns[3].bar[0].addr, 0x39000000000ull);
	assert_int_equal(fns[3].bar[2].addr, 0xfd000000u);
	/* room for fewer than there are: the count is still all of them */
	assert_int_equal(dpak__pci_scan(fns, 2, &small, NULL, NULL, NULL), 0);
	assert_int_equal(small, 4);

	/* "pci:" is the first in bus order with a revision this library
	 * drives: 02:00.0 (rev 0x07) is passed over for 03:00.0 */
	assert_int_equal(dpak__pci_find("", &fn), 0);
	check_pf_0300(&fn);
	open_fails("pci:", EOPNOTSUPP, "pci 0000:03:00.0 (PF, rev 0x01): found");
	/* each addressable by its BDF */
	open_fails("pci:0000:03:00.0", EOPNOTSUPP, "pci 0000:03:00.0 (PF, rev 0x01): found");
	open_fails("pci:0000:03:10.0", EOPNOTSUPP, "pci 0000:03:10.0 (VF, rev 0x01): found");
	open_fails("pci:0000:81:00.0", EOPNOTSUPP, "pci 0000:81:00.0 (PF, rev 0x01): found");
	assert_int_equal(dpak__pci_find("0000:81:00.0", &fn), 0);
	assert_string_equal(fn.bdf, "0000:81:00.0");
	assert_int_equal(dpak__pci_find("0000:03:10.0", &fn), 0);
	assert_true(fn.is_vf);
	open_fails("pci:0000:02:00.0", ENODEV, "pci 0000:02:00.0: device 0xd001 "
		   "revision 0x07 is not one this library drives (accepted "
		   "revisions: 0x01)");
	open_fails("pci:0000:00:01.0", ENODEV, "pci 0000:00:01.0: vendor 0x1af4 "
		   "device 0x1045 is not a libdpak device");
}

static void test_wrong_revision(void **state)
{
	struct dpak_pci_fn fn;
	const char *msg = "pci 0000:04:00.0: device 0xd001 revision 0x07 is not "
			  "one this library drives (accepted revisions: 0x01)";

	(void)state;
	use_dump("badrev.dump");
	memset(&fn, 0xa5, sizeof(fn));
	assert_int_equal(dpak__pci_find("", &fn), -ENODEV);
	assert_non_null(strstr(dpak_errmsg(), msg));
	assert_int_equal(fn.bus, 0xa5); /* a failed call leaves it alone */
	open_fails("pci:", ENODEV, msg);
	open_fails("pci:0000:04:00.0", ENODEV, msg);
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
	open_fails("pci:0000:03:00.0,x", EINVAL, "is not a PCI address");
	open_fails("pci:0000:100:00.0", EINVAL, "is not a PCI address");
	open_fails("pci:-1:03:00.0", EINVAL, "is not a PCI address");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zero_devices),
		cmocka_unit_test(test_one_device),
		cmocka_unit_test(test_several_devices),
		cmocka_unit_test(test_wrong_revision),
		cmocka_unit_test(test_malformed_dump),
		cmocka_unit_test(test_missing_dump),
		cmocka_unit_test(test_bad_address),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
