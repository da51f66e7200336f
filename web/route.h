/*
 * route.h — what an HTTP request asks for, decided without the transport.
 *
 * The server hands over what it read (method, path, whether the raw URI
 * was too long or held %00, the Authorization header, a way to look up
 * query parameters); this module decides which answer that is — an error, the
 * health check, a page asset, the event stream, or an API reply — and
 * renders API replies from a snapshot.  It never includes microhttpd.h and
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
	CS_ROUTE_HEALTHZ,	/* /healthz: needs neither token nor data */
	CS_ROUTE_ASSET,		/* the page and its files: public */
	CS_ROUTE_UNAUTHORIZED,	/* 401: data without the token */
	CS_ROUTE_EVENTS,	/* /api/events: the Server-Sent Events stream */
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
	cs_query_fn query;		/* the query's parameters, decoded */
	void *query_ctx;
};

/* Which answer a request gets; *asset is set for CS_ROUTE_ASSET.
 * token NULL: no token is needed. */
enum cs_route cs_route_request(const struct cs_request *req, const char *token,
			       const struct cs_asset **asset);

/* The token, from "Authorization: Bearer TOKEN" or ?token=TOKEN, compared
 * in constant time. */
bool cs_route_authorized(const char *token, const char *authorization,
			 const char *query_token);

/* A CS_ROUTE_API request's reply (200, 400 or 404) from snapshot s. */
void cs_route_api_reply(const struct cs_snapshot *s, const struct cs_request *req,
			struct cs_reply *r);

#endif /* CS_WEB_ROUTE_H */
