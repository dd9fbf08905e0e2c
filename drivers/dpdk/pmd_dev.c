/* SPDX-License-Identifier: MIT */
/*
 * net_dpak: probe and remove, the libdpak device shared by the ethdevs of
 * one devspec, and the ethdev control operations (configure, queues, link,
 * MAC, MTU, counters).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_malloc.h>
#include <ethdev_vdev.h>
#include <bus_vdev_driver.h>

#include "pmd.h"

RTE_LOG_REGISTER_DEFAULT(pmd_logtype, NOTICE);

#ifndef PMD_CONFIGINFO_DEFAULT
#define PMD_CONFIGINFO_DEFAULT ""
#endif

/* The shared devices; probe and close run on the EAL's control thread,
 * but take the lock anyway (hot-plug may come from another thread). */
static LIST_HEAD(, pmd_shared) shared_list = LIST_HEAD_INITIALIZER(shared_list);
static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---- the shared libdpak device ---------------------------------------- */

/* The devspec as opened: hwsim gets engine=thread (its own thread runs the
 * pipeline, so the device forwards by itself), unless the user named an
 * engine; engine=step is refused (nothing would run the device). */
static int normalize_devspec(const char *name, const char *in, char *out, size_t cap)
{
	const char *spec = *in ? in : "hwsim:";
	int n;

	if (!strncmp(spec, "hwsim:", 6)) {
		const char *e = strstr(spec, "engine=");
		if (e && strncmp(e + 7, "thread", 6)) {
			PMD_LOG(ERR, "%s: devarg dev=%s: engine=%s would leave the device "
				"without an engine; net_dpak needs engine=thread (the default)",
				name, spec, e + 7);
			return -EINVAL;
		}
		if (!e)
			n = snprintf(out, cap, "%s%sengine=thread", spec,
				     spec[6] ? "," : "");
		else
			n = snprintf(out, cap, "%s", spec);
	} else {
		n = snprintf(out, cap, "%s", spec);
	}
	if (n < 0 || (size_t)n >= cap) {
		PMD_LOG(ERR, "%s: devarg dev=%s: too long", name, spec);
		return -EINVAL;
	}
	return 0;
}

static struct dpak_dev *open_dev(const char *name, const struct pmd_shared *sh,
				 uint32_t queues)
{
	/* Host queues of 512 packets, and a pool that fills them all with
	 * room for transmit: only the slow path comes this way, and
	 * applications that lock their memory (testpmd, OVS's --mlockall)
	 * make every buffer resident. */
	DPAK_OPTS(dpak_dev_opts, o, .queues = queues, .queue_size = PMD_QUEUE_SIZE,
		  .pool_size = queues * PMD_QUEUE_SIZE + 8192);
	struct dpak_dev *dev;

	if (sh->configinfo[0])
		o.configinfo = sh->configinfo;
	if (sh->ctl[0])
		o.ctl_path = sh->ctl;
	dev = dpak_dev_open(sh->devspec, &o);
	if (!dev)
		PMD_LOG(ERR, "%s: cannot open libdpak device dev=%s%s%s: %s (%s)", name,
			sh->devspec, sh->configinfo[0] ? " configinfo=" : "",
			sh->configinfo, dpak_strerror(errno), dpak_errmsg());
	return dev;
}

/* Find or open the device of a devspec; one more reference on success. */
static struct pmd_shared *shared_get(const char *name, const struct pmd_args *a,
				     int *err)
{
	struct pmd_shared *sh;
	char spec[sizeof(sh->devspec)];
	const char *ci;

	if ((*err = normalize_devspec(name, a->devspec, spec, sizeof(spec))))
		return NULL;
	ci = a->configinfo[0] ? a->configinfo : PMD_CONFIGINFO_DEFAULT;
	if (!a->configinfo[0] && ci[0] && access(ci, R_OK))
		ci = ""; /* not installed: libdpak's built-in default */

	LIST_FOREACH(sh, &shared_list, next) {
		if (strcmp(sh->devspec, spec))
			continue;
		if (a->configinfo[0] && strcmp(a->configinfo, sh->configinfo)) {
			PMD_LOG(ERR, "%s: devarg configinfo=%s: the device dev=%s is "
				"already open with configinfo=%s", name, a->configinfo,
				spec, sh->configinfo[0] ? sh->configinfo : "(built-in)");
			*err = -EINVAL;
			return NULL;
		}
		if (a->ctl[0] && strcmp(a->ctl, sh->ctl)) {
			PMD_LOG(ERR, "%s: devarg ctl=%s: the device dev=%s is already "
				"open with ctl=%s", name, a->ctl, spec,
				sh->ctl[0] ? sh->ctl : "(none)");
			*err = -EINVAL;
			return NULL;
		}
		if (a->queues && a->queues != sh->qpp) {
			PMD_LOG(ERR, "%s: devarg queues=%u: the device dev=%s is already "
				"open with %u queues per port", name, a->queues, spec, sh->qpp);
			*err = -EINVAL;
			return NULL;
		}
		sh->refcnt++;
		return sh;
	}

	/* another device's control socket would be taken over */
	if (a->ctl[0])
		LIST_FOREACH(sh, &shared_list, next)
			if (!strcmp(sh->ctl, a->ctl)) {
				PMD_LOG(ERR, "%s: bad devarg ctl=%s: the device dev=%s "
					"serves dpak-ctl there already; give each device "
					"its own socket", name, a->ctl, sh->devspec);
				*err = -EBUSY;
				return NULL;
			}
	if (!(sh = calloc(1, sizeof(*sh)))) {
		*err = -ENOMEM;
		return NULL;
	}
	snprintf(sh->devspec, sizeof(sh->devspec), "%s", spec);
	snprintf(sh->configinfo, sizeof(sh->configinfo), "%s", ci);
	snprintf(sh->ctl, sizeof(sh->ctl), "%s", a->ctl);
	pthread_mutex_init(&sh->lock, NULL);

	/* Open once to learn the number of ports, then with a range of host
	 * queues for each port: PMD threads never share a queue. */
	struct dpak_dev *probe = open_dev(name, sh, 1);
	struct dpak_dev_info di = { .sz = sizeof(di) };
	if (!probe || dpak_dev_info(probe, &di)) {
		dpak_dev_close(probe);
		*err = -EINVAL;
		goto fail;
	}
	dpak_dev_close(probe);
	sh->n_ports = di.n_ports;
	sh->n_tables = di.n_tables;
	if (!sh->n_ports || sh->n_ports > PMD_MAX_QUEUES) {
		PMD_LOG(ERR, "%s: dev=%s has %u ports; net_dpak takes 1-%d", name,
			spec, sh->n_ports, PMD_MAX_QUEUES);
		*err = -EINVAL;
		goto fail;
	}
	unsigned qpp = a->queues ? a->queues : PMD_DEF_QPP;
	if (qpp * sh->n_ports > PMD_MAX_QUEUES)
		qpp = PMD_MAX_QUEUES / sh->n_ports;
	if (a->queues && qpp != a->queues) {
		PMD_LOG(ERR, "%s: devarg queues=%u: %u ports x %u queues exceed "
			"libdpak's %d host queues", name, a->queues, sh->n_ports,
			a->queues, PMD_MAX_QUEUES);
		*err = -EINVAL;
		goto fail;
	}
	sh->qpp = (uint16_t)qpp;
	sh->n_queues = (uint16_t)(qpp * sh->n_ports);
	if (!(sh->dev = open_dev(name, sh, sh->n_queues))) {
		*err = -EINVAL;
		goto fail;
	}
	if (rte_eth_switch_domain_alloc(&sh->domain_id)) {
		PMD_LOG(ERR, "%s: no switch domain left", name);
		dpak_dev_close(sh->dev);
		*err = -ENOSPC;
		goto fail;
	}
	for (unsigned i = 0; i < RTE_DIM(sh->eth_of); i++)
		sh->eth_of[i] = RTE_MAX_ETHPORTS;
	sh->refcnt = 1;
	LIST_INSERT_HEAD(&shared_list, sh, next);
	PMD_LOG(INFO, "opened dev=%s (%u ports, %u host queues each)", sh->devspec,
		sh->n_ports, sh->qpp);
	/* Which tables: without the installed ovs.conf, Open vSwitch's
	 * megaflows find no table (libdpak's default has none keyed on
	 * eth_src), so say so loudly. */
	if (sh->configinfo[0])
		PMD_LOG(NOTICE, "dev=%s: configinfo %s%s", sh->devspec, sh->configinfo,
			a->configinfo[0] ? "" : " (the installed default)");
	else if (PMD_CONFIGINFO_DEFAULT[0])
		PMD_LOG(WARNING, "dev=%s: configinfo: libdpak's built-in default, because "
			"%s is not there; its tables do not hold Open vSwitch's megaflows "
			"(each is refused: \"no table matches eth_src\"). Install libdpak, "
			"or pass configinfo=<path of configinfo/ovs.conf>", sh->devspec,
			PMD_CONFIGINFO_DEFAULT);
	else
		PMD_LOG(NOTICE, "dev=%s: configinfo: libdpak's built-in default",
			sh->devspec);
	return sh;
fail:
	pthread_mutex_destroy(&sh->lock);
	free(sh);
	return NULL;
}

static void shared_put(struct pmd_shared *sh)
{
	if (--sh->refcnt)
		return;
	LIST_REMOVE(sh, next);
	dpak_dev_close(sh->dev);
	rte_eth_switch_domain_free(sh->domain_id);
	pthread_mutex_destroy(&sh->lock);
	free(sh);
}

/* ---- ethdev operations ------------------------------------------------- */

static void set_rx_queues(struct pmd_priv *p, uint16_t n)
{
	int err = dpak_port_set_rx_queues(p->dev, p->port, p->first_q, n ? n : p->qpp);
	if (err)
		PMD_LOG(WARNING, "port %u: dpak_port_set_rx_queues: %s (%s)", p->port_id,
			dpak_strerror(err), dpak_errmsg());
}

static int pmd_configure(struct rte_eth_dev *eth)
{
	struct pmd_priv *p = eth->data->dev_private;

	/* Table misses and other slow-path packets of this port go to the
	 * host queues behind the ethdev's configured receive queues. */
	set_rx_queues(p, eth->data->nb_rx_queues);
	return 0;
}

static int pmd_link_update(struct rte_eth_dev *eth, int wait __rte_unused)
{
	struct pmd_priv *p = eth->data->dev_private;
	struct dpak_port_info pi = { .sz = sizeof(pi) };
	struct rte_eth_link link = {
		.link_speed = RTE_ETH_SPEED_NUM_100G,
		.link_duplex = RTE_ETH_LINK_FULL_DUPLEX,
		.link_autoneg = RTE_ETH_LINK_FIXED,
	};

	if (!p->sh)
		return -EIO;
	if (!dpak_port_info(p->dev, p->port, &pi))
		link.link_status = pi.link_up && p->started ? RTE_ETH_LINK_UP
							    : RTE_ETH_LINK_DOWN;
	if (!link.link_status)
		link.link_speed = RTE_ETH_SPEED_NUM_NONE;
	return rte_eth_linkstatus_set(eth, &link);
}

static int pmd_start(struct rte_eth_dev *eth)
{
	struct pmd_priv *p = eth->data->dev_private;

	p->started = true;
	for (uint16_t i = 0; i < eth->data->nb_rx_queues; i++)
		eth->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
	for (uint16_t i = 0; i < eth->data->nb_tx_queues; i++)
		eth->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STARTED;
	pmd_link_update(eth, 0);
	return 0;
}

static int pmd_stop(struct rte_eth_dev *eth)
{
	struct pmd_priv *p = eth->data->dev_private;

	p->started = false;
	for (uint16_t i = 0; i < eth->data->nb_rx_queues; i++)
		eth->data->rx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	for (uint16_t i = 0; i < eth->data->nb_tx_queues; i++)
		eth->data->tx_queue_state[i] = RTE_ETH_QUEUE_STATE_STOPPED;
	pmd_link_update(eth, 0);
	return 0;
}

static int pmd_close(struct rte_eth_dev *eth)
{
	struct pmd_priv *p = eth->data->dev_private;
	struct pmd_shared *sh;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY || !p || !(sh = p->sh))
		return 0;
	pmd_flow_flush_all(eth);
	set_rx_queues(p, 0);
	pthread_mutex_lock(&shared_lock);
	sh->eth_of[p->port] = RTE_MAX_ETHPORTS;
	p->sh = NULL;
	p->dev = NULL;
	shared_put(sh);
	pthread_mutex_unlock(&shared_lock);
	return 0;
}

static int pmd_infos_get(struct rte_eth_dev *eth, struct rte_eth_dev_info *info)
{
	struct pmd_priv *p = eth->data->dev_private;
	struct dpak_port_info pi = { .sz = sizeof(pi) };

	if (!p->sh)
		return -EIO;
	info->max_mac_addrs = 1;
	info->max_rx_pktlen = 9224;
	info->max_rx_queues = p->qpp;
	info->max_tx_queues = p->qpp;
	info->min_rx_bufsize = 0;
	info->tx_offload_capa = RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	info->tx_queue_offload_capa = 0;
	info->rx_offload_capa = RTE_ETH_RX_OFFLOAD_SCATTER;
	info->flow_type_rss_offloads = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP |
				       RTE_ETH_RSS_UDP | RTE_ETH_RSS_SCTP;
	info->speed_capa = RTE_ETH_LINK_SPEED_100G;
	/* rules stay in the device across stop and start */
	info->dev_capa = RTE_ETH_DEV_CAPA_FLOW_RULE_KEEP;
	if (!dpak_port_info(p->dev, p->port, &pi)) {
		info->min_mtu = pi.min_mtu ? pi.min_mtu : pi.mtu;
		info->max_mtu = pi.max_mtu ? pi.max_mtu : pi.mtu;
		if (p->sh->iface_max_mtu[p->port] &&
		    info->max_mtu > p->sh->iface_max_mtu[p->port])
			info->max_mtu = p->sh->iface_max_mtu[p->port];
		info->max_rx_pktlen = info->max_mtu + RTE_ETHER_HDR_LEN + 8;
	}
	info->switch_info.name = p->sh->devspec;
	info->switch_info.domain_id = p->sh->domain_id;
	info->switch_info.port_id = (uint16_t)p->port;
	info->default_rxportconf.burst_size = PMD_BURST;
	info->default_txportconf.burst_size = PMD_BURST;
	info->default_rxportconf.ring_size = 1024;
	info->default_txportconf.ring_size = 1024;
	info->rx_desc_lim.nb_max = 65535;
	info->tx_desc_lim.nb_max = 65535;
	return 0;
}

static int pmd_rx_queue_setup(struct rte_eth_dev *eth, uint16_t qid,
			      uint16_t nb_desc __rte_unused, unsigned int socket,
			      const struct rte_eth_rxconf *conf __rte_unused,
			      struct rte_mempool *mp)
{
	struct pmd_priv *p = eth->data->dev_private;
	struct pmd_rxq *q;

	if (qid >= p->qpp)
		return -EINVAL;
	rte_free(eth->data->rx_queues[qid]);
	eth->data->rx_queues[qid] = NULL;
	if (!(q = rte_zmalloc_socket("net_dpak_rxq", sizeof(*q), RTE_CACHE_LINE_SIZE, (int)socket)))
		return -ENOMEM;
	q->priv = p;
	q->mp = mp;
	q->hostq = (uint16_t)(p->first_q + qid);
	q->port_id = eth->data->port_id;
	eth->data->rx_queues[qid] = q;
	return 0;
}

static int pmd_tx_queue_setup(struct rte_eth_dev *eth, uint16_t qid,
			      uint16_t nb_desc __rte_unused, unsigned int socket,
			      const struct rte_eth_txconf *conf __rte_unused)
{
	struct pmd_priv *p = eth->data->dev_private;
	struct pmd_txq *q;

	if (qid >= p->qpp)
		return -EINVAL;
	rte_free(eth->data->tx_queues[qid]);
	eth->data->tx_queues[qid] = NULL;
	if (!(q = rte_zmalloc_socket("net_dpak_txq", sizeof(*q), RTE_CACHE_LINE_SIZE, (int)socket)))
		return -ENOMEM;
	q->priv = p;
	q->hostq = (uint16_t)(p->first_q + qid);
	eth->data->tx_queues[qid] = q;
	return 0;
}

static void pmd_rx_queue_release(struct rte_eth_dev *eth, uint16_t qid)
{
	rte_free(eth->data->rx_queues[qid]);
	eth->data->rx_queues[qid] = NULL;
}

static void pmd_tx_queue_release(struct rte_eth_dev *eth, uint16_t qid)
{
	rte_free(eth->data->tx_queues[qid]);
	eth->data->tx_queues[qid] = NULL;
}

static int pmd_mac_addr_set(struct rte_eth_dev *eth, struct rte_ether_addr *mac)
{
	struct pmd_priv *p = eth->data->dev_private;

	if (rte_is_same_ether_addr(mac, &p->mac))
		return 0;
	/* libdpak gives each port its MAC and has no call to change it. */
	PMD_LOG(NOTICE, "port %u: the MAC address of libdpak port %u is fixed",
		p->port_id, p->port);
	return -ENOTSUP;
}

static int pmd_mtu_set(struct rte_eth_dev *eth, uint16_t mtu)
{
	struct pmd_priv *p = eth->data->dev_private;
	int err;

	if (!p->sh)
		return -EIO;
	if (p->sh->iface_max_mtu[p->port] && mtu > p->sh->iface_max_mtu[p->port]) {
		PMD_LOG(ERR, "port %u: MTU %u: the attachment to %s carries an MTU of "
			"at most %u (its MTU when the port was attached); set %s's MTU "
			"before the port is probed", p->port_id, mtu,
			p->sh->iface[p->port], p->sh->iface_max_mtu[p->port],
			p->sh->iface[p->port]);
		return -EINVAL;
	}
	if ((err = dpak_port_set_mtu(p->dev, p->port, mtu)))
		PMD_LOG(ERR, "port %u: MTU %u: %s", p->port_id, mtu, dpak_errmsg());
	return err;
}

static int pmd_noop(struct rte_eth_dev *eth __rte_unused)
{
	return 0; /* a switch port sees every frame the switch sends it */
}

/* Counters: the port's own (what the device received on it and sent out of
 * it, offloaded traffic included), minus the baseline of the last reset. */
static int read_stats(struct pmd_priv *p, struct dpak_port_stats *ps,
		      uint64_t *qdrops, uint64_t *qrx)
{
	int err;

	memset(ps, 0, sizeof(*ps));
	ps->sz = sizeof(*ps);
	if ((err = dpak_port_stats(p->dev, p->port, ps)))
		return err;
	for (uint16_t i = 0; i < p->qpp; i++) {
		struct dpak_queue_stats qs = { .sz = sizeof(qs) };
		if (!dpak_queue_stats(p->dev, (uint16_t)(p->first_q + i), &qs)) {
			qdrops[i] = qs.rx_drops;
			qrx[i] = qs.rx_packets;
		} else {
			qdrops[i] = qrx[i] = 0;
		}
	}
	return 0;
}

static int pmd_stats_get(struct rte_eth_dev *eth, struct rte_eth_stats *st)
{
	struct pmd_priv *p = eth->data->dev_private;
	uint64_t qd[PMD_MAX_QPP], qr[PMD_MAX_QPP];
	struct dpak_port_stats ps;
	int err;

	if (!p->sh)
		return -EIO;
	if ((err = read_stats(p, &ps, qd, qr)))
		return err;
	st->ipackets = ps.rx_packets - p->base.rx_packets;
	st->ibytes = ps.rx_bytes - p->base.rx_bytes;
	st->opackets = ps.tx_packets - p->base.tx_packets;
	st->obytes = ps.tx_bytes - p->base.tx_bytes;
	st->oerrors = ps.drops_mtu - p->base.drops_mtu;
	st->imissed = 0;
	for (uint16_t i = 0; i < p->qpp; i++)
		st->imissed += qd[i] - p->base_qdrops[i];
	for (uint16_t i = 0; i < eth->data->nb_rx_queues && i < RTE_ETHDEV_QUEUE_STAT_CNTRS; i++) {
		struct pmd_rxq *q = eth->data->rx_queues[i];
		if (!q)
			continue;
		st->q_ipackets[i] = q->packets - q->base_packets;
		st->q_ibytes[i] = q->bytes - q->base_bytes;
		st->q_errors[i] = q->errors - q->base_errors;
		st->rx_nombuf += q->nombuf - q->base_nombuf;
	}
	for (uint16_t i = 0; i < eth->data->nb_tx_queues && i < RTE_ETHDEV_QUEUE_STAT_CNTRS; i++) {
		struct pmd_txq *q = eth->data->tx_queues[i];
		if (!q)
			continue;
		st->q_opackets[i] = q->packets - q->base_packets;
		st->q_obytes[i] = q->bytes - q->base_bytes;
		st->oerrors += q->errors - q->base_errors; /* frames no buffer holds */
	}
	return 0;
}

static int pmd_stats_reset(struct rte_eth_dev *eth)
{
	struct pmd_priv *p = eth->data->dev_private;
	uint64_t qr[PMD_MAX_QPP];
	int err;

	if (!p->sh)
		return -EIO;
	if ((err = read_stats(p, &p->base, p->base_qdrops, qr)))
		return err;
	for (uint16_t i = 0; i < eth->data->nb_rx_queues; i++) {
		struct pmd_rxq *q = eth->data->rx_queues[i];
		if (q) { /* the queue's thread keeps counting */
			q->base_packets = q->packets;
			q->base_bytes = q->bytes;
			q->base_nombuf = q->nombuf;
			q->base_errors = q->errors;
		}
	}
	for (uint16_t i = 0; i < eth->data->nb_tx_queues; i++) {
		struct pmd_txq *q = eth->data->tx_queues[i];
		if (q) {
			q->base_packets = q->packets;
			q->base_bytes = q->bytes;
			q->base_errors = q->errors;
		}
	}
	return 0;
}

/* Extended counters: every port counter libdpak keeps, and the host
 * queues of this port's range. */
static const struct {
	const char *name;
	size_t off;
} xport[] = {
	{ "rx_packets", offsetof(struct dpak_port_stats, rx_packets) },
	{ "rx_bytes", offsetof(struct dpak_port_stats, rx_bytes) },
	{ "tx_packets", offsetof(struct dpak_port_stats, tx_packets) },
	{ "tx_bytes", offsetof(struct dpak_port_stats, tx_bytes) },
	{ "rx_misses", offsetof(struct dpak_port_stats, rx_misses) },
	{ "drops", offsetof(struct dpak_port_stats, drops) },
	{ "drops_action", offsetof(struct dpak_port_stats, drops_action) },
	{ "drops_mtu", offsetof(struct dpak_port_stats, drops_mtu) },
	{ "drops_bond_rx", offsetof(struct dpak_port_stats, drops_bond_rx) },
};
#define N_XQ 2 /* per host queue: packets delivered, drops */

static int pmd_xstats_names(struct rte_eth_dev *eth, struct rte_eth_xstat_name *names,
			    unsigned int size)
{
	struct pmd_priv *p = eth->data->dev_private;
	unsigned n = RTE_DIM(xport) + N_XQ * p->qpp;

	if (!names || size < n)
		return (int)n;
	for (unsigned i = 0; i < RTE_DIM(xport); i++)
		snprintf(names[i].name, sizeof(names[i].name), "%s", xport[i].name);
	for (unsigned q = 0; q < p->qpp; q++) {
		snprintf(names[RTE_DIM(xport) + N_XQ * q].name, sizeof(names[0].name),
			 "host_rx_q%u_packets", q);
		snprintf(names[RTE_DIM(xport) + N_XQ * q + 1].name, sizeof(names[0].name),
			 "host_rx_q%u_drops", q);
	}
	return (int)n;
}

static int pmd_xstats_get(struct rte_eth_dev *eth, struct rte_eth_xstat *xs, unsigned int n)
{
	struct pmd_priv *p = eth->data->dev_private;
	unsigned want = RTE_DIM(xport) + N_XQ * p->qpp;
	uint64_t qd[PMD_MAX_QPP], qr[PMD_MAX_QPP];
	struct dpak_port_stats ps;
	int err;

	if (!xs || n < want)
		return (int)want;
	if (!p->sh)
		return -EIO;
	if ((err = read_stats(p, &ps, qd, qr)))
		return err;
	for (unsigned i = 0; i < RTE_DIM(xport); i++) {
		uint64_t v = *(const uint64_t *)((const char *)&ps + xport[i].off);
		uint64_t b = *(const uint64_t *)((const char *)&p->base + xport[i].off);
		xs[i].id = i;
		xs[i].value = v - b;
	}
	for (unsigned q = 0; q < p->qpp; q++) {
		unsigned i = RTE_DIM(xport) + N_XQ * q;
		xs[i] = (struct rte_eth_xstat){ .id = i, .value = qr[q] };
		xs[i + 1] = (struct rte_eth_xstat){ .id = i + 1,
						     .value = qd[q] - p->base_qdrops[q] };
	}
	return (int)want;
}

static int pmd_flow_ops_get(struct rte_eth_dev *eth __rte_unused,
			    const struct rte_flow_ops **ops)
{
	*ops = &pmd_flow_ops;
	return 0;
}

static const struct eth_dev_ops pmd_ops = {
	.dev_configure = pmd_configure,
	.dev_start = pmd_start,
	.dev_stop = pmd_stop,
	.dev_close = pmd_close,
	.dev_infos_get = pmd_infos_get,
	.link_update = pmd_link_update,
	.rx_queue_setup = pmd_rx_queue_setup,
	.tx_queue_setup = pmd_tx_queue_setup,
	.rx_queue_release = pmd_rx_queue_release,
	.tx_queue_release = pmd_tx_queue_release,
	.mac_addr_set = pmd_mac_addr_set,
	.mtu_set = pmd_mtu_set,
	.promiscuous_enable = pmd_noop,
	.promiscuous_disable = pmd_noop,
	.allmulticast_enable = pmd_noop,
	.allmulticast_disable = pmd_noop,
	.stats_get = pmd_stats_get,
	.stats_reset = pmd_stats_reset,
	.xstats_get = pmd_xstats_get,
	.xstats_get_names = pmd_xstats_names,
	.xstats_reset = pmd_stats_reset,
	.flow_ops_get = pmd_flow_ops_get,
};

/* ---- probe and remove -------------------------------------------------- */

/* Which libdpak port: port=NAME or port=N, else the N of net_dpakN. */
static int resolve_port(const char *name, const struct pmd_args *a,
			struct pmd_shared *sh, uint32_t *port)
{
	char *end;

	if (a->port[0]) {
		unsigned long v = strtoul(a->port, &end, 10);
		if (isdigit((unsigned char)a->port[0]) && !*end) {
			if (v >= sh->n_ports) {
				PMD_LOG(ERR, "%s: bad devarg port=%s: dev=%s has ports 0-%u",
					name, a->port, sh->devspec, sh->n_ports - 1);
				return -EINVAL;
			}
			*port = (uint32_t)v;
			return 0;
		}
		int id = dpak_port_by_name(sh->dev, a->port);
		if (id < 0 || (uint32_t)id >= sh->n_ports) {
			PMD_LOG(ERR, "%s: bad devarg port=%s: no such port in dev=%s", name,
				a->port, sh->devspec);
			return -EINVAL;
		}
		*port = (uint32_t)id;
		return 0;
	}
	const char *d = name + strlen(name);
	while (d > name && isdigit((unsigned char)d[-1]))
		d--;
	if (!*d) {
		PMD_LOG(ERR, "%s: no devarg port= and no port number at the end of the "
			"name (net_dpak<N>): give port=<name|number>", name);
		return -EINVAL;
	}
	unsigned long v = strtoul(d, NULL, 10);
	if (v >= sh->n_ports) {
		PMD_LOG(ERR, "%s: no devarg port= and dev=%s has no port %lu (ports 0-%u)",
			name, sh->devspec, v, sh->n_ports - 1);
		return -EINVAL;
	}
	*port = (uint32_t)v;
	return 0;
}

static int pmd_probe(struct rte_vdev_device *vdev)
{
	const char *name = rte_vdev_device_name(vdev);
	struct dpak_port_info pi = { .sz = sizeof(pi) };
	struct rte_eth_dev *eth = NULL;
	struct pmd_shared *sh;
	struct pmd_priv *p;
	struct pmd_args a;
	uint32_t port = 0;
	bool attached = false;
	int err;

	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		PMD_LOG(ERR, "%s: secondary processes are not supported", name);
		return -ENOTSUP;
	}
	if ((err = pmd_args_parse(name, rte_vdev_device_args(vdev), &a)))
		return err;

	pthread_mutex_lock(&shared_lock);
	if (!(sh = shared_get(name, &a, &err)))
		goto out;
	if ((err = resolve_port(name, &a, sh, &port)))
		goto put;
	if (sh->eth_of[port] != RTE_MAX_ETHPORTS) {
		PMD_LOG(ERR, "%s: bad devarg port=%s: port %u of dev=%s is already "
			"ethdev %u", name, a.port[0] ? a.port : "(default)", port,
			sh->devspec, sh->eth_of[port]);
		err = -EBUSY;
		goto put;
	}
	if (a.iface[0] && strcmp(sh->iface[port], a.iface)) {
		/* an attachment lasts as long as the device: an ethdev
		 * closed and probed again finds its interface attached */
		if (sh->iface[port][0]) {
			PMD_LOG(ERR, "%s: bad devarg iface=%s: port %u of dev=%s is "
				"attached to %s", name, a.iface, port, sh->devspec,
				sh->iface[port]);
			err = -EBUSY;
			goto put;
		}
		/* an interface carries one port's traffic: two ports on it
		 * would each take every frame it receives */
		struct pmd_shared *o;
		LIST_FOREACH(o, &shared_list, next)
			for (uint32_t q = 0; q < o->n_ports; q++)
				if (!strcmp(o->iface[q], a.iface)) {
					PMD_LOG(ERR, "%s: bad devarg iface=%s: %s is attached "
						"to port %u of dev=%s already (ethdev %s); an "
						"interface is attached to one port", name, a.iface,
						a.iface, q, o->devspec,
						o->eth_of[q] == RTE_MAX_ETHPORTS ? "closed"
						: rte_eth_devices[o->eth_of[q]].data->name);
					err = -EBUSY;
					goto put;
				}
		if ((err = dpak_hwsim_attach(sh->dev, port, a.iface))) {
			PMD_LOG(ERR, "%s: bad devarg iface=%s: %s (%s)", name, a.iface,
				dpak_strerror(err), dpak_errmsg());
			goto put;
		}
		snprintf(sh->iface[port], sizeof(sh->iface[port]), "%s", a.iface);
		attached = true;
	}
	if ((err = dpak_port_info(sh->dev, port, &pi))) {
		PMD_LOG(ERR, "%s: port %u: %s", name, port, dpak_errmsg());
		goto put;
	}
	if (attached) {
		/* the port took the interface's MTU: what its ring frames carry */
		uint16_t max = pi.max_mtu ? pi.max_mtu : pi.mtu;
		if (pi.mtu <= PMD_HWSIM_STD_MTU && max > PMD_HWSIM_STD_MTU)
			max = PMD_HWSIM_STD_MTU;
		sh->iface_max_mtu[port] = max;
		if (max < (pi.max_mtu ? pi.max_mtu : pi.mtu))
			PMD_LOG(NOTICE, "%s: %s has MTU %u: port %u takes an MTU of at most "
				"%u (for jumbo frames, set %s's MTU before the port is "
				"probed)", name, a.iface, pi.mtu, port, max, a.iface);
	}
	if (!(eth = rte_eth_vdev_allocate(vdev, sizeof(*p)))) {
		err = -ENOMEM;
		goto put;
	}
	p = eth->data->dev_private;
	p->sh = sh;
	p->dev = sh->dev;
	p->port = port;
	p->port_id = eth->data->port_id;
	p->qpp = sh->qpp;
	p->first_q = (uint16_t)(port * sh->qpp);
	TAILQ_INIT(&p->flows);
	memcpy(p->mac.addr_bytes, pi.mac, RTE_ETHER_ADDR_LEN);
	if (!(eth->data->mac_addrs = rte_zmalloc(name, RTE_ETHER_ADDR_LEN, 0))) {
		rte_eth_dev_release_port(eth);
		err = -ENOMEM;
		goto put;
	}
	rte_ether_addr_copy(&p->mac, eth->data->mac_addrs);
	eth->data->mtu = pi.mtu;
	eth->data->dev_flags |= RTE_ETH_DEV_AUTOFILL_QUEUE_XSTATS;
	eth->dev_ops = &pmd_ops;
	eth->rx_pkt_burst = pmd_rx_burst;
	eth->tx_pkt_burst = pmd_tx_burst;
	sh->eth_of[port] = eth->data->port_id;
	set_rx_queues(p, 0);
	pthread_mutex_unlock(&shared_lock);
	rte_eth_dev_probing_finish(eth);
	PMD_LOG(INFO, "%s: ethdev %u is port %u (%s) of dev=%s%s%s", name,
		eth->data->port_id, port, pi.name, sh->devspec,
		a.iface[0] ? ", attached to " : "", a.iface);
	return 0;
put:
	shared_put(sh);
out:
	pthread_mutex_unlock(&shared_lock);
	return err;
}

static int pmd_remove(struct rte_vdev_device *vdev)
{
	struct rte_eth_dev *eth = rte_eth_dev_allocated(rte_vdev_device_name(vdev));

	if (!eth)
		return 0;
	pmd_close(eth);
	return rte_eth_dev_release_port(eth);
}

static struct rte_vdev_driver pmd_vdev_drv = {
	.probe = pmd_probe,
	.remove = pmd_remove,
};

RTE_PMD_REGISTER_VDEV(net_dpak, pmd_vdev_drv);
RTE_PMD_REGISTER_PARAM_STRING(net_dpak,
	"dev=<libdpak devspec> port=<name|number> iface=<ifname> "
	"configinfo=<file> ctl=<socket path> queues=<1-16>");
