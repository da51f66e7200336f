/*
 * packet.c — names and address helpers shared by every module.
 */
#include "capture/packet.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

const char *const cs_skip_names[CS_SKIP_MAX] = {
	[CS_SKIP_NONE] = "none",
	[CS_SKIP_BAD_RECORD] = "bad_record",
	[CS_SKIP_LINKTYPE] = "linktype",
	[CS_SKIP_TRUNCATED] = "truncated",
	[CS_SKIP_BAD_LINK_HEADER] = "bad_link_header",
	[CS_SKIP_NOT_IP] = "not_ip",
	[CS_SKIP_BAD_IP_HEADER] = "bad_ip_header",
	[CS_SKIP_IP_FRAGMENT] = "ip_fragment",
	[CS_SKIP_NOT_TCP] = "not_tcp",
	[CS_SKIP_BAD_TCP_HEADER] = "bad_tcp_header",
	[CS_SKIP_BAD_TCP_OPTION] = "bad_tcp_option",
	[CS_SKIP_BAD_ICMP] = "bad_icmp",
	[CS_SKIP_BAD_TUNNEL] = "bad_tunnel",
	[CS_SKIP_TUNNEL_DEPTH] = "tunnel_depth",
	[CS_SKIP_BAD_CHECKSUM] = "bad_checksum",
	[CS_SKIP_BAD_IP_CHECKSUM] = "bad_ip_checksum",
	[CS_SKIP_IP_FRAGMENT_HELD] = "ip_fragment_held",
	[CS_SKIP_IP_FRAGMENT_OVERLAP] = "ip_fragment_overlap",
};

const char *const cs_tunnel_names[CS_TUN_MAX] = {
	[CS_TUN_NONE] = "none",
	[CS_TUN_MPLS] = "mpls",
	[CS_TUN_FABRICPATH] = "fabricpath",
	[CS_TUN_GRE] = "gre",
	[CS_TUN_ERSPAN] = "erspan",
	[CS_TUN_PPTP] = "pptp",
	[CS_TUN_IPIP] = "ipip",
	[CS_TUN_VXLAN] = "vxlan",
	[CS_TUN_GENEVE] = "geneve",
	[CS_TUN_TEREDO] = "teredo",
	[CS_TUN_GTPU] = "gtpu",
	[CS_TUN_PPPOE] = "pppoe",
	[CS_TUN_PBB] = "pbb",
	[CS_TUN_AYIYA] = "ayiya",
};

static const uint8_t v4_mapped_prefix[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

bool cs_addr_is_v4(const struct cs_addr *a)
{
	return memcmp(a->b, v4_mapped_prefix, sizeof v4_mapped_prefix) == 0;
}

bool cs_icmp_is_unreachable(bool ipv4, uint8_t type)
{
	return ipv4 ? type == 3 : type == 1;
}

/* An IPv4 address in dotted decimal, as inet_ntop writes it; false (buf
 * untouched) when it and its NUL do not fit.  Not inet_ntop: glibc's
 * formats IPv4 with sprintf, 1,900 instructions an address, and the JSON
 * report's writer thread spent 29% of its time there (two or more
 * addresses a connection). */
static bool format_v4(const uint8_t *b, char *buf, unsigned len)
{
	char t[sizeof "255.255.255.255"];
	unsigned n = 0;

	for (int i = 0; i < 4; i++) {
		unsigned v = b[i];
		if (i)
			t[n++] = '.';
		if (v >= 100)
			t[n++] = (char)('0' + v / 100);
		if (v >= 10)
			t[n++] = (char)('0' + v / 10 % 10);
		t[n++] = (char)('0' + v % 10);
	}
	if (n + 1 > len)
		return false;
	memcpy(buf, t, n);
	buf[n] = '\0';
	return true;
}

char *cs_addr_format(const struct cs_addr *a, char *buf, unsigned len)
{
	bool ok;

	if (cs_addr_is_v4(a))
		ok = format_v4(a->b + 12, buf, len);
	else
		ok = inet_ntop(AF_INET6, a->b, buf, len) != NULL;
	if (!ok && len > 0)
		buf[0] = '\0';
	return buf;
}

bool cs_tunnel_has_endpoints(unsigned kind)
{
	switch (kind) {
	case CS_TUN_NONE: case CS_TUN_MPLS: case CS_TUN_FABRICPATH:
	case CS_TUN_PPPOE: case CS_TUN_PBB:
		return false;
	default:
		return true;
	}
}

char *cs_tunnel_format(const struct cs_tunnel *t, char *buf, unsigned len)
{
	char src[CS_ADDR_STRLEN], dst[CS_ADDR_STRLEN];

	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (t->kind == CS_TUN_NONE || t->kind >= CS_TUN_MAX)
		return buf;
	if (!cs_tunnel_has_endpoints(t->kind)) {
		snprintf(buf, len, "%s", cs_tunnel_names[t->kind]);
		return buf;
	}
	cs_addr_format(&t->outer_src, src, sizeof src);
	cs_addr_format(&t->outer_dst, dst, sizeof dst);
	snprintf(buf, len, "%s %s->%s", cs_tunnel_names[t->kind], src, dst);
	return buf;
}
