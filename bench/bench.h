/* SPDX-License-Identifier: MIT */
/* Shared bits of the benchmarks: time, random keys, result tables, DPDK's
 * environment for the peers. */
#ifndef DPAK_BENCH_H
#define DPAK_BENCH_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

static inline double bench_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* xorshift64*: deterministic keys, the same for libdpak and the peer. */
static inline uint64_t bench_rand(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

/* Print the header: machine and the exact command. */
void bench_header(int argc, char **argv, const char *what);
/* The same with columns of other names than libdpak, peer, ratio. */
void bench_header_cols(int argc, char **argv, const char *what, const char *col1,
		       const char *col2, const char *ratio);
/* One row: metric, libdpak, peer (0: none), unit. */
void bench_row(const char *metric, double ours, double peer, const char *unit);
/* Start DPDK's EAL for the peers (no hugepages, no PCI); 0 if it runs. */
int bench_eal_init(const char *prefix);

#endif
