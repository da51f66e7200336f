/*
 * pack.c — a connection record packed small (pack.h).
 *
 * The record's words are first rewritten (times and sequence numbers as
 * distances; the list links, the id and the last packet's time dropped),
 * with two more words saying which fields were rewritten; each
 * is then stored as its difference from the same word of a template, a
 * record of the same shape packed before (struct cs_pack_dict).  Records
 * of one shape -- closed the same way, with the same history -- differ in
 * little but their addresses, ports, ISNs and times.
 *
 * Layout of a packed record:
 *   1 byte    the template
 *   6 bytes   which groups of four words differ from it (bit g: group g)
 *   tags      a byte for each such group, 2 bits per word: 0 the same as
 *             the template's, 1 a byte of difference, 2 two, 3 four
 *   values    the differences (zigzag-coded, little-endian), in as many
 *             bytes as their tags say
 * The packed bytes never leave the process (they are not a file format):
 * they are read by the code that wrote them, and trusted as such.
 */
#include "analyzer/tracking/pack.h"

#include <stdbool.h>
#include <string.h>

#include "capture/assert.h"

_Static_assert(sizeof(struct cs_conn) % 4 == 0, "a record is whole words");

/* The words packed: the record's, then two of the rewritten fields'
 * flags, then zero to the end of the last group of four. */
#define FLAGS_WORD CS_PACK_WORDS		/* two words: 64 flags */
#define GROUPS CS_PACK_GROUPS
_Static_assert(GROUPS * 4 >= FLAGS_WORD + 2, "room for the flags");
_Static_assert(GROUPS <= 48, "the group bits fit six bytes");
#define GROUP_BITS_BYTES 6

/*
 * A field rewritten as its distance from another (its base): a time from
 * the first or the last packet's, a sequence number from its side's ISN.
 * The distance is zigzag-coded, so a small one either way is a small
 * number.  A field that is zero stays zero (and unflagged).  Fields are
 * rewritten in the table's order and restored in the reverse, so a base
 * must not be rewritten before the fields that use it (snd_nxt after
 * those near it; first_ts_us last, from last_ts_us, which is not packed
 * at all: the caller keeps it, pack.h).
 */
struct rewrite {
	uint16_t field, base;	/* offsets in struct cs_conn */
	uint8_t size;		/* 4 or 8 */
};

#define EP(i, f) offsetof(struct cs_conn, ep[i].f)
#define AT(f) offsetof(struct cs_conn, f)
#define FROM_FIRST(f) { AT(f), AT(first_ts_us), 8 }
#define FROM_LAST(f) { AT(f), AT(last_ts_us), 8 }
#define SEQ(i, f) { EP(i, f), EP(i, isn), 4 }
#define ACK(i, f) { EP(i, f), EP(!(i), isn), 4 }
#define NEAR(i, f, to, size) { EP(i, f), EP(i, to), size }

/*
 * One side's sequence numbers: what it sent (snd_nxt) from its ISN, and
 * what says the same again from snd_nxt -- its FIN, Zeek's last sequence
 * number and the acknowledgment Zeek saw of it; what it acknowledged
 * from its peer's ISN.  Zeek's relative numbers (reassembly, FIN, the
 * history's last FIN) from Zeek's FIN, and Zeek's counts from the
 * observer's.
 */
#define SIDE(i) \
	NEAR(i, fin_seq, snd_nxt, 4), NEAR(i, z.last_seq, snd_nxt, 4), \
	NEAR(i, z.ack_seq, snd_nxt, 4), SEQ(i, seq_hi), SEQ(i, z.start_seq), \
	SEQ(i, snd_nxt), \
	NEAR(i, last_ack, max_ack, 4), ACK(i, max_ack), \
	NEAR(i, z.reasm_seq, z.fin_seq, 4), NEAR(i, z.trim_seq, z.fin_seq, 4), \
	NEAR(i, z.hist_last_fin, z.fin_seq, 4), \
	NEAR(i, z.pkts, pkts, 8), NEAR(i, z.ip_bytes, ip_bytes, 8)

static const struct rewrite rewrites[] = {
	/* the handshake's times, from the first packet */
	FROM_FIRST(syn_ts_us), FROM_FIRST(synack_ts_us), FROM_FIRST(ack_ts_us),
	FROM_FIRST(z_start_us), FROM_FIRST(z_attempt_at),
	/* (last_ts_us is the caller's; the id too) */
	/* the end's and Zeek's timers, from the last packet */
	FROM_LAST(z_last_us), FROM_LAST(z_remove_at), FROM_LAST(z_expire_at[0]),
	FROM_LAST(z_expire_at[1]), FROM_LAST(ep[0].last_ts_us),
	FROM_LAST(ep[1].last_ts_us),
	SIDE(0), SIDE(1),
	FROM_LAST(first_ts_us),		/* last: the base of FROM_FIRST */
};
#define REWRITES (sizeof rewrites / sizeof rewrites[0])
_Static_assert(REWRITES <= 64, "one flag bit per rewritten field");
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
static uint64_t rewrite_fields(uint8_t *rec)
{
	uint64_t flags = 0;

	for (unsigned i = 0; i < REWRITES; i++) {
		const struct rewrite *r = &rewrites[i];
		uint64_t v = load(rec, r, r->field);
		uint64_t keep = -(uint64_t)(v != 0);	/* all ones, or zero */
		store(rec, r, zigzag(v - load(rec, r, r->base), r->size) & keep);
		flags |= (keep & 1) << i;
	}
	return flags;
}

static void restore_fields(uint8_t *rec, uint64_t flags)
{
	for (unsigned i = REWRITES; i-- > 0;) {
		const struct rewrite *r = &rewrites[i];
		uint64_t keep = -(uint64_t)(flags >> i & 1);
		uint64_t d = unzigzag(load(rec, r, r->field));
		store(rec, r, (d + load(rec, r, r->base)) & keep);
	}
}

/* The record's words as packing compares them (see the top). */
_Static_assert(offsetof(struct cs_conn, key) == 0, "the key comes first");
static void words_to_store(const struct cs_conn *c, uint32_t *words)
{
	memcpy(words, c, sizeof *c);
	uint64_t flags = rewrite_fields((uint8_t *)words);
	words[FLAGS_WORD] = (uint32_t)flags;
	words[FLAGS_WORD + 1] = (uint32_t)(flags >> 32);
	for (unsigned i = FLAGS_WORD + 2; i < GROUPS * 4; i++)
		words[i] = 0;
	words[offsetof(struct cs_conn, lru_prev) / 4] = 0;
	words[offsetof(struct cs_conn, lru_next) / 4] = 0;
	memset((uint8_t *)words + offsetof(struct cs_conn, id), 0, sizeof c->id);
	memset((uint8_t *)words + offsetof(struct cs_conn, last_ts_us), 0,
	       sizeof c->last_ts_us);
}

static void words_to_record(uint32_t *words, uint64_t id, uint64_t last_ts_us,
			    struct cs_conn *c)
{
	memcpy((uint8_t *)words + offsetof(struct cs_conn, id), &id, sizeof id);
	memcpy((uint8_t *)words + offsetof(struct cs_conn, last_ts_us), &last_ts_us,
	       sizeof last_ts_us);
	restore_fields((uint8_t *)words, (uint64_t)words[FLAGS_WORD + 1] << 32 |
					 words[FLAGS_WORD]);
	memcpy(c, words, sizeof *c);
}

/* ---- templates ----------------------------------------------------------- */

/*
 * A record's shape: the words that say how it went -- each endpoint's
 * states and flags, Zeek's history, its list -- hashed to a template.
 * Two shapes on one template only pack less well.
 */
static const struct { uint16_t from, to; } shape_words[] = {
	{ offsetof(struct cs_conn, orig) / 4, offsetof(struct cs_conn, lru_prev) / 4 },
	{ offsetof(struct cs_conn, ep[0]) / 4, offsetof(struct cs_conn, ep[0].isn) / 4 },
	{ offsetof(struct cs_conn, ep[1]) / 4, offsetof(struct cs_conn, ep[1].isn) / 4 },
	{ offsetof(struct cs_conn, hist_seen) / 4,
	  (offsetof(struct cs_conn, history) + CS_HISTORY_MAX) / 4 },
};

static unsigned template_of(const uint32_t *words)
{
	uint32_t h = 2166136261u;	/* FNV-1a over the words */

	for (size_t r = 0; r < sizeof shape_words / sizeof shape_words[0]; r++)
		for (unsigned i = shape_words[r].from; i < shape_words[r].to; i++)
			h = (h ^ words[i]) * 16777619u;
	return (h ^ h >> 16) % CS_PACK_TEMPLATES;
}

void cs_pack_dict_init(struct cs_pack_dict *d)
{
	memset(d->used, 0, sizeof d->used);
}

/* ---- words ---------------------------------------------------------------- */

/* A difference's tag, without a branch: 0 none, 1 a byte, 2 two, 3 four. */
static unsigned tag_of(uint32_t w)
{
	return (unsigned)(w != 0) + (w > 0xff) + (w > 0xffff);
}

static const uint8_t tag_bytes[4] = { 0, 1, 2, 4 };
static const uint32_t tag_mask[4] = { 0, 0xff, 0xffff, 0xffffffff };

static uint32_t zigzag32(uint32_t d)
{
	return (uint32_t)(d << 1) ^ (uint32_t)-(d >> 31);
}

static uint32_t unzigzag32(uint32_t z)
{
	return (z >> 1) ^ (uint32_t)-(z & 1);
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
 * Stores the four differences of group g at val; returns their tag byte
 * and moves val past them.  Each value is written whole, in order, at the
 * offset the lengths before it give, so that the next overwrites the
 * bytes its tag drops: their places depend on the tags only, and val
 * moves once per group.  (One word at a time, each place waited for the
 * one before: packing took twice as long.)
 */
static uint8_t store_group(const uint32_t *diff, uint8_t **val)
{
	unsigned t0 = tag_of(diff[0]), t1 = tag_of(diff[1]);
	unsigned t2 = tag_of(diff[2]), t3 = tag_of(diff[3]);
	unsigned o1 = tag_bytes[t0], o2 = o1 + tag_bytes[t1];
	unsigned o3 = o2 + tag_bytes[t2];
	uint8_t *v = *val;

	store_le32(v, diff[0]);
	store_le32(v + o1, diff[1]);
	store_le32(v + o2, diff[2]);
	store_le32(v + o3, diff[3]);
	*val = v + o3 + tag_bytes[t3];
	return (uint8_t)(t0 | t1 << 2 | t2 << 4 | t3 << 6);
}

/* The reverse of store_group.  Each value is read as four bytes and
 * masked: the bytes past the last are CS_PACK_SLACK (pack.h). */
static void load_group(uint8_t tag, const uint8_t **val, uint32_t *diff)
{
	unsigned t0 = tag & 3, t1 = tag >> 2 & 3, t2 = tag >> 4 & 3, t3 = tag >> 6;
	unsigned o1 = tag_bytes[t0], o2 = o1 + tag_bytes[t1];
	unsigned o3 = o2 + tag_bytes[t2];
	const uint8_t *v = *val;

	diff[0] = load_le32(v) & tag_mask[t0];
	diff[1] = load_le32(v + o1) & tag_mask[t1];
	diff[2] = load_le32(v + o2) & tag_mask[t2];
	diff[3] = load_le32(v + o3) & tag_mask[t3];
	*val = v + o3 + tag_bytes[t3];
}

/* ---- records ------------------------------------------------------------- */

size_t cs_conn_pack(struct cs_pack_dict *d, const struct cs_conn *c, uint8_t *out)
{
	uint32_t words[GROUPS * 4];

	words_to_store(c, words);
	unsigned k = template_of(words);
	if (!d->used[k]) {	/* the first of its shape is the template */
		memcpy(d->words[k], words, sizeof words);
		d->used[k] = true;
	}
	const uint32_t *tmpl = d->words[k];
	uint64_t groups = 0;
	uint8_t *tags = out + 1 + GROUP_BITS_BYTES, *t = tags;
	uint32_t diff[GROUPS * 4];

	for (unsigned i = 0; i < GROUPS * 4; i++)
		diff[i] = zigzag32(words[i] - tmpl[i]);
	for (unsigned g = 0; g < GROUPS; g++)
		if (diff[4 * g] | diff[4 * g + 1] | diff[4 * g + 2] | diff[4 * g + 3])
			groups |= 1ull << g;
	uint8_t *val = tags + __builtin_popcountll(groups);
	for (unsigned g = 0; g < GROUPS; g++)
		if (groups >> g & 1)
			*t++ = store_group(&diff[4 * g], &val);
	out[0] = (uint8_t)k;
	for (unsigned b = 0; b < GROUP_BITS_BYTES; b++)
		out[1 + b] = (uint8_t)(groups >> (8 * b));
	size_t n = (size_t)(val - out);
	CS_ASSERT(n + CS_PACK_SLACK <= CS_PACK_MAX);
	memset(val, 0, CS_PACK_SLACK);
	return n;
}

/* Unpacks the first `count` groups of words; returns where their values
 * stopped. */
static const uint8_t *unpack_groups(const struct cs_pack_dict *d,
				    const uint8_t *in, uint32_t *words,
				    unsigned count)
{
	const uint32_t *tmpl = d->words[in[0]];
	uint64_t groups = 0;

	for (unsigned b = 0; b < GROUP_BITS_BYTES; b++)
		groups |= (uint64_t)in[1 + b] << (8 * b);
	const uint8_t *t = in + 1 + GROUP_BITS_BYTES;
	const uint8_t *val = t + __builtin_popcountll(groups);
	for (unsigned g = 0; g < count; g++) {
		uint32_t diff[4] = { 0, 0, 0, 0 };
		if (groups >> g & 1)
			load_group(*t++, &val, diff);
		for (unsigned i = 0; i < 4; i++)
			words[4 * g + i] = tmpl[4 * g + i] + unzigzag32(diff[i]);
	}
	return val;
}

size_t cs_conn_unpack(const struct cs_pack_dict *d, const uint8_t *in,
		      uint64_t id, uint64_t last_ts_us, struct cs_conn *c)
{
	uint32_t words[GROUPS * 4];
	const uint8_t *end = unpack_groups(d, in, words, GROUPS);

	words_to_record(words, id, last_ts_us, c);
	return (size_t)(end - in);
}

void cs_conn_unpack_key(const struct cs_pack_dict *d, const uint8_t *in,
			struct cs_flow_key *k)
{
	enum { KEY_GROUPS = (sizeof *k + 15) / 16 };
	uint32_t words[KEY_GROUPS * 4];

	unpack_groups(d, in, words, KEY_GROUPS);
	memcpy(k, words, sizeof *k);
}
