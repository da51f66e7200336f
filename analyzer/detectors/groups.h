/*
 * groups.h — a fixed-size table of per-host (or per-host-pair) counters.
 *
 * The detectors aggregate connections by who holds a state and whom they
 * talk to.  Each keeps its own entries (the key first), in one allocation
 * made at first use and never grown: a flood of distinct hosts cannot make
 * a detector allocate, it only fills the table, and what does not fit is
 * counted as untracked.  The detectors keep their entries; a table whose
 * groups come and go (the open connections' verdicts) removes them.
 */
#ifndef CS_ANALYZER_GROUPS_H
#define CS_ANALYZER_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyzer/detectors/distinct.h"
#include "analyzer/tracking/conn.h"
#include "capture/packet.h"

struct cs_group_key {
	struct cs_addr host;	/* who holds the state */
	struct cs_addr peer;	/* the other end, or all zero */
	uint16_t port;		/* the service port */
	uint8_t side;		/* 0: the holder is the originator */
};

/* Bits of the hash that say "an entry may exist": 8 KiB that stay in the
 * cache, so that asking for a group nobody created costs no memory load
 * of the table (most lookups: a new client with no TIME_WAIT yet). */
#define CS_GROUPS_FILTER_BITS (1u << 16)

struct cs_groups {
	void *entries;		/* capacity entries of entry_size bytes */
	uint16_t *tags;		/* per slot: 0 empty, else 16 bits of its hash */
	uint64_t *written;	/* pages of entries ever written (written.h) */
	size_t entry_size;
	uint32_t capacity;	/* slots: a power of two */
	uint32_t limit;		/* entries made at most */
	uint32_t used;
	uint64_t untracked;	/* lookups that found no room */
	uint64_t filter[CS_GROUPS_FILTER_BITS / 64];	/* set when created */
};

void cs_groups_init(struct cs_groups *g, size_t entry_size, uint32_t capacity);

/* A table of at most `limit` entries that never removes them (a
 * detector's groups keep their history for the alerts): its slots are
 * kept at most half full, so that lookups stay a probe or two once it
 * has filled, where cs_groups_init's 7/8 would cost ten. */
void cs_groups_init_sparse(struct cs_groups *g, size_t entry_size,
			   uint32_t limit);
void cs_groups_fini(struct cs_groups *g);
/* dst (uninitialised) becomes a copy of src: -1 without the memory, dst
 * then holding no entries. */
int cs_groups_clone(struct cs_groups *dst, const struct cs_groups *src);

/* The entry for k, created if asked and room remains (below the limit);
 * NULL otherwise.  A new entry is zeroed with its key set. */
void *cs_groups_find(struct cs_groups *g, const struct cs_group_key *k,
		     bool create);

/*
 * A key's hash from its parts' (each address by cs_distinct_hash_addr):
 * a caller that looks up several keys sharing an address (the scan
 * detector: a source's pair with its target host, and with its target
 * port) hashes that address once.
 */
static inline uint64_t cs_group_hash_parts(uint64_t host_hash,
					   uint64_t peer_hash, uint16_t port,
					   uint8_t side)
{
	return host_hash ^ peer_hash * 31u ^
	       ((uint64_t)port << 1 | side) * 0x9e3779b97f4a7c15ull;
}

static inline uint64_t cs_group_hash(const struct cs_group_key *k)
{
	return cs_group_hash_parts(cs_distinct_hash_addr(k->host.b),
				   cs_distinct_hash_addr(k->peer.b), k->port,
				   k->side);
}

/* The filter's answer for a key's hash: false when no entry with it was
 * ever made (true may be wrong: an entry with the same filter bit). */
static inline bool cs_groups_may_hold(const struct cs_groups *g, uint64_t hash)
{
	/* the filter takes the hash's high bits, the table its low ones */
	uint32_t bit = (uint32_t)(hash >> 48) & (CS_GROUPS_FILTER_BITS - 1);

	return g->filter[bit / 64] >> (bit % 64) & 1;
}

/* No room for another entry. */
static inline bool cs_groups_full(const struct cs_groups *g)
{
	return g->used >= g->limit;
}

/* cs_groups_find for a key whose cs_group_hash the caller has. */
void *cs_groups_find_hashed(struct cs_groups *g, const struct cs_group_key *k,
			    uint64_t hash, bool create);

/* Removes an entry cs_groups_find returned; pointers to other entries
 * may move (ask again). */
void cs_groups_remove(struct cs_groups *g, void *entry);

/* The key of endpoint `side` of c, as the state detectors count it: a
 * client (side 0) per the server ip:port it talks to, a server (side 1)
 * per its own ip:port, whoever the clients. */
void cs_group_key_of(const struct cs_conn *c, int side, struct cs_group_key *k);

/*
 * The head of a state detector's entries (TIME_WAIT, CLOSE_WAIT): the key
 * first, as cs_groups_find wants it, then what each of them counts of the
 * stays in its state.
 */
struct cs_group_stays {
	struct cs_group_key k;
	uint64_t entered;	/* stays begun */
	uint32_t held;		/* stays going on */
	int32_t alert;		/* index in the alert list; negative: none */
};

/* Endpoint `side` of c entered the state counted in g, whose entries
 * begin with a struct cs_group_stays: its entry, created if room remains,
 * with the stay counted (a new one has no alert); NULL when there is no
 * room. */
void *cs_groups_enter(struct cs_groups *g, const struct cs_conn *c, int side);

/* Entry i of the table (for walking it), NULL if unused. */
void *cs_groups_at(const struct cs_groups *g, uint32_t i);

#endif /* CS_ANALYZER_GROUPS_H */
