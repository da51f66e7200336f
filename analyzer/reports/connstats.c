/*
 * connstats.c — aggregates over finished connections.
 */
#include "analyzer/reports/connstats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/reports/verdict.h"
#include "analyzer/tracking/hash.h"
#include "analyzer/tracking/written.h"

void cs_connstats_init(struct cs_connstats *s)
{
	memset(s, 0, sizeof *s);
}

void cs_connstats_fini(struct cs_connstats *s)
{
	free(s->servers);
	free(s->servers_written);
	s->servers = NULL;
	s->servers_written = NULL;
}

uint64_t cs_conn_handshake_rtt_us(const struct cs_conn *c)
{
	if (!c->handshake_done || !c->syn_ts_us || c->ack_ts_us < c->syn_ts_us)
		return 0;
	return c->ack_ts_us - c->syn_ts_us;
}

/* Bucket b covers [2^(b/8) .. 2^((b+1)/8)) microseconds. */
static int rtt_bucket(uint64_t us)
{
	if (us < 1)
		us = 1;
	int b = (int)(log2((double)us) * 8.0);
	return b < 0 ? 0 : b >= CS_RTT_BUCKETS ? CS_RTT_BUCKETS - 1 : b;
}

static uint64_t bucket_upper_us(int b)
{
	return (uint64_t)ceil(exp2((double)(b + 1) / 8.0));
}

uint64_t cs_connstats_rtt_percentile(const struct cs_connstats *s, double p)
{
	if (s->rtt_count == 0)
		return 0;
	uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)s->rtt_count);
	uint64_t seen = 0;

	if (rank == 0)
		rank = 1;
	for (int b = 0; b < CS_RTT_BUCKETS; b++) {
		seen += s->rtt_hist[b];
		if (seen >= rank)
			return bucket_upper_us(b);
	}
	return bucket_upper_us(CS_RTT_BUCKETS - 1);
}

/* Every word goes through the full finalizer: a single multiply left the
 * low bits (the slot) nearly the same for neighbouring addresses, and the
 * table clustered into runs of a hundred probes. */
static uint32_t server_slot(const struct cs_addr *a, uint16_t port)
{
	uint64_t h = 0x9e3779b97f4a7c15ull * (port + 1u);

	for (int i = 0; i < 16; i += 8) {
		uint64_t w;
		memcpy(&w, a->b + i, sizeof w);
		h = cs_mix64(h ^ w);
	}
	return (uint32_t)h & (CS_SERVER_SLOTS - 1);
}

/* The table, zeroed, at first use; false without the memory. */
static bool have_servers(struct cs_connstats *s)
{
	if (!s->servers)
		s->servers = cs_written_calloc(CS_SERVER_SLOTS, sizeof *s->servers,
					       &s->servers_written);
	return s->servers != NULL;
}

/* Slot i holds a server.  A page never written is not read (written.h). */
static bool server_used(const struct cs_connstats *s, uint32_t i)
{
	size_t used_at = i * sizeof *s->servers + offsetof(struct cs_server_count, used);

	return cs_written_at(s->servers_written, used_at) && s->servers[i].used;
}

/* Exact counts in an open-addressing table kept below 7/8 full. */
static void count_server(struct cs_connstats *s, const struct cs_addr *a,
			 uint16_t port, bool failed)
{
	if (!have_servers(s)) {
		s->servers_untracked++;
		return;
	}
	for (uint32_t i = server_slot(a, port);; i = (i + 1) & (CS_SERVER_SLOTS - 1)) {
		struct cs_server_count *e = &s->servers[i];
		bool used = server_used(s, i);
		if (used && e->port == port && !memcmp(&e->addr, a, sizeof *a)) {
			e->conns++;
			e->failed += failed;
			return;
		}
		if (!used) {
			if (s->server_cnt >= CS_SERVER_SLOTS / 8 * 7) {
				s->servers_untracked++;
				return;
			}
			cs_written_mark(s->servers_written, i * sizeof *e, sizeof *e);
			e->used = true;
			e->addr = *a;
			e->port = port;
			e->conns = 1;
			e->failed = failed;
			s->server_cnt++;
			return;
		}
	}
}

void cs_connstats_add(struct cs_connstats *s, const struct cs_conn *c,
		      enum cs_outcome outcome, enum cs_conn_state cstate,
		      bool at_end)
{
	int resp = !c->orig;

	s->connections++;
	s->outcomes[outcome]++;
	s->conn_states[cstate]++;
	s->port_reuse += c->port_reuse;
	s->midstream += !c->ep[0].syn;
	if (at_end) {
		s->end_conns++;
		s->end_states[c->ep[0].state]++;
		s->end_states[c->ep[1].state]++;
	}
	uint64_t rtt = cs_conn_handshake_rtt_us(c);
	if (rtt) {
		s->rtt_count++;
		s->rtt_hist[rtt_bucket(rtt)]++;
	}
	count_server(s, &c->key.addr[resp], c->key.port[resp],
		     cs_verdict_failing(outcome));
}

static int by_conns(const void *a, const void *b)
{
	const struct cs_server_count *x = a, *y = b;
	if (x->conns != y->conns)
		return x->conns < y->conns ? 1 : -1;
	int d = memcmp(&x->addr, &y->addr, sizeof x->addr);
	return d ? d : (int)x->port - (int)y->port;
}

static int by_failed(const void *a, const void *b)
{
	const struct cs_server_count *x = a, *y = b;
	if (x->failed != y->failed)
		return x->failed < y->failed ? 1 : -1;
	return by_conns(a, b);
}

/* Keeps the max first servers by cmp in out[], sorted, by insertion (max
 * is small); only those with at least min_failed failures. */
static int top_by(const struct cs_connstats *s, struct cs_server_count *out, int max,
		  int (*cmp)(const void *, const void *), uint64_t min_failed)
{
	int n = 0;

	for (uint32_t i = 0; s->servers && max > 0 && i < CS_SERVER_SLOTS; i++) {
		const struct cs_server_count *e = &s->servers[i];
		if (!server_used(s, i) || e->failed < min_failed ||
		    (n == max && cmp(e, &out[n - 1]) >= 0))
			continue;
		int j = n < max ? n++ : n - 1;
		while (j > 0 && cmp(e, &out[j - 1]) < 0) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = *e;
	}
	return n;
}

int cs_connstats_top_servers(const struct cs_connstats *s,
			     struct cs_server_count *out, int max)
{
	return top_by(s, out, max, by_conns, 0);
}

int cs_connstats_top_failing(const struct cs_connstats *s,
			     struct cs_server_count *out, int max)
{
	return top_by(s, out, max, by_failed, 1);
}
