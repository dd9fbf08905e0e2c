/* SPDX-License-Identifier: MIT */
/* Devices: devspec dispatch to a backend, ports, tables. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "core.h"
#include "bond.h"
#include "event.h"

static const struct dpak_backend_ops *const backends[] = {
	&dpak_backend_hwsim,
	&dpak_backend_pci,
};

/* Backends named by DESIGN but not built yet. */
static const char *const planned[] = { "xdp" };

static const struct dpak_backend_ops *backend_for(const char *devspec,
						  const char **args)
{
	const char *colon = strchr(devspec, ':');
	size_t n = colon ? (size_t)(colon - devspec) : strlen(devspec);

	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strlen(backends[i]->name) == n &&
		    !strncmp(devspec, backends[i]->name, n)) {
			*args = colon ? colon + 1 : "";
			return backends[i];
		}
	for (size_t i = 0; i < sizeof(planned) / sizeof(planned[0]); i++)
		if (strlen(planned[i]) == n && !strncmp(devspec, planned[i], n)) {
			dpak__err(ENODEV, "devspec '%s': backend %s is not built in "
				  "this release", devspec, planned[i]);
			return NULL;
		}
	dpak__err(ENODEV, "devspec '%s': no backend '%.*s' (known: hwsim, pci)",
		  devspec, (int)n, devspec);
	return NULL;
}

static struct dpak_dev *fail_open(struct dpak_dev *dev, int err)
{
	free(dev);
	errno = err < 0 ? -err : err;
	return NULL;
}

DPAK_API struct dpak_dev *dpak_dev_open(const char *devspec,
					const struct dpak_dev_opts *opts)
{
	const struct dpak_backend_ops *ops;
	const char *args, *path, *text;
	struct dpak_dev *dev;
	int err;

	if (!devspec)
		return fail_open(NULL, dpak__err(EINVAL, "devspec: NULL"));
	if ((err = dpak__opts_check(opts, sizeof(*opts), "dpak_dev_opts")))
		return fail_open(NULL, err);
	ops = backend_for(devspec, &args);
	if (!ops)
		return fail_open(NULL, -ENODEV);
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return fail_open(NULL, dpak__err(ENOMEM, "out of memory"));
	path = DPAK_OPT(opts, configinfo, NULL);
	text = DPAK_OPT(opts, configinfo_text, NULL);
	if (path)
		err = ci_load(path, &dev->cfg);
	else if (text)
		err = ci_parse(text, "configinfo_text", &dev->cfg);
	else
		err = ci_parse(ci_default_text, "default configinfo", &dev->cfg);
	if (err)
		return fail_open(dev, err);
	/* The device's own copy of the ops: a backend writes its device's
	 * capabilities into it at open. */
	dev->own_ops = *ops;
	const char *base = path ? strrchr(path, '/') : NULL;
	struct bk_open_cfg oc = {
		.dev_ops = &dev->own_ops,
		.ci_origin = path ? (base ? base + 1 : path) :
			     text ? "configinfo_text" : "default configinfo",
		.queues = DPAK_OPT(opts, queues, 0u),
		.queue_size = DPAK_OPT(opts, queue_size, 0u),
		.pool_size = DPAK_OPT(opts, pool_size, 0u),
	};
	if (!oc.queues)
		oc.queues = 1;
	if (!oc.queue_size)
		oc.queue_size = 1024;
	if (oc.queues > 64)
		return fail_open(dev, dpak__err(EINVAL, "opts: queues=%u; 1 to 64",
						oc.queues));
	if (oc.queue_size < 2 || oc.queue_size > 65536 ||
	    (oc.queue_size & (oc.queue_size - 1)))
		return fail_open(dev, dpak__err(EINVAL, "opts: queue_size=%u; a "
						"power of two from 2 to 65536",
						oc.queue_size));
	if (!oc.pool_size)
		oc.pool_size = 4 * oc.queues * oc.queue_size;
	if (oc.pool_size < oc.queue_size || oc.pool_size > (1u << 22))
		return fail_open(dev, dpak__err(EINVAL, "opts: pool_size=%u; from "
						"queue_size (%u) to 4194304",
						oc.pool_size, oc.queue_size));
	static uint64_t next_gen;
	dev->gen = __atomic_add_fetch(&next_gen, 1, __ATOMIC_RELAXED);
	dev->ops = &dev->own_ops;
	dev->devspec = strdup(devspec);
	if (!dev->devspec)
		return fail_open(dev, dpak__err(ENOMEM, "out of memory"));
	err = ops->open(args, &dev->cfg, &oc, &dev->priv);
	if (err) {
		dpak__err_prefix("devspec '%s'", devspec);
		free(dev->devspec);
		return fail_open(dev, err);
	}
	dev->n_ports = ops->n_ports(dev->priv);
	dev->n_rx_queues = oc.queues;
	for (uint32_t i = 0; i < dev->cfg.n_tables; i++) {
		struct dpak_table *t = &dev->tables[i];
		t->dev = dev;
		t->index = i;
		t->decl = &dev->cfg.tables[i];
		pthread_mutex_init(&t->lock, NULL);
		dpak__table_recs_init(t);
	}
	pthread_mutex_init(&dev->cap.lock, NULL);
	pthread_mutex_init(&dev->recover_lock, NULL);
	dev->st.opened_ns = dev->st.prev_ns = dpak__now_ns();
	const char *ctl = DPAK_OPT(opts, ctl_path, NULL);
	if (ctl && (err = dpak__ctl_start(dev, ctl))) {
		dpak_dev_close(dev);
		errno = -err;
		return NULL;
	}
	dpak__log(DPAK_LOG_INFO, "opened %s: %u ports, %u tables", devspec,
		  dev->n_ports, dev->cfg.n_tables);
	return dev;
}

DPAK_API void dpak_dev_close(struct dpak_dev *dev)
{
	if (!dev)
		return;
	dpak__ctl_stop(dev); /* no operator request in flight after this */
	dpak__bonds_fini(dev);
	dpak__events_fini(dev); /* its thread scans the tables: before they go */
	dpak__capture_stop(dev);
	pthread_mutex_destroy(&dev->cap.lock);
	pthread_mutex_destroy(&dev->recover_lock);
	for (uint32_t i = 0; i < dev->cfg.n_tables; i++) {
		struct dpak_table *t = &dev->tables[i];
		struct dpak_flow *f, *next;

		for (f = t->head; f; f = next) {
			next = f->next;
			if (f->flags & FLOW_F_ACT_HEAP)
				free(f->act);
		}
		dpak__table_recs_fini(t);
		pthread_mutex_destroy(&t->lock);
	}
	dev->ops->close(dev->priv); /* the device's tables go with it */
	free(dev->devspec);
	free(dev);
}

static struct dpak_bonds *bonds_locked(struct dpak_dev *dev);

DPAK_API int dpak_dev_info(struct dpak_dev *dev, struct dpak_dev_info *info)
{
	struct dpak_dev_info i = { 0 };

	if (!dev)
		return dpak__err(EINVAL, "dev: NULL");
	i.backend = dev->ops->name;
	i.devspec = dev->devspec;
	i.n_ports = dev->n_ports;
	i.n_tables = dev->cfg.n_tables;
	i.item_types = dev->ops->item_types;
	i.action_types = dpak__dev_action_types(dev); /* what it applies now */
	i.table_types = dev->ops->table_types;
	i.max_push_bytes = dev->ops->max_push_bytes;
	if (dev->ops->bond_create) {
		struct dpak_bonds *bs = bonds_locked(dev);
		i.max_bonds = DPAK_MAX_BONDS;
		for (int k = 0; bs && k < DPAK_MAX_BONDS; k++)
			i.n_bonds += bs->b[k].used != 0;
		if (bs)
			pthread_mutex_unlock(&bs->lock);
	}
	return dpak__out(info, &i, sizeof(i), "dpak_dev_info");
}

static int check_port(struct dpak_dev *dev, uint32_t port)
{
	if (!dev)
		return dpak__err(EINVAL, "dev: NULL");
	if (port >= dev->n_ports)
		return dpak__err(ENOENT, "port %u does not exist (device has %u "
				 "ports)", port, dev->n_ports);
	return 0;
}

/* A bond as a port: its name, and its members' counters summed. The
 * bond's slot is read under the bonds' lock (bonds come and go while
 * these calls run): the caller holds it. */
static struct dpak_bonds *bonds_locked(struct dpak_dev *dev)
{
	struct dpak_bonds *bs = __atomic_load_n(&dev->bonds, __ATOMIC_ACQUIRE);

	if (bs)
		pthread_mutex_lock(&bs->lock);
	return bs;
}

static struct dpak_bond *bond_port(struct dpak_dev *dev, struct dpak_bonds *bs,
				   uint32_t port)
{
	if (!bs || port < dev->n_ports || port >= dev->n_ports + DPAK_MAX_BONDS)
		return NULL;
	struct dpak_bond *b = &bs->b[port - dev->n_ports];
	return b->used ? b : NULL;
}

static int bond_port_info(struct dpak_dev *dev, uint32_t port, struct dpak_port_info *i)
{
	struct dpak_bonds *bs = bonds_locked(dev);
	struct dpak_bond *b = bond_port(dev, bs, port);

	if (b) {
		i->id = port;
		i->type = DPAK_PORT_BOND;
		snprintf(i->name, sizeof(i->name), "%s", b->name);
		i->mtu = 1500;
		for (uint32_t k = 0; k < b->n; k++) {
			struct dpak_port_info m = { .sz = sizeof(m) };
			if (!dev->ops->port_info(dev->priv, b->m[k].port, &m)) {
				if (!k) {
					memcpy(i->mac, m.mac, 6);
					i->mtu = m.mtu;
				}
				if (m.mtu < i->mtu)
					i->mtu = m.mtu;
				i->link_up |= m.link_up;
			}
		}
	}
	if (bs)
		pthread_mutex_unlock(&bs->lock);
	return b ? 0 : dpak__err(ENOENT, "port %u does not exist (device has %u ports): "
				 "no bond holds this id", port, dev->n_ports);
}

DPAK_API int dpak_port_info(struct dpak_dev *dev, uint32_t port,
			    struct dpak_port_info *info)
{
	struct dpak_port_info i = { 0 };
	int err;

	if (dev && port >= dev->n_ports && port < dev->n_ports + DPAK_MAX_BONDS) {
		if ((err = bond_port_info(dev, port, &i)))
			return err;
		return dpak__out(info, &i, sizeof(i), "dpak_port_info");
	}
	if ((err = check_port(dev, port)))
		return err;
	dpak__dev_recover_first(dev);
	if ((err = dev->ops->port_info(dev->priv, port, &i))) {
		dpak__flow_op_reset(dev, err);
		return err;
	}
	return dpak__out(info, &i, sizeof(i), "dpak_port_info");
}

int dpak__port_lookup(struct dpak_dev *dev, const char *name)
{
	struct dpak_bonds *bs;
	int found = -1;

	for (uint32_t p = 0; p < dev->n_ports; p++) {
		struct dpak_port_info i = { 0 };
		if (!dev->ops->port_info(dev->priv, p, &i) && !strcmp(i.name, name))
			return (int)p;
	}
	bs = bonds_locked(dev);
	for (uint32_t p = dev->n_ports; found < 0 && p < dev->n_ports + DPAK_MAX_BONDS; p++) {
		struct dpak_bond *b = bond_port(dev, bs, p);
		if (b && !strcmp(b->name, name))
			found = (int)p;
	}
	if (bs)
		pthread_mutex_unlock(&bs->lock);
	return found;
}

int dpak__port_bond_member(struct dpak_dev *dev, uint32_t port, uint32_t *bond)
{
	struct dpak_bonds *bs = bonds_locked(dev);
	int found = 0;

	for (int i = 0; bs && i < DPAK_MAX_BONDS && !found; i++)
		for (uint32_t k = 0; bs->b[i].used && k < bs->b[i].n; k++)
			if (bs->b[i].m[k].port == port) {
				*bond = bs->b[i].port;
				found = 1;
				break;
			}
	if (bs)
		pthread_mutex_unlock(&bs->lock);
	return found;
}

int dpak__in_port_check(struct dpak_dev *dev, unsigned idx, uint32_t port)
{
	struct dpak_bonds *bs;
	int err = 0;

	if (port >= dev->n_ports || !(bs = bonds_locked(dev)))
		return 0;
	for (int i = 0; i < DPAK_MAX_BONDS && !err; i++)
		for (uint32_t k = 0; bs->b[i].used && k < bs->b[i].n; k++)
			if (bs->b[i].m[k].port == port) {
				struct dpak_port_info pi = { 0 };
				dev->ops->port_info(dev->priv, port, &pi);
				err = dpak__err(EINVAL, "item %u (port): port %u (%s) is a "
						"member of bond %s, whose packets are "
						"received as on the bond: match in_port = "
						"%s (port %u)", idx, port, pi.name,
						bs->b[i].name, bs->b[i].name, bs->b[i].port);
				break;
			}
	pthread_mutex_unlock(&bs->lock);
	return err;
}

DPAK_API int dpak_port_by_name(struct dpak_dev *dev, const char *name)
{
	int p;

	if (!dev || !name)
		return dpak__err(EINVAL, "dev or name: NULL");
	if ((p = dpak__port_lookup(dev, name)) < 0)
		return dpak__err(ENOENT, "no port named '%s'", name);
	return p;
}

DPAK_API int dpak_port_stats(struct dpak_dev *dev, uint32_t port,
			     struct dpak_port_stats *stats)
{
	struct dpak_port_stats s = { 0 };
	int err;

	if (dev && port >= dev->n_ports && port < dev->n_ports + DPAK_MAX_BONDS) {
		struct dpak_bonds *bs = bonds_locked(dev);
		struct dpak_bond *b = bond_port(dev, bs, port);
		for (uint32_t k = 0; b && dev->ops->port_stats && k < b->n; k++) {
			struct dpak_port_stats m = { 0 };
			if (!dev->ops->port_stats(dev->priv, b->m[k].port, &m)) {
				s.rx_packets += m.rx_packets;
				s.rx_bytes += m.rx_bytes;
				s.tx_packets += m.tx_packets;
				s.tx_bytes += m.tx_bytes;
				s.rx_misses += m.rx_misses;
				s.drops += m.drops;
				s.drops_action += m.drops_action;
				s.drops_mtu += m.drops_mtu;
				s.drops_bond_rx += m.drops_bond_rx;
			}
		}
		if (bs)
			pthread_mutex_unlock(&bs->lock);
		if (!b)
			return dpak__err(ENOENT, "port %u does not exist (device has %u "
					 "ports): no bond holds this id", port, dev->n_ports);
		if (!dev->ops->port_stats)
			return dpak__err(EOPNOTSUPP, "backend %s does not report port "
					 "counters", dev->ops->name);
		return dpak__out(stats, &s, sizeof(s), "dpak_port_stats");
	}
	if ((err = check_port(dev, port)))
		return err;
	if (!dev->ops->port_stats)
		return dpak__err(EOPNOTSUPP, "backend %s does not report port "
				 "counters", dev->ops->name);
	dpak__dev_recover_first(dev);
	if ((err = dev->ops->port_stats(dev->priv, port, &s))) {
		dpak__flow_op_reset(dev, err);
		return err;
	}
	return dpak__out(stats, &s, sizeof(s), "dpak_port_stats");
}

DPAK_API struct dpak_table *dpak_table_get(struct dpak_dev *dev,
					   const char *name)
{
	if (!dev || !name) {
		errno = -dpak__err(EINVAL, "dev or name: NULL");
		return NULL;
	}
	for (uint32_t i = 0; i < dev->cfg.n_tables; i++)
		if (!strcmp(dev->cfg.tables[i].name, name))
			return &dev->tables[i];
	errno = -dpak__err(ENOENT, "no table named '%s'", name);
	return NULL;
}

DPAK_API struct dpak_table *dpak_table_at(struct dpak_dev *dev, uint32_t index)
{
	if (!dev) {
		errno = -dpak__err(EINVAL, "dev: NULL");
		return NULL;
	}
	if (index >= dev->cfg.n_tables) {
		errno = -dpak__err(ENOENT, "table %u does not exist (device has "
				   "%u tables)", index, dev->cfg.n_tables);
		return NULL;
	}
	return &dev->tables[index];
}

DPAK_API int dpak_table_info(struct dpak_table *t, struct dpak_table_info *info)
{
	struct dpak_table_info i = { 0 };
	const struct ci_table *d;

	if (!t)
		return dpak__err(EINVAL, "table: NULL");
	d = t->decl;
	i.index = t->index;
	i.name = d->name;
	i.type = (enum dpak_table_type)d->type;
	i.capacity = d->capacity;
	i.key_bytes = d->key_bytes;
	i.action_bytes = d->action_bytes;
	i.priorities = d->priorities;
	i.key_fields = d->fields;
	pthread_mutex_lock(&t->lock);
	dpak__table_info_fill(t, &i); /* occupancy, limits, actions applied now */
	pthread_mutex_unlock(&t->lock);
	return dpak__out(info, &i, sizeof(i), "dpak_table_info");
}

DPAK_API int dpak_port_set_mtu(struct dpak_dev *dev, uint32_t port, uint32_t mtu)
{
	int err;

	if (dev && port >= dev->n_ports && dpak__port_exists(dev, port))
		return dpak__err(EOPNOTSUPP, "port %u is a bond: set the MTU of "
				 "its members", port);
	if ((err = check_port(dev, port)))
		return err;
	if (!dev->ops->port_set_mtu)
		return dpak__err(EOPNOTSUPP, "backend %s: the MTU of its ports is "
				 "fixed", dev->ops->name);
	dpak__dev_recover_first(dev);
	err = dev->ops->port_set_mtu(dev->priv, port, mtu);
	dpak__flow_op_reset(dev, err);
	return err;
}
