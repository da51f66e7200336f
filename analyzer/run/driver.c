/*
 * driver.c — the run sequence: inputs, the engine, the reports.
 */
#include "analyzer/run/driver.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyzer/reports/summary.h"
#include "analyzer/run/readahead.h"
#include "analyzer/run/writer.h"
#include "analyzer/reports/listing.h"
#include "analyzer/tracking/zeek.h"
#include "capture/decode.h"

/* Frames per read of a file: bounds the time between checks of an
 * interrupt. */
#define FILE_READ_CHUNK 4096
/* Standard input may be a capture still being written (tcpdump -w - |
 * connscope -r - --web): a read blocks until its frames arrive, so the
 * dashboard gets a snapshot at least every this many. */
#define STREAM_READ_CHUNK 64
/* Snapshots while reading: at most this often, in seconds. */
#define PUBLISH_EVERY_SEC 0.5
/* Files this large get progress reports, twice a second, after the first
 * second (short files stay quiet). */
#define PROGRESS_MIN_BYTES (64u << 20)
#define PROGRESS_EVERY_SEC 0.5
#define PROGRESS_AFTER_SEC 1.0
/* The host view: the kernel is asked this often while capturing live. */
#define HOST_SAMPLE_EVERY_SEC 1.0
/* The sensor's logs are looked after this often: a rotation is this late
 * at most, a live connection's line leaves within this (and the writer's
 * turn), a SIGHUP is acted on within it. */
#define SENSOR_TICK_SEC 0.25
/* A live capture's kernel drops are read this often (pcap_stats). */
#define DROPS_EVERY_SEC 1.0

/* ---- small things -------------------------------------------------------- */

static double monotonic_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Live packet timestamps are wall-clock time: so are the ticks. */
static uint64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

__attribute__((format(printf, 2, 3)))
static void say(const struct cs_run *r, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (!r->cfg.say)
		return;
	va_start(ap, fmt);
	int len = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (len < 0)
		return;
	r->cfg.say(r->cfg.ctx, msg);
	free(msg);
}

static void worsen(struct cs_run *r, enum cs_run_status status)
{
	if (status > r->status)
		r->status = status;
}

static int remaining_count(const struct cs_run *r, int chunk)
{
	if (!r->cfg.count)
		return chunk;
	uint64_t left = r->cfg.count - r->frames;
	return left < (uint64_t)chunk ? (int)left : chunk;
}

static bool count_reached(const struct cs_run *r)
{
	return r->cfg.count && r->frames >= r->cfg.count;
}

/* An interrupt ended the reading before the input did: the reports say so. */
static void cut_short(struct cs_run *r)
{
	r->src.interrupted = true;
}

/* SIGUSR1's line, as tcpdump's: the figures so far, from the summary's
 * own definitions. */
static void say_stats(struct cs_run *r)
{
	struct cs_summary sum;
	struct cs_source *s = r->reading;
	uint64_t drops;
	char d[64] = "";

	r->stats_requested = 0;
	cs_summary_fill(&sum, &r->engine, &r->src);
	if (r->src.live && s && cs_source_drops(s, &drops) == 0)
		snprintf(d, sizeof d, ", %" PRIu64 " dropped by the kernel", drops);
	say(r, "%" PRIu64 " packets read, %" PRIu64 " analysed, %" PRIu64
	    " connections, %" PRIu64 " open%s", sum.packets, sum.analysed,
	    sum.connections, sum.open, d);
}

static void check_stats(struct cs_run *r)
{
	if (r->stats_requested)
		say_stats(r);
}

/* A stream's read waits for data: a poke (SIGUSR1) comes through here. */
static void on_poke(void *ctx)
{
	check_stats(ctx);
}

/* ---- what people hear about an input --------------------------------------- */

/* The anomaly counters, read before an input to tell what it added. */
struct anomalies {
	uint64_t bad_records;
	uint64_t ts_backwards;
	uint64_t ts_invalid;
};

static struct anomalies anomalies_now(const struct cs_run *r)
{
	struct anomalies a = {
		.bad_records = r->engine.stats.skipped[CS_SKIP_BAD_RECORD],
		.ts_backwards = r->engine.stats.ts_backwards,
		.ts_invalid = r->engine.stats.ts_invalid,
	};
	return a;
}

/*
 * Anomalies that leave the file's framing intact: every record after them
 * is read and analysed, so the input is not unreadable (status OK), but
 * people hear of each kind once per input, with the counter that holds
 * it.  Damage that stops the reading is reported by the reader (BAD_INPUT).
 */
static void report_anomalies(const struct cs_run *r, const char *name,
			     const struct anomalies *before)
{
	struct anomalies now = anomalies_now(r);
	uint64_t bad = now.bad_records - before->bad_records;
	uint64_t back = now.ts_backwards - before->ts_backwards;
	uint64_t no_time = now.ts_invalid - before->ts_invalid;

	if (bad)
		say(r, "warning: '%s': %" PRIu64 " record%s with an impossible "
		    "length (no captured bytes, or more than the packet had on "
		    "the wire) skipped and counted as skipped.bad_record; the "
		    "records after %s were read", name, bad, bad == 1 ? "" : "s",
		    bad == 1 ? "it" : "them");
	if (back)
		say(r, "warning: '%s': %" PRIu64 " packet%s timestamped earlier "
		    "than the packet before (counted as summary.ts_backwards); "
		    "connection timers keep to the latest time seen", name, back,
		    back == 1 ? " is" : "s are");
	if (no_time)
		say(r, "warning: '%s': %" PRIu64 " packet%s a timestamp that is "
		    "no time (before 1970, past 2^64 us, or a fraction of a "
		    "second out of range); analysed at the time of the packets "
		    "before (counted as summary.ts_invalid)", name, no_time,
		    no_time == 1 ? " has" : "s have");
}

static void warn_unsupported_linktype(const struct cs_run *r, const char *name,
				      int dlt)
{
	char buf[32];

	if (!cs_linktype_supported(dlt))
		say(r, "warning: '%s': link type %s is not decoded; its packets "
		    "are counted as skipped (linktype)", name,
		    cs_linktype_name(dlt, buf, sizeof buf));
}

struct progress {
	double next;		/* monotonic second of the next report */
	bool shown;		/* a report was made: clear it at the end */
};

static void report_progress(struct cs_run *r, struct cs_source *s,
			    struct progress *p)
{
	struct cs_run_progress now = { .name = cs_source_name(s) };
	double t;

	if (!r->cfg.progress)
		return;
	t = monotonic_sec();
	if (t < p->next ||
	    cs_source_progress(s, &now.done_bytes, &now.total_bytes) != 0 ||
	    now.total_bytes < PROGRESS_MIN_BYTES)
		return;
	p->next = t + PROGRESS_EVERY_SEC;
	p->shown = true;
	now.packets = r->engine.stats.packets;
	r->cfg.progress(r->cfg.ctx, &now);
}

/* ---- snapshots ------------------------------------------------------------- */

/* The dashboard's gauges could not keep every record's SYN timeout on
 * time (no memory: tally.h): said once, and again if it grows tenfold. */
static void say_gauges_lost(struct cs_run *r)
{
	uint64_t lost = r->engine.open.young_lost;

	if (lost <= r->gauges_lost_told * 10)
		return;
	r->gauges_lost_told = lost;
	say(r, "warning: out of memory for the dashboard's gauges: %" PRIu64
	    " open connection%s counted as attempts past their SYN timeout "
	    "until their next packet or their end", lost, lost == 1 ? "" : "s");
}

/* The dashboard's view, a couple of times a second and at the end. */
static void publish(struct cs_run *r, bool finished)
{
	if (!r->cfg.publish)
		return;
	double now = monotonic_sec();
	if (!finished && now < r->next_publish)
		return;
	r->next_publish = now + PUBLISH_EVERY_SEC;
	r->last_publish = now;
	r->published_frames = r->frames;
	cs_engine_refresh(&r->engine);
	say_gauges_lost(r);
	struct cs_snapshot *s = cs_snapshot_build(&r->engine, &r->src,
						  ++r->snap_seq, r->src.live,
						  finished);
	if (s)
		r->cfg.publish(r->cfg.ctx, s);
}

/*
 * A stream has nothing more for now (its writer is slow, or pauses):
 * show what came so far before the next read blocks.  Within 50 ms of the
 * last snapshot it waits out the rest of those 50 ms for more input first,
 * so a fast writer does not cause a snapshot per read.  (What stdio has
 * buffered already is at most a few KiB: a few reads.)
 */
static void publish_if_stalled(struct cs_run *r, struct cs_source *s)
{
	if (!r->cfg.publish || r->frames == r->published_frames)
		return;
	double wait = r->last_publish + 0.05 - monotonic_sec();
	if (!cs_source_stalled(s, wait > 0 ? (int)(wait * 1000) + 1 : 0))
		return;		/* more is coming (or a signal came) */
	r->next_publish = 0;
	publish(r, false);
}

/* ---- outputs ---------------------------------------------------------------- */

static bool wanted(const struct cs_run_sink *k)
{
	return k->path || k->stream;
}

static const char *sink_name(const struct cs_run_sink *k)
{
	return k->path ? k->path : "(stream)";
}

/* Standard output's buffer when it carries a report: it lives as long as
 * the stream, to the process's exit. */
static char stdout_buf[CS_OUTFILE_BUFFER_BYTES];

/* A file is written under a temporary name until it is complete
 * (outfile.h); standard output and the caller's streams directly. */
static FILE *open_output(const struct cs_run *r, const struct cs_run_sink *k,
			 struct cs_outfile *file)
{
	char err[PATH_MAX + 256];

	if (k->stream)
		return k->stream;
	if (!strcmp(k->path, "-")) {
		cs_outfile_buffer_stream(stdout, stdout_buf);
		return stdout;
	}
	if (cs_outfile_open(file, k->path, err, sizeof err) != 0) {
		say(r, "%s", err);
		return NULL;
	}
	return file->f;
}

/* Standard output and the caller's streams are flushed; a file is closed
 * and put in place of the old one. */
static void close_output(struct cs_run *r, FILE *f, const struct cs_run_sink *k,
			 struct cs_outfile *file)
{
	char err[2 * PATH_MAX + 256];

	if (f == stdout || f == k->stream) {
		int bad = ferror(f);
		bad |= fflush(f) != 0;
		if (!bad)
			return;
		snprintf(err, sizeof err, "writing '%s' failed: %s",
			 sink_name(k), strerror(errno));
	} else if (cs_outfile_commit(file, k->path, err, sizeof err) == 0) {
		return;
	}
	say(r, "%s", err);
	worsen(r, CS_RUN_FAILED);
}

/* -l: what a reader of a live capture's pipe waits for goes out now,
 * not when stdio's buffer fills (tcpdump -l). */
static void flush_streamed(struct cs_run *r)
{
	if (r->connlog_f)
		fflush(r->connlog_f);
	if (r->json_f)
		fflush(r->json_f);
}

/* Each finished connection goes to the streamed outputs at once; a
 * conn.log row may also end inside a record that goes on (v NULL). */
static void write_connection(void *ctx, const struct cs_conn *c,
			     const struct cs_verdict *v)
{
	struct cs_run *r = ctx;
	FILE *f;

	if (r->connlog_f)
		cs_connlog_row(r->connlog_f, c, cs_zeek_conn_state(c));
	if (r->json_f) {
		if (v)
			cs_report_json_conn(&r->json, c, v);
		else
			cs_report_json_row(&r->json, c);
	}
	if (r->connlog_streamed) {
		if ((f = cs_logstream_lock(&r->connlog_stream)))
			cs_connlog_row(f, c, cs_zeek_conn_state(c));
		cs_logstream_unlock(&r->connlog_stream);
	}
	if (r->jsonl_on) {
		f = cs_logstream_lock(&r->jsonl);
		if (!v)
			cs_report_json_row(&r->jsonl_rows, c);
		else if (f)
			cs_jsonl_conn(f, &r->jsonl_rows, c, v);
		cs_logstream_unlock(&r->jsonl);
	}
	if (v && r->listing)
		cs_listing_row(r->listing, c, v);
	if (r->cfg.line_buffered)
		flush_streamed(r);
}

/*
 * The writer's helper (writer.h), when the JSON report is the only output:
 * a connection's object formatted alone, on one line, then placed in the
 * report by the writer thread.  A conn.log row that ends inside a record
 * (no verdict) and a connection with such rows kept go to
 * write_connection: those read and change the report's rows.
 */
static bool format_connection(void *ctx, FILE *out, const struct cs_conn *c,
			      const struct cs_verdict *v)
{
	struct cs_json j;

	(void)ctx;
	if (!v)
		return false;
	cs_json_init(&j, out, 0);
	return cs_report_json_conn_alone(&j, c, v);
}

static void emit_connection(void *ctx, const char *text, size_t len)
{
	struct cs_run *r = ctx;

	cs_json_raw(&r->json.j, text, len);
}

static const struct cs_writer_helper json_helper = {
	format_connection, emit_connection,
};

/* ---- the sensor's logs -------------------------------------------------------- */

static uint64_t wall_sec(void)
{
	return wall_us() / CS_USEC_PER_SEC;
}

static bool sensor_logs(const struct cs_run *r)
{
	return r->jsonl_on || r->connlog_streamed;
}

/* Rotation is aligned to the clock, as Zeek's: every file but the first
 * and the last holds exactly one interval. */
static uint64_t interval_start(const struct cs_run *r, uint64_t sec)
{
	return r->cfg.rotate_sec ? sec / r->cfg.rotate_sec * r->cfg.rotate_sec : sec;
}

/* A log that cannot be written is said and makes the run's status, but
 * the capture goes on: the dashboard and the other outputs still work. */
static void log_trouble(struct cs_run *r, const char *err)
{
	say(r, "%s", err);
	worsen(r, CS_RUN_FAILED);
}

/* A conn.log is a log like the JSON Lines only when it is rotated: else it
 * is a report, put in place whole at the end. */
static bool connlog_is_log(const struct cs_run *r)
{
	const struct cs_run_sink *k = &r->cfg.connlog;

	return r->cfg.rotate_sec && k->path && !k->stream && strcmp(k->path, "-");
}

static int open_sensor_logs(struct cs_run *r)
{
	char err[PATH_MAX + 256];
	uint64_t now = wall_sec(), start = interval_start(r, now);

	if (r->cfg.jsonl_path) {
		if (!(r->alert_lines = calloc(1, sizeof *r->alert_lines))) {
			say(r, "out of memory for --jsonl");
			return -1;
		}
		if (cs_logstream_open(&r->jsonl, r->cfg.jsonl_path, NULL, NULL,
				      start, err, sizeof err) != 0) {
			say(r, "%s", err);
			return -1;
		}
		r->jsonl_on = true;
	}
	if (connlog_is_log(r)) {
		if (cs_logstream_open(&r->connlog_stream, r->cfg.connlog.path,
				      cs_connlog_header, cs_connlog_footer, start,
				      err, sizeof err) != 0) {
			say(r, "%s", err);
			return -1;
		}
		r->connlog_streamed = true;
	}
	r->next_rotate_sec = start + r->cfg.rotate_sec;
	r->next_stats_sec = now + r->cfg.stats_interval_sec;
	return 0;
}

static void flush_logs(void *ctx)
{
	struct cs_run *r = ctx;

	cs_logstream_flush(&r->jsonl);
	cs_logstream_flush(&r->connlog_stream);
}

static void reopen_logs(struct cs_run *r)
{
	char err[PATH_MAX + 256];

	r->reopen_requested = 0;
	if (r->jsonl_on && cs_logstream_reopen(&r->jsonl, err, sizeof err) != 0)
		log_trouble(r, err);
	if (r->connlog_streamed &&
	    cs_logstream_reopen(&r->connlog_stream, err, sizeof err) != 0)
		log_trouble(r, err);
}

/* The rows of connections finished in the interval go to its file first. */
static void rotate_logs(struct cs_run *r, uint64_t now)
{
	char err[2 * PATH_MAX + 256];
	uint64_t start = interval_start(r, now);

	cs_writer_drain(r->writer);
	if (r->jsonl_on && cs_logstream_rotate(&r->jsonl, start, err, sizeof err) != 0)
		log_trouble(r, err);
	if (r->connlog_streamed &&
	    cs_logstream_rotate(&r->connlog_stream, start, err, sizeof err) != 0)
		log_trouble(r, err);
	r->next_rotate_sec = start + r->cfg.rotate_sec;
}

/* The alerts' start and end lines, and the stats line when it is due; at
 * the end, every alert ends and a last stats line is written. */
static void write_events(struct cs_run *r, uint64_t now, bool at_end)
{
	bool stats = r->cfg.stats_interval_sec &&
		     (at_end || now >= r->next_stats_sec);
	FILE *f;

	if (r->engine.detect.alerts.count)
		cs_detect_refresh(&r->engine.detect);	/* the sentences */
	if ((f = cs_logstream_lock(&r->jsonl))) {
		cs_jsonl_alerts_update(f, r->alert_lines, &r->engine.detect.alerts,
				       r->engine.now_us, at_end);
		if (stats)
			cs_jsonl_stats(f, &r->engine, &r->src, wall_us());
	}
	cs_logstream_unlock(&r->jsonl);
	if (stats)
		r->next_stats_sec = now + r->cfg.stats_interval_sec;
}

/* Live: what was put is handed to the writer, which flushes the files once
 * it has written it (cs_writer_on_idle); the lines written here, now. */
static void sensor_tick(struct cs_run *r)
{
	if (!sensor_logs(r))
		return;
	double t = monotonic_sec();
	if (t < r->next_sensor_tick)
		return;
	r->next_sensor_tick = t + SENSOR_TICK_SEC;
	uint64_t now = wall_sec();
	if (r->reopen_requested)
		reopen_logs(r);
	if (r->cfg.rotate_sec && now >= r->next_rotate_sec)
		rotate_logs(r, now);
	if (r->jsonl_on)
		write_events(r, now, false);
	if (r->src.live) {
		cs_writer_flush(r->writer);
		flush_logs(r);
	}
}

/* The last lines, and the files ended; rotated ones renamed after their
 * interval as at every rotation. */
static void end_sensor_logs(struct cs_run *r)
{
	char err[2 * PATH_MAX + 256];

	if (r->jsonl_on) {
		write_events(r, wall_sec(), true);
		if (cs_logstream_close(&r->jsonl, r->cfg.rotate_sec != 0, err,
				       sizeof err) != 0)
			log_trouble(r, err);
		r->jsonl_on = false;
	}
	if (r->connlog_streamed) {
		if (cs_logstream_close(&r->connlog_stream, true, err, sizeof err) != 0)
			log_trouble(r, err);
		r->connlog_streamed = false;
	}
}

static int open_streamed_outputs(struct cs_run *r)
{
	if (open_sensor_logs(r) != 0)
		return -1;
	if (wanted(&r->cfg.json)) {
		if (!(r->json_f = open_output(r, &r->cfg.json, &r->json_file)))
			return -1;
		cs_report_json_begin(&r->json, r->json_f);
	}
	if (wanted(&r->cfg.connlog) && !r->connlog_streamed) {
		if (!(r->connlog_f = open_output(r, &r->cfg.connlog,
						 &r->connlog_file)))
			return -1;
		cs_connlog_header(r->connlog_f);
	}
	if (r->cfg.list_conns && wanted(&r->cfg.text) && !(r->listing = tmpfile())) {
		say(r, "cannot keep the connection listing (-v): %s", strerror(errno));
		return -1;
	}
	if (r->cfg.line_buffered)
		flush_streamed(r);
	/* Formatting rows costs more than analysing their packets: a thread of
	 * its own does it, when there are rows to write. */
	if (r->json_f || r->connlog_f || r->listing || sensor_logs(r))
		r->writer = cs_writer_start(write_connection, r);
	if (r->writer) {
		cs_writer_watch(r->writer, &r->aborted);
		if (r->cfg.line_buffered)
			cs_writer_hand_over_each(r->writer);
		if (r->src.live && sensor_logs(r))
			cs_writer_on_idle(r->writer, flush_logs);
		cs_engine_set_output(&r->engine, cs_writer_put, r->writer);
	} else {
		cs_engine_set_output(&r->engine, write_connection, r);
	}
	return 0;
}

/*
 * Once the first input is open: the begin callback (connscope gives up
 * root there: opening a device or a root-only file was the only reason for
 * it), then the outputs, so they belong to the user it became.
 */
static int begin_once(struct cs_run *r)
{
	char err[256];

	if (r->began)
		return 0;
	if (r->begin_failed)
		return -1;		/* tried once: not again */
	if (r->cfg.begin && r->cfg.begin(r->cfg.ctx, err, sizeof err) != 0) {
		say(r, "%s", err);
		goto fail;
	}
	if (open_streamed_outputs(r) != 0)
		goto fail;
	r->began = true;
	return 0;
fail:
	r->begin_failed = true;
	worsen(r, CS_RUN_FAILED);
	return -1;
}

/* ---- files ------------------------------------------------------------------ */

/* Analyses a file decoded ahead by a second thread (readahead.h); false
 * if no thread could be started. */
static bool read_ahead(struct cs_run *r, struct cs_source *s, struct progress *p)
{
	uint64_t max = r->cfg.count ? r->cfg.count - r->frames : 0;
	struct cs_readahead *ra = cs_readahead_start(s, max, &r->engine);
	struct cs_decoded *d;
	size_t n;
	char err[512];

	if (!ra)
		return false;
	/* An interrupt now only sets the flag: the source belongs to the
	 * reader thread, which the loop below stops. */
	r->reading = NULL;
	for (;;) {
		if (r->interrupted) {
			cut_short(r);
			break;
		}
		if (!(d = cs_readahead_next(ra, &n)))
			break;
		cs_engine_decoded_batch(&r->engine, d, n);
		r->frames += n;
		report_progress(r, s, p);
		publish(r, false);
		check_stats(r);
		sensor_tick(r);
	}
	r->reading = s;
	if (cs_readahead_stop(ra, err, sizeof err) == CS_READ_ERROR) {
		say(r, "%s", err);
		worsen(r, CS_RUN_BAD_INPUT);
	}
	return true;
}

/* Reads s on this thread, a chunk at a time. */
static void read_here(struct cs_run *r, struct cs_source *s, bool stream,
		      struct progress *p)
{
	int chunk = stream && r->cfg.publish ? STREAM_READ_CHUNK : FILE_READ_CHUNK;
	char err[512];
	uint64_t n;

	while (!count_reached(r)) {
		if (r->interrupted) {
			cut_short(r);
			break;
		}
		report_progress(r, s, p);
		publish(r, false);
		check_stats(r);
		sensor_tick(r);
		if (stream)
			publish_if_stalled(r, s);
		enum cs_read rc = cs_source_read(s, remaining_count(r, chunk),
						 cs_engine_frame, &r->engine,
						 &n, err, sizeof err);
		r->frames += n;
		if (rc == CS_READ_BROKEN)
			cut_short(r);
		if (rc == CS_READ_EOF || rc == CS_READ_BROKEN)
			break;
		if (rc == CS_READ_ERROR) {
			say(r, "%s", err);
			worsen(r, CS_RUN_BAD_INPUT);
			break;
		}
	}
}

/* Reads one open input to its end, an interrupt, the count, or damage. */
static void read_input(struct cs_run *r, struct cs_source *s, bool stream)
{
	struct anomalies before = anomalies_now(r);
	struct progress p = { .next = monotonic_sec() + PROGRESS_AFTER_SEC };

	r->reading = s;
	/* A stream (standard input, a FIFO) keeps one thread: with a dashboard,
	 * what arrived must be shown when the writer pauses, and a reader
	 * thread would hold it; and a stop must reach the wait for its data. */
	if (stream || !read_ahead(r, s, &p))
		read_here(r, s, stream, &p);
	r->reading = NULL;
	if (p.shown)
		r->cfg.progress(r->cfg.ctx, NULL);
	report_anomalies(r, cs_source_name(s), &before);
}

/*
 * cfg.filter compiled for s and installed.  A compilation can take seconds
 * (it runs in a bounded child, which an interrupt kills): files of one link
 * type and snap length share one.
 */
static enum cs_filter_result filter_input(struct cs_run *r, struct cs_source *s,
					  char *err, size_t errlen)
{
	struct cs_filter_bounds b;

	if (!r->cfg.filter)
		return CS_FILTER_OK;
	cs_filter_bounds_default(&b);
	b.wake = &r->wake;
	if (!cs_filter_fits(r->filter, s)) {
		cs_filter_free(r->filter);
		r->filter = NULL;
		enum cs_filter_result rc = cs_filter_compile(&r->filter, s, r->cfg.filter,
							     &b, err, errlen);
		if (rc != CS_FILTER_OK)
			return rc;
	}
	if (cs_source_apply_filter(s, r->filter, r->cfg.filter, err, errlen) != 0)
		return CS_FILTER_INVALID;
	if (!cs_filter_keeps_icmp(r->filter))
		r->src.filter_keeps_icmp = false;
	return CS_FILTER_OK;
}

enum filtered { FILTERED, SKIP_INPUT, END_RUN };

/*
 * The filter on an input.  A filter that fails only on a file's link type
 * (it compiles for Ethernet: "ether host" on raw IP packets) is that
 * file's problem: it is skipped, as an unreadable file is, and the next
 * one read.  One that compiles for no link type, or not within bounds, is
 * the command line's: the run ends.
 */
static enum filtered set_filter(struct cs_run *r, struct cs_source *s)
{
	char err[1024];

	switch (filter_input(r, s, err, sizeof err)) {
	case CS_FILTER_OK:
		return FILTERED;
	case CS_FILTER_STOPPED:
		return END_RUN;		/* the interrupt says so */
	case CS_FILTER_NOT_FOR_LINKTYPE:
		if (cs_source_is_live(s))
			break;
		say(r, "%s; the file is skipped", err);
		worsen(r, CS_RUN_BAD_INPUT);
		return SKIP_INPUT;
	case CS_FILTER_INVALID:
	case CS_FILTER_TOO_COMPLEX:
		break;
	default:
		say(r, "%s", err);
		worsen(r, CS_RUN_FAILED);
		return END_RUN;
	}
	if (!r->interrupted) {
		say(r, "%s", err);
		worsen(r, CS_RUN_BAD_FILTER);
	}
	return END_RUN;
}

/* Opens and filters a file; a failure is reported (but not one an
 * interrupt caused: the wait for a FIFO's writer, or the compilation, was
 * cut short). */
static enum filtered open_file(struct cs_run *r, const char *path,
			       struct cs_source **out)
{
	const struct cs_source_wait wait = {
		.wake = &r->wake, .poked = on_poke, .ctx = r,
	};
	char err[512];

	if (cs_source_open_file(out, path, &wait, err, sizeof err) != 0) {
		if (r->interrupted)
			return END_RUN;
		say(r, "%s", err);
		worsen(r, CS_RUN_BAD_INPUT);
		return SKIP_INPUT;
	}
	enum filtered f = set_filter(r, *out);
	if (f != FILTERED) {
		cs_source_close(*out);
		*out = NULL;
	}
	return f;
}

/* An open, filtered file: begins the run if it is the first, then reads
 * it; -1 if the run could not begin. */
static int read_opened(struct cs_run *r, struct cs_source *s)
{
	if (begin_once(r) != 0)
		return -1;
	cs_report_source_add(&r->src, cs_source_datalink(s), cs_source_snaplen(s));
	warn_unsupported_linktype(r, cs_source_name(s), cs_source_datalink(s));
	read_input(r, s, cs_source_is_stream(s));
	return 0;
}

/*
 * Files are one stream: a damaged or unreadable file is reported and the
 * next one is read, and the status says the input was not all good.
 */
void cs_run_read_files(struct cs_run *r)
{
	for (int i = 0; i < r->cfg.file_cnt && !count_reached(r); i++) {
		struct cs_source *s;

		if (r->interrupted) {
			cut_short(r);
			return;
		}
		enum filtered f = open_file(r, r->cfg.files[i], &s);
		if (f == END_RUN) {
			if (r->interrupted)
				cut_short(r);
			return;
		}
		if (f == SKIP_INPUT)
			continue;
		int rc = read_opened(r, s);
		cs_source_close(s);
		if (rc != 0)
			return;
	}
}

void cs_run_read_source(struct cs_run *r, struct cs_source *s)
{
	if (set_filter(r, s) == FILTERED)
		read_opened(r, s);
}

int cs_run_feed_frame(struct cs_run *r, const struct cs_frame *f)
{
	if (begin_once(r) != 0)
		return -1;
	cs_engine_frame(&r->engine, f);
	r->frames++;
	publish(r, false);
	return 0;
}

/* ---- live ------------------------------------------------------------------- */

/*
 * The host view is read on this thread, once a second, between reads of
 * the ring: a sample is one netlink dump and two small /proc reads, which
 * the ring's buffer absorbs, and this thread stays the only writer of the
 * analyzer's state.  Opened before the begin callback drops privileges.
 */
static void open_host_view(struct cs_run *r)
{
	char err[256];

	if (r->cfg.no_host)
		return;
	if (cs_hostread_open(&r->host, err, sizeof err) != 0) {
		say(r, "warning: %s", err);
		return;
	}
	r->host_open = true;
	r->engine.host.on = true;
}

static void sample_host(struct cs_run *r, bool now)
{
	double t = monotonic_sec();

	if (!r->host_open || (!now && t < r->next_host_sample))
		return;
	r->next_host_sample = t + HOST_SAMPLE_EVERY_SEC;
	cs_hostread_sample(&r->host, wall_us(), &r->host_sample);
	cs_engine_host_sample(&r->engine, &r->host_sample);
}

/* The kernel's drop counters (pcap_stats), into the figures. */
static void read_drops(struct cs_run *r, struct cs_source *s)
{
	uint64_t drops;

	if (cs_source_drops(s, &drops) == 0) {
		r->engine.stats.have_drops = true;
		r->engine.stats.capture_drops = drops;
	}
}

/* While it runs, every second: a sensor's dashboard and /metrics show the
 * drops as they happen, not only in the report at the end. */
static void read_drops_now_and_then(struct cs_run *r, struct cs_source *s)
{
	double t = monotonic_sec();

	if (t < r->next_drops_read)
		return;
	r->next_drops_read = t + DROPS_EVERY_SEC;
	read_drops(r, s);
}

/* What reached the ring before the end is part of the capture; then the
 * kernel's drop counters. */
static void end_capture(struct cs_run *r, struct cs_source *s)
{
	if (!count_reached(r) && !r->aborted) {
		int max = r->cfg.count ? remaining_count(r, INT_MAX) : -1;
		r->frames += cs_source_drain(s, wall_us(), max, cs_engine_frame,
					     &r->engine);
	}
	read_drops(r, s);
	sample_host(r, true);	/* the counters' last word */
}

static void capture_live(struct cs_run *r, struct cs_source *s)
{
	char err[512];
	uint64_t n;
	double deadline = r->cfg.duration_sec > 0 ?
		monotonic_sec() + r->cfg.duration_sec : 0;

	while (!count_reached(r)) {
		/* A live capture has no end of its own: ended by a signal
		 * rather than -c or --duration, it counts as cut short. */
		if (r->interrupted) {
			cut_short(r);
			break;
		}
		check_stats(r);
		/* -1: whatever the ring holds; the read timeout returns on a
		 * quiet link so the deadline and the interrupt are seen. */
		int max = r->cfg.count ? remaining_count(r, INT_MAX) : -1;
		enum cs_read rc = cs_source_read(s, max, cs_engine_frame,
						 &r->engine, &n, err, sizeof err);
		r->frames += n;
		if (rc == CS_READ_EOF)
			break;
		if (rc == CS_READ_ERROR) {
			say(r, "%s", err);
			worsen(r, CS_RUN_FAILED);
			return;
		}
		if (n == 0)
			cs_engine_tick(&r->engine, wall_us());
		sample_host(r, false);
		read_drops_now_and_then(r, s);
		publish(r, false);
		sensor_tick(r);
		if (rc == CS_READ_BROKEN)
			cut_short(r);
		if (rc == CS_READ_BROKEN ||
		    (deadline > 0 && monotonic_sec() >= deadline))
			break;
	}
	end_capture(r, s);
}

void cs_run_capture_live(struct cs_run *r)
{
	const struct cs_live_opts *o = r->cfg.live;
	char err[512] = "";
	struct cs_source *s;

	if (cs_source_open_live(&s, o, err, sizeof err) != 0) {
		say(r, "%s", err);
		worsen(r, CS_RUN_BAD_INPUT);
		return;
	}
	if (err[0])
		say(r, "%s", err);	/* a warning: the capture goes on */
	open_host_view(r);
	if (set_filter(r, s) == FILTERED && begin_once(r) == 0) {
		warn_unsupported_linktype(r, o->iface, cs_source_datalink(s));
		cs_report_source_add(&r->src, cs_source_datalink(s),
				     cs_source_snaplen(s));
		say(r, "capturing on %s (snaplen %d, buffer %d MiB); Ctrl-C stops",
		    o->iface, o->snaplen, o->buffer_mib);
		struct anomalies before = anomalies_now(r);
		sample_host(r, true);	/* the counters' first word */
		r->reading = s;
		capture_live(r, s);
		r->reading = NULL;
		report_anomalies(r, o->iface, &before);
	}
	cs_source_close(s);
}

/* ---- the end ------------------------------------------------------------------ */

static void end_streamed_reports(struct cs_run *r)
{
	if (r->json_f) {
		cs_report_json_end(&r->json, &r->src, &r->engine);
		cs_report_json_fini(&r->json);
		close_output(r, r->json_f, &r->cfg.json, &r->json_file);
		r->json_f = NULL;
	}
	if (r->connlog_f) {
		cs_connlog_footer(r->connlog_f);
		close_output(r, r->connlog_f, &r->cfg.connlog, &r->connlog_file);
		r->connlog_f = NULL;
	}
}

static bool colour_for(const struct cs_run *r, FILE *f)
{
	switch (r->cfg.colour) {
	case CS_RUN_COLOUR_ALWAYS:
		return true;
	case CS_RUN_COLOUR_ON_TERMINAL:
		return isatty(fileno(f));
	default:
		return false;
	}
}

static void write_text_report(struct cs_run *r)
{
	const struct cs_run_sink *k = &r->cfg.text;
	struct cs_outfile file;
	FILE *f;

	if (!wanted(k))
		return;
	if (!(f = open_output(r, k, &file))) {
		worsen(r, CS_RUN_FAILED);
		return;
	}
	cs_report_text(f, &r->src, &r->engine, colour_for(r, f));
	if (r->listing && cs_listing_copy(f, r->listing,
					  r->engine.conns.connections) != 0) {
		say(r, "reading the connection listing (-v) back failed: %s",
		    strerror(errno));
		worsen(r, CS_RUN_FAILED);
	}
	close_output(r, f, k, &file);
}

void cs_run_finish(struct cs_run *r)
{
	if (!r->began || r->finished)
		return;
	r->finished = true;
	/* The last view before the report finishes the open connections, so
	 * the dashboard shows the states they were in at the end; the
	 * detectors' last second is judged first, so it shows in the alerts. */
	cs_engine_close_seconds(&r->engine);
	if (r->cfg.publish)
		cs_engine_keep_open(&r->engine);
	publish(r, true);
	/* The connections still open come all at once now: a second thread
	 * formats half of them (writer.h), when only the report is written.
	 * Through the capture, the writer keeps up, or the two cores are
	 * busy already: a helper then made LARGE slower. */
	if (r->writer && r->json_f && !r->connlog_f && !r->listing &&
	    !sensor_logs(r) && !r->cfg.line_buffered && !r->aborted)
		cs_writer_help(r->writer, &json_helper);
	/* Aborted: the rows are dropped (cs_writer_watch), and the writer,
	 * which may be stuck on a full pipe, is not waited for. */
	cs_engine_finish(&r->engine);
	cs_writer_drain(r->writer);
	if (r->aborted)
		return;
	cs_writer_stop(r->writer);	/* every row written before the end */
	r->writer = NULL;
	cs_engine_set_output(&r->engine, NULL, NULL);	/* nothing after it */
	end_sensor_logs(r);
	end_streamed_reports(r);
	write_text_report(r);
	if (!cs_stats_balanced(&r->engine.stats)) {
		say(r, "internal error: packet accounting does not balance");
		worsen(r, CS_RUN_FAILED);
	}
}

/* ---- setting up ------------------------------------------------------------------ */

int cs_run_init(struct cs_run *r, const struct cs_run_config *cfg,
		char *err, size_t errlen)
{
	memset(r, 0, sizeof *r);
	r->cfg = *cfg;
	r->src.live = cfg->live != NULL;
	r->src.names = cfg->live ? &cfg->live->iface : cfg->files;
	r->src.name_cnt = cfg->live ? 1 : cfg->file_cnt;
	r->src.filter = cfg->filter;
	r->src.filter_keeps_icmp = cfg->filter != NULL;
	if (cs_wake_init(&r->wake, err, errlen) != 0)
		return -1;
	if (cs_engine_init(&r->engine, &cfg->engine, err, errlen) != 0) {
		cs_wake_fini(&r->wake);
		return -1;
	}
	return 0;
}

void cs_run_fini(struct cs_run *r)
{
	cs_writer_stop(r->writer);	/* stopped already, if finished */
	r->writer = NULL;
	cs_report_json_fini(&r->json);	/* the rows of a run cut short */
	cs_engine_set_output(&r->engine, NULL, NULL);
	/* Streams left open by a run that did not finish (no footer): the
	 * files written so far are removed, the old ones stay. */
	cs_outfile_discard(&r->json_file);
	cs_outfile_discard(&r->connlog_file);
	r->json_f = r->connlog_f = NULL;
	if (r->listing)
		fclose(r->listing);
	r->listing = NULL;
	/* Logs of a run that did not finish stay as far as they got. */
	char err[2 * PATH_MAX + 256];
	cs_logstream_close(&r->jsonl, false, err, sizeof err);
	cs_logstream_close(&r->connlog_stream, false, err, sizeof err);
	r->jsonl_on = r->connlog_streamed = false;
	free(r->alert_lines);
	r->alert_lines = NULL;
	cs_report_json_fini(&r->jsonl_rows);
	cs_filter_free(r->filter);
	r->filter = NULL;
	if (r->host_open)
		cs_hostread_close(&r->host);
	r->host_open = false;
	cs_engine_fini(&r->engine);
	cs_wake_fini(&r->wake);
}

/* The three below run in signal handlers: flags, a write(2) to the wake's
 * pipe, pcap_breakloop's flag; nothing else. */
void cs_run_interrupt(struct cs_run *r)
{
	r->interrupted = 1;
	cs_wake_stop(&r->wake);
	struct cs_source *s = r->reading;
	if (s)
		cs_source_breakloop(s);
}

void cs_run_request_stats(struct cs_run *r)
{
	r->stats_requested = 1;
	cs_wake_poke(&r->wake);
}

void cs_run_request_reopen(struct cs_run *r)
{
	r->reopen_requested = 1;
}

void cs_run_abort(struct cs_run *r)
{
	r->aborted = 1;
	cs_run_interrupt(r);
}

/* A stream in use by a thread stuck in write() is locked by it: left. */
static void flush_if_free(FILE *f)
{
	if (f && ftrylockfile(f) == 0) {
		fflush_unlocked(f);
		funlockfile(f);
	}
}

/* A report under a temporary name is removed (the old one stays, as
 * after any run that did not end its reports); one written in place,
 * standard output or a FIFO, is flushed as far as it got. */
static void abandon_output(FILE *f, const struct cs_outfile *file)
{
	if (f && !(file->f == f && cs_outfile_abandon(file)))
		flush_if_free(f);
}

void cs_run_abandon(struct cs_run *r)
{
	abandon_output(r->json_f, &r->json_file);
	abandon_output(r->connlog_f, &r->connlog_file);
	flush_if_free(r->jsonl.f);
	flush_if_free(r->connlog_stream.f);
	flush_if_free(stdout);
}
