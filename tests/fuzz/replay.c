/*
 * replay.c — runs a fuzz target's entry point on saved inputs.
 *
 * Linked with one of fuzz_*.c by any compiler, so `make check` replays the
 * committed regressions (and the seed inputs) without clang or libFuzzer;
 * under `make asan` the replay runs with ASan and UBSan.  Arguments are
 * files or directories (their files, in name order).  A crash is the
 * failure; with FUZZ_REPLAY_VERBOSE set each file is named before it runs,
 * so the last name printed is the one that crashed.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/fuzz/fuzz.h"

/* Targets without an initializer get this one (gcc: weak; the real one,
 * where a target has it, wins at link time). */
__attribute__((weak)) int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int replay_file(const char *path, int verbose)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		perror(path);
		return -1;
	}
	size_t cap = 1 << 16, len = 0, n;
	uint8_t *buf = malloc(cap);
	while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
		len += n;
		if (len == cap) {
			uint8_t *more = realloc(buf, cap *= 2);
			if (!more)
				free(buf);
			buf = more;
		}
	}
	fclose(f);
	if (!buf) {
		fprintf(stderr, "%s: out of memory\n", path);
		return -1;
	}
	if (verbose)
		fprintf(stderr, "replay: %s (%zu bytes)\n", path, len);
	/* a copy of exactly len bytes, so ASan sees a read past the input */
	uint8_t *exact = malloc(len ? len : 1);
	if (!exact) {
		free(buf);
		return -1;
	}
	memcpy(exact, buf, len);
	free(buf);
	LLVMFuzzerTestOneInput(exact, len);
	free(exact);
	return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static int replay_path(const char *path, int verbose, unsigned *count)
{
	struct stat st;
	struct dirent **ents;
	int bad = 0;

	if (stat(path, &st) != 0) {
		perror(path);
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		(*count)++;
		return replay_file(path, verbose);
	}
	int n = scandir(path, &ents, NULL, by_name);
	if (n < 0) {
		perror(path);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char sub[4096];
		if (ents[i]->d_name[0] != '.' &&
		    snprintf(sub, sizeof sub, "%s/%s", path, ents[i]->d_name) < (int)sizeof sub)
			bad |= replay_path(sub, verbose, count);
		free(ents[i]);
	}
	free(ents);
	return bad;
}

int main(int argc, char **argv)
{
	unsigned count = 0;
	int bad = 0;
	int verbose = getenv("FUZZ_REPLAY_VERBOSE") != NULL;

	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++)
		bad |= replay_path(argv[i], verbose, &count);
	printf("%s: %u input%s replayed\n", argv[0], count, count == 1 ? "" : "s");
	return bad ? 1 : 0;
}
