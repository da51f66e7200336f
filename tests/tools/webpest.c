/*
 * webpest.c — hostile and slow HTTP clients for tests/slowweb.sh.
 *
 * Each mode plays one kind of bad client against the dashboard's server
 * and prints one line saying what the server did to it:
 *
 *   idle       open --count connections and send nothing
 *   slowloris  send a request's headers one byte every --interval ms and
 *              never end them
 *   sse-stall  ask for /api/events and never read the answer
 *   sse-drop   --waves times: open --count event streams, read their
 *              headers, hang up; then wait --hold s
 *   probe      the well-behaved client: GET --path --count times, one every
 *              --interval ms; each must be answered 200 within --deadline s
 *
 * The bad clients hold their sockets for --hold seconds and watch, without
 * reading (the server must not depend on it), for the server hanging up
 * (POLLRDHUP, POLLHUP).  A socket the server closed within TURNED_AWAY_MS of
 * its connect was turned away at the door (a connection limit); a later
 * close is the server's timeout.  --from binds a source address, so that
 * each kind of client can be given its own loopback address and the
 * server's per-address limit is seen per kind.
 *
 * Nothing here runs unbounded: every wait is a poll() against a deadline.
 * Exit status: 0 when the mode ran (for probe: every answer in time), 1 when
 * a probe failed, 2 on a usage or setup error.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNS 2048
#define TURNED_AWAY_MS 1000

struct opts {
	const char *mode;
	struct sockaddr_in to;
	struct sockaddr_in from;
	bool have_from;
	long count;
	long hold_ms;
	long interval_ms;
	long deadline_ms;
	long waves;
	const char *path;
	const char *token;
};

struct conn {
	int fd;
	int64_t opened_ms;
	int64_t closed_ms;	/* 0: still open */
	size_t sent;		/* slowloris: header bytes sent so far */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	int64_t until = now_ms() + ms;

	while (now_ms() < until)
		poll(NULL, 0, (int)(until - now_ms()));
}

static void usage(void)
{
	fprintf(stderr,
"usage: webpest MODE ADDR PORT [--count N] [--from ADDR] [--hold S]\n"
"               [--interval MS] [--deadline S] [--waves N] [--path P]\n"
"               [--token T]\n"
"MODE: idle slowloris sse-stall sse-drop probe\n");
	exit(2);
}

static long num(const char *s, long min, long max)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);

	if (errno || end == s || *end || v < min || v > max) {
		fprintf(stderr, "webpest: '%s': expected a number in %ld..%ld\n", s, min, max);
		exit(2);
	}
	return v;
}

static void parse(int argc, char **argv, struct opts *o)
{
	if (argc < 4)
		usage();
	*o = (struct opts){ .mode = argv[1], .count = 1, .hold_ms = 10000,
			    .interval_ms = 1000, .deadline_ms = 5000, .waves = 1,
			    .path = "/api/summary" };
	o->to.sin_family = AF_INET;
	o->to.sin_port = htons((uint16_t)num(argv[3], 1, 65535));
	if (inet_pton(AF_INET, argv[2], &o->to.sin_addr) != 1)
		usage();
	for (int i = 4; i < argc; i++) {
		const char *k = argv[i], *v = i + 1 < argc ? argv[++i] : NULL;
		if (!v)
			usage();
		if (!strcmp(k, "--count"))
			o->count = num(v, 1, MAX_CONNS);
		else if (!strcmp(k, "--hold"))
			o->hold_ms = num(v, 0, 600) * 1000;
		else if (!strcmp(k, "--interval"))
			o->interval_ms = num(v, 1, 60000);
		else if (!strcmp(k, "--deadline"))
			o->deadline_ms = num(v, 1, 600) * 1000;
		else if (!strcmp(k, "--waves"))
			o->waves = num(v, 1, 100);
		else if (!strcmp(k, "--path"))
			o->path = v;
		else if (!strcmp(k, "--token"))
			o->token = v;
		else if (!strcmp(k, "--from")) {
			o->from.sin_family = AF_INET;
			o->have_from = inet_pton(AF_INET, v, &o->from.sin_addr) == 1;
			if (!o->have_from)
				usage();
		} else
			usage();
	}
}

/* A connected socket (blocking connect: loopback answers at once), or -1. */
static int dial(const struct opts *o)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	if ((o->have_from && bind(fd, (const struct sockaddr *)&o->from, sizeof o->from)) ||
	    connect(fd, (const struct sockaddr *)&o->to, sizeof o->to)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Writes all of buf before the deadline; false on error or time-out. */
static bool send_all(int fd, const char *buf, size_t n, int64_t deadline)
{
	while (n) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		int64_t left = deadline - now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return false;
		ssize_t w = send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno != EAGAIN && errno != EINTR)
			return false;
		if (w > 0) {
			buf += w;
			n -= (size_t)w;
		}
	}
	return true;
}

static int request(const struct opts *o, const char *path, char *buf, size_t len)
{
	return snprintf(buf, len, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s%s"
			"Connection: close\r\n\r\n", path,
			o->token ? "Authorization: Bearer " : "", o->token ? o->token : "",
			o->token ? "\r\n" : "");
}

/* ---- the bad clients: hold sockets, see which the server closes ---------- */

static const char SLOW_HEAD[] = "GET /api/summary HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";

/* One byte more of an endless header: the request line, then 'a's. */
static void slowloris_tick(struct conn *c)
{
	char b = c->sent < sizeof SLOW_HEAD - 1 ? SLOW_HEAD[c->sent] : 'a';

	if (send(c->fd, &b, 1, MSG_NOSIGNAL | MSG_DONTWAIT) == 1)
		c->sent++;
}

/* Marks the connections the server has hung up on; true if any is open. */
static bool watch(struct conn *cs, long n, int timeout_ms, bool may_read)
{
	static struct pollfd p[MAX_CONNS];
	bool any = false;

	for (long i = 0; i < n; i++) {
		p[i].fd = cs[i].closed_ms ? -1 : cs[i].fd;
		p[i].events = POLLRDHUP | (may_read ? POLLIN : 0);
		p[i].revents = 0;
		any |= !cs[i].closed_ms;
	}
	if (!any)
		return false;
	if (poll(p, (nfds_t)n, timeout_ms) <= 0)
		return true;
	for (long i = 0; i < n; i++) {
		if (!p[i].revents)
			continue;
		if (p[i].revents & POLLIN && !(p[i].revents & (POLLRDHUP | POLLHUP | POLLERR))) {
			char sink[4096];
			ssize_t r = recv(cs[i].fd, sink, sizeof sink, MSG_DONTWAIT);
			if (r != 0 && !(r < 0 && errno != EAGAIN && errno != EINTR))
				continue;	/* data, not an end */
		}
		cs[i].closed_ms = now_ms();
		close(cs[i].fd);
		cs[i].fd = -1;
	}
	return true;
}

static void report_held(const struct opts *o, const struct conn *cs, long n, long failed,
			const char *extra)
{
	long away = 0, timed = 0, open = 0;
	double first = -1, last = -1;

	for (long i = 0; i < n; i++) {
		if (!cs[i].closed_ms) {
			open++;
			continue;
		}
		double after = (double)(cs[i].closed_ms - cs[i].opened_ms) / 1000.0;
		if (cs[i].closed_ms - cs[i].opened_ms < TURNED_AWAY_MS) {
			away++;
			continue;
		}
		timed++;
		if (first < 0 || after < first)
			first = after;
		if (after > last)
			last = after;
	}
	printf("%s: opened %ld, connect failed %ld, turned away %ld, closed by the "
	       "server later %ld (after %.1f..%.1f s), still open %ld%s\n",
	       o->mode, n, failed, away, timed, first, last, open, extra);
}

static int hold(const struct opts *o)
{
	static struct conn cs[MAX_CONNS];
	bool slow = !strcmp(o->mode, "slowloris"), stall = !strcmp(o->mode, "sse-stall");
	long n = 0, failed = 0;
	char req[512];
	int len = request(o, "/api/events", req, sizeof req);

	for (long i = 0; i < o->count; i++) {
		int fd = dial(o);
		if (fd < 0) {
			failed++;
			continue;
		}
		cs[n++] = (struct conn){ .fd = fd, .opened_ms = now_ms() };
		if (stall) {
			/* a receive window as small as the kernel allows fills fast */
			int small = 1;
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
			if (!send_all(fd, req, (size_t)len, now_ms() + 5000))
				cs[n - 1].closed_ms = now_ms();
		}
	}
	int64_t end = now_ms() + o->hold_ms, next_tick = now_ms();
	while (now_ms() < end) {
		if (slow && now_ms() >= next_tick) {
			for (long i = 0; i < n; i++)
				if (!cs[i].closed_ms)
					slowloris_tick(&cs[i]);
			next_tick += o->interval_ms;
		}
		int64_t wake = slow && next_tick < end ? next_tick : end;
		if (!watch(cs, n, (int)(wake - now_ms() > 0 ? wake - now_ms() : 0), !stall))
			break;	/* every one closed */
	}
	size_t most = 0;
	for (long i = 0; i < n; i++)
		most = cs[i].sent > most ? cs[i].sent : most;
	char extra[64] = "";
	if (slow)
		snprintf(extra, sizeof extra, ", header bytes sent %zu at most", most);
	report_held(o, cs, n, failed, extra);
	for (long i = 0; i < n; i++)
		if (!cs[i].closed_ms)
			close(cs[i].fd);
	return 0;
}

/* ---- abandoned event streams ---------------------------------------------- */

/* Reads until the end of the response's headers; false if none came. */
static bool read_headers(int fd, int64_t deadline, int *status)
{
	char buf[2048];
	size_t n = 0;

	while (n < sizeof buf - 1) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int64_t left = deadline - now_ms();
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			return false;
		ssize_t r = recv(fd, buf + n, sizeof buf - 1 - n, MSG_DONTWAIT);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
			return false;
		if (r > 0)
			n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n"))
			return sscanf(buf, "HTTP/1.%*d %d", status) == 1;
	}
	return false;
}

static int sse_drop(const struct opts *o)
{
	char req[512];
	int len = request(o, "/api/events", req, sizeof req);
	long streamed = 0, refused = 0, failed = 0;

	for (long w = 0; w < o->waves; w++) {
		for (long i = 0; i < o->count; i++) {
			int fd = dial(o), status = 0;
			int64_t deadline = now_ms() + o->deadline_ms;
			if (fd < 0 || !send_all(fd, req, (size_t)len, deadline) ||
			    !read_headers(fd, deadline, &status))
				failed++;
			else if (status == 200)
				streamed++;
			else
				refused++;
			if (fd >= 0)
				close(fd);	/* hang up without a word */
		}
		sleep_ms(o->interval_ms);
	}
	printf("sse-drop: %ld waves of %ld: streams opened and abandoned %ld, refused "
	       "with a status %ld, no answer %ld\n", o->waves, o->count, streamed, refused,
	       failed);
	sleep_ms(o->hold_ms);
	return 0;
}

/* ---- the well-behaved client ---------------------------------------------- */

/* One GET; its status (0: none) and how long it took. */
static int probe_once(const struct opts *o, int64_t *took_ms)
{
	char req[1024], buf[512];
	int len = request(o, o->path, req, sizeof req), status = 0;
	int64_t start = now_ms(), deadline = start + o->deadline_ms;
	int fd = dial(o);
	size_t n = 0;

	if (fd >= 0 && send_all(fd, req, (size_t)len, deadline)) {
		for (;;) {		/* to the end: Connection: close */
			struct pollfd p = { .fd = fd, .events = POLLIN };
			int64_t left = deadline - now_ms();
			if (left <= 0 || poll(&p, 1, (int)left) <= 0) {
				status = 0;	/* not complete in time */
				break;
			}
			char *at = n < sizeof buf - 1 ? buf + n : buf;
			size_t room = n < sizeof buf - 1 ? sizeof buf - 1 - n : sizeof buf - 1;
			ssize_t r = recv(fd, at, room, MSG_DONTWAIT);
			if (r == 0)
				break;
			if (r < 0 && errno != EAGAIN && errno != EINTR) {
				status = 0;
				break;
			}
			if (r > 0 && n < sizeof buf - 1) {
				n += (size_t)r;
				buf[n] = '\0';
				if (!status)
					sscanf(buf, "HTTP/1.%*d %d", &status);
			}
		}
	}
	if (fd >= 0)
		close(fd);
	*took_ms = now_ms() - start;
	return status;
}

static int probe(const struct opts *o)
{
	long ok = 0, bad = 0;
	int64_t worst = 0;
	int last_bad = 0;

	for (long i = 0; i < o->count; i++) {
		int64_t took;
		int status = probe_once(o, &took);
		if (status == 200) {
			ok++;
		} else {
			bad++;
			last_bad = status;
		}
		worst = took > worst ? took : worst;
		if (i + 1 < o->count)
			sleep_ms(o->interval_ms);
	}
	printf("probe %s: %ld answered 200, %ld not (last status %d; 0 = no answer within "
	       "%ld s), slowest %.2f s\n", o->path, ok, bad, last_bad, o->deadline_ms / 1000,
	       (double)worst / 1000.0);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct opts o;

	parse(argc, argv, &o);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(o.mode, "idle") || !strcmp(o.mode, "slowloris") ||
	    !strcmp(o.mode, "sse-stall"))
		return hold(&o);
	if (!strcmp(o.mode, "sse-drop"))
		return sse_drop(&o);
	if (!strcmp(o.mode, "probe"))
		return probe(&o);
	usage();
}
