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
 * Safe defaults: loopback unless told otherwise, answers only to a Host
 * that names this server (route.h: DNS rebinding), bounded connections
 * per client and in all, idle connections cut fast when the server is
 * busy, a small per-request memory pool (long URLs and headers are
 * refused by size), GET and HEAD only, no file system access (the page is
 * compiled in), security headers on every response, an optional bearer
 * token compared in constant time whose failed attempts cost the client
 * time (web/clients.h), optional HTTPS (libmicrohttpd's GnuTLS), and a
 * bound on the replies being rendered at once.
 */
#ifndef CS_WEB_SERVER_H
#define CS_WEB_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "analyzer/views/snapshot.h"

struct cs_web;

/* What the server allows; cs_web_limits_default unless a test says. */
struct cs_web_limits {
	unsigned connections;		/* in all: one thread each */
	unsigned per_client;		/* per IPv4 address or IPv6 /64 */
	unsigned busy;			/* from this many connections on, busy */
	unsigned request_sec;		/* for a whole request to arrive */
	unsigned busy_request_sec;	/* the same while busy */
	unsigned penalty_ms;		/* the cost of a failed token attempt */
	unsigned max_wait_ms;		/* a turn further away: 429 */
};
extern const struct cs_web_limits cs_web_limits_default;

#define CS_WEB_HOSTS_MAX 16
#define CS_WEB_TOKEN_MIN 16	/* characters: guessing must be hopeless */

/* A log line for people (runtime events: refused clients, failed token
 * attempts, the daemon's resource errors), without a newline. */
typedef void (*cs_web_log_fn)(void *ctx, const char *line);

struct cs_web_opts {
	char addr[64];		/* numeric IPv4 or IPv6 address */
	uint16_t port;		/* 0: any free port (tests) */
	const char *token;	/* NULL: no token needed */
	const char *hosts[CS_WEB_HOSTS_MAX];	/* --web-host: other names served */
	size_t host_cnt;
	const char *cert_path;	/* with key_path: HTTPS */
	const char *key_path;
	const struct cs_web_limits *limits;	/* NULL: the defaults */
	cs_web_log_fn log;	/* NULL: stderr */
	void *log_ctx;
};

#define CS_WEB_DEFAULT_ADDR "127.0.0.1"

/* --web-host NAME into o (at most CS_WEB_HOSTS_MAX); -1 with a message. */
int cs_web_add_host(struct cs_web_opts *o, const char *name, char *err, size_t errlen);

/* A token as the server takes it: at least CS_WEB_TOKEN_MIN characters,
 * printable ASCII without spaces (it travels in a header and a URL); 0,
 * or -1 with a message naming `what` (the option or variable it came from). */
int cs_web_check_token(const char *token, const char *what, char *err, size_t errlen);

/* The token in a file's first line (--web-token-file), into buf; 0, or -1
 * with a message. */
int cs_web_read_token(const char *path, char *buf, size_t len, char *err,
		      size_t errlen);

/* "[ADDR:]PORT", "ADDR:PORT" or "[IPv6]:PORT" into o; -1 with a message. */
int cs_web_parse_listen(const char *arg, struct cs_web_opts *o, char *err,
			size_t errlen);

/* True for 127.0.0.0/8 and ::1: a dashboard there is local to this host. */
bool cs_web_is_loopback(const struct cs_web_opts *o);

int cs_web_start(struct cs_web **out, const struct cs_web_opts *o, char *err,
		 size_t errlen);

/* The port bound (useful when 0 was asked for). */
uint16_t cs_web_port(const struct cs_web *w);

/* True when serving HTTPS. */
bool cs_web_tls(const struct cs_web *w);

/* Hands over a snapshot (its reference becomes the server's). */
void cs_web_publish(struct cs_web *w, struct cs_snapshot *snap);

/* Wakes event streams, stops the daemon, joins its threads. */
void cs_web_stop(struct cs_web *w);

#endif /* CS_WEB_SERVER_H */
