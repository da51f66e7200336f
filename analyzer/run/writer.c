/*
 * writer.c — a queue of finished connections and the thread that writes them.
 */
#include "analyzer/run/writer.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "capture/thread.h"

/* A batch is handed over with a wake-up of a sleeping thread (a system
 * call, and a switch on the other core): 256 connections a batch make
 * that rare.  At 64, LARGE --json paid 15,000 of them, and futex calls
 * and switches were 1,132 of the 3,893 samples in the kernel (perf record);
 * at 256, SMALL --json over 15 paired runs: 0.431 -> 0.403 s, system time
 * 0.176 -> 0.145 s.  Eight batches (1.5 MiB) let the analysis run ahead of
 * a slow disk for a while before it waits. */
#define BATCH_CONNS 256
#define BATCHES 8

struct entry {
	struct cs_conn c;
	struct cs_verdict v;
	bool has_v;
};

/* Who formats a queued batch: the writer thread, or the helper (which
 * may leave some of its entries to the writer: LEFT). */
enum batch_by { BY_NOBODY, BY_WRITER, BY_HELPER, HELPER_DONE };
#define LEFT UINT32_MAX

struct batch {
	size_t n;
	struct entry e[BATCH_CONNS];
	enum batch_by by;		/* under the lock */
	char *text;			/* the helper's, or NULL */
	uint32_t len[BATCH_CONNS];	/* each entry's part of text, or LEFT */
};

struct cs_writer {
	cs_verdict_fn fn;
	void (*idle)(void *ctx);	/* or NULL */
	void *ctx;
	pthread_t thread;

	pthread_mutex_t lock;
	pthread_cond_t changed;
	size_t filled;			/* batches handed over, ever */
	size_t written;			/* batches written, ever */
	bool stopping;
	bool each;			/* hand every connection over at once */
	/* who sleeps on `changed`: a wake-up is a system call, made only
	 * for a thread that waits (all of them: each waits for its own) */
	bool writer_waits, producer_waits, helper_waits;

	/* the helper thread (cs_writer_help), if started */
	struct cs_writer_helper help;
	bool helped;
	pthread_t helper;

	struct batch *fill;		/* the analysing thread's, being filled */
	/* the analysing thread's: its flag to watch, and whether it is set */
	const volatile sig_atomic_t *give_up;
	bool given_up;
	struct batch scratch;		/* filled once given up, never written */
	struct batch batches[BATCHES];
};

/* ---- the writer thread ------------------------------------------------------ */

/* Wakes whoever waits on `changed` (w->lock held). */
static void wake_waiters(struct cs_writer *w)
{
	if (w->writer_waits || w->producer_waits || w->helper_waits)
		pthread_cond_broadcast(&w->changed);
}

/* Writes batch b, in order: what the helper formatted through emit, the
 * rest through fn. */
static void write_batch(struct cs_writer *w, struct batch *b)
{
	const char *t = b->text;

	for (size_t i = 0; i < b->n; i++) {
		const struct entry *e = &b->e[i];
		if (t && b->len[i] != LEFT) {
			w->help.emit(w->ctx, t, b->len[i]);
			t += b->len[i];
		} else {
			w->fn(w->ctx, &e->c, e->has_v ? &e->v : NULL);
		}
	}
	free(b->text);
	b->text = NULL;
}

/* Everything handed over is written: the idle callback, unlocked. */
static void idle_unlocked(struct cs_writer *w)
{
	pthread_mutex_unlock(&w->lock);
	w->idle(w->ctx);
	pthread_mutex_lock(&w->lock);
}

static void *writer_main(void *arg)
{
	struct cs_writer *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (w->written == w->filled && !w->stopping) {
			w->writer_waits = true;
			pthread_cond_wait(&w->changed, &w->lock);
			w->writer_waits = false;
		}
		if (w->written == w->filled)
			break;		/* stopping, and nothing left */
		struct batch *b = &w->batches[w->written % BATCHES];
		if (b->by == BY_NOBODY)
			b->by = BY_WRITER;
		while (b->by == BY_HELPER) {
			w->writer_waits = true;
			pthread_cond_wait(&w->changed, &w->lock);
			w->writer_waits = false;
		}
		pthread_mutex_unlock(&w->lock);
		write_batch(w, b);
		pthread_mutex_lock(&w->lock);
		b->by = BY_NOBODY;
		w->written++;
		wake_waiters(w);
		if (w->idle && w->written == w->filled)
			idle_unlocked(w);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* ---- the helper thread -------------------------------------------------------- */

/* A batch for the helper (w->lock held): queued, after the writer's, and
 * nobody's -- every other one, so that the writer formats the others
 * meanwhile.  (Taking any after the next, the helper did 85% of SMALL's
 * batches and the writer waited for it.) */
static struct batch *claimable(struct cs_writer *w)
{
	for (size_t k = w->written + 1; k < w->filled; k++) {
		struct batch *b = &w->batches[k % BATCHES];
		if (k % 2 && b->by == BY_NOBODY)
			return b;
	}
	return NULL;
}

/* Formats what it can of batch b into b->text; on any failure, nothing
 * (the writer then formats the whole batch). */
static void format_batch(struct cs_writer *w, struct batch *b)
{
	char *text = NULL;
	size_t size = 0, at = 0;
	FILE *out = open_memstream(&text, &size);
	bool ok = out != NULL;

	for (size_t i = 0; ok && i < b->n; i++) {
		const struct entry *e = &b->e[i];
		b->len[i] = LEFT;
		if (!w->help.format(w->ctx, out, &e->c, e->has_v ? &e->v : NULL))
			continue;
		long now = ftell(out);
		ok = now >= 0 && (size_t)now - at < LEFT;
		if (ok)
			b->len[i] = (uint32_t)((size_t)now - at);
		at = (size_t)now;
	}
	if (out && fclose(out) != 0)
		ok = false;
	if (!ok || size != at) {
		free(text);
		text = NULL;
	}
	b->text = text;
}

static void *helper_main(void *arg)
{
	struct cs_writer *w = arg;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct batch *b = claimable(w);
		if (!b) {
			if (w->stopping)
				break;
			w->helper_waits = true;
			pthread_cond_wait(&w->changed, &w->lock);
			w->helper_waits = false;
			continue;
		}
		b->by = BY_HELPER;
		pthread_mutex_unlock(&w->lock);
		format_batch(w, b);
		pthread_mutex_lock(&w->lock);
		b->by = HELPER_DONE;
		wake_waiters(w);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* ---- the analysing thread ------------------------------------------------- */

bool cs_writer_help(struct cs_writer *w, const struct cs_writer_helper *h)
{
	w->help = *h;
	w->helped = cs_thread_start(&w->helper, helper_main, w) == 0;
	return w->helped;
}

struct cs_writer *cs_writer_start(cs_verdict_fn fn, void *ctx)
{
	struct cs_writer *w = calloc(1, sizeof *w);

	if (!w)
		return NULL;
	w->fn = fn;
	w->ctx = ctx;
	w->fill = &w->batches[0];
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->changed, NULL);

	if (cs_thread_start(&w->thread, writer_main, w) != 0) {
		pthread_cond_destroy(&w->changed);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return NULL;
	}
	return w;
}

void cs_writer_hand_over_each(struct cs_writer *w)
{
	w->each = true;
}

void cs_writer_watch(struct cs_writer *w, const volatile sig_atomic_t *give_up)
{
	w->give_up = give_up;
}

/* The flag, once seen set, stays seen: from then on nothing is queued. */
static bool given_up(struct cs_writer *w)
{
	if (!w->given_up && w->give_up && *w->give_up)
		w->given_up = true;
	return w->given_up;
}

/* The analysing thread waits for the writer (w->lock held); with a flag to
 * watch, a tenth of a second at a time. */
static void wait_producer(struct cs_writer *w)
{
	w->producer_waits = true;
	if (w->give_up) {
		struct timespec t;
		clock_gettime(CLOCK_REALTIME, &t);	/* the condition's clock */
		t.tv_nsec += 100 * 1000 * 1000;
		if (t.tv_nsec >= 1000000000) {
			t.tv_sec++;
			t.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&w->changed, &w->lock, &t);
	} else {
		pthread_cond_wait(&w->changed, &w->lock);
	}
	w->producer_waits = false;
}

/* Hands the batch being filled over and waits for a free one.  Given up:
 * the batch is dropped, and the next is filled in scratch, since every
 * batch of the ring may still be queued. */
static void hand_over(struct cs_writer *w)
{
	if (given_up(w)) {
		w->fill = &w->scratch;
		w->fill->n = 0;
		return;
	}
	pthread_mutex_lock(&w->lock);
	w->filled++;
	wake_waiters(w);
	while (w->filled - w->written >= BATCHES && !given_up(w))
		wait_producer(w);
	pthread_mutex_unlock(&w->lock);
	w->fill = given_up(w) ? &w->scratch : &w->batches[w->filled % BATCHES];
	w->fill->n = 0;
}

void cs_writer_put(void *writer, const struct cs_conn *c, const struct cs_verdict *v)
{
	struct cs_writer *w = writer;
	struct entry *e = &w->fill->e[w->fill->n];

	e->c = *c;
	e->has_v = v != NULL;
	if (v)
		e->v = *v;
	if (++w->fill->n == BATCH_CONNS || w->each)
		hand_over(w);
}

void cs_writer_on_idle(struct cs_writer *w, void (*idle)(void *ctx))
{
	w->idle = idle;
}

void cs_writer_flush(struct cs_writer *w)
{
	if (w && w->fill->n)
		hand_over(w);
}

void cs_writer_drain(struct cs_writer *w)
{
	if (!w)
		return;
	if (w->fill->n)
		hand_over(w);
	pthread_mutex_lock(&w->lock);
	while (w->written != w->filled && !given_up(w))
		wait_producer(w);
	pthread_mutex_unlock(&w->lock);
}

void cs_writer_stop(struct cs_writer *w)
{
	if (!w)
		return;
	cs_writer_drain(w);
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_broadcast(&w->changed);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	if (w->helped)
		pthread_join(w->helper, NULL);
	pthread_cond_destroy(&w->changed);
	pthread_mutex_destroy(&w->lock);
	free(w);
}
