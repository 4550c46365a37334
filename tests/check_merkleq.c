/*
 * format/merkleq.c: the trees built in a second thread are exactly those
 * merkle_add builds, for leaf counts below, at and far beyond a batch and
 * the whole ring, over several tables (one left empty), with and without
 * tenant hashes; and a queue finished at once leaves the trees empty.
 */
#include <string.h>

#include <sodium.h>

#include "merkleq.h"
#include "testutil.h"

#define NT	4

static void
compare(uint64_t nleaves)
{
	struct merkle a[NT], b[NT];
	struct merkleq *q;
	uint8_t th[EVIDENCE_HASH_LEN], ch[EVIDENCE_HASH_LEN];
	uint8_t ra[EVIDENCE_HASH_LEN], rb[EVIDENCE_HASH_LEN];
	uint64_t i;
	size_t t;

	for (t = 0; t < NT; t++) {
		merkle_init(&a[t]);
		merkle_init(&b[t]);
	}
	ck_assert_int_eq(merkleq_start(b, NT, &q), 0);
	for (i = 0; i < nleaves; i++) {
		/* table 3 stays empty; table 2 is global */
		t = (size_t)(randombytes_uniform(3));
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

START_TEST(test_same_trees)
{
	static const uint64_t counts[] = { 0, 1, 2, 3, 2047, 2048, 2049,
	    4 * 2048, 4 * 2048 + 1, 50000 };
	size_t i;

	for (i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		compare(counts[i]);
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
