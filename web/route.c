/*
 * route.c — method, length, host, path, origin and token checks; API
 * dispatch.
 */
#include "web/route.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "web/connlist.h"
#include "web/export.h"
#include "web/top.h"

#define HOST_TEXT_MAX 253	/* a DNS name's longest text form */
#define PORT_DIGITS_MAX 5

/* ---- the Host and Origin headers (DNS rebinding, route.h) ------------------ */

/* An address read from text; family 0 when the text is not one. */
struct addr {
	int family;
	uint8_t b[16];
};

static struct addr addr_of(const char *s)
{
	struct addr a = { 0, { 0 } };

	if (s && inet_pton(AF_INET, s, a.b) == 1)
		a.family = AF_INET;
	else if (s && inet_pton(AF_INET6, s, a.b) == 1)
		a.family = AF_INET6;
	return a;
}

static bool addr_same(const struct addr *a, const struct addr *b)
{
	return a->family && a->family == b->family &&
	       !memcmp(a->b, b->b, a->family == AF_INET ? 4 : 16);
}

/* 127.0.0.0/8 and ::1: this host, whatever name led here. */
static bool addr_loopback(const struct addr *a)
{
	static const uint8_t one6[16] = { [15] = 1 };

	if (a->family == AF_INET)
		return a->b[0] == 127;
	return a->family == AF_INET6 && !memcmp(a->b, one6, 16);
}

/* 0.0.0.0 and ::, a wildcard to listen on, name no server. */
static bool addr_unspecified(const struct addr *a)
{
	static const uint8_t zero[16];

	return a->family && !memcmp(a->b, zero, a->family == AF_INET ? 4 : 16);
}

static bool name_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= HOST_TEXT_MAX &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789-.") == n;
}

bool cs_route_host_name_valid(const char *name)
{
	return addr_of(name).family || name_valid(name);
}

/* DNS names compare without case, and "name." is "name" (RFC 1034 3.1). */
static bool same_name(const char *a, const char *b)
{
	size_t n = strlen(a), m = strlen(b);

	if (n && a[n - 1] == '.')
		n--;
	if (m && b[m - 1] == '.')
		m--;
	return n && n == m && !strncasecmp(a, b, n);
}

/* "name:port" or "[v6]:port" to the name or address alone; the port, if
 * any, must be digits.  false when malformed. */
static bool host_part(const char *h, char *out, size_t outlen, bool *bracketed)
{
	const char *end, *port;

	*bracketed = h[0] == '[';
	if (*bracketed) {
		h++;
		end = strchr(h, ']');
		if (!end)
			return false;
		port = end + 1;
	} else {
		end = h + strcspn(h, ":");
		port = end;
	}
	if (*port == ':') {
		size_t digits = strspn(++port, "0123456789");
		if (!digits || digits > PORT_DIGITS_MAX || port[digits])
			return false;
	} else if (*port) {
		return false;
	}
	size_t n = (size_t)(end - h);
	if (!n || n >= outlen)
		return false;
	memcpy(out, h, n);
	out[n] = '\0';
	return true;
}

/* An address names this server when it is loopback, the address listened
 * on or reached, or one the user gave. */
static bool address_ok(const struct addr *a, const char *local_addr,
		       const struct cs_route_policy *p)
{
	struct addr listen = addr_of(p->listen_addr), local = addr_of(local_addr);

	if (addr_loopback(a) || addr_same(a, &local) ||
	    (addr_same(a, &listen) && !addr_unspecified(&listen)))
		return true;
	for (size_t i = 0; i < p->host_cnt; i++) {
		struct addr h = addr_of(p->hosts[i]);
		if (addr_same(a, &h))
			return true;
	}
	return false;
}

bool cs_route_host_ok(const char *host, const char *local_addr,
		      const struct cs_route_policy *p)
{
	char part[HOST_TEXT_MAX + 1];
	bool bracketed;

	if (!host_part(host, part, sizeof part, &bracketed))
		return false;
	struct addr a = addr_of(part);
	if (bracketed || a.family)	/* "[v6]" must be IPv6, IPv4 bare */
		return (a.family == AF_INET6) == bracketed &&
		       address_ok(&a, local_addr, p);
	if (!name_valid(part))
		return false;
	if (same_name(part, "localhost"))
		return true;
	for (size_t i = 0; i < p->host_cnt; i++)
		if (same_name(part, p->hosts[i]))
			return true;
	return false;
}

bool cs_route_origin_ok(const char *origin, const char *local_addr,
			const struct cs_route_policy *p)
{
	const char *sep = strstr(origin, "://");	/* "null" has none */
	size_t scheme = sep ? (size_t)(sep - origin) : 0;

	if (!((scheme == 4 && !strncasecmp(origin, "http", 4)) ||
	      (scheme == 5 && !strncasecmp(origin, "https", 5))))
		return false;
	return !strchr(sep + 3, '/') && cs_route_host_ok(sep + 3, local_addr, p);
}

/* ---- the token ------------------------------------------------------------- */

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

enum cs_route cs_route_request(const struct cs_request *req,
			       const struct cs_route_policy *p,
			       const struct cs_asset **asset)
{
	*asset = NULL;
	if (strcmp(req->method, "GET") && strcmp(req->method, "HEAD"))
		return CS_ROUTE_BAD_METHOD;
	if (req->uri_too_long || strlen(req->path) > CS_WEB_URI_MAX)
		return CS_ROUTE_TOO_LONG;
	if (req->uri_has_nul)
		return CS_ROUTE_NUL;
	if (req->host && !cs_route_host_ok(req->host, req->local_addr, p))
		return CS_ROUTE_MISDIRECTED;
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
	/* Before the token: a page elsewhere must not make its visitors'
	 * browsers guess it. */
	if (req->origin && !cs_route_origin_ok(req->origin, req->local_addr, p))
		return CS_ROUTE_BAD_ORIGIN;
	if (!cs_route_authorized(p->token, req->authorization,
				 req->query(req->query_ctx, "token")))
		return CS_ROUTE_UNAUTHORIZED;
	if (!strcmp(req->path, "/api/events"))
		return CS_ROUTE_EVENTS;
	enum cs_export_format fmt;
	if (cs_export_format_of(req->path, &fmt) == 0)
		return CS_ROUTE_EXPORT;
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
	} else if (!strcmp(path, "/api/top")) {
		cs_render_top(s, r);
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
