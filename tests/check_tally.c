/*
 * check_tally.c — the open connections' gauges, kept as records change.
 *
 * The tally (analyzer/views/tally.c) replaces a walk of every open record
 * at each publish, so the test is the walk: after every frame fed through
 * the engine (connections opening, changing state, timing out on the clock
 * alone, finishing, expiring, evicted, reusing a 4-tuple), the engine is
 * refreshed as before a publish and its gauges must equal a count of every
 * open record as it stands, and the verdicts a snapshot prints must read
 * as if every open record had been judged one by one.  A scripted run
 * names each case; a random one (a fixed seed, a tiny table) reaches the
 * orders nobody thought of.  Then the group table's removal, which the
 * open verdict groups need.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "analyzer/detectors/groups.h"
#include "analyzer/engine.h"
#include "analyzer/tracking/diagnose.h"
#include "analyzer/tracking/written.h"
#include "analyzer/tracking/zeek.h"
#include "analyzer/views/snapshot.h"
#include "tests/pktbuild.h"
#include "tests/suites.h"

#define T0 (1700000000ull * SEC)

static struct cs_engine eng;
static bool eng_live;
/* An engine that sets nothing aside, fed the same frames while twin_live. */
static struct cs_engine twin;
static bool twin_live;
static uint64_t steps;		/* frames fed, for the failure messages */

static void engine_up_holding(uint32_t max_flows, bool hold)
{
	struct cs_engine_opts o;
	char err[160];

	cs_engine_opts_default(&o);
	o.flow.max_flows = max_flows;
	o.flow.hold_evicted = hold;
	o.keep_recent = true;		/* as --web sets it: the tally is kept */
	/* Records go aside at the ticks below, not when a thread is done. */
	o.flow.pack_thread = false;
	ck_assert_msg(cs_engine_init(&eng, &o, err, sizeof err) == 0, "%s", err);
	eng_live = true;
	steps = 0;
}

static void engine_up(uint32_t max_flows)
{
	engine_up_holding(max_flows, true);
}

static void teardown(void)
{
	if (eng_live)
		cs_engine_fini(&eng);
	if (twin_live)
		cs_engine_fini(&twin);
	eng_live = twin_live = false;
}

/* ---- the walk the tally replaces ------------------------------------------ */

struct gauges {
	uint64_t open, port_reuse, young, aside;
	uint64_t outcomes[CS_OUT_MAX];
	uint64_t conn_states[CS_CS_MAX];
	uint64_t states[2][CS_TCP_STATE_MAX];
};

static uint64_t young_until(const struct cs_conn *c)
{
	return c->first_ts_us + eng.opt.syn_timeout_us;
}

/* Every open record as it stands now: what count_open did at a publish. */
static void walk(struct gauges *g)
{
	const struct cs_flow_table *t = &eng.flows;

	memset(g, 0, sizeof *g);
	for (int l = 0; l < CS_LIST_MAX; l++) {
		for (cs_conn_ref r = t->lists[l].head; r; r = cs_flow_newer(t, r)) {
			struct cs_conn copy;
			const struct cs_conn *c = cs_flow_view(t, r, &copy);
			g->aside += c == &copy;
			g->open++;
			g->port_reuse += c->port_reuse;
			g->young += eng.now_us < young_until(c);
			enum cs_outcome o = cs_diagnose_outcome(c, eng.now_us,
								eng.opt.syn_timeout_us);
			g->outcomes[o]++;
			g->conn_states[cs_zeek_conn_state(c)]++;
			/* a connect() that failed is reported CLOSED */
			g->states[0][cs_diagnose_orig_state(c, o)]++;
			g->states[1][c->ep[1].state]++;
		}
	}
}

/* The tally's figures, and its young ring walked: in order of first
 * packet, once each, each record still in the table with its SYN timeout
 * still ahead (the entries of those gone are skipped when due). */
static void tallied(struct gauges *g)
{
	const struct cs_tally *t = &eng.open;
	uint64_t until = 0, id = 0;

	memset(g, 0, sizeof *g);
	g->open = t->open;
	g->port_reuse = t->port_reuse;
	memcpy(g->outcomes, t->outcomes, sizeof g->outcomes);
	memcpy(g->conn_states, t->conn_states, sizeof g->conn_states);
	memcpy(g->states, t->states, sizeof g->states);
	ck_assert_uint_le(t->young_cnt, t->young_cap);
	for (uint32_t n = 0; n < t->young_cnt; n++) {
		const struct cs_young *y = &t->young[(t->young_head + n) &
						     (t->young_cap - 1)];
		ck_assert_uint_ge(y->until_us, until);
		ck_assert_uint_gt(y->id, id);
		until = y->until_us;
		id = y->id;
		ck_assert_msg(eng.now_us < y->until_us, "step %" PRIu64
			      ": a young entry is past due", steps);
		g->young += cs_flow_has_id(&eng.flows, y->hash, y->id);
	}
	ck_assert_uint_eq(t->young_due_us, t->young_cnt ? t->young[t->young_head].until_us
						       : UINT64_MAX);
	ck_assert_uint_eq(t->young_lost, 0);
}

static char *text_of(const struct cs_verdicts *v)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	cs_verdicts_print(v, &eng.detect.alerts, &eng.host, f, 1000, false);
	fclose(f);
	return buf;
}

/* The sentences with every open record judged one by one (as
 * copy_verdicts did), and with the tally's groups added. */
static void check_verdicts(void)
{
	const struct cs_flow_table *t = &eng.flows;
	struct cs_verdicts walked, kept;

	ck_assert_int_eq(cs_verdicts_clone(&walked, &eng.verdicts), 0);
	ck_assert_int_eq(cs_verdicts_clone(&kept, &eng.verdicts), 0);
	for (int l = 0; l < CS_LIST_MAX; l++)
		for (cs_conn_ref r = t->lists[l].head; r; r = cs_flow_newer(t, r)) {
			struct cs_conn copy;
			const struct cs_conn *c = cs_flow_view(t, r, &copy);
			cs_verdicts_add(&walked, c, cs_diagnose_outcome(c, eng.now_us,
									eng.opt.syn_timeout_us));
		}
	cs_verdicts_add_open(&kept, &eng.open.verdicts);
	char *a = text_of(&walked), *b = text_of(&kept);
	ck_assert_msg(strcmp(a, b) == 0, "step %" PRIu64 ": verdicts walked:\n%s"
		      "kept:\n%s", steps, a, b);
	ck_assert_uint_eq(walked.failed, kept.failed);
	free(a);
	free(b);
	cs_verdicts_fini(&walked);
	cs_verdicts_fini(&kept);
}

/* As before a publish: refreshed, the tally must be the walk. */
static void check(void)
{
	struct gauges w, k;

	cs_engine_refresh(&eng);
	walk(&w);
	tallied(&k);
	for (int o = 0; o < CS_OUT_MAX; o++)
		ck_assert_msg(w.outcomes[o] == k.outcomes[o], "step %" PRIu64
			      ": %s walked %" PRIu64 ", kept %" PRIu64, steps,
			      cs_outcome_names[o], w.outcomes[o], k.outcomes[o]);
	for (int s = 0; s < CS_CS_MAX; s++)
		ck_assert_msg(w.conn_states[s] == k.conn_states[s], "step %" PRIu64
			      ": %s walked %" PRIu64 ", kept %" PRIu64, steps,
			      cs_conn_state_names[s], w.conn_states[s],
			      k.conn_states[s]);
	ck_assert_msg(memcmp(w.states, k.states, sizeof w.states) == 0,
		      "step %" PRIu64 ": endpoint states differ", steps);
	ck_assert_uint_eq(w.open, k.open);
	/* (held records are not finished: open) */
	ck_assert_uint_eq(w.open, eng.flows.count + eng.flows.held_count);
	ck_assert_uint_le(w.open, eng.flows.peak);	/* summary.peak_open */
	ck_assert_uint_eq(w.port_reuse, k.port_reuse);
	ck_assert_msg(w.young == k.young, "step %" PRIu64 ": %" PRIu64 " young "
		      "records, %" PRIu64 " on the list", steps, w.young, k.young);
	check_verdicts();
}

/* ---- frames ------------------------------------------------------------------- */

struct tuple {
	const char *cli, *srv;
	uint16_t cport, sport;
	uint32_t cisn, sisn;
};

static void feed(const struct pb_spec *s, uint64_t ts_us)
{
	uint8_t frame[2048];
	size_t n = pb_build(s, frame, sizeof frame);

	ck_assert_uint_gt(n, 0);
	struct cs_frame f = { .ts_us = ts_us, .caplen = (uint32_t)n,
			      .wirelen = (uint32_t)n, .dlt = CS_DLT_EN10MB,
			      .bytes = frame };
	cs_engine_frame(&eng, &f);
	if (twin_live)
		cs_engine_frame(&twin, &f);
	steps++;
}

/* A segment of c; seq relative to the sender's ISN, ack to the peer's. */
static void tcp_spec(struct pb_spec *s, const struct tuple *c, bool from_cli,
		     uint16_t flags, uint32_t seq, uint32_t ack, size_t len)
{
	pb_spec_init(s, 4);
	ck_assert(pb_addr(s->src, from_cli ? c->cli : c->srv));
	ck_assert(pb_addr(s->dst, from_cli ? c->srv : c->cli));
	s->tcp.sport = from_cli ? c->cport : c->sport;
	s->tcp.dport = from_cli ? c->sport : c->cport;
	s->tcp.flags = flags;
	s->tcp.seq = (from_cli ? c->cisn : c->sisn) + seq;
	s->tcp.ack = flags & CS_TH_ACK ? (from_cli ? c->sisn : c->cisn) + ack : 0;
	s->payload_len = len;
}

static void cli(const struct tuple *c, uint16_t flags, uint32_t seq,
		uint32_t ack, size_t len, uint64_t ts)
{
	struct pb_spec s;

	tcp_spec(&s, c, true, flags, seq, ack, len);
	feed(&s, ts);
	check();
}

static void srv(const struct tuple *c, uint16_t flags, uint32_t seq,
		uint32_t ack, size_t len, uint64_t ts)
{
	struct pb_spec s;

	tcp_spec(&s, c, false, flags, seq, ack, len);
	feed(&s, ts);
	check();
}

/* An ICMP error from a router about c's SYN. */
static void unreachable(const struct tuple *c, uint8_t code, uint64_t ts)
{
	struct pb_spec quote, icmp;

	tcp_spec(&quote, c, true, SYN, 0, 0, 0);
	pb_spec_init(&icmp, 4);
	ck_assert(pb_addr(icmp.src, "10.9.0.254"));
	ck_assert(pb_addr(icmp.dst, c->cli));
	icmp.l4 = PB_L4_ICMP;
	icmp.icmp.type = 3;
	icmp.icmp.code = code;
	icmp.icmp.quote = &quote;
	feed(&icmp, ts);
	check();
}

/* A quiet link: time passes with no packet (the live capture's tick). */
static void tick(uint64_t ts)
{
	cs_engine_tick(&eng, ts);
	if (twin_live)
		cs_engine_tick(&twin, ts);
	steps++;
	check();
}

/* ---- scripted ----------------------------------------------------------------- */

static const struct tuple c_done = { "10.1.0.1", "10.2.0.1", 40001, 80, 1000, 9000 };
static const struct tuple c_attempt = { "10.1.0.1", "10.2.0.2", 40002, 80, 2000, 0 };
static const struct tuple c_retry = { "10.1.0.1", "10.2.0.2", 40003, 80, 3000, 0 };
static const struct tuple c_half = { "10.1.0.2", "10.2.0.1", 40004, 443, 4000, 8000 };
static const struct tuple c_refused = { "10.1.0.2", "10.2.0.3", 40005, 81, 5000, 0 };
static const struct tuple c_unreach = { "10.1.0.3", "10.2.0.9", 40006, 80, 6000, 0 };
static const struct tuple c_abort = { "10.1.0.3", "10.2.0.1", 40007, 80, 7000, 7700 };
static const struct tuple c_late = { "10.1.0.3", "10.2.0.2", 40008, 80, 8000, 8800 };

/*
 * T0      completed: handshake, data, both FINs (TIME_WAIT), then its
 *         4-tuple reused by a new SYN at T0+20 (port reuse)
 * T0+0.5  an attempt that becomes a timeout on the clock alone at T0+3.5
 * T0+1    an attempt retried (a timeout by its second SYN), then refused
 * T0+1.5  half-open (SYN-ACK, no ACK), then established, then reset
 * T0+2    refused; host unreachable; an attempt answered after its timeout
 */
START_TEST(scripted_gauges)
{
	engine_up(64);
	uint64_t t = T0;
	cli(&c_done, SYN, 0, 0, 0, t);
	srv(&c_done, SYNACK, 0, 1, 0, t + 100);
	cli(&c_done, ACK, 1, 1, 0, t + 200);
	cli(&c_done, DATA, 1, 1, 20, t + 300);
	srv(&c_done, DATA, 1, 21, 200, t + 400);
	cli(&c_done, FINACK, 21, 201, 0, t + 500);
	srv(&c_done, FINACK, 201, 22, 0, t + 600);
	cli(&c_done, ACK, 22, 202, 0, t + 700);

	cli(&c_attempt, SYN, 0, 0, 0, T0 + SEC / 2);
	cli(&c_retry, SYN, 0, 0, 0, T0 + SEC);
	cli(&c_retry, SYN, 0, 0, 0, T0 + SEC + 1000);
	cli(&c_half, SYN, 0, 0, 0, T0 + 3 * SEC / 2);
	srv(&c_half, SYNACK, 0, 1, 0, T0 + 3 * SEC / 2 + 100);
	cli(&c_refused, SYN, 0, 0, 0, T0 + 2 * SEC);
	srv(&c_refused, RSTACK, 0, 1, 0, T0 + 2 * SEC + 100);
	cli(&c_unreach, SYN, 0, 0, 0, T0 + 2 * SEC + 200);
	unreachable(&c_unreach, 1, T0 + 2 * SEC + 300);
	cli(&c_late, SYN, 0, 0, 0, T0 + 2 * SEC + 400);

	/* no packet of c_attempt: its SYN timeout passes on the clock */
	ck_assert_uint_eq(eng.open.outcomes[CS_OUT_ATTEMPT], 2);
	tick(T0 + 7 * SEC / 2);		/* (set aside by then: quiet 3 s) */
	ck_assert_uint_gt(eng.flows.aside.count, 0);
	ck_assert_uint_eq(eng.open.outcomes[CS_OUT_ATTEMPT], 1);
	ck_assert_uint_eq(eng.open.outcomes[CS_OUT_TIMEOUT], 2);
	srv(&c_late, SYNACK, 0, 1, 0, T0 + 4 * SEC);	/* answered late */
	cli(&c_late, ACK, 1, 1, 0, T0 + 4 * SEC + 100);
	srv(&c_retry, RSTACK, 0, 1, 0, T0 + 4 * SEC + 200);
	cli(&c_half, ACK, 1, 1, 0, T0 + 5 * SEC);
	cli(&c_abort, SYN, 0, 0, 0, T0 + 5 * SEC);
	srv(&c_abort, SYNACK, 0, 1, 0, T0 + 5 * SEC + 100);
	cli(&c_abort, ACK, 1, 1, 0, T0 + 5 * SEC + 200);
	srv(&c_abort, RSTACK, 1, 1, 0, T0 + 5 * SEC + 300);
	tick(T0 + 11 * SEC);		/* resets linger 5 s: they go */
	struct tuple again = c_done;
	again.cisn = 55000;
	cli(&again, SYN, 0, 0, 0, T0 + 20 * SEC);
	ck_assert_uint_eq(eng.open.port_reuse, 1);
	tick(T0 + 200 * SEC);		/* the attempts' 60 s: they go too */

	cs_engine_finish(&eng);
	check();
	ck_assert_uint_eq(eng.open.open, 0);
	ck_assert_uint_eq(eng.open.young_cnt, 0);
	ck_assert_uint_eq(eng.open.verdicts.failed, 0);
	ck_assert_uint_eq(eng.open.verdicts.g.used, 0);
}
END_TEST

/*
 * The SYNs in a timed-out group: a sent 20, b 2, so the sentence says "2
 * to 20" (true of each); past CS_VERDICT_SYNS_EXACT, a group keeps the
 * most its connections sent; exact when one such connection leaves the
 * group while others go on (verdict.h says when it is not).
 */
START_TEST(syn_counts)
{
	static const struct tuple a = { "10.1.0.1", "10.2.0.5", 40001, 80, 1000, 0 };
	static const struct tuple b = { "10.1.0.2", "10.2.0.5", 40002, 80, 2000, 0 };
	char *text;

	engine_up(64);
	for (unsigned i = 0; i < 20; i++)
		cli(&a, SYN, 0, 0, 0, T0 + i * SEC);
	cli(&b, SYN, 0, 0, 0, T0 + 20 * SEC);
	cli(&b, SYN, 0, 0, 0, T0 + 21 * SEC);
	struct cs_verdicts v;
	ck_assert_int_eq(cs_verdicts_clone(&v, &eng.verdicts), 0);
	cs_verdicts_add_open(&v, &eng.open.verdicts);
	text = text_of(&v);
	ck_assert_msg(strstr(text, "2 connects to 10.2.0.5:80 timed out after 2 to 20 SYNs each"),
		      "%s", text);
	free(text);
	cs_verdicts_fini(&v);
	srv(&a, RSTACK, 0, 1, 0, T0 + 22 * SEC);	/* a: refused at last */
	ck_assert_int_eq(cs_verdicts_clone(&v, &eng.verdicts), 0);
	cs_verdicts_add_open(&v, &eng.open.verdicts);
	text = text_of(&v);
	ck_assert_msg(strstr(text, "1 connect to 10.2.0.5:80 timed out after 2 SYNs"),
		      "%s", text);
	free(text);
	cs_verdicts_fini(&v);
}
END_TEST

/* A segment that fails --verify-checksums still makes a record (Zeek's
 * letter C): it is counted like any other. */
START_TEST(bad_checksum_counted)
{
	struct cs_engine_opts o;
	char err[160];
	struct pb_spec s;
	uint8_t frame[256];

	cs_engine_opts_default(&o);
	o.flow.max_flows = 16;
	o.keep_recent = true;
	o.verify_checksums = true;
	ck_assert_msg(cs_engine_init(&eng, &o, err, sizeof err) == 0, "%s", err);
	eng_live = true;
	tcp_spec(&s, &c_attempt, true, SYN, 0, 0, 0);
	size_t n = pb_build(&s, frame, sizeof frame);
	frame[pb_link_len(&s) + 20 + 16] ^= 0x5a;	/* the TCP checksum */
	struct cs_frame f = { .ts_us = T0, .caplen = (uint32_t)n,
			      .wirelen = (uint32_t)n, .dlt = CS_DLT_EN10MB,
			      .bytes = frame };
	cs_engine_frame(&eng, &f);
	ck_assert_uint_eq(eng.stats.skipped[CS_SKIP_BAD_CHECKSUM], 1);
	ck_assert_uint_eq(eng.flows.count, 1);
	check();
	ck_assert_uint_eq(eng.open.open, 1);
}
END_TEST

/* A SYN whose IPv4 header checksum (bytes 10-11 of the IP header) was
 * spoiled, fed with and without --verify-checksums. */
static void feed_bad_ip_header(bool verify, bool in_gre)
{
	struct cs_engine_opts o;
	char err[160];
	struct pb_spec s, outer;
	uint8_t frame[256];
	size_t n, ip_at;

	cs_engine_opts_default(&o);
	o.flow.max_flows = 16;
	o.verify_checksums = verify;
	ck_assert_msg(cs_engine_init(&eng, &o, err, sizeof err) == 0, "%s", err);
	eng_live = true;
	tcp_spec(&s, &c_attempt, true, SYN, 0, 0, 0);
	if (in_gre) {
		/* Ethernet, outer IPv4 (20), GRE (4): the inner header after */
		struct pb_tunnel t = { .kind = PB_TUN_GRE };
		pb_spec_init(&outer, 4);
		n = pb_tunnel_build(&outer, &t, &s, frame, sizeof frame);
		ip_at = pb_link_len(&outer) + 20 + 4;
	} else {
		n = pb_build(&s, frame, sizeof frame);
		ip_at = pb_link_len(&s);
	}
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_eq(frame[ip_at], 0x45);		/* the header meant */
	frame[ip_at + 10] ^= 0x5a;			/* its checksum */
	struct cs_frame f = { .ts_us = T0, .caplen = (uint32_t)n,
			      .wirelen = (uint32_t)n, .dlt = CS_DLT_EN10MB,
			      .bytes = frame };
	cs_engine_frame(&eng, &f);
}

/* Zeek drops a datagram whose IPv4 header checksum is wrong before any
 * connection sees it: no record, no letter C, a reason of its own. */
START_TEST(bad_ip_checksum_dropped)
{
	for (int gre = 0; gre < 2; gre++) {
		feed_bad_ip_header(true, gre);
		ck_assert_uint_eq(eng.stats.packets, 1);
		ck_assert_uint_eq(eng.stats.skipped[CS_SKIP_BAD_IP_CHECKSUM], 1);
		ck_assert_uint_eq(eng.stats.skipped[CS_SKIP_BAD_CHECKSUM], 0);
		ck_assert_uint_eq(eng.stats.analysed, 0);
		ck_assert_uint_eq(eng.flows.count, 0);
		cs_engine_fini(&eng);
		eng_live = false;

		/* Not asked to verify: the same frame is a connection attempt. */
		feed_bad_ip_header(false, gre);
		ck_assert_uint_eq(eng.stats.skipped[CS_SKIP_BAD_IP_CHECKSUM], 0);
		ck_assert_uint_eq(eng.stats.analysed, 1);
		ck_assert_uint_eq(eng.flows.count, 1);
		cs_engine_fini(&eng);
		eng_live = false;
	}
}
END_TEST

/* Open records recounted per packet as their SYN timeout passes, as
 * analyzer/engine.c does them. */
#define TALLY_PER_PACKET 8

/* n SYNs, each on its own client port from `port`, `gap` apart from at. */
static void syns(unsigned n, uint16_t port, uint64_t at, uint64_t gap)
{
	struct tuple c = c_attempt;
	struct pb_spec s;

	for (unsigned i = 0; i < n; i++) {
		c.cport = (uint16_t)(port + i);
		tcp_spec(&s, &c, true, SYN, 0, 0, 0);
		feed(&s, at + i * gap);
	}
}

/* The clock's work is bounded per packet; a refresh does the rest, so
 * that a publish is exact. */
START_TEST(clock_work_bounded)
{
	engine_up(256);
	syns(100, 41000, T0, 1);
	ck_assert_uint_eq(eng.open.outcomes[CS_OUT_ATTEMPT], 100);
	ck_assert_uint_eq(cs_tally_advance(&eng.open, T0 + 10 * SEC, 30), 30);
	ck_assert_uint_eq(eng.open.outcomes[CS_OUT_TIMEOUT], 30);
	syns(1, 42000, T0 + 10 * SEC, 0);	/* one more packet, 10 s on */
	ck_assert_uint_eq(eng.open.outcomes[CS_OUT_TIMEOUT], 30 + TALLY_PER_PACKET);
	ck_assert_uint_eq(eng.open.outcomes[CS_OUT_ATTEMPT], 71 - TALLY_PER_PACKET);
	check();			/* the refresh recounted the other 62 */
	ck_assert_uint_eq(eng.open.outcomes[CS_OUT_TIMEOUT], 100);
	ck_assert_uint_eq(eng.open.outcomes[CS_OUT_ATTEMPT], 1);
	ck_assert_uint_eq(eng.open.young_cnt, 1);
}
END_TEST

/*
 * Unanswered SYNs go aside (aside.h) long before their SYN timeout: each
 * is taken back to be recounted as a timeout, and set aside again.
 */
START_TEST(young_set_aside_recounted)
{
	engine_up(1024);
	syns(100, 41000, T0, 1000);
	/* quiet for 0.9 s: all go aside, 8 a tick (flow.c) as a packet */
	for (unsigned i = 0; i < 100 / 8 + 1; i++)
		tick(T0 + 1 * SEC + i);
	ck_assert_uint_eq(eng.flows.aside.count, 100);
	ck_assert_uint_eq(eng.open.outcomes[CS_OUT_ATTEMPT], 100);
	uint64_t put = eng.flows.aside.put_cnt;
	tick(T0 + 4 * SEC);		/* each past its 3 s SYN timeout */
	ck_assert_uint_eq(eng.open.outcomes[CS_OUT_TIMEOUT], 100);
	ck_assert_uint_eq(eng.open.outcomes[CS_OUT_ATTEMPT], 0);
	ck_assert_uint_eq(eng.open.young_cnt, 0);
	ck_assert_uint_eq(eng.flows.aside.count, 100);	/* aside again */
	ck_assert_uint_eq(eng.flows.aside.put_cnt, put + 100);
	struct gauges w;
	walk(&w);
	ck_assert_uint_eq(w.aside, 100);
}
END_TEST

/* Refused connections aside when their SYN timeout passes: their count
 * does not change with the clock, so they are read, not taken back. */
START_TEST(young_aside_unchanged_left_packed)
{
	struct tuple c = c_refused;
	struct pb_spec s;

	engine_up(1024);
	for (unsigned i = 0; i < 50; i++) {
		c.cport = (uint16_t)(42000 + i);
		tcp_spec(&s, &c, true, SYN, 0, 0, 0);
		feed(&s, T0 + i * 1000);
		tcp_spec(&s, &c, false, RSTACK, 0, 1, 0);
		feed(&s, T0 + i * 1000 + 100);
	}
	for (unsigned i = 0; i < 50 / 8 + 1; i++)
		tick(T0 + 1 * SEC + i);
	ck_assert_uint_eq(eng.flows.aside.count, 50);
	ck_assert_uint_eq(eng.open.outcomes[CS_OUT_REFUSED], 50);
	uint64_t put = eng.flows.aside.put_cnt;
	tick(T0 + 4 * SEC);		/* past every SYN timeout */
	ck_assert_uint_eq(eng.open.young_cnt, 0);
	ck_assert_uint_eq(eng.open.outcomes[CS_OUT_REFUSED], 50);
	ck_assert_uint_eq(eng.flows.aside.count, 50);
	ck_assert_uint_eq(eng.flows.aside.put_cnt, put);	/* none taken back */
}
END_TEST

/*
 * A flood's churn: far more records come and go within a SYN timeout than
 * the table holds.  The entries of those gone are dropped when the ring
 * fills, so it stays a few times the table's size, and the records still
 * there are recounted on time.
 */
START_TEST(young_ring_compacts)
{
	engine_up(64);
	/* 20,000 within 0.2 s: 64 kept, and 64 evicted ones held */
	syns(20000, 1000, T0, 10);
	check();
	ck_assert_uint_le(eng.open.young_cap, 1024);
	ck_assert_uint_eq(eng.flows.lists[CS_LIST_HELD_EMBRYONIC].count, 64);
	ck_assert_uint_eq(eng.open.outcomes[CS_OUT_ATTEMPT], 64 + 64);
	tick(T0 + 4 * SEC);
	ck_assert_uint_eq(eng.open.outcomes[CS_OUT_TIMEOUT], 64 + 64);
}
END_TEST

/* More young records than the ring's first size: it grows, in order. */
START_TEST(young_ring_grows)
{
	engine_up(8192);
	syns(5000, 20000, T0, 100);
	check();
	ck_assert_uint_ge(eng.open.young_cap, 5000);
	ck_assert_uint_eq(eng.open.young_cnt, 5000);
	tick(T0 + 3 * SEC + 250000);	/* half of them past due */
	ck_assert_uint_eq(eng.open.outcomes[CS_OUT_TIMEOUT], 2501);
	tick(T0 + 4 * SEC);
	ck_assert_uint_eq(eng.open.outcomes[CS_OUT_TIMEOUT], 5000);
}
END_TEST

static void *no_memory(size_t size)
{
	(void)size;
	return NULL;
}

/* Without the memory to grow the ring, the records past it are counted as
 * lost (the driver says so) and the rest are recounted on time. */
START_TEST(young_ring_without_memory)
{
	engine_up(8192);
	syns(1, 20000, T0, 0);		/* the ring's first allocation */
	eng.open.young_alloc = no_memory;
	syns(2999, 20001, T0 + 100, 100);
	ck_assert_uint_eq(eng.open.young_cnt, eng.open.young_cap);
	ck_assert_uint_eq(eng.open.young_lost, 3000 - eng.open.young_cap);
	cs_engine_tick(&eng, T0 + 4 * SEC);	/* (not tick: check() says lost) */
	cs_engine_refresh(&eng);
	ck_assert_uint_eq(eng.open.outcomes[CS_OUT_TIMEOUT], eng.open.young_cap);
	ck_assert_uint_eq(eng.open.outcomes[CS_OUT_ATTEMPT],
			  3000 - eng.open.young_cap);
}
END_TEST

/* ---- random -------------------------------------------------------------------- */

static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* One 4-tuple of the random run, and where each side's sequence is. */
struct rconn {
	struct tuple t;
	uint32_t csent, ssent;		/* relative to each side's ISN */
};

static const uint16_t rand_flags[] = {
	SYN, SYN, SYNACK, SYNACK, ACK, ACK, DATA, DATA, FINACK, RST, RSTACK,
};

/* A time step: mostly within a round trip, at times past the SYN timeout,
 * rarely past the timeouts of the table's lists. */
static uint64_t rand_step(uint64_t *seed)
{
	uint64_t r = next_rand(seed) % 100;

	if (r < 80)
		return next_rand(seed) % (50 * 1000);
	if (r < 97)
		return next_rand(seed) % (4 * SEC);
	return next_rand(seed) % (90 * SEC);
}

static void rand_segment(struct rconn *rc, uint64_t *seed, uint64_t ts)
{
	bool from_cli = next_rand(seed) & 1;
	uint16_t flags = rand_flags[next_rand(seed) % (sizeof rand_flags /
						       sizeof rand_flags[0])];
	uint32_t *sent = from_cli ? &rc->csent : &rc->ssent;
	uint32_t ack = from_cli ? rc->ssent : rc->csent;
	size_t len = flags == DATA ? 1 + next_rand(seed) % 100 : 0;
	struct pb_spec s;

	if (flags & CS_TH_SYN) {
		if (next_rand(seed) % 4 == 0)	/* a new socket: a new ISN */
			*(from_cli ? &rc->t.cisn : &rc->t.sisn) += 100000;
		*sent = 0;
	}
	tcp_spec(&s, &rc->t, from_cli, flags, *sent, ack, len);
	*sent += (uint32_t)len + !!(flags & (CS_TH_SYN | CS_TH_FIN));
	if (*sent == 0)
		*sent = 1;
	feed(&s, ts);
}

START_TEST(random_gauges)
{
	uint64_t seed = 12;
	struct rconn rc[12];
	uint64_t ts = T0;

	engine_up(8);			/* full soon: evictions too */
	for (unsigned i = 0; i < sizeof rc / sizeof rc[0]; i++) {
		static const char *const cl[] = { "10.1.0.1", "10.1.0.2", "10.1.0.3" };
		static const char *const sv[] = { "10.2.0.1", "10.2.0.2" };
		rc[i] = (struct rconn){ .t = { cl[i % 3], sv[i % 2],
					       (uint16_t)(40000 + i % 4),
					       (uint16_t)(80 + i % 2),
					       1000u * i, 500000u + 1000u * i } };
	}
	for (unsigned n = 0; n < 4000; n++) {
		ts += rand_step(&seed);
		struct rconn *c = &rc[next_rand(&seed) % (sizeof rc / sizeof rc[0])];
		uint64_t r = next_rand(&seed) % 100;
		if (r < 4)
			unreachable(&c->t, (uint8_t)(next_rand(&seed) % 4), ts);
		else if (r < 8)
			tick(ts);
		else {
			rand_segment(c, &seed, ts);
			check();
		}
	}
	cs_engine_finish(&eng);
	check();
	ck_assert_uint_eq(eng.open.verdicts.g.used, 0);
}
END_TEST

/* The twin's records stay whole: the same engine otherwise. */
static void twin_up(uint32_t max_flows)
{
	struct cs_engine_opts o;
	char err[160];

	cs_engine_opts_default(&o);
	o.flow.max_flows = max_flows;
	o.flow.set_aside = false;
	o.keep_recent = true;
	ck_assert_msg(cs_engine_init(&twin, &o, err, sizeof err) == 0, "%s", err);
	twin_live = true;
}

/* A snapshot's open connections, each as its record stands but for the
 * list links (refs, which differ once records go aside). */
static void same_open_conns(void)
{
	struct cs_report_source src = { .live = false };

	cs_engine_refresh(&eng);
	cs_engine_refresh(&twin);
	struct cs_snapshot *a = cs_snapshot_build(&eng, &src, 1, false, false);
	struct cs_snapshot *b = cs_snapshot_build(&twin, &src, 1, false, false);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);
	ck_assert_uint_eq(a->conn_cnt, b->conn_cnt);
	for (uint32_t i = 0; i < a->conn_cnt; i++) {
		struct cs_snap_conn *x = &a->conns[i], *y = &b->conns[i];
		if (!x->open)
			continue;
		x->c.lru_prev = x->c.lru_next = y->c.lru_prev = y->c.lru_next = 0;
		ck_assert_msg(memcmp(&x->c, &y->c, sizeof x->c) == 0, "step %"
			      PRIu64 ": open connection %u differs", steps, i);
		ck_assert_int_eq(x->v.outcome, y->v.outcome);
		ck_assert_int_eq(x->v.conn_state, y->v.conn_state);
	}
	ck_assert(memcmp(eng.open.outcomes, twin.open.outcomes,
			 sizeof eng.open.outcomes) == 0);
	cs_snapshot_unref(a);
	cs_snapshot_unref(b);
}

/*
 * What a snapshot shows does not depend on where records waited: with
 * records set aside (the default) it is the same, record for record, as
 * with every record whole.
 */
START_TEST(snapshot_same_with_records_aside)
{
	uint64_t seed = 7;
	struct rconn rc[40];
	uint64_t ts = T0;

	/* (not holding evicted records: that needs records set aside) */
	engine_up_holding(32, false);
	twin_up(32);
	for (unsigned i = 0; i < sizeof rc / sizeof rc[0]; i++) {
		char cl[16], sv[16];
		snprintf(cl, sizeof cl, "10.1.0.%u", 1 + i % 5);
		snprintf(sv, sizeof sv, "10.2.0.%u", 1 + i % 3);
		rc[i] = (struct rconn){ .t = { strdup(cl), strdup(sv),
					       (uint16_t)(40000 + i), 80,
					       1000u * i, 500000u + 1000u * i } };
	}
	for (unsigned n = 0; n < 3000; n++) {
		ts += rand_step(&seed);
		rand_segment(&rc[next_rand(&seed) % (sizeof rc / sizeof rc[0])],
			     &seed, ts);
		if (n % 10 == 0)
			same_open_conns();
	}
	ck_assert_uint_gt(eng.flows.aside.put_cnt, 100);
	same_open_conns();
	for (unsigned i = 0; i < sizeof rc / sizeof rc[0]; i++) {
		free((char *)rc[i].t.cli);
		free((char *)rc[i].t.srv);
	}
}
END_TEST

/* ---- the group table's removal ------------------------------------------------- */

struct gentry {
	struct cs_group_key k;
	uint32_t v;
};

/* Keys that differ in the port only, in a table of 16: they share home
 * slots and runs, so a removal must shift the right ones back. */
START_TEST(groups_remove)
{
	struct cs_groups g;
	struct cs_group_key k;

	cs_groups_init(&g, sizeof(struct gentry), 16);
	memset(&k, 0, sizeof k);
	for (uint16_t p = 0; p < 14; p++) {
		k.port = p;
		struct gentry *e = cs_groups_find(&g, &k, true);
		ck_assert_ptr_nonnull(e);
		e->v = 100u + p;
	}
	ck_assert_uint_eq(g.used, 14);
	for (uint16_t p = 0; p < 14; p += 3) {
		k.port = p;
		cs_groups_remove(&g, cs_groups_find(&g, &k, false));
	}
	ck_assert_uint_eq(g.used, 9);
	for (uint16_t p = 0; p < 14; p++) {
		k.port = p;
		struct gentry *e = cs_groups_find(&g, &k, false);
		if (p % 3 == 0) {
			ck_assert_ptr_null(e);
			continue;
		}
		ck_assert_msg(e != NULL, "port %u lost by a removal", p);
		ck_assert_uint_eq(e->v, 100u + p);
	}
	for (uint16_t p = 14; p < 19; p++) {	/* room again, up to 7/8 */
		k.port = p;
		ck_assert_ptr_nonnull(cs_groups_find(&g, &k, true));
	}
	cs_groups_fini(&g);
}
END_TEST

/* The n-th key of groups_full_table_finds_each_key: host, peer and port
 * all vary, as a capture's do. */
static void nth_key(uint32_t n, struct cs_group_key *k)
{
	memset(k, 0, sizeof *k);
	k->host.b[15] = (uint8_t)n;
	k->host.b[14] = (uint8_t)(n >> 8);
	k->peer.b[15] = (uint8_t)(n >> 16);
	k->port = (uint16_t)(n * 7);
	k->side = n & 1;
}

/*
 * A table filled to its limit (7/8 of its slots): each key is found with
 * its own entry, and keys never made are not.  Runs are long there, and
 * probes pass over many slots whose 16-bit tag equals the one sought
 * while the key does not (groups.c): each such must be passed over.
 */
START_TEST(groups_full_table_finds_each_key)
{
	struct cs_groups g;
	struct cs_group_key k;
	uint32_t made = 0;

	cs_groups_init(&g, sizeof(struct gentry), 1u << 16);
	for (uint32_t n = 0;; n++) {
		nth_key(n, &k);
		struct gentry *e = cs_groups_find(&g, &k, true);
		if (!e)
			break;
		e->v = n;
		made++;
	}
	ck_assert_uint_eq(made, (1u << 16) / 8 * 7);
	for (uint32_t n = 0; n < made; n++) {
		nth_key(n, &k);
		struct gentry *e = cs_groups_find(&g, &k, false);
		ck_assert_msg(e != NULL, "key %u lost", n);
		ck_assert_uint_eq(e->v, n);
	}
	for (uint32_t n = made; n < made + (1u << 18); n++) {
		nth_key(n, &k);
		ck_assert_msg(!cs_groups_find(&g, &k, false), "key %u never made, found", n);
	}
	cs_groups_fini(&g);
}
END_TEST

/*
 * A lookup reads no page of the table that was never written (written.h):
 * the pages of the system lying wholly in what the table never wrote are
 * made unreadable, then every kind of read the table does is made: finds
 * that miss, finds that hit, a walk of every slot, a clone.  A read of
 * one of those pages would be a SIGSEGV, which fails the test.
 */
struct wide_entry {
	struct cs_group_key k;
	char rest[140];		/* entries straddle pages */
};

/* Makes the pages of the system wholly inside never-written parts of a
 * table of `bytes` unreadable (prot PROT_NONE), or readable again; how
 * many.  The table, from calloc, is page-aligned only by chance: the
 * whole pages inside it are the ones protected. */
static size_t protect_unwritten(const void *table, size_t bytes,
				const uint64_t *written, int prot)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), n = 0;
	uintptr_t base = (uintptr_t)table;

	for (uintptr_t at = (base + page - 1) / page * page; at + page <= base + bytes;
	     at += page) {
		bool clean = true;
		for (size_t off = at - base; off < at - base + page; off += CS_WRITTEN_PAGE)
			clean = clean && !cs_written_at(written, off);
		clean = clean && !cs_written_at(written, at - base + page - 1);
		if (!clean)
			continue;
		ck_assert_int_eq(mprotect((void *)at, page, prot), 0);
		n++;
	}
	return n;
}

static size_t protect_groups(const struct cs_groups *g, int prot)
{
	return protect_unwritten(g->entries, (size_t)g->capacity * g->entry_size,
				 g->written, prot);
}

START_TEST(groups_read_no_page_never_written)
{
	struct cs_groups g, copy;
	struct cs_group_key k;
	uint32_t made = 0;

	cs_groups_init(&g, sizeof(struct wide_entry), 1u << 16);
	memset(&k, 0, sizeof k);
	for (uint16_t p = 0; p < 40; p++) {
		k.port = (uint16_t)(p * 977);
		ck_assert_ptr_nonnull(cs_groups_find(&g, &k, true));
		made++;
	}
	ck_assert_uint_gt(protect_groups(&g, PROT_NONE), 100);
	for (uint32_t p = 0; p < 65536; p++) {
		k.port = (uint16_t)p;
		bool made_it = p % 977 == 0 && p / 977 < 40;
		ck_assert(!cs_groups_find(&g, &k, false) == !made_it);
	}
	uint32_t seen = 0;
	for (uint32_t i = 0; i < g.capacity; i++)
		seen += cs_groups_at(&g, i) != NULL;
	ck_assert_uint_eq(seen, made);
	ck_assert_int_eq(cs_groups_clone(&copy, &g), 0);
	protect_groups(&g, PROT_READ | PROT_WRITE);
	for (uint16_t p = 0; p < 40; p++) {
		k.port = (uint16_t)(p * 977);
		ck_assert_ptr_nonnull(cs_groups_find(&copy, &k, false));
	}
	k.port = 1;
	ck_assert_ptr_null(cs_groups_find(&copy, &k, false));
	ck_assert_uint_eq(copy.used, made);
	cs_groups_fini(&copy);
	cs_groups_fini(&g);
}
END_TEST

/* The same of the busiest servers' table (connstats.c): counting to a
 * server it has, and the walks for the busiest and the most failing. */
static void server_conn(struct cs_conn *c, uint32_t server)
{
	memset(c, 0, sizeof *c);
	c->key.addr[0].b[15] = 1;
	c->key.addr[1].b[12] = (uint8_t)(server >> 8);
	c->key.addr[1].b[13] = (uint8_t)server;
	c->key.port[0] = 40000;
	c->key.port[1] = 443;
}

START_TEST(server_table_reads_no_page_never_written)
{
	struct cs_connstats st;
	struct cs_conn c;
	struct cs_server_count top[10];
	size_t bytes = CS_SERVER_SLOTS * sizeof(struct cs_server_count);

	cs_connstats_init(&st);
	for (uint32_t i = 0; i < 30; i++) {
		server_conn(&c, i * 101);
		cs_connstats_add(&st, &c, i % 3 ? CS_OUT_COMPLETED : CS_OUT_REFUSED,
				 CS_CS_SF, false);
	}
	ck_assert_uint_gt(protect_unwritten(st.servers, bytes, st.servers_written,
					    PROT_NONE), 100);
	for (uint32_t i = 0; i < 30; i++) {	/* each server again: found */
		server_conn(&c, i * 101);
		cs_connstats_add(&st, &c, CS_OUT_COMPLETED, CS_CS_SF, false);
	}
	ck_assert_uint_eq(st.server_cnt, 30);
	ck_assert_int_eq(cs_connstats_top_servers(&st, top, 10), 10);
	ck_assert_uint_eq(top[0].conns, 2);
	ck_assert_int_eq(cs_connstats_top_failing(&st, top, 10), 10);
	ck_assert_uint_eq(top[0].failed, 1);
	protect_unwritten(st.servers, bytes, st.servers_written, PROT_READ | PROT_WRITE);
	cs_connstats_fini(&st);
}
END_TEST

Suite *tally_suite(void)
{
	Suite *s = suite_create("tally");
	TCase *tc = tcase_create("gauges");

	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, scripted_gauges);
	tcase_add_test(tc, clock_work_bounded);
	tcase_add_test(tc, young_set_aside_recounted);
	tcase_add_test(tc, young_aside_unchanged_left_packed);
	tcase_add_test(tc, young_ring_compacts);
	tcase_add_test(tc, young_ring_grows);
	tcase_add_test(tc, young_ring_without_memory);
	tcase_add_test(tc, syn_counts);
	tcase_add_test(tc, bad_checksum_counted);
	tcase_add_test(tc, bad_ip_checksum_dropped);
	tcase_add_test(tc, random_gauges);
	tcase_add_test(tc, snapshot_same_with_records_aside);
	suite_add_tcase(s, tc);
	tc = tcase_create("groups");
	tcase_add_test(tc, groups_remove);
	tcase_add_test(tc, groups_full_table_finds_each_key);
	tcase_add_test(tc, groups_read_no_page_never_written);
	tcase_add_test(tc, server_table_reads_no_page_never_written);
	suite_add_tcase(s, tc);
	return s;
}
