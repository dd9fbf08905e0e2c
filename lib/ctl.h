/* SPDX-License-Identifier: MIT */
/*
 * The control socket: protocol, output and commands (see dpak-ctl(8) for
 * the protocol as the operator sees it).
 *
 * Request: one line of at most CTL_MAX_REQ bytes,
 *     DPAK/1 <command> [name=value ...]\n
 * Response: a header line and a body of exactly <length> bytes,
 *     DPAK/1 <code> <length>\n<body>
 * code 0: the body is the output (JSON when the request had json=1, else
 * aligned text); code > 0: an errno, and the body says what was wrong.
 */
#ifndef DPAK_CTL_H
#define DPAK_CTL_H

#include <stddef.h>
#include <stdint.h>

#define CTL_PROTO "DPAK/1"
#define CTL_MAX_REQ 20480 /* room for a 9224-byte frame in hex (trace) */
#define CTL_MAX_ARGS 16

struct ctl_req {
	char buf[CTL_MAX_REQ];
	const char *cmd;
	unsigned n_args;
	const char *name[CTL_MAX_ARGS], *value[CTL_MAX_ARGS];
	char err[160];
};

/* Parse one request line (without or with its newline). 0, or -EINVAL /
 * -E2BIG / -EPROTO with req->err saying why. Pure: the fuzz target. */
int ctl_parse(const char *line, size_t len, struct ctl_req *req);
/* The value of argument @name, or NULL. */
const char *ctl_arg(const struct ctl_req *req, const char *name);

/* Output: a table of rows, rendered as aligned text or JSON. */
struct ctl_out;
struct ctl_out *ctl_out_new(const char *what, int json);
void ctl_out_free(struct ctl_out *o);
/* Declare the columns (before the first row). */
void ctl_out_cols(struct ctl_out *o, unsigned n, const char *const *names);
/* Add a row of n cells (printf-formatted each): strings, numbers. */
void ctl_out_row(struct ctl_out *o, const char *const *cells);
/* A line of text after the table (text form) / a "note" (JSON). */
void ctl_out_note(struct ctl_out *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Where the next page of a paged answer starts: a token the client sends
 * back as start=TOKEN. Text: a last line "more: start=TOKEN"; JSON: a
 * "next" member. */
void ctl_out_next(struct ctl_out *o, const char *token);
/* Render; the caller frees *body. Returns its length, or -ENOMEM. */
long ctl_out_render(struct ctl_out *o, char **body);

struct dpak_dev;
/* Run a parsed request on @dev: 0 with the output, or a positive errno with
 * a message in *body. */
int ctl_run(struct dpak_dev *dev, const struct ctl_req *req, char **body,
	    long *len);

/* Slow-path capture (capture.c): start one into @path (count packets
 * and/or secs seconds; 0: no limit of that kind), end it early, read its
 * state. 0 or a negative errno with the detail message set. */
enum cap_state { CAP_CAPTURING, CAP_FLUSHING, CAP_DONE, CAP_FAILED };
struct cap_status {
	int state;                /* enum cap_state */
	int err;                  /* CAP_FAILED: the write error */
	uint64_t written;         /* packets written to the file whole */
	uint64_t dropped;         /* taken but not written: the sink was slow */
	char path[256];
};
int dpak__capture_start(struct dpak_dev *dev, const char *path, uint64_t count,
			uint64_t secs);
int dpak__capture_end(struct dpak_dev *dev);
int dpak__capture_status(struct dpak_dev *dev, struct cap_status *st);

#endif
