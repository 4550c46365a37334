/*
 * format/sha256.c, SHA-256 on libcrypto, against the FIPS 180-2 example
 * digests and libsodium's crypto_hash_sha256: the same digest for random
 * inputs of every length 0..4096, and for every split of a 300-byte input
 * into the two parts of sha256_pair.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "sha256.h"
#include "testutil.h"

#define LONG_MAX_LEN	4096

static void
hex_is(const uint8_t d[SHA256_LEN], const char *want)
{
	char hex[2 * SHA256_LEN + 1];

	sodium_bin2hex(hex, sizeof(hex), d, SHA256_LEN);
	ck_assert_str_eq(hex, want);
}

START_TEST(test_vectors)
{
	static const char two_blocks[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	uint8_t d[SHA256_LEN], *m;

	ck_assert_int_eq(sha256(d, "abc", 3), 0);
	hex_is(d, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
	ck_assert_int_eq(sha256(d, two_blocks, strlen(two_blocks)), 0);
	hex_is(d, "248d6a61d20638b8e5c026930c3e6039"
	    "a33ce45964ff2167f6ecedd419db06c1");
	ck_assert_int_eq(sha256(d, "", 0), 0);
	hex_is(d, "e3b0c44298fc1c149afbf4c8996fb924"
	    "27ae41e4649b934ca495991b7852b855");
	/* one million times 'a' */
	ck_assert((m = malloc(1000000)) != NULL);
	memset(m, 'a', 1000000);
	ck_assert_int_eq(sha256(d, m, 1000000), 0);
	hex_is(d, "cdc76e5c9914fb9281a1c7e284d73e67"
	    "f1809a48a497200e046d39ccc7112cd0");
	free(m);
}
END_TEST

START_TEST(test_against_libsodium)
{
	uint8_t ours[SHA256_LEN], theirs[SHA256_LEN], *msg;
	size_t len;

	ck_assert((msg = malloc(LONG_MAX_LEN)) != NULL);
	for (len = 0; len <= LONG_MAX_LEN; len++) {
		randombytes_buf(msg, len);
		ck_assert_int_eq(sha256(ours, msg, len), 0);
		crypto_hash_sha256(theirs, msg, len);
		ck_assert_msg(memcmp(ours, theirs, SHA256_LEN) == 0,
		    "len %zu: the digest differs from libsodium's", len);
	}
	free(msg);
}
END_TEST

START_TEST(test_pair_splits)
{
	uint8_t msg[300], ours[SHA256_LEN], theirs[SHA256_LEN];
	size_t at;

	randombytes_buf(msg, sizeof(msg));
	crypto_hash_sha256(theirs, msg, sizeof(msg));
	for (at = 0; at <= sizeof(msg); at++) {
		ck_assert_int_eq(sha256_pair(ours, msg, at, msg + at,
		    sizeof(msg) - at), 0);
		ck_assert_msg(memcmp(ours, theirs, SHA256_LEN) == 0,
		    "split at %zu: the digest differs", at);
	}
}
END_TEST

static Suite *
sha256_suite(void)
{
	Suite *s = suite_create("sha256");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_vectors);
	tcase_add_test(tc, test_against_libsodium);
	tcase_add_test(tc, test_pair_splits);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	return test_run_suite(sha256_suite());
}
