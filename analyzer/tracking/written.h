/*
 * written.h — which pages of a zeroed table have ever been written.
 *
 * A table from calloc is, page by page, memory the kernel maps on first
 * touch.  A hash table's first touch of a page is nearly always a read
 * (the probe of an empty slot): the kernel maps its shared zero page, and
 * the first write then takes a second fault that replaces it and must
 * flush that mapping from every core the process runs on (an
 * inter-processor interrupt to the other thread's core).  On SMALL those
 * second faults were 9% of the analysing thread's samples (perf record
 * --call-graph dwarf, under do_wp_page).
 *
 * So a table keeps one bit per 4 KiB of its bytes, set when it writes
 * there.  A page whose bit is clear was never written and holds zeros:
 * a lookup need not read it to know its slots are empty, and the first
 * touch of every page is the write.  (A page of the system larger than
 * 4 KiB only makes the bits finer than it: a clear bit still means zeros.)
 */
#ifndef CS_ANALYZER_WRITTEN_H
#define CS_ANALYZER_WRITTEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define CS_WRITTEN_PAGE 4096u

/* The bitmap's words for a table of `bytes`. */
static inline size_t cs_written_words(size_t bytes)
{
	size_t pages = (bytes + CS_WRITTEN_PAGE - 1) / CS_WRITTEN_PAGE;

	return (pages + 63) / 64;
}

/* A zeroed table of n entries of `size` bytes and, in *written, its bitmap
 * with no page written; NULL (and *written NULL) without the memory.
 * free() releases each. */
static inline void *cs_written_calloc(size_t n, size_t size, uint64_t **written)
{
	void *table = calloc(n, size);

	*written = calloc(cs_written_words(n * size), sizeof(uint64_t));
	if (table && *written)
		return table;
	free(table);
	free(*written);
	*written = NULL;
	return NULL;
}

/* Whether the byte at `offset` of the table may be other than zero. */
static inline bool cs_written_at(const uint64_t *w, size_t offset)
{
	size_t page = offset / CS_WRITTEN_PAGE;

	return w[page / 64] >> (page % 64) & 1;
}

/* The table is about to be written from `offset` for `len` bytes (len > 0). */
static inline void cs_written_mark(uint64_t *w, size_t offset, size_t len)
{
	for (size_t page = offset / CS_WRITTEN_PAGE;
	     page <= (offset + len - 1) / CS_WRITTEN_PAGE; page++)
		w[page / 64] |= 1ull << (page % 64);
}

/* A copy of a table of `bytes` and its bitmap, into dst (from calloc, of
 * the same size) and dst_w: the pages written in src only, so that
 * copying reads no page of src that was never touched. */
static inline void cs_written_copy(void *dst, uint64_t *dst_w, const void *src,
				   const uint64_t *src_w, size_t bytes)
{
	memcpy(dst_w, src_w, cs_written_words(bytes) * sizeof(uint64_t));
	for (size_t at = 0; at < bytes; at += CS_WRITTEN_PAGE) {
		if (!cs_written_at(src_w, at))
			continue;
		size_t n = bytes - at < CS_WRITTEN_PAGE ? bytes - at : CS_WRITTEN_PAGE;
		memcpy((char *)dst + at, (const char *)src + at, n);
	}
}

/*
 * Every whole page of a new zeroed table of `bytes` made present and
 * writable in one call, for a table about to be written all over (the
 * flow index as it grows, the pages of packed records): the kernel does
 * in one pass what a fault per page did.  A hint: where the kernel cannot
 * (before Linux 5.14) the pages come a fault at a time as before.
 */
static inline void cs_written_all(void *table, size_t bytes)
{
	uintptr_t from = ((uintptr_t)table + CS_WRITTEN_PAGE - 1) & ~(uintptr_t)(CS_WRITTEN_PAGE - 1);
	uintptr_t to = ((uintptr_t)table + bytes) & ~(uintptr_t)(CS_WRITTEN_PAGE - 1);

#ifdef MADV_POPULATE_WRITE	/* (headers from before it: nothing to do) */
	if (to > from)
		(void)madvise((void *)from, to - from, MADV_POPULATE_WRITE);
#else
	(void)from;
	(void)to;
#endif
}

#endif /* CS_ANALYZER_WRITTEN_H */
