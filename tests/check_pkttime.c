/*
 * check_pkttime.c — packet time at its edges.
 *
 * First a record's time as the file path reads it, every expectation worked
 * out from the bytes written (tcpdump 4.99 prints "[Error converting time]"
 * from 2038 on, so it cannot be the oracle here): pcap's seconds are an
 * unsigned 32-bit count to 2106, which libpcap 1.10 sign-extends from 2038
 * on; pcapng's 64-bit time can fall before 1970 (a negative if_tsoffset) or
 * past 2^64 µs (coarse if_tsresol); a fraction of a million µs or more is
 * none.  Frames without a time are counted, named once, and analysed at the
 * time reached.
 *
 * Then every timer that adds a duration to a packet time, run at the end
 * of time (CS_TIME_MAX_US, in the year 586,524), where a sum that wrapped
 * would fire at once: the same traffic must end as it ends in 2023.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/engine.h"
#include "analyzer/run/driver.h"
#include "analyzer/tracking/zeek.h"
#include "capture/pkttime.h"
#include "capture/source.h"
#include "tests/pktbuild.h"
#include "tests/suites.h"

#define T0 (1700000000ull * SEC)	/* 2023-11-14 22:13:20 UTC */
#define END CS_TIME_MAX_US		/* the last packet time */
#define Y2038 2147483648u		/* 2038-01-19 03:14:08 UTC: 2^31 s */
#define Y2040 2208988800u		/* 2040-01-01 00:00:00 UTC */
#define Y2105 4291660800u		/* 2105-12-31 00:00:00 UTC */

/* ---- a record's time ---------------------------------------------------------- */

static const struct {
	int64_t sec, usec;
	bool valid;
	uint64_t us;
} unix_cases[] = {
	{ 0, 0, true, 0 },
	{ 1700000000, 123456, true, 1700000000123456ull },
	{ 4294967295, 999999, true, 4294967295999999ull },
	/* the last microsecond is CS_TIME_NEVER's, the one before the last time */
	{ 18446744073709, 551614, true, CS_TIME_MAX_US },
	{ 18446744073709, 551615, false, 0 },
	{ 18446744073710, 0, false, 0 },
	{ INT64_MAX, 0, false, 0 },
	{ -1, 999999, false, 0 },		/* 1969-12-31 23:59:59.999999 */
	{ INT64_MIN, 0, false, 0 },
	{ 1700000000, 1000000, false, 0 },	/* fractions that are none */
	{ 1700000000, -1, false, 0 },
	{ 1700000000, -2147483648, false, 0 },
};

START_TEST(a_record_time_is_packet_time_or_none)
{
	uint64_t us = 12345;
	bool valid = cs_time_from_unix(unix_cases[_i].sec, unix_cases[_i].usec, &us);

	ck_assert_msg(valid == unix_cases[_i].valid, "%lld.%lld: %s",
		      (long long)unix_cases[_i].sec, (long long)unix_cases[_i].usec,
		      valid ? "a time" : "none");
	ck_assert_uint_eq(us, unix_cases[_i].us);
}
END_TEST

START_TEST(time_arithmetic_saturates_at_never)
{
	ck_assert_uint_eq(cs_time_add(T0, 300 * SEC), T0 + 300 * SEC);
	ck_assert_uint_eq(cs_time_add(END - 1, 1), END);
	ck_assert_uint_eq(cs_time_add(END, 1), CS_TIME_NEVER);
	ck_assert_uint_eq(cs_time_add(END - 10 * SEC, 300 * SEC), CS_TIME_NEVER);
	ck_assert_uint_eq(cs_time_add(CS_TIME_NEVER, 0), CS_TIME_NEVER);
	ck_assert_uint_eq(cs_time_add(0, UINT64_MAX), CS_TIME_NEVER);
	/* no packet time is ever due a timer past the end */
	ck_assert_uint_gt(cs_time_add(END, 1), END);

	ck_assert_uint_eq(cs_time_sec_end(0), SEC);
	ck_assert_uint_eq(cs_time_sec_end(1700000000), T0 + SEC);
	ck_assert_uint_eq(cs_time_sec_end(18446744073708), 18446744073709000000ull);
	ck_assert_uint_eq(cs_time_sec_end(END / SEC), CS_TIME_NEVER);
}
END_TEST

/* ---- the file path ---------------------------------------------------------------- */

#define FRAME_CAP 256
#define RECS_MAX 16
#define FILE_CAP (RECS_MAX * (FRAME_CAP + 64) + 256)

/* One TCP SYN, 10.0.0.1:40000 -> 10.0.0.2:80; every record carries it. */
static uint8_t syn_frame[FRAME_CAP];
static uint32_t syn_len;

static void build_syn(void)
{
	struct pb_spec s;

	pb_spec_init(&s, 4);
	syn_len = (uint32_t)pb_build(&s, syn_frame, sizeof syn_frame);
	ck_assert_uint_gt(syn_len, 0);
}

struct read_back {
	size_t n;
	struct cs_frame f[RECS_MAX];
};

static void keep_frame(void *ctx, const struct cs_frame *f)
{
	struct read_back *rb = ctx;

	ck_assert_uint_lt(rb->n, RECS_MAX);
	rb->f[rb->n++] = *f;
}

/* Reads a capture in memory through libpcap, as connscope reads a file. */
static void read_back(const uint8_t *file, size_t len, struct read_back *rb)
{
	struct cs_source *src;
	char err[256];
	uint64_t n;
	enum cs_read rc;

	memset(rb, 0, sizeof *rb);
	ck_assert_uint_gt(len, 0);
	ck_assert_msg(cs_source_open_stream(&src, fmemopen((void *)file, len, "rb"),
					    "memory", err, sizeof err) == 0, "%s", err);
	do
		rc = cs_source_read(src, -1, keep_frame, rb, &n, err, sizeof err);
	while (rc == CS_READ_MORE);
	ck_assert_msg(rc == CS_READ_EOF, "%s", err);
	cs_source_close(src);
}

/* A record's raw time fields and what they mean, from the bytes. */
struct raw_time {
	uint32_t sec, frac;
	bool valid;
	uint64_t us;
};

static void check_pcap_times(const struct raw_time *t, size_t n, bool nanosec,
			     bool big_endian)
{
	static uint8_t file[FILE_CAP];
	struct pb_rec recs[RECS_MAX];
	struct pb_file pf = { .dlt = CS_DLT_EN10MB, .nanosec = nanosec,
			      .big_endian = big_endian };
	struct read_back rb;

	build_syn();
	for (size_t i = 0; i < n; i++)
		recs[i] = (struct pb_rec){ .bytes = syn_frame, .caplen = syn_len,
					   .raw_ts = true, .raw_sec = t[i].sec,
					   .raw_frac = t[i].frac };
	read_back(file, pb_pcap_write(&pf, recs, n, file, sizeof file), &rb);
	ck_assert_uint_eq(rb.n, n);
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(rb.f[i].ts_invalid == !t[i].valid, "%s %s, %u.%u: %s",
			      nanosec ? "ns" : "µs", big_endian ? "BE" : "LE",
			      t[i].sec, t[i].frac, rb.f[i].ts_invalid ? "none" : "a time");
		ck_assert_msg(rb.f[i].ts_us == t[i].us, "%u.%u: %llu µs, want %llu",
			      t[i].sec, t[i].frac, (unsigned long long)rb.f[i].ts_us,
			      (unsigned long long)t[i].us);
	}
}

/* _i: bit 0 nanoseconds, bit 1 big-endian. */
START_TEST(pcap_seconds_are_unsigned_to_2106)
{
	bool ns = _i & 1;
	uint32_t k = ns ? 1000 : 1;	/* file units per µs */
	const struct raw_time t[] = {
		{ 0x7fffffff, 999999 * k, true, 2147483647999999ull },
		{ Y2038, 0, true, Y2038 * SEC },
		{ Y2040, 500000 * k, true, Y2040 * SEC + 500000 },
		{ Y2105, 1 * k, true, Y2105 * SEC + 1 },
		/* 2106-02-07 06:28:15.999999 UTC, the last second there is */
		{ 0xffffffff, 999999 * k + (k - 1), true, 4294967295999999ull },
	};

	check_pcap_times(t, sizeof t / sizeof t[0], ns, _i & 2);
}
END_TEST

START_TEST(pcap_fractions_out_of_range_are_no_time)
{
	bool ns = _i & 1;
	const struct raw_time us_file[] = {
		{ 1700000000, 999999, true, T0 + 999999 },
		{ 1700000000, 1000000, false, 0 },
		{ 1700000000, 0x80000000, false, 0 },
		{ 1700000000, 0xffffffff, false, 0 },
	};
	/* libpcap divides a nanosecond fraction by 1000 before connscope sees
	 * it; in a file of the host's byte order it reads the field as signed
	 * 32-bit, so 2^32 - 999 .. 2^32 - 1 ns become 0 µs and cannot be told
	 * from .000000 (docs/DESIGN.md, Packet time); swapped, as unsigned. */
	const uint16_t one = 1;
	bool host_order = (*(const uint8_t *)&one == 0) == (bool)(_i & 2);
	const struct raw_time ns_file[] = {
		{ 1700000000, 999999999, true, T0 + 999999 },
		{ 1700000000, 1000000000, false, 0 },
		{ 1700000000, 0x80000000, false, 0 },
		{ 1700000000, 0xffffffff, host_order, host_order ? T0 : 0 },
	};

	check_pcap_times(ns ? ns_file : us_file, 4, ns, _i & 2);
}
END_TEST

/* A pcapng interface's time options and one record's 64-bit time. */
static const struct {
	const char *what;
	bool has_tsresol, has_tsoffset;
	uint8_t tsresol;
	int64_t tsoffset;
	uint64_t units;
	bool valid;
	uint64_t us;
} ng_cases[] = {
	{ "µs, 0", false, false, 0, 0, 0, true, 0 },
	{ "µs, 2^32 s: 2106-02-07 06:28:16", false, false, 0, 0,
	  4294967296000000ull, true, 4294967296000000ull },
	{ "offset -1 s, 1 s: the epoch", false, true, 0, -1, 1000000, true, 0 },
	{ "offset -1 s, 0.999999 s: 1969-12-31 23:59:59.999999", false, true, 0, -1,
	  999999, false, 0 },
	{ "offset -86400 s, 0: 1969-12-31", false, true, 0, -86400, 0, false, 0 },
	{ "seconds, 2^44: year 559,444", true, false, 0, 0, 1ull << 44, true,
	  (1ull << 44) * SEC },
	{ "seconds, 2^45: past 2^64 µs", true, false, 0, 0, 1ull << 45, false, 0 },
	{ "seconds, 2^63: a negative time_t", true, false, 0, 0, 1ull << 63, false, 0 },
	{ "µs, 2^64 - 2: the last packet time", false, false, 0, 0, UINT64_MAX - 1,
	  true, CS_TIME_MAX_US },
	{ "µs, 2^64 - 1: CS_TIME_NEVER's", false, false, 0, 0, UINT64_MAX, false, 0 },
	{ "ns, 2^64 - 1", true, false, 9, 0, UINT64_MAX, true, 18446744073709551ull },
	{ "2^-10 s, 2^42 + 512", true, false, 0x80 | 10, 0, (1ull << 42) + 512, true,
	  (1ull << 32) * SEC + 500000 },
};

START_TEST(pcapng_times_outside_packet_time_are_no_time)
{
	static uint8_t file[FILE_CAP];
	struct pb_file pf = { .dlt = CS_DLT_EN10MB,
			      .has_tsresol = ng_cases[_i].has_tsresol,
			      .tsresol = ng_cases[_i].tsresol,
			      .has_tsoffset = ng_cases[_i].has_tsoffset,
			      .tsoffset = ng_cases[_i].tsoffset };
	struct read_back rb;

	build_syn();
	struct pb_rec rec = { .bytes = syn_frame, .caplen = syn_len, .raw_ts = true,
			      .raw_units = ng_cases[_i].units };
	read_back(file, pb_pcapng_write(&pf, &rec, 1, file, sizeof file), &rb);
	ck_assert_uint_eq(rb.n, 1);
	ck_assert_msg(rb.f[0].ts_invalid == !ng_cases[_i].valid, "%s: %s",
		      ng_cases[_i].what, rb.f[0].ts_invalid ? "none" : "a time");
	ck_assert_msg(rb.f[0].ts_us == ng_cases[_i].us, "%s: %llu µs, want %llu",
		      ng_cases[_i].what, (unsigned long long)rb.f[0].ts_us,
		      (unsigned long long)ng_cases[_i].us);
}
END_TEST

/* ---- frames without a time, through a run ------------------------------------------ */

struct said {
	char text[2048];
};

static void on_say(void *ctx, const char *msg)
{
	struct said *s = ctx;
	size_t len = strlen(s->text);

	snprintf(s->text + len, sizeof s->text - len, "%s\n", msg);
}

/* Runs a capture in memory to the end, with the JSON and text reports in
 * the callers' buffers (free them). */
static void run_capture(const uint8_t *file, size_t len, struct cs_run *r,
			struct said *said, char **json, char **text)
{
	static const char *const names[] = { "memory" };
	struct cs_run_config cfg = { .files = names, .file_cnt = 1, .ctx = said,
				     .say = on_say };
	size_t json_len, text_len;
	struct cs_source *s;
	char err[256];

	cs_engine_opts_default(&cfg.engine);
	cfg.json.stream = open_memstream(json, &json_len);
	cfg.text.stream = open_memstream(text, &text_len);
	ck_assert_msg(cs_run_init(r, &cfg, err, sizeof err) == 0, "%s", err);
	ck_assert_msg(cs_source_open_stream(&s, fmemopen((void *)file, len, "rb"),
					    "memory", err, sizeof err) == 0, "%s", err);
	cs_run_read_source(r, s);
	cs_source_close(s);
	cs_run_finish(r);
	fclose(cfg.json.stream);
	fclose(cfg.text.stream);
}

/* A time, none, a later time, none: the two without are analysed at the
 * time before them, so nothing goes backwards and the span is the two
 * times'; they are counted, and named once on standard error. */
START_TEST(frames_without_a_time_are_counted_and_come_at_the_time_reached)
{
	static uint8_t file[FILE_CAP];
	static struct cs_run r;
	const struct raw_time t[] = {
		{ 1700000000, 250000, true, 0 }, { 1700000000, 1000000, false, 0 },
		{ 1700000001, 0, true, 0 }, { 1700000001, 0x80000000, false, 0 },
	};
	struct pb_rec recs[4];
	struct pb_file pf = { .dlt = CS_DLT_EN10MB };
	struct said said = { "" };
	char *json, *text;

	build_syn();
	for (size_t i = 0; i < 4; i++)
		recs[i] = (struct pb_rec){ .bytes = syn_frame, .caplen = syn_len,
					   .raw_ts = true, .raw_sec = t[i].sec,
					   .raw_frac = t[i].frac };
	run_capture(file, pb_pcap_write(&pf, recs, 4, file, sizeof file), &r,
		    &said, &json, &text);
	const struct cs_stats *st = &r.engine.stats;
	ck_assert_uint_eq(st->packets, 4);
	ck_assert_uint_eq(st->tcp_packets, 4);
	ck_assert_uint_eq(st->ts_invalid, 2);
	ck_assert_uint_eq(st->ts_backwards, 0);
	ck_assert_uint_eq(st->first_ts_us, T0 + 250000);
	ck_assert_uint_eq(st->last_ts_us, T0 + SEC);
	ck_assert_msg(strstr(json, "\"first_ts\":1700000000.250000,") &&
		      strstr(json, "\"last_ts\":1700000001.000000,") &&
		      strstr(json, "\"ts_backwards\":0,") &&
		      strstr(json, "\"ts_invalid\":2,"), "%s", json);
	ck_assert_msg(strstr(text, "\n        2 packets have a timestamp that is no "
			     "time (before 1970, past 2^64 us, or a fraction of a "
			     "second out of range)"), "%s", text);
	ck_assert_str_eq(said.text, "warning: 'memory': 2 packets have a timestamp "
			 "that is no time (before 1970, past 2^64 us, or a fraction "
			 "of a second out of range); analysed at the time of the "
			 "packets before (counted as summary.ts_invalid)\n");
	ck_assert_int_eq(r.status, CS_RUN_OK);
	free(json);
	free(text);
	cs_run_fini(&r);
}
END_TEST

/* Not one time in the capture: the span is unknown, not 1970. */
START_TEST(a_capture_without_a_time_has_no_span)
{
	static uint8_t file[FILE_CAP];
	static struct cs_run r;
	struct pb_file pf = { .dlt = CS_DLT_EN10MB, .has_tsoffset = true,
			      .tsoffset = -3600 };
	struct said said = { "" };
	char *json, *text;

	build_syn();
	struct pb_rec rec = { .bytes = syn_frame, .caplen = syn_len, .raw_ts = true,
			      .raw_units = 0 };
	run_capture(file, pb_pcapng_write(&pf, &rec, 1, file, sizeof file), &r,
		    &said, &json, &text);
	ck_assert_uint_eq(r.engine.stats.ts_invalid, 1);
	ck_assert_msg(strstr(json, "\"first_ts\":null,") &&
		      strstr(json, "\"last_ts\":null,") &&
		      strstr(json, "\"ts_invalid\":1,"), "%s", json);
	ck_assert_msg(!strstr(text, "\nTime "), "%s", text);
	ck_assert_msg(strstr(said.text, "'memory': 1 packet has a timestamp that "
			     "is no time"), "%s", said.text);
	free(json);
	free(text);
	cs_run_fini(&r);
}
END_TEST

/* ---- traffic at any epoch ---------------------------------------------------------- */

enum { CLI, SRV };
#define SRV_PORT 80
#define CLI_ISN 1000u
#define SRV_ISN 5000u

/* A segment of a script: who sends, on which client port, seq and ack
 * relative to the ISNs, and when, after the script's start. */
struct seg {
	uint8_t who;
	uint16_t cport;
	uint16_t flags;
	uint32_t seq, ack, len;
	uint64_t at_us;
};

static size_t build_seg(const struct seg *g, uint8_t *buf, size_t cap)
{
	struct pb_spec s;
	bool c = g->who == CLI;
	uint8_t tmp[16];

	pb_spec_init(&s, 4);
	if (!c) {
		memcpy(tmp, s.src, sizeof tmp);
		memcpy(s.src, s.dst, sizeof tmp);
		memcpy(s.dst, tmp, sizeof tmp);
	}
	s.tcp.sport = c ? g->cport : SRV_PORT;
	s.tcp.dport = c ? SRV_PORT : g->cport;
	s.tcp.flags = g->flags;
	s.tcp.seq = (c ? CLI_ISN : SRV_ISN) + g->seq;
	s.tcp.ack = g->flags & ACK ? (c ? SRV_ISN : CLI_ISN) + g->ack : 0;
	s.payload_len = g->len;
	size_t len = pb_build(&s, buf, cap);
	ck_assert_uint_gt(len, 0);
	return len;
}

/* What a finished record says, apart from when. */
struct ended {
	uint16_t cport;
	uint8_t outcome, conn_state, state[2];
	char history[CS_HISTORY_MAX + 1];
	uint64_t pkts[2], duration_us, rtt_us;
	uint64_t first_us;		/* after the script's start */
	bool removal_after_last;	/* Zeek's removal lies after its last packet */
};

struct ended_log {
	uint64_t start_us;
	unsigned n;
	struct ended e[32];
};

static void on_verdict(void *ctx, const struct cs_conn *c,
		       const struct cs_verdict *v)
{
	struct ended_log *l = ctx;

	if (!v)
		return;		/* a conn.log row ended: counted as zeek_rows */
	ck_assert_uint_lt(l->n, 32);
	struct ended *e = &l->e[l->n++];
	e->cport = c->key.port[c->orig];
	e->outcome = (uint8_t)v->outcome;
	e->conn_state = (uint8_t)v->conn_state;
	e->state[0] = c->ep[0].state;
	e->state[1] = c->ep[1].state;
	memcpy(e->history, c->history, sizeof e->history);
	e->pkts[0] = c->ep[0].pkts;
	e->pkts[1] = c->ep[1].pkts;
	e->duration_us = c->last_ts_us - c->first_ts_us;
	e->rtt_us = cs_conn_handshake_rtt_us(c);
	e->first_us = c->first_ts_us - l->start_us;
	e->removal_after_last = cs_zeek_removal_time(c) > c->z_last_us;
}

/* The engine under test, freed by the teardown when an assertion stops a
 * test early. */
static struct cs_engine eng;
static bool eng_live;
static struct ended_log ended;

static void teardown(void)
{
	if (eng_live)
		cs_engine_fini(&eng);
	eng_live = false;
}

#define TABLE 64		/* records: more than any script here opens */

static void engine_start_sized(const struct cs_detect_opts *d, uint64_t start_us,
			       uint32_t max_flows)
{
	struct cs_engine_opts o;
	char err[160];

	cs_engine_opts_default(&o);
	o.flow.max_flows = max_flows;
	/* these tests read the records in the table's array */
	o.flow.set_aside = false;
	if (d)
		o.detect = *d;
	ck_assert_msg(cs_engine_init(&eng, &o, err, sizeof err) == 0, "%s", err);
	eng_live = true;
	memset(&ended, 0, sizeof ended);
	ended.start_us = start_us;
	cs_engine_set_output(&eng, on_verdict, &ended);
}

static void engine_start(const struct cs_detect_opts *d, uint64_t start_us)
{
	engine_start_sized(d, start_us, TABLE);
}

static void engine_end(void)
{
	cs_engine_close_seconds(&eng);
	cs_engine_finish(&eng);
}

/* Plays a script into the engine from start_us, frame by frame. */
static void play(const struct seg *g, size_t n, uint64_t start_us)
{
	uint8_t buf[FRAME_CAP];

	for (size_t i = 0; i < n; i++) {
		struct cs_frame f = { .ts_us = start_us + g[i].at_us,
				      .dlt = CS_DLT_EN10MB, .bytes = buf };
		f.caplen = f.wirelen = (uint32_t)build_seg(&g[i], buf, sizeof buf);
		cs_engine_frame(&eng, &f);
	}
}
#define PLAY(script, start) play(script, sizeof script / sizeof script[0], start)

static unsigned alerts_of(enum cs_alert_type type)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < eng.detect.alerts.count; i++)
		n += eng.detect.alerts.list[i].type == type;
	return n;
}

static const struct cs_alert *first_alert(enum cs_alert_type type)
{
	for (uint32_t i = 0; i < eng.detect.alerts.count; i++)
		if (eng.detect.alerts.list[i].type == type)
			return &eng.detect.alerts.list[i];
	ck_abort_msg("no %s alert", cs_alert_type_names[type]);
	return NULL;
}

static uint64_t figure(const struct cs_alert *al, const char *name)
{
	for (int i = 0; i < CS_ALERT_FIGURES; i++)
		if (al->fig[i].name && !strcmp(al->fig[i].name, name))
			return al->fig[i].value;
	ck_abort_msg("%s alert has no figure %s", cs_alert_type_names[al->type], name);
	return 0;
}

#define MS 1000u

/*
 * Port 40001: a whole connection, the client closes first (TIME_WAIT);
 * 20 s later a new SYN (another ISN) on the same 4-tuple, inside 2*MSL,
 * that is answered and then idle past --idle-timeout (300 s).  40002: a SYN
 * never answered.  40003: the client closes, the server never does
 * (CLOSE_WAIT).  40004: a SYN at 330 s moves time past the idle timeout.
 */
static const struct seg everything[] = {
	{ CLI, 40001, SYN, 0, 0, 0, 0 },
	{ SRV, 40001, SYNACK, 0, 1, 0, 10 * MS },
	{ CLI, 40001, ACK, 1, 1, 0, 20 * MS },
	{ CLI, 40001, DATA, 1, 1, 10, 30 * MS },
	{ SRV, 40001, ACK, 1, 11, 0, 40 * MS },
	{ CLI, 40001, FINACK, 11, 1, 0, 50 * MS },
	{ SRV, 40001, ACK, 1, 12, 0, 60 * MS },
	{ SRV, 40001, FINACK, 1, 12, 0, 70 * MS },
	{ CLI, 40001, ACK, 12, 2, 0, 80 * MS },
	{ CLI, 40002, SYN, 0, 0, 0, 1 * SEC },
	{ CLI, 40003, SYN, 0, 0, 0, 2 * SEC },
	{ SRV, 40003, SYNACK, 0, 1, 0, 2 * SEC + 10 * MS },
	{ CLI, 40003, ACK, 1, 1, 0, 2 * SEC + 20 * MS },
	{ CLI, 40003, FINACK, 1, 1, 0, 2 * SEC + 30 * MS },
	{ SRV, 40003, ACK, 1, 2, 0, 2 * SEC + 40 * MS },
	{ CLI, 40001, SYN, 100000, 0, 0, 20 * SEC },
	{ CLI, 40001, SYN, 100000, 0, 0, 21 * SEC },
	{ SRV, 40001, SYNACK, 200000, 100001, 0, 21 * SEC + 10 * MS },
	{ CLI, 40001, ACK, 100001, 200001, 0, 21 * SEC + 20 * MS },
	{ CLI, 40004, SYN, 0, 0, 0, 330 * SEC },
};
#define EVERYTHING_SPAN (330 * SEC)

/* Where the script is read from. */
enum epoch {
	AT_2023,	/* pcap, µs */
	AT_2040,	/* pcap, µs: seconds past 2^31 */
	AT_2105,	/* pcap, ns */
	AT_THE_END,	/* pcapng, µs: the last packet at CS_TIME_MAX_US */
	EPOCH_MAX
};

static uint64_t epoch_start(enum epoch e)
{
	switch (e) {
	case AT_2023: return T0;
	case AT_2040: return Y2040 * SEC;
	case AT_2105: return Y2105 * SEC;
	default: return END - EVERYTHING_SPAN;
	}
}

/* The script as a capture file of the epoch, time fields written raw. */
static size_t script_file(enum epoch e, uint8_t *file, size_t cap)
{
	enum { N = sizeof everything / sizeof everything[0] };
	static uint8_t frames[N][FRAME_CAP];
	struct pb_rec recs[N];
	bool ng = e == AT_THE_END, ns = e == AT_2105;
	struct pb_file pf = { .dlt = CS_DLT_EN10MB, .nanosec = ns };

	for (size_t i = 0; i < N; i++) {
		uint64_t us = epoch_start(e) + everything[i].at_us;
		recs[i] = (struct pb_rec){
			.bytes = frames[i], .raw_ts = true, .raw_units = us,
			.raw_sec = (uint32_t)(us / SEC),
			.raw_frac = (uint32_t)(us % SEC) * (ns ? 1000 : 1) };
		recs[i].caplen = (uint32_t)build_seg(&everything[i], frames[i],
						     sizeof frames[i]);
	}
	return ng ? pb_pcapng_write(&pf, recs, N, file, cap)
		  : pb_pcap_write(&pf, recs, N, file, cap);
}

static void read_script(enum epoch e)
{
	static uint8_t file[64 * 1024];
	size_t len = script_file(e, file, sizeof file);
	struct cs_source *src;
	char err[256];
	uint64_t n;

	ck_assert_uint_gt(len, 0);
	engine_start(NULL, epoch_start(e));
	ck_assert_msg(cs_source_open_stream(&src, fmemopen(file, len, "rb"), "memory",
					    err, sizeof err) == 0, "%s", err);
	while (cs_source_read(src, -1, cs_engine_frame, &eng, &n, err,
			      sizeof err) == CS_READ_MORE)
		;
	cs_source_close(src);
	engine_end();
}

static void check_same_ending(const struct ended *got, const struct ended *want,
			      enum epoch e)
{
	ck_assert_msg(got->cport == want->cport && got->first_us == want->first_us,
		      "epoch %d: record of port %u at +%llu µs, in 2023 port %u at +%llu",
		      e, got->cport, (unsigned long long)got->first_us, want->cport,
		      (unsigned long long)want->first_us);
	ck_assert_msg(got->outcome == want->outcome &&
		      got->conn_state == want->conn_state &&
		      got->state[0] == want->state[0] && got->state[1] == want->state[1],
		      "epoch %d, port %u: %s %s, in 2023 %s %s", e, got->cport,
		      cs_outcome_names[got->outcome], cs_conn_state_names[got->conn_state],
		      cs_outcome_names[want->outcome],
		      cs_conn_state_names[want->conn_state]);
	ck_assert_str_eq(got->history, want->history);
	ck_assert_uint_eq(got->pkts[0], want->pkts[0]);
	ck_assert_uint_eq(got->pkts[1], want->pkts[1]);
	ck_assert_uint_eq(got->duration_us, want->duration_us);
	ck_assert_uint_eq(got->rtt_us, want->rtt_us);
	ck_assert(got->removal_after_last);
}

/* _i: the epoch.  Read from a file of that epoch, the script ends as it
 * does in 2023: the same records, outcomes, states, histories, durations,
 * conn.log rows and alerts, and the span is the script's. */
START_TEST(traffic_after_2038_ends_as_in_2023)
{
	static struct ended_log in_2023;
	static uint64_t rows_2023, alerts_2023, conns_2023;
	enum epoch e = (enum epoch)_i;

	read_script(AT_2023);
	in_2023 = ended;
	rows_2023 = eng.zeek_rows;
	alerts_2023 = eng.detect.alerts.count;
	conns_2023 = eng.conns.connections;
	teardown();
	/* what 2023 says, worked out from the script */
	ck_assert_uint_eq(conns_2023, 5);
	/* the port reuse in TIME_WAIT, stalled: its SYN was sent twice */
	ck_assert_uint_eq(alerts_2023, 1);

	read_script(e);
	ck_assert_uint_eq(eng.stats.ts_invalid, 0);
	ck_assert_uint_eq(eng.stats.first_ts_us, epoch_start(e));
	ck_assert_uint_eq(eng.stats.last_ts_us, epoch_start(e) + EVERYTHING_SPAN);
	ck_assert_uint_eq(eng.conns.connections, conns_2023);
	ck_assert_uint_eq(ended.n, in_2023.n);
	for (unsigned i = 0; i < ended.n; i++)
		check_same_ending(&ended.e[i], &in_2023.e[i], e);
	ck_assert_uint_eq(eng.zeek_rows, rows_2023);
	ck_assert_uint_eq(eng.detect.alerts.count, alerts_2023);
}
END_TEST

/* ---- each timer at the end of time -------------------------------------------------- */

static const struct seg handshake_and_data[] = {
	{ CLI, 40000, SYN, 0, 0, 0, 0 },
	{ SRV, 40000, SYNACK, 0, 1, 0, 100 * MS },
	{ CLI, 40000, ACK, 1, 1, 0, 200 * MS },
	{ CLI, 40000, DATA, 1, 1, 100, 1 * SEC },
	{ SRV, 40000, ACK, 1, 101, 0, 2 * SEC },
};

/* Flow expiry (the lists' due times) and Zeek's removal timers: one
 * connection, 2 s long, ending on the last packet time.  A wrapped due time
 * expired the record on every packet: five connections. */
START_TEST(a_connection_at_the_end_of_time_is_one_connection)
{
	engine_start(NULL, END - 2 * SEC);
	PLAY(handshake_and_data, END - 2 * SEC);
	ck_assert_uint_eq(eng.now_us, END);
	ck_assert_uint_eq(eng.flows.count, 1);
	ck_assert_uint_eq(eng.flows.expired, 0);
	ck_assert_uint_eq(eng.flows.next_due_us, CS_TIME_NEVER);
	engine_end();
	ck_assert_uint_eq(ended.n, 1);
	ck_assert_uint_eq(ended.e[0].outcome, CS_OUT_ESTABLISHED);
	ck_assert_uint_eq(ended.e[0].pkts[0] + ended.e[0].pkts[1], 5);
	ck_assert_uint_eq(ended.e[0].duration_us, 2 * SEC);
	ck_assert(ended.e[0].removal_after_last);
	ck_assert_uint_eq(eng.zeek_rows, 0);
}
END_TEST

/* A frame not from a source, at the reserved CS_TIME_NEVER: no time, so
 * packet time stays at the last one and no timer can be due. */
START_TEST(a_frame_at_never_has_no_time)
{
	const struct seg late[] = { { CLI, 40000, DATA, 101, 1, 10, 0 } };

	engine_start(NULL, END - 2 * SEC);
	PLAY(handshake_and_data, END - 2 * SEC);
	PLAY(late, CS_TIME_NEVER);
	ck_assert_uint_eq(eng.now_us, END);
	ck_assert_uint_eq(eng.stats.ts_invalid, 1);
	ck_assert_uint_eq(eng.stats.last_ts_us, END);
	engine_end();
	ck_assert_uint_eq(ended.n, 1);
	ck_assert_uint_eq(ended.e[0].pkts[0] + ended.e[0].pkts[1], 6);
}
END_TEST

/* An expiry runs over every list's head: a connection that is due (a SYN
 * unanswered for 60 s) goes, an active one, due past the end, stays. */
START_TEST(one_expiry_leaves_the_connections_not_due)
{
	const struct seg lone_syn[] = { { CLI, 40001, SYN, 0, 0, 0, 0 } };
	const struct seg tick[] = { { CLI, 40009, SYN, 0, 0, 0, 0 } };

	engine_start(NULL, END - 65 * SEC);
	PLAY(lone_syn, END - 65 * SEC);
	PLAY(handshake_and_data, END - 50 * SEC);
	PLAY(tick, END);
	ck_assert_uint_eq(eng.flows.expired, 1);
	ck_assert_uint_eq(eng.flows.count, 2);
	ck_assert_uint_eq(ended.n, 1);
	ck_assert_uint_eq(ended.e[0].cport, 40001);
	ck_assert_uint_eq(ended.e[0].outcome, CS_OUT_TIMEOUT);
}
END_TEST

/*
 * _i: 0 in 2023, 1 at the end of time.  A table of 10 holding 7 shrinks
 * the idle timeout to 300 s * (12 - 7) / (12 - 6) = 250 s (flow.c): 260 s
 * on, the oldest goes, before its 300 s: counted as expired early.
 */
START_TEST(a_filling_table_expires_early_at_any_epoch)
{
	uint64_t start = _i ? END - 260 * SEC : T0;
	const struct seg tick[] = { { CLI, 40009, SYN, 0, 0, 0, 0 } };

	engine_start_sized(NULL, start, 10);
	for (uint16_t i = 0; i < 7; i++) {
		const struct seg open[] = {
			{ CLI, (uint16_t)(40000 + i), SYN, 0, 0, 0, 0 },
			{ SRV, (uint16_t)(40000 + i), SYNACK, 0, 1, 0, 10 * MS },
			{ CLI, (uint16_t)(40000 + i), ACK, 1, 1, 0, 20 * MS },
		};
		PLAY(open, start + i * SEC);
	}
	PLAY(tick, start + 260 * SEC);
	ck_assert_uint_eq(eng.flows.expired, 1);
	ck_assert_uint_eq(eng.flows.expired_early, 1);
	ck_assert_uint_eq(ended.n, 1);
	ck_assert_uint_eq(ended.e[0].cport, 40000);
}
END_TEST

/* Every Zeek timer armed in the last 4 s of time (each is 5 s or more) is
 * past the end: CS_TIME_NEVER, or 0 where it was not armed. */
START_TEST(zeek_timers_armed_at_the_end_are_never)
{
	const struct seg arm[] = {
		/* the attempt timer, then a FIN with the peer open: the
		 * expire chain (tcp_session_timer) */
		{ CLI, 40001, SYN, 0, 0, 0, 0 },
		{ SRV, 40001, SYNACK, 0, 1, 0, 10 * MS },
		{ CLI, 40001, ACK, 1, 1, 0, 20 * MS },
		{ CLI, 40001, FINACK, 1, 1, 0, 30 * MS },
		/* a RST after the sender's own FIN: tcp_reset_delay */
		{ CLI, 40002, SYN, 0, 0, 0, 1 * SEC },
		{ SRV, 40002, SYNACK, 0, 1, 0, 1 * SEC + 10 * MS },
		{ CLI, 40002, ACK, 1, 1, 0, 1 * SEC + 20 * MS },
		{ CLI, 40002, FINACK, 1, 1, 0, 1 * SEC + 30 * MS },
		{ CLI, 40002, RSTACK, 2, 1, 0, 1 * SEC + 40 * MS },
		/* a refusal: tcp_close_delay */
		{ CLI, 40003, SYN, 0, 0, 0, 2 * SEC },
		{ SRV, 40003, RSTACK, 0, 1, 0, 2 * SEC + 10 * MS },
	};
	unsigned attempt = 0, remove = 0, chain = 0;

	engine_start(NULL, END - 4 * SEC);
	PLAY(arm, END - 4 * SEC);
	for (uint32_t i = 1; i < eng.flows.never_used; i++) {
		const struct cs_conn *c = &eng.flows.conns[i];
		const uint64_t *timer[] = { &c->z_attempt_at, &c->z_remove_at,
					    &c->z_expire_at[0], &c->z_expire_at[1] };
		if (!c->in_use)
			continue;
		for (size_t k = 0; k < sizeof timer / sizeof timer[0]; k++)
			ck_assert_msg(*timer[k] == 0 || *timer[k] == CS_TIME_NEVER,
				      "port %u, timer %zu at %llu",
				      c->key.port[c->orig], k,
				      (unsigned long long)*timer[k]);
		attempt += c->z_attempt_at != 0;
		remove += c->z_remove_at != 0;
		chain += c->z_expire_at[1] != 0;
	}
	ck_assert_uint_eq(eng.flows.count, 3);
	ck_assert_uint_eq(attempt, 3);
	ck_assert_uint_eq(remove, 2);
	ck_assert_uint_ge(chain, 1);
}
END_TEST

/*
 * Zeek's expire chain near the end: the client closes 10 s before it (a
 * tick every 6 s from then), the server sends on and closes 1 s before.
 * The first tick after the last packet plus tcp_connection_linger is past
 * the end: no conn.log row ends early, and the removal lies after the last
 * packet.
 */
START_TEST(zeek_expire_chain_at_the_end_of_time)
{
	const struct seg late_close[] = {
		{ CLI, 40000, SYN, 0, 0, 0, 0 },
		{ SRV, 40000, SYNACK, 0, 1, 0, 10 * MS },
		{ CLI, 40000, ACK, 1, 1, 0, 20 * MS },
		{ CLI, 40000, FINACK, 1, 1, 0, 2 * SEC },
		{ SRV, 40000, DATA, 1, 2, 100, 6 * SEC },
		{ SRV, 40000, DATA, 101, 2, 100, 9 * SEC },
		{ SRV, 40000, FINACK, 201, 2, 0, 11 * SEC },
		{ CLI, 40000, ACK, 2, 202, 0, 12 * SEC },
	};

	engine_start(NULL, END - 12 * SEC);
	PLAY(late_close, END - 12 * SEC);
	ck_assert_uint_eq(eng.zeek_rows, 0);
	engine_end();
	ck_assert_uint_eq(ended.n, 1);
	ck_assert_uint_eq(ended.e[0].conn_state, CS_CS_SF);
	ck_assert(ended.e[0].removal_after_last);
	ck_assert_uint_eq(eng.zeek_rows, 0);
}
END_TEST

static const struct seg client_closes[] = {
	{ CLI, 40000, SYN, 0, 0, 0, 0 },
	{ SRV, 40000, SYNACK, 0, 1, 0, 10 * MS },
	{ CLI, 40000, ACK, 1, 1, 0, 20 * MS },
	{ CLI, 40000, FINACK, 1, 1, 0, 30 * MS },
	{ SRV, 40000, ACK, 1, 2, 0, 40 * MS },
	{ SRV, 40000, FINACK, 1, 2, 0, 50 * MS },
	{ CLI, 40000, ACK, 2, 2, 0, 60 * MS },
};

/* 2*MSL (60 s) after the client's last ACK is past the end: at the end of
 * the capture the client is still in TIME_WAIT, as in 2023. */
START_TEST(time_wait_outlasts_the_end_of_time)
{
	engine_start(NULL, END - 60 * MS);
	PLAY(client_closes, END - 60 * MS);
	engine_end();
	ck_assert_uint_eq(ended.n, 1);
	ck_assert_uint_eq(ended.e[0].outcome, CS_OUT_COMPLETED);
	ck_assert_uint_eq(ended.e[0].state[0], CS_TCP_TIME_WAIT);
	ck_assert_uint_eq(ended.e[0].state[1], CS_TCP_CLOSED);
	ck_assert(ended.e[0].removal_after_last);
}
END_TEST

/* A SYN with a new ISN 10 s into the client's TIME_WAIT, sent again 1 s
 * later, on the last packet time: the reuse stalled, and the port reuse
 * alert says the client still held TIME_WAIT. */
START_TEST(a_syn_in_time_wait_at_the_end_of_time_is_port_reuse)
{
	const struct seg reuse[] = { { CLI, 40000, SYN, 100000, 0, 0, 0 },
				     { CLI, 40000, SYN, 100000, 0, 0, SEC } };

	engine_start(NULL, END - 11 * SEC - 60 * MS);
	PLAY(client_closes, END - 11 * SEC - 60 * MS);
	PLAY(reuse, END - SEC);
	engine_end();
	ck_assert_uint_eq(ended.n, 2);
	ck_assert_uint_eq(alerts_of(CS_ALERT_PORT_REUSE), 1);
	const struct cs_alert *al = first_alert(CS_ALERT_PORT_REUSE);
	ck_assert_uint_eq(figure(al, "count"), 1);
	ck_assert_uint_eq(figure(al, "on_client"), 1);
	ck_assert_uint_eq(figure(al, "on_server"), 0);
}
END_TEST

/* --syn-timeout (3 s): a lone SYN sent 3 s before the end has timed out
 * at the end, one sent 1 µs later has not. */
START_TEST(the_syn_timeout_at_the_end_of_time)
{
	const struct seg syns[] = {
		{ CLI, 40001, SYN, 0, 0, 0, 0 },
		{ CLI, 40002, SYN, 0, 0, 0, 1 },
	};

	engine_start(NULL, END - 3 * SEC);
	PLAY(syns, END - 3 * SEC);
	const struct seg last[] = { { CLI, 40003, SYN, 0, 0, 0, 0 } };
	PLAY(last, END);
	engine_end();
	ck_assert_uint_eq(ended.n, 3);
	for (unsigned i = 0; i < ended.n; i++) {
		uint8_t want = ended.e[i].cport == 40001 ? CS_OUT_TIMEOUT : CS_OUT_ATTEMPT;
		ck_assert_msg(ended.e[i].outcome == want, "port %u: %s",
			      ended.e[i].cport, cs_outcome_names[ended.e[i].outcome]);
	}
}
END_TEST

static const struct seg server_never_closes[] = {
	{ CLI, 40000, SYN, 0, 0, 0, 0 },
	{ SRV, 40000, SYNACK, 0, 1, 0, 10 * MS },
	{ CLI, 40000, ACK, 1, 1, 0, 20 * MS },
	{ CLI, 40000, FINACK, 1, 1, 0, 30 * MS },
	{ SRV, 40000, ACK, 1, 2, 0, 40 * MS },
};

/* _i: 0, the server enters CLOSE_WAIT 3 s before the end, short of the
 * 5 s age: no alert; 1, 6 s before: aged by the end, one alert. */
START_TEST(close_wait_ages_to_the_end_of_time)
{
	struct cs_detect_opts d;
	uint64_t before = _i ? 6 * SEC : 3 * SEC;
	const struct seg tick[] = { { CLI, 40009, SYN, 0, 0, 0, 0 } };

	cs_detect_opts_default(&d);
	d.closewait_threshold = 1;
	engine_start(&d, END - before - 40 * MS);
	PLAY(server_never_closes, END - before - 40 * MS);
	PLAY(tick, END);
	ck_assert_uint_eq(alerts_of(CS_ALERT_CLOSE_WAIT_BUILDUP), _i ? 1 : 0);
	engine_end();
	ck_assert_uint_eq(alerts_of(CS_ALERT_CLOSE_WAIT_BUILDUP), _i ? 1 : 0);
}
END_TEST

/* rate SYNs from distinct clients to 10.0.0.2:80 within second `sec`. */
static void syn_flood(uint64_t sec, unsigned rate)
{
	uint8_t buf[FRAME_CAP];

	for (unsigned i = 0; i < rate; i++) {
		struct pb_spec s;
		pb_spec_init(&s, 4);
		s.src[2] = (uint8_t)(i >> 8);
		s.src[3] = (uint8_t)i;
		s.tcp.sport = (uint16_t)(10000 + i);
		struct cs_frame f = { .ts_us = sec * SEC + i, .dlt = CS_DLT_EN10MB,
				      .bytes = buf };
		f.caplen = f.wirelen = (uint32_t)pb_build(&s, buf, sizeof buf);
		cs_engine_frame(&eng, &f);
	}
}

/* A flood in the last second of packet time: the alert ends where that
 * second ends, after CS_TIME_MAX_US, not in 1970. */
START_TEST(a_syn_flood_in_the_last_second)
{
	struct cs_detect_opts d;

	cs_detect_opts_default(&d);
	d.synflood_rate = 20;
	engine_start(&d, 0);
	syn_flood(END / SEC, 20);
	engine_end();
	ck_assert_uint_eq(alerts_of(CS_ALERT_SYN_FLOOD), 1);
	const struct cs_alert *al = first_alert(CS_ALERT_SYN_FLOOD);
	ck_assert_uint_eq(al->start_us, END / SEC * SEC);
	ck_assert_uint_eq(al->end_us, CS_TIME_NEVER);
	ck_assert_uint_eq(figure(al, "syns"), 20);
}
END_TEST

/* Second 0 is a second like another: a capture whose times were zeroed
 * (or that has none, pkttime.h) still shows its flood. */
START_TEST(a_syn_flood_at_time_zero)
{
	struct cs_detect_opts d;

	cs_detect_opts_default(&d);
	d.synflood_rate = 20;
	engine_start(&d, 0);
	syn_flood(0, 20);
	engine_end();
	ck_assert_uint_eq(alerts_of(CS_ALERT_SYN_FLOOD), 1);
	const struct cs_alert *al = first_alert(CS_ALERT_SYN_FLOOD);
	ck_assert_uint_eq(al->start_us, 0);
	ck_assert_uint_eq(al->end_us, SEC);
	ck_assert_uint_eq(figure(al, "syns"), 20);
}
END_TEST

Suite *pkttime_suite(void)
{
	Suite *s = suite_create("pkttime");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_loop_test(tc, a_record_time_is_packet_time_or_none, 0,
			    sizeof unix_cases / sizeof unix_cases[0]);
	tcase_add_test(tc, time_arithmetic_saturates_at_never);
	tcase_add_loop_test(tc, pcap_seconds_are_unsigned_to_2106, 0, 4);
	tcase_add_loop_test(tc, pcap_fractions_out_of_range_are_no_time, 0, 4);
	tcase_add_loop_test(tc, pcapng_times_outside_packet_time_are_no_time, 0,
			    sizeof ng_cases / sizeof ng_cases[0]);
	tcase_add_test(tc, frames_without_a_time_are_counted_and_come_at_the_time_reached);
	tcase_add_test(tc, a_capture_without_a_time_has_no_span);
	tcase_add_loop_test(tc, traffic_after_2038_ends_as_in_2023, 0, EPOCH_MAX);
	tcase_add_test(tc, a_connection_at_the_end_of_time_is_one_connection);
	tcase_add_test(tc, a_frame_at_never_has_no_time);
	tcase_add_test(tc, one_expiry_leaves_the_connections_not_due);
	tcase_add_loop_test(tc, a_filling_table_expires_early_at_any_epoch, 0, 2);
	tcase_add_test(tc, zeek_timers_armed_at_the_end_are_never);
	tcase_add_test(tc, zeek_expire_chain_at_the_end_of_time);
	tcase_add_test(tc, time_wait_outlasts_the_end_of_time);
	tcase_add_test(tc, a_syn_in_time_wait_at_the_end_of_time_is_port_reuse);
	tcase_add_test(tc, the_syn_timeout_at_the_end_of_time);
	tcase_add_loop_test(tc, close_wait_ages_to_the_end_of_time, 0, 2);
	tcase_add_test(tc, a_syn_flood_in_the_last_second);
	tcase_add_test(tc, a_syn_flood_at_time_zero);
	suite_add_tcase(s, tc);
	return s;
}
