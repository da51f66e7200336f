/*
 * snapshot.h — an immutable copy of what the dashboard shows.
 *
 * The capture thread owns the engine and never shares it: a few times a
 * second it copies what readers need (counters, alerts, the per-second
 * series, a bounded set of open and recently finished connections with
 * their timelines) into a snapshot, and hands it over.  Readers (web
 * handlers, in their own threads) hold a reference while they render and
 * drop it after; the last reference frees it.  Nothing in a snapshot
 * points into the engine.
 */
#ifndef CS_ANALYZER_SNAPSHOT_H
#define CS_ANALYZER_SNAPSHOT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "analyzer/engine.h"
#include "analyzer/views/recent.h"
#include "analyzer/reports/report.h"
#include "analyzer/reports/summary.h"

#define CS_SNAP_OPEN_CONNS 2000
#define CS_SNAP_DONE_CONNS 2000
#define CS_SNAP_FAILING_SERVERS 20

struct cs_snap_conn {
	struct cs_conn c;
	struct cs_verdict v;
	bool open;
};

struct cs_snapshot {
	atomic_int refs;
	uint64_t seq;
	uint64_t ts_us;			/* packet time of the snapshot */
	bool live, finished;
	struct cs_report_source src;
	struct cs_summary summary;	/* the figures, as the report has them */

	uint64_t outcomes[CS_OUT_MAX];		/* finished and open */
	/* The finished ones only: an open connection's outcome is
	 * provisional (an attempt becomes a timeout), so a counter of them
	 * would go down; /metrics counts these and gauges the open ones. */
	uint64_t finished_outcomes[CS_OUT_MAX];
	uint64_t conn_states[CS_CS_MAX];
	uint64_t states[2][CS_TCP_STATE_MAX];	/* endpoints of open connections */
	/* The servers with the most failed connections among the finished
	 * ones (connstats.h): counts that only grow, for /metrics. */
	struct cs_server_count failing_servers[CS_SNAP_FAILING_SERVERS];
	int failing_server_cnt;

	struct cs_alert *alerts;
	uint32_t alert_cnt;
	uint64_t alerts_by_type[CS_ALERT_TYPE_MAX];

	char *verdicts;			/* the sentences, one per line */

	struct cs_host *host;		/* the host view; host->on false for files */

	uint64_t series_start;		/* second of series[0] */
	uint32_t series_interval;	/* seconds a bucket covers (max of them) */
	uint32_t series_len;
	uint32_t (*series)[CS_SER_MAX];

	struct cs_snap_conn *conns;	/* open first (most recent first), then finished */
	uint32_t conn_cnt;
	uint64_t open_total;		/* open connections, all of them */
	uint64_t finished_total;	/* finished connections, all of them */

	/* A capture file: every finished connection (and, in the last view,
	 * the open ones), records [0, all_cnt) of the store; NULL for a live
	 * capture, whose set is conns alone (store.h) */
	struct cs_store *all;
	uint64_t all_cnt;
	uint64_t all_lost;		/* not kept: memory or the file failed */
	bool all_has_open;		/* the last view: open ones are in it */

	struct cs_event *events;	/* oldest first */
	uint32_t event_cnt;
	uint64_t oldest_event_us;	/* events before this were dropped */
};

/* Builds a snapshot with one reference; NULL if memory runs out.  The
 * engine keeps what a snapshot needs with opt.keep_recent (engine.h); call
 * cs_engine_refresh first. */
struct cs_snapshot *cs_snapshot_build(const struct cs_engine *e,
				      const struct cs_report_source *src,
				      uint64_t seq, bool live, bool finished);

struct cs_snapshot *cs_snapshot_ref(struct cs_snapshot *s);
void cs_snapshot_unref(struct cs_snapshot *s);

#endif /* CS_ANALYZER_SNAPSHOT_H */
