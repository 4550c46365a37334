/*
 * format/coltype.c: which CBOR forms a column's values may take, and the
 * rule codes (format/rule.c) the reader reports. coltype_fast (the
 * readers' path for the common forms) is held to coltype_check on every
 * input here, hand-written and random: where it takes a value,
 * coltype_check must take the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "coltype.h"
#include "dcbor.h"
#include "err.h"
#include "rule.h"
#include "testutil.h"

/* coltype_fast against coltype_check on p[0..n): where the fast path
 * takes a value, coltype_check returns 0 after the same bytes; where it
 * does not, it has not moved. Returns coltype_fast's answer. */
static int
fast_agrees(const struct coltype *t, const uint8_t *p, size_t n,
    const char *what)
{
	const uint8_t *q = p;
	struct buf *b;
	int f, r;

	f = coltype_fast(t, &q, p + n);
	ck_assert_ptr_nonnull(b = buf_from(p, n));
	r = coltype_check(t, b);
	if (f)
		ck_assert_msg(r == 0 && (size_t)(q - p) == n - buf_len(b),
		    "%s: coltype_fast took %zu bytes, coltype_check %d after "
		    "%zu", what, (size_t)(q - p), r, n - buf_len(b));
	else
		ck_assert_msg(q == p, "%s: coltype_fast moved on a refusal",
		    what);
	buf_free(b);
	return f;
}

/* coltype_check on hex bytes for a column of the given spelling; the
 * whole input must be consumed when the result is 0, ERR_TAG or ERR_TYPE;
 * coltype_fast must agree. */
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
	(void)fast_agrees(&t, p, n, hex);
	free(p);
	return r;
}

/* coltype_fast takes the common forms itself (else the readers lose the
 * path and nothing else would say so). */
START_TEST(test_fast_takes)
{
	static const struct {
		const char *spelling, *hex;
	} t[] = {
		{ "bigint", "1b 0000000100000000" }, { "bigint", "38 63" },
		{ "text", "63 616263" }, { "text", "f6" },
		{ "bytea", "42 0102" }, { "boolean", "f4" },
		{ "double precision", "fb 3fb999999999999a" },
		{ "real", "f9 3e00" }, { "smallint", "19 7fff" },
		{ "uuid", "d825 50 00112233445566778899aabbccddeeff" },
		{ "date", "d903ec 6a 323032342d30322d3239" },
		{ "date", "68 696e66696e697479" },
		{ "timestamp with time zone",
		    "c0 77 323032342d30352d30365430373a30383a30392e32355a" },
	};
	struct coltype c;
	uint8_t *p;
	size_t i, n;

	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		coltype_parse(t[i].spelling, &c);
		p = test_unhex(t[i].hex, &n);
		ck_assert_msg(fast_agrees(&c, p, n, t[i].hex) == 1,
		    "%s %s: not taken", t[i].spelling, t[i].hex);
		free(p);
	}
}
END_TEST

/* One random item at b: mostly well-formed values of every kind (tags
 * with their forms or not, strings with UTF-8 or not, heads of every
 * width, shortest or not), sometimes nested. */
static void
random_item(struct buf *b, int depth)
{
	static const char *const dates[] = { "2024-02-29", "2023-02-29",
	    "0000-01-01", "2024-05-06T07:08:09Z", "2024-05-06T07:08:09.25Z",
	    "2024-05-06T07:08:09.250Z", "2024-05-06T24:00:00Z", "infinity",
	    "10000-01-01", "0044-03-15 BC", "2024-1-01" };
	uint8_t raw[24];
	size_t i, n;
	uint32_t k = randombytes_uniform(depth > 1 ? 14 : 16);

	randombytes_buf(raw, sizeof(raw));
	switch (k) {
	case 0: ck_assert_int_eq(buf_put_u8(b, 0xf6), 0); break;
	case 1: ck_assert_int_eq(buf_put_u8(b, 0xf4 +
	    (uint8_t)randombytes_uniform(4)), 0); break;
	case 2:
	case 3:
		/* an integer head of any width, of major type 0 or 1 */
		n = (size_t)1 << randombytes_uniform(4);
		ck_assert_int_eq(buf_put_u8(b, (uint8_t)((k - 2) << 5 |
		    (randombytes_uniform(3) == 0 ?
		    randombytes_uniform(24) : 24 + (n == 1 ? 0 : n == 2 ?
		    1 : n == 4 ? 2 : 3)))), 0);
		if (randombytes_uniform(2))
			memset(raw, 0, n - 1);	/* often not shortest */
		ck_assert_int_eq(buf_put(b, raw, n), 0);
		break;
	case 4:
		/* a float of each width */
		i = randombytes_uniform(3);
		ck_assert_int_eq(buf_put_u8(b, (uint8_t)(0xf9 + i)), 0);
		ck_assert_int_eq(buf_put(b, raw, (size_t)2 << i), 0);
		break;
	case 5:
		ck_assert_int_eq(dcbor_put_float(b, (double)raw[0] / 8), 0);
		break;
	case 6:
	case 7:
		n = randombytes_uniform(20);
		if (k == 6)
			ck_assert_int_eq(dcbor_put_bytes(b, raw, n), 0);
		else {
			for (i = 0; i < n; i++)
				if (randombytes_uniform(8) != 0)
					raw[i] = (uint8_t)('a' + raw[i] % 26);
			ck_assert_int_eq(buf_put_u8(b, (uint8_t)(0x60 | n)), 0);
			ck_assert_int_eq(buf_put(b, raw, n), 0);
		}
		break;
	case 8:
		i = randombytes_uniform(sizeof(dates) / sizeof(dates[0]));
		ck_assert_int_eq(dcbor_put_text(b, dates[i],
		    strlen(dates[i])), 0);
		break;
	case 9:
	case 10:
		/* a tag: 0, 1004, 37 or another, on a date, a uuid or anything */
		i = randombytes_uniform(5);
		ck_assert_int_eq(dcbor_put_tag(b, i == 0 ? 0 : i == 1 ? 1004 :
		    i == 2 ? 37 : i == 3 ? 1 : 55799), 0);
		if (k == 9)
			random_item(b, depth + 1);
		else if (randombytes_uniform(2)) {
			i = randombytes_uniform(sizeof(dates) /
			    sizeof(dates[0]));
			ck_assert_int_eq(dcbor_put_text(b, dates[i],
			    strlen(dates[i])), 0);
		} else
			ck_assert_int_eq(dcbor_put_bytes(b, raw,
			    randombytes_uniform(3) ? 16 : 15), 0);
		break;
	case 11:
		/* a byte from anywhere */
		ck_assert_int_eq(buf_put_u8(b, raw[0]), 0);
		break;
	case 12:
	case 13:
		/* text of valid UTF-8 beyond ASCII, or with a bad byte */
		if (k == 12)
			ck_assert_int_eq(dcbor_put_text(b, "\xc3\xa9t\xc3\xa9",
			    5), 0);
		else {
			ck_assert_int_eq(buf_put_u8(b, 0x64), 0);
			ck_assert_int_eq(buf_put(b, "\xc3(\xc3\xa9", 4), 0);
		}
		break;
	default:
		/* an array or a map */
		n = randombytes_uniform(3);
		if (k == 14)
			ck_assert_int_eq(dcbor_put_array(b, n), 0);
		else
			ck_assert_int_eq(dcbor_put_map(b, n), 0);
		for (i = 0; i < (k == 14 ? n : 2 * n); i++)
			random_item(b, depth + 1);
	}
}

/* Random items, whole, cut short or with a byte changed, in columns of
 * every kind and their arrays: coltype_fast never takes what coltype_check
 * would not take the same way. */
START_TEST(test_fast_random)
{
	static const char *const spellings[] = { "bigint", "integer",
	    "smallint", "oid", "real", "double precision", "boolean",
	    "bytea", "uuid", "date", "timestamp with time zone", "text",
	    "numeric(10,2)", "integer[]", "text[]" };
	struct coltype t[sizeof(spellings) / sizeof(spellings[0])];
	struct buf *b = buf_new(1 << 16);
	uint8_t *p;
	size_t i, n, taken = 0;
	int round;

	ck_assert_ptr_nonnull(b);
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		coltype_parse(spellings[i], &t[i]);
	for (round = 0; round < 100000; round++) {
		buf_reset(b);
		random_item(b, 0);
		p = (uint8_t *)malloc(buf_len(b) + 1);
		ck_assert_ptr_nonnull(p);
		memcpy(p, buf_ptr(b), buf_len(b));
		n = buf_len(b);
		switch (randombytes_uniform(4)) {
		case 0:
			n = randombytes_uniform((uint32_t)n + 1);
			break;
		case 1:
			p[randombytes_uniform((uint32_t)n)] ^=
			    (uint8_t)(1 + randombytes_uniform(255));
			break;
		}
		for (i = 0; i < sizeof(t) / sizeof(t[0]); i++)
			taken += (size_t)fast_agrees(&t[i], p, n,
			    spellings[i]);
		free(p);
	}
	/* the generator reaches the fast path, not only its refusals */
	ck_assert_uint_gt(taken, 10000);
	buf_free(b);
}
END_TEST

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
	tcase_add_test(tc, test_fast_takes);
	tcase_add_test(tc, test_fast_random);
	tcase_set_timeout(tc, 120);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	if (sodium_init() < 0)
		return 1;
	return test_run_suite(coltype_suite());
}
