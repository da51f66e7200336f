/*
 * backscatter.h — a host answering SYNs it never saw: lone RSTs.
 *
 * A RST on a 4-tuple where nothing else was ever seen cannot be judged
 * (no window is known), but many of them from one host, to many peers,
 * say one thing: somebody sends that host SYNs (or other segments)
 * spoofed with those peers' addresses, and it answers the addresses —
 * the backscatter of a SYN flood aimed at it from elsewhere.  A RST+ACK
 * is a closed port's answer to a SYN (RFC 9293 3.10.7.1); a bare RST
 * answers a segment that carried an ACK.  Counted per RST sender in a
 * fixed table of CS_BACKSCATTER_HOSTS entries; senders past it are
 * counted, not kept, and a full table drops the senders idle for a
 * window, at most once a second.
 */
#ifndef CS_ANALYZER_BACKSCATTER_H
#define CS_ANALYZER_BACKSCATTER_H

#include <stdint.h>

#include "analyzer/detectors/alert.h"
#include "analyzer/detectors/distinct.h"
#include "analyzer/detectors/groups.h"

/*
 * 20 lone RSTs to at least 10 distinct peers (ip:port) within 5 minutes.
 * A capture that starts in the middle of a host's conversations sees a
 * lone RST only for a connection already open at the start that then
 * ends by RST: a handful, to the few peers it talks to.  Twenty, to ten
 * different peers, is more than that explains, and still the first
 * seconds of a backscatter episode (a spoofed flood makes one RST per
 * SYN, each to a new address).
 */
#define CS_BACKSCATTER_RSTS 20
#define CS_BACKSCATTER_PEERS 10
#define CS_BACKSCATTER_WINDOW_SEC 300
#define CS_BACKSCATTER_HOSTS 1024	/* a power of two */

struct cs_backscatter {
	struct cs_groups hosts;		/* host = the RST's sender */
	struct cs_distinct_pool pool;
	uint64_t untracked;		/* lone RSTs of senders beyond the table */
	bool swept;
	uint64_t swept_sec;		/* second of the last sweep */
	struct cs_alerts *alerts;
};

void cs_backscatter_init(struct cs_backscatter *b, struct cs_alerts *alerts);
void cs_backscatter_fini(struct cs_backscatter *b);

/* A RST that is the first packet of its record: a lone RST so far. */
void cs_backscatter_lone_rst(struct cs_backscatter *b, const struct cs_pkt *p);

#endif /* CS_ANALYZER_BACKSCATTER_H */
