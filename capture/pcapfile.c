/*
 * pcapfile.c — classic pcap and pcapng walked in memory, as libpcap reads them.
 *
 * Every check, and its order, follows libpcap 1.10's sf-pcap.c and
 * sf-pcapng.c, because the records and the messages for a damaged file
 * are connscope's contract; the comments say where libpcap's choice is
 * odd but kept.  Lengths are compared with the bytes left, never by
 * pointer arithmetic.
 */
#include "capture/pcapfile.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	PCAP_MAGIC_US = 0xa1b2c3d4,
	PCAP_MAGIC_NS = 0xa1b23c4d,
	PCAP_MAGIC_KUZNETZOV = 0xa1b2cd34,
	PCAP_FILE_HDR = 24,
	PCAP_REC_HDR = 16,

	NG_SHB = 0x0a0d0d0a,
	NG_IDB = 1,
	NG_PB = 2,		/* the obsolete Packet Block */
	NG_SPB = 3,
	NG_EPB = 6,
	NG_BOM = 0x1a2b3c4d,
	NG_SHB_MAX = 1024 * 1024,	/* libpcap's BT_SHB_INSANE_MAX */
	NG_MAX_BLOCK = 16 * 1024 * 1024,	/* libpcap's INITIAL_MAX_BLOCKSIZE */
	NG_OPT_END = 0,
	NG_IF_TSRESOL = 9,
	NG_IF_TSOFFSET = 14,
	USEC_PER_SEC = 1000000,
};

#define HOST_BIG_ENDIAN (__BYTE_ORDER__ == __ORDER_BIG_ENDIAN__)

/* How a classic pcap file orders caplen and len (libpcap: they were
 * swapped at version 2.3, and some 2.3 files were written the old way). */
enum lengths {
	LENGTHS_AS_IS,
	LENGTHS_SWAPPED,
	LENGTHS_MAYBE_SWAPPED,	/* 2.3: swapped when caplen > len */
};

/* ---- reads in the writer's byte order ----------------------------------- */

static uint16_t rd16(struct cs_reader *r, bool big)
{
	uint16_t v = big ? cs_rd_peek_u16(r, 0) : cs_rd_peek_u16le(r, 0);
	cs_rd_skip(r, 2);
	return v;
}

static uint32_t rd32(struct cs_reader *r, bool big)
{
	return big ? cs_rd_u32(r) : cs_rd_u32le(r);
}

static uint64_t rd64(struct cs_reader *r, bool big)
{
	uint64_t a = rd32(r, big), b = rd32(r, big);
	return big ? a << 32 | b : b << 32 | a;
}

/* libpcap 1.10's pcap_adjust_snapshot: only 0 and what an int cannot
 * hold are replaced by the link type's limit; a snap length between the
 * two stands, and records longer than the limit are refused instead. */
static uint32_t adjust_snapshot(uint32_t snaplen, uint32_t max)
{
	return snaplen == 0 || snaplen > INT32_MAX ? max : snaplen;
}

/* ---- classic pcap ----------------------------------------------------------- */

static enum lengths lengths_for(uint16_t major, uint16_t minor)
{
	if (major == 543 || (major == 2 && minor < 3))
		return LENGTHS_SWAPPED;
	return major == 2 && minor == 3 ? LENGTHS_MAYBE_SWAPPED : LENGTHS_AS_IS;
}

static int open_pcap(struct cs_pcapfile *pf, struct cs_reader *r,
		     const struct cs_pcapfile_params *prm, char *err, size_t errlen)
{
	uint32_t magic = cs_rd_u32le(r);

	pf->big_endian = magic != PCAP_MAGIC_US && magic != PCAP_MAGIC_NS;
	if (pf->big_endian)
		magic = __builtin_bswap32(magic);
	pf->nsec = magic == PCAP_MAGIC_NS;
	if (r->left < PCAP_FILE_HDR - 4) {
		snprintf(err, errlen, "truncated dump file; tried to read %d file "
			 "header bytes, only got %zu", PCAP_FILE_HDR, r->left);
		return -1;
	}
	uint16_t major = rd16(r, pf->big_endian), minor = rd16(r, pf->big_endian);
	cs_rd_skip(r, 8);	/* thiszone, sigfigs */
	uint32_t snaplen = rd32(r, pf->big_endian);
	cs_rd_skip(r, 4);	/* the link type: libpcap maps it (prm->dlt) */
	if (major < 2) {
		snprintf(err, errlen, "archaic pcap savefile format");
		return -1;
	}
	if (!((major == 2 && minor <= 4) || (major == 543 && minor == 0))) {
		snprintf(err, errlen, "unsupported pcap savefile version %u.%u",
			 major, minor);
		return -1;
	}
	pf->version_major = major;
	pf->lengths = (uint8_t)lengths_for(major, minor);
	pf->snapshot = adjust_snapshot(snaplen, prm->max_caplen);
	return 0;
}

static void swap_lengths(const struct cs_pcapfile *pf, struct cs_pcapfile_rec *rec)
{
	if (pf->lengths == LENGTHS_AS_IS ||
	    (pf->lengths == LENGTHS_MAYBE_SWAPPED && rec->caplen <= rec->len))
		return;
	uint32_t t = rec->caplen;
	rec->caplen = rec->len;
	rec->len = t;
}

/*
 * The record's bytes.  A record longer than the snap length is cut to it,
 * as libpcap does (a Solaris 2.3 bufmod bug wrote such files); the rest
 * of it must still be in the file.  The messages name what libpcap tried
 * to read: the snap length first, then the whole record.
 */
static enum cs_pcapfile_step pcap_bytes(struct cs_pcapfile *pf,
					struct cs_pcapfile_rec *rec,
					char *err, size_t errlen)
{
	struct cs_reader *r = &pf->rest;
	uint32_t want = rec->caplen > pf->snapshot ? pf->snapshot : rec->caplen;

	if (r->left < want || r->left < rec->caplen) {
		if (!pf->eof)
			return CS_PCAPFILE_MORE;
		snprintf(err, errlen, "truncated dump file; tried to read %" PRIu32
			 " captured bytes, only got %zu",
			 r->left < want ? want : rec->caplen, r->left);
		return CS_PCAPFILE_DAMAGED;
	}
	rec->bytes = r->p;
	cs_rd_skip(r, rec->caplen);
	rec->caplen = want;
	return CS_PCAPFILE_RECORD;
}

static enum cs_pcapfile_step pcap_record(struct cs_pcapfile *pf,
				       struct cs_pcapfile_rec *rec,
				       char *err, size_t errlen)
{
	struct cs_reader *r = &pf->rest;
	bool big = pf->big_endian;

	if (r->left == 0)
		return pf->eof ? CS_PCAPFILE_END : CS_PCAPFILE_MORE;
	if (r->left < PCAP_REC_HDR) {
		if (!pf->eof)
			return CS_PCAPFILE_MORE;
		snprintf(err, errlen, "truncated dump file; tried to read %d "
			 "header bytes, only got %zu", PCAP_REC_HDR, r->left);
		return CS_PCAPFILE_DAMAGED;
	}
	/* One copy of the four fields, then the byte order: the path every
	 * record takes.  libpcap's fields are signed 32-bit; the low 32 bits
	 * taken unsigned give the same valid times and the same invalid ones. */
	uint32_t h[4];
	cs_rd_copy(r, h, sizeof h);
	if (big != HOST_BIG_ENDIAN)
		for (int i = 0; i < 4; i++)
			h[i] = __builtin_bswap32(h[i]);
	rec->sec = h[0];
	rec->usec = pf->nsec ? h[1] / 1000 : h[1];
	rec->caplen = h[2];
	rec->len = h[3];
	swap_lengths(pf, rec);
	if (rec->caplen > pf->max_caplen) {
		if (rec->caplen > pf->snapshot)
			snprintf(err, errlen, "invalid packet capture length %" PRIu32
				 ", bigger than snaplen of %" PRIu32, rec->caplen,
				 pf->snapshot);
		else
			snprintf(err, errlen, "invalid packet capture length %" PRIu32
				 ", bigger than maximum of %" PRIu32, rec->caplen,
				 pf->max_caplen);
		return CS_PCAPFILE_DAMAGED;
	}
	return pcap_bytes(pf, rec, err, errlen);
}

/* A record, or MORE with the cursor back at its header: the caller
 * refills the buffer from there. */
static enum cs_pcapfile_step pcap_next(struct cs_pcapfile *pf,
				       struct cs_pcapfile_rec *rec,
				       char *err, size_t errlen)
{
	struct cs_reader at = pf->rest;
	enum cs_pcapfile_step st = pcap_record(pf, rec, err, errlen);

	if (st == CS_PCAPFILE_MORE)
		pf->rest = at;
	return st;
}

/* ---- pcapng: blocks ------------------------------------------------------------ */

struct block {
	uint32_t type;
	struct cs_reader body;	/* between the length and the trailer */
};

static bool too_short(const struct block *b, size_t n, char *err, size_t errlen)
{
	if (b->body.left >= n)
		return false;
	snprintf(err, errlen, "block of type %" PRIu32 " in pcapng dump file is "
		 "too short", b->type);
	return true;
}

/* The block's bytes are not all in the buffer yet, but may follow. */
#define BLOCK_MORE (-2)

/* The next block, checked as libpcap's read_block checks it: 1, 0 at the
 * end of the file, -1 with err, BLOCK_MORE with the cursor left at the
 * block's start (nothing of it taken) when the buffer ends before the
 * block does and the file may go on. */
static int read_block(struct cs_pcapfile *pf, struct block *b, char *err,
		      size_t errlen)
{
	struct cs_reader *r = &pf->rest;
	bool big = pf->big_endian;

	struct cs_reader at = *r;

	if (r->left < 8 && !pf->eof)
		return BLOCK_MORE;
	if (r->left == 0)
		return 0;
	if (r->left < 8) {
		snprintf(err, errlen, "truncated pcapng dump file; tried to read 8 "
			 "bytes, only got %zu", r->left);
		return -1;
	}
	b->type = rd32(r, big);
	uint32_t total = rd32(r, big);
	if (total < 12) {
		snprintf(err, errlen, "block in pcapng dump file has a length of %"
			 PRIu32 " < 12", total);
		return -1;
	}
	if (total % 4 != 0) {
		snprintf(err, errlen, "block in pcapng dump file has a length of %"
			 PRIu32 " that is not a multiple of 4", total);
		return -1;
	}
	if (total > pf->max_block) {
		snprintf(err, errlen, "pcapng block size %" PRIu32 " > maximum %"
			 PRIu32, total, pf->max_block);
		return -1;
	}
	size_t rest = total - 8;
	if (r->left < rest && !pf->eof) {
		*r = at;
		return BLOCK_MORE;
	}
	if (r->left < rest) {
		snprintf(err, errlen, "truncated pcapng dump file; tried to read %zu "
			 "bytes, only got %zu", rest, r->left);
		return -1;
	}
	b->body = cs_rd_sub(r, rest - 4);
	uint32_t trailer = rd32(r, big);
	if (trailer != total) {
		snprintf(err, errlen, "block total length in header and trailer "
			 "don't match");
		return -1;
	}
	return 1;
}

/* ---- pcapng: interfaces --------------------------------------------------------- */

static int tsresol_option(struct cs_pcapfile_if *ifc, uint8_t v, char *err,
			  size_t errlen)
{
	if (v & 0x80) {
		unsigned shift = v & 0x7f;
		if (shift > 63) {
			snprintf(err, errlen, "Interface Description Block if_tsresol "
				 "option resolution 2^-%u is too high", shift);
			return -1;
		}
		ifc->binary = true;
		ifc->tsresol = (uint64_t)1 << shift;
		return 0;
	}
	if (v > 19) {
		snprintf(err, errlen, "Interface Description Block if_tsresol option "
			 "resolution 10^-%u is too high", v);
		return -1;
	}
	ifc->binary = false;
	ifc->tsresol = 1;
	for (unsigned i = 0; i < v; i++)
		ifc->tsresol *= 10;
	return 0;
}

/* One option of an IDB: 1 for more, 0 at opt_endofopt, -1 with err. */
static int idb_option(struct cs_pcapfile *pf, struct block *b,
		      struct cs_pcapfile_if *ifc, unsigned *seen,
		      char *err, size_t errlen)
{
	const char *what = "Interface Description Block has";

	if (too_short(b, 4, err, errlen))
		return -1;
	uint16_t code = rd16(&b->body, pf->big_endian);
	uint16_t len = rd16(&b->body, pf->big_endian);
	size_t padded = ((size_t)len + 3) / 4 * 4;
	if (too_short(b, padded, err, errlen))
		return -1;
	struct cs_reader val = cs_rd_sub(&b->body, padded);
	unsigned bit = code == NG_IF_TSRESOL ? 1u : 2u;

	if (code == NG_OPT_END && len != 0) {
		snprintf(err, errlen, "%s opt_endofopt option with length %u != 0",
			 what, len);
		return -1;
	}
	if (code == NG_OPT_END)
		return 0;
	if (code != NG_IF_TSRESOL && code != NG_IF_TSOFFSET)
		return 1;
	const char *name = code == NG_IF_TSRESOL ? "if_tsresol" : "if_tsoffset";
	unsigned want = code == NG_IF_TSRESOL ? 1 : 8;
	if (len != want) {
		snprintf(err, errlen, "%s %s option with length %u != %u", what,
			 name, len, want);
		return -1;
	}
	if (*seen & bit) {
		snprintf(err, errlen, "%s more than one %s option", what, name);
		return -1;
	}
	*seen |= bit;
	if (code == NG_IF_TSOFFSET) {
		ifc->tsoffset_sec = (int64_t)rd64(&val, pf->big_endian);
		return 1;
	}
	return tsresol_option(ifc, cs_rd_u8(&val), err, errlen) ? -1 : 1;
}

static struct cs_pcapfile_if *new_interface(struct cs_pcapfile *pf, char *err,
					    size_t errlen)
{
	if (pf->if_cnt == pf->if_cap) {
		uint32_t cap = pf->if_cap ? pf->if_cap * 2 : 4;
		struct cs_pcapfile_if *ifs = cap > pf->if_cap ?
			realloc(pf->ifs, (size_t)cap * sizeof *ifs) : NULL;
		if (!ifs) {
			snprintf(err, errlen, "out of memory for per-interface "
				 "information (%" PRIu32 " interfaces)", pf->if_cnt + 1);
			return NULL;
		}
		pf->ifs = ifs;
		pf->if_cap = cap;
	}
	struct cs_pcapfile_if *ifc = &pf->ifs[pf->if_cnt];
	ifc->tsresol = USEC_PER_SEC;
	ifc->tsoffset_sec = 0;
	ifc->binary = false;
	return ifc;
}

/* An IDB's options, after its fixed part: libpcap's add_interface. */
static int add_interface(struct cs_pcapfile *pf, struct block *b, char *err,
			 size_t errlen)
{
	struct cs_pcapfile_if *ifc = new_interface(pf, err, errlen);
	unsigned seen = 0;
	int rc = 1;

	if (!ifc)
		return -1;
	while (b->body.left != 0 && rc == 1)
		rc = idb_option(pf, b, ifc, &seen, err, errlen);
	if (rc < 0)
		return -1;
	pf->if_cnt++;
	return 0;
}

/*
 * An IDB after the first.  libpcap 1.10 reads one link type per file: it
 * refuses an interface of another type, comparing the IDB's LINKTYPE_
 * value with the first one's DLT_ value (so a second LINKTYPE_RAW
 * interface, DLT_RAW 12 on Linux, is refused too; kept as libpcap does),
 * and one of another snap length.
 */
static int later_interface(struct cs_pcapfile *pf, struct block *b, char *err,
			   size_t errlen)
{
	if (too_short(b, 8, err, errlen))
		return -1;
	uint16_t linktype = rd16(&b->body, pf->big_endian);
	cs_rd_skip(&b->body, 2);
	uint32_t snaplen = rd32(&b->body, pf->big_endian);
	if ((int)linktype != pf->dlt) {
		snprintf(err, errlen, "an interface has a type %u different from the "
			 "type of the first interface", linktype);
		return -1;
	}
	if (adjust_snapshot(snaplen, pf->max_caplen) != pf->snapshot) {
		snprintf(err, errlen, "an interface has a snapshot length %" PRIu32
			 " different from the snapshot length of the first "
			 "interface", snaplen);
		return -1;
	}
	return add_interface(pf, b, err, errlen);
}

/* A section header after the first: the same byte order, version 1.x. */
static int later_section(struct cs_pcapfile *pf, struct block *b, char *err,
			 size_t errlen)
{
	if (too_short(b, 16, err, errlen))
		return -1;
	uint32_t bom = rd32(&b->body, pf->big_endian);
	uint16_t major = rd16(&b->body, pf->big_endian);
	if (bom == __builtin_bswap32(NG_BOM)) {
		snprintf(err, errlen, "the file has sections with different byte orders");
		return -1;
	}
	if (bom != NG_BOM) {
		snprintf(err, errlen, "the file has a section with a bad byte order "
			 "magic field");
		return -1;
	}
	if (major != 1) {
		snprintf(err, errlen, "unknown pcapng savefile major version number %u",
			 major);
		return -1;
	}
	pf->if_cnt = 0;		/* the section describes its own interfaces */
	return 0;
}

/* ---- pcapng: opening ------------------------------------------------------------- */

static int open_section(struct cs_pcapfile *pf, struct cs_reader *r, char *err,
			size_t errlen)
{
	if (!cs_rd_has(r, 12))
		goto not_pcapng;
	uint32_t bom = cs_rd_peek_u32le(r, 8);
	if (bom != NG_BOM && bom != __builtin_bswap32(NG_BOM))
		goto not_pcapng;
	pf->big_endian = bom != NG_BOM;
	uint32_t total = pf->big_endian ? cs_rd_peek_u32(r, 4) : cs_rd_peek_u32le(r, 4);
	if (total < 28 || total > NG_SHB_MAX) {
		snprintf(err, errlen, "Section Header Block in pcapng dump file has "
			 "invalid length %" PRIu32, total);
		return -1;
	}
	if (r->left < total) {
		snprintf(err, errlen, "truncated pcapng dump file; tried to read %"
			 PRIu32 " bytes, only got %zu", total - 12, r->left - 12);
		return -1;
	}
	cs_rd_skip(r, 12);
	uint16_t major = rd16(r, pf->big_endian), minor = rd16(r, pf->big_endian);
	if (!(major == 1 && (minor == 0 || minor == 2))) {
		snprintf(err, errlen, "unsupported pcapng savefile version %u.%u",
			 major, minor);
		return -1;
	}
	cs_rd_skip(r, total - 16);	/* the section length, options, trailer */
	return 0;
not_pcapng:
	snprintf(err, errlen, "unknown file format");
	return -1;
}

/* Blocks up to and with the first IDB, which sets the snap length. */
static int open_pcapng(struct cs_pcapfile *pf, const struct cs_pcapfile_params *prm,
		       char *err, size_t errlen)
{
	struct block b;
	int rc;

	/* libpcap: 16 MiB, or an EPB of the link type's longest record with
	 * 128 KiB of options when that is more */
	uint64_t for_snaplen = 8 + 20 + (uint64_t)prm->max_caplen + 131072 + 4;

	pf->pcapng = true;
	pf->max_block = for_snaplen > NG_MAX_BLOCK ? (uint32_t)for_snaplen
						   : NG_MAX_BLOCK;
	if (open_section(pf, &pf->rest, err, errlen) != 0)
		return -1;
	while ((rc = read_block(pf, &b, err, errlen)) == 1) {
		if (b.type == NG_EPB || b.type == NG_SPB || b.type == NG_PB) {
			snprintf(err, errlen, "the capture file has a packet block "
				 "before any Interface Description Blocks");
			return -1;
		}
		if (b.type != NG_IDB)
			continue;
		if (too_short(&b, 8, err, errlen))
			return -1;
		cs_rd_skip(&b.body, 4);	/* the link type: prm->dlt */
		pf->snapshot = adjust_snapshot(rd32(&b.body, pf->big_endian),
					       prm->max_caplen);
		return add_interface(pf, &b, err, errlen);
	}
	if (rc == 0)
		snprintf(err, errlen, "the capture file has no Interface "
			 "Description Blocks");
	if (rc == BLOCK_MORE)	/* the caller reads such a file another way */
		snprintf(err, errlen, "the first interface is past the bytes given");
	return -1;
}

/* ---- pcapng: packets ----------------------------------------------------------------- */

/* The seconds and µs of a timestamp in an interface's ticks, computed as
 * libpcap computes them (unsigned 64-bit, wrapping where it wraps). */
static void ng_time(const struct cs_pcapfile_if *ifc, uint64_t t,
		    struct cs_pcapfile_rec *rec)
{
	uint64_t sec = t / ifc->tsresol + (uint64_t)ifc->tsoffset_sec;
	uint64_t frac = t % ifc->tsresol;

	if (ifc->tsresol == USEC_PER_SEC)
		;
	else if (ifc->binary)
		frac = frac * USEC_PER_SEC / ifc->tsresol;
	else if (ifc->tsresol > USEC_PER_SEC)
		frac /= ifc->tsresol / USEC_PER_SEC;
	else
		frac *= USEC_PER_SEC / ifc->tsresol;
	rec->sec = (int64_t)sec;
	rec->usec = (int32_t)(uint32_t)frac;	/* libpcap's (int) cast */
}

/* The fixed part of a packet block: its interface and time. */
static bool packet_header(struct cs_pcapfile *pf, struct block *b,
			  struct cs_pcapfile_rec *rec, uint32_t *ifid,
			  uint64_t *t, char *err, size_t errlen)
{
	struct cs_reader *r = &b->body;
	bool big = pf->big_endian;

	if (b->type == NG_SPB) {
		if (too_short(b, 4, err, errlen))
			return false;
		*ifid = 0;	/* an SPB's interface is the first */
		*t = 0;		/* and it has no time */
		rec->len = rd32(r, big);
		rec->caplen = rec->len > pf->snapshot ? pf->snapshot : rec->len;
		return true;
	}
	if (too_short(b, 20, err, errlen))
		return false;
	if (b->type == NG_EPB) {
		*ifid = rd32(r, big);
	} else {
		*ifid = rd16(r, big);
		cs_rd_skip(r, 2);	/* drops_count */
	}
	uint64_t hi = rd32(r, big);
	*t = hi << 32 | rd32(r, big);
	rec->caplen = rd32(r, big);
	rec->len = rd32(r, big);
	return true;
}

static enum cs_pcapfile_step ng_packet(struct cs_pcapfile *pf, struct block *b,
				       struct cs_pcapfile_rec *rec,
				       char *err, size_t errlen)
{
	uint32_t ifid;
	uint64_t t;

	if (!packet_header(pf, b, rec, &ifid, &t, err, errlen))
		return CS_PCAPFILE_DAMAGED;
	if (ifid >= pf->if_cnt) {
		snprintf(err, errlen, "a packet arrived on interface %" PRIu32 ", but "
			 "there's no Interface Description Block for that "
			 "interface", ifid);
		return CS_PCAPFILE_DAMAGED;
	}
	if (rec->caplen > pf->snapshot) {
		snprintf(err, errlen, "invalid packet capture length %" PRIu32
			 ", bigger than snaplen of %" PRIu32, rec->caplen,
			 pf->snapshot);
		return CS_PCAPFILE_DAMAGED;
	}
	ng_time(&pf->ifs[ifid], t, rec);
	if (too_short(b, rec->caplen, err, errlen))
		return CS_PCAPFILE_DAMAGED;
	rec->bytes = b->body.p;
	return CS_PCAPFILE_RECORD;
}

static enum cs_pcapfile_step ng_next(struct cs_pcapfile *pf,
				     struct cs_pcapfile_rec *rec,
				     char *err, size_t errlen)
{
	struct block b;
	int rc;

	while ((rc = read_block(pf, &b, err, errlen)) == 1) {
		switch (b.type) {
		case NG_EPB: case NG_SPB: case NG_PB:
			return ng_packet(pf, &b, rec, err, errlen);
		case NG_IDB:
			rc = later_interface(pf, &b, err, errlen);
			break;
		case NG_SHB:
			rc = later_section(pf, &b, err, errlen);
			break;
		default:	/* skipped, as the pcapng spec asks */
			rc = 0;
		}
		if (rc != 0)
			return CS_PCAPFILE_DAMAGED;
	}
	if (rc == BLOCK_MORE)
		return CS_PCAPFILE_MORE;
	return rc == 0 ? CS_PCAPFILE_END : CS_PCAPFILE_DAMAGED;
}

/* ---- the interface -------------------------------------------------------------------- */

int cs_pcapfile_open(struct cs_pcapfile *pf, const uint8_t *buf, size_t len,
		     const struct cs_pcapfile_params *prm,
		     char *err, size_t errlen)
{
	memset(pf, 0, sizeof *pf);
	pf->rest = cs_rd_make(buf, len);
	pf->size = len;
	pf->eof = !prm->more;
	pf->dlt = prm->dlt;
	pf->max_caplen = prm->max_caplen;
	if (len < 4) {
		snprintf(err, errlen, "only %zu bytes, too short for a capture "
			 "file header", len);
		return -1;
	}
	uint32_t magic = cs_rd_peek_u32le(&pf->rest, 0);
	if (magic == NG_SHB) {
		int rc = open_pcapng(pf, prm, err, errlen);
		if (rc != 0)
			cs_pcapfile_fini(pf);
		return rc;
	}
	if (magic == PCAP_MAGIC_US || magic == PCAP_MAGIC_NS ||
	    magic == __builtin_bswap32(PCAP_MAGIC_US) ||
	    magic == __builtin_bswap32(PCAP_MAGIC_NS))
		return open_pcap(pf, &pf->rest, prm, err, errlen);
	if (magic == PCAP_MAGIC_KUZNETZOV ||
	    magic == __builtin_bswap32(PCAP_MAGIC_KUZNETZOV))
		snprintf(err, errlen, "Kuznetzov's patched pcap format is left "
			 "to libpcap");
	else
		snprintf(err, errlen, "unknown file format");
	return -1;
}

enum cs_pcapfile_step cs_pcapfile_next(struct cs_pcapfile *pf,
				       struct cs_pcapfile_rec *rec,
				       char *err, size_t errlen)
{
	return pf->pcapng ? ng_next(pf, rec, err, errlen)
			  : pcap_next(pf, rec, err, errlen);
}

void cs_pcapfile_refill(struct cs_pcapfile *pf, const uint8_t *buf, size_t len,
			bool eof)
{
	pf->taken = cs_pcapfile_offset(pf);
	pf->rest = cs_rd_make(buf, len);
	pf->size = len;
	pf->eof = eof;
}

size_t cs_pcapfile_longest(const struct cs_pcapfile *pf)
{
	return pf->pcapng ? pf->max_block : PCAP_REC_HDR + (size_t)pf->max_caplen;
}

uint64_t cs_pcapfile_offset(const struct cs_pcapfile *pf)
{
	return pf->taken + (uint64_t)(pf->size - pf->rest.left);
}

void cs_pcapfile_fini(struct cs_pcapfile *pf)
{
	free(pf->ifs);
	pf->ifs = NULL;
	pf->if_cnt = pf->if_cap = 0;
}
