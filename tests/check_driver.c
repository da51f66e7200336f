/*
 * check_driver.c — the run driver on the real samples, against figures
 * nobody here computed: what tcpdump reads in the same files.  Then what a
 * run does around the reading: files as one stream, the count limit, an
 * unreadable, a damaged file and a bad filter, the begin callback before
 * any output, the streamed outputs, the last snapshot, and an interrupt.
 * Run under ThreadSanitizer by `make tsan` (reader and writer threads).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyzer/run/driver.h"
#include "tests/pktbuild.h"
#include "tests/suites.h"

#define USEC 1000000ull

/*
 * tcpdump 4.99 (libpcap 1.10) on each sample, with these commands:
 *   packets      tcpdump -n -r FILE | wc -l
 *   bytes        tcpdump -n -e -r FILE |
 *                  sed -n 's/^[^,]*, ethertype [^,]*, length \([0-9]*\): .*\/\1/p' |
 *                  awk '{s += $1} END {print s}'        (length on the wire)
 *   tcp          tcpdump -n -r FILE tcp | wc -l
 *   icmp         tcpdump -n -r FILE 'icmp or icmp6' | wc -l
 *                  (every ICMP message in the samples is an error about TCP)
 *   first, last  tcpdump -tt -n -r FILE | head -1 (tail -1), first field
 *   syns         tcpdump -n -r FILE | grep -F 'Flags [S],' |
 *                  awk '{print $3, $5, $9}' | sort -u | wc -l
 *                  (distinct client, server and initial sequence number:
 *                  one per connection attempt, retransmitted SYNs once;
 *                  every sample's connections begin with a SYN)
 */
static const struct expected {
	const char *file;
	uint64_t packets, bytes, tcp, icmp;
	uint64_t first_us, last_us;
	uint64_t syns;
} samples[] = {
	{ "abort-unread.pcap", 6, 476, 6, 0,
	  1795339021476552, 1795339021526995, 1 },
	{ "abort.pcap", 8, 672, 8, 0,
	  1795336511918059, 1795336511918592, 1 },
	{ "closewait.pcap", 574, 47116, 574, 0,
	  1795339035621963, 1795339044376692, 61 },
	{ "halfclose.pcap", 11, 870, 11, 0,
	  1795336512545906, 1795336512649847, 1 },
	{ "lossy.pcap", 427, 384470, 427, 0,
	  1795339025874349, 1795339034969106, 4 },
	{ "mixed.pcap", 92, 20324, 89, 3,
	  1795336501244552, 1795336512649847, 13 },
	{ "nonexistent.pcap", 9, 790, 9, 0,
	  1795339022187012, 1795339022387781, 1 },
	{ "normal.pcap", 60, 17656, 60, 0,
	  1795336501244534, 1795336501626251, 6 },
	{ "portreuse.pcap", 20, 1608, 20, 0,
	  1795339023044194, 1795339023545756, 2 },
	{ "refused.pcap", 4, 256, 4, 0,
	  1795336502144588, 1795336502195016, 2 },
	{ "synflood-backlog.pcap", 3056, 166240, 3056, 0,
	  1795339053673778, 1795339058787662, 3004 },
	{ "synflood-cookies.pcap", 6040, 339216, 6040, 0,
	  1795339050486780, 1795339052616098, 3004 },
	{ "timeout.pcap", 3, 222, 3, 0,
	  1795336502711515, 1795336505733395, 1 },
	{ "timewait.pcap", 18030, 1237980, 18030, 0,
	  1795339045690569, 1795339049614119, 3000 },
	{ "unreachable-reject.pcap", 4, 352, 2, 2,
	  1795339020787318, 1795339020799425, 2 },
	{ "unreachable.pcap", 6, 648, 3, 3,
	  1795336510376430, 1795336511397470, 2 },
	{ "zerowindow.pcap", 46, 70048, 46, 0,
	  1795339024194880, 1795339025196923, 1 },
};
#define SAMPLE_CNT (sizeof samples / sizeof samples[0])

/* samples/FILE under CS_TEST_DATA; each call has its own buffer, a few
 * of them alive at once. */
static const char *sample(const char *file)
{
	static char paths[4][4096];
	static unsigned next;
	const char *root = getenv("CS_TEST_DATA");
	char *p = paths[next++ % 4];

	snprintf(p, sizeof paths[0], "%s/samples/%s", root ? root : ".", file);
	return p;
}

/* What the callbacks saw. */
struct seen {
	char said[4096];		/* every message, one per line */
	int begins;
	bool outputs_existed;		/* at begin, the JSON report existed */
	const char *json_path;
	struct cs_snapshot *last;	/* the last snapshot published */
	uint64_t published;
	struct cs_run *interrupt;	/* interrupted at the first snapshot */
};

static void on_say(void *ctx, const char *msg)
{
	struct seen *w = ctx;
	size_t len = strlen(w->said);

	snprintf(w->said + len, sizeof w->said - len, "%s\n", msg);
}

static int on_begin(void *ctx, char *err, size_t errlen)
{
	struct seen *w = ctx;
	struct stat st;

	(void)err;
	(void)errlen;
	w->begins++;
	w->outputs_existed = w->json_path && stat(w->json_path, &st) == 0;
	return 0;
}

static int refuse_begin(void *ctx, char *err, size_t errlen)
{
	on_begin(ctx, err, errlen);
	snprintf(err, errlen, "begin refused");
	return -1;
}

static void on_publish(void *ctx, struct cs_snapshot *s)
{
	struct seen *w = ctx;

	if (w->last)
		cs_snapshot_unref(w->last);
	w->last = s;
	w->published++;
	if (w->interrupt)
		cs_run_interrupt(w->interrupt);
}

/* No input, no output, no callback; the engine's defaults. */
static struct cs_run_config defaults(void)
{
	struct cs_run_config cfg = { 0 };

	cs_engine_opts_default(&cfg.engine);
	return cfg;
}

/* A run whose messages go to w. */
static struct cs_run *run_new(struct cs_run_config *cfg, struct seen *w)
{
	struct cs_run *r = malloc(sizeof *r);	/* the engine is large */
	char err[256];

	ck_assert_ptr_nonnull(r);
	cfg->ctx = w;
	cfg->say = on_say;
	ck_assert_msg(cs_run_init(r, cfg, err, sizeof err) == 0, "%s", err);
	return r;
}

static void run_free(struct cs_run *r, struct seen *w)
{
	if (w->last)
		cs_snapshot_unref(w->last);
	w->last = NULL;
	cs_run_fini(r);
	free(r);
}

/* Runs one file (b NULL) or two to the end; the caller frees the run. */
static struct cs_run *run_files(struct cs_run_config *cfg, struct seen *w,
				const char *a, const char *b)
{
	static const char *files[2];
	files[0] = a;
	files[1] = b;
	cfg->files = files;
	cfg->file_cnt = b ? 2 : 1;
	struct cs_run *r = run_new(cfg, w);
	cs_run_read_files(r);
	cs_run_finish(r);
	return r;
}

/* ---- the samples against tcpdump ------------------------------------------ */

static const struct expected *expected_of(const char *file)
{
	for (size_t i = 0; i < SAMPLE_CNT; i++)
		if (!strcmp(samples[i].file, file))
			return &samples[i];
	ck_abort_msg("%s: not in the table", file);
	return NULL;
}

static void assert_as_tcpdump(const struct cs_run *r, const struct expected *x)
{
	const struct cs_stats *st = &r->engine.stats;

	ck_assert_msg(st->packets == x->packets, "%s: %llu packets, tcpdump %llu",
		      x->file, (unsigned long long)st->packets,
		      (unsigned long long)x->packets);
	ck_assert_uint_eq(r->frames, x->packets);
	ck_assert_uint_eq(st->bytes, x->bytes);
	ck_assert_uint_eq(st->tcp_packets, x->tcp);
	ck_assert_uint_eq(st->icmp_errors, x->icmp);
	ck_assert_uint_eq(st->first_ts_us, x->first_us);
	ck_assert_uint_eq(st->last_ts_us, x->last_us);
	ck_assert_uint_eq(r->engine.conns.connections, x->syns);
	ck_assert(cs_stats_balanced(st));
}

START_TEST(every_sample_reads_as_tcpdump_reads_it)
{
	const struct expected *x = &samples[_i];
	struct cs_run_config cfg = defaults();
	struct seen w = { 0 };
	struct cs_run *r = run_files(&cfg, &w, sample(x->file), NULL);

	ck_assert_int_eq(r->status, CS_RUN_OK);
	ck_assert(r->began);
	ck_assert_str_eq(w.said, "");
	assert_as_tcpdump(r, x);
	run_free(r, &w);
}
END_TEST

/* The same capture opened by the caller, from memory. */
START_TEST(a_capture_from_memory_reads_as_the_file)
{
	const struct expected *x = expected_of("mixed.pcap");
	static char buf[1 << 16];
	FILE *in = fopen(sample(x->file), "rb");
	ck_assert_ptr_nonnull(in);
	size_t len = fread(buf, 1, sizeof buf, in);
	fclose(in);

	static const char *const names[] = { "memory" };
	struct cs_run_config cfg = defaults();
	struct seen w = { 0 };
	cfg.files = names;
	cfg.file_cnt = 1;
	struct cs_run *r = run_new(&cfg, &w);
	struct cs_source *s;
	char err[256];
	ck_assert_msg(cs_source_open_stream(&s, fmemopen(buf, len, "rb"), "memory",
					    err, sizeof err) == 0, "%s", err);
	cs_run_read_source(r, s);
	cs_source_close(s);
	cs_run_finish(r);
	ck_assert_int_eq(r->status, CS_RUN_OK);
	assert_as_tcpdump(r, x);
	run_free(r, &w);
}
END_TEST

/* ---- around the reading ------------------------------------------------------ */

START_TEST(files_are_one_stream)
{
	struct cs_run_config cfg = defaults();
	struct seen w = { 0 };
	struct cs_run *r = run_files(&cfg, &w, sample("mixed.pcap"),
				     sample("lossy.pcap"));

	ck_assert_int_eq(r->status, CS_RUN_OK);
	ck_assert_uint_eq(r->engine.stats.packets, 92 + 427);
	ck_assert_uint_eq(r->engine.stats.bytes, 20324 + 384470);
	ck_assert_uint_eq(r->engine.conns.connections, 13 + 4);
	ck_assert_int_eq(r->src.name_cnt, 2);
	run_free(r, &w);
}
END_TEST

/* Limits inside a file, on a readahead batch's boundary, and across the
 * boundary between two files. */
START_TEST(a_count_limit_is_exact)
{
	static const uint64_t limits[] = { 1, 256, 1000, 92 + 100 };

	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
		struct cs_run_config cfg = defaults();
		cfg.count = limits[i];
		struct seen w = { 0 };
		struct cs_run *r = run_files(&cfg, &w, sample("mixed.pcap"),
					     sample("timewait.pcap"));
		ck_assert_uint_eq(r->engine.stats.packets, limits[i]);
		ck_assert_uint_eq(r->frames, limits[i]);
		ck_assert(cs_stats_balanced(&r->engine.stats));
		run_free(r, &w);
	}
}
END_TEST

START_TEST(an_unreadable_file_is_reported_and_the_next_one_read)
{
	struct cs_run_config cfg = defaults();
	struct seen w = { 0 };
	struct cs_run *r = run_files(&cfg, &w, "/nonexistent/x.pcap",
				     sample("mixed.pcap"));

	ck_assert_int_eq(r->status, CS_RUN_BAD_INPUT);
	ck_assert_msg(strstr(w.said, "'/nonexistent/x.pcap'") != NULL, "%s", w.said);
	ck_assert_uint_eq(r->engine.stats.packets, 92);
	run_free(r, &w);
}
END_TEST

/* A copy of mixed.pcap cut in the middle of its last record: the 91
 * records before it are read, the damage is reported. */
START_TEST(a_damaged_file_gives_what_came_before_the_damage)
{
	static uint8_t buf[1 << 16];
	FILE *in = fopen(sample("mixed.pcap"), "rb");
	ck_assert_ptr_nonnull(in);
	size_t len = fread(buf, 1, sizeof buf, in);
	fclose(in);
	char path[] = "/tmp/connscope-driver-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len - 10), (ssize_t)(len - 10));
	close(fd);

	struct cs_run_config cfg = defaults();
	struct seen w = { 0 };
	struct cs_run *r = run_files(&cfg, &w, path, NULL);
	unlink(path);

	ck_assert_int_eq(r->status, CS_RUN_BAD_INPUT);
	ck_assert_msg(strstr(w.said, "damaged") != NULL, "%s", w.said);
	ck_assert_uint_eq(r->engine.stats.packets, 92 - 1);
	run_free(r, &w);
}
END_TEST

/* tcpdump -n -r samples/mixed.pcap tcp | wc -l: 89 */
START_TEST(a_filter_keeps_what_tcpdump_keeps)
{
	struct cs_run_config cfg = defaults();
	struct seen w = { 0 };
	cfg.filter = "tcp";
	struct cs_run *r = run_files(&cfg, &w, sample("mixed.pcap"), NULL);

	/* tcpdump -r mixed.pcap: 89 packets match 'tcp'; 'icmp or icmp6'
	 * are 3 unreachables, each quoting a TCP SYN, kept because they
	 * explain those SYNs (the filter matches what they quote). */
	ck_assert_int_eq(r->status, CS_RUN_OK);
	ck_assert_uint_eq(r->engine.stats.packets, 89 + 3);
	ck_assert_uint_eq(r->engine.stats.icmp_errors, 3);
	run_free(r, &w);
}
END_TEST

START_TEST(a_bad_filter_ends_the_run_before_any_output)
{
	char json[] = "/tmp/connscope-driver-json-XXXXXX";
	int fd = mkstemp(json);
	ck_assert_int_ge(fd, 0);
	close(fd);
	unlink(json);		/* a name nobody has: created only by a run */

	struct cs_run_config cfg = defaults();
	struct seen w = { 0 };
	cfg.filter = "tcp and";
	cfg.json.path = json;
	struct cs_run *r = run_files(&cfg, &w, sample("mixed.pcap"),
				     sample("normal.pcap"));
	struct stat st;

	ck_assert_int_eq(r->status, CS_RUN_BAD_FILTER);
	ck_assert(!r->began);
	ck_assert_uint_eq(r->engine.stats.packets, 0);
	ck_assert_msg(strstr(w.said, "'tcp and'") != NULL, "%s", w.said);
	ck_assert_ptr_null(strchr(strchr(w.said, '\n') + 1, '\n')); /* said once */
	ck_assert_int_ne(stat(json, &st), 0);
	run_free(r, &w);
}
END_TEST

/* Begin runs once, when the first input is open and before the outputs
 * are created (connscope drops root there); refused, nothing is read. */
START_TEST(begin_comes_once_before_the_outputs)
{
	char json[] = "/tmp/connscope-driver-json-XXXXXX";
	int fd = mkstemp(json);
	ck_assert_int_ge(fd, 0);
	close(fd);
	unlink(json);

	struct seen w = { .json_path = json };
	struct cs_run_config cfg = defaults();
	cfg.json.path = json;
	cfg.begin = on_begin;
	struct cs_run *r = run_files(&cfg, &w, sample("mixed.pcap"),
				     sample("normal.pcap"));
	struct stat st;
	ck_assert_int_eq(w.begins, 1);
	ck_assert(!w.outputs_existed);
	ck_assert_int_eq(stat(json, &st), 0);
	ck_assert_int_eq(r->status, CS_RUN_OK);
	run_free(r, &w);
	unlink(json);

	struct seen no = { .json_path = json };
	cfg = defaults();
	cfg.json.path = json;
	cfg.begin = refuse_begin;
	r = run_files(&cfg, &no, sample("mixed.pcap"), sample("normal.pcap"));
	ck_assert_int_eq(no.begins, 1);
	ck_assert_int_eq(r->status, CS_RUN_FAILED);
	ck_assert_str_eq(no.said, "begin refused\n");
	ck_assert_uint_eq(r->engine.stats.packets, 0);
	ck_assert_int_ne(stat(json, &st), 0);
	run_free(r, &no);
}
END_TEST

static size_t count_of(const char *text, size_t len, const char *what)
{
	size_t n = 0, wl = strlen(what);

	for (size_t i = 0; i + wl <= len; i++)
		n += memcmp(text + i, what, wl) == 0;
	return n;
}

/* Lines of a conn.log that are not #comments. */
static size_t rows_of(const char *log, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		n += (i == 0 || log[i - 1] == '\n') && log[i] != '#';
	return n;
}

/* The streamed outputs through the writer thread, and the text report. */
START_TEST(the_outputs_hold_every_connection)
{
	char *json, *connlog, *text;
	size_t json_len, connlog_len, text_len;
	struct cs_run_config cfg = defaults();
	struct seen w = { 0 };

	cfg.json.stream = open_memstream(&json, &json_len);
	cfg.connlog.stream = open_memstream(&connlog, &connlog_len);
	cfg.text.stream = open_memstream(&text, &text_len);
	struct cs_run *r = run_files(&cfg, &w, sample("timewait.pcap"), NULL);

	ck_assert_int_eq(r->status, CS_RUN_OK);
	fclose(cfg.json.stream);
	fclose(cfg.connlog.stream);
	fclose(cfg.text.stream);
	ck_assert_uint_eq(count_of(json, json_len, "\"orig_h\":"), 3000);
	ck_assert_uint_eq(count_of(json, json_len, "\"packets\":18030,"), 1);
	ck_assert_uint_eq(rows_of(connlog, connlog_len), 3000 + r->engine.zeek_rows);
	ck_assert_uint_eq(count_of(text, text_len, "18,030 read"), 1);
	ck_assert_uint_eq(count_of(text, text_len, "\033["), 0);	/* no colour */
	free(json);
	free(connlog);
	free(text);
	run_free(r, &w);
}
END_TEST

static char *read_all(const char *path, size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;

	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fseek(f, 0, SEEK_END), 0);
	*len = (size_t)ftell(f);
	rewind(f);
	buf = malloc(*len + 1);
	ck_assert_ptr_nonnull(buf);
	ck_assert_uint_eq(fread(buf, 1, *len, f), *len);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/*
 * --jsonl through the writer thread (conn lines) and the reading thread
 * (alert and stats lines) into one file: the flood sample's 3004
 * connections (tcpdump's count of its SYNs' 4-tuples, in the table above)
 * once each, its one syn_flood alert started and ended, a stats line at
 * the end; every line an object.  Run under ThreadSanitizer by make tsan.
 */
START_TEST(the_json_lines_hold_every_connection_and_the_flood)
{
	char path[] = "/tmp/cs-driver-jsonl.XXXXXX";
	struct cs_run_config cfg = defaults();
	struct seen w = { 0 };
	size_t len;

	ck_assert_int_ge(mkstemp(path), 0);
	cfg.jsonl_path = path;
	cfg.stats_interval_sec = 60;
	struct cs_run *r = run_files(&cfg, &w, sample("synflood-backlog.pcap"), NULL);
	ck_assert_int_eq(r->status, CS_RUN_OK);
	char *text = read_all(path, &len);
	ck_assert_uint_eq(count_of(text, len, "{\"type\":\"conn\","),
			  expected_of("synflood-backlog.pcap")->syns);
	ck_assert_uint_eq(count_of(text, len, "{\"type\":\"alert\",\"event\":\"start\",\"id\":0,"
				   "\"alert\":{\"type\":\"syn_flood\""), 1);
	ck_assert_uint_eq(count_of(text, len, "{\"type\":\"alert\",\"event\":\"end\",\"id\":0,"), 1);
	ck_assert_uint_eq(count_of(text, len, "{\"type\":\"stats\","), 1);
	ck_assert_uint_eq(count_of(text, len, "\n"), 3004 + 2 + 1);
	ck_assert_uint_eq(count_of(text, len, "}\n{"), 3004 + 2);	/* whole lines */
	free(text);
	unlink(path);
	run_free(r, &w);
}
END_TEST

/*
 * A connection that Zeek's timers split in two: handshake, 1,299 bytes
 * from the client, 87,421 (40,000 + 40,000 + 7,421) from the server, both
 * FINs, and 10 s later a RST from the client.  Zeek removes a closed
 * connection 5 s after the close, so the RST is a second conn.log row.
 * The JSON connection is the whole one: 1,299 and 87,421 bytes, 6 and 5
 * packets; the first row's conn_state and history, worked out from the
 * packets with Zeek's rules (both FINs: SF; letters at their first
 * occurrence per side: S client SYN, h SYN-ACK, A client's pure ACK, D
 * client data, d server data, F client FIN, f server FIN); and both rows
 * in zeek_rows, the second as conn.log writes it.
 */
#define SPLIT_PKTS 11
static const struct { bool cli; uint16_t flags; uint32_t seq, ack, len; uint64_t at_ms; }
split_conn[SPLIT_PKTS] = {
	{ true, SYN, 0, 0, 0, 0 },
	{ false, SYNACK, 0, 1, 0, 1 },
	{ true, ACK, 1, 1, 0, 2 },
	{ true, DATA, 1, 1, 1299, 3 },
	{ false, DATA, 1, 1300, 40000, 4 },
	{ false, DATA, 40001, 1300, 40000, 5 },
	{ false, DATA, 80001, 1300, 7421, 6 },
	{ true, FINACK, 1300, 87422, 0, 7 },
	{ false, FINACK, 87422, 1301, 0, 8 },
	{ true, ACK, 1301, 87423, 0, 9 },
	{ true, RST, 1301, 0, 0, 10009 },
};

static size_t split_conn_pcap(uint8_t *file, size_t cap)
{
	static uint8_t frames[SPLIT_PKTS][65536];
	struct pb_rec recs[SPLIT_PKTS];
	struct pb_file pf = { .dlt = CS_DLT_EN10MB };

	for (int i = 0; i < SPLIT_PKTS; i++) {
		struct pb_spec sp;
		bool c = split_conn[i].cli;
		pb_spec_init(&sp, 4);
		ck_assert(pb_addr(c ? sp.src : sp.dst, "10.0.0.1"));
		ck_assert(pb_addr(c ? sp.dst : sp.src, "10.0.0.2"));
		sp.tcp.sport = c ? 40000 : 80;
		sp.tcp.dport = c ? 80 : 40000;
		sp.tcp.flags = split_conn[i].flags;
		sp.tcp.seq = (c ? 1000 : 5000) + split_conn[i].seq;
		sp.tcp.ack = split_conn[i].flags & CS_TH_ACK ?
			     (c ? 5000 : 1000) + split_conn[i].ack : 0;
		sp.payload_len = split_conn[i].len;
		recs[i] = (struct pb_rec){ .bytes = frames[i],
			.ts_ns = (1700000000ull * 1000 + split_conn[i].at_ms) * 1000000ull };
		recs[i].caplen = (uint32_t)pb_build(&sp, frames[i], sizeof frames[i]);
		ck_assert_uint_gt(recs[i].caplen, 0);
	}
	return pb_pcap_write(&pf, recs, SPLIT_PKTS, file, cap);
}

/* The JSON report of one capture, alone or beside a conn.log. */
static char *json_report_of(const char *file, bool with_connlog, size_t *len)
{
	struct cs_run_config cfg = defaults();
	struct seen w = { 0 };
	char *json, *connlog = NULL;
	size_t connlog_len;

	cfg.json.stream = open_memstream(&json, len);
	if (with_connlog)
		cfg.connlog.stream = open_memstream(&connlog, &connlog_len);
	struct cs_run *r = run_files(&cfg, &w, sample(file), NULL);
	ck_assert_int_eq(r->status, CS_RUN_OK);
	run_free(r, &w);
	fclose(cfg.json.stream);
	if (with_connlog)
		fclose(cfg.connlog.stream);
	free(connlog);
	return json;
}

/*
 * With the JSON report alone, a second thread formats half the rows the
 * end of the capture hands over at once (writer.h); beside a conn.log, the
 * writer formats them all.  The reports are the same, byte for byte: on
 * thousands of connections closed (timewait.pcap, 47 batches at the end),
 * a SYN flood, and a mix of every outcome.
 */
START_TEST(the_json_report_is_the_same_whoever_formats_its_rows)
{
	static const char *const files[] = {
		"timewait.pcap", "synflood-cookies.pcap", "mixed.pcap",
	};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		size_t alone_len, beside_len;
		char *alone = json_report_of(files[i], false, &alone_len);
		char *beside = json_report_of(files[i], true, &beside_len);
		ck_assert_uint_gt(count_of(alone, alone_len, "\"orig_h\":"), 0);
		ck_assert_msg(alone_len == beside_len &&
			      memcmp(alone, beside, alone_len) == 0,
			      "%s: the JSON report alone differs", files[i]);
		free(alone);
		free(beside);
	}
}
END_TEST

START_TEST(a_connection_zeek_splits_is_whole_in_the_json_report)
{
	static uint8_t file[300000];
	size_t len = split_conn_pcap(file, sizeof file);
	char *json, *connlog;
	size_t json_len, connlog_len;
	static const char *const names[] = { "memory" };
	struct cs_run_config cfg = defaults();
	struct seen w = { 0 };

	ck_assert_uint_gt(len, 0);
	cfg.files = names;
	cfg.file_cnt = 1;
	cfg.json.stream = open_memstream(&json, &json_len);
	cfg.connlog.stream = open_memstream(&connlog, &connlog_len);
	struct cs_run *r = run_new(&cfg, &w);
	struct cs_source *s;
	char err[256];
	ck_assert_msg(cs_source_open_stream(&s, fmemopen(file, len, "rb"), "memory",
					    err, sizeof err) == 0, "%s", err);
	cs_run_read_source(r, s);
	cs_source_close(s);
	cs_run_finish(r);
	ck_assert_int_eq(r->status, CS_RUN_OK);
	fclose(cfg.json.stream);
	fclose(cfg.connlog.stream);

	ck_assert_uint_eq(rows_of(connlog, connlog_len), 2);
	ck_assert_uint_eq(count_of(json, json_len, "\"orig_h\":"), 1);
	static const char *const want[] = {
		"\"outcome\":\"completed\",\"conn_state\":\"SF\",\"history\":\"ShADdFf\",",
		"\"orig_pkts\":6,\"resp_pkts\":5,",
		"\"orig_bytes\":1299,\"resp_bytes\":87421,",
		"\"zeek_rows\":[{\"conn_state\":\"SF\",\"history\":\"ShADdFf\"},{",
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
		ck_assert_msg(count_of(json, json_len, want[i]) == 1,
			      "no %s in %.*s", want[i], (int)json_len, json);
	/* the second row, as conn.log has it (its last line before #close) */
	char *row2 = strstr(connlog, "\n#close");
	ck_assert_ptr_nonnull(row2);
	*row2 = '\0';
	row2 = strrchr(connlog, '\n') + 1;
	char f[22][64];
	ck_assert_int_eq(sscanf(row2, "%63s %63s %63s %63s %63s %63s %63s %63s %63s %63s "
				"%63s %63s %63s %63s %63s %63s", f[0], f[1], f[2], f[3],
				f[4], f[5], f[6], f[7], f[8], f[9], f[10], f[11], f[12],
				f[13], f[14], f[15]), 16);
	char tail[160];
	snprintf(tail, sizeof tail, "{\"conn_state\":\"%s\",\"history\":\"%s\"}]",
		 f[11], f[15]);
	ck_assert_msg(count_of(json, json_len, tail) == 1, "no %s in %.*s", tail,
		      (int)json_len, json);
	free(json);
	free(connlog);
	run_free(r, &w);
}
END_TEST

START_TEST(the_last_snapshot_is_the_finished_run)
{
	struct seen w = { 0 };
	struct cs_run_config cfg = defaults();

	cfg.publish = on_publish;
	cfg.engine.keep_recent = true;	/* as with --web */
	struct cs_run *r = run_files(&cfg, &w, sample("mixed.pcap"), NULL);

	ck_assert_ptr_nonnull(w.last);
	ck_assert(w.last->finished);
	ck_assert(!w.last->live);
	ck_assert_uint_eq(w.last->seq, w.published);
	ck_assert_uint_eq(w.last->summary.packets, 92);
	ck_assert_uint_eq(w.last->summary.connections, 13);
	run_free(r, &w);
}
END_TEST

/* Interrupted at the first snapshot (after the first batch): the reading
 * ends early and cleanly, and the run still ends with its reports. */
START_TEST(an_interrupt_ends_the_reading_not_the_reports)
{
	char *text;
	size_t text_len;
	static const char *files[] = { NULL, NULL };
	struct seen w = { 0 };
	struct cs_run_config cfg = defaults();

	cfg.files = files;
	cfg.file_cnt = 2;
	cfg.publish = on_publish;
	cfg.text.stream = open_memstream(&text, &text_len);
	files[0] = sample("timewait.pcap");
	files[1] = sample("mixed.pcap");
	struct cs_run *r = run_new(&cfg, &w);

	w.interrupt = r;
	cs_run_read_files(r);
	w.interrupt = NULL;
	cs_run_finish(r);
	fclose(cfg.text.stream);
	ck_assert_int_eq(r->status, CS_RUN_OK);
	ck_assert_uint_gt(r->engine.stats.packets, 0);
	ck_assert_uint_lt(r->engine.stats.packets, 18030);
	ck_assert_uint_eq(r->engine.stats.packets, r->frames);
	ck_assert(cs_stats_balanced(&r->engine.stats));
	ck_assert(w.last->finished);
	ck_assert_uint_gt(text_len, 0);
	/* and the reports say it was cut short */
	ck_assert(r->src.interrupted);
	ck_assert(w.last->summary.interrupted);
	ck_assert_msg(count_of(text, text_len, "\nCut short: a signal stopped the reading") == 1,
		      "%s", text);
	free(text);
	run_free(r, &w);
}
END_TEST

/* Read to the end, a run was not cut short: no line, interrupted false. */
START_TEST(a_whole_run_is_not_cut_short)
{
	char *text;
	size_t text_len;
	struct seen w = { 0 };
	struct cs_run_config cfg = defaults();

	cfg.publish = on_publish;
	cfg.text.stream = open_memstream(&text, &text_len);
	cfg.count = 50;		/* -c ends a run on its own terms too */
	struct cs_run *r = run_files(&cfg, &w, sample("mixed.pcap"), NULL);
	fclose(cfg.text.stream);
	ck_assert_uint_eq(r->frames, 50);
	ck_assert(!r->src.interrupted);
	ck_assert(!w.last->summary.interrupted);
	ck_assert_uint_eq(count_of(text, text_len, "Cut short"), 0);
	free(text);
	run_free(r, &w);
}
END_TEST

/* SIGUSR1's request: a line of the figures so far, and the run goes on. */
START_TEST(a_stats_request_says_the_figures_and_reads_on)
{
	struct seen w = { 0 };
	struct cs_run_config cfg = defaults();
	static const char *files[] = { NULL };

	files[0] = sample("timewait.pcap");
	cfg.files = files;
	cfg.file_cnt = 1;
	struct cs_run *r = run_new(&cfg, &w);
	cs_run_request_stats(r);
	cs_run_read_files(r);
	cs_run_finish(r);
	ck_assert_msg(strstr(w.said, " packets read, ") && strstr(w.said, " analysed, ") &&
		      strstr(w.said, " connections, ") && strstr(w.said, " open\n"),
		      "%s", w.said);
	ck_assert_uint_eq(r->engine.stats.packets, 18030);
	ck_assert(!r->src.interrupted);
	run_free(r, &w);
}
END_TEST

/*
 * -f on files of two link types: the one the filter cannot take (raw IP
 * packets have no Ethernet addresses) is reported and skipped, as an
 * unreadable file is; the files around it are read.  tcpdump -r
 * samples/mixed.pcap tcp: 89 packets; samples/normal.pcap: 60.
 */
START_TEST(a_filter_one_file_cannot_take_skips_that_file)
{
	struct cs_run_config cfg = defaults();
	struct seen w = { 0 };
	static const char *files[3];
	char raw[4096];
	const char *root = getenv("CS_TEST_DATA");

	snprintf(raw, sizeof raw, "%s/tests/corpus/malformed/LINKTYPE_RAW_ipv4.pcap",
		 root ? root : ".");
	files[0] = sample("mixed.pcap");
	files[1] = raw;
	files[2] = sample("normal.pcap");
	cfg.files = files;
	cfg.file_cnt = 3;
	cfg.filter = "ether host 00:11:22:33:44:55 or tcp";
	struct cs_run *r = run_new(&cfg, &w);
	cs_run_read_files(r);
	cs_run_finish(r);
	ck_assert_int_eq(r->status, CS_RUN_BAD_INPUT);
	ck_assert_msg(strstr(w.said, "cannot compile it for link type RAW") &&
		      strstr(w.said, "; the file is skipped\n"), "%s", w.said);
	/* mixed.pcap as above (89 + 3), normal.pcap's 60, all TCP */
	ck_assert_uint_eq(r->engine.stats.packets, 89 + 3 + 60);
	run_free(r, &w);
}
END_TEST

/* An interrupt before the run: nothing is opened, there is no report. */
START_TEST(an_interrupt_before_the_run_reads_nothing)
{
	static const char *files[] = { NULL };
	struct seen w = { 0 };
	struct cs_run_config cfg = defaults();

	cfg.files = files;
	cfg.file_cnt = 1;
	cfg.publish = on_publish;
	files[0] = sample("mixed.pcap");
	struct cs_run *r = run_new(&cfg, &w);

	cs_run_interrupt(r);
	cs_run_read_files(r);
	cs_run_finish(r);
	ck_assert(!r->began);
	ck_assert_uint_eq(r->engine.stats.packets, 0);
	ck_assert_ptr_null(w.last);
	run_free(r, &w);
}
END_TEST

Suite *driver_suite(void)
{
	Suite *s = suite_create("driver");
	TCase *tc = tcase_create("driver");

	tcase_add_loop_test(tc, every_sample_reads_as_tcpdump_reads_it, 0,
			    (int)SAMPLE_CNT);
	tcase_add_test(tc, a_capture_from_memory_reads_as_the_file);
	tcase_add_test(tc, files_are_one_stream);
	tcase_add_test(tc, a_count_limit_is_exact);
	tcase_add_test(tc, an_unreadable_file_is_reported_and_the_next_one_read);
	tcase_add_test(tc, a_damaged_file_gives_what_came_before_the_damage);
	tcase_add_test(tc, a_filter_keeps_what_tcpdump_keeps);
	tcase_add_test(tc, a_bad_filter_ends_the_run_before_any_output);
	tcase_add_test(tc, begin_comes_once_before_the_outputs);
	tcase_add_test(tc, the_outputs_hold_every_connection);
	tcase_add_test(tc, a_connection_zeek_splits_is_whole_in_the_json_report);
	tcase_add_test(tc, the_json_report_is_the_same_whoever_formats_its_rows);
	tcase_add_test(tc, the_last_snapshot_is_the_finished_run);
	tcase_add_test(tc, an_interrupt_ends_the_reading_not_the_reports);
	tcase_add_test(tc, a_whole_run_is_not_cut_short);
	tcase_add_test(tc, a_stats_request_says_the_figures_and_reads_on);
	tcase_add_test(tc, a_filter_one_file_cannot_take_skips_that_file);
	tcase_add_test(tc, an_interrupt_before_the_run_reads_nothing);
	tcase_add_test(tc, the_json_lines_hold_every_connection_and_the_flood);
	suite_add_tcase(s, tc);
	return s;
}
