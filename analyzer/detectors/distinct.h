/*
 * distinct.h — how many different sources: exact while few, HyperLogLog after.
 *
 * A SYN flood from spoofed addresses has as many sources as packets; a
 * normal server has a handful.  The set starts as a short exact list of
 * hashes; when the list overflows — if the caller allows it (a flood-like
 * target) and the shared budget (CS_DISTINCT_DENSE_MAX) has room — it
 * becomes an exact hash set of CS_DISTINCT_SET_SLOTS (32 KiB, exact up to
 * CS_DISTINCT_SET_MAX: a count a person checks against tcpdump should be
 * right), and past that a dense HyperLogLog (2^14 one-byte registers:
 * 16 KiB, standard error 1.04/128 = 0.8%).  Otherwise additions that fit
 * nowhere are counted as `spill` (repeats included: the estimate is
 * approximate then, and says so), so memory is bounded whatever the
 * traffic.  The estimate is never more than the additions made.
 */
#ifndef CS_ANALYZER_DISTINCT_H
#define CS_ANALYZER_DISTINCT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "analyzer/tracking/hash.h"

#define CS_DISTINCT_EXACT 16
#define CS_DISTINCT_P 14
#define CS_DISTINCT_DENSE_MAX 256	/* 256 x 32 KiB = 8 MiB at most */
#define CS_DISTINCT_SET_SLOTS 4096	/* a power of two */
#define CS_DISTINCT_SET_MAX (CS_DISTINCT_SET_SLOTS / 8 * 7)	/* 3,584 */

struct cs_distinct {
	uint64_t exact[CS_DISTINCT_EXACT];	/* hashes, while few */
	uint8_t n_exact;
	uint64_t *set;		/* CS_DISTINCT_SET_SLOTS hashes, then */
	uint32_t n_set;
	uint8_t *regs;		/* 2^P registers once dense */
	uint64_t spill;		/* additions neither list nor registers held */
	uint64_t added;		/* additions, repeats included */
};

/* Shared budget of sets and dense registers (one per cs_distinct that has
 * either), counted across all cs_distinct. */
struct cs_distinct_pool {
	uint32_t dense;
};

/* allow_dense: may take registers from the pool if the list is full. */
void cs_distinct_add(struct cs_distinct *d, struct cs_distinct_pool *pool,
		     uint64_t hash, bool allow_dense);
uint64_t cs_distinct_estimate(const struct cs_distinct *d);

/* True when the estimate includes spilled additions (approximate). */
static inline bool cs_distinct_approximate(const struct cs_distinct *d)
{
	return d->spill > 0;
}
void cs_distinct_fini(struct cs_distinct *d, struct cs_distinct_pool *pool);

/* A 64-bit hash of an address, for the estimator (and the detectors'
 * tables).  Inline: the scan and SYN-flood detectors hash two or three
 * addresses for every SYN, and a call costs as much as the hash. */
static inline uint64_t cs_distinct_hash_addr(const uint8_t addr[16])
{
	uint64_t a, b;

	memcpy(&a, addr, 8);
	memcpy(&b, addr + 8, 8);
	return cs_mix64(a * 0x9e3779b97f4a7c15ull ^ b);
}

#endif /* CS_ANALYZER_DISTINCT_H */
