/*
 * aside.c — quiet records set aside: entries in memory, records in a
 * temporary file written and read a chunk at a time.
 *
 * A record goes into the chunk being filled, which is held in memory and
 * written whole, with one call, once full; the next chunk filled is the
 * one most recently emptied (no record of it left aside), so the file
 * stays about as large as the records aside.  Records go aside in the
 * order they fell quiet, which is the order they expire in: the expiry
 * reads a chunk at a time too, and keeps a few.  One call per record
 * instead would cost a quarter more time on a busy capture.
 */
#include "analyzer/tracking/aside.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/assert.h"

#define RECORD_BYTES ((off_t)sizeof(struct cs_conn))
#define CHUNK_RECORDS CS_ASIDE_CHUNK_RECORDS
#define CHUNK_BYTES ((size_t)CHUNK_RECORDS * sizeof(struct cs_conn))
#define NONE UINT32_MAX
/* A place in the file fits the entry's 30 bits. */
#define CHUNKS_MAX ((1u << 30) / CHUNK_RECORDS)

_Static_assert(CHUNK_RECORDS <= UINT16_MAX, "live[] counts a chunk in 16 bits");

int cs_aside_init(struct cs_aside *s, uint32_t cap)
{
	memset(s, 0, sizeof *s);
	/* Twice the chunks the records could fill: chunks part-emptied in
	 * any order still leave free ones.  When none is left, a record
	 * stays in memory. */
	s->chunks = cap / CHUNK_RECORDS * 2 + 2;
	if (s->chunks > CHUNKS_MAX)
		s->chunks = CHUNKS_MAX;
	/* Pages of these arrays are touched only as they are first used. */
	s->entries = calloc((size_t)cap + 1, sizeof *s->entries);
	s->live = calloc(s->chunks, sizeof *s->live);
	s->free_chunks = calloc(s->chunks, sizeof *s->free_chunks);
	s->fill_buf = malloc(CHUNK_BYTES);
	s->cache = malloc(CS_ASIDE_CACHE_CHUNKS * CHUNK_BYTES);
	s->one = malloc(sizeof *s->one);
	/* Unlinked at once (tmpfile): nothing is left behind, however the
	 * run ends. */
	s->file = tmpfile();
	if (!s->entries || !s->live || !s->free_chunks || !s->fill_buf ||
	    !s->cache || !s->one || !s->file) {
		cs_aside_fini(s);
		return -1;
	}
	s->cap = cap;
	s->never_used = 1;
	s->chunks_used = 1;	/* chunk 0 is the first filled */
	s->one_at = NONE;
	for (uint32_t k = 0; k < CS_ASIDE_CACHE_CHUNKS; k++)
		s->cache_chunk[k] = NONE;
	return 0;
}

void cs_aside_fini(struct cs_aside *s)
{
	free(s->entries);
	free(s->live);
	free(s->free_chunks);
	free(s->fill_buf);
	free(s->cache);
	free(s->one);
	free(s->batch);
	free(s->batch_i);
	if (s->file)
		fclose(s->file);
	memset(s, 0, sizeof *s);
}

/* ---- the file ------------------------------------------------------------ */

/* All n bytes at offset at, through interruptions and short transfers. */
static bool write_all(int fd, const void *buf, size_t n, off_t at)
{
	const char *p = buf;

	while (n) {
		ssize_t k = pwrite(fd, p, n, at);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
		at += k;
	}
	return true;
}

static void read_all(struct cs_aside *s, void *buf, size_t n, off_t at)
{
	char *p = buf;

	s->read_cnt++;
	while (n) {
		ssize_t k = pread(fileno(s->file), p, n, at);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			/* Only a failing disk gets here: everything read was
			 * written whole. */
			fprintf(stderr, "connscope: cannot read a connection back "
				"from its temporary file: %s\n",
				k ? strerror(errno) : "the file is short");
			abort();
		}
		p += k;
		n -= (size_t)k;
		at += k;
	}
}

static off_t chunk_offset(uint32_t chunk)
{
	return (off_t)chunk * (off_t)CHUNK_BYTES;
}

/* ---- chunks -------------------------------------------------------------- */

/* Forgets what was read of a chunk about to be filled again. */
static void forget_chunk(struct cs_aside *s, uint32_t chunk)
{
	for (uint32_t k = 0; k < CS_ASIDE_CACHE_CHUNKS; k++)
		if (s->cache_chunk[k] == chunk)
			s->cache_chunk[k] = NONE;
	if (s->one_at != NONE && s->one_at / CHUNK_RECORDS == chunk)
		s->one_at = NONE;
}

/* The chunk being filled is full: write it and start another.  False
 * when either fails; the full chunk stays in memory, readable, and the
 * next record tries again. */
static bool next_chunk(struct cs_aside *s)
{
	if (!s->fill_written) {
		if (!write_all(fileno(s->file), s->fill_buf, CHUNK_BYTES,
			       chunk_offset(s->fill)))
			return false;
		s->write_cnt++;
		s->fill_written = true;
	}
	uint32_t next;
	if (s->free_cnt)
		next = s->free_chunks[--s->free_cnt];
	else if (s->chunks_used < s->chunks)
		next = s->chunks_used++;
	else
		return false;
	if (!s->live[s->fill])	/* all taken back while it filled */
		s->free_chunks[s->free_cnt++] = s->fill;
	forget_chunk(s, next);
	s->fill = next;
	s->fill_n = 0;
	s->fill_written = false;
	return true;
}

/* One record of a chunk left the file: an empty chunk can be filled
 * again (the one being filled is freed when it is left). */
static void chunk_lose(struct cs_aside *s, uint32_t chunk)
{
	CS_ASSERT(s->live[chunk] > 0);
	if (!--s->live[chunk] && chunk != s->fill)
		s->free_chunks[s->free_cnt++] = chunk;
}

/* ---- entries ------------------------------------------------------------- */

static uint32_t take_entry(struct cs_aside *s)
{
	if (s->free_head) {
		uint32_t i = s->free_head;
		s->free_head = s->entries[i].lru_next;
		return i;
	}
	if (s->never_used > s->cap)
		return 0;	/* cannot happen: the table holds at most cap */
	return s->never_used++;
}

static void give_back(struct cs_aside *s, uint32_t i)
{
	s->entries[i].lru_next = s->free_head;
	s->free_head = i;
}

uint32_t cs_aside_put(struct cs_aside *s, const struct cs_conn *c, uint32_t hash)
{
	/* A full disk keeps the record in memory: it costs room, not answers. */
	if (s->fill_n == CHUNK_RECORDS && !next_chunk(s))
		return 0;
	uint32_t i = take_entry(s);
	if (!i)
		return 0;
	uint32_t at = s->fill * CHUNK_RECORDS + s->fill_n;
	s->fill_buf[s->fill_n++] = *c;
	s->live[s->fill]++;
	s->entries[i] = (struct cs_aside_entry){
		.last_ts_us = c->last_ts_us, .id = c->id, .hash = hash, .at = at,
	};
	s->count++;
	s->put_cnt++;
	return i;
}

/* The record at place `at` in the file, wherever it is now: the chunk
 * being filled, a chunk kept, the one record kept, or the file (its whole
 * chunk with ahead, else just it). */
static const struct cs_conn *record_at(struct cs_aside *s, uint32_t at, bool ahead)
{
	uint32_t chunk = at / CHUNK_RECORDS, k = at % CHUNK_RECORDS;

	if (chunk == s->fill)
		return &s->fill_buf[k];
	for (uint32_t c = 0; c < CS_ASIDE_CACHE_CHUNKS; c++)
		if (s->cache_chunk[c] == chunk)
			return &s->cache[c * CHUNK_RECORDS + k];
	if (s->one_at == at)
		return s->one;
	if (!ahead) {
		read_all(s, s->one, sizeof *s->one, (off_t)at * RECORD_BYTES);
		s->one_at = at;
		return s->one;
	}
	uint32_t c = s->cache_next;
	s->cache_next = (c + 1) % CS_ASIDE_CACHE_CHUNKS;
	s->cache_chunk[c] = NONE;	/* (until it is read) */
	read_all(s, &s->cache[c * CHUNK_RECORDS], CHUNK_BYTES, chunk_offset(chunk));
	s->cache_chunk[c] = chunk;
	return &s->cache[c * CHUNK_RECORDS + k];
}

bool cs_aside_key_is(struct cs_aside *s, uint32_t i, const struct cs_flow_key *k)
{
	const struct cs_conn *c = record_at(s, s->entries[i].at, false);

	return memcmp(&c->key, k, sizeof *k) == 0;
}

void cs_aside_take(struct cs_aside *s, uint32_t i, struct cs_conn *out,
		   bool ahead)
{
	uint32_t at = s->entries[i].at;

	if (s->batch_next < s->batch_n && s->batch_i[s->batch_next] == i)
		*out = s->batch[s->batch_next++];
	else
		*out = *record_at(s, at, ahead);
	if (s->one_at == at)
		s->one_at = NONE;
	chunk_lose(s, at / CHUNK_RECORDS);
	give_back(s, i);
	s->count--;
}

/* ---- reading for the flush ------------------------------------------------ */

struct place {
	uint32_t at;		/* in the file */
	uint32_t slot;		/* in the batch */
};

static int by_place(const void *a, const void *b)
{
	uint32_t x = ((const struct place *)a)->at, y = ((const struct place *)b)->at;
	return x < y ? -1 : x > y;
}

/* Reads places p[0..n), all in one chunk and in order, with one call
 * (the records between them come along), into their batch slots. */
static void read_run(struct cs_aside *s, const struct place *p, uint32_t n)
{
	uint32_t chunk = p[0].at / CHUNK_RECORDS;

	if (chunk == s->fill) {		/* not written yet */
		for (uint32_t k = 0; k < n; k++)
			s->batch[p[k].slot] = s->fill_buf[p[k].at % CHUNK_RECORDS];
		return;
	}
	uint32_t first = p[0].at, span = p[n - 1].at - first + 1;
	read_all(s, s->cache, span * sizeof *s->cache, (off_t)first * RECORD_BYTES);
	for (uint32_t k = 0; k < n; k++)
		s->batch[p[k].slot] = s->cache[p[k].at - first];
	/* (the chunks kept were overwritten) */
	for (uint32_t c = 0; c < CS_ASIDE_CACHE_CHUNKS; c++)
		s->cache_chunk[c] = NONE;
}

void cs_aside_read_batch(struct cs_aside *s, const uint32_t *idx, uint32_t n)
{
	struct place *p = malloc((size_t)n * sizeof *p);

	s->batch_n = s->batch_next = 0;
	if (!s->batch)
		s->batch = malloc(CS_ASIDE_BATCH_MAX * sizeof *s->batch);
	if (!s->batch_i)
		s->batch_i = malloc(CS_ASIDE_BATCH_MAX * sizeof *s->batch_i);
	if (!p || !s->batch || !s->batch_i || n > CS_ASIDE_BATCH_MAX) {
		free(p);
		return;		/* each is read when taken */
	}
	for (uint32_t k = 0; k < n; k++)
		p[k] = (struct place){ .at = s->entries[idx[k]].at, .slot = k };
	qsort(p, n, sizeof *p, by_place);
	for (uint32_t k = 0, end; k < n; k = end) {
		for (end = k + 1; end < n && p[end].at / CHUNK_RECORDS ==
					      p[k].at / CHUNK_RECORDS; end++)
			;
		read_run(s, p + k, end - k);
	}
	memcpy(s->batch_i, idx, (size_t)n * sizeof *idx);
	s->batch_n = n;
	free(p);
}
