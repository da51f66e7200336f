/*
 * connscope.c — options, wiring and the run loop (tcpdump.c's role).
 *
 * Reads capture files in order as one stream, or one live interface, feeds
 * every frame to the analyzer engine, and writes the reports at the end —
 * also after Ctrl-C and after a damaged file, with what was read until then.
 *
 * Exit status: 0 success, 1 usage error, 2 unreadable or invalid input,
 * 3 runtime failure (DESIGN.md).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyzer/engine.h"
#include "analyzer/detectors/alert.h"
#include "analyzer/reports/report.h"
#include "analyzer/run/readahead.h"
#include "analyzer/run/writer.h"
#include "analyzer/views/snapshot.h"
#include "analyzer/tracking/zeek.h"
#include "capture/decode.h"
#include "capture/privdrop.h"
#include "capture/source.h"
#include "web/server.h"

enum {
	EXIT_OK = 0,
	EXIT_USAGE = 1,
	EXIT_INPUT = 2,
	EXIT_RUNTIME = 3,
};

/* Frames per read of a file: bounds the time between checks of Ctrl-C. */
#define FILE_READ_CHUNK 4096
/* Standard input may be a capture still being written (tcpdump -w - |
 * connscope -r - --web): a read blocks until its frames arrive, so the
 * dashboard gets a snapshot at least every this many. */
#define STREAM_READ_CHUNK 64

struct options {
	const char **files;
	int file_cnt;
	const char *iface;
	const char *filter;
	const char *user;
	const char *json_path;
	const char *connlog_path;
	const char *report_path;
	bool report_path_given;
	bool quiet;
	bool no_color;
	bool list_ifaces;
	uint64_t count;			/* -c: 0 = no limit */
	double duration_sec;		/* --duration: 0 = no limit */
	struct cs_live_opts live;
	struct cs_engine_opts engine;
	bool web;
	bool web_insecure;
	struct cs_web_opts web_opts;
};

static const char *progname = "connscope";

/* ---- signals ----------------------------------------------------------- */

static volatile sig_atomic_t stop_requested;
static struct cs_source *volatile current_source;

static void on_stop_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
	struct cs_source *s = current_source;
	if (s)
		cs_source_breakloop(s);
}

/* Without SA_RESTART, so a blocking read returns and the loop sees the flag. */
static void install_signal_handlers(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* ---- options ----------------------------------------------------------- */

static void usage(FILE *out)
{
	fprintf(out,
"usage: %s -r FILE [-r FILE ...] [options]   analyse capture files (\"-\" = stdin)\n"
"       %s -i IFACE [options]                capture live until Ctrl-C, -c or --duration\n"
"       %s -D                                list capture interfaces\n"
"\n"
"input:\n"
"  -r FILE          pcap (us or ns) or pcapng file; repeat to read files in order as one stream\n"
"  -i IFACE         capture on an interface (\"any\" for all)\n"
"  -f 'BPF'         capture filter (also applies to files)\n"
"  -c N             stop after N packets\n"
"  --duration S     live: stop after S seconds\n"
"  -s SNAPLEN       live: bytes kept per packet (default %d: all headers, no payload)\n"
"  -B MIB           live: kernel ring buffer in MiB (default %d)\n"
"  -p               live: do not put the interface in promiscuous mode\n"
"  -Z USER          drop privileges to USER after opening the input\n"
"analysis:\n"
"  --max-flows N    connections tracked at once (default %u; the oldest\n"
"                   unanswered SYNs are evicted first when full)\n"
"  --idle-timeout S an idle connection is finished after S s (default %d)\n"
"  --msl S          maximum segment lifetime: TIME_WAIT lasts 2*S (default %d)\n"
"  --syn-timeout S  unanswered SYNs are a timeout after S s (default %d)\n"
"  --vlan-key       the VLAN id is part of a connection's identity\n"
"  --verify-checksums  drop (and count) segments with a bad TCP checksum\n"
"alerts:\n"
"  --synflood-rate N     SYN/s to one target, under %d%% completing, that is a\n"
"                        flood (default %d)\n"
"  --timewait-threshold N  connections in TIME_WAIT per host and peer (default %d)\n"
"  --closewait-age S     CLOSE_WAIT longer than this is stuck (default %d)\n"
"  --closewait-threshold N  stuck CLOSE_WAIT connections per host:port (default %d)\n"
"web:\n"
"  --web [ADDR:]PORT  serve the dashboard and API (default address 127.0.0.1;\n"
"                   [IPv6]:PORT); with -r, keep serving after the analysis\n"
"  --web-token TOKEN  require it (Authorization: Bearer, or ?token=)\n"
"  --web-insecure   allow a non-loopback address without a token\n"
"output:\n"
"  --report FILE|-  text report (default: standard output)\n"
"  --json FILE|-    JSON report\n"
"  --conn-log FILE|-  Zeek-format conn.log\n"
"  -q               no text report\n"
"  --no-color       no colours in the text report (only used on a terminal)\n"
"  -h, --help       this help;  -V, --version  the version\n"
"\n"
"exit status: 0 success, 1 usage error, 2 unreadable or invalid input, 3 runtime failure\n",
		progname, progname, progname, CS_LIVE_SNAPLEN_DEFAULT,
		CS_LIVE_BUFFER_MIB_DEFAULT, CS_FLOW_MAX_DEFAULT,
		CS_IDLE_TIMEOUT_SEC_DEFAULT, CS_MSL_SEC_DEFAULT,
		CS_SYN_TIMEOUT_SEC_DEFAULT, CS_SYNFLOOD_COMPLETION_PCT,
		CS_SYNFLOOD_RATE_DEFAULT, CS_TIMEWAIT_THRESHOLD_DEFAULT,
		CS_CLOSEWAIT_AGE_SEC_DEFAULT, CS_CLOSEWAIT_THRESHOLD_DEFAULT);
}

__attribute__((format(printf, 1, 2)))
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n%s: try '%s --help'\n", progname, progname);
	return EXIT_USAGE;
}

/* Whole-string decimal in [min, max]; anything else is a usage error. */
static int parse_u64(const char *opt, const char *s, uint64_t min,
		     uint64_t max, uint64_t *out)
{
	char *end;

	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		char range[64];
		snprintf(range, sizeof range, "%llu..%llu",
			 (unsigned long long)min, (unsigned long long)max);
		fprintf(stderr, "%s: %s: '%s' is not a number in %s\n",
			progname, opt, s, range);
		return -1;
	}
	*out = v;
	return 0;
}

static int parse_seconds(const char *opt, const char *s, double *out)
{
	char *end;

	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !(v > 0) || v > 1e7) {
		fprintf(stderr, "%s: %s: '%s' is not a number of seconds "
			"(0 < S <= 10000000)\n", progname, opt, s);
		return -1;
	}
	*out = v;
	return 0;
}

/* Seconds (fractions allowed) as microseconds. */
static int parse_usec(const char *opt, const char *s, uint64_t *out)
{
	double sec;

	if (parse_seconds(opt, s, &sec))
		return -1;
	*out = (uint64_t)(sec * 1e6);
	return 0;
}

enum {
	OPT_JSON = 256, OPT_REPORT, OPT_DURATION, OPT_CONNLOG, OPT_MAX_FLOWS,
	OPT_IDLE_TIMEOUT, OPT_MSL, OPT_SYN_TIMEOUT, OPT_VLAN_KEY, OPT_CHECKSUMS,
	OPT_NO_COLOR, OPT_SYNFLOOD_RATE, OPT_TW_THRESHOLD, OPT_CW_AGE,
	OPT_CW_THRESHOLD, OPT_WEB, OPT_WEB_TOKEN, OPT_WEB_INSECURE,
};

static const struct option long_options[] = {
	{ "json", required_argument, NULL, OPT_JSON },
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "conn-log", required_argument, NULL, OPT_CONNLOG },
	{ "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "msl", required_argument, NULL, OPT_MSL },
	{ "syn-timeout", required_argument, NULL, OPT_SYN_TIMEOUT },
	{ "vlan-key", no_argument, NULL, OPT_VLAN_KEY },
	{ "verify-checksums", no_argument, NULL, OPT_CHECKSUMS },
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },
	{ "web", required_argument, NULL, OPT_WEB },
	{ "web-token", required_argument, NULL, OPT_WEB_TOKEN },
	{ "web-insecure", no_argument, NULL, OPT_WEB_INSECURE },
	{ "synflood-rate", required_argument, NULL, OPT_SYNFLOOD_RATE },
	{ "timewait-threshold", required_argument, NULL, OPT_TW_THRESHOLD },
	{ "closewait-age", required_argument, NULL, OPT_CW_AGE },
	{ "closewait-threshold", required_argument, NULL, OPT_CW_THRESHOLD },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static int parse_option(int c, const char *arg, struct options *o)
{
	uint64_t v;

	switch (c) {
	case 'r':
		o->files[o->file_cnt++] = arg;
		return 0;
	case 'i':
		o->iface = o->live.iface = arg;
		return 0;
	case 'f': o->filter = arg; return 0;
	case 'Z': o->user = arg; return 0;
	case 'p': o->live.promisc = false; return 0;
	case 'q': o->quiet = true; return 0;
	case 'D': o->list_ifaces = true; return 0;
	case 'c':
		return parse_u64("-c", arg, 1, UINT64_MAX, &o->count);
	case 's':
		if (parse_u64("-s", arg, 64, 262144, &v))
			return -1;
		o->live.snaplen = (int)v;
		return 0;
	case 'B':
		if (parse_u64("-B", arg, 1, 2047, &v))
			return -1;
		o->live.buffer_mib = (int)v;
		return 0;
	case OPT_DURATION:
		return parse_seconds("--duration", arg, &o->duration_sec);
	case OPT_JSON: o->json_path = arg; return 0;
	case OPT_CONNLOG: o->connlog_path = arg; return 0;
	case OPT_VLAN_KEY: o->engine.flow.vlan_key = true; return 0;
	case OPT_CHECKSUMS: o->engine.verify_checksums = true; return 0;
	case OPT_NO_COLOR: o->no_color = true; return 0;
	case OPT_WEB: {
		char err[160];
		if (cs_web_parse_listen(arg, &o->web_opts, err, sizeof err) != 0) {
			fprintf(stderr, "%s: %s\n", progname, err);
			return -1;
		}
		o->web = true;
		return 0;
	}
	case OPT_WEB_TOKEN:
		if (!*arg) {
			fprintf(stderr, "%s: --web-token: empty\n", progname);
			return -1;
		}
		o->web_opts.token = arg;
		return 0;
	case OPT_WEB_INSECURE: o->web_insecure = true; return 0;
	case OPT_SYNFLOOD_RATE:
		if (parse_u64("--synflood-rate", arg, 1, 100000000, &v))
			return -1;
		o->engine.detect.synflood_rate = (uint32_t)v;
		return 0;
	case OPT_TW_THRESHOLD:
		if (parse_u64("--timewait-threshold", arg, 1, 100000000, &v))
			return -1;
		o->engine.detect.timewait_threshold = (uint32_t)v;
		return 0;
	case OPT_CW_THRESHOLD:
		if (parse_u64("--closewait-threshold", arg, 1, 100000000, &v))
			return -1;
		o->engine.detect.closewait_threshold = (uint32_t)v;
		return 0;
	case OPT_CW_AGE:
		return parse_usec("--closewait-age", arg, &o->engine.detect.closewait_age_us);
	case OPT_MAX_FLOWS:
		if (parse_u64("--max-flows", arg, 1, 1u << 30, &v))
			return -1;
		o->engine.flow.max_flows = (uint32_t)v;
		return 0;
	case OPT_IDLE_TIMEOUT:
		return parse_usec("--idle-timeout", arg, &o->engine.flow.idle_timeout_us);
	case OPT_SYN_TIMEOUT:
		return parse_usec("--syn-timeout", arg, &o->engine.syn_timeout_us);
	case OPT_MSL:
		if (parse_usec("--msl", arg, &o->engine.flow.closed_timeout_us))
			return -1;
		o->engine.flow.closed_timeout_us *= 2;	/* TIME_WAIT = 2*MSL */
		return 0;
	case OPT_REPORT:
		o->report_path = arg;
		o->report_path_given = true;
		return 0;
	default:
		return -1;
	}
}

/* Returns -1 to continue, or the exit status to leave with. */
static int parse_options(int argc, char **argv, struct options *o)
{
	int c;

	o->files = calloc((size_t)argc, sizeof *o->files);
	if (!o->files) {
		fprintf(stderr, "%s: out of memory\n", progname);
		return EXIT_RUNTIME;
	}
	o->report_path = "-";
	snprintf(o->web_opts.addr, sizeof o->web_opts.addr, "%s", CS_WEB_DEFAULT_ADDR);
	o->live.snaplen = CS_LIVE_SNAPLEN_DEFAULT;
	o->live.buffer_mib = CS_LIVE_BUFFER_MIB_DEFAULT;
	o->live.promisc = true;
	o->live.timeout_ms = CS_LIVE_TIMEOUT_MS_DEFAULT;
	cs_engine_opts_default(&o->engine);

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":r:i:f:c:s:B:Z:pqDhV",
				long_options, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return EXIT_OK;
		}
		if (c == 'V') {
			printf("connscope %s\n", CS_VERSION);
			return EXIT_OK;
		}
		if (c == ':')
			return usage_error("option '%s' needs a value",
					   argv[optind - 1]);
		if (c == '?')
			return usage_error("unknown option '%s'",
					   argv[optind - 1]);
		if (parse_option(c, optarg, o) != 0)
			return EXIT_USAGE;
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s' (a filter goes "
				   "after -f)", argv[optind]);
	if (o->list_ifaces)
		return -1;
	if (!o->iface && o->file_cnt == 0)
		return usage_error("nothing to read: give -r FILE or -i IFACE");
	if (o->iface && o->file_cnt)
		return usage_error("-r and -i cannot be combined");
	if (o->duration_sec > 0 && !o->iface)
		return usage_error("--duration applies to live capture (-i)");
	int stdin_cnt = 0;
	for (int i = 0; i < o->file_cnt; i++)
		stdin_cnt += strcmp(o->files[i], "-") == 0;
	if (stdin_cnt > 1)
		return usage_error("standard input ('-r -') can be read once");
	if (o->web && !o->web_opts.token && !o->web_insecure &&
	    !cs_web_is_loopback(&o->web_opts))
		return usage_error("--web on %s would show the traffic to anyone who "
				   "can reach it: give --web-token TOKEN, or "
				   "--web-insecure if that is what you want",
				   o->web_opts.addr);
	o->engine.keep_recent = o->web;
	int to_stdout = (o->json_path && !strcmp(o->json_path, "-")) +
			(o->connlog_path && !strcmp(o->connlog_path, "-"));
	if (to_stdout > 1 || (to_stdout && o->report_path_given &&
			      !strcmp(o->report_path, "-")))
		return usage_error("only one report can go to standard output");
	if (to_stdout && !o->report_path_given)
		o->quiet = true;	/* stdout carries the JSON or conn.log */
	return -1;
}

/* ---- running ----------------------------------------------------------- */

struct run {
	const struct options *opt;
	struct cs_engine engine;
	struct cs_report_source src;
	uint64_t frames;		/* frames read, for -c */
	bool read_any;			/* some input could be opened */
	int status;			/* worst exit status so far */
	FILE *json_f;			/* streamed while reading */
	struct cs_json_report json;
	FILE *connlog_f;
	struct cs_writer *writer;	/* writes the two above, if it could start */
	struct cs_web *web;		/* with --web */
	uint64_t snap_seq;
	double next_publish, last_publish;
	uint64_t published_frames;	/* r->frames at the last snapshot */
};

static void worsen(struct run *r, int status)
{
	if (status > r->status)
		r->status = status;
}

static int remaining_count(const struct run *r, int chunk)
{
	if (!r->opt->count)
		return chunk;
	uint64_t left = r->opt->count - r->frames;
	return left < (uint64_t)chunk ? (int)left : chunk;
}

static bool count_reached(const struct run *r)
{
	return r->opt->count && r->frames >= r->opt->count;
}

/* The anomaly counters, read before an input to tell what it added. */
struct anomalies {
	uint64_t bad_records;
	uint64_t ts_backwards;
};

static struct anomalies anomalies_now(const struct run *r)
{
	struct anomalies a = {
		.bad_records = r->engine.stats.skipped[CS_SKIP_BAD_RECORD],
		.ts_backwards = r->engine.stats.ts_backwards,
	};
	return a;
}

/*
 * Anomalies that leave the file's framing intact: every record after them
 * is read and analysed, so the input is not unreadable (exit status 0), but
 * the user hears of each kind once per input, with the counter that holds
 * it.  Damage that stops the reading is reported by the reader (status 2).
 */
static void report_anomalies(const struct run *r, const char *name,
			     const struct anomalies *before)
{
	struct anomalies now = anomalies_now(r);
	uint64_t bad = now.bad_records - before->bad_records;
	uint64_t back = now.ts_backwards - before->ts_backwards;

	if (bad)
		fprintf(stderr, "%s: warning: '%s': %" PRIu64 " record%s with an "
			"impossible length (no captured bytes, or more than the "
			"packet had on the wire) skipped and counted as "
			"skipped.bad_record; the records after %s were read\n",
			progname, name, bad, bad == 1 ? "" : "s",
			bad == 1 ? "it" : "them");
	if (back)
		fprintf(stderr, "%s: warning: '%s': %" PRIu64 " packet%s "
			"timestamped earlier than the packet before (counted as "
			"summary.ts_backwards); connection timers keep to the "
			"latest time seen\n", progname, name, back,
			back == 1 ? " is" : "s are");
}

static double monotonic_sec(void);
static void publish(struct run *r, bool finished);
static void publish_if_stalled(struct run *r);

/* Files this large get a progress line, when stderr is a terminal. */
#define PROGRESS_MIN_BYTES (64u << 20)

static void show_progress(struct run *r, struct cs_source *s, double *next,
			  bool *shown)
{
	uint64_t done, total;
	char a[32];
	double now = monotonic_sec();

	if (now < *next || cs_source_progress(s, &done, &total) != 0 ||
	    total < PROGRESS_MIN_BYTES)
		return;
	*next = now + 0.5;
	*shown = true;
	fprintf(stderr, "\r%s: %s  %.0f of %.0f MiB (%.0f%%)  %s packets\033[K",
		progname, cs_source_name(s), (double)done / 1048576.0,
		(double)total / 1048576.0, 100.0 * (double)done / (double)total,
		cs_count_format(r->engine.stats.packets, a, sizeof a));
}

/* Analyses a file decoded ahead by a second thread (readahead.h);
 * returns false if no thread could be started. */
static bool read_ahead(struct run *r, struct cs_source *s, bool progress,
		       bool *shown)
{
	uint64_t max = r->opt->count ? r->opt->count - r->frames : 0;
	struct cs_readahead *ra = cs_readahead_start(s, max, &r->engine);
	double next = monotonic_sec() + 1.0;	/* quiet for short files */
	struct cs_decoded *d;
	size_t n;
	char err[512];

	if (!ra)
		return false;
	/* A signal now only sets stop_requested: the source belongs to the
	 * reader thread, which the loop below stops. */
	current_source = NULL;
	while (!stop_requested && (d = cs_readahead_next(ra, &n)) != NULL) {
		cs_engine_decoded_batch(&r->engine, d, n);
		r->frames += n;
		if (progress)
			show_progress(r, s, &next, shown);
		publish(r, false);
	}
	current_source = s;
	if (cs_readahead_stop(ra, err, sizeof err) == CS_READ_ERROR) {
		fprintf(stderr, "%s: %s\n", progname, err);
		worsen(r, EXIT_INPUT);
	}
	return true;
}

/* Reads one open source to its end, a stop, or damage. */
static void read_file(struct run *r, struct cs_source *s, bool stream)
{
	int chunk = stream && r->web ? STREAM_READ_CHUNK : FILE_READ_CHUNK;
	char err[512];
	uint64_t n;
	struct anomalies before = anomalies_now(r);
	bool progress = isatty(STDERR_FILENO), shown = false;
	double next = monotonic_sec() + 1.0;	/* quiet for short files */

	/* Standard input keeps one thread: with --web, what arrived must be
	 * shown when the writer pauses, and a reader thread would hold it. */
	if (stream || !read_ahead(r, s, progress, &shown)) {
		while (!stop_requested && !count_reached(r)) {
			if (progress)
				show_progress(r, s, &next, &shown);
			publish(r, false);
			if (stream)
				publish_if_stalled(r);
			enum cs_read rc = cs_source_read(s, remaining_count(r, chunk),
							 cs_engine_frame, &r->engine,
							 &n, err, sizeof err);
			r->frames += n;
			if (rc == CS_READ_EOF || rc == CS_READ_BROKEN)
				break;
			if (rc == CS_READ_ERROR) {
				fprintf(stderr, "%s: %s\n", progname, err);
				worsen(r, EXIT_INPUT);
				break;
			}
		}
	}
	if (shown)
		fputs("\r\033[K", stderr);	/* clear the progress line */
	report_anomalies(r, cs_source_name(s), &before);
}

static FILE *open_output(const char *path)
{
	if (!strcmp(path, "-"))
		return stdout;
	FILE *f = fopen(path, "w");
	if (!f)
		fprintf(stderr, "%s: cannot write '%s': %s\n", progname, path,
			strerror(errno));
	return f;
}

static int close_output(FILE *f, const char *path)
{
	int bad = ferror(f);

	if (f == stdout)
		bad |= fflush(f) != 0;
	else
		bad |= fclose(f) != 0;
	if (bad) {
		fprintf(stderr, "%s: writing '%s' failed: %s\n", progname,
			path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Each finished connection goes to the streamed outputs at once; a
 * conn.log row may also end inside a record that goes on (v NULL). */
static void write_connection(void *ctx, const struct cs_conn *c,
			     const struct cs_verdict *v)
{
	struct run *r = ctx;

	if (r->connlog_f)
		cs_connlog_row(r->connlog_f, c, cs_zeek_conn_state(c));
	if (v && r->json_f)
		cs_report_json_conn(&r->json, c, v);
}

/*
 * Once the first input is open: give up root (opening a device or a
 * root-only file was the only reason for it), then create the outputs, so
 * they belong to the unprivileged user too.
 */
static int begin_reading(struct run *r)
{
	const struct options *o = r->opt;
	char err[256];

	if (o->user && cs_drop_privileges(o->user, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", progname, err);
		return -1;
	}
	if (o->json_path) {
		if (!(r->json_f = open_output(o->json_path)))
			return -1;
		cs_report_json_begin(&r->json, r->json_f);
	}
	if (o->connlog_path) {
		if (!(r->connlog_f = open_output(o->connlog_path)))
			return -1;
		cs_connlog_header(r->connlog_f);
	}
	/* Formatting rows costs more than analysing their packets: a thread of
	 * its own does it, when there are rows to write. */
	if (r->json_f || r->connlog_f)
		r->writer = cs_writer_start(write_connection, r);
	if (r->writer)
		cs_engine_set_output(&r->engine, cs_writer_put, r->writer);
	else
		cs_engine_set_output(&r->engine, write_connection, r);
	r->read_any = true;
	return 0;
}

static void warn_unsupported_linktype(const char *name, int dlt)
{
	char buf[32];

	if (!cs_linktype_supported(dlt))
		fprintf(stderr, "%s: warning: '%s': link type %s is not decoded; "
			"its packets are counted as skipped (linktype)\n",
			progname, name, cs_linktype_name(dlt, buf, sizeof buf));
}

static int open_file(struct run *r, const char *path, struct cs_source **out)
{
	char err[512];

	if (cs_source_open_file(out, path, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", progname, err);
		worsen(r, EXIT_INPUT);
		return -1;
	}
	if (r->opt->filter &&
	    cs_source_set_filter(*out, r->opt->filter, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", progname, err);
		cs_source_close(*out);
		*out = NULL;
		worsen(r, EXIT_USAGE);
		return -1;
	}
	return 0;
}

/*
 * Files are one stream: a damaged or unreadable file is reported and the
 * next one is read, and the exit status says the input was not all good.
 */
static void run_files(struct run *r)
{
	for (int i = 0; i < r->opt->file_cnt; i++) {
		struct cs_source *s;

		if (stop_requested || count_reached(r))
			break;
		if (open_file(r, r->opt->files[i], &s) != 0) {
			if (r->status == EXIT_USAGE)
				return;		/* a bad filter fails every file */
			continue;
		}
		if (!r->read_any && begin_reading(r) != 0) {
			cs_source_close(s);
			worsen(r, EXIT_RUNTIME);
			return;
		}
		cs_report_source_add(&r->src, cs_source_datalink(s),
				     cs_source_snaplen(s));
		warn_unsupported_linktype(cs_source_name(s), cs_source_datalink(s));
		current_source = s;
		read_file(r, s, !strcmp(r->opt->files[i], "-"));
		current_source = NULL;
		cs_source_close(s);
	}
}

static double monotonic_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The dashboard's view, a couple of times a second and at the end. */
static void publish(struct run *r, bool finished)
{
	if (!r->web)
		return;
	double now = monotonic_sec();
	if (!finished && now < r->next_publish)
		return;
	r->next_publish = now + 0.5;
	r->last_publish = now;
	r->published_frames = r->frames;
	cs_engine_refresh(&r->engine);
	struct cs_snapshot *s = cs_snapshot_build(&r->engine, &r->src,
						  ++r->snap_seq, r->src.live,
						  finished);
	if (s)
		cs_web_publish(r->web, s);
}

/*
 * Standard input has nothing more for now (its writer is slow, or pauses):
 * show what came so far before the next read blocks.  Within 50 ms of the
 * last snapshot it waits out the rest of those 50 ms for more input first,
 * so a fast writer does not cause a snapshot per read.  (What stdio has
 * buffered already is at most a few KiB: a few reads.)
 */
static void publish_if_stalled(struct run *r)
{
	struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };

	if (!r->web || r->frames == r->published_frames)
		return;
	double wait = r->last_publish + 0.05 - monotonic_sec();
	if (poll(&pfd, 1, wait > 0 ? (int)(wait * 1000) + 1 : 0) != 0)
		return;		/* more is coming (or a signal came) */
	r->next_publish = 0;
	publish(r, false);
}

/* Live packet timestamps are wall-clock time: so are the ticks. */
static uint64_t wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void capture_live(struct run *r, struct cs_source *s)
{
	char err[512];
	uint64_t n;
	double deadline = r->opt->duration_sec > 0 ?
		monotonic_sec() + r->opt->duration_sec : 0;

	while (!stop_requested && !count_reached(r)) {
		/* -1: whatever the ring holds; the read timeout returns on a
		 * quiet link so the deadline and the stop flag are seen. */
		int max = r->opt->count ? remaining_count(r, INT_MAX) : -1;
		enum cs_read rc = cs_source_read(s, max, cs_engine_frame,
						 &r->engine, &n, err, sizeof err);
		r->frames += n;
		if (rc == CS_READ_EOF)
			break;
		if (rc == CS_READ_ERROR) {
			fprintf(stderr, "%s: %s\n", progname, err);
			worsen(r, EXIT_RUNTIME);
			return;
		}
		if (n == 0)
			cs_engine_tick(&r->engine, wall_us());
		publish(r, false);
		if (rc == CS_READ_BROKEN ||
		    (deadline > 0 && monotonic_sec() >= deadline))
			break;
	}
	/* What reached the ring before the stop is part of the capture. */
	if (!count_reached(r)) {
		int max = r->opt->count ? remaining_count(r, INT_MAX) : -1;
		r->frames += cs_source_drain(s, wall_us(), max, cs_engine_frame,
					     &r->engine);
	}
	uint64_t drops;
	if (cs_source_drops(s, &drops) == 0) {
		r->engine.stats.have_drops = true;
		r->engine.stats.capture_drops = drops;
	}
}

static void run_live(struct run *r)
{
	char err[512] = "";
	struct cs_source *s;

	if (cs_source_open_live(&s, &r->opt->live, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", progname, err);
		worsen(r, EXIT_INPUT);
		return;
	}
	if (err[0])
		fprintf(stderr, "%s: %s\n", progname, err);
	if (r->opt->filter &&
	    cs_source_set_filter(s, r->opt->filter, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", progname, err);
		worsen(r, EXIT_USAGE);
		goto out;
	}
	if (begin_reading(r) != 0) {
		worsen(r, EXIT_RUNTIME);
		goto out;
	}
	warn_unsupported_linktype(r->opt->live.iface, cs_source_datalink(s));
	cs_report_source_add(&r->src, cs_source_datalink(s), cs_source_snaplen(s));
	fprintf(stderr, "%s: capturing on %s (snaplen %d, buffer %d MiB); "
		"Ctrl-C stops\n", progname, r->opt->live.iface,
		r->opt->live.snaplen, r->opt->live.buffer_mib);
	struct anomalies before = anomalies_now(r);
	current_source = s;
	capture_live(r, s);
	current_source = NULL;
	report_anomalies(r, r->opt->live.iface, &before);
out:
	cs_source_close(s);
}

/* ---- reports ----------------------------------------------------------- */

/* Finishes every open record, then closes the streamed outputs and writes
 * the text report. */
static void write_reports(struct run *r)
{
	const struct options *o = r->opt;
	FILE *f;

	cs_engine_finish(&r->engine);
	cs_writer_stop(r->writer);	/* every row written before the end */
	r->writer = NULL;
	if (r->json_f) {
		cs_report_json_end(&r->json, &r->src, &r->engine);
		if (close_output(r->json_f, o->json_path) != 0)
			worsen(r, EXIT_RUNTIME);
	}
	if (r->connlog_f) {
		cs_connlog_footer(r->connlog_f);
		if (close_output(r->connlog_f, o->connlog_path) != 0)
			worsen(r, EXIT_RUNTIME);
	}
	if (!o->quiet) {
		if (!(f = open_output(o->report_path))) {
			worsen(r, EXIT_RUNTIME);
		} else {
			bool colour = !o->no_color && isatty(fileno(f)) &&
				      !getenv("NO_COLOR");
			cs_report_text(f, &r->src, &r->engine, colour);
			if (close_output(f, o->report_path) != 0)
				worsen(r, EXIT_RUNTIME);
		}
	}
}

/* ---- the dashboard --------------------------------------------------------- */

static int start_web(struct run *r)
{
	const struct cs_web_opts *o = &r->opt->web_opts;
	char err[256];
	bool v6 = strchr(o->addr, ':') != NULL;

	if (cs_web_start(&r->web, o, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", progname, err);
		return -1;
	}
	fprintf(stderr, "%s: dashboard at http://%s%s%s:%u/%s%s\n", progname,
		v6 ? "[" : "", o->addr, v6 ? "]" : "", cs_web_port(r->web),
		o->token ? "?token=" : "", o->token ? o->token : "");
	return 0;
}

/* A capture file was analysed: keep answering until Ctrl-C. */
static void serve_until_stopped(void)
{
	struct timespec nap = { 0, 200 * 1000 * 1000 };

	fprintf(stderr, "%s: analysis done; serving the dashboard until Ctrl-C\n",
		progname);
	while (!stop_requested)
		nanosleep(&nap, NULL);	/* a signal cuts the nap short */
}

static int list_interfaces(void)
{
	char err[256];

	if (cs_source_list_interfaces(stdout, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", progname, err);
		return EXIT_RUNTIME;
	}
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	struct options opt;
	struct run r;

	memset(&opt, 0, sizeof opt);
	int status = parse_options(argc, argv, &opt);
	if (status >= 0) {
		free(opt.files);
		return status;
	}
	if (opt.list_ifaces) {
		free(opt.files);
		return list_interfaces();
	}

	memset(&r, 0, sizeof r);
	r.opt = &opt;
	r.src.live = opt.iface != NULL;
	r.src.names = opt.iface ? &opt.iface : opt.files;
	r.src.name_cnt = opt.iface ? 1 : opt.file_cnt;
	char err[256];
	if (cs_engine_init(&r.engine, &opt.engine, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", progname, err);
		free(opt.files);
		return EXIT_RUNTIME;
	}
	install_signal_handlers();
	/* Before reading, so a privileged port is bound before root is given up. */
	if (opt.web && start_web(&r) != 0) {
		cs_engine_fini(&r.engine);
		free(opt.files);
		return EXIT_RUNTIME;
	}

	if (opt.iface)
		run_live(&r);
	else
		run_files(&r);

	bool interrupted = stop_requested;
	/* The last view before the report finishes the open connections, so
	 * the dashboard shows the states they were in at the end; the
	 * detectors' last second is judged first, so it shows in the alerts. */
	if (r.read_any) {
		cs_engine_close_seconds(&r.engine);
		publish(&r, true);
	}
	/* Nothing could be opened: there is no report to give. */
	if (r.read_any)
		write_reports(&r);
	if (r.read_any && !cs_stats_balanced(&r.engine.stats)) {
		fprintf(stderr, "%s: internal error: packet accounting does not "
			"balance\n", progname);
		worsen(&r, EXIT_RUNTIME);
	}
	if (r.web && r.read_any && !interrupted)
		serve_until_stopped();
	cs_web_stop(r.web);
	cs_writer_stop(r.writer);	/* stopped already, unless no report */
	cs_engine_fini(&r.engine);
	free(opt.files);
	return r.status;
}
