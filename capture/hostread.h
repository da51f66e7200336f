/*
 * hostread.h — the kernel's own view of TCP in connscope's network
 * namespace: listening sockets and their queues, sockets per state, and
 * the TCP counters.
 *
 * A capture shows what crossed the wire; it cannot show that a server's
 * accept queue was full, or that the kernel answered with SYN cookies.
 * The kernel says so through sock_diag netlink (what `ss` reads) and
 * /proc/net/netstat and /proc/net/snmp (what `nstat` reads).  This module
 * reads those into a fixed-size sample; it never interprets them (the
 * analyzer's host view does, analyzer/host/).
 *
 * The descriptors are opened once, before privileges are dropped (-Z), and
 * read from then on: a netlink dump of TCP sockets needs no privilege, and
 * an open /proc file stays readable.  What the kernel sends is parsed with
 * the bounds-checked cursor like any other input: the parsers are public so
 * that tests feed them truncated and garbage bytes.
 */
#ifndef CS_CAPTURE_HOSTREAD_H
#define CS_CAPTURE_HOSTREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/packet.h"

/* The counters read, as nstat names them without their "TcpExt"/"Tcp"
 * prefix: each is a count since boot, kept as read. */
enum cs_hostctr {
	CS_HC_LISTEN_OVERFLOWS,
	CS_HC_LISTEN_DROPS,
	CS_HC_REQQ_FULL_DROP,
	CS_HC_REQQ_FULL_COOKIES,
	CS_HC_SYNCOOKIES_SENT,
	CS_HC_SYNCOOKIES_RECV,
	CS_HC_SYNCOOKIES_FAILED,
	CS_HC_ABORT_ON_DATA,
	CS_HC_ABORT_ON_CLOSE,
	CS_HC_ABORT_ON_MEMORY,
	CS_HC_ABORT_ON_TIMEOUT,
	CS_HC_ABORT_ON_LINGER,
	CS_HC_TIMEOUTS,
	CS_HC_SYN_RETRANS,
	CS_HC_BACKLOG_DROP,
	CS_HC_ATTEMPT_FAILS,		/* the Tcp: line of /proc/net/snmp from here */
	CS_HC_ESTAB_RESETS,
	CS_HC_OUT_RSTS,
	CS_HC_MAX
};
extern const char *const cs_hostctr_names[CS_HC_MAX];

/* Kernel TCP states as sock_diag numbers them (include/net/tcp_states.h),
 * counted under connscope's names for the same states (DESIGN.md);
 * TCP_NEW_SYN_RECV (a request socket) is counted as SYN_RECEIVED. */
#define CS_KSTATE_MAX 12
extern const char *const cs_kstate_names[CS_KSTATE_MAX];
#define CS_KSTATE_SYN_RECV 3
#define CS_KSTATE_TIME_WAIT 6
#define CS_KSTATE_CLOSE_WAIT 8
#define CS_KSTATE_LISTEN 10

#define CS_HOST_LISTENERS 64
#define CS_HOST_PORTS 64

struct cs_host_listener {
	struct cs_addr addr;		/* IPv4 as ::ffff:a.b.c.d */
	uint16_t port;
	uint32_t queue;			/* idiag_rqueue: accepted by the kernel,
					 * not yet by the application */
	uint32_t backlog;		/* idiag_wqueue: listen()'s backlog, capped
					 * by net.core.somaxconn */
	uint32_t syn_recv;		/* request sockets (SYN_RECEIVED) on its port */
};

/* TIME_WAIT, CLOSE_WAIT and SYN_RECEIVED sockets by local port (a request
 * socket may come in the dump before its listener: counted here first). */
struct cs_host_port {
	uint16_t port;
	uint32_t time_wait, close_wait, syn_recv;
};

struct cs_host_sample {
	uint64_t ts_us;			/* wall clock, as live packet time */
	uint64_t ctr[CS_HC_MAX];
	uint32_t have_ctr;		/* bit i: ctr[i] was read */
	bool have_sockets;		/* the netlink dump completed */
	uint32_t listener_cnt;
	struct cs_host_listener listeners[CS_HOST_LISTENERS];
	uint64_t listeners_unkept;	/* past CS_HOST_LISTENERS */
	uint64_t states[CS_KSTATE_MAX];
	uint32_t port_cnt;
	struct cs_host_port ports[CS_HOST_PORTS];
	uint64_t ports_unkept;		/* sockets on ports past CS_HOST_PORTS */
	uint64_t bad_messages;		/* netlink messages that did not parse */
};

/* The open descriptors; -1 where one could not be opened. */
struct cs_hostread {
	int diag_fd;
	int netstat_fd, snmp_fd;
	uint32_t seq;
};

/* Opens what can be opened; 0 if at least one source is readable, else -1
 * with the reason in err (the capture goes on without a host view). */
int cs_hostread_open(struct cs_hostread *h, char *err, size_t errlen);
void cs_hostread_close(struct cs_hostread *h);

/* One sample, stamped ts_us.  Bounded: the dump stops after a fixed number
 * of reads (a sample is then marked without sockets). */
void cs_hostread_sample(struct cs_hostread *h, uint64_t ts_us,
			struct cs_host_sample *s);

/* ---- the parsers (public for their tests) ---------------------------------- */

enum cs_diag_parse { CS_DIAG_MORE, CS_DIAG_DONE, CS_DIAG_ERROR };

/* Sockets to the kernel's earlier dumps (another seq) are skipped. */
enum cs_diag_parse cs_hostread_parse_diag(const uint8_t *buf, size_t len,
					  uint32_t seq, struct cs_host_sample *s);

/* Reads the counters of cs_hostctr_names from /proc/net/netstat or
 * /proc/net/snmp text: pairs of "Prefix: name name..." and "Prefix: value
 * value..." lines.  A value that is no whole number is not read. */
void cs_hostread_parse_proc(const char *text, size_t len,
			    struct cs_host_sample *s);

/* Counts the per-listener SYN_RECEIVED sockets once the dump is complete. */
void cs_hostread_count_syn_recv(struct cs_host_sample *s);

#endif /* CS_CAPTURE_HOSTREAD_H */
