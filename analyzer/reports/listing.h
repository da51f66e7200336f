/*
 * listing.h — one line per connection (-v), for the text report.
 *
 * tshark's conversation table with the diagnosis beside it.  The lines
 * are written as connections finish, to a scratch stream the caller owns
 * (a run may have millions: memory must not grow with them), and copied
 * under their heading when the text report is written.  Reads records and
 * verdicts only; never sees packets.
 */
#ifndef CS_ANALYZER_LISTING_H
#define CS_ANALYZER_LISTING_H

#include <stdint.h>
#include <stdio.h>

#include "analyzer/engine.h"

/* The line of one finished connection. */
void cs_listing_row(FILE *rows, const struct cs_conn *c, const struct cs_verdict *v);

/* The heading, then every line of rows (from its start) to out.  -1 if
 * rows could not be read back. */
int cs_listing_copy(FILE *out, FILE *rows, uint64_t conn_cnt);

#endif /* CS_ANALYZER_LISTING_H */
