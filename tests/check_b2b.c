/*
 * format/b2b.c, the archive's BLAKE2b: RFC 7693's own example, the
 * empty-message digest, and differentially against libsodium on random
 * inputs of every length 0..3000, keyed (16, 32, 64-byte keys) and
 * unkeyed, at digest lengths 16, 32 and 64, in one call and fed in random
 * pieces; a copied prefix state hashing like a fresh one; and the four-
 * and eight-message paths (AVX-512, AVX2 and one at a time) giving the
 * same bytes.
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

/* lanes (4 or 8) one-block messages at once (the SIMD path where the
 * CPU has it, then one at a time): libsodium's bytes, for every length
 * and several digest sizes, the messages at odd and even addresses. */
static void
lanes_against_libsodium(int lanes)
{
	uint8_t msg[8][129], got[8][64], want[64];
	uint8_t *out[8];
	const uint8_t *in[8];
	static const size_t outs[] = { 1, 20, 32, 33, 63, 64 };
	size_t n, o, j;

	for (j = 0; j < 8; j++) {
		out[j] = got[j];
		in[j] = msg[j] + (j & 1);
	}
	for (n = 0; n <= 128; n++)
		for (o = 0; o < sizeof(outs) / sizeof(outs[0]); o++) {
			randombytes_buf(msg, sizeof(msg));
			memset(got, 0xa5, sizeof(got));
			if (lanes == 8)
				b2b_hash8_block(out, outs[o], in, n);
			else
				b2b_hash4_block(out, outs[o], in, n);
			for (j = 0; j < 8; j++) {
				if (j >= (size_t)lanes) {
					ck_assert(got[j][0] == 0xa5);
					continue;
				}
				crypto_generichash(want, outs[o], in[j], n,
				    NULL, 0);
				ck_assert_msg(memcmp(want, got[j], outs[o]) == 0,
				    "%d lanes: lane %zu len %zu out %zu", lanes,
				    j, n, outs[o]);
				ck_assert_msg(outs[o] == 64 ||
				    got[j][outs[o]] == 0xa5,
				    "lane %zu wrote past its digest", j);
			}
		}
}

/* lanes messages continuing base through b2b_final_n, against copies of
 * base updated and finished one by one */
static void
lanes_match(int lanes, const struct b2b *base, const uint8_t *const in[8],
    const size_t n[8], const char *what)
{
	uint8_t got[8][64], want[64], *out[8];
	struct b2b s;
	size_t j;

	for (j = 0; j < 8; j++)
		out[j] = got[j];
	b2b_final_n(base, in, n, out, (size_t)lanes);
	for (j = 0; j < (size_t)lanes; j++) {
		s = *base;
		b2b_update(&s, in[j], n[j]);
		b2b_final(&s, want);
		ck_assert_msg(memcmp(want, got[j], base->outlen) == 0,
		    "%s, %d lanes: lane %zu len %zu", what, lanes, j, n[j]);
	}
}

/* b2b_final_n on four and eight messages from the evidence's keyed prefix
 * state: the bytes of a copy of the state updated and finished, for every
 * length up to a few blocks in lane 0 and lengths of up to as many blocks
 * in the others (blocks read in place and copied, at odd and even
 * addresses), and one message far longer than the others. */
static void
final_against_copies(int lanes)
{
	enum { F4LEN = 8 * BLAKE2B_BLOCK };
	uint8_t salt[32], msg[8][F4LEN + 1];
	const uint8_t *in[8];
	struct b2b base, s;
	size_t n[8], k, j, blocks, lo, hi;

	for (j = 0; j < 8; j++)
		in[j] = msg[j] + (j & 1);
	randombytes_buf(salt, sizeof(salt));
	ck_assert_int_eq(b2b_init(&base, 32, salt, 32), 0);
	b2b_update(&base, "texp record v1", 15);
	for (k = 0; k <= F4LEN - 15; k++) {
		randombytes_buf(msg, sizeof(msg));
		/* the others one block shorter to one longer */
		blocks = (15 + k + BLAKE2B_BLOCK - 1) / BLAKE2B_BLOCK;
		lo = blocks > 1 ? blocks - 1 : 1;
		hi = blocks + 1 < 8 ? blocks + 1 : 8;
		for (j = 0; j < (size_t)lanes; j++) {
			n[j] = j == 0 ? k : (lo - 1) * BLAKE2B_BLOCK +
			    randombytes_uniform((uint32_t)((hi - lo + 1) *
			    BLAKE2B_BLOCK));
			if (n[j] + 15 > F4LEN)
				n[j] = F4LEN - 15;
		}
		lanes_match(lanes, &base, in, n, "lengths a block apart");
	}
	/* one block against eight */
	for (j = 0; j < 8; j++)
		n[j] = 10;
	n[2] = F4LEN - 15;
	lanes_match(lanes, &base, in, n, "one long");
	/* a full buffer (the key block, not yet compressed): as it is, and
	 * with more after it */
	ck_assert_int_eq(b2b_init(&s, 32, salt, 32), 0);
	for (k = 0; k < 3; k++) {
		for (j = 0; j < 8; j++)
			n[j] = k == 0 ? 0 : k * 70;
		n[3] = k == 2 ? 1 : n[3];
		lanes_match(lanes, &s, in, n, "full buffer");
	}
	/* no prefix at all: the empty message among others */
	ck_assert_int_eq(b2b_init(&base, 64, NULL, 0), 0);
	for (j = 0; j < 8; j++)
		n[j] = j % 4 == 0 ? 0 : j % 4 == 1 ? 1 : j % 4 == 2 ?
		    BLAKE2B_BLOCK : BLAKE2B_BLOCK + 1;
	lanes_match(lanes, &base, in, n, "unkeyed, no prefix");
}

/* lanes (4 or 8) messages at once on every path: AVX-512, AVX2, one at
 * a time */
static void
lanes_every_path(int lanes)
{
	for (b2b_x4_max = 2; b2b_x4_max >= 0; b2b_x4_max--) {
		lanes_against_libsodium(lanes);
		final_against_copies(lanes);
	}
	b2b_x4_max = 2;
}

START_TEST(test_four_at_once)
{
	lanes_every_path(4);
}
END_TEST

START_TEST(test_eight_at_once)
{
	lanes_every_path(8);
}
END_TEST

/* b2b_final_n: any number of messages of lengths far apart, from prefix
 * states of every buffered length (key block only, key and a prefix, no
 * key, a buffer full and not yet compressed), against libsodium's bytes
 * for the same key, prefix and message, on every path (eight lanes,
 * four, one); no digest is written twice or past its end. */
START_TEST(test_final_n)
{
	enum { MAXN = 70, NLEN = 1500 };
	static uint8_t msg[MAXN][NLEN + 1], got[MAXN][65];
	uint8_t key[64], prefix[200], want[64];
	uint8_t *out[MAXN];
	const uint8_t *in[MAXN];
	size_t n[MAXN], count, i, plen, klen, outlen;
	crypto_generichash_state ref;
	struct b2b base;
	int round, path;

	randombytes_buf(key, sizeof(key));
	randombytes_buf(prefix, sizeof(prefix));
	for (path = 2; path >= 0; path--) {
		b2b_x4_max = path;
		for (round = 0; round < 300; round++) {
			klen = round % 3 == 0 ? 0 : round % 3 == 1 ? 32 : 64;
			plen = randombytes_uniform(sizeof(prefix) + 1);
			if (round % 7 == 0)
				plen = 0;
			outlen = round % 5 == 0 ? 64 : 32;
			count = round < 10 ? (size_t)round :
			    randombytes_uniform(MAXN + 1);
			for (i = 0; i < count; i++) {
				/* mostly short, some long: lanes finish
				 * at very different times */
				n[i] = randombytes_uniform(8) == 0 ?
				    randombytes_uniform(NLEN + 1) :
				    randombytes_uniform(200);
				in[i] = msg[i] + (i & 1);
				randombytes_buf(msg[i], n[i] + 1);
				out[i] = got[i];
				memset(got[i], 0xa5, sizeof(got[i]));
			}
			ck_assert_int_eq(b2b_init(&base, outlen, key, klen), 0);
			b2b_update(&base, prefix, plen);
			b2b_final_n(&base, in, n, out, count);
			for (i = 0; i < count; i++) {
				crypto_generichash_init(&ref, klen ? key : NULL,
				    klen, outlen);
				crypto_generichash_update(&ref, prefix, plen);
				crypto_generichash_update(&ref, in[i], n[i]);
				crypto_generichash_final(&ref, want, outlen);
				ck_assert_msg(memcmp(want, got[i], outlen) == 0,
				    "path %d round %d: message %zu of %zu, %zu "
				    "bytes, key %zu, prefix %zu", path, round,
				    i, count, n[i], klen, plen);
				ck_assert(got[i][outlen] == 0xa5);
			}
		}
	}
	b2b_x4_max = 2;
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
	tcase_add_test(tc, test_four_at_once);
	tcase_add_test(tc, test_eight_at_once);
	tcase_add_test(tc, test_final_n);
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
