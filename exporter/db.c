/*
 * db.c: connections, the db-setup script, and the per-export scoped
 * session (see db.h and docs/DATABASE.md).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <sodium.h>

#include "buf.h"
#include "config.h"
#include "db.h"
#include "err.h"
#include "text.h"

/*
 * sql/tenant_scope.sql, compiled in so that the binary and its SQL cannot
 * drift apart and nothing has to be installed next to it. The assembler
 * resolves the path from the directory make runs in (the repository root);
 * the Makefile makes db.o depend on the files in sql/.
 */
__asm__(
    "	.section .rodata\n"
    "	.balign 16\n"
    "	.type texp_sql_tenant_scope, @object\n"
    "texp_sql_tenant_scope:\n"
    "	.incbin \"sql/tenant_scope.sql\"\n"
    "	.byte 0\n"
    "	.size texp_sql_tenant_scope, . - texp_sql_tenant_scope\n"
    "	.previous\n");
extern const char texp_sql_tenant_scope[] __attribute__((visibility("hidden")));

#define PASSWORD_FILE_MAX	1024
#define TENANT_MAX		256
#define SCRIPT_MAX		(8 * 1024 * 1024)
#define ROLE_RAND_BYTES		16
#define PASSWORD_RAND_BYTES	32

struct db_export {
	PGconn *conn;
	char role[4 + ROLE_RAND_BYTES * 2 + 1];
};

/* libpq messages end with a newline; keep one-line messages one line. */
/* Library code never prints: server notices are dropped unless the
 * caller installs its own processor. */
static void
notice_ignore(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

static void
set_pq_err(char *err, size_t errlen, const char *what, const char *msg)
{
	size_t n;

	err_set(err, errlen, "%s: %s", what, msg != NULL ? msg : "");
	if (err != NULL && errlen > 0) {
		n = strlen(err);
		while (n > 0 && (err[n - 1] == '\n' || err[n - 1] == ' '))
			err[--n] = '\0';
		/* The server's words may carry terminal escapes. */
		text_escape_inplace(err, errlen);
	}
}

static void
set_res_err(char *err, size_t errlen, const char *what, const PGresult *res,
    PGconn *conn)
{
	const char *m = NULL, *h = NULL;

	if (res != NULL) {
		m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
		h = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
	}
	if (m == NULL) {
		set_pq_err(err, errlen, what, PQerrorMessage(conn));
		return;
	}
	if (h != NULL)
		err_set(err, errlen, "%s: %s (hint: %s)", what, m, h);
	else
		err_set(err, errlen, "%s: %s", what, m);
	if (err != NULL)
		text_escape_inplace(err, errlen);
}

const char *
db_setup_static_sql(void)
{
	return texp_sql_tenant_scope;
}

/*
 * Reads the first line of a password file into sodium memory. The file must
 * be a regular file (no symlink) that group and others cannot read.
 */
static int
read_password_file(const char *path, char **out, char *err, size_t errlen)
{
	struct stat st;
	char *pw = NULL;
	ssize_t n;
	size_t len = 0, i;
	int fd = -1, r = ERR_INTERNAL;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		err_set(err, errlen, "password file \"%s\": %s", path,
		    strerror(errno));
		r = ERR_IO;
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		err_set(err, errlen, "password file \"%s\": not a regular "
		    "file", path);
		r = ERR_PERM;
		goto out;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		err_set(err, errlen, "password file \"%s\": readable by group "
		    "or others; chmod 0600 it", path);
		r = ERR_PERM;
		goto out;
	}
	if (sodium_init() < 0 ||
	    (pw = sodium_malloc(PASSWORD_FILE_MAX + 1)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	while (len < PASSWORD_FILE_MAX) {
		n = read(fd, pw + len, PASSWORD_FILE_MAX - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err_set(err, errlen, "password file \"%s\": %s", path,
			    strerror(errno));
			r = ERR_IO;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	for (i = 0; i < len && pw[i] != '\n' && pw[i] != '\r'; i++)
		;
	if (i == PASSWORD_FILE_MAX) {
		err_set(err, errlen, "password file \"%s\": too long", path);
		r = ERR_LIMIT;
		goto out;
	}
	if (i == 0 || memchr(pw, '\0', i) != NULL) {
		err_set(err, errlen, "password file \"%s\": empty or "
		    "malformed first line", path);
		r = ERR_FORMAT;
		goto out;
	}
	sodium_memzero(pw + i, PASSWORD_FILE_MAX + 1 - i);
	*out = pw;
	pw = NULL;
	r = 0;
 out:
	if (fd != -1)
		close(fd);
	if (pw != NULL)
		sodium_free(pw);	/* wipes */
	return r;
}

/*
 * Builds keyword/value arrays from the config, replacing or adding
 * user, password and application_name, and dropping passfile when a
 * password is given. Arrays hold borrowed pointers.
 */
#define CONN_MAX_PARAMS	32
/*
 * libpq parameters from [database]; on the standby, host, hostaddr, port
 * and target_session_attrs are replaced by [database] standby_host and
 * standby_port and, for DB_AT_STANDBY, "standby" (libpq then refuses a
 * server that is not in recovery).
 */
static void
conn_params_at(const struct config *cfg, enum db_at at, const char *user,
    const char *password, const char *appname, const char **kw,
    const char **val)
{
	static const char *const moved[] = { "host", "hostaddr", "port",
	    "target_session_attrs" };
	const char *const *ck = config_db_keywords(cfg);
	const char *const *cv = config_db_values(cfg);
	int standby = at != DB_AT_PRIMARY;
	size_t i, k, n = 0;

	for (i = 0; ck[i] != NULL && n < CONN_MAX_PARAMS - 8; i++) {
		if (user != NULL && strcmp(ck[i], "user") == 0)
			continue;
		if (password != NULL && strcmp(ck[i], "passfile") == 0)
			continue;
		for (k = 0; standby && k < sizeof(moved) / sizeof(moved[0]);
		    k++)
			if (strcmp(ck[i], moved[k]) == 0)
				break;
		if (standby && k < sizeof(moved) / sizeof(moved[0]))
			continue;
		kw[n] = ck[i];
		val[n] = cv[i];
		n++;
	}
	if (standby) {
		kw[n] = "host";
		val[n++] = config_db_standby_host(cfg);
		if (config_db_standby_port(cfg) != NULL) {
			kw[n] = "port";
			val[n++] = config_db_standby_port(cfg);
		}
		kw[n] = "target_session_attrs";
		val[n++] = at == DB_AT_STANDBY ? "standby" : "any";
	}
	if (user != NULL) {
		kw[n] = "user";
		val[n++] = user;
	}
	if (password != NULL) {
		kw[n] = "password";
		val[n++] = password;
	}
	kw[n] = "application_name";
	val[n++] = appname;
	kw[n] = val[n] = NULL;
}

/* The connection itself; pwfile (or NULL) holds the password. */
static int
connect_with(const struct config *cfg, enum db_at at, const char *user,
    const char *pwfile, PGconn **out, char *err, size_t errlen)
{
	const char *kw[CONN_MAX_PARAMS], *val[CONN_MAX_PARAMS];
	char *pw = NULL;
	PGconn *conn = NULL;
	int r = ERR_INTERNAL;

	*out = NULL;
	err_set(err, errlen, "%s", "");
	if (pwfile != NULL &&
	    (r = read_password_file(pwfile, &pw, err, errlen)) != 0)
		goto out;
	conn_params_at(cfg, at, user, pw, "tenant-export", kw, val);
	conn = PQconnectdbParams(kw, val, 0);
	if (pw != NULL) {
		sodium_free(pw);	/* libpq keeps its own copy */
		pw = NULL;
	}
	if (conn == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		set_pq_err(err, errlen, at != DB_AT_PRIMARY ? "connect to the "
		    "standby "
		    "([database] standby_host)" : "connect",
		    PQerrorMessage(conn));
		r = ERR_DB;
		goto out;
	}
	PQsetNoticeProcessor(conn, notice_ignore, NULL);
	*out = conn;
	conn = NULL;
	r = 0;
 out:
	if (pw != NULL)
		sodium_free(pw);
	if (conn != NULL)
		PQfinish(conn);
	return r;
}

int
db_connect(const struct config *cfg, const char *user, PGconn **out,
    char *err, size_t errlen)
{
	return connect_with(cfg, DB_AT_PRIMARY, user, user == NULL ?
	    config_db_password_file(cfg) : NULL, out, err, errlen);
}

int
db_connect_as(const struct config *cfg, const char *user,
    const char *password_file, PGconn **out, char *err, size_t errlen)
{
	if (user == NULL) {
		err_set(err, errlen, "no login role given");
		return ERR_INVALID;
	}
	return connect_with(cfg, DB_AT_PRIMARY, user, password_file, out, err,
	    errlen);
}

/* 'text' with single quotes doubled; a name with a backslash is written
 * E'...' with the backslash doubled, which reads the same whether
 * standard_conforming_strings is on or off. */
static int
put_literal(struct buf *b, const char *s)
{
	int r, e = strchr(s, '\\') != NULL;

	if ((e && (r = buf_put_u8(b, 'E')) != 0) ||
	    (r = buf_put_u8(b, '\'')) != 0)
		return r;
	for (; *s != '\0'; s++) {
		if ((*s == '\'' || (e && *s == '\\')) &&
		    (r = buf_put_u8(b, (uint8_t)*s)) != 0)
			return r;
		if ((r = buf_put_u8(b, (uint8_t)*s)) != 0)
			return r;
	}
	return buf_put_u8(b, '\'');
}

static int
put_name_array(struct buf *b, char *const *v, size_t n)
{
	size_t i;
	int r;

	if (n == 0)
		return buf_put_str(b, "'{}'::name[]");
	if ((r = buf_put_str(b, "ARRAY[")) != 0)
		return r;
	for (i = 0; i < n; i++) {
		if ((i > 0 && (r = buf_put_str(b, ", ")) != 0) ||
		    (r = put_literal(b, v[i])) != 0)
			return r;
	}
	return buf_put_str(b, "]::name[]");
}

int
db_setup_script(const struct config *cfg, char **out)
{
	const struct config_table *t, *u;
	const char *monitor = config_db_param(cfg, "user");
	struct buf *b = NULL;
	size_t i, j, n = config_table_count(cfg);
	char *s = NULL;
	int r = ERR_INTERNAL, dup;

	*out = NULL;
	if (monitor == NULL) {
		r = ERR_CONFIG;	/* the monitor's role gets the grants */
		goto out;
	}
	if ((b = buf_new(SCRIPT_MAX)) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if ((r = buf_put_str(b, "-- tenant-export db-setup: generated from "
	    "the config; safe to run twice.\nBEGIN;\n\n")) != 0 ||
	    (r = buf_put_str(b, texp_sql_tenant_scope)) != 0 ||
	    (r = buf_put_str(b, "\n-- Generated from the config.\n"
	    "SELECT texp_guard.setup_database();\n"
	    "SELECT texp_guard.setup_monitor(")) != 0 ||
	    (r = put_literal(b, monitor)) != 0 ||
	    (r = buf_put_str(b, ");\n")) != 0)
		goto out;
	/* Each schema once, in config order. */
	for (i = 0; i < n; i++) {
		t = config_table_at(cfg, i);
		for (dup = 0, j = 0; j < i && !dup; j++) {
			u = config_table_at(cfg, j);
			dup = strcmp(u->schema, t->schema) == 0;
		}
		if (dup)
			continue;
		if ((r = buf_put_str(b, "SELECT texp_guard.setup_schema(")) != 0 ||
		    (r = put_literal(b, t->schema)) != 0 ||
		    (r = buf_put_str(b, ");\n")) != 0)
			goto out;
	}
	for (i = 0; i < n; i++) {
		t = config_table_at(cfg, i);
		switch (t->cls) {
		case CONFIG_CLASS_TENANT:
			r = buf_put_str(b, "SELECT texp_guard.setup_tenant_table(");
			break;
		case CONFIG_CLASS_GLOBAL:
			r = buf_put_str(b, "SELECT texp_guard.setup_global_table(");
			break;
		case CONFIG_CLASS_EXCLUDED:
			r = buf_put_str(b, "SELECT texp_guard.setup_excluded_table(");
			break;
		default:
			r = ERR_INTERNAL;
		}
		if (r != 0 || (r = put_literal(b, t->schema)) != 0 ||
		    (r = buf_put_str(b, ", ")) != 0 ||
		    (r = put_literal(b, t->name)) != 0)
			goto out;
		if (t->cls == CONFIG_CLASS_TENANT &&
		    ((r = buf_put_str(b, ", ")) != 0 ||
		    (r = put_literal(b, t->tenant_key)) != 0))
			goto out;
		if (t->cls != CONFIG_CLASS_EXCLUDED &&
		    ((r = buf_put_str(b, ", ")) != 0 ||
		    (r = put_name_array(b, t->exclude, t->nexclude)) != 0))
			goto out;
		if (t->cls == CONFIG_CLASS_TENANT && ((r = buf_put_str(b,
		    ", ")) != 0 || (r = t->date_column != NULL ?
		    put_literal(b, t->date_column) : buf_put_str(b, "NULL")) != 0))
			goto out;
		if ((r = buf_put_str(b, ");\n")) != 0)
			goto out;
	}
	if ((r = buf_put_str(b, "SELECT texp_guard.setup_leaktest();\n"
	    "\nCOMMIT;\n")) != 0)
		goto out;
	if ((r = buf_dup_str(b, &s)) != 0)
		goto out;
	*out = s;
	r = 0;
 out:
	buf_free(b);
	return r;
}

/* The whole script is one transaction, so a deadlock (with autovacuum
 * analysing a table the script alters, say) or a serialization failure
 * left nothing applied: it is run again, up to this many times in all. */
#define SCRIPT_TRIES	5

int
db_exec_script(PGconn *conn, const char *sql, int *retried, char *err,
    size_t errlen)
{
	PGresult *res = NULL;
	const char *state;
	int r = ERR_INTERNAL, tries = 0, again;

	*retried = 0;
	for (;;) {
		err_set(err, errlen, "%s", "");
		res = PQexec(conn, sql);
		if (PQresultStatus(res) == PGRES_COMMAND_OK ||
		    PQresultStatus(res) == PGRES_TUPLES_OK)
			break;
		set_res_err(err, errlen, "db-setup", res, conn);
		state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
		again = state != NULL && (strcmp(state, "40P01") == 0 ||
		    strcmp(state, "40001") == 0) && ++tries < SCRIPT_TRIES;
		/* A failed multi-statement string can leave an aborted
		 * transaction block open; end it. */
		PQclear(res);
		res = PQexec(conn, "ROLLBACK");
		if (!again) {
			r = ERR_DB;
			goto out;
		}
		PQclear(res);
		*retried = tries;
	}
	r = 0;
 out:
	PQclear(res);
	return r;
}

/* Runs a one-row, one-column query with text parameters. *out (optional)
 * gets a malloc'd copy of the value, or NULL for SQL NULL. */
static int
query_value(PGconn *conn, const char *what, const char *sql, int nparams,
    const char *const *params, char **out, char *err, size_t errlen)
{
	PGresult *res;
	int r = ERR_INTERNAL;

	if (out != NULL)
		*out = NULL;
	res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		set_res_err(err, errlen, what, res, conn);
		r = ERR_DB;
		goto out;
	}
	if (PQntuples(res) != 1 || PQnfields(res) != 1) {
		err_set(err, errlen, "%s: expected one value", what);
		r = ERR_DB;
		goto out;
	}
	if (out != NULL && !PQgetisnull(res, 0, 0) &&
	    (*out = strdup(PQgetvalue(res, 0, 0))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	r = 0;
 out:
	PQclear(res);
	return r;
}

static int
drop_role(PGconn *monitor, const char *role, char *err, size_t errlen)
{
	const char *p[1] = { role };

	return query_value(monitor, "drop export role",
	    "SELECT texp_guard.export_role_drop($1)", 1, p, NULL, err,
	    errlen);
}

int
db_export_role_create(PGconn *monitor, const uint8_t job_hash[32],
    char role[DB_ROLE_NAME_MAX], char **password, char *err, size_t errlen)
{
	const char *p[3];
	char job[2 + 64 + 1];
	unsigned char rnd[PASSWORD_RAND_BYTES];
	char *pw = NULL, *verifier = NULL;
	size_t pwlen = sodium_base64_ENCODED_LEN(PASSWORD_RAND_BYTES,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	int r = ERR_INTERNAL;

	*password = NULL;
	role[0] = '\0';
	err_set(err, errlen, "%s", "");
	if (job_hash == NULL)
		return ERR_INVALID;
	job[0] = '\\';
	job[1] = 'x';
	sodium_bin2hex(job + 2, sizeof(job) - 2, job_hash, 32);
	if (sodium_init() < 0 || (pw = sodium_malloc(pwlen)) == NULL)
		return ERR_NOMEM;
	randombytes_buf(rnd, ROLE_RAND_BYTES);
	memcpy(role, "exp_", 4);
	sodium_bin2hex(role + 4, DB_ROLE_NAME_MAX - 4, rnd, ROLE_RAND_BYTES);
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2base64(pw, pwlen, rnd, sizeof(rnd),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(rnd, sizeof(rnd));

	/* The server only ever sees the SCRAM verifier (salted, iterated). */
	verifier = PQencryptPasswordConn(monitor, pw, role, "scram-sha-256");
	if (verifier == NULL) {
		set_pq_err(err, errlen, "encrypt password",
		    PQerrorMessage(monitor));
		r = ERR_DB;
		goto out;
	}
	p[0] = role;
	p[1] = verifier;
	p[2] = job;
	if ((r = query_value(monitor, "create export role",
	    "SELECT texp_guard.export_role_create($1, $2, $3::bytea)", 3, p,
	    NULL, err, errlen)) != 0)
		goto out;
	*password = pw;
	pw = NULL;
	r = 0;
 out:
	if (verifier != NULL) {
		sodium_memzero(verifier, strlen(verifier));
		PQfreemem(verifier);
	}
	if (pw != NULL)
		sodium_free(pw);
	if (r != 0)
		role[0] = '\0';
	return r;
}

int
db_export_role_drop(PGconn *monitor, const char *role, char *err,
    size_t errlen)
{
	return drop_role(monitor, role, err, errlen);
}

int
db_export_connect(const struct config *cfg, const char *role,
    const char *password, const char *tenant, struct db_export **out,
    char *err, size_t errlen)
{
	return db_export_connect_at(cfg, DB_AT_PRIMARY, role, password, tenant,
	    out, err, errlen);
}

int
db_export_connect_at(const struct config *cfg, enum db_at at, const char *role,
    const char *password, const char *tenant, struct db_export **out,
    char *err, size_t errlen)
{
	const char *kw[CONN_MAX_PARAMS], *val[CONN_MAX_PARAMS];
	struct db_export *e = NULL;
	char *v = NULL;
	int r = ERR_INTERNAL;
	PGresult *res = NULL;

	*out = NULL;
	err_set(err, errlen, "%s", "");
	if (strlen(role) >= sizeof(e->role))
		return ERR_INVALID;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return ERR_NOMEM;
	snprintf(e->role, sizeof(e->role), "%s", role);
	conn_params_at(cfg, at, e->role, password,
	    "tenant-export builder", kw, val);
	e->conn = PQconnectdbParams(kw, val, 0);
	if (e->conn == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	if (PQstatus(e->conn) != CONNECTION_OK) {
		set_pq_err(err, errlen, "connect as export role",
		    PQerrorMessage(e->conn));
		r = ERR_DB;
		goto out;
	}
	PQsetNoticeProcessor(e->conn, notice_ignore, NULL);
	/* Rows are decoded as UTF-8, whatever the server's default. */
	if (PQsetClientEncoding(e->conn, "UTF8") != 0) {
		set_pq_err(err, errlen, "client encoding",
		    PQerrorMessage(e->conn));
		r = ERR_DB;
		goto out;
	}
	/* Prove the scope before handing the session out. */
	if ((r = query_value(e->conn, "check export role",
	    "SELECT session_user::text FROM pg_catalog.pg_roles "
	    "WHERE rolname = session_user AND NOT rolsuper "
	    "AND NOT rolbypassrls", 0, NULL, &v, err, errlen)) != 0) {
		if (r == ERR_DB && PQstatus(e->conn) == CONNECTION_OK)
			r = ERR_POLICY;
		goto out;
	}
	if (v == NULL || strcmp(v, e->role) != 0) {
		err_set(err, errlen, "export session is not its own role");
		r = ERR_POLICY;
		goto out;
	}
	free(v);
	v = NULL;
	if ((r = query_value(e->conn, "check tenant scope",
	    "SELECT texp_guard.role_tenant()", 0, NULL, &v, err,
	    errlen)) != 0)
		goto out;
	if (v == NULL || strcmp(v, tenant) != 0) {
		err_set(err, errlen, "export session is not scoped to the "
		    "requested tenant");
		r = ERR_POLICY;
		goto out;
	}
	res = PQexec(e->conn,
	    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		set_res_err(err, errlen, "begin", res, e->conn);
		r = ERR_DB;
		goto out;
	}
	*out = e;
	e = NULL;
	r = 0;
 out:
	PQclear(res);
	free(v);
	if (e != NULL) {
		if (e->conn != NULL)
			PQfinish(e->conn);
		free(e);
	}
	return r;
}

int
db_export_open(PGconn *monitor, const struct config *cfg,
    const uint8_t job_hash[32], const char *tenant, struct db_export **out,
    char *err, size_t errlen)
{
	char role[DB_ROLE_NAME_MAX], *pw = NULL;
	int r;

	*out = NULL;
	if (tenant == NULL || *tenant == '\0' || strlen(tenant) > TENANT_MAX) {
		err_set(err, errlen, "tenant must be 1 to %d bytes",
		    TENANT_MAX);
		return ERR_INVALID;
	}
	if ((r = db_export_role_create(monitor, job_hash, role, &pw, err,
	    errlen)) != 0)
		return r;
	r = db_export_connect(cfg, role, pw, tenant, out, err, errlen);
	sodium_free(pw);
	/* Best effort; the error already set is the one to report. */
	if (r != 0)
		drop_role(monitor, role, NULL, 0);
	return r;
}

PGconn *
db_export_conn(const struct db_export *e)
{
	return e->conn;
}

const char *
db_export_role(const struct db_export *e)
{
	return e->role;
}

int
db_export_detach(struct db_export *e)
{
	int fd, nul;

	if (e == NULL || e->conn == NULL)
		return ERR_INVALID;
	/*
	 * Point the parent's descriptor at /dev/null, then PQfinish: its
	 * Terminate message (and any TLS close_notify) goes nowhere, so the
	 * child's session is untouched, and libpq's memory (which holds the
	 * password) is released. Should /dev/null be unavailable, close the
	 * descriptor and leak the struct rather than end the child's session.
	 */
	fd = PQsocket(e->conn);
	if (fd >= 0) {
		nul = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nul >= 0 && dup3(nul, fd, O_CLOEXEC) == fd) {
			close(nul);
			PQfinish(e->conn);
		} else {
			if (nul >= 0)
				close(nul);
			close(fd);
		}
	}
	e->conn = NULL;
	return 0;
}

int
db_export_close(struct db_export *e, PGconn *monitor, char *err,
    size_t errlen)
{
	int r;

	err_set(err, errlen, "%s", "");
	if (e == NULL)
		return 0;
	if (e->conn != NULL)
		PQfinish(e->conn);
	e->conn = NULL;
	r = drop_role(monitor, e->role, err, errlen);
	sodium_memzero(e->role, sizeof(e->role));
	free(e);
	return r;
}

void
db_export_free(struct db_export *e)
{
	if (e == NULL)
		return;
	if (e->conn != NULL)
		PQfinish(e->conn);
	sodium_memzero(e->role, sizeof(e->role));
	free(e);
}

int
db_export_sweep(PGconn *monitor, int *dropped, char *err, size_t errlen)
{
	char *v = NULL;
	int r;

	if (dropped != NULL)
		*dropped = 0;
	err_set(err, errlen, "%s", "");
	r = query_value(monitor, "sweep export roles",
	    "SELECT texp_guard.export_roles_sweep()", 0, NULL, &v, err,
	    errlen);
	if (r == 0 && dropped != NULL && v != NULL)
		*dropped = atoi(v);
	free(v);
	return r;
}

void
db_columns_free(struct db_columns *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		free(c->col[i].name);
		free(c->col[i].type_name);
	}
	free(c->col);
	free(c);
}

int
db_table_columns(PGconn *conn, const struct config_table *t,
    struct db_columns **out, char *err, size_t errlen)
{
	const char *p[2] = { t->schema, t->name };
	struct db_columns *c = NULL;
	struct db_column *col;
	PGresult *res = NULL;
	const char *name;
	int i, nrows, have_key = 0, r = ERR_INTERNAL;

	*out = NULL;
	err_set(err, errlen, "%s", "");
	res = PQexecParams(conn,
	    "SELECT a.attnum, a.attname, a.atttypid, a.atttypmod, "
	    "a.attnotnull, pg_catalog.format_type(a.atttypid, a.atttypmod), "
	    "pg_catalog.has_column_privilege(c.oid, a.attnum, 'SELECT') "
	    "FROM pg_catalog.pg_class c "
	    "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
	    "JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid "
	    "WHERE n.nspname = $1 AND c.relname = $2 "
	    "AND c.relkind IN ('r', 'p', 'f', 'v', 'm') "
	    "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
	    2, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		set_res_err(err, errlen, "list columns", res, conn);
		r = ERR_DB;
		goto out;
	}
	nrows = PQntuples(res);
	if (nrows == 0) {
		err_set(err, errlen, "table %s.%s does not exist", t->schema,
		    t->name);
		r = ERR_NOENT;
		goto out;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL ||
	    (c->col = calloc((size_t)nrows, sizeof(*c->col))) == NULL) {
		r = ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < nrows; i++) {
		name = PQgetvalue(res, i, 1);
		if (config_table_excludes(t, name))
			continue;
		col = &c->col[c->n];
		col->attnum = (int16_t)atoi(PQgetvalue(res, i, 0));
		col->type_oid = (uint32_t)strtoul(PQgetvalue(res, i, 2), NULL,
		    10);
		col->typmod = (int32_t)atol(PQgetvalue(res, i, 3));
		col->not_null = PQgetvalue(res, i, 4)[0] == 't';
		col->readable = PQgetvalue(res, i, 6)[0] == 't';
		col->is_tenant_key = t->tenant_key != NULL &&
		    strcmp(name, t->tenant_key) == 0;
		if ((col->name = strdup(name)) == NULL ||
		    (col->type_name = strdup(PQgetvalue(res, i, 5))) == NULL) {
			c->n++;
			r = ERR_NOMEM;
			goto out;
		}
		c->n++;
		if (col->is_tenant_key) {
			have_key = 1;
			if (!col->not_null) {
				err_set(err, errlen, "%s.%s: tenant column %s "
				    "is nullable", t->schema, t->name, name);
				r = ERR_POLICY;
				goto out;
			}
		}
		if (!col->readable) {
			err_set(err, errlen, "%s.%s: column %s is not readable; "
			    "exclude it or run db-setup again", t->schema,
			    t->name, name);
			r = ERR_POLICY;
			goto out;
		}
	}
	if (t->cls == CONFIG_CLASS_TENANT && !have_key) {
		err_set(err, errlen, "%s.%s: tenant column %s missing",
		    t->schema, t->name, t->tenant_key);
		r = ERR_POLICY;
		goto out;
	}
	*out = c;
	c = NULL;
	r = 0;
 out:
	PQclear(res);
	db_columns_free(c);
	return r;
}

int
db_system_identifier(PGconn *conn, char **out, char *err, size_t errlen)
{
	err_set(err, errlen, "%s", "");
	return query_value(conn, "system identifier",
	    "SELECT system_identifier::text FROM pg_catalog.pg_control_system()",
	    0, NULL, out, err, errlen);
}

int
db_standby_wait(PGconn *monitor, const struct config *cfg,
    const char *sysid, char *err, size_t errlen)
{
	uint64_t deadline = (uint64_t)time(NULL) + config_db_standby_wait(cfg);
	const char *p[1];
	char *lsn = NULL, *v = NULL;
	PGconn *sb = NULL;
	int r;

	err_set(err, errlen, "%s", "");
	/* everything this session committed (the role, its grant) is in
	 * the WAL before this position */
	if ((r = query_value(monitor, "WAL position",
	    "SELECT pg_catalog.pg_current_wal_lsn()::text", 0, NULL, &lsn,
	    err, errlen)) != 0)
		goto out;
	if ((r = connect_with(cfg, DB_AT_STANDBY_ANY, NULL,
	    config_db_password_file(cfg), &sb, err, errlen)) != 0)
		goto out;
	if ((r = query_value(sb, "recovery state",
	    "SELECT pg_catalog.pg_is_in_recovery()", 0, NULL, &v, err,
	    errlen)) != 0)
		goto out;
	if (v == NULL || strcmp(v, "t") != 0) {
		err_set(err, errlen, "[database] standby_host \"%s\" is not a "
		    "standby: the server there is not in recovery (a primary, "
		    "or a standby since promoted)",
		    config_db_standby_host(cfg));
		r = ERR_CONFIG;
		goto out;
	}
	free(v);
	v = NULL;
	if ((r = db_system_identifier(sb, &v, err, errlen)) != 0)
		goto out;
	if (strcmp(v, sysid) != 0) {
		err_set(err, errlen, "[database] standby_host \"%s\" is not a "
		    "standby of this database (its system identifier is %s, "
		    "this database's %s)", config_db_standby_host(cfg), v,
		    sysid);
		r = ERR_CONFIG;
		goto out;
	}
	p[0] = lsn;
	for (;;) {
		free(v);
		v = NULL;
		if ((r = query_value(sb, "standby replay position",
		    "SELECT pg_catalog.pg_last_wal_replay_lsn() >= $1::pg_lsn",
		    1, p, &v, err, errlen)) != 0)
			goto out;
		if (v != NULL && strcmp(v, "t") == 0)
			break;
		if ((uint64_t)time(NULL) >= deadline) {
			err_set(err, errlen, "the standby ([database] "
			    "standby_host \"%s\") has not replayed the "
			    "export's role within %llu s (standby_wait): it is "
			    "behind, or its replay is paused",
			    config_db_standby_host(cfg),
			    (unsigned long long)config_db_standby_wait(cfg));
			r = ERR_DB;
			goto out;
		}
		(void)poll(NULL, 0, 20);
	}
	r = 0;
 out:
	if (sb != NULL)
		PQfinish(sb);
	free(lsn);
	free(v);
	return r;
}

int
db_snapshot_current(PGconn *conn, char **out, char *err, size_t errlen)
{
	err_set(err, errlen, "%s", "");
	/* The snapshot and the time it was taken (the transaction's start,
	 * in UTC): together they say exactly which rows were read. */
	return query_value(conn, "current snapshot",
	    "SELECT pg_catalog.pg_current_snapshot()::text || ' at=' || "
	    "pg_catalog.to_char(pg_catalog.now() AT TIME ZONE 'UTC', "
	    "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')", 0, NULL, out, err,
	    errlen);
}

int
db_snapshot_export(PGconn *conn, char **out, char *err, size_t errlen)
{
	err_set(err, errlen, "%s", "");
	return query_value(conn, "export snapshot",
	    "SELECT pg_catalog.pg_export_snapshot()", 0, NULL, out, err,
	    errlen);
}
