/*
 * tcpping.c — a small TCP client and server that make real kernel traffic
 * for samples/record.sh and tests/live.sh.
 *
 * It owns nothing of connscope and links no library: every byte it causes
 * is produced by the kernel's own TCP, so a capture of it shows how Linux
 * really opens, refuses, times out, aborts and closes connections.  It must
 * never run unbounded: every wait is a poll() against one deadline, and the
 * process exits by itself when --timeout expires.
 *
 * The exchange is a line protocol.  The client sends a request of --bytes
 * bytes ending in '\n'; the server echoes it back (after --delay ms).  Then
 * the side named by --close-first closes first, with a FIN, or with a RST
 * when that side was given --linger0.  Both sides must be told the same
 * --close-first; the client's --half-close sends FIN right after the
 * request and keeps reading until the server closes.
 *
 * Further behaviours for the sample captures: --rounds/--gap (several
 * requests on one connection), --bind-port (a fixed local port, reused
 * across connections), --rcvbuf (a small receive buffer), --read-delay (a
 * server that reads nothing for a while: zero windows), --unread-close (a
 * server that closes with the request unread: Linux sends RST), --backlog
 * (a small listen queue), --no-accept (an application that never accepts:
 * its accept queue fills).
 *
 * One line per connection on stdout, fields separated by single spaces:
 *
 *   conn <n> <result> <errno-name|-> <local> <remote> <details>
 *
 * result is ok, refused, timeout, unreachable, reset or error; the exit
 * status is 0 when every connection's result was the one asked for with
 * --expect (default ok).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

enum result {
	RES_OK,
	RES_REFUSED,
	RES_TIMEOUT,
	RES_UNREACHABLE,
	RES_RESET,
	RES_ERROR,
	RES_MAX
};

static const char *const result_names[RES_MAX] = {
	"ok", "refused", "timeout", "unreachable", "reset", "error",
};

enum closer { CLOSE_CLIENT, CLOSE_SERVER };

struct opts {
	bool serve;
	const char *addr;
	const char *port;
	long count;		/* serve: 0 = until --timeout */
	long bytes;		/* connect: request size, '\n' included */
	enum closer close_first;
	bool linger0;
	bool no_close;
	bool half_close;
	bool unread_close;	/* serve: close with the request unread */
	bool no_accept;		/* serve: listen, never accept() */
	long timeout_ms;
	long delay_ms;		/* serve: pause before the reply */
	long interval_ms;	/* connect: pause between connections */
	long rounds;		/* connect: requests per connection */
	long gap_ms;		/* connect: pause between rounds */
	long bind_port;		/* connect: local port, 0 = the kernel's */
	long rcvbuf;		/* SO_RCVBUF, 0 = the kernel's default */
	long read_delay_ms;	/* serve: read nothing for this long */
	long backlog;		/* serve: listen() backlog */
	enum result expect;
};

#define MAX_HELD 1024		/* --no-close keeps at most this many sockets */
#define CHUNK 16384

static const char *prog = "tcpping";

static void usage(FILE *fp)
{
	fprintf(fp,
"usage: %s serve ADDR PORT [options]\n"
"       %s connect ADDR PORT [options]\n"
"\n"
"A TCP client/server whose traffic is made by the kernel, for captures\n"
"and tests.  The client sends a request of --bytes bytes ending in a\n"
"newline, the server echoes it, then the side named by --close-first\n"
"closes (FIN, or RST with --linger0).  ADDR is a numeric IPv4 or IPv6\n"
"address; serve accepts PORT 0 and prints the port it got.\n"
"\n"
"common options:\n"
"  --count N             connections to make / accept (default 1;\n"
"                        serve: 0 = accept until --timeout)\n"
"  --close-first client|server\n"
"                        who closes after the echo (default client)\n"
"  --linger0             this side closes with SO_LINGER 0: a RST, no FIN\n"
"  --timeout S           the whole run ends within S seconds (default 10;\n"
"                        fractions allowed)\n"
"  --expect RESULT       result every connection must have for exit\n"
"                        status 0: ok refused timeout unreachable reset\n"
"                        error (default ok)\n"
"  --rcvbuf B            SO_RCVBUF of the socket (serve: of the listening\n"
"                        socket, so accepted ones inherit it and the\n"
"                        window scale follows); the kernel doubles B\n"
"serve options:\n"
"  --no-close            never close accepted sockets; hold them until\n"
"                        --timeout expires (peers' FINs leave them in\n"
"                        CLOSE_WAIT)\n"
"  --delay MS            wait MS milliseconds before replying (with\n"
"                        --unread-close: before closing)\n"
"  --read-delay MS       read nothing for MS ms after accepting: the\n"
"                        receive buffer fills and the window closes\n"
"  --unread-close        once the request arrives, close without reading\n"
"                        it: Linux aborts with a RST (data was unread)\n"
"  --backlog N           listen() backlog (default 128)\n"
"  --no-accept           listen but never call accept(): the kernel queues\n"
"                        backlog+1 connections, then drops SYNs\n"
"connect options:\n"
"  --bytes B             request size in bytes (default 64; 0 = no data,\n"
"                        not with --close-first server)\n"
"  --half-close          shutdown(SHUT_WR) right after the request, then\n"
"                        read the reply until the server closes\n"
"  --interval MS         pause between connections (default 0)\n"
"  --rounds N            requests (each echoed) per connection (default 1)\n"
"  --gap MS              pause between rounds (default 0)\n"
"  --bind-port P         bind the local port P (SO_REUSEADDR set), the same\n"
"                        for every connection of the run\n"
"\n"
"output, one line per connection:\n"
"  conn <n> <result> <errno-name|-> <local> <remote> <details>\n"
"serve prints 'listening ADDR PORT' once the socket accepts connections.\n"
"exit status: 0 all connections had the --expect result, 1 otherwise,\n"
"2 usage or setup error.\n",
		prog, prog);
}

static void die_usage(const char *fmt, ...)
	__attribute__((format(printf, 1, 2), noreturn));

static void die_usage(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(try '%s --help')\n", prog);
	exit(2);
}

static const char *errno_name(int e)
{
	static char buf[32];

	switch (e) {
	case 0: return "-";
	case ECONNREFUSED: return "ECONNREFUSED";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EHOSTUNREACH: return "EHOSTUNREACH";
	case ENETUNREACH: return "ENETUNREACH";
	case EHOSTDOWN: return "EHOSTDOWN";
	case ENETDOWN: return "ENETDOWN";
	case ECONNRESET: return "ECONNRESET";
	case ECONNABORTED: return "ECONNABORTED";
	case EPIPE: return "EPIPE";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case EPROTO: return "EPROTO";
	case ENOPROTOOPT: return "ENOPROTOOPT";
	case EADDRINUSE: return "EADDRINUSE";
	case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case EMSGSIZE: return "EMSGSIZE";
	case ENOBUFS: return "ENOBUFS";
	case EINVAL: return "EINVAL";
	case EMFILE: return "EMFILE";
	default:
		snprintf(buf, sizeof(buf), "errno%d", e);
		return buf;
	}
}

/* The connect() and exchange errors a caller can assert on. */
static enum result classify(int e)
{
	switch (e) {
	case ECONNREFUSED:
		return RES_REFUSED;
	case ETIMEDOUT:
		return RES_TIMEOUT;
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EHOSTDOWN:
	case ENETDOWN:
	case EACCES:		/* ICMP admin-prohibited on some paths */
	case EPERM:		/* a local firewall rejected the packet */
		return RES_UNREACHABLE;
	case ECONNRESET:
	case EPIPE:
	case ECONNABORTED:
		return RES_RESET;
	default:
		return RES_ERROR;
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double now_us_f(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/*
 * Waits for events on fd until the deadline.  1: ready, 0: the deadline
 * passed, -1: poll failed (errno set).  POLLERR/POLLHUP count as ready so
 * the caller's next call reports the socket error.
 */
static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = { .fd = fd, .events = events };
		int n = poll(&p, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* Sleeps ms milliseconds but never past the deadline. */
static void pause_ms(long ms, int64_t deadline)
{
	int64_t until = now_ms() + ms;

	if (until > deadline)
		until = deadline;
	while (now_ms() < until)
		poll(NULL, 0, (int)(until - now_ms()));
}

static bool set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	return fl >= 0 && fcntl(fd, F_SETFL, fl | O_NONBLOCK) == 0;
}

static void set_linger0(int fd)
{
	struct linger l = { .l_onoff = 1, .l_linger = 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
}

static void set_rcvbuf(int fd, long bytes)
{
	int v = bytes > INT_MAX ? INT_MAX : (int)bytes;

	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v));
}

/* Binds fd to the wildcard address of its family and the given port. */
static int bind_local(int fd, int family, long port)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;

	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	memset(&ss, 0, sizeof(ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_any;
		s6->sin6_port = htons((uint16_t)port);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_ANY);
		s4->sin_port = htons((uint16_t)port);
		len = sizeof(*s4);
	}
	return bind(fd, (struct sockaddr *)&ss, len);
}

static void fmt_addr(const struct sockaddr_storage *ss, char *out, size_t n)
{
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		port = ntohs(s4->sin_port);
		snprintf(out, n, "%s:%u", host, port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 =
			(const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		port = ntohs(s6->sin6_port);
		snprintf(out, n, "[%s]:%u", host, port);
	} else {
		snprintf(out, n, "-");
	}
}

static void fmt_local(int fd, char *out, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(&ss, 0, sizeof(ss));
	if (fd < 0 || getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
		ss.ss_family = AF_UNSPEC;
	fmt_addr(&ss, out, n);
}

static int resolve(const char *addr, const char *port, bool passive,
		   struct sockaddr_storage *ss, socklen_t *len)
{
	struct addrinfo hints, *res = NULL;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV |
			 (passive ? AI_PASSIVE : 0);
	int rc = getaddrinfo(addr, port, &hints, &res);
	if (rc != 0) {
		fprintf(stderr, "%s: cannot use address '%s' port '%s': %s "
			"(give a numeric IPv4/IPv6 address and port)\n",
			prog, addr, port, gai_strerror(rc));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/*
 * Sends all n bytes before the deadline.  0 on success, else the errno
 * (ETIME when the deadline passed).
 */
static int send_all(int fd, const char *buf, size_t n, int64_t deadline)
{
	while (n > 0) {
		ssize_t w = send(fd, buf, n, MSG_NOSIGNAL);
		if (w > 0) {
			buf += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
		    errno != EINTR)
			return errno;
		int r = wait_fd(fd, POLLOUT, deadline);
		if (r == 0)
			return ETIME;
		if (r < 0)
			return errno;
	}
	return 0;
}

/*
 * Reads once the socket is readable.  >0 bytes, 0 EOF, -1 error with *err
 * set (ETIME when the deadline passed).
 */
static ssize_t recv_some(int fd, char *buf, size_t n, int64_t deadline,
			 int *err)
{
	for (;;) {
		ssize_t r = recv(fd, buf, n, 0);
		if (r >= 0)
			return r;
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			*err = errno;
			return -1;
		}
		int w = wait_fd(fd, POLLIN, deadline);
		if (w == 0) {
			*err = ETIME;
			return -1;
		}
		if (w < 0) {
			*err = errno;
			return -1;
		}
	}
}

/* Result of an error in the middle of an exchange. */
static enum result exchange_result(int e)
{
	return e == ETIME ? RES_TIMEOUT : classify(e);
}

static const char *err_label(int e)
{
	return e == ETIME ? "deadline" : errno_name(e);
}

/* ---- client ---------------------------------------------------------- */

struct conn_report {
	enum result res;
	int err;
	char local[64];
	char detail[160];
};

/*
 * Waits for a non-blocking connect.  0 connected, else the errno the
 * kernel reported (ETIME when our own deadline came first).
 */
static int finish_connect(int fd, int64_t deadline)
{
	int r = wait_fd(fd, POLLOUT, deadline);

	if (r == 0)
		return ETIME;
	if (r < 0)
		return errno;
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0)
		return errno;
	return soerr;
}

static void client_one(const struct opts *o, const struct sockaddr_storage *to,
		       socklen_t tolen, int64_t deadline,
		       struct conn_report *rep)
{
	static char buf[CHUNK];
	long sent = 0, got = 0;
	const char *how = "-";
	double t0 = now_us_f(), t_conn = 0;
	int e = 0;

	memset(rep, 0, sizeof(*rep));
	snprintf(rep->local, sizeof(rep->local), "-");
	int fd = socket(to->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || !set_nonblock(fd)) {
		rep->err = errno;
		rep->res = RES_ERROR;
		snprintf(rep->detail, sizeof(rep->detail), "step=socket");
		if (fd >= 0)
			close(fd);
		return;
	}
	if (o->rcvbuf > 0)
		set_rcvbuf(fd, o->rcvbuf);
	if (o->bind_port > 0 && bind_local(fd, to->ss_family, o->bind_port) != 0) {
		rep->err = errno;
		rep->res = RES_ERROR;
		snprintf(rep->detail, sizeof(rep->detail), "step=bind port=%ld",
			 o->bind_port);
		close(fd);
		return;
	}
	if (connect(fd, (const struct sockaddr *)to, tolen) != 0) {
		e = errno;
		if (e == EINPROGRESS || e == EINTR)
			e = finish_connect(fd, deadline);
	}
	fmt_local(fd, rep->local, sizeof(rep->local));
	if (e != 0) {
		rep->err = e;
		rep->res = exchange_result(e);
		snprintf(rep->detail, sizeof(rep->detail),
			 "step=connect time_ms=%.1f", (now_us_f() - t0) / 1e3);
		close(fd);
		return;
	}
	t_conn = now_us_f();

	for (long round = 1; round <= o->rounds; round++) {
		bool last = round == o->rounds;
		long want = round * o->bytes;	/* echo bytes by this round's end */

		if (round > 1 && o->gap_ms > 0)
			pause_ms(o->gap_ms, deadline);
		/* The request: bytes-1 filler and a newline that ends it. */
		for (long part = 0; part < o->bytes;) {
			long n = o->bytes - part;
			if (n > CHUNK)
				n = CHUNK;
			memset(buf, 'x', (size_t)n);
			if (part + n == o->bytes)
				buf[n - 1] = '\n';
			e = send_all(fd, buf, (size_t)n, deadline);
			if (e != 0)
				goto fail;
			part += n;
			sent += n;
		}
		if (last && o->half_close && shutdown(fd, SHUT_WR) != 0) {
			e = errno;
			goto fail;
		}

		/*
		 * Read the echo.  After the last request, when the server
		 * closes first (or we half-closed), read on to its EOF;
		 * otherwise stop at the echo's last byte.
		 */
		bool to_eof = last &&
			(o->half_close || o->close_first == CLOSE_SERVER);
		bool eof = false;
		while (to_eof || got < want) {
			ssize_t r = recv_some(fd, buf, sizeof(buf), deadline, &e);
			if (r < 0)
				goto fail;
			if (r == 0) {
				eof = true;
				break;
			}
			got += r;
		}
		if (eof && !last)
			break;	/* short echo: reported below */
	}
	if (got < o->rounds * o->bytes) {
		/* EOF before the whole echo: the server misbehaved. */
		e = 0;
		rep->res = RES_ERROR;
		how = "short-echo";
		goto done;
	}

	if (o->linger0) {
		set_linger0(fd);
		how = "client-rst";
	} else if (o->half_close) {
		how = "half-close";
	} else if (o->close_first == CLOSE_SERVER) {
		how = "server-fin";
	} else {
		how = "client-fin";
	}
	rep->res = RES_OK;
	goto done;
fail:
	rep->err = e;
	rep->res = exchange_result(e);
	how = "failed";
done:
	snprintf(rep->detail, sizeof(rep->detail),
		 "sent=%ld recv=%ld close=%s connect_ms=%.2f time_ms=%.1f",
		 sent, got, how, (t_conn - t0) / 1e3, (now_us_f() - t0) / 1e3);
	close(fd);
}

static int run_connect(const struct opts *o)
{
	struct sockaddr_storage to;
	socklen_t tolen;
	char remote[64];
	int64_t deadline = now_ms() + o->timeout_ms;
	long matched = 0, n;

	if (resolve(o->addr, o->port, false, &to, &tolen) != 0)
		return 2;
	fmt_addr(&to, remote, sizeof(remote));
	for (n = 1; n <= o->count; n++) {
		struct conn_report rep;

		if (now_ms() >= deadline) {
			printf("conn %ld timeout deadline - %s step=not-started\n",
			       n, remote);
			continue;
		}
		client_one(o, &to, tolen, deadline, &rep);
		printf("conn %ld %s %s %s %s %s\n", n, result_names[rep.res],
		       rep.err == ETIME ? "deadline" : errno_name(rep.err),
		       rep.local, remote, rep.detail);
		if (rep.res == o->expect)
			matched++;
		if (n < o->count && o->interval_ms > 0)
			pause_ms(o->interval_ms, deadline);
	}
	printf("done %ld/%ld %s\n", matched, o->count, result_names[o->expect]);
	return matched == o->count ? 0 : 1;
}

/* ---- server ---------------------------------------------------------- */

/*
 * Serves one accepted connection: echo the request line, then close as
 * told (the caller closes fd, or holds it for --no-close).  Returns the
 * result; *how says how the connection ended.
 */
static enum result serve_one(const struct opts *o, int fd, int64_t deadline,
			     int *err, const char **how, long *got_out)
{
	static char buf[CHUNK];
	long got = 0;
	bool line_done = false, eof = false, delayed = false;

	*err = 0;
	if (o->read_delay_ms > 0)
		pause_ms(o->read_delay_ms, deadline);
	if (o->unread_close) {
		/* Wait for the request, leave it unread, close: RST. */
		int w = wait_fd(fd, POLLIN, deadline);
		if (w <= 0) {
			*err = w == 0 ? ETIME : errno;
			goto fail;
		}
		if (o->delay_ms > 0)
			pause_ms(o->delay_ms, deadline);
		*got_out = 0;
		*how = "unread-close";
		return RES_OK;
	}
	while (!line_done && !eof) {
		ssize_t r = recv_some(fd, buf, sizeof(buf), deadline, err);
		if (r < 0)
			goto fail;
		if (r == 0) {
			eof = true;
			break;
		}
		got += r;
		if (buf[r - 1] == '\n')
			line_done = true;
		if (!delayed && o->delay_ms > 0) {
			pause_ms(o->delay_ms, deadline);
			delayed = true;
		}
		*err = send_all(fd, buf, (size_t)r, deadline);
		if (*err != 0)
			goto fail;
	}
	*got_out = got;

	if (o->no_close) {
		*how = "held";
		return RES_OK;
	}
	if (o->linger0) {
		set_linger0(fd);
		*how = "server-rst";
		return RES_OK;
	}
	if (o->close_first == CLOSE_SERVER) {
		*how = "server-fin";
		return RES_OK;
	}
	/*
	 * The client closes first: echo whatever else it sends (--rounds),
	 * until its FIN (or its RST).
	 */
	while (!eof) {
		ssize_t r = recv_some(fd, buf, sizeof(buf), deadline, err);
		if (r < 0)
			goto fail;
		if (r == 0)
			break;
		got += r;
		*err = send_all(fd, buf, (size_t)r, deadline);
		if (*err != 0)
			goto fail;
	}
	*got_out = got;
	*how = "client-fin";
	return RES_OK;
fail:
	*got_out = got;
	*how = "failed";
	return exchange_result(*err);
}

static int run_serve(const struct opts *o)
{
	struct sockaddr_storage ss;
	socklen_t sslen;
	static int held[MAX_HELD];
	int nheld = 0, one = 1;
	long n = 0, matched = 0;
	int64_t deadline = now_ms() + o->timeout_ms;

	if (resolve(o->addr, o->port, true, &ss, &sslen) != 0)
		return 2;
	int lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (lfd < 0) {
		fprintf(stderr, "%s: socket: %s\n", prog, strerror(errno));
		return 2;
	}
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (o->rcvbuf > 0)
		set_rcvbuf(lfd, o->rcvbuf);
	if (bind(lfd, (struct sockaddr *)&ss, sslen) != 0 ||
	    listen(lfd, (int)o->backlog) != 0 || !set_nonblock(lfd)) {
		fprintf(stderr, "%s: cannot listen on %s port %s: %s\n",
			prog, o->addr, o->port, strerror(errno));
		close(lfd);
		return 2;
	}
	{
		struct sockaddr_storage b;
		socklen_t bl = sizeof(b);
		unsigned port = 0;
		getsockname(lfd, (struct sockaddr *)&b, &bl);
		port = ntohs(b.ss_family == AF_INET ?
			     ((struct sockaddr_in *)&b)->sin_port :
			     ((struct sockaddr_in6 *)&b)->sin6_port);
		printf("listening %s %u\n", o->addr, port);
		fflush(stdout);
	}
	if (o->no_accept) {
		pause_ms(deadline - now_ms(), deadline);
		close(lfd);
		printf("done 0/0 %s\n", result_names[o->expect]);
		return 0;
	}

	while (o->count == 0 || n < o->count) {
		int r = wait_fd(lfd, POLLIN, deadline);
		if (r <= 0)
			break;
		struct sockaddr_storage peer;
		socklen_t pl = sizeof(peer);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &pl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			continue;	/* the peer may have reset already */
		n++;
		char remote[64], me[64];
		const char *how = "-";
		long got = 0;
		int e = 0;
		double t0 = now_us_f();
		fmt_addr(&peer, remote, sizeof(remote));
		fmt_local(fd, me, sizeof(me));
		enum result res = serve_one(o, fd, deadline, &e, &how, &got);
		printf("conn %ld %s %s %s %s recv=%ld close=%s time_ms=%.1f\n",
		       n, result_names[res], err_label(e), me, remote, got, how,
		       (now_us_f() - t0) / 1e3);
		fflush(stdout);
		if (res == o->expect)
			matched++;
		if (o->no_close && res == RES_OK && nheld < MAX_HELD)
			held[nheld++] = fd;
		else
			close(fd);
	}
	close(lfd);

	/* --no-close: keep the sockets (and their CLOSE_WAIT) to the end. */
	if (nheld > 0)
		pause_ms(deadline - now_ms(), deadline);
	for (int i = 0; i < nheld; i++)
		close(held[i]);

	if (o->count > 0) {
		printf("done %ld/%ld %s\n", matched, o->count,
		       result_names[o->expect]);
		return matched == o->count ? 0 : 1;
	}
	printf("done %ld/%ld %s\n", matched, n, result_names[o->expect]);
	return matched == n ? 0 : 1;
}

/* ---- options ---------------------------------------------------------- */

static long parse_long(const char *opt, const char *v, long lo, long hi)
{
	char *end;

	errno = 0;
	long x = strtol(v, &end, 10);
	if (errno != 0 || end == v || *end != '\0' || x < lo || x > hi)
		die_usage("%s wants an integer from %ld to %ld, not '%s'",
			  opt, lo, hi, v);
	return x;
}

static long parse_seconds_ms(const char *opt, const char *v)
{
	char *end;

	errno = 0;
	double s = strtod(v, &end);
	if (errno != 0 || end == v || *end != '\0' || !(s > 0) || s > 86400)
		die_usage("%s wants seconds (0 < S <= 86400), not '%s'", opt, v);
	return (long)(s * 1000 + 0.5);
}

static bool takes_value(const char *a)
{
	static const char *const with_value[] = {
		"--count", "--bytes", "--close-first", "--timeout", "--delay",
		"--interval", "--expect", "--rounds", "--gap", "--bind-port",
		"--rcvbuf", "--read-delay", "--backlog",
	};

	for (size_t i = 0; i < sizeof(with_value) / sizeof(with_value[0]); i++)
		if (!strcmp(a, with_value[i]))
			return true;
	return false;
}

static void parse(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->count = 1;
	o->bytes = 64;
	o->close_first = CLOSE_CLIENT;
	o->timeout_ms = 10000;
	o->expect = RES_OK;
	o->rounds = 1;
	o->backlog = 128;

	if (argc >= 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		usage(stdout);
		exit(0);
	}
	if (argc < 4)
		die_usage("need a subcommand, an address and a port");
	if (!strcmp(argv[1], "serve"))
		o->serve = true;
	else if (strcmp(argv[1], "connect") != 0)
		die_usage("unknown subcommand '%s' (serve or connect)", argv[1]);
	o->addr = argv[2];
	o->port = argv[3];
	parse_long("PORT", o->port, o->serve ? 0 : 1, 65535);

	for (int i = 4; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		bool takes = true;

		if (!strcmp(a, "--linger0")) {
			o->linger0 = true;
			takes = false;
		} else if (!strcmp(a, "--no-close") && o->serve) {
			o->no_close = true;
			takes = false;
		} else if (!strcmp(a, "--half-close") && !o->serve) {
			o->half_close = true;
			takes = false;
		} else if (!strcmp(a, "--unread-close") && o->serve) {
			o->unread_close = true;
			takes = false;
		} else if (!strcmp(a, "--no-accept") && o->serve) {
			o->no_accept = true;
			takes = false;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			usage(stdout);
			exit(0);
		}
		if (!takes)
			continue;
		if (!v && takes_value(a))
			die_usage("%s needs a value", a);
		if (!v)
			die_usage("unknown option '%s' for %s", a, argv[1]);
		if (!strcmp(a, "--count")) {
			o->count = parse_long(a, v, o->serve ? 0 : 1, 1000000);
		} else if (!strcmp(a, "--bytes") && !o->serve) {
			o->bytes = parse_long(a, v, 0, 1L << 30);
		} else if (!strcmp(a, "--close-first")) {
			if (!strcmp(v, "client"))
				o->close_first = CLOSE_CLIENT;
			else if (!strcmp(v, "server"))
				o->close_first = CLOSE_SERVER;
			else
				die_usage("--close-first wants client or server");
		} else if (!strcmp(a, "--timeout")) {
			o->timeout_ms = parse_seconds_ms(a, v);
		} else if (!strcmp(a, "--delay") && o->serve) {
			o->delay_ms = parse_long(a, v, 0, 3600000);
		} else if (!strcmp(a, "--interval") && !o->serve) {
			o->interval_ms = parse_long(a, v, 0, 3600000);
		} else if (!strcmp(a, "--rounds") && !o->serve) {
			o->rounds = parse_long(a, v, 1, 1000000);
		} else if (!strcmp(a, "--gap") && !o->serve) {
			o->gap_ms = parse_long(a, v, 0, 3600000);
		} else if (!strcmp(a, "--bind-port") && !o->serve) {
			o->bind_port = parse_long(a, v, 1, 65535);
		} else if (!strcmp(a, "--rcvbuf")) {
			o->rcvbuf = parse_long(a, v, 1, 1L << 30);
		} else if (!strcmp(a, "--read-delay") && o->serve) {
			o->read_delay_ms = parse_long(a, v, 0, 3600000);
		} else if (!strcmp(a, "--backlog") && o->serve) {
			o->backlog = parse_long(a, v, 0, 65535);
		} else if (!strcmp(a, "--expect")) {
			int r;
			for (r = 0; r < RES_MAX; r++)
				if (!strcmp(v, result_names[r]))
					break;
			if (r == RES_MAX)
				die_usage("--expect wants ok, refused, timeout, "
					  "unreachable, reset or error");
			o->expect = (enum result)r;
		} else {
			die_usage("unknown option '%s' for %s", a, argv[1]);
		}
		i++;
	}
	if (!o->serve && o->bytes == 0 &&
	    (o->close_first == CLOSE_SERVER || o->half_close))
		die_usage("--bytes 0 sends no request line, so the server "
			  "would never close first: give --bytes 1 or more");
	if (o->serve && o->no_close && o->linger0)
		die_usage("--no-close and --linger0 contradict each other");
	if (o->serve && o->unread_close && (o->no_close || o->linger0))
		die_usage("--unread-close closes at once: not with --no-close "
			  "or --linger0");
	if (!o->serve && o->rounds > 1 && o->bytes == 0)
		die_usage("--rounds needs --bytes 1 or more");
}

int main(int argc, char **argv)
{
	struct opts o;

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	parse(argc, argv, &o);
	return o.serve ? run_serve(&o) : run_connect(&o);
}
