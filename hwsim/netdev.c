/* SPDX-License-Identifier: MIT */
/*
 * hwsim ports attached to Linux interfaces through AF_PACKET with TPACKET_V2
 * receive and transmit rings: receiving is reading the shared ring (no
 * system call per packet); sending fills the transmit ring and kicks it
 * with one send() per burst. The engine thread does both.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include "dev.h"

#define FRAME_SIZE 4096
#define BLOCK_SIZE (FRAME_SIZE * 16)
#define BLOCKS 16
#define FRAMES (BLOCK_SIZE / FRAME_SIZE * BLOCKS)

struct hw_netdev {
	int fd;
	uint8_t *map;
	size_t map_len;
	uint8_t *rx, *tx;
	uint32_t rx_i, tx_i;
	int warned_big;
	char name[IFNAMSIZ];
};

static int set_up_promisc(int fd, const char *ifname, int ifindex)
{
	struct ifreq ifr;
	struct packet_mreq mr = { .mr_ifindex = ifindex, .mr_type = PACKET_MR_PROMISC };

	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	if (!(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
			return -errno;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0)
		return -errno;
	return 0;
}

int hw_port_attach(struct hw_dev *dev, uint32_t port, const char *ifname)
{
	struct tpacket_req req = { BLOCK_SIZE, BLOCKS, FRAME_SIZE, FRAMES };
	struct sockaddr_ll sll = { 0 };
	int v = TPACKET_V2, one = 1, err, ifindex;
	struct hw_netdev *nd;
	struct hw_port *p;

	if (port >= dev->n_ports)
		return -ENOENT;
	if (strlen(ifname) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	if (!(ifindex = (int)if_nametoindex(ifname)))
		return -ENODEV;
	p = &dev->ports[port];
	pthread_mutex_lock(&dev->attach_lock);
	if (p->netdev || p->pcap_in) {
		pthread_mutex_unlock(&dev->attach_lock);
		return -EBUSY;
	}
	nd = calloc(1, sizeof(*nd));
	if (!nd) {
		pthread_mutex_unlock(&dev->attach_lock);
		return -ENOMEM;
	}
	strcpy(nd->name, ifname);
	nd->fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (nd->fd < 0)
		goto fail_errno;
	if (setsockopt(nd->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0 ||
	    setsockopt(nd->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0 ||
	    setsockopt(nd->fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)) < 0)
		goto fail_errno;
	/* Not seeing our own transmissions; best effort on old kernels. */
	setsockopt(nd->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	setsockopt(nd->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	nd->map_len = 2 * (size_t)BLOCK_SIZE * BLOCKS;
	nd->map = mmap(NULL, nd->map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       nd->fd, 0);
	if (nd->map == MAP_FAILED) {
		nd->map = NULL;
		goto fail_errno;
	}
	nd->rx = nd->map;
	nd->tx = nd->map + (size_t)BLOCK_SIZE * BLOCKS;
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifindex;
	if (bind(nd->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		goto fail_errno;
	if ((err = set_up_promisc(nd->fd, ifname, ifindex)))
		goto fail;
	STORE_REL(&p->netdev, nd);
	pthread_mutex_unlock(&dev->attach_lock);
	return 0;
fail_errno:
	err = -errno;
fail:
	pthread_mutex_unlock(&dev->attach_lock);
	netdev_close(nd);
	return err;
}

void netdev_close(struct hw_netdev *nd)
{
	if (!nd)
		return;
	if (nd->map)
		munmap(nd->map, nd->map_len);
	if (nd->fd >= 0)
		close(nd->fd);
	free(nd);
}

/* Move received frames into the port's receive ring. */
unsigned netdev_poll_rx(struct hw_dev *dev, struct hw_port *p, uint32_t port)
{
	struct hw_netdev *nd = p->netdev;
	unsigned n = 0;

	(void)port;
	while (n < HW_BURST) {
		struct tpacket2_hdr *h =
			(struct tpacket2_hdr *)(nd->rx + (size_t)nd->rx_i * FRAME_SIZE);
		struct hw_slot *s;

		if (!(LOAD_ACQ(&h->tp_status) & TP_STATUS_USER))
			break;
		s = ring_prod(&p->rx);
		if (!s)
			break; /* leave it in the kernel ring: back-pressure */
		const uint8_t *d = (const uint8_t *)h + h->tp_mac;
		uint32_t len = h->tp_snaplen, tag = (h->tp_status & TP_STATUS_VLAN_VALID) ? 4 : 0;

		if (len < 14 || len != h->tp_len || len + tag > HW_MAX_FRAME) {
			if (!nd->warned_big && len != h->tp_len && dev->cfg.log) {
				char msg[200];
				nd->warned_big = 1;
				snprintf(msg, sizeof(msg), "hwsim: %s delivered a %u-byte "
					 "frame (segmentation offload?); dropped. Turn "
					 "it off on the sender: ethtool -K <if> tso off "
					 "gso off", nd->name, h->tp_len);
				dev->cfg.log(1, msg);
			}
			STAT_ADD(p->drops, 1);
		} else {
			uint8_t *o = s->buf + HW_HEADROOM;
			/* The kernel took the VLAN tag out; put it back. */
			memcpy(o, d, 12);
			if (tag) {
				uint16_t tpid = h->tp_vlan_tpid ? h->tp_vlan_tpid : 0x8100;
				o[12] = (uint8_t)(tpid >> 8), o[13] = (uint8_t)tpid;
				o[14] = (uint8_t)(h->tp_vlan_tci >> 8);
				o[15] = (uint8_t)h->tp_vlan_tci;
			}
			memcpy(o + 12 + tag, d + 12, len - 12);
			s->len = len + tag;
			ring_push(&p->rx);
		}
		STORE_REL(&h->tp_status, TP_STATUS_KERNEL);
		nd->rx_i = (nd->rx_i + 1) % FRAMES;
		n++;
	}
	return n;
}

/* Move frames the port sent into the transmit ring, then kick it. */
void netdev_flush_tx(struct hw_dev *dev, struct hw_port *p, uint32_t port)
{
	struct hw_netdev *nd = p->netdev;
	struct hw_slot *s;
	unsigned n = 0;

	(void)dev;
	(void)port;
	while ((s = ring_cons(&p->tx))) {
		struct tpacket2_hdr *h =
			(struct tpacket2_hdr *)(nd->tx + (size_t)nd->tx_i * FRAME_SIZE);
		if (LOAD_ACQ(&h->tp_status) != TP_STATUS_AVAILABLE)
			break; /* ring full: the rest waits in the port ring */
		uint8_t *d = (uint8_t *)h + TPACKET2_HDRLEN - sizeof(struct sockaddr_ll);
		memcpy(d, s->buf, s->len);
		h->tp_len = s->len;
		STORE_REL(&h->tp_status, TP_STATUS_SEND_REQUEST);
		nd->tx_i = (nd->tx_i + 1) % FRAMES;
		ring_pop(&p->tx);
		n++;
	}
	if (n && send(nd->fd, NULL, 0, MSG_DONTWAIT) < 0 && errno != EAGAIN &&
	    errno != ENOBUFS)
		STAT_ADD(p->drops, n);
}
