/*
 * conn.h — one TCP connection as connscope knows it.
 *
 * A record holds both endpoints twice over: as RFC 9293 states inferred by
 * a passive observer (what the sockets were doing), and as Zeek's endpoint
 * model (what conn.log's conn_state and history are defined on), because
 * the two answer different questions and must not be bent into one.
 * Records live in the flow table's preallocated array; nothing here is
 * allocated per packet.  Sequence comparisons are modulo 2^32 (RFC 9293 3.4).
 */
#ifndef CS_ANALYZER_CONN_H
#define CS_ANALYZER_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "analyzer/tracking/hash.h"
#include "capture/packet.h"

/* RFC 9293's eleven states, for each endpoint. */
enum cs_tcp_state {
	CS_TCP_CLOSED,
	CS_TCP_LISTEN,
	CS_TCP_SYN_SENT,
	CS_TCP_SYN_RECEIVED,
	CS_TCP_ESTABLISHED,
	CS_TCP_FIN_WAIT_1,
	CS_TCP_FIN_WAIT_2,
	CS_TCP_CLOSE_WAIT,
	CS_TCP_CLOSING,
	CS_TCP_LAST_ACK,
	CS_TCP_TIME_WAIT,
	CS_TCP_STATE_MAX
};
extern const char *const cs_tcp_state_names[CS_TCP_STATE_MAX];

/* DESIGN.md's outcome vocabulary (contract). */
enum cs_outcome {
	CS_OUT_COMPLETED,
	CS_OUT_ESTABLISHED,
	CS_OUT_CLOSING,
	CS_OUT_REFUSED,
	CS_OUT_TIMEOUT,
	CS_OUT_UNREACHABLE,
	CS_OUT_ABORTED,
	CS_OUT_RESET_NONEXISTENT,
	CS_OUT_HALF_OPEN,
	CS_OUT_ATTEMPT,
	CS_OUT_MIDSTREAM,
	CS_OUT_MAX
};
extern const char *const cs_outcome_names[CS_OUT_MAX];

/* rst.cause (contract). */
enum cs_rst_cause {
	CS_RST_NONE,
	CS_RST_REFUSED,
	CS_RST_ABORT,
	CS_RST_NONEXISTENT,
	CS_RST_AFTER_CLOSE,
	CS_RST_INVALID,
	CS_RST_TIMEOUT,
	CS_RST_UNJUDGED,	/* a lone RST: nothing else seen on the 4-tuple */
	CS_RST_CAUSE_MAX
};
extern const char *const cs_rst_cause_names[CS_RST_CAUSE_MAX];

/* Zeek's endpoint states (analyzer/protocol/tcp/TCP_Endpoint.h), which
 * conn_state is a function of. */
enum cs_zeek_state {
	CS_Z_INACTIVE,
	CS_Z_SYN_SENT,
	CS_Z_SYN_ACK_SENT,
	CS_Z_PARTIAL,
	CS_Z_ESTABLISHED,
	CS_Z_CLOSED,
	CS_Z_RESET,
};

/* Zeek's conn_state values (contract: DESIGN.md, conn.log). */
enum cs_conn_state {
	CS_CS_S0, CS_CS_S1, CS_CS_SF, CS_CS_REJ, CS_CS_S2, CS_CS_S3,
	CS_CS_RSTO, CS_CS_RSTR, CS_CS_RSTOS0, CS_CS_RSTRH, CS_CS_SH,
	CS_CS_SHR, CS_CS_OTH, CS_CS_MAX
};
extern const char *const cs_conn_state_names[CS_CS_MAX];

/* Why a record left the table before the capture ended (summary.evicted). */
enum cs_evict {
	CS_EVICT_NONE,		/* still open at the end, or closed normally */
	CS_EVICT_EMBRYONIC,	/* table full: an unanswered attempt made room */
	CS_EVICT_CLOSED,	/* table full: a closed connection made room */
	CS_EVICT_ACTIVE,	/* table full: the least recently active made room */
	CS_EVICT_MAX
};
extern const char *const cs_evict_names[CS_EVICT_MAX];

#define CS_HISTORY_MAX 40	/* Zeek's letters, capped; repeats are scaled */

/* Zeek's per-endpoint model: enough to reproduce conn_state, history and
 * the sequence-space byte counts (orig_bytes/resp_bytes). */
struct cs_zeek_ep {
	uint8_t state, prev_state;
	bool did_close;
	bool opened_partial;		/* its first packet made Zeek's
					 * connection partial (zeek.c) */
	uint32_t start_seq, last_seq, ack_seq;
	uint32_t seq_wraps, ack_wraps;
	uint32_t fin_cnt;
	/* the low 32 bits of the relative sequence number of its last SYN,
	 * FIN and RST: a letter repeats when the next one's differs */
	uint32_t hist_last_syn, hist_last_fin, hist_last_rst;
	/* events whose letters Zeek scales: the 1st, 10th, 100th, ... */
	uint32_t rxmt_cnt, win0_cnt, chk_cnt, gap_cnt;
	/* Zeek's stream reassembler for this endpoint's data, in sequence
	 * numbers relative to start_seq (data begins at 1), compared mod
	 * 2^32: contents up to reasm_seq were delivered or given up as a
	 * gap, trim_seq is the latest acknowledgment taken in, one range
	 * [ooo_lo, ooo_hi) above a hole is held (equal: none), fin_seq is
	 * one past its FIN. */
	uint32_t reasm_seq, trim_seq, ooo_lo, ooo_hi, fin_seq;
	uint64_t pkts, ip_bytes;	/* conn.log orig_pkts/orig_ip_bytes */
};

/* One side of the connection, as a passive observer infers it. */
struct cs_endpoint {
	uint8_t state;			/* enum cs_tcp_state */
	bool sent_any;			/* this side has sent a segment */
	bool syn, syn_acked;		/* sent a SYN; the peer acknowledged it */
	bool got_syn;			/* acknowledged the peer's SYN */
	bool fin, fin_acked;		/* sent a FIN; the peer acknowledged it */
	bool got_fin;			/* received the peer's FIN */
	bool fin_first;			/* its FIN left before it had the peer's */
	bool rst;			/* sent an accepted RST */
	bool rst_first;			/* sent the RST that ended the connection */
	bool gone;			/* its socket is gone without a RST: connect()
					 * failed on an ICMP error, or its TIME_WAIT
					 * ended (2*MSL, or a new SYN took the 4-tuple) */
	bool have_ack;			/* max_ack is valid */
	bool ws_offered;		/* its SYN carried a window scale option */
	bool wscale_ok;			/* scaling negotiated both ways */
	bool win_zero;			/* its latest window was 0 */
	uint8_t wscale;			/* offered shift (RFC 7323 caps use at 14) */
	bool synack;			/* its SYN carried an ACK */
	uint32_t isn;
	uint32_t snd_nxt;		/* one past the highest sequence sent */
	uint32_t fin_seq;		/* sequence number the FIN occupies */
	uint32_t max_ack;		/* highest acknowledgment sent */
	uint32_t last_ack;		/* ack field of its latest segment */
	uint32_t win;			/* latest window field, unscaled */
	uint32_t syn_cnt;		/* SYNs (bare, or SYN-ACKs for the
					 * responder) sent: 1 + retransmissions */
	/* pf's window tracking (pf_state_peer's seqhi and max_win; snd_nxt
	 * is its seqlo): what the peer would accept from this side.  seq_hi
	 * is valid once the peer has sent an ACK (its have_ack). */
	uint32_t seq_hi;		/* one past the last byte the peer's
					 * window lets it send (ack + window) */
	uint32_t max_win;		/* largest window it advertised, scaled */
	uint64_t pkts, ip_bytes;
	uint32_t retransmits, zero_windows, keepalives;
	uint32_t invalid_rsts;		/* its RSTs the peer would not accept */
	uint32_t unanswered;		/* retransmissions/probes since the peer spoke */
	uint32_t out_of_window;		/* its segments the peer would not accept */
	struct cs_zeek_ep z;
};

/*
 * The detectors' marks on one endpoint: which of their counts hold it.
 * These are the only fields of a record that a module other than the
 * tracker writes; the detectors own them (analyzer/detectors/detect.c
 * sets and clears them, closewait.c ages them), the tracker only zeroes
 * them with the record.  They live in the record, not in a table of the
 * detectors' own, because cs_detect_segment reads them on every segment:
 * here they share the record's cache lines, where a table keyed by record
 * would add a memory access per segment and an array of --max-flows.
 */
struct cs_detect_marks {
	bool time_wait;			/* counted in TIME_WAIT (gauge, timewait.c) */
	bool close_wait;		/* counted in CLOSE_WAIT (gauge, closewait.c) */
	bool close_wait_old;		/* past --closewait-age (closewait.c) */
};

/*
 * What the open-connection gauges (analyzer/views/tally.c) counted a record
 * as, so that they can take exactly that away when it changes or leaves:
 * a publish then reads the gauges, and walks no record.  tally.c alone
 * writes these; the tracker only zeroes them with the record (zero is
 * "not counted yet").  Three bytes, in a hole of the record.
 */
struct cs_tally_marks {
	uint8_t outcome_cs;		/* outcome + 1, conn_state << 4 */
	uint8_t states;			/* ep[0].state, ep[1].state << 4 */
	uint8_t share;			/* its verdict share, if failing (tally.c) */
};

struct cs_flow_key {
	struct cs_addr addr[2];		/* canonical order: lower endpoint first */
	uint16_t port[2];
	uint16_t vlan;			/* 0 unless --vlan-key */
};

/* A key's hash from seed: the flow table's index (a seed per run) and the
 * keys of evicted connections (none: evicted.c) both file keys by it. */
static inline uint32_t cs_flow_key_hash(uint64_t seed, const struct cs_flow_key *k)
{
	uint64_t h = seed, w;

	for (size_t at = 0; at < sizeof k->addr; at += sizeof w) {
		memcpy(&w, (const uint8_t *)k->addr + at, sizeof w);
		h = cs_mix64(h ^ w);
	}
	h = cs_mix64(h ^ ((uint64_t)k->port[0] << 32 | (uint64_t)k->port[1] << 16 | k->vlan));
	return (uint32_t)h;
}

/* Indices into the flow table's record array; 0 is "none". */
typedef uint32_t cs_conn_ref;

struct cs_conn {
	struct cs_flow_key key;
	uint8_t orig;			/* index in key of the originator (0/1) */
	uint8_t list;			/* which expiry list holds it */
	uint8_t evicted;		/* enum cs_evict */
	bool in_use;
	bool id_fresh;			/* created for the packet in hand */
	bool handshake_done;		/* both SYNs seen acknowledged */
	cs_conn_ref lru_prev, lru_next;
	uint32_t icmp_cnt;		/* ICMP errors matched to it (here, where
					 * it fills a hole) */
	uint64_t id;			/* stable, in order of creation */
	uint64_t first_ts_us, last_ts_us;

	struct cs_endpoint ep[2];	/* [0] originator, [1] responder */

	/* handshake timing */
	uint64_t syn_ts_us, synack_ts_us, ack_ts_us;

	/* what ended it (which side: the endpoint with rst_first) */
	uint8_t rst_cause;		/* enum cs_rst_cause */
	bool port_reuse;		/* a SYN reused the 4-tuple of a closed one */
	bool old_ack;			/* the responder answered the SYN with an
					 * ACK of an older connection (tcp.c) */
	bool old_reset;			/* the originator reset that older one */
	uint8_t reuse_tw;		/* key indexes that were still in TIME_WAIT */
	uint8_t ev_state[2];		/* states at the last timeline event */

	/* ICMP error matched to it */
	bool have_icmp;
	uint8_t icmp_type, icmp_code;
	struct cs_addr icmp_from;

	/* The gauges' alone (struct cs_tally_marks above). */
	struct cs_tally_marks tally;

	struct cs_tunnel tunnel;	/* outer endpoints, if it came encapsulated */

	/* Zeek's connection-level history */
	uint32_t hist_seen;
	uint8_t hist_len;
	bool flipped;
	uint8_t z_flip;			/* record index of Zeek's originator */
	char history[CS_HISTORY_MAX + 1];

	/* Zeek removes connections on timers of its own (attempt, close and
	 * reset delays, inactivity); each removal starts a new conn.log row,
	 * a "segment", while the record goes on.  Times in packet time. */
	uint32_t z_segment;		/* rows already written for this record */
	uint64_t z_bytes_done[2];	/* [record index]: payload bytes of the
					 * rows already written (cs_zeek_size) */
	uint64_t z_start_us;		/* first packet of this segment */
	uint64_t z_last_us;		/* Zeek's LastTime */
	uint64_t z_attempt_at;		/* attempt timer, if armed */
	uint64_t z_remove_at;		/* close or reset delay, if armed */
	uint64_t z_expire_at[2];	/* expire-timer chains: next tick */
	bool z_long_idle;		/* past the handshake: 5 min inactivity */

	/* The detectors' alone.  [key index], not [side]: a role flip
	 * (zeek.c) swaps ep[], and the marks stay with their endpoint without
	 * the tracker touching them.  Last, where they fill padding. */
	struct cs_detect_marks detect[2];
};

/* Index in c->key of endpoint `side` (0: the originator, 1: the responder). */
static inline int cs_conn_key_index(const struct cs_conn *c, int side)
{
	return side == 0 ? c->orig : !c->orig;
}

/* Sequence arithmetic modulo 2^32. */
static inline int32_t cs_seq_diff(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b);
}
static inline bool cs_seq_lt(uint32_t a, uint32_t b) { return cs_seq_diff(a, b) < 0; }
static inline bool cs_seq_leq(uint32_t a, uint32_t b) { return cs_seq_diff(a, b) <= 0; }
static inline bool cs_seq_gt(uint32_t a, uint32_t b) { return cs_seq_diff(a, b) > 0; }
static inline bool cs_seq_geq(uint32_t a, uint32_t b) { return cs_seq_diff(a, b) >= 0; }

#endif /* CS_ANALYZER_CONN_H */
