/*
 * pack.c — a connection record packed small (pack.h).
 *
 * The record is first rewritten: times and sequence numbers as distances
 * from the fields they sit near, its list links and last packet's time
 * dropped, and two words added saying which fields were rewritten.  Each
 * of its 32-bit words is then stored as its difference (XOR) from the
 * same word of a template, a record of the same shape packed before
 * (struct cs_pack_dict): records of one shape -- closed the same way,
 * with the same history -- differ in little but their addresses, ports,
 * ids, ISNs and times.
 *
 * Words that differ from record to record -- addresses, ports, ISNs,
 * times, counts: the hot words below -- are stored first, in groups of
 * four, always there; then the record's words in order, in groups of
 * four (the hot words' places zero), where only the groups that differ
 * from the template are stored.
 *
 * Layout of a packed record:
 *   1 byte    the template
 *   the hot groups, each:
 *     1 byte  its tag: 2 bits per word, 0 the same as the template's, 1 a
 *             byte of difference, 2 two, 3 four
 *     values  the differences (XOR, little-endian), in as many bytes as
 *             the tag says
 *   1 byte    how many bytes of group bits follow (0: no other word
 *             differs)
 *   n bytes   which groups of the record's words differ (bit g: group g)
 *   each such group, as a hot one
 * LARGE's records pack to about 52 bytes on average this way, id included;
 * with every group behind group bits and the id kept outside, they took
 * 58.7 (tests/bench/PROFILE.md).
 * The packed bytes never leave the process (they are not a file format):
 * they are read by the code that wrote them, and trusted as such.
 */
#include "analyzer/tracking/pack.h"

#include <stdbool.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "capture/assert.h"

_Static_assert(sizeof(struct cs_conn) % 4 == 0, "a record is whole words");

/* The words packed: the record's, then two of the rewritten fields'
 * flags, then zero to the end of the last group of four. */
#define FLAGS_WORD CS_PACK_WORDS		/* two words: 64 flags */
#define GROUPS CS_PACK_GROUPS
#define WORDS (GROUPS * 4)
_Static_assert(WORDS >= FLAGS_WORD + 2, "room for the flags");
#define HOT_GROUPS CS_PACK_HOT_GROUPS
#define HOT_WORDS (HOT_GROUPS * 4)
_Static_assert(GROUPS <= 64, "the group bits fit a word");

/* ---- fields rewritten ------------------------------------------------------ */

/*
 * A field rewritten as its distance from another (its base), zigzag-coded
 * so that a small distance either way is a small number: a time from the
 * first or the last packet's, a sequence number from what its side sent
 * or from an ISN, Zeek's relative numbers from Zeek's FIN, Zeek's counts
 * from the observer's.  A field that is zero stays zero (and unflagged).
 *
 * Packing reads every base from the record as it is.  Unpacking restores
 * BASES first, in their order, then the others: the base of each field in
 * BASES is an ISN (never rewritten), last_ts_us (handed back by the
 * caller, pack.h) or a field before it in BASES.
 */
#define BASES(X)							\
	X(ep[0].snd_nxt, ep[0].isn) X(ep[1].snd_nxt, ep[1].isn)	\
	X(ep[0].max_ack, ep[1].snd_nxt) X(ep[1].max_ack, ep[0].snd_nxt) \
	X(first_ts_us, last_ts_us) X(synack_ts_us, first_ts_us)	\
	X(z_last_us, last_ts_us)

#define SIDE(X, i)							\
	X(ep[i].fin_seq, ep[i].snd_nxt) X(ep[i].z.last_seq, ep[i].snd_nxt) \
	X(ep[i].z.ack_seq, ep[i].snd_nxt) X(ep[i].seq_hi, ep[!(i)].max_ack) \
	X(ep[i].z.start_seq, ep[i].isn) X(ep[i].last_ack, ep[i].max_ack) \
	X(ep[i].z.reasm_seq, ep[i].z.fin_seq)				\
	X(ep[i].z.trim_seq, ep[i].z.fin_seq)				\
	X(ep[i].z.hist_last_fin, ep[i].z.fin_seq)			\
	X(ep[i].z.pkts, ep[i].pkts) X(ep[i].z.ip_bytes, ep[i].ip_bytes)

#define OTHERS(X)							\
	X(syn_ts_us, first_ts_us) X(ack_ts_us, synack_ts_us)		\
	X(z_start_us, first_ts_us) X(z_attempt_at, first_ts_us)	\
	X(z_remove_at, z_last_us)					\
	X(z_expire_at[0], last_ts_us) X(z_expire_at[1], last_ts_us)	\
	SIDE(X, 0) SIDE(X, 1)

static uint32_t zigzag32(uint32_t d) { return (d << 1) ^ (uint32_t)-(d >> 31); }
static uint32_t unzigzag32(uint32_t z) { return (z >> 1) ^ (uint32_t)-(z & 1); }
static uint64_t zigzag64(uint64_t d) { return (d << 1) ^ (uint64_t)-(d >> 63); }
static uint64_t unzigzag64(uint64_t z) { return (z >> 1) ^ (uint64_t)-(z & 1); }

/* Rewrites *f from base unless it is zero (without a branch); returns
 * whether it did. */
static uint64_t shift32(uint32_t *f, uint32_t base)
{
	uint32_t keep = -(uint32_t)(*f != 0);

	*f = zigzag32(*f - base) & keep;
	return keep & 1;
}

static uint64_t shift64(uint64_t *f, uint64_t base)
{
	uint64_t keep = -(uint64_t)(*f != 0);

	*f = zigzag64(*f - base) & keep;
	return keep & 1;
}

static void unshift32(uint32_t *f, uint32_t base, uint64_t flagged)
{
	*f = (unzigzag32(*f) + base) & -(uint32_t)flagged;
}

static void unshift64(uint64_t *f, uint64_t base, uint64_t flagged)
{
	*f = (unzigzag64(*f) + base) & -(uint64_t)flagged;
}

#define SHIFT(f, b)							\
	flags |= _Generic(out->f, uint32_t: shift32, uint64_t: shift64)( \
			 &out->f, c->b) << bit++;
#define UNSHIFT(f, b)							\
	_Generic(r->f, uint32_t: unshift32, uint64_t: unshift64)(	\
		&r->f, r->b, flags >> bit++ & 1);

/* *out: c rewritten; returns the flags of the fields rewritten. */
static uint64_t rewrite_fields(const struct cs_conn *c, struct cs_conn *out)
{
	uint64_t flags = 0;
	unsigned bit = 0;

	memcpy(out, c, sizeof *out);	/* padding too: it comes back as it was */
	BASES(SHIFT)
	OTHERS(SHIFT)
	CS_ASSERT(bit <= 64);
	return flags;
}

static void restore_fields(struct cs_conn *r, uint64_t flags)
{
	unsigned bit = 0;

	BASES(UNSHIFT)
	OTHERS(UNSHIFT)
}

/* A record and its words: C11 reads a union's other member bytewise. */
union words {
	struct cs_conn c;
	uint32_t w[WORDS];
};

/* The record's words as packing compares them (see the top). */
static void words_to_store(const struct cs_conn *c, union words *u)
{
	uint64_t flags = rewrite_fields(c, &u->c);

	u->c.lru_prev = u->c.lru_next = 0;
	u->c.last_ts_us = 0;
	u->w[FLAGS_WORD] = (uint32_t)flags;
	u->w[FLAGS_WORD + 1] = (uint32_t)(flags >> 32);
	for (unsigned i = FLAGS_WORD + 2; i < WORDS; i++)
		u->w[i] = 0;
}

static void words_to_record(union words *u, uint64_t last_ts_us,
			    struct cs_conn *c)
{
	u->c.last_ts_us = last_ts_us;
	restore_fields(&u->c, (uint64_t)u->w[FLAGS_WORD + 1] << 32 | u->w[FLAGS_WORD]);
	memcpy(c, &u->c, sizeof *c);	/* (an assignment may skip padding) */
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

#define TEMPLATES_EACH (CS_PACK_TEMPLATES / CS_PACK_PACKERS)

static unsigned template_of(const uint32_t *words, unsigned packer)
{
	uint32_t h = 2166136261u;	/* FNV-1a over the words */

	for (size_t r = 0; r < sizeof shape_words / sizeof shape_words[0]; r++)
		for (unsigned i = shape_words[r].from; i < shape_words[r].to; i++)
			h = (h ^ words[i]) * 16777619u;
	return packer * TEMPLATES_EACH + (h ^ h >> 16) % TEMPLATES_EACH;
}

/*
 * The hot words: the first (low, on this machine) word of each field that
 * differs between records of one shape on LARGE in more than a few
 * percent of them (measured: each word's share of records with a
 * difference).  The high words of its 64-bit times and counts, and an
 * IPv6 address's first 12 bytes, mostly do not.  A word missing here
 * still packs, behind group bits.  In the record's order: unpacking only
 * the first words (the key, the id) stops at the first hot group past
 * them.
 */
#define WORD(f) (uint8_t)(offsetof(struct cs_conn, f) / 4),
#define SIDE_HOT(i)							\
	WORD(ep[i].isn) WORD(ep[i].snd_nxt) WORD(ep[i].win)		\
	WORD(ep[i].pkts) WORD(ep[i].ip_bytes)
static const uint8_t hot_words[] = {
	WORD(key.addr[0].b[12]) WORD(key.addr[1].b[12]) WORD(key.port)
	WORD(id) WORD(first_ts_us)
	SIDE_HOT(0) WORD(ep[0].z.reasm_seq) WORD(ep[0].z.fin_seq)
	SIDE_HOT(1) WORD(ep[1].z.fin_seq)
	WORD(syn_ts_us) WORD(synack_ts_us) WORD(ack_ts_us)
	WORD(z_last_us) WORD(z_expire_at[0]) WORD(z_expire_at[1])
};
#undef WORD
_Static_assert(sizeof hot_words / sizeof hot_words[0] == HOT_WORDS,
	       "the hot words fill their groups");
_Static_assert(WORDS <= 256, "a word's place fits a byte");

/* Where the id is (cs_conn_unpack_id): its low word the fourth hot word,
 * its high word in the fourth group of the record's words. */
#define ID_WORD (offsetof(struct cs_conn, id) / 4)
#define ID_HOT_PLACE 3
#define ID_HIGH_GROUP ((ID_WORD + 1) / 4)
_Static_assert(offsetof(struct cs_conn, id) % 4 == 0, "the id is whole words");
_Static_assert(ID_HIGH_GROUP < 8, "its group bit is in the first byte");

void cs_pack_dict_init(struct cs_pack_dict *d)
{
	for (unsigned j = 1; j < HOT_WORDS; j++)
		CS_ASSERT(hot_words[j - 1] < hot_words[j]);
	for (unsigned j = 0; j < HOT_WORDS; j++)	/* cs_conn_unpack_id */
		CS_ASSERT((j == ID_HOT_PLACE) == (hot_words[j] == ID_WORD) &&
			  hot_words[j] != ID_WORD + 1);
	memset(d->used, 0, sizeof d->used);
}

/* ---- groups of words ------------------------------------------------------- */

/* A difference's tag, by its length in bits (0 for none): 0 none, 1 a
 * byte, 2 two, 3 four.  The length is one count of leading zeros, with
 * no branch (w << 1 | 1 is never zero). */
static const uint8_t tag_by_bits[33] = {
	0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2,
	3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
};

static unsigned tag_of(uint32_t w)
{
	return tag_by_bits[63 - __builtin_clzll((uint64_t)w << 1 | 1)];
}

static const uint8_t tag_bytes[4] = { 0, 1, 2, 4 };
static const uint32_t tag_mask[4] = { 0, 0xff, 0xffff, 0xffffffff };

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
 * Writes a group's tag and four differences at p; returns the end.  Each
 * value is written whole, in order, at the offset the lengths before it
 * give, so that the next overwrites the bytes its tag drops: their places
 * depend on the tags only.  (One word at a time, each place waited for
 * the one before: packing took twice as long.)
 */
static inline __attribute__((always_inline)) uint8_t *
store_group(uint8_t *p, const uint32_t *diff)
{
	unsigned t0 = tag_of(diff[0]), t1 = tag_of(diff[1]);
	unsigned t2 = tag_of(diff[2]), t3 = tag_of(diff[3]);
	unsigned o1 = tag_bytes[t0], o2 = o1 + tag_bytes[t1];
	unsigned o3 = o2 + tag_bytes[t2];

	p[0] = (uint8_t)(t0 | t1 << 2 | t2 << 4 | t3 << 6);
	store_le32(p + 1, diff[0]);
	store_le32(p + 1 + o1, diff[1]);
	store_le32(p + 1 + o2, diff[2]);
	store_le32(p + 1 + o3, diff[3]);
	return p + 1 + o3 + tag_bytes[t3];
}

/* The reverse of store_group.  Each value is read as four bytes and
 * masked: the bytes past the last are CS_PACK_SLACK (pack.h). */
static inline __attribute__((always_inline)) const uint8_t *
load_group(const uint8_t *p, uint32_t *diff)
{
	unsigned tag = p[0];
	unsigned t0 = tag & 3, t1 = tag >> 2 & 3, t2 = tag >> 4 & 3, t3 = tag >> 6;
	unsigned o1 = tag_bytes[t0], o2 = o1 + tag_bytes[t1];
	unsigned o3 = o2 + tag_bytes[t2];

	diff[0] = load_le32(p + 1) & tag_mask[t0];
	diff[1] = load_le32(p + 1 + o1) & tag_mask[t1];
	diff[2] = load_le32(p + 1 + o2) & tag_mask[t2];
	diff[3] = load_le32(p + 1 + o3) & tag_mask[t3];
	return p + 1 + o3 + tag_bytes[t3];
}

/*
 * Bit g set where group g of diff is not all zeros.  With SSE2 (every
 * x86-64), four groups at a time: their sixteen words compared with zero
 * and narrowed to one byte each, so that one mask holds four bits a
 * group.  A word at a time, this loop was a quarter of packing's
 * instructions (tests/bench/PROFILE.md).
 */
static uint64_t groups_differing(const uint32_t *diff)
{
	uint64_t groups = 0;
	unsigned g = 0;

#if defined(__SSE2__)
	const __m128i zero = _mm_setzero_si128();
	for (; g + 4 <= GROUPS; g += 4) {
		const __m128i *v = (const __m128i *)&diff[4 * g];
		__m128i z01 = _mm_packs_epi32(
			_mm_cmpeq_epi32(_mm_loadu_si128(v), zero),
			_mm_cmpeq_epi32(_mm_loadu_si128(v + 1), zero));
		__m128i z23 = _mm_packs_epi32(
			_mm_cmpeq_epi32(_mm_loadu_si128(v + 2), zero),
			_mm_cmpeq_epi32(_mm_loadu_si128(v + 3), zero));
		/* nibble k: which words of group g + k are not zero */
		unsigned nz = ~(unsigned)_mm_movemask_epi8(_mm_packs_epi16(z01, z23)) &
			      0xffff;
		nz |= nz >> 1;
		nz |= nz >> 2;	/* bit 4k: any of nibble k */
		/* bits 0, 4, 8 and 12 to 12..15: the products do not overlap */
		groups |= (uint64_t)(((nz & 0x1111) * 0x1248) >> 12 & 0xf) << g;
	}
#endif
	for (; g < GROUPS; g++) {
		const uint32_t *dg = &diff[4 * g];
		groups |= (uint64_t)((dg[0] | dg[1] | dg[2] | dg[3]) != 0) << g;
	}
	return groups;
}

/* ---- records ------------------------------------------------------------- */

size_t cs_conn_pack(struct cs_pack_dict *d, unsigned packer,
		    const struct cs_conn *c, uint8_t *out)
{
	union words u;

	CS_ASSERT(packer < CS_PACK_PACKERS);
	words_to_store(c, &u);
	unsigned k = template_of(u.w, packer);
	if (!d->used[k]) {	/* the first of its shape is the template */
		memcpy(d->words[k], u.w, sizeof u.w);
		d->used[k] = true;
	}
	/* XOR, not a subtraction: one instruction a word either way, and
	 * as small wherever the template's word is near. */
	uint32_t diff[WORDS], hot[HOT_WORDS];
	for (unsigned i = 0; i < WORDS; i++)
		diff[i] = u.w[i] ^ d->words[k][i];
	for (unsigned j = 0; j < HOT_WORDS; j++) {
		hot[j] = diff[hot_words[j]];
		diff[hot_words[j]] = 0;		/* stored: not again */
	}

	uint8_t *p = out;
	*p++ = (uint8_t)k;
	for (unsigned g = 0; g < HOT_GROUPS; g++)
		p = store_group(p, &hot[4 * g]);
	uint64_t groups = groups_differing(diff);
	unsigned bits_bytes =	/* up to the last group that differs */
		groups ? (64 - (unsigned)__builtin_clzll(groups) + 7) / 8 : 0;
	*p++ = (uint8_t)bits_bytes;
	for (unsigned b = 0; b < bits_bytes; b++)
		*p++ = (uint8_t)(groups >> (8 * b));
	for (uint64_t m = groups; m; m &= m - 1)
		p = store_group(p, &diff[4 * (unsigned)__builtin_ctzll(m)]);

	size_t n = (size_t)(p - out);
	CS_ASSERT(n + CS_PACK_SLACK <= CS_PACK_MAX);
	memset(p, 0, CS_PACK_SLACK);
	return n;
}

/* Past a group, without reading its values. */
static const uint8_t *skip_group(const uint8_t *p)
{
	unsigned tag = p[0];

	return p + 1 + tag_bytes[tag & 3] + tag_bytes[tag >> 2 & 3] +
	       tag_bytes[tag >> 4 & 3] + tag_bytes[tag >> 6];
}

/* Unpacks the first `count` groups of the record's words into words[]
 * (the template's where nothing was stored), hot ones included; returns
 * where the bytes read stopped (when count is all of them, the record's
 * end). */
static const uint8_t *unpack_groups(const struct cs_pack_dict *d,
				    const uint8_t *in, uint32_t *words,
				    unsigned count)
{
	const unsigned limit = 4 * count;	/* words wanted: [0, limit) */
	const uint8_t *p = in + 1;
	uint32_t diff[4];

	memcpy(words, d->words[in[0]], limit * sizeof *words);
	for (unsigned g = 0; g < HOT_GROUPS; g++) {
		const uint8_t *hw = &hot_words[4 * g];
		if (hw[0] >= limit) {	/* none of this group's is wanted */
			p = skip_group(p);
			continue;
		}
		p = load_group(p, diff);
#define APPLY(i) if (hw[i] < limit) words[hw[i]] ^= diff[i];
		APPLY(0) APPLY(1) APPLY(2) APPLY(3)
#undef APPLY
	}
	unsigned bits_bytes = *p++;
	uint64_t groups = 0;
	for (unsigned b = 0; b < bits_bytes; b++)
		groups |= (uint64_t)*p++ << (8 * b);
	if (count < GROUPS)
		groups &= (1ull << count) - 1;
	for (; groups; groups &= groups - 1) {
		uint32_t *w = &words[4 * (unsigned)__builtin_ctzll(groups)];
		p = load_group(p, diff);
		for (unsigned i = 0; i < 4; i++)
			w[i] ^= diff[i];
	}
	return p;
}

size_t cs_conn_unpack(const struct cs_pack_dict *d, const uint8_t *in,
		      uint64_t last_ts_us, struct cs_conn *c)
{
	union words u;
	const uint8_t *end = unpack_groups(d, in, u.w, GROUPS);

	words_to_record(&u, last_ts_us, c);
	return (size_t)(end - in);
}

#if defined(CS_ASSERTS) && CS_ASSERTS
/* The fields rewritten, or not stored (pack.h): cs_conn_unpack_bytes does
 * not give them back as they were. */
#define SPAN(f, b) { offsetof(struct cs_conn, f), sizeof(((struct cs_conn *)0)->f) },
static const struct { uint16_t at, size; } not_as_stored[] = {
	BASES(SPAN) OTHERS(SPAN) SPAN(lru_prev, 0) SPAN(lru_next, 0)
	SPAN(last_ts_us, 0)
};
#undef SPAN

static bool stored_as_is(size_t offset, size_t len)
{
	for (size_t i = 0; i < sizeof not_as_stored / sizeof not_as_stored[0]; i++)
		if (offset < not_as_stored[i].at + not_as_stored[i].size &&
		    not_as_stored[i].at < offset + len)
			return false;
	return true;
}
#endif

/* Word w of the record, from its group alone: a hot word's group, or,
 * past the hot ones, the groups before its own skipped. */
static uint32_t unpack_word(const struct cs_pack_dict *d, const uint8_t *in,
			    unsigned w)
{
	uint32_t v = d->words[in[0]][w], diff[4];
	const uint8_t *p = in + 1;

	for (unsigned g = 0; g < HOT_GROUPS; g++) {
		const uint8_t *hw = &hot_words[4 * g];
		for (unsigned i = 0; i < 4; i++)
			if (hw[i] == w) {
				load_group(p, diff);
				return v ^ diff[i];
			}
		p = skip_group(p);
	}
	unsigned bits_bytes = *p++, g = w / 4;
	if (g / 8 >= bits_bytes || !(p[g / 8] >> (g % 8) & 1))
		return v;	/* its group is the template's */
	const uint8_t *q = p + bits_bytes;
	for (unsigned before = 0; before < g; before++)
		if (p[before / 8] >> (before % 8) & 1)
			q = skip_group(q);
	load_group(q, diff);
	return v ^ diff[w % 4];
}

void cs_conn_unpack_bytes(const struct cs_pack_dict *d, const uint8_t *in,
			  size_t offset, size_t len, void *out)
{
#if defined(CS_ASSERTS) && CS_ASSERTS
	CS_ASSERT(stored_as_is(offset, len));
#endif
	CS_ASSERT(offset + len <= sizeof(struct cs_conn));
	uint32_t words[2];
	unsigned first = (unsigned)(offset / 4), last = (unsigned)((offset + len - 1) / 4);

	CS_ASSERT(len > 0 && last - first < 2);
	for (unsigned w = first; w <= last; w++)
		words[w - first] = unpack_word(d, in, w);
	memcpy(out, (const uint8_t *)words + offset % 4, len);
}

_Static_assert(offsetof(struct cs_conn, key) == 0, "the key comes first");

void cs_conn_unpack_key(const struct cs_pack_dict *d, const uint8_t *in,
			struct cs_flow_key *k)
{
	union words u;

	unpack_groups(d, in, u.w, (sizeof *k + 15) / 16);
	memcpy(k, &u.c.key, sizeof *k);
}

/*
 * The id, never rewritten (rewrite_fields), from its two words alone
 * (ID_WORD above): the end of the capture reads the id of every record
 * aside, twice, and that takes a fifth of unpacking the groups before
 * them.
 */
uint64_t cs_conn_unpack_id(const struct cs_pack_dict *d, const uint8_t *in)
{
	const uint32_t *tmpl = d->words[in[0]];
	const uint8_t *p = in + 1;
	uint32_t diff[4];

	p = load_group(p, diff);
	uint32_t lo = tmpl[ID_WORD] ^ diff[ID_HOT_PLACE];
	for (unsigned g = 1; g < HOT_GROUPS; g++)
		p = skip_group(p);
	uint32_t hi = tmpl[ID_WORD + 1];
	unsigned bits_bytes = *p++;
	if (bits_bytes && (p[0] >> ID_HIGH_GROUP & 1)) {
		const uint8_t *q = p + bits_bytes;
		for (unsigned g = 0; g < ID_HIGH_GROUP; g++)
			if (p[0] >> g & 1)
				q = skip_group(q);
		load_group(q, diff);
		hi ^= diff[(ID_WORD + 1) % 4];
	}
	return (uint64_t)hi << 32 | lo;
}
