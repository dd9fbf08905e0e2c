/* SPDX-License-Identifier: MIT */
/* The device under test of the behaviour suite: see devspec.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "devspec.h"

extern char **environ;

/* How long a device process may take to say it is ready (ASan builds on a
 * loaded machine start slowly). */
#define READY_TIMEOUT_MS 60000

struct devproc {
	pid_t pid;
	unsigned bus;
	bool ended;      /* reaped */
	bool killed;     /* we stopped it at cleanup */
	int status;      /* waitpid status once ended */
	char log[320];
};

static struct {
	int backend;           /* 0 unknown, 1 hwsim, 2 pci */
	char dir[256];         /* the devices' directory (pci) */
	char prog[PATH_MAX];
	struct devproc *procs;
	size_t n_procs;
	unsigned next_bus;
	char **specs;          /* every string handed out */
	size_t n_specs;
	bool registered;
} ds;

static void backend_init(void)
{
	const char *b;

	if (ds.backend)
		return;
	b = getenv("DPAK_TEST_BACKEND");
	if (!b || !*b || !strcmp(b, "hwsim")) {
		ds.backend = 1;
	} else if (!strcmp(b, "pci")) {
		ds.backend = 2;
	} else {
		fprintf(stderr, "DPAK_TEST_BACKEND=%s: unknown backend (hwsim or pci)\n", b);
		exit(2);
	}
}

const char *test_backend(void)
{
	backend_init();
	return ds.backend == 2 ? "pci" : "hwsim";
}

bool test_backend_is_pci(void)
{
	backend_init();
	return ds.backend == 2;
}

const char *test_backend_text(const char *hwsim, const char *pci)
{
	return test_backend_is_pci() ? pci : hwsim;
}

static const char *keep(char *s)
{
	char **n;

	if (!s)
		fail_msg("out of memory");
	n = realloc(ds.specs, (ds.n_specs + 1) * sizeof(*n));
	if (!n)
		fail_msg("out of memory");
	ds.specs = n;
	ds.specs[ds.n_specs++] = s;
	return s;
}

static bool executable(const char *p)
{
	struct stat st;

	return !stat(p, &st) && S_ISREG(st.st_mode) && !access(p, X_OK);
}

/* $DPAK_HWSIM_PCI, else tools/dpak-hwsim-pci of the build tree. */
static const char *find_prog(void)
{
	const char *env = getenv("DPAK_HWSIM_PCI"), *top = getenv("top_builddir");
	char exe[PATH_MAX], cand[PATH_MAX + 64];
	ssize_t len;

	if (ds.prog[0])
		return ds.prog;
	if (env && *env) {
		if (!executable(env))
			fail_msg("DPAK_HWSIM_PCI=%s: not an executable file", env);
		snprintf(ds.prog, sizeof(ds.prog), "%s", env);
		return ds.prog;
	}
	if (top && *top) {
		snprintf(cand, sizeof(cand), "%s/tools/dpak-hwsim-pci", top);
		if (executable(cand) && realpath(cand, ds.prog))
			return ds.prog;
	}
	/* the test binary is BUILD/tests/x, or BUILD/tests/.libs/lt-x under
	 * libtool */
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
			if (executable(cand) && realpath(cand, ds.prog))
				return ds.prog;
		}
	}
	fail_msg("DPAK_TEST_BACKEND=pci: no dpak-hwsim-pci (set DPAK_HWSIM_PCI, "
		 "or build tools/dpak-hwsim-pci)");
	return NULL;
}

static void print_log(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		fprintf(stderr, "  | %s", line);
	fclose(f);
}

static void reap(struct devproc *p, bool block)
{
	int st;
	pid_t r;

	if (p->ended)
		return;
	do
		r = waitpid(p->pid, &st, block ? 0 : WNOHANG);
	while (r < 0 && errno == EINTR);
	if (r == p->pid) {
		p->ended = true;
		p->status = st;
	} else if (r < 0) { /* not ours any more: nothing to judge */
		p->ended = true;
		p->status = 0;
	}
}

static bool log_says_ready(const char *path)
{
	char line[512];
	bool ready = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return false;
	while (!ready && fgets(line, sizeof(line), f))
		ready = strstr(line, "ready") != NULL;
	fclose(f);
	return ready;
}

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[PATH_MAX + 256];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
			unlink(p);
		}
	closedir(d);
	rmdir(dir);
}

void test_devspec_cleanup(void)
{
	bool bad = false;

	for (size_t i = 0; i < ds.n_procs; i++) {
		struct devproc *p = &ds.procs[i];

		reap(p, false);
		if (p->ended)
			continue;
		/* still serving: its open failed before the driver connected,
		 * or the test kept the device open */
		kill(p->pid, SIGTERM);
		p->killed = true;
		for (int t = 0; t < 500 && !p->ended; t++) {
			usleep(10000);
			reap(p, false);
		}
		if (!p->ended) {
			kill(p->pid, SIGKILL);
			reap(p, true);
		}
	}
	for (size_t i = 0; i < ds.n_procs; i++) {
		struct devproc *p = &ds.procs[i];
		int st = p->status;

		if (p->killed || (WIFEXITED(st) && WEXITSTATUS(st) == 0))
			continue;
		bad = true;
		if (WIFSIGNALED(st))
			fprintf(stderr, "device process %d (bus 0x%02x) died by signal %d\n",
				(int)p->pid, p->bus, WTERMSIG(st));
		else
			fprintf(stderr, "device process %d (bus 0x%02x) exited %d\n",
				(int)p->pid, p->bus, WEXITSTATUS(st));
		print_log(p->log);
	}
	if (ds.dir[0]) {
		rm_dir(ds.dir);
		ds.dir[0] = 0;
	}
	free(ds.procs);
	ds.procs = NULL;
	ds.n_procs = 0;
	for (size_t i = 0; i < ds.n_specs; i++)
		free(ds.specs[i]);
	free(ds.specs);
	ds.specs = NULL;
	ds.n_specs = 0;
	if (bad) {
		fflush(stderr);
		_exit(1);
	}
}

static const char *start_pci(const char *args)
{
	const char *prog = find_prog();
	posix_spawn_file_actions_t fa;
	struct devproc *p, *np;
	char bdf[16], path[PATH_MAX + 64], sock[PATH_MAX + 64];
	char *argv[10];
	int argc = 0, err;
	pid_t pid;

	if (!ds.dir[0]) {
		const char *tmp = getenv("TMPDIR");
		if ((size_t)snprintf(ds.dir, sizeof(ds.dir), "%s/dpak-test.XXXXXX",
				     tmp && *tmp ? tmp : "/tmp") >= sizeof(ds.dir) - 40)
			fail_msg("TMPDIR=%s: too long for a socket path", tmp);
		if (!mkdtemp(ds.dir))
			fail_msg("mkdtemp %s: %s", ds.dir, strerror(errno));
		snprintf(path, sizeof(path), "%s/pci.dump", ds.dir);
		if (setenv("DPAK_PCI_DUMP", path, 1) ||
		    setenv("DPAK_HWSIM_PCI_DIR", ds.dir, 1))
			fail_msg("setenv: %s", strerror(errno));
		ds.next_bus = 0x10; /* clear of the buses the suite names */
	}
	if (!ds.registered) {
		atexit(test_devspec_cleanup);
		ds.registered = true;
	}
	/* reap the devices whose drivers have left */
	for (size_t i = 0; i < ds.n_procs; i++)
		reap(&ds.procs[i], false);
	if (ds.next_bus > 0xff)
		fail_msg("more than 255 devices under test in one process");
	np = realloc(ds.procs, (ds.n_procs + 1) * sizeof(*np));
	if (!np)
		fail_msg("out of memory");
	ds.procs = np;
	p = &ds.procs[ds.n_procs];
	memset(p, 0, sizeof(*p));
	p->bus = ds.next_bus++;
	snprintf(bdf, sizeof(bdf), "0000:%02x:00.0", p->bus);
	snprintf(p->log, sizeof(p->log), "%s/dev-%02x.log", ds.dir, p->bus);

	argv[argc++] = (char *)prog;
	argv[argc++] = (char *)"--once";
	argv[argc++] = (char *)"--dir";
	argv[argc++] = ds.dir;
	argv[argc++] = (char *)"--bdf";
	argv[argc++] = bdf;
	if (*args)
		argv[argc++] = (char *)args;
	argv[argc] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, p->log,
					 O_WRONLY | O_CREAT | O_TRUNC, 0644);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	err = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		fail_msg("starting %s: %s", prog, strerror(err));
	p->pid = pid;
	ds.n_procs++;

	/* ready: it says so on stdout, and its socket is there */
	snprintf(sock, sizeof(sock), "%s/%s.sock", ds.dir, bdf);
	for (int waited = 0;; waited += 5) {
		if (log_says_ready(p->log) && !access(sock, F_OK))
			break;
		reap(p, false);
		if (p->ended || waited >= READY_TIMEOUT_MS) {
			fprintf(stderr, "%s --once --dir %s --bdf %s %s:\n", prog,
				ds.dir, bdf, args);
			print_log(p->log);
			if (!p->ended) {
				kill(p->pid, SIGKILL);
				reap(p, true);
				p->killed = true;
			}
			fail_msg("device process for %s %s (status 0x%x)", bdf,
				 p->killed ? "not ready after 60 s" : "ended before it was ready",
				 (unsigned)p->status);
		}
		usleep(5000);
	}
	snprintf(path, sizeof(path), "pci:%s", bdf);
	return keep(strdup(path));
}

const char *test_devspec(const char *hwsim_args)
{
	char *s;

	if (!hwsim_args)
		hwsim_args = "";
	if (test_backend_is_pci())
		return start_pci(hwsim_args);
	if (asprintf(&s, "hwsim:%s", hwsim_args) < 0)
		s = NULL;
	return keep(s);
}
