/*
 * wake.c — a self-pipe and the wait that polls it.
 */
#include "capture/wake.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int cs_wake_init(struct cs_wake *w, char *err, size_t errlen)
{
	atomic_init(&w->stopped, 0);
	/* Non-blocking: a handler must never block on a full pipe (a byte
	 * already waiting wakes the wait just as well), and draining stops
	 * when it is empty. */
	if (pipe2(w->fd, O_NONBLOCK | O_CLOEXEC) != 0) {
		snprintf(err, errlen, "cannot make a pipe: %s", strerror(errno));
		w->fd[0] = w->fd[1] = -1;
		return -1;
	}
	return 0;
}

void cs_wake_fini(struct cs_wake *w)
{
	for (int i = 0; i < 2; i++)
		if (w->fd[i] >= 0)
			close(w->fd[i]);
	w->fd[0] = w->fd[1] = -1;
}

void cs_wake_poke(struct cs_wake *w)
{
	int saved = errno;	/* a handler must leave errno as it found it */
	char b = 0;

	if (w->fd[1] >= 0 && write(w->fd[1], &b, 1) < 0) {
		/* full: a wake-up is pending already */
	}
	errno = saved;
}

void cs_wake_stop(struct cs_wake *w)
{
	atomic_store_explicit(&w->stopped, 1, memory_order_relaxed);
	cs_wake_poke(w);	/* and never drained again: the pipe stays readable */
}

bool cs_wake_stopped(const struct cs_wake *w)
{
	return w && atomic_load_explicit(&w->stopped, memory_order_relaxed);
}

/* Empties the pipe after pokes, so the next wait blocks again. */
static void drain(struct cs_wake *w)
{
	char buf[64];

	while (read(w->fd[0], buf, sizeof buf) > 0)
		;
}

enum cs_wait cs_wake_wait(struct cs_wake *w, int fd, int timeout_ms)
{
	struct pollfd pfd[2] = {
		{ .fd = fd, .events = POLLIN },
		{ .fd = w ? w->fd[0] : -1, .events = POLLIN },
	};

	if (cs_wake_stopped(w))
		return CS_WAIT_STOPPED;
	int n = poll(pfd, w ? 2 : 1, timeout_ms);
	if (cs_wake_stopped(w))
		return CS_WAIT_STOPPED;
	if (n < 0)
		return CS_WAIT_POKED;	/* EINTR: a signal came; its flag says which */
	if (n == 0)
		return CS_WAIT_TIMEOUT;
	if (pfd[1].revents) {
		drain(w);
		return CS_WAIT_POKED;
	}
	return CS_WAIT_READY;	/* POLLIN, POLLHUP or POLLERR: read() tells */
}
