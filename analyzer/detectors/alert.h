/*
 * alert.h — what the detectors raise, in DESIGN.md's alert vocabulary.
 *
 * An alert names its type, its subject (a target ip:port, a host, a
 * 4-tuple), when it started and ended, the figures behind it and one
 * sentence a person understands.  Detectors update an alert in place while
 * the condition lasts, so one episode is one alert.  The list is bounded:
 * alerts past the cap are counted, not stored.
 */
#ifndef CS_ANALYZER_ALERT_H
#define CS_ANALYZER_ALERT_H

#include <stdbool.h>
#include <stdint.h>

#include "capture/packet.h"

enum cs_alert_type {
	CS_ALERT_SYN_FLOOD,
	CS_ALERT_TIME_WAIT_BUILDUP,
	CS_ALERT_CLOSE_WAIT_BUILDUP,
	CS_ALERT_PORT_REUSE,
	CS_ALERT_PORT_SCAN,
	CS_ALERT_RST_BACKSCATTER,
	CS_ALERT_TYPE_MAX
};
extern const char *const cs_alert_type_names[CS_ALERT_TYPE_MAX];

#define CS_ALERT_FIGURES 10
#define CS_ALERT_TEXT 512
#define CS_ALERTS_MAX 1024

/* A figure: a name and a value; the name is NULL where a type has fewer. */
struct cs_figure {
	const char *name;
	uint64_t value;
	bool is_usec;		/* a time or duration in microseconds */
};

struct cs_alert {
	uint8_t type;			/* enum cs_alert_type */
	struct cs_addr addr;		/* the target, host or originator */
	uint16_t port;			/* 0 when the subject is a host */
	struct cs_addr peer;		/* port_reuse, time_wait: the other end */
	uint16_t peer_port;
	bool has_peer;
	uint64_t start_us, end_us;
	struct cs_figure fig[CS_ALERT_FIGURES];
	const char *label_key;		/* one named word, e.g. "response" */
	const char *label_value;
	char text[CS_ALERT_TEXT];	/* the explanation */
};

struct cs_alerts {
	struct cs_alert *list;		/* CS_ALERTS_MAX, allocated by init */
	uint32_t count;
	uint64_t dropped;		/* raised past the cap */
	uint64_t by_type[CS_ALERT_TYPE_MAX];
};

int cs_alerts_init(struct cs_alerts *a);
void cs_alerts_fini(struct cs_alerts *a);

/* A new alert of a type, or NULL when the list is full (counted). */
struct cs_alert *cs_alerts_raise(struct cs_alerts *a, enum cs_alert_type type,
				 uint64_t start_us);

/* Sets figure i of an alert (names are static strings). */
void cs_alert_figure(struct cs_alert *al, int i, const char *name,
		     uint64_t value, bool is_usec);

/* 1234567 -> "1,234,567": counts are read by people. */
const char *cs_count_format(uint64_t v, char *buf, unsigned len);

/* A packet time as the UTC time of day, "22:13:20": alert sentences name
 * moments of one capture, whose date the report already gives.  "?" for a
 * time the C library cannot convert. */
const char *cs_time_of_day_format(uint64_t us, char *buf, unsigned len);

/* "10.0.0.2:80", "[2001:db8::1]:443", or the address alone if port is 0. */
char *cs_endpoint_format(const struct cs_addr *a, uint16_t port, char *buf,
			 unsigned len);

#endif /* CS_ANALYZER_ALERT_H */
