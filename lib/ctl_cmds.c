/* SPDX-License-Identifier: MIT */
/*
 * Control socket commands. Each reads the device through the same calls an
 * application uses (or the core's records) and writes a table of rows; the
 * table is rendered as aligned text or JSON. See dpak-ctl(8).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"
#include "ctl.h"

struct cmd {
	const char *name, *args, *help;
	int (*run)(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o);
};

static __thread char errbuf[256]; /* the message of a failed command (per ctl thread) */

static int fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof(errbuf), fmt, ap);
	va_end(ap);
	return err;
}

/* A row of @n strings. */
static void row(struct ctl_out *o, unsigned n, ...)
{
	const char *cells[16];
	va_list ap;

	va_start(ap, n);
	for (unsigned i = 0; i < n && i < 16; i++)
		cells[i] = va_arg(ap, const char *);
	va_end(ap);
	ctl_out_row(o, cells);
}

#define COLS(o, ...)                                                           \
	do {                                                                   \
		static const char *const c_[] = { __VA_ARGS__ };               \
		ctl_out_cols(o, sizeof(c_) / sizeof(c_[0]), c_);               \
	} while (0)

static char *u64s(char *b, uint64_t v)
{
	sprintf(b, "%llu", (unsigned long long)v);
	return b;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *v, const char *what)
{
	char *end;

	errno = 0;
	if (!s || !*s || *s == '-')
		return fail(EINVAL, "%s: a number is needed", what);
	*v = strtoull(s, &end, 0);
	if (errno || *end || *v > max)
		return fail(EINVAL, "%s=%s: not a number up to %llu", what, s,
			    (unsigned long long)max);
	return 0;
}

static int need(const struct ctl_req *r, const char *name, const char **v)
{
	*v = ctl_arg(r, name);
	return *v ? 0 : fail(EINVAL, "missing argument %s=", name);
}

/* Only the arguments a command knows. */
static int only(const struct ctl_req *r, const char *allowed)
{
	for (unsigned i = 0; i < r->n_args; i++) {
		char pat[40];
		if (!strcmp(r->name[i], "json"))
			continue;
		snprintf(pat, sizeof(pat), " %s ", r->name[i]);
		char list[256];
		snprintf(list, sizeof(list), " %s ", allowed);
		if (!strstr(list, pat))
			return fail(EINVAL, "%s: unknown argument %s= (takes: %s)", r->cmd,
				    r->name[i], *allowed ? allowed : "none");
	}
	return 0;
}

static int port_arg(struct dpak_dev *dev, const char *v, uint32_t *port)
{
	uint64_t n;
	int p;

	if (v[0] >= '0' && v[0] <= '9') {
		if (parse_u64(v, UINT32_MAX, &n, "port"))
			return EINVAL;
		if (n >= dev->n_ports && (n > UINT32_MAX || !dpak__port_exists(dev, (uint32_t)n)))
			return fail(ENOENT, "port %llu does not exist (device has %u)",
				    (unsigned long long)n, dev->n_ports);
		*port = (uint32_t)n;
		return 0;
	}
	if ((p = dpak_port_by_name(dev, v)) < 0)
		return fail(ENOENT, "no port named '%s'", v);
	*port = (uint32_t)p;
	return 0;
}

static const char *port_name(struct dpak_dev *dev, uint32_t port, char *b)
{
	struct dpak_port_info pi = { .sz = sizeof(pi) };

	if (dpak_port_info(dev, port, &pi))
		sprintf(b, "%u", port);
	else
		strcpy(b, pi.name);
	return b;
}

static struct dpak_table *table_arg(struct dpak_dev *dev, const char *v)
{
	for (uint32_t i = 0; i < dev->cfg.n_tables; i++)
		if (!strcmp(dev->cfg.tables[i].name, v))
			return &dev->tables[i];
	fail(ENOENT, "no table named '%s'", v);
	return NULL;
}

/* Decoding the packed form. */

static void field_str(int f, const uint8_t *v, const uint8_t *m, char *out, size_t n)
{
	unsigned len = pk_field_len[f];
	char val[64], msk[64];
	int full = 1;

	for (unsigned j = 0; j < len; j++)
		full &= m[j] == 0xff;
	for (int pass = 0; pass < 2; pass++) {
		const uint8_t *x = pass ? m : v;
		char *s = pass ? msk : val;
		switch (f) {
		case PK_ETH_DST:
		case PK_ETH_SRC:
			sprintf(s, "%02x:%02x:%02x:%02x:%02x:%02x", x[0], x[1], x[2], x[3], x[4], x[5]);
			break;
		case PK_IPV4_SRC:
		case PK_IPV4_DST:
			sprintf(s, "%u.%u.%u.%u", x[0], x[1], x[2], x[3]);
			break;
		case PK_IPV6_SRC:
		case PK_IPV6_DST:
			inet_ntop(AF_INET6, x, s, 64);
			break;
		case PK_ETH_TYPE:
			sprintf(s, "0x%04x", x[0] << 8 | x[1]);
			break;
		default: {
			uint32_t u = 0;
			for (unsigned j = 0; j < len; j++)
				u = u << 8 | x[j];
			sprintf(s, pass ? "0x%x" : "%u", u);
		}
		}
	}
	if (full)
		snprintf(out, n, "%s=%s", pk_field_names[f], val);
	else
		snprintf(out, n, "%s=%s/%s", pk_field_names[f], val, msk);
}

static void match_str(const struct ci_table *d, const uint8_t *data, char *out, size_t n)
{
	static const uint8_t ones[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	size_t o = 0;

	out[0] = 0;
	for (unsigned i = 0; i < d->n_fields && o < n; i++) {
		int fld = d->field[i];
		const uint8_t *v = data + d->field_off[fld];
		/* exact tables: every bit, or the bits the table keys on */
		const uint8_t *m = d->type != PK_EXACT ?
				   data + d->key_bytes + d->field_off[fld] :
				   d->has_key_mask ? d->key_mask + d->field_off[fld] : ones;
		int any = 0;
		char one[192];
		for (unsigned j = 0; j < pk_field_len[fld]; j++)
			any |= m[j];
		if (!any)
			continue;
		field_str(fld, v, m, one, sizeof(one));
		o += (size_t)snprintf(out + o, n - o, "%s%s", o ? "," : "", one);
	}
	if (!o)
		snprintf(out, n, "any");
}

static void actions_str(struct dpak_dev *dev, const uint8_t *a, uint32_t len, char *out,
			size_t n)
{
	size_t o = 0;
	char pn[32];

	out[0] = 0;
	for (uint32_t i = 0; i + 2 <= len && a[i + 1] >= 2 && o < n; i += a[i + 1]) {
		const uint8_t *p = a + i + 2;
		char one[128];
		uint32_t u;
		switch (a[i]) {
		case PK_OP_PORT:
			snprintf(one, sizeof(one), "port:%s", port_name(dev, (uint32_t)(p[0] << 8 | p[1]), pn));
			break;
		case PK_OP_QUEUE:
			snprintf(one, sizeof(one), "queue:%u", p[0] << 8 | p[1]);
			break;
		case PK_OP_JUMP: {
			unsigned t = (unsigned)(p[0] << 8 | p[1]);
			snprintf(one, sizeof(one), "jump:%s",
				 t < dev->cfg.n_tables ? dev->cfg.tables[t].name : "?");
			break;
		}
		case PK_OP_MARK:
			memcpy(&u, p, 4);
			snprintf(one, sizeof(one), "mark:%u", u);
			break;
		case PK_OP_VLAN_PUSH:
			snprintf(one, sizeof(one), "vlan_push:%u", (p[2] << 8 | p[3]) & 0xfff);
			break;
		case PK_OP_SET_ETH_SRC:
		case PK_OP_SET_ETH_DST:
			snprintf(one, sizeof(one), "%s:%02x:%02x:%02x:%02x:%02x:%02x",
				 dpak__action_name(a[i]), p[0], p[1], p[2], p[3], p[4], p[5]);
			break;
		case PK_OP_SET_IPV4_SRC:
		case PK_OP_SET_IPV4_DST:
			snprintf(one, sizeof(one), "%s:%u.%u.%u.%u", dpak__action_name(a[i]),
				 p[0], p[1], p[2], p[3]);
			break;
		case PK_OP_SET_TP_SRC:
		case PK_OP_SET_TP_DST:
			snprintf(one, sizeof(one), "%s:%u", dpak__action_name(a[i]), p[0] << 8 | p[1]);
			break;
		case PK_OP_VXLAN_ENCAP: {
			const uint8_t *h = p + 2;
			snprintf(one, sizeof(one), "vxlan_encap(vni=%u,dst=%u.%u.%u.%u)",
				 (unsigned)(h[46] << 16 | h[47] << 8 | h[48]), h[30], h[31], h[32], h[33]);
			break;
		}
		case PK_OP_SET_IPV6_SRC:
		case PK_OP_SET_IPV6_DST: {
			char ip[INET6_ADDRSTRLEN];
			inet_ntop(AF_INET6, p, ip, sizeof(ip));
			snprintf(one, sizeof(one), "%s:%s", dpak__action_name(a[i]), ip);
			break;
		}
		case PK_OP_SET_TTL:
			snprintf(one, sizeof(one), "set_ttl:%u", p[0]);
			break;
		case PK_OP_RSS: {
			size_t k = (size_t)snprintf(one, sizeof(one), "rss:");
			for (unsigned q = 0; q < p[0] && q < PK_RSS_MAX && k < sizeof(one); q++)
				k += (size_t)snprintf(one + k, sizeof(one) - k, "%s%u",
						      q ? "/" : "", p[1 + q]);
			break;
		}
		case PK_OP_VXLAN_ENCAP6: {
			const uint8_t *h = p + 2;
			char ip[INET6_ADDRSTRLEN];
			inet_ntop(AF_INET6, h + 38, ip, sizeof(ip));
			snprintf(one, sizeof(one), "vxlan_encap6(vni=%u,dst=%s)",
				 (unsigned)(h[66] << 16 | h[67] << 8 | h[68]), ip);
			break;
		}
		default:
			snprintf(one, sizeof(one), "%s", dpak__action_name(a[i]));
		}
		o += (size_t)snprintf(out + o, n - o, "%s%s", o ? "," : "", one);
	}
}

/* Commands. */

static const struct cmd cmds[];

static int c_version(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	if (only(r, ""))
		return EINVAL;
	COLS(o, "library", "protocol", "backend", "devspec");
	row(o, 4, dpak_version(), CTL_PROTO, dev->ops->name, dev->devspec);
	return 0;
}

static int c_health(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	static const char *const state[] = { "up", "gone", "dead" };
	struct bk_health h;
	char b[7][24];

	if (only(r, ""))
		return EINVAL;
	if (!dev->ops->health)
		return fail(EOPNOTSUPP, "backend %s keeps no device health (it has "
			    "no command queue)", dev->ops->name);
	dev->ops->health(dev->priv, &h);
	COLS(o, "state", "bad_completions", "bad_events", "unknown_events",
	     "lost_events", "timeouts", "resets", "self_resets");
	row(o, 8, state[h.state < 3 ? h.state : 2], u64s(b[0], h.bad_completions),
	    u64s(b[1], h.bad_events), u64s(b[2], h.unknown_events),
	    u64s(b[3], h.lost_events), u64s(b[4], h.timeouts), u64s(b[5], h.resets),
	    u64s(b[6], h.self_resets));
	return 0;
}

static int c_list(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	(void)dev;
	if (only(r, ""))
		return EINVAL;
	COLS(o, "command", "arguments", "what it does");
	for (const struct cmd *c = cmds; c->name; c++)
		row(o, 3, c->name, c->args, c->help);
	return 0;
}

static int c_log(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	static const char *const names[] = { "err", "warn", "info", "debug" };
	const char *v;
	int lvl = -1;

	(void)dev;
	if (only(r, "level") || need(r, "level", &v))
		return EINVAL;
	for (int i = 0; i < 4; i++)
		if (!strcmp(v, names[i]))
			lvl = i;
	if (lvl < 0)
		return fail(EINVAL, "level=%s: err, warn, info or debug", v);
	dpak_log_set_level((enum dpak_log_level)lvl);
	COLS(o, "log-level");
	row(o, 1, names[lvl]);
	return 0;
}

/*
 * Walking a table's flows without holding up the flow path. A table's lock
 * is what dpak_flow_add and dpak_flow_del take, so a walk holds it for one
 * chunk at a time and leaves its place in t->ctl_mark, which unlinking that
 * flow moves on to the next. The list is in id order (ids are handed out
 * increasing and flows are appended), so "the first flow with id >= N" is
 * a place in the list too.
 */
#define SNAP_CHUNK 128      /* flows copied per hold of a table's lock */
#define SEEK_CHUNK 4096     /* flows stepped over per hold, when seeking */
#define PAGE_DEFAULT 1000   /* flows in one answer of "flows" */
#define PAGE_MAX 10000
#define PAGE_SCAN 65536     /* flows one answer looks at, at most */
#define MARK_NONE UINT64_MAX

/* A flow as the dump shows it, copied under the lock, rendered after. */
struct flow_snap {
	uint32_t id, priority, idle_ms;
	uint8_t flags, act_len;
	uint64_t cookie;
	struct bk_flow_counters c;
	uint8_t data[2 * PK_MAX_KEY];
	uint8_t act[PK_MAX_ACTIONS];
};

struct flow_filter {
	int by_port, by_cookie;
	uint32_t port;
	uint64_t cookie;
};

static int flow_selected(const struct dpak_table *t, const struct dpak_flow *f,
			 const struct flow_filter *flt)
{
	const struct ci_table *d = t->decl;

	if (flt->by_cookie && f->cookie != flt->cookie)
		return 0;
	if (flt->by_port) {
		int off = (d->fields >> PK_IN_PORT) & 1 ? d->field_off[PK_IN_PORT] : -1;
		if (off < 0 || (uint32_t)(f->data[off] << 8 | f->data[off + 1]) != flt->port ||
		    (d->type != PK_EXACT && f->data[d->key_bytes + off + 1] != 0xff))
			return 0;
	}
	return 1;
}

static void snap_flow(struct dpak_dev *dev, const struct dpak_table *t,
		      const struct dpak_flow *f, struct flow_snap *s)
{
	const struct ci_table *d = t->decl;

	s->id = f->id;
	s->priority = f->priority;
	s->idle_ms = f->idle_ms;
	s->flags = f->flags;
	s->cookie = f->cookie;
	s->act_len = f->act_len;
	memcpy(s->data, f->data, d->type == PK_EXACT ? d->key_bytes : 2u * d->key_bytes);
	memcpy(s->act, f->act, f->act_len);
	memset(&s->c, 0, sizeof(s->c));
	/* A flow a reset lost is in no device entry (FLOW_F_ABSENT). */
	if (!(f->flags & (FLOW_F_GONE | FLOW_F_ABSENT)) && dev->ops->flow_counters)
		dev->ops->flow_counters(dev->priv, t->index, f->handle, &s->c);
}

static void snap_row(struct dpak_dev *dev, const struct dpak_table *t,
		     const struct flow_snap *s, struct ctl_out *o)
{
	char id[24], ck[24], pr[24], pk[24], by[24], idle[24], m[512], a[512];

	match_str(t->decl, s->data, m, sizeof(m));
	actions_str(dev, s->act, s->act_len, a, sizeof(a));
	row(o, 10, t->decl->name, u64s(id, s->id), u64s(ck, s->cookie), u64s(pr, s->priority),
	    m, a, u64s(pk, s->c.packets), u64s(by, s->c.bytes), u64s(idle, s->idle_ms),
	    s->flags & FLOW_F_GONE ? "removed" : s->flags & FLOW_F_ABSENT ? "not-restored" :
	    s->flags & FLOW_F_AGED ? "aged" : "offloaded");
}

/* With t->lock held: the first flow of @t from @f on for which @stop says
 * yes, stepping at most SEEK_CHUNK flows per hold of the lock (between
 * chunks the place is kept in t->ctl_mark, which unlinking moves on).
 * Returns with the lock held; NULL if there is none. */
static struct dpak_flow *walk_locked(struct dpak_table *t, struct dpak_flow *f,
				     int (*stop)(const struct dpak_flow *, uint64_t),
				     uint64_t arg)
{
	for (unsigned n = 0; f && !stop(f, arg); f = f->next) {
		if (++n % SEEK_CHUNK)
			continue;
		t->ctl_mark = f;
		t->ctl_mark_id = MARK_NONE;
		pthread_mutex_unlock(&t->lock);
		pthread_mutex_lock(&t->lock);
		if (!(f = t->ctl_mark) || stop(f, arg))
			break;
	}
	return f;
}

static int id_reached(const struct dpak_flow *f, uint64_t id)
{
	return f->id >= id;
}

/* With t->lock held: the first flow of @t with id >= @id (the list is in
 * id order). @resume: start at t->ctl_mark if a page left it there for
 * @id. Returns with the lock held. */
static struct dpak_flow *seek_locked(struct dpak_table *t, uint64_t id, int resume)
{
	if (resume && t->ctl_mark && t->ctl_mark_id == id)
		return t->ctl_mark;
	return walk_locked(t, t->head, id_reached, id);
}

/*
 * flows: one page. Tables in order, flows in id order within a table; at
 * most limit= rows and PAGE_SCAN flows looked at per answer; the answer
 * names where the next page starts (start=TABLE:ID), and a walk that
 * follows the pages sees every flow present throughout exactly once.
 */
static int c_flows(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	const char *tv = ctl_arg(r, "table"), *pv = ctl_arg(r, "port"),
		   *cv = ctl_arg(r, "cookie"), *lv = ctl_arg(r, "limit"),
		   *mv = ctl_arg(r, "max"), *sv = ctl_arg(r, "start");
	uint64_t limit = PAGE_DEFAULT, shown = 0, scanned = 0, start_id = 0;
	struct dpak_table *only_t = NULL, *start_t = NULL;
	struct flow_filter flt = { 0 };
	int e;

	if (only(r, "table port cookie limit max start"))
		return EINVAL;
	if ((tv && !(only_t = table_arg(dev, tv))))
		return ENOENT;
	if (pv && (e = port_arg(dev, pv, &flt.port)))
		return e;
	flt.by_port = !!pv;
	flt.by_cookie = !!cv;
	if (lv && mv)
		return fail(EINVAL, "give limit= or max=, not both");
	if ((cv && parse_u64(cv, UINT64_MAX, &flt.cookie, "cookie")) ||
	    (lv && parse_u64(lv, PAGE_MAX, &limit, "limit")) ||
	    (mv && parse_u64(mv, PAGE_MAX, &limit, "max")))
		return EINVAL;
	if (!limit)
		return fail(EINVAL, "%s=0: at least 1", lv ? "limit" : "max");
	if (sv) { /* TABLE:ID, or ID with table= */
		const char *colon = strrchr(sv, ':');
		char tn[64];
		if (colon) {
			snprintf(tn, sizeof(tn), "%.*s", (int)(colon - sv), sv);
			if (!(start_t = table_arg(dev, tn)))
				return ENOENT;
			if (only_t && start_t != only_t)
				return fail(EINVAL, "start=%s: not in table=%s", sv, tv);
		} else if (!(start_t = only_t)) {
			return fail(EINVAL, "start=%s: TABLE:ID (or ID with table=)", sv);
		}
		if (parse_u64(colon ? colon + 1 : sv, UINT32_MAX, &start_id, "start"))
			return EINVAL;
	}
	COLS(o, "table", "id", "cookie", "priority", "match", "actions", "packets", "bytes",
	     "idle_ms", "state");

	static __thread struct flow_snap snap[SNAP_CHUNK]; /* ~50 KiB: not on the stack */
	uint32_t ti = start_t ? start_t->index : only_t ? only_t->index : 0;
	for (; ti < dev->cfg.n_tables; ti++) {
		struct dpak_table *t = &dev->tables[ti];
		if (only_t && t != only_t)
			continue;
		int first = t == start_t;
		pthread_mutex_lock(&t->lock);
		struct dpak_flow *f = first ? seek_locked(t, start_id, 1) : t->head;
		for (;;) {
			unsigned k = 0, n = 0;
			/* One chunk under the lock: copy what is shown. */
			for (; f && k < SNAP_CHUNK && n < SEEK_CHUNK && shown + k < limit &&
			       scanned < PAGE_SCAN; f = f->next, n++, scanned++)
				if (flow_selected(t, f, &flt))
					snap_flow(dev, t, f, &snap[k++]);
			uint64_t next_id = f ? f->id : 0;
			t->ctl_mark = f;
			t->ctl_mark_id = f ? f->id : MARK_NONE;
			pthread_mutex_unlock(&t->lock);
			/* Render without it. */
			for (unsigned i = 0; i < k; i++)
				snap_row(dev, t, &snap[i], o);
			shown += k;
			if (!f)
				break; /* this table is done */
			if (shown == limit || scanned >= PAGE_SCAN) {
				char tok[96];
				snprintf(tok, sizeof(tok), "%s:%llu", t->decl->name,
					 (unsigned long long)next_id);
				ctl_out_next(o, tok);
				return 0;
			}
			pthread_mutex_lock(&t->lock);
			if (!(f = t->ctl_mark))
				break; /* the rest was deleted meanwhile */
		}
	}
	return 0;
}

static int c_count(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	if (only(r, ""))
		return EINVAL;
	COLS(o, "table", "flows", "capacity");
	for (uint32_t i = 0; i < dev->cfg.n_tables; i++) {
		struct dpak_table_info ti = { .sz = sizeof(ti) };
		char a[24], b[24];
		dpak_table_info(&dev->tables[i], &ti);
		row(o, 3, ti.name, u64s(a, ti.in_use), u64s(b, ti.capacity));
	}
	return 0;
}

/* The flow named by table= and id=; its table locked on success. Found
 * in chunks: no O(n) walk under the lock. */
static struct dpak_flow *flow_arg(struct dpak_dev *dev, const struct ctl_req *r, int *err)
{
	const char *tv, *iv;
	struct dpak_table *t;
	uint64_t id;

	if (need(r, "table", &tv) || need(r, "id", &iv) || parse_u64(iv, UINT32_MAX, &id, "id")) {
		*err = EINVAL;
		return NULL;
	}
	if (!(t = table_arg(dev, tv))) {
		*err = ENOENT;
		return NULL;
	}
	pthread_mutex_lock(&t->lock);
	struct dpak_flow *f = seek_locked(t, id, 0);
	if (f && f->id == id)
		return f;
	pthread_mutex_unlock(&t->lock);
	*err = fail(ENOENT, "table %s has no flow %llu", tv, (unsigned long long)id);
	return NULL;
}

static int c_query(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	struct dpak_flow *f;
	int err;

	if (only(r, "table id"))
		return EINVAL;
	if (!(f = flow_arg(dev, r, &err)))
		return err;
	struct dpak_table *t = f->table;
	struct bk_flow_counters c = { 0 };
	char id[24], ck[24], pk[24], by[24], lh[24], m[512], a[512];
	if (!(f->flags & (FLOW_F_GONE | FLOW_F_ABSENT)) && dev->ops->flow_counters)
		dev->ops->flow_counters(dev->priv, t->index, f->handle, &c);
	match_str(t->decl, f->data, m, sizeof(m));
	actions_str(dev, f->act, f->act_len, a, sizeof(a));
	COLS(o, "table", "id", "cookie", "match", "actions", "packets", "bytes",
	     "last_hit_ago_ms", "counted");
	uint64_t ago = c.last_hit_ns ? (dpak__now_ns() - c.last_hit_ns) / 1000000 : 0;
	row(o, 9, t->decl->name, u64s(id, f->id), u64s(ck, f->cookie), m, a,
	    u64s(pk, c.packets), u64s(by, c.bytes), c.last_hit_ns ? u64s(lh, ago) : "never",
	    f->flags & FLOW_F_COUNT ? "yes" : "no");
	pthread_mutex_unlock(&t->lock);
	return 0;
}

static int c_del(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	struct dpak_flow *f;
	int err;

	if (only(r, "table id"))
		return EINVAL;
	if (!(f = flow_arg(dev, r, &err)))
		return err;
	/* The application owns the handle: the device forgets the flow, the
	 * record stays until the application deletes it. All under the table
	 * lock: the application may delete the record meanwhile. */
	struct dpak_table *t = f->table;
	char id[24];
	u64s(id, f->id);
	err = dpak__flow_remove_keep_locked(f);
	pthread_mutex_unlock(&t->lock);
	if (err)
		return fail(-err, "%s", dpak_errmsg());
	COLS(o, "table", "id", "state");
	row(o, 3, t->decl->name, id, "removed");
	return 0;
}

static int c_errors(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	if (only(r, ""))
		return EINVAL;
	COLS(o, "reason", "errno", "count");
	for (unsigned e = 0; e < 136; e++) {
		uint64_t n = __atomic_load_n(&dev->st.err[e], __ATOMIC_RELAXED);
		char a[24], b[24];
		if (n)
			row(o, 3, e ? dpak_strerror((int)e) : "other", u64s(a, e), u64s(b, n));
	}
	return 0;
}

static int c_stats(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	uint64_t now = dpak__now_ns(), lat[40], n = 0;
	uint64_t adds = __atomic_load_n(&dev->st.adds, __ATOMIC_RELAXED);
	uint64_t dels = __atomic_load_n(&dev->st.dels, __ATOMIC_RELAXED);
	double since = (double)(now - dev->st.prev_ns) / 1e9;
	double up = (double)(now - dev->st.opened_ns) / 1e9;
	char b[12][32];

	if (only(r, ""))
		return EINVAL;
	for (int i = 0; i < 40; i++)
		n += lat[i] = __atomic_load_n(&dev->st.lat[i], __ATOMIC_RELAXED);
	/* Percentiles: the upper bound of the power-of-two bucket. */
	uint64_t pct[3] = { 0, 0, 0 };
	const double want[3] = { 0.5, 0.9, 0.99 };
	for (int k = 0; k < 3 && n; k++) {
		uint64_t acc = 0;
		for (int i = 0; i < 40; i++) {
			acc += lat[i];
			if ((double)acc >= want[k] * (double)n) {
				pct[k] = 2ull << i;
				break;
			}
		}
	}
	COLS(o, "adds", "deletes", "replaces", "failures", "adds_per_s", "deletes_per_s",
	     "window_s", "add_p50_ns", "add_p90_ns", "add_p99_ns", "resets", "restored");
	sprintf(b[4], "%.0f", since > 0 ? (double)(adds - dev->st.prev_adds) / since : 0);
	sprintf(b[5], "%.0f", since > 0 ? (double)(dels - dev->st.prev_dels) / since : 0);
	sprintf(b[6], "%.1f", since);
	row(o, 12, u64s(b[0], adds), u64s(b[1], dels),
	    u64s(b[2], __atomic_load_n(&dev->st.replaces, __ATOMIC_RELAXED)),
	    u64s(b[3], __atomic_load_n(&dev->st.fails, __ATOMIC_RELAXED)), b[4], b[5], b[6],
	    u64s(b[7], pct[0]), u64s(b[8], pct[1]), u64s(b[9], pct[2]),
	    u64s(b[10], __atomic_load_n(&dev->st.resets, __ATOMIC_RELAXED)),
	    u64s(b[11], __atomic_load_n(&dev->st.restored, __ATOMIC_RELAXED)));
	ctl_out_note(o, "rates over the %.1f s since the last offload-stats (%.1f s since open); "
		     "latency of one add in 16, sampled", since, up);
	dev->st.prev_adds = adds;
	dev->st.prev_dels = dels;
	dev->st.prev_ns = now;
	return 0;
}

static int c_tables(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	static const char *const types[] = { "exact", "wildcard", "lpm" };
	static const char *const miss[] = { "host", "next", "drop" };

	if (only(r, ""))
		return EINVAL;
	COLS(o, "index", "name", "type", "key", "key_bytes", "capacity", "in_use",
	     "high_water", "action_bytes", "miss");
	for (uint32_t i = 0; i < dev->cfg.n_tables; i++) {
		struct dpak_table *t = &dev->tables[i];
		const struct ci_table *d = t->decl;
		char key[512] = "", b[6][24];
		size_t k = 0;
		for (unsigned f = 0; f < d->n_fields && k < sizeof(key); f++) {
			unsigned fl = pk_field_len[d->field[f]];
			const uint8_t *tm = d->key_mask + d->field_off[d->field[f]];
			k += (size_t)snprintf(key + k, sizeof(key) - k, "%s%s", f ? "," : "",
					      pk_field_names[d->field[f]]);
			if (d->has_key_mask && fl <= 8 && k < sizeof(key)) {
				uint64_t m = 0; /* the table's own mask, when not full */
				for (unsigned j = 0; j < fl; j++)
					m = m << 8 | tm[j];
				if (m != (fl == 8 ? ~0ull : (1ull << (8 * fl)) - 1))
					k += (size_t)snprintf(key + k, sizeof(key) - k,
							      "/%#llx", (unsigned long long)m);
			}
		}
		pthread_mutex_lock(&t->lock);
		uint32_t in_use = t->in_use, hw = t->high_water;
		pthread_mutex_unlock(&t->lock);
		row(o, 10, u64s(b[0], i), d->name, types[d->type], key, u64s(b[1], d->key_bytes),
		    u64s(b[2], d->capacity), u64s(b[3], in_use), u64s(b[4], hw),
		    u64s(b[5], d->action_bytes), miss[d->miss]);
	}
	return 0;
}

static int c_ports(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	static const char *const types[] = { "uplink", "pf", "vf", "bond" };
	struct dpak_dev_info di = { .sz = sizeof(di) };

	if (only(r, ""))
		return EINVAL;
	dpak_dev_info(dev, &di);
	COLS(o, "id", "name", "type", "mac", "mtu", "link", "rx_packets", "tx_packets",
	     "rx_misses", "drops", "drops_action", "drops_mtu", "drops_bond_rx");
	for (uint32_t p = 0; p < dev->n_ports + di.max_bonds; p++) { /* bonds follow */
		struct dpak_port_info pi = { .sz = sizeof(pi) };
		struct dpak_port_stats ps = { .sz = sizeof(ps) };
		char b[10][24];
		if (dpak_port_info(dev, p, &pi) && p >= dev->n_ports)
			continue;
		dpak_port_stats(dev, p, &ps);
		sprintf(b[1], "%02x:%02x:%02x:%02x:%02x:%02x", pi.mac[0], pi.mac[1], pi.mac[2],
			pi.mac[3], pi.mac[4], pi.mac[5]);
		row(o, 13, u64s(b[0], p), pi.name, types[pi.type], b[1], u64s(b[2], pi.mtu),
		    pi.link_up ? "up" : "down", u64s(b[3], ps.rx_packets), u64s(b[4], ps.tx_packets),
		    u64s(b[5], ps.rx_misses), u64s(b[6], ps.drops), u64s(b[7], ps.drops_action),
		    u64s(b[8], ps.drops_mtu), u64s(b[9], ps.drops_bond_rx));
	}
	return 0;
}

static int c_queues(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	if (only(r, ""))
		return EINVAL;
	COLS(o, "queue", "rx_packets", "rx_drops", "tx_packets", "rx_depth", "tx_depth",
	     "pool_free", "pool_size");
	for (uint16_t q = 0; q < dev->n_rx_queues; q++) {
		struct dpak_queue_stats s = { .sz = sizeof(s) };
		char b[8][24];
		if (dpak_queue_stats(dev, q, &s))
			return fail(EOPNOTSUPP, "%s", dpak_errmsg());
		row(o, 8, u64s(b[0], q), u64s(b[1], s.rx_packets), u64s(b[2], s.rx_drops),
		    u64s(b[3], s.tx_packets), u64s(b[4], s.rx_depth), u64s(b[5], s.tx_depth),
		    u64s(b[6], s.pool_free), u64s(b[7], s.pool_size));
	}
	return 0;
}

static void lacp_bits(uint8_t s, char *b)
{
	static const char *const n[] = { "act", "fast", "agg", "sync", "coll", "dist",
					 "def", "exp" };
	size_t o = 0;
	b[0] = 0;
	for (int i = 0; i < 8; i++)
		if (s & (1 << i))
			o += (size_t)sprintf(b + o, "%s%s", o ? "," : "", n[i]);
	if (!o)
		strcpy(b, "-");
}

static int c_bonds(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	static const char *const modes[] = { "active-backup", "balance", "802.3ad" };
	static const char *const hashes[] = { "l2", "l23", "l34", "inner" };

	if (only(r, ""))
		return EINVAL;
	COLS(o, "bond", "mode", "hash", "lacp", "flows", "member", "link", "in_use", "active",
	     "actor", "partner", "tx_packets", "rx_packets", "lacpdu_rx", "lacpdu_tx");
	for (uint32_t p = dev->n_ports; p < dev->n_ports + 64; p++) {
		struct dpak_bond_info bi = { .sz = sizeof(bi) };
		if (dpak_bond_info(dev, p, &bi))
			continue;
		char fl[24];
		u64s(fl, bi.flows);
		if (!bi.n_members)
			row(o, 15, bi.name, modes[bi.mode], hashes[bi.hash],
			    bi.mode == DPAK_BOND_8023AD ? (bi.lacp ? "switch" : "library") : "-",
			    fl, "-", "-", "-", "-", "-", "-", "0", "0", "0", "0");
		for (uint32_t k = 0; k < bi.n_members; k++) {
			struct dpak_bond_member_info mi = { .sz = sizeof(mi) };
			char pn[32], a[64], pa[64], b[4][24];
			if (dpak_bond_member_info(dev, p, bi.members[k], &mi))
				continue;
			lacp_bits(mi.actor_state, a);
			lacp_bits(mi.partner_state, pa);
			row(o, 15, bi.name, modes[bi.mode], hashes[bi.hash],
			    bi.mode == DPAK_BOND_8023AD ? (bi.lacp ? "switch" : "library") : "-",
			    fl, port_name(dev, mi.port, pn), mi.link_up ? "up" : "down",
			    mi.in_use ? "yes" : "no", mi.active ? "yes" : "no",
			    bi.mode == DPAK_BOND_8023AD ? a : "-",
			    bi.mode == DPAK_BOND_8023AD ? pa : "-", u64s(b[0], mi.tx_packets),
			    u64s(b[1], mi.rx_packets), u64s(b[2], mi.lacpdus_rx),
			    u64s(b[3], mi.lacpdus_tx));
		}
	}
	return 0;
}

/* trace */

struct trace_out {
	struct dpak_dev *dev;
	struct ctl_out *o;
	int step;
};

/* The flow of @t the device knows by @handle, written as "id N cookie C"
 * into @out (left as it is if there is none): a walk in chunks like
 * seek_locked's, never O(n) under the lock the flow path takes. */
/* The flow of @t the device knows by @handle, written as "id N cookie C"
 * into @out (left as it is if there is none), found in chunks: never an
 * O(n) walk under the lock the flow path takes. */
static int has_handle(const struct dpak_flow *f, uint64_t handle)
{
	return f->handle == handle && !(f->flags & (FLOW_F_GONE | FLOW_F_ABSENT));
}

static void find_handle(struct dpak_table *t, uint64_t handle, char *out, size_t n,
			char *acts, size_t acts_len)
{
	pthread_mutex_lock(&t->lock);
	struct dpak_flow *f = walk_locked(t, t->head, has_handle, handle);
	if (f)
		snprintf(out, n, "id %u cookie %llu", f->id, (unsigned long long)f->cookie);
	/* a device that reports no action block (pci): the core's record */
	if (f && acts)
		actions_str(t->dev, f->act, f->act_len, acts, acts_len);
	pthread_mutex_unlock(&t->lock);
}

static void trace_cb(void *arg, const struct bk_trace_step *s)
{
	static const char *const miss[] = { "miss: up to the host", "miss: next table",
					    "miss: drop" };
	struct trace_out *t = arg;
	char st[16], fl[64] = "-", acts[512] = "-", len[16], pn[32];

	sprintf(st, "%d", ++t->step);
	sprintf(len, "%u", s->len);
	if (s->table == BK_TRACE_RX) {
		char what[96], pn2[32];
		snprintf(what, sizeof(what), "on %s, as %s", port_name(t->dev, s->arg, pn),
			 port_name(t->dev, s->rx_port, pn2));
		row(t->o, 6, st, "-", "received", "-", what, len);
		return;
	}
	if (s->table == ~0u) {
		char what[192], pn2[32];
		switch (s->fate) {
		case BK_FATE_PORT:
			if (s->member != ~0u)
				snprintf(what, sizeof(what), "out of port %s (member %s)",
					 port_name(t->dev, s->arg, pn),
					 port_name(t->dev, s->member, pn2));
			else
				snprintf(what, sizeof(what), "out of port %s",
					 port_name(t->dev, s->arg, pn));
			break;
		case BK_FATE_HOST:
			if (s->why == BK_WHY_LACP_CTRL)
				snprintf(what, sizeof(what), "to the library's LACP (an "
					 "LACPDU on a bond member)");
			else if (s->why == BK_WHY_PROTO_HOST)
				snprintf(what, sizeof(what), "up to the host (a protocol "
					 "frame on a bond member)");
			else
				snprintf(what, sizeof(what), s->arg == ~0u ?
					 "up to the host (miss)" : "up to host queue %u", s->arg);
			break;
		case BK_FATE_TTL:
			snprintf(what, sizeof(what), "up to the host (TTL expired)");
			break;
		default:
			switch (s->why) {
			case BK_WHY_LINK_DOWN:
				snprintf(what, sizeof(what), "dropped: the port's link is down");
				break;
			case BK_WHY_ACTION:
				snprintf(what, sizeof(what), "dropped: action %u (%s) needs %s, "
					 "which the packet lacks",
					 s->act_index, dpak__action_name(s->act_type),
					 s->missing ? s->missing : "a header");
				break;
			case BK_WHY_HEADROOM:
				snprintf(what, sizeof(what), "dropped: action %u (%s) found no "
					 "room in front of the frame", s->act_index,
					 dpak__action_name(s->act_type));
				break;
			case BK_WHY_JUMP_BACK:
				snprintf(what, sizeof(what), "dropped: a jump that does not go "
					 "forward");
				break;
			case BK_WHY_NO_MEMBER:
				snprintf(what, sizeof(what), "dropped: no member of port %s can "
					 "take it", port_name(t->dev, s->arg, pn));
				break;
			case BK_WHY_BOND_RX:
				snprintf(what, sizeof(what), "dropped: a bond member that may "
					 "not receive");
				break;
			case BK_WHY_MTU:
				snprintf(what, sizeof(what), "dropped: %u bytes, longer than "
					 "port %s's MTU allows", s->len,
					 port_name(t->dev, s->arg, pn));
				break;
			case BK_WHY_EGRESS_DOWN:
				snprintf(what, sizeof(what), "dropped: the link of port %s "
					 "is down", port_name(t->dev, s->arg, pn));
				break;
			default:
				snprintf(what, sizeof(what), "dropped");
			}
		}
		row(t->o, 6, st, "-", "result", "-", what, len);
		return;
	}
	const struct dpak_table *tb = &t->dev->tables[s->table];
	if (s->hit) {
		find_handle((struct dpak_table *)tb, s->handle, fl, sizeof(fl),
			    s->actions ? NULL : acts, sizeof(acts));
		if (s->actions)
			actions_str(t->dev, s->actions, s->act_len, acts, sizeof(acts));
	}
	row(t->o, 6, st, tb->decl->name, s->hit ? "hit" : miss[s->miss], fl, acts, len);
}

static int hex_frame(const char *hex, uint8_t *out, size_t cap, size_t *len)
{
	size_t n = strlen(hex);

	if (n % 2 || n / 2 > cap)
		return fail(EINVAL, "hex=: an even number of hex digits, at most %zu bytes", cap);
	for (size_t i = 0; i < n / 2; i++) {
		unsigned v;
		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return fail(EINVAL, "hex=: not hex at digit %zu", 2 * i);
		out[i] = (uint8_t)v;
	}
	*len = n / 2;
	return 0;
}

static int mac_arg(const char *v, uint8_t *m)
{
	unsigned x[6];
	if (sscanf(v, "%x:%x:%x:%x:%x:%x", &x[0], &x[1], &x[2], &x[3], &x[4], &x[5]) != 6)
		return fail(EINVAL, "'%s' is not a MAC address", v);
	for (int i = 0; i < 6; i++)
		m[i] = (uint8_t)x[i];
	return 0;
}

/* A frame from a short field spec: eth_dst, eth_src, vlan, ipv4_src,
 * ipv4_dst, proto (udp, tcp, icmp), sport, dport. */
static int spec_frame(const struct ctl_req *r, uint8_t *b, size_t *len)
{
	uint8_t dst[6] = { 2, 0, 0, 0, 0, 2 }, src[6] = { 2, 0, 0, 0, 0, 1 };
	struct in_addr sa = { htonl(0x0a000001) }, da = { htonl(0x0a000002) };
	const char *v;
	uint64_t vlan = 0, sport = 1000, dport = 2000;
	uint8_t proto = 17;
	size_t o = 12;

	if (((v = ctl_arg(r, "eth_dst")) && mac_arg(v, dst)) ||
	    ((v = ctl_arg(r, "eth_src")) && mac_arg(v, src)) ||
	    ((v = ctl_arg(r, "vlan")) && parse_u64(v, 4095, &vlan, "vlan")) ||
	    ((v = ctl_arg(r, "sport")) && parse_u64(v, 65535, &sport, "sport")) ||
	    ((v = ctl_arg(r, "dport")) && parse_u64(v, 65535, &dport, "dport")))
		return EINVAL;
	if ((v = ctl_arg(r, "ipv4_src")) && inet_pton(AF_INET, v, &sa) != 1)
		return fail(EINVAL, "ipv4_src=%s: not an IPv4 address", v);
	if ((v = ctl_arg(r, "ipv4_dst")) && inet_pton(AF_INET, v, &da) != 1)
		return fail(EINVAL, "ipv4_dst=%s: not an IPv4 address", v);
	if ((v = ctl_arg(r, "proto"))) {
		if (!strcmp(v, "udp"))
			proto = 17;
		else if (!strcmp(v, "tcp"))
			proto = 6;
		else if (!strcmp(v, "icmp"))
			proto = 1;
		else
			return fail(EINVAL, "proto=%s: udp, tcp or icmp", v);
	}
	memset(b, 0, 128);
	memcpy(b, dst, 6);
	memcpy(b + 6, src, 6);
	if (vlan) {
		b[o] = 0x81, b[o + 2] = (uint8_t)(vlan >> 8), b[o + 3] = (uint8_t)vlan;
		o += 4;
	}
	b[o] = 0x08, o += 2;
	uint8_t *ip = b + o, *l4 = ip + 20;
	size_t l4len = proto == 6 ? 20 : 8;
	ip[0] = 0x45;
	ip[3] = (uint8_t)(20 + l4len);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, &sa, 4);
	memcpy(ip + 16, &da, 4);
	if (proto != 1) {
		l4[0] = (uint8_t)(sport >> 8), l4[1] = (uint8_t)sport;
		l4[2] = (uint8_t)(dport >> 8), l4[3] = (uint8_t)dport;
		if (proto == 6)
			l4[12] = 0x50;
		else
			l4[5] = 8;
	} else {
		l4[0] = 8; /* echo request */
	}
	*len = o + 20 + l4len < 60 ? 60 : o + 20 + l4len;
	return 0;
}

static int c_trace(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	uint8_t frame[9224]; /* the largest frame a port takes */
	size_t len;
	uint32_t port;
	const char *pv, *hex;
	int err;

	if (only(r, "port hex eth_dst eth_src vlan ipv4_src ipv4_dst proto sport dport") ||
	    need(r, "port", &pv))
		return EINVAL;
	if ((err = port_arg(dev, pv, &port)))
		return err;
	if (!dev->ops->trace)
		return fail(EOPNOTSUPP, "backend %s cannot trace", dev->ops->name);
	if ((hex = ctl_arg(r, "hex")) ? hex_frame(hex, frame, sizeof(frame), &len)
				      : spec_frame(r, frame, &len))
		return EINVAL;
	COLS(o, "step", "table", "result", "flow", "actions", "length");
	struct trace_out t = { dev, o, 0 };
	/* No table lock of the core's is held across the trace: the device
	 * copies what it reports (action blocks included), and each hit's
	 * flow record is found in chunks (find_handle). */
	err = dev->ops->trace(dev->priv, port, frame, len, trace_cb, &t);
	if (err)
		return fail(-err, "%s", dpak_errmsg());
	ctl_out_note(o, "(traced, not sent: no counter moved)");
	return 0;
}

/* capture: rx_burst copies into a bounded ring, a writer thread of the
 * capture writes the file without blocking (capture.c). Nothing here
 * waits on the file. */

static int c_capture(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	const char *f, *cv = ctl_arg(r, "count"), *sv = ctl_arg(r, "seconds");
	uint64_t count = 0, secs = 0;
	int err;

	if (only(r, "file count seconds") || need(r, "file", &f) ||
	    (cv && parse_u64(cv, UINT32_MAX, &count, "count")) ||
	    (sv && parse_u64(sv, 86400, &secs, "seconds")))
		return EINVAL;
	if (!count && !secs)
		return fail(EINVAL, "give count=N or seconds=S (or both)");
	if (f[0] != '/')
		return fail(EINVAL, "file=%s: an absolute path (the library writes it)", f);
	if ((err = dpak__capture_start(dev, f, count, secs)))
		return fail(-err, "%s", dpak_errmsg());
	COLS(o, "file", "state");
	row(o, 2, f, "capturing");
	return 0;
}

static int capture_row(struct dpak_dev *dev, struct ctl_out *o)
{
	static const char *const states[] = { "capturing", "flushing", "done", "failed" };
	struct cap_status st;
	char b[2][24];

	COLS(o, "file", "state", "packets", "dropped");
	if (dpak__capture_status(dev, &st)) {
		row(o, 4, "-", "none", "0", "0"); /* none since the device was opened */
		return 0;
	}
	row(o, 4, st.path, states[st.state], u64s(b[0], st.written), u64s(b[1], st.dropped));
	if (st.err)
		ctl_out_note(o, "writing stopped: %s", strerror(st.err));
	return 0;
}

static int c_capture_status(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	if (only(r, ""))
		return EINVAL;
	return capture_row(dev, o);
}

static int c_capture_stop(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	int err;

	if (only(r, ""))
		return EINVAL;
	if ((err = dpak__capture_end(dev)))
		return fail(-err, "%s", dpak_errmsg());
	return capture_row(dev, o);
}

/* hwsim faults */

static const char *const errnames[][2] = {
	{ "EIO", "5" }, { "EBUSY", "16" }, { "ENOMEM", "12" }, { "ENOSPC", "28" },
	{ "ETIMEDOUT", "110" }, { "EAGAIN", "11" }, { NULL, NULL },
};

static int c_fail(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	const char *cv, *ev = ctl_arg(r, "err");
	uint64_t count, e = 5;

	if (only(r, "count err") || need(r, "count", &cv) ||
	    parse_u64(cv, 1000000, &count, "count"))
		return EINVAL;
	if (ev) {
		int found = 0;
		for (int i = 0; errnames[i][0]; i++)
			if (!strcmp(ev, errnames[i][0]))
				e = strtoull(errnames[i][1], NULL, 10), found = 1;
		if (!found && parse_u64(ev, 133, &e, "err"))
			return EINVAL;
	}
	if (dpak_hwsim_fail_flow_ops(dev, (unsigned)count, -(int)e))
		return fail(EOPNOTSUPP, "%s", dpak_errmsg());
	char b[24], c[24];
	COLS(o, "fail_next", "with");
	sprintf(c, "%s", dpak_strerror((int)e));
	row(o, 2, u64s(b, count), c);
	return 0;
}

static int c_reject(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	const char *v;
	int type = -1;

	if (only(r, "action") || need(r, "action", &v))
		return EINVAL;
	if (!strcmp(v, "none"))
		type = 0;
	for (int a = 1; a < PK_OP_MAX && type < 0; a++)
		if (!strcmp(v, dpak__action_name(a)))
			type = a;
	if (type < 0)
		return fail(EINVAL, "action=%s: an action name (port, vxlan_encap, ...) or none", v);
	if (dpak_hwsim_reject_action(dev, (enum dpak_action_type)type))
		return fail(EOPNOTSUPP, "%s", dpak_errmsg());
	COLS(o, "rejecting");
	row(o, 1, type ? v : "none");
	return 0;
}

static int c_link(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	const char *pv, *sv;
	uint32_t port;
	int err;

	if (only(r, "port state") || need(r, "port", &pv) || need(r, "state", &sv))
		return EINVAL;
	if ((err = port_arg(dev, pv, &port)))
		return err;
	if (strcmp(sv, "up") && strcmp(sv, "down"))
		return fail(EINVAL, "state=%s: up or down", sv);
	if (dpak_hwsim_set_link(dev, port, !strcmp(sv, "up")))
		return fail(EOPNOTSUPP, "%s", dpak_errmsg());
	char pn[32];
	COLS(o, "port", "link");
	row(o, 2, port_name(dev, port, pn), sv);
	return 0;
}

static int c_reset(struct dpak_dev *dev, const struct ctl_req *r, struct ctl_out *o)
{
	char b[24];
	int n;

	if (only(r, ""))
		return EINVAL;
	if ((n = dpak_hwsim_reset(dev)) < 0)
		return fail(-n, "%s", dpak_errmsg());
	COLS(o, "reset", "flows_restored");
	row(o, 2, "done", u64s(b, (uint64_t)n));
	return 0;
}

static const struct cmd cmds[] = {
	{ "version", "", "library and protocol version, backend", c_version },
	{ "list-commands", "", "this list", c_list },
	{ "set-log-level", "level=err|warn|info|debug", "the library's log level", c_log },
	{ "flows", "[table=] [port=] [cookie=] [limit=|max=] [start=]",
	  "dump flows with counters, a page at a time", c_flows },
	{ "flow-count", "", "flows per table", c_count },
	{ "flow-query", "table= id=", "one flow in full", c_query },
	{ "flow-del", "table= id=", "remove a flow from the device", c_del },
	{ "offload-errors", "", "failed flow operations by reason", c_errors },
	{ "offload-stats", "", "offload rates and add latency", c_stats },
	{ "device-health", "", "what the driver saw: garbage, timeouts, resets", c_health },
	{ "tables", "", "tables: type, key, capacity, in use, high water", c_tables },
	{ "ports", "", "ports: state and counters", c_ports },
	{ "queues", "", "host queues: counters, depths, pool", c_queues },
	{ "bonds", "", "bonds: mode, hash, members with link, LACP state, counters", c_bonds },
	{ "trace", "port= (hex= | eth_dst= ipv4_dst= proto= ...)",
	  "where a packet would go, without sending it", c_trace },
	{ "capture", "file= (count= | seconds=)", "write slow-path packets to pcap", c_capture },
	{ "capture-status", "", "state of the last capture: written, dropped", c_capture_status },
	{ "capture-stop", "", "end the running capture (what is buffered is written)",
	  c_capture_stop },
	{ "hwsim-fail", "count= [err=EIO]", "fail the next flow operations", c_fail },
	{ "hwsim-reject", "action=NAME|none", "refuse flows with an action type", c_reject },
	{ "hwsim-link", "port= state=up|down", "take a port's link down or up", c_link },
	{ "hwsim-reset", "", "reset the device; the library restores its flows", c_reset },
	{ NULL, NULL, NULL, NULL },
};

int ctl_run(struct dpak_dev *dev, const struct ctl_req *r, char **body, long *len)
{
	const char *js = ctl_arg(r, "json");
	struct ctl_out *o;
	int code = ENOENT;

	errbuf[0] = 0;
	for (const struct cmd *c = cmds; c->name; c++) {
		if (strcmp(c->name, r->cmd))
			continue;
		if (!(o = ctl_out_new(c->name, js && !strcmp(js, "1"))))
			return fail(ENOMEM, "out of memory"), ENOMEM;
		code = c->run(dev, r, o);
		if (!code) {
			*len = ctl_out_render(o, body);
			if (*len < 0) {
				code = ENOMEM;
				snprintf(errbuf, sizeof(errbuf), "out of memory");
			}
		}
		ctl_out_free(o);
		break;
	}
	if (code == ENOENT && !errbuf[0])
		snprintf(errbuf, sizeof(errbuf), "unknown command '%s' (try list-commands)", r->cmd);
	if (code) {
		if (!errbuf[0])
			snprintf(errbuf, sizeof(errbuf), "%s", dpak_strerror(code));
		size_t n = strlen(errbuf);
		*body = malloc(n + 2);
		if (!*body)
			return ENOMEM;
		memcpy(*body, errbuf, n);
		(*body)[n] = '\n';
		(*body)[n + 1] = 0;
		*len = (long)n + 1;
	}
	return code;
}
