/*
 * test_statuslist.c - unit tests for lib/statuslist.c: lists round-trip bit
 * for bit (index 0 = MSB of the first byte), bounds are refused, the empty
 * list is small and deterministic, lists made by Python's gzip decode, and
 * what is not one intact GZIP member of a long enough bitstring is refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "certflow/base64url.h"
#include "certflow/statuslist.h"

/*
 * Made by an independent implementation (Python's gzip, whose header differs
 * from zlib's; only decoding is compared):
 *   /usr/bin/python3 -c "import gzip,base64; b=bytearray(16384); b[0]=0x80;
 *   print('u'+base64.urlsafe_b64encode(gzip.compress(bytes(b),mtime=0))
 *   .decode().rstrip('='))"
 */
#define PY_BIT0 "uH4sIAAAAAAACA-3BIQEAAAACIKc73RkWoAEAAAAAAAAAAAAAAAAAAADeBuRZQ2cAQAAA"
/* The same way: 16384 zero bytes (ONE), that member twice (TWO), ONE with a
 * zero byte after it (TRAIL), 16383 zero bytes (SHORT), and 16384 zero bytes
 * in the zlib format instead of gzip (ZLIB, from zlib.compress(z, 9)). */
#define PY_ONE "uH4sIAAAAAAACA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
#define PY_TWO "uH4sIAAAAAAACA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA" \
	"H4sIAAAAAAACA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAA"
#define PY_TRAIL "uH4sIAAAAAAACA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAIC3AYbSVKsAQAAAAA"
#define PY_SHORT "uH4sIAAAAAAACA-3BMQEAAADCoPVPbQwfoAAAAAAAAAAAAAAAAAAAAICzAQmvhYr_PwAA"
#define PY_ZLIB "ueNrtwTEBAAAAwqD1T20MH6AAAAAAAAAAAAAAAAAAAACAtwFAAAAB"

/* Bit INDEX of ENCODED, which must decode. */
static bool
bit_of(const char *encoded, uint64_t index)
{
	bool bit = true;

	if (!statuslist_bit(encoded, index, &bit))
		fail_msg("bit %llu does not decode", (unsigned long long)index);
	return bit;
}

static void
test_empty_list_round_trips(void **state)
{
	static const uint64_t probes[] = { 0, 1, 7, 8, 4095, 65535, 65536,
	    131070, 131071 };
	char *text, *again;
	bool bit = true;

	assert_non_null(text = statuslist_encode(STATUSLIST_MIN_BITS, NULL, 0));
	assert_int_equal(text[0], 'u');
	assert_true(strlen(text) < 200);
	for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
		assert_false(bit_of(text, probes[i]));
	/* One past the end is out of range. */
	assert_false(statuslist_bit(text, STATUSLIST_MIN_BITS, &bit));
	assert_false(bit);
	assert_false(statuslist_bit(text, UINT64_MAX, &bit));
	/* The same bits always give the same text, prefix optional on input. */
	assert_non_null(again = statuslist_encode(STATUSLIST_MIN_BITS, NULL, 0));
	assert_string_equal(text, again);
	assert_false(bit_of(text + 1, 0));
	free(again);
	free(text);
}

static void
test_set_bits_read_back(void **state)
{
	static const uint64_t set[] = { 0, 7, 8, 131071, 8 };
	static const uint64_t clear[] = { 1, 6, 9, 15, 16, 131070 };
	char *text;

	assert_non_null(text = statuslist_encode(STATUSLIST_MIN_BITS, set, 5));
	assert_int_equal(text[0], 'u');
	for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++)
		assert_true(bit_of(text, set[i]));
	for (size_t i = 0; i < sizeof(clear) / sizeof(clear[0]); i++)
		assert_false(bit_of(text, clear[i]));
	free(text);
}

/* Index 0 is the MSB of the first byte: check the raw bytes, not just a round trip. */
static void
test_bit_order_in_bytes(void **state)
{
	static const uint64_t set[] = { 0, 9, 23 };
	unsigned char *gz, out[4];
	size_t glen = 0, len;
	z_stream zs;
	char *text;

	assert_non_null(text = statuslist_encode(STATUSLIST_MIN_BITS, set, 3));
	len = strlen(text + 1);
	assert_true(base64url_check(text + 1, len, &glen));
	assert_non_null(gz = malloc(glen));
	base64url_decode(text + 1, len, gz);
	/* RFC 1952: magic 1f 8b, method 8 (deflate). */
	assert_int_equal(gz[0], 0x1f);
	assert_int_equal(gz[1], 0x8b);
	assert_int_equal(gz[2], 8);
	memset(&zs, 0, sizeof(zs));
	assert_int_equal(inflateInit2(&zs, 15 + 16), Z_OK);
	zs.next_in = gz;
	zs.avail_in = (uInt)glen;
	zs.next_out = out;
	zs.avail_out = sizeof(out);
	assert_int_equal(inflate(&zs, Z_NO_FLUSH), Z_OK);
	assert_int_equal(out[0], 0x80);
	assert_int_equal(out[1], 0x40);
	assert_int_equal(out[2], 0x01);
	assert_int_equal(out[3], 0x00);
	inflateEnd(&zs);
	free(gz);
	free(text);
}

/* xorshift64: reproducible indexes. */
static uint64_t
next_random(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static void
test_larger_list_across_chunks(void **state)
{
	const size_t nbits = 1u << 20;
	uint64_t set[200], seed = 42;
	unsigned char *ref;
	char *text;

	assert_non_null(ref = calloc(nbits / 8, 1));
	for (size_t i = 0; i < 200; i++) {
		set[i] = next_random(&seed) % nbits;
		ref[set[i] / 8] |= (unsigned char)(0x80u >> (set[i] % 8));
	}
	/* Around the decoder's 8 KiB chunks and at the very end. */
	set[0] = 65535;
	set[1] = 65536;
	set[2] = nbits - 1;
	for (size_t i = 0; i < 3; i++)
		ref[set[i] / 8] |= (unsigned char)(0x80u >> (set[i] % 8));
	assert_non_null(text = statuslist_encode(nbits, set, 200));
	for (uint64_t i = 0; i < nbits; i += 1021)
		assert_int_equal(bit_of(text, i), (ref[i / 8] >> (7 - i % 8)) & 1);
	for (size_t i = 0; i < 200; i++)
		assert_true(bit_of(text, set[i]));
	assert_false(bit_of(text, 65534));
	assert_false(bit_of(text, 65537));
	free(text);
	free(ref);
}

static void
test_encode_refuses_out_of_range(void **state)
{
	uint64_t set[] = { 3, STATUSLIST_MIN_BITS };
	char *text;

	assert_null(statuslist_encode(STATUSLIST_MIN_BITS, set, 2));
	set[1] = UINT64_MAX;
	assert_null(statuslist_encode(STATUSLIST_MIN_BITS, set, 2));
	/* Shorter than the spec's minimum, not whole bytes, or too long. */
	assert_null(statuslist_encode(STATUSLIST_MIN_BITS - 8, NULL, 0));
	assert_null(statuslist_encode(STATUSLIST_MIN_BITS + 1, NULL, 0));
	assert_null(statuslist_encode((size_t)STATUSLIST_MAX_BITS + 8, NULL, 0));
	assert_null(statuslist_encode(STATUSLIST_MIN_BITS, NULL, 1));
	/* The largest list works and its last bit is there. */
	set[0] = STATUSLIST_MAX_BITS - 1;
	assert_non_null(text = statuslist_encode(STATUSLIST_MAX_BITS, set, 1));
	assert_true(bit_of(text, STATUSLIST_MAX_BITS - 1));
	assert_false(bit_of(text, 0));
	free(text);
}

static void
test_decodes_python_gzip(void **state)
{
	bool bit = false;

	assert_true(bit_of(PY_BIT0, 0));
	assert_false(bit_of(PY_BIT0, 1));
	assert_false(bit_of(PY_BIT0, 8));
	assert_false(bit_of(PY_BIT0, STATUSLIST_MIN_BITS - 1));
	assert_true(bit_of(&PY_BIT0[1], 0));
	assert_false(statuslist_bit(PY_BIT0, STATUSLIST_MIN_BITS, &bit));
	assert_false(bit_of(PY_ONE, 0));
}

static void
expect_refused(const char *encoded)
{
	bool bit = true;

	assert_false(statuslist_bit(encoded, 0, &bit));
	assert_false(bit);
}

/* "u" + base64url of a gzip member of N zero bytes (zlib, for the bound test). */
static char *
gzip_zeros(size_t n)
{
	unsigned char *zeros, *gz;
	size_t cap;
	z_stream zs;
	char *text;

	memset(&zs, 0, sizeof(zs));
	assert_int_equal(deflateInit2(&zs, 9, Z_DEFLATED, 15 + 16, 8,
	    Z_DEFAULT_STRATEGY), Z_OK);
	cap = deflateBound(&zs, n);
	assert_non_null(zeros = calloc(n, 1));
	assert_non_null(gz = malloc(cap));
	zs.next_in = zeros;
	zs.avail_in = (uInt)n;
	zs.next_out = gz;
	zs.avail_out = (uInt)cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	assert_non_null(text = malloc(1 + base64url_len(zs.total_out) + 1));
	text[0] = 'u';
	text[1 + base64url_encode(gz, zs.total_out, text + 1)] = '\0';
	deflateEnd(&zs);
	free(zeros);
	free(gz);
	return text;
}

/* The raw bytes of ENCODED (which has its 'u'); *N their count. */
static unsigned char *
raw_of(const char *encoded, size_t *n)
{
	unsigned char *raw;

	assert_true(base64url_check(encoded + 1, strlen(encoded + 1), n));
	assert_non_null(raw = malloc(*n));
	base64url_decode(encoded + 1, strlen(encoded + 1), raw);
	return raw;
}

/* statuslist_bit of bit 0 of "u" + base64url of the N bytes of RAW. */
static bool
raw_bit0(const unsigned char *raw, size_t n, bool *bit)
{
	char *text;
	bool ok;

	assert_non_null(text = malloc(1 + base64url_len(n) + 1));
	text[0] = 'u';
	text[1 + base64url_encode(raw, n, text + 1)] = '\0';
	ok = statuslist_bit(text, 0, bit);
	free(text);
	return ok;
}

static void
expect_raw_refused(const unsigned char *raw, size_t n)
{
	bool bit = true;

	assert_false(raw_bit0(raw, n, &bit));
	assert_false(bit);
}

static void
test_decode_refuses_bad_lists(void **state)
{
	unsigned char *raw;
	size_t n = 0;
	bool bit = false;
	char *big;

	/* Not one intact gzip member of at least 16 KiB. */
	expect_refused(PY_TWO);
	expect_refused(PY_TRAIL);
	expect_refused(PY_ZLIB);
	expect_refused(PY_SHORT);
	raw = raw_of(PY_BIT0, &n);
	expect_raw_refused(raw, n - 4);		/* truncated: no ISIZE */
	expect_raw_refused(raw, 10);		/* the header alone */
	raw[n - 8] ^= 1;			/* CRC-32 no longer matches */
	expect_raw_refused(raw, n);
	raw[n - 8] ^= 1;
	raw[n - 1] ^= 1;			/* ISIZE no longer matches */
	expect_raw_refused(raw, n);
	raw[n - 1] ^= 1;
	raw[2] = 7;				/* not deflate */
	expect_raw_refused(raw, n);
	raw[2] = 8;
	/* Restored, the same bytes decode: each refusal above was the mutation's. */
	assert_true(raw_bit0(raw, n, &bit));
	assert_true(bit);
	free(raw);
	/* Not canonical unpadded base64url. */
	expect_refused(PY_BIT0 "=");
	expect_refused("uH4sI+AAAAAAACA");
	expect_refused("zH4sIAAAAAAACA-3BIQEAAAACIKc73RkWoAEAAAAAAAAAAAAAAAAAAADeBuRZQ2cAQAAA");
	expect_refused("");
	expect_refused("u");
	expect_refused("uH4");
	expect_refused(NULL);
	assert_false(statuslist_bit(PY_BIT0, 0, NULL));
	/* A list longer than the bound is refused, however well it compresses. */
	big = gzip_zeros(STATUSLIST_MAX_BITS / 8);
	assert_false(bit_of(big, STATUSLIST_MAX_BITS - 1));
	free(big);
	big = gzip_zeros(STATUSLIST_MAX_BITS / 8 + 1);
	expect_refused(big);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_list_round_trips),
		cmocka_unit_test(test_set_bits_read_back),
		cmocka_unit_test(test_bit_order_in_bytes),
		cmocka_unit_test(test_larger_list_across_chunks),
		cmocka_unit_test(test_encode_refuses_out_of_range),
		cmocka_unit_test(test_decodes_python_gzip),
		cmocka_unit_test(test_decode_refuses_bad_lists),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
