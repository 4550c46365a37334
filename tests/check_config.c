#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sodium.h>

#include "config.h"
#include "db.h"
#include "err.h"
#include "lint.h"
#include "testutil.h"

static struct config *
load_ok(const char *rel)
{
	struct config *cfg = NULL;
	char err[256];
	int r;

	r = config_load(test_data_path(rel), &cfg, err, sizeof(err));
	ck_assert_msg(r == 0, "%s: %s", rel, err);
	ck_assert_ptr_nonnull(cfg);
	return cfg;
}

static struct config *
parse_ok(const char *text)
{
	struct config *cfg = NULL;
	char err[256];
	int r;

	r = config_parse(text, strlen(text), &cfg, err, sizeof(err));
	ck_assert_msg(r == 0, "%s", err);
	return cfg;
}

START_TEST(test_valid)
{
	struct config *cfg = load_ok("config/valid.conf");
	const struct config_export *e = config_export(cfg);
	const struct config_table *t;
	const char *const *kw = config_db_keywords(cfg);
	const char *const *kv = config_db_values(cfg);
	size_t n;

	ck_assert_uint_eq(config_table_count(cfg), 4);
	t = config_table_find(cfg, "shop", "orgs");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->cls, CONFIG_CLASS_TENANT);
	ck_assert_str_eq(t->tenant_key, "id");	/* per-table override */
	t = config_table_find(cfg, "shop", "orders");
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->tenant_key, "org_id");	/* [export] default */
	ck_assert_str_eq(t->date_column, "placed_at");
	ck_assert_int_eq(t->pii, 1);
	ck_assert_uint_eq(t->nexclude, 3);	/* repeated key appends */
	ck_assert(config_table_excludes(t, "fraud_score"));
	ck_assert(!config_table_excludes(t, "total"));
	ck_assert(config_table_allows(t, "session_count"));
	t = config_table_find(cfg, "shop", "countries");
	ck_assert_int_eq(t->cls, CONFIG_CLASS_GLOBAL);
	ck_assert_ptr_null(t->tenant_key);
	ck_assert_int_eq(config_table_find(cfg, "shop", "webhooks")->cls,
	    CONFIG_CLASS_EXCLUDED);
	ck_assert_ptr_null(config_table_find(cfg, "shop", "ORDERS"));

	ck_assert_str_eq(e->tenant_key, "org_id");
	ck_assert_str_eq(e->signing_passphrase_file,
	    "/etc/tenant-export/sign.pass");
	ck_assert_str_eq(config_service(cfg)->root_key,
	    "/etc/tenant-export/root.pub");
	ck_assert_str_eq(config_service(cfg)->service_key,
	    "/var/lib/tenant-export/service.key");
	ck_assert_str_eq(config_service(cfg)->state_dir,
	    "/var/lib/tenant-export");
	ck_assert_int_eq(config_check_service(cfg, NULL, 0), 0);
	ck_assert_uint_eq(e->part_size, 256ULL * 1024 * 1024);
	ck_assert_uint_eq(e->expiry, 12 * 3600);
	ck_assert_int_eq(e->allow_empty, 1);
	ck_assert_str_eq(e->outbox, "/var/lib/tenant-export/outbox");
	ck_assert_int_eq(config_check_export(cfg, NULL, 0), 0);

	ck_assert_str_eq(config_db_param(cfg, "sslmode"), "verify-full");
	ck_assert_str_eq(config_db_password_file(cfg),
	    "/etc/tenant-export/monitor.password");
	ck_assert_ptr_null(config_db_param(cfg, "service"));
	for (n = 0; kw[n] != NULL; n++) {
		ck_assert_ptr_nonnull(kv[n]);
		ck_assert_str_ne(kw[n], "password");
		ck_assert_str_ne(kw[n], "password_file");
	}
	ck_assert_uint_eq(n, 7);
	config_free(cfg);
	config_free(NULL);
}
END_TEST

START_TEST(test_example_loads)
{
	struct config *cfg = NULL;
	char err[256];
	size_t i;

	ck_assert_msg(config_load("examples/agency.conf", &cfg, err,
	    sizeof(err)) == 0, "%s", err);
	ck_assert_uint_eq(config_table_count(cfg), 8);
	for (i = 0; i < config_table_count(cfg); i++)
		ck_assert_int_ne(config_table_at(cfg, i)->cls, 0);
	ck_assert_int_eq(config_table_find(cfg, "app", "api_tokens")->cls,
	    CONFIG_CLASS_EXCLUDED);
	ck_assert(config_table_excludes(config_table_find(cfg, "app",
	    "users"), "password_hash"));
	ck_assert_int_eq(config_check_export(cfg, err, sizeof(err)), 0);
	config_free(cfg);
}
END_TEST

static const struct {
	const char *file;
	const char *msg;	/* must appear in the error */
} bad_configs[] = {
	{ "config/password_in_config.conf", "password may not appear" },
	{ "config/sslpassword_in_config.conf", "password may not appear" },
	{ "config/unknown_key.conf", "unknown key \"frobnicate\"" },
	{ "config/unknown_db_key.conf", "unknown key \"options\"" },
	{ "config/unknown_section.conf", "unknown section [exporter]" },
	{ "config/unknown_table_key.conf", "unknown key \"colour\"" },
	{ "config/bad_class.conf", "\"maybe\" is not tenant" },
	{ "config/missing_class.conf", "class missing" },
	{ "config/tenant_key_excluded.conf", "cannot be excluded" },
	{ "config/duplicate_table.conf", "configured twice" },
	{ "config/duplicate_key.conf", "class: set twice" },
	{ "config/table_without_schema.conf", "schema.name" },
	{ "config/tenant_key_on_global.conf", "only to class = tenant" },
	{ "config/columns_on_excluded.conf", "no column lists" },
	{ "config/excluded_and_allowed.conf", "both excluded and allowed" },
	{ "config/quoted_column.conf", "invalid column name" },
	{ "config/bad_recipient.conf", "recipients belong to each tenant" },
	{ "config/bad_part_size.conf", "part_size" },
	{ "config/bad_expiry.conf", "expiry" },
	{ "config/key_outside_section.conf", "outside any section" },
	{ "config/syntax_error.conf", "line 1" },
	{ "config/two_password_sources.conf", "not both" },
	{ "config/long_line.conf", "line 2: longer than" },
};

START_TEST(test_bad)
{
	struct config *cfg = (struct config *)1;
	char err[256];
	int r;

	r = config_load(test_data_path(bad_configs[_i].file), &cfg, err,
	    sizeof(err));
	ck_assert_msg(r == ERR_CONFIG, "%s: got %d", bad_configs[_i].file, r);
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(err, bad_configs[_i].msg) != NULL,
	    "%s: \"%s\" lacks \"%s\"", bad_configs[_i].file, err,
	    bad_configs[_i].msg);
}
END_TEST

#define FILES_BASE "[export]\ntenant_key = tenant_id\n" \
	"[table app.files]\nclass = tenant\nexclude_columns = secret\n" \
	"[table app.g]\nclass = global\n"

struct refusal {
	const char *text, *msg;
};

/* Each text is refused as a config, with an error holding its msg. */
static void
refused(const struct refusal *bad, size_t n)
{
	struct config *cfg;
	char err[256];
	size_t i;

	for (i = 0; i < n; i++) {
		cfg = (struct config *)1;
		ck_assert_int_eq(config_parse(bad[i].text, strlen(bad[i].text),
		    &cfg, err, sizeof(err)), ERR_CONFIG);
		ck_assert_ptr_null(cfg);
		ck_assert_msg(strstr(err, bad[i].msg) != NULL,
		    "case %zu: \"%s\" lacks \"%s\"", i, err, bad[i].msg);
	}
}

/* [files]: the section, its required keys, and what it may point at. */
START_TEST(test_files_section)
{
	static const struct refusal bad[] = {
		{ FILES_BASE "[files]\nroot = /srv/up\ntable = app.files\n",
		    "root, table and path_column are needed" },
		{ FILES_BASE "[files]\nroot = srv/up\ntable = app.files\n"
		    "path_column = k\n", "not an absolute path" },
		{ FILES_BASE "[files]\nroot = /srv/../etc\n",
		    "not an absolute path" },
		{ FILES_BASE "[files]\nroot = /srv/up\ntable = app.g\n"
		    "path_column = k\n", "class = tenant" },
		{ FILES_BASE "[files]\nroot = /srv/up\ntable = app.none\n"
		    "path_column = k\n", "class = tenant" },
		{ FILES_BASE "[files]\nroot = /srv/up\ntable = app.files\n"
		    "path_column = tenant_id\n", "three columns" },
		{ FILES_BASE "[files]\nroot = /srv/up\ntable = app.files\n"
		    "path_column = k\nsize_column = k\n", "three columns" },
		{ FILES_BASE "[files]\nroot = /srv/up\ntable = app.files\n"
		    "path_column = secret\n", "is excluded" },
		{ FILES_BASE "[files]\nroot = /a\nroot = /b\n", "set twice" },
		{ FILES_BASE "[files]\nlayout = flat\n", "unknown key" },
		{ FILES_BASE "[files]\nroot = /a\npath_column = a b\n",
		    "invalid column name" },
	};
	struct config *cfg;
	const struct config_files *f;

	cfg = parse_ok(FILES_BASE);
	ck_assert_ptr_null(config_files(cfg));
	config_free(cfg);
	cfg = parse_ok(FILES_BASE "[files]\nroot = /srv/up\n"
	    "table = app.files\npath_column = storage_key\n"
	    "size_column = size_bytes\n");
	f = config_files(cfg);
	ck_assert_ptr_nonnull(f);
	ck_assert_str_eq(f->root, "/srv/up");
	ck_assert_str_eq(f->schema, "app");
	ck_assert_str_eq(f->table, "files");
	ck_assert_str_eq(f->path_column, "storage_key");
	ck_assert_str_eq(f->size_column, "size_bytes");
	config_free(cfg);
	refused(bad, sizeof(bad) / sizeof(bad[0]));
}
END_TEST

/* [database] standby_*: defaults, values, and what is refused. */
START_TEST(test_standby_keys)
{
	static const struct refusal bad[] = {
		{ "[database]\nstandby_port = 5433\n" FILES_BASE,
		    "standby_port without standby_host" },
		{ "[database]\nstandby_host = a\nstandby_host = b\n" FILES_BASE,
		    "standby_host: set twice" },
		{ "[database]\nstandby_host =\n" FILES_BASE,
		    "standby_host: empty value" },
		{ "[database]\nstandby_host = a\nstandby_wait = 0\n"
		    FILES_BASE, "standby_wait: \"0\" is out of range" },
		{ "[database]\nstandby_host = a\nstandby_wait = 2d\n"
		    FILES_BASE, "standby_wait: \"2d\" is out of range" },
		{ "[database]\nstandby_host = a\nstandby_wait = soon\n"
		    FILES_BASE, "standby_wait: \"soon\" is out of range" },
	};
	struct config *cfg;

	cfg = parse_ok(FILES_BASE);
	ck_assert_ptr_null(config_db_standby_host(cfg));
	ck_assert_ptr_null(config_db_standby_port(cfg));
	ck_assert_uint_eq(config_db_standby_wait(cfg), 30);
	config_free(cfg);
	cfg = parse_ok("[database]\nhost = /run/pg\n"
	    "standby_host = replica.internal\nstandby_port = 5433\n"
	    "standby_wait = 2m\n" FILES_BASE);
	ck_assert_str_eq(config_db_standby_host(cfg), "replica.internal");
	ck_assert_str_eq(config_db_standby_port(cfg), "5433");
	ck_assert_uint_eq(config_db_standby_wait(cfg), 120);
	/* not a libpq keyword: the monitor's own login never sees it */
	ck_assert_ptr_null(config_db_param(cfg, "standby_host"));
	ck_assert_str_eq(config_db_param(cfg, "host"), "/run/pg");
	config_free(cfg);
	refused(bad, sizeof(bad) / sizeof(bad[0]));
}
END_TEST

/* Lint of the [files] layout and columns. */
START_TEST(test_files_lint)
{
	char *dir = test_mkdtemp();
	char text[2048], p[4200];
	struct config *cfg;
	struct lint_report *rep;
	struct lint_schema *sch;

	ck_assert_int_eq(chmod(dir, 0755), 0);
	snprintf(p, sizeof(p), "%s/A", dir);
	ck_assert_int_eq(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/C", dir);
	ck_assert_int_eq(symlink("A", p), 0);
	snprintf(text, sizeof(text), FILES_BASE "[files]\nroot = %s\n"
	    "table = app.files\npath_column = storage_key\n"
	    "size_column = size_bytes\n", dir);
	cfg = parse_ok(text);
	ck_assert_ptr_nonnull(rep = lint_report_new());
	ck_assert_int_eq(lint_check_files(cfg, rep), 0);
	snprintf(p, sizeof(p), "%s/C", dir);
	ck_assert(lint_report_has(rep, "files_symlink", p));
	snprintf(p, sizeof(p), "%s/A", dir);
	ck_assert(lint_report_has(rep, "files_not_searchable", p));
	ck_assert(!lint_report_has(rep, "files_not_searchable", dir));
	ck_assert(!lint_report_has(rep, "files_root", NULL));
	if (geteuid() == 0)
		ck_assert(lint_report_has(rep, "files_writable", dir));
	lint_report_free(rep);
	/* The columns must exist. */
	ck_assert_ptr_nonnull(sch = lint_schema_new());
	ck_assert_int_eq(lint_schema_add(sch, "app", "files", "tenant_id", 1),
	    0);
	ck_assert_int_eq(lint_schema_add(sch, "app", "files", "storage_key",
	    1), 0);
	ck_assert_int_eq(lint_schema_add(sch, "app", "files", "secret", 1),
	    0);
	ck_assert_int_eq(lint_schema_add(sch, "app", "g", "x", 1), 0);
	ck_assert_ptr_nonnull(rep = lint_report_new());
	ck_assert_int_eq(lint_check_schema(cfg, sch, rep), 0);
	ck_assert(lint_report_has(rep, "unknown_column", "app.files"));
	ck_assert_uint_eq(lint_report_blocking(rep), 1);
	lint_report_free(rep);
	lint_schema_free(sch);
	config_free(cfg);
	/* A root reached through a symlink, or missing. */
	snprintf(text, sizeof(text), FILES_BASE "[files]\nroot = %s/C\n"
	    "table = app.files\npath_column = storage_key\n", dir);
	cfg = parse_ok(text);
	ck_assert_ptr_nonnull(rep = lint_report_new());
	ck_assert_int_eq(lint_check_files(cfg, rep), 0);
	ck_assert(lint_report_has(rep, "files_root", NULL));
	lint_report_free(rep);
	config_free(cfg);
	test_rmtree(dir);
	free(dir);
}
END_TEST

START_TEST(test_password_never_echoed)
{
	struct config *cfg = NULL;
	char err[256];

	ck_assert_int_eq(config_load(test_data_path(
	    "config/password_in_config.conf"), &cfg, err, sizeof(err)),
	    ERR_CONFIG);
	ck_assert_ptr_null(strstr(err, "hunter2"));
}
END_TEST

START_TEST(test_limits)
{
	struct config *cfg = NULL;
	static const char nul[] = "[export]\nallow_empty = no\0\n";
	char err[256], *big;
	size_t n = CONFIG_MAX_FILE + 1;

	ck_assert_int_eq(config_parse(nul, sizeof(nul) - 1, &cfg, err,
	    sizeof(err)), ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "NUL"));
	big = malloc(n);
	ck_assert_ptr_nonnull(big);
	memset(big, '#', n);
	ck_assert_int_eq(config_parse(big, n, &cfg, err, sizeof(err)),
	    ERR_LIMIT);
	free(big);
	ck_assert_int_eq(config_load(test_data_path("config/none.conf"), &cfg,
	    err, sizeof(err)), ERR_NOENT);
	/* An empty file is a valid (if useless) config; lint then reports
	 * every table as unclassified. */
	ck_assert_int_eq(config_parse("", 0, &cfg, err, sizeof(err)), 0);
	ck_assert_uint_eq(config_table_count(cfg), 0);
	ck_assert_int_eq(config_check_export(cfg, err, sizeof(err)),
	    ERR_CONFIG);
	config_free(cfg);
	/* Last line without a newline is fine. */
	cfg = parse_ok("[table a.b]\nclass = global");
	config_free(cfg);
}
END_TEST

/* [export] limits on the children: defaults, units, range, twice. */
START_TEST(test_child_limits)
{
	static const char *const bad[] = {
		"cpu_limit = 0", "cpu_limit = 8w", "stall_timeout = 2x",
		"time_limit = -1", "max_archive_size = 1K",
		"stall_timeout = 5\nstall_timeout = 6",
	};
	struct config *cfg = parse_ok("[export]\n");
	const struct config_export *e = config_export(cfg);
	char text[256], err[256];
	size_t i;

	ck_assert_uint_eq(e->cpu_limit, 3600);
	ck_assert_uint_eq(e->stall_timeout, 300);
	ck_assert_uint_eq(e->time_limit, 6 * 3600);
	ck_assert_uint_eq(e->max_archive_size, 64ULL << 30);
	config_free(cfg);
	cfg = parse_ok("[export]\ncpu_limit = 90\nstall_timeout = 2m\n"
	    "time_limit = 1h\nmax_archive_size = 10G\n");
	e = config_export(cfg);
	ck_assert_uint_eq(e->cpu_limit, 90);
	ck_assert_uint_eq(e->stall_timeout, 120);
	ck_assert_uint_eq(e->time_limit, 3600);
	ck_assert_uint_eq(e->max_archive_size, 10ULL << 30);
	config_free(cfg);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "[export]\n%s\n", bad[i]);
		cfg = (struct config *)1;
		ck_assert_int_eq(config_parse(text, strlen(text), &cfg, err,
		    sizeof(err)), ERR_CONFIG);
		ck_assert_ptr_null(cfg);
		ck_assert_msg(strstr(err, "[export]") != NULL, "%s", err);
	}
}
END_TEST

START_TEST(test_check_export)
{
	struct config *cfg;
	char err[256];

	cfg = parse_ok("[export]\nsigning_key = /k\noutbox = /o\n");
	ck_assert_int_eq(config_check_export(cfg, err, sizeof(err)), 0);
	ck_assert_int_eq(config_check_service(cfg, err, sizeof(err)),
	    ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "root_key"));
	config_free(cfg);
	cfg = parse_ok("[export]\noutbox = /o\n");
	ck_assert_int_eq(config_check_export(cfg, err, sizeof(err)),
	    ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "signing_key"));
	config_free(cfg);
}
END_TEST

static const struct {
	const char *col;
	int secret;
} secret_cases[] = {
	{ "password", 1 }, { "password_hash", 1 }, { "PasswordDigest", 1 },
	{ "api_key", 1 }, { "apikey", 1 }, { "access_token", 1 },
	{ "reset_token", 1 }, { "session_id", 1 }, { "cookie", 1 },
	{ "webhook_url", 1 }, { "private_key", 1 }, { "client_secret", 1 },
	{ "totp_seed", 1 }, { "otp", 1 }, { "mfa_code", 1 }, { "user_pwd", 1 },
	{ "password_reset_sent_at", 1 }, { "salt", 1 }, { "jwt", 1 },
	{ "passphrase", 1 }, { "aws_access_key", 1 }, { "credentials", 1 },
	{ "email", 0 }, { "tenant_id", 0 }, { "amount", 0 },
	{ "footprint", 0 }, { "description", 0 }, { "passenger_name", 0 },
	{ "display_name", 0 }, { "created_at", 0 }, { "compass_heading", 0 },
	{ "keyboard_layout", 0 }, { "spotted", 0 },
};

START_TEST(test_secret_names)
{
	ck_assert_msg(config_column_looks_secret(secret_cases[_i].col) ==
	    secret_cases[_i].secret, "%s", secret_cases[_i].col);
}
END_TEST

/* The fail-closed checks that compare the config with a schema. */
START_TEST(test_fail_closed)
{
	struct config *cfg;
	struct lint_schema *s = lint_schema_new();
	struct lint_report *rep = lint_report_new();
	size_t i;

	cfg = parse_ok(
	    "[table app.good]\nclass = tenant\nexclude_columns = api_token\n"
	    "allow_columns = session_count\n"
	    "[table app.nullable]\nclass = tenant\n"
	    "[table app.nokey]\nclass = tenant\n"
	    "[table app.leaky]\nclass = global\n"
	    "[table app.typo]\nclass = tenant\nexclude_columns = pasword\n"
	    "date_column = when\n"
	    "[table app.secrets]\nclass = excluded\n"
	    "[table app.ghost]\nclass = tenant\n");
	ck_assert_ptr_nonnull(s);
	ck_assert_ptr_nonnull(rep);
	ck_assert_int_eq(lint_schema_add(s, "app", "good", "tenant_id", 1), 0);
	ck_assert_int_eq(lint_schema_add(s, "app", "good", "api_token", 1), 0);
	ck_assert_int_eq(lint_schema_add(s, "app", "good", "session_count",
	    0), 0);
	ck_assert_int_eq(lint_schema_add(s, "app", "nullable", "tenant_id",
	    0), 0);
	ck_assert_int_eq(lint_schema_add(s, "app", "nokey", "org", 1), 0);
	ck_assert_int_eq(lint_schema_add(s, "app", "leaky", "code", 1), 0);
	ck_assert_int_eq(lint_schema_add(s, "app", "leaky", "webhook_secret",
	    0), 0);
	ck_assert_int_eq(lint_schema_add(s, "app", "typo", "tenant_id", 1), 0);
	ck_assert_int_eq(lint_schema_add(s, "app", "typo", "password", 0), 0);
	ck_assert_int_eq(lint_schema_add(s, "app", "secrets", "token", 1), 0);
	ck_assert_int_eq(lint_schema_add(s, "app", "stray", NULL, 0), 0);
	ck_assert_int_eq(lint_check_schema(cfg, s, rep), 0);

	ck_assert(lint_report_has(rep, "unclassified_table", "app.stray"));
	ck_assert(lint_report_has(rep, "missing_table", "app.ghost"));
	ck_assert(lint_report_has(rep, "tenant_column_nullable",
	    "app.nullable"));
	ck_assert(lint_report_has(rep, "tenant_column_missing", "app.nokey"));
	ck_assert(lint_report_has(rep, "secret_column",
	    "app.leaky.webhook_secret"));
	/* A typo in exclude_columns leaves the real column exposed: both
	 * the typo and the secret column are reported. */
	ck_assert(lint_report_has(rep, "unknown_column", "app.typo.pasword"));
	ck_assert(lint_report_has(rep, "secret_column", "app.typo.password"));
	ck_assert(lint_report_has(rep, "unknown_column", "app.typo"));
	/* Excluded or allowed secrets, and excluded tables, are fine. */
	ck_assert(!lint_report_has(rep, "secret_column", "app.good.api_token"));
	ck_assert(!lint_report_has(rep, "secret_column",
	    "app.good.session_count"));
	ck_assert(!lint_report_has(rep, "secret_column", "app.secrets.token"));
	ck_assert_uint_eq(lint_report_count(rep), 8);
	for (i = 0; i < lint_report_count(rep); i++) {
		const struct lint_finding *f = lint_report_get(rep, i);

		ck_assert(f->fix[0] != '\0');
		ck_assert(f->message[0] != '\0');
	}
	ck_assert_ptr_null(lint_report_get(rep, lint_report_count(rep)));
	lint_report_free(rep);
	lint_report_free(NULL);
	lint_schema_free(s);
	lint_schema_free(NULL);
	config_free(cfg);
}
END_TEST

/* Names follow PostgreSQL's rules: quoted where needed, matched exactly. */
START_TEST(test_quoted_names)
{
	struct config *cfg;
	const struct config_table *t;
	const struct config_control *k;
	struct config *bad = NULL;
	char err[512];
	char longhdr[200];
	size_t i;
	static const char *const refused[] = {
		"[table crm.Order Items]\nclass = tenant\n",
		"[table crm.Orders]\nclass = tenant\n",
		"[table crm.\"Order Items]\nclass = tenant\n",
		"[table crm.\"\"]\nclass = tenant\n",
		"[table app.t] junk\nclass = tenant\n",
		"[table app.t]\nclass = tenant\nexclude_columns = Full Name\n",
		"[table app.t]\nclass = tenant\nexclude_columns = a,\n",
		"[table app.t]\nclass = tenant\nexclude_columns = a b\n",
		"[table app.t]\nclass = tenant\ntenant_key = \"a\" x\n",
		"[control]\nhigh_risk_tables = app.Users\n",
	};

	cfg = parse_ok(
	    "[table crm.\"Order Items\"] ; a comment\nclass = tenant\n"
	    "tenant_key = \"Org Id\"\n"
	    "exclude_columns = \"Full Name\", email, \"a,b\"\n"
	    "exclude_columns = U&\"line\\000Abreak\"\n"
	    "[table \"My.Schema\".\"x]y\"]\nclass = excluded\n"
	    "[table app.\"say \"\"hi\"\"\"]\nclass = global\n"
	    "[control]\nhigh_risk_tables = crm.\"Order Items\", app.users\n");
	t = config_table_find(cfg, "crm", "Order Items");
	ck_assert_ptr_nonnull(t);
	ck_assert_str_eq(t->tenant_key, "Org Id");
	ck_assert_uint_eq(t->nexclude, 4);
	ck_assert_str_eq(t->exclude[0], "Full Name");
	ck_assert_str_eq(t->exclude[1], "email");
	ck_assert_str_eq(t->exclude[2], "a,b");
	ck_assert_str_eq(t->exclude[3], "line\nbreak");
	ck_assert_ptr_nonnull(config_table_find(cfg, "My.Schema", "x]y"));
	ck_assert_ptr_nonnull(config_table_find(cfg, "app", "say \"hi\""));
	/* exact bytes: no folding, no trimming */
	ck_assert_ptr_null(config_table_find(cfg, "crm", "order items"));
	ck_assert_ptr_null(config_table_find(cfg, "crm", "Order Items "));
	k = config_control(cfg);
	ck_assert_uint_eq(k->nhigh_risk_tables, 2);
	ck_assert_str_eq(k->high_risk_tables[0], "crm.\"Order Items\"");
	ck_assert_str_eq(k->high_risk_tables[1], "app.users");
	config_free(cfg);

	/* a header longer than inih's 49 bytes is read whole */
	snprintf(longhdr, sizeof(longhdr), "[table app.\"%s\"]\nclass = "
	    "global\n", "a table name that is longer than fifty bytes ok");
	cfg = parse_ok(longhdr);
	ck_assert_ptr_nonnull(config_table_find(cfg, "app",
	    "a table name that is longer than fifty bytes ok"));
	config_free(cfg);

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		ck_assert_msg(config_parse(refused[i], strlen(refused[i]), &bad,
		    err, sizeof(err)) == ERR_CONFIG, "accepted: %s", refused[i]);
		ck_assert_ptr_null(bad);
	}
	ck_assert_int_eq(config_parse(refused[1], strlen(refused[1]), &bad,
	    err, sizeof(err)), ERR_CONFIG);
	ck_assert_ptr_nonnull(strstr(err, "folds it to lower case"));
}
END_TEST

/* lint's fixes name tables and columns so that the line can be pasted. */
START_TEST(test_fix_pasteable)
{
	struct config *cfg = parse_ok("[table crm.\"Order Items\"]\n"
	    "class = tenant\n");
	struct lint_schema *s = lint_schema_new();
	struct lint_report *rep = lint_report_new();
	const struct lint_finding *f;
	size_t i;
	int seen = 0;

	ck_assert_int_eq(lint_schema_add(s, "crm", "Order Items", "tenant_id",
	    1), 0);
	ck_assert_int_eq(lint_schema_add(s, "crm", "Order Items", "API Token",
	    0), 0);
	ck_assert_int_eq(lint_schema_add(s, "crm", "Line.Items", "x", 1), 0);
	ck_assert_int_eq(lint_check_schema(cfg, s, rep), 0);
	ck_assert(lint_report_has(rep, "unclassified_table",
	    "crm.\"Line.Items\""));
	ck_assert(lint_report_has(rep, "secret_column",
	    "crm.\"Order Items\".\"API Token\""));
	for (i = 0; (f = lint_report_get(rep, i)) != NULL; i++) {
		if (strcmp(f->check, "unclassified_table") == 0) {
			ck_assert_ptr_nonnull(strstr(f->fix,
			    "[table crm.\"Line.Items\"]"));
			seen++;
		}
		if (strcmp(f->check, "secret_column") == 0) {
			ck_assert_ptr_nonnull(strstr(f->fix,
			    "[table crm.\"Order Items\"]"));
			ck_assert_ptr_nonnull(strstr(f->fix,
			    "exclude_columns = \"API Token\""));
			seen++;
		}
	}
	ck_assert_int_eq(seen, 2);
	config_free(cfg);
	/* and the fixes parse: header and line together */
	cfg = parse_ok("[table crm.\"Line.Items\"]\nclass = excluded\n"
	    "[table crm.\"Order Items\"]\nclass = tenant\n"
	    "exclude_columns = \"API Token\"\n");
	lint_report_free(rep);
	rep = lint_report_new();
	ck_assert_int_eq(lint_check_schema(cfg, s, rep), 0);
	ck_assert_uint_eq(lint_report_count(rep), 0);
	lint_report_free(rep);
	lint_schema_free(s);
	config_free(cfg);
}
END_TEST

START_TEST(test_clean_schema)
{
	struct config *cfg = parse_ok("[table app.t]\nclass = tenant\n");
	struct lint_schema *s = lint_schema_new();
	struct lint_report *rep = lint_report_new();

	ck_assert_int_eq(lint_schema_add(s, "app", "t", "tenant_id", 1), 0);
	ck_assert_int_eq(lint_schema_add(s, "app", "t", "body", 0), 0);
	ck_assert_int_eq(lint_check_schema(cfg, s, rep), 0);
	ck_assert_uint_eq(lint_report_count(rep), 0);
	lint_report_free(rep);
	lint_schema_free(s);
	config_free(cfg);
}
END_TEST

START_TEST(test_setup_script)
{
	struct config *cfg;
	char *script = NULL;
	uint8_t *file;
	size_t len;

	/* The embedded SQL is exactly sql/tenant_scope.sql. */
	file = test_read_file("sql/tenant_scope.sql", &len);
	ck_assert_uint_eq(strlen(db_setup_static_sql()), len);
	ck_assert(memcmp(db_setup_static_sql(), file, len) == 0);
	free(file);

	cfg = parse_ok("[database]\nuser = mon'itor\n"
	    "[table app.\"o'brien\"]\nclass = tenant\nexclude_columns = a, b\n"
	    "[table app.ref]\nclass = global\n"
	    "[table other.secret]\nclass = excluded\n");
	ck_assert_int_eq(db_setup_script(cfg, &script), 0);
	ck_assert_ptr_nonnull(strstr(script, "BEGIN;\n"));
	ck_assert_ptr_nonnull(strstr(script, db_setup_static_sql()));
	ck_assert_ptr_nonnull(strstr(script,
	    "SELECT texp_guard.setup_monitor('mon''itor');"));
	ck_assert_ptr_nonnull(strstr(script,
	    "SELECT texp_guard.setup_schema('app');\n"
	    "SELECT texp_guard.setup_schema('other');\n"));
	ck_assert_ptr_nonnull(strstr(script,
	    "setup_tenant_table('app', 'o''brien', 'tenant_id', "
	    "ARRAY['a', 'b']::name[], NULL);"));
	ck_assert_ptr_nonnull(strstr(script,
	    "setup_global_table('app', 'ref', '{}'::name[]);"));
	ck_assert_ptr_nonnull(strstr(script,
	    "setup_excluded_table('other', 'secret');"));
	ck_assert_ptr_nonnull(strstr(script, "\nCOMMIT;\n"));
	free(script);
	config_free(cfg);

	/* Without a monitor role there is nobody to grant to. */
	cfg = parse_ok("[table app.t]\nclass = global\n");
	ck_assert_int_eq(db_setup_script(cfg, &script), ERR_CONFIG);
	ck_assert_ptr_null(script);
	config_free(cfg);
}
END_TEST

static int
query_int(PGconn *conn, const char *sql)
{
	PGresult *res = PQexec(conn, sql);
	int v;

	ck_assert_msg(PQresultStatus(res) == PGRES_TUPLES_OK, "%s: %s", sql,
	    PQerrorMessage(conn));
	v = atoi(PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

/*
 * db.h against a live database. Runs only when tests/integration/scope_sql.sh
 * sets TEXP_PG_CONFIG (a config whose monitor has a password_file),
 * TEXP_PG_TENANT and TEXP_PG_OTHER; as a plain unit test it has nothing to
 * connect to and returns at once.
 */
START_TEST(test_db_api)
{
	const char *path = getenv("TEXP_PG_CONFIG");
	const char *tenant = getenv("TEXP_PG_TENANT");
	const char *other = getenv("TEXP_PG_OTHER");
	const char *jobhex = getenv("TEXP_PG_JOB");
	uint8_t job[32];
	size_t got = 0;
	struct config *cfg = NULL;
	struct lint_report *rep = NULL;
	struct db_export *ex = NULL;
	struct db_columns *cols = NULL;
	PGconn *mon = NULL, *conn;
	char err[512], sql[256], role[64], *v = NULL;
	size_t i;
	pid_t pid;
	int r, status;

	if (path == NULL || tenant == NULL || other == NULL || jobhex == NULL)
		return;
	ck_assert_int_eq(sodium_hex2bin(job, sizeof(job), jobhex,
	    strlen(jobhex), NULL, &got, NULL), 0);
	ck_assert_uint_eq(got, 32);
	ck_assert_msg(config_load(path, &cfg, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_msg(db_connect(cfg, NULL, &mon, err, sizeof(err)) == 0,
	    "%s", err);
	r = lint_run(mon, cfg, &rep);
	ck_assert_msg(r == 0, "lint: %d, first: %s %s", r,
	    lint_report_count(rep) ? lint_report_get(rep, 0)->check : "",
	    lint_report_count(rep) ? lint_report_get(rep, 0)->object : "");
	lint_report_free(rep);

	ck_assert_int_eq(db_export_open(mon, cfg, job, "", &ex, err,
	    sizeof(err)), ERR_INVALID);
	r = db_export_open(mon, cfg, job, tenant, &ex, err, sizeof(err));
	ck_assert_msg(r == 0, "open: %s", err);
	snprintf(role, sizeof(role), "%s", db_export_role(ex));
	ck_assert_int_eq(strncmp(role, "exp_", 4), 0);
	ck_assert_uint_eq(strlen(role), 36);
	conn = db_export_conn(ex);
	ck_assert_int_eq(PQtransactionStatus(conn), PQTRANS_INTRANS);
	ck_assert_int_eq(query_int(conn, "SELECT (current_setting("
	    "'transaction_isolation') = 'repeatable read' AND "
	    "current_setting('transaction_read_only') = 'on')::int"), 1);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM app.invoices "
	    "WHERE tenant_id = '%s'", other);
	ck_assert_int_eq(query_int(conn, sql), 0);
	ck_assert_int_gt(query_int(conn, "SELECT count(*) FROM app.invoices"),
	    0);

	r = db_table_columns(conn, config_table_find(cfg, "app", "users"),
	    &cols, err, sizeof(err));
	ck_assert_msg(r == 0, "columns: %s", err);
	for (i = 0; i < cols->n; i++) {
		ck_assert_str_ne(cols->col[i].name, "password_hash");
		ck_assert(cols->col[i].readable);
	}
	ck_assert_str_eq(cols->col[0].name, "tenant_id");
	ck_assert(cols->col[0].is_tenant_key && cols->col[0].not_null);
	ck_assert_uint_eq(cols->col[0].type_oid, 2950);	/* uuid */
	db_columns_free(cols);

	ck_assert_int_eq(db_snapshot_current(conn, &v, err, sizeof(err)), 0);
	ck_assert_ptr_nonnull(strchr(v, ':'));
	free(v);
	ck_assert_int_eq(db_system_identifier(mon, &v, err, sizeof(err)), 0);
	ck_assert_uint_gt(strlen(v), 5);
	free(v);

	ck_assert_msg(db_export_close(ex, mon, err, sizeof(err)) == 0, "%s",
	    err);
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM pg_roles "
	    "WHERE rolname = '%s'", role);
	ck_assert_int_eq(query_int(mon, sql), 0);

	/* The detach path: the parent's socket copy closes, the role is
	 * still dropped. */
	r = db_export_open(mon, cfg, job, tenant, &ex, err, sizeof(err));
	ck_assert_msg(r == 0, "open: %s", err);
	conn = db_export_conn(ex);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		PGresult *res;

		usleep(300 * 1000);	/* after the parent's detach */
		res = PQexec(conn, "SELECT count(*) FROM app.invoices");
		_exit(PQresultStatus(res) == PGRES_TUPLES_OK &&
		    atoi(PQgetvalue(res, 0, 0)) > 0 ? 0 : 1);
	}
	ck_assert_int_eq(db_export_detach(ex), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "the child's session did not survive the parent's detach");
	ck_assert_ptr_null(db_export_conn(ex));
	ck_assert_int_eq(db_export_detach(ex), ERR_INVALID);
	ck_assert_msg(db_export_close(ex, mon, err, sizeof(err)) == 0, "%s",
	    err);
	ck_assert_int_eq(db_export_sweep(mon, &r, err, sizeof(err)), 0);

	PQfinish(mon);
	config_free(cfg);
	printf("db api: ok\n");
	fflush(stdout);
}
END_TEST

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_valid);
	tcase_add_test(tc, test_example_loads);
	tcase_add_loop_test(tc, test_bad, 0,
	    sizeof(bad_configs) / sizeof(bad_configs[0]));
	tcase_add_test(tc, test_password_never_echoed);
	tcase_add_test(tc, test_limits);
	tcase_add_test(tc, test_child_limits);
	tcase_add_test(tc, test_check_export);
	tcase_add_loop_test(tc, test_secret_names, 0,
	    sizeof(secret_cases) / sizeof(secret_cases[0]));
	tcase_add_test(tc, test_fail_closed);
	tcase_add_test(tc, test_clean_schema);
	tcase_add_test(tc, test_quoted_names);
	tcase_add_test(tc, test_fix_pasteable);
	tcase_add_test(tc, test_setup_script);
	tcase_add_test(tc, test_files_section);
	tcase_add_test(tc, test_standby_keys);
	tcase_add_test(tc, test_files_lint);
	tcase_add_test(tc, test_db_api);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	return test_run_suite(config_suite());
}
