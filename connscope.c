/*
 * connscope.c — options and wiring (tcpdump.c's role).
 *
 * Parses the options, then wires one run (analyzer/run/driver.c: capture
 * files in order as one stream, or one live interface, through the engine
 * to the reports) to the terminal, the dashboard, the signals and -Z, and
 * turns how the run went into the exit status.
 *
 * Exit status: 0 success, 1 usage error, 2 unreadable or invalid input,
 * 3 runtime failure (DESIGN.md).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
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
#include "analyzer/run/driver.h"
#include "analyzer/run/outfile.h"
#include "capture/privdrop.h"
#include "capture/source.h"
#include "web/server.h"

enum {
	EXIT_OK = 0,
	EXIT_USAGE = 1,
	EXIT_INPUT = 2,
	EXIT_RUNTIME = 3,
};

struct options {
	const char **files;
	int file_cnt;
	const char *iface;
	const char *filter;
	char *filter_words;		/* trailing words joined: owns the filter */
	const char *user;
	const char *json_path;
	const char *connlog_path;
	const char *jsonl_path;
	uint64_t rotate_sec;		/* --rotate: 0 = never */
	uint64_t stats_interval_sec;	/* --stats-interval */
	const char *report_path;
	bool report_path_given;
	bool quiet;
	bool line_buffered;		/* -l */
	bool list_conns;		/* -v */
	bool no_color;
	bool list_ifaces;
	uint64_t count;			/* -c: 0 = no limit */
	double duration_sec;		/* --duration: 0 = no limit */
	bool no_host;			/* --no-host */
	struct cs_live_opts live;
	struct cs_engine_opts engine;
	bool web;
	bool web_insecure;
	bool token_in_url;		/* --web-token: shown already, in ps */
	struct cs_web_opts web_opts;
};

static const char *progname = "connscope";

/* ---- signals ----------------------------------------------------------- */

/*
 * tcpdump's discipline.  SIGINT, SIGTERM and SIGHUP (a closed terminal, a
 * dropped ssh) stop the run: the reading ends, every report is written,
 * exit status as if the input had ended.  A second one while it stops
 * gives the run up: report files are not put in place, what went to
 * standard output is flushed, and connscope exits at once with 128 + the
 * signal; a third has the default action, which
 * nothing can hold up.  SIGUSR1 asks for a line of figures and the run
 * goes on.  A sensor (--jsonl or --rotate) is a daemon with log files:
 * there SIGHUP reopens the logs under their names, as daemons do for
 * logrotate, and the run goes on; it no longer stops the run.  The handlers only set flags, write to the run's wake pipe and
 * call pcap_breakloop (cs_run_interrupt and its kin); the loops act.
 */
static volatile sig_atomic_t stop_signal;	/* the first stop */
static volatile sig_atomic_t abort_signal;	/* a second one */
static struct cs_run *volatile running;		/* what a signal interrupts */
static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };
#define STOP_SIGNAL_CNT (sizeof stop_signals / sizeof stop_signals[0])
static bool stop_signal_ours[STOP_SIGNAL_CNT];	/* not left ignored */

static void on_stop_signal(int sig)
{
	struct cs_run *r = running;

	if (!stop_signal) {
		stop_signal = sig;
		if (r)
			cs_run_interrupt(r);
		return;
	}
	abort_signal = sig;
	for (size_t i = 0; i < STOP_SIGNAL_CNT; i++)
		if (stop_signal_ours[i])
			signal(stop_signals[i], SIG_DFL);
	if (r)
		cs_run_abort(r);
}

/* With --jsonl or --rotate: logrotate moved the logs; the run goes on. */
static void on_reopen_signal(int sig)
{
	struct cs_run *r = running;

	(void)sig;
	if (r)
		cs_run_request_reopen(r);
}

static void on_stats_signal(int sig)
{
	struct cs_run *r = running;

	(void)sig;
	if (r)
		cs_run_request_stats(r);
}

/*
 * With SA_RESTART: a signal must never make the write of a report fail
 * (EINTR on a pipe or a terminal), and every wait a stop has to end polls
 * the run's wake pipe or has a timeout, so nothing needs EINTR.  SIGHUP
 * stays ignored if it was (nohup), as tcpdump leaves it.
 */
static void install_signal_handlers(bool hup_reopens)
{
	struct sigaction sa, old;

	memset(&sa, 0, sizeof sa);
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop_signal;
	for (size_t i = 0; i < STOP_SIGNAL_CNT; i++) {
		if (sigaction(stop_signals[i], &sa, &old) != 0)
			continue;
		if (stop_signals[i] == SIGHUP && old.sa_handler == SIG_IGN)
			sigaction(SIGHUP, &old, NULL);
		else
			stop_signal_ours[i] = true;
	}
	sa.sa_handler = on_stats_signal;
	sigaction(SIGUSR1, &sa, NULL);
	if (hup_reopens) {
		stop_signal_ours[STOP_SIGNAL_CNT - 1] = false;	/* SIGHUP's */
		sa.sa_handler = on_reopen_signal;
		sigaction(SIGHUP, &sa, NULL);
	}
}

/* ---- options ----------------------------------------------------------- */

/* A stats line a minute: Suricata's stats.log default is 8 s, but these
 * lines carry every figure and a scraper has /metrics for fine grain. */
#define STATS_INTERVAL_SEC_DEFAULT 60

static void usage(FILE *out)
{
	fprintf(out,
"usage: %s -r FILE [-r FILE ...] [options] [FILTER]  analyse capture files (\"-\" = stdin)\n"
"       %s -i IFACE [options] [FILTER]         capture live until Ctrl-C, -c or --duration\n"
"       %s -D                                list capture interfaces\n"
"\n"
"input:\n"
"  -r FILE          pcap (us or ns) or pcapng file, also gzip, zstd or xz compressed;\n"
"                   repeat to read files in order as one stream\n"
"  -i IFACE         capture on an interface (\"any\" for all)\n"
"  -f 'BPF'         capture filter (also applies to files); or as the words\n"
"                   after the options, as tcpdump takes it\n"
"  -c N             stop after N packets\n"
"  --duration S     live: stop after S seconds\n"
"  -s SNAPLEN       live: bytes kept per packet (default %d: all headers, no payload)\n"
"  -B MIB           live: kernel ring buffer in MiB (default %d)\n"
"  -p               live: do not put the interface in promiscuous mode\n"
"  --no-host        live: do not read the kernel's listen queues, socket states\n"
"                   and TCP counters (the host view, once a second)\n"
"  -Z USER          drop privileges to USER after opening the input\n"
"analysis:\n"
"  --max-flows N    connections tracked at once (default %u; the oldest\n"
"                   unanswered SYNs are evicted first when full)\n"
"  --idle-timeout S an idle connection is finished after S s (default %d)\n"
"  --msl S          maximum segment lifetime: TIME_WAIT lasts 2*S (default %d)\n"
"  --syn-timeout S  unanswered SYNs are a timeout after S s (default %d)\n"
"  --vlan-key       the VLAN id is part of a connection's identity\n"
"  --verify-checksums  drop (and count) packets with a bad TCP or IPv4 header\n"
"                      checksum\n"
"alerts:\n"
"  --synflood-rate N     SYN/s to one target, under %d%% completing, that is a\n"
"                        flood (default %d)\n"
"  --timewait-threshold N  connections in TIME_WAIT per host and peer (default %d)\n"
"  --closewait-age S     CLOSE_WAIT longer than this is stuck (default %d)\n"
"  --closewait-threshold N  stuck CLOSE_WAIT connections per host:port (default %d)\n"
"web:\n"
"  --web [ADDR:]PORT  serve the dashboard and API (default address 127.0.0.1;\n"
"                   [IPv6]:PORT); with -r, keep serving after the analysis\n"
"  --web-token-file FILE  require the token in FILE's first line (Authorization:\n"
"                   Bearer, or ?token=; at least %d characters); or set it in\n"
"                   CONNSCOPE_WEB_TOKEN, or give --web-token TOKEN, which every\n"
"                   user of this host can read in ps\n"
"  --web-host NAME  also answer to this host name (repeatable; the address and\n"
"                   localhost always work, other Host headers get 421)\n"
"  --web-cert FILE --web-key FILE  serve HTTPS with this PEM certificate and key\n"
"  --web-insecure   allow a non-loopback address without a token\n"
"output:\n"
"  --report FILE|-  text report (default: standard output)\n"
"  --json FILE|-    JSON report\n"
"  --conn-log FILE|-  Zeek-format conn.log\n"
"  --jsonl FILE|-   JSON Lines as things happen: each finished connection, each\n"
"                   alert at its start and end, and the figures (\"stats\")\n"
"  --stats-interval S  a stats line every S s of wall time (default %d)\n"
"  --rotate S       every S s (aligned to the clock) rename the --jsonl and\n"
"                   --conn-log files NAME.YYYY-MM-DD-HH-MM-SS.EXT (UTC start of\n"
"                   the interval) and open new ones; also at the end\n"
"  -q               no text report\n"
"  -v               list every connection in the text report, one a line\n"
"  -l               line-buffered: each connection written to a standard-output\n"
"                   --json or --conn-log as soon as it is finished\n"
"  --no-color       no colours in the text report (only used on a terminal)\n"
"  -h, --help       this help;  -V, --version  the version\n"
"\n"
"signals: SIGINT (Ctrl-C), SIGTERM, SIGHUP stop and write every report; a second one\n"
"         exits at once (status 128+N); SIGUSR1 prints the figures so far on stderr;\n"
"         with --jsonl or --rotate, SIGHUP reopens the log files (logrotate) instead\n"
"exit status: 0 success (a stop by a signal too), 1 usage error, 2 unreadable or\n"
"             invalid input, 3 runtime failure\n",
		progname, progname, progname, CS_LIVE_SNAPLEN_DEFAULT,
		CS_LIVE_BUFFER_MIB_DEFAULT, CS_FLOW_MAX_DEFAULT,
		CS_IDLE_TIMEOUT_SEC_DEFAULT, CS_MSL_SEC_DEFAULT,
		CS_SYN_TIMEOUT_SEC_DEFAULT, CS_SYNFLOOD_COMPLETION_PCT,
		CS_SYNFLOOD_RATE_DEFAULT, CS_TIMEWAIT_THRESHOLD_DEFAULT,
		CS_CLOSEWAIT_AGE_SEC_DEFAULT, CS_CLOSEWAIT_THRESHOLD_DEFAULT,
		CS_WEB_TOKEN_MIN, STATS_INTERVAL_SEC_DEFAULT);
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

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* Digits only, into *v without overflow: strtoull would also take leading
 * blanks, a sign (wrapping " -5" round to 2^64 - 5) and "0x". */
static bool read_whole(const char *s, uint64_t *v)
{
	*v = 0;
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d = (unsigned)(*s - '0');
		if (!is_digit(*s) || *v > (UINT64_MAX - d) / 10)
			return false;
		*v = *v * 10 + d;
	}
	return true;
}

/* A whole number in [min, max]; anything else is a usage error. */
static int parse_u64(const char *opt, const char *s, uint64_t min,
		     uint64_t max, uint64_t *out)
{
	uint64_t v;

	if (!read_whole(s, &v) || v < min || v > max) {
		fprintf(stderr, "%s: %s: '%s' is not a whole number from %" PRIu64
			" to %" PRIu64 "\n", progname, opt, s, min, max);
		return -1;
	}
	*out = v;
	return 0;
}

#define SECONDS_MAX 10000000u
#define USEC_PER_SEC 1000000u

/* Seconds as digits with an optional decimal fraction ("300", "0.5"), in
 * whole microseconds: digits past the sixth decimal are below what a
 * timer counts and are dropped.  No sign, exponent, blanks or "inf". */
static bool read_seconds(const char *s, uint64_t *us)
{
	uint64_t whole = 0, frac_us = 0, unit = USEC_PER_SEC / 10;

	if (!is_digit(*s))
		return false;
	for (; is_digit(*s); s++) {
		if (whole > SECONDS_MAX)
			return false;		/* out of range, before overflow */
		whole = whole * 10 + (uint64_t)(*s - '0');
	}
	if (*s == '.') {
		if (!is_digit(*++s))
			return false;
		for (; is_digit(*s); s++, unit /= 10)
			frac_us += (uint64_t)(*s - '0') * unit;
	}
	*us = whole * USEC_PER_SEC + frac_us;
	return *s == '\0';
}

/* Seconds (fractions allowed) as microseconds, from 1 us to SECONDS_MAX s. */
static int parse_usec(const char *opt, const char *s, uint64_t *out)
{
	uint64_t us;

	if (!read_seconds(s, &us) || us < 1 ||
	    us > (uint64_t)SECONDS_MAX * USEC_PER_SEC) {
		fprintf(stderr, "%s: %s: '%s' is not a number of seconds from "
			"0.000001 to %u (digits, and a decimal fraction if "
			"needed)\n", progname, opt, s, SECONDS_MAX);
		return -1;
	}
	*out = us;
	return 0;
}

static int parse_seconds(const char *opt, const char *s, double *out)
{
	uint64_t us;

	if (parse_usec(opt, s, &us))
		return -1;
	*out = (double)us / USEC_PER_SEC;
	return 0;
}

enum {
	OPT_JSON = 256, OPT_REPORT, OPT_DURATION, OPT_CONNLOG, OPT_MAX_FLOWS,
	OPT_IDLE_TIMEOUT, OPT_MSL, OPT_SYN_TIMEOUT, OPT_VLAN_KEY, OPT_CHECKSUMS,
	OPT_NO_COLOR, OPT_SYNFLOOD_RATE, OPT_TW_THRESHOLD, OPT_CW_AGE,
	OPT_CW_THRESHOLD, OPT_WEB, OPT_WEB_TOKEN, OPT_WEB_INSECURE,
	OPT_WEB_TOKEN_FILE, OPT_WEB_HOST, OPT_WEB_CERT, OPT_WEB_KEY,
	OPT_NO_HOST,
	OPT_JSONL, OPT_ROTATE, OPT_STATS_INTERVAL,
};

static const struct option long_options[] = {
	{ "json", required_argument, NULL, OPT_JSON },
	{ "report", required_argument, NULL, OPT_REPORT },
	{ "duration", required_argument, NULL, OPT_DURATION },
	{ "conn-log", required_argument, NULL, OPT_CONNLOG },
	{ "jsonl", required_argument, NULL, OPT_JSONL },
	{ "rotate", required_argument, NULL, OPT_ROTATE },
	{ "stats-interval", required_argument, NULL, OPT_STATS_INTERVAL },
	{ "max-flows", required_argument, NULL, OPT_MAX_FLOWS },
	{ "idle-timeout", required_argument, NULL, OPT_IDLE_TIMEOUT },
	{ "msl", required_argument, NULL, OPT_MSL },
	{ "syn-timeout", required_argument, NULL, OPT_SYN_TIMEOUT },
	{ "vlan-key", no_argument, NULL, OPT_VLAN_KEY },
	{ "verify-checksums", no_argument, NULL, OPT_CHECKSUMS },
	{ "no-color", no_argument, NULL, OPT_NO_COLOR },
	{ "no-host", no_argument, NULL, OPT_NO_HOST },
	{ "web", required_argument, NULL, OPT_WEB },
	{ "web-token", required_argument, NULL, OPT_WEB_TOKEN },
	{ "web-insecure", no_argument, NULL, OPT_WEB_INSECURE },
	{ "web-token-file", required_argument, NULL, OPT_WEB_TOKEN_FILE },
	{ "web-host", required_argument, NULL, OPT_WEB_HOST },
	{ "web-cert", required_argument, NULL, OPT_WEB_CERT },
	{ "web-key", required_argument, NULL, OPT_WEB_KEY },
	{ "synflood-rate", required_argument, NULL, OPT_SYNFLOOD_RATE },
	{ "timewait-threshold", required_argument, NULL, OPT_TW_THRESHOLD },
	{ "closewait-age", required_argument, NULL, OPT_CW_AGE },
	{ "closewait-threshold", required_argument, NULL, OPT_CW_THRESHOLD },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

static const char short_options[] = ":r:i:f:c:s:B:Z:pqlvDhV";

/*
 * tcpdump's options that only change how it prints packets.  connscope
 * prints no packets, so they have nothing to change: said so, rather than
 * a bare "unknown option" to someone whose fingers type "-nn" by habit.
 */
static bool is_tcpdump_display_option(int c)
{
	return c > 0 && c < 256 && strchr("nNtxXAeSK#", c) != NULL;
}

/* The long option that getopt_long returns as v. */
static const char *long_name(int v)
{
	for (const struct option *o = long_options; o->name; o++)
		if (o->val == v)
			return o->name;
	return "?";
}

/* The long options that start with the len bytes of word, as a list in
 * buf; returns how many.  getopt_long takes none of two or more ("--web-":
 * --web-token or --web-insecure) and tells no more than for an unknown one. */
static int long_matches(const char *word, size_t len, char *buf, size_t buflen)
{
	int n = 0;
	size_t used = 0;

	buf[0] = '\0';
	for (const struct option *o = long_options; o->name; o++) {
		if (len < 2 || strncmp(o->name, word + 2, len - 2) != 0)
			continue;
		int w = snprintf(buf + used, buflen - used, "%s--%s",
				 n ? ", " : "", o->name);
		if (w > 0 && (size_t)w < buflen - used)
			used += (size_t)w;
		n++;
	}
	return n;
}

/*
 * Names what getopt_long did not take (c is '?' or ':') as it was written.
 * A short option is optopt: argv[optind - 1] is not its word, since in
 * "-nn" optind has not moved past the word yet.  optopt is the value of a
 * long option used wrongly, and 0 for an unknown or ambiguous one, which
 * is then argv[optind - 1], up to an "=".
 */
static int option_error(int c, char **argv)
{
	const char *word = argv[optind - 1];
	int len = (int)strcspn(word, "=");
	char list[256];
	/* "--help=x": a long option, though its value is a short one's */
	bool long_given_value = c == '?' && optopt > 0 && optopt < 256 &&
				strchr(short_options + 1, optopt);

	if (optopt >= 256 || long_given_value)
		return usage_error(c == ':' ? "option '--%s' needs a value"
					    : "option '--%s' takes no value",
				   long_name(optopt));
	if (optopt && c == '?' && is_tcpdump_display_option(optopt))
		return usage_error("unknown option '-%c': it is one of tcpdump's "
				   "display options (-n, -t, -x, -X, -A, -e, -S, "
				   "...), which connscope does not need: it prints "
				   "no packets, and never resolves names; leave it "
				   "out", optopt);
	if (optopt)
		return usage_error(c == ':' ? "option '-%c' needs a value"
					    : "unknown option '-%c'", optopt);
	if (long_matches(word, (size_t)len, list, sizeof list) > 1)
		return usage_error("option '%.*s' is ambiguous: %s", len, word, list);
	return usage_error("unknown option '%.*s'", len, word);
}

/* The options of the engine: --max-flows, the timeouts, the alerts. */
static int parse_analysis_option(int c, const char *arg, struct cs_engine_opts *e)
{
	uint64_t v;

	switch (c) {
	case OPT_VLAN_KEY: e->flow.vlan_key = true; return 0;
	case OPT_CHECKSUMS: e->verify_checksums = true; return 0;
	case OPT_SYNFLOOD_RATE:
		if (parse_u64("--synflood-rate", arg, 1, 100000000, &v))
			return -1;
		e->detect.synflood_rate = (uint32_t)v;
		return 0;
	case OPT_TW_THRESHOLD:
		if (parse_u64("--timewait-threshold", arg, 1, 100000000, &v))
			return -1;
		e->detect.timewait_threshold = (uint32_t)v;
		return 0;
	case OPT_CW_THRESHOLD:
		if (parse_u64("--closewait-threshold", arg, 1, 100000000, &v))
			return -1;
		e->detect.closewait_threshold = (uint32_t)v;
		return 0;
	case OPT_CW_AGE:
		return parse_usec("--closewait-age", arg, &e->detect.closewait_age_us);
	case OPT_MAX_FLOWS:
		if (parse_u64("--max-flows", arg, 1, 1u << 30, &v))
			return -1;
		e->flow.max_flows = (uint32_t)v;
		return 0;
	case OPT_IDLE_TIMEOUT:
		return parse_usec("--idle-timeout", arg, &e->flow.idle_timeout_us);
	case OPT_SYN_TIMEOUT:
		return parse_usec("--syn-timeout", arg, &e->syn_timeout_us);
	case OPT_MSL:
		if (parse_usec("--msl", arg, &e->flow.closed_timeout_us))
			return -1;
		e->flow.closed_timeout_us *= 2;	/* TIME_WAIT = 2*MSL */
		return 0;
	default:
		return -1;
	}
}

/* --web and its companions (web/options.c says what each accepts). */
static int parse_web_option(int c, const char *arg, struct options *o)
{
	static char token_buf[1024];	/* --web-token-file's */
	struct cs_web_opts *w = &o->web_opts;
	char err[256];
	int rc = 0;

	switch (c) {
	case OPT_WEB:
		rc = cs_web_parse_listen(arg, w, err, sizeof err);
		o->web = rc == 0;
		break;
	case OPT_WEB_TOKEN_FILE:
		rc = cs_web_read_token(arg, token_buf, sizeof token_buf, err, sizeof err);
		if (rc == 0)
			rc = cs_web_check_token(token_buf, "--web-token-file", err,
						sizeof err);
		w->token = token_buf;
		o->token_in_url = false;
		break;
	case OPT_WEB_TOKEN:
		rc = cs_web_check_token(arg, "--web-token", err, sizeof err);
		w->token = arg;
		o->token_in_url = true;
		break;
	case OPT_WEB_HOST:
		rc = cs_web_add_host(w, arg, err, sizeof err);
		break;
	case OPT_WEB_CERT: w->cert_path = arg; break;
	case OPT_WEB_KEY: w->key_path = arg; break;
	}
	if (rc != 0)
		fprintf(stderr, "%s: %s\n", progname, err);
	return rc;
}

/* The token from the environment, when no option gave one; then what
 * the web options need of each other. */
/* Memory for the dashboard's compact copy of every connection of a
 * capture file before it spills to a file (analyzer/views/store.h).  The
 * tests set CONNSCOPE_CONN_STORE_BYTES to make a small file spill. */
static size_t conn_store_budget(void)
{
	const char *env = getenv("CONNSCOPE_CONN_STORE_BYTES");
	char *end;

	if (env && *env) {
		unsigned long long v = strtoull(env, &end, 10);
		if (!*end && v > 0 && v <= SIZE_MAX)
			return (size_t)v;
	}
	return CS_STORE_BUDGET_DEFAULT;
}

static int check_web_options(struct options *o)
{
	struct cs_web_opts *w = &o->web_opts;
	const char *env = getenv("CONNSCOPE_WEB_TOKEN");
	char err[256];

	if (!w->token && env) {
		if (cs_web_check_token(env, "CONNSCOPE_WEB_TOKEN", err, sizeof err) != 0)
			return usage_error("%s", err);
		w->token = env;
	}
	if (!w->cert_path != !w->key_path)
		return usage_error("--web-cert and --web-key go together");
	if (o->web && !w->token && !o->web_insecure && !cs_web_is_loopback(w))
		return usage_error("--web on %s would show the traffic to anyone who "
				   "can reach it: give --web-token-file FILE (or "
				   "--web-token TOKEN), or --web-insecure if that is "
				   "what you want", w->addr);
	return -1;
}

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
	case 'l': o->line_buffered = true; return 0;
	case 'v': o->list_conns = true; return 0;
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
	case OPT_JSONL: o->jsonl_path = arg; return 0;
	case OPT_ROTATE:
		return parse_u64("--rotate", arg, 1, SECONDS_MAX, &o->rotate_sec);
	case OPT_STATS_INTERVAL:
		return parse_u64("--stats-interval", arg, 1, SECONDS_MAX,
				 &o->stats_interval_sec);
	case OPT_NO_COLOR: o->no_color = true; return 0;
	case OPT_NO_HOST: o->no_host = true; return 0;
	case OPT_WEB: case OPT_WEB_TOKEN: case OPT_WEB_TOKEN_FILE:
	case OPT_WEB_HOST: case OPT_WEB_CERT: case OPT_WEB_KEY:
		return parse_web_option(c, arg, o);
	case OPT_WEB_INSECURE: o->web_insecure = true; return 0;
	case OPT_REPORT:
		o->report_path = arg;
		o->report_path_given = true;
		return 0;
	default:
		return parse_analysis_option(c, arg, &o->engine);
	}
}

/*
 * No report may overwrite an input or another report (outfile.h): checked
 * before anything is opened, so a mistyped name costs nothing.  Returns -1
 * to continue, or the exit status to leave with.
 */
static int check_outputs(struct options *o)
{
	char err[2 * PATH_MAX + 256];
	int n = 0;

	int to_stdout = (o->json_path && !strcmp(o->json_path, "-")) +
			(o->connlog_path && !strcmp(o->connlog_path, "-")) +
			(o->jsonl_path && !strcmp(o->jsonl_path, "-"));
	if (to_stdout > 1 || (to_stdout && o->report_path_given &&
			      !strcmp(o->report_path, "-")))
		return usage_error("only one report can go to standard output");
	if (to_stdout && !o->report_path_given)
		o->quiet = true;	/* stdout carries the JSON or conn.log */

	struct cs_outfile_name *names = calloc((size_t)o->file_cnt + 4,
					       sizeof *names);
	if (!names) {
		fprintf(stderr, "%s: out of memory\n", progname);
		return EXIT_RUNTIME;
	}
	for (int i = 0; i < o->file_cnt; i++)
		names[n++] = (struct cs_outfile_name){ "-r", o->files[i], false };
	if (o->json_path)
		names[n++] = (struct cs_outfile_name){ "--json", o->json_path, true };
	if (o->connlog_path)
		names[n++] = (struct cs_outfile_name){ "--conn-log", o->connlog_path, true };
	if (o->jsonl_path)
		names[n++] = (struct cs_outfile_name){ "--jsonl", o->jsonl_path, true };
	if (!o->quiet)
		names[n++] = (struct cs_outfile_name){ "--report", o->report_path, true };
	int rc = cs_outfile_check(names, n, err, sizeof err);
	free(names);
	return rc == 0 ? -1 : usage_error("%s", err);
}

/*
 * tcpdump's and tshark's habit: what follows the options is the filter
 * ("connscope -r f.pcap tcp port 80"), its words joined by spaces as
 * tcpdump joins them.  Given with -f as well, one of the two would be
 * silently lost: refused.
 */
static int take_filter_words(int argc, char **argv, struct options *o)
{
	size_t len = 0;

	if (o->filter)
		return usage_error("a filter was given twice: with -f ('%s') and "
				   "after the options ('%s'...); give one",
				   o->filter, argv[optind]);
	for (int i = optind; i < argc; i++)
		len += strlen(argv[i]) + 1;
	o->filter_words = malloc(len);
	if (!o->filter_words) {
		fprintf(stderr, "%s: out of memory\n", progname);
		return -1;
	}
	o->filter_words[0] = '\0';
	for (int i = optind; i < argc; i++) {
		if (i > optind)
			strcat(o->filter_words, " ");
		strcat(o->filter_words, argv[i]);
	}
	o->filter = o->filter_words;
	return 0;
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
	o->stats_interval_sec = STATS_INTERVAL_SEC_DEFAULT;
	cs_engine_opts_default(&o->engine);

	opterr = 0;
	while ((c = getopt_long(argc, argv, short_options, long_options,
				NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return EXIT_OK;
		}
		if (c == 'V') {
			printf("connscope %s\n", CS_VERSION);
			return EXIT_OK;
		}
		if (c == ':' || c == '?')
			return option_error(c, argv);
		if (parse_option(c, optarg, o) != 0)
			return EXIT_USAGE;
	}
	if (optind < argc && take_filter_words(argc, argv, o) != 0)
		return EXIT_USAGE;
	if (o->list_ifaces)
		return -1;
	if (!o->iface && o->file_cnt == 0)
		return usage_error("nothing to read: give -r FILE or -i IFACE");
	if (o->iface && o->file_cnt)
		return usage_error("-r and -i cannot be combined");
	if (o->duration_sec > 0 && !o->iface)
		return usage_error("--duration applies to live capture (-i)");
	if (o->no_host && !o->iface)
		return usage_error("--no-host applies to live capture (-i): "
				   "a capture file has no host view");
	if (o->rotate_sec && !o->jsonl_path && !o->connlog_path)
		return usage_error("--rotate renames the --jsonl and --conn-log "
				   "files: give one of them");
	int stdin_cnt = 0;
	for (int i = 0; i < o->file_cnt; i++)
		stdin_cnt += strcmp(o->files[i], "-") == 0;
	if (stdin_cnt > 1)
		return usage_error("standard input ('-r -') can be read once");
	int web_status = check_web_options(o);
	if (web_status >= 0)
		return web_status;
	o->engine.keep_recent = o->web;
	if (o->web && !o->iface)
		o->engine.keep_all_budget_bytes = conn_store_budget();
	return check_outputs(o);
}

/* ---- wiring ------------------------------------------------------------ */

/* What main wires together; the callbacks of the run get it as ctx. */
struct app {
	struct options opt;
	struct cs_web *web;		/* with --web */
	struct cs_run run;
};

static void say(void *ctx, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s: %s\n", progname, msg);
}

/* Once the first input is open: -Z gives up root, opening a device or a
 * root-only file having been the only reason for it. */
static int drop_privileges(void *ctx, char *err, size_t errlen)
{
	const struct app *a = ctx;

	return cs_drop_privileges(a->opt.user, err, errlen);
}

static void publish_to_web(void *ctx, struct cs_snapshot *s)
{
	struct app *a = ctx;

	cs_web_publish(a->web, s);
}

/* One line, rewritten in place on the terminal; cleared at the end. */
static void show_progress(void *ctx, const struct cs_run_progress *p)
{
	char a[32];

	(void)ctx;
	if (!p) {
		fputs("\r\033[K", stderr);
		return;
	}
	fprintf(stderr, "\r%s: %s  %.0f of %.0f MiB (%.0f%%)  %s packets\033[K",
		progname, p->name, (double)p->done_bytes / 1048576.0,
		(double)p->total_bytes / 1048576.0,
		100.0 * (double)p->done_bytes / (double)p->total_bytes,
		cs_count_format(p->packets, a, sizeof a));
}

static void configure_run(struct cs_run_config *c, struct app *a)
{
	const struct options *o = &a->opt;

	memset(c, 0, sizeof *c);
	c->files = o->files;
	c->file_cnt = o->file_cnt;
	c->live = o->iface ? &o->live : NULL;
	c->filter = o->filter;
	c->count = o->count;
	c->duration_sec = o->duration_sec;
	c->no_host = o->no_host;
	c->engine = o->engine;
	c->json.path = o->json_path;
	c->connlog.path = o->connlog_path;
	c->jsonl_path = o->jsonl_path;
	c->rotate_sec = o->rotate_sec;
	c->stats_interval_sec = o->stats_interval_sec;
	c->text.path = o->quiet ? NULL : o->report_path;
	c->line_buffered = o->line_buffered;
	c->list_conns = o->list_conns;
	c->colour = o->no_color || getenv("NO_COLOR") ? CS_RUN_COLOUR_NEVER
						      : CS_RUN_COLOUR_ON_TERMINAL;
	c->ctx = a;
	c->say = say;
	c->begin = o->user ? drop_privileges : NULL;
	c->publish = o->web ? publish_to_web : NULL;
	c->progress = isatty(STDERR_FILENO) ? show_progress : NULL;
}

static const int exit_status[CS_RUN_STATUS_MAX] = {
	[CS_RUN_OK] = EXIT_OK,
	[CS_RUN_BAD_FILTER] = EXIT_USAGE,
	[CS_RUN_BAD_INPUT] = EXIT_INPUT,
	[CS_RUN_FAILED] = EXIT_RUNTIME,
};

/* ---- the dashboard --------------------------------------------------------- */

static int start_web(struct app *a)
{
	struct cs_web_opts *o = &a->opt.web_opts;
	char err[256];
	bool v6 = strchr(o->addr, ':') != NULL;

	o->log = say;		/* refused clients, failed tokens */
	if (cs_web_start(&a->web, o, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", progname, err);
		return -1;
	}
	/* A token from a file or the environment was kept from other users:
	 * it does not go to stderr (a log, often) either. */
	bool shown = o->token && a->opt.token_in_url;
	fprintf(stderr, "%s: dashboard at %s://%s%s%s:%u/%s%s%s\n", progname,
		cs_web_tls(a->web) ? "https" : "http", v6 ? "[" : "", o->addr,
		v6 ? "]" : "", cs_web_port(a->web), shown ? "?token=" : "",
		shown ? o->token : "", o->token && !shown ? " (add ?token=TOKEN)" : "");
	return 0;
}

/* A capture file was analysed: keep answering until Ctrl-C. */
static void serve_until_stopped(void)
{
	struct timespec nap = { 0, 200 * 1000 * 1000 };

	fprintf(stderr, "%s: analysis done; serving the dashboard until Ctrl-C\n",
		progname);
	while (!stop_signal)
		nanosleep(&nap, NULL);	/* a signal cuts the nap short */
}

/* A second stop: leave now (cs_run_abandon: no half report in place, what
 * went to standard output flushed), without waiting for the writer, the
 * dashboard or anything else. */
static void exit_if_aborted(struct app *a)
{
	if (!abort_signal)
		return;
	cs_run_abandon(&a->run);
	_exit(128 + abort_signal);
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

/* The run (analyzer/run/driver.c), with the dashboard around it. */
static int run(struct app *a)
{
	struct cs_run_config cfg;
	char err[256];

	configure_run(&cfg, a);
	if (cs_run_init(&a->run, &cfg, err, sizeof err) != 0) {
		fprintf(stderr, "%s: %s\n", progname, err);
		return EXIT_RUNTIME;
	}
	running = &a->run;
	install_signal_handlers(a->opt.jsonl_path || a->opt.rotate_sec);
	/* Before reading, so a privileged port is bound before root is given up. */
	if (a->opt.web && start_web(a) != 0) {
		running = NULL;
		cs_run_fini(&a->run);
		return EXIT_RUNTIME;
	}
	if (a->opt.iface)
		cs_run_capture_live(&a->run);
	else
		cs_run_read_files(&a->run);
	cs_run_finish(&a->run);
	exit_if_aborted(a);
	/* Nothing could be opened: there is no report, and nothing to serve;
	 * stopped: nothing more is wanted. */
	if (a->web && a->run.began && !stop_signal)
		serve_until_stopped();
	cs_web_stop(a->web);
	exit_if_aborted(a);
	running = NULL;
	int status = exit_status[a->run.status];
	cs_run_fini(&a->run);
	return status;
}

int main(int argc, char **argv)
{
	static struct app a;	/* the engine is large: kept off the stack */

	int status = parse_options(argc, argv, &a.opt);
	if (status < 0)
		status = a.opt.list_ifaces ? list_interfaces() : run(&a);
	free(a.opt.files);
	free(a.opt.filter_words);
	return status;
}
