/* SPDX-License-Identifier: MIT */
/*
 * tcpxfer: move a known byte pattern over one TCP connection and check it
 * arrived intact (integration tests).
 *   tcpxfer server PORT BYTES      accept one connection, read and verify
 *   tcpxfer client ADDR PORT BYTES connect and send
 * The server prints "ok BYTES" and exits 0 only if every byte matched.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 7 + i / 251);
}

int main(int argc, char **argv)
{
	uint8_t buf[65536];
	uint64_t total, done = 0;
	struct sockaddr_in a = { .sin_family = AF_INET };
	int fd, c, one = 1;

	if (argc == 4 && !strcmp(argv[1], "server")) {
		a.sin_port = htons((uint16_t)atoi(argv[2]));
		total = strtoull(argv[3], NULL, 10);
		fd = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, 1)) {
			perror("tcpxfer server");
			return 2;
		}
		printf("listening\n");
		fflush(stdout);
		if ((c = accept(fd, NULL, NULL)) < 0)
			return 2;
		while (done < total) {
			ssize_t n = read(c, buf, sizeof(buf));
			if (n <= 0)
				break;
			for (ssize_t i = 0; i < n; i++)
				if (buf[i] != pattern(done + (uint64_t)i)) {
					printf("bad byte at offset %llu\n",
					       (unsigned long long)(done + (uint64_t)i));
					return 1;
				}
			done += (uint64_t)n;
		}
		if (done != total) {
			printf("short: %llu of %llu bytes\n", (unsigned long long)done,
			       (unsigned long long)total);
			return 1;
		}
		printf("ok %llu\n", (unsigned long long)done);
		return 0;
	}
	if (argc == 5 && !strcmp(argv[1], "client")) {
		a.sin_port = htons((uint16_t)atoi(argv[3]));
		total = strtoull(argv[4], NULL, 10);
		if (inet_pton(AF_INET, argv[2], &a.sin_addr) != 1)
			return 2;
		fd = socket(AF_INET, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&a, sizeof(a))) {
			perror("tcpxfer client");
			return 2;
		}
		while (done < total) {
			size_t n = total - done < sizeof(buf) ? (size_t)(total - done) : sizeof(buf);
			for (size_t i = 0; i < n; i++)
				buf[i] = pattern(done + i);
			ssize_t w = write(fd, buf, n);
			if (w <= 0) {
				perror("tcpxfer client");
				return 1;
			}
			done += (uint64_t)w;
		}
		close(fd);
		return 0;
	}
	fprintf(stderr, "usage: tcpxfer server PORT BYTES | client ADDR PORT BYTES\n");
	return 2;
}
