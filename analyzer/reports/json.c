/*
 * json.c — streaming JSON writer.
 *
 * A report makes millions of small writes (a key, a comma, a number): each
 * goes into the writer's own buffer, and the buffer to the FILE when it is
 * full and whenever a top-level value is complete, so the FILE is always
 * whole between values.  A stream has one writer thread (the report's
 * file, or a web request's own memory stream): stdio's _unlocked calls.
 */
#include "analyzer/reports/json.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "capture/assert.h"

void cs_json_init(struct cs_json *j, FILE *f, int pretty_depth)
{
	j->f = f;
	j->len = 0;
	j->depth = 0;
	j->pretty_depth = pretty_depth;
	j->after_key = false;
	memset(j->has_items, 0, sizeof j->has_items);
}

/* ---- the buffer ------------------------------------------------------------ */

static void flush(struct cs_json *j)
{
	if (j->len) {
		fwrite_unlocked(j->buf, 1, j->len, j->f);
		j->len = 0;
	}
}

/* Inline, as put_c and before_value: a connection's object is about a
 * hundred keys and values, each a few of these calls, and as calls they
 * were a fifth of the --json writer thread's instructions. */
static inline __attribute__((always_inline)) void
put(struct cs_json *j, const void *s, size_t n)
{
	if (n > sizeof j->buf - j->len) {
		flush(j);
		if (n > sizeof j->buf) {
			fwrite_unlocked(s, 1, n, j->f);
			return;
		}
	}
	memcpy(j->buf + j->len, s, n);
	j->len += n;
}

static inline __attribute__((always_inline)) void
put_c(struct cs_json *j, char c)
{
	if (j->len == sizeof j->buf)
		flush(j);
	j->buf[j->len++] = c;
}

static void put_s(struct cs_json *j, const char *s)
{
	put(j, s, strlen(s));
}

/* A value is complete: at the top level, it goes out whole. */
static void value_done(struct cs_json *j)
{
	if (j->depth == 0)
		flush(j);
}

static void newline(struct cs_json *j, int depth)
{
	put_c(j, '\n');
	for (int i = 0; i < depth; i++)
		put(j, "  ", 2);
}

/* Separates a new element from the one before, unless it follows a key. */
static inline __attribute__((always_inline)) void
before_value(struct cs_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth == 0)
		return;
	if (j->has_items[j->depth])
		put_c(j, ',');
	j->has_items[j->depth] = true;
	if (j->depth <= j->pretty_depth)
		newline(j, j->depth);
}

static void open_container(struct cs_json *j, char c)
{
	before_value(j);
	put_c(j, c);
	/* The callers' documents are fixed shapes, well within the depth. */
	CS_ASSERT(j->depth + 1 < CS_JSON_MAX_DEPTH);
	if (j->depth + 1 < CS_JSON_MAX_DEPTH)
		j->depth++;
	j->has_items[j->depth] = false;
}

static void close_container(struct cs_json *j, char c)
{
	bool had = j->has_items[j->depth];
	CS_ASSERT(j->depth > 0);	/* every end has its begin */
	if (j->depth > 0)
		j->depth--;
	if (had && j->depth + 1 <= j->pretty_depth)
		newline(j, j->depth);
	put_c(j, c);
	value_done(j);
}

void cs_json_obj_begin(struct cs_json *j) { open_container(j, '{'); }
void cs_json_obj_end(struct cs_json *j) { close_container(j, '}'); }
void cs_json_arr_begin(struct cs_json *j) { open_container(j, '['); }
void cs_json_arr_end(struct cs_json *j) { close_container(j, ']'); }

/* Keys are the program's own names (DESIGN.md's fields, figure and series
 * names), never bytes from a capture: they go out as they are. */
void cs_json_key_slow(struct cs_json *j, const char *key, size_t n)
{
	before_value(j);
	if (n + 3 <= sizeof j->buf - j->len) {	/* the usual: one check */
		char *p = j->buf + j->len;
		p[0] = '"';
		memcpy(p + 1, key, n);
		p[n + 1] = '"';
		p[n + 2] = ':';
		j->len += n + 3;
	} else {
		put_c(j, '"');
		put(j, key, n);
		put(j, "\":", 2);
	}
	j->after_key = true;
}

/* Length of the valid UTF-8 sequence at s (RFC 3629), 0 if invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		cp = c & 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		cp = c & 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		cp = c & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/* Bytes that go out as they are: printable ASCII but for the escaped.
 * A table: escape tests every byte of every string (a test per byte was
 * six comparisons). */
#define PLAIN(c) ((c) >= 0x20 && (c) < 0x7f && (c) != '"' && (c) != '\\' && \
		  (c) != '<' && (c) != '>' && (c) != '&')
#define P4(c) PLAIN(c), PLAIN(c + 1), PLAIN(c + 2), PLAIN(c + 3)
#define P16(c) P4(c), P4(c + 4), P4(c + 8), P4(c + 12)
static const bool plain_bytes[256] = {
	P16(0x00), P16(0x10), P16(0x20), P16(0x30),
	P16(0x40), P16(0x50), P16(0x60), P16(0x70),
	/* 0x80 and up: false (UTF-8 is checked apart) */
};
#undef P16
#undef P4
#undef PLAIN

static bool plain_byte(unsigned char c)
{
	return plain_bytes[c];
}

/*
 * Runs of bytes that need no escaping leave in one fwrite: a call per
 * byte was most of the JSON report's cost (a report has millions of keys).
 */
static void escape(struct cs_json *j, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < n) {
		size_t run = i;
		for (;;) {
			while (run < n && plain_byte(s[run]))
				run++;
			if (run == n || s[run] < 0x80)
				break;
			size_t len = utf8_seq_len(s + run, n - run);
			if (len == 0)
				break;
			run += len;	/* valid UTF-8 goes out as it is */
		}
		if (run > i) {
			put(j, s + i, run - i);
			i = run;
			continue;
		}
		unsigned char c = s[i++];
		char u[8];
		switch (c) {
		case '"':  put(j, "\\\"", 2); break;
		case '\\': put(j, "\\\\", 2); break;
		case '\n': put(j, "\\n", 2); break;
		case '\r': put(j, "\\r", 2); break;
		case '\t': put(j, "\\t", 2); break;
		default:
			if (c >= 0x80)		/* not valid UTF-8 */
				put(j, "\\ufffd", 6);
			else {			/* controls, and <>& for <script> */
				snprintf(u, sizeof u, "\\u%04x", c);
				put(j, u, 6);
			}
			break;
		}
	}
}

void cs_json_escape(FILE *out, const char *s, size_t n)
{
	struct cs_json j;

	cs_json_init(&j, out, 0);
	escape(&j, s, n);
	flush(&j);
}

void cs_json_strn(struct cs_json *j, const char *s, size_t n)
{
	before_value(j);
	put_c(j, '"');
	escape(j, s, n);
	put_c(j, '"');
	value_done(j);
}

void cs_json_plain(struct cs_json *j, const char *s)
{
	if (!s) {
		cs_json_null(j);
		return;
	}
	size_t n = strlen(s);
	for (size_t i = 0; i < n; i++)
		CS_ASSERT(plain_byte((unsigned char)s[i]));
	before_value(j);
	if (n + 2 <= sizeof j->buf - j->len) {
		char *p = j->buf + j->len;
		p[0] = '"';
		memcpy(p + 1, s, n);
		p[n + 1] = '"';
		j->len += n + 2;
	} else {
		put_c(j, '"');
		put(j, s, n);
		put_c(j, '"');
	}
	value_done(j);
}

void cs_json_raw(struct cs_json *j, const char *text, size_t n)
{
	before_value(j);
	put(j, text, n);
	value_done(j);
}

void cs_json_str(struct cs_json *j, const char *s)
{
	if (!s) {
		cs_json_null(j);
		return;
	}
	cs_json_strn(j, s, strlen(s));
}

/* "00" to "99": numbers are written two digits a step. */
static const char two_digits[200] =
	"000102030405060708091011121314151617181920212223242526272829"
	"303132333435363738394041424344454647484950515253545556575859"
	"606162636465666768697071727374757677787980818283848586878889"
	"90919293949596979899";

/* The last two decimal digits of v (< 100) before end. */
static char *put_two(char *end, uint64_t v)
{
	memcpy(end - 2, &two_digits[2 * v], 2);
	return end - 2;
}

/* v in decimal, without printf's machinery (the report's most common
 * value); two digits a division, as a quarter of the --json writer's
 * instructions went to this one digit at a time. */
/* The digits of v, written back from end; returns where they begin. */
static char *put_digits(char *end, uint64_t v)
{
	while (v >= 100) {
		end = put_two(end, v % 100);
		v /= 100;
	}
	if (v >= 10)
		return put_two(end, v);
	*--end = (char)('0' + v);
	return end;
}

static const uint64_t powers_of_ten[20] = {
	1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull,
	10000000ull, 100000000ull, 1000000000ull, 10000000000ull,
	100000000000ull, 1000000000000ull, 10000000000000ull,
	100000000000000ull, 1000000000000000ull, 10000000000000000ull,
	100000000000000000ull, 1000000000000000000ull,
	10000000000000000000ull,
};

/* How many decimal digits v has: from its bit length (1233/4096 is just
 * over log10(2)), one comparison to correct it. */
static size_t digit_count(uint64_t v)
{
	unsigned t = (unsigned)(64 - __builtin_clzll(v | 1)) * 1233 >> 12;

	return t + ((v | 1) >= powers_of_ten[t]);
}

/* Written in place where the buffer has room (always, but every 4 KiB):
 * through a scratch buffer, the copy was a call to memcpy a number. */
static void put_u64(struct cs_json *j, uint64_t v)
{
	size_t n = digit_count(v);

	if (n <= sizeof j->buf - j->len) {
		put_digits(j->buf + j->len + n, v);
		j->len += n;
		return;
	}
	char buf[20];
	put(j, put_digits(buf + sizeof buf, v), n);
}

void cs_json_u64(struct cs_json *j, uint64_t v)
{
	before_value(j);
	put_u64(j, v);
	value_done(j);
}

void cs_json_i64(struct cs_json *j, int64_t v)
{
	before_value(j);
	if (v < 0) {
		put_c(j, '-');
		put_u64(j, (uint64_t)0 - (uint64_t)v);
	} else {
		put_u64(j, (uint64_t)v);
	}
	value_done(j);
}

void cs_json_bool(struct cs_json *j, bool v)
{
	before_value(j);
	put_s(j, v ? "true" : "false");
	value_done(j);
}

void cs_json_null(struct cs_json *j)
{
	before_value(j);
	put(j, "null", 4);
	value_done(j);
}

void cs_json_usec(struct cs_json *j, uint64_t us)
{
	char frac[7];
	uint64_t f = us % 1000000u;

	before_value(j);
	put_u64(j, us / 1000000u);
	frac[0] = '.';
	put_two(put_two(put_two(frac + 7, f % 100), f / 100 % 100), f / 10000);
	put(j, frac, sizeof frac);
	value_done(j);
}

void cs_json_double(struct cs_json *j, double v, int decimals)
{
	if (!isfinite(v)) {
		cs_json_null(j);
		return;
	}
	char buf[352];	/* DBL_MAX with decimals up to a dozen */
	int n = snprintf(buf, sizeof buf, "%.*f", decimals < 0 ? 0 :
			 decimals > 12 ? 12 : decimals, v);
	before_value(j);
	put(j, buf, n > 0 && (size_t)n < sizeof buf ? (size_t)n : 0);
	value_done(j);
}

void cs_json_kv_counts(struct cs_json *j, const char *key,
		       const char *const *names, const uint64_t *counts, int n)
{
	cs_json_key(j, key);
	cs_json_obj_begin(j);
	for (int i = 0; i < n; i++)
		cs_json_kv_u64(j, names[i], counts[i]);
	cs_json_obj_end(j);
}
