/*
 * distinct.h — how many different sources: exact while few, HyperLogLog after.
 *
 * A SYN flood from spoofed addresses has as many sources as packets; a
 * normal server has a handful.  The set starts as a short exact list of
 * hashes and becomes a dense HyperLogLog (2^14 one-byte registers: 16 KiB,
 * standard error 1.04/128 = 0.8%) when the list overflows — if the caller
 * allows it (a flood-like target) and the shared budget
 * (CS_DISTINCT_DENSE_MAX) has room.  Otherwise additions that fit nowhere
 * are counted as `spill` (repeats included: the estimate is approximate
 * then, and says so), so memory is bounded whatever the traffic.
 */
#ifndef CS_ANALYZER_DISTINCT_H
#define CS_ANALYZER_DISTINCT_H

#include <stdbool.h>
#include <stdint.h>

#define CS_DISTINCT_EXACT 16
#define CS_DISTINCT_P 14
#define CS_DISTINCT_DENSE_MAX 256	/* 256 x 16 KiB = 4 MiB at most */

struct cs_distinct {
	uint64_t exact[CS_DISTINCT_EXACT];	/* hashes, while few */
	uint8_t n_exact;
	uint8_t *regs;		/* 2^P registers once dense */
	uint64_t spill;		/* additions neither list nor registers held */
};

/* Shared budget of dense sets, counted across all cs_distinct. */
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

/* A 64-bit hash of an address, for the estimator. */
uint64_t cs_distinct_hash_addr(const uint8_t addr[16]);

#endif /* CS_ANALYZER_DISTINCT_H */
