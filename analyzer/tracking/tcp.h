/*
 * tcp.h — both endpoints' RFC 9293 states, as a passive observer infers them.
 *
 * An endpoint's state is derived from facts the wire shows: whether it sent
 * a SYN or FIN, whether the peer acknowledged them (decided by sequence
 * numbers, never by the ACK flag alone), and whether it received the peer's
 * SYN or FIN.  A segment is assumed delivered when seen; where that is
 * wrong (a simultaneous close, where both FINs crossed), the next segment's
 * acknowledgment number corrects it.  Only a RST whose sequence number the
 * receiver would accept (RFC 5961 3.2, pf's window rule) closes anything;
 * others are counted as invalid and change nothing.  Every other segment
 * is held to pf's bounds too (seqlo/seqhi/max_win of each peer, the
 * "Guido van Rooij" tracking of pf_test_state_tcp): one outside them is
 * counted as out of window and changes nothing either.
 *
 * Owns the RFC parts of cs_endpoint and the per-direction counters.  Knows
 * nothing of Zeek's model (zeek.c) or of the flow table.
 */
#ifndef CS_ANALYZER_TCP_H
#define CS_ANALYZER_TCP_H

#include "analyzer/tracking/conn.h"

/* What a segment did, for diagnosis and detectors (bits). */
enum {
	CS_EV_SYN = 1u << 0,		/* a bare SYN (first or retransmitted) */
	CS_EV_SYN_RETX = 1u << 1,	/* a SYN with an ISN already seen */
	CS_EV_SYNACK = 1u << 2,
	CS_EV_ESTABLISHED = 1u << 3,	/* the handshake just completed */
	CS_EV_FIN = 1u << 4,		/* a new FIN */
	CS_EV_RST = 1u << 5,		/* an accepted RST: both sides closed */
	CS_EV_RST_INVALID = 1u << 6,	/* a RST outside the receiver's window */
	CS_EV_TIME_WAIT = 1u << 7,	/* an endpoint entered TIME_WAIT */
	CS_EV_CLOSE_WAIT = 1u << 8,	/* an endpoint entered CLOSE_WAIT */
	CS_EV_RETRANSMIT = 1u << 9,
	CS_EV_ZERO_WINDOW = 1u << 10,
	CS_EV_KEEPALIVE = 1u << 11,
	CS_EV_OUT_OF_WINDOW = 1u << 12,	/* outside what the receiver would
					 * accept: it changed nothing */
	CS_EV_OLD_CONN = 1u << 13,	/* a segment of an older connection on
					 * the 4-tuple answered the SYN, or the
					 * originator reset that connection */
};

/* Processes one segment sent by endpoint `side`; returns CS_EV_* bits. */
unsigned cs_tcp_segment(struct cs_conn *c, int side, const struct cs_pkt *p);

/*
 * An endpoint in a steady ESTABLISHED: every fact cs_tcp_derive_state
 * reads says ESTABLISHED (no RST, FIN, or socket gone; a SYN it sent
 * acknowledged both ways), and that is the state it holds.  A segment
 * without SYN, FIN or RST changes none of those facts: handle_ack could
 * only mark the peer's SYN or FIN acknowledged, and the SYN is
 * acknowledged already and there is no FIN.
 */
static inline bool cs_tcp_steady(const struct cs_conn *c, int side)
{
	const struct cs_endpoint *e = &c->ep[side];

	if (e->state != CS_TCP_ESTABLISHED || !e->sent_any || e->gone ||
	    e->fin || e->got_fin || e->rst)
		return false;
	return !e->syn || (e->got_syn && e->syn_acked &&
			   (side == 1 || c->ep[1].syn_acked));
}

/*
 * A plain segment: an ACK, with or without data, and no SYN, FIN or RST,
 * on a connection whose endpoints are both steadily ESTABLISHED.  It can
 * change no state, so cs_tcp_plain_segment gives it exactly what
 * cs_tcp_segment would, with less work.  Most segments are plain (inline:
 * it is asked for most segments, and its tests are fewer than a call's
 * instructions).
 */
static inline bool cs_tcp_plain(const struct cs_conn *c, const struct cs_pkt *p)
{
	/* (a handshake completing is news: cs_tcp_segment tells it) */
	bool both_syn = c->ep[0].syn && c->ep[1].syn;

	return (p->flags & (CS_TH_SYN | CS_TH_FIN | CS_TH_RST | CS_TH_ACK)) ==
	       CS_TH_ACK && cs_tcp_steady(c, 0) && cs_tcp_steady(c, 1) &&
	       (c->handshake_done || !both_syn);
}

unsigned cs_tcp_plain_segment(struct cs_conn *c, int side,
			      const struct cs_pkt *p);

/* The state the facts imply, for endpoint `side`. */
enum cs_tcp_state cs_tcp_derive_state(const struct cs_conn *c, int side);

/*
 * An ICMP destination-unreachable quoting the originator's SYN (its very
 * ISN) while it waits in SYN-SENT: Linux aborts the connect() on any such
 * error (tcp_v4_err, tcp_v6_err), so the endpoint is gone.  Returns the
 * CS_EV_* bits of the state change.
 */
unsigned cs_tcp_icmp_unreachable(struct cs_conn *c, uint32_t quoted_seq);

/* The diagnosis concluded that the originator's connect() failed
 * (diagnose.h: cs_diagnose_connect_failed): an originator still in
 * SYN_SENT is gone, CLOSED. */
void cs_tcp_connect_failed(struct cs_conn *c);

/* TIME_WAIT ends: 2*MSL passed by now_us, or a new SYN took the 4-tuple
 * (force).  Those endpoints become CLOSED. */
void cs_tcp_end_time_wait(struct cs_conn *c, uint64_t now_us,
			  uint64_t twice_msl_us, bool force);

/* True once either side sent an accepted RST. */
static inline bool cs_tcp_reset(const struct cs_conn *c)
{
	return c->ep[0].rst || c->ep[1].rst;
}

#endif /* CS_ANALYZER_TCP_H */
