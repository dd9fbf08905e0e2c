/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the control protocol: request parsing and the commands
 * behind it, against a real hwsim device (no socket).
 *
 * Built two ways:
 *  - with -DDPAK_LIBFUZZER and clang -fsanitize=fuzzer: a libFuzzer target
 *    (LLVMFuzzerTestOneInput);
 *  - otherwise: a driver for `make check` that runs a bounded number of
 *    inputs (default 100000; FUZZ_ITERATIONS overrides), mutated from
 *    valid requests with a fixed seed, and fails if anything crashes (the
 *    sanitizer run catches memory errors).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dpak/dpak.h>
#include "ctl.h"

static struct dpak_dev *dev;
static struct ctl_req req;

static void setup(void)
{
	if (dev)
		return;
	dpak_log_set_level(DPAK_LOG_ERR);
	dev = dpak_dev_open("hwsim:", NULL);
	if (!dev)
		abort();
}

static void one(const uint8_t *data, size_t size)
{
	char *body = NULL;
	long len = 0;

	if (ctl_parse((const char *)data, size, &req))
		return;
	/* Commands that change the device or write files are left out: the
	 * fuzzer would only reset it or fill the disk. */
	if (!strncmp(req.cmd, "hwsim-", 6) || !strcmp(req.cmd, "capture") ||
	    !strcmp(req.cmd, "set-log-level"))
		return;
	ctl_run(dev, &req, &body, &len);
	if (body && len >= 0 && memchr(body, 0, (size_t)len))
		abort(); /* a body is text */
	free(body);
}

#ifdef DPAK_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	one(data, size);
	return 0;
}
#else
static const char *const seeds[] = {
	"DPAK/1 version\n", "DPAK/1 flows table=l2 max=3 json=1\n",
	"DPAK/1 trace port=vf0 eth_dst=02:00:00:00:00:0b proto=tcp dport=80\n",
	"DPAK/1 trace port=1 hex=02000000000b02000000000a0800\n",
	"DPAK/1 flow-query table=l2 id=0\n", "DPAK/1 tables json=1\n",
	"DPAK/1 offload-stats\n", "DPAK/1 ports\n", "DPAK/1 queues\n",
	"DPAK/1 flows port=vf0 cookie=7\n", "DPAK/1 list-commands json=1\n",
	"DPAK/1 flows table=l2 limit=2 start=l2:1 json=1\n", "DPAK/1 flows start=acl:0 max=1\n",
	"DPAK/1 flows start=7 table=conn\n", "DPAK/1 capture-status\n", "DPAK/1 capture-stop\n",
};
static const char dict[] = "DPAK/1 =:x0 9vfjsontablehexportidstartlimit\n\t\xff";

int main(void)
{
	const char *it = getenv("FUZZ_ITERATIONS");
	unsigned long n = it ? strtoul(it, NULL, 10) : 100000;
	uint64_t s = 0x5eed;
	char buf[CTL_MAX_REQ + 64];

	setup();
	for (unsigned long i = 0; i < n; i++) {
		const char *seed = seeds[i % (sizeof(seeds) / sizeof(seeds[0]))];
		size_t len = strlen(seed);
		memcpy(buf, seed, len);
		for (int m = (int)(s % 6); m >= 0; m--) {
			s ^= s << 13, s ^= s >> 7, s ^= s << 17;
			size_t pos = (size_t)(s % (len + 1));
			switch ((s >> 32) % 4) {
			case 0: /* overwrite a byte */
				if (pos < len)
					buf[pos] = dict[(s >> 40) % (sizeof(dict) - 1)];
				break;
			case 1: /* insert a byte */
				if (len < sizeof(buf) - 1) {
					memmove(buf + pos + 1, buf + pos, len - pos);
					buf[pos] = dict[(s >> 40) % (sizeof(dict) - 1)];
					len++;
				}
				break;
			case 2: /* cut */
				len = pos;
				break;
			case 3: /* repeat a run */
				while (len + 64 < sizeof(buf) && (s >> 48) % 3) {
					memcpy(buf + len, buf, len < 64 ? len : 64);
					len += len < 64 ? len : 64;
					s >>= 2;
				}
				break;
			}
		}
		one((const uint8_t *)buf, len);
	}
	dpak_dev_close(dev);
	printf("ok: %lu mutated control requests, no crash\n", n);
	return 0;
}
#endif
