/*
 * aside.h — quiet connections set aside: a 32-byte entry in memory, the
 * whole record in a temporary file.
 *
 * A connection in TIME_WAIT stays in the flow table for 2*MSL (60 s), so
 * that a SYN reusing its 4-tuple, a late segment or a RST after the close
 * is judged against it; an unanswered SYN stays for the attempt timeout
 * (60 s), a reset connection for the reset linger.  Most never see another
 * packet, yet each held a whole record (about 700 bytes): under a SYN
 * flood, or with many short connections, these are nearly all of the
 * table.  Set aside, such a record costs one entry here -- the hash the
 * index files it under, the time and id the table expires and flushes it
 * by, and its place on its list -- while the record itself waits in an
 * unlinked temporary file, at the entry's index.  When a packet, the
 * expiry or the end of the capture needs it, it is read back whole and
 * carries on exactly as if it had never left: nothing reported depends on
 * where a record waited.
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
 * back.  The key is not kept: a lookup whose hash matches an entry reads
 * the key from the file (a hash match with another key is about one in
 * 2^32 lookups).
 */
#ifndef CS_ANALYZER_ASIDE_H
#define CS_ANALYZER_ASIDE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "analyzer/tracking/conn.h"

/* One record set aside: 32 bytes, two to a cache line. */
struct cs_aside_entry {
	cs_conn_ref lru_prev, lru_next;	/* its place on its list */
	uint64_t last_ts_us;		/* its expiry is due from this */
	uint64_t id;			/* the end-of-capture flush sorts by it */
	uint32_t hash;			/* of its key: where the index has it */
	uint8_t list;			/* enum cs_flow_list */
};

struct cs_aside {
	struct cs_aside_entry *entries;	/* [1..cap]; [0] is "none" */
	uint32_t cap;
	uint32_t never_used;		/* next entry never handed out */
	uint32_t free_head;		/* freed entries, linked by lru_next */
	uint32_t count;			/* entries in use */
	FILE *file;			/* the records, at index * record size */
	/* The last record read, kept: a lookup reads it to compare keys,
	 * and taking it back then needs no second read. */
	struct cs_conn *last;
	uint32_t last_i;		/* its entry, or 0 */
	uint64_t put_cnt;		/* records written out, in all */
	uint64_t read_cnt;		/* records read back from the file */
};

/* Room for cap entries (touched only as they are used) and the file;
 * -1 when either cannot be had: then nothing is set aside. */
int cs_aside_init(struct cs_aside *s, uint32_t cap);
void cs_aside_fini(struct cs_aside *s);

/* Writes c out and returns its entry's index (time, id and hash filled,
 * links zero), or 0 when it cannot be written (the caller keeps c). */
uint32_t cs_aside_put(struct cs_aside *s, const struct cs_conn *c,
		      uint32_t hash);

/* Is k the key of the record of entry i? */
bool cs_aside_key_is(struct cs_aside *s, uint32_t i, const struct cs_flow_key *k);

/* Copies the record of entry i into *out and frees the entry.  A file
 * that cannot be read (a failing disk) stops the program with a message:
 * going on without the record would report it wrong. */
void cs_aside_take(struct cs_aside *s, uint32_t i, struct cs_conn *out);

static inline struct cs_aside_entry *cs_aside_entry(const struct cs_aside *s,
						    uint32_t i)
{
	return &s->entries[i];
}

#endif /* CS_ANALYZER_ASIDE_H */
