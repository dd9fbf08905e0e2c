/* SPDX-License-Identifier: MIT */
/* Error codes and the per-thread error detail. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "core.h"

#define MSG_MAX 512

/* The default (dynamic) TLS model everywhere: libdpak may be loaded with
 * dlopen(), as the net_dpak DPDK plugin's dependency, and initial-exec TLS
 * would then need static TLS space the loader does not have. configure
 * adds -mtls-dialect=gnu2 where the compiler has it: TLS descriptors keep
 * the dynamic model as cheap as initial-exec. */
static __thread char errmsg[MSG_MAX];

int dpak__err(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
	va_end(ap);
	dpak__log(DPAK_LOG_DEBUG, "error %d: %s", -err, errmsg);
	return -err;
}

void dpak__err_prefix(const char *fmt, ...)
{
	char msg[MSG_MAX];
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	n = (size_t)vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n + 2 >= sizeof(msg))
		return;
	memcpy(msg + n, ": ", 2);
	n += 2;
	size_t old = strnlen(errmsg, sizeof(errmsg) - 1);
	if (old > sizeof(msg) - 1 - n)
		old = sizeof(msg) - 1 - n;
	memcpy(msg + n, errmsg, old);
	msg[n + old] = 0;
	memcpy(errmsg, msg, n + old + 1);
}

_Static_assert(sizeof(struct dpak__errsave) == MSG_MAX, "one message size");

void dpak__err_save(struct dpak__errsave *s)
{
	memcpy(s->msg, errmsg, sizeof(s->msg));
}

void dpak__err_restore(const struct dpak__errsave *s)
{
	memcpy(errmsg, s->msg, sizeof(errmsg));
}

DPAK_API const char *dpak_errmsg(void)
{
	return errmsg;
}

DPAK_API const char *dpak_strerror(int err)
{
	static __thread char buf[64];

	if (err < 0)
		err = -err;
	if (err == 0)
		return "Success";
	/* strerror_r (GNU) may return a static string or fill buf. */
	return strerror_r(err, buf, sizeof(buf));
}
