/* SPDX-License-Identifier: MIT */
/**
 * @file dpak.h
 * @brief libdpak umbrella header: include this one.
 *
 *     #include <dpak/dpak.h>
 *     cc app.c $(pkg-config --cflags --libs dpak)
 */
#ifndef DPAK_DPAK_H
#define DPAK_DPAK_H

#include <dpak/version.h>
#include <dpak/common.h>
#include <dpak/device.h>
#include <dpak/flow.h>
#include <dpak/queue.h>
#include <dpak/bond.h>
#include <dpak/hwsim.h>
#include <dpak/event.h>

#endif /* DPAK_DPAK_H */
