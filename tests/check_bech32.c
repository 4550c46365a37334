/*
 * check_bech32.c: Bech32 against the BIP173 test strings, plus the age
 * differences (no length limit, byte conversion with canonical padding).
 */
#include <string.h>

#include "bech32.h"
#include "err.h"
#include "testutil.h"

START_TEST(test_bip173_valid)
{
	static const char *valid[] = {
		"A12UEL5L",
		"a12uel5l",
		"an83characterlonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1tt5tgs",
		"abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw",
		"11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
		"split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w",
		"?1ezyfcl",
	};
	char hrp[128];
	uint8_t v[128];
	size_t i, n, sep;

	for (i = 0; i < sizeof(valid) / sizeof(valid[0]); i++) {
		ck_assert_msg(bech32_decode_values(valid[i], strlen(valid[i]),
		    hrp, sizeof(hrp), v, sizeof(v), &n) == 0,
		    "valid string %zu rejected", i);
		sep = strrchr(valid[i], '1') - valid[i];
		ck_assert_uint_eq(strlen(hrp), sep);
		ck_assert(memcmp(hrp, valid[i], sep) == 0);	/* case kept */
		ck_assert_uint_eq(n, strlen(valid[i]) - sep - 1 - 6);
	}
}
END_TEST

START_TEST(test_bip173_invalid)
{
	static const char *invalid[] = {
		"\x20" "1nwldj5",	/* HRP character out of range */
		"\x7f" "1axkwrx",
		"\x80" "1eym55h",
		"pzry9x0s0muk",		/* no separator */
		"1pzry9x0s0muk",	/* empty HRP */
		"x1b4n0q5v",		/* invalid data character */
		"li1dgmt3",		/* too short checksum */
		"de1lg7wt\xff",		/* invalid character in checksum */
		"A1G7SGD8",		/* checksum over uppercase HRP */
		"10a06t8",		/* empty HRP */
		"1qzzfhee",		/* empty HRP */
		"A12UEL5l",		/* mixed case */
	};
	char hrp[128];
	uint8_t v[128];
	size_t i, n = 99;

	for (i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		ck_assert_msg(bech32_decode_values(invalid[i],
		    strlen(invalid[i]), hrp, sizeof(hrp), v, sizeof(v), &n) ==
		    ERR_BECH32, "invalid string %zu accepted", i);
		ck_assert_uint_eq(n, 0);
	}
}
END_TEST

/* BIP173 caps strings at 90 characters; age does not. This BIP173
 * "overall max length exceeded" string has a valid checksum, so it must
 * decode here. */
START_TEST(test_no_length_limit)
{
	static const char *s =
	    "an84characterslonghumanreadablepartthatcontainsthenumber1andtheexcludedcharactersbio1569pvx";
	char hrp[128];
	uint8_t v[128], data[2000], back[2000];
	char enc[4000];
	size_t n, i;

	ck_assert_int_eq(bech32_decode_values(s, strlen(s), hrp, sizeof(hrp),
	    v, sizeof(v), &n), 0);
	for (i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)(i * 7);
	ck_assert_int_eq(bech32_encode(enc, sizeof(enc), "age", data,
	    sizeof(data), 0), 0);
	ck_assert_uint_eq(strlen(enc), bech32_encoded_len(3, sizeof(data)));
	ck_assert_int_eq(bech32_decode(enc, strlen(enc), hrp, sizeof(hrp),
	    back, sizeof(back), &n), 0);
	ck_assert_uint_eq(n, sizeof(data));
	ck_assert(memcmp(back, data, n) == 0);
	/* Output buffer too small. */
	ck_assert_int_eq(bech32_decode(enc, strlen(enc), hrp, sizeof(hrp),
	    back, 100, &n), ERR_LIMIT);
	ck_assert_int_eq(bech32_encode(enc, 10, "age", data, 5, 0), ERR_LIMIT);
}
END_TEST

START_TEST(test_bytes_roundtrip)
{
	static const char *spec_rc =
	    "age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj";
	char hrp[16], enc[128], up[128];
	uint8_t d[40], back[40];
	size_t len, n, i;

	for (len = 0; len <= sizeof(d); len++) {
		for (i = 0; i < len; i++)
			d[i] = (uint8_t)(0xa5 ^ (i * 13));
		ck_assert_int_eq(bech32_encode(enc, sizeof(enc), "age", d, len,
		    0), 0);
		ck_assert_int_eq(bech32_decode(enc, strlen(enc), hrp,
		    sizeof(hrp), back, sizeof(back), &n), 0);
		ck_assert_uint_eq(n, len);
		ck_assert(memcmp(back, d, len) == 0);
		ck_assert_str_eq(hrp, "age");
		/* Uppercase form decodes the same, HRP keeps its case. */
		ck_assert_int_eq(bech32_encode(up, sizeof(up), "age", d, len,
		    1), 0);
		for (i = 0; enc[i] != '\0'; i++)
			ck_assert_int_eq(up[i], enc[i] >= 'a' && enc[i] <= 'z' ?
			    enc[i] - 32 : enc[i]);
		ck_assert_int_eq(bech32_decode(up, strlen(up), hrp,
		    sizeof(hrp), back, sizeof(back), &n), 0);
		ck_assert_str_eq(hrp, "AGE");
	}
	ck_assert_int_eq(bech32_decode(spec_rc, strlen(spec_rc), hrp,
	    sizeof(hrp), back, sizeof(back), &n), 0);
	ck_assert_uint_eq(n, 32);
	/* Mixed-case and bad HRPs refuse to encode. */
	ck_assert_int_eq(bech32_encode(enc, sizeof(enc), "Age", d, 1, 0),
	    ERR_INVALID);
	ck_assert_int_eq(bech32_encode(enc, sizeof(enc), "", d, 1, 0),
	    ERR_INVALID);
	ck_assert_int_eq(bech32_encode(enc, sizeof(enc), "a b", d, 1, 0),
	    ERR_INVALID);
}
END_TEST

/* Valid checksums over data whose 5-to-8 bit padding is not canonical
 * (strings built with a reference checksum implementation). */
START_TEST(test_noncanonical_padding)
{
	char hrp[16];
	uint8_t back[64];
	size_t n;

	/* Values [0, 1]: one byte, then 2 leftover bits "01": not zero. */
	ck_assert_int_eq(bech32_decode("a1qpamnt9j", 10, hrp, sizeof(hrp),
	    back, sizeof(back), &n), ERR_BECH32);
	/* Values [0]: 5 leftover bits, more than padding may be. */
	ck_assert_int_eq(bech32_decode("a1q3g6mn3", 9, hrp, sizeof(hrp),
	    back, sizeof(back), &n), ERR_BECH32);
	/* Values [0, 0]: one zero byte and 2 zero bits: canonical. */
	ck_assert_int_eq(bech32_decode("a1qqqd87cq", 10, hrp, sizeof(hrp),
	    back, sizeof(back), &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(back[0], 0);
	/* BIP173 vectors as bytes: 82 zero values = 51 bytes + 2 zero bits;
	 * 48 values = 30 bytes exactly; 32 values = 20 bytes. */
	ck_assert_int_eq(bech32_decode("11qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqc8247j",
	    90, hrp, sizeof(hrp), back, sizeof(back), &n), 0);
	ck_assert_uint_eq(n, 51);
	ck_assert_int_eq(bech32_decode(
	    "split1checkupstagehandshakeupstreamerranterredcaperred2y9e3w", 60,
	    hrp, sizeof(hrp), back, sizeof(back), &n), 0);
	ck_assert_uint_eq(n, 30);
	ck_assert_int_eq(bech32_decode(
	    "abcdef1qpzry9x8gf2tvdw0s3jn54khce6mua7lmqqqxw", 45, hrp,
	    sizeof(hrp), back, sizeof(back), &n), 0);
	ck_assert_uint_eq(n, 20);
	ck_assert_int_eq(back[0], 0x00);
	ck_assert_int_eq(back[1], 0x44);
}
END_TEST

static Suite *
bech32_suite(void)
{
	Suite *s = suite_create("bech32");
	TCase *tc = tcase_create("bech32");

	tcase_add_test(tc, test_bip173_valid);
	tcase_add_test(tc, test_bip173_invalid);
	tcase_add_test(tc, test_no_length_limit);
	tcase_add_test(tc, test_bytes_roundtrip);
	tcase_add_test(tc, test_noncanonical_padding);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(bech32_suite());
}
