/*
 * server.h — the embedded dashboard and API (libmicrohttpd).
 *
 * The only module that includes microhttpd.h.  The capture thread hands it
 * snapshots (cs_web_publish); request handlers run in the daemon's own
 * threads, take a reference to the current snapshot, render from it and
 * drop it — they never see the engine, so a slow client cannot stall the
 * capture.  Server-Sent Events readers block on a condition variable until
 * a new snapshot or a heartbeat is due (one thread per connection, bounded
 * by the connection limit), never spinning.
 *
 * Safe defaults: loopback unless told otherwise, bounded connections per
 * client and in all, idle timeout, a small per-request memory pool (long
 * URLs and headers are refused by size), GET and HEAD only, no file
 * system access (the page is compiled in), security headers on every
 * response, and an optional bearer token compared in constant time.
 */
#ifndef CS_WEB_SERVER_H
#define CS_WEB_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyzer/views/snapshot.h"

struct cs_web;

struct cs_web_opts {
	char addr[64];		/* numeric IPv4 or IPv6 address */
	uint16_t port;		/* 0: any free port (tests) */
	const char *token;	/* NULL: no token needed */
};

#define CS_WEB_DEFAULT_ADDR "127.0.0.1"

/* "[ADDR:]PORT", "ADDR:PORT" or "[IPv6]:PORT" into o; -1 with a message. */
int cs_web_parse_listen(const char *arg, struct cs_web_opts *o, char *err,
			size_t errlen);

/* True for 127.0.0.0/8 and ::1: a dashboard there is local to this host. */
bool cs_web_is_loopback(const struct cs_web_opts *o);

int cs_web_start(struct cs_web **out, const struct cs_web_opts *o, char *err,
		 size_t errlen);

/* The port bound (useful when 0 was asked for). */
uint16_t cs_web_port(const struct cs_web *w);

/* Hands over a snapshot (its reference becomes the server's). */
void cs_web_publish(struct cs_web *w, struct cs_snapshot *snap);

/* Wakes event streams, stops the daemon, joins its threads. */
void cs_web_stop(struct cs_web *w);

#endif /* CS_WEB_SERVER_H */
