/*
 * closewait.h — CLOSE_WAIT buildup: the application is not calling close().
 *
 * An endpoint in CLOSE_WAIT has received and acknowledged its peer's FIN
 * and has not sent its own: the kernel waits for the application to call
 * close().  A few seconds of that is normal; many connections stuck in it
 * are a socket leak.  Counts, per host:port holding them, the connections
 * in CLOSE_WAIT for longer than --closewait-age, and raises
 * close_wait_buildup at --closewait-threshold.  Ageing uses a queue of
 * due times: the age is the same for all, so the queue is in time order
 * and each connection costs O(1).
 */
#ifndef CS_ANALYZER_CLOSEWAIT_H
#define CS_ANALYZER_CLOSEWAIT_H

#include "analyzer/detectors/alert.h"
#include "analyzer/tracking/conn.h"
#include "analyzer/tracking/flow.h"
#include "analyzer/detectors/groups.h"

#define CS_CLOSEWAIT_AGE_SEC_DEFAULT 5
#define CS_CLOSEWAIT_THRESHOLD_DEFAULT 50
#define CS_CLOSEWAIT_GROUPS 14336	/* groups kept (in 32,768 slots) */

struct cs_closewait_due {
	cs_conn_ref ref;
	uint8_t key_index;	/* which endpoint (stable across role flips) */
	uint64_t id;		/* the record, not a reuse of its slot */
	uint64_t due_us;
};

struct cs_closewait {
	struct cs_groups g;
	uint32_t threshold;
	uint64_t age_us;
	struct cs_alerts *alerts;
	struct cs_flow_table *flows;
	struct cs_closewait_due *queue;	/* a ring, grown as needed */
	uint32_t cap, head, len;
	uint64_t dropped;		/* could not be queued (no memory) */
};

void cs_closewait_init(struct cs_closewait *cw, uint32_t threshold,
		       uint64_t age_us, struct cs_alerts *alerts,
		       struct cs_flow_table *flows);
void cs_closewait_fini(struct cs_closewait *cw);

/* Endpoint `side` of c entered CLOSE_WAIT / is no longer in it.  The
 * caller keeps the endpoint's close_wait mark (conn.h), so each is called
 * once per stay; close_wait_old is this module's, set by the tick. */
void cs_closewait_enter(struct cs_closewait *cw, const struct cs_conn *c,
			int side, uint64_t now_us);
void cs_closewait_leave(struct cs_closewait *cw, const struct cs_conn *c, int side,
			uint64_t now_us);

/* Ages the connections whose time in CLOSE_WAIT has passed the limit:
 * marks them close_wait_old in their records and counts them. */
void cs_closewait_tick(struct cs_closewait *cw, uint64_t now_us);

/* Is a stay due for aging by now_us?  The tick's own first test, asked
 * inline for every packet, so that a packet with nothing due (nearly
 * all) makes no call. */
static inline bool cs_closewait_due(const struct cs_closewait *cw,
				    uint64_t now_us)
{
	return cw->len && cw->queue[cw->head].due_us <= now_us;
}

#endif /* CS_ANALYZER_CLOSEWAIT_H */
