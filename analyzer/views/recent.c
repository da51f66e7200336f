/*
 * recent.c — rings for the dashboard: series, timelines, finished conns.
 */
#include "analyzer/views/recent.h"

#include <stdlib.h>
#include <string.h>

#include "capture/assert.h"

const char *const cs_series_names[CS_SER_MAX] = {
	[CS_SER_SYN] = "syn", [CS_SER_SYNACK] = "synack", [CS_SER_RST] = "rst",
	[CS_SER_FIN] = "fin", [CS_SER_NEW] = "new",
	[CS_SER_ESTABLISHED] = "established", [CS_SER_TIME_WAIT] = "time_wait",
	[CS_SER_CLOSE_WAIT] = "close_wait",
};

int cs_recent_init(struct cs_recent *r, size_t all_budget_bytes)
{
	memset(r, 0, sizeof *r);
	r->events = calloc(CS_EVENTS_MAX, sizeof *r->events);
	r->done = calloc(CS_RECENT_CONNS, sizeof *r->done);
	if (all_budget_bytes) {
		r->all = cs_store_create(all_budget_bytes);
		r->grown = calloc(CS_SERIES_SECONDS, sizeof *r->grown);
		r->grow = true;
		r->grow_interval = 1;
	}
	if (!r->events || !r->done || (all_budget_bytes && (!r->all || !r->grown))) {
		cs_recent_fini(r);
		return -1;
	}
	return 0;
}

void cs_recent_fini(struct cs_recent *r)
{
	free(r->events);
	free(r->done);
	cs_store_unref(r->all);
	free(r->grown);
	r->grown = NULL;
	r->events = NULL;
	r->done = NULL;
	r->all = NULL;
}

/* Merges pairs of buckets until second sec fits. */
static void grow_fit(struct cs_recent *r, uint64_t sec)
{
	while (sec - r->grow_start >= (uint64_t)CS_SERIES_SECONDS * r->grow_interval) {
		for (int i = 0; i < CS_SERIES_SECONDS / 2; i++)
			for (int k = 0; k < CS_SER_MAX; k++)
				r->grown[i][k] = r->grown[2 * i][k] > r->grown[2 * i + 1][k] ?
						 r->grown[2 * i][k] : r->grown[2 * i + 1][k];
		memset(r->grown[CS_SERIES_SECONDS / 2], 0,
		       (CS_SERIES_SECONDS - CS_SERIES_SECONDS / 2) * sizeof r->grown[0]);
		r->grow_interval *= 2;
	}
}

void cs_recent_grow_fold(uint32_t (*buckets)[CS_SER_MAX], uint64_t start,
			 uint32_t interval, uint64_t sec, const uint32_t *vals)
{
	uint32_t *b = buckets[(sec - start) / interval];

	for (int k = 0; k < CS_SER_MAX; k++)
		if (vals[k] > b[k])
			b[k] = vals[k];
}

/* Seconds [from, to) closed: `from` with its counts, the quiet ones after
 * it with none; all with the gauges given.  Work per bucket touched, not
 * per second, whatever the gap. */
static void grow_close(struct cs_recent *r, uint64_t from, uint64_t to,
		       const uint32_t *first)
{
	uint32_t quiet[CS_SER_MAX] = { 0 };

	grow_fit(r, to - 1);
	cs_recent_grow_fold(r->grown, r->grow_start, r->grow_interval, from, first);
	quiet[CS_SER_TIME_WAIT] = first[CS_SER_TIME_WAIT];
	quiet[CS_SER_CLOSE_WAIT] = first[CS_SER_CLOSE_WAIT];
	for (uint64_t s = from + 1; s < to;) {
		cs_recent_grow_fold(r->grown, r->grow_start, r->grow_interval, s, quiet);
		s += r->grow_interval - (s - r->grow_start) % r->grow_interval;
	}
}

void cs_recent_second(struct cs_recent *r, uint64_t sec, uint32_t time_wait,
		      uint32_t close_wait)
{
	if (!r->have_sec) {
		r->have_sec = true;
		r->grow_start = sec;
		r->first_sec = r->last_sec = sec;
		memset(r->series[sec % CS_SERIES_SECONDS], 0, sizeof r->series[0]);
		return;
	}
	/* The engine calls as its packet time moves on, never back. */
	CS_ASSERT(sec >= r->last_sec);
	if (sec <= r->last_sec)
		return;
	if (r->grow) {
		uint32_t *last = r->series[r->last_sec % CS_SERIES_SECONDS];
		last[CS_SER_TIME_WAIT] = time_wait;
		last[CS_SER_CLOSE_WAIT] = close_wait;
		grow_close(r, r->last_sec, sec, last);
		grow_fit(r, sec);	/* the second in progress has a bucket */
	}
	uint64_t from = r->last_sec;
	if (sec - from > CS_SERIES_SECONDS)
		from = sec - CS_SERIES_SECONDS;
	for (uint64_t s = from; s < sec; s++) {
		uint32_t *slot = r->series[s % CS_SERIES_SECONDS];
		if (s != r->last_sec)	/* a quiet second: no counts */
			memset(slot, 0, sizeof r->series[0]);
		slot[CS_SER_TIME_WAIT] = time_wait;
		slot[CS_SER_CLOSE_WAIT] = close_wait;
	}
	memset(r->series[sec % CS_SERIES_SECONDS], 0, sizeof r->series[0]);
	r->last_sec = sec;
	if (r->last_sec - r->first_sec >= CS_SERIES_SECONDS)
		r->first_sec = r->last_sec - CS_SERIES_SECONDS + 1;
}

void cs_recent_count(struct cs_recent *r, enum cs_series_kind k)
{
	if (r->have_sec)
		r->series[r->last_sec % CS_SERIES_SECONDS][k]++;
}

void cs_recent_segment(struct cs_recent *r, struct cs_conn *c, int side,
		       const struct cs_pkt *p)
{
	bool moved = c->ep[0].state != c->ev_state[0] ||
		     c->ep[1].state != c->ev_state[1];
	bool first = c->ep[0].pkts + c->ep[1].pkts == 1;

	if (!moved && !first && !(p->flags & (CS_TH_SYN | CS_TH_FIN | CS_TH_RST)))
		return;
	struct cs_event *ev = &r->events[r->events_written++ % CS_EVENTS_MAX];
	ev->conn_id = c->id;
	ev->ts_us = p->ts_us;
	ev->seq = p->seq;
	ev->ack = p->ack;
	ev->len = p->payload_len;
	ev->flags = p->flags;
	ev->from = (uint8_t)side;
	ev->state[0] = c->ev_state[0] = c->ep[0].state;
	ev->state[1] = c->ev_state[1] = c->ep[1].state;
}

void cs_recent_finished(struct cs_recent *r, const struct cs_conn *c,
			const struct cs_verdict *v)
{
	struct cs_finished *f = &r->done[r->done_written++ % CS_RECENT_CONNS];

	f->c = *c;
	f->v = *v;
	if (r->all) {
		struct cs_conn_rec rec;
		cs_conn_rec_fill(&rec, c, v, false);
		cs_store_add(r->all, &rec);
	}
}
