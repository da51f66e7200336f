/*
 * reader.h — a bounds-checked cursor over hostile bytes.
 *
 * Every byte connscope decodes comes from the wire or a file an attacker may
 * have written, so nothing reads packet memory except through this cursor.
 * A read that would pass the end returns 0 and sets a sticky error flag; the
 * decoder reads a whole header and tests the flag once.  Lengths are
 * compared with the bytes left, never by pointer arithmetic past the end.
 * Multi-byte fields are assembled in network order, never cast from memory.
 */
#ifndef CS_CAPTURE_READER_H
#define CS_CAPTURE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct cs_reader {
	const uint8_t *p;
	size_t left;
	bool err;
};

static inline struct cs_reader cs_rd_make(const uint8_t *p, size_t len)
{
	struct cs_reader r = { p, len, false };
	return r;
}

/* Marks the reader failed and empties it, so later reads return 0 too. */
static inline void cs_rd_fail(struct cs_reader *r)
{
	r->err = true;
	r->left = 0;
}

static inline bool cs_rd_has(const struct cs_reader *r, size_t n)
{
	return !r->err && n <= r->left;
}

static inline void cs_rd_skip(struct cs_reader *r, size_t n)
{
	if (!cs_rd_has(r, n)) {
		cs_rd_fail(r);
		return;
	}
	r->p += n;
	r->left -= n;
}

static inline uint8_t cs_rd_u8(struct cs_reader *r)
{
	if (!cs_rd_has(r, 1)) {
		cs_rd_fail(r);
		return 0;
	}
	uint8_t v = r->p[0];
	r->p += 1;
	r->left -= 1;
	return v;
}

static inline uint16_t cs_rd_u16(struct cs_reader *r)
{
	if (!cs_rd_has(r, 2)) {
		cs_rd_fail(r);
		return 0;
	}
	uint16_t v = (uint16_t)((uint16_t)r->p[0] << 8 | r->p[1]);
	r->p += 2;
	r->left -= 2;
	return v;
}

static inline uint32_t cs_rd_u32(struct cs_reader *r)
{
	if (!cs_rd_has(r, 4)) {
		cs_rd_fail(r);
		return 0;
	}
	uint32_t v = (uint32_t)r->p[0] << 24 | (uint32_t)r->p[1] << 16 |
		     (uint32_t)r->p[2] << 8 | (uint32_t)r->p[3];
	r->p += 4;
	r->left -= 4;
	return v;
}

/* Little-endian 32-bit read: the DLT_NULL header is in the writer's order. */
static inline uint32_t cs_rd_u32le(struct cs_reader *r)
{
	if (!cs_rd_has(r, 4)) {
		cs_rd_fail(r);
		return 0;
	}
	uint32_t v = (uint32_t)r->p[3] << 24 | (uint32_t)r->p[2] << 16 |
		     (uint32_t)r->p[1] << 8 | (uint32_t)r->p[0];
	r->p += 4;
	r->left -= 4;
	return v;
}

/*
 * Peeks: a field at byte `off` from the cursor, read without advancing, for
 * the headers whose layout is decided by an earlier field (a length, a
 * flag) before the cursor moves past them.  Out of range, a peek fails the
 * reader like any read: it returns 0 and sets the sticky error.  The test
 * compares lengths (off <= left - n), so a huge offset cannot wrap.
 */
static inline bool cs_rd_has_at(const struct cs_reader *r, size_t off, size_t n)
{
	return !r->err && n <= r->left && off <= r->left - n;
}

static inline uint8_t cs_rd_peek_u8(struct cs_reader *r, size_t off)
{
	if (!cs_rd_has_at(r, off, 1)) {
		cs_rd_fail(r);
		return 0;
	}
	return r->p[off];
}

static inline uint16_t cs_rd_peek_u16(struct cs_reader *r, size_t off)
{
	if (!cs_rd_has_at(r, off, 2)) {
		cs_rd_fail(r);
		return 0;
	}
	return (uint16_t)((uint16_t)r->p[off] << 8 | r->p[off + 1]);
}

static inline uint32_t cs_rd_peek_u32(struct cs_reader *r, size_t off)
{
	if (!cs_rd_has_at(r, off, 4)) {
		cs_rd_fail(r);
		return 0;
	}
	const uint8_t *q = r->p + off;
	return (uint32_t)q[0] << 24 | (uint32_t)q[1] << 16 |
	       (uint32_t)q[2] << 8 | (uint32_t)q[3];
}

/* Little-endian peeks: radiotap's fields, and NFLOG's TLV headers, which
 * are in the capturing host's order (decode.c's link layers say why). */
static inline uint16_t cs_rd_peek_u16le(struct cs_reader *r, size_t off)
{
	if (!cs_rd_has_at(r, off, 2)) {
		cs_rd_fail(r);
		return 0;
	}
	return (uint16_t)((uint16_t)r->p[off + 1] << 8 | r->p[off]);
}

static inline uint32_t cs_rd_peek_u32le(struct cs_reader *r, size_t off)
{
	if (!cs_rd_has_at(r, off, 4)) {
		cs_rd_fail(r);
		return 0;
	}
	const uint8_t *q = r->p + off;
	return (uint32_t)q[3] << 24 | (uint32_t)q[2] << 16 |
	       (uint32_t)q[1] << 8 | (uint32_t)q[0];
}

/* Copies n bytes out (addresses); on a short read the destination is zeroed. */
static inline void cs_rd_copy(struct cs_reader *r, void *dst, size_t n)
{
	uint8_t *d = dst;
	if (!cs_rd_has(r, n)) {
		cs_rd_fail(r);
		for (size_t i = 0; i < n; i++)
			d[i] = 0;
		return;
	}
	if (n)		/* memcpy: a capture file's record header is one a packet */
		memcpy(d, r->p, n);
	r->p += n;
	r->left -= n;
}

/*
 * Splits off the next n bytes as a reader of their own and advances past
 * them: how a header's declared length bounds what its contents may read.
 */
static inline struct cs_reader cs_rd_sub(struct cs_reader *r, size_t n)
{
	struct cs_reader sub = { r->p, 0, true };
	if (!cs_rd_has(r, n)) {
		cs_rd_fail(r);
		return sub;
	}
	sub.left = n;
	sub.err = false;
	r->p += n;
	r->left -= n;
	return sub;
}

#endif /* CS_CAPTURE_READER_H */
