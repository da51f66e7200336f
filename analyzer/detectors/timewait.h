/*
 * timewait.h — TIME_WAIT buildup, per active closer and peer.
 *
 * The side that closes first holds the 4-tuple in TIME_WAIT for 2*MSL.
 * A client doing that to one server:port spends an ephemeral port per
 * connection for 2*MSL: at a high connection rate the range (28,232 ports
 * on Linux: 32768-60999) runs out and connect() fails with EADDRNOTAVAIL.
 * A server doing it only spends memory.  Counts connections in TIME_WAIT
 * per (client, server:port) or per server:port, and the rate of new
 * connections; raises time_wait_buildup when the count passes the
 * threshold, or when the rate held for 2*MSL would use more than half the
 * port range — saying when it would run out.
 */
#ifndef CS_ANALYZER_TIMEWAIT_H
#define CS_ANALYZER_TIMEWAIT_H

#include "analyzer/detectors/alert.h"
#include "analyzer/tracking/conn.h"
#include "analyzer/detectors/groups.h"

#define CS_TIMEWAIT_THRESHOLD_DEFAULT 1000
#define CS_EPHEMERAL_PORTS 28232	/* Linux ip_local_port_range 32768-60999 */
#define CS_TIMEWAIT_GROUPS 14336	/* groups kept (in 32,768 slots) */

struct cs_timewait {
	struct cs_groups g;
	uint32_t threshold;
	uint64_t twice_msl_us;
	struct cs_alerts *alerts;
};

void cs_timewait_init(struct cs_timewait *tw, uint32_t threshold,
		      uint64_t twice_msl_us, struct cs_alerts *alerts);
void cs_timewait_fini(struct cs_timewait *tw);

/* Endpoint `side` of c entered TIME_WAIT / left it (the caller keeps the
 * endpoint's time_wait mark, conn.h, so each is called once per stay). */
void cs_timewait_enter(struct cs_timewait *tw, const struct cs_conn *c,
		       int side, uint64_t now_us);
void cs_timewait_leave(struct cs_timewait *tw, const struct cs_conn *c,
		       int side);

/* Every alert's sentence brought up to its figures (before a snapshot or
 * a report: during a buildup they are rewritten once per second only). */
void cs_timewait_refresh(struct cs_timewait *tw);

/* A new connection began (a bare SYN made its record). */
void cs_timewait_new_conn(struct cs_timewait *tw, const struct cs_conn *c,
			  uint64_t now_us);

#endif /* CS_ANALYZER_TIMEWAIT_H */
