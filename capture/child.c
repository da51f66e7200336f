/*
 * child.c — a bounded child process and the pipe that brings its result.
 */
#include "capture/child.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

/* The address space the process holds now: the child inherits all of it,
 * so its limit is this plus what it may add.  0 if unknown. */
static size_t address_space_bytes(void)
{
	unsigned long pages = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%lu", &pages) != 1)
		pages = 0;
	fclose(f);
	long page = sysconf(_SC_PAGESIZE);
	return page > 0 ? (size_t)pages * (size_t)page : 0;
}

/* Closes every descriptor from lo to hi: close_range, or one by one where
 * the kernel has none (before Linux 5.9). */
static void close_from(unsigned lo, unsigned hi)
{
	if (lo > hi || close_range(lo, hi, 0) == 0)
		return;
	struct rlimit nofile;
	unsigned top = hi;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < top)
		top = (unsigned)nofile.rlim_cur;
	for (unsigned d = lo; d <= top && d != 0; d++)
		close((int)d);
}

/*
 * In the child: of the parent's descriptors it keeps only its end of the
 * pipe (moved to 3 or above); 0, 1 and 2 become /dev/null.  It shares
 * each open file's offset with the parent, and its copies of the parent's
 * stdio streams still hold their buffers: whatever flushes or unbuffers
 * them at its end (valgrind runs glibc's __libc_freeres even at _exit)
 * would seek the parent's input back (the parent then reads records
 * twice) or write the parent's output twice.  With their descriptors
 * gone, that fails harmlessly.  The pipe's new number, or -1.
 */
static int keep_only(int fd)
{
	int out = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	if (out < 0)
		return -1;
	int null = open("/dev/null", O_RDWR | O_CLOEXEC);
	for (int d = 0; d <= 2; d++)
		if (null < 0 || dup2(null, d) < 0)
			close(d);
	close_from(3, (unsigned)out - 1);
	close_from((unsigned)out + 1, ~0u);
	return out;
}

/*
 * In the child.  A terminal's Ctrl-C reaches the whole process group: with
 * the default actions it ends this child too, while the parent's handler
 * stops the parent.  SIGUSR1 is for the parent alone.
 */
static void child_main(cs_child_fn fn, void *arg, const struct cs_child_limits *lim,
		       size_t inherited, int fd)
{
	static const int stops[] = { SIGINT, SIGTERM, SIGHUP };
	sigset_t none;

	for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++)
		signal(stops[i], SIG_DFL);
	signal(SIGUSR1, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Soft limit: SIGXCPU; the hard one a second later: SIGKILL. */
	struct rlimit cpu = { lim->cpu_sec, lim->cpu_sec + 1 };
	setrlimit(RLIMIT_CPU, &cpu);
	if (inherited) {
		size_t as = inherited + (lim->mem_mib << 20);
		struct rlimit mem = { as, as };
		setrlimit(RLIMIT_AS, &mem);
	}
	fd = keep_only(fd);
	_exit(fd < 0 ? 127 : fn(arg, fd));
}

static int reap(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return st;
}

static enum cs_child_end kill_and_reap(pid_t pid, enum cs_child_end end)
{
	kill(pid, SIGKILL);
	reap(pid);
	return end;
}

/* Appends what fd has to *buf; 0 at its end, 1 for more, -1 on error. */
static int take(int fd, char **buf, size_t *len, size_t *cap)
{
	if (*cap - *len < 4096) {
		size_t want = *cap ? *cap * 2 : 65536;
		char *p = realloc(*buf, want);
		if (!p)
			return -1;
		*buf = p;
		*cap = want;
	}
	ssize_t n = read(fd, *buf + *len, *cap - *len);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : -1;
	*len += (size_t)n;
	return n > 0;
}

/* How the child ended, by its wait status. */
static enum cs_child_end judge(int st)
{
	if (st == -1)
		return CS_CHILD_ERROR;
	if (WIFEXITED(st))
		return WEXITSTATUS(st) == 0 ? CS_CHILD_DONE : CS_CHILD_FAILED;
	/* SIGXCPU and SIGKILL: the CPU limits; SIGSEGV: a stack that could
	 * not grow under the memory limit; SIGABRT: an allocation failure
	 * that aborted. */
	switch (WTERMSIG(st)) {
	case SIGXCPU: case SIGKILL: case SIGSEGV: case SIGBUS: case SIGABRT:
		return CS_CHILD_OVER_LIMIT;
	default:
		return CS_CHILD_FAILED;
	}
}

static enum cs_child_end collect(pid_t pid, int fd, struct cs_wake *wake,
				 char **out, size_t *out_len)
{
	size_t cap = 0;
	int more = 1;

	while (more > 0) {
		enum cs_wait w = cs_wake_wait(wake, fd, -1);
		if (w == CS_WAIT_STOPPED)
			return kill_and_reap(pid, CS_CHILD_STOPPED);
		if (w != CS_WAIT_READY)
			continue;
		more = take(fd, out, out_len, &cap);
		if (*out_len > CS_CHILD_OUT_MAX)
			return kill_and_reap(pid, CS_CHILD_OVER_LIMIT);
	}
	if (more < 0)
		return kill_and_reap(pid, CS_CHILD_ERROR);
	return judge(reap(pid));
}

enum cs_child_end cs_child_run(cs_child_fn fn, void *arg,
			       const struct cs_child_limits *lim,
			       struct cs_wake *wake, char **out, size_t *out_len)
{
	int fd[2];

	*out = NULL;
	*out_len = 0;
	if (cs_wake_stopped(wake))
		return CS_CHILD_STOPPED;
	size_t inherited = address_space_bytes();
	if (pipe2(fd, O_CLOEXEC) != 0)
		return CS_CHILD_ERROR;
	pid_t pid = fork();
	if (pid < 0) {
		int saved = errno;
		close(fd[0]);
		close(fd[1]);
		errno = saved;
		return CS_CHILD_ERROR;
	}
	if (pid == 0) {
		close(fd[0]);
		child_main(fn, arg, lim, inherited, fd[1]);
	}
	close(fd[1]);
	enum cs_child_end end = collect(pid, fd[0], wake, out, out_len);
	close(fd[0]);
	if (end != CS_CHILD_DONE && end != CS_CHILD_FAILED) {
		free(*out);
		*out = NULL;
		*out_len = 0;
	}
	return end;
}
