/*
 * hostview.c — the host view in JSON and in words.
 */
#include "analyzer/reports/hostview.h"

#include <inttypes.h>

static void json_counters(struct cs_json *j, const struct cs_host *h)
{
	uint64_t d;

	cs_json_key(j, "counters");
	cs_json_obj_begin(j);
	for (int i = 0; i < CS_HC_MAX; i++) {
		cs_json_key(j, cs_hostctr_names[i]);
		if (cs_host_delta(h, (enum cs_hostctr)i, &d))
			cs_json_u64(j, d);
		else
			cs_json_null(j);	/* not read twice */
	}
	cs_json_obj_end(j);
}

static void json_listeners(struct cs_json *j, const struct cs_host *h)
{
	char ep[80];

	cs_json_key(j, "listeners");
	cs_json_arr_begin(j);
	for (uint32_t i = 0; i < h->listen_cnt; i++) {
		const struct cs_host_listen *l = &h->listen[i];
		cs_json_obj_begin(j);
		cs_json_kv_str(j, "addr", cs_endpoint_format(cs_host_listen_addr(l),
							     l->port, ep, sizeof ep));
		cs_json_kv_u64(j, "backlog", l->backlog);
		cs_json_kv_u64(j, "queue", l->queue);
		cs_json_kv_u64(j, "queue_peak", l->queue_peak);
		cs_json_kv_u64(j, "syn_recv_peak", l->syn_recv_peak);
		cs_json_kv_u64(j, "overflows", l->overflows);
		cs_json_obj_end(j);
	}
	cs_json_arr_end(j);
}

static void json_states(struct cs_json *j, const char *key,
			const uint64_t *counts)
{
	cs_json_key(j, key);
	cs_json_obj_begin(j);
	for (int i = 1; i < CS_KSTATE_MAX; i++)
		cs_json_kv_u64(j, cs_kstate_names[i], counts[i]);
	cs_json_obj_end(j);
}

/* Local ports with TIME_WAIT, CLOSE_WAIT or SYN_RECEIVED sockets, at the
 * last complete sample: which service holds them. */
static void json_ports(struct cs_json *j, const struct cs_host_sample *s)
{
	cs_json_key(j, "ports");
	cs_json_arr_begin(j);
	for (uint32_t i = 0; s->have_sockets && i < s->port_cnt; i++) {
		const struct cs_host_port *p = &s->ports[i];
		cs_json_obj_begin(j);
		cs_json_kv_u64(j, "port", p->port);
		cs_json_kv_u64(j, "time_wait", p->time_wait);
		cs_json_kv_u64(j, "close_wait", p->close_wait);
		cs_json_kv_u64(j, "syn_recv", p->syn_recv);
		cs_json_obj_end(j);
	}
	cs_json_arr_end(j);
	cs_json_kv_u64(j, "ports_unkept", s->ports_unkept);
}

/* The kernel's sockets and the packets' endpoints in TIME_WAIT and
 * CLOSE_WAIT, each at its highest over the samples. */
static void json_agreement(struct cs_json *j, const struct cs_host *h)
{
	cs_json_key(j, "agreement");
	cs_json_obj_begin(j);
	cs_json_key(j, "TIME_WAIT");
	cs_json_obj_begin(j);
	cs_json_kv_u64(j, "kernel_peak", h->sockets_peak[CS_KSTATE_TIME_WAIT]);
	cs_json_kv_u64(j, "packets_peak", h->wire_time_wait_peak);
	cs_json_obj_end(j);
	cs_json_key(j, "CLOSE_WAIT");
	cs_json_obj_begin(j);
	cs_json_kv_u64(j, "kernel_peak", h->sockets_peak[CS_KSTATE_CLOSE_WAIT]);
	cs_json_kv_u64(j, "packets_peak", h->wire_close_wait_peak);
	cs_json_obj_end(j);
	cs_json_obj_end(j);
}

void cs_hostview_json(struct cs_json *j, const struct cs_host *h)
{
	if (!h || !h->on) {
		cs_json_null(j);
		return;
	}
	cs_json_obj_begin(j);
	cs_json_kv_u64(j, "samples", h->samples);
	cs_json_kv_usec_or_null(j, "first", h->samples > 0, h->first.ts_us);
	cs_json_kv_usec_or_null(j, "last", h->samples > 0, h->last.ts_us);
	json_counters(j, h);
	json_listeners(j, h);
	json_states(j, "sockets", h->last.states);
	json_states(j, "sockets_peak", h->sockets_peak);
	json_ports(j, &h->last);
	json_agreement(j, h);
	cs_json_kv_u64(j, "incomplete_samples", h->sockets_incomplete);
	cs_json_obj_end(j);
}

static void text_counters(FILE *out, const struct cs_host *h)
{
	const char *sep = "  counters ";
	uint64_t d;

	for (int i = 0; i < CS_HC_MAX; i++) {
		if (!cs_host_delta(h, (enum cs_hostctr)i, &d) || !d)
			continue;
		fprintf(out, "%s%s +%" PRIu64, sep, cs_hostctr_names[i], d);
		sep = ", ";
	}
	if (sep[0] == ',')
		fputc('\n', out);
}

static void text_listeners(FILE *out, const struct cs_host *h)
{
	char ep[80];

	for (uint32_t i = 0; i < h->listen_cnt; i++) {
		const struct cs_host_listen *l = &h->listen[i];
		if (!l->overflows && l->queue_peak <= l->backlog)
			continue;
		fprintf(out, "  listener %s: backlog %" PRIu32 ", accept queue up "
			"to %" PRIu32 " (full above %" PRIu32 "), %" PRIu64
			" overflows while full\n",
			cs_endpoint_format(cs_host_listen_addr(l), l->port, ep, sizeof ep),
			l->backlog, l->queue_peak, l->backlog, l->overflows);
	}
}

static void text_states(FILE *out, const struct cs_host *h)
{
	const char *sep = "  sockets at the end: ";

	for (int i = 1; i < CS_KSTATE_MAX; i++) {
		if (!h->last.states[i])
			continue;
		fprintf(out, "%s%s %" PRIu64, sep, cs_kstate_names[i], h->last.states[i]);
		sep = ", ";
	}
	if (sep[0] == ',')
		fputc('\n', out);
}

/* "TIME_WAIT at most: kernel 40, packets 40 (they agree)".  The kernel
 * counts this host's sockets; the packets count the endpoints of both
 * sides they saw, and miss what the interface does not carry. */
static void text_agreement(FILE *out, const char *state, uint64_t kernel,
			   uint64_t wire)
{
	if (!kernel && !wire)
		return;
	fprintf(out, "  %s at most: kernel %" PRIu64 " sockets, packets %" PRIu64
		" endpoints (%s)\n", state, kernel, wire, kernel == wire ? "they agree" :
		wire > kernel ? "the packets also count the remote side's" :
		"the kernel also holds sockets whose packets were not captured");
}

void cs_hostview_text(FILE *out, const struct cs_host *h)
{
	if (!h->on || !cs_host_moved(h))
		return;
	fprintf(out, "\nHost (the kernel of connscope's network namespace, %" PRIu64
		" samples)\n", h->samples);
	text_listeners(out, h);
	text_counters(out, h);
	text_states(out, h);
	text_agreement(out, "TIME_WAIT", h->sockets_peak[CS_KSTATE_TIME_WAIT],
		       h->wire_time_wait_peak);
	text_agreement(out, "CLOSE_WAIT", h->sockets_peak[CS_KSTATE_CLOSE_WAIT],
		       h->wire_close_wait_peak);
}
