/*
 * thread.h — starting helper threads (reader, writer, web guard).
 */
#ifndef CS_ANALYZER_THREAD_H
#define CS_ANALYZER_THREAD_H

#include <pthread.h>

/* pthread_create for a thread that never takes a signal: Ctrl-C and
 * SIGTERM stay with the main thread, whose waits they must interrupt.
 * Returns pthread_create's result. */
int cs_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);

#endif /* CS_ANALYZER_THREAD_H */
