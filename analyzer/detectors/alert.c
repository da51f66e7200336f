/*
 * alert.c — the bounded alert list.
 */
#include "analyzer/detectors/alert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const cs_alert_type_names[CS_ALERT_TYPE_MAX] = {
	[CS_ALERT_SYN_FLOOD] = "syn_flood",
	[CS_ALERT_TIME_WAIT_BUILDUP] = "time_wait_buildup",
	[CS_ALERT_CLOSE_WAIT_BUILDUP] = "close_wait_buildup",
	[CS_ALERT_PORT_REUSE] = "port_reuse",
	[CS_ALERT_PORT_SCAN] = "port_scan",
	[CS_ALERT_RST_BACKSCATTER] = "rst_backscatter",
};

int cs_alerts_init(struct cs_alerts *a)
{
	memset(a, 0, sizeof *a);
	a->list = calloc(CS_ALERTS_MAX, sizeof *a->list);
	return a->list ? 0 : -1;
}

void cs_alerts_fini(struct cs_alerts *a)
{
	free(a->list);
	a->list = NULL;
}

struct cs_alert *cs_alerts_raise(struct cs_alerts *a, enum cs_alert_type type,
				 uint64_t start_us)
{
	a->by_type[type]++;
	if (a->count == CS_ALERTS_MAX) {
		a->dropped++;
		return NULL;
	}
	struct cs_alert *al = &a->list[a->count++];
	memset(al, 0, sizeof *al);
	al->type = (uint8_t)type;
	al->start_us = al->end_us = start_us;
	return al;
}

void cs_alert_figure(struct cs_alert *al, int i, const char *name,
		     uint64_t value, bool is_usec)
{
	if (i < 0 || i >= CS_ALERT_FIGURES)
		return;
	al->fig[i].name = name;
	al->fig[i].value = value;
	al->fig[i].is_usec = is_usec;
}

const char *cs_count_format(uint64_t v, char *buf, unsigned len)
{
	char digits[24];
	int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
	unsigned o = 0;

	for (int i = 0; i < n && o + 2 < len; i++) {
		if (i > 0 && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	if (len)
		buf[o < len ? o : len - 1] = '\0';
	return buf;
}

const char *cs_time_of_day_format(uint64_t us, char *buf, unsigned len)
{
	time_t sec = (time_t)(us / CS_USEC_PER_SEC);
	struct tm tm;

	if (!gmtime_r(&sec, &tm) || !strftime(buf, len, "%H:%M:%S", &tm))
		snprintf(buf, len, "?");
	return buf;
}

char *cs_endpoint_format(const struct cs_addr *a, uint16_t port, char *buf,
			 unsigned len)
{
	char addr[CS_ADDR_STRLEN];

	cs_addr_format(a, addr, sizeof addr);
	if (!port)
		snprintf(buf, len, "%s", addr);
	else if (cs_addr_is_v4(a))
		snprintf(buf, len, "%s:%u", addr, port);
	else
		snprintf(buf, len, "[%s]:%u", addr, port);
	return buf;
}
