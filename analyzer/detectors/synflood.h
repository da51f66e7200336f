/*
 * synflood.h — SYN floods, measured per target ip:port.
 *
 * Counts every SYN, SYN-ACK and RST to and from a target, and completed
 * handshakes, per second of packet time, in a fixed-size table of its own:
 * the counts are exact even when the flood fills the flow table and its
 * records are evicted.  A second is a flood second when the SYN rate is at
 * least --synflood-rate and fewer than CS_SYNFLOOD_COMPLETION_PCT percent
 * of them complete a handshake — a busy server whose connections succeed
 * is never a flood.  Consecutive flood seconds (gaps up to a second) are
 * one alert, updated while it lasts.
 */
#ifndef CS_ANALYZER_SYNFLOOD_H
#define CS_ANALYZER_SYNFLOOD_H

#include <stdbool.h>
#include <stdint.h>

#include "analyzer/detectors/alert.h"
#include "analyzer/detectors/distinct.h"

/*
 * 200 SYN/s: well above what a client population opens to one service at
 * normal load on a small site, far below any flood tool (hping3 sends tens
 * of thousands per second).  20% completing: a loaded server still
 * completes most handshakes; a flood of spoofed sources completes none.
 */
#define CS_SYNFLOOD_RATE_DEFAULT 200
#define CS_SYNFLOOD_COMPLETION_PCT 20
#define CS_SYNFLOOD_TARGETS 4096	/* a power of two */

struct cs_synflood_target {
	struct cs_addr addr;
	uint16_t port;
	bool used;
	uint64_t syns, synacks, rsts, completed;	/* over the capture */
	/* A second is being counted (since the first SYN): the second can
	 * be 0, and so can packet time. */
	bool counting;
	uint64_t sec;				/* second being counted */
	uint32_t sec_syns, sec_completed;
	uint64_t sec_synacks_base, sec_rsts_base;	/* totals at its start */
	uint32_t peak_rate;
	uint64_t peak_at_us;
	struct cs_distinct sources;
	/* the flood in progress (an index in the alert list, or -1) */
	int32_t alert;
	uint64_t flood_last_sec;
	uint64_t flood_syns, flood_synacks, flood_rsts, flood_completed;
};

struct cs_synflood {
	uint32_t rate;			/* SYN/s that can be a flood */
	struct cs_synflood_target *targets;	/* allocated at first use */
	uint32_t used;
	uint64_t untracked_syns;	/* to targets beyond the table */
	struct cs_distinct_pool pool;
	struct cs_alerts *alerts;
};

void cs_synflood_init(struct cs_synflood *f, uint32_t rate,
		      struct cs_alerts *alerts);
void cs_synflood_fini(struct cs_synflood *f);

/* Every TCP segment, tracked or not (the counts must not depend on it). */
void cs_synflood_segment(struct cs_synflood *f, const struct cs_pkt *p);

/* A handshake to resp_addr:resp_port completed. */
void cs_synflood_completed(struct cs_synflood *f, const struct cs_addr *resp,
			   uint16_t resp_port, uint64_t ts_us);

/* End of the capture: judge the last second of every target. */
void cs_synflood_finish(struct cs_synflood *f);

#endif /* CS_ANALYZER_SYNFLOOD_H */
