/*
 * check_pcapfile.c — the in-memory walker of pcap and pcapng files.
 *
 * Files are built here byte by byte (or by tests/pktbuild.c's writers),
 * in either byte order, and the expected records, times and messages are
 * worked out from what was written: the arithmetic is in each test.  The
 * messages are libpcap 1.10's (sf-pcap.c, sf-pcapng.c), which connscope
 * reported before the walker; tests/fuzz/fuzz_file.c holds the walker to
 * libpcap itself on arbitrary bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "capture/decode.h"
#include "capture/pcapfile.h"
#include "tests/pktbuild.h"
#include "tests/suites.h"

/* ---- building files ------------------------------------------------------- */

struct file {
	uint8_t b[8192];
	size_t n;
	bool big;		/* the writer's byte order */
};

static void put(struct file *f, uint64_t v, unsigned bytes)
{
	ck_assert_uint_le(f->n + bytes, sizeof f->b);
	for (unsigned i = 0; i < bytes; i++) {
		unsigned shift = f->big ? 8 * (bytes - 1 - i) : 8 * i;
		f->b[f->n++] = (uint8_t)(v >> shift);
	}
}

static void put_bytes(struct file *f, const void *p, size_t n)
{
	ck_assert_uint_le(f->n + n, sizeof f->b);
	memcpy(f->b + f->n, p, n);
	f->n += n;
}

/* A block's type and a length filled in by block_end. */
static size_t block_start(struct file *f, uint32_t type)
{
	size_t at = f->n;

	put(f, type, 4);
	put(f, 0, 4);
	return at;
}

/* Pads to 4 bytes, writes the trailer and the length at the start. */
static void block_end(struct file *f, size_t at)
{
	while (f->n % 4)
		f->b[f->n++] = 0;
	uint32_t total = (uint32_t)(f->n - at + 4);
	put(f, total, 4);
	struct file len = { .big = f->big };
	put(&len, total, 4);
	memcpy(f->b + at + 4, len.b, 4);
}

static void shb(struct file *f, uint16_t major)
{
	size_t at = block_start(f, 0x0a0d0d0a);

	put(f, 0x1a2b3c4d, 4);
	put(f, major, 2);
	put(f, 0, 2);
	put(f, UINT64_MAX, 8);	/* section length: not given */
	block_end(f, at);
}

/* An IDB with options: code, length, value (up to 8 bytes, in the
 * writer's order when 8 bytes, else as bytes) per option. */
struct opt {
	uint16_t code, len;
	uint64_t value;
};

static void idb(struct file *f, uint16_t linktype, uint32_t snaplen,
		const struct opt *opts, size_t n)
{
	size_t at = block_start(f, 1);

	put(f, linktype, 2);
	put(f, 0, 2);
	put(f, snaplen, 4);
	for (size_t i = 0; i < n; i++) {
		put(f, opts[i].code, 2);
		put(f, opts[i].len, 2);
		if (opts[i].len == 8)
			put(f, opts[i].value, 8);
		else
			for (uint16_t k = 0; k < opts[i].len; k++)
				put(f, (uint8_t)(opts[i].value >> (8 * k)), 1);
		while (f->n % 4)
			f->b[f->n++] = 0;
	}
	block_end(f, at);
}

static const uint8_t payload[128] = { 0xde, 0xad, 0xbe, 0xef, [127] = 0x7f };

static void epb(struct file *f, uint32_t ifid, uint64_t t, uint32_t caplen,
		uint32_t len)
{
	size_t at = block_start(f, 6);

	put(f, ifid, 4);
	put(f, t >> 32, 4);
	put(f, t & 0xffffffffu, 4);
	put(f, caplen, 4);
	put(f, len, 4);
	put_bytes(f, payload, caplen < sizeof payload ? caplen : sizeof payload);
	block_end(f, at);
}

/* ---- walking ----------------------------------------------------------------- */

static const struct cs_pcapfile_params eth = {
	.dlt = CS_DLT_EN10MB, .max_caplen = 262144,
};

struct walked {
	struct cs_pcapfile_rec rec[8];
	int n;
	enum cs_pcapfile_step end;
	char err[256];
};

/* Opens and walks buf whole to its end (or 8 records); the open must
 * succeed. */
static void walk_whole(const uint8_t *buf, size_t len,
		       const struct cs_pcapfile_params *prm, struct walked *w)
{
	struct cs_pcapfile pf;
	struct cs_pcapfile_rec rec;

	memset(w, 0, sizeof *w);
	ck_assert_msg(cs_pcapfile_open(&pf, buf, len, prm, w->err, sizeof w->err) == 0,
		      "open: %s", w->err);
	while ((w->end = cs_pcapfile_next(&pf, &rec, w->err, sizeof w->err)) ==
	       CS_PCAPFILE_RECORD && w->n < 8)
		w->rec[w->n++] = rec;
	if (w->end == CS_PCAPFILE_END)
		ck_assert_uint_eq(cs_pcapfile_offset(&pf), len);
	cs_pcapfile_fini(&pf);
}

/*
 * A file read as capture/source.c reads one: into a buffer of window
 * bytes (doubled when a record fills it), the unread tail moved to the
 * front and more read after it on every CS_PCAPFILE_MORE.  The opening
 * must fit the first read (a larger first read is tried until it does,
 * as the source would leave it to libpcap).  Returns the refills.
 */
static int walk_windowed(const uint8_t *file, size_t len, size_t window,
			 const struct cs_pcapfile_params *prm, struct walked *w,
			 const struct walked *whole)
{
	struct cs_pcapfile_params more = *prm;
	struct cs_pcapfile pf;
	struct cs_pcapfile_rec rec;
	size_t cap = window, read = 0, first = window;
	uint8_t *buf = NULL;
	int refills = 0, rc;

	memset(w, 0, sizeof *w);
	do {	/* the opening, from a first read that holds it */
		read = first < len ? first : len;
		more.more = read < len;
		first *= 2;
	} while ((rc = cs_pcapfile_open(&pf, file, read, &more, w->err,
					sizeof w->err)) != 0 && read < len);
	ck_assert_msg(rc == 0, "open: %s", w->err);
	cap = read > cap ? read : cap;
	w->err[0] = '\0';	/* what a too short first read said */
	for (;;) {
		w->end = cs_pcapfile_next(&pf, &rec, w->err, sizeof w->err);
		if (w->end == CS_PCAPFILE_RECORD && w->n < 8) {
			ck_assert_int_lt(w->n, whole->n);
			ck_assert_mem_eq(rec.bytes, whole->rec[w->n].bytes, rec.caplen);
			w->rec[w->n++] = rec;
			continue;
		}
		if (w->end != CS_PCAPFILE_MORE)
			break;
		size_t left = pf.rest.left;
		ck_assert_uint_le(left, cs_pcapfile_longest(&pf));
		while (left >= cap)
			cap *= 2;
		uint8_t *next = malloc(cap);
		ck_assert_ptr_nonnull(next);
		memcpy(next, pf.rest.p, left);	/* (a fresh buffer: ASan sees
						 * any use of the old one) */
		size_t add = len - read < cap - left ? len - read : cap - left;
		memcpy(next + left, file + read, add);
		read += add;
		free(buf);
		buf = next;
		cs_pcapfile_refill(&pf, buf, left + add, read == len);
		refills++;
	}
	if (w->end == CS_PCAPFILE_END)
		ck_assert_uint_eq(cs_pcapfile_offset(&pf), len);
	cs_pcapfile_fini(&pf);
	free(buf);
	return refills;
}

/* Whole records, and the same through windows of 1, 7 and 100 bytes:
 * records, times, lengths, bytes, the end and its message. */
static void walk(const uint8_t *buf, size_t len, const struct cs_pcapfile_params *prm,
		 struct walked *w)
{
	static const size_t windows[] = { 1, 7, 100 };
	struct walked by;

	walk_whole(buf, len, prm, w);
	for (size_t i = 0; i < sizeof windows / sizeof windows[0]; i++) {
		walk_windowed(buf, len, windows[i], prm, &by, w);
		ck_assert_int_eq(by.n, w->n);
		ck_assert_int_eq(by.end, w->end);
		ck_assert_str_eq(by.err, w->err);
		for (int k = 0; k < w->n; k++) {
			ck_assert_int_eq(by.rec[k].sec, w->rec[k].sec);
			ck_assert_int_eq(by.rec[k].usec, w->rec[k].usec);
			ck_assert_uint_eq(by.rec[k].caplen, w->rec[k].caplen);
			ck_assert_uint_eq(by.rec[k].len, w->rec[k].len);
		}
	}
}

static void expect_damage(const struct walked *w, int records, const char *msg)
{
	ck_assert_int_eq(w->end, CS_PCAPFILE_DAMAGED);
	ck_assert_int_eq(w->n, records);
	ck_assert_str_eq(w->err, msg);
}

/* ---- classic pcap ------------------------------------------------------------- */

/* Two records: 1700000000.123456789 s (80 of 200 bytes kept) and
 * 1700000001.000000999 s (60 bytes), in µs or ns, either byte order. */
START_TEST(pcap_in_either_order_and_resolution)
{
	bool big = _i & 1, ns = _i & 2;
	struct pb_file pf = { .dlt = CS_DLT_EN10MB, .nanosec = ns, .big_endian = big };
	struct pb_rec recs[2] = {
		{ .ts_ns = 1700000000123456789ull, .bytes = payload, .caplen = 80,
		  .wirelen = 200 },
		{ .ts_ns = 1700000001000000999ull, .bytes = payload, .caplen = 60 },
	};
	uint8_t buf[1024];
	size_t len = pb_pcap_write(&pf, recs, 2, buf, sizeof buf);
	struct walked w;

	walk(buf, len, &eth, &w);
	ck_assert_int_eq(w.end, CS_PCAPFILE_END);
	ck_assert_int_eq(w.n, 2);
	ck_assert_int_eq(w.rec[0].sec, 1700000000);
	ck_assert_int_eq(w.rec[0].usec, 123456);	/* 123456789 ns, or 123456 µs */
	ck_assert_uint_eq(w.rec[0].caplen, 80);
	ck_assert_uint_eq(w.rec[0].len, 200);
	ck_assert_mem_eq(w.rec[0].bytes, payload, 80);
	ck_assert_int_eq(w.rec[1].sec, 1700000001);
	ck_assert_int_eq(w.rec[1].usec, 0);		/* 999 ns is no µs */
	ck_assert_uint_eq(w.rec[1].caplen, 60);
	ck_assert_uint_eq(w.rec[1].len, 60);
	/* the second record's bytes follow the first's 80 and a 16-byte header */
	ck_assert_ptr_eq(w.rec[1].bytes, w.rec[0].bytes + 80 + 16);
}
END_TEST

/* A pcap file header by hand: version, snap length. */
static void pcap_header(struct file *f, uint16_t major, uint16_t minor,
			uint32_t snaplen)
{
	put(f, 0xa1b2c3d4, 4);
	put(f, major, 2);
	put(f, minor, 2);
	put(f, 0, 4);
	put(f, 0, 4);
	put(f, snaplen, 4);
	put(f, 1, 4);
}

static void pcap_record(struct file *f, uint32_t sec, uint32_t frac,
			uint32_t caplen, uint32_t len, size_t data)
{
	put(f, sec, 4);
	put(f, frac, 4);
	put(f, caplen, 4);
	put(f, len, 4);
	put_bytes(f, payload, data);
}

START_TEST(pcap_records_longer_than_the_snap_length_are_cut)
{
	struct file f = { .big = _i };
	struct walked w;

	pcap_header(&f, 2, 4, 64);
	pcap_record(&f, 1, 2, 100, 120, 100);	/* 100 > 64: cut to 64 */
	pcap_record(&f, 3, 4, 10, 10, 10);
	walk(f.b, f.n, &eth, &w);
	ck_assert_int_eq(w.end, CS_PCAPFILE_END);
	ck_assert_int_eq(w.n, 2);
	ck_assert_uint_eq(w.rec[0].caplen, 64);
	ck_assert_uint_eq(w.rec[0].len, 120);
	/* the whole 100 bytes are passed over: the next record is whole */
	ck_assert_int_eq(w.rec[1].sec, 3);
	ck_assert_int_eq(w.rec[1].usec, 4);
	ck_assert_ptr_eq(w.rec[1].bytes, w.rec[0].bytes + 100 + 16);

	/* cut in the first 64 bytes, then after them: what libpcap tried */
	walk(f.b, 24 + 16 + 30, &eth, &w);
	expect_damage(&w, 0, "truncated dump file; tried to read 64 captured "
		      "bytes, only got 30");
	walk(f.b, 24 + 16 + 70, &eth, &w);
	expect_damage(&w, 0, "truncated dump file; tried to read 100 captured "
		      "bytes, only got 70");
}
END_TEST

START_TEST(pcap_damage_is_told_as_libpcap_tells_it)
{
	struct file f = { .big = _i };
	struct walked w;

	pcap_header(&f, 2, 4, 0);	/* snap length 0: libpcap's 262144 */
	pcap_record(&f, 1, 0, 20, 20, 20);
	size_t whole = f.n;
	pcap_record(&f, 2, 0, 300000, 300000, 0);
	walk(f.b, f.n, &eth, &w);
	expect_damage(&w, 1, "invalid packet capture length 300000, bigger than "
		      "snaplen of 262144");
	walk(f.b, whole + 5, &eth, &w);
	expect_damage(&w, 1, "truncated dump file; tried to read 16 header "
		      "bytes, only got 5");
	walk(f.b, whole - 3, &eth, &w);
	expect_damage(&w, 0, "truncated dump file; tried to read 20 captured "
		      "bytes, only got 17");
	walk(f.b, 24, &eth, &w);	/* a header and no record */
	ck_assert_int_eq(w.end, CS_PCAPFILE_END);
	ck_assert_int_eq(w.n, 0);

	/* A snap length of 300000 stands (libpcap replaces only 0 and what
	 * an int cannot hold), but a record over 262144 is still refused. */
	f.n = 0;
	pcap_header(&f, 2, 4, 300000);
	pcap_record(&f, 1, 0, 270000, 270000, 0);
	walk(f.b, f.n, &eth, &w);
	expect_damage(&w, 0, "invalid packet capture length 270000, bigger than "
		      "maximum of 262144");
	f.n = 0;
	pcap_header(&f, 2, 4, 0x80000001u);	/* over INT_MAX: 262144 */
	pcap_record(&f, 1, 0, 270000, 270000, 0);
	walk(f.b, f.n, &eth, &w);
	expect_damage(&w, 0, "invalid packet capture length 270000, bigger than "
		      "snaplen of 262144");
}
END_TEST

/* Before version 2.3 caplen and len were written the other way round; at
 * 2.3 libpcap swaps them back only where caplen > len. */
START_TEST(pcap_old_versions_swap_caplen_and_len)
{
	struct file f = { 0 };
	struct walked w;

	pcap_header(&f, 2, 2, 0);
	pcap_record(&f, 1, 0, 60, 20, 20);	/* written: len 60, caplen 20 */
	walk(f.b, f.n, &eth, &w);
	ck_assert_int_eq(w.n, 1);
	ck_assert_uint_eq(w.rec[0].caplen, 20);
	ck_assert_uint_eq(w.rec[0].len, 60);

	f.n = 0;
	pcap_header(&f, 2, 3, 0);
	pcap_record(&f, 1, 0, 60, 20, 20);	/* 60 > 20: swapped */
	pcap_record(&f, 1, 0, 10, 30, 10);	/* 10 <= 30: as written */
	walk(f.b, f.n, &eth, &w);
	ck_assert_int_eq(w.n, 2);
	ck_assert_uint_eq(w.rec[0].caplen, 20);
	ck_assert_uint_eq(w.rec[1].caplen, 10);
	ck_assert_uint_eq(w.rec[1].len, 30);
}
END_TEST

START_TEST(what_is_no_capture_file_does_not_open)
{
	struct cs_pcapfile pf;
	char err[256];
	struct file f = { 0 };

	ck_assert_int_eq(cs_pcapfile_open(&pf, f.b, 0, &eth, err, sizeof err), -1);
	put_bytes(&f, "GET / HTTP/1.1\r\n", 16);
	ck_assert_int_eq(cs_pcapfile_open(&pf, f.b, f.n, &eth, err, sizeof err), -1);
	f.n = 0;
	pcap_header(&f, 1, 0, 0);
	ck_assert_int_eq(cs_pcapfile_open(&pf, f.b, f.n, &eth, err, sizeof err), -1);
	ck_assert_str_eq(err, "archaic pcap savefile format");
	ck_assert_int_eq(cs_pcapfile_open(&pf, f.b, 10, &eth, err, sizeof err), -1);
	/* Kuznetzov's records are 8 bytes longer: left to libpcap */
	f.n = 0;
	put(&f, 0xa1b2cd34, 4);
	ck_assert_int_eq(cs_pcapfile_open(&pf, f.b, 24, &eth, err, sizeof err), -1);
}
END_TEST

/* ---- pcapng ----------------------------------------------------------------------- */

/*
 * Timestamps: t ticks of 1/tsresol s, plus if_tsoffset seconds.  Each row
 * is the option written, t, and the seconds and µs it is.
 */
static const struct {
	bool has_resol;
	uint8_t resol;
	bool has_offset;
	int64_t offset;
	uint64_t t;
	int64_t sec, usec;
} times[] = {
	/* no option: µs */
	{ false, 0, false, 0, 1700000000123456ull, 1700000000, 123456 },
	/* 10^-9: 123456789 ns are 123456 µs */
	{ true, 9, false, 0, 1700000000123456789ull, 1700000000, 123456 },
	/* 10^-3: 123 ms are 123000 µs */
	{ true, 3, false, 0, 1700000000123ull, 1700000000, 123000 },
	/* 2^-10: 5 s and 512/1024 s, 500000 µs */
	{ true, 0x80 | 10, false, 0, 5 * 1024 + 512, 5, 500000 },
	/* 2^-20: 1 tick is 1000000/1048576 = 0.95 µs, truncated to 0 */
	{ true, 0x80 | 20, false, 0, 1, 0, 0 },
	/* 2^0: whole seconds */
	{ true, 0x80, false, 0, 42, 42, 0 },
	/* if_tsoffset 1000 s: 2.000007 s after it */
	{ false, 0, true, 1000, 2000007, 1002, 7 },
	/* a negative offset */
	{ true, 6, true, -1, 3000000, 2, 0 },
};

START_TEST(pcapng_timestamps_follow_tsresol_and_tsoffset)
{
	int row = _i / 2;
	struct file f = { .big = _i & 1 };
	struct opt opts[2];
	size_t n = 0;
	struct walked w;

	if (times[row].has_resol)
		opts[n++] = (struct opt){ 9, 1, times[row].resol };
	if (times[row].has_offset)
		opts[n++] = (struct opt){ 14, 8, (uint64_t)times[row].offset };
	shb(&f, 1);
	idb(&f, 1, 0, opts, n);
	epb(&f, 0, times[row].t, 20, 20);
	walk(f.b, f.n, &eth, &w);
	ck_assert_int_eq(w.end, CS_PCAPFILE_END);
	ck_assert_int_eq(w.n, 1);
	ck_assert_int_eq(w.rec[0].sec, times[row].sec);
	ck_assert_int_eq(w.rec[0].usec, times[row].usec);
	ck_assert_uint_eq(w.rec[0].caplen, 20);
	ck_assert_mem_eq(w.rec[0].bytes, payload, 20);
}
END_TEST

START_TEST(pcapng_simple_and_obsolete_packet_blocks)
{
	struct file f = { .big = _i };
	struct opt off = { 14, 8, 77 };
	struct walked w;

	shb(&f, 1);
	idb(&f, 1, 64, &off, 1);
	size_t at = block_start(&f, 3);		/* SPB: 100 bytes on the wire */
	put(&f, 100, 4);
	put_bytes(&f, payload, 100);
	block_end(&f, at);
	at = block_start(&f, 2);		/* Packet Block on interface 0 */
	put(&f, 0, 2);
	put(&f, 0, 2);				/* drops */
	put(&f, 0, 4);
	put(&f, 3000001, 4);			/* 3.000001 s */
	put(&f, 30, 4);
	put(&f, 40, 4);
	put_bytes(&f, payload, 30);
	block_end(&f, at);
	walk(f.b, f.n, &eth, &w);
	ck_assert_int_eq(w.end, CS_PCAPFILE_END);
	ck_assert_int_eq(w.n, 2);
	/* an SPB keeps min(len, snap length) and has no time: 0 + the offset */
	ck_assert_uint_eq(w.rec[0].caplen, 64);
	ck_assert_uint_eq(w.rec[0].len, 100);
	ck_assert_int_eq(w.rec[0].sec, 77);
	ck_assert_int_eq(w.rec[0].usec, 0);
	ck_assert_int_eq(w.rec[1].sec, 77 + 3);
	ck_assert_int_eq(w.rec[1].usec, 1);
	ck_assert_uint_eq(w.rec[1].caplen, 30);
	ck_assert_uint_eq(w.rec[1].len, 40);
}
END_TEST

START_TEST(pcapng_unknown_blocks_are_skipped)
{
	struct file f = { .big = _i };
	struct walked w;

	shb(&f, 1);
	size_t at = block_start(&f, 0xbad);	/* before the first IDB too */
	put(&f, 1, 4);
	block_end(&f, at);
	idb(&f, 1, 0, NULL, 0);
	at = block_start(&f, 0x80000001);	/* local use */
	block_end(&f, at);
	epb(&f, 0, 1, 10, 10);
	at = block_start(&f, 5);		/* interface statistics */
	put(&f, 0, 4);
	block_end(&f, at);
	walk(f.b, f.n, &eth, &w);
	ck_assert_int_eq(w.end, CS_PCAPFILE_END);
	ck_assert_int_eq(w.n, 1);
}
END_TEST

/* A valid file (SHB, IDB, two EPBs), and the offset of its second EPB. */
static size_t two_packets(struct file *f)
{
	shb(f, 1);
	idb(f, 1, 0, NULL, 0);
	epb(f, 0, 1, 10, 10);
	size_t second = f->n;
	epb(f, 0, 2, 10, 10);
	return second;
}

/* Overwrites 4 bytes at off in the file's byte order. */
static void patch32(struct file *f, size_t off, uint32_t v)
{
	struct file p = { .big = f->big };

	put(&p, v, 4);
	memcpy(f->b + off, p.b, 4);
}

START_TEST(pcapng_block_lengths_that_lie)
{
	struct file f = { .big = _i };
	size_t second = two_packets(&f), len = f.n;	/* the EPB is 44 bytes */
	struct walked w;
	uint8_t keep[4];

	memcpy(keep, f.b + second + 4, 4);
	patch32(&f, second + 4, 8);
	walk(f.b, len, &eth, &w);
	expect_damage(&w, 1, "block in pcapng dump file has a length of 8 < 12");
	patch32(&f, second + 4, 14);
	walk(f.b, len, &eth, &w);
	expect_damage(&w, 1, "block in pcapng dump file has a length of 14 that "
		      "is not a multiple of 4");
	patch32(&f, second + 4, 0x7ffffff0);
	walk(f.b, len, &eth, &w);
	expect_damage(&w, 1, "pcapng block size 2147483632 > maximum 16777216");
	patch32(&f, second + 4, 48);	/* past the end: 40 of its 48 - 8 */
	walk(f.b, len, &eth, &w);
	expect_damage(&w, 1, "truncated pcapng dump file; tried to read 40 bytes, "
		      "only got 36");
	patch32(&f, second + 4, 40);	/* the trailer is then the payload's */
	walk(f.b, len, &eth, &w);
	expect_damage(&w, 1, "block total length in header and trailer don't match");
	memcpy(f.b + second + 4, keep, 4);
	walk(f.b, second + 3, &eth, &w);
	expect_damage(&w, 1, "truncated pcapng dump file; tried to read 8 bytes, "
		      "only got 3");
	walk(f.b, len, &eth, &w);
	ck_assert_int_eq(w.end, CS_PCAPFILE_END);
	ck_assert_int_eq(w.n, 2);
}
END_TEST

START_TEST(pcapng_packet_blocks_that_lie)
{
	struct file f = { .big = _i };
	size_t second = two_packets(&f), len = f.n;
	struct walked w;

	patch32(&f, second + 20, 100);	/* caplen 100 in a block of 12 */
	walk(f.b, len, &eth, &w);
	expect_damage(&w, 1, "block of type 6 in pcapng dump file is too short");
	patch32(&f, second + 20, 300000);
	walk(f.b, len, &eth, &w);
	expect_damage(&w, 1, "invalid packet capture length 300000, bigger than "
		      "snaplen of 262144");
	patch32(&f, second + 20, 10);
	patch32(&f, second + 8, 5);	/* interface 5 */
	walk(f.b, len, &eth, &w);
	expect_damage(&w, 1, "a packet arrived on interface 5, but there's no "
		      "Interface Description Block for that interface");

	f.n = 0;	/* an EPB of 16 bytes: shorter than its fixed part */
	shb(&f, 1);
	idb(&f, 1, 0, NULL, 0);
	size_t at = block_start(&f, 6);
	put(&f, 0, 4);
	block_end(&f, at);
	walk(f.b, f.n, &eth, &w);
	expect_damage(&w, 0, "block of type 6 in pcapng dump file is too short");
}
END_TEST

/* IDB options: each row an option list that libpcap refuses, and why. */
static const struct {
	struct opt o[2];
	size_t n;
	const char *why;
} bad_options[] = {
	{ { { 0, 4, 0 } }, 1,
	  "Interface Description Block has opt_endofopt option with length 4 != 0" },
	{ { { 9, 2, 6 } }, 1,
	  "Interface Description Block has if_tsresol option with length 2 != 1" },
	{ { { 9, 1, 6 }, { 9, 1, 9 } }, 2,
	  "Interface Description Block has more than one if_tsresol option" },
	{ { { 9, 1, 20 } }, 1,
	  "Interface Description Block if_tsresol option resolution 10^-20 is too high" },
	{ { { 9, 1, 0x80 | 64 } }, 1,
	  "Interface Description Block if_tsresol option resolution 2^-64 is too high" },
	{ { { 14, 4, 1 } }, 1,
	  "Interface Description Block has if_tsoffset option with length 4 != 8" },
	{ { { 14, 8, 1 }, { 14, 8, 2 } }, 2,
	  "Interface Description Block has more than one if_tsoffset option" },
};

START_TEST(pcapng_interface_options_are_checked)
{
	int row = _i / 2;
	struct file f = { .big = _i & 1 };
	struct cs_pcapfile pf;
	char err[256];
	struct walked w;

	/* in the first IDB the file does not open */
	shb(&f, 1);
	idb(&f, 1, 0, bad_options[row].o, bad_options[row].n);
	ck_assert_int_eq(cs_pcapfile_open(&pf, f.b, f.n, &eth, err, sizeof err), -1);
	ck_assert_str_eq(err, bad_options[row].why);
	cs_pcapfile_fini(&pf);

	/* in a later one it is damage after the packets before it */
	f.n = 0;
	shb(&f, 1);
	idb(&f, 1, 0, NULL, 0);
	epb(&f, 0, 1, 10, 10);
	idb(&f, 1, 0, bad_options[row].o, bad_options[row].n);
	walk(f.b, f.n, &eth, &w);
	expect_damage(&w, 1, bad_options[row].why);
}
END_TEST

START_TEST(pcapng_an_option_past_its_block_is_caught)
{
	struct file f = { .big = _i };
	struct walked w;

	shb(&f, 1);
	idb(&f, 1, 0, NULL, 0);
	size_t at = block_start(&f, 1);	/* an IDB whose option claims 200 bytes */
	put(&f, 1, 2);
	put(&f, 0, 2);
	put(&f, 0, 4);
	put(&f, 2, 2);
	put(&f, 200, 2);
	put(&f, 0, 4);
	block_end(&f, at);
	walk(f.b, f.n, &eth, &w);
	expect_damage(&w, 0, "block of type 1 in pcapng dump file is too short");

	f.n = 0;	/* a 5-byte value (8 with its padding) in the last 4 */
	shb(&f, 1);
	idb(&f, 1, 0, NULL, 0);
	at = block_start(&f, 1);
	put(&f, 1, 2);
	put(&f, 0, 2);
	put(&f, 0, 4);
	put(&f, 2, 2);
	put(&f, 5, 2);
	put(&f, 0, 4);
	block_end(&f, at);
	walk(f.b, f.n, &eth, &w);
	expect_damage(&w, 0, "block of type 1 in pcapng dump file is too short");
}
END_TEST

START_TEST(pcapng_sections_describe_their_own_interfaces)
{
	struct file f = { .big = _i };
	struct walked w;

	shb(&f, 1);
	idb(&f, 1, 0, NULL, 0);
	idb(&f, 1, 0, NULL, 0);
	epb(&f, 1, 1, 10, 10);	/* the second interface */
	shb(&f, 1);
	idb(&f, 1, 0, NULL, 0);
	epb(&f, 0, 2, 10, 10);
	size_t whole = f.n;
	epb(&f, 1, 3, 10, 10);	/* this section has one interface */
	walk(f.b, whole, &eth, &w);
	ck_assert_int_eq(w.end, CS_PCAPFILE_END);
	ck_assert_int_eq(w.n, 2);
	walk(f.b, f.n, &eth, &w);
	expect_damage(&w, 2, "a packet arrived on interface 1, but there's no "
		      "Interface Description Block for that interface");

	f.n = whole;	/* a section of the other byte order (its length in
			 * this one's, or that would be the first complaint) */
	shb(&f, 1);
	patch32(&f, whole + 8, 0x4d3c2b1a);
	walk(f.b, f.n, &eth, &w);
	expect_damage(&w, 2, "the file has sections with different byte orders");
	f.n = whole;
	shb(&f, 2);
	walk(f.b, f.n, &eth, &w);
	expect_damage(&w, 2, "unknown pcapng savefile major version number 2");
	f.n = whole;
	shb(&f, 1);
	patch32(&f, whole + 8, 0x58585858);
	walk(f.b, f.n, &eth, &w);
	expect_damage(&w, 2, "the file has a section with a bad byte order magic "
		      "field");
}
END_TEST

/*
 * libpcap 1.10 reads one link type a file, and compares a later IDB's
 * LINKTYPE_ value with the first IDB's DLT_ value: LINKTYPE_RAW (101) is
 * DLT_RAW (12) on Linux, so a second LINKTYPE_RAW interface is refused.
 */
START_TEST(pcapng_later_interfaces_must_match_the_first)
{
	struct file f = { .big = _i };
	struct cs_pcapfile_params raw = { .dlt = CS_DLT_RAW, .max_caplen = 262144 };
	struct walked w;

	shb(&f, 1);
	idb(&f, 101, 0, NULL, 0);
	epb(&f, 0, 1, 10, 10);
	size_t one = f.n;
	idb(&f, 101, 0, NULL, 0);
	walk(f.b, f.n, &raw, &w);
	expect_damage(&w, 1, "an interface has a type 101 different from the type "
		      "of the first interface");

	f.n = 0;
	shb(&f, 1);
	idb(&f, 1, 0, NULL, 0);
	epb(&f, 0, 1, 10, 10);
	one = f.n;
	idb(&f, 1, 262144, NULL, 0);	/* 0 and 262144 are the same snap length */
	epb(&f, 1, 1, 10, 10);
	walk(f.b, f.n, &eth, &w);
	ck_assert_int_eq(w.end, CS_PCAPFILE_END);
	ck_assert_int_eq(w.n, 2);
	f.n = one;
	idb(&f, 1, 1500, NULL, 0);
	walk(f.b, f.n, &eth, &w);
	expect_damage(&w, 1, "an interface has a snapshot length 1500 different "
		      "from the snapshot length of the first interface");
	/* past the link type's 262144 is no 0: libpcap keeps it as written */
	f.n = one;
	idb(&f, 1, 262145, NULL, 0);
	walk(f.b, f.n, &eth, &w);
	expect_damage(&w, 1, "an interface has a snapshot length 262145 different "
		      "from the snapshot length of the first interface");
}
END_TEST

START_TEST(pcapng_opening_needs_an_interface_first)
{
	struct file f = { .big = _i };
	struct cs_pcapfile pf;
	char err[256];

	shb(&f, 1);
	ck_assert_int_eq(cs_pcapfile_open(&pf, f.b, f.n, &eth, err, sizeof err), -1);
	ck_assert_str_eq(err, "the capture file has no Interface Description Blocks");
	epb(&f, 0, 1, 10, 10);
	ck_assert_int_eq(cs_pcapfile_open(&pf, f.b, f.n, &eth, err, sizeof err), -1);
	ck_assert_str_eq(err, "the capture file has a packet block before any "
			 "Interface Description Blocks");
	f.n = 0;
	shb(&f, 2);
	ck_assert_int_eq(cs_pcapfile_open(&pf, f.b, f.n, &eth, err, sizeof err), -1);
	ck_assert_str_eq(err, "unsupported pcapng savefile version 2.0");
}
END_TEST

/*
 * Every prefix of a file: whole records before the cut are delivered, a
 * cut at a record boundary is a clean end, any other is damage, and
 * nothing is read past the cut (ASan builds see that).
 */
START_TEST(every_cut_ends_cleanly_or_as_damage)
{
	struct file f = { .big = _i & 1 };
	bool ng = _i & 2;
	size_t ends[8], n_ends = 0, head;

	if (ng) {
		shb(&f, 1);
		idb(&f, 1, 0, NULL, 0);
	} else {
		pcap_header(&f, 2, 4, 0);
	}
	head = f.n;
	for (int i = 0; i < 3; i++) {
		if (ng)
			epb(&f, 0, (uint64_t)i, 13, 13);
		else
			pcap_record(&f, (uint32_t)i, 0, 13, 13, 13);
		ends[n_ends++] = f.n;
	}
	for (size_t cut = head; cut <= f.n; cut++) {
		uint8_t *exact = malloc(cut);
		struct walked w;
		int whole = 0;

		ck_assert_ptr_nonnull(exact);
		memcpy(exact, f.b, cut);
		for (size_t k = 0; k < n_ends; k++)
			whole += ends[k] <= cut;
		walk(exact, cut, &eth, &w);
		ck_assert_int_eq(w.n, whole);
		bool boundary = cut == head || (whole && ends[whole - 1] == cut);
		ck_assert_int_eq(w.end, boundary ? CS_PCAPFILE_END : CS_PCAPFILE_DAMAGED);
		free(exact);
	}
}
END_TEST

Suite *pcapfile_suite(void)
{
	Suite *s = suite_create("pcapfile");
	TCase *tc = tcase_create("pcap");

	tcase_add_loop_test(tc, pcap_in_either_order_and_resolution, 0, 4);
	tcase_add_loop_test(tc, pcap_records_longer_than_the_snap_length_are_cut, 0, 2);
	tcase_add_loop_test(tc, pcap_damage_is_told_as_libpcap_tells_it, 0, 2);
	tcase_add_test(tc, pcap_old_versions_swap_caplen_and_len);
	tcase_add_test(tc, what_is_no_capture_file_does_not_open);
	suite_add_tcase(s, tc);

	tc = tcase_create("pcapng");
	tcase_add_loop_test(tc, pcapng_timestamps_follow_tsresol_and_tsoffset, 0,
			    (int)(2 * sizeof times / sizeof times[0]));
	tcase_add_loop_test(tc, pcapng_simple_and_obsolete_packet_blocks, 0, 2);
	tcase_add_loop_test(tc, pcapng_unknown_blocks_are_skipped, 0, 2);
	tcase_add_loop_test(tc, pcapng_block_lengths_that_lie, 0, 2);
	tcase_add_loop_test(tc, pcapng_packet_blocks_that_lie, 0, 2);
	tcase_add_loop_test(tc, pcapng_interface_options_are_checked, 0,
			    (int)(2 * sizeof bad_options / sizeof bad_options[0]));
	tcase_add_loop_test(tc, pcapng_an_option_past_its_block_is_caught, 0, 2);
	tcase_add_loop_test(tc, pcapng_sections_describe_their_own_interfaces, 0, 2);
	tcase_add_loop_test(tc, pcapng_later_interfaces_must_match_the_first, 0, 2);
	tcase_add_loop_test(tc, pcapng_opening_needs_an_interface_first, 0, 2);
	suite_add_tcase(s, tc);

	tc = tcase_create("cuts");
	tcase_add_loop_test(tc, every_cut_ends_cleanly_or_as_damage, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}
