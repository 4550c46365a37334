/*
 * check_foreign.c: the auditor's identifier list is exact bytes, and the
 * default match neither cries wolf (acme2, acme-eu, a trailing space, a
 * look-alike) nor misses (a whole value, a JSON string, a token).
 */
#include <string.h>

#include "err.h"
#include "foreign.h"
#include "testutil.h"

static struct foreign_list *
parse(const char *s, int json)
{
	struct foreign_list *l = NULL;
	char why[256];
	int r;

	r = foreign_list_parse((const uint8_t *)s, strlen(s), json, &l, why,
	    sizeof(why));
	ck_assert_msg(r == 0, "%s", why);
	return l;
}

static int
refused(const char *s, size_t n, int json, const char *want)
{
	struct foreign_list *l = (struct foreign_list *)1;
	char why[256];
	int r;

	r = foreign_list_parse((const uint8_t *)s, n, json, &l, why,
	    sizeof(why));
	ck_assert_ptr_null(l);
	ck_assert_msg(strstr(why, want) != NULL, "\"%s\" lacks \"%s\"", why,
	    want);
	return r;
}

static const char *own;	/* the archive's own tenant id */

/* The 1-based line of the identifier found in s, or 0; kind in *k. */
static size_t
hit(const struct foreign_list *l, enum foreign_mode m, const char *s,
    int json, enum foreign_kind *k)
{
	size_t which = 0;

	if (!foreign_match(l, m, own, (const uint8_t *)s, strlen(s), json,
	    &which, k))
		return 0;
	return which + 1;
}

START_TEST(test_parse_exact)
{
	struct foreign_list *l;
	enum foreign_kind k;

	/* spaces are kept, nothing is trimmed, a last line needs no LF */
	l = parse("acme \n Acme\n#x\n\xd0\xb0" "cme", 0);
	ck_assert_uint_eq(foreign_list_count(l), 4);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "acme ", 0, &k), 1);
	ck_assert_int_eq(k, FOREIGN_HIT_VALUE);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "acme", 0, &k), 0);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, " Acme", 0, &k), 2);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "#x", 0, &k), 3);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "\xd0\xb0" "cme", 0, &k), 4);
	foreign_list_free(l);
	foreign_list_free(NULL);

	/* the JSON form carries newlines and CRs */
	l = parse("[\"a\\nb\", \"c\\r\", \"d\"]", 1);
	ck_assert_uint_eq(foreign_list_count(l), 3);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "a\nb", 0, &k), 1);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "c\r", 0, &k), 2);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "a", 0, &k), 0);
	foreign_list_free(l);

	ck_assert_int_eq(refused("a\n\nb\n", 5, 0, "line 2 is empty"),
	    ERR_FORMAT);
	ck_assert_int_eq(refused("a\r\nb\r\n", 6, 0, "line 1 ends in a "
	    "carriage return"), ERR_FORMAT);
	ck_assert_int_eq(refused("a\0b", 3, 0, "NUL"), ERR_FORMAT);
	ck_assert_int_eq(refused("\xff\n", 2, 0, "line 1 is not UTF-8"),
	    ERR_FORMAT);
	ck_assert_int_eq(refused("", 0, 0, "no identifiers"), ERR_FORMAT);
	ck_assert_int_eq(refused("[\"a\", 1]", 8, 1, "element 1"), ERR_FORMAT);
	ck_assert_int_eq(refused("[\"\"]", 4, 1, "element 0"), ERR_FORMAT);
	ck_assert_int_eq(refused("{}", 2, 1, "JSON array"), ERR_FORMAT);
	ck_assert_int_eq(refused("[\"a\\u0000b\"]", 12, 1, "NUL"), ERR_FORMAT);
}
END_TEST

START_TEST(test_no_false_hits)
{
	struct foreign_list *l;
	enum foreign_kind k;

	l = parse("acme\nAcme\nacme \n\xd0\xb0" "cme\ncaf\xc3\xa9\n"
	    "x'; DROP TABLE t;--\n", 0);
	/* another tenant's own values hold none of them */
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "acme2", 0, &k), 0);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "acme-eu", 0, &k), 0);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "acme_old invoice", 0, &k), 0);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "ACME", 0, &k), 0);
	/* combining e + U+0301 is not the precomposed U+00E9 */
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "cafe\xcc\x81", 0, &k), 0);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "see cafe\xcc\x81 now", 0, &k),
	    0);
	/* a Latin "acme" is not the Cyrillic look-alike, and vice versa */
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "\xd0\xb0" "cme2", 0, &k), 0);
	/* "acme " (trailing space) is not found inside free text */
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "xacme y", 0, &k), 0);
	/* a JSON value of another tenant's own records */
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "{\"org\": \"acme2\", "
	    "\"n\": 3}", 1, &k), 0);
	foreign_list_free(l);
}
END_TEST

START_TEST(test_no_misses)
{
	struct foreign_list *l;
	enum foreign_kind k;

	l = parse("acme\nacme \n\xf0\x9f\x9a\x80rocket\n"
	    "x'; DROP TABLE t;--\n3f2a0c1e-0000-4000-8000-000000000001\n", 0);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "acme", 0, &k), 1);
	ck_assert_int_eq(k, FOREIGN_HIT_VALUE);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "sent to acme's office", 0,
	    &k), 1);
	ck_assert_int_eq(k, FOREIGN_HIT_TOKEN);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "bob@acme.com", 0, &k), 1);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "[acme]", 0, &k), 1);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "acme ", 0, &k), 2);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "go \xf0\x9f\x9a\x80rocket!",
	    0, &k), 3);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "x'; DROP TABLE t;--", 0, &k),
	    4);
	/* JSON: a string value holding an id with spaces and quotes */
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "{\"owner\": \"x'; DROP "
	    "TABLE t;--\"}", 1, &k), 4);
	ck_assert_int_eq(k, FOREIGN_HIT_JSON);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "{\"owner\": \"acme \"}", 1,
	    &k), 2);
	ck_assert_int_eq(k, FOREIGN_HIT_JSON);
	/* escapes are decoded */
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "[\"\\u0061cme\"]", 1, &k), 1);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "{\"k\": \"\\ud83d\\ude80"
	    "rocket\"}", 1, &k), 3);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "ref 3f2a0c1e-0000-4000-8000-"
	    "000000000001.", 0, &k), 5);
	/* substring mode finds what tokens do not */
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "acme2", 0, &k), 0);
	ck_assert_uint_eq(hit(l, FOREIGN_SUBSTRING, "acme2", 0, &k), 1);
	ck_assert_int_eq(k, FOREIGN_HIT_SUBSTRING);
	ck_assert_str_eq(foreign_kind_str(k), "substring");
	foreign_list_free(l);
}
END_TEST

START_TEST(test_first_of_duplicates)
{
	struct foreign_list *l = parse("b\na\nb\n", 0);
	enum foreign_kind k;
	enum foreign_mode m;

	ck_assert_uint_eq(foreign_list_count(l), 3);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "b", 0, &k), 1);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "a", 0, &k), 2);
	ck_assert_int_eq(foreign_mode_parse("token", &m), 0);
	ck_assert_int_eq(m, FOREIGN_TOKEN);
	ck_assert_int_eq(foreign_mode_parse("substring", &m), 0);
	ck_assert_int_eq(m, FOREIGN_SUBSTRING);
	ck_assert_int_eq(foreign_mode_parse("fuzzy", &m), ERR_USAGE);
	foreign_list_free(l);
}
END_TEST

START_TEST(test_own_id)
{
	struct foreign_list *l = parse("acme\nAcme\n", 0);
	enum foreign_kind k;

	/* the rows of tenant "acme " all hold "acme ": not a hit on "acme" */
	own = "acme ";
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "acme ", 0, &k), 0);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "order 1 for acme ", 0, &k), 0);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "{\"org\": \"acme \"}", 1,
	    &k), 0);
	ck_assert_uint_eq(hit(l, FOREIGN_SUBSTRING, "for acme here", 0, &k), 0);
	/* ... but another mention still is */
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "acme, not acme ", 0, &k), 1);
	ck_assert_uint_eq(hit(l, FOREIGN_TOKEN, "from Acme", 0, &k), 2);
	ck_assert_uint_eq(hit(l, FOREIGN_SUBSTRING, "xacmey and acme ", 0, &k),
	    1);
	own = NULL;
	foreign_list_free(l);
}
END_TEST

static Suite *
foreign_suite(void)
{
	Suite *s = suite_create("foreign");
	TCase *tc = tcase_create("foreign");

	tcase_add_test(tc, test_parse_exact);
	tcase_add_test(tc, test_no_false_hits);
	tcase_add_test(tc, test_no_misses);
	tcase_add_test(tc, test_first_of_duplicates);
	tcase_add_test(tc, test_own_id);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(foreign_suite());
}
