/*
 * stats.h — what was read and what became of it.
 *
 * The accounting behind the promise "every packet that is not analysed is
 * counted under a named reason": packets = analysed + sum(skipped), checked
 * by cs_stats_balanced().  Counters only; no packet is kept.
 */
#ifndef CS_ANALYZER_STATS_H
#define CS_ANALYZER_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "capture/packet.h"

struct cs_stats {
	uint64_t packets;		/* frames read */
	uint64_t bytes;			/* their length on the wire */
	uint64_t analysed;		/* tcp_packets + icmp_errors */
	uint64_t tcp_packets;
	uint64_t icmp_errors;		/* ICMP/ICMPv6 errors quoting TCP */
	uint64_t skipped[CS_SKIP_MAX];	/* [CS_SKIP_NONE] stays 0 */
	uint64_t truncated_frames;	/* analysed, but cut by the snap length */
	uint64_t ts_backwards;		/* frames older than the one before */
	uint64_t ts_invalid;		/* frames whose time is none (pkttime.h) */
	uint64_t first_ts_us;		/* earliest and latest packet time, of */
	uint64_t last_ts_us;		/* the frames that have one */
	uint64_t prev_ts_us;
	uint64_t datagrams_reassembled;	/* outer IP datagrams put back together */
	uint64_t datagrams_incomplete;	/* ... given up: never complete in 30 s,
					 * evicted, inconsistent, or held at the end */
	bool have_drops;		/* live source: kernel drops are known */
	uint64_t capture_drops;
};

void cs_stats_init(struct cs_stats *st);

/* Frames with a packet time: first_ts_us and last_ts_us mean something
 * only when there is one. */
static inline uint64_t cs_stats_timed(const struct cs_stats *st)
{
	return st->packets - st->ts_invalid;
}

static inline void cs_stats_count_time(struct cs_stats *st,
				       const struct cs_frame *f)
{
	uint64_t ts = f->ts_us;

	/* No time to place it by: it takes no part in the span or the order. */
	if (f->ts_invalid) {
		st->ts_invalid++;
		return;
	}
	if (cs_stats_timed(st) == 1) {
		st->first_ts_us = st->last_ts_us = st->prev_ts_us = ts;
		return;
	}
	/* Captures from multi-queue NICs or merged files are not always in
	 * order: keep the span as min..max and count the reversals. */
	if (ts < st->prev_ts_us)
		st->ts_backwards++;
	if (ts < st->first_ts_us)
		st->first_ts_us = ts;
	if (ts > st->last_ts_us)
		st->last_ts_us = ts;
	st->prev_ts_us = ts;
}

/* Counts one frame and the decoder's verdict on it.  Inline: it runs for
 * every frame, and the caller's frame need not be built in memory. */
static inline void cs_stats_count(struct cs_stats *st, const struct cs_frame *f,
				  enum cs_skip why, const struct cs_pkt *pkt)
{
	st->packets++;
	st->bytes += f->wirelen;
	cs_stats_count_time(st, f);

	if (why != CS_SKIP_NONE) {
		st->skipped[why]++;
		return;
	}
	st->analysed++;
	if (pkt->kind == CS_PKT_ICMP_ERR)
		st->icmp_errors++;
	else
		st->tcp_packets++;
	if (pkt->info & CS_PKTF_TRUNCATED)
		st->truncated_frames++;
}

uint64_t cs_stats_skipped_total(const struct cs_stats *st);

/* The accounting invariant: packets = analysed + skipped. */
bool cs_stats_balanced(const struct cs_stats *st);

#endif /* CS_ANALYZER_STATS_H */
