/* SPDX-License-Identifier: MIT */
/*
 * The device under test of the behaviour suite: one suite, every backend
 * (a backend conformance suite, parameterised by devspec).
 *
 * A behaviour test opens its device with
 *
 *     dpak_dev_open(test_devspec("uplinks=4,pfs=0,vfs=2"), &o)
 *
 * instead of a literal "hwsim:uplinks=4,pfs=0,vfs=2". The environment
 * variable DPAK_TEST_BACKEND chooses what that is:
 *
 *   unset or "hwsim"  "hwsim:" + the arguments: hwsim in this process;
 *   "pci"             a dpak-hwsim-pci(8) process started for this one
 *                     device (--once --dir DIR --bdf 0000:NN:00.0 ARGS, a new
 *                     bus number NN per device, DIR a temporary directory
 *                     of this process), DPAK_PCI_DUMP=DIR/pci.dump and
 *                     DPAK_HWSIM_PCI_DIR=DIR set, and "pci:0000:NN:00.0"
 *                     returned: the pci backend driving hwsim behind the
 *                     register interface of docs/device-interface.md. The
 *                     process ends when the driver closes the device.
 *
 * The program is $DPAK_HWSIM_PCI, else tools/dpak-hwsim-pci of the build
 * tree ($top_builddir, or found from the test binary's path).
 *
 * The dpak_hwsim_* calls the device interface carries (inject, capture,
 * run, set_link, fail_flow_ops, reject_action, reset, attach:
 * docs/device-interface.md 7.12) work on both; a case that needs what only
 * the in-process hwsim has (pcap files, pcap_stats) starts with
 * TEST_HWSIM_ONLY("reason"), which skips it on pci.
 */
#ifndef DPAK_TEST_DEVSPEC_H
#define DPAK_TEST_DEVSPEC_H

#include <stdbool.h>

/* The devspec of a new device under test with hwsim arguments @hwsim_args
 * ("" for the defaults). The string stays valid until the process exits.
 * On pci, a device process that cannot be started fails the calling test
 * (cmocka fail_msg) with what went wrong. */
const char *test_devspec(const char *hwsim_args);

/* "hwsim" or "pci": the backend the devices under test have (the name
 * dpak_dev_info() reports). */
const char *test_backend(void);
bool test_backend_is_pci(void);

/* The backend's wording where the suite checks a message the backend
 * writes: @hwsim on hwsim, @pci on pci. */
const char *test_backend_text(const char *hwsim, const char *pci);

/* Stop the device processes still running and remove the directory;
 * registered with atexit() by the first pci device, callable earlier.
 * A device process that died by a signal or exited non-zero (an ASan
 * report in the device, a crash) is reported on stderr and makes the test
 * program exit 1. */
void test_devspec_cleanup(void);

/* In a cmocka test: skip this case on pci with a one-line reason. */
#define TEST_HWSIM_ONLY(why)                                                \
	do {                                                                \
		if (test_backend_is_pci()) {                                \
			print_message("[ SKIP     ] on pci: %s\n", (why));      \
			skip();                                             \
		}                                                           \
	} while (0)

#endif
