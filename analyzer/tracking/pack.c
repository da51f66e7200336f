/*
 * pack.c — a connection record packed small (pack.h).
 *
 * Layout of a packed record:
 *   4 bytes   which fields of the table below were rewritten (bit i: field i)
 *   tags      2 bits per 32-bit word of the rewritten record: 0 the word is
 *             zero, 1 it fits a byte, 2 two bytes, 3 it takes four
 *   values    the words that are not zero, little-endian, in as many bytes
 *             as their tags say
 * The packed bytes never leave the process (they are not a file format):
 * they are read by the code that wrote them, and trusted as such.
 */
#include "analyzer/tracking/pack.h"

#include <stdbool.h>
#include <string.h>

#include "capture/assert.h"

_Static_assert(sizeof(struct cs_conn) % 4 == 0, "a record is whole words");

#define GROUPS ((CS_PACK_WORDS + 3) / 4)	/* of four words: a tag byte */

/*
 * A field rewritten as its distance from another (its base): a time from
 * the first packet's, a sequence number from an ISN.  The distance is
 * zigzag-coded, so a small one either way is a small number.  A field that
 * is zero stays zero (and unflagged): the tags store it for nothing.  No
 * base is itself rewritten, so each is read as it is on both ways.
 */
struct rewrite {
	uint16_t field, base;	/* offsets in struct cs_conn */
	uint8_t size;		/* 4 or 8 */
};

#define EP(i, f) offsetof(struct cs_conn, ep[i].f)
#define TIME(f) { offsetof(struct cs_conn, f), offsetof(struct cs_conn, first_ts_us), 8 }
#define EP_TIME(i) { EP(i, last_ts_us), offsetof(struct cs_conn, first_ts_us), 8 }
#define SEQ(i, f, from) { EP(i, f), EP(from, isn), 4 }

static const struct rewrite rewrites[] = {
	TIME(last_ts_us), TIME(syn_ts_us), TIME(synack_ts_us), TIME(ack_ts_us),
	TIME(z_start_us), TIME(z_last_us), TIME(z_attempt_at), TIME(z_remove_at),
	TIME(z_expire_at[0]), TIME(z_expire_at[1]), EP_TIME(0), EP_TIME(1),
	/* what each side sent, from its own ISN; what it acknowledged, from
	 * its peer's */
	SEQ(0, snd_nxt, 0), SEQ(0, fin_seq, 0), SEQ(0, seq_hi, 1),
	SEQ(0, max_ack, 1), SEQ(0, last_ack, 1), SEQ(0, z.start_seq, 0),
	SEQ(0, z.last_seq, 0), SEQ(0, z.ack_seq, 1),
	SEQ(1, snd_nxt, 1), SEQ(1, fin_seq, 1), SEQ(1, seq_hi, 0),
	SEQ(1, max_ack, 0), SEQ(1, last_ack, 0), SEQ(1, z.start_seq, 1),
	SEQ(1, z.last_seq, 1), SEQ(1, z.ack_seq, 0),
};
#define REWRITES (sizeof rewrites / sizeof rewrites[0])
_Static_assert(REWRITES <= 32, "one flag bit per rewritten field");

static uint64_t load(const uint8_t *rec, const struct rewrite *r, unsigned at)
{
	uint64_t v = 0;

	if (r->size == 8) {
		memcpy(&v, rec + at, 8);
	} else {
		uint32_t w;
		memcpy(&w, rec + at, 4);
		v = w;
	}
	return v;
}

static void store(uint8_t *rec, const struct rewrite *r, uint64_t v)
{
	if (r->size == 8) {
		memcpy(rec + r->field, &v, 8);
	} else {
		uint32_t w = (uint32_t)v;
		memcpy(rec + r->field, &w, 4);
	}
}

/* Distances modulo 2^32 or 2^64, as signed numbers, zigzag-coded. */
static uint64_t zigzag(uint64_t d, uint8_t size)
{
	if (size == 4) {
		uint32_t x = (uint32_t)d;
		return (uint32_t)(x << 1) ^ (uint32_t)-(x >> 31);
	}
	return (d << 1) ^ (uint64_t)-(d >> 63);
}

static uint64_t unzigzag(uint64_t z)
{
	return (z >> 1) ^ (uint64_t)-(z & 1);
}

/* Rewrites the fields of rec (a copy of the record) that are not zero;
 * returns their flags. */
static uint32_t rewrite_fields(uint8_t *rec)
{
	uint32_t flags = 0;

	for (unsigned i = 0; i < REWRITES; i++) {
		const struct rewrite *r = &rewrites[i];
		uint64_t v = load(rec, r, r->field);
		uint64_t keep = -(uint64_t)(v != 0);	/* all ones, or zero */
		store(rec, r, zigzag(v - load(rec, r, r->base), r->size) & keep);
		flags |= (uint32_t)(keep & 1) << i;
	}
	return flags;
}

static void restore_fields(uint8_t *rec, uint32_t flags)
{
	for (unsigned i = 0; i < REWRITES; i++) {
		const struct rewrite *r = &rewrites[i];
		uint64_t keep = -(uint64_t)(flags >> i & 1);
		uint64_t d = unzigzag(load(rec, r, r->field));
		store(rec, r, (d + load(rec, r, r->base)) & keep);
	}
}

/*
 * Words that are nearly always one constant, stored as their difference
 * from it (XOR): the bytes 8..11 of an IPv4 address held as IPv6
 * (::ffff:a.b.c.d, capture/packet.c), in both addresses of the key.
 */
#define V4_MAPPED_WORD 0xffff0000u	/* bytes 00 00 ff ff, little-endian */
static const unsigned v4_mapped_words[] = {
	offsetof(struct cs_flow_key, addr[0].b[8]) / 4,
	offsetof(struct cs_flow_key, addr[1].b[8]) / 4,
};
_Static_assert(offsetof(struct cs_conn, key) == 0, "the key comes first");

static void flip_constants(uint32_t *words)
{
	for (unsigned i = 0; i < 2; i++)
		words[v4_mapped_words[i]] ^= V4_MAPPED_WORD;
}

/* A word's tag, without a branch: 0 zero, 1 a byte, 2 two, 3 four. */
static unsigned tag_of(uint32_t w)
{
	return (unsigned)(w != 0) + (w > 0xff) + (w > 0xffff);
}

static const uint8_t tag_bytes[4] = { 0, 1, 2, 4 };
static const uint32_t tag_mask[4] = { 0, 0xff, 0xffff, 0xffffffff };

/* The record's words as packing stores them: times and sequence numbers
 * rewritten, constants flipped, its list links zero (the flow table
 * keeps those outside while it is packed: flow.c take_back). */
static uint32_t words_to_store(const struct cs_conn *c, uint32_t *words)
{
	memcpy(words, c, sizeof *c);
	uint32_t flags = rewrite_fields((uint8_t *)words);
	flip_constants(words);
	words[offsetof(struct cs_conn, lru_prev) / 4] = 0;
	words[offsetof(struct cs_conn, lru_next) / 4] = 0;
	return flags;
}

static void store_le32(uint8_t *p, uint32_t w)
{
	p[0] = (uint8_t)w;
	p[1] = (uint8_t)(w >> 8);
	p[2] = (uint8_t)(w >> 16);
	p[3] = (uint8_t)(w >> 24);
}

static uint32_t load_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/*
 * Words go four at a time, one tag byte for the four.  Each word is
 * written whole, in order, at the offset the lengths before it give, so
 * that the next overwrites the bytes its tag drops: the places of the
 * four depend on the tags only, and the output pointer moves once per
 * group.  (One word at a time, each place waited for the one before:
 * packing took twice as long.)
 */
size_t cs_conn_pack(const struct cs_conn *c, uint8_t *out)
{
	uint32_t words[GROUPS * 4];
	uint32_t flags = words_to_store(c, words);

	for (unsigned i = CS_PACK_WORDS; i < GROUPS * 4; i++)
		words[i] = 0;	/* the last group's missing words */

	memcpy(out, &flags, 4);
	uint8_t *tags = out + 4;
	uint8_t *val = tags + (CS_PACK_WORDS + 3) / 4;
	for (unsigned i = 0; i < CS_PACK_WORDS; i += 4) {
		if (!(words[i] | words[i + 1] | words[i + 2] | words[i + 3])) {
			tags[i / 4] = 0;	/* a third of a record's groups */
			continue;
		}
		unsigned t0 = tag_of(words[i]), t1 = tag_of(words[i + 1]);
		unsigned t2 = tag_of(words[i + 2]), t3 = tag_of(words[i + 3]);
		unsigned o1 = tag_bytes[t0], o2 = o1 + tag_bytes[t1];
		unsigned o3 = o2 + tag_bytes[t2];
		store_le32(val, words[i]);
		store_le32(val + o1, words[i + 1]);
		store_le32(val + o2, words[i + 2]);
		store_le32(val + o3, words[i + 3]);
		val += o3 + tag_bytes[t3];
		tags[i / 4] = (uint8_t)(t0 | t1 << 2 | t2 << 4 | t3 << 6);
	}
	size_t n = (size_t)(val - out);
	CS_ASSERT(n + CS_PACK_SLACK <= CS_PACK_MAX);
	memset(val, 0, CS_PACK_SLACK);
	return n;
}

/* Unpacks the first `groups` groups of four words into words[]; returns
 * where their values stopped.  Each value is read as four bytes and
 * masked: the bytes past the last are CS_PACK_SLACK (pack.h). */
static const uint8_t *unpack_words(const uint8_t *in, uint32_t *words,
				   unsigned groups)
{
	const uint8_t *tags = in + 4;
	const uint8_t *val = tags + (CS_PACK_WORDS + 3) / 4;

	for (unsigned g = 0; g < groups; g++) {
		unsigned t = tags[g];
		if (!t) {
			memset(&words[4 * g], 0, 4 * sizeof *words);
			continue;
		}
		unsigned t0 = t & 3, t1 = t >> 2 & 3, t2 = t >> 4 & 3, t3 = t >> 6;
		unsigned o1 = tag_bytes[t0], o2 = o1 + tag_bytes[t1];
		unsigned o3 = o2 + tag_bytes[t2];
		words[4 * g] = load_le32(val) & tag_mask[t0];
		words[4 * g + 1] = load_le32(val + o1) & tag_mask[t1];
		words[4 * g + 2] = load_le32(val + o2) & tag_mask[t2];
		words[4 * g + 3] = load_le32(val + o3) & tag_mask[t3];
		val += o3 + tag_bytes[t3];
	}
	return val;
}

size_t cs_conn_unpack(const uint8_t *in, struct cs_conn *c)
{
	uint32_t words[GROUPS * 4];
	uint32_t flags;

	memcpy(&flags, in, 4);
	const uint8_t *end = unpack_words(in, words, GROUPS);
	flip_constants(words);
	restore_fields((uint8_t *)words, flags);
	memcpy(c, words, sizeof *c);
	return (size_t)(end - in);
}

void cs_conn_unpack_key(const uint8_t *in, struct cs_flow_key *k)
{
	uint32_t words[((sizeof *k + 15) / 16) * 4];

	unpack_words(in, words, (sizeof *k + 15) / 16);
	for (unsigned i = 0; i < 2; i++)
		words[v4_mapped_words[i]] ^= V4_MAPPED_WORD;
	memcpy(k, words, sizeof *k);
}
