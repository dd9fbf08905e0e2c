/* SPDX-License-Identifier: MIT */
/*
 * dpak-ctl: ask a running libdpak application, over its control socket,
 * what its device holds. See dpak-ctl(8).
 *   dpak-ctl [-s SOCKET] [--json] COMMAND [name=value ...]
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>

#define PROTO "DPAK/1"
#define CTL_REQ_MAX 20480 /* the library's request limit (lib/ctl.h), newline included */
#define DEFAULT_SOCKET "/run/dpak/dpak.sock"
#define TIMEOUT_MS 10000

static const char *sock_path;
static char *answer_buf; /* the last answer; its body points into it */

static void usage(FILE *f)
{
	fprintf(f, "usage: dpak-ctl [-s SOCKET] [--json] COMMAND [name=value ...]\n"
		   "Talks to the libdpak control socket SOCKET (default: $DPAK_CTL_SOCKET,\n"
		   "else %s). 'dpak-ctl list-commands' lists the commands;\n"
		   "see dpak-ctl(8).\n", DEFAULT_SOCKET);
}

/* Send one request; the body goes to *body. Returns the response code
 * (0, an errno) or -1 when the exchange itself failed. */
static int ask(const char *req, char **body)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t cap = 65536, len = 0;
	char *buf;

	free(answer_buf);
	answer_buf = buf = malloc(cap);
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	if (!buf || fd < 0 || strlen(sock_path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "dpak-ctl: %s: cannot make a socket\n", sock_path);
		return -1;
	}
	strcpy(sa.sun_path, sock_path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "dpak-ctl: %s: %s%s\n", sock_path, strerror(errno),
			errno == ENOENT ? " (is the application running with "
			"ctl_path set? see -s)" : "");
		return -1;
	}
	/* The server may answer before reading (another user, too many
	 * clients) and shut its reading side: then sending fails with EPIPE,
	 * and the answer is there to read all the same. */
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req) &&
	    errno != EPIPE) {
		fprintf(stderr, "dpak-ctl: %s: %s\n", sock_path, strerror(errno));
		return -1;
	}
	for (;;) {
		struct pollfd p = { fd, POLLIN, 0 };
		if (poll(&p, 1, TIMEOUT_MS) != 1) {
			fprintf(stderr, "dpak-ctl: %s: no answer within %d s\n", sock_path,
				TIMEOUT_MS / 1000);
			return -1;
		}
		if (len + 4096 > cap) {
			char *nb = realloc(buf, cap *= 2);
			if (!nb)
				return -1;
			answer_buf = buf = nb;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "dpak-ctl: %s: %s\n", sock_path, strerror(errno));
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	int code;
	long blen;
	char *nl = memchr(buf, '\n', len);
	if (!nl || sscanf(buf, PROTO " %d %ld", &code, &blen) != 2 ||
	    (long)(len - (size_t)(nl + 1 - buf)) != blen) {
		fprintf(stderr, "dpak-ctl: %s: malformed answer\n", sock_path);
		return -1;
	}
	*body = nl + 1;
	return code;
}

static void free_answer(void)
{
	free(answer_buf);
}

/* Whether the command's arguments name @name=. */
static int has_arg(int argc, char **argv, int cmd, const char *name)
{
	size_t n = strlen(name);

	for (int k = cmd + 1; k < argc; k++)
		if (!strncmp(argv[k], name, n) && argv[k][n] == '=')
			return 1;
	return 0;
}

/*
 * flows: the server answers a page at a time and names where the next one
 * starts ("more: start=TOKEN" as the last line; "next" in JSON). Follow the
 * pages and print them as one answer: the text header once, one JSON array.
 * Each page is printed as it arrives, so memory stays one page.
 */
static int all_pages(const char *req, size_t req_len, const char *cmd, int json)
{
	char token[160] = "", page[CTL_REQ_MAX + 200];
	int first = 1, rows = 0;

	for (;;) {
		char *body;
		int n = snprintf(page, sizeof(page), "%.*s%s%s\n", (int)req_len, req,
				 token[0] ? " start=" : "", token);
		if (n < 0 || (size_t)n >= sizeof(page)) {
			fprintf(stderr, "dpak-ctl: request longer than %zu bytes\n", sizeof(page));
			return 2;
		}
		int code = ask(page, &body);
		if (code < 0)
			return 1;
		if (code) {
			fprintf(stderr, "dpak-ctl: %s: %s", cmd, body);
			return code > 125 ? 1 : code;
		}
		char *next = NULL, *end;
		token[0] = 0;
		if (json) {
			/* {"flows": [\n  {row},\n  {row}\n], "next": "T", ...}\n */
			char *open = strchr(body, '['), *close = NULL;
			if (open)
				close = open[1] == ']' ? open + 1 : strstr(open, "\n]");
			if (!close) {
				fprintf(stderr, "dpak-ctl: %s: malformed answer\n", sock_path);
				return 1;
			}
			if ((next = strstr(close, "\"next\": \""))) {
				next += 9;
				if (!(end = strchr(next, '"')) || end - next >= (long)sizeof(token))
					return fprintf(stderr, "dpak-ctl: malformed next\n"), 1;
				snprintf(token, sizeof(token), "%.*s", (int)(end - next), next);
			}
			char *rows_at = open + 1;
			if (first)
				fwrite(body, 1, (size_t)(rows_at - body), stdout);
			if (close > rows_at) { /* this page has rows */
				if (rows)
					fputs(",", stdout);
				fwrite(rows_at, 1, (size_t)(close - rows_at), stdout);
				rows++;
			}
			if (!token[0]) {
				fputs(rows ? "\n]}\n" : "]}\n", stdout);
				return 0;
			}
		} else {
			/* The last line says where to go on: "more: start=T". */
			char *m = strstr(body, "\nmore: start=");
			char *from = body;
			if (m) {
				next = m + 13;
				if (!(end = strchr(next, '\n')) || end - next >= (long)sizeof(token))
					return fprintf(stderr, "dpak-ctl: malformed next\n"), 1;
				snprintf(token, sizeof(token), "%.*s", (int)(end - next), next);
				m[1] = 0;
			}
			if (!first && (from = strchr(body, '\n')))
				from++; /* the column header once */
			if (from)
				fputs(from, stdout);
			if (!token[0])
				return 0;
		}
		first = 0;
	}
}

int main(int argc, char **argv)
{
	char req[CTL_REQ_MAX];
	int json = 0, i = 1;
	size_t o;

	sock_path = getenv("DPAK_CTL_SOCKET") ? getenv("DPAK_CTL_SOCKET") : DEFAULT_SOCKET;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json") || !strcmp(argv[i], "-j"))
			json = 1;
		else if (!strcmp(argv[i], "-s") && i + 1 < argc)
			sock_path = argv[++i];
		else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return usage(stdout), 0;
		else
			return usage(stderr), 2;
	}
	if (i == argc)
		return usage(stderr), 2;
	o = (size_t)snprintf(req, sizeof(req), "%s %s", PROTO, argv[i]);
	for (int k = i + 1; k < argc && o < sizeof(req); k++)
		o += (size_t)snprintf(req + o, sizeof(req) - o, " %s", argv[k]);
	if (json && o < sizeof(req))
		o += (size_t)snprintf(req + o, sizeof(req) - o, " json=1");
	if (o + 2 > sizeof(req)) {
		fprintf(stderr, "dpak-ctl: request longer than %zu bytes\n", sizeof(req) - 2);
		return 2;
	}
	req[o++] = '\n';
	req[o] = 0;

	char *body;
	atexit(free_answer);
	if (!strcmp(argv[i], "flows") && !has_arg(argc, argv, i, "start") &&
	    !has_arg(argc, argv, i, "max"))
		return all_pages(req, o - 1, argv[i], json);
	int code = ask(req, &body);
	if (code < 0)
		return 1;
	if (code) {
		fprintf(stderr, "dpak-ctl: %s: %s", argv[i], body);
		return code > 125 ? 1 : code;
	}
	fputs(body, stdout);
	/* capture runs in the application: wait for it to end (its buffered
	 * packets written or counted as dropped), then say so. */
	if (!strcmp(argv[i], "capture")) {
		char st[64];
		snprintf(st, sizeof(st), "%s capture-status%s\n", PROTO, json ? " json=1" : "");
		for (;;) {
			struct timespec ts = { 0, 200 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			if (access(sock_path, F_OK)) { /* the application closed the device */
				fprintf(stderr, "dpak-ctl: %s: the application closed its device "
					"(or ended); the capture ended with it: the file holds "
					"what was written until then\n", sock_path);
				return 1;
			}
			if ((code = ask(st, &body)) != 0)
				return code < 0 ? 1 : code;
			if (!strstr(body, "capturing") && !strstr(body, "flushing")) {
				fputs(body, stdout);
				break;
			}
		}
	}
	return 0;
}
