/*
 * checksum.h — the Internet checksum (RFC 1071) of a decoded TCP segment.
 *
 * Owns the one's-complement sum and the TCP pseudo-header (RFC 9293 3.1
 * for IPv4, RFC 8200 8.1 for IPv6; for a tunnelled packet, the inner
 * addresses).  It reads only the bytes the decoder recorded in the view
 * (pkt->tcp, pkt->tcp_caplen), so it must be called while the frame is
 * alive, i.e. in the packet callback.  It never allocates, never prints,
 * and answers UNKNOWN rather than guess when the segment is not all there.
 */
#ifndef CS_CAPTURE_CHECKSUM_H
#define CS_CAPTURE_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#include "capture/packet.h"

enum cs_csum {
	CS_CSUM_OK,
	CS_CSUM_BAD,
	CS_CSUM_UNKNOWN,	/* segment not captured whole, its length taken
				 * from the frame, a fragment, or a routed IPv6
				 * packet whose final destination is not known */
	CS_CSUM_MAX
};

extern const char *const cs_csum_names[CS_CSUM_MAX];

/* Verifies the checksum of the TCP segment pkt describes (kind TCP only;
 * an ICMP error's quote is never whole: UNKNOWN). */
enum cs_csum cs_tcp_checksum(const struct cs_pkt *pkt);

/*
 * The one's-complement sum of len bytes, folded to 16 bits, as the
 * big-endian words of RFC 1071 would give it, with acc (a previous
 * result, or 0) added in.  Not complemented: a block that holds its own
 * correct checksum sums to 0xffff.
 */
uint16_t cs_inet_sum(const void *data, size_t len, uint16_t acc);

#endif /* CS_CAPTURE_CHECKSUM_H */
