/*
 * verdict.c — per-target failure groups and their sentences.
 */
#include "analyzer/reports/verdict.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/detectors/alert.h"
#include "analyzer/host/host.h"
#include "capture/assert.h"

struct verdict_entry {
	struct cs_group_key k;		/* peer = target, port, side = outcome */
	uint64_t conns;
	uint32_t max_syns;		/* SYNs sent by one attempt, at most */
	uint32_t min_syns;		/* ... and at least */
	uint64_t rst_by_orig, rst_by_resp;
	bool have_icmp;
	uint8_t icmp_type, icmp_code;
	struct cs_addr icmp_from;
	bool ipv4;
};

/* An open group (cs_open_verdicts): what verdict_entry has, kept so that
 * a connection's share can be taken away again (verdict.h). */
struct open_entry {
	struct cs_group_key k;		/* as verdict_entry's */
	uint64_t conns;
	uint64_t rst_by_orig, rst_by_resp;
	/* connections by SYNs sent; the last, by that many or more */
	uint32_t by_syns[CS_VERDICT_SYNS_EXACT + 1];
	uint32_t syns_past;		/* the most the last bucket's sent */
	bool have_icmp;
	uint8_t icmp_type, icmp_code;
	struct cs_addr icmp_from;
};

/* The group of a connection: its target (the responder) and outcome. */
static void group_key(struct cs_group_key *k, const struct cs_flow_key *key,
		      int orig, enum cs_outcome outcome)
{
	memset(k, 0, sizeof *k);
	k->peer = key->addr[!orig];
	k->port = key->port[!orig];
	k->side = (uint8_t)outcome;
}

void cs_verdicts_init(struct cs_verdicts *v)
{
	memset(v, 0, sizeof *v);
	cs_groups_init(&v->g, sizeof(struct verdict_entry), CS_VERDICT_GROUPS);
}

void cs_verdicts_fini(struct cs_verdicts *v)
{
	cs_groups_fini(&v->g);
}

int cs_verdicts_clone(struct cs_verdicts *dst, const struct cs_verdicts *src)
{
	*dst = *src;
	return cs_groups_clone(&dst->g, &src->g);
}

/*
 * Connections a server's kernel completed but its application never
 * served: a group of their own per target (side STALLED, past every
 * outcome), never printed, that the timeouts to the same target consult.
 */
#define STALLED CS_OUT_MAX

/* Handshake done, the client spoke (data or FIN), and the server sent
 * nothing back: no byte, no FIN, no RST.  What a connection left in a
 * listener's accept queue looks like on the wire; so does one accepted by
 * an application that then hung. */
static bool stalled(const struct cs_conn *c)
{
	const struct cs_endpoint *cli = &c->ep[0], *srv = &c->ep[1];
	uint32_t srv_seq = srv->snd_nxt - srv->isn - 1u - (srv->fin ? 1u : 0u);
	uint32_t cli_seq = cli->snd_nxt - cli->isn - 1u;

	return c->handshake_done && !srv->fin && !srv->rst && srv_seq == 0 &&
	       cli_seq > 0;
}

void cs_verdicts_add_stalled(struct cs_verdicts *v, const struct cs_conn *c,
			     enum cs_outcome outcome)
{
	struct cs_group_key k;

	if (cs_verdict_failing(outcome) || !stalled(c))
		return;
	group_key(&k, &c->key, c->orig, CS_OUT_COMPLETED);
	k.side = STALLED;
	struct verdict_entry *e = cs_groups_find(&v->g, &k, true);
	if (e)
		e->conns++;
}

void cs_verdicts_add(struct cs_verdicts *v, const struct cs_conn *c,
		     enum cs_outcome outcome)
{
	struct cs_group_key k;

	if (!cs_verdict_failing(outcome))
		return;
	v->failed++;
	group_key(&k, &c->key, c->orig, outcome);
	struct verdict_entry *e = cs_groups_find(&v->g, &k, true);
	if (!e)
		return;
	if (!e->conns++ || c->ep[0].syn_cnt < e->min_syns)
		e->min_syns = c->ep[0].syn_cnt;
	e->ipv4 = cs_addr_is_v4(&k.peer);
	if (c->ep[0].syn_cnt > e->max_syns)
		e->max_syns = c->ep[0].syn_cnt;
	e->rst_by_orig += c->ep[0].rst_first;
	e->rst_by_resp += c->ep[1].rst_first;
	if (c->have_icmp && !e->have_icmp) {
		e->have_icmp = true;
		e->icmp_type = c->icmp_type;
		e->icmp_code = c->icmp_code;
		e->icmp_from = c->icmp_from;
	}
}

void cs_open_verdicts_init(struct cs_open_verdicts *ov)
{
	memset(ov, 0, sizeof *ov);
	cs_groups_init(&ov->g, sizeof(struct open_entry), CS_VERDICT_GROUPS);
}

void cs_open_verdicts_fini(struct cs_open_verdicts *ov)
{
	cs_groups_fini(&ov->g);
}

void cs_verdict_share_of(const struct cs_conn *c, enum cs_outcome outcome,
			 struct cs_verdict_share *s)
{
	uint32_t syns = c->ep[0].syn_cnt;

	s->outcome = (uint8_t)outcome;
	s->orig = c->orig;
	s->rst_by_orig = c->ep[0].rst_first;
	s->rst_by_resp = c->ep[1].rst_first;
	s->syns = (uint8_t)(syns < CS_VERDICT_SYNS_EXACT ? syns : CS_VERDICT_SYNS_EXACT);
}

bool cs_open_verdicts_add(struct cs_open_verdicts *ov, const struct cs_conn *c,
			  const struct cs_verdict_share *s)
{
	struct cs_group_key k;

	ov->failed++;
	group_key(&k, &c->key, s->orig, (enum cs_outcome)s->outcome);
	struct open_entry *e = cs_groups_find(&ov->g, &k, true);
	if (!e)
		return false;
	e->conns++;
	e->rst_by_orig += s->rst_by_orig;
	e->rst_by_resp += s->rst_by_resp;
	e->by_syns[s->syns]++;
	if (s->syns == CS_VERDICT_SYNS_EXACT && c->ep[0].syn_cnt > e->syns_past)
		e->syns_past = c->ep[0].syn_cnt;
	if (c->have_icmp && !e->have_icmp) {
		e->have_icmp = true;
		e->icmp_type = c->icmp_type;
		e->icmp_code = c->icmp_code;
		e->icmp_from = c->icmp_from;
	}
	return true;
}

void cs_open_verdicts_remove(struct cs_open_verdicts *ov,
			     const struct cs_flow_key *key,
			     const struct cs_verdict_share *s, bool grouped)
{
	struct cs_group_key k;

	ov->failed--;
	if (!grouped)
		return;
	group_key(&k, key, s->orig, (enum cs_outcome)s->outcome);
	struct open_entry *e = cs_groups_find(&ov->g, &k, false);
	CS_ASSERT(e);		/* add found it, and it stays while it has any */
	if (!e)
		return;
	if (!--e->conns) {
		cs_groups_remove(&ov->g, e);
		return;
	}
	e->rst_by_orig -= s->rst_by_orig;
	e->rst_by_resp -= s->rst_by_resp;
	if (!--e->by_syns[s->syns] && s->syns == CS_VERDICT_SYNS_EXACT)
		e->syns_past = 0;
}

/* The fewest SYNs one of the group's connections sent.  When all are in
 * the last bucket (CS_VERDICT_SYNS_EXACT or more each), the most: exact
 * for one such connection, as open_max_syns is (verdict.h). */
static uint32_t open_min_syns(const struct open_entry *o)
{
	for (uint32_t n = 0; n < CS_VERDICT_SYNS_EXACT; n++)
		if (o->by_syns[n])
			return n;
	return o->syns_past;
}

/* The most SYNs one of the group's connections sent. */
static uint32_t open_max_syns(const struct open_entry *o)
{
	if (o->by_syns[CS_VERDICT_SYNS_EXACT])
		return o->syns_past;
	for (uint32_t n = CS_VERDICT_SYNS_EXACT; n-- > 0;)
		if (o->by_syns[n])
			return n;
	return 0;
}

void cs_verdicts_add_open(struct cs_verdicts *v, const struct cs_open_verdicts *ov)
{
	v->failed += ov->failed;
	for (uint32_t i = 0; i < ov->g.capacity; i++) {
		const struct open_entry *o = cs_groups_at(&ov->g, i);
		if (!o)
			continue;
		struct verdict_entry *e = cs_groups_find(&v->g, &o->k, true);
		if (!e)
			continue;
		uint32_t least = open_min_syns(o);
		if (!e->conns || least < e->min_syns)
			e->min_syns = least;
		e->conns += o->conns;
		e->ipv4 = cs_addr_is_v4(&o->k.peer);
		uint32_t syns = open_max_syns(o);
		if (syns > e->max_syns)
			e->max_syns = syns;
		e->rst_by_orig += o->rst_by_orig;
		e->rst_by_resp += o->rst_by_resp;
		if (o->have_icmp && !e->have_icmp) {
			e->have_icmp = true;
			e->icmp_type = o->icmp_type;
			e->icmp_code = o->icmp_code;
			e->icmp_from = o->icmp_from;
		}
	}
}

/* RFC 792 / RFC 1812 / RFC 4443 codes; errno as Linux's icmp_err_convert
 * and icmpv6_err_convert report them to connect(). */
void cs_icmp_meaning(bool ipv4, uint8_t type, uint8_t code,
		     const char **meaning, const char **errno_name)
{
	static const struct { uint8_t code; const char *meaning, *err; } v4[] = {
		{ 0, "network unreachable", "ENETUNREACH" },
		{ 1, "host unreachable", "EHOSTUNREACH" },
		{ 2, "protocol unreachable", "ENOPROTOOPT" },
		{ 3, "port unreachable", "ECONNREFUSED" },
		{ 4, "fragmentation needed", "EMSGSIZE" },
		{ 5, "source route failed", "EOPNOTSUPP" },
		{ 6, "destination network unknown", "ENETUNREACH" },
		{ 7, "destination host unknown", "EHOSTDOWN" },
		{ 8, "source host isolated", "ENONET" },
		{ 9, "network administratively prohibited", "ENETUNREACH" },
		{ 10, "host administratively prohibited", "EHOSTUNREACH" },
		{ 11, "network unreachable for the type of service", "ENETUNREACH" },
		{ 12, "host unreachable for the type of service", "EHOSTUNREACH" },
		{ 13, "communication administratively prohibited", "EHOSTUNREACH" },
		{ 14, "host precedence violation", "EHOSTUNREACH" },
		{ 15, "precedence cutoff in effect", "EHOSTUNREACH" },
	}, v6[] = {
		{ 0, "no route to destination", "ENETUNREACH" },
		{ 1, "communication administratively prohibited", "EACCES" },
		{ 2, "beyond scope of source address", "EHOSTUNREACH" },
		{ 3, "address unreachable", "EHOSTUNREACH" },
		{ 4, "port unreachable", "ECONNREFUSED" },
		{ 5, "source address failed policy", "EACCES" },
		{ 6, "reject route", "EACCES" },
	};

	*meaning = "ICMP error";
	*errno_name = "EHOSTUNREACH";
	if (!cs_icmp_is_unreachable(ipv4, type))
		return;
	*meaning = "destination unreachable";
	size_t n = ipv4 ? sizeof v4 / sizeof v4[0] : sizeof v6 / sizeof v6[0];
	for (size_t i = 0; i < n; i++) {
		const uint8_t c = ipv4 ? v4[i].code : v6[i].code;
		if (c == code) {
			*meaning = ipv4 ? v4[i].meaning : v6[i].meaning;
			*errno_name = ipv4 ? v4[i].err : v6[i].err;
			return;
		}
	}
}

/* "3", or "1 to 3" when the group's connections sent different numbers:
 * a sentence's count of SYNs is true of each connection it speaks of. */
static const char *syn_range(const struct verdict_entry *e, char *buf, size_t len)
{
	if (e->min_syns == e->max_syns)
		snprintf(buf, len, "%u", e->max_syns);
	else
		snprintf(buf, len, "%u to %u", e->min_syns, e->max_syns);
	return buf;
}

/* Timeouts to a listener whose accept queue the kernel saw full: not the
 * network's fault (see analyzer/host/host.h). */
static void queue_sentence(const struct verdict_entry *e,
			   const struct cs_alert *aq, char *buf, size_t len)
{
	char target[64], n[32], syns[48] = "", range[32];
	bool one = e->conns == 1;

	cs_endpoint_format(&e->k.peer, e->k.port, target, sizeof target);
	cs_count_format(e->conns, n, sizeof n);
	if (e->max_syns > 1)
		snprintf(syns, sizeof syns, " after %s SYNs",
			 syn_range(e, range, sizeof range));
	snprintf(buf, len, "%s connect%s to %s timed out%s: not the network -- "
		 "the server's accept queue was full (backlog %llu) and its kernel "
		 "dropped the SYNs; the application is not calling accept() fast "
		 "enough, or its backlog is too small (ETIMEDOUT; see the "
		 "accept_queue_overflow alert)", n, one ? "" : "s", target,
		 syns,
		 (unsigned long long)aq->fig[0].value);
}

/* From the wire alone (a file, a remote server): SYNs unanswered by a
 * server that completed earlier handshakes it then never served. */
static void backlog_sentence(const struct verdict_entry *e, uint64_t stalled_cnt,
			     char *buf, size_t len)
{
	char target[64], n[32], s[32], range[32];
	bool one = e->conns == 1;

	cs_endpoint_format(&e->k.peer, e->k.port, target, sizeof target);
	cs_count_format(e->conns, n, sizeof n);
	cs_count_format(stalled_cnt, s, sizeof s);
	snprintf(buf, len, "%s connect%s to %s timed out after %s SYN%s, while %s "
		 "earlier connection%s to it completed the handshake and then got "
		 "nothing back: the listen backlog of this server is probably full, "
		 "its application not calling accept() (ETIMEDOUT)", n,
		 one ? "" : "s", target, syn_range(e, range, sizeof range),
		 e->max_syns == 1 ? "" : "s", s, stalled_cnt == 1 ? "" : "s");
}

/* The stalled connections to e's target (see stalled()). */
static uint64_t stalled_at(const struct cs_verdicts *v,
			   const struct verdict_entry *e)
{
	struct cs_group_key k = e->k;

	k.side = STALLED;
	/* A lookup that may not create changes nothing: the cast is safe. */
	const struct verdict_entry *s = cs_groups_find((struct cs_groups *)&v->g,
						       &k, false);
	return s ? s->conns : 0;
}

static void sentence(const struct cs_verdicts *v, const struct verdict_entry *e,
		     const struct cs_alerts *alerts, char *buf, size_t len)
{
	const struct cs_alert *aq;
	uint64_t stalled_cnt;
	char target[64], n[32], from[CS_ADDR_STRLEN], syns[32];
	bool one = e->conns == 1;

	cs_endpoint_format(&e->k.peer, e->k.port, target, sizeof target);
	cs_count_format(e->conns, n, sizeof n);
	switch ((enum cs_outcome)e->k.side) {
	case CS_OUT_REFUSED:
		snprintf(buf, len, "%s connection%s refused by %s: nothing listens "
			 "there (ECONNREFUSED)", n, one ? "" : "s", target);
		break;
	case CS_OUT_TIMEOUT:
		if ((aq = cs_host_overflow_alert(alerts, &e->k.peer, e->k.port)))
			queue_sentence(e, aq, buf, len);
		else if ((stalled_cnt = stalled_at(v, e)))
			backlog_sentence(e, stalled_cnt, buf, len);
		else if (e->max_syns > 1)
			snprintf(buf, len, "%s connect%s to %s timed out after %s "
				 "SYNs%s with no answer at all: check routing or a "
				 "firewall dropping SYNs (ETIMEDOUT)", n,
				 one ? "" : "s", target, syn_range(e, syns, sizeof syns),
				 e->min_syns == e->max_syns ? "" : " each");
		else
			snprintf(buf, len, "%s connect%s to %s got no answer to "
				 "its SYN within the SYN timeout: check routing or a "
				 "firewall dropping SYNs (ETIMEDOUT if it persists)",
				 n, one ? "" : "s", target);
		break;
	case CS_OUT_UNREACHABLE: {
		const char *meaning, *err;
		cs_icmp_meaning(e->ipv4, e->icmp_type, e->icmp_code, &meaning, &err);
		cs_addr_format(&e->icmp_from, from, sizeof from);
		bool port = (e->ipv4 && e->icmp_code == 3) || (!e->ipv4 && e->icmp_code == 4);
		snprintf(buf, len, "%s connect%s to %s failed: ICMP%s %s from %s "
			 "(%s%s)", n, one ? "" : "s", target, e->ipv4 ? "" : "v6",
			 meaning, from, err,
			 port ? ": stacks report a port unreachable as a refusal" : "");
		break;
	}
	case CS_OUT_ABORTED:
		snprintf(buf, len, "%s connection%s to %s reset by the %s: "
			 "connection reset by peer (ECONNRESET on the other side)",
			 n, one ? "" : "s", target,
			 e->rst_by_resp >= e->rst_by_orig ? "server" : "client");
		break;
	case CS_OUT_RESET_NONEXISTENT:
		snprintf(buf, len, "%s connection%s to %s answered by a RST from a "
			 "host that no longer had the connection (restarted, or it "
			 "timed out there): the sender gets ECONNRESET",
			 n, one ? "" : "s", target);
		break;
	case CS_OUT_HALF_OPEN:
		snprintf(buf, len, "%s handshake%s with %s never completed: the "
			 "SYN-ACK got no ACK (scanners, spoofed SYNs, or ACKs lost)",
			 n, one ? "" : "s", target);
		break;
	default:
		snprintf(buf, len, "%s connection%s to %s: %s", n, one ? "" : "s",
			 target, cs_outcome_names[e->k.side]);
		break;
	}
}

/* The kernel's own reason for the resets, when one abort counter alone
 * moved during the capture: appended to the sentence. */
static void abort_reason(const struct cs_host *host, char *line, size_t len)
{
	enum cs_hostctr which;
	uint64_t n;
	const char *why = host ? cs_host_abort_reason(host, &which, &n) : NULL;
	size_t used = strlen(line);

	if (why && used < len)
		snprintf(line + used, len - used, "; this host's kernel counted %s "
			 "+%llu: %s", cs_hostctr_names[which],
			 (unsigned long long)n, why);
}

static int by_conns(const void *a, const void *b)
{
	const struct verdict_entry *x = *(const struct verdict_entry *const *)a;
	const struct verdict_entry *y = *(const struct verdict_entry *const *)b;
	if (x->conns != y->conns)
		return x->conns < y->conns ? 1 : -1;
	int d = memcmp(&x->k.peer, &y->k.peer, sizeof x->k.peer);
	if (d)
		return d;
	return x->k.port != y->k.port ? (int)x->k.port - (int)y->k.port
				       : (int)x->k.side - (int)y->k.side;
}

/* The flood alert on this target, if any. */
static bool flood_target(const struct cs_alerts *alerts,
			 const struct verdict_entry *e)
{
	for (uint32_t i = 0; alerts && i < alerts->count; i++) {
		const struct cs_alert *al = &alerts->list[i];
		if (al->type == CS_ALERT_SYN_FLOOD && al->port == e->k.port &&
		    !memcmp(&al->addr, &e->k.peer, sizeof al->addr))
			return true;
	}
	return false;
}

/* The port_scan alert whose probes this group's connections are (the
 * scanned host, or the scanned port), or -1.  A group counts connections
 * by target, not by source: another client's failures to a scanned
 * target are folded with the scan's. */
static int scan_of(const struct cs_alerts *alerts, const struct verdict_entry *e)
{
	for (uint32_t i = 0; alerts && i < alerts->count; i++) {
		const struct cs_alert *al = &alerts->list[i];
		if (al->type != CS_ALERT_PORT_SCAN)
			continue;
		if (al->has_peer ? !memcmp(&al->peer, &e->k.peer, sizeof al->peer)
				 : al->peer_port == e->k.port)
			return (int)i;
	}
	return -1;
}

/* What the flood and scan lines fold, and the groups left to list. */
struct folded {
	uint64_t flood_conns, flood_unanswered;
	uint64_t *scan;			/* per alert: connections folded */
	const struct verdict_entry **rest;
	uint32_t n;
};

static void fold(const struct cs_verdicts *v, const struct cs_alerts *alerts,
		 struct folded *f)
{
	for (uint32_t i = 0; f->rest && i < v->g.capacity; i++) {
		const struct verdict_entry *e = cs_groups_at(&v->g, i);
		if (!e || e->k.side == STALLED)
			continue;
		bool flood = flood_target(alerts, e);
		if ((e->k.side == CS_OUT_HALF_OPEN ||
		     e->k.side == CS_OUT_RESET_NONEXISTENT) && flood) {
			f->flood_conns += e->conns;
			continue;
		}
		/* Not routing or a firewall: the flood filled the backlog. */
		if ((e->k.side == CS_OUT_TIMEOUT || e->k.side == CS_OUT_ATTEMPT) &&
		    flood) {
			f->flood_unanswered += e->conns;
			continue;
		}
		int scan = f->scan ? scan_of(alerts, e) : -1;
		if (scan >= 0) {
			f->scan[scan] += e->conns;
			continue;
		}
		f->rest[f->n++] = e;
	}
}

static void print_folded(const struct folded *f, const struct cs_alerts *alerts,
			 FILE *out, bool colour)
{
	char num[32], src[CS_ADDR_STRLEN], what[80];

	if (f->flood_conns)
		fprintf(out, "  %s%s half-open or reset connections to flooded "
			"targets are the flood's SYNs (see the syn_flood alert)%s\n",
			colour ? "\033[31m" : "",
			cs_count_format(f->flood_conns, num, sizeof num),
			colour ? "\033[0m" : "");
	if (f->flood_unanswered)
		fprintf(out, "  %s%s connection attempts to flooded targets got no answer: the "
			"flood's own, and real clients' connects dropped with "
			"them once the server's SYN backlog was full (ETIMEDOUT; "
			"see the syn_flood alert)%s\n",
			colour ? "\033[31m" : "",
			cs_count_format(f->flood_unanswered, num, sizeof num),
			colour ? "\033[0m" : "");
	for (uint32_t i = 0; f->scan && i < alerts->count; i++) {
		const struct cs_alert *al = &alerts->list[i];
		if (!f->scan[i])
			continue;
		cs_addr_format(&al->addr, src, sizeof src);
		if (al->has_peer)
			cs_addr_format(&al->peer, what, sizeof what);
		else
			snprintf(what, sizeof what, "port %u", al->peer_port);
		fprintf(out, "  %s%s failed connections to %s are the probes of the "
			"port scan from %s (see the port_scan alert)%s\n",
			colour ? "\033[31m" : "",
			cs_count_format(f->scan[i], num, sizeof num), what, src,
			colour ? "\033[0m" : "");
	}
}

int cs_verdicts_print(const struct cs_verdicts *v, const struct cs_alerts *alerts,
		      const struct cs_host *host, FILE *out, int max, bool colour)
{
	struct folded f = { 0 };
	char line[CS_ALERT_TEXT];

	if (v->g.used)
		f.rest = malloc(v->g.used * sizeof *f.rest);
	if (alerts && alerts->by_type[CS_ALERT_PORT_SCAN])
		f.scan = calloc(alerts->count, sizeof *f.scan);
	fold(v, alerts, &f);
	print_folded(&f, alerts, out, colour);
	if (f.n)	/* qsort's array must not be NULL, even empty */
		qsort(f.rest, f.n, sizeof *f.rest, by_conns);
	int shown = 0;
	for (uint32_t i = 0; i < f.n && shown < max; i++, shown++) {
		sentence(v, f.rest[i], alerts, line, sizeof line);
		if (f.rest[i]->k.side == CS_OUT_ABORTED)
			abort_reason(host, line, sizeof line);
		fprintf(out, "  %s%s%s\n", colour ? "\033[31m" : "", line,
			colour ? "\033[0m" : "");
	}
	if (f.n > (uint32_t)max)
		fprintf(out, "  ... and %u more groups of failed connections "
			"(the JSON report lists every connection)\n", f.n - max);
	free(f.rest);
	free(f.scan);
	return shown;
}
