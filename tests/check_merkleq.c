/*
 * format/merkleq.c: the trees built in a second thread are exactly those
 * merkle_add builds, for leaf counts below, at and far beyond a batch and
 * the whole ring, over several tables (one left empty), with and without
 * tenant hashes, leaves of the tables mixed or in long runs (whose
 * complete subtrees are reduced four nodes at a time); and a queue
 * finished at once leaves the trees empty.
 */
#include <string.h>

#include <sodium.h>

#include "merkleq.h"
#include "testutil.h"

#define NT	4

/* runs: leaves come in runs of one table of up to runs leaves (1: each
 * leaf's table drawn anew) */
static void
compare_runs(uint64_t nleaves, uint32_t runs)
{
	struct merkle a[NT], b[NT];
	struct merkleq *q;
	uint8_t th[EVIDENCE_HASH_LEN], ch[EVIDENCE_HASH_LEN];
	uint8_t ra[EVIDENCE_HASH_LEN], rb[EVIDENCE_HASH_LEN];
	uint64_t i;
	uint32_t left;
	size_t t;

	for (t = 0; t < NT; t++) {
		merkle_init(&a[t]);
		merkle_init(&b[t]);
	}
	ck_assert_int_eq(merkleq_start(b, NT, &q), 0);
	for (i = 0, left = 0, t = 0; i < nleaves; i++) {
		/* table 3 stays empty; table 2 is global */
		if (left == 0) {
			t = (size_t)(randombytes_uniform(3));
			left = 1 + randombytes_uniform(runs);
		}
		left--;
		randombytes_buf(th, sizeof(th));
		randombytes_buf(ch, sizeof(ch));
		merkle_add(&a[t], t == 2 ? NULL : th, ch);
		merkleq_add(q, t, t == 2 ? NULL : th, ch);
	}
	merkleq_finish(q);
	for (t = 0; t < NT; t++) {
		ck_assert(a[t].n == b[t].n);
		merkle_root(&a[t], ra);
		merkle_root(&b[t], rb);
		ck_assert_msg(memcmp(ra, rb, sizeof(ra)) == 0,
		    "%llu leaves, table %zu", (unsigned long long)nleaves, t);
	}
}

static void
compare(uint64_t nleaves)
{
	compare_runs(nleaves, 1);
}

START_TEST(test_same_trees)
{
	static const uint64_t counts[] = { 0, 1, 2, 3, 2047, 2048, 2049,
	    4 * 2048, 4 * 2048 + 1, 50000 };
	size_t i;

	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		compare(counts[i]);
}
END_TEST

/* Long runs of one table: its complete subtrees are reduced four nodes
 * at a time, at every alignment. */
START_TEST(test_same_trees_runs)
{
	static const uint32_t runs[] = { 7, 64, 1000, 5000, 100000 };
	size_t i, k;

	for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++)
		for (k = 0; k < 3; k++)
			compare_runs(20000 + randombytes_uniform(20000),
			    runs[i]);
}
END_TEST

/* merkle_push_leaves against merkle_add, from every small starting
 * count, for every small n. */
START_TEST(test_push_leaves)
{
	uint8_t th[300][EVIDENCE_HASH_LEN], ch[300][EVIDENCE_HASH_LEN];
	uint8_t h[300][EVIDENCE_HASH_LEN], ra[EVIDENCE_HASH_LEN],
	    rb[EVIDENCE_HASH_LEN];
	struct merkle a, b;
	size_t start, n, i;

	randombytes_buf(th, sizeof(th));
	randombytes_buf(ch, sizeof(ch));
	for (start = 0; start < 40; start++)
		for (n = 0; n + start <= 300; n += 1 + n / 8) {
			merkle_init(&a);
			merkle_init(&b);
			for (i = 0; i < start; i++) {
				merkle_add(&a, th[i], ch[i]);
				merkle_add(&b, th[i], ch[i]);
			}
			for (i = start; i < start + n; i++) {
				merkle_add(&a, i % 5 ? th[i] : NULL, ch[i]);
				merkle_leaf_hash(i % 5 ? th[i] : NULL, ch[i],
				    h[i - start]);
			}
			merkle_push_leaves(&b, h, n);
			ck_assert(a.n == b.n);
			merkle_root(&a, ra);
			merkle_root(&b, rb);
			ck_assert_msg(memcmp(ra, rb, sizeof(ra)) == 0,
			    "start %zu, n %zu", start, n);
		}
}
END_TEST

START_TEST(test_finish_null)
{
	merkleq_finish(NULL);
}
END_TEST

static Suite *
merkleq_suite(void)
{
	Suite *s = suite_create("merkleq");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_same_trees);
	tcase_add_test(tc, test_same_trees_runs);
	tcase_add_test(tc, test_push_leaves);
	tcase_add_test(tc, test_finish_null);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	return test_run_suite(merkleq_suite());
}
