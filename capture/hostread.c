/*
 * hostread.c — sock_diag netlink and /proc/net counters, read into a sample.
 */
#include "capture/hostread.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>

#include "capture/reader.h"

const char *const cs_hostctr_names[CS_HC_MAX] = {
	[CS_HC_LISTEN_OVERFLOWS] = "ListenOverflows",
	[CS_HC_LISTEN_DROPS] = "ListenDrops",
	[CS_HC_REQQ_FULL_DROP] = "TCPReqQFullDrop",
	[CS_HC_REQQ_FULL_COOKIES] = "TCPReqQFullDoCookies",
	[CS_HC_SYNCOOKIES_SENT] = "SyncookiesSent",
	[CS_HC_SYNCOOKIES_RECV] = "SyncookiesRecv",
	[CS_HC_SYNCOOKIES_FAILED] = "SyncookiesFailed",
	[CS_HC_ABORT_ON_DATA] = "TCPAbortOnData",
	[CS_HC_ABORT_ON_CLOSE] = "TCPAbortOnClose",
	[CS_HC_ABORT_ON_MEMORY] = "TCPAbortOnMemory",
	[CS_HC_ABORT_ON_TIMEOUT] = "TCPAbortOnTimeout",
	[CS_HC_ABORT_ON_LINGER] = "TCPAbortOnLinger",
	[CS_HC_TIMEOUTS] = "TCPTimeouts",
	[CS_HC_SYN_RETRANS] = "TCPSynRetrans",
	[CS_HC_BACKLOG_DROP] = "TCPBacklogDrop",
	[CS_HC_ATTEMPT_FAILS] = "AttemptFails",
	[CS_HC_ESTAB_RESETS] = "EstabResets",
	[CS_HC_OUT_RSTS] = "OutRsts",
};

const char *const cs_kstate_names[CS_KSTATE_MAX] = {
	[0] = "UNKNOWN",
	[1] = "ESTABLISHED", [2] = "SYN_SENT", [3] = "SYN_RECEIVED",
	[4] = "FIN_WAIT_1", [5] = "FIN_WAIT_2", [6] = "TIME_WAIT",
	[7] = "CLOSED", [8] = "CLOSE_WAIT", [9] = "LAST_ACK",
	[10] = "LISTEN", [11] = "CLOSING",
};

/* TCP_NEW_SYN_RECV: the request sockets of a listener (Linux 4.4 on). */
#define KSTATE_NEW_SYN_RECV 12
/* Reads of one dump at most: 4,096 x 32 KiB holds over a million sockets;
 * a larger table is left unread rather than stalling the capture. */
#define DIAG_MAX_READS 4096
#define DIAG_BUF_BYTES (32u << 10)
#define PROC_BUF_BYTES (16u << 10)
/* sizeof (struct inet_diag_msg): read field by field, never cast. */
#define DIAG_MSG_BYTES 72
#define NLMSG_HDR_BYTES 16

/* ---- netlink messages ---------------------------------------------------- */

/* Netlink headers and inet_diag's queue sizes are in the host's order;
 * ports and addresses in the network's. */
static uint32_t rd_host32(struct cs_reader *r)
{
	uint32_t v;

	cs_rd_copy(r, &v, sizeof v);
	return v;
}

static uint16_t rd_host16(struct cs_reader *r)
{
	uint16_t v;

	cs_rd_copy(r, &v, sizeof v);
	return v;
}

static struct cs_host_port *port_entry(struct cs_host_sample *s, uint16_t port)
{
	for (uint32_t i = 0; i < s->port_cnt; i++)
		if (s->ports[i].port == port)
			return &s->ports[i];
	if (s->port_cnt == CS_HOST_PORTS)
		return NULL;
	struct cs_host_port *p = &s->ports[s->port_cnt++];
	memset(p, 0, sizeof *p);
	p->port = port;
	return p;
}

static void add_listener(struct cs_host_sample *s, const struct cs_addr *a,
			 uint16_t port, uint32_t queue, uint32_t backlog)
{
	if (s->listener_cnt == CS_HOST_LISTENERS) {
		s->listeners_unkept++;
		return;
	}
	struct cs_host_listener *l = &s->listeners[s->listener_cnt++];
	memset(l, 0, sizeof *l);
	l->addr = *a;
	l->port = port;
	l->queue = queue;
	l->backlog = backlog;
}

static void count_by_port(struct cs_host_sample *s, uint8_t state, uint16_t port)
{
	if (state != CS_KSTATE_TIME_WAIT && state != CS_KSTATE_CLOSE_WAIT &&
	    state != CS_KSTATE_SYN_RECV)
		return;
	struct cs_host_port *p = port_entry(s, port);
	if (!p) {
		s->ports_unkept++;
		return;
	}
	if (state == CS_KSTATE_TIME_WAIT)
		p->time_wait++;
	else if (state == CS_KSTATE_CLOSE_WAIT)
		p->close_wait++;
	else
		p->syn_recv++;
}

/* One inet_diag_msg (linux/inet_diag.h): family, state, timer, retrans,
 * then the socket id (ports, addresses, interface, cookie), expires,
 * rqueue, wqueue, uid, inode; attributes after it are not read. */
static bool parse_diag_msg(struct cs_reader *r, struct cs_host_sample *s)
{
	uint8_t family = cs_rd_u8(r), state = cs_rd_u8(r);
	struct cs_addr a = { { 0 } };
	uint8_t src[16];

	cs_rd_skip(r, 2);			/* timer, retrans */
	uint16_t sport = cs_rd_u16(r);
	cs_rd_skip(r, 2);			/* dport */
	cs_rd_copy(r, src, sizeof src);
	cs_rd_skip(r, 16 + 4 + 8 + 4);		/* dst, if, cookie, expires */
	uint32_t rqueue = rd_host32(r), wqueue = rd_host32(r);
	if (r->err || (family != AF_INET && family != AF_INET6))
		return false;
	if (state == KSTATE_NEW_SYN_RECV)
		state = CS_KSTATE_SYN_RECV;
	if (state >= CS_KSTATE_MAX)
		return false;
	if (family == AF_INET) {
		a.b[10] = a.b[11] = 0xff;	/* ::ffff:a.b.c.d */
		memcpy(a.b + 12, src, 4);
	} else {
		memcpy(a.b, src, 16);
	}
	s->states[state]++;
	if (state == CS_KSTATE_LISTEN)
		add_listener(s, &a, sport, rqueue, wqueue);
	else
		count_by_port(s, state, sport);
	return true;
}

/* One netlink message: a socket, the end of the dump, or an error. */
static enum cs_diag_parse parse_nlmsg(struct cs_reader *body, uint16_t type,
				      struct cs_host_sample *s)
{
	switch (type) {
	case NLMSG_DONE:
		return CS_DIAG_DONE;
	case NLMSG_ERROR:
		return CS_DIAG_ERROR;
	case SOCK_DIAG_BY_FAMILY:
		if (!parse_diag_msg(body, s))
			s->bad_messages++;
		return CS_DIAG_MORE;
	default:
		s->bad_messages++;
		return CS_DIAG_MORE;
	}
}

enum cs_diag_parse cs_hostread_parse_diag(const uint8_t *buf, size_t len,
					  uint32_t seq, struct cs_host_sample *s)
{
	struct cs_reader r = cs_rd_make(buf, len);

	while (r.left >= NLMSG_HDR_BYTES) {
		uint32_t mlen = rd_host32(&r);
		uint16_t type = rd_host16(&r);
		cs_rd_skip(&r, 2);		/* flags */
		uint32_t mseq = rd_host32(&r);
		cs_rd_skip(&r, 4);		/* port id */
		if (mlen < NLMSG_HDR_BYTES || mlen - NLMSG_HDR_BYTES > r.left)
			return CS_DIAG_ERROR;	/* a length that lies */
		struct cs_reader body = cs_rd_sub(&r, mlen - NLMSG_HDR_BYTES);
		/* Messages are padded to 4 bytes (NLMSG_ALIGN). */
		size_t pad = (4 - mlen % 4) % 4;
		cs_rd_skip(&r, pad < r.left ? pad : r.left);
		if (mseq != seq)
			continue;		/* the rest of an abandoned dump */
		enum cs_diag_parse rc = parse_nlmsg(&body, type, s);
		if (rc != CS_DIAG_MORE)
			return rc;
	}
	return r.left ? CS_DIAG_ERROR : CS_DIAG_MORE;
}

void cs_hostread_count_syn_recv(struct cs_host_sample *s)
{
	for (uint32_t i = 0; i < s->listener_cnt; i++) {
		struct cs_host_listener *l = &s->listeners[i];
		l->syn_recv = 0;
		for (uint32_t j = 0; j < s->port_cnt; j++)
			if (s->ports[j].port == l->port)
				l->syn_recv = s->ports[j].syn_recv;
	}
}

/* ---- /proc/net/netstat and /proc/net/snmp ----------------------------------- */

/* The next line of text, without its newline; false at the end. */
static bool next_line(const char **p, const char *end, const char **line,
		      size_t *n)
{
	if (*p >= end)
		return false;
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	*line = *p;
	*n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
	*p = nl ? nl + 1 : end;
	return true;
}

/* The next space-separated word of a line. */
static bool next_word(const char **p, const char *end, const char **w,
		      size_t *n)
{
	while (*p < end && **p == ' ')
		(*p)++;
	if (*p >= end)
		return false;
	*w = *p;
	while (*p < end && **p != ' ')
		(*p)++;
	*n = (size_t)(*p - *w);
	return true;
}

static int counter_named(const char *w, size_t n)
{
	for (int i = 0; i < CS_HC_MAX; i++)
		if (strlen(cs_hostctr_names[i]) == n &&
		    !memcmp(cs_hostctr_names[i], w, n))
			return i;
	return -1;
}

/* A whole number of up to 19 digits (a count since boot); -1 otherwise
 * (snmp's MaxConn is -1: a number, but no counter of ours). */
static int parse_count(const char *w, size_t n, uint64_t *v)
{
	if (!n || n > 19)
		return -1;
	*v = 0;
	for (size_t i = 0; i < n; i++) {
		if (w[i] < '0' || w[i] > '9')
			return -1;
		*v = *v * 10 + (uint64_t)(w[i] - '0');
	}
	return 0;
}

/* The two lines of one prefix, word by word: names over values.  Only
 * the TcpExt and Tcp sections name our counters. */
static void parse_pair(const char *names, size_t nn, const char *vals,
		       size_t vn, struct cs_host_sample *s)
{
	const char *np = names, *ne = names + nn, *vp = vals, *ve = vals + vn;
	const char *w, *v;
	size_t wl, vl;

	if (!((nn > 7 && !memcmp(names, "TcpExt:", 7)) ||
	      (nn > 4 && !memcmp(names, "Tcp:", 4))))
		return;
	next_word(&np, ne, &w, &wl);		/* the prefixes */
	next_word(&vp, ve, &v, &vl);
	while (next_word(&np, ne, &w, &wl) && next_word(&vp, ve, &v, &vl)) {
		int i = counter_named(w, wl);
		uint64_t x;
		if (i >= 0 && parse_count(v, vl, &x) == 0) {
			s->ctr[i] = x;
			s->have_ctr |= 1u << i;
		}
	}
}

/* The prefix of a line: up to and with its colon. */
static size_t prefix_len(const char *line, size_t n)
{
	const char *c = memchr(line, ':', n);
	return c ? (size_t)(c - line) + 1 : 0;
}

void cs_hostread_parse_proc(const char *text, size_t len,
			    struct cs_host_sample *s)
{
	const char *p = text, *end = text + len, *names, *vals;
	size_t nn, vn;

	while (next_line(&p, end, &names, &nn)) {
		size_t k = prefix_len(names, nn);
		const char *save = p;
		if (!k || !next_line(&p, end, &vals, &vn))
			continue;
		/* A values line repeats its names line's prefix; else the
		 * second line starts the next pair. */
		if (vn < k || memcmp(names, vals, k)) {
			p = save;
			continue;
		}
		parse_pair(names, nn, vals, vn, s);
	}
}

/* ---- reading the kernel ------------------------------------------------------- */

static int open_diag(void)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	/* A dump never takes a second; a kernel that stalls one must not
	 * stall the capture with it. */
	struct timeval tv = { 1, 0 };

	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	return fd;
}

int cs_hostread_open(struct cs_hostread *h, char *err, size_t errlen)
{
	memset(h, 0, sizeof *h);
	h->diag_fd = open_diag();
	int diag_errno = errno;
	h->netstat_fd = open("/proc/net/netstat", O_RDONLY | O_CLOEXEC);
	h->snmp_fd = open("/proc/net/snmp", O_RDONLY | O_CLOEXEC);
	if (h->diag_fd >= 0 || h->netstat_fd >= 0 || h->snmp_fd >= 0)
		return 0;
	snprintf(err, errlen, "no host view: cannot open a sock_diag netlink "
		 "socket (%s) nor /proc/net/netstat and /proc/net/snmp",
		 strerror(diag_errno));
	return -1;
}

void cs_hostread_close(struct cs_hostread *h)
{
	if (h->diag_fd >= 0)
		close(h->diag_fd);
	if (h->netstat_fd >= 0)
		close(h->netstat_fd);
	if (h->snmp_fd >= 0)
		close(h->snmp_fd);
	h->diag_fd = h->netstat_fd = h->snmp_fd = -1;
}

/* Asks for every TCP socket of one family, in every state. */
static int send_dump_request(int fd, uint8_t family, uint32_t seq)
{
	struct {
		struct nlmsghdr nh;
		struct inet_diag_req_v2 req;
	} msg;
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };

	memset(&msg, 0, sizeof msg);
	msg.nh.nlmsg_len = sizeof msg;
	msg.nh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.nh.nlmsg_seq = seq;
	msg.req.sdiag_family = family;
	msg.req.sdiag_protocol = IPPROTO_TCP;
	msg.req.idiag_states = ~0u;
	ssize_t n = sendto(fd, &msg, sizeof msg, 0, (struct sockaddr *)&to,
			   sizeof to);
	return n == (ssize_t)sizeof msg ? 0 : -1;
}

static bool dump_family(struct cs_hostread *h, uint8_t family,
			struct cs_host_sample *s)
{
	static uint8_t buf[DIAG_BUF_BYTES];	/* the run's thread only */
	uint32_t seq = ++h->seq;

	if (send_dump_request(h->diag_fd, family, seq) != 0)
		return false;
	for (int i = 0; i < DIAG_MAX_READS; i++) {
		ssize_t n = recv(h->diag_fd, buf, sizeof buf, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		enum cs_diag_parse rc = cs_hostread_parse_diag(buf, (size_t)n, seq, s);
		if (rc != CS_DIAG_MORE)
			return rc == CS_DIAG_DONE;
	}
	return false;
}

/* A /proc file, read from its start each time. */
static void read_proc(int fd, struct cs_host_sample *s)
{
	char buf[PROC_BUF_BYTES];
	size_t got = 0;
	ssize_t n;

	if (fd < 0 || lseek(fd, 0, SEEK_SET) != 0)
		return;
	while (got < sizeof buf &&
	       (n = read(fd, buf + got, sizeof buf - got)) > 0)
		got += (size_t)n;
	cs_hostread_parse_proc(buf, got, s);
}

void cs_hostread_sample(struct cs_hostread *h, uint64_t ts_us,
			struct cs_host_sample *s)
{
	memset(s, 0, sizeof *s);
	s->ts_us = ts_us;
	read_proc(h->netstat_fd, s);
	read_proc(h->snmp_fd, s);
	if (h->diag_fd < 0)
		return;
	s->have_sockets = dump_family(h, AF_INET, s) &&
			  dump_family(h, AF_INET6, s);
	cs_hostread_count_syn_recv(s);
	if (!s->have_sockets) {
		/* A dump left half read stays running on its socket, and the
		 * kernel refuses the next one (EBUSY): start afresh.  Creating
		 * a sock_diag socket needs no privilege, so this works after -Z. */
		close(h->diag_fd);
		h->diag_fd = open_diag();
	}
}
