/*
 * synflood.c — per-target SYN accounting and flood episodes.
 */
#include "analyzer/detectors/synflood.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/pkttime.h"

/* A flood that pauses for up to this many seconds is still the same one. */
#define FLOOD_GAP_SEC 2

void cs_synflood_init(struct cs_synflood *f, uint32_t rate,
		      struct cs_alerts *alerts)
{
	memset(f, 0, sizeof *f);
	f->rate = rate;
	f->alerts = alerts;
}

void cs_synflood_fini(struct cs_synflood *f)
{
	for (uint32_t i = 0; f->targets && i < CS_SYNFLOOD_TARGETS; i++)
		cs_distinct_fini(&f->targets[i].sources, &f->pool);
	free(f->targets);
	f->targets = NULL;
}

static uint32_t target_slot(const struct cs_addr *a, uint16_t port)
{
	return (uint32_t)(cs_distinct_hash_addr(a->b) ^ port * 0x9e3779b97f4a7c15ull)
	       & (CS_SYNFLOOD_TARGETS - 1);
}

/* The target's entry; with create, a new one while the table has room. */
static struct cs_synflood_target *target_for(struct cs_synflood *f,
					     const struct cs_addr *a,
					     uint16_t port, bool create)
{
	if (!f->targets) {
		if (!create)
			return NULL;
		f->targets = calloc(CS_SYNFLOOD_TARGETS, sizeof *f->targets);
		if (!f->targets)
			return NULL;
	}
	for (uint32_t i = target_slot(a, port);; i = (i + 1) & (CS_SYNFLOOD_TARGETS - 1)) {
		struct cs_synflood_target *t = &f->targets[i];
		if (t->used && t->port == port && !memcmp(&t->addr, a, sizeof *a))
			return t;
		if (t->used)
			continue;
		if (!create || f->used >= CS_SYNFLOOD_TARGETS / 8 * 7)
			return NULL;
		t->used = true;
		t->addr = *a;
		t->port = port;
		t->alert = -1;
		f->used++;
		return t;
	}
}

/* ---- the alert ----------------------------------------------------------- */

/* part of whole as a percentage for a sentence: "3%", or "under 1%" when
 * there is some but it rounds to 0 (never "0%" for something). */
static const char *percent(uint64_t part, uint64_t whole, char *buf, size_t len)
{
	uint64_t pct = part * 100 / (whole ? whole : 1);

	if (pct == 0 && part > 0)
		snprintf(buf, len, "under 1%%");
	else
		snprintf(buf, len, "%" PRIu64 "%%", pct);
	return buf;
}

/*
 * How the target answered the flood's SYNs, from the shares of them it
 * answered with RST and with SYN-ACK (whole percent):
 *  - RST for at least half: a closed port, which a stack answers with RST
 *    (RFC 9293 3.10.7.1); a flood cannot fill a backlog that is not there;
 *  - SYN-ACK for at least 90%: a server whose backlog a flood must have
 *    filled still answers all, so it answers without keeping state: SYN
 *    cookies (Linux tcp_syncookies);
 *  - SYN-ACK for under half: the backlog is full and new SYNs are dropped;
 *  - in between: answered in part.
 * The spelling in response_names[] is the alert's "response" label.
 */
enum response {
	RESPONSE_REFUSED,
	RESPONSE_SYN_COOKIES,
	RESPONSE_BACKLOG_FULL,
	RESPONSE_PARTIAL,
	RESPONSE_MAX
};
static const char *const response_names[RESPONSE_MAX] = {
	[RESPONSE_REFUSED] = "refused",
	[RESPONSE_SYN_COOKIES] = "syn_cookies",
	[RESPONSE_BACKLOG_FULL] = "backlog_full",
	[RESPONSE_PARTIAL] = "partial",
};
#define REFUSED_RST_PCT 50
#define COOKIES_SYNACK_PCT 90
#define BACKLOG_FULL_SYNACK_PCT 50	/* SYN-ACKs below this share */

/* The flood's SYNs, never 0 (a divisor). */
static uint64_t flood_syns(const struct cs_synflood_target *t)
{
	return t->flood_syns ? t->flood_syns : 1;
}

static enum response response_of(const struct cs_synflood_target *t)
{
	uint64_t syns = flood_syns(t);
	uint64_t synack_pct = t->flood_synacks * 100 / syns;

	if (t->flood_rsts * 100 / syns >= REFUSED_RST_PCT)
		return RESPONSE_REFUSED;
	if (synack_pct >= COOKIES_SYNACK_PCT)
		return RESPONSE_SYN_COOKIES;
	if (synack_pct < BACKLOG_FULL_SYNACK_PCT)
		return RESPONSE_BACKLOG_FULL;
	return RESPONSE_PARTIAL;
}

static const char *response(const struct cs_synflood_target *t, char *buf, size_t len)
{
	uint64_t syns = flood_syns(t);
	char pct[16];

	switch (response_of(t)) {
	case RESPONSE_REFUSED:
		snprintf(buf, len, "refused: the target answers with RST "
			 "(nothing listens there)");
		break;
	case RESPONSE_SYN_COOKIES:
		snprintf(buf, len, "the server answers every SYN with a "
			 "SYN-ACK: SYN cookies likely");
		break;
	case RESPONSE_BACKLOG_FULL:
		snprintf(buf, len, "the server answers %s of SYNs: its SYN "
			 "backlog is full and SYNs are dropped",
			 percent(t->flood_synacks, syns, pct, sizeof pct));
		break;
	default:
		snprintf(buf, len, "the server answers %" PRIu64 "%% of SYNs",
			 t->flood_synacks * 100 / syns);
		break;
	}
	return buf;
}

static void update_alert(struct cs_synflood *f, struct cs_synflood_target *t)
{
	struct cs_alert *al = &f->alerts->list[t->alert];
	char target[64], from[16], to[16], why[120], n_src[32], n_syn[32], n_peak[32];
	uint64_t sources = cs_distinct_estimate(&t->sources);
	char done_pct[16];

	al->end_us = cs_time_sec_end(t->flood_last_sec);
	cs_alert_figure(al, 0, "syns", t->flood_syns, false);
	cs_alert_figure(al, 1, "synacks", t->flood_synacks, false);
	cs_alert_figure(al, 2, "rsts", t->flood_rsts, false);
	cs_alert_figure(al, 3, "completed", t->flood_completed, false);
	cs_alert_figure(al, 4, "sources", sources, false);
	cs_alert_figure(al, 5, "peak_syn_rate", t->peak_rate, false);
	cs_alert_figure(al, 6, "peak_at", t->peak_at_us, true);
	cs_alert_figure(al, 7, "syns_total", t->syns, false);
	al->label_key = "response";
	al->label_value = response_names[response_of(t)];

	cs_endpoint_format(&t->addr, t->port, target, sizeof target);
	cs_time_of_day_format(al->start_us, from, sizeof from);
	cs_time_of_day_format(al->end_us, to, sizeof to);
	snprintf(al->text, sizeof al->text,
		 "SYN flood on %s from %s%s sources, %s-%s UTC: %s SYNs (peak "
		 "%s/s), %s completed a handshake; %s", target,
		 cs_distinct_approximate(&t->sources) ? "about " : "",
		 cs_count_format(sources, n_src, sizeof n_src), from, to,
		 cs_count_format(t->flood_syns, n_syn, sizeof n_syn),
		 cs_count_format(t->peak_rate, n_peak, sizeof n_peak),
		 percent(t->flood_completed, t->flood_syns, done_pct, sizeof done_pct),
		 response(t, why, sizeof why));
}

/* ---- seconds ---------------------------------------------------------------- */

/* What one second of one target held. */
struct second {
	uint32_t syns, synacks, rsts, completed;
};

static void judge(struct cs_synflood *f, struct cs_synflood_target *t,
		  const struct second *s)
{
	if (s->syns > t->peak_rate) {
		t->peak_rate = s->syns;
		t->peak_at_us = t->sec * CS_USEC_PER_SEC;
	}
	bool flood = s->syns >= f->rate &&
		     (uint64_t)s->completed * 100 <
			     (uint64_t)CS_SYNFLOOD_COMPLETION_PCT * s->syns;
	if (!flood) {
		/* the alert's totals also count the calm seconds after it */
		if (t->alert >= 0)
			cs_alert_figure(&f->alerts->list[t->alert], 7, "syns_total",
					t->syns, false);
		return;
	}
	if (t->alert < 0 || t->sec > t->flood_last_sec + FLOOD_GAP_SEC) {
		struct cs_alert *al = cs_alerts_raise(f->alerts, CS_ALERT_SYN_FLOOD,
						      t->sec * CS_USEC_PER_SEC);
		if (!al) {
			t->alert = -1;
			return;
		}
		al->addr = t->addr;
		al->port = t->port;
		t->alert = (int32_t)(al - f->alerts->list);
		t->flood_syns = t->flood_synacks = t->flood_rsts = 0;
		t->flood_completed = 0;
	}
	t->flood_last_sec = t->sec;
	t->flood_syns += s->syns;
	t->flood_synacks += s->synacks;
	t->flood_rsts += s->rsts;
	t->flood_completed += s->completed;
	update_alert(f, t);
}

/*
 * Each target counts the second it is in; the first packet of a later
 * second closes it and has it judged.  SYN-ACKs and RSTs of the second are
 * the growth of their totals since the second began.
 */
static void roll(struct cs_synflood *f, struct cs_synflood_target *t,
		 uint64_t sec)
{
	if (sec <= t->sec && t->counting)
		return;
	if (t->counting) {
		struct second s = {
			.syns = t->sec_syns,
			.completed = t->sec_completed,
			.synacks = (uint32_t)(t->synacks - t->sec_synacks_base),
			.rsts = (uint32_t)(t->rsts - t->sec_rsts_base),
		};
		judge(f, t, &s);
	}
	t->sec = sec;
	t->sec_syns = t->sec_completed = 0;
	t->sec_synacks_base = t->synacks;
	t->sec_rsts_base = t->rsts;
}

void cs_synflood_segment(struct cs_synflood *f, const struct cs_pkt *p)
{
	uint16_t fl = p->flags & (CS_TH_SYN | CS_TH_ACK | CS_TH_RST);
	uint64_t sec = p->ts_us / CS_USEC_PER_SEC;
	struct cs_synflood_target *t;

	if (fl == CS_TH_SYN) {
		t = target_for(f, &p->dst, p->dport, true);
		if (!t) {
			f->untracked_syns++;
			return;
		}
		roll(f, t, sec);
		t->counting = true;
		t->syns++;
		t->sec_syns++;
		/* Registers only for flood-like targets: the budget must not
		 * go to busy servers before a flood begins. */
		bool flood_like = t->sec_syns >= f->rate / 4 || t->peak_rate >= f->rate / 4;
		cs_distinct_add(&t->sources, &f->pool, cs_distinct_hash_addr(p->src.b),
				flood_like);
	} else if (fl == (CS_TH_SYN | CS_TH_ACK)) {
		t = target_for(f, &p->src, p->sport, false);
		if (t) {
			roll(f, t, sec);
			t->synacks++;
		}
	} else if (fl & CS_TH_RST) {
		t = target_for(f, &p->src, p->sport, false);
		if (t) {
			roll(f, t, sec);
			t->rsts++;
		}
	}
}

void cs_synflood_completed(struct cs_synflood *f, const struct cs_addr *resp,
			   uint16_t resp_port, uint64_t ts_us)
{
	struct cs_synflood_target *t = target_for(f, resp, resp_port, false);

	if (!t)
		return;
	roll(f, t, ts_us / CS_USEC_PER_SEC);
	t->completed++;
	t->sec_completed++;
}

void cs_synflood_finish(struct cs_synflood *f)
{
	for (uint32_t i = 0; f->targets && i < CS_SYNFLOOD_TARGETS; i++) {
		struct cs_synflood_target *t = &f->targets[i];
		if (t->used && t->counting)
			roll(f, t, t->sec + 1);
	}
}
