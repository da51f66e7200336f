/*
 * frames.h — the frame target's input format, shared with mkseed.c.
 *
 *   byte 0      bits 0-3: link type, an index into fuzz_dlts[] (modulo its
 *               size); bit 4: --verify-checksums; bit 5: --vlan-key;
 *               bit 6: keep the web view (series, timelines, snapshot)
 *   then frames, each:
 *     1 byte    time step before it: v < 128 is v * 100 ms, otherwise
 *               (v - 128) * 5 s, so one byte reaches every timer (SYN
 *               timeout, reset linger, 2*MSL, idle)
 *     2 bytes   big-endian: bits 0-13 caplen; bit 15: the frame was cut,
 *               its wire length is caplen + FUZZ_CUT_BYTES
 *     caplen    bytes of the frame (fewer if the input ends first)
 */
#ifndef CS_TESTS_FUZZ_FRAMES_H
#define CS_TESTS_FUZZ_FRAMES_H

#include "capture/decode.h"

/* Sixteen, what the four bits reach.  New link types go at the end, so
 * that saved inputs keep their meaning; C_HDLC is left out: its frames are
 * PPP_SERIAL's Cisco HDLC ones, decoded by the same code. */
static const int fuzz_dlts[] = {
	CS_DLT_EN10MB, CS_DLT_LINUX_SLL, CS_DLT_LINUX_SLL2, CS_DLT_NULL,
	CS_DLT_LOOP, CS_DLT_RAW, CS_DLT_RAW_OPENBSD, CS_DLT_LINKTYPE_RAW,
	CS_DLT_IPV4, CS_DLT_IPV6, CS_DLT_PPP, CS_DLT_PPP_SERIAL, CS_DLT_FDDI,
	CS_DLT_IEEE802_11, CS_DLT_IEEE802_11_RADIO, CS_DLT_NFLOG,
};
#define FUZZ_DLT_CNT (sizeof fuzz_dlts / sizeof fuzz_dlts[0])

#define FUZZ_F_CHECKSUMS 0x10
#define FUZZ_F_VLAN_KEY 0x20
#define FUZZ_F_RECENT 0x40

#define FUZZ_CAPLEN_MASK 0x3fff
#define FUZZ_CUT 0x8000
#define FUZZ_CUT_BYTES 100

#define FUZZ_STEP_FINE_US 100000ull	/* steps 0..127 */
#define FUZZ_STEP_COARSE_US 5000000ull	/* steps 128..255 */

static inline uint64_t fuzz_step_us(uint8_t v)
{
	return v < 128 ? v * FUZZ_STEP_FINE_US : (v - 128u) * FUZZ_STEP_COARSE_US;
}

#endif /* CS_TESTS_FUZZ_FRAMES_H */
