/*
 * mkseed.c — seed inputs for the frame and file targets.
 *
 *   mkseed cut OUTDIR FILE...          frame inputs cut from capture files
 *   mkseed built FRAME_DIR FILE_DIR    connections made by the packet
 *                                      builder (seed_built.c), both kinds
 *                                      ("-": not that kind)
 *
 * cut writes the first frames of each file whose link type the frame
 * target knows as inputs in frames.h's format: SEED_FRAMES consecutive
 * frames per seed, at most SEED_MAX seeds per file, timestamps turned into
 * time steps.  Every other seed asks for the web view too.  Built without
 * sanitizers; files it cannot read are skipped with a message (the seeds
 * are a start, not a test).
 */
#include <pcap/pcap.h>
#include <stdio.h>
#include <string.h>

#include "tests/fuzz/frames.h"
#include "tests/fuzz/seed_built.h"

#define SEED_FRAMES 8
#define SEED_MAX 8

static int dlt_index(int dlt)
{
	for (size_t i = 0; i < FUZZ_DLT_CNT; i++)
		if (fuzz_dlts[i] == dlt)
			return (int)i;
	return -1;
}

/* The step byte nearest below the gap between two frames. */
static uint8_t step_of(uint64_t gap_us)
{
	if (gap_us < 128 * FUZZ_STEP_FINE_US)
		return (uint8_t)(gap_us / FUZZ_STEP_FINE_US);
	uint64_t coarse = gap_us / FUZZ_STEP_COARSE_US;
	return (uint8_t)(128 + (coarse > 127 ? 127 : coarse));
}

static void put_frame(FILE *out, uint64_t gap_us, const struct pcap_pkthdr *h,
		      const u_char *bytes)
{
	uint32_t caplen = h->caplen > FUZZ_CAPLEN_MASK ? FUZZ_CAPLEN_MASK : h->caplen;
	unsigned field = caplen | (h->len > caplen ? FUZZ_CUT : 0);

	fputc(step_of(gap_us), out);
	fputc(field >> 8, out);
	fputc(field & 0xff, out);
	fwrite(bytes, 1, caplen, out);
}

static int cut_file(const char *outdir, const char *path)
{
	char err[PCAP_ERRBUF_SIZE];
	pcap_t *p = pcap_open_offline(path, err);
	if (!p) {
		fprintf(stderr, "mkseed: skipped %s: %s\n", path, err);
		return 0;
	}
	int idx = dlt_index(pcap_datalink(p));
	if (idx < 0) {
		pcap_close(p);
		return 0;
	}
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	struct pcap_pkthdr *h;
	const u_char *bytes;
	uint64_t last_us = 0;
	FILE *out = NULL;
	int seeds = 0, frames = 0;

	while (seeds <= SEED_MAX && pcap_next_ex(p, &h, &bytes) == 1) {
		uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
		if (frames % SEED_FRAMES == 0) {
			char name[4096];
			if (out)
				fclose(out);
			out = NULL;
			if (++seeds > SEED_MAX)
				break;
			snprintf(name, sizeof name, "%s/%s-%d", outdir, base, seeds);
			if (!(out = fopen(name, "wb"))) {
				perror(name);
				break;
			}
			fputc(idx | (seeds % 2 ? 0 : FUZZ_F_RECENT), out);
			last_us = ts;
		}
		put_frame(out, ts > last_us ? ts - last_us : 0, h, bytes);
		last_us = ts;
		frames++;
	}
	if (out)
		fclose(out);
	pcap_close(p);
	return seeds > SEED_MAX ? SEED_MAX : seeds;
}

int main(int argc, char **argv)
{
	int seeds = 0;

	if (argc == 4 && !strcmp(argv[1], "built")) {
		seeds = seed_built(strcmp(argv[2], "-") ? argv[2] : NULL,
				   strcmp(argv[3], "-") ? argv[3] : NULL);
		if (seeds < 0)
			return 1;
		printf("mkseed: %d built connections\n", seeds);
		return 0;
	}
	if (argc < 3 || strcmp(argv[1], "cut")) {
		fprintf(stderr, "usage: mkseed cut OUTDIR FILE...\n"
			"       mkseed built FRAME_DIR FILE_DIR\n");
		return 1;
	}
	for (int i = 3; i < argc; i++)
		seeds += cut_file(argv[2], argv[i]);
	printf("mkseed: %d frame seeds from %d files\n", seeds, argc - 3);
	return 0;
}
