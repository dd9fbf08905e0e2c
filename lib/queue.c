/* SPDX-License-Identifier: MIT */
/* <dpak/queue.h>: host queues, dispatched to the backend. These are data
 * path calls: argument checks are cheap and nothing else happens here. */
#include <errno.h>
#include "core.h"

DPAK_API int dpak_rx_burst(struct dpak_dev *dev, uint16_t queue,
			   struct dpak_pkt **pkts, uint16_t n)
{
	if (__builtin_expect(!dev || !pkts || queue >= dev->n_rx_queues, 0))
		return dpak__err(EINVAL, "rx_burst: %s", !dev || !pkts ?
				 "dev or pkts NULL" : "no such receive queue");
	if (!dev->ops->rx_burst)
		return dpak__err(EOPNOTSUPP, "backend %s has no host queues",
				 dev->ops->name);
	int got = dev->ops->rx_burst(dev->priv, queue, pkts, n);
	/* dpak-ctl capture: a copy into a bounded ring (capture.c), no I/O. */
	if (__builtin_expect(__atomic_load_n(&dev->cap.active, __ATOMIC_RELAXED), 0) &&
	    got > 0)
		dpak__capture_pkts(dev, pkts, got);
	return got;
}

DPAK_API int dpak_tx_burst(struct dpak_dev *dev, uint16_t queue,
			   struct dpak_pkt **pkts, uint16_t n)
{
	if (__builtin_expect(!dev || !pkts || queue >= dev->n_rx_queues, 0))
		return dpak__err(EINVAL, "tx_burst: %s", !dev || !pkts ?
				 "dev or pkts NULL" : "no such transmit queue");
	if (!dev->ops->tx_burst)
		return dpak__err(EOPNOTSUPP, "backend %s has no host queues",
				 dev->ops->name);
	return dev->ops->tx_burst(dev->priv, queue, pkts, n);
}

DPAK_API struct dpak_pkt *dpak_pkt_alloc(struct dpak_dev *dev)
{
	struct dpak_pkt *p;

	if (!dev) {
		errno = -dpak__err(EINVAL, "dev: NULL");
		return NULL;
	}
	if (!dev->ops->pkt_alloc) {
		errno = -dpak__err(EOPNOTSUPP, "backend %s has no host queues",
				   dev->ops->name);
		return NULL;
	}
	p = dev->ops->pkt_alloc(dev->priv);
	if (!p)
		errno = -dpak__err(ENOBUFS, "the packet pool is empty");
	return p;
}

DPAK_API void dpak_pkt_free(struct dpak_dev *dev, struct dpak_pkt *pkt)
{
	if (dev && pkt && dev->ops->pkt_free)
		dev->ops->pkt_free(dev->priv, pkt);
}

DPAK_API int dpak_queue_stats(struct dpak_dev *dev, uint16_t queue,
			      struct dpak_queue_stats *st)
{
	struct dpak_queue_stats s = { 0 };
	int err;

	if (!dev)
		return dpak__err(EINVAL, "dev: NULL");
	if (queue >= dev->n_rx_queues)
		return dpak__err(EINVAL, "queue %u does not exist (device has %u)",
				 queue, dev->n_rx_queues);
	if (!dev->ops->queue_stats)
		return dpak__err(EOPNOTSUPP, "backend %s has no host queues",
				 dev->ops->name);
	dpak__dev_recover_first(dev);
	if ((err = dev->ops->queue_stats(dev->priv, queue, &s))) {
		dpak__flow_op_reset(dev, err);
		return err;
	}
	return dpak__out(st, &s, sizeof(s), "dpak_queue_stats");
}

DPAK_API int dpak_port_set_rx_queues(struct dpak_dev *dev, uint32_t port,
				     uint16_t first, uint16_t n)
{
	if (!dev)
		return dpak__err(EINVAL, "dev: NULL");
	if (port >= dev->n_ports)
		return dpak__err(EINVAL, "port %u does not exist (device has %u "
				 "ports; bonds: set their members)", port,
				 dev->n_ports);
	if ((uint32_t)first + n > dev->n_rx_queues) {
		if (!n)
			return dpak__err(EINVAL, "first %u: beyond the device's %u "
					 "receive queues", first, dev->n_rx_queues);
		return dpak__err(EINVAL, "queues %u..%u: beyond the device's %u "
				 "receive queues", first, first + n - 1u,
				 dev->n_rx_queues);
	}
	if (!dev->ops->port_set_rx_queues)
		return dpak__err(EOPNOTSUPP, "backend %s has no host queues",
				 dev->ops->name);
	dpak__dev_recover_first(dev);
	int err = dev->ops->port_set_rx_queues(dev->priv, port, first, n);
	dpak__flow_op_reset(dev, err);
	return err;
}
