/*
 * pack.h — a connection record packed small, and unpacked bit for bit.
 *
 * A quiet record (TIME_WAIT, an unanswered SYN, a reset linger: aside.h)
 * waits for a packet that may never come.  Most of its 688 bytes are zero
 * or the same as in the records closed the same way before it: flags,
 * states, counters, sequence numbers a few bytes past an ISN, times a few
 * seconds past its first packet.  Packing stores each 32-bit word as its
 * difference from a template -- the first record packed of the same shape
 * -- in 0, 1, 2 or 4 bytes, after rewriting the times as distances from
 * the first packet's time and the sequence numbers as distances from
 * their ISNs; the words that differ most often first, with no bits to
 * say that they are there.  Unpacking undoes it all and gives back the
 * record byte for byte, padding included, except its list links (zero):
 * nothing reported can depend on a record having been packed.  The flow
 * table keeps the links and the last packet's time outside while a
 * record is packed (aside.h), so these are not packed: the time is
 * handed back to unpacking.
 *
 * Packing knows the record's layout only through the fields it rewrites
 * and the words it takes a shape from (pack.c); a field missing from
 * those still comes back exactly, it only packs less well.
 */
#ifndef CS_ANALYZER_PACK_H
#define CS_ANALYZER_PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyzer/tracking/conn.h"

#define CS_PACK_WORDS (sizeof(struct cs_conn) / 4)
/* Words go in groups of four, two more words holding which fields were
 * rewritten (pack.c); the words that differ most often are also stored
 * first, in CS_PACK_HOT_GROUPS groups. */
#define CS_PACK_GROUPS ((CS_PACK_WORDS + 2 + 3) / 4)
#define CS_PACK_HOT_GROUPS 6
/* The room packing needs: the template, the groups' bits and their
 * length, a tag byte a group, every word whole, and 4 bytes of slack
 * (each value is written and read as four bytes, whatever its length). */
#define CS_PACK_SLACK 4u
#define CS_PACK_MAX (1 + 1 + (CS_PACK_GROUPS + 7) / 8 + \
		     (CS_PACK_HOT_GROUPS + CS_PACK_GROUPS) * 17 + CS_PACK_SLACK)

/*
 * The templates: one per shape, kept for as long as anything packed with
 * them is (a run).  256 of 720 bytes: 180 KiB, touched as they are made.
 * Two threads may pack at once (packer.h): each makes templates in its
 * own half, and any thread unpacks with either -- a template is written
 * once, before anything packed with it is handed on.
 */
#define CS_PACK_TEMPLATES 256
#define CS_PACK_PACKERS 2
struct cs_pack_dict {
	uint32_t words[CS_PACK_TEMPLATES][CS_PACK_GROUPS * 4];
	bool used[CS_PACK_TEMPLATES];
};
void cs_pack_dict_init(struct cs_pack_dict *d);

/* Packs c into out (CS_PACK_MAX bytes), against one of the templates of
 * `packer` (below CS_PACK_PACKERS: one per thread that packs), made from
 * c if its shape has none yet; returns the bytes used.  Reading it back
 * takes those, and reads (and ignores) up to CS_PACK_SLACK bytes after
 * them: those need only be readable. */
size_t cs_conn_pack(struct cs_pack_dict *d, unsigned packer,
		    const struct cs_conn *c, uint8_t *out);

/* Unpacks what cs_conn_pack wrote into *c, with the record's last_ts_us
 * as it was; returns the bytes it took (what cs_conn_pack returned). */
size_t cs_conn_unpack(const struct cs_pack_dict *d, const uint8_t *in,
		      uint64_t last_ts_us, struct cs_conn *c);

/* Unpacks only the key into *k, or only the id. */
void cs_conn_unpack_key(const struct cs_pack_dict *d, const uint8_t *in,
			struct cs_flow_key *k);
uint64_t cs_conn_unpack_id(const struct cs_pack_dict *d, const uint8_t *in);
/* Copies len bytes (within two 4-byte words) at offset of the packed
 * record into out, unpacking only the words that hold them: for a field
 * packing stores as it is -- not a time, a sequence number or a count it
 * rewrites (pack.c), nor the links or the last packet's time. */
void cs_conn_unpack_bytes(const struct cs_pack_dict *d, const uint8_t *in,
			  size_t offset, size_t len, void *out);

#endif /* CS_ANALYZER_PACK_H */
