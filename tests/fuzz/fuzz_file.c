/*
 * fuzz_file.c — a whole capture file through what connscope -r does.
 *
 * The input is a pcap or pcapng file, walked in memory as connscope -r
 * walks a regular file (cs_source_open_memory: capture/pcapfile.c), or
 * read by libpcap (fmemopen + cs_source_open_stream) when the walker
 * leaves it to libpcap, or one compressed with
 * gzip, zstd or xz, decompressed on the way as connscope -r does
 * (capture/unpack.c: told by the first bytes), and read by the run
 * driver (analyzer/run/driver.c) as connscope reads a file: libpcap's file
 * readers, the source's record checks, the readahead thread's decoded
 * batches, the engine on a 64-record table, the writer thread with the
 * streamed JSON report and conn.log, the dashboard's snapshots (rendered
 * as the API would), the end of the run and the text report.  The JSON
 * report and replies must be strict JSON; the other outputs go to
 * /dev/null: the point there is that writing them reads nothing it must
 * not.
 *
 * First, the walker is held to libpcap's reading on the same bytes, in
 * place and read in small pieces: the same frames (time, lengths, bytes),
 * the same end, the same message and count for a damaged file.  Any
 * difference aborts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/run/driver.h"
#include "capture/source.h"
#include "capture/unpack.h"
#include "tests/fuzz/fuzz.h"
#include "tests/fuzz/json_check.h"

static struct cs_run run;	/* the engine is large: kept off the stack */

static void render(void *ctx, struct cs_snapshot *s)
{
	(void)ctx;
	fuzz_render_snapshot(s);
	cs_snapshot_unref(s);
}

/* ---- the walker against libpcap ----------------------------------------- */

/* What a read of a whole file gave: a digest of every frame, the end. */
struct reading {
	uint64_t frames;
	uint64_t digest;
	enum cs_read end;
	char err[512];
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ull;	/* FNV-1a's prime, a word at a time */
}

static void on_frame(void *ctx, const struct cs_frame *f)
{
	struct reading *r = ctx;
	uint64_t h = mix(mix(mix(mix(r->digest, r->frames), f->ts_us),
			     f->ts_invalid), (uint64_t)f->caplen << 32 | f->wirelen);

	for (uint32_t i = 0; i < f->caplen; i++)
		h = mix(h, f->bytes[i]);
	r->digest = mix(h, (uint64_t)(unsigned)f->dlt);
	r->frames++;
}

/* Reads s to its end in chunks of 7 frames (as the readahead reads in
 * batches), and closes it. */
static void read_all(struct cs_source *s, struct reading *r)
{
	uint64_t n;

	memset(r, 0, sizeof *r);
	r->digest = 0xcbf29ce484222325ull;
	do
		r->end = cs_source_read(s, 7, on_frame, r, &n, r->err, sizeof r->err);
	while (r->end == CS_READ_MORE);
	cs_source_close(s);
}

static void differ(const char *how, const struct reading *a,
		   const struct reading *b)
{
	if (a->frames == b->frames && a->digest == b->digest && a->end == b->end &&
	    (a->end != CS_READ_ERROR || !strcmp(a->err, b->err)))
		return;
	fprintf(stderr, "fuzz: the walker %s read %" PRIu64 " frames (end %d: "
		"%s), libpcap %" PRIu64 " (end %d: %s)%s\n", how, a->frames, a->end,
		a->err, b->frames, b->end, b->err, a->digest != b->digest ?
		"; the frames differ" : "");
	abort();
}

/* The walker with the input read in pieces of 1 to 256 bytes (the last
 * byte says how many), as a file is read: each record then straddles
 * refills of the source's buffer, and must read as libpcap read it. */
static void pieces_as_libpcap(const uint8_t *data, size_t size,
			      const struct reading *b)
{
	struct cs_source *pieces;
	struct reading c;
	char err[512];

	if (cs_source_open_memory(&pieces, data, size, "fuzz.pcap",
				  (size_t)data[size - 1] + 1, err, sizeof err))
		return;		/* a header longer than the first piece */
	read_all(pieces, &c);
	differ("in pieces", &c, b);
}

static void walker_as_libpcap(const uint8_t *data, size_t size)
{
	struct cs_source *walked, *pcap;
	struct reading a, b;
	char err[512];

	if (cs_source_open_memory(&walked, data, size, "fuzz.pcap", 0, err,
				  sizeof err))
		return;		/* not a file libpcap opens, or left to libpcap */
	FILE *f = fmemopen((void *)(uintptr_t)data, size, "rb");
	if (!f || cs_source_open_stream(&pcap, f, "fuzz.pcap", err, sizeof err)) {
		fprintf(stderr, "fuzz: libpcap cannot open what it opened: %s\n", err);
		abort();
	}
	read_all(walked, &a);
	read_all(pcap, &b);
	differ("in place", &a, &b);
	pieces_as_libpcap(data, size, &b);
}

/* The source connscope -r would read these bytes with. */
static int open_source(struct cs_source **s, const uint8_t *data, size_t size,
		       const char *name, char *err, size_t errlen)
{
	if (cs_source_open_memory(s, data, size, name, 0, err, errlen) == 0)
		return 0;
	/* read-only: fmemopen's buffer is not const only because of "w" */
	FILE *f = fmemopen((void *)(uintptr_t)data, size, "rb");
	if (!f)
		return -1;
	enum cs_unpack_kind kind = cs_unpack_detect(data, size);
	if (kind != CS_UNPACK_NONE) {
		struct cs_unpack *u;
		FILE *unpacked = cs_unpack_open(f, kind, &u);
		if (!unpacked) {
			fclose(f);
			return -1;
		}
		f = unpacked;
	}
	return cs_source_open_stream(s, f, name, err, errlen);	/* f is closed */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "fuzz.pcap" };
	struct cs_run_config cfg = {
		.files = names, .file_cnt = 1,
		.connlog.stream = fuzz_sink(), .text.stream = fuzz_sink(),
		.colour = CS_RUN_COLOUR_ALWAYS, .publish = render,
	};
	struct cs_source *s;
	char *json_text;
	size_t json_len;
	char err[512] = "out of memory";

	if (size == 0)	/* fmemopen needs a buffer */
		return 0;
	walker_as_libpcap(data, size);
	if (open_source(&s, data, size, names[0], err, sizeof err) != 0)
		return 0;

	fuzz_engine_opts(&cfg.engine);
	cfg.engine.keep_recent = true;
	if (!(cfg.json.stream = open_memstream(&json_text, &json_len)) ||
	    cs_run_init(&run, &cfg, err, sizeof err) != 0) {
		fprintf(stderr, "fuzz: cannot set up a run: %s\n", err);
		abort();
	}
	cs_run_read_source(&run, s);
	cs_source_close(s);
	cs_run_finish(&run);

	if (run.status == CS_RUN_FAILED || fclose(cfg.json.stream) != 0)
		abort();	/* an output failed, or the accounting */
	json_require("the JSON report", json_text, json_len);
	free(json_text);
	fuzz_check_engine(&run.engine);
	cs_run_fini(&run);
	return 0;
}
