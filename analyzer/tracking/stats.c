/*
 * stats.c — per-frame accounting.
 */
#include "analyzer/tracking/stats.h"

#include <string.h>

void cs_stats_init(struct cs_stats *st)
{
	memset(st, 0, sizeof *st);
}

uint64_t cs_stats_skipped_total(const struct cs_stats *st)
{
	uint64_t n = 0;

	for (int i = 0; i < CS_SKIP_MAX; i++)
		n += st->skipped[i];
	return n;
}

bool cs_stats_balanced(const struct cs_stats *st)
{
	return st->skipped[CS_SKIP_NONE] == 0 &&
	       st->packets == st->analysed + cs_stats_skipped_total(st);
}
