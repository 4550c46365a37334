#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>

#include "buf.h"
#include "dcbor.h"
#include "err.h"
#include "testutil.h"

static void
assert_bytes(struct buf *b, const char *hex)
{
	size_t n;
	uint8_t *want = test_unhex(hex, &n);

	ck_assert_msg(buf_len(b) == n && memcmp(buf_ptr(b), want, n) == 0,
	    "encoding differs from %s", hex);
	free(want);
	ck_assert_int_eq(dcbor_validate(buf_ptr(b), buf_len(b), 8), 0);
}

/* Runs dcbor_validate on hex input. */
static int
validate_hex(const char *hex, unsigned depth)
{
	size_t n;
	uint8_t *p = test_unhex(hex, &n);
	int r = dcbor_validate(p, n, depth);

	free(p);
	return r;
}

START_TEST(test_rfc_ints)
{
	static const struct { int64_t v; const char *hex; } t[] = {
		{ 0, "00" }, { 1, "01" }, { 10, "0a" }, { 23, "17" },
		{ 24, "1818" }, { 25, "1819" }, { 100, "1864" },
		{ 1000, "1903e8" }, { 1000000, "1a000f4240" },
		{ 1000000000000LL, "1b000000e8d4a51000" },
		{ -1, "20" }, { -10, "29" }, { -100, "3863" },
		{ -1000, "3903e7" }, { INT64_MIN, "3b7fffffffffffffff" },
		{ INT64_MAX, "1b7fffffffffffffff" }, { -24, "37" },
		{ -25, "3818" }, { 255, "18ff" }, { 256, "190100" },
		{ 65535, "19ffff" }, { 65536, "1a00010000" },
		{ 4294967295LL, "1affffffff" }, { 4294967296LL, "1b0000000100000000" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct buf *b = buf_new(64);
		int64_t v;

		ck_assert_int_eq(dcbor_put_int(b, t[i].v), 0);
		assert_bytes(b, t[i].hex);
		ck_assert_int_eq(dcbor_get_int(b, &v), 0);
		ck_assert(v == t[i].v);
		ck_assert_int_eq(buf_len(b), 0);
		buf_free(b);
	}
	{
		struct buf *b = buf_new(64);
		struct dcbor_item it;
		uint64_t u;
		int64_t v;

		ck_assert_int_eq(dcbor_put_uint(b, UINT64_MAX), 0);
		assert_bytes(b, "1bffffffffffffffff");
		ck_assert_int_eq(dcbor_get_int(b, &v), ERR_CBOR);
		ck_assert_int_eq(buf_len(b), 9);	/* not consumed */
		ck_assert_int_eq(dcbor_get_uint(b, &u), 0);
		ck_assert(u == UINT64_MAX);
		/* -18446744073709551616 decodes as a negint head */
		buf_free(b);
		b = buf_from("\x3b\xff\xff\xff\xff\xff\xff\xff\xff", 9);
		ck_assert_int_eq(dcbor_get_item(b, &it), 0);
		ck_assert_int_eq(it.type, DCBOR_NEGINT);
		ck_assert(it.u == UINT64_MAX);
		buf_free(b);
	}
}
END_TEST

START_TEST(test_rfc_floats)
{
	static const struct { double v; const char *hex; } t[] = {
		{ 0.0, "f90000" }, { -0.0, "f98000" }, { 1.0, "f93c00" },
		{ 1.1, "fb3ff199999999999a" }, { 1.5, "f93e00" },
		{ 65504.0, "f97bff" }, { 100000.0, "fa47c35000" },
		{ 3.4028234663852886e+38, "fa7f7fffff" },
		{ 1.0e+300, "fb7e37e43c8800759c" },
		{ 5.960464477539063e-8, "f90001" },
		{ 0.00006103515625, "f90400" }, { -4.0, "f9c400" },
		{ -4.1, "fbc010666666666666" }, { INFINITY, "f97c00" },
		{ -INFINITY, "f9fc00" },
		/* our own shortest-form edges */
		{ 65505.0, "fa477fe100" }, { 65536.0, "fa47800000" },
		{ 3.0517578125e-05, "f90200" },	/* half subnormal 2^-15 */
		{ 2.9802322387695312e-08, "fa33000000" },	/* 2^-25 */
		{ 0.1, "fb3fb999999999999a" },
		{ (double)0.1f, "fa3dcccccd" },
		{ 5e-324, "fb0000000000000001" },
		{ 1.401298464324817e-45, "fa00000001" },	/* float subnormal */
		{ 3.4028235677973366e+38, "fb47effffff0000000" },
		{ 1.0009765625, "f93c01" }, { 1.00048828125, "fa3f801000" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct buf *b = buf_new(64);
		double d;

		ck_assert_int_eq(dcbor_put_float(b, t[i].v), 0);
		assert_bytes(b, t[i].hex);
		ck_assert_int_eq(dcbor_get_float(b, &d), 0);
		ck_assert_msg(memcmp(&d, &t[i].v, sizeof(d)) == 0, "%s", t[i].hex);
		buf_free(b);
	}
	{
		struct buf *b = buf_new(64);
		double d;

		ck_assert_int_eq(dcbor_put_float(b, NAN), 0);
		assert_bytes(b, "f97e00");
		ck_assert_int_eq(dcbor_get_float(b, &d), 0);
		ck_assert(isnan(d));
		ck_assert_int_eq(dcbor_put_float(b, -NAN), 0);
		assert_bytes(b, "f97e00");	/* sign and payload dropped */
		buf_free(b);
	}
}
END_TEST

/* Every half-precision bit pattern round-trips to the same three bytes. */
START_TEST(test_all_halves)
{
	unsigned h;

	for (h = 0; h < 0x10000; h++) {
		uint8_t in[3] = { 0xf9, (uint8_t)(h >> 8), (uint8_t)h };
		struct buf *v = buf_from(in, 3), *b = buf_new(16);
		int nan = (h & 0x7c00) == 0x7c00 && (h & 0x3ff) != 0;
		double d;
		int r = dcbor_get_float(v, &d);

		if (nan && h != 0x7e00) {
			ck_assert_int_eq(r, ERR_CBOR);
		} else {
			ck_assert_int_eq(r, 0);
			ck_assert_int_eq(dcbor_put_float(b, d), 0);
			ck_assert_int_eq(buf_len(b), 3);
			ck_assert(memcmp(buf_ptr(b), in, 3) == 0);
		}
		buf_free(v);
		buf_free(b);
	}
}
END_TEST

/* Random doubles and floats: decode(encode(x)) == x bit for bit, and the
 * width is the shortest exact one. */
START_TEST(test_float_sweep)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	int i;

	for (i = 0; i < 200000; i++) {
		struct buf *b = buf_new(16);
		uint64_t bits;
		uint32_t fb;
		double d, back;
		float f;
		size_t want;

		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		if (i % 2 == 0) {
			bits = s;
			memcpy(&d, &bits, sizeof(d));
		} else {
			fb = (uint32_t)s;
			memcpy(&f, &fb, sizeof(f));
			d = f;
		}
		if (isnan(d)) {
			buf_free(b);
			continue;
		}
		ck_assert_int_eq(dcbor_put_float(b, d), 0);
		if (fabs(d) <= 3.4028234663852886e+38 && (double)(float)d == d)
			want = buf_len(b) == 3 ? 3 : 5;
		else
			want = 9;
		ck_assert_uint_eq(buf_len(b), want);
		ck_assert_int_eq(dcbor_validate(buf_ptr(b), buf_len(b), 0), 0);
		ck_assert_int_eq(dcbor_get_float(b, &back), 0);
		ck_assert(memcmp(&back, &d, sizeof(d)) == 0);
		buf_free(b);
	}
}
END_TEST

START_TEST(test_rfc_strings)
{
	struct buf *b = buf_new(256);
	const uint8_t *p;
	size_t n;

	ck_assert_int_eq(dcbor_put_bytes(b, "", 0), 0);
	assert_bytes(b, "40");
	buf_reset(b);
	ck_assert_int_eq(dcbor_put_bytes(b, "\x01\x02\x03\x04", 4), 0);
	assert_bytes(b, "4401020304");
	ck_assert_int_eq(dcbor_get_bytes(b, &p, &n), 0);
	ck_assert_int_eq(n, 4);
	ck_assert(memcmp(p, "\x01\x02\x03\x04", 4) == 0);
	buf_reset(b);
	ck_assert_int_eq(dcbor_put_text(b, "", 0), 0);
	assert_bytes(b, "60");
	buf_reset(b);
	ck_assert_int_eq(dcbor_put_text(b, "IETF", 4), 0);
	assert_bytes(b, "6449455446");
	buf_reset(b);
	ck_assert_int_eq(dcbor_put_text(b, "\"\\", 2), 0);
	assert_bytes(b, "62225c");
	buf_reset(b);
	ck_assert_int_eq(dcbor_put_text(b, "\xc3\xbc", 2), 0);
	assert_bytes(b, "62c3bc");
	buf_reset(b);
	ck_assert_int_eq(dcbor_put_text(b, "\xe6\xb0\xb4", 3), 0);
	assert_bytes(b, "63e6b0b4");
	buf_reset(b);
	ck_assert_int_eq(dcbor_put_text(b, "\xf0\x90\x85\x91", 4), 0);
	assert_bytes(b, "64f0908591");
	ck_assert_int_eq(dcbor_get_text(b, &p, &n), 0);
	ck_assert_int_eq(n, 4);
	buf_reset(b);
	{
		char s[24];

		memset(s, 'x', sizeof(s));
		ck_assert_int_eq(dcbor_put_text(b, s, 23), 0);
		ck_assert_int_eq(buf_ptr(b)[0], 0x77);
		buf_reset(b);
		ck_assert_int_eq(dcbor_put_text(b, s, 24), 0);
		ck_assert_int_eq(buf_ptr(b)[0], 0x78);
		ck_assert_int_eq(buf_ptr(b)[1], 24);
	}
	buf_free(b);
}
END_TEST

START_TEST(test_rfc_containers)
{
	struct buf *b = buf_new(256);
	int i;

	ck_assert_int_eq(dcbor_put_array(b, 0), 0);
	assert_bytes(b, "80");
	buf_reset(b);
	/* [1, [2, 3], [4, 5]] */
	ck_assert_int_eq(dcbor_put_array(b, 3), 0);
	ck_assert_int_eq(dcbor_put_uint(b, 1), 0);
	ck_assert_int_eq(dcbor_put_array(b, 2), 0);
	ck_assert_int_eq(dcbor_put_uint(b, 2), 0);
	ck_assert_int_eq(dcbor_put_uint(b, 3), 0);
	ck_assert_int_eq(dcbor_put_array(b, 2), 0);
	ck_assert_int_eq(dcbor_put_uint(b, 4), 0);
	ck_assert_int_eq(dcbor_put_uint(b, 5), 0);
	assert_bytes(b, "8301820203820405");
	buf_reset(b);
	ck_assert_int_eq(dcbor_put_array(b, 25), 0);
	for (i = 1; i <= 25; i++)
		ck_assert_int_eq(dcbor_put_uint(b, i), 0);
	assert_bytes(b, "98190102030405060708090a0b0c0d0e0f101112131415161718181819");
	buf_reset(b);
	ck_assert_int_eq(dcbor_put_map(b, 0), 0);
	assert_bytes(b, "a0");
	buf_reset(b);
	/* {"a": 1, "b": [2, 3]} */
	ck_assert_int_eq(dcbor_put_map(b, 2), 0);
	ck_assert_int_eq(dcbor_put_text(b, "a", 1), 0);
	ck_assert_int_eq(dcbor_put_uint(b, 1), 0);
	ck_assert_int_eq(dcbor_put_text(b, "b", 1), 0);
	ck_assert_int_eq(dcbor_put_array(b, 2), 0);
	ck_assert_int_eq(dcbor_put_uint(b, 2), 0);
	ck_assert_int_eq(dcbor_put_uint(b, 3), 0);
	assert_bytes(b, "a26161016162820203");
	{
		uint64_t n, v;

		ck_assert_int_eq(dcbor_get_map(b, &n), 0);
		ck_assert(n == 2);
		ck_assert_int_eq(dcbor_peek_key(b, "b"), 0);
		ck_assert_int_eq(dcbor_peek_key(b, "a"), 1);
		ck_assert_int_eq(dcbor_get_key(b, "b"), ERR_CBOR);
		ck_assert_int_eq(dcbor_get_key(b, "ab"), ERR_CBOR);
		ck_assert_int_eq(dcbor_get_key(b, "a"), 0);
		ck_assert_int_eq(dcbor_get_uint(b, &v), 0);
		ck_assert(v == 1);
		ck_assert_int_eq(dcbor_get_key(b, "b"), 0);
		ck_assert_int_eq(dcbor_get_array(b, &n), 0);
		ck_assert(n == 2);
	}
	buf_reset(b);
	/* tags: 1(1363896240), 0("2013-03-21T20:04:00Z"), 37 */
	ck_assert_int_eq(dcbor_put_tag(b, 1), 0);
	ck_assert_int_eq(dcbor_put_uint(b, 1363896240), 0);
	assert_bytes(b, "c11a514b67b0");
	buf_reset(b);
	ck_assert_int_eq(dcbor_put_tag(b, 0), 0);
	ck_assert_int_eq(dcbor_put_text(b, "2013-03-21T20:04:00Z", 20), 0);
	assert_bytes(b, "c074323031332d30332d32315432303a30343a30305a");
	buf_reset(b);
	ck_assert_int_eq(dcbor_put_tag(b, 1004), 0);
	ck_assert_int_eq(dcbor_put_null(b), 0);
	assert_bytes(b, "d903ecf6");
	buf_reset(b);
	ck_assert_int_eq(dcbor_put_bool(b, 0), 0);
	ck_assert_int_eq(dcbor_put_bool(b, 7), 0);
	ck_assert_int_eq(dcbor_put_null(b), 0);
	ck_assert_int_eq(buf_len(b), 3);
	ck_assert(memcmp(buf_ptr(b), "\xf4\xf5\xf6", 3) == 0);
	{
		int v;

		ck_assert_int_eq(dcbor_get_bool(b, &v), 0);
		ck_assert_int_eq(v, 0);
		ck_assert_int_eq(dcbor_get_bool(b, &v), 0);
		ck_assert_int_eq(v, 1);
		ck_assert_int_eq(dcbor_get_bool(b, &v), ERR_CBOR);
		ck_assert_int_eq(dcbor_get_null(b), 0);
	}
	buf_free(b);
}
END_TEST

/* Inputs every decoder must reject, with the exact error. */
START_TEST(test_rejects)
{
	static const struct { const char *hex; int err; const char *why; } t[] = {
		/* indefinite lengths and break */
		{ "5f4101ff", ERR_CBOR, "indefinite bytes" },
		{ "7f6161ff", ERR_CBOR, "indefinite text" },
		{ "9f01ff", ERR_CBOR, "indefinite array" },
		{ "bf0101ff", ERR_CBOR, "indefinite map" },
		{ "ff", ERR_CBOR, "lone break" },
		/* non-shortest heads */
		{ "1800", ERR_CBOR, "0 in 1 byte" },
		{ "1817", ERR_CBOR, "23 in 1 byte" },
		{ "1900ff", ERR_CBOR, "255 in 2 bytes" },
		{ "1a0000ffff", ERR_CBOR, "65535 in 4 bytes" },
		{ "1b00000000ffffffff", ERR_CBOR, "u32 in 8 bytes" },
		{ "3800", ERR_CBOR, "negint" },
		{ "580100", ERR_CBOR, "byte string length" },
		{ "780161", ERR_CBOR, "text length" },
		{ "9800", ERR_CBOR, "array count" },
		{ "b800", ERR_CBOR, "map count" },
		{ "d80100", ERR_CBOR, "tag number" },
		/* non-preferred floats */
		{ "fa3f800000", ERR_CBOR, "1.0 as single" },
		{ "fb3ff0000000000000", ERR_CBOR, "1.0 as double" },
		{ "fb3fb99999a0000000", ERR_CBOR, "0.1f as double" },
		{ "fa7f800000", ERR_CBOR, "inf as single" },
		{ "fb7ff0000000000000", ERR_CBOR, "inf as double" },
		{ "fa00000000", ERR_CBOR, "0 as single" },
		{ "f97e01", ERR_CBOR, "NaN payload" },
		{ "f9fe00", ERR_CBOR, "negative NaN" },
		{ "f97c01", ERR_CBOR, "signalling NaN" },
		{ "fa7fc00000", ERR_CBOR, "single NaN" },
		{ "fb7ff8000000000000", ERR_CBOR, "double NaN" },
		/* invalid UTF-8 */
		{ "62c328", ERR_CBOR, "bad continuation" },
		{ "62c0af", ERR_CBOR, "overlong 2" },
		{ "63e08080", ERR_CBOR, "overlong 3" },
		{ "64f0808080", ERR_CBOR, "overlong 4" },
		{ "63eda080", ERR_CBOR, "surrogate" },
		{ "64f4900000", ERR_CBOR, "above U+10FFFF" },
		{ "6180", ERR_CBOR, "lone continuation" },
		{ "61ff", ERR_CBOR, "0xff" },
		{ "62e282", ERR_CBOR, "cut sequence" },
		/* simple values */
		{ "e0", ERR_CBOR, "simple 0" },
		{ "f0", ERR_CBOR, "simple 16" },
		{ "f7", ERR_CBOR, "undefined" },
		{ "f818", ERR_CBOR, "simple 24 in 1 byte" },
		{ "f820", ERR_CBOR, "simple 32" },
		/* reserved additional information */
		{ "1c", ERR_CBOR, "ai 28" }, { "1d", ERR_CBOR, "ai 29" },
		{ "1e", ERR_CBOR, "ai 30" }, { "3c", ERR_CBOR, "negint 28" },
		{ "5d", ERR_CBOR, "bytes 29" }, { "7e", ERR_CBOR, "text 30" },
		{ "9c", ERR_CBOR, "array 28" }, { "bd", ERR_CBOR, "map 29" },
		{ "de", ERR_CBOR, "tag 30" }, { "fc", ERR_CBOR, "simple 28" },
		/* truncation */
		{ "", ERR_TRUNCATED, "empty" },
		{ "19", ERR_TRUNCATED, "head cut" },
		{ "1b000000", ERR_TRUNCATED, "head cut 8" },
		{ "6261", ERR_TRUNCATED, "text cut" },
		{ "5affffffff00", ERR_TRUNCATED, "huge length" },
		{ "5bffffffffffffffff00", ERR_TRUNCATED, "length beyond size_t" },
		{ "9bffffffffffffffff00", ERR_TRUNCATED, "huge array" },
		{ "bbffffffffffffffff00", ERR_TRUNCATED, "huge map" },
		{ "820102" "03", ERR_TRAILING, "trailing" },
		{ "8301", ERR_TRUNCATED, "array short" },
		{ "c1", ERR_TRUNCATED, "tag without content" },
		{ "f9", ERR_TRUNCATED, "half cut" },
		/* map key order (skip/validate only) */
		{ "a202000100", ERR_CBOR, "unsorted keys" },
		{ "a201000100", ERR_CBOR, "duplicate keys" },
		{ "a2626161006162" "00", ERR_CBOR, "longer key first" },
		{ "a2810100800000", ERR_CBOR, "array key after bigger" },
	};
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		ck_assert_msg(validate_hex(t[i].hex, 8) == t[i].err,
		    "%s (%s): got %d", t[i].why, t[i].hex,
		    validate_hex(t[i].hex, 8));
	/* the same with dcbor_get_item, for the single-head cases */
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct dcbor_item it;
		struct buf *b;
		size_t n;
		uint8_t *p;

		if (t[i].err != ERR_CBOR || t[i].hex[0] == 'a')
			continue;
		p = test_unhex(t[i].hex, &n);
		b = buf_from(p, n);
		ck_assert_msg(dcbor_get_item(b, &it) == ERR_CBOR, "%s", t[i].why);
		ck_assert(it.type == 0 && it.u == 0 && it.p == NULL);
		buf_free(b);
		free(p);
	}
	/* sorted maps, including the shorter-first rule, are accepted */
	ck_assert_int_eq(validate_hex("a2616200626161" "00", 8), 0);
	ck_assert_int_eq(validate_hex("a201000200", 8), 0);
	ck_assert_int_eq(validate_hex("a2008001f6", 8), 0);
}
END_TEST

/*
 * Every head of one or two bytes of major types 0 to 6, read from the
 * rules themselves rather than from the decoder: a number, length, count
 * or tag below 24 is the head byte alone; 24 to 255 takes one more byte,
 * and one below 24 there is not the shortest form. A string's bytes
 * follow the head and are consumed with it (the second byte, then 'a's;
 * text must be UTF-8).
 */
START_TEST(test_all_short_heads)
{
	uint8_t in[2 + 256];
	struct dcbor_item it;
	struct buf *b;
	unsigned b0, b1, major, ai;
	size_t head, want_u, used;
	int r;

	memset(in, 'a', sizeof(in));
	for (b0 = 0; b0 < 0xe0; b0++) {
		major = b0 >> 5;
		ai = b0 & 0x1f;
		if (ai > 24)
			continue;	/* wider heads: test_rfc_* and test_rejects */
		for (b1 = 0; b1 < 256; b1++) {
			in[0] = (uint8_t)b0;
			in[1] = (uint8_t)b1;
			b = buf_from(in, sizeof(in));
			ck_assert_ptr_nonnull(b);
			r = dcbor_get_item(b, &it);
			/* not shortest; or text whose first byte is b1,
			 * which above 0x7f cannot start UTF-8 before 'a' */
			if ((ai == 24 && b1 < 24) ||
			    (major == 3 && ai > 0 && ai < 24 && b1 > 0x7f)) {
				ck_assert_msg(r == ERR_CBOR, "%02x %02x: %d",
				    b0, b1, r);
				if (ai == 24)	/* refused at the head */
					ck_assert_int_eq(buf_len(b), sizeof(in));
				buf_free(b);
				continue;
			}
			head = ai < 24 ? 1 : 2;
			want_u = ai < 24 ? ai : b1;
			ck_assert_msg(r == 0, "%02x %02x: %d", b0, b1, r);
			ck_assert_int_eq(it.type, (int)major);
			ck_assert_uint_eq(it.u, want_u);
			used = sizeof(in) - buf_len(b);
			if (major == 2 || major == 3) {
				ck_assert_uint_eq(it.len, want_u);
				ck_assert_ptr_eq(it.p, in + head);
				ck_assert_uint_eq(used, head + want_u);
			} else
				ck_assert_uint_eq(used, head);
			buf_free(b);
		}
	}
	/* a two-byte head cut after its first byte */
	in[0] = 0x18;
	b = buf_from(in, 1);
	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(dcbor_get_item(b, &it), ERR_TRUNCATED);
	buf_free(b);
}
END_TEST

/* RFC 3629's table of well-formed byte sequences, as plainly as it reads:
 * the reference dcbor_utf8_valid is held to. */
static int
ref_utf8(const uint8_t *p, size_t len)
{
	size_t i = 0, n, k;
	uint8_t lo, hi;

	while (i < len) {
		uint8_t b = p[i];

		lo = 0x80;
		hi = 0xbf;
		if (b <= 0x7f) {
			i++;
			continue;
		} else if (b >= 0xc2 && b <= 0xdf)
			n = 1;
		else if (b == 0xe0) {
			n = 2;
			lo = 0xa0;
		} else if ((b >= 0xe1 && b <= 0xec) || b == 0xee || b == 0xef)
			n = 2;
		else if (b == 0xed) {
			n = 2;
			hi = 0x9f;
		} else if (b == 0xf0) {
			n = 3;
			lo = 0x90;
		} else if (b >= 0xf1 && b <= 0xf3)
			n = 3;
		else if (b == 0xf4) {
			n = 3;
			hi = 0x8f;
		} else
			return 0;
		if (len - i - 1 < n)
			return 0;
		if (p[i + 1] < lo || p[i + 1] > hi)
			return 0;
		for (k = 2; k <= n; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xbf)
				return 0;
		i += n + 1;
	}
	return 1;
}

/* dcbor_utf8_valid against the table: every string of one or two bytes,
 * of three led by 0x70 or above, every four-byte sequence led by F0-F4
 * (bytes 0x70-0xcf after it), and random mixes of ASCII runs and
 * characters (valid or one byte wrong) at every alignment. */
START_TEST(test_utf8_table)
{
	uint8_t s[240], ch[4];
	uint64_t x = 0x9e3779b97f4a7c15ULL;
	unsigned a, b, c, d, off, len, cl, round, most, run;
	size_t i;

	for (a = 0; a < 256; a++) {
		s[0] = (uint8_t)a;
		ck_assert_int_eq(dcbor_utf8_valid(s, 1), ref_utf8(s, 1));
		for (b = 0; b < 256; b++) {
			s[1] = (uint8_t)b;
			ck_assert_int_eq(dcbor_utf8_valid(s, 2),
			    ref_utf8(s, 2));
			/* three bytes: led by 0x70 and up (below, the
			 * first byte is ASCII and the rest is the case
			 * of two) */
			for (c = 0; a >= 0x70 && c < 256; c++) {
				s[2] = (uint8_t)c;
				if (dcbor_utf8_valid(s, 3) != ref_utf8(s, 3))
					ck_abort_msg("%02x %02x %02x", a, b, c);
			}
		}
	}
	for (a = 0xf0; a <= 0xf4; a++)
		for (b = 0x70; b < 0xd0; b++)
			for (c = 0x70; c < 0xd0; c++)
				for (d = 0x70; d < 0xd0; d++) {
					s[0] = (uint8_t)a;
					s[1] = (uint8_t)b;
					s[2] = (uint8_t)c;
					s[3] = (uint8_t)d;
					if (dcbor_utf8_valid(s, 4) !=
					    ref_utf8(s, 4))
						ck_abort_msg("%02x %02x %02x "
						    "%02x", a, b, c, d);
				}
	for (round = 0; round < 200000; round++) {
		off = round % 8;
		len = 0;
		/* one round in four long, with long ASCII runs (the
		 * validator takes 32 bytes at a time there) */
		most = round % 4 == 0 ? 220 : 60;
		run = round % 4 == 0 ? 80 : 11;
		while (len < most) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			if (x % 3 != 0) {	/* an ASCII run */
				for (i = 0; i < x % run && len < most; i++)
					s[off + len++] = (uint8_t)(0x20 +
					    (x >> 8) % 95);
				continue;
			}
			/* a character of 2 to 4 bytes: 0x80 + a code
			 * point's bits, perhaps one byte made wrong */
			cl = 2 + (unsigned)((x >> 5) % 3);
			ch[0] = cl == 2 ? 0xc2 + (uint8_t)((x >> 9) % 30) :
			    cl == 3 ? 0xe0 + (uint8_t)((x >> 9) % 16) :
			    0xf0 + (uint8_t)((x >> 9) % 5);
			for (i = 1; i < cl; i++)
				ch[i] = 0x80 + (uint8_t)((x >> (14 + 6 * i)) %
				    64);
			if ((x >> 40) % 7 == 0)
				ch[(x >> 44) % cl] = (uint8_t)(x >> 48);
			for (i = 0; i < cl && len < most; i++)
				s[off + len++] = ch[i];
		}
		for (i = 0; i <= len; i += 1 + (round % 5))
			if (dcbor_utf8_valid(s + off, i) !=
			    ref_utf8(s + off, i))
				ck_abort_msg("round %u, %zu bytes", round, i);
	}
}
END_TEST

START_TEST(test_skip_depth)
{
	static const uint8_t nest[] = { 0x81, 0x81, 0xc1, 0x81, 0x00, 0x07 };
	struct buf *b = buf_from(nest, sizeof(nest));
	struct dcbor_item it;

	ck_assert_int_eq(dcbor_skip(b, 3), ERR_LIMIT);
	ck_assert_int_eq(buf_len(b), sizeof(nest));	/* nothing consumed */
	ck_assert_int_eq(dcbor_skip(b, DCBOR_MAX_DEPTH + 1), ERR_INVALID);
	ck_assert_int_eq(dcbor_skip(b, 4), 0);
	ck_assert_int_eq(buf_len(b), 1);
	ck_assert_int_eq(dcbor_get_item(b, &it), 0);
	ck_assert_int_eq(it.type, DCBOR_UINT);
	ck_assert(it.u == 7);
	ck_assert_int_eq(dcbor_skip(b, 0), ERR_TRUNCATED);
	buf_free(b);
	ck_assert_int_eq(validate_hex("00", 0), 0);
	ck_assert_int_eq(validate_hex("80", 0), ERR_LIMIT);
	ck_assert_int_eq(validate_hex("80", 1), 0);
}
END_TEST

START_TEST(test_put_failures)
{
	struct buf *b = buf_new(4);

	ck_assert_int_eq(dcbor_put_text(b, "\xc0\xaf", 2), ERR_CBOR);
	ck_assert_int_eq(dcbor_put_text(b, "\xed\xa0\x80", 3), ERR_CBOR);
	ck_assert_int_eq(buf_len(b), 0);
	ck_assert_int_eq(dcbor_put_text(b, "abcd", 4), ERR_LIMIT);
	ck_assert_int_eq(buf_len(b), 0);	/* head not left behind */
	ck_assert_int_eq(dcbor_put_bytes(b, "abc", 3), 0);
	ck_assert_int_eq(dcbor_put_float(b, 1.1), ERR_LIMIT);
	ck_assert_int_eq(buf_len(b), 4);
	buf_free(b);
}
END_TEST

START_TEST(test_round_trip)
{
	struct buf *b = buf_new(1 << 16);
	const uint8_t *p;
	struct dcbor_item it;
	uint64_t n;
	int64_t v;
	double d;
	size_t len;

	ck_assert_int_eq(dcbor_put_map(b, 3), 0);
	ck_assert_int_eq(dcbor_put_text(b, "id", 2), 0);
	ck_assert_int_eq(dcbor_put_int(b, -123456789), 0);
	ck_assert_int_eq(dcbor_put_text(b, "rows", 4), 0);
	ck_assert_int_eq(dcbor_put_array(b, 3), 0);
	ck_assert_int_eq(dcbor_put_bytes(b, "\0\1", 2), 0);
	ck_assert_int_eq(dcbor_put_float(b, -2.5), 0);
	ck_assert_int_eq(dcbor_put_tag(b, 37), 0);
	ck_assert_int_eq(dcbor_put_bytes(b, "0123456789abcdef", 16), 0);
	ck_assert_int_eq(dcbor_put_text(b, "tenant", 6), 0);
	ck_assert_int_eq(dcbor_put_text(b, "\xe2\x9c\x93", 3), 0);
	ck_assert_int_eq(dcbor_validate(buf_ptr(b), buf_len(b), 3), 0);
	ck_assert_int_eq(dcbor_validate(buf_ptr(b), buf_len(b), 2), ERR_LIMIT);

	ck_assert_int_eq(dcbor_get_map(b, &n), 0);
	ck_assert(n == 3);
	ck_assert_int_eq(dcbor_get_key(b, "id"), 0);
	ck_assert_int_eq(dcbor_get_text(b, &p, &len), ERR_CBOR);
	ck_assert_int_eq(dcbor_get_int(b, &v), 0);
	ck_assert(v == -123456789);
	ck_assert_int_eq(dcbor_get_key(b, "rows"), 0);
	ck_assert_int_eq(dcbor_get_array(b, &n), 0);
	ck_assert(n == 3);
	ck_assert_int_eq(dcbor_get_bytes(b, &p, &len), 0);
	ck_assert_int_eq(len, 2);
	ck_assert_int_eq(dcbor_get_float(b, &d), 0);
	ck_assert(d == -2.5);
	ck_assert_int_eq(dcbor_get_item(b, &it), 0);
	ck_assert_int_eq(it.type, DCBOR_TAG);
	ck_assert(it.u == 37);
	ck_assert_int_eq(dcbor_get_item(b, &it), 0);
	ck_assert_int_eq(it.type, DCBOR_BYTES);
	ck_assert_int_eq(it.len, 16);
	ck_assert(memcmp(it.p, "0123456789abcdef", 16) == 0);
	ck_assert_int_eq(dcbor_skip(b, 0), 0);	/* "tenant" */
	ck_assert_int_eq(dcbor_get_text(b, &p, &len), 0);
	ck_assert_int_eq(len, 3);
	ck_assert_int_eq(buf_expect_end(b), 0);
	buf_free(b);
}
END_TEST

/* The heads are written inline (format/dcbor.c); libcbor's encoder is the
 * reference: the same bytes for every major type at every width boundary
 * and on random arguments of every width. */
static void
head_agrees(uint64_t v)
{
	unsigned char want[9];
	struct buf *b = buf_new(64);
	size_t n;
	int neg;

	for (neg = 0; neg < 2; neg++) {
		buf_reset(b);
		if (neg) {
			if (v > (uint64_t)INT64_MAX)
				continue;
			n = cbor_encode_negint(v, want, sizeof(want));
			ck_assert_int_eq(dcbor_put_int(b, -1 - (int64_t)v), 0);
		} else {
			n = cbor_encode_uint(v, want, sizeof(want));
			ck_assert_int_eq(dcbor_put_uint(b, v), 0);
		}
		ck_assert_msg(n > 0 && buf_len(b) == n &&
		    memcmp(buf_ptr(b), want, n) == 0,
		    "integer head of %llu (negative %d) differs from libcbor's",
		    (unsigned long long)v, neg);
	}
	buf_reset(b);
	n = cbor_encode_array_start((size_t)v, want, sizeof(want));
	ck_assert_int_eq(dcbor_put_array(b, v), 0);
	ck_assert(buf_len(b) == n && memcmp(buf_ptr(b), want, n) == 0);
	buf_reset(b);
	n = cbor_encode_map_start((size_t)v, want, sizeof(want));
	ck_assert_int_eq(dcbor_put_map(b, v), 0);
	ck_assert(buf_len(b) == n && memcmp(buf_ptr(b), want, n) == 0);
	buf_reset(b);
	n = cbor_encode_tag(v, want, sizeof(want));
	ck_assert_int_eq(dcbor_put_tag(b, v), 0);
	ck_assert(buf_len(b) == n && memcmp(buf_ptr(b), want, n) == 0);
	buf_free(b);
}

START_TEST(test_heads_match_libcbor)
{
	static const uint64_t edge[] = { 0, 1, 23, 24, 25, 0xff, 0x100, 0xffff,
	    0x10000, 0xffffffffULL, 0x100000000ULL, INT64_MAX,
	    (uint64_t)INT64_MAX + 1, UINT64_MAX };
	unsigned char want[9];
	struct buf *b = buf_new(1 << 17);
	static uint8_t bytes[70000];
	size_t i, n, len;
	uint64_t v;
	int bits;

	for (i = 0; i < sizeof(edge) / sizeof(edge[0]); i++) {
		head_agrees(edge[i]);
		head_agrees(edge[i] - 1);
	}
	srandom(7);
	for (i = 0; i < 20000; i++) {
		v = ((uint64_t)random() << 33) ^ ((uint64_t)random() << 2) ^
		    (uint64_t)random();
		bits = (int)(i % 64) + 1;
		head_agrees(bits == 64 ? v : v & ((1ULL << bits) - 1));
	}
	/* string heads: lengths across every width a buffer can hold */
	memset(bytes, 'a', sizeof(bytes));
	for (len = 0; len < sizeof(bytes); len += len < 300 ? 1 : 997) {
		buf_reset(b);
		ck_assert_int_eq(dcbor_put_text(b, (const char *)bytes, len), 0);
		n = cbor_encode_string_start(len, want, sizeof(want));
		ck_assert(buf_len(b) == n + len &&
		    memcmp(buf_ptr(b), want, n) == 0);
		buf_reset(b);
		ck_assert_int_eq(dcbor_put_bytes(b, bytes, len), 0);
		n = cbor_encode_bytestring_start(len, want, sizeof(want));
		ck_assert(buf_len(b) == n + len &&
		    memcmp(buf_ptr(b), want, n) == 0);
	}
	buf_reset(b);
	ck_assert_int_eq(dcbor_put_bool(b, 1), 0);
	ck_assert_int_eq(dcbor_put_bool(b, 0), 0);
	ck_assert_int_eq(dcbor_put_null(b), 0);
	ck_assert(buf_len(b) == 3 && memcmp(buf_ptr(b), "\xf5\xf4\xf6", 3) == 0);
	buf_free(b);
}
END_TEST

static Suite *
dcbor_suite(void)
{
	Suite *s = suite_create("dcbor");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_rfc_ints);
	tcase_add_test(tc, test_rfc_floats);
	tcase_add_test(tc, test_all_halves);
	tcase_add_test(tc, test_float_sweep);
	tcase_add_test(tc, test_rfc_strings);
	tcase_add_test(tc, test_rfc_containers);
	tcase_add_test(tc, test_rejects);
	tcase_add_test(tc, test_all_short_heads);
	tcase_add_test(tc, test_utf8_table);
	tcase_add_test(tc, test_skip_depth);
	tcase_add_test(tc, test_put_failures);
	tcase_add_test(tc, test_round_trip);
	tcase_add_test(tc, test_heads_match_libcbor);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(dcbor_suite());
}
