/* SPDX-License-Identifier: MIT */
/**
 * @file common.h
 * @brief Conventions shared by every libdpak call: export macro, option
 *        structs, errors, logging and version.
 *
 * Every call returns 0 or a negative errno value, or (for calls returning a
 * pointer) NULL with errno set. After a failure, dpak_errmsg() gives a
 * per-thread message that names the offending item, action or field (data
 * path calls that fail only for an ordinary reason, such as -EAGAIN from an
 * empty queue, leave it alone). A call that fails changes nothing, except
 * where its documentation says it works entry by entry (batches, flush).
 */
#ifndef DPAK_COMMON_H
#define DPAK_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef DPAK_API
#define DPAK_API __attribute__((visibility("default")))
#endif

/**
 * Declare and initialise an extensible option struct.
 *
 * Every option struct starts with `size_t sz`. This macro zeroes the whole
 * struct (padding included), sets `sz` to its size and applies the
 * designated initialisers given:
 *
 *     DPAK_OPTS(dpak_flow_opts, o, .priority = 3, .cookie = 42);
 *     dpak_flow_add(table, items, actions, &o, &flow);
 *
 * The library accepts structs from older releases (smaller `sz`) and
 * rejects, with -EINVAL, structs from newer releases whose fields it does
 * not know unless those fields are zero.
 */
#define DPAK_OPTS(TYPE, NAME, ...)                                             \
	struct TYPE NAME = ({                                                  \
		memset(&NAME, 0, sizeof(struct TYPE));                         \
		(struct TYPE){ .sz = sizeof(struct TYPE), __VA_ARGS__ };       \
	})

/**
 * Describe an error code.
 *
 * @param err an error code, negative (as returned) or positive.
 * @return a string, never NULL: static for known codes; for unknown ones a
 *         per-thread buffer that the next call on that thread overwrites.
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API const char *dpak_strerror(int err);

/**
 * Detail of the last error on the calling thread.
 *
 * Set by failing libdpak calls with a message that names what was wrong,
 * for example
 * "item 1 (ipv4): mask on ip_ttl not supported by table l2 (key: in_port,eth_dst,vlan_tci)".
 * Successful calls leave it unchanged.
 *
 * @return a per-thread string, valid until the next libdpak call on the same
 *         thread; "" if no error was recorded.
 * @par Thread safety
 * Per thread; safe from any thread.
 */
DPAK_API const char *dpak_errmsg(void);

/** Log levels, in increasing verbosity. */
enum dpak_log_level {
	DPAK_LOG_ERR = 0,   /**< errors */
	DPAK_LOG_WARN = 1,  /**< warnings (the default level) */
	DPAK_LOG_INFO = 2,  /**< informational messages */
	DPAK_LOG_DEBUG = 3, /**< debugging */
};

/**
 * A log callback.
 *
 * @param level the message's level.
 * @param msg   the message, without a trailing newline.
 * @param ctx   the pointer given to dpak_log_set_fn().
 */
typedef void (*dpak_log_fn)(enum dpak_log_level level, const char *msg,
			    void *ctx);

/**
 * Route library log messages to a callback.
 *
 * By default messages at DPAK_LOG_WARN and below go to stderr. The level can
 * also be set with the environment variable DPAK_LOG_LEVEL (err, warn, info,
 * debug, or 0-3), read once at the first log message or level query unless
 * dpak_log_set_level() was called first.
 *
 * @param fn  the callback, or NULL to restore the stderr default.
 * @param ctx passed to @p fn unchanged.
 * @par Thread safety
 * Safe from any thread; messages already being emitted may still reach the
 * previous callback.
 */
DPAK_API void dpak_log_set_fn(dpak_log_fn fn, void *ctx);

/**
 * Set the log level: messages more verbose than @p level are dropped.
 *
 * @param level one of enum dpak_log_level.
 * @return 0, or -EINVAL if @p level is not a known level.
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API int dpak_log_set_level(enum dpak_log_level level);

/**
 * Current log level.
 *
 * @return the level in effect (after DPAK_LOG_LEVEL was applied).
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API enum dpak_log_level dpak_log_get_level(void);

/**
 * The library's version string, for example "0.1.0".
 *
 * This is the version of the library loaded at run time; DPAK_VERSION in
 * <dpak/version.h> is the version compiled against.
 *
 * @return a static string.
 * @par Thread safety
 * Safe from any thread.
 */
DPAK_API const char *dpak_version(void);

#ifdef __cplusplus
}
#endif
#endif /* DPAK_COMMON_H */
