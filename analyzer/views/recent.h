/*
 * recent.h — what the dashboard shows that reports do not need.
 *
 * Kept only when the web view is on, all in fixed-size rings: per-second
 * counts of packet time (SYN, SYN-ACK, RST, FIN, new, established, and the
 * endpoints in TIME_WAIT and CLOSE_WAIT), the timeline of the segments
 * that set a flag or moved a state, and copies of the connections that
 * finished most recently.  The capture thread writes; snapshots copy.
 */
#ifndef CS_ANALYZER_RECENT_H
#define CS_ANALYZER_RECENT_H

#include <stdbool.h>
#include <stdint.h>

#include "analyzer/tracking/conn.h"
#include "analyzer/reports/export.h"
#include "analyzer/views/store.h"

enum cs_series_kind {
	CS_SER_SYN, CS_SER_SYNACK, CS_SER_RST, CS_SER_FIN, CS_SER_NEW,
	CS_SER_ESTABLISHED, CS_SER_TIME_WAIT, CS_SER_CLOSE_WAIT, CS_SER_MAX
};
extern const char *const cs_series_names[CS_SER_MAX];

#define CS_SERIES_SECONDS 600
#define CS_EVENTS_MAX 65536
#define CS_RECENT_CONNS 5000

/* One segment of a connection's timeline. */
struct cs_event {
	uint64_t conn_id;
	uint64_t ts_us;
	uint32_t seq, ack, len;
	uint16_t flags;
	uint8_t from;			/* record side that sent it */
	uint8_t state[2];		/* both endpoints after it */
};

struct cs_finished {
	struct cs_conn c;
	struct cs_verdict v;
};

struct cs_recent {
	/* per-second series: slot = second % CS_SERIES_SECONDS */
	uint64_t first_sec, last_sec;
	bool have_sec;
	uint32_t series[CS_SERIES_SECONDS][CS_SER_MAX];
	/* timeline ring */
	struct cs_event *events;
	uint64_t events_written;
	/* A capture file's series over its whole length (grow): up to
	 * CS_SERIES_SECONDS buckets of grow_interval seconds from
	 * grow_start; when the capture outgrows them, pairs merge and the
	 * interval doubles.  A bucket keeps each figure's largest value of
	 * one second, so a one-second spike stays visible. */
	bool grow;
	uint64_t grow_start;
	uint32_t grow_interval;
	uint32_t (*grown)[CS_SER_MAX];
	/* finished connections ring */
	struct cs_finished *done;
	uint64_t done_written;
	/* every finished connection, compact (a capture file's dashboard
	 * reaches them all); NULL for a live capture, which shows a window */
	struct cs_store *all;
};

/* all_budget_bytes: memory for cs_recent.all before it spills to a file;
 * 0 for no such store (a live capture).  With a store, the series grow
 * to cover the whole capture too. */
int cs_recent_init(struct cs_recent *r, size_t all_budget_bytes);
void cs_recent_fini(struct cs_recent *r);

/* Moves the series to second `sec`.  The TIME_WAIT and CLOSE_WAIT gauges
 * of every second closed by the move (quiet ones included: nothing changed
 * in them) are the values given, the states as they stand now. */
void cs_recent_second(struct cs_recent *r, uint64_t sec, uint32_t time_wait,
		      uint32_t close_wait);
void cs_recent_count(struct cs_recent *r, enum cs_series_kind k);

/* Folds one second's values into its bucket of a grown series: each
 * figure keeps the larger.  For the snapshot's second in progress. */
void cs_recent_grow_fold(uint32_t (*buckets)[CS_SER_MAX], uint64_t start,
			 uint32_t interval, uint64_t sec, const uint32_t *vals);

/* A segment of c, after tracking: kept if it set SYN/FIN/RST or moved a
 * state since the last kept one. */
void cs_recent_segment(struct cs_recent *r, struct cs_conn *c, int side,
		       const struct cs_pkt *p);

void cs_recent_finished(struct cs_recent *r, const struct cs_conn *c,
			const struct cs_verdict *v);

#endif /* CS_ANALYZER_RECENT_H */
