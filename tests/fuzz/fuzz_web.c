/*
 * fuzz_web.c — HTTP requests through the web layer's parsing and replies.
 *
 * The input is a request as a client would write it:
 *
 *   METHOD TARGET            e.g. "GET /api/connections?state=TIME_WAIT&limit=5"
 *   Authorization: VALUE     optional
 *   Host: VALUE              optional, as Origin: VALUE
 *   X-Fuzz-Token: TOKEN      optional: the server was started with --web-token
 *
 * The target is split and %-decoded as libmicrohttpd does (path, then
 * name=value pairs with '+' as a space), then goes through what the
 * server does without a daemon: route.c (method, length, Host, path,
 * Origin, token; the server listens on 127.0.0.1, was reached at 10.0.0.5
 * and was given --web-host dash.example and 192.0.2.10) and,
 * for the API, the query's filters, paging, sort and connection id, and
 * the reply rendered from a small snapshot built once (completed, refused,
 * IPv6 and time-out connections, a port reuse alert).  The --web,
 * --web-host and --web-token checks get the target too.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "analyzer/reports/report.h"
#include "tests/fuzz/fuzz.h"
#include "tests/pktbuild.h"
#include "web/export.h"
#include "web/route.h"
#include "web/server.h"

#define REQUEST_MAX 8192	/* the server's request memory is 32 KiB */
#define QUERY_PARAMS_MAX 64

/* ---- the snapshot ----------------------------------------------------------- */

#define T0 1700000000000000ull

static struct cs_engine engine;
static struct cs_snapshot *snapshot;

static void feed(int ipv, const char *from, const char *to, uint16_t sport,
		 uint16_t dport, uint16_t flags, uint32_t seq, uint32_t ack,
		 size_t len, uint64_t ts)
{
	struct pb_spec s;
	uint8_t frame[2048];

	pb_spec_init(&s, ipv);
	pb_addr(s.src, from);
	pb_addr(s.dst, to);
	s.tcp.sport = sport;
	s.tcp.dport = dport;
	s.tcp.flags = flags;
	s.tcp.seq = seq;
	s.tcp.ack = ack;
	s.payload_len = len;
	size_t n = pb_build(&s, frame, sizeof frame);
	if (n == 0)
		abort();
	struct cs_frame f = { .ts_us = ts, .caplen = (uint32_t)n,
			      .wirelen = (uint32_t)n, .dlt = CS_DLT_EN10MB,
			      .bytes = frame };
	cs_engine_frame(&engine, &f);
}

/* A connection to each part of the API: a closed one with a timeline, a
 * refused one, an unanswered SYN, an open IPv6 one, and a port reuse. */
static void feed_scenario(void)
{
	const char *c = "10.1.0.1", *s = "10.2.0.2";
	const char *c6 = "2001:db8::10", *s6 = "2001:db8::20";

	feed(4, c, s, 41001, 81, SYN, 100, 0, 0, T0);
	feed(4, s, c, 81, 41001, RSTACK, 0, 101, 0, T0 + 200);

	feed(4, c, s, 41003, 80, SYN, 3000, 0, 0, T0 + SEC);
	feed(4, s, c, 80, 41003, SYNACK, 7000, 3001, 0, T0 + SEC + 100);
	feed(4, c, s, 41003, 80, ACK, 3001, 7001, 0, T0 + SEC + 200);
	feed(4, c, s, 41003, 80, DATA, 3001, 7001, 20, T0 + SEC + 300);
	feed(4, s, c, 80, 41003, DATA, 7001, 3021, 200, T0 + SEC + 400);
	feed(4, c, s, 41003, 80, FINACK, 3021, 7201, 0, T0 + SEC + 500);
	feed(4, s, c, 80, 41003, FINACK, 7201, 3022, 0, T0 + SEC + 600);
	feed(4, c, s, 41003, 80, ACK, 3022, 7202, 0, T0 + SEC + 700);

	feed(4, c, "10.2.0.3", 41004, 80, SYN, 4000, 0, 0, T0 + 2 * SEC);
	feed(4, c, "10.2.0.3", 41004, 80, SYN, 4000, 0, 0, T0 + 3 * SEC);

	feed(6, c6, s6, 41006, 443, SYN, 6000, 0, 0, T0 + 4 * SEC);
	feed(6, s6, c6, 443, 41006, SYNACK, 16000, 6001, 0, T0 + 4 * SEC + 100);
	feed(6, c6, s6, 41006, 443, DATA, 6001, 16001, 50, T0 + 4 * SEC + 200);

	/* the closed connection's 4-tuple again, within 2*MSL, and sent again
	 * 1 s later: a reuse that stalled, so a port_reuse alert */
	feed(4, c, s, 41003, 80, SYN, 33000, 0, 0, T0 + 5 * SEC);
	feed(4, c, s, 41003, 80, SYN, 33000, 0, 0, T0 + 6 * SEC);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const char *const names[] = { "fuzz.pcap" };
	struct cs_report_source src = { .names = names, .name_cnt = 1 };
	struct cs_engine_opts o;
	char err[256];

	(void)argc;
	(void)argv;
	fuzz_engine_opts(&o);
	o.keep_recent = true;
	if (cs_engine_init(&engine, &o, err, sizeof err) != 0)
		abort();
	feed_scenario();
	cs_report_source_add(&src, CS_DLT_EN10MB, 262144);
	cs_engine_refresh(&engine);
	snapshot = cs_snapshot_build(&engine, &src, 1, false, false);
	if (!snapshot || snapshot->conn_cnt < 5 || snapshot->alert_cnt < 1) {
		fprintf(stderr, "fuzz: the web target's snapshot is not what it "
			"should be\n");
		abort();
	}
	/* the snapshot holds copies: names[] and the engine may go */
	return 0;
}

/* ---- the request -------------------------------------------------------------- */

struct param {
	const char *name, *value;
};

struct request {
	char buf[REQUEST_MAX + 1];
	const char *method, *target, *authorization, *token, *host, *origin;
	char path[REQUEST_MAX + 1];
	char query[REQUEST_MAX + 1];
	struct param params[QUERY_PARAMS_MAX];
	int param_cnt;
};

/* The whole export, read in small pieces: it must end (sanitizers watch
 * every byte it writes). */
static void fuzz_export(const struct cs_snapshot *s, const struct cs_request *req)
{
	struct cs_conn_filter f;
	enum cs_export_format fmt;
	char err[160], buf[100];

	if (cs_export_format_of(req->path, &fmt) != 0 ||
	    cs_conn_filter_parse(&f, req->query, req->query_ctx, err, sizeof err) != 0)
		return;
	struct cs_export *x = cs_export_create(s, &f, fmt);
	if (!x)
		return;
	for (int i = 0; i < 1000000 && cs_export_read(x, buf, sizeof buf) > 0; i++)
		;
	cs_export_destroy(x);
}

static int hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* %XX in place, as libmicrohttpd's MHD_http_unescape (a bad escape is
 * kept as it is); with plus, '+' is a space (query strings only). */
static void unescape(char *s, bool plus)
{
	char *out = s;

	for (; *s; s++) {
		int hi, lo;
		if (*s == '%' && (hi = hex(s[1])) >= 0 && (lo = hex(s[2])) >= 0) {
			*out++ = (char)(hi << 4 | lo);
			s += 2;
		} else {
			*out++ = plus && *s == '+' ? ' ' : *s;
		}
	}
	*out = '\0';
}

/* "a=1&b=2" into params, decoded; a name without '=' has value "". */
static void split_query(struct request *rq)
{
	char *p = rq->query;

	while (*p && rq->param_cnt < QUERY_PARAMS_MAX) {
		char *amp = strchr(p, '&');
		if (amp)
			*amp = '\0';
		char *eq = strchr(p, '=');
		if (eq)
			*eq = '\0';
		unescape(p, true);
		if (eq)
			unescape(eq + 1, true);
		rq->params[rq->param_cnt++] = (struct param){ p, eq ? eq + 1 : "" };
		if (!amp)
			break;
		p = amp + 1;
	}
}

/* The first match, as MHD_lookup_connection_value gives. */
static const char *query_get(void *ctx, const char *key)
{
	const struct request *rq = ctx;

	for (int i = 0; i < rq->param_cnt; i++)
		if (!strcmp(rq->params[i].name, key))
			return rq->params[i].value;
	return NULL;
}

static void header(struct request *rq, char *line)
{
	char *colon = strchr(line, ':');

	if (!colon)
		return;
	*colon = '\0';
	char *value = colon + 1;
	while (*value == ' ' || *value == '\t')
		value++;
	if (!strcasecmp(line, "Authorization"))
		rq->authorization = value;
	else if (!strcasecmp(line, "Host"))
		rq->host = value;
	else if (!strcasecmp(line, "Origin"))
		rq->origin = value;
	else if (!strcasecmp(line, "X-Fuzz-Token") && *value)
		rq->token = value;
}

static void parse(struct request *rq, const uint8_t *data, size_t size)
{
	memcpy(rq->buf, data, size);
	rq->buf[size] = '\0';

	char *line = rq->buf, *next = strchr(line, '\n');
	if (next)
		*next++ = '\0';
	char *sp = strchr(line, ' ');
	rq->method = line;
	rq->target = sp ? sp + 1 : "";
	if (sp)
		*sp = '\0';
	for (line = next; line; line = next) {
		if ((next = strchr(line, '\n')))
			*next++ = '\0';
		header(rq, line);
	}
	snprintf(rq->path, sizeof rq->path, "%s", rq->target);
	char *q = strchr(rq->path, '?');
	if (q) {
		*q = '\0';
		snprintf(rq->query, sizeof rq->query, "%s", q + 1);
	}
	unescape(rq->path, false);
	split_query(rq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct request rq;	/* 24 KiB: kept off the stack */
	struct cs_web_opts listen = { .addr = "" };
	const struct cs_asset *asset;
	struct cs_reply r;
	char err[256];

	if (size > REQUEST_MAX)
		return 0;
	memset(&rq, 0, sizeof rq);
	parse(&rq, data, size);
	(void)cs_web_parse_listen(rq.target, &listen, err, sizeof err);
	(void)cs_web_add_host(&listen, rq.target, err, sizeof err);
	(void)cs_web_check_token(rq.target, "--web-token", err, sizeof err);
	static const char *const hosts[] = { "dash.example", "192.0.2.10" };
	struct cs_route_policy policy = { .token = rq.token, .listen_addr = "127.0.0.1",
					  .hosts = hosts, .host_cnt = 2 };

	struct cs_request req = {
		.method = rq.method,
		.path = rq.path,
		.uri_too_long = strlen(rq.target) > CS_WEB_URI_MAX,
		.uri_has_nul = strstr(rq.target, "%00") != NULL,
		.authorization = rq.authorization,
		.host = rq.host,
		.origin = rq.origin,
		.local_addr = "10.0.0.5",
		.query = query_get,
		.query_ctx = &rq,
	};
	switch (cs_route_request(&req, &policy, &asset)) {
	case CS_ROUTE_ASSET:
		if (!asset || !asset->data || !asset->len)
			abort();
		break;
	case CS_ROUTE_EVENTS:	/* what the stream sends first */
		cs_render_summary(snapshot, &r);
		fuzz_check_reply(&r);
		break;
	case CS_ROUTE_API:
		cs_route_api_reply(snapshot, &req, &r);
		fuzz_check_reply(&r);
		break;
	case CS_ROUTE_EXPORT:
		fuzz_export(snapshot, &req);
		break;
	case CS_ROUTE_BAD_METHOD:
	case CS_ROUTE_TOO_LONG:
	case CS_ROUTE_NUL:
	case CS_ROUTE_MISDIRECTED:
	case CS_ROUTE_BAD_ORIGIN:
	case CS_ROUTE_HEALTHZ:
	case CS_ROUTE_UNAUTHORIZED:
		break;		/* fixed answers */
	}
	return 0;
}
