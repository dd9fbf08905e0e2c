/* SPDX-License-Identifier: MIT */
/*
 * The control protocol and server: request parsing, and a live server fed
 * malformed, oversized, half-sent and unanswered requests, while the data
 * path keeps forwarding and other clients keep being answered.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <cmocka.h>
#include <dpak/dpak.h>
#include "ctl.h"

static struct ctl_req req;

static void parse_ok(const char *s)
{
	int rc = ctl_parse(s, strlen(s), &req);
	if (rc)
		fprintf(stderr, "'%s': %s\n", s, req.err);
	assert_int_equal(rc, 0);
}

static void parse_bad(const char *s, size_t len, int err, const char *needle)
{
	assert_int_equal(ctl_parse(s, len, &req), -err);
	if (!strstr(req.err, needle)) {
		fprintf(stderr, "'%.*s': message '%s' lacks '%s'\n", (int)len, s, req.err, needle);
		fail();
	}
}

static void test_parse(void **state)
{
	(void)state;
	parse_ok("DPAK/1 version\n");
	assert_string_equal(req.cmd, "version");
	assert_int_equal(req.n_args, 0);
	parse_ok("DPAK/1 flows table=l2 max=5 json=1");
	assert_string_equal(req.cmd, "flows");
	assert_int_equal(req.n_args, 3);
	assert_string_equal(ctl_arg(&req, "table"), "l2");
	assert_string_equal(ctl_arg(&req, "max"), "5");
	assert_null(ctl_arg(&req, "port"));
	parse_ok("DPAK/1 trace port=vf0 hex=00ff");
	assert_string_equal(ctl_arg(&req, "hex"), "00ff");
	parse_ok("DPAK/1 x a=");
	assert_string_equal(ctl_arg(&req, "a"), "");

	parse_bad("hello\n", 6, EPROTO, "not a DPAK/1 request");
	parse_bad("DPAK/2 version", 14, EPROTO, "not a DPAK/1 request");
	parse_bad("DPAK/1version", 13, EPROTO, "not a DPAK/1 request");
	parse_bad("DPAK/1", 6, EINVAL, "no command");
	parse_bad("DPAK/1  version", 15, EINVAL, "empty word");
	parse_bad("DPAK/1 version ", 15, EINVAL, "empty word");
	parse_bad("DPAK/1 Version", 14, EINVAL, "command 'Version'");
	parse_bad("DPAK/1 flows table", 18, EINVAL, "argument 'table' is not name=value");
	parse_bad("DPAK/1 flows =x", 15, EINVAL, "not name=value");
	parse_bad("DPAK/1 flows a=1 a=2", 20, EINVAL, "argument 'a' given twice");
	parse_bad("DPAK/1 flows T=1", 16, EINVAL, "argument name 'T'");
	parse_bad("DPAK/1 ver\tsion", 15, EINVAL, "0x09 is not printable");
	parse_bad("DPAK/1 ver\0sion", 15, EINVAL, "0x00 is not printable");
	char many[1024] = "DPAK/1 x";
	for (int i = 0; i < 17; i++)
		sprintf(many + strlen(many), " a%d=1", i);
	parse_bad(many, strlen(many), E2BIG, "more than 16 arguments");
	char *big = malloc(CTL_MAX_REQ + 10);
	memset(big, 'a', CTL_MAX_REQ + 10);
	memcpy(big, "DPAK/1 ", 7);
	parse_bad(big, CTL_MAX_REQ + 10, E2BIG, "longer than 20479");
	free(big);
}

static void test_render(void **state)
{
	(void)state;
	struct ctl_out *o = ctl_out_new("t", 0);
	static const char *const cols[] = { "name", "n" };
	static const char *const r1[] = { "a", "5" }, *const r2[] = { "long \"q\"", "12345" };
	char *body;
	ctl_out_cols(o, 2, cols);
	ctl_out_row(o, r1);
	ctl_out_row(o, r2);
	assert_true(ctl_out_render(o, &body) > 0);
	assert_string_equal(body, "name          n\na             5\nlong \"q\"  12345\n");
	free(body);
	ctl_out_free(o);
	o = ctl_out_new("t", 1);
	ctl_out_cols(o, 2, cols);
	ctl_out_row(o, r1);
	ctl_out_row(o, r2);
	ctl_out_note(o, "a note");
	assert_true(ctl_out_render(o, &body) > 0);
	assert_string_equal(body, "{\"t\": [\n  {\"name\": \"a\", \"n\": 5},\n"
				  "  {\"name\": \"long \\\"q\\\"\", \"n\": 12345}\n], "
				  "\"notes\": \"a note\"}\n");
	free(body);
	ctl_out_free(o);
	/* Only JSON numbers go out unquoted. */
	o = ctl_out_new("t", 1);
	static const char *const c1[] = { "v" };
	static const char *const vals[] = { "-inf", "-0x1f", "1.", "-01", "0", "-2.5e3", "nan" };
	ctl_out_cols(o, 1, c1);
	for (unsigned i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		const char *cell[] = { vals[i] };
		ctl_out_row(o, cell);
	}
	assert_true(ctl_out_render(o, &body) > 0);
	assert_non_null(strstr(body, "{\"v\": \"-inf\"}"));
	assert_non_null(strstr(body, "{\"v\": \"-0x1f\"}"));
	assert_non_null(strstr(body, "{\"v\": \"1.\"}"));
	assert_non_null(strstr(body, "{\"v\": \"-01\"}"));
	assert_non_null(strstr(body, "{\"v\": 0}"));
	assert_non_null(strstr(body, "{\"v\": -2.5e3}"));
	assert_non_null(strstr(body, "{\"v\": \"nan\"}"));
	free(body);
	ctl_out_free(o);
}

/* A live server. */

static char sock_path[108];
static struct dpak_dev *dev;
static struct dpak_flow *fwd_flow;

static int server_up(void **state)
{
	(void)state;
	char dir[] = "/tmp/dpak-test-ctl-XXXXXX";
	assert_non_null(mkdtemp(dir));
	snprintf(sock_path, sizeof(sock_path), "%s/s", dir);
	DPAK_OPTS(dpak_dev_opts, o, .ctl_path = sock_path);
	dev = dpak_dev_open("hwsim:", &o);
	fwd_flow = NULL;
	return dev ? 0 : -1;
}

static int server_down(void **state)
{
	(void)state;
	dpak_dev_close(dev);
	assert_int_equal(access(sock_path, F_OK), -1); /* removed */
	*strrchr(sock_path, '/') = 0;
	rmdir(sock_path);
	return 0;
}

static int conn(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	strcpy(sa.sun_path, sock_path);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Read the whole answer (until the server closes) within @ms. */
static int answer(int fd, char *buf, size_t cap, int ms)
{
	size_t len = 0;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, ms) != 1)
			return -1;
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	close(fd);
	return (int)len;
}

static void expect_code(const char *buf, int code)
{
	char want[32];
	snprintf(want, sizeof(want), "DPAK/1 %d ", code);
	if (strncmp(buf, want, strlen(want))) {
		fprintf(stderr, "answer '%s', wanted code %d\n", buf, code);
		fail();
	}
}

static void ask_ok(void)
{
	char buf[8192];
	int fd = conn();
	assert_int_equal(write(fd, "DPAK/1 version\n", 15), 15);
	assert_true(answer(fd, buf, sizeof(buf), 2000) > 0);
	expect_code(buf, 0);
	assert_non_null(strstr(buf, "hwsim"));
}

/* Frames still get forwarded: the data path never waits on the socket. */
static void forward_one(void)
{
	struct dpak_item_port in = { 3 };
	struct dpak_item_eth e = { .dst = { 2, 0, 0, 0, 0, 0xb } };
	struct dpak_item_eth em = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct dpak_item_vlan vl = { 0 };
	struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_ETH, &e, &em },
				  { DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port out = { 0 };
	struct dpak_action a[] = { { DPAK_ACTION_PORT, &out }, { DPAK_ACTION_END, NULL } };
	uint8_t frame[60] = { 2, 0, 0, 0, 0, 0xb, 2, 0, 0, 0, 0, 0xa, 0x88, 0xb5 }, buf[128];
	if (!fwd_flow)
		assert_int_equal(dpak_flow_add(dpak_table_get(dev, "l2"), it, a, NULL, &fwd_flow), 0);
	assert_int_equal(dpak_hwsim_inject(dev, 3, frame, sizeof(frame)), 0);
	assert_int_equal(dpak_hwsim_run(dev, 0), 1);
	assert_int_equal(dpak_hwsim_capture(dev, 0, buf, sizeof(buf)), 60);
}

static void test_malformed(void **state)
{
	(void)state;
	char buf[8192];
	int fd;

	fd = conn();
	assert_int_equal(write(fd, "hello\n", 6), 6);
	assert_true(answer(fd, buf, sizeof(buf), 2000) > 0);
	expect_code(buf, EPROTO);
	assert_non_null(strstr(buf, "not a DPAK/1 request"));

	fd = conn();
	assert_int_equal(write(fd, "DPAK/1 nosuch\n", 14), 14);
	assert_true(answer(fd, buf, sizeof(buf), 2000) > 0);
	expect_code(buf, ENOENT);
	assert_non_null(strstr(buf, "unknown command 'nosuch'"));

	/* Oversized: no newline within the limit. */
	fd = conn();
	static char big[CTL_MAX_REQ + 2000];
	memset(big, 'x', sizeof(big));
	ssize_t w = write(fd, big, sizeof(big));
	assert_true(w > 0);
	assert_true(answer(fd, buf, sizeof(buf), 2000) > 0);
	expect_code(buf, E2BIG);
	forward_one();
	ask_ok();
}

static void test_slow_clients(void **state)
{
	(void)state;
	char buf[8192];
	int idle[5], half;

	/* Clients that connect and say nothing, one that sends half a
	 * request: others are still answered at once, frames still move. */
	for (int i = 0; i < 5; i++)
		idle[i] = conn();
	half = conn();
	assert_int_equal(write(half, "DPAK/1 vers", 11), 11);
	ask_ok();
	forward_one();
	/* The half-sent request is answered with a timeout error. */
	assert_true(answer(half, buf, sizeof(buf), 8000) > 0);
	expect_code(buf, ETIMEDOUT);
	for (int i = 0; i < 5; i++)
		close(idle[i]);

	/* A client that asks for a lot and never reads: others go on. */
	int greedy = conn();
	assert_int_equal(write(greedy, "DPAK/1 list-commands\n", 21), 21);
	ask_ok();
	close(greedy);

	/* More clients than the server takes: the extra ones hear so. */
	int many[20], busy = 0;
	for (int i = 0; i < 20; i++)
		many[i] = conn();
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	for (int i = 0; i < 20; i++) {
		struct pollfd p = { many[i], POLLIN, 0 };
		if (poll(&p, 1, 0) == 1 && read(many[i], buf, sizeof(buf) - 1) > 0 &&
		    !strncmp(buf, "DPAK/1 16 ", 10))
			busy++;
		close(many[i]);
	}
	assert_true(busy >= 4);
	nanosleep(&ts, NULL);
	ask_ok();
	forward_one();
}

/* Read an answer to its end; *clean: it ended with end of file, not an
 * error such as a connection reset. */
static int answer_clean(int fd, char *buf, size_t cap, int ms, int *clean)
{
	size_t len = 0;
	*clean = 0;
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, ms) != 1)
			break;
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n == 0)
			*clean = 1;
		if (n <= 0) {
			if (n < 0)
				fprintf(stderr, "answer ends in: %s\n", strerror(errno));
			break;
		}
		len += (size_t)n;
	}
	buf[len] = 0;
	close(fd);
	return (int)len;
}

/* One request over the socket; the answer in buf; its code. */
static int ask(const char *line, char *buf, size_t cap)
{
	int fd = conn(), clean, code = -1;
	assert_int_equal(send(fd, line, strlen(line), MSG_NOSIGNAL), (ssize_t)strlen(line));
	assert_true(answer_clean(fd, buf, cap, 5000, &clean) > 0);
	assert_true(clean);
	assert_int_equal(sscanf(buf, "DPAK/1 %d", &code), 1);
	return code;
}

/* §12: a client beyond the 16 slots reads "too many clients", then end of
 * file: never a reset, even when it sent its request at once. */
static void test_too_many_clients(void **state)
{
	(void)state;
	char buf[8192];
	int idle[16], clean;

	for (int i = 0; i < 16; i++) /* accepted first: they fill the slots */
		idle[i] = conn();
	for (int k = 0; k < 5; k++) {
		int fd = conn();
		/* The request goes out before the server has looked. */
		ssize_t w = send(fd, "DPAK/1 version\n", 15, MSG_NOSIGNAL);
		assert_true(w == 15 || (w < 0 && errno == EPIPE));
		assert_true(answer_clean(fd, buf, sizeof(buf), 5000, &clean) > 0);
		expect_code(buf, EBUSY);
		assert_non_null(strstr(buf, "too many clients"));
		assert_true(clean);
	}
	for (int i = 0; i < 16; i++)
		close(idle[i]);
	/* The slots come free as the server sees those close. */
	for (int k = 0; k < 500 && ask("DPAK/1 version\n", buf, sizeof(buf)) == EBUSY; k++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	ask_ok();
}

/* §12: every answer is delivered before close: a client that keeps
 * sending past the request limit reads its E2BIG answer and end of file. */
static void test_answer_before_close(void **state)
{
	(void)state;
	static char big[1 << 20];
	char buf[8192];
	int fd = conn(), clean;
	size_t sent = 0;

	memset(big, 'x', sizeof(big));
	for (;;) { /* fill the socket: far more than the server reads */
		ssize_t n = send(fd, big + sent, sizeof(big) - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n <= 0)
			break;
		sent += (size_t)n;
	}
	assert_true(sent > 4 * CTL_MAX_REQ);
	assert_true(answer_clean(fd, buf, sizeof(buf), 5000, &clean) > 0);
	expect_code(buf, E2BIG);
	assert_true(clean);
	ask_ok();
}

/* §12: a peer of another user is answered at once and holds no slot:
 * 16 of them connected and silent leave room for the owner. */
static void test_refused_peer(void **state)
{
	(void)state;
	int res[2], go[2];
	char r = 0;

	if (geteuid() != 0) {
		skip(); /* needs to switch to another user */
		return;
	}
	assert_int_equal(chmod(sock_path, 0666), 0); /* the library's check, not the mode */
	char dir[108];
	snprintf(dir, sizeof(dir), "%s", sock_path);
	*strrchr(dir, '/') = 0;
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(pipe(res), 0);
	assert_int_equal(pipe(go), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		/* The child: another user; only plain calls from here on. */
		char b[512], ok = 1;
		int fds[16];
		if (setgroups(0, NULL) || setresgid(65534, 65534, 65534) ||
		    setresuid(65534, 65534, 65534))
			_exit(2);
		for (int i = 0; i < 16; i++) {
			struct sockaddr_un sa = { .sun_family = AF_UNIX };
			fds[i] = socket(AF_UNIX, SOCK_STREAM, 0);
			strcpy(sa.sun_path, sock_path);
			if (connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)))
				_exit(3);
			/* Sends nothing; the answer comes at once, then EOF. */
			size_t len = 0;
			for (;;) {
				struct pollfd p = { fds[i], POLLIN, 0 };
				if (poll(&p, 1, 3000) != 1) {
					ok = 0;
					break;
				}
				ssize_t n = read(fds[i], b + len, sizeof(b) - 1 - len);
				if (n < 0)
					ok = 0;
				if (n <= 0)
					break;
				len += (size_t)n;
			}
			b[len] = 0;
			if (strncmp(b, "DPAK/1 13 ", 10) || !strstr(b, "not the owner"))
				ok = 0;
		}
		if (write(res[1], &ok, 1) != 1)
			_exit(4);
		if (read(go[0], &ok, 1) < 0) /* keep the 16 open meanwhile */
			_exit(5);
		_exit(0);
	}
	close(res[1]);
	close(go[0]);
	assert_int_equal(read(res[0], &r, 1), 1);
	assert_int_equal(r, 1);
	ask_ok(); /* no slot is held by the refused ones */
	assert_int_equal(write(go[1], "x", 1), 1);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	close(res[0]);
	close(go[1]);
	assert_int_equal(chmod(sock_path, 0600), 0);
}

/* §4: capture into a sink that stops reading (a FIFO whose reader never
 * reads): rx_burst keeps returning, the control thread keeps answering,
 * the packets that do not fit are counted as dropped, and close returns. */
static void on_alarm(int sig)
{
	(void)sig;
	static const char m[] = "test-ctl: blocked (rx_burst, a request or close)\n";
	if (write(2, m, sizeof(m) - 1) < 0)
		_exit(1);
	_exit(1);
}

static void slow_path_burst(unsigned n, size_t len)
{
	uint8_t frame[1500] = { 2, 0, 0, 0, 0, 0x77, 2, 0, 0, 0, 0, 0xa, 0x88, 0xb5 };
	struct dpak_pkt *p[32];
	while (n) {
		unsigned k = n < 32 ? n : 32;
		for (unsigned i = 0; i < k; i++)
			assert_int_equal(dpak_hwsim_inject(dev, 4, frame, len), 0);
		assert_int_equal(dpak_hwsim_run(dev, 0), (int)k);
		int got = dpak_rx_burst(dev, 0, p, 32);
		assert_int_equal(got, (int)k); /* misses: up to the host */
		for (int i = 0; i < got; i++)
			dpak_pkt_free(dev, p[i]);
		n -= k;
	}
}

static void capture_status(char *buf, size_t cap, uint64_t *written, uint64_t *dropped,
			   char *state)
{
	unsigned long long w, d;
	char path[200];
	assert_int_equal(ask("DPAK/1 capture-status\n", buf, cap), 0);
	char *row = strchr(strchr(buf, '\n') + 1, '\n') + 1;
	assert_int_equal(sscanf(row, "%199s %15s %llu %llu", path, state, &w, &d), 4);
	*written = w;
	*dropped = d;
}

static void test_capture_slow_sink(void **state)
{
	(void)state;
	char buf[8192], fifo[140], rq[300], st[16];
	uint64_t written, dropped;

	signal(SIGALRM, on_alarm);
	alarm(120); /* a hang is the fault under test: fail instead */
	snprintf(fifo, sizeof(fifo), "%s", sock_path);
	strcpy(strrchr(fifo, '/'), "/fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	/* A reader that never reads. */
	int rd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	snprintf(rq, sizeof(rq), "DPAK/1 capture file=%s count=6000\n", fifo);
	assert_int_equal(ask(rq, buf, sizeof(buf)), 0);
	/* 6000 frames of 1500 bytes: far more than the buffers and the FIFO. */
	slow_path_burst(6000, 1500);
	ask_ok();
	forward_one();
	do {
		capture_status(buf, sizeof(buf), &written, &dropped, st);
	} while (strcmp(st, "done")); /* the writer gives up on the rest */
	assert_true(dropped > 0);
	assert_int_equal(written + dropped, 6000);
	assert_non_null(strstr(buf, "dropped"));
	/* The capture's final answer as dpak-ctl prints it carries the count. */

	/* A capture without an end, into the same stalled FIFO: capture-stop
	 * and then close return. */
	snprintf(rq, sizeof(rq), "DPAK/1 capture file=%s seconds=3600\n", fifo);
	assert_int_equal(ask(rq, buf, sizeof(buf)), 0);
	slow_path_burst(4000, 1500);
	assert_int_equal(ask("DPAK/1 capture-stop\n", buf, sizeof(buf)), 0);
	do {
		capture_status(buf, sizeof(buf), &written, &dropped, st);
	} while (strcmp(st, "done"));
	assert_true(dropped > 0);
	assert_int_equal(written + dropped, 4000);

	/* And one still running when the device closes (the teardown). */
	assert_int_equal(ask(rq, buf, sizeof(buf)), 0);
	slow_path_burst(4000, 1500);
	dpak_dev_close(dev);
	dev = NULL;
	alarm(0);
	close(rd);
	unlink(fifo);
}

/* A reader that goes away: the capture ends as failed, the process lives. */
static void test_capture_reader_gone(void **state)
{
	(void)state;
	char buf[8192], fifo[140], rq[300], st[16];
	uint64_t written, dropped;

	assert_int_equal(ask("DPAK/1 capture-stop\n", buf, sizeof(buf)), ENOENT);
	assert_int_equal(ask("DPAK/1 capture-status\n", buf, sizeof(buf)), 0);
	assert_non_null(strstr(buf, "\n-     none "));
	snprintf(fifo, sizeof(fifo), "%s", sock_path);
	strcpy(strrchr(fifo, '/'), "/fifo");
	assert_int_equal(mkfifo(fifo, 0600), 0);
	int rd = open(fifo, O_RDONLY | O_NONBLOCK);
	assert_true(rd >= 0);
	snprintf(rq, sizeof(rq), "DPAK/1 capture file=%s seconds=3600\n", fifo);
	assert_int_equal(ask(rq, buf, sizeof(buf)), 0);
	close(rd);
	slow_path_burst(100, 100);
	do {
		capture_status(buf, sizeof(buf), &written, &dropped, st);
	} while (!strcmp(st, "capturing"));
	do
		capture_status(buf, sizeof(buf), &written, &dropped, st);
	while (!strcmp(st, "flushing"));
	assert_string_equal(st, "failed");
	assert_non_null(strstr(buf, "Broken pipe"));
	/* Writing fails from the first write after the close (the file
	 * header or a record): what was taken until then is dropped. */
	assert_int_equal(written, 0);
	assert_true(dropped <= 100);
	/* A FIFO nobody has open: refused at once, nothing blocks. */
	snprintf(rq, sizeof(rq), "DPAK/1 capture file=%s count=1\n", fifo);
	assert_int_equal(ask(rq, buf, sizeof(buf)), ENXIO);
	assert_non_null(strstr(buf, "no reader"));
	unlink(fifo);
}

/* §4: flows pages. In-process requests, as the control thread runs them. */

static int run(const char *line, char **body)
{
	static struct ctl_req rq;
	long len;
	assert_int_equal(ctl_parse(line, strlen(line), &rq), 0);
	return ctl_run(dev, &rq, body, &len);
}

static int l2_add(uint32_t n, struct dpak_flow **f)
{
	struct dpak_item_port in = { 3 };
	struct dpak_item_eth e = { .dst = { 2, 0, (uint8_t)(n >> 24), (uint8_t)(n >> 16),
					    (uint8_t)(n >> 8), (uint8_t)n } };
	struct dpak_item_eth em = { .dst = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff } };
	struct dpak_item_vlan vl = { 0 };
	struct dpak_item it[] = { { DPAK_ITEM_PORT, &in, NULL }, { DPAK_ITEM_ETH, &e, &em },
				  { DPAK_ITEM_VLAN, &vl, NULL }, { DPAK_ITEM_END, NULL, NULL } };
	struct dpak_action_port out = { 0 };
	struct dpak_action a[] = { { DPAK_ACTION_PORT, &out }, { DPAK_ACTION_END, NULL } };
	return dpak_flow_add(dpak_table_get(dev, "l2"), it, a, NULL, f);
}

/* Follow the pages of a dump; count how often each id shows. */
static unsigned dump_all(const char *args, uint8_t *seen, uint32_t n_ids, unsigned *pages)
{
	char line[256], start[64] = "";
	unsigned rows = 0;
	*pages = 0;
	for (;;) {
		char *body;
		snprintf(line, sizeof(line), "DPAK/1 flows %s json=1%s%s", args,
			 start[0] ? " start=" : "", start);
		assert_int_equal(run(line, &body), 0);
		++*pages;
		for (char *p = body; (p = strstr(p, "\"id\": ")); p += 6) {
			unsigned long id = strtoul(p + 6, NULL, 10);
			if (id < n_ids)
				assert_true(seen[id]++ < 255);
			rows++;
		}
		char *nx = strstr(body, "\"next\": \"");
		start[0] = 0;
		if (nx)
			sscanf(nx + 9, "%63[^\"]", start);
		free(body);
		if (!start[0])
			return rows;
	}
}

#define N_FLOWS 100000

static int dumping, churn_stop;
static unsigned long adds_during_dump;

static void *churn(void *arg)
{
	(void)arg;
	struct dpak_flow *mine[64] = { 0 };
	for (uint32_t k = 0; !__atomic_load_n(&churn_stop, __ATOMIC_RELAXED); k++) {
		struct dpak_flow **slot = &mine[k % 64];
		if (*slot)
			assert_int_equal(dpak_flow_del(*slot), 0);
		int during = __atomic_load_n(&dumping, __ATOMIC_RELAXED);
		assert_int_equal(l2_add(0x1000000 + k, slot), 0);
		if (during && __atomic_load_n(&dumping, __ATOMIC_RELAXED))
			adds_during_dump++;
		struct timespec ts = { 0, 50 * 1000 }; /* a steady stream, not a spin */
		nanosleep(&ts, NULL);
	}
	for (int i = 0; i < 64; i++)
		if (mine[i])
			dpak_flow_del(mine[i]);
	return NULL;
}

static int dev_up(void **state)
{
	(void)state;
	dev = dpak_dev_open("hwsim:", NULL);
	return dev ? 0 : -1;
}

static int dev_down(void **state)
{
	(void)state;
	dpak_dev_close(dev);
	return 0;
}

/* flow-del: the device forgets the flow, so the table has room again
 * (in_use drops at once), and the application's later delete of its
 * record does not count it out twice. */
static void test_flow_del_frees_room(void **state)
{
	(void)state;
	struct dpak_table *l2 = dpak_table_get(dev, "l2");
	struct dpak_table_info ti = { .sz = sizeof(ti) };
	struct dpak_flow *a, *b;
	char line[64], *body;

	assert_int_equal(l2_add(1, &a), 0);
	assert_int_equal(l2_add(2, &b), 0);
	assert_int_equal(dpak_table_info(l2, &ti), 0);
	assert_int_equal(ti.in_use, 2);
	snprintf(line, sizeof(line), "DPAK/1 flow-del table=l2 id=0"); /* a: the first */
	assert_int_equal(run(line, &body), 0);
	free(body);
	assert_int_equal(dpak_table_info(l2, &ti), 0);
	assert_int_equal(ti.in_use, 1);
	assert_int_equal(dpak_flow_del(a), 0);
	assert_int_equal(dpak_table_info(l2, &ti), 0);
	assert_int_equal(ti.in_use, 1);
	assert_int_equal(dpak_flow_del(b), 0);
	assert_int_equal(dpak_table_info(l2, &ti), 0);
	assert_int_equal(ti.in_use, 0);
}

static void test_flows_paged(void **state)
{
	(void)state;
	static uint8_t seen[N_FLOWS + 2];
	static struct dpak_flow *handle[N_FLOWS];
	unsigned pages;
	char *body;

	for (uint32_t i = 0; i < N_FLOWS; i++)
		assert_int_equal(l2_add(i, &handle[i]), 0);
	/* Without changes: every flow exactly once, a page at a time. */
	assert_int_equal(dump_all("table=l2", seen, N_FLOWS, &pages), N_FLOWS);
	for (uint32_t i = 0; i < N_FLOWS; i++)
		assert_int_equal(seen[i], 1);
	assert_true(pages >= N_FLOWS / 1000);
	/* Every table (the others are empty), a small page size. */
	memset(seen, 0, sizeof(seen));
	assert_int_equal(dump_all("limit=7000", seen, N_FLOWS, &pages), N_FLOWS);
	for (uint32_t i = 0; i < N_FLOWS; i++)
		assert_int_equal(seen[i], 1);
	/* A page is bounded. */
	assert_int_equal(run("DPAK/1 flows limit=10001", &body), EINVAL);
	free(body);
	assert_int_equal(run("DPAK/1 flows table=l2 limit=3", &body), 0);
	assert_non_null(strstr(body, "more: start=l2:3"));
	free(body);

	/* The page's place survives its flow being deleted, and a flow-query
	 * in between. */
	assert_int_equal(run("DPAK/1 flows table=l2 limit=10", &body), 0);
	assert_non_null(strstr(body, "more: start=l2:10\n"));
	free(body);
	assert_int_equal(dpak_flow_del(handle[10]), 0);
	assert_int_equal(dpak_flow_del(handle[11]), 0);
	assert_int_equal(run("DPAK/1 flows table=l2 start=l2:10 limit=1 json=1", &body), 0);
	assert_non_null(strstr(body, "\"id\": 12,"));
	assert_non_null(strstr(body, "\"next\": \"l2:13\""));
	free(body);
	assert_int_equal(run("DPAK/1 flow-query table=l2 id=99999", &body), 0);
	free(body);
	assert_int_equal(run("DPAK/1 flow-query table=l2 id=11", &body), ENOENT);
	free(body);
	assert_int_equal(run("DPAK/1 flows table=l2 start=13 limit=2 json=1", &body), 0);
	assert_non_null(strstr(body, "\"id\": 13,"));
	assert_non_null(strstr(body, "\"next\": \"l2:15\""));
	free(body);
	assert_int_equal(run("DPAK/1 flows table=l2 start=10 limit=1 json=1", &body), 0);
	assert_non_null(strstr(body, "\"id\": 12,"));
	free(body);
	assert_int_equal(l2_add(10, &handle[10]), 0); /* back, with a new id */
	assert_int_equal(l2_add(11, &handle[11]), 0);

	/* With a flow added and deleted concurrently all the time: the adds
	 * make progress while the dump runs, and every flow present
	 * throughout is listed exactly once. */
	memset(seen, 0, sizeof(seen));
	pthread_t th;
	churn_stop = 0;
	adds_during_dump = 0;
	assert_int_equal(pthread_create(&th, NULL, churn, NULL), 0);
	__atomic_store_n(&dumping, 1, __ATOMIC_RELAXED);
	assert_true(dump_all("table=l2", seen, N_FLOWS + 2, &pages) >= N_FLOWS);
	__atomic_store_n(&dumping, 0, __ATOMIC_RELAXED);
	__atomic_store_n(&churn_stop, 1, __ATOMIC_RELAXED);
	pthread_join(th, NULL);
	for (uint32_t i = 0; i < N_FLOWS + 2; i++)
		assert_int_equal(seen[i], i == 10 || i == 11 ? 0 : 1);
	fprintf(stderr, "flow adds completed during the dump: %lu (%u pages)\n",
		adds_during_dump, pages);
	assert_true(adds_during_dump > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_render),
		cmocka_unit_test_setup_teardown(test_malformed, server_up, server_down),
		cmocka_unit_test_setup_teardown(test_slow_clients, server_up, server_down),
		cmocka_unit_test_setup_teardown(test_too_many_clients, server_up, server_down),
		cmocka_unit_test_setup_teardown(test_answer_before_close, server_up, server_down),
		cmocka_unit_test_setup_teardown(test_refused_peer, server_up, server_down),
		cmocka_unit_test_setup_teardown(test_capture_slow_sink, server_up, server_down),
		cmocka_unit_test_setup_teardown(test_capture_reader_gone, server_up, server_down),
		cmocka_unit_test_setup_teardown(test_flows_paged, dev_up, dev_down),
		cmocka_unit_test_setup_teardown(test_flow_del_frees_room, dev_up, dev_down),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
