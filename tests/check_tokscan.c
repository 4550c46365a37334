/*
 * check_tokscan.c: the leak test's exact-token search for other
 * tenants' ids and canary markers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "tokscan.h"
#include "testutil.h"

#define UA	"a0000000-0000-4000-8000-00000000000a"
#define UB	"b0000000-0000-4000-8000-00000000000b"

struct hits {
	size_t n;
	size_t which[16];
};

static void
on_hit(void *ctx, size_t which)
{
	struct hits *h = ctx;

	if (h->n < 16)
		h->which[h->n] = which;
	h->n++;
}

/* Hits of text in a scanner for ids. */
static struct hits
scan(const char *const *ids, size_t n, const char *text)
{
	struct tokscan *t = NULL;
	struct hits h;

	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(tokscan_new(ids, n, &t), 0);
	ck_assert_uint_eq(tokscan_text(t, (const uint8_t *)text, strlen(text),
	    on_hit, &h), h.n);
	tokscan_free(t);
	return h;
}

START_TEST(test_whole_tokens_only)
{
	const char *ids[] = { "acme", "7" };

	ck_assert_uint_eq(scan(ids, 2, "/acme/").n, 1);
	ck_assert_uint_eq(scan(ids, 2, "acme corp").n, 1);
	ck_assert_uint_eq(scan(ids, 2, "{\"t\":\"acme\"}").n, 1);
	ck_assert_uint_eq(scan(ids, 2, "acme").n, 1);
	ck_assert_uint_eq(scan(ids, 2, "acme-corp").n, 0);
	ck_assert_uint_eq(scan(ids, 2, "acme_2").n, 0);
	ck_assert_uint_eq(scan(ids, 2, "macme").n, 0);
	ck_assert_uint_eq(scan(ids, 2, "INV-7").n, 0);
	ck_assert_uint_eq(scan(ids, 2, "17 and 70").n, 0);
	ck_assert_uint_eq(scan(ids, 2, "room 7, floor 7").n, 2);
	ck_assert_uint_eq(scan(ids, 2, "").n, 0);
}
END_TEST

START_TEST(test_case)
{
	const char *ids[] = { "ACME", UB };
	struct hits h;

	/* byte for byte: another case is another tenant */
	ck_assert_uint_eq(scan(ids, 2, "acme").n, 0);
	ck_assert_uint_eq(scan(ids, 2, "ACME").n, 1);
	/* except a UUID, which is the same value in either case */
	h = scan(ids, 2, "ref=B0000000-0000-4000-8000-00000000000B;");
	ck_assert_uint_eq(h.n, 1);
	ck_assert_uint_eq(h.which[0], 1);
	ck_assert_uint_eq(scan(ids, 2, UB "0").n, 0);
	ck_assert_uint_eq(scan(ids, 2, "x" UB).n, 0);
}
END_TEST

START_TEST(test_other_characters)
{
	const char *ids[] = { "acme corp", "a.b" };

	ck_assert_uint_eq(scan(ids, 2, "to acme corp, and").n, 1);
	ck_assert_uint_eq(scan(ids, 2, "to acme corpse").n, 0);
	ck_assert_uint_eq(scan(ids, 2, "xa.b").n, 0);
	ck_assert_uint_eq(scan(ids, 2, "(a.b)").n, 1);
	ck_assert_uint_eq(scan(ids, 2, "a.b a.b").n, 2);
}
END_TEST

START_TEST(test_uuid_values)
{
	const char *ids[] = { UA, UB };
	uint8_t u[16];
	struct tokscan *t = NULL;
	struct hits h;
	size_t n = 0;
	uint8_t *b = test_unhex("b0000000 0000 4000 8000 00000000000b", &n);

	ck_assert_uint_eq(n, 16);
	memcpy(u, b, 16);
	free(b);
	memset(&h, 0, sizeof(h));
	ck_assert_int_eq(tokscan_new(ids, 2, &t), 0);
	ck_assert_uint_eq(tokscan_uuid(t, u, on_hit, &h), 1);
	ck_assert_uint_eq(h.which[0], 1);
	u[15] ^= 1;
	ck_assert_uint_eq(tokscan_uuid(t, u, on_hit, &h), 0);
	tokscan_free(t);
}
END_TEST

START_TEST(test_bad_ids)
{
	const char *empty[] = { "" };
	char big[TOKSCAN_MAX_LEN + 2];
	const char *longid[] = { big };
	struct tokscan *t = NULL;
	const char *twice[] = { "x1", "x1" };
	struct hits h;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(tokscan_new(empty, 1, &t), ERR_INVALID);
	ck_assert_ptr_null(t);
	ck_assert_int_eq(tokscan_new(longid, 1, &t), ERR_INVALID);
	/* no ids: nothing found, nothing fails */
	ck_assert_int_eq(tokscan_new(NULL, 0, &t), 0);
	ck_assert_uint_eq(tokscan_text(t, (const uint8_t *)"x", 1, NULL, NULL),
	    0);
	tokscan_free(t);
	/* a repeated id is reported once, by its first index */
	h = scan(twice, 2, "x1");
	ck_assert_uint_eq(h.n, 1);
	ck_assert_uint_eq(h.which[0], 0);
	tokscan_free(NULL);
}
END_TEST

START_TEST(test_many_ids)
{
	static char store[2000][16];
	const char *ids[2000];
	size_t i;
	struct hits h;

	for (i = 0; i < 2000; i++) {
		snprintf(store[i], sizeof(store[i]), "t%zu", i);
		ids[i] = store[i];
	}
	h = scan(ids, 2000, "from t1999 to t0, not t20000 nor xt5");
	ck_assert_uint_eq(h.n, 2);
	ck_assert_uint_eq(h.which[0], 1999);
	ck_assert_uint_eq(h.which[1], 0);
}
END_TEST

static Suite *
tokscan_suite(void)
{
	Suite *s = suite_create("tokscan");
	TCase *tc = tcase_create("match");

	tcase_add_test(tc, test_whole_tokens_only);
	tcase_add_test(tc, test_case);
	tcase_add_test(tc, test_other_characters);
	tcase_add_test(tc, test_uuid_values);
	tcase_add_test(tc, test_bad_ids);
	tcase_add_test(tc, test_many_ids);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(tokscan_suite());
}
