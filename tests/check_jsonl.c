/*
 * check_jsonl.c — the JSON Lines: one whole object per line; an alert's
 * start and end lines, from a hand-made alert list and packet times.
 */
#include <stdlib.h>
#include <string.h>

#include "analyzer/reports/jsonl.h"
#include "tests/suites.h"

#define SEC CS_USEC_PER_SEC
#define T0 (1800000000 * SEC)

static char *out;
static size_t out_len;
static FILE *f;

static void open_out(void)
{
	free(out);
	out = NULL;
	f = open_memstream(&out, &out_len);
	ck_assert_ptr_nonnull(f);
}

static int lines_with(const char *needle)
{
	int n = 0;

	fflush(f);
	for (const char *p = out; p && (p = strstr(p, needle)); p++)
		n++;
	return n;
}

/*
 * One alert, updated until T0+3 s.  Quiet means CS_JSONL_ALERT_QUIET_SEC
 * (10 s) of packet time after its end: not at T0+12.9, yes at T0+13.  It
 * moves again at T0+20 (end T0+20): a second start, same id; the run ends:
 * its end.
 */
START_TEST(an_alert_starts_ends_and_starts_again)
{
	struct cs_alerts a;
	struct cs_jsonl_alerts *w = calloc(1, sizeof *w);

	ck_assert_int_eq(cs_alerts_init(&a), 0);
	open_out();
	ck_assert_uint_eq(cs_jsonl_alerts_update(f, w, &a, T0, false), 0);
	struct cs_alert *al = cs_alerts_raise(&a, CS_ALERT_SYN_FLOOD, T0);
	ck_assert_ptr_nonnull(al);
	ck_assert_uint_eq(cs_jsonl_alerts_update(f, w, &a, T0, false), 1);
	ck_assert_int_eq(lines_with("\"event\":\"start\",\"id\":0,"), 1);
	al->end_us = T0 + 3 * SEC;
	ck_assert_uint_eq(cs_jsonl_alerts_update(f, w, &a, T0 + 3 * SEC, false), 0);
	ck_assert_uint_eq(cs_jsonl_alerts_update(f, w, &a, T0 + 12 * SEC + 900000, false), 0);
	ck_assert_uint_eq(cs_jsonl_alerts_update(f, w, &a, T0 + 13 * SEC, false), 1);
	ck_assert_int_eq(lines_with("\"event\":\"end\",\"id\":0,"), 1);
	ck_assert_uint_eq(cs_jsonl_alerts_update(f, w, &a, T0 + 19 * SEC, false), 0);
	al->end_us = T0 + 20 * SEC;
	ck_assert_uint_eq(cs_jsonl_alerts_update(f, w, &a, T0 + 20 * SEC, false), 1);
	ck_assert_int_eq(lines_with("\"event\":\"start\",\"id\":0,"), 2);
	ck_assert_uint_eq(cs_jsonl_alerts_update(f, w, &a, T0 + 21 * SEC, true), 1);
	ck_assert_uint_eq(cs_jsonl_alerts_update(f, w, &a, T0 + 22 * SEC, true), 0);
	ck_assert_int_eq(lines_with("\"event\":\"end\",\"id\":0,"), 2);
	/* every line is one object of type alert with the report's alert in it */
	ck_assert_int_eq(lines_with("{\"type\":\"alert\",\"event\":"), 4);
	ck_assert_int_eq(lines_with("\"alert\":{\"type\":\"syn_flood\",\"target\":"), 4);
	ck_assert_int_eq(lines_with("}}\n"), 4);
	ck_assert_int_eq(lines_with("\n"), 4);
	fclose(f);
	f = NULL;
	cs_alerts_fini(&a);
	free(w);
}
END_TEST

/* A conn line is the report's connection object with "type" first, on
 * one line. */
START_TEST(a_conn_line_is_the_report_connection_on_one_line)
{
	struct cs_conn c;
	struct cs_verdict v = { .outcome = CS_OUT_REFUSED, .conn_state = CS_CS_REJ };
	struct cs_json_report rows = { 0 };	/* no split rows kept */

	memset(&c, 0, sizeof c);
	c.id = 42;
	c.first_ts_us = c.last_ts_us = T0;
	open_out();
	cs_jsonl_conn(f, &rows, &c, &v);
	fflush(f);
	ck_assert_msg(!strncmp(out, "{\"type\":\"conn\",\"id\":42,\"orig_h\":", 32), "%s", out);
	ck_assert_int_eq(lines_with("\"outcome\":\"refused\",\"conn_state\":\"REJ\""), 1);
	ck_assert_int_eq(lines_with("\n"), 1);
	ck_assert(out_len > 2 && out[out_len - 1] == '\n' && out[out_len - 2] == '}');
	fclose(f);
	f = NULL;
	free(out);
	out = NULL;
	cs_report_json_fini(&rows);
}
END_TEST

Suite *jsonl_suite(void)
{
	Suite *s = suite_create("jsonl");
	TCase *tc = tcase_create("jsonl");

	tcase_add_test(tc, an_alert_starts_ends_and_starts_again);
	tcase_add_test(tc, a_conn_line_is_the_report_connection_on_one_line);
	suite_add_tcase(s, tc);
	return s;
}
