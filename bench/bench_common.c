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
	printf("\n%-44s %14s %14s %8s  %s\n", "metric", "libdpak", "peer", "ratio", "unit");
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
