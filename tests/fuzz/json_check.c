/*
 * json_check.c — a strict JSON validator for the fuzz targets.
 */
#include "tests/fuzz/json_check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEPTH_MAX 64	/* connscope's documents nest a few levels */

struct cur {
	const char *p;
	size_t left;
};

static int peek(const struct cur *c)
{
	return c->left ? (unsigned char)*c->p : -1;
}

static void skip(struct cur *c, size_t n)
{
	c->p += n;
	c->left -= n;
}

static void space(struct cur *c)
{
	while (c->left && strchr(" \t\n\r", *c->p) && *c->p)
		skip(c, 1);
}

static bool literal(struct cur *c, const char *word)
{
	size_t n = strlen(word);

	if (c->left < n || memcmp(c->p, word, n))
		return false;
	skip(c, n);
	return true;
}

static bool digits(struct cur *c)
{
	size_t n = 0;

	while (c->left && *c->p >= '0' && *c->p <= '9') {
		skip(c, 1);
		n++;
	}
	return n > 0;
}

static bool number(struct cur *c)
{
	if (peek(c) == '-')
		skip(c, 1);
	if (peek(c) == '0')
		skip(c, 1);
	else if (!digits(c))
		return false;
	if (peek(c) == '.') {
		skip(c, 1);
		if (!digits(c))
			return false;
	}
	if (peek(c) == 'e' || peek(c) == 'E') {
		skip(c, 1);
		if (peek(c) == '+' || peek(c) == '-')
			skip(c, 1);
		if (!digits(c))
			return false;
	}
	return true;
}

static bool string(struct cur *c)
{
	skip(c, 1);	/* the opening quote */
	while (c->left) {
		unsigned char ch = (unsigned char)*c->p;
		if (ch == '"') {
			skip(c, 1);
			return true;
		}
		if (ch < 0x20)
			return false;	/* control characters must be escaped */
		if (ch != '\\') {
			skip(c, 1);
			continue;
		}
		if (c->left < 2)
			return false;
		char e = c->p[1];
		if (e == 'u') {
			if (c->left < 6)
				return false;
			for (int i = 2; i < 6; i++)
				if (!strchr("0123456789abcdefABCDEF", c->p[i]) || !c->p[i])
					return false;
			skip(c, 6);
		} else if (e && strchr("\"\\/bfnrt", e)) {
			skip(c, 2);
		} else {
			return false;
		}
	}
	return false;
}

static bool value(struct cur *c, int depth);

/* Members or elements between open and close, separated by commas. */
static bool container(struct cur *c, int depth, char close, bool object)
{
	skip(c, 1);
	space(c);
	if (peek(c) == close) {
		skip(c, 1);
		return true;
	}
	for (;;) {
		space(c);
		if (object) {
			if (peek(c) != '"' || !string(c))
				return false;
			space(c);
			if (peek(c) != ':')
				return false;
			skip(c, 1);
		}
		if (!value(c, depth + 1))
			return false;
		space(c);
		if (peek(c) == close) {
			skip(c, 1);
			return true;
		}
		if (peek(c) != ',')
			return false;
		skip(c, 1);
	}
}

static bool value(struct cur *c, int depth)
{
	if (depth > DEPTH_MAX)
		return false;
	space(c);
	switch (peek(c)) {
	case '{': return container(c, depth, '}', true);
	case '[': return container(c, depth, ']', false);
	case '"': return string(c);
	case 't': return literal(c, "true");
	case 'f': return literal(c, "false");
	case 'n': return literal(c, "null");
	default: return number(c);
	}
}

bool json_check(const char *text, size_t len, size_t *where)
{
	struct cur c = { text, len };
	bool ok = value(&c, 0);

	space(&c);
	ok = ok && c.left == 0;
	*where = len - c.left;
	return ok;
}

void json_require(const char *what, const char *text, size_t len)
{
	size_t at;

	if (json_check(text, len, &at))
		return;
	size_t from = at > 60 ? at - 60 : 0;
	fprintf(stderr, "fuzz: %s is not JSON at byte %zu of %zu: ...%.*s<<HERE>>%.*s\n",
		what, at, len, (int)(at - from), text + from,
		(int)(len - at < 40 ? len - at : 40), text + at);
	abort();
}
