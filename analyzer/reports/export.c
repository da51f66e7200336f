/*
 * export.c — JSON connection objects and Zeek conn.log rows.
 */
#include "analyzer/reports/export.h"

#include <inttypes.h>
#include <time.h>

#include "analyzer/reports/connstats.h"
#include "analyzer/reports/verdict.h"
#include "analyzer/tracking/diagnose.h"
#include "analyzer/tracking/zeek.h"

static int resp_of(const struct cs_conn *c) { return !c->orig; }

static void json_addr(struct cs_json *j, const char *key, const struct cs_addr *a)
{
	char buf[CS_ADDR_STRLEN];
	cs_json_kv_plain(j, key, cs_addr_format(a, buf, sizeof buf));
}

static uint64_t duration_us(const struct cs_conn *c)
{
	return c->last_ts_us - c->first_ts_us;
}

/* The RST that ended it; or, when only RSTs the receiver would not accept
 * were seen, those (cause "invalid": possibly injected). */
static void json_rst(struct cs_json *j, const struct cs_conn *c)
{
	const struct cs_endpoint *o = &c->ep[0], *r = &c->ep[1];

	cs_json_key(j, "rst");
	if (o->rst_first || r->rst_first) {
		cs_json_obj_begin(j);
		cs_json_kv_plain(j, "by", o->rst_first ? "orig" : "resp");
		cs_json_kv_plain(j, "cause", cs_rst_cause_names[c->rst_cause]);
		cs_json_obj_end(j);
	} else if (o->invalid_rsts || r->invalid_rsts) {
		cs_json_obj_begin(j);
		cs_json_kv_plain(j, "by", o->invalid_rsts ? "orig" : "resp");
		cs_json_kv_plain(j, "cause", cs_rst_cause_names[CS_RST_INVALID]);
		cs_json_obj_end(j);
	} else {
		cs_json_null(j);
	}
}

static void json_icmp(struct cs_json *j, const struct cs_conn *c)
{
	cs_json_key(j, "icmp");
	if (!c->have_icmp) {
		cs_json_null(j);
		return;
	}
	cs_json_obj_begin(j);
	const char *meaning, *err;
	cs_icmp_meaning(cs_addr_is_v4(&c->key.addr[0]), c->icmp_type,
			c->icmp_code, &meaning, &err);
	cs_json_kv_u64(j, "type", c->icmp_type);
	cs_json_kv_u64(j, "code", c->icmp_code);
	json_addr(j, "from", &c->icmp_from);
	cs_json_kv_u64(j, "count", c->icmp_cnt);
	cs_json_kv_str(j, "meaning", meaning);
	cs_json_kv_str(j, "errno", err);
	cs_json_obj_end(j);
}

/* Every conn.log row's conn_state and history, in order. */
static void json_zeek_rows(struct cs_json *j, const struct cs_export_rows *rows)
{
	cs_json_key(j, "zeek_rows");
	cs_json_arr_begin(j);
	for (uint32_t i = 0; i < rows->n; i++) {
		cs_json_obj_begin(j);
		cs_json_kv_plain(j, "conn_state",
				 cs_conn_state_names[rows->row[i].conn_state]);
		cs_json_kv_plain(j, "history", rows->row[i].history);
		cs_json_obj_end(j);
	}
	cs_json_arr_end(j);
}

/* Payload bytes sent by record endpoint i over the whole connection: the
 * rows already written, and the one in progress (Zeek's count, which
 * starts again with each row). */
uint64_t cs_export_conn_bytes(const struct cs_conn *c, int i)
{
	return c->z_bytes_done[i] + cs_zeek_size(c, i ^ c->z_flip);
}

static void conn_fields(struct cs_json *j, const struct cs_conn *c,
			const struct cs_verdict *v,
			const struct cs_export_rows *rows)
{
	const struct cs_endpoint *o = &c->ep[0], *r = &c->ep[1];
	int ro = c->orig, rr = resp_of(c);
	uint64_t rtt = cs_conn_handshake_rtt_us(c);
	/* split by Zeek's timers: the first row's, as the connection began */
	uint8_t cs = rows ? rows->row[0].conn_state : (uint8_t)v->conn_state;
	const char *history = rows ? rows->row[0].history : c->history;

	cs_json_kv_u64(j, "id", c->id);
	json_addr(j, "orig_h", &c->key.addr[ro]);
	cs_json_kv_u64(j, "orig_p", c->key.port[ro]);
	json_addr(j, "resp_h", &c->key.addr[rr]);
	cs_json_kv_u64(j, "resp_p", c->key.port[rr]);
	cs_json_kv_usec(j, "ts", c->first_ts_us);
	cs_json_kv_usec(j, "duration", duration_us(c));
	cs_json_kv_plain(j, "outcome", cs_outcome_names[v->outcome]);
	cs_json_kv_plain(j, "conn_state", cs_conn_state_names[cs]);
	cs_json_kv_plain(j, "history", history);
	cs_json_kv_plain(j, "orig_state", cs_tcp_state_names[o->state]);
	cs_json_kv_plain(j, "resp_state", cs_tcp_state_names[r->state]);
	/* a closing connection: which side still owes its close() */
	cs_json_kv_plain(j, "close_wait", o->state == CS_TCP_CLOSE_WAIT ? "orig" :
			 r->state == CS_TCP_CLOSE_WAIT ? "resp" : NULL);
	json_rst(j, c);
	json_icmp(j, c);
	cs_json_key(j, "tunnel");
	if (c->tunnel.kind) {
		char tun[128];
		cs_json_str(j, cs_tunnel_format(&c->tunnel, tun, sizeof tun));
	} else {
		cs_json_null(j);
	}
	cs_json_kv_u64(j, "syn_retransmits", o->syn_cnt ? o->syn_cnt - 1 : 0);
	cs_json_kv_u64(j, "synack_retransmits", r->syn_cnt ? r->syn_cnt - 1 : 0);
	cs_json_kv_usec_or_null(j, "handshake_rtt", rtt != 0, rtt);
	/* The two halves say where the capture point sits: near the client
	 * SYN->SYN-ACK is the network round trip, near the server it is the
	 * SYN-ACK->ACK half. */
	cs_json_kv_usec_or_null(j, "rtt_syn_synack",
				rtt && c->synack_ts_us >= c->syn_ts_us,
				c->synack_ts_us - c->syn_ts_us);
	cs_json_kv_usec_or_null(j, "rtt_synack_ack",
				rtt && c->ack_ts_us >= c->synack_ts_us,
				c->ack_ts_us - c->synack_ts_us);
	cs_json_kv_u64(j, "orig_pkts", o->pkts);
	cs_json_kv_u64(j, "resp_pkts", r->pkts);
	cs_json_kv_u64(j, "orig_bytes", cs_export_conn_bytes(c, 0));
	cs_json_kv_u64(j, "resp_bytes", cs_export_conn_bytes(c, 1));
	cs_json_kv_u64(j, "orig_ip_bytes", o->ip_bytes);
	cs_json_kv_u64(j, "resp_ip_bytes", r->ip_bytes);
	cs_json_kv_u64(j, "retransmits", (uint64_t)o->retransmits + r->retransmits);
	cs_json_kv_u64(j, "zero_windows", (uint64_t)o->zero_windows + r->zero_windows);
	cs_json_kv_u64(j, "keepalives", (uint64_t)o->keepalives + r->keepalives);
	cs_json_kv_u64(j, "invalid_rsts", (uint64_t)o->invalid_rsts + r->invalid_rsts);
	cs_json_kv_u64(j, "out_of_window",
		       (uint64_t)o->out_of_window + r->out_of_window);
	cs_json_key(j, "midstream");
	cs_json_bool(j, !o->syn);
	cs_json_key(j, "port_reuse");
	cs_json_bool(j, c->port_reuse);
	cs_json_kv_plain(j, "evicted", c->evicted ? cs_evict_names[c->evicted] : NULL);
	char note[256];
	if (cs_diagnose_note(c, note, sizeof note))
		cs_json_kv_str(j, "diagnosis", note);
	if (rows)
		json_zeek_rows(j, rows);
}

void cs_export_conn_fields(struct cs_json *j, const struct cs_conn *c,
			   const struct cs_verdict *v)
{
	conn_fields(j, c, v, NULL);
}

void cs_export_conn_json(struct cs_json *j, const struct cs_conn *c,
			 const struct cs_verdict *v)
{
	cs_json_obj_begin(j);
	conn_fields(j, c, v, NULL);
	cs_json_obj_end(j);
}

void cs_export_conn_json_rows(struct cs_json *j, const struct cs_conn *c,
			      const struct cs_verdict *v,
			      const struct cs_export_rows *rows)
{
	cs_json_obj_begin(j);
	conn_fields(j, c, v, rows && rows->n >= 2 ? rows : NULL);
	cs_json_obj_end(j);
}

void cs_export_conn_fields_rows(struct cs_json *j, const struct cs_conn *c,
				const struct cs_verdict *v,
				const struct cs_export_rows *rows)
{
	conn_fields(j, c, v, rows && rows->n >= 2 ? rows : NULL);
}

void cs_export_uid(const struct cs_conn *c, char out[20])
{
	static const char b62[] =
		"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	uint64_t h = (c->id * 0x9e3779b97f4a7c15ull ^ c->first_ts_us) +
		     c->z_segment * 0xc2b2ae3d27d4eb4full;

	out[0] = 'C';
	for (int i = 1; i < 18; i++) {
		h ^= h >> 29;
		h *= 0xbf58476d1ce4e5b9ull;
		out[i] = b62[(h >> 32) % 62];
	}
	out[18] = '\0';
}

static void zeek_time_now(char *buf, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	if (!gmtime_r(&now, &tm) || !strftime(buf, len, "%Y-%m-%d-%H-%M-%S", &tm))
		snprintf(buf, len, "-");
}

void cs_connlog_header(FILE *f)
{
	char now[32];

	zeek_time_now(now, sizeof now);
	fputs("#separator \\x09\n#set_separator\t,\n#empty_field\t(empty)\n"
	      "#unset_field\t-\n#path\tconn\n", f);
	fprintf(f, "#open\t%s\n", now);
	fputs("#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\t"
	      "proto\tservice\tduration\torig_bytes\tresp_bytes\tconn_state\t"
	      "local_orig\tlocal_resp\tmissed_bytes\thistory\torig_pkts\t"
	      "orig_ip_bytes\tresp_pkts\tresp_ip_bytes\ttunnel_parents\n", f);
	fputs("#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\t"
	      "interval\tcount\tcount\tstring\tbool\tbool\tcount\tstring\t"
	      "count\tcount\tcount\tcount\tset[string]\n", f);
}

void cs_connlog_footer(FILE *f)
{
	char now[32];

	zeek_time_now(now, sizeof now);
	fprintf(f, "#close\t%s\n", now);
}

/*
 * One row per Zeek connection: the record's current segment, in Zeek's
 * orientation.  Zeek logs duration and byte counts only when the duration
 * is positive.
 */
void cs_connlog_row(FILE *f, const struct cs_conn *c, enum cs_conn_state state)
{
	char uid[20], oh[CS_ADDR_STRLEN], rh[CS_ADDR_STRLEN];
	int ro = c->z_flip ? resp_of(c) : c->orig, rr = !ro;
	uint64_t dur = c->z_last_us - c->z_start_us;
	const struct cs_zeek_ep *zo = cs_zeek_ep_of(c, 0), *zr = cs_zeek_ep_of(c, 1);

	cs_export_uid(c, uid);
	fprintf(f, "%" PRIu64 ".%06" PRIu64 "\t%s\t%s\t%u\t%s\t%u\ttcp\t-\t",
		c->z_start_us / 1000000u, c->z_start_us % 1000000u, uid,
		cs_addr_format(&c->key.addr[ro], oh, sizeof oh), c->key.port[ro],
		cs_addr_format(&c->key.addr[rr], rh, sizeof rh), c->key.port[rr]);
	if (dur)
		fprintf(f, "%" PRIu64 ".%06" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t",
			dur / 1000000u, dur % 1000000u, cs_zeek_size(c, 0),
			cs_zeek_size(c, 1));
	else
		fputs("-\t-\t-\t", f);
	fprintf(f, "%s\t-\t-\t0\t%s\t%" PRIu64 "\t%" PRIu64 "\t%" PRIu64 "\t%"
		PRIu64 "\t(empty)\n", cs_conn_state_names[state],
		c->history[0] ? c->history : "-", zo->pkts, zo->ip_bytes,
		zr->pkts, zr->ip_bytes);
}
