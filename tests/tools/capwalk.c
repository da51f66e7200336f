/*
 * capwalk.c — where the records of a capture file begin and end, for
 * tests/damaged.sh.
 *
 * The damaged-file test must know, for a cut at any byte, how many whole
 * packets lie before it, without asking connscope or libpcap (the code
 * under test).  This walks the file's framing only: for classic pcap the
 * 24-byte file header, then 16-byte record headers whose caplen gives the
 * body; for pcapng the blocks, each framed by its type and total length
 * (pcapng spec, section 3.1), in the byte order of its section.  It never
 * looks inside a packet.
 *
 * One line per record on stdout:
 *
 *   OFFSET LENGTH KIND
 *
 * KIND is "header" (what must be there before libpcap will open the file:
 * pcap's file header; pcapng's blocks up to and including the first
 * Interface Description Block), "packet" (a pcap record, or a pcapng
 * Enhanced/Simple/obsolete Packet Block) or "other" (any other pcapng
 * block).  A last line "end OFFSET" gives where whole records stop.
 * Exit status 0, or 2 when the framing itself is broken before the end
 * (the lines up to there are still printed).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint32_t get_u32(const uint8_t *p, bool big_endian)
{
	if (big_endian)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
		       (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | p[0];
}

/* Reads exactly n bytes at off; false on a short read. */
static bool read_at(FILE *f, uint64_t off, void *buf, size_t n)
{
	return fseeko(f, (off_t)off, SEEK_SET) == 0 && fread(buf, 1, n, f) == n;
}

static int walk_pcap(FILE *f, uint64_t size, bool big_endian)
{
	uint8_t h[16];
	uint64_t off = 24;

	printf("0 24 header\n");
	while (off + 16 <= size && read_at(f, off, h, sizeof h)) {
		uint64_t len = 16 + (uint64_t)get_u32(h + 8, big_endian);
		if (off + len > size)
			break;
		printf("%llu %llu packet\n", (unsigned long long)off,
		       (unsigned long long)len);
		off += len;
	}
	printf("end %llu\n", (unsigned long long)off);
	return off == size ? 0 : 2;
}

enum { BT_SHB = 0x0a0d0d0a, BT_IDB = 1, BT_PB = 2, BT_SPB = 3, BT_EPB = 6 };
#define BYTE_ORDER_MAGIC 0x1a2b3c4du

static int walk_pcapng(FILE *f, uint64_t size)
{
	uint8_t h[12];
	uint64_t off = 0;
	bool big_endian = false, opened = false;

	while (off + 12 <= size && read_at(f, off, h, sizeof h)) {
		/* A section header says the byte order of what follows. */
		if (get_u32(h, false) == BT_SHB) {
			if (get_u32(h + 8, false) == BYTE_ORDER_MAGIC)
				big_endian = false;
			else if (get_u32(h + 8, true) == BYTE_ORDER_MAGIC)
				big_endian = true;
			else
				break;
		}
		uint32_t type = get_u32(h, big_endian);
		uint64_t len = get_u32(h + 4, big_endian);
		if (len < 12 || len % 4 || off + len > size)
			break;
		const char *kind = "other";
		if (!opened)
			kind = "header";
		else if (type == BT_EPB || type == BT_SPB || type == BT_PB)
			kind = "packet";
		opened = opened || type == BT_IDB;
		printf("%llu %llu %s\n", (unsigned long long)off,
		       (unsigned long long)len, kind);
		off += len;
	}
	printf("end %llu\n", (unsigned long long)off);
	return off == size ? 0 : 2;
}

int main(int argc, char **argv)
{
	uint8_t m[4];

	if (argc != 2) {
		fprintf(stderr, "usage: capwalk FILE\n");
		return 1;
	}
	FILE *f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 1;
	}
	int rc = 2;
	if (fseeko(f, 0, SEEK_END) == 0) {
		uint64_t size = (uint64_t)ftello(f);
		if (read_at(f, 0, m, sizeof m)) {
			uint32_t le = get_u32(m, false);
			if (le == 0xa1b2c3d4u || le == 0xa1b23c4du)
				rc = walk_pcap(f, size, false);
			else if (le == 0xd4c3b2a1u || le == 0x4d3cb2a1u)
				rc = walk_pcap(f, size, true);
			else if (le == BT_SHB)
				rc = walk_pcapng(f, size);
			else
				fprintf(stderr, "%s: not a pcap or pcapng file\n", argv[1]);
		}
	}
	fclose(f);
	return rc;
}
