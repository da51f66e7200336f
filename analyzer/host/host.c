/*
 * host.c — listeners, counters and socket states, sample by sample.
 */
#include "analyzer/host/host.h"

#include <stdio.h>
#include <string.h>

enum { FIG_BACKLOG, FIG_QUEUE_PEAK, FIG_OVERFLOWS, FIG_FULL_FOR };

void cs_host_init(struct cs_host *h, bool on)
{
	memset(h, 0, sizeof *h);
	h->on = on;
}

static bool wildcard(const struct cs_addr *a)
{
	static const struct cs_addr any6;
	static const struct cs_addr any4 = { { [10] = 0xff, [11] = 0xff } };

	return !memcmp(a, &any6, sizeof *a) || !memcmp(a, &any4, sizeof *a);
}

const struct cs_addr *cs_host_listen_addr(const struct cs_host_listen *l)
{
	return l->have_reached ? &l->reached : &l->addr;
}

static struct cs_host_listen *find_listen(struct cs_host *h,
					  const struct cs_host_listener *k)
{
	for (uint32_t i = 0; i < h->listen_cnt; i++) {
		struct cs_host_listen *l = &h->listen[i];
		if (l->port == k->port && !memcmp(&l->addr, &k->addr, sizeof l->addr))
			return l;
	}
	if (h->listen_cnt == CS_HOST_LISTENERS) {
		h->listen_unkept++;
		return NULL;
	}
	struct cs_host_listen *l = &h->listen[h->listen_cnt++];
	memset(l, 0, sizeof *l);
	l->addr = k->addr;
	l->port = k->port;
	l->alert = -1;
	return l;
}

bool cs_host_delta(const struct cs_host *h, enum cs_hostctr i, uint64_t *d)
{
	uint32_t bit = 1u << i;

	*d = 0;
	if (h->samples < 2 || !(h->first.have_ctr & bit) || !(h->last.have_ctr & bit))
		return false;
	/* A counter never goes down; one that did was reset (another
	 * namespace's view, a wrap): no change rather than a huge one. */
	if (h->last.ctr[i] >= h->first.ctr[i])
		*d = h->last.ctr[i] - h->first.ctr[i];
	return true;
}

/* The change of a counter from the sample before s. */
static uint64_t step(const struct cs_host *h, const struct cs_host_sample *s,
		     enum cs_hostctr i)
{
	uint32_t bit = 1u << i;

	if (!h->samples || !(h->last.have_ctr & bit) || !(s->have_ctr & bit) ||
	    s->ctr[i] < h->last.ctr[i])
		return 0;
	return s->ctr[i] - h->last.ctr[i];
}

/* "the accept queue of 10.0.0.2:8080 (backlog 2) was full for 9 s and the
 * kernel dropped 27 SYNs: ..." */
static void overflow_sentence(struct cs_alert *al)
{
	char ep[80], n[32], dur[48] = "";
	uint64_t full_us = al->fig[FIG_FULL_FOR].value;

	cs_endpoint_format(&al->addr, al->port, ep, sizeof ep);
	cs_count_format(al->fig[FIG_OVERFLOWS].value, n, sizeof n);
	if (full_us >= CS_USEC_PER_SEC)
		snprintf(dur, sizeof dur, " for %llu s",
			 (unsigned long long)((full_us + CS_USEC_PER_SEC / 2) /
					      CS_USEC_PER_SEC));
	snprintf(al->text, sizeof al->text, "the accept queue of %s (backlog "
		 "%llu) was full%s and the kernel dropped %s SYN%s or handshake "
		 "ACK%s (ListenOverflows): the application is not calling "
		 "accept() fast enough, or its backlog is too small", ep,
		 (unsigned long long)al->fig[FIG_BACKLOG].value, dur, n,
		 al->fig[FIG_OVERFLOWS].value == 1 ? "" : "s",
		 al->fig[FIG_OVERFLOWS].value == 1 ? "" : "s");
}

static void write_episode(struct cs_alert *al, const struct cs_host_listen *l,
			  uint64_t episode_overflows, uint64_t now_us)
{
	al->addr = *cs_host_listen_addr(l);
	al->port = l->port;
	al->end_us = now_us;
	if (l->queue > al->fig[FIG_QUEUE_PEAK].value || !al->fig[FIG_QUEUE_PEAK].name)
		cs_alert_figure(al, FIG_QUEUE_PEAK, "queue_peak", l->queue, false);
	cs_alert_figure(al, FIG_BACKLOG, "backlog", l->backlog, false);
	cs_alert_figure(al, FIG_OVERFLOWS, "overflows", episode_overflows, false);
	cs_alert_figure(al, FIG_FULL_FOR, "full_duration", now_us - al->start_us, true);
	overflow_sentence(al);
}

/*
 * A queue holds one more than its backlog before the kernel calls it full
 * (sk_acceptq_is_full: ack_backlog > max_ack_backlog), so listen(s, 2)
 * queues three connections.  An episode starts when the kernel drops while
 * the queue is full, and lasts while it stays full.
 */
static void judge_listener(struct cs_host_listen *l, struct cs_alerts *a,
			   uint64_t overflows, uint32_t full_cnt, uint64_t now_us)
{
	if (!l->full) {
		l->alert = -1;
		return;
	}
	uint64_t mine = full_cnt ? overflows : 0;
	l->overflows += mine;
	if (l->alert < 0 && !mine)
		return;
	if (l->alert < 0) {
		struct cs_alert *al = cs_alerts_raise(a, CS_ALERT_ACCEPT_QUEUE_OVERFLOW,
						      l->full_since_us);
		if (!al)
			return;
		l->alert = (int32_t)(al - a->list);
		cs_alert_figure(al, FIG_OVERFLOWS, "overflows", 0, false);
	}
	struct cs_alert *al = &a->list[l->alert];
	write_episode(al, l, al->fig[FIG_OVERFLOWS].value + mine, now_us);
}

static void update_listener(struct cs_host_listen *l,
			    const struct cs_host_listener *k, uint64_t now_us)
{
	bool full = k->queue > k->backlog;

	if (full && !l->full)
		l->full_since_us = now_us;
	l->full = full;
	l->backlog = k->backlog;
	l->queue = k->queue;
	l->syn_recv = k->syn_recv;
	if (k->queue > l->queue_peak)
		l->queue_peak = k->queue;
	if (k->syn_recv > l->syn_recv_peak)
		l->syn_recv_peak = k->syn_recv;
}

static void sample_listeners(struct cs_host *h, struct cs_alerts *a,
			     const struct cs_host_sample *s)
{
	uint64_t overflows = step(h, s, CS_HC_LISTEN_OVERFLOWS);
	struct cs_host_listen *seen[CS_HOST_LISTENERS];
	uint32_t n = 0, full_cnt = 0;

	for (uint32_t i = 0; i < s->listener_cnt; i++) {
		struct cs_host_listen *l = find_listen(h, &s->listeners[i]);
		if (!l)
			continue;
		update_listener(l, &s->listeners[i], s->ts_us);
		seen[n++] = l;
		full_cnt += l->full;
	}
	/* A listener gone from the dump (closed) is no longer full. */
	for (uint32_t i = 0; i < h->listen_cnt; i++) {
		bool present = false;
		for (uint32_t j = 0; j < n && !present; j++)
			present = seen[j] == &h->listen[i];
		if (!present) {
			h->listen[i].full = false;
			h->listen[i].queue = 0;
		}
	}
	for (uint32_t i = 0; i < h->listen_cnt; i++)
		judge_listener(&h->listen[i], a, overflows, full_cnt, s->ts_us);
}

static uint32_t clamp32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void keep_step(struct cs_host *h, const struct cs_host_sample *s)
{
	struct cs_host_step *st = &h->steps[h->step_next];

	st->from_us = h->last.ts_us;
	st->ts_us = s->ts_us;
	st->cookies_sent = clamp32(step(h, s, CS_HC_SYNCOOKIES_SENT));
	st->syn_drops = clamp32(step(h, s, CS_HC_REQQ_FULL_DROP));
	h->step_next = (h->step_next + 1) % CS_HOST_STEPS;
	if (h->step_cnt < CS_HOST_STEPS)
		h->step_cnt++;
}

void cs_host_sample_in(struct cs_host *h, struct cs_alerts *a,
		       const struct cs_host_sample *s, uint64_t time_wait,
		       uint64_t close_wait)
{
	if (!h->on)
		return;
	if (time_wait > h->wire_time_wait_peak)
		h->wire_time_wait_peak = time_wait;
	if (close_wait > h->wire_close_wait_peak)
		h->wire_close_wait_peak = close_wait;
	if (s->have_sockets) {
		sample_listeners(h, a, s);
		for (int i = 0; i < CS_KSTATE_MAX; i++)
			if (s->states[i] > h->sockets_peak[i])
				h->sockets_peak[i] = s->states[i];
	} else {
		h->sockets_incomplete++;
	}
	if (h->samples)
		keep_step(h, s);
	if (!h->samples)
		h->first = *s;
	struct cs_host_sample keep = *s;
	if (!s->have_sockets) {
		/* Keep the last complete view of the sockets. */
		memcpy(keep.states, h->last.states, sizeof keep.states);
		memcpy(keep.ports, h->last.ports, sizeof keep.ports);
		keep.port_cnt = h->last.port_cnt;
		keep.ports_unkept = h->last.ports_unkept;
		keep.have_sockets = h->last.have_sockets;
	}
	h->last = keep;
	h->samples++;
}

void cs_host_note_syn(struct cs_host *h, const struct cs_addr *dst,
		      uint16_t port)
{
	for (uint32_t i = 0; i < h->listen_cnt; i++) {
		struct cs_host_listen *l = &h->listen[i];
		if (l->port == port && wildcard(&l->addr)) {
			l->reached = *dst;
			l->have_reached = true;
		}
	}
}

bool cs_host_moved(const struct cs_host *h)
{
	uint64_t d;

	for (int i = 0; i < CS_HC_MAX; i++)
		if (cs_host_delta(h, (enum cs_hostctr)i, &d) && d)
			return true;
	for (uint32_t i = 0; i < h->listen_cnt; i++)
		if (h->listen[i].overflows || h->listen[i].queue_peak > h->listen[i].backlog)
			return true;
	return h->sockets_peak[CS_KSTATE_TIME_WAIT] || h->sockets_peak[CS_KSTATE_CLOSE_WAIT] ||
	       h->wire_time_wait_peak || h->wire_close_wait_peak;
}

/*
 * What each abort counter means, from where Linux counts it
 * (net/ipv4/tcp.c, tcp_input.c, tcp_timer.c): tcp_close() counts
 * TCPAbortOnClose when it resets because received data was never read,
 * and TCPAbortOnData for SO_LINGER with a zero timeout (as does data
 * arriving after the socket was shut down for reading).
 */
static const struct { enum cs_hostctr ctr; const char *why; } aborts[] = {
	{ CS_HC_ABORT_ON_CLOSE, "the application closed its socket with "
	  "received data unread, so the kernel reset instead of closing" },
	{ CS_HC_ABORT_ON_DATA, "the application closed with SO_LINGER 0 (or "
	  "data came after it had shut the socket down)" },
	{ CS_HC_ABORT_ON_TIMEOUT, "retransmissions or keepalive probes went "
	  "unanswered until the kernel gave up" },
	{ CS_HC_ABORT_ON_MEMORY, "the kernel was short of memory for sockets "
	  "(too many orphans, or tcp_mem exceeded)" },
	{ CS_HC_ABORT_ON_LINGER, "a closed socket's FIN_WAIT_2 ended early "
	  "(TCP_LINGER2)" },
};

const char *cs_host_abort_reason(const struct cs_host *h, enum cs_hostctr *which,
				 uint64_t *n)
{
	const char *why = NULL;
	uint64_t d;

	for (size_t i = 0; i < sizeof aborts / sizeof aborts[0]; i++) {
		if (!h->on || !cs_host_delta(h, aborts[i].ctr, &d) || !d)
			continue;
		if (why)
			return NULL;	/* two reasons: none singled out */
		why = aborts[i].why;
		*which = aborts[i].ctr;
		*n = d;
	}
	return why;
}

/* The clause the host view adds to a syn_flood sentence; a second call
 * replaces it (the detector may not have rewritten the sentence since). */
#define FLOOD_CLAUSE "; the kernel confirms"
enum { FIG_COOKIES = 8, FIG_SYN_DROPS = 9 };

static void confirm_flood(const struct cs_host *h, struct cs_alert *al)
{
	uint64_t cookies = 0, drops = 0;

	/* A sample counts what happened since the one before: every step
	 * that overlaps the flood's seconds or the second after counts whole
	 * (a late sample -- a busy capture reads the kernel between reads of
	 * the ring -- makes a longer step, not a lost one). */
	uint64_t until = al->end_us + CS_USEC_PER_SEC;
	for (uint32_t i = 0; i < h->step_cnt; i++) {
		const struct cs_host_step *st = &h->steps[i];
		if (st->ts_us > al->start_us && st->from_us < until) {
			cookies += st->cookies_sent;
			drops += st->syn_drops;
		}
	}
	cs_alert_figure(al, FIG_COOKIES, "cookies_sent", cookies, false);
	cs_alert_figure(al, FIG_SYN_DROPS, "syn_drops", drops, false);
	char *old = strstr(al->text, FLOOD_CLAUSE);
	if (old)
		*old = '\0';
	size_t used = strlen(al->text);
	snprintf(al->text + used, sizeof al->text - used, FLOOD_CLAUSE ": %llu "
		 "SYN cookies sent (SyncookiesSent), %llu SYNs dropped with the SYN "
		 "queue full (TCPReqQFullDrop)", (unsigned long long)cookies,
		 (unsigned long long)drops);
}

void cs_host_confirm_floods(const struct cs_host *h, struct cs_alerts *a)
{
	if (!h->on || !h->step_cnt)
		return;
	for (uint32_t i = 0; i < a->count; i++)
		if (a->list[i].type == CS_ALERT_SYN_FLOOD)
			confirm_flood(h, &a->list[i]);
}

const struct cs_alert *cs_host_overflow_alert(const struct cs_alerts *alerts,
					      const struct cs_addr *a,
					      uint16_t port)
{
	for (uint32_t i = 0; alerts && i < alerts->count; i++) {
		const struct cs_alert *al = &alerts->list[i];
		if (al->type == CS_ALERT_ACCEPT_QUEUE_OVERFLOW && al->port == port &&
		    (!memcmp(&al->addr, a, sizeof *a) || wildcard(&al->addr)))
			return al;
	}
	return NULL;
}
