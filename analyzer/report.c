/*
 * report.c — text report for people, JSON report for programs.
 */
#include "analyzer/report.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "analyzer/json.h"
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
static void linktypes(const struct cs_report_source *src, char *buf, size_t len)
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
}

/* ---- text ---------------------------------------------------------------- */

/* 1234567 -> "1,234,567": counts are read by people here. */
static const char *grouped(uint64_t v, char *buf, size_t len)
{
	char digits[24];
	int n = snprintf(digits, sizeof digits, "%" PRIu64, v);
	size_t o = 0;

	for (int i = 0; i < n && o + 2 < len; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
	return buf;
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

	linktypes(src, lt, sizeof lt);
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

void cs_report_text(FILE *out, const struct cs_report_source *src,
		    const struct cs_stats *st)
{
	char a[32], b[32], c[32], t0[48], t1[48];

	text_source(out, src);
	fprintf(out, "Packets %14s read (%s bytes on the wire)\n",
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

	if (st->packets) {
		format_utc(st->first_ts_us, t0, sizeof t0);
		format_utc(st->last_ts_us, t1, sizeof t1);
		fprintf(out, "Time    %s UTC -> %s UTC (%.6f s)\n", t0, t1,
			(double)(st->last_ts_us - st->first_ts_us) / 1e6);
	}
	if (st->ts_backwards)
		fprintf(out, "        %s packets are timestamped earlier than "
			"the packet before them\n",
			grouped(st->ts_backwards, a, sizeof a));
	if (src->live)
		fprintf(out, "Drops   %s\n", st->have_drops ?
			grouped(st->capture_drops, a, sizeof a) : "unknown");
}

/* ---- JSON ---------------------------------------------------------------- */

static void json_source(struct cs_json *j, const struct cs_report_source *src)
{
	char lt[128];

	linktypes(src, lt, sizeof lt);
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
	cs_json_obj_end(j);
}

static void json_summary(struct cs_json *j, const struct cs_report_source *src,
			 const struct cs_stats *st)
{
	cs_json_key(j, "summary");
	cs_json_obj_begin(j);
	cs_json_kv_u64(j, "packets", st->packets);
	cs_json_kv_u64(j, "bytes", st->bytes);
	cs_json_kv_u64(j, "analysed", st->analysed);
	cs_json_kv_u64(j, "tcp_packets", st->tcp_packets);
	cs_json_kv_u64(j, "icmp_errors", st->icmp_errors);
	cs_json_kv_u64(j, "truncated", st->truncated_frames);
	cs_json_key(j, "first_ts");
	if (st->packets)
		cs_json_usec(j, st->first_ts_us);
	else
		cs_json_null(j);
	cs_json_key(j, "last_ts");
	if (st->packets)
		cs_json_usec(j, st->last_ts_us);
	else
		cs_json_null(j);
	cs_json_kv_u64(j, "ts_backwards", st->ts_backwards);
	cs_json_key(j, "skipped");
	cs_json_obj_begin(j);
	for (int i = 1; i < CS_SKIP_MAX; i++)
		cs_json_kv_u64(j, cs_skip_names[i], st->skipped[i]);
	cs_json_obj_end(j);
	cs_json_key(j, "capture_drops");
	if (src->live && st->have_drops)
		cs_json_u64(j, st->capture_drops);
	else
		cs_json_null(j);
	cs_json_obj_end(j);
}

void cs_report_json(FILE *out, const struct cs_report_source *src,
		    const struct cs_stats *st)
{
	struct cs_json j;

	cs_json_init(&j, out, 1);
	cs_json_obj_begin(&j);
	cs_json_kv_str(&j, "version", CS_VERSION);
	json_source(&j, src);
	json_summary(&j, src, st);
	cs_json_obj_end(&j);
	fputc('\n', out);
}
