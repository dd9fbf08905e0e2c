/* SPDX-License-Identifier: MIT */
/* Logging: a callback with levels; stderr at warnings by default; the
 * level may come from DPAK_LOG_LEVEL. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"

static const char *const level_names[] = { "err", "warn", "info", "debug" };

static struct {
	pthread_mutex_t lock;
	dpak_log_fn fn;
	void *ctx;
	int level; /* -1: not yet read from the environment */
} log_state = { PTHREAD_MUTEX_INITIALIZER, NULL, NULL, -1 };

static int level_from_env(void)
{
	const char *v = getenv("DPAK_LOG_LEVEL");

	if (!v || !*v)
		return DPAK_LOG_WARN;
	for (int i = 0; i < 4; i++)
		if (!strcmp(v, level_names[i]) || (v[0] == '0' + i && !v[1]))
			return i;
	fprintf(stderr, "libdpak: DPAK_LOG_LEVEL=%s not understood "
		"(err, warn, info, debug or 0-3); using warn\n", v);
	return DPAK_LOG_WARN;
}

static int current_level(void)
{
	int l = __atomic_load_n(&log_state.level, __ATOMIC_ACQUIRE);

	if (l < 0) {
		int want = level_from_env(), expect = -1;
		__atomic_compare_exchange_n(&log_state.level, &expect, want, 0,
					    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE);
		l = __atomic_load_n(&log_state.level, __ATOMIC_ACQUIRE);
	}
	return l;
}

void dpak__log(enum dpak_log_level level, const char *fmt, ...)
{
	char msg[1024];
	dpak_log_fn fn;
	void *ctx;
	va_list ap;

	if ((int)level > current_level())
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&log_state.lock);
	fn = log_state.fn;
	ctx = log_state.ctx;
	pthread_mutex_unlock(&log_state.lock);
	if (fn)
		fn(level, msg, ctx);
	else
		fprintf(stderr, "libdpak %s: %s\n", level_names[level], msg);
}

DPAK_API void dpak_log_set_fn(dpak_log_fn fn, void *ctx)
{
	pthread_mutex_lock(&log_state.lock);
	log_state.fn = fn;
	log_state.ctx = ctx;
	pthread_mutex_unlock(&log_state.lock);
}

DPAK_API int dpak_log_set_level(enum dpak_log_level level)
{
	if ((int)level < DPAK_LOG_ERR || level > DPAK_LOG_DEBUG)
		return dpak__err(EINVAL, "log level %d unknown (0-3)", (int)level);
	__atomic_store_n(&log_state.level, (int)level, __ATOMIC_RELEASE);
	return 0;
}

DPAK_API enum dpak_log_level dpak_log_get_level(void)
{
	return (enum dpak_log_level)current_level();
}
