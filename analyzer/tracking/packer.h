/*
 * packer.h — quiet records packed on a thread of their own.
 *
 * Packing a record that goes aside (pack.h) takes about 2,000
 * instructions: a seventh of the analysing thread's work on SMALL, more on
 * LARGE, while the second core waits on it.  So the flow table hands the
 * packer a copy of each record due to go aside; a thread packs the copies
 * a batch at a time; and on a later packet the flow table takes the packed
 * bytes back and sets each record aside with them -- if it is still the
 * record that was copied, byte for byte: a packet may have come for it
 * since, or it may have left the table.  Until then it stays whole where
 * it was.  Packing is a function of the record alone (and of templates
 * that never change once made), so a record set aside this way is the
 * one the flow table would have packed itself.
 *
 * Two batches: the flow table fills one while the thread packs the other.
 * When both are out (with the thread, or packed and not taken yet),
 * cs_packer_add refuses: the record waits whole, or the flow table packs
 * it itself, with templates of its own (CS_PACK_PACKERS), when too many
 * wait (flow.c).
 *
 * Only the flow table's thread calls these.
 */
#ifndef CS_ANALYZER_PACKER_H
#define CS_ANALYZER_PACKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "analyzer/tracking/conn.h"
#include "analyzer/tracking/pack.h"

/* Records a batch: SMALL sets aside about 112,650 records, so the thread
 * is woken about 450 times (each wake-up costs the waker a system call). */
#define CS_PACKER_BATCH 256

enum cs_packer_state {
	CS_PACKER_FILLING,	/* the flow table's: records being added */
	CS_PACKER_PACKING,	/* the thread's */
	CS_PACKER_PACKED,	/* the flow table's again: bytes to take */
};

struct cs_packer_batch {
	_Atomic int state;		/* enum cs_packer_state */
	uint32_t n;			/* records in it */
	cs_conn_ref ref[CS_PACKER_BATCH];	/* where each was */
	uint32_t at[CS_PACKER_BATCH];	/* its packed bytes: packed + at[i] */
	uint32_t len[CS_PACKER_BATCH];	/* and how many */
	struct cs_conn copy[CS_PACKER_BATCH];
	/* Written only as far as the records take (about 60 bytes each). */
	uint8_t packed[CS_PACKER_BATCH * CS_PACK_MAX];
};

struct cs_packer {
	struct cs_pack_dict *dict;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t work;		/* a batch was handed over, or stop */
	pthread_cond_t done;		/* a batch was packed */
	bool stop, asleep;		/* under mu */
	unsigned filling;		/* the batch records are added to */
	struct cs_packer_batch batch[2];
};

/* A packer packing with dict's templates of packer 1, its thread
 * started; NULL without the memory or a thread (the caller packs). */
struct cs_packer *cs_packer_start(struct cs_pack_dict *dict);
/* Stops the thread and frees p (NULL is fine). */
void cs_packer_stop(struct cs_packer *p);

/* Adds a copy of c, at ref in the flow table, to be packed; false when
 * there is no room: c is not copied. */
bool cs_packer_add(struct cs_packer *p, cs_conn_ref ref, const struct cs_conn *c);

/* A batch packed, to take the bytes from, or NULL; the caller gives it
 * back with cs_packer_taken before asking for the next. */
struct cs_packer_batch *cs_packer_packed(struct cs_packer *p);
void cs_packer_taken(struct cs_packer_batch *b);

/* Is there a batch packed?  Inline: asked at every packet, two loads. */
static inline bool cs_packer_has_packed(struct cs_packer *p)
{
	return atomic_load_explicit(&p->batch[0].state, memory_order_relaxed) ==
		       CS_PACKER_PACKED ||
	       atomic_load_explicit(&p->batch[1].state, memory_order_relaxed) ==
		       CS_PACKER_PACKED;
}

/* Forgets every record added, packed or not, once the thread has
 * finished with them (the end of a capture: its records are all
 * whole). */
void cs_packer_forget(struct cs_packer *p);

#endif /* CS_ANALYZER_PACKER_H */
