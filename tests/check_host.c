/*
 * check_host.c — the kernel's answers (capture/hostread.c) read as hostile
 * input, and the host view (analyzer/host/host.c) judging them.
 *
 * Netlink messages are built here byte by byte from linux/inet_diag.h's
 * layout (72 bytes of inet_diag_msg after a 16-byte nlmsghdr), not by the
 * code under test; /proc texts are written as the kernel prints them.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "analyzer/host/host.h"
#include "capture/hostread.h"
#include "tests/suites.h"

#define SEQ 7

struct nlbuf {
	uint8_t b[8192];
	size_t len;
};

static void put32(struct nlbuf *n, size_t at, uint32_t v)
{
	memcpy(n->b + at, &v, 4);	/* the host's order, as netlink */
}

/* A netlink header of type and payload length; returns the payload's offset. */
static size_t header(struct nlbuf *n, uint16_t type, uint32_t payload, uint32_t seq)
{
	size_t at = n->len;
	uint32_t len = 16 + payload;

	memset(n->b + at, 0, 16 + ((payload + 3) & ~3u));
	put32(n, at, len);
	memcpy(n->b + at + 4, &type, 2);
	put32(n, at + 8, seq);
	n->len += 16 + ((payload + 3) & ~3u);
	return at + 16;
}

/* An inet_diag_msg: IPv4 10.0.0.2 (or IPv6 2001:db8::2) port sport. */
static void sock_msg(struct nlbuf *n, uint8_t family, uint8_t state,
		     uint16_t sport, uint32_t rqueue, uint32_t wqueue, uint32_t seq)
{
	size_t p = header(n, SOCK_DIAG_BY_FAMILY, 72, seq);

	n->b[p] = family;
	n->b[p + 1] = state;
	n->b[p + 4] = (uint8_t)(sport >> 8);
	n->b[p + 5] = (uint8_t)sport;
	if (family == AF_INET) {
		n->b[p + 8] = 10, n->b[p + 11] = 2;
	} else {
		n->b[p + 8] = 0x20, n->b[p + 9] = 0x01, n->b[p + 10] = 0x0d;
		n->b[p + 11] = 0xb8, n->b[p + 23] = 2;
	}
	put32(n, p + 56, rqueue);
	put32(n, p + 60, wqueue);
}

static void done_msg(struct nlbuf *n, uint32_t seq)
{
	size_t p = header(n, NLMSG_DONE, 4, seq);
	(void)p;
}

/* A listener of backlog 2 holding 3, a request socket on its port, a
 * TIME_WAIT on it, a CLOSE_WAIT elsewhere, an IPv6 listener, the end. */
static void typical_dump(struct nlbuf *n)
{
	n->len = 0;
	sock_msg(n, AF_INET, 10, 8080, 3, 2, SEQ);
	sock_msg(n, AF_INET, 12, 8080, 0, 0, SEQ);	/* TCP_NEW_SYN_RECV */
	sock_msg(n, AF_INET, 6, 8080, 0, 0, SEQ);
	sock_msg(n, AF_INET, 8, 9090, 0, 0, SEQ);
	sock_msg(n, AF_INET6, 10, 443, 0, 128, SEQ);
	done_msg(n, SEQ);
}

START_TEST(a_dump_is_read_socket_by_socket)
{
	struct nlbuf n;
	struct cs_host_sample s;

	typical_dump(&n);
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(cs_hostread_parse_diag(n.b, n.len, SEQ, &s), CS_DIAG_DONE);
	cs_hostread_count_syn_recv(&s);
	ck_assert_uint_eq(s.listener_cnt, 2);
	ck_assert_uint_eq(s.listeners[0].port, 8080);
	ck_assert_uint_eq(s.listeners[0].queue, 3);
	ck_assert_uint_eq(s.listeners[0].backlog, 2);
	ck_assert_uint_eq(s.listeners[0].syn_recv, 1);
	ck_assert(cs_addr_is_v4(&s.listeners[0].addr));
	ck_assert_uint_eq(s.listeners[0].addr.b[12], 10);
	ck_assert_uint_eq(s.listeners[0].addr.b[15], 2);
	ck_assert_uint_eq(s.listeners[1].port, 443);
	ck_assert(!cs_addr_is_v4(&s.listeners[1].addr));
	ck_assert_uint_eq(s.listeners[1].backlog, 128);
	ck_assert_uint_eq(s.states[CS_KSTATE_LISTEN], 2);
	ck_assert_uint_eq(s.states[CS_KSTATE_SYN_RECV], 1);
	ck_assert_uint_eq(s.states[CS_KSTATE_TIME_WAIT], 1);
	ck_assert_uint_eq(s.states[CS_KSTATE_CLOSE_WAIT], 1);
	ck_assert_uint_eq(s.port_cnt, 2);
	ck_assert_uint_eq(s.bad_messages, 0);
}
END_TEST

/* Every cut of a dump: never past the bytes (ASan), never "done" before
 * the DONE message, never more sockets than the whole messages held. */
START_TEST(a_dump_cut_anywhere_is_read_safely)
{
	struct nlbuf n;
	struct cs_host_sample s;

	typical_dump(&n);
	for (size_t cut = 0; cut < n.len; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		memcpy(copy, n.b, cut);
		memset(&s, 0, sizeof s);
		enum cs_diag_parse rc = cs_hostread_parse_diag(copy, cut, SEQ, &s);
		ck_assert_int_ne(rc, CS_DIAG_DONE);
		ck_assert_uint_le(s.states[CS_KSTATE_LISTEN] +
				  s.states[CS_KSTATE_SYN_RECV] +
				  s.states[CS_KSTATE_TIME_WAIT] +
				  s.states[CS_KSTATE_CLOSE_WAIT], cut / 88);
		free(copy);
	}
}
END_TEST

/* A message whose length lies: shorter than its header, or past the
 * buffer (the reader must compare lengths, not pointers). */
START_TEST(lying_lengths_end_the_dump)
{
	static const uint32_t lies[] = { 0, 8, 15, 4096, 0xffffffffu, 0xfffffff0u };
	struct nlbuf n;
	struct cs_host_sample s;

	for (size_t i = 0; i < sizeof lies / sizeof lies[0]; i++) {
		typical_dump(&n);
		put32(&n, 0, lies[i]);
		memset(&s, 0, sizeof s);
		ck_assert_int_eq(cs_hostread_parse_diag(n.b, n.len, SEQ, &s),
				 CS_DIAG_ERROR);
		ck_assert_uint_eq(s.listener_cnt, 0);
	}
}
END_TEST

/* A socket message too short for inet_diag_msg, a family that is not
 * IP, a state the kernel does not have, a type we did not ask for: each
 * counted, none read. */
START_TEST(odd_messages_are_counted_not_read)
{
	struct nlbuf n = { .len = 0 };
	struct cs_host_sample s;

	header(&n, SOCK_DIAG_BY_FAMILY, 40, SEQ);	/* short */
	sock_msg(&n, AF_UNIX, 10, 1, 1, 1, SEQ);
	sock_msg(&n, AF_INET, 13, 2, 1, 1, SEQ);
	sock_msg(&n, AF_INET, 200, 3, 1, 1, SEQ);
	header(&n, 99, 8, SEQ);
	sock_msg(&n, AF_INET, 10, 4, 0, 5, SEQ);
	done_msg(&n, SEQ);
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(cs_hostread_parse_diag(n.b, n.len, SEQ, &s), CS_DIAG_DONE);
	ck_assert_uint_eq(s.bad_messages, 5);
	ck_assert_uint_eq(s.listener_cnt, 1);
	ck_assert_uint_eq(s.listeners[0].port, 4);
}
END_TEST

/* The rest of an abandoned dump (an older seq) is passed over; an error
 * message ends the dump as failed. */
START_TEST(an_older_dump_is_skipped_and_an_error_ends)
{
	struct nlbuf n = { .len = 0 };
	struct cs_host_sample s;

	sock_msg(&n, AF_INET, 10, 1, 0, 1, SEQ - 1);
	done_msg(&n, SEQ - 1);
	sock_msg(&n, AF_INET, 10, 2, 0, 1, SEQ);
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(cs_hostread_parse_diag(n.b, n.len, SEQ, &s), CS_DIAG_MORE);
	ck_assert_uint_eq(s.listener_cnt, 1);
	ck_assert_uint_eq(s.listeners[0].port, 2);
	header(&n, NLMSG_ERROR, 20, SEQ);
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(cs_hostread_parse_diag(n.b, n.len, SEQ, &s), CS_DIAG_ERROR);
}
END_TEST

/* More listeners and ports than the sample holds: counted. */
START_TEST(tables_past_their_size_count_the_rest)
{
	struct nlbuf n = { .len = 0 };
	struct cs_host_sample s;

	memset(&s, 0, sizeof s);
	for (int i = 0; i < CS_HOST_LISTENERS + 3; i++) {
		n.len = 0;
		sock_msg(&n, AF_INET, 10, (uint16_t)(1000 + i), 0, 1, SEQ);
		sock_msg(&n, AF_INET, 6, (uint16_t)(5000 + i), 0, 0, SEQ);
		cs_hostread_parse_diag(n.b, n.len, SEQ, &s);
	}
	ck_assert_uint_eq(s.listener_cnt, CS_HOST_LISTENERS);
	ck_assert_uint_eq(s.listeners_unkept, 3);
	ck_assert_uint_eq(s.port_cnt, CS_HOST_PORTS);
	ck_assert_uint_eq(s.ports_unkept, 3);
	ck_assert_uint_eq(s.states[CS_KSTATE_TIME_WAIT], CS_HOST_LISTENERS + 3);
}
END_TEST

/* Random bytes, and random bytes after a valid header: no read past the
 * buffer, no counts from nowhere. */
START_TEST(garbage_is_read_safely)
{
	uint8_t buf[512];
	struct cs_host_sample s;
	unsigned seed = 12345;

	for (int round = 0; round < 20000; round++) {
		size_t len = (size_t)(rand_r(&seed) % sizeof buf);
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rand_r(&seed);
		if (len >= 16 && round % 2) {
			uint32_t l = (uint32_t)(16 + rand_r(&seed) % (len - 15));
			memcpy(buf, &l, 4);
			uint32_t seq = SEQ;
			memcpy(buf + 8, &seq, 4);
		}
		memset(&s, 0, sizeof s);
		cs_hostread_parse_diag(buf, len, SEQ, &s);
		ck_assert_uint_le(s.listener_cnt, len / 88);
	}
}
END_TEST

/* ---- /proc/net/netstat and /proc/net/snmp ---------------------------------- */

static const char netstat_text[] =
	"TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed ListenOverflows ListenDrops TCPAbortOnData\n"
	"TcpExt: 5 4 3 108 109 7\n"
	"IpExt: InNoRoutes ListenOverflows\n"
	"IpExt: 1 999\n";
static const char snmp_text[] =
	"Ip: Forwarding DefaultTTL\n"
	"Ip: 1 64\n"
	"Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n"
	"Tcp: 1 200 120000 -1 30 3 27 2 0 100 120 0 0 11 0\n";

START_TEST(proc_counters_are_read_by_name)
{
	struct cs_host_sample s;

	memset(&s, 0, sizeof s);
	cs_hostread_parse_proc(netstat_text, strlen(netstat_text), &s);
	cs_hostread_parse_proc(snmp_text, strlen(snmp_text), &s);
	ck_assert_uint_eq(s.ctr[CS_HC_SYNCOOKIES_SENT], 5);
	ck_assert_uint_eq(s.ctr[CS_HC_SYNCOOKIES_FAILED], 3);
	ck_assert_uint_eq(s.ctr[CS_HC_LISTEN_OVERFLOWS], 108);	/* not IpExt's */
	ck_assert_uint_eq(s.ctr[CS_HC_LISTEN_DROPS], 109);
	ck_assert_uint_eq(s.ctr[CS_HC_ABORT_ON_DATA], 7);
	ck_assert_uint_eq(s.ctr[CS_HC_ATTEMPT_FAILS], 27);
	ck_assert_uint_eq(s.ctr[CS_HC_ESTAB_RESETS], 2);
	ck_assert_uint_eq(s.ctr[CS_HC_OUT_RSTS], 11);
	ck_assert(s.have_ctr & 1u << CS_HC_OUT_RSTS);
	ck_assert(!(s.have_ctr & 1u << CS_HC_ABORT_ON_LINGER));	/* not there */
}
END_TEST

/* Odd texts: values lines short, missing, of another prefix, words that
 * are no whole numbers or too long, no final newline, blank lines. */
static const struct { const char *text; uint64_t overflows; bool have; } odd[] = {
	{ "", 0, false },
	{ "TcpExt: ListenOverflows\n", 0, false },
	{ "TcpExt: ListenOverflows\nIpExt: 5\n", 0, false },
	{ "TcpExt: ListenDrops ListenOverflows\nTcpExt: 4\n", 0, false },
	{ "TcpExt: ListenOverflows\nTcpExt: 12", 12, true },
	{ "TcpExt: ListenOverflows\nTcpExt: 1x\n", 0, false },
	{ "TcpExt: ListenOverflows\nTcpExt: -3\n", 0, false },
	{ "TcpExt: ListenOverflows\nTcpExt: 99999999999999999999\n", 0, false },
	{ "TcpExt: ListenOverflows\nTcpExt: 9999999999999999999\n", 9999999999999999999ull, true },
	{ "\n\nTcpExt:  ListenOverflows \nTcpExt:   8 \n", 8, true },
	{ "TcpExt ListenOverflows\nTcpExt 8\n", 0, false },
	{ "TcpExt: ListenOverflows\nTcpExt: 8\nTcpExt: 9\n", 8, true },
	{ "Tcp: ListenOverflows\nTcp: 6\n", 6, true },
	{ "Foo: x\nTcpExt: ListenOverflows\nTcpExt: 5\n", 5, true },
	{ ":\n:\n", 0, false },
	{ "TcpExt: ListenOverflows\n", 0, false },
};

START_TEST(odd_proc_texts_are_read_safely)
{
	struct cs_host_sample s;
	size_t len = strlen(odd[_i].text);
	char *copy = malloc(len ? len : 1);

	memcpy(copy, odd[_i].text, len);	/* no NUL after it: lengths only */
	memset(&s, 0, sizeof s);
	cs_hostread_parse_proc(copy, len, &s);
	ck_assert_uint_eq(s.ctr[CS_HC_LISTEN_OVERFLOWS], odd[_i].overflows);
	ck_assert_int_eq(!!(s.have_ctr & 1u << CS_HC_LISTEN_OVERFLOWS), odd[_i].have);
	free(copy);
}
END_TEST

/* ---- the host view ---------------------------------------------------------- */

static void sample_at(struct cs_host_sample *s, uint64_t sec, uint64_t overflows,
		      uint32_t queue)
{
	memset(s, 0, sizeof *s);
	s->ts_us = sec * 1000000u;
	s->have_sockets = true;
	s->ctr[CS_HC_LISTEN_OVERFLOWS] = overflows;
	s->have_ctr = 1u << CS_HC_LISTEN_OVERFLOWS;
	s->listener_cnt = 1;
	s->listeners[0].addr.b[10] = s->listeners[0].addr.b[11] = 0xff;
	s->listeners[0].addr.b[12] = 10, s->listeners[0].addr.b[15] = 2;
	s->listeners[0].port = 8080;
	s->listeners[0].backlog = 2;
	s->listeners[0].queue = queue;
	s->states[CS_KSTATE_LISTEN] = 1;
}

/* listen(s, 2): the queue holds 3 (full: above 2) from second 1; the
 * kernel counts 10 + 17 overflows at seconds 2 and 3; at second 5 the
 * application accepts (queue 0).  One episode from 1 to 4, 27 overflows. */
START_TEST(a_full_queue_with_overflows_is_one_alert)
{
	static const uint32_t queue[] = { 0, 3, 3, 3, 3, 0, 0 };
	static const uint64_t over[] = { 100, 100, 110, 127, 127, 127, 127 };
	struct cs_host *h = calloc(1, sizeof *h);
	struct cs_alerts a;
	struct cs_host_sample s;
	uint64_t d;

	cs_alerts_init(&a);
	cs_host_init(h, true);
	for (int t = 0; t < 7; t++) {
		sample_at(&s, 1000 + (uint64_t)t, over[t], queue[t]);
		cs_host_sample_in(h, &a, &s, 0, 0);
	}
	ck_assert_uint_eq(a.count, 1);
	const struct cs_alert *al = &a.list[0];
	ck_assert_int_eq(al->type, CS_ALERT_ACCEPT_QUEUE_OVERFLOW);
	ck_assert_uint_eq(al->port, 8080);
	ck_assert_uint_eq(al->start_us, 1001 * 1000000ull);
	ck_assert_uint_eq(al->end_us, 1004 * 1000000ull);
	ck_assert_str_eq(al->fig[0].name, "backlog");
	ck_assert_uint_eq(al->fig[0].value, 2);
	ck_assert_uint_eq(al->fig[1].value, 3);
	ck_assert_uint_eq(al->fig[2].value, 27);
	ck_assert_msg(strstr(al->text, "the accept queue of 10.0.0.2:8080 (backlog 2) "
			     "was full for 3 s and the kernel dropped 27 SYNs"),
		      "%s", al->text);
	ck_assert(cs_host_delta(h, CS_HC_LISTEN_OVERFLOWS, &d));
	ck_assert_uint_eq(d, 27);
	ck_assert_uint_eq(h->listen[0].queue_peak, 3);
	ck_assert_uint_eq(h->listen[0].overflows, 27);
	ck_assert_ptr_eq(cs_host_overflow_alert(&a, &al->addr, 8080), al);
	ck_assert_ptr_null(cs_host_overflow_alert(&a, &al->addr, 8081));
	cs_alerts_fini(&a);
	free(h);
}
END_TEST

/* A queue at its backlog is not full; overflows with no full queue (some
 * other listener's, between samples) are given to none; a counter that
 * goes backwards is no change. */
START_TEST(no_full_queue_no_alert)
{
	static const uint32_t queue[] = { 0, 2, 2, 1 };
	static const uint64_t over[] = { 50, 60, 40, 45 };
	struct cs_host *h = calloc(1, sizeof *h);
	struct cs_alerts a;
	struct cs_host_sample s;
	uint64_t d;

	cs_alerts_init(&a);
	cs_host_init(h, true);
	for (int t = 0; t < 4; t++) {
		sample_at(&s, 10 + (uint64_t)t, over[t], queue[t]);
		cs_host_sample_in(h, &a, &s, 0, 0);
	}
	ck_assert_uint_eq(a.count, 0);
	ck_assert_uint_eq(h->listen[0].overflows, 0);
	ck_assert(cs_host_delta(h, CS_HC_LISTEN_OVERFLOWS, &d));
	ck_assert_uint_eq(d, 0);	/* 45 < 50: reset, not -5 */
	cs_alerts_fini(&a);
	free(h);
}
END_TEST

/* Off (a capture file): samples change nothing. */
START_TEST(an_off_host_view_takes_nothing)
{
	struct cs_host *h = calloc(1, sizeof *h);
	struct cs_alerts a;
	struct cs_host_sample s;

	cs_alerts_init(&a);
	cs_host_init(h, false);
	sample_at(&s, 1, 5, 3);
	cs_host_sample_in(h, &a, &s, 0, 0);
	ck_assert_uint_eq(h->samples, 0);
	ck_assert_uint_eq(h->listen_cnt, 0);
	cs_alerts_fini(&a);
	free(h);
}
END_TEST

Suite *host_suite(void)
{
	Suite *s = suite_create("host");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, a_dump_is_read_socket_by_socket);
	tcase_add_test(tc, a_dump_cut_anywhere_is_read_safely);
	tcase_add_test(tc, lying_lengths_end_the_dump);
	tcase_add_test(tc, odd_messages_are_counted_not_read);
	tcase_add_test(tc, an_older_dump_is_skipped_and_an_error_ends);
	tcase_add_test(tc, tables_past_their_size_count_the_rest);
	tcase_add_test(tc, garbage_is_read_safely);
	tcase_add_test(tc, proc_counters_are_read_by_name);
	tcase_add_loop_test(tc, odd_proc_texts_are_read_safely, 0,
			    sizeof odd / sizeof odd[0]);
	tcase_add_test(tc, a_full_queue_with_overflows_is_one_alert);
	tcase_add_test(tc, no_full_queue_no_alert);
	tcase_add_test(tc, an_off_host_view_takes_nothing);
	suite_add_tcase(s, tc);
	return s;
}
