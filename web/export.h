/*
 * export.h — the filtered connection table as CSV or JSON Lines, streamed.
 *
 * /api/connections.csv and /api/connections.jsonl take the filters of
 * /api/connections and answer every match, in the order the set keeps
 * them (the order connections finished, the open ones of the last view
 * at the end), without sorting or paging.  A capture may hold ten million
 * connections, so the answer is made a block at a time as the client reads
 * it: an export holds a reference to its snapshot and a position in its
 * set, and never the whole answer.  No microhttpd here: web/server.c asks
 * for the next bytes.
 */
#ifndef CS_WEB_EXPORT_H
#define CS_WEB_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "analyzer/views/snapshot.h"
#include "web/render.h"

enum cs_export_format { CS_EXPORT_CSV, CS_EXPORT_JSONL };

struct cs_export;

/* The format a path asks for: 0 and *fmt set, or -1 for another path. */
int cs_export_format_of(const char *path, enum cs_export_format *fmt);

/* An export of s's set under f (its sort, limit and offset are not used);
 * takes its own reference to s.  NULL if memory runs out. */
struct cs_export *cs_export_create(const struct cs_snapshot *s,
				   const struct cs_conn_filter *f,
				   enum cs_export_format fmt);
void cs_export_destroy(struct cs_export *x);

/* The next bytes, at most max: their number, 0 at the end, -1 if the
 * spill file cannot be read. */
ssize_t cs_export_read(struct cs_export *x, char *buf, size_t max);

const char *cs_export_content_type(enum cs_export_format fmt);
const char *cs_export_file_name(enum cs_export_format fmt);

#endif /* CS_WEB_EXPORT_H */
