/*
 * engine.c — frame -> decoder -> accounting.
 */
#include "analyzer/engine.h"

#include "capture/decode.h"

void cs_engine_init(struct cs_engine *e)
{
	cs_stats_init(&e->stats);
}

void cs_engine_fini(struct cs_engine *e)
{
	(void)e;
}

void cs_engine_frame(void *engine, const struct cs_frame *f)
{
	struct cs_engine *e = engine;
	struct cs_pkt pkt;

	enum cs_skip why = cs_decode(f, &pkt);
	cs_stats_count(&e->stats, f, why, &pkt);
}
