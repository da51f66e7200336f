/*
 * engine.h — the per-frame pipeline: decode, count, (then track).
 *
 * The one place where a frame from any source enters the analyzer, so the
 * binary, the tests and the fuzzers all run the same path.  The engine owns
 * the analyzer's state; it never touches a capture handle.
 */
#ifndef CS_ANALYZER_ENGINE_H
#define CS_ANALYZER_ENGINE_H

#include "analyzer/stats.h"
#include "capture/packet.h"

struct cs_engine {
	struct cs_stats stats;
};

void cs_engine_init(struct cs_engine *e);
void cs_engine_fini(struct cs_engine *e);

/* Decodes and accounts one frame.  Matches cs_frame_fn (ctx = engine). */
void cs_engine_frame(void *engine, const struct cs_frame *f);

#endif /* CS_ANALYZER_ENGINE_H */
