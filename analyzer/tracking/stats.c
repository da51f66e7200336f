/*
 * stats.c — per-frame accounting.
 */
#include "analyzer/tracking/stats.h"

#include <string.h>

void cs_stats_init(struct cs_stats *st)
{
	memset(st, 0, sizeof *st);
}

static void count_time(struct cs_stats *st, const struct cs_frame *f)
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

void cs_stats_count(struct cs_stats *st, const struct cs_frame *f,
		    enum cs_skip why, const struct cs_pkt *pkt)
{
	st->packets++;
	st->bytes += f->wirelen;
	count_time(st, f);

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

uint64_t cs_stats_skipped_total(const struct cs_stats *st)
{
	uint64_t n = 0;

	for (int i = 0; i < CS_SKIP_MAX; i++)
		n += st->skipped[i];
	return n;
}

uint64_t cs_stats_timed(const struct cs_stats *st)
{
	return st->packets - st->ts_invalid;
}

bool cs_stats_balanced(const struct cs_stats *st)
{
	return st->skipped[CS_SKIP_NONE] == 0 &&
	       st->packets == st->analysed + cs_stats_skipped_total(st);
}
