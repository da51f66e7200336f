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
#include <stdio.h>

#include "analyzer/stats.h"

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
};

/* Records a source's link type (once) and snap length. */
void cs_report_source_add(struct cs_report_source *src, int dlt,
			  uint32_t snaplen);

void cs_report_text(FILE *out, const struct cs_report_source *src,
		    const struct cs_stats *st);
void cs_report_json(FILE *out, const struct cs_report_source *src,
		    const struct cs_stats *st);

#endif /* CS_ANALYZER_REPORT_H */
