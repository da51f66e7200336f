/*
 * thread.h — starting helper threads (reader, writer, packer, web guard) and
 * letting a library start its own (libmicrohttpd's), so that none of them
 * takes a signal.
 */
#ifndef CS_CAPTURE_THREAD_H
#define CS_CAPTURE_THREAD_H

#include <pthread.h>
#include <signal.h>

/* pthread_create for a thread that never takes a signal: Ctrl-C and
 * SIGTERM stay with the main thread, whose waits they must interrupt.
 * Returns pthread_create's result. */
int cs_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

/* Around a library call that starts threads: every thread it creates
 * inherits the calling thread's mask, all blocked between the two calls.
 * cs_signals_hold saves the mask before in *old for cs_signals_release. */
void cs_signals_hold(sigset_t *old);
void cs_signals_release(const sigset_t *old);

#endif /* CS_CAPTURE_THREAD_H */
