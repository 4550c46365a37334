/*
 * exporter/plan.c: the monitor signs only the archive it planned. Each
 * change a compromised builder could make to the preamble is refused, by
 * name.
 */
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "bundle.h"
#include "err.h"
#include "manifest.h"
#include "plan.h"
#include "testutil.h"

static struct manifest *
plan_new(void)
{
	struct manifest *m = manifest_new();
	size_t t;

	ck_assert_ptr_nonnull(m);
	memset(m->salt, 1, sizeof(m->salt));
	memset(m->export_id, 2, sizeof(m->export_id));
	memset(m->tenant_hash, 3, sizeof(m->tenant_hash));
	m->created = 1767225600;
	m->expires = m->created + 3600;
	m->include_global = 1;
	ck_assert_int_eq(manifest_set_str(&m->tenant_type, "uuid"), 0);
	ck_assert_int_eq(manifest_set_str(&m->snapshot, "s"), 0);
	ck_assert_int_eq(manifest_add_table(m, "app.contacts", 0, &t), 0);
	ck_assert_int_eq(manifest_add_column(m, t, "tenant_id", "uuid"), 0);
	ck_assert_int_eq(manifest_add_column(m, t, "n", "bigint"), 0);
	ck_assert_int_eq(manifest_add_table(m, "app.currencies", -1, &t), 0);
	ck_assert_int_eq(manifest_add_column(m, t, "code", "text"), 0);
	return m;
}

/* What the builder wrote: the plan, changed by f, as the writer encodes
 * it (part_bytes filled in). */
static struct buf *
proven(void (*f)(struct manifest *))
{
	struct manifest *m = plan_new();
	struct buf *b = buf_new(MANIFEST_MAX_BYTES);

	ck_assert_ptr_nonnull(b);
	m->part_bytes = BUNDLE_PART_BYTES;
	if (f != NULL)
		f(m);
	ck_assert_int_eq(manifest_encode_preamble(m, b), 0);
	manifest_free(m);
	return b;
}

static void
expect(void (*f)(struct manifest *), const char *words)
{
	struct manifest *plan = plan_new();
	struct buf *b = proven(f);
	char err[512];

	ck_assert_int_eq(plan_check(plan, buf_ptr(b), buf_len(b), err,
	    sizeof(err)), words == NULL ? 0 : ERR_MANIFEST);
	if (words != NULL) {
		ck_assert_msg(strstr(err, words) != NULL, "\"%s\" lacks \"%s\"",
		    err, words);
		ck_assert(strstr(err, "nothing was signed") != NULL);
	}
	buf_free(b);
	manifest_free(plan);
}

static void relabel(struct manifest *m) { m->tables[0].tenant_column = -1; }
static void retype(struct manifest *m) {
	ck_assert_int_eq(manifest_set_str(&m->tables[0].columns[1].type,
	    "text"), 0); }
static void rename_table(struct manifest *m) {
	ck_assert_int_eq(manifest_set_str(&m->tables[1].name, "app.users"),
	    0); }
static void no_global(struct manifest *m) { m->include_global = 0; }
static void since(struct manifest *m) {
	ck_assert_int_eq(manifest_set_str(&m->since, "2020-01-01"), 0); }
static void zstd(struct manifest *m) { m->compression = 1; }
static void part_bytes(struct manifest *m) { m->part_bytes = 4096; }
static void expiry(struct manifest *m) { m->expires += 86400 * 365; }
static void tenant(struct manifest *m) { m->tenant_hash[0] ^= 1; }
static void snapshot(struct manifest *m) {
	ck_assert_int_eq(manifest_set_str(&m->snapshot, "t"), 0); }

START_TEST(test_plan)
{
	struct manifest *plan = plan_new();
	char err[512];

	expect(NULL, NULL);
	expect(relabel, "table \"app.contacts\" is global in the archive but "
	    "a tenant table in the plan");
	expect(retype, "table \"app.contacts\" column 1 differs");
	expect(rename_table, "holds table \"app.users\"");
	expect(no_global, "global");
	expect(since, "date window");
	expect(zstd, "compression");
	expect(part_bytes, "part_bytes");
	expect(expiry, "expiry");
	expect(tenant, "tenant");
	expect(snapshot, "snapshot");
	ck_assert_int_eq(plan_check(plan, (const uint8_t *)"\xa0", 1, err,
	    sizeof(err)), ERR_MANIFEST);
	ck_assert(strstr(err, "does not decode") != NULL);
	manifest_free(plan);
}
END_TEST

static Suite *
plan_suite(void)
{
	Suite *s = suite_create("plan");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_plan);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(plan_suite());
}
