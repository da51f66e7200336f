/*
 * clients.h — the dashboard's clients: how they are told apart, and what
 * each has done that the server refused.
 *
 * A client is an IPv4 address or an IPv6 /64.  One machine picks IPv6
 * addresses in its /64 at will (privacy addresses, RFC 8981), so limits
 * counted per IPv6 address would not limit it at all; a /64 is the
 * smallest network given to one link (RFC 6177).
 *
 * The table remembers, for a bounded number of clients (the least
 * recently troublesome are forgotten first), their failed token attempts
 * and refused connections, and keeps each client's turn: every failed
 * attempt pushes the client's next turn a penalty further, and an attempt
 * made before its turn waits for it, its turn then taken.  So one client
 * tries at most one token per penalty however many connections it opens,
 * while other clients are not slowed at all: the waiting is done by the
 * waiting request's own thread (libmicrohttpd gives each connection one).
 * It also says when to log: one line per client and kind per minute at
 * most, with what happened since the last.
 *
 * No sockets and no clock here: the caller passes the time, so tests
 * drive the table with made-up times.  Thread-safe (one mutex).
 */
#ifndef CS_WEB_CLIENTS_H
#define CS_WEB_CLIENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct cs_web_client {
	uint8_t b[16];		/* IPv4 as ::ffff:a.b.c.d; IPv6 with the low 64 bits zero */
};

#define CS_WEB_CLIENT_TEXT_MAX 64	/* "ffff:...:ffff::/64" and a NUL fit */

/* The client a socket address belongs to; false for a family other than
 * IPv4 and IPv6. */
bool cs_web_client_of(const struct sockaddr *sa, socklen_t len,
		      struct cs_web_client *out);

/* "192.0.2.1", or "2001:db8:1:2::/64". */
void cs_web_client_format(const struct cs_web_client *c, char *buf, size_t len);

bool cs_web_client_same(const struct cs_web_client *a, const struct cs_web_client *b);

/* What a client did that was refused. */
enum cs_web_misdeed {
	CS_WEB_BAD_TOKEN,	/* a data request with a missing or wrong token */
	CS_WEB_TOO_EARLY,	/* a token attempt before the client's turn, not checked (429) */
	CS_WEB_CROWDING,	/* a connection over the per-client limit */
	CS_WEB_MISDEED_MAX
};
extern const char *const cs_web_misdeed_names[CS_WEB_MISDEED_MAX];

struct cs_web_clients;

/* Room for `clients` clients; a failed token attempt costs penalty_ms, and
 * an attempt whose turn is more than max_wait_ms away is refused.  NULL
 * when out of memory. */
struct cs_web_clients *cs_web_clients_create(unsigned clients, unsigned penalty_ms,
					     unsigned max_wait_ms);
void cs_web_clients_destroy(struct cs_web_clients *t);

/* A token attempt is about to be checked: the milliseconds it must wait
 * for its turn (0: at once, *queued false), or -1 when its turn is more
 * than max_wait_ms away (the attempt is not to be checked: note it as
 * CS_WEB_TOO_EARLY).  Waiting, it has taken the turn (*queued true). */
int64_t cs_web_clients_turn(struct cs_web_clients *t, const struct cs_web_client *c,
			    uint64_t now_ms, bool *queued);

/* Counts a misdeed.  For CS_WEB_BAD_TOKEN, an attempt that did not wait
 * (queued false) pushes the client's turn a penalty further.  Returns how
 * many misdeeds of this kind to report in a log line now (those since the
 * client's last line of this kind), or 0 when its last line is less than a
 * minute old. */
uint64_t cs_web_clients_note(struct cs_web_clients *t, const struct cs_web_client *c,
			     enum cs_web_misdeed kind, uint64_t now_ms, bool queued);

/* Totals since the start, by kind (forgotten clients included). */
void cs_web_clients_totals(struct cs_web_clients *t, uint64_t totals[CS_WEB_MISDEED_MAX]);

/* Each client remembered now with its counts, for /metrics. */
typedef void (*cs_web_client_fn)(void *ctx, const struct cs_web_client *c,
				 const uint64_t counts[CS_WEB_MISDEED_MAX]);
void cs_web_clients_each(struct cs_web_clients *t, cs_web_client_fn fn, void *ctx);

#endif /* CS_WEB_CLIENTS_H */
