/*
 * listing.c — one line per connection (-v).
 */
#include "analyzer/reports/listing.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

#include "analyzer/detectors/alert.h"
#include "analyzer/reports/export.h"
#include "analyzer/reports/verdict.h"

static void format_start(uint64_t us, char *buf, size_t len)
{
	time_t sec = (time_t)(us / 1000000u);
	struct tm tm;

	if (!gmtime_r(&sec, &tm) ||
	    strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0) {
		snprintf(buf, len, "@%" PRIu64, us / 1000000u);
		return;
	}
	size_t n = strlen(buf);
	snprintf(buf + n, len - n, ".%06" PRIu64, us % 1000000u);
}

/*
 * The reason in a few words: the RST that ended it and its cause, the
 * ICMP error and the errno connect() got, unanswered SYNs, or which
 * sides closed.  The JSON report has the same facts as fields.
 */
static void short_reason(const struct cs_conn *c, const struct cs_verdict *v,
			 char *buf, size_t len)
{
	const struct cs_endpoint *o = &c->ep[0], *r = &c->ep[1];
	const char *meaning = NULL, *err = NULL;

	if (o->rst_first || r->rst_first) {
		snprintf(buf, len, "RST by %s (%s)", o->rst_first ? "client" : "server",
			 cs_rst_cause_names[c->rst_cause]);
	} else if (v->outcome == CS_OUT_UNREACHABLE && c->have_icmp) {
		cs_icmp_meaning(cs_addr_is_v4(&c->key.addr[0]), c->icmp_type,
				c->icmp_code, &meaning, &err);
		snprintf(buf, len, "ICMP %s (%s)", meaning ? meaning : "error",
			 err ? err : "?");
	} else if (v->outcome == CS_OUT_TIMEOUT || v->outcome == CS_OUT_ATTEMPT) {
		snprintf(buf, len, "%" PRIu32 " SYN%s unanswered", o->syn_cnt,
			 o->syn_cnt == 1 ? "" : "s");
	} else if (o->fin && r->fin) {
		snprintf(buf, len, "FIN from both, %s first",
			 o->fin_first ? "client" : "server");
	} else if (o->fin || r->fin) {
		snprintf(buf, len, "FIN from the %s only", o->fin ? "client" : "server");
	} else if (o->invalid_rsts || r->invalid_rsts) {
		snprintf(buf, len, "only RSTs out of window (invalid)");
	} else {
		snprintf(buf, len, "-");
	}
}

void cs_listing_row(FILE *rows, const struct cs_conn *c, const struct cs_verdict *v)
{
	char t[48], cl[80], sv[80], why[160];
	const struct cs_endpoint *o = &c->ep[0], *r = &c->ep[1];

	format_start(c->first_ts_us, t, sizeof t);
	cs_endpoint_format(&c->key.addr[c->orig], c->key.port[c->orig], cl, sizeof cl);
	cs_endpoint_format(&c->key.addr[!c->orig], c->key.port[!c->orig], sv, sizeof sv);
	short_reason(c, v, why, sizeof why);
	fprintf(rows, "  %s  %s -> %s  %s  %s/%s  pkts %" PRIu64 "/%" PRIu64
		"  bytes %" PRIu64 "/%" PRIu64 "  %s\n", t, cl, sv,
		cs_outcome_names[v->outcome], cs_tcp_state_names[o->state],
		cs_tcp_state_names[r->state], o->pkts, r->pkts,
		cs_export_conn_bytes(c, 0), cs_export_conn_bytes(c, 1), why);
}

int cs_listing_copy(FILE *out, FILE *rows, uint64_t conn_cnt)
{
	char buf[8192];
	size_t n;

	fprintf(out, "\nEach connection, in the order they ended (%" PRIu64 "; start UTC, client -> server, "
		"outcome, states client/server, packets and payload bytes "
		"client/server, reason)\n", conn_cnt);
	if (fflush(rows) != 0 || fseek(rows, 0, SEEK_SET) != 0)
		return -1;
	while ((n = fread(buf, 1, sizeof buf, rows)) > 0)
		fwrite(buf, 1, n, out);
	return ferror(rows) ? -1 : 0;
}
