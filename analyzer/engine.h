/*
 * engine.h — the per-frame pipeline: decode, count, track, judge.
 *
 * The one place where a frame from any source enters the analyzer, so the
 * binary, the tests and the fuzzers all run the same path.  The engine owns
 * the analyzer's state (accounting, the flow table, the aggregates) and
 * keeps packet time: the newest timestamp seen, never going backwards.
 * When a record is finished its verdict goes to the output callback; the
 * engine never touches a capture handle or an output file.
 */
#ifndef CS_ANALYZER_ENGINE_H
#define CS_ANALYZER_ENGINE_H

#include <stddef.h>

#include "analyzer/reports/connstats.h"
#include "analyzer/detectors/detect.h"
#include "analyzer/host/host.h"
#include "analyzer/views/recent.h"
#include "analyzer/views/tally.h"
#include "analyzer/reports/verdict.h"
#include "analyzer/reports/export.h"
#include "analyzer/tracking/flow.h"
#include "analyzer/tracking/stats.h"
#include "capture/defrag.h"
#include "capture/packet.h"

struct cs_engine_opts {
	struct cs_flow_opts flow;
	uint64_t syn_timeout_us;	/* unanswered SYNs: timeout after this */
	bool verify_checksums;		/* drop (and count) bad TCP checksums */
	/* What only the web view reads, kept only for it: the per-second
	 * series, timelines, and the open records' tally (snapshots). */
	bool keep_recent;
	/* With keep_recent, for a capture file: keep every finished
	 * connection compact (views/store.h), this many bytes of them in
	 * memory and the rest in a file; 0: only the most recent. */
	size_t keep_all_budget_bytes;
	struct cs_detect_opts detect;
};

#define CS_SYN_TIMEOUT_SEC_DEFAULT 3

/* A finished record (v set), or a conn.log row that ended inside a record
 * that goes on (v NULL: only the Zeek view is complete). */
typedef void (*cs_verdict_fn)(void *ctx, const struct cs_conn *c,
			      const struct cs_verdict *v);

/*
 * What decoding a frame reads (cs_engine_decode), set by cs_engine_init and
 * never changed after.  The thread that decodes ahead (readahead.h) works
 * from its own copy: read from the engine, these shared cache lines with
 * fields the analysing thread writes for every packet (now_us) or every new
 * connection (the table's next id), and each such write then had to take
 * the line back from the other core -- about a quarter of the analysing
 * thread's samples on SMALL (tests/bench/PROFILE.md).
 */
struct cs_decoder {
	/* Outer IP reassembly: used by the decoding thread alone (one at
	 * a time: the readahead thread, or the caller's). */
	struct cs_defrag *defrag;
	struct cs_flow_keying keying;	/* the flow table's */
	bool verify_checksums;		/* opt.verify_checksums */
};

struct cs_engine {
	struct cs_engine_opts opt;
	struct cs_stats stats;
	struct cs_flow_table flows;
	struct cs_connstats conns;
	struct cs_detect detect;
	struct cs_verdicts verdicts;
	struct cs_recent recent;	/* only with opt.keep_recent */
	struct cs_tally open;		/* only with opt.keep_recent */
	struct cs_host host;		/* live: the kernel's view (on by the run) */
	uint64_t now_us;		/* packet time, <= CS_TIME_MAX_US */
	uint64_t icmp_unmatched;	/* ICMP errors about no known connection */
	uint64_t out_of_window;		/* segments no receiver would accept */
	uint64_t zeek_rows;		/* conn.log rows ended inside records */
	struct cs_decoder decoder;	/* cs_engine_decode's */
	bool finishing;			/* flushing at the end of the capture */
	bool seconds_closed;		/* cs_engine_close_seconds was called */
	cs_verdict_fn on_verdict;
	void *verdict_ctx;
};

void cs_engine_opts_default(struct cs_engine_opts *o);

int cs_engine_init(struct cs_engine *e, const struct cs_engine_opts *o,
		   char *err, size_t errlen);
void cs_engine_fini(struct cs_engine *e);

/* Where finished connections go (NULL: only counted). */
void cs_engine_set_output(struct cs_engine *e, cs_verdict_fn fn, void *ctx);

/* Decodes, accounts and tracks one frame.  Matches cs_frame_fn. */
void cs_engine_frame(void *engine, const struct cs_frame *f);

/*
 * The same in two steps, so that decoding can run ahead on another thread
 * (readahead.h): a decoded frame keeps what the engine needs of the frame
 * once its bytes are gone, and its place in the flow table.
 * cs_engine_decode reads only a decoder (e->decoder, or a copy of it),
 * which never changes after cs_engine_init, so it is safe on another
 * thread -- but for the defragmenter, whose held fragments only the
 * decoding thread touches, and one decodes at a time.
 */
struct cs_decoded {
	uint64_t ts_us;
	bool ts_invalid;	/* the frame's time is none: analysed at now_us */
	uint32_t wirelen;
	enum cs_skip why;
	bool bad_sum;		/* --verify-checksums found the TCP sum wrong */
	bool reassembled;	/* the frame completed an outer IP datagram,
				 * which is what was decoded */
	uint32_t given_up;	/* held datagrams the defragmenter gave up */
	struct cs_pkt pkt;	/* pkt.tcp is NULL: the bytes are not kept */
	struct cs_flow_where where;	/* set when why is CS_SKIP_NONE */
};
void cs_engine_decode(const struct cs_decoder *dec, const struct cs_frame *f,
		      struct cs_decoded *d);
void cs_engine_decoded(struct cs_engine *e, struct cs_decoded *d);
/* cs_engine_decoded for n frames in order, with the table's memory
 * fetched a few frames ahead. */
void cs_engine_decoded_batch(struct cs_engine *e, struct cs_decoded *d, size_t n);

/* Live: what the kernel of this namespace said (capture/hostread.h);
 * alerts it causes go with the detectors'. */
void cs_engine_host_sample(struct cs_engine *e, const struct cs_host_sample *s);

/* Live capture on a quiet link: lets timers run on the wall clock. */
void cs_engine_tick(struct cs_engine *e, uint64_t wall_us);

/* End of the capture, first step: the detectors judge the second they
 * were counting (a flood's last second) without touching any connection,
 * so that the last snapshot has the final alerts and the open states. */
void cs_engine_close_seconds(struct cs_engine *e);

/* End of the capture: closes the seconds (if not done yet), then judges
 * and outputs every record still open. */
void cs_engine_finish(struct cs_engine *e);

/* Before the last view of a capture file: the connections still open go
 * into the store of all connections as they stand (marked open), and the
 * store takes no more, so that the last view reaches every connection and
 * the flush at the end adds none twice.  Walks every open record, once. */
void cs_engine_keep_open(struct cs_engine *e);

/* Brings what is written lazily (alert sentences) and what the clock
 * alone changes (the open attempts that have become timeouts) up to date:
 * call before building a snapshot. */
void cs_engine_refresh(struct cs_engine *e);

#endif /* CS_ANALYZER_ENGINE_H */
