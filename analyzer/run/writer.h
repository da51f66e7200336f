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

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>

#include "analyzer/engine.h"

struct cs_writer;

/* Starts a thread that calls fn(ctx, c, v) for every connection handed
 * over; NULL if it cannot (the caller then writes on its own thread). */
struct cs_writer *cs_writer_start(cs_verdict_fn fn, void *ctx);

/* Hands a copy of c (and of v, which may be NULL) over.  Matches
 * cs_verdict_fn, with the writer as ctx. */
void cs_writer_put(void *writer, const struct cs_conn *c, const struct cs_verdict *v);

/*
 * A flag for the analysing thread to watch while it waits for the writer
 * (a second Ctrl-C: the run gives up its outputs).  Once *give_up is set,
 * what is handed over is dropped and no wait of cs_writer_put or
 * cs_writer_drain lasts more than a tenth of a second, even when the
 * writer is stuck on a full pipe.  Read on the analysing thread only.
 */
/* -l: every connection goes to the writer as it is put, not in batches
 * of 64 (which a quiet live capture may take minutes to fill).  A lock
 * per connection: only for a reader that waits for each line. */
void cs_writer_hand_over_each(struct cs_writer *w);

void cs_writer_watch(struct cs_writer *w, const volatile sig_atomic_t *give_up);

/*
 * Hands over the connections put so far without waiting for their writing
 * (it waits only while every batch is queued): a live capture's rows leave
 * within a second however slowly they come.
 */
void cs_writer_flush(struct cs_writer *w);

/* Has the writer thread call idle(ctx) each time it has written all that
 * was handed over (a live run flushes its log files there).  Call before
 * the first cs_writer_put. */
void cs_writer_on_idle(struct cs_writer *w, void (*idle)(void *ctx));

/*
 * A second thread that formats rows beside the writer thread: at the end
 * of a capture the connections still open are all handed over at once,
 * and the writer alone held the run up (a fifth of SMALL's time with
 * --json).  The helper takes every other batch queued after the one the
 * writer is on; the writer formats the others, and writes them all.
 *
 * format, on the helper thread, writes connection c (with v) as text to
 * out, or returns false to leave it to fn (then it writes nothing); it
 * may read nothing that the writer thread writes.  emit, on the writer
 * thread, writes text that format made, where fn would have written that
 * connection: every connection is written in the order handed over.
 * Call once, on the analysing thread, when connections are about to come
 * faster than one thread formats them; false if no thread could start
 * (the writer thread then does it all, as before).
 */
struct cs_writer_helper {
	bool (*format)(void *ctx, FILE *out, const struct cs_conn *c,
		       const struct cs_verdict *v);
	void (*emit)(void *ctx, const char *text, size_t len);
};
bool cs_writer_help(struct cs_writer *w, const struct cs_writer_helper *h);

/* Returns once everything handed over has been written (or given up). */
void cs_writer_drain(struct cs_writer *w);

/* Drains, ends the thread and frees the writer (NULL is fine); the pair
 * of cs_writer_start, as cs_readahead_stop is of cs_readahead_start. */
void cs_writer_stop(struct cs_writer *w);

#endif /* CS_ANALYZER_WRITER_H */
