/*
 * format/aead.c, the payload's ChaCha20-Poly1305 on libcrypto, against
 * libsodium's: the same ciphertext and tag for random keys, nonces and
 * messages of every length 0..1100 and the payload's chunk sizes; each
 * opens what the other sealed; a flipped bit anywhere, another nonce,
 * another key or a cut tag is refused and leaves no plaintext behind; one
 * context serves many messages, before and after a refusal.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "aead.h"
#include "err.h"
#include "testutil.h"

#define SHORT_MAX	1100

static const size_t chunk_lens[] = { 4095, 4096, 65535, 65536 };

/* seal with both, compare, open each other's */
static void
both_ways(struct aead *a, const uint8_t key[32], const uint8_t *msg,
    size_t len, uint8_t *ours, uint8_t *theirs, uint8_t *back)
{
	uint8_t nonce[AEAD_NONCE_LEN];
	unsigned long long clen = 0;

	randombytes_buf(nonce, sizeof(nonce));
	ck_assert_int_eq(aead_seal(a, nonce, msg, len, ours), 0);
	ck_assert_int_eq(crypto_aead_chacha20poly1305_ietf_encrypt(theirs,
	    &clen, msg, len, NULL, 0, NULL, nonce, key), 0);
	ck_assert_uint_eq(clen, len + AEAD_TAG_LEN);
	ck_assert_msg(memcmp(ours, theirs, len + AEAD_TAG_LEN) == 0,
	    "len %zu: the sealed bytes differ from libsodium's", len);
	memset(back, 0xa5, len + 1);
	ck_assert_int_eq(aead_open(a, nonce, theirs, len + AEAD_TAG_LEN,
	    back), 0);
	ck_assert(len == 0 || memcmp(back, msg, len) == 0);
	ck_assert_int_eq(back[len], 0xa5);	/* nothing past the plaintext */
	ck_assert_int_eq(crypto_aead_chacha20poly1305_ietf_decrypt(back, NULL,
	    NULL, ours, len + AEAD_TAG_LEN, NULL, 0, nonce, key), 0);
	ck_assert(len == 0 || memcmp(back, msg, len) == 0);
}

START_TEST(test_against_libsodium)
{
	uint8_t key[32], *msg, *ours, *theirs, *back;
	struct aead *a;
	size_t len, i;

	msg = malloc(65536);
	ours = malloc(65536 + AEAD_TAG_LEN);
	theirs = malloc(65536 + AEAD_TAG_LEN);
	back = malloc(65536 + 1);
	ck_assert(msg != NULL && ours != NULL && theirs != NULL &&
	    back != NULL);
	randombytes_buf(key, sizeof(key));
	ck_assert_int_eq(aead_new(key, &a), 0);
	for (len = 0; len <= SHORT_MAX; len++) {
		randombytes_buf(msg, len);
		both_ways(a, key, msg, len, ours, theirs, back);
	}
	for (i = 0; i < sizeof(chunk_lens) / sizeof(chunk_lens[0]); i++) {
		randombytes_buf(msg, chunk_lens[i]);
		both_ways(a, key, msg, chunk_lens[i], ours, theirs, back);
	}
	aead_free(a);
	free(msg);
	free(ours);
	free(theirs);
	free(back);
}
END_TEST

static int
all_zero(const uint8_t *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != 0)
			return 0;
	return 1;
}

/* Every forgery libsodium refuses, ours refuses, and the output holds no
 * byte of unauthenticated plaintext; the context then still opens. */
START_TEST(test_forgeries)
{
	uint8_t key[32], key2[32], nonce[AEAD_NONCE_LEN], nonce2[AEAD_NONCE_LEN];
	uint8_t msg[300], c[300 + AEAD_TAG_LEN], p[300];
	struct aead *a, *b;
	size_t len = sizeof(msg), bit;

	randombytes_buf(key, sizeof(key));
	memcpy(key2, key, sizeof(key));
	key2[31] ^= 0x80;
	randombytes_buf(nonce, sizeof(nonce));
	memcpy(nonce2, nonce, sizeof(nonce));
	nonce2[11] ^= 1;	/* the last-chunk flag's byte in age */
	randombytes_buf(msg, sizeof(msg));
	ck_assert_int_eq(aead_new(key, &a), 0);
	ck_assert_int_eq(aead_new(key2, &b), 0);
	ck_assert_int_eq(aead_seal(a, nonce, msg, len, c), 0);
	for (bit = 0; bit < 8 * sizeof(c); bit++) {
		c[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		ck_assert_int_ne(crypto_aead_chacha20poly1305_ietf_decrypt(p,
		    NULL, NULL, c, sizeof(c), NULL, 0, nonce, key), 0);
		memset(p, 0xa5, sizeof(p));
		ck_assert_msg(aead_open(a, nonce, c, sizeof(c), p) == -1,
		    "bit %zu flipped was accepted", bit);
		ck_assert_msg(all_zero(p, sizeof(p)), "bit %zu: plaintext "
		    "left behind", bit);
		c[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	memset(p, 0xa5, sizeof(p));
	ck_assert_int_eq(aead_open(a, nonce2, c, sizeof(c), p), -1);
	ck_assert(all_zero(p, sizeof(p)));
	memset(p, 0xa5, sizeof(p));
	ck_assert_int_eq(aead_open(b, nonce, c, sizeof(c), p), -1);
	ck_assert(all_zero(p, sizeof(p)));
	/* cut: a shorter message's tag position holds no tag */
	ck_assert_int_eq(aead_open(a, nonce, c, sizeof(c) - 1, p), -1);
	ck_assert_int_eq(aead_open(a, nonce, c, AEAD_TAG_LEN - 1, p), -1);
	ck_assert_int_eq(aead_open(a, nonce, c, 0, p), -1);
	/* after all those refusals the same context opens the real one */
	ck_assert_int_eq(aead_open(a, nonce, c, sizeof(c), p), 0);
	ck_assert(memcmp(p, msg, sizeof(msg)) == 0);
	aead_free(a);
	aead_free(b);
	aead_free(NULL);
}
END_TEST

/* An empty message is a tag alone, and that tag is authenticated. */
START_TEST(test_empty)
{
	uint8_t key[32], nonce[AEAD_NONCE_LEN] = { 0 }, c[AEAD_TAG_LEN], p[1];
	uint8_t want[AEAD_TAG_LEN];
	struct aead *a;

	randombytes_buf(key, sizeof(key));
	ck_assert_int_eq(aead_new(key, &a), 0);
	ck_assert_int_eq(aead_seal(a, nonce, NULL, 0, c), 0);
	crypto_aead_chacha20poly1305_ietf_encrypt(want, NULL, NULL, 0, NULL,
	    0, NULL, nonce, key);
	ck_assert(memcmp(c, want, sizeof(c)) == 0);
	ck_assert_int_eq(aead_open(a, nonce, c, sizeof(c), p), 0);
	c[0] ^= 1;
	ck_assert_int_eq(aead_open(a, nonce, c, sizeof(c), p), -1);
	aead_free(a);
}
END_TEST

static Suite *
aead_suite(void)
{
	Suite *s = suite_create("aead");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_against_libsodium);
	tcase_add_test(tc, test_forgeries);
	tcase_add_test(tc, test_empty);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	return test_run_suite(aead_suite());
}
