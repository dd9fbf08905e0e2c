/* SPDX-License-Identifier: MIT */
/*
 * pcap files on hwsim ports: a port's input read from a file, a port's
 * output or the slow-path packets written to one. The classic pcap format
 * (magic 0xa1b2c3d4, version 2.4, link type 1 = Ethernet), readable by
 * tcpdump and tshark. Files are written through stdio buffers; nothing is
 * allocated per packet.
 */
#include <errno.h>
#include <string.h>
#include <time.h>
#include "dev.h"

struct hw_pcap {
	FILE *f;
	int swap;   /* input file in the other byte order */
	int nsec;   /* input timestamps in nanoseconds */
	int done;   /* input file consumed */
	uint64_t written;
};

struct pcap_hdr {
	uint32_t magic;
	uint16_t major, minor;
	int32_t zone;
	uint32_t sigfigs, snaplen, linktype;
};

struct pcap_rec {
	uint32_t sec, usec, caplen, len;
};

static uint32_t sw32(uint32_t v, int swap)
{
	return swap ? __builtin_bswap32(v) : v;
}

int hw_pcap_attach(struct hw_dev *dev, uint32_t port, enum hw_pcap_dir dir,
		   const char *path)
{
	struct hw_pcap *pc, **slot;
	struct pcap_hdr h;
	int err = 0;

	if (port != HW_PCAP_HOST && port >= dev->n_ports)
		return -ENOENT;
	if (port == HW_PCAP_HOST && dir != HW_PCAP_OUT)
		return -EINVAL;
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	pc->f = fopen(path, dir == HW_PCAP_IN ? "rb" : "wb");
	if (!pc->f) {
		err = -errno;
		free(pc);
		return err;
	}
	if (dir == HW_PCAP_IN) {
		if (fread(&h, sizeof(h), 1, pc->f) != 1) {
			err = -EINVAL;
		} else if (h.magic == 0xa1b2c3d4 || h.magic == 0xa1b23c4d) {
			pc->nsec = h.magic == 0xa1b23c4d;
		} else if (h.magic == 0xd4c3b2a1 || h.magic == 0x4d3cb2a1) {
			pc->swap = 1;
			pc->nsec = h.magic == 0x4d3cb2a1;
		} else {
			err = -EINVAL;
		}
		if (!err && sw32(h.linktype, pc->swap) != 1)
			err = -EPROTONOSUPPORT;
	} else {
		h = (struct pcap_hdr){ 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1 };
		if (fwrite(&h, sizeof(h), 1, pc->f) != 1)
			err = -EIO;
	}
	if (err) {
		pcap_close(pc);
		return err;
	}
	pthread_mutex_lock(&dev->attach_lock);
	if (port == HW_PCAP_HOST)
		slot = &dev->pcap_host;
	else
		slot = dir == HW_PCAP_IN ? &dev->ports[port].pcap_in
					 : &dev->ports[port].pcap_out;
	if (*slot || (dir == HW_PCAP_IN && dev->ports[port].netdev))
		err = -EBUSY;
	else
		STORE_REL(slot, pc);
	pthread_mutex_unlock(&dev->attach_lock);
	if (err)
		pcap_close(pc);
	return err;
}

void pcap_write(struct hw_pcap *pc, const uint8_t *data, uint32_t len, uint64_t now)
{
	struct timespec ts;
	struct pcap_rec r;

	(void)now;
	clock_gettime(CLOCK_REALTIME, &ts);
	r.sec = (uint32_t)ts.tv_sec;
	r.usec = (uint32_t)(ts.tv_nsec / 1000);
	r.caplen = r.len = len;
	if (fwrite(&r, sizeof(r), 1, pc->f) == 1 && fwrite(data, len, 1, pc->f) == 1)
		pc->written++;
}

/* Feed the next records of a port's input file into its receive ring. */
unsigned pcap_feed(struct hw_dev *dev, struct hw_port *p, uint32_t port)
{
	struct hw_pcap *pc = p->pcap_in;
	unsigned n = 0;

	(void)dev;
	(void)port;
	while (!pc->done && n < HW_BURST) {
		struct pcap_rec r;
		struct hw_slot *s = ring_prod(&p->rx);
		uint32_t cap;

		if (!s)
			break;
		if (fread(&r, sizeof(r), 1, pc->f) != 1) {
			pc->done = 1;
			break;
		}
		cap = sw32(r.caplen, pc->swap);
		if (cap > HW_MAX_FRAME || cap < 14) {
			/* skip what the port cannot carry */
			if (fseek(pc->f, cap, SEEK_CUR))
				pc->done = 1;
			STAT_ADD(p->drops, 1);
			continue;
		}
		if (fread(s->buf + HW_HEADROOM, cap, 1, pc->f) != 1) {
			pc->done = 1;
			break;
		}
		s->len = cap;
		ring_push(&p->rx);
		n++;
	}
	return n;
}

void pcap_close(struct hw_pcap *pc)
{
	if (!pc)
		return;
	fclose(pc->f);
	free(pc);
}
