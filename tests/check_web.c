/*
 * check_web.c — the web server and its API, over real sockets.
 *
 * A fixture builds an engine, feeds it a small capture made with the packet
 * builder (refused, aborted, completed, timeout, ICMP-unreachable, and an
 * IPv6 connection still established), publishes a snapshot of it and starts
 * the daemon on 127.0.0.1, port 0.  A tiny HTTP/1.1 client (plain sockets,
 * requests written by hand, chunked bodies decoded) drives it, and a small
 * strict JSON parser and a strict Prometheus text parser read the answers,
 * whose figures are checked against the scenario and the engine.  Then the
 * pure parsing functions, the token, the event stream, readers running
 * while snapshots are published (what `make tsan` runs), and the request
 * guard's thread leaving signals to the main thread.  And, with no
 * daemon: every capture of samples/ and tests/corpus/, whose JSON report's
 * summary must match /api/summary and /metrics field by field, as the
 * summary table (analyzer/reports/summary.c) lists them.
 *
 * Everything a test allocates or opens is registered and released by the
 * teardown, so a failing assertion leaks nothing under CK_FORK=no.  Waits
 * are bounded by generous deadlines; nothing asserts how fast a thing is
 * except that stopping the server ends open streams within 2 s.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <inttypes.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "analyzer/engine.h"
#include "analyzer/reports/report.h"
#include "analyzer/run/driver.h"
#include "analyzer/views/snapshot.h"
#include "capture/source.h"
#include "tests/pktbuild.h"
#include "tests/suites.h"
#include "web/assets.h"
#include "web/guard.h"
#include "web/render.h"
#include "web/route.h"
#include "web/server.h"

#define T0_SEC ((uint64_t)1700000000)
#define T0 (T0_SEC * SEC)
#define IO_TIMEOUT_SEC 10.0	/* a generous bound on any one exchange */
#define TOKEN "s3cret-Token_4242"	/* CS_WEB_TOKEN_MIN characters and one */

#define ARRAY_LEN(a) (sizeof (a) / sizeof (a)[0])

/* ---- test-lifetime memory and sockets ------------------------------------ */

/* Every allocation of a test is a block on this list, freed by the teardown. */
struct tblock {
	struct tblock *next;
	max_align_t mem[];
};
static struct tblock *tblocks;

static void *talloc(size_t n)
{
	struct tblock *b = malloc(sizeof *b + (n ? n : 1));

	ck_assert_ptr_nonnull(b);
	b->next = tblocks;
	tblocks = b;
	return b->mem;
}

static char *tstrndup(const char *s, size_t n)
{
	ck_assert_uint_lt(n, SIZE_MAX / 2);	/* (n + 1 cannot wrap: GCC -O3) */
	char *d = talloc(n + 1);

	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

__attribute__((format(printf, 1, 2)))
static char *tprintf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	ck_assert_int_ge(n, 0);
	char *s = talloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static void tfree_all(void)
{
	while (tblocks) {
		struct tblock *b = tblocks;
		tblocks = b->next;
		free(b);
	}
}

#define MAX_FDS 64
static int open_fds[MAX_FDS];
static int open_fd_cnt;

static void track_fd(int fd)
{
	ck_assert_int_lt(open_fd_cnt, MAX_FDS);
	open_fds[open_fd_cnt++] = fd;
}

static void close_fd(int fd)
{
	for (int i = 0; i < open_fd_cnt; i++)
		if (open_fds[i] == fd) {
			open_fds[i] = open_fds[--open_fd_cnt];
			break;
		}
	close(fd);
}

static void close_all_fds(void)
{
	while (open_fd_cnt)
		close(open_fds[--open_fd_cnt]);
}

/* A growing byte buffer on malloc, NUL-terminated: usable from any thread. */
struct buf {
	char *p;
	size_t len, cap;
};

static bool buf_add(struct buf *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *q = realloc(b->p, cap);
		if (!q)
			return false;
		b->p = q;
		b->cap = cap;
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
	return true;
}

static void buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int ms_left(double deadline)
{
	double left = deadline - mono();

	return left <= 0 ? 0 : (int)(left * 1000) + 1;
}

/* ---- the HTTP/1.1 client ------------------------------------------------- */

/* The IPv4 source address the next dials use (127.0.0.x: another client
 * of the same host, as the server counts clients), or NULL: the kernel's. */
static const char *dial_from;

/* A connected TCP socket to the loopback address of family af, or -1. */
static int dial(int af, uint16_t to_port)
{
	struct sockaddr_storage ss;
	socklen_t sl;

	memset(&ss, 0, sizeof ss);
	if (af == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(to_port);
		s6->sin6_addr = in6addr_loopback;
		sl = sizeof *s6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(to_port);
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		sl = sizeof *s4;
	}
	int fd = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	struct sockaddr_in from = { .sin_family = AF_INET };
	if (af == AF_INET && dial_from &&
	    (inet_pton(AF_INET, dial_from, &from.sin_addr) != 1 ||
	     bind(fd, (struct sockaddr *)&from, sizeof from) != 0)) {
		close(fd);
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Writes the request, reading whatever comes back meanwhile: a server may
 * answer an oversized request and close before it is all sent.  Returns
 * false once the server stops taking bytes (the caller reads on).
 */
static bool send_request(int fd, const char *p, size_t n, struct buf *in,
			 double deadline)
{
	size_t off = 0;

	while (off < n) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN | POLLOUT };
		int rc = poll(&pfd, 1, ms_left(deadline));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return false;
		if (pfd.revents & POLLIN) {
			char tmp[8192];
			ssize_t r = recv(fd, tmp, sizeof tmp, MSG_DONTWAIT);
			if (r > 0 && !buf_add(in, tmp, (size_t)r))
				return false;
			if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
				return false;
		}
		if (pfd.revents & (POLLERR | POLLHUP))
			return false;
		if (pfd.revents & POLLOUT) {
			ssize_t w = send(fd, p + off, n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w < 0 && errno != EAGAIN && errno != EINTR)
				return false;
			if (w > 0)
				off += (size_t)w;
		}
	}
	return true;
}

/* Reads until the server closes (or resets); false if the deadline passed. */
static bool read_to_eof(int fd, struct buf *in, double deadline)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int rc = poll(&pfd, 1, ms_left(deadline));
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return false;
		char tmp[8192];
		ssize_t r = recv(fd, tmp, sizeof tmp, 0);
		if (r > 0) {
			if (!buf_add(in, tmp, (size_t)r))
				return false;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		return true;
	}
}

/* Reads what is there within the deadline; false on EOF, error or timeout. */
static bool read_more(int fd, struct buf *in, double deadline)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	int rc;

	do
		rc = poll(&pfd, 1, ms_left(deadline));
	while (rc < 0 && errno == EINTR);
	if (rc <= 0)
		return false;
	char tmp[8192];
	ssize_t r = recv(fd, tmp, sizeof tmp, 0);
	return r > 0 && buf_add(in, tmp, (size_t)r);
}

/*
 * Decodes the complete chunks of a chunked body (RFC 9112 7.1) from p.
 * Returns the bytes consumed, or -1 if the framing is wrong; *last is set
 * when the last chunk (size 0) and the empty trailer were read.
 */
static long dechunk(const char *p, size_t n, struct buf *out, bool *last)
{
	size_t off = 0;

	*last = false;
	while (off < n) {
		size_t i = off, size = 0, digits = 0;
		while (i < n && ((p[i] >= '0' && p[i] <= '9') ||
				 (p[i] >= 'a' && p[i] <= 'f') || (p[i] >= 'A' && p[i] <= 'F'))) {
			unsigned d = p[i] <= '9' ? (unsigned)(p[i] - '0')
						 : (unsigned)((p[i] | 0x20) - 'a' + 10);
			if (++digits > 8)
				return -1;
			size = size * 16 + d;
			i++;
		}
		if (i + 2 > n)
			return (long)off;	/* the size line is not all here */
		if (!digits || p[i] != '\r' || p[i + 1] != '\n')
			return -1;
		i += 2;
		if (size == 0) {
			if (i + 2 > n)
				return (long)off;
			if (p[i] != '\r' || p[i + 1] != '\n')
				return -1;	/* no trailers are sent */
			*last = true;
			return (long)(i + 2);
		}
		if (i + size + 2 > n)
			return (long)off;
		if (p[i + size] != '\r' || p[i + size + 1] != '\n')
			return -1;
		if (!buf_add(out, p + i, size))
			return -1;
		off = i + size + 2;
	}
	return (long)off;
}

struct resp {
	int status;
	const char *head;	/* status line and header lines, NUL-terminated */
	const char *body;	/* decoded, NUL-terminated */
	size_t body_len;
	bool chunked;
	const char *raw;	/* what came on the wire, for messages */
};

/* The value of the first header called name (case-insensitive), or NULL. */
static const char *header(const struct resp *r, const char *name)
{
	size_t nl = strlen(name);
	const char *line = strstr(r->head, "\r\n");

	while (line && line[2]) {
		line += 2;
		const char *end = strstr(line, "\r\n");
		size_t len = end ? (size_t)(end - line) : strlen(line);
		if (len > nl && line[nl] == ':' && !strncasecmp(line, name, nl)) {
			const char *v = line + nl + 1;
			const char *ve = line + len;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			return tstrndup(v, (size_t)(ve - v));
		}
		line = end;
	}
	return NULL;
}

static int header_count(const struct resp *r, const char *name)
{
	size_t nl = strlen(name);
	int n = 0;

	for (const char *line = strstr(r->head, "\r\n"); line && line[2];
	     line = strstr(line + 2, "\r\n"))
		if (!strncasecmp(line + 2, name, nl) && line[2 + nl] == ':')
			n++;
	return n;
}

/*
 * Parses a whole response: status line, headers, and a body framed by
 * chunked encoding, Content-Length, or the end of the connection.  For
 * a HEAD request everything after the headers must be empty.
 */
static const char *parse_response(const char *raw, size_t n, bool head_req,
				  struct resp *r)
{
	const char *end = memmem(raw, n, "\r\n\r\n", 4);
	int status = 0;
	char sp = 0;

	memset(r, 0, sizeof *r);
	r->raw = raw;
	if (!end)
		return "no end of the header block";
	if (n < 13 || memcmp(raw, "HTTP/1.1 ", 9) ||
	    sscanf(raw + 9, "%3d%c", &status, &sp) != 2 || sp != ' ' ||
	    status < 100 || status > 599)
		return "bad status line";
	r->status = status;
	r->head = tstrndup(raw, (size_t)(end - raw) + 2);
	const char *body = end + 4;
	size_t blen = n - (size_t)(body - raw);

	const char *te = header(r, "Transfer-Encoding");
	const char *cl = header(r, "Content-Length");
	if (head_req) {
		if (blen)
			return "a body after the headers of a HEAD response";
		r->body = tstrndup("", 0);
		return NULL;
	}
	if (te) {
		struct buf out = { 0 };
		bool last;
		if (strcasecmp(te, "chunked"))
			return "a transfer coding other than chunked";
		r->chunked = true;
		long used = dechunk(body, blen, &out, &last);
		if (used < 0 || !last || (size_t)used != blen) {
			buf_free(&out);
			return "bad chunked framing";
		}
		r->body = tstrndup(out.p ? out.p : "", out.len);
		r->body_len = out.len;
		buf_free(&out);
		return NULL;
	}
	if (cl) {
		char *e;
		unsigned long long want = strtoull(cl, &e, 10);
		if (*e || !*cl)
			return "bad Content-Length";
		if (want != blen)
			return "body length differs from Content-Length";
	}
	r->body = tstrndup(body, blen);
	r->body_len = blen;
	return NULL;
}

static uint16_t port;		/* of the fixture's server */

/* One request (or several) on a new connection, read to the end. */
static const char *exchange_raw(int af, uint16_t to_port, const char *req, size_t len,
				size_t *raw_len)
{
	int fd = dial(af, to_port);
	ck_assert_msg(fd >= 0, "cannot connect to port %u: %s", to_port, strerror(errno));
	track_fd(fd);

	struct buf in = { 0 };
	double deadline = mono() + IO_TIMEOUT_SEC;
	send_request(fd, req, len, &in, deadline);
	bool closed = read_to_eof(fd, &in, deadline);
	close_fd(fd);
	char *raw = tstrndup(in.p ? in.p : "", in.len);
	*raw_len = in.len;
	buf_free(&in);

	ck_assert_msg(closed, "no end of the response to '%.80s' within %.0f s (got %zu bytes)",
		      req, IO_TIMEOUT_SEC, *raw_len);
	return raw;
}

static struct resp *exchange_on(int af, uint16_t to_port, const char *req,
				size_t len, bool head_req)
{
	size_t raw_len;
	const char *raw = exchange_raw(af, to_port, req, len, &raw_len);
	struct resp *r = talloc(sizeof *r);
	const char *why = parse_response(raw, raw_len, head_req, r);
	ck_assert_msg(!why, "response to '%.80s': %s: '%.300s'", req, why, raw);
	return r;
}

static struct resp *request_host(const char *method, const char *target,
				 const char *host, const char *extra_headers)
{
	const char *req = tprintf("%s %s HTTP/1.1\r\nHost: %s\r\n"
				  "Connection: close\r\n%s\r\n", method, target, host,
				  extra_headers ? extra_headers : "");
	return exchange_on(AF_INET, port, req, strlen(req), !strcmp(method, "HEAD"));
}

static struct resp *request(const char *method, const char *target,
			    const char *extra_headers)
{
	return request_host(method, target, tprintf("127.0.0.1:%u", port), extra_headers);
}

static struct resp *get(const char *target)
{
	return request("GET", target, NULL);
}

/* ---- a strict JSON reader ------------------------------------------------ */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype t;
	bool b;
	double num;
	bool is_uint;		/* digits only, fits in 64 bits */
	uint64_t u;
	const char *s;		/* string value, or a number's text */
	size_t n;		/* string bytes, or members */
	struct jv **items;
	const char **keys;	/* objects */
};

struct jparse {
	const char *p, *end;
	int depth;
};

static struct jv *jvalue(struct jparse *j);

static void jws(struct jparse *j)
{
	while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' ||
				 *j->p == '\r'))
		j->p++;
}

static bool jlit(struct jparse *j, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, lit, n))
		return false;
	j->p += n;
	return true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static bool jhex4(struct jparse *j, unsigned *out)
{
	*out = 0;
	if (j->end - j->p < 4)
		return false;
	for (int i = 0; i < 4; i++) {
		int h = hexval(j->p[i]);
		if (h < 0)
			return false;
		*out = *out * 16 + (unsigned)h;
	}
	j->p += 4;
	return true;
}

static size_t utf8_put(char *o, unsigned cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A string at j->p (the opening quote); NULL if malformed. */
static const char *jstring(struct jparse *j, size_t *len)
{
	if (j->p >= j->end || *j->p != '"')
		return NULL;
	j->p++;
	/* decoded text is never longer than the source */
	const char *close = j->p;
	while (close < j->end && *close != '"')
		close += *close == '\\' ? 2 : 1;
	if (close >= j->end)
		return NULL;
	char *out = talloc((size_t)(close - j->p) + 1);
	size_t o = 0;
	while (j->p < j->end && *j->p != '"') {
		unsigned char c = (unsigned char)*j->p++;
		if (c < 0x20)
			return NULL;		/* control characters must be escaped */
		if (c != '\\') {
			out[o++] = (char)c;
			continue;
		}
		if (j->p >= j->end)
			return NULL;
		char e = *j->p++;
		unsigned cp, lo;
		switch (e) {
		case '"': out[o++] = '"'; break;
		case '\\': out[o++] = '\\'; break;
		case '/': out[o++] = '/'; break;
		case 'b': out[o++] = '\b'; break;
		case 'f': out[o++] = '\f'; break;
		case 'n': out[o++] = '\n'; break;
		case 'r': out[o++] = '\r'; break;
		case 't': out[o++] = '\t'; break;
		case 'u':
			if (!jhex4(j, &cp))
				return NULL;
			if (cp >= 0xd800 && cp < 0xdc00) {
				if (!jlit(j, "\\u") || !jhex4(j, &lo) || lo < 0xdc00 || lo > 0xdfff)
					return NULL;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc00 && cp < 0xe000) {
				return NULL;
			}
			o += utf8_put(out + o, cp);
			break;
		default:
			return NULL;
		}
	}
	if (j->p >= j->end)
		return NULL;
	j->p++;
	out[o] = '\0';
	*len = o;
	return out;
}

/* RFC 8259 number grammar, exactly. */
static bool jnumber(struct jparse *j, struct jv *v)
{
	const char *s = j->p, *p = j->p;
	bool simple = true;

	if (p < j->end && *p == '-') {
		p++;
		simple = false;
	}
	if (p >= j->end)
		return false;
	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	else
		return false;
	if (p < j->end && *p == '.') {
		simple = false;
		p++;
		if (p >= j->end || *p < '0' || *p > '9')
			return false;
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < j->end && (*p == 'e' || *p == 'E')) {
		simple = false;
		p++;
		if (p < j->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= j->end || *p < '0' || *p > '9')
			return false;
		while (p < j->end && *p >= '0' && *p <= '9')
			p++;
	}
	v->t = J_NUM;
	v->s = tstrndup(s, (size_t)(p - s));
	v->num = strtod(v->s, NULL);
	if (simple && p - s <= 20) {
		errno = 0;
		v->u = strtoull(v->s, NULL, 10);
		v->is_uint = errno == 0;
	}
	j->p = p;
	return true;
}

/* Members of an array or object, collected on malloc then kept. */
static bool jmembers(struct jparse *j, struct jv *v, bool obj)
{
	struct jv **items = NULL;
	const char **keys = NULL;
	size_t n = 0, cap = 0;
	bool ok = false;

	j->p++;
	jws(j);
	if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
		j->p++;
		ok = true;
		goto done;
	}
	for (;;) {
		const char *key = NULL;
		size_t klen;
		jws(j);
		if (obj) {
			if (!(key = jstring(j, &klen)))
				goto done;
			for (size_t i = 0; i < n; i++)
				if (!strcmp(keys[i], key))
					goto done;	/* a duplicate key */
			jws(j);
			if (j->p >= j->end || *j->p != ':')
				goto done;
			j->p++;
		}
		struct jv *item = jvalue(j);
		if (!item)
			goto done;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			struct jv **ni = realloc(items, cap * sizeof *ni);
			if (ni)
				items = ni;
			const char **nk = realloc(keys, cap * sizeof *nk);
			if (nk)
				keys = nk;
			if (!ni || !nk)
				goto done;
		}
		items[n] = item;
		keys[n] = key;
		n++;
		jws(j);
		if (j->p < j->end && *j->p == ',') {
			j->p++;
			continue;
		}
		if (j->p < j->end && *j->p == (obj ? '}' : ']')) {
			j->p++;
			ok = true;
			break;
		}
		goto done;
	}
done:
	if (ok) {
		v->t = obj ? J_OBJ : J_ARR;
		v->n = n;
		v->items = talloc(n * sizeof *v->items);
		if (n)
			memcpy(v->items, items, n * sizeof *items);
		if (obj) {
			v->keys = talloc(n * sizeof *v->keys);
			if (n)
				memcpy(v->keys, keys, n * sizeof *keys);
		}
	}
	free(items);
	free(keys);
	return ok;
}

static struct jv *jvalue(struct jparse *j)
{
	struct jv *v = talloc(sizeof *v);

	memset(v, 0, sizeof *v);
	jws(j);
	if (j->p >= j->end || ++j->depth > 64)
		return NULL;
	bool ok;
	switch (*j->p) {
	case '{':
		ok = jmembers(j, v, true);
		break;
	case '[':
		ok = jmembers(j, v, false);
		break;
	case '"':
		v->t = J_STR;
		ok = (v->s = jstring(j, &v->n)) != NULL;
		break;
	case 't':
		v->t = J_BOOL;
		v->b = true;
		ok = jlit(j, "true");
		break;
	case 'f':
		v->t = J_BOOL;
		ok = jlit(j, "false");
		break;
	case 'n':
		v->t = J_NULL;
		ok = jlit(j, "null");
		break;
	default:
		ok = jnumber(j, v);
		break;
	}
	j->depth--;
	return ok ? v : NULL;
}

/* The whole text must be one JSON value (and white space). */
static struct jv *json_parse(const char *s, size_t n)
{
	struct jparse j = { s, s + n, 0 };
	struct jv *v = jvalue(&j);

	jws(&j);
	return v && j.p == j.end ? v : NULL;
}

/* "a.b.3.c": object keys and array indices. */
static const struct jv *jfind(const struct jv *v, const char *path)
{
	const char *p = path;

	while (v && *p) {
		size_t n = strcspn(p, ".");
		char seg[64];
		snprintf(seg, sizeof seg, "%.*s", (int)n, p);
		const struct jv *next = NULL;
		if (v->t == J_OBJ) {
			for (size_t i = 0; i < v->n && !next; i++)
				if (!strcmp(v->keys[i], seg))
					next = v->items[i];
		} else if (v->t == J_ARR && n) {
			char *e;
			unsigned long i = strtoul(seg, &e, 10);
			if (!*e && i < v->n)
				next = v->items[i];
		}
		v = next;
		p += n + (p[n] == '.');
	}
	return v;
}

static const struct jv *jtyped(const struct jv *root, const char *path, enum jtype t,
			       const char *file, int line)
{
	const struct jv *v = jfind(root, path);

	ck_assert_msg(v != NULL, "%s:%d: JSON has no '%s'", file, line, path);
	ck_assert_msg(v->t == t, "%s:%d: JSON '%s' has type %d, not %d", file, line,
		      path, v->t, t);
	return v;
}

static uint64_t json_u64(const struct jv *root, const char *path, const char *file,
			 int line)
{
	const struct jv *v = jtyped(root, path, J_NUM, file, line);

	ck_assert_msg(v->is_uint, "%s:%d: JSON '%s' is %s, not an unsigned integer",
		      file, line, path, v->s);
	return v->u;
}

#define J(v, path) jtyped((v), (path), J_OBJ, __FILE__, __LINE__)
#define JARR(v, path) jtyped((v), (path), J_ARR, __FILE__, __LINE__)
#define JU(v, path) json_u64((v), (path), __FILE__, __LINE__)
#define JS(v, path) (jtyped((v), (path), J_STR, __FILE__, __LINE__)->s)
#define JB(v, path) (jtyped((v), (path), J_BOOL, __FILE__, __LINE__)->b)
#define JNUMTEXT(v, path) (jtyped((v), (path), J_NUM, __FILE__, __LINE__)->s)
#define JNULL(v, path) ((void)jtyped((v), (path), J_NULL, __FILE__, __LINE__))

/* ---- checks every response gets ------------------------------------------ */

static void assert_security_headers(const struct resp *r, const char *what)
{
	const char *csp = header(r, "Content-Security-Policy");
	const char *nosniff = header(r, "X-Content-Type-Options");

	ck_assert_msg(csp != NULL, "%s: no Content-Security-Policy", what);
	ck_assert_msg(strstr(csp, "default-src 'self'") && strstr(csp, "frame-ancestors 'none'") &&
		      !strstr(csp, "unsafe-inline") && !strstr(csp, "unsafe-eval") &&
		      !strstr(csp, "*"), "%s: Content-Security-Policy '%s'", what, csp);
	ck_assert_msg(nosniff && !strcmp(nosniff, "nosniff"),
		      "%s: X-Content-Type-Options '%s'", what, nosniff ? nosniff : "(none)");
	ck_assert_msg(header_count(r, "Content-Security-Policy") == 1 &&
		      header_count(r, "Content-Type") == 1,
		      "%s: a header given twice:\n%s", what, r->head);
}

/* Status, one JSON value as the body, the headers every answer carries. */
static const struct jv *json_reply(const struct resp *r, int status, const char *what)
{
	ck_assert_msg(r->status == status, "%s: status %d, expected %d; body %.300s",
		      what, r->status, status, r->body);
	const char *ct = header(r, "Content-Type");
	ck_assert_msg(ct && !strcmp(ct, "application/json"), "%s: Content-Type %s", what,
		      ct ? ct : "(none)");
	assert_security_headers(r, what);
	const struct jv *v = json_parse(r->body, r->body_len);
	ck_assert_msg(v != NULL, "%s: the body is not JSON: %.500s", what, r->body);
	return v;
}

/* An error answer: {"error": "..."} naming what was wrong. */
static void assert_error(const struct resp *r, int status, const char *mention,
			 const char *what)
{
	const struct jv *v = json_reply(r, status, what);

	ck_assert_msg(v->t == J_OBJ && v->n == 1, "%s: error body %s", what, r->body);
	const char *msg = JS(v, "error");
	ck_assert_msg(*msg, "%s: an empty error message", what);
	if (mention)
		ck_assert_msg(strstr(msg, mention), "%s: '%s' does not mention '%s'", what,
			      msg, mention);
}

/* ---- the scenario -------------------------------------------------------- */

static struct cs_engine eng;
static bool eng_live;
static struct cs_web *web;
static struct cs_snapshot *snap;	/* our reference to the latest published */
static uint64_t snap_seq;
static uint64_t fed_frames, fed_bytes;
static struct cs_report_source source;
static const char *const source_names[] = { "mem.pcap" };

struct tcpconn {
	int ipv;
	const char *cli, *srv;
	uint16_t cport, sport;
	uint32_t cisn, sisn;
};

static void feed(const struct pb_spec *s, uint64_t ts_us)
{
	uint8_t frame[2048];
	size_t n = pb_build(s, frame, sizeof frame);

	ck_assert_uint_gt(n, 0);
	struct cs_frame f = { .ts_us = ts_us, .caplen = (uint32_t)n,
			      .wirelen = (uint32_t)n, .dlt = CS_DLT_EN10MB,
			      .bytes = frame };
	cs_engine_frame(&eng, &f);
	fed_frames++;
	fed_bytes += n;
}

/* A segment of c; seq relative to the sender's ISN, ack to the peer's. */
static void tcp_spec(struct pb_spec *s, const struct tcpconn *c, bool from_cli,
		     uint16_t flags, uint32_t seq, uint32_t ack, size_t len)
{
	pb_spec_init(s, c->ipv);
	ck_assert(pb_addr(s->src, from_cli ? c->cli : c->srv));
	ck_assert(pb_addr(s->dst, from_cli ? c->srv : c->cli));
	s->tcp.sport = from_cli ? c->cport : c->sport;
	s->tcp.dport = from_cli ? c->sport : c->cport;
	s->tcp.flags = flags;
	s->tcp.seq = (from_cli ? c->cisn : c->sisn) + seq;
	s->tcp.ack = flags & CS_TH_ACK ? (from_cli ? c->sisn : c->cisn) + ack : 0;
	s->payload_len = len;
}

static void cli(const struct tcpconn *c, uint16_t flags, uint32_t seq, uint32_t ack,
		size_t len, uint64_t ts)
{
	struct pb_spec s;

	tcp_spec(&s, c, true, flags, seq, ack, len);
	feed(&s, ts);
}

static void srv(const struct tcpconn *c, uint16_t flags, uint32_t seq, uint32_t ack,
		size_t len, uint64_t ts)
{
	struct pb_spec s;

	tcp_spec(&s, c, false, flags, seq, ack, len);
	feed(&s, ts);
}

/* The connections, ids in order of creation. */
static const struct tcpconn c_refused = { 4, "10.1.0.1", "10.2.0.2", 41001, 81, 1000, 0 };
static const struct tcpconn c_aborted = { 4, "10.1.0.1", "10.2.0.2", 41002, 8080, 2000, 9000 };
static const struct tcpconn c_completed = { 4, "10.1.0.1", "10.2.0.2", 41003, 80, 3000, 7000 };
static const struct tcpconn c_timeout = { 4, "10.1.0.1", "10.2.0.3", 41004, 80, 4000, 0 };
static const struct tcpconn c_unreach = { 4, "10.1.0.1", "10.2.0.9", 41005, 443, 5000, 0 };
static const struct tcpconn c_v6 = { 6, "2001:db8::10", "2001:db8::20", 41006, 443, 6000, 16000 };

enum { ID_REFUSED = 1, ID_ABORTED, ID_COMPLETED, ID_TIMEOUT, ID_UNREACH, ID_V6,
       CONNS = 6, OPEN_CONNS = 4 };

#define LAST_TS (T0 + 13 * SEC + 450)	/* the scenario's last packet */

/*
 * T0:     refused (SYN, RST-ACK) to 10.2.0.2:81
 * T0+1:   aborted: handshake, 100 bytes, the server resets
 *         (both are reset records, gone after 5 s of packet time: finished)
 * T0+10:  completed: handshake, 20 + 200 bytes, client closes first
 * T0+11:  timeout: a SYN and its retransmission to 10.2.0.3:80
 * T0+12.5 unreachable: a SYN to 10.2.0.9:443, ICMP host unreachable from the router
 * T0+13:  IPv6: handshake, 50 bytes, a FIN far out of window, still established
 */
static void feed_scenario(void)
{
	uint64_t t = T0;

	cli(&c_refused, SYN, 0, 0, 0, t);
	srv(&c_refused, RSTACK, 0, 1, 0, t + 200);

	t = T0 + 1 * SEC;
	cli(&c_aborted, SYN, 0, 0, 0, t);
	srv(&c_aborted, SYNACK, 0, 1, 0, t + 100);
	cli(&c_aborted, ACK, 1, 1, 0, t + 200);
	cli(&c_aborted, DATA, 1, 1, 100, t + 300);
	srv(&c_aborted, RSTACK, 1, 101, 0, t + 1000);

	t = T0 + 10 * SEC;
	cli(&c_completed, SYN, 0, 0, 0, t);
	srv(&c_completed, SYNACK, 0, 1, 0, t + 100);
	cli(&c_completed, ACK, 1, 1, 0, t + 200);
	cli(&c_completed, DATA, 1, 1, 20, t + 300);
	srv(&c_completed, DATA, 1, 21, 200, t + 500);
	cli(&c_completed, ACK, 21, 201, 0, t + 600);
	cli(&c_completed, FINACK, 21, 201, 0, t + 700);
	srv(&c_completed, FINACK, 201, 22, 0, t + 800);
	cli(&c_completed, ACK, 22, 202, 0, t + 900);

	cli(&c_timeout, SYN, 0, 0, 0, T0 + 11 * SEC);
	cli(&c_timeout, SYN, 0, 0, 0, T0 + 12 * SEC);

	t = T0 + 12 * SEC + 500000;
	cli(&c_unreach, SYN, 0, 0, 0, t);
	struct pb_spec quote, icmp;
	tcp_spec(&quote, &c_unreach, true, SYN, 0, 0, 0);
	pb_spec_init(&icmp, 4);
	pb_addr(icmp.src, "10.1.0.254");
	pb_addr(icmp.dst, "10.1.0.1");
	icmp.l4 = PB_L4_ICMP;
	icmp.icmp.type = 3;		/* destination unreachable */
	icmp.icmp.code = 1;		/* host unreachable */
	icmp.icmp.quote = &quote;
	feed(&icmp, t + 100);

	t = T0 + 13 * SEC;
	cli(&c_v6, SYN, 0, 0, 0, t);
	srv(&c_v6, SYNACK, 0, 1, 0, t + 100);
	cli(&c_v6, ACK, 1, 1, 0, t + 200);
	cli(&c_v6, DATA, 1, 1, 50, t + 300);
	srv(&c_v6, ACK, 1, 51, 0, t + 400);
	/* a FIN 2^30 bytes past what the server's ACK (51) and window
	 * allow: out of window, it changes no state (tcp.h) */
	cli(&c_v6, FINACK, 51 + (1u << 30), 1, 0, t + 450);
}

/* A SYN on the completed connection's 4-tuple while its client is still
 * in TIME_WAIT: a new record (id 7).  The server answers it with an ACK
 * of the old connection (seq 7000 + 202, ack 3000 + 22: where the old one
 * ended), so the reuse stalled: a port_reuse alert. */
static void feed_port_reuse(void)
{
	struct tcpconn again = c_completed;

	again.cisn = 33000;
	cli(&again, SYN, 0, 0, 0, T0 + 20 * SEC);
	srv(&again, ACK, 202, (uint32_t)(3000 + 22 - 33000), 0, T0 + 20 * SEC + 100);
}

static struct cs_snapshot *publish(bool finished)
{
	cs_engine_refresh(&eng);	/* as the run driver publishes */
	struct cs_snapshot *s = cs_snapshot_build(&eng, &source, ++snap_seq, false, finished);

	ck_assert_ptr_nonnull(s);
	cs_snapshot_unref(snap);
	snap = cs_snapshot_ref(s);
	cs_web_publish(web, s);
	return s;
}

static void engine_up(void)
{
	struct cs_engine_opts o;
	char err[160];

	cs_engine_opts_default(&o);
	o.flow.max_flows = 16;
	o.keep_recent = true;
	ck_assert_msg(cs_engine_init(&eng, &o, err, sizeof err) == 0, "%s", err);
	eng_live = true;
	memset(&source, 0, sizeof source);
	source.names = source_names;
	source.name_cnt = 1;
	cs_report_source_add(&source, CS_DLT_EN10MB, 262144);
	fed_frames = fed_bytes = 0;
	snap_seq = 0;
	feed_scenario();
}

/* The server's log lines (refused clients, failed tokens), for tests to read. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static struct buf log_lines;

static void keep_log(void *ctx, const char *line)
{
	(void)ctx;
	pthread_mutex_lock(&log_mu);
	buf_add(&log_lines, line, strlen(line));
	buf_add(&log_lines, "\n", 1);
	pthread_mutex_unlock(&log_mu);
}

/* The log lines that hold needle. */
static int logged(const char *needle)
{
	int n = 0;

	pthread_mutex_lock(&log_mu);
	for (const char *p = log_lines.p; p && (p = strstr(p, needle)); p++)
		n++;
	pthread_mutex_unlock(&log_mu);
	return n;
}

static const char *log_text(void)
{
	pthread_mutex_lock(&log_mu);
	const char *t = tstrndup(log_lines.p ? log_lines.p : "", log_lines.len);
	pthread_mutex_unlock(&log_mu);
	return t;
}

static void server_up_with(struct cs_web_opts *o, bool with_snapshot)
{
	char err[256];

	o->log = keep_log;
	ck_assert_msg(cs_web_start(&web, o, err, sizeof err) == 0, "%s", err);
	port = cs_web_port(web);
	ck_assert_uint_ne(port, 0);
	if (with_snapshot)
		publish(false);
}

static void server_up(const char *token, bool with_snapshot)
{
	struct cs_web_opts o = { .addr = "127.0.0.1", .port = 0, .token = token };

	server_up_with(&o, with_snapshot);
}

static void setup_plain(void)
{
	engine_up();
	server_up(NULL, true);
}

static void setup_token(void)
{
	engine_up();
	server_up(TOKEN, true);
}

static void setup_unpublished(void)
{
	engine_up();
	server_up(NULL, false);
}

/* --web-host dash.example */
static void setup_hosts(void)
{
	struct cs_web_opts o = { .addr = "127.0.0.1", .hosts = { "dash.example" },
				 .host_cnt = 1 };

	engine_up();
	server_up_with(&o, true);
}

/* A failed token attempt costs its client PENALTY_MS; a turn further than
 * MAX_WAIT_MS away is refused. */
#define PENALTY_MS 1000
#define MAX_WAIT_MS 1500
static void setup_penalty(void)
{
	static struct cs_web_limits l;
	l = cs_web_limits_default;
	l.penalty_ms = PENALTY_MS;
	l.max_wait_ms = MAX_WAIT_MS;
	struct cs_web_opts o = { .addr = "127.0.0.1", .token = TOKEN, .limits = &l };

	engine_up();
	server_up_with(&o, true);
}

/* A small server: 16 connections, 3 per client, busy from 8 on; a request
 * is due within 600 s, or 1 s while busy. */
#define SMALL_PER_CLIENT 3
#define SMALL_BUSY 8
static void setup_small(void)
{
	static const struct cs_web_limits l = {
		.connections = 16, .per_client = SMALL_PER_CLIENT, .busy = SMALL_BUSY,
		.request_sec = 600, .busy_request_sec = 1,
		.penalty_ms = 1000, .max_wait_ms = 5000,
	};
	struct cs_web_opts o = { .addr = "127.0.0.1", .limits = &l };

	engine_up();
	server_up_with(&o, true);
}

static void teardown(void)
{
	dial_from = NULL;
	close_all_fds();
	cs_web_stop(web);
	web = NULL;
	cs_snapshot_unref(snap);
	snap = NULL;
	if (eng_live)
		cs_engine_fini(&eng);
	eng_live = false;
	tfree_all();
	pthread_mutex_lock(&log_mu);	/* after the server: it logs until it stops */
	buf_free(&log_lines);
	pthread_mutex_unlock(&log_mu);
}

/* ---- every endpoint ------------------------------------------------------ */

static const struct route_case {
	const char *target;
	int status;
	const char *ctype;
	const char *asset;	/* served from this embedded asset */
} routes[] = {
	{ "/api/summary", 200, "application/json", NULL },
	{ "/api/connections", 200, "application/json", NULL },
	{ "/api/connections?outcome=refused&limit=5", 200, "application/json", NULL },
	{ "/api/connections/3", 200, "application/json", NULL },
	{ "/api/alerts", 200, "application/json", NULL },
	{ "/api/timeseries", 200, "application/json", NULL },
	{ "/metrics", 200, "text/plain; version=0.0.4; charset=utf-8", NULL },
	{ "/healthz", 200, "text/plain", NULL },
	{ "/", 200, "text/html; charset=utf-8", "/" },
	{ "/index.html", 200, "text/html; charset=utf-8", "/" },
	{ "/app.js", 200, "text/javascript; charset=utf-8", "/app.js" },
	{ "/app.css", 200, "text/css; charset=utf-8", "/app.css" },
	{ "/nope", 404, "application/json", NULL },
	{ "/api", 404, "application/json", NULL },
	{ "/api/summary/", 404, "application/json", NULL },
	{ "/API/summary", 404, "application/json", NULL },
	{ "/app.js/x", 404, "application/json", NULL },
	{ "/api/connections/999", 404, "application/json", NULL },
	{ "/api/connections/abc", 400, "application/json", NULL },
	{ "/api/connections/-1", 400, "application/json", NULL },
	{ "/api/connections/3x", 400, "application/json", NULL },
	{ "/api/connections/", 400, "application/json", NULL },
	{ "/api/connections?port=0", 400, "application/json", NULL },
};

static const struct cs_asset *asset(const char *path)
{
	for (const struct cs_asset *a = cs_assets; a->path; a++)
		if (!strcmp(a->path, path))
			return a;
	return NULL;
}

START_TEST(every_route_answers_with_its_type_and_security_headers)
{
	const struct route_case *c = &routes[_i];
	struct resp *r = get(c->target);
	const char *ct = header(r, "Content-Type");

	ck_assert_msg(r->status == c->status, "GET %s: status %d, expected %d; %.200s",
		      c->target, r->status, c->status, r->body);
	ck_assert_msg(ct && !strcmp(ct, c->ctype), "GET %s: Content-Type '%s', expected '%s'",
		      c->target, ct ? ct : "(none)", c->ctype);
	assert_security_headers(r, c->target);
	if (!strcmp(c->ctype, "application/json"))
		ck_assert_msg(json_parse(r->body, r->body_len), "GET %s: not JSON: %.300s",
			      c->target, r->body);
	if (c->status >= 400)
		assert_error(r, c->status, NULL, c->target);
	if (c->asset) {
		const struct cs_asset *a = asset(c->asset);
		ck_assert_ptr_nonnull(a);
		ck_assert_msg(r->body_len == a->len && !memcmp(r->body, a->data, a->len),
			      "GET %s: %zu bytes, not the embedded %zu", c->target,
			      r->body_len, a->len);
	}
	/* live data must not be cached; the page may be, briefly */
	const char *cc = header(r, "Cache-Control");
	ck_assert_msg(cc != NULL, "GET %s: no Cache-Control", c->target);
	if (!c->asset)
		ck_assert_msg(!strcmp(cc, "no-store"), "GET %s: Cache-Control %s", c->target, cc);
}
END_TEST

START_TEST(head_gives_the_headers_of_get_without_a_body)
{
	const struct route_case *c = &routes[_i];
	struct resp *g = get(c->target);
	struct resp *h = request("HEAD", c->target, NULL);

	ck_assert_msg(h->status == g->status, "HEAD %s: %d, GET %d", c->target, h->status,
		      g->status);
	const char *hct = header(h, "Content-Type"), *gct = header(g, "Content-Type");
	ck_assert_msg(hct && gct && !strcmp(hct, gct), "HEAD %s: Content-Type %s vs %s",
		      c->target, hct ? hct : "(none)", gct ? gct : "(none)");
	assert_security_headers(h, c->target);
	ck_assert_uint_eq(h->body_len, 0);	/* parse_response checked the wire */
	const char *cl = header(h, "Content-Length");
	if (cl && !g->chunked)
		ck_assert_msg(strtoull(cl, NULL, 10) == g->body_len,
			      "HEAD %s: Content-Length %s, GET sent %zu", c->target, cl,
			      g->body_len);
}
END_TEST

/* Bytes as C escapes, for messages. */
static const char *escaped(const char *p, size_t n)
{
	char *o = talloc(4 * n + 1), *q = o;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c == '\r')
			q += sprintf(q, "\\r");
		else if (c == '\n')
			q += sprintf(q, "\\n");
		else if (c < 0x20 || c >= 0x7f)
			q += sprintf(q, "\\x%02x", c);
		else
			*q++ = (char)c;
	}
	*q = '\0';
	return o;
}

/*
 * A HEAD response ends at its headers (RFC 9110 9.3.2): on a kept-alive
 * connection the next response must follow at once, or the client reads
 * the extra bytes as the start of it.  Two pipelined requests show it.
 */
START_TEST(head_of_the_event_stream_ends_at_the_headers)
{
	const char *req = "HEAD /api/events HTTP/1.1\r\nHost: localhost\r\n\r\n"
			  "GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
	size_t n;
	const char *raw = exchange_raw(AF_INET, port, req, strlen(req), &n);
	const char *end = strstr(raw, "\r\n\r\n");
	struct resp h;

	ck_assert_msg(end != NULL, "no headers: %s", escaped(raw, n));
	size_t hl = (size_t)(end - raw) + 4;
	ck_assert_msg(!parse_response(raw, hl, true, &h), "%s", escaped(raw, n));
	ck_assert_int_eq(h.status, 200);
	ck_assert_str_eq(header(&h, "Content-Type"), "text/event-stream");
	assert_security_headers(&h, "HEAD /api/events");
	const char *next = strstr(raw + hl, "HTTP/1.1 ");
	ck_assert_msg(next != NULL, "no response to the pipelined GET: '%s'",
		      escaped(raw + hl, n - hl));
	size_t extra = next ? (size_t)(next - (raw + hl)) : n - hl;
	ck_assert_msg(extra == 0, "HEAD /api/events: after its headers come %zu bytes '%s' "
		      "before the next response", extra, escaped(raw + hl, extra));
	ck_assert_msg(!strncmp(next, "HTTP/1.1 200", 12), "the pipelined GET: %s",
		      escaped(next, n - (size_t)(next - raw)));
}
END_TEST

/* ---- /api/summary -------------------------------------------------------- */

static const uint64_t expected_outcomes[CS_OUT_MAX] = {
	[CS_OUT_COMPLETED] = 1, [CS_OUT_ESTABLISHED] = 1, [CS_OUT_REFUSED] = 1,
	[CS_OUT_TIMEOUT] = 1, [CS_OUT_UNREACHABLE] = 1, [CS_OUT_ABORTED] = 1,
};

/* "1700000013.000400": how the API writes microseconds of packet time. */
static const char *usec_text(uint64_t us)
{
	return tprintf("%" PRIu64 ".%06" PRIu64, us / SEC, us % SEC);
}

/* New connections not tracked, by reason: a field added at the end of
 * summary, where new fields go; only interrupted came after it. */
START_TEST(summary_ends_with_the_untracked_counts)
{
	struct resp *r = get("/api/summary");
	const struct jv *v = json_reply(r, 200, "/api/summary");
	const struct jv *un = J(v, "summary.untracked");

	ck_assert_uint_eq(un->n, CS_UNTRACKED_MAX - 1);
	for (int i = 1; i < CS_UNTRACKED_MAX; i++) {
		ck_assert_str_eq(un->keys[i - 1], cs_untracked_names[i]);
		ck_assert_uint_eq(JU(un, cs_untracked_names[i]), snap->summary.untracked[i]);
	}
	const struct jv *sm = J(v, "summary");
	ck_assert_str_eq(sm->keys[sm->n - 2], "untracked");
	ck_assert_str_eq(sm->keys[sm->n - 1], "interrupted");
}
END_TEST

START_TEST(summary_counts_match_the_engine)
{
	struct resp *r = get("/api/summary");
	const struct jv *v = json_reply(r, 200, "/api/summary");
	const struct cs_stats *st = &eng.stats;

	ck_assert_str_eq(JS(v, "version"), CS_VERSION);
	ck_assert_uint_eq(JU(v, "snapshot.seq"), 1);
	ck_assert_str_eq(JNUMTEXT(v, "snapshot.ts"), usec_text(LAST_TS));
	ck_assert(!JB(v, "snapshot.live"));
	ck_assert(!JB(v, "snapshot.finished"));
	ck_assert_str_eq(JS(v, "source.kind"), "file");
	ck_assert_str_eq(JS(v, "source.name"), "mem.pcap");
	ck_assert_str_eq(JS(v, "source.linktype"), "EN10MB");
	ck_assert_uint_eq(JU(v, "source.snaplen"), 262144);

	ck_assert_uint_eq(st->packets, fed_frames);
	ck_assert_uint_eq(JU(v, "summary.packets"), fed_frames);
	ck_assert_uint_eq(JU(v, "summary.bytes"), fed_bytes);
	ck_assert_uint_eq(JU(v, "summary.bytes"), st->bytes);
	ck_assert_uint_eq(JU(v, "summary.analysed"), fed_frames);
	ck_assert_uint_eq(JU(v, "summary.tcp_packets"), fed_frames - 1);
	ck_assert_uint_eq(JU(v, "summary.icmp_errors"), 1);
	ck_assert_str_eq(JNUMTEXT(v, "summary.first_ts"), usec_text(T0));
	ck_assert_str_eq(JNUMTEXT(v, "summary.last_ts"), usec_text(LAST_TS));
	ck_assert_uint_eq(JU(v, "summary.connections"), CONNS);
	ck_assert_uint_eq(JU(v, "summary.open"), OPEN_CONNS);
	ck_assert_uint_eq(JU(v, "summary.open"), eng.flows.count);
	ck_assert_uint_eq(JU(v, "summary.peak_open"), eng.flows.peak);
	ck_assert_uint_eq(JU(v, "summary.evicted"), 0);
	JNULL(v, "summary.capture_drops");
	ck_assert_uint_eq(JU(v, "summary.retransmitted"), eng.detect.retransmitted);
	ck_assert_uint_eq(JU(v, "summary.data_segments"), eng.detect.data_segments);

	const struct jv *sk = J(v, "summary.skipped");
	ck_assert_uint_eq(sk->n, CS_SKIP_MAX - 1);
	for (int i = 1; i < CS_SKIP_MAX; i++) {
		ck_assert_str_eq(sk->keys[i - 1], cs_skip_names[i]);
		ck_assert_uint_eq(JU(sk, cs_skip_names[i]), 0);
	}

	const struct jv *out = J(v, "outcomes");
	uint64_t sum = 0;
	ck_assert_uint_eq(out->n, CS_OUT_MAX);
	for (int i = 0; i < CS_OUT_MAX; i++) {
		uint64_t n = JU(out, cs_outcome_names[i]);
		ck_assert_msg(n == expected_outcomes[i] && n == snap->outcomes[i],
			      "outcomes.%s = %" PRIu64 ", expected %" PRIu64,
			      cs_outcome_names[i], n, expected_outcomes[i]);
		sum += n;
	}
	ck_assert_uint_eq(sum, CONNS);

	const struct jv *cst = J(v, "conn_states");
	sum = 0;
	ck_assert_uint_eq(cst->n, CS_CS_MAX);
	for (int i = 0; i < CS_CS_MAX; i++) {
		ck_assert_uint_eq(JU(cst, cs_conn_state_names[i]), snap->conn_states[i]);
		sum += snap->conn_states[i];
	}
	ck_assert_uint_eq(sum, CONNS);
	ck_assert_uint_eq(JU(cst, "REJ"), 1);	/* SYN answered by RST-ACK */
	ck_assert_uint_eq(JU(cst, "SF"), 1);

	/* eleven states per side, zeros included, in RFC order */
	for (int side = 0; side < 2; side++) {
		const struct jv *s = J(v, side ? "states.resp" : "states.orig");
		ck_assert_uint_eq(s->n, CS_TCP_STATE_MAX);
		sum = 0;
		for (int i = 0; i < CS_TCP_STATE_MAX; i++) {
			ck_assert_str_eq(s->keys[i], cs_tcp_state_names[i]);
			ck_assert_uint_eq(JU(s, cs_tcp_state_names[i]), snap->states[side][i]);
			sum += snap->states[side][i];
		}
		ck_assert_uint_eq(sum, OPEN_CONNS);
	}
	ck_assert_uint_eq(JU(v, "states.orig.TIME_WAIT"), 1);
	ck_assert_uint_eq(JU(v, "states.orig.ESTABLISHED"), 1);
	ck_assert_uint_eq(JU(v, "states.resp.ESTABLISHED"), 1);
	/* the timeout's: its connect() failed, so its originator is CLOSED
	 * (diagnose.h), not SYN_SENT */
	ck_assert_uint_eq(JU(v, "states.orig.SYN_SENT"), 0);
	ck_assert_uint_ge(JU(v, "states.orig.CLOSED"), 1);
	ck_assert_uint_eq(JU(v, "summary.out_of_window"), 1);	/* the v6 FIN */

	ck_assert_uint_eq(JU(v, "alerts"), 0);
	const struct jv *verdicts = JARR(v, "verdicts");
	bool refused_said = false;
	for (size_t i = 0; i < verdicts->n; i++) {
		ck_assert_int_eq(verdicts->items[i]->t, J_STR);
		ck_assert_msg(verdicts->items[i]->n > 0 && verdicts->items[i]->s[0] != ' ',
			      "verdict %zu: '%s'", i, verdicts->items[i]->s);
		refused_said |= strstr(verdicts->items[i]->s, "10.2.0.2:81") != NULL;
	}
	ck_assert_msg(refused_said, "no verdict names the refused target: %s", r->body);
}
END_TEST

/* ---- /api/connections ---------------------------------------------------- */

/* Checks a listing: total, offset, limit, and the ids of the items in order. */
static void assert_listing(const char *query, uint64_t total, uint64_t offset,
			   uint64_t limit, const uint64_t *ids, size_t n)
{
	const char *target = tprintf("/api/connections%s%s", *query ? "?" : "", query);
	struct resp *r = get(target);
	const struct jv *v = json_reply(r, 200, target);
	const struct jv *items = JARR(v, "items");

	ck_assert_msg(JU(v, "total") == total, "%s: total %" PRIu64 ", expected %" PRIu64,
		      target, JU(v, "total"), total);
	ck_assert_uint_eq(JU(v, "offset"), offset);
	ck_assert_uint_eq(JU(v, "limit"), limit);
	char got[128] = "", want[128] = "";
	for (size_t i = 0; i < items->n; i++)
		snprintf(got + strlen(got), sizeof got - strlen(got), " %" PRIu64,
			 JU(items->items[i], "id"));
	for (size_t i = 0; i < n; i++)
		snprintf(want + strlen(want), sizeof want - strlen(want), " %" PRIu64, ids[i]);
	ck_assert_msg(!strcmp(got, want), "%s: ids [%s ], expected [%s ]", target, got, want);
}

static const struct filter_case {
	const char *query;
	unsigned total;
	uint64_t ids[CONNS];
} filters[] = {
	{ "", 6, { 6, 5, 4, 3, 2, 1 } },
	{ "outcome=refused", 1, { ID_REFUSED } },
	{ "outcome=aborted", 1, { ID_ABORTED } },
	{ "outcome=completed", 1, { ID_COMPLETED } },
	{ "outcome=timeout", 1, { ID_TIMEOUT } },
	{ "outcome=unreachable", 1, { ID_UNREACH } },
	{ "outcome=established", 1, { ID_V6 } },
	{ "outcome=half_open", 0, { 0 } },
	{ "state=ESTABLISHED", 1, { ID_V6 } },
	{ "state=TIME_WAIT", 1, { ID_COMPLETED } },
	{ "state=CLOSE_WAIT", 0, { 0 } },
	{ "conn_state=REJ", 1, { ID_REFUSED } },
	{ "conn_state=SF", 1, { ID_COMPLETED } },
	{ "conn_state=S0", 2, { ID_UNREACH, ID_TIMEOUT } },
	{ "host=10.2.0.2", 3, { ID_COMPLETED, ID_ABORTED, ID_REFUSED } },
	{ "host=10.1.0.1", 5, { 5, 4, 3, 2, 1 } },
	{ "host=10.1.0.254", 0, { 0 } },		/* the router only sent ICMP */
	{ "host=2001:db8::20", 1, { ID_V6 } },
	{ "host=2001%3Adb8%3A%3A10", 1, { ID_V6 } },	/* percent-encoded */
	{ "host=2001:db8::30", 0, { 0 } },
	{ "port=80", 2, { ID_TIMEOUT, ID_COMPLETED } },
	{ "port=443", 2, { ID_V6, ID_UNREACH } },
	{ "port=41002", 1, { ID_ABORTED } },
	{ "port=65535", 0, { 0 } },
	{ "host=10.2.0.2&port=80", 1, { ID_COMPLETED } },
	{ "outcome=refused&port=80", 0, { 0 } },
	{ "host=10.2.0.9&conn_state=S0&outcome=unreachable", 1, { ID_UNREACH } },
	{ "state=CLOSED&host=10.2.0.3&conn_state=S0&outcome=timeout&port=80", 1, { ID_TIMEOUT } },
	{ "state=SYN_SENT&host=10.2.0.3&outcome=timeout", 0, { 0 } },
};

START_TEST(connection_filters_select_the_right_records)
{
	const struct filter_case *c = &filters[_i];

	assert_listing(c->query, c->total, 0, CS_WEB_LIMIT_DEFAULT, c->ids, c->total);
}
END_TEST

/* Every state, against the endpoints the snapshot holds. */
START_TEST(state_filter_matches_the_snapshot)
{
	uint64_t ids[CONNS];
	size_t n = 0;

	for (uint64_t id = CONNS; id >= 1; id--)
		for (uint32_t i = 0; i < snap->conn_cnt; i++) {
			const struct cs_conn *c = &snap->conns[i].c;
			if (c->id == id && (c->ep[0].state == _i || c->ep[1].state == _i))
				ids[n++] = id;
		}
	assert_listing(tprintf("state=%s", cs_tcp_state_names[_i]), n, 0,
		       CS_WEB_LIMIT_DEFAULT, ids, n);
}
END_TEST

static const struct page_case {
	const char *query;
	uint64_t offset, limit;
	unsigned n;
	uint64_t ids[CONNS];
} pages[] = {
	{ "limit=2", 0, 2, 2, { 6, 5 } },
	{ "limit=2&offset=2", 2, 2, 2, { 4, 3 } },
	{ "offset=4&limit=2", 4, 2, 2, { 2, 1 } },
	{ "offset=5&limit=10", 5, 10, 1, { 1 } },
	{ "offset=6", 6, 50, 0, { 0 } },
	{ "offset=1000000", 1000000, 50, 0, { 0 } },
	{ "limit=1", 0, 1, 1, { 6 } },
	{ "limit=1000", 0, 1000, 6, { 6, 5, 4, 3, 2, 1 } },
	{ "limit=1&offset=3&sort=ts", 3, 1, 1, { 4 } },
};

START_TEST(pagination_windows_the_items_and_keeps_the_total)
{
	const struct page_case *c = &pages[_i];

	assert_listing(c->query, CONNS, c->offset, c->limit, c->ids, c->n);
}
END_TEST

/* The key each sort orders by, as the listing itself shows it. */
static uint64_t shown_key(const struct jv *item, const char *key)
{
	if (!strcmp(key, "ts") || !strcmp(key, "duration")) {
		const char *t = JNUMTEXT(item, key);
		unsigned long long s, us;
		ck_assert_msg(sscanf(t, "%llu.%6llu", &s, &us) == 2, "%s: %s", key, t);
		return s * SEC + us;
	}
	if (!strcmp(key, "bytes"))
		return JU(item, "orig_ip_bytes") + JU(item, "resp_ip_bytes");
	return JU(item, "orig_pkts") + JU(item, "resp_pkts");
}

static const char *const sort_keys[] = { "ts", "duration", "bytes", "pkts" };

START_TEST(sorting_orders_by_the_key_shown_ties_by_id)
{
	const char *key = sort_keys[_i / 2];
	bool desc = _i % 2;
	const char *target = tprintf("/api/connections?sort=%s%s&limit=1000",
				     desc ? "-" : "", key);
	const struct jv *v = json_reply(get(target), 200, target);
	const struct jv *items = JARR(v, "items");
	bool seen[CONNS + 1] = { false };

	ck_assert_uint_eq(JU(v, "total"), CONNS);
	ck_assert_uint_eq(items->n, CONNS);
	for (size_t i = 0; i < items->n; i++) {
		uint64_t id = JU(items->items[i], "id");
		ck_assert_msg(id >= 1 && id <= CONNS && !seen[id], "%s: id %" PRIu64, target, id);
		seen[id] = true;
		if (!i)
			continue;
		uint64_t a = shown_key(items->items[i - 1], key);
		uint64_t b = shown_key(items->items[i], key);
		uint64_t ida = JU(items->items[i - 1], "id");
		bool ordered = desc ? (a > b || (a == b && ida > id))
				    : (a < b || (a == b && ida < id));
		ck_assert_msg(ordered, "%s: item %zu (id %" PRIu64 ", %s %" PRIu64
			      ") after id %" PRIu64 " (%" PRIu64 ")", target, i, id, key,
			      b, ida, a);
	}
}
END_TEST

START_TEST(sort_by_time_both_ways)
{
	static const uint64_t up[] = { 1, 2, 3, 4, 5, 6 }, down[] = { 6, 5, 4, 3, 2, 1 };

	assert_listing("sort=ts", CONNS, 0, 50, up, CONNS);
	assert_listing("sort=-ts", CONNS, 0, 50, down, CONNS);
	assert_listing("", CONNS, 0, 50, down, CONNS);
}
END_TEST

START_TEST(listed_connections_carry_their_fields)
{
	const struct jv *v = json_reply(get("/api/connections?sort=ts"), 200, "list");
	const struct jv *it = JARR(v, "items");

	ck_assert_uint_eq(it->n, CONNS);
	const struct jv *ref = it->items[0], *abo = it->items[1], *com = it->items[2];
	const struct jv *unr = it->items[4], *six = it->items[5];

	ck_assert_uint_eq(JU(ref, "id"), ID_REFUSED);
	ck_assert(!JB(ref, "open"));
	ck_assert_str_eq(JS(ref, "orig_h"), "10.1.0.1");
	ck_assert_uint_eq(JU(ref, "orig_p"), 41001);
	ck_assert_str_eq(JS(ref, "resp_h"), "10.2.0.2");
	ck_assert_uint_eq(JU(ref, "resp_p"), 81);
	ck_assert_str_eq(JS(ref, "outcome"), "refused");
	ck_assert_str_eq(JS(ref, "conn_state"), "REJ");
	ck_assert_str_eq(JS(ref, "rst.by"), "resp");
	ck_assert_str_eq(JS(ref, "rst.cause"), "refused");
	ck_assert_str_eq(JNUMTEXT(ref, "ts"), usec_text(T0));
	ck_assert_str_eq(JNUMTEXT(ref, "duration"), "0.000200");
	ck_assert_uint_eq(JU(ref, "orig_pkts"), 1);
	ck_assert_uint_eq(JU(ref, "resp_pkts"), 1);
	JNULL(ref, "icmp");

	ck_assert(!JB(abo, "open"));
	ck_assert_str_eq(JS(abo, "outcome"), "aborted");
	ck_assert_str_eq(JS(abo, "rst.by"), "resp");
	ck_assert_uint_eq(JU(abo, "orig_bytes"), 100);

	ck_assert(JB(com, "open"));
	ck_assert_str_eq(JS(com, "outcome"), "completed");
	ck_assert_str_eq(JS(com, "orig_state"), "TIME_WAIT");
	ck_assert_str_eq(JS(com, "resp_state"), "CLOSED");
	ck_assert_uint_eq(JU(com, "orig_bytes"), 20);
	ck_assert_uint_eq(JU(com, "resp_bytes"), 200);
	ck_assert_uint_eq(JU(com, "orig_pkts"), 6);
	ck_assert_uint_eq(JU(com, "resp_pkts"), 3);
	ck_assert_str_eq(JNUMTEXT(com, "handshake_rtt"), "0.000200");
	JNULL(com, "rst");

	ck_assert(JB(unr, "open"));
	ck_assert_str_eq(JS(unr, "outcome"), "unreachable");
	ck_assert_uint_eq(JU(unr, "icmp.type"), 3);
	ck_assert_uint_eq(JU(unr, "icmp.code"), 1);
	ck_assert_str_eq(JS(unr, "icmp.from"), "10.1.0.254");

	ck_assert_uint_eq(JU(six, "id"), ID_V6);
	ck_assert_str_eq(JS(six, "orig_h"), "2001:db8::10");
	ck_assert_str_eq(JS(six, "resp_h"), "2001:db8::20");
	ck_assert_str_eq(JS(six, "outcome"), "established");
	ck_assert_str_eq(JS(six, "orig_state"), "ESTABLISHED");
	ck_assert_str_eq(JS(six, "resp_state"), "ESTABLISHED");
	ck_assert_uint_eq(JU(six, "out_of_window"), 1);
	ck_assert_uint_eq(JU(com, "out_of_window"), 0);
}
END_TEST

/* ---- /api/connections/{id} ----------------------------------------------- */

/* A timeline event: sender, tcpdump letters, payload, and both endpoints'
 * states after it. */
struct ev_want {
	const char *from, *flags;
	uint32_t len;
	const char *orig_state, *resp_state;
};

static void assert_timeline(uint64_t id, const struct ev_want *want, size_t n)
{
	const char *target = tprintf("/api/connections/%" PRIu64, id);
	const struct jv *v = json_reply(get(target), 200, target);
	const struct jv *evs = JARR(v, "events");
	const struct cs_event *rec[64];
	size_t nrec = 0;

	for (uint32_t i = 0; i < snap->event_cnt && nrec < 64; i++)
		if (snap->events[i].conn_id == id)
			rec[nrec++] = &snap->events[i];
	ck_assert_uint_eq(JU(v, "connection.id"), id);
	ck_assert(JB(v, "events_complete"));
	char got[1024] = "", exp[1024] = "";
	for (size_t i = 0; i < evs->n; i++) {
		const struct jv *e = evs->items[i];
		snprintf(got + strlen(got), sizeof got - strlen(got), "\n  %s %s len %" PRIu64
			 " -> %s/%s", JS(e, "from"), JS(e, "flags"), JU(e, "len"),
			 JS(e, "orig_state"), JS(e, "resp_state"));
	}
	ck_assert_msg(nrec == n, "%s: the engine recorded %zu events, the scenario %zu:%s",
		      target, nrec, n, got);
	for (size_t i = 0; i < n; i++)
		snprintf(exp + strlen(exp), sizeof exp - strlen(exp), "\n  %s %s len %u -> %s/%s",
			 want[i].from, want[i].flags, want[i].len,
			 want[i].orig_state, want[i].resp_state);
	ck_assert_msg(!strcmp(got, exp), "%s events:%s\nexpected:%s", target, got, exp);
	for (size_t i = 0; i < evs->n; i++) {
		const struct jv *e = evs->items[i];
		ck_assert_uint_eq(JU(e, "seq"), rec[i]->seq);
		ck_assert_uint_eq(JU(e, "ack"), rec[i]->ack);
		ck_assert_str_eq(JNUMTEXT(e, "ts"), usec_text(rec[i]->ts_us));
		if (i)		/* oldest first */
			ck_assert_uint_le(rec[i - 1]->ts_us, rec[i]->ts_us);
	}
}

START_TEST(a_completed_connection_has_its_timeline)
{
	static const struct ev_want want[] = {
		{ "orig", "S", 0, "SYN_SENT", "CLOSED" },
		{ "resp", "S.", 0, "SYN_SENT", "SYN_RECEIVED" },
		{ "orig", ".", 0, "ESTABLISHED", "ESTABLISHED" },
		/* the data in between moved no state: left out */
		{ "orig", "F.", 0, "FIN_WAIT_1", "CLOSE_WAIT" },
		{ "resp", "F.", 0, "TIME_WAIT", "LAST_ACK" },
		{ "orig", ".", 0, "TIME_WAIT", "CLOSED" },
	};

	assert_timeline(ID_COMPLETED, want, ARRAY_LEN(want));
	const struct jv *v = json_reply(get("/api/connections/3"), 200, "conn 3");
	ck_assert_str_eq(JS(v, "connection.outcome"), "completed");
	ck_assert(JB(v, "connection.open"));
	ck_assert_uint_eq(JU(v, "events.0.seq"), c_completed.cisn);
	ck_assert_uint_eq(JU(v, "events.1.seq"), c_completed.sisn);
	ck_assert_uint_eq(JU(v, "events.1.ack"), c_completed.cisn + 1);
}
END_TEST

START_TEST(refused_and_v6_timelines)
{
	static const struct ev_want refused[] = {
		{ "orig", "S", 0, "SYN_SENT", "CLOSED" },
		{ "resp", "R.", 0, "CLOSED", "CLOSED" },
	};
	static const struct ev_want v6[] = {
		{ "orig", "S", 0, "SYN_SENT", "CLOSED" },
		{ "resp", "S.", 0, "SYN_SENT", "SYN_RECEIVED" },
		{ "orig", ".", 0, "ESTABLISHED", "ESTABLISHED" },
		/* out of window: a new flag, no new state */
		{ "orig", "F.", 0, "ESTABLISHED", "ESTABLISHED" },
	};

	assert_timeline(ID_REFUSED, refused, ARRAY_LEN(refused));
	assert_timeline(ID_V6, v6, ARRAY_LEN(v6));
	const struct jv *v = json_reply(get("/api/connections/6"), 200, "conn 6");
	ck_assert_str_eq(JS(v, "connection.orig_h"), "2001:db8::10");
	ck_assert_str_eq(JS(v, "connection.resp_h"), "2001:db8::20");
}
END_TEST

START_TEST(unknown_and_malformed_ids)
{
	assert_error(get("/api/connections/999"), 404, NULL, "id 999");
	assert_error(get("/api/connections/7"), 404, NULL, "id 7 (not yet)");
	assert_error(get("/api/connections/18446744073709551615"), 400, NULL, "id 2^64-1");
	assert_error(get("/api/connections/abc"), 400, NULL, "id abc");
	assert_error(get("/api/connections/%201"), 400, NULL, "id ' 1'");
	assert_error(get("/api/connections/+1"), 400, NULL, "id +1");
}
END_TEST

/* ---- bad queries, methods, sizes ----------------------------------------- */

static const struct bad_query {
	const char *query;
	const char *mention;	/* the parameter the message names */
} bad_queries[] = {
	{ "outcome=nope", "outcome" },
	{ "outcome=REFUSED", "outcome" },
	{ "outcome=", "outcome" },
	{ "state=established", "state" },
	{ "conn_state=sf", "conn_state" },
	{ "port=0", "port" },
	{ "port=65536", "port" },
	{ "port=abc", "port" },
	{ "port=-1", "port" },
	{ "port=%2B80", "port" },
	{ "port=8%200", "port" },
	{ "port=", "port" },
	{ "limit=0", "limit" },
	{ "limit=1001", "limit" },
	{ "limit=ten", "limit" },
	{ "offset=-1", "offset" },
	{ "offset=1e3", "offset" },
	{ "sort=size", "sort" },
	{ "sort=-", "sort" },
	{ "sort=--ts", "sort" },
	{ "host=999.1.1.1", "host" },
	{ "host=example.com", "host" },
	{ "host=10.1.0.1%20", "host" },
	{ "host=", "host" },
	{ "outcome=refused&port=99999", "port" },
};

START_TEST(bad_query_values_are_400)
{
	const struct bad_query *c = &bad_queries[_i];
	const char *target = tprintf("/api/connections?%s", c->query);

	assert_error(get(target), 400, c->mention, target);
}
END_TEST

static const char *const other_methods[] = {
	"POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE",
};

START_TEST(other_methods_are_405_with_allow)
{
	const char *m = other_methods[_i];
	const char *targets[] = { "/api/summary", "/", "/metrics", "/api/events", "/nope" };

	for (size_t i = 0; i < ARRAY_LEN(targets); i++) {
		struct resp *r = request(m, targets[i], "Content-Length: 0\r\n");
		const char *what = tprintf("%s %s", m, targets[i]);
		assert_error(r, 405, NULL, what);
		const char *allow = header(r, "Allow");
		ck_assert_msg(allow && strstr(allow, "GET") && strstr(allow, "HEAD") &&
			      !strstr(allow, "POST"), "%s: Allow '%s'", what,
			      allow ? allow : "(none)");
	}
	/* with a body the server did not ask for */
	struct resp *r = request(m, "/api/summary", "Content-Type: application/x-www-form-"
				 "urlencoded\r\nContent-Length: 9\r\n\r\nlimit=1&x");
	assert_error(r, 405, NULL, m);
	ck_assert_ptr_nonnull(header(r, "Allow"));
}
END_TEST

static char *long_target(const char *prefix, size_t total)
{
	size_t n = strlen(prefix);
	char *t = talloc(total + 1);

	memcpy(t, prefix, n);
	memset(t + n, 'a', total > n ? total - n : 0);
	t[total] = '\0';
	return t;
}

static void assert_still_serving(void)
{
	struct resp *r = get("/healthz");

	ck_assert_int_eq(r->status, 200);
	ck_assert_str_eq(r->body, "ok\n");
	json_reply(get("/api/summary"), 200, "summary after an oversized request");
}

START_TEST(a_3000_byte_path_is_414)
{
	struct resp *r = get(long_target("/api/", 3000));

	assert_error(r, 414, NULL, "3000-byte path");
	assert_still_serving();
}
END_TEST

/* The URL is the whole request target: a long query makes it long too. */
START_TEST(a_3000_byte_query_is_414)
{
	struct resp *r = get(long_target("/api/summary?pad=", 3000));

	assert_error(r, 414, NULL, "3000-byte URL with its query");
}
END_TEST

START_TEST(a_40k_url_is_refused_and_the_server_goes_on)
{
	struct resp *r = get(long_target("/api/summary?pad=", 40 * 1024));

	ck_assert_msg(r->status >= 400 && r->status < 500, "40 KB URL: status %d", r->status);
	assert_still_serving();
}
END_TEST

START_TEST(headers_of_40k_are_refused_and_the_server_goes_on)
{
	char *extra = talloc(41 * 1024);
	size_t n = 0;

	for (int i = 0; i < 40; i++) {
		n += (size_t)sprintf(extra + n, "X-Pad-%02d: ", i);
		memset(extra + n, 'b', 1000);
		n += 1000;
		memcpy(extra + n, "\r\n", 3);
		n += 2;
	}
	struct resp *r = request("GET", "/api/summary", extra);
	ck_assert_msg(r->status >= 400 && r->status < 500, "40 KB of headers: status %d",
		      r->status);
	ck_assert_msg(r->status == 431 || r->status == 413 || r->status == 400,
		      "40 KB of headers: status %d", r->status);
	assert_still_serving();
}
END_TEST

/*
 * Hostile requests, sent raw: each must get a 4xx (the one given, or any
 * when 0), and the server must go on serving.  A request is head, then rep
 * repeated count times, then tail; lengths are explicit, so NUL bytes are
 * sent as they are.  `ours` marks answers that connscope writes (JSON, the
 * security headers); libmicrohttpd refuses some requests itself before any
 * handler runs (a request line or headers beyond its memory pool: 414/431;
 * malformed syntax: 400) with its own small fixed page.
 */
struct bytes {
	const char *p;
	size_t n;
};
#define B(lit) { lit, sizeof lit - 1 }
#define GET_LINE(target) "GET " target " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"

static const struct hostile {
	const char *name;
	struct bytes head, rep;
	size_t count;
	struct bytes tail;
	int status;
	bool ours;
} hostiles[] = {
	{ "one header of 40 KB", B(GET_LINE("/api/summary") "X-Big: "), B("b"), 40000,
	  B("\r\n\r\n"), 0, false },
	{ "4000 small headers", B(GET_LINE("/api/summary")), B("X-Many: 1\r\n"), 4000,
	  B("\r\n"), 0, false },
	{ "a 1900-byte query value", B("GET /api/connections?host="), B("a"), 1900,
	  B(" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"), 400, true },
	{ "a query value of 100 KB", B("GET /api/connections?host="), B("a"), 100000,
	  B(" HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"), 0, false },
	{ "bad percent-encoding in a value (%zz)", B(GET_LINE("/api/connections?outcome=%zz")),
	  B(""), 0, B("\r\n"), 400, true },
	{ "a lone % in a value", B(GET_LINE("/api/connections?outcome=refused%")),
	  B(""), 0, B("\r\n"), 400, true },
	{ "half an escape in a value", B(GET_LINE("/api/connections?port=8%3")),
	  B(""), 0, B("\r\n"), 400, true },
	{ "%00 inside a value", B(GET_LINE("/api/connections?outcome=refused%00x")),
	  B(""), 0, B("\r\n"), 400, true },
	{ "%00 ending a value", B(GET_LINE("/api/connections?port=80%00")),
	  B(""), 0, B("\r\n"), 400, true },
	{ "bad percent-encoding in the path", B(GET_LINE("/api/%zzsummary")),
	  B(""), 0, B("\r\n"), 404, true },
	{ "%00 in the path", B(GET_LINE("/api/summary%00")), B(""), 0, B("\r\n"), 400, true },
	{ "a NUL byte in the request line", B("GET /api/sum\0mary HTTP/1.1\r\nHost: localhost\r\n"
					      "Connection: close\r\n\r\n"),
	  B(""), 0, B(""), 0, false },
	{ "a request line of garbage", B("\x01\x02\x03 hello\r\n\r\n"), B(""), 0, B(""), 0,
	  false },
	{ "a GET with an absurd Content-Length",
	  B(GET_LINE("/api/summary") "Content-Length: 99999999999999999999999\r\n\r\n"),
	  B(""), 0, B(""), 0, false },
	{ "POST with a 100 KB body", B("POST /api/summary HTTP/1.1\r\nHost: localhost\r\n"
				       "Connection: close\r\nContent-Length: 100000\r\n\r\n"),
	  B("p"), 100000, B(""), 405, true },
	{ "POST with a chunked body", B("POST /api/connections HTTP/1.1\r\nHost: localhost\r\n"
					"Connection: close\r\nTransfer-Encoding: chunked\r\n\r\n"),
	  B("5\r\nhello\r\n"), 100, B("0\r\n\r\n"), 405, true },
	{ "PUT with a body to an event stream", B("PUT /api/events HTTP/1.1\r\nHost: localhost\r\n"
						  "Connection: close\r\nContent-Length: 4\r\n\r\n"),
	  B("data"), 1, B(""), 405, true },
};

START_TEST(hostile_requests_are_4xx_and_the_server_goes_on)
{
	const struct hostile *h = &hostiles[_i];
	size_t n = h->head.n + h->rep.n * h->count + h->tail.n, at = 0;
	char *req = talloc(n);

	memcpy(req, h->head.p, h->head.n);
	for (at = h->head.n; at < h->head.n + h->rep.n * h->count; at += h->rep.n)
		memcpy(req + at, h->rep.p, h->rep.n);
	memcpy(req + at, h->tail.p, h->tail.n);

	size_t raw_len;
	const char *raw = exchange_raw(AF_INET, port, req, n, &raw_len);
	int status = 0;
	sscanf(raw, "HTTP/1.1 %d ", &status);
	if (h->status)
		ck_assert_msg(status == h->status, "%s: status %d, expected %d: %.300s",
			      h->name, status, h->status, raw);
	else
		ck_assert_msg(status >= 400 && status < 500, "%s: status %d: %.300s",
			      h->name, status, raw);
	/* libmicrohttpd's own pages are only read as far as their status */
	if (h->ours) {
		struct resp r;
		const char *why = parse_response(raw, raw_len, false, &r);
		ck_assert_msg(!why, "%s: %s: '%.300s'", h->name, why, raw);
		assert_error(&r, status, NULL, h->name);
	}
	assert_still_serving();
}
END_TEST

/* ---- /api/alerts, /api/timeseries ---------------------------------------- */

START_TEST(alerts_list_is_empty_then_holds_the_port_reuse)
{
	const struct jv *v = json_reply(get("/api/alerts"), 200, "alerts");

	ck_assert_uint_eq(JARR(v, "alerts")->n, 0);

	feed_port_reuse();
	publish(false);
	v = json_reply(get("/api/alerts"), 200, "alerts after reuse");
	ck_assert_uint_eq(JARR(v, "alerts")->n, 1);
	ck_assert_str_eq(JS(v, "alerts.0.type"), "port_reuse");
	ck_assert_msg(strlen(JS(v, "alerts.0.explanation")) > 20, "explanation '%s'",
		      JS(v, "alerts.0.explanation"));
	ck_assert_str_eq(JNUMTEXT(v, "alerts.0.start"), usec_text(T0 + 20 * SEC));

	v = json_reply(get("/api/summary"), 200, "summary after reuse");
	ck_assert_uint_eq(JU(v, "alerts"), 1);
	ck_assert_uint_eq(JU(v, "snapshot.seq"), 2);
	ck_assert_uint_eq(JU(v, "summary.connections"), CONNS + 1);
	ck_assert_str_eq(JS(v, "verdicts.0"), JS(json_reply(get("/api/alerts"), 200, "a"),
						 "alerts.0.explanation"));
	/* the record it replaced is finished now; the new one is listed */
	v = json_reply(get("/api/connections?port=41003"), 200, "reuse listing");
	ck_assert_uint_eq(JU(v, "total"), 2);
	ck_assert_uint_eq(JU(v, "items.0.id"), 7);
	ck_assert(JB(v, "items.0.port_reuse"));
	ck_assert(JB(v, "items.0.open"));
	ck_assert_uint_eq(JU(v, "items.1.id"), ID_COMPLETED);
	ck_assert(!JB(v, "items.1.open"));
	ck_assert_str_eq(JS(v, "items.1.outcome"), "completed");
}
END_TEST

START_TEST(timeseries_counts_per_second)
{
	static const struct {
		const char *name;
		uint64_t total;
		int at;			/* a second with a known count */
		uint64_t count_at;
	} want[] = {
		{ "syn", 7, 12, 2 },		/* the retransmission and the unreachable */
		{ "synack", 3, 13, 1 },
		{ "rst", 2, 1, 1 },
		{ "fin", 3, 10, 2 },		/* and the v6 FIN out of window: on the wire */
		{ "new", 6, 0, 1 },
		{ "established", 3, 10, 1 },
		{ "time_wait", 4, 13, 1 },	/* T0+10 .. T0+13: the client's TIME_WAIT */
		{ "close_wait", 0, 10, 0 },
	};
	const struct jv *v = json_reply(get("/api/timeseries"), 200, "timeseries");

	ck_assert_uint_eq(JU(v, "interval"), 1);
	ck_assert_uint_eq(JU(v, "start"), T0_SEC);
	ck_assert_uint_eq(JU(v, "end"), T0_SEC + 13);
	ck_assert_uint_eq(J(v, "series")->n, ARRAY_LEN(want));
	for (size_t k = 0; k < ARRAY_LEN(want); k++) {
		const struct jv *a = JARR(J(v, "series"), want[k].name);
		uint64_t sum = 0;
		ck_assert_msg(a->n == 14, "%s: %zu seconds", want[k].name, a->n);
		for (size_t i = 0; i < a->n; i++) {
			ck_assert_msg(a->items[i]->t == J_NUM && a->items[i]->is_uint,
				      "%s[%zu]", want[k].name, i);
			sum += a->items[i]->u;
		}
		ck_assert_msg(sum == want[k].total, "%s: %" PRIu64 " in all, expected %" PRIu64,
			      want[k].name, sum, want[k].total);
		ck_assert_msg(a->items[want[k].at]->u == want[k].count_at,
			      "%s[%d] = %" PRIu64 ", expected %" PRIu64, want[k].name,
			      want[k].at, a->items[want[k].at]->u, want[k].count_at);
	}
}
END_TEST

/* ---- /metrics ------------------------------------------------------------ */

#define METRIC_SAMPLES 256
#define METRIC_LABELS 4

struct sample {
	const char *name;
	int nl;
	const char *lk[METRIC_LABELS], *lv[METRIC_LABELS];
	const char *labels;	/* as written, for duplicate checks */
	double value;
	const char *text;	/* the value as written */
};

struct family {
	const char *name, *type;
	bool help;
};

struct metrics {
	struct sample s[METRIC_SAMPLES];
	int n;
	struct family f[64];
	int nf;
};

static bool metric_name_ok(const char *s, size_t n)
{
	if (!n || !(s[0] == '_' || s[0] == ':' || (unsigned)((s[0] | 0x20) - 'a') < 26u))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(s[i] == '_' || s[i] == ':' || (unsigned)((s[i] | 0x20) - 'a') < 26u ||
		      (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static bool label_name_ok(const char *s, size_t n)
{
	if (!n || (n >= 2 && s[0] == '_' && s[1] == '_'))
		return false;		/* reserved */
	for (size_t i = 0; i < n; i++)
		if (!(s[i] == '_' || (unsigned)((s[i] | 0x20) - 'a') < 26u ||
		      (i && s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static struct family *family_of(struct metrics *m, const char *name, size_t n)
{
	for (int i = 0; i < m->nf; i++)
		if (strlen(m->f[i].name) == n && !memcmp(m->f[i].name, name, n))
			return &m->f[i];
	return NULL;
}

/* "value" of the text format: a float, NaN or +-Inf, nothing after it. */
static bool metric_value(const char *s, size_t n, double *v)
{
	const char *t = tstrndup(s, n);
	char *e;

	if (!strcmp(t, "NaN") || !strcmp(t, "+Inf") || !strcmp(t, "-Inf")) {
		*v = strtod(t[0] == '+' ? t + 1 : t, NULL);
		return true;
	}
	if (!n || !(t[0] == '-' || (t[0] >= '0' && t[0] <= '9')))
		return false;
	*v = strtod(t, &e);
	return !*e && isfinite(*v);
}

/* {name="value",...} at line[*pos], if there; "\\", "\"" and "\n" escapes only. */
static const char *parse_labels(const char *line, size_t ll, size_t *pos, struct sample *s)
{
	size_t i = *pos;

	if (i >= ll || line[i] != '{')
		return NULL;
	i++;
	while (i < ll && line[i] != '}') {
		size_t k = i;
		while (i < ll && line[i] != '=')
			i++;
		if (i + 1 >= ll || !label_name_ok(line + k, i - k) || line[i + 1] != '"')
			return tprintf("bad label in '%s'", line);
		if (s->nl == METRIC_LABELS)
			return tprintf("too many labels in '%s'", line);
		s->lk[s->nl] = tstrndup(line + k, i - k);
		for (int j = 0; j < s->nl; j++)
			if (!strcmp(s->lk[j], s->lk[s->nl]))
				return tprintf("label twice in '%s'", line);
		i += 2;
		char *val = talloc(ll);
		size_t vn = 0;
		for (; i < ll && line[i] != '"'; i++) {
			if (line[i] != '\\') {
				val[vn++] = line[i];
				continue;
			}
			if (i + 1 >= ll || !strchr("\\\"n", line[i + 1]))
				return tprintf("bad escape in '%s'", line);
			val[vn++] = line[i + 1] == 'n' ? '\n' : line[i + 1];
			i++;
		}
		if (i >= ll)
			return tprintf("unterminated label value in '%s'", line);
		val[vn] = '\0';
		s->lv[s->nl++] = val;
		i++;
		if (i < ll && line[i] == ',') {
			if (++i < ll && line[i] == '}')
				return tprintf("a trailing comma in '%s'", line);
		} else if (i >= ll || line[i] != '}') {
			return tprintf("bad label list in '%s'", line);
		}
	}
	if (i >= ll || !s->nl)
		return tprintf("bad label list in '%s'", line);
	*pos = i + 1;
	return NULL;
}

/*
 * Prometheus text format 0.0.4, strictly: every line is "# HELP name text",
 * "# TYPE name counter|gauge", or a sample "name{label="value",...} value"
 * (no timestamp) whose family was declared by the latest TYPE line; no
 * other comments, no empty lines, no series twice.  Returns NULL or why not.
 */
static const char *metrics_parse(const char *body, size_t len, struct metrics *m)
{
	const char *p = body, *end = body + len;
	struct family *cur = NULL;

	memset(m, 0, sizeof *m);
	if (!len || body[len - 1] != '\n')
		return "the text does not end with a newline";
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *line = tstrndup(p, (size_t)(nl - p));
		size_t ll = (size_t)(nl - p);
		p = nl + 1;
		if (!ll)
			return tprintf("an empty line before '%.60s'", p);
		if (line[0] == '#') {
			bool help = !strncmp(line, "# HELP ", 7), type = !strncmp(line, "# TYPE ", 7);
			if (!help && !type)
				return tprintf("a comment that is not HELP or TYPE: '%s'", line);
			const char *name = line + 7;
			size_t nn = strcspn(name, " ");
			if (!metric_name_ok(name, nn) || !name[nn] || !name[nn + 1])
				return tprintf("bad %s line '%s'", help ? "HELP" : "TYPE", line);
			const char *rest = name + nn + 1;
			struct family *f = family_of(m, name, nn);
			if (!f) {
				if (m->nf == (int)ARRAY_LEN(m->f))
					return "too many families";
				f = &m->f[m->nf++];
				f->name = tstrndup(name, nn);
			}
			if (help) {
				if (f->help)
					return tprintf("HELP twice for %s", f->name);
				f->help = true;
			} else {
				if (f->type)
					return tprintf("TYPE twice for %s", f->name);
				if (strcmp(rest, "counter") && strcmp(rest, "gauge"))
					return tprintf("TYPE '%s' for %s", rest, f->name);
				f->type = tstrndup(rest, strlen(rest));
				cur = f;
			}
			continue;
		}
		if (m->n == METRIC_SAMPLES)
			return "too many samples";
		struct sample *s = &m->s[m->n];
		size_t nn = 0;
		while (nn < ll && line[nn] != '{' && line[nn] != ' ')
			nn++;
		if (!metric_name_ok(line, nn))
			return tprintf("bad metric name in '%s'", line);
		s->name = tstrndup(line, nn);
		if (!cur || strcmp(cur->name, s->name))
			return tprintf("sample '%s' without its TYPE just before", line);
		size_t i = nn;
		const char *lab_start = line + i;
		const char *bad = parse_labels(line, ll, &i, s);
		if (bad)
			return bad;
		s->labels = tstrndup(lab_start, (size_t)(line + i - lab_start));
		if (i >= ll || line[i] != ' ')
			return tprintf("no single space before the value in '%s'", line);
		i++;
		if (!metric_value(line + i, ll - i, &s->value))
			return tprintf("bad value in '%s'", line);
		s->text = tstrndup(line + i, ll - i);
		if (!strcmp(cur->type, "counter") && !(s->value >= 0))
			return tprintf("a negative counter: '%s'", line);
		for (int j = 0; j < m->n; j++)
			if (!strcmp(m->s[j].name, s->name) && !strcmp(m->s[j].labels, s->labels))
				return tprintf("series twice: '%s'", line);
		m->n++;
	}
	for (int i = 0; i < m->nf; i++)
		if (!m->f[i].type)
			return tprintf("HELP without TYPE for %s", m->f[i].name);
	return NULL;
}

/* The value of a series: name and label pairs, NULL-terminated; -1 if absent. */
static double metric(const struct metrics *m, const char *name, ...)
{
	const char *k[METRIC_LABELS], *v[METRIC_LABELS];
	int n = 0;
	va_list ap;

	va_start(ap, name);
	while (n < METRIC_LABELS && (k[n] = va_arg(ap, const char *)) != NULL) {
		v[n] = va_arg(ap, const char *);
		n++;
	}
	va_end(ap);
	for (int i = 0; i < m->n; i++) {
		const struct sample *s = &m->s[i];
		if (strcmp(s->name, name) || s->nl != n)
			continue;
		int hits = 0;
		for (int a = 0; a < n; a++)
			for (int b = 0; b < s->nl; b++)
				hits += !strcmp(k[a], s->lk[b]) && !strcmp(v[a], s->lv[b]);
		if (hits == n)
			return s->value;
	}
	return -1;
}

static int metric_count(const struct metrics *m, const char *name)
{
	int n = 0;

	for (int i = 0; i < m->n; i++)
		n += !strcmp(m->s[i].name, name);
	return n;
}

static struct metrics *get_metrics(void)
{
	struct resp *r = get("/metrics");
	struct metrics *m = talloc(sizeof *m);

	ck_assert_int_eq(r->status, 200);
	const char *why = metrics_parse(r->body, r->body_len, m);
	ck_assert_msg(!why, "/metrics: %s", why);
	return m;
}

START_TEST(metrics_parse_strictly_and_match_the_engine)
{
	struct metrics *m = get_metrics();

	ck_assert(metric(m, "connscope_packets_total", NULL) == (double)fed_frames);
	ck_assert(metric(m, "connscope_bytes_total", NULL) == (double)fed_bytes);
	ck_assert(metric(m, "connscope_connections_open", NULL) == OPEN_CONNS);
	ck_assert(metric(m, "connscope_capture_drops_total", NULL) == 0);

	ck_assert_int_eq(metric_count(m, "connscope_packets_skipped_total"), CS_SKIP_MAX - 1);
	for (int i = 1; i < CS_SKIP_MAX; i++)
		ck_assert(metric(m, "connscope_packets_skipped_total", "reason",
				 cs_skip_names[i], NULL) == 0);

	/* The counter has the finished ones only (refused and aborted, reset
	 * records gone 5 s after their RST); the other four are open, their
	 * outcomes provisional, in the gauge. */
	ck_assert_int_eq(metric_count(m, "connscope_connections_total"), CS_OUT_MAX);
	ck_assert_int_eq(metric_count(m, "connscope_connections_open_by_outcome"), CS_OUT_MAX);
	for (int i = 0; i < CS_OUT_MAX; i++) {
		double finished = i == CS_OUT_REFUSED || i == CS_OUT_ABORTED;
		ck_assert_msg(metric(m, "connscope_connections_total", "outcome",
				     cs_outcome_names[i], NULL) == finished,
			      "connections_total{outcome=\"%s\"}", cs_outcome_names[i]);
		ck_assert_msg(metric(m, "connscope_connections_open_by_outcome", "outcome",
				     cs_outcome_names[i], NULL) ==
			      (double)expected_outcomes[i] - finished,
			      "connections_open_by_outcome{outcome=\"%s\"}",
			      cs_outcome_names[i]);
	}

	/* Per server: the two finished connections both failed, the refused
	 * one to 10.2.0.2:81 and the aborted one to 10.2.0.2:8080 (the
	 * scenario above); the open ones count when they finish. */
	ck_assert_int_eq(metric_count(m, "connscope_server_connections_total"), 2);
	ck_assert_int_eq(metric_count(m, "connscope_server_failed_connections_total"), 2);
	for (int i = 0; i < 2; i++) {
		const char *server = i ? "10.2.0.2:8080" : "10.2.0.2:81";
		ck_assert_msg(metric(m, "connscope_server_connections_total", "server", server,
				     NULL) == 1, "server_connections_total{server=\"%s\"}", server);
		ck_assert_msg(metric(m, "connscope_server_failed_connections_total", "server",
				     server, NULL) == 1,
			      "server_failed_connections_total{server=\"%s\"}", server);
	}

	ck_assert_int_eq(metric_count(m, "connscope_endpoints"), 22);
	for (int side = 0; side < 2; side++)
		for (int i = 0; i < CS_TCP_STATE_MAX; i++)
			ck_assert_msg(metric(m, "connscope_endpoints", "side", side ? "resp" : "orig",
					     "state", cs_tcp_state_names[i], NULL) ==
				      (double)snap->states[side][i], "endpoints{side=%d,state=%s}",
				      side, cs_tcp_state_names[i]);
	ck_assert(metric(m, "connscope_endpoints", "side", "orig", "state", "TIME_WAIT", NULL) == 1);

	ck_assert_int_eq(metric_count(m, "connscope_alerts_total"), CS_ALERT_TYPE_MAX);
	for (int i = 0; i < CS_ALERT_TYPE_MAX; i++)
		ck_assert(metric(m, "connscope_alerts_total", "type", cs_alert_type_names[i],
				 NULL) == 0);
	ck_assert_int_eq(metric_count(m, "connscope_evicted_total"), CS_EVICT_MAX - 1);
	ck_assert_int_eq(metric_count(m, "connscope_untracked_total"), CS_UNTRACKED_MAX - 1);
	for (int i = 1; i < CS_UNTRACKED_MAX; i++)
		ck_assert(metric(m, "connscope_untracked_total", "reason",
				 cs_untracked_names[i], NULL) == 0);

	feed_port_reuse();
	publish(false);
	m = get_metrics();
	ck_assert(metric(m, "connscope_alerts_total", "type", "port_reuse", NULL) == 1);
	ck_assert(metric(m, "connscope_packets_total", NULL) == (double)fed_frames);
}
END_TEST

/* The parser itself must refuse what Prometheus would. */
START_TEST(the_metrics_parser_is_strict)
{
	static const char *const bad[] = {
		"# TYPE a counter\na 1",			/* no final newline */
		"a 1\n",					/* no TYPE */
		"# TYPE a counter\nb 1\n",			/* another family */
		"# TYPE a summary\na 1\n",
		"# TYPE a counter\n\na 1\n",
		"# random\n# TYPE a counter\na 1\n",
		"# TYPE a counter\na{x=\"1\",} 1\n",
		"# TYPE a counter\na{x=1} 1\n",
		"# TYPE a counter\na{1x=\"1\"} 1\n",
		"# TYPE a counter\na{x=\"1\"}  1\n",
		"# TYPE a counter\na 1 123\n",
		"# TYPE a counter\na -1\n",
		"# TYPE a counter\na 1\na 2\n",
		"# TYPE 1a counter\n1a 1\n",
		"# TYPE a counter\n# TYPE a counter\na 1\n",
		"# TYPE a gauge\na{x=\"\\q\"} 1\n",
	};
	static const char good[] = "# HELP a_total Things.\n# TYPE a_total counter\n"
				   "a_total{x=\"1\",y=\"q\\\"\"} 3\n# TYPE b gauge\nb -2.5\n";
	struct metrics *m = talloc(sizeof *m);

	for (size_t i = 0; i < ARRAY_LEN(bad); i++)
		ck_assert_msg(metrics_parse(bad[i], strlen(bad[i]), m) != NULL,
			      "accepted: %s", bad[i]);
	const char *why = metrics_parse(good, strlen(good), m);
	ck_assert_msg(!why, "%s", why);
	ck_assert(metric(m, "a_total", "y", "q\"", "x", "1", NULL) == 3);
	ck_assert(metric(m, "b", NULL) == -2.5);
}
END_TEST

/* ---- one summary: the report, /api/summary and /metrics agree ------------ */

/* The summary table itself: names once, metrics named as Prometheus asks. */
START_TEST(the_summary_table_is_consistent)
{
	for (int i = 0; i < cs_summary_field_cnt; i++) {
		const struct cs_summary_field *f = &cs_summary_fields[i];
		const char *m = f->metric;
		ck_assert_msg(f->name && *f->name && f->kind < CS_SUM_KIND_MAX, "field %d", i);
		for (int k = 0; k < i; k++) {
			ck_assert_msg(strcmp(f->name, cs_summary_fields[k].name),
				      "%s twice in the table", f->name);
			ck_assert_msg(!m || !cs_summary_fields[k].metric ||
				      strcmp(m, cs_summary_fields[k].metric) ||
				      f->metric_type == CS_METRIC_SUM_OF ||
				      cs_summary_fields[k].metric_type == CS_METRIC_SUM_OF,
				      "%s: metric %s written twice", f->name, m);
		}
		ck_assert_msg((f->kind == CS_SUM_COUNTS) == (f->names != NULL) &&
			      (f->kind != CS_SUM_COUNTS || (f->first < f->count && f->label)),
			      "%s: a names table, a label and a range for counts only", f->name);
		ck_assert_msg((f->metric_type == CS_METRIC_NONE) == (m == NULL), "%s", f->name);
		if (!m)
			continue;
		size_t n = strlen(m);
		bool total = n > 6 && !strcmp(m + n - 6, "_total");
		ck_assert_msg(!strncmp(m, "connscope_", 10), "%s: metric %s", f->name, m);
		ck_assert_msg(f->metric_type != CS_METRIC_COUNTER || total,
			      "%s: counter %s without _total", f->name, m);
		ck_assert_msg(f->metric_type != CS_METRIC_GAUGE || !total,
			      "%s: gauge %s with _total", f->name, m);
		ck_assert_msg((f->metric_type == CS_METRIC_SUM_OF) == (f->help == NULL),
			      "%s: help for what is written, none for a sum", f->name);
	}
}
END_TEST

/* The part of web/API.md under "## GET <path>", up to the next section. */
static const char *api_md_section(const char *path)
{
	const char *root = getenv("CS_TEST_DATA");
	char *file = tprintf("%s/web/API.md", root ? root : ".");
	FILE *f = fopen(file, "r");
	ck_assert_msg(f, "cannot open %s", file);
	char *text = talloc(1 << 16);
	size_t n = fread(text, 1, (1 << 16) - 1, f);
	fclose(f);
	text[n] = '\0';
	const char *start = strstr(text, tprintf("\n## GET %s\n", path));
	ck_assert_msg(start, "%s: no section for %s", file, path);
	const char *end = strstr(start + 1, "\n## ");
	return tstrndup(start, end ? (size_t)(end - start) : strlen(start));
}

/* `name` followed by one of the characters of after. */
static bool names_in_backquotes(const char *text, const char *name, const char *after)
{
	const char *needle = tprintf("`%s", name);
	size_t n = strlen(needle);

	for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
		if (p[n] && strchr(after, p[n]))
			return true;
	return false;
}

/* A field added to the table must be documented too. */
START_TEST(api_md_lists_every_summary_field_and_metric)
{
	const char *summary = api_md_section("/api/summary");
	const char *metrics = api_md_section("/metrics");

	for (int i = 0; i < cs_summary_field_cnt; i++) {
		const struct cs_summary_field *f = &cs_summary_fields[i];
		ck_assert_msg(names_in_backquotes(summary, f->name, "`"),
			      "web/API.md does not describe summary.%s", f->name);
		ck_assert_msg(strstr(summary, tprintf("\"%s\":", f->name)),
			      "web/API.md's example has no \"%s\"", f->name);
		if (f->metric)
			ck_assert_msg(names_in_backquotes(metrics, f->metric, "`{"),
				      "web/API.md's /metrics does not name %s", f->metric);
	}
}
END_TEST

/* Every capture the project has: those outputs.sh compares. */
static glob_t captures;

static void find_captures(void)
{
	static const char *const patterns[] = {
		"samples/*.pcap", "tests/corpus/*/*.pcap", "tests/corpus/*/*.pcapng",
	};
	const char *root = getenv("CS_TEST_DATA");
	char pat[4096];

	for (size_t i = 0; i < ARRAY_LEN(patterns); i++) {
		snprintf(pat, sizeof pat, "%s/%s", root ? root : ".", patterns[i]);
		glob(pat, i ? GLOB_APPEND : 0, NULL, &captures);
	}
}

START_TEST(the_captures_are_found)
{
	ck_assert_msg(captures.gl_pathc >= 17, "%zu captures: is CS_TEST_DATA the "
		      "repository's root?", (size_t)captures.gl_pathc);
}
END_TEST

/* The run's snapshots: the last one (the finished analysis) is kept in snap. */
static void keep_snapshot(void *ctx, struct cs_snapshot *s)
{
	(void)ctx;
	cs_snapshot_unref(snap);
	snap = s;
}

/*
 * `connscope -r FILE --json F --web`, through the same run driver: the
 * report goes to a memory stream, the finished snapshot to snap.  Returns
 * the report's text.
 */
static const char *analyse_capture(const char *path, size_t *len)
{
	/* The snapshot names its input through this array: it must outlive
	 * the run (freed by the teardown). */
	const char **files = talloc(sizeof *files);
	files[0] = path;
	struct cs_run_config cfg = { .files = files, .file_cnt = 1,
				     .publish = keep_snapshot };
	struct cs_run *run = talloc(sizeof *run);
	char err[512], *text = NULL;

	cs_engine_opts_default(&cfg.engine);
	cfg.engine.keep_recent = true;		/* as --web sets it */
	cfg.json.stream = open_memstream(&text, len);
	ck_assert_ptr_nonnull(cfg.json.stream);
	ck_assert_msg(cs_run_init(run, &cfg, err, sizeof err) == 0, "%s", err);
	cs_run_read_files(run);
	cs_run_finish(run);
	enum cs_run_status status = run->status;
	cs_run_fini(run);
	bool closed = fclose(cfg.json.stream) == 0 && text;
	const char *copy = closed ? tstrndup(text, *len) : NULL;
	free(text);
	ck_assert_msg(status == CS_RUN_OK, "%s: run status %d", path, (int)status);
	ck_assert_msg(copy && snap, "%s: no report or no snapshot", path);
	return copy;
}

/* What a renderer answers for the snapshot: 200 and the body. */
static const char *rendered(void (*render)(const struct cs_snapshot *, struct cs_reply *),
			    size_t *len)
{
	struct cs_reply r;

	render(snap, &r);
	const char *copy = r.body ? tstrndup(r.body, r.len) : NULL;
	free(r.body);
	ck_assert_msg(r.status == 200 && copy, "status %d", r.status);
	*len = r.len;
	return copy;
}

static bool jv_same(const struct jv *a, const struct jv *b)
{
	if (a->t != b->t)
		return false;
	switch (a->t) {
	case J_NULL:
		return true;
	case J_BOOL:
		return a->b == b->b;
	case J_NUM:
	case J_STR:
		return !strcmp(a->s, b->s);	/* the text: 1.50 is not 1.5 */
	case J_ARR:
	case J_OBJ:
		if (a->n != b->n)
			return false;
		for (size_t i = 0; i < a->n; i++)
			if ((a->t == J_OBJ && strcmp(a->keys[i], b->keys[i])) ||
			    !jv_same(a->items[i], b->items[i]))
				return false;
		return true;
	}
	return false;
}

/* A value for a message: numbers as written, objects as key=value lists. */
static const char *jv_show(const struct jv *v)
{
	const char *out = "";

	switch (v->t) {
	case J_NULL:
		return "null";
	case J_BOOL:
		return v->b ? "true" : "false";
	case J_NUM:
	case J_STR:
		return v->s;
	default:
		for (size_t i = 0; i < v->n; i++)
			out = tprintf("%s%s%s=%s", out, i ? "," : "",
				      v->t == J_OBJ ? v->keys[i] : "", jv_show(v->items[i]));
		return tprintf("{%s}", out);
	}
}

/* The sample name{label="value"} (label NULL: the one without labels). */
static const struct sample *sample_of(const struct metrics *m, const char *name,
				      const char *label, const char *value)
{
	for (int i = 0; i < m->n; i++) {
		const struct sample *s = &m->s[i];
		if (strcmp(s->name, name) || s->nl != (label ? 1 : 0))
			continue;
		if (!label || (!strcmp(s->lk[0], label) && !strcmp(s->lv[0], value)))
			return s;
	}
	return NULL;
}

static const struct family *family_named(const struct metrics *m, const char *name)
{
	for (int i = 0; i < m->nf; i++)
		if (!strcmp(m->f[i].name, name))
			return &m->f[i];
	return NULL;
}

/* A figure that is the sum of a labelled family. */
static void assert_sum_metric(const char *what, const struct cs_summary_field *f,
			      const struct jv *v, const struct metrics *m)
{
	uint64_t sum = 0;
	int n = 0;

	for (int i = 0; i < m->n; i++)
		if (!strcmp(m->s[i].name, f->metric) ||
		    (f->sum_also && !strcmp(m->s[i].name, f->sum_also))) {
			sum += strtoull(m->s[i].text, NULL, 10);
			n++;
		}
	ck_assert_msg(v->t == J_NUM && v->is_uint && n > 0 && sum == v->u,
		      "%s: %d samples summing to %" PRIu64 ", the field is %s", what, n,
		      sum, jv_show(v));
}

/* A figure by label: one sample per member of the JSON object, same values. */
static void assert_counts_metric(const char *what, const struct cs_summary_field *f,
				 const struct jv *v, const struct metrics *m)
{
	ck_assert_msg(v->t == J_OBJ && metric_count(m, f->metric) == (int)v->n,
		      "%s: %d samples for %s", what, metric_count(m, f->metric), jv_show(v));
	for (size_t i = 0; i < v->n; i++) {
		const struct sample *s = sample_of(m, f->metric, f->label, v->keys[i]);
		ck_assert_msg(s && !strcmp(s->text, jv_show(v->items[i])),
			      "%s{%s=\"%s\"}: %s in /metrics, %s in the summary", what,
			      f->label, v->keys[i], s ? s->text : "no sample",
			      jv_show(v->items[i]));
	}
}

/* The field's metric says what its value v in the summary says. */
static void assert_field_metric(const char *file, const struct cs_summary_field *f,
				const struct jv *v, const struct metrics *m)
{
	if (f->metric_type == CS_METRIC_NONE)
		return;
	const char *what = tprintf("%s: summary.%s as %s", file, f->name, f->metric);
	const struct family *fam = family_named(m, f->metric);
	ck_assert_msg(fam, "%s: no such family in /metrics", what);
	if (f->metric_type == CS_METRIC_SUM_OF) {
		assert_sum_metric(what, f, v, m);
		return;
	}
	ck_assert_msg(!strcmp(fam->type, cs_metric_type_names[f->metric_type]),
		      "%s: type %s", what, fam->type);
	if (f->kind == CS_SUM_COUNTS) {
		assert_counts_metric(what, f, v, m);
		return;
	}
	const struct sample *s = sample_of(m, f->metric, NULL, NULL);
	if (v->t == J_NULL && f->kind == CS_SUM_MAYBE_USEC) {	/* no time: no sample */
		ck_assert_msg(metric_count(m, f->metric) == 0, "%s: a sample for null", what);
		return;
	}
	/* not known: 0; a flag: 1 or 0 */
	const char *want = v->t == J_NULL ? "0" : v->t == J_BOOL ? (v->b ? "1" : "0")
								 : jv_show(v);
	ck_assert_msg(s && metric_count(m, f->metric) == 1 && !strcmp(s->text, want),
		      "%s: %s in /metrics, %s in the summary", what,
		      s ? s->text : "no sample", jv_show(v));
}

/*
 * Driven by the table: every field is in /api/summary at its place, and,
 * unless the dashboard's alone, in the report's summary at its place with
 * the same value; neither has a field the table lacks; each metric agrees.
 */
static void compare_summaries(const char *file, const struct jv *report,
			      const struct jv *api, const struct metrics *m)
{
	const struct jv *rs = J(report, "summary"), *as = J(api, "summary");
	size_t in_report = 0;

	ck_assert_msg(as->n == (size_t)cs_summary_field_cnt, "%s: /api/summary has %zu "
		      "fields, the table %d", file, as->n, cs_summary_field_cnt);
	for (int i = 0; i < cs_summary_field_cnt; i++) {
		const struct cs_summary_field *f = &cs_summary_fields[i];
		const struct jv *a = as->items[i];
		ck_assert_msg(!strcmp(as->keys[i], f->name), "%s: /api/summary has %s "
			      "where the table has %s", file, as->keys[i], f->name);
		assert_field_metric(file, f, a, m);
		if (f->view_only)
			continue;
		ck_assert_msg(in_report < rs->n && !strcmp(rs->keys[in_report], f->name),
			      "%s: the report's summary has no %s at %zu", file, f->name,
			      in_report);
		const struct jv *r = rs->items[in_report++];
		ck_assert_msg(jv_same(r, a), "%s: summary.%s is %s in the report, %s in "
			      "/api/summary", file, f->name, jv_show(r), jv_show(a));
	}
	ck_assert_msg(rs->n == in_report, "%s: the report's summary has %zu fields, the "
		      "table %zu", file, rs->n, in_report);
}

START_TEST(report_api_and_metrics_agree_on_every_summary_field)
{
	const char *path = captures.gl_pathv[_i];
	size_t rlen, alen, mlen;
	const char *report = analyse_capture(path, &rlen);
	const char *api = rendered(cs_render_summary, &alen);
	const char *text = rendered(cs_render_metrics, &mlen);
	struct metrics *m = talloc(sizeof *m);

	const char *why = metrics_parse(text, mlen, m);
	ck_assert_msg(!why, "%s: /metrics: %s", path, why);
	const struct jv *rv = json_parse(report, rlen), *av = json_parse(api, alen);
	ck_assert_msg(rv && av, "%s: the report or /api/summary is not JSON", path);
	ck_assert_msg(JB(av, "snapshot.finished"), "%s: not the finished snapshot", path);
	compare_summaries(path, rv, av, m);
}
END_TEST

/* ---- the token ----------------------------------------------------------- */

static const struct token_case {
	const char *target;
	const char *headers;
	int status;
} token_cases[] = {
	{ "/api/summary", NULL, 401 },
	{ "/api/summary", "Authorization: Bearer " TOKEN "\r\n", 200 },
	{ "/api/summary?token=" TOKEN, NULL, 200 },
	{ "/api/summary", "Authorization: Bearer wr0ng-token\r\n", 401 },
	{ "/api/summary?token=wr0ng-token", NULL, 401 },
	{ "/api/summary", "Authorization: Bearer " TOKEN "x\r\n", 401 },
	{ "/api/summary", "Authorization: Bearer s3cret\r\n", 401 },
	{ "/api/summary", "Authorization: Bearer \r\n", 401 },
	{ "/api/summary", "Authorization: Basic " TOKEN "\r\n", 401 },
	/* the scheme's name is case-insensitive (RFC 9110 11.1), the token not */
	{ "/api/summary", "Authorization: bearer " TOKEN "\r\n", 200 },
	{ "/api/summary", "Authorization: BEARER " TOKEN "\r\n", 200 },
	{ "/api/summary", "Authorization: Bearer s3cret-token_4242\r\n", 401 },
	{ "/api/summary", "Authorization: " TOKEN "\r\n", 401 },
	{ "/api/summary?token=", NULL, 401 },
	{ "/api/connections?token=" TOKEN "&outcome=refused", NULL, 200 },
	{ "/api/connections/1?token=" TOKEN, NULL, 200 },
	{ "/api/connections/1", NULL, 401 },
	{ "/api/alerts", NULL, 401 },
	{ "/api/timeseries", NULL, 401 },
	{ "/api/events", NULL, 401 },
	{ "/metrics", NULL, 401 },
	{ "/metrics", "Authorization: Bearer " TOKEN "\r\n", 200 },
	/* every data endpoint, with no token and with a wrong one */
	{ "/api/connections", NULL, 401 },
	{ "/api/connections?limit=100&token=wr0ng-token", NULL, 401 },
	{ "/api/connections?outcome=refused&sort=-bytes", "Authorization: Bearer wr0ng-token\r\n",
	  401 },
	{ "/api/connections/1", "Authorization: Bearer wr0ng-token\r\n", 401 },
	{ "/api/connections/999", NULL, 401 },
	{ "/api/alerts?token=" TOKEN "x", NULL, 401 },
	{ "/api/timeseries", "Authorization: Bearer wr0ng-token\r\n", 401 },
	{ "/api/events?token=wr0ng-token", NULL, 401 },
	{ "/api/events", "Authorization: Bearer wr0ng-token\r\n", 401 },
	{ "/metrics?token=wr0ng-token", NULL, 401 },
	{ "/nope", NULL, 401 },
	{ "/healthz", NULL, 200 },
	{ "/healthz", "Authorization: Bearer wr0ng-token\r\n", 200 },
	/* the page holds no data, and a browser fetches its parts without the token */
	{ "/", NULL, 200 },
	{ "/index.html", NULL, 200 },
	{ "/app.js", NULL, 200 },
	{ "/app.css", NULL, 200 },
	{ "/?token=" TOKEN, NULL, 200 },
};

START_TEST(the_token_guards_the_data_not_the_page)
{
	const struct token_case *c = &token_cases[_i];
	struct resp *r = request("GET", c->target, c->headers);
	const char *what = tprintf("GET %s with '%s'", c->target, c->headers ? c->headers : "");

	ck_assert_msg(r->status == c->status, "%s: %d, expected %d", what, r->status, c->status);
	assert_security_headers(r, what);
	if (c->status != 401)
		return;
	const char *wa = header(r, "WWW-Authenticate");
	ck_assert_msg(wa && !strncmp(wa, "Bearer", 6), "%s: WWW-Authenticate '%s'", what,
		      wa ? wa : "(none)");
	assert_error(r, 401, NULL, what);
	/* nothing of the data, nothing of either token */
	static const char *const leaks[] = {
		"10.1.0.1", "10.2.0", "2001:db8", "mem.pcap", "refused", "packets",
		"connscope_", TOKEN, "wr0ng", "s3cret",
	};
	for (size_t i = 0; i < ARRAY_LEN(leaks); i++)
		ck_assert_msg(!strstr(r->body, leaks[i]) && !strstr(r->head, leaks[i]),
			      "%s: the 401 shows '%s': %s", what, leaks[i], r->body);
	/* nor the report's numbers: its packets and bytes */
	const char *numbers[] = { tprintf("%" PRIu64, fed_frames), tprintf("%" PRIu64, fed_bytes) };
	ck_assert_uint_gt(fed_bytes, 99);	/* long enough not to match by chance */
	for (size_t i = 0; i < ARRAY_LEN(numbers); i++)
		ck_assert_msg(!strstr(r->body, numbers[i]), "%s: the 401 shows '%s': %s", what,
			      numbers[i], r->body);
}
END_TEST

START_TEST(the_token_does_not_upset_the_filters)
{
	const struct jv *v = json_reply(request("GET", "/api/connections?outcome=refused&token="
						TOKEN, NULL), 200, "token+filter");

	ck_assert_uint_eq(JU(v, "total"), 1);
	v = json_reply(request("GET", "/api/connections?host=10.2.0.2", "Authorization: Bearer "
			       TOKEN "\r\n"), 200, "bearer+filter");
	ck_assert_uint_eq(JU(v, "total"), 3);
}
END_TEST

/* ---- the event stream ---------------------------------------------------- */

struct stream {
	int fd;
	struct buf raw;		/* everything read */
	size_t body_off;	/* where the chunked body starts */
	struct buf data;	/* decoded chunks so far */
	bool last_chunk;
	struct resp head;
};

/* Decodes what arrived since the last call. */
static void stream_decode(struct stream *st)
{
	bool last;
	struct buf out = { 0 };
	long used = dechunk(st->raw.p + st->body_off, st->raw.len - st->body_off, &out, &last);

	if (used > 0) {
		st->body_off += (size_t)used;
		if (out.len)
			buf_add(&st->data, out.p, out.len);
	}
	buf_free(&out);
	ck_assert_msg(used >= 0, "bad chunked framing in the event stream");
	st->last_chunk |= last;
}

static struct stream *streams[4];

static struct stream *sse_open(const char *target, const char *extra)
{
	struct stream *st = talloc(sizeof *st);
	const char *req = tprintf("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
				  "Accept: text/event-stream\r\n%s\r\n", target, port,
				  extra ? extra : "");
	double deadline = mono() + IO_TIMEOUT_SEC;

	memset(st, 0, sizeof *st);
	for (size_t i = 0; i < ARRAY_LEN(streams); i++)
		if (!streams[i]) {
			streams[i] = st;
			break;
		}
	st->fd = dial(AF_INET, port);
	ck_assert_int_ge(st->fd, 0);
	track_fd(st->fd);
	ck_assert(send_request(st->fd, req, strlen(req), &st->raw, deadline));
	while (!st->raw.p || !strstr(st->raw.p, "\r\n\r\n"))
		ck_assert_msg(read_more(st->fd, &st->raw, deadline),
			      "no headers from %s within %.0f s", target, IO_TIMEOUT_SEC);
	size_t hl = (size_t)(strstr(st->raw.p, "\r\n\r\n") - st->raw.p) + 4;
	const char *why = parse_response(st->raw.p, hl, true, &st->head);
	ck_assert_msg(!why, "event stream: %s", why);
	st->body_off = hl;
	ck_assert_int_eq(st->head.status, 200);
	ck_assert_str_eq(header(&st->head, "Content-Type"), "text/event-stream");
	ck_assert_str_eq(header(&st->head, "Transfer-Encoding"), "chunked");
	assert_security_headers(&st->head, target);
	stream_decode(st);
	return st;
}

static void streams_free(void)
{
	for (size_t i = 0; i < ARRAY_LEN(streams); i++)
		if (streams[i]) {
			buf_free(&streams[i]->raw);
			buf_free(&streams[i]->data);
			streams[i] = NULL;
		}
}

/* Reads until the decoded stream holds needle at or after from; returns
 * the offset just past it. */
static size_t sse_wait(struct stream *st, const char *needle, size_t from)
{
	double deadline = mono() + IO_TIMEOUT_SEC;

	for (;;) {
		if (st->data.len > from) {
			const char *at = strstr(st->data.p + from, needle);
			if (at)
				return (size_t)(at - st->data.p) + strlen(needle);
		}
		ck_assert_msg(!st->last_chunk, "the stream ended waiting for '%s'", needle);
		ck_assert_msg(read_more(st->fd, &st->raw, deadline),
			      "no '%s' within %.0f s; stream so far:\n%s", needle,
			      IO_TIMEOUT_SEC, st->data.p ? st->data.p : "");
		stream_decode(st);
	}
}

struct sse_event {
	const char *name, *data;
};

/* The complete events in data[from..], comments left out. */
static int sse_events(const struct stream *st, size_t from, struct sse_event *ev, int max)
{
	int n = 0;
	const char *p = st->data.p ? st->data.p + from : "";

	for (;;) {
		const char *end = strstr(p, "\n\n");
		if (!end || n == max)
			return n;
		const char *block = tstrndup(p, (size_t)(end - p));
		p = end + 2;
		if (block[0] == ':')
			continue;
		ck_assert_msg(!strncmp(block, "event: ", 7), "event block '%s'", block);
		const char *nl = strchr(block, '\n');
		ck_assert_msg(nl && !strncmp(nl + 1, "data: ", 6) && !strchr(nl + 1, '\n'),
			      "event block '%s': one event line, one data line", block);
		ev[n].name = tstrndup(block + 7, (size_t)(nl - block - 7));
		ev[n].data = nl + 7;
		n++;
	}
}

START_TEST(events_stream_summaries_alerts_and_the_end)
{
	struct stream *st = sse_open("/api/events", NULL);
	struct sse_event ev[16];

	/* the current snapshot at once */
	size_t at = sse_wait(st, "\n\n", 0);
	ck_assert_int_eq(sse_events(st, 0, ev, 16), 1);
	ck_assert_str_eq(ev[0].name, "summary");
	const struct jv *v = json_parse(ev[0].data, strlen(ev[0].data));
	ck_assert_msg(v != NULL, "summary data: %s", ev[0].data);
	ck_assert_uint_eq(JU(v, "snapshot.seq"), 1);
	ck_assert_uint_eq(JU(v, "summary.connections"), CONNS);
	ck_assert_uint_eq(JU(v, "outcomes.refused"), 1);

	/* a new snapshot with an alert in it */
	feed_port_reuse();
	publish(false);
	size_t end = sse_wait(st, "event: alert\ndata: ", at);
	end = sse_wait(st, "\n\n", end);
	int n = sse_events(st, at, ev, 16);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(ev[0].name, "summary");
	v = json_parse(ev[0].data, strlen(ev[0].data));
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(JU(v, "snapshot.seq"), 2);
	ck_assert_uint_eq(JU(v, "alerts"), 1);
	ck_assert(!JB(v, "snapshot.finished"));
	ck_assert_str_eq(ev[1].name, "alert");
	v = json_parse(ev[1].data, strlen(ev[1].data));
	ck_assert_msg(v != NULL, "alert data: %s", ev[1].data);
	ck_assert_str_eq(JS(v, "type"), "port_reuse");

	/* the capture ends */
	cs_engine_finish(&eng);
	publish(true);
	size_t fin = sse_wait(st, "event: finished\ndata: {}\n\n", end);
	n = sse_events(st, end, ev, 16);
	ck_assert_int_eq(n, 2);
	ck_assert_str_eq(ev[0].name, "summary");
	v = json_parse(ev[0].data, strlen(ev[0].data));
	ck_assert_ptr_nonnull(v);
	ck_assert(JB(v, "snapshot.finished"));
	ck_assert_uint_eq(JU(v, "snapshot.seq"), 3);
	ck_assert_uint_eq(JU(v, "summary.open"), 0);
	ck_assert_str_eq(ev[1].name, "finished");
	ck_assert_uint_eq(st->data.len, fin);	/* nothing after it, and no second alert */
	streams_free();
}
END_TEST

/* A second reader that comes later gets the alerts raised before it came. */
START_TEST(a_late_reader_gets_the_alerts_so_far)
{
	feed_port_reuse();
	publish(false);

	struct stream *st = sse_open("/api/events", NULL);
	struct sse_event ev[4];
	sse_wait(st, "\n\n", sse_wait(st, "event: alert\ndata: ", 0));
	ck_assert_int_eq(sse_events(st, 0, ev, 4), 2);
	ck_assert_str_eq(ev[0].name, "summary");
	ck_assert_str_eq(ev[1].name, "alert");
	streams_free();
}
END_TEST

START_TEST(stopping_the_server_ends_open_streams)
{
	struct stream *a = sse_open("/api/events", NULL);
	struct stream *b = sse_open("/api/events", NULL);

	sse_wait(a, "\n\n", 0);
	sse_wait(b, "\n\n", 0);
	double t = mono();
	cs_web_stop(web);
	web = NULL;
	double took = mono() - t;
	ck_assert_msg(took < 2.0, "cs_web_stop took %.2f s with two open streams", took);

	/* both streams end, within 2 s */
	double deadline = t + 2.0 + took;
	for (int i = 0; i < 2; i++) {
		struct stream *st = i ? b : a;
		ck_assert_msg(read_to_eof(st->fd, &st->raw, deadline),
			      "stream %d still open 2 s after the server stopped", i);
	}
	streams_free();
}
END_TEST

/* ---- before the first snapshot ------------------------------------------- */

START_TEST(before_the_first_snapshot)
{
	struct resp *r = get("/api/summary");

	ck_assert_int_eq(r->status, 503);
	assert_error(r, 503, NULL, "summary before any snapshot");
	r = get("/healthz");
	ck_assert_int_eq(r->status, 200);
	ck_assert_int_eq(get("/")->status, 200);

	/* a stream opened now gets the first snapshot when it comes */
	struct stream *st = sse_open("/api/events", NULL);
	publish(false);
	sse_wait(st, "event: summary\ndata: ", 0);
	sse_wait(st, "\n\n", 0);
	struct sse_event ev[2];
	ck_assert_int_eq(sse_events(st, 0, ev, 2), 1);
	const struct jv *v = json_parse(ev[0].data, strlen(ev[0].data));
	ck_assert_ptr_nonnull(v);
	ck_assert_uint_eq(JU(v, "snapshot.seq"), 1);
	json_reply(get("/api/summary"), 200, "summary after the first snapshot");
	streams_free();
}
END_TEST

START_TEST(start_refuses_a_bad_address_and_a_busy_port)
{
	struct cs_web *w2 = NULL;
	struct cs_web_opts o = { .addr = "not-an-address", .port = 0 };
	char err[256] = "";

	ck_assert_int_eq(cs_web_start(&w2, &o, err, sizeof err), -1);
	ck_assert_ptr_null(w2);
	ck_assert_msg(strstr(err, "not-an-address"), "message: %s", err);

	snprintf(o.addr, sizeof o.addr, "127.0.0.1");
	o.port = port;
	err[0] = '\0';
	ck_assert_int_eq(cs_web_start(&w2, &o, err, sizeof err), -1);
	ck_assert_ptr_null(w2);
	ck_assert_msg(strstr(err, tprintf("%u", port)), "message: %s", err);
	/* the first server is unharmed */
	assert_still_serving();
}
END_TEST

/* The certificate and key are read at start: a problem is said then, with
 * the file's name or TLS's own words, and nothing is served. */
START_TEST(https_needs_a_readable_certificate_and_its_key)
{
	char garbage[] = "/tmp/cs-garbage-XXXXXX", text[] = "/tmp/cs-text-XXXXXX";
	int g = mkstemp(garbage), t = mkstemp(text);
	static const char pem[] = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
	ck_assert(g >= 0 && t >= 0);
	ck_assert_int_eq(write(g, pem, sizeof pem - 1), (ssize_t)sizeof pem - 1);
	ck_assert_int_eq(write(t, "hello\n", 6), 6);
	close(g);
	close(t);
	const struct {
		const char *cert, *key, *mention;
	} cases[] = {
		{ "/nonexistent/cert.pem", NULL, "--web-cert and --web-key" },
		{ NULL, "/nonexistent/key.pem", "--web-cert and --web-key" },
		{ "/nonexistent/cert.pem", "/nonexistent/key.pem",
		  "--web-cert '/nonexistent/cert.pem': No such file" },
		{ text, text, "not PEM text" },
		{ garbage, garbage, "GnuTLS" },
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct cs_web *w2 = NULL;
		struct cs_web_opts o = { .addr = "127.0.0.1", .cert_path = cases[i].cert,
					 .key_path = cases[i].key };
		char err[256] = "";
		ck_assert_int_eq(cs_web_start(&w2, &o, err, sizeof err), -1);
		ck_assert_ptr_null(w2);
		ck_assert_msg(strstr(err, cases[i].mention), "case %zu: '%s'", i, err);
	}
	unlink(garbage);
	unlink(text);
	assert_still_serving();
}
END_TEST

START_TEST(serves_on_ipv6_loopback)
{
	int probe = socket(AF_INET6, SOCK_STREAM, 0);
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	bool have_v6 = probe >= 0 && bind(probe, (struct sockaddr *)&s6, sizeof s6) == 0;

	if (probe >= 0)
		close(probe);
	if (!have_v6)
		return;		/* no ::1 in this environment: nothing to test */

	struct cs_web *w6 = NULL;
	struct cs_web_opts o = { .addr = "::1", .port = 0 };
	char err[256];
	ck_assert_msg(cs_web_start(&w6, &o, err, sizeof err) == 0, "%s", err);
	uint16_t p6 = cs_web_port(w6);
	cs_web_publish(w6, cs_snapshot_ref(snap));
	const char *req = "GET /api/summary HTTP/1.1\r\nHost: [::1]\r\nConnection: close\r\n\r\n";
	struct resp *r = exchange_on(AF_INET6, p6, req, strlen(req), false);
	cs_web_stop(w6);
	const struct jv *v = json_reply(r, 200, "summary over ::1");
	ck_assert_uint_eq(JU(v, "summary.connections"), CONNS);
}
END_TEST

/* ---- exposed beyond loopback: Host, Origin, token turns, client limits ---- */

/* Nothing of the capture in an answer meant to refuse. */
static void assert_no_data(const struct resp *r, const char *what)
{
	static const char *const leaks[] = {
		"10.1.0.1", "10.2.0", "2001:db8", "mem.pcap", "connscope_", "event:",
		"<html", "<!doctype", TOKEN,
	};

	for (size_t i = 0; i < ARRAY_LEN(leaks); i++)
		ck_assert_msg(!strcasestr(r->body, leaks[i]), "%s: the answer shows '%s': %s",
			      what, leaks[i], r->body);
}

static const char *const every_kind_of_path[] = {
	"/", "/app.js", "/healthz", "/api/summary", "/api/connections?limit=5",
	"/api/connections/3", "/api/events", "/metrics",
};

/* DNS rebinding: a page of evil.example whose name now resolves to
 * 127.0.0.1 sends "Host: evil.example"; it must read nothing. */
START_TEST(a_host_naming_another_server_gets_421_and_no_data)
{
	const char *target = every_kind_of_path[_i];
	static const char *const hosts[] = {
		"evil.example", "evil.example:8080", "localhost.evil.example", "10.9.8.7",
	};

	for (size_t i = 0; i < ARRAY_LEN(hosts); i++) {
		const char *what = tprintf("GET %s with Host %s", target, hosts[i]);
		struct resp *r = request_host("GET", target, hosts[i], NULL);
		assert_error(r, 421, "Host", what);
		assert_no_data(r, what);
	}
}
END_TEST

START_TEST(the_names_of_this_server_are_served)
{
	const char *hosts[] = {
		"localhost", tprintf("localhost:%u", port), tprintf("127.0.0.1:%u", port),
		"127.0.0.2", tprintf("[::1]:%u", port), "dash.example", "DASH.Example.:443",
	};

	for (size_t i = 0; i < ARRAY_LEN(hosts); i++)
		json_reply(request_host("GET", "/api/summary", hosts[i], NULL), 200,
			   tprintf("Host %s", hosts[i]));
	/* no Host at all: HTTP/1.0 tools, never a browser */
	const char *req = "GET /api/summary HTTP/1.0\r\n\r\n";
	json_reply(exchange_on(AF_INET, port, req, strlen(req), false), 200, "no Host");
}
END_TEST

START_TEST(a_page_of_another_site_cannot_read_the_data)
{
	static const char *const origins[] = {
		"http://evil.example", "https://evil.example:8443", "null",
	};
	static const char *const paths[] = { "/api/events", "/api/summary", "/metrics" };

	for (size_t i = 0; i < ARRAY_LEN(origins); i++)
		for (size_t k = 0; k < ARRAY_LEN(paths); k++) {
			const char *what = tprintf("GET %s from %s", paths[k], origins[i]);
			struct resp *r = request("GET", paths[k],
						 tprintf("Origin: %s\r\n", origins[i]));
			assert_error(r, 403, "Origin", what);
			assert_no_data(r, what);
		}
	/* the dashboard's own page may */
	struct stream *st = sse_open("/api/events",
				     tprintf("Origin: http://127.0.0.1:%u\r\n", port));
	sse_wait(st, "event: summary", 0);
	streams_free();
}
END_TEST

/* /metrics' value of one series, read with the token from a client that
 * has done nothing wrong. */
static double server_metric(const char *name, const char *reason, const char *client)
{
	const char *saved = dial_from;

	dial_from = "127.0.0.99";
	struct resp *r = get("/metrics?token=" TOKEN);
	dial_from = saved;
	struct metrics *m = talloc(sizeof *m);
	ck_assert_int_eq(r->status, 200);
	const char *why = metrics_parse(r->body, r->body_len, m);
	ck_assert_msg(!why, "/metrics: %s", why);
	return client ? metric(m, name, "client", client, "reason", reason, NULL)
		      : metric(m, name, "reason", reason, NULL);
}

/* A wrong token puts its client's next attempt PENALTY_MS away; an attempt
 * that would wait longer than MAX_WAIT_MS is refused unchecked; other
 * clients, and the page, are not slowed; each is counted and told. */
START_TEST(a_failed_token_costs_its_client_and_is_told)
{
	struct resp *r = request("GET", "/api/summary?token=wr0ng-token-4242", NULL);
	assert_error(r, 401, NULL, "the first wrong token");

	double t0 = mono();
	r = request("GET", "/api/summary?token=wr0ng-token-4343", NULL);
	double waited = mono() - t0;
	assert_error(r, 401, NULL, "the second wrong token");
	/* a lower bound only: it waited for its turn, however slow the machine */
	ck_assert_msg(waited >= PENALTY_MS / 2000.0, "the second attempt waited %.3f s",
		      waited);

	/* three at once on three connections: one turn is within MAX_WAIT_MS,
	 * the next two are not */
	const char *req = "GET /api/summary?token=" TOKEN " HTTP/1.1\r\nHost: localhost\r\n"
			  "Connection: close\r\n\r\n";
	int fds[3], served = 0, refused = 0;
	struct buf ins[3] = { { 0 } };
	double deadline = mono() + IO_TIMEOUT_SEC;
	for (int i = 0; i < 3; i++) {
		fds[i] = dial(AF_INET, port);
		ck_assert_int_ge(fds[i], 0);
		track_fd(fds[i]);
		ck_assert(send_request(fds[i], req, strlen(req), &ins[i], deadline));
	}
	for (int i = 0; i < 3; i++) {
		struct buf in = ins[i];
		ck_assert(read_to_eof(fds[i], &in, deadline));
		struct resp *a = talloc(sizeof *a);
		const char *why = parse_response(in.p ? in.p : "", in.len, false, a);
		ck_assert_msg(!why, "%s", why);
		buf_free(&in);
		served += a->status == 200;
		refused += a->status == 429;
		if (a->status == 429) {
			assert_error(a, 429, "failed token attempts", "too early");
			assert_no_data(a, "429");
			ck_assert_ptr_nonnull(header(a, "Retry-After"));
		}
	}
	ck_assert_msg(served >= 1 && refused >= 1 && served + refused == 3,
		      "%d served, %d refused", served, refused);

	ck_assert_int_eq(get("/healthz")->status, 200);	/* no token needed */
	ck_assert_int_eq(get("/app.js")->status, 200);
	dial_from = "127.0.0.2";			/* another client */
	json_reply(request("GET", "/api/summary?token=" TOKEN, NULL), 200, "another client");

	ck_assert(server_metric("connscope_web_refused_total", "bad_token", NULL) == 2);
	ck_assert(server_metric("connscope_web_refused_total", "too_early", NULL) == refused);
	ck_assert(server_metric("connscope_web_client_refused_total", "bad_token",
				"127.0.0.1") == 2);
	ck_assert(server_metric("connscope_web_client_refused_total", "too_early",
				"127.0.0.1") == refused);
	ck_assert(server_metric("connscope_web_client_refused_total", "bad_token",
				"127.0.0.2") == -1);
	/* told once (a line a minute per client and kind), not once per attempt */
	ck_assert_msg(logged("web: 1 request from 127.0.0.1 with a missing or wrong "
			     "token") == 1 && logged("wrong token") == 1, "log:\n%s",
		      log_text());
	ck_assert_msg(logged("web: 1 token attempt from 127.0.0.1 refused unchecked") == 1 &&
		      logged("unchecked") == 1, "log:\n%s", log_text());
}
END_TEST

/* True when the server closes fd without a word, within IO_TIMEOUT_SEC. */
static bool cut_by_server(int fd)
{
	struct buf in = { 0 };
	bool closed = read_to_eof(fd, &in, mono() + IO_TIMEOUT_SEC);
	size_t got = in.len;

	buf_free(&in);
	return closed && got == 0;
}

/* True when the server closes fd without answering a request on it. */
static bool turned_away(int fd)
{
	const char *req = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n";
	struct buf in = { 0 };
	double deadline = mono() + IO_TIMEOUT_SEC;

	send_request(fd, req, strlen(req), &in, deadline);
	bool closed = read_to_eof(fd, &in, deadline);
	size_t got = in.len;
	buf_free(&in);
	return closed && got == 0;
}

/* Connections held open, from the client dial_from names. */
static void hold(int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		fds[i] = dial(AF_INET, port);
		ck_assert_msg(fds[i] >= 0, "connect from %s: %s", dial_from, strerror(errno));
		track_fd(fds[i]);
	}
}

START_TEST(a_client_over_its_share_is_turned_away_others_are_served)
{
	int fds[SMALL_PER_CLIENT];

	dial_from = "127.0.0.2";
	hold(fds, SMALL_PER_CLIENT);
	int extra = dial(AF_INET, port);
	ck_assert_int_ge(extra, 0);
	track_fd(extra);
	ck_assert_msg(turned_away(extra), "127.0.0.2 holds %d connections and got one more",
		      SMALL_PER_CLIENT);
	dial_from = "127.0.0.3";
	json_reply(get("/api/summary"), 200, "another client");
	ck_assert_msg(logged(tprintf("web: refused 1 connection from 127.0.0.2: it holds %d",
				     SMALL_PER_CLIENT)) == 1, "log:\n%s", log_text());
	dial_from = NULL;
	ck_assert(server_metric("connscope_web_refused_total", "crowding", NULL) == 1);

	/* once one of its connections is gone, the client is let in again */
	close_fd(fds[0]);
	dial_from = "127.0.0.2";
	double deadline = mono() + IO_TIMEOUT_SEC;
	int status = 0;
	while (status != 200 && mono() < deadline) {
		int fd = dial(AF_INET, port);
		ck_assert_int_ge(fd, 0);
		track_fd(fd);
		struct buf in = { 0 };
		const char *req = "GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
				  "Connection: close\r\n\r\n";
		send_request(fd, req, strlen(req), &in, deadline);
		read_to_eof(fd, &in, deadline);
		close_fd(fd);
		if (in.p)
			sscanf(in.p, "HTTP/1.1 %d", &status);
		buf_free(&in);
	}
	ck_assert_int_eq(status, 200);
}
END_TEST

/* From SMALL_BUSY connections on, idle ones have 1 s for a request instead
 * of 600 s.  SMALL_BUSY - 1 connections wait 2 s (well past that second),
 * then one more makes the server busy: the guard's next round cuts the
 * first ones all at once (after it, the server is no longer busy, and the
 * last one may stay), and a newcomer is served. */
START_TEST(idle_connections_are_cut_fast_while_the_server_is_busy)
{
	int fds[SMALL_BUSY];
	static const char *const from[] = { "127.0.0.2", "127.0.0.3", "127.0.0.4" };
	struct timespec two_sec = { 2, 0 };

	for (int i = 0; i < SMALL_BUSY - 1; i++) {
		dial_from = from[i / SMALL_PER_CLIENT];
		hold(&fds[i], 1);
	}
	nanosleep(&two_sec, NULL);
	dial_from = from[2];
	hold(&fds[SMALL_BUSY - 1], 1);
	for (int i = 0; i < SMALL_BUSY - 1; i++)
		ck_assert_msg(cut_by_server(fds[i]), "idle connection %d was not cut", i);
	dial_from = "127.0.0.5";
	json_reply(get("/api/summary"), 200, "a newcomer");
	ck_assert(server_metric("connscope_web_refused_total", "late_request", NULL) >=
		  SMALL_BUSY - 1);
}
END_TEST

/* ---- the request guard's thread ------------------------------------------ */

#define MAX_THREADS 64

/* The ids of this process's threads. */
static size_t list_threads(long *tid, size_t max)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	size_t n = 0;

	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL && n < max)
		if (e->d_name[0] != '.')
			tid[n++] = strtol(e->d_name, NULL, 10);
	closedir(d);
	return n;
}

/* The signals thread tid blocks (SigBlk in its status: a hex mask whose
 * bit sig-1 is signal sig). */
static unsigned long long blocked_signals(long tid)
{
	char path[64], line[256];
	unsigned long long mask = 0;
	bool found = false;

	snprintf(path, sizeof path, "/proc/self/task/%ld/status", tid);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	while (!found && fgets(line, sizeof line, f))
		found = sscanf(line, "SigBlk: %llx", &mask) == 1;
	fclose(f);
	ck_assert_msg(found, "no SigBlk in %s", path);
	return mask;
}

static bool listed(const long *tid, size_t n, long id)
{
	for (size_t i = 0; i < n; i++)
		if (tid[i] == id)
			return true;
	return false;
}

/* Returns once the guard has cut a connection that is late at once
 * (request_sec 0): its thread has then run its loop, so the mask it shows
 * is its own, not the everything-blocked one glibc gives a starting thread. */
static void wait_for_the_guard_to_cut(struct cs_web_guard *g)
{
	int sv[2];
	char c;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	struct cs_web_client who = { { 0 } };
	ck_assert_int_ge(cs_web_guard_watch(g, sv[0], &who), 0);
	struct pollfd p = { .fd = sv[0], .events = POLLIN };
	ck_assert_int_eq(poll(&p, 1, (int)(IO_TIMEOUT_SEC * 1000)), 1);
	ck_assert_int_eq(read(sv[0], &c, 1), 0);	/* shut down */
	close(sv[0]);
	close(sv[1]);
}

/* The guard's thread (web/guard.c) must leave Ctrl-C and SIGTERM to the
 * main thread, whose blocking read they have to interrupt, even when the
 * thread that creates it takes them. */
START_TEST(the_guard_thread_leaves_signals_to_the_main_thread)
{
	long before[MAX_THREADS], after[MAX_THREADS];
	sigset_t none, old;

	sigemptyset(&none);
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &none, &old), 0);
	size_t nb = list_threads(before, MAX_THREADS);
	struct cs_web_guard_limits l = { .slots = 4, .per_client = 4, .busy_slots = 4 };
	struct cs_web_guard *g = cs_web_guard_create(&l);
	ck_assert_ptr_nonnull(g);
	wait_for_the_guard_to_cut(g);
	size_t na = list_threads(after, MAX_THREADS), started = 0;
	for (size_t i = 0; i < na; i++) {
		if (listed(before, nb, after[i]))
			continue;
		unsigned long long mask = blocked_signals(after[i]);
		ck_assert_msg(mask >> (SIGINT - 1) & 1, "thread %ld takes SIGINT", after[i]);
		ck_assert_msg(mask >> (SIGTERM - 1) & 1, "thread %ld takes SIGTERM", after[i]);
		started++;
	}
	ck_assert_uint_ge(started, 1);
	cs_web_guard_destroy(g);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}
END_TEST

/* libmicrohttpd's threads (the listening one, and one per connection, here
 * an open event stream's) leave Ctrl-C and SIGTERM to the main thread too:
 * the daemon was started by a thread that takes them. */
START_TEST(the_daemon_threads_leave_signals_to_the_main_thread)
{
	long self = (long)gettid(), tid[MAX_THREADS];
	unsigned long long own = blocked_signals(self);

	ck_assert_msg(!(own >> (SIGINT - 1) & 1), "the test's thread blocks SIGINT");
	struct stream *st = sse_open("/api/events", NULL);
	sse_wait(st, "\n\n", 0);	/* its thread has answered: it has run */
	size_t n = list_threads(tid, MAX_THREADS), others = 0;
	for (size_t i = 0; i < n; i++) {
		if (tid[i] == self)
			continue;
		unsigned long long mask = blocked_signals(tid[i]);
		ck_assert_msg(mask >> (SIGINT - 1) & 1, "thread %ld takes SIGINT", tid[i]);
		ck_assert_msg(mask >> (SIGTERM - 1) & 1, "thread %ld takes SIGTERM", tid[i]);
		others++;
	}
	ck_assert_uint_ge(others, 2);	/* listening, the stream's (and the guard) */
	streams_free();
}
END_TEST

/* ---- readers while snapshots are published (the race `make tsan` looks for) --- */

#define READERS 4
#define READS_PER_READER 12
#define PUBLISHES 24

struct reader {
	pthread_t th;
	uint16_t port;
	int index;
	atomic_int *failures;
	char why[200];
};

static const char *const reader_paths[] = {
	"/api/summary", "/api/connections?limit=3&sort=-bytes", "/api/connections/3",
	"/api/alerts", "/api/timeseries", "/metrics", "/", "/api/connections?host=10.2.0.2",
};

/* One GET from another thread: no Check calls here, only a verdict. */
static void *reader_main(void *arg)
{
	struct reader *rd = arg;

	for (int i = 0; i < READS_PER_READER; i++) {
		const char *path = reader_paths[(size_t)(rd->index + i) % ARRAY_LEN(reader_paths)];
		char req[256];
		int n = snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: localhost\r\n"
				 "Connection: close\r\n\r\n", path);
		struct buf in = { 0 };
		double deadline = mono() + IO_TIMEOUT_SEC;
		int fd = dial(AF_INET, rd->port);
		int status = 0;
		bool closed = false;
		if (fd >= 0) {
			send_request(fd, req, (size_t)n, &in, deadline);
			closed = read_to_eof(fd, &in, deadline);
			close(fd);
		}
		if (in.p)
			sscanf(in.p, "HTTP/1.1 %d ", &status);
		bool ok = closed && status == 200 && in.p && strstr(in.p, "\r\n\r\n");
		if (!ok && !rd->why[0])
			snprintf(rd->why, sizeof rd->why, "GET %s: fd %d, closed %d, status %d",
				 path, fd, closed, status);
		if (!ok)
			atomic_fetch_add(rd->failures, 1);
		buf_free(&in);
	}
	return NULL;
}

START_TEST(readers_and_streams_while_snapshots_are_published)
{
	struct reader rd[READERS];
	atomic_int failures = 0;
	struct stream *st = sse_open("/api/events", NULL);

	for (int i = 0; i < READERS; i++) {
		rd[i] = (struct reader){ .port = port, .index = i, .failures = &failures };
		ck_assert_int_eq(pthread_create(&rd[i].th, NULL, reader_main, &rd[i]), 0);
	}
	/* the capture thread's part: new traffic, a snapshot, again */
	for (int k = 0; k < PUBLISHES; k++) {
		struct tcpconn c = { 4, "10.3.0.1", "10.2.0.2", (uint16_t)(50000 + k), 80,
				     (uint32_t)(100000 * (k + 1)), 0 };
		cli(&c, SYN, 0, 0, 0, T0 + (uint64_t)(14 + k) * SEC);
		publish(false);
		struct timespec ms = { 0, 1000000 };
		nanosleep(&ms, NULL);
	}
	for (int i = 0; i < READERS; i++)
		pthread_join(rd[i].th, NULL);
	for (int i = 0; i < READERS; i++)
		ck_assert_msg(!rd[i].why[0], "reader %d: %s", i, rd[i].why);
	ck_assert_int_eq(atomic_load(&failures), 0);

	/* the stream caught up with the last snapshot */
	sse_wait(st, tprintf("\"seq\":%" PRIu64 ",", snap_seq), 0);
	const struct jv *v = json_reply(get("/api/summary"), 200, "summary at the end");
	ck_assert_uint_eq(JU(v, "snapshot.seq"), PUBLISHES + 1);
	ck_assert_uint_eq(JU(v, "summary.connections"), CONNS + PUBLISHES);
	streams_free();
}
END_TEST

/* ---- pure functions ------------------------------------------------------ */

struct kv {
	const char *k, *v;
};

static const char *kv_get(void *ctx, const char *key)
{
	for (const struct kv *p = ctx; p->k; p++)
		if (!strcmp(p->k, key))
			return p->v;
	return NULL;
}

START_TEST(filter_parse_defaults_and_values)
{
	struct cs_conn_filter f;
	char err[160] = "";
	struct kv none[] = { { NULL, NULL } };

	ck_assert_int_eq(cs_conn_filter_parse(&f, kv_get, none, err, sizeof err), 0);
	ck_assert_int_eq(f.outcome, -1);
	ck_assert_int_eq(f.state, -1);
	ck_assert_int_eq(f.conn_state, -1);
	ck_assert(!f.have_host);
	ck_assert_uint_eq(f.port, 0);
	ck_assert_uint_eq(f.limit, CS_WEB_LIMIT_DEFAULT);
	ck_assert_uint_eq(f.offset, 0);
	ck_assert_int_eq(f.sort, CS_SORT_TS);
	ck_assert(f.descending);

	struct kv all[] = {
		{ "outcome", "unreachable" }, { "state", "CLOSE_WAIT" }, { "conn_state", "RSTOS0" },
		{ "host", "10.0.0.1" }, { "port", "65535" }, { "limit", "1000" },
		{ "offset", "2147483647" }, { "sort", "bytes" }, { "token", "ignored" },
		{ NULL, NULL },
	};
	ck_assert_msg(cs_conn_filter_parse(&f, kv_get, all, err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(f.outcome, CS_OUT_UNREACHABLE);
	ck_assert_int_eq(f.state, CS_TCP_CLOSE_WAIT);
	ck_assert_int_eq(f.conn_state, CS_CS_RSTOS0);
	ck_assert(f.have_host);
	static const uint8_t mapped[16] = { [10] = 0xff, [11] = 0xff, [12] = 10, [15] = 1 };
	ck_assert_mem_eq(f.host.b, mapped, 16);
	ck_assert_uint_eq(f.port, 65535);
	ck_assert_uint_eq(f.limit, 1000);
	ck_assert_uint_eq(f.offset, 2147483647u);
	ck_assert_int_eq(f.sort, CS_SORT_BYTES);
	ck_assert(!f.descending);

	struct kv six[] = { { "host", "2001:db8::1" }, { "sort", "-pkts" }, { "port", "1" },
			    { "limit", "1" }, { NULL, NULL } };
	ck_assert_int_eq(cs_conn_filter_parse(&f, kv_get, six, err, sizeof err), 0);
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	ck_assert_mem_eq(f.host.b, v6, 16);
	ck_assert_int_eq(f.sort, CS_SORT_PKTS);
	ck_assert(f.descending);
	ck_assert_uint_eq(f.port, 1);
	ck_assert_uint_eq(f.limit, 1);

	struct kv dur[] = { { "sort", "-duration" }, { NULL, NULL } };
	ck_assert_int_eq(cs_conn_filter_parse(&f, kv_get, dur, err, sizeof err), 0);
	ck_assert_int_eq(f.sort, CS_SORT_DURATION);
	ck_assert(f.descending);
}
END_TEST

START_TEST(filter_parse_rejects_bad_values)
{
	const struct bad_query *c = &bad_queries[_i];
	char *q = tstrndup(c->query, strlen(c->query));
	struct kv kvs[4] = { { NULL, NULL } };
	int n = 0;
	struct cs_conn_filter f;
	char err[160] = "";

	/* the URL's own form, decoded as the server's library does */
	for (char *tok = strtok(q, "&"); tok && n < 3; tok = strtok(NULL, "&")) {
		char *eq = strchr(tok, '=');
		ck_assert_ptr_nonnull(eq);
		*eq = '\0';
		char *v = eq + 1, *o = v;
		for (char *p = v; *p; p++) {
			if (*p == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
				*o++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
				p += 2;
			} else {
				*o++ = *p;
			}
		}
		*o = '\0';
		kvs[n++] = (struct kv){ tok, v };
	}
	ck_assert_int_eq(cs_conn_filter_parse(&f, kv_get, kvs, err, sizeof err), -1);
	ck_assert_msg(strstr(err, c->mention), "%s: message '%s'", c->query, err);
}
END_TEST

START_TEST(conn_id_parse)
{
	static const struct {
		const char *s;
		int rc;
		uint64_t id;
	} cases[] = {
		{ "1", 0, 1 }, { "42", 0, 42 }, { "1844674407370955161", 0, 1844674407370955161ull },
		{ "0", -1, 0 }, { "", -1, 0 }, { "abc", -1, 0 }, { "1a", -1, 0 },
		{ "-1", -1, 0 }, { "+1", -1, 0 }, { " 1", -1, 0 }, { "1 ", -1, 0 },
		{ "1/2", -1, 0 }, { "18446744073709551615", -1, 0 },
		{ "99999999999999999999", -1, 0 }, { "0x10", -1, 0 },
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		uint64_t id = 7777;
		int rc = cs_parse_conn_id(cases[i].s, &id);
		ck_assert_msg(rc == cases[i].rc, "'%s': %d", cases[i].s, rc);
		if (!rc)
			ck_assert_uint_eq(id, cases[i].id);
	}
}
END_TEST

/* route.c alone: what each request gets, before any socket is involved. */
START_TEST(route_decides_without_a_daemon)
{
	static const struct {
		const char *method, *path, *auth, *query_token, *token;
		bool too_long, nul;
		enum cs_route want;
	} cases[] = {
		{ "GET", "/api/summary", NULL, NULL, NULL, false, false, CS_ROUTE_API },
		{ "HEAD", "/api/connections/3", NULL, NULL, NULL, false, false, CS_ROUTE_API },
		{ "GET", "/nowhere", NULL, NULL, NULL, false, false, CS_ROUTE_API },	/* API's 404 */
		{ "POST", "/api/summary", NULL, NULL, NULL, false, false, CS_ROUTE_BAD_METHOD },
		{ "get", "/api/summary", NULL, NULL, NULL, false, false, CS_ROUTE_BAD_METHOD },
		{ "", "/", NULL, NULL, NULL, false, false, CS_ROUTE_BAD_METHOD },
		{ "GET", "/api/summary", NULL, NULL, NULL, true, false, CS_ROUTE_TOO_LONG },
		{ "GET", "/api/summary", NULL, NULL, NULL, false, true, CS_ROUTE_NUL },
		{ "GET", "/", NULL, NULL, NULL, true, true, CS_ROUTE_TOO_LONG },
		{ "PUT", "/", NULL, NULL, NULL, false, true, CS_ROUTE_BAD_METHOD },
		{ "GET", "/healthz", NULL, NULL, "t", false, false, CS_ROUTE_HEALTHZ },
		{ "GET", "/", NULL, NULL, "t", false, false, CS_ROUTE_ASSET },
		{ "GET", "/app.js", NULL, NULL, "t", false, false, CS_ROUTE_ASSET },
		{ "GET", "/api/events", NULL, NULL, NULL, false, false, CS_ROUTE_EVENTS },
		{ "GET", "/api/events", NULL, NULL, "t", false, false, CS_ROUTE_UNAUTHORIZED },
		{ "GET", "/api/summary", "Bearer t", NULL, "t", false, false, CS_ROUTE_API },
		{ "GET", "/api/summary", "bEARER t", NULL, "t", false, false, CS_ROUTE_API },
		{ "GET", "/api/summary", "Bearer t2", NULL, "t", false, false, CS_ROUTE_UNAUTHORIZED },
		{ "GET", "/api/summary", "Bearer ", NULL, "t", false, false, CS_ROUTE_UNAUTHORIZED },
		{ "GET", "/api/summary", "Basic t", NULL, "t", false, false, CS_ROUTE_UNAUTHORIZED },
		{ "GET", "/api/summary", "Bearer", NULL, "t", false, false, CS_ROUTE_UNAUTHORIZED },
		{ "GET", "/metrics", NULL, "t", "t", false, false, CS_ROUTE_API },
		{ "GET", "/metrics", NULL, "", "t", false, false, CS_ROUTE_UNAUTHORIZED },
		{ "GET", "/metrics", "Bearer x", "t", "t", false, false, CS_ROUTE_API },
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct kv query[] = { { "token", cases[i].query_token }, { NULL, NULL } };
		struct cs_request req = {
			.method = cases[i].method,
			.path = cases[i].path,
			.uri_too_long = cases[i].too_long,
			.uri_has_nul = cases[i].nul,
			.authorization = cases[i].auth,
			.query = kv_get,
			.query_ctx = cases[i].query_token ? query : query + 1,
		};
		const struct cs_asset *asset;
		struct cs_route_policy policy = { .token = cases[i].token,
						  .listen_addr = "127.0.0.1" };
		enum cs_route got = cs_route_request(&req, &policy, &asset);
		ck_assert_msg(got == cases[i].want, "case %zu (%s %s): route %d, not %d",
			      i, cases[i].method, cases[i].path, got, cases[i].want);
		ck_assert((got == CS_ROUTE_ASSET) == (asset != NULL));
	}
}
END_TEST

START_TEST(listen_parse)
{
	static const struct {
		const char *arg;
		int rc;
		const char *addr;
		uint16_t port;
	} cases[] = {
		{ "8080", 0, "127.0.0.1", 8080 },
		{ "0", 0, "127.0.0.1", 0 },
		{ "65535", 0, "127.0.0.1", 65535 },
		{ "0.0.0.0:80", 0, "0.0.0.0", 80 },
		{ "192.0.2.7:8443", 0, "192.0.2.7", 8443 },
		{ "[::1]:8080", 0, "::1", 8080 },
		{ "[::]:80", 0, "::", 80 },
		{ "[2001:db8::1]:443", 0, "2001:db8::1", 443 },
		{ "::1:80", -1, NULL, 0 },
		{ "host:80", -1, NULL, 0 },
		{ "localhost:80", -1, NULL, 0 },
		{ "70000", -1, NULL, 0 },
		{ "65536", -1, NULL, 0 },
		{ "", -1, NULL, 0 },
		{ "-1", -1, NULL, 0 },
		{ "80x", -1, NULL, 0 },
		{ "+80", -1, NULL, 0 },
		{ " 80", -1, NULL, 0 },
		{ "127.0.0.1: 80", -1, NULL, 0 },
		{ ":80", -1, NULL, 0 },
		{ "127.0.0.1:", -1, NULL, 0 },
		{ "[::1]", -1, NULL, 0 },
		{ "[::1]:", -1, NULL, 0 },
		{ "[::1:80", -1, NULL, 0 },
		{ "[10.0.0.1]x80", -1, NULL, 0 },
		{ "999.0.0.1:80", -1, NULL, 0 },
		{ "[fe80::1%eth0]:80", -1, NULL, 0 },
		{ "[::ffff:127.0.0.1]:8080", -1, NULL, 0 },	/* IPv6-only socket */
		{ "[::ffff:10.0.0.1]:80", -1, NULL, 0 },
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct cs_web_opts o;
		char err[256] = "";
		memset(&o, 0, sizeof o);
		int rc = cs_web_parse_listen(cases[i].arg, &o, err, sizeof err);
		ck_assert_msg(rc == cases[i].rc, "'%s': %d (%s)", cases[i].arg, rc, err);
		if (rc == 0) {
			ck_assert_str_eq(o.addr, cases[i].addr);
			ck_assert_uint_eq(o.port, cases[i].port);
		} else {
			ck_assert_msg(strstr(err, cases[i].arg), "'%s': message '%s'",
				      cases[i].arg, err);
		}
	}
}
END_TEST

START_TEST(loopback_or_not)
{
	static const struct {
		const char *addr;
		bool loop;
	} cases[] = {
		{ "127.0.0.1", true }, { "127.255.255.254", true }, { "127.1.2.3", true },
		{ "::1", true }, { "0.0.0.0", false }, { "::", false }, { "10.0.0.1", false },
		{ "128.0.0.1", false }, { "126.255.255.255", false }, { "2001:db8::1", false },
		{ "::2", false }, { "nonsense", false },
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct cs_web_opts o = { .port = 80 };
		snprintf(o.addr, sizeof o.addr, "%s", cases[i].addr);
		ck_assert_msg(cs_web_is_loopback(&o) == cases[i].loop, "%s", cases[i].addr);
	}
}
END_TEST

/* ---- the suite ----------------------------------------------------------- */

static void teardown_all(void)
{
	streams_free();
	teardown();
}

static TCase *server_case(const char *name, void (*setup)(void))
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown_all);
	tcase_set_timeout(tc, 60);	/* sanitizers and valgrind are slow */
	return tc;
}

Suite *web_suite(void)
{
	Suite *s = suite_create("web");

	TCase *tc = tcase_create("parse");
	tcase_add_test(tc, filter_parse_defaults_and_values);
	tcase_add_loop_test(tc, filter_parse_rejects_bad_values, 0, (int)ARRAY_LEN(bad_queries));
	tcase_add_test(tc, conn_id_parse);
	tcase_add_test(tc, listen_parse);
	tcase_add_test(tc, route_decides_without_a_daemon);
	tcase_add_test(tc, loopback_or_not);
	tcase_add_test(tc, the_metrics_parser_is_strict);
	tcase_add_test(tc, the_summary_table_is_consistent);
	tcase_add_test(tc, api_md_lists_every_summary_field_and_metric);
	tcase_add_checked_fixture(tc, NULL, tfree_all);
	suite_add_tcase(s, tc);

	/* every capture, as a file run ends; no daemon */
	find_captures();
	tc = tcase_create("summary");
	tcase_add_test(tc, the_captures_are_found);
	tcase_add_loop_test(tc, report_api_and_metrics_agree_on_every_summary_field, 0,
			    (int)captures.gl_pathc);
	tcase_add_checked_fixture(tc, NULL, teardown);
	suite_add_tcase(s, tc);

	tc = server_case("api", setup_plain);
	tcase_add_loop_test(tc, every_route_answers_with_its_type_and_security_headers, 0,
			    (int)ARRAY_LEN(routes));
	tcase_add_loop_test(tc, head_gives_the_headers_of_get_without_a_body, 0,
			    (int)ARRAY_LEN(routes));
	tcase_add_test(tc, head_of_the_event_stream_ends_at_the_headers);
	tcase_add_test(tc, summary_counts_match_the_engine);
	tcase_add_test(tc, summary_ends_with_the_untracked_counts);
	tcase_add_loop_test(tc, connection_filters_select_the_right_records, 0,
			    (int)ARRAY_LEN(filters));
	tcase_add_loop_test(tc, state_filter_matches_the_snapshot, 0, CS_TCP_STATE_MAX);
	tcase_add_loop_test(tc, pagination_windows_the_items_and_keeps_the_total, 0,
			    (int)ARRAY_LEN(pages));
	tcase_add_loop_test(tc, sorting_orders_by_the_key_shown_ties_by_id, 0,
			    (int)(2 * ARRAY_LEN(sort_keys)));
	tcase_add_test(tc, sort_by_time_both_ways);
	tcase_add_test(tc, listed_connections_carry_their_fields);
	tcase_add_test(tc, a_completed_connection_has_its_timeline);
	tcase_add_test(tc, refused_and_v6_timelines);
	tcase_add_test(tc, unknown_and_malformed_ids);
	tcase_add_loop_test(tc, bad_query_values_are_400, 0, (int)ARRAY_LEN(bad_queries));
	tcase_add_loop_test(tc, other_methods_are_405_with_allow, 0,
			    (int)ARRAY_LEN(other_methods));
	tcase_add_test(tc, a_3000_byte_path_is_414);
	tcase_add_test(tc, a_3000_byte_query_is_414);
	tcase_add_test(tc, a_40k_url_is_refused_and_the_server_goes_on);
	tcase_add_test(tc, headers_of_40k_are_refused_and_the_server_goes_on);
	tcase_add_loop_test(tc, hostile_requests_are_4xx_and_the_server_goes_on, 0,
			    (int)ARRAY_LEN(hostiles));
	tcase_add_test(tc, alerts_list_is_empty_then_holds_the_port_reuse);
	tcase_add_test(tc, timeseries_counts_per_second);
	tcase_add_test(tc, metrics_parse_strictly_and_match_the_engine);
	suite_add_tcase(s, tc);

	tc = server_case("token", setup_token);
	tcase_add_loop_test(tc, the_token_guards_the_data_not_the_page, 0,
			    (int)ARRAY_LEN(token_cases));
	tcase_add_test(tc, the_token_does_not_upset_the_filters);
	suite_add_tcase(s, tc);

	tc = server_case("events", setup_plain);
	tcase_add_test(tc, events_stream_summaries_alerts_and_the_end);
	tcase_add_test(tc, a_late_reader_gets_the_alerts_so_far);
	tcase_add_test(tc, stopping_the_server_ends_open_streams);
	tcase_add_test(tc, readers_and_streams_while_snapshots_are_published);
	tcase_add_test(tc, the_daemon_threads_leave_signals_to_the_main_thread);
	suite_add_tcase(s, tc);

	tc = server_case("lifecycle", setup_unpublished);
	tcase_add_test(tc, before_the_first_snapshot);
	suite_add_tcase(s, tc);

	tc = server_case("start", setup_plain);
	tcase_add_test(tc, start_refuses_a_bad_address_and_a_busy_port);
	tcase_add_test(tc, serves_on_ipv6_loopback);
	tcase_add_test(tc, https_needs_a_readable_certificate_and_its_key);
	suite_add_tcase(s, tc);

	tc = server_case("hosts", setup_hosts);
	tcase_add_loop_test(tc, a_host_naming_another_server_gets_421_and_no_data, 0,
			    (int)ARRAY_LEN(every_kind_of_path));
	tcase_add_test(tc, the_names_of_this_server_are_served);
	tcase_add_test(tc, a_page_of_another_site_cannot_read_the_data);
	suite_add_tcase(s, tc);

	tc = server_case("penalty", setup_penalty);
	tcase_add_test(tc, a_failed_token_costs_its_client_and_is_told);
	suite_add_tcase(s, tc);

	tc = server_case("crowd", setup_small);
	tcase_add_test(tc, a_client_over_its_share_is_turned_away_others_are_served);
	tcase_add_test(tc, idle_connections_are_cut_fast_while_the_server_is_busy);
	suite_add_tcase(s, tc);

	tc = tcase_create("guard");
	tcase_add_test(tc, the_guard_thread_leaves_signals_to_the_main_thread);
	suite_add_tcase(s, tc);
	return s;
}
