/*
 * json_check.h — is this text one JSON value (RFC 8259), strictly?
 *
 * The targets pass every JSON document connscope writes through it, so a
 * writer that emits nan, inf, a raw control character or an unclosed
 * bracket for some input is a finding, not a silent broken report.
 */
#ifndef CS_TESTS_FUZZ_JSON_CHECK_H
#define CS_TESTS_FUZZ_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/* True if text[0..len) is one JSON value with optional whitespace around
 * it; otherwise false, with *where set to the offset of the first error. */
bool json_check(const char *text, size_t len, size_t *where);

/* Aborts (a finding) with the offending text if it is not JSON. */
void json_require(const char *what, const char *text, size_t len);

#endif /* CS_TESTS_FUZZ_JSON_CHECK_H */
