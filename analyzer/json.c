/*
 * json.c — streaming JSON writer.
 *
 * A JSON stream has one writer thread (the report's file, or a web
 * request's own memory stream), so it writes with stdio's _unlocked calls:
 * a report makes millions of them, and the lock was a good part of each.
 */
#include "analyzer/json.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

void cs_json_init(struct cs_json *j, FILE *f, int pretty_depth)
{
	memset(j, 0, sizeof *j);
	j->f = f;
	j->pretty_depth = pretty_depth;
}

static void newline(struct cs_json *j, int depth)
{
	fputc_unlocked('\n', j->f);
	for (int i = 0; i < depth; i++)
		fputs_unlocked("  ", j->f);
}

/* Separates a new element from the one before, unless it follows a key. */
static void before_value(struct cs_json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth == 0)
		return;
	if (j->has_items[j->depth])
		fputc_unlocked(',', j->f);
	j->has_items[j->depth] = true;
	if (j->depth <= j->pretty_depth)
		newline(j, j->depth);
}

static void open_container(struct cs_json *j, char c)
{
	before_value(j);
	fputc_unlocked(c, j->f);
	if (j->depth + 1 < CS_JSON_MAX_DEPTH)
		j->depth++;
	j->has_items[j->depth] = false;
}

static void close_container(struct cs_json *j, char c)
{
	bool had = j->has_items[j->depth];
	if (j->depth > 0)
		j->depth--;
	if (had && j->depth + 1 <= j->pretty_depth)
		newline(j, j->depth);
	fputc_unlocked(c, j->f);
}

void cs_json_obj_begin(struct cs_json *j) { open_container(j, '{'); }
void cs_json_obj_end(struct cs_json *j) { close_container(j, '}'); }
void cs_json_arr_begin(struct cs_json *j) { open_container(j, '['); }
void cs_json_arr_end(struct cs_json *j) { close_container(j, ']'); }

void cs_json_key(struct cs_json *j, const char *key)
{
	before_value(j);
	fputc_unlocked('"', j->f);
	cs_json_escape(j->f, key, strlen(key));
	fputs_unlocked("\":", j->f);
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

/* Bytes that go out as they are: printable ASCII but for the escaped. */
static bool plain_byte(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '<' &&
	       c != '>' && c != '&';
}

/*
 * Runs of bytes that need no escaping leave in one fwrite: a call per
 * byte was most of the JSON report's cost (a report has millions of keys).
 */
void cs_json_escape(FILE *out, const char *str, size_t n)
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
			fwrite_unlocked(s + i, 1, run - i, out);
			i = run;
			continue;
		}
		unsigned char c = s[i++];
		switch (c) {
		case '"':  fputs_unlocked("\\\"", out); break;
		case '\\': fputs_unlocked("\\\\", out); break;
		case '\n': fputs_unlocked("\\n", out); break;
		case '\r': fputs_unlocked("\\r", out); break;
		case '\t': fputs_unlocked("\\t", out); break;
		default:
			if (c >= 0x80)		/* not valid UTF-8 */
				fputs_unlocked("\\ufffd", out);
			else			/* controls, and <>& for <script> */
				fprintf(out, "\\u%04x", c);
			break;
		}
	}
}

void cs_json_strn(struct cs_json *j, const char *s, size_t n)
{
	before_value(j);
	fputc_unlocked('"', j->f);
	cs_json_escape(j->f, s, n);
	fputc_unlocked('"', j->f);
}

void cs_json_str(struct cs_json *j, const char *s)
{
	if (!s) {
		cs_json_null(j);
		return;
	}
	cs_json_strn(j, s, strlen(s));
}

/* v in decimal, without printf's machinery (the report's most common
 * value). */
static void put_u64(FILE *f, uint64_t v)
{
	char buf[20];
	size_t i = sizeof buf;

	do {
		buf[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	fwrite_unlocked(buf + i, 1, sizeof buf - i, f);
}

void cs_json_u64(struct cs_json *j, uint64_t v)
{
	before_value(j);
	put_u64(j->f, v);
}

void cs_json_i64(struct cs_json *j, int64_t v)
{
	before_value(j);
	fprintf(j->f, "%" PRId64, v);
}

void cs_json_bool(struct cs_json *j, bool v)
{
	before_value(j);
	fputs_unlocked(v ? "true" : "false", j->f);
}

void cs_json_null(struct cs_json *j)
{
	before_value(j);
	fputs_unlocked("null", j->f);
}

void cs_json_usec(struct cs_json *j, uint64_t us)
{
	char frac[7];
	uint64_t f = us % 1000000u;

	before_value(j);
	put_u64(j->f, us / 1000000u);
	frac[0] = '.';
	for (int i = 6; i >= 1; i--, f /= 10)
		frac[i] = (char)('0' + f % 10);
	fwrite_unlocked(frac, 1, sizeof frac, j->f);
}

void cs_json_double(struct cs_json *j, double v, int decimals)
{
	if (!isfinite(v)) {
		cs_json_null(j);
		return;
	}
	before_value(j);
	fprintf(j->f, "%.*f", decimals, v);
}

void cs_json_kv_str(struct cs_json *j, const char *key, const char *s)
{
	cs_json_key(j, key);
	cs_json_str(j, s);
}

void cs_json_kv_u64(struct cs_json *j, const char *key, uint64_t v)
{
	cs_json_key(j, key);
	cs_json_u64(j, v);
}

void cs_json_kv_usec(struct cs_json *j, const char *key, uint64_t us)
{
	cs_json_key(j, key);
	cs_json_usec(j, us);
}

void cs_json_kv_usec_or_null(struct cs_json *j, const char *key, bool have,
			     uint64_t us)
{
	cs_json_key(j, key);
	if (have)
		cs_json_usec(j, us);
	else
		cs_json_null(j);
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
