/*
 * check_writer.c — the writer thread writes every connection handed over,
 * in order, as it was when handed over; drain waits for all of them.
 * Run under ThreadSanitizer by `make tsan`.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "analyzer/run/writer.h"
#include "tests/suites.h"

#define MANY 20480	/* ten times what the queue holds (8 x 256): the producer waits */

struct seen {
	size_t n;
	uint64_t id[MANY];
	int outcome[MANY];	/* -1: handed over without a verdict */
	char history[MANY][8];
};

static void record(void *ctx, const struct cs_conn *c, const struct cs_verdict *v)
{
	struct seen *s = ctx;

	ck_assert_uint_lt(s->n, MANY);
	s->id[s->n] = c->id;
	s->outcome[s->n] = v ? (int)v->outcome : -1;
	memcpy(s->history[s->n], c->history, sizeof s->history[0]);
	s->n++;
}

/* Connection i: every seventh is a conn.log row without a verdict. */
static void make(struct cs_conn *c, struct cs_verdict *v, size_t i)
{
	memset(c, 0, sizeof *c);
	c->id = i + 1;
	snprintf(c->history, sizeof c->history, "S%zu", i % 1000);
	v->outcome = (enum cs_outcome)(i % CS_OUT_MAX);
	v->conn_state = CS_CS_SF;
}

START_TEST(every_connection_in_order_as_handed_over)
{
	struct seen *s = calloc(1, sizeof *s);
	struct cs_writer *w = cs_writer_start(record, s);
	struct cs_conn c;
	struct cs_verdict v;

	ck_assert_ptr_nonnull(w);
	for (size_t i = 0; i < MANY; i++) {
		make(&c, &v, i);
		cs_writer_put(w, &c, i % 7 == 0 ? NULL : &v);
		/* the writer has a copy: changing the record now changes nothing */
		strcpy(c.history, "changed");
		c.id = 0;
	}
	cs_writer_stop(w);

	ck_assert_uint_eq(s->n, MANY);
	for (size_t i = 0; i < MANY; i++) {
		make(&c, &v, i);
		ck_assert_uint_eq(s->id[i], i + 1);
		ck_assert_int_eq(s->outcome[i], i % 7 == 0 ? -1 : (int)v.outcome);
		ck_assert_str_eq(s->history[i], c.history);
	}
	free(s);
}
END_TEST

/* A drain in the middle of a batch writes what came so far, and the writer
 * goes on taking connections after it. */
START_TEST(drain_writes_everything_so_far)
{
	struct seen *s = calloc(1, sizeof *s);
	struct cs_writer *w = cs_writer_start(record, s);
	struct cs_conn c;
	struct cs_verdict v;
	static const size_t stops[] = { 1, 255, 256, 257, 700, 2600 };
	size_t handed = 0;

	ck_assert_ptr_nonnull(w);
	for (size_t k = 0; k < sizeof stops / sizeof stops[0]; k++) {
		while (handed < stops[k]) {
			make(&c, &v, handed++);
			cs_writer_put(w, &c, &v);
		}
		cs_writer_drain(w);
		ck_assert_uint_eq(s->n, handed);	/* no lock needed: drained */
	}
	cs_writer_stop(w);
	ck_assert_uint_eq(s->n, handed);
	cs_writer_stop(NULL);
	free(s);
}
END_TEST

/* A writer stuck on its output (a full pipe nobody reads): it holds the
 * first connection until the test lets it go. */
static pthread_mutex_t stuck = PTHREAD_MUTEX_INITIALIZER;
static size_t stuck_n;

static void write_stuck(void *ctx, const struct cs_conn *c, const struct cs_verdict *v)
{
	(void)ctx;
	(void)c;
	(void)v;
	pthread_mutex_lock(&stuck);
	stuck_n++;
	pthread_mutex_unlock(&stuck);
}

/* As a second Ctrl-C does: the handler sets the flag the writer watches. */
static volatile sig_atomic_t give_up;

static void on_alarm(int sig)
{
	(void)sig;
	give_up = 1;
}

/*
 * The producer waits for a stuck writer; a flag set in a signal handler
 * while it waits ends the wait within a tenth of a second, and what is
 * handed over after that is dropped, not waited for.
 */
START_TEST(a_writer_given_up_holds_the_producer_no_more)
{
	struct cs_writer *w = cs_writer_start(write_stuck, NULL);
	struct itimerval soon = { .it_value = { 0, 200 * 1000 } };
	struct sigaction sa = { .sa_handler = on_alarm };
	struct cs_conn c;
	struct cs_verdict v;

	ck_assert_ptr_nonnull(w);
	give_up = 0;
	cs_writer_watch(w, &give_up);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	pthread_mutex_lock(&stuck);
	setitimer(ITIMER_REAL, &soon, NULL);
	for (size_t i = 0; i < MANY; i++) {	/* ten times what the queue holds */
		make(&c, &v, i);
		cs_writer_put(w, &c, &v);
	}
	cs_writer_drain(w);
	ck_assert(give_up);
	pthread_mutex_unlock(&stuck);
	cs_writer_stop(w);
	ck_assert_uint_lt(stuck_n, MANY);	/* what came after was dropped */
	signal(SIGALRM, SIG_DFL);
}
END_TEST

/* ---- the helper -------------------------------------------------------------- */

/* Written by the writer thread alone: each connection's id in the order
 * written, and how many came through the helper's text. */
struct written {
	size_t n, emitted;
	uint64_t id[MANY];
};

/* Every connection with a verdict and an even id goes to the helper
 * ("<id>"); the others stay with fn. */
static bool format_even(void *ctx, FILE *out, const struct cs_conn *c,
			const struct cs_verdict *v)
{
	(void)ctx;
	if (!v || c->id % 2)
		return false;
	fprintf(out, "<%llu>", (unsigned long long)c->id);
	return true;
}

static void emit_text(void *ctx, const char *text, size_t len)
{
	struct written *s = ctx;
	char buf[32];

	ck_assert_uint_lt(len, sizeof buf);
	memcpy(buf, text, len);
	buf[len] = '\0';
	ck_assert_uint_lt(s->n, MANY);
	ck_assert_int_eq(sscanf(buf, "<%" SCNu64 ">", &s->id[s->n]), 1);
	s->n++;
	s->emitted++;
}

/* The writer is slow (a few microseconds a row): the queue fills, and
 * the helper takes batches. */
static void write_slowly(void *ctx, const struct cs_conn *c, const struct cs_verdict *v)
{
	struct written *s = ctx;
	struct timespec t = { 0, 20 * 1000 };

	(void)v;
	nanosleep(&t, NULL);
	ck_assert_uint_lt(s->n, MANY);
	s->id[s->n++] = c->id;
}

/*
 * With a helper, every connection is still written once, in the order
 * handed over, whichever thread formatted it: the helper's text for the
 * ones it took, fn for the ones it left (odd ids, and those without a
 * verdict) and for whole batches it never took.
 */
START_TEST(a_helper_keeps_the_order_of_every_connection)
{
	static const struct cs_writer_helper helper = { format_even, emit_text };
	struct written *s = calloc(1, sizeof *s);
	struct cs_writer *w = cs_writer_start(write_slowly, s);
	struct cs_conn c;
	struct cs_verdict v;

	ck_assert_ptr_nonnull(w);
	ck_assert(cs_writer_help(w, &helper));
	for (size_t i = 0; i < MANY; i++) {
		make(&c, &v, i);
		cs_writer_put(w, &c, i % 7 == 0 ? NULL : &v);
	}
	cs_writer_stop(w);
	ck_assert_uint_eq(s->n, MANY);
	for (size_t i = 0; i < MANY; i++)
		ck_assert_uint_eq(s->id[i], i + 1);
	ck_assert_msg(s->emitted > 0, "the helper formatted nothing");
	ck_assert_uint_lt(s->emitted, MANY / 2);	/* the odd ones are fn's */
	free(s);
}
END_TEST

/* What the writer has written, read under a lock: the test does not drain. */
static pthread_mutex_t idle_lock = PTHREAD_MUTEX_INITIALIZER;
static size_t idle_written, idle_calls, written_at_idle;

static void count_row(void *ctx, const struct cs_conn *c, const struct cs_verdict *v)
{
	(void)ctx;
	(void)c;
	(void)v;
	pthread_mutex_lock(&idle_lock);
	idle_written++;
	pthread_mutex_unlock(&idle_lock);
}

static void on_idle(void *ctx)
{
	(void)ctx;
	pthread_mutex_lock(&idle_lock);
	idle_calls++;
	written_at_idle = idle_written;
	pthread_mutex_unlock(&idle_lock);
}

/*
 * A live sensor's rows leave though a batch (256) is not full: flush hands
 * the three put so far over without waiting, the writer writes them and
 * then calls idle (where a run flushes its files), all within the 5 s the
 * test waits at most.
 */
START_TEST(flush_hands_a_partial_batch_over_and_idle_follows)
{
	struct cs_writer *w = cs_writer_start(count_row, NULL);
	struct cs_conn c;
	struct cs_verdict v;
	size_t calls = 0, at_idle = 0;

	ck_assert_ptr_nonnull(w);
	cs_writer_on_idle(w, on_idle);
	for (size_t i = 0; i < 3; i++) {
		make(&c, &v, i);
		cs_writer_put(w, &c, &v);
	}
	cs_writer_flush(w);
	for (int t = 0; t < 500 && calls == 0; t++) {
		struct timespec nap = { 0, 10 * 1000 * 1000 };
		nanosleep(&nap, NULL);
		pthread_mutex_lock(&idle_lock);
		calls = idle_calls;
		at_idle = written_at_idle;
		pthread_mutex_unlock(&idle_lock);
	}
	ck_assert_uint_eq(calls, 1);
	ck_assert_uint_eq(at_idle, 3);
	cs_writer_flush(w);		/* nothing put: nothing handed over */
	cs_writer_stop(w);
	ck_assert_uint_eq(idle_calls, 1);
	cs_writer_flush(NULL);
}
END_TEST

Suite *writer_suite(void)
{
	Suite *s = suite_create("writer");
	TCase *tc = tcase_create("writer");

	tcase_add_test(tc, every_connection_in_order_as_handed_over);
	tcase_add_test(tc, drain_writes_everything_so_far);
	tcase_add_test(tc, a_helper_keeps_the_order_of_every_connection);
	tcase_add_test(tc, a_writer_given_up_holds_the_producer_no_more);
	tcase_add_test(tc, flush_hands_a_partial_batch_over_and_idle_follows);
	suite_add_tcase(s, tc);
	return s;
}
