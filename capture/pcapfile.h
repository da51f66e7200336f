/*
 * pcapfile.h — classic pcap and pcapng files walked in memory.
 *
 * A regular capture file is read in large pieces into a buffer and walked
 * here record by record with the bounds-checked cursor (reader.h): no
 * stdio, no system call per record.  A record the buffer's end cuts asks
 * for more (CS_PCAPFILE_MORE) unless the file ends there too.  libpcap's file readers (sf-pcap.c, sf-pcapng.c of
 * libpcap 1.10) were connscope's contract before this walker, and still
 * are: the same records, timestamps, lengths and snap-length cuts, and for
 * a damaged file the same point of failure and the same message, word for
 * word, so "damaged after N packets: ..." reads as it did.  What libpcap
 * gives a caller (the link type mapped to a DLT_ value) is taken from the
 * caller: this module knows no DLT_ values and includes no pcap.h, so it
 * is unit-tested and fuzzed on plain buffers.
 *
 * Classic pcap: µs and ns magic, either byte order, versions 2.0-2.4 (the
 * caplen/len swap before 2.3, libpcap's guess at 2.3) and DG/UX's 543.0.
 * pcapng: SHB, IDB (if_tsresol 10^-n and 2^-n, if_tsoffset), EPB, SPB and
 * the obsolete Packet Block, several sections, unknown blocks skipped.
 * Kuznetzov's patched pcap (magic 0xa1b2cd34) is refused: the caller
 * leaves such a file to libpcap.
 */
#ifndef CS_CAPTURE_PCAPFILE_H
#define CS_CAPTURE_PCAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/reader.h"

/* What libpcap decides outside the file format, given by the caller. */
struct cs_pcapfile_params {
	int dlt;		/* the first interface's link type, as libpcap maps it */
	uint32_t max_caplen;	/* libpcap's max_snaplen_for_dlt(dlt) */
	bool more;		/* the file may go on past the buffer given */
};

/* One interface of a pcapng section: how its timestamps read. */
struct cs_pcapfile_if {
	uint64_t tsresol;	/* ticks per second */
	int64_t tsoffset_sec;	/* if_tsoffset */
	bool binary;		/* tsresol is 2^n */
};

struct cs_pcapfile {
	struct cs_reader rest;	/* the buffer from the next record on */
	size_t size;		/* the buffer */
	uint64_t taken;		/* the file's bytes before the buffer */
	bool eof;		/* the buffer ends where the file does */
	bool big_endian;	/* the writer's byte order */
	bool pcapng;
	bool nsec;		/* classic pcap: nanosecond fractions */
	uint8_t lengths;	/* classic pcap: caplen/len order (pcapfile.c) */
	uint16_t version_major;
	int dlt;
	uint32_t snapshot;	/* libpcap's pcap_snapshot() */
	uint32_t max_caplen;
	uint32_t max_block;	/* pcapng: longest block read */
	uint32_t if_cnt;	/* pcapng: interfaces of this section */
	uint32_t if_cap;
	struct cs_pcapfile_if *ifs;
};

/* A record as libpcap hands it over: the seconds and the fraction in µs
 * as libpcap's struct timeval holds them (classic pcap's seconds are
 * unsigned 32-bit), and the bytes in the buffer. */
struct cs_pcapfile_rec {
	int64_t sec;
	int64_t usec;
	uint32_t caplen;
	uint32_t len;
	const uint8_t *bytes;
};

enum cs_pcapfile_step {
	CS_PCAPFILE_RECORD,
	CS_PCAPFILE_END,
	CS_PCAPFILE_DAMAGED,	/* err says why, as libpcap would */
	CS_PCAPFILE_MORE,	/* the buffer ends inside a record or block and
				 * the file may go on: refill, call again */
};

/* Reads the file header (pcapng: up to and with the first interface):
 * 0, or -1 with err.  buf must outlive pf, or its next refill.  With
 * prm->more the file may go on past buf: a header not whole in buf is
 * refused (the caller gives a larger buffer, or another reader). */
int cs_pcapfile_open(struct cs_pcapfile *pf, const uint8_t *buf, size_t len,
		     const struct cs_pcapfile_params *prm,
		     char *err, size_t errlen);
enum cs_pcapfile_step cs_pcapfile_next(struct cs_pcapfile *pf,
				       struct cs_pcapfile_rec *rec,
				       char *err, size_t errlen);
/*
 * After CS_PCAPFILE_MORE: buf now starts with the bytes the walker left
 * unread (pf->rest: the record or block it stopped at; the walker's
 * state, interfaces and byte order, is kept) and holds len bytes; eof
 * says the file has no more after them.  Records handed over before are
 * gone then (rec->bytes points into the buffer): a caller is done with a
 * record before it refills.
 */
void cs_pcapfile_refill(struct cs_pcapfile *pf, const uint8_t *buf, size_t len,
			bool eof);
/* The most bytes one record or block can take: a buffer this long holds
 * whatever CS_PCAPFILE_MORE waits for. */
size_t cs_pcapfile_longest(const struct cs_pcapfile *pf);
/* Bytes of the file walked so far. */
uint64_t cs_pcapfile_offset(const struct cs_pcapfile *pf);
void cs_pcapfile_fini(struct cs_pcapfile *pf);

#endif /* CS_CAPTURE_PCAPFILE_H */
