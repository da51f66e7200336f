/*
 * writer.h — finished connections written on a thread of their own.
 *
 * A JSON row or a conn.log row takes about 12,000 instructions to format:
 * more than the analysis of all of its packets.  The analysing thread hands
 * a copy of the record (and its verdict) over instead, and a writer thread
 * formats and writes it, in the order handed over.  The copy is the record
 * as it was when handed over: a conn.log row that ends inside a record that
 * goes on is written as it stood then.
 */
#ifndef CS_ANALYZER_WRITER_H
#define CS_ANALYZER_WRITER_H

#include "analyzer/engine.h"

struct cs_writer;

/* Starts a thread that calls fn(ctx, c, v) for every connection handed
 * over; NULL if it cannot (the caller then writes on its own thread). */
struct cs_writer *cs_writer_start(cs_verdict_fn fn, void *ctx);

/* Hands a copy of c (and of v, which may be NULL) over.  Matches
 * cs_verdict_fn, with the writer as ctx. */
void cs_writer_put(void *writer, const struct cs_conn *c, const struct cs_verdict *v);

/* Returns once everything handed over has been written. */
void cs_writer_drain(struct cs_writer *w);

/* Drains, ends the thread and frees the writer (NULL is fine); the pair
 * of cs_writer_start, as cs_readahead_stop is of cs_readahead_start. */
void cs_writer_stop(struct cs_writer *w);

#endif /* CS_ANALYZER_WRITER_H */
