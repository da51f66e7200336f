/*
 * track.h — a decoded segment or ICMP error, to its connection record.
 *
 * Finds or creates the record (a bare SYN with a new ISN on a finished
 * 4-tuple starts a new one: port reuse; a retransmitted SYN does not),
 * runs Zeek's model and the RFC observer on it, and re-files the record
 * for expiry.  ICMP errors are attached to the connection whose segment
 * they quote; they never create one.
 */
#ifndef CS_ANALYZER_TRACK_H
#define CS_ANALYZER_TRACK_H

#include "analyzer/tracking/flow.h"

/* Returns the CS_EV_* bits of the segment; *conn is its record and *side
 * the sender's side in it (0 originator).  *conn is NULL, and no bit set,
 * when the table refused to track a new connection (flow.h). */
unsigned cs_track_segment(struct cs_flow_table *t, const struct cs_pkt *p,
			  struct cs_conn **conn, int *side);
/* The same, with p's place in the table worked out already. */
unsigned cs_track_segment_at(struct cs_flow_table *t, const struct cs_pkt *p,
			     const struct cs_flow_where *w,
			     struct cs_conn **conn, int *side);

/* A segment that failed --verify-checksums: only Zeek's letter C.
 * Returns its record (a new one, maybe), or NULL if refused. */
struct cs_conn *cs_track_bad_checksum(struct cs_flow_table *t,
				      const struct cs_pkt *p,
				      const struct cs_flow_where *w);

/* Returns the record the ICMP error (at w) was matched to, or NULL.  An
 * error about a connection evicted while its key is kept (evicted.h) is
 * a later packet of it: counted in untracked[CS_UNTRACKED_EVICTED], and
 * *of_evicted set, so that it is not taken for one about nothing known. */
struct cs_conn *cs_track_icmp(struct cs_flow_table *t, const struct cs_pkt *p,
			      const struct cs_flow_where *w,
			      bool *of_evicted);

#endif /* CS_ANALYZER_TRACK_H */
