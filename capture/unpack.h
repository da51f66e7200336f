/*
 * unpack.h — compressed capture files (gzip, zstd, xz), read as streams.
 *
 * Owns the decompressors (zlib, libzstd, liblzma) and nothing else: it
 * knows no capture format.  A compressed input is told by its first bytes,
 * never by its name, and is read through a stdio cookie, so libpcap reads
 * the capture inside as it reads any file (pcap_fopen_offline), pcap or
 * pcapng alike.  Memory is fixed per input: an input buffer, the
 * decompressor's window (at most CS_UNPACK_WINDOW_MAX_MIB), and what
 * stdio asks for; a file that expands a million times (a "bomb") is only
 * a long read.  A damaged or truncated compressed file fails a read
 * (errno EIO) and its reason is kept for the message.
 */
#ifndef CS_CAPTURE_UNPACK_H
#define CS_CAPTURE_UNPACK_H

#include <stddef.h>
#include <stdio.h>

enum cs_unpack_kind {
	CS_UNPACK_NONE,		/* not compressed (or not in a format known here) */
	CS_UNPACK_GZIP,
	CS_UNPACK_ZSTD,
	CS_UNPACK_XZ,
	CS_UNPACK_KIND_MAX
};

extern const char *const cs_unpack_kind_names[CS_UNPACK_KIND_MAX];

/* Bytes of an input's start that cs_unpack_detect wants to see. */
#define CS_UNPACK_MAGIC_LEN 6

/* The largest window a zstd or xz stream may ask for.  zstd's own
 * default limit; xz -9 needs 64 MiB.  A stream asking for more is refused
 * (its message says so) rather than allowed to take the machine's memory. */
#define CS_UNPACK_WINDOW_MAX_MIB 128

/* Which compression the first len bytes of an input announce. */
enum cs_unpack_kind cs_unpack_detect(const unsigned char *head, size_t len);

struct cs_unpack;

/*
 * A stream of raw's decompressed bytes.  The stream owns raw (closing it
 * closes raw) and *state, which lives until then.  NULL with errno set if
 * it cannot be made (raw is then still the caller's).
 */
FILE *cs_unpack_open(FILE *raw, enum cs_unpack_kind kind, struct cs_unpack **state);

/* Why a read failed: "gzip data damaged: invalid block type", "the xz
 * file ends early (truncated)"; NULL when the decompressor did not fail
 * (the read of raw failed, or a stop ended it). */
const char *cs_unpack_error(const struct cs_unpack *u);

/* The first decompressed bytes (up to len), for a header libpcap
 * refuses; returns how many. */
size_t cs_unpack_head(const struct cs_unpack *u, unsigned char *buf, size_t len);

#endif /* CS_CAPTURE_UNPACK_H */
