/*
 * report.h — the text and JSON reports of a run.
 *
 * Exporters read counters and (later) connection records; they never see
 * packets.  Field names of the JSON report are a contract (DESIGN.md):
 * add fields, never rename them.
 */
#ifndef CS_ANALYZER_REPORT_H
#define CS_ANALYZER_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>
#include <stdio.h>

#include "analyzer/engine.h"
#include "analyzer/reports/json.h"

#define CS_VERSION "0.1.0"
#define CS_REPORT_MAX_DLTS 8

/* What was read: the files in order, or the interface. */
struct cs_report_source {
	bool live;
	const char *const *names;
	int name_cnt;
	int dlts[CS_REPORT_MAX_DLTS];	/* distinct link types, in order seen */
	int dlt_cnt;
	uint32_t snaplen;		/* largest of the sources */
	bool interrupted;		/* a signal stopped the reading before
					 * the input's end (live: rather than
					 * -c or --duration) */
	const char *filter;		/* -f, as given; NULL: none */
	bool filter_keeps_icmp;		/* every input's filter also kept the
					 * ICMP errors quoting what it matches */
};

/* "filter" (the expression or null) and "filter_keeps_icmp", for the
 * source objects of the JSON report and /api/summary. */
void cs_report_json_filter(struct cs_json *j, const struct cs_report_source *src);

/* "EN10MB", or "EN10MB,LINUX_SLL" when the files differ; returns buf. */
const char *cs_report_linktypes(const struct cs_report_source *src, char *buf,
				size_t len);

/* Records a source's link type (once) and snap length. */
void cs_report_source_add(struct cs_report_source *src, int dlt,
			  uint32_t snaplen);

/* colour: ANSI colours (only when writing to a terminal). */
void cs_report_text(FILE *out, const struct cs_report_source *src,
		    const struct cs_engine *e, bool colour);

/*
 * The JSON report is streamed: connections are written as they finish, so
 * a capture with millions of them needs no memory for them.  begin writes
 * the opening, conn one connection, end the summary parts and the close.
 */
/*
 * The conn.log rows that ended inside connections still open, kept until
 * the connection is written (its `zeek_rows`).  Bounded: past
 * CS_JSON_ROWS_MAX rows held at once, a connection's list is incomplete and
 * left out.  Allocated at the first such row; most runs never have one.
 */
#define CS_JSON_ROWS_MAX 65536u
#define CS_JSON_ROW_BUCKETS 16384u
struct cs_json_row;
struct cs_json_report {
	struct cs_json j;
	struct cs_json_row *rows;	/* [CS_JSON_ROWS_MAX], 0 unused */
	uint32_t *bucket;		/* [CS_JSON_ROW_BUCKETS]: first row */
	uint32_t free_head, used;	/* free list; rows ever taken */
	uint64_t rows_lost;		/* rows not kept: the store was full */
};

void cs_report_json_begin(struct cs_json_report *r, FILE *out);
void cs_report_json_conn(struct cs_json_report *r, const struct cs_conn *c,
			 const struct cs_verdict *v);
/* The same object into j, for a connection the report keeps no conn.log
 * rows of (its rows began and end with it): it reads nothing of the
 * report, so another thread may write it (writer.h's helper).  False,
 * writing nothing, for any other. */
bool cs_report_json_conn_alone(struct cs_json *j, const struct cs_conn *c,
			       const struct cs_verdict *v);
/* The connection's fields without the braces, into j (the JSON Lines'
 * own line), with the rows r keeps for it. */
void cs_report_json_conn_fields(struct cs_json_report *r, struct cs_json *j,
				const struct cs_conn *c, const struct cs_verdict *v);
/* A conn.log row ended inside record c, which goes on (Zeek's timers). */
void cs_report_json_row(struct cs_json_report *r, const struct cs_conn *c);
/* Frees what the rows took; the report may be begun again. */
void cs_report_json_fini(struct cs_json_report *r);
/* One alert object, as the report and the web API write it. */
void cs_report_json_alert(struct cs_json *j, const struct cs_alert *al);

void cs_report_json_end(struct cs_json_report *r,
			const struct cs_report_source *src,
			const struct cs_engine *e);

#endif /* CS_ANALYZER_REPORT_H */
