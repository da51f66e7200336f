/*
 * fuzz_file.c — a whole capture file through what connscope -r does.
 *
 * The input is a pcap or pcapng file, opened from memory (fmemopen +
 * cs_source_open_stream, i.e. pcap_fopen_offline), or one compressed with
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
 */
#include <stdio.h>
#include <stdlib.h>

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
	/* read-only: fmemopen's buffer is not const only because of "w" */
	FILE *f = fmemopen((void *)(uintptr_t)data, size, "rb");
	if (!f)
		return 0;
	enum cs_unpack_kind kind = cs_unpack_detect(data, size);
	if (kind != CS_UNPACK_NONE) {
		struct cs_unpack *u;
		FILE *unpacked = cs_unpack_open(f, kind, &u);
		if (!unpacked) {
			fclose(f);
			return 0;
		}
		f = unpacked;
	}
	if (cs_source_open_stream(&s, f, names[0], err, sizeof err) != 0)
		return 0;	/* f is closed */

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
