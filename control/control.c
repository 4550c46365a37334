/*
 * control.c: control schema migrations, principals, capabilities and
 * assignments (see control.h and docs/CONTROL.md).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "control.h"
#include "err.h"
#include "minisig.h"

/*
 * The migrations, compiled in like sql/tenant_scope.sql (db.c): the binary
 * and its schema cannot drift apart. The Makefile makes control.o depend on
 * the files in sql/control/.
 */
__asm__(
    "	.section .rodata\n"
    "	.balign 16\n"
    "	.type texp_sql_control_001, @object\n"
    "texp_sql_control_001:\n"
    "	.incbin \"sql/control/001_control.sql\"\n"
    "	.byte 0\n"
    "	.size texp_sql_control_001, . - texp_sql_control_001\n"
    "	.previous\n");
__asm__(
    "	.section .rodata\n"
    "	.balign 16\n"
    "	.type texp_sql_control_002, @object\n"
    "texp_sql_control_002:\n"
    "	.incbin \"sql/control/002_signed.sql\"\n"
    "	.byte 0\n"
    "	.size texp_sql_control_002, . - texp_sql_control_002\n"
    "	.previous\n");
__asm__(
    "	.section .rodata\n"
    "	.balign 16\n"
    "	.type texp_sql_control_004, @object\n"
    "texp_sql_control_004:\n"
    "	.incbin \"sql/control/004_queue.sql\"\n"
    "	.byte 0\n"
    "	.size texp_sql_control_004, . - texp_sql_control_004\n"
    "	.type texp_sql_control_005, @object\n"
    "texp_sql_control_005:\n"
    "	.incbin \"sql/control/005_leaktest.sql\"\n"
    "	.byte 0\n"
    "	.size texp_sql_control_005, . - texp_sql_control_005\n"
    "	.previous\n");
extern const char texp_sql_control_001[] __attribute__((visibility("hidden")));
extern const char texp_sql_control_002[] __attribute__((visibility("hidden")));
__asm__(
    "	.section .rodata\n"
    "	.balign 16\n"
    "	.type texp_sql_control_003, @object\n"
    "texp_sql_control_003:\n"
    "	.incbin \"sql/control/003_ops.sql\"\n"
    "	.byte 0\n"
    "	.size texp_sql_control_003, . - texp_sql_control_003\n"
    "	.previous\n");
extern const char texp_sql_control_003[] __attribute__((visibility("hidden")));
extern const char texp_sql_control_004[] __attribute__((visibility("hidden")));
extern const char texp_sql_control_005[] __attribute__((visibility("hidden")));
__asm__(
    "	.section .rodata\n"
    "	.balign 16\n"
    "	.type texp_sql_control_006, @object\n"
    "texp_sql_control_006:\n"
    "	.incbin \"sql/control/006_job_ids.sql\"\n"
    "	.byte 0\n"
    "	.size texp_sql_control_006, . - texp_sql_control_006\n"
    "	.previous\n");
extern const char texp_sql_control_006[] __attribute__((visibility("hidden")));

/*
 * Each migration carries its own version (the number in its file name),
 * and a database records every version applied. Versions need not be
 * contiguous while migrations are written side by side: one not yet
 * recorded is applied, whatever the highest recorded version is.
 */
static const struct {
	int version;
	const char *name;
	const char *sql;
} migrations[] = {
	{ 1, "001_control", texp_sql_control_001 },
	{ 2, "002_signed", texp_sql_control_002 },
	{ 3, "003_ops", texp_sql_control_003 },
	{ 4, "004_queue", texp_sql_control_004 },
	{ 5, "005_leaktest", texp_sql_control_005 },
	{ 6, "006_job_ids", texp_sql_control_006 },
};
#define NMIGRATIONS	(sizeof(migrations) / sizeof(migrations[0]))

/* Serialises concurrent `init` runs (an arbitrary constant). */
#define MIGRATE_LOCK_KEY	"7418830162001"

static void
notice_ignore(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Maps a failed result to an error code by SQLSTATE. */
static int
res_code(const PGresult *res)
{
	const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);

	if (st == NULL)
		return ERR_DB;
	if (strcmp(st, "23505") == 0)		/* unique_violation */
		return ERR_EXISTS;
	if (strcmp(st, "23503") == 0)		/* foreign_key_violation */
		return ERR_NOENT;
	if (strcmp(st, "23514") == 0 ||		/* check_violation */
	    strcmp(st, "22P02") == 0 ||		/* invalid_text_representation */
	    strcmp(st, "22001") == 0)		/* string_data_right_truncation */
		return ERR_INVALID;
	return ERR_DB;
}

static void
res_err(char *err, size_t errlen, const char *what, const PGresult *res,
    PGconn *c)
{
	const char *m = res != NULL ? PQresultErrorField(res,
	    PG_DIAG_MESSAGE_PRIMARY) : NULL;

	if (m == NULL)
		m = PQerrorMessage(c);
	err_set(err, errlen, "%s: %s", what, m != NULL ? m : "");
}

static int
exec_cmd(PGconn *c, const char *what, const char *sql, char *err,
    size_t errlen)
{
	PGresult *res = PQexec(c, sql);
	int r = 0;

	if (PQresultStatus(res) != PGRES_COMMAND_OK &&
	    PQresultStatus(res) != PGRES_TUPLES_OK) {
		res_err(err, errlen, what, res, c);
		r = res == NULL ? ERR_DB : res_code(res);
	}
	PQclear(res);
	return r;
}

static void
rollback(PGconn *c)
{
	PGresult *res;

	if (PQtransactionStatus(c) == PQTRANS_IDLE)
		return;
	res = PQexec(c, "ROLLBACK");
	PQclear(res);
}

size_t
control_migration_count(void)
{
	return NMIGRATIONS;
}

const char *
control_migration_sql(size_t i)
{
	return i < NMIGRATIONS ? migrations[i].sql : NULL;
}

const char *
control_migration_name(size_t i)
{
	return i < NMIGRATIONS ? migrations[i].name : NULL;
}

/* The embedded versions as an int[] literal, e.g. "{1,3}". */
static void
known_versions(char *out, size_t len)
{
	size_t i, off = 0;

	off += (size_t)snprintf(out, len, "{");
	for (i = 0; i < NMIGRATIONS && off < len; i++)
		off += (size_t)snprintf(out + off, len - off, "%s%d",
		    i > 0 ? "," : "", migrations[i].version);
	if (off < len)
		snprintf(out + off, len - off, "}");
}

/*
 * The highest recorded version (0 when the schema is absent) and how many
 * of this binary's versions are recorded.
 */
static int
schema_version(PGconn *c, int *version, int *known, char *err,
    size_t errlen)
{
	PGresult *res = NULL;
	const char *params[1];
	char vlist[128];
	int r = ERR_DB;
	long v, k;
	char *end, *end2;

	*version = 0;
	*known = 0;
	res = PQexec(c, "SELECT pg_catalog.to_regclass("
	    "'texp_control.schema_migrations') IS NOT NULL");
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		res_err(err, errlen, "control schema", res, c);
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		r = 0;
		goto out;
	}
	PQclear(res);
	known_versions(vlist, sizeof(vlist));
	params[0] = vlist;
	res = PQexecParams(c, "SELECT coalesce(max(version), 0), "
	    "count(*) FILTER (WHERE version = ANY ($1::int[])) "
	    "FROM texp_control.schema_migrations", 1, NULL, params, NULL,
	    NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		res_err(err, errlen, "control schema", res, c);
		goto out;
	}
	v = strtol(PQgetvalue(res, 0, 0), &end, 10);
	k = strtol(PQgetvalue(res, 0, 1), &end2, 10);
	if (*end != '\0' || v < 0 || v > 100000 || *end2 != '\0' || k < 0 ||
	    k > 100000) {
		err_set(err, errlen, "control schema: bad version");
		goto out;
	}
	*version = (int)v;
	*known = (int)k;
	r = 0;
 out:
	PQclear(res);
	return r;
}

/* *yes = 1 if migration version v is recorded. */
static int
migration_recorded(PGconn *c, int v, int *yes, char *err, size_t errlen)
{
	PGresult *res;
	const char *params[1];
	char vbuf[16];
	int r = 0;

	snprintf(vbuf, sizeof(vbuf), "%d", v);
	params[0] = vbuf;
	res = PQexecParams(c, "SELECT count(*) FROM "
	    "texp_control.schema_migrations WHERE version = $1::int", 1, NULL,
	    params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		res_err(err, errlen, "control schema", res, c);
		r = ERR_DB;
	} else
		*yes = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
	PQclear(res);
	return r;
}

int
control_migrate_grant(PGconn *admin, const char *grant_to, int *applied,
    char *err, size_t errlen)
{
	PGresult *res = NULL;
	char *ident = NULL, *sql = NULL;
	char vbuf[16];
	const char *params[2];
	int r = ERR_INTERNAL, version = 0, known = 0, done = 0, n = 0;
	size_t i, len;

	if (applied != NULL)
		*applied = 0;
	err_set(err, errlen, "%s", "");
	if (admin == NULL)
		return ERR_INVALID;
	PQsetNoticeProcessor(admin, notice_ignore, NULL);
	for (i = 0; i < NMIGRATIONS; i++) {
		if ((r = exec_cmd(admin, "init", "BEGIN", err, errlen)) != 0)
			goto out;
		if ((r = exec_cmd(admin, "init", "SELECT pg_catalog."
		    "pg_advisory_xact_lock(" MIGRATE_LOCK_KEY ")", err,
		    errlen)) != 0)
			goto out;
		/* Read under the lock: another init may have just run. */
		if ((r = schema_version(admin, &version, &known, err,
		    errlen)) != 0)
			goto out;
		if (version > CONTROL_SCHEMA_VERSION) {
			err_set(err, errlen, "init: the control schema is at "
			    "version %d, newer than this tool (%d)", version,
			    CONTROL_SCHEMA_VERSION);
			r = ERR_UNSUPPORTED;
			goto out;
		}
		done = 0;
		if (version > 0 && (r = migration_recorded(admin,
		    migrations[i].version, &done, err, errlen)) != 0)
			goto out;
		if (done) {
			rollback(admin);
			continue;
		}
		if ((r = exec_cmd(admin, migrations[i].name,
		    migrations[i].sql, err, errlen)) != 0) {
			r = ERR_DB;
			goto out;
		}
		snprintf(vbuf, sizeof(vbuf), "%d", migrations[i].version);
		params[0] = vbuf;
		params[1] = migrations[i].name;
		res = PQexecParams(admin, "INSERT INTO "
		    "texp_control.schema_migrations (version, name) "
		    "VALUES ($1, $2)", 2, NULL, params, NULL, NULL, 0);
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			res_err(err, errlen, "init", res, admin);
			r = ERR_DB;
			goto out;
		}
		PQclear(res);
		res = NULL;
		if ((r = exec_cmd(admin, "init", "COMMIT", err, errlen)) != 0)
			goto out;
		n++;
	}
	if (grant_to != NULL) {
		ident = PQescapeIdentifier(admin, grant_to, strlen(grant_to));
		if (ident == NULL) {
			err_set(err, errlen, "init: bad role name");
			r = ERR_INVALID;
			goto out;
		}
		len = strlen(ident) + 64;
		if ((sql = malloc(len)) == NULL) {
			r = ERR_NOMEM;
			goto out;
		}
		snprintf(sql, len, "GRANT texp_control_user TO %s", ident);
		if ((r = exec_cmd(admin, "init: grant", sql, err, errlen)) != 0)
			goto out;
	}
	if (applied != NULL)
		*applied = n;
	r = 0;
 out:
	if (r != 0)
		rollback(admin);
	PQclear(res);
	PQfreemem(ident);
	free(sql);
	return r;
}

int
control_migrate(PGconn *admin, int *applied, char *err, size_t errlen)
{
	return control_migrate_grant(admin, NULL, applied, err, errlen);
}

int
control_check(PGconn *c, char *err, size_t errlen)
{
	int r, version, known;

	err_set(err, errlen, "%s", "");
	if ((r = schema_version(c, &version, &known, err, errlen)) != 0)
		return r;
	if (version == 0) {
		err_set(err, errlen, "control schema missing "
		    "(run tenant-export init)");
		return ERR_NOENT;
	}
	if (version != CONTROL_SCHEMA_VERSION || known != (int)NMIGRATIONS) {
		err_set(err, errlen, "control schema at version %d, this tool "
		    "needs %d", version, CONTROL_SCHEMA_VERSION);
		return ERR_UNSUPPORTED;
	}
	return 0;
}

int
control_name_valid(const char *name)
{
	size_t i, n;

	if (name == NULL || (n = strlen(name)) == 0 || n > CONTROL_NAME_MAX)
		return 0;
	/* the root key acts under this name (ledger.h) */
	if (strcmp(name, "root") == 0)
		return 0;
	for (i = 0; i < n; i++) {
		char ch = name[i];

		if ((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))
			continue;
		if (i > 0 && (ch == '.' || ch == '_' || ch == '-'))
			continue;
		return 0;
	}
	return 1;
}

/* "\x" + hex for a bytea text parameter; out must hold 2 * n + 3. */
static void
bytea_hex(char *out, const uint8_t *p, size_t n)
{
	out[0] = '\\';
	out[1] = 'x';
	sodium_bin2hex(out + 2, 2 * n + 1, p, n);
}

/* Parses a bytea in hex output format into exactly n bytes. */
static int
bytea_parse(const char *s, uint8_t *out, size_t n)
{
	size_t got = 0;

	if (strncmp(s, "\\x", 2) != 0 || strlen(s + 2) != 2 * n)
		return ERR_FORMAT;
	if (sodium_hex2bin(out, n, s + 2, 2 * n, NULL, &got, NULL) != 0 ||
	    got != n)
		return ERR_FORMAT;
	return 0;
}

static int
fill_principal(PGresult *res, struct control_principal *out)
{
	const char *name = PQgetvalue(res, 0, 1);
	char *end;
	long long id;

	memset(out, 0, sizeof(*out));
	id = strtoll(PQgetvalue(res, 0, 0), &end, 10);
	if (*end != '\0' || id <= 0)
		return ERR_FORMAT;
	if (strlen(name) >= sizeof(out->name))
		return ERR_FORMAT;
	out->id = id;
	memcpy(out->name, name, strlen(name) + 1);
	if (bytea_parse(PQgetvalue(res, 0, 2), out->key_id,
	    sizeof(out->key_id)) != 0)
		return ERR_FORMAT;
	out->disabled = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
	return 0;
}

int
control_principal_by_name(PGconn *c, const char *name,
    struct control_principal *out)
{
	PGresult *res = NULL;
	const char *params[1] = { name };
	int r = ERR_INTERNAL;

	memset(out, 0, sizeof(*out));
	if (!control_name_valid(name))
		return ERR_NOENT;
	res = PQexecParams(c, "SELECT id, name, key_id, public_key, "
	    "disabled_at IS NOT NULL FROM texp_control.principals "
	    "WHERE name = $1", 1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		r = ERR_DB;
		goto out;
	}
	if (PQntuples(res) != 1) {
		r = ERR_NOENT;
		goto out;
	}
	r = fill_principal(res, out);
 out:
	PQclear(res);
	return r;
}

/*
 * Runs one parameterised statement. *rows (optional) gets the number of
 * rows affected or returned.
 */
static int
exec_params(PGconn *c, const char *what, const char *sql, int n,
    const char *const *params, int *rows, char *err, size_t errlen)
{
	PGresult *res;
	int r = 0;
	ExecStatusType st;

	if (rows != NULL)
		*rows = 0;
	res = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	st = PQresultStatus(res);
	if (st == PGRES_TUPLES_OK) {
		if (rows != NULL)
			*rows = PQntuples(res);
	} else if (st == PGRES_COMMAND_OK) {
		if (rows != NULL)
			*rows = atoi(PQcmdTuples(res));
	} else {
		res_err(err, errlen, what, res, c);
		r = res == NULL ? ERR_DB : res_code(res);
	}
	PQclear(res);
	return r;
}

/* Opens a transaction unless the caller already has one; *own says which. */
static int
tx_begin(PGconn *c, int *own, char *err, size_t errlen)
{
	*own = PQtransactionStatus(c) == PQTRANS_IDLE;
	if (!*own)
		return 0;
	return exec_cmd(c, "control", "BEGIN", err, errlen);
}

static int
tx_end(PGconn *c, int own, int r, char *err, size_t errlen)
{
	if (!own)
		return r;
	if (r != 0) {
		rollback(c);
		return r;
	}
	return exec_cmd(c, "control", "COMMIT", err, errlen);
}

static int
grant_roles(PGconn *c, const char *name, const char *const *roles, size_t n,
    char *err, size_t errlen)
{
	const char *params[2];
	size_t i;
	int r, rows;

	for (i = 0; i < n; i++) {
		params[0] = name;
		params[1] = roles[i];
		r = exec_params(c, "role", "INSERT INTO "
		    "texp_control.principal_roles (principal_id, role) "
		    "SELECT id, $2 FROM texp_control.principals WHERE name = $1",
		    2, params, &rows, err, errlen);
		if (r == ERR_NOENT)
			err_set(err, errlen, "unknown role \"%s\"", roles[i]);
		else if (r == ERR_EXISTS)
			err_set(err, errlen, "\"%s\" already has role \"%s\"",
			    name, roles[i]);
		if (r != 0)
			return r;
		if (rows != 1) {
			err_set(err, errlen, "unknown principal \"%s\"", name);
			return ERR_NOENT;
		}
	}
	return 0;
}

int
control_principal_add(PGconn *c, const char *name,
    const struct minisig_pubkey *pk, const char *const *roles, size_t n,
    int64_t *id_out, char *err, size_t errlen)
{
	char *text = NULL, *b64, *nl;
	uint8_t kid[MINISIG_KEYID_LEN];
	char hex[2 * MINISIG_KEYID_LEN + 3];
	const char *params[3];
	PGresult *res = NULL;
	int r = ERR_INTERNAL, own = 0;

	err_set(err, errlen, "%s", "");
	if (id_out != NULL)
		*id_out = 0;
	if (!control_name_valid(name)) {
		err_set(err, errlen, "invalid principal name");
		return ERR_INVALID;
	}
	if (pk == NULL || n == 0 || roles == NULL)
		return ERR_INVALID;
	if ((r = minisig_pubkey_encode(pk, &text)) != 0)
		return r;
	/* The file text is "untrusted comment: ...\n<base64>\n". */
	if ((b64 = strchr(text, '\n')) == NULL) {
		r = ERR_INTERNAL;
		goto out;
	}
	b64++;
	if ((nl = strchr(b64, '\n')) != NULL)
		*nl = '\0';
	minisig_pubkey_keyid(pk, kid);
	bytea_hex(hex, kid, sizeof(kid));
	params[0] = name;
	params[1] = hex;
	params[2] = b64;
	if ((r = tx_begin(c, &own, err, errlen)) != 0)
		goto out;
	res = PQexecParams(c, "INSERT INTO texp_control.principals "
	    "(name, key_id, public_key) VALUES ($1, $2::bytea, $3) "
	    "RETURNING id", 3, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1) {
		res_err(err, errlen, "principal", res, c);
		r = res == NULL ? ERR_DB : res_code(res);
		if (r == ERR_EXISTS)
			err_set(err, errlen, "a principal with this name or "
			    "key already exists");
		goto out;
	}
	if (id_out != NULL)
		*id_out = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	if ((r = grant_roles(c, name, roles, n, err, errlen)) != 0)
		goto out;
	r = 0;
 out:
	r = tx_end(c, own, r, err, errlen);
	PQclear(res);
	free(text);
	return r;
}

int
control_role_grant(PGconn *c, const char *name, const char *const *roles,
    size_t n, char *err, size_t errlen)
{
	int r, own;

	err_set(err, errlen, "%s", "");
	if (!control_name_valid(name) || roles == NULL || n == 0)
		return ERR_INVALID;
	if ((r = tx_begin(c, &own, err, errlen)) != 0)
		return r;
	r = grant_roles(c, name, roles, n, err, errlen);
	return tx_end(c, own, r, err, errlen);
}

int
control_principal_disable(PGconn *c, const char *name, char *err,
    size_t errlen)
{
	struct control_principal p;
	const char *params[1] = { name };
	int r, rows;

	err_set(err, errlen, "%s", "");
	if (!control_name_valid(name))
		return ERR_INVALID;
	r = exec_params(c, "principal", "UPDATE texp_control.principals "
	    "SET disabled_at = pg_catalog.now() "
	    "WHERE name = $1 AND disabled_at IS NULL", 1, params, &rows, err,
	    errlen);
	if (r != 0)
		return r;
	if (rows == 1)
		return 0;
	r = control_principal_by_name(c, name, &p);
	if (r == 0) {
		err_set(err, errlen, "\"%s\" is already disabled", name);
		return ERR_EXISTS;
	}
	if (r == ERR_NOENT)
		err_set(err, errlen, "unknown principal \"%s\"", name);
	return r;
}

int
control_assign(PGconn *c, const char *name, const char *tenant, char *err,
    size_t errlen)
{
	const char *params[2] = { name, tenant };
	int r, rows;

	err_set(err, errlen, "%s", "");
	if (!control_name_valid(name) || tenant == NULL)
		return ERR_INVALID;
	r = exec_params(c, "assignment", "INSERT INTO texp_control.assignments "
	    "(principal_id, tenant) SELECT id, $2 FROM texp_control.principals "
	    "WHERE name = $1", 2, params, &rows, err, errlen);
	if (r == ERR_NOENT) {
		err_set(err, errlen, "unknown tenant");
		return r;
	}
	if (r == ERR_EXISTS) {
		err_set(err, errlen, "already assigned");
		return r;
	}
	if (r != 0)
		return r;
	if (rows != 1) {
		err_set(err, errlen, "unknown principal \"%s\"", name);
		return ERR_NOENT;
	}
	return 0;
}

int
control_unassign(PGconn *c, const char *name, const char *tenant, char *err,
    size_t errlen)
{
	const char *params[2] = { name, tenant };
	int r, rows;

	err_set(err, errlen, "%s", "");
	if (!control_name_valid(name) || tenant == NULL)
		return ERR_INVALID;
	r = exec_params(c, "assignment", "DELETE FROM texp_control.assignments a "
	    "USING texp_control.principals p WHERE a.principal_id = p.id "
	    "AND p.name = $1 AND a.tenant = $2", 2, params, &rows, err,
	    errlen);
	if (r != 0)
		return r;
	if (rows != 1) {
		err_set(err, errlen, "no such assignment");
		return ERR_NOENT;
	}
	return 0;
}

int
control_tenant_add(PGconn *c, const char *tenant, const char *display_name,
    char *err, size_t errlen)
{
	const char *params[2] = { tenant, display_name };
	int r;

	err_set(err, errlen, "%s", "");
	if (tenant == NULL || display_name == NULL || *tenant == '\0' ||
	    *display_name == '\0' || strlen(tenant) > CONTROL_TENANT_MAX ||
	    strlen(display_name) > CONTROL_DISPLAY_MAX)
		return ERR_INVALID;
	r = exec_params(c, "tenant", "INSERT INTO texp_control.tenants "
	    "(tenant, display_name) VALUES ($1, $2)", 2, params, NULL, err,
	    errlen);
	if (r == ERR_EXISTS)
		err_set(err, errlen, "tenant already registered");
	else if (r == ERR_INVALID)
		err_set(err, errlen, "invalid tenant id or display name");
	return r;
}

int
control_principal_meta(PGconn *c, const char *name, const char *person,
    const char *registered_by, char *err, size_t errlen)
{
	const char *params[3] = { name, person, registered_by };
	int rows, r;

	err_set(err, errlen, "%s", "");
	r = exec_params(c, "principal", "UPDATE texp_control.principals "
	    "SET person = $2, registered_by = $3 WHERE name = $1", 3, params,
	    &rows, err, errlen);
	if (r == 0 && rows != 1) {
		err_set(err, errlen, "unknown principal \"%s\"", name);
		r = ERR_NOENT;
	}
	return r;
}

int
control_tenant_recipients(PGconn *c, const char *tenant,
    const char *const *recipients, size_t n, char *err, size_t errlen)
{
	json_t *a = json_array();
	const char *params[2];
	char *js = NULL;
	size_t i;
	int rows = 0, r = ERR_NOMEM;

	err_set(err, errlen, "%s", "");
	if (a == NULL)
		return ERR_NOMEM;
	for (i = 0; i < n; i++)
		if (json_array_append_new(a, json_string(recipients[i])) != 0)
			goto out;
	if ((js = json_dumps(a, JSON_COMPACT)) == NULL)
		goto out;
	params[0] = tenant;
	params[1] = js;
	r = exec_params(c, "tenant", "UPDATE texp_control.tenants SET "
	    "recipients = ARRAY(SELECT jsonb_array_elements_text($2::jsonb)) "
	    "WHERE tenant = $1", 2, params, &rows, err, errlen);
	if (r == 0 && rows != 1) {
		err_set(err, errlen, "unknown tenant");
		r = ERR_NOENT;
	}
 out:
	free(js);
	json_decref(a);
	return r;
}

int
control_id(PGconn *c, char out[CONTROL_ID_MAX + 1], char *err, size_t errlen)
{
	PGresult *res;
	int r = 0;

	out[0] = '\0';
	res = PQexec(c, "SELECT control_id FROM texp_control.instance");
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		res_err(err, errlen, "control id", res, c);
		r = ERR_DB;
	} else if (PQntuples(res) != 1 ||
	    strlen(PQgetvalue(res, 0, 0)) > CONTROL_ID_MAX) {
		err_set(err, errlen, "the control database has no id (run "
		    "tenant-export init)");
		r = ERR_NOENT;
	} else
		snprintf(out, CONTROL_ID_MAX + 1, "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	return r;
}
