/*
 * summary.c — the summary's figures, their one table, and its JSON.
 */
#include "analyzer/reports/summary.h"

#include <string.h>

const char *const cs_metric_type_names[CS_METRIC_TYPE_MAX] = {
	[CS_METRIC_NONE] = "none",
	[CS_METRIC_COUNTER] = "counter",
	[CS_METRIC_GAUGE] = "gauge",
	[CS_METRIC_SUM_OF] = "sum_of",
};

/*
 * The offset of member m, which must have type T: a line of the table that
 * names a member of another kind does not compile, rather than reading the
 * wrong bytes.  (_Generic converts an array member to a pointer.)
 */
#define AT(m, T) (offsetof(struct cs_summary, m) + \
		  0 * sizeof(_Generic(((struct cs_summary *)0)->m, T: 1)))
#define ENTRIES(m) ((int)(sizeof ((struct cs_summary *)0)->m / sizeof(uint64_t)))

#define U64(m) .kind = CS_SUM_U64, .offset = AT(m, uint64_t)
#define MAYBE_U64(m) .kind = CS_SUM_MAYBE_U64, .offset = AT(m, struct cs_maybe_u64)
#define MAYBE_USEC(m) .kind = CS_SUM_MAYBE_USEC, .offset = AT(m, struct cs_maybe_u64)
#define BOOL(m) .kind = CS_SUM_BOOL, .offset = AT(m, bool)
/* names[first..] label the entries; names[] has as many as the array */
#define COUNTS(m, names_, first_) .kind = CS_SUM_COUNTS, .offset = AT(m, uint64_t *), \
	.names = (names_), .first = (first_), .count = ENTRIES(m)

#define COUNTER(name_, help_) \
	.metric = (name_), .metric_type = CS_METRIC_COUNTER, .help = (help_)
#define GAUGE(name_, help_) \
	.metric = (name_), .metric_type = CS_METRIC_GAUGE, .help = (help_)
#define LABELLED(label_) .label = (label_)
#define SUM_OF(name_) .metric = (name_), .metric_type = CS_METRIC_SUM_OF

/*
 * In the order of the JSON report's summary, which is a contract: a new
 * field goes anywhere, an old one never moves.  Counters are monotonic
 * counts (`_total`); gauges are levels, peaks, limits and times.
 */
const struct cs_summary_field cs_summary_fields[] = {
	{ .name = "packets", U64(packets),
	  COUNTER("connscope_packets_total", "Packets read.") },
	{ .name = "bytes", U64(bytes),
	  COUNTER("connscope_bytes_total", "Bytes on the wire of the packets read.") },
	{ .name = "analysed", U64(analysed),
	  COUNTER("connscope_packets_analysed_total",
		  "Packets analysed: TCP segments and ICMP errors about TCP.") },
	{ .name = "tcp_packets", U64(tcp_packets),
	  COUNTER("connscope_tcp_packets_total", "TCP segments analysed.") },
	{ .name = "icmp_errors", U64(icmp_errors),
	  COUNTER("connscope_icmp_errors_total",
		  "ICMP and ICMPv6 errors analysed that quote a TCP segment.") },
	{ .name = "icmp_unmatched", U64(icmp_unmatched),
	  COUNTER("connscope_icmp_unmatched_total",
		  "ICMP errors that quote a segment of no tracked connection.") },
	{ .name = "truncated", U64(truncated),
	  COUNTER("connscope_packets_truncated_total",
		  "Analysed packets cut by the snap length (headers complete).") },
	{ .name = "first_ts", MAYBE_USEC(first_ts_us),
	  GAUGE("connscope_first_packet_timestamp_seconds",
		"Packet time of the earliest packet, in Unix seconds.") },
	{ .name = "last_ts", MAYBE_USEC(last_ts_us),
	  GAUGE("connscope_last_packet_timestamp_seconds",
		"Packet time of the latest packet, in Unix seconds.") },
	{ .name = "ts_backwards", U64(ts_backwards),
	  COUNTER("connscope_packets_ts_backwards_total",
		  "Packets timestamped earlier than the packet before them.") },
	{ .name = "ts_invalid", U64(ts_invalid),
	  COUNTER("connscope_packets_ts_invalid_total",
		  "Packets whose timestamp is no time (before 1970, past 2^64 "
		  "microseconds, or a fraction of a second out of range), "
		  "analysed at the time of the packets before them.") },
	/* finished (a counter, by outcome) + open (a gauge): /metrics */
	{ .name = "connections", U64(connections),
	  SUM_OF("connscope_connections_total"),
	  .sum_also = "connscope_connections_open" },
	{ .name = "open", U64(open), .view_only = true,
	  GAUGE("connscope_connections_open", "Connections tracked now.") },
	{ .name = "peak_open", U64(peak_open),
	  GAUGE("connscope_connections_open_peak", "Most connections tracked at once.") },
	{ .name = "max_flows", U64(max_flows),
	  GAUGE("connscope_max_flows",
		"Connections the table can track at once (--max-flows).") },
	{ .name = "evicted", U64(evicted), SUM_OF("connscope_evicted_total") },
	{ .name = "evictions", COUNTS(evictions, cs_evict_names, 1),
	  COUNTER("connscope_evicted_total",
		  "Connections evicted to stay within --max-flows, by reason."),
	  LABELLED("reason") },
	{ .name = "expired_early", U64(expired_early),
	  COUNTER("connscope_expired_early_total",
		  "Connections expired before their timeout because the table was "
		  "filling (timeouts shrink past 60% of --max-flows).") },
	{ .name = "port_reuse", U64(port_reuse),
	  COUNTER("connscope_port_reuse_total",
		  "SYNs that reused the 4-tuple of a finished connection.") },
	{ .name = "port_reuse_time_wait", U64(port_reuse_time_wait),
	  COUNTER("connscope_port_reuse_time_wait_total",
		  "SYNs on a 4-tuple still in TIME_WAIT on either side.") },
	{ .name = "port_reuse_clean", U64(port_reuse_clean),
	  COUNTER("connscope_port_reuse_clean_total",
		  "Of those, SYNs answered at once with a SYN-ACK: a healthy "
		  "reuse, not alerted.") },
	{ .name = "port_reuse_stalled", U64(port_reuse_stalled),
	  COUNTER("connscope_port_reuse_stalled_total",
		  "Of those, SYNs whose reuse stalled the connect (answered by "
		  "the old connection, sent again, or failed): port_reuse "
		  "alerts.") },
	{ .name = "data_segments", U64(data_segments),
	  COUNTER("connscope_data_segments_total", "Data segments seen.") },
	{ .name = "retransmitted", U64(retransmitted),
	  COUNTER("connscope_retransmitted_total", "Data segments retransmitted.") },
	{ .name = "out_of_window", U64(out_of_window),
	  COUNTER("connscope_out_of_window_total",
		  "TCP segments outside what the receiver would accept; they "
		  "changed no state.") },
	{ .name = "rst_peak_per_sec", U64(rst_peak_per_sec),
	  GAUGE("connscope_rst_peak_per_second",
		"Most RST segments seen in one second of packet time.") },
	{ .name = "rst_peak_at", MAYBE_USEC(rst_peak_at_us),
	  GAUGE("connscope_rst_peak_timestamp_seconds",
		"Start of the second with the most RST segments, in Unix seconds.") },
	{ .name = "alerts_dropped", U64(alerts_dropped),
	  COUNTER("connscope_alerts_dropped_total",
		  "Alerts raised past the number kept, so not listed.") },
	{ .name = "skipped", COUNTS(skipped, cs_skip_names, 1),
	  COUNTER("connscope_packets_skipped_total", "Packets not analysed, by reason."),
	  LABELLED("reason") },
	{ .name = "ip_datagrams_reassembled", U64(datagrams_reassembled),
	  COUNTER("connscope_ip_datagrams_reassembled_total",
		  "Fragmented outer IP datagrams put back together.") },
	{ .name = "ip_datagrams_incomplete", U64(datagrams_incomplete),
	  COUNTER("connscope_ip_datagrams_incomplete_total",
		  "Fragmented outer IP datagrams given up: incomplete after "
		  "30 s, evicted, inconsistent, or still held at the end.") },
	{ .name = "capture_drops", MAYBE_U64(capture_drops),
	  COUNTER("connscope_capture_drops_total",
		  "Packets the kernel dropped (live capture).") },
	{ .name = "untracked", COUNTS(untracked, cs_untracked_names, 1),
	  COUNTER("connscope_untracked_total",
		  "Packets that would have opened a connection the table had no "
		  "room for, by reason."),
	  LABELLED("reason") },
	{ .name = "interrupted", BOOL(interrupted),
	  GAUGE("connscope_interrupted",
		"1 once a signal has stopped the reading before the end of the "
		"input (a live capture: rather than -c or --duration).") },
};
const int cs_summary_field_cnt =
	(int)(sizeof cs_summary_fields / sizeof cs_summary_fields[0]);

static struct cs_maybe_u64 maybe(bool have, uint64_t v)
{
	return (struct cs_maybe_u64){ have, have ? v : 0 };
}

void cs_summary_fill(struct cs_summary *s, const struct cs_engine *e,
		     const struct cs_report_source *src)
{
	bool live = src->live;

	const struct cs_stats *st = &e->stats;
	const struct cs_flow_table *t = &e->flows;
	const struct cs_detect *d = &e->detect;

	memset(s, 0, sizeof *s);
	s->packets = st->packets;
	s->bytes = st->bytes;
	s->analysed = st->analysed;
	s->tcp_packets = st->tcp_packets;
	s->icmp_errors = st->icmp_errors;
	s->icmp_unmatched = e->icmp_unmatched;
	s->out_of_window = e->out_of_window;
	s->truncated = st->truncated_frames;
	s->first_ts_us = maybe(cs_stats_timed(st) != 0, st->first_ts_us);
	s->last_ts_us = maybe(cs_stats_timed(st) != 0, st->last_ts_us);
	s->ts_backwards = st->ts_backwards;
	s->ts_invalid = st->ts_invalid;
	/* An open connection counts: the report flushes them all first.
	 * So does an evicted record held (flow.h): it is not finished. */
	s->open = (uint64_t)t->count + t->held_count;
	s->connections = e->conns.connections + s->open;
	s->peak_open = t->peak;
	s->max_flows = t->opt.max_flows;
	_Static_assert(sizeof s->evictions == sizeof t->evicted, "evictions");
	memcpy(s->evictions, t->evicted, sizeof s->evictions);
	for (int i = 1; i < CS_EVICT_MAX; i++)
		s->evicted += t->evicted[i];
	s->expired_early = t->expired_early;
	s->port_reuse = e->conns.port_reuse;	/* + cs_summary_add_open */
	s->port_reuse_time_wait = d->reuse_time_wait;
	s->port_reuse_clean = d->reuse_clean;
	s->port_reuse_stalled = d->reuse_stalled;
	s->data_segments = d->data_segments;
	s->retransmitted = d->retransmitted;
	s->rst_peak_per_sec = d->rst_peak;
	s->rst_peak_at_us = maybe(d->rst_peak != 0, d->rst_peak_at_us);
	s->alerts_dropped = d->alerts.dropped;
	_Static_assert(sizeof s->skipped == sizeof st->skipped, "skipped");
	memcpy(s->skipped, st->skipped, sizeof s->skipped);
	s->datagrams_reassembled = st->datagrams_reassembled;
	s->datagrams_incomplete = st->datagrams_incomplete;
	s->capture_drops = maybe(live && st->have_drops, st->capture_drops);
	_Static_assert(sizeof s->untracked == sizeof t->untracked, "untracked");
	memcpy(s->untracked, t->untracked, sizeof s->untracked);
	s->interrupted = src->interrupted;
}

void cs_summary_add_open(struct cs_summary *s, const struct cs_tally *open)
{
	s->port_reuse += open->port_reuse;
}

/* The table's offsets are of members of the named type (AT above). */
uint64_t cs_summary_u64(const struct cs_summary *s,
			const struct cs_summary_field *f)
{
	return *(const uint64_t *)((const char *)s + f->offset);
}

bool cs_summary_bool(const struct cs_summary *s, const struct cs_summary_field *f)
{
	return *(const bool *)((const char *)s + f->offset);
}

const uint64_t *cs_summary_counts(const struct cs_summary *s,
				  const struct cs_summary_field *f)
{
	return (const uint64_t *)((const char *)s + f->offset);
}

struct cs_maybe_u64 cs_summary_maybe(const struct cs_summary *s,
				     const struct cs_summary_field *f)
{
	return *(const struct cs_maybe_u64 *)((const char *)s + f->offset);
}

static void json_field(struct cs_json *j, const struct cs_summary *s,
		       const struct cs_summary_field *f)
{
	struct cs_maybe_u64 m;

	switch (f->kind) {
	case CS_SUM_U64:
		cs_json_kv_u64(j, f->name, cs_summary_u64(s, f));
		break;
	case CS_SUM_MAYBE_U64:
		m = cs_summary_maybe(s, f);
		cs_json_key(j, f->name);
		if (m.have)
			cs_json_u64(j, m.v);
		else
			cs_json_null(j);
		break;
	case CS_SUM_MAYBE_USEC:
		m = cs_summary_maybe(s, f);
		cs_json_kv_usec_or_null(j, f->name, m.have, m.v);
		break;
	case CS_SUM_COUNTS:
		cs_json_kv_counts(j, f->name, f->names + f->first,
				  cs_summary_counts(s, f) + f->first, f->count - f->first);
		break;
	case CS_SUM_BOOL:
		cs_json_key(j, f->name);
		cs_json_bool(j, cs_summary_bool(s, f));
		break;
	case CS_SUM_KIND_MAX:
		break;
	}
}

void cs_summary_json(struct cs_json *j, const struct cs_summary *s, bool view)
{
	cs_json_obj_begin(j);
	for (int i = 0; i < cs_summary_field_cnt; i++)
		if (view || !cs_summary_fields[i].view_only)
			json_field(j, s, &cs_summary_fields[i]);
	cs_json_obj_end(j);
}
