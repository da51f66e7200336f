/*
 * jsonl.h — JSON Lines: one object per line, as things happen (--jsonl).
 *
 * Three kinds of line, told apart by "type" (DESIGN.md's contract):
 *   "conn"   a finished connection: the JSON report's connection fields,
 *            written by the report's own writer (export.h);
 *   "alert"  an alert when it starts and when it ends ("event"), the
 *            report's alert object under "alert" and its index as "id",
 *            so a start and its end pair up;
 *   "stats"  the summary's figures (summary.h's one table) and the
 *            outcomes of the connections finished so far, periodically.
 *
 * An alert ends when its figures have not moved for CS_JSONL_ALERT_QUIET_SEC
 * of packet time, or when the run ends; one that moves again after its end
 * starts again under the same id.  The detectors keep an episode's alert
 * up to date in place and never say that it is over: a SYN flood's ends
 * after a second without flooding (a new flood is a new alert), a buildup's
 * lasts while its figures change, so quiet for longer than a flood's gap
 * and the sweeps of TIME_WAIT is the end that a reader can act on.
 *
 * Each function writes one whole line to f; it owns no file and no lock.
 */
#ifndef CS_ANALYZER_JSONL_H
#define CS_ANALYZER_JSONL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "analyzer/engine.h"
#include "analyzer/reports/report.h"

#define CS_JSONL_ALERT_QUIET_SEC 10

/* rows: the conn.log rows kept for connections Zeek splits (fed with
 * cs_report_json_row, as the report's are), so the line has the same
 * zeek_rows as the report's object; its j is not used. */
void cs_jsonl_conn(FILE *f, struct cs_json_report *rows, const struct cs_conn *c,
		   const struct cs_verdict *v);
/* now_us: wall-clock time of the line. */
void cs_jsonl_stats(FILE *f, const struct cs_engine *e,
		    const struct cs_report_source *src, uint64_t now_us);

/* Which alerts have had their start and end lines. */
struct cs_jsonl_alerts {
	uint8_t phase[CS_ALERTS_MAX];		/* enum in jsonl.c */
	uint64_t end_seen_us[CS_ALERTS_MAX];	/* the alert's end_us, then */
};

/*
 * Writes the start of every alert raised since the last call and the end
 * of every alert quiet since CS_JSONL_ALERT_QUIET_SEC before now_us (packet
 * time); at_end: every alert not ended yet ends.  Bounded by the alert
 * list (CS_ALERTS_MAX).  Returns the number of lines written.
 */
unsigned cs_jsonl_alerts_update(FILE *f, struct cs_jsonl_alerts *w,
				const struct cs_alerts *a, uint64_t now_us,
				bool at_end);

#endif /* CS_ANALYZER_JSONL_H */
