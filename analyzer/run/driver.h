/*
 * driver.h — one run: open the inputs, feed the engine, end the reports.
 *
 * The run sequence exists here once, and every entry point calls it: the
 * binary (connscope.c), the fuzz targets and the tests.  A run reads
 * capture files in order as one stream (decoded ahead on a second thread,
 * readahead.h), or one live interface; finished connections go to the
 * streamed outputs (formatted on a writer thread, writer.h) while it reads.
 * At the end it closes the detectors' last second, publishes the last
 * snapshot, finishes the open records, drains the writer and ends the
 * reports — also after an interrupt and after a damaged file, with what
 * was read until then.
 *
 * It owns the engine and the output streams it opens.  It never speaks to
 * people or the system on its own: messages go to the caller's say
 * callback, snapshots to its publish callback, the dropping of privileges
 * is the begin callback's; it installs no signal handler and maps no exit
 * status (status says how the run went).
 */
#ifndef CS_ANALYZER_DRIVER_H
#define CS_ANALYZER_DRIVER_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "analyzer/engine.h"
#include "analyzer/reports/report.h"
#include "analyzer/reports/jsonl.h"
#include "analyzer/run/logstream.h"
#include "analyzer/run/outfile.h"
#include "analyzer/views/snapshot.h"
#include "capture/hostread.h"
#include "capture/source.h"

/* How a run went, in order of gravity: a run keeps the worst it met. */
enum cs_run_status {
	CS_RUN_OK,
	CS_RUN_BAD_FILTER,	/* the BPF filter does not compile, or not
				 * within bounds */
	CS_RUN_BAD_INPUT,	/* an input could not be opened, is damaged, or
				 * its link type cannot take the filter */
	CS_RUN_FAILED,		/* the device, an output, the begin callback,
				 * or the packet accounting failed */
	CS_RUN_STATUS_MAX
};

/*
 * Where a report goes: a path ("-": standard output) that the run creates
 * once the first input is open, under a temporary name that replaces the
 * path only when the report is complete (outfile.h), or a stream the
 * caller owns (flushed at the end, never closed; a path given with it
 * only names it in messages).  Neither: that report is not written.
 */
struct cs_run_sink {
	const char *path;
	FILE *stream;
};

/* ANSI colours in the text report. */
enum cs_run_colour {
	CS_RUN_COLOUR_NEVER,
	CS_RUN_COLOUR_ON_TERMINAL,	/* when the report goes to one */
	CS_RUN_COLOUR_ALWAYS,
	CS_RUN_COLOUR_MAX
};

/* How far the reading of a large file (64 MiB and more) has got. */
struct cs_run_progress {
	const char *name;
	uint64_t done_bytes, total_bytes;
	uint64_t packets;		/* read so far, every input */
};

/* A message for people (no program name, no newline): an input that
 * cannot be read, a warning about one, an output that cannot be written. */
typedef void (*cs_run_say_fn)(void *ctx, const char *msg);
/* Once, when the first input is open and before any output is created
 * (connscope gives up root here, so the outputs belong to the user it
 * becomes); nonzero fails the run, with a message in err. */
typedef int (*cs_run_begin_fn)(void *ctx, char *err, size_t errlen);
/* A snapshot of the analysis, a couple of times a second and at the end;
 * its one reference becomes the callee's. */
typedef void (*cs_run_publish_fn)(void *ctx, struct cs_snapshot *s);
/* Twice a second at most while a large file is read; p is NULL once the
 * reading of that file has ended (a progress line is cleared then). */
typedef void (*cs_run_progress_fn)(void *ctx, const struct cs_run_progress *p);

/* What the caller decides; every pointer must outlive the run.  A NULL
 * callback is not called (no publish: no snapshot is built). */
struct cs_run_config {
	const char *const *files;	/* read in order as one stream; "-": stdin */
	int file_cnt;
	const struct cs_live_opts *live;	/* or one interface, live */
	const char *filter;		/* BPF for every input; NULL: none */
	uint64_t count;			/* frames to read at most; 0: all */
	double duration_sec;		/* live: seconds to capture; 0: until interrupted */
	bool no_host;			/* live: no host view (analyzer/host/) */
	struct cs_engine_opts engine;
	struct cs_run_sink json, connlog, text;
	enum cs_run_colour colour;	/* of the text report */
	bool line_buffered;		/* -l: each connection flushed to the
					 * streamed outputs as it finishes */
	bool list_conns;		/* -v: a line per connection in the
					 * text report */
	/* The sensor's logs (logstream.h), written in place as things
	 * happen: JSON Lines (jsonl.h; a path, "-": standard output) ... */
	const char *jsonl_path;
	uint64_t stats_interval_sec;	/* its "stats" lines; 0: none */
	/* ... and both it and a conn.log file renamed every rotate_sec of
	 * wall time, aligned to the clock (0: never; a conn.log is then a
	 * report, put in place at the end, as --json is). */
	uint64_t rotate_sec;

	void *ctx;			/* for every callback */
	cs_run_say_fn say;
	cs_run_begin_fn begin;
	cs_run_publish_fn publish;
	cs_run_progress_fn progress;
};

struct cs_run {
	struct cs_run_config cfg;

	/* For the caller to read (after cs_run_finish: the whole run). */
	struct cs_engine engine;
	struct cs_report_source src;	/* the inputs, as the reports name them */
	uint64_t frames;		/* read, counted against cfg.count */
	bool began;			/* an input was opened: there are reports */
	enum cs_run_status status;

	/* The run's own. */
	bool begin_failed;		/* the begin callback or an output failed */
	bool finished;			/* cs_run_finish has run */
	volatile sig_atomic_t interrupted;	/* cs_run_interrupt */
	volatile sig_atomic_t aborted;		/* cs_run_abort */
	volatile sig_atomic_t stats_requested;	/* cs_run_request_stats */
	struct cs_wake wake;		/* ends the waits of a stopped run */
	struct cs_source *volatile reading;	/* read on this thread: a signal breaks in */
	struct cs_filter *filter;	/* cfg.filter, compiled for the last input */
	FILE *json_f, *connlog_f;	/* the streamed outputs, once began */
	struct cs_outfile json_file, connlog_file;	/* when they are files */
	struct cs_json_report json;
	FILE *listing;			/* -v: the lines so far (listing.h) */
	struct cs_writer *writer;	/* writes the three above, if it could start */
	/* The sensor's logs, once began. */
	bool jsonl_on, connlog_streamed;
	struct cs_logstream jsonl, connlog_stream;
	struct cs_jsonl_alerts *alert_lines;	/* with jsonl_on */
	struct cs_json_report jsonl_rows;	/* its split connections' rows */
	volatile sig_atomic_t reopen_requested;	/* cs_run_request_reopen */
	uint64_t next_rotate_sec, next_stats_sec;	/* wall clock */
	double next_sensor_tick;	/* monotonic seconds */
	double next_drops_read;		/* monotonic seconds, live */
	uint64_t snap_seq;
	uint64_t gauges_lost_told;	/* young_lost said so far (tally.h) */
	double next_publish, last_publish;	/* monotonic seconds */
	uint64_t published_frames;	/* frames at the last snapshot */
	struct cs_hostread host;	/* live: the kernel's view, read here */
	bool host_open;
	double next_host_sample;	/* monotonic seconds */
	struct cs_host_sample host_sample;	/* too large for the stack of a loop */
};

/* Copies cfg and sets up the engine; 0, or -1 with a message in err. */
int cs_run_init(struct cs_run *r, const struct cs_run_config *cfg,
		char *err, size_t errlen);
/* Frees what the run holds (after cs_run_finish, or instead of it: then
 * the report files begun are removed, and the files they would have
 * replaced stay as they were). */
void cs_run_fini(struct cs_run *r);

/* Reads cfg.files in order.  A file that cannot be opened, is damaged, or
 * whose link type the filter cannot be compiled for is reported and the
 * next one is read; a filter that does not compile for Ethernet either,
 * one too complex to compile within bounds, or a failed begin, ends the
 * run. */
void cs_run_read_files(struct cs_run *r);

/* Reads one capture the caller has opened (from memory, say) as a file of
 * cfg.files is read; the caller closes it after. */
void cs_run_read_source(struct cs_run *r, struct cs_source *s);

/* Captures on cfg.live until interrupted, cfg.count frames, or
 * cfg.duration_sec; what reached the ring before the end is read too. */
void cs_run_capture_live(struct cs_run *r);

/* A frame from elsewhere than a capture source (the frame fuzzer's
 * synthetic input), analysed as a read one is; the first one begins the
 * run.  Returns -1, analysing nothing, if the run could not begin. */
int cs_run_feed_frame(struct cs_run *r, const struct cs_frame *f);

/*
 * Asks the reading to end soon (Ctrl-C) and returns at once.  Safe to call
 * from a signal handler; the reports are still written at the end, and
 * say the input was cut short (src.interrupted) if it was: a file or a
 * stream not read to its end, or a live capture ended by it rather than by
 * cfg.count or cfg.duration_sec.  A wait for a stream's data, a FIFO's
 * writer or a filter's compilation ends at once.
 */
void cs_run_interrupt(struct cs_run *r);

/* Asks for a line of figures so far (SIGUSR1): packets read and analysed,
 * connections, open ones, and a live capture's drops.  It goes to the say
 * callback from the reading loop, or from a wait for a stream's data.
 * Safe to call from a signal handler. */
void cs_run_request_stats(struct cs_run *r);

/* Asks for the sensor's log files to be ended and opened again under
 * their names (SIGHUP after logrotate moved them).  Safe to call from a
 * signal handler; done within a second, from the reading loop. */
void cs_run_request_reopen(struct cs_run *r);

/*
 * Gives the run up (a second Ctrl-C while it stops): an interrupt, and the
 * end of the run writes nothing more; no wait for the writer lasts.  Safe
 * to call from a signal handler.  The caller then calls cs_run_abandon and
 * exits, without cs_run_fini.
 */
void cs_run_abort(struct cs_run *r);

/* After cs_run_abort and cs_run_finish, without waiting for anything: a
 * report file under a temporary name is removed (the old report stays); a
 * report written in place (standard output, a FIFO) is flushed as far as
 * it got, unless the writer thread is stuck on it (a full pipe). */
void cs_run_abandon(struct cs_run *r);

/* The end of the run: closes the detectors' last second, publishes the
 * last snapshot, finishes every open record, drains the writer, ends the
 * streamed reports and writes the text report.  Nothing if no input was
 * opened (no report to give). */
void cs_run_finish(struct cs_run *r);

#endif /* CS_ANALYZER_DRIVER_H */
