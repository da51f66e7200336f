/*
 * tally.c — the open connections' gauges, kept as records change.
 */
#include "analyzer/views/tally.h"

#include <string.h>

#include "analyzer/tracking/diagnose.h"
#include "analyzer/tracking/zeek.h"
#include "capture/assert.h"
#include "capture/pkttime.h"

/* The marks and the young list's links fill holes in the record: it must
 * not grow for them (712 bytes a connection, a million connections by
 * default). */
_Static_assert(sizeof(struct cs_conn) <= 712, "struct cs_conn grew");
/* Each figure fits its four bits (outcome + 1: 0 is "not counted"). */
_Static_assert(CS_OUT_MAX < 16 && CS_CS_MAX <= 16 && CS_TCP_STATE_MAX <= 16,
	       "a counted figure has outgrown its four bits");
_Static_assert(CS_VERDICT_SYNS_EXACT < 16, "SYNs in a share have four bits");

/* struct cs_tally_marks.share: a failing connection's verdict share. */
#define SHARE_ORIG	0x01u	/* key index of the originator */
#define SHARE_GROUPED	0x02u	/* its group had room: take it away there */
#define SHARE_RST_ORIG	0x04u
#define SHARE_RST_RESP	0x08u
#define SHARE_SYNS_SHIFT 4

static cs_conn_ref ref_of(const struct cs_tally *t, const struct cs_conn *c)
{
	return (cs_conn_ref)(c - t->flows->conns);
}

static enum cs_outcome marked_outcome(struct cs_tally_marks m)
{
	return (enum cs_outcome)((m.outcome_cs & 15u) - 1);
}

static uint8_t share_pack(const struct cs_verdict_share *s)
{
	return (uint8_t)((s->orig ? SHARE_ORIG : 0) |
			 (s->rst_by_orig ? SHARE_RST_ORIG : 0) |
			 (s->rst_by_resp ? SHARE_RST_RESP : 0) |
			 (unsigned)s->syns << SHARE_SYNS_SHIFT);
}

static void share_unpack(struct cs_tally_marks m, struct cs_verdict_share *s)
{
	s->outcome = (uint8_t)marked_outcome(m);
	s->orig = (m.share & SHARE_ORIG) != 0;
	s->rst_by_orig = (m.share & SHARE_RST_ORIG) != 0;
	s->rst_by_resp = (m.share & SHARE_RST_RESP) != 0;
	s->syns = (uint8_t)(m.share >> SHARE_SYNS_SHIFT);
}

/* What c counts as at now_us (the share without SHARE_GROUPED). */
static struct cs_tally_marks marks_of(const struct cs_tally *t,
				      const struct cs_conn *c, uint64_t now_us)
{
	enum cs_outcome o = cs_diagnose_outcome(c, now_us, t->syn_timeout_us);
	struct cs_tally_marks m = {
		.outcome_cs = (uint8_t)((o + 1) | cs_zeek_conn_state(c) << 4),
		.states = (uint8_t)(cs_diagnose_orig_state(c, o) | c->ep[1].state << 4),
	};

	if (cs_verdict_failing(o)) {
		struct cs_verdict_share s;
		cs_verdict_share_of(c, o, &s);
		m.share = share_pack(&s);
	}
	return m;
}

/*
 * Nothing counted has changed.  A share whose SYNs are past exact
 * (CS_VERDICT_SYNS_EXACT) may hide more SYNs: it is given again, for its
 * group to see the new most.
 */
static bool same(struct cs_tally_marks was, struct cs_tally_marks now)
{
	return was.outcome_cs == now.outcome_cs && was.states == now.states &&
	       (was.share & ~SHARE_GROUPED) == now.share &&
	       now.share >> SHARE_SYNS_SHIFT != CS_VERDICT_SYNS_EXACT;
}

/* Adds (one) or takes away (UINT64_MAX: minus one) a record's gauges. */
static void gauges(struct cs_tally *t, struct cs_tally_marks m, uint64_t one)
{
	t->outcomes[marked_outcome(m)] += one;
	t->conn_states[m.outcome_cs >> 4] += one;
	t->states[0][m.states & 15u] += one;
	t->states[1][m.states >> 4] += one;
}

/* Counts c as marks m say, noting in m whether its verdict group had room. */
static void give(struct cs_tally *t, const struct cs_conn *c,
		 struct cs_tally_marks *m)
{
	gauges(t, *m, 1);
	if (!cs_verdict_failing(marked_outcome(*m)))
		return;
	struct cs_verdict_share s;
	share_unpack(*m, &s);
	if (cs_open_verdicts_add(&t->verdicts, c, &s))
		m->share |= SHARE_GROUPED;
}

static void take(struct cs_tally *t, const struct cs_conn *c,
		 struct cs_tally_marks m)
{
	CS_ASSERT(t->outcomes[marked_outcome(m)] > 0);	/* it was given */
	gauges(t, m, UINT64_MAX);
	if (!cs_verdict_failing(marked_outcome(m)))
		return;
	struct cs_verdict_share s;
	share_unpack(m, &s);
	cs_open_verdicts_remove(&t->verdicts, &c->key, &s, m.share & SHARE_GROUPED);
}

/* ---- the young: records whose SYN timeout is still ahead ---------------- */

/* When c's attempt, if it is one, becomes a timeout by the clock. */
static uint64_t young_until(const struct cs_tally *t, const struct cs_conn *c)
{
	return cs_time_add(c->first_ts_us, t->syn_timeout_us);
}

static bool is_young(const struct cs_tally *t, const struct cs_conn *c)
{
	return c->young_prev || c->young_next || t->young_head == ref_of(t, c);
}

/* Records are counted first in the order they are created, which is the
 * order of their first packets: appending keeps the list in order. */
static void young_append(struct cs_tally *t, struct cs_conn *c)
{
	cs_conn_ref ref = ref_of(t, c), tail = t->young_tail;

	CS_ASSERT(!tail || t->flows->conns[tail].first_ts_us <= c->first_ts_us);
	c->young_prev = tail;
	c->young_next = 0;
	if (tail) {
		t->flows->conns[tail].young_next = ref;
	} else {
		t->young_head = ref;
		t->young_due_us = young_until(t, c);
	}
	t->young_tail = ref;
}

static void young_unlink(struct cs_tally *t, struct cs_conn *c)
{
	struct cs_conn *cs = t->flows->conns;
	cs_conn_ref prev = c->young_prev, next = c->young_next;

	if (prev)
		cs[prev].young_next = next;
	else {
		t->young_head = next;
		t->young_due_us = next ? young_until(t, &cs[next]) : UINT64_MAX;
	}
	if (next)
		cs[next].young_prev = prev;
	else
		t->young_tail = prev;
	c->young_prev = c->young_next = 0;
}

/* ---- the tally ------------------------------------------------------------ */

void cs_tally_init(struct cs_tally *t, struct cs_flow_table *flows,
		   uint64_t syn_timeout_us)
{
	memset(t, 0, sizeof *t);
	t->flows = flows;
	t->syn_timeout_us = syn_timeout_us;
	t->young_due_us = UINT64_MAX;
	cs_open_verdicts_init(&t->verdicts);
}

void cs_tally_fini(struct cs_tally *t)
{
	cs_open_verdicts_fini(&t->verdicts);
}

void cs_tally_update(struct cs_tally *t, struct cs_conn *c, uint64_t now_us)
{
	struct cs_tally_marks now = marks_of(t, c, now_us);

	if (!c->tally.outcome_cs) {		/* a new record */
		t->open++;
		t->port_reuse += c->port_reuse;	/* set once, at its creation */
		if (now_us < young_until(t, c))
			young_append(t, c);
	} else if (same(c->tally, now)) {
		return;
	} else {
		take(t, c, c->tally);
	}
	give(t, c, &now);
	c->tally = now;
}

void cs_tally_remove(struct cs_tally *t, struct cs_conn *c)
{
	if (!c->tally.outcome_cs)
		return;
	take(t, c, c->tally);
	t->open--;
	t->port_reuse -= c->port_reuse;
	if (is_young(t, c))
		young_unlink(t, c);
	memset(&c->tally, 0, sizeof c->tally);
}

unsigned cs_tally_recount_young(struct cs_tally *t, uint64_t now_us,
				unsigned max_work)
{
	unsigned n = 0;

	while (n < max_work && t->young_due_us <= now_us) {
		struct cs_conn *c = &t->flows->conns[t->young_head];
		young_unlink(t, c);
		cs_tally_update(t, c, now_us);
		n++;
	}
	return n;
}
