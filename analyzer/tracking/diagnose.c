/*
 * diagnose.c — outcome of a connection.
 */
#include "analyzer/tracking/diagnose.h"

#include <stdio.h>

#include "analyzer/tracking/tcp.h"
#include "capture/pkttime.h"

bool cs_diagnose_icmp_unreachable(const struct cs_conn *c)
{
	if (!c->have_icmp)
		return false;
	return cs_icmp_is_unreachable(cs_addr_is_v4(&c->key.addr[0]), c->icmp_type);
}

/* Only SYNs from the originator: given up on, or not yet. */
static enum cs_outcome syn_only(const struct cs_conn *c, uint64_t now_us,
				uint64_t syn_timeout_us)
{
	if (c->ep[0].syn_cnt >= 2 ||
	    cs_time_add(c->first_ts_us, syn_timeout_us) <= now_us)
		return CS_OUT_TIMEOUT;
	return CS_OUT_ATTEMPT;
}

static enum cs_outcome after_reset(const struct cs_conn *c, uint64_t now_us,
				   uint64_t syn_timeout_us)
{
	switch (c->rst_cause) {
	case CS_RST_REFUSED:
		return CS_OUT_REFUSED;
	case CS_RST_NONEXISTENT:
		return CS_OUT_RESET_NONEXISTENT;
	case CS_RST_UNJUDGED:
		/* a lone RST: nothing says the connection was established */
		return CS_OUT_MIDSTREAM;
	case CS_RST_AFTER_CLOSE:
		/* both FINs went out: the RST replaced a last ACK */
		if (c->handshake_done)
			return CS_OUT_COMPLETED;
		break;
	default:
		break;
	}
	if (c->handshake_done || !c->ep[0].syn)
		return CS_OUT_ABORTED;
	if (c->ep[1].syn)
		return CS_OUT_HALF_OPEN;	/* the handshake was abandoned with a RST */
	return syn_only(c, now_us, syn_timeout_us);
}

enum cs_outcome cs_diagnose_outcome(const struct cs_conn *c, uint64_t now_us,
				    uint64_t syn_timeout_us)
{
	const struct cs_endpoint *o = &c->ep[0], *r = &c->ep[1];

	if (cs_tcp_reset(c))
		return after_reset(c, now_us, syn_timeout_us);
	if (cs_diagnose_icmp_unreachable(c) && !c->handshake_done && !r->syn)
		return CS_OUT_UNREACHABLE;
	if (!o->syn)
		return CS_OUT_MIDSTREAM;
	if (c->handshake_done) {
		if (o->fin && r->fin)
			return CS_OUT_COMPLETED;
		return o->fin || r->fin ? CS_OUT_CLOSING : CS_OUT_ESTABLISHED;
	}
	if (r->syn)
		return CS_OUT_HALF_OPEN;
	return syn_only(c, now_us, syn_timeout_us);
}

/*
 * The responder answered the SYN with an ACK of an older connection on the
 * 4-tuple and the originator reset that one (tcp.c): its connect() was
 * delayed from the first SYN to the SYN the SYN-ACK answered, which a
 * reset_nonexistent verdict would have blamed on the server.
 */
static void old_conn_note(const struct cs_conn *c, char *buf, size_t len)
{
	static const char why[] = "the server answered the SYN with an ACK for "
				  "an older connection on this 4-tuple";
	const char *did = !c->old_reset ? "" :
			  c->ep[0].syn_cnt > 1 ? "; the client reset it and retried" :
			  "; the client reset it";

	if (c->ep[1].syn && c->syn_ts_us >= c->first_ts_us) {
		uint64_t us = c->syn_ts_us - c->first_ts_us;
		snprintf(buf, len, "connect delayed %llu.%06llu s: %s%s",
			 (unsigned long long)(us / 1000000u),
			 (unsigned long long)(us % 1000000u), why, did);
	} else {
		snprintf(buf, len, "%s%s", why, did);
	}
}

bool cs_diagnose_note(const struct cs_conn *c, char *buf, size_t len)
{
	if (len)
		buf[0] = '\0';
	if (!c->old_ack || !len)
		return false;
	old_conn_note(c, buf, len);
	return true;
}
