/*
 * guard.h — a deadline for every request to arrive, slow clients cut off.
 *
 * libmicrohttpd's connection timeout counts idle time only: a client that
 * sends one header byte a second is never idle, and holds its thread (one
 * of the server's connection limit) for hours — "slowloris".  The guard
 * gives each connection a fixed time to deliver a whole request, counted
 * from the connection's opening and again from the end of each answer
 * (keep-alive), and shuts the socket down when the request is late; the
 * daemon's own thread then sees the end of the stream and closes it.
 *
 * The guard also counts each client's connections (web/clients.h: an
 * IPv4 address or an IPv6 /64), so that one client cannot take every
 * thread, and shortens the deadline while the server is busy (most of its
 * connections taken): idle connections then give way fast to new ones.
 *
 * One thread checks the deadlines once a second.  The guard owns no
 * socket: the server hands it a connection when libmicrohttpd opens it and
 * takes it back before libmicrohttpd closes it, both under the guard's
 * lock, so a late shutdown() never reaches a descriptor already reused by
 * another connection.  It knows nothing of HTTP (no microhttpd.h here).
 */
#ifndef CS_WEB_GUARD_H
#define CS_WEB_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "web/clients.h"

struct cs_web_guard;

struct cs_web_guard_limits {
	unsigned slots;			/* connections in all (the daemon's limit) */
	unsigned per_client;		/* connections of one client */
	unsigned busy_slots;		/* from this many on, the server is busy */
	unsigned request_sec;		/* for a whole request to arrive */
	unsigned busy_request_sec;	/* the same while the server is busy */
};

/* Room for l->slots connections; starts the checking thread.  NULL when
 * out of memory or threads. */
struct cs_web_guard *cs_web_guard_create(const struct cs_web_guard_limits *l);

/* Stops the thread; the caller has already closed every connection. */
void cs_web_guard_destroy(struct cs_web_guard *g);

/* May client c open one more connection? (below its per-client limit) */
bool cs_web_guard_admit(struct cs_web_guard *g, const struct cs_web_client *c);

/* A new connection of client c: its slot with the request's clock
 * running, or -1 when every slot is taken (cannot happen while the slots
 * match the daemon's connection limit; the connection is then left to the
 * idle timeout). */
int cs_web_guard_watch(struct cs_web_guard *g, int fd, const struct cs_web_client *c);

/* The request has arrived (stop the clock) / the answer is done and the
 * next request is awaited (start it again). */
void cs_web_guard_disarm(struct cs_web_guard *g, int slot);
void cs_web_guard_arm(struct cs_web_guard *g, int slot);

/* The connection is closing: its slot is free again. */
void cs_web_guard_forget(struct cs_web_guard *g, int slot);

/* Connections cut because their request was late, since the start. */
uint64_t cs_web_guard_cut_cnt(struct cs_web_guard *g);

#endif /* CS_WEB_GUARD_H */
