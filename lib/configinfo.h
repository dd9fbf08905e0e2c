/* SPDX-License-Identifier: MIT */
/* configinfo: the declaration of a device's tables (see dpak-configinfo(5)). */
#ifndef DPAK_CONFIGINFO_H
#define DPAK_CONFIGINFO_H

#include <stdint.h>
#include "pack.h"

#define CI_MAX_TABLES 32
#define CI_NAME_MAX 32
#define CI_MAX_KEY_SIZES 8
#define CI_MAX_MASKS 256 /* distinct masks a table may declare */
#define CI_DEFAULT_MASKS 64

struct ci_table {
	char name[CI_NAME_MAX];
	enum pk_table_type type;
	enum pk_miss miss;
	uint32_t capacity;
	uint32_t priorities;      /* 1 for exact tables */
	uint32_t action_bytes;    /* most packed action bytes per flow */
	uint64_t actions;         /* bit per allowed pk_op */
	uint64_t fields;          /* bit per key field */
	uint8_t n_fields;
	uint8_t field[PK_FIELD_MAX];     /* key fields in key order */
	uint8_t field_off[PK_FIELD_MAX]; /* offset in the key, by field id */
	uint32_t key_used;        /* bytes the fields take */
	uint32_t key_bytes;       /* key_used rounded up to a device key size */
	uint32_t max_masks;       /* most distinct masks (LPM: prefix lengths) */
	int line;
	/* Exact tables: the bits of each key field the table keys on, in key
	 * layout (ones, unless the key names a mask: vlan_tci/0x0fff). */
	uint8_t key_mask[PK_MAX_KEY];
	uint8_t has_key_mask;     /* some field is masked */
};

struct ci_config {
	uint32_t key_sizes[CI_MAX_KEY_SIZES];
	uint32_t n_key_sizes;
	uint32_t max_action_bytes;
	uint32_t max_exact_tables;
	uint64_t exclusive_actions; /* ops that must stand alone in a flow */
	uint32_t max_masks;       /* most distinct masks of a wildcard table */
	uint32_t n_tables;
	struct ci_table tables[CI_MAX_TABLES];
};

/* Parse configinfo text. @origin names it in messages ("file:line: ...").
 * Returns 0 or -EINVAL with dpak_errmsg() set; @cfg is only written on
 * success. */
int ci_parse(const char *text, const char *origin, struct ci_config *cfg);
/* Read and parse a file. */
int ci_load(const char *path, struct ci_config *cfg);
/* The built-in default (configinfo/default.conf, compiled in). */
extern const char ci_default_text[];

#endif
