/*
 * defrag.h — outer IP datagrams put back together from their fragments.
 *
 * A router that splits a tunnel packet (or a plain TCP segment) in two
 * leaves the inner headers in the first fragment and the rest in later
 * ones; read one at a time, the connection inside loses its data.  This
 * module holds the fragments of the frame's outermost IP datagram (IPv4,
 * or IPv6 with a Fragment header) and, when the last piece arrives, hands
 * back the whole frame (the first fragment's link header, its IP header
 * with the fragment fields cleared -- IPv6: the Fragment header left out
 * -- then the payload), which the decoder then reads as any frame.
 *
 * Bounds: CS_DEFRAG_SLOTS datagrams at once, each at most 65,535 bytes
 * of payload (IPv6 jumbograms are not fragmented), in buffers allocated once at init (about
 * 2 MiB); a datagram not complete CS_DEFRAG_TIMEOUT_US of packet time
 * after its first fragment, or the oldest when a new one finds no free
 * slot, is given up.  A fragment overlapping bytes already held is
 * dropped; when its bytes differ, the whole datagram is given up (RFC
 * 5722's rule, what Linux does for both families).  Nothing is allocated
 * per packet, nothing printed: results and counts only.
 *
 * One thread at a time uses a defragmenter: the one that decodes.
 */
#ifndef CS_CAPTURE_DEFRAG_H
#define CS_CAPTURE_DEFRAG_H

#include <stddef.h>
#include <stdint.h>

#include "capture/packet.h"

#define CS_DEFRAG_SLOTS 32
#define CS_DEFRAG_TIMEOUT_US (30 * CS_USEC_PER_SEC)	/* Linux ipfrag_time */
#define CS_DEFRAG_LINK_MAX 512	/* link header bytes kept before the IP header */

struct cs_defrag;

enum cs_defrag_result {
	CS_DEFRAG_NOT_FRAGMENT,	/* the outer datagram is whole: decode the frame */
	CS_DEFRAG_HELD,		/* kept until its datagram is complete */
	CS_DEFRAG_COMPLETE,	/* it completed a datagram: decode *whole */
	CS_DEFRAG_OVERLAP,	/* overlaps bytes already held: dropped */
	CS_DEFRAG_UNUSABLE,	/* a fragment that cannot be held (cut by the snap
				 * length, past 65,535 bytes, a middle piece not a
				 * multiple of 8, IPv6 headers before Fragment
				 * over 256 bytes): decoded alone, as before */
};

struct cs_defrag *cs_defrag_create(void);
void cs_defrag_destroy(struct cs_defrag *d);

/*
 * f's frame, whose outermost IP header begins at ip (in f->bytes).  For
 * COMPLETE, *whole is the reassembled frame (f's time, the first
 * fragment's link type), valid until the next call.  *given_up counts
 * the datagrams this call gave up (timed out, evicted, inconsistent).
 */
enum cs_defrag_result cs_defrag_frame(struct cs_defrag *d, const struct cs_frame *f,
				      const uint8_t *ip, uint64_t now_us,
				      struct cs_frame *whole, uint32_t *given_up);

/* Gives up every datagram still held (the end of the capture). */
uint32_t cs_defrag_flush(struct cs_defrag *d);

#endif /* CS_CAPTURE_DEFRAG_H */
