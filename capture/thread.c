/*
 * thread.c — helper threads that leave signals to the main thread.
 */
#include "capture/thread.h"

void cs_signals_hold(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, old);
}

void cs_signals_release(const sigset_t *old)
{
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

int cs_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t old;

	/* A new thread inherits the mask of the one that creates it. */
	cs_signals_hold(&old);
	int rc = pthread_create(t, NULL, fn, arg);
	cs_signals_release(&old);
	return rc;
}
