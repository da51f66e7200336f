/*
 * flow.c — preallocated records, an open-addressing index, expiry lists.
 */
#include "analyzer/tracking/flow.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "analyzer/tracking/hash.h"
#include "analyzer/tracking/tcp.h"
#include "analyzer/tracking/written.h"
#include "capture/assert.h"
#include "capture/pkttime.h"

#define SLOTS_INITIAL 1024u
/* Timeouts start shrinking when the table is this full, scaled toward zero
 * at 120% (pf's adaptive.start and adaptive.end defaults): a full table
 * still keeps a third of each timeout, so established connections are not
 * expired wholesale by a flood that eviction handles anyway. */
#define ADAPTIVE_START_TENTHS (CS_FLOW_ADAPTIVE_START_PERCENT / 10)
#define ADAPTIVE_END_TENTHS 12

const char *const cs_untracked_names[CS_UNTRACKED_MAX] = {
	[CS_UNTRACKED_NONE] = "none",
	[CS_UNTRACKED_NO_MEMORY] = "no_memory",
	[CS_UNTRACKED_EVICTED] = "evicted",
};

/* ---- hashing ------------------------------------------------------------- */

static uint32_t keyed_hash(const struct cs_flow_keying *kg,
			   const struct cs_flow_key *k)
{
	return cs_flow_key_hash(kg->seed, k);
}

static uint32_t key_hash(const struct cs_flow_table *t, const struct cs_flow_key *k)
{
	return keyed_hash(&t->keying, k);
}

static bool key_eq(const struct cs_flow_key *a, const struct cs_flow_key *b)
{
	return memcmp(a, b, sizeof *a) == 0;
}

static uint64_t slot_make(cs_conn_ref ref, uint32_t hash)
{
	return (uint64_t)ref << 32 | hash;
}

static cs_conn_ref slot_ref(uint64_t slot) { return (cs_conn_ref)(slot >> 32); }
static uint32_t slot_hash(uint64_t slot) { return (uint32_t)slot; }

/* ---- records and entries set aside ---------------------------------------- */

/* The index and the lists hold refs of both kinds: a record, or one set
 * aside (CS_FLOW_REF_SET_ASIDE, aside.h).  What they read of a ref --
 * time, id, links -- comes through these. */
static bool is_set_aside(cs_conn_ref ref) { return ref & CS_FLOW_REF_SET_ASIDE; }

static uint32_t aside_index(cs_conn_ref ref) { return ref & ~CS_FLOW_REF_SET_ASIDE; }

static struct cs_aside_entry *entry_of(const struct cs_flow_table *t,
				       cs_conn_ref ref)
{
	return cs_aside_entry(&t->aside, aside_index(ref));
}

/* Is k the key of ref?  For a record set aside, its packed key says. */
static bool key_is(struct cs_flow_table *t, cs_conn_ref ref,
		   const struct cs_flow_key *k)
{
	if (is_set_aside(ref))
		return cs_aside_key_is(&t->aside, aside_index(ref), k);
	return key_eq(&t->conns[ref].key, k);
}

static uint64_t last_ts_of(const struct cs_flow_table *t, cs_conn_ref ref)
{
	return is_set_aside(ref) ? entry_of(t, ref)->last_ts_us :
				   t->conns[ref].last_ts_us;
}

static uint64_t id_of(const struct cs_flow_table *t, cs_conn_ref ref)
{
	return is_set_aside(ref) ? cs_aside_id(&t->aside, aside_index(ref)) :
				   t->conns[ref].id;
}

static cs_conn_ref *prev_of(struct cs_flow_table *t, cs_conn_ref ref)
{
	return is_set_aside(ref) ? &entry_of(t, ref)->lru_prev :
				   &t->conns[ref].lru_prev;
}

static cs_conn_ref *next_of(struct cs_flow_table *t, cs_conn_ref ref)
{
	return is_set_aside(ref) ? &entry_of(t, ref)->lru_next :
				   &t->conns[ref].lru_next;
}

/* ---- the index ----------------------------------------------------------- */

static void index_put(uint64_t *slots, uint32_t mask, uint64_t slot)
{
	uint32_t i = slot_hash(slot) & mask;

	while (slots[i])
		i = (i + 1) & mask;
	slots[i] = slot;
}

/*
 * Growing is spread over the inserts that follow it, as Redis's dict does:
 * the full index becomes the old one, a new one twice its size takes every
 * new entry, and each insert moves a few entries of the old one over,
 * walking it slot by slot.  A lookup tries the new index, then the old.
 *
 * An entry that moves or is removed from the old index leaves SLOT_GONE
 * behind, never an empty slot: a probe that passed over it to an entry
 * further on must still get there.  Nothing is ever added to the old
 * index, so these tombstones only ever replace what the probes had
 * already passed: probe chains there do not grow.
 *
 * The old index is emptied in time.  It grew when count + 1 passed three
 * quarters of its size S, so count was 3S/4; the next growth comes when
 * count + 1 passes 3S/2, at least 3S/4 inserts later.  Each insert walks
 * at least REHASH_MOVES_MAX of the old index's S slots (REHASH_VISITS_MAX
 * if they are empty), so S/REHASH_MOVES_MAX inserts -- far fewer --
 * empty it.
 */
#define SLOT_GONE 1u	/* ref 0 ("none"): no entry is ever this */
#define REHASH_MOVES_MAX CS_FLOW_REHASH_MOVES_MAX
#define REHASH_VISITS_MAX (4 * REHASH_MOVES_MAX)

static void rehash_end(struct cs_flow_table *t)
{
	free(t->old_slots);
	t->old_slots = NULL;
	t->old_mask = t->old_next = t->old_left = 0;
}

/* Moves up to moves_max entries of the old index, looking at up to
 * visits_max of its slots. */
static void rehash_step(struct cs_flow_table *t, uint32_t visits_max,
			uint32_t moves_max)
{
	uint32_t moved = 0;

	for (uint32_t n = 0; n < visits_max && moved < moves_max &&
	     t->old_next <= t->old_mask; n++) {
		uint64_t s = t->old_slots[t->old_next];
		if (!s || s == SLOT_GONE) {
			t->old_next++;
			continue;
		}
		index_put(t->slots, t->slot_mask, s);
		/* Not left behind: once the entry leaves the new index, a
		 * lookup there misses and tries the old one. */
		t->old_slots[t->old_next++] = SLOT_GONE;
		CS_ASSERT(t->old_left > 0);	/* it counts what is left */
		t->old_left--;
		moved++;
	}
	if (moved > t->rehash_moved_most)
		t->rehash_moved_most = moved;
	if (t->old_next > t->old_mask || !t->old_left)
		rehash_end(t);
}

/*
 * Makes room in the index for one more entry: starts a growth to twice
 * its size when it would hold more than cs_flow_index_fill_max (flow.h).
 * False when it cannot grow (no memory): the caller refuses the entry,
 * so the index never passes that.  At slot_max there is always room: the
 * index holds the count (at most --max-flows) and the held records (at
 * most held_max), and slot_max is sized for both (cs_flow_init).
 */
static bool index_make_room(struct cs_flow_table *t)
{
	uint32_t size = t->slot_mask + 1;
	uint64_t entries = (uint64_t)t->count + t->held_count;

	if (entries + 1 <= cs_flow_index_fill_max(size) || size >= t->slot_max)
		return true;
	if (t->old_slots)	/* cannot happen (see above); be right anyway */
		rehash_step(t, UINT32_MAX, UINT32_MAX);
	uint64_t *slots = t->index_alloc((size_t)size * 2, sizeof *slots);
	if (!slots)
		return false;
	/* The rehash writes every page of it within a few thousand packets:
	 * present now, they cost no fault each (2 where a probe read first). */
	cs_written_all(slots, (size_t)size * 2 * sizeof *slots);
	t->old_slots = t->slots;
	t->old_mask = t->slot_mask;
	t->old_next = 0;
	t->old_left = (uint32_t)entries;	/* held records are in it too */
	t->slots = slots;
	t->slot_mask = size * 2 - 1;
	return true;
}

/* Where k is in one index, or UINT32_MAX.  Probes at most the whole
 * index: being at most three quarters full, it holds an empty slot well
 * before that, but a bound costs nothing.  Always inline: every packet's lookup
 * runs it, and as a call (it has four callers) its register saves and
 * argument moves were a quarter of its work. */
static inline __attribute__((always_inline)) uint32_t
index_probe(struct cs_flow_table *t, const uint64_t *slots,
	    uint32_t mask, const struct cs_flow_key *k, uint32_t hash)
{
	uint32_t i = hash & mask;

	for (uint32_t n = 0; n <= mask; n++) {
		uint64_t s = slots[i];
		if (!s)
			return UINT32_MAX;
		if (s != SLOT_GONE && slot_hash(s) == hash &&
		    key_is(t, slot_ref(s), k))
			return i;
		i = (i + 1) & mask;
	}
	return UINT32_MAX;
}

/* The slot holding k, in the index or (while it grows) the old one.
 * Always inline: every packet's lookup (cs_flow_find) runs it. */
static inline __attribute__((always_inline)) uint64_t *
index_find(struct cs_flow_table *t, const struct cs_flow_key *k, uint32_t hash)
{
	uint32_t i = index_probe(t, t->slots, t->slot_mask, k, hash);

	if (i != UINT32_MAX)
		return &t->slots[i];
	if (!t->old_slots)
		return NULL;
	i = index_probe(t, t->old_slots, t->old_mask, k, hash);
	return i == UINT32_MAX ? NULL : &t->old_slots[i];
}

/* Backward-shift deletion: no tombstones, probe chains stay short. */
static void index_delete(struct cs_flow_table *t, uint32_t i)
{
	uint32_t mask = t->slot_mask, j = i;

	t->slots[i] = 0;
	for (;;) {
		j = (j + 1) & mask;
		if (!t->slots[j])
			return;
		uint32_t home = slot_hash(t->slots[j]) & mask;
		bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
		if (stays)
			continue;
		t->slots[i] = t->slots[j];
		t->slots[j] = 0;
		i = j;
	}
}

/* The slot holding exactly `want`, in one index, or NULL. */
static uint64_t *slot_in(uint64_t *slots, uint32_t mask, uint64_t want);

/* Takes ref, filed under hash, out of the index it is in. */
static void unindex_ref(struct cs_flow_table *t, cs_conn_ref ref, uint32_t hash)
{
	uint64_t want = slot_make(ref, hash);
	uint64_t *s = slot_in(t->slots, t->slot_mask, want);

	if (s) {
		index_delete(t, (uint32_t)(s - t->slots));
		return;
	}
	s = t->old_slots ? slot_in(t->old_slots, t->old_mask, want) : NULL;
	CS_ASSERT(s);	/* a ref in use is indexed */
	if (s) {
		*s = SLOT_GONE;		/* see rehash_step */
		if (!--t->old_left)
			rehash_end(t);
	}
}

/* ---- lists --------------------------------------------------------------- */

static uint64_t timeout_at(const struct cs_flow_table *t, enum cs_flow_list l,
			   uint64_t count);

static cs_conn_ref ref_of(const struct cs_flow_table *t, const struct cs_conn *c)
{
	return (cs_conn_ref)(c - t->conns);
}

/* The neighbours prev and next of a place on list l (0 at either end:
 * the list's head or tail) now point to before_next and after_prev.
 * Inline: moving a record to its list's tail runs it for most packets,
 * and as a call it was a quarter of that move. */
static inline __attribute__((always_inline)) void point_neighbours(struct cs_flow_table *t, enum cs_flow_list l,
			     cs_conn_ref prev, cs_conn_ref next,
			     cs_conn_ref after_prev, cs_conn_ref before_next)
{
	if (prev)
		*next_of(t, prev) = after_prev;
	else
		t->lists[l].head = after_prev;
	if (next)
		*prev_of(t, next) = before_next;
	else
		t->lists[l].tail = before_next;
}

/*
 * aside_from[l] becomes ref.  On the lists that go aside, nothing goes
 * before aside_due_us: it is lowered to ref's time to go, if earlier
 * (packet times may step back, so a record further on may be due
 * sooner), and cs_flow_set_aside_quiet sets it when it has walked.
 */
static void aside_from_is(struct cs_flow_table *t, enum cs_flow_list l,
			  cs_conn_ref ref)
{
	/* the lists that go aside, as bits */
	enum { GO_ASIDE = 1u << CS_LIST_EMBRYONIC | 1u << CS_LIST_CLOSED |
			  1u << CS_LIST_RESET };

	t->aside_from[l] = ref;
	if (!ref || !(GO_ASIDE >> l & 1))
		return;
	uint64_t due = cs_time_add(last_ts_of(t, ref), CS_FLOW_ASIDE_AFTER_US);
	if (due < t->aside_due_us)
		t->aside_due_us = due;
}

static void list_unlink(struct cs_flow_table *t, cs_conn_ref ref,
			enum cs_flow_list l)
{
	cs_conn_ref prev = *prev_of(t, ref), next = *next_of(t, ref);

	point_neighbours(t, l, prev, next, next, prev);
	t->lists[l].count--;
	if (t->aside_from[l] == ref)
		aside_from_is(t, l, next);
	*prev_of(t, ref) = *next_of(t, ref) = 0;
}

/* `to` takes `from`'s place on list l: setting a record aside, or taking
 * it back, moves it in neither order nor time. */
static void list_replace(struct cs_flow_table *t, cs_conn_ref from,
			 cs_conn_ref to, enum cs_flow_list l)
{
	cs_conn_ref prev = *prev_of(t, from), next = *next_of(t, from);

	*prev_of(t, to) = prev;
	*next_of(t, to) = next;
	point_neighbours(t, l, prev, next, to, to);
	if (t->aside_from[l] == from)
		aside_from_is(t, l, to);
}

/* ref, last active at last_us, becomes the tail of list l; its links are
 * *prev and *next (a record's or an entry's).  Inline: a record's caller
 * passes its own fields, with no test of which kind ref is. */
static inline __attribute__((always_inline)) void
link_at_tail(struct cs_flow_table *t, enum cs_flow_list l, cs_conn_ref ref,
	     uint64_t last_us, cs_conn_ref *prev, cs_conn_ref *next)
{
	cs_conn_ref tail = t->lists[l].tail;

	/* A new head may be due before every other (see cs_flow_expire). */
	if (!tail) {
		uint64_t due = cs_time_add(last_us, timeout_at(t, l, t->next_due_count));
		if (due < t->next_due_us)
			t->next_due_us = due;
		due = cs_time_add(last_us, timeout_at(t, l, t->exact_due_count));
		if (due < t->exact_due_us)
			t->exact_due_us = due;
	}
	*prev = tail;
	*next = 0;
	if (tail)
		*next_of(t, tail) = ref;
	else
		t->lists[l].head = ref;
	t->lists[l].tail = ref;
	t->lists[l].count++;
}

static void list_append(struct cs_flow_table *t, struct cs_conn *c,
			enum cs_flow_list l)
{
	cs_conn_ref ref = ref_of(t, c);

	c->list = (uint8_t)l;
	link_at_tail(t, l, ref, c->last_ts_us, &c->lru_prev, &c->lru_next);
	if (!t->aside_from[l])	/* all before it went aside */
		aside_from_is(t, l, ref);
}

enum cs_flow_list cs_flow_classify(const struct cs_conn *c)
{
	const struct cs_endpoint *o = &c->ep[0], *r = &c->ep[1];

	if (cs_tcp_reset(c))
		return CS_LIST_RESET;
	if (o->state == CS_TCP_TIME_WAIT || r->state == CS_TCP_TIME_WAIT)
		return CS_LIST_CLOSED;
	if (o->sent_any && r->sent_any && o->state == CS_TCP_CLOSED &&
	    r->state == CS_TCP_CLOSED)
		return CS_LIST_CLOSED;
	/* Not established yet: an unanswered SYN, or a SYN-ACK whose ACK never
	 * came — what a flood of spoofed SYNs leaves behind, answered or not. */
	if (o->syn && !c->handshake_done && !o->fin && !r->fin)
		return CS_LIST_EMBRYONIC;
	return CS_LIST_ACTIVE;
}

/* The list a held list l holds the records of, and back. */
static enum cs_flow_list origin_of(enum cs_flow_list l)
{
	return l == CS_LIST_HELD_HALF_OPEN ? CS_LIST_EMBRYONIC :
					     (enum cs_flow_list)(l - CS_LIST_STATES);
}

static enum cs_flow_list held_of(enum cs_flow_list l)
{
	return (enum cs_flow_list)(l + CS_LIST_STATES);
}

/* The option that sets list l's timeout: a held list's is its origin's. */
static uint64_t list_timeout_opt(const struct cs_flow_opts *o, enum cs_flow_list l)
{
	if (cs_flow_list_is_held(l))
		l = origin_of(l);
	switch (l) {
	case CS_LIST_EMBRYONIC: return o->attempt_timeout_us;
	case CS_LIST_ACTIVE: return o->idle_timeout_us;
	case CS_LIST_CLOSED: return o->closed_timeout_us;
	default: return o->reset_linger_us;
	}
}

/*
 * List l's timeout with `count` records in use: it only shrinks as count
 * grows, from base at adaptive_start toward 0 at adaptive_end, as
 * floor(base * n / d) with n = end - count and d = end - start.
 *
 * Exactly and without overflow: with base = q*d + r (0 <= r < d),
 *   base * n / d = q*n + r*n/d,
 * and q*n is a whole number, so floor(base*n/d) = q*n + floor(r*n/d).
 * n < d < 2^31 (max_flows is at most 2^30), so r*n < d*d < 2^62 cannot
 * wrap, and q*n <= base*n/d < base cannot either.  (The product itself
 * can: a timeout of 1e13 us, --idle-timeout's largest, times 2.4 million
 * records is past 2^64.)  q and r are worked out once (cs_flow_init):
 * on LARGE, past adaptive_start, waiting on these divisions took about
 * 5% of the run's samples (perf record).
 */
static uint64_t timeout_at(const struct cs_flow_table *t, enum cs_flow_list l,
			   uint64_t count)
{
	uint64_t start = t->adaptive_start, end = t->adaptive_end;

	/* count <= end: the table's count is at most max_flows, and
	 * next_due_find clamps its own.  Held records are out of the
	 * count: theirs stays, as an evicted key's does (evicted.h). */
	if (count <= start || end <= start || cs_flow_list_is_held(l))
		return t->base_timeout[l];
	uint64_t n = end - count;
	return t->timeout_q[l] * n + t->timeout_r[l] * n / (end - start);
}

uint64_t cs_flow_timeout(const struct cs_flow_table *t, enum cs_flow_list l)
{
	return timeout_at(t, l, t->count);
}

/* ---- records ------------------------------------------------------------- */

int cs_flow_init(struct cs_flow_table *t, const struct cs_flow_opts *o,
		 cs_conn_done_fn done, void *ctx, char *err, size_t errlen)
{
	memset(t, 0, sizeof *t);
	t->opt = *o;
	t->done = done;
	t->done_ctx = ctx;
	if (o->max_flows == 0 || o->max_flows > (1u << 30)) {
		snprintf(err, errlen, "--max-flows must be 1..%u", 1u << 30);
		return -1;
	}
	/* Pages of this array are touched only as records are first used.
	 * One more than --max-flows: a held record the web view takes back
	 * for a moment (cs_flow_take) is whole beside a full table's. */
	t->conns = calloc((size_t)o->max_flows + 2, sizeof *t->conns);
	/* As many held as --max-flows (2^28 at most: the index below stays
	 * within 2^31 slots). */
	t->held_max = !o->hold_evicted ? 0 :
		      o->max_flows < (1u << 28) ? o->max_flows : 1u << 28;
	/* The index holds the table's count and the held records at most
	 * three quarters full (index_make_room). */
	uint64_t most = ((uint64_t)o->max_flows + t->held_max) * 4 / 3 + 1;
	t->slot_max = 1;
	while (t->slot_max < most)
		t->slot_max <<= 1;
	uint32_t initial = SLOTS_INITIAL < t->slot_max ? SLOTS_INITIAL : t->slot_max;
	t->slots = calloc(initial, sizeof *t->slots);
	if (!t->conns || !t->slots) {
		free(t->conns);
		free(t->slots);
		snprintf(err, errlen, "cannot allocate a table of %u connections "
			 "(%zu MiB); lower --max-flows", o->max_flows,
			 ((size_t)o->max_flows * sizeof *t->conns) >> 20);
		return -1;
	}
	t->slot_mask = initial - 1;
	t->index_alloc = calloc;
	t->never_used = 1;
	t->adaptive_start = (uint64_t)o->max_flows * ADAPTIVE_START_TENTHS / 10;
	/* Rounded up: below 10 records, rounding down made the end the
	 * table's size, and a full table's timeouts 0 (every record expired
	 * on the next packet instead of one being evicted).  Now past it. */
	t->adaptive_end = ((uint64_t)o->max_flows * ADAPTIVE_END_TENTHS + 9) / 10;
	t->next_due_us = t->exact_due_us = CS_TIME_NEVER;
	t->next_due_count = t->exact_due_count = t->adaptive_start;
	for (int l = 0; l < CS_LIST_MAX; l++) {
		uint64_t range = t->adaptive_end - t->adaptive_start;
		t->base_timeout[l] = list_timeout_opt(o, (enum cs_flow_list)l);
		t->timeout_q[l] = range ? t->base_timeout[l] / range : 0;
		t->timeout_r[l] = range ? t->base_timeout[l] % range : 0;
	}
	/* A per-run seed keeps crafted 4-tuples from colliding on purpose;
	 * nothing in the output depends on it. */
	t->keying.seed = cs_mix64((uint64_t)time(NULL) ^
				  ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)t);
	t->keying.vlan_key = o->vlan_key;
	/* Entries for the held records too.  Without the memory for them,
	 * records stay whole (more memory) and none is held (evicted ones
	 * are reported at once, as before held records). */
	t->aside_on = o->set_aside &&
		      cs_aside_init(&t->aside, o->max_flows + t->held_max) == 0;
	/* Without a thread, this one packs: slower, nothing else changes. */
	t->packer = t->aside_on && o->pack_thread ?
		    cs_packer_start(t->aside.dict) : NULL;
	cs_evicted_init(&t->evicted_keys, o->max_flows, t->base_timeout);
	return 0;
}

void cs_flow_fini(struct cs_flow_table *t)
{
	free(t->conns);
	free(t->slots);
	free(t->old_slots);
	cs_packer_stop(t->packer);	/* before the templates it packs with go */
	if (t->aside_on)
		cs_aside_fini(&t->aside);
	cs_evicted_clear(&t->evicted_keys);
	memset(t, 0, sizeof *t);
}

/* The address's bytes from `at` as a number that orders as memcmp does. */
static inline uint64_t addr_half(const struct cs_addr *a, size_t at)
{
	uint64_t w;

	memcpy(&w, a->b + at, sizeof w);
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	w = __builtin_bswap64(w);
#endif
	return w;
}

/* memcmp's sign for two addresses, inline: as a call to the library's
 * it was a fifth of the key's work on the reading thread. */
static inline int addr_cmp(const struct cs_addr *a, const struct cs_addr *b)
{
	uint64_t a0 = addr_half(a, 0), b0 = addr_half(b, 0);

	if (a0 != b0)
		return a0 < b0 ? -1 : 1;
	uint64_t a1 = addr_half(a, 8), b1 = addr_half(b, 8);
	return a1 < b1 ? -1 : a1 > b1;
}

void cs_flow_key(const struct cs_pkt *p, bool vlan_key, struct cs_flow_key *k,
		 int *side)
{
	int cmp = addr_cmp(&p->src, &p->dst);

	memset(k, 0, sizeof *k);
	if (cmp == 0)
		cmp = p->sport < p->dport ? -1 : p->sport > p->dport;
	*side = cmp <= 0 ? 0 : 1;
	k->addr[*side] = p->src;
	k->addr[!*side] = p->dst;
	k->port[*side] = p->sport;
	k->port[!*side] = p->dport;
	k->vlan = vlan_key && p->vlan_cnt ? p->vlan[0] : 0;
}

static struct cs_conn *take_back(struct cs_flow_table *t, uint64_t *slot);
static struct cs_conn *rejoin(struct cs_flow_table *t, cs_conn_ref ref,
			      uint32_t hash, uint64_t now_us);

/* Is ref a record held after its eviction (flow.h)?  Held records are
 * always set aside (hold, cs_flow_put_back). */
static bool is_held(const struct cs_flow_table *t, cs_conn_ref ref)
{
	return is_set_aside(ref) && cs_flow_list_is_held(entry_of(t, ref)->list);
}

/* The record of the entry set aside in *s, filed under hash: taken back
 * at once, as whoever looks a connection up is about to read or change
 * it.  A held record rejoins the table for a packet of it (at now_us),
 * and is not found otherwise. */
static struct cs_conn *found_aside(struct cs_flow_table *t, uint64_t *s,
				   uint32_t hash, bool for_packet, uint64_t now_us)
{
	cs_conn_ref ref = slot_ref(*s);

	if (is_held(t, ref))
		return for_packet ? rejoin(t, ref, hash, now_us) : NULL;
	return take_back(t, s);
}

/* The record of key k, filed under hash (see found_aside).  Always
 * inline: as one function with a flag for its two callers, GCC stopped
 * folding it into cs_flow_find, and every packet's lookup took five
 * instructions more. */
static inline __attribute__((always_inline)) struct cs_conn *
lookup(struct cs_flow_table *t, const struct cs_flow_key *k, uint32_t hash,
       bool for_packet, uint64_t now_us)
{
	uint64_t *s = index_find(t, k, hash);

	if (!s)
		return NULL;
	if (!is_set_aside(slot_ref(*s)))
		return &t->conns[slot_ref(*s)];
	return found_aside(t, s, hash, for_packet, now_us);
}

struct cs_conn *cs_flow_lookup(struct cs_flow_table *t,
			       const struct cs_flow_key *k)
{
	return lookup(t, k, key_hash(t, k), false, 0);
}

void cs_flow_where_by(const struct cs_flow_keying *k, const struct cs_pkt *p,
		      struct cs_flow_where *w)
{
	cs_flow_key(p, k->vlan_key, &w->key, &w->side);
	w->hash = keyed_hash(k, &w->key);
}

void cs_flow_where(const struct cs_flow_table *t, const struct cs_pkt *p,
		   struct cs_flow_where *w)
{
	cs_flow_where_by(&t->keying, p, w);
}

struct cs_conn *cs_flow_find(struct cs_flow_table *t,
			     const struct cs_flow_where *w, uint64_t now_us)
{
	return lookup(t, &w->key, w->hash, true, now_us);
}

/* Inline for set_aside: there, a call to the exported function below was
 * dropped whole (GCC 12 takes a function of prefetches and a branch for
 * one without effects, and drops its calls within the file). */
static inline __attribute__((always_inline)) void
prefetch_slot(const struct cs_flow_table *t, uint32_t hash)
{
	__builtin_prefetch(&t->slots[hash & t->slot_mask]);
	if (t->old_slots)
		__builtin_prefetch(&t->old_slots[hash & t->old_mask]);
}

void cs_flow_prefetch_slot(const struct cs_flow_table *t, uint32_t hash)
{
	prefetch_slot(t, hash);
}

/* All of a record's cache lines: a segment reads or writes nearly every
 * line of it (the key and timers first, both endpoints, the history and
 * Zeek's timers last), and packing reads them all.  Unrolled: a dozen
 * prefetches, not a dozen loop turns too. */
static void prefetch_whole(const struct cs_conn *c)
{
#pragma GCC unroll 16
	for (size_t at = 0; at < sizeof *c; at += 64)
		__builtin_prefetch((const char *)c + at);
}

/* The record of the first slot probed, if its tag matches; for one set
 * aside, its entry. */
void cs_flow_prefetch_record(const struct cs_flow_table *t, uint32_t hash)
{
	uint64_t s = t->slots[hash & t->slot_mask];

	if (slot_hash(s) != hash && t->old_slots)
		s = t->old_slots[hash & t->old_mask];
	if (!s || s == SLOT_GONE || slot_hash(s) != hash)
		return;
	if (is_set_aside(slot_ref(s)))
		__builtin_prefetch(entry_of(t, slot_ref(s)));
	else
		prefetch_whole(&t->conns[slot_ref(s)]);
}

/* Back on the free list; the caller has taken it off its list. */
static void free_record(struct cs_flow_table *t, struct cs_conn *c)
{
	c->in_use = false;
	c->lru_next = t->free_head;
	t->free_head = ref_of(t, c);
}

static void release(struct cs_flow_table *t, struct cs_conn *c)
{
	uint32_t hash = key_hash(t, &c->key);
	uint32_t i = index_probe(t, t->slots, t->slot_mask, &c->key, hash);

	if (i != UINT32_MAX) {
		index_delete(t, i);
	} else if (t->old_slots) {
		i = index_probe(t, t->old_slots, t->old_mask, &c->key, hash);
		CS_ASSERT(i != UINT32_MAX);	/* a record in use is in an index */
		if (i != UINT32_MAX) {
			t->old_slots[i] = SLOT_GONE;	/* see rehash_step */
			if (!--t->old_left)
				rehash_end(t);
		}
	}
	list_unlink(t, ref_of(t, c), (enum cs_flow_list)c->list);
	free_record(t, c);
	t->count--;
}

void cs_flow_remove(struct cs_flow_table *t, struct cs_conn *c, uint64_t now_us)
{
	if (t->done)
		t->done(t->done_ctx, c, now_us);
	release(t, c);
}

/* Full: make room at the expense of what matters least (see flow.h). */
static struct cs_conn *full_record(struct cs_flow_table *t, cs_conn_ref ref);

/* Keeps the key of c, evicted from list l, for as long as the record would
 * have stayed without the eviction (evicted.h). */
static void keep_evicted_key(struct cs_flow_table *t, const struct cs_conn *c,
			     enum cs_flow_list l, uint64_t now_us)
{
	struct cs_evicted_key k = {
		.key = c->key,
		.orig = c->orig,
		.list = (uint8_t)l,
		.syn = cs_syn_facts_of(c, l == CS_LIST_CLOSED || l == CS_LIST_RESET),
	};
	cs_evicted_put(&t->evicted_keys, &k, c->last_ts_us, now_us);
}

/* Has the attempt at the head of the embryonic list gone unanswered (see
 * CS_FLOW_UNANSWERED_AFTER_US)? */
static bool unanswered(const struct cs_flow_table *t, cs_conn_ref head,
		       uint64_t now_us)
{
	return cs_time_add(last_ts_of(t, head), CS_FLOW_UNANSWERED_AFTER_US) <= now_us;
}

static cs_conn_ref set_aside(struct cs_flow_table *t, cs_conn_ref ref);
static struct cs_conn *take_record(struct cs_flow_table *t);
static void evict_one(struct cs_flow_table *t, uint64_t now_us);
static uint64_t *slot_hashed(struct cs_flow_table *t, cs_conn_ref ref,
			     uint32_t hash);

/* One more record in the table.  The peak counts the held ones too:
 * they are open (summary.open), and the open count must not pass it. */
static void count_one_more(struct cs_flow_table *t)
{
	t->count++;
	if (t->count + t->held_count > t->peak)
		t->peak = t->count + t->held_count;
}

/* Why a record held on list l was evicted. */
static uint8_t eviction_of(enum cs_flow_list l)
{
	static const uint8_t by_origin[CS_LIST_STATES] = {
		[CS_LIST_EMBRYONIC] = CS_EVICT_EMBRYONIC,
		[CS_LIST_ACTIVE] = CS_EVICT_ACTIVE,
		[CS_LIST_CLOSED] = CS_EVICT_CLOSED,
		[CS_LIST_RESET] = CS_EVICT_CLOSED,
	};
	return by_origin[origin_of(l)];
}

/* Ref (set aside) becomes the newest on held list l (whose timeout,
 * timeout_at, is never shrunk). */
static void held_append(struct cs_flow_table *t, cs_conn_ref ref,
			enum cs_flow_list l)
{
	struct cs_aside_entry *e = entry_of(t, ref);

	e->list = l;
	link_at_tail(t, l, ref, e->last_ts_us, &e->lru_prev, &e->lru_next);
	t->held_count++;
}

/* Ref, on held list l, off it: to leave, or to rejoin. */
static void held_unlink(struct cs_flow_table *t, cs_conn_ref ref,
			enum cs_flow_list l)
{
	list_unlink(t, ref, l);
	t->held_count--;
}

/*
 * The held record to leave early when too many are: the oldest of the
 * kind whose later packets matter least.  A closed connection's are late
 * ACKs and FINs, counted apart if it leaves; a refused attempt's, a retry
 * that would begin a second row; a half-open one's, its server's repeated
 * SYN-ACKs, counted apart; an unanswered attempt's, its client's retries,
 * each of which would begin a second row; an established connection's,
 * the rest of it.  Taken as the heard from least recently of all of them,
 * the mix of tests/evict.sh held its closed connections and lost the
 * attempts: 59 timed out of 370.  With attempts answered or not on one
 * list, LARGE's SYN flood pushed out 1,500 attempts before their retry.
 */
static cs_conn_ref held_victim(const struct cs_flow_table *t)
{
	static const enum cs_flow_list order[] = {
		CS_LIST_HELD_CLOSED, CS_LIST_HELD_RESET, CS_LIST_HELD_HALF_OPEN,
		CS_LIST_HELD_EMBRYONIC, CS_LIST_HELD_ACTIVE,
	};
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
		if (t->lists[order[i]].head)
			return t->lists[order[i]].head;
	return 0;
}

/*
 * Held ref leaves for good, reported as evicted: its time is over, the
 * end of the capture, or (early) more than held_max are held -- then its
 * key is kept as any evicted one's, so that its later packets open no
 * record.  Unpacked into a scratch record: a full table may have no free
 * one.
 */
static void held_leave(struct cs_flow_table *t, cs_conn_ref ref,
		       uint64_t now_us, bool early)
{
	struct cs_conn scratch, *c = &scratch;
	enum cs_flow_list l;

	if (is_set_aside(ref)) {
		l = (enum cs_flow_list)entry_of(t, ref)->list;
		held_unlink(t, ref, l);
		unindex_ref(t, ref, entry_of(t, ref)->hash);
		cs_aside_take(&t->aside, aside_index(ref), c);	/* frees it */
	} else {	/* (cs_flow_put_back: only without memory) */
		c = &t->conns[ref];
		l = (enum cs_flow_list)c->list;
		held_unlink(t, ref, l);
		unindex_ref(t, ref, key_hash(t, &c->key));
	}
	c->list = (uint8_t)l;
	c->evicted = eviction_of(l);
	if (early)
		keep_evicted_key(t, c, origin_of(l), now_us);
	if (t->done)
		t->done(t->done_ctx, c, now_us);
	if (c != &scratch)
		free_record(t, c);
}

/* The held list for ref, evicted from list l: an embryonic record its
 * server answered is held apart (held_victim). */
static enum cs_flow_list held_list_for(const struct cs_flow_table *t,
				       cs_conn_ref ref, enum cs_flow_list l)
{
	bool answered;

	if (l != CS_LIST_EMBRYONIC)
		return held_of(l);
	cs_flow_read(t, ref, offsetof(struct cs_conn, ep[1].syn), sizeof answered,
		     &answered);
	return answered ? CS_LIST_HELD_HALF_OPEN : CS_LIST_HELD_EMBRYONIC;
}

/* Evicts ref, at the head of list l, by holding it (flow.h); false when
 * it cannot be set aside, to be evicted as before. */
static bool hold(struct cs_flow_table *t, cs_conn_ref ref, enum cs_flow_list l,
		 uint64_t now_us)
{
	if (!t->aside_on || !t->held_max)
		return false;
	if (!is_set_aside(ref) && !(ref = set_aside(t, ref)))
		return false;
	list_unlink(t, ref, l);
	t->count--;
	held_append(t, ref, held_list_for(t, ref, l));
	if (t->held_count > t->held_max) {
		held_leave(t, held_victim(t), now_us, true);
		t->held_early++;
	}
	return true;
}

/*
 * Held ref is heard from again at now_us: it takes a record of the table
 * again, evicting another if the table is full, and goes back to the list
 * it left, where the caller re-files it.
 */
static struct cs_conn *rejoin(struct cs_flow_table *t, cs_conn_ref ref,
			      uint32_t hash, uint64_t now_us)
{
	enum cs_flow_list l = (enum cs_flow_list)entry_of(t, ref)->list;

	held_unlink(t, ref, l);		/* (not for evict_one to take) */
	if (t->count >= t->opt.max_flows)
		evict_one(t, now_us);
	struct cs_conn *c = take_record(t);
	/* looked for now: the eviction may have moved it */
	uint64_t *s = slot_hashed(t, ref, hash);
	cs_aside_take(&t->aside, aside_index(ref), c);	/* frees the entry */
	*s = slot_make(ref_of(t, c), hash);
	c->evicted = CS_EVICT_NONE;
	count_one_more(t);
	list_append(t, c, origin_of(l));
	t->rejoined++;
	return c;
}

static void evict_one(struct cs_flow_table *t, uint64_t now_us)
{
	static const struct {
		enum cs_flow_list list;
		enum cs_evict why;
		bool if_unanswered;	/* only an attempt gone unanswered */
	} order[] = {
		{ CS_LIST_EMBRYONIC, CS_EVICT_EMBRYONIC, true },
		{ CS_LIST_RESET, CS_EVICT_CLOSED, false },
		{ CS_LIST_CLOSED, CS_EVICT_CLOSED, false },
		{ CS_LIST_EMBRYONIC, CS_EVICT_EMBRYONIC, false },
		{ CS_LIST_ACTIVE, CS_EVICT_ACTIVE, false },
	};
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
		cs_conn_ref head = t->lists[order[i].list].head;
		if (!head || (order[i].if_unanswered && !unanswered(t, head, now_us)))
			continue;
		if (hold(t, head, order[i].list, now_us)) {
			t->evicted[order[i].why]++;
			return;
		}
		struct cs_conn *victim = full_record(t, head);
		victim->evicted = (uint8_t)order[i].why;
		t->evicted[order[i].why]++;
		keep_evicted_key(t, victim, order[i].list, now_us);
		cs_flow_remove(t, victim, now_us);
		return;
	}
}

static struct cs_conn *take_record(struct cs_flow_table *t)
{
	if (t->free_head) {
		struct cs_conn *c = &t->conns[t->free_head];
		t->free_head = c->lru_next;
		memset(c, 0, sizeof *c);
		return c;
	}
	/* A full table has records on its lists, so evict_one freed one;
	 * the one more is cs_flow_take's (cs_flow_init). */
	CS_ASSERT(t->never_used <= t->opt.max_flows + 1);
	return &t->conns[t->never_used++];	/* zeroed by calloc */
}

/* ---- setting quiet records aside (aside.h) ------------------------------- */

/* The index slot holding ref, found by ref: a record set aside has no
 * key in memory. */
static uint64_t *slot_in(uint64_t *slots, uint32_t mask, uint64_t want)
{
	for (uint32_t i = slot_hash(want) & mask, n = 0; n <= mask;
	     n++, i = (i + 1) & mask) {
		if (slots[i] == want)
			return &slots[i];
		if (!slots[i])
			break;
	}
	return NULL;
}

static uint64_t *slot_hashed(struct cs_flow_table *t, cs_conn_ref ref,
			     uint32_t hash)
{
	uint64_t want = slot_make(ref, hash);
	uint64_t *s = slot_in(t->slots, t->slot_mask, want);

	if (!s && t->old_slots)
		s = slot_in(t->old_slots, t->old_mask, want);
	CS_ASSERT(s);	/* a ref in use is indexed */
	return s;
}

static uint64_t *slot_of(struct cs_flow_table *t, cs_conn_ref ref)
{
	return slot_hashed(t, ref, is_set_aside(ref) ?
			   entry_of(t, ref)->hash : key_hash(t, &t->conns[ref].key));
}

/* Record ref, packed into entry i of the aside store, leaves its place
 * in the index (under hash) and on its list to the entry; returns the
 * entry's ref. */
static cs_conn_ref entry_for(struct cs_flow_table *t, cs_conn_ref ref,
			     uint32_t hash, uint32_t i)
{
	struct cs_conn *c = &t->conns[ref];
	cs_conn_ref aside = i | CS_FLOW_REF_SET_ASIDE;

	entry_of(t, aside)->list = c->list;
	list_replace(t, ref, aside, (enum cs_flow_list)c->list);
	*slot_hashed(t, ref, hash) = slot_make(aside, hash);
	free_record(t, c);
	return aside;
}

/*
 * Record ref, quiet on its list for CS_FLOW_ASIDE_AFTER_US, goes aside:
 * returns the ref of its entry, or 0 if it stays.  One some detector
 * holds by ref stays (closewait.c queues records in CLOSE_WAIT): that ref
 * must go on naming it.
 */
static cs_conn_ref set_aside(struct cs_flow_table *t, cs_conn_ref ref)
{
	struct cs_conn *c = &t->conns[ref];

	if (c->detect[0].close_wait || c->detect[1].close_wait)
		return 0;
	/* The index slot is looked for after packing, which takes long
	 * enough for its line to come.  Looked for first, it was a wait on
	 * memory for nearly every record: 1.1% of SMALL's samples (perf
	 * record), now too few to tell. */
	uint32_t hash = key_hash(t, &c->key);
	prefetch_slot(t, hash);
	uint32_t i = cs_aside_put(&t->aside, c, hash);
	if (!i)
		return 0;	/* not written: it stays a record */
	return entry_for(t, ref, hash, i);
}

/*
 * Record ref is still as the packer copied it (packer.h): in use, and
 * every byte the same but its list links, which its neighbours move.
 * Nothing else tells: a record left and taken again for the same
 * connection, unchanged, is the same record, packed the same.
 */
static bool still_as_copied(const struct cs_flow_table *t, cs_conn_ref ref,
			    const struct cs_conn *copy)
{
	const uint8_t *c = (const uint8_t *)&t->conns[ref];
	const uint8_t *was = (const uint8_t *)copy;
	const size_t links = offsetof(struct cs_conn, lru_prev);
	const size_t after = offsetof(struct cs_conn, lru_next) + sizeof(cs_conn_ref);

	_Static_assert(offsetof(struct cs_conn, lru_next) ==
		       offsetof(struct cs_conn, lru_prev) + sizeof(cs_conn_ref),
		       "the links are side by side");
	return t->conns[ref].in_use && memcmp(c, was, links) == 0 &&
	       memcmp(c + after, was + after, sizeof(struct cs_conn) - after) == 0;
}

/* The records the packer has packed go aside with their bytes, those
 * still as they were copied; the others stay whole, and go aside later
 * if they are quiet again (flow.h). */
void cs_flow_take_packed(struct cs_flow_table *t)
{
	struct cs_packer_batch *b;
	uint32_t hash[CS_PACKER_BATCH];
	bool same[CS_PACKER_BATCH];

	while ((b = cs_packer_packed(t->packer))) {
		/* Each index slot looked for first: its line comes meanwhile. */
		for (uint32_t k = 0; k < b->n; k++) {
			cs_conn_ref ref = b->ref[k];
			same[k] = still_as_copied(t, ref, &b->copy[k]);
			if (!same[k])
				continue;
			hash[k] = key_hash(t, &t->conns[ref].key);
			prefetch_slot(t, hash[k]);
		}
		for (uint32_t k = 0; k < b->n; k++) {
			cs_conn_ref ref = b->ref[k];
			/* (the same record twice in a batch: gone the first time) */
			if (!same[k] || !t->conns[ref].in_use)
				continue;
			uint32_t i = cs_aside_put_packed(&t->aside, b->packed + b->at[k],
							 b->len[k],
							 t->conns[ref].last_ts_us, hash[k]);
			if (i)
				entry_for(t, ref, hash[k], i);
		}
		cs_packer_taken(b);
	}
}

/*
 * Record ref, due to go aside, goes with the packer's next batch, or at
 * once.  False when it waits: the packer's batches are both out, and
 * whole records are not too many yet.  Packed here instead, in bursts (a
 * flood's SYNs going quiet together), about 10,500 of SMALL's 112,650
 * were packed on this thread after all.
 */
static bool aside_soon(struct cs_flow_table *t, cs_conn_ref ref)
{
	const struct cs_conn *c = &t->conns[ref];

	if (t->packer && !c->detect[0].close_wait && !c->detect[1].close_wait) {
		if (cs_packer_add(t->packer, ref, c))
			return true;
		if (cs_flow_whole_waiting(t) <= CS_FLOW_WHOLE_WAITING_MAX)
			return false;
	}
	set_aside(t, ref);
	return true;
}

/* The record behind the entry in *slot, unpacked into a free record
 * where the entry was: in the index and on its list.  There is a free
 * record: entries count in count, which is at most max_flows. */
static struct cs_conn *take_back(struct cs_flow_table *t, uint64_t *slot)
{
	cs_conn_ref aside = slot_ref(*slot);
	const struct cs_aside_entry *e = entry_of(t, aside);
	cs_conn_ref prev = e->lru_prev, next = e->lru_next;
	struct cs_conn *c = take_record(t);

	enum cs_flow_list l = (enum cs_flow_list)e->list;

	list_replace(t, aside, ref_of(t, c), l);
	cs_aside_take(&t->aside, aside_index(aside), c);	/* frees e */
	c->lru_prev = prev;	/* (the packed ones are from before it went) */
	c->lru_next = next;
	c->list = (uint8_t)l;	/* (held: packed on the list it left) */
	*slot = slot_make(ref_of(t, c), slot_hash(*slot));
	return c;
}

/* The expiry takes a list's records in order, one or two a packet: the
 * next one's packed bytes are fetched while this one is finished. */
static void prefetch_next(struct cs_flow_table *t, cs_conn_ref ref)
{
	cs_conn_ref next = *next_of(t, ref);

	if (next && is_set_aside(next))
		cs_aside_prefetch(&t->aside, aside_index(next));
}

/* Each list that goes aside is walked from aside_from in order of last
 * activity: a packet makes at most one record, so a few a packet keep
 * up. */
#define ASIDE_PER_CALL 8

/* Is ref's record due to go aside: quiet long enough, or the oldest of
 * too many waiting (flow.h)? */
static bool aside_due(const struct cs_flow_table *t, cs_conn_ref ref,
		      uint64_t now_us)
{
	return cs_time_add(last_ts_of(t, ref), CS_FLOW_ASIDE_AFTER_US) <= now_us ||
	       cs_flow_whole_waiting(t) > CS_FLOW_WHOLE_WAITING_MAX;
}

void cs_flow_set_aside_quiet(struct cs_flow_table *t, uint64_t now_us)
{
	static const enum cs_flow_list lists[] = {
		CS_LIST_EMBRYONIC, CS_LIST_CLOSED, CS_LIST_RESET,
	};
	t->aside_due_us = UINT64_MAX;	/* lowered again below, by each list */
	for (size_t k = 0; k < sizeof lists / sizeof lists[0]; k++) {
		enum cs_flow_list l = lists[k];
		cs_conn_ref ref;
		for (unsigned n = 0; n < ASIDE_PER_CALL &&
		     (ref = t->aside_from[l]) && aside_due(t, ref, now_us); n++) {
			cs_conn_ref next = *next_of(t, ref);	/* (before it goes) */
			if (next && !is_set_aside(next))
				prefetch_whole(&t->conns[next]);
			if (!is_set_aside(ref) && !aside_soon(t, ref))
				break;	/* again at the next packet (below) */
			t->aside_from[l] = next;	/* (aside_due_us: below) */
		}
		aside_from_is(t, l, t->aside_from[l]);
	}
}

/* The record of a ref in use, taken back if it was set aside. */
static struct cs_conn *full_record(struct cs_flow_table *t, cs_conn_ref ref)
{
	return is_set_aside(ref) ? take_back(t, slot_of(t, ref)) :
				   &t->conns[ref];
}

/* ---- records remembered by id, read by ref (flow.h) ---------------------- */

uint32_t cs_flow_hash(const struct cs_flow_table *t, const struct cs_flow_key *k)
{
	return key_hash(t, k);
}

/* The slot of the record with this id in one index, or NULL. */
static uint64_t *probe_id(const struct cs_flow_table *t, uint64_t *slots,
			  uint32_t mask, uint32_t hash, uint64_t id)
{
	uint32_t i = hash & mask;

	for (uint32_t n = 0; n <= mask; n++, i = (i + 1) & mask) {
		uint64_t s = slots[i];
		if (!s)
			return NULL;
		if (s != SLOT_GONE && slot_hash(s) == hash &&
		    id_of(t, slot_ref(s)) == id)
			return &slots[i];
	}
	return NULL;
}

static uint64_t *slot_of_id(const struct cs_flow_table *t, uint32_t hash,
			    uint64_t id)
{
	uint64_t *s = probe_id(t, t->slots, t->slot_mask, hash, id);

	if (!s && t->old_slots)
		s = probe_id(t, t->old_slots, t->old_mask, hash, id);
	return s;
}

cs_conn_ref cs_flow_ref_of_id(const struct cs_flow_table *t, uint32_t hash,
			      uint64_t id)
{
	uint64_t *s = slot_of_id(t, hash, id);

	return s ? slot_ref(*s) : 0;
}

bool cs_flow_has_id(const struct cs_flow_table *t, uint32_t hash, uint64_t id)
{
	return slot_of_id(t, hash, id) != NULL;
}

void cs_flow_read(const struct cs_flow_table *t, cs_conn_ref ref,
		  size_t offset, size_t len, void *out)
{
	if (is_set_aside(ref))
		cs_aside_read(&t->aside, aside_index(ref), offset, len, out);
	else
		memcpy(out, (const uint8_t *)&t->conns[ref] + offset, len);
}

/* The slot of ref in one index, or NULL: refs are unique there, so no id
 * or key is read. */
static uint64_t *probe_ref(uint64_t *slots, uint32_t mask, uint32_t hash,
			   cs_conn_ref ref)
{
	uint32_t i = hash & mask;

	for (uint32_t n = 0; n <= mask; n++, i = (i + 1) & mask) {
		uint64_t s = slots[i];
		if (!s)
			return NULL;
		if (s != SLOT_GONE && slot_ref(s) == ref)
			return &slots[i];
	}
	return NULL;
}

struct cs_conn *cs_flow_take(struct cs_flow_table *t, uint32_t hash,
			     cs_conn_ref ref, bool *was_aside)
{
	*was_aside = is_set_aside(ref);
	if (!*was_aside)
		return &t->conns[ref];
	uint64_t *s = probe_ref(t->slots, t->slot_mask, hash, ref);
	if (!s && t->old_slots)
		s = probe_ref(t->old_slots, t->old_mask, hash, ref);
	CS_ASSERT(s);	/* a ref from cs_flow_ref_of_id, the table unchanged */
	return take_back(t, s);
}

void cs_flow_put_back(struct cs_flow_table *t, struct cs_conn *c,
		      uint64_t now_us)
{
	cs_conn_ref ref = ref_of(t, c);

	/* A held record is always an entry (is_held): without the memory
	 * to be one again, it leaves. */
	if (!set_aside(t, ref) && cs_flow_list_is_held(c->list))
		held_leave(t, ref, now_us, false);
}

cs_conn_ref cs_flow_older(const struct cs_flow_table *t, cs_conn_ref ref)
{
	return is_set_aside(ref) ? entry_of(t, ref)->lru_prev : t->conns[ref].lru_prev;
}

cs_conn_ref cs_flow_newer(const struct cs_flow_table *t, cs_conn_ref ref)
{
	return is_set_aside(ref) ? entry_of(t, ref)->lru_next : t->conns[ref].lru_next;
}

uint64_t cs_flow_last_ts(const struct cs_flow_table *t, cs_conn_ref ref)
{
	return last_ts_of(t, ref);
}

/* The record of entry ref, set aside, unpacked into *copy as take_back
 * leaves it; the entry stays. */
static void unpack_copy(const struct cs_flow_table *t, cs_conn_ref ref,
			struct cs_conn *copy)
{
	const struct cs_aside_entry *e = entry_of(t, ref);

	cs_aside_unpack(&t->aside, aside_index(ref), copy);
	copy->lru_prev = e->lru_prev;	/* (unpacked as 0: kept in the entry) */
	copy->lru_next = e->lru_next;
	copy->list = e->list;		/* (held: packed on the list it left) */
	if (cs_flow_list_is_held(e->list))	/* as it will be reported */
		copy->evicted = eviction_of((enum cs_flow_list)e->list);
}

const struct cs_conn *cs_flow_view(const struct cs_flow_table *t, cs_conn_ref ref,
				   struct cs_conn *copy)
{
	if (!is_set_aside(ref))
		return &t->conns[ref];
	unpack_copy(t, ref, copy);
	return copy;
}

static struct cs_conn *create(struct cs_flow_table *t,
			      const struct cs_flow_key *k, uint32_t hash,
			      uint64_t now_us)
{
	/* (count, not the free records: those set aside count too) */
	if (t->count >= t->opt.max_flows)
		evict_one(t, now_us);
	if (!index_make_room(t)) {
		t->untracked[CS_UNTRACKED_NO_MEMORY]++;
		return NULL;
	}
	if (t->old_slots)
		rehash_step(t, REHASH_VISITS_MAX, REHASH_MOVES_MAX);
	struct cs_conn *c = take_record(t);
	c->key = *k;
	c->in_use = true;
	c->id = ++t->next_id;
	c->first_ts_us = c->last_ts_us = now_us;
	/* index_put probes until it finds an empty slot. */
	CS_ASSERT(t->count + t->held_count < t->slot_mask + 1);
	index_put(t->slots, t->slot_mask, slot_make(ref_of(t, c), hash));
	count_one_more(t);
	list_append(t, c, CS_LIST_ACTIVE);
	return c;
}

struct cs_conn *cs_flow_create(struct cs_flow_table *t,
			       const struct cs_flow_key *k, uint64_t now_us)
{
	return create(t, k, key_hash(t, k), now_us);
}

struct cs_conn *cs_flow_create_at(struct cs_flow_table *t,
				  const struct cs_flow_where *w, uint64_t now_us)
{
	return create(t, &w->key, w->hash, now_us);
}

struct cs_evicted_key *cs_flow_evicted(struct cs_flow_table *t,
				       const struct cs_flow_where *w,
				       uint64_t now_us)
{
	return cs_evicted_find(&t->evicted_keys, &w->key, now_us);
}

void cs_flow_evicted_packet(struct cs_flow_table *t, struct cs_evicted_key *g,
			    uint64_t now_us)
{
	t->untracked[CS_UNTRACKED_EVICTED]++;
	cs_evicted_seen(&t->evicted_keys, g, now_us);
}

/*
 * list_unlink, then list_append, for a whole record staying on its list l:
 * most packets' case.  The list neither empties nor changes its count,
 * and what the pair would do to the list's head, tail and aside_from is
 * done once: the pair took about 80 instructions a packet.  As last, c
 * stays where it is; its time only grew, so the earliest times kept for
 * the list (next_due_us, aside_due_us) still hold.
 */
static void list_move_to_tail(struct cs_flow_table *t, struct cs_conn *c,
			      enum cs_flow_list l)
{
	cs_conn_ref ref = ref_of(t, c), tail = t->lists[l].tail;

	if (tail != ref) {
		cs_conn_ref prev = c->lru_prev, next = c->lru_next;
		point_neighbours(t, l, prev, next, next, prev);
		if (t->aside_from[l] == ref)
			aside_from_is(t, l, next);
		c->lru_prev = tail;
		c->lru_next = 0;
		*next_of(t, tail) = ref;
		t->lists[l].tail = ref;
	}
	if (!t->aside_from[l])	/* all before it went aside */
		aside_from_is(t, l, ref);
}

void cs_flow_touch_on_list(struct cs_flow_table *t, struct cs_conn *c,
			   uint64_t now_us)
{
	CS_ASSERT(cs_flow_classify(c) == c->list);
	if (now_us > c->last_ts_us)
		c->last_ts_us = now_us;
	list_move_to_tail(t, c, (enum cs_flow_list)c->list);
}

void cs_flow_touch(struct cs_flow_table *t, struct cs_conn *c, uint64_t now_us)
{
	enum cs_flow_list l = cs_flow_classify(c);

	if (now_us > c->last_ts_us)
		c->last_ts_us = now_us;
	if (l == c->list) {
		list_move_to_tail(t, c, l);
		return;
	}
	list_unlink(t, ref_of(t, c), (enum cs_flow_list)c->list);
	list_append(t, c, l);
}

/* When the head of list l is due with the timeouts of `count` records:
 * CS_TIME_NEVER if after the last packet time (pkttime.h). */
static uint64_t head_due(const struct cs_flow_table *t, enum cs_flow_list l,
			 uint64_t count)
{
	return cs_time_add(last_ts_of(t, t->lists[l].head), timeout_at(t, l, count));
}

/*
 * Each list is in order of last activity, so only its head can be due.
 * next_due_us, the earliest head's time, saves looking at the four heads
 * for every packet: a head only ever gives way to a later one, except when
 * a record lands on an empty list (list_append lowers next_due_us then).
 * Past adaptive_start the timeouts shrink as the table fills, so the time
 * is worked out with the timeouts of a table fuller by a little
 * (due_slack): it holds until the count passes that, and the table is
 * not rescanned for every packet whose count moved by one.
 *
 * That time is early, though: from it until the heads are due with the
 * timeouts of the table as it is, every packet looked at the heads again
 * and found none due -- on LARGE, 3,978,514 of its 10 million packets, a
 * tenth of the analysing thread's instructions.  So the heads' time with
 * the count as it is (exact_due_us) is kept too: it holds while the count
 * does not grow, which a packet that opens no record tells.
 */
static uint64_t due_slack(const struct cs_flow_table *t)
{
	uint64_t end = t->adaptive_end;
	uint64_t range = end > t->adaptive_start ? end - t->adaptive_start : 0;

	return range / 1024 + 1;
}

/* When the first list head is due with the timeouts of `count` records. */
static uint64_t first_due(const struct cs_flow_table *t, uint64_t count)
{
	uint64_t first = CS_TIME_NEVER;

	for (int l = 0; l < CS_LIST_MAX; l++) {
		if (!t->lists[l].head)
			continue;
		uint64_t due = head_due(t, (enum cs_flow_list)l, count);
		if (due < first)
			first = due;
	}
	return first;
}

static void next_due_find(struct cs_flow_table *t)
{
	uint64_t end = t->adaptive_end;
	uint64_t count = t->count + due_slack(t);

	if (count > end)
		count = end;
	if (count < t->adaptive_start)
		count = t->adaptive_start;
	t->next_due_count = count;
	t->next_due_us = first_due(t, count);
	t->exact_due_count = t->count;
	t->exact_due_us = count > t->adaptive_start ? first_due(t, t->count) :
			  t->next_due_us;	/* (the timeouts are the same) */
}

unsigned cs_flow_expire_due(struct cs_flow_table *t, uint64_t now_us,
			    unsigned max_work)
{
	/* What matters least first, as eviction does, when work is short. */
	static const enum cs_flow_list order[CS_LIST_MAX] = {
		CS_LIST_HELD_RESET, CS_LIST_HELD_CLOSED, CS_LIST_HELD_HALF_OPEN,
		CS_LIST_HELD_EMBRYONIC, CS_LIST_HELD_ACTIVE,
		CS_LIST_RESET, CS_LIST_CLOSED, CS_LIST_EMBRYONIC, CS_LIST_ACTIVE,
	};
	unsigned n = 0;

	t->due_scans++;
	for (int i = 0; i < CS_LIST_MAX; i++) {
		enum cs_flow_list l = order[i];
		while (n < max_work && t->lists[l].head &&
		       head_due(t, l, t->count) <= now_us) {
			prefetch_next(t, t->lists[l].head);
			if (cs_flow_list_is_held(l)) {	/* evicted, not expired */
				held_leave(t, t->lists[l].head, now_us, false);
				n++;
				continue;
			}
			struct cs_conn *c = full_record(t, t->lists[l].head);
			/* before its time: the table is filling (emergency) */
			if (cs_time_add(c->last_ts_us, t->base_timeout[l]) > now_us)
				t->expired_early++;
			cs_flow_remove(t, c, now_us);
			t->expired++;
			n++;
		}
	}
	next_due_find(t);
	return n;
}

/* Sorting (id, record) pairs rather than pointers to records keeps the
 * comparisons in cache: a pointer sort reads every record again and again. */
struct by_id_entry {
	uint64_t id;
	cs_conn_ref ref;
};

static int by_id(const void *a, const void *b)
{
	uint64_t x = ((const struct by_id_entry *)a)->id;
	uint64_t y = ((const struct by_id_entry *)b)->id;
	return x < y ? -1 : x > y;
}

/* How far ahead of the record leaving, at the end, its entry and then
 * its packed bytes are asked for (drain_in_order). */
#define FLUSH_ENTRY_AHEAD 8
#define FLUSH_BYTES_AHEAD 4

/*
 * In order of creation, the records leaving at the end are scattered over
 * memory: one set aside took two waits on it (its entry, then its packed
 * bytes) before it could be unpacked.  Each is asked for a few records
 * ahead, the bytes once the entry, which says where they are, has come.
 */
static void prefetch_draining(const struct cs_flow_table *t,
			      const cs_conn_ref *refs, size_t i, size_t n)
{
	if (i + FLUSH_ENTRY_AHEAD < n && is_set_aside(refs[i + FLUSH_ENTRY_AHEAD]))
		__builtin_prefetch(entry_of(t, refs[i + FLUSH_ENTRY_AHEAD]));
	if (i + FLUSH_BYTES_AHEAD >= n)
		return;
	cs_conn_ref r = refs[i + FLUSH_BYTES_AHEAD];
	if (is_set_aside(r))
		cs_aside_prefetch(&t->aside, aside_index(r));
	else
		prefetch_whole(&t->conns[r]);
}

/* The table emptied at once, at the end of a drain (below): each record
 * still in use was handed out and counted off already. */
static void empty_table(struct cs_flow_table *t)
{
	CS_ASSERT(t->count == 0 && t->held_count == 0);
	memset(t->slots, 0, ((size_t)t->slot_mask + 1) * sizeof *t->slots);
	free(t->old_slots);
	t->old_slots = NULL;
	t->old_mask = t->old_next = t->old_left = 0;
	memset(t->lists, 0, sizeof t->lists);
	memset(t->aside_from, 0, sizeof t->aside_from);
	t->aside_due_us = UINT64_MAX;
	if (t->aside_on)	/* its pages go back too */
		cs_aside_clear(&t->aside);
	next_due_find(t);
}

/*
 * refs[0..n) -- every record in use -- to the done callback in that order,
 * at the end of the capture.  Nothing looks a record up again, so each
 * leaves without the upkeep of the index and of its list's links (the
 * table is emptied after the last): a record set aside is unpacked into
 * one scratch record, rather than into a record of the table put back
 * into the index and the list it would leave at once.  That upkeep was a
 * third of the end-of-capture flush (tests/bench/PROFILE.md).  The counts
 * stay right for the callback: the table's and each list's.
 */
static void drain_in_order(struct cs_flow_table *t, const cs_conn_ref *refs,
			   size_t n, uint64_t now_us)
{
	struct cs_conn scratch;

	for (size_t i = 0; i < n; i++) {
		prefetch_draining(t, refs, i, n);
		cs_conn_ref r = refs[i];
		struct cs_conn *c = &t->conns[r];
		if (is_set_aside(r)) {
			c = &scratch;
			unpack_copy(t, r, c);
		}
		c->lru_prev = 0;	/* it held part of the id (flush_by_place) */
		t->lists[c->list].count--;
		if (cs_flow_list_is_held(c->list))	/* (out of the count) */
			t->held_count--;
		else
			t->count--;
		if (t->done)
			t->done(t->done_ctx, c, now_us);
		if (c != &scratch)
			free_record(t, c);
	}
	empty_table(t);
}

/* Every list's back links again, after flush_by_place (below) used them. */
static void relink_back(struct cs_flow_table *t)
{
	for (int l = 0; l < CS_LIST_MAX; l++) {
		cs_conn_ref prev = 0;
		for (cs_conn_ref r = t->lists[l].head; r; r = *next_of(t, r)) {
			*prev_of(t, r) = prev;
			prev = r;
		}
	}
}

/* Past this many ids per record in the table, flush_by_place gives way to
 * the sort: its array would take more memory than the sort's pairs. */
#define PLACE_IDS_PER_RECORD 4u

/* How far ahead of the entry in hand, walking the entries set aside in
 * the order of memory, its packed bytes (which hold its id) are asked for. */
#define WALK_BYTES_AHEAD 8

/*
 * The record in use after ref (0: the first), whole ones first, then those
 * set aside, each in the order of memory; 0 after the last.  Walking the
 * lists instead waited on memory at every link: on LARGE, 711,475 records
 * at the end, each pass took 100 ms (tests/bench/PROFILE.md).
 */
static cs_conn_ref next_in_memory(const struct cs_flow_table *t, cs_conn_ref ref)
{
	if (!is_set_aside(ref)) {
		while (++ref < t->never_used)
			if (t->conns[ref].in_use)
				return ref;
		if (!t->aside_on)
			return 0;
		ref = CS_FLOW_REF_SET_ASIDE;	/* entry 0 is "none" */
	}
	const struct cs_aside *a = &t->aside;
	uint32_t end = cs_aside_end(a);
	for (uint32_t i = aside_index(ref) + 1; i < end; i++) {
		uint32_t ahead = i + WALK_BYTES_AHEAD;
		if (ahead < end && cs_aside_in_use(a, ahead))
			cs_aside_prefetch(a, ahead);
		if (cs_aside_in_use(a, i))
			return CS_FLOW_REF_SET_ASIDE | i;
	}
	return 0;
}

/*
 * Ids are given in order of creation, so the records left at the end of
 * a capture hold ids from a range not much wider than their count: each
 * is put in its place in an array over that range, and the array read in
 * order is the order of the ids, with no sort.  False, having removed
 * nothing, when the range is too wide or memory is short.
 */
static bool flush_by_place(struct cs_flow_table *t, uint64_t now_us)
{
	uint64_t lo = UINT64_MAX, hi = 0, walked = 0;

	/*
	 * An id aside is unpacked to be read.  Its low 32 bits wait in the
	 * record's back link, which nothing walks from here on, for the
	 * second pass: hi - lo is below 2^32 there (count * 4 at most), so
	 * they give its place.  Read twice, the ids were a sixth of the
	 * flush on SMALL; an array of them took 5.6 MiB more at LARGE's
	 * peak.
	 */
	for (cs_conn_ref r = next_in_memory(t, 0); r; r = next_in_memory(t, r)) {
		uint64_t id = id_of(t, r);
		*prev_of(t, r) = (cs_conn_ref)id;
		lo = id < lo ? id : lo;
		hi = id > hi ? id : hi;
		walked++;
	}
	/* every record in use is on a list, and counted there */
	CS_ASSERT(walked == (uint64_t)t->count + t->held_count);
	if (lo > hi)
		return true;	/* empty */
	cs_conn_ref *at = NULL;
	uint64_t entries = (uint64_t)t->count + t->held_count;
	if (hi - lo < entries * PLACE_IDS_PER_RECORD)
		at = calloc((size_t)(hi - lo + 1), sizeof *at);
	if (!at) {		/* the sort's turn: it unlinks records */
		relink_back(t);
		return false;
	}
	_Static_assert(sizeof(cs_conn_ref) == 4, "a back link holds 32 bits of an id");
	for (cs_conn_ref r = next_in_memory(t, 0); r; r = next_in_memory(t, r)) {
		uint32_t place = *prev_of(t, r) - (uint32_t)lo;
		CS_ASSERT(place <= hi - lo && !at[place]);	/* ids are unique */
		at[place] = r;
	}
	size_t n = 0;		/* the array without its holes */
	for (uint64_t i = 0; i <= hi - lo; i++)
		if (at[i])
			at[n++] = at[i];
	drain_in_order(t, at, n, now_us);
	free(at);
	return true;
}

/* ref leaves at the end of the capture, the table's upkeep kept. */
static void leave_at_end(struct cs_flow_table *t, cs_conn_ref ref, uint64_t now_us)
{
	if (is_held(t, ref))
		held_leave(t, ref, now_us, false);
	else
		cs_flow_remove(t, full_record(t, ref), now_us);
}

void cs_flow_flush(struct cs_flow_table *t, uint64_t now_us)
{
	/* Every connection ends here: nothing later can belong to one. */
	cs_evicted_clear(&t->evicted_keys);
	if (t->packer)		/* what it packs stays whole: no matter now */
		cs_packer_forget(t->packer);
	if (flush_by_place(t, now_us))
		return;

	uint32_t n = 0;
	size_t all_n = (size_t)t->count + t->held_count;
	struct by_id_entry *all = malloc((all_n + 1) * sizeof *all);

	if (!all) {		/* no memory to sort: list order will do */
		for (int l = 0; l < CS_LIST_MAX; l++)
			while (t->lists[l].head)
				leave_at_end(t, t->lists[l].head, now_us);
		return;
	}
	for (int l = 0; l < CS_LIST_MAX; l++)
		for (cs_conn_ref r = t->lists[l].head; r; r = *next_of(t, r))
			all[n++] = (struct by_id_entry){ id_of(t, r), r };
	qsort(all, n, sizeof *all, by_id);
	/* (Ids spread this wide are rare: these leave one at a time, with
	 * the upkeep drain_in_order saves.) */
	for (uint32_t i = 0; i < n; i++)
		leave_at_end(t, all[i].ref, now_us);
	free(all);
}
