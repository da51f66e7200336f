/*
 * check_source.c — the file path: pcap (µs, ns, either byte order) and
 * pcapng built in memory, opened through fmemopen, read through libpcap,
 * counted by the engine; damaged streams, impossible records, filters.
 * Then streams (pipes, FIFOs): read once, and a wait for their data that
 * a poke reaches and a stop ends; and filters compiled in a bounded child.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "analyzer/engine.h"
#include "capture/source.h"
#include "tests/pktbuild.h"
#include "tests/suites.h"

#define FRAMES 3

struct capture {
	uint8_t frames[FRAMES][256];
	struct pb_rec recs[FRAMES];
	uint8_t file[4096];
	size_t file_len;
};

/* A TCP/IPv4 SYN, a TCP/IPv6 SYN-ACK cut by an 80-byte snap length (headers
 * whole, payload cut), a UDP datagram. */
static void build_frames(struct capture *c)
{
	struct pb_spec s;
	size_t len;

	pb_spec_init(&s, 4);
	len = pb_build(&s, c->frames[0], sizeof c->frames[0]);
	c->recs[0] = (struct pb_rec){ .ts_ns = 1700000000123456789ull,
				      .bytes = c->frames[0], .caplen = (uint32_t)len };

	pb_spec_init(&s, 6);
	s.tcp.flags = CS_TH_SYN | CS_TH_ACK;
	s.payload_len = 100;
	len = pb_build(&s, c->frames[1], sizeof c->frames[1]);
	c->recs[1] = (struct pb_rec){ .ts_ns = 1700000001000000999ull,
				      .bytes = c->frames[1], .caplen = 80,
				      .wirelen = (uint32_t)len };

	pb_spec_init(&s, 4);
	s.l4 = PB_L4_UDP;
	len = pb_build(&s, c->frames[2], sizeof c->frames[2]);
	c->recs[2] = (struct pb_rec){ .ts_ns = 1700000002000000000ull,
				      .bytes = c->frames[2], .caplen = (uint32_t)len };
}

/* The file tests run three times: read by libpcap from a stream, and
 * walked as a regular file is (capture/pcapfile.c), in place (the
 * "walked" case) and read 100 bytes at a time (the "pieces" case: every
 * record straddles a refill of the source's buffer). */
static bool walk_files;
static size_t walk_chunk;

static void walked_setup(void)
{
	walk_files = true;
}

static void pieces_setup(void)
{
	walk_files = true;
	walk_chunk = 100;
}

static struct cs_source *open_mem(const uint8_t *buf, size_t len, char *err,
				  size_t errlen)
{
	struct cs_source *src = NULL;

	if (walk_files) {
		if (cs_source_open_memory(&src, buf, len, "mem.pcap", walk_chunk,
					  err, errlen))
			return NULL;
		return src;
	}
	FILE *f = fmemopen((void *)buf, len, "rb");

	ck_assert_ptr_nonnull(f);
	if (cs_source_open_stream(&src, f, "mem.pcap", err, errlen) != 0)
		return NULL;
	return src;
}

/* A small table: these tests need a handful of connections. */
static void engine_start(struct cs_engine *e)
{
	struct cs_engine_opts o;
	char err[128];

	cs_engine_opts_default(&o);
	o.flow.max_flows = 64;
	ck_assert_msg(cs_engine_init(e, &o, err, sizeof err) == 0, "%s", err);
}

struct collected {
	int n;
	struct cs_frame f[FRAMES * 2];
	struct cs_engine engine;
};

static void collect(void *ctx, const struct cs_frame *f)
{
	struct collected *c = ctx;

	if (c->n < FRAMES * 2)
		c->f[c->n++] = *f;
	cs_engine_frame(&c->engine, f);
}

/* Reads the whole source; returns the last read's verdict. */
static enum cs_read drain(struct cs_source *src, struct collected *out,
			  char *err, size_t errlen)
{
	enum cs_read rc;
	uint64_t n;

	memset(out, 0, sizeof *out);
	engine_start(&out->engine);
	do
		rc = cs_source_read(src, 2, collect, out, &n, err, errlen);
	while (rc == CS_READ_MORE);
	return rc;
}

/* Each file format, in each byte order and resolution. */
static const struct {
	bool pcapng, nanosec, big_endian;
} formats[] = {
	{ false, false, false }, { false, true, false },
	{ false, false, true },  { false, true, true },
	{ true, false, false },  { true, true, false }, { true, false, true },
};

START_TEST(every_format_delivers_the_same_frames)
{
	struct capture c;
	struct collected got;
	char err[256] = "";
	struct pb_file pf = { .dlt = CS_DLT_EN10MB, .nanosec = formats[_i].nanosec,
			      .big_endian = formats[_i].big_endian };

	build_frames(&c);
	c.file_len = formats[_i].pcapng
		? pb_pcapng_write(&pf, c.recs, FRAMES, c.file, sizeof c.file)
		: pb_pcap_write(&pf, c.recs, FRAMES, c.file, sizeof c.file);
	ck_assert_uint_gt(c.file_len, 0);

	struct cs_source *src = open_mem(c.file, c.file_len, err, sizeof err);
	ck_assert_msg(src != NULL, "%s", err);
	ck_assert_int_eq(cs_source_datalink(src), CS_DLT_EN10MB);
	ck_assert(!cs_source_is_live(src));
	ck_assert_int_eq(drain(src, &got, err, sizeof err), CS_READ_EOF);
	cs_source_close(src);

	ck_assert_int_eq(got.n, FRAMES);
	/* µs precision everywhere: ns files are scaled, not rounded up */
	ck_assert_uint_eq(got.f[0].ts_us, 1700000000123456ull);
	ck_assert_uint_eq(got.f[1].ts_us, 1700000001000000ull);
	ck_assert_uint_eq(got.f[1].caplen, 80);
	ck_assert_uint_eq(got.f[1].wirelen, c.recs[1].wirelen);
	ck_assert_int_eq(got.f[2].dlt, CS_DLT_EN10MB);

	const struct cs_stats *st = &got.engine.stats;
	ck_assert_uint_eq(st->packets, FRAMES);
	ck_assert_uint_eq(st->tcp_packets, 2);
	ck_assert_uint_eq(st->skipped[CS_SKIP_NOT_TCP], 1);
	ck_assert_uint_eq(st->truncated_frames, 1);
	ck_assert(cs_stats_balanced(st));
	cs_engine_finish(&got.engine);
	ck_assert_uint_eq(got.engine.conns.connections, 2);
	cs_engine_fini(&got.engine);
}
END_TEST

START_TEST(a_stream_cut_inside_a_record_is_damage)
{
	struct capture c;
	struct collected got;
	char err[256] = "";
	struct pb_file pf = { .dlt = CS_DLT_EN10MB };

	build_frames(&c);
	c.file_len = pb_pcap_write(&pf, c.recs, FRAMES, c.file, sizeof c.file);
	/* Cut 5 bytes into the third record's data. */
	size_t cut = c.file_len - c.recs[2].caplen + 5;

	struct cs_source *src = open_mem(c.file, cut, err, sizeof err);
	ck_assert_msg(src != NULL, "%s", err);
	ck_assert_int_eq(drain(src, &got, err, sizeof err), CS_READ_ERROR);
	cs_source_close(src);
	ck_assert_int_eq(got.n, 2);
	ck_assert_msg(strstr(err, "mem.pcap") && strstr(err, "after 2 packets"),
		      "message: %s", err);
	cs_engine_fini(&got.engine);
}
END_TEST

START_TEST(impossible_records_are_counted_not_fatal)
{
	struct capture c;
	struct collected got;
	char err[256] = "";
	struct pb_file pf = { .dlt = CS_DLT_EN10MB };

	build_frames(&c);
	c.recs[0].wirelen = c.recs[0].caplen - 1;	/* more captured than sent */
	c.recs[1].caplen = 0;				/* nothing captured */
	c.file_len = pb_pcap_write(&pf, c.recs, FRAMES, c.file, sizeof c.file);

	struct cs_source *src = open_mem(c.file, c.file_len, err, sizeof err);
	ck_assert_msg(src != NULL, "%s", err);
	ck_assert_int_eq(drain(src, &got, err, sizeof err), CS_READ_EOF);
	cs_source_close(src);

	const struct cs_stats *st = &got.engine.stats;
	ck_assert_uint_eq(st->packets, FRAMES);
	ck_assert_uint_eq(st->skipped[CS_SKIP_BAD_RECORD], 2);
	ck_assert_uint_eq(st->skipped[CS_SKIP_NOT_TCP], 1);	/* read on */
	ck_assert(cs_stats_balanced(st));
	cs_engine_fini(&got.engine);
}
END_TEST

START_TEST(not_a_capture_is_refused_at_open)
{
	static const uint8_t text[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	char err[256] = "";

	ck_assert_ptr_null(open_mem(text, sizeof text, err, sizeof err));
	ck_assert_msg(strstr(err, "mem.pcap") != NULL, "message: %s", err);
}
END_TEST

START_TEST(filter_and_count_limit_what_is_delivered)
{
	struct capture c;
	struct collected got;
	char err[256] = "";
	struct pb_file pf = { .dlt = CS_DLT_EN10MB };
	uint64_t n;

	build_frames(&c);
	c.file_len = pb_pcap_write(&pf, c.recs, FRAMES, c.file, sizeof c.file);

	struct cs_source *src = open_mem(c.file, c.file_len, err, sizeof err);
	ck_assert_msg(src != NULL, "%s", err);
	ck_assert_int_eq(cs_source_set_filter(src, "udp", err, sizeof err), 0);
	ck_assert_int_eq(drain(src, &got, err, sizeof err), CS_READ_EOF);
	ck_assert_int_eq(got.n, 1);
	cs_engine_fini(&got.engine);
	ck_assert_int_ne(cs_source_set_filter(src, "udp and and", err, sizeof err), 0);
	ck_assert_msg(strstr(err, "'udp and and'") != NULL, "message: %s", err);
	cs_source_close(src);

	src = open_mem(c.file, c.file_len, err, sizeof err);
	ck_assert_ptr_nonnull(src);
	memset(&got, 0, sizeof got);
	engine_start(&got.engine);
	ck_assert_int_eq(cs_source_read(src, 2, collect, &got, &n, err, sizeof err),
			 CS_READ_MORE);
	ck_assert_uint_eq(n, 2);
	cs_source_breakloop(src);
	ck_assert_int_eq(cs_source_read(src, 2, collect, &got, &n, err, sizeof err),
			 CS_READ_BROKEN);
	ck_assert_uint_eq(n, 0);
	cs_source_close(src);
	cs_engine_fini(&got.engine);
}
END_TEST

/* An ICMP (ICMPv6 for ip_ver 6) error of type, quoting a SYN to dport
 * with quote_len bytes of it (0: all), into frame; returns its length. */
static size_t icmp_error(uint8_t *frame, size_t cap, int ip_ver, uint8_t type,
			 uint16_t dport, size_t quote_len, bool tagged)
{
	struct pb_spec quote, err;

	pb_spec_init(&quote, ip_ver);
	quote.tcp.dport = dport;
	pb_spec_init(&err, ip_ver);
	memcpy(err.src, quote.dst, sizeof err.src);	/* the host answers */
	memcpy(err.dst, quote.src, sizeof err.dst);
	err.l4 = PB_L4_ICMP;
	err.icmp.type = type;
	err.icmp.code = ip_ver == 4 ? 3 : 4;		/* port unreachable */
	err.icmp.quote = &quote;
	err.icmp.quote_len = quote_len;
	if (tagged)
		ck_assert(pb_vlan_add(&err, 0x8100, 7));
	return pb_build(&err, frame, cap);
}

/*
 * A filter keeps the ICMP errors whose quoted segment it matches: they
 * explain why its SYNs failed.  Of these seven frames, with 'tcp port 80':
 *   0 a SYN to port 80                              kept (the filter's own)
 *   1 port unreachable quoting a SYN to 80, whole   kept
 *   2 port unreachable quoting a SYN to 81          not
 *   3 ICMPv6 port unreachable quoting a SYN to 80   kept
 *   4 ICMP echo request (no error)                  not
 *   5 as 1, in a VLAN-tagged frame                  not (the ICMP part of
 *     the installed filter cannot say "vlan": docs/DESIGN.md, Filters)
 *   6 time exceeded quoting 8 bytes of TCP to 80    kept (ports are there)
 * so 1 TCP segment and 3 ICMP errors.  With 'tcp port 80 and tcp[13] = 2'
 * (a bare SYN) the quote of 6 ends before the flags (byte 13 of 8), and
 * libpcap's tcp[] reads IPv4 only (tcpdump -r samples/unreachable.pcap
 * with it prints the IPv4 SYN alone), so 3 is not kept either: 1 + 1.
 */
START_TEST(a_filter_keeps_the_icmp_errors_about_what_it_keeps)
{
	enum { N = 7 };
	static uint8_t frames[N][256], file[8192];
	struct pb_rec recs[N];
	struct pb_file pf = { .dlt = CS_DLT_EN10MB };
	struct pb_spec s;
	size_t len[N];

	pb_spec_init(&s, 4);
	len[0] = pb_build(&s, frames[0], sizeof frames[0]);
	len[1] = icmp_error(frames[1], sizeof frames[1], 4, 3, 80, 0, false);
	len[2] = icmp_error(frames[2], sizeof frames[2], 4, 3, 81, 0, false);
	len[3] = icmp_error(frames[3], sizeof frames[3], 6, 1, 80, 0, false);
	pb_spec_init(&s, 4);
	s.l4 = PB_L4_ICMP;
	s.icmp.type = 8;
	len[4] = pb_build(&s, frames[4], sizeof frames[4]);
	len[5] = icmp_error(frames[5], sizeof frames[5], 4, 3, 80, 0, true);
	len[6] = icmp_error(frames[6], sizeof frames[6], 4, 11, 80, 20 + 8, false);
	for (int i = 0; i < N; i++) {
		ck_assert_uint_gt(len[i], 0);
		recs[i] = (struct pb_rec){ .ts_ns = 1700000000000000000ull + i * 1000u,
					   .bytes = frames[i],
					   .caplen = (uint32_t)len[i] };
	}
	size_t file_len = pb_pcap_write(&pf, recs, N, file, sizeof file);
	ck_assert_uint_gt(file_len, 0);

	static const struct {
		const char *filter;
		uint64_t tcp, icmp;
	} cases[] = {
		{ "tcp port 80", 1, 3 },
		{ "tcp port 80 and tcp[13] = 2", 1, 1 },
		{ "udp", 0, 0 },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct collected got;
		char err[256] = "";
		struct cs_source *src = open_mem(file, file_len, err, sizeof err);
		ck_assert_msg(src != NULL, "%s", err);
		ck_assert_int_eq(cs_source_set_filter(src, cases[i].filter, err,
						      sizeof err), 0);
		ck_assert_int_eq(drain(src, &got, err, sizeof err), CS_READ_EOF);
		ck_assert_msg(got.engine.stats.tcp_packets == cases[i].tcp &&
			      got.engine.stats.icmp_errors == cases[i].icmp &&
			      got.engine.stats.packets == cases[i].tcp + cases[i].icmp,
			      "'%s': %llu segments, %llu ICMP errors, %llu packets; "
			      "want %llu, %llu", cases[i].filter,
			      (unsigned long long)got.engine.stats.tcp_packets,
			      (unsigned long long)got.engine.stats.icmp_errors,
			      (unsigned long long)got.engine.stats.packets,
			      (unsigned long long)cases[i].tcp,
			      (unsigned long long)cases[i].icmp);
		cs_engine_fini(&got.engine);
		cs_source_close(src);
	}
}
END_TEST

/*
 * libpcap compiles no filter at all for NFLOG ("NFLOG link-layer type
 * filtering not implemented"), and no "vlan" for PPP: the message names
 * the file, the link type and what to do, not an invalid expression.  A
 * mistake in the expression is still called invalid.
 */
START_TEST(a_filter_libpcap_cannot_compile_there_says_so)
{
	static const struct { int dlt; const char *filter, *link; } cases[] = {
		{ CS_DLT_NFLOG, "tcp", "link type NFLOG (NFLOG link-layer type filtering "
				       "not implemented)" },
		{ CS_DLT_PPP, "vlan and tcp", "link type PPP (no VLAN support for PPP)" },
	};
	struct capture c;
	char err[512] = "";

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct pb_spec s;
		struct pb_file pf = { .dlt = cases[i].dlt };
		pb_spec_init(&s, 4);
		s.dlt = cases[i].dlt;
		size_t len = pb_build(&s, c.frames[0], sizeof c.frames[0]);
		ck_assert_uint_gt(len, 0);
		c.recs[0] = (struct pb_rec){ .ts_ns = 1700000000000000000ull,
					     .bytes = c.frames[0], .caplen = (uint32_t)len };
		c.file_len = pb_pcap_write(&pf, c.recs, 1, c.file, sizeof c.file);

		struct cs_source *src = open_mem(c.file, c.file_len, err, sizeof err);
		ck_assert_msg(src != NULL, "%s", err);
		ck_assert_int_ne(cs_source_set_filter(src, cases[i].filter, err,
						      sizeof err), 0);
		ck_assert_msg(strstr(err, "cannot apply filter") && strstr(err, "'mem.pcap'") &&
			      strstr(err, cases[i].link) && strstr(err, "without -f"),
			      "message: %s", err);
		ck_assert_int_ne(cs_source_set_filter(src, "tcp and and", err, sizeof err), 0);
		ck_assert_msg(strstr(err, "invalid filter 'tcp and and'"), "message: %s", err);
		cs_source_close(src);
	}
}
END_TEST

/* ---- streams ---------------------------------------------------------------- */

/* A FIFO in a fresh folder; *dir is to be removed after. */
static void make_fifo(char *dir, size_t dirlen, char *path, size_t len)
{
	snprintf(dir, dirlen, "/tmp/connscope-source-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, len, "%s/in", dir);
	ck_assert_int_eq(mkfifo(path, 0600), 0);
}

/*
 * A FIFO whose writer sends three bytes and closes: libpcap refuses the
 * header, and the reason comes from the bytes that passed.  Opening the
 * FIFO again to look (what the source did) would wait for a writer that
 * never comes: this test would hang.
 */
START_TEST(a_fifo_is_opened_once_and_its_short_header_explained)
{
	char dir[64], path[96], err[256] = "";
	struct cs_source *src;

	make_fifo(dir, sizeof dir, path, sizeof path);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		int fd = open(path, O_WRONLY);
		_exit(fd >= 0 && write(fd, "abc", 3) == 3 ? 0 : 1);
	}
	alarm(20);	/* a hang fails here, not after Check's long timeout */
	ck_assert_int_ne(cs_source_open_file(&src, path, NULL, err, sizeof err), 0);
	alarm(0);
	waitpid(pid, NULL, 0);
	ck_assert_msg(strstr(err, "only 3 bytes, too short"), "message: %s", err);
	unlink(path);
	rmdir(dir);
}
END_TEST

/* Counts frames and checks each is the record written for it. */
struct counted_frames {
	uint64_t n, bad;
	const uint8_t *payload;
	uint32_t len;
};

static void count_frame(void *ctx, const struct cs_frame *f)
{
	struct counted_frames *c = ctx;

	/* record i is at second 1700000000 + i, its first byte i % 251 */
	if (f->caplen != c->len || f->ts_us != (1700000000 + c->n) * 1000000 ||
	    f->bytes[0] != (uint8_t)(c->n % 251) ||
	    memcmp(f->bytes + 1, c->payload + 1, c->len - 1) != 0)
		c->bad++;
	c->n++;
}

/*
 * A classic pcap of n records of len bytes, as count_frame expects them:
 * record i at second 1700000000 + i, its first byte i % 251, the rest
 * frame's bytes (i * 7).  file holds exactly 24 + n * (16 + len) bytes.
 */
static void numbered_pcap(uint8_t *frame, size_t len, struct pb_rec *recs, int n,
			  uint8_t *file, size_t file_len)
{
	struct pb_file pf = { .dlt = CS_DLT_EN10MB };

	for (size_t i = 0; i < len; i++)
		frame[i] = (uint8_t)(i * 7);
	for (int i = 0; i < n; i++)
		recs[i] = (struct pb_rec){ .ts_ns = (1700000000ull + (uint64_t)i) *
					   1000000000ull, .bytes = frame,
					   .caplen = (uint32_t)len };
	ck_assert_uint_eq(pb_pcap_write(&pf, recs, (size_t)n, file, file_len), file_len);
	for (int i = 0; i < n; i++)
		file[24 + (size_t)i * (16 + len) + 16] = (uint8_t)(i % 251);
}

/* A new file under /tmp named after pattern (its XXXXXX replaced) with
 * the len bytes of file. */
static void temp_file(char *pattern, const uint8_t *file, size_t len)
{
	int fd = mkstemp(pattern);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, file, len), (ssize_t)len);
	close(fd);
}

/*
 * A regular file of a few MiB, read as connscope -r reads one: in 1 MiB
 * pieces, each walked.  Every record comes
 * whole and in order, and the progress reaches the file's size.
 */
START_TEST(a_regular_file_is_walked_to_its_end)
{
	enum { RECS = 3000, LEN = 1000 };
	static uint8_t frame[LEN], file[24 + RECS * (16 + LEN)];
	static struct pb_rec recs[RECS];
	char path[] = "/tmp/connscope-walk-XXXXXX", err[256] = "";
	struct counted_frames got = { .payload = frame, .len = LEN };
	uint64_t done = 0, total = 0, last = 0, n;
	size_t len = sizeof file;
	struct cs_source *src;
	enum cs_read rc;

	numbered_pcap(frame, LEN, recs, RECS, file, len);
	temp_file(path, file, len);

	ck_assert_msg(cs_source_open_file(&src, path, NULL, err, sizeof err) == 0,
		      "%s", err);
	do {
		rc = cs_source_read(src, 100, count_frame, &got, &n, err, sizeof err);
		ck_assert_int_eq(cs_source_progress(src, &done, &total), 0);
		ck_assert_uint_ge(done, last);	/* it only moves on */
		last = done;
	} while (rc == CS_READ_MORE);
	ck_assert_int_eq(rc, CS_READ_EOF);
	ck_assert_uint_eq(got.n, RECS);
	ck_assert_uint_eq(got.bad, 0);
	ck_assert_uint_eq(done, len);
	ck_assert_uint_eq(total, len);
	cs_source_close(src);
	unlink(path);
}
END_TEST

/* Counts frames as count_frame does, and cuts the file to cut bytes
 * after the fifth: another program truncating it while it is read. */
struct cutter {
	struct counted_frames got;
	const char *path;
	off_t cut;
};

static void count_and_cut(void *ctx, const struct cs_frame *f)
{
	struct cutter *c = ctx;

	count_frame(&c->got, f);
	if (c->got.n == 5)
		ck_assert_int_eq(truncate(c->path, c->cut), 0);
}

/*
 * logrotate's copytruncate cuts a capture file connscope is reading.  A
 * file read in pieces (1 MiB, or 100 bytes: every record then straddles a
 * read) ends where the file now ends: the records whole before the cut
 * are delivered and the one it cuts is damage, told as libpcap tells it.
 * A mapped file raised SIGBUS here instead.
 */
START_TEST(a_file_cut_while_read_ends_as_damage)
{
	enum { RECS = 8000, LEN = 1000, REC = 16 + LEN };
	static uint8_t frame[LEN], file[24 + RECS * REC];
	static struct pb_rec recs[RECS];
	char path[] = "/tmp/connscope-cut-XXXXXX", err[512] = "", want[512];
	struct cutter c = { .got = { .payload = frame, .len = LEN } };
	struct cs_source *src;
	enum cs_read rc;
	uint64_t n;

	numbered_pcap(frame, LEN, recs, RECS, file, sizeof file);
	temp_file(path, file, sizeof file);
	/* past the first 1 MiB read, inside record 5160's bytes:
	 * 5 MiB + 100 - 24 = 5160 * 1016 + 396, 16 of them its header */
	c.path = path;
	c.cut = (5 << 20) + 100;
	size_t whole = (size_t)(c.cut - 24) / REC, in_rec = (size_t)(c.cut - 24) % REC;
	ck_assert_uint_ge(in_rec, 16);
	snprintf(want, sizeof want, "'%s' is damaged after %zu packets: truncated "
		 "dump file; tried to read %d captured bytes, only got %zu",
		 path, whole, LEN, in_rec - 16);

	ck_assert_msg(cs_source_open_file_read(&src, path, NULL, _i ? 100 :
					       CS_SOURCE_READ_CHUNK, err,
					       sizeof err) == 0, "%s", err);
	do
		rc = cs_source_read(src, 100, count_and_cut, &c, &n, err, sizeof err);
	while (rc == CS_READ_MORE);
	ck_assert_int_eq(rc, CS_READ_ERROR);
	ck_assert_str_eq(err, want);
	ck_assert_uint_eq(c.got.n, whole);
	ck_assert_uint_eq(c.got.bad, 0);
	cs_source_close(src);
	unlink(path);
}
END_TEST

/* Counts frames, and appends the records of more to the file after the
 * second: a capture still being written while it is read. */
struct grower {
	struct counted_frames got;
	const char *path;
	const uint8_t *more;
	size_t more_len;
};

static void count_and_grow(void *ctx, const struct cs_frame *f)
{
	struct grower *g = ctx;

	count_frame(&g->got, f);
	if (g->got.n != 2)
		return;
	int fd = open(g->path, O_WRONLY | O_APPEND);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, g->more, g->more_len), (ssize_t)g->more_len);
	close(fd);
}

/*
 * A capture written while it is read is read to wherever the writer is
 * when the reads reach its end, as libpcap's fread reads it: 3 records at
 * open, 3 more appended after the second frame, 6 frames.  The mapped
 * walker stopped at the size the file had at open (3).
 */
START_TEST(a_file_written_while_read_is_read_on)
{
	enum { RECS = 6, LEN = 100, REC = 16 + LEN };
	static uint8_t frame[LEN], file[24 + RECS * REC];
	static struct pb_rec recs[RECS];
	char path[] = "/tmp/connscope-grow-XXXXXX", err[512] = "";
	struct grower g = { .got = { .payload = frame, .len = LEN } };
	size_t first = 24 + 3 * REC;	/* the header and 3 records */
	struct cs_source *src;
	enum cs_read rc;
	uint64_t n;

	numbered_pcap(frame, LEN, recs, RECS, file, sizeof file);
	temp_file(path, file, first);
	g.path = path;
	g.more = file + first;
	g.more_len = sizeof file - first;

	ck_assert_msg(cs_source_open_file(&src, path, NULL, err, sizeof err) == 0,
		      "%s", err);
	do
		rc = cs_source_read(src, 1, count_and_grow, &g, &n, err, sizeof err);
	while (rc == CS_READ_MORE);
	ck_assert_msg(rc == CS_READ_EOF, "%d: %s", rc, err);
	ck_assert_uint_eq(g.got.n, RECS);
	ck_assert_uint_eq(g.got.bad, 0);
	cs_source_close(src);
	unlink(path);
}
END_TEST

struct stopper {
	struct cs_wake *wake;
	int pokes;		/* the source's callback counts them */
};

static void counted(void *ctx)
{
	struct stopper *s = ctx;

	s->pokes++;
}

static void nap_ms(long ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000 };

	nanosleep(&t, NULL);
}

/* A poke, then a stop, to a reader blocked on an idle stream. */
static void *poke_then_stop(void *arg)
{
	struct stopper *s = arg;

	nap_ms(200);
	cs_wake_poke(s->wake);
	nap_ms(200);
	cs_wake_stop(s->wake);
	return NULL;
}

/*
 * A pipe that has sent a capture header and one record, and is quiet: the
 * read that waits for more calls back on a poke and ends on a stop, as
 * CS_READ_BROKEN (a stop, not damage), with the frame it had.
 */
START_TEST(a_stop_ends_a_wait_on_an_idle_stream)
{
	struct capture c;
	struct collected got;
	struct cs_wake wake;
	struct stopper st = { .wake = &wake };
	struct pb_file pf = { .dlt = CS_DLT_EN10MB };
	char err[256] = "", path[64];
	int fd[2];
	uint64_t n;
	pthread_t t;

	build_frames(&c);
	c.file_len = pb_pcap_write(&pf, c.recs, 1, c.file, sizeof c.file);
	ck_assert_int_eq(pipe(fd), 0);
	ck_assert_int_eq(write(fd[1], c.file, c.file_len), (ssize_t)c.file_len);
	ck_assert_int_eq(cs_wake_init(&wake, err, sizeof err), 0);
	const struct cs_source_wait wait = { &wake, counted, &st };
	snprintf(path, sizeof path, "/dev/fd/%d", fd[0]);

	struct cs_source *src;
	ck_assert_msg(cs_source_open_file(&src, path, &wait, err, sizeof err) == 0, "%s", err);
	ck_assert(cs_source_is_stream(src));
	memset(&got, 0, sizeof got);
	engine_start(&got.engine);
	ck_assert_int_eq(pthread_create(&t, NULL, poke_then_stop, &st), 0);
	alarm(20);
	enum cs_read rc = cs_source_read(src, -1, collect, &got, &n, err, sizeof err);
	alarm(0);
	pthread_join(t, NULL);
	ck_assert_msg(rc == CS_READ_BROKEN, "read: %d (%s)", rc, err);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_ge(st.pokes, 1);
	/* stopped for good: the next read does not wait */
	ck_assert_int_eq(cs_source_read(src, -1, collect, &got, &n, err, sizeof err),
			 CS_READ_BROKEN);
	cs_source_close(src);
	close(fd[0]);
	close(fd[1]);
	cs_wake_fini(&wake);
	cs_engine_fini(&got.engine);
}
END_TEST

/* A stop made before the wait began is not lost (a flag checked before a
 * blocking read would be); a poke wakes once. */
START_TEST(a_wake_keeps_a_stop_made_before_the_wait)
{
	struct cs_wake w;
	char err[128];
	int fd[2];

	ck_assert_int_eq(pipe(fd), 0);
	ck_assert_int_eq(cs_wake_init(&w, err, sizeof err), 0);
	ck_assert_int_eq(cs_wake_wait(&w, fd[0], 0), CS_WAIT_TIMEOUT);
	cs_wake_poke(&w);
	ck_assert_int_eq(cs_wake_wait(&w, fd[0], -1), CS_WAIT_POKED);
	ck_assert_int_eq(cs_wake_wait(&w, fd[0], 0), CS_WAIT_TIMEOUT);
	ck_assert_int_eq(write(fd[1], "x", 1), 1);
	ck_assert_int_eq(cs_wake_wait(&w, fd[0], -1), CS_WAIT_READY);
	cs_wake_stop(&w);
	ck_assert(cs_wake_stopped(&w));
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(cs_wake_wait(&w, fd[0], -1), CS_WAIT_STOPPED);
	cs_wake_fini(&w);
	close(fd[0]);
	close(fd[1]);
}
END_TEST

/* ---- filters in a bounded child ------------------------------------------------ */

static struct cs_source *source_of(int dlt, struct capture *c, char *err, size_t errlen)
{
	struct pb_file pf = { .dlt = dlt };

	build_frames(c);
	c->file_len = pb_pcap_write(&pf, c->recs, FRAMES, c->file, sizeof c->file);
	return open_mem(c->file, c->file_len, err, errlen);
}

/* 400 "port N" terms: half a minute of libpcap's optimizer, 70 MB. */
static char *port_list(int terms)
{
	char *f = malloc((size_t)terms * 16);
	size_t len = 0;

	ck_assert_ptr_nonnull(f);
	for (int i = 1; i <= terms; i++)
		len += (size_t)sprintf(f + len, "%sport %d", i > 1 ? " or " : "", i);
	return f;
}

START_TEST(filters_compile_in_a_bounded_child)
{
	struct capture c, raw;
	struct cs_filter_bounds b;
	struct cs_filter *f;
	struct cs_wake wake;
	char err[512] = "";
	struct cs_source *eth = source_of(CS_DLT_EN10MB, &c, err, sizeof err);
	struct cs_source *ip = source_of(CS_DLT_RAW, &raw, err, sizeof err);

	ck_assert_ptr_nonnull(eth);
	ck_assert_ptr_nonnull(ip);
	cs_filter_bounds_default(&b);
	ck_assert_int_eq(cs_filter_compile(&f, eth, "tcp", &b, err, sizeof err), CS_FILTER_OK);
	ck_assert(cs_filter_fits(f, eth));
	ck_assert(!cs_filter_fits(f, ip));
	ck_assert_int_eq(cs_source_apply_filter(eth, f, "tcp", err, sizeof err), 0);
	cs_filter_free(f);

	/* wrong in itself, or only for a link type: Ethernet tells them apart */
	ck_assert_int_eq(cs_filter_compile(&f, eth, "tcp and", &b, err, sizeof err),
			 CS_FILTER_INVALID);
	ck_assert_msg(strstr(err, "invalid filter 'tcp and'"), "%s", err);
	ck_assert_int_eq(cs_filter_compile(&f, ip, "tcp and", &b, err, sizeof err),
			 CS_FILTER_INVALID);
	ck_assert_int_eq(cs_filter_compile(&f, ip, "ether host 1:2:3:4:5:6", &b, err,
					   sizeof err), CS_FILTER_NOT_FOR_LINKTYPE);
	ck_assert_msg(strstr(err, "link type RAW") && strstr(err, "'mem.pcap'"), "%s", err);

	/* past a CPU bound of one second: too complex, said so */
	char *big = port_list(400);
	b.limits.cpu_sec = 1;
	ck_assert_int_eq(cs_filter_compile(&f, eth, big, &b, err, sizeof err),
			 CS_FILTER_TOO_COMPLEX);
	ck_assert_msg(strstr(err, "too complex") && strstr(err, "characters)"), "%s", err);
	/* a stopped wake: no compilation at all */
	ck_assert_int_eq(cs_wake_init(&wake, err, sizeof err), 0);
	cs_wake_stop(&wake);
	b.wake = &wake;
	ck_assert_int_eq(cs_filter_compile(&f, eth, "tcp", &b, err, sizeof err),
			 CS_FILTER_STOPPED);
	cs_wake_fini(&wake);
	free(big);
	cs_source_close(eth);
	cs_source_close(ip);
}
END_TEST

/* A stop while the child compiles kills it at once. */
static void *stop_soon(void *arg)
{
	nap_ms(300);
	cs_wake_stop(arg);
	return NULL;
}

START_TEST(a_stop_kills_a_compilation)
{
	struct capture c;
	struct cs_filter_bounds b;
	struct cs_filter *f;
	struct cs_wake wake;
	char err[512] = "";
	pthread_t t;
	struct cs_source *eth = source_of(CS_DLT_EN10MB, &c, err, sizeof err);
	char *big = port_list(400);

	ck_assert_ptr_nonnull(eth);
	ck_assert_int_eq(cs_wake_init(&wake, err, sizeof err), 0);
	cs_filter_bounds_default(&b);
	b.wake = &wake;
	ck_assert_int_eq(pthread_create(&t, NULL, stop_soon, &wake), 0);
	alarm(15);	/* the compilation alone takes longer */
	ck_assert_int_eq(cs_filter_compile(&f, eth, big, &b, err, sizeof err),
			 CS_FILTER_STOPPED);
	alarm(0);
	pthread_join(t, NULL);
	ck_assert_int_eq(waitpid(-1, NULL, WNOHANG), -1);	/* no child left */
	cs_wake_fini(&wake);
	free(big);
	cs_source_close(eth);
}
END_TEST

/* The file tests, run three ways: read by libpcap, walked whole, walked
 * in pieces (the fixtures choose). */
static void add_file_tests(TCase *tc)
{
	tcase_add_loop_test(tc, every_format_delivers_the_same_frames, 0,
			    (int)(sizeof formats / sizeof formats[0]));
	tcase_add_test(tc, a_stream_cut_inside_a_record_is_damage);
	tcase_add_test(tc, impossible_records_are_counted_not_fatal);
	tcase_add_test(tc, not_a_capture_is_refused_at_open);
	tcase_add_test(tc, a_filter_keeps_the_icmp_errors_about_what_it_keeps);
	tcase_add_test(tc, filter_and_count_limit_what_is_delivered);
	tcase_add_test(tc, a_filter_libpcap_cannot_compile_there_says_so);
}

Suite *source_suite(void)
{
	Suite *s = suite_create("source");
	TCase *tc = tcase_create("files");

	add_file_tests(tc);
	tcase_add_test(tc, a_fifo_is_opened_once_and_its_short_header_explained);
	tcase_add_test(tc, a_stop_ends_a_wait_on_an_idle_stream);
	tcase_add_test(tc, a_wake_keeps_a_stop_made_before_the_wait);
	tcase_add_test(tc, filters_compile_in_a_bounded_child);
	tcase_add_test(tc, a_stop_kills_a_compilation);
	suite_add_tcase(s, tc);

	tc = tcase_create("files walked");
	tcase_add_checked_fixture(tc, walked_setup, NULL);
	add_file_tests(tc);
	tcase_add_test(tc, a_regular_file_is_walked_to_its_end);
	tcase_add_loop_test(tc, a_file_cut_while_read_ends_as_damage, 0, 2);
	tcase_add_test(tc, a_file_written_while_read_is_read_on);
	suite_add_tcase(s, tc);

	tc = tcase_create("files read in pieces");
	tcase_add_checked_fixture(tc, pieces_setup, NULL);
	add_file_tests(tc);
	suite_add_tcase(s, tc);
	return s;
}
