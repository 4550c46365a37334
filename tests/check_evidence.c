#include <string.h>

#include <sodium.h>

#include "b2b.h"
#include "evidence.h"
#include "testutil.h"

static void
leaf(const uint8_t *th, const uint8_t *ch, uint8_t out[32])
{
	static const uint8_t zero[32];
	uint8_t in[65];

	in[0] = 0;
	memcpy(in + 1, th ? th : zero, 32);
	memcpy(in + 33, ch, 32);
	crypto_generichash(out, 32, in, sizeof(in), NULL, 0);
}

static void
node(const uint8_t *l, const uint8_t *r, uint8_t out[32])
{
	uint8_t in[65];

	in[0] = 1;
	memcpy(in + 1, l, 32);
	memcpy(in + 33, r, 32);
	crypto_generichash(out, 32, in, sizeof(in), NULL, 0);
}

START_TEST(test_hasher_matches_plain)
{
	uint8_t salt[32], a[32], b[32], rec[300];
	struct evidence_hasher h;
	static const uint8_t t1[] = { 0x63, 'a', 'b', 'c' };
	static const uint8_t t2[] = { 0x63, 'a', 'b', 'd' };

	ck_assert(sodium_init() >= 0);
	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(rec, sizeof(rec));
	ck_assert_int_eq(evidence_hasher_init(&h, salt), 0);
	for (size_t n = 0; n < sizeof(rec); n += 37) {
		evidence_content_hash(salt, rec, n, a);
		evidence_hasher_content(&h, rec, n, b);
		ck_assert(memcmp(a, b, 32) == 0);
	}
	/* the tenant cache must not return a stale hash for a new value */
	evidence_tenant_hash(salt, t1, sizeof(t1), a);
	evidence_hasher_tenant(&h, t1, sizeof(t1), b);
	ck_assert(memcmp(a, b, 32) == 0);
	evidence_hasher_tenant(&h, t1, sizeof(t1), b);
	ck_assert(memcmp(a, b, 32) == 0);
	evidence_tenant_hash(salt, t2, sizeof(t2), a);
	evidence_hasher_tenant(&h, t2, sizeof(t2), b);
	ck_assert(memcmp(a, b, 32) == 0);
	/* a different salt gives a different hash */
	salt[0] ^= 1;
	evidence_tenant_hash(salt, t2, sizeof(t2), a);
	ck_assert(memcmp(a, b, 32) != 0);
	evidence_hasher_clear(&h);
}
END_TEST

/*
 * evidence_hasher_content_n against evidence_content_hash (libsodium),
 * for every count 0..40 of records whose lengths are alike (one pass of
 * eight or four) or far apart (a long one among short ones: refused, so
 * four or one at a time), on every path the CPU has.
 */
START_TEST(test_content_n)
{
	static uint8_t data[64 * 1024];
	const uint8_t *rec[40];
	uint8_t salt[32], got[40][32], want[32], *out[40];
	size_t len[40], n, i, round;
	struct evidence_hasher h;

	randombytes_buf(salt, sizeof(salt));
	randombytes_buf(data, sizeof(data));
	ck_assert_int_eq(evidence_hasher_init(&h, salt), 0);
	for (b2b_x4_max = 2; b2b_x4_max >= 0; b2b_x4_max--)
		for (round = 0; round < 30; round++)
			for (n = 0; n <= 40; n++) {
				for (i = 0; i < n; i++) {
					len[i] = round % 3 == 0 ?
					    randombytes_uniform(120) :
					    round % 3 == 1 ? 500 +
					    randombytes_uniform(40) :
					    randombytes_uniform(6) == 0 ?
					    randombytes_uniform(4000) :
					    randombytes_uniform(200);
					rec[i] = data + randombytes_uniform(
					    (uint32_t)(sizeof(data) - len[i]));
					out[i] = got[i];
				}
				memset(got, 0, sizeof(got));
				evidence_hasher_content_n(&h, rec, len, out, n);
				for (i = 0; i < n; i++) {
					evidence_content_hash(salt, rec[i],
					    len[i], want);
					ck_assert_msg(memcmp(want, got[i], 32) ==
					    0, "path %d: record %zu of %zu, %zu "
					    "bytes", b2b_x4_max, i, n, len[i]);
				}
			}
	b2b_x4_max = 2;
	evidence_hasher_clear(&h);
}
END_TEST

START_TEST(test_merkle_shape)
{
	uint8_t ch[5][32], th[32], l[5][32], n01[32], n23[32], n0123[32];
	uint8_t want[32], got[32];
	struct merkle m;
	size_t i;

	randombytes_buf(th, sizeof(th));
	for (i = 0; i < 5; i++) {
		randombytes_buf(ch[i], 32);
		leaf(i == 4 ? NULL : th, ch[i], l[i]);
	}
	merkle_init(&m);
	merkle_root(&m, got);
	crypto_generichash(want, 32, NULL, 0, NULL, 0);
	ck_assert(memcmp(got, want, 32) == 0);

	merkle_add(&m, th, ch[0]);
	merkle_root(&m, got);
	ck_assert(memcmp(got, l[0], 32) == 0);

	merkle_add(&m, th, ch[1]);
	merkle_add(&m, th, ch[2]);
	/* three leaves: H(1 || H(1 || l0 || l1) || l2) */
	node(l[0], l[1], n01);
	node(n01, l[2], want);
	merkle_root(&m, got);
	ck_assert(memcmp(got, want, 32) == 0);

	merkle_add(&m, th, ch[3]);
	merkle_add(&m, NULL, ch[4]);
	/* five leaves: H(1 || H(1 || n01 || n23) || l4) */
	node(l[2], l[3], n23);
	node(n01, n23, n0123);
	node(n0123, l[4], want);
	merkle_root(&m, got);
	ck_assert(memcmp(got, want, 32) == 0);
	/* order matters */
	merkle_init(&m);
	merkle_add(&m, th, ch[1]);
	merkle_add(&m, th, ch[0]);
	merkle_root(&m, got);
	ck_assert(memcmp(got, n01, 32) != 0);
}
END_TEST

/* RFC 6962's MTH of the leaf hashes l[0..n), recursively, with
 * libsodium's BLAKE2b: the reference the streaming tree is held to. */
static void
mth(uint8_t (*l)[32], size_t n, uint8_t out[32])
{
	uint8_t a[32], b[32];
	size_t k = 1;

	if (n == 1) {
		memcpy(out, l[0], 32);
		return;
	}
	while (k * 2 < n)
		k *= 2;
	mth(l, k, a);
	mth(l + k, n - k, b);
	node(a, b, out);
}

/* The streaming tree against the recursive definition, for every count
 * up to 300 (past the queues' first levels) and for large ones, the
 * leaves given one by one, as hashes in batches of random sizes, as
 * pending rows, all three mixed, and a row carrying a file last; reading
 * the root in the middle changes nothing. */
START_TEST(test_merkle_reference)
{
	enum { MAX = 9000 };
	static uint8_t th[MAX][32], ch[MAX][32], l[MAX][32], h[MAX][32];
	static struct merkle_pending pend[MAX];
	static const size_t big[] = { 1023, 1024, 1025, 4095, 4097, MAX };
	uint8_t want[32], got[32], mid[32], in[105], fh[32];
	struct merkle m;
	size_t n, i, k, w, c;
	int mode, sub;

	randombytes_buf(th, sizeof(th));
	randombytes_buf(ch, sizeof(ch));
	randombytes_buf(fh, sizeof(fh));
	for (i = 0; i < MAX; i++)
		leaf(i % 7 ? th[i] : NULL, ch[i], l[i]);
	for (c = 0; c < 300 + sizeof(big) / sizeof(big[0]); c++) {
		n = c < 300 ? c + 1 : big[c - 300];
		mth(l, n, want);
		for (mode = 0; mode < 4; mode++) {
			merkle_init(&m);
			for (i = 0; i < n; i += k) {
				/* mode 3: the three ways mixed */
				sub = mode < 3 ? mode :
				    (int)randombytes_uniform(3);
				k = sub == 0 ? 1 : 1 + randombytes_uniform(150);
				if (k > n - i)
					k = n - i;
				if (sub == 0)
					merkle_add(&m, i % 7 ? th[i] : NULL, ch[i]);
				else if (sub == 1) {
					memcpy(h, l + i, k * 32);
					merkle_push_leaves(&m, h, k);
				} else {
					for (w = 0; w < k; w++) {
						pend[w].has_tenant = (i + w) % 7 != 0;
						memcpy(pend[w].th, th[i + w], 32);
						memcpy(pend[w].ch, ch[i + w], 32);
					}
					merkle_add_pending(&m, pend, k, h);
				}
				if (i % 97 == 5)
					merkle_root(&m, mid);
			}
			ck_assert(m.n == n);
			merkle_root(&m, got);
			ck_assert_msg(memcmp(got, want, 32) == 0,
			    "%zu leaves, mode %d", n, mode);
		}
		/* a row with a file as the last leaf: H(2 || th || ch ||
		 * size || fh) */
		if (n > 1) {
			merkle_init(&m);
			memcpy(h, l, (n - 1) * 32);
			merkle_push_leaves(&m, h, n - 1);
			merkle_add_file(&m, th[0], ch[0], 0x0102030405060708ULL,
			    fh);
			in[0] = 2;
			memcpy(in + 1, th[0], 32);
			memcpy(in + 33, ch[0], 32);
			for (i = 0; i < 8; i++)
				in[65 + i] = (uint8_t)(i + 1);
			memcpy(in + 73, fh, 32);
			memcpy(h[0], l[n - 1], 32);
			crypto_generichash(l[n - 1], 32, in, sizeof(in), NULL, 0);
			mth(l, n, want);
			memcpy(l[n - 1], h[0], 32);
			merkle_root(&m, got);
			ck_assert_msg(memcmp(got, want, 32) == 0,
			    "%zu leaves, the last with a file", n);
		}
	}
}
END_TEST

static Suite *
evidence_suite(void)
{
	Suite *s = suite_create("evidence");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_hasher_matches_plain);
	tcase_add_test(tc, test_merkle_shape);
	tcase_add_test(tc, test_content_n);
	tcase_add_test(tc, test_merkle_reference);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(evidence_suite());
}
