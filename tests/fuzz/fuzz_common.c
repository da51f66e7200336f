/*
 * fuzz_common.c — the small engine and the checks every target shares.
 */
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/json_check.h"
#include "web/connlist.h"
#include "web/render.h"

void fuzz_engine_opts(struct cs_engine_opts *o)
{
	cs_engine_opts_default(o);
	o->flow.max_flows = FUZZ_MAX_FLOWS;
	/* Too few records to fill a batch of the packer's: the thread would
	 * only be started and stopped for every input. */
	o->flow.pack_thread = false;
	o->detect.synflood_rate = 3;
	o->detect.timewait_threshold = 2;
	o->detect.closewait_threshold = 2;
	o->detect.closewait_age_us = 1000000;
}

void fuzz_check_engine(const struct cs_engine *e)
{
	if (!cs_stats_balanced(&e->stats)) {
		fprintf(stderr, "fuzz: packet accounting does not balance\n");
		abort();
	}
}

FILE *fuzz_sink(void)
{
	static FILE *sink;

	if (!sink && !(sink = fopen("/dev/null", "w"))) {
		perror("fuzz: /dev/null");
		abort();
	}
	return sink;
}

void fuzz_check_reply(struct cs_reply *r)
{
	if (!r->body || !r->len || r->status < 200 || r->status > 599 ||
	    !r->content_type) {
		fprintf(stderr, "fuzz: bad reply (status %d)\n", r->status);
		abort();
	}
	if (!strcmp(r->content_type, "application/json"))
		json_require("an API reply", r->body, r->len);
	free(r->body);
}

static const char *no_query(void *ctx, const char *key)
{
	(void)ctx;
	(void)key;
	return NULL;
}

void fuzz_render_snapshot(const struct cs_snapshot *s)
{
	struct cs_conn_filter f;
	struct cs_reply r;
	char err[160];

	cs_render_summary(s, &r);
	fuzz_check_reply(&r);
	cs_render_alerts(s, &r);
	fuzz_check_reply(&r);
	cs_render_timeseries(s, &r);
	fuzz_check_reply(&r);
	cs_render_metrics(s, &r);
	fuzz_check_reply(&r);
	for (uint32_t i = 0; i < s->alert_cnt; i++) {
		cs_render_alert(&s->alerts[i], &r);
		fuzz_check_reply(&r);
	}
	if (cs_conn_filter_parse(&f, no_query, NULL, err, sizeof err) != 0)
		abort();
	for (int k = CS_SORT_TS; k <= CS_SORT_PKTS; k++) {
		f.sort = (enum cs_sort_key)k;
		f.descending = k & 1;
		cs_render_connections(s, &f, &r);
		fuzz_check_reply(&r);
	}
	for (uint32_t i = 0; i < s->conn_cnt && i < 8; i++) {
		cs_render_connection(s, s->conns[i].c.id, &r);
		fuzz_check_reply(&r);
	}
}
