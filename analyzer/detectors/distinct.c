/*
 * distinct.c — exact small sets, HyperLogLog (Flajolet et al. 2007) large.
 */
#include "analyzer/detectors/distinct.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/tracking/hash.h"

#define M (1u << CS_DISTINCT_P)

uint64_t cs_distinct_hash_addr(const uint8_t addr[16])
{
	uint64_t a, b;

	memcpy(&a, addr, 8);
	memcpy(&b, addr + 8, 8);
	return cs_mix64(a * 0x9e3779b97f4a7c15ull ^ b);
}

static void dense_add(uint8_t *regs, uint64_t hash)
{
	uint32_t idx = (uint32_t)(hash >> (64 - CS_DISTINCT_P));
	uint64_t rest = hash << CS_DISTINCT_P;
	/* rank: position of the first 1 bit in what is left (1-based) */
	uint8_t rank = rest ? (uint8_t)(__builtin_clzll(rest) + 1)
			    : (uint8_t)(64 - CS_DISTINCT_P + 1);
	if (rank > regs[idx])
		regs[idx] = rank;
}

/* The exact list is kept whole when the set becomes dense: its hashes are
 * folded into the registers, then forgotten. */
static bool make_dense(struct cs_distinct *d, struct cs_distinct_pool *pool)
{
	if (pool->dense >= CS_DISTINCT_DENSE_MAX)
		return false;
	d->regs = calloc(M, 1);
	if (!d->regs)
		return false;
	pool->dense++;
	for (unsigned i = 0; i < d->n_exact; i++)
		dense_add(d->regs, d->exact[i]);
	return true;
}

void cs_distinct_add(struct cs_distinct *d, struct cs_distinct_pool *pool,
		     uint64_t hash, bool allow_dense)
{
	if (d->regs) {
		dense_add(d->regs, hash);
		return;
	}
	for (unsigned i = 0; i < d->n_exact; i++)
		if (d->exact[i] == hash)
			return;
	if (d->n_exact < CS_DISTINCT_EXACT) {
		d->exact[d->n_exact++] = hash;
		return;
	}
	if (allow_dense && make_dense(d, pool)) {
		dense_add(d->regs, hash);
		return;
	}
	d->spill++;	/* may be a repeat: no way to tell any more */
}

uint64_t cs_distinct_estimate(const struct cs_distinct *d)
{
	if (!d->regs)
		return d->n_exact + d->spill;
	double sum = 0;
	unsigned zeros = 0;
	for (unsigned i = 0; i < M; i++) {
		sum += ldexp(1.0, -d->regs[i]);
		zeros += d->regs[i] == 0;
	}
	double alpha = 0.7213 / (1.0 + 1.079 / M);
	double e = alpha * M * M / sum;
	/* small range: linear counting is exact-er while registers are empty */
	if (e <= 2.5 * M && zeros)
		e = M * log((double)M / zeros);
	return (uint64_t)(e + 0.5) + d->spill;
}

void cs_distinct_fini(struct cs_distinct *d, struct cs_distinct_pool *pool)
{
	if (d->regs) {
		free(d->regs);
		pool->dense--;
	}
	memset(d, 0, sizeof *d);
}
