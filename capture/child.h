/*
 * child.h — work that may not end, done in a child process with bounds.
 *
 * libpcap's filter optimizer grows much faster than the filter: 400
 * "port N" terms take half a minute, 3,000 took 399 s and 550 MB, all in
 * one call that nothing interrupts.  Such work runs in a child process: it
 * gets a CPU-time and a memory limit of its own, a stop (Ctrl-C: a wake,
 * wake.h) kills it at once, and its result comes back as bytes through a
 * pipe.  A thread could not be stopped or bounded that way.
 *
 * The child is forked from a process that may run threads; the work must
 * use only what stays sound in such a child (glibc's malloc and stdio do;
 * no lock another thread could hold).  The child keeps none of the
 * parent's descriptors but its pipe (0, 1 and 2 are /dev/null) and ends
 * with _exit, so the parent's stdio buffers are never written twice and
 * the offsets it shares with the parent never move.
 */
#ifndef CS_CAPTURE_CHILD_H
#define CS_CAPTURE_CHILD_H

#include <stddef.h>

#include "capture/wake.h"

struct cs_child_limits {
	unsigned cpu_sec;	/* CPU time before the kernel ends it */
	size_t mem_mib;		/* address space it may add to what it inherits */
};

enum cs_child_end {
	CS_CHILD_DONE,		/* exited 0: *out holds what it wrote */
	CS_CHILD_FAILED,	/* exited non-zero: *out holds what it wrote */
	CS_CHILD_OVER_LIMIT,	/* ended by its CPU or memory limit, or wrote too much */
	CS_CHILD_STOPPED,	/* the wake was stopped: it was killed */
	CS_CHILD_ERROR,		/* no pipe or process (errno says why) */
	CS_CHILD_END_MAX
};

/* Runs in the child: writes its result to fd; returns the exit status. */
typedef int (*cs_child_fn)(void *arg, int fd);

/* What a child may write at most (a BPF program of 2 million instructions). */
#define CS_CHILD_OUT_MAX (16u << 20)

/*
 * Runs fn(arg, fd) in a child within lim, waiting on wake too (NULL: no
 * stop).  *out is malloc'd (the caller frees it; NULL when nothing came),
 * *out_len its length.
 */
enum cs_child_end cs_child_run(cs_child_fn fn, void *arg,
			       const struct cs_child_limits *lim,
			       struct cs_wake *wake, char **out, size_t *out_len);

#endif /* CS_CAPTURE_CHILD_H */
