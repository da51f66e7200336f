/*
 * check_main.c — the one Check runner: `make check` runs it.
 * CS_TEST_DATA points at the repository root (samples/, tests/corpus).
 *
 *   check_connscope                 every suite
 *   check_connscope NAME...         only these suites
 *   check_connscope -x NAME...      every suite but these
 *
 * The last two let tests/unit.sh run the suites in two processes at once,
 * one per core.  Between them the two must run every suite exactly once,
 * so a name that is no suite's is an error, never a quiet empty run.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/suites.h"

/* A suite's name here is its function's, which is also its own. */
#define SUITE(name) { #name, name##_suite }

static const struct {
	const char *name;
	Suite *(*make)(void);
} every_suite[] = {
	SUITE(assert), SUITE(reader), SUITE(decode), SUITE(source), SUITE(pcapfile),
	SUITE(unpack), SUITE(pkttime), SUITE(stats), SUITE(json), SUITE(tunnel),
	SUITE(linklayer), SUITE(tcp), SUITE(flow), SUITE(tally), SUITE(defrag),
	SUITE(detect), SUITE(web), SUITE(store), SUITE(exposure), SUITE(readahead),
	SUITE(writer), SUITE(driver), SUITE(outfile), SUITE(host), SUITE(logstream),
	SUITE(jsonl),
};
#define N_SUITES (sizeof every_suite / sizeof every_suite[0])

static bool is_named(const char *name, char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(name, names[i]))
			return true;
	return false;
}

/* The first of names that is no suite's, or NULL. */
static const char *unknown_name(char *const *names, int n)
{
	for (int i = 0; i < n; i++) {
		size_t j = 0;
		while (j < N_SUITES && strcmp(every_suite[j].name, names[i]))
			j++;
		if (j == N_SUITES)
			return names[i];
	}
	return NULL;
}

int main(int argc, char **argv)
{
	bool except = argc > 1 && !strcmp(argv[1], "-x");
	char *const *names = argv + 1 + except;
	int n = argc - 1 - except;
	const char *bad = unknown_name(names, n);

	if (bad || (except && n == 0)) {
		fprintf(stderr, "check_connscope: %s%s\nusage: check_connscope "
			"[[-x] SUITE...]\n", bad ? "no suite is named " : "-x wants names",
			bad ? bad : "");
		return 2;
	}
	SRunner *sr = NULL;
	for (size_t i = 0; i < N_SUITES; i++) {
		if (n > 0 && is_named(every_suite[i].name, names, n) == except)
			continue;
		Suite *s = every_suite[i].make();
		if (!sr)
			sr = srunner_create(s);
		else
			srunner_add_suite(sr, s);
	}
	if (!sr) {	/* -x with every name: nothing was asked to run */
		fprintf(stderr, "check_connscope: no suite left to run\n");
		return 2;
	}
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
