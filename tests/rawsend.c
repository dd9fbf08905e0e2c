/* SPDX-License-Identifier: MIT */
/*
 * rawsend IFNAME COUNT HEX: send COUNT copies of one Ethernet frame (given
 * in hex, without FCS) out of IFNAME through an AF_PACKET socket, for the
 * namespace tests that need frames no local stack would make (VLAN tags
 * with a priority). Needs CAP_NET_RAW.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>

int main(int argc, char **argv)
{
	unsigned char frame[2048];
	size_t len = 0;

	if (argc != 4) {
		fprintf(stderr, "usage: rawsend IFNAME COUNT HEX\n");
		return 2;
	}
	const char *hex = argv[3];
	long count = strtol(argv[2], NULL, 10);
	if (strlen(hex) % 2 || strlen(hex) / 2 > sizeof(frame) || strlen(hex) < 28) {
		fprintf(stderr, "rawsend: HEX: an even number of digits, 14 to %zu bytes\n",
			sizeof(frame));
		return 2;
	}
	for (; hex[2 * len]; len++) {
		unsigned v;
		if (sscanf(hex + 2 * len, "%2x", &v) != 1) {
			fprintf(stderr, "rawsend: HEX: not hex at %zu\n", 2 * len);
			return 2;
		}
		frame[len] = (unsigned char)v;
	}
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (fd < 0) {
		perror("rawsend: socket");
		return 1;
	}
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = (int)if_nametoindex(argv[1]) };
	if (!sa.sll_ifindex || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "rawsend: %s: %s\n", argv[1], strerror(errno ? errno : ENODEV));
		return 1;
	}
	for (long i = 0; i < count; i++) {
		while (send(fd, frame, len, 0) != (ssize_t)len) {
			if (errno != ENOBUFS && errno != EAGAIN) {
				perror("rawsend: send");
				return 1;
			}
			usleep(100);
		}
		if (i % 32 == 31)
			usleep(200); /* do not outrun the switch's rings */
	}
	close(fd);
	return 0;
}
