/*
 * detect.c — detector dispatch, port reuse, RST and retransmission figures.
 */
#include "analyzer/detectors/detect.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "analyzer/tracking/tcp.h"

#define REUSE_GROUPS 4096

struct reuse_entry {
	struct cs_group_key k;		/* host = client, peer:port = server */
	uint64_t count;			/* reuses that stalled */
	uint64_t on_client, on_server;	/* whose TIME_WAIT the SYN landed on */
	uint64_t old_ack, resent, failed; /* what the stall was (not exclusive) */
	uint16_t example_port;		/* a client port that was reused */
	int32_t alert;
};

void cs_detect_opts_default(struct cs_detect_opts *o)
{
	o->synflood_rate = CS_SYNFLOOD_RATE_DEFAULT;
	o->timewait_threshold = CS_TIMEWAIT_THRESHOLD_DEFAULT;
	o->twice_msl_us = 2 * CS_MSL_SEC_DEFAULT * CS_USEC_PER_SEC;
	o->closewait_age_us = CS_CLOSEWAIT_AGE_SEC_DEFAULT * CS_USEC_PER_SEC;
	o->closewait_threshold = CS_CLOSEWAIT_THRESHOLD_DEFAULT;
}

int cs_detect_init(struct cs_detect *d, const struct cs_detect_opts *o,
		   struct cs_flow_table *flows)
{
	memset(d, 0, sizeof *d);
	d->opt = *o;
	if (cs_alerts_init(&d->alerts) != 0)
		return -1;
	cs_synflood_init(&d->syn, o->synflood_rate, &d->alerts);
	cs_timewait_init(&d->tw, o->timewait_threshold, o->twice_msl_us, &d->alerts);
	cs_closewait_init(&d->cw, o->closewait_threshold, o->closewait_age_us,
			  &d->alerts, flows);
	cs_groups_init(&d->reuse, sizeof(struct reuse_entry), REUSE_GROUPS);
	cs_scan_init(&d->scan, &d->alerts);
	cs_backscatter_init(&d->backscatter, &d->alerts);
	return 0;
}

void cs_detect_fini(struct cs_detect *d)
{
	cs_synflood_fini(&d->syn);
	cs_timewait_fini(&d->tw);
	cs_closewait_fini(&d->cw);
	cs_groups_fini(&d->reuse);
	cs_scan_fini(&d->scan);
	cs_backscatter_fini(&d->backscatter);
	cs_alerts_fini(&d->alerts);
}

void cs_detect_packet_control(struct cs_detect *d, const struct cs_pkt *p)
{
	cs_synflood_segment(&d->syn, p);
	cs_scan_segment(&d->scan, p);
	if (p->flags & CS_TH_RST) {
		uint64_t sec = p->ts_us / CS_USEC_PER_SEC;
		if (sec != d->rst_sec) {
			d->rst_sec = sec;
			d->rst_in_sec = 0;
		}
		if (++d->rst_in_sec > d->rst_peak) {
			d->rst_peak = d->rst_in_sec;
			d->rst_peak_at_us = sec * CS_USEC_PER_SEC;
		}
	}
	if (p->payload_len && !(p->flags & CS_TH_RST))
		d->data_segments++;
}

/* ---- port reuse ------------------------------------------------------------- */

static void reuse_explain(const struct reuse_entry *e, struct cs_alert *al)
{
	char client[CS_ADDR_STRLEN], server[64], n[32];
	const char *whose = e->on_client && e->on_server ? "both sides" :
			    e->on_client ? "the client" : "the server";
	const char *how = e->old_ack ? "the old connection answered the SYN "
				       "with its ACK (RFC 6191: the SYN's "
				       "sequence number or timestamp was not "
				       "newer)" :
			  e->failed ? "the connect failed" :
			  "the SYN had to be sent again";

	cs_addr_format(&e->k.host, client, sizeof client);
	cs_endpoint_format(&e->k.peer, e->k.port, server, sizeof server);
	snprintf(al->text, sizeof al->text, "%s new connection%s from %s to %s "
		 "reused a 4-tuple still in TIME_WAIT on %s and stalled (e.g. "
		 "client port %u): %s", cs_count_format(e->count, n, sizeof n),
		 e->count == 1 ? "" : "s", client, server, whose,
		 e->example_port, how);
}

/* What hurt a reuse, as the tracker saw it. */
struct reuse_trouble {
	bool old_ack, resent, failed;
};

static struct reuse_entry *reuse_entry(struct cs_detect *d,
				       const struct cs_conn *c, uint64_t start_us)
{
	struct cs_group_key k;
	int o = c->orig, r = !c->orig;

	memset(&k, 0, sizeof k);
	k.host = c->key.addr[o];
	k.peer = c->key.addr[r];
	k.port = c->key.port[r];
	struct reuse_entry *e = cs_groups_find(&d->reuse, &k, true);
	if (!e || e->count)
		return e;
	e->example_port = c->key.port[o];
	struct cs_alert *al = cs_alerts_raise(&d->alerts, CS_ALERT_PORT_REUSE,
					      start_us);
	e->alert = al ? (int32_t)(al - d->alerts.list) : -1;
	if (al) {
		al->addr = k.host;
		al->peer = k.peer;
		al->peer_port = k.port;
		al->has_peer = true;
	}
	return e;
}

static void port_reuse(struct cs_detect *d, const struct cs_conn *c,
		       const struct reuse_trouble *t, uint64_t now_us)
{
	int o = c->orig, r = !c->orig;
	struct reuse_entry *e = reuse_entry(d, c, c->first_ts_us);

	d->reuse_stalled++;
	if (!e)
		return;
	e->count++;
	e->on_client += (c->reuse_tw >> o) & 1;
	e->on_server += (c->reuse_tw >> r) & 1;
	e->old_ack += t->old_ack;
	e->resent += t->resent;
	e->failed += t->failed;
	if (e->alert < 0)
		return;
	struct cs_alert *al = &d->alerts.list[e->alert];
	al->end_us = now_us;
	cs_alert_figure(al, 0, "count", e->count, false);
	cs_alert_figure(al, 1, "on_client", e->on_client, false);
	cs_alert_figure(al, 2, "on_server", e->on_server, false);
	cs_alert_figure(al, 3, "example_port", e->example_port, false);
	cs_alert_figure(al, 4, "old_ack", e->old_ack, false);
	cs_alert_figure(al, 5, "syn_resent", e->resent, false);
	cs_alert_figure(al, 6, "failed", e->failed, false);
	reuse_explain(e, al);
}

static bool reused_time_wait(const struct cs_conn *c)
{
	return c->port_reuse && c->reuse_tw;
}

/*
 * A 4-tuple reused while still in TIME_WAIT is judged once, at the first
 * sign: the responder's first SYN-ACK to the first SYN means it was taken
 * at once, which is healthy -- Linux reuses a TIME_WAIT by design when the
 * SYN is newer (RFC 6191) -- and only counted.  The old connection's ACK
 * (tcp.c's CS_EV_OLD_CONN), the SYN sent again, or a RST in answer mean
 * the reuse stalled the connect: alerted.  A SYN that got no answer at all
 * is judged when its record leaves the table (reuse_failed).  Each test
 * holds only for the first of these signs, so nothing is judged twice.
 */
static void judge_reuse(struct cs_detect *d, const struct cs_conn *c,
			int side, unsigned ev, uint64_t now_us)
{
	const struct cs_endpoint *o = &c->ep[0], *r = &c->ep[1];
	struct reuse_trouble t = { false, false, false };

	if (!reused_time_wait(c) || r->syn_cnt > 1)
		return;
	bool unjudged = o->syn_cnt == 1 && !c->old_ack;
	if ((ev & CS_EV_OLD_CONN) && side == 1 && r->pkts == 1 && o->syn_cnt == 1)
		t.old_ack = true;
	else if ((ev & CS_EV_SYN_RETX) && side == 0 && o->syn_cnt == 2 &&
		 !c->old_ack && !r->syn && !r->rst)
		t.resent = true;
	else if ((ev & CS_EV_RST) && side == 1 && !r->syn && unjudged)
		t.failed = true;
	else if ((ev & CS_EV_SYNACK) && !(ev & CS_EV_SYN_RETX) && unjudged)
		d->reuse_clean++;
	if (t.old_ack || t.resent || t.failed)
		port_reuse(d, c, &t, now_us);
}

static void reuse_failed(struct cs_detect *d, const struct cs_conn *c,
			 uint64_t now_us)
{
	const struct cs_endpoint *o = &c->ep[0], *r = &c->ep[1];

	if (!reused_time_wait(c) || r->syn || r->rst || c->old_ack ||
	    o->syn_cnt != 1)
		return;
	struct reuse_trouble t = { false, false, true };
	port_reuse(d, c, &t, now_us);
}

/* ---- per segment ------------------------------------------------------------ */

/* The marks of endpoint `side` (0: the originator), ours to write. */
static struct cs_detect_marks *marks_of(struct cs_conn *c, int side)
{
	return &c->detect[cs_conn_key_index(c, side)];
}

static void leave_states(struct cs_detect *d, struct cs_conn *c, int i,
			 uint64_t now_us)
{
	struct cs_detect_marks *m = marks_of(c, i);

	if (m->time_wait) {
		d->time_wait_now--;
		cs_timewait_leave(&d->tw, c, i);
		m->time_wait = false;
	}
	if (m->close_wait) {
		d->close_wait_now--;
		cs_closewait_leave(&d->cw, c, i, now_us);
		m->close_wait = m->close_wait_old = false;
	}
}

/* Entering and leaving TIME_WAIT and CLOSE_WAIT, for both endpoints: the
 * gauges count every endpoint, the detectors what their tables hold. */
static void watch_states(struct cs_detect *d, struct cs_conn *c, uint64_t now_us)
{
	for (int i = 0; i < 2; i++) {
		uint8_t state = c->ep[i].state;
		struct cs_detect_marks *m = marks_of(c, i);
		if ((m->time_wait && state != CS_TCP_TIME_WAIT) ||
		    (m->close_wait && state != CS_TCP_CLOSE_WAIT))
			leave_states(d, c, i, now_us);
		if (state == CS_TCP_TIME_WAIT && !m->time_wait) {
			m->time_wait = true;
			d->time_wait_now++;
			cs_timewait_enter(&d->tw, c, i, now_us);
		}
		if (state == CS_TCP_CLOSE_WAIT && !m->close_wait) {
			m->close_wait = true;
			d->close_wait_now++;
			cs_closewait_enter(&d->cw, c, i, now_us);
		}
	}
}

void cs_detect_segment_events(struct cs_detect *d, struct cs_conn *c, int side,
			      unsigned ev, const struct cs_pkt *p)
{
	/* The record's first packet is a RST: nothing else was seen of it. */
	if ((p->flags & CS_TH_RST) && c->ep[0].pkts + c->ep[1].pkts == 1)
		cs_backscatter_lone_rst(&d->backscatter, p);
	if (ev & CS_EV_RETRANSMIT)
		d->retransmitted++;
	if (ev & CS_EV_ESTABLISHED) {
		int r = !c->orig;
		cs_synflood_completed(&d->syn, &c->key.addr[r], c->key.port[r],
				      p->ts_us);
	}
	/* A bare SYN that made a new record: a new connection. */
	if ((ev & CS_EV_SYN) && !(ev & CS_EV_SYN_RETX) && c->ep[0].syn_cnt == 1 &&
	    c->ep[0].pkts == 1) {
		cs_timewait_new_conn(&d->tw, c, p->ts_us);
		d->reuse_time_wait += reused_time_wait(c);
	}
	judge_reuse(d, c, side, ev, p->ts_us);
	if (ev & (CS_EV_TIME_WAIT | CS_EV_CLOSE_WAIT) || cs_detect_marked(c))
		watch_states(d, c, p->ts_us);
}

void cs_detect_conn_done(struct cs_detect *d, struct cs_conn *c, uint64_t now_us)
{
	reuse_failed(d, c, now_us);
	for (int i = 0; i < 2; i++)
		leave_states(d, c, i, now_us);
}

void cs_detect_refresh(struct cs_detect *d)
{
	cs_timewait_refresh(&d->tw);
}

void cs_detect_finish(struct cs_detect *d, uint64_t now_us)
{
	cs_closewait_tick(&d->cw, now_us);
	cs_synflood_finish(&d->syn);
	cs_detect_refresh(d);
}
