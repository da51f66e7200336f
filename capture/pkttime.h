/*
 * pkttime.h — packet time: which times a microsecond count holds, and
 * arithmetic on it that cannot wrap.
 *
 * Packet time is uint64_t microseconds since 1970-01-01 00:00:00 UTC
 * (packet.h), so it runs from 1970 to 2^64 - 1 µs, in the year 586,524.  A
 * record whose time falls outside that range, or whose fraction of a second
 * is not one (a million microseconds or more, or negative), has no packet
 * time: cs_time_from_unix says so, the source marks the frame, and the
 * engine analyses it at the time it has reached and counts it.
 *
 * The last microsecond, UINT64_MAX, is kept back as CS_TIME_NEVER: a timer
 * that would fire after CS_TIME_MAX_US (the latest packet time) is set to
 * it by cs_time_add, and since no packet is ever that late, a test
 * `due <= now` is exact for every timer without anyone checking for
 * overflow.  A timer that wrapped instead would fire at once, and a
 * connection near the end of time would be expired by its next packet.
 *
 * Pure functions on integers: no pcap.h, no state.  Lowest layer (capture/):
 * anything may include it.
 */
#ifndef CS_CAPTURE_PKTTIME_H
#define CS_CAPTURE_PKTTIME_H

#include <stdbool.h>
#include <stdint.h>

/* CS_USEC_PER_SEC, the one definition of the second */
#include "capture/packet.h"

/* The latest packet time, 586524-01-19 08:01:49.551614 UTC. */
#define CS_TIME_MAX_US (UINT64_MAX - 1)
/* A time no packet reaches: when a timer past CS_TIME_MAX_US is due. */
#define CS_TIME_NEVER UINT64_MAX

/* t_us + d_us, or CS_TIME_NEVER when that is past CS_TIME_MAX_US (also
 * when t_us is CS_TIME_NEVER: never, however long after). */
static inline uint64_t cs_time_add(uint64_t t_us, uint64_t d_us)
{
	return d_us >= CS_TIME_NEVER - t_us ? CS_TIME_NEVER : t_us + d_us;
}

/* The first microsecond after second sec (where a count per second of
 * packet time ends): CS_TIME_NEVER for the last second, which ends after
 * CS_TIME_MAX_US. */
static inline uint64_t cs_time_sec_end(uint64_t sec)
{
	return sec >= CS_TIME_NEVER / CS_USEC_PER_SEC ? CS_TIME_NEVER
		: (sec + 1) * CS_USEC_PER_SEC;
}

/*
 * A record's time as a capture library gives it (a struct timeval: seconds
 * since the epoch and microseconds) in packet time, into *out_us; false,
 * with *out_us 0, when it is none: before 1970, after CS_TIME_MAX_US, or
 * with a fraction outside 0..999999.
 */
bool cs_time_from_unix(int64_t sec, int64_t usec, uint64_t *out_us);

#endif /* CS_CAPTURE_PKTTIME_H */
