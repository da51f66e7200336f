/*
 * check_exposure.c — what keeps a dashboard exposed beyond loopback safe,
 * without a daemon: which Host and Origin headers name this server
 * (route.c, DNS rebinding), what --web-host and the tokens accept
 * (options.c), how clients are told apart and what a failed token
 * attempt costs (clients.c, driven by made-up times), and the guard's
 * per-client limit and its short deadline while busy (guard.c, on
 * socket pairs).  The same behaviour over real sockets is in check_web.c.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/suites.h"
#include "web/clients.h"
#include "web/guard.h"
#include "web/route.h"
#include "web/server.h"

#define ARRAY_LEN(a) (sizeof (a) / sizeof (a)[0])

/* ---- Host and Origin (route.c) ------------------------------------------- */

static const char *const given_hosts[] = { "dash.example", "192.0.2.10", "2001:db8::5" };

static const struct host_case {
	const char *listen, *local, *host;
	bool ok;
} host_cases[] = {
	/* loopback names and addresses, with and without a port */
	{ "127.0.0.1", "127.0.0.1", "localhost", true },
	{ "127.0.0.1", "127.0.0.1", "localhost:8080", true },
	{ "127.0.0.1", "127.0.0.1", "LocalHost.", true },
	{ "127.0.0.1", "127.0.0.1", "127.0.0.1:8080", true },
	{ "127.0.0.1", "127.0.0.1", "127.9.8.7", true },
	{ "127.0.0.1", "127.0.0.1", "[::1]:8080", true },
	{ "127.0.0.1", "127.0.0.1", "[::1]", true },
	/* the names and addresses given with --web-host */
	{ "127.0.0.1", "127.0.0.1", "dash.example", true },
	{ "127.0.0.1", "127.0.0.1", "DASH.example.:443", true },
	{ "127.0.0.1", "127.0.0.1", "192.0.2.10:80", true },
	{ "127.0.0.1", "127.0.0.1", "[2001:db8::5]:80", true },
	{ "127.0.0.1", "127.0.0.1", "[2001:db8:0::5]", true },	/* the same address */
	/* the listen address, and the address the connection reached */
	{ "192.0.2.7", "192.0.2.7", "192.0.2.7:8080", true },
	{ "0.0.0.0", "198.51.100.3", "198.51.100.3:8080", true },
	{ "::", "2001:db8::77", "[2001:db8::77]:8080", true },
	{ "0.0.0.0", "198.51.100.3", "0.0.0.0:8080", false },	/* a wildcard names nothing */
	{ "::", "2001:db8::77", "[::]:8080", false },
	{ "0.0.0.0", "198.51.100.3", "198.51.100.4", false },
	/* DNS rebinding: another name that resolves here */
	{ "127.0.0.1", "127.0.0.1", "evil.example", false },
	{ "127.0.0.1", "127.0.0.1", "evil.example:8080", false },
	{ "127.0.0.1", "127.0.0.1", "localhost.evil.example", false },
	{ "127.0.0.1", "127.0.0.1", "dash.example.evil", false },
	{ "127.0.0.1", "127.0.0.1", "xdash.example", false },
	{ "127.0.0.1", "127.0.0.1", "10.0.0.1", false },
	/* malformed */
	{ "127.0.0.1", "127.0.0.1", "", false },
	{ "127.0.0.1", "127.0.0.1", ":8080", false },
	{ "127.0.0.1", "127.0.0.1", "localhost:", false },
	{ "127.0.0.1", "127.0.0.1", "localhost:80x", false },
	{ "127.0.0.1", "127.0.0.1", "localhost:123456", false },
	{ "127.0.0.1", "127.0.0.1", "localhost:+80", false },
	{ "127.0.0.1", "127.0.0.1", "localhost 80", false },
	{ "127.0.0.1", "127.0.0.1", "user@localhost", false },
	{ "127.0.0.1", "127.0.0.1", "::1", false },		/* IPv6 needs [] */
	{ "127.0.0.1", "127.0.0.1", "[::1", false },
	{ "127.0.0.1", "127.0.0.1", "[::1]x", false },
	{ "127.0.0.1", "127.0.0.1", "[127.0.0.1]", false },	/* IPv4 must not have [] */
	{ "127.0.0.1", "127.0.0.1", "[localhost]", false },
	{ "127.0.0.1", "127.0.0.1", "[::ffff:127.0.0.1]", false },
	{ "127.0.0.1", "127.0.0.1", "[fe80::1%25lo]", false },
	{ "127.0.0.1", "127.0.0.1", "local\thost", false },
};

START_TEST(a_host_is_answered_only_when_it_names_this_server)
{
	const struct host_case *c = &host_cases[_i];
	struct cs_route_policy p = { .listen_addr = c->listen, .hosts = given_hosts,
				     .host_cnt = ARRAY_LEN(given_hosts) };

	ck_assert_msg(cs_route_host_ok(c->host, c->local, &p) == c->ok,
		      "Host '%s' (listening on %s, reached at %s): %s, expected %s", c->host,
		      c->listen, c->local, c->ok ? "refused" : "accepted",
		      c->ok ? "accepted" : "refused");
}
END_TEST

START_TEST(an_origin_must_be_a_page_of_such_a_host)
{
	static const struct {
		const char *origin;
		bool ok;
	} cases[] = {
		{ "http://127.0.0.1:8080", true }, { "https://localhost", true },
		{ "HTTP://dash.example", true }, { "http://[::1]:9000", true },
		{ "http://evil.example", false }, { "http://evil.example:8080", false },
		{ "null", false }, { "", false }, { "127.0.0.1", false },
		{ "ftp://127.0.0.1", false }, { "http://127.0.0.1/", false },
		{ "http://127.0.0.1:8080/x", false }, { "http://", false },
		{ "file://", false }, { "http://user@127.0.0.1", false },
		{ "chrome-extension://abcdef", false },
	};
	struct cs_route_policy p = { .listen_addr = "127.0.0.1", .hosts = given_hosts,
				     .host_cnt = ARRAY_LEN(given_hosts) };

	for (size_t i = 0; i < ARRAY_LEN(cases); i++)
		ck_assert_msg(cs_route_origin_ok(cases[i].origin, "127.0.0.1", &p) ==
			      cases[i].ok, "Origin '%s': expected %s", cases[i].origin,
			      cases[i].ok ? "accepted" : "refused");
}
END_TEST

/* ?token=, the only query parameter route.c looks at. */
static const char *query_token(void *ctx, const char *key)
{
	return strcmp(key, "token") ? NULL : ctx;
}

/* Where the Host and Origin checks sit among route.c's decisions. */
START_TEST(route_checks_host_first_and_origin_before_the_token)
{
	static const struct {
		const char *path, *host, *origin, *token, *query_token;
		enum cs_route want;
	} cases[] = {
		{ "/api/summary", "evil.example", NULL, NULL, NULL, CS_ROUTE_MISDIRECTED },
		{ "/healthz", "evil.example", NULL, NULL, NULL, CS_ROUTE_MISDIRECTED },
		{ "/", "evil.example", NULL, NULL, NULL, CS_ROUTE_MISDIRECTED },
		{ "/api/events", "evil.example", NULL, "t", "t", CS_ROUTE_MISDIRECTED },
		{ "/api/summary", NULL, NULL, NULL, NULL, CS_ROUTE_API },	/* HTTP/1.0 tools */
		{ "/api/summary", "localhost", NULL, NULL, NULL, CS_ROUTE_API },
		{ "/api/events", "localhost", "http://evil.example", NULL, NULL,
		  CS_ROUTE_BAD_ORIGIN },
		{ "/api/summary", "localhost", "http://evil.example", NULL, NULL,
		  CS_ROUTE_BAD_ORIGIN },
		/* a page elsewhere is refused before its guess is checked */
		{ "/api/events", "localhost", "http://evil.example", "t", "x",
		  CS_ROUTE_BAD_ORIGIN },
		{ "/api/events", "localhost", "http://localhost:8080", NULL, NULL,
		  CS_ROUTE_EVENTS },
		{ "/api/events", "localhost", "http://localhost:8080", "t", "x",
		  CS_ROUTE_UNAUTHORIZED },
		{ "/api/events", "localhost", NULL, "t", "t", CS_ROUTE_EVENTS },
		/* the page itself holds no data: no Origin check */
		{ "/", "localhost", "http://evil.example", NULL, NULL, CS_ROUTE_ASSET },
		{ "/healthz", "localhost", "null", NULL, NULL, CS_ROUTE_HEALTHZ },
	};

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct cs_request req = {
			.method = "GET", .path = cases[i].path, .host = cases[i].host,
			.origin = cases[i].origin, .local_addr = "127.0.0.1",
			.query = query_token, .query_ctx = (void *)cases[i].query_token,
		};
		struct cs_route_policy p = { .token = cases[i].token, .listen_addr = "127.0.0.1" };
		const struct cs_asset *asset;
		enum cs_route got = cs_route_request(&req, &p, &asset);
		ck_assert_msg(got == cases[i].want, "case %zu (%s, Host %s, Origin %s): "
			      "route %d, not %d", i, cases[i].path,
			      cases[i].host ? cases[i].host : "none",
			      cases[i].origin ? cases[i].origin : "none", got, cases[i].want);
	}
}
END_TEST

/* ---- what the options accept (options.c) ----------------------------------- */

START_TEST(tokens_are_long_and_printable)
{
	static const struct {
		const char *token;
		int rc;
		const char *mention;
	} cases[] = {
		{ "0123456789abcdef", 0, NULL },
		{ "s3cret-Token_4242/+=~!", 0, NULL },
		{ "0123456789abcde", -1, "has 15 characters; give at least 16" },
		{ "", -1, "has 0 characters" },
		{ "short", -1, "has 5 characters" },
		{ "0123456789 abcdef", -1, "byte 11 is 0x20" },
		{ "0123456789abcdef\t", -1, "byte 17 is 0x09" },
		{ "0123456789abcdef\r", -1, "printable ASCII" },
		{ "0123456789abcd\xc3\xa9", -1, "byte 15 is 0xc3" },
	};
	char err[256];

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		err[0] = '\0';
		int rc = cs_web_check_token(cases[i].token, "--web-token", err, sizeof err);
		ck_assert_msg(rc == cases[i].rc, "case %zu: %d (%s)", i, rc, err);
		if (rc)
			ck_assert_msg(strstr(err, "--web-token") && strstr(err, cases[i].mention),
				      "case %zu: message '%s' lacks '%s'", i, err,
				      cases[i].mention);
	}
}
END_TEST

/* A file with `text`, removed by the caller. */
static void write_file(char *path, size_t len, const char *text)
{
	snprintf(path, len, "/tmp/cs-token-XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

START_TEST(a_token_file_gives_its_first_line)
{
	static const struct {
		const char *text;
		int rc;
		const char *want;	/* the token, or the message's words */
	} cases[] = {
		{ "0123456789abcdef\n", 0, "0123456789abcdef" },
		{ "0123456789abcdef", 0, "0123456789abcdef" },
		{ "0123456789abcdef\r\n", 0, "0123456789abcdef" },
		{ "0123456789abcdef\nsecond line\n", 0, "0123456789abcdef" },
		{ "", -1, "is empty" },
	};
	char path[64], buf[64], err[256];

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		write_file(path, sizeof path, cases[i].text);
		int rc = cs_web_read_token(path, buf, sizeof buf, err, sizeof err);
		unlink(path);
		ck_assert_msg(rc == cases[i].rc, "case %zu: %d (%s)", i, rc, err);
		if (rc == 0)
			ck_assert_str_eq(buf, cases[i].want);
		else
			ck_assert_msg(strstr(err, cases[i].want) && strstr(err, path),
				      "case %zu: '%s'", i, err);
	}
	char small[8];
	write_file(path, sizeof path, "0123456789abcdef\n");
	ck_assert_int_eq(cs_web_read_token(path, small, sizeof small, err, sizeof err), -1);
	unlink(path);
	ck_assert_msg(strstr(err, "too long"), "%s", err);
	ck_assert_int_eq(cs_web_read_token("/nonexistent/token", buf, sizeof buf, err,
					   sizeof err), -1);
	ck_assert_msg(strstr(err, "cannot open '/nonexistent/token'"), "%s", err);
}
END_TEST

START_TEST(web_host_takes_names_and_addresses)
{
	static const struct {
		const char *name;
		int rc;
	} cases[] = {
		{ "dash.example", 0 }, { "DASH-1.example.", 0 }, { "192.0.2.1", 0 },
		{ "2001:db8::1", 0 }, { "localhost", 0 },
		{ "", -1 }, { "[::1]", -1 }, { "dash.example:8080", -1 }, { "a b", -1 },
		{ "dash_example", -1 }, { "*.example", -1 }, { "ex\xc3\xa4mple", -1 },
	};
	char err[256];

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		struct cs_web_opts o;
		memset(&o, 0, sizeof o);
		int rc = cs_web_add_host(&o, cases[i].name, err, sizeof err);
		ck_assert_msg(rc == cases[i].rc, "'%s': %d (%s)", cases[i].name, rc, err);
		ck_assert_uint_eq(o.host_cnt, rc == 0 ? 1 : 0);
	}
	struct cs_web_opts o;
	memset(&o, 0, sizeof o);
	for (int i = 0; i < CS_WEB_HOSTS_MAX; i++)
		ck_assert_int_eq(cs_web_add_host(&o, "dash.example", err, sizeof err), 0);
	ck_assert_int_eq(cs_web_add_host(&o, "one.more", err, sizeof err), -1);
	ck_assert_msg(strstr(err, "at most 16"), "%s", err);
}
END_TEST

/* ---- clients (clients.c) ------------------------------------------------------ */

static struct cs_web_client client4(const char *a)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(5555) };
	struct cs_web_client c;

	ck_assert_int_eq(inet_pton(AF_INET, a, &s4.sin_addr), 1);
	ck_assert(cs_web_client_of((struct sockaddr *)&s4, sizeof s4, &c));
	return c;
}

static struct cs_web_client client6(const char *a)
{
	struct sockaddr_in6 s6 = { .sin6_family = AF_INET6, .sin6_port = htons(5555) };
	struct cs_web_client c;

	ck_assert_int_eq(inet_pton(AF_INET6, a, &s6.sin6_addr), 1);
	ck_assert(cs_web_client_of((struct sockaddr *)&s6, sizeof s6, &c));
	return c;
}

static const char *shown(const struct cs_web_client *c)
{
	static char buf[CS_WEB_CLIENT_TEXT_MAX];

	cs_web_client_format(c, buf, sizeof buf);
	return buf;
}

START_TEST(a_client_is_an_ipv4_address_or_an_ipv6_slash_64)
{
	struct cs_web_client a = client4("192.0.2.1"), b = client4("192.0.2.2");
	struct cs_web_client x = client6("2001:db8:1:2::1"), y = client6("2001:db8:1:2:ffff:1:2:3");
	struct cs_web_client z = client6("2001:db8:1:3::1"), m = client6("::ffff:192.0.2.1");

	ck_assert(!cs_web_client_same(&a, &b));
	ck_assert(cs_web_client_same(&x, &y));		/* one machine's privacy addresses */
	ck_assert(!cs_web_client_same(&x, &z));
	ck_assert(!cs_web_client_same(&x, &a));
	ck_assert_str_eq(shown(&a), "192.0.2.1");
	ck_assert_str_eq(shown(&y), "2001:db8:1:2::/64");
	ck_assert_str_eq(shown(&m), "::/64");		/* an IPv6 socket's mapped address */
	ck_assert_str_eq(shown(&(struct cs_web_client){ { 0 } }), "::/64");

	struct sockaddr_in s4 = { .sin_family = AF_INET };
	struct sockaddr_un_like {
		sa_family_t family;
		char path[20];
	} un = { AF_UNIX, "/tmp/x" };
	struct cs_web_client c;
	ck_assert(!cs_web_client_of((struct sockaddr *)&s4, sizeof s4 - 1, &c));
	ck_assert(!cs_web_client_of((struct sockaddr *)&un, sizeof un, &c));
}
END_TEST

/* A failed attempt pushes the client's turn a penalty away; attempts before
 * it wait in line, each taking the next turn, until the line is longer
 * than the longest wait; other clients are not delayed. */
START_TEST(failed_tokens_cost_their_client_turns)
{
	struct cs_web_clients *t = cs_web_clients_create(8, 1000, 5000);
	struct cs_web_client a = client4("192.0.2.1"), b = client4("192.0.2.2");
	bool queued;

	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(cs_web_clients_turn(t, &a, 0, &queued), 0);
	ck_assert(!queued);
	ck_assert_uint_eq(cs_web_clients_note(t, &a, CS_WEB_BAD_TOKEN, 0, false), 1);
	static const int64_t waits[] = { 990, 1990, 2990, 3990, 4990, -1, -1 };
	for (size_t i = 0; i < ARRAY_LEN(waits); i++) {
		ck_assert_int_eq(cs_web_clients_turn(t, &a, 10, &queued), waits[i]);
		ck_assert(queued == (waits[i] > 0));
	}
	ck_assert_int_eq(cs_web_clients_turn(t, &b, 10, &queued), 0);	/* not b's fault */
	/* a queued attempt that fails has paid already */
	ck_assert_uint_eq(cs_web_clients_note(t, &a, CS_WEB_BAD_TOKEN, 1000, true), 0);
	ck_assert_int_eq(cs_web_clients_turn(t, &a, 1000, &queued), 5000);
	/* once every turn taken is over, the client is served at once again */
	ck_assert_int_eq(cs_web_clients_turn(t, &a, 7000, &queued), 0);
	ck_assert(!queued);

	/* failures that did not wait (a burst on several connections) add up */
	ck_assert_uint_eq(cs_web_clients_note(t, &b, CS_WEB_BAD_TOKEN, 100, false), 1);
	ck_assert_uint_eq(cs_web_clients_note(t, &b, CS_WEB_BAD_TOKEN, 100, false), 0);
	ck_assert_uint_eq(cs_web_clients_note(t, &b, CS_WEB_BAD_TOKEN, 100, false), 0);
	ck_assert_int_eq(cs_web_clients_turn(t, &b, 100, &queued), 3000);
	cs_web_clients_destroy(t);
}
END_TEST

/* One line per client and kind per minute, saying what happened since. */
START_TEST(misdeeds_are_told_once_a_minute_per_client)
{
	struct cs_web_clients *t = cs_web_clients_create(8, 10, 100);
	struct cs_web_client a = client4("192.0.2.1"), b = client6("2001:db8::1");

	ck_assert_uint_eq(cs_web_clients_note(t, &a, CS_WEB_BAD_TOKEN, 5, false), 1);
	ck_assert_uint_eq(cs_web_clients_note(t, &a, CS_WEB_BAD_TOKEN, 30000, false), 0);
	ck_assert_uint_eq(cs_web_clients_note(t, &a, CS_WEB_BAD_TOKEN, 60004, false), 0);
	ck_assert_uint_eq(cs_web_clients_note(t, &b, CS_WEB_BAD_TOKEN, 60004, false), 1);
	ck_assert_uint_eq(cs_web_clients_note(t, &a, CS_WEB_CROWDING, 60004, false), 1);
	ck_assert_uint_eq(cs_web_clients_note(t, &a, CS_WEB_BAD_TOKEN, 60005, false), 3);
	ck_assert_uint_eq(cs_web_clients_note(t, &a, CS_WEB_BAD_TOKEN, 60006, false), 0);

	uint64_t totals[CS_WEB_MISDEED_MAX];
	cs_web_clients_totals(t, totals);
	ck_assert_uint_eq(totals[CS_WEB_BAD_TOKEN], 6);
	ck_assert_uint_eq(totals[CS_WEB_CROWDING], 1);
	ck_assert_uint_eq(totals[CS_WEB_TOO_EARLY], 0);
	cs_web_clients_destroy(t);
}
END_TEST

struct listing {
	char text[512];
};

static void list_client(void *ctx, const struct cs_web_client *c,
			const uint64_t counts[CS_WEB_MISDEED_MAX])
{
	struct listing *l = ctx;
	size_t n = strlen(l->text);

	snprintf(l->text + n, sizeof l->text - n, "%s=%llu,%llu,%llu ", shown(c),
		 (unsigned long long)counts[0], (unsigned long long)counts[1],
		 (unsigned long long)counts[2]);
}

/* A full table forgets the client whose latest misdeed is oldest; the
 * totals keep what it did. */
START_TEST(a_full_table_forgets_the_quietest_client)
{
	struct cs_web_clients *t = cs_web_clients_create(2, 10, 100);
	struct cs_web_client a = client4("192.0.2.1"), b = client4("192.0.2.2");
	struct cs_web_client c = client4("192.0.2.3");
	struct listing l = { "" };

	cs_web_clients_note(t, &a, CS_WEB_BAD_TOKEN, 1, false);
	cs_web_clients_note(t, &b, CS_WEB_CROWDING, 2, false);
	cs_web_clients_note(t, &a, CS_WEB_TOO_EARLY, 3, false);
	cs_web_clients_note(t, &c, CS_WEB_BAD_TOKEN, 4, false);	/* b goes */
	cs_web_clients_each(t, list_client, &l);
	ck_assert_str_eq(l.text, "192.0.2.1=1,1,0 192.0.2.3=1,0,0 ");
	uint64_t totals[CS_WEB_MISDEED_MAX];
	cs_web_clients_totals(t, totals);
	ck_assert_uint_eq(totals[CS_WEB_CROWDING], 1);
	cs_web_clients_destroy(t);
}
END_TEST

/* ---- the guard (guard.c) ------------------------------------------------------- */

struct pair {
	int ours, theirs;	/* the guard watches ours; theirs sees it shut */
	int slot;
};

static void pair_watch(struct cs_web_guard *g, struct pair *p, const struct cs_web_client *c)
{
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	p->ours = sv[0];
	p->theirs = sv[1];
	p->slot = cs_web_guard_watch(g, p->ours, c);
	ck_assert_int_ge(p->slot, 0);
}

/* True once the guard shut the pair's socket down, within ms. */
static bool pair_cut(const struct pair *p, int ms)
{
	struct pollfd pfd = { .fd = p->theirs, .events = POLLIN };
	char ch;

	return poll(&pfd, 1, ms) == 1 && read(p->theirs, &ch, 1) == 0;
}

static void pair_close(struct cs_web_guard *g, struct pair *p)
{
	cs_web_guard_forget(g, p->slot);
	close(p->ours);
	close(p->theirs);
}

START_TEST(a_client_holds_at_most_its_share)
{
	struct cs_web_guard_limits l = { .slots = 8, .per_client = 2, .busy_slots = 8,
					 .request_sec = 60, .busy_request_sec = 60 };
	struct cs_web_guard *g = cs_web_guard_create(&l);
	struct cs_web_client x = client6("2001:db8:1:2::1"), x2 = client6("2001:db8:1:2::99");
	struct cs_web_client y = client4("192.0.2.1");
	struct pair p[3];

	ck_assert_ptr_nonnull(g);
	ck_assert(cs_web_guard_admit(g, &x));
	pair_watch(g, &p[0], &x);
	ck_assert(cs_web_guard_admit(g, &x2));
	pair_watch(g, &p[1], &x2);
	ck_assert(!cs_web_guard_admit(g, &x));		/* the /64 holds two */
	ck_assert(!cs_web_guard_admit(g, &x2));
	ck_assert(cs_web_guard_admit(g, &y));
	pair_watch(g, &p[2], &y);
	pair_close(g, &p[0]);
	ck_assert(cs_web_guard_admit(g, &x));
	pair_close(g, &p[1]);
	pair_close(g, &p[2]);
	cs_web_guard_destroy(g);
}
END_TEST

/* Busy (busy_slots connections or more), a connection waiting for its
 * request gets the short deadline, even one that waited before; one that
 * is being answered (disarmed) is left alone. */
START_TEST(idle_connections_give_way_fast_while_busy)
{
	struct cs_web_guard_limits l = { .slots = 8, .per_client = 8, .busy_slots = 4,
					 .request_sec = 600, .busy_request_sec = 0 };
	struct cs_web_guard *g = cs_web_guard_create(&l);
	struct cs_web_client x = client4("192.0.2.1");
	struct pair p[4];

	ck_assert_ptr_nonnull(g);
	for (int i = 0; i < 3; i++)
		pair_watch(g, &p[i], &x);
	/* three of eight: not busy, and 600 s is far away */
	ck_assert(!pair_cut(&p[0], 1500));
	ck_assert_uint_eq(cs_web_guard_cut_cnt(g), 0);
	pair_watch(g, &p[3], &x);
	cs_web_guard_disarm(g, p[3].slot);		/* its request is in */
	for (int i = 0; i < 3; i++)
		ck_assert_msg(pair_cut(&p[i], 10000), "connection %d not cut while busy", i);
	ck_assert_uint_eq(cs_web_guard_cut_cnt(g), 3);
	ck_assert(!pair_cut(&p[3], 0));
	for (int i = 0; i < 4; i++)
		pair_close(g, &p[i]);
	cs_web_guard_destroy(g);
}
END_TEST

Suite *exposure_suite(void)
{
	Suite *s = suite_create("exposure");
	TCase *tc = tcase_create("route");

	tcase_add_loop_test(tc, a_host_is_answered_only_when_it_names_this_server, 0,
			    (int)ARRAY_LEN(host_cases));
	tcase_add_test(tc, an_origin_must_be_a_page_of_such_a_host);
	tcase_add_test(tc, route_checks_host_first_and_origin_before_the_token);
	suite_add_tcase(s, tc);

	tc = tcase_create("options");
	tcase_add_test(tc, tokens_are_long_and_printable);
	tcase_add_test(tc, a_token_file_gives_its_first_line);
	tcase_add_test(tc, web_host_takes_names_and_addresses);
	suite_add_tcase(s, tc);

	tc = tcase_create("clients");
	tcase_add_test(tc, a_client_is_an_ipv4_address_or_an_ipv6_slash_64);
	tcase_add_test(tc, failed_tokens_cost_their_client_turns);
	tcase_add_test(tc, misdeeds_are_told_once_a_minute_per_client);
	tcase_add_test(tc, a_full_table_forgets_the_quietest_client);
	suite_add_tcase(s, tc);

	tc = tcase_create("guard");
	tcase_add_test(tc, a_client_holds_at_most_its_share);
	tcase_add_test(tc, idle_connections_give_way_fast_while_busy);
	tcase_set_timeout(tc, 60);
	suite_add_tcase(s, tc);
	return s;
}
