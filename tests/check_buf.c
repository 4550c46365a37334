#include <string.h>

#include "buf.h"
#include "err.h"
#include "testutil.h"

START_TEST(test_get_bounds)
{
	static const uint8_t in[] = { 1, 2, 3, 4, 5 };
	struct buf *b = buf_from(in, sizeof(in));
	uint32_t v = 0xdeadbeef;
	uint8_t u;

	ck_assert_ptr_nonnull(b);
	ck_assert_int_eq(buf_get_u32be(b, &v), 0);
	ck_assert_uint_eq(v, 0x01020304);
	ck_assert_int_eq(buf_get_u32be(b, &v), ERR_TRUNCATED);
	ck_assert_uint_eq(v, 0);	/* output cleared on error */
	ck_assert_int_eq(buf_len(b), 1);
	ck_assert_int_eq(buf_expect_end(b), ERR_TRAILING);
	ck_assert_int_eq(buf_get_u8(b, &u), 0);
	ck_assert_int_eq(u, 5);
	ck_assert_int_eq(buf_expect_end(b), 0);
	ck_assert_int_eq(buf_put_u8(b, 1), ERR_INVALID);	/* views are read-only */
	buf_free(b);
}
END_TEST

START_TEST(test_cap)
{
	struct buf *b = buf_new(8);
	uint64_t v;

	ck_assert_int_eq(buf_put_u64be(b, 0x0102030405060708ULL), 0);
	ck_assert_int_eq(buf_put_u8(b, 9), ERR_LIMIT);
	ck_assert_int_eq(buf_len(b), 8);
	ck_assert_int_eq(buf_get_u64le(b, &v), 0);
	ck_assert(v == 0x0807060504030201ULL);
	/* Consumed space is reusable: the cap is on unread bytes. */
	ck_assert_int_eq(buf_put_u64be(b, 1), 0);
	buf_free(b);
	buf_free(NULL);
}
END_TEST

START_TEST(test_lines)
{
	static const char in[] = "abc\nlonger line\ntail";
	struct buf *b = buf_from(in, strlen(in));
	const uint8_t *l;
	size_t n;

	ck_assert_int_eq(buf_get_line(b, &l, &n, 10), 0);
	ck_assert_int_eq(n, 3);
	ck_assert(memcmp(l, "abc", 3) == 0);
	ck_assert_int_eq(buf_get_line(b, &l, &n, 5), ERR_LIMIT);
	ck_assert_ptr_null(l);
	ck_assert_int_eq(buf_get_line(b, &l, &n, 100), 0);
	ck_assert_int_eq(buf_get_line(b, &l, &n, 100), ERR_TRUNCATED);
	ck_assert_int_eq(buf_len(b), 4);
	buf_free(b);
}
END_TEST

START_TEST(test_reserve_zero)
{
	struct buf *b = buf_new(16);
	uint8_t *p = NULL;

	/* zero bytes on a buffer that never allocated: a valid pointer, no
	 * arithmetic on NULL */
	ck_assert_int_eq(buf_reserve(b, 0, &p), 0);
	ck_assert_ptr_nonnull(p);
	ck_assert_int_eq(buf_len(b), 0);
	ck_assert_int_eq(buf_put(b, "", 0), 0);
	buf_free(b);
}
END_TEST

START_TEST(test_secret_grow)
{
	struct buf *b = buf_new_secret(1 << 20);
	uint8_t *p;
	int i;

	for (i = 0; i < 1000; i++)
		ck_assert_int_eq(buf_putf(b, "%04d", i), 0);
	ck_assert_int_eq(buf_len(b), 4000);
	ck_assert(memcmp(buf_ptr(b) + 3996, "0999", 4) == 0);
	ck_assert_int_eq(buf_reserve(b, 2 << 20, &p), ERR_LIMIT);
	ck_assert_ptr_null(p);
	buf_free(b);
}
END_TEST

START_TEST(test_patch)
{
	struct buf *b = buf_new(64), *v;
	uint8_t x;

	ck_assert_int_eq(buf_put(b, "headbody", 8), 0);
	ck_assert_int_eq(buf_get_u8(b, &x), 0);	/* 'h' read */
	ck_assert_int_eq(buf_patch(b, 0, "E", 1), 0);
	ck_assert_int_eq(buf_patch(b, 3, "BODY", 4), 0);
	ck_assert_int_eq(buf_len(b), 7);
	ck_assert(memcmp(buf_ptr(b), "EadBODY", 7) == 0);
	/* past the end, or straddling it: refused, nothing written */
	ck_assert_int_eq(buf_patch(b, 4, "12345", 5), ERR_TRUNCATED);
	ck_assert_int_eq(buf_patch(b, 8, "", 0), ERR_TRUNCATED);
	ck_assert_int_eq(buf_patch(b, SIZE_MAX, "1", 1), ERR_TRUNCATED);
	ck_assert(memcmp(buf_ptr(b), "EadBODY", 7) == 0);
	ck_assert_int_eq(buf_patch(b, 7, "", 0), 0);
	v = buf_from((const uint8_t *)"abc", 3);
	ck_assert_int_eq(buf_patch(v, 0, "x", 1), ERR_INVALID);
	buf_free(v);
	buf_free(b);
}
END_TEST

static Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_get_bounds);
	tcase_add_test(tc, test_cap);
	tcase_add_test(tc, test_lines);
	tcase_add_test(tc, test_secret_grow);
	tcase_add_test(tc, test_reserve_zero);
	tcase_add_test(tc, test_patch);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(buf_suite());
}
