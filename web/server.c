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
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "web/assets.h"
#include "web/render.h"
#include "web/route.h"

/* Limits: generous for a dashboard, small for an attacker. */
#define CONNECTION_LIMIT 512
#define PER_IP_LIMIT 300		/* a load test from one address fits */
#define IDLE_TIMEOUT_SEC 30
#define REQUEST_MEMORY (32 * 1024)	/* request line + headers + state */
#define HEARTBEAT_SEC 10

struct cs_web {
	struct MHD_Daemon *daemon;
	pthread_mutex_t mu;
	pthread_cond_t changed;
	struct cs_snapshot *snap;	/* current; guarded by mu */
	uint64_t seq;
	bool stopping;
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
		struct timespec until;
		struct cs_snapshot *s = NULL;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += HEARTBEAT_SEC;
		pthread_mutex_lock(&w->mu);
		while (!w->stopping && w->seq == st->seq_sent &&
		       pthread_cond_timedwait(&w->changed, &w->mu, &until) == 0)
			;
		if (w->stopping) {
			pthread_mutex_unlock(&w->mu);
			return MHD_CONTENT_READER_END_OF_STREAM;
		}
		if (w->seq != st->seq_sent && w->snap) {
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
	struct sse *st = calloc(1, sizeof *st);

	if (!st)
		return send_error(c, 500, "out of memory");
	st->w = w;
	struct MHD_Response *resp = MHD_create_response_from_callback(
		MHD_SIZE_UNKNOWN, 4096, sse_read, st, sse_free);
	if (!resp) {
		free(st);
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
 * A request's stages, kept in its req_cls.  The handler sees the path
 * without the query string, so the whole URI's length is judged where
 * libmicrohttpd shows it: the URI log callback, which runs first.
 */
static int uri_ok, uri_too_long, answer_now, answer_too_long;

static void *judge_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	(void)cls;
	(void)c;
	return strlen(uri) > CS_WEB_URI_MAX ? &uri_too_long : &uri_ok;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c,
			      const char *url, const char *method,
			      const char *version, const char *upload_data,
			      size_t *upload_data_size, void **req_cls)
{
	struct cs_web *w = cls;
	bool too_long = *req_cls == &uri_too_long || *req_cls == &answer_too_long;

	(void)version;
	(void)upload_data;
	if (*req_cls != &answer_now && *req_cls != &answer_too_long) {
		/* headers only: answer on the next call */
		*req_cls = too_long ? &answer_too_long : &answer_now;
		return MHD_YES;
	}
	if (*upload_data_size) {	/* a body we did not ask for */
		*upload_data_size = 0;
		return MHD_YES;
	}
	struct cs_request req = {
		.method = method,
		.path = url,
		.uri_too_long = too_long,
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
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
	w->daemon = MHD_start_daemon(
		flags, o->port, NULL, NULL, handle, w,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)CONNECTION_LIMIT,
		MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)PER_IP_LIMIT,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_SEC,
		MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)REQUEST_MEMORY,
		MHD_OPTION_EXTERNAL_LOGGER, quiet_log, NULL,
		MHD_OPTION_URI_LOG_CALLBACK, judge_uri, NULL,
		MHD_OPTION_END);
	if (!w->daemon) {
		snprintf(err, errlen, "cannot serve on %s%s%s:%u: %s (in use, or "
			 "not an address of this host?)", v6 ? "[" : "", o->addr,
			 v6 ? "]" : "", o->port, strerror(errno ? errno : EADDRINUSE));
		pthread_cond_destroy(&w->changed);
		pthread_mutex_destroy(&w->mu);
		free(w->token);
		free(w);
		return -1;
	}
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(w->daemon, MHD_DAEMON_INFO_BIND_PORT);
	w->port = info ? info->port : o->port;
	*out = w;
	return 0;
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
	cs_snapshot_unref(w->snap);
	pthread_cond_destroy(&w->changed);
	pthread_mutex_destroy(&w->mu);
	free(w->token);
	free(w);
}
