/*
 * verdict.h — failures grouped by target and outcome, said in words.
 *
 * The first thing a person reads: "3 connections refused by
 * 10.0.0.2:81 — nothing listens there (ECONNREFUSED)".  Each finished
 * connection that did not end well is counted under its target ip:port
 * and outcome, with the figures a sentence needs (SYNs sent, the ICMP
 * error, who reset).  Bounded: groups past the table's capacity are
 * counted, not kept.
 */
#ifndef CS_ANALYZER_VERDICT_H
#define CS_ANALYZER_VERDICT_H

#include <stdbool.h>
#include <stdio.h>

#include "analyzer/detectors/alert.h"
#include "analyzer/tracking/conn.h"
#include "analyzer/detectors/groups.h"
#include "analyzer/host/host.h"

#define CS_VERDICT_GROUPS 16384

struct cs_verdicts {
	struct cs_groups g;
	uint64_t failed;		/* connections that ended badly */
};

void cs_verdicts_init(struct cs_verdicts *v);
void cs_verdicts_fini(struct cs_verdicts *v);

/* A copy (to add the open connections to, for a snapshot); -1 without memory. */
int cs_verdicts_clone(struct cs_verdicts *dst, const struct cs_verdicts *src);

/* Counts a finished connection (only failing outcomes are kept). */
void cs_verdicts_add(struct cs_verdicts *v, const struct cs_conn *c,
		     enum cs_outcome outcome);

/* A finished connection that did not fail but that its server never
 * served (handshake done, the client spoke, nothing came back): counted
 * per target, so that timeouts to the same target are put down to a full
 * listen backlog.  Finished ones only: the open connections' verdicts
 * (tally.c) leave them out. */
void cs_verdicts_add_stalled(struct cs_verdicts *v, const struct cs_conn *c,
			     enum cs_outcome outcome);

/* Refused, timed out, unreachable, aborted, reset or half-open: the
 * outcomes the verdicts count.  (Inline: asked after every packet.) */
static inline bool cs_verdict_failing(enum cs_outcome outcome)
{
	return (1u << outcome) &
	       (1u << CS_OUT_REFUSED | 1u << CS_OUT_TIMEOUT |
		1u << CS_OUT_UNREACHABLE | 1u << CS_OUT_ABORTED |
		1u << CS_OUT_RESET_NONEXISTENT | 1u << CS_OUT_HALF_OPEN);
}

/*
 * The open connections' verdicts, kept up to date as connections change
 * (analyzer/views/tally.c), so that a snapshot adds them to the finished
 * ones per group rather than per connection.  A connection's share is what
 * it adds to its group; whoever adds it remembers the share (in a few
 * bits) and takes away the same share when the connection changes or
 * leaves.  A group goes when its last connection does.
 *
 * The most SYNs one attempt sent is a maximum, which taking a connection
 * away must undo: a group counts its connections by SYNs sent, up to
 * CS_VERDICT_SYNS_EXACT; of those that sent more, it keeps the most any
 * of them sent since none had (exact but for two open attempts to one
 * target each past that many SYNs, the higher answered while the other
 * goes on).  Its ICMP error is its first connection's with one, kept
 * while the group lasts (a sentence needs one; an unreachable group's
 * connections all have one).
 */
#define CS_VERDICT_SYNS_EXACT 15

struct cs_verdict_share {
	uint8_t outcome;		/* enum cs_outcome, a failing one */
	uint8_t orig;			/* key index of the originator: the
					 * target is the other endpoint */
	bool rst_by_orig, rst_by_resp;	/* who sent the RST that ended it */
	uint8_t syns;			/* SYNs sent, CS_VERDICT_SYNS_EXACT at most */
};

struct cs_open_verdicts {
	struct cs_groups g;
	uint64_t failed;		/* open connections with a failing outcome */
};

void cs_open_verdicts_init(struct cs_open_verdicts *ov);
void cs_open_verdicts_fini(struct cs_open_verdicts *ov);

/* The share of c, whose outcome is a failing one. */
void cs_verdict_share_of(const struct cs_conn *c, enum cs_outcome outcome,
			 struct cs_verdict_share *s);

/* Adds c with share s; false if its group found no room (counted in
 * failed only: it must not be taken away from a group then). */
bool cs_open_verdicts_add(struct cs_open_verdicts *ov, const struct cs_conn *c,
			  const struct cs_verdict_share *s);
/* Takes away share s of a connection on key k; grouped: what add said. */
void cs_open_verdicts_remove(struct cs_open_verdicts *ov,
			     const struct cs_flow_key *k,
			     const struct cs_verdict_share *s, bool grouped);

/* Adds the open groups to v (a clone of the finished ones, for a
 * snapshot): work per group, none per connection. */
void cs_verdicts_add_open(struct cs_verdicts *v, const struct cs_open_verdicts *ov);

/* Writes up to max sentences, most connections first; returns how many.
 * Half-open and reset connections to a target that a syn_flood alert
 * names are the flood's doing: they are folded into one line.  host (the
 * live host view, or NULL): resets get the kernel's reason where its
 * abort counters single one out.
 * colour: wrap each line in ANSI red. */
int cs_verdicts_print(const struct cs_verdicts *v, const struct cs_alerts *alerts,
		      const struct cs_host *host, FILE *out, int max, bool colour);

/* What an ICMP destination-unreachable code means, and the errno a
 * Linux connect() reports for it (ipv4: ICMP, else ICMPv6). */
void cs_icmp_meaning(bool ipv4, uint8_t type, uint8_t code,
		     const char **meaning, const char **errno_name);

#endif /* CS_ANALYZER_VERDICT_H */
