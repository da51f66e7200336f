/*
 * check_assert.c — CS_ASSERT (capture/assert.h).
 *
 * A failed assertion must name the spot and the condition on stderr and
 * abort; a build without assertions must not even evaluate the condition.
 * Each case runs in a child of its own (the runner may be in CK_FORK=no
 * mode), whose stderr comes back through a pipe.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture/assert.h"
#include "tests/suites.h"

#if defined(CS_ASSERTS) && CS_ASSERTS
#define ASSERTS_ON true
#else
#define ASSERTS_ON false
#endif

/* Runs fn in a child; returns its wait status, its stderr in out. */
static int run_child(void (*fn)(void), char *out, size_t outlen)
{
	int fds[2];
	ck_assert_int_eq(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		dup2(fds[1], STDERR_FILENO);
		close(fds[0]);
		close(fds[1]);
		fn();
		_exit(0);
	}
	close(fds[1]);
	size_t got = 0;
	ssize_t n;
	while (got + 1 < outlen &&
	       (n = read(fds[0], out + got, outlen - 1 - got)) > 0)
		got += (size_t)n;
	out[got] = '\0';
	close(fds[0]);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	return status;
}

static bool aborted(int status)
{
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void fail_directly(void)
{
	cs_assert_fail("capture/x.c", 12, "cs_x_walk", "n <= cap");
}

START_TEST(test_fail_names_the_spot_and_aborts)
{
	char out[256];
	int status = run_child(fail_directly, out, sizeof out);

	ck_assert_msg(aborted(status), "status %d", status);
	ck_assert_str_eq(out, "connscope: capture/x.c:12: cs_x_walk: "
			 "assertion failed: n <= cap\n");
}
END_TEST

static void assert_false(void)
{
	int two = 2;
	CS_ASSERT(two + 2 == 5);
}

START_TEST(test_false_condition_per_build)
{
	char out[256];
	int status = run_child(assert_false, out, sizeof out);

	if (ASSERTS_ON) {
		ck_assert_msg(aborted(status), "status %d", status);
		ck_assert_ptr_nonnull(strstr(out, "tests/check_assert.c:"));
		ck_assert_ptr_nonnull(strstr(out, ": assert_false: assertion "
					     "failed: two + 2 == 5\n"));
	} else {
		ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			      "status %d", status);
		ck_assert_str_eq(out, "");
	}
}
END_TEST

static void assert_true(void)
{
	CS_ASSERT(sizeof(int) >= 2);
}

START_TEST(test_true_condition_passes)
{
	char out[256];
	int status = run_child(assert_true, out, sizeof out);

	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "status %d", status);
	ck_assert_str_eq(out, "");
}
END_TEST

/* Compiled out, the condition is type-checked only: no side effect runs. */
START_TEST(test_condition_evaluated_only_when_on)
{
	int calls = 0;

	CS_ASSERT(++calls == 1);
	ck_assert_int_eq(calls, ASSERTS_ON ? 1 : 0);
}
END_TEST

Suite *assert_suite(void)
{
	Suite *s = suite_create("assert");
	TCase *tc = tcase_create("assert");

	tcase_add_test(tc, test_fail_names_the_spot_and_aborts);
	tcase_add_test(tc, test_false_condition_per_build);
	tcase_add_test(tc, test_true_condition_passes);
	tcase_add_test(tc, test_condition_evaluated_only_when_on);
	suite_add_tcase(s, tc);
	return s;
}
