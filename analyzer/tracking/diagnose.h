/*
 * diagnose.h — how a connection ended, in DESIGN.md's vocabulary.
 *
 * Reads a finished (or still open, at the end of the capture) record and
 * names its outcome.  The RST's cause was decided when the RST was seen
 * (tcp.c); here it is weighed together with the handshake, the FINs and
 * any ICMP error that answered the SYN.
 */
#ifndef CS_ANALYZER_DIAGNOSE_H
#define CS_ANALYZER_DIAGNOSE_H

#include <stddef.h>

#include "analyzer/tracking/conn.h"

/* now_us: packet time when the record is judged (expiry or capture end). */
enum cs_outcome cs_diagnose_outcome(const struct cs_conn *c, uint64_t now_us,
				    uint64_t syn_timeout_us);

/* True when the ICMP error matched to c is a destination unreachable. */
bool cs_diagnose_icmp_unreachable(const struct cs_conn *c);

/*
 * What happened to the connection that its outcome does not say, as one
 * sentence in buf (the JSON report's `diagnosis`); false, and buf empty,
 * when there is nothing to add.
 */
bool cs_diagnose_note(const struct cs_conn *c, char *buf, size_t len);

#endif /* CS_ANALYZER_DIAGNOSE_H */
