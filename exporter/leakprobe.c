/*
 * leakprobe.c: the leak test's session battery (leakprobe.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "config.h"
#include "err.h"
#include "leakprobe.h"
#include "text.h"
#include "tokscan.h"

#define SQLSTATE_PRIVILEGE	"42501"	/* insufficient_privilege */
#define PROBE_NAME		"texp_leaktest_probe"
#define MADE_UP_TENANT		"00000000-0000-4000-8000-00000000dead"

/* One configured tenant table as the session sees it. */
struct ptable {
	char name[2 * CONFIG_MAX_IDENT + 2];	/* schema.table */
	char *relq;				/* quoted */
	char *colq;				/* quoted tenant column */
	char *type;				/* its type */
};

struct probe {
	PGconn *c;
	const struct leakprobe_opts *o;
	struct ptable *t;
	size_t nt;
	json_t *checks;
	int broken;		/* the session itself failed */
	char *err;
	size_t errlen;
};

/* The outcome of one statement. */
struct outcome {
	int ok;
	char state[6];		/* SQLSTATE on failure */
	char msg[256];		/* the server's primary message */
};

static void
outcome_of(PGconn *c, PGresult *res, struct outcome *out)
{
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
	const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	out->ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK;
	snprintf(out->state, sizeof(out->state), "%s", st != NULL ? st : "");
	snprintf(out->msg, sizeof(out->msg), "%s", out->ok ? "" : m != NULL ?
	    m : PQerrorMessage(c));
	text_escape_inplace(out->msg, sizeof(out->msg));
}

/* Runs sql (params optional); *res (optional) keeps the result. A lost
 * connection marks the battery broken. */
static void
run(struct probe *p, const char *sql, int n, const char *const *params,
    struct outcome *out, PGresult **res)
{
	PGresult *r = n > 0 ? PQexecParams(p->c, sql, n, NULL, params, NULL,
	    NULL, 0) : PQexec(p->c, sql);

	outcome_of(p->c, r, out);
	if (PQstatus(p->c) != CONNECTION_OK && !p->broken) {
		p->broken = 1;
		err_set(p->err, p->errlen, "the export session broke: %s",
		    PQerrorMessage(p->c));
		text_escape_inplace(p->err, p->errlen);
	}
	if (res != NULL)
		*res = r;
	else
		PQclear(r);
}

static void
quiet(struct probe *p, const char *sql)
{
	struct outcome o;

	run(p, sql, 0, NULL, &o, NULL);
}

/* Back to the session as it logged in, with the battery's timeout. */
static void
restore(struct probe *p)
{
	char sql[64];

	if (PQtransactionStatus(p->c) != PQTRANS_IDLE)
		quiet(p, "ROLLBACK");
	quiet(p, "RESET SESSION AUTHORIZATION");
	quiet(p, "RESET ROLE");
	quiet(p, "RESET ALL");
	snprintf(sql, sizeof(sql), "SET statement_timeout = '%us'",
	    p->o->statement_timeout ? p->o->statement_timeout : 60);
	quiet(p, sql);
}

static void
add_check(struct probe *p, const char *id, const char *status,
    long long count, json_t *detail, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
add_check(struct probe *p, const char *id, const char *status,
    long long count, json_t *detail, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_array_append_new(p->checks, json_pack("{s:s,s:s,s:I,s:s,s:o}",
	    "id", id, "status", status, "count", (json_int_t)count, "message",
	    msg, "detail", detail != NULL ? detail : json_array()));
}

/* ---- the tables ---- */

static void
tables_free(struct probe *p)
{
	size_t i;

	for (i = 0; i < p->nt; i++) {
		free(p->t[i].relq);
		PQfreemem(p->t[i].colq);
		free(p->t[i].type);
	}
	free(p->t);
}

static char *
qident(PGconn *c, const char *s)
{
	return PQescapeIdentifier(c, s, strlen(s));
}

static int
tables_load(struct probe *p)
{
	const struct config *cfg = p->o->cfg;
	const struct config_table *ct;
	struct outcome o;
	PGresult *res;
	size_t i, n = config_table_count(cfg);
	char *s, *t, full[300];
	const char *prm[2];

	if ((p->t = calloc(n ? n : 1, sizeof(*p->t))) == NULL)
		return ERR_NOMEM;
	for (i = 0; i < n; i++) {
		struct ptable *pt = &p->t[p->nt];

		ct = config_table_at(cfg, i);
		if (ct->cls != CONFIG_CLASS_TENANT)
			continue;
		snprintf(pt->name, sizeof(pt->name), "%s.%s", ct->schema,
		    ct->name);
		s = qident(p->c, ct->schema);
		t = qident(p->c, ct->name);
		snprintf(full, sizeof(full), "%s.%s", s ? s : "", t ? t : "");
		PQfreemem(s);
		PQfreemem(t);
		if ((pt->relq = strdup(full)) == NULL)
			return ERR_NOMEM;
		pt->colq = qident(p->c, ct->tenant_key);
		prm[0] = pt->relq;
		prm[1] = ct->tenant_key;
		run(p, "SELECT pg_catalog.format_type(a.atttypid, a.atttypmod) "
		    "FROM pg_catalog.pg_attribute a WHERE a.attrelid = "
		    "$1::regclass AND a.attname = $2", 2, prm, &o, &res);
		if (o.ok && PQntuples(res) == 1)
			pt->type = strdup(PQgetvalue(res, 0, 0));
		PQclear(res);
		p->nt++;
		if (pt->colq == NULL || pt->type == NULL) {
			err_set(p->err, p->errlen, "table \"%s\": cannot read its "
			    "tenant column \"%s\"%s%s", pt->name, ct->tenant_key,
			    o.ok ? "" : ": ", o.msg);
			return ERR_DB;
		}
	}
	return 0;
}

/* ---- reading: every tenant table, after one escape attempt ---- */

/* Rows of other tenants in one table; *refused when the server said no. */
static void
count_table(struct probe *p, const struct ptable *t, long long *foreign,
    long long *rows, struct outcome *o)
{
	const char *prm[1] = { p->o->tenant };
	PGresult *res = NULL;
	char sql[1024];

	*foreign = *rows = 0;
	snprintf(sql, sizeof(sql), "SELECT count(*) FILTER (WHERE %s IS "
	    "DISTINCT FROM $1::%s), count(*) FROM %s", t->colq, t->type,
	    t->relq);
	run(p, sql, 1, prm, o, &res);
	if (o->ok && PQntuples(res) == 1) {
		*foreign = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		*rows = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	}
	PQclear(res);
}

/*
 * One escape attempt: setup (NULL for none) runs, then every tenant
 * table is read. Reads refused after an attempt are a pass (the attempt
 * took rights away); refused as the session logged in, they are an
 * error (the export itself could not read them). must_fail: the setup
 * itself must be refused.
 */
static void
select_after(struct probe *p, const char *id, const char *what,
    const char *const *setup, int must_fail)
{
	json_t *d = json_array();
	struct outcome o, so;
	long long f, n, total = 0;
	size_t i, refused = 0;
	int setup_ok = 1;

	restore(p);
	for (i = 0; setup != NULL && setup[i] != NULL; i++) {
		run(p, setup[i], 0, NULL, &so, NULL);
		if (!so.ok) {
			setup_ok = 0;
			json_array_append_new(d, json_pack("{s:s,s:s}",
			    "statement", setup[i], "refused", so.msg));
		}
	}
	for (i = 0; i < p->nt && !p->broken; i++) {
		count_table(p, &p->t[i], &f, &n, &o);
		if (!o.ok) {
			refused++;
			json_array_append_new(d, json_pack("{s:s,s:s}", "table",
			    p->t[i].name, "refused", o.msg));
			continue;
		}
		total += f;
		json_array_append_new(d, json_pack("{s:s,s:I,s:I}", "table",
		    p->t[i].name, "foreign", (json_int_t)f, "rows",
		    (json_int_t)n));
	}
	if (total > 0 || (must_fail && setup_ok))
		add_check(p, id, "fail", total, d, "%s: %lld rows of other "
		    "tenants visible%s", what, total, must_fail && setup_ok ?
		    " (and the statement was allowed)" : "");
	else if (setup == NULL && refused > 0)
		add_check(p, id, "error", 0, d, "%s: %zu of %zu tenant tables "
		    "unreadable by the export role itself", what, refused, p->nt);
	else
		add_check(p, id, "pass", 0, d, "%s%s: 0 rows of other tenants "
		    "in %zu tables (%zu refused)", what, must_fail ? " refused" :
		    "", p->nt, refused);
}

static void
select_battery(struct probe *p)
{
	char set1[300], set2[300], cfg1[400], auth[200];
	const char *other = p->o->other ? p->o->other : MADE_UP_TENANT;
	char *lit = PQescapeLiteral(p->c, other, strlen(other));
	char *mon = PQescapeIdentifier(p->c, p->o->monitor ? p->o->monitor :
	    "texp_monitor", strlen(p->o->monitor ? p->o->monitor :
	    "texp_monitor"));
	const char *s_custom[] = { set1, set2, NULL };
	const char *s_config[] = { cfg1, NULL };
	const char *s_reset_all[] = { "RESET ALL", NULL };
	const char *s_reset_role[] = { "RESET ROLE", NULL };
	const char *s_set_role[] = { "SET ROLE texp_export", NULL };
	const char *s_auth[] = { auth, NULL };
	const char *s_discard[] = { "DISCARD ALL", NULL };
	const char *s_rowsec[] = { "SET row_security = off", NULL };

	if (lit == NULL || mon == NULL) {
		PQfreemem(lit);
		PQfreemem(mon);
		return;
	}
	snprintf(set1, sizeof(set1), "SET app.tenant_id = %s", lit);
	snprintf(set2, sizeof(set2), "SET texp.tenant = %s", lit);
	snprintf(cfg1, sizeof(cfg1), "SELECT pg_catalog.set_config("
	    "'app.tenant_id', %s, false), pg_catalog.set_config("
	    "'app.current_tenant', %s, false)", lit, lit);
	snprintf(auth, sizeof(auth), "SET SESSION AUTHORIZATION %s", mon);
	select_after(p, "session.select", "SELECT", NULL, 0);
	select_after(p, "session.set_custom", "SELECT after SET of "
	    "app.tenant_id to another tenant", s_custom, 0);
	select_after(p, "session.set_config", "SELECT after set_config() to "
	    "another tenant", s_config, 0);
	select_after(p, "session.reset_all", "SELECT after RESET ALL",
	    s_reset_all, 0);
	select_after(p, "session.reset_role", "SELECT after RESET ROLE",
	    s_reset_role, 0);
	select_after(p, "session.set_role", "SELECT after SET ROLE "
	    "texp_export", s_set_role, 0);
	select_after(p, "session.session_authorization", "SET SESSION "
	    "AUTHORIZATION to another role", s_auth, 1);
	select_after(p, "session.discard_all", "SELECT after DISCARD ALL",
	    s_discard, 0);
	select_after(p, "session.row_security_off", "SELECT with "
	    "row_security = off", s_rowsec, 0);
	PQfreemem(lit);
	PQfreemem(mon);
}

/* COPY's text form of one value (what a line holds for it). */
static void
copy_text(const char *in, char *out, size_t outlen)
{
	size_t k = 0;

	for (; *in != '\0' && k + 3 < outlen; in++) {
		switch (*in) {
		case '\\': out[k++] = '\\'; out[k++] = '\\'; break;
		case '\n': out[k++] = '\\'; out[k++] = 'n'; break;
		case '\r': out[k++] = '\\'; out[k++] = 'r'; break;
		case '\t': out[k++] = '\\'; out[k++] = 't'; break;
		default: out[k++] = *in;
		}
	}
	out[k] = '\0';
}

/* COPY table (tenant column) TO STDOUT: another code path than SELECT. */
static void
copy_one(struct probe *p, const struct ptable *t, json_t *d,
    long long *total, size_t *refused)
{
	char sql[512], mine[1100];
	long long rows = 0, foreign = 0;
	struct outcome o;
	PGresult *res = NULL;
	char *line = NULL;
	int n;

	copy_text(p->o->tenant, mine, sizeof(mine));
	snprintf(sql, sizeof(sql), "COPY %s (%s) TO STDOUT", t->relq, t->colq);
	run(p, sql, 0, NULL, &o, &res);
	if (PQresultStatus(res) != PGRES_COPY_OUT) {
		PQclear(res);
		(*refused)++;
		json_array_append_new(d, json_pack("{s:s,s:s}", "table",
		    t->name, "refused", o.msg));
		return;
	}
	PQclear(res);
	while ((n = PQgetCopyData(p->c, &line, 0)) > 0) {
		rows++;
		if ((size_t)n != strlen(mine) + 1 || memcmp(line, mine,
		    strlen(mine)) != 0)
			foreign++;
		PQfreemem(line);
	}
	while ((res = PQgetResult(p->c)) != NULL)
		PQclear(res);
	*total += foreign;
	json_array_append_new(d, json_pack("{s:s,s:I,s:I}", "table", t->name,
	    "foreign", (json_int_t)foreign, "rows", (json_int_t)rows));
}

static void
copy_battery(struct probe *p)
{
	json_t *d = json_array();
	long long total = 0;
	size_t i, refused = 0;

	restore(p);
	for (i = 0; i < p->nt && !p->broken; i++)
		copy_one(p, &p->t[i], d, &total, &refused);
	if (total > 0)
		add_check(p, "session.copy", "fail", total, d, "COPY: %lld rows "
		    "of other tenants", total);
	else if (refused > 0)
		add_check(p, "session.copy", "error", 0, d, "COPY: %zu of %zu "
		    "tenant tables refused to the export role itself", refused,
		    p->nt);
	else
		add_check(p, "session.copy", "pass", 0, d, "COPY: 0 rows of "
		    "other tenants in %zu tables", p->nt);
}

/* ---- everything else the role can read ---- */

/* {"key1","key2"}: the configured tenant key names, as a text array. */
static char *
tenant_keys(const struct config *cfg)
{
	json_t *a = json_array();
	char *s = NULL, *v;
	size_t i, k, n = config_table_count(cfg);
	const struct config_table *t;

	/* the default tenant key first: it names a tenant wherever it is */
	if (a != NULL)
		json_array_append_new(a, json_string(
		    config_export(cfg)->tenant_key));
	for (i = 0; a != NULL && i < n; i++) {
		t = config_table_at(cfg, i);
		if (t->cls != CONFIG_CLASS_TENANT)
			continue;
		for (k = 0; k < json_array_size(a); k++)
			if (strcmp(json_string_value(json_array_get(a, k)),
			    t->tenant_key) == 0)
				break;
		if (k == json_array_size(a))
			json_array_append_new(a, json_string(t->tenant_key));
	}
	/* a JSON array of identifiers is a valid text[] literal once its
	 * brackets are braces (names hold no quote or backslash: config.c) */
	if (a != NULL && (v = json_dumps(a, JSON_COMPACT)) != NULL) {
		v[0] = '{';
		v[strlen(v) - 1] = '}';
		s = v;
	}
	json_decref(a);
	return s;
}

/* Rows of other (or unknown) tenants in what `from` yields; tcol is its
 * tenant-looking column (quoted) or NULL. */
static void
count_from(struct probe *p, const char *from, const char *tcol,
    long long *foreign, long long *rows, struct outcome *o)
{
	const char *prm[1] = { p->o->tenant };
	PGresult *res = NULL;
	char *sql = NULL;

	*foreign = *rows = 0;
	if ((tcol != NULL ? asprintf(&sql, "SELECT count(*) FILTER (WHERE "
	    "x.%s::text IS DISTINCT FROM $1), count(*) FROM %s x", tcol,
	    from) : asprintf(&sql, "SELECT count(*), count(*) FROM %s x",
	    from)) < 0) {
		o->ok = 0;
		snprintf(o->msg, sizeof(o->msg), "out of memory");
		return;
	}
	run(p, sql, tcol != NULL ? 1 : 0, prm, o, &res);
	if (o->ok && PQntuples(res) == 1) {
		*foreign = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
		*rows = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
	}
	PQclear(res);
	free(sql);
}

static const char SQL_RELATIONS[] =
    "SELECT pg_catalog.quote_ident(n.nspname) || '.' || "
    "pg_catalog.quote_ident(c.relname), n.nspname || '.' || c.relname, "
    "(SELECT pg_catalog.quote_ident(a.attname) FROM pg_catalog.pg_attribute a "
    "WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
    "AND a.attname = ANY ($1::text[]) AND pg_catalog.has_column_privilege("
    "c.oid, a.attnum, 'SELECT') "
    "ORDER BY pg_catalog.array_position($1::text[], a.attname::text) LIMIT 1) "
    "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
    "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'texp_guard', "
    "'texp_control') AND n.nspname !~ '^pg_' "
    "AND NOT (n.nspname || '.' || c.relname = ANY ($2::text[])) "
    "AND pg_catalog.has_any_column_privilege(c.oid, 'SELECT') ORDER BY 2";

/* {"schema.table",...} of the tenant tables, for SQL_RELATIONS. */
static char *
tenant_table_list(const struct probe *p)
{
	json_t *a = json_array();
	char *v = NULL;
	size_t i;

	for (i = 0; a != NULL && i < p->nt; i++)
		json_array_append_new(a, json_string(p->t[i].name));
	if (a != NULL && (v = json_dumps(a, JSON_COMPACT)) != NULL) {
		v[0] = '{';
		v[strlen(v) - 1] = '}';
	}
	json_decref(a);
	return v;
}

static void
views_battery(struct probe *p, const char *keys)
{
	json_t *d = json_array();
	char *list = tenant_table_list(p);
	const char *prm[2] = { keys, list };
	struct outcome o, c;
	PGresult *res = NULL;
	long long f, n, total = 0;
	int i;

	restore(p);
	run(p, SQL_RELATIONS, 2, prm, &o, &res);
	for (i = 0; o.ok && i < PQntuples(res) && !p->broken; i++) {
		const char *tcol = PQgetisnull(res, i, 2) ? NULL :
		    PQgetvalue(res, i, 2);

		count_from(p, PQgetvalue(res, i, 0), tcol, &f, &n, &c);
		if (!c.ok)
			json_array_append_new(d, json_pack("{s:s,s:s}", "relation",
			    PQgetvalue(res, i, 1), "refused", c.msg));
		else
			json_array_append_new(d, json_pack("{s:s,s:I,s:I,s:b}",
			    "relation", PQgetvalue(res, i, 1), "foreign",
			    (json_int_t)f, "rows", (json_int_t)n, "tenant_column",
			    tcol != NULL));
		total += c.ok ? f : 0;
	}
	if (!o.ok)
		add_check(p, "session.views", "error", 0, d, "views: cannot list "
		    "the relations the role can read: %s", o.msg);
	else if (total > 0)
		add_check(p, "session.views", "fail", total, d, "views and other "
		    "relations: %lld rows of other tenants (or of no tenant "
		    "column to tell) in %d readable relations", total,
		    PQntuples(res));
	else
		add_check(p, "session.views", "pass", 0, d, "views and other "
		    "relations: %d readable, 0 rows of other tenants",
		    PQntuples(res));
	PQclear(res);
	free(list);
}

static const char SQL_FUNCTIONS[] =
    "SELECT pg_catalog.quote_ident(n.nspname) || '.' || "
    "pg_catalog.quote_ident(p.proname), p.oid::regprocedure::text, "
    "p.pronargs, p.proretset OR t.typtype = 'c', p.prosecdef "
    "FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n "
    "ON n.oid = p.pronamespace JOIN pg_catalog.pg_type t "
    "ON t.oid = p.prorettype WHERE p.prokind = 'f' "
    "AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'texp_guard', "
    "'texp_control') AND n.nspname !~ '^pg_' "
    "AND pg_catalog.has_function_privilege(p.oid, 'EXECUTE') "
    "AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = "
    "'pg_catalog.pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e') "
    "ORDER BY 2";

/* The first result column named like a tenant key, quoted, or NULL. */
static char *
result_tenant_col(struct probe *p, const char *fn, const char *keys)
{
	struct outcome o;
	PGresult *res = NULL;
	char *sql = NULL, *col = NULL, k[80];
	int i;

	if (asprintf(&sql, "SELECT * FROM %s() x LIMIT 0", fn) < 0)
		return NULL;
	run(p, sql, 0, NULL, &o, &res);
	for (i = 0; o.ok && col == NULL && i < PQnfields(res); i++) {
		snprintf(k, sizeof(k), "\"%s\"", PQfname(res, i));
		if (strstr(keys, k) != NULL)
			col = PQescapeIdentifier(p->c, PQfname(res, i),
			    strlen(PQfname(res, i)));
	}
	PQclear(res);
	free(sql);
	return col;
}

/* Calls one function that takes nothing and returns rows, read-only. */
static void
call_function(struct probe *p, const char *fn, const char *sig,
    const char *keys, json_t *d, long long *total)
{
	struct outcome o;
	long long f, n;
	char *col, *from = NULL;

	quiet(p, "BEGIN READ ONLY");
	col = result_tenant_col(p, fn, keys);
	quiet(p, "ROLLBACK");
	quiet(p, "BEGIN READ ONLY");
	if (asprintf(&from, "%s()", fn) < 0) {
		PQfreemem(col);
		return;
	}
	count_from(p, from, col, &f, &n, &o);
	quiet(p, "ROLLBACK");
	if (!o.ok)
		json_array_append_new(d, json_pack("{s:s,s:s}", "function", sig,
		    "refused", o.msg));
	else {
		json_array_append_new(d, json_pack("{s:s,s:I,s:I,s:b}",
		    "function", sig, "foreign", (json_int_t)f, "rows",
		    (json_int_t)n, "tenant_column", col != NULL));
		*total += f;
	}
	PQfreemem(col);
	free(from);
}

static void
functions_battery(struct probe *p, const char *keys)
{
	json_t *d = json_array();
	struct outcome o;
	PGresult *res = NULL;
	long long total = 0;
	int i, called = 0;

	restore(p);
	run(p, SQL_FUNCTIONS, 0, NULL, &o, &res);
	for (i = 0; o.ok && i < PQntuples(res) && !p->broken; i++) {
		const char *sig = PQgetvalue(res, i, 1);

		if (atoi(PQgetvalue(res, i, 2)) != 0 ||
		    PQgetvalue(res, i, 3)[0] != 't') {
			json_array_append_new(d, json_pack("{s:s,s:s,s:b}",
			    "function", sig, "not_called", atoi(PQgetvalue(res, i,
			    2)) != 0 ? "takes arguments" : "returns no rows",
			    "security_definer", PQgetvalue(res, i, 4)[0] == 't'));
			continue;
		}
		call_function(p, PQgetvalue(res, i, 0), sig, keys, d, &total);
		called++;
	}
	if (!o.ok)
		add_check(p, "session.functions", "error", 0, d, "functions: "
		    "cannot list them: %s", o.msg);
	else if (total > 0)
		add_check(p, "session.functions", "fail", total, d, "functions: "
		    "%lld rows of other tenants (or of no tenant column to "
		    "tell) from %d functions called", total, called);
	else
		add_check(p, "session.functions", "pass", 0, d, "functions: %d "
		    "executable, %d called (no arguments, rows returned), 0 rows "
		    "of other tenants", PQntuples(res), called);
	PQclear(res);
}

/* Counts the foreign ids in a statistics text. */
static void
count_hit(void *ctx, size_t which)
{
	(void)which;
	(*(long long *)ctx)++;
}

static void
stats_one(struct probe *p, const char *view, const char *cols,
    const char *list, json_t *d, long long *rows, long long *ids)
{
	const char *prm[1] = { list };
	struct outcome o;
	PGresult *res = NULL;
	char sql[512];
	long long n = 0, hits = 0;
	int i;

	snprintf(sql, sizeof(sql), "SELECT schemaname || '.' || tablename, %s "
	    "FROM pg_catalog.%s WHERE schemaname || '.' || tablename = "
	    "ANY ($1::text[])", cols, view);
	run(p, sql, 1, prm, &o, &res);
	for (i = 0; o.ok && i < PQntuples(res); i++) {
		n++;
		if (!PQgetisnull(res, i, 1))
			tokscan_text(p->o->foreign, (const uint8_t *)
			    PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1),
			    count_hit, &hits);
	}
	PQclear(res);
	*rows += n;
	*ids += hits;
	json_array_append_new(d, o.ok ? json_pack("{s:s,s:I,s:I}", "view",
	    view, "rows", (json_int_t)n, "foreign_ids", (json_int_t)hits) :
	    json_pack("{s:s,s:s}", "view", view, "refused", o.msg));
}

/* Statistics are computed over every tenant's rows: any row the role
 * sees about a tenant table shows other tenants' values. */
static void
stats_battery(struct probe *p)
{
	json_t *d = json_array();
	char *list = tenant_table_list(p);
	long long rows = 0, ids = 0;

	restore(p);
	if (list == NULL) {
		json_decref(d);
		return;
	}
	stats_one(p, "pg_stats", "concat_ws(' ', most_common_vals::text, "
	    "histogram_bounds::text)", list, d, &rows, &ids);
	stats_one(p, "pg_stats_ext", "most_common_vals::text", list, d, &rows,
	    &ids);
	if (rows > 0)
		add_check(p, "session.stats", "fail", rows, d, "statistics: %lld "
		    "rows about tenant tables visible (values of every tenant; "
		    "%lld other tenants' ids in them)", rows, ids);
	else
		add_check(p, "session.stats", "pass", 0, d, "statistics: no row "
		    "of pg_stats or pg_stats_ext about tenant tables");
	free(list);
}

/* ---- writes: each must be refused by a privilege ---- */

/* One write attempt, read-only switched off, always rolled back.
 * Returns 1 allowed, 0 refused by privilege, -1 otherwise (why). */
static int
try_write(struct probe *p, const char *sql, const char *what, json_t *d)
{
	struct outcome o;
	int v;

	quiet(p, "BEGIN READ WRITE");
	run(p, sql, 0, NULL, &o, NULL);
	quiet(p, "ROLLBACK");
	v = o.ok ? 1 : strcmp(o.state, SQLSTATE_PRIVILEGE) == 0 ? 0 : -1;
	json_array_append_new(d, json_pack("{s:s,s:s,s:s}", "object", what,
	    "outcome", v == 1 ? "allowed" : v == 0 ? "refused" : "failed",
	    "reason", o.msg));
	return v;
}

static void
write_check(struct probe *p, const char *id, const char *what, json_t *d,
    int allowed, int odd, int tried)
{
	if (allowed > 0)
		add_check(p, id, "fail", allowed, d, "%s: %d of %d attempts "
		    "allowed", what, allowed, tried);
	else if (odd > 0)
		add_check(p, id, "error", 0, d, "%s: %d of %d attempts failed "
		    "for another reason than a missing privilege", what, odd,
		    tried);
	else
		add_check(p, id, "pass", 0, d, "%s: all %d attempts refused by "
		    "privileges", what, tried);
}

static void
writes_tables(struct probe *p)
{
	static const struct {
		const char *id, *what, *fmt;
	} w[] = {
		{ "session.write.insert", "INSERT",
		  "INSERT INTO %1$s (%2$s) SELECT %2$s FROM %1$s WHERE false" },
		{ "session.write.update", "UPDATE",
		  "UPDATE %1$s SET %2$s = %2$s WHERE false" },
		{ "session.write.delete", "DELETE",
		  "DELETE FROM %1$s WHERE false" },
	};
	char sql[1024];
	size_t k, i;
	int v, allowed, odd;
	json_t *d;

	for (k = 0; k < sizeof(w) / sizeof(w[0]); k++) {
		restore(p);
		d = json_array();
		allowed = odd = 0;
		for (i = 0; i < p->nt && !p->broken; i++) {
			snprintf(sql, sizeof(sql), w[k].fmt, p->t[i].relq,
			    p->t[i].colq);
			v = try_write(p, sql, p->t[i].name, d);
			allowed += v == 1;
			odd += v < 0;
		}
		write_check(p, w[k].id, w[k].what, d, allowed, odd,
		    (int)p->nt);
	}
}

static void
writes_objects(struct probe *p)
{
	struct outcome o;
	PGresult *res = NULL;
	char sql[512];
	json_t *d;
	int i, v, allowed = 0, odd = 0, n = 0;

	restore(p);
	d = json_array();
	v = try_write(p, "CREATE TEMP TABLE " PROBE_NAME " (x int)",
	    "temporary table", d);
	write_check(p, "session.write.temp", "CREATE TEMP TABLE", d, v == 1,
	    v < 0, 1);
	d = json_array();
	v = try_write(p, "CREATE SCHEMA " PROBE_NAME, "database (schema)", d);
	allowed += v == 1;
	odd += v < 0;
	n++;
	run(p, "SELECT pg_catalog.quote_ident(nspname), nspname FROM "
	    "pg_catalog.pg_namespace WHERE nspname NOT IN ('pg_catalog', "
	    "'information_schema') AND nspname !~ '^pg_' ORDER BY 2", 0, NULL,
	    &o, &res);
	for (i = 0; o.ok && i < PQntuples(res) && !p->broken; i++, n++) {
		snprintf(sql, sizeof(sql), "CREATE TABLE %s." PROBE_NAME
		    " (x int)", PQgetvalue(res, i, 0));
		v = try_write(p, sql, PQgetvalue(res, i, 1), d);
		allowed += v == 1;
		odd += v < 0;
	}
	PQclear(res);
	write_check(p, "session.write.create", "CREATE", d, allowed, odd, n);
}

/* A sequence the role may advance is reported from its privileges;
 * only refused ones are tried (nextval would change it). */
static void
writes_sequences(struct probe *p)
{
	struct outcome o;
	PGresult *res = NULL;
	char sql[600];
	json_t *d = json_array();
	int i, v, allowed = 0, odd = 0;

	restore(p);
	run(p, "SELECT pg_catalog.quote_ident(n.nspname) || '.' || "
	    "pg_catalog.quote_ident(c.relname), n.nspname || '.' || c.relname, "
	    "pg_catalog.has_sequence_privilege(c.oid, 'USAGE') OR "
	    "pg_catalog.has_sequence_privilege(c.oid, 'UPDATE') "
	    "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON "
	    "n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname NOT IN "
	    "('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_' "
	    "ORDER BY 2", 0, NULL, &o, &res);
	for (i = 0; o.ok && i < PQntuples(res) && !p->broken; i++) {
		if (PQgetvalue(res, i, 2)[0] == 't') {
			allowed++;
			json_array_append_new(d, json_pack("{s:s,s:s,s:s}",
			    "object", PQgetvalue(res, i, 1), "outcome", "allowed",
			    "reason", "USAGE or UPDATE privilege (not tried)"));
			continue;
		}
		snprintf(sql, sizeof(sql), "SELECT pg_catalog.nextval('%s')",
		    PQgetvalue(res, i, 0));
		if (strchr(PQgetvalue(res, i, 0), '\'') != NULL)
			continue;
		v = try_write(p, sql, PQgetvalue(res, i, 1), d);
		allowed += v == 1;
		odd += v < 0;
	}
	write_check(p, "session.write.sequences", "nextval", d, allowed, odd,
	    o.ok ? PQntuples(res) : 0);
	PQclear(res);
}

static void
writes_large_objects(struct probe *p)
{
	static const char *const lo[] = {
		"SELECT pg_catalog.lo_create(0)",
		"SELECT pg_catalog.lo_creat(-1)",
		"SELECT pg_catalog.lo_from_bytea(0, '\\x00'::bytea)",
	};
	json_t *d = json_array();
	size_t i;
	int v, allowed = 0, odd = 0;

	restore(p);
	for (i = 0; i < sizeof(lo) / sizeof(lo[0]) && !p->broken; i++) {
		v = try_write(p, lo[i], lo[i] + 18, d);
		allowed += v == 1;
		odd += v < 0;
	}
	write_check(p, "session.write.large_objects", "large objects", d,
	    allowed, odd, (int)(sizeof(lo) / sizeof(lo[0])));
}

int
leakprobe_run(PGconn *conn, const struct leakprobe_opts *o, json_t *checks,
    char *err, size_t errlen)
{
	struct probe p;
	char *keys = NULL;
	int r;

	memset(&p, 0, sizeof(p));
	p.c = conn;
	p.o = o;
	p.checks = checks;
	p.err = err;
	p.errlen = errlen;
	err_set(err, errlen, "%s", "");
	if ((r = tables_load(&p)) != 0 || (keys = tenant_keys(o->cfg)) == NULL) {
		r = r != 0 ? r : ERR_NOMEM;
		goto out;
	}
	select_battery(&p);
	if (!p.broken)
		copy_battery(&p);
	if (!p.broken)
		views_battery(&p, keys);
	if (!p.broken)
		functions_battery(&p, keys);
	if (!p.broken)
		stats_battery(&p);
	if (!p.broken)
		writes_tables(&p);
	if (!p.broken)
		writes_objects(&p);
	if (!p.broken)
		writes_sequences(&p);
	if (!p.broken)
		writes_large_objects(&p);
	r = p.broken ? ERR_DB : 0;
 out:
	free(keys);
	tables_free(&p);
	return r;
}
