/*
 * snapshot.c — copying the engine's view for readers in other threads.
 */
#include "analyzer/views/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/tracking/diagnose.h"
#include "analyzer/tracking/zeek.h"
#include "capture/assert.h"

/* Only a holder of a reference takes another or drops one: the count of a
 * snapshot anyone can reach is at least 1. */
struct cs_snapshot *cs_snapshot_ref(struct cs_snapshot *s)
{
	int held = atomic_fetch_add_explicit(&s->refs, 1, memory_order_relaxed);
	CS_ASSERT(held >= 1);
	return s;
}

void cs_snapshot_unref(struct cs_snapshot *s)
{
	if (!s)
		return;
	int held = atomic_fetch_sub_explicit(&s->refs, 1, memory_order_acq_rel);
	CS_ASSERT(held >= 1);
	if (held != 1)
		return;
	free(s->alerts);
	free(s->host);
	free(s->verdicts);
	free(s->series);
	free(s->conns);
	free(s->events);
	cs_store_unref(s->all);
	free(s);
}

/* Outcomes, conn_states and endpoint states of the open connections, and
 * what they add to the summary's figures counted as records finish: the
 * tally keeps them (tally.h), so this copies counters, whatever the
 * number of open connections. */
static void count_open(struct cs_snapshot *s, const struct cs_engine *e)
{
	const struct cs_tally *t = &e->open;

	for (int o = 0; o < CS_OUT_MAX; o++)
		s->outcomes[o] += t->outcomes[o];
	for (int cs = 0; cs < CS_CS_MAX; cs++)
		s->conn_states[cs] += t->conn_states[cs];
	memcpy(s->states, t->states, sizeof s->states);
	cs_summary_add_open(&s->summary, t);
}

/*
 * The most recently active open connections: each expiry list is in order
 * of last activity, so walking them from their tails, always taking the
 * newest of the four, gives the merged order without sorting them all.
 */
static void copy_open(struct cs_snapshot *s, const struct cs_engine *e)
{
	const struct cs_flow_table *t = &e->flows;
	cs_conn_ref at[CS_LIST_MAX];

	for (int l = 0; l < CS_LIST_MAX; l++)
		at[l] = t->lists[l].tail;
	while (s->conn_cnt < CS_SNAP_OPEN_CONNS) {
		int best = -1;
		for (int l = 0; l < CS_LIST_MAX; l++)
			if (at[l] && (best < 0 || cs_flow_last_ts(t, at[l]) >
						  cs_flow_last_ts(t, at[best])))
				best = l;
		if (best < 0)
			break;
		/* (one set aside is unpacked straight into the copy) */
		struct cs_snap_conn *sc = &s->conns[s->conn_cnt++];
		const struct cs_conn *c = cs_flow_view(t, at[best], &sc->c);
		if (c != &sc->c)
			sc->c = *c;
		sc->v.outcome = cs_diagnose_outcome(c, e->now_us, e->opt.syn_timeout_us);
		sc->v.conn_state = cs_zeek_conn_state(c);
		/* (the copy's: a connect() that failed is over) */
		sc->c.ep[0].state = (uint8_t)cs_diagnose_orig_state(c, sc->v.outcome);
		sc->open = true;
		at[best] = cs_flow_older(t, at[best]);
	}
}

static void copy_finished(struct cs_snapshot *s, const struct cs_recent *r)
{
	uint64_t n = r->done_written < CS_RECENT_CONNS ? r->done_written : CS_RECENT_CONNS;

	if (n > CS_SNAP_DONE_CONNS)
		n = CS_SNAP_DONE_CONNS;
	for (uint64_t i = 0; i < n; i++) {	/* newest first */
		const struct cs_finished *f = &r->done[(r->done_written - 1 - i) % CS_RECENT_CONNS];
		struct cs_snap_conn *sc = &s->conns[s->conn_cnt++];
		sc->c = f->c;
		sc->v = f->v;
		sc->open = false;
	}
}

/* The store's records so far (cs_engine_refresh published them): a count
 * and a reference, not a copy. */
static void copy_all(struct cs_snapshot *s, const struct cs_recent *r,
		     const struct cs_tally *open)
{
	s->open_total = open->open;
	s->finished_total = r->done_written;
	if (!r->all)
		return;
	s->all = cs_store_ref(r->all);
	s->all_cnt = r->all->published;
	s->all_lost = r->all->lost;
	s->all_has_open = r->all->frozen;
}

/* The last CS_SERIES_SECONDS seconds (live), or the whole capture in
 * buckets (a file); the second in progress with its gauges as they stand. */
static int copy_series(struct cs_snapshot *s, const struct cs_recent *r,
		       const struct cs_detect *d)
{
	uint32_t now[CS_SER_MAX];

	memcpy(now, r->series[r->last_sec % CS_SERIES_SECONDS], sizeof now);
	now[CS_SER_TIME_WAIT] = (uint32_t)d->time_wait_now;
	now[CS_SER_CLOSE_WAIT] = (uint32_t)d->close_wait_now;
	s->series_interval = r->grow ? r->grow_interval : 1;
	s->series_start = r->grow ? r->grow_start : r->first_sec;
	s->series_len = (uint32_t)((r->last_sec - s->series_start) / s->series_interval + 1);
	s->series = calloc(s->series_len, sizeof *s->series);
	if (!s->series)
		return -1;
	if (r->grow) {
		memcpy(s->series, r->grown, s->series_len * sizeof *s->series);
		cs_recent_grow_fold(s->series, s->series_start, s->series_interval,
				    r->last_sec, now);
		return 0;
	}
	for (uint32_t i = 0; i < s->series_len; i++)
		memcpy(s->series[i], r->series[(r->first_sec + i) % CS_SERIES_SECONDS],
		       sizeof s->series[0]);
	memcpy(s->series[s->series_len - 1], now, sizeof now);
	return 0;
}

static int copy_recent(struct cs_snapshot *s, const struct cs_recent *r,
		       const struct cs_detect *d)
{
	if (r->have_sec && copy_series(s, r, d) != 0)
		return -1;
	uint64_t n = r->events_written < CS_EVENTS_MAX ? r->events_written : CS_EVENTS_MAX;
	s->events = malloc((n ? n : 1) * sizeof *s->events);
	if (!s->events)
		return -1;
	uint64_t first = r->events_written - n;
	for (uint64_t i = 0; i < n; i++)
		s->events[i] = r->events[(first + i) % CS_EVENTS_MAX];
	s->event_cnt = (uint32_t)n;
	s->oldest_event_us = n && r->events_written > CS_EVENTS_MAX ? s->events[0].ts_us : 0;
	return 0;
}

/* The verdicts as they would read if the capture ended now: the finished
 * connections' groups plus the open connections' as they stand (kept by
 * the tally: work per group, not per connection). */
static int copy_verdicts(struct cs_snapshot *s, const struct cs_engine *e)
{
	struct cs_verdicts v;
	size_t len = 0;

	if (cs_verdicts_clone(&v, &e->verdicts) != 0)
		return -1;
	cs_verdicts_add_open(&v, &e->open.verdicts);
	FILE *f = open_memstream(&s->verdicts, &len);
	if (f) {
		for (uint32_t i = 0; i < e->detect.alerts.count; i++)
			fprintf(f, "%s\n", e->detect.alerts.list[i].text);
		cs_verdicts_print(&v, &e->detect.alerts, &e->host, f, 50, false);
	}
	cs_verdicts_fini(&v);
	return f && fclose(f) == 0 ? 0 : -1;
}

struct cs_snapshot *cs_snapshot_build(const struct cs_engine *e,
				      const struct cs_report_source *src,
				      uint64_t seq, bool live, bool finished)
{
	struct cs_snapshot *s = calloc(1, sizeof *s);

	if (!s)
		return NULL;
	atomic_init(&s->refs, 1);
	s->seq = seq;
	s->ts_us = e->now_us;
	s->live = live;
	s->finished = finished;
	s->src = *src;
	cs_summary_fill(&s->summary, e, src);
	memcpy(s->outcomes, e->conns.outcomes, sizeof s->outcomes);
	memcpy(s->finished_outcomes, e->conns.outcomes, sizeof s->finished_outcomes);
	memcpy(s->conn_states, e->conns.conn_states, sizeof s->conn_states);
	s->failing_server_cnt = cs_connstats_top_failing(&e->conns, s->failing_servers,
							 CS_SNAP_FAILING_SERVERS);
	count_open(s, e);

	const struct cs_alerts *al = &e->detect.alerts;
	s->alert_cnt = al->count;
	memcpy(s->alerts_by_type, al->by_type, sizeof s->alerts_by_type);
	s->alerts = malloc((al->count ? al->count : 1) * sizeof *s->alerts);
	s->conns = malloc((CS_SNAP_OPEN_CONNS + CS_SNAP_DONE_CONNS) * sizeof *s->conns);
	s->host = malloc(sizeof *s->host);	/* a fixed size: ~11 KiB */
	if (!s->alerts || !s->conns || !s->host || copy_verdicts(s, e) != 0)
		goto fail;
	*s->host = e->host;
	memcpy(s->alerts, al->list, al->count * sizeof *s->alerts);
	copy_open(s, e);
	if (e->opt.keep_recent) {
		copy_all(s, &e->recent, &e->open);
		copy_finished(s, &e->recent);
		if (copy_recent(s, &e->recent, &e->detect) != 0)
			goto fail;
	}
	return s;
fail:
	cs_snapshot_unref(s);
	return NULL;
}
