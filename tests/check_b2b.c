/*
 * format/b2b.c, the archive's BLAKE2b: RFC 7693's own example, the
 * empty-message digest, and differentially against libsodium on random
 * inputs of every length 0..3000, keyed (16, 32, 64-byte keys) and
 * unkeyed, at digest lengths 16, 32 and 64, in one call and fed in random
 * pieces; and a copied prefix state hashing like a fresh one.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "b2b.h"
#include "testutil.h"

static void
hex_eq(const uint8_t *p, size_t n, const char *want)
{
	char hex[2 * BLAKE2B_OUT_MAX + 1];

	sodium_bin2hex(hex, sizeof(hex), p, n);
	ck_assert_str_eq(hex, want);
}

/* RFC 7693 Appendix A: BLAKE2b-512("abc"). */
START_TEST(test_rfc7693)
{
	uint8_t out[64];

	ck_assert_int_eq(b2b_hash(out, 64, "abc", 3, NULL, 0), 0);
	hex_eq(out, 64, "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12"
	    "bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab923"
	    "86edd4009923");
	ck_assert_int_eq(b2b_hash(out, 64, "", 0, NULL, 0), 0);
	hex_eq(out, 64, "786a02f742015903c6c6fd852552d272912f4740e15847618a86"
	    "e217f71f5419d25e1031afee585313896444934eb04b903a685b1448b755d56f"
	    "701afe9be2ce");
}
END_TEST

START_TEST(test_bad_lengths)
{
	struct b2b s;
	uint8_t key[65] = { 0 };

	ck_assert_int_eq(b2b_init(&s, 0, NULL, 0), -1);
	ck_assert_int_eq(b2b_init(&s, 65, NULL, 0), -1);
	ck_assert_int_eq(b2b_init(&s, 32, key, 65), -1);
	ck_assert_int_eq(b2b_init(&s, 32, NULL, 16), -1);
	ck_assert_int_eq(b2b_init(&s, 1, key, 64), 0);
}
END_TEST

#define MAXLEN	3000

/* Every length, every key size, every digest size, against libsodium. */
START_TEST(test_against_libsodium)
{
	static const size_t keys[] = { 0, 16, 32, 64 }, outs[] = { 16, 32, 64 };
	uint8_t *msg = malloc(MAXLEN), key[64], a[64], b[64];
	size_t len, k, o, off, piece;
	struct b2b s;

	ck_assert_ptr_nonnull(msg);
	randombytes_buf(msg, MAXLEN);
	randombytes_buf(key, sizeof(key));
	for (len = 0; len <= MAXLEN; len++)
		for (k = 0; k < 4; k++)
			for (o = 0; o < 3; o++) {
				ck_assert_int_eq(crypto_generichash(a, outs[o], msg,
				    len, keys[k] ? key : NULL, keys[k]), 0);
				ck_assert_int_eq(b2b_hash(b, outs[o], msg, len,
				    key, keys[k]), 0);
				ck_assert_msg(memcmp(a, b, outs[o]) == 0,
				    "len %zu key %zu out %zu", len, keys[k],
				    outs[o]);
				/* the same message in random pieces */
				ck_assert_int_eq(b2b_init(&s, outs[o], key,
				    keys[k]), 0);
				for (off = 0; off < len; off += piece) {
					piece = randombytes_uniform(300);
					if (piece > len - off)
						piece = len - off;
					b2b_update(&s, msg + off, piece);
				}
				b2b_final(&s, b);
				ck_assert_msg(memcmp(a, b, outs[o]) == 0,
				    "pieces: len %zu key %zu out %zu", len,
				    keys[k], outs[o]);
			}
	free(msg);
}
END_TEST

/* The evidence's use: a keyed prefix state, copied per message. */
START_TEST(test_copied_prefix)
{
	uint8_t salt[32], msg[700], a[32], b[32];
	struct b2b base, s;
	crypto_generichash_state st;
	size_t len;

	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(msg, sizeof(msg));
	ck_assert_int_eq(b2b_init(&base, 32, salt, 32), 0);
	b2b_update(&base, "texp record v1", 15);
	for (len = 0; len < sizeof(msg); len++) {
		s = base;
		b2b_update(&s, msg, len);
		b2b_final(&s, b);
		crypto_generichash_init(&st, salt, 32, 32);
		crypto_generichash_update(&st, (const uint8_t *)"texp record v1",
		    15);
		crypto_generichash_update(&st, msg, len);
		crypto_generichash_final(&st, a, 32);
		ck_assert_msg(memcmp(a, b, 32) == 0, "len %zu", len);
	}
}
END_TEST

static Suite *
b2b_suite(void)
{
	Suite *s = suite_create("b2b");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_rfc7693);
	tcase_add_test(tc, test_bad_lengths);
	tcase_add_test(tc, test_against_libsodium);
	tcase_add_test(tc, test_copied_prefix);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	return test_run_suite(b2b_suite());
}
