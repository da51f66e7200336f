/*
 * check_tcp.c — the RFC 9293 observer, through cs_track_segment: scripts of
 * segments with both endpoints' states asserted after every step, then the
 * outcome, Zeek's conn_state/history and the per-side counters.
 *
 * Segments are cs_pkt views filled directly (no bytes): the tracker never
 * looks past the view.  Every script runs twice, with the client's address
 * below and above the server's, so the canonical key's order and the
 * record's originator are independent.
 */
#include <stdio.h>
#include <string.h>

#include "analyzer/tracking/diagnose.h"
#include "analyzer/tracking/flow.h"
#include "analyzer/tracking/tcp.h"
#include "analyzer/tracking/track.h"
#include "analyzer/tracking/zeek.h"
#include "tests/pktbuild.h"
#include "tests/suites.h"

enum { CLI, SRV };

#define W 64240u		/* a typical window; no scaling is negotiated */
#define CISN 1000u		/* the client's ISN */
#define SISN 5000u		/* the server's ISN */
#define CPORT 40000
#define SPORT 80
#define T0 1700000000000000ull	/* packet time of the first step */
#define SYN_TIMEOUT_US 3000000ull

struct step {
	uint8_t who;		/* CLI or SRV */
	uint16_t flags;
	uint32_t seq, ack, len;
	uint16_t win;
	uint8_t cli, srv;	/* both endpoints' states after the step */
	bool check_ev;
	unsigned ev;		/* the CS_EV_* bits, exactly, if check_ev */
};

#define ST(w, f, s, a, l, wn, cs, ss) \
	{ w, f, s, a, l, wn, CS_TCP_##cs, CS_TCP_##ss, false, 0 }
#define STE(w, f, s, a, l, wn, cs, ss, e) \
	{ w, f, s, a, l, wn, CS_TCP_##cs, CS_TCP_##ss, true, e }

/* The three-way handshake every script after it starts with. */
#define HANDSHAKE \
	STE(CLI, SYN, CISN, 0, 0, W, SYN_SENT, CLOSED, CS_EV_SYN), \
	STE(SRV, SYNACK, SISN, CISN + 1, 0, W, SYN_SENT, SYN_RECEIVED, \
	    CS_EV_SYNACK), \
	STE(CLI, ACK, CISN + 1, SISN + 1, 0, W, ESTABLISHED, ESTABLISHED, \
	    CS_EV_ESTABLISHED)

struct script {
	const char *name;
	const struct step *steps;
	size_t n;
	uint64_t gap_us;		/* between steps; 0: 1 ms */
	/* At the end (names as exported; NULL: not checked). */
	const char *outcome;
	uint64_t judge_after_us;	/* capture end, after the last step */
	const char *rst_cause;
	const char *conn_state;
	const char *history;
	/* Always checked (0 unless given). */
	uint32_t invalid_rsts;
	uint32_t retransmits[2], keepalives[2], zero_windows[2];
	uint32_t out_of_window[2];
	/* Checked when either is nonzero. */
	uint32_t syn_cnt[2];
};

#define STEPS(a) .steps = a, .n = sizeof a / sizeof a[0]

/* ---- the handshake and the closes -------------------------------------------- */

static const struct step s_handshake[] = {
	HANDSHAKE,
};

static const struct step s_close_by_client[] = {
	HANDSHAKE,
	STE(CLI, FINACK, CISN + 1, SISN + 1, 0, W, FIN_WAIT_1, CLOSE_WAIT,
	    CS_EV_FIN | CS_EV_CLOSE_WAIT),
	STE(SRV, ACK, SISN + 1, CISN + 2, 0, W, FIN_WAIT_2, CLOSE_WAIT, 0),
	STE(SRV, FINACK, SISN + 1, CISN + 2, 0, W, TIME_WAIT, LAST_ACK,
	    CS_EV_FIN | CS_EV_TIME_WAIT),
	STE(CLI, ACK, CISN + 2, SISN + 2, 0, W, TIME_WAIT, CLOSED, 0),
};

static const struct step s_close_by_server[] = {
	HANDSHAKE,
	STE(SRV, FINACK, SISN + 1, CISN + 1, 0, W, CLOSE_WAIT, FIN_WAIT_1,
	    CS_EV_FIN | CS_EV_CLOSE_WAIT),
	STE(CLI, ACK, CISN + 1, SISN + 2, 0, W, CLOSE_WAIT, FIN_WAIT_2, 0),
	STE(CLI, FINACK, CISN + 1, SISN + 2, 0, W, LAST_ACK, TIME_WAIT,
	    CS_EV_FIN | CS_EV_TIME_WAIT),
	STE(SRV, ACK, SISN + 2, CISN + 2, 0, W, CLOSED, TIME_WAIT, 0),
};

/* The server's FIN carries the ACK of the client's: FIN_WAIT_1 goes
 * straight to TIME_WAIT. */
static const struct step s_finack_acks_fin[] = {
	HANDSHAKE,
	ST(CLI, FINACK, CISN + 1, SISN + 1, 0, W, FIN_WAIT_1, CLOSE_WAIT),
	STE(SRV, FINACK, SISN + 1, CISN + 2, 0, W, TIME_WAIT, LAST_ACK,
	    CS_EV_FIN | CS_EV_TIME_WAIT),
	ST(CLI, ACK, CISN + 2, SISN + 2, 0, W, TIME_WAIT, CLOSED),
};

/* Both SYNs cross; each side answers the other's with a SYN-ACK. */
static const struct step s_simultaneous_open[] = {
	STE(CLI, SYN, CISN, 0, 0, W, SYN_SENT, CLOSED, CS_EV_SYN),
	STE(SRV, SYN, SISN, 0, 0, W, SYN_RECEIVED, SYN_RECEIVED, CS_EV_SYN),
	ST(CLI, SYNACK, CISN, SISN + 1, 0, W, SYN_RECEIVED, ESTABLISHED),
	ST(SRV, SYNACK, SISN, CISN + 1, 0, W, ESTABLISHED, ESTABLISHED),
	ST(CLI, DATA, CISN + 1, SISN + 1, 10, W, ESTABLISHED, ESTABLISHED),
};

/*
 * FINs cross (the server's acknowledges no FIN).  Assumed delivered, the
 * client's FIN puts the server in CLOSE_WAIT first; the server's FIN, which
 * does not acknowledge it, shows both FINs crossed: CLOSING on both, then
 * TIME_WAIT on both as each FIN is acknowledged.
 */
static const struct step s_simultaneous_close[] = {
	HANDSHAKE,
	STE(CLI, FINACK, CISN + 1, SISN + 1, 0, W, FIN_WAIT_1, CLOSE_WAIT,
	    CS_EV_FIN | CS_EV_CLOSE_WAIT),
	STE(SRV, FINACK, SISN + 1, CISN + 1, 0, W, CLOSING, CLOSING, CS_EV_FIN),
	STE(CLI, ACK, CISN + 2, SISN + 2, 0, W, CLOSING, TIME_WAIT, CS_EV_TIME_WAIT),
	STE(SRV, ACK, SISN + 2, CISN + 2, 0, W, TIME_WAIT, TIME_WAIT, CS_EV_TIME_WAIT),
};

/* The client closes its half; the server goes on sending, then closes. */
static const struct step s_half_close[] = {
	HANDSHAKE,
	ST(CLI, FINACK, CISN + 1, SISN + 1, 0, W, FIN_WAIT_1, CLOSE_WAIT),
	ST(SRV, ACK, SISN + 1, CISN + 2, 0, W, FIN_WAIT_2, CLOSE_WAIT),
	ST(SRV, DATA, SISN + 1, CISN + 2, 100, W, FIN_WAIT_2, CLOSE_WAIT),
	ST(CLI, ACK, CISN + 2, SISN + 101, 0, W, FIN_WAIT_2, CLOSE_WAIT),
	ST(SRV, DATA, SISN + 101, CISN + 2, 50, W, FIN_WAIT_2, CLOSE_WAIT),
	ST(CLI, ACK, CISN + 2, SISN + 151, 0, W, FIN_WAIT_2, CLOSE_WAIT),
	STE(SRV, FINACK, SISN + 151, CISN + 2, 0, W, TIME_WAIT, LAST_ACK,
	    CS_EV_FIN | CS_EV_TIME_WAIT),
	ST(CLI, ACK, CISN + 2, SISN + 152, 0, W, TIME_WAIT, CLOSED),
};

/* The server closes before the handshake's last ACK: SYN_RECEIVED ->
 * FIN_WAIT_1 (RFC 9293 3.10.4, CLOSE in SYN-RECEIVED). */
static const struct step s_fin_in_syn_received[] = {
	ST(CLI, SYN, CISN, 0, 0, W, SYN_SENT, CLOSED),
	ST(SRV, SYNACK, SISN, CISN + 1, 0, W, SYN_SENT, SYN_RECEIVED),
	STE(SRV, FINACK, SISN + 1, CISN + 1, 0, W, CLOSE_WAIT, FIN_WAIT_1,
	    CS_EV_FIN | CS_EV_CLOSE_WAIT),
	/* acknowledges the SYN-ACK only: the FIN is still unacknowledged */
	STE(CLI, ACK, CISN + 1, SISN + 1, 0, W, CLOSE_WAIT, FIN_WAIT_1,
	    CS_EV_ESTABLISHED),
	ST(CLI, ACK, CISN + 1, SISN + 2, 0, W, CLOSE_WAIT, FIN_WAIT_2),
	ST(CLI, FINACK, CISN + 1, SISN + 2, 0, W, LAST_ACK, TIME_WAIT),
	ST(SRV, ACK, SISN + 2, CISN + 2, 0, W, CLOSED, TIME_WAIT),
};

/* The client's last ACK is lost before the tap: the server retransmits its
 * FIN from LAST_ACK, the client (TIME_WAIT) acknowledges it again. */
static const struct step s_lost_final_ack[] = {
	HANDSHAKE,
	ST(CLI, FINACK, CISN + 1, SISN + 1, 0, W, FIN_WAIT_1, CLOSE_WAIT),
	ST(SRV, ACK, SISN + 1, CISN + 2, 0, W, FIN_WAIT_2, CLOSE_WAIT),
	ST(SRV, FINACK, SISN + 1, CISN + 2, 0, W, TIME_WAIT, LAST_ACK),
	STE(SRV, FINACK, SISN + 1, CISN + 2, 0, W, TIME_WAIT, LAST_ACK,
	    CS_EV_RETRANSMIT),
	ST(CLI, ACK, CISN + 2, SISN + 2, 0, W, TIME_WAIT, CLOSED),
};

/* ---- RSTs: one per state of the endpoint that receives it -------------------- */

static const struct step s_rst_syn_sent[] = {
	ST(CLI, SYN, CISN, 0, 0, W, SYN_SENT, CLOSED),
	STE(SRV, RSTACK, 0, CISN + 1, 0, 0, CLOSED, CLOSED, CS_EV_RST),
};

/* The client answers the SYN-ACK with a RST: the server was in
 * SYN_RECEIVED. */
static const struct step s_rst_syn_received[] = {
	ST(CLI, SYN, CISN, 0, 0, W, SYN_SENT, CLOSED),
	ST(SRV, SYNACK, SISN, CISN + 1, 0, W, SYN_SENT, SYN_RECEIVED),
	STE(CLI, RSTACK, CISN + 1, SISN + 1, 0, 0, CLOSED, CLOSED, CS_EV_RST),
};

static const struct step s_rst_established[] = {
	HANDSHAKE,
	ST(CLI, DATA, CISN + 1, SISN + 1, 100, W, ESTABLISHED, ESTABLISHED),
	ST(SRV, ACK, SISN + 1, CISN + 101, 0, W, ESTABLISHED, ESTABLISHED),
	STE(SRV, RSTACK, SISN + 1, CISN + 101, 0, 0, CLOSED, CLOSED, CS_EV_RST),
	/* nothing after a RST brings the connection back */
	STE(CLI, DATA, CISN + 101, SISN + 1, 100, W, CLOSED, CLOSED, 0),
};

static const struct step s_rst_fin_wait_1[] = {
	HANDSHAKE,
	ST(CLI, FINACK, CISN + 1, SISN + 1, 0, W, FIN_WAIT_1, CLOSE_WAIT),
	STE(SRV, RSTACK, SISN + 1, CISN + 2, 0, 0, CLOSED, CLOSED, CS_EV_RST),
};

static const struct step s_rst_fin_wait_2[] = {
	HANDSHAKE,
	ST(CLI, FINACK, CISN + 1, SISN + 1, 0, W, FIN_WAIT_1, CLOSE_WAIT),
	ST(SRV, ACK, SISN + 1, CISN + 2, 0, W, FIN_WAIT_2, CLOSE_WAIT),
	STE(SRV, RSTACK, SISN + 1, CISN + 2, 0, 0, CLOSED, CLOSED, CS_EV_RST),
};

/* The server, in CLOSE_WAIT, receives the client's RST. */
static const struct step s_rst_close_wait[] = {
	HANDSHAKE,
	ST(CLI, FINACK, CISN + 1, SISN + 1, 0, W, FIN_WAIT_1, CLOSE_WAIT),
	ST(SRV, ACK, SISN + 1, CISN + 2, 0, W, FIN_WAIT_2, CLOSE_WAIT),
	STE(CLI, RSTACK, CISN + 2, SISN + 1, 0, 0, CLOSED, CLOSED, CS_EV_RST),
};

static const struct step s_rst_closing[] = {
	HANDSHAKE,
	ST(CLI, FINACK, CISN + 1, SISN + 1, 0, W, FIN_WAIT_1, CLOSE_WAIT),
	ST(SRV, FINACK, SISN + 1, CISN + 1, 0, W, CLOSING, CLOSING),
	STE(SRV, RSTACK, SISN + 2, CISN + 1, 0, 0, CLOSED, CLOSED, CS_EV_RST),
};

/* The server, in LAST_ACK, receives a RST from the client. */
static const struct step s_rst_last_ack[] = {
	HANDSHAKE,
	ST(CLI, FINACK, CISN + 1, SISN + 1, 0, W, FIN_WAIT_1, CLOSE_WAIT),
	ST(SRV, ACK, SISN + 1, CISN + 2, 0, W, FIN_WAIT_2, CLOSE_WAIT),
	ST(SRV, FINACK, SISN + 1, CISN + 2, 0, W, TIME_WAIT, LAST_ACK),
	STE(CLI, RST, CISN + 2, 0, 0, 0, CLOSED, CLOSED, CS_EV_RST),
};

/* The client, in TIME_WAIT, receives a RST from the server (RFC 9293
 * 3.10.7.4 closes; RFC 1337's protection is optional). */
static const struct step s_rst_time_wait[] = {
	HANDSHAKE,
	ST(CLI, FINACK, CISN + 1, SISN + 1, 0, W, FIN_WAIT_1, CLOSE_WAIT),
	ST(SRV, ACK, SISN + 1, CISN + 2, 0, W, FIN_WAIT_2, CLOSE_WAIT),
	ST(SRV, FINACK, SISN + 1, CISN + 2, 0, W, TIME_WAIT, LAST_ACK),
	STE(SRV, RSTACK, SISN + 2, CISN + 2, 0, 0, CLOSED, CLOSED, CS_EV_RST),
};

/* SISN + 1 + W is the first sequence number past the client's window. */
static const struct step s_rst_out_of_window[] = {
	HANDSHAKE,
	STE(SRV, RSTACK, SISN + 1 + W, CISN + 1, 0, 0, ESTABLISHED, ESTABLISHED,
	    CS_EV_RST_INVALID),
	ST(CLI, DATA, CISN + 1, SISN + 1, 100, W, ESTABLISHED, ESTABLISHED),
	ST(SRV, ACK, SISN + 1, CISN + 101, 0, W, ESTABLISHED, ESTABLISHED),
};

/* Below what the client has already acknowledged: stale. */
static const struct step s_rst_below_window[] = {
	HANDSHAKE,
	ST(CLI, DATA, CISN + 1, SISN + 1, 100, W, ESTABLISHED, ESTABLISHED),
	ST(SRV, DATA, SISN + 1, CISN + 101, 100, W, ESTABLISHED, ESTABLISHED),
	ST(CLI, ACK, CISN + 101, SISN + 101, 0, W, ESTABLISHED, ESTABLISHED),
	STE(SRV, RSTACK, SISN + 50, CISN + 101, 0, 0, ESTABLISHED, ESTABLISHED,
	    CS_EV_RST_INVALID),
};

/* The last sequence number inside the window is still accepted. */
static const struct step s_rst_window_edge[] = {
	HANDSHAKE,
	STE(SRV, RSTACK, SISN + W, CISN + 1, 0, 0, CLOSED, CLOSED, CS_EV_RST),
};

/* SYN-SENT accepts a RST only if it acknowledges the SYN (RFC 9293
 * 3.10.7.3): not with another ack, not without ACK. */
static const struct step s_rst_bad_ack_to_syn[] = {
	ST(CLI, SYN, CISN, 0, 0, W, SYN_SENT, CLOSED),
	STE(SRV, RSTACK, 0, CISN + 2, 0, 0, SYN_SENT, CLOSED, CS_EV_RST_INVALID),
	ST(SRV, RSTACK, 0, CISN, 0, 0, SYN_SENT, CLOSED),
	ST(SRV, RST, CISN + 1, 0, 0, 0, SYN_SENT, CLOSED),
};

/*
 * The server closes; the client acknowledges, closes too (LAST_ACK) and
 * then sends its FIN six more times, 10 s apart, with no answer -- the
 * server's ACKs are lost before the tap -- and gives up with a RST.  Its
 * FIN was never acknowledged, so the close never completed: the RST is
 * the sender giving up (cause timeout, README: "the sender had been
 * retransmitting with no answer"), not the stand-in for a last ACK
 * (after_close), and the connection was aborted, not completed.
 */
#define FIN_AGAIN \
	STE(CLI, FINACK, CISN + 1, SISN + 2, 0, W, LAST_ACK, TIME_WAIT, \
	    CS_EV_RETRANSMIT)
static const struct step s_rst_after_unanswered_fins[] = {
	HANDSHAKE,
	ST(SRV, FINACK, SISN + 1, CISN + 1, 0, W, CLOSE_WAIT, FIN_WAIT_1),
	ST(CLI, ACK, CISN + 1, SISN + 2, 0, W, CLOSE_WAIT, FIN_WAIT_2),
	ST(CLI, FINACK, CISN + 1, SISN + 2, 0, W, LAST_ACK, TIME_WAIT),
	FIN_AGAIN, FIN_AGAIN, FIN_AGAIN, FIN_AGAIN, FIN_AGAIN, FIN_AGAIN,
	STE(CLI, RSTACK, CISN + 2, SISN + 2, 0, 0, CLOSED, CLOSED, CS_EV_RST),
};

/* ---- segments outside the receiver's window ---------------------------------- */

/*
 * Neither SYN offers window scaling, so every window is W bytes.  The
 * server acknowledged CISN + 1 with window W: the client may send up to
 * CISN + 1 + W (seqhi); pf's slack is 65535 + 1500 = 67035 bytes more.
 * A FIN at CISN + 1 + 2^30 lies 2^30 - W - 67035 bytes beyond even that:
 * the server drops it (RFC 9293 3.10.7.4), so it moves no state and does
 * not widen the range of sequence numbers a RST may carry: the client's
 * RST at that sequence number is outside the server's window too
 * (snd_nxt stays CISN + 1, RCV.WND is W).  The real FIN that follows
 * closes as usual.
 */
#define FAR (1u << 30)
static const struct step s_fin_far_beyond[] = {
	HANDSHAKE,
	STE(CLI, FINACK, CISN + 1 + FAR, SISN + 1, 0, W, ESTABLISHED, ESTABLISHED,
	    CS_EV_OUT_OF_WINDOW),
	STE(CLI, RSTACK, CISN + 1 + FAR, SISN + 1, 0, 0, ESTABLISHED, ESTABLISHED,
	    CS_EV_RST_INVALID),
	STE(CLI, FINACK, CISN + 1, SISN + 1, 0, W, FIN_WAIT_1, CLOSE_WAIT,
	    CS_EV_FIN | CS_EV_CLOSE_WAIT),
};

/*
 * Acknowledgments of what was never sent, and data from long before:
 * the server sent only its SYN-ACK (SND.NXT = SISN + 1), so an ACK of
 * SISN + 1 + 67035 + W + 1 acknowledges more than it could have sent
 * with the client's window W unseen and pf's slack (67035, larger than
 * W).  Data starting 67036 bytes before the client's SND.NXT (CISN + 1)
 * is further back than any retransmission can reach.  Both are dropped
 * and change nothing; a FIN with an ACK inside the bounds then counts.
 */
static const struct step s_acks_out_of_range[] = {
	HANDSHAKE,
	STE(CLI, FINACK, CISN + 1, SISN + 1 + 67035 + 1, 0, W, ESTABLISHED,
	    ESTABLISHED, CS_EV_OUT_OF_WINDOW),
	STE(CLI, DATA, CISN + 1 - 67036, SISN + 1, 100, W, ESTABLISHED,
	    ESTABLISHED, CS_EV_OUT_OF_WINDOW),
	STE(SRV, FINACK, SISN + 1, CISN + 1 + 67035 + 1, 0, W, ESTABLISHED,
	    ESTABLISHED, CS_EV_OUT_OF_WINDOW),
	STE(CLI, FINACK, CISN + 1, SISN + 1 + 67035, 0, W, FIN_WAIT_1, CLOSE_WAIT,
	    CS_EV_FIN | CS_EV_CLOSE_WAIT),
};

/*
 * Picked up midstream, the window scale is unknown: the windows are
 * taken at the largest shift (14), so a sender far past ack + the
 * unscaled window (100 bytes here) is not called out of window.
 */
static const struct step s_midstream_window_unknown[] = {
	ST(CLI, DATA, CISN, SISN, 100, 100, ESTABLISHED, CLOSED),
	ST(SRV, ACK, SISN, CISN + 100, 0, 100, ESTABLISHED, ESTABLISHED),
	ST(CLI, DATA, CISN + 100, SISN, 1000000, 100, ESTABLISHED, ESTABLISHED),
	ST(SRV, FINACK, SISN, CISN + 1000100, 0, 100, CLOSE_WAIT, FIN_WAIT_1),
};

/*
 * A RST on a 4-tuple where nothing else was ever seen: no window is known
 * and no segment it answers, so it can be judged neither acceptable nor
 * not, nor by cause.  Backscatter looks like this (a host answering SYNs
 * spoofed with our address: RST+ACK with ack = the spoofed ISN + 1, or a
 * bare RST).  No handshake was seen: midstream, cause "unjudged" -- not
 * an aborted connection (whose verdict would be ECONNRESET).
 */
static const struct step s_lone_rst_ack[] = {
	STE(SRV, RSTACK, 0, CISN + 1, 0, 0, CLOSED, CLOSED, CS_EV_RST),
};
static const struct step s_lone_rst[] = {
	STE(SRV, RST, SISN, 0, 0, 0, CLOSED, CLOSED, CS_EV_RST),
};

/* ---- retransmissions, windows, keep-alives ----------------------------------- */

static const struct step s_syn_retransmitted[] = {
	STE(CLI, SYN, CISN, 0, 0, W, SYN_SENT, CLOSED, CS_EV_SYN),
	STE(CLI, SYN, CISN, 0, 0, W, SYN_SENT, CLOSED, CS_EV_SYN | CS_EV_SYN_RETX),
	STE(SRV, SYNACK, SISN, CISN + 1, 0, W, SYN_SENT, SYN_RECEIVED, CS_EV_SYNACK),
	STE(CLI, ACK, CISN + 1, SISN + 1, 0, W, ESTABLISHED, ESTABLISHED,
	    CS_EV_ESTABLISHED),
};

static const struct step s_data_retransmitted[] = {
	HANDSHAKE,
	STE(CLI, DATA, CISN + 1, SISN + 1, 100, W, ESTABLISHED, ESTABLISHED, 0),
	STE(CLI, DATA, CISN + 1, SISN + 1, 100, W, ESTABLISHED, ESTABLISHED,
	    CS_EV_RETRANSMIT),
	ST(SRV, ACK, SISN + 1, CISN + 101, 0, W, ESTABLISHED, ESTABLISHED),
	STE(CLI, DATA, CISN + 101, SISN + 1, 100, W, ESTABLISHED, ESTABLISHED, 0),
};

/* Probes repeat the last acknowledged byte, with 0 or 1 byte. */
static const struct step s_keepalive[] = {
	HANDSHAKE,
	ST(CLI, DATA, CISN + 1, SISN + 1, 100, W, ESTABLISHED, ESTABLISHED),
	ST(SRV, ACK, SISN + 1, CISN + 101, 0, W, ESTABLISHED, ESTABLISHED),
	STE(CLI, ACK, CISN + 100, SISN + 1, 0, W, ESTABLISHED, ESTABLISHED,
	    CS_EV_KEEPALIVE),
	ST(SRV, ACK, SISN + 1, CISN + 101, 0, W, ESTABLISHED, ESTABLISHED),
	STE(CLI, ACK, CISN + 100, SISN + 1, 1, W, ESTABLISHED, ESTABLISHED,
	    CS_EV_KEEPALIVE),
	ST(SRV, ACK, SISN + 1, CISN + 101, 0, W, ESTABLISHED, ESTABLISHED),
};

/* Each time the window closes counts once, however long it stays closed. */
static const struct step s_zero_window[] = {
	HANDSHAKE,
	ST(CLI, DATA, CISN + 1, SISN + 1, 1000, W, ESTABLISHED, ESTABLISHED),
	STE(SRV, ACK, SISN + 1, CISN + 1001, 0, 0, ESTABLISHED, ESTABLISHED,
	    CS_EV_ZERO_WINDOW),
	STE(SRV, ACK, SISN + 1, CISN + 1001, 0, 0, ESTABLISHED, ESTABLISHED, 0),
	STE(SRV, ACK, SISN + 1, CISN + 1001, 0, 4000, ESTABLISHED, ESTABLISHED, 0),
	ST(CLI, DATA, CISN + 1001, SISN + 1, 1000, W, ESTABLISHED, ESTABLISHED),
	STE(SRV, ACK, SISN + 1, CISN + 2001, 0, 0, ESTABLISHED, ESTABLISHED,
	    CS_EV_ZERO_WINDOW),
};

/* ---- outcomes and Zeek's view ------------------------------------------------ */

static const struct step s_midstream[] = {
	ST(CLI, DATA, CISN, SISN, 100, W, ESTABLISHED, CLOSED),
	ST(SRV, ACK, SISN, CISN + 100, 0, W, ESTABLISHED, ESTABLISHED),
	ST(SRV, DATA, SISN, CISN + 100, 200, W, ESTABLISHED, ESTABLISHED),
};

static const struct step s_syn_only[] = {
	ST(CLI, SYN, CISN, 0, 0, W, SYN_SENT, CLOSED),
};

static const struct step s_three_syns[] = {
	STE(CLI, SYN, CISN, 0, 0, W, SYN_SENT, CLOSED, CS_EV_SYN),
	STE(CLI, SYN, CISN, 0, 0, W, SYN_SENT, CLOSED, CS_EV_SYN | CS_EV_SYN_RETX),
	STE(CLI, SYN, CISN, 0, 0, W, SYN_SENT, CLOSED, CS_EV_SYN | CS_EV_SYN_RETX),
};

static const struct step s_half_open[] = {
	ST(CLI, SYN, CISN, 0, 0, W, SYN_SENT, CLOSED),
	ST(SRV, SYNACK, SISN, CISN + 1, 0, W, SYN_SENT, SYN_RECEIVED),
};

static const struct step s_aborted[] = {
	HANDSHAKE,
	ST(CLI, DATA, CISN + 1, SISN + 1, 100, W, ESTABLISHED, ESTABLISHED),
	ST(SRV, ACK, SISN + 1, CISN + 101, 0, W, ESTABLISHED, ESTABLISHED),
	STE(CLI, RSTACK, CISN + 101, SISN + 1, 0, 0, CLOSED, CLOSED, CS_EV_RST),
};

/* The server lost the connection (a reboot): it answers the client's data
 * with a RST whose sequence number is that segment's ACK, without ACK. */
static const struct step s_reset_nonexistent[] = {
	HANDSHAKE,
	ST(CLI, DATA, CISN + 1, SISN + 1, 100, W, ESTABLISHED, ESTABLISHED),
	STE(SRV, RST, SISN + 1, 0, 0, 0, CLOSED, CLOSED, CS_EV_RST),
};

/* The same, on a connection picked up midstream. */
static const struct step s_reset_nonexistent_midstream[] = {
	ST(CLI, DATA, CISN, SISN, 100, W, ESTABLISHED, CLOSED),
	STE(SRV, RST, SISN, 0, 0, 0, CLOSED, CLOSED, CS_EV_RST),
};

/* A RST+ACK "from the server" in the window but 1000 past its next
 * sequence number, then the server goes on: its data at SISN + 1, which
 * the client acknowledges.  A socket that sent a RST sends no data after
 * it, so the RST was not the server's own and the client, answering the
 * data, did not take it (RFC 5961 3.2 would have it ACK such a RST): the
 * connection goes on, the RST counted as one not accepted. */
static const struct step s_rst_then_sender_goes_on[] = {
	HANDSHAKE,
	ST(CLI, DATA, CISN + 1, SISN + 1, 100, W, ESTABLISHED, ESTABLISHED),
	STE(SRV, RSTACK, SISN + 1001, CISN + 101, 0, 0, CLOSED, CLOSED, CS_EV_RST),
	ST(SRV, DATA, SISN + 1, CISN + 101, 100, W, ESTABLISHED, ESTABLISHED),
	ST(CLI, ACK, CISN + 101, SISN + 101, 0, W, ESTABLISHED, ESTABLISHED),
};

static const struct step s_closing[] = {
	HANDSHAKE,
	ST(CLI, FINACK, CISN + 1, SISN + 1, 0, W, FIN_WAIT_1, CLOSE_WAIT),
	ST(SRV, ACK, SISN + 1, CISN + 2, 0, W, FIN_WAIT_2, CLOSE_WAIT),
};

/* Zeek's classic: data both ways, both FINs. */
static const struct step s_sf[] = {
	HANDSHAKE,
	ST(CLI, DATA, CISN + 1, SISN + 1, 100, W, ESTABLISHED, ESTABLISHED),
	ST(SRV, ACK, SISN + 1, CISN + 101, 0, W, ESTABLISHED, ESTABLISHED),
	ST(SRV, DATA, SISN + 1, CISN + 101, 200, W, ESTABLISHED, ESTABLISHED),
	ST(CLI, FINACK, CISN + 101, SISN + 201, 0, W, FIN_WAIT_1, CLOSE_WAIT),
	ST(SRV, FINACK, SISN + 201, CISN + 102, 0, W, TIME_WAIT, LAST_ACK),
	ST(CLI, ACK, CISN + 102, SISN + 202, 0, W, TIME_WAIT, CLOSED),
};

/* The originator gives up on its own SYN. */
static const struct step s_rstos0[] = {
	ST(CLI, SYN, CISN, 0, 0, W, SYN_SENT, CLOSED),
	STE(CLI, RST, CISN + 1, 0, 0, 0, CLOSED, CLOSED, CS_EV_RST),
};

/* A SYN, then a FIN, never an answer. */
static const struct step s_sh[] = {
	ST(CLI, SYN, CISN, 0, 0, W, SYN_SENT, CLOSED),
	ST(CLI, FIN, CISN + 1, 0, 0, W, FIN_WAIT_1, CLOSED),
};

/*
 * Content gaps (Zeek's G and g): a side acknowledges data that never
 * reached the tap.  Sequence numbers below are relative to each ISN, as
 * Zeek's reassembler keeps them (data begins at 1).
 *
 * The server's first 200 bytes [1, 201) are lost; its next 100 [201,
 * 301) arrive and are held above the hole; the client's ack of 301
 * reveals the hole: one gap, the server's (g), after the d of the data
 * that did arrive.  The FIN exchange then acks only the FINs' octets.
 */
static const struct step s_gap_server[] = {
	HANDSHAKE,
	ST(CLI, DATA, CISN + 1, SISN + 1, 100, W, ESTABLISHED, ESTABLISHED),
	ST(SRV, ACK, SISN + 1, CISN + 101, 0, W, ESTABLISHED, ESTABLISHED),
	/* lost: SRV DATA SISN + 1, 200 bytes */
	ST(SRV, DATA, SISN + 201, CISN + 101, 100, W, ESTABLISHED, ESTABLISHED),
	ST(CLI, ACK, CISN + 101, SISN + 301, 0, W, ESTABLISHED, ESTABLISHED),
	ST(CLI, FINACK, CISN + 101, SISN + 301, 0, W, FIN_WAIT_1, CLOSE_WAIT),
	ST(SRV, FINACK, SISN + 301, CISN + 102, 0, W, TIME_WAIT, LAST_ACK),
	ST(CLI, ACK, CISN + 102, SISN + 302, 0, W, TIME_WAIT, CLOSED),
};

/* The client's bytes [101, 301) are lost and the server acks 301: a gap
 * of the client's (G), with nothing held above it. */
static const struct step s_gap_client[] = {
	HANDSHAKE,
	ST(CLI, DATA, CISN + 1, SISN + 1, 100, W, ESTABLISHED, ESTABLISHED),
	ST(SRV, ACK, SISN + 1, CISN + 101, 0, W, ESTABLISHED, ESTABLISHED),
	/* lost: CLI DATA CISN + 101 and CISN + 201, 100 bytes each */
	ST(SRV, ACK, SISN + 1, CISN + 301, 0, W, ESTABLISHED, ESTABLISHED),
	ST(CLI, FINACK, CISN + 301, SISN + 1, 0, W, FIN_WAIT_1, CLOSE_WAIT),
	ST(SRV, FINACK, SISN + 1, CISN + 302, 0, W, TIME_WAIT, LAST_ACK),
	ST(CLI, ACK, CISN + 302, SISN + 2, 0, W, TIME_WAIT, CLOSED),
};

/* Ten times: 100 client bytes arrive, the next 100 are lost, the server
 * acks both.  Ten gaps; Zeek scales the letter: at the 1st and 10th. */
#define LOSSY_ROUND(i) \
	ST(CLI, DATA, CISN + 1 + 200 * (i), SISN + 1, 100, W, ESTABLISHED, \
	   ESTABLISHED), \
	ST(SRV, ACK, SISN + 1, CISN + 1 + 200 * (i) + 200, 0, W, ESTABLISHED, \
	   ESTABLISHED)
static const struct step s_gap_ten[] = {
	HANDSHAKE,
	LOSSY_ROUND(0), LOSSY_ROUND(1), LOSSY_ROUND(2), LOSSY_ROUND(3),
	LOSSY_ROUND(4), LOSSY_ROUND(5), LOSSY_ROUND(6), LOSSY_ROUND(7),
	LOSSY_ROUND(8), LOSSY_ROUND(9),
};

/* No handshake seen: Zeek's endpoints are partial, never "clean", and a
 * gap in their data is not recorded (the unseen start of a connection
 * is no loss). */
static const struct step s_gap_midstream[] = {
	ST(CLI, DATA, CISN, SISN, 100, W, ESTABLISHED, CLOSED),
	ST(SRV, ACK, SISN, CISN + 300, 0, W, ESTABLISHED, ESTABLISHED),
};

static const struct script scripts[] = {
	{ .name = "three-way handshake", STEPS(s_handshake),
	  .outcome = "established", .conn_state = "S1", .history = "ShA",
	  .syn_cnt = { 1, 1 } },
	{ .name = "active close by client", STEPS(s_close_by_client),
	  .outcome = "completed", .conn_state = "SF", .history = "ShAFaf" },
	{ .name = "active close by server", STEPS(s_close_by_server),
	  .outcome = "completed", .conn_state = "SF", .history = "ShAfFa" },
	{ .name = "FIN+ACK acknowledges the peer's FIN", STEPS(s_finack_acks_fin),
	  .outcome = "completed", .conn_state = "SF" },
	{ .name = "simultaneous open", STEPS(s_simultaneous_open),
	  .outcome = "established" },
	{ .name = "simultaneous close", STEPS(s_simultaneous_close),
	  .outcome = "completed", .conn_state = "SF" },
	{ .name = "half-close", STEPS(s_half_close),
	  .outcome = "completed", .conn_state = "SF" },
	{ .name = "FIN in SYN_RECEIVED", STEPS(s_fin_in_syn_received),
	  .outcome = "completed" },
	{ .name = "lost final ACK", STEPS(s_lost_final_ack),
	  .outcome = "completed", .retransmits = { 0, 1 } },
	{ .name = "RST in SYN_SENT (refused)", STEPS(s_rst_syn_sent),
	  .outcome = "refused", .rst_cause = "refused", .conn_state = "REJ",
	  .history = "Sr" },
	{ .name = "RST in SYN_RECEIVED", STEPS(s_rst_syn_received) },
	{ .name = "RST in ESTABLISHED", STEPS(s_rst_established),
	  .outcome = "aborted", .rst_cause = "abort", .conn_state = "RSTR" },
	{ .name = "RST in FIN_WAIT_1", STEPS(s_rst_fin_wait_1),
	  .outcome = "aborted", .rst_cause = "abort" },
	{ .name = "RST in FIN_WAIT_2", STEPS(s_rst_fin_wait_2),
	  .outcome = "aborted", .rst_cause = "abort" },
	{ .name = "RST in CLOSE_WAIT", STEPS(s_rst_close_wait),
	  .outcome = "aborted", .rst_cause = "abort" },
	{ .name = "RST in CLOSING", STEPS(s_rst_closing),
	  .rst_cause = "after_close" },
	{ .name = "RST in LAST_ACK", STEPS(s_rst_last_ack),
	  .rst_cause = "after_close" },
	{ .name = "RST in TIME_WAIT", STEPS(s_rst_time_wait),
	  .rst_cause = "after_close" },
	{ .name = "RST past the window", STEPS(s_rst_out_of_window),
	  .outcome = "established", .rst_cause = "none", .invalid_rsts = 1 },
	{ .name = "RST below the window", STEPS(s_rst_below_window),
	  .outcome = "established", .rst_cause = "none", .invalid_rsts = 1 },
	{ .name = "RST at the window's last byte", STEPS(s_rst_window_edge),
	  .outcome = "aborted" },
	{ .name = "RST to a SYN with a wrong ack", STEPS(s_rst_bad_ack_to_syn),
	  .outcome = "attempt", .rst_cause = "none", .invalid_rsts = 3,
	  .syn_cnt = { 1, 0 } },
	{ .name = "FIN 1 GiB beyond the window", STEPS(s_fin_far_beyond),
	  .outcome = "closing", .rst_cause = "none", .invalid_rsts = 1,
	  .out_of_window = { 1, 0 } },
	{ .name = "ACKs of unsent data, data from long before",
	  STEPS(s_acks_out_of_range), .outcome = "closing",
	  .out_of_window = { 2, 1 } },
	{ .name = "midstream: window scale unknown",
	  STEPS(s_midstream_window_unknown), .outcome = "midstream" },
	{ .name = "RST after six unanswered FINs", STEPS(s_rst_after_unanswered_fins),
	  .gap_us = 10000000, .outcome = "aborted", .rst_cause = "timeout",
	  .retransmits = { 6, 0 } },
	{ .name = "lone RST+ACK", STEPS(s_lone_rst_ack),
	  .outcome = "midstream", .rst_cause = "unjudged" },
	{ .name = "lone bare RST", STEPS(s_lone_rst),
	  .outcome = "midstream", .rst_cause = "unjudged" },
	{ .name = "SYN retransmitted", STEPS(s_syn_retransmitted),
	  .gap_us = 1000000, .outcome = "established", .syn_cnt = { 2, 1 } },
	{ .name = "data retransmitted", STEPS(s_data_retransmitted),
	  .retransmits = { 1, 0 } },
	{ .name = "keep-alive", STEPS(s_keepalive),
	  .keepalives = { 2, 0 } },
	{ .name = "zero window", STEPS(s_zero_window),
	  .zero_windows = { 0, 2 } },
	{ .name = "midstream", STEPS(s_midstream),
	  .outcome = "midstream", .conn_state = "OTH", .history = "Dad" },
	{ .name = "attempt: one SYN, capture ends within 3 s", STEPS(s_syn_only),
	  .outcome = "attempt", .judge_after_us = 2999999, .conn_state = "S0",
	  .history = "S", .syn_cnt = { 1, 0 } },
	{ .name = "timeout: one SYN, 3 s without an answer", STEPS(s_syn_only),
	  .outcome = "timeout", .judge_after_us = 3000000 },
	{ .name = "timeout: three SYNs", STEPS(s_three_syns),
	  .gap_us = 1000000, .outcome = "timeout", .conn_state = "S0", .history = "S",
	  .syn_cnt = { 3, 0 } },
	{ .name = "half open: SYN, SYN-ACK", STEPS(s_half_open),
	  .outcome = "half_open" },
	{ .name = "aborted", STEPS(s_aborted),
	  .outcome = "aborted", .rst_cause = "abort", .conn_state = "RSTO",
	  .history = "ShADaR" },
	{ .name = "reset nonexistent", STEPS(s_reset_nonexistent),
	  .outcome = "reset_nonexistent", .rst_cause = "nonexistent" },
	{ .name = "reset nonexistent, midstream", STEPS(s_reset_nonexistent_midstream),
	  .outcome = "reset_nonexistent", .rst_cause = "nonexistent" },
	/* 4 s apart: the client's ACK comes 8 s after the RST, past the 5 s
	 * a reset connection lingers, and is still this connection's */
	{ .name = "RST whose sender goes on", STEPS(s_rst_then_sender_goes_on),
	  .gap_us = 4000000, .outcome = "established", .invalid_rsts = 1 },
	{ .name = "closing: one FIN", STEPS(s_closing),
	  .outcome = "closing" },
	{ .name = "SF ShADadFf", STEPS(s_sf),
	  .outcome = "completed", .conn_state = "SF", .history = "ShADadFf" },
	{ .name = "RSTOS0", STEPS(s_rstos0),
	  .conn_state = "RSTOS0", .history = "SR" },
	{ .name = "SH", STEPS(s_sh),
	  .conn_state = "SH", .history = "SF" },
	{ .name = "content gap: server data lost", STEPS(s_gap_server),
	  .conn_state = "SF", .history = "ShADadgFf" },
	{ .name = "content gap: client data lost", STEPS(s_gap_client),
	  .conn_state = "SF", .history = "ShADaGFf" },
	{ .name = "content gaps: ten, scaled", STEPS(s_gap_ten),
	  .conn_state = "S1", .history = "ShADaGG" },
	{ .name = "content gap: midstream, not recorded", STEPS(s_gap_midstream),
	  .conn_state = "OTH", .history = "Da" },
};

#define NSCRIPTS (sizeof scripts / sizeof scripts[0])

/* ---- the runner -------------------------------------------------------------- */

static struct cs_addr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	struct cs_addr x = { .b = { [10] = 0xff, [11] = 0xff, [12] = a, [13] = b,
				    [14] = c, [15] = d } };
	return x;
}

static const struct cs_flow_opts small_table = {
	.max_flows = 16,
	.idle_timeout_us = CS_IDLE_TIMEOUT_SEC_DEFAULT * 1000000ull,
	.attempt_timeout_us = CS_ATTEMPT_TIMEOUT_SEC * 1000000ull,
	.closed_timeout_us = 2ull * CS_MSL_SEC_DEFAULT * 1000000ull,
	.reset_linger_us = CS_RESET_LINGER_SEC * 1000000ull,
};

static void table_init(struct cs_flow_table *t, cs_conn_done_fn done, void *ctx)
{
	char err[128];

	ck_assert_int_eq(cs_flow_init(t, &small_table, done, ctx, err, sizeof err), 0);
}

/* client_high: the client's address sorts above the server's. */
static struct cs_pkt segment(const struct step *s, bool client_high, uint64_t ts)
{
	struct cs_addr cli = client_high ? v4(10, 0, 0, 9) : v4(10, 0, 0, 1);
	struct cs_addr srv = v4(10, 0, 0, 5);
	struct cs_pkt p = {
		.kind = CS_PKT_TCP, .ts_us = ts, .ip_ver = 4, .ttl = 64,
		.seq = s->seq, .ack = s->ack, .flags = s->flags, .win = s->win,
		.payload_len = s->len, .tcp_hlen = 20, .ip_len = 40 + s->len,
	};

	p.src = s->who == CLI ? cli : srv;
	p.dst = s->who == CLI ? srv : cli;
	p.sport = s->who == CLI ? CPORT : SPORT;
	p.dport = s->who == CLI ? SPORT : CPORT;
	return p;
}

static const char *state_name(unsigned st)
{
	return st < CS_TCP_STATE_MAX ? cs_tcp_state_names[st] : "?";
}

static void check_counter(const char *name, const char *what, int side,
			  uint32_t got, uint32_t want)
{
	ck_assert_msg(got == want, "%s: %s[%s] = %u, want %u", name, what,
		      side ? "server" : "client", got, want);
}

static void check_end(const struct script *sc, const char *name,
		      const struct cs_conn *c, uint64_t last_ts)
{
	if (sc->outcome) {
		enum cs_outcome o = cs_diagnose_outcome(c, last_ts + sc->judge_after_us,
							SYN_TIMEOUT_US);
		ck_assert_msg(strcmp(cs_outcome_names[o], sc->outcome) == 0,
			      "%s: outcome %s, want %s", name, cs_outcome_names[o],
			      sc->outcome);
	}
	if (sc->rst_cause) {
		const char *cause = cs_rst_cause_names[c->rst_cause];
		ck_assert_msg(strcmp(cause, sc->rst_cause) == 0,
			      "%s: rst cause %s, want %s", name, cause, sc->rst_cause);
	}
	if (sc->conn_state) {
		enum cs_conn_state cs = cs_zeek_conn_state(c);
		ck_assert_msg(strcmp(cs_conn_state_names[cs], sc->conn_state) == 0,
			      "%s: conn_state %s, want %s", name,
			      cs_conn_state_names[cs], sc->conn_state);
	}
	if (sc->history)
		ck_assert_msg(strcmp(c->history, sc->history) == 0,
			      "%s: history \"%s\", want \"%s\"", name, c->history,
			      sc->history);
	uint32_t invalid = c->ep[0].invalid_rsts + c->ep[1].invalid_rsts;
	ck_assert_msg(invalid == sc->invalid_rsts,
		      "%s: invalid_rsts %u, want %u", name, invalid,
		      sc->invalid_rsts);
	for (int i = 0; i < 2; i++) {
		check_counter(name, "retransmits", i, c->ep[i].retransmits,
			      sc->retransmits[i]);
		check_counter(name, "keepalives", i, c->ep[i].keepalives,
			      sc->keepalives[i]);
		check_counter(name, "zero_windows", i, c->ep[i].zero_windows,
			      sc->zero_windows[i]);
		check_counter(name, "out_of_window", i, c->ep[i].out_of_window,
			      sc->out_of_window[i]);
		if (sc->syn_cnt[0] || sc->syn_cnt[1])
			check_counter(name, "syn_cnt", i, c->ep[i].syn_cnt,
				      sc->syn_cnt[i]);
	}
}

/* The table of the test in progress: freed by the fixture's teardown even
 * when an assertion ends the test early (CK_FORK=no under valgrind). */
static struct cs_flow_table tab;

static void table_free(void)
{
	cs_flow_fini(&tab);
}

static void run_script(const struct script *sc, bool client_high)
{
	uint64_t gap = sc->gap_us ? sc->gap_us : 1000, ts = T0;
	struct cs_conn *c = NULL;
	char name[160];

	snprintf(name, sizeof name, "%s (client address %s)", sc->name,
		 client_high ? "above" : "below");
	table_init(&tab, NULL, NULL);
	for (size_t i = 0; i < sc->n; i++, ts += gap) {
		const struct step *s = &sc->steps[i];
		struct cs_pkt p = segment(s, client_high, ts);
		int side;
		/* expiry runs as the engine runs it, before each packet */
		cs_flow_expire(&tab, ts, 64);
		unsigned ev = cs_track_segment(&tab, &p, &c, &side);

		ck_assert_msg(c && c->id == 1 && tab.count == 1,
			      "%s, step %zu: not the script's one record", name, i + 1);
		ck_assert_msg(c->ep[0].state == s->cli && c->ep[1].state == s->srv,
			      "%s, step %zu: client %s server %s, want %s %s", name,
			      i + 1, state_name(c->ep[0].state),
			      state_name(c->ep[1].state), state_name(s->cli),
			      state_name(s->srv));
		/* the states are always the ones the facts imply */
		ck_assert_msg(cs_tcp_derive_state(c, 0) == c->ep[0].state &&
			      cs_tcp_derive_state(c, 1) == c->ep[1].state,
			      "%s, step %zu: stored states disagree with the facts",
			      name, i + 1);
		if (s->check_ev)
			ck_assert_msg(ev == s->ev, "%s, step %zu: events 0x%x, want 0x%x",
				      name, i + 1, ev, s->ev);
	}
	check_end(sc, name, c, ts - gap);
	cs_flow_fini(&tab);
}

/* _i: script _i / 2, client address below (even) or above (odd) the server's. */
START_TEST(script_runs)
{
	run_script(&scripts[_i / 2], _i % 2);
}
END_TEST

/*
 * A RST after both FINs (the common FIN, FIN-ACK, RST ending, where the RST
 * takes the place of the last ACK) ends nothing that was established: both
 * sides closed with FIN, which DESIGN.md calls completed; Zeek says SF.
 * The RST is still recorded, with cause after_close.
 */
static const struct script rst_after_close[] = {
	{ .name = "RST in CLOSING", STEPS(s_rst_closing),
	  .outcome = "completed", .rst_cause = "after_close", .conn_state = "SF" },
	{ .name = "RST in LAST_ACK", STEPS(s_rst_last_ack),
	  .outcome = "completed", .rst_cause = "after_close", .conn_state = "SF" },
	{ .name = "RST in TIME_WAIT", STEPS(s_rst_time_wait),
	  .outcome = "completed", .rst_cause = "after_close", .conn_state = "SF" },
};

START_TEST(rst_after_both_fins_is_completed)
{
	run_script(&rst_after_close[_i], false);
}
END_TEST

/* ---- acknowledgments of things never sent ------------------------------------ */

/*
 * A SYN-ACK whose ACK is not ISN+1 (here: past anything the client sent, as
 * a stale SYN-ACK for an earlier attempt on the port would be) is not
 * acceptable in SYN-SENT (RFC 9293 3.10.7.3: SEG.ACK > SND.NXT): the client
 * answers with a RST and stays in SYN_SENT; its SYN was not acknowledged.
 */
static const struct step s_synack_wrong_ack[] = {
	ST(CLI, SYN, CISN, 0, 0, W, SYN_SENT, CLOSED),
	ST(SRV, SYNACK, SISN, CISN + 501, 0, W, SYN_SENT, SYN_RECEIVED),
	ST(CLI, SYN, CISN, 0, 0, W, SYN_SENT, SYN_RECEIVED),
};

START_TEST(synack_acknowledging_another_isn_does_not_establish)
{
	static const struct script sc = {
		.name = "SYN-ACK acknowledging another ISN",
		STEPS(s_synack_wrong_ack),
	};
	run_script(&sc, false);
}
END_TEST

/*
 * Nothing follows a FIN in sequence space, so an ACK past FIN+1
 * acknowledges something never sent: the receiver drops it (RFC 9293
 * 3.10.7.4, SEG.ACK > SND.NXT) and stays in FIN_WAIT_1.
 */
static const struct step s_ack_past_fin[] = {
	HANDSHAKE,
	ST(CLI, FINACK, CISN + 1, SISN + 1, 0, W, FIN_WAIT_1, CLOSE_WAIT),
	ST(SRV, ACK, SISN + 1, CISN + 1001, 0, W, FIN_WAIT_1, CLOSE_WAIT),
	ST(SRV, ACK, SISN + 1, CISN + 2, 0, W, FIN_WAIT_2, CLOSE_WAIT),
};

START_TEST(ack_past_the_fin_does_not_acknowledge_it)
{
	static const struct script sc = {
		.name = "ACK past the FIN",
		STEPS(s_ack_past_fin),
	};
	run_script(&sc, false);
}
END_TEST

/* ---- record boundaries: port reuse ------------------------------------------- */

struct done_log {
	unsigned calls;
	uint64_t id[8];
	bool port_reuse[8];
	enum cs_outcome outcome[8];
	uint8_t state[8][2];
};

static void log_done(void *ctx, struct cs_conn *c, uint64_t now_us)
{
	struct done_log *d = ctx;

	if (d->calls < 8) {
		d->id[d->calls] = c->id;
		d->port_reuse[d->calls] = c->port_reuse;
		d->outcome[d->calls] = cs_diagnose_outcome(c, now_us, SYN_TIMEOUT_US);
		d->state[d->calls][0] = c->ep[0].state;
		d->state[d->calls][1] = c->ep[1].state;
	}
	d->calls++;
}

static unsigned run_steps(struct cs_flow_table *t, const struct step *steps,
			  size_t n, uint64_t *ts, struct cs_conn **c)
{
	unsigned ev = 0;

	for (size_t i = 0; i < n; i++, *ts += 1000) {
		struct cs_pkt p = segment(&steps[i], false, *ts);
		int side;
		ev = cs_track_segment(t, &p, c, &side);
	}
	return ev;
}

/* A new SYN (new ISN) on the 4-tuple of a connection in TIME_WAIT. */
START_TEST(port_reuse_starts_a_new_record)
{
	static const struct step reuse[] = {
		ST(CLI, SYN, 90000, 0, 0, W, SYN_SENT, CLOSED),
		ST(SRV, SYNACK, 70000, 90001, 0, W, SYN_SENT, SYN_RECEIVED),
	};
	struct done_log d = { 0 };
	struct cs_conn *c;
	uint64_t ts = T0;

	table_init(&tab, log_done, &d);
	run_steps(&tab, s_close_by_client,
		  sizeof s_close_by_client / sizeof s_close_by_client[0], &ts, &c);
	ck_assert_uint_eq(c->ep[0].state, CS_TCP_TIME_WAIT);
	ck_assert(!c->port_reuse);
	ck_assert_uint_eq(d.calls, 0);

	struct cs_pkt p = segment(&reuse[0], false, ts);
	int side;
	unsigned ev = cs_track_segment(&tab, &p, &c, &side);
	/* the old record was judged and handed out first */
	ck_assert_uint_eq(d.calls, 1);
	ck_assert_uint_eq(d.id[0], 1);
	ck_assert(!d.port_reuse[0]);
	ck_assert_str_eq(cs_outcome_names[d.outcome[0]], "completed");
	/* the new SYN ended the client's TIME_WAIT early (RFC 1122 4.2.2.13):
	 * the old record leaves with both ends closed */
	ck_assert_uint_eq(d.state[0][0], CS_TCP_CLOSED);
	ck_assert_uint_eq(d.state[0][1], CS_TCP_CLOSED);
	/* the new one */
	ck_assert_uint_eq(ev, CS_EV_SYN);
	ck_assert_uint_eq(c->id, 2);
	ck_assert(c->port_reuse);
	ck_assert_uint_eq(c->ep[0].state, CS_TCP_SYN_SENT);
	ck_assert_uint_eq(c->ep[1].state, CS_TCP_CLOSED);
	ck_assert_uint_eq(c->ep[0].isn, 90000);
	ck_assert_uint_eq(c->ep[0].syn_cnt, 1);
	ck_assert_uint_eq(tab.count, 1);

	p = segment(&reuse[1], false, ts + 1000);
	cs_track_segment(&tab, &p, &c, &side);
	ck_assert_uint_eq(c->id, 2);
	ck_assert_uint_eq(c->ep[0].state, CS_TCP_SYN_SENT);
	ck_assert_uint_eq(c->ep[1].state, CS_TCP_SYN_RECEIVED);

	cs_flow_flush(&tab, ts + 2000);
	ck_assert_uint_eq(d.calls, 2);
	ck_assert_uint_eq(d.id[1], 2);
	ck_assert(d.port_reuse[1]);
	cs_flow_fini(&tab);
}
END_TEST

/* A retransmitted SYN stays in its record, also after the SYN-ACK. */
START_TEST(syn_retransmission_keeps_the_record)
{
	struct done_log d = { 0 };
	struct cs_conn *c, *first;
	uint64_t ts = T0;

	table_init(&tab, log_done, &d);
	run_steps(&tab, s_syn_only, 1, &ts, &first);
	run_steps(&tab, s_syn_only, 1, &ts, &c);
	ck_assert_ptr_eq(c, first);
	ck_assert_uint_eq(c->ep[0].syn_cnt, 2);
	ck_assert(!c->port_reuse);
	ck_assert_uint_eq(d.calls, 0);
	ck_assert_uint_eq(tab.count, 1);
	cs_flow_fini(&tab);
}
END_TEST

/*
 * A server that still holds an older connection on the 4-tuple (its client
 * rebooted) answers the new SYN with that connection's ACK: seq 777000,
 * ack 333000, neither the new ISN + 1 (1001).  The client, in SYN-SENT,
 * answers with a bare RST of seq 333000, the ACK's acknowledgment (RFC 9293
 * 3.10.7.3), and stays in SYN-SENT; the RST ends the old connection at the
 * server.  3 s later the same SYN again, the handshake, 100 bytes at once
 * and 100 more 7 s later -- more than the 5 s a reset connection lingers --
 * then both FINs.  One connection, completed, no RST, and its diagnosis
 * names the 3 s the connect took (the second SYN minus the first).
 */
static const struct step s_old_conn_answers[] = {
	STE(CLI, SYN, CISN, 0, 0, W, SYN_SENT, CLOSED, CS_EV_SYN),
	STE(SRV, ACK, 777000, 333000, 0, W, SYN_SENT, CLOSED, CS_EV_OLD_CONN),
	STE(CLI, RST, 333000, 0, 0, 0, SYN_SENT, CLOSED, CS_EV_OLD_CONN),
	STE(CLI, SYN, CISN, 0, 0, W, SYN_SENT, CLOSED, CS_EV_SYN | CS_EV_SYN_RETX),
	STE(SRV, SYNACK, SISN, CISN + 1, 0, W, SYN_SENT, SYN_RECEIVED, CS_EV_SYNACK),
	STE(CLI, ACK, CISN + 1, SISN + 1, 0, W, ESTABLISHED, ESTABLISHED,
	    CS_EV_ESTABLISHED),
	ST(CLI, DATA, CISN + 1, SISN + 1, 100, W, ESTABLISHED, ESTABLISHED),
	ST(CLI, DATA, CISN + 101, SISN + 1, 100, W, ESTABLISHED, ESTABLISHED),
	ST(CLI, FINACK, CISN + 201, SISN + 1, 0, W, FIN_WAIT_1, CLOSE_WAIT),
	ST(SRV, FINACK, SISN + 1, CISN + 202, 0, W, TIME_WAIT, LAST_ACK),
	ST(CLI, ACK, CISN + 202, SISN + 2, 0, W, TIME_WAIT, CLOSED),
};
/* when each step is sent, from the first */
static const uint64_t old_conn_at_us[] = {
	0, 100, 200, 3000000, 3000100, 3000200, 3000300, 10000300, 10000400,
	10000500, 10000600,
};

static struct {
	unsigned calls;
	enum cs_outcome outcome;
	uint8_t rst_cause;
	uint64_t orig_pkts, resp_pkts;
	char note[256];
} old_conn_done;

static void note_done(void *ctx, struct cs_conn *c, uint64_t now_us)
{
	(void)ctx;
	old_conn_done.calls++;
	old_conn_done.outcome = cs_diagnose_outcome(c, now_us, SYN_TIMEOUT_US);
	old_conn_done.rst_cause = c->rst_cause;
	old_conn_done.orig_pkts = c->ep[0].pkts;
	old_conn_done.resp_pkts = c->ep[1].pkts;
	cs_diagnose_note(c, old_conn_done.note, sizeof old_conn_done.note);
}

START_TEST(a_syn_answered_by_an_older_connection_is_one_connection)
{
	const struct step *st = s_old_conn_answers;
	size_t n = sizeof s_old_conn_answers / sizeof s_old_conn_answers[0];
	struct cs_conn *c = NULL, *first = NULL;

	ck_assert_uint_eq(n, sizeof old_conn_at_us / sizeof old_conn_at_us[0]);
	memset(&old_conn_done, 0, sizeof old_conn_done);
	table_init(&tab, note_done, NULL);
	for (size_t i = 0; i < n; i++) {
		uint64_t ts = T0 + old_conn_at_us[i];
		/* expiry runs as the engine runs it, before each packet */
		cs_flow_expire(&tab, ts, 64);
		struct cs_pkt p = segment(&st[i], false, ts);
		int side;
		unsigned ev = cs_track_segment(&tab, &p, &c, &side);
		if (!first)
			first = c;
		ck_assert_msg(c == first && old_conn_done.calls == 0,
			      "step %zu: a second record", i);
		ck_assert_msg(c->ep[0].state == st[i].cli && c->ep[1].state == st[i].srv,
			      "step %zu: %s/%s, want %s/%s", i,
			      cs_tcp_state_names[c->ep[0].state],
			      cs_tcp_state_names[c->ep[1].state],
			      cs_tcp_state_names[st[i].cli], cs_tcp_state_names[st[i].srv]);
		ck_assert_msg(!st[i].check_ev || ev == st[i].ev,
			      "step %zu: events 0x%x, want 0x%x", i, ev, st[i].ev);
	}
	cs_flow_flush(&tab, T0 + old_conn_at_us[n - 1] + 1000);
	ck_assert_uint_eq(old_conn_done.calls, 1);
	ck_assert_str_eq(cs_outcome_names[old_conn_done.outcome], "completed");
	ck_assert_uint_eq(old_conn_done.rst_cause, CS_RST_NONE);
	ck_assert_uint_eq(old_conn_done.orig_pkts, 8);	/* every CLI step */
	ck_assert_uint_eq(old_conn_done.resp_pkts, 3);
	ck_assert_str_eq(old_conn_done.note,
			 "connect delayed 3.000000 s: the server answered the SYN "
			 "with an ACK for an older connection on this 4-tuple; the "
			 "client reset it and retried");
	cs_flow_fini(&tab);
}
END_TEST

/*
 * Windows retries a refused connect with the same SYN (same ISN) after the
 * RST, twice (Microsoft KB 175523).  track.h: "a bare SYN with a new ISN on
 * a finished 4-tuple starts a new one: port reuse; a retransmitted SYN does
 * not" -- one attempt, one record, refused, no port reuse.
 */
START_TEST(syn_retried_after_refusal_is_not_port_reuse)
{
	static const struct step attempt[] = {
		ST(CLI, SYN, CISN, 0, 0, W, SYN_SENT, CLOSED),
		ST(SRV, RSTACK, 0, CISN + 1, 0, 0, CLOSED, CLOSED),
	};
	struct done_log d = { 0 };
	struct cs_conn *c = NULL;
	uint64_t ts = T0;

	table_init(&tab, log_done, &d);
	for (int i = 0; i < 3; i++, ts += 500000)
		run_steps(&tab, attempt, 2, &ts, &c);
	ck_assert_msg(d.calls == 0 && c->id == 1,
		      "one attempt became %u records", (unsigned)c->id);
	ck_assert(!c->port_reuse);
	ck_assert_str_eq(cs_outcome_names[cs_diagnose_outcome(c, ts, SYN_TIMEOUT_US)],
			 "refused");
}
END_TEST

/*
 * In a simultaneous open each side's SYN-ACK repeats the ISN of its SYN:
 * it acknowledges the peer's SYN, it does not retransmit one.  Nothing was
 * retransmitted, so neither the event nor JSON's syn_retransmits
 * (syn_cnt - 1) should say so.
 */
START_TEST(simultaneous_open_synack_is_not_a_syn_retransmission)
{
	struct cs_conn *c;
	uint64_t ts = T0;

	table_init(&tab, NULL, NULL);
	run_steps(&tab, s_simultaneous_open, 2, &ts, &c);
	unsigned ev = run_steps(&tab, s_simultaneous_open + 2, 1, &ts, &c);
	ck_assert_msg(ev == CS_EV_SYNACK, "client's SYN-ACK: events 0x%x, want 0x%x",
		      ev, CS_EV_SYNACK);
	ev = run_steps(&tab, s_simultaneous_open + 3, 1, &ts, &c);
	ck_assert_msg(ev == (CS_EV_SYNACK | CS_EV_ESTABLISHED),
		      "server's SYN-ACK: events 0x%x, want 0x%x", ev,
		      CS_EV_SYNACK | CS_EV_ESTABLISHED);
	ck_assert_uint_eq(c->ep[0].syn_cnt, 1);
	ck_assert_uint_eq(c->ep[1].syn_cnt, 1);
	cs_flow_fini(&tab);
}
END_TEST

/*
 * An ICMP unreachable that quotes the client's SYN aborts the connect()
 * (Linux does on any code): the client is CLOSED.  One that quotes another
 * sequence number is not about this attempt; a SYN sent again after the
 * error shows a stack that took it as soft.
 */
START_TEST(icmp_unreachable_aborts_syn_sent)
{
	static const struct step s_syn[] = {
		ST(CLI, SYN, CISN, 0, 0, W, SYN_SENT, CLOSED),
	};
	struct cs_conn *c;
	uint64_t ts = T0;

	table_init(&tab, NULL, NULL);
	run_steps(&tab, s_syn, 1, &ts, &c);
	ck_assert_uint_eq(cs_tcp_icmp_unreachable(c, CISN + 1), 0);
	ck_assert_uint_eq(c->ep[0].state, CS_TCP_SYN_SENT);
	cs_tcp_icmp_unreachable(c, CISN);
	ck_assert_uint_eq(c->ep[0].state, CS_TCP_CLOSED);
	ck_assert_uint_eq(cs_tcp_derive_state(c, 0), CS_TCP_CLOSED);
	run_steps(&tab, s_syn, 1, &ts, &c);
	ck_assert_uint_eq(c->ep[0].state, CS_TCP_SYN_SENT);
	cs_flow_fini(&tab);
}
END_TEST

/*
 * When the diagnosis concludes that connect() failed, the originator is
 * CLOSED from then on: one SYN with no answer is an attempt until
 * --syn-timeout (3 s) has passed since it, SYN_SENT; at 3 s it is a
 * timeout, and Linux has ended the socket by the time it gives up
 * (tcp_write_err -> tcp_done), CLOSED.  A SYN answered by a SYN-ACK
 * (half open) is no failed connect(): the originator stays SYN_SENT.
 */
START_TEST(a_failed_connect_leaves_the_originator_closed)
{
	struct cs_conn *c;
	uint64_t ts = T0;

	table_init(&tab, NULL, NULL);
	run_steps(&tab, s_syn_only, 1, &ts, &c);
	enum cs_outcome o = cs_diagnose_outcome(c, T0 + 2999999, SYN_TIMEOUT_US);
	ck_assert_str_eq(cs_outcome_names[o], "attempt");
	ck_assert_uint_eq(cs_diagnose_orig_state(c, o), CS_TCP_SYN_SENT);
	o = cs_diagnose_outcome(c, T0 + 3000000, SYN_TIMEOUT_US);
	ck_assert_str_eq(cs_outcome_names[o], "timeout");
	ck_assert_uint_eq(cs_diagnose_orig_state(c, o), CS_TCP_CLOSED);
	cs_tcp_connect_failed(c);
	ck_assert_uint_eq(c->ep[0].state, CS_TCP_CLOSED);
	ck_assert_uint_eq(cs_tcp_derive_state(c, 0), CS_TCP_CLOSED);
	ck_assert_uint_eq(c->ep[1].state, CS_TCP_CLOSED);
	cs_flow_fini(&tab);

	table_init(&tab, NULL, NULL);
	ts = T0;
	run_steps(&tab, s_half_open, 2, &ts, &c);
	o = cs_diagnose_outcome(c, T0 + 10000000, SYN_TIMEOUT_US);
	ck_assert_str_eq(cs_outcome_names[o], "half_open");
	ck_assert_uint_eq(cs_diagnose_orig_state(c, o), CS_TCP_SYN_SENT);
	cs_flow_fini(&tab);
}
END_TEST

/* TIME_WAIT lasts 2*MSL after the closer's last segment, or until a new
 * SYN takes the 4-tuple. */
START_TEST(time_wait_ends_after_twice_msl)
{
	struct cs_conn *c;
	uint64_t ts = T0;

	table_init(&tab, NULL, NULL);
	run_steps(&tab, s_close_by_client,
		  sizeof s_close_by_client / sizeof s_close_by_client[0], &ts, &c);
	ck_assert_uint_eq(c->ep[0].state, CS_TCP_TIME_WAIT);
	cs_tcp_end_time_wait(c, c->last_ts_us + 60000000 - 1, 60000000, false);
	ck_assert_uint_eq(c->ep[0].state, CS_TCP_TIME_WAIT);
	cs_tcp_end_time_wait(c, c->last_ts_us + 60000000, 60000000, false);
	ck_assert_uint_eq(c->ep[0].state, CS_TCP_CLOSED);
	ck_assert_uint_eq(c->ep[1].state, CS_TCP_CLOSED);
	cs_flow_fini(&tab);

	table_init(&tab, NULL, NULL);
	run_steps(&tab, s_close_by_client,
		  sizeof s_close_by_client / sizeof s_close_by_client[0], &ts, &c);
	cs_tcp_end_time_wait(c, c->last_ts_us, 60000000, true);
	ck_assert_uint_eq(c->ep[0].state, CS_TCP_CLOSED);
	cs_flow_fini(&tab);
}
END_TEST

/*
 * Window scaling comes from the SYNs (RFC 7323 2.2): both offer a shift of
 * 7, so the server's window field 8000 is 8000 << 7 = 1,024,000 bytes and
 * the client may send up to CISN + 1 + 1,024,000.  Its 1,000,000 bytes fit
 * (read unscaled, they would end 992,000 bytes past the window, beyond
 * pf's 67,035 of slack).  1,100,000 more end at CISN + 2,100,001, past
 * that edge plus one whole window of slack (1,024,000): out of window.
 */
START_TEST(window_scale_comes_from_the_syns)
{
	static const struct step steps[] = {
		ST(CLI, SYN, CISN, 0, 0, 64240, SYN_SENT, CLOSED),
		ST(SRV, SYNACK, SISN, CISN + 1, 0, 65160, SYN_SENT, SYN_RECEIVED),
		ST(CLI, ACK, CISN + 1, SISN + 1, 0, 502, ESTABLISHED, ESTABLISHED),
		ST(SRV, ACK, SISN + 1, CISN + 1, 0, 8000, ESTABLISHED, ESTABLISHED),
		ST(CLI, DATA, CISN + 1, SISN + 1, 1000000, 502, ESTABLISHED,
		   ESTABLISHED),
		ST(CLI, DATA, CISN + 1000001, SISN + 1, 1100000, 502, ESTABLISHED,
		   ESTABLISHED),
	};
	struct cs_conn *c = NULL;
	uint64_t ts = T0;
	unsigned ev[6];

	table_init(&tab, NULL, NULL);
	for (size_t i = 0; i < 6; i++, ts += 1000) {
		struct cs_pkt p = segment(&steps[i], false, ts);
		int side;
		if (p.flags & CS_TH_SYN) {
			p.opt.present |= CS_OPT_WSCALE;
			p.opt.wscale = 7;
		}
		ev[i] = cs_track_segment(&tab, &p, &c, &side);
	}
	ck_assert_msg(!(ev[4] & CS_EV_OUT_OF_WINDOW),
		      "1,000,000 bytes in a 1,024,000-byte window called out of window");
	ck_assert_uint_eq(c->ep[0].snd_nxt, CISN + 1000001);
	ck_assert_msg(ev[5] == CS_EV_OUT_OF_WINDOW, "events 0x%x, want 0x%x",
		      ev[5], CS_EV_OUT_OF_WINDOW);
	ck_assert_uint_eq(c->ep[0].out_of_window, 1);
	ck_assert_uint_eq(c->ep[1].out_of_window, 0);
	ck_assert_uint_eq(c->ep[0].snd_nxt, CISN + 1000001);
	cs_flow_fini(&tab);
}
END_TEST

/* ---- the fast path for plain segments ------------------------------------- */

/*
 * Plain segments of the kinds the fast path takes, after a handshake (the
 * states are not checked here): data both ways, ACKs, a retransmission
 * (Zeek's T), a zero window and its update (W), a keep-alive, data past a
 * hole that the receiver then acknowledges (Zeek's gap, G), a segment far
 * out of the window, an ACK of data never sent, then the close.
 */
static const struct step s_plain[] = {
	HANDSHAKE,
	ST(CLI, DATA, CISN + 1, SISN + 1, 100, W, ESTABLISHED, ESTABLISHED),
	ST(SRV, ACK, SISN + 1, CISN + 101, 0, W, ESTABLISHED, ESTABLISHED),
	ST(CLI, DATA, CISN + 1, SISN + 1, 100, W, ESTABLISHED, ESTABLISHED),
	ST(SRV, DATA, SISN + 1, CISN + 101, 200, W, ESTABLISHED, ESTABLISHED),
	ST(CLI, ACK, CISN + 101, SISN + 201, 0, 0, ESTABLISHED, ESTABLISHED),
	ST(CLI, ACK, CISN + 101, SISN + 201, 0, W, ESTABLISHED, ESTABLISHED),
	ST(CLI, ACK, CISN + 100, SISN + 201, 0, W, ESTABLISHED, ESTABLISHED),
	ST(CLI, DATA, CISN + 301, SISN + 201, 100, W, ESTABLISHED, ESTABLISHED),
	ST(SRV, ACK, SISN + 201, CISN + 401, 0, W, ESTABLISHED, ESTABLISHED),
	ST(CLI, DATA, CISN + 401 + 10000000, SISN + 201, 10, W, ESTABLISHED,
	   ESTABLISHED),
	ST(SRV, ACK, SISN + 201, CISN + 401 + 5000000, 0, W, ESTABLISHED,
	   ESTABLISHED),
	ST(SRV, DATA, SISN + 201, CISN + 401, 50, W, ESTABLISHED, ESTABLISHED),
	ST(CLI, ACK, CISN + 401, SISN + 251, 0, W, ESTABLISHED, ESTABLISHED),
	ST(CLI, FINACK, CISN + 401, SISN + 251, 0, W, FIN_WAIT_1, CLOSE_WAIT),
	ST(SRV, ACK, SISN + 251, CISN + 402, 0, W, FIN_WAIT_2, CLOSE_WAIT),
	ST(SRV, FINACK, SISN + 251, CISN + 402, 0, W, FIN_WAIT_2, LAST_ACK),
	ST(CLI, ACK, CISN + 402, SISN + 252, 0, W, TIME_WAIT, CLOSED),
};
/* The steps of s_plain after the handshake and before the FIN. */
#define PLAIN_STEPS 13u

/* The segments the fast path took, in the run in progress. */
static unsigned fast_steps;

/*
 * A step the fast path takes: the record before it, copied, and given the
 * segment by the full path (Zeek's model, then the RFC observer) must come
 * out byte for byte as the fast path left the record, with the same side
 * and events.  (Re-filing for expiry, the same for both, is the table's.)
 */
static void check_fast_step(const struct cs_conn *c, struct cs_conn *full,
			    int side, unsigned ev, const struct cs_pkt *p,
			    const char *name, size_t step)
{
	ck_assert_msg(cs_zeek_removal_time(full) > p->ts_us && !cs_zeek_reuse(full, p),
		      "%s, step %zu: the fast path took a segment that starts a "
		      "new conn.log row", name, step);
	int full_side = cs_zeek_segment(full, side, p);
	unsigned full_ev = cs_tcp_segment(full, full_side, p);

	full->last_ts_us = c->last_ts_us;
	full->list = c->list;
	full->lru_prev = c->lru_prev;
	full->lru_next = c->lru_next;
	ck_assert_msg(full_side == side && full_ev == ev,
		      "%s, step %zu: fast path side %d events 0x%x, full path %d 0x%x",
		      name, step, side, ev, full_side, full_ev);
	ck_assert_msg(memcmp(full, c, sizeof *full) == 0,
		      "%s, step %zu: the fast path's record differs from the full "
		      "path's", name, step);
}

static void compare_paths(const struct step *steps, size_t n, bool client_high,
			  const char *what)
{
	char name[160];
	uint64_t ts = T0;

	snprintf(name, sizeof name, "%s (client address %s)", what,
		 client_high ? "above" : "below");
	table_init(&tab, NULL, NULL);
	for (size_t i = 0; i < n; i++, ts += 1000) {
		struct cs_pkt p = segment(&steps[i], client_high, ts);
		struct cs_flow_where w;
		struct cs_conn *c, full;
		int side;

		cs_flow_expire(&tab, ts, 64);
		cs_flow_where(&tab, &p, &w);
		c = cs_flow_find(&tab, &w, ts);
		int kside = c && w.side != c->orig;
		bool fast = c && cs_zeek_plain(c, kside, &p) && cs_tcp_plain(c, &p);
		if (fast)
			memcpy(&full, c, sizeof full);
		unsigned ev = cs_track_segment_at(&tab, &p, &w, &c, &side);
		if (!fast)
			continue;
		fast_steps++;
		ck_assert_msg(side == kside, "%s, step %zu: side %d, want %d", name,
			      i + 1, side, kside);
		check_fast_step(c, &full, side, ev, &p, name, i + 1);
	}
	cs_flow_fini(&tab);
}

START_TEST(plain_segments_fast_path_matches_full_path)
{
	for (int high = 0; high < 2; high++) {
		fast_steps = 0;
		compare_paths(s_plain, sizeof s_plain / sizeof s_plain[0], high,
			      "plain segments");
		ck_assert_msg(fast_steps == PLAIN_STEPS,
			      "the fast path took %u of the %u plain segments",
			      fast_steps, PLAIN_STEPS);
		fast_steps = 0;
		for (size_t i = 0; i < NSCRIPTS; i++)
			compare_paths(scripts[i].steps, scripts[i].n, high,
				      scripts[i].name);
		ck_assert_msg(fast_steps > 0, "no script took the fast path");
	}
}
END_TEST

Suite *tcp_suite(void)
{
	Suite *s = suite_create("tcp");
	TCase *tc = tcase_create("scripts");

	tcase_add_checked_fixture(tc, NULL, table_free);
	tcase_add_loop_test(tc, script_runs, 0, (int)(2 * NSCRIPTS));
	suite_add_tcase(s, tc);

	tc = tcase_create("outcomes");
	tcase_add_checked_fixture(tc, NULL, table_free);
	tcase_add_loop_test(tc, rst_after_both_fins_is_completed, 0,
			    (int)(sizeof rst_after_close / sizeof rst_after_close[0]));
	suite_add_tcase(s, tc);

	tc = tcase_create("acknowledgments");
	tcase_add_checked_fixture(tc, NULL, table_free);
	tcase_add_test(tc, synack_acknowledging_another_isn_does_not_establish);
	tcase_add_test(tc, ack_past_the_fin_does_not_acknowledge_it);
	tcase_add_test(tc, window_scale_comes_from_the_syns);
	suite_add_tcase(s, tc);

	tc = tcase_create("records");
	tcase_add_checked_fixture(tc, NULL, table_free);
	tcase_add_test(tc, port_reuse_starts_a_new_record);
	tcase_add_test(tc, syn_retransmission_keeps_the_record);
	tcase_add_test(tc, syn_retried_after_refusal_is_not_port_reuse);
	tcase_add_test(tc, a_syn_answered_by_an_older_connection_is_one_connection);
	tcase_add_test(tc, simultaneous_open_synack_is_not_a_syn_retransmission);
	tcase_add_test(tc, icmp_unreachable_aborts_syn_sent);
	tcase_add_test(tc, time_wait_ends_after_twice_msl);
	tcase_add_test(tc, a_failed_connect_leaves_the_originator_closed);
	suite_add_tcase(s, tc);

	tc = tcase_create("fast path");
	tcase_add_checked_fixture(tc, NULL, table_free);
	tcase_add_test(tc, plain_segments_fast_path_matches_full_path);
	suite_add_tcase(s, tc);
	return s;
}
