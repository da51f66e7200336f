/*
 * route.h — what an HTTP request asks for, decided without the transport.
 *
 * The server hands over what it read (method, path, whether the raw URI
 * was too long or held %00, the Host, Origin and Authorization headers, the
 * address the connection reached, a way to look up query parameters); this
 * module decides which answer that is — an error, the health check, a page
 * asset, the event stream, or an API reply — and renders API replies from a
 * snapshot.
 *
 * DNS rebinding: a web page from evil.example whose name is made to
 * resolve to 127.0.0.1 has the browser send requests here with
 * "Host: evil.example", and the browser lets that page read the answers
 * (same origin, as far as it knows).  So a request is answered only when
 * its Host names this server: the listen address, the address the
 * connection reached, a loopback name or address, or a name the user gave
 * (--web-host).  A request without Host comes from no browser (HTTP/1.0
 * tools) and is answered.  A data request with an Origin must come from a
 * page of such a host too.  It never includes microhttpd.h and
 * keeps no state, so the same decisions are unit-tested and fuzzed
 * directly (tests/fuzz/fuzz_web.c) without a daemon.
 */
#ifndef CS_WEB_ROUTE_H
#define CS_WEB_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#include "analyzer/views/snapshot.h"
#include "web/assets.h"
#include "web/render.h"

/* Longest URI (path and query) served; a longer one is a 414. */
#define CS_WEB_URI_MAX 2048

enum cs_route {
	CS_ROUTE_BAD_METHOD,	/* 405: only GET and HEAD */
	CS_ROUTE_TOO_LONG,	/* 414 */
	CS_ROUTE_NUL,		/* 400: %00 in the URI */
	CS_ROUTE_MISDIRECTED,	/* 421: a Host that does not name this server */
	CS_ROUTE_BAD_ORIGIN,	/* 403: data asked for by a page of another host */
	CS_ROUTE_HEALTHZ,	/* /healthz: needs neither token nor data */
	CS_ROUTE_ASSET,		/* the page and its files: public */
	CS_ROUTE_UNAUTHORIZED,	/* 401: data without the token */
	CS_ROUTE_EVENTS,	/* /api/events: the Server-Sent Events stream */
	CS_ROUTE_EXPORT,	/* /api/connections.csv, .jsonl: streamed (export.h) */
	CS_ROUTE_API,		/* everything else: cs_route_api_reply */
};

struct cs_request {
	const char *method;
	const char *path;		/* without the query string */
	bool uri_too_long;		/* the whole URI is over CS_WEB_URI_MAX */
	/* %00 in the raw URI: decoded, a NUL would cut the path or a value
	 * short unseen ("refused%00x" would read as "refused") */
	bool uri_has_nul;
	const char *authorization;	/* the header's value, or NULL */
	const char *host;		/* the Host header, or NULL */
	const char *origin;		/* the Origin header, or NULL */
	const char *local_addr;		/* numeric address the client reached, or NULL */
	cs_query_fn query;		/* the query's parameters, decoded */
	void *query_ctx;
};

/* What the server was told: whom it answers, and the token. */
struct cs_route_policy {
	const char *token;		/* NULL: no token is needed */
	const char *listen_addr;	/* numeric, as --web gave it */
	const char *const *hosts;	/* --web-host: names or numeric addresses */
	size_t host_cnt;
};

/* Which answer a request gets; *asset is set for CS_ROUTE_ASSET. */
enum cs_route cs_route_request(const struct cs_request *req,
			       const struct cs_route_policy *p,
			       const struct cs_asset **asset);

/* True when a Host header's value ("name", "name:port", "a.b.c.d:port",
 * "[v6]:port") names this server under p; local_addr as in cs_request. */
bool cs_route_host_ok(const char *host, const char *local_addr,
		      const struct cs_route_policy *p);

/* True when an Origin ("scheme://host[:port]") is a page of such a host. */
bool cs_route_origin_ok(const char *origin, const char *local_addr,
			const struct cs_route_policy *p);

/* True for a name --web-host accepts: a DNS name (letters, digits, '-',
 * '.'; at most 253 bytes) or a numeric IPv4 or IPv6 address. */
bool cs_route_host_name_valid(const char *name);

/* The token, from "Authorization: Bearer TOKEN" or ?token=TOKEN, compared
 * in constant time. */
bool cs_route_authorized(const char *token, const char *authorization,
			 const char *query_token);

/* A CS_ROUTE_API request's reply (200, 400 or 404) from snapshot s. */
void cs_route_api_reply(const struct cs_snapshot *s, const struct cs_request *req,
			struct cs_reply *r);

#endif /* CS_WEB_ROUTE_H */
