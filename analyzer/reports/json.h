/*
 * json.h — a small streaming JSON writer.
 *
 * Writes straight to a FILE (a file, stdout, or open_memstream for the web
 * layer), so a report with a million connections never sits in memory.
 * Strings are escaped for JSON and for embedding in HTML (<, >, & as \u
 * escapes), and invalid UTF-8 from the wire becomes U+FFFD, so the output
 * always parses.  Nesting is tracked so callers never place commas.
 */
#ifndef CS_ANALYZER_JSON_H
#define CS_ANALYZER_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define CS_JSON_MAX_DEPTH 32

struct cs_json {
	FILE *f;
	char buf[4096];		/* written to f when full or a top value ends */
	size_t len;
	int depth;
	int pretty_depth;	/* elements this deep or less start a new line */
	bool after_key;
	bool has_items[CS_JSON_MAX_DEPTH];
};

/* pretty_depth 0: everything on one line; 2: one line per element of a
 * top-level array (one connection per line), which keeps reports greppable. */
void cs_json_init(struct cs_json *j, FILE *f, int pretty_depth);

void cs_json_obj_begin(struct cs_json *j);
void cs_json_obj_end(struct cs_json *j);
void cs_json_arr_begin(struct cs_json *j);
void cs_json_arr_end(struct cs_json *j);
/* A key of n bytes.  cs_json_key and the kv calls below take the length
 * where they are called: the keys are nearly all literals, whose length
 * the compiler knows (a strlen a key was 7% of the --json writer). */
void cs_json_key_slow(struct cs_json *j, const char *key, size_t n);
/*
 * Inline for the usual key: one after another member of an object that
 * is written on one line, with room in the buffer -- then, with n known
 * where it is called, a comma, the key and its quotes are a few stores.
 * As a call (with a call to memcpy), keys took a third of the --json
 * writer's instructions (tests/bench/PROFILE.md).
 */
static inline void cs_json_key_n(struct cs_json *j, const char *key, size_t n)
{
	int d = j->depth;

	if (!j->after_key && d > 0 && d > j->pretty_depth && j->has_items[d] &&
	    n + 4 <= sizeof j->buf - j->len) {
		char *p = j->buf + j->len;
		p[0] = ',';
		p[1] = '"';
		memcpy(p + 2, key, n);
		p[n + 2] = '"';
		p[n + 3] = ':';
		j->len += n + 4;
		j->after_key = true;
		return;
	}
	cs_json_key_slow(j, key, n);
}
static inline void cs_json_key(struct cs_json *j, const char *key)
{
	cs_json_key_n(j, key, strlen(key));
}

void cs_json_str(struct cs_json *j, const char *s);	/* NULL writes null */
void cs_json_strn(struct cs_json *j, const char *s, size_t n);
/* A string the program made itself, that needs no escaping -- a name from
 * its own tables, an address it formatted, a Zeek history -- written as
 * it is (in builds with assertions, each byte is checked); NULL writes
 * null.  A connection row has a dozen: escaping them byte by byte was a
 * fifth of the --json writer's instructions. */
void cs_json_plain(struct cs_json *j, const char *s);
/* A value written already, as n bytes of JSON text (by another cs_json,
 * on one line), placed as the next value here. */
void cs_json_raw(struct cs_json *j, const char *text, size_t n);
void cs_json_u64(struct cs_json *j, uint64_t v);
void cs_json_i64(struct cs_json *j, int64_t v);
void cs_json_bool(struct cs_json *j, bool v);
void cs_json_null(struct cs_json *j);
/* Microseconds as seconds with six decimals: timestamps and durations. */
void cs_json_usec(struct cs_json *j, uint64_t us);
/* A finite double with the given decimals; NaN and infinities write null. */
void cs_json_double(struct cs_json *j, double v, int decimals);

/* key + value in one call, for the common case. */
static inline void cs_json_kv_str(struct cs_json *j, const char *key,
				  const char *s)
{
	cs_json_key(j, key);
	cs_json_str(j, s);
}

static inline void cs_json_kv_plain(struct cs_json *j, const char *key,
				    const char *s)
{
	cs_json_key(j, key);
	cs_json_plain(j, s);
}

static inline void cs_json_kv_u64(struct cs_json *j, const char *key,
				  uint64_t v)
{
	cs_json_key(j, key);
	cs_json_u64(j, v);
}

static inline void cs_json_kv_usec(struct cs_json *j, const char *key,
				   uint64_t us)
{
	cs_json_key(j, key);
	cs_json_usec(j, us);
}

/* key + microseconds, or key + null when there is no such time (!have). */
static inline void cs_json_kv_usec_or_null(struct cs_json *j, const char *key,
					   bool have, uint64_t us)
{
	cs_json_key(j, key);
	if (have)
		cs_json_usec(j, us);
	else
		cs_json_null(j);
}
/* key + an object of n name: count members. */
void cs_json_kv_counts(struct cs_json *j, const char *key,
		       const char *const *names, const uint64_t *counts, int n);

/* Escapes s (n bytes) as the body of a JSON string into out. */
void cs_json_escape(FILE *out, const char *s, size_t n);

#endif /* CS_ANALYZER_JSON_H */
