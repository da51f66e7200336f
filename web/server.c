/*
 * server.c — libmicrohttpd daemon, responses, SSE (what a request gets is
 * decided in route.c).
 */
#include "web/server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "analyzer/run/thread.h"
#include "capture/assert.h"
#include "web/assets.h"
#include "web/guard.h"
#include "web/render.h"
#include "web/route.h"

/*
 * Limits: generous for a dashboard, small for an attacker.  One thread per
 * connection, so CONNECTION_LIMIT bounds the threads; one address may hold
 * PER_IP_LIMIT of them (256 for a load test from loopback fit), the rest stay
 * free for other addresses.  A request must arrive whole within REQUEST_SEC
 * of the connection's opening or of the previous answer (web/guard.h: the
 * idle timeout alone lets a client that trickles bytes hold a thread for
 * hours).  Event streams live long: at most MAX_STREAMS at a time, so they
 * can never take every thread, and a stream whose reader hung up is noticed
 * within HANGUP_CHECK_SEC rather than at the next heartbeat's failed write.
 */
#define CONNECTION_LIMIT 512
#define PER_IP_LIMIT 300
#define IDLE_TIMEOUT_SEC 30
#define REQUEST_SEC 10
#define REQUEST_MEMORY (32 * 1024)	/* request line + headers + state */
#define MAX_STREAMS 32
#define HEARTBEAT_SEC 10
#define HANGUP_CHECK_SEC 1

struct cs_web {
	struct MHD_Daemon *daemon;
	pthread_mutex_t mu;
	pthread_cond_t changed;
	struct cs_snapshot *snap;	/* current; guarded by mu */
	uint64_t seq;
	bool stopping;
	unsigned streams;		/* open event streams; guarded by mu */
	struct cs_web_guard *guard;
	char *token;
	uint16_t port;
};

/* ---- options -------------------------------------------------------------- */

int cs_web_parse_listen(const char *arg, struct cs_web_opts *o, char *err,
			size_t errlen)
{
	const char *port_s = arg;
	char addr[64] = CS_WEB_DEFAULT_ADDR;
	const char *colon = strrchr(arg, ':');

	if (arg[0] == '[') {			/* [IPv6]:PORT */
		const char *end = strchr(arg, ']');
		if (!end || end[1] != ':' || (size_t)(end - arg - 1) >= sizeof addr)
			goto bad;
		memcpy(addr, arg + 1, (size_t)(end - arg - 1));
		addr[end - arg - 1] = '\0';
		port_s = end + 2;
	} else if (colon) {
		if (strchr(arg, ':') != colon)	/* a bare IPv6 address needs [] */
			goto bad;
		if ((size_t)(colon - arg) >= sizeof addr)
			goto bad;
		memcpy(addr, arg, (size_t)(colon - arg));
		addr[colon - arg] = '\0';
		port_s = colon + 1;
	}
	char *end;
	errno = 0;
	unsigned long port = strtoul(port_s, &end, 10);
	/* digits only: strtoul would also take a sign or leading blanks */
	if (errno || !isdigit((unsigned char)port_s[0]) || *end || port > 65535)
		goto bad;
	struct in6_addr probe;
	if (inet_pton(AF_INET, addr, &probe) != 1 && inet_pton(AF_INET6, addr, &probe) != 1)
		goto bad;
	/* The IPv6 socket is IPv6-only (no dual stack), so ::ffff:a.b.c.d could
	 * never be bound; say what to write instead of failing at bind time
	 * (and instead of judging whether ::ffff:127.0.0.1 is loopback). */
	if (strchr(addr, ':') && IN6_IS_ADDR_V4MAPPED(&probe)) {
		char v4[INET_ADDRSTRLEN] = "";
		inet_ntop(AF_INET, &probe.s6_addr[12], v4, sizeof v4);
		snprintf(err, errlen, "--web '%s': an IPv4-mapped address cannot be "
			 "served; give the IPv4 address itself (%s:%lu)", arg,
			 v4, port);
		return -1;
	}
	memcpy(o->addr, addr, sizeof o->addr);
	o->port = (uint16_t)port;
	return 0;
bad:
	snprintf(err, errlen, "--web '%s': expected PORT, ADDR:PORT or [IPv6]:PORT "
		 "with a numeric address", arg);
	return -1;
}

bool cs_web_is_loopback(const struct cs_web_opts *o)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, o->addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, o->addr, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}

/* ---- snapshots ------------------------------------------------------------ */

void cs_web_publish(struct cs_web *w, struct cs_snapshot *snap)
{
	pthread_mutex_lock(&w->mu);
	struct cs_snapshot *old = w->snap;
	w->snap = snap;
	w->seq++;
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->mu);
	cs_snapshot_unref(old);		/* outside the lock: freeing can take time */
}

static struct cs_snapshot *acquire(struct cs_web *w)
{
	pthread_mutex_lock(&w->mu);
	struct cs_snapshot *s = w->snap ? cs_snapshot_ref(w->snap) : NULL;
	pthread_mutex_unlock(&w->mu);
	return s;
}

/* ---- responses ------------------------------------------------------------ */

static const char CSP[] = "default-src 'self'; img-src 'self' data:; "
			  "style-src 'self'; script-src 'self'; connect-src 'self'; "
			  "frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

static void security_headers(struct MHD_Response *resp, bool cacheable)
{
	MHD_add_response_header(resp, "Content-Security-Policy", CSP);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
	MHD_add_response_header(resp, "Cache-Control",
				cacheable ? "max-age=60" : "no-store");
}

/* Every response: its type and the security headers, then queued. */
static enum MHD_Result queue(struct MHD_Connection *c, unsigned status,
			     struct MHD_Response *resp, const char *content_type,
			     bool cacheable)
{
	MHD_add_response_header(resp, "Content-Type", content_type);
	security_headers(resp, cacheable);
	if (status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
	if (status == 405)
		MHD_add_response_header(resp, "Allow", "GET, HEAD");
	enum MHD_Result ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct cs_reply *r)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(r->body);
		return MHD_NO;
	}
	return queue(c, (unsigned)r->status, resp, r->content_type, false);
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status,
				  const char *message)
{
	struct cs_reply r;

	cs_render_error(status, message, &r);
	return send_reply(c, &r);
}

static enum MHD_Result send_asset(struct MHD_Connection *c, const struct cs_asset *a)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(
		a->len, (void *)a->data, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	return queue(c, MHD_HTTP_OK, resp, a->content_type, true);
}

/* ---- Server-Sent Events ----------------------------------------------------- */

struct sse {
	struct cs_web *w;
	int fd;			/* the client's socket, to see it hang up */
	uint64_t seq_sent;
	uint32_t alerts_sent;
	bool finished_sent;
	char *out;		/* rendered, not yet handed to the socket */
	size_t len, off;
};

static void sse_append(FILE *f, const char *event, const struct cs_reply *r)
{
	size_t n = r->len;

	while (n && r->body[n - 1] == '\n')	/* data: must be one line */
		n--;
	fprintf(f, "event: %s\ndata: %.*s\n\n", event, (int)n, r->body);
}

/* What changed since the last call, as SSE text; a heartbeat otherwise. */
static void sse_render(struct sse *st, struct cs_snapshot *s)
{
	FILE *f = open_memstream(&st->out, &st->len);
	struct cs_reply r;

	if (!f)
		return;
	if (!s) {
		fputs(": heartbeat\n\n", f);
	} else {
		cs_render_summary(s, &r);
		sse_append(f, "summary", &r);
		free(r.body);
		for (; st->alerts_sent < s->alert_cnt; st->alerts_sent++) {
			cs_render_alert(&s->alerts[st->alerts_sent], &r);
			sse_append(f, "alert", &r);
			free(r.body);
		}
		if (s->finished && !st->finished_sent) {
			fputs("event: finished\ndata: {}\n\n", f);
			st->finished_sent = true;
		}
	}
	fclose(f);
	st->off = 0;
}

/* True when the client has closed or reset the connection.  Called from
 * the connection's own thread, which owns fd while the callback runs. */
static bool client_gone(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLRDHUP };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

enum wake { WAKE_NEWS, WAKE_HEARTBEAT, WAKE_END };

/* Under w->mu: waits for a snapshot the stream has not sent, for the
 * heartbeat's time, or for the end (the server stops, the client left). */
static enum wake sse_wait(struct sse *st)
{
	struct cs_web *w = st->w;
	struct timespec now, heartbeat;

	clock_gettime(CLOCK_REALTIME, &heartbeat);
	heartbeat.tv_sec += HEARTBEAT_SEC;
	for (;;) {
		if (w->stopping)
			return WAKE_END;
		if (w->seq != st->seq_sent)
			return WAKE_NEWS;
		clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_sec > heartbeat.tv_sec ||
		    (now.tv_sec == heartbeat.tv_sec && now.tv_nsec >= heartbeat.tv_nsec))
			return WAKE_HEARTBEAT;
		struct timespec until = now;
		until.tv_sec += HANGUP_CHECK_SEC;
		if (until.tv_sec > heartbeat.tv_sec)
			until = heartbeat;
		if (pthread_cond_timedwait(&w->changed, &w->mu, &until) != 0 &&
		    client_gone(st->fd))
			return WAKE_END;
	}
}

/* Takes one of the MAX_STREAMS places; false when all are taken. */
static bool stream_enter(struct cs_web *w)
{
	pthread_mutex_lock(&w->mu);
	bool ok = w->streams < MAX_STREAMS;
	if (ok)
		w->streams++;
	pthread_mutex_unlock(&w->mu);
	return ok;
}

static void stream_leave(struct cs_web *w)
{
	pthread_mutex_lock(&w->mu);
	CS_ASSERT(w->streams > 0);	/* each leave follows its stream_enter */
	w->streams--;
	pthread_mutex_unlock(&w->mu);
}

static ssize_t sse_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct sse *st = cls;
	struct cs_web *w = st->w;

	(void)pos;
	if (st->out && st->off == st->len) {
		free(st->out);
		st->out = NULL;
	}
	if (!st->out) {
		struct cs_snapshot *s = NULL;

		pthread_mutex_lock(&w->mu);
		enum wake why = sse_wait(st);
		if (why == WAKE_END) {
			bool stopping = w->stopping;
			pthread_mutex_unlock(&w->mu);
			return stopping ? MHD_CONTENT_READER_END_OF_STREAM
					: MHD_CONTENT_READER_END_WITH_ERROR;
		}
		if (why == WAKE_NEWS && w->snap) {
			s = cs_snapshot_ref(w->snap);
			st->seq_sent = w->seq;
		}
		pthread_mutex_unlock(&w->mu);
		sse_render(st, s);
		cs_snapshot_unref(s);
		if (!st->out)
			return MHD_CONTENT_READER_END_WITH_ERROR;
	}
	size_t n = st->len - st->off < max ? st->len - st->off : max;
	memcpy(buf, st->out + st->off, n);
	st->off += n;
	return (ssize_t)n;
}

static void sse_free(void *cls)
{
	struct sse *st = cls;

	stream_leave(st->w);
	free(st->out);
	free(st);
}

static enum MHD_Result send_events(struct cs_web *w, struct MHD_Connection *c,
				   bool head)
{
	/* A HEAD answer must end at its headers; libmicrohttpd would still
	 * write a stream's chunked terminator, so HEAD gets an empty body. */
	if (head) {
		struct MHD_Response *resp = MHD_create_response_from_buffer(
			0, NULL, MHD_RESPMEM_PERSISTENT);
		return resp ? queue(c, MHD_HTTP_OK, resp, "text/event-stream", false)
			    : MHD_NO;
	}
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (!ci)
		return send_error(c, 500, "no socket for the event stream");
	if (!stream_enter(w))
		return send_error(c, 503, "too many event streams open; try again later");
	struct sse *st = calloc(1, sizeof *st);
	if (!st) {
		stream_leave(w);
		return send_error(c, 500, "out of memory");
	}
	st->w = w;
	st->fd = ci->connect_fd;
	/* from here sse_free gives the place back */
	struct MHD_Response *resp = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, 4096, sse_read, st, sse_free);
	if (!resp) {
		sse_free(st);
		return MHD_NO;
	}
	return queue(c, MHD_HTTP_OK, resp, "text/event-stream", false);
}

/* ---- routing -------------------------------------------------------------- */

static const char *query_get(void *ctx, const char *key)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, key);
}

/* The data: rendered from the current snapshot, if there is one yet. */
static enum MHD_Result api(struct cs_web *w, struct MHD_Connection *c,
			   const struct cs_request *req)
{
	struct cs_snapshot *s = acquire(w);
	struct cs_reply r;

	if (!s)
		return send_error(c, 503, "no data yet: the capture has not started");
	cs_route_api_reply(s, req, &r);
	cs_snapshot_unref(s);
	return send_reply(c, &r);
}

/*
 * A request's stages, kept in its req_cls: a pointer into stages[verdict]
 * [answering].  The handler sees the path decoded and without the query
 * string, so the raw URI is judged where libmicrohttpd shows it, the URI
 * log callback, which runs first: its whole length, and any %00 — decoded,
 * a NUL would cut the path or a value short unseen ("refused%00x" would
 * read as "refused").
 */
enum uri_verdict { URI_OK, URI_TOO_LONG, URI_NUL, URI_VERDICT_MAX };
static char stages[URI_VERDICT_MAX][2];

static int guard_slot(struct MHD_Connection *c);

static void *judge_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)cls;
	(void)c;
	if (strlen(uri) > CS_WEB_URI_MAX)
		return &stages[URI_TOO_LONG][0];
	return strstr(uri, "%00") ? &stages[URI_NUL][0] : &stages[URI_OK][0];
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	struct cs_web *w = cls;
	ptrdiff_t stage = (char *)*req_cls - &stages[0][0];
	enum uri_verdict verdict = (enum uri_verdict)(stage / 2);

	(void)version;
	(void)upload_data;
	if (stage < 0 || stage >= (ptrdiff_t)sizeof stages)
		return MHD_NO;		/* no URI callback ran: cannot happen */
	if (stage % 2 == 0) {
		/* headers only: answer on the next call */
		*req_cls = &stages[verdict][1];
		return MHD_YES;
	}
	if (*upload_data_size) {	/* a body we did not ask for */
		*upload_data_size = 0;
		return MHD_YES;
	}
	cs_web_guard_disarm(w->guard, guard_slot(c));	/* the request is in */
	struct cs_request req = {
		.method = method,
		.path = url,
		.uri_too_long = verdict == URI_TOO_LONG,
		.uri_has_nul = verdict == URI_NUL,
		.authorization = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
							     "Authorization"),
		.query = query_get,
		.query_ctx = c,
	};
	const struct cs_asset *asset;
	switch (cs_route_request(&req, w->token, &asset)) {
	case CS_ROUTE_BAD_METHOD:
		return send_error(c, 405, "only GET and HEAD");
	case CS_ROUTE_TOO_LONG:
		return send_error(c, 414, "URL too long");
	case CS_ROUTE_NUL:
		return send_error(c, 400, "a NUL byte (%00) in the URL");
	case CS_ROUTE_HEALTHZ: {
		struct cs_reply r = { 200, "text/plain", strdup("ok\n"), 3 };
		if (!r.body)
			return MHD_NO;
		return send_reply(c, &r);
	}
	case CS_ROUTE_ASSET:
		return send_asset(c, asset);
	case CS_ROUTE_UNAUTHORIZED:
		return send_error(c, 401, "a valid token is needed (Authorization: "
				  "Bearer TOKEN, or ?token=TOKEN)");
	case CS_ROUTE_EVENTS:
		return send_events(w, c, !strcmp(method, MHD_HTTP_METHOD_HEAD));
	case CS_ROUTE_API:
		break;
	}
	return api(w, c, &req);
}

/* ---- the request deadline (web/guard.h) ------------------------------------ */

/* The slot is kept in the socket context as slot + 1 (NULL: none). */
static int guard_slot(struct MHD_Connection *c)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci && ci->socket_context ? (int)((intptr_t)ci->socket_context - 1) : -1;
}

/* Runs before libmicrohttpd closes the socket (CLOSED), so the guard lets
 * go of the descriptor while it is still this connection's. */
static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct cs_web *w = cls;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci =
			MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
		int slot = ci ? cs_web_guard_watch(w->guard, ci->connect_fd) : -1;
		*socket_context = slot >= 0 ? (void *)(intptr_t)(slot + 1) : NULL;
	} else if (*socket_context) {
		cs_web_guard_forget(w->guard, (int)((intptr_t)*socket_context - 1));
		*socket_context = NULL;
	}
}

/* An answer is done: on a kept-alive connection the next request's clock
 * starts now. */
static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct cs_web *w = cls;

	(void)req_cls;
	(void)toe;
	cs_web_guard_arm(w->guard, guard_slot(c));
}

/* libmicrohttpd's own complaints (a client's garbage) are not ours to print. */
static void quiet_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	(void)fmt;
	(void)ap;
}

/* ---- start and stop --------------------------------------------------------- */

static int bind_address(const struct cs_web_opts *o, struct sockaddr_storage *ss,
			bool *v6)
{
	memset(ss, 0, sizeof *ss);
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

	if (inet_pton(AF_INET, o->addr, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons(o->port);
		*v6 = false;
		return 0;
	}
	if (inet_pton(AF_INET6, o->addr, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(o->port);
		*v6 = true;
		return 0;
	}
	return -1;
}

int cs_web_start(struct cs_web **out, const struct cs_web_opts *o, char *err,
		 size_t errlen)
{
	struct sockaddr_storage ss;
	bool v6;
	struct cs_web *w = calloc(1, sizeof *w);

	*out = NULL;
	if (!w || bind_address(o, &ss, &v6) != 0) {
		snprintf(err, errlen, "cannot serve on '%s': %s", o->addr,
			 w ? "not a numeric address" : "out of memory");
		free(w);
		return -1;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->changed, NULL);
	w->token = o->token ? strdup(o->token) : NULL;
	w->guard = cs_web_guard_create(CONNECTION_LIMIT, REQUEST_SEC);
	if (!w->guard) {
		snprintf(err, errlen, "cannot serve on '%s': out of memory or threads",
			 o->addr);
		goto fail;
	}
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
	/* The daemon's listening thread, and the per-connection threads it
	 * starts, inherit this mask: Ctrl-C stays with the main thread. */
	sigset_t mask;
	cs_signals_hold(&mask);
	w->daemon = MHD_start_daemon(
		flags, o->port, NULL, NULL, handle, w,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_IP_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_SEC,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)REQUEST_MEMORY,
		MHD_OPTION_EXTERNAL_LOGGER, quiet_log, NULL,
		MHD_OPTION_URI_LOG_CALLBACK, judge_uri, NULL,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, w,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
		MHD_OPTION_END);
	cs_signals_release(&mask);
	if (!w->daemon) {
		snprintf(err, errlen, "cannot serve on %s%s%s:%u: %s (in use, or "
			 "not an address of this host?)", v6 ? "[" : "", o->addr,
			 v6 ? "]" : "", o->port, strerror(errno ? errno : EADDRINUSE));
		goto fail;
	}
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_BIND_PORT);
	w->port = info ? info->port : o->port;
	*out = w;
	return 0;
fail:
	cs_web_guard_destroy(w->guard);
	pthread_cond_destroy(&w->changed);
	pthread_mutex_destroy(&w->mu);
	free(w->token);
	free(w);
	return -1;
}

uint16_t cs_web_port(const struct cs_web *w)
{
	return w->port;
}

void cs_web_stop(struct cs_web *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->mu);
	MHD_stop_daemon(w->daemon);
	cs_web_guard_destroy(w->guard);	/* after: every connection is closed */
	cs_snapshot_unref(w->snap);
	pthread_cond_destroy(&w->changed);
	pthread_mutex_destroy(&w->mu);
	free(w->token);
	free(w);
}
