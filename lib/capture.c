/* SPDX-License-Identifier: MIT */
/*
 * Slow-path capture (dpak-ctl capture): what dpak_rx_burst hands to the
 * switch, written to a pcap file by libpcap.
 *
 * Two halves that never wait on each other:
 *  - rx_burst (any thread, any queue) copies each packet into a bounded
 *    ring of records and returns: no I/O, no allocation, no lock of the
 *    flow path or the control thread. It holds dev->cap.lock only while
 *    copying (that lock orders the producers among themselves; the control
 *    thread takes it only to switch a capture on or off). A packet that
 *    does not fit is dropped and counted.
 *  - a writer thread of the capture's own formats the records with
 *    libpcap (pcap_dump into an in-memory stream) and writes them to the
 *    file descriptor, which is non-blocking, waiting in poll() with a
 *    short timeout. A sink that stops reading (a FIFO, a pipe into a
 *    paused tcpdump) only fills the ring.
 * When the capture ends (count reached, time up, capture-stop), the writer
 * goes on writing what is buffered for at most CAP_DRAIN_MS; whatever is
 * left then is counted as dropped: taken = written + dropped. Closing the
 * device stops the writer at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include <pcap/pcap.h>
#include "core.h"
#include "ctl.h"

#define CAP_RING_BYTES (4u << 20) /* a power of two */
#define CAP_SNAPLEN 65535u
#define CAP_OUT_BYTES (256u << 10)
#define CAP_OUT_RECS 64
#define CAP_TICK_MS 10
#define CAP_DRAIN_MS 1000

struct rec {          /* a ring record; the frame follows, padded to 8 */
	uint32_t len;     /* length on the wire */
	uint32_t caplen;  /* bytes kept */
	uint64_t ts_ns;   /* CLOCK_REALTIME */
};

#define REC_SIZE(caplen) (sizeof(struct rec) + (((size_t)(caplen) + 7) & ~(size_t)7))

struct dpak_capture {
	struct dpak_dev *dev;
	/* The ring: producers write at head under dev->cap.lock, the writer
	 * reads at tail; both published with release stores. */
	uint8_t *ring;
	uint64_t head, tail;
	/* Under dev->cap.lock (producers). */
	uint64_t left;        /* packets still to take; 0: no count limit */
	uint64_t taken;       /* packets the capture took (written or dropped) */
	uint64_t until_ns;    /* monotonic end; 0: none */
	int ended;            /* no more packets are taken (set under the lock) */
	/* Atomics read by capture-status. */
	uint64_t written, dropped;
	int state;            /* enum cap_state */
	int err;              /* write error that ended the capture */
	/* The writer's. */
	int fd, evfd, stop_now;
	pthread_t thread;
	int joined;
	FILE *stream;         /* libpcap writes here; it lands in out[] */
	pcap_dumper_t *dumper;
	uint8_t *out, *frame;
	size_t out_len, out_off;
	size_t out_end[CAP_OUT_RECS]; /* where each record in out[] ends */
	unsigned out_n;
	char path[256];
};

static void ring_put(struct dpak_capture *c, uint64_t at, const void *src, size_t n)
{
	size_t o = (size_t)(at & (CAP_RING_BYTES - 1)), first = CAP_RING_BYTES - o;

	if (first > n)
		first = n;
	memcpy(c->ring + o, src, first);
	memcpy(c->ring, (const uint8_t *)src + first, n - first);
}

static void ring_get(const struct dpak_capture *c, uint64_t at, void *dst, size_t n)
{
	size_t o = (size_t)(at & (CAP_RING_BYTES - 1)), first = CAP_RING_BYTES - o;

	if (first > n)
		first = n;
	memcpy(dst, c->ring + o, first);
	memcpy((uint8_t *)dst + first, c->ring, n - first);
}

/* The capture takes no more packets; the caller holds dev->cap.lock. */
static void end_locked(struct dpak_dev *dev, struct dpak_capture *c)
{
	__atomic_store_n(&c->ended, 1, __ATOMIC_RELAXED); /* capture-status reads it */
	__atomic_store_n(&dev->cap.active, 0, __ATOMIC_RELAXED);
}

/* rx_burst's half: copy, or drop and count. Only while a capture runs. */
void dpak__capture_pkts(struct dpak_dev *dev, struct dpak_pkt **pkts, int n)
{
	struct dpak_capture *c;
	struct timespec ts;

	pthread_mutex_lock(&dev->cap.lock);
	c = dev->cap.c;
	if (!c || c->ended) {
		pthread_mutex_unlock(&dev->cap.lock);
		return;
	}
	if (c->until_ns && dpak__now_ns() >= c->until_ns) {
		end_locked(dev, c);
		pthread_mutex_unlock(&dev->cap.lock);
		return;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	uint64_t head = c->head, tail = __atomic_load_n(&c->tail, __ATOMIC_ACQUIRE);
	for (int i = 0; i < n; i++) {
		uint32_t caplen = pkts[i]->len < CAP_SNAPLEN ? pkts[i]->len : CAP_SNAPLEN;
		size_t need = REC_SIZE(caplen);

		if (head + need - tail > CAP_RING_BYTES) {
			__atomic_fetch_add(&c->dropped, 1, __ATOMIC_RELAXED);
		} else {
			struct rec r = { pkts[i]->len, caplen, now };
			ring_put(c, head, &r, sizeof(r));
			ring_put(c, head + sizeof(r), pkts[i]->data, caplen);
			head += need;
		}
		c->taken++;
		if (c->left && !--c->left) {
			end_locked(dev, c);
			break;
		}
	}
	__atomic_store_n(&c->head, head, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&dev->cap.lock);
}

/* libpcap writes into a stdio stream whose bytes land in out[]; the writer
 * dumps a record only when it fits, so this never refuses. */
static ssize_t stream_write(void *cookie, const char *buf, size_t n)
{
	struct dpak_capture *c = cookie;

	if (n > CAP_OUT_BYTES - c->out_len)
		n = CAP_OUT_BYTES - c->out_len;
	memcpy(c->out + c->out_len, buf, n);
	c->out_len += n;
	return (ssize_t)n;
}

/* Records from the ring into out[], as pcap records. */
static void fill(struct dpak_capture *c)
{
	uint64_t head = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE), tail = c->tail;

	if (c->out_off) { /* keep the unwritten part at the front */
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		for (unsigned i = 0; i < c->out_n; i++)
			c->out_end[i] -= c->out_off;
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	while (tail < head && c->out_n < CAP_OUT_RECS) {
		struct rec r;
		ring_get(c, tail, &r, sizeof(r));
		if (c->out_len + 16 /* pcap record header */ + r.caplen > CAP_OUT_BYTES)
			break;
		ring_get(c, tail + sizeof(r), c->frame, r.caplen);
		struct pcap_pkthdr h = {
			.ts = { (time_t)(r.ts_ns / 1000000000u),
				(suseconds_t)(r.ts_ns % 1000000000u / 1000u) },
			.caplen = r.caplen,
			.len = r.len,
		};
		pcap_dump((u_char *)c->dumper, &h, c->frame);
		c->out_end[c->out_n++] = c->out_len;
		tail += REC_SIZE(r.caplen);
	}
	__atomic_store_n(&c->tail, tail, __ATOMIC_RELEASE);
}

/* Write what out[] holds, without blocking. 0, or an errno that ends it. */
static int flush_some(struct dpak_capture *c)
{
	while (c->out_off < c->out_len) {
		ssize_t n = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN ? 0 : errno;
		}
		c->out_off += (size_t)n;
	}
	/* Records written whole. */
	unsigned done = 0;
	while (done < c->out_n && c->out_end[done] <= c->out_off)
		done++;
	if (done) {
		__atomic_fetch_add(&c->written, done, __ATOMIC_RELAXED);
		memmove(c->out_end, c->out_end + done, (c->out_n - done) * sizeof(c->out_end[0]));
		c->out_n -= done;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	return 0;
}

static void *writer_main(void *arg)
{
	struct dpak_capture *c = arg;
	struct dpak_dev *dev = c->dev;
	uint64_t drain_until = 0;
	int err = 0;

	for (;;) {
		if (__atomic_load_n(&c->stop_now, __ATOMIC_ACQUIRE))
			break;
		uint64_t now = dpak__now_ns();
		pthread_mutex_lock(&dev->cap.lock);
		if (!c->ended && c->until_ns && now >= c->until_ns)
			end_locked(dev, c); /* a time limit ends even a quiet capture */
		int ended = c->ended;
		pthread_mutex_unlock(&dev->cap.lock);
		if (ended && !drain_until) {
			drain_until = now + CAP_DRAIN_MS * 1000000ull;
			__atomic_store_n(&c->state, CAP_FLUSHING, __ATOMIC_RELAXED);
		}
		fill(c);
		if ((err = flush_some(c)))
			break;
		int pending = c->out_len > 0;
		int more = __atomic_load_n(&c->head, __ATOMIC_ACQUIRE) != c->tail;
		if (ended && !pending && !more)
			break; /* all written */
		if (!pending && more)
			continue; /* the sink keeps up: go on */
		if (ended && now >= drain_until)
			break; /* the sink is too slow: the rest is dropped */
		struct pollfd p[2] = { { c->evfd, POLLIN, 0 }, { c->fd, POLLOUT, 0 } };
		if (poll(p, pending ? 2 : 1, CAP_TICK_MS) < 0 && errno != EINTR)
			break;
		if (pending && (p[1].revents & (POLLERR | POLLHUP)) && !(p[1].revents & POLLOUT)) {
			err = EPIPE; /* the reader went away */
			break;
		}
	}
	pthread_mutex_lock(&dev->cap.lock);
	end_locked(dev, c);
	uint64_t taken = c->taken;
	pthread_mutex_unlock(&dev->cap.lock);
	/* Every packet taken and not written whole is a drop. */
	uint64_t written = __atomic_load_n(&c->written, __ATOMIC_RELAXED);
	__atomic_store_n(&c->dropped, taken - written, __ATOMIC_RELAXED);
	if (err) {
		c->err = err;
		dpak__log(DPAK_LOG_WARN, "capture to %s: %s; %llu packets dropped", c->path,
			  strerror(err), (unsigned long long)(taken - written));
	}
	pcap_dump_close(c->dumper); /* closes the stream: nothing more to write */
	c->dumper = NULL;
	close(c->fd);
	c->fd = -1;
	__atomic_store_n(&c->state, err ? CAP_FAILED : CAP_DONE, __ATOMIC_RELEASE);
	return NULL;
}

static void cap_free(struct dpak_capture *c)
{
	if (!c)
		return;
	if (c->dumper)
		pcap_dump_close(c->dumper);
	else if (c->stream)
		fclose(c->stream);
	if (c->fd >= 0)
		close(c->fd);
	if (c->evfd >= 0)
		close(c->evfd);
	free(c->ring);
	free(c->out);
	free(c->frame);
	free(c);
}

/* Wait for the writer of the last capture (ended or told to end). */
static void cap_join(struct dpak_capture *c)
{
	if (c && !c->joined) {
		pthread_join(c->thread, NULL);
		c->joined = 1;
	}
}

/* The format of every capture file (Ethernet, CAP_SNAPLEN), for libpcap's
 * dumper: made once and kept; the dumpers only read it. */
static pcap_t *cap_format;
static void cap_format_init(void)
{
	cap_format = pcap_open_dead(DLT_EN10MB, (int)CAP_SNAPLEN);
}

int dpak__capture_start(struct dpak_dev *dev, const char *path, uint64_t count,
			uint64_t secs)
{
	struct dpak_capture *c, *old = dev->cap.c;
	int err;

	if (old && __atomic_load_n(&old->state, __ATOMIC_ACQUIRE) < CAP_DONE)
		return dpak__err(EBUSY, "a capture to %s is running", old->path);
	if (strlen(path) >= sizeof(c->path))
		return dpak__err(ENAMETOOLONG, "file=%s: longer than %zu bytes", path,
				 sizeof(c->path) - 1);
	c = calloc(1, sizeof(*c));
	if (!c)
		return dpak__err(ENOMEM, "out of memory");
	c->dev = dev;
	c->fd = c->evfd = -1;
	c->joined = 1;
	snprintf(c->path, sizeof(c->path), "%s", path);
	c->ring = malloc(CAP_RING_BYTES);
	c->out = malloc(CAP_OUT_BYTES);
	c->frame = malloc(CAP_SNAPLEN);
	if (!c->ring || !c->out || !c->frame) {
		cap_free(c);
		return dpak__err(ENOMEM, "out of memory for the capture buffer");
	}
	/* Non-blocking from the start: opening a FIFO nobody reads must not
	 * hold up the control thread either. */
	c->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC | O_NOCTTY,
		     0666);
	if (c->fd < 0) {
		err = errno;
		cap_free(c);
		if (err == ENXIO)
			return dpak__err(ENXIO, "file=%s: a FIFO with no reader (start the "
					 "reader first)", path);
		return dpak__err(err, "file=%s: %s", path, strerror(err));
	}
	static const cookie_io_functions_t io = { .write = stream_write };
	if ((c->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
	    !(c->stream = fopencookie(c, "w", io)) ||
	    setvbuf(c->stream, NULL, _IONBF, 0)) {
		err = errno ? errno : ENOMEM;
		cap_free(c);
		return dpak__err(err, "capture: %s", strerror(err));
	}
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, cap_format_init);
	if (!cap_format || !(c->dumper = pcap_dump_fopen(cap_format, c->stream))) {
		/* (pcap_dump_fopen writes the file header into out[]) */
		dpak__err(EIO, "capture: libpcap: %s", cap_format ? pcap_geterr(cap_format) :
			  "no pcap handle");
		cap_free(c);
		return -EIO;
	}
	c->stream = NULL; /* the dumper's now */
	c->left = count;
	c->until_ns = secs ? dpak__now_ns() + secs * 1000000000ull : 0;
	c->state = CAP_CAPTURING;
	/* The writer runs with every signal blocked: a reader that goes
	 * away makes write() fail with EPIPE, and the SIGPIPE that comes with
	 * it stays pending on that thread instead of ending the process. */
	sigset_t all, old_mask;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old_mask);
	err = pthread_create(&c->thread, NULL, writer_main, c);
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	if (err) {
		cap_free(c);
		return dpak__err(err, "capture: no writer thread: %s", strerror(err));
	}
	c->joined = 0;
	if (old) { /* the last capture, done: its writer has returned */
		cap_join(old);
	}
	pthread_mutex_lock(&dev->cap.lock);
	dev->cap.c = c;
	__atomic_store_n(&dev->cap.active, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&dev->cap.lock);
	cap_free(old); /* no producer can see it any more */
	return 0;
}

int dpak__capture_end(struct dpak_dev *dev)
{
	struct dpak_capture *c = dev->cap.c;

	if (!c)
		return dpak__err(ENOENT, "no capture since the device was opened");
	pthread_mutex_lock(&dev->cap.lock);
	end_locked(dev, c);
	pthread_mutex_unlock(&dev->cap.lock);
	return 0;
}

int dpak__capture_status(struct dpak_dev *dev, struct cap_status *st)
{
	struct dpak_capture *c = dev->cap.c;

	memset(st, 0, sizeof(*st));
	if (!c)
		return -ENOENT;
	st->state = __atomic_load_n(&c->state, __ATOMIC_ACQUIRE);
	if (st->state == CAP_CAPTURING && __atomic_load_n(&c->ended, __ATOMIC_RELAXED))
		st->state = CAP_FLUSHING; /* the writer has yet to see it */
	st->written = __atomic_load_n(&c->written, __ATOMIC_RELAXED);
	st->dropped = __atomic_load_n(&c->dropped, __ATOMIC_RELAXED);
	st->err = st->state == CAP_FAILED ? c->err : 0;
	snprintf(st->path, sizeof(st->path), "%s", c->path);
	return 0;
}

/* At device close: end now, drop what is buffered, free everything. */
void dpak__capture_stop(struct dpak_dev *dev)
{
	struct dpak_capture *c = dev->cap.c;

	if (!c)
		return;
	pthread_mutex_lock(&dev->cap.lock);
	end_locked(dev, c);
	dev->cap.c = NULL;
	pthread_mutex_unlock(&dev->cap.lock);
	__atomic_store_n(&c->stop_now, 1, __ATOMIC_RELEASE);
	if (c->evfd >= 0 && write(c->evfd, &(uint64_t){ 1 }, 8) < 0)
		(void)0; /* it also looks every CAP_TICK_MS */
	cap_join(c);
	cap_free(c);
}
