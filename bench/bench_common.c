/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>
#include "bench.h"
#ifdef HAVE_DPDK
#include <rte_eal.h>
#include <rte_log.h>
#endif

void bench_header(int argc, char **argv, const char *what)
{
	bench_header_cols(argc, argv, what, "libdpak", "peer", "ratio");
}

void bench_header_cols(int argc, char **argv, const char *what, const char *col1,
		       const char *col2, const char *ratio)
{
	struct utsname u;
	char cpu[512] = "unknown";
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "model name", 10)) {
			char *c = strchr(line, ':');
			snprintf(cpu, sizeof(cpu), "%s", c ? c + 2 : line);
			cpu[strcspn(cpu, "\n")] = 0;
			break;
		}
	if (f)
		fclose(f);
	uname(&u);
	printf("# %s\n# machine: %s, %ld cpus, %s %s\n# command:", what, cpu,
	       sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release);
	for (int i = 0; i < argc; i++)
		printf(" %s", argv[i]);
	if (!strcmp(col1, "libdpak"))
		printf("\n%-44s %14s %14s %8s  %s\n", "metric", col1, col2, ratio, "unit");
	else
		printf("\n%-40s %12s %12s %10s  %s\n", "metric", col1, col2, ratio, "unit");
}

void bench_row(const char *metric, double ours, double peer, const char *unit)
{
	if (peer > 0)
		printf("%-44s %14.3f %14.3f %8.2f  %s\n", metric, ours, peer, ours / peer, unit);
	else
		printf("%-44s %14.3f %14s %8s  %s\n", metric, ours, "-", "-", unit);
	fflush(stdout);
}

int bench_eal_init(const char *prefix)
{
#ifdef HAVE_DPDK
	char fp[64];
	snprintf(fp, sizeof(fp), "--file-prefix=%s%d", prefix, (int)getpid());
	char *args[] = { "bench", "-l", "0", "--no-huge", "-m", "3072", "--no-pci",
			 fp, "--log-level=1", "--no-telemetry", NULL };
	int n = (int)(sizeof(args) / sizeof(args[0])) - 1;
	return rte_eal_init(n, args) < 0 ? -1 : 0;
#else
	(void)prefix;
	return -1;
#endif
}
