/* SPDX-License-Identifier: MIT */
/*
 * hwsim ports attached to Linux interfaces through AF_PACKET with TPACKET_V2
 * receive and transmit rings: receiving is reading the shared ring (no
 * system call per packet); sending fills the transmit ring and kicks it
 * with one send() per burst. The engine thread does both.
 *
 * Every status the kernel gives a ring frame is handled, so that no frame
 * stays stuck and every frame the interface refuses is counted:
 *  - transmit: the kernel refuses a frame longer than the interface's
 *    MTU + 14 (+ 4 if its outer tag is 802.1Q; net/packet/af_packet.c,
 *    tpacket_snd()). Without PACKET_LOSS it marks the frame
 *    TP_STATUS_WRONG_FORMAT and stops at it for good; with PACKET_LOSS it
 *    skips it silently. The socket has PACKET_LOSS, and frames that break
 *    the kernel's rule are dropped here first, counted in the port's drops
 *    and drops_mtu; the interface's MTU is read again at most every
 *    MTU_POLL_NS (an ioctl, kept off the per-burst path).
 *    A frame still at TP_STATUS_SEND_REQUEST or TP_STATUS_SENDING belongs
 *    to the kernel (the ring is full); frames wait in the port ring
 *    meanwhile, and a kick that failed is retried on the next burst.
 *  - receive: TP_STATUS_USER frames are ours; a frame cut short
 *    (TP_STATUS_COPY, snaplen < len), one longer than the largest frame,
 *    and one whose checksum the sender left to offload
 *    (TP_STATUS_CSUMNOTREADY) are dropped and counted; TP_STATUS_LOSING
 *    (the kernel dropped frames, ring full) adds the kernel's drop count
 *    (PACKET_STATISTICS) to the port's drops.
 *
 * Ring frames are sized at attach: 2048 bytes for an interface whose MTU
 * takes standard frames, 10240 for a jumbo MTU.
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

#define BLOCK_SIZE 65536u
#define MAC_OFF 66u /* where the kernel puts an Ethernet frame in an RX frame */
#define TX_OFF (TPACKET2_HDRLEN - sizeof(struct sockaddr_ll))

struct hw_netdev {
	int fd;
	uint8_t *map;
	size_t map_len;
	uint8_t *rx, *tx;
	uint32_t frame_size, per_block, frames;
	uint32_t rx_i, tx_i;
	uint32_t if_mtu;   /* the interface's MTU, read every MTU_POLL_NS */
	uint64_t mtu_read_ns; /* when it was read */
	int kick;          /* the last send() failed: kick again */
	int warned_big, warned_csum;
	char name[IFNAMSIZ];
};

static struct tpacket2_hdr *frame_at(const struct hw_netdev *nd, uint8_t *ring,
				     uint32_t i)
{
	return (struct tpacket2_hdr *)(ring + (size_t)(i / nd->per_block) * BLOCK_SIZE +
				       (size_t)(i % nd->per_block) * nd->frame_size);
}

static int if_mtu(int fd, const char *ifname, uint32_t *mtu)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	if (ioctl(fd, SIOCGIFMTU, &ifr) < 0)
		return -errno;
	*mtu = ifr.ifr_mtu > 0 ? (uint32_t)ifr.ifr_mtu : 0;
	return 0;
}

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

static void warn(struct hw_dev *dev, const char *msg)
{
	if (dev->cfg.log)
		dev->cfg.log(1, msg);
}

int hw_port_attach(struct hw_dev *dev, uint32_t port, const char *ifname)
{
	struct tpacket_req req;
	struct sockaddr_ll sll = { 0 };
	int v = TPACKET_V2, one = 1, err, ifindex;
	uint32_t mtu;
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
	if ((err = if_mtu(nd->fd, ifname, &nd->if_mtu)))
		goto fail;
	/* Frames of the interface's MTU with two VLAN tags fit a ring frame. */
	nd->frame_size = MAC_OFF + nd->if_mtu + 14 + 8 <= 2048 ? 2048 : 10240;
	nd->per_block = BLOCK_SIZE / nd->frame_size;
	req.tp_block_size = BLOCK_SIZE;
	req.tp_block_nr = (256 + nd->per_block - 1) / nd->per_block;
	req.tp_frame_size = nd->frame_size;
	req.tp_frame_nr = nd->frames = req.tp_block_nr * nd->per_block;
	/* PACKET_LOSS first (the kernel takes it only before the rings): a
	 * frame the kernel refuses is skipped, never left to wedge the ring. */
	if (setsockopt(nd->fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) < 0 ||
	    setsockopt(nd->fd, SOL_PACKET, PACKET_LOSS, &one, sizeof(one)) < 0 ||
	    setsockopt(nd->fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) < 0 ||
	    setsockopt(nd->fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)) < 0)
		goto fail_errno;
	/* Not seeing our own transmissions; best effort on old kernels. */
	setsockopt(nd->fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one));
	setsockopt(nd->fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	nd->map_len = 2 * (size_t)BLOCK_SIZE * req.tp_block_nr;
	nd->map = mmap(NULL, nd->map_len, PROT_READ | PROT_WRITE, MAP_SHARED,
		       nd->fd, 0);
	if (nd->map == MAP_FAILED) {
		nd->map = NULL;
		goto fail_errno;
	}
	nd->rx = nd->map;
	nd->tx = nd->map + (size_t)BLOCK_SIZE * req.tp_block_nr;
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(ETH_P_ALL);
	sll.sll_ifindex = ifindex;
	if (bind(nd->fd, (struct sockaddr *)&sll, sizeof(sll)) < 0)
		goto fail_errno;
	if ((err = set_up_promisc(nd->fd, ifname, ifindex)))
		goto fail;
	/* The port takes the interface's MTU. */
	mtu = nd->if_mtu < HW_MIN_MTU ? HW_MIN_MTU
	      : nd->if_mtu > HW_MAX_MTU ? HW_MAX_MTU : nd->if_mtu;
	if (mtu != nd->if_mtu) {
		char msg[160];
		snprintf(msg, sizeof(msg), "hwsim: %s has MTU %u; port %u takes %u "
			 "(hwsim ports: %d to %d)", ifname, nd->if_mtu, port, mtu,
			 HW_MIN_MTU, HW_MAX_MTU);
		warn(dev, msg);
	}
	STORE_REL(&p->mtu, mtu);
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

/* The kernel dropped frames (its ring was full): add its count. */
static void rx_losing(struct hw_netdev *nd, struct hw_port *p)
{
	struct tpacket_stats st;
	socklen_t len = sizeof(st);

	if (!getsockopt(nd->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len))
		STAT_ADD(p->drops, st.tp_drops);
}

/* Move received frames into the port's receive ring. */
unsigned netdev_poll_rx(struct hw_dev *dev, struct hw_port *p, uint32_t port)
{
	struct hw_netdev *nd = p->netdev;
	unsigned n = 0;

	(void)port;
	while (n < HW_BURST) {
		struct tpacket2_hdr *h = frame_at(nd, nd->rx, nd->rx_i);
		uint32_t status = LOAD_ACQ(&h->tp_status);
		struct hw_slot *s;

		if (!(status & TP_STATUS_USER))
			break;
		s = ring_prod(&p->rx);
		if (!s)
			break; /* leave it in the kernel ring: back-pressure */
		if (status & TP_STATUS_LOSING)
			rx_losing(nd, p);
		const uint8_t *d = (const uint8_t *)h + h->tp_mac;
		uint32_t len = h->tp_snaplen, tag = (status & TP_STATUS_VLAN_VALID) ? 4 : 0;

		if ((status & TP_STATUS_COPY) || len < 14 || len != h->tp_len ||
		    len + tag > HW_MAX_FRAME) {
			if (!nd->warned_big && len != h->tp_len) {
				char msg[200];
				nd->warned_big = 1;
				snprintf(msg, sizeof(msg), "hwsim: %s delivered a %u-byte "
					 "frame (segmentation offload, or an MTU raised "
					 "after attach?); dropped. Turn offload off on "
					 "the sender: ethtool -K <if> tso off gso off",
					 nd->name, h->tp_len);
				warn(dev, msg);
			}
			STAT_ADD(p->drops, 1);
		} else if (status & TP_STATUS_CSUMNOTREADY) {
			/* Its TCP/UDP checksum was left to the sender's
			 * hardware: it would leave the device wrong. */
			if (!nd->warned_csum) {
				char msg[200];
				nd->warned_csum = 1;
				snprintf(msg, sizeof(msg), "hwsim: %s delivered a frame "
					 "without its checksum (checksum offload); "
					 "dropped. Turn it off on the sender: ethtool "
					 "-K <if> tx off", nd->name);
				warn(dev, msg);
			}
			STAT_ADD(p->drops, 1);
		} else {
			uint8_t *o = s->buf + HW_HEADROOM;
			/* The kernel took the VLAN tag out; put it back. */
			memcpy(o, d, 12);
			if (tag) {
				uint16_t tpid = (status & TP_STATUS_VLAN_TPID_VALID) &&
						h->tp_vlan_tpid ? h->tp_vlan_tpid : 0x8100;
				o[12] = (uint8_t)(tpid >> 8), o[13] = (uint8_t)tpid;
				o[14] = (uint8_t)(h->tp_vlan_tci >> 8);
				o[15] = (uint8_t)h->tp_vlan_tci;
			}
			memcpy(o + 12 + tag, d + 12, len - 12);
			s->len = len + tag;
			ring_push(&p->rx);
		}
		STORE_REL(&h->tp_status, TP_STATUS_KERNEL);
		nd->rx_i = (nd->rx_i + 1) % nd->frames;
		n++;
	}
	return n;
}

/* How often the transmit path reads the interface's MTU again. */
#define MTU_POLL_NS 100000000ull /* 100 ms */

/* The longest frame the interface takes (net/packet/af_packet.c,
 * tpacket_snd(): MTU + hard header, + 4 if the outer tag is 802.1Q). */
static uint32_t if_limit(const struct hw_netdev *nd, const uint8_t *f, uint32_t len)
{
	uint32_t max = nd->if_mtu + 14;

	if (len >= 14 && f[12] == 0x81 && f[13] == 0x00)
		max += 4;
	return max < nd->frame_size - TX_OFF ? max : nd->frame_size - (uint32_t)TX_OFF;
}

/* Move frames the port sent into the transmit ring, then kick it. */
void netdev_flush_tx(struct hw_dev *dev, struct hw_port *p, uint32_t port)
{
	struct hw_netdev *nd = p->netdev;
	struct hw_slot *s;
	unsigned n = 0;

	(void)dev;
	(void)port;
	if (ring_cons(&p->tx)) { /* the MTU may have changed: read it now and then */
		uint64_t now = hw_now_ns();
		if (now - nd->mtu_read_ns > MTU_POLL_NS) {
			if_mtu(nd->fd, nd->name, &nd->if_mtu);
			nd->mtu_read_ns = now;
		}
	}
	while ((s = ring_cons(&p->tx))) {
		struct tpacket2_hdr *h = frame_at(nd, nd->tx, nd->tx_i);
		uint32_t status = LOAD_ACQ(&h->tp_status);

		if (status == TP_STATUS_WRONG_FORMAT) {
			/* Only without PACKET_LOSS: a refused frame the kernel
			 * stopped at. Count it and give the slot back. */
			STAT_ADD(p->drops, 1);
			if (h->tp_len > if_limit(nd, (uint8_t *)h + TX_OFF, h->tp_len))
				STAT_ADD(p->drops_mtu, 1);
			STORE_REL(&h->tp_status, TP_STATUS_AVAILABLE);
			status = TP_STATUS_AVAILABLE;
		}
		if (status != TP_STATUS_AVAILABLE)
			break; /* the kernel's still: the rest waits in the port ring */
		if (s->len < 14 || s->len > if_limit(nd, s->buf, s->len)) {
			STAT_ADD(p->drops, 1);
			if (s->len >= 14)
				STAT_ADD(p->drops_mtu, 1);
			ring_pop(&p->tx);
			continue;
		}
		memcpy((uint8_t *)h + TX_OFF, s->buf, s->len);
		h->tp_len = s->len;
		STAT_ADD(p->tx_packets, 1);
		STAT_ADD(p->tx_bytes, s->len);
		STORE_REL(&h->tp_status, TP_STATUS_SEND_REQUEST);
		nd->tx_i = (nd->tx_i + 1) % nd->frames;
		ring_pop(&p->tx);
		n++;
	}
	/* A failed kick (interface down, no buffers) leaves its frames
	 * requested in the ring: the next kick sends them. */
	if (n || nd->kick)
		nd->kick = send(nd->fd, NULL, 0, MSG_DONTWAIT) < 0;
}
