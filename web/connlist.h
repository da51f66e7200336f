/*
 * connlist.h — /api/connections: filter, sort and page the whole set.
 *
 * For a capture file the set is every connection: the store's compact
 * records (analyzer/views/store.h, in memory and a spill file), and, while
 * the file is still being read, the open connections the snapshot copied.
 * For a live capture it is the snapshot's window of open and recently
 * finished connections, and each reply says how much of the whole that is.
 *
 * A page is found without holding the matches in memory: one scan counts
 * them and finds the smallest and largest sort key, further scans narrow a
 * range of keys around the page's first rank by histogram until few enough
 * remain, and a last scan keeps the page's records in a bounded heap.  So a
 * query costs a few sequential scans of the set and a fixed amount of
 * memory, whatever the number of connections or the offset.
 */
#ifndef CS_WEB_CONNLIST_H
#define CS_WEB_CONNLIST_H

#include <stdbool.h>
#include <stdint.h>

#include "analyzer/views/snapshot.h"
#include "analyzer/views/store.h"
#include "web/render.h"

/* Whether r passes f's filters (not its paging). */
bool cs_connlist_match(const struct cs_conn_rec *r, const struct cs_conn_filter *f);

/* Whether the snapshot's copy sc is in the set (for a file, the store
 * holds the finished ones, and in the last view the open ones too). */
bool cs_connlist_copy_in_set(const struct cs_snapshot *s, const struct cs_snap_conn *sc);

/* Calls fn on each connection of the set that f matches, in store order
 * (the snapshot's copies first); stops when fn returns false.  -1 if the
 * spill file cannot be read. */
typedef bool (*cs_connlist_fn)(void *ctx, const struct cs_conn_rec *r);
int cs_connlist_each(const struct cs_snapshot *s, const struct cs_conn_filter *f,
		     cs_connlist_fn fn, void *ctx);

/* The page f asks for (f->offset, f->limit, f->sort) into out (room for
 * f->limit records), in the order asked; *total: all matches.  Returns the
 * number of records in out, or -1 (out of memory, unreadable file). */
long cs_connlist_page(const struct cs_snapshot *s, const struct cs_conn_filter *f,
		      struct cs_conn_rec *out, uint64_t *total);

/* The full copy of a connection, if the snapshot holds one (open and
 * recently finished connections); NULL otherwise. */
const struct cs_snap_conn *cs_connlist_full(const struct cs_snapshot *s, uint64_t id);

/* A compact record's fields, under the same names as the full object's;
 * the fields it does not keep are left out (web/API.md). */
void cs_connlist_rec_fields(struct cs_json *j, const struct cs_conn_rec *r);

void cs_render_connections(const struct cs_snapshot *s,
			   const struct cs_conn_filter *f, struct cs_reply *r);
void cs_render_connection(const struct cs_snapshot *s, uint64_t id,
			  struct cs_reply *r);

#endif /* CS_WEB_CONNLIST_H */
