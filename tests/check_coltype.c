/*
 * format/coltype.c: which CBOR forms a column's values may take, and the
 * rule codes (format/rule.c) the reader reports.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "coltype.h"
#include "err.h"
#include "rule.h"
#include "testutil.h"

/* coltype_check on hex bytes for a column of the given spelling; the
 * whole input must be consumed when the result is 0, ERR_TAG or ERR_TYPE. */
static int
check_hex(const char *spelling, const char *hex)
{
	struct coltype t;
	struct buf *b;
	uint8_t *p;
	size_t n;
	int r;

	coltype_parse(spelling, &t);
	p = test_unhex(hex, &n);
	b = buf_from(p, n);
	ck_assert_ptr_nonnull(b);
	r = coltype_check(&t, b);
	if (r == 0 || r == ERR_TAG || r == ERR_TYPE)
		ck_assert_msg(buf_len(b) == 0, "%s %s: %zu bytes left",
		    spelling, hex, buf_len(b));
	buf_free(b);
	free(p);
	return r;
}

START_TEST(test_spellings)
{
	static const struct {
		const char *s;
		int kind, array;
	} t[] = {
		{ "bigint", COLTYPE_INT8, 0 }, { "integer[]", COLTYPE_INT4, 1 },
		{ "smallint", COLTYPE_INT2, 0 }, { "oid", COLTYPE_OID, 0 },
		{ "real", COLTYPE_FLOAT4, 0 },
		{ "double precision[]", COLTYPE_FLOAT8, 1 },
		{ "boolean", COLTYPE_BOOL, 0 }, { "bytea", COLTYPE_BYTES, 0 },
		{ "uuid", COLTYPE_UUID, 0 }, { "date", COLTYPE_DATE, 0 },
		{ "timestamp with time zone", COLTYPE_TSTZ, 0 },
		{ "timestamp(3) with time zone[]", COLTYPE_TSTZ, 1 },
		{ "timestamp(3) without time zone", COLTYPE_TEXT, 0 },
		{ "character varying(20)[]", COLTYPE_TEXT, 1 },
		{ "numeric(10,2)", COLTYPE_TEXT, 0 },
		{ "numeric(10,2)[]", COLTYPE_TEXT, 1 },
		{ "jsonb[]", COLTYPE_TEXT, 1 },
		/* other types and arrays of them travel as text */
		{ "int8", COLTYPE_TEXT, 0 }, { "app.mood", COLTYPE_TEXT, 0 },
		{ "app.mood[]", COLTYPE_TEXT, 0 }, { "interval", COLTYPE_TEXT, 0 },
		{ "integer[][]", COLTYPE_TEXT, 0 },
		{ "numeric(12345,2)", COLTYPE_TEXT, 0 },
		{ "public.uuid", COLTYPE_TEXT, 0 }, { "", COLTYPE_TEXT, 0 },
	};
	struct coltype ct;
	size_t i;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		coltype_parse(t[i].s, &ct);
		ck_assert_msg(ct.kind == t[i].kind && ct.array == t[i].array,
		    "\"%s\": kind %d array %d", t[i].s, ct.kind, ct.array);
	}
}
END_TEST

START_TEST(test_forms)
{
	/* every kind takes null */
	ck_assert_int_eq(check_hex("uuid", "f6"), 0);
	ck_assert_int_eq(check_hex("smallint", "19 7fff"), 0);
	ck_assert_int_eq(check_hex("smallint", "19 8000"), ERR_TYPE);
	ck_assert_int_eq(check_hex("smallint", "39 7fff"), 0);
	ck_assert_int_eq(check_hex("smallint", "39 8000"), ERR_TYPE);
	ck_assert_int_eq(check_hex("integer", "1a 7fffffff"), 0);
	ck_assert_int_eq(check_hex("integer", "1a 80000000"), ERR_TYPE);
	ck_assert_int_eq(check_hex("bigint", "3b 7fffffffffffffff"), 0);
	ck_assert_int_eq(check_hex("bigint", "3b 8000000000000000"), ERR_TYPE);
	ck_assert_int_eq(check_hex("oid", "1a ffffffff"), 0);
	ck_assert_int_eq(check_hex("oid", "20"), ERR_TYPE);
	ck_assert_int_eq(check_hex("real", "fa 3dcccccd"), 0);
	ck_assert_int_eq(check_hex("real", "fb 3fb999999999999a"), ERR_TYPE);
	ck_assert_int_eq(check_hex("double precision", "fb 3fb999999999999a"),
	    0);
	ck_assert_int_eq(check_hex("bigint", "f9 3e00"), ERR_TYPE);
	ck_assert_int_eq(check_hex("boolean", "f5"), 0);
	ck_assert_int_eq(check_hex("boolean", "01"), ERR_TYPE);
	ck_assert_int_eq(check_hex("bytea", "42 0102"), 0);
	ck_assert_int_eq(check_hex("text", "42 0102"), ERR_TYPE);
	ck_assert_int_eq(check_hex("app.mood", "63 616263"), 0);
	ck_assert_int_eq(check_hex("text", "a1 6161 01"), ERR_TYPE);
	ck_assert_int_eq(check_hex("text", "80"), ERR_TYPE);
}
END_TEST

START_TEST(test_tags)
{
	static const char uuid[] = "d825 50 00112233445566778899aabbccddeeff";

	ck_assert_int_eq(check_hex("uuid", uuid), 0);
	ck_assert_int_eq(check_hex("text", uuid), ERR_TYPE);
	ck_assert_int_eq(check_hex("uuid", "d825 48 0011223344556677"),
	    ERR_TAG);
	ck_assert_int_eq(check_hex("uuid", "d825 63 616263"), ERR_TAG);
	ck_assert_int_eq(check_hex("text", "c1 1a 65980c05"), ERR_TAG);
	ck_assert_int_eq(check_hex("text", "d9d9f7 63 616263"), ERR_TAG);
	/* tag 1004: a valid date, years 0001..9999 */
	ck_assert_int_eq(check_hex("date", "d903ec 6a 323032342d30322d3239"),
	    0);
	ck_assert_int_eq(check_hex("date", "d903ec 6a 323032332d30322d3239"),
	    ERR_TAG);
	ck_assert_int_eq(check_hex("date", "d903ec 6a 303030302d30312d3031"),
	    ERR_TAG);
	/* tag 0: the UTC form, fraction without trailing zeros */
	ck_assert_int_eq(check_hex("timestamp with time zone",
	    "c0 77 323032342d30352d30365430373a30383a30392e32355a"), 0);
	ck_assert_int_eq(check_hex("timestamp with time zone",
	    "c0 78 18 323032342d30352d30365430373a30383a30392e3235305a"),
	    ERR_TAG);
	ck_assert_int_eq(check_hex("timestamp with time zone",
	    "c0 74 323032342d30352d30365432343a30303a30305a"), ERR_TAG);
	ck_assert_int_eq(check_hex("date",
	    "c0 74 323032342d30352d30365430373a30383a30395a"), ERR_TYPE);
	/* untagged date text only where the tag cannot carry it */
	ck_assert_int_eq(check_hex("date", "68 696e66696e697479"), 0);
	ck_assert_int_eq(check_hex("date",
	    "6d 303034342d30332d3135204243"), 0);
	ck_assert_int_eq(check_hex("date", "6b 31303030302d30312d3031"), 0);
	ck_assert_int_eq(check_hex("date", "6a 323032342d30312d3031"),
	    ERR_TYPE);
}
END_TEST

START_TEST(test_arrays)
{
	ck_assert_int_eq(check_hex("integer[]", "80"), 0);
	ck_assert_int_eq(check_hex("integer[]", "82 01 f6"), 0);
	ck_assert_int_eq(check_hex("integer[]", "82 82 01 02 82 03 04"), 0);
	ck_assert_int_eq(check_hex("integer[]", "82 82 01 02 81 03"),
	    ERR_TYPE);
	ck_assert_int_eq(check_hex("integer[]", "82 01 81 02"), ERR_TYPE);
	ck_assert_int_eq(check_hex("integer[]", "81 80"), ERR_TYPE);
	ck_assert_int_eq(check_hex("integer[]", "01"), ERR_TYPE);
	ck_assert_int_eq(check_hex("integer[]", "82 01 63 616263"), ERR_TYPE);
	/* six levels, not seven */
	ck_assert_int_eq(check_hex("integer[]", "81 81 81 81 81 81 01"), 0);
	ck_assert_int_eq(check_hex("integer[]", "81 81 81 81 81 81 81 01"),
	    ERR_TYPE);
	ck_assert_int_eq(check_hex("uuid[]",
	    "81 d825 50 00112233445566778899aabbccddeeff"), 0);
	ck_assert_int_eq(check_hex("uuid[]",
	    "d825 50 00112233445566778899aabbccddeeff"), ERR_TYPE);
	ck_assert_int_eq(check_hex("uuid[]", "81 d825 41 00"), ERR_TAG);
}
END_TEST

/* Malformed bytes stop the reader: not a type error. */
START_TEST(test_malformed)
{
	ck_assert_int_eq(check_hex("bigint", "18 05"), ERR_CBOR);
	ck_assert_int_eq(check_hex("integer[]", "9f 01 ff"), ERR_CBOR);
	ck_assert_int_eq(check_hex("text", "63 6162"), ERR_TRUNCATED);
	ck_assert_int_eq(check_hex("integer[]", "83 01 02"), ERR_TRUNCATED);
	/* a wrong form that is itself malformed is malformed */
	ck_assert_int_eq(check_hex("boolean", "82 01"), ERR_TRUNCATED);
}
END_TEST

START_TEST(test_rule_codes)
{
	const char *c, *s;
	int r, k, i;

	for (r = RULE_NONE + 1; r < RULE__COUNT; r++) {
		c = rule_code((enum rule)r);
		s = rule_section((enum rule)r);
		ck_assert_str_ne(c, "internal");
		for (i = 0; c[i] != '\0'; i++)
			ck_assert(c[i] == '_' || (c[i] >= 'a' && c[i] <= 'z'));
		ck_assert(s[0] == '\0' || strncmp(s, "§", 2) == 0);
		for (k = RULE_NONE + 1; k < r; k++)
			ck_assert_str_ne(c, rule_code((enum rule)k));
		ck_assert_int_ne(rule_err((enum rule)r), ERR_INTERNAL);
	}
	ck_assert_str_eq(rule_code(RULE_TRAILING_DATA), "trailing_data");
	ck_assert_str_eq(rule_section(RULE_TRAILING_DATA), "§3");
	ck_assert_str_eq(rule_code((enum rule)999), "internal");
	ck_assert_int_eq(rule_from_err(ERR_AGE_PAYLOAD), RULE_AGE_PAYLOAD);
	ck_assert_int_eq(rule_from_err(ERR_IO), RULE_NONE);
}
END_TEST

static Suite *
coltype_suite(void)
{
	Suite *s = suite_create("coltype");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_spellings);
	tcase_add_test(tc, test_forms);
	tcase_add_test(tc, test_tags);
	tcase_add_test(tc, test_arrays);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_rule_codes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(coltype_suite());
}
