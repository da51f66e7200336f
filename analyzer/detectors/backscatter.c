/*
 * backscatter.c — lone RSTs per sender, and the backscatter alert.
 */
#include "analyzer/detectors/backscatter.h"

#include <stdio.h>
#include <string.h>

struct sender {
	struct cs_group_key k;		/* host = the RST's sender */
	uint64_t rsts, rst_acks;
	uint64_t first_us, last_us;
	struct cs_distinct peers;	/* ip:port the RSTs went to */
	int32_t alert;			/* index in the alert list + 1, or 0 */
};

void cs_backscatter_init(struct cs_backscatter *b, struct cs_alerts *alerts)
{
	memset(b, 0, sizeof *b);
	b->alerts = alerts;
	cs_groups_init(&b->hosts, sizeof(struct sender), CS_BACKSCATTER_HOSTS);
}

void cs_backscatter_fini(struct cs_backscatter *b)
{
	for (uint32_t i = 0; i < b->hosts.capacity; i++) {
		struct sender *e = cs_groups_at(&b->hosts, i);
		if (e)
			cs_distinct_fini(&e->peers, &b->pool);
	}
	cs_groups_fini(&b->hosts);
}

static void explain(const struct sender *e, struct cs_alert *al)
{
	char host[CS_ADDR_STRLEN], from[16], to[16], n[32], m[32], acks[32];
	uint64_t peers = cs_distinct_estimate(&e->peers);

	cs_addr_format(&e->k.host, host, sizeof host);
	cs_time_of_day_format(al->start_us, from, sizeof from);
	cs_time_of_day_format(al->end_us, to, sizeof to);
	snprintf(al->text, sizeof al->text, "RST backscatter from %s, %s-%s UTC: "
		 "%s RSTs (%s with ACK, a closed port's answer to a SYN) to %s%s "
		 "peers on 4-tuples where nothing else was seen: %s is answering "
		 "segments spoofed with those addresses, likely a SYN flood aimed "
		 "at it from elsewhere", host, from, to,
		 cs_count_format(e->rsts, n, sizeof n),
		 cs_count_format(e->rst_acks, acks, sizeof acks),
		 cs_distinct_approximate(&e->peers) ? "about " : "",
		 cs_count_format(peers, m, sizeof m), host);
}

static void update_alert(struct cs_backscatter *b, struct sender *e)
{
	uint64_t peers = cs_distinct_estimate(&e->peers);

	if (!e->alert) {
		if (e->rsts < CS_BACKSCATTER_RSTS || peers < CS_BACKSCATTER_PEERS)
			return;
		struct cs_alert *al = cs_alerts_raise(b->alerts,
						      CS_ALERT_RST_BACKSCATTER,
						      e->first_us);
		e->alert = al ? (int32_t)(al - b->alerts->list) + 1 : -1;
		if (al)
			al->addr = e->k.host;
	}
	if (e->alert < 0)
		return;
	struct cs_alert *al = &b->alerts->list[e->alert - 1];
	al->end_us = e->last_us;
	cs_alert_figure(al, 0, "rsts", e->rsts, false);
	cs_alert_figure(al, 1, "rst_acks", e->rst_acks, false);
	cs_alert_figure(al, 2, "peers", peers, false);
	explain(e, al);
}

static uint64_t peer_hash(const struct cs_addr *a, uint16_t port)
{
	return cs_distinct_hash_addr(a->b) ^ (port + 1ull) * 0x9e3779b97f4a7c15ull;
}

static bool idle(const struct sender *e, uint64_t now_us)
{
	return e->last_us + CS_BACKSCATTER_WINDOW_SEC * CS_USEC_PER_SEC < now_us;
}

/* A full table drops the senders idle for a window, at most once per
 * second of packet time (as scan.c does; the alerts stay). */
static void sweep(struct cs_backscatter *b, uint64_t now_us)
{
	uint64_t sec = now_us / CS_USEC_PER_SEC;

	if (b->swept && sec == b->swept_sec)
		return;
	b->swept = true;
	b->swept_sec = sec;
	for (uint32_t i = 0; i < b->hosts.capacity; i++) {
		struct sender *e;
		while ((e = cs_groups_at(&b->hosts, i)) && idle(e, now_us)) {
			cs_distinct_fini(&e->peers, &b->pool);
			cs_groups_remove(&b->hosts, e);
		}
	}
}

void cs_backscatter_lone_rst(struct cs_backscatter *b, const struct cs_pkt *p)
{
	struct cs_group_key k;

	memset(&k, 0, sizeof k);
	k.host = p->src;
	struct sender *e = cs_groups_find(&b->hosts, &k, true);
	if (!e) {
		sweep(b, p->ts_us);
		e = cs_groups_find(&b->hosts, &k, true);
	}
	if (!e) {
		b->untracked++;
		return;
	}
	if (!e->rsts || p->ts_us > e->last_us +
			CS_BACKSCATTER_WINDOW_SEC * CS_USEC_PER_SEC) {
		cs_distinct_fini(&e->peers, &b->pool);
		e->rsts = e->rst_acks = 0;
		e->alert = 0;
		e->first_us = p->ts_us;
	}
	e->rsts++;
	e->rst_acks += (p->flags & CS_TH_ACK) != 0;
	e->last_us = p->ts_us;
	cs_distinct_add(&e->peers, &b->pool, peer_hash(&p->dst, p->dport),
			e->rsts >= CS_BACKSCATTER_RSTS / 2);
	update_alert(b, e);
}
