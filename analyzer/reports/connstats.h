/*
 * connstats.h — what the report says about all connections together.
 *
 * Fed once per finished record (and once per record still open at the
 * end), so it costs nothing per packet and its size does not grow with
 * the number of connections: counts per outcome and conn_state, endpoint
 * states at the end, a log-scale histogram of handshake RTTs, and
 * connections per server in a fixed-size table (exact; servers beyond its
 * capacity are counted together, and the report says how many).
 */
#ifndef CS_ANALYZER_CONNSTATS_H
#define CS_ANALYZER_CONNSTATS_H

#include <stdbool.h>
#include <stdint.h>

#include "analyzer/tracking/conn.h"

#define CS_RTT_BUCKETS 320	/* 8 per power of two, 1 us .. ~1 day */
#define CS_SERVER_SLOTS 65536	/* a power of two */

struct cs_server_count {
	struct cs_addr addr;
	uint16_t port;
	bool used;
	uint64_t conns;
	uint64_t failed;	/* a failing outcome (cs_verdict_failing) */
};

struct cs_connstats {
	uint64_t connections;
	uint64_t outcomes[CS_OUT_MAX];
	uint64_t conn_states[CS_CS_MAX];
	uint64_t end_states[CS_TCP_STATE_MAX];	/* endpoints, at the end */
	uint64_t end_conns;		/* the connections they belong to */
	uint64_t port_reuse;
	uint64_t midstream;
	uint64_t rtt_count;
	uint64_t rtt_hist[CS_RTT_BUCKETS];
	uint32_t server_cnt;
	uint64_t servers_untracked;	/* connections to servers beyond the table */
	struct cs_server_count *servers;	/* allocated at the first use */
	uint64_t *servers_written;	/* its pages ever written (written.h) */
};

void cs_connstats_init(struct cs_connstats *s);
void cs_connstats_fini(struct cs_connstats *s);

/* at_end: the record is still open when the capture ends. */
void cs_connstats_add(struct cs_connstats *s, const struct cs_conn *c,
		      enum cs_outcome outcome, enum cs_conn_state cstate,
		      bool at_end);

/* Handshake RTT (SYN to the ACK that completes it), or 0 if not seen. */
uint64_t cs_conn_handshake_rtt_us(const struct cs_conn *c);

/* The p-th percentile (0..100) of handshake RTTs, in microseconds. */
uint64_t cs_connstats_rtt_percentile(const struct cs_connstats *s, double p);

/* Servers by connections, busiest first; returns how many were written. */
int cs_connstats_top_servers(const struct cs_connstats *s,
			     struct cs_server_count *out, int max);

/* Servers by failed connections, most first, those with a failure only. */
int cs_connstats_top_failing(const struct cs_connstats *s,
			     struct cs_server_count *out, int max);

#endif /* CS_ANALYZER_CONNSTATS_H */
