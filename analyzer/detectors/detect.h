/*
 * detect.h — the detectors, fed by the engine, writing alerts.
 *
 * Dispatches what the tracker saw to the SYN-flood, port-scan, RST
 * backscatter, TIME_WAIT and CLOSE_WAIT detectors, and itself watches port
 * reuse (a SYN on a 4-tuple still in TIME_WAIT that stalled the connect)
 * and the figures reported without an alert: RSTs per
 * second at their peak, and how many data segments were retransmitted.
 * Reads segments, events and records.  Of a record it writes only its
 * detector marks (struct cs_detect_marks in conn.h: which of the TIME_WAIT
 * and CLOSE_WAIT counts hold each endpoint); the tracker's fields, the
 * endpoints' states above all, it never changes.
 */
#ifndef CS_ANALYZER_DETECT_H
#define CS_ANALYZER_DETECT_H

#include "analyzer/detectors/alert.h"
#include "analyzer/detectors/backscatter.h"
#include "analyzer/detectors/closewait.h"
#include "analyzer/detectors/groups.h"
#include "analyzer/detectors/scan.h"
#include "analyzer/detectors/synflood.h"
#include "analyzer/detectors/timewait.h"
#include "analyzer/tracking/tcp.h"

struct cs_detect_opts {
	uint32_t synflood_rate;
	uint32_t timewait_threshold;
	uint64_t twice_msl_us;
	uint64_t closewait_age_us;
	uint32_t closewait_threshold;
};

struct cs_detect {
	struct cs_detect_opts opt;
	struct cs_alerts alerts;
	struct cs_synflood syn;
	struct cs_timewait tw;
	struct cs_closewait cw;
	struct cs_groups reuse;		/* port reuse, per client and server:port */
	struct cs_scan scan;
	struct cs_backscatter backscatter;
	/* reported, not alerted */
	uint64_t rst_sec, rst_in_sec, rst_peak;
	uint64_t rst_peak_at_us;
	uint64_t data_segments, retransmitted;
	/* SYNs on a 4-tuple still in TIME_WAIT; of them, those taken at once
	 * (counted, not alerted) and those that stalled (port_reuse alert) */
	uint64_t reuse_time_wait, reuse_clean, reuse_stalled;
	uint64_t time_wait_now, close_wait_now;	/* endpoints in those states */
};

void cs_detect_opts_default(struct cs_detect_opts *o);
int cs_detect_init(struct cs_detect *d, const struct cs_detect_opts *o,
		   struct cs_flow_table *flows);
void cs_detect_fini(struct cs_detect *d);

/* An analysed TCP segment with SYN or RST: cs_detect_packet below. */
void cs_detect_packet_control(struct cs_detect *d, const struct cs_pkt *p);

/* Every analysed TCP segment, before tracking (counts must not depend on
 * records surviving).  The SYN-flood and scan detectors and the RST rate
 * count SYNs and their answers (SYN-ACK, RST) only: any other segment,
 * two thirds of the traffic, is a data segment or nothing to them, and is
 * told inline. */
static inline void cs_detect_packet(struct cs_detect *d, const struct cs_pkt *p)
{
	if (p->flags & (CS_TH_SYN | CS_TH_RST))
		cs_detect_packet_control(d, p);
	else
		d->data_segments += p->payload_len != 0;
}

/* After tracking: the segment's record (its detector marks are written),
 * its sender's side, the events: cs_detect_segment below. */
void cs_detect_segment_events(struct cs_detect *d, struct cs_conn *c, int side,
			      unsigned ev, const struct cs_pkt *p);

/* The events some detector acts on.  A segment with none of them, no RST
 * and no endpoint the TIME_WAIT or CLOSE_WAIT counts hold is news to no
 * detector: it only counts as a retransmission. */
#define CS_DETECT_EVENTS (CS_EV_ESTABLISHED | CS_EV_SYN | CS_EV_SYN_RETX | \
			  CS_EV_SYNACK | CS_EV_RST | CS_EV_OLD_CONN | \
			  CS_EV_TIME_WAIT | CS_EV_CLOSE_WAIT)

static inline bool cs_detect_marked(const struct cs_conn *c)
{
	return c->detect[0].time_wait || c->detect[0].close_wait ||
	       c->detect[1].time_wait || c->detect[1].close_wait;
}

/* Inline, so that the plain segments (most of them) make no call. */
static inline void cs_detect_segment(struct cs_detect *d, struct cs_conn *c,
				     int side, unsigned ev, const struct cs_pkt *p)
{
	if (!(ev & CS_DETECT_EVENTS) && !(p->flags & CS_TH_RST) &&
	    !cs_detect_marked(c)) {
		d->retransmitted += !!(ev & CS_EV_RETRANSMIT);
		return;
	}
	cs_detect_segment_events(d, c, side, ev, p);
}

/* A record leaves the table: it leaves the counts its marks say hold it. */
void cs_detect_conn_done(struct cs_detect *d, struct cs_conn *c,
			 uint64_t now_us);

/* Packet time moved on (inline: asked for every packet). */
static inline void cs_detect_tick(struct cs_detect *d, uint64_t now_us)
{
	if (cs_closewait_due(&d->cw, now_us))
		cs_closewait_tick(&d->cw, now_us);
}

/* End of the capture, before the remaining records are flushed. */
void cs_detect_finish(struct cs_detect *d, uint64_t now_us);

/* Alert sentences brought up to their figures, for a snapshot. */
void cs_detect_refresh(struct cs_detect *d);

#endif /* CS_ANALYZER_DETECT_H */
