/*
 * hostview.h — the host view (analyzer/host/) as the reports and the web
 * API write it.
 *
 * One rendering each, so that the JSON report's `host` object and
 * /api/host are the same object, and the text report's section says the
 * same figures in words.  Reads a struct cs_host; never changes it.
 */
#ifndef CS_ANALYZER_HOSTVIEW_H
#define CS_ANALYZER_HOSTVIEW_H

#include <stdio.h>

#include "analyzer/host/host.h"
#include "analyzer/reports/json.h"

/* The `host` object, or null when the host view was off (files,
 * --no-host) or h is NULL. */
void cs_hostview_json(struct cs_json *j, const struct cs_host *h);

/* The text report's section, when a counter moved or a queue filled;
 * nothing otherwise. */
void cs_hostview_text(FILE *out, const struct cs_host *h);

#endif /* CS_ANALYZER_HOSTVIEW_H */
