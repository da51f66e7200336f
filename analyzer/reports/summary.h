/*
 * summary.h — the run's figures, defined once.
 *
 * struct cs_summary holds every figure of the JSON report's "summary"
 * object, and cs_summary_fields[] describes each one: its JSON name, its
 * kind, where it lives in the struct, and its Prometheus metric.  The JSON
 * report, /api/summary and /metrics all render from that table, so a figure
 * added there appears in all three with the same name and value (as
 * Suricata registers a counter once and every output prints it).
 *
 * A summary is filled from the engine on the capture thread: once at the
 * end for the report, and into every snapshot for the web layer, which
 * renders from the snapshot's copy and never sees the engine.  This module
 * owns no state and never writes to the engine.
 *
 * To add a figure: a member below, a line in cs_summary_fields[] (summary.c)
 * and its filling in cs_summary_fill(); web/API.md lists the API's fields.
 */
#ifndef CS_ANALYZER_SUMMARY_H
#define CS_ANALYZER_SUMMARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyzer/engine.h"
#include "analyzer/reports/json.h"
#include "analyzer/reports/report.h"

/* A figure that may not exist (no packet yet, drops not reported). */
struct cs_maybe_u64 {
	bool have;
	uint64_t v;
};

struct cs_summary {
	uint64_t packets, bytes, analysed, tcp_packets, icmp_errors;
	uint64_t icmp_unmatched;
	uint64_t truncated;		/* analysed packets cut by the snap length */
	struct cs_maybe_u64 first_ts_us, last_ts_us;
	uint64_t ts_backwards;
	uint64_t ts_invalid;		/* packets whose time is none (pkttime.h) */
	uint64_t connections;		/* finished + open */
	uint64_t open;
	uint64_t peak_open, max_flows;
	uint64_t evicted;		/* the sum of evictions[] */
	uint64_t evictions[CS_EVICT_MAX];	/* [CS_EVICT_NONE] stays 0 */
	uint64_t expired_early, port_reuse;
	uint64_t port_reuse_time_wait, port_reuse_clean, port_reuse_stalled;
	uint64_t data_segments, retransmitted;
	uint64_t out_of_window;		/* segments that changed nothing (tcp.h) */
	uint64_t rst_peak_per_sec;
	struct cs_maybe_u64 rst_peak_at_us;	/* the second it began */
	uint64_t alerts_dropped;
	uint64_t skipped[CS_SKIP_MAX];	/* [CS_SKIP_NONE] stays 0 */
	uint64_t datagrams_reassembled, datagrams_incomplete;
	struct cs_maybe_u64 capture_drops;	/* live, and the kernel said */
	uint64_t untracked[CS_UNTRACKED_MAX];	/* [CS_UNTRACKED_NONE] stays 0 */
	bool interrupted;		/* the report source's */
};

/* How a figure is written in JSON (and so in the metrics). */
enum cs_summary_kind {
	CS_SUM_U64,		/* a count */
	CS_SUM_MAYBE_U64,	/* a count, or null when not known */
	CS_SUM_MAYBE_USEC,	/* a packet time in seconds, or null */
	CS_SUM_COUNTS,		/* an object {name: count} over a names table */
	CS_SUM_BOOL,		/* true or false; a metric of 1 or 0 */
	CS_SUM_KIND_MAX
};

/*
 * Its metric.  An unknown count (MAYBE_U64) is written 0 (nothing known to
 * be dropped) and an unknown time is left out: 0 would be 1970.  SUM_OF is
 * a figure that is the sum of a labelled family written elsewhere (evicted
 * is the sum of connscope_evicted_total{reason}): Prometheus sums labels
 * itself, and one name cannot be both a sum and its parts.
 */
enum cs_metric_type {
	CS_METRIC_NONE,		/* not a metric */
	CS_METRIC_COUNTER,
	CS_METRIC_GAUGE,
	CS_METRIC_SUM_OF,
	CS_METRIC_TYPE_MAX
};

extern const char *const cs_metric_type_names[CS_METRIC_TYPE_MAX];

struct cs_summary_field {
	const char *name;		/* the JSON key, in the report and the API */
	enum cs_summary_kind kind;
	size_t offset;			/* of the value in struct cs_summary */
	/* CS_SUM_COUNTS: entries first..count-1 of names[] and of the array */
	const char *const *names;
	int first, count;
	bool view_only;			/* the dashboard's: a report has nothing open */
	const char *metric;
	enum cs_metric_type metric_type;
	const char *label;		/* CS_SUM_COUNTS: the metric's label name */
	const char *sum_also;		/* SUM_OF: a second family in the sum */
	const char *help;
};

extern const struct cs_summary_field cs_summary_fields[];
extern const int cs_summary_field_cnt;

/* The figures as they stand, of the inputs src describes (only a live
 * capture has kernel drops).  Reads the engine; call on the capture thread. */
void cs_summary_fill(struct cs_summary *s, const struct cs_engine *e,
		     const struct cs_report_source *src);

/*
 * A few figures are counted per record when it finishes (port_reuse, as
 * the outcomes are), so cs_summary_fill has only the finished ones.  A
 * snapshot, which counts its open records' outcomes as they stand, adds
 * the open records' here too, from the tally that counts them
 * (analyzer/views/tally.h); the report is written once all are finished.
 */
void cs_summary_add_open(struct cs_summary *s, const struct cs_tally *open);

/* The value of a CS_SUM_U64 field, or a CS_SUM_COUNTS field's array. */
uint64_t cs_summary_u64(const struct cs_summary *s,
			const struct cs_summary_field *f);
/* A CS_SUM_BOOL field. */
bool cs_summary_bool(const struct cs_summary *s, const struct cs_summary_field *f);
const uint64_t *cs_summary_counts(const struct cs_summary *s,
				  const struct cs_summary_field *f);
/* A CS_SUM_MAYBE_* field. */
struct cs_maybe_u64 cs_summary_maybe(const struct cs_summary *s,
				     const struct cs_summary_field *f);

/* The "summary" object, fields in table order.  view: with the fields only
 * the dashboard has (the report passes false, /api/summary true). */
void cs_summary_json(struct cs_json *j, const struct cs_summary *s, bool view);

#endif /* CS_ANALYZER_SUMMARY_H */
