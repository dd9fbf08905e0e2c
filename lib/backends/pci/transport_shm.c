/* SPDX-License-Identifier: MIT */
/*
 * The hwsim transport (docs/device-interface.md section 13): connect to a
 * front end's Unix socket, receive its hello (struct devif_hello) with the
 * shared memfd and one eventfd per MSI-X vector (SCM_RIGHTS), and map the
 * memfd: BAR0, BAR2, BAR4 and the configuration space at their offsets,
 * the DMA window at dma_offset with bus address dma_iova. Nothing in the
 * hello is trusted: every offset and length is checked against the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include "core.h"
#include "transport.h"

struct shm_priv {
	int sock;
	void *map;
	size_t map_len;
};

static void shm_release(void *priv)
{
	struct shm_priv *p = priv;

	if (p->map)
		munmap(p->map, p->map_len);
	if (p->sock >= 0)
		close(p->sock); /* the device resets itself when we leave */
}

static void shm_close(struct pci_transport *t)
{
	pci_transport_free(t, shm_release);
}

/* Receive the hello and up to @max fds; returns the fds received or a
 * negative errno. */
static int recv_hello(int sock, struct devif_hello *h, int *fds, unsigned max)
{
	char cbuf[CMSG_SPACE(sizeof(int) * (DEVIF_N_VECTORS + 1))];
	struct iovec iov = { h, sizeof(*h) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c;
	ssize_t r;
	int n = 0;

	memset(cbuf, 0, sizeof(cbuf));
	do
		r = recvmsg(sock, &m, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	for (c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;
			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if ((unsigned)n < max)
				fds[n++] = fd;
			else
				close(fd);
		}
	}
	if ((size_t)r != sizeof(*h)) {
		for (int i = 0; i < n; i++)
			close(fds[i]);
		return -EPROTO;
	}
	if (m.msg_flags & MSG_CTRUNC) {
		for (int i = 0; i < n; i++)
			close(fds[i]);
		return -EMSGSIZE;
	}
	return n;
}

/* The checks of a hello against the file it came with; 0 or a message
 * (set through dpak__err) and a negative errno. */
static int pci_shm_hello_check(const struct devif_hello *h, const char *bdf, int n_fds,
			uint64_t file_size)
{
	if (h->magic != DEVIF_HELLO_MAGIC)
		return dpak__err(EPROTO, "pci %s: the front end's hello has magic "
				 "0x%08x, not 0x%08x (\"HELO\")", bdf, h->magic,
				 DEVIF_HELLO_MAGIC);
	if (h->version != DEVIF_HELLO_VERSION)
		return dpak__err(EPROTO, "pci %s: the front end speaks transport "
				 "version %u (this libdpak speaks %u)", bdf,
				 h->version, DEVIF_HELLO_VERSION);
	if (h->status == EBUSY)
		return dpak__err(EBUSY, "pci %s: the device is in use by another "
				 "driver", bdf);
	if (h->status)
		return dpak__err(h->status < 4096 ? (int)h->status : EPROTO,
				 "pci %s: the front end refused the connection "
				 "(status %u: %s)", bdf, h->status,
				 h->status < 4096 ? strerror((int)h->status) : "?");
	if (n_fds < 1)
		return dpak__err(EPROTO, "pci %s: the front end sent no shared "
				 "memory", bdf);
	if (h->n_vectors > DEVIF_N_VECTORS || (unsigned)n_fds != 1 + h->n_vectors)
		return dpak__err(EPROTO, "pci %s: the front end announced %u "
				 "interrupt vectors and sent %d descriptors", bdf,
				 h->n_vectors, n_fds);
	if (h->shm_size != file_size || file_size < DEVIF_SHM_DMA)
		return dpak__err(EPROTO, "pci %s: shared memory of %llu bytes, "
				 "announced %llu (at least 0x%x needed)", bdf,
				 (unsigned long long)file_size,
				 (unsigned long long)h->shm_size, DEVIF_SHM_DMA);
	if (h->dma_offset < DEVIF_SHM_DMA || h->dma_offset % 4096 || !h->dma_len ||
	    h->dma_len > file_size || h->dma_offset > file_size - h->dma_len ||
	    !h->dma_iova || h->dma_iova % 4096 || h->dma_iova + h->dma_len < h->dma_iova)
		return dpak__err(EPROTO, "pci %s: the DMA window (offset 0x%llx, "
				 "%llu bytes, bus address 0x%llx) does not lie in "
				 "the shared memory of %llu bytes", bdf,
				 (unsigned long long)h->dma_offset,
				 (unsigned long long)h->dma_len,
				 (unsigned long long)h->dma_iova,
				 (unsigned long long)file_size);
	return 0;
}

static int shm_open_once(const char *sock_path, const char *bdf,
			 uint32_t timeout_ms, struct pci_transport **out);

/* The front end serves one driver at a time and notices a driver that
 * left on its next poll: a device that answers EBUSY is asked again for
 * half a second before the answer stands. */
int pci_transport_shm_open(const char *sock_path, const char *bdf,
			   uint32_t timeout_ms, struct pci_transport **out)
{
	int err;

	for (int i = 0;; i++) {
		err = shm_open_once(sock_path, bdf, timeout_ms, out);
		if (err != -EBUSY || i >= 50)
			return err;
		struct timespec ts = { 0, 10000000 };
		nanosleep(&ts, NULL);
	}
}

static int shm_open_once(const char *sock_path, const char *bdf,
			 uint32_t timeout_ms, struct pci_transport **out)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fds[DEVIF_N_VECTORS + 1], n, err;
	struct devif_hello h;
	struct pci_transport *t;
	struct shm_priv *p;
	struct stat st;

	*out = NULL;
	if (strlen(sock_path) >= sizeof(sa.sun_path))
		return dpak__err(ENAMETOOLONG, "pci %s: socket path %s is too long",
				 bdf, sock_path);
	strcpy(sa.sun_path, sock_path);
	if ((err = pci_transport_new(sizeof(*p), bdf, shm_close, &t)))
		return err;
	p = t->priv;
	t->kind = "hwsim";
	p->sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (p->sock < 0) {
		err = dpak__err(errno, "pci %s: socket: %s", bdf, strerror(errno));
		goto fail;
	}
	if (connect(p->sock, (struct sockaddr *)&sa, sizeof(sa))) {
		if (errno == ECONNREFUSED)
			err = dpak__err(ENODEV, "pci %s: no device front end listens "
					"on %s (a stale socket left by a process that "
					"was killed?)", bdf, sock_path);
		else
			err = dpak__err(errno == ENOENT ? ENODEV : errno, "pci %s: "
					"cannot connect to the device front end at "
					"%s: %s", bdf, sock_path, strerror(errno));
		goto fail;
	}
	/* a front end that accepts and never answers (stopped, hung, not
	 * one at all) fails the open in the bring-up time, not never */
	uint32_t tmo = timeout_ms ? timeout_ms : DEVIF_RESET_MS;
	struct timeval tv = { (time_t)(tmo / 1000), (suseconds_t)(tmo % 1000) * 1000 };
	if (setsockopt(p->sock, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv))) {
		err = dpak__err(errno, "pci %s: setsockopt SO_RCVTIMEO: %s", bdf,
				strerror(errno));
		goto fail;
	}
	n = recv_hello(p->sock, &h, fds, DEVIF_N_VECTORS + 1);
	if (n == -EAGAIN || n == -EWOULDBLOCK) {
		err = dpak__err(ETIMEDOUT, "pci %s: the device front end at %s sent "
				"no hello within %u ms", bdf, sock_path, tmo);
		goto fail;
	}
	if (n < 0) {
		err = dpak__err(-n == EPROTO ? EPROTO : -n, "pci %s: no hello from "
				"the device front end at %s: %s", bdf, sock_path,
				-n == EPROTO ? "short message" : strerror(-n));
		goto fail;
	}
	if (n >= 1 && fstat(fds[0], &st)) {
		err = dpak__err(errno, "pci %s: fstat of the shared memory: %s", bdf,
				strerror(errno));
		for (int i = 0; i < n; i++)
			close(fds[i]);
		goto fail;
	}
	if ((err = pci_shm_hello_check(&h, bdf, n, n >= 1 ? (uint64_t)st.st_size : 0))) {
		for (int i = 0; i < n; i++)
			close(fds[i]);
		goto fail;
	}
	/* a file the other side can shrink would fault our next access
	 * (SIGBUS): only a memfd sealed against resizing is mapped */
	int seals = fcntl(fds[0], F_GET_SEALS);
	if (seals < 0 || !(seals & F_SEAL_SHRINK) || !(seals & F_SEAL_GROW)) {
		err = dpak__err(EPROTO, "pci %s: the device's shared memory is not "
				"sealed against resizing (F_SEAL_SHRINK); refused", bdf);
		for (int i = 0; i < n; i++)
			close(fds[i]);
		goto fail;
	}
	p->map_len = (size_t)h.shm_size;
	p->map = mmap(NULL, p->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fds[0], 0);
	close(fds[0]);
	for (int i = 1; i < n; i++)
		t->vec_fd[i - 1] = fds[i];
	if (p->map == MAP_FAILED) {
		p->map = NULL;
		err = dpak__err(errno, "pci %s: cannot map the shared memory (%zu "
				"bytes): %s", bdf, p->map_len, strerror(errno));
		goto fail;
	}
	t->bar0 = (volatile uint32_t *)((uint8_t *)p->map + DEVIF_SHM_BAR0);
	t->bar2 = (volatile uint32_t *)((uint8_t *)p->map + DEVIF_SHM_BAR2);
	t->bar4 = (volatile uint32_t *)((uint8_t *)p->map + DEVIF_SHM_BAR4);
	t->cfg = (const uint8_t *)p->map + DEVIF_SHM_CFG;
	t->dma = (uint8_t *)p->map + h.dma_offset;
	t->dma_len = (size_t)h.dma_len;
	t->dma_iova = h.dma_iova;
	t->conn_fd = p->sock;
	*out = t;
	return 0;
fail:
	shm_close(t);
	return err;
}
