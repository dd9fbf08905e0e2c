/* SPDX-License-Identifier: MIT */
/*
 * bench-cmdq: the pci backend's command queue, through the public API,
 * against the hwsim backend in the same run. Flow insertion one at a time
 * (dpak_flow_add: one ENTRY_ADD command each) and in batches
 * (dpak_flow_add_batch: one command and one doorbell per batch), deletion
 * one at a time (ENTRY_DEL), and the latency of one counter read
 * (dpak_flow_query: one COUNTER_READ), p50 and p99.
 *
 * "pci" is a dpak-hwsim-pci(8) process this program starts (--once, in a
 * temporary directory), driven by the pci backend over shared memory:
 * every row is a register-level round trip between two processes. "hwsim"
 * is the same device model in this process.
 *
 *   bench-cmdq [-n FLOWS] [-q QUERIES] [-p PATH-TO-dpak-hwsim-pci]
 *
 * The program is -p, else $DPAK_HWSIM_PCI, else tools/dpak-hwsim-pci of
 * the build tree this binary is in.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <dpak/dpak.h>
#include "bench.h"

extern char **environ;

#define KEY_FIELDS "in_port,eth_type,ip_proto,ipv4_src,ipv4_dst,l4_src,l4_dst"

struct flowspec {
	struct dpak_item_port port;
	struct dpak_item_ipv4 ip;
	struct dpak_item_tcp tcp;
	struct dpak_item items[4];
};

static const struct dpak_action_port OUT = { 1 };
static const struct dpak_action ACTS[] = {
	{ DPAK_ACTION_COUNT, NULL }, { DPAK_ACTION_PORT, &OUT }, { DPAK_ACTION_END, NULL },
};
static const struct dpak_item_ipv4 IP_MASK = { .src = 0xffffffff, .dst = 0xffffffff };

static void make_flows(struct flowspec *f, size_t n)
{
	uint64_t s = 0x9e3779b97f4a7c15ull;

	for (size_t i = 0; i < n; i++) {
		uint64_t r = bench_rand(&s), r2 = bench_rand(&s);
		struct flowspec *x = &f[i];

		memset(x, 0, sizeof(*x));
		x->port.id = (uint32_t)(i & 3);
		x->ip.src = (uint32_t)r;
		x->ip.dst = (uint32_t)(r >> 32) ^ (uint32_t)i; /* distinct */
		x->tcp.src_port = (uint16_t)r2;
		x->tcp.dst_port = (uint16_t)(r2 >> 16);
		x->items[0] = (struct dpak_item){ DPAK_ITEM_PORT, &x->port, NULL };
		x->items[1] = (struct dpak_item){ DPAK_ITEM_IPV4, &x->ip, &IP_MASK };
		x->items[2] = (struct dpak_item){ DPAK_ITEM_TCP, &x->tcp, NULL };
		x->items[3] = (struct dpak_item){ DPAK_ITEM_END, NULL, NULL };
	}
}

/* --- the device process -------------------------------------------------- */

static char dev_dir[256];
static pid_t dev_pid;

static const char *find_prog(const char *opt)
{
	static char prog[PATH_MAX];
	const char *env = getenv("DPAK_HWSIM_PCI");
	char exe[PATH_MAX], cand[PATH_MAX + 64];
	ssize_t len;

	if (opt)
		return opt;
	if (env && *env)
		return env;
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len > 0) {
		static const char *const up[] = { "/../tools/dpak-hwsim-pci",
						  "/../../tools/dpak-hwsim-pci" };
		char *slash;

		exe[len] = 0;
		if ((slash = strrchr(exe, '/')))
			*slash = 0;
		for (size_t i = 0; i < 2; i++) {
			snprintf(cand, sizeof(cand), "%s%s", exe, up[i]);
			if (!access(cand, X_OK) && realpath(cand, prog))
				return prog;
		}
	}
	return NULL;
}

static void stop_device(void)
{
	char p[sizeof(dev_dir) + 260];
	int st;

	if (dev_pid > 0) {
		/* --once: it ends when the driver leaves; otherwise stop it */
		for (int i = 0; i < 200 && waitpid(dev_pid, &st, WNOHANG) == 0; i++)
			usleep(10000);
		if (kill(dev_pid, 0) == 0) {
			kill(dev_pid, SIGTERM);
			waitpid(dev_pid, &st, 0);
		}
		dev_pid = 0;
	}
	if (dev_dir[0]) {
		DIR *d = opendir(dev_dir);
		struct dirent *e;

		while (d && (e = readdir(d)))
			if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
				snprintf(p, sizeof(p), "%s/%s", dev_dir, e->d_name);
				unlink(p);
			}
		if (d)
			closedir(d);
		if (rmdir(dev_dir))
			fprintf(stderr, "# left %s behind: %s\n", dev_dir, strerror(errno));
		dev_dir[0] = 0;
	}
}

/* Start dpak-hwsim-pci --once for one device at 0000:10:00.0 and point
 * discovery at it; returns the devspec. */
static const char *start_device(const char *prog)
{
	const char *tmp = getenv("TMPDIR");
	char log[sizeof(dev_dir) + 16], sock[sizeof(dev_dir) + 32], dump[sizeof(dev_dir) + 16];
	char *argv[] = { (char *)prog, "--once", "--dir", dev_dir, "--bdf", "0000:10:00.0", NULL };
	posix_spawn_file_actions_t fa;
	char line[512];
	int err, st;

	snprintf(dev_dir, sizeof(dev_dir), "%s/bench-cmdq.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dev_dir)) {
		fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
		exit(1);
	}
	snprintf(log, sizeof(log), "%s/device.log", dev_dir);
	snprintf(sock, sizeof(sock), "%s/0000:10:00.0.sock", dev_dir);
	snprintf(dump, sizeof(dump), "%s/pci.dump", dev_dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	err = posix_spawn(&dev_pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err) {
		fprintf(stderr, "starting %s: %s\n", prog, strerror(err));
		stop_device();
		exit(1);
	}
	for (int ms = 0;; ms += 5) {
		FILE *f = fopen(log, "r");
		int ready = 0;

		while (f && !ready && fgets(line, sizeof(line), f))
			ready = strstr(line, "ready") != NULL;
		if (f)
			fclose(f);
		if (ready && !access(sock, F_OK))
			break;
		if (waitpid(dev_pid, &st, WNOHANG) == dev_pid || ms > 60000) {
			FILE *lf = fopen(log, "r");

			fprintf(stderr, "%s did not get ready:\n", prog);
			while (lf && fgets(line, sizeof(line), lf))
				fprintf(stderr, "  | %s", line);
			if (lf)
				fclose(lf);
			if (ms > 60000)
				kill(dev_pid, SIGKILL);
			dev_pid = 0;
			stop_device();
			exit(1);
		}
		usleep(5000);
	}
	setenv("DPAK_PCI_DUMP", dump, 1);
	setenv("DPAK_HWSIM_PCI_DIR", dev_dir, 1);
	return "pci:0000:10:00.0";
}

/* --- the measurements ------------------------------------------------------ */

struct result {
	double one, batch64, batch512, del; /* flows per second */
	double q50, q99, qmax;              /* microseconds */
};

static struct dpak_dev *open_dev(const char *spec, size_t capacity)
{
	char ci[512];
	struct dpak_dev *dev;

	snprintf(ci, sizeof(ci),
		 "device key-sizes=10,26,42,58\n"
		 "table name=conn type=exact capacity=%zu action-bytes=16 key=" KEY_FIELDS "\n",
		 capacity);
	DPAK_OPTS(dpak_dev_opts, o, .configinfo_text = ci);
	dev = dpak_dev_open(spec, &o);
	if (!dev) {
		fprintf(stderr, "open %s: %s\n", spec, dpak_errmsg());
		stop_device();
		exit(1);
	}
	return dev;
}

static void die(const char *what, size_t i)
{
	fprintf(stderr, "%s at %zu: %s\n", what, i, dpak_errmsg());
	stop_device();
	exit(1);
}

/* Flows added per second, @batch at a time (0: dpak_flow_add). */
static double insert(struct dpak_table *t, struct flowspec *fs, size_t n, size_t batch,
		     struct dpak_flow **h)
{
	struct dpak_flow_req *reqs = calloc(batch ? batch : 1, sizeof(*reqs));
	double t0 = bench_now();

	for (size_t i = 0; i < n;) {
		if (!batch) {
			if (dpak_flow_add(t, fs[i].items, ACTS, NULL, &h[i]))
				die("add", i);
			i++;
			continue;
		}
		size_t k = n - i < batch ? n - i : batch;
		for (size_t j = 0; j < k; j++)
			reqs[j] = (struct dpak_flow_req){ fs[i + j].items, ACTS, NULL };
		if (dpak_flow_add_batch(t, reqs, k, &h[i], NULL) != (int)k)
			die("batch", i);
		i += k;
	}
	double dt = bench_now() - t0;
	free(reqs);
	return (double)n / dt;
}

static double delete_all(struct dpak_flow **h, size_t n)
{
	double t0 = bench_now();

	for (size_t i = 0; i < n; i++)
		if (dpak_flow_del(h[i]))
			die("del", i);
	return (double)n / (bench_now() - t0);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* dpak_flow_query() of @q flows picked at random among @n: latency of each
 * call, sorted. */
static void query(struct dpak_flow **h, size_t n, size_t q, struct result *r)
{
	double *lat = calloc(q, sizeof(*lat));
	uint64_t s = 12345;

	for (size_t i = 0; i < q; i++) {
		struct dpak_flow_stats st = { .sz = sizeof(st) };
		struct dpak_flow *f = h[bench_rand(&s) % n];
		double t0 = bench_now();

		if (dpak_flow_query(f, &st))
			die("query", i);
		lat[i] = (bench_now() - t0) * 1e6;
	}
	qsort(lat, q, sizeof(*lat), cmp_double);
	r->q50 = lat[q / 2];
	r->q99 = lat[q * 99 / 100];
	r->qmax = lat[q - 1];
	free(lat);
}

static struct result run(const char *spec, struct flowspec *fs, size_t n, size_t q)
{
	struct dpak_flow **h = calloc(n, sizeof(*h));
	struct result r;
	struct dpak_dev *dev = open_dev(spec, n * 2);
	struct dpak_table *t = dpak_table_at(dev, 0);

	r.one = insert(t, fs, n, 0, h);
	r.del = delete_all(h, n);
	r.batch64 = insert(t, fs, n, 64, h);
	delete_all(h, n);
	r.batch512 = insert(t, fs, n, 512, h);
	query(h, n, q, &r);
	delete_all(h, n);
	dpak_dev_close(dev);
	free(h);
	return r;
}

static void row(const char *metric, double hw, double pci, const char *unit)
{
	double r = pci / hw;

	printf("%-40s %12.1f %12.1f %10.*f  %s\n", metric, hw, pci, r < 0.1 ? 4 : 2, r, unit);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	size_t n = 20000, q = 20000;
	const char *prog_opt = NULL, *prog;
	int c, argc0 = argc;
	char **argv0 = calloc((size_t)argc + 1, sizeof(char *));

	for (int i = 0; i < argc; i++)
		argv0[i] = strdup(argv[i]);
	while ((c = getopt(argc, argv, "n:q:p:")) != -1) {
		if (c == 'n')
			n = strtoul(optarg, NULL, 10);
		else if (c == 'q')
			q = strtoul(optarg, NULL, 10);
		else if (c == 'p')
			prog_opt = optarg;
		else {
			fprintf(stderr, "usage: bench-cmdq [-n FLOWS] [-q QUERIES] "
				"[-p PATH-TO-dpak-hwsim-pci]\n");
			return 2;
		}
	}
	if (n < 1 || q < 1) {
		fprintf(stderr, "bench-cmdq: -n and -q must be at least 1\n");
		return 2;
	}
	prog = find_prog(prog_opt);
	if (!prog || access(prog, X_OK)) {
		fprintf(stderr, "bench-cmdq: no dpak-hwsim-pci (give -p PATH or set "
			"DPAK_HWSIM_PCI)\n");
		return 1;
	}
	char what[320];
	snprintf(what, sizeof(what), "the pci backend's command queue: flow insertion "
		 "(IPv4 5-tuple, exact table, %zu flows per run), deletion, counter "
		 "reads (%zu); pci: a dpak-hwsim-pci process, hwsim: in this process",
		 n, q);
	bench_header_cols(argc0, argv0, what, "hwsim", "pci", "pci/hwsim");

	struct flowspec *fs = calloc(n, sizeof(*fs));
	make_flows(fs, n);
	struct result hw = run("hwsim:", fs, n, q);
	struct result pci = run(start_device(prog), fs, n, q);
	stop_device();

	row("insert one at a time (dpak_flow_add)", hw.one / 1e3, pci.one / 1e3, "K flows/s");
	row("insert batch of 64 (dpak_flow_add_batch)", hw.batch64 / 1e3, pci.batch64 / 1e3,
	    "K flows/s");
	row("insert batch of 512", hw.batch512 / 1e3, pci.batch512 / 1e3, "K flows/s");
	row("delete one at a time (dpak_flow_del)", hw.del / 1e3, pci.del / 1e3, "K flows/s");
	row("counter read (dpak_flow_query), p50", hw.q50, pci.q50, "us");
	row("counter read, p99", hw.q99, pci.q99, "us");
	row("counter read, max", hw.qmax, pci.qmax, "us");
	free(fs);
	for (int i = 0; i < argc0; i++)
		free(argv0[i]);
	free(argv0);
	return 0;
}
