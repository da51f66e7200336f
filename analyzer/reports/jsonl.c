/*
 * jsonl.c — the lines of --jsonl.
 */
#include "analyzer/reports/jsonl.h"

#include "analyzer/reports/summary.h"

enum phase { NOT_SEEN, STARTED, ENDED };

static void line_end(struct cs_json *j)
{
	cs_json_obj_end(j);
	fputc_unlocked('\n', j->f);
}

void cs_jsonl_conn(FILE *f, struct cs_json_report *rows, const struct cs_conn *c,
		   const struct cs_verdict *v)
{
	struct cs_json j;

	cs_json_init(&j, f, 0);
	cs_json_obj_begin(&j);
	cs_json_kv_str(&j, "type", "conn");
	cs_report_json_conn_fields(rows, &j, c, v);
	line_end(&j);
}

void cs_jsonl_stats(FILE *f, const struct cs_engine *e,
		    const struct cs_report_source *src, uint64_t now_us)
{
	struct cs_summary s;
	struct cs_json j;

	cs_summary_fill(&s, e, src);
	cs_json_init(&j, f, 0);
	cs_json_obj_begin(&j);
	cs_json_kv_str(&j, "type", "stats");
	cs_json_kv_usec(&j, "ts", now_us);
	cs_json_key(&j, "summary");
	cs_summary_json(&j, &s, false);
	cs_json_kv_counts(&j, "outcomes", cs_outcome_names, e->conns.outcomes,
			  CS_OUT_MAX);
	cs_json_kv_u64(&j, "alerts", e->detect.alerts.count);
	line_end(&j);
}

static void alert_line(FILE *f, const struct cs_alert *al, uint32_t id,
		       const char *event)
{
	struct cs_json j;

	cs_json_init(&j, f, 0);
	cs_json_obj_begin(&j);
	cs_json_kv_str(&j, "type", "alert");
	cs_json_kv_str(&j, "event", event);
	cs_json_kv_u64(&j, "id", id);
	cs_json_key(&j, "alert");
	cs_report_json_alert(&j, al);
	line_end(&j);
}

unsigned cs_jsonl_alerts_update(FILE *f, struct cs_jsonl_alerts *w,
				const struct cs_alerts *a, uint64_t now_us,
				bool at_end)
{
	uint64_t quiet_us = (uint64_t)CS_JSONL_ALERT_QUIET_SEC * CS_USEC_PER_SEC;
	unsigned lines = 0;

	for (uint32_t i = 0; i < a->count && i < CS_ALERTS_MAX; i++) {
		const struct cs_alert *al = &a->list[i];
		bool moved = al->end_us != w->end_seen_us[i];

		if (w->phase[i] == NOT_SEEN || (w->phase[i] == ENDED && moved)) {
			alert_line(f, al, i, "start");
			w->phase[i] = STARTED;
			w->end_seen_us[i] = al->end_us;
			lines++;
		}
		if (w->phase[i] == STARTED &&
		    (at_end || now_us >= al->end_us + quiet_us)) {
			alert_line(f, al, i, "end");
			w->phase[i] = ENDED;
			w->end_seen_us[i] = al->end_us;
			lines++;
		}
	}
	return lines;
}
