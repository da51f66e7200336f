/*
 * scan.c — vertical and horizontal port scans, per source.
 */
#include "analyzer/detectors/scan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/detectors/distinct.h"
#include "analyzer/tracking/hash.h"

/* What a probed target answered, in the low two bits of its slot. */
#define ANSWER_NONE 0u
#define ANSWER_OPEN 1u
#define ANSWER_REFUSED 2u

/*
 * A source and what it probes: a target host (vertical: the values are
 * ports + 1) or a target port (horizontal: the values are address
 * hashes, never 0).  A slot holds value << 2 | answer; 0 is empty.
 */
struct pair {
	struct cs_group_key k;
	uint64_t syns;
	uint64_t first_us, last_us;
	uint32_t held;			/* targets in inl[] or set */
	uint32_t open, refused;		/* of those held */
	uint64_t spilled;		/* SYNs to targets nothing could hold */
	uint64_t inl[CS_SCAN_INLINE];
	uint64_t *set;			/* CS_SCAN_SET_SLOTS, once inl[] is full */
	int32_t alert;			/* index in the alert list + 1, or 0 */
};

void cs_scan_init(struct cs_scan *s, struct cs_alerts *alerts)
{
	memset(s, 0, sizeof *s);
	s->alerts = alerts;
	cs_groups_init(&s->vertical, sizeof(struct pair), CS_SCAN_PAIRS);
	cs_groups_init(&s->horizontal, sizeof(struct pair), CS_SCAN_PAIRS);
	/* the horizontal keys' peer: no address */
	static const uint8_t none[16];
	s->zero_hash = cs_distinct_hash_addr(none);
}

static void free_sets(struct cs_groups *g)
{
	for (uint32_t i = 0; i < g->capacity; i++) {
		struct pair *e = cs_groups_at(g, i);
		if (e)
			free(e->set);
	}
}

void cs_scan_fini(struct cs_scan *s)
{
	free_sets(&s->vertical);
	free_sets(&s->horizontal);
	cs_groups_fini(&s->vertical);
	cs_groups_fini(&s->horizontal);
}

/* ---- the set of probed targets ------------------------------------------ */

static bool grow(struct cs_scan *s, struct pair *e)
{
	if (s->sets >= CS_SCAN_SETS_MAX)
		return false;
	e->set = calloc(CS_SCAN_SET_SLOTS, sizeof *e->set);
	if (!e->set)
		return false;
	s->sets++;
	for (unsigned i = 0; i < CS_SCAN_INLINE; i++) {
		uint64_t v = e->inl[i] >> 2;
		uint32_t j = (uint32_t)cs_mix64(v) & (CS_SCAN_SET_SLOTS - 1);
		while (e->set[j])
			j = (j + 1) & (CS_SCAN_SET_SLOTS - 1);
		e->set[j] = e->inl[i];
	}
	return true;
}

static uint64_t *find_in_set(struct pair *e, uint64_t v, bool create)
{
	uint32_t j = (uint32_t)cs_mix64(v) & (CS_SCAN_SET_SLOTS - 1);

	for (;; j = (j + 1) & (CS_SCAN_SET_SLOTS - 1)) {
		if (e->set[j] >> 2 == v)
			return &e->set[j];
		if (e->set[j])
			continue;
		if (!create || e->held >= CS_SCAN_SET_SLOTS / 8 * 7)
			return NULL;
		e->set[j] = v << 2;
		e->held++;
		return &e->set[j];
	}
}

/* The slot of target v, created if asked and room remains; NULL if not. */
static uint64_t *slot_of(struct cs_scan *s, struct pair *e, uint64_t v,
			 bool create)
{
	if (e->set)
		return find_in_set(e, v, create);
	for (unsigned i = 0; i < CS_SCAN_INLINE && e->inl[i]; i++)
		if (e->inl[i] >> 2 == v)
			return &e->inl[i];
	if (!create)
		return NULL;
	if (e->held < CS_SCAN_INLINE) {
		e->inl[e->held++] = v << 2;
		return &e->inl[e->held - 1];
	}
	return grow(s, e) ? find_in_set(e, v, true) : NULL;
}

/* ---- the alert ------------------------------------------------------------- */

static bool vertical(const struct pair *e)
{
	return e->k.side == 0;
}

static uint64_t probed(const struct pair *e)
{
	return e->held + e->spilled;
}

/* Probed and not (yet) answered with a SYN-ACK: what makes a scan. */
static bool is_scan(const struct pair *e)
{
	return probed(e) - e->open >= (vertical(e) ? CS_SCAN_VERTICAL_PORTS
						   : CS_SCAN_HORIZONTAL_HOSTS);
}

static void explain(const struct pair *e, struct cs_alert *al)
{
	char src[CS_ADDR_STRLEN], dst[CS_ADDR_STRLEN], from[16], to[16];
	char n[32], syns[32], what[80];
	uint64_t silent = probed(e) - e->open - e->refused;

	cs_addr_format(&e->k.host, src, sizeof src);
	if (vertical(e)) {
		cs_addr_format(&e->k.peer, dst, sizeof dst);
		snprintf(what, sizeof what, "of %s: %s%s ports", dst,
			 e->spilled ? "about " : "",
			 cs_count_format(probed(e), n, sizeof n));
	} else {
		snprintf(what, sizeof what, "of port %u: %s%s hosts", e->k.port,
			 e->spilled ? "about " : "",
			 cs_count_format(probed(e), n, sizeof n));
	}
	cs_time_of_day_format(al->start_us, from, sizeof from);
	cs_time_of_day_format(al->end_us, to, sizeof to);
	snprintf(al->text, sizeof al->text, "port scan from %s %s probed with "
		 "%s SYNs, %s-%s UTC: %u open (answered with a SYN-ACK), %u "
		 "refused (RST), %llu silent (no answer: filtered, or the host "
		 "is down)", src, what, cs_count_format(e->syns, syns, sizeof syns),
		 from, to, e->open, e->refused, (unsigned long long)silent);
}

static void update_alert(struct cs_scan *s, struct pair *e)
{
	if (!e->alert) {
		if (!is_scan(e))
			return;
		struct cs_alert *al = cs_alerts_raise(s->alerts, CS_ALERT_PORT_SCAN,
						      e->first_us);
		if (!al) {
			e->alert = -1;
			return;
		}
		e->alert = (int32_t)(al - s->alerts->list) + 1;
		al->addr = e->k.host;
		al->peer = e->k.peer;
		al->has_peer = vertical(e);
		al->peer_port = vertical(e) ? 0 : e->k.port;
		al->label_key = "kind";
		al->label_value = vertical(e) ? "vertical" : "horizontal";
	}
	if (e->alert < 0)
		return;
	struct cs_alert *al = &s->alerts->list[e->alert - 1];
	al->end_us = e->last_us;
	cs_alert_figure(al, 0, vertical(e) ? "ports_probed" : "hosts_probed",
			probed(e), false);
	cs_alert_figure(al, 1, "syns", e->syns, false);
	cs_alert_figure(al, 2, "open", e->open, false);
	cs_alert_figure(al, 3, "refused", e->refused, false);
	cs_alert_figure(al, 4, "silent", probed(e) - e->open - e->refused, false);
	if (!vertical(e))
		cs_alert_figure(al, 5, "port", e->k.port, false);
	explain(e, al);
}

/* ---- segments ---------------------------------------------------------------- */

/* A pair idle for the window starts a new episode. */
static void restart(struct pair *e, uint64_t ts_us)
{
	e->syns = e->spilled = 0;
	e->held = e->open = e->refused = 0;
	memset(e->inl, 0, sizeof e->inl);
	if (e->set)
		memset(e->set, 0, CS_SCAN_SET_SLOTS * sizeof *e->set);
	e->alert = 0;
	e->first_us = ts_us;
}

static bool idle(const struct pair *e, uint64_t now_us)
{
	return e->last_us + CS_SCAN_WINDOW_SEC * CS_USEC_PER_SEC < now_us;
}

/*
 * A full table drops the pairs idle for a whole window (their alerts stay
 * in the list): at most once per second of packet time, so that a flood
 * of new sources, which keeps the table full, costs one walk a second.
 * Backward-shift removal may move the next entry into slot i: ask again.
 * Returns whether any pair went: if none did, the table is as full as it
 * was, and asking it again for room is no use.
 */
static bool sweep(struct cs_scan *s, struct cs_groups *g, uint64_t now_us)
{
	uint64_t sec = now_us / CS_USEC_PER_SEC;
	int t = g == &s->horizontal;
	uint64_t before = s->swept_pairs;

	if (s->swept[t] && sec == s->swept_sec[t])
		return false;
	s->swept[t] = true;
	s->swept_sec[t] = sec;
	for (uint32_t i = 0; i < g->capacity; i++) {
		struct pair *e;
		while ((e = cs_groups_at(g, i)) && idle(e, now_us)) {
			if (e->set)
				s->sets--;
			free(e->set);
			cs_groups_remove(g, e);
			s->swept_pairs++;
		}
	}
	return s->swept_pairs != before;
}

/*
 * Where a segment counts: source src's pair in g, with its target host
 * dst (vertical) or its target port (horizontal), and v, the target's
 * value in that pair.  Both pairs' hashes and the host's value share the
 * two addresses, each hashed once; the keys themselves are built only
 * for a pair that may exist or be made (find_pair).
 */
struct pair_ref {
	struct cs_groups *g;
	bool vertical;
	uint64_t hash, v;
	const struct cs_addr *src, *dst;
	uint16_t port;
};

static void pair_refs(struct cs_scan *s, struct pair_ref ref[2],
		      const struct cs_addr *src, const struct cs_addr *dst,
		      uint16_t port)
{
	uint64_t src_hash = cs_distinct_hash_addr(src->b);
	uint64_t dst_hash = cs_distinct_hash_addr(dst->b);

	ref[0] = (struct pair_ref){
		.g = &s->vertical, .vertical = true,
		.hash = cs_group_hash_parts(src_hash, dst_hash, 0, 0),
		.v = port + 1u, .src = src, .dst = dst, .port = port,
	};
	ref[1] = (struct pair_ref){
		.g = &s->horizontal, .vertical = false,
		.hash = cs_group_hash_parts(src_hash, s->zero_hash, port, 1),
		.v = dst_hash >> 2 | 1, .src = src, .dst = dst, .port = port,
	};
}

/* The pair, made if asked and there is room; NULL if not.  A pair the
 * filter has never seen, with no room to make it, is known absent without
 * its key: the usual answer once a flood of new sources fills the table. */
static struct pair *find_pair(const struct pair_ref *r, bool create)
{
	struct cs_group_key k;

	if (!cs_groups_may_hold(r->g, r->hash) &&
	    (!create || cs_groups_full(r->g)))
		return NULL;
	memset(&k, 0, sizeof k);
	k.host = *r->src;
	if (r->vertical) {
		k.peer = *r->dst;
	} else {
		k.port = r->port;
		k.side = 1;
	}
	return cs_groups_find_hashed(r->g, &k, r->hash, create);
}

static void probe(struct cs_scan *s, const struct pair_ref *r, uint64_t ts_us)
{
	struct pair *e = find_pair(r, true);

	if (!e && sweep(s, r->g, ts_us))
		e = find_pair(r, true);
	if (!e) {
		s->untracked_syns++;
		return;
	}
	if (!e->syns || ts_us > e->last_us + CS_SCAN_WINDOW_SEC * CS_USEC_PER_SEC)
		restart(e, ts_us);
	e->syns++;
	e->last_us = ts_us;
	if (!slot_of(s, e, r->v, true))
		e->spilled++;
	update_alert(s, e);
}

static void answer(struct cs_scan *s, const struct pair_ref *r, unsigned how,
		   uint64_t ts_us)
{
	struct pair *e = find_pair(r, false);
	uint64_t *slot = e ? slot_of(s, e, r->v, false) : NULL;
	unsigned was = slot ? (unsigned)(*slot & 3u) : ANSWER_OPEN;

	if (was == ANSWER_OPEN || (was == ANSWER_REFUSED && how == ANSWER_REFUSED))
		return;
	e->refused -= was == ANSWER_REFUSED;
	e->open += how == ANSWER_OPEN;
	e->refused += how == ANSWER_REFUSED;
	*slot = (*slot & ~3ull) | how;
	if (ts_us > e->last_us)
		e->last_us = ts_us;
	update_alert(s, e);
}

void cs_scan_segment(struct cs_scan *s, const struct cs_pkt *p)
{
	uint16_t fl = p->flags & (CS_TH_SYN | CS_TH_ACK | CS_TH_RST);
	struct pair_ref ref[2];

	if (fl == CS_TH_SYN) {
		pair_refs(s, ref, &p->src, &p->dst, p->dport);
		probe(s, &ref[0], p->ts_us);
		probe(s, &ref[1], p->ts_us);
		return;
	}
	unsigned how = fl == (CS_TH_SYN | CS_TH_ACK) ? ANSWER_OPEN :
		       fl & CS_TH_RST ? ANSWER_REFUSED : ANSWER_NONE;
	if (how == ANSWER_NONE)
		return;
	/* an answer goes from the target back to the source */
	pair_refs(s, ref, &p->dst, &p->src, p->sport);
	answer(s, &ref[0], how, p->ts_us);
	answer(s, &ref[1], how, p->ts_us);
}
