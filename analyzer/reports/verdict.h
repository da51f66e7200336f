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

/* Writes up to max sentences, most connections first; returns how many.
 * Half-open and reset connections to a target that a syn_flood alert
 * names are the flood's doing: they are folded into one line.
 * colour: wrap each line in ANSI red. */
int cs_verdicts_print(const struct cs_verdicts *v, const struct cs_alerts *alerts,
		      FILE *out, int max, bool colour);

/* What an ICMP destination-unreachable code means, and the errno a
 * Linux connect() reports for it (ipv4: ICMP, else ICMPv6). */
void cs_icmp_meaning(bool ipv4, uint8_t type, uint8_t code,
		     const char **meaning, const char **errno_name);

#endif /* CS_ANALYZER_VERDICT_H */
