/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the pci driver's checks of what the device writes
 * (docs/device-interface.md section 12.3): completion entries, per-entry
 * results and event entries. The checks must never crash, and must never
 * accept a completion whose command id, SQ head, done, failed or status is
 * out of range, nor an event of an unknown type.
 *
 * Built two ways:
 *  - with -DDPAK_LIBFUZZER and clang -fsanitize=fuzzer: a libFuzzer target
 *    (LLVMFuzzerTestOneInput), for example from a build directory:
 *      clang -fsanitize=fuzzer,address -DDPAK_LIBFUZZER -include config.h \
 *        -I../include -Iinclude -I../lib -I../hwsim -I. ../tests/fuzz-pci-cqe.c \
 *        .libs/libdpak_core.a -lpcap -lpci -lpthread -o fuzz-pci-cqe-lf
 *  - otherwise: a driver for `make check` that runs a bounded number of
 *    inputs (default 1000000; FUZZ_ITERATIONS overrides): random entries and
 *    valid ones with bits flipped, with a fixed seed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "backends/pci/drv.h"

static unsigned long failures;

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz-pci-cqe: " __VA_ARGS__);       \
			fprintf(stderr, "\n");                               \
			if (++failures > 20)                                 \
				abort();                                     \
		}                                                            \
	} while (0)

/* The properties an accepted completion has, checked independently. */
static void one_cqe(const struct devif_cqe *c, const struct pci_cq_expect *e)
{
	const char *why = NULL;
	int r = pci_cqe_check(c, e, &why);

	CHECK(r == 0 || r == -EBADMSG, "result %d", r);
	CHECK(r == 0 || why, "refused without a reason");
	if (r)
		return;
	uint32_t bound = e->count ? e->count : 1;
	CHECK(c->cid == e->cid, "accepted cid %u, expected %u", c->cid, e->cid);
	CHECK(c->status <= DEVIF_S_MAX, "accepted status 0x%x", c->status);
	CHECK(c->done <= bound, "accepted done %u > %u", c->done, bound);
	CHECK(c->failed <= c->done, "accepted failed %u > done %u", c->failed, c->done);
	CHECK(c->sq_head < e->aq_size, "accepted sq_head %u", c->sq_head);
	CHECK(!c->rsvd && !(c->flags & ~DEVIF_CQE_F_PHASE), "accepted reserved bits");
	CHECK(!c->failed || c->first_failed < c->done, "accepted first_failed %u",
	      c->first_failed);
	uint32_t m = e->aq_size - 1;
	uint32_t dh = (uint32_t)(c->sq_head - e->prev_head) & m;
	uint32_t dt = (uint32_t)(e->tail - e->prev_head) & m;
	CHECK((dh ? dh : e->aq_size) <= (dt ? dt : e->aq_size),
	      "accepted sq_head %u outside %u..%u", c->sq_head, e->prev_head, e->tail);
}

static void one_event(const struct devif_event *ev, int have, uint16_t last)
{
	const char *why = NULL;
	int r = pci_event_check(ev, have, last, &why);

	CHECK(r >= -1 && r <= 2, "event result %d", r);
	CHECK(r == 0 || why, "event refused without a reason");
	if (r == 0 || r == 2)
		CHECK(ev->type >= DEVIF_EV_LINK && ev->type <= DEVIF_EV_MAX,
		      "accepted event type %u", ev->type);
	if (r == 0 && have)
		CHECK(ev->seq == (uint16_t)(last + 1), "accepted a sequence gap");
}

static void one_result(const struct devif_entry_result *res)
{
	const char *why = NULL;
	int r = pci_result_check(res, &why);

	if (r)
		return;
	CHECK(res->status <= DEVIF_S_MAX && res->status != DEVIF_S_PARTIAL,
	      "accepted result status 0x%x", res->status);
	CHECK(res->status != DEVIF_S_OK || res->handle, "accepted handle 0");
	CHECK(!res->rsvd, "accepted a reserved field");
}

/* Input: a 32-byte entry (completion, event, or two results), then an
 * expectation. */
static void run(const uint8_t *data, size_t size)
{
	struct devif_cqe c;
	struct devif_event ev;
	struct devif_entry_result r[2];
	struct pci_cq_expect e;
	uint8_t buf[48] = { 0 };

	memcpy(buf, data, size < sizeof(buf) ? size : sizeof(buf));
	memcpy(&c, buf, 32);
	memcpy(&ev, buf, 32);
	memcpy(r, buf, 32);
	unsigned shift = buf[32] % 13; /* 1 .. 4096 entries, and a bad 0 */
	e.aq_size = buf[32] == 0xFF ? 0 : 1u << shift;
	e.cid = (uint16_t)(buf[33] | buf[34] << 8);
	e.prev_head = (uint16_t)((buf[35] | buf[36] << 8) & (e.aq_size ? e.aq_size - 1 : 0));
	e.tail = (uint16_t)((e.prev_head + 1 + buf[37]) & (e.aq_size ? e.aq_size - 1 : 0));
	memcpy(&e.count, buf + 38, 4);
	if (buf[42] & 1)
		e.count &= 0xFF;
	one_cqe(&c, &e);
	one_event(&ev, buf[43] & 1, (uint16_t)(buf[44] | buf[45] << 8));
	one_result(&r[0]);
	one_result(&r[1]);
}

#ifdef DPAK_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	run(data, size);
	return 0;
}
#else
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* A valid completion for an expectation, to mutate. */
static void valid(uint8_t *buf)
{
	struct devif_cqe c = { 0 };
	uint32_t size = 64, slot = rnd() % size, count = rnd() % 4 ? 1 + rnd() % 64 : 0;
	uint32_t out = 1 + rnd() % 8;

	c.cid = (uint16_t)rnd();
	c.done = count ? rnd() % (count + 1) : rnd() % 2;
	c.failed = c.done ? rnd() % (c.done + 1) : 0;
	c.first_failed = c.failed ? rnd() % c.done : DEVIF_NO_INDEX;
	c.status = c.failed ? DEVIF_S_PARTIAL : DEVIF_S_OK;
	c.sq_head = (uint16_t)((slot + 1 + rnd() % out) % size);
	c.flags = rnd() & 1;
	memcpy(buf, &c, 32);
	buf[32] = 6; /* 64 entries */
	buf[33] = (uint8_t)c.cid;
	buf[34] = (uint8_t)(c.cid >> 8);
	buf[35] = (uint8_t)slot;
	buf[36] = 0;
	buf[37] = (uint8_t)(out - 1 + rnd() % 3);
	memcpy(buf + 38, &count, 4);
	buf[42] = 0;
}

int main(void)
{
	const char *it = getenv("FUZZ_ITERATIONS");
	unsigned long n = it ? strtoul(it, NULL, 10) : 1000000, accepted = 0;
	uint8_t buf[48];

	for (unsigned long i = 0; i < n; i++) {
		if (i % 3 == 0) {
			for (size_t k = 0; k < sizeof(buf); k++)
				buf[k] = (uint8_t)rnd();
		} else {
			valid(buf);
			/* flip a few bits (none on every fourth: the valid one) */
			for (unsigned k = i % 4 ? 1 + rnd() % 3 : 0; k; k--)
				buf[rnd() % 32] ^= (uint8_t)(1u << (rnd() % 8));
		}
		run(buf, sizeof(buf));
		if (i % 3) {
			struct devif_cqe c;
			struct pci_cq_expect e = { (uint16_t)(buf[33] | buf[34] << 8),
						   buf[35], 0, 64, 0 };
			const char *why;
			memcpy(&c, buf, 32);
			e.tail = (uint16_t)((e.prev_head + 1 + buf[37]) & 63);
			memcpy(&e.count, buf + 38, 4);
			accepted += !pci_cqe_check(&c, &e, &why);
		}
	}
	if (failures)
		return 1;
	if (!accepted) {
		fprintf(stderr, "fuzz-pci-cqe: no valid completion was accepted\n");
		return 1;
	}
	printf("fuzz-pci-cqe: %lu inputs, %lu mutated completions accepted, no "
	       "check broken\n", n, accepted);
	return 0;
}
#endif
