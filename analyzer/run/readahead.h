/*
 * readahead.h — read and decode a capture file on a second thread.
 *
 * Reading a file is libpcap's loop plus decoding: about a third of the
 * work per packet, and none of it touches the analyzer's state.  A
 * readahead thread does it into batches of decoded frames while the
 * caller's thread analyses the previous batches, so a file takes the time
 * of the slower of the two instead of their sum.  Packets keep their order:
 * the batches are a queue with one producer and one consumer.
 *
 * The caller keeps everything else (the engine, snapshots, the progress
 * line, signals): between batches it is free to do it.
 */
#ifndef CS_ANALYZER_READAHEAD_H
#define CS_ANALYZER_READAHEAD_H

#include <stddef.h>
#include <stdint.h>

#include "analyzer/engine.h"
#include "capture/source.h"

struct cs_readahead;

/* Starts reading s, at most max frames (0: to the end), decoding for e
 * (cs_engine_decode, with a copy of its decoder).  Returns NULL if no
 * thread could be started: the caller reads s itself. */
struct cs_readahead *cs_readahead_start(struct cs_source *s, uint64_t max,
					const struct cs_engine *e);

/* The next batch of decoded frames, in order; *n is 0 once the reading has
 * ended.  The batch stays valid until the next call. */
struct cs_decoded *cs_readahead_next(struct cs_readahead *ra, size_t *n);

/* Asks the reader to end soon (Ctrl-C, or enough packets) and returns at
 * once: batches already decoded are still handed out.  Safe to call more
 * than once; the thread goes on until cs_readahead_stop. */
void cs_readahead_interrupt(struct cs_readahead *ra);

/* Interrupts the reader, waits for its thread and frees everything, as
 * cs_writer_stop does for the writer; returns how the reading ended
 * (CS_READ_EOF, CS_READ_BROKEN or CS_READ_ERROR with err set). */
enum cs_read cs_readahead_stop(struct cs_readahead *ra, char *err,
			       size_t errlen);

#endif /* CS_ANALYZER_READAHEAD_H */
