/*
 * closewait.c — CLOSE_WAIT ageing and the buildup alert.
 */
#include "analyzer/detectors/closewait.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/pkttime.h"

struct cw_entry {
	struct cs_group_stays s;	/* held: in CLOSE_WAIT now */
	uint32_t old;			/* of which older than the age */
	uint32_t peak_old;
	uint64_t peak_at_us;
};

void cs_closewait_init(struct cs_closewait *cw, uint32_t threshold,
		       uint64_t age_us, struct cs_alerts *alerts,
		       struct cs_flow_table *flows)
{
	memset(cw, 0, sizeof *cw);
	cs_groups_init_sparse(&cw->g, sizeof(struct cw_entry), CS_CLOSEWAIT_GROUPS);
	cw->threshold = threshold;
	cw->age_us = age_us;
	cw->alerts = alerts;
	cw->flows = flows;
}

void cs_closewait_fini(struct cs_closewait *cw)
{
	cs_groups_fini(&cw->g);
	free(cw->queue);
	cw->queue = NULL;
}

static void explain(const struct cs_closewait *cw, const struct cw_entry *e,
		    struct cs_alert *al)
{
	char host[64], peer[64], when[16], n[32];
	char addr[CS_ADDR_STRLEN];
	unsigned age_sec = (unsigned)(cw->age_us / CS_USEC_PER_SEC);

	cs_time_of_day_format(e->peak_at_us, when, sizeof when);
	cs_addr_format(&e->s.k.host, addr, sizeof addr);
	if (e->s.k.side == 1) {
		cs_endpoint_format(&e->s.k.host, e->s.k.port, host, sizeof host);
		snprintf(al->text, sizeof al->text, "%s connections on %s sat in "
			 "CLOSE_WAIT for more than %u s (peak at %s UTC): the "
			 "clients closed, the application on %s never called "
			 "close()", cs_count_format(e->peak_old, n, sizeof n), host,
			 age_sec, when, addr);
	} else {
		cs_endpoint_format(&e->s.k.peer, e->s.k.port, peer, sizeof peer);
		snprintf(al->text, sizeof al->text, "%s connections from %s to "
			 "%s sat in CLOSE_WAIT for more than %u s (peak at %s "
			 "UTC): the server closed, the client application on %s "
			 "never called close()", cs_count_format(e->peak_old, n, sizeof n),
			 addr, peer, age_sec, when, addr);
	}
}

static void update_alert(struct cs_closewait *cw, struct cw_entry *e,
			 uint64_t now_us)
{
	if (e->old < cw->threshold)
		return;
	if (e->s.alert == -1) {
		struct cs_alert *al = cs_alerts_raise(cw->alerts,
						      CS_ALERT_CLOSE_WAIT_BUILDUP, now_us);
		e->s.alert = al ? (int32_t)(al - cw->alerts->list) : -2;
		if (al) {
			al->addr = e->s.k.host;
			al->port = e->s.k.side ? e->s.k.port : 0;
			if (e->s.k.side == 0) {
				al->peer = e->s.k.peer;
				al->peer_port = e->s.k.port;
				al->has_peer = true;
			}
		}
	}
	if (e->s.alert < 0)
		return;
	struct cs_alert *al = &cw->alerts->list[e->s.alert];
	al->end_us = now_us;
	cs_alert_figure(al, 0, "close_wait", e->peak_old, false);
	cs_alert_figure(al, 1, "peak_at", e->peak_at_us, true);
	cs_alert_figure(al, 2, "age_limit", cw->age_us, true);
	cs_alert_figure(al, 3, "entered", e->s.entered, false);
	explain(cw, e, al);
}

static bool queue_push(struct cs_closewait *cw, struct cs_closewait_due d)
{
	if (cw->len == cw->cap) {
		uint32_t cap = cw->cap ? cw->cap * 2 : 1024;
		struct cs_closewait_due *q = malloc(cap * sizeof *q);
		if (!q)
			return false;
		for (uint32_t i = 0; i < cw->len; i++)
			q[i] = cw->queue[(cw->head + i) % cw->cap];
		free(cw->queue);
		cw->queue = q;
		cw->cap = cap;
		cw->head = 0;
	}
	cw->queue[(cw->head + cw->len) % cw->cap] = d;
	cw->len++;
	return true;
}

void cs_closewait_enter(struct cs_closewait *cw, const struct cs_conn *c,
			int side, uint64_t now_us)
{
	if (!cs_groups_enter(&cw->g, c, side))
		return;
	struct cs_closewait_due d = {
		.ref = (cs_conn_ref)(c - cw->flows->conns),
		.key_index = (uint8_t)cs_conn_key_index(c, side),
		.id = c->id,
		.due_us = cs_time_add(now_us, cw->age_us),
	};
	if (!queue_push(cw, d))
		cw->dropped++;
}

void cs_closewait_leave(struct cs_closewait *cw, const struct cs_conn *c, int side,
			uint64_t now_us)
{
	struct cs_group_key k;
	bool old = c->detect[cs_conn_key_index(c, side)].close_wait_old;

	cs_group_key_of(c, side, &k);
	struct cw_entry *e = cs_groups_find(&cw->g, &k, false);
	if (e) {
		e->s.held -= e->s.held > 0;
		if (old && e->old)
			e->old--;
		if (e->s.alert >= 0 && old)
			cw->alerts->list[e->s.alert].end_us = now_us;
	}
}

void cs_closewait_tick(struct cs_closewait *cw, uint64_t now_us)
{
	while (cw->len && cw->queue[cw->head].due_us <= now_us) {
		struct cs_closewait_due d = cw->queue[cw->head];
		cw->head = (cw->head + 1) % cw->cap;
		cw->len--;

		struct cs_conn *c = &cw->flows->conns[d.ref];
		if (!c->in_use || c->id != d.id)
			continue;	/* gone already */
		int side = d.key_index == c->orig ? 0 : 1;
		struct cs_detect_marks *m = &c->detect[d.key_index];
		if (!m->close_wait || c->ep[side].state != CS_TCP_CLOSE_WAIT)
			continue;
		struct cs_group_key k;
		cs_group_key_of(c, side, &k);
		struct cw_entry *e = cs_groups_find(&cw->g, &k, false);
		if (!e)
			continue;
		m->close_wait_old = true;
		e->old++;
		if (e->old > e->peak_old) {
			e->peak_old = e->old;
			e->peak_at_us = d.due_us;
		}
		update_alert(cw, e, d.due_us);
	}
}
