/*
 * leakdb.h: the leak test's database helper (docs/AUDIT.md).
 *
 * Like the export's provisioning helper (provision.h), a separate
 * process holds the service's database logins for one leak test run, so
 * that the process that forks the export's builders never holds a
 * password:
 *
 *  - the monitor's login: lint, the tenant ids, row counts in an
 *    export's snapshot, the data-level foreign-key closure, and export
 *    roles for the run's jobs. Its session holds the run's advisory lock
 *    for as long as it lives: a sweep takes a run whose lock is free for
 *    dead (leakdb_lock_key).
 *  - the canary writer's login ([leaktest] canary_user), from the
 *    moment the run plants canaries (canary.h).
 *
 * Whatever ends the run (leakdb_finish, or the leak test's process dying,
 * even by SIGKILL: the pipe closes), the helper deletes the canaries it
 * planted, drops the export roles it made, logs out (releasing the lock)
 * and exits. It ignores SIGINT, SIGTERM and SIGHUP so that a signal to
 * the whole process group cannot cut that short.
 *
 * Everything it answers is counts, tenant ids and names of tables,
 * columns and constraints; never a row value. Functions return 0 or a
 * negative enum err code with a reason in err; results are jansson
 * objects owned by the caller.
 */
#ifndef TEXP_LEAKDB_H
#define TEXP_LEAKDB_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct config;
struct leakdb;

/* The advisory lock (two int4 keys) that marks run (32 hex) alive. */
void leakdb_lock_key(const char *run, int32_t *k1, int32_t *k2);

/*
 * Starts the helper for run: logs in as the monitor and takes the run's
 * lock; with canaries, also logs in as [leaktest] canary_user at once
 * (else at the first leakdb_plant). ERR_DB (login), ERR_CONFIG
 * (canaries without a canary_user), ERR_CHILD.
 */
int leakdb_start(const struct config *cfg, const char *run, int canaries,
    struct leakdb **out, char *err, size_t errlen);

/* lint_run's findings: [{"check", "object", "message", "fix", "info"}]
 * (info: information for the DBA, which does not fail lint). */
int leakdb_lint(struct leakdb *h, json_t **findings, char *err,
    size_t errlen);
/* Every tenant id in the registered tenant tables, sorted. */
int leakdb_tenants(struct leakdb *h, json_t **ids, char *err, size_t errlen);
/* Rows of tenant per tenant table in the exported snapshot (an id from
 * pg_export_snapshot()): {"schema.table": n, ...}. */
int leakdb_counts(struct leakdb *h, const char *tenant, const char *snapshot,
    json_t **counts, char *err, size_t errlen);
/* texp_guard.leaktest_fk_cross(): [{"constraint", "table", "references",
 * "by_key", "pairs": [{"tenant", "ref_tenant", "rows"}]}]. */
int leakdb_fk(struct leakdb *h, json_t **keys, char *err, size_t errlen);
/* An export role for the run's running job (32-byte id hash), as `run`
 * makes one: *role (DB_ROLE_NAME_MAX) and *password (sodium_malloc'd,
 * the caller sodium_free()s it). */
int leakdb_role(struct leakdb *h, const uint8_t job_hash[32], char *role,
    char **password, char *err, size_t errlen);
/* Drops one of the roles it made. */
int leakdb_drop(struct leakdb *h, const char *role, char *err,
    size_t errlen);
/* Plants canaries for the tenants (canary.h): {"planted": [...],
 * "skipped": [...], "failed": [...]}, committed. */
int leakdb_plant(struct leakdb *h, const char *const *tenants, size_t n,
    json_t **result, char *err, size_t errlen);
/* Deletes every canary planted: {"deleted": n, "left": [...]}. */
int leakdb_unplant(struct leakdb *h, json_t **result, char *err,
    size_t errlen);

/* Ends the helper (it cleans up as above) and waits for it. Accepts
 * NULL. */
int leakdb_finish(struct leakdb *h, char *err, size_t errlen);

#endif
