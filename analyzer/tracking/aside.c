/*
 * aside.c — quiet records set aside: entries, and the records packed in
 * memory (aside.h).
 *
 * Packed records take 8-byte units in pages of 1 MiB; a record's block
 * is named by its first unit (28 bits of the entry: up to 2 GiB).  A
 * block given back goes on the list of its size.  A record takes a block
 * of its own size if one was given back, else the front of the smallest
 * larger one (the rest goes on the list of its size), and only then new
 * units: the sizes records pack to shift as a capture goes on (busy
 * connections closing, then a SYN flood), and blocks kept for one size
 * alone left LARGE with 53 MiB of pages for 44 MiB of records at its
 * end (tests/bench/PROFILE.md).  Blocks are sized from what packing
 * returned, and found again on the way back from what unpacking read:
 * the entry need not hold a length.
 *
 * Unpacking reads up to CS_PACK_SLACK bytes past a record (pack.h): the
 * last unit of each page is never handed out, so those bytes are always
 * in the page, and pages are zeroed when made, so they are never
 * undefined either.
 */
#include "analyzer/tracking/aside.h"

#include <stdlib.h>
#include <string.h>

#include "analyzer/tracking/pack.h"
#include "analyzer/tracking/written.h"
#include "capture/assert.h"

#define UNIT 8u
#define PAGE_UNITS 131072u		/* 1 MiB */
#define PAGES_MAX ((1u << 28) / PAGE_UNITS)
#define BLOCK_UNITS_MAX ((CS_PACK_MAX + UNIT - 1) / UNIT)
#define SIZE_WORDS 2		/* of struct cs_aside's sizes_free */
_Static_assert(BLOCK_UNITS_MAX < SIZE_WORDS * 64, "sizes fit the bits");
_Static_assert(CS_PACK_SLACK <= UNIT, "a page's last unit is the slack");

static uint32_t units_for(size_t bytes)
{
	return (uint32_t)((bytes + UNIT - 1) / UNIT);
}

int cs_aside_init(struct cs_aside *s, uint32_t cap)
{
	memset(s, 0, sizeof *s);
	/* Pages of this array are touched only as they are first used. */
	s->entries = calloc((size_t)cap + 1, sizeof *s->entries);
	s->free_blocks = calloc(BLOCK_UNITS_MAX + 1, sizeof *s->free_blocks);
	s->dict = malloc(sizeof *s->dict);
	if (!s->entries || !s->free_blocks || !s->dict) {
		cs_aside_fini(s);
		return -1;
	}
	cs_pack_dict_init(s->dict);
	s->cap = cap;
	s->never_used = 1;
	s->fill_at = 1;		/* unit 0 is "no block" */
	return 0;
}

void cs_aside_fini(struct cs_aside *s)
{
	for (uint32_t p = 0; p < s->pages_used; p++)
		free(s->pages[p]);
	free(s->pages);
	free(s->entries);
	free(s->free_blocks);
	free(s->dict);
	memset(s, 0, sizeof *s);
}

void cs_aside_clear(struct cs_aside *s)
{
	for (uint32_t p = 0; p < s->pages_used; p++)
		free(s->pages[p]);
	s->pages_used = 0;
	s->fill_at = 1;
	memset(s->free_blocks, 0, (BLOCK_UNITS_MAX + 1) * sizeof *s->free_blocks);
	memset(s->sizes_free, 0, sizeof s->sizes_free);
	s->never_used = 1;	/* each entry is written whole when handed out */
	s->free_head = 0;
	s->count = 0;
	s->packed_bytes = 0;
}

/* ---- blocks --------------------------------------------------------------- */

static uint8_t *block_bytes(const struct cs_aside *s, uint32_t at)
{
	return s->pages[at / PAGE_UNITS] + (size_t)(at % PAGE_UNITS) * UNIT;
}

/* A new page for fill_at, when the block would not fit in the one it is
 * in before its last unit (the rest of that page stays unused: at most a
 * block's size). */
static bool room_for(struct cs_aside *s, uint32_t units)
{
	uint32_t page = s->fill_at / PAGE_UNITS;

	if (s->fill_at % PAGE_UNITS + units > PAGE_UNITS - 1) {
		page++;
		s->fill_at = page * PAGE_UNITS;
	}
	if (page < s->pages_used)
		return true;
	if (page >= PAGES_MAX)
		return false;
	if (page >= s->pages_cap) {
		uint32_t cap = s->pages_cap ? s->pages_cap * 2 : 64;
		uint8_t **pages = realloc(s->pages, cap * sizeof *pages);
		if (!pages)
			return false;
		s->pages = pages;
		s->pages_cap = cap;
	}
	s->pages[page] = calloc(PAGE_UNITS, UNIT);
	if (!s->pages[page])
		return false;
	cs_written_all(s->pages[page], (size_t)PAGE_UNITS * UNIT);	/* filled in order */
	s->pages_used = page + 1;
	return true;
}

/* Notes whether any block of `units` is given back. */
static void note_size(struct cs_aside *s, uint32_t units, bool any)
{
	uint64_t bit = 1ull << (units % 64);

	s->sizes_free[units / 64] = any ? s->sizes_free[units / 64] | bit
					: s->sizes_free[units / 64] & ~bit;
}

/* The first block of the list of `units` (not empty), off the list. */
static uint32_t pop_block(struct cs_aside *s, uint32_t units)
{
	uint32_t at = s->free_blocks[units];

	memcpy(&s->free_blocks[units], block_bytes(s, at), sizeof at);
	if (!s->free_blocks[units])
		note_size(s, units, false);
	return at;
}

static void block_give_back(struct cs_aside *s, uint32_t at, uint32_t units)
{
	memcpy(block_bytes(s, at), &s->free_blocks[units], sizeof at);
	s->free_blocks[units] = at;
	note_size(s, units, true);
}

/* The smallest size above `units` with a block given back; 0 if none. */
static uint32_t larger_free(const struct cs_aside *s, uint32_t units)
{
	for (uint32_t w = (units + 1) / 64; w < SIZE_WORDS; w++) {
		uint64_t m = s->sizes_free[w];
		if (w == (units + 1) / 64)
			m &= ~0ull << ((units + 1) % 64);
		if (m)
			return w * 64 + (uint32_t)__builtin_ctzll(m);
	}
	return 0;
}

/* A block of `units`, the best fit of those given back first; 0 without
 * the memory for one. */
static uint32_t block_take(struct cs_aside *s, uint32_t units)
{
	if (s->free_blocks[units])
		return pop_block(s, units);
	uint32_t larger = larger_free(s, units);
	if (larger) {
		uint32_t at = pop_block(s, larger);
		block_give_back(s, at + units, larger - units);
		return at;
	}
	if (!room_for(s, units))
		return 0;
	uint32_t at = s->fill_at;
	s->fill_at += units;
	return at;
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
	s->entries[i].at = 0;	/* free: cs_aside_in_use */
	s->entries[i].lru_next = s->free_head;
	s->free_head = i;
}

uint32_t cs_aside_put(struct cs_aside *s, const struct cs_conn *c, uint32_t hash)
{
	uint8_t packed[CS_PACK_MAX];
	size_t n = cs_conn_pack(s->dict, 0, c, packed);

	return cs_aside_put_packed(s, packed, n, c->last_ts_us, hash);
}

uint32_t cs_aside_put_packed(struct cs_aside *s, const uint8_t *packed,
			     size_t n, uint64_t last_ts_us, uint32_t hash)
{
	uint32_t units = units_for(n);

	if (!s->free_head && s->never_used > s->cap)
		return 0;
	uint32_t at = block_take(s, units);
	if (!at)
		return 0;	/* no memory: the record stays whole */
	memcpy(block_bytes(s, at), packed, n);
	uint32_t i = take_entry(s);
	s->entries[i] = (struct cs_aside_entry){
		.last_ts_us = last_ts_us, .hash = hash, .at = at,
	};
	s->count++;
	s->put_cnt++;
	s->packed_bytes += (uint64_t)units * UNIT;
	return i;
}

void cs_aside_prefetch(const struct cs_aside *s, uint32_t i)
{
	const uint8_t *b = block_bytes(s, s->entries[i].at);

	__builtin_prefetch(b);
	__builtin_prefetch(b + 64);	/* most are 1 or 2 cache lines */
}

uint64_t cs_aside_id(const struct cs_aside *s, uint32_t i)
{
	return cs_conn_unpack_id(s->dict, block_bytes(s, s->entries[i].at));
}

void cs_aside_read(const struct cs_aside *s, uint32_t i, size_t offset,
		   size_t len, void *out)
{
	cs_conn_unpack_bytes(s->dict, block_bytes(s, s->entries[i].at), offset,
			     len, out);
}

bool cs_aside_key_is(struct cs_aside *s, uint32_t i, const struct cs_flow_key *k)
{
	struct cs_flow_key key;

	cs_conn_unpack_key(s->dict, block_bytes(s, s->entries[i].at), &key);
	return memcmp(&key, k, sizeof *k) == 0;
}

/* Returns the packed bytes it read. */
static size_t unpack_entry(const struct cs_aside *s, uint32_t i,
			   struct cs_conn *out)
{
	const struct cs_aside_entry *e = &s->entries[i];

	return cs_conn_unpack(s->dict, block_bytes(s, e->at), e->last_ts_us, out);
}

void cs_aside_unpack(const struct cs_aside *s, uint32_t i, struct cs_conn *out)
{
	unpack_entry(s, i, out);
}

void cs_aside_take(struct cs_aside *s, uint32_t i, struct cs_conn *out)
{
	uint32_t at = s->entries[i].at;
	uint32_t units = units_for(unpack_entry(s, i, out));

	block_give_back(s, at, units);
	s->packed_bytes -= (uint64_t)units * UNIT;
	give_back(s, i);
	s->count--;
}
