/*
 * export.h — one finished connection, written as JSON or as a conn.log row.
 *
 * Both writers read the record only.  Field names and order are contracts:
 * the JSON object follows DESIGN.md's "connections" entries, the conn.log
 * follows Zeek's TSV format (header lines, tab separator, "-" for unset,
 * "(empty)" for an empty set) so that zeek-cut and other Zeek tooling read it.
 */
#ifndef CS_ANALYZER_EXPORT_H
#define CS_ANALYZER_EXPORT_H

#include <stdio.h>

#include "analyzer/tracking/conn.h"
#include "analyzer/reports/json.h"

/* What the analyzer decided about a record when it was finished. */
struct cs_verdict {
	enum cs_outcome outcome;
	enum cs_conn_state conn_state;
};

void cs_export_conn_json(struct cs_json *j, const struct cs_conn *c,
			 const struct cs_verdict *v);
/* The same fields without the braces, for objects that add their own. */
void cs_export_conn_fields(struct cs_json *j, const struct cs_conn *c,
			   const struct cs_verdict *v);

/*
 * Where Zeek's timers split a connection into several conn.log rows: every
 * row's conn_state and history, in order, the record's own (last) row
 * included.  The JSON connection then carries the first row's and lists
 * them all (`zeek_rows`).
 */
struct cs_export_row {
	uint8_t conn_state;		/* enum cs_conn_state */
	char history[CS_HISTORY_MAX + 1];
};
struct cs_export_rows {
	const struct cs_export_row *row;
	uint32_t n;			/* 2 or more */
};
void cs_export_conn_json_rows(struct cs_json *j, const struct cs_conn *c,
			      const struct cs_verdict *v,
			      const struct cs_export_rows *rows);
/* The same fields without the braces (the JSON Lines add "type"). */
void cs_export_conn_fields_rows(struct cs_json *j, const struct cs_conn *c,
				const struct cs_verdict *v,
				const struct cs_export_rows *rows);

/* Payload bytes sent by endpoint i (0: the originator) over the whole
 * connection, summed over its conn.log rows. */
uint64_t cs_export_conn_bytes(const struct cs_conn *c, int i);

/* Zeek's uid: "C" and 17 base62 characters, here derived from the record
 * so that a run is reproducible. */
void cs_export_uid(const struct cs_conn *c, char out[20]);

void cs_connlog_header(FILE *f);
void cs_connlog_row(FILE *f, const struct cs_conn *c, enum cs_conn_state state);
void cs_connlog_footer(FILE *f);

#endif /* CS_ANALYZER_EXPORT_H */
