/* SPDX-License-Identifier: MIT */
/*
 * dpak-hwsim-pci: hwsim served as the PCIe device of
 * docs/device-interface.md, in a process of its own, over the hwsim
 * transport (a shared memfd and MSI-X eventfds handed over a Unix socket).
 * The pci backend drives it as it would drive silicon.
 *
 *   dpak-hwsim-pci [--dir DIR] [--bdf BDF] [--dma-mb N] [--once]
 *                  [--attach PORT=IFNAME]... [HWSIM-ARGS]
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "pcidev.h"

#define MAX_ATTACH 16

static volatile sig_atomic_t quit;

static void on_signal(int sig)
{
	(void)sig;
	quit = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: dpak-hwsim-pci [--dir DIR] [--bdf BDF] [--dma-mb N] [--once]\n"
		"                      [--attach PORT=IFNAME]... [HWSIM-ARGS]\n"
		"Serve hwsim as the dpak PCIe device (docs/device-interface.md) on\n"
		"the Unix socket DIR/BDF.sock, listed in DIR/pci.dump.\n"
		"  --dir DIR             where the socket and pci.dump live (default\n"
		"                        $DPAK_HWSIM_PCI_DIR, else /run/dpak-hwsim-pci)\n"
		"  --bdf BDF             the function's PCI address (default 0000:03:00.0)\n"
		"  --dma-mb N            the DMA window in MiB, 1 to 4096 (default 1024)\n"
		"  --once                exit when the first driver disconnects\n"
		"  --attach PORT=IFNAME  the port's wire is a Linux interface (repeatable);\n"
		"                        PORT: a port number, or uplinkN, pfN, vfN\n"
		"  HWSIM-ARGS            as after \"hwsim:\", e.g. uplinks=2,pfs=1,vfs=4,engine=thread\n");
}

static void log_msg(int level, const char *msg)
{
	static const char *const lv[] = { "error: ", "warning: ", "" };

	fprintf(stderr, "dpak-hwsim-pci: %s%s\n", lv[level < 0 || level > 2 ? 0 : level], msg);
}

static int bad(const char *fmt, const char *arg)
{
	fprintf(stderr, "dpak-hwsim-pci: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n(dpak-hwsim-pci --help for usage)\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "bdf", required_argument, NULL, 'b' },
		{ "dma-mb", required_argument, NULL, 'm' },
		{ "once", no_argument, NULL, 'o' },
		{ "attach", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *attach[MAX_ATTACH + 1] = { NULL };
	struct hw_pcidev_cfg cfg = { .log = log_msg, .attach = attach };
	struct hw_pcidev *fe;
	unsigned n_attach = 0;
	int c, err;

	/* Descriptors 0-2 closed by whoever started us would be taken by the
	 * shared memory or a socket, and a message would land in the device. */
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", fd ? O_WRONLY : O_RDONLY) != fd)
			return 1;

	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (!*optarg)
				return bad("--dir: an empty directory name%s", "");
			cfg.dir = optarg;
			break;
		case 'b':
			cfg.bdf = optarg;
			break;
		case 'm': {
			char *end;
			errno = 0;
			unsigned long mb = strtoul(optarg, &end, 10);
			if (errno || !*optarg || *end || mb < 1 || mb > 4096)
				return bad("--dma-mb %s: a number of MiB from 1 to 4096", optarg);
			cfg.dma_len = (size_t)mb << 20;
			break;
		}
		case 'o':
			cfg.once = 1;
			break;
		case 'a': {
			char *end;
			const char *eq = strchr(optarg, '='), *num = optarg;
			/* a port number, or uplinkN, pfN, vfN */
			if (!strncmp(num, "uplink", 6))
				num += 6;
			else if (!strncmp(num, "pf", 2) || !strncmp(num, "vf", 2))
				num += 2;
			unsigned long p = *num >= '0' && *num <= '9' ?
				strtoul(num, &end, 10) : (end = (char *)num, 0);
			if (!eq || end != eq || end == num || p > 63 || !eq[1] ||
			    strlen(eq + 1) > 15)
				return bad("--attach %s: expected PORT=IFNAME (a port number "
					   "or uplinkN, pfN, vfN, and an interface name of at "
					   "most 15 bytes)", optarg);
			if (n_attach == MAX_ATTACH)
				return bad("--attach %s: at most 16 attachments", optarg);
			attach[n_attach++] = optarg;
			break;
		}
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind + 1 < argc)
		return bad("unexpected argument '%s': the hwsim arguments are one word "
			   "(uplinks=2,vfs=2,...)", argv[optind + 1]);
	cfg.hwsim_args = optind < argc ? argv[optind] : "";
	if (cfg.bdf) {
		unsigned d, b, s, f;
		char end;
		if (sscanf(cfg.bdf, "%4x:%2x:%2x.%1u%c", &d, &b, &s, &f, &end) != 4 ||
		    strlen(cfg.bdf) != 12 || s > 31 || f > 7)
			return bad("--bdf %s: expected a PCI address DDDD:BB:DD.F "
				   "(0000:03:00.0)", cfg.bdf);
	}

	struct sigaction sa = { .sa_handler = on_signal };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((err = hw_pcidev_create(&cfg, &fe)))
		return err == -EINVAL ? 2 : 1;
	if (cfg.dma_len && cfg.dma_len < (64u << 20))
		fprintf(stderr, "dpak-hwsim-pci: warning: a DMA window of %zu MiB is below 64 MiB: "
			"a driver opening with its default options (queues=1, "
			"queue_size=1024, pool_size=4096) needs about 48 MiB\n",
			cfg.dma_len >> 20);
	printf("dpak-hwsim-pci: %s ready (socket %s; DPAK_PCI_DUMP=%s)\n",
	       cfg.bdf ? cfg.bdf : "0000:03:00.0", hw_pcidev_socket(fe),
	       hw_pcidev_dump_path(fe));
	fflush(stdout);
	while (!quit && !hw_pcidev_done(fe)) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	hw_pcidev_destroy(fe);
	return 0;
}
