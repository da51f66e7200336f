/*
 * zeek.h — Zeek's conn.log view of a connection: conn_state and history.
 *
 * conn_state and history are defined by Zeek's TCP analyzer, not by RFC
 * 9293: its own endpoint states (INACTIVE, SYN_SENT, SYN_ACK_SENT, PARTIAL,
 * ESTABLISHED, CLOSED, RESET), its relative sequence numbers and its rules
 * for when a history letter repeats.  This module re-expresses those rules
 * so that connscope's conn.log agrees with Zeek's row by row; the RFC view
 * of the same packets lives in tcp.c.  It owns the cs_zeek_ep parts of a
 * record and the connection's history; it never looks at the RFC states.
 */
#ifndef CS_ANALYZER_ZEEK_H
#define CS_ANALYZER_ZEEK_H

#include <stdbool.h>

#include "analyzer/tracking/conn.h"
#include "capture/pkttime.h"

/* A new record: both endpoints inactive, empty history. */
void cs_zeek_init(struct cs_conn *c, uint64_t now_us);

/*
 * Zeek would have removed the connection before packet p (sent by record
 * side `side`): start its next conn.log row.  Zeek picks the originator of
 * the new connection afresh; the record keeps its own.
 */
void cs_zeek_new_segment(struct cs_conn *c, int side, const struct cs_pkt *p);

/* Would Zeek take this SYN or SYN-ACK for a new connection (IsReuse)? */
bool cs_zeek_reuse(const struct cs_conn *c, const struct cs_pkt *p);

/* When Zeek's timers would remove the current segment, absent packets. */
uint64_t cs_zeek_removal_time(const struct cs_conn *c);

/* Zeek's endpoint zside (0: Zeek's originator, which is the record's
 * ep[z_flip]). */
const struct cs_zeek_ep *cs_zeek_ep_of(const struct cs_conn *c, int zside);

/*
 * Zeek's choice of originator for a connection whose first packet is not a
 * bare SYN: flip when the source port looks like a server's
 * (IPBasedAnalyzer::WantConnection).  True if the sender should be the
 * responder.
 */
bool cs_zeek_should_flip(const struct cs_pkt *p);

/* Swaps the roles and appends '^' (Connection::FlipRoles). */
void cs_zeek_flip(struct cs_conn *c);

/*
 * One TCP segment sent by record endpoint `side` (0 originator).  May flip
 * the roles (SYN/SYN-ACK reversal, or an ACK after an opening SYN-ACK):
 * returns the sender's record side after the call.
 */
int cs_zeek_segment(struct cs_conn *c, int side, const struct cs_pkt *p);

/* Zeek's inactivity timeouts (zeek/init-bare.zeek defaults), in
 * microseconds: the first until the handshake is past, then the second. */
#define Z_IDLE_HANDSHAKE_US	60000000ull	/* udp_inactivity_timeout, set first */
#define Z_IDLE_TCP_US		300000000ull	/* tcp_inactivity_timeout */

/*
 * A plain segment (an ACK without SYN, FIN or RST) from record side `side`
 * while Zeek holds both endpoints ESTABLISHED and none of its timers would
 * have removed the connection: cs_zeek_plain_segment then gives it exactly
 * what cs_zeek_segment would (the sender keeps its side), with less work.
 *
 * Both endpoints ESTABLISHED and neither closed, from an endpoint that has
 * sent before: then no close, reset or attempt timer is armed, so
 * cs_zeek_removal_time is the inactivity timeout alone and a plain segment
 * before it continues the conn.log row.  Inline: it is asked for most
 * segments, and its tests are fewer than a call's instructions.
 */
static inline bool cs_zeek_plain(const struct cs_conn *c, int side,
				 const struct cs_pkt *p)
{
	/* Zeek's originator is the record's ep[z_flip] */
	const struct cs_zeek_ep *o = &c->ep[c->z_flip].z;
	const struct cs_zeek_ep *r = &c->ep[!c->z_flip].z;

	if ((p->flags & (CS_TH_SYN | CS_TH_FIN | CS_TH_RST | CS_TH_ACK)) != CS_TH_ACK ||
	    o->state != CS_Z_ESTABLISHED || r->state != CS_Z_ESTABLISHED ||
	    o->did_close || r->did_close || c->z_remove_at ||
	    c->ep[side].z.pkts == 0)
		return false;
	return cs_time_add(c->z_last_us, c->z_long_idle ? Z_IDLE_TCP_US :
							  Z_IDLE_HANDSHAKE_US) > p->ts_us;
}
void cs_zeek_plain_segment(struct cs_conn *c, int side, const struct cs_pkt *p);

/* A segment dropped for a bad checksum (record side): only letter C/c. */
void cs_zeek_bad_checksum(struct cs_conn *c, int side);

enum cs_conn_state cs_zeek_conn_state(const struct cs_conn *c);

/* Bytes of payload in the sequence space (conn.log orig_bytes/resp_bytes)
 * of Zeek's endpoint zside. */
uint64_t cs_zeek_size(const struct cs_conn *c, int zside);

/* Appends a history letter (upper case for the originator). */
void cs_zeek_add_history(struct cs_conn *c, char code);

#endif /* CS_ANALYZER_ZEEK_H */
