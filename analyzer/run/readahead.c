/*
 * readahead.c — a reader thread and a queue of decoded batches.
 */
#include "analyzer/run/readahead.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>

#include "capture/assert.h"
#include "capture/thread.h"

/*
 * 256 frames a batch make a lock round trip cheap per packet; eight
 * batches (about 0.6 MiB) let one thread run ahead of the other without
 * leaving the cache.  The reader, the faster of the two, naps when the
 * queue is full (wait_for_room).
 */
#define BATCH_FRAMES 256
#define BATCHES 8

/* The first guess at the consumer's time for a batch (256 frames at
 * 200 ns); the shortest nap; the longest before the reader waits to be
 * woken. */
#define NAP_BATCH_NS 50000u
#define NAP_MIN_NS 10000u
#define NAP_MAX_NS 2000000u

struct batch {
	size_t n;
	struct cs_decoded d[BATCH_FRAMES];
};

struct cs_readahead {
	struct cs_source *src;
	uint64_t max;			/* frames to read at most, 0: all */
	pthread_t thread;
	atomic_bool interrupted;	/* cs_readahead_interrupt was called */

	pthread_mutex_t lock;
	pthread_cond_t changed;
	size_t filled;			/* batches produced, ever */
	size_t taken;			/* batches the consumer has begun */
	bool done;			/* the reader has produced its last */
	bool reader_waits;		/* to be woken once the queue is half free */
	bool consumer_waits;		/* for a batch */

	/* reader side */
	uint64_t batch_ns;		/* the consumer's time a batch, as seen */
	uint64_t late_ns;		/* how much longer a nap lasts than asked */
	/* The engine's decoder, copied onto lines of its own (engine.h). */
	_Alignas(64) struct cs_decoder dec;
	struct batch *fill;		/* being filled, not yet published */
	struct batch scratch;		/* filled after an interrupt, never handed out */
	uint64_t read;
	enum cs_read end;
	char err[512];

	struct batch batches[BATCHES];
};

/* ---- the reader thread ---------------------------------------------------- */

static uint64_t monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void nap(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000u),
			       .tv_nsec = (long)(ns % 1000000000u) };

	nanosleep(&ts, NULL);	/* (a signal cutting it short: just sooner) */
}

static bool queue_full(struct cs_readahead *ra)
{
	return ra->filled - ra->taken >= BATCHES - 1 &&
	       !atomic_load(&ra->interrupted);
}

/* Moves a moving average a quarter of the way to a new sample. */
static void average_in(uint64_t *avg, uint64_t sample)
{
	*avg = (3 * *avg + sample) / 4;
}

/* A nap of per_batch a batch taken.  One that found the queue empty
 * says only that the consumer is at least that fast: it may have waited
 * too.  (Left out instead, a pace once overrated was never put right:
 * every nap then emptied the queue.) */
static void learn_pace(struct cs_readahead *ra, uint64_t per_batch,
		       bool emptied)
{
	if (!emptied)
		average_in(&ra->batch_ns, per_batch);
	else if (per_batch < ra->batch_ns)
		ra->batch_ns = per_batch;
}

/* How long to nap for the consumer to take n batches, waking on time. */
static uint64_t nap_for(const struct cs_readahead *ra, size_t n)
{
	uint64_t ns = ra->batch_ns * n;

	ns = ns > ra->late_ns ? ns - ra->late_ns : 0;
	return ns < NAP_MIN_NS ? NAP_MIN_NS : ns;
}

/*
 * With the lock held, until the queue has room.  The reader naps for as
 * long as the consumer should take to empty half of the queue, by its
 * pace seen in earlier naps, rather than sleep until the consumer wakes
 * it: a wake-up is a system call on the consumer, the analysing thread,
 * the busier of the two (SMALL: about 1,100 of them, 3% of its samples
 * in perf record).  A nap that finds the queue still full is doubled;
 * past NAP_MAX_NS -- a consumer held up, by a dashboard's snapshot or the
 * writer -- the reader waits to be woken, once half the queue is free.
 *
 * A nap overran what it asked by some 75 us (the timer's slack, then the
 * wake-up), and the consumer, finding the queue empty, waited: 100 times
 * on SMALL for 12 ms in all, three times as long as when woken.  So the
 * thread's slack is cut (reader_main) and what remains is learnt and
 * taken off.
 */
static void wait_for_room(struct cs_readahead *ra)
{
	uint64_t ns = 0;

	while (queue_full(ra)) {
		ns = ns ? 2 * ns : nap_for(ra, ra->filled - ra->taken - BATCHES / 2);
		if (ns > NAP_MAX_NS) {
			ra->reader_waits = true;
			pthread_cond_wait(&ra->changed, &ra->lock);
			continue;
		}
		size_t taken = ra->taken;
		uint64_t from = monotonic_ns();
		pthread_mutex_unlock(&ra->lock);
		nap(ns);
		uint64_t slept = monotonic_ns() - from;
		pthread_mutex_lock(&ra->lock);
		average_in(&ra->late_ns, slept > ns ? slept - ns : 0);
		if (ra->taken > taken)
			learn_pace(ra, slept / (ra->taken - taken),
				   ra->taken == ra->filled);
	}
	ra->reader_waits = false;
}

/* Publishes the batch being filled and waits for a free one.  Batch
 * `taken - 1` is the consumer's current one; every batch before it is free. */
static void publish(struct cs_readahead *ra)
{
	pthread_mutex_lock(&ra->lock);
	ra->filled++;
	if (ra->consumer_waits)
		pthread_cond_signal(&ra->changed);
	wait_for_room(ra);
	/* Interrupted: the next batch may be the consumer's, so what is read
	 * until the loop notices goes nowhere. */
	bool interrupted = atomic_load(&ra->interrupted);
	/* Unless interrupted, the batch to fill next is neither queued nor the
	 * consumer's: the ring never laps it. */
	CS_ASSERT(interrupted || ra->filled - ra->taken < BATCHES - 1);
	pthread_mutex_unlock(&ra->lock);
	ra->fill = interrupted ? &ra->scratch : &ra->batches[ra->filled % BATCHES];
	ra->fill->n = 0;
}

/*
 * The batch's lines were last read by the analysing thread, on the other
 * core: the first store to each must take the line back from there, and a
 * few such stores in flight fill the store buffer and stall the decoder
 * (perf put a third of the reading thread's samples on loads and stores
 * just after the first writes of a frame).  So ownership is asked for a
 * few frames ahead.  x86's PREFETCHW (a no-op where it is not known) is
 * written out: GCC emits a read prefetch for a write one unless the
 * target is built with -mprfchw, and a read prefetch leaves the line
 * shared, still to be taken.
 */
#define OWN_AHEAD 4

static inline void prefetch_for_write(const void *p)
{
#if defined(__x86_64__) || defined(__i386__)
	__asm__ volatile("prefetchw %0" : : "m"(*(const char *)p));
#else
	__builtin_prefetch(p, 1);
#endif
}

static void own_ahead(struct batch *b, size_t n)
{
	if (n + OWN_AHEAD >= BATCH_FRAMES)
		return;
	const char *f = (const char *)&b->d[n + OWN_AHEAD];
	for (size_t at = 0; at < sizeof b->d[0]; at += 64)
		prefetch_for_write(f + at);
	prefetch_for_write(f + sizeof b->d[0] - 1);	/* (not 64-byte aligned) */
}

/*
 * f->bytes live only during this call: they point into libpcap's buffer
 * or the file walker's (capture/source.c), which the next read refills
 * and moves.  So the frame is decoded here, into the batch, and nothing
 * after this call reads the bytes through the decoded frame (the view's
 * pointers into them, cs_pkt's tcp, quote and outer_ip, are cleared by
 * cs_engine_decode or, for a skipped frame, never read again).
 */
static void on_frame(void *ctx, const struct cs_frame *f)
{
	struct cs_readahead *ra = ctx;

	CS_ASSERT(ra->fill->n < BATCH_FRAMES);	/* a full batch was published */
	own_ahead(ra->fill, ra->fill->n);
	cs_engine_decode(&ra->dec, f, &ra->fill->d[ra->fill->n]);
	if (++ra->fill->n == BATCH_FRAMES)
		publish(ra);
}

static int chunk_for(const struct cs_readahead *ra)
{
	if (!ra->max || ra->max - ra->read > BATCH_FRAMES)
		return BATCH_FRAMES;
	return (int)(ra->max - ra->read);
}

static void *reader_main(void *arg)
{
	struct cs_readahead *ra = arg;

	/* Naps end on time, not up to 50 us late (the default slack). */
	prctl(PR_SET_TIMERSLACK, 1000UL);

	ra->end = CS_READ_EOF;
	while (!atomic_load(&ra->interrupted) && (!ra->max || ra->read < ra->max)) {
		uint64_t n;
		enum cs_read rc = cs_source_read(ra->src, chunk_for(ra), on_frame,
						 ra, &n, ra->err, sizeof ra->err);
		ra->read += n;
		if (rc != CS_READ_MORE) {
			ra->end = rc;
			break;
		}
	}
	pthread_mutex_lock(&ra->lock);
	if (ra->fill->n && ra->fill != &ra->scratch)
		ra->filled++;
	ra->done = true;
	if (ra->consumer_waits)
		pthread_cond_signal(&ra->changed);
	pthread_mutex_unlock(&ra->lock);
	return NULL;
}

/* ---- the consumer ----------------------------------------------------------- */

struct cs_readahead *cs_readahead_start(struct cs_source *s, uint64_t max,
					const struct cs_engine *e)
{
	struct cs_readahead *ra = aligned_alloc(_Alignof(struct cs_readahead),
						sizeof *ra);

	if (!ra)
		return NULL;
	memset(ra, 0, sizeof *ra);
	ra->src = s;
	ra->max = max;
	ra->batch_ns = NAP_BATCH_NS;
	ra->dec = e->decoder;
	ra->fill = &ra->batches[0];
	atomic_init(&ra->interrupted, false);
	pthread_mutex_init(&ra->lock, NULL);
	pthread_cond_init(&ra->changed, NULL);

	if (cs_thread_start(&ra->thread, reader_main, ra) != 0) {
		pthread_cond_destroy(&ra->changed);
		pthread_mutex_destroy(&ra->lock);
		free(ra);
		return NULL;
	}
	return ra;
}

struct cs_decoded *cs_readahead_next(struct cs_readahead *ra, size_t *n)
{
	pthread_mutex_lock(&ra->lock);
	/* The batch handed out last time is free again. */
	if (ra->reader_waits && ra->filled - ra->taken <= BATCHES / 2)
		pthread_cond_signal(&ra->changed);
	while (ra->taken == ra->filled && !ra->done) {
		ra->consumer_waits = true;
		pthread_cond_wait(&ra->changed, &ra->lock);
	}
	ra->consumer_waits = false;
	struct batch *b = NULL;
	if (ra->taken < ra->filled)
		b = &ra->batches[ra->taken++ % BATCHES];
	pthread_mutex_unlock(&ra->lock);
	*n = b ? b->n : 0;
	return b ? b->d : NULL;
}

/* The reader looks at the flag between reads of a batch's worth of
 * frames, a few microseconds apart: no need to break into libpcap's loop
 * (whose flag is not meant for another thread). */
void cs_readahead_interrupt(struct cs_readahead *ra)
{
	atomic_store(&ra->interrupted, true);
	pthread_mutex_lock(&ra->lock);
	pthread_cond_signal(&ra->changed);
	pthread_mutex_unlock(&ra->lock);
}

enum cs_read cs_readahead_stop(struct cs_readahead *ra, char *err,
			       size_t errlen)
{
	cs_readahead_interrupt(ra);
	pthread_join(ra->thread, NULL);
	enum cs_read end = ra->end;
	if (end == CS_READ_ERROR)
		snprintf(err, errlen, "%s", ra->err);
	pthread_cond_destroy(&ra->changed);
	pthread_mutex_destroy(&ra->lock);
	free(ra);
	return end;
}
