/*
 * check_unpack.c — compressed inputs (capture/unpack.c) in memory: the
 * magic bytes told apart, each format decompressed whole (several gzip
 * members, zstd frames and xz streams in a row too), and a truncation
 * sweep: the compressed bytes cut at every length give a prefix of the
 * original and then a read error naming the cut, never a clean end.
 * The compressed bytes are made here by the libraries' own encoders.
 */
#include <errno.h>
#include <lzma.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "capture/unpack.h"
#include "tests/suites.h"

#define PLAIN_LEN 6000

static unsigned char plain[PLAIN_LEN];

/* Half text, half noise: compressible, but not to nothing. */
static void make_plain(void)
{
	uint32_t x = 12345;

	for (size_t i = 0; i < PLAIN_LEN; i++) {
		x = x * 1103515245u + 12345u;
		plain[i] = (i / 64) % 2 ? (unsigned char)(x >> 24) : (unsigned char)('a' + i % 26);
	}
}

static size_t gzip_encode(const unsigned char *in, size_t len, unsigned char *out, size_t cap)
{
	z_stream z;

	memset(&z, 0, sizeof z);
	ck_assert_int_eq(deflateInit2(&z, 6, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	z.next_out = out;
	z.avail_out = (uInt)cap;
	ck_assert_int_eq(deflate(&z, Z_FINISH), Z_STREAM_END);
	size_t n = cap - z.avail_out;
	deflateEnd(&z);
	return n;
}

static size_t zstd_encode(const unsigned char *in, size_t len, unsigned char *out, size_t cap)
{
	size_t n = ZSTD_compress(out, cap, in, len, 3);

	ck_assert(!ZSTD_isError(n));
	return n;
}

static size_t xz_encode(const unsigned char *in, size_t len, unsigned char *out, size_t cap)
{
	size_t pos = 0;

	ck_assert_int_eq(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC64, NULL, in, len,
						 out, &pos, cap), LZMA_OK);
	return pos;
}

typedef size_t (*encode_fn)(const unsigned char *, size_t, unsigned char *, size_t);

static const struct {
	enum cs_unpack_kind kind;
	encode_fn encode;
} formats[] = {
	{ CS_UNPACK_GZIP, gzip_encode },
	{ CS_UNPACK_ZSTD, zstd_encode },
	{ CS_UNPACK_XZ, xz_encode },
};
#define FORMAT_CNT (sizeof formats / sizeof formats[0])

/* Reads everything from the decompressed stream of buf[0..len) into
 * got; returns the bytes read, *failed set when a read failed. */
static size_t read_all(const unsigned char *buf, size_t len, enum cs_unpack_kind kind,
		       unsigned char *got, size_t cap, bool *failed, char *why, size_t whylen)
{
	struct cs_unpack *u = NULL;
	FILE *raw = fmemopen((void *)buf, len, "rb");
	ck_assert_ptr_nonnull(raw);
	FILE *f = cs_unpack_open(raw, kind, &u);
	ck_assert_ptr_nonnull(f);
	size_t n = 0, k;

	while (n < cap && (k = fread(got + n, 1, cap - n, f)) > 0)
		n += k;
	*failed = ferror(f) != 0;
	snprintf(why, whylen, "%s", cs_unpack_error(u) ? cs_unpack_error(u) : "");
	fclose(f);
	return n;
}

START_TEST(test_detect)
{
	static const unsigned char gz[] = { 0x1f, 0x8b, 8, 0 };
	static const unsigned char zs[] = { 0x28, 0xb5, 0x2f, 0xfd };
	static const unsigned char xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
	static const unsigned char pcap[] = { 0xd4, 0xc3, 0xb2, 0xa1, 2, 0 };

	ck_assert_int_eq(cs_unpack_detect(gz, sizeof gz), CS_UNPACK_GZIP);
	ck_assert_int_eq(cs_unpack_detect(zs, sizeof zs), CS_UNPACK_ZSTD);
	ck_assert_int_eq(cs_unpack_detect(xz, sizeof xz), CS_UNPACK_XZ);
	ck_assert_int_eq(cs_unpack_detect(pcap, sizeof pcap), CS_UNPACK_NONE);
	/* too short to tell: not compressed (libpcap then names it) */
	ck_assert_int_eq(cs_unpack_detect(gz, 1), CS_UNPACK_NONE);
	ck_assert_int_eq(cs_unpack_detect(zs, 3), CS_UNPACK_NONE);
	ck_assert_int_eq(cs_unpack_detect(xz, 5), CS_UNPACK_NONE);
	ck_assert_int_eq(cs_unpack_detect(NULL, 0), CS_UNPACK_NONE);
}
END_TEST

/* Whole, and two compressed pieces in a row (gzip -c a b, zstd's frames,
 * xz's streams): the two plain pieces, in order. */
START_TEST(test_whole_and_concatenated)
{
	static unsigned char comp[4 * PLAIN_LEN], got[2 * PLAIN_LEN + 16];
	char why[256];
	bool failed;

	make_plain();
	size_t a = formats[_i].encode(plain, PLAIN_LEN / 2, comp, sizeof comp);
	size_t b = formats[_i].encode(plain + PLAIN_LEN / 2, PLAIN_LEN - PLAIN_LEN / 2,
				      comp + a, sizeof comp - a);
	size_t n = read_all(comp, a + b, formats[_i].kind, got, sizeof got, &failed,
			    why, sizeof why);
	ck_assert_msg(!failed, "%s: %s", cs_unpack_kind_names[formats[_i].kind], why);
	ck_assert_uint_eq(n, PLAIN_LEN);
	ck_assert(memcmp(got, plain, PLAIN_LEN) == 0);
}
END_TEST

/* Every cut short of the whole: a prefix of the plain bytes, then a
 * failed read whose reason names the format, never a clean end. */
START_TEST(test_truncation_sweep)
{
	static unsigned char comp[2 * PLAIN_LEN], got[PLAIN_LEN + 16];
	char why[256];
	bool failed;

	make_plain();
	size_t len = formats[_i].encode(plain, PLAIN_LEN, comp, sizeof comp);
	const char *name = cs_unpack_kind_names[formats[_i].kind];
	for (size_t cut = 1; cut < len; cut++) {
		size_t n = read_all(comp, cut, formats[_i].kind, got, sizeof got,
				    &failed, why, sizeof why);
		ck_assert_msg(failed, "%s cut at %zu of %zu read as whole (%zu bytes)",
			      name, cut, len, n);
		ck_assert_msg(strstr(why, name) != NULL, "%s cut at %zu: '%s'", name, cut, why);
		ck_assert(n <= PLAIN_LEN && memcmp(got, plain, n) == 0);
	}
}
END_TEST

Suite *unpack_suite(void)
{
	Suite *s = suite_create("unpack");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_detect);
	tcase_add_loop_test(tc, test_whole_and_concatenated, 0, (int)FORMAT_CNT);
	tcase_add_loop_test(tc, test_truncation_sweep, 0, (int)FORMAT_CNT);
	suite_add_tcase(s, tc);
	return s;
}
