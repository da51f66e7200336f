/*
 * pack.h — a connection record packed small, and unpacked bit for bit.
 *
 * A quiet record (TIME_WAIT, an unanswered SYN, a reset linger: aside.h)
 * waits for a packet that may never come.  Most of its 712 bytes are zero
 * or small: flags, counters, sequence numbers a few bytes past an ISN,
 * times a few seconds past its first packet.  Packing stores each 32-bit
 * word of the record in 0, 1, 2 or 4 bytes (a 2-bit tag per word), after
 * rewriting the times as distances from the first packet's time and the
 * sequence numbers as distances from their ISNs.  Unpacking undoes both
 * and gives back the record byte for byte, padding included, except its
 * list links (zero: the flow table keeps them outside while it is packed):
 * nothing reported can depend on a record having been packed.
 *
 * Packing knows the record's layout only through the table of fields it
 * rewrites (pack.c); a field missing from the table still comes back
 * exactly, it only packs less well.
 */
#ifndef CS_ANALYZER_PACK_H
#define CS_ANALYZER_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "analyzer/tracking/conn.h"

#define CS_PACK_WORDS (sizeof(struct cs_conn) / 4)
/* The room packing needs: the rewritten fields' flags, the tags, every
 * word whole, and 4 bytes of slack (each value is written and read as
 * four bytes, whatever its length). */
#define CS_PACK_SLACK 4u
#define CS_PACK_MAX (4 + (CS_PACK_WORDS + 3) / 4 + sizeof(struct cs_conn) + \
		     CS_PACK_SLACK)

/* Packs c into out (CS_PACK_MAX bytes); returns the bytes used.  Reading
 * it back takes those and the CS_PACK_SLACK after them. */
size_t cs_conn_pack(const struct cs_conn *c, uint8_t *out);

/* Unpacks what cs_conn_pack wrote into *c; returns the bytes it took
 * (what cs_conn_pack returned). */
size_t cs_conn_unpack(const uint8_t *in, struct cs_conn *c);

/* Unpacks only the key (the record's first bytes) into *k. */
void cs_conn_unpack_key(const uint8_t *in, struct cs_flow_key *k);

#endif /* CS_ANALYZER_PACK_H */
