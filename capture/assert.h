/*
 * assert.h — CS_ASSERT, for the invariants the code relies on.
 *
 * An assertion states something the program itself guarantees (a count
 * that cannot pass its table, a cursor whose captured bytes never exceed
 * the bytes on the wire): if it fails, connscope has a bug.  It is never a
 * check on input -- bytes from the wire or a file, options, HTTP requests
 * get error handling, because a hostile packet must not stop the capture.
 *
 * Active when the build defines CS_ASSERTS to a non-zero value: the
 * Makefile does so for `make ASSERTS=1` and for its asan, tsan and fuzz
 * builds, where a broken invariant should stop the run at the spot rather
 * than show up later as a wrong figure.  The default build (-O2 -g, what
 * `make install` installs) leaves them out.  NDEBUG is not consulted: users
 * own CFLAGS, and the choice should not change with them.  Compiled out,
 * the condition is still type-checked but never evaluated, so it must have
 * no side effect.
 *
 * Lowest layer (capture/): anything may include it.
 */
#ifndef CS_CAPTURE_ASSERT_H
#define CS_CAPTURE_ASSERT_H

/* Prints "connscope: FILE:LINE: FUNC: assertion failed: COND" on stderr,
 * then aborts (a core or the sanitizer's stack shows how it got there). */
_Noreturn void cs_assert_fail(const char *file, int line, const char *func,
			      const char *cond);

#if defined(CS_ASSERTS) && CS_ASSERTS
#define CS_ASSERT(cond) \
	((cond) ? (void)0 : cs_assert_fail(__FILE__, __LINE__, __func__, #cond))
#else
#define CS_ASSERT(cond) ((void)sizeof(!(cond)))
#endif

#endif /* CS_CAPTURE_ASSERT_H */
