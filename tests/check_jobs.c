/*
 * check_jobs: the parts of jobs.c that need no database: ids, scopes,
 * high-risk rules from [control], and an archive's files.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "err.h"
#include "jobs.h"
#include "testutil.h"

static const char conf_text[] =
    "[database]\ndbname = x\n"
    "[export]\ntenant_key = tenant_id\n"
    "[table app.users]\nclass = tenant\npii = yes\n"
    "[table app.invoices]\nclass = tenant\n"
    "[table app.secrets]\nclass = excluded\n"
    "[table app.currencies]\nclass = global\n";

static struct config *
conf(const char *extra)
{
	struct config *cfg = NULL;
	char text[2048], err[256];
	int r;

	snprintf(text, sizeof(text), "%s%s", conf_text, extra);
	r = config_parse(text, strlen(text), &cfg, err, sizeof(err));
	ck_assert_msg(r == 0, "%s", err);
	return cfg;
}

START_TEST(test_ids)
{
	uint8_t id[JOBS_ID_LEN], id2[JOBS_ID_LEN], h[JOBS_HASH_LEN];
	uint8_t want[JOBS_HASH_LEN];
	char hex[JOBS_ID_HEX], ref[JOBS_REF_HEX];

	ck_assert_int_eq(sodium_init() >= 0, 1);
	jobs_id_new(id);
	jobs_id_hex(id, hex);
	ck_assert_uint_eq(strlen(hex), 32);
	ck_assert_int_eq(jobs_id_parse(hex, id2), 0);
	ck_assert_mem_eq(id, id2, sizeof(id));
	jobs_id_hash(id, h);
	crypto_hash_sha256(want, id, sizeof(id));
	ck_assert_mem_eq(h, want, sizeof(h));
	/* the job's one name: the first 16 bytes of its id hash, in hex */
	jobs_ref(h, ref);
	ck_assert_uint_eq(strlen(ref), 32);
	jobs_id_hex(h, hex);
	ck_assert_str_eq(ref, hex);
	/* exactly 32 hex digits */
	ck_assert_int_eq(jobs_id_parse("0123", id2), ERR_FORMAT);
	ck_assert_int_eq(jobs_id_parse("0123456789abcdef0123456789abcdeg",
	    id2), ERR_FORMAT);
	ck_assert_int_eq(jobs_id_parse("0123456789abcdef0123456789abcdef0",
	    id2), ERR_FORMAT);
	ck_assert_int_eq(jobs_id_parse(NULL, id2), ERR_FORMAT);
	ck_assert_int_eq(jobs_id_parse("0123456789ABCDEF0123456789abcdef",
	    id2), 0);
	ck_assert_uint_eq(id2[0], 0x01);
}
END_TEST

START_TEST(test_states)
{
	enum jobs_state s;

	ck_assert_int_eq(jobs_state_parse("awaiting_approval", &s), 0);
	ck_assert_int_eq(s, JOBS_AWAITING_APPROVAL);
	ck_assert_str_eq(jobs_state_str(JOBS_EXPIRED), "expired");
	ck_assert_int_eq(jobs_state_parse("superseded", &s), 0);
	ck_assert_int_eq(s, JOBS_SUPERSEDED);
	ck_assert_int_eq(jobs_state_parse("done", &s), ERR_FORMAT);
	ck_assert_str_eq(jobs_state_str((enum jobs_state)99), "unknown");
}
END_TEST

START_TEST(test_scope_json)
{
	struct config *cfg = conf("");
	struct jobs_scope s, back;
	char *j = NULL, *j2 = NULL, err[256];
	int high = 0;

	ck_assert_int_eq(jobs_scope_build(cfg, "app.invoices,app.currencies",
	    "2024-01-01", NULL, 1, &s, &high, err, sizeof(err)), 0);
	ck_assert_int_eq(jobs_scope_json(&s, &j), 0);
	ck_assert_str_eq(j, "{\"include_global\":true,\"pii\":false,"
	    "\"since\":\"2024-01-01\",\"tables\":[\"app.invoices\","
	    "\"app.currencies\"],\"until\":null}");
	ck_assert_int_eq(jobs_scope_from_json(j, &back), 0);
	ck_assert_int_eq(jobs_scope_json(&back, &j2), 0);
	ck_assert_str_eq(j, j2);
	jobs_scope_clear(&back);
	ck_assert_int_eq(jobs_scope_from_json("{\"tables\":1}", &back),
	    ERR_FORMAT);
	ck_assert_int_eq(jobs_scope_from_json("[]", &back), ERR_FORMAT);
	jobs_scope_clear(&s);
	free(j);
	free(j2);
	config_free(cfg);
}
END_TEST

START_TEST(test_scope_rules)
{
	struct config *cfg = conf("");
	struct jobs_scope s;
	char err[256];
	int high = -1;

	/* whole tenant: reads the pii table, high-risk by default */
	ck_assert_int_eq(jobs_scope_build(cfg, NULL, NULL, NULL, 0, &s, &high,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(s.pii, 1);
	ck_assert_int_eq(high, 1);
	jobs_scope_clear(&s);
	/* named non-pii table: not high-risk */
	ck_assert_int_eq(jobs_scope_build(cfg, "app.invoices", NULL, NULL, 0,
	    &s, &high, err, sizeof(err)), 0);
	ck_assert_int_eq(s.pii, 0);
	ck_assert_int_eq(high, 0);
	jobs_scope_clear(&s);
	/* named pii table */
	ck_assert_int_eq(jobs_scope_build(cfg, "app.users", NULL, NULL, 0,
	    &s, &high, err, sizeof(err)), 0);
	ck_assert_int_eq(s.pii, 1);
	ck_assert_int_eq(high, 1);
	jobs_scope_clear(&s);
	/* refused scopes */
	ck_assert_int_eq(jobs_scope_build(cfg, "app.nope", NULL, NULL, 0, &s,
	    &high, err, sizeof(err)), ERR_USAGE);
	ck_assert_int_eq(jobs_scope_build(cfg, "app.secrets", NULL, NULL, 0,
	    &s, &high, err, sizeof(err)), ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "excluded"));
	ck_assert_int_eq(jobs_scope_build(cfg, "app.currencies", NULL, NULL, 0,
	    &s, &high, err, sizeof(err)), ERR_USAGE);
	ck_assert_ptr_nonnull(strstr(err, "include-global"));
	config_free(cfg);

	/* [control] turns the rules off, or adds a table */
	cfg = conf("[control]\nhigh_risk_pii = no\nhigh_risk_whole_tenant = no\n"
	    "high_risk_tables = app.invoices\nmax_downloads = 5\n");
	ck_assert_int_eq(config_control(cfg)->max_downloads, 5);
	ck_assert_int_eq(config_control(cfg)->max_request_age, 300);
	ck_assert_int_eq(jobs_scope_build(cfg, NULL, NULL, NULL, 0, &s, &high,
	    err, sizeof(err)), 0);
	ck_assert_int_eq(high, 1);	/* the whole tenant reads app.invoices */
	jobs_scope_clear(&s);
	ck_assert_int_eq(jobs_scope_build(cfg, "app.users", NULL, NULL, 0, &s,
	    &high, err, sizeof(err)), 0);
	ck_assert_int_eq(high, 0);
	jobs_scope_clear(&s);
	config_free(cfg);
}
END_TEST

START_TEST(test_control_config_errors)
{
	static const char *const bad[] = {
		"[control]\nmax_request_age = 0\n",
		"[control]\nmax_downloads = many\n",
		"[control]\nhigh_risk_pii = maybe\n",
		"[control]\nhigh_risk_tables = users\n",
		"[control]\nbogus = 1\n",
		"[control]\nmax_attempts = 1\nmax_attempts = 2\n",
	};
	struct config *cfg = NULL;
	char text[2048], err[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s%s", conf_text, bad[i]);
		ck_assert_msg(config_parse(text, strlen(text), &cfg, err,
		    sizeof(err)) == ERR_CONFIG, "accepted: %s", bad[i]);
		ck_assert_ptr_nonnull(strstr(err, "[control]"));
	}
}
END_TEST

#define ARCH_A "export-20261129-0123456789abcdef0123456789abcdef.texp"
#define ARCH_B "export-20261129-fedcba9876543210fedcba9876543210.texp"

START_TEST(test_archive_files)
{
	char *dir = test_mkdtemp(), p[4096], **v = NULL;
	size_t n;

	snprintf(p, sizeof(p), "%s/" ARCH_A ".index", dir);
	test_write_file(p, "i", 1);
	snprintf(p, sizeof(p), "%s/" ARCH_A ".index.minisig", dir);
	test_write_file(p, "s", 1);
	snprintf(p, sizeof(p), "%s/" ARCH_A ".001", dir);
	test_write_file(p, "1", 1);
	snprintf(p, sizeof(p), "%s/" ARCH_A ".002", dir);
	test_write_file(p, "2", 1);
	snprintf(p, sizeof(p), "%s/" ARCH_B ".001", dir);	/* another archive */
	test_write_file(p, "x", 1);
	snprintf(p, sizeof(p), "%s/" ARCH_A ".index", dir);
	ck_assert_int_eq(jobs_archive_files(p, &v), 0);
	for (n = 0; v[n] != NULL; n++)
		ck_assert_ptr_null(strstr(v[n], ARCH_B));
	ck_assert_uint_eq(n, 4);
	jobs_files_free(v);
	ck_assert_int_eq(jobs_archive_delete(p), 0);
	ck_assert_int_eq(access(p, F_OK), -1);
	snprintf(p, sizeof(p), "%s/" ARCH_B ".001", dir);
	ck_assert_int_eq(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/" ARCH_A ".index", dir);
	ck_assert_int_eq(jobs_archive_files(p, &v), ERR_NOENT);
	test_rmtree(dir);
	free(dir);
}
END_TEST

/* A tampered job record cannot point fetch or sweep at other files. */
START_TEST(test_archive_names_confined)
{
	static const char *bad[] = {
		"/etc/passwd", "/tmp/a.texp", "/tmp/a.texp.index",
		"/var/x/export-20261129-0123.texp",
		"/var/x/export-2026112X-0123456789abcdef0123456789abcdef.texp",
		"/var/x/export-20261129-0123456789ABCDEF0123456789abcdef.texp",
		"/var/x/export-20261129-0123456789abcdef0123456789abcdef.texp.idx",
		"/var/x/export-20261129-0123456789abcdef0123456789abcdef.tex",
	};
	char *dir = test_mkdtemp(), p[4096], **v = NULL;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_msg(jobs_archive_files(bad[i], &v) == ERR_PATH,
		    "accepted %s", bad[i]);
		ck_assert_ptr_null(v);
	}
	/* even an existing file with another name is left alone */
	snprintf(p, sizeof(p), "%s/precious", dir);
	test_write_file(p, "x", 1);
	ck_assert_int_ne(jobs_archive_delete(p), 0);
	ck_assert_int_eq(access(p, F_OK), 0);
	test_rmtree(dir);
	free(dir);
}
END_TEST

/* What an export leaves in the outbox is named after its lease; only
 * names of exactly that form are read (or ever removed). */
START_TEST(test_outbox_names)
{
	static const char *const bad[] = {
		"precious", ".export-20261129-0123.texp.tmp-0123456789abcdef",
		"export-20261129-0123456789ABCDEF0123456789abcdef.texp",
		"export-20261129-0123456789abcdef0123456789abcdef.texp.x",
		"export-20261129-0123456789abcdef0123456789abcdef.texp.12345",
		".export-20261129-0123456789abcdef0123456789abcdef.texp",
		".export-20261129-0123456789abcdef0123456789abcdef.texp.tmp-01",
		".export-20261129-0123456789abcdef0123456789abcdef.texp.sig"
		    ".tmp-0123456789abcdef",
		"export-2026112a-0123456789abcdef0123456789abcdef.texp",
	};
	static const char *const good[] = {
		ARCH_A, ARCH_A ".minisig", ARCH_A ".index", ARCH_A
		    ".index.minisig", ARCH_A ".001", ARCH_A ".1234",
	};
	uint8_t lease[JOBS_LEASE_LEN], want[JOBS_LEASE_LEN];
	char *dir = test_mkdtemp(), p[4096], tmpname[200];
	size_t i;
	int tmp, n;

	/* ARCH_A's id: 0123456789abcdef twice */
	for (i = 0; i < JOBS_LEASE_LEN; i++)
		want[i] = (uint8_t)((i % 8) * 0x22 + 0x01);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(!jobs_outbox_name(bad[i], lease, &tmp),
		    "accepted %s", bad[i]);
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ck_assert_msg(jobs_outbox_name(good[i], lease, &tmp),
		    "refused %s", good[i]);
		ck_assert_int_eq(tmp, 0);
		ck_assert_mem_eq(lease, want, JOBS_LEASE_LEN);
	}
	snprintf(tmpname, sizeof(tmpname), ".%s.index.tmp-0011223344556677",
	    ARCH_A);
	ck_assert_int_eq(jobs_outbox_name(tmpname, lease, &tmp), 1);
	ck_assert_int_eq(tmp, 1);
	/* the lease's files go, another lease's and other names stay */
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, i == 0 ? tmpname : i == 1 ?
		    ARCH_A ".001" : ARCH_B);
		test_write_file(p, "x", 1);
	}
	snprintf(p, sizeof(p), "%s/precious", dir);
	test_write_file(p, "x", 1);
	ck_assert_int_eq(jobs_lease_files_delete(dir, want, 1, &n), 0);
	ck_assert_int_eq(n, 1);		/* published files kept */
	snprintf(p, sizeof(p), "%s/%s", dir, ARCH_A ".001");
	ck_assert_int_eq(access(p, F_OK), 0);
	ck_assert_int_eq(jobs_lease_files_delete(dir, want, 0, &n), 0);
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(access(p, F_OK), -1);
	snprintf(p, sizeof(p), "%s/%s", dir, ARCH_B);
	ck_assert_int_eq(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/precious", dir);
	ck_assert_int_eq(access(p, F_OK), 0);
	test_rmtree(dir);
	free(dir);
}
END_TEST

static Suite *
jobs_suite(void)
{
	Suite *s = suite_create("jobs");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_ids);
	tcase_add_test(tc, test_states);
	tcase_add_test(tc, test_scope_json);
	tcase_add_test(tc, test_scope_rules);
	tcase_add_test(tc, test_control_config_errors);
	tcase_add_test(tc, test_archive_names_confined);
	tcase_add_test(tc, test_archive_files);
	tcase_add_test(tc, test_outbox_names);
	suite_add_tcase(s, tc);
	return s;
}

int main(void) { return test_run_suite(jobs_suite()); }
