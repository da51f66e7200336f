/*
 * check_json.c — the streaming JSON writer: structure, commas, escaping.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/reports/json.h"
#include "tests/suites.h"

struct sink {
	char *buf;
	size_t len;
	FILE *f;
	struct cs_json j;
};

static void sink_open(struct sink *s, int pretty)
{
	s->buf = NULL;
	s->len = 0;
	s->f = open_memstream(&s->buf, &s->len);
	ck_assert_ptr_nonnull(s->f);
	cs_json_init(&s->j, s->f, pretty);
}

/* Closes the stream and returns the text; the caller frees it. */
static char *sink_close(struct sink *s)
{
	fclose(s->f);
	return s->buf;
}

START_TEST(nested_containers_place_commas)
{
	struct sink s;
	sink_open(&s, 0);
	cs_json_obj_begin(&s.j);
	cs_json_kv_u64(&s.j, "a", 1);
	cs_json_key(&s.j, "b");
	cs_json_arr_begin(&s.j);
	cs_json_u64(&s.j, 2);
	cs_json_obj_begin(&s.j);
	cs_json_obj_end(&s.j);
	cs_json_arr_begin(&s.j);
	cs_json_arr_end(&s.j);
	cs_json_null(&s.j);
	cs_json_bool(&s.j, true);
	cs_json_i64(&s.j, -5);
	cs_json_arr_end(&s.j);
	cs_json_kv_str(&s.j, "c", NULL);
	cs_json_obj_end(&s.j);
	char *out = sink_close(&s);
	ck_assert_str_eq(out, "{\"a\":1,\"b\":[2,{},[],null,true,-5],\"c\":null}");
	free(out);
}
END_TEST

START_TEST(pretty_puts_shallow_elements_on_lines)
{
	struct sink s;
	sink_open(&s, 2);
	cs_json_obj_begin(&s.j);
	cs_json_key(&s.j, "list");
	cs_json_arr_begin(&s.j);
	cs_json_obj_begin(&s.j);
	cs_json_kv_u64(&s.j, "x", 1);
	cs_json_obj_end(&s.j);
	cs_json_obj_begin(&s.j);
	cs_json_kv_u64(&s.j, "x", 2);
	cs_json_obj_end(&s.j);
	cs_json_arr_end(&s.j);
	cs_json_obj_end(&s.j);
	char *out = sink_close(&s);
	ck_assert_str_eq(out, "{\n  \"list\":[\n    {\"x\":1},\n    {\"x\":2}\n  ]\n}");
	free(out);
}
END_TEST

static const struct {
	const char *in;
	size_t len;
	const char *out;
} escapes[] = {
	{ "plain", 5, "\"plain\"" },
	{ "q\"b\\", 4, "\"q\\\"b\\\\\"" },
	{ "\n\r\t", 3, "\"\\n\\r\\t\"" },
	{ "\x01\x1f\x7f", 3, "\"\\u0001\\u001f\\u007f\"" },
	{ "<script>&", 9, "\"\\u003cscript\\u003e\\u0026\"" },
	{ "caf\xc3\xa9", 5, "\"caf\xc3\xa9\"" },			/* valid UTF-8 kept */
	{ "\xe2\x82\xac", 3, "\"\xe2\x82\xac\"" },			/* euro sign */
	{ "\xf0\x9f\x98\x80", 4, "\"\xf0\x9f\x98\x80\"" },		/* 4-byte sequence */
	{ "\xff", 1, "\"\\ufffd\"" },					/* invalid byte */
	{ "\xc3", 1, "\"\\ufffd\"" },					/* cut sequence */
	{ "\xc0\xaf", 2, "\"\\ufffd\\ufffd\"" },			/* overlong '/' */
	{ "\xed\xa0\x80", 3, "\"\\ufffd\\ufffd\\ufffd\"" },		/* surrogate */
	{ "a\0b", 3, "\"a\\u0000b\"" },					/* NUL inside */
	/* runs of plain bytes broken by each kind of exception */
	{ "a\"b\xc3\xa9" "c\xff" "d<e", 10, "\"a\\\"b\xc3\xa9" "c\\ufffdd\\u003ce\"" },
};

START_TEST(strings_are_escaped)
{
	struct sink s;
	sink_open(&s, 0);
	cs_json_strn(&s.j, escapes[_i].in, escapes[_i].len);
	char *out = sink_close(&s);
	ck_assert_str_eq(out, escapes[_i].out);
	free(out);
}
END_TEST

START_TEST(microseconds_print_as_seconds)
{
	struct sink s;
	sink_open(&s, 0);
	cs_json_arr_begin(&s.j);
	cs_json_usec(&s.j, 0);
	cs_json_usec(&s.j, 1700000000123456ull);
	cs_json_usec(&s.j, 999999);
	cs_json_double(&s.j, 0.25, 3);
	cs_json_double(&s.j, 1.0 / 0.0, 3);
	cs_json_u64(&s.j, UINT64_MAX);
	cs_json_arr_end(&s.j);
	char *out = sink_close(&s);
	ck_assert_str_eq(out, "[0.000000,1700000000.123456,0.999999,0.250,null,"
			      "18446744073709551615]");
	free(out);
}
END_TEST

/* Numbers as printf writes them: every width, each power of ten and its
 * neighbours, and pseudo-random values; microseconds with every digit of
 * their fraction.  (The writer makes them two digits a step.) */
START_TEST(numbers_print_as_printf_does)
{
	uint64_t v[400];
	size_t n = 0;
	uint64_t x = 0x2545f4914f6cdd1dull;

	for (uint64_t p = 1; n + 3 <= 60; p *= 10) {
		v[n++] = p - 1;
		v[n++] = p;
		v[n++] = p + 1;
		if (p > UINT64_MAX / 10)
			break;
	}
	v[n++] = UINT64_MAX;
	while (n < sizeof v / sizeof v[0]) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		v[n++] = x >> (x % 64);
	}
	for (size_t i = 0; i < n; i++) {
		struct sink s;
		char want[128];
		sink_open(&s, 0);
		cs_json_arr_begin(&s.j);
		cs_json_u64(&s.j, v[i]);
		cs_json_i64(&s.j, -(int64_t)(v[i] >> 1));
		cs_json_usec(&s.j, v[i]);
		cs_json_arr_end(&s.j);
		char *out = sink_close(&s);
		snprintf(want, sizeof want, "[%" PRIu64 ",%" PRId64 ",%" PRIu64 ".%06" PRIu64 "]",
			 v[i], -(int64_t)(v[i] >> 1), v[i] / 1000000, v[i] % 1000000);
		ck_assert_msg(strcmp(out, want) == 0, "%" PRIu64 ": %s, not %s",
			      v[i], out, want);
		free(out);
	}
}
END_TEST

Suite *json_suite(void)
{
	Suite *s = suite_create("json");
	TCase *tc = tcase_create("writer");

	tcase_add_test(tc, nested_containers_place_commas);
	tcase_add_test(tc, pretty_puts_shallow_elements_on_lines);
	tcase_add_loop_test(tc, strings_are_escaped, 0,
			    (int)(sizeof escapes / sizeof escapes[0]));
	tcase_add_test(tc, microseconds_print_as_seconds);
	tcase_add_test(tc, numbers_print_as_printf_does);
	suite_add_tcase(s, tc);
	return s;
}
