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
	uint32_t at : 30;		/* its record's place in the file */
	uint32_t list : 2;		/* enum cs_flow_list */
};

/* Records are written and read a chunk at a time (aside.c). */
#define CS_ASIDE_CHUNK_RECORDS 64u
#define CS_ASIDE_CACHE_CHUNKS 8u

struct cs_aside {
	struct cs_aside_entry *entries;	/* [1..cap]; [0] is "none" */
	uint32_t cap;
	uint32_t never_used;		/* next entry never handed out */
	uint32_t free_head;		/* freed entries, linked by lru_next */
	uint32_t count;			/* entries in use */
	FILE *file;			/* the records, in chunks */
	/* The file's chunks: records still aside in each, and the chunks
	 * free to fill again (no record left in them), last freed on top. */
	uint16_t *live;			/* [chunks] */
	uint32_t *free_chunks;		/* [chunks] */
	uint32_t chunks, free_cnt, chunks_used;
	/* The chunk being filled, in memory until it is full. */
	struct cs_conn *fill_buf;	/* [CS_ASIDE_CHUNK_RECORDS] */
	uint32_t fill, fill_n;
	bool fill_written;
	/* Chunks read whole, for the expiry (round robin), and one record
	 * read alone, for a lookup, which compares keys and then takes it. */
	struct cs_conn *cache;		/* [CACHE_CHUNKS][CHUNK_RECORDS] */
	uint32_t cache_chunk[CS_ASIDE_CACHE_CHUNKS];
	uint32_t cache_next;
	struct cs_conn *one;
	uint32_t one_at;
	/* Records read ahead for the end-of-capture flush, in the order it
	 * takes them (cs_aside_read_batch). */
	struct cs_conn *batch;		/* [CS_ASIDE_BATCH_MAX] */
	uint32_t *batch_i;		/* their entries */
	uint32_t batch_n, batch_next;
	uint64_t put_cnt;		/* records set aside, in all */
	uint64_t write_cnt, read_cnt;	/* calls to write and read the file */
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

/* Copies the record of entry i into *out and frees the entry.  With
 * ahead, its whole chunk is read and kept: the records around it are
 * likely next (the expiry's order is the order they went aside).  A file
 * that cannot be read (a failing disk) stops the program with a message:
 * going on without the record would report it wrong. */
void cs_aside_take(struct cs_aside *s, uint32_t i, struct cs_conn *out,
		   bool ahead);

/*
 * Reads the records of entries idx[0..n), n at most CS_ASIDE_BATCH_MAX,
 * for cs_aside_take to take in that order.  The flush takes records in
 * order of id, which is not the order they went aside in: one read per
 * record would be most of its time.  These are read in the file's order,
 * each run of them in a chunk with one call.  Without the memory for it,
 * each is read when taken.
 */
#define CS_ASIDE_BATCH_MAX 2048u
void cs_aside_read_batch(struct cs_aside *s, const uint32_t *idx, uint32_t n);

static inline struct cs_aside_entry *cs_aside_entry(const struct cs_aside *s,
						    uint32_t i)
{
	return &s->entries[i];
}

#endif /* CS_ANALYZER_ASIDE_H */
