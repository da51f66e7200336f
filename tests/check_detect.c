/*
 * check_detect.c — the detectors, fed as the engine feeds them.
 *
 * Segments are cs_pkt views filled directly (no bytes), run through the
 * TCP branch of cs_engine_frame: cs_detect_packet, cs_track_segment,
 * cs_detect_segment, then bounded expiry and the detectors' tick, on a real
 * struct cs_engine (its done callback, verdicts and alert list), with small
 * flow tables so that eviction happens.  Then the distinct-source
 * estimator on hashes alone, and the verdict sentences.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/detectors/closewait.h"
#include "analyzer/detectors/distinct.h"
#include "analyzer/detectors/timewait.h"
#include "analyzer/engine.h"
#include "analyzer/tracking/tcp.h"
#include "analyzer/tracking/track.h"
#include "analyzer/reports/report.h"
#include "analyzer/reports/verdict.h"
#include "tests/pktbuild.h"
#include "tests/suites.h"

#define T0 (1700000000ull * SEC)	/* a whole second of packet time */

enum { CLI, SRV };

/* Expiries per packet, as analyzer/engine.c does them. */
#define EXPIRE_PER_PACKET 8

/* splitmix64: a deterministic stream of well-mixed 64-bit values. */
static uint64_t next_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static struct cs_addr v4(unsigned a, unsigned b, unsigned c, unsigned d)
{
	struct cs_addr x = { .b = { [10] = 0xff, [11] = 0xff, [12] = (uint8_t)a,
				    [13] = (uint8_t)b, [14] = (uint8_t)c,
				    [15] = (uint8_t)d } };
	return x;
}

static bool addr_eq(const struct cs_addr *a, const struct cs_addr *b)
{
	return memcmp(a, b, sizeof *a) == 0;
}

static const char *addr_str(const struct cs_addr *a, char *buf)
{
	return cs_addr_format(a, buf, CS_ADDR_STRLEN);
}

/* ---- fixtures ------------------------------------------------------------------ */

/* State of the test in progress, freed by the teardown even when an
 * assertion ends the test early (CK_FORK=no under valgrind). */
static struct cs_engine eng;
static bool eng_live;
static struct cs_distinct dsets[CS_DISTINCT_DENSE_MAX + 1];
static struct cs_distinct_pool dpool;

static bool guard;

static void teardown(void)
{
	guard = false;
	if (eng_live)
		cs_engine_fini(&eng);
	eng_live = false;
	for (unsigned i = 0; i < sizeof dsets / sizeof dsets[0]; i++)
		cs_distinct_fini(&dsets[i], &dpool);
	memset(&dpool, 0, sizeof dpool);
}

/* Finished records, as the engine hands them out. */
struct verdict_log {
	struct cs_addr server;		/* only records whose responder is this */
	unsigned records, midstream, completed, evicted;
};
static struct verdict_log vlog;

static void on_verdict(void *ctx, const struct cs_conn *c,
		       const struct cs_verdict *v)
{
	struct verdict_log *l = ctx;

	if (!v || !addr_eq(&c->key.addr[!c->orig], &l->server))
		return;
	l->records++;
	l->midstream += !c->ep[0].syn;	/* no SYN seen from the originator */
	l->completed += v->outcome == CS_OUT_COMPLETED;
	l->evicted += c->evicted != CS_EVICT_NONE;
}

static void engine_start(uint32_t max_flows, const struct cs_detect_opts *d)
{
	struct cs_engine_opts o;
	char err[160];

	cs_engine_opts_default(&o);
	o.flow.max_flows = max_flows;
	if (d)
		o.detect = *d;
	ck_assert_msg(cs_engine_init(&eng, &o, err, sizeof err) == 0, "%s", err);
	eng_live = true;
	memset(&vlog, 0, sizeof vlog);
	cs_engine_set_output(&eng, on_verdict, &vlog);
}

/* With guard set, feed() checks detect.h's contract on every call into
 * the detectors: of the records, only their detector marks change. */
#define GUARD_TABLE 16
static struct cs_conn guarded[GUARD_TABLE + 1];

static void guard_save(void)
{
	if (guard) {
		ck_assert_uint_le(eng.flows.never_used, GUARD_TABLE + 1);
		memcpy(guarded, eng.flows.conns,
		       eng.flows.never_used * sizeof guarded[0]);
	}
}

static void guard_check(const char *call)
{
	for (uint32_t i = 1; guard && i < eng.flows.never_used; i++) {
		struct cs_conn before, after;
		memcpy(&before, &guarded[i], sizeof before);
		memcpy(&after, &eng.flows.conns[i], sizeof after);
		memset(before.detect, 0, sizeof before.detect);
		memset(after.detect, 0, sizeof after.detect);
		ck_assert_msg(memcmp(&before, &after, sizeof before) == 0,
			      "%s changed record %u beyond its detector marks",
			      call, i);
	}
}

/* The TCP branch of cs_engine_frame, for a view already decoded. */
static void feed(struct cs_pkt p)
{
	struct cs_conn *c;
	int side;

	if (p.ts_us > eng.now_us)
		eng.now_us = p.ts_us;
	p.ts_us = eng.now_us;
	cs_detect_packet(&eng.detect, &p);
	unsigned ev = cs_track_segment(&eng.flows, &p, &c, &side);
	guard_save();
	cs_detect_segment(&eng.detect, c, side, ev, &p);
	guard_check("cs_detect_segment");
	cs_flow_expire(&eng.flows, eng.now_us, EXPIRE_PER_PACKET);
	guard_save();
	cs_detect_tick(&eng.detect, eng.now_us);
	guard_check("cs_detect_tick");
}

/* One connection's endpoints and initial sequence numbers. */
struct tuple {
	struct cs_addr cli, srv;
	uint16_t cport, sport;
	uint32_t cisn, sisn;
};

/* A segment from `who`: seq and ack relative to the ISNs (ack only with ACK). */
static void tx(const struct tuple *t, int who, uint16_t flags, uint32_t seq,
	       uint32_t ack, uint32_t len, uint64_t ts)
{
	bool c = who == CLI;
	struct cs_pkt p = {
		.kind = CS_PKT_TCP, .ts_us = ts, .ip_ver = 4, .ttl = 64,
		.flags = flags, .win = 64240, .tcp_hlen = 20,
		.ip_len = 40 + len, .wirelen = 54 + len, .payload_len = len,
	};

	p.src = c ? t->cli : t->srv;
	p.dst = c ? t->srv : t->cli;
	p.sport = c ? t->cport : t->sport;
	p.dport = c ? t->sport : t->cport;
	p.seq = (c ? t->cisn : t->sisn) + seq;
	p.ack = flags & CS_TH_ACK ? (c ? t->sisn : t->cisn) + ack : 0;
	feed(p);
}

struct step {
	uint8_t who;
	uint16_t flags;
	uint32_t seq, ack;
};

static const struct step s_open[] = {
	{ CLI, SYN, 0, 0 }, { SRV, SYNACK, 0, 1 }, { CLI, ACK, 1, 1 },
};
static const struct step s_close_client_first[] = {
	{ CLI, FINACK, 1, 1 }, { SRV, ACK, 1, 2 }, { SRV, FINACK, 1, 2 },
	{ CLI, ACK, 2, 2 },
};
static const struct step s_close_server_first[] = {
	{ SRV, FINACK, 1, 1 }, { CLI, ACK, 1, 2 }, { CLI, FINACK, 1, 2 },
	{ SRV, ACK, 2, 2 },
};
/* The client closes; the server acknowledges and never closes. */
static const struct step s_client_fin_only[] = {
	{ CLI, FINACK, 1, 1 }, { SRV, ACK, 1, 2 },
};
/* ... until it does, after all. */
static const struct step s_server_fin_late[] = {
	{ SRV, FINACK, 1, 2 }, { CLI, ACK, 2, 2 },
};
static const struct step s_server_rst_in_close_wait[] = {
	{ SRV, RSTACK, 1, 2 },
};

#define STEP_GAP_US 50

/* Plays steps 50 us apart from ts; returns the time after the last. */
static uint64_t play(const struct tuple *t, const struct step *s, size_t n,
		     uint64_t ts)
{
	for (size_t i = 0; i < n; i++, ts += STEP_GAP_US)
		tx(t, s[i].who, s[i].flags, s[i].seq, s[i].ack, 0, ts);
	return ts;
}
#define PLAY(t, steps, ts) play(t, steps, sizeof steps / sizeof steps[0], ts)

/* ---- alerts -------------------------------------------------------------------- */

static unsigned alerts_of(enum cs_alert_type type)
{
	unsigned n = 0;

	for (uint32_t i = 0; i < eng.detect.alerts.count; i++)
		n += eng.detect.alerts.list[i].type == type;
	/* nothing was raised past the list's cap */
	ck_assert_uint_eq(eng.detect.alerts.by_type[type], n);
	return n;
}

static const struct cs_alert *alert_nth(enum cs_alert_type type, unsigned nth)
{
	unsigned seen = 0;

	for (uint32_t i = 0; i < eng.detect.alerts.count; i++) {
		const struct cs_alert *al = &eng.detect.alerts.list[i];
		if (al->type == type && seen++ == nth)
			return al;
	}
	ck_abort_msg("no %s alert #%u", cs_alert_type_names[type], nth);
	return NULL;
}

static const struct cs_figure *figure(const struct cs_alert *al, const char *name)
{
	for (int i = 0; i < CS_ALERT_FIGURES; i++)
		if (al->fig[i].name && strcmp(al->fig[i].name, name) == 0)
			return &al->fig[i];
	return NULL;
}

static uint64_t fig(const struct cs_alert *al, const char *name)
{
	const struct cs_figure *f = figure(al, name);

	ck_assert_msg(f != NULL, "%s alert has no figure \"%s\"",
		      cs_alert_type_names[al->type], name);
	return f->value;
}

static void check_label(const struct cs_alert *al, const char *key,
			const char *value)
{
	ck_assert_msg(al->label_key && strcmp(al->label_key, key) == 0,
		      "label key %s, want %s", al->label_key ? al->label_key : "(none)",
		      key);
	ck_assert_msg(al->label_value && strcmp(al->label_value, value) == 0,
		      "%s %s, want %s", key,
		      al->label_value ? al->label_value : "(none)", value);
}

static void check_subject(const struct cs_alert *al, const struct cs_addr *a,
			  uint16_t port)
{
	char got[CS_ADDR_STRLEN], want[CS_ADDR_STRLEN];

	ck_assert_msg(addr_eq(&al->addr, a) && al->port == port,
		      "%s alert on %s port %u, want %s port %u",
		      cs_alert_type_names[al->type], addr_str(&al->addr, got),
		      al->port, addr_str(a, want), port);
}

static void check_within_2pct(const char *what, uint64_t got, uint64_t want)
{
	uint64_t diff = got > want ? got - want : want - got;

	ck_assert_msg(diff * 50 <= want, "%s %llu, want %llu within 2%%", what,
		      (unsigned long long)got, (unsigned long long)want);
}

/* ---- distinct: exact, HyperLogLog, spill, the shared budget -------------------- */

START_TEST(distinct_exact_below_16)
{
	static const unsigned sizes[] = { 0, 1, 2, 7, 15, 16 };
	uint64_t seed = 7;

	for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
		struct cs_distinct *d = &dsets[0];
		uint64_t h[16];

		for (unsigned i = 0; i < sizes[s]; i++) {
			h[i] = next_rand(&seed);
			cs_distinct_add(d, &dpool, h[i], true);
		}
		for (unsigned i = 0; i < sizes[s]; i++)	/* repeats */
			cs_distinct_add(d, &dpool, h[i], true);
		ck_assert_msg(cs_distinct_estimate(d) == sizes[s],
			      "%u distinct: estimate %llu", sizes[s],
			      (unsigned long long)cs_distinct_estimate(d));
		ck_assert(!cs_distinct_approximate(d));
		ck_assert_ptr_null(d->regs);
		ck_assert_uint_eq(dpool.dense, 0);
		cs_distinct_fini(d, &dpool);
	}
}
END_TEST

static const uint64_t hll_sizes[] = { 10000, 100000, 1000000 };

/* _i: one of hll_sizes, dense registers allowed. */
START_TEST(distinct_estimate_within_2pct)
{
	uint64_t n = hll_sizes[_i], seed = 1000 + (uint64_t)_i;
	struct cs_distinct *d = &dsets[0];

	for (uint64_t i = 0; i < n; i++)
		cs_distinct_add(d, &dpool, next_rand(&seed), true);
	uint64_t est = cs_distinct_estimate(d);
	check_within_2pct("estimate", est, n);
	ck_assert(!cs_distinct_approximate(d));
	ck_assert_ptr_nonnull(d->regs);
	ck_assert_ptr_null(d->set);
	ck_assert_uint_eq(dpool.dense, 1);

	/* the same values again change the registers in nothing (the
	 * estimate, capped by the additions, may only rise to what they say) */
	seed = 1000 + (uint64_t)_i;
	for (uint64_t i = 0; i < n && i < 100000; i++)
		cs_distinct_add(d, &dpool, next_rand(&seed), true);
	ck_assert_uint_ge(cs_distinct_estimate(d), est);
	check_within_2pct("estimate after repeats", cs_distinct_estimate(d), n);
	cs_distinct_fini(d, &dpool);
	ck_assert_uint_eq(dpool.dense, 0);
	ck_assert_ptr_null(d->regs);
}
END_TEST

/* Exact up to CS_DISTINCT_SET_MAX (3,584) distinct values, each added
 * twice; one more and the registers take over. */
static const uint64_t exact_sizes[] = { 17, 1000, 3001, CS_DISTINCT_SET_MAX };

START_TEST(distinct_exact_below_a_few_thousand)
{
	uint64_t n = exact_sizes[_i], seed = 77;
	struct cs_distinct *d = &dsets[0];

	for (int round = 0; round < 2; round++) {
		seed = 77;
		for (uint64_t i = 0; i < n; i++)
			cs_distinct_add(d, &dpool, next_rand(&seed), true);
	}
	ck_assert_uint_eq(cs_distinct_estimate(d), n);
	ck_assert(!cs_distinct_approximate(d));
	ck_assert_ptr_nonnull(d->set);
	ck_assert_ptr_null(d->regs);
	cs_distinct_add(d, &dpool, next_rand(&seed), true);
	if (n == CS_DISTINCT_SET_MAX) {
		ck_assert_ptr_nonnull(d->regs);
		ck_assert_ptr_null(d->set);
	} else {
		ck_assert_uint_eq(cs_distinct_estimate(d), n + 1);
	}
	ck_assert_uint_eq(dpool.dense, 1);
	cs_distinct_fini(d, &dpool);
	ck_assert_uint_eq(dpool.dense, 0);
}
END_TEST

/* The estimate is never more than the values added: n distinct values,
 * for every n from the set's end to 200 past it, where HyperLogLog's
 * linear counting can round up. */
START_TEST(distinct_never_more_than_added)
{
	struct cs_distinct *d = &dsets[0];
	uint64_t seed = 4242, n = 0;

	for (; n < CS_DISTINCT_SET_MAX + 200; n++) {
		cs_distinct_add(d, &dpool, next_rand(&seed), true);
		uint64_t est = cs_distinct_estimate(d);
		ck_assert_msg(est <= n + 1, "%llu added, estimate %llu",
			      (unsigned long long)(n + 1), (unsigned long long)est);
	}
	cs_distinct_fini(d, &dpool);
}
END_TEST

/* Without registers, what the list cannot hold is counted, repeats too. */
START_TEST(distinct_without_dense_counts_spill)
{
	struct cs_distinct *d = &dsets[0];
	uint64_t seed = 99, h[1000];

	for (unsigned i = 0; i < 1000; i++) {
		h[i] = next_rand(&seed);
		cs_distinct_add(d, &dpool, h[i], false);
	}
	ck_assert_ptr_null(d->regs);
	ck_assert_uint_eq(dpool.dense, 0);
	ck_assert_uint_eq(d->spill, 1000 - CS_DISTINCT_EXACT);
	ck_assert_uint_eq(cs_distinct_estimate(d), 1000);
	ck_assert(cs_distinct_approximate(d));
	/* the listed ones are still recognised */
	for (unsigned i = 0; i < CS_DISTINCT_EXACT; i++)
		cs_distinct_add(d, &dpool, h[i], false);
	ck_assert_uint_eq(cs_distinct_estimate(d), 1000);
	/* spilled repeats cannot be told from new values: counted */
	for (unsigned i = 500; i < 600; i++)
		cs_distinct_add(d, &dpool, h[i], false);
	ck_assert_uint_eq(cs_distinct_estimate(d), 1100);
	cs_distinct_fini(d, &dpool);
}
END_TEST

/* CS_DISTINCT_DENSE_MAX sets get an exact set; the next one spills until
 * one is freed; every set is freed (valgrind). */
START_TEST(distinct_pool_budget)
{
	const unsigned max = CS_DISTINCT_DENSE_MAX;
	uint64_t seed = 5;

	for (unsigned s = 0; s <= max; s++)
		for (unsigned j = 0; j < CS_DISTINCT_EXACT + 1; j++)
			cs_distinct_add(&dsets[s], &dpool, next_rand(&seed), true);
	ck_assert_uint_eq(dpool.dense, max);
	for (unsigned s = 0; s < max; s++) {
		ck_assert_ptr_nonnull(dsets[s].set);
		ck_assert(!cs_distinct_approximate(&dsets[s]));
		ck_assert_uint_eq(cs_distinct_estimate(&dsets[s]), 17);
	}
	struct cs_distinct *last = &dsets[max];
	ck_assert_ptr_null(last->set);
	ck_assert_uint_eq(last->spill, 1);
	ck_assert(cs_distinct_approximate(last));
	ck_assert_uint_eq(cs_distinct_estimate(last), 17);

	/* a set freed makes room for the next that needs it */
	cs_distinct_fini(&dsets[0], &dpool);
	ck_assert_uint_eq(dpool.dense, max - 1);
	cs_distinct_add(last, &dpool, next_rand(&seed), true);
	ck_assert_ptr_nonnull(last->set);
	ck_assert_uint_eq(dpool.dense, max);
	/* the 16 listed and the new one in the set, the spilled one counted */
	ck_assert_uint_eq(cs_distinct_estimate(last), 18);
	ck_assert(cs_distinct_approximate(last));

	for (unsigned s = 0; s <= max; s++)
		cs_distinct_fini(&dsets[s], &dpool);
	ck_assert_uint_eq(dpool.dense, 0);
}
END_TEST

/* ---- syn_flood -------------------------------------------------------------------- */

enum answer { ANS_SYNACK, ANS_NONE, ANS_RST };
static const char *const answer_names[] = { "SYN-ACK", "nothing", "RST" };
static const char *const answer_response[] = { "syn_cookies", "backlog_full",
					       "refused" };

#define FLOOD_SYNS 20000u
#define FLOOD_TABLE 64
#define FLOOD_GAP_US 100	/* 10,000 SYN/s: 20,000 in two seconds */
#define LEGIT 3

static struct cs_addr flood_target(void) { return v4(10, 0, 0, 80); }
static struct cs_addr legit_server(void) { return v4(10, 0, 0, 53); }

/* Spoofed source k (distinct addresses for k below 2^20). */
static struct tuple spoofed(uint32_t k, struct cs_addr dst, uint16_t dport)
{
	struct tuple t = {
		.cli = v4(100, 64 + (k >> 16), (k >> 8) & 255, k & 255),
		.srv = dst, .cport = (uint16_t)(1024 + k % 60000), .sport = dport,
		.cisn = k * 2654435761u + 17, .sisn = k * 40503u + 99,
	};
	return t;
}

/* One SYN from a spoofed source, answered (20 us later) or not. */
static void flood_syn(uint32_t k, struct cs_addr dst, uint16_t dport,
		      enum answer ans, uint64_t ts)
{
	struct tuple t = spoofed(k, dst, dport);

	tx(&t, CLI, SYN, 0, 0, 0, ts);
	if (ans == ANS_SYNACK)
		tx(&t, SRV, SYNACK, 0, 1, 0, ts + 20);
	else if (ans == ANS_RST)
		tx(&t, SRV, RSTACK, 0, 1, 0, ts + 20);
}

static struct tuple legit_conn(unsigned i)
{
	struct tuple t = {
		.cli = v4(192, 168, 1, 1 + i), .srv = legit_server(),
		.cport = (uint16_t)(50000 + i), .sport = 443,
		.cisn = 111111u * (i + 1), .sisn = 777777u * (i + 1),
	};
	return t;
}

static uint64_t legit_id[LEGIT];
static uint32_t legit_sent[LEGIT];

/*
 * Three established connections to 10.0.0.53:443, opened a second before
 * the flood, trading 100 bytes every 250 ms, closed after it; the flood:
 * FLOOD_SYNS SYNs to 10.0.0.80:80 from distinct sources in [T0, T0 + 2 s),
 * through a table of FLOOD_TABLE records.
 */
static void run_flood(enum answer ans)
{
	engine_start(FLOOD_TABLE, NULL);
	vlog.server = legit_server();
	for (unsigned i = 0; i < LEGIT; i++) {
		struct tuple t = legit_conn(i);
		PLAY(&t, s_open, T0 - SEC + i * 1000);
		struct cs_flow_key k;
		int side;
		struct cs_pkt p = { .src = t.cli, .dst = t.srv, .sport = t.cport,
				    .dport = t.sport };
		cs_flow_key(&p, false, &k, &side);
		struct cs_conn *c = cs_flow_lookup(&eng.flows, &k);
		ck_assert_ptr_nonnull(c);
		legit_id[i] = c->id;
		legit_sent[i] = 0;
	}
	for (uint32_t k = 0; k < FLOOD_SYNS; k++) {
		uint64_t ts = T0 + (uint64_t)k * FLOOD_GAP_US;
		flood_syn(k, flood_target(), 80, ans, ts);
		if (k % 2500 == 0) {
			for (unsigned i = 0; i < LEGIT; i++) {
				struct tuple t = legit_conn(i);
				tx(&t, CLI, DATA, 1 + legit_sent[i], 1, 100, ts + 40 + i);
				legit_sent[i] += 100;
				tx(&t, SRV, ACK, 1, 1 + legit_sent[i], 0, ts + 50 + i);
			}
		}
	}
}

static void close_legit(uint64_t ts)
{
	for (unsigned i = 0; i < LEGIT; i++) {
		struct tuple t = legit_conn(i);
		uint32_t n = legit_sent[i];
		tx(&t, CLI, FINACK, 1 + n, 1, 0, ts);
		tx(&t, SRV, ACK, 1, 2 + n, 0, ts + 10);
		tx(&t, SRV, FINACK, 1, 2 + n, 0, ts + 20);
		tx(&t, CLI, ACK, 2 + n, 2, 0, ts + 30);
		ts += 100;
	}
}

/* _i: enum answer.  The flood's one alert and its figures. */
START_TEST(syn_flood_alert_figures)
{
	enum answer ans = (enum answer)_i;
	struct cs_addr target = flood_target();

	run_flood(ans);
	close_legit(T0 + 2 * SEC + 500000);
	cs_engine_finish(&eng);

	ck_assert_msg(alerts_of(CS_ALERT_SYN_FLOOD) == 1,
		      "answered with %s: %u syn_flood alerts, want 1",
		      answer_names[ans], alerts_of(CS_ALERT_SYN_FLOOD));
	const struct cs_alert *al = alert_nth(CS_ALERT_SYN_FLOOD, 0);
	check_subject(al, &target, 80);
	ck_assert_uint_eq(fig(al, "syns"), FLOOD_SYNS);
	ck_assert_uint_eq(fig(al, "syns_total"), FLOOD_SYNS);
	ck_assert_uint_eq(fig(al, "synacks"), ans == ANS_SYNACK ? FLOOD_SYNS : 0);
	ck_assert_uint_eq(fig(al, "rsts"), ans == ANS_RST ? FLOOD_SYNS : 0);
	ck_assert_uint_eq(fig(al, "completed"), 0);
	ck_assert_uint_eq(fig(al, "peak_syn_rate"), SEC / FLOOD_GAP_US);
	ck_assert_uint_eq(fig(al, "peak_at"), T0);
	check_within_2pct("sources", fig(al, "sources"), FLOOD_SYNS);
	check_label(al, "response", answer_response[ans]);
	ck_assert_uint_eq(al->start_us, T0);
	ck_assert_uint_eq(al->end_us, T0 + 2 * SEC);
	ck_assert_msg(strstr(al->text, "SYN flood on 10.0.0.80:80") == al->text,
		      "text: %s", al->text);
	ck_assert_msg(strstr(al->text, "20,000 SYNs") != NULL, "text: %s", al->text);
	/* none completed: 0%, not "under 1%" */
	ck_assert_msg(strstr(al->text, ", 0% completed a handshake") != NULL,
		      "text: %s", al->text);
	if (ans == ANS_NONE)
		ck_assert_msg(strstr(al->text, "the server answers 0% of SYNs") != NULL,
			      "text: %s", al->text);
	/* the table could not hold the flood: the counts did not need it */
	ck_assert_uint_gt(eng.flows.evicted[CS_EVICT_EMBRYONIC] +
			  eng.flows.evicted[CS_EVICT_CLOSED] +
			  eng.flows.evicted[CS_EVICT_ACTIVE], FLOOD_SYNS / 2);
}
END_TEST

/*
 * _i: enum answer.  The established connections to another target are
 * never evicted by the flood (flow.h: "a SYN flood cannot push out the
 * connections being diagnosed"): same records throughout, both sides
 * ESTABLISHED after the flood, then completed, none picked up midstream.
 */
START_TEST(syn_flood_spares_established_connections)
{
	enum answer ans = (enum answer)_i;

	run_flood(ans);
	for (unsigned i = 0; i < LEGIT; i++) {
		struct tuple t = legit_conn(i);
		struct cs_pkt p = { .src = t.cli, .dst = t.srv, .sport = t.cport,
				    .dport = t.sport };
		struct cs_flow_key k;
		int side;
		cs_flow_key(&p, false, &k, &side);
		struct cs_conn *c = cs_flow_lookup(&eng.flows, &k);
		ck_assert_msg(c && c->id == legit_id[i],
			      "flood answered with %s: established connection %u "
			      "lost its record (evicted: %llu active)",
			      answer_names[ans], i,
			      (unsigned long long)eng.flows.evicted[CS_EVICT_ACTIVE]);
		ck_assert(c->ep[0].syn);	/* not picked up midstream */
		ck_assert_uint_eq(c->ep[0].state, CS_TCP_ESTABLISHED);
		ck_assert_uint_eq(c->ep[1].state, CS_TCP_ESTABLISHED);
	}
	close_legit(T0 + 2 * SEC + 500000);
	cs_engine_finish(&eng);
	ck_assert_msg(vlog.records == LEGIT && vlog.completed == LEGIT &&
		      vlog.midstream == 0 && vlog.evicted == 0,
		      "flood answered with %s: %u records to 10.0.0.53:443 "
		      "(%u completed, %u midstream, %u evicted), want 3 completed",
		      answer_names[ans], vlog.records, vlog.completed,
		      vlog.midstream, vlog.evicted);
	ck_assert_uint_eq(eng.flows.evicted[CS_EVICT_ACTIVE], 0);
	/* and no alert on the other target */
	for (uint32_t i = 0; i < eng.detect.alerts.count; i++) {
		struct cs_addr srv = legit_server();
		ck_assert(!addr_eq(&eng.detect.alerts.list[i].addr, &srv));
	}
}
END_TEST

/*
 * per_sec SYNs in each of nsec seconds from T0 + first_sec, to
 * 10.0.0.80:80, each answered with a SYN-ACK and, if complete, the
 * client's ACK.  Sources numbered from *k.
 */
static void syn_seconds(uint32_t first_sec, uint32_t nsec, uint32_t per_sec,
			bool complete, uint32_t *k)
{
	uint64_t gap = SEC / per_sec;

	for (uint32_t s = first_sec; s < first_sec + nsec; s++) {
		for (uint32_t i = 0; i < per_sec; i++, (*k)++) {
			uint64_t ts = T0 + s * SEC + i * gap;
			struct tuple t = spoofed(*k, flood_target(), 80);
			tx(&t, CLI, SYN, 0, 0, 0, ts);
			tx(&t, SRV, SYNACK, 0, 1, 0, ts + gap / 4);
			if (complete)
				tx(&t, CLI, ACK, 1, 1, 0, ts + gap / 2);
		}
	}
}

/* A busy server whose handshakes complete is not flooded. */
START_TEST(syn_flood_not_for_busy_server)
{
	uint32_t k = 0;

	engine_start(FLOOD_TABLE, NULL);
	syn_seconds(0, 3, 1000, true, &k);
	cs_engine_finish(&eng);
	ck_assert_uint_eq(alerts_of(CS_ALERT_SYN_FLOOD), 0);
}
END_TEST

/* The rate threshold: --synflood-rate (0: the default, 200). */
static const struct {
	uint32_t rate, per_sec;
	unsigned alerts;
} rate_cases[] = {
	{ 0, 150, 0 },
	{ 0, 199, 0 },
	{ 0, 200, 1 },
	{ 100, 150, 1 },
	{ 100, 99, 0 },
};

START_TEST(syn_flood_rate_threshold)
{
	struct cs_detect_opts o;
	uint32_t k = 0;

	cs_detect_opts_default(&o);
	if (rate_cases[_i].rate)
		o.synflood_rate = rate_cases[_i].rate;
	engine_start(FLOOD_TABLE, &o);
	syn_seconds(0, 3, rate_cases[_i].per_sec, false, &k);
	cs_engine_finish(&eng);
	ck_assert_msg(alerts_of(CS_ALERT_SYN_FLOOD) == rate_cases[_i].alerts,
		      "rate %u, %u SYN/s: %u alerts, want %u", o.synflood_rate,
		      rate_cases[_i].per_sec, alerts_of(CS_ALERT_SYN_FLOOD),
		      rate_cases[_i].alerts);
	if (rate_cases[_i].alerts)
		ck_assert_uint_eq(fig(alert_nth(CS_ALERT_SYN_FLOOD, 0), "syns"),
				  3 * rate_cases[_i].per_sec);
}
END_TEST

/*
 * Two one-second bursts of 1,000 SYNs, the second starting `second`
 * seconds after the first: adjacent, or with gaps of up to a second, they
 * are one episode (synflood.h); further apart, two.
 */
static const struct {
	uint32_t second;
	unsigned alerts;
} burst_cases[] = {
	{ 1, 1 },	/* back to back */
	{ 2, 1 },	/* one quiet second between */
	{ 3, 2 },	/* two quiet seconds */
	{ 10, 2 },
};

START_TEST(syn_flood_bursts)
{
	uint32_t k = 0, second = burst_cases[_i].second;

	engine_start(FLOOD_TABLE, NULL);
	syn_seconds(0, 1, 1000, false, &k);
	syn_seconds(second, 1, 1000, false, &k);
	cs_engine_finish(&eng);
	ck_assert_msg(alerts_of(CS_ALERT_SYN_FLOOD) == burst_cases[_i].alerts,
		      "bursts %u s apart: %u alerts, want %u", second,
		      alerts_of(CS_ALERT_SYN_FLOOD), burst_cases[_i].alerts);
	const struct cs_alert *a = alert_nth(CS_ALERT_SYN_FLOOD, 0);
	ck_assert_uint_eq(a->start_us, T0);
	if (burst_cases[_i].alerts == 1) {
		ck_assert_uint_eq(fig(a, "syns"), 2000);
		ck_assert_uint_eq(a->end_us, T0 + (second + 1) * SEC);
	} else {
		const struct cs_alert *b = alert_nth(CS_ALERT_SYN_FLOOD, 1);
		ck_assert_uint_eq(fig(a, "syns"), 1000);
		ck_assert_uint_eq(a->end_us, T0 + SEC);
		ck_assert_uint_eq(fig(b, "syns"), 1000);
		ck_assert_uint_eq(b->start_us, T0 + second * SEC);
		ck_assert_uint_eq(b->end_us, T0 + (second + 1) * SEC);
		ck_assert_uint_eq(fig(b, "syns_total"), 2000);
	}
}
END_TEST

/* ---- time_wait_buildup ---------------------------------------------------------- */

#define TW_TABLE 4096

static struct cs_addr tw_server(void) { return v4(10, 0, 0, 2); }

/*
 * n short connections to 10.0.0.2:80 from `clients` clients (10.0.1.x),
 * per_sec new ones in each second from T0, each closed by the client or
 * the server first; each on a port of its own.
 */
static void tw_run(uint32_t n, uint32_t per_sec, bool server_closes,
		   unsigned clients)
{
	uint64_t gap = SEC / per_sec;

	for (uint32_t i = 0; i < n; i++) {
		uint64_t ts = T0 + (uint64_t)(i / per_sec) * SEC + (i % per_sec) * gap;
		struct tuple t = {
			.cli = v4(10, 0, 1, 1 + i % clients), .srv = tw_server(),
			.cport = (uint16_t)(32768 + i / clients), .sport = 80,
			.cisn = i * 7919u + 1, .sisn = i * 104729u + 3,
		};
		ts = PLAY(&t, s_open, ts);
		if (server_closes)
			PLAY(&t, s_close_server_first, ts);
		else
			PLAY(&t, s_close_client_first, ts);
	}
}

static const struct {
	const char *name;
	uint32_t threshold;		/* 0: default, 1,000 */
	uint32_t conns, per_sec;
	bool server_closes;
	unsigned clients;
	/* expected */
	bool alert;
	uint64_t time_wait, rate, ports_needed, exhausted_after;
	const char *text;
} tw_cases[] = {
	{ "1,500 client-first in 10 s", 0, 1500, 150, false, 1,
	  true, 1500, 150, 9000, 0, "10.0.1.1 has up to 1,500 connections to "
	  "10.0.0.2:80 in TIME_WAIT: it closes first" },
	{ "600/s below the threshold", 2000, 1800, 600, false, 1,
	  true, 1800, 600, 36000, 28232ull * SEC / 600, "EADDRNOTAVAIL" },
	{ "300/s below the threshold", 2000, 900, 300, false, 1,
	  true, 900, 300, 18000, 0, "63% of the 28,232 ephemeral ports" },
	{ "200/s below the threshold", 2000, 600, 200, false, 1,
	  false, 0, 0, 0, 0, NULL },
	{ "1,200 server-first", 0, 1200, 150, true, 4,
	  true, 1200, 0, 0, 0, "10.0.0.2:80 has up to 1,200 connections in "
	  "TIME_WAIT: the server closes first" },
	{ "500 client-first", 0, 500, 150, false, 1,
	  false, 0, 0, 0, 0, NULL },
};

START_TEST(time_wait_buildup)
{
	struct cs_detect_opts o;
	struct cs_addr server = tw_server(), client = v4(10, 0, 1, 1);
	const char *name = tw_cases[_i].name;

	cs_detect_opts_default(&o);
	if (tw_cases[_i].threshold)
		o.timewait_threshold = tw_cases[_i].threshold;
	engine_start(TW_TABLE, &o);
	tw_run(tw_cases[_i].conns, tw_cases[_i].per_sec, tw_cases[_i].server_closes,
	       tw_cases[_i].clients);
	/* every record is still in the table: all within 2*MSL */
	ck_assert_uint_eq(eng.flows.count, tw_cases[_i].conns);
	/* a snapshot's refresh already gives the final sentence (it is
	 * written once a second while the figures change) */
	char before_end[CS_ALERT_TEXT] = "";
	cs_engine_refresh(&eng);
	if (alerts_of(CS_ALERT_TIME_WAIT_BUILDUP))
		snprintf(before_end, sizeof before_end, "%s",
			 alert_nth(CS_ALERT_TIME_WAIT_BUILDUP, 0)->text);
	cs_engine_finish(&eng);

	unsigned n = alerts_of(CS_ALERT_TIME_WAIT_BUILDUP);
	ck_assert_msg(n == tw_cases[_i].alert, "%s: %u alerts, want %u", name, n,
		      tw_cases[_i].alert);
	if (!n)
		return;
	const struct cs_alert *al = alert_nth(CS_ALERT_TIME_WAIT_BUILDUP, 0);
	ck_assert_msg(fig(al, "time_wait") == tw_cases[_i].time_wait,
		      "%s: time_wait %llu, want %llu", name,
		      (unsigned long long)fig(al, "time_wait"),
		      (unsigned long long)tw_cases[_i].time_wait);
	ck_assert_uint_eq(fig(al, "entered"), tw_cases[_i].conns);
	ck_assert_msg(strstr(al->text, tw_cases[_i].text), "%s: text: %s", name,
		      al->text);
	ck_assert_str_eq(before_end, al->text);
	ck_assert_uint_ge(al->start_us, T0);
	ck_assert_uint_le(al->end_us, T0 + 10 * SEC);
	if (tw_cases[_i].server_closes) {
		check_subject(al, &server, 80);
		ck_assert(!al->has_peer);
		check_label(al, "closer", "server");
		ck_assert_ptr_null(figure(al, "exhausted_after"));
		return;
	}
	check_subject(al, &client, 0);
	ck_assert(al->has_peer && addr_eq(&al->peer, &server) && al->peer_port == 80);
	check_label(al, "closer", "client");
	ck_assert_uint_eq(fig(al, "new_conn_rate"), tw_cases[_i].rate);
	ck_assert_uint_eq(fig(al, "ports_needed"), tw_cases[_i].ports_needed);
	ck_assert_uint_eq(fig(al, "port_range"), CS_EPHEMERAL_PORTS);
	if (tw_cases[_i].exhausted_after) {
		ck_assert_uint_eq(fig(al, "exhausted_after"),
				  tw_cases[_i].exhausted_after);
		ck_assert(figure(al, "exhausted_after")->is_usec);
	} else {
		ck_assert_ptr_null(figure(al, "exhausted_after"));
	}
}
END_TEST

/* ---- close_wait_buildup --------------------------------------------------------- */

#define CW_TABLE 1024

static struct cs_addr cw_server(void) { return v4(10, 0, 0, 7); }

static struct tuple cw_conn(uint32_t i)
{
	struct tuple t = {
		.cli = v4(10, 2, i >> 8, i & 255), .srv = cw_server(),
		.cport = 50000, .sport = 8080,
		.cisn = i * 7919u + 11, .sisn = i * 104729u + 13,
	};
	return t;
}

/* Connections first..first+n-1: open, the client's FIN acknowledged, 1 ms
 * apart from ts; returns the time after the last. */
static uint64_t cw_stuck(uint32_t first, uint32_t n, uint64_t ts)
{
	for (uint32_t i = first; i < first + n; i++, ts += 1000) {
		struct tuple t = cw_conn(i);
		PLAY(&t, s_client_fin_only, PLAY(&t, s_open, ts));
	}
	return ts;
}

/* Packet time moves to ts: a tick, or an unrelated segment. */
static void advance(uint64_t ts, bool by_packet)
{
	if (by_packet) {
		struct tuple t = {
			.cli = v4(172, 16, 0, 1), .srv = v4(172, 16, 0, 2),
			.cport = 1234, .sport = 22, .cisn = 1, .sisn = 2,
		};
		tx(&t, CLI, SYN, 0, 0, 0, ts);
	} else {
		cs_engine_tick(&eng, ts);
	}
}

static const struct {
	uint32_t stuck, leave;		/* leave: of them, close before the age */
	uint64_t close_wait;		/* the alert's figure, 0: no alert */
} cw_cases[] = {
	{ 60, 0, 60 },
	{ 40, 0, 0 },
	{ 49, 0, 0 },
	{ 50, 0, 50 },
	{ 70, 25, 0 },
	{ 75, 25, 50 },
};

/* _i: case _i / 2, time advanced by a tick (even) or a packet (odd). */
START_TEST(close_wait_buildup)
{
	uint32_t stuck = cw_cases[_i / 2].stuck, leave = cw_cases[_i / 2].leave;
	uint64_t want = cw_cases[_i / 2].close_wait;
	bool by_packet = _i % 2;
	struct cs_addr server = cw_server();

	engine_start(CW_TABLE, NULL);
	uint64_t ts = cw_stuck(0, stuck, T0);
	/* the server closes some of them 2 s later, before the 5 s age */
	for (uint32_t i = 0; i < leave; i++) {
		struct tuple t = cw_conn(i);
		PLAY(&t, s_server_fin_late, T0 + 2 * SEC + i * 1000);
	}
	/* not yet 5 s for the last one */
	advance(ts + 4 * SEC, by_packet);
	ck_assert_uint_eq(alerts_of(CS_ALERT_CLOSE_WAIT_BUILDUP), 0);
	advance(ts + 5 * SEC + 1000, by_packet);
	unsigned n = alerts_of(CS_ALERT_CLOSE_WAIT_BUILDUP);
	ck_assert_msg(n == (want ? 1u : 0u), "%u stuck, %u left: %u alerts", stuck,
		      leave, n);
	cs_engine_finish(&eng);
	ck_assert_uint_eq(alerts_of(CS_ALERT_CLOSE_WAIT_BUILDUP), n);
	if (!want)
		return;
	const struct cs_alert *al = alert_nth(CS_ALERT_CLOSE_WAIT_BUILDUP, 0);
	check_subject(al, &server, 8080);
	ck_assert(!al->has_peer);
	ck_assert_msg(fig(al, "close_wait") == want, "%u stuck, %u left: "
		      "close_wait %llu, want %llu", stuck, leave,
		      (unsigned long long)fig(al, "close_wait"),
		      (unsigned long long)want);
	ck_assert_uint_eq(fig(al, "age_limit"), 5 * SEC);
	ck_assert_uint_eq(fig(al, "entered"), stuck);
	ck_assert_msg(strstr(al->text, "on 10.0.0.7:8080 sat in CLOSE_WAIT for more "
			     "than 5 s"), "text: %s", al->text);
}
END_TEST

/*
 * A RST ends stuck connections: they stop counting.  55 stuck and aged
 * (alert at 55), 10 reset by the server, 15 more stuck and aged: at most
 * 60 at once, not 70.
 */
START_TEST(close_wait_rst_decrements)
{
	engine_start(CW_TABLE, NULL);
	uint64_t ts = cw_stuck(0, 55, T0);
	advance(ts + 5 * SEC + 1000, true);
	ck_assert_uint_eq(alerts_of(CS_ALERT_CLOSE_WAIT_BUILDUP), 1);
	ck_assert_uint_eq(fig(alert_nth(CS_ALERT_CLOSE_WAIT_BUILDUP, 0),
			      "close_wait"), 55);
	ts = T0 + 6 * SEC;
	for (uint32_t i = 0; i < 10; i++, ts += 1000) {
		struct tuple t = cw_conn(i);
		PLAY(&t, s_server_rst_in_close_wait, ts);
	}
	ts = cw_stuck(100, 15, ts);
	advance(ts + 5 * SEC + 1000, false);
	cs_engine_finish(&eng);
	ck_assert_uint_eq(alerts_of(CS_ALERT_CLOSE_WAIT_BUILDUP), 1);
	const struct cs_alert *al = alert_nth(CS_ALERT_CLOSE_WAIT_BUILDUP, 0);
	ck_assert_msg(fig(al, "close_wait") == 60, "close_wait %llu, want 60",
		      (unsigned long long)fig(al, "close_wait"));
	ck_assert_uint_eq(fig(al, "entered"), 70);
}
END_TEST

/* detect.h: the detectors write nothing of a record but their marks, and
 * the marks follow an endpoint into CLOSE_WAIT, past the age, out of it,
 * and into TIME_WAIT. */
START_TEST(detectors_write_only_their_marks)
{
	engine_start(GUARD_TABLE, NULL);
	guard = true;
	struct tuple t = cw_conn(0);
	uint64_t ts = PLAY(&t, s_client_fin_only, PLAY(&t, s_open, T0));
	const struct cs_conn *c = &eng.flows.conns[1];
	const struct cs_detect_marks *cli = &c->detect[c->orig];
	const struct cs_detect_marks *srv = &c->detect[!c->orig];
	ck_assert(srv->close_wait && !srv->close_wait_old && !srv->time_wait);
	ck_assert(!cli->close_wait && !cli->time_wait);
	ck_assert_uint_eq(eng.detect.close_wait_now, 1);

	advance(ts + 5 * SEC + 1000, true);
	ck_assert(srv->close_wait && srv->close_wait_old);

	PLAY(&t, s_server_fin_late, ts + 6 * SEC);
	ck_assert(!srv->close_wait && !srv->close_wait_old && !srv->time_wait);
	ck_assert(cli->time_wait && !cli->close_wait);
	ck_assert_uint_eq(eng.detect.close_wait_now, 0);
	ck_assert_uint_eq(eng.detect.time_wait_now, 1);
	guard = false;
	cs_engine_finish(&eng);
}
END_TEST

/* ---- the words of the sentences ------------------------------------------------------ */

/* Every alert names its moments the same way: UTC, to the second. */
START_TEST(time_of_day_in_utc)
{
	char buf[16], tiny[4];

	ck_assert_str_eq(cs_time_of_day_format(T0, buf, sizeof buf), "22:13:20");
	ck_assert_str_eq(cs_time_of_day_format(T0 + 3 * SEC + 999999, buf,
					       sizeof buf), "22:13:23");
	ck_assert_str_eq(cs_time_of_day_format(0, buf, sizeof buf), "00:00:00");
	ck_assert_str_eq(cs_time_of_day_format(T0, tiny, sizeof tiny), "?");
}
END_TEST

/* ---- port_reuse --------------------------------------------------------------------- */

static struct tuple reuse_conn(uint16_t cport, uint32_t gen)
{
	struct tuple t = {
		.cli = v4(10, 0, 0, 1), .srv = v4(10, 0, 0, 2),
		.cport = cport, .sport = 80,
		.cisn = 1000 + gen * 1000000u, .sisn = 5000 + gen * 3000000u,
	};
	return t;
}

/* How the server answers the reusing SYN. */
enum reuse_answer {
	REUSE_AT_ONCE,		/* SYN-ACK to the first SYN: healthy */
	REUSE_OLD_ACK,		/* the old connection's ACK, the client's RST,
				 * the SYN again 1 s later, then SYN-ACK */
	REUSE_RESENT,		/* no answer, the SYN again 1 s later, SYN-ACK */
	REUSE_REFUSED,		/* RST+ACK to the SYN: the connect failed */
};

static const struct {
	const char *name;
	bool server_first;
	uint64_t after_us;		/* the new SYN, after the close */
	bool tick_between;		/* packet time passes 2*MSL before it */
	enum reuse_answer answer;
	uint64_t on_client, on_server;	/* 0, 0: no alert */
	uint64_t old_ack, resent, failed;
} reuse_cases[] = {
	{ "client in TIME_WAIT, 10 s, old ACK", false, 10 * SEC, false, REUSE_OLD_ACK, 1, 0, 1, 0, 0 },
	{ "server in TIME_WAIT, 10 s, old ACK", true, 10 * SEC, false, REUSE_OLD_ACK, 0, 1, 1, 0, 0 },
	{ "client in TIME_WAIT, 59 s, old ACK", false, 59 * SEC, false, REUSE_OLD_ACK, 1, 0, 1, 0, 0 },
	{ "server in TIME_WAIT, 10 s, SYN resent", true, 10 * SEC, false, REUSE_RESENT, 0, 1, 0, 1, 0 },
	{ "server in TIME_WAIT, 10 s, refused", true, 10 * SEC, false, REUSE_REFUSED, 0, 1, 0, 0, 1 },
	/* taken at once: Linux reuses a TIME_WAIT by design; counted only */
	{ "client in TIME_WAIT, 10 s, at once", false, 10 * SEC, false, REUSE_AT_ONCE, 0, 0, 0, 0, 0 },
	{ "server in TIME_WAIT, 10 s, at once", true, 10 * SEC, false, REUSE_AT_ONCE, 0, 0, 0, 0, 0 },
	/* 2*MSL is over: nothing is in TIME_WAIT any more, whether or not
	 * packet time moved on in between (the SYN is the next packet) */
	{ "client, 100 s later", false, 100 * SEC, false, REUSE_OLD_ACK, 0, 0, 0, 0, 0 },
	{ "server, 100 s later", true, 100 * SEC, false, REUSE_OLD_ACK, 0, 0, 0, 0, 0 },
	{ "client, 100 s later, ticks between", false, 100 * SEC, true, REUSE_OLD_ACK, 0, 0, 0, 0, 0 },
	{ "server, 100 s later, ticks between", true, 100 * SEC, true, REUSE_OLD_ACK, 0, 0, 0, 0, 0 },
};

/*
 * The new connection t (generation 1) on the 4-tuple of old (generation
 * 0, closed: each side sent seq 1 for its FIN, so each acknowledged the
 * other's up to ISN + 2).  The old connection's ACK carries old.sisn + 2
 * and acknowledges old.cisn + 2; the client, in SYN-SENT, answers it with
 * a bare RST whose seq is that acknowledgment (RFC 9293 3.10.7.3).  Built
 * with raw numbers: tx() adds the new ISNs, so the offsets are the
 * differences.  Returns the time after the last packet.
 */
static uint64_t reuse_answer(const struct tuple *t, const struct tuple *old,
			     enum reuse_answer a, uint64_t ts)
{
	tx(t, CLI, SYN, 0, 0, 0, ts);
	switch (a) {
	case REUSE_AT_ONCE:
		return play(t, s_open + 1, 2, ts + 20);
	case REUSE_OLD_ACK:
		tx(t, SRV, ACK, old->sisn + 2 - t->sisn, old->cisn + 2 - t->cisn, 0,
		   ts + 20);
		tx(t, CLI, RST, old->cisn + 2 - t->cisn, 0, 0, ts + 40);
		break;
	case REUSE_RESENT:
		break;
	case REUSE_REFUSED:
		tx(t, SRV, RSTACK, 0, 1, 0, ts + 20);
		return ts + 20;
	default:
		break;
	}
	tx(t, CLI, SYN, 0, 0, 0, ts + SEC);
	return play(t, s_open + 1, 2, ts + SEC + 20);
}

START_TEST(port_reuse_alert)
{
	struct tuple old = reuse_conn(40000, 0), t = reuse_conn(40000, 1);
	struct cs_addr cli = old.cli, srv = old.srv;
	const char *name = reuse_cases[_i].name;

	engine_start(64, NULL);
	uint64_t ts = PLAY(&old, s_open, T0);
	ts = reuse_cases[_i].server_first ? PLAY(&old, s_close_server_first, ts)
					  : PLAY(&old, s_close_client_first, ts);
	if (reuse_cases[_i].tick_between)
		cs_engine_tick(&eng, ts + 61 * SEC);
	ts = reuse_answer(&t, &old, reuse_cases[_i].answer,
			  ts + reuse_cases[_i].after_us);
	/* the refused one leaves the table 5 s after its RST: judged then */
	cs_engine_tick(&eng, ts + 6 * SEC);
	cs_engine_finish(&eng);

	bool in_tw = reuse_cases[_i].after_us < 60 * SEC;
	bool want = reuse_cases[_i].on_client || reuse_cases[_i].on_server;
	unsigned n = alerts_of(CS_ALERT_PORT_REUSE);
	ck_assert_msg(n == want, "%s: %u port_reuse alerts, want %u", name, n, want);
	ck_assert_msg(eng.detect.reuse_time_wait == in_tw &&
		      eng.detect.reuse_clean == (in_tw && !want) &&
		      eng.detect.reuse_stalled == want,
		      "%s: reuses in TIME_WAIT %llu, clean %llu, stalled %llu", name,
		      (unsigned long long)eng.detect.reuse_time_wait,
		      (unsigned long long)eng.detect.reuse_clean,
		      (unsigned long long)eng.detect.reuse_stalled);
	if (!want)
		return;
	ck_assert_uint_eq(eng.conns.port_reuse, 1);
	const struct cs_alert *al = alert_nth(CS_ALERT_PORT_REUSE, 0);
	check_subject(al, &cli, 0);
	ck_assert(al->has_peer && addr_eq(&al->peer, &srv) && al->peer_port == 80);
	ck_assert_uint_eq(fig(al, "count"), 1);
	ck_assert_msg(fig(al, "on_client") == reuse_cases[_i].on_client &&
		      fig(al, "on_server") == reuse_cases[_i].on_server,
		      "%s: on_client %llu on_server %llu", name,
		      (unsigned long long)fig(al, "on_client"),
		      (unsigned long long)fig(al, "on_server"));
	ck_assert_uint_eq(fig(al, "example_port"), 40000);
	ck_assert_msg(fig(al, "old_ack") == reuse_cases[_i].old_ack &&
		      fig(al, "syn_resent") == reuse_cases[_i].resent &&
		      fig(al, "failed") == reuse_cases[_i].failed,
		      "%s: old_ack %llu syn_resent %llu failed %llu", name,
		      (unsigned long long)fig(al, "old_ack"),
		      (unsigned long long)fig(al, "syn_resent"),
		      (unsigned long long)fig(al, "failed"));
}
END_TEST

/* Two stalled reuses toward one server:port are one alert counting both;
 * a third taken at once is counted apart and not in the alert. */
START_TEST(port_reuse_two_to_one_server)
{
	uint64_t ts = T0;

	engine_start(64, NULL);
	for (uint16_t p = 40000; p < 40003; p++) {
		struct tuple t = reuse_conn(p, 0);
		ts = PLAY(&t, s_close_client_first, PLAY(&t, s_open, ts));
	}
	ts += 5 * SEC;
	for (uint16_t p = 40000; p < 40003; p++) {
		struct tuple old = reuse_conn(p, 0), t = reuse_conn(p, 1);
		ts = reuse_answer(&t, &old, p < 40002 ? REUSE_OLD_ACK : REUSE_AT_ONCE, ts);
	}
	cs_engine_finish(&eng);
	ck_assert_uint_eq(alerts_of(CS_ALERT_PORT_REUSE), 1);
	const struct cs_alert *al = alert_nth(CS_ALERT_PORT_REUSE, 0);
	ck_assert_uint_eq(fig(al, "count"), 2);
	ck_assert_uint_eq(fig(al, "on_client"), 2);
	ck_assert_uint_eq(fig(al, "on_server"), 0);
	ck_assert_uint_eq(eng.detect.reuse_time_wait, 3);
	ck_assert_uint_eq(eng.detect.reuse_clean, 1);
	ck_assert_msg(strstr(al->text, "2 new connections from 10.0.0.1 to "
			     "10.0.0.2:80 reused a 4-tuple still in TIME_WAIT on "
			     "the client and stalled (e.g. client port 40000): the "
			     "old connection answered the SYN with its ACK"),
		      "text: %s", al->text);
}
END_TEST

/* ---- verdicts ------------------------------------------------------------------------ */

static const struct {
	bool ipv4;
	uint8_t type, code;
	const char *meaning, *err;
} icmp_cases[] = {
	{ true, 3, 0, "network unreachable", "ENETUNREACH" },
	{ true, 3, 1, "host unreachable", "EHOSTUNREACH" },
	{ true, 3, 3, "port unreachable", "ECONNREFUSED" },
	{ true, 3, 4, "fragmentation needed", "EMSGSIZE" },
	{ true, 3, 13, "communication administratively prohibited", "EHOSTUNREACH" },
	{ true, 11, 0, "ICMP error", "EHOSTUNREACH" },		/* time exceeded */
	{ false, 1, 0, "no route to destination", "ENETUNREACH" },
	{ false, 1, 1, "communication administratively prohibited", "EACCES" },
	{ false, 1, 3, "address unreachable", "EHOSTUNREACH" },
	{ false, 1, 4, "port unreachable", "ECONNREFUSED" },
	{ false, 3, 3, "ICMP error", "EHOSTUNREACH" },		/* not ICMP's 3/3 */
};

START_TEST(icmp_meaning)
{
	const char *meaning, *err;

	cs_icmp_meaning(icmp_cases[_i].ipv4, icmp_cases[_i].type,
			icmp_cases[_i].code, &meaning, &err);
	ck_assert_msg(strcmp(meaning, icmp_cases[_i].meaning) == 0 &&
		      strcmp(err, icmp_cases[_i].err) == 0,
		      "ICMP%s %u/%u: \"%s\" %s, want \"%s\" %s",
		      icmp_cases[_i].ipv4 ? "" : "v6", icmp_cases[_i].type,
		      icmp_cases[_i].code, meaning, err, icmp_cases[_i].meaning,
		      icmp_cases[_i].err);
}
END_TEST

/*
 * verdict.h: "the errno a Linux connect() reports" — net/ipv4/icmp.c's
 * icmp_err_convert[], indexed by the destination-unreachable code.
 */
START_TEST(icmp_errno_as_linux_for_every_code)
{
	static const char *const linux_errno[16] = {
		"ENETUNREACH", "EHOSTUNREACH", "ENOPROTOOPT", "ECONNREFUSED",
		"EMSGSIZE", "EOPNOTSUPP", "ENETUNREACH", "EHOSTDOWN",
		"ENONET", "ENETUNREACH", "EHOSTUNREACH", "ENETUNREACH",
		"EHOSTUNREACH", "EHOSTUNREACH", "EHOSTUNREACH", "EHOSTUNREACH",
	};
	const char *meaning, *err;

	cs_icmp_meaning(true, 3, (uint8_t)_i, &meaning, &err);
	ck_assert_msg(strcmp(err, linux_errno[_i]) == 0,
		      "ICMP 3/%d (%s): %s, Linux says %s", _i, meaning, err,
		      linux_errno[_i]);
}
END_TEST

/* Every line cs_verdicts_print writes, for max lines. */
static char *print_verdicts(int max, int *shown)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	ck_assert_ptr_nonnull(f);
	*shown = cs_verdicts_print(&eng.verdicts, &eng.detect.alerts, &eng.host, f, max, false);
	fclose(f);
	return buf;
}

static char *out_buf;

static void out_free(void)
{
	free(out_buf);
	out_buf = NULL;
}

/*
 * Failures to four targets and a SYN flood (answered with SYN-ACKs) to a
 * fifth: one line per target and outcome, most connections first, the
 * flood's half-open connections in one line of their own.
 */
static void verdict_scenario(void)
{
	uint64_t ts = T0;
	uint32_t k = 0;

	engine_start(4096, NULL);
	for (uint32_t i = 0; i < 3; i++, ts += 1000) {	/* refused */
		struct tuple t = { .cli = v4(10, 0, 9, 1), .srv = v4(10, 0, 0, 2),
				   .cport = (uint16_t)(41000 + i), .sport = 81,
				   .cisn = 100 + i, .sisn = 0 };
		tx(&t, CLI, SYN, 0, 0, 0, ts);
		tx(&t, SRV, RSTACK, 0, 1, 0, ts + 100);
	}
	for (uint32_t i = 0; i < 5; i++, ts += 1000) {	/* half-open */
		struct tuple t = { .cli = v4(10, 0, 9, 1), .srv = v4(10, 0, 0, 3),
				   .cport = (uint16_t)(42000 + i), .sport = 8080,
				   .cisn = 200 + i, .sisn = 9000 + i };
		tx(&t, CLI, SYN, 0, 0, 0, ts);
		tx(&t, SRV, SYNACK, 0, 1, 0, ts + 100);
	}
	for (uint32_t i = 0; i < 2; i++, ts += 1000) {	/* timed out */
		struct tuple t = { .cli = v4(10, 0, 9, 1), .srv = v4(10, 0, 0, 4),
				   .cport = (uint16_t)(43000 + i), .sport = 443,
				   .cisn = 300 + i, .sisn = 0 };
		tx(&t, CLI, SYN, 0, 0, 0, ts);
		tx(&t, CLI, SYN, 0, 0, 0, ts + 500);
	}
	{						/* aborted by the server */
		struct tuple t = { .cli = v4(10, 0, 9, 1), .srv = v4(10, 0, 0, 5),
				   .cport = 44000, .sport = 22,
				   .cisn = 400, .sisn = 7000 };
		ts = PLAY(&t, s_open, ts);
		tx(&t, SRV, RSTACK, 1, 1, 0, ts);
	}
	/* a flood: 1,000 SYNs in one second, each answered */
	for (; k < 1000; k++)
		flood_syn(k, v4(10, 0, 0, 9), 80, ANS_SYNACK,
			  T0 + SEC + (uint64_t)k * 1000);
	/* another, on a server whose backlog is full: none answered */
	for (; k < 2000; k++)
		flood_syn(k, v4(10, 0, 0, 10), 80, ANS_NONE,
			  T0 + SEC + (uint64_t)(k - 1000) * 1000 + 500);
	/* packet time moves past the SYN timeout: those SYNs timed out */
	struct tuple late = { .cli = v4(10, 0, 9, 2), .srv = v4(10, 0, 0, 6),
			      .cport = 45000, .sport = 80, .cisn = 500, .sisn = 0 };
	tx(&late, CLI, SYN, 0, 0, 0, T0 + 6 * SEC);
	cs_engine_finish(&eng);
	ck_assert_uint_eq(alerts_of(CS_ALERT_SYN_FLOOD), 2);
}

/* The flood's own lines come first and are not counted as shown groups. */
#define FLOOD_LINES \
	"  1,000 half-open or reset connections to flooded targets are " \
	"the flood's SYNs (see the syn_flood alert)\n" \
	"  1,000 connection attempts to flooded targets got no answer: " \
	"the flood's own, and real clients' connects dropped with them " \
	"once the server's SYN backlog was full (ETIMEDOUT; see the " \
	"syn_flood alert)\n"
#define TOP_TWO_GROUPS \
	"  5 handshakes with 10.0.0.3:8080 never completed: the SYN-ACK " \
	"got no ACK (scanners, spoofed SYNs, or ACKs lost)\n" \
	"  3 connections refused by 10.0.0.2:81: nothing listens there " \
	"(ECONNREFUSED)\n"

/* _i: the verdicts printed with room for all, and cut at two. */
static const struct {
	int max, shown;
	const char *want;
} verdict_cases[] = {
	{ 10, 4, FLOOD_LINES TOP_TWO_GROUPS
	  "  2 connects to 10.0.0.4:443 timed out after 2 SYNs with no answer "
	  "at all: check routing or a firewall dropping SYNs (ETIMEDOUT)\n"
	  "  1 connection to 10.0.0.5:22 reset by the server: connection "
	  "reset by peer (ECONNRESET on the other side)\n" },
	{ 2, 2, FLOOD_LINES TOP_TWO_GROUPS
	  "  ... and 2 more groups of failed connections (the JSON report "
	  "lists every connection)\n" },
};

START_TEST(verdicts_grouped_folded_and_cut)
{
	int shown;

	verdict_scenario();
	out_buf = print_verdicts(verdict_cases[_i].max, &shown);
	ck_assert_msg(strcmp(out_buf, verdict_cases[_i].want) == 0,
		      "printed:\n%s\nwant:\n%s", out_buf, verdict_cases[_i].want);
	ck_assert_int_eq(shown, verdict_cases[_i].shown);
	ck_assert_uint_eq(eng.verdicts.failed, 1000 + 1000 + 5 + 3 + 2 + 1);
}
END_TEST

/* ---- refusals ------------------------------------------------------------------------- */

static void *no_memory(size_t n, size_t size)
{
	(void)n;
	(void)size;
	return NULL;
}

/* A SYN through the engine's own branch for decoded TCP (cs_engine_decoded). */
static void engine_syn(uint32_t k, uint64_t ts)
{
	struct tuple t = spoofed(k, v4(10, 0, 0, 80), 80);
	struct cs_decoded d = {
		.ts_us = ts, .wirelen = 54, .why = CS_SKIP_NONE,
		.pkt = { .kind = CS_PKT_TCP, .ts_us = ts, .ip_ver = 4, .ttl = 64,
			 .src = t.cli, .dst = t.srv, .sport = t.cport,
			 .dport = t.sport, .seq = t.cisn, .flags = SYN,
			 .win = 64240, .tcp_hlen = 20, .ip_len = 40, .wirelen = 54 },
	};
	cs_flow_where(&eng.flows, &d.pkt, &d.where);
	cs_engine_decoded(&eng, &d);
}

static char *report_of(bool json)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	static const char *const names[] = { "mem.pcap" };
	struct cs_report_source src = { .names = names, .name_cnt = 1,
					.snaplen = 262144 };

	ck_assert_ptr_nonnull(f);
	if (json) {
		struct cs_json_report r;
		cs_report_json_begin(&r, f);
		cs_report_json_end(&r, &src, &eng);
	} else {
		cs_report_text(f, &src, &eng, false);
	}
	fclose(f);
	return buf;
}

/*
 * The index cannot grow: past three quarters of its 1,024 slots, new
 * connections are refused, the packets still counted as read and analysed
 * (the SYN-flood detector saw them), and the refusals reach both reports
 * by reason.
 */
START_TEST(refused_connections_reach_the_reports)
{
	engine_start(4096, NULL);
	eng.flows.index_alloc = no_memory;
	const uint32_t most = cs_flow_index_fill_max(eng.flows.slot_mask + 1);
	for (uint32_t k = 0; k < most + 88; k++)
		engine_syn(k, T0 + k);
	ck_assert_uint_eq(eng.flows.count, most);
	ck_assert_uint_eq(eng.flows.untracked[CS_UNTRACKED_NO_MEMORY], 88);
	ck_assert_uint_eq(eng.stats.analysed, most + 88);
	ck_assert(cs_stats_balanced(&eng.stats));
	cs_engine_finish(&eng);

	out_buf = report_of(false);
	ck_assert_msg(strstr(out_buf, "\n  88 packets opened no record: "
				      "no_memory 88\n"), "text report:\n%s", out_buf);
	free(out_buf);
	out_buf = report_of(true);
	ck_assert_msg(strstr(out_buf, "\"capture_drops\":null,\n    \"untracked\":{\"no_memory\":88,\"evicted\":0},\n"),
		      "JSON report:\n%s", out_buf);
}
END_TEST

/* ---- port scans ---------------------------------------------------------------------- */

static struct cs_addr scanner(void) { return v4(10, 0, 66, 6); }

/*
 * Probe i of a scan: a SYN from the scanner's one source port (as hping3
 * and nmap send them) to dst:dport, answered as `how` says 1 ms later:
 * 'o' SYN-ACK (then the scanner's kernel resets it), 'r' RST+ACK,
 * 's' nothing.
 */
static void scan_probe(struct cs_addr dst, uint16_t dport, char how,
		       uint32_t i, uint64_t ts)
{
	struct tuple t = { .cli = scanner(), .srv = dst, .cport = 40404,
			   .sport = dport, .cisn = 1000 + i * 7, .sisn = 5000 + i };

	tx(&t, CLI, SYN, 0, 0, 0, ts);
	if (how == 'o') {
		tx(&t, SRV, SYNACK, 0, 1, 0, ts + 1000);
		tx(&t, CLI, RST, 1, 0, 0, ts + 1100);
	} else if (how == 'r') {
		tx(&t, SRV, RSTACK, 0, 1, 0, ts + 1000);
	}
}

/* The answer of port (or host) i of 100: 3 open, 57 refused, 40 silent. */
static char scan_answer(uint32_t i)
{
	return i < 3 ? 'o' : i < 60 ? 'r' : 's';
}
#define SCAN_TARGETS 100
#define SCAN_OPEN 3
#define SCAN_REFUSED (60 - 3)
#define SCAN_SILENT (SCAN_TARGETS - 60)

/* Vertical: ports 2000..2099 of one host, 2 ms apart; the 40 silent ports
 * are probed again (100 + 40 SYNs).  One alert with the figures of the
 * construction; the verdict is one line for the scan, none per port. */
START_TEST(port_scan_vertical)
{
	struct cs_addr host = v4(10, 0, 0, 9), src = scanner();
	uint64_t ts = T0;
	int shown;

	engine_start(4096, NULL);
	for (uint32_t i = 0; i < SCAN_TARGETS; i++, ts += 2000)
		scan_probe(host, (uint16_t)(2000 + i), scan_answer(i), i, ts);
	for (uint32_t i = 60; i < SCAN_TARGETS; i++, ts += 2000)
		scan_probe(host, (uint16_t)(2000 + i), 's', i, ts);
	cs_engine_finish(&eng);

	ck_assert_uint_eq(alerts_of(CS_ALERT_PORT_SCAN), 1);
	const struct cs_alert *al = alert_nth(CS_ALERT_PORT_SCAN, 0);
	check_subject(al, &src, 0);
	ck_assert(al->has_peer && addr_eq(&al->peer, &host));
	check_label(al, "kind", "vertical");
	ck_assert_uint_eq(fig(al, "ports_probed"), SCAN_TARGETS);
	ck_assert_uint_eq(fig(al, "syns"), SCAN_TARGETS + SCAN_SILENT);
	ck_assert_uint_eq(fig(al, "open"), SCAN_OPEN);
	ck_assert_uint_eq(fig(al, "refused"), SCAN_REFUSED);
	ck_assert_uint_eq(fig(al, "silent"), SCAN_SILENT);
	ck_assert_uint_eq(al->start_us, T0);
	ck_assert_msg(strstr(al->text, "port scan from 10.0.66.6 of 10.0.0.9: "
			     "100 ports probed with 140 SYNs"), "text: %s", al->text);
	out_buf = print_verdicts(15, &shown);
	ck_assert_msg(strstr(out_buf, "failed connections to 10.0.0.9 are the "
			     "probes of the port scan from 10.0.66.6"), "%s", out_buf);
	ck_assert_msg(!strstr(out_buf, "refused by") && !strstr(out_buf, "more groups"),
		      "verdicts list the scan's ports:\n%s", out_buf);
}
END_TEST

/* Horizontal: port 22 on 100 hosts. */
START_TEST(port_scan_horizontal)
{
	struct cs_addr src = scanner();
	uint64_t ts = T0;

	engine_start(4096, NULL);
	for (uint32_t i = 0; i < SCAN_TARGETS; i++, ts += 2000)
		scan_probe(v4(10, 1, 0, 1 + i), 22, scan_answer(i), i, ts);
	cs_engine_finish(&eng);

	ck_assert_uint_eq(alerts_of(CS_ALERT_PORT_SCAN), 1);
	const struct cs_alert *al = alert_nth(CS_ALERT_PORT_SCAN, 0);
	check_subject(al, &src, 0);
	ck_assert(!al->has_peer);
	check_label(al, "kind", "horizontal");
	ck_assert_uint_eq(fig(al, "hosts_probed"), SCAN_TARGETS);
	ck_assert_uint_eq(fig(al, "port"), 22);
	ck_assert_uint_eq(fig(al, "syns"), SCAN_TARGETS);
	ck_assert_uint_eq(fig(al, "open"), SCAN_OPEN);
	ck_assert_uint_eq(fig(al, "refused"), SCAN_REFUSED);
	ck_assert_uint_eq(fig(al, "silent"), SCAN_SILENT);
}
END_TEST

/*
 * Not scans: one client using 40 services of a host, every connect
 * answered; 14 closed ports probed (Zeek's threshold is 15), then a 15th
 * more than 5 minutes later, which starts a new window.
 */
START_TEST(port_scan_not_for_answered_or_few)
{
	struct cs_addr host = v4(10, 0, 0, 9);
	uint64_t ts = T0;

	engine_start(4096, NULL);
	for (uint32_t i = 0; i < 40; i++, ts += 2000) {
		struct tuple t = { .cli = v4(10, 0, 1, 1), .srv = host,
				   .cport = (uint16_t)(50000 + i),
				   .sport = (uint16_t)(3000 + i), .cisn = i, .sisn = i };
		PLAY(&t, s_close_client_first, PLAY(&t, s_open, ts));
	}
	for (uint32_t i = 0; i < CS_SCAN_VERTICAL_PORTS - 1; i++, ts += 2000)
		scan_probe(host, (uint16_t)(2000 + i), 'r', i, ts);
	ts += (CS_SCAN_WINDOW_SEC + 1) * SEC;
	scan_probe(host, 2999, 'r', 99, ts);
	cs_engine_finish(&eng);
	ck_assert_uint_eq(alerts_of(CS_ALERT_PORT_SCAN), 0);
}
END_TEST

/* Memory: 1,024 pairs per table, of which 7/8 are used; every SYN of a
 * source beyond that is counted.  2,000 sources each send one SYN:
 * 2,000 - 896 = 1,104 untracked in each of the two tables.  The table
 * full, the first SYN of the next second sweeps it; none is idle yet. */
START_TEST(port_scan_tables_bounded)
{
	engine_start(4096, NULL);
	for (uint32_t k = 0; k < 2000; k++) {
		struct tuple t = { .cli = v4(10, 9, k >> 8, k & 255), .srv = v4(10, 0, 0, 9),
				   .cport = 1234, .sport = 80, .cisn = k };
		tx(&t, CLI, SYN, 0, 0, 0, T0 + k);
	}
	ck_assert_uint_eq(eng.detect.scan.untracked_syns,
			  2 * (2000 - CS_SCAN_PAIRS / 8 * 7));
	ck_assert_uint_eq(alerts_of(CS_ALERT_PORT_SCAN), 0);
	/* a window later the idle pairs make room: a scan is seen again
	 * (20 closed ports: 20 vertical pairs' worth of one, 20 horizontal) */
	uint64_t ts = T0 + (CS_SCAN_WINDOW_SEC + 1) * SEC;
	for (uint32_t i = 0; i < 20; i++, ts += 2000)
		scan_probe(v4(10, 0, 0, 9), (uint16_t)(2000 + i), 'r', i, ts);
	cs_engine_finish(&eng);
	ck_assert_uint_eq(eng.detect.scan.untracked_syns,
			  2 * (2000 - CS_SCAN_PAIRS / 8 * 7));
	ck_assert_uint_eq(eng.detect.scan.swept_pairs, 2 * CS_SCAN_PAIRS / 8 * 7);
	ck_assert_uint_eq(alerts_of(CS_ALERT_PORT_SCAN), 1);
	ck_assert_uint_eq(fig(alert_nth(CS_ALERT_PORT_SCAN, 0), "ports_probed"), 20);
}
END_TEST

/* ---- RST backscatter ------------------------------------------------------------------- */

/*
 * Host 10.0.0.77 sends n lone RST+ACKs (and n_bare bare RSTs), each to a
 * new peer ip:port, 10 ms apart: answers to SYNs and ACKs it got from
 * spoofed addresses, none of which the capture saw.
 */
static void backscatter(uint32_t n, uint32_t n_bare, uint32_t peers)
{
	for (uint32_t i = 0; i < n + n_bare; i++) {
		struct tuple t = { .cli = v4(10, 7, 0, 1 + i % peers), .srv = v4(10, 0, 0, 77),
				   .cport = (uint16_t)(1024 + i), .sport = 80,
				   .cisn = 100 * i, .sisn = 0 };
		tx(&t, SRV, i < n ? RSTACK : RST, 0, 1, 0, T0 + i * 10000);
	}
}

static const struct {
	uint32_t rst_acks, bare, peer_hosts;
	bool alert;
} bs_cases[] = {
	{ 30, 5, 35, true },	/* 35 RSTs to 35 ip:ports */
	{ 19, 0, 19, false },	/* one short of 20 */
	{ 20, 0, 1, true },	/* one host, 20 ports: 20 peers */
};

START_TEST(rst_backscatter_alert)
{
	struct cs_addr host = v4(10, 0, 0, 77);
	uint32_t n = bs_cases[_i].rst_acks, bare = bs_cases[_i].bare;

	engine_start(4096, NULL);
	backscatter(n, bare, bs_cases[_i].peer_hosts);
	cs_engine_finish(&eng);
	ck_assert_uint_eq(alerts_of(CS_ALERT_RST_BACKSCATTER), bs_cases[_i].alert);
	if (!bs_cases[_i].alert)
		return;
	const struct cs_alert *al = alert_nth(CS_ALERT_RST_BACKSCATTER, 0);
	check_subject(al, &host, 0);
	ck_assert_uint_eq(fig(al, "rsts"), n + bare);
	ck_assert_uint_eq(fig(al, "rst_acks"), n);
	ck_assert_uint_eq(fig(al, "peers"), n + bare);	/* every port differs */
	ck_assert_uint_eq(al->start_us, T0);
	ck_assert_uint_eq(al->end_us, T0 + (n + bare - 1) * 10000ull);
}
END_TEST

/* 2,000 hosts each send one lone RST: 896 fit the table (7/8 of 1,024),
 * 1,104 are counted; a window later the idle ones make room and a
 * backscatter episode is seen. */
START_TEST(rst_backscatter_table_bounded)
{
	engine_start(8192, NULL);
	for (uint32_t k = 0; k < 2000; k++) {
		struct tuple t = { .cli = v4(10, 7, 0, 1), .srv = v4(10, 8, k >> 8, k & 255),
				   .cport = 1024, .sport = 80, .cisn = k };
		tx(&t, SRV, RSTACK, 0, 1, 0, T0 + k);
	}
	ck_assert_uint_eq(eng.detect.backscatter.untracked,
			  2000 - CS_BACKSCATTER_HOSTS / 8 * 7);
	uint64_t ts = T0 + (CS_BACKSCATTER_WINDOW_SEC + 1) * SEC;
	for (uint32_t i = 0; i < CS_BACKSCATTER_RSTS; i++) {
		struct tuple t = { .cli = v4(10, 7, 2, 1 + i), .srv = v4(10, 0, 0, 77),
				   .cport = 2048, .sport = 80, .cisn = i };
		tx(&t, SRV, RSTACK, 0, 1, 0, ts + i * 1000);
	}
	cs_engine_finish(&eng);
	ck_assert_uint_eq(eng.detect.backscatter.untracked,
			  2000 - CS_BACKSCATTER_HOSTS / 8 * 7);
	ck_assert_uint_eq(alerts_of(CS_ALERT_RST_BACKSCATTER), 1);
	ck_assert_uint_eq(fig(alert_nth(CS_ALERT_RST_BACKSCATTER, 0), "rsts"),
			  CS_BACKSCATTER_RSTS);
}
END_TEST

/* RSTs that end connections the capture saw are not lone: 40 refused
 * connects (SYN, then RST+ACK) from 40 clients raise nothing. */
START_TEST(rst_backscatter_not_for_refusals)
{
	engine_start(4096, NULL);
	for (uint32_t i = 0; i < 40; i++) {
		struct tuple t = { .cli = v4(10, 7, 1, 1 + i), .srv = v4(10, 0, 0, 77),
				   .cport = 5555, .sport = 81, .cisn = i, .sisn = 0 };
		tx(&t, CLI, SYN, 0, 0, 0, T0 + i * 1000);
		tx(&t, SRV, RSTACK, 0, 1, 0, T0 + i * 1000 + 100);
	}
	cs_engine_finish(&eng);
	ck_assert_uint_eq(alerts_of(CS_ALERT_RST_BACKSCATTER), 0);
}
END_TEST

/* ---- numbers that add up ------------------------------------------------------------- */

/*
 * Three connections closed by the client (each leaves the client in
 * TIME_WAIT for 2 x MSL) and two refused ones, then 20 s of ticks: the
 * refused ones end 5 s after their RST (reset linger), so the capture's
 * end finds 3 connections tracked, 6 endpoints: TIME_WAIT 3, CLOSED 3.
 * And 2 half-open connections to a third server: the busiest servers
 * count them as failed, as the verdict and the dashboard do.
 */
START_TEST(text_report_counts_add_up)
{
	uint64_t ts = T0;

	engine_start(4096, NULL);
	for (uint32_t i = 0; i < 3; i++) {
		struct tuple t = { .cli = v4(10, 0, 1, 1), .srv = v4(10, 0, 0, 2),
				   .cport = (uint16_t)(41000 + i), .sport = 80,
				   .cisn = 100 * i, .sisn = 7 * i };
		ts = PLAY(&t, s_close_client_first, PLAY(&t, s_open, ts));
	}
	for (uint32_t i = 0; i < 2; i++, ts += 1000) {
		struct tuple t = { .cli = v4(10, 0, 1, 1), .srv = v4(10, 0, 0, 3),
				   .cport = (uint16_t)(42000 + i), .sport = 81,
				   .cisn = 300 + i };
		tx(&t, CLI, SYN, 0, 0, 0, ts);
		tx(&t, SRV, RSTACK, 0, 1, 0, ts + 100);
	}
	for (uint32_t i = 0; i < 2; i++, ts += 1000) {
		struct tuple t = { .cli = v4(10, 0, 1, 1), .srv = v4(10, 0, 0, 4),
				   .cport = (uint16_t)(43000 + i), .sport = 82,
				   .cisn = 400 + i, .sisn = 9 };
		tx(&t, CLI, SYN, 0, 0, 0, ts);
		tx(&t, SRV, SYNACK, 0, 1, 0, ts + 100);
	}
	for (uint64_t k = 1; k <= 20; k++)
		cs_engine_tick(&eng, ts + k * SEC);
	cs_engine_finish(&eng);

	out_buf = report_of(false);
	/* the half-open ones are tracked at the end too: 3 + 2 */
	ck_assert_msg(strstr(out_buf, "\n  at the end  10 endpoints of the 5 connections "
			     "still tracked: CLOSED 3, SYN_SENT 2, SYN_RECEIVED 2, "
			     "TIME_WAIT 3\n"), "text report:\n%s", out_buf);
	ck_assert_msg(strstr(out_buf, "10.0.0.4:82                                    "
			     "2 connections, 2 failed\n"), "text report:\n%s", out_buf);
	ck_assert_msg(strstr(out_buf, "10.0.0.3:81                                    "
			     "2 connections, 2 failed\n"), "text report:\n%s", out_buf);
}
END_TEST

/* The dashboard's "failed" (web/assets/app.js, FAILED) is the set of
 * outcomes the verdicts count (cs_verdict_failing). */
START_TEST(dashboard_failed_is_the_verdicts_set)
{
	const char *root = getenv("CS_TEST_DATA");
	char path[4096], want[512] = "", *js = NULL;
	size_t len = 0;

	snprintf(path, sizeof path, "%s/web/assets/app.js", root ? root : ".");
	FILE *f = fopen(path, "r");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	ck_assert(getdelim(&js, &len, '\0', f) > 0);
	fclose(f);
	for (int o = 0; o < CS_OUT_MAX; o++) {
		if (!cs_verdict_failing((enum cs_outcome)o))
			continue;
		char item[64];
		snprintf(item, sizeof item, "%s'%s'", *want ? ", " : "", cs_outcome_names[o]);
		strncat(want, item, sizeof want - strlen(want) - 1);
	}
	char line[600];
	snprintf(line, sizeof line, "const FAILED = [%s];", want);
	ck_assert_msg(strstr(js, line), "app.js has no \"%s\"", line);
	free(js);
}
END_TEST

/* Finished timeouts to one target that sent 1 and 3 SYNs (0, +1 s, +3 s):
 * the sentence's SYN count is true of each. */
START_TEST(verdict_syn_counts_exact)
{
	int shown;

	engine_start(64, NULL);
	struct tuple a = { .cli = v4(10, 0, 9, 1), .srv = v4(10, 0, 0, 4),
			   .cport = 46000, .sport = 443, .cisn = 1 };
	struct tuple b = a;
	b.cport = 46001;
	tx(&a, CLI, SYN, 0, 0, 0, T0);
	for (uint64_t at = 0; at <= 3; at += at ? 2 : 1)
		tx(&b, CLI, SYN, 0, 0, 0, T0 + at * SEC);
	cs_engine_tick(&eng, T0 + 10 * SEC);
	cs_engine_finish(&eng);
	out_buf = print_verdicts(10, &shown);
	ck_assert_msg(strstr(out_buf, "2 connects to 10.0.0.4:443 timed out after 1 to 3 "
			     "SYNs each with no answer"), "%s", out_buf);
}
END_TEST

/* ---- the suite ----------------------------------------------------------------------- */

#define N(a) ((int)(sizeof a / sizeof a[0]))

/* ---- table probing ------------------------------------------------------------ */

/*
 * What a lookup of a key not in an open-addressing table costs, averaged
 * over every home slot: the slots up to and including the first free one.
 * With linear probing at load a and a hash that spreads the keys it is
 * (1 + 1/(1-a)^2) / 2 (Knuth): 2.08 at 14,336 of 32,768 slots, 2.5 at
 * half full, but 32.5 at 14,336 of 16,384.
 */
static double miss_probes(uint32_t slots, bool (*used)(const void *, uint32_t),
			  const void *table)
{
	uint32_t first_free = 0;
	uint64_t total = 0;

	while (first_free < slots && used(table, first_free))
		first_free++;
	ck_assert_uint_lt(first_free, slots);
	/* walk backwards so that each slot knows the distance to the next free */
	uint32_t run = 0;
	for (uint32_t n = 0; n < slots; n++) {
		uint32_t i = (first_free + slots - n) % slots;
		run = used(table, i) ? run + 1 : 0;
		total += run + 1;
	}
	return (double)total / slots;
}

static bool group_used(const void *g, uint32_t i)
{
	return cs_groups_at(g, i) != NULL;
}

/* Client i (below 65,536) of many, 10.1.x.y:40000, to 10.9.9.9:80. */
static void client_conn(struct cs_conn *c, uint32_t i)
{
	memset(c, 0, sizeof *c);
	c->key.addr[0] = v4(10, 1, (i >> 8) & 0xff, i & 0xff);
	c->key.addr[1] = v4(10, 9, 9, 9);
	c->key.port[0] = 40000;
	c->key.port[1] = 80;
	c->orig = 0;
	c->id = i + 1;
}

/*
 * The TIME_WAIT and CLOSE_WAIT tables never drop a group (its alert
 * reports its history), so on a busy capture they fill to their limit:
 * 14,336 groups (16,384 slots * 7/8, the limit they always had), and 100
 * more are untracked.  Filled, a lookup that misses must still be short.
 */
START_TEST(state_tables_stay_short_when_full)
{
	enum { LIMIT = 14336, MORE = 100 };
	static struct cs_conn conns[LIMIT + MORE];
	struct cs_flow_table flows = { .conns = conns };
	struct cs_timewait tw;
	struct cs_closewait cw;

	cs_timewait_init(&tw, UINT32_MAX, 60 * SEC, NULL);
	cs_closewait_init(&cw, UINT32_MAX, 60 * SEC, NULL, &flows);
	for (uint32_t i = 0; i < LIMIT + MORE; i++) {
		client_conn(&conns[i], i);
		cs_timewait_enter(&tw, &conns[i], 0, T0);
		cs_closewait_enter(&cw, &conns[i], 0, T0);
	}
	ck_assert_uint_eq(tw.g.used, LIMIT);
	ck_assert_uint_eq(tw.g.untracked, MORE);
	ck_assert_uint_eq(cw.g.used, LIMIT);
	ck_assert_uint_eq(cw.g.untracked, MORE);
	double tw_probes = miss_probes(tw.g.capacity, group_used, &tw.g);
	double cw_probes = miss_probes(cw.g.capacity, group_used, &cw.g);
	ck_assert_msg(tw_probes <= 4.0, "TIME_WAIT table: %.1f probes a miss",
		      tw_probes);
	ck_assert_msg(cw_probes <= 4.0, "CLOSE_WAIT table: %.1f probes a miss",
		      cw_probes);
	cs_timewait_fini(&tw);
	cs_closewait_fini(&cw);
}
END_TEST

static bool server_used(const void *servers, uint32_t i)
{
	return ((const struct cs_server_count *)servers)[i].used;
}

/*
 * Servers on neighbouring addresses (10.0.x.y:80, as a data centre's
 * are) half fill the connection-stats server table: a well spread hash
 * misses in 2.5 probes.
 */
START_TEST(server_table_spreads_neighbouring_addresses)
{
	enum { SERVERS = CS_SERVER_SLOTS / 2 };
	struct cs_connstats st;
	struct cs_conn c;

	cs_connstats_init(&st);
	for (uint32_t i = 0; i < SERVERS; i++) {
		client_conn(&c, i);
		c.key.addr[1] = v4(10, 0, (i >> 8) & 0xff, i & 0xff);
		cs_connstats_add(&st, &c, CS_OUT_COMPLETED, CS_CS_SF, false);
	}
	ck_assert_uint_eq(st.server_cnt, SERVERS);
	double probes = miss_probes(CS_SERVER_SLOTS, server_used, st.servers);
	ck_assert_msg(probes <= 4.0, "server table: %.1f probes a miss", probes);
	cs_connstats_fini(&st);
}
END_TEST

Suite *detect_suite(void)
{
	Suite *s = suite_create("detect");
	TCase *tc;

	tc = tcase_create("tables");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, state_tables_stay_short_when_full);
	tcase_add_test(tc, server_table_spreads_neighbouring_addresses);
	suite_add_tcase(s, tc);

	tc = tcase_create("distinct");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, distinct_exact_below_16);
	tcase_add_loop_test(tc, distinct_estimate_within_2pct, 0, N(hll_sizes));
	tcase_add_loop_test(tc, distinct_exact_below_a_few_thousand, 0, N(exact_sizes));
	tcase_add_test(tc, distinct_never_more_than_added);
	tcase_add_test(tc, distinct_without_dense_counts_spill);
	tcase_add_test(tc, distinct_pool_budget);
	suite_add_tcase(s, tc);

	tc = tcase_create("syn_flood");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, syn_flood_alert_figures, 0, 3);
	tcase_add_loop_test(tc, syn_flood_spares_established_connections, 0, 3);
	tcase_add_test(tc, syn_flood_not_for_busy_server);
	tcase_add_loop_test(tc, syn_flood_rate_threshold, 0, N(rate_cases));
	tcase_add_loop_test(tc, syn_flood_bursts, 0, N(burst_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("time_wait");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, time_wait_buildup, 0, N(tw_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("close_wait");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, close_wait_buildup, 0, 2 * N(cw_cases));
	tcase_add_test(tc, close_wait_rst_decrements);
	tcase_add_test(tc, detectors_write_only_their_marks);
	suite_add_tcase(s, tc);

	tc = tcase_create("sentences");
	tcase_add_test(tc, time_of_day_in_utc);
	suite_add_tcase(s, tc);

	tc = tcase_create("port_reuse");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, port_reuse_alert, 0, N(reuse_cases));
	tcase_add_test(tc, port_reuse_two_to_one_server);
	suite_add_tcase(s, tc);

	tc = tcase_create("port_scan");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_checked_fixture(tc, NULL, out_free);
	tcase_add_test(tc, port_scan_vertical);
	tcase_add_test(tc, port_scan_horizontal);
	tcase_add_test(tc, port_scan_not_for_answered_or_few);
	tcase_add_test(tc, port_scan_tables_bounded);
	tcase_add_loop_test(tc, rst_backscatter_alert, 0, N(bs_cases));
	tcase_add_test(tc, rst_backscatter_not_for_refusals);
	tcase_add_test(tc, rst_backscatter_table_bounded);
	suite_add_tcase(s, tc);

	tc = tcase_create("counts");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_checked_fixture(tc, NULL, out_free);
	tcase_add_test(tc, text_report_counts_add_up);
	tcase_add_test(tc, dashboard_failed_is_the_verdicts_set);
	tcase_add_test(tc, verdict_syn_counts_exact);
	suite_add_tcase(s, tc);

	tc = tcase_create("verdicts");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_checked_fixture(tc, NULL, out_free);
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, icmp_meaning, 0, N(icmp_cases));
	tcase_add_loop_test(tc, icmp_errno_as_linux_for_every_code, 0, 16);
	tcase_add_loop_test(tc, verdicts_grouped_folded_and_cut, 0, N(verdict_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("refusals");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_checked_fixture(tc, NULL, out_free);
	tcase_add_test(tc, refused_connections_reach_the_reports);
	suite_add_tcase(s, tc);
	return s;
}
