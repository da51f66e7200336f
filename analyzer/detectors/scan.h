/*
 * scan.h — port scans: one source probing many ports of a host (vertical)
 * or one port on many hosts (horizontal).
 *
 * Counts bare SYNs per source and target host, and per source and target
 * port, with the answer each probed port (or host) gave: a SYN-ACK (open),
 * a RST (refused) or nothing yet (silent).  Reads segments only, before
 * tracking, so the counts do not depend on records surviving.  Memory is
 * fixed: two tables of CS_SCAN_PAIRS entries, each holding up to
 * CS_SCAN_INLINE probed targets inline and, for entries past that, a set
 * of CS_SCAN_SET_SLOTS from a budget of CS_SCAN_SETS_MAX; SYNs that find
 * no room are counted (untracked, spilled), never stored.  A full table
 * drops the pairs idle for a window, at most once a second.
 */
#ifndef CS_ANALYZER_SCAN_H
#define CS_ANALYZER_SCAN_H

#include <stdint.h>

#include "analyzer/detectors/alert.h"
#include "analyzer/detectors/groups.h"

/*
 * Zeek's scan policy (policy/misc/scan.zeek) raises a port scan at 15
 * distinct ports of one host and an address scan at 25 distinct hosts on
 * one port, counting only attempts that did not succeed, within 5
 * minutes.  Here too only probes not answered by a SYN-ACK count, so a
 * client using many services of one host, or one service on many hosts,
 * is never a scan: its connects are answered.
 */
#define CS_SCAN_VERTICAL_PORTS 15
#define CS_SCAN_HORIZONTAL_HOSTS 25
#define CS_SCAN_WINDOW_SEC 300

#define CS_SCAN_PAIRS 1024		/* per table, a power of two */
#define CS_SCAN_INLINE 16
#define CS_SCAN_SET_SLOTS 4096		/* 32 KiB: exact to 3,584 targets */
#define CS_SCAN_SETS_MAX 32		/* 1 MiB at most */

struct cs_scan {
	struct cs_groups vertical;	/* host = source, peer = target host */
	struct cs_groups horizontal;	/* host = source, port = target port */
	uint32_t sets;			/* big sets allocated */
	uint64_t untracked_syns;	/* SYNs of pairs beyond the tables */
	uint64_t swept_pairs;		/* idle pairs dropped from a full table */
	bool swept[2];			/* vertical, horizontal */
	uint64_t swept_sec[2];		/* second of the last sweep */
	uint64_t zero_hash;		/* the hash of no address */
	struct cs_alerts *alerts;
};

void cs_scan_init(struct cs_scan *s, struct cs_alerts *alerts);
void cs_scan_fini(struct cs_scan *s);

/* Every TCP segment, tracked or not. */
void cs_scan_segment(struct cs_scan *s, const struct cs_pkt *p);

#endif /* CS_ANALYZER_SCAN_H */
