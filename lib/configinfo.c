/* SPDX-License-Identifier: MIT */
/*
 * configinfo parser. One declaration per line, "kind attr=value ...":
 *
 *   device key-sizes=10,26,42,58 max-action-bytes=128 max-exact-tables=12 max-masks=64
 *   table name=l2 type=exact capacity=65536 key=in_port,eth_dst actions=port,drop
 *
 * '#' starts a comment. Every mistake is reported as "origin:line: message".
 * See dpak-configinfo(5).
 */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "core.h"

#define LINE_MAX_LEN 4096
#define CAPACITY_MAX (1u << 24)

struct ctx {
	const char *origin;
	int line;
	struct ci_config *cfg;
	int have_device;
};

#define FAIL(c, ...) fail(c, __VA_ARGS__)
static int fail(const struct ctx *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int fail(const struct ctx *c, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return dpak__err(EINVAL, "%s:%d: %s", c->origin, c->line, msg);
}

static int parse_u32(const struct ctx *c, const char *attr, const char *v,
		     uint32_t min, uint32_t max, uint32_t *out)
{
	char *end;
	unsigned long long n;

	errno = 0;
	if (!isdigit((unsigned char)*v))
		return FAIL(c, "%s=%s: not a number", attr, v);
	n = strtoull(v, &end, 10);
	if (errno || *end)
		return FAIL(c, "%s=%s: not a number", attr, v);
	if (n < min || n > max)
		return FAIL(c, "%s=%s: out of range (%u-%u)", attr, v, min, max);
	*out = (uint32_t)n;
	return 0;
}

static int field_by_name(const char *n)
{
	for (int f = 0; f < PK_FIELD_MAX; f++)
		if (!strcmp(n, pk_field_names[f]))
			return f;
	return -1;
}

static int action_by_name(const char *n)
{
	for (int a = 1; a < PK_OP_MAX; a++)
		if (!strcmp(n, dpak__action_name(a)))
			return a;
	return -1;
}

/* Split a comma list in place; calls @each for every element. */
static int for_list(const struct ctx *c, const char *attr, char *v,
		    int (*each)(const struct ctx *, const char *, const char *, void *),
		    void *arg)
{
	char *save = NULL, *tok;
	int err, n = 0;

	for (tok = strtok_r(v, ",", &save); tok; tok = strtok_r(NULL, ",", &save), n++)
		if ((err = each(c, attr, tok, arg)))
			return err;
	return n ? 0 : FAIL(c, "%s: empty list", attr);
}

static int add_action(const struct ctx *c, const char *attr, const char *n,
		      void *arg)
{
	uint64_t *set = arg;
	int a = action_by_name(n);

	if (a < 0)
		return FAIL(c, "%s: unknown action '%s'", attr, n);
	*set |= 1ull << a;
	return 0;
}

static int add_key_size(const struct ctx *c, const char *attr, const char *n,
			void *arg)
{
	struct ci_config *cfg = arg;
	uint32_t v;
	int err;

	if (cfg->n_key_sizes == CI_MAX_KEY_SIZES)
		return FAIL(c, "%s: at most %d sizes", attr, CI_MAX_KEY_SIZES);
	if ((err = parse_u32(c, attr, n, 1, PK_MAX_KEY, &v)))
		return err;
	if (cfg->n_key_sizes && v <= cfg->key_sizes[cfg->n_key_sizes - 1])
		return FAIL(c, "%s: sizes must increase", attr);
	cfg->key_sizes[cfg->n_key_sizes++] = v;
	return 0;
}

/* A key field, "name" or "name/MASK": MASK (a number, 0x for hex) names
 * the bits of the field an exact table keys on (vlan_tci/0x0fff: the VLAN
 * id, whatever the priority); without one, every bit. */
static int add_field(const struct ctx *c, const char *attr, const char *n,
		     void *arg)
{
	struct ci_table *t = arg;
	char name[64];
	const char *slash = strchr(n, '/');
	size_t nl = slash ? (size_t)(slash - n) : strlen(n);
	unsigned long long mask = 0;

	if (nl >= sizeof(name))
		nl = sizeof(name) - 1;
	memcpy(name, n, nl);
	name[nl] = 0;
	int f = field_by_name(name);
	if (f < 0)
		return FAIL(c, "%s: unknown field '%s' (see dpak-configinfo(5))",
			    attr, name);
	if (t->fields & (1ull << f))
		return FAIL(c, "%s: field %s given twice", attr, name);
	unsigned len = pk_field_len[f];
	if (slash) {
		char *end;
		errno = 0;
		if (!isdigit((unsigned char)slash[1]) ||
		    (mask = strtoull(slash + 1, &end, 0), errno || *end))
			return FAIL(c, "%s: %s: mask '%s' is not a number", attr,
				    name, slash + 1);
		if (len > 8 || (len < 8 && mask >> (8 * len)))
			return FAIL(c, "%s: %s: mask %s is wider than the field "
				    "(%u bytes)", attr, name, slash + 1, len);
		if (!mask)
			return FAIL(c, "%s: %s: mask 0 keys on nothing", attr, name);
	}
	t->fields |= 1ull << f;
	t->field_off[f] = (uint8_t)t->key_used;
	t->field[t->n_fields++] = (uint8_t)f;
	for (unsigned j = 0; j < len && t->key_used + j < PK_MAX_KEY; j++)
		t->key_mask[t->key_used + j] = /* big-endian, as in the key */
			slash ? (uint8_t)(mask >> (8 * (len - 1 - j))) : 0xff;
	if (slash && mask != (len == 8 ? ~0ull : (1ull << (8 * len)) - 1))
		t->has_key_mask = 1;
	t->key_used += len;
	return 0;
}

/* Next "attr=value" token of a line; NULL at the end. */
static char *next_attr(char **s, char **val)
{
	char *p = *s, *start;

	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return NULL;
	start = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	if (*p)
		*p++ = 0;
	*s = p;
	*val = strchr(start, '=');
	if (*val)
		*(*val)++ = 0;
	return start;
}

static int parse_device(struct ctx *c, char *rest)
{
	struct ci_config *cfg = c->cfg;
	char *a, *v;
	int err = 0;

	if (c->have_device)
		return FAIL(c, "a second device line");
	if (cfg->n_tables)
		return FAIL(c, "the device line must come before the tables");
	c->have_device = 1;
	while ((a = next_attr(&rest, &v))) {
		if (!v || !*v)
			return FAIL(c, "device: '%s' needs a value (attr=value)", a);
		if (!strcmp(a, "key-sizes")) {
			cfg->n_key_sizes = 0;
			err = for_list(c, a, v, add_key_size, cfg);
		} else if (!strcmp(a, "max-action-bytes")) {
			err = parse_u32(c, a, v, 8, PK_MAX_ACTIONS, &cfg->max_action_bytes);
		} else if (!strcmp(a, "max-exact-tables")) {
			err = parse_u32(c, a, v, 1, CI_MAX_TABLES, &cfg->max_exact_tables);
		} else if (!strcmp(a, "max-masks")) {
			err = parse_u32(c, a, v, 1, CI_MAX_MASKS, &cfg->max_masks);
		} else if (!strcmp(a, "exclusive-actions")) {
			cfg->exclusive_actions = 0;
			err = for_list(c, a, v, add_action, &cfg->exclusive_actions);
		} else {
			return FAIL(c, "device: unknown attribute '%s'", a);
		}
		if (err)
			return err;
	}
	return 0;
}

static int parse_table(struct ctx *c, char *rest)
{
	struct ci_config *cfg = c->cfg;
	struct ci_table *t;
	char *a, *v;
	uint32_t seen = 0;
	int err = 0, have_prio = 0, have_ab = 0;
	static const char *const attrs[] = { "name", "type", "capacity", "key",
		"actions", "action-bytes", "priorities", "miss", "masks" };

	if (cfg->n_tables == CI_MAX_TABLES)
		return FAIL(c, "more than %d tables", CI_MAX_TABLES);
	t = &cfg->tables[cfg->n_tables];
	memset(t, 0, sizeof(*t));
	t->line = c->line;
	t->miss = PK_MISS_HOST;
	t->actions = ((1ull << PK_OP_MAX) - 1) & ~1ull;
	while ((a = next_attr(&rest, &v))) {
		unsigned k;
		for (k = 0; k < sizeof(attrs) / sizeof(attrs[0]); k++)
			if (!strcmp(a, attrs[k]))
				break;
		if (k == sizeof(attrs) / sizeof(attrs[0]))
			return FAIL(c, "table: unknown attribute '%s' (name, type, "
				    "capacity, key, actions, action-bytes, "
				    "priorities, miss, masks)", a);
		if (!v || !*v)
			return FAIL(c, "table: '%s' needs a value (attr=value)", a);
		if (seen & (1u << k))
			return FAIL(c, "table: '%s' given twice", a);
		seen |= 1u << k;
		switch (k) {
		case 0:
			if (strlen(v) >= CI_NAME_MAX)
				return FAIL(c, "name '%s' longer than %d", v, CI_NAME_MAX - 1);
			for (const char *p = v; *p; p++)
				if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
					return FAIL(c, "name '%s': use letters, digits, "
						    "'_' and '-'", v);
			for (uint32_t i = 0; i < cfg->n_tables; i++)
				if (!strcmp(cfg->tables[i].name, v))
					return FAIL(c, "table %s declared twice (first "
						    "on line %d)", v, cfg->tables[i].line);
			strcpy(t->name, v);
			break;
		case 1:
			if (!strcmp(v, "exact"))
				t->type = PK_EXACT;
			else if (!strcmp(v, "wildcard"))
				t->type = PK_WILDCARD;
			else if (!strcmp(v, "lpm"))
				t->type = PK_LPM;
			else
				return FAIL(c, "type=%s: not exact, wildcard or lpm", v);
			break;
		case 2:
			err = parse_u32(c, a, v, 1, CAPACITY_MAX, &t->capacity);
			break;
		case 3:
			err = for_list(c, a, v, add_field, t);
			break;
		case 4:
			t->actions = 0;
			err = for_list(c, a, v, add_action, &t->actions);
			break;
		case 5:
			have_ab = 1;
			err = parse_u32(c, a, v, 2, PK_MAX_ACTIONS, &t->action_bytes);
			break;
		case 6:
			have_prio = 1;
			err = parse_u32(c, a, v, 1, 65536, &t->priorities);
			break;
		case 7:
			if (!strcmp(v, "host"))
				t->miss = PK_MISS_HOST;
			else if (!strcmp(v, "next"))
				t->miss = PK_MISS_NEXT;
			else if (!strcmp(v, "drop"))
				t->miss = PK_MISS_DROP;
			else
				return FAIL(c, "miss=%s: not host, next or drop", v);
			break;
		case 8:
			err = parse_u32(c, a, v, 1, CI_MAX_MASKS, &t->max_masks);
			break;
		}
		if (err)
			return err;
	}
	for (unsigned k = 0; k < 4; k++)
		if (!(seen & (1u << k)))
			return FAIL(c, "table: '%s' missing", attrs[k]);
	if (t->type == PK_WILDCARD && !have_prio)
		t->priorities = 16;
	if (t->type != PK_WILDCARD) {
		if (have_prio && t->priorities != 1)
			return FAIL(c, "table %s: priorities apply to wildcard "
				    "tables only", t->name);
		t->priorities = 1;
	}
	if (!have_ab)
		t->action_bytes = 0; /* device maximum, set once it is known */
	if (t->type == PK_EXACT && t->max_masks > 1)
		return FAIL(c, "table %s: masks apply to wildcard and lpm tables "
			    "only", t->name);
	cfg->n_tables++;
	return 0;
}

/* Checks that need the whole file. */
static int finish(struct ctx *c)
{
	struct ci_config *cfg = c->cfg;
	uint32_t exact = 0;

	c->line = 0;
	if (!cfg->n_tables)
		return dpak__err(EINVAL, "%s: declares no table", c->origin);
	for (uint32_t i = 0; i < cfg->n_tables; i++) {
		struct ci_table *t = &cfg->tables[i];
		uint32_t k;

		c->line = t->line;
		if (t->has_key_mask && t->type != PK_EXACT)
			return FAIL(c, "table %s: a key field mask (field/MASK) is "
				    "for exact tables; %s tables take masks per "
				    "flow", t->name, t->type == PK_LPM ? "lpm" : "wildcard");
		if (t->type == PK_EXACT && ++exact > cfg->max_exact_tables)
			return FAIL(c, "table %s: more than %u exact tables (device "
				    "max-exact-tables)", t->name, cfg->max_exact_tables);
		for (k = 0; k < cfg->n_key_sizes; k++)
			if (cfg->key_sizes[k] >= t->key_used)
				break;
		if (k == cfg->n_key_sizes)
			return FAIL(c, "table %s: key takes %u bytes, more than the "
				    "device's largest key size (%u)", t->name,
				    t->key_used, cfg->key_sizes[cfg->n_key_sizes - 1]);
		t->key_bytes = cfg->key_sizes[k];
		if (!t->action_bytes)
			t->action_bytes = cfg->max_action_bytes;
		if (t->action_bytes > cfg->max_action_bytes)
			return FAIL(c, "table %s: action-bytes=%u exceeds the device's "
				    "max-action-bytes=%u", t->name, t->action_bytes,
				    cfg->max_action_bytes);
		if (t->type == PK_WILDCARD) {
			if (!t->max_masks)
				t->max_masks = cfg->max_masks;
			if (t->max_masks > cfg->max_masks)
				return FAIL(c, "table %s: masks=%u exceeds the device's "
					    "max-masks=%u", t->name, t->max_masks,
					    cfg->max_masks);
		} else if (t->type == PK_LPM) {
			/* one mask per prefix length of the last key field */
			uint32_t lens = 8u * pk_field_len[t->field[t->n_fields - 1]] + 1;
			if (!t->max_masks)
				t->max_masks = lens;
			if (t->max_masks > lens)
				return FAIL(c, "table %s: masks=%u, but its prefix "
					    "field %s has only %u prefix lengths (0-%u)",
					    t->name, t->max_masks,
					    pk_field_names[t->field[t->n_fields - 1]],
					    lens, lens - 1);
		} else {
			t->max_masks = 1;
		}
		if (t->miss == PK_MISS_NEXT && i + 1 == cfg->n_tables)
			return FAIL(c, "table %s: miss=next on the last table",
				    t->name);
		if (!(t->actions & ((1ull << PK_OP_PORT) | (1ull << PK_OP_DROP) |
				    (1ull << PK_OP_QUEUE) | (1ull << PK_OP_JUMP) |
				    (1ull << PK_OP_RSS))))
			return FAIL(c, "table %s: actions has no fate action (port, "
				    "drop, queue, rss or jump)", t->name);
	}
	return 0;
}

int ci_parse(const char *text, const char *origin, struct ci_config *out)
{
	struct ci_config *cfg;
	struct ctx c = { origin, 0, NULL, 0 };
	const char *p = text;
	char line[LINE_MAX_LEN];
	int err = 0;

	if (!text)
		return dpak__err(EINVAL, "%s: no text", origin);
	cfg = calloc(1, sizeof(*cfg));
	if (!cfg)
		return dpak__err(ENOMEM, "%s: out of memory", origin);
	c.cfg = cfg;
	cfg->key_sizes[0] = 16, cfg->key_sizes[1] = 32;
	cfg->key_sizes[2] = 48, cfg->key_sizes[3] = 64;
	cfg->n_key_sizes = 4;
	cfg->max_action_bytes = 128;
	cfg->max_exact_tables = CI_MAX_TABLES;
	cfg->max_masks = CI_DEFAULT_MASKS;

	while (*p && !err) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *s, *kind;

		c.line++;
		if (len >= sizeof(line)) {
			err = FAIL(&c, "line longer than %d bytes", LINE_MAX_LEN - 1);
			break;
		}
		memcpy(line, p, len);
		line[len] = 0;
		p += len + (nl ? 1 : 0);
		if ((s = strchr(line, '#')))
			*s = 0;
		for (s = line; *s; s++)
			if (*s == '\r' || (unsigned char)*s < 0x20) {
				if (*s != '\t' && *s != '\r') {
					err = FAIL(&c, "control character 0x%02x",
						   (unsigned char)*s);
					break;
				}
				*s = ' ';
			}
		if (err)
			break;
		s = line;
		char *v;
		kind = next_attr(&s, &v);
		if (!kind)
			continue;
		if (v)
			err = FAIL(&c, "'%s=%s': a line starts with 'device' or 'table'",
				   kind, v);
		else if (!strcmp(kind, "device"))
			err = parse_device(&c, s);
		else if (!strcmp(kind, "table"))
			err = parse_table(&c, s);
		else
			err = FAIL(&c, "unknown declaration '%s' (device or table)", kind);
	}
	if (!err)
		err = finish(&c);
	if (!err)
		*out = *cfg;
	free(cfg);
	return err;
}

int ci_load(const char *path, struct ci_config *cfg)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;
	int err;

	if (!f)
		return dpak__err(errno, "configinfo %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && !S_ISREG(st.st_mode)) {
		fclose(f);
		return dpak__err(EINVAL, "configinfo %s: not a regular file", path);
	}
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET)) {
		err = errno;
		fclose(f);
		return dpak__err(err, "configinfo %s: %s", path, strerror(err));
	}
	if (n > 1 << 20) {
		fclose(f);
		return dpak__err(EFBIG, "configinfo %s: larger than 1 MiB", path);
	}
	buf = malloc((size_t)n + 1);
	if (!buf) {
		fclose(f);
		return dpak__err(ENOMEM, "configinfo %s: out of memory", path);
	}
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return dpak__err(EIO, "configinfo %s: read error", path);
	}
	buf[n] = 0;
	fclose(f);
	if (strlen(buf) != (size_t)n) {
		free(buf);
		return dpak__err(EINVAL, "configinfo %s: contains a NUL byte", path);
	}
	err = ci_parse(buf, path, cfg);
	free(buf);
	return err;
}
