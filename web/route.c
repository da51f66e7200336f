/*
 * route.c — method, length, path and token checks; API dispatch.
 */
#include "web/route.h"

#include <string.h>
#include <strings.h>

/* Compares without an early exit, so timing says nothing about the token. */
static bool same_secret(const char *given, const char *token)
{
	size_t n = strlen(token), m = given ? strlen(given) : 0;
	unsigned char diff = (unsigned char)(n != m);

	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(token[i] ^ (i < m ? given[i] : 0));
	return diff == 0;
}

bool cs_route_authorized(const char *token, const char *authorization,
			 const char *query_token)
{
	if (!token)
		return true;
	/* the scheme name is case-insensitive (RFC 9110 11.1) */
	if (authorization && !strncasecmp(authorization, "Bearer ", 7) &&
	    same_secret(authorization + 7, token))
		return true;
	return query_token && same_secret(query_token, token);
}

enum cs_route cs_route_request(const struct cs_request *req, const char *token,
			       const struct cs_asset **asset)
{
	*asset = NULL;
	if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD"))
		return CS_ROUTE_BAD_METHOD;
	if (req->uri_too_long || strlen(req->path) > CS_WEB_URI_MAX)
		return CS_ROUTE_TOO_LONG;
	if (req->uri_has_nul)
		return CS_ROUTE_NUL;
	if (!strcmp(req->path, "/healthz"))
		return CS_ROUTE_HEALTHZ;
	/* The page and its script hold no data, and the browser fetches
	 * them without the ?token the user opened: they are public; the
	 * page then passes the token on to the API. */
	for (const struct cs_asset *a = cs_assets; a->path; a++) {
		if (!strcmp(req->path, a->path)) {
			*asset = a;
			return CS_ROUTE_ASSET;
		}
	}
	if (!cs_route_authorized(token, req->authorization,
				 req->query(req->query_ctx, "token")))
		return CS_ROUTE_UNAUTHORIZED;
	if (!strcmp(req->path, "/api/events"))
		return CS_ROUTE_EVENTS;
	return CS_ROUTE_API;
}

void cs_route_api_reply(const struct cs_snapshot *s, const struct cs_request *req,
			struct cs_reply *r)
{
	const char *path = req->path;
	char err[160];

	if (!strcmp(path, "/api/summary")) {
		cs_render_summary(s, r);
	} else if (!strcmp(path, "/api/alerts")) {
		cs_render_alerts(s, r);
	} else if (!strcmp(path, "/api/timeseries")) {
		cs_render_timeseries(s, r);
	} else if (!strcmp(path, "/metrics")) {
		cs_render_metrics(s, r);
	} else if (!strcmp(path, "/api/connections")) {
		struct cs_conn_filter f;
		if (cs_conn_filter_parse(&f, req->query, req->query_ctx, err,
					 sizeof err) != 0)
			cs_render_error(400, err, r);
		else
			cs_render_connections(s, &f, r);
	} else if (!strncmp(path, "/api/connections/", 17)) {
		uint64_t id;
		if (cs_parse_conn_id(path + 17, &id) != 0)
			cs_render_error(400, "connection id: a positive number", r);
		else
			cs_render_connection(s, id, r);
	} else {
		cs_render_error(404, "no such path", r);
	}
}
