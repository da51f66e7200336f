/*
 * tally.h — the open connections, counted as they stand.
 *
 * A snapshot shows the open connections' outcomes, conn_states and endpoint
 * states, their port reuses, and their verdicts as if the capture ended
 * now.  Walking a million open records for that took a quarter of a second
 * on the capture thread, twice a second.  The tally keeps those figures
 * instead, as records change: after each packet the engine asks it to
 * recount the record in hand, which costs a comparison when nothing that
 * is counted changed; it remembers per record what it counted (three bytes
 * in the record, struct cs_tally_marks) and takes that away when the record
 * changes or leaves.  A publish then copies counters: work per gauge and
 * per verdict group, none per connection.  Only the dashboard reads it, so
 * the engine keeps it only for one (opt.keep_recent).
 *
 * One outcome changes with the clock alone: an attempt becomes a timeout
 * once its SYN is --syn-timeout old (cs_diagnose_outcome).  So every record
 * is on a ring of the young ones in order of its first packet (the order
 * records are created in), and leaves it when its SYN timeout is reached,
 * recounted with the clock of then if it still counts as an attempt (a
 * record set aside is read where it waits, and taken back only if its
 * count moves): a few per packet (cs_tally_advance), and all that are due
 * before a publish (cs_engine_refresh).
 *
 * It only reads records, but for its own marks in them, which fill a hole
 * in the record (it does not grow for them); it owns the open verdict
 * groups.  Call on the capture thread.
 */
#ifndef CS_ANALYZER_TALLY_H
#define CS_ANALYZER_TALLY_H

#include <stdint.h>

#include "analyzer/reports/verdict.h"
#include "analyzer/tracking/flow.h"

/* A record whose SYN timeout is still ahead, as the ring finds it again:
 * by id under its key's hash (cs_flow_ref_of_id), set aside or not. */
struct cs_young {
	uint64_t until_us;		/* its SYN timeout */
	uint64_t id;
	uint32_t hash;
};

struct cs_tally {
	struct cs_flow_table *flows;	/* whose records it counts */
	uint64_t syn_timeout_us;
	/* The records whose SYN timeout is still ahead, oldest first: a ring
	 * of young_cap (a power of two) entries from young_head (tally.c). */
	struct cs_young *young;
	uint32_t young_cap, young_head, young_cnt;
	uint64_t young_due_us;		/* the head's, or UINT64_MAX */
	/* Records left off the ring for want of memory: their gauges stay
	 * as last counted until a packet or their end recounts them. */
	uint64_t young_lost;
	/* Allocates a larger ring (malloc); a test makes it fail. */
	void *(*young_alloc)(size_t size);
	uint64_t open;			/* records counted */
	uint64_t outcomes[CS_OUT_MAX];
	uint64_t conn_states[CS_CS_MAX];
	uint64_t states[2][CS_TCP_STATE_MAX];	/* [0] originators */
	uint64_t port_reuse;		/* records that reused a 4-tuple */
	struct cs_open_verdicts verdicts;
};

void cs_tally_init(struct cs_tally *t, struct cs_flow_table *flows,
		   uint64_t syn_timeout_us);
void cs_tally_fini(struct cs_tally *t);

/* Counts c as it stands at now_us: a new record, or one that a packet or
 * an ICMP error may have changed. */
void cs_tally_update(struct cs_tally *t, struct cs_conn *c, uint64_t now_us);

/* c leaves the table: takes away what it was counted as. */
void cs_tally_remove(struct cs_tally *t, struct cs_conn *c);

/* Recounts at most max_work records whose SYN timeout has come by now_us;
 * returns how many.  Inline, for the packets that find none due. */
unsigned cs_tally_recount_young(struct cs_tally *t, uint64_t now_us,
				unsigned max_work);
static inline unsigned cs_tally_advance(struct cs_tally *t, uint64_t now_us,
					unsigned max_work)
{
	return t->young_due_us <= now_us ?
	       cs_tally_recount_young(t, now_us, max_work) : 0;
}

#endif /* CS_ANALYZER_TALLY_H */
