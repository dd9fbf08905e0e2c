/* SPDX-License-Identifier: MIT */
/*
 * net_dpak data path: each ethdev queue is one libdpak host queue of the
 * port's range, served by one thread; no lock, no allocation but mbufs from
 * the application's mempool and libdpak's packet buffers.
 *
 * Receive copies the frame into an mbuf of the queue's mempool: a libdpak
 * packet buffer has no headroom the driver may hand out (applications such
 * as Open vSwitch push VLAN tags and tunnel headers into
 * RTE_PKTMBUF_HEADROOM and cannot grow a DPDK mbuf), and the device's
 * buffer pool, sized when it was opened, must not be drained by packets an
 * application keeps. Only slow-path packets (table misses, partial offload)
 * take this path. Transmit copies each mbuf (every segment) into a libdpak
 * buffer, which is the only memory the device sends from.
 */
#include <errno.h>
#include <string.h>

#include "pmd.h"

uint16_t pmd_rx_burst(void *queue, struct rte_mbuf **bufs, uint16_t n)
{
	struct pmd_rxq *q = queue;
	struct dpak_dev *dev = q->priv->dev;
	struct dpak_pkt *pkts[PMD_BURST];
	uint16_t done = 0;

	while (done < n) {
		uint16_t want = RTE_MIN((uint16_t)(n - done), (uint16_t)PMD_BURST);
		struct rte_mbuf *m[PMD_BURST];
		int got = dpak_rx_burst(dev, q->hostq, pkts, want);
		uint16_t i;

		if (got <= 0)
			break;
		if (rte_pktmbuf_alloc_bulk(q->mp, m, (unsigned)got)) {
			q->nombuf += (uint64_t)got;
			for (int k = 0; k < got; k++)
				dpak_pkt_free(dev, pkts[k]);
			break;
		}
		for (i = 0; i < got; i++) {
			struct dpak_pkt *pk = pkts[i];
			struct rte_mbuf *mb = m[i];
			uint32_t len = pk->len, off = 0;
			struct rte_mbuf *seg = mb, *prev = NULL;
			int ok = 1;

			/* Frames longer than one mbuf's room take a chain. */
			while (off < len) {
				uint16_t room = rte_pktmbuf_tailroom(seg);
				uint32_t c = RTE_MIN(room, len - off);
				if (!c) {
					ok = 0;
					break;
				}
				memcpy(rte_pktmbuf_mtod_offset(seg, uint8_t *, seg->data_len),
				       pk->data + off, c);
				seg->data_len = (uint16_t)(seg->data_len + c);
				off += c;
				if (off < len) {
					struct rte_mbuf *nx = rte_pktmbuf_alloc(q->mp);
					if (!nx) {
						q->nombuf++;
						ok = 0;
						break;
					}
					prev = seg;
					seg = nx;
					prev->next = seg;
					mb->nb_segs++;
				}
			}
			mb->pkt_len = off;
			mb->port = q->port_id;
			mb->hash.rss = pk->hash;
			mb->ol_flags = RTE_MBUF_F_RX_RSS_HASH;
			if (pk->mark) {
				mb->hash.fdir.hi = pk->mark;
				mb->ol_flags |= RTE_MBUF_F_RX_FDIR | RTE_MBUF_F_RX_FDIR_ID;
			}
			dpak_pkt_free(dev, pk);
			if (!ok) {
				q->errors++;
				rte_pktmbuf_free(mb);
				continue;
			}
			q->bytes += off;
			bufs[done++] = mb;
		}
		if (got < want)
			break;
	}
	if (done)
		q->packets += done;
	return done;
}

uint16_t pmd_tx_burst(void *queue, struct rte_mbuf **bufs, uint16_t n)
{
	struct pmd_txq *q = queue;
	struct pmd_priv *p = q->priv;
	struct dpak_dev *dev = p->dev;
	struct dpak_pkt *pkts[PMD_BURST];
	uint16_t done = 0;

	while (done < n) {
		uint16_t want = RTE_MIN((uint16_t)(n - done), (uint16_t)PMD_BURST);
		uint16_t built = 0, i;
		uint64_t bytes = 0;

		for (i = 0; i < want; i++) {
			struct rte_mbuf *mb = bufs[done + i];
			struct dpak_pkt *pk;

			if (mb->pkt_len < RTE_ETHER_HDR_LEN ||
			    !(pk = dpak_pkt_alloc(dev)))
				break;
			if (mb->pkt_len > pk->buf_len) {
				dpak_pkt_free(dev, pk);
				break;
			}
			uint32_t off = 0;
			for (struct rte_mbuf *s = mb; s; s = s->next) {
				memcpy(pk->data + off, rte_pktmbuf_mtod(s, const uint8_t *),
				       s->data_len);
				off += s->data_len;
			}
			pk->len = off;
			pk->port = p->port;
			pk->tx_flags = DPAK_TX_PORT;
			pkts[built++] = pk;
			bytes += off;
		}
		int sent = built ? dpak_tx_burst(dev, q->hostq, pkts, built) : 0;
		if (sent < 0)
			sent = 0;
		for (int k = sent; k < built; k++) {
			bytes -= pkts[k]->len;
			dpak_pkt_free(dev, pkts[k]);
		}
		rte_pktmbuf_free_bulk(&bufs[done], (unsigned)sent);
		done = (uint16_t)(done + sent);
		q->packets += (uint64_t)sent;
		q->bytes += bytes;
		if (sent < want) {
			/* A frame the device cannot take (too short or too long
			 * for a buffer) is dropped and counted, not retried. */
			if (sent == built && built < want) {
				struct rte_mbuf *bad = bufs[done];
				if (bad->pkt_len < RTE_ETHER_HDR_LEN ||
				    bad->pkt_len > 9224) {
					q->errors++;
					rte_pktmbuf_free(bad);
					done++;
					continue;
				}
			}
			break;
		}
	}
	return done;
}
