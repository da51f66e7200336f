/*
 * tally.c — the open connections' gauges, kept as records change.
 */
#include "analyzer/views/tally.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/tracking/diagnose.h"
#include "analyzer/tracking/zeek.h"
#include "capture/assert.h"
#include "capture/pkttime.h"

/* The marks fill a hole in the record: it must not grow for them (688
 * bytes a connection, a million connections by default). */
_Static_assert(sizeof(struct cs_conn) <= 688, "struct cs_conn grew");
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

/*
 * A ring of what finds each record again (its id, its key's hash), oldest
 * first.  Records are not linked through: one set aside (aside.h) has no
 * room for links, and its ref changes as it goes and comes back.  A record
 * that leaves the table early leaves its entry behind, found gone when the
 * entry comes due (or when the ring is compacted).
 */
#define YOUNG_FIRST_CAP 1024u

/* When c's attempt, if it is one, becomes a timeout by the clock. */
static uint64_t young_until(const struct cs_tally *t, const struct cs_conn *c)
{
	return cs_time_add(c->first_ts_us, t->syn_timeout_us);
}

static struct cs_young *young_at(const struct cs_tally *t, uint32_t n)
{
	return &t->young[(t->young_head + n) & (t->young_cap - 1)];
}

static void young_due_is_head(struct cs_tally *t)
{
	t->young_due_us = t->young_cnt ? young_at(t, 0)->until_us : UINT64_MAX;
}

/* Drops the entries of records gone from the table, keeping the order. */
static void young_compact(struct cs_tally *t)
{
	uint32_t kept = 0;

	for (uint32_t n = 0; n < t->young_cnt; n++) {
		struct cs_young y = *young_at(t, n);
		if (cs_flow_has_id(t->flows, y.hash, y.id))
			*young_at(t, kept++) = y;
	}
	t->young_cnt = kept;
	young_due_is_head(t);
}

/* A ring twice the size, its entries from the start; false without the
 * memory. */
static bool young_grow(struct cs_tally *t)
{
	uint32_t cap = t->young_cap ? t->young_cap * 2 : YOUNG_FIRST_CAP;
	struct cs_young *y = cap > t->young_cap ? t->young_alloc(cap * sizeof *y) : NULL;

	if (!y)
		return false;
	for (uint32_t n = 0; n < t->young_cnt; n++)
		y[n] = *young_at(t, n);
	free(t->young);
	t->young = y;
	t->young_cap = cap;
	t->young_head = 0;
	return true;
}

/*
 * Room for one more entry.  Live entries are at most the records in the
 * table: when the ring is over four times that, compacting frees more than
 * three quarters of it, so it stays within eight times the table's size
 * however many records come and go within a SYN timeout (a flood's
 * churn), and the compaction's walk is paid for by the entries it frees.
 */
static bool young_make_room(struct cs_tally *t)
{
	if (t->young_cnt < t->young_cap)
		return true;
	if (t->young_cap / 4 > t->flows->count) {
		young_compact(t);
		return true;
	}
	return young_grow(t);
}

/* Records are counted first in the order they are created, which is the
 * order of their first packets: appending keeps the ring in order. */
static void young_append(struct cs_tally *t, const struct cs_conn *c)
{
	uint64_t until = young_until(t, c);

	if (!young_make_room(t)) {
		t->young_lost++;
		return;
	}
	CS_ASSERT(!t->young_cnt || young_at(t, t->young_cnt - 1)->until_us <= until);
	*young_at(t, t->young_cnt++) = (struct cs_young){
		.until_us = until, .id = c->id,
		.hash = cs_flow_hash(t->flows, &c->key),
	};
	if (t->young_cnt == 1)
		young_due_is_head(t);
}

/* ---- the tally ------------------------------------------------------------ */

void cs_tally_init(struct cs_tally *t, struct cs_flow_table *flows,
		   uint64_t syn_timeout_us)
{
	memset(t, 0, sizeof *t);
	t->flows = flows;
	t->syn_timeout_us = syn_timeout_us;
	t->young_due_us = UINT64_MAX;
	t->young_alloc = malloc;
	cs_open_verdicts_init(&t->verdicts);
}

void cs_tally_fini(struct cs_tally *t)
{
	cs_open_verdicts_fini(&t->verdicts);
	free(t->young);
	t->young = NULL;
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
	memset(&c->tally, 0, sizeof c->tally);
}

/*
 * The clock changes only what an attempt counts as (cs_diagnose_outcome:
 * syn_only), and a record changes otherwise only through a packet, which
 * recounted it: one counted as anything else stays so.  (A share past
 * exact would be given again, as same() says.)  Its marks alone tell,
 * which for a record set aside is one word to unpack: on LARGE with
 * --web, 917,504 records aside came due, each unpacked whole and packed
 * again for nothing.
 */
static bool clock_may_change(struct cs_tally_marks m)
{
	return marked_outcome(m) == CS_OUT_ATTEMPT ||
	       m.share >> SHARE_SYNS_SHIFT == CS_VERDICT_SYNS_EXACT;
}

/* y's record, its SYN timeout come by now_us, recounted if the clock
 * changed what it counts as: one set aside is read from a copy, and
 * taken back (then set aside again) only when its count moves. */
static void recount_due(struct cs_tally *t, const struct cs_young *y,
			uint64_t now_us)
{
	struct cs_tally_marks m;
	struct cs_conn copy;
	bool was_aside;
	/* found once: each look-up by id unpacks ids (flow.h) */
	cs_conn_ref ref = cs_flow_ref_of_id(t->flows, y->hash, y->id);

	if (!ref)
		return;		/* it left the table before its timeout */
	cs_flow_read(t->flows, ref, offsetof(struct cs_conn, tally), sizeof m, &m);
	if (!clock_may_change(m))
		return;
	const struct cs_conn *v = cs_flow_view(t->flows, ref, &copy);
	if (v == &copy && same(v->tally, marks_of(t, v, now_us)))
		return;
	struct cs_conn *c = cs_flow_take(t->flows, y->hash, ref, &was_aside);
	cs_tally_update(t, c, now_us);
	if (was_aside)
		cs_flow_put_back(t->flows, c, now_us);
}

unsigned cs_tally_recount_young(struct cs_tally *t, uint64_t now_us,
				unsigned max_work)
{
	unsigned n = 0;

	for (; n < max_work && t->young_due_us <= now_us; n++) {
		struct cs_young y = *young_at(t, 0);
		t->young_head = (t->young_head + 1) & (t->young_cap - 1);
		t->young_cnt--;
		young_due_is_head(t);
		recount_due(t, &y, now_us);
	}
	return n;
}
