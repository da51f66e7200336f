/*
 * engine.c — frame -> decoder -> accounting -> connection tracking.
 */
#include "analyzer/engine.h"

#include <stdio.h>
#include <string.h>

#include "analyzer/tracking/diagnose.h"
#include "analyzer/tracking/tcp.h"
#include "analyzer/tracking/track.h"
#include "analyzer/tracking/zeek.h"
#include "capture/assert.h"
#include "capture/checksum.h"
#include "capture/decode.h"
#include "capture/pkttime.h"

/* Expiries done per packet: bounded work, amortised over the traffic. */
#define EXPIRE_PER_PACKET 8
/* Open records recounted per packet as their SYN timeout passes: more than
 * the one record a packet can create, so the tally keeps up. */
#define TALLY_PER_PACKET 8

void cs_engine_opts_default(struct cs_engine_opts *o)
{
	memset(o, 0, sizeof *o);
	o->flow.max_flows = CS_FLOW_MAX_DEFAULT;
	o->flow.idle_timeout_us = CS_IDLE_TIMEOUT_SEC_DEFAULT * 1000000ull;
	o->flow.attempt_timeout_us = CS_ATTEMPT_TIMEOUT_SEC * 1000000ull;
	o->flow.closed_timeout_us = 2ull * CS_MSL_SEC_DEFAULT * 1000000ull;
	o->flow.reset_linger_us = CS_RESET_LINGER_SEC * 1000000ull;
	o->flow.set_aside = true;
	o->flow.pack_thread = true;
	o->flow.hold_evicted = true;
	o->syn_timeout_us = CS_SYN_TIMEOUT_SEC_DEFAULT * 1000000ull;
	cs_detect_opts_default(&o->detect);
}

/* A record leaves the table: judge it, count it, hand it out. */
static void conn_done(void *ctx, struct cs_conn *c, uint64_t now_us)
{
	struct cs_engine *e = ctx;

	if (e->opt.keep_recent)
		cs_tally_remove(&e->open, c);
	/* A TIME_WAIT that has run its 2*MSL is over: report it CLOSED. */
	cs_tcp_end_time_wait(c, now_us, e->opt.flow.closed_timeout_us, false);
	struct cs_verdict v = {
		.outcome = cs_diagnose_outcome(c, now_us, e->opt.syn_timeout_us),
		.conn_state = cs_zeek_conn_state(c),
	};
	/* A connect() that failed is over: its originator is CLOSED. */
	if (cs_diagnose_connect_failed(v.outcome))
		cs_tcp_connect_failed(c);

	cs_connstats_add(&e->conns, c, v.outcome, v.conn_state, e->finishing);
	cs_verdicts_add(&e->verdicts, c, v.outcome);
	cs_verdicts_add_stalled(&e->verdicts, c, v.outcome);
	if (e->opt.keep_recent)
		cs_recent_finished(&e->recent, c, &v);
	if (!e->finishing)
		cs_detect_conn_done(&e->detect, c, now_us);
	if (e->on_verdict)
		e->on_verdict(e->verdict_ctx, c, &v);
}

/* Zeek would have ended its connection here; the record goes on. */
static void zeek_row_done(void *ctx, struct cs_conn *c, uint64_t now_us)
{
	struct cs_engine *e = ctx;

	(void)now_us;
	e->zeek_rows++;
	if (e->on_verdict)
		e->on_verdict(e->verdict_ctx, c, NULL);
}

int cs_engine_init(struct cs_engine *e, const struct cs_engine_opts *o,
		   char *err, size_t errlen)
{
	memset(e, 0, sizeof *e);
	e->opt = *o;
	cs_stats_init(&e->stats);
	cs_connstats_init(&e->conns);
	cs_verdicts_init(&e->verdicts);
	if (cs_flow_init(&e->flows, &o->flow, conn_done, e, err, errlen) != 0)
		return -1;
	e->flows.zeek_row = zeek_row_done;
	cs_tally_init(&e->open, &e->flows, o->syn_timeout_us);
	struct cs_detect_opts d = o->detect;
	d.twice_msl_us = o->flow.closed_timeout_us;
	e->decoder = (struct cs_decoder){
		.defrag = cs_defrag_create(), .keying = e->flows.keying,
		.verify_checksums = o->verify_checksums,
	};
	if (!e->decoder.defrag || cs_detect_init(&e->detect, &d, &e->flows) != 0 ||
	    (o->keep_recent && cs_recent_init(&e->recent, o->keep_all_budget_bytes) != 0)) {
		cs_defrag_destroy(e->decoder.defrag);
		e->decoder.defrag = NULL;
		cs_detect_fini(&e->detect);
		cs_tally_fini(&e->open);
		cs_flow_fini(&e->flows);
		snprintf(err, errlen, "out of memory for the detectors");
		return -1;
	}
	return 0;
}

void cs_engine_fini(struct cs_engine *e)
{
	cs_defrag_destroy(e->decoder.defrag);
	e->decoder.defrag = NULL;
	cs_tally_fini(&e->open);
	cs_flow_fini(&e->flows);
	cs_connstats_fini(&e->conns);
	cs_detect_fini(&e->detect);
	cs_verdicts_fini(&e->verdicts);
	if (e->opt.keep_recent)
		cs_recent_fini(&e->recent);
}

void cs_engine_set_output(struct cs_engine *e, cs_verdict_fn fn, void *ctx)
{
	e->on_verdict = fn;
	e->verdict_ctx = ctx;
}

static void advance_time(struct cs_engine *e, uint64_t ts_us)
{
	/* so that a timer set past it (CS_TIME_NEVER) never fires */
	CS_ASSERT(ts_us <= CS_TIME_MAX_US);
	if (ts_us <= e->now_us)
		return;
	e->now_us = ts_us;
	if (!e->opt.keep_recent)
		return;
	/* The gauges of a second are the states at its end. */
	cs_recent_second(&e->recent, ts_us / 1000000u,
			 (uint32_t)e->detect.time_wait_now,
			 (uint32_t)e->detect.close_wait_now);
}

/* Per-second counts and the timeline, for the web view. */
static void keep_recent(struct cs_engine *e, struct cs_conn *c, int side,
			unsigned ev, const struct cs_pkt *p)
{
	struct cs_recent *r = &e->recent;
	uint16_t sa = p->flags & (CS_TH_SYN | CS_TH_ACK);

	if (sa == CS_TH_SYN)
		cs_recent_count(r, CS_SER_SYN);
	else if (sa == (CS_TH_SYN | CS_TH_ACK))
		cs_recent_count(r, CS_SER_SYNACK);
	if (p->flags & CS_TH_RST)
		cs_recent_count(r, CS_SER_RST);
	if (p->flags & CS_TH_FIN)
		cs_recent_count(r, CS_SER_FIN);
	if (c->ep[0].pkts + c->ep[1].pkts == 1)
		cs_recent_count(r, CS_SER_NEW);
	if (ev & CS_EV_ESTABLISHED)
		cs_recent_count(r, CS_SER_ESTABLISHED);
	cs_recent_segment(r, c, side, p);
}

/*
 * A fragment of the frame's outer IP datagram is held, and the one that
 * completes the datagram is decoded as the whole of it.  Accounting: each
 * fragment is one frame read, counted once -- held ones under
 * ip_fragment_held, the completing one as its datagram decodes (analysed,
 * or that datagram's reason).  A datagram given up is counted apart
 * (summary.ip_datagrams_incomplete): its fragments were counted as held.
 */
static void reassemble(const struct cs_decoder *dec, const struct cs_frame *f,
		       struct cs_decoded *d)
{
	struct cs_frame whole;
	uint64_t now = f->ts_invalid ? 0 : f->ts_us;

	/* Zeek drops a fragment whose header checksum is wrong before it
	 * reassembles anything: the check below counts it */
	if (dec->verify_checksums && (d->pkt.info & CS_PKTF_IP_CSUM_BAD))
		return;

	switch (cs_defrag_frame(dec->defrag, f, d->pkt.outer_ip, now, &whole,
				&d->given_up)) {
	case CS_DEFRAG_HELD:
		d->why = CS_SKIP_IP_FRAGMENT_HELD;
		break;
	case CS_DEFRAG_OVERLAP:
		d->why = CS_SKIP_IP_FRAGMENT_OVERLAP;
		break;
	case CS_DEFRAG_COMPLETE:
		d->reassembled = true;
		d->why = cs_decode(&whole, &d->pkt);
		d->wirelen = f->wirelen;	/* the frame read is this one */
		break;
	default:		/* whole, or a fragment that cannot be held */
		break;
	}
}

void cs_engine_decode(const struct cs_decoder *dec, const struct cs_frame *f,
		      struct cs_decoded *d)
{
	d->ts_us = f->ts_us;
	/* (a frame not from a source may carry the reserved CS_TIME_NEVER) */
	d->ts_invalid = f->ts_invalid || f->ts_us > CS_TIME_MAX_US;
	d->wirelen = f->wirelen;
	d->why = cs_decode(f, &d->pkt);
	d->reassembled = false;
	d->given_up = 0;
	if (d->pkt.outer_ip)
		reassemble(dec, f, d);
	/* (only the source's filter reads these: they die with the frame) */
	d->pkt.icmp.quote = NULL;
	d->pkt.outer_ip = NULL;
	/* Zeek drops a datagram whose IPv4 header checksum is wrong before
	 * any connection sees it (no history letter): so do we, on request,
	 * whatever else the rest of the frame would have been. */
	if (dec->verify_checksums && (d->pkt.info & CS_PKTF_IP_CSUM_BAD))
		d->why = CS_SKIP_BAD_IP_CHECKSUM;
	if (d->why != CS_SKIP_NONE) {
		d->bad_sum = false;
		return;
	}
	/* Zeek drops a segment whose checksum is wrong (the receiver would)
	 * but remembers it in the history: so do we, on request. */
	d->bad_sum = dec->verify_checksums && d->pkt.kind == CS_PKT_TCP &&
		     cs_tcp_checksum(&d->pkt) == CS_CSUM_BAD;
	d->pkt.tcp = NULL;	/* the frame's bytes may be gone by the next step */
	d->pkt.tcp_caplen = 0;
	cs_flow_where_by(&dec->keying, &d->pkt, &d->where);
}

void cs_engine_decoded(struct cs_engine *e, struct cs_decoded *d)
{
	struct cs_frame f = { .ts_us = d->ts_us, .wirelen = d->wirelen,
			      .ts_invalid = d->ts_invalid };
	struct cs_pkt *pkt = &d->pkt;
	struct cs_conn *c;

	cs_stats_count(&e->stats, &f, d->bad_sum ? CS_SKIP_BAD_CHECKSUM : d->why,
		       pkt);
	e->stats.datagrams_reassembled += d->reassembled;
	e->stats.datagrams_incomplete += d->given_up;
	if (d->why != CS_SKIP_NONE)
		return;
	/* A frame without a time (pkttime.h) comes at the time reached. */
	if (!d->ts_invalid)
		advance_time(e, pkt->ts_us);
	/* Records are judged by packet time, which never goes backwards; what
	 * has expired by now goes before this packet could be given to it. */
	pkt->ts_us = e->now_us;
	cs_flow_expire(&e->flows, e->now_us, EXPIRE_PER_PACKET);
	if (e->opt.keep_recent)
		cs_tally_advance(&e->open, e->now_us, TALLY_PER_PACKET);
	if (d->bad_sum) {
		c = cs_track_bad_checksum(&e->flows, pkt, &d->where);
	} else if (pkt->kind == CS_PKT_ICMP_ERR) {
		bool of_evicted;
		c = cs_track_icmp(&e->flows, pkt, &d->where, &of_evicted);
		if (!c && !of_evicted)
			e->icmp_unmatched++;
	} else {
		int side;
		cs_detect_packet(&e->detect, pkt);
		if (e->host.listen_cnt && (pkt->flags & (CS_TH_SYN | CS_TH_ACK)) == CS_TH_SYN)
			cs_host_note_syn(&e->host, &pkt->dst, pkt->dport);
		unsigned ev = cs_track_segment_at(&e->flows, pkt, &d->where, &c,
						  &side);
		if (ev & CS_EV_OUT_OF_WINDOW)
			e->out_of_window++;
		if (c) {	/* else untracked: flows.untracked counted why */
			cs_detect_segment(&e->detect, c, side, ev, pkt);
			if (e->opt.keep_recent)
				keep_recent(e, c, side, ev, pkt);
		}
	}
	if (c && e->opt.keep_recent)
		cs_tally_update(&e->open, c, e->now_us);
	cs_detect_tick(&e->detect, e->now_us);
}

/* How far ahead of the packet in hand the index slot, then the record,
 * are asked for: a memory load's latency is a few packets' work. */
#define PREFETCH_SLOT_AHEAD 8
#define PREFETCH_RECORD_AHEAD 4

/*
 * The decoded frames themselves were written by the reading thread, on
 * the other core, whose cache still holds them: each line's first read
 * here waited for it.  The loop's first look at a frame (its why, eight
 * ahead, in prefetch below) took 83% of the time the batch loop spent
 * outside the calls, and the loop 8.5% of the analysing thread's (perf
 * record on SMALL).  Every line of a frame is asked for further ahead.
 */
#define PREFETCH_FRAME_AHEAD 16

static void prefetch_frame(const struct cs_decoded *d)
{
	const char *f = (const char *)d;

	for (size_t at = 0; at < sizeof *d; at += 64)
		__builtin_prefetch(f + at);
	__builtin_prefetch(f + sizeof *d - 1);	/* (not 64-byte aligned) */
}

static void prefetch(const struct cs_engine *e, const struct cs_decoded *d,
		     size_t i, size_t n)
{
	if (i + PREFETCH_FRAME_AHEAD < n)
		prefetch_frame(&d[i + PREFETCH_FRAME_AHEAD]);
	if (i + PREFETCH_SLOT_AHEAD < n &&
	    d[i + PREFETCH_SLOT_AHEAD].why == CS_SKIP_NONE)
		cs_flow_prefetch_slot(&e->flows, d[i + PREFETCH_SLOT_AHEAD].where.hash);
	if (i + PREFETCH_RECORD_AHEAD < n &&
	    d[i + PREFETCH_RECORD_AHEAD].why == CS_SKIP_NONE)
		cs_flow_prefetch_record(&e->flows,
					d[i + PREFETCH_RECORD_AHEAD].where.hash);
}

void cs_engine_decoded_batch(struct cs_engine *e, struct cs_decoded *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		prefetch(e, d, i, n);
		cs_engine_decoded(e, &d[i]);
	}
}

void cs_engine_frame(void *engine, const struct cs_frame *f)
{
	struct cs_engine *e = engine;
	struct cs_decoded d;

	cs_engine_decode(&e->decoder, f, &d);
	cs_engine_decoded(e, &d);
}

void cs_engine_tick(struct cs_engine *e, uint64_t wall_us)
{
	advance_time(e, wall_us);
	cs_flow_expire(&e->flows, e->now_us, UINT32_MAX);
	if (e->opt.keep_recent)
		cs_tally_advance(&e->open, e->now_us, UINT32_MAX);
	cs_detect_tick(&e->detect, e->now_us);
}

void cs_engine_host_sample(struct cs_engine *e, const struct cs_host_sample *s)
{
	cs_host_sample_in(&e->host, &e->detect.alerts, s, e->detect.time_wait_now,
			  e->detect.close_wait_now);
}

void cs_engine_refresh(struct cs_engine *e)
{
	cs_detect_refresh(&e->detect);
	cs_host_confirm_floods(&e->host, &e->detect.alerts);
	/* Those the packets have not reached yet: each is recounted once, so
	 * this too is work the packets that made them paid for. */
	if (e->opt.keep_recent)
		cs_tally_advance(&e->open, e->now_us, UINT32_MAX);
	if (e->opt.keep_recent && e->recent.all)
		cs_store_publish(e->recent.all);
}

void cs_engine_keep_open(struct cs_engine *e)
{
	struct cs_store *all = e->opt.keep_recent ? e->recent.all : NULL;

	if (!all || all->frozen)
		return;
	for (int l = 0; l < CS_LIST_MAX; l++) {
		for (cs_conn_ref at = e->flows.lists[l].tail; at;) {
			struct cs_conn copy;
			const struct cs_conn *c = cs_flow_view(&e->flows, at, &copy);
			struct cs_verdict v = {
				.outcome = cs_diagnose_outcome(c, e->now_us,
							       e->opt.syn_timeout_us),
				.conn_state = cs_zeek_conn_state(c),
			};
			struct cs_conn_rec rec;
			cs_conn_rec_fill(&rec, c, &v, true);
			/* as the snapshot's copies have it (copy_open) */
			rec.state[0] = (uint8_t)cs_diagnose_orig_state(c, v.outcome);
			cs_store_add(all, &rec);
			at = cs_flow_older(&e->flows, at);
		}
	}
	cs_store_freeze(all);
}

void cs_engine_close_seconds(struct cs_engine *e)
{
	if (e->seconds_closed)
		return;
	cs_detect_finish(&e->detect, e->now_us);
	cs_host_confirm_floods(&e->host, &e->detect.alerts);
	e->seconds_closed = true;
}

void cs_engine_finish(struct cs_engine *e)
{
	/* fragments still held now belong to datagrams that never completed */
	if (e->decoder.defrag)
		e->stats.datagrams_incomplete += cs_defrag_flush(e->decoder.defrag);
	cs_engine_close_seconds(e);
	e->finishing = true;
	cs_flow_flush(&e->flows, e->now_us);
	e->finishing = false;
}
