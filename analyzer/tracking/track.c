/*
 * track.c — segments to records: lookup, reuse, both models, re-filing.
 */
#include "analyzer/tracking/track.h"

#include "analyzer/tracking/tcp.h"
#include "analyzer/tracking/zeek.h"
#include "capture/pkttime.h"

static bool is_bare_syn(const struct cs_pkt *p)
{
	return (p->flags & (CS_TH_SYN | CS_TH_ACK | CS_TH_RST)) == CS_TH_SYN;
}

/* Reset, or closed by both sides (TIME_WAIT included). */
static bool finished(const struct cs_conn *c)
{
	enum cs_flow_list l = cs_flow_classify(c);
	return l == CS_LIST_CLOSED || l == CS_LIST_RESET;
}

/*
 * Does this bare SYN open a new connection on a known 4-tuple (f: of its
 * record, or of the evicted connection kept in its place)?
 * Retransmissions of one attempt (same ISN: also after a refusal, which
 * Windows retries) and a responder's SYN during a simultaneous open stay;
 * a SYN with a new ISN (a new socket bound to the same port), or any
 * other SYN after the connection finished, starts a new record.
 */
static bool syn_starts_new(const struct cs_syn_facts *f, int side,
			   const struct cs_pkt *p)
{
	if (f->syn[side])
		return p->seq != f->isn[side];
	if (f->finished)
		return true;
	if (side == 1 && f->syn[0])
		return false;	/* simultaneous open, or SYN/SYN-ACK reordered */
	if (f->syn[!side] && f->last_ack[!side] == p->seq + 1)
		return false;	/* the SYN its peer's SYN-ACK already answered */
	return true;		/* a SYN on a connection picked up midstream */
}

/* syn_starts_new on record c, whose facts it leaves in *f. */
static bool syn_starts_new_on(const struct cs_conn *c, int side,
			      const struct cs_pkt *p, struct cs_syn_facts *f)
{
	*f = cs_syn_facts_of(c, finished(c));
	return syn_starts_new(f, side, p);
}

/* The key indexes of f's connection, last heard from at last_us, still in
 * TIME_WAIT at now_us: 2*MSL after the last segment it is over, expired
 * or not.  (A port reuse of them: the new connection's reuse_tw.) */
static uint8_t still_in_time_wait(const struct cs_flow_table *t,
				  const struct cs_syn_facts *f, uint64_t last_us,
				  uint64_t now_us)
{
	return cs_time_add(last_us, t->opt.closed_timeout_us) > now_us ? f->tw : 0;
}

/*
 * Is p a later packet of a connection the table evicted (evicted.h)?  It
 * opens no record then: it is counted, and keeps the connection's key.
 * A SYN that would have started a new connection on the record starts one;
 * so does any SYN on an evicted handshake: a retransmitted SYN may yet be
 * answered, and a record that begins with it follows the connection whole.
 * (Taken in, the SYNs that a full backlog made a client repeat hid their
 * connections' completion: samples/synflood-backlog.pcap at --max-flows
 * 500 reported one completed connection of four.)  A new connection on
 * the 4-tuple of a finished one is a port reuse, as with the record:
 * *reuse, and in *tw the key indexes still in TIME_WAIT.  (Without it,
 * LARGE at --max-flows 100000 flagged none of the 32,556 port reuses the
 * whole table sees; with it, 10,567: those whose key was still kept.)
 */
static bool of_evicted(struct cs_flow_table *t, const struct cs_pkt *p,
		       const struct cs_flow_where *w, bool *reuse, uint8_t *tw)
{
	struct cs_evicted_key *g = cs_flow_evicted(t, w, p->ts_us);

	if (!g)
		return false;
	if (is_bare_syn(p) && (g->list == CS_LIST_EMBRYONIC ||
			       syn_starts_new(&g->syn, w->side == g->orig ? 0 : 1, p))) {
		*reuse = g->syn.finished;
		*tw = still_in_time_wait(t, &g->syn,
					 cs_evicted_last_heard(&t->evicted_keys, g),
					 p->ts_us);
		cs_evicted_forget(g);
		return false;
	}
	cs_flow_evicted_packet(t, g, p->ts_us);
	return true;
}

static struct cs_conn *new_record(struct cs_flow_table *t,
				  const struct cs_flow_where *w,
				  const struct cs_pkt *p)
{
	struct cs_conn *c = cs_flow_create_at(t, w, p->ts_us);

	if (!c)
		return NULL;	/* refused: the table counted why */
	c->orig = (uint8_t)w->side;
	c->tunnel = p->tunnel;
	cs_zeek_init(c, p->ts_us);
	/* No SYN to name the originator: guess the server by its port, as
	 * Zeek does, so the two agree on direction. */
	if (cs_zeek_should_flip(p))
		cs_zeek_flip(c);
	return c;
}

/* The record for p, given the one found at w (c, maybe NULL): a new one
 * if none, or in place of a finished one on reuse; NULL when p belongs to
 * an evicted connection or the table refused a new one. */
static struct cs_conn *record_for(struct cs_flow_table *t, const struct cs_pkt *p,
				  const struct cs_flow_where *w,
				  struct cs_conn *c, int *side)
{
	int kside = w->side;
	bool reuse = false;
	uint8_t tw = 0;

	if (!c && of_evicted(t, p, w, &reuse, &tw))
		return NULL;	/* counted in the table's untracked[] */
	struct cs_syn_facts f;
	if (c && is_bare_syn(p) && syn_starts_new_on(c, kside == c->orig ? 0 : 1, p, &f)) {
		reuse = f.finished;
		tw = still_in_time_wait(t, &f, c->last_ts_us, p->ts_us);
		/* the new connection takes the 4-tuple: TIME_WAIT is over */
		cs_tcp_end_time_wait(c, p->ts_us, t->opt.closed_timeout_us, true);
		cs_flow_remove(t, c, p->ts_us);
		c = NULL;
	}
	if (!c) {
		c = new_record(t, w, p);
		if (!c)
			return NULL;
		c->port_reuse = reuse;
		c->reuse_tw = tw;
		c->id_fresh = true;
	}
	*side = kside == c->orig ? 0 : 1;
	/* Zeek would have removed the connection by now, or takes this SYN
	 * for a new one: its conn.log row ends here and a new one starts,
	 * while the record goes on. */
	if (!c->id_fresh && (cs_zeek_removal_time(c) <= p->ts_us ||
			     cs_zeek_reuse(c, p))) {
		if (t->zeek_row)
			t->zeek_row(t->done_ctx, c, p->ts_us);
		cs_zeek_new_segment(c, *side, p);
	}
	c->id_fresh = false;
	return c;
}

unsigned cs_track_segment(struct cs_flow_table *t, const struct cs_pkt *p,
			  struct cs_conn **conn, int *side)
{
	struct cs_flow_where w;

	cs_flow_where(t, p, &w);
	return cs_track_segment_at(t, p, &w, conn, side);
}

/*
 * The fast path: a plain segment (no SYN, FIN or RST) on a connection that
 * both models hold established can open no record, start no conn.log row
 * (neither a reuse nor, as cs_zeek_plain checks, past Zeek's removal) and
 * change no state, so each model takes it on its short path.  Both are
 * asked before either writes, so a segment either model turns away goes
 * the whole way untouched.
 */
static bool plain_segment(struct cs_conn *c, const struct cs_pkt *p, int side,
			  unsigned *ev)
{
	/* (the flags first: a third of the segments fail on them alone) */
	if ((p->flags & (CS_TH_SYN | CS_TH_FIN | CS_TH_RST | CS_TH_ACK)) != CS_TH_ACK ||
	    !cs_zeek_plain(c, side, p) || !cs_tcp_plain(c, p))
		return false;
	cs_zeek_plain_segment(c, side, p);
	*ev = cs_tcp_plain_segment(c, side, p);
	return true;
}

unsigned cs_track_segment_at(struct cs_flow_table *t, const struct cs_pkt *p,
			     const struct cs_flow_where *w,
			     struct cs_conn **conn, int *side)
{
	struct cs_conn *c = cs_flow_find(t, w, p->ts_us);
	unsigned ev;

	if (c) {
		*side = w->side == c->orig ? 0 : 1;
		if (plain_segment(c, p, *side, &ev)) {
			*conn = c;
			/* no state moved: its list is the same */
			cs_flow_touch_on_list(t, c, p->ts_us);
			return ev;
		}
	}
	c = record_for(t, p, w, c, side);
	*conn = c;
	if (!c)
		return 0;
	*side = cs_zeek_segment(c, *side, p);	/* may swap the roles */
	ev = cs_tcp_segment(c, *side, p);
	cs_flow_touch(t, c, p->ts_us);
	return ev;
}

struct cs_conn *cs_track_bad_checksum(struct cs_flow_table *t,
				      const struct cs_pkt *p,
				      const struct cs_flow_where *w)
{
	int side;
	struct cs_conn *c = record_for(t, p, w, cs_flow_find(t, w, p->ts_us), &side);

	if (!c)
		return NULL;
	cs_zeek_bad_checksum(c, side);
	cs_flow_touch(t, c, p->ts_us);
	return c;
}

struct cs_conn *cs_track_icmp(struct cs_flow_table *t, const struct cs_pkt *p,
			      const struct cs_flow_where *w, bool *of_evicted)
{
	int kside = w->side;
	struct cs_conn *c = cs_flow_find(t, w, p->ts_us);
	*of_evicted = false;
	if (!c) {
		struct cs_evicted_key *g = cs_flow_evicted(t, w, p->ts_us);
		if (g) {
			cs_flow_evicted_packet(t, g, p->ts_us);
			*of_evicted = true;
		}
		return NULL;
	}
	if (!c->have_icmp) {
		c->have_icmp = true;
		c->icmp_type = p->icmp.type;
		c->icmp_code = p->icmp.code;
		c->icmp_from = p->icmp.from;
	}
	c->icmp_cnt++;
	/* An unreachable about the originator's own SYN ends its connect(). */
	bool unreachable = cs_icmp_is_unreachable(cs_addr_is_v4(&p->src), p->icmp.type);
	int sender = kside == c->orig ? 0 : 1;
	if (unreachable && sender == 0)
		cs_tcp_icmp_unreachable(c, p->seq);
	cs_flow_touch(t, c, p->ts_us);
	return c;
}
