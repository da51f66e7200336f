/*
 * fuzz_common.c — the small engine and the checks every target shares.
 */
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>

#include "web/render.h"

void fuzz_engine_opts(struct cs_engine_opts *o)
{
	cs_engine_opts_default(o);
	o->flow.max_flows = FUZZ_MAX_FLOWS;
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

static void done(struct cs_reply *r)
{
	if (!r->body || r->len == 0 || r->status < 200) {
		fprintf(stderr, "fuzz: empty reply (status %d)\n", r->status);
		abort();
	}
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
	done(&r);
	cs_render_alerts(s, &r);
	done(&r);
	cs_render_timeseries(s, &r);
	done(&r);
	cs_render_metrics(s, &r);
	done(&r);
	for (uint32_t i = 0; i < s->alert_cnt; i++) {
		cs_render_alert(&s->alerts[i], &r);
		done(&r);
	}
	if (cs_conn_filter_parse(&f, no_query, NULL, err, sizeof err) != 0)
		abort();
	for (int k = CS_SORT_TS; k <= CS_SORT_PKTS; k++) {
		f.sort = (enum cs_sort_key)k;
		f.descending = k & 1;
		cs_render_connections(s, &f, &r);
		done(&r);
	}
	for (uint32_t i = 0; i < s->conn_cnt && i < 8; i++) {
		cs_render_connection(s, s->conns[i].c.id, &r);
		done(&r);
	}
}
