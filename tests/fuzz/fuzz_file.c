/*
 * fuzz_file.c — a whole capture file through what connscope -r does.
 *
 * The input is a pcap or pcapng file, opened from memory (fmemopen +
 * cs_source_open_stream, i.e. pcap_fopen_offline): libpcap's file readers,
 * the source's record checks, the readahead thread's decoded batches (as
 * connscope.c reads files), the engine on a 64-record table, the streamed
 * JSON report and conn.log, the text report, and the dashboard's last
 * snapshot, rendered as the API would.  The JSON report and
 * replies must be strict JSON; the other outputs go to /dev/null: the
 * point there is that writing them reads nothing it must not.
 */
#include <stdio.h>
#include <stdlib.h>

#include "analyzer/run/readahead.h"
#include "analyzer/reports/report.h"
#include "analyzer/tracking/zeek.h"
#include "capture/source.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/json_check.h"

static struct cs_engine engine;	/* large: kept off the stack */

struct outputs {
	FILE *connlog;
	FILE *json_f;		/* a memory stream: checked to be JSON */
	char *json_text;
	size_t json_len;
	struct cs_json_report json;
};

/* As connscope.c's write_connection: rows as records finish. */
static void write_connection(void *ctx, const struct cs_conn *c,
			     const struct cs_verdict *v)
{
	struct outputs *out = ctx;

	cs_connlog_row(out->connlog, c, cs_zeek_conn_state(c));
	if (v)
		cs_report_json_conn(&out->json, c, v);
}

/* As connscope.c's read_file: decoded ahead on a second thread, or in
 * this one if no thread can be started. */
static void read_all(struct cs_source *s)
{
	char err[512];
	struct cs_readahead *ra = cs_readahead_start(s, 0, &engine);
	struct cs_decoded *d;
	size_t n;

	if (ra) {
		while ((d = cs_readahead_next(ra, &n)) != NULL)
			cs_engine_decoded_batch(&engine, d, n);
		cs_readahead_stop(ra, err, sizeof err);
		return;
	}
	uint64_t got;
	while (cs_source_read(s, 4096, cs_engine_frame, &engine, &got, err,
			      sizeof err) == CS_READ_MORE)
		;
}

static void snapshot_and_render(const struct cs_report_source *src, bool finished)
{
	cs_engine_refresh(&engine);
	struct cs_snapshot *s = cs_snapshot_build(&engine, src, 1, false, finished);
	if (!s)
		return;
	fuzz_render_snapshot(s);
	cs_snapshot_unref(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "fuzz.pcap" };
	struct cs_report_source src = { .names = names, .name_cnt = 1 };
	struct outputs out = { .connlog = fuzz_sink() };
	struct cs_engine_opts o;
	struct cs_source *s;
	char err[512];

	if (size == 0)	/* fmemopen needs a buffer */
		return 0;
	/* read-only: fmemopen's buffer is not const only because of "w" */
	FILE *f = fmemopen((void *)(uintptr_t)data, size, "rb");
	if (!f)
		return 0;
	if (cs_source_open_stream(&s, f, names[0], err, sizeof err) != 0)
		return 0;	/* f is closed */

	fuzz_engine_opts(&o);
	o.keep_recent = true;
	if (cs_engine_init(&engine, &o, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz: %s\n", err);
		abort();
	}
	out.json_f = open_memstream(&out.json_text, &out.json_len);
	if (!out.json_f)
		abort();
	cs_report_json_begin(&out.json, out.json_f);
	cs_connlog_header(out.connlog);
	cs_engine_set_output(&engine, write_connection, &out);
	cs_report_source_add(&src, cs_source_datalink(s), cs_source_snaplen(s));

	read_all(s);
	cs_source_close(s);

	/* as connscope.c ends: a snapshot, the seconds closed, the last
	 * snapshot, then the open records judged and written */
	snapshot_and_render(&src, false);
	cs_engine_close_seconds(&engine);
	snapshot_and_render(&src, true);
	cs_engine_finish(&engine);
	cs_report_json_end(&out.json, &src, &engine);
	if (fclose(out.json_f) != 0)
		abort();
	json_require("the JSON report", out.json_text, out.json_len);
	free(out.json_text);
	cs_connlog_footer(out.connlog);
	cs_report_text(fuzz_sink(), &src, &engine, true);
	fuzz_check_engine(&engine);
	cs_engine_fini(&engine);
	return 0;
}
