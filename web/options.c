/*
 * options.c — what --web and its companions accept: the listen address,
 * the extra host names, the token (server.h).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "web/route.h"
#include "web/server.h"

int cs_web_parse_listen(const char *arg, struct cs_web_opts *o, char *err,
			size_t errlen)
{
	const char *port_s = arg;
	char addr[64] = CS_WEB_DEFAULT_ADDR;
	const char *colon = strrchr(arg, ':');

	if (arg[0] == '[') {			/* [IPv6]:PORT */
		const char *end = strchr(arg, ']');
		if (!end || end[1] != ':' || (size_t)(end - arg - 1) >= sizeof addr)
			goto bad;
		memcpy(addr, arg + 1, (size_t)(end - arg - 1));
		addr[end - arg - 1] = '\0';
		port_s = end + 2;
	} else if (colon) {
		if (strchr(arg, ':') != colon)	/* a bare IPv6 address needs [] */
			goto bad;
		if ((size_t)(colon - arg) >= sizeof addr)
			goto bad;
		memcpy(addr, arg, (size_t)(colon - arg));
		addr[colon - arg] = '\0';
		port_s = colon + 1;
	}
	char *end;
	errno = 0;
	unsigned long port = strtoul(port_s, &end, 10);
	/* digits only: strtoul would also take a sign or leading blanks */
	if (errno || !isdigit((unsigned char)port_s[0]) || *end || port > 65535)
		goto bad;
	struct in6_addr probe;
	if (inet_pton(AF_INET, addr, &probe) != 1 && inet_pton(AF_INET6, addr, &probe) != 1)
		goto bad;
	/* The IPv6 socket is IPv6-only (no dual stack), so ::ffff:a.b.c.d could
	 * never be bound; say what to write instead of failing at bind time
	 * (and instead of judging whether ::ffff:127.0.0.1 is loopback). */
	if (strchr(addr, ':') && IN6_IS_ADDR_V4MAPPED(&probe)) {
		char v4[INET_ADDRSTRLEN] = "";
		inet_ntop(AF_INET, &probe.s6_addr[12], v4, sizeof v4);
		snprintf(err, errlen, "--web '%s': an IPv4-mapped address cannot be "
			 "served; give the IPv4 address itself (%s:%lu)", arg,
			 v4, port);
		return -1;
	}
	memcpy(o->addr, addr, sizeof o->addr);
	o->port = (uint16_t)port;
	return 0;
bad:
	snprintf(err, errlen, "--web '%s': expected PORT, ADDR:PORT or [IPv6]:PORT "
		 "with a numeric address", arg);
	return -1;
}

bool cs_web_is_loopback(const struct cs_web_opts *o)
{
	struct in_addr a4;
	struct in6_addr a6;

	if (inet_pton(AF_INET, o->addr, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	return inet_pton(AF_INET6, o->addr, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
}


int cs_web_add_host(struct cs_web_opts *o, const char *name, char *err, size_t errlen)
{
	if (!cs_route_host_name_valid(name)) {
		snprintf(err, errlen, "--web-host '%s': expected a DNS name (letters, "
			 "digits, '-' and '.') or a numeric address (IPv6 without [])",
			 name);
		return -1;
	}
	if (o->host_cnt >= CS_WEB_HOSTS_MAX) {
		snprintf(err, errlen, "--web-host '%s': at most %d names", name,
			 CS_WEB_HOSTS_MAX);
		return -1;
	}
	o->hosts[o->host_cnt++] = name;
	return 0;
}

int cs_web_check_token(const char *token, const char *what, char *err, size_t errlen)
{
	size_t n = strlen(token);

	for (size_t i = 0; i < n; i++) {
		if (token[i] <= ' ' || token[i] > '~') {
			snprintf(err, errlen, "%s: the token must be printable ASCII "
				 "without spaces (byte %zu is 0x%02x)", what, i + 1,
				 (unsigned char)token[i]);
			return -1;
		}
	}
	if (n < CS_WEB_TOKEN_MIN) {
		snprintf(err, errlen, "%s: the token has %zu characters; give at least "
			 "%d (e.g. head -c 24 /dev/urandom | base64 | tr +/ -_)", what, n,
			 CS_WEB_TOKEN_MIN);
		return -1;
	}
	return 0;
}

int cs_web_read_token(const char *path, char *buf, size_t len, char *err,
		      size_t errlen)
{
	FILE *f = fopen(path, "r");

	if (!f) {
		snprintf(err, errlen, "--web-token-file: cannot open '%s': %s", path,
			 strerror(errno));
		return -1;
	}
	bool got = fgets(buf, (int)len, f) != NULL;
	bool read_error = ferror(f);
	fclose(f);
	size_t n = got ? strlen(buf) : 0;
	if (read_error || !got || (n == len - 1 && buf[n - 1] != '\n')) {
		snprintf(err, errlen, "--web-token-file '%s': %s", path,
			 read_error ? "cannot be read" : !got ? "is empty"
			 : "its first line is too long for a token");
		return -1;
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';	/* the line's end, not the token's */
	return 0;
}
