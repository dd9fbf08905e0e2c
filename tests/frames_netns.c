/* SPDX-License-Identifier: MIT */
/*
 * Frame sizes over a real interface: an hwsim uplink attached to a veth
 * whose peer is eth0 of network namespace NS, where this program reads what
 * arrives through a packet socket of that namespace. Run by
 * tests/netns-frames.sh.
 *
 *   frames_netns IF NS std     IF and the peer at MTU 1500:
 *     - the port takes the interface's MTU;
 *     - VXLAN encapsulation of a full-size 1514-byte frame (as dpak-vpcgw
 *       does) is 1564 bytes: dropped and counted in drops_mtu, and every
 *       normal frame after it arrives;
 *     - the same with the port's MTU raised above the interface's, so that
 *       the frame reaches the kernel's transmit ring, which refuses it: the
 *       port must not stop sending (the ring slot must not stay stuck).
 *   frames_netns IF NS jumbo   IF and the peer at MTU 9000:
 *     - 9014-byte frames cross both ways, byte for byte; 9015 bytes is
 *       dropped on egress and counted.
 * Exit 0 when all holds; prints what failed otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <sys/socket.h>
#include <dpak/dpak.h>

enum { UP0, VF0 };
static const char CFG[] =
	"table name=t type=wildcard capacity=64 priorities=4 miss=host key=in_port\n";
static const char MARK[] = "dpak-frames-test";
static struct dpak_dev *dev;
static int rx_fd, tx_ifindex, failed;

#define CHECK(c, ...) do { if (!(c)) { printf("FAIL: " __VA_ARGS__); printf("\n"); \
	failed = 1; } else if (0) printf(__VA_ARGS__); } while (0)

static void die(const char *what)
{
	printf("FAIL: %s: %s (%s)\n", what, strerror(errno), dpak_errmsg());
	exit(1);
}

/* A packet socket on eth0 of namespace @ns (this thread goes there and
 * comes back). */
static int ns_socket(const char *ns)
{
	char path[256];
	int self = open("/proc/self/ns/net", O_RDONLY), other, fd, one = 1 << 22;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };

	snprintf(path, sizeof(path), "/var/run/netns/%s", ns);
	if (self < 0 || (other = open(path, O_RDONLY)) < 0 || setns(other, CLONE_NEWNET))
		die("entering the namespace");
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	sll.sll_ifindex = (int)if_nametoindex("eth0");
	if (fd < 0 || !sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		die("packet socket in the namespace");
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &one, sizeof(one));
	tx_ifindex = sll.sll_ifindex;
	if (setns(self, CLONE_NEWNET))
		die("leaving the namespace");
	close(other);
	close(self);
	return fd;
}

static void run(int ms)
{
	for (int i = 0; i < ms; i++) {
		struct timespec ts = { 0, 1000000 };
		dpak_hwsim_run(dev, 0);
		nanosleep(&ts, NULL);
	}
}

/* A frame of @len bytes carrying MARK and a sequence number. */
static size_t frame(uint8_t *b, size_t len, uint32_t seq)
{
	static const uint8_t dst[6] = { 2, 0, 0, 0, 0, 0xb }, src[6] = { 2, 0, 0, 0, 0, 0xa };
	memset(b, 0, len);
	memcpy(b, dst, 6);
	memcpy(b + 6, src, 6);
	b[12] = 0x88, b[13] = 0xb5; /* local experimental ethertype */
	memcpy(b + 14, MARK, sizeof(MARK));
	memcpy(b + 14 + sizeof(MARK), &seq, 4);
	for (size_t i = 14 + sizeof(MARK) + 4; i < len; i++)
		b[i] = (uint8_t)(i * 7);
	return len;
}

/* Frames with MARK that reached the namespace within @ms; the sequence
 * numbers seen are flagged in @seen, the last frame kept in @last. */
static int received(int ms, uint8_t *seen, size_t n_seen, uint8_t *last, size_t *last_len)
{
	static uint8_t buf[65536];
	int got = 0;

	for (int i = 0; i < ms; i++) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		ssize_t n;
		while ((n = recvfrom(rx_fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl)) > 0) {
			uint8_t *m = memmem(buf, (size_t)n, MARK, sizeof(MARK));
			uint32_t seq;
			if (from.sll_pkttype == PACKET_OUTGOING || !m || m + sizeof(MARK) + 4 > buf + n)
				continue;
			memcpy(&seq, m + sizeof(MARK), 4);
			if (seq < n_seen)
				seen[seq] = 1;
			if (last) {
				memcpy(last, buf, (size_t)n);
				*last_len = (size_t)n;
			}
			got++;
		}
		run(1);
	}
	return got;
}

static void port_stats(struct dpak_port_stats *s)
{
	memset(s, 0, sizeof(*s));
	s->sz = sizeof(*s);
	if (dpak_port_stats(dev, UP0, s))
		die("port stats");
}

static void add_flow(uint32_t in, uint32_t out, int encap)
{
	struct dpak_item_port ip = { in };
	struct dpak_item items[] = { { DPAK_ITEM_PORT, &ip, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_vxlan_encap e = {
		.eth_dst = { 2, 0, 0, 0, 0, 0xc }, .eth_src = { 2, 0, 0, 0, 0, 0xd },
		.ipv4_src = htonl(0xc0000201), .ipv4_dst = htonl(0xc0000202), .vni = 5000,
	};
	struct dpak_action_port op = { out };
	struct dpak_action acts[] = { { DPAK_ACTION_VXLAN_ENCAP, &e }, { DPAK_ACTION_PORT, &op },
				      { DPAK_ACTION_END, NULL } };
	struct dpak_flow *f;
	if (dpak_flow_add(dpak_table_at(dev, 0), items, encap ? acts : acts + 1, NULL, &f))
		die("flow");
}

/* One oversize frame, then @n normal ones: all normal ones must arrive. */
static void oversize_then_normal(const char *what)
{
	uint8_t f[2048], seen[64] = { 0 };
	struct dpak_port_stats a, b;
	int n = 20, got;

	port_stats(&a);
	if (dpak_hwsim_inject(dev, VF0, f, frame(f, 1514, 63)))
		die("inject");
	run(5);
	for (int i = 0; i < n; i++) {
		if (dpak_hwsim_inject(dev, VF0, f, frame(f, 200, (uint32_t)i)))
			die("inject");
		run(1);
	}
	got = received(500, seen, sizeof(seen), NULL, NULL);
	port_stats(&b);
	int all = 1;
	for (int i = 0; i < n; i++)
		all &= seen[i];
	printf("%s: %d of %d normal frames arrived; drops %llu, drops_mtu %llu, "
	       "tx_packets %llu\n", what, got, n, (unsigned long long)(b.drops - a.drops),
	       (unsigned long long)(b.drops_mtu - a.drops_mtu),
	       (unsigned long long)(b.tx_packets - a.tx_packets));
	CHECK(all && got == n, "%s: the port stopped sending after the oversize frame", what);
	CHECK(!seen[63], "%s: the oversize frame arrived", what);
	CHECK(b.drops - a.drops == 1, "%s: the oversize frame was not counted in drops", what);
#ifndef DPAK_0_1
	CHECK(b.drops_mtu - a.drops_mtu == 1, "%s: not counted in drops_mtu", what);
#endif
	CHECK(b.tx_packets - a.tx_packets == (uint64_t)n, "%s: tx_packets counts %llu, "
	      "not the %d frames sent", what, (unsigned long long)(b.tx_packets - a.tx_packets), n);
}

static void test_std(const char *ifname)
{
	add_flow(VF0, UP0, 1);
	if (dpak_hwsim_attach(dev, UP0, ifname))
		die("attach");
#ifndef DPAK_0_1
	struct dpak_port_info pi = { .sz = sizeof(pi) };
	if (dpak_port_info(dev, UP0, &pi))
		die("port info");
	CHECK(pi.mtu == 1500, "the port did not take the interface's MTU (%u)", pi.mtu);
	oversize_then_normal("port MTU 1500");
	/* Past the device's check: the kernel's transmit ring refuses it. */
	if (dpak_port_set_mtu(dev, UP0, 9000))
		die("set mtu");
#endif
	oversize_then_normal("port MTU 9000 on an interface of MTU 1500");
	oversize_then_normal("again");
}

static void test_jumbo(const char *ifname)
{
	static uint8_t f[9100], got[65536], seen[4];
	struct dpak_port_stats a, b;
	size_t got_len = 0;

	add_flow(VF0, UP0, 0);
	add_flow(UP0, VF0, 0);
	if (dpak_hwsim_attach(dev, UP0, ifname))
		die("attach");
	/* Out: a 9014-byte frame (MTU 9000) arrives whole. */
	frame(f, 9014, 0);
	if (dpak_hwsim_inject(dev, VF0, f, 9014))
		die("inject jumbo");
	CHECK(received(500, seen, sizeof(seen), got, &got_len) == 1 && got_len == 9014 &&
	      !memcmp(got, f, 9014), "a 9014-byte frame did not arrive whole (%zu bytes)",
	      got_len);
	/* One byte more is dropped on egress and counted. */
	port_stats(&a);
	frame(f, 9015, 1);
	if (dpak_hwsim_inject(dev, VF0, f, 9015))
		die("inject jumbo + 1");
	CHECK(received(200, seen, sizeof(seen), NULL, NULL) == 0, "a 9015-byte frame left");
	port_stats(&b);
	CHECK(b.drops_mtu - a.drops_mtu == 1, "the 9015-byte frame was not counted");
	/* In: a 9014-byte frame sent in the namespace reaches the VF whole,
	 * once the VF's MTU takes it. */
	if (dpak_port_set_mtu(dev, VF0, 9000))
		die("set mtu");
	struct sockaddr_ll to = { .sll_family = AF_PACKET, .sll_ifindex = tx_ifindex,
				  .sll_halen = 6 };
	frame(f, 9014, 2);
	if (sendto(rx_fd, f, 9014, 0, (struct sockaddr *)&to, sizeof(to)) != 9014)
		die("send in the namespace");
	ssize_t n = -EAGAIN;
	for (int i = 0; i < 500; i++) {
		run(1);
		n = dpak_hwsim_capture(dev, VF0, got, sizeof(got));
		if (n > 0 && memmem(got, (size_t)n, MARK, sizeof(MARK)))
			break; /* not the namespace's own traffic */
		n = -EAGAIN;
	}
	port_stats(&b);
	CHECK(n == 9014 && !memcmp(got, f, 9014), "(uplink rx %llu, drops %llu) "
	      "a 9014-byte frame from the interface "
	      "did not reach the VF whole (%zd)", (unsigned long long)b.rx_packets,
	      (unsigned long long)b.drops, n);
}

int main(int argc, char **argv)
{
	if (argc != 4)
		return fprintf(stderr, "usage: frames_netns IF NS std|jumbo\n"), 2;
	DPAK_OPTS(dpak_dev_opts, o, .configinfo_text = CFG);
	dev = dpak_dev_open("hwsim:uplinks=1,pfs=0,vfs=1", &o);
	if (!dev)
		die("open");
	rx_fd = ns_socket(argv[2]);
	if (!strcmp(argv[3], "std"))
		test_std(argv[1]);
	else
		test_jumbo(argv[1]);
	dpak_dev_close(dev);
	if (!failed)
		printf("ok: %s\n", argv[3]);
	return failed;
}
