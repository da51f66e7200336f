/*
 * conn.c — the names every exporter spells the connection vocabulary with.
 */
#include "analyzer/tracking/conn.h"

const char *const cs_tcp_state_names[CS_TCP_STATE_MAX] = {
	[CS_TCP_CLOSED] = "CLOSED",
	[CS_TCP_LISTEN] = "LISTEN",
	[CS_TCP_SYN_SENT] = "SYN_SENT",
	[CS_TCP_SYN_RECEIVED] = "SYN_RECEIVED",
	[CS_TCP_ESTABLISHED] = "ESTABLISHED",
	[CS_TCP_FIN_WAIT_1] = "FIN_WAIT_1",
	[CS_TCP_FIN_WAIT_2] = "FIN_WAIT_2",
	[CS_TCP_CLOSE_WAIT] = "CLOSE_WAIT",
	[CS_TCP_CLOSING] = "CLOSING",
	[CS_TCP_LAST_ACK] = "LAST_ACK",
	[CS_TCP_TIME_WAIT] = "TIME_WAIT",
};

const char *const cs_outcome_names[CS_OUT_MAX] = {
	[CS_OUT_COMPLETED] = "completed",
	[CS_OUT_ESTABLISHED] = "established",
	[CS_OUT_CLOSING] = "closing",
	[CS_OUT_REFUSED] = "refused",
	[CS_OUT_TIMEOUT] = "timeout",
	[CS_OUT_UNREACHABLE] = "unreachable",
	[CS_OUT_ABORTED] = "aborted",
	[CS_OUT_RESET_NONEXISTENT] = "reset_nonexistent",
	[CS_OUT_HALF_OPEN] = "half_open",
	[CS_OUT_ATTEMPT] = "attempt",
	[CS_OUT_MIDSTREAM] = "midstream",
};

const char *const cs_rst_cause_names[CS_RST_CAUSE_MAX] = {
	[CS_RST_NONE] = "none",
	[CS_RST_REFUSED] = "refused",
	[CS_RST_ABORT] = "abort",
	[CS_RST_NONEXISTENT] = "nonexistent",
	[CS_RST_AFTER_CLOSE] = "after_close",
	[CS_RST_INVALID] = "invalid",
	[CS_RST_TIMEOUT] = "timeout",
	[CS_RST_UNJUDGED] = "unjudged",
};

const char *const cs_evict_names[CS_EVICT_MAX] = {
	[CS_EVICT_NONE] = "none",
	[CS_EVICT_EMBRYONIC] = "embryonic",
	[CS_EVICT_CLOSED] = "closed",
	[CS_EVICT_ACTIVE] = "active",
};
