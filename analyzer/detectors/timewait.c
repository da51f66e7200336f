/*
 * timewait.c — counts of TIME_WAIT per closer and peer; port exhaustion.
 */
#include "analyzer/detectors/timewait.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

struct tw_entry {
	struct cs_group_stays s;	/* held: in TIME_WAIT now */
	uint32_t peak;
	uint64_t peak_at_us;
	uint64_t sec;			/* second of the rate being counted */
	uint32_t sec_new, peak_rate;
	uint64_t explained_sec;		/* packet second the text was written */
	bool explained, stale;		/* text written / behind the figures */
};

void cs_timewait_init(struct cs_timewait *tw, uint32_t threshold,
		      uint64_t twice_msl_us, struct cs_alerts *alerts)
{
	memset(tw, 0, sizeof *tw);
	cs_groups_init_sparse(&tw->g, sizeof(struct tw_entry), CS_TIMEWAIT_GROUPS);
	tw->threshold = threshold;
	tw->twice_msl_us = twice_msl_us;
	tw->alerts = alerts;
}

void cs_timewait_fini(struct cs_timewait *tw)
{
	cs_groups_fini(&tw->g);
}

/* Ports a client keeps busy at its peak rate: one per connection, 2*MSL. */
static uint64_t ports_needed(const struct cs_timewait *tw, const struct tw_entry *e)
{
	return (uint64_t)e->peak_rate * tw->twice_msl_us / CS_USEC_PER_SEC;
}

static bool alarming(const struct cs_timewait *tw, const struct tw_entry *e)
{
	if (e->s.held > tw->threshold)
		return true;
	return e->s.k.side == 0 && ports_needed(tw, e) > CS_EPHEMERAL_PORTS / 2;
}

static void explain(const struct cs_timewait *tw, const struct tw_entry *e,
		    struct cs_alert *al)
{
	char host[64], peer[64], tail[200], n[32], r[32], p[32];
	uint64_t need = ports_needed(tw, e);
	unsigned msl2 = (unsigned)(tw->twice_msl_us / CS_USEC_PER_SEC);

	cs_endpoint_format(&e->s.k.host, e->s.k.side ? e->s.k.port : 0, host, sizeof host);
	cs_endpoint_format(&e->s.k.peer, e->s.k.port, peer, sizeof peer);
	if (e->s.k.side == 1)
		snprintf(tail, sizeof tail, "the server closes first, so each "
			 "connection holds kernel memory for 2*MSL (%u s)", msl2);
	else if (need > CS_EPHEMERAL_PORTS)
		snprintf(tail, sizeof tail, "at %s new connections/s the 28,232 "
			 "ephemeral ports run out after %.1f s (connect() fails "
			 "with EADDRNOTAVAIL)", cs_count_format(e->peak_rate, r, sizeof r),
			 (double)CS_EPHEMERAL_PORTS / e->peak_rate);
	else
		snprintf(tail, sizeof tail, "at %s new connections/s, 2*MSL "
			 "(%u s) of TIME_WAIT holds %s ports, %" PRIu64
			 "%% of the 28,232 ephemeral ports",
			 cs_count_format(e->peak_rate, r, sizeof r), msl2,
			 cs_count_format(need, p, sizeof p),
			 need * 100 / CS_EPHEMERAL_PORTS);
	cs_count_format(e->peak, n, sizeof n);
	if (e->s.k.side == 0)
		snprintf(al->text, sizeof al->text, "%s has up to %s connections "
			 "to %s in TIME_WAIT: it closes first; %s", host, n, peer,
			 tail);
	else
		snprintf(al->text, sizeof al->text, "%s has up to %s connections "
			 "in TIME_WAIT: %s", host, n, tail);
}

static void update_alert(struct cs_timewait *tw, struct tw_entry *e, uint64_t now_us)
{
	if (!alarming(tw, e))
		return;
	if (e->s.alert < 0) {
		struct cs_alert *al = cs_alerts_raise(tw->alerts,
						      CS_ALERT_TIME_WAIT_BUILDUP, now_us);
		if (!al) {
			e->s.alert = -2;	/* the list is full: counted there */
			return;
		}
		al->addr = e->s.k.host;
		al->port = e->s.k.side ? e->s.k.port : 0;
		if (e->s.k.side == 0) {
			al->peer = e->s.k.peer;
			al->peer_port = e->s.k.port;
			al->has_peer = true;
		}
		e->s.alert = (int32_t)(al - tw->alerts->list);
	}
	if (e->s.alert < 0)
		return;
	struct cs_alert *al = &tw->alerts->list[e->s.alert];
	al->end_us = now_us;
	cs_alert_figure(al, 0, "time_wait", e->peak, false);
	cs_alert_figure(al, 1, "peak_at", e->peak_at_us, true);
	cs_alert_figure(al, 2, "entered", e->s.entered, false);
	if (e->s.k.side == 0) {
		uint64_t need = ports_needed(tw, e);
		cs_alert_figure(al, 3, "new_conn_rate", e->peak_rate, false);
		cs_alert_figure(al, 4, "ports_needed", need, false);
		cs_alert_figure(al, 5, "port_range", CS_EPHEMERAL_PORTS, false);
		if (need > CS_EPHEMERAL_PORTS)
			cs_alert_figure(al, 6, "exhausted_after",
					(uint64_t)CS_EPHEMERAL_PORTS *
						CS_USEC_PER_SEC / e->peak_rate,
					true);
	}
	al->label_key = "closer";
	al->label_value = e->s.k.side ? "server" : "client";
	/* During a buildup every entry changes the figures: the sentence is
	 * written once per packet second (a snapshot's text is at most that
	 * far behind its figures) and brought up to date by
	 * cs_timewait_refresh before a snapshot and at the end. */
	uint64_t sec = now_us / CS_USEC_PER_SEC;
	e->stale = e->explained && sec == e->explained_sec;
	if (!e->stale) {
		explain(tw, e, al);
		e->explained = true;
		e->explained_sec = sec;
	}
}

void cs_timewait_refresh(struct cs_timewait *tw)
{
	for (uint32_t i = 0; i < tw->g.capacity; i++) {
		struct tw_entry *e = cs_groups_at(&tw->g, i);
		if (e && e->stale && e->s.alert >= 0) {
			explain(tw, e, &tw->alerts->list[e->s.alert]);
			e->stale = false;
		}
	}
}

void cs_timewait_enter(struct cs_timewait *tw, const struct cs_conn *c,
		       int side, uint64_t now_us)
{
	struct tw_entry *e = cs_groups_enter(&tw->g, c, side);
	if (!e)
		return;
	if (e->s.held > e->peak) {
		e->peak = e->s.held;
		e->peak_at_us = now_us;
	}
	update_alert(tw, e, now_us);
}

void cs_timewait_leave(struct cs_timewait *tw, const struct cs_conn *c,
		       int side)
{
	struct cs_group_key k;

	cs_group_key_of(c, side, &k);
	struct tw_entry *e = cs_groups_find(&tw->g, &k, false);
	if (e && e->s.held)
		e->s.held--;
}

/* Counted only where this client already holds TIME_WAIT toward the peer:
 * the rate matters only there, and the table stays small. */
void cs_timewait_new_conn(struct cs_timewait *tw, const struct cs_conn *c,
			  uint64_t now_us)
{
	struct cs_group_key k;

	cs_group_key_of(c, 0, &k);
	struct tw_entry *e = cs_groups_find(&tw->g, &k, false);
	if (!e)
		return;
	uint64_t sec = now_us / CS_USEC_PER_SEC;
	if (sec != e->sec) {
		e->sec = sec;
		e->sec_new = 0;
	}
	if (++e->sec_new > e->peak_rate) {
		e->peak_rate = e->sec_new;
		update_alert(tw, e, now_us);
	}
}
