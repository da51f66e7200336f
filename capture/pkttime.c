/*
 * pkttime.c — a record's time in packet time, or none.
 */
#include "capture/pkttime.h"

bool cs_time_from_unix(int64_t sec, int64_t usec, uint64_t *out_us)
{
	*out_us = 0;
	if (sec < 0 || usec < 0 || (uint64_t)usec >= CS_USEC_PER_SEC)
		return false;
	/* sec * 10^6 + usec <= CS_TIME_MAX_US, without computing the product */
	uint64_t whole = (uint64_t)sec;
	if (whole > (CS_TIME_MAX_US - (uint64_t)usec) / CS_USEC_PER_SEC)
		return false;
	*out_us = whole * CS_USEC_PER_SEC + (uint64_t)usec;
	return true;
}
