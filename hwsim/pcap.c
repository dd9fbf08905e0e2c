/* SPDX-License-Identifier: MIT */
/*
 * pcap files on hwsim ports, read and written with libpcap: a port's input
 * read from a file (pcap or pcapng, Ethernet link type), a port's output or
 * the slow-path packets written to one (pcap, microsecond timestamps).
 *
 * Input files are read by the engine as it takes their frames: a regular
 * file only (buffered reads of a local file), never a pipe it could wait on.
 *
 * Output never does file I/O on the data path. The pipeline copies each
 * frame into a bounded queue (a single-producer single-consumer byte ring)
 * and goes on; a thread of the attachment's own takes the frames out and
 * writes them with pcap_dump(). When the queue is full (the file's reader
 * is slower than the traffic, or stopped) the frame is dropped from the
 * file and counted; the device still forwards it. The file is opened
 * non-blocking, so a pipe or FIFO whose reader stopped holds up only the
 * writer thread, and closing gives up on such a sink after GRACE_MS and
 * counts what was left. Nothing is allocated per packet.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <pcap/pcap.h>
#include "dev.h"

#define QUEUE_BYTES (4u << 20) /* per output file */
#define GRACE_MS 500           /* at close, how long a stuck sink is waited for */
#define IDLE_NS 1000000        /* the writer's nap when the queue is empty */
#define REC_WRAP 0xffffffffu   /* record header: the rest of the ring is unused */

struct rec {
	uint32_t len;   /* frame bytes, or REC_WRAP */
	uint32_t rsvd;
	uint64_t ts_ns; /* CLOCK_REALTIME */
};

struct hw_pcap {
	enum hw_pcap_dir dir;
	/* input */
	pcap_t *in;
	int done;
	/* output: the queue; tail and qdrops written by the pipeline, head by
	 * the writer */
	uint8_t *q;
	uint64_t head, tail;
	uint64_t queued, taken, qdrops;
	uint64_t written, wdrops; /* written by the writer */
	int error;                /* first error, -errno (atomic) */
	int stop;                 /* close asked (atomic) */
	uint64_t stop_ns;         /* when (CLOCK_MONOTONIC) */
	int fd;
	FILE *f;
	pcap_t *dead;
	pcap_dumper_t *dump;
	pthread_t thread;
	int gone;                 /* close gave up waiting (atomic) */
	int told;                 /* drops were logged */
	void (*log)(int level, const char *msg);
	char path[128];
};

static void set_error(struct hw_pcap *pc, int err)
{
	int zero = 0;

	if (__atomic_compare_exchange_n(&pc->error, &zero, err, 0, __ATOMIC_RELAXED,
					__ATOMIC_RELAXED) && pc->log) {
		char msg[320];
		if (err == -ETIMEDOUT)
			snprintf(msg, sizeof(msg), "hwsim: pcap %s: its reader stopped "
				 "reading; closed without the frames still queued",
				 pc->path);
		else
			snprintf(msg, sizeof(msg), pc->dir == HW_PCAP_IN ?
				 "hwsim: pcap %s: %s; no more frames are read from it" :
				 "hwsim: pcap %s: %s; frames are no longer written",
				 pc->path, strerror(-err));
		pc->log(1, msg);
	}
}

/* Say once that frames were left out of the file. */
static void tell_drops(struct hw_pcap *pc)
{
	if (!pc->told && LOAD_RLX(&pc->qdrops) && pc->log) {
		char msg[320];
		pc->told = 1;
		snprintf(msg, sizeof(msg), "hwsim: pcap %s: the file falls behind the "
			 "traffic; frames are left out of it and counted "
			 "(dpak_hwsim_pcap_stats)", pc->path);
		pc->log(1, msg);
	}
}

/* The FILE under libpcap's dumper: writes to a non-blocking descriptor,
 * waiting for a full pipe to drain, but not past GRACE_MS after close. */
static ssize_t sink_write(void *cookie, const char *buf, size_t n)
{
	struct hw_pcap *pc = cookie;
	size_t off = 0;

	while (off < n) {
		ssize_t w = write(pc->fd, buf + off, n - off);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN) {
			set_error(pc, -errno);
			return 0;
		}
		if (LOAD_ACQ(&pc->stop) && hw_now_ns() - pc->stop_ns > GRACE_MS * 1000000ull) {
			set_error(pc, -ETIMEDOUT);
			return 0;
		}
		struct pollfd pfd = { .fd = pc->fd, .events = POLLOUT };
		tell_drops(pc);
		poll(&pfd, 1, 20);
	}
	return (ssize_t)n;
}

static int sink_close(void *cookie)
{
	struct hw_pcap *pc = cookie;

	return close(pc->fd);
}

static void pcap_free(struct hw_pcap *pc)
{
	if (pc->in)
		pcap_close(pc->in);
	if (pc->dead)
		pcap_close(pc->dead);
	free(pc->q);
	free(pc);
}

static void *writer_main(void *arg)
{
	struct hw_pcap *pc = arg;
	int dirty = 0;
	sigset_t pipe;

	/* A pipe whose reader is gone fails the write with EPIPE (counted)
	 * instead of killing the process. */
	sigemptyset(&pipe);
	sigaddset(&pipe, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe, NULL);

	for (;;) {
		uint64_t h = pc->head, t = LOAD_ACQ(&pc->tail);

		if (h == t) {
			if (dirty && !LOAD_RLX(&pc->error)) {
				pcap_dump_flush(pc->dump);
				dirty = 0;
			}
			if (LOAD_ACQ(&pc->stop) && h == LOAD_ACQ(&pc->tail))
				break;
			tell_drops(pc);
			struct timespec ts = { 0, IDLE_NS };
			nanosleep(&ts, NULL);
			continue;
		}
		const struct rec *r = (const struct rec *)(pc->q + h % QUEUE_BYTES);
		if (r->len == REC_WRAP) {
			STORE_REL(&pc->head, h + QUEUE_BYTES - h % QUEUE_BYTES);
			continue;
		}
		if (!LOAD_RLX(&pc->error)) {
			struct pcap_pkthdr ph = {
				.ts = { .tv_sec = (time_t)(r->ts_ns / 1000000000ull),
					.tv_usec = (suseconds_t)(r->ts_ns % 1000000000ull / 1000) },
				.caplen = r->len, .len = r->len,
			};
			pcap_dump((u_char *)pc->dump, &ph, (const u_char *)(r + 1));
			dirty = 1;
		}
		if (LOAD_RLX(&pc->error))
			STAT_ADD(pc->wdrops, 1);
		else
			STAT_ADD(pc->written, 1);
		STAT_ADD(pc->taken, 1);
		STORE_REL(&pc->head, h + ((sizeof(*r) + r->len + 15) & ~15ull));
	}
	pcap_dump_close(pc->dump); /* flushes (within the grace) and closes */
	if (__atomic_exchange_n(&pc->gone, 1, __ATOMIC_ACQ_REL))
		pcap_free(pc); /* close stopped waiting for us */
	return NULL;
}

/* The data path's side: queue a copy of the frame, or count it dropped. */
void pcap_write(struct hw_pcap *pc, const uint8_t *data, uint32_t len, uint64_t now)
{
	uint64_t t = pc->tail, h = LOAD_ACQ(&pc->head);
	uint64_t need = (sizeof(struct rec) + len + 15) & ~15ull;
	uint64_t room = QUEUE_BYTES - t % QUEUE_BYTES;
	struct timespec ts;
	struct rec *r;

	(void)now;
	if (room < need) { /* does not fit before the end: wrap first */
		if (t + room + need - h > QUEUE_BYTES)
			goto drop;
		((struct rec *)(pc->q + t % QUEUE_BYTES))->len = REC_WRAP;
		t += room;
	} else if (t + need - h > QUEUE_BYTES) {
		goto drop;
	}
	r = (struct rec *)(pc->q + t % QUEUE_BYTES);
	clock_gettime(CLOCK_REALTIME, &ts);
	r->len = len;
	r->ts_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
	memcpy(r + 1, data, len);
	STAT_ADD(pc->queued, 1);
	STORE_REL(&pc->tail, t + need);
	return;
drop:
	STAT_ADD(pc->qdrops, 1);
}

static int open_output(struct hw_pcap *pc, const char *path)
{
	static const cookie_io_functions_t io = { .write = sink_write,
						   .close = sink_close };
	int err;

	/* Non-blocking: a FIFO without a reader yet is opened read-write, so
	 * that opening does not wait for one. */
	pc->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NONBLOCK | O_CLOEXEC, 0644);
	if (pc->fd < 0 && errno == ENXIO)
		pc->fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (pc->fd < 0)
		return -errno;
	pc->q = malloc(QUEUE_BYTES);
	pc->f = pc->q ? fopencookie(pc, "w", io) : NULL;
	if (!pc->f) {
		close(pc->fd);
		return -ENOMEM;
	}
	setvbuf(pc->f, NULL, _IOFBF, 1 << 16);
	pc->dead = pcap_open_dead(DLT_EN10MB, 65535);
	if (!pc->dead || !(pc->dump = pcap_dump_fopen(pc->dead, pc->f))) {
		fclose(pc->f);
		return -ENOMEM;
	}
	if ((err = pthread_create(&pc->thread, NULL, writer_main, pc))) {
		pc->stop = 1; /* stop_ns 0: closing gives up at once */
		pcap_dump_close(pc->dump);
		return -err;
	}
	return 0;
}

static int open_input(struct hw_pcap *pc, const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE];
	FILE *f = fopen(path, "rb");
	struct stat st;

	if (!f)
		return -errno;
	/* The engine reads input files: a pipe could make it wait. */
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		fclose(f);
		return -ESPIPE;
	}
	pc->in = pcap_fopen_offline(f, errbuf);
	if (!pc->in) {
		fclose(f);
		return -EINVAL;
	}
	if (pcap_datalink(pc->in) != DLT_EN10MB)
		return -EPROTONOSUPPORT;
	return 0;
}

int hw_pcap_attach(struct hw_dev *dev, uint32_t port, enum hw_pcap_dir dir,
		   const char *path)
{
	struct hw_pcap *pc, **slot;
	int err;

	struct hw_bond *b = NULL;

	if (port != HW_PCAP_HOST && port >= dev->n_ports) {
		if (port >= dev->n_ports + HW_MAX_BONDS ||
		    !LOAD_ACQ(&dev->bonds[port - dev->n_ports].used))
			return -ENOENT;
		b = &dev->bonds[port - dev->n_ports];
	}
	if ((port == HW_PCAP_HOST || b) && dir != HW_PCAP_OUT)
		return -EINVAL;
	pc = calloc(1, sizeof(*pc));
	if (!pc)
		return -ENOMEM;
	pc->dir = dir;
	pc->fd = -1;
	pc->log = dev->cfg.log;
	snprintf(pc->path, sizeof(pc->path), "%s", path);
	err = dir == HW_PCAP_IN ? open_input(pc, path) : open_output(pc, path);
	if (err) {
		pcap_free(pc);
		return err;
	}
	if (b) {
		/* A bond's file: every frame its members send. bond_lock
		 * orders this with hw_bond_destroy, which closes the file. */
		pthread_mutex_lock(&dev->bond_lock);
		if (!b->used)
			err = -ENOENT;
		else if (b->pcap_out)
			err = -EBUSY;
		else
			STORE_REL(&b->pcap_out, pc);
		pthread_mutex_unlock(&dev->bond_lock);
		if (err)
			pcap_file_close(pc);
		return err;
	}
	pthread_mutex_lock(&dev->attach_lock);
	if (port == HW_PCAP_HOST)
		slot = &dev->pcap_host;
	else
		slot = dir == HW_PCAP_IN ? &dev->ports[port].pcap_in
					 : &dev->ports[port].pcap_out;
	if (*slot || (dir == HW_PCAP_IN && dev->ports[port].netdev))
		err = -EBUSY;
	else
		STORE_REL(slot, pc);
	pthread_mutex_unlock(&dev->attach_lock);
	if (err)
		pcap_file_close(pc);
	return err;
}

/* Feed the next records of a port's input file into its receive ring. */
unsigned pcap_feed(struct hw_dev *dev, struct hw_port *p, uint32_t port)
{
	struct hw_pcap *pc = p->pcap_in;
	unsigned n = 0;

	(void)dev;
	(void)port;
	while (!pc->done && n < HW_BURST) {
		struct hw_slot *s = ring_prod(&p->rx);
		struct pcap_pkthdr *ph;
		const u_char *data;
		int rc;

		if (!s)
			break;
		rc = pcap_next_ex(pc->in, &ph, &data);
		if (rc != 1) {
			if (rc == PCAP_ERROR)
				set_error(pc, -EIO);
			pc->done = 1;
			break;
		}
		if (ph->caplen > HW_MAX_FRAME || ph->caplen < 14) {
			/* skip what the port cannot carry */
			STAT_ADD(p->drops, 1);
			STAT_ADD(pc->qdrops, 1);
			continue;
		}
		memcpy(s->buf + HW_HEADROOM, data, ph->caplen);
		s->len = ph->caplen;
		ring_push(&p->rx);
		STAT_ADD(pc->written, 1);
		n++;
	}
	return n;
}

/* Tell an output file's writer to stop: it writes what is queued, but a
 * sink that stays stuck is given up GRACE_MS from now. Device close stops
 * every writer first and then joins them, so that their grace periods run
 * together. */
void pcap_file_stop(struct hw_pcap *pc)
{
	if (!pc || pc->dir != HW_PCAP_OUT || LOAD_ACQ(&pc->stop))
		return;
	pc->stop_ns = hw_now_ns();
	STORE_REL(&pc->stop, 1);
}

/* Close an attachment: an output file's writer writes what is queued and
 * stops; a sink that stays stuck is given up after GRACE_MS (counted from
 * pcap_file_stop if that came first). Returns even if the writer is stuck
 * in the kernel (the writer then frees itself). */
void pcap_file_close(struct hw_pcap *pc)
{
	struct timespec until;

	if (!pc)
		return;
	if (pc->dir == HW_PCAP_IN) {
		pcap_free(pc);
		return;
	}
	pcap_file_stop(pc);
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += GRACE_MS / 1000 + 2;
	if (!pthread_timedjoin_np(pc->thread, NULL, &until)) {
		pcap_free(pc);
		return;
	}
	pthread_detach(pc->thread);
	if (__atomic_exchange_n(&pc->gone, 1, __ATOMIC_ACQ_REL))
		pcap_free(pc); /* it finished meanwhile */
}

int hw_pcap_counters(struct hw_dev *dev, uint32_t port, enum hw_pcap_dir dir,
		     struct hw_pcap_counters *c)
{
	struct hw_pcap *pc;

	if (port != HW_PCAP_HOST && port >= dev->n_ports) {
		if (port >= dev->n_ports + HW_MAX_BONDS || dir != HW_PCAP_OUT)
			return -ENOENT;
		pthread_mutex_lock(&dev->bond_lock);
		pc = dev->bonds[port - dev->n_ports].used ?
		     dev->bonds[port - dev->n_ports].pcap_out : NULL;
		if (pc) {
			c->packets = LOAD_RLX(&pc->written);
			c->drops = LOAD_RLX(&pc->qdrops) + LOAD_RLX(&pc->wdrops);
			c->queued = LOAD_RLX(&pc->queued) - LOAD_RLX(&pc->taken);
			c->error = LOAD_RLX(&pc->error);
		}
		pthread_mutex_unlock(&dev->bond_lock);
		return pc ? 0 : -ENOENT;
	}
	pthread_mutex_lock(&dev->attach_lock);
	pc = port == HW_PCAP_HOST ? (dir == HW_PCAP_OUT ? dev->pcap_host : NULL)
	     : dir == HW_PCAP_IN ? dev->ports[port].pcap_in : dev->ports[port].pcap_out;
	if (pc) {
		c->packets = LOAD_RLX(&pc->written);
		c->drops = LOAD_RLX(&pc->qdrops) + LOAD_RLX(&pc->wdrops);
		c->queued = pc->dir == HW_PCAP_OUT ?
			    LOAD_RLX(&pc->queued) - LOAD_RLX(&pc->taken) : 0;
		c->error = LOAD_RLX(&pc->error);
	}
	pthread_mutex_unlock(&dev->attach_lock);
	return pc ? 0 : -ENOENT;
}
