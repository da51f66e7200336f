/*
 * groups.c — open addressing over caller-sized entries.
 *
 * A lookup probes an array of 16-bit tags, one per slot, and reads an
 * entry only where its tag matches: the entries (72 to 232 bytes) span
 * megabytes, past the cache, and the TIME_WAIT and CLOSE_WAIT tables sit
 * at their limit on a busy capture.  Probing the entries themselves took
 * two slots a lookup, each a wait on memory: the lookups were a tenth of
 * the analysing thread's time on SMALL (tests/bench/PROFILE.md).  The tag
 * array is 2 bytes a slot: 64 KiB for those tables.
 */
#include "analyzer/detectors/groups.h"

#include <stdlib.h>
#include <string.h>

#include "analyzer/detectors/distinct.h"
#include "analyzer/tracking/written.h"
#include "capture/assert.h"

void cs_groups_init(struct cs_groups *g, size_t entry_size, uint32_t capacity)
{
	memset(g, 0, sizeof *g);
	g->entry_size = entry_size;
	g->capacity = capacity;
	g->limit = capacity / 8 * 7;
}

void cs_groups_init_sparse(struct cs_groups *g, size_t entry_size,
			   uint32_t limit)
{
	uint32_t slots = 1;

	while (slots < 2 * limit)
		slots *= 2;
	cs_groups_init(g, entry_size, slots);
	g->limit = limit;
}

void cs_group_key_of(const struct cs_conn *c, int side, struct cs_group_key *k)
{
	int h = cs_conn_key_index(c, side), r = cs_conn_key_index(c, 1);

	memset(k, 0, sizeof *k);
	k->host = c->key.addr[h];
	if (side == 0)
		k->peer = c->key.addr[r];
	k->port = c->key.port[r];
	k->side = (uint8_t)side;
}

void *cs_groups_enter(struct cs_groups *g, const struct cs_conn *c, int side)
{
	struct cs_group_key k;

	cs_group_key_of(c, side, &k);
	struct cs_group_stays *s = cs_groups_find(g, &k, true);
	if (!s)
		return NULL;
	if (!s->entered)
		s->alert = -1;
	s->entered++;
	s->held++;
	return s;
}

void cs_groups_fini(struct cs_groups *g)
{
	free(g->entries);
	free(g->tags);
	free(g->written);
	g->entries = NULL;
	g->tags = NULL;
	g->written = NULL;
	g->used = 0;
	memset(g->filter, 0, sizeof g->filter);
}

static size_t table_bytes(const struct cs_groups *g)
{
	return (size_t)g->capacity * g->entry_size;
}

static size_t tags_bytes(const struct cs_groups *g)
{
	return (size_t)g->capacity * sizeof *g->tags;
}

/* The table's memory, zeroed, at first use; false without it.  The tags
 * are all read and written from the start: written at once, each page
 * takes one fault here rather than two later (written.h). */
static bool allocate(struct cs_groups *g)
{
	g->tags = malloc(tags_bytes(g));
	if (!g->tags)
		return false;
	memset(g->tags, 0, tags_bytes(g));
	g->entries = cs_written_calloc(g->capacity, g->entry_size, &g->written);
	if (!g->entries) {
		free(g->tags);
		g->tags = NULL;
		return false;
	}
	return true;
}

int cs_groups_clone(struct cs_groups *dst, const struct cs_groups *src)
{
	*dst = *src;
	dst->entries = NULL;
	dst->tags = NULL;
	dst->written = NULL;
	if (!src->entries)
		return 0;
	if (!allocate(dst)) {
		dst->used = 0;
		return -1;
	}
	cs_written_copy(dst->entries, dst->written, src->entries, src->written,
			table_bytes(src));
	memcpy(dst->tags, src->tags, tags_bytes(src));
	return 0;
}

static struct cs_group_key *key_at(const struct cs_groups *g, uint32_t i)
{
	return (struct cs_group_key *)((char *)g->entries + (size_t)i * g->entry_size);
}

/* Slot i holds an entry. */
static bool slot_used(const struct cs_groups *g, uint32_t i)
{
	return g->tags[i] != 0;
}

/* A hash's tag: bits the slot (low) and the filter (high) do not take,
 * never 0 (an empty slot). */
static uint16_t tag_of(uint64_t h)
{
	return (uint16_t)(h >> 32) | 1;
}

static bool same(const struct cs_group_key *a, const struct cs_group_key *b)
{
	return a->port == b->port && a->side == b->side &&
	       !memcmp(&a->host, &b->host, sizeof a->host) &&
	       !memcmp(&a->peer, &b->peer, sizeof a->peer);
}

void *cs_groups_find(struct cs_groups *g, const struct cs_group_key *k,
		     bool create)
{
	return cs_groups_find_hashed(g, k, cs_group_hash(k), create);
}

void *cs_groups_find_hashed(struct cs_groups *g, const struct cs_group_key *k,
			    uint64_t h, bool create)
{
	CS_ASSERT(h == cs_group_hash(k));
	if (!g->entries && (!create || !allocate(g))) {
		g->untracked += create;
		return NULL;
	}
	uint32_t mask = g->capacity - 1;
	/* the bit cs_groups_may_hold reads */
	uint32_t bit = (uint32_t)(h >> 48) & (CS_GROUPS_FILTER_BITS - 1);
	uint64_t *word = &g->filter[bit / 64], flag = 1ull << (bit % 64);

	/* Not there, and no room to make it: a full table under a flood of
	 * new keys answers without walking its long probe chains. */
	if (!(*word & flag) && (!create || cs_groups_full(g))) {
		g->untracked += create;
		return NULL;
	}

	uint16_t tag = tag_of(h);
	for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
		if (g->tags[i] == tag && same(key_at(g, i), k))
			return key_at(g, i);
		if (g->tags[i])
			continue;
		if (!create || g->used >= g->limit) {
			g->untracked += create;
			return NULL;
		}
		struct cs_group_key *e = key_at(g, i);
		cs_written_mark(g->written, (size_t)i * g->entry_size, g->entry_size);
		memset(e, 0, g->entry_size);
		*e = *k;
		g->tags[i] = tag;
		g->used++;
		*word |= flag;
		return e;
	}
}

void *cs_groups_at(const struct cs_groups *g, uint32_t i)
{
	if (!g->entries || i >= g->capacity)
		return NULL;
	return slot_used(g, i) ? key_at(g, i) : NULL;
}

/*
 * Backward-shift deletion (as the flow index does): each entry after the
 * hole that its probe from home would no longer reach moves into it, so
 * lookups never meet a gap before their entry, and no tombstones pile up
 * in a table whose entries come and go.  The filter keeps the bit: it only
 * ever says "may exist".
 */
void cs_groups_remove(struct cs_groups *g, void *entry)
{
	uint32_t mask = g->capacity - 1;
	uint32_t i = (uint32_t)(((char *)entry - (char *)g->entries) / g->entry_size);

	g->tags[i] = 0;
	g->used--;
	for (uint32_t j = (i + 1) & mask;; j = (j + 1) & mask) {
		if (!slot_used(g, j))
			return;
		struct cs_group_key *e = key_at(g, j);
		uint32_t home = (uint32_t)cs_group_hash(e) & mask;
		bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (stays)
			continue;
		memcpy(key_at(g, i), e, g->entry_size);
		g->tags[i] = g->tags[j];
		g->tags[j] = 0;
		i = j;
	}
}
