/* SPDX-License-Identifier: MIT */
/* Option and output structs, time, version. */
#include <errno.h>
#include <string.h>
#include <time.h>
#include "core.h"

int dpak__opts_check(const void *opts, size_t known, const char *type)
{
	size_t sz;

	if (!opts)
		return 0;
	memcpy(&sz, opts, sizeof(sz));
	if (sz < sizeof(size_t))
		return dpak__err(EINVAL, "struct %s: sz is %zu; set it with "
				 "DPAK_OPTS() or to sizeof(struct %s)", type, sz, type);
	for (size_t i = known; i < sz; i++)
		if (((const uint8_t *)opts)[i])
			return dpak__err(EINVAL, "struct %s: unknown non-zero field "
					 "at byte %zu (from a newer libdpak? this one "
					 "knows %zu bytes)", type, i, known);
	return 0;
}

int dpak__out(void *dst, const void *src, size_t known, const char *type)
{
	size_t sz;

	if (!dst)
		return dpak__err(EINVAL, "struct %s: NULL", type);
	memcpy(&sz, dst, sizeof(sz));
	if (sz < sizeof(size_t))
		return dpak__err(EINVAL, "struct %s: set sz to sizeof(struct %s) "
				 "first", type, type);
	if (sz > known) {
		memset((uint8_t *)dst + known, 0, sz - known);
		sz = known;
	}
	memcpy((uint8_t *)dst + sizeof(size_t), (const uint8_t *)src + sizeof(size_t),
	       sz - sizeof(size_t));
	return 0;
}

uint64_t dpak__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

DPAK_API const char *dpak_version(void)
{
	return PACKAGE_VERSION;
}
