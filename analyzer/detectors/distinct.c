/*
 * distinct.c — exact small sets, HyperLogLog (Flajolet et al. 2007) large.
 */
#include "analyzer/detectors/distinct.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/tracking/hash.h"

#define M (1u << CS_DISTINCT_P)

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

/* A hash as a set slot holds it: 0 marks an empty slot. */
static uint64_t set_value(uint64_t hash)
{
	return hash ? hash : 1;
}

/* Adds to the exact set; false when it is full. */
static bool set_add(struct cs_distinct *d, uint64_t hash)
{
	uint64_t v = set_value(hash);
	uint32_t i = (uint32_t)cs_mix64(v) & (CS_DISTINCT_SET_SLOTS - 1);

	for (;; i = (i + 1) & (CS_DISTINCT_SET_SLOTS - 1)) {
		if (d->set[i] == v)
			return true;
		if (!d->set[i])
			break;
	}
	if (d->n_set >= CS_DISTINCT_SET_MAX)
		return false;
	d->set[i] = v;
	d->n_set++;
	return true;
}

/* The exact list moves into a set (counted in the pool). */
static bool make_set(struct cs_distinct *d, struct cs_distinct_pool *pool)
{
	if (pool->dense >= CS_DISTINCT_DENSE_MAX)
		return false;
	d->set = calloc(CS_DISTINCT_SET_SLOTS, sizeof *d->set);
	if (!d->set)
		return false;
	pool->dense++;
	for (unsigned i = 0; i < d->n_exact; i++)
		set_add(d, d->exact[i]);
	return true;
}

/* The full set's hashes are folded into registers, then forgotten; the
 * pool's count stays (one per cs_distinct). */
static bool make_dense(struct cs_distinct *d)
{
	d->regs = calloc(M, 1);
	if (!d->regs)
		return false;
	for (unsigned i = 0; i < CS_DISTINCT_SET_SLOTS; i++)
		if (d->set[i])
			dense_add(d->regs, d->set[i]);
	free(d->set);
	d->set = NULL;
	return true;
}

static bool list_add(struct cs_distinct *d, uint64_t hash)
{
	for (unsigned i = 0; i < d->n_exact; i++)
		if (d->exact[i] == hash)
			return true;
	if (d->n_exact < CS_DISTINCT_EXACT) {
		d->exact[d->n_exact++] = hash;
		return true;
	}
	return false;
}

void cs_distinct_add(struct cs_distinct *d, struct cs_distinct_pool *pool,
		     uint64_t hash, bool allow_dense)
{
	d->added++;
	if (!d->regs && !d->set && list_add(d, hash))
		return;
	if (!d->regs && !d->set && !(allow_dense && make_set(d, pool))) {
		d->spill++;	/* may be a repeat: no way to tell any more */
		return;
	}
	if (d->set && set_add(d, hash))
		return;
	if (d->set && !make_dense(d)) {
		d->spill++;
		return;
	}
	dense_add(d->regs, set_value(hash));
}

static uint64_t dense_estimate(const struct cs_distinct *d);

uint64_t cs_distinct_estimate(const struct cs_distinct *d)
{
	uint64_t e = d->regs ? dense_estimate(d) :
		     (d->set ? d->n_set : d->n_exact) + d->spill;

	/* HyperLogLog may overshoot; there cannot be more than were added */
	return e < d->added ? e : d->added;
}

static uint64_t dense_estimate(const struct cs_distinct *d)
{
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
	if (d->regs || d->set) {
		free(d->regs);
		free(d->set);
		pool->dense--;
	}
	memset(d, 0, sizeof *d);
}
