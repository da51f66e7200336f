/*
 * evicted.c — connections a full table evicted, remembered by key.
 */
#include "analyzer/tracking/evicted.h"

#include <stdlib.h>
#include <string.h>

#include "capture/pkttime.h"

/*
 * Where a key goes: its hash without a seed.  Not the flow table's, whose
 * seed changes from run to run: which key a full bucket forgets changes
 * what is reported (a later packet opens a record or not), and the same
 * capture must give the same report.
 */
static uint32_t key_hash(const struct cs_flow_key *k)
{
	return cs_flow_key_hash(0, k);
}

struct cs_syn_facts cs_syn_facts_of(const struct cs_conn *c, bool finished)
{
	struct cs_syn_facts f = { .finished = finished };

	for (int i = 0; i < 2; i++) {
		f.isn[i] = c->ep[i].isn;
		f.last_ack[i] = c->ep[i].last_ack;
		f.syn[i] = c->ep[i].syn;
		if (c->ep[i].state == CS_TCP_TIME_WAIT)
			f.tw |= (uint8_t)(1u << cs_conn_key_index(c, i));
	}
	return f;
}

void cs_evicted_init(struct cs_evicted *e, uint32_t max_flows,
		     const uint64_t timeout_us[CS_EVICTED_LISTS])
{
	uint32_t buckets = 1;
	uint64_t want = (uint64_t)max_flows * CS_EVICTED_PER_FLOW;

	while ((uint64_t)buckets * CS_EVICTED_WAYS < want)
		buckets <<= 1;
	memset(e, 0, sizeof *e);
	e->bucket_mask = buckets - 1;
	memcpy(e->timeout_us, timeout_us, sizeof e->timeout_us);
	e->alloc = calloc;
}

void cs_evicted_clear(struct cs_evicted *e)
{
	free(e->keys);
	e->keys = NULL;
}

static struct cs_evicted_key *bucket(const struct cs_evicted *e, uint32_t hash)
{
	return &e->keys[(size_t)(hash & e->bucket_mask) * CS_EVICTED_WAYS];
}

/* The first eviction allocates; a refusal is not asked again: the keys
 * are a help to precision, not needed for an answer. */
static bool have_keys(struct cs_evicted *e)
{
	if (!e->keys && !e->refused) {
		e->keys = e->alloc(((size_t)e->bucket_mask + 1) * CS_EVICTED_WAYS,
				   sizeof *e->keys);
		e->refused = !e->keys;
	}
	return e->keys != NULL;
}

uint64_t cs_evicted_last_heard(const struct cs_evicted *e,
			       const struct cs_evicted_key *g)
{
	return g->until_us - e->timeout_us[g->list];
}

bool cs_evicted_put(struct cs_evicted *e, const struct cs_evicted_key *k,
		    uint64_t last_us, uint64_t now_us)
{
	uint64_t until_us = cs_time_add(last_us, e->timeout_us[k->list]);

	if (until_us <= now_us)
		return true;	/* its time is over already */
	if (!have_keys(e))
		return false;
	uint32_t hash = key_hash(&k->key);
	struct cs_evicted_key *b = bucket(e, hash), *victim = &b[0];
	for (int i = 0; i < CS_EVICTED_WAYS; i++) {
		if (b[i].until_us <= now_us) {	/* free, or its time is over */
			victim = &b[i];
			break;
		}
		if (cs_evicted_last_heard(e, &b[i]) < cs_evicted_last_heard(e, victim))
			victim = &b[i];
	}
	if (victim->until_us > now_us)
		e->forgotten++;
	*victim = *k;
	victim->hash = hash;
	victim->until_us = until_us;
	return true;
}

void cs_evicted_seen(struct cs_evicted *e, struct cs_evicted_key *g,
		     uint64_t now_us)
{
	g->until_us = cs_time_add(now_us, e->timeout_us[g->list]);
}

struct cs_evicted_key *cs_evicted_find(struct cs_evicted *e,
				       const struct cs_flow_key *k, uint64_t now_us)
{
	if (!e->keys)
		return NULL;
	uint32_t hash = key_hash(k);
	struct cs_evicted_key *b = bucket(e, hash);
	for (int i = 0; i < CS_EVICTED_WAYS; i++)
		if (b[i].until_us > now_us && b[i].hash == hash &&
		    memcmp(&b[i].key, k, sizeof *k) == 0)
			return &b[i];
	return NULL;
}
