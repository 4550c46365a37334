/*
 * lint.c: database checks against the config (see lint.h and the check
 * list in docs/DATABASE.md).
 *
 * Catalog checks are SQL queries that each return rows of (object,
 * message, fix): one row per finding. They all receive the config's tables
 * as JSON in $1 and the monitor's role name in $2, and run in one
 * read-only transaction with search_path = pg_catalog so that names print
 * schema-qualified and no user object can shadow a catalog function.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "config.h"
#include "err.h"
#include "ident.h"
#include "lint.h"
#include "text.h"

#define LINT_MAX_FINDINGS	10000
#define SCHEMA_MAX_TABLES	100000
#define SCHEMA_MAX_COLS		1600	/* PostgreSQL's MaxHeapAttributeNumber */

struct lint_report {
	struct lint_finding *f;
	size_t n;
	int truncated;
};

struct schema_col {
	char *name;
	int not_null;
};

struct schema_table {
	char *schema;
	char *name;
	struct schema_col *cols;
	size_t ncols;
};

struct lint_schema {
	struct schema_table *t;
	size_t n;
};

struct lint_report *
lint_report_new(void)
{
	return calloc(1, sizeof(struct lint_report));
}

void
lint_report_free(struct lint_report *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		free((char *)r->f[i].check);
		free((char *)r->f[i].object);
		free((char *)r->f[i].message);
		free((char *)r->f[i].fix);
	}
	free(r->f);
	free(r);
}

size_t
lint_report_count(const struct lint_report *r)
{
	return r->n;
}

const struct lint_finding *
lint_report_get(const struct lint_report *r, size_t i)
{
	return i < r->n ? &r->f[i] : NULL;
}

int
lint_report_has(const struct lint_report *r, const char *check,
    const char *object)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		if (strcmp(r->f[i].check, check) == 0 &&
		    (object == NULL || strcmp(r->f[i].object, object) == 0))
			return 1;
	return 0;
}

/* A malloc'd, escaped copy of s (text.h); "" for NULL. */
static char *
escape_dup(const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;
	char *d;

	if (n > (SIZE_MAX - 1) / 4 || (d = malloc(4 * n + 1)) == NULL)
		return NULL;
	text_escape(d, 4 * n + 1, s != NULL ? s : "", n);
	return d;
}

size_t
lint_report_blocking(const struct lint_report *r)
{
	size_t i, n = 0;

	for (i = 0; i < r->n; i++)
		n += !r->f[i].info;
	return n + (r->truncated ? 1 : 0);
}

static int report_add(struct lint_report *r, const char *check,
    const char *object, const char *message, const char *fix, int info);

int
lint_report_add(struct lint_report *r, const char *check, const char *object,
    const char *message, const char *fix)
{
	return report_add(r, check, object, message, fix, 0);
}

int
lint_report_note(struct lint_report *r, const char *check, const char *object,
    const char *message, const char *fix)
{
	return report_add(r, check, object, message, fix, 1);
}

static int
report_add(struct lint_report *r, const char *check, const char *object,
    const char *message, const char *fix, int info)
{
	struct lint_finding *nf, *f;

	if (r->n >= LINT_MAX_FINDINGS) {
		/* Enough to fail; the count stays honest. */
		r->truncated = 1;
		return 0;
	}
	if ((nf = reallocarray(r->f, r->n + 1, sizeof(*nf))) == NULL)
		return ERR_NOMEM;
	r->f = nf;
	f = &nf[r->n];
	/* Names and messages come from the catalogs: escaped here, once. */
	f->check = strdup(check);
	f->object = escape_dup(object);
	f->message = escape_dup(message);
	f->fix = escape_dup(fix);
	f->info = info;
	if (f->check == NULL || f->object == NULL || f->message == NULL ||
	    f->fix == NULL) {
		free((char *)f->check);
		free((char *)f->object);
		free((char *)f->message);
		free((char *)f->fix);
		return ERR_NOMEM;
	}
	r->n++;
	return 0;
}

static int
addf(struct lint_report *r, const char *check, const char *object,
    const char *fix, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
addf(struct lint_report *r, const char *check, const char *object,
    const char *fix, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return lint_report_add(r, check, object, msg, fix);
}

struct lint_schema *
lint_schema_new(void)
{
	return calloc(1, sizeof(struct lint_schema));
}

void
lint_schema_free(struct lint_schema *s)
{
	size_t i, j;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++) {
		for (j = 0; j < s->t[i].ncols; j++)
			free(s->t[i].cols[j].name);
		free(s->t[i].cols);
		free(s->t[i].schema);
		free(s->t[i].name);
	}
	free(s->t);
	free(s);
}

int
lint_schema_add(struct lint_schema *s, const char *schema, const char *table,
    const char *col, int not_null)
{
	struct schema_table *t, *nt;
	struct schema_col *nc;

	t = s->n > 0 ? &s->t[s->n - 1] : NULL;
	if (t == NULL || strcmp(t->schema, schema) != 0 ||
	    strcmp(t->name, table) != 0) {
		if (s->n >= SCHEMA_MAX_TABLES)
			return ERR_LIMIT;
		if ((nt = reallocarray(s->t, s->n + 1, sizeof(*nt))) == NULL)
			return ERR_NOMEM;
		s->t = nt;
		t = &nt[s->n];
		memset(t, 0, sizeof(*t));
		if ((t->schema = strdup(schema)) == NULL ||
		    (t->name = strdup(table)) == NULL) {
			free(t->schema);
			free(t->name);
			return ERR_NOMEM;
		}
		s->n++;
	}
	if (col == NULL)
		return 0;
	if (t->ncols >= SCHEMA_MAX_COLS)
		return ERR_LIMIT;
	if ((nc = reallocarray(t->cols, t->ncols + 1, sizeof(*nc))) == NULL)
		return ERR_NOMEM;
	t->cols = nc;
	if ((nc[t->ncols].name = strdup(col)) == NULL)
		return ERR_NOMEM;
	nc[t->ncols].not_null = not_null != 0;
	t->ncols++;
	return 0;
}

static const struct schema_table *
schema_find(const struct lint_schema *s, const char *schema, const char *name)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->t[i].schema, schema) == 0 &&
		    strcmp(s->t[i].name, name) == 0)
			return &s->t[i];
	return NULL;
}

static const struct schema_col *
schema_col(const struct schema_table *t, const char *col)
{
	size_t i;

	for (i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i].name, col) == 0)
			return &t->cols[i];
	return NULL;
}

/* Names for findings: the object in canonical form, the config's
 * table header and column names in the form a config line takes, and
 * SQL identifiers always double-quoted (never a key word). */
struct names {
	char obj[IDENT_QNAME_MAX + IDENT_QUOTED_MAX];
	char hdr[IDENT_CONFIG_QMAX + 8];
	char col[IDENT_CONFIG_MAX];
	char sql[2 * (2 * IDENT_MAX + 3) + 2];
	char sqlcol[2 * IDENT_MAX + 3];
};

static void
sql_quote(char *out, size_t outlen, const char *name)
{
	size_t n = 0;

	if (outlen < 3)
		return;
	out[n++] = '"';
	for (; *name != '\0' && n + 3 < outlen; name++) {
		if (*name == '"')
			out[n++] = '"';
		out[n++] = *name;
	}
	out[n++] = '"';
	out[n] = '\0';
}

/* Fills nm for schema.table and, when col != NULL, its column. */
static void
names_set(struct names *nm, const char *schema, const char *table,
    const char *col)
{
	char s[sizeof(nm->sqlcol)], t[sizeof(nm->sqlcol)];
	char q[IDENT_QUOTED_MAX], h[IDENT_CONFIG_QMAX];

	if (ident_qualify(nm->obj, sizeof(nm->obj), schema, table) != 0)
		snprintf(nm->obj, sizeof(nm->obj), "?");
	if (ident_qualify_config(h, sizeof(h), schema, table) != 0)
		snprintf(h, sizeof(h), "?");
	snprintf(nm->hdr, sizeof(nm->hdr), "[table %s]", h);
	sql_quote(s, sizeof(s), schema);
	sql_quote(t, sizeof(t), table);
	snprintf(nm->sql, sizeof(nm->sql), "%s.%s", s, t);
	nm->col[0] = nm->sqlcol[0] = '\0';
	if (col == NULL)
		return;
	if (ident_quote(q, sizeof(q), col) != 0)
		snprintf(q, sizeof(q), "?");
	snprintf(nm->obj + strlen(nm->obj), sizeof(nm->obj) - strlen(nm->obj),
	    ".%s", q);
	if (ident_quote_config(nm->col, sizeof(nm->col), col) != 0)
		snprintf(nm->col, sizeof(nm->col), "?");
	sql_quote(nm->sqlcol, sizeof(nm->sqlcol), col);
}

/* exclude_columns / allow_columns entries must name real columns: a typo
 * in an exclusion would otherwise export the column it meant to hide. */
static int
check_listed(struct lint_report *rep, const struct config_table *ct,
    const struct schema_table *st, char *const *list, size_t n,
    const char *key)
{
	struct names nm;
	char fix[1024];
	size_t i;
	int r;

	for (i = 0; i < n; i++) {
		if (schema_col(st, list[i]) != NULL)
			continue;
		names_set(&nm, ct->schema, ct->name, list[i]);
		snprintf(fix, sizeof(fix), "correct or remove %s in %s of %s",
		    nm.col, key, nm.hdr);
		if ((r = addf(rep, "unknown_column", nm.obj, fix,
		    "%s names a column that does not exist", key)) != 0)
			return r;
	}
	return 0;
}

/* The tenant column of a tenant table: it must exist and be NOT NULL.
 * The object is the table (orphan_rows counts the NULL rows). */
static int
check_tenant_column(struct lint_report *rep, const struct config_table *ct,
    const struct schema_table *st)
{
	const struct schema_col *sc = schema_col(st, ct->tenant_key);
	struct names nm, tn;
	char fix[1024];

	names_set(&nm, ct->schema, ct->name, ct->tenant_key);
	names_set(&tn, ct->schema, ct->name, NULL);
	if (sc == NULL) {
		snprintf(fix, sizeof(fix), "set tenant_key in %s to its tenant "
		    "column, or classify it global or excluded", nm.hdr);
		return addf(rep, "tenant_column_missing", tn.obj, fix,
		    "tenant column %s does not exist", nm.col);
	}
	if (sc->not_null)
		return 0;
	snprintf(fix, sizeof(fix), "assign or quarantine the rows whose tenant "
	    "column is NULL first (orphan_rows says how many), then ALTER TABLE "
	    "%s ALTER COLUMN %s SET NOT NULL", nm.sql, nm.sqlcol);
	return addf(rep, "tenant_column_nullable", tn.obj, fix, "tenant column "
	    "%s is nullable: a NULL row belongs to no tenant", nm.col);
}

/* [files] path_column and size_column are columns of the files table. */
static int
check_files_columns(const struct config *cfg, struct lint_report *rep,
    const struct config_table *ct, const struct schema_table *st)
{
	const struct config_files *f = config_files(cfg);
	const char *cols[2];
	struct names nm;
	size_t i;
	int r;

	if (f == NULL || strcmp(f->schema, ct->schema) != 0 ||
	    strcmp(f->table, ct->name) != 0)
		return 0;
	cols[0] = f->path_column;
	cols[1] = f->size_column;
	for (i = 0; i < 2; i++) {
		if (cols[i] == NULL || schema_col(st, cols[i]) != NULL)
			continue;
		names_set(&nm, ct->schema, ct->name, NULL);
		if ((r = addf(rep, "unknown_column", nm.obj, "correct [files] "
		    "path_column or size_column", "[files] %s does not exist",
		    i == 0 ? "path_column" : "size_column")) != 0)
			return r;
	}
	return 0;
}

int
lint_check_schema(const struct config *cfg, const struct lint_schema *s,
    struct lint_report *rep)
{
	const struct config_table *ct;
	const struct schema_table *st;
	const struct schema_col *sc;
	struct names nm;
	char fix[1024];
	size_t i, j;
	int r;

	for (i = 0; i < s->n; i++) {
		st = &s->t[i];
		if (config_table_find(cfg, st->schema, st->name) != NULL)
			continue;
		names_set(&nm, st->schema, st->name, NULL);
		snprintf(fix, sizeof(fix), "add %s with class = tenant, global "
		    "or excluded to the config", nm.hdr);
		if ((r = addf(rep, "unclassified_table", nm.obj, fix,
		    "table is not classified in the config")) != 0)
			return r;
	}
	for (i = 0; i < config_table_count(cfg); i++) {
		ct = config_table_at(cfg, i);
		names_set(&nm, ct->schema, ct->name, NULL);
		if ((st = schema_find(s, ct->schema, ct->name)) == NULL) {
			snprintf(fix, sizeof(fix), "correct the name or remove "
			    "%s from the config (names are matched exactly as "
			    "the catalog stores them)", nm.hdr);
			if ((r = addf(rep, "missing_table", nm.obj, fix,
			    "configured table does not exist")) != 0)
				return r;
			continue;
		}
		if (ct->cls == CONFIG_CLASS_EXCLUDED)
			continue;
		if (ct->cls == CONFIG_CLASS_TENANT) {
			if ((r = check_tenant_column(rep, ct, st)) != 0)
				return r;
			if (ct->date_column != NULL &&
			    schema_col(st, ct->date_column) == NULL) {
				names_set(&nm, ct->schema, ct->name,
				    ct->date_column);
				snprintf(fix, sizeof(fix), "correct date_column "
				    "in %s", nm.hdr);
				names_set(&nm, ct->schema, ct->name, NULL);
				if ((r = addf(rep, "unknown_column", nm.obj, fix,
				    "date_column does not exist")) != 0)
					return r;
			}
		}
		for (j = 0; j < st->ncols; j++) {
			sc = &st->cols[j];
			if (!config_column_looks_secret(sc->name) ||
			    config_table_excludes(ct, sc->name) ||
			    config_table_allows(ct, sc->name))
				continue;
			names_set(&nm, ct->schema, ct->name, sc->name);
			snprintf(fix, sizeof(fix), "in %s add the line "
			    "exclude_columns = %s (or allow_columns = %s if it "
			    "holds no secret)", nm.hdr, nm.col, nm.col);
			if ((r = addf(rep, "secret_column", nm.obj, fix,
			    "column name looks like a secret")) != 0)
				return r;
		}
		if ((r = check_files_columns(cfg, rep, ct, st)) != 0)
			return r;
		if ((r = check_listed(rep, ct, st, ct->exclude, ct->nexclude,
		    "exclude_columns")) != 0 ||
		    (r = check_listed(rep, ct, st, ct->allow, ct->nallow,
		    "allow_columns")) != 0)
			return r;
	}
	return 0;
}

/* ---- catalog checks ---- */

/* The canonical written form of a name (ident.h): bare when it matches
 * [a-z_][a-z0-9_]*, else double-quoted. */
#define QN(x) "(CASE WHEN " x " ~ '^[a-z_][a-z0-9_]*$' THEN " x \
	" ELSE '\"' || replace(" x ", '\"', '\"\"') || '\"' END)"

#define CFG_CTE \
	"WITH cfg AS (SELECT * FROM pg_catalog.json_to_recordset($1::json) " \
	"AS x(s text, t text, c text, k text, d text, x text[])), " \
	"rel AS (SELECT c.oid, c.relkind, c.relowner, c.relrowsecurity, " \
	"c.relforcerowsecurity, n.nspname, c.relname, " \
	"pg_catalog.format('%I.%I', n.nspname, c.relname) AS q, " \
	QN("n.nspname") " || '.' || " QN("c.relname") " AS o " \
	"FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n " \
	"ON n.oid = c.relnamespace WHERE n.nspname NOT IN " \
	"('pg_catalog', 'information_schema') " \
	"AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'), " \
	"members AS (SELECT m.member FROM pg_catalog.pg_auth_members m " \
	"WHERE m.roleid = to_regrole('texp_export')) "

/* What every check gets. */
struct lint_ctx {
	PGconn *conn;
	const struct config *cfg;
	const char *json;	/* the config's tables ($1 of every query) */
	const char *monitor;	/* the monitor's role name ($2) */
	struct lint_report *rep;
	int roles_missing;	/* set by check_roles */
};

static int
query_error(struct lint_report *rep, const char *what, PGconn *conn,
    const PGresult *res)
{
	const char *m = res != NULL ?
	    PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : NULL;
	char msg[512];
	size_t n;

	snprintf(msg, sizeof(msg), "%s", m != NULL ? m : PQerrorMessage(conn));
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = '\0';
	if (lint_report_add(rep, "lint_error", what, msg,
	    "check the connection and that the role may read the catalogs")
	    != 0)
		return ERR_NOMEM;
	return ERR_DB;
}

/*
 * Runs one catalog query returning (object, message, fix) rows and adds
 * each row as a finding of check id.
 */
static int
sql_check_kind(struct lint_ctx *x, const char *id, const char *sql, int info)
{
	/* Both parameters are text (OID 25); typed so that a check may
	 * leave one unused. */
	static const Oid types[2] = { 25, 25 };
	const char *p[2] = { x->json, x->monitor };
	PGresult *res;
	int i, r = ERR_INTERNAL;

	res = PQexecParams(x->conn, sql, 2, types, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		r = query_error(x->rep, id, x->conn, res);
		goto out;
	}
	for (i = 0; i < PQntuples(res); i++)
		if ((r = (info ? lint_report_note : lint_report_add)(x->rep, id,
		    PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		    PQgetvalue(res, i, 2))) != 0)
			goto out;
	r = 0;
 out:
	PQclear(res);
	return r;
}

static int
sql_check(struct lint_ctx *x, const char *id, const char *sql)
{
	return sql_check_kind(x, id, sql, 0);
}

/* A check whose findings are information for the DBA. */
static int
sql_note(struct lint_ctx *x, const char *id, const char *sql)
{
	return sql_check_kind(x, id, sql, 1);
}

static int
exec_simple(PGconn *conn, const char *sql, struct lint_report *rep)
{
	PGresult *res = PQexec(conn, sql);
	int r = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		r = query_error(rep, sql, conn, res);
	PQclear(res);
	return r;
}

/* The config's tables as JSON: [{"s","t","c","k","d","x":[...]}]. */
static char *
config_json(const struct config *cfg)
{
	const struct config_table *t;
	json_t *arr, *o, *x;
	char *s = NULL;
	size_t i, j;
	int bad = 0;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i < config_table_count(cfg) && !bad; i++) {
		t = config_table_at(cfg, i);
		o = json_pack("{s:s, s:s, s:s, s:s?, s:s?}", "s", t->schema,
		    "t", t->name, "c", config_class_str(t->cls),
		    "k", t->tenant_key, "d", t->date_column);
		x = json_array();
		if (o == NULL || x == NULL) {
			json_decref(o);
			json_decref(x);
			bad = 1;
			break;
		}
		for (j = 0; j < t->nexclude; j++)
			if (json_array_append_new(x,
			    json_string(t->exclude[j])) != 0)
				bad = 1;
		if (json_object_set_new(o, "x", x) != 0 ||
		    json_array_append_new(arr, o) != 0)
			bad = 1;
	}
	if (!bad)
		s = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return s;
}

/* Schema relations the config must classify (partitions are reached via
 * their parent; texp_guard and the control schema texp_control are ours:
 * export sessions cannot read them, which readable_unclassified checks). */
static const char schema_sql[] =
    "SELECT n.nspname, c.relname, a.attname, a.attnotnull "
    "FROM pg_catalog.pg_class c "
    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
    "LEFT JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid "
    "AND a.attnum > 0 AND NOT a.attisdropped "
    "WHERE c.relkind IN ('r', 'p', 'f') AND NOT c.relispartition "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'texp_guard', "
    "'texp_control') "
    "AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)' "
    "ORDER BY n.nspname, c.relname, a.attnum";

/* The config against the tables and columns that exist (lint_check_schema). */
static int
check_schema(struct lint_ctx *x)
{
	struct lint_schema *s = NULL;
	PGresult *res;
	int i, r = ERR_INTERNAL;

	res = PQexec(x->conn, schema_sql);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		r = query_error(x->rep, "list tables", x->conn, res);
		goto out;
	}
	if ((s = lint_schema_new()) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < PQntuples(res); i++) {
		if ((r = lint_schema_add(s, PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), PQgetisnull(res, i, 2) ? NULL :
		    PQgetvalue(res, i, 2), PQgetvalue(res, i, 3)[0] == 't')) != 0)
			goto out;
	}
	r = lint_check_schema(x->cfg, s, x->rep);
 out:
	PQclear(res);
	lint_schema_free(s);
	return r;
}

/* The roles db-setup creates; without them the role checks are skipped
 * (and this finding fails lint). */
static int
check_roles(struct lint_ctx *x)
{
	static const char *const roles[] = { "texp_export", "texp_guard",
	    "texp_provisioner" };
	PGresult *res = NULL;
	size_t i;
	int r = 0;

	for (i = 0; i < sizeof(roles) / sizeof(roles[0]) && r == 0; i++) {
		const char *p[1] = { roles[i] };

		PQclear(res);
		res = PQexecParams(x->conn, "SELECT to_regrole($1) IS NULL", 1,
		    NULL, p, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_TUPLES_OK ||
		    PQntuples(res) != 1) {
			r = query_error(x->rep, "roles", x->conn, res);
			break;
		}
		if (PQgetvalue(res, 0, 0)[0] == 't') {
			x->roles_missing = 1;
			r = lint_report_add(x->rep, "role_missing", roles[i],
			    "role does not exist; the other checks need it",
			    "run tenant-export db-setup --apply");
		}
	}
	PQclear(res);
	return r;
}

static int
check_guard_setup(struct lint_ctx *x)
{
	return sql_check(x, "guard_setup", CFG_CTE
	    "SELECT 'texp_guard.role_tenant()', 'function missing', "
	    "'run tenant-export db-setup --apply' "
	    "WHERE to_regprocedure('texp_guard.role_tenant()') IS NULL "
	    "UNION ALL SELECT 'texp_guard.role_tenant()', "
	    "'not SECURITY DEFINER owned by texp_guard', "
	    "'run tenant-export db-setup --apply' "
	    "FROM pg_proc p WHERE p.oid = to_regprocedure('texp_guard.role_tenant()') "
	    "AND (NOT p.prosecdef OR p.proowner <> 'texp_guard'::regrole) "
	    "UNION ALL SELECT 'texp_guard.role_tenant()', "
	    "'texp_export cannot execute it: exports would see nothing', "
	    "'run tenant-export db-setup --apply' "
	    "WHERE to_regprocedure('texp_guard.role_tenant()') IS NOT NULL AND NOT "
	    "has_function_privilege('texp_export', "
	    "to_regprocedure('texp_guard.role_tenant()'), 'EXECUTE') "
	    "UNION ALL SELECT 'texp_guard.grants', 'table missing or not owned "
	    "by texp_guard', 'run tenant-export db-setup --apply' "
	    "WHERE NOT EXISTS (SELECT 1 FROM pg_class c WHERE "
	    "c.oid = to_regclass('texp_guard.grants') "
	    "AND c.relowner = 'texp_guard'::regrole) "
	    "UNION ALL SELECT f, 'provisioning function missing or not owned by "
	    "texp_provisioner', 'run tenant-export db-setup --apply' "
	    "FROM unnest(ARRAY['texp_guard.export_role_create(text,text,bytea)', "
	    "'texp_guard.export_role_drop(text)', "
	    "'texp_guard.export_roles_sweep()']) f WHERE NOT EXISTS "
	    "(SELECT 1 FROM pg_proc p WHERE p.oid = to_regprocedure(f) "
	    "AND p.prosecdef AND p.proowner = 'texp_provisioner'::regrole) "
	    "UNION ALL SELECT p.oid::regprocedure::text, 'executable by ' || "
	    "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE pg_get_userbyid(a.grantee) "
	    "END || '; only the monitor role may create export roles', "
	    "format('REVOKE EXECUTE ON FUNCTION %s FROM %s', p.oid::regprocedure, "
	    "CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE "
	    "quote_ident(pg_get_userbyid(a.grantee)) END) "
	    "FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', "
	    "p.proowner))) a WHERE p.oid IN (SELECT to_regprocedure(f) FROM unnest("
	    "ARRAY['texp_guard.export_role_create(text,text,bytea)', "
	    "'texp_guard.export_role_drop(text)', "
	    "'texp_guard.export_roles_sweep()']) f) AND a.privilege_type = 'EXECUTE' "
	    "AND a.grantee <> p.proowner "
	    "AND a.grantee IS DISTINCT FROM to_regrole(quote_ident($2)) "
	    "UNION ALL SELECT r.rolname::text, 'can log in', "
	    "format('ALTER ROLE %I NOLOGIN', r.rolname) FROM pg_roles r "
	    "WHERE r.rolname IN ('texp_export', 'texp_guard', 'texp_provisioner') "
	    "AND r.rolcanlogin "
	    "UNION ALL SELECT pg_get_userbyid(m.member)::text, 'is a member of ' || "
	    "pg_get_userbyid(m.roleid) || ' and can act as it', "
	    "format('REVOKE %I FROM %I', pg_get_userbyid(m.roleid), "
	    "pg_get_userbyid(m.member)) FROM pg_auth_members m "
	    "WHERE m.roleid IN ('texp_guard'::regrole, 'texp_provisioner'::regrole)");
}

static int
check_group_attributes(struct lint_ctx *x)
{
	return sql_check(x, "group_attributes", CFG_CTE
	    "SELECT r.rolname::text, 'export role has ' || concat_ws(', ', "
	    "CASE WHEN r.rolsuper THEN 'SUPERUSER' END, "
	    "CASE WHEN r.rolbypassrls THEN 'BYPASSRLS' END, "
	    "CASE WHEN r.rolcreaterole THEN 'CREATEROLE' END, "
	    "CASE WHEN r.rolcreatedb THEN 'CREATEDB' END, "
	    "CASE WHEN r.rolreplication THEN 'REPLICATION' END, "
	    "CASE WHEN r.rolname = 'texp_export' AND r.rolcanlogin THEN 'LOGIN' END), "
	    "format('ALTER ROLE %I NOSUPERUSER NOBYPASSRLS NOCREATEROLE NOCREATEDB "
	    "NOREPLICATION', r.rolname) FROM pg_roles r "
	    "WHERE (r.rolname = 'texp_export' OR r.oid IN (SELECT member FROM members)) "
	    "AND (r.rolsuper OR r.rolbypassrls OR r.rolcreaterole OR r.rolcreatedb "
	    "OR r.rolreplication OR (r.rolname = 'texp_export' AND r.rolcanlogin))");
}

static int
check_group_member_of(struct lint_ctx *x)
{
	return sql_check(x, "group_member_of", CFG_CTE
	    "SELECT pg_get_userbyid(m.member)::text, 'export role is a member of ' || "
	    "pg_get_userbyid(m.roleid) || ' and may gain its privileges or policies', "
	    "format('REVOKE %I FROM %I', pg_get_userbyid(m.roleid), "
	    "pg_get_userbyid(m.member)) FROM pg_auth_members m "
	    "WHERE (m.member = 'texp_export'::regrole OR m.member IN "
	    "(SELECT member FROM members)) AND m.roleid <> 'texp_export'::regrole");
}

static int
check_group_owns(struct lint_ctx *x)
{
	return sql_check(x, "group_owns", CFG_CTE
	    "SELECT pg_describe_object(d.classid, d.objid, d.objsubid), "
	    "'owned by export role ' || pg_get_userbyid(d.refobjid) || "
	    "': owners bypass privileges and, unless forced, RLS', "
	    "format('REASSIGN OWNED BY %I TO <a NOLOGIN owner role>', "
	    "pg_get_userbyid(d.refobjid)) FROM pg_shdepend d "
	    "WHERE d.refclassid = 'pg_authid'::regclass AND d.deptype = 'o' "
	    "AND d.dbid IN (0, (SELECT oid FROM pg_database "
	    "WHERE datname = current_database())) "
	    "AND (d.refobjid = 'texp_export'::regrole "
	    "OR d.refobjid IN (SELECT member FROM members))");
}

static int
check_rls_disabled(struct lint_ctx *x)
{
	return sql_check(x, "rls_disabled", CFG_CTE
	    "SELECT " QN("cfg.s") " || '.' || " QN("cfg.t") ", 'row level security is disabled on a "
	    "tenant table', format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY "
	    "(or run db-setup --apply)', rel.q) FROM cfg JOIN rel "
	    "ON rel.nspname = cfg.s AND rel.relname = cfg.t "
	    "WHERE cfg.c = 'tenant' AND NOT rel.relrowsecurity");
}

static int
check_rls_not_forced(struct lint_ctx *x)
{
	return sql_check(x, "rls_not_forced", CFG_CTE
	    "SELECT " QN("cfg.s") " || '.' || " QN("cfg.t") ", 'row level security is not forced: the "
	    "table owner is not bound by it', format('ALTER TABLE %s FORCE ROW "
	    "LEVEL SECURITY (or run db-setup --apply)', rel.q) FROM cfg JOIN rel "
	    "ON rel.nspname = cfg.s AND rel.relname = cfg.t "
	    "WHERE cfg.c = 'tenant' AND NOT rel.relforcerowsecurity");
}

/* 1 if db-setup's registry texp_guard.tables exists. */
static int
registry_exists(struct lint_ctx *x)
{
	PGresult *res = PQexec(x->conn, "SELECT pg_catalog.to_regclass("
	    "'texp_guard.tables') IS NOT NULL");
	int yes = PQresultStatus(res) == PGRES_TUPLES_OK &&
	    PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';

	PQclear(res);
	return yes;
}

static int
check_policy_missing(struct lint_ctx *x)
{
	/* Before db-setup there is no registry to compare with: every
	 * tenant table is reported. */
	if (!registry_exists(x))
		return sql_check(x, "policy_missing", CFG_CTE
		    "SELECT " QN("cfg.s") " || '.' || " QN("cfg.t") ", 'db-setup has not run: no "
		    "policy texp_export_scope and no texp_guard.tables', "
		    "'run tenant-export db-setup --apply' FROM cfg "
		    "WHERE cfg.c = 'tenant'");
	return sql_check(x, "policy_missing", CFG_CTE
	    "SELECT " QN("cfg.s") " || '.' || " QN("cfg.t") ", CASE WHEN p.oid IS NULL THEN "
	    "'policy texp_export_scope is missing: texp_export sees no rows, or "
	    "all of them if RLS is off' WHEN g.rel IS NULL THEN 'the table is "
	    "not in the registry db-setup keeps (texp_guard.tables)' "
	    "WHEN g.tenant_col IS DISTINCT FROM cfg.k OR g.date_col IS DISTINCT "
	    "FROM cfg.d THEN 'db-setup scoped it by other columns than the "
	    "config names' ELSE 'policy texp_export_scope differs from the one "
	    "db-setup created: ' || coalesce(pg_get_expr(p.polqual, p.polrelid), "
	    "'(no USING)') END, 'run tenant-export db-setup --apply' "
	    "FROM cfg JOIN rel ON rel.nspname = cfg.s AND rel.relname = cfg.t "
	    "LEFT JOIN texp_guard.tables g ON g.rel = rel.oid "
	    "LEFT JOIN pg_policy p ON p.polrelid = rel.oid "
	    "AND p.polname = 'texp_export_scope' WHERE cfg.c = 'tenant' AND "
	    "(p.oid IS NULL OR NOT p.polpermissive OR p.polcmd <> 'r' "
	    "OR p.polroles <> ARRAY['texp_export'::regrole::oid] "
	    "OR g.rel IS NULL OR g.tenant_col IS DISTINCT FROM cfg.k "
	    "OR g.date_col IS DISTINCT FROM cfg.d "
	    "OR pg_get_expr(p.polqual, p.polrelid) IS DISTINCT FROM g.policy_qual)");
}

static int
check_policy_other(struct lint_ctx *x)
{
	return sql_check(x, "policy_other", CFG_CTE
	    "SELECT " QN("cfg.s") " || '.' || " QN("cfg.t") ", format('policy %I also applies to "
	    "texp_export; permissive policies are OR''ed, so it widens the scope', "
	    "p.polname), format('DROP POLICY %I ON %s, or limit it TO the "
	    "application''s own roles', p.polname, rel.q) FROM cfg JOIN rel "
	    "ON rel.nspname = cfg.s AND rel.relname = cfg.t "
	    "JOIN pg_policy p ON p.polrelid = rel.oid "
	    "WHERE cfg.c = 'tenant' AND p.polname <> 'texp_export_scope' "
	    "AND p.polpermissive AND p.polcmd IN ('r', '*') AND EXISTS "
	    "(SELECT 1 FROM unnest(p.polroles) pr WHERE pr = 0 "
	    "OR pr = 'texp_export'::regrole OR pr IN (SELECT member FROM members) "
	    "OR pg_has_role('texp_export', pr, 'MEMBER'))");
}

static int
check_tenant_owner_login(struct lint_ctx *x)
{
	return sql_check(x, "tenant_owner_login", CFG_CTE
	    "SELECT " QN("cfg.s") " || '.' || " QN("cfg.t") ", 'tenant table owned by login role ' || "
	    "o.rolname || ': a session of the owner can turn RLS off', "
	    "format('ALTER TABLE %s OWNER TO <a NOLOGIN role>', rel.q) "
	    "FROM cfg JOIN rel ON rel.nspname = cfg.s AND rel.relname = cfg.t "
	    "JOIN pg_roles o ON o.oid = rel.relowner "
	    "WHERE cfg.c = 'tenant' AND o.rolcanlogin");
}

static int
check_group_privilege(struct lint_ctx *x)
{
	return sql_check(x, "group_privilege", CFG_CTE
	    "SELECT rel.o, 'texp_export may ' || "
	    "concat_ws(', ', "
	    "CASE WHEN has_any_column_privilege('texp_export', rel.oid, 'INSERT') "
	    "THEN 'INSERT' END, "
	    "CASE WHEN has_any_column_privilege('texp_export', rel.oid, 'UPDATE') "
	    "THEN 'UPDATE' END, "
	    "CASE WHEN has_table_privilege('texp_export', rel.oid, 'DELETE') "
	    "THEN 'DELETE' END, "
	    "CASE WHEN has_table_privilege('texp_export', rel.oid, 'TRUNCATE') "
	    "THEN 'TRUNCATE' END, "
	    "CASE WHEN has_any_column_privilege('texp_export', rel.oid, 'REFERENCES') "
	    "THEN 'REFERENCES' END, "
	    "CASE WHEN has_table_privilege('texp_export', rel.oid, 'TRIGGER') "
	    "THEN 'TRIGGER' END) || '; it must only SELECT', "
	    "format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER "
	    "ON %s FROM texp_export, PUBLIC', rel.q) FROM rel "
	    "WHERE rel.relkind IN ('r', 'p', 'f', 'v', 'm') "
	    "AND (has_table_privilege('texp_export', rel.oid, "
	    "'DELETE, TRUNCATE, TRIGGER') OR has_any_column_privilege('texp_export', "
	    "rel.oid, 'INSERT, UPDATE, REFERENCES'))");
}

static int
check_readable_unclassified(struct lint_ctx *x)
{
	/* Export roles get their job's tables from the provisioner; the
	 * group every one of them inherits from must read nothing, and the
	 * provisioner nothing that is not classified tenant or global. */
	return sql_check(x, "readable_unclassified", CFG_CTE
	    "SELECT rel.o, CASE "
	    "WHEN has_any_column_privilege('texp_export', rel.oid, 'SELECT') "
	    "THEN 'readable by texp_export, which every export role inherits "
	    "(whatever its job)' WHEN cfg.c = 'excluded' THEN 'classified "
	    "excluded but exportable (texp_provisioner may grant it)' ELSE "
	    "'exportable (texp_provisioner may grant it) but not classified "
	    "tenant or global' END, format('REVOKE SELECT ON %s FROM texp_export, "
	    "texp_provisioner, PUBLIC CASCADE (or run db-setup --apply), or "
	    "classify it', rel.q) FROM rel LEFT JOIN cfg "
	    "ON cfg.s = rel.nspname AND cfg.t = rel.relname "
	    "WHERE rel.relkind IN ('r', 'p', 'f', 'm') "
	    "AND (has_any_column_privilege('texp_export', rel.oid, 'SELECT') "
	    "OR (coalesce(cfg.c, '') NOT IN ('tenant', 'global') "
	    "AND rel.nspname NOT IN ('texp_guard', 'texp_control') "
	    "AND has_any_column_privilege('texp_provisioner', rel.oid, "
	    "'SELECT')))");
}

static int
check_excluded_column_readable(struct lint_ctx *x)
{
	return sql_check(x, "excluded_column_readable", CFG_CTE
	    "SELECT " QN("cfg.s") " || '.' || " QN("cfg.t") " || '.' || " QN("a.attname") ", 'excluded column "
	    "is exportable (texp_provisioner may grant it)', format('REVOKE "
	    "SELECT ON %s FROM texp_provisioner, PUBLIC CASCADE; then run "
	    "db-setup --apply', rel.q) "
	    "FROM cfg JOIN rel ON rel.nspname = cfg.s AND rel.relname = cfg.t "
	    "JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 "
	    "AND NOT a.attisdropped WHERE cfg.c IN ('tenant', 'global') "
	    "AND a.attname = ANY (cfg.x) "
	    "AND has_column_privilege('texp_provisioner', rel.oid, a.attnum, "
	    "'SELECT')");
}

static int
check_column_not_granted(struct lint_ctx *x)
{
	return sql_check(x, "column_not_granted", CFG_CTE
	    "SELECT " QN("cfg.s") " || '.' || " QN("cfg.t") " || '.' || " QN("a.attname") ", 'column is not "
	    "exportable (added after db-setup?): the export would "
	    "fail', format('run db-setup --apply, or in [table %s.%s] add the "
	    "line exclude_columns = %s', " QN("cfg.s") ", " QN("cfg.t") ", "
	    QN("a.attname") ") "
	    "FROM cfg JOIN rel ON rel.nspname = cfg.s AND rel.relname = cfg.t "
	    "JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 "
	    "AND NOT a.attisdropped WHERE cfg.c IN ('tenant', 'global') "
	    "AND NOT a.attname = ANY (coalesce(cfg.x, '{}')) "
	    "AND NOT has_column_privilege('texp_provisioner', rel.oid, a.attnum, "
	    "'SELECT')");
}

static int
check_sequence_privilege(struct lint_ctx *x)
{
	return sql_check(x, "sequence_privilege", CFG_CTE
	    "SELECT rel.o, 'texp_export has rights on "
	    "this sequence (nextval writes)', format('REVOKE ALL ON SEQUENCE %s "
	    "FROM texp_export, PUBLIC', rel.q) FROM rel WHERE CASE WHEN "
	    "rel.relkind = 'S' THEN has_sequence_privilege('texp_export', rel.oid, "
	    "'USAGE, SELECT, UPDATE') ELSE false END");
}

static int
check_schema_create(struct lint_ctx *x)
{
	return sql_check(x, "schema_create", CFG_CTE
	    "SELECT n.nspname::text, 'texp_export may create objects in this "
	    "schema', format('REVOKE CREATE ON SCHEMA %I FROM texp_export, PUBLIC', "
	    "n.nspname) FROM pg_namespace n "
	    "WHERE n.nspname !~ '^pg_(toast|temp_|toast_temp_)' "
	    "AND has_schema_privilege('texp_export', n.oid, 'CREATE')");
}

static int
check_database_create(struct lint_ctx *x)
{
	return sql_check(x, "database_create", CFG_CTE
	    "SELECT current_database()::text, 'texp_export may create schemas in "
	    "this database', format('REVOKE CREATE ON DATABASE %I FROM texp_export, "
	    "PUBLIC', current_database()) "
	    "WHERE has_database_privilege('texp_export', current_database(), 'CREATE')");
}

static int
check_temp_on_database(struct lint_ctx *x)
{
	return sql_check(x, "temp_on_database", CFG_CTE
	    "SELECT current_database()::text, 'texp_export may create temporary "
	    "tables (TEMP is granted to PUBLIC by default)', format('REVOKE "
	    "TEMPORARY ON DATABASE %I FROM PUBLIC, texp_export; re-grant it to "
	    "application roles that need it', current_database()) "
	    "WHERE has_database_privilege('texp_export', current_database(), "
	    "'TEMPORARY')");
}

static int
check_lo_function(struct lint_ctx *x)
{
	return sql_check(x, "lo_function", CFG_CTE
	    "SELECT f, 'texp_export may execute it: it writes without any table "
	    "privilege', format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC, "
	    "texp_export', f) FROM unnest(ARRAY["
	    "'pg_catalog.lo_create(oid)', 'pg_catalog.lo_creat(integer)', "
	    "'pg_catalog.lo_from_bytea(oid,bytea)', 'pg_catalog.lo_open(oid,integer)', "
	    "'pg_catalog.lo_put(oid,bigint,bytea)', 'pg_catalog.lo_unlink(oid)', "
	    "'pg_catalog.pg_notify(text,text)']) f "
	    "WHERE has_function_privilege('texp_export', f, 'EXECUTE')");
}

static int
check_security_definer_function(struct lint_ctx *x)
{
	return sql_check(x, "security_definer_function", CFG_CTE
	    "SELECT p.oid::regprocedure::text, 'SECURITY DEFINER function "
	    "executable by texp_export: it runs with its owner''s rights, outside "
	    "the tenant scope', format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC, "
	    "texp_export', p.oid::regprocedure) FROM pg_proc p WHERE p.prosecdef "
	    "AND p.oid NOT IN (SELECT f FROM unnest(ARRAY["
	    "to_regprocedure('texp_guard.role_tenant()'), "
	    "to_regprocedure('texp_guard.role_since()'), "
	    "to_regprocedure('texp_guard.role_until()')]) f WHERE f IS NOT NULL) "
	    "AND has_function_privilege('texp_export', p.oid, 'EXECUTE')");
}

static int
check_view_definer(struct lint_ctx *x)
{
	return sql_check(x, "view_definer", CFG_CTE
	    "SELECT rel.o, 'view without "
	    "security_invoker is readable by texp_export: it reads with its "
	    "owner''s rights, so RLS under it does not scope the export', "
	    "format('ALTER VIEW %s SET (security_invoker = true), or REVOKE SELECT "
	    "ON %s FROM texp_export, PUBLIC', rel.q, rel.q) FROM rel "
	    "JOIN pg_class c ON c.oid = rel.oid WHERE rel.relkind = 'v' "
	    "AND has_any_column_privilege('texp_export', rel.oid, 'SELECT') "
	    "AND NOT EXISTS (SELECT 1 FROM pg_options_to_table(c.reloptions) o "
	    "WHERE o.option_name = 'security_invoker' "
	    "AND lower(o.option_value) IN ('true', 'on', '1', 'yes'))");
}

static int
check_large_object(struct lint_ctx *x)
{
	return sql_check(x, "large_object", CFG_CTE
	    "SELECT 'large object ' || m.oid, 'readable by texp_export (large "
	    "objects have no RLS)', format('REVOKE ALL ON LARGE OBJECT %s FROM "
	    "PUBLIC, texp_export', m.oid) FROM pg_largeobject_metadata m "
	    "WHERE m.lomowner = 'texp_export'::regrole "
	    "OR m.lomowner IN (SELECT member FROM members) OR EXISTS "
	    "(SELECT 1 FROM aclexplode(m.lomacl) a WHERE a.grantee = 0 "
	    "OR a.grantee = 'texp_export'::regrole) "
	    "UNION ALL SELECT 'lo_compat_privileges', 'is on: every large object "
	    "is readable and writable by every role', "
	    "'ALTER SYSTEM SET lo_compat_privileges = off' "
	    "WHERE current_setting('lo_compat_privileges')::boolean");
}

static int
check_fk_without_tenant(struct lint_ctx *x)
{
	return sql_check(x, "fk_without_tenant", CFG_CTE
	    "SELECT con.conname || ' on ' || r.o, "
	    "format('foreign key into tenant table %s.%s does not include its "
	    "tenant column %s (matched to the referencing tenant column): a row "
	    "can point at another tenant''s row', " QN("cfg.s") ", " QN("cfg.t") ", "
	    QN("cfg.k") "), "
	    "format('replace it with FOREIGN KEY (%s, ...) REFERENCES %s (%I, ...) "
	    "and a UNIQUE (%I, ...) on the target', coalesce(quote_ident(rc.k), "
	    "'<tenant column>'), t.q, cfg.k, cfg.k) FROM pg_constraint con "
	    "JOIN rel t ON t.oid = con.confrelid "
	    "JOIN cfg ON cfg.s = t.nspname AND cfg.t = t.relname AND cfg.c = 'tenant' "
	    "JOIN pg_attribute ta ON ta.attrelid = t.oid AND ta.attname = cfg.k "
	    "JOIN rel r ON r.oid = con.conrelid "
	    "LEFT JOIN cfg rc ON rc.s = r.nspname AND rc.t = r.relname "
	    "AND rc.c = 'tenant' LEFT JOIN pg_attribute ra ON ra.attrelid = r.oid "
	    "AND ra.attname = rc.k WHERE con.contype = 'f' AND NOT "
	    "(ta.attnum = ANY (con.confkey) AND (rc.k IS NULL OR ra.attnum = "
	    "con.conkey[array_position(con.confkey, ta.attnum)]))");
}

/* ---- information for the DBA: hazards the export group cannot reach ---- */

/* The configured tenant tables, for the checks below. */
#define TENANT_CTE \
	", tt AS (SELECT r.oid, r.o, r.q, r.relname FROM rel r JOIN cfg " \
	"ON cfg.s = r.nspname AND cfg.t = r.relname AND cfg.c = 'tenant') "

static int
check_view_without_invoker(struct lint_ctx *x)
{
	return sql_note(x, "view_without_invoker", CFG_CTE TENANT_CTE
	    "SELECT v.o, CASE WHEN v.relkind = 'm' THEN 'materialized view' "
	    "ELSE 'view without security_invoker' END || ' over tenant table ' "
	    "|| min(tt.o) || ' shows every tenant''s rows to whoever may read "
	    "it (not the export group)', CASE WHEN v.relkind = 'm' THEN "
	    "format('a materialized view has no RLS: keep SELECT on %s to roles "
	    "that may see every tenant', v.q) ELSE format('ALTER VIEW %s SET "
	    "(security_invoker = true)', v.q) END "
	    "FROM rel v JOIN pg_class c ON c.oid = v.oid "
	    "JOIN pg_rewrite rw ON rw.ev_class = v.oid "
	    "JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass "
	    "AND d.objid = rw.oid AND d.refclassid = 'pg_class'::regclass "
	    "JOIN tt ON tt.oid = d.refobjid AND tt.oid <> v.oid "
	    "WHERE v.relkind IN ('v', 'm') AND (v.relkind = 'm' OR NOT EXISTS "
	    "(SELECT 1 FROM pg_options_to_table(c.reloptions) o "
	    "WHERE o.option_name = 'security_invoker' "
	    "AND lower(o.option_value) IN ('true', 'on', '1', 'yes'))) "
	    "AND NOT has_any_column_privilege('texp_export', v.oid, 'SELECT') "
	    "GROUP BY v.o, v.q, v.relkind ORDER BY v.o");
}

static int
check_definer_reads_tenant(struct lint_ctx *x)
{
	return sql_note(x, "definer_reads_tenant", CFG_CTE TENANT_CTE
	    "SELECT p.oid::regprocedure::text, 'SECURITY DEFINER function "
	    "reads tenant table ' || min(tt.o) || ' with its owner''s rights: "
	    "whoever may execute it (not the export group) may see other "
	    "tenants'' rows', format('ALTER FUNCTION %s SECURITY INVOKER, or "
	    "make it filter by tenant and REVOKE EXECUTE ON FUNCTION %s FROM "
	    "PUBLIC', p.oid::regprocedure, p.oid::regprocedure) "
	    "FROM pg_proc p JOIN pg_namespace pn ON pn.oid = p.pronamespace "
	    "JOIN tt ON position(tt.relname in p.prosrc) > 0 OR EXISTS "
	    "(SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_proc'::regclass "
	    "AND d.objid = p.oid AND d.refobjid = tt.oid) WHERE p.prosecdef "
	    "AND pn.nspname NOT IN ('pg_catalog', 'information_schema', "
	    "'texp_guard') "
	    "AND NOT has_function_privilege('texp_export', p.oid, 'EXECUTE') "
	    "GROUP BY p.oid ORDER BY 1");
}

static int
check_login_bypasses_rls(struct lint_ctx *x)
{
	return sql_note(x, "login_bypasses_rls", CFG_CTE
	    "SELECT r.rolname::text, 'can log in and ' || CASE WHEN r.rolsuper "
	    "THEN 'is a superuser' ELSE 'has BYPASSRLS' END || ': its sessions "
	    "read every tenant''s rows whatever the policies', CASE WHEN "
	    "r.rolsuper THEN 'keep superuser logins to the DBAs' ELSE "
	    "format('ALTER ROLE %I NOBYPASSRLS, or keep it to the DBAs', "
	    "r.rolname) END FROM pg_roles r WHERE r.rolcanlogin "
	    "AND (r.rolsuper OR r.rolbypassrls) ORDER BY 1");
}

static int
check_policy_without_tenant_scope(struct lint_ctx *x)
{
	return sql_note(x, "policy_without_tenant_scope", CFG_CTE TENANT_CTE
	    "SELECT tt.o, format('policy %I for %s does not use the tenant "
	    "column %I: those roles see every tenant''s rows', p.polname, "
	    "(SELECT string_agg(CASE WHEN g = 0 THEN 'PUBLIC' ELSE "
	    "pg_get_userbyid(g)::text END, ', ') FROM unnest(p.polroles) g), "
	    "cfg.k), format('if those roles serve one tenant at a time, scope "
	    "the policy: ALTER POLICY %I ON %s USING (%I = <the session''s "
	    "tenant>)', p.polname, tt.q, cfg.k) "
	    "FROM tt JOIN rel ON rel.oid = tt.oid "
	    "JOIN cfg ON cfg.s = rel.nspname AND cfg.t = rel.relname "
	    "JOIN pg_policy p ON p.polrelid = tt.oid "
	    "WHERE p.polname NOT IN ('texp_export_scope', 'texp_leaktest_read') "
	    "AND p.polcmd IN ('r', '*') "
	    "AND position(quote_ident(cfg.k) in coalesce(pg_get_expr(p.polqual, "
	    "p.polrelid), '')) = 0 ORDER BY 1, 2");
}

/* A quarantine table's name: name + "_orphans", cut to fit 63 bytes at a
 * character boundary. */
static void
orphan_name(char *out, size_t outlen, const char *name)
{
	size_t n = strlen(name);

	while (n > IDENT_MAX - 8 || (n > 0 && ((unsigned char)name[n] & 0xc0)
	    == 0x80))
		n--;
	snprintf(out, outlen, "%.*s_orphans", (int)n, name);
}

/* One nullable tenant column: how many rows have no tenant. */
static int
orphans_one(struct lint_ctx *x, const char *schema, const char *table,
    const char *col)
{
	struct names nm, qn;
	char sql[1024], fix[2048], qname[IDENT_MAX + 1], msg[512];
	const char *p[1];
	PGresult *res = NULL;
	int r = 0, active;

	names_set(&nm, schema, table, col);
	orphan_name(qname, sizeof(qname), table);
	names_set(&qn, schema, qname, NULL);
	p[0] = nm.sql;
	if ((r = exec_simple(x->conn, "SAVEPOINT texp_orphans", x->rep)) != 0)
		return r;
	res = PQexecParams(x->conn, "SELECT row_security_active($1::regclass)",
	    1, NULL, p, NULL, NULL, 0);
	active = PQresultStatus(res) != PGRES_TUPLES_OK ||
	    PQgetvalue(res, 0, 0)[0] != 'f';
	PQclear(res);
	res = NULL;
	if (!active) {
		snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s WHERE %s "
		    "IS NULL", nm.sql, nm.sqlcol);
		res = PQexec(x->conn, sql);
	}
	if (active || PQresultStatus(res) != PGRES_TUPLES_OK) {
		PQclear(res);
		res = PQexec(x->conn, "ROLLBACK TO SAVEPOINT texp_orphans");
		snprintf(msg, sizeof(msg), "cannot count the rows whose tenant "
		    "column %s is NULL as this role (%s)", nm.col, active ?
		    "row level security hides rows from it" : "no SELECT "
		    "privilege");
		r = lint_report_note(x->rep, "orphan_rows", nm.obj, msg,
		    "run lint --user with a superuser or a BYPASSRLS role");
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "0") == 0)
		goto out;
	snprintf(msg, sizeof(msg), "%s rows have a NULL tenant column %s: "
	    "they belong to no tenant, no export carries them, and SET NOT "
	    "NULL fails while they exist", PQgetvalue(res, 0, 0), nm.col);
	snprintf(fix, sizeof(fix), "assign them (UPDATE %s SET %s = <tenant "
	    "id> WHERE %s IS NULL), or quarantine them (CREATE TABLE %s AS "
	    "SELECT * FROM %s WHERE %s IS NULL; DELETE FROM %s WHERE %s IS "
	    "NULL) and classify the copy: %s with class = excluded", nm.sql,
	    nm.sqlcol, nm.sqlcol, qn.sql, nm.sql, nm.sqlcol, nm.sql, nm.sqlcol,
	    qn.hdr);
	r = lint_report_note(x->rep, "orphan_rows", nm.obj, msg, fix);
 out:
	PQclear(res);
	res = PQexec(x->conn, "RELEASE SAVEPOINT texp_orphans");
	PQclear(res);
	return r;
}

static int
check_orphan_rows(struct lint_ctx *x)
{
	static const Oid types[1] = { 25 };
	const char *p[1] = { x->json };
	PGresult *res;
	int i, r = 0;

	res = PQexecParams(x->conn, CFG_CTE "SELECT cfg.s, cfg.t, cfg.k "
	    "FROM cfg JOIN rel ON rel.nspname = cfg.s AND rel.relname = cfg.t "
	    "JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attname = cfg.k "
	    "AND a.attnum > 0 AND NOT a.attisdropped WHERE cfg.c = 'tenant' "
	    "AND NOT a.attnotnull ORDER BY 1, 2", 1, types, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		r = query_error(x->rep, "orphan_rows", x->conn, res);
		goto out;
	}
	for (i = 0; i < PQntuples(res) && r == 0; i++)
		r = orphans_one(x, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
		    PQgetvalue(res, i, 2));
 out:
	PQclear(res);
	return r;
}

/*
 * An index whose first column is not the tenant column orders the rows of
 * every tenant together: the planner (its estimates, and EXPLAIN for a
 * session that may run it) walks other tenants' values through it.
 * Primary keys, unique and exclusion constraints are indexes too.
 */
static int
check_index_without_tenant(struct lint_ctx *x)
{
	return sql_check(x, "index_without_tenant", CFG_CTE
	    "SELECT quote_ident(ic.relname) || ' on ' || rel.q, "
	    "format('%s does not start with the tenant column %s: the planner "
	    "can walk other tenants'' values through it', CASE con.contype "
	    "WHEN 'p' THEN 'primary key' WHEN 'u' THEN 'unique constraint' "
	    "WHEN 'x' THEN 'exclusion constraint' ELSE 'index' END, cfg.k), "
	    "CASE WHEN con.contype IN ('p', 'u') THEN format('ALTER TABLE %s "
	    "DROP CONSTRAINT %I, ADD %s (%I, %s)', rel.q, con.conname, CASE "
	    "con.contype WHEN 'p' THEN 'PRIMARY KEY' ELSE 'UNIQUE' END, cfg.k, "
	    "k.cols) ELSE format('CREATE INDEX ON %s (%I, %s); DROP INDEX %s "
	    "(or drop it)', rel.q, cfg.k, k.cols, i.indexrelid::regclass) END "
	    "FROM cfg JOIN rel ON rel.nspname = cfg.s AND rel.relname = cfg.t "
	    "JOIN pg_attribute ta ON ta.attrelid = rel.oid AND ta.attname = cfg.k "
	    "AND NOT ta.attisdropped "
	    "JOIN pg_index i ON i.indrelid = rel.oid "
	    "JOIN pg_class ic ON ic.oid = i.indexrelid "
	    "LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid "
	    "AND con.conrelid = rel.oid AND con.contype IN ('p', 'u', 'x') "
	    "CROSS JOIN LATERAL (SELECT coalesce(string_agg("
	    "pg_get_indexdef(i.indexrelid, n, true), ', ' ORDER BY n) FILTER "
	    "(WHERE pg_get_indexdef(i.indexrelid, n, true) <> quote_ident(cfg.k)), "
	    "'...') AS cols FROM generate_series(1, i.indnkeyatts) n) k "
	    "WHERE cfg.c = 'tenant' AND i.indkey[0] <> ta.attnum");
}

/*
 * Every check, in the order they run (docs/DATABASE.md lists what each
 * finds and why). LINT_ANY_TIME: runs even before db-setup created the
 * roles the others name.
 */
#define LINT_ANY_TIME	0x01
static const struct lint_check {
	const char *id;
	int (*fn)(struct lint_ctx *x);
	int flags;
} lint_checks[] = {
	{ "schema", check_schema, LINT_ANY_TIME },
	{ "role_missing", check_roles, LINT_ANY_TIME },
	{ "guard_setup", check_guard_setup, 0 },
	{ "group_attributes", check_group_attributes, 0 },
	{ "group_member_of", check_group_member_of, 0 },
	{ "group_owns", check_group_owns, 0 },
	{ "rls_disabled", check_rls_disabled, LINT_ANY_TIME },
	{ "rls_not_forced", check_rls_not_forced, LINT_ANY_TIME },
	{ "policy_missing", check_policy_missing, 0 },
	{ "policy_other", check_policy_other, 0 },
	{ "tenant_owner_login", check_tenant_owner_login, LINT_ANY_TIME },
	{ "group_privilege", check_group_privilege, 0 },
	{ "readable_unclassified", check_readable_unclassified, 0 },
	{ "excluded_column_readable", check_excluded_column_readable, 0 },
	{ "column_not_granted", check_column_not_granted, 0 },
	{ "sequence_privilege", check_sequence_privilege, 0 },
	{ "schema_create", check_schema_create, 0 },
	{ "database_create", check_database_create, 0 },
	{ "temp_on_database", check_temp_on_database, 0 },
	{ "lo_function", check_lo_function, 0 },
	{ "security_definer_function", check_security_definer_function, 0 },
	{ "view_definer", check_view_definer, 0 },
	{ "large_object", check_large_object, 0 },
	{ "fk_without_tenant", check_fk_without_tenant, LINT_ANY_TIME },
	{ "index_without_tenant", check_index_without_tenant, LINT_ANY_TIME },
	{ "orphan_rows", check_orphan_rows, LINT_ANY_TIME },
	{ "login_bypasses_rls", check_login_bypasses_rls, LINT_ANY_TIME },
	{ "view_without_invoker", check_view_without_invoker, 0 },
	{ "definer_reads_tenant", check_definer_reads_tenant, 0 },
	{ "policy_without_tenant_scope", check_policy_without_tenant_scope,
	    LINT_ANY_TIME },
};

/* Blocking findings first, each kind in the order found. */
static void
report_sort(struct lint_report *r)
{
	struct lint_finding t;
	size_t i, j;

	for (i = 1; i < r->n; i++) {
		t = r->f[i];
		for (j = i; j > 0 && r->f[j - 1].info && !t.info; j--)
			r->f[j] = r->f[j - 1];
		r->f[j] = t;
	}
}

int
lint_run(PGconn *conn, const struct config *cfg, struct lint_report **out)
{
	struct lint_ctx x;
	const char *monitor = config_db_param(cfg, "user");
	char *json = NULL;
	PGresult *res;
	size_t i;
	int r = ERR_INTERNAL, began = 0;

	if ((*out = lint_report_new()) == NULL)
		return ERR_NOMEM;
	memset(&x, 0, sizeof(x));
	x.conn = conn;
	x.cfg = cfg;
	x.monitor = monitor != NULL ? monitor : "";
	x.rep = *out;
	if ((json = config_json(cfg)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	x.json = json;
	/*
	 * One snapshot for every check; search_path pinned so names print
	 * qualified and pg_get_expr output is predictable. Inside a caller's
	 * transaction SET LOCAL lasts until that transaction ends.
	 */
	if (PQtransactionStatus(conn) == PQTRANS_IDLE) {
		if ((r = exec_simple(conn, "BEGIN ISOLATION LEVEL REPEATABLE "
		    "READ READ ONLY", x.rep)) != 0)
			goto out;
		began = 1;
	}
	if ((r = exec_simple(conn, "SET LOCAL search_path = pg_catalog, "
	    "pg_temp", x.rep)) != 0)
		goto out;
	for (i = 0; i < sizeof(lint_checks) / sizeof(lint_checks[0]); i++) {
		if (x.roles_missing && !(lint_checks[i].flags & LINT_ANY_TIME))
			continue;
		if ((r = lint_checks[i].fn(&x)) != 0)
			goto out;
	}
	if ((r = lint_check_files(cfg, x.rep)) != 0)
		goto out;
	report_sort(x.rep);
	r = lint_report_blocking(x.rep) > 0 ? ERR_POLICY : 0;
 out:
	if (began) {
		res = PQexec(conn, "ROLLBACK");
		PQclear(res);
	}
	free(json);
	if (r == 0 && lint_report_blocking(x.rep) > 0)
		r = ERR_POLICY;
	return r;
}
