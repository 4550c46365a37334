/*
 * lint.h: checks a live database against the config and the tenant-scope
 * rules of docs/DATABASE.md. `tenant-export lint` prints the findings;
 * `run` calls lint_run and refuses to start on any finding.
 *
 * Each finding names a check (a stable identifier such as "rls_not_forced",
 * listed in docs/DATABASE.md), the object (schema.table, schema.table.column
 * in the written form of ident.h, a role or a function), what is wrong,
 * and the fix. Table names in fixes that go into the config are written
 * so that the line can be pasted as it is.
 *
 * A finding is blocking (the default) or information for the DBA: a
 * hazard the export group cannot reach (a view over every tenant's rows
 * that the group cannot read, a login role with BYPASSRLS, ...). Only
 * blocking findings fail lint and stop `run`.
 */
#ifndef TEXP_LINT_H
#define TEXP_LINT_H

#include <stddef.h>

#include <libpq-fe.h>

struct config;

/* One finding. Strings are owned by the report. */
struct lint_finding {
	const char *check;
	const char *object;
	const char *message;
	const char *fix;
	int info;		/* 1: information, does not fail lint */
};

struct lint_report;

/* New empty report, or NULL on ENOMEM. */
struct lint_report *lint_report_new(void);
/* Frees r. Accepts NULL. */
void lint_report_free(struct lint_report *r);
/* Number of findings (blocking and information). */
size_t lint_report_count(const struct lint_report *r);
/* Number of blocking findings. */
size_t lint_report_blocking(const struct lint_report *r);
/* The i-th finding (in the order found), or NULL past the end. */
const struct lint_finding *lint_report_get(const struct lint_report *r,
    size_t i);
/* 1 if a finding with this check (and object, unless NULL) exists. */
int lint_report_has(const struct lint_report *r, const char *check,
    const char *object);
/* Appends a finding (strings are copied). 0 or ERR_NOMEM. */
int lint_report_add(struct lint_report *r, const char *check,
    const char *object, const char *message, const char *fix);
/* The same for a finding that is information only. */
int lint_report_note(struct lint_report *r, const char *check,
    const char *object, const char *message, const char *fix);

/*
 * Runs every check on conn (any role may run it: it reads catalogs and
 * asks has_*_privilege about texp_export). On return *out holds a new
 * report the caller frees, even when the result is an error; blocking
 * findings come first. Returns 0 when there is no blocking finding,
 * ERR_POLICY when there is at least one, ERR_DB (message in the report as check "lint_error") when a query
 * failed, ERR_NOMEM.
 */
int lint_run(PGconn *conn, const struct config *cfg,
    struct lint_report **out);

/*
 * The config-versus-schema part of lint, without a database, so it can be
 * tested on its own. A struct lint_schema lists the relations (tables,
 * partitioned and foreign tables) outside the system schemas with their
 * columns; lint_run fills it from the catalogs.
 */
struct lint_schema;

struct lint_schema *lint_schema_new(void);
void lint_schema_free(struct lint_schema *s);
/* Adds column col (not_null 0/1) of schema.table; col NULL adds a table
 * without columns. Consecutive calls for the same table extend it.
 * 0, ERR_NOMEM or ERR_LIMIT. */
int lint_schema_add(struct lint_schema *s, const char *schema,
    const char *table, const char *col, int not_null);
/*
 * Fail-closed checks: a table the config does not classify, a configured
 * table that does not exist, a tenant table whose tenant column is missing
 * or nullable, a date_column that does not exist, a secret-looking column
 * of a tenant or global table neither excluded nor allowed, and an
 * exclude/allow entry naming no column. Findings go into rep.
 * Returns 0 or ERR_NOMEM.
 */
int lint_check_schema(const struct config *cfg, const struct lint_schema *s,
    struct lint_report *rep);

/*
 * The [files] section against the filesystem (nothing when the config has
 * none): files_root (the root is missing, not a directory, or reached
 * through a symbolic link), files_symlink (an entry directly under the
 * root is a symbolic link: a tenant's directory must be its own),
 * files_writable (the exporter's account could write the root or a
 * tenant's directory; for root, a note unless the filesystem is mounted
 * read-only), files_not_searchable (a note: a directory the sandboxed
 * builder, which has no identity of its own, cannot enter). At most
 * LINT_FILES_MAX_ENTRIES entries of the root are looked at. Returns 0 or
 * ERR_NOMEM.
 */
#define LINT_FILES_MAX_ENTRIES	100000
int lint_check_files(const struct config *cfg, struct lint_report *rep);

#endif
