#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "dcbor.h"
#include "err.h"
#include "manifest.h"
#include "testutil.h"
#include "values.h"

/* Converts the CBOR item cbor[0..len) and returns the text (malloc'd). */
static char *
conv(const uint8_t *cbor, size_t len, int csv)
{
	struct buf *in = buf_from(cbor, len), *out = buf_new(1 << 20);
	char *s;

	ck_assert_ptr_nonnull(in);
	ck_assert_ptr_nonnull(out);
	ck_assert_int_eq(csv ? values_csv_item(in, out) :
	    values_json_item(in, out), 0);
	ck_assert_int_eq(buf_len(in), 0);	/* the whole item consumed */
	s = strndup((const char *)buf_ptr(out), buf_len(out));
	buf_free(in);
	buf_free(out);
	return s;
}

/* Converts the item in b (both ways) and compares with the expectations. */
static void
expect(struct buf *b, const char *json, const char *csv)
{
	char *s;

	s = conv(buf_ptr(b), buf_len(b), 0);
	ck_assert_str_eq(s, json);
	free(s);
	s = conv(buf_ptr(b), buf_len(b), 1);
	ck_assert_str_eq(s, csv);
	free(s);
	buf_reset(b);
}

/* Expects error code want both ways, with the output left untouched. */
static void
expect_err(struct buf *b, int want)
{
	struct buf *in, *out = buf_new(1 << 20);
	int csv;

	for (csv = 0; csv < 2; csv++) {
		in = buf_from(buf_ptr(b), buf_len(b));
		ck_assert_int_eq(buf_put_str(out, "keep"), 0);
		ck_assert_int_eq(csv ? values_csv_item(in, out) :
		    values_json_item(in, out), want);
		ck_assert_int_eq(buf_len(out), 4);
		ck_assert(memcmp(buf_ptr(out), "keep", 4) == 0);
		buf_reset(out);
		buf_free(in);
	}
	buf_free(out);
	buf_reset(b);
}

static struct buf *
nb(void)
{
	struct buf *b = buf_new(1 << 16);

	ck_assert_ptr_nonnull(b);
	return b;
}

START_TEST(test_integers)
{
	static const uint8_t min64[] = { 0x3b, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff };
	struct buf *b = nb();

	dcbor_put_uint(b, 0);
	expect(b, "0", "0");
	dcbor_put_uint(b, 24);
	expect(b, "24", "24");
	dcbor_put_uint(b, UINT64_MAX);
	expect(b, "18446744073709551615", "18446744073709551615");
	dcbor_put_int(b, -1);
	expect(b, "-1", "-1");
	dcbor_put_int(b, INT64_MIN);
	expect(b, "-9223372036854775808", "-9223372036854775808");
	buf_put(b, min64, sizeof(min64));	/* -2^64 */
	expect(b, "-18446744073709551616", "-18446744073709551616");
	buf_free(b);
}
END_TEST

START_TEST(test_floats)
{
	struct buf *b = nb();

	dcbor_put_float(b, 1.5);
	expect(b, "1.5", "1.5");
	/* JSON keeps it a real; CSV prints it as PostgreSQL does. */
	dcbor_put_float(b, 1.0);
	expect(b, "1.0", "1");
	dcbor_put_float(b, 0.1);
	expect(b, "0.1", "0.1");
	dcbor_put_float(b, -2.5e-300);
	expect(b, "-2.5e-300", "-2.5e-300");
	dcbor_put_float(b, 1e20);
	expect(b, "1e+20", "1e+20");
	dcbor_put_float(b, 3.4028234663852886e38);	/* FLT_MAX, single */
	expect(b, "3.4028234663852886e+38", "3.4028234663852886e+38");
	dcbor_put_float(b, -0.0);
	expect(b, "-0.0", "-0");
	dcbor_put_float(b, NAN);
	expect(b, "\"NaN\"", "NaN");
	dcbor_put_float(b, INFINITY);
	expect(b, "\"Infinity\"", "Infinity");
	dcbor_put_float(b, -INFINITY);
	expect(b, "\"-Infinity\"", "-Infinity");
	buf_free(b);
}
END_TEST

START_TEST(test_text)
{
	struct buf *b = nb();
	static const char ctl[] = "a\"b\\c\nd\re\tf\001g\037";

	dcbor_put_text(b, "plain", 5);
	expect(b, "\"plain\"", "plain");
	dcbor_put_text(b, "", 0);
	expect(b, "\"\"", "\"\"");
	dcbor_put_text(b, ctl, sizeof(ctl) - 1);
	expect(b, "\"a\\\"b\\\\c\\nd\\re\\tf\\u0001g\\u001F\"",
	    "\"a\"\"b\\c\nd\re\tf\001g\037\"");
	dcbor_put_text(b, "a,b", 3);
	expect(b, "\"a,b\"", "\"a,b\"");
	dcbor_put_text(b, "say \"hi\"", 8);
	expect(b, "\"say \\\"hi\\\"\"", "\"say \"\"hi\"\"\"");
	dcbor_put_text(b, "\"", 1);
	expect(b, "\"\\\"\"", "\"\"\"\"");
	dcbor_put_text(b, "été ✓", strlen("été ✓"));
	expect(b, "\"été ✓\"", "été ✓");
	/* numeric and jsonb are text in the data model */
	dcbor_put_text(b, "123.4500", 8);
	expect(b, "\"123.4500\"", "123.4500");
	dcbor_put_text(b, "{\"a\": 1}", 8);
	expect(b, "\"{\\\"a\\\": 1}\"", "\"{\"\"a\"\": 1}\"");
	buf_free(b);
}
END_TEST

START_TEST(test_bytes)
{
	static const uint8_t v[] = { 0x00, 0xab, 0x10, 0xff };
	struct buf *b = nb();

	dcbor_put_bytes(b, v, sizeof(v));
	expect(b, "\"\\\\x00ab10ff\"", "\\x00ab10ff");
	dcbor_put_bytes(b, v, 0);
	expect(b, "\"\\\\x\"", "\\x");
	buf_free(b);
}
END_TEST

START_TEST(test_tags)
{
	static const uint8_t u[16] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
	    0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10 };
	struct buf *b = nb();

	dcbor_put_tag(b, DCBOR_TAG_UUID);
	dcbor_put_bytes(b, u, sizeof(u));
	expect(b, "\"01234567-89ab-cdef-fedc-ba9876543210\"",
	    "01234567-89ab-cdef-fedc-ba9876543210");
	dcbor_put_tag(b, DCBOR_TAG_DATETIME);
	dcbor_put_text(b, "2024-02-29T12:00:00.5Z", 22);
	expect(b, "\"2024-02-29T12:00:00.5Z\"", "2024-02-29T12:00:00.5Z");
	dcbor_put_tag(b, DCBOR_TAG_DATE);
	dcbor_put_text(b, "2024-02-29", 10);
	expect(b, "\"2024-02-29\"", "2024-02-29");
	/* dates outside the tag range are plain text */
	dcbor_put_text(b, "0044-03-15 BC", 13);
	expect(b, "\"0044-03-15 BC\"", "0044-03-15 BC");
	buf_free(b);
}
END_TEST

START_TEST(test_null_bool)
{
	struct buf *b = nb();

	dcbor_put_null(b);
	expect(b, "null", "");
	dcbor_put_bool(b, 0);
	expect(b, "false", "false");
	dcbor_put_bool(b, 1);
	expect(b, "true", "true");
	buf_free(b);
}
END_TEST

START_TEST(test_arrays)
{
	struct buf *b = nb();

	dcbor_put_array(b, 0);
	expect(b, "[]", "[]");
	dcbor_put_array(b, 2);
	dcbor_put_array(b, 2);
	dcbor_put_int(b, 1);
	dcbor_put_int(b, -2);
	dcbor_put_array(b, 2);
	dcbor_put_null(b);
	dcbor_put_text(b, "a,b", 3);
	expect(b, "[[1,-2],[null,\"a,b\"]]",
	    "\"[[1,-2],[null,\"\"a,b\"\"]]\"");
	dcbor_put_array(b, 3);
	dcbor_put_bool(b, 1);
	dcbor_put_float(b, NAN);
	dcbor_put_bytes(b, "\x01", 1);
	expect(b, "[true,\"NaN\",\"\\\\x01\"]",
	    "\"[true,\"\"NaN\"\",\"\"\\\\x01\"\"]\"");
	buf_free(b);
}
END_TEST

START_TEST(test_refused)
{
	struct buf *b = nb();
	int i;

	dcbor_put_map(b, 1);
	dcbor_put_text(b, "a", 1);
	dcbor_put_int(b, 1);
	expect_err(b, ERR_UNSUPPORTED);
	dcbor_put_tag(b, 2);			/* bignum: not in the model */
	dcbor_put_bytes(b, "\x01", 1);
	expect_err(b, ERR_UNSUPPORTED);
	dcbor_put_tag(b, DCBOR_TAG_UUID);	/* uuid of 15 bytes */
	dcbor_put_bytes(b, "0123456789abcde", 15);
	expect_err(b, ERR_FORMAT);
	dcbor_put_tag(b, DCBOR_TAG_DATE);	/* date that is not text */
	dcbor_put_int(b, 7);
	expect_err(b, ERR_FORMAT);
	for (i = 0; i < 17; i++)		/* one level too deep */
		dcbor_put_array(b, 1);
	dcbor_put_int(b, 1);
	expect_err(b, ERR_LIMIT);
	dcbor_put_array(b, 2);			/* array cut short */
	dcbor_put_int(b, 1);
	expect_err(b, ERR_TRUNCATED);
	buf_put(b, "\x18\x05", 2);		/* non-shortest head */
	expect_err(b, ERR_CBOR);
	buf_free(b);
}
END_TEST

START_TEST(test_json_string_utf8)
{
	struct buf *out = buf_new(64);

	ck_assert_int_eq(values_json_string((const uint8_t *)"\xc3\x28", 2,
	    out), ERR_FORMAT);
	ck_assert_int_eq(buf_len(out), 0);
	buf_free(out);
}
END_TEST

static struct manifest *
table_manifest(void)
{
	struct manifest *m = manifest_new();
	size_t t;

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(manifest_add_table(m, "app.t", 0, &t), 0);
	ck_assert_int_eq(manifest_add_column(m, t, "tenant_id", "text"), 0);
	ck_assert_int_eq(manifest_add_column(m, t, "n", "int8"), 0);
	ck_assert_int_eq(manifest_add_column(m, t, "note, \"x\"", "text"), 0);
	return m;
}

START_TEST(test_records)
{
	struct manifest *m = table_manifest();
	struct buf *rec = nb(), *out = buf_new(4096);

	ck_assert_int_eq(values_csv_header(&m->tables[0], out), 0);
	dcbor_put_array(rec, 3);
	dcbor_put_text(rec, "acme", 4);
	dcbor_put_int(rec, 42);
	dcbor_put_null(rec);
	ck_assert_int_eq(values_record_csv(&m->tables[0], buf_ptr(rec),
	    buf_len(rec), out), 0);
	ck_assert_int_eq(values_record_jsonl(&m->tables[0], buf_ptr(rec),
	    buf_len(rec), out), 0);
	ck_assert_int_eq(buf_len(out), strlen(
	    "tenant_id,n,\"note, \"\"x\"\"\"\r\nacme,42,\r\n"
	    "{\"tenant_id\":\"acme\",\"n\":42,\"note, \\\"x\\\"\":null}\n"));
	ck_assert(memcmp(buf_ptr(out),
	    "tenant_id,n,\"note, \"\"x\"\"\"\r\nacme,42,\r\n"
	    "{\"tenant_id\":\"acme\",\"n\":42,\"note, \\\"x\\\"\":null}\n",
	    buf_len(out)) == 0);
	buf_reset(out);

	/* one column short */
	buf_reset(rec);
	dcbor_put_array(rec, 2);
	dcbor_put_text(rec, "acme", 4);
	dcbor_put_int(rec, 42);
	ck_assert_int_eq(values_record_jsonl(&m->tables[0], buf_ptr(rec),
	    buf_len(rec), out), ERR_FORMAT);
	ck_assert_int_eq(values_record_csv(&m->tables[0], buf_ptr(rec),
	    buf_len(rec), out), ERR_FORMAT);
	/* bytes after the record */
	buf_reset(rec);
	dcbor_put_array(rec, 3);
	dcbor_put_text(rec, "acme", 4);
	dcbor_put_int(rec, 42);
	dcbor_put_text(rec, "", 0);
	dcbor_put_null(rec);
	ck_assert_int_eq(values_record_jsonl(&m->tables[0], buf_ptr(rec),
	    buf_len(rec), out), ERR_TRAILING);
	ck_assert_int_eq(values_record_csv(&m->tables[0], buf_ptr(rec),
	    buf_len(rec), out), ERR_TRAILING);
	ck_assert_int_eq(buf_len(out), 0);	/* nothing half-written */
	/* the empty string differs from NULL in CSV */
	ck_assert_int_eq(buf_consume_end(rec, 1), 0);
	ck_assert_int_eq(values_record_csv(&m->tables[0], buf_ptr(rec),
	    buf_len(rec), out), 0);
	ck_assert_int_eq(buf_len(out), strlen("acme,42,\"\"\r\n"));
	ck_assert(memcmp(buf_ptr(out), "acme,42,\"\"\r\n", buf_len(out)) == 0);
	buf_free(rec);
	buf_free(out);
	manifest_free(m);
}
END_TEST

static Suite *
values_suite(void)
{
	Suite *s = suite_create("values");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_integers);
	tcase_add_test(tc, test_floats);
	tcase_add_test(tc, test_text);
	tcase_add_test(tc, test_bytes);
	tcase_add_test(tc, test_tags);
	tcase_add_test(tc, test_null_bool);
	tcase_add_test(tc, test_arrays);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_json_string_utf8);
	tcase_add_test(tc, test_records);
	suite_add_tcase(s, tc);
	return s;
}

int main(void) { return test_run_suite(values_suite()); }
