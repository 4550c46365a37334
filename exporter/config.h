/*
 * config.h: the exporter's configuration file (INI, parsed with inih).
 *
 *   [database]        libpq connection of the monitor (no password here)
 *   [export]          defaults and output: tenant_key, signing key, ...
 *   [control]         access rules around jobs, limits on the queue
 *   [service]         the service's socket, pinned keys and state
 *   [notify]          a command told about jobs people wait for
 *   [leaktest]        the auditor's leak test: staging, canary writer
 *   [table S.T]       one section per table: class = tenant|global|excluded
 *   [files]           where a tenant's uploaded files live (optional)
 *
 *   [alerts]          thresholds of `tenant-export alerts` (docs/OPERATIONS.md)
 *
 * The full key list is in docs/DATABASE.md and examples/agency.conf. Unknown
 * sections and keys, duplicate keys, and a "password" key are rejected: the
 * password comes from password_file, passfile (pgpass format) or libpq's
 * PGPASSFILE / PGSERVICEFILE, never from the config text or argv.
 *
 * Loading only checks the file itself. Whether the live database matches it
 * (every table classified, tenant columns NOT NULL, secret-looking columns
 * excluded or allowed) is lint's job (lint.h), so that the same checks run
 * before every export.
 */
#ifndef TEXP_CONFIG_H
#define TEXP_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "ident.h"

/* Limits that keep a hostile or mistaken file from growing memory. */
#define CONFIG_MAX_FILE		(1024 * 1024)	/* bytes */
#define CONFIG_MAX_LINE		190		/* bytes per line, below inih's 200 */
#define CONFIG_MAX_TABLES	4096
#define CONFIG_MAX_LIST		1024		/* columns or recipients per list */
#define CONFIG_MAX_IDENT	63		/* PostgreSQL NAMEDATALEN - 1 */

enum config_class {
	CONFIG_CLASS_TENANT = 1,	/* rows belong to one tenant; exported scoped */
	CONFIG_CLASS_GLOBAL = 2,	/* reference data; exported only when asked */
	CONFIG_CLASS_EXCLUDED = 3,	/* never exported, never readable */
};

/* One [table schema.name] section. Read-only for callers; owned by the
 * struct config it came from. Names are as the catalog stores them
 * (written in the file by PostgreSQL's rules, ident.h). */
struct config_table {
	char *schema;
	char *name;
	enum config_class cls;
	char *tenant_key;	/* tenant tables: effective column; else NULL */
	char *date_column;	/* optional column for date windows, or NULL */
	int pii;		/* 1 if the table holds personal data */
	char **exclude;		/* columns never exported */
	size_t nexclude;
	char **allow;		/* secret-looking columns explicitly allowed */
	size_t nallow;
};

/* The [export] section. Read-only for callers. Paths are as written. */
struct config_export {
	char *tenant_key;	/* default tenant column ("tenant_id") */
	char *signing_key;	/* minisign secret key file */
	char *signing_passphrase_file;	/* its passphrase, if encrypted */
	char *outbox;		/* directory for finished archives */
	uint64_t part_size;	/* size ceiling per part, bytes */
	uint64_t expiry;	/* archive lifetime, seconds */
	int allow_empty;	/* 1: a tenant with no rows is not an error */
	/* Limits on the children of one export (docs/DATABASE.md). */
	uint64_t cpu_limit;	/* CPU seconds per child, RLIMIT_CPU (1h) */
	uint64_t stall_timeout;	/* seconds a child may go without progress
				 * before it is killed (5m) */
	uint64_t time_limit;	/* wall-clock seconds per export attempt (6h) */
	uint64_t max_archive_size; /* bytes per archive, all parts (64G) */
	/* The database's share (docs/OPERATIONS.md, "Database impact"):
	 * 0 turns each off. */
	uint64_t max_rows_per_second;	/* rows read per second */
	uint64_t max_bytes_per_second;	/* bytes of rows read per second */
	uint64_t load_max_active;	/* wait while more sessions of the
					 * database are active */
	uint64_t load_max_lag;		/* wait while a standby replays more
					 * than this many seconds behind */
};

/* The [control] section (access rules around `run`; docs/CONTROL.md).
 * Read-only for callers; defaults apply when a key is absent. */
struct config_control {
	uint64_t max_request_age;	/* seconds a signed action is fresh (300) */
	uint64_t max_downloads;		/* fetches allowed per archive (3) */
	uint64_t max_attempts;		/* runs of one job (transient faults) (3) */
	int high_risk_pii;		/* tables marked pii need confirmation
					 * and approval (yes) */
	int high_risk_whole_tenant;	/* a request without --tables does (yes) */
	char **high_risk_tables;	/* "schema.table" that always do */
	size_t nhigh_risk_tables;
	uint64_t high_risk_rows;	/* an unapproved export over this many
					 * records is held for approval
					 * (1000000; 0 = no limit) */
	/* The queue (docs/CONTROL.md, "Limits"); 0 = no limit. */
	uint64_t max_running;		/* jobs running at once, all tenants (4) */
	uint64_t max_running_per_tenant;	/* ... of one tenant (1) */
	uint64_t max_requests_per_principal;	/* requests per window (600) */
	uint64_t max_requests_per_tenant;	/* requests per window (60) */
	uint64_t request_window;	/* seconds (1h) */
	uint64_t lease_timeout;		/* a running job whose holder was not
					 * heard of for this long is taken
					 * back (60 s) */
	uint64_t retry_backoff;		/* seconds before a transient fault's
					 * first retry, doubled each attempt
					 * (30 s) */
};

/* The [service] section: what `tenant-export serve` and every command
 * run with --config need to act for principals (docs/CONTROL.md). */
struct config_service {
	char *socket;		/* unix socket path, or NULL (default) */
	char *root_key;		/* the root admin's minisign public key */
	char *service_key;	/* the service's own minisign secret key,
				 * which signs every row of the log */
	char *state_dir;	/* the pinned log head lives here, or NULL */
};

/* The [notify] section: a command run for every job state a person
 * waits for (docs/OPERATIONS.md, "Notifications"). */
struct config_notify {
	char *command;		/* absolute path, or NULL: none */
	uint64_t timeout;	/* seconds before it is killed (10) */
};

/* The [leaktest] section (docs/AUDIT.md). Read-only for callers. */
struct config_leaktest {
	int staging;		/* this database is a staging copy: the leak
				 * test may plant canary rows (no) */
	char *canary_user;	/* the login that writes them, or NULL */
	char *canary_password_file;	/* its password, or NULL (libpq's
				 * own lookup) */
	uint64_t statement_timeout;	/* seconds per statement of the
				 * session battery (60) */
};

/* The [alerts] section: the rules of `tenant-export alerts`
 * (docs/OPERATIONS.md). Read-only for callers; defaults apply when a key is
 * absent. Durations are seconds; 0 turns the rule off where noted. */
struct config_alerts {
	uint64_t burst_exports;		/* more than this many export requests
					 * by one principal, or of one tenant,
					 * within burst_window (10; 0 off) */
	uint64_t burst_window;		/* (1h) */
	uint64_t failures;		/* more than this many refusals or
					 * failures per principal or tenant
					 * within failures_window (5; 0 off) */
	uint64_t failures_window;	/* (1h) */
	uint64_t unusual_after;		/* a principal that has exported before
					 * exports a tenant it has not exported
					 * for this long, or never (90d; 0 off) */
	int downloads_left;		/* a download that leaves at most this
					 * many of [control] max_downloads
					 * (1; -1 off) */
	int after_hours;		/* downloads outside business hours
					 * (yes) */
	unsigned day_start, day_end;	/* business hours, minutes after
					 * midnight, [start, end) (08:00-19:00) */
	unsigned business_days;		/* bit (1 << ISO weekday), 1 = Monday
					 * (mon-fri) */
	char *timezone;			/* of business hours, a PostgreSQL time
					 * zone name ("UTC") */
	uint64_t held_after;		/* a job awaiting approval for longer
					 * (24h; 0 off) */
};

/* The [files] section: uploaded files read beside the rows when an export
 * asks for them (docs/DATABASE.md, "Files"). Each tenant's files live in
 * the directory root/<tenant key as text>/; the tenant table `table` has
 * one row per file, whose path_column holds the file's path relative to
 * that directory, and size_column (optional) the size the application
 * recorded. Read-only for callers. */
struct config_files {
	char *root;		/* absolute directory, as written */
	char *schema;		/* the table listing the files */
	char *table;
	char *path_column;
	char *size_column;	/* or NULL */
};

struct config;

/*
 * Reads and parses the file at path (opened with O_NOFOLLOW, at most
 * CONFIG_MAX_FILE bytes, no NUL bytes, lines of at most CONFIG_MAX_LINE).
 * Relative paths in the file (keys, passphrase and password files, the
 * outbox, the state directory, the socket, libpq's passfile and TLS
 * files) are taken relative to the file's own directory, not the
 * working directory; config_parse, which has no file, keeps them as
 * written.
 * On success returns 0 and sets *out (caller frees with config_free).
 * On failure returns ERR_CONFIG (or ERR_IO/ERR_LIMIT/ERR_NOMEM), sets *out
 * to NULL and writes a one-line reason naming the line and key into err
 * (errlen bytes, always NUL-terminated when errlen > 0).
 */
int config_load(const char *path, struct config **out, char *err,
    size_t errlen);
/* Same, for a buffer of len bytes (the same limits apply). */
int config_parse(const char *text, size_t len, struct config **out,
    char *err, size_t errlen);
/* Frees cfg. Accepts NULL. */
void config_free(struct config *cfg);

/* Tables in file order. config_table_at returns NULL past the end. */
size_t config_table_count(const struct config *cfg);
const struct config_table *config_table_at(const struct config *cfg,
    size_t i);
/* The section for schema.name (exact, case-sensitive), or NULL. */
const struct config_table *config_table_find(const struct config *cfg,
    const char *schema, const char *name);
/* The table's canonical qualified name (ident.h: crm."Order Items"), as
 * job scopes, the archive and messages write it, into out (at least
 * IDENT_QNAME_MAX bytes). 0 or ERR_LIMIT. */
int config_table_qname(const struct config_table *t, char *out,
    size_t outlen);
/* 1 if the table's exclude (resp. allow) list names col, else 0. */
int config_table_excludes(const struct config_table *t, const char *col);
int config_table_allows(const struct config_table *t, const char *col);

/* The [export] section (never NULL for a loaded config). */
const struct config_export *config_export(const struct config *cfg);
/* The [control] section (never NULL for a loaded config). */
const struct config_control *config_control(const struct config *cfg);
/* The [service] section (never NULL for a loaded config). */
const struct config_service *config_service(const struct config *cfg);
/* The [notify] section (never NULL for a loaded config). */
const struct config_notify *config_notify(const struct config *cfg);
/* The [leaktest] section (never NULL for a loaded config). */
const struct config_leaktest *config_leaktest(const struct config *cfg);
/* ERR_CONFIG (reason in err) unless root_key and service_key are set. */
int config_check_service(const struct config *cfg, char *err, size_t errlen);
/* The [files] section, or NULL when the file has none. */
const struct config_files *config_files(const struct config *cfg);
/* The [alerts] section (never NULL for a loaded config). */
const struct config_alerts *config_alerts(const struct config *cfg);
/*
 * Checks what `run` needs beyond what db-setup and lint need: a signing
 * key and an outbox. Returns 0
 * or ERR_CONFIG with a reason in err.
 */
int config_check_export(const struct config *cfg, char *err, size_t errlen);

/*
 * [database]: libpq keywords accepted in the file, in a fixed order. The
 * arrays returned are NULL-terminated and owned by cfg; only keywords that
 * were set appear. "password_file" is not a libpq keyword and is not in
 * them: see config_db_password_file.
 */
const char *const *config_db_keywords(const struct config *cfg);
const char *const *config_db_values(const struct config *cfg);
/* The value of one [database] keyword, or NULL when unset. */
const char *config_db_param(const struct config *cfg, const char *keyword);
/*
 * [database] standby_host, standby_port: a hot standby of this database
 * that export sessions read from (docs/OPERATIONS.md, "Exporting from a
 * standby"), or NULL (they read here); the port NULL for libpq's default.
 * standby_wait: seconds to wait for it to replay the export's role (30).
 */
const char *config_db_standby_host(const struct config *cfg);
const char *config_db_standby_port(const struct config *cfg);
uint64_t config_db_standby_wait(const struct config *cfg);
/* Path of a file holding only the monitor's password, or NULL. */
const char *config_db_password_file(const struct config *cfg);

/*
 * 1 if a column name looks like it holds a secret (password, token,
 * secret, api_key, session, cookie, reset, webhook, private_key, otp, ...),
 * compared case-insensitively; else 0. Such a column must be excluded or
 * explicitly allowed before a table can be exported.
 */
int config_column_looks_secret(const char *col);

/* The text of a class ("tenant", "global", "excluded"). */
const char *config_class_str(enum config_class cls);

#endif
