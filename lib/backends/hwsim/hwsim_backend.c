/* SPDX-License-Identifier: MIT */
/*
 * The hwsim backend: thin glue from the backend ops to the device model in
 * hwsim/. Devspec arguments: uplinks=N, pfs=N, vfs=N, ring=N (slots per port
 * ring, a power of two), engine=step|thread, mtu=N (every port's MTU).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"
#include "hwsim.h"
#include "backends/hwsim/hwsim_args.h"
#include "packet.h"

int dpak__hwsim_parse_args(const char *args, struct hw_dev_cfg *cfg)
{
	char buf[256], *save = NULL, *tok;
	int have_mtu = 0;

	*cfg = (struct hw_dev_cfg){ .n_uplinks = 2, .n_pfs = 1, .n_vfs = 4,
				    .ring_size = 256 };
	if (strlen(args) >= sizeof(buf))
		return dpak__err(EINVAL, "hwsim arguments longer than %zu bytes",
				 sizeof(buf) - 1);
	strcpy(buf, args);
	if (buf[0] == ',' || (buf[0] && buf[strlen(buf) - 1] == ',') || strstr(buf, ",,"))
		return dpak__err(EINVAL, "hwsim arguments '%s': an empty argument "
				 "(a comma too many)", args);
	static const char *const names[] = { "engine", "uplinks", "pfs", "vfs", "ring", "mtu" };
	unsigned seen = 0;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '='), *end;
		unsigned long v;

		if (!eq)
			return dpak__err(EINVAL, "hwsim argument '%s': expected "
					 "name=value", tok);
		*eq++ = 0;
		for (unsigned k = 0; k < sizeof(names) / sizeof(names[0]); k++)
			if (!strcmp(tok, names[k])) {
				if (seen & 1u << k)
					return dpak__err(EINVAL, "hwsim argument %s= given "
							 "twice", tok);
				seen |= 1u << k;
			}
		if (!strcmp(tok, "engine")) {
			if (!strcmp(eq, "thread"))
				cfg->engine_thread = 1;
			else if (strcmp(eq, "step"))
				return dpak__err(EINVAL, "hwsim argument engine=%s: "
						 "expected step or thread", eq);
			continue;
		}
		uint32_t *dst = !strcmp(tok, "uplinks") ? &cfg->n_uplinks
				: !strcmp(tok, "pfs")   ? &cfg->n_pfs
				: !strcmp(tok, "vfs")   ? &cfg->n_vfs
				: !strcmp(tok, "ring")  ? &cfg->ring_size
				: !strcmp(tok, "mtu")   ? &cfg->mtu
							: NULL;
		if (!dst)
			return dpak__err(EINVAL, "hwsim argument '%s' unknown (uplinks, "
					 "pfs, vfs, ring, engine, mtu)", tok);
		errno = 0;
		v = strtoul(eq, &end, 10);
		if (errno || !*eq || *end || v > 65536)
			return dpak__err(EINVAL, "hwsim argument %s=%s: not a number "
					 "up to 65536", tok, eq);
		*dst = (uint32_t)v;
		have_mtu |= dst == &cfg->mtu;
	}
	if (cfg->n_uplinks + cfg->n_pfs + cfg->n_vfs == 0 ||
	    cfg->n_uplinks + cfg->n_pfs + cfg->n_vfs > HW_MAX_PORTS)
		return dpak__err(EINVAL, "hwsim: %u ports in all; 1 to %d allowed",
				 cfg->n_uplinks + cfg->n_pfs + cfg->n_vfs,
				 HW_MAX_PORTS);
	if (cfg->ring_size < 2 || (cfg->ring_size & (cfg->ring_size - 1)))
		return dpak__err(EINVAL, "hwsim argument ring=%u: a power of two "
				 "from 2", cfg->ring_size);
	if (have_mtu && (cfg->mtu < HW_MIN_MTU || cfg->mtu > HW_MAX_MTU))
		return dpak__err(EINVAL, "hwsim argument mtu=%u: the MTU of a port "
				 "is %d to %d bytes", cfg->mtu, HW_MIN_MTU, HW_MAX_MTU);
	return 0;
}

static void sim_log(int level, const char *msg)
{
	dpak__log(level ? DPAK_LOG_WARN : DPAK_LOG_ERR, "%s", msg);
}

static int sim_open(const char *args, const struct ci_config *cfg,
		    const struct bk_open_cfg *oc, void **priv)
{
	struct hw_dev_cfg dc;
	struct hw_dev *dev;
	int err;

	if ((err = dpak__hwsim_parse_args(args, &dc)))
		return err;
	dc.n_queues = oc->queues;
	dc.queue_size = oc->queue_size;
	dc.pool_size = oc->pool_size;
	dc.log = sim_log;
	if ((err = hw_dev_create(&dc, &dev)))
		return dpak__err(-err, "hwsim: cannot create the device");
	for (uint32_t i = 0; i < cfg->n_tables; i++) {
		const struct ci_table *t = &cfg->tables[i];
		struct hw_table_cfg tc = {
			.type = t->type, .miss = t->miss, .capacity = t->capacity,
			.key_bytes = t->key_bytes, .action_bytes = t->action_bytes,
			.n_fields = t->n_fields, .max_masks = t->max_masks,
		};
		memcpy(tc.field, t->field, t->n_fields);
		if (t->has_key_mask) {
			tc.has_key_mask = 1;
			memcpy(tc.key_mask, t->key_mask, sizeof(tc.key_mask));
		}
		if ((err = hw_table_create(dev, &tc))) {
			hw_dev_destroy(dev);
			return dpak__err(-err, "hwsim: cannot create table %s",
					 t->name);
		}
	}
	if ((err = hw_dev_start(dev))) {
		hw_dev_destroy(dev);
		return dpak__err(-err, "hwsim: cannot start the engine thread");
	}
	*priv = dev;
	return 0;
}

static void sim_close(void *priv)
{
	hw_dev_destroy(priv);
}

static uint32_t sim_n_ports(void *priv)
{
	return hw_n_ports(priv);
}

static int sim_port_info(void *priv, uint32_t port, struct dpak_port_info *i)
{
	static const char *const kind[] = { "uplink", "pf", "vf" };
	static const enum dpak_port_type type[] = { DPAK_PORT_UPLINK,
						    DPAK_PORT_PF, DPAK_PORT_VF };
	struct hw_dev *dev = priv;
	enum hw_port_type t = hw_port_type(dev, port);
	uint32_t first = port;

	while (first > 0 && hw_port_type(dev, first - 1) == t)
		first--;
	i->id = port;
	i->type = type[t];
	snprintf(i->name, sizeof(i->name), "%s%u", kind[t], port - first);
	hw_port_mac(dev, port, i->mac);
	i->mtu = (uint16_t)hw_port_mtu(dev, port);
	i->link_up = hw_port_link(dev, port);
	i->min_mtu = HW_MIN_MTU;
	i->max_mtu = HW_MAX_MTU;
	return 0;
}

static int sim_port_set_mtu(void *priv, uint32_t port, uint32_t mtu)
{
	int err = hw_port_set_mtu(priv, port, mtu);

	if (err == -ERANGE)
		return dpak__err(EINVAL, "port %u: MTU %u out of range: hwsim ports "
				 "take %d to %d bytes", port, mtu, HW_MIN_MTU,
				 HW_MAX_MTU);
	return err ? dpak__err(-err, "port %u: MTU %u", port, mtu) : 0;
}

static int sim_port_set_rx_queues(void *priv, uint32_t port, uint16_t first, uint16_t n)
{
	int err = hw_port_set_rx_queues(priv, port, first, n);

	return err ? dpak__err(EINVAL, "port %u: queues %u..%u refused by the "
			       "device", port, first, first + n - 1u) : 0;
}

static int sim_port_stats(void *priv, uint32_t port, struct dpak_port_stats *s)
{
	struct hw_port_counters c;

	hw_port_counters(priv, port, &c);
	s->rx_packets = c.rx_packets;
	s->rx_bytes = c.rx_bytes;
	s->tx_packets = c.tx_packets;
	s->tx_bytes = c.tx_bytes;
	s->rx_misses = c.rx_misses;
	s->drops = c.drops;
	s->drops_action = c.drops_action;
	s->drops_mtu = c.drops_mtu;
	s->drops_bond_rx = c.drops_bond_rx;
	return 0;
}

/* Device errors, said in the user's terms. */
static int entry_err(int err, uint32_t table, const char *what)
{
	switch (err) {
	case -EEXIST:
		return dpak__err(EEXIST, "table %u already holds a flow with this "
				 "match", table);
	case -ENOSPC:
		return dpak__err(ENOSPC, "device table %u has no room for this %s",
				 table, what);
	case -ENOENT:
		return dpak__err(ENOENT, "device table %u has no such flow", table);
	default:
		return dpak__err(-err, "hwsim refused the %s: %s", what,
				 dpak_strerror(err));
	}
}

/* A flow the device refused for one of its actions (it was told to
 * refuse them: dpak_hwsim_reject_action): name the action by its position
 * in the packed block and its type. */
static int refused_err(void *priv, uint32_t table, const uint8_t *act,
		       uint32_t len, const char *what)
{
	uint64_t rej = hw_rejected_ops(priv);
	unsigned n = 0;

	for (uint32_t o = 0; o + 2 <= len && act[o + 1] >= 2; o += act[o + 1], n++)
		if (act[o] < 64 && (rej & (1ull << act[o])))
			return dpak__err(ENOTSUP, "action %u (%s): refused by the "
					 "device (table %u)", n,
					 dpak__action_name(act[o]), table);
	return entry_err(-ENOTSUP, table, what);
}

static int sim_flow_add(void *priv, uint32_t table, const struct bk_flow *f,
			uint64_t *handle)
{
	uint32_t id;
	int err = hw_entry_add(priv, table, f->key, f->mask, f->priority,
			       f->actions, f->actions_len, &id);

	if (err == -ENOTSUP)
		return refused_err(priv, table, f->actions, f->actions_len, "flow");
	if (err)
		return entry_err(err, table, "flow");
	if (f->carry) {
		struct hw_entry_counters c = { f->carry->packets, f->carry->bytes,
					       f->carry->last_hit_ns };
		hw_entry_carry(priv, table, id, &c); /* the entry is live */
	}
	*handle = id;
	return 0;
}

static int sim_flow_add_batch(void *priv, uint32_t table, const struct bk_flow *f,
			      unsigned n, uint64_t *handles, int *results)
{
	struct hw_entry_req r[64];
	uint32_t ids[64];
	int added = 0, reported = 0;

	for (unsigned done = 0; done < n;) {
		unsigned k = n - done < 64 ? n - done : 64;
		for (unsigned i = 0; i < k; i++)
			r[i] = (struct hw_entry_req){ f[done + i].key, f[done + i].mask,
						      f[done + i].actions,
						      f[done + i].actions_len,
						      f[done + i].priority };
		int rc = hw_entry_add_batch(priv, table, r, k, ids, results + done);
		if (rc < 0)
			return entry_err(rc, table, "flow");
		for (unsigned i = 0; i < k; i++) {
			if (results[done + i]) {
				if (!reported++)
					results[done + i] = results[done + i] == -ENOTSUP ?
						refused_err(priv, table, f[done + i].actions,
							    f[done + i].actions_len, "flow") :
						entry_err(results[done + i], table, "flow");
				continue;
			}
			handles[done + i] = ids[i];
		}
		added += rc;
		done += k;
	}
	return added;
}

static int sim_flow_del(void *priv, uint32_t table, uint64_t handle)
{
	int err = hw_entry_del(priv, table, (uint32_t)handle);

	return err ? entry_err(err, table, "delete") : 0;
}

static int sim_flow_replace(void *priv, uint32_t table, uint64_t handle,
			    const uint8_t *act, uint32_t len, uint64_t *new_handle)
{
	uint32_t id;
	int err = hw_entry_replace(priv, table, (uint32_t)handle, act, len, &id);

	if (err == -ENOTSUP)
		return refused_err(priv, table, act, len, "replace");
	if (err)
		return entry_err(err, table, "replace");
	*new_handle = id;
	return 0;
}

static int sim_flow_counters(void *priv, uint32_t table, uint64_t handle,
			     struct bk_flow_counters *c)
{
	struct hw_entry_counters hc;
	int err = hw_entry_counters(priv, table, (uint32_t)handle, &hc);

	if (err)
		return entry_err(err, table, "query");
	c->packets = hc.packets;
	c->bytes = hc.bytes;
	c->last_hit_ns = hc.last_hit_ns;
	return 0;
}

static int sim_inject(void *priv, uint32_t port, const void *pkt, size_t len)
{
	int err = hw_inject(priv, port, pkt, len);

	if (err == -EINVAL)
		return dpak__err(EINVAL, "packet of %zu bytes: hwsim takes frames "
				 "of 14 to %d bytes", len, HW_MAX_FRAME);
	if (err == -ENOBUFS)
		return dpak__err(ENOBUFS, "port %u: receive ring full", port);
	if (err == -EBUSY)
		return dpak__err(EBUSY, "port %u takes its input from an attached "
				 "interface or pcap file", port);
	return err;
}

static ssize_t sim_capture(void *priv, uint32_t port, void *buf, size_t cap)
{
	ssize_t n = hw_capture(priv, port, buf, cap);

	if (n == -EBUSY)
		return dpak__err(EBUSY, "port %u sends to an attached interface", port);
	if (n == -EMSGSIZE)
		return dpak__err(EMSGSIZE, "port %u: buffer of %zu bytes is too "
				 "small for the next packet", port, cap);
	return n;
}

static int sim_run(void *priv, unsigned budget)
{
	int n = hw_run(priv, budget);

	if (n == -EBUSY)
		return dpak__err(EBUSY, "hwsim runs its own engine thread "
				 "(engine=thread)");
	return n;
}

static int sim_set_link(void *priv, uint32_t port, int up)
{
	return hw_port_set_link(priv, port, up);
}

static int sim_fail_flow_ops(void *priv, unsigned count, int err)
{
	hw_fail_ops(priv, count, err);
	return 0;
}

/* Host queues: hwsim's buffer descriptors are struct dpak_pkt. */
#define SAME(f) (offsetof(struct hw_pktbuf, f) == offsetof(struct dpak_pkt, f) && \
		 sizeof(((struct hw_pktbuf *)0)->f) == sizeof(((struct dpak_pkt *)0)->f))
_Static_assert(sizeof(struct hw_pktbuf) == sizeof(struct dpak_pkt) && SAME(data) &&
	       SAME(len) && SAME(port) && SAME(mark) && SAME(reason) && SAME(table) &&
	       SAME(hash) && SAME(tx_flags) && SAME(buf_len) && SAME(rsvd),
	       "struct hw_pktbuf must have the layout of struct dpak_pkt");
_Static_assert((int)HW_TX_PIPELINE == (int)DPAK_TX_PIPELINE && (int)HW_TX_PORT == (int)DPAK_TX_PORT &&
	       (int)HW_HOST_MISS == DPAK_RX_MISS && (int)HW_HOST_ACTION == DPAK_RX_ACTION &&
	       (int)HW_HOST_TTL == DPAK_RX_TTL && (int)HW_HOST_PROTO == DPAK_RX_PROTOCOL &&
	       (int)HW_BOND_AB == DPAK_BOND_ACTIVE_BACKUP && (int)HW_BOND_LACP == DPAK_BOND_8023AD &&
	       (int)HW_HASH_INNER == DPAK_BOND_HASH_INNER, "hwsim and public enums agree");

static int sim_rx_burst(void *priv, uint16_t q, struct dpak_pkt **pkts, uint16_t n)
{
	return hw_host_rx_burst(priv, q, (struct hw_pktbuf **)pkts, n);
}

static int sim_tx_burst(void *priv, uint16_t q, struct dpak_pkt **pkts, uint16_t n)
{
	int r = hw_host_tx_burst(priv, q, (struct hw_pktbuf **)pkts, n);

	if (r != -EINVAL)
		return r;
	for (unsigned i = 0; i < n; i++) {
		const struct hw_pktbuf *b = (const struct hw_pktbuf *)pkts[i];
		switch (hw_host_tx_check(priv, b)) {
		case HW_TXB_OK:
			continue;
		case HW_TXB_NULL:
			return dpak__err(EINVAL, "tx_burst: packet %u is NULL; none sent", i);
		case HW_TXB_POOL:
			return dpak__err(EINVAL, "tx_burst: packet %u is not from this "
					 "device's pool (dpak_pkt_alloc or dpak_rx_burst); "
					 "none sent", i);
		case HW_TXB_FLAGS:
			return dpak__err(EINVAL, "tx_burst: packet %u: tx_flags %u is not "
					 "DPAK_TX_PORT or DPAK_TX_PIPELINE; none sent", i,
					 b->tx_flags);
		case HW_TXB_PORT:
			return dpak__err(EINVAL, "tx_burst: packet %u: port %u does not "
					 "exist%s; none sent", i, b->port,
					 b->tx_flags == HW_TX_PIPELINE ?
					 " (the pipeline takes packets on ports, not bonds)" : "");
		case HW_TXB_LEN:
			return dpak__err(EINVAL, "tx_burst: packet %u: length %u is not in "
					 "14-%d bytes; none sent", i, b->len, HW_MAX_FRAME);
		case HW_TXB_DATA:
			return dpak__err(EINVAL, "tx_burst: packet %u: its data (len %u) "
					 "lies outside its buffer (buf_len %u); none sent",
					 i, b->len, b->buf_len);
		}
	}
	return dpak__err(EINVAL, "tx_burst: a packet was refused; none sent");
}

static struct dpak_pkt *sim_pkt_alloc(void *priv)
{
	return (struct dpak_pkt *)hw_pkt_alloc(priv);
}

static void sim_pkt_free(void *priv, struct dpak_pkt *pkt)
{
	hw_pkt_free(priv, (struct hw_pktbuf *)pkt);
}

static int sim_queue_stats(void *priv, uint16_t q, struct dpak_queue_stats *st)
{
	struct hw_queue_counters c;
	int err = hw_queue_counters(priv, q, &c);

	if (err)
		return dpak__err(-err, "queue %u", q);
	st->rx_packets = c.rx_packets;
	st->rx_drops = c.rx_drops;
	st->tx_packets = c.tx_packets;
	st->rx_depth = c.rx_depth;
	st->tx_depth = c.tx_depth;
	st->pool_size = c.pool_size;
	st->pool_free = c.pool_free;
	return 0;
}

static int sim_attach(void *priv, uint32_t port, const char *ifname)
{
	int err = hw_port_attach(priv, port, ifname);

	switch (err) {
	case 0:
		return 0;
	case -ENODEV:
		return dpak__err(ENODEV, "no interface named '%s'", ifname);
	case -EBUSY:
		return dpak__err(EBUSY, "port %u is already attached", port);
	default:
		return dpak__err(-err, "attaching port %u to %s: %s", port, ifname,
				 dpak_strerror(err));
	}
}

static int sim_pcap(void *priv, uint32_t port, int dir, const char *path)
{
	int err = hw_pcap_attach(priv, port, (enum hw_pcap_dir)dir, path);

	switch (err) {
	case 0:
		return 0;
	case -EBUSY:
		return dpak__err(EBUSY, "port already has a pcap %s, or an interface",
				 dir == HW_PCAP_IN ? "input" : "output");
	case -EINVAL:
		return dpak__err(EINVAL, "%s: %s", path, port == HW_PCAP_HOST ?
				 "the slow path takes only an output file" :
				 "not a pcap or pcapng file");
	case -EPROTONOSUPPORT:
		return dpak__err(EPROTONOSUPPORT, "%s: link type is not Ethernet", path);
	case -ESPIPE:
		return dpak__err(EINVAL, "%s: not a regular file (the device reads "
				 "its input files as it goes, and may not wait on a "
				 "pipe)", path);
	default:
		return dpak__err(-err, "%s: %s", path, dpak_strerror(err));
	}
}

static int sim_pcap_stats(void *priv, uint32_t port, int dir,
			  struct dpak_hwsim_pcap_stats *st)
{
	struct hw_pcap_counters c;
	int err = hw_pcap_counters(priv, port, (enum hw_pcap_dir)dir, &c);

	if (err == -ENOENT) {
		char name[32] = "the slow path";
		if (port != HW_PCAP_HOST)
			snprintf(name, sizeof(name), "port %u", port);
		return dpak__err(ENOENT, "%s has no pcap %s file", name,
				 dir == HW_PCAP_IN ? "input" : "output");
	}
	if (err)
		return dpak__err(-err, "pcap counters: %s", dpak_strerror(err));
	st->packets = c.packets;
	st->drops = c.drops;
	st->queued = c.queued;
	st->error = c.error;
	return 0;
}

static int sim_reject(void *priv, uint64_t types)
{
	hw_reject_ops(priv, types); /* pk_op values are the action types */
	return 0;
}

/* What the device applies now: every action but those it refuses. */
static uint64_t sim_action_types_now(void *priv)
{
	return dpak_backend_hwsim.action_types & ~hw_rejected_ops(priv);
}

static int sim_reset(void *priv, uint64_t *lost)
{
	*lost = hw_dev_reset(priv);
	return 0;
}

static int sim_pause(void *priv, int pause)
{
	hw_pause(priv, pause);
	return 0;
}

struct trace_ctx {
	void (*cb)(void *ctx, const struct bk_trace_step *st);
	void *ctx;
};

/* The header a layer mask names, in words. */
static const char *layer_words(uint32_t l)
{
	if (l & HW_L_NEVER)
		return "a header this action list never gives it";
	if (l & HW_L_VLAN)
		return "a vlan tag";
	if (l & HW_L_VLAN2)
		return "a second vlan tag";
	if (l & HW_L_IPV4)
		return "an ipv4 header";
	if (l & HW_L_IPV6)
		return "an ipv6 header";
	if (l & HW_L_IP)
		return "an ipv4 or ipv6 header";
	if (l & HW_L_PORTS)
		return "a tcp or udp header";
	if (l & HW_L_VXLAN)
		return "a vxlan header";
	return "a header";
}

static void trace_step(void *arg, const struct hw_trace_step *s)
{
	static const enum bk_fate fate[] = {
		[HW_FATE_DROP] = BK_FATE_DROP, [HW_FATE_PORT] = BK_FATE_PORT,
		[HW_FATE_HOST] = BK_FATE_HOST, [HW_FATE_JUMP] = BK_FATE_JUMP,
		[HW_FATE_TTL] = BK_FATE_TTL,
	};
	static const enum bk_why why[] = {
		[HW_WHY_NONE] = BK_WHY_NONE, [HW_WHY_LINK_DOWN] = BK_WHY_LINK_DOWN,
		[HW_WHY_LACP_CTRL] = BK_WHY_LACP_CTRL, [HW_WHY_PROTO_HOST] = BK_WHY_PROTO_HOST,
		[HW_WHY_ACTION] = BK_WHY_ACTION, [HW_WHY_HEADROOM] = BK_WHY_HEADROOM,
		[HW_WHY_JUMP_BACK] = BK_WHY_JUMP_BACK, [HW_WHY_NO_MEMBER] = BK_WHY_NO_MEMBER,
		[HW_WHY_BOND_RX] = BK_WHY_BOND_RX, [HW_WHY_MTU] = BK_WHY_MTU,
		[HW_WHY_EGRESS_DOWN] = BK_WHY_EGRESS_DOWN,
	};
	struct trace_ctx *t = arg;
	struct bk_trace_step b = {
		.table = s->table == HW_TRACE_RX ? BK_TRACE_RX : s->table, .hit = s->hit,
		.handle = s->id, .miss = s->miss, .fate = fate[s->fate], .arg = s->arg,
		.len = s->len, .actions = s->actions, .act_len = s->act_len,
		.why = why[s->why], .rx_port = s->in_port, .member = s->member,
		.act_index = s->act_index, .act_type = (int)s->act_op, /* pk_op values */
		.missing = s->why == HW_WHY_ACTION ? layer_words(s->missing) : NULL,
	};
	t->cb(t->ctx, &b);
}

static int sim_trace(void *priv, uint32_t port, const void *pkt, size_t len,
		     void (*cb)(void *ctx, const struct bk_trace_step *st), void *ctx)
{
	struct trace_ctx t = { cb, ctx };
	int err = hw_trace(priv, port, pkt, len, trace_step, &t);

	if (err == -EINVAL)
		return dpak__err(EINVAL, "packet of %zu bytes: 14 to %d", len, HW_MAX_FRAME);
	return err;
}

static int sim_bond_create(void *priv, int mode, int hash, int lacp_lib, int failback,
			   uint32_t *port)
{
	return hw_bond_create(priv, (enum hw_bond_mode)mode, (enum hw_bond_hash)hash,
			      lacp_lib ? HW_LACP_CTRL : HW_LACP_HOST, failback, port);
}

static int sim_bond_destroy(void *priv, uint32_t port)
{
	return hw_bond_destroy(priv, port);
}

static int sim_bond_add(void *priv, uint32_t port, uint32_t member)
{
	return hw_bond_add(priv, port, member);
}

static int sim_bond_del(void *priv, uint32_t port, uint32_t member)
{
	return hw_bond_del(priv, port, member);
}

static int sim_bond_enable(void *priv, uint32_t port, uint32_t member, int on)
{
	return hw_bond_enable(priv, port, member, on);
}

static int sim_bond_active(void *priv, uint32_t port, uint32_t *member)
{
	struct hw_bond_state st;
	int err = hw_bond_state(priv, port, &st);

	if (!err)
		*member = st.active;
	return err;
}

static ssize_t sim_ctrl_recv(void *priv, void *buf, size_t cap, uint32_t *port)
{
	return hw_ctrl_recv(priv, buf, cap, port);
}

static int sim_ctrl_send(void *priv, uint32_t port, const void *pkt, size_t len)
{
	return hw_ctrl_send(priv, port, pkt, len);
}

#define BIT(x) (1ull << (x))
const struct dpak_backend_ops dpak_backend_hwsim = {
	.name = "hwsim",
	.open = sim_open,
	.close = sim_close,
	.n_ports = sim_n_ports,
	.port_info = sim_port_info,
	.port_stats = sim_port_stats,
	.item_types = ((BIT(DPAK_ITEM_VLAN_TAGS + 1) - 1) & ~BIT(DPAK_ITEM_END)),
	.action_types = ((BIT(DPAK_ACTION_VXLAN_ENCAP6 + 1) - 1) & ~BIT(DPAK_ACTION_END)),
	.table_types = BIT(DPAK_TABLE_EXACT) | BIT(DPAK_TABLE_WILDCARD) |
		       BIT(DPAK_TABLE_LPM),
	.flow_add = sim_flow_add,
	.flow_add_batch = sim_flow_add_batch,
	.flow_del = sim_flow_del,
	.flow_replace = sim_flow_replace,
	.flow_counters = sim_flow_counters,
	.rx_burst = sim_rx_burst,
	.tx_burst = sim_tx_burst,
	.pkt_alloc = sim_pkt_alloc,
	.pkt_free = sim_pkt_free,
	.queue_stats = sim_queue_stats,
	.trace = sim_trace,
	.bond_create = sim_bond_create,
	.bond_destroy = sim_bond_destroy,
	.bond_add = sim_bond_add,
	.bond_del = sim_bond_del,
	.bond_enable = sim_bond_enable,
	.bond_active = sim_bond_active,
	.ctrl_recv = sim_ctrl_recv,
	.ctrl_send = sim_ctrl_send,
	.sim_reject = sim_reject,
	.sim_reset = sim_reset,
	.sim_attach = sim_attach,
	.sim_pcap = sim_pcap,
	.sim_inject = sim_inject,
	.sim_capture = sim_capture,
	.sim_run = sim_run,
	.sim_set_link = sim_set_link,
	.sim_fail_flow_ops = sim_fail_flow_ops,
	.action_types_now = sim_action_types_now,
	.port_set_mtu = sim_port_set_mtu,
	.sim_pcap_stats = sim_pcap_stats,
	.sim_pause = sim_pause,
	.max_push_bytes = HW_HEADROOM,
	.port_set_rx_queues = sim_port_set_rx_queues,
};
