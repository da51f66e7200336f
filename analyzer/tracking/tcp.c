/*
 * tcp.c — RFC 9293 endpoint inference from what each side sent and acked.
 */
#include "analyzer/tracking/tcp.h"

#include "capture/pkttime.h"

/* RFC 7323 2.3: a shift above 14 is used as 14. */
static uint32_t scaled_window(const struct cs_endpoint *e)
{
	unsigned shift = e->wscale_ok ? (e->wscale > 14 ? 14u : e->wscale) : 0u;
	return (uint32_t)e->win << shift;
}

/*
 * pf's MAXACKWINDOW: how far an ACK may lead or lag the sequence numbers
 * the observer saw (a window and a packet, pf_test_state_tcp).
 */
#define ACK_SLACK (65535u + 1500u)
/* Slack stays below 2^31 - 2^30 so that a bound plus it is still compared
 * correctly modulo 2^32 (RFC 9293 3.4). */
#define MAX_SLACK (1u << 30)
#define MAX_SHIFT 14u		/* RFC 7323 2.3 */

/*
 * The shift of a side's windows as far as the observer knows it.  Scaling
 * is in use only when both SYNs carried the option (RFC 7323 2.2), so it
 * is known only when both SYNs were seen.  Without them (a connection
 * picked up midstream, or a SYN the capture lost) the largest shift is
 * assumed, so that no window is taken for smaller than it may be: the
 * observer is lenient where it cannot know, as pf is with a first packet.
 */
static unsigned window_shift(const struct cs_conn *c, const struct cs_endpoint *e)
{
	if (!c->ep[0].syn || !c->ep[1].syn)
		return MAX_SHIFT;
	return e->wscale_ok ? (e->wscale > MAX_SHIFT ? MAX_SHIFT : e->wscale) : 0u;
}

/* The window a segment advertises, in bytes: a SYN's is never scaled
 * (RFC 7323 2.2). */
static uint32_t segment_window(const struct cs_conn *c, int side,
			       const struct cs_pkt *p)
{
	if (p->flags & CS_TH_SYN)
		return p->win;
	return (uint32_t)p->win << window_shift(c, &c->ep[side]);
}

/* How far past the bounds seen a segment may still lie: a window whose
 * updates the capture may have missed, and never less than pf's slack. */
static uint32_t slack(uint32_t win)
{
	if (win < ACK_SLACK)
		return ACK_SLACK;
	return win > MAX_SLACK ? MAX_SLACK : win;
}

/*
 * Would the receiver accept this segment (SYNs and RSTs have rules of
 * their own)?  pf's test, with the observer's slack: it must end within
 * what the receiver's window allowed (seqhi), start no further back than a
 * window before what the sender already sent (seqlo - max_win: an old
 * retransmission), and acknowledge nothing further from what the receiver
 * sent than one window of its (RFC 9293 3.10.7.4: a segment outside the
 * window, or an ACK of something never sent, is dropped).  Until the
 * receiver has advertised a window, nothing bounds the sender.
 */
static inline bool segment_acceptable(const struct cs_conn *c, int side,
				      const struct cs_pkt *p)
{
	const struct cs_endpoint *s = &c->ep[side], *r = &c->ep[!side];
	uint32_t end = p->seq + p->payload_len + !!(p->flags & CS_TH_FIN);

	if (r->have_ack) {	/* s->seq_hi is known */
		uint32_t sl = slack(r->max_win);
		if (cs_seq_gt(end, s->seq_hi + sl) ||
		    cs_seq_lt(p->seq, s->snd_nxt - sl))
			return false;
	}
	if ((p->flags & CS_TH_ACK) && r->sent_any) {
		uint32_t sl = slack(s->max_win);
		if (cs_seq_gt(p->ack, r->snd_nxt + sl) ||
		    cs_seq_lt(p->ack, r->snd_nxt - sl))
			return false;
	}
	return true;
}

/* What an acceptable segment says of the windows: the largest the sender
 * offered (max_win), and how far its peer may now send (seqhi = ack +
 * window; a zero window still takes a one-byte probe, RFC 9293 3.8.6.1). */
static inline void learn_window(struct cs_conn *c, int side,
				const struct cs_pkt *p, bool had_ack)
{
	struct cs_endpoint *s = &c->ep[side], *r = &c->ep[!side];
	uint32_t win = segment_window(c, side, p);

	if (win > s->max_win)
		s->max_win = win;
	if (!(p->flags & CS_TH_ACK))
		return;
	uint32_t edge = p->ack + (win ? win : 1u);
	/* (handle_ack has set s->have_ack: r->seq_hi is valid from now on) */
	if (!had_ack || cs_seq_gt(edge, r->seq_hi))
		r->seq_hi = edge;
}

/*
 * The facts decide the state (RFC 9293 3.3.2's diagram read backwards):
 * an endpoint that sent nothing is CLOSED (a listening socket is not part
 * of the connection); after its own FIN, who closed first decides between
 * the active (FIN_WAIT_*, CLOSING, TIME_WAIT) and passive (LAST_ACK) paths.
 */
static inline enum cs_tcp_state derive_state(const struct cs_conn *c, int side)
{
	const struct cs_endpoint *e = &c->ep[side];

	if (cs_tcp_reset(c) || !e->sent_any || e->gone)
		return CS_TCP_CLOSED;
	if (e->fin) {
		if (!e->fin_first)
			return e->fin_acked ? CS_TCP_CLOSED : CS_TCP_LAST_ACK;
		if (!e->got_fin)
			return e->fin_acked ? CS_TCP_FIN_WAIT_2 : CS_TCP_FIN_WAIT_1;
		return e->fin_acked ? CS_TCP_TIME_WAIT : CS_TCP_CLOSING;
	}
	if (e->got_fin)
		return CS_TCP_CLOSE_WAIT;
	if (e->syn) {
		if (!e->got_syn)
			return CS_TCP_SYN_SENT;
		if (!e->syn_acked)
			return CS_TCP_SYN_RECEIVED;
		/* The opener's answer to the SYN-ACK is its ACK: until the
		 * observer sees it, the opener is still connecting (a spoofed
		 * SYN's "source" never gets that far). */
		if (side == 0 && !c->ep[1].syn_acked)
			return CS_TCP_SYN_SENT;
		return CS_TCP_ESTABLISHED;
	}
	return CS_TCP_ESTABLISHED;	/* picked up midstream */
}

enum cs_tcp_state cs_tcp_derive_state(const struct cs_conn *c, int side)
{
	return derive_state(c, side);
}

/*
 * Would the receiver accept this RST?  In SYN-SENT only if it acknowledges
 * the SYN (RFC 9293 3.10.7.3); otherwise if its sequence number falls in the
 * receive window (RFC 9293 3.10.7.4, RFC 5961 3.2).  The observer does not
 * know the receiver's RCV.NXT exactly: it lies between what the receiver
 * acknowledged last and what the sender has sent.
 */
static bool rst_acceptable(const struct cs_conn *c, int side,
			   const struct cs_pkt *p)
{
	const struct cs_endpoint *s = &c->ep[side], *r = &c->ep[!side];
	uint32_t lo, hi;

	if (r->syn && !r->got_syn)
		return (p->flags & CS_TH_ACK) && p->ack == r->isn + 1;
	if (r->have_ack && s->sent_any) {
		bool r_first = cs_seq_lt(r->max_ack, s->snd_nxt);
		lo = r_first ? r->max_ack : s->snd_nxt;
		hi = r_first ? s->snd_nxt : r->max_ack;
	} else if (r->have_ack) {
		lo = hi = r->max_ack;
	} else if (s->sent_any) {
		lo = hi = s->snd_nxt;
	} else {
		return true;	/* nothing to check against */
	}
	uint32_t wnd = r->sent_any ? scaled_window(r) : 65535u;
	if (wnd == 0)
		wnd = 1;	/* a zero window accepts RCV.NXT exactly */
	return cs_seq_geq(p->seq, lo) && cs_seq_lt(p->seq, hi + wnd);
}

/* RFC 793's reset-generation rules, read backwards (refined by diagnose). */
static enum cs_rst_cause rst_cause(const struct cs_conn *c, int side,
				   const struct cs_pkt *p)
{
	const struct cs_endpoint *s = &c->ep[side], *r = &c->ep[!side];

	if (r->syn && !r->got_syn && !s->syn)
		return CS_RST_REFUSED;		/* the answer to a SYN */
	/* After both FINs the RST stands for a last ACK -- unless its
	 * sender's own FIN was never acknowledged and it had been sending
	 * it (or data) again with no answer since: then it gave up, as
	 * below, and the close never completed. */
	if (s->fin && r->fin && (s->fin_acked || !s->unanswered))
		return CS_RST_AFTER_CLOSE;
	/* A host without the connection answers a segment with a RST whose
	 * sequence number is that segment's acknowledgment, and no ACK. */
	if (!(p->flags & CS_TH_ACK) && r->sent_any && p->seq == r->last_ack)
		return CS_RST_NONEXISTENT;
	/* It had been retransmitting or probing with no answer: it gave up
	 * (keep-alive or retransmission limits reached). */
	if (s->unanswered)
		return CS_RST_TIMEOUT;
	return CS_RST_ABORT;
}

static unsigned handle_rst(struct cs_conn *c, int side, const struct cs_pkt *p)
{
	struct cs_endpoint *s = &c->ep[side];
	/* Nothing else ever seen on the 4-tuple: no window, no segment it
	 * answers, so neither its acceptability nor its cause can be judged
	 * (backscatter from a host answering spoofed SYNs, or a capture that
	 * began just before the RST).  It ends what there is, unjudged. */
	bool lone = !s->sent_any && !c->ep[!side].sent_any;

	if (!rst_acceptable(c, side, p)) {
		s->invalid_rsts++;
		return CS_EV_RST_INVALID;
	}
	s->sent_any = true;
	if (cs_tcp_reset(c)) {
		s->rst = true;
		return 0;		/* the connection was already gone */
	}
	c->rst_cause = (uint8_t)(lone ? CS_RST_UNJUDGED : rst_cause(c, side, p));
	s->rst = true;
	s->rst_first = true;
	return CS_EV_RST;
}

/*
 * A SYN (or SYN-ACK) again with the same ISN is a retransmission, and it
 * says the answer to the earlier one never arrived: the assumption that
 * the peer's SYN-ACK (or ACK) was delivered is taken back.
 */
static unsigned handle_syn(struct cs_conn *c, int side, const struct cs_pkt *p)
{
	struct cs_endpoint *s = &c->ep[side], *r = &c->ep[!side];
	bool ack = p->flags & CS_TH_ACK;
	unsigned ev = ack ? CS_EV_SYNACK : CS_EV_SYN;

	if (!s->syn || s->isn != p->seq) {
		s->syn = true;
		s->isn = p->seq;
		s->syn_cnt = 1;
		s->synack = ack;
		s->ws_offered = p->opt.present & CS_OPT_WSCALE;
		s->wscale = p->opt.wscale;
	} else if (ack && !s->synack) {
		s->synack = true;	/* simultaneous open: its SYN-ACK follows its SYN */
	} else {
		s->syn_cnt++;
		ev |= CS_EV_SYN_RETX;
		if (s->syn_acked && !c->handshake_done) {
			s->syn_acked = false;
			s->got_syn = ack;	/* a SYN-ACK's sender did get the SYN */
		}
	}
	/* Assumed delivered, unless the peer would refuse it: a SYN-ACK
	 * that does not acknowledge the peer's own SYN draws a RST. */
	if (!ack || !r->syn ||
	    (cs_seq_geq(p->ack, r->isn + 1) && cs_seq_leq(p->ack, r->snd_nxt)))
		r->got_syn = true;
	if (ack) {
		if (!c->synack_ts_us)
			c->synack_ts_us = p->ts_us;
		if (s->ws_offered && r->ws_offered)
			s->wscale_ok = r->wscale_ok = true;
	} else if (!c->synack_ts_us) {
		/* the SYN-ACK answers the latest SYN, not the first */
		c->syn_ts_us = p->ts_us;
	}
	return ev;
}

/* The ACK number says which of the peer's SYN and FIN arrived. */
static inline void handle_ack(struct cs_conn *c, int side, const struct cs_pkt *p)
{
	struct cs_endpoint *s = &c->ep[side], *r = &c->ep[!side];

	s->last_ack = p->ack;
	if (!s->have_ack || cs_seq_gt(p->ack, s->max_ack)) {
		s->max_ack = p->ack;
		s->have_ack = true;
	}
	/* Acceptable only up to what the peer sent (RFC 9293 3.10.7.3: an
	 * ACK of unsent data acknowledges nothing). */
	bool in_range = cs_seq_leq(p->ack, r->snd_nxt);
	if (r->syn && !r->syn_acked && cs_seq_geq(p->ack, r->isn + 1) && in_range) {
		r->syn_acked = true;
		s->got_syn = true;
	}
	if (r->fin && !r->fin_acked && cs_seq_geq(p->ack, r->fin_seq + 1) && in_range) {
		r->fin_acked = true;
		s->got_fin = true;
	}
}

/*
 * Retransmissions and keep-alives by sequence number.  A keep-alive probe
 * repeats the last byte already acknowledged (seq = SND.NXT - 1, 0 or 1
 * bytes: RFC 9293 3.8.4), which is not a retransmission of data.
 */
static inline unsigned track_sequence(struct cs_endpoint *s,
				      const struct cs_pkt *p, bool first)
{
	bool syn = p->flags & CS_TH_SYN, fin = p->flags & CS_TH_FIN;
	uint32_t end = p->seq + p->payload_len + syn + fin;
	unsigned ev = 0;

	if (first) {
		s->snd_nxt = end;
		return 0;
	}
	if (!syn && !fin && p->payload_len <= 1 && p->seq == s->snd_nxt - 1) {
		s->keepalives++;
		return CS_EV_KEEPALIVE;
	}
	if (!syn && (p->payload_len > 0 || fin) && cs_seq_lt(p->seq, s->snd_nxt)) {
		s->retransmits++;
		ev |= CS_EV_RETRANSMIT;
	}
	if (cs_seq_gt(end, s->snd_nxt))
		s->snd_nxt = end;
	return ev;
}

static unsigned handle_fin(struct cs_conn *c, int side, const struct cs_pkt *p)
{
	struct cs_endpoint *s = &c->ep[side], *r = &c->ep[!side];
	uint32_t fin_seq = p->seq + p->payload_len + !!(p->flags & CS_TH_SYN);
	unsigned ev = 0;

	if (!s->fin) {
		s->fin = true;
		s->fin_seq = fin_seq;
		/* Passive closer only if it had acknowledged the peer's FIN;
		 * FINs that crossed make a simultaneous close (CLOSING). */
		s->fin_first = !r->fin_acked;
		ev = CS_EV_FIN;
	} else if (fin_seq == s->fin_seq && s->fin_acked) {
		/* Sent again after its ACK was seen: that ACK was lost
		 * beyond the tap, so the FIN is not acknowledged yet. */
		s->fin_acked = false;
	}
	r->got_fin = true;	/* assumed delivered */
	return ev;
}

/* Counts the times a side's window closed to zero (SYNs excepted). */
static inline unsigned track_window(struct cs_endpoint *s, const struct cs_pkt *p)
{
	bool zero = p->win == 0 && !(p->flags & CS_TH_SYN);
	unsigned ev = 0;

	if (zero && !s->win_zero) {
		s->zero_windows++;
		ev = CS_EV_ZERO_WINDOW;
	}
	s->win_zero = zero;
	s->win = p->win;
	return ev;
}

/* Always inline: every full segment ends here, and with its five callers
 * gcc -O2 calls it; the call and its register saves cost a quarter of
 * its work. */
static inline __attribute__((always_inline)) unsigned
update_states(struct cs_conn *c)
{
	unsigned ev = 0;

	for (int i = 0; i < 2; i++) {
		enum cs_tcp_state now = derive_state(c, i);
		if (now == c->ep[i].state)
			continue;
		if (now == CS_TCP_TIME_WAIT)
			ev |= CS_EV_TIME_WAIT;
		if (now == CS_TCP_CLOSE_WAIT)
			ev |= CS_EV_CLOSE_WAIT;
		c->ep[i].state = (uint8_t)now;
	}
	return ev;
}

unsigned cs_tcp_icmp_unreachable(struct cs_conn *c, uint32_t quoted_seq)
{
	struct cs_endpoint *o = &c->ep[0];

	if (o->state != CS_TCP_SYN_SENT || quoted_seq != o->isn)
		return 0;
	o->gone = true;
	return update_states(c);
}

void cs_tcp_connect_failed(struct cs_conn *c)
{
	if (c->ep[0].state != CS_TCP_SYN_SENT)
		return;
	c->ep[0].gone = true;
	update_states(c);
}

void cs_tcp_end_time_wait(struct cs_conn *c, uint64_t now_us,
			  uint64_t twice_msl_us, bool force)
{
	for (int i = 0; i < 2; i++)
		if (c->ep[i].state == CS_TCP_TIME_WAIT &&
		    (force || cs_time_add(c->last_ts_us, twice_msl_us) <= now_us))
			c->ep[i].gone = true;
	update_states(c);
}

/*
 * A bare ACK that answers the originator's SYN without acknowledging it
 * belongs to an older connection on this 4-tuple that the responder still
 * holds: an established one whose client forgot it (the challenge ACK of
 * RFC 5961 4.2), or a TIME_WAIT refusing a SYN it cannot take (RFC 6191).
 * It says nothing about this connection, whose responder has sent nothing
 * yet, so it changes no state here.
 */
static bool old_conn_ack(const struct cs_conn *c, int side,
			 const struct cs_pkt *p)
{
	const struct cs_endpoint *o = &c->ep[0];
	uint16_t f = p->flags & (CS_TH_SYN | CS_TH_ACK | CS_TH_RST | CS_TH_FIN);

	if (side != 1 || f != CS_TH_ACK || !o->syn || o->synack ||
	    o->state != CS_TCP_SYN_SENT || c->ep[1].syn || c->handshake_done ||
	    cs_tcp_reset(c))
		return false;
	return !(cs_seq_gt(p->ack, o->isn) && cs_seq_leq(p->ack, o->snd_nxt));
}

/*
 * The originator's answer to that ACK: in SYN-SENT, an ACK that does not
 * acknowledge its SYN draws a RST whose sequence number is the ACK's
 * acknowledgment, and the connection stays in SYN-SENT (RFC 9293
 * 3.10.7.3).  The RST ends the older connection at the responder; this
 * one goes on, its SYN sent again.
 */
static bool old_conn_reset(const struct cs_conn *c, int side,
			   const struct cs_pkt *p)
{
	uint16_t f = p->flags & (CS_TH_SYN | CS_TH_ACK | CS_TH_RST | CS_TH_FIN);

	/* Still only connecting: a socket that sent more than its SYN (a
	 * FIN, data) was not in SYN-SENT, and its RST is its own. */
	return side == 0 && c->old_ack && f == CS_TH_RST && !c->ep[1].syn &&
	       c->ep[0].state == CS_TCP_SYN_SENT && !cs_tcp_reset(c) &&
	       p->seq == c->ep[1].last_ack;
}

/*
 * After an accepted RST, its sender goes on with the connection: data or a
 * FIN at its next sequence number, acknowledging no more than the peer
 * sent.  A socket that sent a RST is gone and sends nothing but RSTs, so
 * this RST was not the endpoint's own (injected, or a middlebox's), and
 * the peer did not take it either when it was in the window but not
 * exactly at RCV.NXT (RFC 5961 3.2 answers such a RST with an ACK): the
 * observer, which cannot know RCV.NXT, accepted it too soon.  Refusals and
 * RSTs after both FINs are left alone: a SYN retried after a refusal, or a
 * last FIN sent again, says nothing of the kind.
 */
static bool rst_sender_carries_on(const struct cs_conn *c, int side,
				  const struct cs_pkt *p)
{
	const struct cs_endpoint *s = &c->ep[side], *r = &c->ep[!side];

	if (!s->rst_first || c->rst_cause == CS_RST_REFUSED ||
	    c->rst_cause == CS_RST_AFTER_CLOSE)
		return false;
	if ((p->flags & (CS_TH_SYN | CS_TH_RST | CS_TH_ACK)) != CS_TH_ACK ||
	    !(p->payload_len || (p->flags & CS_TH_FIN)))
		return false;
	return p->seq == s->snd_nxt && cs_seq_leq(p->ack, r->snd_nxt);
}

/* The RST is taken back: it counts as one the receiver would not accept. */
static void take_back_rst(struct cs_conn *c)
{
	for (int i = 0; i < 2; i++) {
		struct cs_endpoint *e = &c->ep[i];
		if (e->rst)
			e->invalid_rsts++;
		e->rst = e->rst_first = false;
	}
	c->rst_cause = CS_RST_NONE;
}

/*
 * cs_tcp_segment for a plain segment (cs_tcp_plain), in the same order
 * with the steps it cannot take left out: no older connection's ACK or
 * RST (those need SYN_SENT or a RST), no reset, not a first segment, no
 * SYN or FIN, and no state change (steady).
 */
static inline __attribute__((always_inline)) unsigned
plain_segment_from(struct cs_conn *c, int side, const struct cs_pkt *p)
{
	struct cs_endpoint *s = &c->ep[side];

	s->pkts++;
	s->ip_bytes += p->ip_len;
	if (!segment_acceptable(c, side, p)) {
		s->out_of_window++;
		return CS_EV_OUT_OF_WINDOW;
	}
	bool had_ack = s->have_ack;
	c->ep[!side].unanswered = 0;
	handle_ack(c, side, p);
	unsigned ev = track_sequence(s, p, false);
	if (ev & (CS_EV_RETRANSMIT | CS_EV_KEEPALIVE))
		s->unanswered++;
	ev |= track_window(s, p);
	learn_window(c, side, p, had_ack);
	return ev;
}

/* One copy for each sender: with the side a constant, each endpoint is at
 * a fixed offset in the record, where a variable side has the compiler
 * work out (and, short of registers, work out again) both addresses at
 * every step. */
unsigned cs_tcp_plain_segment(struct cs_conn *c, int side,
			      const struct cs_pkt *p)
{
	return side ? plain_segment_from(c, 1, p) : plain_segment_from(c, 0, p);
}

static inline __attribute__((always_inline)) unsigned
segment_from(struct cs_conn *c, int side, const struct cs_pkt *p)
{
	struct cs_endpoint *s = &c->ep[side];
	unsigned ev = 0;

	s->pkts++;
	s->ip_bytes += p->ip_len;
	/* It sends, so it was not gone: a stack that took the ICMP error
	 * as soft retransmits its SYN. */
	s->gone = false;

	if (old_conn_ack(c, side, p)) {
		c->old_ack = true;
		s->last_ack = p->ack;	/* what the originator's RST will name */
		return CS_EV_OLD_CONN;
	}
	if (old_conn_reset(c, side, p)) {
		c->old_reset = true;
		return CS_EV_OLD_CONN;
	}
	if (p->flags & CS_TH_RST) {
		ev = handle_rst(c, side, p);
		return ev | update_states(c);
	}
	if (cs_tcp_reset(c) && rst_sender_carries_on(c, side, p))
		take_back_rst(c);
	if (cs_tcp_reset(c)) {
		s->sent_any = true;
		/* A connect() retried after a refusal resends the same SYN. */
		if ((p->flags & (CS_TH_SYN | CS_TH_ACK)) == CS_TH_SYN && s->syn &&
		    p->seq == s->isn) {
			s->syn_cnt++;
			return CS_EV_SYN | CS_EV_SYN_RETX;
		}
		return 0;	/* after a RST nothing advances the states */
	}
	bool first = !s->sent_any;
	/* A side's first segment sets its bounds (pf's first packet). */
	if (!first && !(p->flags & CS_TH_SYN) && !segment_acceptable(c, side, p)) {
		s->out_of_window++;
		return CS_EV_OUT_OF_WINDOW;
	}
	s->sent_any = true;
	bool had_ack = s->have_ack;
	c->ep[!side].unanswered = 0;	/* the peer has heard back */
	if (p->flags & CS_TH_SYN)
		ev |= handle_syn(c, side, p);
	if (p->flags & CS_TH_ACK)
		handle_ack(c, side, p);
	unsigned seq_ev = track_sequence(s, p, first);
	if (seq_ev & (CS_EV_RETRANSMIT | CS_EV_KEEPALIVE))
		s->unanswered++;
	ev |= seq_ev;
	if (p->flags & CS_TH_FIN)
		ev |= handle_fin(c, side, p);
	ev |= track_window(s, p);
	learn_window(c, side, p, had_ack);

	if (!c->handshake_done && c->ep[0].syn && c->ep[1].syn &&
	    c->ep[0].syn_acked && c->ep[1].syn_acked) {
		c->handshake_done = true;
		c->ack_ts_us = p->ts_us;
		ev |= CS_EV_ESTABLISHED;
	}
	return ev | update_states(c);
}

/* One copy for each sender, as cs_tcp_plain_segment. */
unsigned cs_tcp_segment(struct cs_conn *c, int side, const struct cs_pkt *p)
{
	return side ? segment_from(c, 1, p) : segment_from(c, 0, p);
}
