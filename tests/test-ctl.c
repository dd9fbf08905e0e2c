/* SPDX-License-Identifier: MIT */
/*
 * The control protocol and server: request parsing, and a live server fed
 * malformed, oversized, half-sent and unanswered requests, while the data
 * path keeps forwarding and other clients keep being answered.
 */
#include <errno.h>
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
#include <sys/un.h>
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
	parse_bad(big, CTL_MAX_REQ + 10, E2BIG, "longer than 4095");
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
	char big[6000];
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_render),
		cmocka_unit_test_setup_teardown(test_malformed, server_up, server_down),
		cmocka_unit_test_setup_teardown(test_slow_clients, server_up, server_down),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
