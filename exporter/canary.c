/*
 * canary.c: the leak test's marker rows (canary.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "buf.h"
#include "canary.h"
#include "config.h"
#include "err.h"
#include "text.h"

#define MARKER_LEN	(sizeof(CANARY_PREFIX) - 1 + 32)
#define MAX_COLS	1600	/* PostgreSQL's own limit */

struct ccol {
	char *name, *type, *typname, *enum_first;
	char cat;		/* pg_type.typcategory of the base type */
	int notnull;
	int may_omit;		/* a default or an identity fills it */
	int must_omit;		/* GENERATED ALWAYS */
	int maxlen;		/* string length limit, or -1 */
	/* the chosen value: a text parameter, an expression, or neither
	 * (left to its default) */
	int set, is_param, marker;
	char *val;		/* parameter text, or SQL expression */
};

struct cfk {
	char *ref;		/* "schema.table", the config's spelling */
	char *refq;		/* the regclass text, quoted */
	json_t *cols, *refcols;	/* names, in key order */
};

struct ctable {
	const struct config_table *ct;
	char name[2 * CONFIG_MAX_IDENT + 2];
	char *relq;		/* quoted schema.table */
	struct ccol *cols;
	size_t ncols;
	struct cfk *fks;
	size_t nfks;
	int tunique;		/* the tenant column is unique on its own */
	int done;		/* planted (or given up) for this tenant */
};

struct plant {
	PGconn *w;
	const struct config *cfg;
	struct ctable *t;
	size_t nt;
	const char *tenant;
	json_t *rows;		/* table name -> {column: text} of canaries */
	json_t *planted, *skipped, *failed;
	char *err;
	size_t errlen;
};

static void
res_reason(const PGresult *res, PGconn *c, char *out, size_t outlen)
{
	const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);

	snprintf(out, outlen, "%s", m != NULL ? m : PQerrorMessage(c));
	text_escape_inplace(out, outlen);
}

static int
exec_ok(PGconn *c, const char *sql)
{
	PGresult *res = PQexec(c, sql);
	int ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
	    PQresultStatus(res) == PGRES_TUPLES_OK;

	PQclear(res);
	return ok;
}

static void
table_clear(struct ctable *t)
{
	size_t i;

	for (i = 0; i < t->ncols; i++) {
		free(t->cols[i].name);
		free(t->cols[i].type);
		free(t->cols[i].typname);
		free(t->cols[i].enum_first);
		free(t->cols[i].val);
	}
	free(t->cols);
	for (i = 0; i < t->nfks; i++) {
		free(t->fks[i].ref);
		free(t->fks[i].refq);
		json_decref(t->fks[i].cols);
		json_decref(t->fks[i].refcols);
	}
	free(t->fks);
	free(t->relq);
	memset(t, 0, sizeof(*t));
}

static char *
dup_or_null(const PGresult *res, int i, int j)
{
	return PQgetisnull(res, i, j) ? NULL : strdup(PQgetvalue(res, i, j));
}

static const char SQL_COLUMNS[] =
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod), "
    "bt.typcategory, bt.typname, a.attnotnull, "
    "a.atthasdef OR a.attidentity <> '', "
    "a.attidentity = 'a' OR a.attgenerated <> '', "
    "CASE WHEN bt.typcategory = 'S' AND a.atttypmod > 4 "
    "THEN a.atttypmod - 4 ELSE -1 END, "
    "(SELECT e.enumlabel FROM pg_catalog.pg_enum e WHERE e.enumtypid = "
    "bt.oid ORDER BY e.enumsortorder LIMIT 1) "
    "FROM pg_catalog.pg_attribute a "
    "JOIN pg_catalog.pg_type t ON t.oid = a.atttypid "
    "JOIN pg_catalog.pg_type bt ON bt.oid = CASE WHEN t.typtype = 'd' "
    "THEN t.typbasetype ELSE t.oid END "
    "WHERE a.attrelid = $1::regclass AND a.attnum > 0 "
    "AND NOT a.attisdropped ORDER BY a.attnum";

static const char SQL_FKS[] =
    "SELECT n.nspname || '.' || r.relname, c.confrelid::regclass::text, "
    "(SELECT json_agg(a.attname ORDER BY k.i) FROM unnest(c.conkey) "
    "WITH ORDINALITY k(n, i) JOIN pg_catalog.pg_attribute a "
    "ON a.attrelid = c.conrelid AND a.attnum = k.n), "
    "(SELECT json_agg(a.attname ORDER BY k.i) FROM unnest(c.confkey) "
    "WITH ORDINALITY k(n, i) JOIN pg_catalog.pg_attribute a "
    "ON a.attrelid = c.confrelid AND a.attnum = k.n) "
    "FROM pg_catalog.pg_constraint c "
    "JOIN pg_catalog.pg_class r ON r.oid = c.confrelid "
    "JOIN pg_catalog.pg_namespace n ON n.oid = r.relnamespace "
    "WHERE c.conrelid = $1::regclass AND c.contype = 'f' ORDER BY c.conname";

static const char SQL_TUNIQUE[] =
    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_index i "
    "JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid "
    "AND a.attnum = i.indkey[0] WHERE i.indrelid = $1::regclass "
    "AND i.indisunique AND i.indnkeyatts = 1 AND i.indpred IS NULL "
    "AND a.attname = $2)";

static int
load_columns(PGconn *w, struct ctable *t, char *err, size_t errlen)
{
	const char *p[1] = { t->relq };
	PGresult *res = PQexecParams(w, SQL_COLUMNS, 1, NULL, p, NULL, NULL, 0);
	int i, n, r = ERR_NOMEM;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		res_reason(res, w, err, errlen);
		PQclear(res);
		return ERR_DB;
	}
	n = PQntuples(res);
	if (n > MAX_COLS || (t->cols = calloc(n ? (size_t)n : 1,
	    sizeof(*t->cols))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		struct ccol *c = &t->cols[i];

		t->ncols = (size_t)i + 1;
		c->name = strdup(PQgetvalue(res, i, 0));
		c->type = strdup(PQgetvalue(res, i, 1));
		c->cat = PQgetvalue(res, i, 2)[0];
		c->typname = strdup(PQgetvalue(res, i, 3));
		c->notnull = PQgetvalue(res, i, 4)[0] == 't';
		c->may_omit = PQgetvalue(res, i, 5)[0] == 't';
		c->must_omit = PQgetvalue(res, i, 6)[0] == 't';
		c->maxlen = atoi(PQgetvalue(res, i, 7));
		c->enum_first = dup_or_null(res, i, 8);
		if (c->name == NULL || c->type == NULL || c->typname == NULL)
			goto out;
	}
	r = 0;
 out:
	PQclear(res);
	return r;
}

static int
load_fks(PGconn *w, struct ctable *t, char *err, size_t errlen)
{
	const char *p[1] = { t->relq };
	PGresult *res = PQexecParams(w, SQL_FKS, 1, NULL, p, NULL, NULL, 0);
	int i, n, r = ERR_NOMEM;

	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		res_reason(res, w, err, errlen);
		PQclear(res);
		return ERR_DB;
	}
	n = PQntuples(res);
	if ((t->fks = calloc(n ? (size_t)n : 1, sizeof(*t->fks))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		struct cfk *f = &t->fks[i];

		t->nfks = (size_t)i + 1;
		f->ref = strdup(PQgetvalue(res, i, 0));
		f->refq = strdup(PQgetvalue(res, i, 1));
		f->cols = json_loads(PQgetvalue(res, i, 2), 0, NULL);
		f->refcols = json_loads(PQgetvalue(res, i, 3), 0, NULL);
		if (f->ref == NULL || f->refq == NULL ||
		    !json_is_array(f->cols) || !json_is_array(f->refcols) ||
		    json_array_size(f->cols) != json_array_size(f->refcols))
			goto out;
	}
	r = 0;
 out:
	PQclear(res);
	return r;
}

/* The catalog's view of one configured tenant table. */
static int
table_load(PGconn *w, const struct config_table *ct, struct ctable *t,
    char *err, size_t errlen)
{
	const char *p[2];
	PGresult *res;
	char *s, *n;
	int r;

	t->ct = ct;
	snprintf(t->name, sizeof(t->name), "%s.%s", ct->schema, ct->name);
	s = PQescapeIdentifier(w, ct->schema, strlen(ct->schema));
	n = PQescapeIdentifier(w, ct->name, strlen(ct->name));
	r = s == NULL || n == NULL ? ERR_DB :
	    asprintf(&t->relq, "%s.%s", s, n) < 0 ? ERR_NOMEM : 0;
	PQfreemem(s);
	PQfreemem(n);
	if (r != 0) {
		t->relq = NULL;
		err_set(err, errlen, "%s", PQerrorMessage(w));
		return r;
	}
	if ((r = load_columns(w, t, err, errlen)) != 0 ||
	    (r = load_fks(w, t, err, errlen)) != 0)
		return r;
	p[0] = t->relq;
	p[1] = ct->tenant_key;
	res = PQexecParams(w, SQL_TUNIQUE, 2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		res_reason(res, w, err, errlen);
		PQclear(res);
		return ERR_DB;
	}
	t->tunique = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return 0;
}

static long
col_find(const struct ctable *t, const char *name)
{
	size_t i;

	for (i = 0; name != NULL && i < t->ncols; i++)
		if (strcmp(t->cols[i].name, name) == 0)
			return (long)i;
	return -1;
}

static struct ctable *
table_named(struct plant *pl, const char *name)
{
	size_t i;

	for (i = 0; i < pl->nt; i++)
		if (strcmp(pl->t[i].name, name) == 0)
			return &pl->t[i];
	return NULL;
}

static int
col_set(struct ccol *c, int is_param, const char *val, int marker)
{
	free(c->val);
	if ((c->val = strdup(val)) == NULL)
		return ERR_NOMEM;
	c->set = 1;
	c->is_param = is_param;
	c->marker = marker;
	return 0;
}

/* A foreign key's columns from a row given as {column: text}. A key
 * column that is the tenant column must already hold the tenant. */
static int
fk_from_row(struct plant *pl, struct ctable *t, const struct cfk *f,
    json_t *row)
{
	size_t k;
	long i;
	const char *v;
	int r;

	for (k = 0; k < json_array_size(f->cols); k++) {
		i = col_find(t, json_string_value(json_array_get(f->cols, k)));
		v = json_string_value(json_object_get(row, json_string_value(
		    json_array_get(f->refcols, k))));
		if (i < 0 || v == NULL)
			return ERR_NOENT;
		if (strcmp(t->cols[i].name, t->ct->tenant_key) == 0) {
			if (strcmp(v, pl->tenant) != 0)
				return ERR_NOENT;
			continue;
		}
		if ((r = col_set(&t->cols[i], 1, v, 0)) != 0)
			return r;
	}
	return 0;
}

/* An existing row of the referenced table: of the same tenant when it is
 * a tenant table. */
static int
fk_existing(struct plant *pl, struct ctable *t, const struct cfk *f,
    char *why, size_t whylen)
{
	struct ctable *rt = table_named(pl, f->ref);
	struct buf *q = buf_new(1 << 16);
	json_t *row = json_object();
	const char *p[1] = { pl->tenant };
	PGresult *res = NULL;
	char *id;
	size_t k;
	long tc = rt != NULL ? col_find(rt, rt->ct->tenant_key) : -1;
	int r = ERR_NOMEM;

	if (q == NULL || row == NULL || buf_put_str(q, "SELECT ") != 0)
		goto out;
	for (k = 0; k < json_array_size(f->refcols); k++) {
		const char *c = json_string_value(json_array_get(f->refcols, k));

		if ((id = PQescapeIdentifier(pl->w, c, strlen(c))) == NULL)
			goto out;
		r = buf_putf(q, "%s%s::text", k ? ", " : "", id);
		PQfreemem(id);
		if (r != 0)
			goto out;
	}
	r = ERR_NOMEM;
	if (buf_putf(q, " FROM %s", f->refq) != 0)
		goto out;
	if (tc >= 0 && ((id = PQescapeIdentifier(pl->w, rt->ct->tenant_key,
	    strlen(rt->ct->tenant_key))) == NULL || buf_putf(q, " WHERE %s = "
	    "$1::%s", id, rt->cols[tc].type) != 0)) {
		PQfreemem(id);
		goto out;
	}
	if (tc >= 0)
		PQfreemem(id);
	if (buf_put_str(q, " LIMIT 1") != 0 || buf_put_u8(q, 0) != 0)
		goto out;
	res = PQexecParams(pl->w, (const char *)buf_ptr(q), tc >= 0 ? 1 : 0,
	    NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		res_reason(res, pl->w, why, whylen);
		r = ERR_DB;
		goto out;
	}
	if (PQntuples(res) != 1) {
		snprintf(why, whylen, "no row of %s to point at", f->ref);
		r = ERR_NOENT;
		goto out;
	}
	for (k = 0; k < json_array_size(f->refcols); k++)
		if (!PQgetisnull(res, 0, (int)k))
			json_object_set_new(row, json_string_value(json_array_get(
			    f->refcols, k)), json_string(PQgetvalue(res, 0,
			    (int)k)));
	if ((r = fk_from_row(pl, t, f, row)) == ERR_NOENT)
		snprintf(why, whylen, "no row of %s to point at", f->ref);
 out:
	PQclear(res);
	json_decref(row);
	buf_free(q);
	return r;
}

/* Every foreign key: the tenant's canary in the referenced table, else
 * NULL when the key may be NULL, else an existing row. */
static int
choose_fks(struct plant *pl, struct ctable *t, char *why, size_t whylen)
{
	const struct cfk *f;
	json_t *row;
	size_t i, k;
	long c;
	int r, nullable;

	for (i = 0; i < t->nfks; i++) {
		f = &t->fks[i];
		row = json_object_get(pl->rows, f->ref);
		if (row != NULL && fk_from_row(pl, t, f, row) == 0)
			continue;
		for (nullable = 1, k = 0; k < json_array_size(f->cols); k++) {
			c = col_find(t, json_string_value(json_array_get(
			    f->cols, k)));
			if (c < 0 || t->cols[c].notnull)
				nullable = 0;
		}
		if (nullable)
			continue;	/* left NULL */
		if ((r = fk_existing(pl, t, f, why, whylen)) != 0)
			return r;
	}
	return 0;
}

/* A neutral value for a required column without a default. */
static int
neutral(struct ccol *c, char *why, size_t whylen)
{
	char e[512];

	if (strcmp(c->typname, "uuid") == 0)
		return col_set(c, 0, "pg_catalog.gen_random_uuid()", 0);
	if (c->enum_first != NULL)
		return col_set(c, 1, c->enum_first, 0);
	switch (c->cat) {
	case 'N':
		snprintf(e, sizeof(e), "(-1 - floor(pg_catalog.random() * "
		    "30000))::%s", c->type);
		return col_set(c, 0, e, 0);
	case 'B':
		return col_set(c, 1, "false", 0);
	case 'D':
		snprintf(e, sizeof(e), "pg_catalog.now()::%s", c->type);
		return col_set(c, 0, e, 0);
	case 'T':
		return col_set(c, 1, "0", 0);
	case 'I':
		return col_set(c, 1, "192.0.2.1", 0);
	case 'A':
		return col_set(c, 1, "{}", 0);
	}
	snprintf(why, whylen, "cannot make a value for column %s of type %s",
	    c->name, c->type);
	return ERR_UNSUPPORTED;
}

/* Every column the keys left: the tenant, the marker, or a neutral
 * value. *marked gets the column that holds the whole marker. */
static int
choose_rest(struct plant *pl, struct ctable *t, const char *marker,
    long *marked, char *why, size_t whylen)
{
	struct ccol *c;
	char json[128], cut[MARKER_LEN + 1];
	size_t i;
	int r = 0;

	*marked = -1;
	for (i = 0; i < t->ncols && r == 0; i++) {
		c = &t->cols[i];
		if (c->set || c->must_omit)
			continue;
		if (strcmp(c->name, t->ct->tenant_key) == 0) {
			r = col_set(c, 1, pl->tenant, 0);
		} else if (c->cat == 'S' && (c->maxlen < 0 ||
		    c->maxlen >= (int)MARKER_LEN)) {
			r = col_set(c, 1, marker, 1);
		} else if (strcmp(c->typname, "json") == 0 ||
		    strcmp(c->typname, "jsonb") == 0) {
			snprintf(json, sizeof(json), "{\"texp_canary\": \"%s\"}",
			    marker);
			r = col_set(c, 1, json, 1);
		} else if (strcmp(c->typname, "bytea") == 0) {
			r = col_set(c, 1, marker, 1);
		} else if (c->may_omit || !c->notnull) {
			continue;
		} else if (c->cat == 'S') {
			snprintf(cut, sizeof(cut), "%.*s", c->maxlen, marker);
			r = col_set(c, 1, cut, 0);
		} else
			r = neutral(c, why, whylen);
		if (r == 0 && c->marker && (*marked < 0 ||
		    (t->cols[*marked].cat != 'S' && c->cat == 'S')))
			*marked = (long)i;
	}
	if (r == 0 && *marked < 0) {
		snprintf(why, whylen, "no text, JSON or bytea column can hold "
		    "a marker");
		r = ERR_UNSUPPORTED;
	}
	return r;
}

/* INSERT ... RETURNING every column as text. */
static int
insert_sql(PGconn *w, const struct ctable *t, struct buf *q,
    const char **params, int *np)
{
	const struct ccol *c;
	char *id;
	size_t i;
	int first = 1, r = 0;

	*np = 0;
	r |= buf_putf(q, "INSERT INTO %s (", t->relq);
	for (i = 0; i < t->ncols; i++) {
		if (!(c = &t->cols[i])->set)
			continue;
		if ((id = PQescapeIdentifier(w, c->name, strlen(c->name))) == NULL)
			return ERR_DB;
		r |= buf_putf(q, "%s%s", first ? "" : ", ", id);
		PQfreemem(id);
		first = 0;
	}
	r |= buf_put_str(q, ") VALUES (");
	for (first = 1, i = 0; i < t->ncols; i++) {
		if (!(c = &t->cols[i])->set)
			continue;
		if (c->is_param) {
			params[(*np)++] = c->val;
			r |= buf_putf(q, "%s$%d::%s", first ? "" : ", ", *np,
			    c->type);
		} else
			r |= buf_putf(q, "%s%s", first ? "" : ", ", c->val);
		first = 0;
	}
	r |= buf_put_str(q, ") RETURNING ");
	for (i = 0; i < t->ncols; i++) {
		if ((id = PQescapeIdentifier(w, t->cols[i].name,
		    strlen(t->cols[i].name))) == NULL)
			return ERR_DB;
		r |= buf_putf(q, "%s%s::text", i ? ", " : "", id);
		PQfreemem(id);
	}
	r |= buf_put_u8(q, 0);
	return r != 0 ? ERR_NOMEM : 0;
}

/* Runs the insert under a savepoint; *row gets {column: text}. A refusal
 * by the database is a reason in why, not an error. */
static int
insert_row(struct plant *pl, struct ctable *t, json_t **row, char *why,
    size_t whylen)
{
	const char **params = calloc(t->ncols ? t->ncols : 1, sizeof(*params));
	struct buf *q = buf_new(1 << 20);
	PGresult *res = NULL;
	size_t i;
	int np, r = ERR_NOMEM;

	*row = NULL;
	if (params == NULL || q == NULL ||
	    (r = insert_sql(pl->w, t, q, params, &np)) != 0)
		goto out;
	if (!exec_ok(pl->w, "SAVEPOINT texp_canary")) {
		err_set(pl->err, pl->errlen, "%s", PQerrorMessage(pl->w));
		r = ERR_DB;
		goto out;
	}
	res = PQexecParams(pl->w, (const char *)buf_ptr(q), np, NULL, params,
	    NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		res_reason(res, pl->w, why, whylen);
		r = exec_ok(pl->w, "ROLLBACK TO SAVEPOINT texp_canary") ? 0 :
		    ERR_DB;
		goto out;
	}
	if ((*row = json_object()) == NULL)
		goto out;
	for (i = 0; i < t->ncols; i++)
		if (!PQgetisnull(res, 0, (int)i))
			json_object_set_new(*row, t->cols[i].name,
			    json_string(PQgetvalue(res, 0, (int)i)));
	r = exec_ok(pl->w, "RELEASE SAVEPOINT texp_canary") ? 0 : ERR_DB;
 out:
	PQclear(res);
	buf_free(q);
	free(params);
	return r;
}

static const char *
marker_kind(const struct ccol *c)
{
	if (strcmp(c->typname, "json") == 0 || strcmp(c->typname, "jsonb") == 0 ||
	    strcmp(c->typname, "bytea") == 0)
		return c->typname;
	return "text";
}

static void
note(json_t *list, const char *tenant, const char *table, const char *why)
{
	json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "tenant", tenant,
	    "table", table, "reason", why));
}

/* One table for the current tenant. 0 unless something fatal happened;
 * skips and refusals are noted. */
static int
plant_table(struct plant *pl, struct ctable *t)
{
	char marker[MARKER_LEN + 1], why[512] = "";
	uint8_t rnd[16];
	json_t *row = NULL;
	long marked, tc;
	size_t i;
	int r;

	t->done = 1;
	if (t->tunique) {
		note(pl->skipped, pl->tenant, t->name, "its tenant column is "
		    "unique (the tenants table): a second row would be a "
		    "second tenant");
		return 0;
	}
	randombytes_buf(rnd, sizeof(rnd));
	memcpy(marker, CANARY_PREFIX, sizeof(CANARY_PREFIX) - 1);
	sodium_bin2hex(marker + sizeof(CANARY_PREFIX) - 1, 33, rnd, 16);
	for (i = 0; i < t->ncols; i++) {
		free(t->cols[i].val);
		t->cols[i].val = NULL;
		t->cols[i].set = t->cols[i].marker = 0;
	}
	if ((r = choose_fks(pl, t, why, sizeof(why))) == 0)
		r = choose_rest(pl, t, marker, &marked, why, sizeof(why));
	if (r == 0)
		r = insert_row(pl, t, &row, why, sizeof(why));
	if (r == ERR_NOMEM || (r == ERR_DB && why[0] == '\0'))
		return r;
	if (row == NULL) {
		note(pl->failed, pl->tenant, t->name, why[0] ? why :
		    err_str(r));
		return 0;
	}
	tc = col_find(t, t->ct->tenant_key);
	json_object_set_new(pl->rows, t->name, row);
	json_array_append_new(pl->planted, json_pack("{s:s,s:s,s:s,s:s,s:s,"
	    "s:s,s:s}", "tenant", pl->tenant, "table", t->name, "tenant_column",
	    t->ct->tenant_key, "tenant_type", tc >= 0 ? t->cols[tc].type :
	    "text", "column", t->cols[marked].name, "kind",
	    marker_kind(&t->cols[marked]), "marker", marker));
	return 0;
}

/* 1 if every tenant table t's keys point at was planted (or is t). */
static int
ready(struct plant *pl, const struct ctable *t)
{
	const struct ctable *rt;
	size_t i;

	for (i = 0; i < t->nfks; i++) {
		rt = table_named(pl, t->fks[i].ref);
		if (rt != NULL && rt != t && !rt->done)
			return 0;
	}
	return 1;
}

/* The tenant's tables, referenced ones first (a cycle is broken at its
 * first table). */
static int
plant_tenant(struct plant *pl, const char *tenant)
{
	size_t i, left;
	int progress, r;

	pl->tenant = tenant;
	json_object_clear(pl->rows);
	for (i = 0; i < pl->nt; i++)
		pl->t[i].done = 0;
	for (left = pl->nt; left > 0;) {
		progress = 0;
		for (i = 0; i < pl->nt; i++) {
			if (pl->t[i].done || !ready(pl, &pl->t[i]))
				continue;
			if ((r = plant_table(pl, &pl->t[i])) != 0)
				return r;
			left--;
			progress = 1;
		}
		for (i = 0; !progress && i < pl->nt; i++)
			if (!pl->t[i].done) {
				if ((r = plant_table(pl, &pl->t[i])) != 0)
					return r;
				left--;
				break;
			}
	}
	return 0;
}

int
canary_plant(PGconn *w, const struct config *cfg, const char *const *tenants,
    size_t n, json_t *planted, json_t *skipped, json_t *failed, char *err,
    size_t errlen)
{
	struct plant pl;
	const struct config_table *ct;
	size_t i, nt = config_table_count(cfg);
	int r = ERR_NOMEM;

	memset(&pl, 0, sizeof(pl));
	pl.w = w;
	pl.cfg = cfg;
	pl.planted = planted;
	pl.skipped = skipped;
	pl.failed = failed;
	pl.err = err;
	pl.errlen = errlen;
	err_set(err, errlen, "%s", "");
	if ((pl.t = calloc(nt ? nt : 1, sizeof(*pl.t))) == NULL ||
	    (pl.rows = json_object()) == NULL)
		goto out;
	if (!exec_ok(w, "BEGIN")) {
		err_set(err, errlen, "%s", PQerrorMessage(w));
		r = ERR_DB;
		goto out;
	}
	for (i = 0; i < nt; i++) {
		ct = config_table_at(cfg, i);
		if (ct->cls == CONFIG_CLASS_TENANT &&
		    (r = table_load(w, ct, &pl.t[pl.nt++], err, errlen)) != 0)
			goto out;
	}
	for (i = 0; i < n; i++)
		if ((r = plant_tenant(&pl, tenants[i])) != 0)
			goto out;
	if (!exec_ok(w, "COMMIT")) {
		err_set(err, errlen, "cannot commit the canaries: %s",
		    PQerrorMessage(w));
		r = ERR_DB;
		goto out;
	}
	r = 0;
 out:
	if (r != 0) {
		exec_ok(w, "ROLLBACK");
		json_array_clear(planted);
	}
	for (i = 0; i < pl.nt; i++)
		table_clear(&pl.t[i]);
	free(pl.t);
	json_decref(pl.rows);
	return r;
}

/* DELETE one canary by its tenant and marker. 1 deleted, 0 not found. */
static int
delete_one(PGconn *w, const json_t *e, char *why, size_t whylen)
{
	const char *tenant = json_string_value(json_object_get(e, "tenant"));
	const char *table = json_string_value(json_object_get(e, "table"));
	const char *tcol = json_string_value(json_object_get(e,
	    "tenant_column"));
	const char *ttype = json_string_value(json_object_get(e, "tenant_type"));
	const char *col = json_string_value(json_object_get(e, "column"));
	const char *kind = json_string_value(json_object_get(e, "kind"));
	const char *marker = json_string_value(json_object_get(e, "marker"));
	const char *p[2] = { tenant, marker };
	char *qt = NULL, *qs = NULL, *qtc = NULL, *qc = NULL, *sql = NULL;
	const char *dot, *cond;
	PGresult *res = NULL;
	int r = -1;

	if (tenant == NULL || table == NULL || tcol == NULL || ttype == NULL ||
	    col == NULL || kind == NULL || marker == NULL ||
	    strncmp(marker, CANARY_PREFIX, sizeof(CANARY_PREFIX) - 1) != 0 ||
	    strspn(ttype, "abcdefghijklmnopqrstuvwxyz0123456789 ()_,[]") !=
	    strlen(ttype) || (dot = strchr(table, '.')) == NULL) {
		snprintf(why, whylen, "malformed record");
		return -1;
	}
	cond = strcmp(kind, "jsonb") == 0 ? "%s @> pg_catalog.jsonb_build_object"
	    "('texp_canary', $2::text)" : strcmp(kind, "json") == 0 ?
	    "pg_catalog.strpos(%s::text, $2) > 0" : strcmp(kind, "bytea") == 0 ?
	    "%s = $2::bytea" : "%s::text = $2";
	if ((qs = PQescapeIdentifier(w, table, (size_t)(dot - table))) == NULL ||
	    (qt = PQescapeIdentifier(w, dot + 1, strlen(dot + 1))) == NULL ||
	    (qtc = PQescapeIdentifier(w, tcol, strlen(tcol))) == NULL ||
	    (qc = PQescapeIdentifier(w, col, strlen(col))) == NULL)
		goto out;
	{
		char c2[300];

		snprintf(c2, sizeof(c2), cond, qc);
		if (asprintf(&sql, "DELETE FROM %s.%s WHERE %s = $1::%s AND %s",
		    qs, qt, qtc, ttype, c2) < 0) {
			sql = NULL;
			goto out;
		}
	}
	res = PQexecParams(w, sql, 2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		res_reason(res, w, why, whylen);
		goto out;
	}
	r = atoi(PQcmdTuples(res)) > 0;
	if (r == 0)
		snprintf(why, whylen, "not found (deleted by someone else?)");
 out:
	PQclear(res);
	PQfreemem(qs);
	PQfreemem(qt);
	PQfreemem(qtc);
	PQfreemem(qc);
	free(sql);
	return r;
}

int
canary_delete(PGconn *w, const json_t *planted, size_t *deleted, json_t *left,
    char *err, size_t errlen)
{
	const json_t *e;
	char why[512];
	size_t i;
	int d;

	*deleted = 0;
	err_set(err, errlen, "%s", "");
	for (i = json_array_size(planted); i-- > 0;) {
		e = json_array_get(planted, i);
		why[0] = '\0';
		if (!exec_ok(w, "BEGIN")) {
			err_set(err, errlen, "%s", PQerrorMessage(w));
			return ERR_DB;
		}
		d = delete_one(w, e, why, sizeof(why));
		if (!exec_ok(w, d > 0 ? "COMMIT" : "ROLLBACK") && d > 0) {
			res_reason(NULL, w, why, sizeof(why));
			d = -1;
		}
		if (d > 0) {
			(*deleted)++;
			continue;
		}
		if (d == 0)
			continue;	/* already gone: nothing is left */
		json_array_append_new(left, json_pack("{s:O?,s:O?,s:O?,s:s}",
		    "tenant", json_object_get(e, "tenant"), "table",
		    json_object_get(e, "table"), "marker", json_object_get(e,
		    "marker"), "reason", why));
	}
	return 0;
}
