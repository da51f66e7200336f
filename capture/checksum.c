/*
 * checksum.c — RFC 1071 sums, eight bytes at a time.
 *
 * The one's-complement sum does not depend on byte order (RFC 1071 2(B)):
 * words are loaded in the host's order with memcpy (no alignment assumed,
 * no cast of packet memory), summed, folded, and the 16-bit result is
 * swapped once at the end on a little-endian host.  Each 64-bit load is
 * added as two 32-bit halves into a 64-bit accumulator, so no carry can be
 * lost before 2^32 loads -- far beyond any IP datagram.
 */
#include "capture/checksum.h"

#include <string.h>

const char *const cs_csum_names[CS_CSUM_MAX] = {
	[CS_CSUM_OK] = "ok",
	[CS_CSUM_BAD] = "bad",
	[CS_CSUM_UNKNOWN] = "unknown",
};

enum { PROTO_TCP = 6 };

static bool host_is_little_endian(void)
{
	const uint16_t one = 1;
	uint8_t first;

	memcpy(&first, &one, 1);
	return first == 1;
}

static uint64_t add_halves(uint64_t acc, uint64_t w)
{
	return acc + (w & 0xffffffffu) + (w >> 32);
}

uint16_t cs_inet_sum(const void *data, size_t len, uint16_t acc_in)
{
	const uint8_t *p = data;
	uint64_t acc = 0;
	uint64_t w0, w1, w2, w3;

	while (len >= 32) {
		memcpy(&w0, p, 8);
		memcpy(&w1, p + 8, 8);
		memcpy(&w2, p + 16, 8);
		memcpy(&w3, p + 24, 8);
		acc = add_halves(acc, w0);
		acc = add_halves(acc, w1);
		acc = add_halves(acc, w2);
		acc = add_halves(acc, w3);
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		memcpy(&w0, p, 8);
		acc = add_halves(acc, w0);
		p += 8;
		len -= 8;
	}
	/* The tail, at even offsets still: four bytes, two, then an odd
	 * last byte as the first of a word padded with zero.  (Copied into
	 * a zeroed word of 8 instead, a 20-byte IPv4 header's last 4 took a
	 * call to memcpy: 90 instructions a header, 62 now.) */
	if (len >= 4) {
		uint32_t w;
		memcpy(&w, p, 4);
		acc += w;
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		uint16_t w;
		memcpy(&w, p, 2);
		acc += w;
		p += 2;
		len -= 2;
	}
	if (len > 0) {
		const uint8_t last[2] = { p[0], 0 };
		uint16_t w;
		memcpy(&w, last, 2);
		acc += w;
	}

	/* 64 -> 16 bits with end-around carries. */
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffu) + (acc >> 16);
	acc = (acc & 0xffffu) + (acc >> 16);
	uint16_t sum = (uint16_t)acc;
	if (host_is_little_endian())
		sum = (uint16_t)(sum << 8 | sum >> 8);

	uint32_t total = (uint32_t)sum + acc_in;
	total = (total & 0xffffu) + (total >> 16);
	return (uint16_t)total;
}

enum cs_csum cs_tcp_checksum(const struct cs_pkt *pkt)
{
	/* Lengths from the frame (TSO/GSO), part of a fragmented datagram, or
	 * an IPv6 destination that is not the final one (the pseudo-header
	 * takes the last address of the routing header, which the view does
	 * not keep): the sum would be computed over the wrong thing. */
	const uint16_t unknowable = CS_PKTF_LEN_FROM_WIRE | CS_PKTF_FRAGMENT |
				    CS_PKTF_IPV6_ROUTED;
	uint8_t pseudo[40];
	size_t pseudo_len;

	if (pkt->kind != CS_PKT_TCP || pkt->tcp == NULL || (pkt->info & unknowable))
		return CS_CSUM_UNKNOWN;
	uint64_t seg = (uint64_t)pkt->tcp_hlen + pkt->payload_len;
	if (pkt->tcp_hlen < 20 || pkt->tcp_caplen < seg)
		return CS_CSUM_UNKNOWN;

	if (pkt->ip_ver == 4) {
		if (seg > 0xffff)
			return CS_CSUM_UNKNOWN;
		memcpy(pseudo, pkt->src.b + 12, 4);
		memcpy(pseudo + 4, pkt->dst.b + 12, 4);
		pseudo[8] = 0;
		pseudo[9] = PROTO_TCP;
		pseudo[10] = (uint8_t)(seg >> 8);
		pseudo[11] = (uint8_t)seg;
		pseudo_len = 12;
	} else if (pkt->ip_ver == 6) {
		if (seg > 0xffffffffu)
			return CS_CSUM_UNKNOWN;
		memcpy(pseudo, pkt->src.b, 16);
		memcpy(pseudo + 16, pkt->dst.b, 16);
		pseudo[32] = (uint8_t)(seg >> 24);
		pseudo[33] = (uint8_t)(seg >> 16);
		pseudo[34] = (uint8_t)(seg >> 8);
		pseudo[35] = (uint8_t)seg;
		pseudo[36] = pseudo[37] = pseudo[38] = 0;
		pseudo[39] = PROTO_TCP;
		pseudo_len = 40;
	} else {
		return CS_CSUM_UNKNOWN;
	}

	/* The pseudo-header is of even length, so the segment's words line
	 * up with the ones the sender summed. */
	uint16_t sum = cs_inet_sum(pseudo, pseudo_len, 0);
	sum = cs_inet_sum(pkt->tcp, (size_t)seg, sum);
	/* A correct segment sums to 0xffff (-0); the pseudo-header's non-zero
	 * protocol rules out +0. */
	return sum == 0xffff ? CS_CSUM_OK : CS_CSUM_BAD;
}
