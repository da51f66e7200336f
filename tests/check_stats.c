/*
 * check_stats.c — the accounting: packets = analysed + skipped, time span.
 */
#include <string.h>

#include "analyzer/tracking/stats.h"
#include "tests/suites.h"

static struct cs_frame frame_at(uint64_t ts, uint32_t len)
{
	struct cs_frame f = { .ts_us = ts, .caplen = len, .wirelen = len,
			      .dlt = 1, .bytes = NULL };
	return f;
}

START_TEST(every_frame_lands_in_one_bucket)
{
	struct cs_stats st;
	struct cs_pkt tcp = { .kind = CS_PKT_TCP };
	struct cs_pkt icmp = { .kind = CS_PKT_ICMP_ERR };
	struct cs_frame f = frame_at(10, 60);

	cs_stats_init(&st);
	cs_stats_count(&st, &f, CS_SKIP_NONE, &tcp);
	cs_stats_count(&st, &f, CS_SKIP_NONE, &icmp);
	for (int why = 1; why < CS_SKIP_MAX; why++)
		cs_stats_count(&st, &f, (enum cs_skip)why, &tcp);

	ck_assert_uint_eq(st.packets, 2 + (CS_SKIP_MAX - 1));
	ck_assert_uint_eq(st.tcp_packets, 1);
	ck_assert_uint_eq(st.icmp_errors, 1);
	ck_assert_uint_eq(st.analysed, 2);
	ck_assert_uint_eq(cs_stats_skipped_total(&st), CS_SKIP_MAX - 1);
	ck_assert_uint_eq(st.bytes, 60u * st.packets);
	ck_assert(cs_stats_balanced(&st));
	st.packets++;	/* a frame lost without a reason must be noticed */
	ck_assert(!cs_stats_balanced(&st));
}
END_TEST

START_TEST(time_span_survives_reordering)
{
	static const uint64_t ts[] = { 500, 300, 900, 100, 900 };
	struct cs_stats st;
	struct cs_pkt pkt = { .kind = CS_PKT_TCP };

	cs_stats_init(&st);
	for (unsigned i = 0; i < sizeof ts / sizeof ts[0]; i++) {
		struct cs_frame f = frame_at(ts[i], 40);
		cs_stats_count(&st, &f, CS_SKIP_NONE, &pkt);
	}
	ck_assert_uint_eq(st.first_ts_us, 100);
	ck_assert_uint_eq(st.last_ts_us, 900);
	ck_assert_uint_eq(st.ts_backwards, 2);	/* 500->300, 900->100 */
}
END_TEST

START_TEST(truncated_frames_are_analysed_and_noted)
{
	struct cs_stats st;
	struct cs_pkt pkt = { .kind = CS_PKT_TCP, .info = CS_PKTF_TRUNCATED };
	struct cs_frame f = { .ts_us = 1, .caplen = 64, .wirelen = 1514 };

	cs_stats_init(&st);
	cs_stats_count(&st, &f, CS_SKIP_NONE, &pkt);
	ck_assert_uint_eq(st.truncated_frames, 1);
	ck_assert_uint_eq(st.bytes, 1514);	/* bytes on the wire, not captured */
}
END_TEST

START_TEST(every_reason_has_a_distinct_name)
{
	for (int i = 0; i < CS_SKIP_MAX; i++) {
		ck_assert_ptr_nonnull(cs_skip_names[i]);
		for (int j = 0; j < i; j++)
			ck_assert_str_ne(cs_skip_names[i], cs_skip_names[j]);
	}
}
END_TEST

Suite *stats_suite(void)
{
	Suite *s = suite_create("stats");
	TCase *tc = tcase_create("accounting");

	tcase_add_test(tc, every_frame_lands_in_one_bucket);
	tcase_add_test(tc, time_span_survives_reordering);
	tcase_add_test(tc, truncated_frames_are_analysed_and_noted);
	tcase_add_test(tc, every_reason_has_a_distinct_name);
	suite_add_tcase(s, tc);
	return s;
}
