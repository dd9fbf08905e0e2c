/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the vhost-user message parser and its application to a
 * session (hwsim/vhost_user.c). Parsing and applying must never crash,
 * and an accepted message must have the version, flags, size and
 * descriptor count its request calls for. Descriptors in the inputs are
 * -1 (nothing can be mapped); replies are dropped (no socket).
 *
 * Built two ways:
 *  - with -DDPAK_LIBFUZZER and clang -fsanitize=fuzzer: a libFuzzer target
 *    (LLVMFuzzerTestOneInput), for example from a build directory:
 *      clang -fsanitize=fuzzer,address -DDPAK_LIBFUZZER -include config.h \
 *        -I../include -Iinclude -I../lib -I../hwsim -I. ../tests/fuzz-vhost-msg.c \
 *        .libs/libdpak_core.a -lpcap -lpci -lpthread -o fuzz-vhost-msg-lf
 *    (the first input byte is the descriptor count, the rest the message)
 *  - otherwise: a driver for `make check` that runs a bounded number of
 *    inputs (default 1000000; FUZZ_ITERATIONS overrides): random messages
 *    and valid ones with bytes changed, with a fixed seed.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "vhost_user.h"

static unsigned long failures;

#define CHECK(cond, ...)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "fuzz-vhost-msg: " __VA_ARGS__);     \
			fprintf(stderr, "\n");                               \
			if (++failures > 20)                                 \
				abort();                                     \
		}                                                            \
	} while (0)

static struct vhu_session sess;
static struct vhu_msg msg;

static void one(const uint8_t *data, size_t len)
{
	int fds[16];
	unsigned nfds = len ? data[0] % 12 : 0;

	if (len) {
		data++;
		len--;
	}
	for (unsigned i = 0; i < 16; i++)
		fds[i] = -1;
	uint64_t before = sess.err.total;
	int r = vhu_parse(&sess, data, len, fds, nfds, &msg);
	CHECK(r == 0 || r == -EBADMSG || r == -EMSGSIZE || r == -ENOSYS ||
	      r == -EBADF || r == -E2BIG, "parse result %d", r);
	CHECK(r == 0 || sess.err.total == before + 1, "refusal not counted");
	if (r)
		return;
	CHECK((msg.flags & VHU_VERSION_MASK) == VHU_VERSION, "accepted flags 0x%x", msg.flags);
	CHECK(msg.size <= VHU_MAX_PAYLOAD && msg.size == len - VHU_HDR_SIZE,
	      "accepted size %u", msg.size);
	CHECK(msg.nfds <= VHU_MAX_FDS, "accepted %u fds", msg.nfds);
	CHECK(msg.request >= VHU_GET_FEATURES && msg.request <= VHU_SET_VRING_ENABLE,
	      "accepted request %u", msg.request);
	before = sess.err.total;
	r = vhu_handle(&sess, &msg);
	CHECK(r <= 0, "handle result %d", r);
	CHECK(r == 0 || sess.err.total == before + 1, "handle refusal not counted");
	CHECK(sess.nregions == 0, "a region was mapped from fd -1");
	for (unsigned i = 0; i < VHU_MAX_QUEUES; i++)
		CHECK(!sess.vq[i].started, "ring %u started without memory", i);
}

#ifdef DPAK_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int inited;
	if (!inited) {
		vhu_init(&sess, -1);
		inited = 1;
	}
	one(data, size);
	return 0;
}
#else
static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

/* A well-formed message of a random request, to be mutated. */
static size_t valid(uint8_t *b)
{
	static const uint32_t sizes[] = { 0, 0, 8, 0, 0, 0, 8, 8, 8, 40, 8, 8, 8,
					  8, 8, 0, 8, 0, 8 };
	uint32_t req = 1 + rnd() % 18;
	uint32_t flags = VHU_VERSION | (rnd() & 1 ? VHU_FLAG_NEED_REPLY : 0);
	uint32_t size = sizes[req];

	if (req == VHU_SET_MEM_TABLE)
		size = 8 + (1 + rnd() % 8) * 32;
	memcpy(b + 1, &req, 4);
	memcpy(b + 5, &flags, 4);
	memcpy(b + 9, &size, 4);
	for (uint32_t i = 0; i < size; i++)
		b[13 + i] = (uint8_t)(rnd() & 1 ? 0 : rnd());
	if (req == VHU_SET_MEM_TABLE)
		b[13] = (uint8_t)((size - 8) / 32);
	else if (size >= 4)
		b[13] &= 0x1f;
	b[0] = (uint8_t)(rnd() % 3);
	if (req == VHU_SET_MEM_TABLE)
		b[0] = b[13];
	return 13 + size;
}

int main(void)
{
	static uint8_t b[13 + VHU_MAX_PAYLOAD + 64];
	unsigned long n = 1000000;
	const char *e = getenv("FUZZ_ITERATIONS");

	if (e)
		n = strtoul(e, NULL, 0);
	vhu_init(&sess, -1);
	for (unsigned long i = 0; i < n; i++) {
		size_t len;
		switch (rnd() % 3) {
		case 0: /* random bytes */
			len = rnd() % 300;
			for (size_t k = 0; k < len; k++)
				b[k] = (uint8_t)rnd();
			break;
		case 1: /* valid */
			len = valid(b);
			break;
		default: /* valid, mutated */
			len = valid(b);
			for (unsigned k = 1 + rnd() % 3; k; k--)
				b[rnd() % len] ^= (uint8_t)(1u << (rnd() % 8));
			if (rnd() % 4 == 0)
				len = rnd() % (len + 1);
			break;
		}
		one(b, len);
	}
	vhu_fini(&sess);
	printf("fuzz-vhost-msg: %lu inputs, %llu refused, %llu applied, %lu failures\n",
	       n, (unsigned long long)sess.err.total, (unsigned long long)sess.messages,
	       failures);
	return failures ? 1 : 0;
}
#endif
