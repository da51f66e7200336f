/*
 * server.c — libmicrohttpd daemon, responses, SSE (what a request gets is
 * decided in route.c).
 */
#include "web/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "capture/assert.h"
#include "capture/thread.h"
#include "web/assets.h"
#include "web/clients.h"
#include "web/export.h"
#include "web/guard.h"
#include "web/render.h"
#include "web/route.h"

/*
 * Limits: generous for a dashboard, small for an attacker.  One thread per
 * connection, so `connections` bounds the threads.  A client (an IPv4
 * address or an IPv6 /64) may hold `per_client` of them: a browser opens
 * six per host and an event stream, a few tabs fit, and 16 clients are
 * needed to fill the server.  From `busy` connections on, a connection
 * waiting for its request gets `busy_request_sec` instead of
 * `request_sec` (web/guard.h: the idle timeout alone lets a client that
 * trickles bytes hold a thread for hours), so idle connections give way
 * to new ones.  A failed token attempt costs its client `penalty_ms`
 * (web/clients.h).
 */
const struct cs_web_limits cs_web_limits_default = {
	.connections = 512,
	.per_client = 32,
	.busy = 384,			/* three quarters */
	.request_sec = 10,
	.busy_request_sec = 2,
	.penalty_ms = 1000,
	.max_wait_ms = 5000,
};

/*
 * Event streams live long: at most MAX_STREAMS at a time, so they can
 * never take every thread, and a stream whose reader hung up is noticed
 * within HANGUP_CHECK_SEC rather than at the next heartbeat's failed
 * write.  CLIENTS_KEPT clients' misdeeds are remembered.
 *
 * Memory: a reply is rendered whole before it is sent (up to about 1 MiB
 * for /api/connections?limit=1000), and each connection's thread renders
 * its own.  At most RENDERS_MAX renders run at once, and they start only
 * while the replies rendered and not yet sent hold under HELD_MAX bytes;
 * a request that waits RENDER_WAIT_SEC for that gets a 503.  And the
 * rendered buffers are handed back to the kernel when freed (cs_web_start,
 * mallopt), rather than kept by glibc's per-thread arenas.
 */
#define IDLE_TIMEOUT_SEC 30
#define REQUEST_MEMORY (32 * 1024)	/* request line + headers + state */
#define MAX_STREAMS 32
#define HEARTBEAT_SEC 10
#define HANGUP_CHECK_SEC 1
#define CLIENTS_KEPT 256
#define RENDERS_MAX 4
#define HELD_MAX (32u << 20)
#define RENDER_WAIT_SEC 10
#define MMAP_FROM_BYTES (128 * 1024)	/* glibc's default, made fixed */
#define DAEMON_LOG_EVERY_SEC 60
#define PEM_MAX (1 << 20)

/* libmicrohttpd's own complaints worth a person's attention, by the
 * start of its message (its wording in 0.9.7x); the rest is about a
 * client's garbage and stays quiet. */
enum daemon_event { EV_SERVER_FULL, EV_RESOURCES, EV_MAX };
static const char *const daemon_event_names[EV_MAX] = {
	[EV_SERVER_FULL] = "server_full",
	[EV_RESOURCES] = "resources",
};

struct daemon_log {
	uint64_t cnt[EV_MAX];
	uint64_t unlogged[EV_MAX];
	time_t logged_at[EV_MAX];	/* 0: never */
};

struct cs_web {
	struct MHD_Daemon *daemon;
	pthread_mutex_t mu;
	pthread_cond_t changed;		/* a snapshot, or the end */
	pthread_cond_t render_free;	/* a render place, or held bytes freed */
	struct cs_snapshot *snap;	/* current; guarded by mu */
	uint64_t seq;
	bool stopping;
	unsigned streams;		/* open event streams; guarded by mu */
	unsigned renders;		/* replies being rendered; guarded by mu */
	size_t held;			/* bytes rendered, not yet sent; mu */
	struct daemon_log dlog;		/* guarded by mu */
	struct cs_web_limits lim;
	struct cs_web_guard *guard;
	struct cs_web_clients *clients;
	struct cs_route_policy policy;
	char *hosts[CS_WEB_HOSTS_MAX];
	char *token;
	cs_web_log_fn log;
	void *log_ctx;
	bool tls;
	char *cert_pem, *key_pem;
	atomic_bool starting;		/* in MHD_start_daemon: keep its message */
	char start_msg[256];
	char listen_addr[64];
	uint16_t port;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

__attribute__((format(printf, 2, 3)))
static void say(const struct cs_web *w, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (w->log)
		w->log(w->log_ctx, line);
	else
		fprintf(stderr, "connscope: %s\n", line);
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

/* Every response: its type and the security headers, then queued.
 * retry_after: a 429's or 503's Retry-After, or NULL. */
static enum MHD_Result queue_with(struct MHD_Connection *c, unsigned status,
				  struct MHD_Response *resp, const char *content_type,
				  bool cacheable, const char *retry_after)
{
	MHD_add_response_header(resp, "Content-Type", content_type);
	security_headers(resp, cacheable);
	if (status == 401)
		MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
	if (status == 405)
		MHD_add_response_header(resp, "Allow", "GET, HEAD");
	if (retry_after)
		MHD_add_response_header(resp, "Retry-After", retry_after);
	enum MHD_Result ret = MHD_queue_response(c, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result queue(struct MHD_Connection *c, unsigned status,
			     struct MHD_Response *resp, const char *content_type,
			     bool cacheable)
{
	return queue_with(c, status, resp, content_type, cacheable, NULL);
}

static enum MHD_Result send_reply_with(struct MHD_Connection *c, struct cs_reply *r,
				       const char *retry_after)
{
	struct MHD_Response *resp =
		MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
	if (!resp) {
		free(r->body);
		return MHD_NO;
	}
	return queue_with(c, (unsigned)r->status, resp, r->content_type, false,
			  retry_after);
}

static enum MHD_Result send_reply(struct MHD_Connection *c, struct cs_reply *r)
{
	return send_reply_with(c, r, NULL);
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status,
				  const char *message)
{
	struct cs_reply r;

	cs_render_error(status, message, &r);
	return send_reply(c, &r);
}

static enum MHD_Result send_busy(struct MHD_Connection *c, int status,
				 const char *message, unsigned retry_sec)
{
	struct cs_reply r;
	char retry[16];

	cs_render_error(status, message, &r);
	snprintf(retry, sizeof retry, "%u", retry_sec ? retry_sec : 1);
	return send_reply_with(c, &r, retry);
}

/* ---- the bytes of replies in flight (see RENDERS_MAX) -------------------------- */

/* Waits for a render place; false after RENDER_WAIT_SEC, or at the end. */
static bool render_enter(struct cs_web *w)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += RENDER_WAIT_SEC;
	pthread_mutex_lock(&w->mu);
	while (!w->stopping && rc != ETIMEDOUT &&
	       (w->renders >= RENDERS_MAX || w->held >= HELD_MAX))
		rc = pthread_cond_timedwait(&w->render_free, &w->mu, &until);
	bool ok = !w->stopping && w->renders < RENDERS_MAX && w->held < HELD_MAX;
	if (ok)
		w->renders++;
	pthread_mutex_unlock(&w->mu);
	return ok;
}

/* The render is done; its `held` bytes stay counted until sent. */
static void render_leave(struct cs_web *w, size_t held)
{
	pthread_mutex_lock(&w->mu);
	CS_ASSERT(w->renders > 0);
	w->renders--;
	w->held += held;
	pthread_cond_broadcast(&w->render_free);
	pthread_mutex_unlock(&w->mu);
}

static void held_release(struct cs_web *w, size_t len)
{
	pthread_mutex_lock(&w->mu);
	CS_ASSERT(w->held >= len);
	w->held -= len;
	pthread_cond_broadcast(&w->render_free);
	pthread_mutex_unlock(&w->mu);
}

struct held_reply {
	struct cs_web *w;
	char *body;
	size_t len;
};

/* libmicrohttpd is done with the reply: sent, or the client is gone. */
static void held_free(void *cls)
{
	struct held_reply *h = cls;

	held_release(h->w, h->len);
	free(h->body);
	free(h);
}

/* A rendered reply whose bytes render_leave counted as held. */
static enum MHD_Result send_held(struct cs_web *w, struct MHD_Connection *c,
				 struct cs_reply *r)
{
	struct held_reply *h = malloc(sizeof *h);
	struct MHD_Response *resp = NULL;

	if (h) {
		*h = (struct held_reply){ w, r->body, r->len };
		resp = MHD_create_response_from_buffer_with_free_callback_cls(
			r->len, r->body, held_free, h);
	}
	if (!resp) {
		held_release(w, r->len);
		free(r->body);
		free(h);
		return MHD_NO;
	}
	return queue(c, (unsigned)r->status, resp, r->content_type, false);
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

/* ---- exports (web/export.h) ---------------------------------------------------- */

struct export_stream {
	struct cs_web *w;
	struct cs_export *x;
};

static ssize_t export_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	ssize_t n = cs_export_read(((struct export_stream *)cls)->x, buf, max);

	(void)pos;
	return n > 0 ? n : n == 0 ? MHD_CONTENT_READER_END_OF_STREAM
				  : MHD_CONTENT_READER_END_WITH_ERROR;
}

static void export_free(void *cls)
{
	struct export_stream *es = cls;

	cs_export_destroy(es->x);
	stream_leave(es->w);
	free(es);
}

/* The filtered table, made as the client reads it; an export holds one of
 * the event streams' places (STREAMS_MAX), so they are bounded together. */
static enum MHD_Result send_export(struct cs_web *w, struct MHD_Connection *c,
				   const struct cs_request *req)
{
	struct cs_conn_filter f;
	enum cs_export_format fmt;
	char err[160];

	cs_export_format_of(req->path, &fmt);
	if (cs_conn_filter_parse(&f, req->query, req->query_ctx, err, sizeof err) != 0)
		return send_error(c, 400, err);
	if (!stream_enter(w))
		return send_error(c, 503, "too many streams open; try again later");
	struct cs_snapshot *s = acquire(w);
	struct export_stream *es = s ? calloc(1, sizeof *es) : NULL;
	if (es)
		es->x = cs_export_create(s, &f, fmt);
	cs_snapshot_unref(s);
	if (!es || !es->x) {
		free(es);
		stream_leave(w);
		return s ? send_error(c, 500, "out of memory")
			 : send_error(c, 503, "no data yet: the capture has not started");
	}
	es->w = w;
	struct MHD_Response *resp = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, 64 * 1024, export_read, es, export_free);
	if (!resp) {
		export_free(es);
		return MHD_NO;
	}
	char disp[80];
	snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", cs_export_file_name(fmt));
	MHD_add_response_header(resp, "Content-Disposition", disp);
	return queue(c, MHD_HTTP_OK, resp, cs_export_content_type(fmt), false);
}

/* ---- clients (web/clients.h) ------------------------------------------------- */

static bool client_of(struct MHD_Connection *c, struct cs_web_client *who)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);

	if (!ci || !ci->client_addr)
		return false;
	socklen_t len = ci->client_addr->sa_family == AF_INET6
				? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	return cs_web_client_of(ci->client_addr, len, who);
}

/* Counts what a client did and says so, one line per client, kind and
 * minute at most (web/clients.h). */
static void misdeed(struct cs_web *w, const struct cs_web_client *who,
		    enum cs_web_misdeed kind, bool queued)
{
	uint64_t n = cs_web_clients_note(w->clients, who, kind, now_ms(), queued);
	char name[CS_WEB_CLIENT_TEXT_MAX];
	const char *s = n == 1 ? "" : "s";

	if (!n)
		return;
	cs_web_client_format(who, name, sizeof name);
	switch (kind) {
	case CS_WEB_BAD_TOKEN:
		say(w, "web: %" PRIu64 " request%s from %s with a missing or wrong "
		    "token (each failure delays that client's next attempt %u ms)",
		    n, s, name, w->lim.penalty_ms);
		break;
	case CS_WEB_TOO_EARLY:
		say(w, "web: %" PRIu64 " token attempt%s from %s refused unchecked "
		    "(429): it failed too often", n, s, name);
		break;
	case CS_WEB_CROWDING:
		say(w, "web: refused %" PRIu64 " connection%s from %s: it holds %u, "
		    "the most one client may", n, s, name, w->lim.per_client);
		break;
	case CS_WEB_MISDEED_MAX:
		break;
	}
}

/* libmicrohttpd's accept policy: within its per-client limit? */
static enum MHD_Result admit(void *cls, const struct sockaddr *addr, socklen_t addrlen)
{
	struct cs_web *w = cls;
	struct cs_web_client who;

	if (!cs_web_client_of(addr, addrlen, &who) || cs_web_guard_admit(w->guard, &who))
		return MHD_YES;
	misdeed(w, &who, CS_WEB_CROWDING, false);
	return MHD_NO;
}

/* Sleeps in this connection's own thread; false if the server stops. */
static bool pause_ms(struct cs_web *w, uint64_t ms)
{
	struct timespec until;
	int rc = 0;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += (time_t)(ms / 1000);
	until.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->mu);
	while (!w->stopping && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&w->changed, &w->mu, &until);
	bool ok = !w->stopping;
	pthread_mutex_unlock(&w->mu);
	return ok;
}

/* A token attempt waits for its client's turn (web/clients.h), and a
 * failure is counted.  False when it is answered here instead (*ret): a
 * 429 when the turn is too far away, or nothing when the server stops. */
static bool take_turn(struct cs_web *w, struct MHD_Connection *c, enum cs_route route,
		      enum MHD_Result *ret)
{
	struct cs_web_client who;
	bool queued;

	if (!client_of(c, &who))
		return true;
	int64_t wait = cs_web_clients_turn(w->clients, &who, now_ms(), &queued);
	if (wait < 0) {
		misdeed(w, &who, CS_WEB_TOO_EARLY, false);
		*ret = send_busy(c, 429, "too many failed token attempts from your "
				 "address; try again later", w->lim.penalty_ms / 1000);
		return false;
	}
	if (wait > 0 && !pause_ms(w, (uint64_t)wait)) {
		*ret = MHD_NO;
		return false;
	}
	if (route == CS_ROUTE_UNAUTHORIZED)
		misdeed(w, &who, CS_WEB_BAD_TOKEN, queued);
	return true;
}

/* ---- the server's own metrics ------------------------------------------------- */

static void client_metrics(void *ctx, const struct cs_web_client *c,
			   const uint64_t counts[CS_WEB_MISDEED_MAX])
{
	FILE *f = ctx;
	char name[CS_WEB_CLIENT_TEXT_MAX];

	cs_web_client_format(c, name, sizeof name);
	for (int k = 0; k < CS_WEB_MISDEED_MAX; k++)
		if (counts[k])
			fprintf(f, "connscope_web_client_refused_total{client=\"%s\","
				"reason=\"%s\"} %" PRIu64 "\n", name,
				cs_web_misdeed_names[k], counts[k]);
}

static void server_metrics(struct cs_web *w, FILE *f)
{
	uint64_t totals[CS_WEB_MISDEED_MAX], events[EV_MAX];

	cs_web_clients_totals(w->clients, totals);
	pthread_mutex_lock(&w->mu);
	memcpy(events, w->dlog.cnt, sizeof events);
	pthread_mutex_unlock(&w->mu);
	fputs("# HELP connscope_web_refused_total Requests and connections the "
	      "dashboard's server refused or cut, by reason.\n"
	      "# TYPE connscope_web_refused_total counter\n", f);
	for (int k = 0; k < CS_WEB_MISDEED_MAX; k++)
		fprintf(f, "connscope_web_refused_total{reason=\"%s\"} %" PRIu64 "\n",
			cs_web_misdeed_names[k], totals[k]);
	for (int e = 0; e < EV_MAX; e++)
		fprintf(f, "connscope_web_refused_total{reason=\"%s\"} %" PRIu64 "\n",
			daemon_event_names[e], events[e]);
	fprintf(f, "connscope_web_refused_total{reason=\"late_request\"} %" PRIu64 "\n",
		cs_web_guard_cut_cnt(w->guard));
	fputs("# HELP connscope_web_client_refused_total The same per client (an "
	      "IPv4 address or an IPv6 /64) of the last few hundred refused.\n"
	      "# TYPE connscope_web_client_refused_total counter\n", f);
	cs_web_clients_each(w->clients, client_metrics, f);
}

/* /metrics: the snapshot's, then the server's own. */
static void append_server_metrics(struct cs_web *w, struct cs_reply *r)
{
	char *extra = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&extra, &n);

	if (!f)
		return;
	server_metrics(w, f);
	if (fclose(f) == 0) {
		char *body = realloc(r->body, r->len + n);
		if (body) {
			memcpy(body + r->len, extra, n);
			r->body = body;
			r->len += n;
		}
	}
	free(extra);
}

/* ---- routing -------------------------------------------------------------- */

static const char *query_get(void *ctx, const char *key)
{
	return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, key);
}

/* The data: rendered from the current snapshot, if there is one yet, once
 * a render place is free (RENDERS_MAX). */
static enum MHD_Result api(struct cs_web *w, struct MHD_Connection *c,
			   const struct cs_request *req)
{
	struct cs_reply r;

	if (!render_enter(w))
		return send_busy(c, 503, "busy: too many replies in flight; try "
				 "again shortly", RENDER_WAIT_SEC);
	struct cs_snapshot *s = acquire(w);
	if (!s) {
		render_leave(w, 0);
		return send_error(c, 503, "no data yet: the capture has not started");
	}
	cs_route_api_reply(s, req, &r);
	cs_snapshot_unref(s);
	if (r.status == 200 && !strcmp(req->path, "/metrics"))
		append_server_metrics(w, &r);
	render_leave(w, r.len);
	return send_held(w, c, &r);
}

/* The numeric address this connection reached (for a Host naming it). */
static const char *local_address(struct MHD_Connection *c, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *ci =
		MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	const void *a = NULL;

	if (!ci || getsockname(ci->connect_fd, (struct sockaddr *)&ss, &sl) != 0)
		return NULL;
	if (ss.ss_family == AF_INET)
		a = &((const struct sockaddr_in *)&ss)->sin_addr;
	else if (ss.ss_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)&ss)->sin6_addr;
	return a && inet_ntop(ss.ss_family, a, buf, (socklen_t)len) ? buf : NULL;
}

/* The answer route.c chose. */
static enum MHD_Result answer(struct cs_web *w, struct MHD_Connection *c,
			      const struct cs_request *req, enum cs_route route,
			      const struct cs_asset *asset)
{
	switch (route) {
	case CS_ROUTE_BAD_METHOD:
		return send_error(c, 405, "only GET and HEAD");
	case CS_ROUTE_TOO_LONG:
		return send_error(c, 414, "URL too long");
	case CS_ROUTE_NUL:
		return send_error(c, 400, "a NUL byte (%00) in the URL");
	case CS_ROUTE_MISDIRECTED:
		return send_error(c, 421, "this server does not answer to that Host: "
				  "use its address, localhost, or a name given "
				  "with --web-host");
	case CS_ROUTE_BAD_ORIGIN:
		return send_error(c, 403, "a page of another site may not read this "
				  "server's data (Origin)");
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
		return send_events(w, c, !strcmp(req->method, MHD_HTTP_METHOD_HEAD));
	case CS_ROUTE_EXPORT:
		return send_export(w, c, req);
	case CS_ROUTE_API:
		break;
	}
	return api(w, c, req);
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
	char local[INET6_ADDRSTRLEN];

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
		.host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Host"),
		.origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin"),
		.local_addr = local_address(c, local, sizeof local),
		.query = query_get,
		.query_ctx = c,
	};
	const struct cs_asset *asset;
	enum cs_route route = cs_route_request(&req, &w->policy, &asset);
	enum MHD_Result early;
	bool token_attempt = route == CS_ROUTE_UNAUTHORIZED || route == CS_ROUTE_EVENTS ||
			     route == CS_ROUTE_EXPORT ||
			     route == CS_ROUTE_API;
	if (w->token && token_attempt && !take_turn(w, c, route, &early))
		return early;
	return answer(w, c, &req, route, asset);
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
		struct cs_web_client who = { { 0 } };
		(void)client_of(c, &who);
		int slot = ci ? cs_web_guard_watch(w->guard, ci->connect_fd, &who) : -1;
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

/* ---- libmicrohttpd's messages ------------------------------------------------- */

static enum daemon_event classify(const char *fmt)
{
	static const struct {
		const char *start;
		enum daemon_event ev;
	} known[] = {
		{ "Server reached connection limit", EV_SERVER_FULL },
		{ "Hit process or system resource limit", EV_RESOURCES },
		{ "Error accepting connection", EV_RESOURCES },
		{ "Failed to create a thread", EV_RESOURCES },
		{ "Failed to create a new thread", EV_RESOURCES },
		{ "Error allocating memory", EV_RESOURCES },
	};

	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (!strncmp(fmt, known[i].start, strlen(known[i].start)))
			return known[i].ev;
	return EV_MAX;
}

/* The daemon's own messages: while it starts, the last one is kept for
 * cs_web_start's error; then the refusals it makes on its own (server
 * full, out of descriptors or threads) are counted and told, one line a
 * minute per kind; the rest (a client's garbage) stays quiet. */
__attribute__((format(printf, 2, 0)))
static void daemon_log(void *cls, const char *fmt, va_list ap)
{
	struct cs_web *w = cls;
	enum daemon_event ev = classify(fmt);
	char msg[256];
	uint64_t n = 0;

	if (ev == EV_MAX && !w->starting)
		return;
	vsnprintf(msg, sizeof msg, fmt, ap);
	msg[strcspn(msg, "\n")] = '\0';
	if (w->starting) {
		if (!w->start_msg[0])	/* the first says most: "GnuTLS failed ..." */
			snprintf(w->start_msg, sizeof w->start_msg, "%s", msg);
		return;
	}
	time_t now = (time_t)(now_ms() / 1000);
	pthread_mutex_lock(&w->mu);
	struct daemon_log *d = &w->dlog;
	d->cnt[ev]++;
	d->unlogged[ev]++;
	if (!d->logged_at[ev] || now - d->logged_at[ev] >= DAEMON_LOG_EVERY_SEC) {
		n = d->unlogged[ev];
		d->unlogged[ev] = 0;
		d->logged_at[ev] = now ? now : 1;
	}
	pthread_mutex_unlock(&w->mu);
	if (n)
		say(w, "web: %s (%" PRIu64 " time%s since the last such line; clients "
		    "are being refused)", msg, n, n == 1 ? "" : "s");
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

/* A PEM file's whole text, NUL-terminated (libmicrohttpd takes PEM text). */
static char *read_pem(const char *what, const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text = f ? calloc(1, PEM_MAX + 1) : NULL;
	size_t n = text ? fread(text, 1, PEM_MAX + 1, f) : 0;
	const char *why = !f ? strerror(errno) : !text ? "out of memory"
			: ferror(f) ? "cannot be read" : n > PEM_MAX ? "over 1 MiB"
			: !strstr(text, "-----BEGIN ") ? "not PEM text" : NULL;

	if (f)
		fclose(f);
	if (why) {
		snprintf(err, errlen, "%s '%s': %s", what, path, why);
		free(text);
		return NULL;
	}
	return text;
}

/* The certificate and key (opts), or none: HTTPS when both are given. */
static int load_tls(struct cs_web *w, const struct cs_web_opts *o, char *err,
		    size_t errlen)
{
	if (!o->cert_path && !o->key_path)
		return 0;
	if (!o->cert_path || !o->key_path) {
		snprintf(err, errlen, "HTTPS needs both --web-cert and --web-key");
		return -1;
	}
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		snprintf(err, errlen, "HTTPS: this libmicrohttpd was built without TLS");
		return -1;
	}
	w->cert_pem = read_pem("--web-cert", o->cert_path, err, errlen);
	w->key_pem = w->cert_pem ? read_pem("--web-key", o->key_path, err, errlen) : NULL;
	w->tls = w->key_pem != NULL;
	return w->tls ? 0 : -1;
}

/* What cs_web_start and cs_web_stop share to undo: all but the daemon. */
static void release(struct cs_web *w)
{
	cs_web_guard_destroy(w->guard);
	cs_web_clients_destroy(w->clients);
	cs_snapshot_unref(w->snap);
	pthread_cond_destroy(&w->render_free);
	pthread_cond_destroy(&w->changed);
	pthread_mutex_destroy(&w->mu);
	for (size_t i = 0; i < CS_WEB_HOSTS_MAX; i++)
		free(w->hosts[i]);
	if (w->key_pem)
		explicit_bzero(w->key_pem, strlen(w->key_pem));
	free(w->key_pem);
	free(w->cert_pem);
	free(w->token);
	free(w);
}

/* Copies what the daemon needs beyond the call: token, hosts, limits. */
static int configure(struct cs_web *w, const struct cs_web_opts *o)
{
	w->lim = o->limits ? *o->limits : cs_web_limits_default;
	w->log = o->log;
	w->log_ctx = o->log_ctx;
	w->token = o->token ? strdup(o->token) : NULL;
	snprintf(w->listen_addr, sizeof w->listen_addr, "%s", o->addr);
	for (size_t i = 0; i < o->host_cnt && i < CS_WEB_HOSTS_MAX; i++)
		if (!(w->hosts[i] = strdup(o->hosts[i])))
			return -1;
	w->policy = (struct cs_route_policy){
		.token = w->token,
		.listen_addr = w->listen_addr,
		.hosts = (const char *const *)w->hosts,
		.host_cnt = o->host_cnt < CS_WEB_HOSTS_MAX ? o->host_cnt : CS_WEB_HOSTS_MAX,
	};
	struct cs_web_guard_limits gl = {
		.slots = w->lim.connections,
		.per_client = w->lim.per_client,
		.busy_slots = w->lim.busy,
		.request_sec = w->lim.request_sec,
		.busy_request_sec = w->lim.busy_request_sec,
	};
	w->guard = cs_web_guard_create(&gl);
	w->clients = cs_web_clients_create(CLIENTS_KEPT, w->lim.penalty_ms,
					   w->lim.max_wait_ms);
	return (o->token && !w->token) || !w->guard || !w->clients ? -1 : 0;
}

static struct MHD_Daemon *start_daemon(struct cs_web *w, uint16_t port,
				       struct sockaddr_storage *ss, bool v6)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0) |
			 (w->tls ? MHD_USE_TLS : 0);
	struct MHD_OptionItem tls[] = {
		{ w->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, w->cert_pem },
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, w->key_pem },
		{ MHD_OPTION_END, 0, NULL },
	};
	sigset_t mask;

	/* The daemon's listening thread, and the per-connection threads it
	 * starts, inherit this mask: Ctrl-C stays with the main thread. */
	cs_signals_hold(&mask);
	w->starting = true;
	struct MHD_Daemon *d = MHD_start_daemon(
		flags, port, admit, w, handle, w,
		MHD_OPTION_EXTERNAL_LOGGER, daemon_log, w,	/* first: it says so */
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)ss,
		MHD_OPTION_CONNECTION_LIMIT, w->lim.connections,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_SEC,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)REQUEST_MEMORY,
		MHD_OPTION_URI_LOG_CALLBACK, judge_uri, NULL,
		MHD_OPTION_NOTIFY_CONNECTION, on_connection, w,
		MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
		MHD_OPTION_ARRAY, tls,
		MHD_OPTION_END);
	w->starting = false;
	cs_signals_release(&mask);
	return d;
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
	pthread_cond_init(&w->render_free, NULL);
	if (configure(w, o) != 0) {
		snprintf(err, errlen, "cannot serve on '%s': out of memory or threads",
			 o->addr);
		goto fail;
	}
	if (load_tls(w, o, err, errlen) != 0)
		goto fail;
	/* Replies of a few hundred KiB are made and freed by many threads:
	 * with glibc's threshold fixed (not raised by each free), they are
	 * mapped and unmapped rather than kept in per-thread arenas. */
	mallopt(M_MMAP_THRESHOLD, MMAP_FROM_BYTES);
	errno = 0;
	w->daemon = start_daemon(w, o->port, &ss, v6);
	if (!w->daemon) {
		snprintf(err, errlen, "cannot serve on %s%s%s:%u: %s", v6 ? "[" : "",
			 o->addr, v6 ? "]" : "", o->port, w->start_msg[0] ? w->start_msg
			 : errno ? strerror(errno) : "in use, or not an address of this host?");
		goto fail;
	}
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_BIND_PORT);
	w->port = info ? info->port : o->port;
	*out = w;
	return 0;
fail:
	release(w);
	return -1;
}

uint16_t cs_web_port(const struct cs_web *w)
{
	return w->port;
}

bool cs_web_tls(const struct cs_web *w)
{
	return w->tls;
}

void cs_web_stop(struct cs_web *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->mu);
	w->stopping = true;
	pthread_cond_broadcast(&w->changed);
	pthread_cond_broadcast(&w->render_free);
	pthread_mutex_unlock(&w->mu);
	MHD_stop_daemon(w->daemon);
	release(w);	/* the guard after the daemon: every connection is closed */
}
