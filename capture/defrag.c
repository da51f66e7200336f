/*
 * defrag.c — outer IPv4 and IPv6 fragment reassembly, bounded (see defrag.h).
 */
#include "capture/defrag.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "capture/checksum.h"
#include "capture/reader.h"

enum {
	IP_MAX = 65535,			/* an IPv4 datagram's largest total length */
	IP_HDR_MAX = 256,		/* IPv4 header, or IPv6's unfragmentable part */
	EXT_MAX = 8,			/* IPv6 extension headers walked to the
					 * Fragment header */
	UNITS = 8192,			/* 8-byte units of fragment offset (13 bits) */
	/* The link header and the first fragment's IP header end here, so
	 * that the payload follows them in one frame. */
	HEAD = CS_DEFRAG_LINK_MAX + IP_HDR_MAX,
};

/* One datagram being put together. */
struct slot {
	bool used, have_first, have_last;
	uint8_t ver, proto;		/* proto: IPv4's (IPv6 keys without it) */
	uint8_t next;			/* IPv6: the Fragment header's next header */
	uint32_t id;
	uint8_t src[16], dst[16];
	int dlt;
	uint64_t first_us;		/* packet time of its first fragment seen */
	uint32_t end;			/* payload bytes: known from the last piece */
	uint32_t prefix_len;		/* link header + the first fragment's IP header */
	uint32_t ip_hlen;		/* IPv4 header, or IPv6 fixed header and the
					 * extension headers before Fragment */
	uint32_t prev_nh;		/* IPv6: offset of the next-header byte that
					 * named the Fragment header */
	uint8_t seen[UNITS / 8];	/* which 8-byte units of payload are held */
	uint8_t buf[HEAD + IP_MAX];
};

struct cs_defrag {
	uint64_t now_us;		/* the latest packet time seen */
	struct slot slot[CS_DEFRAG_SLOTS];
};

/* The fragment fields of an IPv4 header. */
struct frag {
	uint8_t ver;
	uint8_t src[16], dst[16];
	uint32_t id, total;
	uint8_t proto, next;
	uint32_t prev_nh, data_at;	/* IPv6: as in struct slot; where data begins */
	bool more;
	uint32_t hlen, off;		/* bytes */
	uint32_t len;			/* payload bytes in this fragment */
};

struct cs_defrag *cs_defrag_create(void)
{
	return calloc(1, sizeof(struct cs_defrag));
}

void cs_defrag_destroy(struct cs_defrag *d)
{
	free(d);
}

/* The fragment fields of the IPv4 header in r; false when it is no IPv4
 * fragment (the decoder has judged the header itself already). */
static bool read_fragment(struct cs_reader r, struct frag *fr)
{
	uint8_t ver_ihl = cs_rd_u8(&r);
	cs_rd_skip(&r, 1);
	fr->total = cs_rd_u16(&r);
	fr->id = cs_rd_u16(&r);
	uint16_t frag = cs_rd_u16(&r);
	cs_rd_skip(&r, 1);			/* TTL */
	fr->proto = cs_rd_u8(&r);
	cs_rd_skip(&r, 2);			/* checksum */
	cs_rd_copy(&r, fr->src, 4);
	cs_rd_copy(&r, fr->dst, 4);
	if (r.err || ver_ihl >> 4 != 4 || (frag & 0x3fff) == 0)
		return false;
	fr->hlen = (uint32_t)(ver_ihl & 0x0f) * 4;
	fr->off = (uint32_t)(frag & 0x1fff) * 8;
	fr->more = frag & 0x2000;
	if (fr->hlen < 20 || fr->total < fr->hlen)
		return false;
	fr->len = fr->total - fr->hlen;
	fr->ver = 4;
	fr->data_at = fr->hlen;
	return true;
}

static bool unfragmentable(uint8_t nh)
{
	return nh == 0 || nh == 43 || nh == 60;	/* hop-by-hop, routing, dest. opts */
}

/*
 * The Fragment header of the IPv6 packet in r (RFC 8200 4.5): behind the
 * fixed header and the extension headers that stay in every fragment.
 * False when there is none, or for an atomic fragment (offset 0, no M:
 * RFC 6946, a whole packet).
 */
static bool read_fragment6(struct cs_reader r, struct frag *fr)
{
	struct cs_reader h = r;
	uint8_t vtf = cs_rd_u8(&h);
	cs_rd_skip(&h, 3);
	uint16_t plen = cs_rd_u16(&h);
	uint8_t nh = cs_rd_u8(&h);
	cs_rd_skip(&h, 1);
	cs_rd_copy(&h, fr->src, 16);
	cs_rd_copy(&h, fr->dst, 16);
	if (h.err || vtf >> 4 != 6)
		return false;
	uint32_t at = 40, prev = 6;
	for (int i = 0; unfragmentable(nh) && i < EXT_MAX; i++) {
		if (!cs_rd_has(&r, at + 2))
			return false;
		prev = at;
		uint32_t len = ((uint32_t)cs_rd_peek_u8(&r, at + 1) + 1) * 8;
		nh = cs_rd_peek_u8(&r, at);
		at += len;
	}
	if (nh != 44 || !cs_rd_has(&r, at + 8))
		return false;
	uint16_t off_m = cs_rd_peek_u16(&r, at + 2);
	if (off_m >> 3 == 0 && !(off_m & 1))
		return false;
	fr->ver = 6;
	fr->next = cs_rd_peek_u8(&r, at);
	fr->id = cs_rd_peek_u32(&r, at + 4);
	fr->proto = 0;
	fr->off = (uint32_t)(off_m >> 3) * 8;
	fr->more = off_m & 1;
	fr->hlen = at;
	fr->prev_nh = prev;
	fr->data_at = at + 8;
	fr->total = 40u + plen;
	if (fr->total < fr->data_at)
		return false;
	fr->len = fr->total - fr->data_at;
	return true;
}

static bool same_datagram(const struct slot *s, const struct frag *fr, int dlt)
{
	return s->used && s->ver == fr->ver && s->id == fr->id &&
	       s->proto == fr->proto && s->dlt == dlt &&
	       memcmp(s->src, fr->src, 16) == 0 && memcmp(s->dst, fr->dst, 16) == 0;
}

/* Gives up the datagrams whose time is over; returns how many. */
static uint32_t expire(struct cs_defrag *d, uint64_t now_us)
{
	uint32_t n = 0;

	for (int i = 0; i < CS_DEFRAG_SLOTS; i++) {
		struct slot *s = &d->slot[i];
		if (s->used && now_us >= s->first_us &&
		    now_us - s->first_us >= CS_DEFRAG_TIMEOUT_US) {
			s->used = false;
			n++;
		}
	}
	return n;
}

/* The datagram's slot: found, free, or the oldest given up for it. */
static struct slot *slot_for(struct cs_defrag *d, const struct frag *fr, int dlt,
			     uint64_t now_us, uint32_t *given_up)
{
	struct slot *oldest = NULL, *free_slot = NULL;

	for (int i = 0; i < CS_DEFRAG_SLOTS; i++) {
		struct slot *s = &d->slot[i];
		if (same_datagram(s, fr, dlt))
			return s;
		if (!s->used && !free_slot)
			free_slot = s;
		if (s->used && (!oldest || s->first_us < oldest->first_us))
			oldest = s;
	}
	struct slot *s = free_slot;
	if (!s) {
		s = oldest;
		(*given_up)++;
	}
	memset(s, 0, offsetof(struct slot, buf));
	s->used = true;
	s->ver = fr->ver;
	s->id = fr->id;
	s->proto = fr->proto;
	s->dlt = dlt;
	memcpy(s->src, fr->src, 16);
	memcpy(s->dst, fr->dst, 16);
	s->first_us = now_us;
	return s;
}

static bool unit_seen(const struct slot *s, uint32_t u)
{
	return s->seen[u / 8] & (1u << (u % 8));
}

/* Whether [lo, hi) holds a unit already seen: an overlap. */
static bool overlaps(const struct slot *s, uint32_t lo, uint32_t hi)
{
	for (uint32_t u = lo / 8; u < (hi + 7) / 8; u++)
		if (unit_seen(s, u))
			return true;
	return false;
}

static bool complete(const struct slot *s)
{
	if (!s->have_first || !s->have_last)
		return false;
	for (uint32_t u = 0; u < (s->end + 7) / 8; u++)
		if (!unit_seen(s, u))
			return false;
	return true;
}

/* The first fragment's IP header made the whole datagram's: its length,
 * no fragment fields (IPv4: and its checksum again; IPv6: the Fragment
 * header left out, its next header named where it was). */
static void rewrite_header(struct slot *s, uint8_t *ip)
{
	if (s->ver == 6) {
		uint32_t plen = s->ip_hlen - 40 + s->end;
		ip[4] = (uint8_t)(plen >> 8);
		ip[5] = (uint8_t)plen;
		ip[s->prev_nh] = s->next;
		return;
	}
	uint32_t total = s->ip_hlen + s->end;
	ip[2] = (uint8_t)(total >> 8);
	ip[3] = (uint8_t)total;
	ip[6] &= 0x40;			/* DF stays; MF and the offset go */
	ip[7] = 0;
	ip[10] = ip[11] = 0;
	uint16_t sum = (uint16_t)~cs_inet_sum(ip, s->ip_hlen, 0);
	ip[10] = (uint8_t)(sum >> 8);
	ip[11] = (uint8_t)sum;
}

/* The whole frame: link header, the first IP header rewritten, the
 * payload. */
static void compose(struct slot *s, const struct cs_frame *f, struct cs_frame *whole)
{
	rewrite_header(s, s->buf + HEAD - s->ip_hlen);
	*whole = *f;
	whole->bytes = s->buf + HEAD - s->prefix_len;
	whole->caplen = whole->wirelen = s->prefix_len + s->end;
	whole->dlt = s->dlt;
	s->used = false;
}

/* Takes fr's bytes (at pay) into s; false on an overlap. */
static enum cs_defrag_result take(struct slot *s, const struct frag *fr,
				  const uint8_t *pay, const struct cs_frame *f,
				  size_t link_len, uint32_t *given_up)
{
	uint32_t lo = fr->off, hi = fr->off + fr->len;

	if (overlaps(s, lo, hi)) {
		/* the same bytes again (a duplicate) keep the datagram */
		if (memcmp(s->buf + HEAD + lo, pay, fr->len) != 0) {
			s->used = false;
			(*given_up)++;
		}
		return CS_DEFRAG_OVERLAP;
	}
	memcpy(s->buf + HEAD + lo, pay, fr->len);
	for (uint32_t u = lo / 8; u < (hi + 7) / 8; u++)
		s->seen[u / 8] |= (uint8_t)(1u << (u % 8));
	if (lo == 0) {
		s->have_first = true;
		s->ip_hlen = fr->hlen;
		s->prev_nh = fr->prev_nh;
		s->next = fr->next;
		s->prefix_len = (uint32_t)link_len + fr->hlen;
		memcpy(s->buf + HEAD - s->prefix_len, f->bytes, s->prefix_len);
	}
	if (!fr->more) {
		s->have_last = true;
		s->end = hi;
	}
	return CS_DEFRAG_HELD;
}

/*
 * Whether the header in r is plainly not a fragment: an IPv4 header with
 * neither an offset nor More Fragments, or an IPv6 one whose next header
 * is neither a fragment header nor one that may stand before it.  Nearly
 * every packet is; for them read_fragment and read_fragment6 would say
 * the same after reading the whole header (the caller skips them).
 */
static bool plainly_whole(struct cs_reader r)
{
	unsigned ver = cs_rd_peek_u8(&r, 0) >> 4;

	if (ver == 4 && cs_rd_has(&r, 20))
		return (cs_rd_peek_u16(&r, 6) & 0x3fff) == 0;
	if (ver == 6 && cs_rd_has(&r, 40)) {
		uint8_t nh = cs_rd_peek_u8(&r, 6);
		return !unfragmentable(nh) && nh != 44;
	}
	return false;
}

enum cs_defrag_result cs_defrag_frame(struct cs_defrag *d, const struct cs_frame *f,
				      const uint8_t *ip, uint64_t now_us,
				      struct cs_frame *whole, uint32_t *given_up)
{
	struct frag fr;

	*given_up = 0;
	size_t link_len = (size_t)(ip - f->bytes);
	if (link_len > f->caplen)
		return CS_DEFRAG_NOT_FRAGMENT;
	size_t avail = f->caplen - link_len;
	struct cs_reader rd = cs_rd_make(ip, avail);
	if (plainly_whole(rd))
		return CS_DEFRAG_NOT_FRAGMENT;
	memset(&fr, 0, sizeof fr);
	if (!read_fragment(rd, &fr) && !read_fragment6(rd, &fr))
		return CS_DEFRAG_NOT_FRAGMENT;
	/* Only bytes that were captured can be put together; a middle piece
	 * is a whole number of 8-byte units (RFC 791). */
	if (avail < fr.total || link_len > CS_DEFRAG_LINK_MAX || fr.hlen > IP_HDR_MAX ||
	    fr.off + fr.len + fr.hlen > IP_MAX || (fr.more && fr.len % 8) ||
	    fr.len == 0)
		return CS_DEFRAG_UNUSABLE;
	if (now_us > d->now_us)
		d->now_us = now_us;
	*given_up += expire(d, d->now_us);
	struct slot *s = slot_for(d, &fr, f->dlt, d->now_us, given_up);
	enum cs_defrag_result r = take(s, &fr, ip + fr.data_at, f, link_len, given_up);
	if (r == CS_DEFRAG_HELD && complete(s)) {
		if (s->end + s->ip_hlen - (s->ver == 6 ? 40 : 0) > IP_MAX) {
			s->used = false;
			(*given_up)++;
			return CS_DEFRAG_HELD;
		}
		compose(s, f, whole);
		return CS_DEFRAG_COMPLETE;
	}
	return r;
}

uint32_t cs_defrag_flush(struct cs_defrag *d)
{
	uint32_t n = 0;

	for (int i = 0; i < CS_DEFRAG_SLOTS; i++) {
		if (d->slot[i].used) {
			d->slot[i].used = false;
			n++;
		}
	}
	return n;
}
