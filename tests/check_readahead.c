/*
 * check_readahead.c — decoding on a second thread gives the analysis of
 * reading on one: the same packets, in the same order, to the same
 * results; a count limit, an interrupt and a damaged file end it as they
 * end the one-thread loop.  Run under ThreadSanitizer by `make tsan`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analyzer/run/readahead.h"
#include "tests/suites.h"

/* Real captures with a few thousand packets: many batches. */
static const char *const inputs[] = {
	"samples/mixed.pcap",
	"samples/synflood-cookies.pcap",
	"samples/lossy.pcap",
	"samples/timewait.pcap",
};

static char *sample_path(const char *rel)
{
	static char path[4096];
	const char *root = getenv("CS_TEST_DATA");

	snprintf(path, sizeof path, "%s/%s", root ? root : ".", rel);
	return path;
}

static struct cs_source *open_sample(const char *rel)
{
	struct cs_source *s;
	char err[512];

	ck_assert_msg(cs_source_open_file(&s, sample_path(rel), NULL, err, sizeof err) == 0,
		      "%s", err);
	return s;
}

static void engine_start(struct cs_engine *e)
{
	struct cs_engine_opts o;
	char err[128];

	cs_engine_opts_default(&o);
	o.flow.max_flows = 4096;
	ck_assert_msg(cs_engine_init(e, &o, err, sizeof err) == 0, "%s", err);
}

/* What the report is made of: accounting, outcomes, end states. */
static void assert_same_results(const struct cs_engine *a, const struct cs_engine *b)
{
	ck_assert_uint_eq(a->stats.packets, b->stats.packets);
	ck_assert_uint_eq(a->stats.bytes, b->stats.bytes);
	ck_assert_uint_eq(a->stats.analysed, b->stats.analysed);
	ck_assert_uint_eq(a->conns.connections, b->conns.connections);
	ck_assert_mem_eq(a->conns.outcomes, b->conns.outcomes, sizeof a->conns.outcomes);
	ck_assert_mem_eq(a->conns.conn_states, b->conns.conn_states,
			 sizeof a->conns.conn_states);
	ck_assert_mem_eq(a->conns.end_states, b->conns.end_states,
			 sizeof a->conns.end_states);
	ck_assert_uint_eq(a->now_us, b->now_us);
	ck_assert_uint_eq(a->detect.alerts.count, b->detect.alerts.count);
}

/* Reads s through the readahead thread into e; returns frames handed out. */
static uint64_t read_ahead(struct cs_source *s, uint64_t max, struct cs_engine *e,
			   enum cs_read *end, char *err, size_t errlen)
{
	struct cs_readahead *ra = cs_readahead_start(s, max, e);
	struct cs_decoded *d;
	uint64_t frames = 0;
	size_t n;

	ck_assert_ptr_nonnull(ra);
	while ((d = cs_readahead_next(ra, &n)) != NULL) {
		ck_assert_uint_gt(n, 0);
		cs_engine_decoded_batch(e, d, n);
		frames += n;
	}
	*end = cs_readahead_stop(ra, err, errlen);
	return frames;
}

/* The one-thread loop of connscope.c, for comparison. */
static uint64_t read_inline(struct cs_source *s, uint64_t max, struct cs_engine *e)
{
	uint64_t frames = 0, n;
	char err[512];

	for (;;) {
		int chunk = max && max - frames < 100 ? (int)(max - frames) : 100;
		if (max && frames >= max)
			break;
		enum cs_read rc = cs_source_read(s, chunk, cs_engine_frame, e, &n,
						 err, sizeof err);
		frames += n;
		if (rc != CS_READ_MORE)
			break;
	}
	return frames;
}

static void compare(const char *rel, uint64_t max)
{
	struct cs_engine one, two;
	struct cs_source *s;
	enum cs_read end;
	char err[512] = "";

	engine_start(&one);
	engine_start(&two);
	s = open_sample(rel);
	uint64_t a = read_inline(s, max, &one);
	cs_source_close(s);
	s = open_sample(rel);
	uint64_t b = read_ahead(s, max, &two, &end, err, sizeof err);
	cs_source_close(s);

	ck_assert_msg(a == b, "%s: %llu frames inline, %llu ahead", rel,
		      (unsigned long long)a, (unsigned long long)b);
	ck_assert_int_eq(end, CS_READ_EOF);
	if (max)
		ck_assert_uint_eq(b, max);
	cs_engine_finish(&one);
	cs_engine_finish(&two);
	assert_same_results(&one, &two);
	cs_engine_fini(&one);
	cs_engine_fini(&two);
}

START_TEST(the_same_results_as_one_thread)
{
	compare(inputs[_i], 0);
}
END_TEST

/* Limits that end inside a batch, on a batch boundary and past the file. */
START_TEST(a_count_limit_is_exact)
{
	static const uint64_t limits[] = { 1, 255, 256, 257, 1000 };

	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
		compare("samples/synflood-cookies.pcap", limits[i]);
}
END_TEST

START_TEST(an_interrupt_ends_reading_early_and_cleanly)
{
	struct cs_engine e;
	struct cs_source *s = open_sample("samples/synflood-cookies.pcap");
	struct cs_readahead *ra;
	struct cs_decoded *d;
	size_t n, frames = 0;
	char err[512];

	engine_start(&e);
	ra = cs_readahead_start(s, 0, &e);
	ck_assert_ptr_nonnull(ra);
	d = cs_readahead_next(ra, &n);
	ck_assert_ptr_nonnull(d);
	cs_engine_decoded_batch(&e, d, n);
	frames += n;
	cs_readahead_interrupt(ra);
	/* What was decoded before the interrupt may still come, nothing after. */
	while ((d = cs_readahead_next(ra, &n)) != NULL) {
		cs_engine_decoded_batch(&e, d, n);
		frames += n;
	}
	enum cs_read end = cs_readahead_stop(ra, err, sizeof err);
	ck_assert(end == CS_READ_BROKEN || end == CS_READ_EOF);
	ck_assert_uint_eq(e.stats.packets, frames);
	ck_assert(cs_stats_balanced(&e.stats));
	cs_source_close(s);
	cs_engine_fini(&e);
}
END_TEST

/*
 * A consumer held up for longer than the reader naps (a dashboard's
 * snapshot, the writer behind a slow disk): the reader, its queue full,
 * stops napping and waits to be woken once half the queue is free.  Were
 * that wake-up lost, the reader would never go on and the test would hang
 * to its timeout.  Each pause (10 ms) is past the longest nap (2 ms).
 */
START_TEST(a_consumer_held_up_still_gets_every_frame)
{
	struct cs_engine one, two;
	struct cs_readahead *ra;
	struct cs_decoded *d;
	uint64_t frames = 0;
	unsigned batches = 0;
	size_t n;
	char err[512] = "";

	engine_start(&one);
	engine_start(&two);
	struct cs_source *s = open_sample("samples/timewait.pcap");
	uint64_t inline_frames = read_inline(s, 0, &one);
	cs_source_close(s);

	s = open_sample("samples/timewait.pcap");
	ra = cs_readahead_start(s, 0, &two);
	ck_assert_ptr_nonnull(ra);
	while ((d = cs_readahead_next(ra, &n)) != NULL) {
		if (batches++ < 12)
			usleep(10 * 1000);
		cs_engine_decoded_batch(&two, d, n);
		frames += n;
	}
	ck_assert_int_eq(cs_readahead_stop(ra, err, sizeof err), CS_READ_EOF);
	cs_source_close(s);

	ck_assert_uint_gt(batches, 12);	/* the queue (8) filled while held up */
	ck_assert_uint_eq(frames, inline_frames);
	cs_engine_finish(&one);
	cs_engine_finish(&two);
	assert_same_results(&one, &two);
	cs_engine_fini(&one);
	cs_engine_fini(&two);
}
END_TEST

/* A copy of mixed.pcap cut in the middle of its last record. */
START_TEST(damage_is_reported_after_the_frames_before_it)
{
	FILE *in = fopen(sample_path("samples/mixed.pcap"), "rb");
	static uint8_t buf[1 << 20];
	ck_assert_ptr_nonnull(in);
	size_t len = fread(buf, 1, sizeof buf, in);
	fclose(in);
	ck_assert_uint_gt(len, 100);

	char path[] = "/tmp/connscope-readahead-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	FILE *out = fdopen(fd, "wb");
	ck_assert_uint_eq(fwrite(buf, 1, len - 10, out), len - 10);
	fclose(out);

	struct cs_engine whole, cut;
	struct cs_source *s;
	enum cs_read end;
	char err[512] = "";

	engine_start(&whole);
	engine_start(&cut);
	s = open_sample("samples/mixed.pcap");
	uint64_t all = read_ahead(s, 0, &whole, &end, err, sizeof err);
	cs_source_close(s);

	ck_assert_int_eq(cs_source_open_file(&s, path, NULL, err, sizeof err), 0);
	uint64_t got = read_ahead(s, 0, &cut, &end, err, sizeof err);
	cs_source_close(s);
	unlink(path);

	ck_assert_int_eq(end, CS_READ_ERROR);
	ck_assert_msg(strstr(err, "damaged") != NULL, "%s", err);
	ck_assert_uint_eq(got, all - 1);
	ck_assert_uint_eq(cut.stats.packets, all - 1);
	cs_engine_fini(&whole);
	cs_engine_fini(&cut);
}
END_TEST

Suite *readahead_suite(void)
{
	Suite *s = suite_create("readahead");
	TCase *tc = tcase_create("readahead");

	tcase_add_loop_test(tc, the_same_results_as_one_thread, 0,
			    (int)(sizeof inputs / sizeof inputs[0]));
	tcase_add_test(tc, a_count_limit_is_exact);
	tcase_add_test(tc, an_interrupt_ends_reading_early_and_cleanly);
	tcase_add_test(tc, damage_is_reported_after_the_frames_before_it);
	tcase_add_test(tc, a_consumer_held_up_still_gets_every_frame);
	suite_add_tcase(s, tc);
	return s;
}
