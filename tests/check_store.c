/*
 * check_store.c — every connection of a file reachable: the compact store
 * (analyzer/views/store.c) and the paging over it (web/connlist.c).
 *
 * The connections are built here, so the expected counts and orders are
 * the construction's: connection i (id i + 1) starts at T0 + i ms from
 * client 10.1.(i / 256).(i % 256), and is refused when i % 3 == 0, an
 * unanswered SYN when i % 3 == 1, and an open connection with i bytes of
 * data when i % 3 == 2.  The store keeps one chunk (4,096 records) in
 * memory, so most of them go through the spill file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/engine.h"
#include "analyzer/views/snapshot.h"
#include "analyzer/views/store.h"
#include "tests/pktbuild.h"
#include "tests/suites.h"
#include "web/connlist.h"
#include "web/render.h"

#define USEC_PER_SEC 1000000ull
#define T0 (1700000000ull * USEC_PER_SEC)
#define N 10000u			/* connections: well past one chunk */
#define REFUSED ((N + 2) / 3)		/* i % 3 == 0 for i < N */

static struct cs_engine eng;
static uint8_t frame[2048];

static void seg(unsigned i, bool from_cli, uint16_t flags, uint32_t seq,
		uint32_t ack, size_t len, uint64_t ts)
{
	struct pb_spec s;
	char cli[32];

	snprintf(cli, sizeof cli, "10.1.%u.%u", i / 256, i % 256);
	pb_spec_init(&s, 4);
	ck_assert(pb_addr(from_cli ? s.src : s.dst, cli));
	ck_assert(pb_addr(from_cli ? s.dst : s.src, "10.2.0.1"));
	s.tcp.sport = from_cli ? 40000 : 80;
	s.tcp.dport = from_cli ? 80 : 40000;
	s.tcp.flags = flags;
	s.tcp.seq = seq;
	s.tcp.ack = ack;
	s.payload_len = len;
	size_t n = pb_build(&s, frame, sizeof frame);
	ck_assert_uint_gt(n, 0);
	struct cs_frame f = { .ts_us = ts, .caplen = (uint32_t)n,
			      .wirelen = (uint32_t)n, .dlt = CS_DLT_EN10MB,
			      .bytes = frame };
	cs_engine_frame(&eng, &f);
}

static void feed_one(unsigned i)
{
	uint64_t t = T0 + (uint64_t)i * 1000;

	seg(i, true, CS_TH_SYN, 100, 0, 0, t);
	if (i % 3 == 0) {
		seg(i, false, CS_TH_RST | CS_TH_ACK, 0, 101, 0, t + 10);
	} else if (i % 3 == 2) {
		seg(i, false, CS_TH_SYN | CS_TH_ACK, 500, 101, 0, t + 10);
		seg(i, true, CS_TH_ACK, 101, 501, 0, t + 20);
		seg(i, true, CS_TH_ACK | CS_TH_PSH, 101, 501, i % 1400, t + 30);
	}
}

/* The file's last view, as the run driver makes it (driver.c). */
static struct cs_snapshot *last_view(void)
{
	struct cs_engine_opts o;
	struct cs_report_source src;
	static const char *const names[] = { "mem.pcap" };
	char err[160];

	cs_engine_opts_default(&o);
	o.keep_recent = true;
	o.keep_all_budget_bytes = 1;	/* one chunk */
	ck_assert_msg(cs_engine_init(&eng, &o, err, sizeof err) == 0, "%s", err);
	for (unsigned i = 0; i < N; i++)
		feed_one(i);
	memset(&src, 0, sizeof src);
	src.names = names;
	src.name_cnt = 1;
	cs_engine_close_seconds(&eng);
	cs_engine_keep_open(&eng);
	cs_engine_refresh(&eng);
	struct cs_snapshot *s = cs_snapshot_build(&eng, &src, 1, false, true);
	ck_assert_ptr_nonnull(s);
	cs_engine_finish(&eng);
	cs_engine_fini(&eng);	/* the snapshot outlives the engine */
	return s;
}

static uint64_t sort_key(const struct cs_conn_rec *r, enum cs_sort_key k)
{
	switch (k) {
	case CS_SORT_DURATION: return r->duration_us;
	case CS_SORT_BYTES: return r->ip_bytes[0] + r->ip_bytes[1];
	case CS_SORT_PKTS: return (uint64_t)r->pkts[0] + r->pkts[1];
	default: return r->ts_us;
	}
}

/* (key, id) of b comes after a's in the order asked. */
static bool in_order(const struct cs_conn_rec *a, const struct cs_conn_rec *b,
		     enum cs_sort_key k, bool descending)
{
	uint64_t ka = sort_key(a, k), kb = sort_key(b, k);
	bool up = ka < kb || (ka == kb && a->id < b->id);

	return descending ? !up : up;
}

static void filter_any(struct cs_conn_filter *f)
{
	memset(f, 0, sizeof *f);
	f->outcome = f->state = f->conn_state = -1;
	f->limit = 1000;
}

START_TEST(test_every_connection_pages)
{
	static const struct { enum cs_sort_key k; bool desc; } orders[] = {
		{ CS_SORT_TS, true }, { CS_SORT_TS, false }, { CS_SORT_DURATION, false },
		{ CS_SORT_BYTES, true }, { CS_SORT_PKTS, false },
	};
	struct cs_snapshot *s = last_view();
	struct cs_conn_rec *page = malloc(1000 * sizeof *page), prev = { 0 };
	uint8_t *seen = malloc(N + 1);

	ck_assert_uint_eq(s->all_cnt, N);
	ck_assert_int_ge(s->all->fd, 0);	/* spilled */
	for (size_t o = 0; o < sizeof orders / sizeof orders[0]; o++) {
		struct cs_conn_filter f;
		uint64_t total = 0;
		filter_any(&f);
		f.sort = orders[o].k;
		f.descending = orders[o].desc;
		memset(seen, 0, N + 1);
		for (f.offset = 0; f.offset < N; f.offset += f.limit) {
			long n = cs_connlist_page(s, &f, page, &total);
			ck_assert_int_eq(n, N - f.offset < 1000 ? N - f.offset : 1000);
			ck_assert_uint_eq(total, N);
			for (long i = 0; i < n; i++) {
				ck_assert_uint_ge(page[i].id, 1);
				ck_assert_uint_le(page[i].id, N);
				ck_assert_msg(!seen[page[i].id]++, "id %lu twice",
					      (unsigned long)page[i].id);
				ck_assert_msg(f.offset + i == 0 ||
					      in_order(&prev, &page[i], f.sort, f.descending),
					      "order %zu: id %lu after %lu", o,
					      (unsigned long)page[i].id, (unsigned long)prev.id);
				prev = page[i];
			}
		}
	}
	free(seen);
	free(page);
	cs_snapshot_unref(s);
}
END_TEST

START_TEST(test_filters_count_every_match)
{
	struct cs_snapshot *s = last_view();
	struct cs_conn_rec page[4];
	struct cs_conn_filter f;
	uint64_t total = 0;

	filter_any(&f);
	f.limit = 4;
	f.outcome = CS_OUT_REFUSED;
	ck_assert_int_eq(cs_connlist_page(s, &f, page, &total), 4);
	ck_assert_uint_eq(total, REFUSED);
	f.outcome = CS_OUT_ESTABLISHED;		/* i % 3 == 2: still open */
	ck_assert_int_eq(cs_connlist_page(s, &f, page, &total), 4);
	ck_assert_uint_eq(total, N / 3);
	ck_assert(page[0].flags & CS_REC_OPEN);
	/* one client, far into the spill file: i = 9001 */
	filter_any(&f);
	f.have_host = true;
	/* 9001 = 35 * 256 + 41; IPv4 as the flow key holds it, v4-mapped */
	f.host = (struct cs_addr){ .b = { [10] = 0xff, [11] = 0xff, [12] = 10,
					  [13] = 1, [14] = 35, [15] = 41 } };
	ck_assert_int_eq(cs_connlist_page(s, &f, page, &total), 1);
	ck_assert_uint_eq(total, 1);
	ck_assert_uint_eq(page[0].id, 9002);
	/* its SYN is 0.999 s older than the last packet, under the 3 s SYN
	 * timeout: still an attempt, and open */
	ck_assert_uint_eq(page[0].outcome, CS_OUT_ATTEMPT);
	ck_assert(page[0].flags & CS_REC_OPEN);
	cs_snapshot_unref(s);
}
END_TEST

START_TEST(test_detail_of_a_spilled_connection)
{
	struct cs_snapshot *s = last_view();
	struct cs_reply r;

	cs_render_connection(s, 9002, &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, "\"id\":9002"));
	ck_assert_ptr_nonnull(strstr(r.body, "\"orig_h\":\"10.1.35.41\""));
	free(r.body);
	cs_render_connection(s, N + 1, &r);
	ck_assert_int_eq(r.status, 404);
	free(r.body);
	cs_snapshot_unref(s);
}
END_TEST

/* Readers see the records published when their snapshot was built, and
 * nothing the writer appends after. */
START_TEST(test_store_published_count)
{
	struct cs_store *st = cs_store_create(1);
	struct cs_conn_rec r;
	uint64_t cnt = 0;

	memset(&r, 0, sizeof r);
	for (unsigned i = 0; i < CS_STORE_CHUNK_RECS + 10; i++) {
		r.id = i + 1;
		cs_store_add(st, &r);
	}
	/* the 10 spilled ones wait in the tail until published */
	ck_assert_uint_eq(st->published, CS_STORE_CHUNK_RECS);
	cs_store_publish(st);
	ck_assert_uint_eq(st->published, CS_STORE_CHUNK_RECS + 10);
	cnt = st->published;
	for (unsigned i = 0; i < 5; i++) {
		r.id = 100000 + i;
		cs_store_add(st, &r);
	}
	struct cs_store *held = cs_store_ref(st);
	cs_store_unref(st);	/* the writer's reference goes first */
	struct cs_conn_filter f;
	filter_any(&f);
	struct cs_snapshot snap = { .all = held, .all_cnt = cnt };
	uint64_t total = 0;
	struct cs_conn_rec page[1];
	f.limit = 1;
	f.descending = true;
	ck_assert_int_eq(cs_connlist_page(&snap, &f, page, &total), 1);
	ck_assert_uint_eq(total, CS_STORE_CHUNK_RECS + 10);
	ck_assert_uint_eq(page[0].id, CS_STORE_CHUNK_RECS + 10);	/* -ts, then -id */
	cs_store_unref(held);
}
END_TEST

/*
 * A file's charts cover all of it: a 1,300-second capture with one SYN
 * every 10 s and a spike of 50 SYNs in second 5.  600 buckets of 1 s hold
 * 600 s, of 2 s 1,200 s, so the interval is 4 s and 1300 / 4 + 1 = 326
 * buckets; the spike's bucket (second 4 to 7) keeps 50, its maximum.
 */
START_TEST(test_series_cover_the_file)
{
	struct cs_engine_opts o;
	struct cs_report_source src;
	char err[160];
	unsigned i = 0;

	cs_engine_opts_default(&o);
	o.keep_recent = true;
	o.keep_all_budget_bytes = 1;
	ck_assert_msg(cs_engine_init(&eng, &o, err, sizeof err) == 0, "%s", err);
	for (unsigned sec = 0; sec <= 1300; sec += 5) {
		unsigned syns = sec == 5 ? 50 : sec % 10 == 0 ? 1 : 0;
		for (unsigned k = 0; k < syns; k++)
			seg(i++, true, CS_TH_SYN, 100, 0, 0,
			    T0 + sec * USEC_PER_SEC + k);
	}
	memset(&src, 0, sizeof src);
	cs_engine_refresh(&eng);
	struct cs_snapshot *s = cs_snapshot_build(&eng, &src, 1, false, false);
	ck_assert_ptr_nonnull(s);
	ck_assert_uint_eq(s->series_start, T0 / USEC_PER_SEC);
	ck_assert_uint_eq(s->series_interval, 4);
	ck_assert_uint_eq(s->series_len, 326);
	ck_assert_uint_eq(s->series[1][CS_SER_SYN], 50);	/* seconds 4..7 */
	ck_assert_uint_eq(s->series[0][CS_SER_SYN], 1);		/* second 0 */
	ck_assert_uint_eq(s->series[325][CS_SER_SYN], 1);	/* second 1300 */
	cs_snapshot_unref(s);
	cs_engine_fini(&eng);
}
END_TEST

Suite *store_suite(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_store_published_count);
	tcase_add_test(tc, test_every_connection_pages);
	tcase_add_test(tc, test_filters_count_every_match);
	tcase_add_test(tc, test_detail_of_a_spilled_connection);
	tcase_add_test(tc, test_series_cover_the_file);
	suite_add_tcase(s, tc);
	return s;
}
