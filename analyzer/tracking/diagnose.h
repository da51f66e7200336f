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
 * The diagnosis says connect() failed: its SYNs timed out, or a
 * destination unreachable answered them.  Linux then ends the socket
 * (tcp_write_timeout -> tcp_write_err -> tcp_done once the SYN retries
 * are spent, ETIMEDOUT; tcp_v4_err/tcp_v6_err -> tcp_done on an ICMP
 * error in SYN-SENT), so from then on the originator is CLOSED, not
 * SYN_SENT: tcp.c's cs_tcp_connect_failed makes it so in the record.
 */
static inline bool cs_diagnose_connect_failed(enum cs_outcome o)
{
	return o == CS_OUT_TIMEOUT || o == CS_OUT_UNREACHABLE;
}

/* The originator's state as reported with outcome o (see above), for the
 * views that read a record they must not change. */
static inline enum cs_tcp_state cs_diagnose_orig_state(const struct cs_conn *c,
						       enum cs_outcome o)
{
	if (cs_diagnose_connect_failed(o) && c->ep[0].state == CS_TCP_SYN_SENT)
		return CS_TCP_CLOSED;
	return (enum cs_tcp_state)c->ep[0].state;
}

/*
 * What happened to the connection that its outcome does not say, as one
 * sentence in buf (the JSON report's `diagnosis`); false, and buf empty,
 * when there is nothing to add.
 */
bool cs_diagnose_note(const struct cs_conn *c, char *buf, size_t len);

#endif /* CS_ANALYZER_DIAGNOSE_H */
