/* SPDX-License-Identifier: MIT */
/*
 * The control socket server: one thread of its own, non-blocking sockets
 * and poll(). One request per connection. A client may send at most one
 * line of CTL_MAX_REQ bytes, within CTL_TIMEOUT_MS; one that sends more, or
 * too slowly, or does not read its answer, is answered with an error (when
 * it can be) and dropped. A peer of another user and a client beyond the
 * CTL_CLIENTS slots get their error answer at once and hold no slot. Every
 * answer goes out before the connection closes, and a close never resets
 * it (the input is shut and drained first). Nothing here touches the data
 * path; a client can only hold up itself.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "core.h"
#include "ctl.h"

#define CTL_CLIENTS 16
#define CTL_TIMEOUT_MS 5000

struct client {
	int fd;
	char in[CTL_MAX_REQ];
	size_t in_len;
	char *out;
	size_t out_len, out_off;
	uint64_t deadline_ns;
};

struct dpak_ctl {
	struct dpak_dev *dev;
	int lfd, wake[2];
	pthread_t thread;
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct client c[CTL_CLIENTS];
};

/* Nothing more is read from @fd: the peer's further writes fail (EPIPE)
 * instead of queueing; what it sent before is read and thrown away, so
 * that close() does not reset the connection (a reset could cost the
 * client the answer it has not read yet). */
static void drain_input(int fd)
{
	char junk[4096];

	shutdown(fd, SHUT_RD);
	while (read(fd, junk, sizeof(junk)) > 0)
		; /* bounded: nothing arrives after SHUT_RD */
}

static void client_close(struct client *c)
{
	if (c->fd >= 0) {
		drain_input(c->fd);
		close(c->fd);
	}
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

/* A connection that gets one short answer and no slot: the answer fits an
 * empty socket buffer, so it is sent at once; then the write side is shut
 * (the client reads the answer, then end of file), the input drained, and
 * the connection closed. */
static void answer_and_close(int fd, int code, const char *msg)
{
	char buf[256];
	size_t ml = strlen(msg);
	int n = snprintf(buf, sizeof(buf), "%s %d %zu\n%s\n", CTL_PROTO, code, ml + 1, msg);

	if (n > 0 && send(fd, buf, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		(void)0; /* the client has gone: nothing to deliver */
	shutdown(fd, SHUT_WR);
	drain_input(fd);
	close(fd);
}

/* Queue a response: header and body. */
static void respond(struct client *c, int code, const char *body, long len)
{
	char hdr[64];
	int h = snprintf(hdr, sizeof(hdr), "%s %d %ld\n", CTL_PROTO, code, len);

	free(c->out);
	c->out = malloc((size_t)h + (size_t)len);
	if (!c->out) {
		client_close(c);
		return;
	}
	memcpy(c->out, hdr, (size_t)h);
	memcpy(c->out + h, body, (size_t)len);
	c->out_len = (size_t)h + (size_t)len;
	c->out_off = 0;
	c->deadline_ns = dpak__now_ns() + CTL_TIMEOUT_MS * 1000000ull;
	shutdown(c->fd, SHUT_RD); /* one request: nothing more is read */
}

static void respond_err(struct client *c, int code, const char *msg)
{
	char body[300];
	int n = snprintf(body, sizeof(body), "%s\n", msg);

	respond(c, code, body, n);
}

static void handle_request(struct dpak_ctl *ctl, struct client *c, size_t len)
{
	static __thread struct ctl_req req; /* 4 KiB: not on the stack */
	char *body = NULL;
	long blen = 0;
	int code, err;

	err = ctl_parse(c->in, len, &req);
	if (err) {
		respond_err(c, -err, req.err);
		return;
	}
	code = ctl_run(ctl->dev, &req, &body, &blen);
	respond(c, code, body ? body : "", body ? blen : 0);
	free(body);
}

static void on_readable(struct dpak_ctl *ctl, struct client *c)
{
	ssize_t n = read(c->fd, c->in + c->in_len, sizeof(c->in) - c->in_len);
	char *nl;

	if (n <= 0) {
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		client_close(c); /* gone before asking anything whole */
		return;
	}
	c->in_len += (size_t)n;
	if ((nl = memchr(c->in, '\n', c->in_len))) {
		handle_request(ctl, c, (size_t)(nl - c->in) + 1);
	} else if (c->in_len == sizeof(c->in)) {
		char msg[80];
		snprintf(msg, sizeof(msg), "request longer than %d bytes", CTL_MAX_REQ - 1);
		respond_err(c, E2BIG, msg);
	}
}

static void on_writable(struct client *c)
{
	ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
			 MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			client_close(c);
		return;
	}
	c->out_off += (size_t)n;
	if (c->out_off == c->out_len) { /* one request per connection */
		shutdown(c->fd, SHUT_WR); /* the answer, then end of file */
		client_close(c);
	}
}

/* Accept what is waiting. A peer of another user, and a client beyond
 * CTL_CLIENTS, is answered at once and closed: it never holds a slot. */
static void on_accept(struct dpak_ctl *ctl)
{
	for (;;) {
		struct ucred cred;
		socklen_t cl = sizeof(cred);
		int fd = accept4(ctl->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct client *c = NULL;

		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) ||
		    (cred.uid != geteuid() && cred.uid != 0)) {
			dpak__log(DPAK_LOG_WARN, "control socket: refused a connection from "
				  "uid %u", (unsigned)cred.uid);
			answer_and_close(fd, EACCES, "connection refused: not the owner of "
					 "the control socket");
			continue;
		}
		for (int i = 0; i < CTL_CLIENTS && !c; i++)
			if (ctl->c[i].fd < 0)
				c = &ctl->c[i];
		if (!c) {
			answer_and_close(fd, EBUSY, "too many clients");
			continue;
		}
		c->fd = fd;
		c->in_len = 0;
		c->deadline_ns = dpak__now_ns() + CTL_TIMEOUT_MS * 1000000ull;
	}
}

static void *ctl_main(void *arg)
{
	struct dpak_ctl *ctl = arg;
	struct pollfd pfd[CTL_CLIENTS + 2];
	int who[CTL_CLIENTS + 2];

	for (;;) {
		int n = 0;
		pfd[n++] = (struct pollfd){ ctl->wake[0], POLLIN, 0 };
		pfd[n++] = (struct pollfd){ ctl->lfd, POLLIN, 0 };
		for (int i = 0; i < CTL_CLIENTS; i++) {
			struct client *c = &ctl->c[i];
			if (c->fd < 0)
				continue;
			who[n] = i;
			pfd[n++] = (struct pollfd){ c->fd, c->out ? POLLOUT : POLLIN, 0 };
		}
		if (poll(pfd, (nfds_t)n, 200) < 0 && errno != EINTR)
			break;
		if (pfd[0].revents)
			break; /* stop */
		if (pfd[1].revents & POLLIN)
			on_accept(ctl);
		for (int k = 2; k < n; k++) {
			struct client *c = &ctl->c[who[k]];
			if (c->fd != pfd[k].fd)
				continue;
			if (pfd[k].revents & (POLLERR | POLLNVAL)) {
				client_close(c);
				continue;
			}
			if (c->out && (pfd[k].revents & (POLLOUT | POLLHUP)))
				on_writable(c);
			else if (!c->out && (pfd[k].revents & (POLLIN | POLLHUP)))
				on_readable(ctl, c);
		}
		/* Half-sent requests and answers nobody reads. */
		uint64_t now = dpak__now_ns();
		for (int i = 0; i < CTL_CLIENTS; i++) {
			struct client *c = &ctl->c[i];
			if (c->fd < 0 || now < c->deadline_ns)
				continue;
			if (c->out)
				client_close(c); /* its answer unread for 5 s */
			else
				respond_err(c, ETIMEDOUT, "request not completed within 5 s");
		}
	}
	return NULL;
}

int dpak__ctl_start(struct dpak_dev *dev, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct dpak_ctl *ctl;
	struct stat st;
	int err;

	if (strlen(path) >= sizeof(sa.sun_path))
		return dpak__err(ENAMETOOLONG, "ctl_path %s: longer than %zu bytes", path,
				 sizeof(sa.sun_path) - 1);
	ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return dpak__err(ENOMEM, "out of memory");
	ctl->dev = dev;
	ctl->lfd = ctl->wake[0] = ctl->wake[1] = -1;
	for (int i = 0; i < CTL_CLIENTS; i++)
		ctl->c[i].fd = -1;
	strcpy(ctl->path, path);
	strcpy(sa.sun_path, path);
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			free(ctl);
			return dpak__err(EEXIST, "ctl_path %s exists and is not a socket", path);
		}
		unlink(path); /* a stale socket of an earlier run */
	}
	ctl->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (ctl->lfd < 0 || bind(ctl->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(path, 0600) || /* before listen: nobody connects meanwhile */
	    listen(ctl->lfd, 16) || pipe2(ctl->wake, O_CLOEXEC)) {
		err = errno;
		goto fail;
	}
	if ((err = pthread_create(&ctl->thread, NULL, ctl_main, ctl)))
		goto fail;
	dev->ctl = ctl;
	return 0;
fail:
	if (ctl->lfd >= 0) {
		close(ctl->lfd);
		unlink(path);
	}
	if (ctl->wake[0] >= 0)
		close(ctl->wake[0]), close(ctl->wake[1]);
	free(ctl);
	return dpak__err(err, "control socket %s: %s", path, strerror(err));
}

void dpak__ctl_stop(struct dpak_dev *dev)
{
	struct dpak_ctl *ctl = dev->ctl;

	if (!ctl)
		return;
	if (write(ctl->wake[1], "x", 1) < 0)
		(void)0;
	pthread_join(ctl->thread, NULL);
	for (int i = 0; i < CTL_CLIENTS; i++)
		if (ctl->c[i].fd >= 0)
			client_close(&ctl->c[i]);
	close(ctl->lfd);
	close(ctl->wake[0]);
	close(ctl->wake[1]);
	unlink(ctl->path);
	free(ctl);
	dev->ctl = NULL;
}
