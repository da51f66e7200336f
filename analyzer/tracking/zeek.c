/*
 * zeek.c — Zeek's TCP endpoint model, for conn_state and history.
 *
 * The order of operations per segment follows Zeek's TCP analyzer
 * (TCPAnalyzer::DeliverPacket): initialise the sender, compute the relative
 * sequence number, update the history, the zero-window count, the ack and
 * last sequence numbers, then the endpoint state machine.  Only what
 * affects conn_state, history and the byte counts is kept; events, weirds
 * are not modelled.  Of the stream reassembler only what decides a content
 * gap (letters G/g) is: which stretch of each side's data was seen, and
 * what the peer acknowledged.
 */
#include "analyzer/tracking/zeek.h"

#include <ctype.h>
#include <string.h>

#include "capture/pkttime.h"

/* Zeek refuses to trust sequence jumps larger than this (TCP.cc). */
#define TOO_LARGE_SEQ_DELTA 1048576

/* Zeek's timers (zeek/init-bare.zeek defaults), in microseconds. */
#define Z_ATTEMPT_DELAY_US	5000000ull	/* tcp_attempt_delay */
#define Z_CLOSE_DELAY_US	5000000ull	/* tcp_close_delay */
#define Z_RESET_DELAY_US	5000000ull	/* tcp_reset_delay */
#define Z_SYN_TIMEOUT_US	5000000ull	/* tcp_SYN_timeout: first expire tick */
#define Z_SESSION_TIMER_US	6000000ull	/* tcp_session_timer: expire ticks */
#define Z_LINGER_US		5000000ull	/* tcp_connection_linger */
/* (Z_IDLE_HANDSHAKE_US and Z_IDLE_TCP_US: zeek.h, for cs_zeek_plain) */

/* Zeek's endpoint zside (0 its originator) of a record whose own
 * originator may differ in a later segment. */
static struct cs_zeek_ep *zep(struct cs_conn *c, int zside)
{
	return &c->ep[zside ^ c->z_flip].z;
}

static const struct cs_zeek_ep *zep_c(const struct cs_conn *c, int zside)
{
	return &c->ep[zside ^ c->z_flip].z;
}

/* Connection::CheckHistory masks; the responder's are shifted by 16. */
enum {
	HIST_SYN = 0x1,
	HIST_FIN = 0x2,
	HIST_RST = 0x4,
	HIST_FIN_RST = 0x8,
	HIST_DATA = 0x10,
	HIST_ACK = 0x20,
	HIST_MULTI_FLAG = 0x40,
};

const char *const cs_conn_state_names[CS_CS_MAX] = {
	[CS_CS_S0] = "S0", [CS_CS_S1] = "S1", [CS_CS_SF] = "SF",
	[CS_CS_REJ] = "REJ", [CS_CS_S2] = "S2", [CS_CS_S3] = "S3",
	[CS_CS_RSTO] = "RSTO", [CS_CS_RSTR] = "RSTR", [CS_CS_RSTOS0] = "RSTOS0",
	[CS_CS_RSTRH] = "RSTRH", [CS_CS_SH] = "SH", [CS_CS_SHR] = "SHR",
	[CS_CS_OTH] = "OTH",
};

/*
 * Ports Zeek's default analyzers register in likely_server_ports (each
 * protocol script's Analyzer::register_for_ports): a connection seen first
 * from one of these ports is flipped so the server is the responder.
 */
static const uint16_t likely_server_ports[] = {
	21, 22, 23, 25, 53, 80, 81, 88, 102, 110, 111, 135, 139, 143, 389,
	443, 445, 502, 563, 585, 587, 614, 631, 636, 989, 990, 992, 993, 995,
	1080, 1433, 1883, 2811, 3128, 3268, 3306, 3389, 5060, 5222, 5223,
	5269, 5432, 5900, 6379, 6666, 6667, 6668, 6669, 8000, 8080, 8888,
	20000,
};

static bool likely_server_port(uint16_t port)
{
	for (size_t i = 0; i < sizeof likely_server_ports / sizeof likely_server_ports[0]; i++)
		if (likely_server_ports[i] == port)
			return true;
	return false;
}

static void reset_model(struct cs_conn *c, uint64_t now_us)
{
	for (int i = 0; i < 2; i++) {
		struct cs_zeek_ep *z = &c->ep[i].z;
		memset(z, 0, sizeof *z);
		/* Zeek's Reassembler(1): data begins after the SYN's octet */
		z->reasm_seq = z->trim_seq = 1;
	}
	c->hist_seen = 0;
	c->hist_len = 0;
	c->history[0] = '\0';
	c->z_start_us = c->z_last_us = now_us;
	c->z_attempt_at = c->z_remove_at = 0;
	c->z_expire_at[0] = cs_time_add(now_us, Z_SYN_TIMEOUT_US);
	c->z_expire_at[1] = 0;
	c->z_long_idle = false;
}

void cs_zeek_init(struct cs_conn *c, uint64_t now_us)
{
	reset_model(c, now_us);
	c->z_flip = 0;
	c->z_segment = 0;
	c->flipped = false;
}

void cs_zeek_new_segment(struct cs_conn *c, int side, const struct cs_pkt *p)
{
	/* Zeek's byte counts start again with the new row; the connection's
	 * own (the JSON report's, the API's) go on (record index i). */
	for (int i = 0; i < 2; i++)
		c->z_bytes_done[i] += cs_zeek_size(c, i ^ c->z_flip);
	reset_model(c, p->ts_us);
	c->z_segment++;
	/* Zeek's new connection names the sender its originator, unless the
	 * port says it is the server (WantConnection). */
	c->z_flip = (uint8_t)(side ^ cs_zeek_should_flip(p));
	if (cs_zeek_should_flip(p))
		cs_zeek_add_history(c, '^');
}

bool cs_zeek_should_flip(const struct cs_pkt *p)
{
	bool syn = p->flags & CS_TH_SYN, ack = p->flags & CS_TH_ACK;

	if (syn && !ack)
		return false;	/* a bare SYN names its sender the originator */
	if (!likely_server_port(p->sport))
		return false;
	if (likely_server_port(p->dport))
		/* both plausible: flip only for a non-SYN toward a higher port */
		return !syn && p->sport < p->dport;
	return true;
}

/* ---- history ----------------------------------------------------------- */

void cs_zeek_add_history(struct cs_conn *c, char code)
{
	if (c->hist_len < CS_HISTORY_MAX) {
		c->history[c->hist_len++] = code;
		c->history[c->hist_len] = '\0';
	}
}

static char side_code(int side, char code)
{
	return side == 0 ? code : (char)tolower((unsigned char)code);
}

/* Adds the letter the first time only; true if it had been seen before. */
static inline bool check_history(struct cs_conn *c, int side, uint32_t mask, char code)
{
	if (side)
		mask <<= 16;
	if (!(c->hist_seen & mask)) {
		c->hist_seen |= mask;
		cs_zeek_add_history(c, side_code(side, code));
		return false;
	}
	return true;
}

/* Letters for repeated events are logarithmic: at 1, 10, 100, ...
 * (Connection::ScaledHistoryEntry's thresholds are the powers of ten). */
static void scaled_history(struct cs_conn *c, int side, char code,
			   uint32_t *counter)
{
	uint32_t n = ++*counter;

	while (n >= 10 && n % 10 == 0)
		n /= 10;
	if (n == 1)
		cs_zeek_add_history(c, side_code(side, code));
}

/*
 * Zeek's FlipRoles.  In a record's first segment Zeek is finding out who
 * the originator really is, and the record follows; in later segments the
 * record keeps the originator its SYN named and only Zeek's view turns.
 */
static void flip_roles(struct cs_conn *c)
{
	if (c->z_segment == 0) {
		struct cs_endpoint tmp = c->ep[0];
		c->ep[0] = c->ep[1];
		c->ep[1] = tmp;
		c->orig ^= 1;
	} else {
		c->z_flip ^= 1;
	}
	c->flipped = !c->flipped;
}

void cs_zeek_flip(struct cs_conn *c)
{
	flip_roles(c);
	cs_zeek_add_history(c, '^');
}

/*
 * A connection that began with a SYN-ACK, followed by a pure ACK or data:
 * a stealth scan would not do that, so the SYN-ACK's sender is the server
 * (Zeek pull request 2191).  The history so far is rewritten from the new
 * originator's side: '^' first, then the letters with their case swapped.
 */
static void flip_after_synack(struct cs_conn *c)
{
	char old[CS_HISTORY_MAX + 1];

	memcpy(old, c->history, sizeof old);
	flip_roles(c);
	c->hist_len = 0;
	c->history[0] = '\0';
	cs_zeek_add_history(c, '^');
	for (size_t i = 0; old[i]; i++) {
		unsigned char ch = (unsigned char)old[i];
		cs_zeek_add_history(c, (char)(islower(ch) ? toupper(ch) : tolower(ch)));
	}
	c->hist_seen = (c->hist_seen >> 16) | (c->hist_seen << 16);
}

void cs_zeek_bad_checksum(struct cs_conn *c, int side)
{
	int zside = side ^ c->z_flip;
	struct cs_zeek_ep *z = zep(c, zside);
	scaled_history(c, zside, 'C', &z->chk_cnt);
}

/* ---- sequence space ------------------------------------------------------ */

static uint64_t full_seq(uint32_t seq, uint32_t wraps)
{
	return (uint64_t)wraps << 32 | seq;
}

static void update_last_seq_value(struct cs_zeek_ep *z, uint32_t seq)
{
	if (seq < z->last_seq)
		z->seq_wraps++;
	z->last_seq = seq;
}

static void update_ack_seq_value(struct cs_zeek_ep *z, uint32_t seq)
{
	if (seq < z->ack_seq)
		z->ack_wraps++;
	z->ack_seq = seq;
}

static void init_seqs(struct cs_zeek_ep *z, uint32_t start, uint32_t last)
{
	z->start_seq = start;
	z->ack_seq = start;
	z->last_seq = last;
}

static void set_state(struct cs_zeek_ep *z, uint8_t state)
{
	if (state != z->state) {
		z->prev_state = z->state;
		z->state = state;
	}
}

/* init_endpoint: where an endpoint's sequence numbering starts. */
static void init_endpoint(struct cs_zeek_ep *z, uint16_t flags, uint32_t seq,
			  uint32_t last)
{
	bool syn = flags & CS_TH_SYN;

	switch (z->state) {
	case CS_Z_INACTIVE:
		if (syn)
			init_seqs(z, seq, last);
		else
			/* partial: number as though a SYN had been seen */
			init_seqs(z, seq - 1, seq);
		break;
	case CS_Z_SYN_SENT:
	case CS_Z_SYN_ACK_SENT:
	case CS_Z_ESTABLISHED:
	case CS_Z_PARTIAL:
		if (syn && (z->state == CS_Z_ESTABLISHED || z->state == CS_Z_PARTIAL ||
			    seq != z->start_seq))
			init_seqs(z, seq, last);
		break;
	case CS_Z_RESET:
		if (syn && z->prev_state == CS_Z_INACTIVE)
			init_seqs(z, seq, last);	/* the RST was likely spoofed */
		break;
	default:
		break;
	}
}

static inline uint64_t relative_seq(const struct cs_zeek_ep *z, uint32_t cur,
			     uint32_t last, uint32_t wraps, bool *underflow)
{
	int32_t delta = cs_seq_diff(cur, last);

	if (delta < 0) {
		if (wraps && cur > last)
			--wraps;
	} else if (delta > 0) {
		if (cur < last)
			++wraps;
	}
	if (wraps == 0) {
		delta = cs_seq_diff(cur, z->start_seq);
		if (underflow && delta < 0)
			*underflow = true;
		return (uint64_t)(int64_t)delta;
	}
	return full_seq(cur, wraps) - z->start_seq;
}

/* z is zep(c, side), which the caller has at hand. */
static void update_history(struct cs_conn *c, int side, struct cs_zeek_ep *z,
			   uint16_t flags, uint64_t rel_seq, uint32_t len)
{
	bool syn = flags & CS_TH_SYN, fin = flags & CS_TH_FIN,
	     rst = flags & CS_TH_RST, ack = flags & CS_TH_ACK;
	int bits = syn + fin + rst;

	if (bits > 1) {
		if (fin && rst)
			check_history(c, side, HIST_FIN_RST, 'I');
		else
			check_history(c, side, HIST_MULTI_FLAG, 'Q');
		return;
	}
	if (syn) {
		char code = ack ? 'H' : 'S';
		if (check_history(c, side, HIST_SYN, code) &&
		    (uint32_t)rel_seq != z->hist_last_syn)
			cs_zeek_add_history(c, side_code(side, code));
		z->hist_last_syn = (uint32_t)rel_seq;
	} else if (fin) {
		/* a FIN's sequence number is at the end of its data */
		if (check_history(c, side, HIST_FIN, 'F') &&
		    (uint32_t)(rel_seq + len) != z->hist_last_fin)
			cs_zeek_add_history(c, side_code(side, 'F'));
		z->hist_last_fin = (uint32_t)(rel_seq + len);
	} else if (rst) {
		if (check_history(c, side, HIST_RST, 'R') &&
		    (uint32_t)rel_seq != z->hist_last_rst)
			cs_zeek_add_history(c, side_code(side, 'R'));
		z->hist_last_rst = (uint32_t)rel_seq;
	} else if (len) {
		check_history(c, side, HIST_DATA, 'D');
	} else if (ack) {
		check_history(c, side, HIST_ACK, 'A');
	}
}

/* A zero window is news unless it rides a RST or follows the peer's FIN.
 * (The endpoints are looked up only for a zero window: this runs for every
 * segment, and a lookup after the caller's writes reads z_flip again.) */
static inline void update_window(struct cs_conn *c, int side, const struct cs_pkt *p)
{
	if (p->win != 0 || (p->flags & CS_TH_RST))
		return;
	struct cs_zeek_ep *z = zep(c, side), *peer = zep(c, !side);
	if (peer->state != CS_Z_CLOSED && z->state != CS_Z_RESET)
		scaled_history(c, side, 'W', &z->win0_cnt);
}

static void init_peer(struct cs_zeek_ep *peer, uint32_t ack)
{
	init_seqs(peer, ack - 1, ack - 1);
}

static void update_ack(struct cs_zeek_ep *peer, uint32_t ack)
{
	int32_t delta = cs_seq_diff(ack, peer->ack_seq);

	if (ack == 0 && delta > TOO_LARGE_SEQ_DELTA)
		return;		/* more likely a broken ack than a wrap to 0 */
	if (delta > 0)
		update_ack_seq_value(peer, ack);
}

/* z is zep(c, side), which every caller has at hand. */
static inline void update_last_seq(struct cs_conn *c, int side,
				   struct cs_zeek_ep *z, uint32_t last,
				   uint16_t flags, uint32_t len)
{
	int32_t delta = cs_seq_diff(last, z->last_seq);

	if ((flags & (CS_TH_SYN | CS_TH_RST)) &&
	    (delta > TOO_LARGE_SEQ_DELTA || delta < -TOO_LARGE_SEQ_DELTA))
		return;
	if ((flags & CS_TH_FIN) && z->last_seq == z->start_seq + 1)
		update_last_seq_value(z, last);
	else if (z->state == CS_Z_RESET)
		return;
	else if (delta > 0)
		update_last_seq_value(z, last);
	else if (len > 0)
		scaled_history(c, side, 'T', &z->rxmt_cnt);
}

/* ---- content gaps (TCP_Reassembler) ------------------------------------ */

/* is_clean: established, or closed after being established. */
static bool clean(const struct cs_zeek_ep *z)
{
	return z->state == CS_Z_ESTABLISHED ||
	       (z->state == CS_Z_CLOSED && z->prev_state == CS_Z_ESTABLISHED);
}

/*
 * TCP_Reassembler::Gap: a stretch of zside's data was acknowledged but
 * never seen.  Zeek records it only while both sides are cleanly
 * established or closing: elsewhere a gap is as likely a RST's odd
 * sequence number or the unseen start of a partial connection.
 */
static void content_gap(struct cs_conn *c, int zside)
{
	struct cs_zeek_ep *z = zep(c, zside);

	if (clean(z) && clean(zep(c, !zside)))
		scaled_history(c, zside, 'G', &z->gap_cnt);
}

/* a before b, in sequence space (RFC 9293 3.4: mod 2^32) */
static bool before(uint32_t a, uint32_t b)
{
	return cs_seq_diff(a, b) < 0;
}

static bool holding(const struct cs_zeek_ep *z)
{
	return z->ooo_lo != z->ooo_hi;
}

/* BlockInserted: data reaching reasm_seq is delivered, and with it the
 * held range once it joins on. */
static void deliver_to(struct cs_zeek_ep *z, uint32_t upper)
{
	if (before(z->reasm_seq, upper))
		z->reasm_seq = upper;
	if (holding(z) && !before(z->reasm_seq, z->ooo_lo)) {
		if (before(z->reasm_seq, z->ooo_hi))
			z->reasm_seq = z->ooo_hi;
		z->ooo_lo = z->ooo_hi = 0;
	}
}

/*
 * TCP_Reassembler::DataSent for the stretch [seq, upper) of zside's data
 * (relative).  What the peer acknowledged or was trimmed is old.  A
 * stretch above a hole is held: one range, widened to cover them all (a
 * second hole inside it is taken for seen; Zeek keeps every block).
 */
static inline void data_sent(struct cs_zeek_ep *z, uint32_t seq, uint32_t upper)
{
	uint32_t acked = z->ack_seq - z->start_seq;

	if (before(seq, acked)) {
		if (!before(acked, upper))
			return;
		seq = acked;
	}
	if (!before(z->trim_seq, upper))
		return;
	if (before(seq, z->trim_seq))
		seq = z->trim_seq;
	if (!before(z->reasm_seq, seq)) {
		deliver_to(z, upper);
	} else if (!holding(z)) {
		z->ooo_lo = seq;
		z->ooo_hi = upper;
	} else {
		if (before(seq, z->ooo_lo))
			z->ooo_lo = seq;
		if (before(z->ooo_hi, upper))
			z->ooo_hi = upper;
	}
}

/* Was Zeek's connection partial from its first packets (note_partial)? */
static bool opened_partial(const struct cs_conn *c)
{
	return zep_c(c, 0)->opened_partial || zep_c(c, 1)->opened_partial;
}

/*
 * TCP_Reassembler::AckReceived: the peer acknowledged zside's data up
 * to ack.  What was never seen below it is a gap: before the held range
 * (then delivered), and after it.  An ack of the FIN is an ack of the
 * data before it; the first octets of a partial connection are never
 * called missing (TCP_Reassembler::Undelivered).  z is zep(c, zside), which
 * the callers have at hand.  Always inline: with two callers gcc -O2 calls
 * it even when asked inline, and the call with its register saves cost a
 * third of its own work on every ACK.
 */
static inline __attribute__((always_inline)) void
ack_received(struct cs_conn *c, int zside, struct cs_zeek_ep *z, uint32_t ack)
{
	if (z->fin_cnt && !before(ack, z->fin_seq))
		ack = z->fin_seq - 1;
	if (!before(z->trim_seq, ack))
		return;
	if (before(z->reasm_seq, ack) && !(ack <= 2 && opened_partial(c))) {
		if (holding(z) && before(z->ooo_lo, ack)) {
			content_gap(c, zside);
			deliver_to(z, z->ooo_hi);
		}
		if (before(z->reasm_seq, ack)) {
			content_gap(c, zside);
			z->reasm_seq = ack;
		}
	}
	z->trim_seq = ack;
	if (holding(z) && !before(ack, z->ooo_hi))
		z->ooo_lo = z->ooo_hi = 0;
}

/* ---- the endpoint state machine (TCPSessionAdapter::Update*State) ------- */

/* Returns the sender's side, which a SYN/SYN-ACK reversal changes. */
static int update_inactive(struct cs_conn *c, int side, uint16_t flags,
			   uint32_t seq, uint32_t len, bool *close)
{
	struct cs_zeek_ep *z = zep(c, side), *peer = zep(c, !side);
	bool syn = flags & CS_TH_SYN, ack = flags & CS_TH_ACK;

	if (syn) {
		if (side == 0) {
			set_state(z, ack ? CS_Z_SYN_ACK_SENT : CS_Z_SYN_SENT);
		} else {
			if (!ack && peer->state == CS_Z_SYN_ACK_SENT &&
			    seq == z->start_seq) {
				/* The SYN-ACK was seen before its SYN: swap the
				 * roles, and the connection is established. */
				cs_zeek_flip(c);
				side = !side;
				z = zep(c, side);
				peer = zep(c, !side);
				set_state(peer, CS_Z_ESTABLISHED);
			}
			if (peer->state == CS_Z_SYN_SENT)
				set_state(peer, CS_Z_ESTABLISHED);
			set_state(z, CS_Z_ESTABLISHED);
		}
	}
	if (flags & CS_TH_FIN) {
		set_state(z, CS_Z_CLOSED);
		*close = true;
	}
	if (flags & CS_TH_RST) {
		set_state(z, CS_Z_RESET);
		*close = true;
	}
	if (z->state == CS_Z_INACTIVE) {
		struct cs_zeek_ep *orig = zep(c, 0);
		if (side == 1 && len == 0 && orig->state == CS_Z_SYN_SENT)
			;	/* an ACK for a SYN before the SYN-ACK: not partial */
		else if (ack && peer->state == CS_Z_ESTABLISHED)
			set_state(z, CS_Z_ESTABLISHED);	/* missed the SYN */
		else
			set_state(z, CS_Z_PARTIAL);
	}
	return side;
}

static void update_syn_sent(struct cs_zeek_ep *z, uint16_t flags, bool *close)
{
	if (flags & CS_TH_FIN) {
		set_state(z, CS_Z_CLOSED);
		*close = true;
	}
	if (flags & CS_TH_RST) {
		set_state(z, CS_Z_RESET);
		*close = true;
	}
}

static void update_established(struct cs_zeek_ep *z, struct cs_zeek_ep *peer,
			       uint16_t flags, bool *close)
{
	if ((flags & CS_TH_SYN) && !(flags & CS_TH_ACK) &&
	    z->state == CS_Z_PARTIAL && peer->state == CS_Z_INACTIVE)
		set_state(z, CS_Z_SYN_SENT);
	if ((flags & CS_TH_FIN) && !(flags & CS_TH_RST)) {
		set_state(z, CS_Z_CLOSED);
		/* a FIN followed by a RST from the peer was a normal close */
		if (peer->state == CS_Z_RESET && peer->prev_state == CS_Z_CLOSED)
			set_state(peer, CS_Z_CLOSED);
		*close = true;
	}
	if (flags & CS_TH_RST) {
		set_state(z, CS_Z_RESET);
		*close = true;
	}
}

static void update_closed(struct cs_zeek_ep *z, const struct cs_zeek_ep *peer,
			  uint16_t flags, bool *close)
{
	/* After a FIN exchange a RST does not change anything. */
	if ((flags & CS_TH_RST) && peer->state != CS_Z_CLOSED) {
		set_state(z, CS_Z_RESET);
		if (!z->did_close)
			*close = true;
	}
}

static bool is_handshake(uint8_t state)
{
	return state == CS_Z_INACTIVE || state == CS_Z_SYN_SENT ||
	       state == CS_Z_SYN_ACK_SENT;
}

/*
 * ConnectionClosed: the first close of an endpoint arms Zeek's removal.
 * Complete (a RST, or the peer closed or never spoke): gone after
 * tcp_close_delay; otherwise an expire chain looks for the other side.
 */
static void arm_close_timers(struct cs_conn *c, int zside)
{
	struct cs_zeek_ep *z = zep(c, zside), *peer = zep(c, !zside);

	if (z->did_close)
		return;
	z->did_close = true;
	if (z->state == CS_Z_RESET || peer->did_close || peer->state == CS_Z_INACTIVE) {
		if (!c->z_remove_at)
			c->z_remove_at = cs_time_add(c->z_last_us, Z_CLOSE_DELAY_US);
	} else if (z->prev_state != CS_Z_INACTIVE && !c->z_expire_at[1]) {
		c->z_expire_at[1] = cs_time_add(c->z_last_us, Z_SESSION_TIMER_US);
	}
}

/* SetPartialStatus: Zeek's connection is partial when its originator's
 * first packet is not a bare SYN, or its responder's is no SYN. */
static void note_partial(struct cs_zeek_ep *z, int zside, uint16_t flags)
{
	bool syn = flags & CS_TH_SYN, ack = flags & CS_TH_ACK;

	z->opened_partial = zside == 0 ? !syn || ack : !syn;
}

/*
 * After the state machine, as TCPSessionAdapter::DeliverPacket does it
 * (so that a gap an ack reveals is judged by the states it leaves): the
 * ack to the peer's reassembler, then this segment's data to the
 * sender's: data outside a RST, not starting before the sender's first
 * sequence number (rel_seq UINT64_MAX: Zeek's seq_underflow).
 *
 * Unlike Zeek, data the snap length cut counts as seen.  Zeek delivers
 * no payload it lacks (TCP_Endpoint::DataSent: "truncated_tcp_payload"),
 * so on a capture of headers its acks all read as gaps; connscope cuts
 * payloads by design (a live capture keeps 256 bytes), and a gap letter
 * should keep meaning segments that never reached the capture.  z and
 * peer are zep(c, zside) and zep(c, !zside).
 */
static inline void reassemble(struct cs_conn *c, int zside,
			      struct cs_zeek_ep *z, struct cs_zeek_ep *peer,
			      const struct cs_pkt *p, uint64_t rel_seq,
			      uint64_t rel_ack)
{
	if (p->flags & CS_TH_ACK)
		ack_received(c, !zside, peer, (uint32_t)rel_ack);
	if (p->payload_len == 0 || (p->flags & CS_TH_RST) || rel_seq == UINT64_MAX)
		return;
	uint32_t data_seq = (uint32_t)((p->flags & CS_TH_SYN) ? rel_seq + 1 : rel_seq);
	data_sent(z, data_seq, data_seq + p->payload_len);
}

/* The ack of p for the peer: its sequence numbers, and the ack relative
 * to them (0 when it lies below them, 1 when it first numbers them). */
static inline uint64_t take_ack(struct cs_zeek_ep *peer, const struct cs_pkt *p)
{
	bool underflow = false;

	if (peer->state == CS_Z_INACTIVE) {
		init_peer(peer, p->ack);
		return 1;
	}
	uint64_t rel_ack = relative_seq(peer, p->ack, peer->ack_seq,
					peer->ack_wraps, &underflow);
	if (underflow)
		return 0;
	if (!(p->flags & CS_TH_RST))
		update_ack(peer, p->ack);	/* RST acks are not trusted */
	return rel_ack;
}

/* A SYN-ACK opened the connection and an ACK or data follows it. */
static bool synack_then_ack(const struct cs_conn *c, uint16_t flags)
{
	return zep_c(c, 0)->state == CS_Z_SYN_ACK_SENT &&
	       zep_c(c, 1)->state == CS_Z_INACTIVE &&
	       !(flags & (CS_TH_SYN | CS_TH_FIN | CS_TH_RST));
}

int cs_zeek_segment(struct cs_conn *c, int side, const struct cs_pkt *p)
{
	uint16_t flags = p->flags;
	uint32_t len = p->payload_len;
	uint32_t seg_len = len + !!(flags & CS_TH_SYN) + !!(flags & CS_TH_FIN);
	bool close = false;

	if (synack_then_ack(c, flags)) {
		flip_after_synack(c);
		if (c->z_segment == 0)
			side = !side;	/* the record turned with Zeek */
	}
	int zside = side ^ c->z_flip;
	/* Zeek's two endpoints, looked up again only after a flip (each
	 * lookup after a write would read z_flip again) */
	struct cs_zeek_ep *z = zep(c, zside), *peer = zep(c, !zside);

	if (flags & CS_TH_RST)
		seg_len -= len;	/* a RST's data is not part of the stream */
	uint32_t one_past = p->seq + seg_len;

	z->pkts++;
	z->ip_bytes += p->ip_len;
	init_endpoint(z, flags, p->seq, one_past);
	bool seq_underflow = false;
	uint64_t rel_seq = relative_seq(z, p->seq, z->last_seq, z->seq_wraps,
					&seq_underflow);
	update_history(c, zside, z, flags, rel_seq, len);
	update_window(c, zside, p);
	if (!z->did_close || !peer->did_close)
		c->z_last_us = p->ts_us;

	if (z->pkts == 1)
		note_partial(z, zside, flags);
	if (flags & CS_TH_FIN) {
		z->fin_cnt++;
		z->fin_seq = (uint32_t)(rel_seq + seg_len);
	}
	uint64_t rel_ack = (flags & CS_TH_ACK) ? take_ack(peer, p) : 0;
	update_last_seq(c, zside, z, one_past, flags, len);

	uint8_t before = z->state;
	switch (z->state) {
	case CS_Z_INACTIVE:
		zside = update_inactive(c, zside, flags, p->seq, len, &close);
		z = zep(c, zside);	/* it may have flipped */
		peer = zep(c, !zside);
		break;
	case CS_Z_SYN_SENT:
	case CS_Z_SYN_ACK_SENT:
		update_syn_sent(z, flags, &close);
		break;
	case CS_Z_ESTABLISHED:
	case CS_Z_PARTIAL:
		update_established(z, peer, flags, &close);
		break;
	case CS_Z_CLOSED:
		if ((flags & CS_TH_RST) && peer->state != CS_Z_CLOSED)
			c->z_remove_at = cs_time_add(p->ts_us, Z_RESET_DELAY_US); /* ResetTimer */
		update_closed(z, peer, flags, &close);
		break;
	default:	/* RESET: nothing moves it */
		break;
	}
	reassemble(c, zside, z, peer, p, seq_underflow ? UINT64_MAX : rel_seq,
		   rel_ack);
	/* The attempt timer starts with the originator's first SYN. */
	if (zside == 0 && before == CS_Z_INACTIVE && (flags & CS_TH_SYN) &&
	    !c->z_attempt_at)
		c->z_attempt_at = cs_time_add(p->ts_us, Z_ATTEMPT_DELAY_US);
	if (!is_handshake(z->state) || !is_handshake(peer->state))
		c->z_long_idle = true;
	if (close)
		arm_close_timers(c, zside);
	/* back to the record's side: flips may have moved it */
	return zside ^ c->z_flip;
}

/*
 * cs_zeek_segment for a plain segment (cs_zeek_plain), in the same order
 * with the steps it cannot take left out: no SYN-ACK to flip after, no
 * endpoint to initialise, not a first packet, no FIN, no state change (an
 * established endpoint moves only on SYN, FIN or RST), no timer to arm.
 */
static inline __attribute__((always_inline)) void
plain_segment_from(struct cs_conn *c, int side, const struct cs_pkt *p)
{
	int zside = side ^ c->z_flip;
	/* Zeek's endpoint zside is the record's ep[side] (zep), and no flip
	 * happens on this path: both are at fixed places in the record. */
	struct cs_zeek_ep *z = &c->ep[side].z, *peer = &c->ep[!side].z;
	uint32_t len = p->payload_len;
	bool seq_underflow = false;

	z->pkts++;
	z->ip_bytes += p->ip_len;
	uint64_t rel_seq = relative_seq(z, p->seq, z->last_seq, z->seq_wraps,
					&seq_underflow);
	if (len)
		check_history(c, zside, HIST_DATA, 'D');
	else
		check_history(c, zside, HIST_ACK, 'A');
	update_window(c, zside, p);
	c->z_last_us = p->ts_us;
	uint64_t rel_ack = take_ack(peer, p);
	update_last_seq(c, zside, z, p->seq + len, p->flags, len);
	/* reassemble(), for an ACK with no SYN or RST */
	ack_received(c, !zside, peer, (uint32_t)rel_ack);
	if (len && !seq_underflow)
		data_sent(z, (uint32_t)rel_seq, (uint32_t)rel_seq + len);
	c->z_long_idle = true;
}

/* One copy for each sender (a constant side: fixed offsets), as
 * cs_tcp_plain_segment. */
void cs_zeek_plain_segment(struct cs_conn *c, int side, const struct cs_pkt *p)
{
	if (side)
		plain_segment_from(c, 1, p);
	else
		plain_segment_from(c, 0, p);
}

/*
 * TCPSessionAdapter::IsReuse: would Zeek take this SYN for a new
 * connection?  Once either side has closed, any SYN starts one (so a SYN
 * retried after a refusal is a new conn.log row); otherwise only a SYN
 * whose sequence number is not where the connection started (for a
 * SYN-ACK, only while Zeek's originator has sent nothing).  A SYN that
 * follows its own SYN-ACK is the reversal, not a reuse.
 */
bool cs_zeek_reuse(const struct cs_conn *c, const struct cs_pkt *p)
{
	const struct cs_zeek_ep *o = zep_c(c, 0), *r = zep_c(c, 1);
	const struct cs_zeek_ep *opener = o;
	bool ack = p->flags & CS_TH_ACK;

	if (!(p->flags & CS_TH_SYN))
		return false;
	if (ack) {
		if (o->state != CS_Z_INACTIVE)
			return false;
		opener = r;
	}
	if (o->did_close || r->did_close)
		return true;
	if (p->seq == opener->start_seq)
		return false;
	if (!ack && opener->state == CS_Z_SYN_ACK_SENT &&
	    r->state == CS_Z_INACTIVE && p->seq == r->start_seq)
		return false;
	return true;
}

/* The first tick of an expire chain after `after`, given its next tick;
 * CS_TIME_NEVER if that is past the last packet time. */
static uint64_t chain_tick_after(uint64_t next, uint64_t after)
{
	if (next > after)
		return next;
	uint64_t steps = (after - next) / Z_SESSION_TIMER_US + 1;
	if (steps > (CS_TIME_NEVER - next) / Z_SESSION_TIMER_US)
		return CS_TIME_NEVER;
	return next + steps * Z_SESSION_TIMER_US;
}

/*
 * When would Zeek have removed this connection, if no packet came after
 * its last one?  Its timers fire in packet time; each removal would start
 * a new connection (a new conn.log row) on the next packet.
 */
uint64_t cs_zeek_removal_time(const struct cs_conn *c)
{
	const struct cs_zeek_ep *o = zep_c(c, 0), *r = zep_c(c, 1);
	uint64_t t = cs_time_add(c->z_last_us, c->z_long_idle ? Z_IDLE_TCP_US :
							     Z_IDLE_HANDSHAKE_US);

	if (c->z_remove_at && c->z_remove_at < t)
		t = c->z_remove_at;
	if (c->z_attempt_at && c->z_attempt_at < t &&
	    (o->state == CS_Z_SYN_SENT || o->state == CS_Z_SYN_ACK_SENT) &&
	    r->state == CS_Z_INACTIVE)
		t = c->z_attempt_at;

	/* ExpireTimer: after tcp_connection_linger of silence, a connection
	 * with a closed side goes once both closed, one reset, or one never
	 * spoke; one where nobody spoke at all goes too. */
	bool any_closed = o->did_close || r->did_close;
	bool gone = (o->did_close && r->did_close) || o->state == CS_Z_RESET ||
		    r->state == CS_Z_RESET || o->state == CS_Z_INACTIVE ||
		    r->state == CS_Z_INACTIVE;
	if ((any_closed && gone) ||
	    (o->state == CS_Z_INACTIVE && r->state == CS_Z_INACTIVE)) {
		for (int i = 0; i < 2; i++) {
			if (!c->z_expire_at[i])
				continue;
			uint64_t tick = chain_tick_after(c->z_expire_at[i],
							 cs_time_add(c->z_last_us, Z_LINGER_US));
			if (tick < t)
				t = tick;
		}
	}
	return t;
}

/* ---- results ------------------------------------------------------------- */

uint64_t cs_zeek_size(const struct cs_conn *c, int zside)
{
	const struct cs_zeek_ep *z = zep_c(c, zside), *peer = zep_c(c, !zside);
	uint64_t start = z->start_seq;
	uint64_t last = full_seq(z->last_seq, z->seq_wraps);
	uint64_t ack = full_seq(z->ack_seq, z->ack_wraps);

	/* A half-open connection discovered and aborted: its sequence
	 * numbers say nothing about data (TCP_Endpoint::Size). */
	bool no_data_acked = ack == start || ack == start + 1;
	if (z->prev_state == CS_Z_SYN_SENT && z->state == CS_Z_RESET &&
	    peer->state == CS_Z_INACTIVE && !no_data_acked)
		return 0;

	uint64_t size = (last > ack ? last : ack) - start;
	if (size != 0)
		--size;		/* the SYN's octet */
	if (z->fin_cnt > 0 && size != 0)
		--size;		/* the FIN's octet */
	return size;
}

const struct cs_zeek_ep *cs_zeek_ep_of(const struct cs_conn *c, int zside)
{
	return zep_c(c, zside);
}

/* Zeek's conn_state() (base/protocols/conn/main.zeek), verbatim in logic. */
enum cs_conn_state cs_zeek_conn_state(const struct cs_conn *c)
{
	uint8_t os = zep_c(c, 0)->state, rs = zep_c(c, 1)->state;
	bool o_inactive = os == CS_Z_INACTIVE || os == CS_Z_PARTIAL;
	bool r_inactive = rs == CS_Z_INACTIVE || rs == CS_Z_PARTIAL;

	if (rs == CS_Z_RESET) {
		if (os == CS_Z_SYN_SENT || os == CS_Z_SYN_ACK_SENT ||
		    (os == CS_Z_RESET && cs_zeek_size(c, 0) == 0 &&
		     cs_zeek_size(c, 1) == 0))
			return CS_CS_REJ;
		return o_inactive ? CS_CS_RSTRH : CS_CS_RSTR;
	}
	if (os == CS_Z_RESET) {
		if (!r_inactive)
			return CS_CS_RSTO;
		/* history ~ /^\^?S[^HAFGIQ]*R/: a SYN, then the RST, no answer */
		const char *h = c->history;
		if (*h == '^')
			h++;
		if (*h == 'S') {
			size_t n = strcspn(h + 1, "HAFGIQR");
			if (h[1 + n] == 'R')
				return CS_CS_RSTOS0;
		}
		return CS_CS_OTH;
	}
	if (rs == CS_Z_CLOSED && os == CS_Z_CLOSED)
		return CS_CS_SF;
	if (os == CS_Z_CLOSED)
		return r_inactive ? CS_CS_SH : CS_CS_S2;
	if (rs == CS_Z_CLOSED)
		return o_inactive ? CS_CS_SHR : CS_CS_S3;
	if (os == CS_Z_SYN_SENT && rs == CS_Z_INACTIVE)
		return CS_CS_S0;
	if (os == CS_Z_ESTABLISHED && rs == CS_Z_ESTABLISHED)
		return CS_CS_S1;
	return CS_CS_OTH;
}
