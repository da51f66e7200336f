/*
 * hash.h — the 64-bit finalizer the tables' hashes share.
 */
#ifndef CS_ANALYZER_HASH_H
#define CS_ANALYZER_HASH_H

#include <stdint.h>

/* MurmurHash3's fmix64: every input bit reaches every output bit, so the
 * high bits (HyperLogLog's index) and the low bits (a table's slot) are
 * both well spread. */
static inline uint64_t cs_mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

#endif /* CS_ANALYZER_HASH_H */
