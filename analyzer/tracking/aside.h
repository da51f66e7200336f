/*
 * aside.h — quiet connections set aside: a 24-byte entry, and the record
 * packed small (pack.h), in memory.
 *
 * A connection in TIME_WAIT stays in the flow table for 2*MSL (60 s), so
 * that a SYN reusing its 4-tuple, a late segment or a RST after the close
 * is judged against it; an unanswered SYN stays for the attempt timeout
 * (60 s), a reset connection for the reset linger.  Most never see another
 * packet, yet each held a whole record (about 700 bytes): under a SYN
 * flood, or with many short connections, these are nearly all of the
 * table.  Set aside, such a record costs one entry here -- the hash the
 * index files it under, the time the table expires it by, and its place
 * on its list -- and its packed bytes, about a thirteenth of the record
 * (54 bytes on average on LARGE).  When a packet, the expiry or the end
 * of the capture needs it, it is unpacked whole and carries on exactly
 * as if it had never left: nothing reported depends on where a record
 * waited.
 *
 * Why not finish a closed record at once, write its row and keep only
 * what a later packet is judged by?  Its row would change: rows are
 * written in the order records leave the table (at expiry, or sorted by id
 * at the end of the capture), a TIME_WAIT that ran its 2*MSL is reported
 * CLOSED while one cut short by the end of the capture is not, and a late
 * segment still adds to its counts and history (tests/bench/PROFILE.md).
 *
 * The flow table (flow.c) decides what goes aside and when, and links the
 * entries into its lists and index; this module only stores and gives
 * back.  Packed bytes live in 1 MiB pages, in blocks of 8-byte units;
 * a block given back is reused by the next record of its size, or split
 * for a smaller one (aside.c).
 */
#ifndef CS_ANALYZER_ASIDE_H
#define CS_ANALYZER_ASIDE_H

#include <stdbool.h>
#include <stdint.h>

#include "analyzer/tracking/conn.h"
#include "analyzer/tracking/pack.h"

/* One record set aside: 24 bytes.  Its id, which only the end of the
 * capture's flush sorts by, is packed (cs_aside_id). */
struct cs_aside_entry {
	cs_conn_ref lru_prev, lru_next;	/* its place on its list */
	uint64_t last_ts_us;		/* its expiry is due from this */
	uint32_t hash;			/* of its key: where the index has it */
	uint32_t at : 28;		/* its packed record's block (aside.c); 0 free */
	uint32_t list : 4;		/* enum cs_flow_list */
};
_Static_assert(sizeof(struct cs_aside_entry) == 24, "an entry is 24 bytes");

struct cs_aside {
	struct cs_aside_entry *entries;	/* [1..cap]; [0] is "none" */
	uint32_t cap;
	uint32_t never_used;		/* next entry never handed out */
	uint32_t free_head;		/* freed entries, linked by lru_next */
	uint32_t count;			/* entries in use */
	/* The packed records' pages, and the blocks given back, by size in
	 * units: the head of each size's list (0: none). */
	uint8_t **pages;
	uint32_t pages_cap, pages_used;
	uint32_t fill_at;		/* first unit never used */
	uint32_t *free_blocks;		/* [size in units] */
	uint64_t sizes_free[2];		/* bit n: free_blocks[n] is not empty */
	struct cs_pack_dict *dict;	/* the packed records' templates */
	uint64_t put_cnt;		/* records set aside, in all */
	uint64_t packed_bytes;		/* the blocks of those aside now */
};

/* Room for cap entries (touched only as they are used); -1 without the
 * memory for it: then nothing is set aside. */
int cs_aside_init(struct cs_aside *s, uint32_t cap);
void cs_aside_fini(struct cs_aside *s);
/* Forgets every entry at once and gives the packed records' pages back;
 * the entries' array and the templates stay (the end of a capture:
 * flow.c).  Made anew instead, the array of entries was cleared again,
 * 24 MiB by default. */
void cs_aside_clear(struct cs_aside *s);

/* Packs c and returns its entry's index (time, id and hash filled, links
 * zero), or 0 without the memory for it (the caller keeps c). */
uint32_t cs_aside_put(struct cs_aside *s, const struct cs_conn *c,
		      uint32_t hash);
/* The same for a record packed already (into n bytes, followed by
 * CS_PACK_SLACK readable ones) by another thread (packer.h): its last
 * packet's time as it was then. */
uint32_t cs_aside_put_packed(struct cs_aside *s, const uint8_t *packed,
			     size_t n, uint64_t last_ts_us, uint32_t hash);

/* Is k the key of the record of entry i? */
bool cs_aside_key_is(struct cs_aside *s, uint32_t i, const struct cs_flow_key *k);

/* The id of the record of entry i. */
uint64_t cs_aside_id(const struct cs_aside *s, uint32_t i);
/* A few bytes of it, unpacked alone (cs_conn_unpack_bytes). */
void cs_aside_read(const struct cs_aside *s, uint32_t i, size_t offset,
		   size_t len, void *out);

/* Unpacks the record of entry i into *out and frees the entry. */
void cs_aside_take(struct cs_aside *s, uint32_t i, struct cs_conn *out);
/* Unpacks it and keeps the entry (the end of the capture: flow.c). */
void cs_aside_unpack(const struct cs_aside *s, uint32_t i, struct cs_conn *out);

/* Fetches the packed bytes of entry i into the cache, for a take soon. */
void cs_aside_prefetch(const struct cs_aside *s, uint32_t i);

static inline struct cs_aside_entry *cs_aside_entry(const struct cs_aside *s,
						    uint32_t i)
{
	return &s->entries[i];
}

/* Entries [1, cs_aside_end) may be in use: the rest were never handed out. */
static inline uint32_t cs_aside_end(const struct cs_aside *s)
{
	return s->never_used;
}

/* Entry i holds a record (a free one has no block). */
static inline bool cs_aside_in_use(const struct cs_aside *s, uint32_t i)
{
	return s->entries[i].at != 0;
}

#endif /* CS_ANALYZER_ASIDE_H */
