/*
 * render.h — the web API's responses, rendered from a snapshot.
 *
 * Pure functions: a snapshot and the request's parsed parameters in, a
 * status code and a body out.  No socket, no microhttpd, no shared state,
 * so the request parsing and rendering are tested and fuzzed directly.
 * Query parameters are validated strictly: a value that is not exactly
 * what web/API.md allows is a 400 with a message, never a guess.
 */
#ifndef CS_WEB_RENDER_H
#define CS_WEB_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analyzer/views/snapshot.h"

struct cs_reply {
	int status;
	const char *content_type;
	char *body;		/* malloc'd; the caller frees */
	size_t len;
};

/* Looks up a query parameter by name (NULL if absent). */
typedef const char *(*cs_query_fn)(void *ctx, const char *key);

enum cs_sort_key { CS_SORT_TS, CS_SORT_DURATION, CS_SORT_BYTES, CS_SORT_PKTS };

struct cs_conn_filter {
	int outcome;		/* enum cs_outcome, or -1 */
	int state;		/* enum cs_tcp_state, or -1 */
	int conn_state;		/* enum cs_conn_state, or -1 */
	bool have_host;
	struct cs_addr host;
	uint32_t port;		/* 0: any */
	uint32_t limit, offset;
	enum cs_sort_key sort;
	bool descending;
};

#define CS_WEB_LIMIT_DEFAULT 50
#define CS_WEB_LIMIT_MAX 1000

/* Parses /api/connections' query; 0, or -1 with a message in err. */
int cs_conn_filter_parse(struct cs_conn_filter *f, cs_query_fn get, void *ctx,
			 char *err, size_t errlen);

/* "/api/connections/123" -> 123; -1 if the id is not a plain number. */
int cs_parse_conn_id(const char *s, uint64_t *id);

/* A reply's body is written to the stream cs_reply_open gives; close it
 * with the status and type (500 if memory ran out). */
FILE *cs_reply_open(struct cs_reply *r);
void cs_reply_close(FILE *f, struct cs_reply *r, int status, const char *ctype);

void cs_render_summary(const struct cs_snapshot *s, struct cs_reply *r);
void cs_render_alerts(const struct cs_snapshot *s, struct cs_reply *r);
void cs_render_alert(const struct cs_alert *al, struct cs_reply *r);
void cs_render_timeseries(const struct cs_snapshot *s, struct cs_reply *r);
void cs_render_metrics(const struct cs_snapshot *s, struct cs_reply *r);
void cs_render_error(int status, const char *message, struct cs_reply *r);

#endif /* CS_WEB_RENDER_H */
