/* SPDX-License-Identifier: MIT */
/*
 * rawrecv IFNAME COUNT SECONDS [OFFSET:HEX]: print, one line of hex each,
 * the Ethernet frames that arrive on IFNAME (its receive side only) through
 * an AF_PACKET socket, until COUNT frames were printed or SECONDS passed;
 * with OFFSET:HEX only frames holding those bytes at that offset count.
 * A VLAN tag the kernel took out of the frame (receive VLAN offload) is put
 * back where it was on the wire, so the bytes printed are the bytes sent.
 * Prints "ready" on stderr once listening. For the namespace tests that
 * check rewritten headers on the wire. Needs CAP_NET_RAW. Exit 0 when
 * COUNT frames were seen, 1 otherwise.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned char frame[10240 + 4], want[256];
	size_t want_len = 0, want_off = 0;

	if (argc != 4 && argc != 5) {
		fprintf(stderr, "usage: rawrecv IFNAME COUNT SECONDS [OFFSET:HEX]\n");
		return 2;
	}
	long count = strtol(argv[2], NULL, 10);
	double secs = strtod(argv[3], NULL);
	if (argc == 5) {
		char *hex = strchr(argv[4], ':');
		want_off = strtoul(argv[4], NULL, 10);
		if (!hex || strlen(hex + 1) % 2 || strlen(hex + 1) / 2 > sizeof(want)) {
			fprintf(stderr, "rawrecv: OFFSET:HEX: an even number of hex digits\n");
			return 2;
		}
		for (hex++; hex[2 * want_len]; want_len++) {
			unsigned v;
			if (sscanf(hex + 2 * want_len, "%2x", &v) != 1) {
				fprintf(stderr, "rawrecv: HEX: not hex\n");
				return 2;
			}
			want[want_len] = (unsigned char)v;
		}
	}
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)), one = 1;
	if (fd < 0) {
		perror("rawrecv: socket");
		return 1;
	}
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = (int)if_nametoindex(argv[1]) };
	if (!sa.sll_ifindex || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "rawrecv: %s: %s\n", argv[1], strerror(errno ? errno : ENODEV));
		return 1;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_AUXDATA, &one, sizeof(one))) {
		perror("rawrecv: PACKET_AUXDATA");
		return 1;
	}
	fprintf(stderr, "ready\n");
	double end = now() + secs;
	long seen = 0;
	while (seen < count) {
		double left = end - now();
		if (left <= 0)
			break;
		struct pollfd p = { .fd = fd, .events = POLLIN };
		if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		union {
			struct cmsghdr h;
			char buf[CMSG_SPACE(sizeof(struct tpacket_auxdata))];
		} cm;
		struct sockaddr_ll from;
		/* room for a tag to put back in front of the frame's type */
		struct iovec iov = { .iov_base = frame + 4, .iov_len = sizeof(frame) - 4 };
		struct msghdr m = { .msg_name = &from, .msg_namelen = sizeof(from),
				    .msg_iov = &iov, .msg_iovlen = 1,
				    .msg_control = &cm, .msg_controllen = sizeof(cm) };
		ssize_t n = recvmsg(fd, &m, MSG_DONTWAIT);
		if (n < 14 || from.sll_pkttype == PACKET_OUTGOING)
			continue;
		unsigned char *f = frame + 4;
		size_t len = (size_t)n;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
			struct tpacket_auxdata *aux = (struct tpacket_auxdata *)CMSG_DATA(c);
			if (c->cmsg_level != SOL_PACKET || c->cmsg_type != PACKET_AUXDATA ||
			    !(aux->tp_status & TP_STATUS_VLAN_VALID))
				continue;
			uint16_t tpid = (aux->tp_status & TP_STATUS_VLAN_TPID_VALID) ?
					aux->tp_vlan_tpid : ETH_P_8021Q;
			memmove(frame, frame + 4, 12); /* the MACs move 4 bytes forward */
			f = frame;
			f[12] = (unsigned char)(tpid >> 8);
			f[13] = (unsigned char)tpid;
			f[14] = (unsigned char)(aux->tp_vlan_tci >> 8);
			f[15] = (unsigned char)aux->tp_vlan_tci;
			len += 4;
		}
		if (want_len && (len < want_off + want_len || memcmp(f + want_off, want, want_len)))
			continue;
		for (size_t i = 0; i < len; i++)
			printf("%02x", f[i]);
		printf("\n");
		fflush(stdout);
		seen++;
	}
	return seen >= count ? 0 : 1;
}
