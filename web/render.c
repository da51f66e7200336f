/*
 * render.c — JSON, Prometheus text and errors from a snapshot.
 */
#include "web/render.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/reports/hostview.h"
#include "analyzer/reports/json.h"
#include "analyzer/reports/verdict.h"
#include "analyzer/tracking/zeek.h"

/* ---- replies ------------------------------------------------------------ */

FILE *cs_reply_open(struct cs_reply *r)
{
	r->body = NULL;
	r->len = 0;
	return open_memstream(&r->body, &r->len);
}

void cs_reply_close(FILE *f, struct cs_reply *r, int status, const char *ctype)
{
	if (!f || fclose(f) != 0 || !r->body) {
		free(r->body);
		r->body = strdup("{\"error\":\"out of memory\"}");
		r->len = r->body ? strlen(r->body) : 0;
		r->status = 500;
		r->content_type = "application/json";
		return;
	}
	r->status = status;
	r->content_type = ctype;
}

void cs_render_error(int status, const char *message, struct cs_reply *r)
{
	FILE *f = cs_reply_open(r);
	struct cs_json j;

	if (f) {
		cs_json_init(&j, f, 0);
		cs_json_obj_begin(&j);
		cs_json_kv_str(&j, "error", message);
		cs_json_obj_end(&j);
		fputc('\n', f);
	}
	cs_reply_close(f, r, status, "application/json");
}

/* ---- parsing the query -------------------------------------------------- */

/* Digits only, no sign, no spaces, within [min, max]. */
static int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s || strlen(s) > 19)
		return -1;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int lookup_name(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (names[i] && !strcmp(s, names[i]))
			return i;
	return -1;
}

int cs_parse_conn_id(const char *s, uint64_t *id)
{
	return parse_uint(s, 1, UINT64_MAX / 10, id);
}

static int parse_host(const char *s, struct cs_addr *a)
{
	uint8_t v4[4];

	memset(a, 0, sizeof *a);
	if (inet_pton(AF_INET, s, v4) == 1) {
		a->b[10] = a->b[11] = 0xff;
		memcpy(a->b + 12, v4, 4);
		return 0;
	}
	return inet_pton(AF_INET6, s, a->b) == 1 ? 0 : -1;
}

static int parse_sort(const char *s, struct cs_conn_filter *f)
{
	static const char *const keys[] = { "ts", "duration", "bytes", "pkts" };

	f->descending = *s == '-';
	int k = lookup_name(s + f->descending, keys, 4);
	if (k < 0)
		return -1;
	f->sort = (enum cs_sort_key)k;
	return 0;
}

int cs_conn_filter_parse(struct cs_conn_filter *f, cs_query_fn get, void *ctx,
			 char *err, size_t errlen)
{
	const char *v;
	uint64_t n;

	memset(f, 0, sizeof *f);
	f->outcome = f->state = f->conn_state = -1;
	f->limit = CS_WEB_LIMIT_DEFAULT;
	f->sort = CS_SORT_TS;
	f->descending = true;

	if ((v = get(ctx, "outcome")) &&
	    (f->outcome = lookup_name(v, cs_outcome_names, CS_OUT_MAX)) < 0)
		goto bad_outcome;
	if ((v = get(ctx, "state")) &&
	    (f->state = lookup_name(v, cs_tcp_state_names, CS_TCP_STATE_MAX)) < 0) {
		snprintf(err, errlen, "state: not one of the eleven TCP states");
		return -1;
	}
	if ((v = get(ctx, "conn_state")) &&
	    (f->conn_state = lookup_name(v, cs_conn_state_names, CS_CS_MAX)) < 0) {
		snprintf(err, errlen, "conn_state: not a Zeek conn_state");
		return -1;
	}
	if ((v = get(ctx, "host"))) {
		if (parse_host(v, &f->host) != 0) {
			snprintf(err, errlen, "host: not an IPv4 or IPv6 address");
			return -1;
		}
		f->have_host = true;
	}
	if ((v = get(ctx, "port"))) {
		if (parse_uint(v, 1, 65535, &n) != 0) {
			snprintf(err, errlen, "port: must be 1..65535");
			return -1;
		}
		f->port = (uint32_t)n;
	}
	if ((v = get(ctx, "limit"))) {
		if (parse_uint(v, 1, CS_WEB_LIMIT_MAX, &n) != 0) {
			snprintf(err, errlen, "limit: must be 1..%d", CS_WEB_LIMIT_MAX);
			return -1;
		}
		f->limit = (uint32_t)n;
	}
	if ((v = get(ctx, "offset"))) {
		if (parse_uint(v, 0, INT32_MAX, &n) != 0) {
			snprintf(err, errlen, "offset: must be a number >= 0");
			return -1;
		}
		f->offset = (uint32_t)n;
	}
	if ((v = get(ctx, "sort")) && parse_sort(v, f) != 0) {
		snprintf(err, errlen, "sort: one of ts, duration, bytes, pkts, "
			 "optionally with a leading -");
		return -1;
	}
	return 0;
bad_outcome:
	snprintf(err, errlen, "outcome: not an outcome name");
	return -1;
}

/* ---- /api/summary -------------------------------------------------------- */

static void summary_object(struct cs_json *j, const struct cs_snapshot *s)
{
	char lt[128];

	cs_json_obj_begin(j);
	cs_json_kv_str(j, "version", CS_VERSION);
	cs_json_key(j, "snapshot");
	cs_json_obj_begin(j);
	cs_json_kv_u64(j, "seq", s->seq);
	cs_json_kv_usec(j, "ts", s->ts_us);
	cs_json_key(j, "live");
	cs_json_bool(j, s->live);
	cs_json_key(j, "finished");
	cs_json_bool(j, s->finished);
	cs_json_obj_end(j);

	cs_json_key(j, "source");
	cs_json_obj_begin(j);
	cs_json_kv_str(j, "kind", s->src.live ? "live" : "file");
	cs_json_kv_str(j, "name", s->src.name_cnt ? s->src.names[0] : "");
	cs_json_kv_str(j, "linktype", cs_report_linktypes(&s->src, lt, sizeof lt));
	cs_json_kv_u64(j, "snaplen", s->src.snaplen);
	cs_report_json_filter(j, &s->src);
	cs_json_obj_end(j);

	/* the report's fields, from the same table, and "open" */
	cs_json_key(j, "summary");
	cs_summary_json(j, &s->summary, true);

	cs_json_kv_counts(j, "outcomes", cs_outcome_names, s->outcomes, CS_OUT_MAX);
	cs_json_kv_counts(j, "conn_states", cs_conn_state_names, s->conn_states, CS_CS_MAX);
	cs_json_key(j, "states");
	cs_json_obj_begin(j);
	cs_json_kv_counts(j, "orig", cs_tcp_state_names, s->states[0], CS_TCP_STATE_MAX);
	cs_json_kv_counts(j, "resp", cs_tcp_state_names, s->states[1], CS_TCP_STATE_MAX);
	cs_json_obj_end(j);
	cs_json_kv_u64(j, "alerts", s->alert_cnt);
	cs_json_key(j, "verdicts");
	cs_json_arr_begin(j);
	for (const char *p = s->verdicts; p && *p;) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		while (n && p[0] == ' ') {	/* the text report's indent */
			p++;
			n--;
		}
		if (n)
			cs_json_strn(j, p, n);
		p += n + (nl ? 1 : 0);
	}
	cs_json_arr_end(j);
	cs_json_obj_end(j);
}

void cs_render_summary(const struct cs_snapshot *s, struct cs_reply *r)
{
	FILE *f = cs_reply_open(r);
	struct cs_json j;

	if (f) {
		cs_json_init(&j, f, 0);
		summary_object(&j, s);
		fputc('\n', f);
	}
	cs_reply_close(f, r, 200, "application/json");
}

/* ---- /api/alerts, /api/timeseries ---------------------------------------- */

void cs_render_alerts(const struct cs_snapshot *s, struct cs_reply *r)
{
	FILE *f = cs_reply_open(r);
	struct cs_json j;

	if (f) {
		cs_json_init(&j, f, 0);
		cs_json_obj_begin(&j);
		cs_json_key(&j, "alerts");
		cs_json_arr_begin(&j);
		for (uint32_t i = 0; i < s->alert_cnt; i++)
			cs_report_json_alert(&j, &s->alerts[i]);
		cs_json_arr_end(&j);
		cs_json_obj_end(&j);
		fputc('\n', f);
	}
	cs_reply_close(f, r, 200, "application/json");
}

void cs_render_host(const struct cs_snapshot *s, struct cs_reply *r)
{
	FILE *f = cs_reply_open(r);
	struct cs_json j;

	if (f) {
		cs_json_init(&j, f, 0);
		cs_json_obj_begin(&j);
		cs_json_key(&j, "host");
		cs_hostview_json(&j, s->host);
		cs_json_obj_end(&j);
		fputc('\n', f);
	}
	cs_reply_close(f, r, 200, "application/json");
}

void cs_render_alert(const struct cs_alert *al, struct cs_reply *r)
{
	FILE *f = cs_reply_open(r);
	struct cs_json j;

	if (f) {
		cs_json_init(&j, f, 0);
		cs_report_json_alert(&j, al);
	}
	cs_reply_close(f, r, 200, "application/json");
}

void cs_render_timeseries(const struct cs_snapshot *s, struct cs_reply *r)
{
	FILE *f = cs_reply_open(r);
	struct cs_json j;

	if (f) {
		cs_json_init(&j, f, 0);
		cs_json_obj_begin(&j);
		uint32_t step = s->series_interval ? s->series_interval : 1;
		cs_json_kv_u64(&j, "interval", step);
		cs_json_kv_u64(&j, "start", s->series_start);
		cs_json_kv_u64(&j, "end", s->series_len ?
				s->series_start + (uint64_t)s->series_len * step - 1 :
				s->series_start);
		cs_json_key(&j, "series");
		cs_json_obj_begin(&j);
		for (int k = 0; k < CS_SER_MAX; k++) {
			cs_json_key(&j, cs_series_names[k]);
			cs_json_arr_begin(&j);
			for (uint32_t i = 0; i < s->series_len; i++)
				cs_json_u64(&j, s->series[i][k]);
			cs_json_arr_end(&j);
		}
		cs_json_obj_end(&j);
		cs_json_obj_end(&j);
		fputc('\n', f);
	}
	cs_reply_close(f, r, 200, "application/json");
}

/* ---- /metrics ------------------------------------------------------------- */

static void metric(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One field of the summary table, as the table says. */
static void summary_metric(FILE *f, const struct cs_summary *s,
			   const struct cs_summary_field *fl)
{
	struct cs_maybe_u64 m;

	if (fl->metric_type != CS_METRIC_COUNTER && fl->metric_type != CS_METRIC_GAUGE)
		return;		/* not a metric, or the sum of one */
	metric(f, fl->metric, cs_metric_type_names[fl->metric_type], fl->help);
	switch (fl->kind) {
	case CS_SUM_U64:
		fprintf(f, "%s %" PRIu64 "\n", fl->metric, cs_summary_u64(s, fl));
		break;
	case CS_SUM_MAYBE_U64:		/* not known: none known of */
		m = cs_summary_maybe(s, fl);
		fprintf(f, "%s %" PRIu64 "\n", fl->metric, m.have ? m.v : 0);
		break;
	case CS_SUM_MAYBE_USEC:		/* no such time: no sample */
		m = cs_summary_maybe(s, fl);
		if (m.have)
			fprintf(f, "%s %" PRIu64 ".%06" PRIu64 "\n", fl->metric,
				m.v / 1000000u, m.v % 1000000u);
		break;
	case CS_SUM_COUNTS:
		for (int i = fl->first; i < fl->count; i++)
			fprintf(f, "%s{%s=\"%s\"} %" PRIu64 "\n", fl->metric, fl->label,
				fl->names[i], cs_summary_counts(s, fl)[i]);
		break;
	case CS_SUM_BOOL:
		fprintf(f, "%s %d\n", fl->metric, cs_summary_bool(s, fl) ? 1 : 0);
		break;
	case CS_SUM_KIND_MAX:
		break;
	}
}

/* The families that are not summary figures: by outcome, state and type. */
static void breakdown_metrics(FILE *f, const struct cs_snapshot *s)
{
	/* A counter never goes down: it counts finished connections, whose
	 * outcome is decided; the open ones' can still change. */
	metric(f, "connscope_connections_total", "counter",
	       "Connections finished, by outcome.");
	for (int i = 0; i < CS_OUT_MAX; i++)
		fprintf(f, "connscope_connections_total{outcome=\"%s\"} %" PRIu64 "\n",
			cs_outcome_names[i], s->finished_outcomes[i]);
	metric(f, "connscope_connections_open_by_outcome", "gauge",
	       "Open connections, by their outcome as it stands now.");
	for (int i = 0; i < CS_OUT_MAX; i++)
		fprintf(f, "connscope_connections_open_by_outcome{outcome=\"%s\"} %"
			PRIu64 "\n", cs_outcome_names[i],
			s->outcomes[i] - s->finished_outcomes[i]);
	metric(f, "connscope_endpoints", "gauge",
	       "Endpoints of open connections, by side and TCP state.");
	for (int side = 0; side < 2; side++)
		for (int i = 0; i < CS_TCP_STATE_MAX; i++)
			fprintf(f, "connscope_endpoints{side=\"%s\",state=\"%s\"} %"
				PRIu64 "\n", side ? "resp" : "orig",
				cs_tcp_state_names[i], s->states[side][i]);
	metric(f, "connscope_alerts_total", "counter", "Alerts raised, by type.");
	for (int i = 0; i < CS_ALERT_TYPE_MAX; i++)
		fprintf(f, "connscope_alerts_total{type=\"%s\"} %" PRIu64 "\n",
			cs_alert_type_names[i], s->alerts_by_type[i]);
}

/*
 * The host view (live only: a file's run has none, and writes none of
 * these): the kernel's counters as they changed since the capture began,
 * and each listener's queue.
 */
static void host_metrics(FILE *f, const struct cs_host *h)
{
	char ep[80];
	uint64_t d;

	if (!h->on)
		return;
	metric(f, "connscope_host_tcp_events_total", "counter",
	       "The kernel's TCP counters (nstat's names) since the capture began.");
	for (int i = 0; i < CS_HC_MAX; i++)
		if (cs_host_delta(h, (enum cs_hostctr)i, &d))
			fprintf(f, "connscope_host_tcp_events_total{name=\"%s\"} %"
				PRIu64 "\n", cs_hostctr_names[i], d);
	metric(f, "connscope_host_sockets", "gauge",
	       "TCP sockets of this network namespace by state, at the last sample.");
	for (int i = 1; i < CS_KSTATE_MAX; i++)
		fprintf(f, "connscope_host_sockets{state=\"%s\"} %" PRIu64 "\n",
			cs_kstate_names[i], h->last.states[i]);
	metric(f, "connscope_host_listen_queue", "gauge",
	       "Connections in a listener's accept queue, at the last sample.");
	for (uint32_t i = 0; i < h->listen_cnt; i++)
		fprintf(f, "connscope_host_listen_queue{listener=\"%s\"} %" PRIu32 "\n",
			cs_endpoint_format(cs_host_listen_addr(&h->listen[i]),
					   h->listen[i].port, ep, sizeof ep),
			h->listen[i].queue);
	metric(f, "connscope_host_listen_backlog", "gauge",
	       "A listener's backlog: its queue is full above it.");
	for (uint32_t i = 0; i < h->listen_cnt; i++)
		fprintf(f, "connscope_host_listen_backlog{listener=\"%s\"} %" PRIu32 "\n",
			cs_endpoint_format(cs_host_listen_addr(&h->listen[i]),
					   h->listen[i].port, ep, sizeof ep),
			h->listen[i].backlog);
}

/*
 * Per server, for a failed-connection ratio per server: the servers with
 * the most failed connections (CS_SNAP_FAILING_SERVERS of them, so the
 * series stay few), each with its finished connections and the failed
 * ones.  Both only grow; a server that leaves the set leaves a gap that
 * rate() reads as no data, never as a fall.
 */
static void server_metrics(FILE *f, const struct cs_snapshot *s)
{
	char ep[80];

	metric(f, "connscope_server_connections_total", "counter",
	       "Connections finished to a server, for the servers with the most "
	       "failed connections.");
	for (int i = 0; i < s->failing_server_cnt; i++)
		fprintf(f, "connscope_server_connections_total{server=\"%s\"} %" PRIu64 "\n",
			cs_endpoint_format(&s->failing_servers[i].addr,
					   s->failing_servers[i].port, ep, sizeof ep),
			s->failing_servers[i].conns);
	metric(f, "connscope_server_failed_connections_total", "counter",
	       "Of those, the failed ones (refused, timeout, unreachable, aborted, "
	       "reset_nonexistent, half_open).");
	for (int i = 0; i < s->failing_server_cnt; i++)
		fprintf(f, "connscope_server_failed_connections_total{server=\"%s\"} %"
			PRIu64 "\n",
			cs_endpoint_format(&s->failing_servers[i].addr,
					   s->failing_servers[i].port, ep, sizeof ep),
			s->failing_servers[i].failed);
}

void cs_render_metrics(const struct cs_snapshot *s, struct cs_reply *r)
{
	FILE *f = cs_reply_open(r);

	if (f) {
		for (int i = 0; i < cs_summary_field_cnt; i++)
			summary_metric(f, &s->summary, &cs_summary_fields[i]);
		breakdown_metrics(f, s);
		server_metrics(f, s);
		if (s->host)
			host_metrics(f, s->host);
	}
	cs_reply_close(f, r, 200, "text/plain; version=0.0.4; charset=utf-8");
}
