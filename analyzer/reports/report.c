/*
 * report.c — text report for people, JSON report for programs.
 */
#include "analyzer/reports/report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "analyzer/reports/export.h"
#include "analyzer/reports/hostview.h"
#include "analyzer/reports/json.h"
#include "analyzer/reports/summary.h"
#include "analyzer/reports/verdict.h"
#include "analyzer/tracking/zeek.h"
#include "capture/decode.h"

void cs_report_source_add(struct cs_report_source *src, int dlt,
			  uint32_t snaplen)
{
	if (snaplen > src->snaplen)
		src->snaplen = snaplen;
	for (int i = 0; i < src->dlt_cnt; i++)
		if (src->dlts[i] == dlt)
			return;
	if (src->dlt_cnt < CS_REPORT_MAX_DLTS)
		src->dlts[src->dlt_cnt++] = dlt;
}

/* "EN10MB" or "EN10MB,LINUX_SLL" when the files differ. */
const char *cs_report_linktypes(const struct cs_report_source *src, char *buf,
				size_t len)
{
	char tmp[32];
	size_t used = 0;

	buf[0] = '\0';
	for (int i = 0; i < src->dlt_cnt && used < len; i++) {
		const char *name = cs_linktype_name(src->dlts[i], tmp, sizeof tmp);
		int n = snprintf(buf + used, len - used, "%s%s", i ? "," : "", name);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}

/* ---- text ---------------------------------------------------------------- */

static const char *grouped(uint64_t v, char *buf, size_t len)
{
	return cs_count_format(v, buf, (unsigned)len);
}

static void format_utc(uint64_t us, char *buf, size_t len)
{
	time_t sec = (time_t)(us / 1000000u);
	struct tm tm;

	if (!gmtime_r(&sec, &tm) ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0) {
		snprintf(buf, len, "@%" PRIu64, us / 1000000u);
		return;
	}
	size_t n = strlen(buf);
	snprintf(buf + n, len - n, ".%06" PRIu64, us % 1000000u);
}

static void text_source(FILE *out, const struct cs_report_source *src)
{
	char lt[128];

	cs_report_linktypes(src, lt, sizeof lt);
	if (src->live)
		fprintf(out, "connscope %s: live capture on %s", CS_VERSION,
			src->names[0]);
	else if (src->name_cnt == 1)
		fprintf(out, "connscope %s: capture file %s", CS_VERSION,
			src->names[0]);
	else
		fprintf(out, "connscope %s: %d capture files (%s ... %s)",
			CS_VERSION, src->name_cnt, src->names[0],
			src->names[src->name_cnt - 1]);
	if (src->dlt_cnt)
		fprintf(out, " (%s, snaplen %" PRIu32 ")", lt, src->snaplen);
	fputs("\n\n", out);
}

/* The filter, said under the first line: a report of a filtered capture
 * is not a report of all its connections, and the ICMP errors the filter
 * let through (or could not) explain its failed connects. */
static void text_filter(FILE *out, const struct cs_report_source *src)
{
	if (!src->filter)
		return;
	fprintf(out, "Filter: '%s'", src->filter);
	if (src->filter_keeps_icmp)
		fputs(", and the ICMP errors quoting a packet it matches\n\n", out);
	else
		fputs(" (ICMP errors about the packets it matches could not be "
		      "kept: libpcap cannot filter them on this link type)\n\n",
		      out);
}

/* A stop by a signal, said where it is read first.  A live capture has no
 * end of its own: Ctrl-C is its usual end, and it is said too, so that a
 * report cut short by someone is never taken for a whole one. */
static void text_interrupted(FILE *out, const struct cs_report_source *src)
{
	if (!src->interrupted)
		return;
	if (src->live)
		fputs("Stopped by a signal (not by -c or --duration): the report "
		      "covers the capture until then.\n\n", out);
	else
		fputs("Cut short: a signal stopped the reading before the end of "
		      "the input; the report covers the packets read until "
		      "then.\n\n", out);
}

static void text_skipped(FILE *out, const struct cs_stats *st)
{
	char a[32];
	const char *sep = "";

	fprintf(out, "%14s skipped", grouped(cs_stats_skipped_total(st), a, sizeof a));
	if (cs_stats_skipped_total(st) == 0) {
		fputc('\n', out);
		return;
	}
	fputs(": ", out);
	for (int i = 1; i < CS_SKIP_MAX; i++) {
		if (!st->skipped[i])
			continue;
		fprintf(out, "%s%s %s", sep, cs_skip_names[i],
			grouped(st->skipped[i], a, sizeof a));
		sep = ", ";
	}
	fputc('\n', out);
}

/* "name count, name count, ..." for the non-zero entries of a table. */
static void text_counts(FILE *out, const char *const *names,
			const uint64_t *counts, int n)
{
	char a[32];
	const char *sep = "";

	for (int i = 0; i < n; i++) {
		if (!counts[i])
			continue;
		fprintf(out, "%s%s %s", sep, names[i], grouped(counts[i], a, sizeof a));
		sep = ", ";
	}
	if (!*sep)
		fputs("none", out);
	fputc('\n', out);
}

static void text_rtt(FILE *out, const struct cs_connstats *cs)
{
	static const double pct[] = { 50, 90, 99 };

	if (!cs->rtt_count)
		return;
	fputs("  handshake RTT ", out);
	for (int i = 0; i < 3; i++) {
		uint64_t us = cs_connstats_rtt_percentile(cs, pct[i]);
		fprintf(out, "%sp%g <= %.3f ms", i ? ", " : "", pct[i], (double)us / 1000.0);
	}
	fprintf(out, " (%" PRIu64 " handshakes)\n", cs->rtt_count);
}

static void text_servers(FILE *out, const struct cs_connstats *cs)
{
	struct cs_server_count top[10];
	char addr[CS_ADDR_STRLEN], a[32], b[32], ep[CS_ADDR_STRLEN + 16];
	int n = cs_connstats_top_servers(cs, top, 10);

	if (!n)
		return;
	fputs("\nBusiest servers\n", out);
	for (int i = 0; i < n; i++) {
		cs_addr_format(&top[i].addr, addr, sizeof addr);
		snprintf(ep, sizeof ep, cs_addr_is_v4(&top[i].addr) ? "%s:%u" : "[%s]:%u",
			 addr, top[i].port);
		fprintf(out, "  %-46s %s connection%s", ep,
			grouped(top[i].conns, a, sizeof a), top[i].conns == 1 ? "" : "s");
		if (top[i].failed)
			fprintf(out, ", %s failed", grouped(top[i].failed, b, sizeof b));
		fputc('\n', out);
	}
	if (cs->servers_untracked)
		fprintf(out, "  (%s connections went to servers beyond the %d "
			"counted)\n", grouped(cs->servers_untracked, a, sizeof a),
			CS_SERVER_SLOTS / 8 * 7);
}

static void text_connections(FILE *out, const struct cs_engine *e)
{
	const struct cs_connstats *cs = &e->conns;
	const struct cs_flow_table *t = &e->flows;
	char a[32], b[32];
	uint64_t evicted = 0, untracked = 0;

	for (int i = 1; i < CS_EVICT_MAX; i++)
		evicted += t->evicted[i];
	for (int i = 1; i < CS_UNTRACKED_MAX; i++)
		untracked += t->untracked[i];
	fprintf(out, "\nConnections %s (at most %s open at once)\n",
		grouped(cs->connections, a, sizeof a), grouped(t->peak, b, sizeof b));
	fputs("  outcome     ", out);
	text_counts(out, cs_outcome_names, cs->outcomes, CS_OUT_MAX);
	fputs("  conn_state  ", out);
	text_counts(out, cs_conn_state_names, cs->conn_states, CS_CS_MAX);
	/* The states of both endpoints of the connections the capture's end
	 * found tracked; those that ended before are in the outcomes. */
	fprintf(out, "  at the end  %s endpoints of the %s connection%s still "
		"tracked", grouped(2 * cs->end_conns, a, sizeof a),
		grouped(cs->end_conns, b, sizeof b), cs->end_conns == 1 ? "" : "s");
	if (cs->end_conns) {
		fputs(": ", out);
		text_counts(out, cs_tcp_state_names, cs->end_states, CS_TCP_STATE_MAX);
	} else {
		fputc('\n', out);
	}
	text_rtt(out, cs);
	if (cs->port_reuse)
		fprintf(out, "  %s SYNs reused the 4-tuple of a finished connection\n",
			grouped(cs->port_reuse, a, sizeof a));
	if (evicted) {
		fprintf(out, "  %s evicted to stay within --max-flows: ",
			grouped(evicted, a, sizeof a));
		text_counts(out, cs_evict_names + 1, t->evicted + 1, CS_EVICT_MAX - 1);
		/* held records (flow.h): evicted is not lost */
		if (t->rejoined || t->held_early)
			fprintf(out, "  of them, held packed: %s heard from again and "
				"taken back, %s let go before their time\n",
				grouped(t->rejoined, a, sizeof a),
				grouped(t->held_early, b, sizeof b));
	}
	if (untracked) {
		fprintf(out, "  %s packets opened no record: ",
			grouped(untracked, a, sizeof a));
		text_counts(out, cs_untracked_names + 1, t->untracked + 1, CS_UNTRACKED_MAX - 1);
	}
	if (t->expired_early)
		fprintf(out, "  %s expired early: the table was over %u%% full, so "
			"timeouts shrank\n", grouped(t->expired_early, a, sizeof a),
			CS_FLOW_ADAPTIVE_START_PERCENT);
	if (e->icmp_unmatched)
		fprintf(out, "  %s ICMP errors quoted a segment of no tracked connection\n",
			grouped(e->icmp_unmatched, a, sizeof a));
	text_servers(out, cs);
}

#define RED(c) ((c) ? "\033[31m" : "")
#define YELLOW(c) ((c) ? "\033[33m" : "")
#define GREEN(c) ((c) ? "\033[32m" : "")
#define BOLD(c) ((c) ? "\033[1m" : "")
#define PLAIN(c) ((c) ? "\033[0m" : "")
#define VERDICT_LINES 15

/* The answer first: what failed, where, and in a socket programmer's terms. */
static void text_verdict(FILE *out, const struct cs_engine *e, bool colour)
{
	char a[32], b[32];
	const struct cs_connstats *cs = &e->conns;

	fprintf(out, "%sVerdict%s\n", BOLD(colour), PLAIN(colour));
	if (!cs->connections) {
		fputs("  no TCP connections seen\n", out);
		return;
	}
	if (!e->verdicts.failed && !e->detect.alerts.count) {
		fprintf(out, "  %sall %s connections behaved: %s completed, the "
			"rest still open or picked up midstream%s\n", GREEN(colour),
			grouped(cs->connections, a, sizeof a),
			grouped(cs->outcomes[CS_OUT_COMPLETED], b, sizeof b),
			PLAIN(colour));
		return;
	}
	for (uint32_t i = 0; i < e->detect.alerts.count; i++)
		fprintf(out, "  %s%s%s\n", YELLOW(colour),
			e->detect.alerts.list[i].text, PLAIN(colour));
	cs_verdicts_print(&e->verdicts, &e->detect.alerts, &e->host, out, VERDICT_LINES,
			  colour);
}

static void text_alerts(FILE *out, const struct cs_engine *e, bool colour)
{
	const struct cs_alerts *al = &e->detect.alerts;
	char ep[80], t0[48], t1[48];

	if (!al->count)
		return;
	fprintf(out, "\n%sAlerts%s\n", BOLD(colour), PLAIN(colour));
	for (uint32_t i = 0; i < al->count; i++) {
		const struct cs_alert *x = &al->list[i];
		format_utc(x->start_us, t0, sizeof t0);
		format_utc(x->end_us, t1, sizeof t1);
		char peer[80] = "";
		if (x->has_peer) {
			char p[72];
			snprintf(peer, sizeof peer, " -> %s",
				 cs_endpoint_format(&x->peer, x->peer_port, p, sizeof p));
		}
		fprintf(out, "  %-18s %s%s  %s -> %s UTC\n", cs_alert_type_names[x->type],
			cs_endpoint_format(&x->addr, x->port, ep, sizeof ep), peer,
			t0, t1);
		for (int f = 0; f < CS_ALERT_FIGURES && x->fig[f].name; f++) {
			if (x->fig[f].is_usec)
				continue;
			fprintf(out, "%s %s=%" PRIu64, f ? "," : "     ",
				x->fig[f].name, x->fig[f].value);
		}
		if (x->label_key)
			fprintf(out, ", %s=%s", x->label_key, x->label_value);
		fputc('\n', out);
	}
	if (al->dropped)
		fprintf(out, "  (%" PRIu64 " more alerts were not kept)\n", al->dropped);
}

void cs_report_text(FILE *out, const struct cs_report_source *src,
		    const struct cs_engine *e, bool colour)
{
	const struct cs_stats *st = &e->stats;
	char a[32], b[32], c[32], t0[48], t1[48];

	text_source(out, src);
	text_interrupted(out, src);
	text_filter(out, src);
	text_verdict(out, e, colour);
	text_alerts(out, e, colour);
	cs_hostview_text(out, &e->host);
	text_connections(out, e);
	fprintf(out, "\nPackets %14s read (%s bytes on the wire)\n",
		grouped(st->packets, a, sizeof a), grouped(st->bytes, b, sizeof b));
	fprintf(out, "        %14s analysed: %s TCP segments, %s ICMP errors "
		"about TCP\n", grouped(st->analysed, a, sizeof a),
		grouped(st->tcp_packets, b, sizeof b),
		grouped(st->icmp_errors, c, sizeof c));
	fputs("        ", out);
	text_skipped(out, st);
	if (st->truncated_frames)
		fprintf(out, "        %14s analysed packets were cut by the snap "
			"length (headers complete)\n",
			grouped(st->truncated_frames, a, sizeof a));
	if (st->datagrams_reassembled || st->datagrams_incomplete)
		fprintf(out, "        %14s IP datagrams put together from "
			"fragments; %s never complete (not analysed)\n",
			grouped(st->datagrams_reassembled, a, sizeof a),
			grouped(st->datagrams_incomplete, b, sizeof b));

	if (cs_stats_timed(st)) {
		format_utc(st->first_ts_us, t0, sizeof t0);
		format_utc(st->last_ts_us, t1, sizeof t1);
		fprintf(out, "Time    %s UTC -> %s UTC (%.6f s)\n", t0, t1,
			(double)(st->last_ts_us - st->first_ts_us) / 1e6);
	}
	if (st->ts_backwards)
		fprintf(out, "        %s packets are timestamped earlier than "
			"the packet before them\n",
			grouped(st->ts_backwards, a, sizeof a));
	if (st->ts_invalid)
		fprintf(out, "        %s packets have a timestamp that is no time "
			"(before 1970, past 2^64 us, or a fraction of a second out "
			"of range): analysed at the time of the packets before "
			"them\n", grouped(st->ts_invalid, a, sizeof a));
	if (src->live)
		fprintf(out, "Drops   %s\n", st->have_drops ?
			grouped(st->capture_drops, a, sizeof a) : "unknown");
	if (e->detect.data_segments)
		fprintf(out, "        %s of %s data segments retransmitted (%.2f%%); "
			"RSTs peaked at %s per second\n",
			grouped(e->detect.retransmitted, a, sizeof a),
			grouped(e->detect.data_segments, b, sizeof b),
			100.0 * (double)e->detect.retransmitted /
				(double)e->detect.data_segments,
			grouped(e->detect.rst_peak, c, sizeof c));
}

/* ---- JSON ---------------------------------------------------------------- */

static void json_source(struct cs_json *j, const struct cs_report_source *src)
{
	char lt[128];

	cs_report_linktypes(src, lt, sizeof lt);
	cs_json_key(j, "source");
	cs_json_obj_begin(j);
	cs_json_kv_str(j, "kind", src->live ? "live" : "file");
	cs_json_kv_str(j, "name", src->name_cnt ? src->names[0] : "");
	if (!src->live) {
		cs_json_key(j, "files");
		cs_json_arr_begin(j);
		for (int i = 0; i < src->name_cnt; i++)
			cs_json_str(j, src->names[i]);
		cs_json_arr_end(j);
	}
	cs_json_kv_str(j, "linktype", lt);
	cs_json_kv_u64(j, "snaplen", src->snaplen);
	cs_report_json_filter(j, src);
	cs_json_obj_end(j);
}

void cs_report_json_filter(struct cs_json *j, const struct cs_report_source *src)
{
	cs_json_key(j, "filter");
	if (src->filter)
		cs_json_str(j, src->filter);
	else
		cs_json_null(j);
	cs_json_key(j, "filter_keeps_icmp");
	cs_json_bool(j, src->filter && src->filter_keeps_icmp);
}

/* The figures come from the summary table, as the API's and the metrics' do. */
static void json_summary(struct cs_json *j, const struct cs_report_source *src,
			 const struct cs_engine *e)
{
	struct cs_summary s;

	cs_summary_fill(&s, e, src);
	cs_json_key(j, "summary");
	cs_summary_json(j, &s, false);
}

void cs_report_json_alert(struct cs_json *j, const struct cs_alert *al)
{
	char ep[80];

	cs_json_obj_begin(j);
	cs_json_kv_str(j, "type", cs_alert_type_names[al->type]);
	cs_json_kv_str(j, al->port || al->type == CS_ALERT_SYN_FLOOD ? "target" : "host",
		       cs_endpoint_format(&al->addr, al->port, ep, sizeof ep));
	if (al->has_peer)
		cs_json_kv_str(j, "peer", cs_endpoint_format(&al->peer, al->peer_port,
							     ep, sizeof ep));
	cs_json_kv_usec(j, "start", al->start_us);
	cs_json_kv_usec(j, "end", al->end_us);
	for (int i = 0; i < CS_ALERT_FIGURES && al->fig[i].name; i++) {
		if (al->fig[i].is_usec)
			cs_json_kv_usec(j, al->fig[i].name, al->fig[i].value);
		else
			cs_json_kv_u64(j, al->fig[i].name, al->fig[i].value);
	}
	if (al->label_key)
		cs_json_kv_str(j, al->label_key, al->label_value);
	cs_json_kv_str(j, "explanation", al->text);
	cs_json_obj_end(j);
}

static void json_alerts(struct cs_json *j, const struct cs_alerts *a)
{
	cs_json_key(j, "alerts");
	cs_json_arr_begin(j);
	for (uint32_t i = 0; i < a->count; i++)
		cs_report_json_alert(j, &a->list[i]);
	cs_json_arr_end(j);
}

void cs_report_json_begin(struct cs_json_report *r, FILE *out)
{
	r->rows = NULL;		/* after cs_report_json_fini, or never used */
	r->bucket = NULL;
	r->free_head = r->used = 0;
	r->rows_lost = 0;
	cs_json_init(&r->j, out, 2);
	cs_json_obj_begin(&r->j);
	cs_json_kv_str(&r->j, "version", CS_VERSION);
	cs_json_key(&r->j, "connections");
	cs_json_arr_begin(&r->j);
}

/* ---- conn.log rows of connections Zeek splits ------------------------------ */

struct cs_json_row {
	uint64_t conn_id;
	uint32_t next;			/* in its bucket, or on the free list */
	uint32_t index;			/* the row's number in its connection */
	struct cs_export_row row;
};

static uint32_t row_bucket(uint64_t conn_id)
{
	return (uint32_t)((conn_id * 0x9e3779b97f4a7c15ull) >> 50) %
	       CS_JSON_ROW_BUCKETS;
}

static bool rows_ready(struct cs_json_report *r)
{
	if (r->rows)
		return true;
	r->rows = calloc(CS_JSON_ROWS_MAX, sizeof *r->rows);
	r->bucket = calloc(CS_JSON_ROW_BUCKETS, sizeof *r->bucket);
	if (r->rows && r->bucket)
		return true;
	cs_report_json_fini(r);
	return false;
}

/* A free row (index 1 and up), or 0. */
static uint32_t row_take(struct cs_json_report *r)
{
	uint32_t at = r->free_head;

	if (at) {
		r->free_head = r->rows[at].next;
		return at;
	}
	if (r->used + 1 >= CS_JSON_ROWS_MAX)
		return 0;
	return ++r->used;
}

void cs_report_json_row(struct cs_json_report *r, const struct cs_conn *c)
{
	uint32_t at;

	if (!rows_ready(r) || !(at = row_take(r))) {
		r->rows_lost++;
		return;
	}
	struct cs_json_row *e = &r->rows[at];
	e->conn_id = c->id;
	e->index = c->z_segment;
	e->next = 0;
	e->row.conn_state = (uint8_t)cs_zeek_conn_state(c);
	memcpy(e->row.history, c->history, sizeof e->row.history);
	/* at the end of its bucket: a connection's rows stay in order */
	uint32_t *link = &r->bucket[row_bucket(c->id)];
	while (*link)
		link = &r->rows[*link].next;
	*link = at;
}

/*
 * Takes connection c's rows out of the store into out[0 .. c->z_segment-1]
 * (out has c->z_segment + 1 places, or is NULL: the rows are only let go);
 * true when every one was there.
 */
static bool rows_collect(struct cs_json_report *r, const struct cs_conn *c,
			 struct cs_export_row *out)
{
	uint32_t found = 0;

	if (!r->rows)
		return false;
	uint32_t *link = &r->bucket[row_bucket(c->id)];
	while (*link) {
		struct cs_json_row *e = &r->rows[*link];
		if (e->conn_id != c->id) {
			link = &e->next;
			continue;
		}
		if (out && e->index < c->z_segment) {
			out[e->index] = e->row;
			found++;
		}
		uint32_t at = *link;
		*link = e->next;
		e->next = r->free_head;
		r->free_head = at;
	}
	return found == c->z_segment;
}

void cs_report_json_conn_fields(struct cs_json_report *r, struct cs_json *j,
				const struct cs_conn *c, const struct cs_verdict *v)
{
	struct cs_export_row *all = NULL;

	if (c->z_segment > 0 && c->z_segment < CS_JSON_ROWS_MAX)
		all = malloc(((size_t)c->z_segment + 1) * sizeof *all);
	bool whole = c->z_segment > 0 && rows_collect(r, c, all);
	if (all && whole) {
		all[c->z_segment].conn_state = (uint8_t)v->conn_state;
		memcpy(all[c->z_segment].history, c->history,
		       sizeof all[c->z_segment].history);
		struct cs_export_rows rows = { all, c->z_segment + 1 };
		cs_export_conn_fields_rows(j, c, v, &rows);
	} else {
		cs_export_conn_fields(j, c, v);
	}
	free(all);
}

void cs_report_json_conn(struct cs_json_report *r, const struct cs_conn *c,
			 const struct cs_verdict *v)
{
	cs_json_obj_begin(&r->j);
	cs_report_json_conn_fields(r, &r->j, c, v);
	cs_json_obj_end(&r->j);
}

bool cs_report_json_conn_alone(struct cs_json *j, const struct cs_conn *c,
			       const struct cs_verdict *v)
{
	if (c->z_segment > 0)	/* rows kept for it: cs_report_json_conn_fields */
		return false;
	cs_json_obj_begin(j);
	cs_export_conn_fields(j, c, v);
	cs_json_obj_end(j);
	return true;
}

void cs_report_json_fini(struct cs_json_report *r)
{
	free(r->rows);
	free(r->bucket);
	r->rows = NULL;
	r->bucket = NULL;
	r->free_head = r->used = 0;
}

void cs_report_json_end(struct cs_json_report *r,
			const struct cs_report_source *src,
			const struct cs_engine *e)
{
	struct cs_json *j = &r->j;

	cs_json_arr_end(j);
	json_source(j, src);
	json_summary(j, src, e);
	cs_json_kv_counts(j, "outcomes", cs_outcome_names, e->conns.outcomes, CS_OUT_MAX);
	cs_json_kv_counts(j, "conn_states", cs_conn_state_names, e->conns.conn_states,
		    CS_CS_MAX);
	cs_json_kv_counts(j, "states", cs_tcp_state_names, e->conns.end_states,
		    CS_TCP_STATE_MAX);
	json_alerts(j, &e->detect.alerts);
	cs_json_key(j, "host");
	cs_hostview_json(j, &e->host);
	cs_json_obj_end(j);
	fputc('\n', j->f);
}
