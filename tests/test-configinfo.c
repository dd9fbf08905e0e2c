/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the configinfo parser (lib/configinfo.c): the shipped
 * files, the defaults, every error it can report (with its "origin:line:"
 * prefix), comment and blank-line handling, and that a failed parse leaves
 * the caller's struct alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "core.h"

#define ORIGIN "t.conf"
#define DEV "device key-sizes=10,26,42,58 max-action-bytes=128\n"
#define TBL "table name=t type=exact capacity=16 key=in_port\n"
/* Every op 1..PK_OP_MAX-1: what a table allows when actions= is not given. */
#define ALL_OPS (((1ull << PK_OP_MAX) - 1) & ~1ull)
#define BIT(f) (1ull << (f))

static const char *srcdir(void)
{
	const char *d = getenv("top_srcdir");
	return d && *d ? d : ".";
}

static void conf_path(char *buf, size_t cap, const char *name)
{
	int n = snprintf(buf, cap, "%s/configinfo/%s", srcdir(), name);
	assert_true(n > 0 && (size_t)n < cap);
}

static const struct ci_table *table_named(const struct ci_config *c,
					  const char *name)
{
	for (uint32_t i = 0; i < c->n_tables; i++)
		if (!strcmp(c->tables[i].name, name))
			return &c->tables[i];
	fail_msg("no table '%s'", name);
	return NULL;
}

/* The key fields of @t are exactly @names (in that order) at running
 * offsets; key_used is their sum and key_bytes @key_bytes. */
static void check_key(const struct ci_table *t, const char *const *names,
		      unsigned n, uint32_t key_used, uint32_t key_bytes)
{
	uint64_t bits = 0;
	uint32_t off = 0;

	assert_int_equal(t->n_fields, n);
	for (unsigned i = 0; i < n; i++) {
		unsigned f = t->field[i];
		assert_true(f < PK_FIELD_MAX);
		if (strcmp(pk_field_names[f], names[i]))
			fail_msg("table %s: field %u is %s, expected %s", t->name,
				 i, pk_field_names[f], names[i]);
		assert_int_equal(t->field_off[f], off);
		off += pk_field_len[f];
		bits |= BIT(f);
	}
	assert_int_equal(t->fields, bits);
	assert_int_equal(t->key_used, key_used);
	assert_int_equal(off, key_used);
	assert_int_equal(t->key_bytes, key_bytes);
}

#define CHECK_KEY(t, used, bytes, ...)                                         \
	do {                                                                   \
		static const char *const n_[] = { __VA_ARGS__ };               \
		check_key((t), n_, sizeof(n_) / sizeof(n_[0]), (used), (bytes)); \
	} while (0)

/* Parse @text expecting success. */
static void parse_ok(const char *text, struct ci_config *cfg)
{
	int err = ci_parse(text, ORIGIN, cfg);
	if (err)
		fail_msg("ci_parse failed (%d): %s\n--- text ---\n%s", err,
			 dpak_errmsg(), text);
}

/*
 * Parse @text expecting -EINVAL with a message that starts with
 * "t.conf:<line>: " (or "t.conf: " when @line is 0) and contains @part.
 * The output struct must come back byte for byte as it went in.
 */
static void expect_err(const char *text, int line, const char *part)
{
	struct ci_config *cfg = malloc(sizeof(*cfg));
	struct ci_config *orig = malloc(sizeof(*orig));
	char prefix[64];
	const char *msg;
	int err;

	assert_non_null(cfg);
	assert_non_null(orig);
	memset(cfg, 0xa5, sizeof(*cfg));
	memcpy(orig, cfg, sizeof(*cfg));
	if (line)
		snprintf(prefix, sizeof(prefix), "%s:%d: ", ORIGIN, line);
	else
		snprintf(prefix, sizeof(prefix), "%s: ", ORIGIN);

	err = ci_parse(text, ORIGIN, cfg);
	msg = dpak_errmsg();
	if (err != -EINVAL)
		fail_msg("expected -EINVAL, got %d (msg '%s')\n--- text ---\n%.300s",
			 err, msg, text);
	if (strncmp(msg, prefix, strlen(prefix)))
		fail_msg("message '%s' does not start with '%s'\n--- text ---\n%.300s",
			 msg, prefix, text);
	if (!strstr(msg + strlen(prefix), part))
		fail_msg("message '%s' lacks '%s'\n--- text ---\n%.300s", msg,
			 part, text);
	if (memcmp(cfg, orig, sizeof(*cfg)))
		fail_msg("the output struct was written on failure\n--- text ---\n%.300s",
			 text);
	free(cfg);
	free(orig);
}

/* ---------------------------------------------------------------------- */
/* The shipped files                                                       */

static void test_default_conf(void **state)
{
	char path[4096];
	struct ci_config c;
	const struct ci_table *t;

	(void)state;
	conf_path(path, sizeof(path), "default.conf");
	memset(&c, 0xa5, sizeof(c));
	if (ci_load(path, &c))
		fail_msg("ci_load(%s): %s", path, dpak_errmsg());

	assert_int_equal(c.n_key_sizes, 4);
	assert_int_equal(c.key_sizes[0], 10);
	assert_int_equal(c.key_sizes[1], 26);
	assert_int_equal(c.key_sizes[2], 42);
	assert_int_equal(c.key_sizes[3], 58);
	assert_int_equal(c.max_action_bytes, 128);
	assert_int_equal(c.max_exact_tables, CI_MAX_TABLES); /* not given */
	assert_int_equal(c.exclusive_actions, 0);
	assert_int_equal(c.n_tables, 6);

	static const char *const order[] = { "acl", "acl6", "tunnel", "conn", "l2",
					     "route" };
	for (unsigned i = 0; i < 6; i++) {
		assert_string_equal(c.tables[i].name, order[i]);
		assert_int_equal(c.tables[i].actions, ALL_OPS);
	}

	t = table_named(&c, "acl");
	assert_int_equal(t->type, PK_WILDCARD);
	assert_int_equal(t->capacity, 4096);
	assert_int_equal(t->priorities, 16);
	assert_int_equal(t->miss, PK_MISS_NEXT);
	assert_int_equal(t->action_bytes, 128); /* device max */
	CHECK_KEY(t, 29, 42, "in_port", "mark", "eth_type", "vlan_tci", "ip_proto",
		  "ipv4_src", "ipv4_dst", "l4_src", "l4_dst", "tcp_flags",
		  "icmp_type", "icmp_code", "vxlan_vni");

	t = table_named(&c, "acl6");
	assert_int_equal(t->type, PK_WILDCARD);
	assert_int_equal(t->capacity, 4096);
	assert_int_equal(t->priorities, 16);
	assert_int_equal(t->miss, PK_MISS_NEXT);
	assert_int_equal(t->action_bytes, 128);
	CHECK_KEY(t, 41, 42, "in_port", "eth_type", "ip_proto", "ipv6_src",
		  "ipv6_dst", "l4_src", "l4_dst");

	t = table_named(&c, "tunnel");
	assert_int_equal(t->type, PK_EXACT);
	assert_int_equal(t->capacity, 1048576);
	assert_int_equal(t->priorities, 1);
	assert_int_equal(t->miss, PK_MISS_NEXT);
	assert_int_equal(t->action_bytes, 32);
	/* what a VXLAN endpoint decapsulates by; never the outer UDP source
	 * port (a hash of the inner flow) */
	CHECK_KEY(t, 14, 26, "in_port", "eth_type", "ip_proto", "ipv4_dst", "l4_dst",
		  "vxlan_vni");
	assert_false(t->has_key_mask);

	t = table_named(&c, "conn");
	assert_int_equal(t->type, PK_EXACT);
	assert_int_equal(t->capacity, 1048576);
	assert_int_equal(t->priorities, 1);
	assert_int_equal(t->miss, PK_MISS_NEXT);
	assert_int_equal(t->action_bytes, 96);
	CHECK_KEY(t, 17, 26, "in_port", "eth_type", "ip_proto", "ipv4_src",
		  "ipv4_dst", "l4_src", "l4_dst");

	t = table_named(&c, "l2");
	assert_int_equal(t->type, PK_EXACT);
	assert_int_equal(t->capacity, 1048576);
	assert_int_equal(t->miss, PK_MISS_HOST);
	assert_int_equal(t->action_bytes, 32);
	CHECK_KEY(t, 10, 10, "in_port", "eth_dst", "vlan_tci");
	/* keyed on the VLAN id, not the priority bits */
	assert_true(t->has_key_mask);
	static const uint8_t l2_mask[10] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					     0xff, 0xff, 0x0f, 0xff };
	assert_memory_equal(t->key_mask, l2_mask, 10);

	t = table_named(&c, "route");
	assert_int_equal(t->type, PK_LPM);
	assert_int_equal(t->capacity, 65536);
	assert_int_equal(t->priorities, 1);
	assert_int_equal(t->miss, PK_MISS_HOST); /* default */
	assert_int_equal(t->action_bytes, 64);
	CHECK_KEY(t, 4, 10, "ipv4_dst");
	assert_int_equal(t->line, 30);
}

static void test_dpak_hw1_conf(void **state)
{
	char path[4096];
	struct ci_config c;
	const struct ci_table *t;

	(void)state;
	conf_path(path, sizeof(path), "dpak-hw1.conf");
	memset(&c, 0xa5, sizeof(c));
	if (ci_load(path, &c))
		fail_msg("ci_load(%s): %s", path, dpak_errmsg());

	assert_int_equal(c.n_key_sizes, 4);
	assert_int_equal(c.key_sizes[0], 10);
	assert_int_equal(c.key_sizes[3], 58);
	assert_int_equal(c.max_action_bytes, 128);
	assert_int_equal(c.max_exact_tables, 12);
	assert_int_equal(c.exclusive_actions, BIT(PK_OP_QUEUE));
	assert_int_equal(c.n_tables, 5);

	for (uint32_t i = 0; i < c.n_tables; i++) {
		t = &c.tables[i];
		assert_int_equal(t->type, PK_EXACT);
		assert_int_equal(t->capacity, 2097152);
		assert_int_equal(t->priorities, 1);
		assert_int_equal(t->action_bytes, 128);
		assert_int_equal(t->actions, ALL_OPS);
		assert_int_equal(t->miss, i + 1 < c.n_tables ? PK_MISS_NEXT
							      : PK_MISS_HOST);
	}

	t = table_named(&c, "vxlan");
	CHECK_KEY(t, 9, 10, "in_port", "ipv4_dst", "vxlan_vni");
	t = table_named(&c, "ipv4");
	CHECK_KEY(t, 17, 26, "in_port", "eth_type", "ip_proto", "ipv4_src",
		  "ipv4_dst", "l4_src", "l4_dst");
	t = table_named(&c, "ipv6");
	CHECK_KEY(t, 41, 42, "in_port", "eth_type", "ip_proto", "ipv6_src",
		  "ipv6_dst", "l4_src", "l4_dst");
	t = table_named(&c, "ipv6_overlay");
	CHECK_KEY(t, 48, 58, "in_port", "mark", "eth_type", "ip_proto", "ipv6_src",
		  "ipv6_dst", "l4_src", "l4_dst", "vxlan_vni");
	/* exactly a key size: no rounding */
	t = table_named(&c, "l2");
	CHECK_KEY(t, 10, 10, "in_port", "eth_dst", "vlan_tci");
	/* keyed on the VLAN id, not the priority bits */
	assert_true(t->has_key_mask);
	static const uint8_t l2_mask[10] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					     0xff, 0xff, 0x0f, 0xff };
	assert_memory_equal(t->key_mask, l2_mask, 10);
	assert_string_equal(c.tables[4].name, "l2");
}

/* The compiled-in default is configinfo/default.conf. */
static void test_builtin_default(void **state)
{
	char path[4096];
	struct ci_config a, b;

	(void)state;
	conf_path(path, sizeof(path), "default.conf");
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (ci_load(path, &a))
		fail_msg("ci_load(%s): %s", path, dpak_errmsg());
	parse_ok(ci_default_text, &b);
	assert_int_equal(a.n_tables, b.n_tables);
	assert_memory_equal(&a, &b, sizeof(a));
}

static void test_load_missing_file(void **state)
{
	const char *path = "/nonexistent-dir-dpak/no-such.conf";
	struct ci_config c;

	(void)state;
	memset(&c, 0x5a, sizeof(c));
	assert_int_equal(ci_load(path, &c), -ENOENT);
	assert_non_null(strstr(dpak_errmsg(), path));
	for (size_t i = 0; i < sizeof(c); i++)
		assert_int_equal(((unsigned char *)&c)[i], 0x5a);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* ci_load's own errors: a NUL byte, a file over 1 MiB; and an error in a
 * file is reported against its path. */
static void test_load_errors(void **state)
{
	char path[] = "/tmp/dpak-ci-XXXXXX";
	struct ci_config c;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);

	static const char nul[] = DEV "table name=t type=exact\0 capacity=16 key=in_port\n";
	write_file(path, nul, sizeof(nul) - 1);
	assert_int_equal(ci_load(path, &c), -EINVAL);
	assert_non_null(strstr(dpak_errmsg(), path));
	assert_non_null(strstr(dpak_errmsg(), "NUL"));

	/* exactly 1 MiB is fine, one byte more is not */
	size_t big = (1u << 20) + 1;
	char *buf = malloc(big);
	assert_non_null(buf);
	memset(buf, '\n', big);
	memcpy(buf, TBL, strlen(TBL));
	write_file(path, buf, big - 1);
	assert_int_equal(ci_load(path, &c), 0);
	assert_int_equal(c.n_tables, 1);
	write_file(path, buf, big);
	free(buf);
	assert_int_equal(ci_load(path, &c), -EFBIG);
	assert_non_null(strstr(dpak_errmsg(), path));
	assert_non_null(strstr(dpak_errmsg(), "larger than 1 MiB"));

	static const char bad[] = DEV TBL "table name=u type=exact capacity=x key=in_port\n";
	write_file(path, bad, sizeof(bad) - 1);
	assert_int_equal(ci_load(path, &c), -EINVAL);
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "%s:3: ", path);
	assert_memory_equal(dpak_errmsg(), prefix, strlen(prefix));

	static const char good[] = DEV TBL;
	write_file(path, good, sizeof(good) - 1);
	memset(&c, 0, sizeof(c));
	assert_int_equal(ci_load(path, &c), 0);
	assert_int_equal(c.n_tables, 1);
	assert_string_equal(c.tables[0].name, "t");
	unlink(path);
}

/* ---------------------------------------------------------------------- */
/* Defaults and accepted forms                                             */

static void test_defaults(void **state)
{
	struct ci_config c;
	const struct ci_table *t;

	(void)state;
	/* No device line: the parser's own device defaults. */
	parse_ok("table name=w type=wildcard capacity=100 key=in_port,eth_dst actions=port\n"
		 "table name=e type=exact capacity=7 key=eth_dst,in_port\n"
		 "table name=p type=lpm capacity=9 key=ipv6_dst\n", &c);
	assert_int_equal(c.n_key_sizes, 4);
	assert_int_equal(c.key_sizes[0], 16);
	assert_int_equal(c.key_sizes[1], 32);
	assert_int_equal(c.key_sizes[2], 48);
	assert_int_equal(c.key_sizes[3], 64);
	assert_int_equal(c.max_action_bytes, 128);
	assert_int_equal(c.max_exact_tables, CI_MAX_TABLES);
	assert_int_equal(c.exclusive_actions, 0);
	assert_int_equal(c.n_tables, 3);

	t = &c.tables[0];
	assert_string_equal(t->name, "w");
	assert_int_equal(t->type, PK_WILDCARD);
	assert_int_equal(t->priorities, 16);
	assert_int_equal(t->miss, PK_MISS_HOST);
	assert_int_equal(t->action_bytes, 128);
	assert_int_equal(t->actions, BIT(PK_OP_PORT));
	assert_int_equal(t->capacity, 100);
	assert_int_equal(t->line, 1);
	CHECK_KEY(t, 8, 16, "in_port", "eth_dst");

	t = &c.tables[1];
	assert_int_equal(t->type, PK_EXACT);
	assert_int_equal(t->priorities, 1);
	assert_int_equal(t->miss, PK_MISS_HOST);
	assert_int_equal(t->actions, ALL_OPS);
	assert_int_equal(t->line, 2);
	/* offsets follow the declared order, not the field numbering */
	CHECK_KEY(t, 8, 16, "eth_dst", "in_port");
	assert_int_equal(t->field_off[PK_ETH_DST], 0);
	assert_int_equal(t->field_off[PK_IN_PORT], 6);

	t = &c.tables[2];
	assert_int_equal(t->type, PK_LPM);
	assert_int_equal(t->priorities, 1);
	CHECK_KEY(t, 16, 16, "ipv6_dst");

	/* action_bytes defaults to whatever the device line says */
	parse_ok("device max-action-bytes=40\n"
		 "table name=a type=exact capacity=1 key=in_port\n"
		 "table name=b type=exact capacity=1 key=in_port action-bytes=40\n"
		 "table name=c type=exact capacity=1 key=in_port action-bytes=2\n", &c);
	assert_int_equal(c.max_action_bytes, 40);
	assert_int_equal(c.tables[0].action_bytes, 40);
	assert_int_equal(c.tables[1].action_bytes, 40);
	assert_int_equal(c.tables[2].action_bytes, 2);
}

static void test_explicit_values(void **state)
{
	struct ci_config c;
	const struct ci_table *t;

	(void)state;
	parse_ok("device key-sizes=8,64 max-action-bytes=255 max-exact-tables=2 "
		 "exclusive-actions=queue,vxlan_encap\n"
		 "table name=A-b_9 type=wildcard capacity=16777216 priorities=65536 "
		 "miss=next actions=jump,mark,count key=mark,in_port action-bytes=255\n"
		 "table name=x type=exact capacity=1 priorities=1 miss=drop "
		 "actions=drop key=in_port,mark,eth_dst\n"
		 "table name=y type=exact capacity=2 key=ipv6_src,ipv6_dst,ipv4_src,"
		 "ipv4_dst,in_port,mark,eth_dst,eth_src,eth_type,vlan_tci,vlan2_tci\n",
		 &c);
	assert_int_equal(c.n_key_sizes, 2);
	assert_int_equal(c.key_sizes[0], 8);
	assert_int_equal(c.key_sizes[1], 64);
	assert_int_equal(c.max_action_bytes, 255);
	assert_int_equal(c.max_exact_tables, 2);
	uint64_t ex = BIT(PK_OP_QUEUE) | BIT(PK_OP_VXLAN_ENCAP);
	assert_int_equal(c.exclusive_actions, ex);

	t = &c.tables[0];
	assert_string_equal(t->name, "A-b_9");
	assert_int_equal(t->capacity, 16777216);
	assert_int_equal(t->priorities, 65536);
	assert_int_equal(t->miss, PK_MISS_NEXT);
	assert_int_equal(t->action_bytes, 255);
	assert_int_equal(t->actions, BIT(PK_OP_JUMP) | BIT(PK_OP_MARK) |
					     BIT(PK_OP_COUNT));
	CHECK_KEY(t, 6, 8, "mark", "in_port");

	t = &c.tables[1];
	assert_int_equal(t->miss, PK_MISS_DROP);
	assert_int_equal(t->priorities, 1);
	assert_int_equal(t->actions, BIT(PK_OP_DROP));
	CHECK_KEY(t, 12, 64, "in_port", "mark", "eth_dst");

	/* a 64-byte key fits the 64-byte key size exactly */
	t = &c.tables[2];
	CHECK_KEY(t, 64, 64, "ipv6_src", "ipv6_dst", "ipv4_src", "ipv4_dst",
		  "in_port", "mark", "eth_dst", "eth_src", "eth_type",
		  "vlan_tci", "vlan2_tci");
}

/* Keys round up to the smallest device key size that holds them. */
static void test_key_rounding(void **state)
{
	static const struct {
		const char *key;
		uint32_t used, bytes;
	} cases[] = {
		{ "in_port", 2, 10 },
		{ "in_port,eth_dst,vlan_tci", 10, 10 },
		{ "in_port,eth_dst,vlan_tci,ip_tos", 11, 26 },
		{ "in_port,eth_type,ip_proto,ipv4_src,ipv4_dst,l4_src,l4_dst,vxlan_vni",
		  20, 26 },
		{ "ipv6_src,eth_dst,in_port,ip_proto,ip_ttl", 26, 26 },
		{ "ipv6_src,eth_dst,in_port,ip_proto,ip_ttl,ip_tos", 27, 42 },
		{ "ipv6_src,ipv6_dst,mark,eth_type,ip_proto,ip_ttl,in_port", 42, 42 },
		{ "ipv6_src,ipv6_dst,mark,eth_type,ip_proto,ip_ttl,in_port,ip_tos",
		  43, 58 },
	};
	char text[512];
	struct ci_config c;

	(void)state;
	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), DEV "table name=t type=exact "
			 "capacity=1 key=%s\n", cases[i].key);
		parse_ok(text, &c);
		if (c.tables[0].key_used != cases[i].used ||
		    c.tables[0].key_bytes != cases[i].bytes)
			fail_msg("key=%s: %u bytes, key_bytes %u; expected %u, %u",
				 cases[i].key, c.tables[0].key_used,
				 c.tables[0].key_bytes, cases[i].used, cases[i].bytes);
	}
}

/* Device attributes given twice: the later value replaces the earlier. */
static void test_device_attr_twice(void **state)
{
	struct ci_config c;

	(void)state;
	parse_ok("device max-action-bytes=64 key-sizes=8,64 max-action-bytes=32 "
		 "key-sizes=16,32 exclusive-actions=queue,mark "
		 "exclusive-actions=drop max-exact-tables=3 max-exact-tables=2\n"
		 TBL, &c);
	assert_int_equal(c.max_action_bytes, 32);
	assert_int_equal(c.n_key_sizes, 2);
	assert_int_equal(c.key_sizes[0], 16);
	assert_int_equal(c.key_sizes[1], 32);
	assert_int_equal(c.exclusive_actions, BIT(PK_OP_DROP));
	assert_int_equal(c.max_exact_tables, 2);
	assert_int_equal(c.tables[0].action_bytes, 32);
	assert_int_equal(c.tables[0].key_bytes, 16);
}

/* Empty list elements are skipped; only a list with none is an error. */
static void test_list_empty_elements(void **state)
{
	struct ci_config c;

	(void)state;
	parse_ok("device key-sizes=,10,,26,\n"
		 "table name=t type=exact capacity=1 key=,in_port,,eth_dst, "
		 "actions=,,port,\n", &c);
	assert_int_equal(c.n_key_sizes, 2);
	assert_int_equal(c.key_sizes[1], 26);
	CHECK_KEY(&c.tables[0], 8, 10, "in_port", "eth_dst");
	assert_int_equal(c.tables[0].actions, BIT(PK_OP_PORT));
}

/* The example of dpak-configinfo(5), and what the page says of it. */
static void test_man_page_example(void **state)
{
	struct ci_config c;

	(void)state;
	parse_ok("# A two-table pipeline.\n"
		 "device key-sizes=16,32\n"
		 "table name=acl type=wildcard capacity=1024 priorities=8 miss=next "
		 "key=in_port,eth_type,ip_proto,ipv4_src,ipv4_dst,l4_src,l4_dst "
		 "actions=count,mark,jump,drop,port\n"
		 "table name=fwd type=exact capacity=65536 action-bytes=16 key=mark "
		 "actions=count,port,drop,queue\n", &c);
	assert_int_equal(c.n_tables, 2);
	assert_int_equal(c.tables[0].key_used, 17);
	assert_int_equal(c.tables[0].key_bytes, 32);
	assert_int_equal(c.tables[0].priorities, 8);
	assert_int_equal(c.tables[0].action_bytes, 128);
	assert_int_equal(c.tables[0].actions, BIT(PK_OP_COUNT) | BIT(PK_OP_MARK) |
				BIT(PK_OP_JUMP) | BIT(PK_OP_DROP) | BIT(PK_OP_PORT));
	assert_int_equal(c.tables[1].key_used, 4);
	assert_int_equal(c.tables[1].key_bytes, 16);
	assert_int_equal(c.tables[1].action_bytes, 16);
	assert_int_equal(c.tables[1].miss, PK_MISS_HOST);
}

/* Every key field name is accepted and has its width. */
static void test_every_field(void **state)
{
	char text[512];
	struct ci_config c;

	(void)state;
	for (int f = 0; f < PK_FIELD_MAX; f++) {
		snprintf(text, sizeof(text),
			 "table name=t type=exact capacity=1 key=%s\n",
			 pk_field_names[f]);
		parse_ok(text, &c);
		assert_int_equal(c.tables[0].n_fields, 1);
		assert_int_equal(c.tables[0].field[0], f);
		assert_int_equal(c.tables[0].fields, BIT(f));
		assert_int_equal(c.tables[0].key_used, pk_field_len[f]);
		assert_int_equal(c.tables[0].key_bytes, 16);
	}
}

static void test_comments_and_blank_lines(void **state)
{
	struct ci_config c;

	(void)state;
	parse_ok("# a comment\n"
		 "\n"
		 "   \t  \n"
		 "#device key-sizes=1\n"
		 "device key-sizes=10,26 # trailing comment\n"
		 "\t# indented comment\n"
		 "table\tname=t  type=exact\tcapacity=5 key=in_port#,eth_dst\n"
		 "   # comment with an odd = sign, table name=x and device\n"
		 "table name=u type=exact capacity=6 key=eth_dst\r\n"
		 "\r\n"
		 "table name=v type=lpm capacity=7 key=ipv4_dst", /* no final newline */
		 &c);
	assert_int_equal(c.n_key_sizes, 2);
	assert_int_equal(c.n_tables, 3);
	assert_string_equal(c.tables[0].name, "t");
	assert_int_equal(c.tables[0].line, 7);
	/* everything after '#' is a comment, even inside a value */
	assert_int_equal(c.tables[0].fields, BIT(PK_IN_PORT));
	assert_int_equal(c.tables[0].key_bytes, 10);
	assert_string_equal(c.tables[1].name, "u");
	assert_int_equal(c.tables[1].line, 9);
	assert_int_equal(c.tables[1].capacity, 6);
	assert_int_equal(c.tables[1].fields, BIT(PK_ETH_DST));
	assert_string_equal(c.tables[2].name, "v");
	assert_int_equal(c.tables[2].line, 11);

	/* Line numbers in messages count comment and blank lines too. */
	expect_err("# one\n\n# three\n" DEV "\n" TBL "table name=t type=exact "
		   "capacity=1 key=in_port\n", 7, "table t declared twice (first on line 6)");
	/* CRLF endings keep the count right */
	expect_err("#\r\n\r\n" TBL "bogus\r\n", 4, "unknown declaration 'bogus'");
}

/* A line of 4095 bytes is fine; 4096 is one too many (comments count). */
static void test_line_length(void **state)
{
	struct ci_config c;
	size_t tl = strlen(TBL) - 1; /* without its newline */
	char *text = malloc(3 * 4200);
	size_t n;

	(void)state;
	assert_non_null(text);
	/* line 1: TBL padded with blanks and a comment to exactly 4095 bytes */
	memcpy(text, TBL, tl);
	n = tl;
	text[n++] = ' ';
	text[n++] = '#';
	while (n < 4095)
		text[n++] = 'x';
	text[n++] = '\n';
	text[n] = 0;
	parse_ok(text, &c);
	assert_int_equal(c.n_tables, 1);

	/* line 2: a 4096-byte comment line */
	text[n++] = '#';
	for (size_t i = 1; i < 4096; i++)
		text[n++] = 'y';
	text[n++] = '\n';
	text[n] = 0;
	expect_err(text, 2, "line longer than 4095 bytes");

	/* the same as the last line, without a newline */
	text[n - 1] = 0;
	expect_err(text, 2, "line longer than 4095 bytes");
	free(text);
}

/* ---------------------------------------------------------------------- */
/* Errors: lexical                                                         */

static void test_err_control_chars(void **state)
{
	(void)state;
	expect_err(DEV TBL "table name=u\x01 type=exact capacity=1 key=in_port\n", 3,
		   "control character 0x01");
	expect_err(DEV "\x1b[1m\n" TBL, 2, "control character 0x1b");
	expect_err(TBL "table name=u type=exact capacity=1\x0b key=in_port\n", 2,
		   "control character 0x0b");
	expect_err(TBL "table name=u type=exact\fcapacity=1 key=in_port\n", 2,
		   "control character 0x0c");
}

static void test_err_declaration(void **state)
{
	(void)state;
	expect_err(DEV "tables name=t type=exact capacity=1 key=in_port\n", 2,
		   "unknown declaration 'tables' (device or table)");
	expect_err(DEV "Table name=t type=exact capacity=1 key=in_port\n", 2,
		   "unknown declaration 'Table'");
	expect_err(DEV "name=t type=exact capacity=1 key=in_port\n", 2,
		   "'name=t': a line starts with 'device' or 'table'");
	expect_err(TBL "  =x\n", 2, "a line starts with 'device' or 'table'");
}

static void test_err_no_text(void **state)
{
	struct ci_config c;

	(void)state;
	memset(&c, 0x77, sizeof(c));
	assert_int_equal(ci_parse(NULL, ORIGIN, &c), -EINVAL);
	assert_string_equal(dpak_errmsg(), ORIGIN ": no text");
	assert_int_equal(((unsigned char *)&c)[0], 0x77);
}

static void test_err_no_tables(void **state)
{
	(void)state;
	expect_err("", 0, "declares no table");
	expect_err(DEV, 0, "declares no table");
	expect_err("# only\n\n# comments\n", 0, "declares no table");
	expect_err("\n\n\n", 0, "declares no table");
}

/* ---------------------------------------------------------------------- */
/* Errors: the device line                                                 */

static void test_err_device_order(void **state)
{
	(void)state;
	expect_err(DEV TBL DEV, 3, "a second device line");
	expect_err("device\n" DEV TBL, 2, "a second device line");
	expect_err(TBL DEV, 2, "the device line must come before the tables");
	expect_err("#\n" TBL "\ndevice max-action-bytes=64\n", 4,
		   "the device line must come before the tables");
}

static void test_err_device_attrs(void **state)
{
	(void)state;
	expect_err("device key-sizes=10 max-actions=9\n" TBL, 1,
		   "device: unknown attribute 'max-actions'");
	expect_err("device key-sizes\n" TBL, 1,
		   "device: 'key-sizes' needs a value (attr=value)");
	expect_err("device max-action-bytes=\n" TBL, 1,
		   "device: 'max-action-bytes' needs a value");
	expect_err("device key-sizes=,\n" TBL, 1, "key-sizes: empty list");
	expect_err("device exclusive-actions=,,\n" TBL, 1,
		   "exclusive-actions: empty list");
	expect_err("device key-sizes=1,2,3,4,5,6,7,8,9\n" TBL, 1,
		   "key-sizes: at most 8 sizes");
	expect_err("device key-sizes=10,26,26\n" TBL, 1, "key-sizes: sizes must increase");
	expect_err("device key-sizes=26,10\n" TBL, 1, "key-sizes: sizes must increase");
	expect_err("device key-sizes=10,x\n" TBL, 1, "key-sizes=x: not a number");
	expect_err("device key-sizes=0\n" TBL, 1, "key-sizes=0: out of range (1-64)");
	expect_err("device key-sizes=10,65\n" TBL, 1, "key-sizes=65: out of range (1-64)");
	expect_err("device max-action-bytes=7\n" TBL, 1,
		   "max-action-bytes=7: out of range (8-255)");
	expect_err("device max-action-bytes=256\n" TBL, 1,
		   "max-action-bytes=256: out of range (8-255)");
	expect_err("device max-exact-tables=0\n" TBL, 1,
		   "max-exact-tables=0: out of range (1-32)");
	expect_err("device max-exact-tables=33\n" TBL, 1,
		   "max-exact-tables=33: out of range (1-32)");
	expect_err("device max-exact-tables=-1\n" TBL, 1,
		   "max-exact-tables=-1: not a number");
	expect_err("device exclusive-actions=queue,teleport\n" TBL, 1,
		   "exclusive-actions: unknown action 'teleport'");

	/* eight sizes are fine */
	struct ci_config c;
	parse_ok("device key-sizes=1,2,3,4,5,6,7,64\n" TBL, &c);
	assert_int_equal(c.n_key_sizes, 8);
	assert_int_equal(c.tables[0].key_bytes, 2);
}

/* ---------------------------------------------------------------------- */
/* Errors: table attributes                                                */

static void test_err_table_attr_names(void **state)
{
	(void)state;
	expect_err(DEV "table name=t type=exact capacity=1 key=in_port size=3\n", 2,
		   "table: unknown attribute 'size' (name, type, capacity, key,");
	expect_err(DEV "table name=t type=exact capacity key=in_port\n", 2,
		   "table: 'capacity' needs a value (attr=value)");
	expect_err(DEV "table name=t type= capacity=1 key=in_port\n", 2,
		   "table: 'type' needs a value (attr=value)");
	expect_err(DEV "table name=t type=exact capacity=1 key=in_port name=u\n", 2,
		   "table: 'name' given twice");
	expect_err(DEV "table name=t type=exact capacity=1 key=in_port key=mark\n", 2,
		   "table: 'key' given twice");
	expect_err(DEV "table name=t type=exact capacity=1 key=in_port miss=host "
		   "miss=host\n", 2, "table: 'miss' given twice");
}

static void test_err_table_missing(void **state)
{
	(void)state;
	expect_err(DEV "table type=exact capacity=1 key=in_port\n", 2,
		   "table: 'name' missing");
	expect_err(DEV "table name=t capacity=1 key=in_port\n", 2,
		   "table: 'type' missing");
	expect_err(DEV "table name=t type=exact key=in_port\n", 2,
		   "table: 'capacity' missing");
	expect_err(DEV "table name=t type=exact capacity=1\n", 2,
		   "table: 'key' missing");
	expect_err(DEV "table\n", 2, "table: 'name' missing");
}

static void test_err_table_name(void **state)
{
	struct ci_config c;
	char text[256];

	(void)state;
	/* 31 characters are fine, 32 are not */
	snprintf(text, sizeof(text), "table name=%s type=exact capacity=1 key=in_port\n",
		 "abcdefghijklmnopqrstuvwxyz01234");
	parse_ok(text, &c);
	assert_string_equal(c.tables[0].name, "abcdefghijklmnopqrstuvwxyz01234");
	snprintf(text, sizeof(text), "table name=%s type=exact capacity=1 key=in_port\n",
		 "abcdefghijklmnopqrstuvwxyz012345");
	expect_err(text, 1, "name 'abcdefghijklmnopqrstuvwxyz012345' longer than 31");

	expect_err("table name=a.b type=exact capacity=1 key=in_port\n", 1,
		   "name 'a.b': use letters, digits, '_' and '-'");
	expect_err("table name=a/b type=exact capacity=1 key=in_port\n", 1,
		   "name 'a/b': use letters");
	expect_err("table name=caf\xc3\xa9 type=exact capacity=1 key=in_port\n", 1,
		   "use letters, digits");

	expect_err(DEV TBL "#\n" TBL, 4, "table t declared twice (first on line 2)");
	expect_err(DEV TBL "table name=u type=exact capacity=1 key=mark\n"
		   "table name=u type=lpm capacity=1 key=ipv4_dst\n", 4,
		   "table u declared twice (first on line 3)");
}

static void test_err_table_type(void **state)
{
	(void)state;
	expect_err(DEV "table name=t type=hash capacity=1 key=in_port\n", 2,
		   "type=hash: not exact, wildcard or lpm");
	expect_err(DEV "table name=t type=Exact capacity=1 key=in_port\n", 2,
		   "type=Exact: not exact, wildcard or lpm");
}

static void test_err_table_numbers(void **state)
{
	(void)state;
	expect_err(DEV "table name=t type=exact capacity=lots key=in_port\n", 2,
		   "capacity=lots: not a number");
	expect_err(DEV "table name=t type=exact capacity=12k key=in_port\n", 2,
		   "capacity=12k: not a number");
	expect_err(DEV "table name=t type=exact capacity=+5 key=in_port\n", 2,
		   "capacity=+5: not a number");
	expect_err(DEV "table name=t type=exact capacity=-5 key=in_port\n", 2,
		   "capacity=-5: not a number");
	expect_err(DEV "table name=t type=exact capacity=0x10 key=in_port\n", 2,
		   "capacity=0x10: not a number");
	expect_err(DEV "table name=t type=exact capacity=99999999999999999999999 "
		   "key=in_port\n", 2, "capacity=99999999999999999999999: not a number");
	expect_err(DEV "table name=t type=exact capacity=0 key=in_port\n", 2,
		   "capacity=0: out of range (1-16777216)");
	expect_err(DEV "table name=t type=exact capacity=16777217 key=in_port\n", 2,
		   "capacity=16777217: out of range (1-16777216)");
	expect_err(DEV "table name=t type=exact capacity=4294967296 key=in_port\n", 2,
		   "capacity=4294967296: out of range");
	expect_err(DEV "table name=t type=exact capacity=1 key=in_port action-bytes=1\n",
		   2, "action-bytes=1: out of range (2-255)");
	expect_err(DEV "table name=t type=exact capacity=1 key=in_port action-bytes=256\n",
		   2, "action-bytes=256: out of range (2-255)");
	expect_err(DEV "table name=t type=wildcard capacity=1 key=in_port priorities=0\n",
		   2, "priorities=0: out of range (1-65536)");
	expect_err(DEV "table name=t type=wildcard capacity=1 key=in_port "
		   "priorities=65537\n", 2, "priorities=65537: out of range (1-65536)");
	expect_err(DEV "table name=t type=wildcard capacity=1 key=in_port "
		   "priorities=1.5\n", 2, "priorities=1.5: not a number");
}

static void test_err_table_fields(void **state)
{
	(void)state;
	expect_err(DEV "table name=t type=exact capacity=1 key=in_port,ip_dst\n", 2,
		   "key: unknown field 'ip_dst' (see dpak-configinfo(5))");
	expect_err(DEV "table name=t type=exact capacity=1 key=IN_PORT\n", 2,
		   "key: unknown field 'IN_PORT'");
	expect_err(DEV "table name=t type=exact capacity=1 key=in_port,mark,in_port\n",
		   2, "key: field in_port given twice");
	expect_err(DEV "table name=t type=exact capacity=1 key=,\n", 2,
		   "key: empty list");
}

/* key=field/MASK: an exact table keys on those bits of the field. */
static void test_key_field_mask(void **state)
{
	struct ci_config c;
	(void)state;
	parse_ok(DEV "table name=t type=exact capacity=1 key=in_port,vlan_tci/0x0fff,"
		 "ip_proto/255,ipv4_dst/0xffffff00\n", &c);
	const struct ci_table *t = &c.tables[0];
	static const uint8_t m[9] = { 0xff, 0xff, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0 };
	assert_true(t->has_key_mask);
	assert_int_equal(t->key_used, 9);
	assert_memory_equal(t->key_mask, m, 9);
	/* A full mask is no mask. */
	parse_ok(DEV "table name=t type=exact capacity=1 key=in_port/0xffff\n", &c);
	assert_false(c.tables[0].has_key_mask);
	assert_int_equal(c.tables[0].key_mask[0] & c.tables[0].key_mask[1], 0xff);

	expect_err(DEV "table name=t type=exact capacity=1 key=vlan_tci/0x1ffff\n", 2,
		   "key: vlan_tci: mask 0x1ffff is wider than the field (2 bytes)");
	expect_err(DEV "table name=t type=exact capacity=1 key=vlan_tci/vid\n", 2,
		   "key: vlan_tci: mask 'vid' is not a number");
	expect_err(DEV "table name=t type=exact capacity=1 key=vlan_tci/\n", 2,
		   "key: vlan_tci: mask '' is not a number");
	expect_err(DEV "table name=t type=exact capacity=1 key=vlan_tci/0\n", 2,
		   "key: vlan_tci: mask 0 keys on nothing");
	expect_err(DEV "table name=t type=exact capacity=1 key=ipv6_dst/0xff\n", 2,
		   "key: ipv6_dst: mask 0xff is wider than the field");
	expect_err(DEV "table name=t type=exact capacity=1 key=vlan/0xfff\n", 2,
		   "key: unknown field 'vlan'");
	expect_err(DEV "table name=t type=wildcard capacity=1 key=vlan_tci/0x0fff\n", 2,
		   "table t: a key field mask (field/MASK) is for exact tables");
}

static void test_err_table_actions(void **state)
{
	(void)state;
	expect_err(DEV "table name=t type=exact capacity=1 key=in_port "
		   "actions=port,forward\n", 2, "actions: unknown action 'forward'");
	expect_err(DEV "table name=t type=exact capacity=1 key=in_port actions=,\n", 2,
		   "actions: empty list");
	/* no fate action: found once the whole file is read, on the table's line */
	expect_err(DEV TBL "table name=nofate type=exact capacity=1 key=in_port "
		   "actions=mark,count,set_eth_dst\n", 3,
		   "table nofate: actions has no fate action (port, drop, queue, rss or jump)");
}

static void test_err_table_misc(void **state)
{
	struct ci_config c;

	(void)state;
	expect_err(DEV "table name=t type=exact capacity=1 key=in_port miss=jump\n", 2,
		   "miss=jump: not host, next or drop");
	expect_err(DEV "table name=t type=exact capacity=1 key=in_port priorities=4\n",
		   2, "table t: priorities apply to wildcard tables only");
	expect_err(DEV "table name=r type=lpm capacity=1 key=ipv4_dst priorities=2\n",
		   2, "table r: priorities apply to wildcard tables only");
	/* priorities=1 on an exact table says nothing new: accepted */
	parse_ok(DEV "table name=t type=exact capacity=1 key=in_port priorities=1\n", &c);
	assert_int_equal(c.tables[0].priorities, 1);
}

static void test_err_too_many_tables(void **state)
{
	char *text = malloc(CI_MAX_TABLES * 80 + 200);
	struct ci_config c;
	size_t n = 0;

	(void)state;
	assert_non_null(text);
	for (int i = 0; i < CI_MAX_TABLES; i++)
		n += (size_t)sprintf(text + n, "table name=t%d type=wildcard "
				     "capacity=1 key=in_port\n", i);
	parse_ok(text, &c);
	assert_int_equal(c.n_tables, CI_MAX_TABLES);
	sprintf(text + n, "table name=t%d type=wildcard capacity=1 key=in_port\n",
		CI_MAX_TABLES);
	expect_err(text, CI_MAX_TABLES + 1, "more than 32 tables");
	free(text);
}

/* ---------------------------------------------------------------------- */
/* Errors found once the whole file is read                                */

static void test_err_max_exact_tables(void **state)
{
	char *text = malloc(20 * 100);
	struct ci_config c;
	size_t n;

	(void)state;
	assert_non_null(text);
	n = (size_t)sprintf(text, "device key-sizes=10,26,42,58 max-exact-tables=12\n");
	/* wildcard and lpm tables don't count */
	n += (size_t)sprintf(text + n, "table name=w type=wildcard capacity=1 key=in_port\n");
	n += (size_t)sprintf(text + n, "table name=l type=lpm capacity=1 key=ipv4_dst\n");
	for (int i = 0; i < 12; i++)
		n += (size_t)sprintf(text + n, "table name=e%d type=exact capacity=1 "
				     "key=in_port\n", i);
	parse_ok(text, &c);
	assert_int_equal(c.n_tables, 14);
	assert_int_equal(c.max_exact_tables, 12);
	/* the 13th, on line 16 */
	sprintf(text + n, "table name=thirteen type=exact capacity=1 key=in_port\n");
	expect_err(text, 16, "table thirteen: more than 12 exact tables (device "
		   "max-exact-tables)");
	free(text);

	expect_err("device max-exact-tables=1\n" TBL "#\n"
		   "table name=u type=exact capacity=1 key=mark\n", 4,
		   "table u: more than 1 exact tables");
}

static void test_err_key_too_long(void **state)
{
	struct ci_config c;

	(void)state;
	/* 57 bytes round up to 58; 58 bytes are exactly the largest size */
	parse_ok(DEV "table name=k57 type=exact capacity=1 key=ipv6_src,ipv6_dst,"
		 "eth_dst,eth_src,in_port,mark,eth_type,vlan_tci,ip_proto,l4_src\n"
		 "table name=k58 type=exact capacity=1 key=ipv6_src,ipv6_dst,"
		 "eth_dst,eth_src,in_port,mark,eth_type,vlan_tci,ip_proto,l4_src,"
		 "icmp_type\n", &c);
	assert_int_equal(c.tables[0].key_used, 57);
	assert_int_equal(c.tables[0].key_bytes, 58);
	assert_int_equal(c.tables[1].key_used, 58);
	assert_int_equal(c.tables[1].key_bytes, 58);
	/* dpak-hw1's largest key size is 58: 59 bytes don't fit */
	expect_err(DEV "table name=big type=exact capacity=1 key=ipv6_src,ipv6_dst,"
		   "eth_dst,eth_src,in_port,mark,eth_type,vlan_tci,ip_proto,l4_src,l4_dst\n",
		   2, "table big: key takes 59 bytes, more than the device's largest "
		   "key size (58)");
	expect_err("device key-sizes=10\n" TBL "table name=k type=wildcard capacity=1 "
		   "key=eth_dst,eth_src\n", 3,
		   "table k: key takes 12 bytes, more than the device's largest key size (10)");
	/* every field together (77 bytes) exceeds even the default 64 */
	expect_err("table name=all type=wildcard capacity=1 key=in_port,mark,eth_dst,"
		   "eth_src,eth_type,vlan_tci,vlan2_tci,ip_tos,ip_ttl,ip_proto,ipv4_src,"
		   "ipv4_dst,ipv6_src,ipv6_dst,l4_src,l4_dst,tcp_flags,icmp_type,"
		   "icmp_code,vxlan_vni\n", 1, "key takes 77 bytes, more than the "
		   "device's largest key size (64)");
}

static void test_err_action_bytes_over_max(void **state)
{
	(void)state;
	expect_err(DEV TBL "table name=fat type=exact capacity=1 key=in_port "
		   "action-bytes=129\n", 3, "table fat: action-bytes=129 exceeds the "
		   "device's max-action-bytes=128");
	expect_err("device max-action-bytes=8\n"
		   "table name=f type=wildcard capacity=1 key=in_port action-bytes=9\n",
		   2, "table f: action-bytes=9 exceeds the device's max-action-bytes=8");
}

static void test_err_miss_next_last(void **state)
{
	struct ci_config c;

	(void)state;
	expect_err(DEV TBL "table name=end type=exact capacity=1 key=in_port "
		   "miss=next\n", 3, "table end: miss=next on the last table");
	/* not the last: fine */
	parse_ok(DEV "table name=a type=exact capacity=1 key=in_port miss=next\n" TBL,
		 &c);
	assert_int_equal(c.tables[0].miss, PK_MISS_NEXT);
	assert_int_equal(c.tables[1].miss, PK_MISS_HOST);
}

static void test_fate_actions(void **state)
{
	static const char *const fates[] = { "port", "drop", "queue", "jump" };
	char text[256];
	struct ci_config c;

	(void)state;
	for (unsigned i = 0; i < 4; i++) {
		snprintf(text, sizeof(text), "table name=t type=exact capacity=1 "
			 "key=in_port actions=mark,%s\n", fates[i]);
		parse_ok(text, &c);
		assert_int_equal(c.tables[0].actions & ~BIT(PK_OP_MARK),
				 BIT(PK_OP_PORT + i));
	}
}

static void test_err_first_error_wins(void **state)
{
	(void)state;
	/* the first mistake in the file is the one reported */
	expect_err(DEV "table name=t type=bad capacity=x key=nope\n", 2, "type=bad");
	expect_err(DEV "table name=t type=exact capacity=1 key=in_port miss=next\n"
		   "table name=u type=exact capacity=1 key=nope\n", 3,
		   "unknown field 'nope'");
}

/* Mask limits: the device's max-masks bounds wildcard tables (default 64);
 * an LPM table holds one mask per prefix length of its prefix field unless
 * it declares fewer; exact tables have one. */
static void test_mask_limits(void **state)
{
	struct ci_config c;

	(void)state;
	parse_ok("table name=w type=wildcard capacity=8 key=in_port,eth_dst\n"
		 "table name=v type=wildcard capacity=8 masks=3 key=in_port\n"
		 "table name=e type=exact capacity=7 key=eth_dst\n"
		 "table name=r4 type=lpm capacity=9 key=in_port,ipv4_dst\n"
		 "table name=r6 type=lpm capacity=9 key=ipv6_dst\n"
		 "table name=r6s type=lpm capacity=9 masks=65 key=ipv6_dst\n", &c);
	assert_int_equal(c.max_masks, 64);
	assert_int_equal(table_named(&c, "w")->max_masks, 64);
	assert_int_equal(table_named(&c, "v")->max_masks, 3);
	assert_int_equal(table_named(&c, "e")->max_masks, 1);
	assert_int_equal(table_named(&c, "r4")->max_masks, 33);
	assert_int_equal(table_named(&c, "r6")->max_masks, 129);
	assert_int_equal(table_named(&c, "r6s")->max_masks, 65);

	parse_ok("device max-masks=256\n"
		 "table name=w type=wildcard capacity=8 key=in_port\n"
		 "table name=x type=wildcard capacity=8 masks=200 key=in_port\n", &c);
	assert_int_equal(c.max_masks, 256);
	assert_int_equal(c.tables[0].max_masks, 256);
	assert_int_equal(c.tables[1].max_masks, 200);

	expect_err("device max-masks=0\n" TBL, 1, "max-masks=0: out of range (1-256)");
	expect_err("device max-masks=257\n" TBL, 1, "max-masks=257: out of range (1-256)");
	expect_err(DEV "table name=t type=wildcard capacity=1 masks=0 key=in_port\n", 2,
		   "masks=0: out of range (1-256)");
	expect_err("device max-masks=8\n"
		   "table name=t type=wildcard capacity=1 masks=9 key=in_port\n", 2,
		   "table t: masks=9 exceeds the device's max-masks=8");
	expect_err(DEV "table name=t type=exact capacity=1 masks=2 key=in_port\n", 2,
		   "table t: masks apply to wildcard and lpm tables only");
	expect_err(DEV "table name=t type=lpm capacity=1 masks=34 key=ipv4_dst\n", 2,
		   "table t: masks=34, but its prefix field ipv4_dst has only 33 "
		   "prefix lengths (0-32)");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_conf),
		cmocka_unit_test(test_key_field_mask),
		cmocka_unit_test(test_dpak_hw1_conf),
		cmocka_unit_test(test_builtin_default),
		cmocka_unit_test(test_load_missing_file),
		cmocka_unit_test(test_load_errors),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_explicit_values),
		cmocka_unit_test(test_mask_limits),
		cmocka_unit_test(test_key_rounding),
		cmocka_unit_test(test_device_attr_twice),
		cmocka_unit_test(test_list_empty_elements),
		cmocka_unit_test(test_man_page_example),
		cmocka_unit_test(test_every_field),
		cmocka_unit_test(test_comments_and_blank_lines),
		cmocka_unit_test(test_line_length),
		cmocka_unit_test(test_err_control_chars),
		cmocka_unit_test(test_err_declaration),
		cmocka_unit_test(test_err_no_text),
		cmocka_unit_test(test_err_no_tables),
		cmocka_unit_test(test_err_device_order),
		cmocka_unit_test(test_err_device_attrs),
		cmocka_unit_test(test_err_table_attr_names),
		cmocka_unit_test(test_err_table_missing),
		cmocka_unit_test(test_err_table_name),
		cmocka_unit_test(test_err_table_type),
		cmocka_unit_test(test_err_table_numbers),
		cmocka_unit_test(test_err_table_fields),
		cmocka_unit_test(test_err_table_actions),
		cmocka_unit_test(test_err_table_misc),
		cmocka_unit_test(test_err_too_many_tables),
		cmocka_unit_test(test_err_max_exact_tables),
		cmocka_unit_test(test_err_key_too_long),
		cmocka_unit_test(test_err_action_bytes_over_max),
		cmocka_unit_test(test_err_miss_next_last),
		cmocka_unit_test(test_fate_actions),
		cmocka_unit_test(test_err_first_error_wins),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
