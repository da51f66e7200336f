/*
 * check_reader.c — the bounds-checked cursor of capture/reader.h.
 *
 * Every read is tried on buffers of every length around its width, each
 * buffer malloc'd to exactly that length so that ASan reports a read one
 * byte past the end.  What must hold: a read that fits returns the bytes in
 * network order (little-endian for cs_rd_u32le) and advances; one that does
 * not fit returns 0, empties the reader and sets err, and err then stays.
 * Peeks are tried at every offset of every such buffer: the same, except
 * that one that fits leaves the reader where it was.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/reader.h"
#include "tests/suites.h"

static const uint8_t pattern[8] = { 0x01, 0x82, 0x03, 0x84, 0x05, 0x86, 0x07, 0x88 };

/* A heap copy of the first n pattern bytes, exactly n long. */
static uint8_t *exact_copy(size_t n)
{
	uint8_t *p = malloc(n);	/* malloc(0) too: ASan flags any read of it */
	if (n > 0) {
		ck_assert_ptr_nonnull(p);
		memcpy(p, pattern, n);
	}
	return p;
}

/* ---- each fixed-width read at every buffer length 0..8 -------------------- */

struct width_case {
	const char *name;
	size_t width;
	uint32_t (*read)(struct cs_reader *r);
	uint32_t want;		/* value of the first `width` pattern bytes */
};

static uint32_t read_u8(struct cs_reader *r) { return cs_rd_u8(r); }
static uint32_t read_u16(struct cs_reader *r) { return cs_rd_u16(r); }
static uint32_t read_u32(struct cs_reader *r) { return cs_rd_u32(r); }
static uint32_t read_u32le(struct cs_reader *r) { return cs_rd_u32le(r); }

static const struct width_case widths[] = {
	{ "u8", 1, read_u8, 0x01 },
	{ "u16", 2, read_u16, 0x0182 },
	{ "u32", 4, read_u32, 0x01820384 },
	{ "u32le", 4, read_u32le, 0x84038201 },
};

#define LEN_MAX 8
#define N_WIDTHS (sizeof widths / sizeof widths[0])

START_TEST(test_read_width_at_every_length)
{
	const struct width_case *w = &widths[_i / (LEN_MAX + 1)];
	size_t len = (size_t)_i % (LEN_MAX + 1);
	uint8_t *buf = exact_copy(len);
	struct cs_reader r = cs_rd_make(buf, len);

	uint32_t v = w->read(&r);
	if (len >= w->width) {
		ck_assert_msg(!r.err, "%s on %zu bytes failed", w->name, len);
		ck_assert_uint_eq(v, w->want);
		ck_assert_uint_eq(r.left, len - w->width);
		ck_assert_ptr_eq(r.p, buf + w->width);
	} else {
		ck_assert_msg(r.err, "%s on %zu bytes did not fail", w->name, len);
		ck_assert_uint_eq(v, 0);
		ck_assert_uint_eq(r.left, 0);
	}
	free(buf);
}
END_TEST

/* Reading until the buffer is spent: exactly len/width reads succeed. */
START_TEST(test_read_width_until_exhausted)
{
	const struct width_case *w = &widths[_i / (LEN_MAX + 1)];
	size_t len = (size_t)_i % (LEN_MAX + 1);
	uint8_t *buf = exact_copy(len);
	struct cs_reader r = cs_rd_make(buf, len);
	size_t ok = 0;

	while (!r.err && ok <= LEN_MAX) {
		(void)w->read(&r);
		if (!r.err)
			ok++;
	}
	ck_assert_msg(ok == len / w->width, "%s: %zu reads on %zu bytes",
		      w->name, ok, len);
	ck_assert_uint_eq(r.left, 0);
	free(buf);
}
END_TEST

/* ---- peeks at every offset of every buffer length 0..8 --------------------- */

struct peek_case {
	const char *name;
	size_t width;
	bool little;		/* assembled least significant byte first */
	uint32_t (*peek)(struct cs_reader *r, size_t off);
};

static uint32_t peek_u8(struct cs_reader *r, size_t off) { return cs_rd_peek_u8(r, off); }
static uint32_t peek_u16(struct cs_reader *r, size_t off) { return cs_rd_peek_u16(r, off); }
static uint32_t peek_u32(struct cs_reader *r, size_t off) { return cs_rd_peek_u32(r, off); }
static uint32_t peek_u16le(struct cs_reader *r, size_t off) { return cs_rd_peek_u16le(r, off); }
static uint32_t peek_u32le(struct cs_reader *r, size_t off) { return cs_rd_peek_u32le(r, off); }

static const struct peek_case peeks[] = {
	{ "peek_u8", 1, false, peek_u8 },
	{ "peek_u16", 2, false, peek_u16 },
	{ "peek_u32", 4, false, peek_u32 },
	{ "peek_u16le", 2, true, peek_u16le },
	{ "peek_u32le", 4, true, peek_u32le },
};

#define N_PEEKS (sizeof peeks / sizeof peeks[0])

/* The pattern bytes at off..off+width-1 in network order, or reversed. */
static uint32_t pattern_at(size_t off, size_t width, bool little)
{
	uint32_t v = 0;
	for (size_t i = 0; i < width; i++)
		v = v << 8 | pattern[off + (little ? width - 1 - i : i)];
	return v;
}

/* A peek that fits returns the field and leaves the reader where it was;
 * one that does not returns 0 and fails the reader, as a read would. */
START_TEST(test_peek_at_every_offset)
{
	const struct peek_case *w = &peeks[_i / (LEN_MAX + 1)];
	size_t len = (size_t)_i % (LEN_MAX + 1);

	for (size_t off = 0; off <= LEN_MAX + 1; off++) {
		uint8_t *buf = exact_copy(len);
		struct cs_reader r = cs_rd_make(buf, len);
		bool fits = off + w->width <= len;

		ck_assert(cs_rd_has_at(&r, off, w->width) == fits);
		uint32_t v = w->peek(&r, off);
		if (fits) {
			ck_assert_msg(!r.err, "%s(%zu) on %zu bytes failed",
				      w->name, off, len);
			ck_assert_uint_eq(v, pattern_at(off, w->width, w->little));
			ck_assert_uint_eq(r.left, len);
			ck_assert_ptr_eq(r.p, buf);
		} else {
			ck_assert_msg(r.err, "%s(%zu) on %zu bytes did not fail",
				      w->name, off, len);
			ck_assert_uint_eq(v, 0);
			ck_assert_uint_eq(r.left, 0);
		}
		free(buf);
	}
}
END_TEST

/* Offsets near SIZE_MAX fail by comparison: off + width must not wrap. */
START_TEST(test_peek_huge_offset)
{
	uint8_t *buf = exact_copy(8);

	for (size_t back = 0; back < 4; back++) {
		struct cs_reader r = cs_rd_make(buf, 8);
		ck_assert(!cs_rd_has_at(&r, SIZE_MAX - back, 4));
		for (size_t i = 0; i < N_PEEKS; i++) {
			r = cs_rd_make(buf, 8);
			ck_assert_uint_eq(peeks[i].peek(&r, SIZE_MAX - back), 0);
			ck_assert_msg(r.err, "%s did not fail", peeks[i].name);
		}
	}
	free(buf);
}
END_TEST

/* Peeks follow the cursor, and a failed reader hands out nothing. */
START_TEST(test_peek_after_reads_and_errors)
{
	uint8_t *buf = exact_copy(8);
	struct cs_reader r = cs_rd_make(buf, 8);

	cs_rd_skip(&r, 3);
	ck_assert_uint_eq(cs_rd_peek_u8(&r, 0), pattern[3]);
	ck_assert_uint_eq(cs_rd_peek_u32(&r, 1), 0x05860788);
	ck_assert_uint_eq(cs_rd_peek_u16(&r, 4), 0);	/* 5 left: 4..5 is past */
	ck_assert(r.err);
	ck_assert_uint_eq(cs_rd_peek_u8(&r, 0), 0);	/* sticky */
	ck_assert(!cs_rd_has_at(&r, 0, 0));
	free(buf);
}
END_TEST

/* ---- the sticky error ------------------------------------------------------ */

START_TEST(test_error_is_sticky)
{
	uint8_t *buf = exact_copy(3);
	struct cs_reader r = cs_rd_make(buf, 3);

	ck_assert_uint_eq(cs_rd_u32(&r), 0);	/* needs 4 of 3 */
	ck_assert(r.err);
	ck_assert_uint_eq(r.left, 0);
	/* Bytes were there before the failure; none may be read after it. */
	ck_assert_uint_eq(cs_rd_u8(&r), 0);
	ck_assert_uint_eq(cs_rd_u16(&r), 0);
	ck_assert(!cs_rd_has(&r, 0));
	cs_rd_skip(&r, 0);
	ck_assert(r.err);
	free(buf);
}
END_TEST

START_TEST(test_fail_empties)
{
	uint8_t *buf = exact_copy(8);
	struct cs_reader r = cs_rd_make(buf, 8);

	cs_rd_fail(&r);
	ck_assert(r.err);
	ck_assert_uint_eq(r.left, 0);
	ck_assert_uint_eq(cs_rd_u8(&r), 0);
	free(buf);
}
END_TEST

/* A failed read does not consume: what was left is gone, not half-read. */
START_TEST(test_failed_read_after_good_ones)
{
	uint8_t *buf = exact_copy(5);
	struct cs_reader r = cs_rd_make(buf, 5);

	ck_assert_uint_eq(cs_rd_u16(&r), 0x0182);
	ck_assert_uint_eq(cs_rd_u16(&r), 0x0384);
	ck_assert_uint_eq(cs_rd_u16(&r), 0);	/* 1 byte left */
	ck_assert(r.err);
	ck_assert_uint_eq(cs_rd_u8(&r), 0);	/* that byte is not handed out */
	free(buf);
}
END_TEST

/* ---- has / skip at and past the boundary ------------------------------------ */

START_TEST(test_has_boundaries)
{
	uint8_t *buf = exact_copy(4);
	struct cs_reader r = cs_rd_make(buf, 4);

	ck_assert(cs_rd_has(&r, 0));
	ck_assert(cs_rd_has(&r, 4));
	ck_assert(!cs_rd_has(&r, 5));
	ck_assert(!cs_rd_has(&r, SIZE_MAX));
	ck_assert(!r.err);		/* asking is not failing */
	free(buf);
}
END_TEST

START_TEST(test_skip_boundaries)
{
	uint8_t *buf = exact_copy(6);
	struct cs_reader r = cs_rd_make(buf, 6);

	cs_rd_skip(&r, 0);
	ck_assert(!r.err);
	cs_rd_skip(&r, 2);
	ck_assert_uint_eq(r.left, 4);
	ck_assert_uint_eq(cs_rd_u8(&r), pattern[2]);
	cs_rd_skip(&r, 3);		/* exactly the rest */
	ck_assert(!r.err);
	ck_assert_uint_eq(r.left, 0);
	cs_rd_skip(&r, 0);		/* nothing from nothing is fine */
	ck_assert(!r.err);
	cs_rd_skip(&r, 1);
	ck_assert(r.err);
	free(buf);
}
END_TEST

/* A huge length must fail by comparison, not wrap a pointer. */
START_TEST(test_skip_huge)
{
	uint8_t *buf = exact_copy(4);
	struct cs_reader r = cs_rd_make(buf, 4);

	cs_rd_skip(&r, SIZE_MAX);
	ck_assert(r.err);
	ck_assert_uint_eq(r.left, 0);
	free(buf);
}
END_TEST

START_TEST(test_empty_reader)
{
	uint8_t *buf = exact_copy(0);
	struct cs_reader r = cs_rd_make(buf, 0);

	ck_assert(!r.err);
	ck_assert(cs_rd_has(&r, 0));
	ck_assert(!cs_rd_has(&r, 1));
	ck_assert_uint_eq(cs_rd_u8(&r), 0);
	ck_assert(r.err);
	free(buf);
}
END_TEST

/* ---- copy ----------------------------------------------------------------- */

START_TEST(test_copy_exact_and_short)
{
	uint8_t *buf = exact_copy(8);
	struct cs_reader r = cs_rd_make(buf, 8);
	uint8_t dst[8];

	memset(dst, 0xff, sizeof dst);
	cs_rd_copy(&r, dst, 0);
	ck_assert(!r.err);
	ck_assert_uint_eq(dst[0], 0xff);	/* zero bytes copied */

	cs_rd_copy(&r, dst, 8);
	ck_assert(!r.err);
	ck_assert_mem_eq(dst, pattern, 8);
	ck_assert_uint_eq(r.left, 0);

	memset(dst, 0xff, sizeof dst);
	cs_rd_copy(&r, dst, 4);		/* nothing left */
	ck_assert(r.err);
	for (size_t i = 0; i < 4; i++)
		ck_assert_uint_eq(dst[i], 0);	/* no stale bytes out */
	ck_assert_uint_eq(dst[4], 0xff);	/* and no more than asked */
	free(buf);
}
END_TEST

START_TEST(test_copy_one_short)
{
	uint8_t *buf = exact_copy(7);
	struct cs_reader r = cs_rd_make(buf, 7);
	uint8_t dst[8];

	memset(dst, 0xff, sizeof dst);
	cs_rd_copy(&r, dst, 8);
	ck_assert(r.err);
	for (size_t i = 0; i < 8; i++)
		ck_assert_uint_eq(dst[i], 0);
	free(buf);
}
END_TEST

/* ---- sub-readers ------------------------------------------------------------ */

START_TEST(test_sub_bounds_inner_reads)
{
	uint8_t *buf = exact_copy(8);
	struct cs_reader r = cs_rd_make(buf, 8);

	cs_rd_skip(&r, 1);
	struct cs_reader sub = cs_rd_sub(&r, 3);
	ck_assert(!sub.err);
	ck_assert_uint_eq(sub.left, 3);
	ck_assert_ptr_eq(sub.p, buf + 1);
	/* The parent moved past the sub-reader's bytes. */
	ck_assert_uint_eq(r.left, 4);
	ck_assert_uint_eq(cs_rd_u8(&r), pattern[4]);

	/* The sub-reader cannot read into the parent's remaining bytes. */
	ck_assert_uint_eq(cs_rd_u16(&sub), 0x8203);
	ck_assert_uint_eq(cs_rd_u16(&sub), 0);
	ck_assert(sub.err);
	ck_assert(!r.err);		/* a sub's failure is its own */
	ck_assert_uint_eq(cs_rd_u8(&r), pattern[5]);
	free(buf);
}
END_TEST

START_TEST(test_sub_exact_and_empty)
{
	uint8_t *buf = exact_copy(4);
	struct cs_reader r = cs_rd_make(buf, 4);

	struct cs_reader none = cs_rd_sub(&r, 0);
	ck_assert(!none.err);
	ck_assert_uint_eq(none.left, 0);
	ck_assert_uint_eq(r.left, 4);

	struct cs_reader all = cs_rd_sub(&r, 4);
	ck_assert(!all.err);
	ck_assert_uint_eq(all.left, 4);
	ck_assert_uint_eq(r.left, 0);
	ck_assert(!r.err);
	ck_assert_uint_eq(cs_rd_u32(&all), 0x01820384);
	ck_assert(!all.err);
	free(buf);
}
END_TEST

START_TEST(test_sub_past_end)
{
	uint8_t *buf = exact_copy(4);
	struct cs_reader r = cs_rd_make(buf, 4);

	struct cs_reader sub = cs_rd_sub(&r, 5);
	ck_assert(sub.err);
	ck_assert_uint_eq(sub.left, 0);
	ck_assert(r.err);
	ck_assert_uint_eq(r.left, 0);
	ck_assert_uint_eq(cs_rd_u8(&sub), 0);
	free(buf);
}
END_TEST

START_TEST(test_sub_of_failed_reader)
{
	uint8_t *buf = exact_copy(4);
	struct cs_reader r = cs_rd_make(buf, 4);

	cs_rd_fail(&r);
	struct cs_reader sub = cs_rd_sub(&r, 0);
	ck_assert(sub.err);	/* even an empty split of a failed reader fails */
	free(buf);
}
END_TEST

/* Nested sub-readers: the innermost is bounded by every enclosing length. */
START_TEST(test_sub_nested)
{
	uint8_t *buf = exact_copy(8);
	struct cs_reader r = cs_rd_make(buf, 8);
	struct cs_reader outer = cs_rd_sub(&r, 6);
	struct cs_reader inner = cs_rd_sub(&outer, 2);

	ck_assert_uint_eq(cs_rd_u16(&inner), 0x0182);
	ck_assert_uint_eq(cs_rd_u8(&inner), 0);
	ck_assert(inner.err);
	ck_assert_uint_eq(outer.left, 4);
	ck_assert_uint_eq(cs_rd_u32(&outer), 0x03840586);
	ck_assert_uint_eq(cs_rd_u8(&outer), 0);
	ck_assert(outer.err);
	ck_assert_uint_eq(r.left, 2);
	ck_assert(!r.err);
	free(buf);
}
END_TEST

Suite *reader_suite(void)
{
	Suite *s = suite_create("reader");
	TCase *tc = tcase_create("widths");

	tcase_add_loop_test(tc, test_read_width_at_every_length, 0,
			    (int)(N_WIDTHS * (LEN_MAX + 1)));
	tcase_add_loop_test(tc, test_read_width_until_exhausted, 0,
			    (int)(N_WIDTHS * (LEN_MAX + 1)));
	suite_add_tcase(s, tc);

	tc = tcase_create("peeks");
	tcase_add_loop_test(tc, test_peek_at_every_offset, 0,
			    (int)(N_PEEKS * (LEN_MAX + 1)));
	tcase_add_test(tc, test_peek_huge_offset);
	tcase_add_test(tc, test_peek_after_reads_and_errors);
	suite_add_tcase(s, tc);

	tc = tcase_create("errors");
	tcase_add_test(tc, test_error_is_sticky);
	tcase_add_test(tc, test_fail_empties);
	tcase_add_test(tc, test_failed_read_after_good_ones);
	tcase_add_test(tc, test_has_boundaries);
	tcase_add_test(tc, test_skip_boundaries);
	tcase_add_test(tc, test_skip_huge);
	tcase_add_test(tc, test_empty_reader);
	suite_add_tcase(s, tc);

	tc = tcase_create("copy_sub");
	tcase_add_test(tc, test_copy_exact_and_short);
	tcase_add_test(tc, test_copy_one_short);
	tcase_add_test(tc, test_sub_bounds_inner_reads);
	tcase_add_test(tc, test_sub_exact_and_empty);
	tcase_add_test(tc, test_sub_past_end);
	tcase_add_test(tc, test_sub_of_failed_reader);
	tcase_add_test(tc, test_sub_nested);
	suite_add_tcase(s, tc);
	return s;
}
