/*
 * db.h: the exporter's PostgreSQL side.
 *
 * Three connections matter (docs/DATABASE.md has the whole picture):
 *
 *  - the monitor's own login ([database] user): calls the provisioning
 *    functions texp_guard.export_role_create/_drop and reads catalogs;
 *  - an administrator (superuser or table owner) that runs db-setup once;
 *  - one per-export login role exp_<32 hex> per job, member of the
 *    texp_export group, whose tenant is looked up from session_user by
 *    texp_guard.role_tenant(). Nothing the session sends can change it.
 *
 * The scoped connection is what the builder gets. Its life cycle, as `run`
 * uses it:
 *
 *	db_connect(cfg, NULL, &mon, err, sizeof(err));
 *	db_export_open(mon, cfg, job_hash, tenant, &ex, err, sizeof(err));
 *	... fork: the child uses db_export_conn(ex) ...
 *	db_export_detach(ex);			(parent, right after fork)
 *	... reap the child ...
 *	db_export_close(ex, mon, err, sizeof(err));	(drops the role)
 *
 * Functions return 0 or a negative enum err code. err/errlen, where
 * present, receive a one-line reason (libpq's message at most; never a
 * password); err is always NUL-terminated when errlen > 0.
 */
#ifndef TEXP_DB_H
#define TEXP_DB_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

struct config;
struct config_table;

/* Names fixed by sql/tenant_scope.sql. */
#define DB_EXPORT_GROUP		"texp_export"
#define DB_GUARD_ROLE		"texp_guard"
#define DB_PROVISION_ROLE	"texp_provisioner"
#define DB_GUARD_SCHEMA		"texp_guard"
#define DB_POLICY_NAME		"texp_export_scope"
/* Lifetime of an export role and its grant (enforced in SQL as well). */
#define DB_EXPORT_TTL_SECONDS	3600

/*
 * Connects with the [database] settings. user, when not NULL, replaces
 * the configured user (db-setup and lint may run as an administrator); the
 * password_file is then not used and libpq finds a password by itself
 * (PGPASSFILE, service file, peer or certificate authentication). A
 * password_file must be a regular file not readable by group or others; it
 * is read into sodium memory, handed to libpq and wiped.
 * On success *out is an open connection the caller PQfinish()es.
 */
int db_connect(const struct config *cfg, const char *user, PGconn **out,
    char *err, size_t errlen);
/*
 * The same settings as another login role: user, with the password in
 * password_file (the same rules as [database] password_file), or, when
 * it is NULL, found by libpq. The leak test's canary writer logs in so.
 */
int db_connect_as(const struct config *cfg, const char *user,
    const char *password_file, PGconn **out, char *err, size_t errlen);

/*
 * Builds the db-setup script: BEGIN, the embedded sql/tenant_scope.sql,
 * the per-config statements (monitor grants, schemas, one call per table),
 * COMMIT. Safe to run twice. *out is a malloc'd NUL-terminated string the
 * caller frees. Needs no database.
 */
int db_setup_script(const struct config *cfg, char **out);
/* The embedded sql/tenant_scope.sql (static storage, NUL-terminated). */
const char *db_setup_static_sql(void);
/*
 * Runs a multi-statement script on conn in one round trip. The script is
 * one transaction (BEGIN ... COMMIT): when the server rolls it back for a
 * deadlock or a serialization failure with another session, it is run
 * again, up to five times in all; *retried says how many runs were rolled
 * back so. Returns 0, or ERR_DB with the server's message and hint in
 * err.
 */
int db_exec_script(PGconn *conn, const char *sql, int *retried, char *err,
    size_t errlen);

/* One per-export scoped session. Opaque. */
struct db_export;

/*
 * Creates the export role for the running job job_hash (through the
 * provisioning function, on the monitor connection: the database takes
 * the tenant, tables, columns and date window from the job's record and
 * grants the role exactly those), with a fresh random password sent only
 * as a SCRAM verifier; connects as it (password passed to PQconnectdbParams,
 * never argv or the environment); checks that session_user is the new role,
 * that it is neither superuser nor BYPASSRLS, and that
 * texp_guard.role_tenant() returns exactly tenant (the job's); then runs
 * BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY.
 * On success *out holds the open connection; free it with db_export_close.
 * On failure the role (if created) is dropped again and *out is NULL.
 * ERR_INVALID for an empty or over-long tenant, ERR_DB on database errors,
 * ERR_POLICY when the scope check fails.
 */
int db_export_open(PGconn *monitor, const struct config *cfg,
    const uint8_t job_hash[32], const char *tenant, struct db_export **out,
    char *err, size_t errlen);
/*
 * The same in two steps, so that the monitor's own login and the export
 * session can live in different processes (export.c keeps the monitor's
 * password out of the process that forks the builder):
 * db_export_role_create, on the monitor connection, makes the role and its
 * grant and returns its name and a fresh random password (sodium_malloc'd;
 * the caller sodium_free()s it); db_export_connect logs in as it, checks
 * the scope and begins the read-only transaction; db_export_role_drop
 * drops the role and its grant.
 */
#define DB_ROLE_NAME_MAX	(4 + 32 + 1)
int db_export_role_create(PGconn *monitor, const uint8_t job_hash[32],
    char role[DB_ROLE_NAME_MAX], char **password, char *err, size_t errlen);
int db_export_connect(const struct config *cfg, const char *role,
    const char *password, const char *tenant, struct db_export **out,
    char *err, size_t errlen);
/*
 * Where a session goes: the [database] server, or the standby ([database]
 * standby_host, standby_port), which libpq must find in recovery, or (for
 * db_standby_wait, which says why itself) whatever answers there.
 */
enum db_at { DB_AT_PRIMARY, DB_AT_STANDBY, DB_AT_STANDBY_ANY };
/* db_export_connect at one of them (on the standby: db_standby_wait
 * first). */
int db_export_connect_at(const struct config *cfg, enum db_at at,
    const char *role, const char *password, const char *tenant,
    struct db_export **out, char *err, size_t errlen);
int db_export_role_drop(PGconn *monitor, const char *role, char *err,
    size_t errlen);
/*
 * With [database] standby_host set: logs in there as the monitor, checks
 * that it is a standby (libpq's target_session_attrs) of this database
 * (its system identifier equals sysid, the monitor's database's) and waits
 * until it has replayed everything committed on monitor so far (the
 * export's role and grant), at most standby_wait seconds. 0; ERR_CONFIG
 * when it is another database's; ERR_DB when it cannot be reached or does
 * not catch up in time (worth another attempt), reason in err.
 */
int db_standby_wait(PGconn *monitor, const struct config *cfg,
    const char *sysid, char *err, size_t errlen);
/* Ends a session opened by db_export_connect (PQfinish, if still
 * attached) and frees e, without dropping the role. Accepts NULL. */
void db_export_free(struct db_export *e);

/* The scoped connection, owned by e (NULL after db_export_detach). */
PGconn *db_export_conn(const struct db_export *e);
/* The export role's name, owned by e. */
const char *db_export_role(const struct db_export *e);
/*
 * For the parent after fork(): the child owns the session now. Frees the
 * parent's copy of the connection without sending anything to the server
 * (the descriptor is first pointed at /dev/null, so PQfinish's goodbye goes
 * nowhere), so the session ends when the child exits. After this,
 * db_export_conn returns NULL. Returns 0, or ERR_INVALID if already
 * detached.
 */
int db_export_detach(struct db_export *e);
/*
 * Ends the scoped session if still attached (PQfinish), then drops the
 * export role and deletes its grant through the monitor connection, and
 * frees e. Call it after the child has exited. Returns 0, or ERR_DB if the
 * role could not be dropped (it still expires after DB_EXPORT_TTL_SECONDS
 * and texp_guard.export_roles_sweep() removes it). Accepts NULL.
 */
int db_export_close(struct db_export *e, PGconn *monitor, char *err,
    size_t errlen);
/*
 * Drops every export role whose grant has expired, and export roles
 * without a grant (left by a killed monitor). *dropped (optional) gets the
 * count.
 */
int db_export_sweep(PGconn *monitor, int *dropped, char *err,
    size_t errlen);

/* A column of a configured table, in attnum order. Read-only. */
struct db_column {
	char *name;
	char *type_name;	/* format_type(), e.g. "numeric(12,2)" */
	uint32_t type_oid;
	int32_t typmod;
	int16_t attnum;
	int not_null;
	int readable;		/* current_user may SELECT it */
	int is_tenant_key;	/* the table's tenant column */
};
struct db_columns {
	struct db_column *col;
	size_t n;
};

/*
 * Lists the columns of table t that the export would read: every live
 * column except those in t's exclude_columns. Works on the scoped or the
 * monitor connection (readable is about that connection's user). ERR_NOENT
 * if the table does not exist; ERR_POLICY if a tenant table lacks its
 * tenant column or a column is not readable. *out is freed with
 * db_columns_free.
 */
int db_table_columns(PGconn *conn, const struct config_table *t,
    struct db_columns **out, char *err, size_t errlen);
/* Accepts NULL. */
void db_columns_free(struct db_columns *c);

/*
 * Snapshot identity for the manifest. db_system_identifier reads
 * pg_control_system().system_identifier (executable by PUBLIC on PG15; the
 * monitor connection is fine) as decimal text. db_snapshot_current returns
 * pg_current_snapshot()::text and the transaction's start time in UTC,
 * "xmin:xmax:xip,... at=YYYY-MM-DDTHH:MM:SS.ffffffZ", in the scoped
 * transaction. db_snapshot_export returns pg_export_snapshot() for
 * parallel parts. *out is malloc'd; the caller frees it.
 */
int db_system_identifier(PGconn *conn, char **out, char *err, size_t errlen);
int db_snapshot_current(PGconn *conn, char **out, char *err, size_t errlen);
int db_snapshot_export(PGconn *conn, char **out, char *err, size_t errlen);

#endif
