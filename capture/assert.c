/*
 * assert.c — what a failed CS_ASSERT does (capture/assert.h).
 */
#include "capture/assert.h"

#include <stdio.h>
#include <stdlib.h>

void cs_assert_fail(const char *file, int line, const char *func,
		    const char *cond)
{
	fprintf(stderr, "connscope: %s:%d: %s: assertion failed: %s\n",
		file, line, func, cond);
	fflush(stderr);
	abort();
}
