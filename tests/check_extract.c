#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "dcbor.h"
#include "err.h"
#include "extract.h"
#include "manifest.h"
#include "testutil.h"
#include "verify.h"

static char *tmp;

static void
setup(void)
{
	tmp = test_mkdtemp();
}

static void
teardown(void)
{
	test_rmtree(tmp);
	free(tmp);
}

static char *
path_in(const char *dir, const char *name)
{
	char *p;

	ck_assert_int_ge(asprintf(&p, "%s/%s", dir, name), 0);
	return p;
}

/* Number of entries in dir (without . and ..); *hidden counts those
 * starting with '.'. */
static int
count_entries(const char *dir, int *hidden)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	ck_assert_ptr_nonnull(d);
	*hidden = 0;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		n++;
		if (e->d_name[0] == '.')
			(*hidden)++;
	}
	closedir(d);
	return n;
}

static void
expect_file(const char *dir, const char *name, const void *want,
    size_t wantlen)
{
	char *p = path_in(dir, name);
	struct stat st;
	uint8_t *got;
	size_t len;

	got = test_read_file(p, &len);
	ck_assert_uint_eq(len, wantlen);
	ck_assert(memcmp(got, want, len) == 0);
	ck_assert_int_eq(lstat(p, &st), 0);
	ck_assert_int_eq(st.st_mode & 0777, 0600);
	free(got);
	free(p);
}

START_TEST(test_names)
{
	static const char *good[] = { "public.orders", "a-b_c.1", "X", "a.b.c" };
	static const char *bad[] = { "../x", "/etc/passwd", ".hidden", "a/b",
	    "", "a..b", "..", ".", "a b", "a\\b", "t\xc3\xa9", "a\nb",
	    "x/../../y" };
	char longname[EXTRACT_NAME_MAX + 2];
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		ck_assert_msg(extract_name_check(good[i]) == 0, "%s", good[i]);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(extract_name_check(bad[i]) == ERR_PATH, "%zu", i);
	memset(longname, 'a', sizeof(longname));
	longname[EXTRACT_NAME_MAX] = '\0';
	ck_assert_int_eq(extract_name_check(longname), 0);
	longname[EXTRACT_NAME_MAX] = 'a';
	longname[EXTRACT_NAME_MAX + 1] = '\0';
	ck_assert_int_eq(extract_name_check(longname), ERR_PATH);
}
END_TEST

START_TEST(test_format_parse)
{
	enum extract_format f;

	ck_assert_int_eq(extract_format_parse("jsonl", &f), 0);
	ck_assert_int_eq(f, EXTRACT_JSONL);
	ck_assert_int_eq(extract_format_parse("csv", &f), 0);
	ck_assert_int_eq(f, EXTRACT_CSV);
	ck_assert_int_eq(extract_format_parse("cbor", &f), 0);
	ck_assert_int_eq(f, EXTRACT_CBOR);
	ck_assert_int_eq(extract_format_parse("json", &f), ERR_USAGE);
	ck_assert_str_eq(extract_format_ext(EXTRACT_CSV), "csv");
}
END_TEST

START_TEST(test_open_dir)
{
	struct extract *x = NULL;
	char why[256], *d = path_in(tmp, "new"), *f = path_in(tmp, "file");
	char *l = path_in(tmp, "link");
	struct stat st;

	/* created 0700 when missing */
	ck_assert_int_eq(extract_open(d, EXTRACT_JSONL, &x, why, sizeof(why)),
	    0);
	ck_assert_int_eq(stat(d, &st), 0);
	ck_assert(S_ISDIR(st.st_mode));
	ck_assert_int_eq(st.st_mode & 0777, 0700);
	extract_free(x);
	/* an existing directory is fine */
	ck_assert_int_eq(extract_open(d, EXTRACT_JSONL, &x, why, sizeof(why)),
	    0);
	extract_free(x);
	/* a file or a symlink is refused */
	test_write_file(f, "x", 1);
	x = NULL;
	ck_assert_int_eq(extract_open(f, EXTRACT_JSONL, &x, why, sizeof(why)),
	    ERR_PATH);
	ck_assert_ptr_null(x);
	ck_assert_ptr_nonnull(strstr(why, "not a directory"));
	ck_assert_int_eq(symlink(d, l), 0);
	ck_assert_int_eq(extract_open(l, EXTRACT_JSONL, &x, why, sizeof(why)),
	    ERR_PATH);
	extract_free(NULL);
	free(d);
	free(f);
	free(l);
}
END_TEST

/* Two tables: app.t (tenant, 2 columns) and app.empty (global). */
static struct manifest *
two_tables(const char *name1, const char *name2)
{
	struct manifest *m = manifest_new();
	size_t t;

	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(manifest_add_table(m, name1, 0, &t), 0);
	ck_assert_int_eq(manifest_add_column(m, t, "tenant_id", "text"), 0);
	ck_assert_int_eq(manifest_add_column(m, t, "v", "bytea"), 0);
	ck_assert_int_eq(manifest_add_table(m, name2, -1, &t), 0);
	ck_assert_int_eq(manifest_add_column(m, t, "code", "text"), 0);
	return m;
}

static void
record(struct buf *b, const char *tenant, const char *bytes)
{
	buf_reset(b);
	ck_assert_int_eq(dcbor_put_array(b, 2), 0);
	ck_assert_int_eq(dcbor_put_text(b, tenant, strlen(tenant)), 0);
	if (bytes == NULL)
		ck_assert_int_eq(dcbor_put_null(b), 0);
	else
		ck_assert_int_eq(dcbor_put_bytes(b, bytes, strlen(bytes)), 0);
}

/* Runs a whole sink pass: 2 records into table 0, none into table 1. */
static void
run_sink(struct extract *x, const struct manifest *m, struct buf *seq)
{
	static const uint8_t receipt[] = { 0xa1, 0x61, 0x76, 0x01 };
	struct verify_sink s;
	struct buf *b = buf_new(1024);

	extract_sink(x, &s);
	ck_assert_int_eq(s.begin(s.ctx, m), 0);
	record(b, "acme", "\x01\xfe");
	if (seq != NULL)
		buf_put(seq, buf_ptr(b), buf_len(b));
	ck_assert_int_eq(s.record(s.ctx, m, 0, buf_ptr(b), buf_len(b)), 0);
	record(b, "a,\"b\"", NULL);
	if (seq != NULL)
		buf_put(seq, buf_ptr(b), buf_len(b));
	ck_assert_int_eq(s.record(s.ctx, m, 0, buf_ptr(b), buf_len(b)), 0);
	ck_assert_int_eq(s.end(s.ctx, receipt, sizeof(receipt)), 0);
	buf_free(b);
}

START_TEST(test_sink_jsonl)
{
	static const char want[] =
	    "{\"tenant_id\":\"acme\",\"v\":\"\\\\x01fe\"}\n"
	    "{\"tenant_id\":\"a,\\\"b\\\"\",\"v\":null}\n";
	static const uint8_t receipt[] = { 0xa1, 0x61, 0x76, 0x01 };
	struct manifest *m = two_tables("app.t", "app.empty");
	struct extract *x = NULL;
	char why[256];
	int hidden;

	ck_assert_int_eq(extract_open(tmp, EXTRACT_JSONL, &x, why,
	    sizeof(why)), 0);
	ck_assert_int_eq(extract_prepare(x, m, why, sizeof(why)), 0);
	run_sink(x, m, NULL);
	/* nothing carries a final name before the commit */
	ck_assert_int_eq(count_entries(tmp, &hidden), 3);
	ck_assert_int_eq(hidden, 3);
	ck_assert_int_eq(extract_commit(x, why, sizeof(why)), 0);
	ck_assert_int_eq(count_entries(tmp, &hidden), 3);
	ck_assert_int_eq(hidden, 0);
	expect_file(tmp, "app.t.jsonl", want, sizeof(want) - 1);
	expect_file(tmp, "app.empty.jsonl", "", 0);
	expect_file(tmp, "manifest.cbor", receipt, sizeof(receipt));
	ck_assert_uint_eq(extract_nfiles(x), 3);
	ck_assert_str_eq(extract_file_name(x, 0), "app.t.jsonl");
	ck_assert_uint_eq(extract_file_records(x, 0), 2);
	ck_assert_uint_eq(extract_file_records(x, 1), 0);
	ck_assert_str_eq(extract_file_name(x, 2), EXTRACT_RECEIPT);
	extract_free(x);
	/* committed files stay */
	ck_assert_int_eq(count_entries(tmp, &hidden), 3);
	manifest_free(m);
}
END_TEST

START_TEST(test_sink_csv)
{
	static const char want[] =
	    "tenant_id,v\r\n"
	    "acme,\\x01fe\r\n"
	    "\"a,\"\"b\"\"\",\r\n";
	struct manifest *m = two_tables("app.t", "app.empty");
	struct extract *x = NULL;
	char why[256];

	ck_assert_int_eq(extract_open(tmp, EXTRACT_CSV, &x, why,
	    sizeof(why)), 0);
	run_sink(x, m, NULL);
	ck_assert_int_eq(extract_commit(x, why, sizeof(why)), 0);
	expect_file(tmp, "app.t.csv", want, sizeof(want) - 1);
	/* a table without records still gets its header */
	expect_file(tmp, "app.empty.csv", "code\r\n", 6);
	extract_free(x);
	manifest_free(m);
}
END_TEST

START_TEST(test_sink_cbor)
{
	struct manifest *m = two_tables("app.t", "app.empty");
	struct buf *seq = buf_new(4096);
	struct extract *x = NULL;
	char why[256];

	ck_assert_int_eq(extract_open(tmp, EXTRACT_CBOR, &x, why,
	    sizeof(why)), 0);
	run_sink(x, m, seq);
	ck_assert_int_eq(extract_commit(x, why, sizeof(why)), 0);
	/* the record bytes, as a CBOR sequence */
	expect_file(tmp, "app.t.cbor", buf_ptr(seq), buf_len(seq));
	expect_file(tmp, "app.empty.cbor", "", 0);
	extract_free(x);
	buf_free(seq);
	manifest_free(m);
}
END_TEST

START_TEST(test_uncommitted_removed)
{
	struct manifest *m = two_tables("app.t", "app.empty");
	struct extract *x = NULL;
	char why[256];
	int hidden;

	ck_assert_int_eq(extract_open(tmp, EXTRACT_JSONL, &x, why,
	    sizeof(why)), 0);
	run_sink(x, m, NULL);
	ck_assert_int_eq(count_entries(tmp, &hidden), 3);
	extract_free(x);	/* the second pass did not prove */
	ck_assert_int_eq(count_entries(tmp, &hidden), 0);
	manifest_free(m);
}
END_TEST

START_TEST(test_refuse_existing)
{
	struct manifest *m = two_tables("app.t", "app.empty");
	char why[256], *p = path_in(tmp, "app.empty.jsonl");
	struct extract *x = NULL;
	struct verify_sink s;
	int hidden;

	test_write_file(p, "mine", 4);
	ck_assert_int_eq(extract_open(tmp, EXTRACT_JSONL, &x, why,
	    sizeof(why)), 0);
	ck_assert_int_eq(extract_prepare(x, m, why, sizeof(why)), ERR_EXISTS);
	ck_assert_ptr_nonnull(strstr(why, "app.empty.jsonl"));
	/* the sink refuses too, before writing anything */
	extract_sink(x, &s);
	ck_assert_int_eq(s.begin(s.ctx, m), ERR_EXISTS);
	ck_assert_int_eq(extract_error_code(x), ERR_EXISTS);
	ck_assert_ptr_nonnull(strstr(extract_error(x), "app.empty.jsonl"));
	ck_assert_int_eq(extract_commit(x, why, sizeof(why)), ERR_INVALID);
	extract_free(x);
	ck_assert_int_eq(count_entries(tmp, &hidden), 1);
	expect_file(tmp, "app.empty.jsonl", "mine", 4);
	free(p);
	manifest_free(m);
}
END_TEST

START_TEST(test_commit_race)
{
	struct manifest *m = two_tables("app.t", "app.empty");
	char why[256], *p = path_in(tmp, "manifest.cbor");
	struct extract *x = NULL;
	int hidden;

	ck_assert_int_eq(extract_open(tmp, EXTRACT_JSONL, &x, why,
	    sizeof(why)), 0);
	run_sink(x, m, NULL);
	/* someone takes the last name between the pass and the commit */
	test_write_file(p, "theirs", 6);
	ck_assert_int_eq(extract_commit(x, why, sizeof(why)), ERR_EXISTS);
	ck_assert_ptr_nonnull(strstr(why, "manifest.cbor"));
	extract_free(x);
	/* all or nothing: only their file is left, untouched */
	ck_assert_int_eq(count_entries(tmp, &hidden), 1);
	expect_file(tmp, "manifest.cbor", "theirs", 6);
	free(p);
	manifest_free(m);
}
END_TEST

static void
expect_hostile(const char *name1, const char *name2, enum extract_format f)
{
	struct manifest *m = two_tables(name1, name2);
	struct extract *x = NULL;
	struct verify_sink s;
	char why[256];
	int hidden;

	ck_assert_int_eq(extract_open(tmp, f, &x, why, sizeof(why)), 0);
	ck_assert_int_eq(extract_prepare(x, m, why, sizeof(why)), ERR_PATH);
	extract_sink(x, &s);
	ck_assert_int_eq(s.begin(s.ctx, m), ERR_PATH);
	extract_free(x);
	ck_assert_int_eq(count_entries(tmp, &hidden), 0);
	manifest_free(m);
}

START_TEST(test_hostile_names)
{
	char *parent = NULL;
	struct stat st;

	expect_hostile("../x", "ok", EXTRACT_JSONL);
	expect_hostile("ok", "/etc/passwd", EXTRACT_CSV);
	expect_hostile(".hidden", "ok", EXTRACT_CBOR);
	expect_hostile("a/b", "ok", EXTRACT_JSONL);
	/* two tables on one file, or a table on the receipt's name */
	expect_hostile("same", "same", EXTRACT_JSONL);
	expect_hostile("ok", "manifest", EXTRACT_CBOR);
	/* nothing appeared next to the directory either */
	ck_assert_int_ge(asprintf(&parent, "%s/../x.jsonl", tmp), 0);
	ck_assert_int_ne(lstat(parent, &st), 0);
	free(parent);
}
END_TEST

START_TEST(test_table_order)
{
	struct manifest *m = two_tables("app.t", "app.u");
	struct extract *x = NULL;
	struct verify_sink s;
	struct buf *b = buf_new(1024);
	char why[256];

	ck_assert_int_eq(extract_open(tmp, EXTRACT_JSONL, &x, why,
	    sizeof(why)), 0);
	extract_sink(x, &s);
	ck_assert_int_eq(s.begin(s.ctx, m), 0);
	buf_reset(b);
	dcbor_put_array(b, 1);
	dcbor_put_text(b, "EUR", 3);
	ck_assert_int_eq(s.record(s.ctx, m, 1, buf_ptr(b), buf_len(b)), 0);
	record(b, "acme", NULL);
	/* tables may not go back */
	ck_assert_int_eq(s.record(s.ctx, m, 0, buf_ptr(b), buf_len(b)),
	    ERR_FORMAT);
	/* and after a failure nothing more is accepted or committed */
	ck_assert_int_eq(s.end(s.ctx, (const uint8_t *)"\xa0", 1),
	    ERR_INVALID);
	ck_assert_int_eq(extract_commit(x, why, sizeof(why)), ERR_INVALID);
	extract_free(x);
	buf_free(b);
	manifest_free(m);
}
END_TEST

START_TEST(test_record_mismatch)
{
	struct manifest *m = two_tables("app.t", "app.u");
	struct extract *x = NULL;
	struct verify_sink s;
	struct buf *b = buf_new(1024);
	char why[256];

	ck_assert_int_eq(extract_open(tmp, EXTRACT_CSV, &x, why,
	    sizeof(why)), 0);
	extract_sink(x, &s);
	ck_assert_int_eq(s.begin(s.ctx, m), 0);
	dcbor_put_array(b, 1);		/* app.t has two columns */
	dcbor_put_text(b, "acme", 4);
	ck_assert_int_eq(s.record(s.ctx, m, 0, buf_ptr(b), buf_len(b)),
	    ERR_FORMAT);
	/* the message names the table by number, never a value */
	ck_assert_ptr_null(strstr(extract_error(x), "acme"));
	ck_assert_ptr_nonnull(strstr(extract_error(x), "table 1"));
	extract_free(x);
	buf_free(b);
	manifest_free(m);
}
END_TEST

static Suite *
extract_suite(void)
{
	Suite *s = suite_create("extract");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_format_parse);
	tcase_add_test(tc, test_open_dir);
	tcase_add_test(tc, test_sink_jsonl);
	tcase_add_test(tc, test_sink_csv);
	tcase_add_test(tc, test_sink_cbor);
	tcase_add_test(tc, test_uncommitted_removed);
	tcase_add_test(tc, test_refuse_existing);
	tcase_add_test(tc, test_commit_race);
	tcase_add_test(tc, test_hostile_names);
	tcase_add_test(tc, test_table_order);
	tcase_add_test(tc, test_record_mismatch);
	suite_add_tcase(s, tc);
	return s;
}

int main(void) { return test_run_suite(extract_suite()); }
