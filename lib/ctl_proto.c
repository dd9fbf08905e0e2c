/* SPDX-License-Identifier: MIT */
/* Control protocol: request parsing and output rendering (no I/O). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ctl.h"

static int bad(struct ctl_req *r, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bad(struct ctl_req *r, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
	return -err;
}

static int is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

int ctl_parse(const char *line, size_t len, struct ctl_req *r)
{
	char *p;
	size_t pl = strlen(CTL_PROTO);

	r->cmd = NULL;
	r->n_args = 0;
	r->err[0] = 0;
	if (len && line[len - 1] == '\n')
		len--;
	if (len >= sizeof(r->buf))
		return bad(r, E2BIG, "request longer than %d bytes", CTL_MAX_REQ - 1);
	memcpy(r->buf, line, len);
	r->buf[len] = 0;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)r->buf[i] < 0x20 || (unsigned char)r->buf[i] > 0x7e)
			return bad(r, EINVAL, "byte %zu: 0x%02x is not printable ASCII", i,
				   (unsigned char)r->buf[i]);
	if (len < pl || memcmp(r->buf, CTL_PROTO, pl) || (len > pl && r->buf[pl] != ' '))
		return bad(r, EPROTO, "not a %s request (does it start with '%s '?)",
			   CTL_PROTO, CTL_PROTO);
	/* Split at single spaces (the separators become terminators). */
	char *tok[CTL_MAX_ARGS + 2];
	unsigned n_tok = 0;
	p = r->buf + pl;
	while (*p == ' ') {
		*p++ = 0;
		if (*p == ' ' || !*p)
			return bad(r, EINVAL, "empty word at byte %ld (two spaces, or a "
				   "space at the end)", (long)(p - r->buf));
		if (n_tok == CTL_MAX_ARGS + 1)
			return bad(r, E2BIG, "more than %d arguments", CTL_MAX_ARGS);
		tok[n_tok++] = p;
		while (*p && *p != ' ')
			p++;
	}
	for (unsigned t = 0; t < n_tok; t++) {
		char *w = tok[t], *eq;
		if (!t) {
			for (char *c = w; *c; c++)
				if (!is_name_char(*c))
					return bad(r, EINVAL, "command '%s': use a-z, 0-9, '-'", w);
			r->cmd = w;
			continue;
		}
		if (!(eq = strchr(w, '=')) || eq == w)
			return bad(r, EINVAL, "argument '%s' is not name=value", w);
		*eq = 0;
		for (char *c = w; *c; c++)
			if (!is_name_char(*c))
				return bad(r, EINVAL, "argument name '%s': use a-z, 0-9, '-', '_'", w);
		for (unsigned i = 0; i < r->n_args; i++)
			if (!strcmp(r->name[i], w))
				return bad(r, EINVAL, "argument '%s' given twice", w);
		r->name[r->n_args] = w;
		r->value[r->n_args++] = eq + 1;
	}
	if (!r->cmd)
		return bad(r, EINVAL, "no command");
	return 0;
}

const char *ctl_arg(const struct ctl_req *r, const char *name)
{
	for (unsigned i = 0; i < r->n_args; i++)
		if (!strcmp(r->name[i], name))
			return r->value[i];
	return NULL;
}

/* Output. */

#define MAX_COLS 16

struct ctl_out {
	char what[32];
	int json;
	unsigned n_cols;
	char *cols[MAX_COLS];
	char **cells; /* n_rows * n_cols */
	size_t n_rows, cap_rows;
	char *notes;
	size_t notes_len;
	char *next;
	int oom;
};

struct ctl_out *ctl_out_new(const char *what, int json)
{
	struct ctl_out *o = calloc(1, sizeof(*o));

	if (o) {
		snprintf(o->what, sizeof(o->what), "%s", what);
		o->json = json;
	}
	return o;
}

void ctl_out_free(struct ctl_out *o)
{
	if (!o)
		return;
	for (unsigned i = 0; i < o->n_cols; i++)
		free(o->cols[i]);
	for (size_t i = 0; i < o->n_rows * o->n_cols; i++)
		free(o->cells[i]);
	free(o->cells);
	free(o->notes);
	free(o->next);
	free(o);
}

void ctl_out_next(struct ctl_out *o, const char *token)
{
	free(o->next);
	if (!(o->next = strdup(token)))
		o->oom = 1;
}

void ctl_out_cols(struct ctl_out *o, unsigned n, const char *const *names)
{
	if (n > MAX_COLS)
		n = MAX_COLS;
	o->n_cols = n;
	for (unsigned i = 0; i < n; i++)
		if (!(o->cols[i] = strdup(names[i])))
			o->oom = 1;
}

void ctl_out_row(struct ctl_out *o, const char *const *cells)
{
	if (o->n_rows == o->cap_rows) {
		size_t cap = o->cap_rows ? o->cap_rows * 2 : 16;
		char **c = realloc(o->cells, cap * o->n_cols * sizeof(*c));
		if (!c) {
			o->oom = 1;
			return;
		}
		o->cells = c;
		o->cap_rows = cap;
	}
	for (unsigned i = 0; i < o->n_cols; i++)
		if (!(o->cells[o->n_rows * o->n_cols + i] = strdup(cells[i] ? cells[i] : "")))
			o->oom = 1;
	o->n_rows++;
}

void ctl_out_note(struct ctl_out *o, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = sizeof(line) - 1;
	char *p = realloc(o->notes, o->notes_len + (size_t)n + 2);
	if (!p) {
		o->oom = 1;
		return;
	}
	o->notes = p;
	memcpy(o->notes + o->notes_len, line, (size_t)n);
	o->notes_len += (size_t)n;
	o->notes[o->notes_len++] = '\n';
	o->notes[o->notes_len] = 0;
}

struct buf {
	char *p;
	size_t len, cap;
	int oom;
};

static void put(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 1024;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p) {
			b->oom = 1;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

/* A JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int is_number(const char *s)
{
	if (*s == '-')
		s++;
	if (*s == '0')
		s++;
	else if (*s >= '1' && *s <= '9')
		while (*s >= '0' && *s <= '9')
			s++;
	else
		return 0;
	if (*s == '.') {
		if (!(*++s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == 0;
}

static void json_str(struct buf *b, const char *s)
{
	put(b, "\"", 1);
	for (; *s; s++) {
		char esc[8];
		if (*s == '"' || *s == '\\') {
			esc[0] = '\\', esc[1] = *s;
			put(b, esc, 2);
		} else if ((unsigned char)*s < 0x20) {
			snprintf(esc, sizeof(esc), "\\u%04x", (unsigned char)*s);
			puts_(b, esc);
		} else {
			put(b, s, 1);
		}
	}
	put(b, "\"", 1);
}

long ctl_out_render(struct ctl_out *o, char **body)
{
	struct buf b = { 0 };

	if (o->json) {
		puts_(&b, "{");
		json_str(&b, o->what);
		puts_(&b, ": [");
		for (size_t r = 0; r < o->n_rows; r++) {
			puts_(&b, r ? ",\n  {" : "\n  {");
			for (unsigned c = 0; c < o->n_cols; c++) {
				const char *v = o->cells[r * o->n_cols + c];
				if (c)
					puts_(&b, ", ");
				json_str(&b, o->cols[c]);
				puts_(&b, ": ");
				if (is_number(v))
					puts_(&b, v);
				else
					json_str(&b, v);
			}
			puts_(&b, "}");
		}
		puts_(&b, o->n_rows ? "\n]" : "]");
		if (o->next) {
			puts_(&b, ", \"next\": ");
			json_str(&b, o->next);
		}
		if (o->notes) {
			puts_(&b, ", \"notes\": ");
			o->notes[o->notes_len - 1] = 0; /* no final newline */
			json_str(&b, o->notes);
			o->notes[o->notes_len - 1] = '\n';
		}
		puts_(&b, "}\n");
	} else if (o->n_cols) {
		size_t w[MAX_COLS];
		int num[MAX_COLS]; /* a column of numbers: right-aligned, header too */
		for (unsigned c = 0; c < o->n_cols; c++) {
			w[c] = strlen(o->cols[c]);
			num[c] = o->n_rows > 0;
			for (size_t r = 0; r < o->n_rows; r++) {
				const char *v = o->cells[r * o->n_cols + c];
				size_t l = strlen(v);
				w[c] = l > w[c] ? l : w[c];
				num[c] &= is_number(v);
			}
		}
		for (size_t r = 0; r <= o->n_rows; r++) {
			for (unsigned c = 0; c < o->n_cols; c++) {
				const char *v = r ? o->cells[(r - 1) * o->n_cols + c] : o->cols[c];
				int last = c + 1 == o->n_cols;
				int right = num[c];
				size_t pad = w[c] - strlen(v);
				if (right)
					for (size_t i = 0; i < pad; i++)
						put(&b, " ", 1);
				puts_(&b, v);
				if (!right && !last)
					for (size_t i = 0; i < pad; i++)
						put(&b, " ", 1);
				if (!last)
					puts_(&b, "  ");
			}
			puts_(&b, "\n");
		}
	}
	if (!o->json && o->notes)
		put(&b, o->notes, o->notes_len);
	if (!o->json && o->next) {
		puts_(&b, "more: start=");
		puts_(&b, o->next);
		puts_(&b, "\n");
	}
	if (b.oom || o->oom) {
		free(b.p);
		return -ENOMEM;
	}
	if (!b.p)
		puts_(&b, "");
	*body = b.p;
	return (long)b.len;
}
