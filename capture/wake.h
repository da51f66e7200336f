/*
 * wake.h — waking a wait from a signal handler, without a race.
 *
 * A flag set by a signal handler is lost when the signal comes between
 * the check of the flag and the blocking call that follows it: the call
 * then waits for input that may never come (an idle pipe, a FIFO whose
 * writer has not opened it yet).  A wake is a self-pipe: a handler writes
 * a byte (write(2) is async-signal-safe), and every wait polls the pipe
 * next to what it waits for, so it returns whenever the byte was written,
 * before the wait began or during it.
 *
 * Two kinds of wake-up: a poke (look at your flags, then wait on: SIGUSR1's
 * statistics line) and a stop (sticky: from then on every wait returns at
 * once, so a stopped run never blocks again).  This module owns the pipe
 * and its flag; it knows nothing of signals or of what the waits are for.
 */
#ifndef CS_CAPTURE_WAKE_H
#define CS_CAPTURE_WAKE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* stopped is a lock-free atomic, not a sig_atomic_t: besides the handler
 * and the main thread, a reader thread reads it (a file read ahead). */
struct cs_wake {
	int fd[2];			/* the self-pipe, both ends non-blocking */
	atomic_int stopped;
};

/* 0, or -1 with a message in err (no descriptors left). */
int cs_wake_init(struct cs_wake *w, char *err, size_t errlen);
void cs_wake_fini(struct cs_wake *w);

/* Async-signal-safe.  A poke wakes the waits once; a stop for good. */
void cs_wake_poke(struct cs_wake *w);
void cs_wake_stop(struct cs_wake *w);
bool cs_wake_stopped(const struct cs_wake *w);

enum cs_wait {
	CS_WAIT_READY,		/* fd is readable (or at its end, or failed) */
	CS_WAIT_POKED,		/* a poke, or another signal: look, then wait on */
	CS_WAIT_STOPPED,	/* cs_wake_stop was called */
	CS_WAIT_TIMEOUT,
};

/* Waits up to timeout_ms (-1: no limit) for fd to be readable.  w may be
 * NULL: a plain wait, which a signal still cuts short (CS_WAIT_POKED). */
enum cs_wait cs_wake_wait(struct cs_wake *w, int fd, int timeout_ms);

#endif /* CS_CAPTURE_WAKE_H */
