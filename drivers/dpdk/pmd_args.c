/* SPDX-License-Identifier: MIT */
/*
 * net_dpak devargs.
 *
 *   dev=DEVSPEC,port=NAME|N,iface=IFNAME,configinfo=FILE,ctl=PATH,queues=N
 *
 * A libdpak devspec has ',' and '=' of its own ("hwsim:uplinks=2,vfs=4"),
 * which rte_kvargs cannot carry (it ends a key at every '='). The EAL hands
 * a vdev's arguments to the driver as one string, so they are split here:
 * at each ',' followed by one of this driver's keys. Everything else after
 * dev= belongs to the devspec, so
 *   net_dpak0,dev=hwsim:uplinks=2,vfs=4,port=vf0
 * gives dev "hwsim:uplinks=2,vfs=4" and port "vf0". A ';' in the devspec
 * stands for ',' too (dev=hwsim:uplinks=2;vfs=4), for tools that split
 * device arguments at commas themselves.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pmd.h"

static const char *const keys[] = { "dev", "port", "iface", "configinfo", "ctl", "queues" };

const char *pmd_args_help(void)
{
	return "dev=<libdpak devspec, e.g. hwsim:uplinks=2,vfs=4> "
	       "port=<port name or number> iface=<Linux interface> "
	       "configinfo=<file> ctl=<socket path> queues=<1-16>";
}

/* Length of a key at s if s starts with "<known key>=", else 0. */
static size_t key_at(const char *s)
{
	for (size_t i = 0; i < RTE_DIM(keys); i++) {
		size_t l = strlen(keys[i]);
		if (!strncmp(s, keys[i], l) && s[l] == '=')
			return l;
	}
	return 0;
}

/* A value in a log line: its first SHOW_MAX bytes, then "..." */
#define SHOW_MAX 64
#define SHOW(len, v) (int)((len) > SHOW_MAX ? SHOW_MAX : (len)), (v), \
	((len) > SHOW_MAX ? "..." : "")

static int set_str(char *dst, size_t cap, const char *key, const char *v, size_t len)
{
	if (len >= cap) {
		PMD_LOG(ERR, "devarg %s=%.*s%s: too long (%zu bytes; at most %zu)", key,
			SHOW(len, v), len, cap - 1);
		return -EINVAL;
	}
	memcpy(dst, v, len);
	dst[len] = '\0';
	return 0;
}

int pmd_args_parse(const char *name, const char *args, struct pmd_args *a)
{
	const char *s = args ? args : "";
	bool seen[RTE_DIM(keys)] = { false };

	memset(a, 0, sizeof(*a));
	while (*s) {
		size_t kl = key_at(s), vl;
		const char *v, *end;
		char key[16];

		if (*s == ',') { /* empty pair */
			s++;
			continue;
		}
		if (!kl) {
			size_t l = strcspn(s, ",");
			PMD_LOG(ERR, "%s: unknown devarg '%.*s%s' (known: %s)", name,
				SHOW(l, s), pmd_args_help());
			return -EINVAL;
		}
		memcpy(key, s, kl);
		key[kl] = '\0';
		for (size_t k = 0; k < RTE_DIM(keys); k++) {
			if (strcmp(key, keys[k]))
				continue;
			if (seen[k]) {
				PMD_LOG(ERR, "%s: devarg %s= given twice", name, key);
				return -EINVAL;
			}
			seen[k] = true;
		}
		v = s + kl + 1;
		/* The value ends at the next ",<key>=" (dev=) or the next ',' (the others). */
		end = v;
		if (!strcmp(key, "dev")) {
			while (*end && !(*end == ',' && key_at(end + 1)))
				end++;
		} else {
			end = v + strcspn(v, ",");
		}
		vl = (size_t)(end - v);
		int err = 0;
		if (!strcmp(key, "dev")) {
			if (!(err = set_str(a->devspec, sizeof(a->devspec), key, v, vl)))
				for (char *c = a->devspec; *c; c++)
					if (*c == ';')
						*c = ',';
			if (!err && (!vl || !strchr(a->devspec, ':'))) {
				PMD_LOG(ERR, "%s: devarg dev=%.*s%s: not a libdpak devspec "
					"(backend:args, e.g. hwsim:uplinks=2,vfs=4)", name,
					SHOW(vl, a->devspec));
				err = -EINVAL;
			}
		} else if (!strcmp(key, "port")) {
			err = set_str(a->port, sizeof(a->port), key, v, vl);
			if (!err && !vl) {
				PMD_LOG(ERR, "%s: devarg port=: empty", name);
				err = -EINVAL;
			}
		} else if (!strcmp(key, "iface")) {
			err = set_str(a->iface, sizeof(a->iface), key, v, vl);
		} else if (!strcmp(key, "configinfo")) {
			err = set_str(a->configinfo, sizeof(a->configinfo), key, v, vl);
		} else if (!strcmp(key, "ctl")) {
			err = set_str(a->ctl, sizeof(a->ctl), key, v, vl);
		} else { /* queues */
			char buf[16], *e;
			unsigned long q = 0;
			if (!(err = set_str(buf, sizeof(buf), key, v, vl)))
				q = strtoul(buf, &e, 10);
			if (!err && (!vl || *e || q < 1 || q > PMD_MAX_QPP)) {
				PMD_LOG(ERR, "%s: devarg queues=%s: not a number 1-%d", name,
					buf, PMD_MAX_QPP);
				err = -EINVAL;
			}
			a->queues = (unsigned)q;
		}
		if (err) {
			if (err == -EINVAL && vl)
				PMD_LOG(ERR, "%s: bad devarg %s=%.*s%s", name, key, SHOW(vl, v));
			return err;
		}
		s = *end ? end + 1 : end;
	}
	return 0;
}
