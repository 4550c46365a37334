/*
 * check_ident.c: PostgreSQL identifiers as written in the config, on the
 * command line and in the archive, and the file names of extracted
 * tables.
 */
#include <string.h>

#include "buf.h"
#include "err.h"
#include "ident.h"
#include "testutil.h"

/* Parses s as one identifier; returns the error code, name in out. */
static int
get1(const char *s, char out[IDENT_MAX + 1], size_t *left)
{
	struct buf *b = buf_from(s, strlen(s));
	const char *why;
	int r;

	ck_assert_ptr_nonnull(b);
	r = ident_get(b, out, &why);
	ck_assert_ptr_nonnull(why);
	if (left != NULL)
		*left = buf_len(b);
	buf_free(b);
	return r;
}

START_TEST(test_get_forms)
{
	char n[IDENT_MAX + 1];
	size_t left;

	ck_assert_int_eq(get1("app", n, &left), 0);
	ck_assert_str_eq(n, "app");
	ck_assert_int_eq(get1("_a1$b.x", n, &left), 0);
	ck_assert_str_eq(n, "_a1$b");
	ck_assert_uint_eq(left, 2);
	ck_assert_int_eq(get1("caf\xc3\xa9", n, NULL), 0);
	ck_assert_str_eq(n, "caf\xc3\xa9");
	ck_assert_int_eq(get1("\"Order Items\"", n, &left), 0);
	ck_assert_str_eq(n, "Order Items");
	ck_assert_uint_eq(left, 0);
	ck_assert_int_eq(get1("\"say \"\"hi\"\".x\"", n, NULL), 0);
	ck_assert_str_eq(n, "say \"hi\".x");
	ck_assert_int_eq(get1("U&\"a\\000Ab\\+01F680\\\\\"", n, NULL), 0);
	ck_assert_str_eq(n, "a\nb\xf0\x9f\x9a\x80\\");
	ck_assert_int_eq(get1("u&\"\\0041\"", n, NULL), 0);
	ck_assert_str_eq(n, "A");
	/* a backslash is literal in a plain quoted name */
	ck_assert_int_eq(get1("\"a\\0041\"", n, NULL), 0);
	ck_assert_str_eq(n, "a\\0041");
}
END_TEST

START_TEST(test_get_refused)
{
	char n[IDENT_MAX + 1];
	char longq[80];

	/* upper case is folded by PostgreSQL: ambiguous, refused */
	ck_assert_int_eq(get1("Users", n, NULL), ERR_FORMAT);
	ck_assert_str_eq(n, "");
	ck_assert_int_eq(get1("1abc", n, NULL), ERR_FORMAT);
	ck_assert_int_eq(get1("$x", n, NULL), ERR_FORMAT);
	ck_assert_int_eq(get1("", n, NULL), ERR_FORMAT);
	ck_assert_int_eq(get1("\"\"", n, NULL), ERR_FORMAT);
	ck_assert_int_eq(get1("\"open", n, NULL), ERR_FORMAT);
	ck_assert_int_eq(get1("U&\"\\00\"", n, NULL), ERR_FORMAT);
	ck_assert_int_eq(get1("U&\"\\0000\"", n, NULL), ERR_FORMAT);
	ck_assert_int_eq(get1("U&\"\\D800\"", n, NULL), ERR_FORMAT);
	ck_assert_int_eq(get1("U&\"\\+110000\"", n, NULL), ERR_FORMAT);
	ck_assert_int_eq(get1("\"\xc0\xaf\"", n, NULL), ERR_FORMAT);
	memset(longq, 'a', 64);
	longq[64] = '\0';
	ck_assert_int_eq(get1(longq, n, NULL), ERR_LIMIT);
	longq[63] = '\0';
	ck_assert_int_eq(get1(longq, n, NULL), 0);
}
END_TEST

START_TEST(test_qualified)
{
	char s[IDENT_MAX + 1], t[IDENT_MAX + 1];
	const char *why;

	ck_assert_int_eq(ident_parse_qualified(" crm.\"Order Items\" ", 19, s,
	    t, &why), 0);
	ck_assert_str_eq(s, "crm");
	ck_assert_str_eq(t, "Order Items");
	ck_assert_int_eq(ident_parse_qualified("\"a.b\".\"c.d\"", 11, s, t,
	    &why), 0);
	ck_assert_str_eq(s, "a.b");
	ck_assert_str_eq(t, "c.d");
	ck_assert_int_eq(ident_parse_qualified("crm.Order Items", 15, s, t,
	    &why), ERR_FORMAT);
	ck_assert_int_eq(ident_parse_qualified("crm.order items", 15, s, t,
	    &why), ERR_FORMAT);
	ck_assert_int_eq(ident_parse_qualified("app", 3, s, t, &why),
	    ERR_FORMAT);
	ck_assert_int_eq(ident_parse_qualified("a.b.c", 5, s, t, &why),
	    ERR_FORMAT);
	ck_assert_str_eq(s, "");
}
END_TEST

START_TEST(test_quote)
{
	char q[IDENT_QNAME_MAX];

	ck_assert_int_eq(ident_quote(q, sizeof(q), "users"), 0);
	ck_assert_str_eq(q, "users");
	ck_assert_int_eq(ident_quote(q, sizeof(q), "Users"), 0);
	ck_assert_str_eq(q, "\"Users\"");
	ck_assert_int_eq(ident_quote(q, sizeof(q), "a\"b"), 0);
	ck_assert_str_eq(q, "\"a\"\"b\"");
	ck_assert_int_eq(ident_quote(q, sizeof(q), "x$"), 0);
	ck_assert_str_eq(q, "\"x$\"");
	ck_assert_int_eq(ident_quote(q, sizeof(q), ""), ERR_INVALID);
	ck_assert_int_eq(ident_quote(q, 4, "Users"), ERR_LIMIT);
	ck_assert_int_eq(ident_qualify(q, sizeof(q), "crm", "Order Items"), 0);
	ck_assert_str_eq(q, "crm.\"Order Items\"");
	ck_assert_int_eq(ident_qualify(q, sizeof(q), "a.b", "c"), 0);
	ck_assert_str_eq(q, "\"a.b\".c");
}
END_TEST

/* What the config form writes reads back to the same name. */
static void
roundtrip(const char *name, const char *want)
{
	char q[IDENT_CONFIG_MAX], back[IDENT_MAX + 1];

	ck_assert_int_eq(ident_quote_config(q, sizeof(q), name), 0);
	if (want != NULL)
		ck_assert_str_eq(q, want);
	ck_assert_int_eq(get1(q, back, NULL), 0);
	ck_assert_str_eq(back, name);
}

START_TEST(test_quote_config)
{
	roundtrip("users", "users");
	roundtrip("Full Name", "\"Full Name\"");
	roundtrip("a]b", "\"a]b\"");
	roundtrip("line\nbreak", "U&\"line\\000Abreak\"");
	roundtrip("x ;y\\\"", "U&\"x \\003By\\\\\"\"\"");
	roundtrip("\xc3\xa9t\xc3\xa9\x01", "U&\"\xc3\xa9t\xc3\xa9\\0001\"");
	roundtrip("\xc2\x85", "U&\"\\0085\"");
	roundtrip("\xf0\x9f\x9a\x80", "\"\xf0\x9f\x9a\x80\"");
}
END_TEST

START_TEST(test_file_name)
{
	char f[IDENT_FILE_MAX + 1], g[IDENT_FILE_MAX + 1];
	char longn[IDENT_MAX + 1];

	ck_assert_int_eq(ident_file_name(f, sizeof(f), "app", "users",
	    "jsonl"), 0);
	ck_assert_str_eq(f, "app.users.jsonl");
	ck_assert_int_eq(ident_file_name(f, sizeof(f), "crm", "Order Items",
	    "csv"), 0);
	ck_assert_str_eq(f, "crm.%4Frder%20%49tems.csv");
	/* a dot or slash never splits or escapes the name */
	ck_assert_int_eq(ident_file_name(f, sizeof(f), "a.b", "../c", "csv"),
	    0);
	ck_assert_str_eq(f, "a%2Eb.%2E%2E%2Fc.csv");
	ck_assert_int_eq(ident_file_name(g, sizeof(g), "a", "b.c", "csv"), 0);
	ck_assert_str_ne(f, g);
	/* case and percent signs stay distinct, even ignoring case */
	ck_assert_int_eq(ident_file_name(f, sizeof(f), "s", "A", "csv"), 0);
	ck_assert_int_eq(ident_file_name(g, sizeof(g), "s", "a", "csv"), 0);
	ck_assert_int_ne(strcasecmp(f, g), 0);
	ck_assert_int_eq(ident_file_name(f, sizeof(f), "s", "%41", "csv"), 0);
	ck_assert_str_eq(f, "s.%2541.csv");
	/* too long: a prefix and a hash */
	memset(longn, 'Q', IDENT_MAX);
	longn[IDENT_MAX] = '\0';
	ck_assert_int_eq(ident_file_name(f, sizeof(f), longn, longn, "jsonl"),
	    0);
	ck_assert_uint_le(strlen(f), IDENT_FILE_MAX);
	ck_assert_ptr_nonnull(strchr(f, '~'));
	longn[0] = 'R';
	ck_assert_int_eq(ident_file_name(g, sizeof(g), "Q", longn, "jsonl"),
	    0);
	ck_assert_str_ne(f, g);
	ck_assert_int_eq(ident_file_name(f, sizeof(f), "", "x", "csv"),
	    ERR_INVALID);
}
END_TEST

static Suite *
ident_suite(void)
{
	Suite *s = suite_create("ident");
	TCase *tc = tcase_create("ident");

	tcase_add_test(tc, test_get_forms);
	tcase_add_test(tc, test_get_refused);
	tcase_add_test(tc, test_qualified);
	tcase_add_test(tc, test_quote);
	tcase_add_test(tc, test_quote_config);
	tcase_add_test(tc, test_file_name);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(ident_suite());
}
